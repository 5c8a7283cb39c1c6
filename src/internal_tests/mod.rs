//! Tests of crate-private items, one module per area: the weak handle's answers and
//! the boundary of every count limit (strong, link, weak, adopted floating count),
//! each set near its limit and checked at exactly the boundary; the cookie list's
//! gate, walks and retried writes, the hierarchy's changes and races, the object
//! lock's waiting protocol and the sync shim's answers; and answers of the public
//! API that must fail fast (`fail_fast`). Every wait runs under [`finishes`], so a
//! mutant that makes one never end fails this binary, which runs before the
//! integration tests.

mod cookie_list;
mod fail_fast;
mod floating;
pub(crate) mod hierarchy;
mod object_lock;
mod sync;
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

/// How long the unit test binary may run before [`unit_tests_watchdog`] ends it as
/// hung: a hang detector, not a timing. The whole binary runs in well under a second;
/// this is far more than it needs on a loaded machine, and well under the time a hung
/// test run is given (cargo-mutants' 45 s).
#[cfg(not(miri))]
const BINARY_HANG_LIMIT: std::time::Duration = std::time::Duration::from_secs(25);

/// The unit test binary's own hang detector, for the tests that do not run under
/// [`finishes`]: a test that never ends (one of the count-limit tests here, whose
/// child process inherits a hang, say) would hang the binary, and with it `cargo test`, before the integration
/// tests run. This test starts a thread that ends the process with a failure if it is
/// still running after [`BINARY_HANG_LIMIT`]; when every test is done first, the
/// process ends and the thread with it. (Run a single unit test under a debugger with
/// `--skip unit_tests_watchdog`.)
#[test]
#[cfg(not(miri))]
fn unit_tests_watchdog() {
    std::thread::spawn(|| {
        use std::io::Write;
        std::thread::sleep(BINARY_HANG_LIMIT);
        // Not `eprintln!`: this thread inherits the test's output capture, which the
        // harness drops when the test returns.
        let _ = writeln!(
            std::io::stderr(),
            "the unit tests are still running after {BINARY_HANG_LIMIT:?}: one of them hangs \
             (the test harness names those running for over 60 s)"
        );
        std::process::exit(101);
    });
}

/// How long [`finishes`] lets a call run before it calls it hung: a hang detector, not
/// a timing. The calls it guards take microseconds (a stall limit of a millisecond at
/// most), so this is thousands of times what any of them needs on a loaded machine,
/// and well under the time a hung test binary is given (cargo-mutants' 45 s).
#[cfg(not(miri))]
const HANG_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `f` on a thread of its own and returns what it returns; if `f` has not
/// returned after [`HANG_LIMIT`], ends this test binary at once with a failure. A wait
/// that never ends (a writer that never gets its turn, a pass that never steps, an
/// add that retries for ever) then fails the unit test binary, and so `cargo test`,
/// after one hang limit: not after one per hung test (each waiting for a test thread
/// of its own), and without waiting for another test that hangs outside `finishes`
/// (the [`unit_tests_watchdog`] ends those later). A panic in `f` is the calling
/// test's failure. Under Miri, `f` runs on the caller's thread (Miri reports a
/// deadlock itself).
pub(crate) fn finishes<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    #[cfg(miri)]
    {
        let _ = what;
        f()
    }
    #[cfg(not(miri))]
    match run_within(HANG_LIMIT, f) {
        Some(done) => done,
        None => {
            use std::io::Write;
            // Not `eprintln!`: the test harness captures that, and drops it on exit.
            let _ = writeln!(
                std::io::stderr(),
                "{what}: still running after {HANG_LIMIT:?}: hung"
            );
            std::process::exit(101);
        }
    }
}

/// [`finishes`] with a limit of the caller's, failing only the calling test (a panic)
/// on a hang: what `finishes`' own test checks.
#[cfg(not(miri))]
pub(crate) fn finishes_within<R: Send + 'static>(
    limit: std::time::Duration,
    what: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    run_within(limit, f).unwrap_or_else(|| panic!("{what}: still running after {limit:?}"))
}

/// `f`'s result, run on a thread of its own, or `None` if it is still running after
/// `limit` (the thread is left running: it ends with the process).
#[cfg(not(miri))]
fn run_within<R: Send + 'static>(
    limit: std::time::Duration,
    f: impl FnOnce() -> R + Send + 'static,
) -> Option<R> {
    let start = std::time::Instant::now();
    let worker = std::thread::spawn(f);
    while !worker.is_finished() {
        if start.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Some(
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
    )
}
