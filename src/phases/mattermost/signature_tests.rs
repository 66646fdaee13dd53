//! The fingerprint computation against a fixed key and against real gpg; gpgv's
//! status lines as gpgv 2.2 writes them; and the whole signature check with real
//! gpg-made keys and gpgv, against a small HTTP server on 127.0.0.1.
#![allow(clippy::cast_possible_truncation)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::host::{RunLog, SystemRunner};
use crate::phases::PhaseError;
use crate::phases::mattermost::fetch::fetch_with;

/// An ed25519 key with a signing subkey, exported by gpg 2.2.40
/// (`gpg --armor --export`); `gpg --with-colons --list-keys` printed:
/// pub fpr B5F8A3ED292C5914F978A2820F0B9A49D795D79C,
/// sub fpr C84A4008B76027F8449EF15E84C902D7F33B7921.
const FIXTURE_KEY: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEawu/chYJKwYBBAHaRw8BAQdA/MSDnpKJag7Fpp4a8Q7Z4IhmDn5NmPnrzn5g
THkeo3a0MG1hdHRlcm1vc3Qtc2V0dXAgdGVzdCBrZXkgPHRlc3RAZXhhbXBsZS5p
bnZhbGlkPoiQBBMWCAA4FiEEtfij7SksWRT5eKKCDwuaSdeV15wFAmsLv3ICGwMF
CwkIBwIGFQoJCAsCBBYCAwECHgECF4AACgkQDwuaSdeV15x9xQD/YdQ35fePcNXi
XAU6ZBVd4GZWNU6Ly2ZP5bSMFYQPOxEA/3CAH1fi9AkuKdbXCAxr0+ts24noKDKV
ukVAIjxaH98EuDMEawu/chYJKwYBBAHaRw8BAQdApi7QTNybqd8cwFbc3QlTvJAX
eyBVKBw6SGW6QyvlzvSI7wQYFggAIBYhBLX4o+0pLFkU+Xiigg8LmknXldecBQJr
C79yAhsCAIEJEA8LmknXldecdiAEGRYIAB0WIQTISkAIt2An+ESe8V6EyQLX8zt5
IQUCawu/cgAKCRCEyQLX8zt5IYTyAQCruyPcs7eQcwWe7FzN8ge8oLvunUwG1JCQ
LRHby4XW1QEAz96isNRStp0iI0lGwiRL7+DmrzpA2MNwyl8NzucjHwxiVQD/cRT/
k0LmQlss/FY+HCj6RBBU4wjJ3Nes0ZeBVMTBFEkBAPLSqj7fv2OTFBHjlygplQmj
Xh+LAdgwXOZkNztVl/IG
=s3NR
-----END PGP PUBLIC KEY BLOCK-----
";
const FIXTURE_FPR: &str = "B5F8A3ED292C5914F978A2820F0B9A49D795D79C";
const FIXTURE_SUB: &str = "C84A4008B76027F8449EF15E84C902D7F33B7921";

#[test]
fn fingerprint_of_a_fixed_key_armored_and_binary() {
    let keys = public_keys(FIXTURE_KEY.as_bytes()).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].fingerprint, FIXTURE_FPR);
    assert_eq!(keys[0].subkeys, [FIXTURE_SUB]);
    // The binary form (what `gpg --dearmor` makes) gives the same, and the packets
    // kept for the keyring are the whole key.
    let binary = dearmor(FIXTURE_KEY.as_bytes()).unwrap();
    assert_eq!(binary[0], 0x98, "old-format public-key packet");
    let again = public_keys(&binary).unwrap();
    assert_eq!(again, keys);
    assert_eq!(keys[0].packets, binary);
    // With an armor header and CRLF line ends, as some servers send it.
    let with_header = FIXTURE_KEY
        .replacen('\n', "\nComment: served by a mirror\n", 1)
        .replace('\n', "\r\n");
    assert_eq!(public_keys(with_header.as_bytes()).unwrap(), keys);
}

#[test]
fn several_keys_in_one_file_are_told_apart() {
    let binary = dearmor(FIXTURE_KEY.as_bytes()).unwrap();
    // Two copies of the same key, one armored block after another: two keys, each
    // with its own packets.
    let two = format!("{FIXTURE_KEY}{FIXTURE_KEY}");
    let keys = public_keys(two.as_bytes()).unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.packets == binary));
    // A trust packet (tag 12, old format) between them is dropped.
    let mut with_trust = binary.clone();
    with_trust.extend_from_slice(&[0xb0, 0x02, 0x00, 0x00]);
    with_trust.extend_from_slice(&binary);
    let keys = public_keys(&with_trust).unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].packets, binary);
}

#[test]
fn damaged_or_foreign_key_files_are_refused() {
    // One base64 character changed: the armor checksum catches it.
    let damaged = FIXTURE_KEY.replacen("mDMEawu", "mDMEawv", 1);
    let e = public_keys(damaged.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("checksum"), "{e}");
    for (file, why) in [
        (
            &b"<html>Not found</html>"[..],
            "no \"BEGIN PGP PUBLIC KEY BLOCK\"",
        ),
        (&[0x99, 0x00, 0x10, 0x04][..], "runs past the end"),
        (&[0x95, 0x00, 0x01, 0x04][..], "secret key"),
        (&[0xb4, 0x01, 0x41][..], "starts with a packet of type 13"),
        (&[0x98, 0x02, 0x03, 0x00][..], "version 3 key"),
        (&[0x9b, 0x00][..], "indeterminate length"),
    ] {
        let e = public_keys(file).unwrap_err().to_string();
        assert!(e.contains(why), "{file:?}: {e}");
    }
    let truncated = FIXTURE_KEY.replace("-----END PGP PUBLIC KEY BLOCK-----\n", "");
    assert!(public_keys(truncated.as_bytes()).is_err());
}

#[test]
fn new_format_lengths_are_read() {
    // RFC 4880 §4.2.2: one-octet (< 192), two-octet (192..8383), five-octet.
    let body = |n: usize| {
        let mut b = vec![4u8];
        b.resize(n, 0x55);
        b
    };
    for n in [100usize, 1000, 70000] {
        let mut packet = vec![0xc6u8];
        if n < 192 {
            packet.push(n as u8);
        } else if n < 8384 {
            let m = n - 192;
            packet.extend_from_slice(&[((m >> 8) + 192) as u8, (m & 0xff) as u8]);
        } else {
            packet.push(255);
            packet.extend_from_slice(&(n as u32).to_be_bytes());
        }
        packet.extend_from_slice(&body(n));
        match public_keys(&packet) {
            Ok(keys) => {
                assert!(n <= 0xffff, "{n}");
                assert_eq!(keys[0].fingerprint, v4_fingerprint(&body(n)).unwrap());
                assert_eq!(keys[0].packets, packet);
            }
            Err(e) => {
                assert!(n > 0xffff, "{n}: {e}");
                assert!(e.to_string().contains("over 64 KiB"), "{e}");
            }
        }
    }
}

#[test]
fn fingerprint_input_is_0x99_length_body() {
    // The fixture's primary key packet body, hashed by hand as §12.2 says.
    let binary = dearmor(FIXTURE_KEY.as_bytes()).unwrap();
    let len = usize::from(binary[1]);
    let body = &binary[2..2 + len];
    let mut input = vec![0x99, 0, binary[1]];
    input.extend_from_slice(body);
    let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &input);
    assert_eq!(upper_hex(sha1.as_ref()), FIXTURE_FPR);
    assert_eq!(v4_fingerprint(body).unwrap(), FIXTURE_FPR);
    assert_eq!(
        normalize_fingerprint("b5f8 a3ed 292c 5914 f978  a282 0f0b 9a49 d795 d79c"),
        FIXTURE_FPR
    );
}

// gpgv 2.2.40's --status-fd lines for a signature by the fixture's subkey.
const GOOD_BY_SUBKEY: &str = "[GNUPG:] NEWSIG
[GNUPG:] KEY_CONSIDERED B5F8A3ED292C5914F978A2820F0B9A49D795D79C 0
[GNUPG:] SIG_ID sRKwcY3x0iF+Bbx5ewKEhKXIWm0 2026-11-29 1795932024
[GNUPG:] KEY_CONSIDERED B5F8A3ED292C5914F978A2820F0B9A49D795D79C 0
[GNUPG:] GOODSIG 84C902D7F33B7921 mattermost-setup test key <test@example.invalid>
[GNUPG:] VALIDSIG C84A4008B76027F8449EF15E84C902D7F33B7921 2026-11-29 1795932024 0 4 0 22 8 00 B5F8A3ED292C5914F978A2820F0B9A49D795D79C
";
const BAD: &str = "[GNUPG:] NEWSIG
[GNUPG:] KEY_CONSIDERED B5F8A3ED292C5914F978A2820F0B9A49D795D79C 0
[GNUPG:] KEY_CONSIDERED B5F8A3ED292C5914F978A2820F0B9A49D795D79C 0
[GNUPG:] BADSIG 84C902D7F33B7921 mattermost-setup test key <test@example.invalid>
";
const NO_KEY: &str = "[GNUPG:] NEWSIG
[GNUPG:] ERRSIG 84C902D7F33B7921 22 8 00 1795932024 9 C84A4008B76027F8449EF15E84C902D7F33B7921
[GNUPG:] NO_PUBKEY 84C902D7F33B7921
";
const GOOD_BY_PRIMARY: &str = "[GNUPG:] NEWSIG
[GNUPG:] GOODSIG 0F0B9A49D795D79C mattermost-setup test key <test@example.invalid>
[GNUPG:] VALIDSIG B5F8A3ED292C5914F978A2820F0B9A49D795D79C 2026-11-29 1795932024 0 4 0 22 10 00 B5F8A3ED292C5914F978A2820F0B9A49D795D79C
";

#[test]
fn gpgv_status_lines_are_judged_against_the_pinned_key() {
    assert_eq!(
        judge(GOOD_BY_SUBKEY, FIXTURE_FPR),
        Verdict::Good {
            signer: FIXTURE_SUB.into(),
            hash: "SHA-256".into()
        }
    );
    assert_eq!(
        judge(GOOD_BY_PRIMARY, FIXTURE_FPR),
        Verdict::Good {
            signer: FIXTURE_FPR.into(),
            hash: "SHA-512".into()
        }
    );
    // The same good signature, but another key is pinned.
    let pinned = crate::releases::SIGNING_FINGERPRINT;
    assert_eq!(
        judge(GOOD_BY_SUBKEY, pinned),
        Verdict::OtherKey(FIXTURE_FPR.into())
    );
    // A subkey's fingerprint is not the pinned primary's.
    assert_eq!(
        judge(GOOD_BY_SUBKEY, FIXTURE_SUB),
        Verdict::OtherKey(FIXTURE_FPR.into())
    );
    assert_eq!(judge(BAD, FIXTURE_FPR), Verdict::Bad);
    match judge(NO_KEY, FIXTURE_FPR) {
        Verdict::Unusable(why) => assert!(why.contains("84C902D7F33B7921"), "{why}"),
        v => panic!("{v:?}"),
    }
    // VALIDSIG without GOODSIG (an expired key says EXPKEYSIG instead): refused.
    let expired = GOOD_BY_SUBKEY.replace("GOODSIG 84C902D7F33B7921", "EXPKEYSIG 84C902D7F33B7921");
    match judge(&expired, FIXTURE_FPR) {
        Verdict::Unusable(why) => assert!(why.contains("expired"), "{why}"),
        v => panic!("{v:?}"),
    }
    let revoked = GOOD_BY_SUBKEY.replace("GOODSIG", "REVKEYSIG");
    assert!(matches!(judge(&revoked, FIXTURE_FPR), Verdict::Unusable(_)));
    // One bad signature among good ones spoils the file.
    assert_eq!(
        judge(&format!("{GOOD_BY_SUBKEY}{BAD}"), FIXTURE_FPR),
        Verdict::Bad
    );
    // GOODSIG alone, or nothing at all (NODATA), or lines that only look alike.
    let goodsig_only: String = GOOD_BY_SUBKEY
        .lines()
        .filter(|l| !l.contains("VALIDSIG"))
        .fold(String::new(), |mut s, l| {
            s.push_str(l);
            s.push('\n');
            s
        });
    for status in [
        goodsig_only.as_str(),
        "[GNUPG:] NODATA 1\n[GNUPG:] NODATA 2\n",
        "",
        "gpgv: [GNUPG:] GOODSIG x\n",
        &GOOD_BY_SUBKEY.replace("[GNUPG:] ", "[GNUPG:]"),
    ] {
        assert_eq!(judge(status, FIXTURE_FPR), Verdict::NoSignature, "{status}");
    }
}

// ---------------------------------------------------------------------------
// With real gpg and gpgv.
// ---------------------------------------------------------------------------

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/test-signing-key.sh")
}

/// Whether gpg and gpgv are here; a loud skip otherwise, a failure in CI.
fn have_gpg(test: &str) -> bool {
    let ok = ["gpg", "gpgv"].iter().all(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            std::env::var_os("FRESHBOX_REQUIRED").is_none(),
            "gpg or gpgv is missing (FRESHBOX_REQUIRED=1: no skipping; apt-get install gnupg)"
        );
        eprintln!("SKIPPED {test}: gpg/gpgv are not installed (apt-get install gnupg)");
    }
    ok
}

/// A key made by gpg in `dir/name`; returns its fingerprint.
fn new_key(dir: &Path, name: &str, algo: &str) -> String {
    let out = Command::new("bash")
        .arg(script())
        .arg("new")
        .arg(dir.join(name))
        .arg(format!("{name} <{name}@example.invalid>"))
        .arg(algo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn sign(dir: &Path, name: &str, file: &Path, sig: &Path) {
    let out = Command::new("bash")
        .arg(script())
        .arg("sign")
        .arg(dir.join(name))
        .arg(file)
        .arg(sig)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Primary and subkey fingerprints as gpg itself computes them.
fn gpg_fingerprints(key_file: &Path) -> Vec<(String, String)> {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new("gpg")
        .arg("--homedir")
        .arg(home.path())
        .args(["--batch", "--with-colons", "--show-keys"])
        .arg(key_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut kind = String::new();
    let mut found = Vec::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split(':').collect();
        match f[0] {
            "pub" | "sub" => kind = f[0].to_owned(),
            "fpr" if !kind.is_empty() => {
                found.push((kind.clone(), f[9].to_owned()));
                kind.clear();
            }
            _ => {}
        }
    }
    found
}

#[test]
fn fingerprints_agree_with_gpg_for_keys_gpg_makes() {
    if !have_gpg("fingerprints_agree_with_gpg_for_keys_gpg_makes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // An RSA 2048 key, like Mattermost's, and an ed25519 one; both in one file too.
    let rsa = new_key(dir.path(), "rsa", "rsa2048");
    let ed = new_key(dir.path(), "ed", "ed25519");
    let both = dir.path().join("both.asc");
    let mut text = std::fs::read_to_string(dir.path().join("rsa/public.asc")).unwrap();
    text.push_str(&std::fs::read_to_string(dir.path().join("ed/public.asc")).unwrap());
    std::fs::write(&both, text).unwrap();
    for (file, primaries) in [
        (dir.path().join("rsa/public.gpg"), vec![rsa.clone()]),
        (dir.path().join("rsa/public.asc"), vec![rsa.clone()]),
        (dir.path().join("ed/public.asc"), vec![ed.clone()]),
        (both.clone(), vec![rsa.clone(), ed.clone()]),
    ] {
        let ours = public_keys(&std::fs::read(&file).unwrap()).unwrap();
        let theirs = gpg_fingerprints(&file);
        let mut flat = Vec::new();
        for k in &ours {
            flat.push(("pub".to_owned(), k.fingerprint.clone()));
            flat.extend(k.subkeys.iter().map(|s| ("sub".to_owned(), s.clone())));
        }
        assert_eq!(flat, theirs, "{}", file.display());
        assert_eq!(
            ours.iter()
                .map(|k| k.fingerprint.clone())
                .collect::<Vec<_>>(),
            primaries
        );
    }
    // A real multi-key keyring of the system, when there is one.
    let debian = Path::new("/usr/share/keyrings/debian-archive-keyring.gpg");
    if debian.exists() {
        let ours = public_keys(&std::fs::read(debian).unwrap()).unwrap();
        let theirs: Vec<String> = gpg_fingerprints(debian)
            .into_iter()
            .filter(|(k, _)| k == "pub")
            .map(|(_, f)| f)
            .collect();
        assert!(theirs.len() > 1);
        assert_eq!(
            ours.iter()
                .map(|k| k.fingerprint.clone())
                .collect::<Vec<_>>(),
            theirs
        );
    }
}

/// Serves `files` (path → bytes) on 127.0.0.1; records every requested path.
struct Server {
    base: String,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let (f, r) = (files.clone(), requests.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).unwrap_or(0) == 0 || l.trim().is_empty() {
                        break;
                    }
                }
                let path = first.split_whitespace().nth(1).unwrap_or("/").to_owned();
                r.lock().unwrap().push(path.clone());
                let body = f.lock().unwrap().get(&path).cloned();
                let head = match &body {
                    Some(b) => format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        b.len()
                    ),
                    None => {
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .into()
                    }
                };
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(body.as_deref().unwrap_or_default());
            }
        });
        Self {
            base,
            files,
            requests,
        }
    }

    fn put(&self, path: &str, bytes: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_owned(), bytes);
    }

    fn requested(&self) -> Vec<String> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

fn host(dir: &Path) -> (Host, Arc<Mutex<Vec<Event>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let rec = events.clone();
    let host = Host::new(
        dir.to_owned(),
        RunLog::create(&dir.join("log")),
        Arc::new(move |e| rec.lock().unwrap().push(e)),
        Box::new(SystemRunner),
    );
    (host, events)
}

fn quick() -> Tuning {
    Tuning {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        attempts: 2,
        backoff: Duration::from_millis(10),
    }
}

fn signed_release(url: &str, key: SigningKey) -> ReleasePlan {
    ReleasePlan {
        version: "11.99.1".parse().unwrap(),
        edition: "enterprise",
        source: Source::Url(url.to_owned()),
        sha256: String::new(),
        sha256_from: "GPG signature",
        signature: Some(key),
    }
}

/// The whole check with real gpg keys and gpgv: refusals (each naming what failed,
/// nothing left in the cache) and then the verified download.
#[test]
fn tarballs_are_verified_by_gpgv_with_the_pinned_key_only() {
    if !have_gpg("tarballs_are_verified_by_gpgv_with_the_pinned_key_only") {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let good = new_key(keys.path(), "release", "ed25519");
    let other = new_key(keys.path(), "intruder", "ed25519");
    let tarball: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = keys.path().join("mattermost-11.99.1-linux-amd64.tar.gz");
    std::fs::write(&file, &tarball).unwrap();
    let sig = keys.path().join("good.sig");
    sign(keys.path(), "release", &file, &sig);
    let intruder_sig = keys.path().join("intruder.sig");
    sign(keys.path(), "intruder", &file, &intruder_sig);

    let server = Server::start();
    let tar_path = "/11.99.1/mattermost-11.99.1-linux-amd64.tar.gz";
    let url = format!("{}{tar_path}", server.base);
    let sig_path = format!("{tar_path}.sig");
    server.put(tar_path, tarball.clone());
    server.put(&sig_path, std::fs::read(&sig).unwrap());
    server.put(
        "/release.asc",
        std::fs::read(keys.path().join("release/public.asc")).unwrap(),
    );
    server.put(
        "/intruder.gpg",
        std::fs::read(keys.path().join("intruder/public.gpg")).unwrap(),
    );
    // The key file holds the intruder's key first, then the release key: only the
    // pinned one goes into gpgv's keyring.
    let mut both = std::fs::read(keys.path().join("intruder/public.gpg")).unwrap();
    both.extend(std::fs::read(keys.path().join("release/public.gpg")).unwrap());
    server.put("/both.gpg", both);
    let key = |path: &str| SigningKey {
        key_url: format!("{}{path}", server.base),
        fingerprint: good.clone(),
        fingerprint_overridden: true,
        keyring: None,
    };

    let root = tempfile::tempdir().unwrap();
    let (host, events) = host(root.path());
    let cache = root.path().join(fetch::CACHE_DIR.trim_start_matches('/'));
    let cache_is_empty = || {
        std::fs::read_dir(&cache)
            .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let run = |k: SigningKey| {
        fetch_with(
            &host,
            &signed_release(&url, k),
            &Cancel::default(),
            &quick(),
        )
    };

    // c) A key with another fingerprint: refused before the tarball is downloaded.
    let e = run(key("/intruder.gpg")).unwrap_err().to_string();
    assert!(e.contains(&format!("its fingerprint is {other}")), "{e}");
    assert!(
        e.contains(&format!("the pinned fingerprint is {good}")),
        "{e}"
    );
    assert_eq!(server.requested(), ["/intruder.gpg"]);
    assert_eq!(cache_is_empty(), Vec::<std::ffi::OsString>::new());

    // The signature is missing on the server: the message names its URL.
    server.files.lock().unwrap().remove(&sig_path);
    let e = run(key("/release.asc")).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(&format!("the signature download failed from {url}.sig")),
        "{text}"
    );
    assert!(text.contains("HTTP 404"), "{text}");
    let fix = PhaseError::from(e).fix.unwrap();
    assert!(fix.contains("sha256"), "the way out: {fix}");
    assert_eq!(server.requested(), ["/release.asc", sig_path.as_str()]);

    // b) A signature by another key (the intruder signed the same file).
    server.put(&sig_path, std::fs::read(&intruder_sig).unwrap());
    let e = run(key("/release.asc")).unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "gpgv found no valid signature by the pinned key {good} on {url}"
        )),
        "{e}"
    );
    assert!(e.contains("not the pinned key"), "{e}");
    assert_eq!(cache_is_empty(), Vec::<std::ffi::OsString>::new());

    // b) The right signature, a tampered tarball: BAD signature, the file deleted.
    server.put(&sig_path, std::fs::read(&sig).unwrap());
    let mut tampered = tarball.clone();
    tampered[1000] ^= 1;
    server.put(tar_path, tampered);
    server.requested();
    let e = run(key("/release.asc")).unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "gpgv says BAD signature: the download of {url} is not the file Mattermost signed ({url}.sig)"
        )),
        "{e}"
    );
    assert_eq!(
        server.requested(),
        ["/release.asc", sig_path.as_str(), tar_path]
    );
    assert_eq!(cache_is_empty(), Vec::<std::ffi::OsString>::new());

    // a) All right, the key taken out of a file holding two: verified and cached.
    server.put(tar_path, tarball.clone());
    let path = run(key("/both.gpg")).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), tarball);
    assert_eq!(path, cache.join("mattermost-11.99.1-linux-amd64.tar.gz"));
    assert_eq!(
        cache_is_empty(),
        [std::ffi::OsString::from(
            "mattermost-11.99.1-linux-amd64.tar.gz"
        )],
        "only the verified tarball is left: no .part, no gpgv directory"
    );
    let log = std::fs::read_to_string(host.log_path()).unwrap();
    assert!(
        log.contains(&format!("the key from {}/both.gpg has the pinned fingerprint {good} (1 other keys in that file ignored)", server.base)),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "verified by gpgv: good signature {url}.sig by Mattermost's subkey"
        )),
        "{log}"
    );
    assert!(log.contains(&format!("of key {good} (SHA-")), "{log}");
    // The overridden fingerprint is said on every run, in the log and as a warning.
    assert!(
        log.contains("WARNING: the pinned signing-key fingerprint is overridden"),
        "{log}"
    );
    assert!(events.lock().unwrap().iter().any(|e| matches!(
        e,
        Event::Warning { message } if message.contains(&good) && message.contains(crate::releases::SIGNING_FINGERPRINT)
    )));
    assert_eq!(
        recorded_sha256(&signed_release(&url, key("/x")), &path).unwrap(),
        fetch::hex(&Sha256::digest(&tarball))
    );

    // The next run checks the cached file again, with no download of the tarball.
    server.requested();
    assert_eq!(run(key("/release.asc")).unwrap(), path);
    assert_eq!(server.requested(), ["/release.asc", sig_path.as_str()]);
    // A cached file that no longer verifies is deleted and downloaded again.
    std::fs::write(&path, b"swapped").unwrap();
    assert_eq!(run(key("/release.asc")).unwrap(), path);
    assert_eq!(std::fs::read(&path).unwrap(), tarball);
    assert_eq!(
        server.requested(),
        ["/release.asc", sig_path.as_str(), tar_path]
    );
}

/// The keyring override: a local key file instead of the download, trusted only
/// when root (or the running user) owns it and nobody else can write it.
#[test]
fn a_local_keyring_override_is_read_only_when_trusted() {
    if !have_gpg("a_local_keyring_override_is_read_only_when_trusted") {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let good = new_key(keys.path(), "release", "ed25519");
    let file = keys.path().join("t.tar.gz");
    std::fs::write(&file, b"tarball bytes").unwrap();
    let sig = keys.path().join("t.sig");
    sign(keys.path(), "release", &file, &sig);
    let server = Server::start();
    server.put("/1.2.3/t.tar.gz", b"tarball bytes".to_vec());
    server.put("/1.2.3/t.tar.gz.sig", std::fs::read(&sig).unwrap());
    let ring = keys.path().join("release/public.asc");
    let root = tempfile::tempdir().unwrap();
    let (host, _) = host(root.path());
    let key = SigningKey {
        key_url: format!("{}/never-asked", server.base),
        fingerprint: good.clone(),
        fingerprint_overridden: true,
        keyring: Some(ring.clone()),
    };
    let url = format!("{}/1.2.3/t.tar.gz", server.base);
    std::fs::set_permissions(&ring, std::fs::Permissions::from_mode(0o666)).unwrap();
    let e = fetch_with(
        &host,
        &signed_release(&url, key.clone()),
        &Cancel::default(),
        &quick(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(&ring.display().to_string()) && e.contains("refused"),
        "{e}"
    );
    std::fs::set_permissions(&ring, std::fs::Permissions::from_mode(0o644)).unwrap();
    fetch_with(
        &host,
        &signed_release(&url, key),
        &Cancel::default(),
        &quick(),
    )
    .unwrap();
    let asked = server.requested();
    assert!(!asked.iter().any(|p| p == "/never-asked"), "{asked:?}");
}
