//! The tarball: downloaded with reqwest (or copied from a local path) into the
//! root-owned cache, SHA-256 computed while the bytes stream, refused on mismatch.
//!
//! Downloads survive a bad network: connect and per-read timeouts (30 s each, like
//! rustup's), retries with backoff, and a resume with an HTTP `Range` request into
//! the `.part` file (whose bytes are hashed first, so the SHA-256 still covers the
//! whole file). A server that ignores `Range` restarts cleanly. The `.part` becomes
//! the final file only once its hash matches, after an fsync. The operator's stop
//! request is honoured within a fraction of a second, even while the mirror stalls:
//! the HTTP reads run in a worker thread and this side only waits on a channel.
//!
//! The body streams through three threads at once: the worker reads from the network,
//! this side writes to the `.part`, a hashing thread computes the SHA-256 of what was
//! written; the buffers then go back to the worker, so none is allocated (or zeroed)
//! after the first few and memory stays at a few MiB whatever the file's size.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::events::Event;
use crate::host::{Host, http};
use crate::phases::{PhaseError, PhaseId};
use crate::plan::{ReleasePlan, Source};
use crate::vocab::Cancel;

const P: PhaseId = PhaseId::Mattermost;
pub const CACHE_DIR: &str = "/var/cache/mattermost-setup";
/// Seconds without a byte from the mirror before a download attempt is given up
/// (and retried). Default 30, like rustup's; tests set it low.
pub const READ_TIMEOUT_ENV: &str = "MATTERMOST_SETUP_READ_TIMEOUT";
/// How often a wait looks at the operator's stop request.
const TICK: Duration = Duration::from_millis(100);
const CHUNK: usize = 256 * 1024;
/// Chunks read ahead of the writer, and written ahead of the hasher.
const QUEUE: usize = 4;
/// Buffers kept for the worker to read into again: enough for every one in flight.
const POOL: usize = 2 * QUEUE + 3;

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
    #[error(
        "the download of {url} was stopped by the operator ({received} bytes kept for the next run)"
    )]
    Cancelled { url: String, received: u64 },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The GPG signature check of a release with no known SHA-256 (signature.rs).
    #[error("{message}")]
    Signature { message: String, fix: &'static str },
}

impl From<FetchError> for PhaseError {
    fn from(e: FetchError) -> Self {
        let fix = match &e {
            FetchError::ChecksumMismatch { .. } => {
                "the file is corrupt or not the official release, and was deleted; nothing was unpacked. Check the mirror (download_base_url) or the sha256 answer, or set tarball to a verified copy, then run again"
            }
            FetchError::Download { .. } => {
                "check that this server reaches the URL (proxy, firewall, DNS) and that the version exists; or set download_base_url to a mirror that works, or download the tarball yourself and set tarball (and sha256) in the answers. The next run resumes what was received"
            }
            FetchError::Cancelled { .. } => "run the same command again: the download resumes",
            FetchError::Io { .. } => {
                "check free space and permissions of /var/cache/mattermost-setup"
            }
            FetchError::Signature { fix, .. } => fix,
        };
        let kind = match &e {
            FetchError::Cancelled { .. } => crate::vocab::ErrorKind::Stopped,
            _ => crate::vocab::ErrorKind::Download,
        };
        PhaseError::of(kind, e.to_string()).fix(fix)
    }
}

/// How hard a download tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of the body (or for the response head).
    pub read_timeout: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the first retry; doubled for each next one, at most 30 s.
    pub backoff: Duration,
}

impl Default for Tuning {
    /// rustup's numbers: 30 s to connect, 30 s without data; 5 attempts.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(30),
            attempts: 5,
            backoff: Duration::from_secs(1),
        }
    }
}

impl Tuning {
    /// The defaults, with the read timeout from [`READ_TIMEOUT_ENV`] when set
    /// (seconds, fractions allowed; for tests).
    pub fn from_env() -> Self {
        let mut t = Self::default();
        if let Some(s) = std::env::var(READ_TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
        {
            t.read_timeout = Duration::from_secs_f64(s);
        }
        t
    }

    fn delay(&self, failed_attempt: u32) -> Duration {
        let factor = 1u32 << failed_attempt.saturating_sub(1).min(5);
        (self.backoff * factor).min(Duration::from_secs(30))
    }
}

/// Fetches what the `.part` lacks (all of it, or the rest with Range); a failure
/// with nothing received leaves no empty `.part` behind.
fn download_rest(
    host: &Host,
    client: &http::Client,
    url: &str,
    part: &mut Part,
    part_path: &Path,
    cancel: &Cancel,
    tuning: &Tuning,
) -> Result<(), FetchError> {
    if part.have > 0 {
        host.note(&format!(
            "[mattermost] {} bytes of {url} are already here; asking the server for the rest",
            part.have
        ));
    }
    host.note(&format!("[mattermost] downloading {url}"));
    let result = fetch_into(host, client, url, part, cancel, tuning);
    if result.is_err() && part.have == 0 {
        let _ = host.remove_file(&host.on_box(part_path));
    }
    result
}

/// The client for downloads from the mirror: connect and per-read timeouts (the
/// blocking client applies `timeout` to the wait for the response head and to each
/// read of the body, not to the whole file).
pub(crate) fn download_client(tuning: &Tuning) -> Result<http::Client, String> {
    http::download_client(tuning.connect_timeout, tuning.read_timeout).map_err(|e| {
        format!(
            "cannot set up HTTPS (is ca-certificates installed?): {}",
            crate::probes::http::error_chain(&e)
        )
    })
}

pub use crate::state::hex;

fn progress(host: &Host, label: &str, done: u64, total: Option<u64>) {
    (host.events())(Event::Progress {
        phase: P,
        label: label.to_owned(),
        done,
        total,
    });
}

fn stopped() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::Interrupted, "stopped by the operator")
}

/// Copies `from` into `hasher` (and `to`, if given), reporting progress.
fn stream(
    mut from: impl Read,
    cancel: &Cancel,
    mut to: Option<&mut File>,
    hasher: &mut Sha256,
    total: Option<u64>,
    host: &Host,
    label: &str,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    let mut last_report = 0u64;
    loop {
        if cancel.is_cancelled() {
            return Err(stopped());
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
            progress(host, label, done, total);
        }
    }
    progress(host, label, done, total);
    Ok(done)
}

fn hash_file(path: &Path, host: &Host, cancel: &Cancel, label: &str) -> Result<String, FetchError> {
    let io = |source| FetchError::Io {
        action: "cannot read",
        path: path.to_owned(),
        source,
    };
    let f = File::open(path).map_err(io)?;
    let total = f.metadata().ok().map(|m| m.len());
    let mut hasher = Sha256::new();
    stream(f, cancel, None, &mut hasher, total, host, label).map_err(io)?;
    Ok(hex(&hasher.finalize()))
}

/// Returns a verified tarball in the root-owned cache.
pub fn fetch(host: &Host, release: &ReleasePlan, cancel: &Cancel) -> Result<PathBuf, FetchError> {
    fetch_with(host, release, cancel, &Tuning::from_env())
}

/// [`fetch`] with explicit timeouts and retries.
pub fn fetch_with(
    host: &Host,
    release: &ReleasePlan,
    cancel: &Cancel,
    tuning: &Tuning,
) -> Result<PathBuf, FetchError> {
    let started = Instant::now();
    if let Some(key) = &release.signature {
        return super::signature::fetch_signed(host, release, key, cancel, tuning);
    }
    let expected = &release.sha256;
    let path = match &release.source {
        Source::File(path) => copy_local(host, path, expected, cancel)?,
        Source::Url(url) => download(host, url, expected, cancel, tuning)?,
    };
    host.note(&format!(
        "[mattermost] tarball {} verified (sha256 {expected}) in {:.1}s",
        path.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(path)
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FetchError {
    let path = path.to_owned();
    move |source| FetchError::Io {
        action,
        path,
        source,
    }
}

/// The cache directory, and the final path of `name` in it.
fn cache_path(host: &Host, name: &str) -> Result<PathBuf, FetchError> {
    let cache = host.path(Path::new(CACHE_DIR));
    host.create_dir_all(Path::new(CACHE_DIR))
        .map_err(io_err("cannot create", &cache))?;
    Ok(cache.join(name))
}

/// A verified tarball from an earlier run is used again; a wrong one is removed.
fn reuse_cached(
    host: &Host,
    final_path: &Path,
    expected: &str,
    cancel: &Cancel,
) -> Result<bool, FetchError> {
    if !final_path.exists() {
        return Ok(false);
    }
    if hash_file(final_path, host, cancel, "checking the cached tarball")? == expected {
        host.note(&format!(
            "[mattermost] using the verified tarball already in {}",
            final_path.display()
        ));
        return Ok(true);
    }
    host.remove_file(&host.on_box(final_path))
        .map_err(io_err("cannot remove", final_path))?;
    Ok(false)
}

/// Makes `part` the final file: flushed to disk, renamed, the rename made durable.
fn commit(host: &Host, part: &Path, final_path: &Path) -> Result<(), FetchError> {
    host.rename(&host.on_box(part), &host.on_box(final_path))
        .map_err(io_err("cannot rename", part))?;
    if let Some(dir) = final_path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err("cannot sync", dir))?;
    }
    Ok(())
}

/// `tarball:` is the operator's file: it is copied into the root-owned cache while
/// it is hashed, and the copy — which nobody else can swap — is what gets unpacked.
fn copy_local(
    host: &Host,
    path: &Path,
    expected: &str,
    cancel: &Cancel,
) -> Result<PathBuf, FetchError> {
    let real = host.path(path);
    let name = path
        .file_name()
        .map_or_else(|| "mattermost.tar.gz".into(), |n| n.to_string_lossy());
    let final_path = cache_path(host, &name)?;
    if real == final_path {
        // Already in the root-owned cache: checked where it is, never removed.
        let actual = hash_file(&real, host, cancel, "checking the local tarball")?;
        if actual != expected {
            return Err(FetchError::ChecksumMismatch {
                source_name: path.display().to_string(),
                expected: expected.to_owned(),
                actual,
            });
        }
        return Ok(real);
    }
    if reuse_cached(host, &final_path, expected, cancel)? {
        return Ok(final_path);
    }
    let src = File::open(&real).map_err(io_err("cannot read", &real))?;
    let total = src.metadata().ok().map(|m| m.len());
    let part = final_path.with_file_name(format!("{name}.part"));
    let mut file = host
        .create_file(&host.on_box(&part), 0o666)
        .map_err(io_err("cannot create", &part))?;
    let mut hasher = Sha256::new();
    let copied = stream(
        src,
        cancel,
        Some(&mut file),
        &mut hasher,
        total,
        host,
        "checking the local tarball",
    )
    .and_then(|_| file.sync_all());
    if let Err(e) = copied {
        let _ = host.remove_file(&host.on_box(&part));
        return Err(FetchError::Io {
            action: "cannot copy",
            path: real,
            source: e,
        });
    }
    let actual = hex(&hasher.finalize());
    if actual != expected {
        let _ = host.remove_file(&host.on_box(&part));
        return Err(FetchError::ChecksumMismatch {
            source_name: path.display().to_string(),
            expected: expected.to_owned(),
            actual,
        });
    }
    commit(host, &part, &final_path)?;
    host.note(&format!(
        "[mattermost] {} copied into {} while hashing; the copy is what gets unpacked",
        path.display(),
        final_path.display()
    ));
    Ok(final_path)
}

/// The `.part` file and the hash of every byte in it.
struct Part {
    path: PathBuf,
    file: File,
    have: u64,
    hasher: Sha256,
    total: Option<u64>,
}

impl Part {
    /// Opens (or creates) the `.part`, hashing what an earlier attempt left in it.
    fn open(path: PathBuf, host: &Host, cancel: &Cancel, url: &str) -> Result<Self, FetchError> {
        let file = host
            .open_resume(&host.on_box(&path))
            .map_err(io_err("cannot create", &path))?;
        let mut part = Self {
            path,
            file,
            have: 0,
            hasher: Sha256::new(),
            total: None,
        };
        let len = part
            .file
            .metadata()
            .map_err(io_err("cannot read", &part.path))?
            .len();
        if len > 0 {
            let f = File::open(&part.path).map_err(io_err("cannot read", &part.path))?;
            let have = stream(
                f.take(len),
                cancel,
                None,
                &mut part.hasher,
                None,
                host,
                "checking the partial download",
            )
            .map_err(|e| {
                if cancel.is_cancelled() {
                    FetchError::Cancelled {
                        url: url.to_owned(),
                        received: len,
                    }
                } else {
                    io_err("cannot read", &part.path)(e)
                }
            })?;
            part.have = have;
            part.file
                .seek(std::io::SeekFrom::Start(have))
                .map_err(io_err("cannot seek in", &part.path))?;
        }
        Ok(part)
    }

    /// Starts over: the server cannot continue where the file ends.
    fn reset(&mut self) -> Result<(), FetchError> {
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(std::io::SeekFrom::Start(0)).map(|_| ()))
            .map_err(io_err("cannot truncate", &self.path))?;
        self.have = 0;
        self.hasher = Sha256::new();
        Ok(())
    }

    /// Writes `chunk` here, then hands it to the hashing thread: the hash of this
    /// chunk overlaps the write of the next one.
    fn append(&mut self, chunk: Chunk, hashing: &Hashing) -> Result<(), FetchError> {
        self.file
            .write_all(chunk.bytes())
            .map_err(io_err("cannot write", &self.path))?;
        self.have += chunk.len as u64;
        hashing.update(chunk);
        Ok(())
    }

    /// "N of M bytes", for messages.
    fn received(&self) -> String {
        match self.total {
            Some(t) => format!("{} of {t} bytes", self.have),
            None => format!("{} bytes", self.have),
        }
    }
}

/// What one HTTP attempt came to.
enum Attempt {
    Complete,
    /// Worth another try; the reason, in words.
    Retry(String),
    Fatal(FetchError),
}

/// `len` bytes read into `buf` (which stays `CHUNK` long, so it is never zeroed again).
struct Chunk {
    buf: Vec<u8>,
    len: usize,
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The SHA-256 of a stream, computed on a thread of its own from chunks already
/// written; each chunk's buffer then goes back to the worker (`recycle`).
struct Hashing {
    tx: SyncSender<Chunk>,
    thread: std::thread::JoinHandle<Sha256>,
}

impl Hashing {
    /// Continues from `state` (the hash of the bytes already in the file).
    fn start(state: Sha256, recycle: SyncSender<Vec<u8>>) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(QUEUE);
        let thread = std::thread::spawn(move || {
            let mut hasher = state;
            for chunk in rx {
                hasher.update(chunk.bytes());
                // A full pool, or a worker that is gone: the buffer is simply freed.
                let _ = recycle.try_send(chunk.buf);
            }
            hasher
        });
        Self { tx, thread }
    }

    /// Queues `chunk`; waits while the hasher is `QUEUE` chunks behind.
    fn update(&self, chunk: Chunk) {
        // Fails only if the thread is gone (a panic), which `finish` reports.
        let _ = self.tx.send(chunk);
    }

    /// The hash of everything queued, once the thread has caught up.
    fn finish(self) -> Sha256 {
        drop(self.tx);
        self.thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// What the worker thread sends.
enum Msg {
    Head {
        status: u16,
        length: Option<u64>,
        range: Option<String>,
    },
    Data(Chunk),
    End,
    Failed {
        cause: String,
        timed_out: bool,
    },
}

/// One GET (from byte `from` on), its body sent chunk by chunk, read into the buffers
/// that come back from the hasher (`pool`) when there are. Runs detached: when the
/// receiver is gone (stop, stall) it ends at its next send or read timeout.
fn worker(
    client: &http::Client,
    url: &str,
    from: u64,
    tx: &SyncSender<Msg>,
    pool: &Receiver<Vec<u8>>,
) {
    let mut req = client.get(url);
    if from > 0 {
        req = req.header(reqwest::header::RANGE, format!("bytes={from}-"));
    }
    let mut resp = match req.send() {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Msg::Failed {
                cause: crate::probes::http::error_chain(&e),
                timed_out: e.is_timeout(),
            });
            return;
        }
    };
    let range = resp
        .headers()
        .get(reqwest::header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let head = Msg::Head {
        status: resp.status().as_u16(),
        length: resp.content_length(),
        range,
    };
    if tx.send(head).is_err() || !resp.status().is_success() {
        return;
    }
    loop {
        let mut buf = pool.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
        let msg = match resp.read(&mut buf) {
            Ok(0) => Msg::End,
            Ok(len) => Msg::Data(Chunk { buf, len }),
            Err(e) => {
                let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                    || e.get_ref()
                        .and_then(|i| i.downcast_ref::<reqwest::Error>())
                        .is_some_and(reqwest::Error::is_timeout);
                Msg::Failed {
                    cause: crate::probes::http::error_chain(&e),
                    timed_out,
                }
            }
        };
        let last = !matches!(msg, Msg::Data(_));
        if tx.send(msg).is_err() || last {
            return;
        }
    }
}

/// `bytes START-END/TOTAL` → (START, TOTAL).
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (start, _) = span.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()))
}

/// Waits for the worker's next message, looking at the stop request every tick.
fn next(rx: &Receiver<Msg>, cancel: &Cancel, patience: Duration) -> Result<Option<Msg>, ()> {
    let deadline = Instant::now() + patience;
    loop {
        if cancel.is_cancelled() {
            return Err(());
        }
        match rx.recv_timeout(TICK) {
            Ok(m) => return Ok(Some(m)),
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
            Err(RecvTimeoutError::Timeout) if Instant::now() >= deadline => return Ok(None),
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

fn attempt(
    host: &Host,
    client: &http::Client,
    url: &str,
    part: &mut Part,
    cancel: &Cancel,
    tuning: &Tuning,
) -> Attempt {
    let cancelled = |part: &Part| {
        Attempt::Fatal(FetchError::Cancelled {
            url: url.to_owned(),
            received: part.have,
        })
    };
    let from = part.have;
    let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
    let (recycle, pool) = std::sync::mpsc::sync_channel(POOL);
    {
        let client = client.clone();
        let url = url.to_owned();
        std::thread::spawn(move || worker(&client, &url, from, &tx, &pool));
    }
    // The worker has its own timeouts; this is a backstop should it hang anyway.
    let patience = tuning.connect_timeout + tuning.read_timeout * 2;
    let (status, length, range) = match next(&rx, cancel, patience) {
        Err(()) => return cancelled(part),
        Ok(Some(Msg::Head {
            status,
            length,
            range,
        })) => (status, length, range),
        Ok(Some(Msg::Failed { cause, timed_out })) => {
            return Attempt::Retry(if timed_out {
                format!(
                    "no answer within {}s ({cause})",
                    tuning.read_timeout.as_secs_f64()
                )
            } else {
                cause
            });
        }
        Ok(_) => return Attempt::Retry("no answer from the server".into()),
    };
    match status {
        206 => match range.as_deref().and_then(parse_content_range) {
            Some((start, total)) if start == from => {
                part.total = total.or(part.total);
                host.note(&format!(
                    "[mattermost] resuming the download at byte {from} (HTTP Range)"
                ));
            }
            _ => {
                if let Err(e) = part.reset() {
                    return Attempt::Fatal(e);
                }
                return Attempt::Retry(format!(
                    "the server sent the wrong part of the file (Content-Range {range:?} for byte {from}); starting over"
                ));
            }
        },
        200..=299 => {
            if from > 0 {
                host.note(&format!(
                    "[mattermost] the server does not resume downloads (it ignored the Range request); starting again from the beginning ({from} bytes dropped)"
                ));
                if let Err(e) = part.reset() {
                    return Attempt::Fatal(e);
                }
            }
            part.total = length;
        }
        416 if from > 0 => {
            // The .part is not a prefix the server can continue (the file changed).
            if let Err(e) = part.reset() {
                return Attempt::Fatal(e);
            }
            return Attempt::Retry(format!(
                "the server cannot continue from byte {from} (HTTP 416); starting over"
            ));
        }
        408 | 429 | 500..=599 => {
            return Attempt::Retry(format!("the server answered HTTP {status}"));
        }
        _ => {
            return Attempt::Fatal(FetchError::Download {
                url: url.to_owned(),
                reason: format!(
                    "the server answered HTTP {status}{}",
                    if status == 404 {
                        " (is this version published on that server?)"
                    } else {
                        ""
                    }
                ),
            });
        }
    }
    let hashing = Hashing::start(std::mem::take(&mut part.hasher), recycle);
    let outcome = receive(host, &rx, part, &hashing, cancel, tuning, patience);
    part.hasher = hashing.finish();
    match outcome {
        Err(()) => cancelled(part),
        Ok(a) => a,
    }
}

/// The body, chunk by chunk, into `part` (and `hashing`). `Err` when stopped.
fn receive(
    host: &Host,
    rx: &Receiver<Msg>,
    part: &mut Part,
    hashing: &Hashing,
    cancel: &Cancel,
    tuning: &Tuning,
    patience: Duration,
) -> Result<Attempt, ()> {
    let label = "downloading";
    progress(host, label, part.have, part.total);
    let mut last_report = part.have;
    loop {
        match next(rx, cancel, patience)? {
            Some(Msg::Data(chunk)) => {
                if let Err(e) = part.append(chunk, hashing) {
                    return Ok(Attempt::Fatal(e));
                }
                if part.have - last_report >= 4 * 1024 * 1024 {
                    last_report = part.have;
                    progress(host, label, part.have, part.total);
                }
            }
            Some(Msg::End) => {
                progress(host, label, part.have, part.total);
                return Ok(match part.total {
                    Some(t) if part.have < t => {
                        Attempt::Retry(format!("the connection closed after {}", part.received()))
                    }
                    _ => Attempt::Complete,
                });
            }
            Some(Msg::Failed { cause, timed_out }) => {
                progress(host, label, part.have, part.total);
                return Ok(Attempt::Retry(if timed_out {
                    format!(
                        "no data for {}s after {} ({cause})",
                        tuning.read_timeout.as_secs_f64(),
                        part.received()
                    )
                } else {
                    format!("the connection closed after {} ({cause})", part.received())
                }));
            }
            Some(Msg::Head { .. }) => {
                return Ok(Attempt::Retry("unexpected second response head".into()));
            }
            None => {
                return Ok(Attempt::Retry(format!(
                    "no data for {}s after {}",
                    patience.as_secs_f64(),
                    part.received()
                )));
            }
        }
    }
}

/// Sleeps `d`, waking early when the operator stops the run.
fn sleep(d: Duration, cancel: &Cancel) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if cancel.is_cancelled() {
            return false;
        }
        std::thread::sleep(TICK.min(end.saturating_duration_since(Instant::now())));
    }
    !cancel.is_cancelled()
}

fn download(
    host: &Host,
    url: &str,
    expected: &str,
    cancel: &Cancel,
    tuning: &Tuning,
) -> Result<PathBuf, FetchError> {
    let name = url
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("mattermost.tar.gz");
    let final_path = cache_path(host, name)?;
    if reuse_cached(host, &final_path, expected, cancel)? {
        return Ok(final_path);
    }
    let fail = |reason: String| FetchError::Download {
        url: url.to_owned(),
        reason,
    };
    let client = download_client(tuning).map_err(fail)?;
    let part_path = final_path.with_file_name(format!("{name}.part"));
    let mut part = Part::open(part_path.clone(), host, cancel, url)?;
    if part.have > 0 {
        // A complete .part whose rename was interrupted needs no network at all.
        if hex(&part.hasher.clone().finalize()) == expected {
            part.file
                .sync_all()
                .map_err(io_err("cannot sync", &part_path))?;
            commit(host, &part_path, &final_path)?;
            return Ok(final_path);
        }
    }
    download_rest(host, &client, url, &mut part, &part_path, cancel, tuning)?;
    let actual = hex(&part.hasher.finalize());
    if actual != expected {
        drop(part.file);
        let _ = host.remove_file(&host.on_box(&part_path));
        return Err(FetchError::ChecksumMismatch {
            source_name: url.to_owned(),
            expected: expected.to_owned(),
            actual,
        });
    }
    part.file
        .sync_all()
        .map_err(io_err("cannot sync", &part_path))?;
    drop(part.file);
    commit(host, &part_path, &final_path)?;
    Ok(final_path)
}

/// [`download`] for a release with no known SHA-256: `verify` (the GPG signature
/// check) judges the complete file before it becomes the cached file, and its
/// answer (which key verified it) is returned with the path. A cached file or a
/// complete `.part` from an earlier run is verified again; one that fails is
/// removed (cached file) or resumed (`.part`); a fresh download that fails is deleted.
pub(super) fn download_verified_by(
    host: &Host,
    url: &str,
    cancel: &Cancel,
    tuning: &Tuning,
    verify: &dyn Fn(&Path) -> Result<String, FetchError>,
) -> Result<(PathBuf, String), FetchError> {
    let name = url
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("mattermost.tar.gz");
    let final_path = cache_path(host, name)?;
    if final_path.exists() {
        if let Ok(by) = verify(&final_path) {
            return Ok((final_path, by));
        }
        host.remove_file(&host.on_box(&final_path))
            .map_err(io_err("cannot remove", &final_path))?;
    }
    let client = download_client(tuning).map_err(|reason| FetchError::Download {
        url: url.to_owned(),
        reason,
    })?;
    let part_path = final_path.with_file_name(format!("{name}.part"));
    let mut part = Part::open(part_path.clone(), host, cancel, url)?;
    if part.have > 0 {
        if let Ok(by) = verify(&part_path) {
            commit(host, &part_path, &final_path)?;
            return Ok((final_path, by));
        }
    }
    download_rest(host, &client, url, &mut part, &part_path, cancel, tuning)?;
    part.file
        .sync_all()
        .map_err(io_err("cannot sync", &part_path))?;
    drop(part.file);
    match verify(&part_path) {
        Ok(by) => {
            commit(host, &part_path, &final_path)?;
            Ok((final_path, by))
        }
        Err(e) => {
            let _ = host.remove_file(&host.on_box(&part_path));
            Err(e)
        }
    }
}

/// Attempts until the whole file is in `part`, retrying with backoff.
fn fetch_into(
    host: &Host,
    client: &http::Client,
    url: &str,
    part: &mut Part,
    cancel: &Cancel,
    tuning: &Tuning,
) -> Result<(), FetchError> {
    let name = url.rsplit('/').next().unwrap_or(url);
    let fail = |reason: String| FetchError::Download {
        url: url.to_owned(),
        reason,
    };
    let mut tried = 1;
    loop {
        match attempt(host, client, url, part, cancel, tuning) {
            Attempt::Complete => break,
            Attempt::Fatal(e) => return Err(e),
            Attempt::Retry(cause) => {
                if tried >= tuning.attempts {
                    let kept = if part.have > 0 {
                        format!(
                            " {} are kept in {} and the next run resumes from there",
                            part.received(),
                            part.path.display()
                        )
                    } else {
                        String::new()
                    };
                    return Err(fail(format!(
                        "{cause}; gave up after {tried} attempts.{kept}"
                    )));
                }
                let delay = tuning.delay(tried);
                tried += 1;
                host.note(&format!(
                    "[mattermost] download of {url} interrupted: {cause}; attempt {tried} of {} in {:.1}s{}",
                    tuning.attempts,
                    delay.as_secs_f64(),
                    if part.have > 0 {
                        format!(", resuming at byte {}", part.have)
                    } else {
                        String::new()
                    }
                ));
                (host.events())(Event::Retry {
                    phase: P,
                    what: format!("download of {name}"),
                    cause: cause.clone(),
                    attempt: tried,
                    attempts: tuning.attempts,
                    delay,
                });
                if !sleep(delay, cancel) {
                    return Err(FetchError::Cancelled {
                        url: url.to_owned(),
                        received: part.have,
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
