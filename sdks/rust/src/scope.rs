//! Tags, user and context added to events: global ones (process-wide), and scoped ones that
//! belong to one thread.
//!
//! The scoped data lives in a thread-local stack: a thread starts with an empty scope, so what
//! one thread (one request, one job) sets never appears on another thread's events.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::RwLock;

use serde_json::{Map, Value};

use crate::event::{Event, User};

/// Tags, user and context of one layer.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScopeData {
    pub(crate) tags: HashMap<String, String>,
    pub(crate) user: Option<User>,
    pub(crate) context: Map<String, Value>,
}

impl ScopeData {
    fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.user.is_none() && self.context.is_empty()
    }

    fn set_tag(&mut self, key: impl Into<String>, value: impl ToString) {
        self.tags.insert(key.into(), value.to_string());
    }

    fn set_context(&mut self, key: impl Into<String>, value: Value) {
        if value.is_null() {
            self.context.remove(&key.into());
        } else {
            self.context.insert(key.into(), value);
        }
    }

    /// Adds this layer's values to `event` where the event (or a nearer layer) has none.
    fn apply_under(&self, event: &mut Event) {
        for (key, value) in &self.tags {
            if !event.tags.contains_key(key) {
                event.tags.insert(key.clone(), value.clone());
            }
        }
        if event.user.is_none() {
            event.user.clone_from(&self.user);
        }
        if !self.context.is_empty() {
            match &mut event.metadata {
                Value::Object(own) => {
                    for (key, value) in &self.context {
                        own.entry(key.clone()).or_insert_with(|| value.clone());
                    }
                }
                Value::Null => event.metadata = Value::Object(self.context.clone()),
                other => {
                    let mut merged = self.context.clone();
                    merged.insert("value".into(), other.take());
                    event.metadata = Value::Object(merged);
                }
            }
        }
    }
}

static GLOBAL: RwLock<Option<ScopeData>> = RwLock::new(None);

thread_local! {
    // Innermost scope last. The bottom layer is the thread's own (configure_scope outside with_scope).
    static STACK: RefCell<Vec<ScopeData>> = RefCell::new(vec![ScopeData::default()]);
}

fn update_global(change: impl FnOnce(&mut ScopeData)) {
    let mut global = GLOBAL.write().unwrap_or_else(|e| e.into_inner());
    change(global.get_or_insert_with(ScopeData::default));
}

/// Replaces the global data with `tags` only (`init` does this: a second init starts afresh).
pub(crate) fn reset_global(tags: HashMap<String, String>) {
    let mut global = GLOBAL.write().unwrap_or_else(|e| e.into_inner());
    *global = Some(ScopeData {
        tags,
        ..ScopeData::default()
    });
}

/// Adds the current thread's scope, then the global data, to `event`; the event's own values win.
pub(crate) fn apply_scopes(event: &mut Event) {
    // try_with: during thread teardown the thread-local may be gone; the event is still sent.
    let _ = STACK.try_with(|stack| {
        if let Ok(stack) = stack.try_borrow() {
            if let Some(top) = stack.last() {
                if !top.is_empty() {
                    top.apply_under(event);
                }
            }
        }
    });
    let global = GLOBAL.read().unwrap_or_else(|e| e.into_inner());
    if let Some(global) = global.as_ref() {
        global.apply_under(event);
    }
}

/// Sets a tag on every event of the process (the current thread's scopes can override it).
pub fn set_tag(key: impl Into<String>, value: impl ToString) {
    update_global(|global| global.set_tag(key, value));
}

/// Removes a global tag.
pub fn remove_tag(key: &str) {
    update_global(|global| {
        global.tags.remove(key);
    });
}

/// Sets the user of every event of the process; `None` forgets it.
pub fn set_user(user: Option<User>) {
    update_global(|global| global.user = user);
}

/// Adds `key: value` to the metadata of every event of the process; `Value::Null` removes it.
pub fn set_context(key: impl Into<String>, value: Value) {
    update_global(|global| global.set_context(key, value));
}

/// A handle on the current thread's innermost scope, given to [`with_scope`] and
/// [`configure_scope`]. What it sets applies to events captured on this thread while the
/// scope lasts, and to no other thread.
#[derive(Debug)]
pub struct Scope {
    // Not Send: the handle must stay on the thread whose scope it changes.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Scope {
    fn change(&self, change: impl FnOnce(&mut ScopeData)) {
        let _ = STACK.try_with(|stack| {
            if let Ok(mut stack) = stack.try_borrow_mut() {
                if let Some(top) = stack.last_mut() {
                    change(top);
                }
            }
        });
    }

    /// Sets a tag (overrides a global one of the same name).
    pub fn set_tag(&self, key: impl Into<String>, value: impl ToString) {
        self.change(|top| top.set_tag(key, value));
    }

    /// Removes a tag set in this scope (or an outer scope of this thread).
    pub fn remove_tag(&self, key: &str) {
        self.change(|top| {
            top.tags.remove(key);
        });
    }

    /// Sets the user (overrides the global one); `None` falls back to the global user.
    pub fn set_user(&self, user: Option<User>) {
        self.change(|top| top.user = user);
    }

    /// Adds `key: value` to the metadata of events; `Value::Null` removes it.
    pub fn set_context(&self, key: impl Into<String>, value: Value) {
        self.change(|top| top.set_context(key, value));
    }
}

/// Runs `f` in a new scope layered on the current one: tags, user and context set through the
/// handle apply to events captured inside `f` on this thread, and are gone when `f` returns
/// (or panics).
///
/// ```
/// pulsekit::with_scope(|scope| {
///     scope.set_tag("job_id", 7781);
///     pulsekit::capture_message("charged 3 invoices", pulsekit::Level::Info);
/// });
/// ```
pub fn with_scope<R>(f: impl FnOnce(&Scope) -> R) -> R {
    struct PopOnDrop(bool);
    impl Drop for PopOnDrop {
        fn drop(&mut self) {
            if !self.0 {
                return;
            }
            let _ = STACK.try_with(|stack| {
                if let Ok(mut stack) = stack.try_borrow_mut() {
                    if stack.len() > 1 {
                        stack.pop();
                    }
                }
            });
        }
    }
    let pushed = STACK
        .try_with(|stack| match stack.try_borrow_mut() {
            Ok(mut stack) => {
                let inner = stack.last().cloned().unwrap_or_default();
                stack.push(inner);
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false);
    let _pop = PopOnDrop(pushed);
    f(&Scope {
        _not_send: std::marker::PhantomData,
    })
}

/// Changes the current thread's innermost scope (inside [`with_scope`], that scope; outside,
/// the thread's own scope, which lasts as long as the thread).
///
/// ```
/// pulsekit::configure_scope(|scope| scope.set_tag("request_id", "r-81f2"));
/// ```
pub fn configure_scope<R>(f: impl FnOnce(&Scope) -> R) -> R {
    f(&Scope {
        _not_send: std::marker::PhantomData,
    })
}
