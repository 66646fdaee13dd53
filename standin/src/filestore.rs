//! The file backend: `FileSettings.DriverName` `local` (a directory) or
//! `amazons3` (an S3-compatible bucket), as the real server's
//! server/platform/shared/filestore (localstore.go, s3store.go on minio-go).
//!
//! S3 semantics copied from s3store.go and minio-go v7:
//!
//! * Endpoint `AmazonS3Endpoint` is `host[:port]` without a scheme; the scheme
//!   comes from `AmazonS3SSL` (minio-go `getEndpointURL`). An endpoint with a
//!   scheme or a path fails the creation of the backend, and the real server does
//!   not start: `failed to initialize filebackend: Endpoint url cannot have fully
//!   qualified paths.` (platform/service.go, minio-go utils.go
//!   `isValidEndpointURL`).
//! * Bucket lookup `BucketLookupAuto`: virtual-host style only for Amazon (and
//!   Google/Aliyun) endpoints, and never for a bucket with a dot over https;
//!   path style everywhere else (minio-go `isVirtualHostStyleRequest`,
//!   s3utils `IsVirtualHostSupported`).
//! * Region: `AmazonS3Region`; when empty minio-go asks the bucket's location
//!   and falls back to `us-east-1` — the stand-in signs with `us-east-1`
//!   directly (S3-compatible stores answer that anyway).
//! * Keys: `filepath.Join(AmazonS3PathPrefix, path)` (`WriteFileContext`,
//!   `prefixedPath`).
//! * Content type: image extensions get their MIME type, everything else
//!   `binary/octet-stream`; `AmazonS3SSE` adds `x-amz-server-side-encryption:
//!   AES256` (`s3PutOptions`).
//! * Every request is bounded by `AmazonS3RequestTimeoutMilliseconds`.
//! * `TestConnection`: `ListObjects` under the prefix when `AmazonS3PathPrefix`
//!   is set, else `BucketExists`; a missing bucket is `no such bucket` (the
//!   server then makes it), any other failure `unable to list objects in the S3
//!   bucket` / `unable to check if the S3 bucket exists`.
//!
//! Signing is AWS Signature V4 (rusty-s3, as presigned URLs). Not supported:
//! `AmazonS3SignV2` (refused at start-up), IAM instance credentials (empty keys:
//! every request is refused as unauthenticated).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusty_s3::actions::{CreateBucket, GetObject, HeadBucket, ListObjectsV2, PutObject};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::error::{Error, Result, fail};

/// How long a presigned request stays valid; it is used at once.
const PRESIGN: Duration = Duration::from_secs(15 * 60);

/// `FileSettings` for `amazons3`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // mirrors the real config section
pub struct S3Settings {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub bucket: String,
    pub path_prefix: String,
    pub region: String,
    pub endpoint: String,
    pub ssl: bool,
    pub sign_v2: bool,
    pub sse: bool,
    pub request_timeout_ms: i64,
    /// `ServiceSettings.EnableInsecureOutgoingConnections`.
    pub skip_verify: bool,
}

/// Why `TestConnection` failed (s3store.go's error types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestError {
    /// `S3FileBackendNoBucketError`: the server makes the bucket.
    NoBucket,
    /// `S3FileBackendAuthError` and everything else.
    Other(String),
}

/// The configured file backend.
pub enum FileStore {
    Local(PathBuf),
    S3(Box<S3Store>),
}

impl FileStore {
    /// `TestConnection` of the backend.
    pub fn test_connection(&self) -> std::result::Result<(), TestError> {
        match self {
            Self::Local(dir) => {
                // localstore.go TestConnection writes and removes "testfile"
                // ("unable to write to the local filesystem storage").
                let probe = dir.join("testfile");
                std::fs::write(&probe, b"testingwrite")
                    .and_then(|()| std::fs::remove_file(&probe))
                    .map_err(|e| {
                        TestError::Other(format!(
                            "unable to write to the local filesystem storage: {}: {e}",
                            dir.display()
                        ))
                    })
            }
            Self::S3(s) => s.test_connection(),
        }
    }

    /// `WriteFile`: the number of bytes written.
    pub fn write_file(&self, data: &[u8], path: &str) -> Result<u64> {
        match self {
            Self::Local(dir) => {
                let full = dir.join(path);
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        Error::new(format!(
                            "unable to create the directory {} for the file {path}: {e}",
                            parent.display()
                        ))
                    })?;
                }
                std::fs::write(&full, data).map_err(|e| {
                    Error::new(format!("unable write the data in the file {path}: {e}"))
                })?;
                Ok(data.len() as u64)
            }
            Self::S3(s) => s.write_file(data, path),
        }
    }

    /// `ReadFile`.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        match self {
            Self::Local(dir) => std::fs::read(dir.join(path))
                .map_err(|e| Error::new(format!("unable to open file {path}: {e}"))),
            Self::S3(s) => s.read_file(path),
        }
    }
}

/// Go's `filepath.Join(prefix, path)`: joined with `/`, then cleaned.
pub fn join_clean(prefix: &str, path: &str) -> String {
    let joined = match (prefix.is_empty(), path.is_empty()) {
        (true, true) => return String::new(),
        (true, false) => path.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}/{path}"),
    };
    let rooted = joined.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

/// `s3utils.IsAmazonEndpoint` / `IsGoogleEndpoint` / `IsAliyunOSSEndpoint`.
fn virtual_host_endpoint(host: &str) -> bool {
    host == "s3.amazonaws.com"
        || host == "s3.cn-north-1.amazonaws.com.cn"
        || (host.starts_with("s3") && host.ends_with(".amazonaws.com"))
        || host.ends_with(".amazonaws.com.cn") && host.starts_with("s3")
        || host == "storage.googleapis.com"
        || host.ends_with(".aliyuncs.com")
}

/// minio-go's `isValidEndpointURL` over `scheme://endpoint`.
fn endpoint_url(endpoint: &str, secure: bool) -> Result<url::Url> {
    let scheme = if secure { "https" } else { "http" };
    let raw = format!("{scheme}://{endpoint}");
    let u = url::Url::parse(&raw).map_err(|e| Error::new(format!("parse {raw:?}: {e}")))?;
    let path_start = raw[scheme.len() + 3..].find('/');
    if path_start.is_some_and(|i| &raw[scheme.len() + 3 + i..] != "/") {
        return fail("Endpoint url cannot have fully qualified paths.");
    }
    if u.host_str().is_none_or(str::is_empty) {
        return fail(format!(
            "Endpoint: {endpoint} does not follow ip address or domain name standards."
        ));
    }
    Ok(u)
}

/// An S3 bucket reached like minio-go does.
pub struct S3Store {
    bucket: Bucket,
    credentials: Option<Credentials>,
    client: reqwest::blocking::Client,
    settings: S3Settings,
}

/// The code of an S3 error body (`<Code>NoSuchBucket</Code>`).
fn error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let end = body[start..].find("</Code>")? + start;
    Some(&body[start..end])
}

fn error_message(body: &str) -> Option<&str> {
    let start = body.find("<Message>")? + "<Message>".len();
    let end = body[start..].find("</Message>")? + start;
    Some(&body[start..end])
}

/// minio-go's `ErrorResponse.Error()`: the message of the S3 error, or the
/// status when the body has none (a HEAD request).
fn minio_error(status: u16, body: &str) -> (String, String) {
    let code = error_code(body).map_or_else(
        || {
            match status {
                404 => "NoSuchBucket",
                403 => "AccessDenied",
                301 => "PermanentRedirect",
                _ => "",
            }
            .to_string()
        },
        str::to_owned,
    );
    let message = error_message(body).map_or_else(
        || match code.as_str() {
            "NoSuchBucket" => "The specified bucket does not exist.".to_string(),
            "AccessDenied" => "Access Denied.".to_string(),
            _ => format!("{status} {}", reason(status)),
        },
        str::to_owned,
    );
    (code, message)
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

impl S3Store {
    /// `NewS3FileBackend` → `s3New`.
    pub fn new(s: &S3Settings) -> Result<Self> {
        if s.sign_v2 {
            return fail(
                "FileSettings.AmazonS3SignV2 = true is not supported by the Mattermost stand-in \
                 (it signs with AWS Signature V4 only)",
            );
        }
        let url = endpoint_url(&s.endpoint, s.ssl)?;
        let host = url.host_str().unwrap_or_default().to_string();
        let style = if virtual_host_endpoint(&host) && !(s.ssl && s.bucket.contains('.')) {
            UrlStyle::VirtualHost
        } else {
            UrlStyle::Path
        };
        let region = if s.region.is_empty() {
            "us-east-1".to_string()
        } else {
            s.region.clone()
        };
        let bucket = Bucket::new(url, style, s.bucket.clone(), region)
            .map_err(|e| Error::new(format!("Bucket name contains invalid characters: {e}")))?;
        let credentials = (!(s.access_key_id.is_empty() && s.secret_access_key.is_empty()))
            .then(|| Credentials::new(s.access_key_id.clone(), s.secret_access_key.clone()));
        let timeout =
            Duration::from_millis(u64::try_from(s.request_timeout_ms.max(1)).unwrap_or(1));
        let roots = crate::pgtls::system_roots();
        let tls = crate::pgtls::https_client_config(roots, s.skip_verify)?;
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .http1_only()
            .connect_timeout(timeout)
            .timeout(timeout)
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| Error::new(format!("cannot build the S3 HTTP client: {e}")))?;
        Ok(Self {
            bucket,
            credentials,
            client,
            settings: s.clone(),
        })
    }

    fn creds(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Sends a presigned request; `Ok((status, body))`, `Err` for transport
    /// failures (minio-go's error text is the Go `url.Error`).
    fn send(
        &self,
        method: reqwest::Method,
        url: url::Url,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>)> {
        if self.credentials.is_none() {
            // minio-go would ask the EC2 metadata service for IAM credentials.
            return fail(
                "no AmazonS3AccessKeyId/AmazonS3SecretAccessKey and no IAM role (the Mattermost \
                 stand-in cannot use instance credentials)",
            );
        }
        let shown = format!("{method} {}", url.as_str().split('?').next().unwrap_or(""));
        let mut req = self.client.request(method, url);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().map_err(|e| {
            let mut msg = format!("{shown}: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                let _ = write!(msg, ": {s}");
                src = s.source();
            }
            Error::new(msg)
        })?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .map_err(|e| Error::new(format!("{shown}: {e}")))?
            .to_vec();
        Ok((status, body))
    }

    fn test_connection(&self) -> std::result::Result<(), TestError> {
        let (method, url, failure) = if self.settings.path_prefix.is_empty() {
            let url = HeadBucket::new(&self.bucket, self.creds()).sign(PRESIGN);
            (
                reqwest::Method::HEAD,
                url,
                "unable to check if the S3 bucket exists",
            )
        } else {
            let mut list = ListObjectsV2::new(&self.bucket, self.creds());
            list.with_prefix(self.settings.path_prefix.as_str());
            list.with_max_keys(1);
            let url = list.sign(PRESIGN);
            (
                reqwest::Method::GET,
                url,
                "unable to list objects in the S3 bucket",
            )
        };
        match self.send(method, url, &[], None) {
            Ok((200, _)) => Ok(()),
            Ok((status, body)) => {
                let (code, _) = minio_error(status, &String::from_utf8_lossy(&body));
                if code == "NoSuchBucket" || code == "InvalidBucketName" {
                    Err(TestError::NoBucket)
                } else {
                    Err(TestError::Other(failure.into()))
                }
            }
            Err(_) => Err(TestError::Other(failure.into())),
        }
    }

    /// `MakeBucket`.
    pub fn make_bucket(&self) -> Result<()> {
        let url = CreateBucket::new(
            &self.bucket,
            self.creds()
                .ok_or_else(|| Error::new("unable to create the s3 bucket: no credentials"))?,
        )
        .sign(PRESIGN);
        // An empty body still carries Content-Length: 0 (S3 wants it on PUT).
        let body = if self.settings.region.is_empty() || self.settings.region == "us-east-1" {
            Some(Vec::new())
        } else {
            Some(
                format!(
                    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                    self.settings.region
                )
                .into_bytes(),
            )
        };
        match self.send(reqwest::Method::PUT, url, &[], body) {
            Ok((200, _)) => Ok(()),
            Ok((status, body)) => {
                let (_, message) = minio_error(status, &String::from_utf8_lossy(&body));
                fail(format!("unable to create the s3 bucket: {message}"))
            }
            Err(e) => Err(e.context("unable to create the s3 bucket")),
        }
    }

    fn key(&self, path: &str) -> String {
        join_clean(&self.settings.path_prefix, path)
    }

    fn write_file(&self, data: &[u8], path: &str) -> Result<u64> {
        let key = self.key(path);
        let ext = Path::new(&key)
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy().to_ascii_lowercase()))
            .unwrap_or_default();
        let content_type = match ext.as_str() {
            ".jpg" | ".jpeg" => "image/jpeg",
            ".gif" => "image/gif",
            ".bmp" => "image/bmp",
            ".png" => "image/png",
            ".tiff" => "image/tiff",
            _ => "binary/octet-stream",
        };
        let mut put = PutObject::new(&self.bucket, self.creds(), &key);
        put.headers_mut().insert("content-type", content_type);
        let mut headers = vec![("content-type", content_type.to_string())];
        if self.settings.sse {
            put.headers_mut()
                .insert("x-amz-server-side-encryption", "AES256");
            headers.push(("x-amz-server-side-encryption", "AES256".into()));
        }
        let url = put.sign(PRESIGN);
        let wrap = |m: String| Error::new(format!("unable write the data in the file {key}: {m}"));
        match self.send(reqwest::Method::PUT, url, &headers, Some(data.to_vec())) {
            Ok((200, _)) => Ok(data.len() as u64),
            Ok((status, body)) => Err(wrap(minio_error(status, &String::from_utf8_lossy(&body)).1)),
            Err(e) => Err(wrap(e.message().to_string())),
        }
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        let key = self.key(path);
        let url = GetObject::new(&self.bucket, self.creds(), &key).sign(PRESIGN);
        match self.send(reqwest::Method::GET, url, &[], None) {
            Ok((200, body)) => Ok(body),
            Ok((status, body)) => fail(format!(
                "unable to open file {key}: {}",
                minio_error(status, &String::from_utf8_lossy(&body)).1
            )),
            Err(e) => Err(e.context(format!("unable to open file {key}"))),
        }
    }
}

/// Shared by the file handlers.
pub type SharedStore = Arc<FileStore>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_like_go_filepath() {
        assert_eq!(
            join_clean("", "20260101/teams/x/a.txt"),
            "20260101/teams/x/a.txt"
        );
        assert_eq!(join_clean("mm/", "a/b"), "mm/a/b");
        assert_eq!(join_clean("/mm//", "./a/../b"), "/mm/b");
        assert_eq!(join_clean("p", ""), "p");
    }

    #[test]
    fn endpoints_like_minio_go() {
        assert!(endpoint_url("s3.example:9000", false).is_ok());
        assert_eq!(
            endpoint_url("http://s3.example:9000", true)
                .expect_err("scheme")
                .message(),
            "Endpoint url cannot have fully qualified paths."
        );
        assert!(virtual_host_endpoint("s3.amazonaws.com"));
        assert!(virtual_host_endpoint("s3.eu-west-1.amazonaws.com"));
        assert!(!virtual_host_endpoint("rgw.internal"));
    }

    #[test]
    fn s3_error_bodies() {
        let body = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error>";
        assert_eq!(
            minio_error(403, body),
            (
                "SignatureDoesNotMatch".into(),
                "The request signature we calculated does not match".into()
            )
        );
        assert_eq!(minio_error(404, "").0, "NoSuchBucket");
    }
}
