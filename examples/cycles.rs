//! Runs one loop of one implementation N times, for counting instructions with
//! callgrind (`scripts/instruction-counts.sh`), where wall-clock time is too noisy to
//! tell a few instructions apart.
//!
//! `cargo run --release --example cycles -- <loop> <n>`, with `<loop>` one of
//! `clone_drop/{mtsafe,triomphe,std}` or `cow_64B/{mtsafe,triomphe,std}`.

use std::hint::black_box;
use std::sync::Arc;

use mtsafe::CowShared;

fn main() {
    let mut args = std::env::args().skip(1);
    let (which, n) = match (args.next(), args.next().and_then(|n| n.parse::<u64>().ok())) {
        (Some(which), Some(n)) => (which, n),
        _ => {
            eprintln!("usage: cycles <clone_drop|cow_64B>/<mtsafe|triomphe|std> <n>");
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
        other => {
            eprintln!("unknown loop {other}");
            std::process::exit(2);
        }
    }
}
