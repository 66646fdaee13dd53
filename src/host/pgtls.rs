//! A PostgreSQL server on another machine, reached before anything on this box
//! changes: TCP, PostgreSQL's SSLRequest, and the TLS handshake checked the way
//! `sslmode` says (lib/pq's ssl.go: `verify-full` checks the chain and the host
//! name, `verify-ca` the chain only, `require` neither). No login happens here (the
//! database phase logs in with psql once the client is installed); this is what can
//! be known with nothing installed.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

const TIMEOUT: Duration = Duration::from_secs(5);
/// PostgreSQL's SSLRequest: length 8, code 80877103 (protocol.sgml "SSLRequest").
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Chain and host name (`verify-full`).
    Full,
    /// Chain only (`verify-ca`).
    Chain,
    /// Nothing: TLS only (`require`).
    Nothing,
}

/// Why the server could not be reached as asked; the text names the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Connects to `host:port`, asks for TLS and completes the handshake. `ca_pem` is
/// the CA file's content for the verifying modes. On success, the TLS version.
pub fn handshake(
    host: &str,
    port: u16,
    ca_pem: Option<&[u8]>,
    verify: Verify,
) -> Result<String, Refused> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Refused(format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut last = Refused(format!("{host} has no address"));
    for addr in addrs {
        match try_addr(addr, host, ca_pem, verify) {
            Ok(v) => return Ok(v),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn try_addr(
    addr: SocketAddr,
    host: &str,
    ca_pem: Option<&[u8]>,
    verify: Verify,
) -> Result<String, Refused> {
    let mut tcp = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| Refused(format!("cannot connect to {addr} (5 s deadline): {e}")))?;
    let _ = tcp.set_read_timeout(Some(TIMEOUT));
    let _ = tcp.set_write_timeout(Some(TIMEOUT));
    tcp.write_all(&SSL_REQUEST)
        .map_err(|e| Refused(format!("{addr}: {e}")))?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer)
        .map_err(|e| Refused(format!("{addr} did not answer the SSL request: {e}")))?;
    match answer[0] {
        b'S' => {}
        b'N' => {
            return Err(Refused(format!(
                "{addr}: SSL is not enabled on the server (lib/pq: \"pq: SSL is not enabled on the server\")"
            )));
        }
        other => {
            return Err(Refused(format!(
                "{addr} is not a PostgreSQL server (answered {other:#04x} to the SSL request)"
            )));
        }
    }
    let config = client_config(ca_pem, verify)?;
    let name = ServerName::try_from(host.to_owned()).map_err(|e| {
        Refused(format!(
            "\"{host}\" cannot be checked as a server name: {e}"
        ))
    })?;
    let mut conn = ClientConnection::new(config, name).map_err(|e| Refused(e.to_string()))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| {
            Refused(format!(
                "TLS handshake with {addr} failed: {}",
                crate::host::http::error_chain(&e)
            ))
        })?;
    }
    Ok(conn
        .protocol_version()
        .map_or_else(|| "TLS".to_owned(), |v| format!("{v:?}")))
}

fn client_config(ca_pem: Option<&[u8]>, verify: Verify) -> Result<Arc<ClientConfig>, Refused> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Refused(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    if let Some(pem) = ca_pem {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .filter_map(Result::ok)
            .collect();
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(Refused("the CA file holds no PEM certificate".into()));
        }
    }
    let roots = Arc::new(roots);
    let cfg = match verify {
        Verify::Full => builder.with_root_certificates(roots).with_no_client_auth(),
        Verify::Chain | Verify::Nothing => {
            let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::clone(&roots),
                Arc::clone(&provider),
            )
            .build()
            .ok();
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Lenient {
                    inner,
                    provider,
                    chain: verify == Verify::Chain,
                }))
                .with_no_client_auth()
        }
    };
    Ok(Arc::new(cfg))
}

/// `verify-ca`: the chain must verify, the name is not looked at; `require`:
/// nothing is looked at (what lib/pq does in those modes).
#[derive(Debug)]
struct Lenient {
    inner: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    chain: bool,
}

impl rustls::client::danger::ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if !self.chain {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        }
        let Some(inner) = &self.inner else {
            return Err(rustls::Error::General("no CA certificate".into()));
        };
        match inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
