//! The S3-compatible object storage an app machine keeps its files in, checked as
//! Mattermost will use it: a probe object is written under the path prefix, read back
//! and compared, and deleted (issue 13). The probe's key is
//! `{s3_path_prefix}/mattermost-setup-probe/<random hex>` — no other key of the bucket
//! is ever read, written or deleted — and it is deleted whatever the read found.
//! A failure names the request, the store's answer and the answers key to fix.

use crate::answers::ObjectStorage;
use crate::host::Host;
use crate::host::s3::{self, Fault, Reply, Store, Unanswered, Verb};
use crate::vocab::{Check, PhaseId};

/// The folder (under the path prefix) of the probe objects.
pub const PROBE_DIR: &str = "mattermost-setup-probe";

/// The object storage check: write, read back, delete a probe object.
pub fn checks(host: &Host, s3: &ObjectStorage, phase: PhaseId) -> Vec<Check> {
    let name = format!(
        "object storage s3://{} at {}: write, read, delete",
        s3.bucket, s3.endpoint
    );
    vec![match probe(host, s3) {
        Ok(detail) => Check::ok(phase, name, host.redact(&detail)),
        Err((detail, None)) => Check::fail(phase, name, host.redact(&detail)),
        Err((detail, Some(fix))) => {
            Check::fail(phase, name, host.redact(&detail)).with_fix(host.redact(&fix))
        }
    }]
}

/// The key of a probe object: Mattermost joins `AmazonS3PathPrefix` and a file's path
/// with Go's `filepath.Join` (server/platform/shared/filestore/s3store.go), so an
/// empty prefix adds nothing.
pub fn probe_key(prefix: &str, token: &str) -> String {
    if prefix.is_empty() {
        format!("{PROBE_DIR}/{token}")
    } else {
        format!("{prefix}/{PROBE_DIR}/{token}")
    }
}

fn random_hex(bytes: usize) -> Result<String, getrandom::Error> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(buf
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
        .map(char::from)
        .collect())
}

/// What was done, or what failed and the fix.
fn probe(host: &Host, s3: &ObjectStorage) -> Result<String, (String, Option<String>)> {
    let store = match Store::new(&s3::Config {
        endpoint: &s3.endpoint,
        ssl: s3.ssl,
        bucket: &s3.bucket,
        region: &s3.region,
        access_key_id: &s3.access_key_id,
        secret_access_key: s3.secret_access_key.expose(),
    }) {
        Ok(s) => s,
        Err(e) => return Err((e, Some("write s3_endpoint as host or host:port".into()))),
    };
    let (token, content) = match (random_hex(16), random_hex(32)) {
        (Ok(t), Ok(c)) => (t, format!("mattermost-setup probe {c}\n")),
        (Err(e), _) | (_, Err(e)) => {
            return Err((format!("no random bytes for the probe: {e}"), None));
        }
    };
    let key = probe_key(&s3.path_prefix, &token);
    let url = store.shown_url(&key);
    host.note(&format!(
        "object storage: write, read back and delete {url} ({}, {} s per request)",
        store.style(),
        s3::TIMEOUT.as_secs()
    ));
    let log = |verb: Verb, r: &Result<Reply, Unanswered>| {
        host.note_quiet(&match r {
            Ok(r) => format!(
                "  {} {url}: HTTP {}{}",
                verb.method(),
                r.status,
                r.code.as_ref().map(|c| format!(" {c}")).unwrap_or_default()
            ),
            Err(e) => format!("  {e}"),
        });
    };

    let put = store.put(&key, content.as_bytes());
    log(Verb::Put, &put);
    match put {
        Ok(r) if r.success() => {}
        Ok(r) => {
            let (detail, fix) = refused(Verb::Put, &r, s3, &url);
            return Err((detail, Some(fix)));
        }
        Err(e) => {
            return Err((e.to_string(), Some(unanswered_fix(&e, s3))));
        }
    }

    let get = store.get(&key);
    log(Verb::Get, &get);
    let read_problem = match get {
        Ok(r) if r.success() && r.body == content.as_bytes() => None,
        Ok(r) if r.success() => Some((
            format!(
                "GET {url}: read back {} bytes that differ from the {} bytes written",
                r.body.len(),
                content.len()
            ),
            "something between this box and the store changes objects (a proxy or a \
             gateway that is not S3-compatible): point s3_endpoint at the store itself"
                .to_owned(),
        )),
        Ok(r) => Some(refused(Verb::Get, &r, s3, &url)),
        Err(e) => Some((e.to_string(), unanswered_fix(&e, s3))),
    };

    // Deleted whatever the read found: the probe leaves nothing behind.
    let delete = store.delete(&key);
    log(Verb::Delete, &delete);
    let delete_problem = match delete {
        Ok(r) if r.success() => None,
        Ok(r) => Some(refused(Verb::Delete, &r, s3, &url)),
        Err(e) => Some((e.to_string(), unanswered_fix(&e, s3))),
    };

    match (read_problem, delete_problem) {
        (None, None) => Ok(format!(
            "wrote, read back and deleted {} bytes at {url} ({}, {})",
            content.len(),
            store.style(),
            if s3.ssl { "https" } else { "http" }
        )),
        (Some((d, f)), None) => Err((format!("{d}; the probe object was deleted"), Some(f))),
        (None, Some((d, f))) => Err((
            format!("{d}; the probe object {key} is left in the bucket"),
            Some(format!(
                "{f}; then delete {key} (a {} byte probe)",
                content.len()
            )),
        )),
        (Some((d1, f1)), Some((d2, f2))) => Err((
            format!("{d1}; {d2}: the probe object {key} is left in the bucket"),
            Some(format!("{f1}; {f2}; then delete {key}")),
        )),
    }
}

/// The permission each request needs (AWS IAM / Ceph bucket policy action).
fn permission(verb: Verb) -> &'static str {
    match verb {
        Verb::Put => "s3:PutObject",
        Verb::Get => "s3:GetObject",
        Verb::Delete => "s3:DeleteObject",
    }
}

/// The store answered `verb` with an error: what it said, and what to do.
pub fn refused(verb: Verb, r: &Reply, s3: &ObjectStorage, url: &str) -> (String, String) {
    let said = match (&r.code, &r.message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.clone(),
        (None, _) => "no S3 error document".to_owned(),
    };
    let detail = format!("{} {url}: HTTP {} {said}", verb.method(), r.status);
    let message = r
        .message
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let resource = if s3.path_prefix.is_empty() {
        format!("arn:aws:s3:::{}/*", s3.bucket)
    } else {
        format!("arn:aws:s3:::{}/{}/*", s3.bucket, s3.path_prefix)
    };
    let clock = "this box's clock and the store's differ by more than the signature allows: \
                 set the time (`timedatectl set-ntp true`, or check the store's clock)";
    let fix = match r.code.as_deref() {
        Some("InvalidAccessKeyId") => format!(
            "the store has no access key \"{}\": set s3_access_key_id (and \
             s3_secret_access_key) to a key pair the store issued",
            s3.access_key_id
        ),
        Some("SignatureDoesNotMatch") => format!(
            "the store knows access key \"{}\" but not with this secret: set \
             s3_secret_access_key (or s3_secret_access_key_file) to that key's secret",
            s3.access_key_id
        ),
        Some("NoSuchBucket") => format!(
            "create the bucket \"{b}\" with the store's tools (e.g. `aws s3 mb s3://{b} \
             --endpoint-url {base}` or `s3cmd mb s3://{b}`), or set s3_bucket to an \
             existing bucket; the installer never creates or empties buckets",
            b = s3.bucket,
            base = s3.base_url()
        ),
        Some("RequestTimeTooSkewed") => clock.to_owned(),
        Some("AccessDenied")
            if message.contains("expired") || message.contains("not yet valid") =>
        {
            clock.to_owned()
        }
        Some("AccessDenied" | "AllAccessDisabled") => format!(
            "access key \"{}\" may not {}: grant it {} on {resource} (Mattermost needs \
             s3:PutObject, s3:GetObject and s3:DeleteObject there, and s3:ListBucket on \
             the bucket)",
            s3.access_key_id,
            match verb {
                Verb::Put => "write objects",
                Verb::Get => "read objects",
                Verb::Delete => "delete objects",
            },
            permission(verb)
        ),
        Some(
            "AuthorizationHeaderMalformed"
            | "AuthorizationQueryParametersError"
            | "IllegalLocationConstraintException"
            | "PermanentRedirect",
        ) => format!(
            "set s3_region to the bucket's region (now \"{}\"){}",
            s3.region,
            r.redirect
                .as_ref()
                .map(|e| format!("; the store names the endpoint {e}"))
                .unwrap_or_default()
        ),
        Some("InvalidBucketName") => "set s3_bucket to the bucket's exact name".to_owned(),
        Some("NoSuchKey") => "the store accepted the probe object but does not return it: \
             point s3_endpoint at the store itself, not at a cache or a load balancer in \
             front of several stores"
            .to_owned(),
        _ if (300..400).contains(&r.status) => format!(
            "the store redirects{}: set s3_endpoint (and s3_region) to the endpoint of the \
             bucket's region",
            r.redirect
                .as_ref()
                .map(|e| format!(" to {e}"))
                .unwrap_or_default()
        ),
        _ if r.status >= 500 => "the store failed on its side: its logs say why; run \
             this again once it answers"
            .to_owned(),
        None => format!(
            "{} answered without an S3 error document: check that s3_endpoint ({}) is the \
             S3 API of the store and not another web server",
            s3.base_url(),
            s3.endpoint
        ),
        Some(_) => format!(
            "the store refused {} ({}); its documentation for this code says why",
            verb.method(),
            said
        ),
    };
    (detail, fix)
}

/// No answer to a request: what to check.
pub fn unanswered_fix(e: &Unanswered, s3: &ObjectStorage) -> String {
    let port_note = if s3.endpoint.ends_with(']') || !s3.endpoint.contains(':') {
        format!(
            " (no port written: {} for {})",
            if s3.ssl { 443 } else { 80 },
            if s3.ssl { "https" } else { "http" }
        )
    } else {
        String::new()
    };
    match e.fault {
        Fault::Refused => format!(
            "nothing accepts connections at {}{port_note}: check s3_endpoint's host and \
             port and that the store is running",
            s3.endpoint
        ),
        Fault::TimedOut => format!(
            "{} did not answer within {} s: check s3_endpoint, that the store is running, \
             and that no firewall between this box and the store drops the traffic",
            s3.endpoint,
            s3::TIMEOUT.as_secs()
        ),
        Fault::Tls => format!(
            "https to {} failed: its certificate must be valid for that host name and \
             trusted by this box's CA store, as Mattermost checks it (a private CA: copy it \
             to /usr/local/share/ca-certificates/ and run update-ca-certificates); if the \
             store speaks plain http, set s3_ssl to false",
            s3.endpoint
        ),
        Fault::NotTls => format!(
            "{} answers in plain http, not https: set s3_ssl to false, or write the \
             store's https port in s3_endpoint",
            s3.endpoint
        ),
        Fault::Resolve => format!(
            "the host name in s3_endpoint ({}) does not resolve on this box: check its \
             spelling and this box's DNS",
            s3.endpoint
        ),
        Fault::Other => format!(
            "check s3_endpoint ({}) and s3_ssl ({}): the store at {} did not answer as an \
             S3 API",
            s3.endpoint,
            s3.ssl,
            s3.base_url()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Secret;
    use std::io::Write;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn storage(endpoint: &str) -> ObjectStorage {
        ObjectStorage {
            bucket: "mm-files".into(),
            endpoint: endpoint.into(),
            region: "us-east-1".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new(SECRET),
            ssl: false,
            path_prefix: "team/a".into(),
        }
    }

    fn host(dir: &std::path::Path) -> Host {
        let h = Host::new(
            dir.to_owned(),
            crate::host::RunLog::create(&dir.join("log")),
            Arc::new(|_| {}),
            Box::new(crate::host::SystemRunner),
        );
        h.add_secret(SECRET);
        h
    }

    fn reply(status: u16, code: &str, message: &str) -> Reply {
        s3::reply(
            status,
            None,
            format!("<Error><Code>{code}</Code><Message>{message}</Message></Error>").into_bytes(),
        )
    }

    #[test]
    fn the_probe_key_is_under_the_prefix_as_mattermost_joins_it() {
        assert_eq!(probe_key("", "ab"), "mattermost-setup-probe/ab");
        assert_eq!(
            probe_key("team/a", "ab"),
            "team/a/mattermost-setup-probe/ab"
        );
        let t = random_hex(16).unwrap();
        assert_eq!(t.len(), 32);
        assert_ne!(t, random_hex(16).unwrap());
    }

    #[test]
    fn each_refusal_names_what_to_fix() {
        let s = storage("10.0.0.5:7480");
        let url = "http://10.0.0.5:7480/mm-files/k";
        let fix = |verb, r: Reply| refused(verb, &r, &s, url).1;
        assert!(
            fix(Verb::Put, reply(403, "InvalidAccessKeyId", "x")).contains("set s3_access_key_id")
        );
        assert!(
            fix(Verb::Put, reply(403, "SignatureDoesNotMatch", "x"))
                .contains("set s3_secret_access_key")
        );
        let nb = fix(Verb::Put, reply(404, "NoSuchBucket", "x"));
        assert!(
            nb.contains("create the bucket \"mm-files\"")
                && nb.contains("--endpoint-url http://10.0.0.5:7480"),
            "{nb}"
        );
        for (verb, perm) in [
            (Verb::Put, "s3:PutObject"),
            (Verb::Get, "s3:GetObject"),
            (Verb::Delete, "s3:DeleteObject"),
        ] {
            let f = fix(verb, reply(403, "AccessDenied", "Access Denied"));
            assert!(
                f.contains(&format!(
                    "grant it {perm} on arn:aws:s3:::mm-files/team/a/*"
                )),
                "{f}"
            );
        }
        assert!(
            fix(Verb::Get, reply(403, "AccessDenied", "Request has expired")).contains("clock")
        );
        assert!(fix(Verb::Put, reply(403, "RequestTimeTooSkewed", "x")).contains("clock"));
        assert!(
            fix(
                Verb::Put,
                reply(
                    400,
                    "AuthorizationQueryParametersError",
                    "region 'us-east-1' is wrong; expecting 'eu-west-1'"
                )
            )
            .contains("set s3_region")
        );
        let html = s3::reply(404, None, b"<html>Not Found</html>".to_vec());
        let (detail, f) = refused(Verb::Put, &html, &s, url);
        assert_eq!(
            detail,
            "PUT http://10.0.0.5:7480/mm-files/k: HTTP 404 no S3 error document"
        );
        assert!(f.contains("not another web server"), "{f}");
        assert!(fix(Verb::Put, reply(503, "SlowDown", "x")).contains("failed on its side"));
        let (detail, _) = refused(
            Verb::Delete,
            &reply(403, "AccessDenied", "Access Denied"),
            &s,
            url,
        );
        assert_eq!(
            detail,
            "DELETE http://10.0.0.5:7480/mm-files/k: HTTP 403 AccessDenied: Access Denied"
        );
    }

    /// A tiny S3 stand-in on 127.0.0.1: stores one object in memory, and answers
    /// DELETE with `delete_reply` (None: 204). Records the request lines.
    fn serve(
        get_changes_content: bool,
        delete_reply: Option<&'static str>,
        connections: usize,
    ) -> (String, Arc<Mutex<Vec<String>>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            let mut stored: Option<Vec<u8>> = None;
            for _ in 0..connections {
                let (mut s, _) = l.accept().unwrap();
                let (req, head_end, len) = crate::host::s3::tests::read_request(&mut s);
                let line = String::from_utf8_lossy(&req)
                    .lines()
                    .next()
                    .unwrap()
                    .to_owned();
                seen2.lock().unwrap().push(line.clone());
                let answer = if line.starts_with("PUT ") {
                    stored = Some(req[head_end..head_end + len].to_vec());
                    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_owned()
                } else if line.starts_with("GET ") {
                    let mut body = stored.clone().unwrap_or_default();
                    if get_changes_content {
                        body.push(b'!');
                    }
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}",
                        body.len(),
                        String::from_utf8_lossy(&body)
                    )
                } else {
                    delete_reply
                        .unwrap_or("HTTP/1.1 204 No Content\r\n\r\n")
                        .to_owned()
                };
                s.write_all(answer.as_bytes()).unwrap();
            }
        });
        (addr, seen)
    }

    #[test]
    fn a_store_that_keeps_what_it_is_given_passes_and_the_probe_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let (addr, seen) = serve(false, None, 3);
        let h = host(dir.path());
        let c = checks(&h, &storage(&addr), PhaseId::Acceptance);
        assert_eq!(c.len(), 1);
        assert!(c[0].passed(), "{c:?}");
        assert_eq!(
            c[0].name,
            format!("object storage s3://mm-files at {addr}: write, read, delete")
        );
        let seen = seen.lock().unwrap();
        let methods: Vec<&str> = seen.iter().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(methods, ["PUT", "GET", "DELETE"]);
        // One key, under the prefix, the same for the three requests.
        let key = |l: &str| {
            l.split(' ')
                .nth(1)
                .unwrap()
                .split('?')
                .next()
                .unwrap()
                .to_owned()
        };
        assert!(key(&seen[0]).starts_with("/mm-files/team/a/mattermost-setup-probe/"));
        assert!(seen.iter().all(|l| key(l) == key(&seen[0])), "{seen:?}");
        let log = std::fs::read_to_string(h.log_path()).unwrap();
        assert!(
            !log.contains(SECRET) && !log.contains("X-Amz-Signature"),
            "{log}"
        );
    }

    #[test]
    fn content_that_differs_fails_and_the_probe_is_still_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let (addr, seen) = serve(true, None, 3);
        let c = checks(&host(dir.path()), &storage(&addr), PhaseId::Acceptance);
        assert!(!c[0].passed());
        assert!(
            c[0].detail.contains("that differ from the"),
            "{}",
            c[0].detail
        );
        assert!(
            c[0].detail.ends_with("the probe object was deleted"),
            "{}",
            c[0].detail
        );
        assert!(seen.lock().unwrap()[2].starts_with("DELETE "));
    }

    #[test]
    fn a_delete_refused_names_the_permission_and_the_object_left() {
        let dir = tempfile::tempdir().unwrap();
        let (addr, _) = serve(
            false,
            Some(
                "HTTP/1.1 403 Forbidden\r\nContent-Length: 72\r\n\r\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
            ),
            3,
        );
        let c = checks(&host(dir.path()), &storage(&addr), PhaseId::Acceptance);
        assert!(!c[0].passed());
        assert!(
            c[0].detail.contains("is left in the bucket"),
            "{}",
            c[0].detail
        );
        let fix = c[0].fix.as_deref().unwrap();
        assert!(
            fix.contains("s3:DeleteObject")
                && fix.contains("then delete team/a/mattermost-setup-probe/"),
            "{fix}"
        );
    }

    #[test]
    fn nothing_listening_fails_on_the_write_with_the_endpoint_to_check() {
        let dir = tempfile::tempdir().unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        drop(l);
        let c = checks(&host(dir.path()), &storage(&addr), PhaseId::Acceptance);
        assert!(!c[0].passed());
        assert!(c[0].detail.starts_with("PUT http://"), "{}", c[0].detail);
        assert!(
            c[0].detail.contains("connection refused"),
            "{}",
            c[0].detail
        );
        assert!(c[0].fix.as_deref().unwrap().contains("check s3_endpoint"));
    }
}
