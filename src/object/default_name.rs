//! Default object names (`<type><n>`): the type's prefix, and numbers unique per
//! prefix across the process, handed out in blocks so that threads naming objects
//! share no counter write but once per block.

/// The default-name prefix of `T`: its type name without path or generics,
/// lowercased (`my_app::Element<f32>` gives `element`).
pub(super) fn default_prefix<T>() -> String {
    let name = core::any::type_name::<T>();
    let name = name.split('<').next().unwrap_or(name);
    let name = name.rsplit("::").next().unwrap_or(name);
    let name = name.trim_matches(|c: char| !c.is_alphanumeric());
    if name.is_empty() {
        "object".to_owned()
    } else {
        name.to_lowercase()
    }
}

/// A default object name for type `T`, as its two parts `(prefix, n)` (the name is
/// `<prefix><n>`): `prefix` is computed once per type by `prefix` (the caller's rule)
/// and `n` is unique per prefix across the process, so two threads never get the
/// same name. Nothing is formatted or allocated here.
///
/// Plain std primitives in every build (the shim's `unmodeled`): naming is
/// bookkeeping, not one of the interleavings the loom models are about. Each distinct
/// prefix gets one counter, allocated once and kept for the life of the process (one
/// per type, a bounded set). A thread takes numbers from it in blocks of [`NAME_BLOCK`] and hands them
/// out from its own cache, so threads creating objects of one type write no shared
/// cache line but once per block; numbers are unique, and increase within a thread
/// (not across threads).
pub(super) fn default_name<T: ?Sized>(prefix: impl FnOnce() -> String) -> (&'static str, u64) {
    use crate::sync::unmodeled::{AtomicU64, Mutex, Ordering};
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    type Counter = (&'static str, &'static AtomicU64);
    /// One type's entry in a thread's cache: its counter, and the numbers of the
    /// block this thread took that it has not handed out yet (`next..end`).
    struct Cached {
        type_name: &'static str,
        counter: Counter,
        next: u64,
        end: u64,
    }
    std::thread_local! {
        static CACHE: RefCell<Vec<Cached>> = const { RefCell::new(Vec::new()) };
    }
    static COUNTERS: Mutex<BTreeMap<String, Counter>> = Mutex::new(BTreeMap::new());

    let type_name = core::any::type_name::<T>();
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let at = cache
            .iter()
            .position(|c| core::ptr::eq(c.type_name, type_name) || c.type_name == type_name);
        let at = at.unwrap_or_else(|| {
            let prefix = prefix();
            let mut counters = COUNTERS
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let counter = *counters.entry(prefix).or_insert_with_key(|prefix| {
                let leaked: &'static str = Box::leak(prefix.clone().into_boxed_str());
                (leaked, Box::leak(Box::new(AtomicU64::new(0))))
            });
            drop(counters);
            cache.push(Cached {
                type_name,
                counter,
                next: 0,
                end: 0,
            });
            cache.len() - 1
        });
        let entry = &mut cache[at];
        if entry.next == entry.end {
            // Relaxed: only uniqueness matters, which the increment's atomicity gives.
            entry.next = entry.counter.1.fetch_add(NAME_BLOCK, Ordering::Relaxed);
            entry.end = entry.next + NAME_BLOCK;
        }
        entry.next += 1;
        (entry.counter.0, entry.next - 1)
    })
}

/// How many default-name numbers a thread takes from a type's counter at once.
const NAME_BLOCK: u64 = 64;
