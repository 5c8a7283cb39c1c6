//! The object model against its peers, all measured in the same run.
//!
//! Groups (each starts with `0_warm_up`, left out of the README tables: on this
//! machine the first entry of a group measures 5–10% slow whatever it is):
//! - `object_lock`: one uncontended lock + increment + unlock. mtsafe's
//!   `ObjectLock` (which also records its holder, to report a re-lock) against
//!   `parking_lot::Mutex` and `std::sync::Mutex`.
//! - `property_read`: one read of a published value (load + read a field + drop the
//!   snapshot). mtsafe's `Property::load` against `arc_swap::ArcSwap::load`,
//!   `ArcSwap::load_full`, and a `parking_lot::Mutex` read.
//! - `object_name`: a copy of an object's name (`gst_object_get_name`):
//!   `Object::name` (under the name's own lock) against a
//!   `parking_lot::Mutex<String>` clone.
//! - `create_add_remove`: a new floating object with a default name, added to a
//!   parent (sunk), removed again (destroyed): `Object::new` + `add` + `remove`,
//!   against `Arc::new` + `Vec` push + remove under a `parking_lot::Mutex` (what a
//!   hand-rolled children list costs, with none of the rules), and the same with an
//!   explicit name (`Object::with_name`). `rules_floor_Arc_locks` is the least any
//!   implementation of mtsafe's rules could do for the same cycle, built from
//!   `parking_lot` mutexes and `Arc` (`rules_floor_cycle`: four lock round trips for
//!   the add, three for the remove, the weak parent link and the floating flag): the
//!   lower bound under the rules, beside the peer that has none.
//!
//! - `object_lock_2_threads`: the same lock + increment + unlock on this thread while a
//!   second thread does it to the same lock in a loop (`support::timed_against`).
//! - `create_add_remove_2_threads`: two threads, released together, each doing
//!   `iters` create + add + remove cycles (`support::both_at_once`; the time is the
//!   wall time over `iters`): on `separate_trees` each thread has its own parent,
//!   on `one_tree` both add to one parent. With two free cores, a row equal to its
//!   one-thread row means the threads never waited for each other; twice it, that
//!   they fully serialized. The peers: `Arc` + a `parking_lot::Mutex<Vec>` per thread
//!   (separate) and one shared by both (one list).
//!
//! Run: `cargo bench --bench object -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use mtsafe::{Object, ObjectLock, Property};

mod support;
use support::{both_at_once, timed_against, warm_up, warm_up_custom};
#[path = "support/cycles.rs"]
mod cycles;
use cycles::{cycle, element, peer_cycle, rules_floor_cycle, Element, Node};

fn object_lock(c: &mut Criterion) {
    let mut g = c.benchmark_group("object_lock");
    let pl = parking_lot::Mutex::new(0u64);
    warm_up(&mut g, || *black_box(&pl).lock() += 1);
    let ours = ObjectLock::new(0u64);
    g.bench_function("mtsafe_ObjectLock", |b| {
        b.iter(|| *black_box(&ours).lock() += 1)
    });
    g.bench_function("parking_lot_Mutex", |b| {
        b.iter(|| *black_box(&pl).lock() += 1)
    });
    let std_mutex = std::sync::Mutex::new(0u64);
    g.bench_function("std_Mutex", |b| {
        b.iter(|| *black_box(&std_mutex).lock().unwrap() += 1)
    });
    g.finish();
}

fn object_lock_2_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("object_lock_2_threads");
    let spare = parking_lot::Mutex::new(0u64);
    let spare_once = || *black_box(&spare).lock() += 1;
    warm_up_custom(&mut g, |n| timed_against(n, spare_once, spare_once));
    let ours = ObjectLock::new(0u64);
    let once = || *black_box(&ours).lock() += 1;
    g.bench_function("mtsafe_ObjectLock", |b| {
        b.iter_custom(|n| timed_against(n, once, once))
    });
    let pl = parking_lot::Mutex::new(0u64);
    let once = || *black_box(&pl).lock() += 1;
    g.bench_function("parking_lot_Mutex", |b| {
        b.iter_custom(|n| timed_against(n, once, once))
    });
    let std_mutex = std::sync::Mutex::new(0u64);
    let once = || *black_box(&std_mutex).lock().unwrap() += 1;
    g.bench_function("std_Mutex", |b| {
        b.iter_custom(|n| timed_against(n, once, once))
    });
    g.finish();
}

#[derive(Clone, Debug)]
struct Settings {
    volume: f64,
    _mute: bool,
}

const SETTINGS: Settings = Settings {
    volume: 0.5,
    _mute: false,
};

fn property_read(c: &mut Criterion) {
    let mut g = c.benchmark_group("property_read");
    let swap = arc_swap::ArcSwap::from_pointee(SETTINGS);
    warm_up(&mut g, || {
        black_box(black_box(&swap).load().volume);
    });
    let ours = Property::new(SETTINGS);
    g.bench_function("mtsafe_Property_load", |b| {
        b.iter(|| black_box(&ours).load().volume)
    });
    g.bench_function("arc_swap_load", |b| {
        b.iter(|| black_box(&swap).load().volume)
    });
    g.bench_function("arc_swap_load_full", |b| {
        b.iter(|| black_box(&swap).load_full().volume)
    });
    let locked = parking_lot::Mutex::new(SETTINGS);
    g.bench_function("parking_lot_Mutex_read", |b| {
        b.iter(|| black_box(&locked).lock().volume)
    });
    g.finish();
}

fn object_name(c: &mut Criterion) {
    let mut g = c.benchmark_group("object_name");
    let locked = parking_lot::Mutex::new(String::from("identity0"));
    warm_up(&mut g, || drop(black_box(&locked).lock().clone()));
    let object = Object::with_name("identity0", ()).sink();
    g.bench_function("mtsafe_Object_name", |b| {
        b.iter(|| black_box(&object).name())
    });
    g.bench_function("parking_lot_Mutex_String_clone", |b| {
        b.iter(|| black_box(&locked).lock().clone())
    });
    g.finish();
}

fn create_add_remove(c: &mut Criterion) {
    let mut g = c.benchmark_group("create_add_remove");
    let bin = Object::with_name("bin", element()).sink();
    warm_up(&mut g, || cycle(&bin));
    g.bench_function("mtsafe_Object_new_add_remove", |b| b.iter(|| cycle(&bin)));
    g.bench_function("mtsafe_Object_with_name_add_remove", |b| {
        b.iter(|| {
            let child = Object::with_name("identity", element()).sink();
            bin.add(&child).unwrap();
            bin.remove(&child).unwrap();
        })
    });
    let children = parking_lot::Mutex::new(Vec::<Arc<Element>>::new());
    g.bench_function("Arc_new_Vec_push_remove", |b| {
        b.iter(|| peer_cycle(&children))
    });
    let parent = Arc::new(Node::default());
    g.bench_function("rules_floor_Arc_locks", |b| {
        b.iter(|| rules_floor_cycle(&parent))
    });
    g.finish();
}

fn create_add_remove_2_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("create_add_remove_2_threads");
    let (bin_a, bin_b) = (
        Object::with_name("a", element()).sink(),
        Object::with_name("b", element()).sink(),
    );
    warm_up_custom(&mut g, |n| {
        both_at_once(n, || cycle(&bin_a), || cycle(&bin_b))
    });
    g.bench_function("mtsafe_separate_trees", |b| {
        b.iter_custom(|n| both_at_once(n, || cycle(&bin_a), || cycle(&bin_b)))
    });
    g.bench_function("mtsafe_one_tree", |b| {
        b.iter_custom(|n| both_at_once(n, || cycle(&bin_a), || cycle(&bin_a)))
    });
    let (list_a, list_b) = (
        parking_lot::Mutex::new(Vec::new()),
        parking_lot::Mutex::new(Vec::new()),
    );
    g.bench_function("Arc_Mutex_Vec_separate_lists", |b| {
        b.iter_custom(|n| both_at_once(n, || peer_cycle(&list_a), || peer_cycle(&list_b)))
    });
    g.bench_function("Arc_Mutex_Vec_one_list", |b| {
        b.iter_custom(|n| both_at_once(n, || peer_cycle(&list_a), || peer_cycle(&list_a)))
    });
    g.finish();
}

criterion_group!(
    benches,
    object_lock,
    object_lock_2_threads,
    property_read,
    object_name,
    create_add_remove,
    create_add_remove_2_threads
);
criterion_main!(benches);
