//! Runs one loop of one implementation N times, for counting instructions with
//! callgrind (`scripts/instruction-counts.sh`), where wall-clock time is too noisy to
//! tell a few instructions apart.
//!
//! `cargo run --release --example cycles -- <loop> <n>`, with `<loop>` one of
//! `clone_drop/{mtsafe,triomphe,std}`, `cow_64B/{mtsafe,triomphe,std}`, or
//! `pass_1000/{next,fold,floor}`: `n` passes over 1000 `Arc` items, as in the
//! `pass_1000` group of `benches/cookie_list.rs` (a `next()` loop with the resync
//! loop, a `fold`, and the floor: a `Vec` walk that clones and drops each item).

use std::hint::black_box;
use std::ops::ControlFlow;
use std::sync::Arc;

use mtsafe::{CookieList, CowShared, Resync, ResyncIterator};

/// The items of the `pass_1000` loops.
const PASS_ITEMS: u64 = 1000;

fn main() {
    let mut args = std::env::args().skip(1);
    let (which, n) = match (args.next(), args.next().and_then(|n| n.parse::<u64>().ok())) {
        (Some(which), Some(n)) => (which, n),
        _ => {
            eprintln!(
                "usage: cycles <clone_drop|cow_64B>/<mtsafe|triomphe|std> <n>\n       \
                 cycles pass_1000/<next|fold|floor> <n>"
            );
            std::process::exit(2);
        }
    };
    match which.as_str() {
        "clone_drop/mtsafe" => {
            let a = CowShared::new(0u64);
            (0..n).for_each(|_| drop(black_box(&a).clone()));
        }
        "clone_drop/triomphe" => {
            let a = triomphe::Arc::new(0u64);
            (0..n).for_each(|_| drop(black_box(&a).clone()));
        }
        "clone_drop/std" => {
            let a = Arc::new(0u64);
            (0..n).for_each(|_| drop(black_box(&a).clone()));
        }
        "cow_64B/mtsafe" => {
            let a = CowShared::new([7u8; 64]);
            (0..n).for_each(|_| {
                let mut h = black_box(&a).clone();
                black_box(CowShared::get_writable(&mut h));
            });
        }
        "cow_64B/triomphe" => {
            let a = triomphe::Arc::new([7u8; 64]);
            (0..n).for_each(|_| {
                let mut h = black_box(&a).clone();
                black_box(triomphe::Arc::make_mut(&mut h));
            });
        }
        "cow_64B/std" => {
            let a = Arc::new([7u8; 64]);
            (0..n).for_each(|_| {
                let mut h = black_box(&a).clone();
                black_box(Arc::make_mut(&mut h));
            });
        }
        "pass_1000/next" => {
            let list: CookieList<Arc<u64>> = (0..PASS_ITEMS).map(Arc::new).collect();
            (0..n).for_each(|_| {
                let mut it = list.iter();
                loop {
                    match it.next() {
                        Ok(Some(x)) => drop(black_box(x)),
                        Ok(None) => break,
                        Err(Resync) => it.resync(),
                    }
                }
            });
        }
        "pass_1000/fold" => {
            let list: CookieList<Arc<u64>> = (0..PASS_ITEMS).map(Arc::new).collect();
            (0..n).for_each(|_| {
                let done = list.iter().fold((), |(), x| {
                    drop(black_box(x));
                    ControlFlow::Continue(())
                });
                black_box(done).ok();
            });
        }
        "pass_1000/floor" => {
            let bare: Vec<Arc<u64>> = (0..PASS_ITEMS).map(Arc::new).collect();
            (0..n).for_each(|_| {
                for x in black_box(&bare) {
                    drop(black_box(Arc::clone(x)));
                }
            });
        }
        other => {
            eprintln!("unknown loop {other}");
            std::process::exit(2);
        }
    }
}
