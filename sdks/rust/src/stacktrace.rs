//! Turning a `std::backtrace::Backtrace` into protocol frames.
//!
//! `Backtrace::frames()` is not stable, so the frames come from its `Display` form, which has
//! been the same for years: `  N: path::to::function` and, with debug info, `at file:line:col`
//! on the next line. Symbol resolution reads debug info from disk, so it runs on the worker
//! thread for traces the SDK captured itself.

use crate::event::{Frame, PendingTrace};

/// The protocol keeps at most this many frames; we send the ones nearest the failure.
pub(crate) const MAX_FRAMES: usize = 250;

/// Crates that are never the application's own code.
const RUNTIME_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "test",
    "proc_macro",
    "panic_unwind",
    "panic_abort",
    "backtrace",
    "compiler_builtins",
    "__rustc",
    "pulsekit",
];

/// Which frames at the newest end belong to the machinery that took the backtrace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trim {
    /// Taken inside the SDK at a `capture_*` call: drop the SDK's frames.
    CaptureSite,
    /// Taken in the panic hook: drop the hook and the panic runtime, keep the panicking frame.
    Panic,
    /// Taken by the application where its error was created: keep everything.
    Nothing,
}

/// Which crates count as the application's own (`in_app`).
#[derive(Clone, Debug, Default)]
pub(crate) struct InAppRules {
    pub(crate) include: Vec<String>,
    pub(crate) exclude: Vec<String>,
}

impl InAppRules {
    fn is_in_app(&self, crate_name: Option<&str>, file: Option<&str>) -> bool {
        let Some(crate_name) = crate_name else {
            return false; // a C symbol such as `main` or `__libc_start_main`
        };
        if self.include.iter().any(|name| name == crate_name) {
            return true;
        }
        if RUNTIME_CRATES.contains(&crate_name)
            || self.exclude.iter().any(|name| name == crate_name)
        {
            return false;
        }
        // Dependencies compile from the cargo registry or git checkouts, std from /rustc/….
        !file.is_some_and(|path| {
            path.contains("/.cargo/registry/")
                || path.contains("/.cargo/git/")
                || path.starts_with("/rustc/")
                || path.contains("/rustlib/")
        })
    }
}

/// Resolves a captured backtrace into frames, oldest first.
pub(crate) fn resolve(pending: &PendingTrace, rules: &InAppRules) -> Vec<Frame> {
    frames_from_text(&pending.backtrace.to_string(), pending.trim, rules)
}

/// Frames (oldest first) from the `Display` text of a `std::backtrace::Backtrace`.
pub(crate) fn frames_from_text(text: &str, trim: Trim, rules: &InAppRules) -> Vec<Frame> {
    let mut raw: Vec<(String, Option<String>)> = Vec::new(); // (symbol, location), newest first
    for line in text.lines() {
        let line = line.trim();
        if let Some(location) = line.strip_prefix("at ") {
            if let Some(last) = raw.last_mut() {
                last.1 = Some(location.to_string());
            }
        } else if !line.is_empty() {
            let symbol = match line.split_once(": ") {
                Some((index, rest)) if index.chars().all(|c| c.is_ascii_digit()) => rest,
                _ => line,
            };
            raw.push((symbol.to_string(), None));
        }
    }
    let start = match trim {
        Trim::CaptureSite => raw
            .iter()
            .position(|(symbol, _)| !is_capture_machinery(symbol))
            .unwrap_or(raw.len()),
        Trim::Panic => panic_start(&raw),
        Trim::Nothing => 0,
    };
    // Frames below the runtime's entry point (`main`'s callers, thread start-up) say nothing.
    let end = raw
        .iter()
        .position(|(symbol, _)| symbol.contains("__rust_begin_short_backtrace"))
        .unwrap_or(raw.len())
        .max(start);
    let mut frames: Vec<Frame> = raw[start..end]
        .iter()
        .rev()
        .map(|(symbol, location)| to_frame(symbol, location.as_deref(), rules))
        .collect();
    if frames.len() > MAX_FRAMES {
        frames.drain(..frames.len() - MAX_FRAMES);
    }
    frames
}

/// Crates whose frames sit between the application and the SDK's `Backtrace::force_capture`
/// (the SDK itself, closures called through `core`, the `tracing` dispatch).
fn is_capture_machinery(symbol: &str) -> bool {
    matches!(
        crate_of(symbol),
        Some(
            "pulsekit"
                | "std"
                | "core"
                | "alloc"
                | "tracing"
                | "tracing_core"
                | "tracing_subscriber"
        )
    )
}

/// Index of the first frame after the panic runtime (newest-first order).
fn panic_start(raw: &[(String, Option<String>)]) -> usize {
    let entry = raw.iter().position(|(symbol, _)| {
        symbol.contains("rust_begin_unwind") || symbol.contains("__rust_end_short_backtrace")
    });
    let Some(mut index) = entry else {
        return raw
            .iter()
            .position(|(symbol, _)| !is_capture_machinery(symbol) && !symbol.contains("panicking"))
            .unwrap_or(0);
    };
    while index < raw.len() {
        let symbol = &raw[index].0;
        let is_runtime = symbol.contains("rust_begin_unwind")
            || symbol.contains("__rust_end_short_backtrace")
            || symbol.starts_with("core::panicking::")
            || symbol.starts_with("std::panicking::begin_panic");
        if !is_runtime {
            break;
        }
        index += 1;
    }
    index
}

fn to_frame(symbol: &str, location: Option<&str>, rules: &InAppRules) -> Frame {
    let (module, function) = split_symbol(symbol);
    let (file, lineno, colno) = location.map(split_location).unwrap_or((None, None, None));
    let in_app = rules.is_in_app(crate_of(symbol), file);
    Frame {
        function: Some(function),
        module,
        filename: file.map(|path| path.strip_prefix("./").unwrap_or(path).to_string()),
        abs_path: file
            .filter(|path| path.starts_with('/'))
            .map(str::to_string),
        lineno,
        colno,
        in_app,
    }
}

/// `file:line:col` (the file may itself contain colons).
fn split_location(location: &str) -> (Option<&str>, Option<u32>, Option<u32>) {
    let mut parts = location.rsplitn(3, ':');
    let last = parts.next();
    let middle = parts.next();
    let first = parts.next();
    match (
        first,
        middle.and_then(|m| m.parse().ok()),
        last.and_then(|l| l.parse().ok()),
    ) {
        (Some(file), Some(line), Some(col)) => (Some(file), Some(line), Some(col)),
        _ => match last.and_then(|l| l.parse().ok()) {
            Some(line) => (
                location.rsplit_once(':').map(|(file, _)| file),
                Some(line),
                None,
            ),
            None => (Some(location), None, None),
        },
    }
}

/// The crate a symbol belongs to: `shop::billing::charge` → `shop`; `<shop::Cart as Drop>::drop` → `shop`.
pub(crate) fn crate_of(symbol: &str) -> Option<&str> {
    let mut rest = symbol.trim_start_matches(['<', '&']);
    for prefix in ["dyn ", "mut ", "impl "] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    // A path has at least two segments; a bare name is a C symbol.
    (!name.is_empty() && rest[end..].starts_with("::")).then_some(name)
}

/// (module, function) of a symbol: `shop::billing::charge_card` → (`shop::billing`, `charge_card`).
pub(crate) fn split_symbol(symbol: &str) -> (Option<String>, String) {
    let symbol = strip_trailing_generics(symbol);
    let mut segments = split_top_level(symbol);
    let Some(mut function) = segments.pop() else {
        return (None, symbol.to_string());
    };
    if function.starts_with("{{closure") || function.starts_with("{closure") {
        if let Some(parent) = segments.pop() {
            function = format!("{parent}::{function}");
        }
    }
    let module = (!segments.is_empty()).then(|| segments.join("::"));
    (module, function)
}

/// `a::b::<T>` → `a::b`; a trailing `::h0123…` hash (alternate format) is dropped too.
fn strip_trailing_generics(symbol: &str) -> &str {
    let mut symbol = symbol.trim();
    if let Some((head, hash)) = symbol.rsplit_once("::h") {
        if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) {
            symbol = head;
        }
    }
    if symbol.ends_with('>') {
        let mut depth = 0;
        for (index, c) in symbol.char_indices().rev() {
            match c {
                // `->` in a function pointer type is not a closing bracket.
                '>' if symbol[..index].ends_with('-') => {}
                '>' => depth += 1,
                '<' => {
                    depth -= 1;
                    if depth == 0 {
                        if let Some(head) = symbol[..index].strip_suffix("::") {
                            return head;
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    symbol
}

/// Splits at `::` outside angle brackets.
fn split_top_level(symbol: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    let mut chars = symbol.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => depth += 1,
            '>' if current.ends_with('-') => {}
            '>' => depth -= 1,
            ':' if depth == 0 && chars.peek() == Some(&':') => {
                chars.next();
                segments.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    segments.push(current);
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    const PANIC_TRACE: &str = "   0: pulsekit::panic::hook
             at ./src/panic.rs:10:5
   1: std::panicking::panic_with_hook
             at /rustc/5980/library/std/src/panicking.rs:833:13
   2: std::sys::backtrace::__rust_end_short_backtrace::<std::panicking::panic_handler::{closure#0}, !>
             at /rustc/5980/library/std/src/sys/backtrace.rs:182:18
   3: __rustc::rust_begin_unwind
             at /rustc/5980/library/std/src/panicking.rs:689:5
   4: core::panicking::panic_fmt
             at /rustc/5980/library/core/src/panicking.rs:80:14
   5: core::option::Option<T>::unwrap
             at /rustc/5980/library/core/src/option.rs:1016:21
   6: shop::billing::charge_card
             at ./src/billing.rs:13:7
   7: shop::main::{{closure}}
             at ./src/main.rs:4:9
   8: serde_json::de::from_str
             at /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde_json-1.0.1/src/de.rs:2:3
   9: std::sys::backtrace::__rust_begin_short_backtrace
             at /rustc/5980/library/std/src/sys/backtrace.rs:166:18
  10: std::rt::lang_start::{{closure}}
  11: main
  12: _start
";

    #[test]
    fn a_panic_trace_keeps_the_panicking_frame_last_and_drops_the_runtime() {
        let frames = frames_from_text(PANIC_TRACE, Trim::Panic, &InAppRules::default());
        let summary: Vec<(&str, bool)> = frames
            .iter()
            .map(|f| (f.function.as_deref().unwrap(), f.in_app))
            .collect();
        assert_eq!(
            summary,
            [
                ("from_str", false),
                ("main::{{closure}}", true),
                ("charge_card", true),
                ("unwrap", false)
            ]
        );
        let failing = &frames[2];
        assert_eq!(failing.module.as_deref(), Some("shop::billing"));
        assert_eq!(failing.filename.as_deref(), Some("src/billing.rs"));
        assert_eq!((failing.lineno, failing.colno), (Some(13), Some(7)));
        assert_eq!(frames[3].module.as_deref(), Some("core::option::Option<T>"));
        assert!(frames[0]
            .abs_path
            .as_deref()
            .unwrap()
            .starts_with("/root/.cargo/registry/"));
    }

    #[test]
    fn a_capture_site_trace_drops_the_sdks_own_frames() {
        let text = "0: pulsekit::capture_error\n at ./src/lib.rs:1:1\n1: shop::checkout\n at ./src/main.rs:2:2\n";
        let frames = frames_from_text(text, Trim::CaptureSite, &InAppRules::default());
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].function.as_deref(), Some("checkout"));
    }

    #[test]
    fn in_app_rules_follow_include_and_exclude_lists() {
        let rules = InAppRules {
            include: vec!["vendored".into()],
            exclude: vec!["shop_db".into()],
        };
        let registry = Some("/root/.cargo/registry/src/x/vendored-1.0/src/lib.rs");
        assert!(rules.is_in_app(Some("vendored"), registry));
        assert!(!rules.is_in_app(Some("shop_db"), Some("src/db.rs")));
        assert!(rules.is_in_app(Some("shop"), Some("src/main.rs")));
        assert!(!rules.is_in_app(Some("std"), None));
        assert!(!rules.is_in_app(None, None));
    }

    #[test]
    fn symbols_split_into_module_and_function() {
        let cases = [
            ("shop::billing::charge_card", Some("shop::billing"), "charge_card"),
            ("main", None, "main"),
            ("std::panicking::catch_unwind::do_call::<i32>", Some("std::panicking::catch_unwind"), "do_call"),
            ("<shop::Cart as core::ops::Drop>::drop", Some("<shop::Cart as core::ops::Drop>"), "drop"),
            ("shop::run::{closure#0}", Some("shop"), "run::{closure#0}"),
            (
                "<fn() -> core::result::Result<(), alloc::string::String> as core::ops::function::FnOnce<()>>::call_once",
                Some("<fn() -> core::result::Result<(), alloc::string::String> as core::ops::function::FnOnce<()>>"),
                "call_once",
            ),
        ];
        for (symbol, module, function) in cases {
            let (got_module, got_function) = split_symbol(symbol);
            assert_eq!(
                (got_module.as_deref(), got_function.as_str()),
                (module, function),
                "{symbol}"
            );
        }
        assert_eq!(
            crate_of("<shop::Cart as core::ops::Drop>::drop"),
            Some("shop")
        );
        assert_eq!(crate_of("_start"), None);
    }
}
