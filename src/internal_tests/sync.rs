//! The sync shim's own answers, where the code that relies on them would otherwise
//! only hang: the thread token (an object lock's owner) and the stall clock (a
//! cookie-list writer's patience).

use crate::sync::thread::current_thread_token;
use crate::sync::StallClock;
use std::time::Duration;

#[test]
fn a_thread_token_is_a_nonzero_multiple_of_8_and_its_threads_own() {
    let mine = current_thread_token();
    assert_ne!(mine, 0);
    assert_eq!(mine % 8, 0, "the low three bits are a lock word's flags");
    assert_eq!(current_thread_token(), mine, "the same on each call");
    // Another thread, alive at the same time as this one, has another token.
    let theirs = std::thread::scope(|s| s.spawn(current_thread_token).join().unwrap());
    assert_ne!(theirs, 0);
    assert_ne!(theirs, mine);
}

#[test]
fn the_stall_clock_starts_on_its_first_look_and_expires_after_its_limit() {
    // Limits of zero and of an hour: the answers do not depend on the machine.
    let mut now = StallClock::new(Duration::ZERO);
    assert!(!now.expired(), "the first look starts the clock");
    assert!(now.expired(), "a zero limit has passed on the second");
    now.reset();
    assert!(!now.expired(), "a reset starts it again");
    assert!(now.expired());

    let mut hour = StallClock::new(Duration::from_secs(3600));
    assert!(!hour.expired());
    assert!(!hour.expired());
    hour.reset();
    assert!(!hour.expired());
}
