//! Which PipeWire daemon to use: a running one if it answers, otherwise a private
//! one, started here in a private runtime directory with the project's own config and
//! stopped (by its PID) when this process is done with it.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The project's daemon config (scripts/pipewire/pipewire.conf), built in so that the
/// binary needs nothing else.
pub const CONFIG: &str = include_str!("../../../scripts/pipewire/pipewire.conf");

/// What to install when the daemon binary is missing.
pub const INSTALL_HINT: &str = "install PipeWire: run scripts/pipewire/install.sh \
     (Debian 12: apt-get install -t bookworm-backports pipewire pipewire-bin \
     libpipewire-0.3-dev libspa-0.2-dev; Fedora: dnf install pipewire pipewire-utils; \
     Arch: pacman -S pipewire)";

/// The socket a client would connect to, from the environment, as libpipewire finds
/// it: `$PIPEWIRE_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR` (else `$USERPROFILE`), joined
/// with `$PIPEWIRE_REMOTE` (default `pipewire-0`); an absolute remote name is the
/// path itself.
pub fn socket_from_env() -> Option<PathBuf> {
    let remote = std::env::var("PIPEWIRE_REMOTE").unwrap_or_else(|_| "pipewire-0".into());
    if remote.starts_with('/') {
        return Some(PathBuf::from(remote));
    }
    let dir = ["PIPEWIRE_RUNTIME_DIR", "XDG_RUNTIME_DIR", "USERPROFILE"]
        .iter()
        .find_map(|k| std::env::var_os(k).filter(|v| !v.is_empty()))?;
    Some(Path::new(&dir).join(remote))
}

/// Whether a daemon accepts connections at `socket`.
pub fn answers(socket: &Path) -> bool {
    UnixStream::connect(socket).is_ok()
}

/// A PipeWire daemon this process started, stopped by its PID when dropped.
pub struct PrivateDaemon {
    child: Child,
    dir: PathBuf,
    stopped: bool,
}

impl PrivateDaemon {
    /// Starts `pipewire` (or `$MTSAFE_PIPEWIRE_BIN`) in a new private runtime
    /// directory with the built-in config, waits until its socket answers (at most
    /// 10 s), and points this process's PipeWire environment at it.
    ///
    /// Call before any thread starts: it sets environment variables.
    pub fn start() -> Result<Self, String> {
        let bin = std::env::var("MTSAFE_PIPEWIRE_BIN").unwrap_or_else(|_| "pipewire".into());
        let dir = private_dir()?;
        let runtime = dir.join("runtime");
        let config = dir.join("config");
        for d in [&runtime, &config] {
            fs::create_dir(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("chmod {}: {e}", runtime.display()))?;
        fs::write(config.join("pipewire.conf"), CONFIG)
            .map_err(|e| format!("cannot write the daemon config: {e}"))?;
        let log = fs::File::create(dir.join("daemon.log"))
            .map_err(|e| format!("cannot create the daemon log: {e}"))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("cannot dup the daemon log: {e}"))?;

        let mut cmd = Command::new(&bin);
        cmd.env("XDG_RUNTIME_DIR", &runtime)
            .env("PIPEWIRE_RUNTIME_DIR", &runtime)
            .env("PIPEWIRE_CONFIG_DIR", &config)
            .env("PIPEWIRE_REMOTE", "pipewire-0")
            .env("DBUS_SESSION_BUS_ADDRESS", "disabled:")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            // Its own process group: a Ctrl-C on the terminal reaches this program,
            // which then stops the daemon in order, not the daemon first.
            .process_group(0);
        // SAFETY: the closure runs in the child between fork and exec and calls only
        // `prctl`, which is async-signal-safe; it allocates nothing and takes no lock.
        unsafe {
            cmd.pre_exec(|| {
                // If this process dies without stopping it, the daemon gets SIGTERM.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = fs::remove_dir_all(&dir);
                return Err(format!(
                    "no PipeWire daemon is reachable and the daemon binary `{bin}` is not \
                     installed, so no private one can be started: {INSTALL_HINT}"
                ));
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(format!("cannot start `{bin}`: {e}"));
            }
        };
        let mut daemon = Self {
            child,
            dir,
            stopped: false,
        };

        let socket = runtime.join("pipewire-0");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                return Err(format!(
                    "the private PipeWire daemon exited at start ({status}); its log:\n{}",
                    daemon.log_tail()
                ));
            }
            if answers(&socket) {
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the private PipeWire daemon (pid {}) did not answer within 10 s; its log:\n{}",
                    daemon.pid(),
                    daemon.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The clients of this process (and its `--unlocked-demo` child) use it.
        std::env::set_var("XDG_RUNTIME_DIR", &runtime);
        std::env::set_var("PIPEWIRE_RUNTIME_DIR", &runtime);
        std::env::set_var("PIPEWIRE_REMOTE", "pipewire-0");
        Ok(daemon)
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The private directory (runtime dir, config, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `Some(status)` once the daemon has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }

    /// The end of the daemon's log.
    pub fn log_tail(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = fs::File::open(self.dir.join("daemon.log")) {
            let _ = f.read_to_string(&mut s);
        }
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Stops the daemon by its PID: SIGTERM, then SIGKILL after 3 s; reaps it and
    /// removes the private directory. Returns whether it is gone.
    pub fn stop(&mut self) -> bool {
        if self.stopped {
            return true;
        }
        let pid = self.child.id() as libc::pid_t;
        if self.child.try_wait().ok().flatten().is_none() {
            // SAFETY: `kill` with our own child's PID (not yet reaped, so the PID
            // cannot have been reused) and a valid signal number.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(3);
            while self.child.try_wait().ok().flatten().is_none() {
                if Instant::now() >= deadline {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.stopped = self.child.try_wait().ok().flatten().is_some();
        if self.stopped {
            let _ = fs::remove_dir_all(&self.dir);
        }
        self.stopped
    }
}

impl Drop for PrivateDaemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A new directory under the temporary directory, mode 700.
fn private_dir() -> Result<PathBuf, String> {
    let base = std::env::temp_dir();
    let pid = std::process::id();
    for n in 0..1000 {
        let dir = base.join(format!("mtsafe-pw-{pid}-{n}"));
        match fs::create_dir(&dir) {
            Ok(()) => {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .map_err(|e| format!("chmod {}: {e}", dir.display()))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
    Err("cannot create a private runtime directory".into())
}
