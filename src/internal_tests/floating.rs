//! The adopted floating count: bounded, with an abort past the bound.

use crate::sync::atomic::Ordering;
use crate::Object;

/// The floating bit of the state word.
const FLOATING: u64 = 1;
/// The adopted count's largest value: 31 bits, above the floating bit.
const MAX_ADOPTED: u64 = (1 << 31) - 1;

#[test]
fn adopting_counts_once_per_floating_reference() {
    let object = Object::new(()).sink();
    let state = object.float_state();
    assert!(!state.try_adopt(), "not floating: nothing to adopt");
    assert_eq!(state.adopted(), 0);
    // Relaxed: single-threaded test.
    state.word().fetch_or(FLOATING, Ordering::Relaxed);
    assert!(state.try_adopt());
    assert!(!state.is_floating());
    assert_eq!(state.adopted(), 1);
    state.word().store(0, Ordering::Relaxed);
}

#[test]
#[cfg(all(unix, not(miri)))]
fn adopting_at_the_adopted_limit_succeeds_and_past_it_aborts() {
    let object = Object::new(()).sink();
    let state = object.float_state();
    super::abort_boundary!(
        adopting_at_the_adopted_limit_succeeds_and_past_it_aborts,
        || {
            // Relaxed: single-threaded test.
            state
                .word()
                .store(((MAX_ADOPTED - 1) << 1) | FLOATING, Ordering::Relaxed);
            assert!(state.try_adopt());
            assert_eq!(state.adopted(), MAX_ADOPTED as usize);
            state.word().fetch_or(FLOATING, Ordering::Relaxed);
        },
        || {
            state.try_adopt();
        }
    );
}

#[test]
fn a_floating_handle_of_a_wrapped_generation_settles_nothing() {
    let floating = Object::with_name("x", ());
    let object = Object::clone(&floating);
    let state = object.float_state();
    // As after 2^32 floats: another generation, not floating, nothing adopted. The
    // first floating handle's claim matches nothing: dropping it changes nothing.
    let wrapped = 5 << 32;
    // Relaxed: single-threaded test.
    state.word().store(wrapped, Ordering::Relaxed);
    drop(floating);
    assert_eq!(state.word().load(Ordering::Relaxed), wrapped);
    assert_eq!(state.adopted(), 0);
    assert!(!state.is_floating());
}
