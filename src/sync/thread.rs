//! What the shim knows of threads: a token naming the calling thread, from a
//! thread-local (loom's own under loom, which resets it for every execution).

/// A number that identifies the calling thread among the live threads: the address
/// of a thread-local `u64`, so never zero and a multiple of 8 (its low three bits
/// are free for a lock word's flags). A thread that exits may pass its number on to
/// a later thread; no two live threads share one.
#[inline(always)]
pub(crate) fn current_thread_token() -> usize {
    #[cfg(not(loom))]
    std::thread_local!(static TOKEN: u64 = const { 0 });
    #[cfg(loom)]
    loom::thread_local!(static TOKEN: u64 = 0);
    TOKEN.with(|word| core::ptr::from_ref(word).addr())
}
