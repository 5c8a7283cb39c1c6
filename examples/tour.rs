//! A tour of mtsafe's primitives under real threads, printing what happened.
//!
//! Run it with `cargo run --release --example tour`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use mtsafe::buffer::{Buffer, Memory};
use mtsafe::{
    CookieList, CowShared, LinkError, Object, ObjectError, ObjectLock, ParentLink, Property,
    Resync, ResyncIterator,
};

/// Counts how often the payload below is copied.
static COPIES: AtomicUsize = AtomicUsize::new(0);

/// A stand-in for caps or a config: cloning it is what copy-on-write avoids.
#[derive(Debug)]
struct Caps {
    rate: u32,
    channels: u32,
}

impl Clone for Caps {
    fn clone(&self) -> Self {
        COPIES.fetch_add(1, Ordering::Relaxed);
        Self {
            rate: self.rate,
            channels: self.channels,
        }
    }
}

fn main() {
    println!("mtsafe tour: GStreamer's MT-safety patterns, held by construction\n");
    cow_shared();
    clone_storm();
    two_level_buffers();
    parent_link();
    cookie_list_demo();
    object_model();
    property_snapshots();
    println!("\ntour done");
}

/// `gst_mini_object_make_writable`: readers share, the writer copies only when shared.
fn cow_shared() {
    println!("== CowShared<T>: GstMiniObject refcount + make_writable");
    let mut caps = CowShared::new(Caps {
        rate: 48_000,
        channels: 2,
    });
    let readers = 4;
    // `holding`: every reader holds its handle; `written`: the writer is done. The
    // readers keep their handles across the write, so it is a write while shared
    // on every run.
    let (holding, written) = (Barrier::new(readers + 1), Barrier::new(readers + 1));
    thread::scope(|s| {
        for _ in 0..readers {
            let mine = caps.clone();
            let (holding, written) = (&holding, &written);
            s.spawn(move || {
                holding.wait();
                written.wait();
                // Reading never copies and never sees the writer's change.
                for _ in 0..1000 {
                    assert_eq!((mine.rate, mine.channels), (48_000, 2));
                }
            });
        }
        holding.wait();
        println!(
            "  {readers} reader threads hold the caps: ref_count = {}, writable = {}",
            CowShared::ref_count(&caps),
            CowShared::is_writable(&caps)
        );
        CowShared::get_writable(&mut caps).rate = 44_100;
        let copies = COPIES.load(Ordering::Relaxed);
        assert_eq!(copies, 1, "a write while shared copies once");
        println!(
            "  writer called get_writable while shared: copies made = {copies}, readers keep 48000"
        );
        written.wait();
    });
    let before = COPIES.load(Ordering::Relaxed);
    CowShared::get_writable(&mut caps).channels = 6;
    println!(
        "  readers gone; writer writes again: in place (copies made now = {}), caps = {}/{}",
        COPIES.load(Ordering::Relaxed) - before,
        caps.rate,
        caps.channels
    );
}

/// The count is exact under contention: one atomic increment per clone.
fn clone_storm() {
    println!("\n== CowShared<T>: refcount under contention");
    let value = CowShared::new([0u8; 64]);
    let (threads, per_thread) = (8, 100_000);
    let start = Instant::now();
    let held: Vec<Vec<CowShared<[u8; 64]>>> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| (0..per_thread).map(|_| value.clone()).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    println!(
        "  {threads} threads x {per_thread} clones in {:.1?}: ref_count = {} (expected {})",
        start.elapsed(),
        CowShared::ref_count(&value),
        1 + threads * per_thread
    );
    thread::scope(|s| {
        for batch in held {
            s.spawn(move || drop(batch));
        }
    });
    println!(
        "  all clones dropped on their threads: ref_count = {}",
        CowShared::ref_count(&value)
    );
}

/// GstBuffer / GstMemory: copying a buffer shares its blocks; writing copies one block.
fn two_level_buffers() {
    println!("\n== buffer::Buffer + Memory: two-level copy-on-write (GstBuffer / GstMemory)");
    let frames = 480;
    let period = Buffer::from_memories([
        Memory::from_vec(vec![0.5f32; frames]),  // left
        Memory::from_vec(vec![0.25f32; frames]), // right
    ]);
    let meter = period.clone();
    println!(
        "  buffer shared with a meter: left block own count = {}, writable in place = {}",
        CowShared::ref_count(meter.memory(0)),
        Memory::is_writable(meter.memory(0))
    );
    let (peaks, gained) = thread::scope(|s| {
        let m = s.spawn(move || {
            meter
                .memories()
                .iter()
                .map(|block| block.iter().fold(0f32, |a, &x| a.max(x.abs())))
                .collect::<Vec<_>>()
        });
        let mut gain = period.clone();
        let g = s.spawn(move || {
            for x in Buffer::memory_mut(&mut gain, 0) {
                *x *= 2.0;
            }
            gain
        });
        (m.join().unwrap(), g.join().unwrap())
    });
    println!("  meter thread read peaks {peaks:?} (reading copies nothing)");
    println!(
        "  gain thread wrote the left block: buffer copied = {}, left copied = {}, right still shared = {}",
        !CowShared::ptr_eq(&gained, &period),
        !CowShared::ptr_eq(gained.memory(0), period.memory(0)),
        CowShared::ptr_eq(gained.memory(1), period.memory(1)),
    );
    println!(
        "  original left sample = {}, gained left sample = {}",
        period.memory(0)[0],
        gained.memory(0)[0]
    );
}

/// GstStructure's parent refcount: one parent, refused twice, never dangling.
fn parent_link() {
    println!("\n== ParentLink: a child tied to its one parent's refcount");
    let caps = CowShared::new("audio/x-raw caps");
    let other = CowShared::new("video/x-raw caps");
    let structure = ParentLink::new();
    structure.link(&caps).unwrap();
    let refused: Result<(), LinkError> = structure.link(&other);
    println!("  linked to the caps; a second parent: {refused:?}");
    let shared = caps.clone();
    println!(
        "  caps shared: parent writable = {}",
        structure.parent_is_writable()
    );
    drop(shared);
    println!(
        "  other holder gone: parent writable = {} (evaluated live)",
        structure.parent_is_writable()
    );
    drop(caps);
    println!(
        "  caps dropped while linked: parent count = {:?}, and the link still reads it safely",
        structure.parent_ref_count()
    );
}

/// GStreamer's children list + cookie + `GstIterator`: a reader walks ~1000 pads with
/// the resync contract while a writer adds or removes a pad every 20 µs (50 000
/// changes/s, far busier than a real bin). The reader rolls back and resyncs when
/// told, and still completes its passes: a step takes no lock.
fn cookie_list_demo() {
    println!("\n== CookieList<T>: children list + cookie + GstIterator");
    let pads: CookieList<Arc<String>> = (0..1000).map(|i| Arc::new(format!("pad_{i}"))).collect();
    let stop = AtomicBool::new(false);
    let (passes, resyncs, max_resyncs, writes, secs) = thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut writes = 0u64;
            let mut due = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                while Instant::now() < due {
                    thread::yield_now();
                }
                if writes % 2 == 0 {
                    pads.push(Arc::new(format!("new_{writes}")));
                } else {
                    pads.remove_where(|_| true); // the oldest pad
                }
                writes += 1;
                due += Duration::from_micros(20);
            }
            writes
        });

        let (mut passes, mut resyncs, mut max_resyncs) = (0u64, 0u64, 0u64);
        let mut it = pads.iter();
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(500) {
            it.resync(); // a new pass, from the head of the current list
            let (mut seen, mut this_pass) = (0, 0);
            loop {
                match it.next() {
                    Ok(Some(_pad)) => seen += 1, // an owned reference, used with no lock
                    Ok(None) => break,           // Done: the pass saw one version
                    Err(Resync) => {
                        seen = 0; // roll back what this pass did, start over
                        this_pass += 1;
                        it.resync();
                    }
                }
            }
            assert!(
                (1000..=1001).contains(&seen),
                "a clean pass sees one version"
            );
            passes += 1;
            resyncs += this_pass;
            max_resyncs = max_resyncs.max(this_pass);
        }
        let secs = start.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        (passes, resyncs, max_resyncs, writer.join().unwrap(), secs)
    });
    println!(
        "  {passes} passes over ~1000 pads ({:.0}/s), {resyncs} resyncs (at most {max_resyncs} \
         in one pass), {writes} writes ({:.0}/s); cookie now {}",
        passes as f64 / secs,
        writes as f64 / secs,
        pads.cookie()
    );
}

/// An element's data in the object-model part of the tour.
struct Element {
    state: ObjectLock<&'static str>,
}

fn element(name: &str) -> mtsafe::Floating<Element> {
    Object::with_name(
        name,
        Element {
            state: ObjectLock::new("NULL"),
        },
    )
}

/// Floating references, one parent per child, weak parent links, re-lock reported.
fn object_model() {
    println!("\n== Object model: floating refs, one parent, weak parent links");
    let bin = element("bin").sink();
    let src = element("src");
    println!(
        "  new element: floating = {}, count = {}",
        Object::is_floating(&src),
        Object::ref_count(&src)
    );
    let src_ref = Object::clone(&src);
    bin.add(src).unwrap();
    println!(
        "  added to the bin: floating = {}, count = {} (the bin's + ours)",
        Object::is_floating(&src_ref),
        Object::ref_count(&src_ref)
    );
    let other = element("other").sink();
    let refused: Result<(), ObjectError> = other.add(&src_ref);
    println!("  a second parent: {}", refused.unwrap_err());
    println!(
        "  a duplicate name: {}",
        bin.add(element("src")).unwrap_err()
    );
    println!(
        "  a cycle: {}",
        src_ref.add(Object::clone(&bin)).unwrap_err()
    );

    // 5 threads make 200 default-named objects each: every name unique.
    let names: std::collections::HashSet<String> = thread::scope(|s| {
        let joins: Vec<_> = (0..5)
            .map(|_| {
                s.spawn(|| {
                    (0..200)
                        .map(|_| element_default().name())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        joins.into_iter().flat_map(|j| j.join().unwrap()).collect()
    });
    println!(
        "  1000 default names from 5 threads: {} distinct",
        names.len()
    );

    let guard = src_ref.lock();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // the message is printed below
    let relock = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| src_ref.parent()));
    std::panic::set_hook(default_hook);
    drop(guard);
    let message = relock
        .err()
        .and_then(|e| e.downcast::<String>().ok())
        .map_or_else(|| "no panic?!".to_owned(), |m| *m);
    println!(
        "  parent() while holding src's own lock (GStreamer would hang):\n    panic: {message}"
    );
    *src_ref.state.lock() = "READY";
    let weak_bin = bin.downgrade();
    drop((bin, other));
    println!(
        "  bin dropped: bin alive = {}, src.parent() = {:?}, src state = {}",
        weak_bin.upgrade().is_some(),
        src_ref.parent().map(|p| p.name()),
        *src_ref.state.lock()
    );
}

fn element_default() -> mtsafe::Floating<Element> {
    Object::new(Element {
        state: ObjectLock::new("NULL"),
    })
}

/// Lock-free property snapshots: readers never block, updates are never lost.
fn property_snapshots() {
    println!("\n== Property: lock-free snapshots, race-free updates");
    let volume = Property::new(1.0f64);
    let counter = Property::new(0u64);
    let stop = AtomicBool::new(false);
    let reads = AtomicUsize::new(0);
    let started = Instant::now();
    thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let v = volume.load();
                assert!(*v >= 0.0);
                reads.fetch_add(1, Ordering::Relaxed);
            }
        });
        let updaters: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    for i in 0..10_000 {
                        counter.update(|n| n + 1);
                        if i % 100 == 0 {
                            volume.set(f64::from(i) / 10_000.0);
                        }
                    }
                })
            })
            .collect();
        for u in updaters {
            u.join().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
    });
    println!(
        "  2 updaters x 10 000 update(|n| n + 1): counter = {} (no update lost); a reader took {} snapshots meanwhile in {:?}, never blocked",
        *counter.load(),
        reads.load(Ordering::Relaxed),
        started.elapsed()
    );
}
