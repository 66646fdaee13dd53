//! The multi-machine harness itself (issue 13): two fresh boxes on a private bridge
//! (`box.sh bridge-up` / `link`) and a real S3 object store — Debian's Ceph: one monitor,
//! one OSD, the RADOS gateway — run on the host in a namespace joined to the same bridge
//! (`box.sh host-link`, `tests/freshbox/s3.sh`). Checks what the multi-box installer test
//! relies on: the boxes reach each other and the store at their bridge addresses; an
//! object uploaded from a box with the store's keys lands in the bucket; wrong keys get
//! the gateway's own 403s (`SignatureDoesNotMatch`, `InvalidAccessKeyId`); a box keeps
//! its link over a reboot and `link` again changes nothing; taking the bridge down
//! removes every link into it. No apt work in the boxes: about 30 s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use crate::support::freshbox::{self, FreshBox};

fn s3_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/freshbox/s3.sh")
}

fn run(script: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", script.display()))
}

fn run_ok(script: &Path, args: &[&str]) -> Output {
    let out = run(script, args);
    assert!(
        out.status.success(),
        "{} {args:?}: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// The bridge and the store's namespace; removed (store first) however the test ends.
struct Net {
    bridge: String,
    store: String,
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = run(&s3_sh(), &["down", &self.store]);
        let _ = run(&freshbox::box_sh(), &["net-down", &self.store]);
        let _ = run(&freshbox::box_sh(), &["net-down", &self.bridge]);
    }
}

/// `curl` in the box against the store, the keys read from a curl config file in the box
/// (never on a command line); prints the body, then `HTTP <code>`.
fn s3_curl(b: &FreshBox, conf: &str, args: &str) -> String {
    b.exec_ok(&format!(
        "curl -sS -K {conf} --aws-sigv4 aws:amz:us-east-1:s3 \
         -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -w '\\nHTTP %{{http_code}}\\n' {args}"
    ))
}

/// Puts a curl config file with `user = "KEY:SECRET"` at `dst` in the box (mode 0600).
fn put_curl_conf(b: &FreshBox, dst: &str, key: &str, secret: &str) {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "user = \"{key}:{secret}\"").unwrap();
    b.put(f.path(), dst);
}

fn env_value(env: &str, name: &str) -> String {
    let line = env
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in s3.sh env:\n{env}"));
    line.trim_matches('\'').to_owned()
}

#[test]
fn boxes_on_a_private_bridge_reach_each_other_and_a_real_s3_store() {
    let t = "boxes_on_a_private_bridge_reach_each_other_and_a_real_s3_store";
    if !freshbox::available_or_skip(t) {
        return;
    }
    let sh = freshbox::box_sh();
    let id = std::process::id();
    let net = Net {
        bridge: format!("sbr{id:x}"),
        store: format!("sst{id:x}"),
    };
    run_ok(&sh, &["bridge-up", &net.bridge]);
    run_ok(&sh, &["bridge-up", &net.bridge]); // idempotent

    let a = FreshBox::start("sbra");
    let b = FreshBox::start("sbrb");
    run_ok(&sh, &["link", a.name(), &net.bridge, "10.77.0.11/24"]);
    run_ok(&sh, &["link", b.name(), &net.bridge, "10.77.0.12/24"]);
    let bad = run(&sh, &["link", a.name(), &net.bridge, "10.77.0.300/24"]);
    assert!(
        !bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("bad address"),
        "a bad address is refused: {}",
        String::from_utf8_lossy(&bad.stderr)
    );
    a.exec_ok("ping -c1 -W3 10.77.0.12");
    b.exec_ok("ping -c1 -W3 10.77.0.11");

    // the store: on the host, in a namespace on the same bridge
    run_ok(&sh, &["host-link", &net.store, &net.bridge, "10.77.0.5/24"]);
    let t0 = Instant::now();
    run_ok(&s3_sh(), &["up", &net.store, "10.77.0.5", "7480"]);
    eprintln!("s3.sh up: {:.1}s", t0.elapsed().as_secs_f64());
    let env = String::from_utf8(run_ok(&s3_sh(), &["env", &net.store]).stdout).unwrap();
    assert_eq!(env_value(&env, "S3_ENDPOINT"), "http://10.77.0.5:7480");
    let key = env_value(&env, "S3_ACCESS_KEY");
    let secret = env_value(&env, "S3_SECRET_KEY");
    assert!(key.len() >= 16 && secret.len() >= 32, "keys: {env}");
    run_ok(&s3_sh(), &["mkbucket", &net.store, "mmtest"]);
    let empty = run_ok(&s3_sh(), &["ls", &net.store, "mmtest"]);
    assert!(empty.stdout.is_empty(), "a new bucket is empty");

    // upload from box a with the right keys: it lands in the bucket, and reads back
    put_curl_conf(&a, "/root/s3-good.curl", &key, &secret);
    let url = "http://10.77.0.5:7480/mmtest";
    let out = s3_curl(
        &a,
        "/root/s3-good.curl",
        &format!("-X PUT --data-binary 'from box a' {url}/data/20261129/a.txt"),
    );
    assert!(out.ends_with("HTTP 200\n"), "PUT with the right keys: {out}");
    let keys = run_ok(&s3_sh(), &["ls", &net.store, "mmtest"]);
    assert_eq!(String::from_utf8_lossy(&keys.stdout), "data/20261129/a.txt\n");
    let out = b.exec_ok(&format!(
        "curl -sS -w '\\nHTTP %{{http_code}}\\n' {url}/data/20261129/a.txt"
    ));
    assert!(
        out.contains("<Code>AccessDenied</Code>") && out.ends_with("HTTP 403\n"),
        "no keys: {out}"
    );
    put_curl_conf(&b, "/root/s3-good.curl", &key, &secret);
    let out = s3_curl(&b, "/root/s3-good.curl", &format!("{url}/data/20261129/a.txt"));
    assert_eq!(out, "from box a\nHTTP 200\n", "box b reads what box a wrote");

    // wrong keys: the gateway's own refusals
    put_curl_conf(&b, "/root/s3-badsecret.curl", &key, &format!("x{secret}"));
    let out = s3_curl(&b, "/root/s3-badsecret.curl", &format!("{url}/"));
    assert!(
        out.contains("<Code>SignatureDoesNotMatch</Code>") && out.ends_with("HTTP 403\n"),
        "wrong secret: {out}"
    );
    put_curl_conf(&b, "/root/s3-badkey.curl", "NOSUCHKEY0123456789X", &secret);
    let out = s3_curl(&b, "/root/s3-badkey.curl", &format!("{url}/"));
    assert!(
        out.contains("<Code>InvalidAccessKeyId</Code>") && out.ends_with("HTTP 403\n"),
        "unknown access key: {out}"
    );

    // a reboot keeps the link; linking again changes nothing
    b.reboot();
    b.exec_ok("ping -c1 -W3 10.77.0.11");
    let again = run_ok(&sh, &["link", b.name(), &net.bridge, "10.77.0.12/24"]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already"),
        "link after a reboot found the link in place: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    b.exec_ok("ping -c1 -W3 10.77.0.5");

    // down: no daemon left, namespaces and links gone
    let pids: Vec<String> = ["mon", "osd", "rgw"]
        .iter()
        .filter_map(|d| {
            std::fs::read_to_string(
                freshbox::lab_dir().join(format!("s3/{}/{d}.pid", net.store)),
            )
            .ok()
        })
        .map(|p| p.trim().to_owned())
        .collect();
    assert_eq!(pids.len(), 3, "three daemons recorded");
    run_ok(&s3_sh(), &["down", &net.store]);
    for p in &pids {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "daemon {p} still runs after down: {stat}"
        );
    }
    assert!(!freshbox::lab_dir().join("s3").join(&net.store).exists());
    run_ok(&sh, &["net-down", &net.store]);
    run_ok(&sh, &["net-down", &net.bridge]);
    assert!(!netns_exists(&net.store) && !netns_exists(&net.bridge));
    assert!(
        !a.exec("ip link show eth1").status.success(),
        "the bridge's links went with it"
    );
    a.stop();
    b.stop();
}
