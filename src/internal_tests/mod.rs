//! Tests of crate-private items, one module per area: the weak handle's answers and
//! the boundary of every count limit (strong, link, weak, adopted floating count),
//! each set near its limit and checked at exactly the boundary; and answers of the
//! public API that must fail fast (`fail_fast`).

mod fail_fast;
mod floating;
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
