//! loom models of ParentLink: live parent writability, racing links, and the
//! parent's allocation outliving its value for as long as children link to it.
#![cfg(loom)]

use loom::alloc::Track;
use loom::sync::atomic::Ordering;
use loom::sync::Arc;
use loom::thread;
use mtsafe::buffer::{Buffer, Memory};
use mtsafe::{CowShared, LinkError, ParentLink};
use mtsafe_loom_tests::{drop_counter, Payload};

/// A child block: its own data, and the link to the parent that holds it.
#[derive(Clone)]
struct Child {
    link: ParentLink,
    data: Payload,
}

/// A parent holding one child.
#[derive(Clone)]
struct Parent {
    child: CowShared<Child>,
}

#[test]
fn a_shared_parent_never_allows_an_in_place_write_of_its_child() {
    loom::model(|| {
        let drops = drop_counter();
        let child = CowShared::new(Child {
            link: ParentLink::new(),
            data: Payload::new(0, &drops),
        });
        let parent = CowShared::new(Parent { child });
        parent.child.link.link(&parent).unwrap();
        let other = parent.clone();

        // Another holder of the parent clones it, drops its handles, and reads the
        // child through them meanwhile.
        let t = thread::spawn(move || {
            let again = other.clone();
            drop(other);
            assert_eq!(again.child.data.read(), 0);
            drop(again);
        });

        // The child's own count is 1 throughout; only the live parent check can tell
        // that writing it in place is not allowed while the parent is shared. Write in
        // place exactly when the rule allows it: loom's cell reports any write that is
        // not ordered after the other holder's read.
        let child = &parent.child;
        assert_eq!(CowShared::ref_count(child), 1);
        if CowShared::is_writable(child) && child.link.parent_is_writable() {
            child.data.write(1);
        }
        t.join().unwrap();
        // Evaluated live: writable once the other holder is gone.
        assert!(child.link.parent_is_writable());
        drop(parent);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}

#[test]
fn two_threads_linking_one_child_exactly_one_wins() {
    loom::model(|| {
        let child = Arc::new(ParentLink::new());
        let spawn_linker = |tag: u8| {
            let child = Arc::clone(&child);
            thread::spawn(move || {
                let parent = CowShared::new(Track::new(tag));
                let result = child.link(&parent);
                assert_eq!(result.is_ok(), child.is_linked_to(&parent));
                // The parent's handle goes; a winning link keeps its header only.
                result
            })
        };
        let t1 = spawn_linker(1);
        let t2 = spawn_linker(2);
        let results = [t1.join().unwrap(), t2.join().unwrap()];
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        assert!(results.contains(&Err(LinkError::AlreadyLinked)));
        assert_eq!(child.parent_ref_count(), Some(0));
        // Dropping the child's last handle unlinks it and frees the winner's header;
        // loom's leak check fails the model otherwise.
    });
}

#[test]
fn unlink_racing_the_parents_last_drop_frees_the_parent_once() {
    loom::model(|| {
        let drops = drop_counter();
        let parent = CowShared::new(Payload::new(3, &drops));
        let mut link = ParentLink::new();
        link.link(&parent).unwrap();
        let t = thread::spawn(move || drop(parent));
        // Reading the parent while its last handle goes, then unlinking: whichever
        // of the two comes last frees the allocation, exactly once.
        let count = link.parent_ref_count().unwrap();
        assert!(count <= 1);
        assert!(link.parent_is_writable());
        assert!(link.unlink());
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}

#[test]
fn writing_a_block_of_a_shared_buffer_copies_and_the_reader_keeps_its_view() {
    loom::model(|| {
        let mut gain = Buffer::from_memories([Memory::from_vec(vec![1u8, 1])]);
        let meter = gain.clone();
        let t = thread::spawn(move || {
            let peak = meter.memory(0).iter().copied().max();
            assert_eq!(peak, Some(1));
            drop(meter);
        });
        Buffer::memory_mut(&mut gain, 0)[0] = 2;
        t.join().unwrap();
        assert_eq!(gain.memory(0).as_slice(), &[2, 1]);
        assert!(Memory::is_writable(gain.memory(0)));
    });
}
