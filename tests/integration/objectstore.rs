//! The object storage probe (src/phases/objectstore.rs) against S3 servers.
//!
//! `moto_server` (PyPI `moto[server]`) is a MOCK of S3, used here only to exercise the
//! client end to end: signed URLs, path-style keys under the prefix, the read-back
//! compare, the delete, S3's NoSuchBucket document, and that no other object of the
//! bucket is touched. moto does not check these requests' signatures: out of the box
//! it accepts any key, and with INITIAL_NO_AUTH_ACTION_COUNT set it checks only the
//! Authorization header and answers a query-signed (presigned) SigV4 request, which
//! is what this client sends, with a 500 (moto 5.2.1, measured). So wrong keys and
//! refused permissions are proved against a real store only:
//! `a_real_store_refuses_wrong_keys_as_mattermost_would_see`, ignored here, runs
//! against the Ceph RADOS gateway of tests/freshbox/s3.sh.
//!
//! Without moto_server the moto tests skip loudly; with MMS_REQUIRE_S3=1 (CI) they
//! fail (tests/run.sh installs moto).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mattermost_setup::answers::{ObjectStorage, Secret};
use mattermost_setup::host::{Host, RunLog, SystemRunner};
use mattermost_setup::phases::objectstore::checks;
use mattermost_setup::vocab::{Check, PhaseId};

use crate::support::databases::{find_program, free_port};

/// A moto S3 server on 127.0.0.1, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start() -> Option<Self> {
        let Some(program) = find_program(&["moto_server"], &[]) else {
            let what = "moto_server is not installed (pip install 'moto[server]'); the object \
                        storage probe is then tested only by its unit tests";
            assert!(
                !std::env::var("MMS_REQUIRE_S3").is_ok_and(|v| v == "1"),
                "MMS_REQUIRE_S3=1 but {what}"
            );
            eprintln!("\n*** SKIPPING: {what} (MMS_REQUIRE_S3=1 makes this a failure) ***\n");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("moto.log")).unwrap();
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start moto_server");
        let moto = Self {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on 127.0.0.1:{port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A request as the bucket's owner. moto checks no signature, but answers an
    /// anonymous GET of an object with 403: an Authorization header of the right
    /// shape, with a made-up signature, is enough.
    fn send(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        // reqwest is built without a crypto provider of its own (`rustls-no-provider`):
        // this helper may be the first client of the test process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .build()
            .unwrap();
        let url = format!("http://{}{path}", self.endpoint());
        let r = client
            .request(method.parse().unwrap(), &url)
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261129/us-east-1/s3/aws4_request, \
                 SignedHeaders=host, Signature=00",
            )
            .body(body.to_owned())
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    /// Every key in the bucket with its content.
    fn objects(&self, bucket: &str) -> Vec<(String, String)> {
        let (status, list) = self.send("GET", &format!("/{bucket}?list-type=2"), "");
        assert_eq!(status, 200, "{list}");
        list.split("<Key>")
            .skip(1)
            .map(|s| s.split("</Key>").next().unwrap().to_owned())
            .map(|k| {
                let (_, body) = self.send("GET", &format!("/{bucket}/{k}"), "");
                (k, body)
            })
            .collect()
    }
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn storage(endpoint: &str, bucket: &str, prefix: &str) -> ObjectStorage {
    ObjectStorage {
        bucket: bucket.into(),
        endpoint: endpoint.into(),
        region: "us-east-1".into(),
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_access_key: Secret::new(SECRET),
        ssl: false,
        path_prefix: prefix.into(),
    }
}

/// A host on a temp root whose log has the S3 secret registered, as
/// engine::register_secrets does.
fn host(dir: &std::path::Path, secret: &str) -> Host {
    let h = Host::new(
        dir.to_owned(),
        RunLog::create(&dir.join("log")),
        Arc::new(|_| {}),
        Box::new(SystemRunner),
    );
    h.add_secret(secret);
    h
}

fn one(c: Vec<Check>) -> Check {
    assert_eq!(c.len(), 1, "{c:?}");
    // What the operator would read, in the test's output.
    eprintln!(
        "{}\n  {}\n  fix: {}",
        c[0].name,
        c[0].detail,
        c[0].fix.as_deref().unwrap_or("-")
    );
    c.into_iter().next().unwrap()
}

#[test]
fn moto_probe_writes_reads_and_deletes_its_object_and_touches_nothing_else() {
    let Some(moto) = Moto::start() else { return };
    assert_eq!(moto.send("PUT", "/mm-files", "").0, 200);
    // The operator's files: one under the prefix, one beside it.
    let theirs = [
        ("team/a/20261129/teams/x/file.txt", "uploaded file"),
        ("other/keep.txt", "not ours"),
    ];
    for (k, v) in theirs {
        assert_eq!(moto.send("PUT", &format!("/mm-files/{k}"), v).0, 200);
    }
    let dir = tempfile::tempdir().unwrap();
    for prefix in ["team/a", ""] {
        let h = host(dir.path(), SECRET);
        let c = one(checks(
            &h,
            &storage(&moto.endpoint(), "mm-files", prefix),
            PhaseId::Acceptance,
        ));
        assert!(c.passed(), "{c:?}");
        assert_eq!(
            c.name,
            format!(
                "object storage s3://mm-files at {}: write, read, delete",
                moto.endpoint()
            )
        );
        let shown = if prefix.is_empty() {
            format!(
                "http://{}/mm-files/mattermost-setup-probe/",
                moto.endpoint()
            )
        } else {
            format!(
                "http://{}/mm-files/team/a/mattermost-setup-probe/",
                moto.endpoint()
            )
        };
        assert!(
            c.detail.starts_with("wrote, read back and deleted ") && c.detail.contains(&shown),
            "{}",
            c.detail
        );
        let log = std::fs::read_to_string(h.log_path()).unwrap();
        assert!(
            log.contains("PUT http://") && log.contains("DELETE http://"),
            "{log}"
        );
        assert!(
            !log.contains(SECRET) && !log.contains("X-Amz-Signature"),
            "{log}"
        );
    }
    // Only the operator's objects remain, unchanged.
    let mut left = moto.objects("mm-files");
    left.sort();
    let mut want: Vec<(String, String)> = theirs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    assert_eq!(left, want);
}

#[test]
fn moto_a_missing_bucket_is_named_with_how_to_create_it_and_nothing_is_created() {
    let Some(moto) = Moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let c = one(checks(
        &host(dir.path(), SECRET),
        &storage(&moto.endpoint(), "no-such-bucket", "p"),
        PhaseId::Acceptance,
    ));
    assert!(!c.passed());
    assert!(
        c.detail.starts_with(&format!(
            "PUT http://{}/no-such-bucket/p/mattermost-setup-probe/",
            moto.endpoint()
        )) && c.detail.contains("HTTP 404 NoSuchBucket"),
        "{}",
        c.detail
    );
    let fix = c.fix.unwrap();
    assert!(
        fix.contains("create the bucket \"no-such-bucket\"") && fix.contains("s3_bucket"),
        "{fix}"
    );
    let (_, buckets) = moto.send("GET", "/", "");
    assert!(!buckets.contains("no-such-bucket"), "{buckets}");
}

#[test]
fn moto_a_wrong_port_or_scheme_names_the_endpoint_to_check() {
    let Some(moto) = Moto::start() else { return };
    assert_eq!(moto.send("PUT", "/mm-files", "").0, 200);
    let dir = tempfile::tempdir().unwrap();
    let refused = format!("127.0.0.1:{}", free_port());
    let c = one(checks(
        &host(dir.path(), SECRET),
        &storage(&refused, "mm-files", ""),
        PhaseId::Acceptance,
    ));
    assert!(!c.passed());
    assert!(c.detail.contains("connection refused"), "{}", c.detail);
    assert!(
        c.fix.as_deref().unwrap().contains("check s3_endpoint"),
        "{c:?}"
    );
    // s3_ssl true against a plain-http store: the answer is not TLS, and the fix
    // says s3_ssl.
    let c = one(checks(
        &host(dir.path(), SECRET),
        &ObjectStorage {
            ssl: true,
            ..storage(&moto.endpoint(), "mm-files", "")
        },
        PhaseId::Acceptance,
    ));
    assert!(!c.passed());
    assert!(
        c.detail
            .starts_with(&format!("PUT https://{}/", moto.endpoint())),
        "{}",
        c.detail
    );
    assert!(c.detail.contains("the answer is not TLS"), "{}", c.detail);
    assert!(
        c.fix.as_deref().unwrap().contains("set s3_ssl to false"),
        "{c:?}"
    );
}

/// Against a real store: the Ceph RADOS gateway of tests/freshbox/s3.sh, which checks
/// SigV4 signatures (moto does not). Run it with the store's environment:
///
/// ```text
/// bash tests/freshbox/s3.sh up NS ADDR PORT && bash tests/freshbox/s3.sh mkbucket NS mm-probe
/// eval "$(bash tests/freshbox/s3.sh env NS)"; export S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION
/// S3_BUCKET=mm-probe ip netns exec NS cargo test --release --test integration \
///     a_real_store_refuses_wrong_keys -- --ignored
/// ```
/// (`ip netns exec NS`: the gateway listens in its namespace; any place that reaches
/// ADDR:PORT will do.) With `S3CMD_CONFIG=$FRESHBOX_LAB/s3/NS/s3cfg` as well, it sets a
/// bucket policy with s3cmd that denies s3:GetObject under `noread/` and
/// s3:DeleteObject under `nodelete/`, and checks that each refusal names the missing
/// permission, that a refused read still deletes the probe object, and that a refused
/// delete names the object left (one probe object per run stays under `nodelete/`).
#[test]
#[ignore = "needs a real S3 store: tests/freshbox/s3.sh (Ceph RGW); see the doc comment"]
fn a_real_store_refuses_wrong_keys_as_mattermost_would_see() {
    let var = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| {
            panic!(
                "{k} is not set: run `eval \"$(tests/freshbox/s3.sh env NS)\"` and set S3_BUCKET"
            )
        })
    };
    let url = var("S3_ENDPOINT");
    let (ssl, endpoint) = match url.split_once("://") {
        Some(("https", e)) => (true, e.to_owned()),
        Some((_, e)) => (false, e.to_owned()),
        None => (false, url.clone()),
    };
    let (key, secret, bucket) = (var("S3_ACCESS_KEY"), var("S3_SECRET_KEY"), var("S3_BUCKET"));
    let good = ObjectStorage {
        bucket: bucket.clone(),
        endpoint,
        region: std::env::var("S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
        access_key_id: key.clone(),
        secret_access_key: Secret::new(secret.clone()),
        ssl,
        path_prefix: "mattermost-setup-test".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |s: &ObjectStorage| one(checks(&host(dir.path(), &secret), s, PhaseId::Acceptance));

    let c = run(&good);
    assert!(c.passed(), "{c:?}");

    let c = run(&ObjectStorage {
        secret_access_key: Secret::new(format!("{secret}x")),
        ..good.clone()
    });
    assert!(!c.passed());
    assert!(
        c.detail.contains("HTTP 403 SignatureDoesNotMatch"),
        "{}",
        c.detail
    );
    assert!(
        c.fix
            .as_deref()
            .unwrap()
            .contains("set s3_secret_access_key"),
        "{c:?}"
    );

    let c = run(&ObjectStorage {
        access_key_id: "AKIANOSUCHKEY0000000".into(),
        ..good.clone()
    });
    assert!(!c.passed());
    assert!(
        c.detail.contains("HTTP 403 InvalidAccessKeyId"),
        "{}",
        c.detail
    );
    assert!(
        c.fix.as_deref().unwrap().contains("set s3_access_key_id"),
        "{c:?}"
    );

    let c = run(&ObjectStorage {
        bucket: format!("{bucket}-missing"),
        ..good.clone()
    });
    assert!(!c.passed());
    assert!(c.detail.contains("HTTP 404 NoSuchBucket"), "{}", c.detail);
    assert!(
        c.fix.as_deref().unwrap().contains("create the bucket"),
        "{c:?}"
    );

    let Ok(s3cfg) = std::env::var("S3CMD_CONFIG") else {
        eprintln!("\n*** S3CMD_CONFIG is not set: the AccessDenied part is not run ***\n");
        return;
    };
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        format!(
            r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Deny","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::{bucket}/noread/*"]}},
            {{"Effect":"Deny","Principal":"*","Action":["s3:DeleteObject"],"Resource":["arn:aws:s3:::{bucket}/nodelete/*"]}}]}}"#
        ),
    )
    .unwrap();
    let out = Command::new("s3cmd")
        .arg("-c")
        .arg(&s3cfg)
        .arg("setpolicy")
        .arg(&policy)
        .arg(format!("s3://{bucket}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "s3cmd setpolicy: {out:?}");

    let c = run(&ObjectStorage {
        path_prefix: "noread".into(),
        ..good.clone()
    });
    assert!(!c.passed());
    assert!(
        c.detail.starts_with("GET ")
            && c.detail.contains("HTTP 403 AccessDenied")
            && c.detail.ends_with("the probe object was deleted"),
        "{}",
        c.detail
    );
    assert!(
        c.fix.as_deref().unwrap().contains(&format!(
            "grant it s3:GetObject on arn:aws:s3:::{bucket}/noread/*"
        )),
        "{c:?}"
    );

    let c = run(&ObjectStorage {
        path_prefix: "nodelete".into(),
        ..good.clone()
    });
    assert!(!c.passed());
    assert!(
        c.detail.starts_with("DELETE ")
            && c.detail.contains("HTTP 403 AccessDenied")
            && c.detail.contains("nodelete/mattermost-setup-probe/")
            && c.detail.ends_with("is left in the bucket"),
        "{}",
        c.detail
    );
    assert!(
        c.fix.as_deref().unwrap().contains("s3:DeleteObject"),
        "{c:?}"
    );
}
