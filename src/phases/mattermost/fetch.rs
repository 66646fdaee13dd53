//! The tarball: downloaded with reqwest (or read from a local path), SHA-256 computed
//! while the bytes stream, refused on mismatch with nothing left behind.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::engine::Cancel;
use crate::events::Event;
use crate::host::Host;
use crate::phases::{PhaseError, PhaseId};
use crate::plan::{ReleasePlan, Source};

const P: PhaseId = PhaseId::Mattermost;
pub const CACHE_DIR: &str = "/var/cache/mattermost-setup";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the SHA-256 of {source_name} is {actual}, but {expected} was expected")]
    ChecksumMismatch {
        source_name: String,
        expected: String,
        actual: String,
    },
    #[error("download of {url} failed: {reason}")]
    Download { url: String, reason: String },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<FetchError> for PhaseError {
    fn from(e: FetchError) -> Self {
        let fix = match &e {
            FetchError::ChecksumMismatch { .. } => {
                "the file is corrupt or not the official release: nothing was installed. Check the mirror or the sha256 answer, then run again"
            }
            FetchError::Download { .. } => {
                "check that this server reaches the URL (proxy, firewall, DNS), that the version exists, or use download_base_url / tarball for an air-gapped box"
            }
            FetchError::Io { .. } => {
                "check free space and permissions of /var/cache/mattermost-setup"
            }
        };
        PhaseError::new(e.to_string()).fix(fix)
    }
}

/// Lower-case hex; sha2 0.11 digests do not format themselves.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Copies `from` to `to` (if given), hashing on the way, reporting progress.
fn stream(
    mut from: impl Read,
    cancel: &Cancel,
    mut to: Option<&mut File>,
    total: Option<u64>,
    host: &Host,
    label: &str,
) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut done = 0u64;
    let mut last_report = 0u64;
    loop {
        if cancel.is_cancelled() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "stopped by the operator",
            ));
        }
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some(f) = to.as_mut() {
            f.write_all(&buf[..n])?;
        }
        done += n as u64;
        if done - last_report >= 4 * 1024 * 1024 {
            last_report = done;
            (host.events())(Event::Progress {
                phase: P,
                label: label.to_owned(),
                done,
                total,
            });
        }
    }
    (host.events())(Event::Progress {
        phase: P,
        label: label.to_owned(),
        done,
        total,
    });
    Ok(hex(&hasher.finalize()))
}

fn hash_file(path: &Path, host: &Host, cancel: &Cancel, label: &str) -> Result<String, FetchError> {
    let io = |source| FetchError::Io {
        action: "cannot read",
        path: path.to_owned(),
        source,
    };
    let f = File::open(path).map_err(io)?;
    let total = f.metadata().ok().map(|m| m.len());
    stream(f, cancel, None, total, host, label).map_err(io)
}

/// Returns a verified tarball on this machine.
pub fn fetch(host: &Host, release: &ReleasePlan, cancel: &Cancel) -> Result<PathBuf, FetchError> {
    let started = std::time::Instant::now();
    let expected = &release.sha256;
    let path = match &release.source {
        Source::File(path) => {
            let real = host.path(path);
            let actual = hash_file(&real, host, cancel, "checking the local tarball")?;
            if &actual != expected {
                return Err(FetchError::ChecksumMismatch {
                    source_name: path.display().to_string(),
                    expected: expected.clone(),
                    actual,
                });
            }
            real
        }
        Source::Url(url) => download(host, url, expected, cancel)?,
    };
    host.note(&format!(
        "[mattermost] tarball {} verified (sha256 {expected}) in {:.1}s",
        path.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(path)
}

fn download(
    host: &Host,
    url: &str,
    expected: &str,
    cancel: &Cancel,
) -> Result<PathBuf, FetchError> {
    let cache = host.path(Path::new(CACHE_DIR));
    let io = |action, path: &Path| {
        let path = path.to_owned();
        move |source| FetchError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::create_dir_all(&cache).map_err(io("cannot create", &cache))?;
    let name = url.rsplit('/').next().unwrap_or("mattermost.tar.gz");
    let final_path = cache.join(name);
    // A verified tarball from an earlier, interrupted run is used again.
    if final_path.exists() {
        if hash_file(&final_path, host, cancel, "checking the cached tarball")? == expected {
            host.note(&format!(
                "[mattermost] using the verified tarball already in {}",
                final_path.display()
            ));
            return Ok(final_path);
        }
        std::fs::remove_file(&final_path).map_err(io("cannot remove", &final_path))?;
    }
    let part = cache.join(format!("{name}.part"));
    let fail = |reason: String| FetchError::Download {
        url: url.to_owned(),
        reason,
    };
    host.note(&format!("[mattermost] downloading {url}"));
    let client = reqwest::blocking::Client::builder()
        .user_agent(concat!("mattermost-setup/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(30))
        .timeout(None)
        .build()
        .map_err(|e| {
            fail(format!(
                "cannot set up HTTPS (is ca-certificates installed?): {e}"
            ))
        })?;
    let resp = client.get(url).send().map_err(|e| fail(error_chain(&e)))?;
    if !resp.status().is_success() {
        return Err(fail(format!("the server answered HTTP {}", resp.status())));
    }
    let total = resp.content_length();
    let mut file = File::create(&part).map_err(io("cannot create", &part))?;
    let result = stream(resp, cancel, Some(&mut file), total, host, "downloading")
        .and_then(|sum| file.sync_all().map(|()| sum));
    let actual = match result {
        Ok(sum) => sum,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(fail(e.to_string()));
        }
    };
    if actual != expected {
        let _ = std::fs::remove_file(&part);
        return Err(FetchError::ChecksumMismatch {
            source_name: url.to_owned(),
            expected: expected.to_owned(),
            actual,
        });
    }
    std::fs::rename(&part, &final_path).map_err(io("cannot rename", &part))?;
    Ok(final_path)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_matches_sha256sum() {
        let d = Sha256::digest(b"abc");
        assert_eq!(
            hex(&d),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
