//! A block's own writability check against every order of buffer copies, handle
//! clones, writes, removals and drops: `Memory::is_writable` never says yes for a
//! block that a shared buffer (or a second holder) can see.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::Arc;

use common::scaled;
use mtsafe::buffer::{Buffer, Memory};
use mtsafe::CowShared;

#[test]
fn a_block_of_a_buffer_copy_is_not_writable_after_the_original_goes() {
    let a = Buffer::from_memories([Memory::from_vec(vec![0u8; 4])]);
    let b = CowShared::new(Buffer::clone(&a));
    drop(a);
    let b2 = b.clone();
    assert_eq!(CowShared::ref_count(b.memory(0)), 1);
    assert!(!Buffer::is_memory_writable(&b, 0));
    assert!(
        !Memory::is_writable(b.memory(0)),
        "the block's buffer has two handles"
    );
    drop(b2);
    // The copy holds the block alone now, so writing it copies nothing and links it
    // to the copy: its own check says yes again.
    let mut b = b;
    let at = CowShared::as_ptr(b.memory(0));
    Buffer::memory_mut(&mut b, 0)[0] = 1;
    assert_eq!(CowShared::as_ptr(b.memory(0)), at, "written in place");
    assert!(Memory::is_writable(b.memory(0)));
}

#[test]
fn a_block_a_buffer_lets_go_of_is_not_writable_through_another_shared_buffer() {
    // The first buffer writes its shared block (copying it) or removes it; the copy
    // that keeps the old block is shared.
    for remove in [false, true] {
        let mut a = Buffer::from_memories([Memory::from_vec(vec![0u8; 4])]);
        let b = CowShared::new(Buffer::clone(&a));
        if remove {
            drop(Buffer::remove_memory(&mut a, 0));
        } else {
            Buffer::memory_mut(&mut a, 0)[0] = 1;
        }
        let b2 = b.clone();
        assert_eq!(CowShared::ref_count(b.memory(0)), 1);
        assert!(
            !Memory::is_writable(b.memory(0)),
            "remove = {remove}: the block's buffer has two handles"
        );
        drop((a, b2));
    }
}

#[test]
fn a_block_moved_out_with_its_buffer_and_shared_again_is_not_writable() {
    let a = Buffer::from_memories([Memory::from_vec(vec![0u8; 4])]);
    let value = CowShared::try_unwrap(a).expect("one handle");
    let b = CowShared::new(value);
    let b2 = b.clone();
    assert!(!Memory::is_writable(b.memory(0)));
    drop(b2);
}

/// A sample that counts the live samples and refuses (panics) to clone the value 2
/// while `refuse` is set.
#[derive(Debug)]
struct Sample {
    value: u8,
    live: Arc<AtomicIsize>,
    refuse: Arc<AtomicBool>,
}

impl Sample {
    fn new(value: u8, live: &Arc<AtomicIsize>, refuse: &Arc<AtomicBool>) -> Self {
        live.fetch_add(1, Ordering::SeqCst);
        Self {
            value,
            live: Arc::clone(live),
            refuse: Arc::clone(refuse),
        }
    }
}

impl Clone for Sample {
    fn clone(&self) -> Self {
        if self.value == 2 && self.refuse.load(Ordering::SeqCst) {
            panic!("sample clone refused");
        }
        Self::new(self.value, &self.live, &self.refuse)
    }
}

impl Drop for Sample {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn a_panicking_sample_clone_during_a_write_changes_no_block_and_leaks_nothing() {
    let (live, refuse) = (
        Arc::new(AtomicIsize::new(0)),
        Arc::new(AtomicBool::new(true)),
    );
    let sample = |value| Sample::new(value, &live, &refuse);
    // The buffer is the block's linked parent and has one handle; a copy shares the
    // block, so writing it through the buffer copies it.
    let mut buffer = Buffer::from_memories([Memory::from_vec(vec![sample(1), sample(2)])]);
    let copy = CowShared::new(Buffer::clone(&buffer));
    let write = |buffer: &mut CowShared<Buffer<Sample>>| {
        Buffer::memory_mut(buffer, 0)[0].value = 9;
    };

    // The block copy panics on its second sample, after the first was cloned.
    let result = catch_unwind(AssertUnwindSafe(|| write(&mut buffer)));
    assert!(result.is_err());
    assert_eq!(
        live.load(Ordering::SeqCst),
        2,
        "the partial copy was dropped"
    );
    // A refused write changes nothing: the same block, unwritten, still linked to the
    // buffer and not orphaned.
    assert!(CowShared::ptr_eq(buffer.memory(0), copy.memory(0)));
    assert_eq!(buffer.memory(0)[0].value, 1);
    let link = buffer.memory(0).link();
    assert!(link.is_linked_to(&buffer) && !link.is_orphaned());
    assert_eq!(CowShared::ref_count(buffer.memory(0)), 2);

    // Usable afterwards, whichever way: the copy goes and the buffer holds the block
    // alone (its own check says so again, the link being intact), or the write is
    // retried with clones allowed.
    let spare = CowShared::new(Buffer::clone(&copy));
    drop(copy);
    assert!(!Memory::is_writable(buffer.memory(0)), "`spare` shares it");
    drop(spare);
    assert!(Memory::is_writable(buffer.memory(0)));
    let copy = CowShared::new(Buffer::clone(&buffer));
    refuse.store(false, Ordering::SeqCst);
    write(&mut buffer);
    assert_eq!((buffer.memory(0)[0].value, copy.memory(0)[0].value), (9, 1));
    assert!(Memory::is_writable(buffer.memory(0)));
    assert!(
        copy.memory(0).link().is_orphaned(),
        "the buffer let go of it"
    );
    drop((buffer, copy));
    assert_eq!(live.load(Ordering::SeqCst), 0, "every sample dropped once");
}

/// One step applied to the holders of one buffer's blocks.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Another handle to buffer `i` (a reader).
    CloneHandle(usize),
    /// A copy of buffer `i` in a new handle: shares its blocks.
    CopyBuffer(usize),
    /// Buffer handle `i` goes.
    DropBuffer(usize),
    /// Writes block 0 of buffer `i` (copies what is shared).
    Write(usize),
    /// Removes block 0 of buffer `i` and keeps it as a free handle.
    Remove(usize),
    /// Keeps another handle to block 0 of buffer `i`.
    TakeBlock(usize),
    /// Appends free block `j` to buffer `i`.
    Append(usize, usize),
    /// Free block handle `j` goes.
    DropBlock(usize),
    /// Moves the value out of buffer handle `i` when it is the only one, into a new
    /// handle.
    Rewrap(usize),
}

const MAX_BUFFERS: usize = 3;
const MAX_BLOCKS: usize = 2;

struct Holders {
    buffers: Vec<CowShared<Buffer<u8>>>,
    blocks: Vec<CowShared<Memory<u8>>>,
}

impl Holders {
    fn new() -> Self {
        Self {
            buffers: vec![Buffer::from_memories([
                Memory::from_vec(vec![0u8; 2]),
                Memory::from_vec(vec![0u8; 2]),
            ])],
            blocks: Vec::new(),
        }
    }

    /// Every step that applies to the holders as they are.
    fn steps(&self) -> Vec<Step> {
        let (nb, nf) = (self.buffers.len(), self.blocks.len());
        let mut steps = Vec::new();
        for i in 0..nb {
            let has_block = self.buffers[i].n_memory() > 0;
            if nb < MAX_BUFFERS {
                steps.push(Step::CloneHandle(i));
                steps.push(Step::CopyBuffer(i));
            }
            steps.push(Step::DropBuffer(i));
            if has_block {
                steps.push(Step::Write(i));
            }
            if has_block && nf < MAX_BLOCKS {
                steps.push(Step::Remove(i));
                steps.push(Step::TakeBlock(i));
            }
            steps.push(Step::Rewrap(i));
            steps.extend((0..nf).map(|j| Step::Append(i, j)));
        }
        steps.extend((0..nf).map(Step::DropBlock));
        steps
    }

    fn apply(&mut self, step: Step) {
        match step {
            Step::CloneHandle(i) => self.buffers.push(self.buffers[i].clone()),
            Step::CopyBuffer(i) => self
                .buffers
                .push(CowShared::new(Buffer::clone(&self.buffers[i]))),
            Step::DropBuffer(i) => drop(self.buffers.remove(i)),
            Step::Write(i) => Buffer::memory_mut(&mut self.buffers[i], 0)[0] += 1,
            Step::Remove(i) => {
                let block = Buffer::remove_memory(&mut self.buffers[i], 0);
                self.blocks.push(block);
            }
            Step::TakeBlock(i) => self.blocks.push(self.buffers[i].memory(0).clone()),
            Step::Append(i, j) => {
                let block = self.blocks.remove(j);
                Buffer::append_memory(&mut self.buffers[i], block);
            }
            Step::DropBlock(j) => drop(self.blocks.remove(j)),
            Step::Rewrap(i) => match CowShared::try_unwrap(self.buffers.remove(i)) {
                Ok(value) => self.buffers.push(CowShared::new(value)),
                Err(handle) => self.buffers.insert(i, handle),
            },
        }
    }

    /// The claim: a block reads as writable only when writing it in place is
    /// invisible to every other holder.
    fn check(&self, path: &[Step]) {
        for buffer in &self.buffers {
            for (k, block) in buffer.memories().iter().enumerate() {
                if Memory::is_writable(block) {
                    assert!(
                        Buffer::is_memory_writable(buffer, k),
                        "block {k} of a buffer with {} handles, its own count {}, reads \
                         as writable after {path:?}",
                        CowShared::ref_count(buffer),
                        CowShared::ref_count(block),
                    );
                }
            }
        }
        for block in &self.blocks {
            if Memory::is_writable(block) {
                let in_a_buffer = self
                    .buffers
                    .iter()
                    .any(|b| b.memories().iter().any(|m| CowShared::ptr_eq(m, block)));
                assert!(
                    CowShared::ref_count(block) == 1 && !in_a_buffer,
                    "a free block held elsewhere reads as writable after {path:?}"
                );
            }
        }
    }
}

/// Replays `path` from the start, checking after every step, then tries every next
/// step until `depth` steps.
fn explore(path: &mut Vec<Step>, depth: usize, visited: &mut usize) {
    let mut holders = Holders::new();
    holders.check(path);
    for (n, &step) in path.iter().enumerate() {
        holders.apply(step);
        holders.check(&path[..=n]);
    }
    *visited += 1;
    if path.len() == depth {
        return;
    }
    for step in holders.steps() {
        path.push(step);
        explore(path, depth, visited);
        path.pop();
    }
}

#[test]
fn no_order_of_copies_writes_and_drops_makes_a_block_of_a_shared_buffer_writable() {
    let depth = scaled(5, 3);
    let mut visited = 0;
    explore(&mut Vec::new(), depth, &mut visited);
    assert!(visited > 1000 || cfg!(miri), "explored {visited} orders");
}
