//! `Buffer` and `Memory`: sizes, the blocks' links, and writability from both sides.

use mtsafe::buffer::{Buffer, Memory};
use mtsafe::CowShared;

#[test]
fn sizes_count_the_samples_of_every_block() {
    let empty = Buffer::<u8>::new();
    assert!(empty.is_empty());
    assert_eq!((empty.len(), empty.n_memory()), (0, 0));
    assert!(empty.memories().is_empty());
    let b = Buffer::from_memories([Memory::from_vec(vec![1u8, 2, 3]), Memory::zeroed(2)]);
    assert!(!b.is_empty());
    assert_eq!((b.len(), b.n_memory()), (5, 2));
    assert_eq!(b.memory(0).as_slice(), [1, 2, 3]);
    assert_eq!(&***b.memory(1), [0, 0]);
    assert_eq!(b.memories().len(), 2);
    let only_empty_blocks = Buffer::from_memories([Memory::<u8>::zeroed(0)]);
    assert!(only_empty_blocks.is_empty());
    assert_eq!(only_empty_blocks.n_memory(), 1);
}

#[test]
fn appended_blocks_are_linked_and_removed_ones_unlinked() {
    let mut b = Buffer::<u8>::new();
    let block = Memory::zeroed(4);
    Buffer::append_memory(&mut b, block);
    assert!(b.memory(0).link().is_linked_to(&b));
    assert!(Buffer::is_memory_writable(&b, 0));
    assert!(Memory::is_writable(b.memory(0)));
    let removed = Buffer::remove_memory(&mut b, 0);
    assert_eq!(b.n_memory(), 0);
    assert!(
        !removed.link().is_linked(),
        "a block held alone is unlinked"
    );
    assert!(Memory::is_writable(&removed));

    // A block someone else holds is orphaned instead, and never reads as writable.
    Buffer::append_memory(&mut b, removed);
    let kept = b.memory(0).clone();
    let gone = Buffer::remove_memory(&mut b, 0);
    assert!(gone.link().is_orphaned());
    drop(gone);
    assert!(
        !Memory::is_writable(&kept),
        "orphaned: the link cannot vouch for us"
    );
}

#[test]
fn writability_needs_a_lone_buffer_and_a_lone_block() {
    let mut b = Buffer::from_memories([Memory::from_vec(vec![0u8; 3])]);
    assert!(Buffer::is_memory_writable(&b, 0));
    let block = b.memory(0).clone();
    assert!(!Buffer::is_memory_writable(&b, 0), "the block is shared");
    assert!(!Memory::is_writable(&block));
    drop(block);
    let copy = b.clone();
    assert!(!Buffer::is_memory_writable(&b, 0), "the buffer is shared");
    assert!(!Memory::is_writable(b.memory(0)), "through a shared parent");
    drop(copy);
    assert!(Buffer::is_memory_writable(&b, 0));
    Buffer::memory_mut(&mut b, 0)[1] = 9;
    assert_eq!(b.memory(0).as_slice(), [0, 9, 0]);
}

#[test]
fn writing_a_block_of_a_shared_buffer_copies_buffer_and_block_only() {
    let mut a = Buffer::from_memories([Memory::from_vec(vec![1u8]), Memory::from_vec(vec![2u8])]);
    let b = a.clone();
    Buffer::memory_mut(&mut a, 0)[0] = 10;
    assert!(!CowShared::ptr_eq(&a, &b));
    assert_eq!(
        (a.memory(0).as_slice(), b.memory(0).as_slice()),
        (&[10][..], &[1][..])
    );
    assert!(
        CowShared::ptr_eq(a.memory(1), b.memory(1)),
        "the other block still shared"
    );
    assert!(
        a.memory(0).link().is_linked_to(&a),
        "the copy is linked to its buffer"
    );
    assert!(Buffer::is_memory_writable(&a, 0));
    assert!(!Buffer::is_memory_writable(&a, 1));
    assert_eq!(a.offset, b.offset);
}

#[test]
fn a_buffer_copy_keeps_the_offset_and_shares_the_blocks() {
    let mut a = Buffer::from_memories([Memory::from_vec(vec![5u8])]);
    CowShared::get_writable(&mut a).offset = 42;
    let copy: Buffer<u8> = Buffer::clone(&a);
    assert_eq!(copy.offset, 42);
    assert!(CowShared::ptr_eq(copy.memory(0), a.memory(0)));
    drop(copy);
    assert!(
        Buffer::is_memory_writable(&a, 0),
        "the copy's handle went with it"
    );
}

#[test]
fn a_block_kept_past_its_buffer_reads_as_not_writable() {
    let a = Buffer::from_memories([Memory::from_vec(vec![5u8])]);
    let copy = Buffer::clone(&a);
    drop(a);
    let block = copy.memory(0);
    assert!(!block.link().is_orphaned());
    assert_eq!(block.link().parent_ref_count(), Some(0), "its buffer went");
    assert!(!Memory::is_writable(block));
}
