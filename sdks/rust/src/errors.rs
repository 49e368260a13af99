//! From a Rust error (and its `source()` chain) to the protocol's `exception`.
//!
//! `&dyn Error` tells neither its type name nor a backtrace on stable Rust, so each error of a
//! chain is described by, in order: a type registered with [`register_error_type`], a known
//! standard-library type, the static type of the error passed to `capture_error`, and finally
//! the first word of its `Debug` output (what derived `Debug` prints: the type's name).

use std::any::{type_name, TypeId};
use std::backtrace::{Backtrace, BacktraceStatus};
use std::borrow::Cow;
use std::error::Error;
use std::sync::RwLock;

use crate::event::{Exception, Frame, Stacktrace};
use crate::stacktrace::{frames_from_text, InAppRules, Trim};

/// At most this many causes are sent (the protocol's limit).
const MAX_CHAIN: usize = 10;

/// Tells the SDK an error type's exact name and where an error was created.
///
/// Implement it and call [`register_error_type`] once: every error of that type is then
/// reported with this name and these frames, also when it is the `source()` of another one.
///
/// ```
/// use std::backtrace::Backtrace;
/// use std::borrow::Cow;
///
/// #[derive(Debug)]
/// struct GatewayTimeout { seconds: u32, created_at: Backtrace }
///
/// impl std::fmt::Display for GatewayTimeout {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "gateway timed out after {}s", self.seconds)
///     }
/// }
/// impl std::error::Error for GatewayTimeout {}
///
/// impl pulsekit::ErrorDetails for GatewayTimeout {
///     fn backtrace(&self) -> Option<&Backtrace> {
///         Some(&self.created_at)
///     }
/// }
///
/// pulsekit::register_error_type::<GatewayTimeout>();
/// ```
pub trait ErrorDetails: Error + 'static {
    /// The name sent as `exception.type`; default: the type's name without its module path.
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Owned(short_type_name(type_name::<Self>()))
    }

    /// Where the error was created, if it recorded that (e.g. a `Backtrace::capture()` field).
    fn backtrace(&self) -> Option<&Backtrace> {
        None
    }
}

type Probe = for<'a> fn(&'a (dyn Error + 'static)) -> Option<Described<'a>>;

static REGISTRY: RwLock<Vec<(TypeId, Probe)>> = RwLock::new(Vec::new());

/// Reports errors of type `E` with [`ErrorDetails`]' name and backtrace, wherever they occur
/// in a chain. Registering a type twice is harmless.
pub fn register_error_type<E: ErrorDetails>() {
    let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    if !registry.iter().any(|(id, _)| *id == TypeId::of::<E>()) {
        registry.push((TypeId::of::<E>(), probe::<E>));
    }
}

fn probe<'a, E: ErrorDetails>(error: &'a (dyn Error + 'static)) -> Option<Described<'a>> {
    let error = error.downcast_ref::<E>()?;
    Some(Described {
        name: error.type_name().into_owned(),
        module: module_of(type_name::<E>()),
        backtrace: error.backtrace(),
    })
}

struct Described<'a> {
    name: String,
    module: Option<String>,
    backtrace: Option<&'a Backtrace>,
}

/// Anything `capture_error` accepts: any `Error + 'static` value, or a `dyn Error` (write
/// `&*boxed` for a `Box<dyn Error>`, `err.as_ref()` for an `anyhow::Error`).
pub trait AsError {
    /// The value as a `dyn Error`.
    fn as_error(&self) -> &(dyn Error + 'static);
    /// The static type's path, when known.
    fn static_type_name(&self) -> Option<&'static str>;
}

impl<E: Error + 'static> AsError for E {
    fn as_error(&self) -> &(dyn Error + 'static) {
        self
    }
    fn static_type_name(&self) -> Option<&'static str> {
        Some(type_name::<E>())
    }
}

impl AsError for dyn Error + 'static {
    fn as_error(&self) -> &(dyn Error + 'static) {
        self
    }
    fn static_type_name(&self) -> Option<&'static str> {
        None
    }
}

impl AsError for dyn Error + Send + 'static {
    fn as_error(&self) -> &(dyn Error + 'static) {
        self
    }
    fn static_type_name(&self) -> Option<&'static str> {
        None
    }
}

impl AsError for dyn Error + Send + Sync + 'static {
    fn as_error(&self) -> &(dyn Error + 'static) {
        self
    }
    fn static_type_name(&self) -> Option<&'static str> {
        None
    }
}

/// The exception for `error` and its causes, and whether the primary error brought its own frames.
pub(crate) fn exception_from_error(
    error: &(dyn Error + 'static),
    static_name: Option<&'static str>,
    rules: &InAppRules,
) -> (Exception, Option<Stacktrace>) {
    let (mut primary, primary_frames) = describe(error, static_name, rules);
    let mut cause = error.source();
    while let Some(current) = cause {
        if primary.chain.len() == MAX_CHAIN {
            break;
        }
        let (mut entry, frames) = describe(current, None, rules);
        entry.stacktrace = frames.map(Stacktrace::from_frames);
        primary.chain.push(entry);
        cause = current.source();
    }
    (primary, primary_frames.map(Stacktrace::from_frames))
}

fn describe(
    error: &(dyn Error + 'static),
    static_name: Option<&'static str>,
    rules: &InAppRules,
) -> (Exception, Option<Vec<Frame>>) {
    let registered = {
        let registry = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
        registry.iter().find_map(|(_, probe)| probe(error))
    };
    let described = registered.unwrap_or_else(|| {
        let (name, module) = match (known_std_type(error), static_name) {
            (Some((name, module)), _) => (name.to_string(), Some(module.to_string())),
            (None, Some(path)) => (short_type_name(path), module_of(path)),
            (None, None) => (name_from_debug(error), None),
        };
        Described {
            name,
            module,
            backtrace: None,
        }
    });
    let frames = described
        .backtrace
        .filter(|backtrace| backtrace.status() == BacktraceStatus::Captured)
        .map(|backtrace| frames_from_text(&backtrace.to_string(), Trim::Nothing, rules));
    let exception = Exception {
        exception_type: described.name,
        value: error.to_string(),
        module: described.module,
        stacktrace: None,
        chain: Vec::new(),
    };
    (exception, frames)
}

/// (name, module) of standard-library errors, whose `type_name` paths are private modules.
fn known_std_type(error: &(dyn Error + 'static)) -> Option<(&'static str, &'static str)> {
    macro_rules! known {
        ($($ty:ty => $name:literal in $module:literal),* $(,)?) => {
            $(if error.is::<$ty>() { return Some(($name, $module)); })*
        };
    }
    known! {
        std::io::Error => "io::Error" in "std::io",
        std::num::ParseIntError => "ParseIntError" in "std::num",
        std::num::ParseFloatError => "ParseFloatError" in "std::num",
        std::num::TryFromIntError => "TryFromIntError" in "std::num",
        std::str::Utf8Error => "Utf8Error" in "std::str",
        std::str::ParseBoolError => "ParseBoolError" in "std::str",
        std::string::FromUtf8Error => "FromUtf8Error" in "std::string",
        std::char::ParseCharError => "ParseCharError" in "std::char",
        std::fmt::Error => "fmt::Error" in "std::fmt",
        std::net::AddrParseError => "AddrParseError" in "std::net",
        std::time::SystemTimeError => "SystemTimeError" in "std::time",
        std::env::VarError => "VarError" in "std::env",
        std::array::TryFromSliceError => "TryFromSliceError" in "std::array",
        std::ffi::NulError => "NulError" in "std::ffi",
        std::sync::mpsc::RecvError => "RecvError" in "std::sync::mpsc",
        std::sync::mpsc::RecvTimeoutError => "RecvTimeoutError" in "std::sync::mpsc",
        std::path::StripPrefixError => "StripPrefixError" in "std::path",
        serde_json::Error => "serde_json::Error" in "serde_json",
    }
    None
}

/// `shop::billing::CheckoutError` → `CheckoutError`; a type named just `Error` keeps its
/// module (`shop::db::Error` → `db::Error`, `serde_json::error::Error` → `serde_json::Error`).
pub(crate) fn short_type_name(path: &str) -> String {
    let path = path.split('<').next().unwrap_or(path);
    let segments: Vec<&str> = path.split("::").collect();
    match segments.as_slice() {
        [.., parent, "Error"] if *parent != "error" => format!("{parent}::Error"),
        [first, .., "error", "Error"] => format!("{first}::Error"),
        [.., last] => (*last).to_string(),
        [] => "Error".to_string(),
    }
}

fn module_of(path: &str) -> Option<String> {
    let path = path.split('<').next().unwrap_or(path);
    path.rsplit_once("::").map(|(module, _)| module.to_string())
}

/// The first word of the `Debug` output: derived `Debug` starts with the type's (or variant's) name.
fn name_from_debug(error: &dyn Error) -> String {
    let debug = format!("{error:?}");
    let name: String = debug
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let name = name.trim_end_matches(':');
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        "Error".to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_drop_the_path_but_keep_it_for_plain_error() {
        let cases = [
            ("shop::billing::CheckoutError", "CheckoutError"),
            ("shop::db::Error", "db::Error"),
            ("serde_json::error::Error", "serde_json::Error"),
            ("shop::Wrapper<alloc::string::String>", "Wrapper"),
            ("Plain", "Plain"),
        ];
        for (path, expected) in cases {
            assert_eq!(short_type_name(path), expected, "{path}");
        }
        assert_eq!(
            module_of("shop::billing::CheckoutError").as_deref(),
            Some("shop::billing")
        );
    }
}
