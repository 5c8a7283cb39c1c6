//! loom models of ParentLink: live parent writability, racing links, the parent's
//! allocation outliving its value for as long as children link to it, and a block of a
//! shared buffer never reading as writable while the buffer its link names goes or lets
//! go of it.
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
        if !link.parent_is_writable() {
            // Not orphaned and never shared: only a parent that went reads so.
            assert_eq!(link.parent_ref_count(), Some(0));
        }
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

/// loom's DPOR keeps one last access per atomic, so a thread's own load of the block's
/// count right before it drops its handle (a buffer checks whether it holds the block
/// alone first) hides the reader's load from that drop, and the interleavings where the
/// reader's loads straddle it go unexplored. The other thread therefore drops a spare
/// handle to the block first: that drop comes straight after the reader's load.
fn spare_handle(buffer: &CowShared<Buffer<u8>>) -> CowShared<Memory<u8>> {
    buffer.memory(0).clone()
}

#[test]
fn a_copy_never_reads_a_block_writable_while_the_buffer_it_was_linked_to_goes() {
    loom::model(|| {
        // The block is linked to `first`; `copy` shares it without being its parent,
        // and has two handles throughout.
        let first = Buffer::from_memories([Memory::from_vec(vec![0u8])]);
        let copy = CowShared::new(Buffer::clone(&first));
        let reader = copy.clone();
        let spare = spare_handle(&first);
        let t = thread::spawn(move || {
            drop(spare);
            drop(first);
        });
        // Whenever the block's own count reads one, `first` is gone, and its link must
        // say so: it cannot vouch for `copy`.
        assert!(!Memory::is_writable(copy.memory(0)));
        t.join().unwrap();
        assert!(!Memory::is_writable(copy.memory(0)));
        drop(reader);
        assert!(Buffer::is_memory_writable(&copy, 0));
    });
}

/// `first` lets go of its block (writes it, so copies it; or removes it) while `copy`,
/// which shares the block and has two handles, asks the block whether it is writable.
/// `first` stays alive with one handle, so only the orphan mark can say no.
fn a_buffer_letting_go_of_a_shared_block_never_makes_it_writable(remove: bool) {
    loom::model(move || {
        let mut first = Buffer::from_memories([Memory::from_vec(vec![0u8])]);
        let copy = CowShared::new(Buffer::clone(&first));
        let reader = copy.clone();
        let spare = spare_handle(&first);
        let t = thread::spawn(move || {
            drop(spare);
            if remove {
                drop(Buffer::remove_memory(&mut first, 0));
            } else {
                Buffer::memory_mut(&mut first, 0)[0] = 1;
            }
            first
        });
        assert!(!Memory::is_writable(copy.memory(0)));
        let first = t.join().unwrap();
        assert_eq!(CowShared::ref_count(&first), 1);
        assert!(!Memory::is_writable(copy.memory(0)));
        if !remove {
            assert!(Memory::is_writable(first.memory(0)), "its own copy, linked");
        }
        drop(reader);
        assert!(Buffer::is_memory_writable(&copy, 0));
    });
}

#[test]
fn a_buffer_writing_a_shared_block_never_makes_the_old_one_writable_elsewhere() {
    a_buffer_letting_go_of_a_shared_block_never_makes_it_writable(false);
}

#[test]
fn a_buffer_removing_a_shared_block_never_makes_it_writable_elsewhere() {
    a_buffer_letting_go_of_a_shared_block_never_makes_it_writable(true);
}
