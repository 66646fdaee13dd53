//! Fresh-box harness: a throw-away Debian 12 "server" with systemd as PID 1 for the
//! integration tests — a `systemd-nspawn` system container in its own network namespace
//! (user-mode networking via `slirp4netns`: it reaches the Debian archive and nothing
//! else), driven by `tests/freshbox/box.sh`. Needs root on Linux; the root file system is
//! built once per machine (`box.sh build`, 1–3 minutes) under `$FRESHBOX_LAB`
//! (default `/var/tmp/mattermost-setup-freshbox`); a box then starts in 1–2 seconds.
//!
//! ```ignore
//! #[test]
//! fn installs_on_a_fresh_server() {
//!     if !freshbox::available_or_skip("installs_on_a_fresh_server") {
//!         return;
//!     }
//!     let fb = FreshBox::start("install");
//!     fb.put(&installer_binary, "/usr/local/bin/mattermost-setup");
//!     fb.serve(mirror_dir.path(), 8081); // http://127.0.0.1:8081/ inside the box only
//!     fb.exec_ok("mattermost-setup install --download-base http://127.0.0.1:8081/ ...");
//!     fb.reboot();
//!     assert_eq!(fb.exec_ok("systemctl is-active mattermost").trim(), "active");
//! } // dropped: powered off and deleted (unless FRESHBOX_KEEP=1, or =failed and the test panicked)
//! ```
//!
//! Environment: `FRESHBOX_REQUIRED=1` (CI) turns "harness unavailable" into a failure
//! instead of a skip; `FRESHBOX_KEEP=1` keeps every box running after its test,
//! `FRESHBOX_KEEP=failed` only the boxes of failing tests (enter one with
//! `tests/freshbox/box.sh exec NAME bash`, remove all with `tests/freshbox/box.sh stop-all`);
//! `FRESHBOX_LAB` moves the lab directory.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

const DEFAULT_LAB: &str = "/var/tmp/mattermost-setup-freshbox";
/// `netns`/machine names: at most 15 of `[a-z0-9-]`.
const MAX_NAME: usize = 15;

/// Path of the harness script.
pub fn box_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/freshbox/box.sh")
}

/// The lab directory `box.sh` uses (`$FRESHBOX_LAB`, else the default).
pub fn lab_dir() -> PathBuf {
    match std::env::var_os("FRESHBOX_LAB") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_LAB),
    }
}

fn box_cmd() -> Command {
    let mut c = Command::new("bash");
    c.arg(box_sh());
    c
}

/// Runs `box.sh ARGS...` with no stdin and captured output.
fn run_box(args: &[&str]) -> Output {
    box_cmd()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", box_sh().display()))
}

/// Writes to the real stderr, bypassing libtest's output capture.
fn loud(msg: &str) {
    let _ = std::io::stderr().write_all(msg.as_bytes());
}

fn describe(what: &str, status: ExitStatus, stdout: &[u8], stderr: &[u8]) -> String {
    format!(
        "{what}: {status}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(stdout).trim_end(),
        String::from_utf8_lossy(stderr).trim_end()
    )
}

/// Panics with `what`, the exit status and both outputs unless `out` is a success.
fn ensure_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        describe(what, out.status, &out.stdout, &out.stderr)
    );
}

/// Can boxes run here? `Err(reason)` when not root, not Linux, no namespaces, no
/// `/dev/net/tun`, no way to get the tools... (`box.sh check`; cached per process).
pub fn available() -> Result<(), String> {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    CHECK
        .get_or_init(|| {
            if !cfg!(target_os = "linux") {
                return Err("fresh boxes need Linux".to_owned());
            }
            let script = box_sh();
            if !script.is_file() {
                return Err(format!("{} is missing", script.display()));
            }
            match box_cmd().arg("check").stdin(Stdio::null()).output() {
                Ok(o) if o.status.success() => Ok(()),
                Ok(o) => Err(String::from_utf8_lossy(&o.stderr)
                    .trim()
                    .replace('\n', "; ")),
                Err(e) => Err(format!("cannot run bash {}: {e}", script.display())),
            }
        })
        .clone()
}

/// Whether `FRESHBOX_REQUIRED=1` (CI): an unavailable harness is then a failure.
pub fn required() -> bool {
    std::env::var("FRESHBOX_REQUIRED").is_ok_and(|v| v == "1")
}

/// For the top of a box test: `true` when boxes can run. Otherwise prints the reason
/// loudly (past the test harness's capture) and returns `false` so the test can return
/// early — or panics when `FRESHBOX_REQUIRED=1`.
pub fn available_or_skip(test: &str) -> bool {
    match available() {
        Ok(()) => true,
        Err(reason) => {
            assert!(
                !required(),
                "{test}: FRESHBOX_REQUIRED=1 but fresh boxes cannot run here: {reason}"
            );
            loud(&format!(
                "\n!!!!!!!! SKIPPED {test}: fresh boxes cannot run here: {reason}\n\
                 !!!!!!!! (run as root on Linux; FRESHBOX_REQUIRED=1 makes this a failure)\n\n"
            ));
            false
        }
    }
}

/// A Debian release a box can run (`FRESHBOX_SUITE` of box.sh). Each has its own root
/// file system in the lab, built the first time a box of it starts (1-3 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    /// Debian 11: glibc 2.31, PostgreSQL 13, systemd 247.
    Bullseye,
    /// Debian 12 (the default): glibc 2.36, PostgreSQL 15, systemd 252.
    Bookworm,
    /// Debian 13: glibc 2.41, PostgreSQL 17, systemd 257.
    Trixie,
}

impl Suite {
    pub const ALL: [Suite; 3] = [Suite::Bullseye, Suite::Bookworm, Suite::Trixie];

    pub fn codename(self) -> &'static str {
        match self {
            Suite::Bullseye => "bullseye",
            Suite::Bookworm => "bookworm",
            Suite::Trixie => "trixie",
        }
    }

    /// `VERSION_ID` in the box's /etc/os-release.
    pub fn version_id(self) -> &'static str {
        match self {
            Suite::Bullseye => "11",
            Suite::Bookworm => "12",
            Suite::Trixie => "13",
        }
    }

    /// The lab directory holding this suite's root (`rootfs`, `base.img`, `rootfs.ok`):
    /// the lab itself for bookworm, as before suites existed.
    pub fn root_dir(self) -> PathBuf {
        match self {
            Suite::Bookworm => lab_dir(),
            other => lab_dir().join(other.codename()),
        }
    }
}

/// Builds a suite's root file system once per process (box.sh locks and skips when done).
/// One lock per suite: tests of different suites build theirs at the same time.
fn ensure_built_suite(suite: Suite) {
    static BUILT: [Mutex<bool>; 3] = [Mutex::new(false), Mutex::new(false), Mutex::new(false)];
    let slot = match suite {
        Suite::Bullseye => 0,
        Suite::Bookworm => 1,
        Suite::Trixie => 2,
    };
    let mut built = BUILT[slot].lock().unwrap_or_else(PoisonError::into_inner);
    if *built {
        return;
    }
    if !suite.root_dir().join("rootfs.ok").exists() {
        loud(&format!(
            "freshbox: building the Debian {} ({}) root file system (1-3 minutes, once; log: {}/logs/)\n",
            suite.version_id(),
            suite.codename(),
            lab_dir().display()
        ));
    }
    let status = box_cmd()
        .arg("build")
        .env("FRESHBOX_SUITE", suite.codename())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", box_sh().display()));
    assert!(
        status.success(),
        "FRESHBOX_SUITE={} box.sh build failed: {status} (see {}/logs/)",
        suite.codename(),
        lab_dir().display()
    );
    *built = true;
}

/// Builds the root file system once per process (box.sh itself locks and skips when done).
fn ensure_built() {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if *built {
        return;
    }
    if !lab_dir().join("rootfs.ok").exists() {
        loud(&format!(
            "freshbox: building the Debian 12 root file system (1-3 minutes, once; log: {}/logs/build.log)\n",
            lab_dir().display()
        ));
    }
    // stderr inherited: a few progress lines, worth seeing during a 3-minute wait
    let status = box_cmd()
        .arg("build")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", box_sh().display()));
    assert!(
        status.success(),
        "box.sh build failed: {status} (see {}/logs/build.log)",
        lab_dir().display()
    );
    *built = true;
}

fn base36(mut n: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `PREFIX-PID-N`: unique per process and box, at most 15 of `[a-z0-9-]`.
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let suffix = format!(
        "-{}-{}",
        base36(std::process::id()),
        base36(COUNTER.fetch_add(1, Ordering::Relaxed))
    );
    let clean: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let budget = MAX_NAME.saturating_sub(suffix.len()).max(1);
    let mut p: String = clean.trim_matches('-').chars().take(budget).collect();
    while p.ends_with('-') {
        p.pop();
    }
    if p.is_empty() {
        p.push_str("fb");
        p.truncate(budget);
    }
    let mut name = format!("{p}{suffix}");
    name.truncate(MAX_NAME);
    name
}

/// A running fresh box. Dropping it powers it off and deletes it.
#[derive(Debug)]
pub struct FreshBox {
    name: String,
    stopped: bool,
}

impl FreshBox {
    /// Builds the root file system if needed (`box.sh build`), then boots a fresh copy of it
    /// named after `name` (made unique: `name-PID-N`, shortened). Returns once systemd has
    /// finished booting (`running` or `degraded`) and eth0 has its DHCP address.
    /// Panics (with the reason) when boxes cannot run here or the box fails to boot.
    pub fn start(name: &str) -> FreshBox {
        if let Err(reason) = available() {
            panic!("fresh boxes cannot run here: {reason}");
        }
        ensure_built();
        let name = unique_name(name);
        let out = run_box(&["start", &name]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            if keep(true) {
                loud(&format!(
                    "freshbox: FRESHBOX_KEEP: leaving the failed box {name} for inspection\n"
                ));
            } else {
                let _ = run_box(&["stop", &name]);
            }
            panic!(
                "{}",
                describe(
                    &format!("box.sh start {name} failed"),
                    out.status,
                    &out.stdout,
                    &out.stderr
                )
            );
        }
        eprint!("{stderr}"); // captured by libtest: shown with a failing test's output
        FreshBox {
            name,
            stopped: false,
        }
    }

    /// Like `start`, on a fresh box of the given Debian release (its root file system is
    /// built first if needed: `FRESHBOX_SUITE=<suite> box.sh build`).
    pub fn start_suite(name: &str, suite: Suite) -> FreshBox {
        if let Err(reason) = available() {
            panic!("fresh boxes cannot run here: {reason}");
        }
        ensure_built_suite(suite);
        let name = unique_name(name);
        let out = box_cmd()
            .args(["start", &name])
            .env("FRESHBOX_SUITE", suite.codename())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", box_sh().display()));
        if !out.status.success() {
            if keep(true) {
                loud(&format!(
                    "freshbox: FRESHBOX_KEEP: leaving the failed box {name} for inspection\n"
                ));
            } else {
                let _ = run_box(&["stop", &name]);
            }
            panic!(
                "{}",
                describe(
                    &format!(
                        "FRESHBOX_SUITE={} box.sh start {name} failed",
                        suite.codename()
                    ),
                    out.status,
                    &out.stdout,
                    &out.stderr
                )
            );
        }
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        FreshBox {
            name,
            stopped: false,
        }
    }

    /// The box's (machine and network namespace) name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The box's root directory as seen from the host, for reading files (write with `put`):
    /// `/proc/<leader>/root`, valid while the box runs (changes with `reboot`).
    pub fn root_dir(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.leader_pid()))
    }

    /// The box's console log on the host (systemd's boot and shutdown messages).
    pub fn console_log(&self) -> PathBuf {
        lab_dir()
            .join("logs")
            .join(format!("{}.console.log", self.name))
    }

    /// A `Command` running `bash -c CMD` inside the box as root (clean environment:
    /// `PATH`, `HOME=/root`, `LANG=C.UTF-8`, `TERM`, cwd `/root`); its exit status is CMD's.
    /// `TERM` is `dumb` unless set on the returned command. Stdio is the caller's to choose.
    pub fn command(&self, cmd: &str) -> Command {
        let mut c = box_cmd();
        c.arg("exec").arg(&self.name).arg(cmd).env("TERM", "dumb");
        c
    }

    /// Runs CMD inside; returns its output whatever the exit status.
    pub fn exec(&self, cmd: &str) -> Output {
        self.command(cmd)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run box.sh exec: {e}"))
    }

    /// Runs CMD inside and returns its stdout; panics with stdout and stderr on failure.
    pub fn exec_ok(&self, cmd: &str) -> String {
        let out = self.exec(cmd);
        ensure_success(&format!("in box {}: `{cmd}` failed", self.name), &out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs CMD inside with `stdin` as its standard input; returns its output whatever the exit status.
    pub fn exec_stdin(&self, cmd: &str, stdin: &[u8]) -> Output {
        let mut child = self
            .command(cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run box.sh exec: {e}"));
        let mut pipe = child.stdin.take().expect("child stdin is piped");
        let data = stdin.to_vec();
        // written from another thread so a command that prints a lot before reading cannot deadlock
        let writer = std::thread::spawn(move || {
            let _ = pipe.write_all(&data); // a command that does not read its input closes the pipe early
        });
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("box.sh exec: {e}"));
        let _ = writer.join();
        out
    }

    /// Copies the host file `src` to `dst` inside the box (mode kept, owner root; `dst` is
    /// resolved inside the box; an existing directory `dst` receives `src`'s file name).
    pub fn put(&self, src: &Path, dst: &str) {
        let src = src
            .to_str()
            .unwrap_or_else(|| panic!("non-UTF-8 path {}", src.display()));
        let out = run_box(&["put", &self.name, src, dst]);
        ensure_success(
            &format!("box.sh put {} {src} {dst} failed", self.name),
            &out,
        );
    }

    /// Serves the host directory `dir` over HTTP on 127.0.0.1:`port` inside the box's network
    /// namespace only (nothing listens on the host's network). Returns once it answers.
    /// Survives `reboot`; stopped with the box. Serving again on the same port replaces it.
    pub fn serve(&self, dir: &Path, port: u16) {
        let dir = dir
            .to_str()
            .unwrap_or_else(|| panic!("non-UTF-8 path {}", dir.display()));
        let port = port.to_string();
        let out = run_box(&["serve", &self.name, dir, &port]);
        ensure_success(
            &format!("box.sh serve {} {dir} {port} failed", self.name),
            &out,
        );
    }

    /// Clean poweroff, then boots the same root again (same network namespace, `serve`
    /// servers kept) and waits like `start`.
    pub fn reboot(&self) {
        let out = run_box(&["reboot", &self.name]);
        ensure_success(&format!("box.sh reboot {} failed", self.name), &out);
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }

    /// Host PID of the box's systemd (PID 1 inside); changes with `reboot`. The box's services
    /// are its descendants in the host's `/proc`; commands run by `exec`/`spawn` are not (they
    /// descend from their host-side `nsenter`, `Child::id()`), though they share its namespaces.
    pub fn leader_pid(&self) -> u32 {
        let out = run_box(&["leader", &self.name]);
        let text = String::from_utf8_lossy(&out.stdout);
        match text.trim().parse() {
            Ok(pid) if out.status.success() => pid,
            _ => panic!(
                "{}",
                describe(
                    &format!("box.sh leader {} failed", self.name),
                    out.status,
                    &out.stdout,
                    &out.stderr
                )
            ),
        }
    }

    /// Starts CMD inside without waiting (e.g. the installer, while the test samples `/proc`);
    /// stdin is null, stdout and stderr are piped — read them (or `wait_with_output`) so
    /// the command cannot block on a full pipe. `Child::id()` is the host-side `nsenter`; CMD's
    /// `bash` is its child (in the box's PID namespace). Killing the `Child` only ends that
    /// `nsenter`, not CMD inside the box.
    pub fn spawn(&self, cmd: &str) -> Child {
        self.command(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run box.sh exec: {e}"))
    }

    /// Powers the box off and deletes it now, panicking if that fails (`Drop` does the same
    /// quietly).
    pub fn stop(mut self) {
        self.stopped = true;
        let out = run_box(&["stop", &self.name]);
        ensure_success(&format!("box.sh stop {} failed", self.name), &out);
    }
}

/// `FRESHBOX_KEEP=1`: keep every box; `FRESHBOX_KEEP=failed`: keep boxes of failing tests.
fn keep(failed: bool) -> bool {
    match std::env::var("FRESHBOX_KEEP").as_deref() {
        Ok("1") => true,
        Ok("failed") => failed,
        _ => false,
    }
}

impl Drop for FreshBox {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let name = &self.name;
        if keep(std::thread::panicking()) {
            let sh = box_sh();
            loud(&format!(
                "freshbox: FRESHBOX_KEEP: box {name} left running.\n  \
                 enter: {sh} exec {name} bash\n  remove: {sh} stop {name}   (all: {sh} stop-all)\n",
                sh = sh.display()
            ));
            return;
        }
        match box_cmd()
            .arg("stop")
            .arg(name)
            .stdin(Stdio::null())
            .output()
        {
            Ok(o) if o.status.success() => {}
            Ok(o) => loud(&format!(
                "freshbox: WARNING: {}\n",
                describe(
                    &format!("box.sh stop {name} failed"),
                    o.status,
                    &o.stdout,
                    &o.stderr
                )
            )),
            Err(e) => loud(&format!(
                "freshbox: WARNING: cannot run box.sh stop {name}: {e}\n"
            )),
        }
    }
}
