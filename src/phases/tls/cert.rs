//! Certificate checks in Rust, with the rustls/webpki code that already serves the
//! HTTPS probes: parse the PEM files, match the key to the certificate, and verify the
//! chain against the trusted roots for the domain at a given time. Every failure is
//! reported in the words an operator needs, naming the file.
//!
//! The expiry date comes from webpki itself: verifying at a time far in the future
//! fails with the certificate's `notAfter`, so no separate X.509 parser is needed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, RootCertStore};

use crate::host::Host;

/// Debian's and Ubuntu's bundle of the system's trusted roots (ca-certificates).
pub const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
const DAY: u64 = 86_400;

/// The roots a check trusts: the system store plus any extra bundle (a private or
/// test CA, e.g. `acme_ca_bundle`).
#[derive(Debug, Clone)]
pub struct Trust {
    pub roots: Arc<RootCertStore>,
    /// Where the roots came from, for evidence ("system store (146), /etc/x.pem (2)").
    pub sources: Vec<String>,
}

impl Trust {
    /// Reads the system bundle and `extra` through the host seam. A missing or
    /// unreadable extra bundle is named in `sources`, never silently dropped.
    pub fn load(host: &Host, extra: Option<&Path>) -> Self {
        let mut store = RootCertStore::empty();
        let mut sources = Vec::new();
        let mut add = |path: &Path, label: &str| match host.read(path) {
            Ok(Some(bytes)) => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
                    .filter_map(Result::ok)
                    .collect();
                let (added, _) = store.add_parsable_certificates(certs);
                sources.push(format!("{label} ({added})"));
            }
            Ok(None) => sources.push(format!("{label} (missing)")),
            Err(e) => sources.push(format!("{label} (unreadable: {e})")),
        };
        add(Path::new(SYSTEM_BUNDLE), "system store");
        if let Some(p) = extra {
            add(p, &p.display().to_string());
        }
        Self {
            roots: Arc::new(store),
            sources,
        }
    }

    /// Only these certificates (tests).
    pub fn from_certs(certs: impl IntoIterator<Item = CertificateDer<'static>>) -> Self {
        let mut store = RootCertStore::empty();
        let (added, _) = store.add_parsable_certificates(certs);
        Self {
            roots: Arc::new(store),
            sources: vec![format!("given ({added})")],
        }
    }
}

/// The certificates of a PEM file, leaf first.
pub fn parse_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("is not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err("holds no certificate (no -----BEGIN CERTIFICATE----- block)".into());
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub fn parse_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            "holds no private key (no -----BEGIN ... PRIVATE KEY----- block)".to_owned()
        }
        other => format!("is not a readable private key: {other}"),
    })
}

/// How the key and the certificate relate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMatch {
    Matches,
    Mismatch,
    /// The key type cannot be loaded here (e.g. P-521, RSA < 2048 bits).
    Unknown(String),
}

/// Whether `key` is the private half of the leaf certificate's public key.
pub fn key_matches(chain: &[CertificateDer<'static>], key: &PrivateKeyDer<'static>) -> KeyMatch {
    let signing = match rustls::crypto::ring::sign::any_supported_type(key) {
        Ok(k) => k,
        Err(e) => return KeyMatch::Unknown(e.to_string()),
    };
    let ck = rustls::sign::CertifiedKey::new(chain.to_vec(), signing);
    match ck.keys_match() {
        Ok(()) => KeyMatch::Matches,
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            KeyMatch::Mismatch
        }
        Err(e) => KeyMatch::Unknown(e.to_string()),
    }
}

fn verifier(trust: &Trust) -> Result<Arc<WebPkiServerVerifier>, String> {
    WebPkiServerVerifier::builder_with_provider(
        trust.roots.clone(),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .map_err(|e| format!("no trusted roots to check against ({e})"))
}

/// Verifies the chain (leaf first) for `domain` at `now`, as a browser would.
pub fn verify(
    chain: &[CertificateDer<'static>],
    domain: &str,
    trust: &Trust,
    now: SystemTime,
) -> Result<(), rustls::Error> {
    let Some((leaf, rest)) = chain.split_first() else {
        return Err(rustls::Error::NoCertificatesPresented);
    };
    let name = ServerName::try_from(domain.to_owned())
        .map_err(|e| rustls::Error::General(format!("{domain} is not a DNS name: {e}")))?;
    let v = verifier(trust).map_err(rustls::Error::General)?;
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    v.verify_server_cert(leaf, rest, &name, &[], UnixTime::since_unix_epoch(secs))
        .map(|_| ())
}

/// The leaf's `notAfter`: webpki names it when asked to verify at a time long past it.
pub fn not_after(
    chain: &[CertificateDer<'static>],
    domain: &str,
    trust: &Trust,
) -> Option<SystemTime> {
    let far = SystemTime::now() + Duration::from_secs(200 * 365 * DAY);
    match verify(chain, domain, trust, far) {
        Err(rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
            not_after,
            ..
        })) => Some(SystemTime::UNIX_EPOCH + Duration::from_secs(not_after.as_secs())),
        _ => None,
    }
}

/// Whole days from `now` to `until` (negative when past).
pub fn days_between(now: SystemTime, until: SystemTime) -> i64 {
    match until.duration_since(now) {
        Ok(d) => i64::try_from(d.as_secs() / DAY).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs().div_ceil(DAY)).unwrap_or(i64::MAX),
    }
}

pub fn date(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A chain verification failure in an operator's words.
pub fn explain(e: &rustls::Error, domain: &str) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired => "has expired".into(),
            CertificateError::ExpiredContext { not_after, .. } => format!(
                "expired on {}",
                date(SystemTime::UNIX_EPOCH + Duration::from_secs(not_after.as_secs()))
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "is not valid yet (check the clock of this server)".into()
            }
            CertificateError::NotValidForName => format!("does not cover {domain}"),
            CertificateError::NotValidForNameContext { presented, .. } => format!(
                "does not cover {domain} (it is for {})",
                if presented.is_empty() {
                    "no DNS name".to_owned()
                } else {
                    presented
                        .iter()
                        .map(|p| match (p.find('"'), p.rfind('"')) {
                            // webpki's debug form: DnsName("chat.example.com")
                            (Some(a), Some(b)) if b > a => &p[a + 1..b],
                            _ => p.as_str(),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            CertificateError::UnknownIssuer => {
                "does not chain to a trusted root (an intermediate certificate is missing from the file, or the issuing CA is not in the system's store)".into()
            }
            CertificateError::BadSignature => "has a signature that does not verify".into(),
            CertificateError::Revoked => "is revoked".into(),
            other => format!("is not valid: {other:?}"),
        },
        other => other.to_string(),
    }
}

/// Everything known about one certificate + key pair on the box.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// Problems, each as (which file, what is wrong, what to do). Empty: usable.
    pub problems: Vec<Problem>,
    /// Set when the chain verified for the domain.
    pub not_after: Option<SystemTime>,
    /// The leaf's issuer, for evidence.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `cert` or `key`.
    pub file: Which,
    pub path: PathBuf,
    pub problem: String,
    pub fix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Cert,
    Key,
}

impl Assessment {
    pub fn usable(&self) -> bool {
        self.problems.is_empty()
    }

    /// Days of validity left at `now` (when the chain verified).
    pub fn days_left(&self, now: SystemTime) -> Option<i64> {
        self.not_after.map(|t| days_between(now, t))
    }
}

/// How far the chain must be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// To a root of the [`Trust`] (a browser's view).
    Trusted,
    /// The file's own last certificate is taken as the root: dates, name, signatures
    /// and key are checked, trust is not (certbot's lineages from a staging CA; the
    /// served chain is checked against the trusted roots by the acceptance phase).
    OwnChain,
}

/// Reads and checks a certificate chain file and its key: readable, PEM, key matches,
/// chain to a trusted root, valid now, covers the domain.
pub fn assess(
    host: &Host,
    cert: &Path,
    key: &Path,
    domain: &str,
    trust: &Trust,
    anchor: Anchor,
) -> Assessment {
    let mut problems = Vec::new();
    let problem = |file, path: &Path, problem: String, fix: &str| Problem {
        file,
        path: path.to_owned(),
        problem,
        fix: fix.to_owned(),
    };
    let read = |path: &Path| match host.read(path) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(format!("{} does not exist", path.display())),
        Err(e) => Err(format!("cannot be read: {e}")),
    };
    let chain = read(cert).and_then(|b| parse_certs(&b));
    let key_der = read(key).and_then(|b| parse_key(&b));
    let mut summary = String::new();
    let mut not_after_ = None;
    match &chain {
        Err(e) => problems.push(problem(
            Which::Cert,
            cert,
            e.clone(),
            "give the PEM file with the certificate first, then its intermediates",
        )),
        Ok(chain) => {
            summary = format!(
                "{} certificate{} in the file",
                chain.len(),
                if chain.len() == 1 { "" } else { "s" }
            );
            let own;
            let trust = match (anchor, chain.last()) {
                (Anchor::OwnChain, Some(top)) => {
                    let mut roots = (*trust.roots).clone();
                    let _ = roots.add_parsable_certificates([top.clone()]);
                    own = Trust {
                        roots: Arc::new(roots),
                        sources: trust.sources.clone(),
                    };
                    &own
                }
                _ => trust,
            };
            match verify(chain, domain, trust, SystemTime::now()) {
                Ok(()) => {
                    not_after_ = not_after(chain, domain, trust);
                }
                Err(e) => {
                    let fix = match &e {
                        rustls::Error::InvalidCertificate(
                            CertificateError::NotValidForName
                            | CertificateError::NotValidForNameContext { .. },
                        ) => format!("use a certificate whose subjectAltName includes {domain}"),
                        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                            "append the intermediate certificates to the file (leaf first); for a private CA, install its root in /usr/local/share/ca-certificates and run update-ca-certificates".into()
                        }
                        rustls::Error::InvalidCertificate(
                            CertificateError::Expired | CertificateError::ExpiredContext { .. },
                        ) => "renew the certificate and give the new file".into(),
                        _ => "give a certificate that is valid for the domain".into(),
                    };
                    problems.push(problem(Which::Cert, cert, explain(&e, domain), &fix));
                }
            }
        }
    }
    match (&chain, &key_der) {
        (_, Err(e)) => problems.push(problem(
            Which::Key,
            key,
            e.clone(),
            "give the PEM file of the certificate's private key (unencrypted)",
        )),
        (Ok(chain), Ok(k)) => match key_matches(chain, k) {
            KeyMatch::Matches => {}
            KeyMatch::Mismatch => problems.push(problem(
                Which::Key,
                key,
                format!(
                    "is not the private key of the certificate in {}",
                    cert.display()
                ),
                "give the key that was generated together with this certificate's request",
            )),
            KeyMatch::Unknown(why) => problems.push(problem(
                Which::Key,
                key,
                format!("cannot be compared with the certificate ({why})"),
                "use an RSA (2048 bits or more), ECDSA P-256/P-384 or Ed25519 key",
            )),
        },
        (Err(_), Ok(_)) => {}
    }
    Assessment {
        problems,
        not_after: not_after_,
        summary,
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Certificates made on the spot with rcgen, with any dates.

    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use rustls::pki_types::CertificateDer;
    use time::OffsetDateTime;

    pub struct Ca {
        pub pem: String,
        pub der: CertificateDer<'static>,
        issuer: Issuer<'static, KeyPair>,
    }

    pub struct Leaf {
        pub cert_pem: String,
        pub key_pem: String,
        pub der: CertificateDer<'static>,
        pub key_der: Vec<u8>,
    }

    fn ca_params(name: &str) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p
    }

    /// A self-signed root.
    pub fn ca(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let p = ca_params(name);
        let cert = p.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(p, key),
        }
    }

    /// An intermediate CA signed by `parent`.
    pub fn intermediate(parent: &Ca, name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let p = ca_params(name);
        let cert = p.signed_by(&key, &parent.issuer).unwrap();
        Ca {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(p, key),
        }
    }

    /// A leaf for `names`, valid from `days_from` to `days_to` days relative to now.
    pub fn leaf(ca: &Ca, names: &[&str], days_from: i64, days_to: i64) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let mut p =
            CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                .unwrap();
        let now = OffsetDateTime::now_utc();
        p.not_before = now + time::Duration::days(days_from);
        p.not_after = now + time::Duration::days(days_to);
        let cert = p.signed_by(&key, &ca.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{ca, intermediate, leaf};
    use super::*;

    const D: &str = "chat.example.com";

    struct Fixture {
        _dir: tempfile::TempDir,
        host: Host,
    }

    fn fixture(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for (p, content) in files {
            let real = dir.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(real.parent().unwrap()).unwrap();
            std::fs::write(real, content).unwrap();
        }
        let host = Host::new(
            dir.path().to_owned(),
            crate::host::RunLog::create(&dir.path().join("log")),
            crate::events::discard(),
            Box::new(crate::host::SystemRunner),
        );
        Fixture { _dir: dir, host }
    }

    fn assess_pair(f: &Fixture, trust: &Trust) -> Assessment {
        assess(
            &f.host,
            Path::new("/tls/cert.pem"),
            Path::new("/tls/key.pem"),
            D,
            trust,
            Anchor::Trusted,
        )
    }

    #[test]
    fn a_good_pair_is_usable_and_its_expiry_is_known() {
        let ca = ca("Test Root");
        let l = leaf(&ca, &[D], -1, 90);
        let f = fixture(&[("/tls/cert.pem", &l.cert_pem), ("/tls/key.pem", &l.key_pem)]);
        let trust = Trust::from_certs([ca.der.clone()]);
        let a = assess_pair(&f, &trust);
        assert!(a.usable(), "{:?}", a.problems);
        let days = a.days_left(SystemTime::now()).unwrap();
        assert!((89..=90).contains(&days), "{days}");
    }

    #[test]
    fn expired_wrong_name_unknown_issuer_and_future_name_the_certificate() {
        let ca1 = ca("Test Root");
        let trust = Trust::from_certs([ca1.der.clone()]);
        for (l, want) in [
            (leaf(&ca1, &[D], -100, -10), "expired on"),
            (
                leaf(&ca1, &["other.example.com"], -1, 90),
                "does not cover chat.example.com (it is for other.example.com)",
            ),
            (
                leaf(&ca("Unknown Root"), &[D], -1, 90),
                "does not chain to a trusted root",
            ),
            (leaf(&ca1, &[D], 5, 90), "not valid yet"),
        ] {
            let f = fixture(&[("/tls/cert.pem", &l.cert_pem), ("/tls/key.pem", &l.key_pem)]);
            let a = assess_pair(&f, &trust);
            assert_eq!(a.problems.len(), 1, "{:?}", a.problems);
            assert_eq!(a.problems[0].file, Which::Cert);
            assert!(
                a.problems[0].problem.contains(want),
                "{} vs {want}",
                a.problems[0].problem
            );
            assert!(a.not_after.is_none());
        }
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let ca = ca("Test Root");
        let trust = Trust::from_certs([ca.der.clone()]);
        let l = leaf(&ca, &[D], -1, 90);
        let other = leaf(&ca, &[D], -1, 90);
        let f = fixture(&[
            ("/tls/cert.pem", &l.cert_pem),
            ("/tls/key.pem", &other.key_pem),
        ]);
        let a = assess_pair(&f, &trust);
        assert_eq!(a.problems.len(), 1, "{:?}", a.problems);
        assert_eq!(a.problems[0].file, Which::Key);
        assert!(
            a.problems[0]
                .problem
                .contains("is not the private key of the certificate")
        );
    }

    #[test]
    fn missing_and_garbage_files_are_named() {
        let f = fixture(&[("/tls/cert.pem", "hello\n")]);
        let a = assess_pair(&f, &Trust::from_certs([]));
        let what: Vec<(Which, &str)> = a
            .problems
            .iter()
            .map(|p| (p.file, p.problem.as_str()))
            .collect();
        assert_eq!(
            what,
            [
                (
                    Which::Cert,
                    "holds no certificate (no -----BEGIN CERTIFICATE----- block)"
                ),
                (Which::Key, "/tls/key.pem does not exist"),
            ]
        );
        // A certificate where the key should be.
        let ca = ca("Test Root");
        let l = leaf(&ca, &[D], -1, 90);
        let f = fixture(&[
            ("/tls/cert.pem", &l.cert_pem),
            ("/tls/key.pem", &l.cert_pem),
        ]);
        let a = assess_pair(&f, &Trust::from_certs([ca.der.clone()]));
        assert_eq!(a.problems.len(), 1);
        assert!(
            a.problems[0].problem.contains("holds no private key"),
            "{:?}",
            a.problems
        );
    }

    #[test]
    fn intermediates_in_the_file_complete_the_chain() {
        let root = ca("Root");
        let inter = intermediate(&root, "Intermediate");
        let l = leaf(&inter, &[D], -1, 90);
        let trust = Trust::from_certs([root.der.clone()]);
        let leaf_only = fixture(&[("/tls/cert.pem", &l.cert_pem), ("/tls/key.pem", &l.key_pem)]);
        let a = assess_pair(&leaf_only, &trust);
        assert!(
            a.problems[0].problem.contains("does not chain"),
            "{:?}",
            a.problems
        );
        let full = format!("{}{}", l.cert_pem, inter.pem);
        let with_chain = fixture(&[("/tls/cert.pem", &full), ("/tls/key.pem", &l.key_pem)]);
        assert!(assess_pair(&with_chain, &trust).usable());
        // A staging-style chain (root unknown to the store): usable when anchored on
        // its own top, still refused for the browser's view.
        let none = Trust::from_certs([]);
        assert!(!assess_pair(&with_chain, &none).usable());
        let own = assess(
            &with_chain.host,
            Path::new("/tls/cert.pem"),
            Path::new("/tls/key.pem"),
            D,
            &none,
            Anchor::OwnChain,
        );
        assert!(own.usable(), "{:?}", own.problems);
        assert!(own.not_after.is_some());
    }

    #[test]
    fn trust_reads_the_system_bundle_and_the_extra_one() {
        let root = ca("Private Root");
        let f = fixture(&[(SYSTEM_BUNDLE, &root.pem)]);
        let t = Trust::load(&f.host, Some(Path::new("/etc/missing.pem")));
        assert_eq!(
            t.sources,
            ["system store (1)", "/etc/missing.pem (missing)"]
        );
        assert_eq!(t.roots.len(), 1);
    }

    #[test]
    fn days_are_counted_both_ways() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 * DAY);
        assert_eq!(
            days_between(now, now + Duration::from_secs(31 * DAY + 5)),
            31
        );
        assert_eq!(days_between(now, now - Duration::from_secs(DAY / 2)), -1);
    }
}
