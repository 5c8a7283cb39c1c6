//! `AllocTrack`: what makes loom check the allocations mtsafe frees by hand.

/// Marks an allocation that mtsafe frees by hand: under loom it is a
/// `loom::alloc::Track`, so a model that leaks the allocation fails; elsewhere it is a
/// zero-sized no-op.
#[derive(Debug)]
pub(crate) struct AllocTrack(
    #[cfg(loom)] // Held for its drop, which loom checks.
    #[allow(dead_code)]
    loom::alloc::Track<()>,
);

impl AllocTrack {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Self(
            #[cfg(loom)]
            loom::alloc::Track::new(()),
        )
    }
}
