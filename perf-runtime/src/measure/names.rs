//! Names that are not literals: a tag, error class or custom metric named at
//! run time (`ctx.tag(status.as_str())`, `ctx.error_class(code)`), interned
//! once per distinct value.
//!
//! The recorder keys everything by `&'static str`, so that noting costs no
//! allocation and comparing two names is a pointer and a length. A name
//! given at run time is turned into one here: the first time a thread sees
//! a value it looks it up in the process's table (a mutex) and, if it is
//! new, leaks one copy of it; after that the thread finds it in a cache of
//! its own, without a lock and without allocating. A literal takes the same
//! path and allocates nothing after its first use. The interning's own
//! allocations are the framework's, never the iteration's
//! (`allocs_per_iter` does not see them).
//!
//! **Bound.** At most [`MAX_NAMES`] distinct names are kept per process
//! (tags, classes and metric names together). A name beyond them is
//! recorded as [`OVERFLOW`], so an unbounded value (a request id, a
//! timestamp) cannot grow memory without bound; each distinct tag also
//! gets a latency histogram per worker, so keep tags to a few dozen values
//! (status codes, cold/warm, a region), not one per request.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, PoisonError};

/// The most distinct run-time names a process keeps.
pub const MAX_NAMES: usize = 1_000;

/// What a name beyond [`MAX_NAMES`] is recorded as.
pub const OVERFLOW: &str = "(other)";

static TABLE: LazyLock<Mutex<HashSet<&'static str>>> =
    LazyLock::new(|| Mutex::new(HashSet::with_capacity(64)));

thread_local! {
    static CACHE: RefCell<HashSet<&'static str>> = RefCell::new(HashSet::new());
}

/// The interned copy of `name` (or [`OVERFLOW`] once the table is full).
pub(crate) fn intern(name: &str) -> &'static str {
    let cached = CACHE.try_with(|c| c.borrow().get(name).copied());
    if let Ok(Some(found)) = cached {
        return found;
    }
    let _paused = crate::measure::scope::pause();
    let Some(found) = intern_in(&TABLE, MAX_NAMES, name) else {
        return OVERFLOW;
    };
    let _ = CACHE.try_with(|c| c.borrow_mut().insert(found));
    found
}

/// `name`'s copy in `table`, leaked into it if new and there is room for
/// it (at most `max` names).
fn intern_in(table: &Mutex<HashSet<&'static str>>, max: usize, name: &str) -> Option<&'static str> {
    let mut table = table.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = table.get(name) {
        return Some(found);
    }
    if table.len() >= max {
        return None;
    }
    let leaked: &'static str = Box::leak(name.into());
    table.insert(leaked);
    Some(leaked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_copy_per_distinct_value() {
        let a = intern(&String::from("names::status_200"));
        let b = intern(&format!("names::status_{}", 200));
        assert_eq!(a, "names::status_200");
        assert!(std::ptr::eq(a, b), "the same value interns to one copy");
        // From another thread too (its cache is empty; the table is not).
        let c = std::thread::spawn(|| intern("names::status_200"))
            .join()
            .unwrap();
        assert!(std::ptr::eq(a, c));
        assert_ne!(intern("names::status_500"), a);
    }

    #[test]
    fn the_table_is_bounded() {
        // A table of its own: filling the process's would starve the other
        // tests of this binary.
        let table = Mutex::new(HashSet::new());
        for i in 0..3 {
            assert!(intern_in(&table, 3, &format!("bounded_{i}")).is_some());
        }
        assert_eq!(intern_in(&table, 3, "one_too_many"), None);
        // Names kept before the table filled still intern to themselves.
        assert_eq!(intern_in(&table, 3, "bounded_0"), Some("bounded_0"));
        assert_eq!(table.lock().unwrap().len(), 3);
    }
}
