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
use std::path::Path;
use std::time::Instant;

use crate::support::freshbox::{self, FreshBox};
use crate::support::netlab::{Bridge, S3Store, run, run_ok};

fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
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

#[test]
fn boxes_on_a_private_bridge_reach_each_other_and_a_real_s3_store() {
    let t = "boxes_on_a_private_bridge_reach_each_other_and_a_real_s3_store";
    if !freshbox::available_or_skip(t) {
        return;
    }
    let sh = freshbox::box_sh();
    let net = Bridge::up("sbr");
    run_ok(&sh, &["bridge-up", net.name()]); // idempotent

    let a = FreshBox::start("sbra");
    let b = FreshBox::start("sbrb");
    net.link(&a, "10.77.0.11/24");
    net.link(&b, "10.77.0.12/24");
    let bad = run(&sh, &["link", a.name(), net.name(), "10.77.0.300/24"]);
    assert!(
        !bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("bad address"),
        "a bad address is refused: {}",
        String::from_utf8_lossy(&bad.stderr)
    );
    a.exec_ok("ping -c1 -W3 10.77.0.12");
    b.exec_ok("ping -c1 -W3 10.77.0.11");

    // the store: on the host, in a namespace on the same bridge
    let t0 = Instant::now();
    let s3 = S3Store::up(&net, "10.77.0.5/24", 7480);
    eprintln!("S3Store::up: {:.1}s", t0.elapsed().as_secs_f64());
    assert_eq!(s3.endpoint, "http://10.77.0.5:7480");
    let (key, secret) = (s3.access_key.clone(), s3.secret_key.clone());
    assert!(
        key.len() >= 16 && secret.len() >= 32,
        "keys: {key} / {} chars",
        secret.len()
    );
    s3.mkbucket("mmtest");
    assert!(s3.ls("mmtest").is_empty(), "a new bucket is empty");

    // upload from box a with the right keys: it lands in the bucket, and reads back
    put_curl_conf(&a, "/root/s3-good.curl", &key, &secret);
    let url = "http://10.77.0.5:7480/mmtest";
    let out = s3_curl(
        &a,
        "/root/s3-good.curl",
        &format!("-X PUT --data-binary 'from box a' {url}/data/20261129/a.txt"),
    );
    assert!(
        out.ends_with("HTTP 200\n"),
        "PUT with the right keys: {out}"
    );
    assert_eq!(s3.ls("mmtest"), ["data/20261129/a.txt"]);
    let out = b.exec_ok(&format!(
        "curl -sS -w '\\nHTTP %{{http_code}}\\n' {url}/data/20261129/a.txt"
    ));
    assert!(
        out.contains("<Code>AccessDenied</Code>") && out.ends_with("HTTP 403\n"),
        "no keys: {out}"
    );
    put_curl_conf(&b, "/root/s3-good.curl", &key, &secret);
    let out = s3_curl(
        &b,
        "/root/s3-good.curl",
        &format!("{url}/data/20261129/a.txt"),
    );
    assert_eq!(
        out, "from box a\nHTTP 200\n",
        "box b reads what box a wrote"
    );

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
    let again = run_ok(&sh, &["link", b.name(), net.name(), "10.77.0.12/24"]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already"),
        "link after a reboot found the link in place: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    b.exec_ok("ping -c1 -W3 10.77.0.5");

    // down: no daemon left, namespaces and links gone
    let pids = s3.daemon_pids();
    assert_eq!(pids.len(), 3, "three daemons recorded");
    let (store_ns, bridge_ns) = (s3.netns().to_owned(), net.name().to_owned());
    s3.down();
    for p in &pids {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "daemon {p} still runs after down: {stat}"
        );
    }
    assert!(!freshbox::lab_dir().join("s3").join(&store_ns).exists());
    assert!(!netns_exists(&store_ns));
    net.down();
    assert!(!netns_exists(&bridge_ns));
    assert!(
        !a.exec("ip link show eth1").status.success(),
        "the bridge's links went with it"
    );
    a.stop();
    b.stop();
}
