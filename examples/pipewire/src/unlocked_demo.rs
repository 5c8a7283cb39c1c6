//! ╔══════════════════════════════════════════════════════════════════════════════╗
//! ║  DELIBERATELY WRONG CODE. `--unlocked-demo` only, in a child process.        ║
//! ╚══════════════════════════════════════════════════════════════════════════════╝
//!
//! This is what `pw_lock` makes impossible: after the thread loop started, it calls
//! into PipeWire from the main thread *without* the loop's lock. It uses pipewire-rs
//! directly, bypassing `pw_lock`, because through `pw_lock` the mistake does not
//! compile. PipeWire ≥ 0.3.85 answers with
//! `... called from wrong context, check thread and locking` on stderr; 0.3.65 prints
//! nothing for the same mistake. On 1.4 such code also crashed or hung some runs,
//! which is why it runs in a child process that the parent waits for with a deadline.
//!
//! The connect is done right (locked), so that the wrong part is small: one `sync`
//! and one proxy destruction, unlocked.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pipewire as pw;

/// The warning PipeWire prints for a call from the wrong context.
pub const WRONG_CONTEXT: &str = "called from wrong context";

/// The child: makes the wrong calls. Returns the process exit code.
pub fn child() -> i32 {
    eprintln!("unlocked-demo child: connecting (correctly, with the lock held)");
    // SAFETY: none of the thread-loop rules are kept below on purpose; that is the
    // demonstration, confined to this child process.
    let tl = match unsafe { pw::thread_loop::ThreadLoopRc::new(Some("unlocked-demo"), None) } {
        Ok(tl) => tl,
        Err(e) => {
            eprintln!("unlocked-demo child: cannot make a thread loop: {e}");
            return 1;
        }
    };
    let guard = tl.lock();
    tl.start();
    let connected = pw::context::ContextRc::new(&tl, None).and_then(|ctx| {
        let core = ctx.connect_rc(None)?;
        let registry = core.get_registry_rc()?;
        Ok((ctx, core, registry))
    });
    drop(guard);
    let (ctx, core, registry) = match connected {
        Ok(c) => c,
        Err(e) => {
            eprintln!("unlocked-demo child: cannot connect: {e}");
            tl.stop();
            return 1;
        }
    };
    std::thread::sleep(Duration::from_millis(100));

    eprintln!("unlocked-demo child: WRONG: core.sync() without the thread-loop lock");
    let _ = core.sync(0);
    std::thread::sleep(Duration::from_millis(100));
    eprintln!("unlocked-demo child: WRONG: destroying the registry proxy without the lock");
    drop(registry);
    std::thread::sleep(Duration::from_millis(100));

    eprintln!("unlocked-demo child: shutting down (correctly)");
    let guard = tl.lock();
    drop(core);
    drop(guard);
    tl.stop();
    drop(ctx);
    0
}

/// The parent: runs the child, relays its stderr, counts the warnings. Returns the
/// number of "wrong context" lines, or an error when the child could not run or hung.
pub fn run_child() -> Result<(usize, String), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut child = Command::new(exe)
        .arg("--unlocked-demo-child")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the demo child: {e}"))?;
    let stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            lines.push(line);
        }
        lines
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.to_string(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break "hung: killed after 15 s".to_string();
            }
            Err(e) => return Err(format!("waiting for the demo child: {e}")),
        }
    };
    let lines = reader.join().unwrap_or_default();
    let mut warnings = 0;
    for line in &lines {
        let hit = line.contains(WRONG_CONTEXT);
        warnings += usize::from(hit);
        println!(
            "  child stderr | {line}{}",
            if hit { "   <== the warning" } else { "" }
        );
    }
    Ok((warnings, status))
}
