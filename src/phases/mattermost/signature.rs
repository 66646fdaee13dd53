//! Releases the bundled table does not list (newer releases; arm64 tarballs, for
//! which Mattermost publishes no SHA-256) are verified by Mattermost's detached GPG
//! signature instead: the `.sig` beside the tarball and Mattermost's public key are
//! downloaded, the key's fingerprint is checked against the pinned one, and `gpgv`
//! (on every Debian and Ubuntu system: apt verifies its lists with it) checks the
//! tarball against a keyring holding that key alone, in a 0700 directory of our own.
//! The verdict comes from gpgv's `--status-fd` lines (a `VALIDSIG` whose primary key
//! is the pinned fingerprint), not from its exit code alone.
//!
//! Only the fingerprint needs OpenPGP parsing here, and that is a few lines: packet
//! framing (RFC 4880 §4.2), ASCII armor (§6) and the v4 fingerprint (§12.2). The
//! cryptography is gpgv's.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::fetch::{self, FetchError, Tuning};
use crate::events::Event;
use crate::host::{Cmd, Host};
use crate::plan::{ReleasePlan, Source};
use crate::releases::SigningKey;
use crate::vocab::Cancel;

/// gpgv checks ~400 MB in seconds; this ends one that hangs.
const GPGV_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// A public key or a detached signature is a few KiB; more is not one.
const SMALL_FILE_LIMIT: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------
// OpenPGP: armor, packets, fingerprints.
// ---------------------------------------------------------------------------

/// A key file that cannot be read as OpenPGP public keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

/// One public key as the key file holds it: its primary key's fingerprint, its
/// subkeys' fingerprints, and its packets (what goes into the keyring for gpgv).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Upper-case hex, no spaces: what gpg prints and gpgv's VALIDSIG carries.
    pub fingerprint: String,
    pub subkeys: Vec<String>,
    pub packets: Vec<u8>,
}

/// Standard base64 (RFC 4648 §4) of an armored block; whitespace is skipped.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut padded = false;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padded = true;
                continue;
            }
            _ => return None,
        };
        if padded {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits).to_be_bytes()[3]);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The armor checksum (RFC 4880 §6.1).
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00B7_04CE;
    for &b in data {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4CFB;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// The binary packets of a key file: as they are, or out of every
/// `BEGIN PGP PUBLIC KEY BLOCK` armor in it (headers skipped, checksum checked).
pub fn dearmor(file: &[u8]) -> Result<Vec<u8>, KeyError> {
    if file.first().is_some_and(|b| b & 0x80 != 0) {
        return Ok(file.to_vec());
    }
    let text = std::str::from_utf8(file)
        .map_err(|_| KeyError("it is neither an OpenPGP key nor ASCII armor".into()))?;
    let mut out = Vec::new();
    let mut lines = text.lines().map(str::trim_end);
    let mut blocks = 0;
    while let Some(line) = lines.next() {
        if line != "-----BEGIN PGP PUBLIC KEY BLOCK-----" {
            continue;
        }
        blocks += 1;
        // Armor headers ("Comment: ...") end at the first empty line.
        let mut body = String::new();
        let mut checksum = None;
        let mut in_headers = true;
        let mut ended = false;
        for l in lines.by_ref() {
            if l == "-----END PGP PUBLIC KEY BLOCK-----" {
                ended = true;
                break;
            }
            if in_headers {
                if l.trim().is_empty() {
                    in_headers = false;
                    continue;
                }
                if l.contains(": ") {
                    continue;
                }
                in_headers = false;
            }
            match l.strip_prefix('=') {
                Some(sum) if sum.len() == 4 => checksum = Some(sum.to_owned()),
                _ => body.push_str(l),
            }
        }
        if !ended {
            return Err(KeyError("an armored key block has no END line".into()));
        }
        let bytes = base64_decode(&body)
            .ok_or_else(|| KeyError("an armored key block is not valid base64".into()))?;
        if let Some(sum) = checksum {
            let want = base64_decode(&sum)
                .filter(|b| b.len() == 3)
                .map(|b| u32::from_be_bytes([0, b[0], b[1], b[2]]));
            if want != Some(crc24(&bytes)) {
                return Err(KeyError(
                    "an armored key block fails its checksum (damaged in transit?)".into(),
                ));
            }
        }
        out.extend_from_slice(&bytes);
    }
    if blocks == 0 {
        return Err(KeyError(
            "it holds no \"BEGIN PGP PUBLIC KEY BLOCK\" and is not a binary OpenPGP key".into(),
        ));
    }
    Ok(out)
}

/// One packet: its tag, its whole encoding (header included) and its body.
struct Packet<'a> {
    tag: u8,
    raw: &'a [u8],
    body: &'a [u8],
}

/// The packets of `data` (RFC 4880 §4.2: old and new packet formats). Partial
/// and indeterminate lengths only occur in data packets, never in keys: refused.
fn packets(data: &[u8]) -> Result<Vec<Packet<'_>>, KeyError> {
    let bad = |what: &str| KeyError(format!("the key file is not valid OpenPGP ({what})"));
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < data.len() {
        let start = i;
        let b = data[i];
        if b & 0x80 == 0 {
            return Err(bad("a packet header lacks bit 7"));
        }
        let byte = |k: usize| {
            data.get(k)
                .copied()
                .map(usize::from)
                .ok_or_else(|| bad("truncated header"))
        };
        let (tag, len, header) = if b & 0x40 != 0 {
            // New format: tag in bits 5-0, then a one-, two- or five-octet length.
            let o1 = byte(i + 1)?;
            match o1 {
                0..=191 => (b & 0x3f, o1, 2),
                192..=223 => (b & 0x3f, ((o1 - 192) << 8) + byte(i + 2)? + 192, 3),
                255 => (
                    b & 0x3f,
                    (byte(i + 2)? << 24)
                        | (byte(i + 3)? << 16)
                        | (byte(i + 4)? << 8)
                        | byte(i + 5)?,
                    6,
                ),
                _ => return Err(bad("a partial body length in a key")),
            }
        } else {
            // Old format: tag in bits 5-2, length type in bits 1-0.
            let tag = (b >> 2) & 0x0f;
            match b & 3 {
                0 => (tag, byte(i + 1)?, 2),
                1 => (tag, (byte(i + 1)? << 8) | byte(i + 2)?, 3),
                2 => (
                    tag,
                    (byte(i + 1)? << 24)
                        | (byte(i + 2)? << 16)
                        | (byte(i + 3)? << 8)
                        | byte(i + 4)?,
                    5,
                ),
                _ => return Err(bad("an indeterminate length in a key")),
            }
        };
        let end = start
            .checked_add(header)
            .and_then(|h| h.checked_add(len))
            .filter(|e| *e <= data.len())
            .ok_or_else(|| bad("a packet runs past the end of the file"))?;
        out.push(Packet {
            tag,
            raw: &data[start..end],
            body: &data[start + header..end],
        });
        i = end;
    }
    Ok(out)
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

/// The fingerprint of a public-key or public-subkey packet body. RFC 4880 §12.2:
/// "A V4 fingerprint is the 160-bit SHA-1 hash of the octet 0x99, followed by the
/// two-octet packet length, followed by the entire Public-Key packet starting with
/// the version field." Other versions (v3's MD5, RFC 9580's v6) are refused: gpgv
/// on Debian 12 verifies neither, and Mattermost's key is v4.
pub fn v4_fingerprint(body: &[u8]) -> Result<String, KeyError> {
    match body.first() {
        Some(4) => {}
        Some(v) => {
            return Err(KeyError(format!(
                "a version {v} key (only version 4 keys are supported)"
            )));
        }
        None => return Err(KeyError("an empty public-key packet".into())),
    }
    let len = u16::try_from(body.len())
        .map_err(|_| KeyError("a public-key packet over 64 KiB".into()))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&[0x99]);
    ctx.update(&len.to_be_bytes());
    ctx.update(body);
    Ok(upper_hex(ctx.finish().as_ref()))
}

/// The keys in a key file (binary or armored), each with its own packets.
pub fn public_keys(file: &[u8]) -> Result<Vec<PublicKey>, KeyError> {
    const PUBLIC_KEY: u8 = 6;
    const PUBLIC_SUBKEY: u8 = 14;
    const TRUST: u8 = 12;
    const SECRET_KEY: u8 = 5;
    const SECRET_SUBKEY: u8 = 7;
    let data = dearmor(file)?;
    let mut keys: Vec<PublicKey> = Vec::new();
    for p in packets(&data)? {
        match p.tag {
            PUBLIC_KEY => keys.push(PublicKey {
                fingerprint: v4_fingerprint(p.body)?,
                subkeys: Vec::new(),
                packets: p.raw.to_vec(),
            }),
            SECRET_KEY | SECRET_SUBKEY => {
                return Err(KeyError("it holds a secret key, not a public key".into()));
            }
            // Local trust data of a keyring: not part of the key.
            TRUST => {}
            tag => {
                let key = keys.last_mut().ok_or_else(|| {
                    KeyError(format!(
                        "it starts with a packet of type {tag}, not a public key"
                    ))
                })?;
                if tag == PUBLIC_SUBKEY {
                    key.subkeys.push(v4_fingerprint(p.body)?);
                }
                key.packets.extend_from_slice(p.raw);
            }
        }
    }
    if keys.is_empty() {
        return Err(KeyError("it holds no public key".into()));
    }
    Ok(keys)
}

/// A fingerprint as an operator may type it: spaces dropped, upper case.
pub fn normalize_fingerprint(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

// ---------------------------------------------------------------------------
// gpgv's verdict.
// ---------------------------------------------------------------------------

/// What gpgv's status lines (doc/DETAILS in GnuPG) say about a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// GOODSIG and a VALIDSIG by the pinned key (or one of its subkeys).
    Good { signer: String, hash: String },
    /// BADSIG: the file is not what was signed (tampered, truncated, another file).
    Bad,
    /// A valid signature, but by a key that is not the pinned one.
    OtherKey(String),
    /// The signing key is expired or revoked (EXPKEYSIG, REVKEYSIG, EXPSIG), or gpgv
    /// could not check it (ERRSIG, NO_PUBKEY: made by a key not in the keyring).
    Unusable(String),
    /// No signature in the .sig at all (NODATA, BADARMOR) or nothing gpgv said.
    NoSignature,
}

fn hash_name(id: &str) -> String {
    match id {
        "1" => "MD5".into(),
        "2" => "SHA-1".into(),
        "3" => "RIPEMD-160".into(),
        "8" => "SHA-256".into(),
        "9" => "SHA-384".into(),
        "10" => "SHA-512".into(),
        "11" => "SHA-224".into(),
        other => format!("hash algorithm {other}"),
    }
}

/// Judges gpgv's `--status-fd` output against the pinned primary fingerprint. One
/// bad, unusable or foreign signature in the file is enough to refuse; a good one
/// must show both GOODSIG and VALIDSIG.
pub fn judge(status: &str, pinned: &str) -> Verdict {
    let mut good = false;
    let mut valid: Option<(String, String)> = None;
    let mut other = None;
    let mut unusable = None;
    let mut bad = false;
    for line in status.lines() {
        let Some(rest) = line.strip_prefix("[GNUPG:] ") else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        match f.as_slice() {
            ["GOODSIG", ..] => good = true,
            ["BADSIG", ..] => bad = true,
            ["VALIDSIG", signer, rest @ ..] => {
                // rest: date, timestamp, expiry, version, reserved, pk algo, hash
                // algo, class, [primary fingerprint] (absent: the signer is primary).
                let primary = rest.get(8).copied().unwrap_or(signer);
                let hash = rest.get(6).map_or_else(String::new, |h| hash_name(h));
                if primary.eq_ignore_ascii_case(pinned) {
                    valid = Some(((*signer).to_owned(), hash));
                } else {
                    other = Some((*primary).to_owned());
                }
            }
            ["EXPKEYSIG", keyid, ..] => {
                unusable = Some(format!("the signing key {keyid} has expired"));
            }
            ["REVKEYSIG", keyid, ..] => {
                unusable = Some(format!("the signing key {keyid} has been revoked"));
            }
            ["EXPSIG", ..] => unusable = Some("the signature has expired".into()),
            ["NO_PUBKEY", keyid, ..] => {
                unusable = Some(format!(
                    "it was made by key {keyid}, which is not the pinned key"
                ));
            }
            // ERRSIG keyid pkalgo hashalgo class time rc [fingerprint]
            ["ERRSIG", keyid, _, _, _, _, rc, ..] if unusable.is_none() => {
                unusable = Some(match *rc {
                    "9" => format!("it was made by key {keyid}, which is not the pinned key"),
                    "4" => format!("key {keyid} uses an algorithm gpgv does not support"),
                    _ => format!("gpgv could not check the signature of key {keyid} (ERRSIG {rc})"),
                });
            }
            _ => {}
        }
    }
    if bad {
        return Verdict::Bad;
    }
    if let Some(why) = unusable {
        return Verdict::Unusable(why);
    }
    if let Some(primary) = other {
        return Verdict::OtherKey(primary);
    }
    match valid {
        Some((signer, hash)) if good => Verdict::Good { signer, hash },
        _ => Verdict::NoSignature,
    }
}

// ---------------------------------------------------------------------------
// Fetching and verifying.
// ---------------------------------------------------------------------------

/// How a signature check failed; each names what failed and the way out.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature download failed from {url}: {reason}")]
    SignatureDownload { url: String, reason: String },
    #[error("Mattermost's public key could not be read from {from}: {reason}")]
    KeyDownload { from: String, reason: String },
    #[error(
        "the key from {from} is not Mattermost's signing key: its fingerprint is {found}, the pinned fingerprint is {pinned}"
    )]
    WrongKey {
        from: String,
        found: String,
        pinned: String,
    },
    #[error(
        "gpgv says BAD signature: the download of {tarball} is not the file Mattermost signed ({sig})"
    )]
    BadSignature { tarball: String, sig: String },
    #[error("gpgv found no valid signature by the pinned key {pinned} on {tarball}: {reason}")]
    NotVerified {
        tarball: String,
        pinned: String,
        reason: String,
    },
    #[error("gpgv could not run: {0}")]
    Gpgv(String),
}

impl SignatureError {
    /// The way out, for the operator.
    pub fn fix(&self) -> &'static str {
        match self {
            Self::SignatureDownload { .. } => {
                "check that this server reaches the URL and that the version is published there (download_base_url); or give the tarball's published SHA-256 as sha256 in the answers (--sha256 for upgrade)"
            }
            Self::KeyDownload { .. } => {
                "check that this server reaches deb.packages.mattermost.com (proxy, firewall, DNS); or give the tarball's published SHA-256 as sha256 in the answers (--sha256 for upgrade)"
            }
            Self::WrongKey { .. } => {
                "the key server answered with another key: do not install from it. Check the network path (proxy) and run again; or give the tarball's published SHA-256 as sha256 in the answers"
            }
            Self::BadSignature { .. } | Self::NotVerified { .. } => {
                "the tarball was deleted and nothing was unpacked: it is corrupt or not the official release. Check the mirror (download_base_url) and run again; or give the published SHA-256 as sha256 in the answers"
            }
            Self::Gpgv(_) => {
                "install gpgv (apt-get install gpgv; apt itself depends on it), or give the tarball's published SHA-256 as sha256 in the answers"
            }
        }
    }
}

/// A signature failure as a fetch failure (the engine's download path reports it).
fn failed(e: &SignatureError) -> FetchError {
    FetchError::Signature {
        message: e.to_string(),
        fix: e.fix(),
    }
}

/// The `.sig` beside the tarball.
pub fn signature_url(tarball_url: &str) -> String {
    format!("{tarball_url}.sig")
}

/// A small file over HTTP(S), with connect and read timeouts and a few retries.
fn get_small(url: &str, tuning: &Tuning, cancel: &Cancel) -> Result<Vec<u8>, String> {
    let client = super::fetch::download_client(tuning)?;
    let mut last = String::new();
    for attempt in 1..=tuning.attempts.clamp(1, 3) {
        if cancel.is_cancelled() {
            return Err("stopped by the operator".into());
        }
        if attempt > 1 {
            std::thread::sleep(tuning.backoff.min(Duration::from_secs(5)));
        }
        let resp = match client.get(url).send() {
            Ok(r) => r,
            Err(e) => {
                last = crate::probes::http::error_chain(&e);
                continue;
            }
        };
        let status = resp.status().as_u16();
        match status {
            200..=299 => {}
            408 | 429 | 500..=599 => {
                last = format!("the server answered HTTP {status}");
                continue;
            }
            _ => {
                return Err(format!(
                    "the server answered HTTP {status}{}",
                    if status == 404 {
                        " (is this version published there?)"
                    } else {
                        ""
                    }
                ));
            }
        }
        let mut body = Vec::new();
        match resp.take(SMALL_FILE_LIMIT + 1).read_to_end(&mut body) {
            Ok(_) if body.len() as u64 > SMALL_FILE_LIMIT => {
                return Err(format!("it is larger than {SMALL_FILE_LIMIT} bytes"));
            }
            Ok(_) => return Ok(body),
            Err(e) => last = crate::probes::http::error_chain(&e),
        }
    }
    Err(format!(
        "{last} (gave up after {} attempts)",
        tuning.attempts.clamp(1, 3)
    ))
}

/// A file an override names is trusted like the releases-table override: a regular
/// file owned by root (or the running user) that nobody else can write.
fn read_trusted(path: &Path) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    let me = rustix::process::getuid().as_raw();
    if !meta.is_file() || !(meta.uid() == 0 || meta.uid() == me) || meta.mode() & 0o022 != 0 {
        return Err(
            "not a regular file owned by root that only its owner can write; refused".into(),
        );
    }
    std::fs::read(path).map_err(|e| e.to_string())
}

/// The pinned key, out of the key file, as a keyring for gpgv in `dir`.
fn keyring(
    host: &Host,
    key: &SigningKey,
    dir: &Path,
    tuning: &Tuning,
    cancel: &Cancel,
) -> Result<PathBuf, SignatureError> {
    let (from, bytes) = match &key.keyring {
        Some(path) => {
            let from = path.display().to_string();
            let bytes = read_trusted(path).map_err(|reason| SignatureError::KeyDownload {
                from: from.clone(),
                reason,
            })?;
            (from, bytes)
        }
        None => {
            host.note(&format!(
                "[mattermost] downloading Mattermost's public key from {}",
                key.key_url
            ));
            let bytes = get_small(&key.key_url, tuning, cancel).map_err(|reason| {
                SignatureError::KeyDownload {
                    from: key.key_url.clone(),
                    reason,
                }
            })?;
            (key.key_url.clone(), bytes)
        }
    };
    let keys = public_keys(&bytes).map_err(|e| SignatureError::KeyDownload {
        from: from.clone(),
        reason: e.to_string(),
    })?;
    let Some(pinned) = keys.iter().find(|k| k.fingerprint == key.fingerprint) else {
        return Err(SignatureError::WrongKey {
            from,
            found: keys
                .iter()
                .map(|k| k.fingerprint.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            pinned: key.fingerprint.clone(),
        });
    };
    let path = dir.join("mattermost-release-key.gpg");
    host.write_own(&host.on_box(&path), &pinned.packets)
        .map_err(|e| SignatureError::Gpgv(format!("cannot write {}: {e}", path.display())))?;
    host.note(&format!(
        "[mattermost] the key from {from} has the pinned fingerprint {}{}",
        pinned.fingerprint,
        if keys.len() > 1 {
            format!(" ({} other keys in that file ignored)", keys.len() - 1)
        } else {
            String::new()
        }
    ));
    Ok(path)
}

/// What gpgv checks: the files, and the URLs that name them in messages.
struct Check<'a> {
    dir: &'a Path,
    keyring: &'a Path,
    sig: &'a Path,
    sig_url: &'a str,
    url: &'a str,
    pinned: &'a str,
}

/// Runs gpgv on `file` (the download of `check.url`) and judges its status lines.
fn gpgv(host: &Host, check: &Check<'_>, file: &Path) -> Result<String, SignatureError> {
    let Check {
        dir,
        keyring,
        sig,
        sig_url,
        url,
        pinned,
    } = *check;
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let cmd = Cmd::new("gpgv", &[])
        .arg("--homedir")
        .arg(s(dir))
        .arg("--status-fd")
        .arg("1")
        .arg("--keyring")
        .arg(s(keyring))
        .arg(s(sig))
        .arg(s(file))
        .timeout(GPGV_TIMEOUT);
    let out = host
        .probe(&cmd)
        .map_err(|e| SignatureError::Gpgv(e.to_string()))?;
    let tarball = url.to_owned();
    match judge(&out.stdout, pinned) {
        Verdict::Good { signer, hash } if out.success() => Ok(if signer == pinned {
            format!("key {pinned} ({hash})")
        } else {
            format!("subkey {signer} of key {pinned} ({hash})")
        }),
        Verdict::Good { .. } => Err(SignatureError::NotVerified {
            tarball,
            pinned: pinned.to_owned(),
            reason: format!("gpgv exited with {:?}: {}", out.code, out.stderr.trim()),
        }),
        Verdict::Bad => Err(SignatureError::BadSignature {
            tarball,
            sig: sig_url.to_owned(),
        }),
        Verdict::OtherKey(k) => Err(SignatureError::NotVerified {
            tarball,
            pinned: pinned.to_owned(),
            reason: format!("it is signed by key {k}"),
        }),
        Verdict::Unusable(why) => Err(SignatureError::NotVerified {
            tarball,
            pinned: pinned.to_owned(),
            reason: why,
        }),
        Verdict::NoSignature => Err(SignatureError::NotVerified {
            tarball,
            pinned: pinned.to_owned(),
            reason: if out.stderr.trim().is_empty() {
                "the .sig holds no signature".into()
            } else {
                out.stderr.trim().to_owned()
            },
        }),
    }
}

/// Downloads the tarball of `release` (no SHA-256 known) and verifies it with the
/// signature and the pinned key; returns it in the root-owned cache. The key and
/// the `.sig` come first (a few KiB): a wrong key or a missing signature stops the
/// run before the tarball is downloaded. A tarball that does not verify is deleted.
pub fn fetch_signed(
    host: &Host,
    release: &ReleasePlan,
    key: &SigningKey,
    cancel: &Cancel,
    tuning: &Tuning,
) -> Result<PathBuf, FetchError> {
    let Source::Url(url) = &release.source else {
        // Plans never ask for this: a local tarball needs its SHA-256.
        return Err(failed(&SignatureError::SignatureDownload {
            url: "a local tarball".into(),
            reason: "a local tarball is verified by its SHA-256: set sha256".into(),
        }));
    };
    if key.fingerprint_overridden {
        let message = format!(
            "the pinned signing-key fingerprint is overridden ({}): tarballs are checked against {} instead of Mattermost's {}",
            crate::releases::FINGERPRINT_ENV,
            key.fingerprint,
            crate::releases::SIGNING_FINGERPRINT
        );
        host.note(&format!("[mattermost] WARNING: {message}"));
        (host.events())(Event::Warning { message });
    }
    // Our own 0700 directory in the root-owned cache: the keyring, the .sig and
    // gpgv's home (so root's ~/.gnupg is never read or written).
    let cache = host.path(Path::new(fetch::CACHE_DIR));
    host.create_dir_all(Path::new(fetch::CACHE_DIR))
        .map_err(|source| FetchError::Io {
            action: "cannot create",
            path: cache.clone(),
            source,
        })?;
    let tmp = host
        .temp_dir_in(Path::new(fetch::CACHE_DIR), ".gpgv-")
        .map_err(|source| FetchError::Io {
            action: "cannot create a directory in",
            path: cache.clone(),
            source,
        })?;
    let ring = keyring(host, key, tmp.path(), tuning, cancel).map_err(|e| failed(&e))?;
    let sig_url = signature_url(url);
    host.note(&format!("[mattermost] downloading the signature {sig_url}"));
    let sig_bytes = get_small(&sig_url, tuning, cancel).map_err(|reason| {
        failed(&SignatureError::SignatureDownload {
            url: sig_url.clone(),
            reason,
        })
    })?;
    let sig = tmp.path().join("tarball.sig");
    host.write_own(&host.on_box(&sig), &sig_bytes)
        .map_err(|source| FetchError::Io {
            action: "cannot write",
            path: sig.clone(),
            source,
        })?;
    let check = Check {
        dir: tmp.path(),
        keyring: &ring,
        sig: &sig,
        sig_url: &sig_url,
        url,
        pinned: &key.fingerprint,
    };
    let verify = |file: &Path| gpgv(host, &check, file).map_err(|e| failed(&e));
    let (path, by) = fetch::download_verified_by(host, url, cancel, tuning, &verify)?;
    host.note(&format!(
        "[mattermost] {} verified by gpgv: good signature {sig_url} by Mattermost's {by}",
        path.display()
    ));
    Ok(path)
}

/// The SHA-256 of a verified tarball, for the release record (so later runs check
/// the cached file by its hash, with no network).
pub fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(fetch::hex(&hasher.finalize()))
}

/// What the release record says the tarball's SHA-256 is: the plan's, or for a
/// release verified by signature, the hash of the verified file.
pub fn recorded_sha256(release: &ReleasePlan, tarball: &Path) -> std::io::Result<String> {
    if release.signature.is_none() {
        return Ok(release.sha256.clone());
    }
    sha256_of(tarball)
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
