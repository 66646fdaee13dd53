//! The tarball download through the real binary on a fresh box, from a mirror that
//! misbehaves on purpose (a small Python server, run in the box's network namespace):
//! 0. it does not have the version (404): the run stops before apt installs anything;
//! 1. every connection is cut at 40 %: the retries show, the failure is said while apt
//!    still runs, the run stops right after apt — no database — and says what apt
//!    installed and the way out;
//! 2. the mirror stalls half way: SIGINT ends the run at once and the `.part` stays;
//! 3. it stalls again: the next run hashes the `.part`, asks for the rest with `Range`,
//!    gives up on the stall after the (test-lowered) read timeout, resumes and completes.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::freshbox_install::{MIRROR_PORT, answers, check_installed, text, write_answers};
use crate::support::freshbox::{self, FreshBox};
use crate::support::mirror::{self, V11};

/// The misbehaving mirror. The mode file says what the next request gets:
/// `cut` (Range ignored, 40 % sent, connection closed), `stall-once` (Range honoured,
/// half of the rest sent, then 180 s of silence; the mode becomes `ok`), `ok`.
const MIRROR_PY: &str = r#"
import http.server, os, re, sys, time
root, port, modefile, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def log(s):
    with open(logfile, "a") as f:
        f.write(s + "\n")

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        with open(modefile) as f:
            mode = f.read().strip()
        rng = self.headers.get("Range")
        log(f"GET {self.path} range={rng} mode={mode}")
        try:
            with open(os.path.join(root, self.path.lstrip("/")), "rb") as f:
                data = f.read()
        except OSError:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            return
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        start = int(m.group(1)) if m and mode != "cut" else 0
        body = data[start:]
        if start:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if mode == "cut":
            self.wfile.write(body[: len(body) * 2 // 5])
            self.wfile.flush()
            log(f"cut after {len(body) * 2 // 5}")
            return
        if mode == "stall-once":
            with open(modefile, "w") as f:
                f.write("ok")
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            log(f"stalling after {start + len(body) // 2}")
            time.sleep(180)
            return
        self.wfile.write(body)

http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

struct BadMirror {
    child: Child,
    dir: tempfile::TempDir,
}

impl BadMirror {
    fn start(b: &FreshBox) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mirror.py"), MIRROR_PY).unwrap();
        std::fs::write(dir.path().join("mode"), "ok").unwrap();
        let python = if std::path::Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", b.name()))
            .arg("--")
            .arg(python)
            .arg(dir.path().join("mirror.py"))
            .arg(&mirror::mirror().dir)
            .arg(MIRROR_PORT.to_string())
            .arg(dir.path().join("mode"))
            .arg(dir.path().join("requests.log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("start the mirror");
        let m = Self { child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !b
            .exec(&format!("exec 3<>/dev/tcp/127.0.0.1/{MIRROR_PORT}"))
            .status
            .success()
        {
            assert!(Instant::now() < deadline, "the test mirror did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        m
    }

    fn mode(&self, mode: &str) {
        std::fs::write(self.dir.path().join("mode"), mode).unwrap();
    }

    fn requests(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("requests.log")).unwrap_or_default()
    }
}

impl Drop for BadMirror {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn part_size(b: &FreshBox) -> Option<u64> {
    b.exec_ok(&format!(
        "stat -c %s /var/cache/mattermost-setup/mattermost-{V11}-linux-amd64.tar.gz.part 2>/dev/null || true"
    ))
        .trim()
        .parse()
        .ok()
}

fn last_log(b: &FreshBox) -> String {
    b.exec_ok("cat $(ls -t /var/log/mattermost-setup/*.log | head -1)")
}

#[test]
fn download_from_a_misbehaving_mirror() {
    if !freshbox::available_or_skip("download_from_a_misbehaving_mirror") {
        return;
    }
    let m = mirror::mirror();
    let b = FreshBox::start("fdl");
    b.put(&mirror::installer(), "/usr/local/bin/mattermost-setup");
    let bad = BadMirror::start(&b);
    let install = "MATTERMOST_SETUP_READ_TIMEOUT=2 mattermost-setup install --answers /root/answers.json --yes";

    // 0. A version the mirror does not have: the 404 arrives during `apt-get update`,
    //    and apt installs nothing after it.
    write_answers(
        &b,
        &answers("postgresql", "11.7.91", "enterprise", &"0".repeat(64)),
    );
    let out = b.exec(install);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("HTTP 404"), "{t}");
    assert!(t.contains("No package was installed"), "{t}");
    assert!(
        !b.exec("dpkg -s postgresql apache2 >/dev/null 2>&1")
            .status
            .success(),
        "apt installed packages after the download had failed"
    );
    assert_eq!(
        bad.requests().matches("GET ").count(),
        1,
        "a 404 is not retried"
    );
    assert_eq!(
        b.exec_ok("ls -A /var/cache/mattermost-setup 2>/dev/null | wc -l")
            .trim(),
        "0",
        "nothing left in the cache"
    );
    // The box's lists date from its image: this run refreshed them.
    let log = last_log(&b);
    assert!(
        log.contains("refreshing the package lists (apt-get update)"),
        "{log}"
    );

    write_answers(
        &b,
        &answers(
            "postgresql",
            V11,
            "enterprise",
            &m.sha256(V11, "enterprise"),
        ),
    );

    // 1. Every connection cut: 5 attempts, then a stop before anything but apt.
    bad.mode("cut");
    let started = Instant::now();
    let out = b.exec(install);
    eprintln!("cut mirror: failed in {:?}", started.elapsed());
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert_eq!(
        bad.requests().matches("GET /11.7.90/").count(),
        5,
        "{}",
        bad.requests()
    );
    assert_eq!(t.matches("↻ mattermost: download of").count(), 4, "{t}");
    assert!(t.contains("the connection closed after"), "{t}");
    assert!(
        t.contains("end of file before message length reached"),
        "{t}"
    );
    assert!(t.contains("gave up after 5 attempts"), "{t}");
    assert!(
        t.contains("download_base_url") && t.contains("tarball"),
        "the way out: {t}"
    );
    // Said while apt was still at work, not after it.
    let warned = t
        .find("! warning: the Mattermost download failed")
        .unwrap_or_else(|| panic!("no early warning: {t}"));
    let apt_done = t
        .find("✓ packages")
        .unwrap_or_else(|| panic!("apt did not finish: {t}"));
    assert!(warned < apt_done, "the failure waited for apt: {t}");
    assert!(
        t.contains("this run installed these packages with apt") && t.contains("postgresql"),
        "says what was installed: {t}"
    );
    assert!(!t.contains("nothing was installed"), "{t}");
    assert!(!t.contains("… database"), "the database phase started: {t}");
    assert_eq!(
        b.exec_ok(
            "runuser -u postgres -- psql -Atc \"select count(*) from pg_roles where rolname='mmuser'\""
        )
        .trim(),
        "0",
        "database work ran after the failed download"
    );
    assert!(
        part_size(&b).is_some_and(|s| s > 0),
        "the received bytes are kept"
    );
    // The lists run 0 refreshed a moment ago are used as they are: no second
    // `apt-get update` (phases::packages::FRESH_LISTS), and apt still installed.
    let log = last_log(&b);
    assert!(log.contains("s ago: no apt-get update"), "{log}");
    assert!(!log.contains("refreshing the package lists"), "{log}");

    // 2. A stall half way; SIGINT ends the run at once, the .part stays.
    bad.mode("stall-once");
    let mut run = b.spawn(install);
    let deadline = Instant::now() + Duration::from_secs(120);
    let stalled_at: u64 = loop {
        if let Some(n) = bad
            .requests()
            .lines()
            .filter_map(|l| l.strip_prefix("stalling after "))
            .next_back()
            .and_then(|n| n.parse().ok())
        {
            if part_size(&b) == Some(n) {
                break n;
            }
        }
        assert!(Instant::now() < deadline, "no stall: {}", bad.requests());
        std::thread::sleep(Duration::from_millis(100));
    };
    // comm is cut at 15 characters.
    let pid = b.exec_ok(
        "for p in /proc/[0-9]*; do [ \"$(cat $p/comm 2>/dev/null)\" = mattermost-setu ] && echo ${p#/proc/}; done; true",
    );
    assert_eq!(pid.lines().count(), 1, "installer pids: {pid}");
    let sent = Instant::now();
    b.exec_ok(&format!("kill -INT {}", pid.trim()));
    loop {
        if run.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "still running 2 s after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(run.stderr.as_mut().unwrap(), &mut err);
    eprintln!("stopped {:?} after SIGINT; {err}", sent.elapsed());
    assert_eq!(part_size(&b), Some(stalled_at));

    // 3. The next run resumes from the .part; a stall costs one read timeout.
    bad.mode("stall-once");
    let before = bad.requests().lines().count();
    let started = Instant::now();
    let out = b.exec(install);
    let took = started.elapsed();
    eprintln!("stalling mirror: resumed and installed in {took:?}");
    let t = text(&out);
    assert!(
        out.status.success(),
        "{t}\n{}\n{}",
        bad.requests(),
        last_log(&b)
    );
    let requests: Vec<String> = bad
        .requests()
        .lines()
        .skip(before)
        .filter(|l| l.starts_with("GET "))
        .map(str::to_owned)
        .collect();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests[0].contains(&format!("range=bytes={stalled_at}-")),
        "{requests:?}"
    );
    assert!(t.contains("↻ mattermost: download of"), "{t}");
    let log = last_log(&b);
    assert!(log.contains("interrupted: no data for 2s"), "{log}");
    assert!(log.contains("resuming the download at byte"), "{log}");
    assert!(
        took < Duration::from_secs(170),
        "bounded by the read timeout, not the 180 s stall: {took:?}"
    );
    check_installed(&b, "postgresql", V11);
    assert_eq!(part_size(&b), None);
}
