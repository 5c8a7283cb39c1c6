//! Tests of crate-private items, one module per area: the weak handle's answers and
//! the boundary of every count limit (strong, link, weak, adopted floating count),
//! each set near its limit and checked at exactly the boundary; and answers of the
//! public API that must fail fast (`fail_fast`).

mod fail_fast;
mod floating;
mod object_lock;
// The weak handle's tests (weak.rs) are a child module of `shared::weak`, for its
// private counts: declared there, with a path to this folder.

/// Checks a count limit at its boundary in a child process (this test binary, running
/// only the calling test): `at_limit` must return, and `past_limit` must abort the
/// process, as a reference count overflow does. `test` is the calling test's path
/// (`module_path!()` and its name; see [`abort_boundary!`]).
#[cfg(all(unix, not(miri)))]
pub(crate) fn check_abort_boundary(test: &str, at_limit: impl FnOnce(), past_limit: impl FnOnce()) {
    use std::os::unix::process::ExitStatusExt;
    const CHILD: &str = "MTSAFE_TEST_ABORT_BOUNDARY_CHILD";
    if std::env::var_os(CHILD).is_some_and(|t| t == test) {
        at_limit();
        eprintln!("at the limit: survived");
        past_limit();
        eprintln!("past the limit: survived");
        std::process::exit(0);
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at the limit: survived"), "{stderr}");
    assert!(!stderr.contains("past the limit: survived"), "{stderr}");
    assert_eq!(out.status.signal(), Some(6), "expected SIGABRT: {out:?}");
}

/// `check_abort_boundary` for the test it is written in:
/// `abort_boundary!(test_name, || at the limit, || past it)`.
macro_rules! abort_boundary {
    ($test:ident, $at:expr, $past:expr) => {
        $crate::internal_tests::check_abort_boundary(
            // The test's path inside the crate, as the test harness names it.
            &format!(
                "{}::{}",
                module_path!().split_once("::").map_or("", |(_, path)| path),
                stringify!($test)
            ),
            $at,
            $past,
        )
    };
}
#[cfg(all(unix, not(miri)))]
pub(crate) use abort_boundary;

/// How long [`finishes`] lets a call run before it calls it hung: a hang detector, not
/// a timing. The calls it guards take microseconds (a stall limit of a millisecond at
/// most), so this is thousands of times what any of them needs on a loaded machine,
/// and well under the time a hung test binary is given (cargo-mutants' 45 s).
#[cfg(not(miri))]
const HANG_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `f` on a thread of its own and returns what it returns, or fails the calling
/// test if `f` has not returned after [`HANG_LIMIT`]: a wait that never ends (a writer
/// that never gets its turn, a pass that never steps) fails this test binary, which
/// the test harness then leaves (the hung thread ends with the process), instead of
/// hanging it. A panic in `f` is the test's. Under Miri, `f` runs on the caller's
/// thread (Miri reports a deadlock itself).
pub(crate) fn finishes<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    #[cfg(miri)]
    {
        let _ = what;
        f()
    }
    #[cfg(not(miri))]
    finishes_within(HANG_LIMIT, what, f)
}

/// [`finishes`] with a limit of the caller's (its own test uses a short one).
#[cfg(not(miri))]
pub(crate) fn finishes_within<R: Send + 'static>(
    limit: std::time::Duration,
    what: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let start = std::time::Instant::now();
    let worker = std::thread::spawn(f);
    while !worker.is_finished() {
        assert!(
            start.elapsed() < limit,
            "{what}: still running after {limit:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    worker
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
