//! Panic safety: item code that panics during a write.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use mtsafe::CookieList;

static BOMB_LIVE: AtomicUsize = AtomicUsize::new(0);
/// Panic in the next clone.
static BOMB_CLONE: AtomicBool = AtomicBool::new(false);
/// Panic in the next drop of the item with this id (0: none).
static BOMB_DROP: AtomicUsize = AtomicUsize::new(0);
static BOMBS: Mutex<()> = Mutex::new(());

#[derive(Debug, PartialEq)]
struct Bomb(usize);

impl Bomb {
    fn new(id: usize) -> Self {
        BOMB_LIVE.fetch_add(1, Ordering::SeqCst);
        Self(id)
    }
}

impl Clone for Bomb {
    fn clone(&self) -> Self {
        if BOMB_CLONE.swap(false, Ordering::SeqCst) {
            panic!("clone of {}", self.0);
        }
        Self::new(self.0)
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        let live = BOMB_LIVE.fetch_sub(1, Ordering::SeqCst);
        assert!(live > 0, "a double drop");
        if BOMB_DROP
            .compare_exchange(self.0, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            panic!("drop of {}", self.0);
        }
    }
}

fn bombs(n: usize) -> CookieList<Bomb> {
    (1..=n).map(Bomb::new).collect()
}

fn ids_of(list: &CookieList<Bomb>) -> Vec<usize> {
    list.snapshot().iter().map(|b| b.0).collect()
}

fn panics(f: impl FnOnce()) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err()
}

#[test]
fn remove_where_does_not_leak_when_the_removed_item_panics_in_drop() {
    let _serial = BOMBS.lock().unwrap_or_else(|p| p.into_inner());
    for n in [5, 40, 1000] {
        {
            let list = bombs(n);
            BOMB_DROP.store(2, Ordering::SeqCst);
            assert!(panics(|| drop(list.remove_where(|b| b.0 == 2))));
            // The removal happened; every item is either in the list or dropped.
            assert!(!ids_of(&list).contains(&2));
            assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), n - 1, "n = {n}");
        }
        assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 0, "n = {n}: a leak");
    }
}

#[test]
fn a_panicking_clone_during_a_write_changes_nothing() {
    let _serial = BOMBS.lock().unwrap_or_else(|p| p.into_inner());
    {
        let list = bombs(40);
        let before = (list.cookie(), ids_of(&list));
        // Each write clones the items of the chunk it changes.
        type Write = fn(&CookieList<Bomb>);
        let writes: [Write; 4] = [
            |l| l.push(Bomb::new(100)),
            |l| l.insert(3, Bomb::new(101)),
            |l| drop(l.remove_where(|b| b.0 == 5)),
            |l| l.retain(|b| b.0 != 6),
        ];
        for (i, write) in writes.iter().enumerate() {
            BOMB_CLONE.store(true, Ordering::SeqCst);
            assert!(panics(|| write(&list)), "write {i}");
            assert_eq!((list.cookie(), ids_of(&list)), before, "write {i}");
            assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 40, "write {i}");
        }
        // Usable: the lock was released and no pass is held.
        list.push(Bomb::new(41));
        assert_eq!(list.len(), 41);
    }
    assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 0);
}

#[test]
fn a_panicking_predicate_changes_nothing() {
    let _serial = BOMBS.lock().unwrap_or_else(|p| p.into_inner());
    {
        let list = bombs(100);
        let before = (list.cookie(), ids_of(&list));
        assert!(panics(|| drop(
            list.remove_where(|b| b.0 == 50 || panic!("pred"))
        )));
        assert!(panics(|| list.retain(|b| b.0 != 70 || panic!("pred"))));
        assert_eq!((list.cookie(), ids_of(&list)), before);
        assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 100);
        assert_eq!(list.remove_where(|b| b.0 == 50).map(|b| b.0), Some(50));
    }
    assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 0);
}

#[test]
fn a_panicking_drop_of_removed_items_leaves_the_list_consistent() {
    let _serial = BOMBS.lock().unwrap_or_else(|p| p.into_inner());
    {
        let list = bombs(100);
        BOMB_DROP.store(10, Ordering::SeqCst);
        assert!(panics(|| list.retain(|b| b.0 % 10 != 0)));
        assert_eq!(
            ids_of(&list),
            (1..=100).filter(|x| x % 10 != 0).collect::<Vec<_>>()
        );
        assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 90);
        BOMB_DROP.store(1, Ordering::SeqCst);
        assert!(panics(|| list.clear()));
        assert!(list.is_empty());
        assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 0);
        list.push(Bomb::new(1));
        assert_eq!(ids_of(&list), [1]);
    }
    assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 0);
}

/// An iterator whose resync drops the last reference to an item whose drop panics
/// reports `Resync` afterwards, never an empty pass at its old cookie (which would
/// read as a list with no items), and a later resync walks the list whole. (The
/// old version drops items only after a change, so its cookie is not the list's.)
#[test]
fn a_panicking_item_drop_during_resync_leaves_the_iterator_resyncing() {
    use mtsafe::{Resync, ResyncIterator};
    use std::ops::ControlFlow;
    let _serial = BOMBS.lock().unwrap_or_else(|p| p.into_inner());
    for n in [5, 40, 1000] {
        {
            let list = bombs(n);
            let mut it = list.iter();
            // The iterator's version now holds the only reference to item 2.
            drop(list.remove_where(|b| b.0 == 2));
            BOMB_DROP.store(2, Ordering::SeqCst);
            assert!(panics(|| it.resync()), "n = {n}");
            assert_eq!(it.next(), Err(Resync), "n = {n}: a step after the panic");
            let folded = it.clone().fold(0, |k, _| ControlFlow::Continue(k + 1));
            assert_eq!(folded, Err(Resync), "n = {n}: a fold after the panic");
            it.resync();
            let mut seen = Vec::new();
            while let Some(b) = it.next().unwrap() {
                seen.push(b.0);
            }
            assert_eq!(seen, (1..=n).filter(|&i| i != 2).collect::<Vec<_>>());
        }
        assert_eq!(BOMB_LIVE.load(Ordering::SeqCst), 0, "n = {n}: a leak");
    }
}
