//! Stress: writers insert and remove while readers iterate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use mtsafe::{CookieList, Resync, ResyncIterator};

use super::{drain, within, Rng, LIMIT};

#[derive(Clone, Debug)]
enum Op {
    Insert(usize, u64),
    Remove(u64),
    RetainNotMultipleOf(u64),
}

/// The changes, each with the cookie it got, and the writers' replica of the contents.
type Log = (Vec<(u64, Op)>, Vec<u64>);

#[derive(Debug)]
struct Pass {
    /// The cookie the pass started at (the iterator's, after its resync).
    start: u64,
    /// The list's cookie loaded after the pass's last step.
    end: u64,
    items: Vec<u64>,
    clean: bool,
}

#[cfg(not(miri))]
const STRESS: (usize, usize, usize) = (3000, 400, 200); // writes per writer, passes per reader, start len
#[cfg(miri)]
const STRESS: (usize, usize, usize) = (12, 6, 20);

/// Two writers insert, remove and retain (each change logged with the cookie it got,
/// under a log lock that also keeps their replica of the contents); two readers do
/// passes, resyncing when told. Afterwards the log is replayed, version by version:
/// - every cookie from 1 to the last was given to exactly one change;
/// - every item a pass yielded was a member of the list at some version between the
///   pass's start and its end;
/// - a pass that ended `Ok(None)` without `Resync` yielded exactly the members of the
///   version it started at, in order;
/// - snapshots taken during the run are exactly their version.
// Under Miri the sync shim's mutex is std's (parking_lot's parking is not
// strict-provenance clean), so this runs in the strict pass too.
#[test]
fn stress_writers_against_readers() {
    let (writes, passes, start_len) = STRESS;
    let list: Arc<CookieList<u64>> = Arc::new((0..start_len as u64).collect());
    // The log: the changes by cookie, and the contents (the writers' replica).
    let log: Arc<Mutex<Log>> = Arc::new(Mutex::new((Vec::new(), (0..start_len as u64).collect())));
    let next_id = Arc::new(AtomicUsize::new(start_len));
    let stop = Arc::new(AtomicBool::new(false));
    let go = Arc::new(Barrier::new(4));

    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (list, log, next_id, go) = (list.clone(), log.clone(), next_id.clone(), go.clone());
            thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (w + 1));
                go.wait();
                for _ in 0..writes {
                    let mut log = log.lock().unwrap();
                    let (changes, contents) = &mut *log;
                    let before = list.cookie();
                    let roll = rng.below(100);
                    let op = if roll < 2 {
                        let m = 5 + rng.below(5) as u64;
                        list.retain(|x| x % m != 0);
                        contents.retain(|x| x % m != 0);
                        Op::RetainNotMultipleOf(m)
                    } else if roll < 50 || contents.len() < 10 {
                        let id = next_id.fetch_add(1, Ordering::Relaxed) as u64;
                        let at = rng.below(contents.len() + 1);
                        list.insert(at, id);
                        contents.insert(at, id);
                        Op::Insert(at, id)
                    } else {
                        let id = contents.remove(rng.below(contents.len()));
                        assert_eq!(list.remove_where(|&x| x == id), Some(id));
                        Op::Remove(id)
                    };
                    // Under the log lock no other write can come between.
                    let cookie = list.cookie();
                    if cookie == before {
                        assert!(
                            matches!(op, Op::RetainNotMultipleOf(_)),
                            "a change without a bump"
                        );
                        continue;
                    }
                    assert_eq!(cookie, before + 1);
                    changes.push((cookie, op));
                }
            })
        })
        .collect();

    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (list, stop, go) = (list.clone(), stop.clone(), go.clone());
            thread::spawn(move || {
                go.wait();
                let mut out = Vec::new();
                let mut snapshots = Vec::new();
                let mut it = list.iter();
                for p in 0.. {
                    if p >= passes && stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if p % 16 == r {
                        let s = list.snapshot();
                        snapshots.push((s.cookie(), s.to_vec()));
                    }
                    it.resync();
                    let start = it.cookie();
                    let mut items = Vec::new();
                    let clean = loop {
                        match it.next() {
                            Ok(Some(x)) => items.push(x),
                            Ok(None) => break true,
                            Err(Resync) => break false,
                        }
                    };
                    out.push(Pass {
                        start,
                        end: list.cookie(),
                        items,
                        clean,
                    });
                }
                (out, snapshots)
            })
        })
        .collect();

    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let mut all_passes = Vec::new();
    let mut all_snapshots = Vec::new();
    for r in readers {
        let (p, s) = r.join().unwrap();
        all_passes.extend(p);
        all_snapshots.extend(s);
    }

    // Replay: the contents of every version, and each item's membership interval
    // [inserted at, removed at).
    let (mut changes, final_contents) = Arc::try_unwrap(log).unwrap().into_inner().unwrap();
    changes.sort_by_key(|(c, _)| *c);
    let cookies: Vec<u64> = changes.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        cookies,
        (1..=changes.len() as u64).collect::<Vec<_>>(),
        "one cookie per change"
    );
    assert!(changes.len() > writes);
    let mut versions: Vec<Vec<u64>> = vec![(0..start_len as u64).collect()];
    let mut interval: HashMap<u64, (u64, u64)> =
        (0..start_len as u64).map(|x| (x, (0, u64::MAX))).collect();
    for (cookie, op) in &changes {
        let mut next = versions.last().unwrap().clone();
        match *op {
            Op::Insert(at, id) => {
                next.insert(at, id);
                interval.insert(id, (*cookie, u64::MAX));
            }
            Op::Remove(id) => {
                next.retain(|&x| x != id);
                interval.get_mut(&id).unwrap().1 = *cookie;
            }
            Op::RetainNotMultipleOf(m) => {
                for &x in next.iter().filter(|&&x| x % m == 0) {
                    interval.get_mut(&x).unwrap().1 = *cookie;
                }
                next.retain(|x| x % m != 0);
            }
        }
        versions.push(next);
    }
    assert_eq!(versions.last().unwrap(), &final_contents);
    assert_eq!(list.snapshot().to_vec(), final_contents);

    let mut clean = 0;
    for pass in &all_passes {
        assert!(pass.start <= pass.end);
        for x in &pass.items {
            let (inserted, removed) = interval[x];
            assert!(
                inserted <= pass.end && removed > pass.start,
                "{x} was not a member during the pass {}..={}",
                pass.start,
                pass.end
            );
        }
        if pass.clean {
            clean += 1;
            assert_eq!(
                pass.items, versions[pass.start as usize],
                "a clean pass is one version"
            );
        } else {
            assert!(pass.end > pass.start, "Resync without a change");
            let prefix = &versions[pass.start as usize][..pass.items.len()];
            assert_eq!(pass.items, prefix);
        }
    }
    for (cookie, items) in &all_snapshots {
        assert_eq!(items, &versions[*cookie as usize]);
    }
    eprintln!(
        "stress: {} changes, {} passes ({clean} clean), {} snapshots",
        changes.len(),
        all_passes.len(),
        all_snapshots.len()
    );
    assert!(clean > 0, "no pass completed");
    assert!(all_passes.len() >= 2 * passes);
}

/// Two writers with no log between them, racing each other's `remove_where` and
/// `insert`: every removal returns the item it asked for, nothing is lost or
/// duplicated, and readers' clean passes never see an item twice.
#[test]
fn stress_free_running_writers() {
    let (writes, _, _) = STRESS;
    let list = Arc::new(CookieList::<u64>::new());
    let removed_total = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (list, removed_total) = (list.clone(), removed_total.clone());
            thread::spawn(move || {
                let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ (w + 1));
                let mut mine = Vec::new();
                for i in 0..writes as u64 {
                    let id = w << 32 | i;
                    if rng.below(3) == 0 && !mine.is_empty() {
                        let gone = mine.swap_remove(rng.below(mine.len()));
                        assert_eq!(list.remove_where(|&x| x == gone), Some(gone));
                        removed_total.fetch_add(1, Ordering::Relaxed);
                    }
                    // Only this writer removes its own ids, so the list holds at least
                    // `mine.len()` items: a valid index whatever the other writer does,
                    // though it shifts positions under both calls.
                    list.insert(rng.below(mine.len() + 1), id);
                    mine.push(id);
                }
                mine
            })
        })
        .collect();
    let reader = {
        let (list, stop) = (list.clone(), stop.clone());
        thread::spawn(move || {
            let mut it = list.iter();
            let mut clean = 0;
            while !stop.load(Ordering::Relaxed) {
                it.resync();
                if let Ok(items) = drain(&mut it) {
                    let mut sorted = items.clone();
                    sorted.sort_unstable();
                    sorted.dedup();
                    assert_eq!(
                        sorted.len(),
                        items.len(),
                        "an item seen twice in one version"
                    );
                    clean += 1;
                }
            }
            clean
        })
    };
    let mut expected: Vec<u64> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    let mut actual = list.snapshot().to_vec();
    expected.sort_unstable();
    actual.sort_unstable();
    assert_eq!(actual, expected);
    assert_eq!(
        list.cookie() as usize,
        2 * writes + removed_total.load(Ordering::Relaxed)
    );
}

/// Two unpaced writers (each adds an item, then removes it by value) against two
/// readers making full passes, one with `next`, one with `foreach`: without the
/// starving-pass gate a pass over 2000 items is longer than a write and almost
/// never finishes. Every pass finishes (none needs more than `ABANDON` resyncs;
/// `STARVING_AFTER` is the bound while no pass stalls for the stall limit, and a
/// descheduled reader stalls), and every writer finishes its changes.
#[test]
fn stress_starving_passes_finish_and_writers_finish() {
    const ABANDON: u32 = 100;
    let (len, writes, min_passes) = if cfg!(miri) {
        (40, 30, 3)
    } else {
        (1000, 2000, 50)
    };
    let list: Arc<CookieList<u64>> = Arc::new((0..len).collect());
    let writing = Arc::new(AtomicUsize::new(2));
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (list, writing) = (Arc::clone(&list), Arc::clone(&writing));
            thread::spawn(move || {
                for i in 0..writes {
                    let id = (w + 1) << 32 | i;
                    list.push(id);
                    assert_eq!(list.remove_where(|&x| x == id), Some(id));
                }
                writing.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (list, writing) = (Arc::clone(&list), Arc::clone(&writing));
            thread::spawn(move || {
                let (mut passes, mut abandoned, mut most) = (0u32, 0u32, 0u32);
                while writing.load(Ordering::SeqCst) > 0 || passes < min_passes {
                    let mut it = list.iter();
                    let mut resyncs = 0;
                    let finished = loop {
                        let mut sum = 0u64;
                        let step = if r == 0 {
                            loop {
                                match it.next() {
                                    Ok(Some(x)) => sum = sum.wrapping_add(x),
                                    Ok(None) => break Ok(()),
                                    Err(Resync) => break Err(Resync),
                                }
                            }
                        } else {
                            it.foreach(|x| sum = sum.wrapping_add(x))
                        };
                        std::hint::black_box(sum);
                        match step {
                            Ok(()) => break true,
                            Err(Resync) if resyncs == ABANDON => break false,
                            Err(Resync) => {
                                resyncs += 1;
                                it.resync();
                            }
                        }
                    };
                    most = most.max(resyncs);
                    if finished {
                        passes += 1;
                    } else {
                        abandoned += 1;
                    }
                }
                (passes, abandoned, most)
            })
        })
        .collect();
    for w in writers {
        within(LIMIT, move || w.join().unwrap());
    }
    for r in readers {
        let (passes, abandoned, most) = r.join().unwrap();
        eprintln!("reader: {passes} passes, {abandoned} abandoned, at most {most} resyncs");
        assert_eq!(abandoned, 0, "a pass did not finish");
        assert!(passes >= min_passes);
    }
    assert_eq!(list.snapshot().to_vec(), (0..len).collect::<Vec<_>>());
    assert_eq!(list.starving_passes(), 0);
}
