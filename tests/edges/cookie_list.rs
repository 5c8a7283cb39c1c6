//! `CookieList` against a `Vec` model: every operation, at sizes that span many
//! chunks (a chunk holds about the square root of the length, at least 32 items),
//! must leave the same items in the same order, and change the cookie exactly when
//! the items change.

use mtsafe::{CookieList, ResyncIterator};
use std::ops::ControlFlow::{Break, Continue};

/// A small deterministic generator (xorshift64*): the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Checks every read of `list` against `model`.
fn check(list: &CookieList<u32>, model: &[u32], rng: &mut Rng) {
    assert_eq!(list.len(), model.len());
    assert_eq!(list.is_empty(), model.is_empty());
    let snap = list.snapshot();
    assert_eq!(snap.len(), model.len());
    assert_eq!(snap.is_empty(), model.is_empty());
    assert_eq!(snap.cookie(), list.cookie());
    assert_eq!(snap.to_vec(), model);
    let by_ref: Vec<u32> = snap.iter().copied().collect();
    assert_eq!(by_ref, model);
    assert_eq!(snap.iter().len(), model.len());
    assert_eq!(snap.iter().size_hint(), (model.len(), Some(model.len())));
    for _ in 0..4 {
        let i = rng.below(model.len() + 2);
        assert_eq!(snap.get(i), model.get(i), "get({i}) of {}", model.len());
    }
    if let Some(last) = model.last() {
        assert_eq!(snap.get(model.len() - 1), Some(last));
    }
    assert_eq!(snap.get(model.len()), None);
    let owned = snap.clone().into_iter();
    assert_eq!(owned.len(), model.len());
    assert_eq!(owned.cookie(), list.cookie());
    assert_eq!(owned.collect::<Vec<_>>(), model);
    let mut it = list.iter();
    assert_eq!(it.cookie(), list.cookie());
    let mut seen = Vec::new();
    while let Some(x) = it.next().expect("no change during the walk") {
        seen.push(x);
    }
    assert_eq!(seen, model);
    assert_eq!(it.next(), Ok(None), "stays at the end");
    let sum = list.iter().fold(0u64, |s, x| Continue(s + u64::from(x)));
    assert_eq!(sum, Ok(model.iter().map(|&x| u64::from(x)).sum::<u64>()));
    if let Some(&first) = model.first() {
        let stopped = list.iter().fold(0u32, |_, x| Break(x));
        assert_eq!(stopped, Ok(first), "a break ends the fold");
    }
}

#[test]
fn every_operation_matches_a_vec_across_many_chunks() {
    let steps = if cfg!(miri) { 60 } else { 3_000 };
    let list = CookieList::new();
    let mut model: Vec<u32> = Vec::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut next_value = 0u32;
    for step in 0..steps {
        let before = list.cookie();
        let old = model.clone();
        match rng.below(10) {
            0..=3 => {
                next_value += 1;
                list.push(next_value);
                model.push(next_value);
            }
            4..=6 => {
                next_value += 1;
                let i = rng.below(model.len() + 1);
                list.insert(i, next_value);
                model.insert(i, next_value);
            }
            7 | 8 => {
                // Sometimes a value that is not there.
                let target = rng.below(next_value as usize + 2) as u32;
                let got = list.remove_where(|&x| x == target);
                let want = model
                    .iter()
                    .position(|&x| x == target)
                    .map(|i| model.remove(i));
                assert_eq!(got, want);
            }
            _ => {
                if rng.below(40) == 0 {
                    list.clear();
                    model.clear();
                } else {
                    let m = 2 + rng.below(9) as u32;
                    let r = rng.below(m as usize) as u32;
                    list.retain(|x| x % m != r);
                    model.retain(|x| x % m != r);
                }
            }
        }
        if model == old {
            assert_eq!(list.cookie(), before, "step {step}: nothing changed");
        } else {
            assert!(
                list.cookie() > before,
                "step {step}: a change bumps the cookie"
            );
        }
        // Full checks are quadratic: every step while small, then now and then.
        if model.len() < 200 || step % 50 == 0 {
            check(&list, &model, &mut rng);
        }
        // Grow to a few thousand items, then shrink, so chunks split and merge.
        if step == steps / 2 {
            for _ in 0..if cfg!(miri) { 50 } else { 2_500 } {
                next_value += 1;
                let i = rng.below(model.len() + 1);
                list.insert(i, next_value);
                model.insert(i, next_value);
            }
            check(&list, &model, &mut rng);
        }
    }
    check(&list, &model, &mut rng);
}

#[test]
fn the_try_forms_do_what_the_plain_ones_do_when_nobody_starves() {
    let list: CookieList<u32> = (0..100).collect();
    assert!(list.try_push(100).is_ok());
    assert!(list.try_insert(0, 1000).is_ok());
    assert_eq!(list.try_remove_where(|&x| x == 50), Ok(Some(50)));
    assert_eq!(list.try_remove_where(|&x| x == 5000), Ok(None));
    assert!(list.try_retain(|x| x % 2 == 0).is_ok());
    let want: Vec<u32> = std::iter::once(1000)
        .chain((0..=100).filter(|x| x % 2 == 0 && *x != 50))
        .collect();
    assert_eq!(list.snapshot().to_vec(), want);
    assert!(list.try_clear().is_ok());
    assert!(list.is_empty());
    assert_eq!((list.starving_passes(), list.waiting_writers()), (0, 0));
}

#[test]
fn find_filter_and_results_walk_the_items_in_order() {
    let list: CookieList<u32> = (0..300).collect();
    assert_eq!(list.iter().find(|&x| x > 250), Some(251));
    assert_eq!(list.iter().find(|&x| x > 1000), None);
    let mut evens = list.iter().filter(|x| x % 2 == 0);
    let mut got = Vec::new();
    while let Some(x) = evens.next().unwrap() {
        got.push(x);
    }
    assert_eq!(got, (0..300).filter(|x| x % 2 == 0).collect::<Vec<_>>());
    let all: Result<Vec<u32>, _> = list.iter().results().collect();
    assert_eq!(all.unwrap(), (0..300).collect::<Vec<_>>());
    let mut n = 0;
    list.iter().foreach(|_| n += 1).unwrap();
    assert_eq!(n, 300);
}

#[test]
fn a_change_during_a_walk_asks_for_a_resync_and_the_resync_restarts() {
    let list: CookieList<u32> = (0..100).collect();
    let mut it = list.iter();
    assert_eq!(it.next(), Ok(Some(0)));
    list.push(100);
    assert!(it.next().is_err(), "the list changed since the walk began");
    it.resync();
    assert_eq!(it.cookie(), list.cookie());
    assert_eq!(it.next(), Ok(Some(0)), "from the start again");
}
