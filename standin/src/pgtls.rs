//! The TLS client of `lib/pq` 1.10.9 (the PostgreSQL driver in the real
//! server's `server/go.mod`), on rustls with the ring provider.
//!
//! What lib/pq does (ssl.go `ssl()`, `sslCertificateAuthority`,
//! `sslVerifyCertificateAuthority`; conn.go `(*conn).ssl`):
//!
//! * `sslmode=disable`: no TLS at all. Over a Unix socket lib/pq forces
//!   `disable` whatever the DataSource says (conn.go `dial`/`NewConnector`:
//!   "SSL is not necessary or supported over UNIX domain sockets").
//! * `require` (also the default when `sslmode` is absent): TLS without any
//!   certificate check (`InsecureSkipVerify`), **unless** `sslrootcert` names
//!   an existing file — then it verifies like `verify-ca` (libpq's backwards
//!   compatibility rule, copied in ssl.go). A `sslrootcert` that does not
//!   exist is dropped silently under `require`.
//! * `verify-ca`: the chain must lead to `sslrootcert` (or the system roots
//!   when it is not set). lib/pq 1.10.7 to 1.10.9 also pass the SNI name as
//!   `DNSName` to `x509.Verify`, so when the DataSource host is a DNS name (not
//!   an IP address — Go sends no SNI for those) and `sslsni` is not `0`, the
//!   host name is checked too (lib/pq issue #1106, fixed by PR #1226 in 2026
//!   only). The stand-in copies that.
//! * `verify-full`: Go's own handshake verification: chain + host name = the
//!   DataSource host (`tlsConf.ServerName = o["host"]`).
//! * `prefer`/`allow`: lib/pq 1.10.9 refuses them (`pq: unsupported sslmode`,
//!   checked in dsn.rs); lib/pq >= 1.11 maps `prefer` to `require` and
//!   `allow` to `disable`.
//! * The server answering `N` to the SSLRequest: `pq: SSL is not enabled on
//!   the server` (conn.go `ErrSSLNotSupported`).
//! * `sslcert`/`sslkey`: a client certificate; the key file must not be
//!   readable by group or others (ssl_permissions.go
//!   `ErrSSLKeyHasWorldPermissions`).
//!
//! Certificate errors carry Go's `crypto/x509` wording (approximated from
//! rustls' findings): `x509: certificate signed by unknown authority`,
//! `x509: certificate is valid for a, b, not c`; Go's handshake verification
//! (verify-full) prefixes `tls: failed to verify certificate: `, lib/pq's own
//! `certs[0].Verify` (verify-ca) does not.
//!
//! SCRAM then runs inside the TLS stream as before: lib/pq 1.10.9 always picks
//! plain `SCRAM-SHA-256` with the `n,,` header — no channel binding
//! (`SCRAM-SHA-256-PLUS` is never chosen).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
    SignatureScheme, StreamOwned,
};

use crate::dsn::PgTarget;
use crate::error::{Error, Result, fail};

/// The SSLRequest code (conn.go `w.int32(80877103)`).
pub const SSL_REQUEST: i32 = 80_877_103;
/// `ErrSSLNotSupported` in lib/pq's conn.go.
pub const SSL_NOT_SUPPORTED: &str = "pq: SSL is not enabled on the server";
/// Where Go's crypto/x509 finds the system roots on Debian
/// (root_linux.go `certFiles`, first existing file wins).
const SYSTEM_ROOT_FILES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// How the server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `require` without a usable `sslrootcert`.
    Nothing,
    /// `verify-ca`, or `require` with an existing `sslrootcert`; `name` is
    /// lib/pq 1.10.9's accidental host name check (see the module comment).
    Chain { name: bool },
    /// `verify-full`.
    Full,
}

/// What lib/pq would do with the DataSource's TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub check: Check,
    /// `sslrootcert` after lib/pq's `require` rule; `None` = system roots.
    pub root_cert: Option<String>,
    pub sni: bool,
}

fn is_ip(host: &str) -> bool {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok()
}

/// lib/pq's `ssl()` decision; `None` means no TLS.
pub fn plan(t: &PgTarget) -> Result<Option<Plan>> {
    if t.host.starts_with('/') {
        return Ok(None);
    }
    let mut root = t.ssl_param("PGSSLROOTCERT").filter(|s| !s.is_empty());
    // "By default SNI is on, any value which is not starting with "1"
    // disables SNI" (ssl.go).
    let sni = t
        .ssl_param("PGSSLSNI")
        .is_none_or(|v| v.is_empty() || v.starts_with('1'));
    let sends_name = sni && !is_ip(&t.host);
    let check = match t.sslmode.as_str() {
        "disable" => return Ok(None),
        "" | "require" => {
            if root
                .as_deref()
                .is_some_and(|r| std::fs::metadata(r).is_ok())
            {
                Check::Chain { name: sends_name }
            } else {
                root = None;
                Check::Nothing
            }
        }
        "verify-ca" => Check::Chain { name: sends_name },
        "verify-full" => Check::Full,
        other => {
            return fail(format!(
                "pq: unsupported sslmode {other:?}; only \"require\" (default), \"verify-full\", \"verify-ca\", and \"disable\" supported"
            ));
        }
    };
    Ok(Some(Plan {
        check,
        root_cert: root,
        sni: sni || check == Check::Full,
    }))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Go's `AppendCertsFromPEM` over `sslrootcert`, or the system roots.
fn roots(root_cert: Option<&str>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    let (path, from_dsn) = match root_cert {
        Some(p) => (p.to_string(), true),
        None => match SYSTEM_ROOT_FILES
            .iter()
            .find(|f| std::path::Path::new(f).is_file())
        {
            Some(f) => ((*f).to_string(), false),
            None => return Ok(store),
        },
    };
    let pem = std::fs::read(&path).map_err(|e| Error::new(format!("open {path}: {e}")))?;
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
        if store.add(cert).is_ok() {
            added += 1;
        }
    }
    if added == 0 && from_dsn {
        return fail("pq: couldn't parse pem in sslrootcert");
    }
    Ok(store)
}

/// A name as rustls reports it (`DnsName("a.example")`, `IpAddress(10.0.0.1)`,
/// or plain) without the wrapper.
fn presented_name(n: &str) -> &str {
    for (head, tail) in [("DnsName(\"", "\")"), ("IpAddress(", ")")] {
        if let Some(inner) = n.strip_prefix(head).and_then(|r| r.strip_suffix(tail)) {
            return inner;
        }
    }
    n
}

/// Go's wording for what rustls found wrong with the certificate.
pub fn go_x509_message(e: &CertificateError) -> String {
    match e {
        CertificateError::UnknownIssuer => "x509: certificate signed by unknown authority".into(),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => {
            let host = expected.to_str();
            let host_is_ip = is_ip(&host);
            let valid: Vec<&str> = presented
                .iter()
                .map(|n| presented_name(n))
                .filter(|n| is_ip(n) == host_is_ip)
                .collect();
            if valid.is_empty() {
                if host_is_ip {
                    format!(
                        "x509: cannot validate certificate for {host} because it doesn't contain any IP SANs"
                    )
                } else {
                    format!(
                        "x509: certificate is not valid for any names, but wanted to match {host}"
                    )
                }
            } else {
                format!(
                    "x509: certificate is valid for {}, not {host}",
                    valid.join(", ")
                )
            }
        }
        CertificateError::NotValidForName => {
            "x509: certificate is not valid for the requested host name".into()
        }
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => {
            let mut m = String::from("x509: certificate has expired or is not yet valid");
            if let CertificateError::ExpiredContext { time, not_after } = e {
                let _ = write!(
                    m,
                    ": current time {} is after {}",
                    time.as_secs(),
                    not_after.as_secs()
                );
            }
            m
        }
        other => format!("x509: {other}"),
    }
}

/// lib/pq's certificate check, remembering Go's message for the failure.
#[derive(Debug)]
struct Verifier {
    check: Check,
    webpki: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
    failure: Mutex<Option<String>>,
}

impl Verifier {
    fn remember(&self, msg: String) {
        if let Ok(mut f) = self.failure.lock() {
            *f = Some(msg);
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Ok(v) => Ok(v),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.check == (Check::Chain { name: false }) => {
                // The chain was checked before the name (WebPkiServerVerifier).
                Ok(ServerCertVerified::assertion())
            }
            Err(rustls::Error::InvalidCertificate(ce)) => {
                let msg = go_x509_message(&ce);
                self.remember(if self.check == Check::Full {
                    format!("tls: failed to verify certificate: {msg}")
                } else {
                    msg
                });
                Err(rustls::Error::InvalidCertificate(ce))
            }
            Err(e) => {
                self.remember(format!("tls: {e}"));
                Err(e)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Go's system roots (for https to S3), empty if none are installed.
pub fn system_roots() -> Arc<RootCertStore> {
    Arc::new(roots(None).unwrap_or_else(|_| RootCertStore::empty()))
}

/// An https client configuration: the system roots, or no check at all with
/// `ServiceSettings.EnableInsecureOutgoingConnections` (Go's
/// `InsecureSkipVerify`); HTTP/1.1, ring provider.
pub fn https_client_config(roots: Arc<RootCertStore>, skip_verify: bool) -> Result<ClientConfig> {
    let prov = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&prov))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(format!("tls: {e}")))?;
    let mut cfg = if skip_verify {
        let verifier = Arc::new(Verifier {
            check: Check::Nothing,
            webpki: None,
            algorithms: prov.signature_verification_algorithms,
            failure: Mutex::new(None),
        });
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// `sslKeyPermissions` in lib/pq 1.10.9: the key must be u=rw at most.
fn check_key_permissions(path: &str) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::new(format!("open {path}: {e}")))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return fail(
            "pq: Private key file has group or world access. Permissions should be u=rw (0600) or less",
        );
    }
    Ok(())
}

fn client_config(t: &PgTarget, plan: &Plan, verifier: Arc<Verifier>) -> Result<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(format!("tls: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let cert = t.ssl_param("PGSSLCERT").filter(|s| !s.is_empty());
    let mut config = match cert {
        // lib/pq skips a client certificate that does not exist.
        Some(cert) if std::path::Path::new(&cert).exists() => {
            let key = t.ssl_param("PGSSLKEY").unwrap_or_default();
            check_key_permissions(&key)?;
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
                .map_err(|e| Error::new(format!("tls: failed to read {cert}: {e}")))?
                .flatten()
                .collect();
            let key = PrivateKeyDer::from_pem_file(&key)
                .map_err(|e| Error::new(format!("tls: failed to read {key}: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::new(format!("tls: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.enable_sni = plan.sni;
    Ok(config)
}

/// A PostgreSQL connection, plain or TLS.
pub trait PgStream: Read + Write {}
impl<T: Read + Write> PgStream for T {}

/// `(*conn).ssl` of lib/pq: SSLRequest, `S` or `N`, then the TLS handshake
/// with the checks of [`plan`].
pub fn upgrade(mut sock: TcpStream, t: &PgTarget, plan: &Plan) -> Result<Box<dyn PgStream>> {
    let mut req = 8i32.to_be_bytes().to_vec();
    req.extend_from_slice(&SSL_REQUEST.to_be_bytes());
    sock.write_all(&req)
        .map_err(|e| Error::new(format!("pq: write: {e}")))?;
    let mut answer = [0u8; 1];
    sock.read_exact(&mut answer)
        .map_err(|e| Error::new(format!("pq: read: {e}")))?;
    if answer[0] != b'S' {
        return fail(SSL_NOT_SUPPORTED);
    }

    let prov = provider();
    let webpki = match plan.check {
        Check::Nothing => None,
        _ => Some(
            WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(plan.root_cert.as_deref())?),
                Arc::clone(&prov),
            )
            .build()
            .map_err(|e| match e {
                rustls::client::VerifierBuilderError::NoRootAnchors => {
                    Error::new("x509: certificate signed by unknown authority")
                }
                other => Error::new(format!("tls: {other}")),
            })?,
        ),
    };
    let verifier = Arc::new(Verifier {
        check: plan.check,
        webpki,
        algorithms: prov.signature_verification_algorithms,
        failure: Mutex::new(None),
    });
    let config = client_config(t, plan, Arc::clone(&verifier))?;
    let host = t.host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| Error::new(format!("tls: invalid server name {host:?}: {e}")))?;
    let mut conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| Error::new(format!("tls: {e}")))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            let remembered = verifier.failure.lock().ok().and_then(|mut f| f.take());
            return Err(Error::new(remembered.unwrap_or_else(|| e.to_string())));
        }
    }
    Ok(Box::new(StreamOwned::new(conn, sock)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(dsn: &str) -> PgTarget {
        crate::dsn::parse_postgres(dsn).expect("dsn")
    }

    #[test]
    fn plans_follow_lib_pq_1_10_9() {
        let p = |d: &str| plan(&target(d)).expect("plan");
        assert_eq!(p("postgres://u@h/db?sslmode=disable"), None);
        assert_eq!(
            p("postgres://u@h/db").map(|p| p.check),
            Some(Check::Nothing),
            "the default is require"
        );
        // A missing sslrootcert under require is dropped.
        let r =
            p("postgres://u@h/db?sslmode=require&sslrootcert=/nonexistent/ca.pem").expect("tls");
        assert_eq!((r.check, r.root_cert), (Check::Nothing, None));
        // An existing one makes require verify like verify-ca.
        let r =
            p("postgres://u@db.example/db?sslmode=require&sslrootcert=/etc/hostname").expect("tls");
        assert_eq!(r.check, Check::Chain { name: true });
        assert_eq!(
            p("postgres://u@10.0.0.5/db?sslmode=verify-ca").map(|p| p.check),
            Some(Check::Chain { name: false }),
            "no SNI for an IP address, so no name check"
        );
        assert_eq!(
            p("postgres://u@db.example/db?sslmode=verify-ca&sslsni=0").map(|p| p.check),
            Some(Check::Chain { name: false })
        );
        assert_eq!(
            p("postgres://u@db.example/db?sslmode=verify-full&sslsni=0").map(|p| (p.check, p.sni)),
            Some((Check::Full, true))
        );
        // Unix socket: always without TLS.
        assert_eq!(
            p("postgres://u@/db?host=/run/postgresql&sslmode=verify-full"),
            None
        );
    }

    #[test]
    fn go_messages() {
        assert_eq!(
            go_x509_message(&CertificateError::UnknownIssuer),
            "x509: certificate signed by unknown authority"
        );
        let e = CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("db.example").expect("name").to_owned(),
            presented: vec![
                "DnsName(\"pg.internal\")".into(),
                "localhost".into(),
                "IpAddress(127.0.0.1)".into(),
            ],
        };
        assert_eq!(
            go_x509_message(&e),
            "x509: certificate is valid for pg.internal, localhost, not db.example"
        );
        let e = CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("10.1.1.1").expect("ip").to_owned(),
            presented: vec!["pg.internal".into()],
        };
        assert_eq!(
            go_x509_message(&e),
            "x509: cannot validate certificate for 10.1.1.1 because it doesn't contain any IP SANs"
        );
    }
}
