//! A release the bundled table does not list, installed with no `sha256` answer:
//! verified by its GPG signature (issue 11). The test makes two keys with real gpg —
//! the "release" key, whose fingerprint it pins (as Mattermost's is pinned in the
//! binary), and an "intruder" key — signs the stand-in tarball with the release key,
//! and serves tarball, `.sig` and public keys from the box's mirror. One box:
//! c) the key server answers with the intruder's key: refused, nothing installed;
//! b) the tarball on the mirror is tampered with: gpgv says BAD, refused, nothing
//!    installed, nothing left in the cache;
//! a) the real tarball: installed; the log says which key verified it, and the
//!    release record keeps the verified file's SHA-256.

use std::path::Path;
use std::process::Command;

use crate::freshbox_install::{DOMAIN, MIRROR_PORT, check_installed, text, write_answers};
use crate::support::freshbox::{self, FreshBox};
use crate::support::mirror::{self, V11};

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/test-signing-key.sh")
}

/// A key made by gpg in `dir/name`; its fingerprint.
fn new_key(dir: &Path, name: &str) -> String {
    let out = Command::new("bash")
        .arg(script())
        .args(["new"])
        .arg(dir.join(name))
        .arg(format!("{name} <{name}@example.invalid>"))
        .arg("rsa2048")
        .output()
        .expect("run test-signing-key.sh (needs gpg: apt-get install gnupg)");
    assert!(
        out.status.success(),
        "test-signing-key.sh new: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// What shows that nothing of Mattermost was installed, and nothing kept.
fn assert_nothing_installed(b: &FreshBox, t: &str) {
    assert_eq!(
        b.exec_ok(
            "ls -A /opt/mattermost /opt/.mattermost.mattermost-setup-staging 2>/dev/null | grep -v ':$' | grep -c . || true"
        )
        .trim(),
        "0",
        "files in the install directory or staging: {t}"
    );
    assert!(
        !b.exec("test -e /var/lib/mattermost-setup/release.json")
            .status
            .success(),
        "{t}"
    );
    assert!(
        !b.exec("test -e /etc/systemd/system/mattermost.service")
            .status
            .success(),
        "{t}"
    );
    assert_eq!(
        b.exec_ok("ls -A /var/cache/mattermost-setup 2>/dev/null | wc -l")
            .trim(),
        "0",
        "no tarball, .part or gpgv directory left in the cache: {}",
        b.exec_ok("ls -la /var/cache/mattermost-setup 2>&1 || true")
    );
}

#[test]
fn unlisted_release_is_verified_by_its_gpg_signature() {
    if !freshbox::available_or_skip("unlisted_release_is_verified_by_its_gpg_signature") {
        return;
    }
    let m = mirror::mirror();
    let keys = tempfile::tempdir().unwrap();
    let good = new_key(keys.path(), "release");
    let intruder = new_key(keys.path(), "intruder");
    assert_ne!(good, intruder);

    // The box's mirror: the stand-in 11.7.90 (not in the table), its .sig, both keys.
    let served = tempfile::tempdir().unwrap();
    let name = format!("mattermost-{V11}-linux-amd64.tar.gz");
    let original = m.dir.join(V11).join(&name);
    std::fs::create_dir_all(served.path().join(V11)).unwrap();
    let tarball = served.path().join(V11).join(&name);
    std::fs::copy(&original, &tarball).unwrap();
    let out = Command::new("bash")
        .arg(script())
        .arg("sign")
        .arg(keys.path().join("release"))
        .arg(&tarball)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for who in ["release", "intruder"] {
        std::fs::copy(
            keys.path().join(who).join("public.asc"),
            served.path().join(format!("{who}.asc")),
        )
        .unwrap();
    }

    let b = FreshBox::start("gsig");
    b.put(&mirror::installer(), "/usr/local/bin/mattermost-setup");
    b.serve(served.path(), MIRROR_PORT);
    let answers = serde_json::json!({
        "domain": DOMAIN,
        "db_engine": "postgresql",
        "db_password": "a-Good-password-9",
        "edition": "enterprise",
        "version": V11,
        "download_base_url": format!("http://127.0.0.1:{MIRROR_PORT}"),
    });
    write_answers(&b, &answers.to_string());
    let install = |key: &str| {
        b.exec(&format!(
            "MATTERMOST_SETUP_SIGNING_KEY_URL=http://127.0.0.1:{MIRROR_PORT}/{key}.asc \
             MATTERMOST_SETUP_SIGNING_FINGERPRINT={good} \
             mattermost-setup install --answers /root/answers.json --yes"
        ))
    };

    // The plan says how the tarball will be checked.
    let plan = b.exec_ok(&format!(
        "MATTERMOST_SETUP_SIGNING_FINGERPRINT={good} mattermost-setup plan --answers /root/answers.json"
    ));
    assert!(
        plan.contains(&format!(
            "no published SHA-256: verified by gpgv with its .sig and Mattermost's key {good}"
        )),
        "{plan}"
    );

    // c) The key server answers with a key of another fingerprint.
    let out = install("intruder");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "is not Mattermost's signing key: its fingerprint is {intruder}, the pinned fingerprint is {good}"
        )),
        "{t}"
    );
    assert!(
        t.contains("the pinned signing-key fingerprint is overridden"),
        "the override is loud: {t}"
    );
    assert!(
        t.contains("No package was installed"),
        "stopped before apt installed anything: {t}"
    );
    assert_nothing_installed(&b, &t);
    eprintln!("refused as it should be:\n{t}");

    // b) The tarball on the mirror is not the one that was signed.
    let mut bytes = std::fs::read(&original).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&tarball, &bytes).unwrap();
    let out = install("release");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "gpgv says BAD signature: the download of http://127.0.0.1:{MIRROR_PORT}/{V11}/{name} is not the file Mattermost signed"
        )),
        "{t}"
    );
    assert!(
        t.contains("the tarball was deleted and nothing was unpacked"),
        "the way out: {t}"
    );
    assert!(t.contains("sha256"), "names the override: {t}");
    assert_nothing_installed(&b, &t);
    eprintln!("refused as it should be:\n{t}");

    // a) The signed tarball: installed, with no sha256 anywhere in the answers.
    std::fs::copy(&original, &tarball).unwrap();
    let out = install("release");
    let t = text(&out);
    assert!(
        out.status.success(),
        "{t}\n{}",
        b.exec_ok("cat $(ls -t /var/log/mattermost-setup/*.log | head -1)")
    );
    let log = b.exec_ok("cat $(ls -t /var/log/mattermost-setup/*.log | head -1)");
    assert!(
        log.contains(&format!("has the pinned fingerprint {good}")),
        "{log}"
    );
    assert!(
        log.contains(&format!("/{V11}/{name}.sig by Mattermost's subkey"))
            && log.contains(&format!("of key {good} (SHA-")),
        "the log says which key verified it: {log}"
    );
    check_installed(&b, "postgresql", V11);
    let record: serde_json::Value =
        serde_json::from_str(&b.exec_ok("cat /var/lib/mattermost-setup/release.json")).unwrap();
    assert_eq!(record["sha256"], m.sha256(V11, "enterprise"), "{record}");
    assert_eq!(record["version"], V11);
    b.stop();
}
