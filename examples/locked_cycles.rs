//! Runs one create + add + remove loop N times, for counting the locked (atomic
//! read-modify-write) instructions each cycle executes with callgrind
//! (`scripts/locked-counts.py`): on one thread, uncontended, each costs about as much
//! as an `Arc` clone or drop, and together they are most of the cycle's time.
//!
//! `cargo run --release --example locked_cycles -- <loop> <n>`, with `<loop>` one of
//! `mtsafe`, `peer` (an `Arc` pushed to and removed from a `parking_lot::Mutex<Vec>`,
//! none of the rules) or `rules_floor` (only what the rules require of any
//! implementation, as `benches/object.rs`'s `rules_floor_Arc_locks`).

use std::hint::black_box;
use std::sync::Arc;

use mtsafe::Object;

#[path = "../benches/support/cycles.rs"]
mod cycles;
use cycles::{cycle, element, peer_cycle, rules_floor_cycle, Node};

fn main() {
    let mut args = std::env::args().skip(1);
    let (which, n) = match (args.next(), args.next().and_then(|n| n.parse::<u64>().ok())) {
        (Some(which), Some(n)) => (which, n),
        _ => {
            eprintln!("usage: locked_cycles <mtsafe|peer|rules_floor> <n>");
            std::process::exit(2);
        }
    };
    match which.as_str() {
        "mtsafe" => {
            let bin = Object::with_name("bin", element()).sink();
            (0..n).for_each(|_| cycle(black_box(&bin)));
        }
        "peer" => {
            let children = parking_lot::Mutex::new(Vec::new());
            (0..n).for_each(|_| peer_cycle(black_box(&children)));
        }
        "rules_floor" => {
            let parent = Arc::new(Node::default());
            (0..n).for_each(|_| rules_floor_cycle(black_box(&parent)));
        }
        other => {
            eprintln!("unknown loop {other}");
            std::process::exit(2);
        }
    }
}
