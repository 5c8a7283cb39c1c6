//! ParentLink and the two-level buffer under std threads: GstStructure's parent
//! refcount and GstBuffer/GstMemory writability rules.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::{scaled, Counter};
use mtsafe::buffer::{Buffer, Memory};
use mtsafe::{CowShared, LinkError, ParentLink};

#[test]
fn writable_is_own_count_one_and_parent_writable_evaluated_live() {
    let buf = Buffer::from_memories([Memory::from_vec(vec![1i16; 8])]);
    let block = buf.memory(0);
    assert_eq!(CowShared::ref_count(block), 1);
    assert!(Memory::is_writable(block));

    let other = buf.clone(); // parent shared, block's own count still 1
    assert_eq!(CowShared::ref_count(block), 1);
    assert!(!Memory::is_writable(block));
    assert!(!Buffer::is_memory_writable(&buf, 0));

    drop(other); // writable again once the other parent holder goes
    assert!(Memory::is_writable(block));
    assert!(Buffer::is_memory_writable(&buf, 0));

    let extra = block.clone(); // the block's own count
    assert!(!Memory::is_writable(block));
    drop(extra);
    assert!(Memory::is_writable(block));
}

#[test]
fn a_second_parent_is_refused_and_nothing_changes_or_leaks() {
    let counter = Counter::new();
    let a = CowShared::new(counter.value(1));
    let b = CowShared::new(counter.value(2));
    let child = ParentLink::new();
    child.link(&a).unwrap();
    assert_eq!(child.link(&b), Err(LinkError::AlreadyLinked));
    assert!(child.is_linked_to(&a) && !child.is_linked_to(&b));
    assert_eq!(child.parent_ref_count(), Some(1));
    drop((a, b, child));
    assert_eq!(counter.drops(), 2);
}

#[test]
fn unlinking_an_unlinked_child_is_a_no_op() {
    let mut child = ParentLink::new();
    assert!(!child.unlink());
    assert!(!child.is_linked());
    assert!(child.parent_is_writable());
    assert_eq!(child.parent_ref_count(), None);
}

#[test]
fn a_clone_of_a_linked_child_has_no_parent() {
    let parent = CowShared::new(());
    let child = ParentLink::new();
    child.link(&parent).unwrap();
    let copy = child.clone();
    assert!(!copy.is_linked());
    copy.link(&parent).unwrap();
}

#[test]
fn children_outlive_a_dropped_or_unwrapped_parent_safely() {
    // Children still linked when the parent's value goes (dropped, or moved out by
    // try_unwrap) read the parent as gone, and so as not writable: the moved-out value
    // may still hold them, in a new handle the links do not know. Miri checks nothing
    // is read after free and its leak check that the header goes with the last link.
    let counter = Counter::new();
    let parent = CowShared::new(counter.value(0));
    let children: Vec<ParentLink> = (0..3).map(|_| ParentLink::new()).collect();
    for c in &children {
        c.link(&parent).unwrap();
    }
    let value = CowShared::try_unwrap(parent).expect("unique");
    for c in &children {
        assert_eq!(c.parent_ref_count(), Some(0));
        assert!(!c.parent_is_writable());
    }
    drop(value);
    assert_eq!(counter.drops(), 1);
    drop(children);

    let parent = CowShared::new(counter.value(1));
    let child = ParentLink::new();
    child.link(&parent).unwrap();
    let t = thread::spawn(move || drop(parent));
    t.join().unwrap();
    assert_eq!(child.parent_ref_count(), Some(0));
    assert_eq!(counter.drops(), 2);
}

#[test]
fn two_threads_linking_one_child_exactly_one_wins() {
    for _ in 0..scaled(500, 5) {
        let child = Arc::new(ParentLink::new());
        let barrier = Arc::new(Barrier::new(2));
        let parents = [CowShared::new(0u8), CowShared::new(1u8)];
        let results: Vec<_> = thread::scope(|s| {
            let handles: Vec<_> = parents
                .iter()
                .map(|p| {
                    let (child, barrier) = (&child, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        child.link(p)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{results:?}");
        let winner = results.iter().position(|r| r.is_ok()).unwrap();
        assert!(child.is_linked_to(&parents[winner]));
        assert!(!child.is_linked_to(&parents[1 - winner]));
    }
}

#[test]
fn copying_a_buffer_shares_blocks_and_writing_copies_one_block() {
    let mut buf = Buffer::from_memories((0..4).map(|i| Memory::from_vec(vec![i as f32; 64])));
    let reader = buf.clone();
    for i in 0..4 {
        assert!(CowShared::ptr_eq(buf.memory(i), reader.memory(i)));
    }

    Buffer::memory_mut(&mut buf, 2).fill(-1.0);
    assert!(
        !CowShared::ptr_eq(&buf, &reader),
        "the buffer was shared: copied"
    );
    for i in [0, 1, 3] {
        assert!(
            CowShared::ptr_eq(buf.memory(i), reader.memory(i)),
            "block {i} still shared"
        );
    }
    assert!(
        !CowShared::ptr_eq(buf.memory(2), reader.memory(2)),
        "block 2 copied"
    );
    assert!(
        reader.memory(2).iter().all(|&s| s == 2.0),
        "the reader never sees the write"
    );
    assert!(buf.memory(2).iter().all(|&s| s == -1.0));
    assert!(
        buf.memory(2).link().is_linked_to(&buf),
        "the copy is linked to its buffer"
    );
    assert!(Memory::is_writable(buf.memory(2)));

    // Written again: everything is unique now, so nothing more is copied.
    let (b, m) = (CowShared::as_ptr(&buf), CowShared::as_ptr(buf.memory(2)));
    Buffer::memory_mut(&mut buf, 2)[0] = 0.0;
    assert_eq!(
        (CowShared::as_ptr(&buf), CowShared::as_ptr(buf.memory(2))),
        (b, m)
    );
}

#[test]
fn a_block_left_behind_by_its_buffer_is_relinked_not_copied() {
    let original = Buffer::from_memories([Memory::from_vec(vec![0u8; 16])]);
    let mut copy = original.clone();
    Buffer::memory_mut(&mut copy, 0); // nothing to relink yet: copies the shared block
    let mut copy2 = original.clone();
    drop(original); // block 0 of copy2 is now held by copy2 alone
    assert_eq!(CowShared::ref_count(copy2.memory(0)), 1);
    let at = CowShared::as_ptr(copy2.memory(0));
    Buffer::memory_mut(&mut copy2, 0)[0] = 9;
    assert_eq!(CowShared::as_ptr(copy2.memory(0)), at, "written in place");
    assert!(copy2.memory(0).link().is_linked_to(&copy2));
    assert_eq!(copy.memory(0)[0], 0);
}

#[test]
fn the_parent_unlinks_children_that_leave_it() {
    let mut buf = Buffer::from_memories([Memory::from_vec(vec![1u8]), Memory::from_vec(vec![2u8])]);
    let removed = Buffer::remove_memory(&mut buf, 0);
    assert!(
        !removed.link().is_linked(),
        "held alone: unlinked on the way out"
    );
    assert_eq!(buf.n_memory(), 1);

    let kept = buf.memory(0).clone();
    drop(buf); // parent gone while `kept` held the block too: the link cannot vouch
    assert_eq!(kept.link().parent_ref_count(), Some(0));
    assert!(!Memory::is_writable(&kept));
    // A buffer that takes the block in alone relinks it.
    let mut again = Buffer::new();
    Buffer::append_memory(&mut again, kept);
    assert!(again.memory(0).link().is_linked_to(&again));
    assert!(Memory::is_writable(again.memory(0)));
}

#[test]
fn a_removed_block_still_held_elsewhere_is_orphaned_and_relinked_when_held_alone() {
    let mut buf = Buffer::from_memories([Memory::from_vec(vec![1u8])]);
    let mut copy = CowShared::new(Buffer::clone(&buf));
    let removed = Buffer::remove_memory(&mut buf, 0);
    assert!(removed.link().is_orphaned(), "the copy still holds it");
    drop(removed);
    assert!(
        !Memory::is_writable(copy.memory(0)),
        "orphaned: no vouching"
    );
    assert!(
        Buffer::is_memory_writable(&copy, 0),
        "the buffer's own answer is exact"
    );
    let at = CowShared::as_ptr(copy.memory(0));
    Buffer::memory_mut(&mut copy, 0)[0] = 2; // held alone: in place, relinked here
    assert_eq!(CowShared::as_ptr(copy.memory(0)), at);
    assert!(copy.memory(0).link().is_linked_to(&copy));
    assert!(Memory::is_writable(copy.memory(0)));
    // And a link that another buffer orphans changes nothing here.
    let mut other = Buffer::from_memories([Memory::from_vec(vec![0u8])]);
    assert!(!other.memory(0).link().orphan(&copy));
    Buffer::memory_mut(&mut other, 0)[0] = 1;
    assert!(Memory::is_writable(other.memory(0)));
}

#[test]
fn append_links_a_block_held_alone_and_leaves_a_shared_one_alone() {
    let first = Buffer::from_memories([Memory::from_vec(vec![0u8; 4])]);
    let mut second = Buffer::new();
    // A block shared with `first` keeps its parent; it is not writable in place.
    Buffer::append_memory(&mut second, first.memory(0).clone());
    assert!(second.memory(0).link().is_linked_to(&first));
    assert!(!Buffer::is_memory_writable(&second, 0));
    // Writing it through `second` copies it and links the copy to `second`.
    Buffer::memory_mut(&mut second, 0)[0] = 1;
    assert!(second.memory(0).link().is_linked_to(&second));
    assert_eq!(first.memory(0)[0], 0);
}

#[test]
fn gain_stages_on_threads_copy_only_what_they_write() {
    for round in 0..scaled(100, 3) {
        let period = Buffer::from_memories([
            Memory::from_vec(vec![0.5f32; 256]),
            Memory::from_vec(vec![0.25f32; 256]),
        ]);
        thread::scope(|s| {
            for _ in 0..2 {
                let meter = period.clone();
                s.spawn(move || {
                    let before = (
                        CowShared::as_ptr(&meter),
                        CowShared::as_ptr(meter.memory(0)),
                    );
                    let peak = meter.memory(0).iter().fold(0f32, |a, &b| a.max(b));
                    assert_eq!(peak, 0.5, "round {round}: a reader saw a write");
                    let after = (
                        CowShared::as_ptr(&meter),
                        CowShared::as_ptr(meter.memory(0)),
                    );
                    assert_eq!(before, after, "reading never copies");
                });
            }
            let mut gain = period.clone();
            s.spawn(move || {
                for x in Buffer::memory_mut(&mut gain, 0) {
                    *x *= 2.0;
                }
                assert!(gain.memory(0).iter().all(|&x| x == 1.0));
                assert!(gain.memory(1).iter().all(|&x| x == 0.25));
            });
        });
        assert!(period.memory(0).iter().all(|&x| x == 0.5));
        assert!(Memory::is_writable(period.memory(0)));
    }
}
