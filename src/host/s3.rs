//! A small client for S3-compatible object storage: PUT, GET and DELETE of one object,
//! for the installer's probe (phases::objectstore). Requests are SigV4-signed by
//! `rusty-s3` (query-string signing, "presigned URLs": AWS S3, Ceph's RADOS gateway
//! and MinIO accept it as they accept the Authorization header Mattermost's minio-go
//! sends) and sent through reqwest with the system's trust store, as Mattermost's Go
//! client verifies the store's certificate. Every request has [`TIMEOUT`] for
//! connecting and for the whole exchange; redirects are reported, not followed.
//!
//! Nothing here prints a URL with its query (the signature and the access key id are
//! in it): errors and [`Store::shown_url`] carry the URL without it.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::Read;
use std::time::Duration;

use reqwest::Url;
use rusty_s3::actions::{DeleteObject, GetObject, PutObject};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use super::http::error_chain;

/// Every request's deadline: connecting, and the whole request and answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a signed URL stays valid: as long as a signed request may be early or
/// late on S3's clock (AWS refuses a request 15 minutes off).
const SIGNED_FOR: Duration = Duration::from_secs(15 * 60);
/// A probe reads at most this much of an answer.
const MAX_BODY: u64 = 1 << 20;
const USER_AGENT: &str = concat!("mattermost-setup/", env!("CARGO_PKG_VERSION"));

/// Where the store is and who we are there (the answers' `s3_*` keys).
pub struct Config<'a> {
    /// `host` or `host:port`, no scheme (Mattermost's `AmazonS3Endpoint`).
    pub endpoint: &'a str,
    pub ssl: bool,
    pub bucket: &'a str,
    pub region: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
}

/// The three requests the probe makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Put,
    Get,
    Delete,
}

impl Verb {
    pub fn method(self) -> &'static str {
        match self {
            Self::Put => "PUT",
            Self::Get => "GET",
            Self::Delete => "DELETE",
        }
    }
}

/// The store's answer: status, S3's error `<Code>`/`<Message>` when the body is an S3
/// error document, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub code: Option<String>,
    pub message: Option<String>,
    /// `<Endpoint>` of a PermanentRedirect (the bucket's region endpoint), or the
    /// Location header of another redirect.
    pub redirect: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why no answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing listens there (or a firewall rejects).
    Refused,
    /// No answer within [`TIMEOUT`].
    TimedOut,
    /// The TLS handshake failed (the certificate, most often).
    Tls,
    /// https to a server that answered in plain text.
    NotTls,
    /// The host name does not resolve.
    Resolve,
    Other,
}

/// A request that got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {url}: {}", verb.method(), self.reason())]
pub struct Unanswered {
    pub verb: Verb,
    /// Without the query.
    pub url: String,
    pub fault: Fault,
    /// reqwest's error chain (the URL stripped).
    pub detail: String,
}

impl Unanswered {
    fn reason(&self) -> String {
        match self.fault {
            Fault::TimedOut => {
                format!("no answer within {} s ({})", TIMEOUT.as_secs(), self.detail)
            }
            Fault::Refused => format!("connection refused ({})", self.detail),
            Fault::Tls => format!("TLS handshake failed ({})", self.detail),
            Fault::NotTls => format!("the answer is not TLS ({})", self.detail),
            Fault::Resolve => format!("host name not resolved ({})", self.detail),
            Fault::Other => self.detail.clone(),
        }
    }
}

/// A bucket at an endpoint, with the keys to sign for it.
pub struct Store {
    client: reqwest::blocking::Client,
    bucket: Bucket,
    credentials: Credentials,
    style: UrlStyle,
}

impl Store {
    pub fn new(c: &Config) -> Result<Self, String> {
        let scheme = if c.ssl { "https" } else { "http" };
        let base: Url = format!("{scheme}://{}", c.endpoint)
            .parse()
            .map_err(|e| format!("\"{}\" is not an endpoint: {e}", c.endpoint))?;
        let style = url_style(c.endpoint, c.ssl, c.bucket);
        let bucket = Bucket::new(base, style, c.bucket.to_owned(), c.region.to_owned())
            .map_err(|e| format!("s3://{} at {}: {e:?}", c.bucket, c.endpoint))?;
        // main() installs it too; a library caller (tests) may not have.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // No proxy: Mattermost's service runs without proxy variables and connects
        // directly, so the probe does too. The system's trust store (reqwest's
        // platform verifier), as for the downloads.
        let client = reqwest::blocking::Client::builder()
            .user_agent(USER_AGENT)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {}", error_chain(&e)))?;
        Ok(Self {
            client,
            bucket,
            credentials: Credentials::new(c.access_key_id, c.secret_access_key),
            style,
        })
    }

    /// "path-style" or "virtual-host-style", for the operator.
    pub fn style(&self) -> &'static str {
        match self.style {
            UrlStyle::Path => "path-style",
            UrlStyle::VirtualHost => "virtual-host-style",
        }
    }

    /// The object's URL without signature, for messages.
    pub fn shown_url(&self, key: &str) -> String {
        self.bucket
            .object_url(key)
            .map_or_else(|_| format!("{}{key}", self.bucket.base_url()), String::from)
    }

    /// The signed URL of `verb` on `key`: the URL and its query (keep it out of logs).
    pub fn signed_url(&self, verb: Verb, key: &str) -> Url {
        let c = Some(&self.credentials);
        match verb {
            Verb::Put => PutObject::new(&self.bucket, c, key).sign(SIGNED_FOR),
            Verb::Get => GetObject::new(&self.bucket, c, key).sign(SIGNED_FOR),
            Verb::Delete => DeleteObject::new(&self.bucket, c, key).sign(SIGNED_FOR),
        }
    }

    pub fn put(&self, key: &str, body: &[u8]) -> Result<Reply, Unanswered> {
        let url = self.signed_url(Verb::Put, key);
        self.send(Verb::Put, key, self.client.put(url).body(body.to_vec()))
    }

    pub fn get(&self, key: &str) -> Result<Reply, Unanswered> {
        let url = self.signed_url(Verb::Get, key);
        self.send(Verb::Get, key, self.client.get(url))
    }

    pub fn delete(&self, key: &str) -> Result<Reply, Unanswered> {
        let url = self.signed_url(Verb::Delete, key);
        self.send(Verb::Delete, key, self.client.delete(url))
    }

    fn send(
        &self,
        verb: Verb,
        key: &str,
        req: reqwest::blocking::RequestBuilder,
    ) -> Result<Reply, Unanswered> {
        let unanswered = |fault, detail: String| Unanswered {
            verb,
            url: self.shown_url(key),
            fault,
            detail: without_signature(&detail),
        };
        let resp = req.send().map_err(|e| {
            let e = e.without_url();
            unanswered(fault_of(&e), error_chain(&e))
        })?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let mut body = Vec::new();
        resp.take(MAX_BODY).read_to_end(&mut body).map_err(|e| {
            let fault = if e.kind() == std::io::ErrorKind::TimedOut
                || error_chain(&e).contains("timed out")
            {
                Fault::TimedOut
            } else {
                Fault::Other
            };
            unanswered(fault, format!("reading the answer: {}", error_chain(&e)))
        })?;
        Ok(reply(status, location, body))
    }
}

/// `text` with the query of any signed URL in it cut out (a safety net: errors are
/// made without the URL, but a nested one may still name it).
fn without_signature(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("?X-Amz-") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\''))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Reads the answer: an S3 error document's Code, Message and Endpoint.
pub fn reply(status: u16, location: Option<String>, body: Vec<u8>) -> Reply {
    let text = String::from_utf8_lossy(&body);
    let is_error = (status >= 300) && text.contains("<Error>");
    let field = |name: &str| is_error.then(|| xml_field(&text, name)).flatten();
    Reply {
        status,
        code: field("Code"),
        message: field("Message"),
        redirect: field("Endpoint").or(location),
        body,
    }
}

/// The text of the first `<name>...</name>` element, entities decoded.
fn xml_field(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&format!("</{name}>"))?;
    let v = text[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    Some(v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn fault_of(e: &reqwest::Error) -> Fault {
    let chain = error_chain(e).to_ascii_lowercase();
    if e.is_timeout() || chain.contains("timed out") || chain.contains("deadline") {
        Fault::TimedOut
    } else if chain.contains("connection refused") {
        Fault::Refused
    } else if chain.contains("dns error")
        || chain.contains("failed to lookup address")
        || chain.contains("name or service not known")
    {
        Fault::Resolve
    } else if chain.contains("invalidcontenttype") {
        // rustls: "received corrupt message of type InvalidContentType".
        Fault::NotTls
    } else if chain.contains("certificate")
        || chain.contains("tls")
        || chain.contains("handshake")
        || chain.contains("corrupt message")
    {
        Fault::Tls
    } else {
        Fault::Other
    }
}

/// Path-style or virtual-host-style URLs, as Mattermost's S3 client picks them:
/// server/platform/shared/filestore/s3store.go leaves minio-go's
/// `Options.BucketLookup` unset, i.e. `BucketLookupAuto`, and minio-go's
/// `isVirtualHostStyleRequest` (api.go) then asks `s3utils.IsVirtualHostSupported`
/// (pkg/s3utils/utils.go): virtual-host style for Amazon S3, Google Cloud Storage and
/// Aliyun OSS endpoints — except for a bucket name with a '.' over https, which the
/// endpoint's wildcard certificate would not cover — and path style for every other
/// endpoint (Ceph RGW, MinIO, ...). The host is matched as minio-go matches
/// `url.Host`: with its port, when one is written.
pub fn url_style(endpoint: &str, ssl: bool, bucket: &str) -> UrlStyle {
    let virtual_host = !(ssl && bucket.contains('.'))
        && (is_amazon(endpoint)
            || endpoint == "storage.googleapis.com"
            || endpoint.ends_with("aliyuncs.com"));
    if virtual_host {
        UrlStyle::VirtualHost
    } else {
        UrlStyle::Path
    }
}

/// minio-go's `IsAmazonEndpoint`: s3.amazonaws.com, s3-external-1.amazonaws.com, or a
/// host its `GetRegionFromURL` finds a region in (s3.REGION.amazonaws.com,
/// s3-REGION.amazonaws.com, s3.dualstack.REGION..., s3-fips..., China's
/// s3.cn-....amazonaws.com.cn, PrivateLink's bucket.vpce-....s3.REGION.vpce.amazonaws.com);
/// load balancers (elb...amazonaws.com) are not.
fn is_amazon(host: &str) -> bool {
    if host == "s3.amazonaws.com" || host == "s3-external-1.amazonaws.com" {
        return true;
    }
    let elb = [".amazonaws.com", ".amazonaws.com.cn"]
        .iter()
        .any(|s| host.strip_suffix(s).is_some_and(|h| h.contains("elb")));
    if elb {
        return false;
    }
    let region_between = |prefix: &str, suffix: &str| {
        host.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .is_some_and(|region| !region.is_empty())
    };
    region_between("s3.", ".amazonaws.com")
        || region_between("s3-", ".amazonaws.com")
        || region_between("s3.", ".amazonaws.com.cn")
        || ((host.starts_with("bucket.vpce-") || host.starts_with("accesspoint.vpce-"))
            && host.ends_with(".vpce.amazonaws.com"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn config<'a>(endpoint: &'a str, bucket: &'a str) -> Config<'a> {
        Config {
            endpoint,
            ssl: false,
            bucket,
            region: "us-east-1",
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        }
    }

    #[test]
    fn amazon_google_and_aliyun_get_virtual_host_urls_every_other_store_path_urls() {
        let v = |e: &str, ssl: bool, b: &str| matches!(url_style(e, ssl, b), UrlStyle::VirtualHost);
        for e in [
            "s3.amazonaws.com",
            "s3-external-1.amazonaws.com",
            "s3.eu-west-1.amazonaws.com",
            "s3-eu-west-1.amazonaws.com",
            "s3.dualstack.eu-west-1.amazonaws.com",
            "s3-fips.us-east-1.amazonaws.com",
            "s3.cn-north-1.amazonaws.com.cn",
            "bucket.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com",
            "storage.googleapis.com",
            "oss-cn-hangzhou.aliyuncs.com",
        ] {
            assert!(v(e, true, "mm-files"), "{e}");
        }
        for e in [
            "10.0.0.5:7480",
            "rgw.example.com",
            "minio.internal:9000",
            "s3.example.com",
            "my-elb-1.us-east-1.elb.amazonaws.com",
            // minio-go matches url.Host with its port: a written port is not Amazon.
            "s3.amazonaws.com:443",
            "[fd00::5]:7480",
        ] {
            assert!(!v(e, true, "mm-files"), "{e}");
        }
        // A dotted bucket over https: the wildcard certificate would not match.
        assert!(!v("s3.eu-west-1.amazonaws.com", true, "files.example.com"));
        assert!(v("s3.eu-west-1.amazonaws.com", false, "files.example.com"));
    }

    #[test]
    fn object_urls_follow_the_style_and_the_shown_url_has_no_signature() {
        let path = Store::new(&config("10.0.0.5:7480", "mm-files")).unwrap();
        assert_eq!(path.style(), "path-style");
        assert_eq!(
            path.shown_url("pre/fix/mattermost-setup-probe/ab12"),
            "http://10.0.0.5:7480/mm-files/pre/fix/mattermost-setup-probe/ab12"
        );
        let amazon = Store::new(&Config {
            ssl: true,
            region: "eu-west-1",
            ..config("s3.eu-west-1.amazonaws.com", "mm-files")
        })
        .unwrap();
        assert_eq!(amazon.style(), "virtual-host-style");
        assert_eq!(
            amazon.shown_url("a/b"),
            "https://mm-files.s3.eu-west-1.amazonaws.com/a/b"
        );
        let signed = amazon.signed_url(Verb::Get, "a/b");
        assert_eq!(
            signed.as_str().split('?').next(),
            Some("https://mm-files.s3.eu-west-1.amazonaws.com/a/b")
        );
        let q: std::collections::HashMap<_, _> = signed.query_pairs().into_owned().collect();
        assert_eq!(q["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert!(
            q["X-Amz-Credential"].starts_with("AKIDEXAMPLE/")
                && q["X-Amz-Credential"].ends_with("/eu-west-1/s3/aws4_request"),
            "{}",
            q["X-Amz-Credential"]
        );
        assert_eq!(q["X-Amz-Expires"], "900");
        assert_eq!(q["X-Amz-Signature"].len(), 64);
        assert!(!signed.as_str().contains("wJalrXUtnFEMI"), "{signed}");
        // Each verb signs its own method: the same key, three signatures.
        let sigs: std::collections::HashSet<String> = [Verb::Put, Verb::Get, Verb::Delete]
            .iter()
            .map(|v| {
                path.signed_url(*v, "k")
                    .query_pairs()
                    .find(|(k, _)| k == "X-Amz-Signature")
                    .unwrap()
                    .1
                    .into_owned()
            })
            .collect();
        assert_eq!(sigs.len(), 3);
    }

    #[test]
    fn a_signed_query_is_cut_out_of_error_text() {
        assert_eq!(
            without_signature(
                "error sending request for url (http://h/b/k?X-Amz-Algorithm=A&X-Amz-Signature=ff): closed"
            ),
            "error sending request for url (http://h/b/k): closed"
        );
        assert_eq!(without_signature("no url here"), "no url here");
    }

    #[test]
    fn an_s3_error_document_gives_code_message_and_the_region_endpoint() {
        let r = reply(
            403,
            None,
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>\
              <Message>The request signature we calculated does not match &amp; so on</Message>\
              <RequestId>x</RequestId></Error>"
                .to_vec(),
        );
        assert_eq!(r.code.as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(
            r.message.as_deref(),
            Some("The request signature we calculated does not match & so on")
        );
        assert!(!r.success());
        let moved = reply(
            301,
            None,
            b"<Error><Code>PermanentRedirect</Code><Message>m</Message><Endpoint>mm.s3.eu-west-1.amazonaws.com</Endpoint></Error>".to_vec(),
        );
        assert_eq!(
            moved.redirect.as_deref(),
            Some("mm.s3.eu-west-1.amazonaws.com")
        );
        // A 200 whose content happens to look like an error is content, not an error.
        let ok = reply(200, None, b"<Error><Code>X</Code></Error>".to_vec());
        assert_eq!((ok.code.as_deref(), ok.success()), (None, true));
        // A web server's HTML 404: no code.
        let html = reply(404, None, b"<html><body>Not Found</body></html>".to_vec());
        assert_eq!((html.code, html.message), (None, None));
    }

    /// One HTTP request as a test peer reads it: the bytes, where the body starts,
    /// and the body's length (Content-Length).
    pub(crate) fn read_request(s: &mut impl Read) -> (Vec<u8>, usize, usize) {
        let mut buf = vec![0u8; 65536];
        let mut seen = Vec::new();
        loop {
            let n = s.read(&mut buf).unwrap();
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen);
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if seen.len() >= end + 4 + len || n == 0 {
                    return (seen, end + 4, len);
                }
            }
        }
    }

    /// Answers each connection with the next canned response; returns the address
    /// and the request heads it saw.
    fn serve(replies: Vec<&'static str>) -> (String, std::sync::mpsc::Receiver<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for reply in replies {
                let (mut s, _) = l.accept().unwrap();
                let (seen, _, _) = read_request(&mut s);
                tx.send(String::from_utf8_lossy(&seen).into_owned())
                    .unwrap();
                s.write_all(reply.as_bytes()).unwrap();
            }
        });
        (addr, rx)
    }

    #[test]
    fn put_get_delete_send_signed_requests_for_the_object_and_read_the_answers() {
        let (addr, seen) = serve(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: 76\r\n\r\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>    ",
        ]);
        let store = Store::new(&config(&addr, "mm-files")).unwrap();
        let put = store.put("p/mattermost-setup-probe/k1", b"hello").unwrap();
        assert_eq!(put.status, 200);
        let head = seen.recv().unwrap();
        assert!(
            head.starts_with(
                "PUT /mm-files/p/mattermost-setup-probe/k1?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            ),
            "{head}"
        );
        assert!(head.ends_with("\r\n\r\nhello"), "{head}");
        let get = store.get("p/mattermost-setup-probe/k1").unwrap();
        assert_eq!((get.status, get.body.as_slice()), (200, &b"hello"[..]));
        assert!(
            seen.recv()
                .unwrap()
                .starts_with("GET /mm-files/p/mattermost-setup-probe/k1?")
        );
        let del = store.delete("p/mattermost-setup-probe/k1").unwrap();
        assert_eq!(
            (del.status, del.code.as_deref()),
            (403, Some("AccessDenied"))
        );
        assert!(
            seen.recv()
                .unwrap()
                .starts_with("DELETE /mm-files/p/mattermost-setup-probe/k1?")
        );
    }

    #[test]
    fn no_listener_is_refused_and_the_message_has_no_signature() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        drop(l);
        let store = Store::new(&config(&addr, "mm-files")).unwrap();
        let e = store.put("k", b"x").unwrap_err();
        assert_eq!(e.fault, Fault::Refused, "{e}");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("PUT http://{addr}/mm-files/k: connection refused")),
            "{text}"
        );
        assert!(!text.contains("X-Amz"), "{text}");
    }

    #[test]
    fn a_silent_server_times_out_within_the_deadline_and_says_so() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        // Accepts (the kernel does) and never answers.
        let store = Store::new(&config(&addr, "mm-files")).unwrap();
        let start = std::time::Instant::now();
        let e = store.get("k").unwrap_err();
        let took = start.elapsed();
        drop(l);
        assert_eq!(e.fault, Fault::TimedOut, "{e}");
        assert!(
            took >= TIMEOUT && took < TIMEOUT + Duration::from_secs(5),
            "{took:?}"
        );
        assert!(e.to_string().contains("no answer within 10 s"), "{e}");
    }

    #[test]
    fn https_to_a_server_whose_certificate_is_not_trusted_is_a_tls_fault() {
        use crate::phases::tls::cert::testing::{ca, leaf};
        let ca = ca("Untrusted S3 Root");
        let cert = leaf(&ca, &["127.0.0.1"], -1, 90);
        let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_der.clone()).unwrap();
        let cfg = std::sync::Arc::new(
            rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der.clone()], key)
            .unwrap(),
        );
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let (sock, _) = l.accept().unwrap();
            let conn = rustls::ServerConnection::new(cfg).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let _ = tls.read(&mut [0u8; 1024]);
        });
        let store = Store::new(&Config {
            ssl: true,
            ..config(&addr, "mm-files")
        })
        .unwrap();
        let e = store.put("k", b"x").unwrap_err();
        assert_eq!(e.fault, Fault::Tls, "{e}");
        assert!(
            e.to_string().starts_with(&format!(
                "PUT https://{addr}/mm-files/k: TLS handshake failed"
            )),
            "{e}"
        );
    }
}
