//! Host tests of the download against a mirror that misbehaves on purpose: a small
//! HTTP/1.1 server on 127.0.0.1, written here, that stalls, cuts the connection or
//! ignores `Range` on the requests a test picks.

use std::io::{BufRead, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::host::{RunLog, SystemRunner};

/// What the mirror does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Serves the file, honouring `Range`.
    None,
    /// Sends the first half of what it should send, then goes quiet for that long.
    StallAtHalf(Duration),
    /// Sends the first half of what it should send, then closes the connection.
    CutAtHalf,
    /// Ignores `Range`: always 200 and the whole file.
    IgnoreRange,
    /// Ignores `Range`, sends a quarter of the file and closes.
    IgnoreRangeCutAtQuarter,
    /// Answers with this status and no body.
    Status(u16),
}

struct Mirror {
    url: String,
    /// The `Range` header of every request, in order.
    ranges: Arc<Mutex<Vec<Option<String>>>>,
}

/// A mirror serving `body` at /mattermost-test.tar.gz; request `i` gets `faults(i)`.
fn mirror(body: Arc<Vec<u8>>, faults: impl Fn(usize) -> Fault + Send + Sync + 'static) -> Mirror {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = ranges.clone();
    let faults = Arc::new(faults);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let body = body.clone();
            let seen = seen.clone();
            let faults = faults.clone();
            std::thread::spawn(move || serve(conn, &body, &seen, &*faults));
        }
    });
    Mirror {
        url: format!("http://{addr}/mattermost-test.tar.gz"),
        ranges,
    }
}

fn serve(
    conn: TcpStream,
    body: &[u8],
    seen: &Mutex<Vec<Option<String>>>,
    faults: &(dyn Fn(usize) -> Fault + Send + Sync),
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_owned());
            }
        }
    }
    let fault = {
        let mut seen = seen.lock().unwrap();
        seen.push(range.clone());
        faults(seen.len() - 1)
    };
    let ignore = matches!(fault, Fault::IgnoreRange | Fault::IgnoreRangeCutAtQuarter);
    let from = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|_| !ignore);
    let len = body.len();
    if let Fault::Status(code) = fault {
        let mut conn = conn;
        let _ = conn.write_all(
            format!("HTTP/1.1 {code} Trouble\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        return;
    }
    let (head, slice) = match from {
        Some(n) if n >= len => (
            format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ),
            &body[..0],
        ),
        Some(n) => (
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {n}-{}/{len}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                len - 1,
                len - n
            ),
            &body[n..],
        ),
        None => (
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n"
            ),
            body,
        ),
    };
    let mut conn = conn;
    if conn.write_all(head.as_bytes()).is_err() {
        return;
    }
    let sent = match fault {
        Fault::StallAtHalf(_) | Fault::CutAtHalf => &slice[..slice.len() / 2],
        Fault::IgnoreRangeCutAtQuarter => &slice[..slice.len() / 4],
        Fault::None | Fault::IgnoreRange | Fault::Status(_) => slice,
    };
    let _ = conn.write_all(sent).and_then(|()| conn.flush());
    if let Fault::StallAtHalf(d) = fault {
        std::thread::sleep(d);
    }
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

/// 2 MiB that do not compress and are not all alike.
fn tarball() -> Arc<Vec<u8>> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes = (0..2 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect();
    Arc::new(bytes)
}

fn sha(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

struct Fixture {
    dir: tempfile::TempDir,
    host: Host,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let rec = events.clone();
        let host = Host::new(
            dir.path().to_owned(),
            RunLog::create(&dir.path().join("log")),
            Arc::new(move |e| rec.lock().unwrap().push(e)),
            Box::new(SystemRunner),
        );
        Self { dir, host, events }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.host.log_path()).unwrap()
    }

    fn retries(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::Retry { cause, attempt, .. } => Some(format!("{attempt}: {cause}")),
                _ => None,
            })
            .collect()
    }

    fn cache(&self, name: &str) -> PathBuf {
        self.dir
            .path()
            .join(CACHE_DIR.trim_start_matches('/'))
            .join(name)
    }
}

fn release(source: Source, sha256: String) -> ReleasePlan {
    ReleasePlan {
        version: "10.5.2".parse().unwrap(),
        edition: "team",
        source,
        sha256,
        sha256_from: "test",
        signature: None,
    }
}

/// Quick to give up on a silent mirror; quick to retry.
fn quick() -> Tuning {
    Tuning {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(1),
        attempts: 5,
        backoff: Duration::from_millis(50),
    }
}

const HALF: usize = 1024 * 1024;

#[test]
fn defaults_are_rustups_thirty_seconds() {
    let t = Tuning::default();
    assert_eq!(t.connect_timeout, Duration::from_secs(30));
    assert_eq!(t.read_timeout, Duration::from_secs(30));
    assert!(t.attempts > 1);
    assert_eq!(t.delay(1), t.backoff);
    assert_eq!(t.delay(2), t.backoff * 2);
    assert_eq!(t.delay(20), Duration::from_secs(30));
}

#[test]
fn mirror_stalling_at_half_for_three_minutes_is_resumed_with_range() {
    let body = tarball();
    let m = mirror(body.clone(), |i| {
        if i == 0 {
            Fault::StallAtHalf(Duration::from_secs(180))
        } else {
            Fault::None
        }
    });
    let f = Fixture::new();
    let started = Instant::now();
    let path = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(std::fs::read(&path).unwrap(), *body);
    assert_eq!(path, f.cache("mattermost-test.tar.gz"));
    assert!(!f.cache("mattermost-test.tar.gz.part").exists());
    let ranges = m.ranges.lock().unwrap().clone();
    assert_eq!(ranges, vec![None, Some(format!("bytes={HALF}-"))]);
    let retries = f.retries();
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert!(
        retries[0].contains(&format!(
            "no data for 1s after {HALF} of {} bytes",
            body.len()
        )),
        "{retries:?}"
    );
    let log = f.log();
    assert!(log.contains("interrupted: no data for 1s"), "{log}");
    assert!(
        log.contains(&format!("resuming the download at byte {HALF}")),
        "{log}"
    );
}

#[test]
fn connection_cut_at_half_is_resumed_with_range() {
    let body = tarball();
    let m = mirror(body.clone(), |i| {
        if i == 0 {
            Fault::CutAtHalf
        } else {
            Fault::None
        }
    });
    let f = Fixture::new();
    let path = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), *body);
    let ranges = m.ranges.lock().unwrap().clone();
    assert_eq!(ranges, vec![None, Some(format!("bytes={HALF}-"))]);
    let retries = f.retries();
    assert_eq!(retries.len(), 1, "{retries:?}");
    // The cause chain, not "request or response body error" alone.
    assert!(
        retries[0].contains(&format!(
            "the connection closed after {HALF} of {} bytes",
            body.len()
        )),
        "{retries:?}"
    );
    assert!(
        retries[0].contains("end of file before message length reached"),
        "{retries:?}"
    );
}

#[test]
fn mirror_ignoring_range_restarts_cleanly_and_completes() {
    let body = tarball();
    let m = mirror(body.clone(), |i| {
        if i == 0 {
            Fault::CutAtHalf
        } else {
            Fault::IgnoreRange
        }
    });
    let f = Fixture::new();
    let path = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap();
    // The half from the first attempt was dropped, not glued in front of the whole.
    assert_eq!(std::fs::read(&path).unwrap(), *body);
    assert_eq!(m.ranges.lock().unwrap()[1], Some(format!("bytes={HALF}-")));
    let log = f.log();
    assert!(log.contains("ignored the Range request"), "{log}");
}

#[test]
fn stop_during_a_stall_returns_within_two_seconds_and_the_next_run_resumes() {
    let body = tarball();
    let m = mirror(body.clone(), |i| {
        if i == 0 {
            Fault::StallAtHalf(Duration::from_secs(180))
        } else {
            Fault::None
        }
    });
    let f = Fixture::new();
    let cancel = Cancel::default();
    let part = f.cache("mattermost-test.tar.gz.part");
    let stopper = {
        let cancel = cancel.clone();
        let part = part.clone();
        std::thread::spawn(move || {
            // Wait until the mirror has gone quiet with half the file sent.
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::fs::metadata(&part).map_or(0, |m| m.len()) < HALF as u64 {
                assert!(Instant::now() < deadline, "the first half never arrived");
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(500));
            cancel.cancel();
            Instant::now()
        })
    };
    // A read timeout far beyond the test: only the stop request can end the wait.
    let patient = Tuning {
        read_timeout: Duration::from_secs(120),
        ..quick()
    };
    let r = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(&body)),
        &cancel,
        &patient,
    );
    let returned = Instant::now();
    let stopped_at = stopper.join().unwrap();
    assert!(
        returned.duration_since(stopped_at) < Duration::from_secs(2),
        "returned {:?} after the stop",
        returned.duration_since(stopped_at)
    );
    match r {
        Err(FetchError::Cancelled { received, .. }) => assert_eq!(received, HALF as u64),
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert_eq!(std::fs::metadata(&part).unwrap().len(), HALF as u64);

    // The next run hashes the half it has and asks for the rest.
    let path = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), *body);
    assert_eq!(
        m.ranges.lock().unwrap().clone(),
        vec![None, Some(format!("bytes={HALF}-"))]
    );
    assert!(!part.exists());
}

#[test]
fn after_the_last_retry_the_error_names_url_bytes_and_the_way_out() {
    let body = tarball();
    let m = mirror(body.clone(), |_| Fault::IgnoreRangeCutAtQuarter);
    let f = Fixture::new();
    let tuning = Tuning {
        attempts: 3,
        ..quick()
    };
    let err = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(&body)),
        &Cancel::default(),
        &tuning,
    )
    .unwrap_err();
    assert_eq!(m.ranges.lock().unwrap().len(), 3);
    assert_eq!(f.retries().len(), 2);
    let e = PhaseError::from(err);
    let quarter = body.len() / 4;
    assert!(e.cause.contains(&m.url), "{}", e.cause);
    assert!(
        e.cause.contains(&format!(
            "the connection closed after {quarter} of {} bytes",
            body.len()
        )),
        "{}",
        e.cause
    );
    assert!(e.cause.contains("gave up after 3 attempts"), "{}", e.cause);
    let fix = e.fix.unwrap();
    assert!(
        fix.contains("download_base_url") && fix.contains("tarball"),
        "{fix}"
    );
    // What arrived is kept for the next run.
    assert_eq!(
        std::fs::metadata(f.cache("mattermost-test.tar.gz.part"))
            .unwrap()
            .len(),
        quarter as u64
    );
}

#[test]
fn a_busy_server_is_retried_and_a_missing_file_is_not() {
    let body = tarball();
    let m = mirror(body.clone(), |i| {
        if i == 0 {
            Fault::Status(503)
        } else {
            Fault::None
        }
    });
    let f = Fixture::new();
    let path = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), *body);
    assert_eq!(
        f.retries(),
        vec!["2: the server answered HTTP 503".to_owned()]
    );

    let m = mirror(body.clone(), |_| Fault::Status(404));
    let f = Fixture::new();
    let err = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap_err();
    assert_eq!(m.ranges.lock().unwrap().len(), 1, "a 404 is not retried");
    assert!(err.to_string().contains("HTTP 404"), "{err}");
    assert!(
        !f.cache("mattermost-test.tar.gz.part").exists(),
        "no empty .part is left behind"
    );
}

#[test]
fn checksum_mismatch_keeps_nothing() {
    let body = tarball();
    let m = mirror(body.clone(), |_| Fault::None);
    let f = Fixture::new();
    let err = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(b"something else")),
        &Cancel::default(),
        &quick(),
    )
    .unwrap_err();
    assert!(matches!(err, FetchError::ChecksumMismatch { .. }), "{err}");
    assert!(!f.cache("mattermost-test.tar.gz").exists());
    assert!(!f.cache("mattermost-test.tar.gz.part").exists());
}

#[test]
fn a_partial_file_from_an_earlier_run_is_hashed_and_continued() {
    let body = tarball();
    let m = mirror(body.clone(), |_| Fault::None);
    let f = Fixture::new();
    let part = f.cache("mattermost-test.tar.gz.part");
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    std::fs::write(&part, &body[..HALF]).unwrap();
    let path = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), *body);
    assert_eq!(
        m.ranges.lock().unwrap().clone(),
        vec![Some(format!("bytes={HALF}-"))]
    );

    // A damaged partial file is caught by the hash over the whole file.
    let f = Fixture::new();
    let part = f.cache("mattermost-test.tar.gz.part");
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    let mut bad = body[..HALF].to_vec();
    bad[10] ^= 0xff;
    std::fs::write(&part, &bad).unwrap();
    let err = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap_err();
    assert!(matches!(err, FetchError::ChecksumMismatch { .. }), "{err}");
    assert!(!part.exists());
}

#[test]
fn local_tarball_is_unpacked_from_a_copy_that_cannot_be_swapped() {
    let body = tarball();
    let f = Fixture::new();
    let theirs = f
        .dir
        .path()
        .join("home/op/mattermost-10.5.2-linux-amd64.tar.gz");
    std::fs::create_dir_all(theirs.parent().unwrap()).unwrap();
    std::fs::write(&theirs, &*body).unwrap();
    let path = fetch_with(
        &f.host,
        &release(
            Source::File(PathBuf::from(
                "/home/op/mattermost-10.5.2-linux-amd64.tar.gz",
            )),
            sha(&body),
        ),
        &Cancel::default(),
        &quick(),
    )
    .unwrap();
    assert_eq!(path, f.cache("mattermost-10.5.2-linux-amd64.tar.gz"));
    // The operator's file is swapped after the hash was checked...
    std::fs::write(&theirs, b"not the release").unwrap();
    // ...and what gets unpacked is still the verified bytes.
    assert_eq!(std::fs::read(&path).unwrap(), *body);
    assert!(
        !f.cache("mattermost-10.5.2-linux-amd64.tar.gz.part")
            .exists()
    );

    // A local file with the wrong hash leaves no copy behind.
    let f = Fixture::new();
    std::fs::create_dir_all(f.dir.path().join("tmp")).unwrap();
    std::fs::write(f.dir.path().join("tmp/mm.tar.gz"), b"wrong").unwrap();
    let err = fetch_with(
        &f.host,
        &release(Source::File(PathBuf::from("/tmp/mm.tar.gz")), sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap_err();
    assert!(matches!(err, FetchError::ChecksumMismatch { .. }), "{err}");
    assert!(!f.cache("mm.tar.gz").exists() && !f.cache("mm.tar.gz.part").exists());

    // One placed in the cache by the operator is checked there and never removed.
    let f = Fixture::new();
    let placed = f.cache("mm.tar.gz");
    std::fs::create_dir_all(placed.parent().unwrap()).unwrap();
    std::fs::write(&placed, b"wrong").unwrap();
    let cached = Source::File(PathBuf::from(CACHE_DIR).join("mm.tar.gz"));
    let err = fetch_with(
        &f.host,
        &release(cached.clone(), sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap_err();
    assert!(matches!(err, FetchError::ChecksumMismatch { .. }), "{err}");
    assert_eq!(std::fs::read(&placed).unwrap(), b"wrong");
    std::fs::write(&placed, &*body).unwrap();
    let path = fetch_with(
        &f.host,
        &release(cached, sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap();
    assert_eq!(path, placed);
}

#[test]
fn content_range_is_parsed() {
    assert_eq!(
        parse_content_range("bytes 100-199/200"),
        Some((100, Some(200)))
    );
    assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
    assert_eq!(parse_content_range("items 1-2/3"), None);
}

#[test]
fn hex_matches_sha256sum() {
    let d = Sha256::digest(b"abc");
    assert_eq!(
        hex(&d),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn the_hashing_thread_hashes_what_was_written_and_gives_the_buffers_back() {
    let body = tarball();
    let (recycle, pool) = std::sync::mpsc::sync_channel(POOL);
    // A hash already under way (the bytes of a .part from an earlier run) is continued.
    let mut state = Sha256::new();
    state.update(&body[..1000]);
    let hashing = Hashing::start(state, recycle);
    // Chunks of every length a read can return, each in a buffer CHUNK long.
    let mut at = 1000;
    let mut sizes = [1, CHUNK, 7, 4096, CHUNK - 1, 65_536].into_iter().cycle();
    let mut sent = 0;
    while at < body.len() {
        let len = sizes.next().unwrap().min(body.len() - at);
        let mut buf = pool.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
        assert_eq!(buf.len(), CHUNK, "a recycled buffer keeps its length");
        buf[..len].copy_from_slice(&body[at..at + len]);
        hashing.update(Chunk { buf, len });
        at += len;
        sent += 1;
    }
    assert_eq!(hex(&hashing.finish().finalize()), sha(&body));
    // Every buffer the pool had room for came back to be read into again.
    let back = pool.try_iter().count();
    assert!(
        back > 0 && back <= POOL,
        "{back} of {sent} buffers came back"
    );
}

#[test]
fn a_download_of_many_chunks_is_written_and_hashed_whole() {
    // 32 MiB: far more chunks than buffers ever exist at once.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let body: Arc<Vec<u8>> = Arc::new(
        (0..32 * 1024 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[5]
            })
            .collect(),
    );
    let m = mirror(body.clone(), |_| Fault::None);
    let f = Fixture::new();
    let path = fetch_with(
        &f.host,
        &release(Source::Url(m.url.clone()), sha(&body)),
        &Cancel::default(),
        &quick(),
    )
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), *body);
    assert_eq!(f.retries(), Vec::<String>::new());
}
