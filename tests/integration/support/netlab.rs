//! Several fresh boxes on one private network, and a real S3 object store on it, for the
//! multi-machine tests (issue 13). Drives `tests/freshbox/box.sh` (`bridge-up`, `link`,
//! `host-link`, `net-down`) and `tests/freshbox/s3.sh` (Debian's Ceph: one monitor, one
//! OSD on memstore, the RADOS gateway; up in 2-3 s once the packages are installed).
//!
//! ```ignore
//! let net = Bridge::up("mm");                        // a bridge of its own (namespace + br0)
//! let db = FreshBox::start("db");
//! net.link(&db, "10.77.0.10/24");                    // eth1 in the box, 10.77.0.10
//! let s3 = S3Store::up(&net, "10.77.0.5/24", 7480);    // http://10.77.0.5:7480 from every box on it
//! s3.mkbucket("mattermost");
//! // ... the installer on the boxes, with s3.endpoint / s3.access_key / s3.secret_key ...
//! assert!(s3.ls("mattermost").iter().any(|k| k.ends_with("/a.txt")));
//! ```
//! Dropped: the store is stopped and its state removed, then the namespaces are deleted
//! (every link into the bridge with them) — unless `FRESHBOX_KEEP=1`, or `=failed` and the
//! test panicked (then: `tests/freshbox/box.sh stop-all` removes everything).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use super::freshbox::{self, FreshBox};

/// Path of the object store script.
pub fn s3_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/freshbox/s3.sh")
}

/// Runs `bash SCRIPT ARGS...` (no stdin), whatever the exit status.
pub fn run(script: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", script.display()))
}

/// Runs `bash SCRIPT ARGS...`; panics with both outputs unless it succeeds. Its stderr
/// (the scripts' progress lines) goes to the test's captured output.
pub fn run_ok(script: &Path, args: &[&str]) -> Output {
    let out = run(script, args);
    assert!(
        out.status.success(),
        "bash {} {}: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        script.display(),
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    );
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// `PREFIXpidN`: a namespace name unique per process and call, at most 15 characters.
fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let suffix = format!(
        "{:x}{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let p: String = prefix
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(15usize.saturating_sub(suffix.len()).max(1))
        .collect();
    let mut name = format!("{p}{suffix}");
    name.truncate(15);
    name
}

/// `FRESHBOX_KEEP=1`, or `=failed` while panicking: leave things for a look.
fn keep() -> bool {
    match std::env::var("FRESHBOX_KEEP").as_deref() {
        Ok("1") => true,
        Ok("failed") => std::thread::panicking(),
        _ => false,
    }
}

/// A private Ethernet segment: network namespace `name` holding bridge `br0`.
#[derive(Debug)]
pub struct Bridge {
    name: String,
}

impl Bridge {
    /// `box.sh bridge-up` under a unique name made from `prefix`.
    pub fn up(prefix: &str) -> Bridge {
        let name = unique(prefix);
        run_ok(&freshbox::box_sh(), &["bridge-up", &name]);
        Bridge { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Box `b` joins the bridge as `eth1` with `cidr` (e.g. `10.77.0.11/24`); idempotent,
    /// and the link survives `b.reboot()`.
    pub fn link(&self, b: &FreshBox, cidr: &str) {
        run_ok(&freshbox::box_sh(), &["link", b.name(), &self.name, cidr]);
    }
}

impl Bridge {
    /// Deletes the bridge (and so every link into it) now, panicking if that fails.
    pub fn down(mut self) {
        run_ok(&freshbox::box_sh(), &["net-down", &self.name]);
        self.name.clear();
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        if keep() {
            eprintln!("netlab: FRESHBOX_KEEP: bridge {} left", self.name);
            return;
        }
        let _ = run(&freshbox::box_sh(), &["net-down", &self.name]);
    }
}

/// A real S3 object store (Ceph RGW) reachable at `endpoint` from the bridge's boxes.
#[derive(Debug)]
pub struct S3Store {
    ns: String,
    /// `http://ADDR:PORT`
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

impl S3Store {
    /// A namespace of its own on `bridge` with address `cidr` (e.g. `10.77.0.5/24`:
    /// `box.sh host-link`), the cluster in it, RGW on `http://ADDR:port`, an S3 user made.
    /// The store's namespace is removed with it.
    pub fn up(bridge: &Bridge, cidr: &str, port: u16) -> S3Store {
        let addr = cidr.split('/').next().unwrap_or(cidr);
        let ns = unique("s3");
        let mut store = S3Store {
            ns,
            endpoint: String::new(),
            access_key: String::new(),
            secret_key: String::new(),
        };
        run_ok(
            &freshbox::box_sh(),
            &["host-link", &store.ns, bridge.name(), cidr],
        );
        run_ok(&s3_sh(), &["up", &store.ns, addr, &port.to_string()]);
        let env =
            String::from_utf8_lossy(&run_ok(&s3_sh(), &["env", &store.ns]).stdout).into_owned();
        let value = |name: &str| -> String {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("s3.sh env printed no {name}"))
                .trim_matches('\'')
                .to_owned()
        };
        store.endpoint = value("S3_ENDPOINT");
        store.access_key = value("S3_ACCESS_KEY");
        store.secret_key = value("S3_SECRET_KEY");
        store
    }

    /// The host-side network namespace the store runs in.
    pub fn netns(&self) -> &str {
        &self.ns
    }

    /// Creates bucket `name` (idempotent).
    pub fn mkbucket(&self, name: &str) {
        run_ok(&s3_sh(), &["mkbucket", &self.ns, name]);
    }

    /// Every object key in `bucket`, sorted.
    pub fn ls(&self, bucket: &str) -> Vec<String> {
        String::from_utf8_lossy(&run_ok(&s3_sh(), &["ls", &self.ns, bucket]).stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Uploads host file `src` as `bucket/key`.
    pub fn put(&self, bucket: &str, key: &str, src: &Path) {
        let src = src.to_string_lossy();
        run_ok(&s3_sh(), &["put", &self.ns, bucket, key, &src]);
    }

    /// The host PIDs of the running daemons (monitor, OSD, gateway), as recorded.
    pub fn daemon_pids(&self) -> Vec<u32> {
        ["mon", "osd", "rgw"]
            .iter()
            .filter_map(|d| {
                std::fs::read_to_string(freshbox::lab_dir().join(format!("s3/{}/{d}.pid", self.ns)))
                    .ok()
            })
            .filter_map(|p| p.trim().parse().ok())
            .collect()
    }

    /// Stops the store and removes its state and namespace now, panicking if that fails.
    pub fn down(mut self) {
        run_ok(&s3_sh(), &["down", &self.ns]);
        run_ok(&freshbox::box_sh(), &["net-down", &self.ns]);
        self.ns.clear();
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        if self.ns.is_empty() {
            return;
        }
        if keep() {
            eprintln!(
                "netlab: FRESHBOX_KEEP: object store {} left (keys: {} env {})",
                self.ns,
                s3_sh().display(),
                self.ns
            );
            return;
        }
        let _ = run(&s3_sh(), &["down", &self.ns]);
        let _ = run(&freshbox::box_sh(), &["net-down", &self.ns]);
    }
}
