//! Answers and the box's facts ([`Facts`]) become a plan: a serialisable description
//! of what the box should look like and of what is run to get there. `plan` prints
//! it, the phases write and run what it holds, `status` checks it.
pub mod database;
pub mod facts;
pub mod firewall;
mod render;
pub mod retention_timer;
pub mod templates;

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

pub use crate::grammar;
pub use facts::Facts;
pub use render::render_text;

use crate::answers::{Answers, DbEngine, Proxy, Role, Tls};
use crate::dsn;
use crate::releases::{self, Version};

/// Mattermost listens here; only the proxy talks to it.
pub const UPSTREAM: &str = "127.0.0.1:8065";

/// [`UPSTREAM`] as a socket address, for the probes (a unit test keeps them equal).
pub const UPSTREAM_ADDR: std::net::SocketAddr = std::net::SocketAddr::V4(
    std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 8065),
);
pub const UNIT_PATH: &str = "/etc/systemd/system/mattermost.service";
pub const SERVICE: &str = "mattermost";
pub const SERVICE_USER: &str = "mattermost";
pub const APACHE_SITE: &str = "mattermost";
/// The nginx site: sites-available/NAME, linked from sites-enabled/NAME.
pub const NGINX_SITE: &str = "mattermost";
/// certbot --webroot writes Let's Encrypt's http-01 challenges here; the proxy serves them.
pub const ACME_WEBROOT: &str = "/var/www/mattermost-setup-acme";
/// Reloads the proxy after certbot renews our certificate.
pub const CERTBOT_DEPLOY_HOOK: &str = "/etc/letsencrypt/renewal-hooks/deploy/mattermost-setup";
/// Gives certbot's timer the answers' acme_ca_bundle.
pub const CERTBOT_DROPIN: &str = "/etc/systemd/system/certbot.service.d/mattermost-setup.conf";
/// Mattermost's default FileSettings.MaxFileSize.
pub const UPLOAD_LIMIT: u64 = 104_857_600;
/// Where the tarball comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Url(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleasePlan {
    pub version: Version,
    pub edition: &'static str,
    pub source: Source,
    /// Empty when `signature` verifies the tarball instead.
    pub sha256: String,
    /// Whether the checksum comes from the bundled table or from the answers.
    pub sha256_from: &'static str,
    /// No SHA-256 is known (a release newer than the table, an arm64 tarball): the
    /// tarball must carry Mattermost's GPG signature by this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<releases::SigningKey>,
}

/// A file the install writes, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub mode: u32,
    pub owner: &'static str,
    pub content: String,
}

/// One key of config.json the install sets; every other key is kept, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEdit {
    pub section: &'static str,
    pub key: &'static str,
    pub value: Value,
    /// Never printed nor serialised (the DataSource, the S3 secret key).
    pub secret: bool,
}

impl Serialize for ConfigEdit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ConfigEdit", 3)?;
        st.serialize_field("section", self.section)?;
        st.serialize_field("key", self.key)?;
        if self.secret {
            st.serialize_field("value", &Redacted(&self.value))?;
        } else {
            st.serialize_field("value", &self.value)?;
        }
        st.end()
    }
}

struct Redacted<'a>(&'a Value);

impl Serialize for Redacted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        redacted_value(self.0, s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabasePlan {
    pub engine: &'static str,
    pub unit: &'static str,
    pub name: String,
    pub user: String,
    pub changes: Vec<String>,
    /// The statements run as the database superuser ([`database::script`]), the
    /// password as [`database::PASSWORD`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub script: Vec<String>,
    /// On the database machine of several: the server's settings, hba block and
    /// certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<database::ServerPlan>,
}

/// The box before the certificate is in place (TLS answers only): the proxy serves
/// http (and, with Let's Encrypt, the ACME challenge) and SiteURL is http. The proxy
/// and tls phases move from this state to the plan's own (`files`,
/// `apache_modules`, `site_url`) once the certificate is there; `plan` prints both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UntilCertificate {
    pub site: PlannedFile,
    pub apache_modules: Vec<&'static str>,
    pub site_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// This machine of several: "db1 (database, 10.0.0.10)"; `None` on a single box.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// Whether Mattermost itself runs on this box (not on the database or proxy machine).
    pub mattermost: bool,
    pub domain: String,
    pub site_url: String,
    pub release: ReleasePlan,
    pub packages: Vec<&'static str>,
    pub database: DatabasePlan,
    pub install_dir: PathBuf,
    pub data_dir: PathBuf,
    pub directories: Vec<PathBuf>,
    pub config_json: PathBuf,
    pub config_edits: Vec<ConfigEdit>,
    pub files: Vec<PlannedFile>,
    pub apache_modules: Vec<&'static str>,
    pub services: Vec<String>,
    /// The proxy site's upload limit: the box's MaxFileSize, or Mattermost's default.
    pub upload_limit: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_certificate: Option<UntilCertificate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certbot: Option<CertbotPlan>,
    /// What the box said when the plan was made.
    pub facts: Facts,
}

fn redacted_value<S: serde::Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
    // Serialising a plan never reveals the DataSource password.
    match v.as_str() {
        Some(text) if text.contains('@') && text.contains(':') => {
            s.serialize_str("(contains the database password)")
        }
        _ => s.serialize_str("(secret)"),
    }
}

/// Why no plan can be made for the answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// No published release fits the version, edition and database engine.
    #[error("{0}")]
    Release(String),
    /// A release the bundled table does not know, with no way to check its tarball.
    #[error("no SHA-256 is known for {version} ({arch}); set sha256 in the answers")]
    NoChecksum {
        version: Version,
        arch: &'static str,
    },
}

impl PlanError {
    /// What the operator can do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            Self::Release(_) => {
                "choose a version from the bundled table (`mattermost-setup plan` lists it), or pin one with its sha256"
            }
            Self::NoChecksum { .. } => {
                "give the tarball's published SHA-256 in sha256 (or --sha256), or choose a version from the bundled table"
            }
        }
    }
}

impl From<PlanError> for crate::vocab::PhaseError {
    fn from(e: PlanError) -> Self {
        Self::new(e.to_string()).fix(e.fix())
    }
}

impl Plan {
    /// The plan for a fresh box (no facts read): what the wizard and the tests show.
    pub fn new(a: &Answers) -> Result<Self, PlanError> {
        Self::for_box(a, &Facts::default())
    }

    /// The plan for `a` on the box behind `host`: its [`Facts`] read, nothing changed.
    /// What `plan`, `install`, `status`, the lifecycles and the wizard all use.
    pub fn on_box(host: &crate::host::Host, a: &Answers) -> Result<Self, PlanError> {
        Self::for_box(a, &Facts::probe(host, a))
    }

    /// The plan for the answers on a box whose [`Facts`] were read.
    pub fn for_box(a: &Answers, facts: &Facts) -> Result<Self, PlanError> {
        let version =
            releases::resolve(&a.version, a.edition, a.db_engine).map_err(PlanError::Release)?;
        let (sha256, sha256_from, signature) = match releases::integrity(
            version,
            a.edition,
            releases::host_arch(),
            a.sha256.as_deref(),
            a.tarball.is_some(),
            releases::SigningKey::from_env,
        ) {
            Some(releases::Integrity::Sha256 { sha256, from }) => (sha256, from, None),
            Some(releases::Integrity::Signature(key)) => {
                (String::new(), "GPG signature", Some(key))
            }
            None => {
                return Err(PlanError::NoChecksum {
                    version,
                    arch: releases::host_arch(),
                });
            }
        };
        let source = match (&a.tarball, &a.download_base_url) {
            (Some(path), _) => Source::File(path.clone()),
            (None, Some(base)) => Source::Url(releases::tarball_url(base, version, a.edition)),
            (None, None) => Source::Url(releases::tarball_url(
                releases::OFFICIAL_BASE_URL,
                version,
                a.edition,
            )),
        };
        let db_unit = db_unit(a.db_engine);
        let role = a.role();
        let mut packages = vec!["ca-certificates"];
        if a.local_db() {
            packages.extend(match a.db_engine {
                DbEngine::Postgresql => ["postgresql", "postgresql-client"],
                DbEngine::Mariadb => ["mariadb-server", "mariadb-client"],
                // Oracle MySQL is not in Debian: the operator installs it; we need its client.
                DbEngine::Mysql => ["default-mysql-client", "default-mysql-client"],
            });
        } else if a.runs_mattermost() {
            // The login check connects as Mattermost does, with psql.
            packages.push("postgresql-client");
        }
        packages.dedup();
        if matches!(role, Role::Database | Role::App) {
            packages.push("nftables");
        }
        if a.runs_proxy() {
            packages.push(match a.proxy {
                Proxy::Apache => "apache2",
                Proxy::Nginx => "nginx",
            });
            if a.tls == Tls::Letsencrypt {
                // certonly --webroot: the proxy plugins (python3-certbot-*) are not needed.
                packages.push("certbot");
            }
        }
        let install = &a.install_dir;
        let config_edits = config_edits(a);
        let mut files = Vec::new();
        if a.runs_mattermost() {
            files.push(PlannedFile {
                path: PathBuf::from(UNIT_PATH),
                mode: 0o644,
                owner: "root",
                content: templates::unit(a),
            });
        }
        let upload_limit = facts.max_file_size.unwrap_or(UPLOAD_LIMIT);
        let site = |tls| planned_site(a, upload_limit, tls);
        if a.runs_proxy() {
            files.push(site_file(a, &site(site_cert(a))));
            files.extend(tls_files(a));
        }
        // The crash-restart drop-in of the local cluster the facts name.
        files.extend(
            facts
                .postgres_unit
                .as_ref()
                .filter(|_| a.local_db())
                .map(|u| database::restart_dropin(u.name())),
        );
        if a.runs_mattermost() {
            files.extend(retention_timer::planned(a));
        }
        files.extend(firewall::planned(a));
        Ok(Self {
            machine: a
                .this_machine()
                .map(|m| format!("{} ({}, {})", m.name, m.role.name(), m.address)),
            mattermost: a.runs_mattermost(),
            domain: a.domain.clone(),
            site_url: a.site_url(),
            release: ReleasePlan {
                version,
                edition: a.edition.name(),
                source,
                sha256,
                sha256_from,
                signature,
            },
            packages,
            database: DatabasePlan {
                engine: a.db_engine.name(),
                unit: db_unit,
                name: a.db_name.clone(),
                user: a.db_user.clone(),
                changes: database::changes(a),
                script: database::script(a),
                server: database::server(a),
            },
            install_dir: install.clone(),
            data_dir: a.data_dir.clone(),
            directories: vec![
                a.data_dir.clone(),
                install.join("logs"),
                install.join("config"),
                install.join("plugins"),
                install.join("client/plugins"),
            ],
            config_json: a.config_json(),
            config_edits,
            files,
            apache_modules: apache_modules(a, &site(site_cert(a))),
            services: services(a, db_unit),
            upload_limit,
            until_certificate: (a.runs_proxy() && a.tls != Tls::None).then(|| {
                let http = site(None);
                UntilCertificate {
                    site: site_file(a, &http),
                    apache_modules: apache_modules(a, &http),
                    site_url: format!("http://{}", a.domain),
                }
            }),
            certbot: certbot(a),
            facts: facts.clone(),
        })
    }

    pub fn file(&self, path: &str) -> Option<&PlannedFile> {
        self.files.iter().find(|f| f.path.as_os_str() == path)
    }
}

pub fn apache_site_path() -> PathBuf {
    PathBuf::from(format!("/etc/apache2/sites-available/{APACHE_SITE}.conf"))
}

pub fn nginx_site_path() -> PathBuf {
    PathBuf::from(format!("/etc/nginx/sites-available/{NGINX_SITE}"))
}

pub fn proxy_site_path(proxy: Proxy) -> PathBuf {
    match proxy {
        Proxy::Apache => apache_site_path(),
        Proxy::Nginx => nginx_site_path(),
    }
}

pub fn proxy_unit(proxy: Proxy) -> &'static str {
    match proxy {
        Proxy::Apache => "apache2.service",
        Proxy::Nginx => "nginx.service",
    }
}

/// The certificate the site serves once TLS is in place: certbot's lineage named
/// after the domain, or the operator's files.
pub fn site_cert(a: &Answers) -> Option<templates::SiteCert> {
    match a.tls {
        Tls::None => None,
        Tls::Letsencrypt => Some(templates::SiteCert {
            cert: PathBuf::from(format!("/etc/letsencrypt/live/{}/fullchain.pem", a.domain)),
            key: PathBuf::from(format!("/etc/letsencrypt/live/{}/privkey.pem", a.domain)),
        }),
        Tls::Existing => Some(templates::SiteCert {
            cert: a.tls_cert.clone().unwrap_or_default(),
            key: a.tls_key.clone().unwrap_or_default(),
        }),
    }
}

/// What runs on this box, as the plan's service lines.
fn services(a: &Answers, db_unit: &str) -> Vec<String> {
    let mut lines = Vec::new();
    if a.local_db() {
        lines.push(format!("{db_unit}: enabled, running"));
    }
    if let Some(db) = a.remote_db() {
        lines.push(format!(
            "PostgreSQL at {}:{} (sslmode {}): {} logs in to {}",
            db.host,
            db.port,
            db.sslmode.name(),
            a.db_user,
            a.db_name
        ));
    }
    if a.runs_mattermost() {
        lines.push(format!(
            "{SERVICE}.service: enabled, running, answering /api/v4/system/ping"
        ));
    }
    if a.runs_proxy() {
        lines.push(match a.proxy {
            Proxy::Apache => "apache2.service: enabled, running, configtest clean".into(),
            Proxy::Nginx => "nginx.service: enabled, running, nginx -t clean".into(),
        });
        if a.tls == Tls::Letsencrypt {
            lines.push(
                "certbot.timer: enabled, active (renewal verified with --dry-run)".to_owned(),
            );
        }
    }
    if matches!(a.role(), Role::Database | Role::App) {
        lines.push(format!(
            "{}: enabled, active ({})",
            firewall::UNIT,
            firewall::summary(a)
        ));
    }
    if a.runs_mattermost() {
        lines.extend(admin_line(a));
        lines.extend(retention_timer::plan_line(a));
    }
    lines
}

/// Where Mattermost listens on this box: the loopback, or an app machine's private
/// address (the proxy machine reaches it there).
pub fn listen_addr(a: &Answers) -> std::net::SocketAddr {
    match a.this_machine() {
        Some(m) if m.role == Role::App => {
            std::net::SocketAddr::new(m.address, crate::answers::topology::APP_PORT)
        }
        _ => UPSTREAM_ADDR,
    }
}

/// The upstreams of the proxy site: Mattermost on this box, or each app machine.
pub fn upstreams(a: &Answers) -> Vec<String> {
    if a.role() == Role::Proxy {
        a.machines_of(Role::App)
            .map(|m| {
                std::net::SocketAddr::new(m.address, crate::answers::topology::APP_PORT).to_string()
            })
            .collect()
    } else {
        vec![UPSTREAM.to_owned()]
    }
}

/// Mattermost's `FileSettings.MaxFileSize` in a config.json, when set.
pub fn upload_limit_of(config_json: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Value>(config_json)
        .ok()?
        .get("FileSettings")?
        .get("MaxFileSize")?
        .as_u64()
        .filter(|n| *n > 0)
}

/// The proxy site with the upload limit given and the certificate, if any, it serves.
fn planned_site(
    a: &Answers,
    upload_limit: u64,
    tls: Option<templates::SiteCert>,
) -> templates::Site<'_> {
    templates::Site {
        domain: &a.domain,
        upload_limit,
        acme_webroot: (a.tls == Tls::Letsencrypt).then(|| std::path::Path::new(ACME_WEBROOT)),
        tls,
        upstreams: upstreams(a),
    }
}

fn site_file(a: &Answers, site: &templates::Site) -> PlannedFile {
    PlannedFile {
        path: proxy_site_path(a.proxy),
        mode: 0o644,
        owner: "root",
        content: templates::proxy_site(a.proxy, site),
    }
}

fn apache_modules(a: &Answers, site: &templates::Site) -> Vec<&'static str> {
    if a.proxy == Proxy::Apache && a.runs_proxy() {
        templates::apache_modules(site)
    } else {
        Vec::new()
    }
}

/// Let's Encrypt's production directory: certbot's default server.
pub const LETSENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// certbot's commands for a Let's Encrypt certificate. The tls phase runs them under
/// a timeout (with `REQUESTS_CA_BUNDLE` when the answers give `acme_ca_bundle`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertbotPlan {
    /// The ACME directory: the answers' `acme_server`, or Let's Encrypt's.
    pub server: String,
    /// `certbot certonly --webroot`, into a lineage named after the domain; the phase
    /// adds `--force-renewal` to replace a lineage that is not usable.
    pub request: Vec<String>,
    /// `certbot renew --dry-run`: the renewal check. Without `--server` a dry run
    /// goes to Let's Encrypt's staging server (certbot's rule); a custom ACME server
    /// is asked itself.
    pub renewal_check: Vec<String>,
}

fn certbot(a: &Answers) -> Option<CertbotPlan> {
    if !(a.runs_proxy() && a.tls == Tls::Letsencrypt) {
        return None;
    }
    let server = a
        .acme_server
        .clone()
        .unwrap_or_else(|| LETSENCRYPT.to_owned());
    let email = a.letsencrypt_email.clone().unwrap_or_default();
    let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut renewal_check = words(&[
        "renew",
        "--dry-run",
        "--non-interactive",
        "--no-random-sleep-on-renew",
        "--cert-name",
        &a.domain,
    ]);
    if let Some(s) = &a.acme_server {
        renewal_check.extend(words(&["--server", s]));
    }
    Some(CertbotPlan {
        request: words(&[
            "certonly",
            "--non-interactive",
            "--agree-tos",
            "--no-eff-email",
            "--email",
            &email,
            "--webroot",
            "--webroot-path",
            ACME_WEBROOT,
            "--cert-name",
            &a.domain,
            "--domain",
            &a.domain,
            "--server",
            &server,
        ]),
        server,
        renewal_check,
    })
}

fn tls_files(a: &Answers) -> Vec<PlannedFile> {
    if a.tls != Tls::Letsencrypt {
        return Vec::new();
    }
    let mut files = vec![PlannedFile {
        path: PathBuf::from(CERTBOT_DEPLOY_HOOK),
        mode: 0o755,
        owner: "root",
        content: templates::deploy_hook(&a.domain, proxy_unit(a.proxy)),
    }];
    if let Some(bundle) = &a.acme_ca_bundle {
        files.push(PlannedFile {
            path: PathBuf::from(CERTBOT_DROPIN),
            mode: 0o644,
            owner: "root",
            content: templates::certbot_dropin(bundle),
        });
    }
    files
}

pub fn db_unit(engine: DbEngine) -> &'static str {
    match engine {
        DbEngine::Postgresql => "postgresql.service",
        DbEngine::Mariadb => "mariadb.service",
        DbEngine::Mysql => "mysql.service",
    }
}

fn config_edits(a: &Answers) -> Vec<ConfigEdit> {
    let e = |section, key, value: Value| ConfigEdit {
        section,
        key,
        value,
        secret: false,
    };
    let mut data = a.data_dir.to_string_lossy().into_owned();
    data.push('/');
    let install = a.install_dir.to_string_lossy();
    let mut edits = vec![
        e("ServiceSettings", "SiteURL", Value::from(a.site_url())),
        // The loopback, or an app machine's private address (the proxy machine's way in).
        e(
            "ServiceSettings",
            "ListenAddress",
            Value::from(listen_addr(a).to_string()),
        ),
        // TLS ends at the proxy.
        e("ServiceSettings", "ConnectionSecurity", Value::from("")),
        e(
            "ServiceSettings",
            "TrustedProxyIPHeader",
            // Only the header both proxies set from the connection's address: the
            // leftmost X-Forwarded-For (which Mattermost would take first) is
            // whatever the client sent (server/channels/utils/utils.go GetIPAddress).
            serde_json::json!(["X-Real-IP"]),
        ),
        e("SqlSettings", "DriverName", Value::from(dsn::driver(a))),
        ConfigEdit {
            secret: true,
            ..e(
                "SqlSettings",
                "DataSource",
                Value::from(dsn::data_source(a)),
            )
        },
        e("FileSettings", "Directory", Value::from(data)),
        e(
            "PluginSettings",
            "Directory",
            Value::from(format!("{install}/plugins")),
        ),
        e(
            "PluginSettings",
            "ClientDirectory",
            Value::from(format!("{install}/client/plugins")),
        ),
    ];
    if let Some(s3) = &a.s3 {
        // server/platform/shared/filestore/s3store.go reads these (model/config.go
        // FileSettings); the bucket lookup (path or virtual host) is minio-go's
        // automatic choice, as Mattermost leaves it.
        edits.extend([
            e("FileSettings", "DriverName", Value::from("amazons3")),
            e(
                "FileSettings",
                "AmazonS3Bucket",
                Value::from(s3.bucket.clone()),
            ),
            e(
                "FileSettings",
                "AmazonS3Endpoint",
                Value::from(s3.endpoint.clone()),
            ),
            e(
                "FileSettings",
                "AmazonS3Region",
                Value::from(s3.region.clone()),
            ),
            e(
                "FileSettings",
                "AmazonS3AccessKeyId",
                Value::from(s3.access_key_id.clone()),
            ),
            ConfigEdit {
                secret: true,
                ..e(
                    "FileSettings",
                    "AmazonS3SecretAccessKey",
                    Value::from(s3.secret_access_key.expose()),
                )
            },
            e("FileSettings", "AmazonS3SSL", Value::from(s3.ssl)),
            e(
                "FileSettings",
                "AmazonS3PathPrefix",
                Value::from(s3.path_prefix.clone()),
            ),
            e("FileSettings", "AmazonS3SignV2", Value::from(false)),
        ]);
    }
    if a.license_file.is_some() {
        edits.push(e(
            "ServiceSettings",
            "LicenseFileLocation",
            Value::from(license_path(a).to_string_lossy().into_owned()),
        ));
    }
    if let Some(m) = a.this_machine().filter(|_| a.clustered()) {
        let address = Value::from(m.address.to_string());
        edits.extend([
            e("ClusterSettings", "Enable", Value::from(true)),
            e("ClusterSettings", "ClusterName", Value::from(a.cluster())),
            e(
                "ClusterSettings",
                "GossipPort",
                Value::from(crate::answers::topology::GOSSIP_PORT),
            ),
            e("ClusterSettings", "AdvertiseAddress", address.clone()),
            e("ClusterSettings", "BindAddress", address),
            e("ClusterSettings", "UseIPAddress", Value::from(true)),
        ]);
    }
    if a.tls != Tls::None && a.runs_proxy() {
        // With TLS on the proxy's box the tls phase owns SiteURL: https only once the
        // certificate is in place (http while Let's Encrypt is deferred). An app
        // machine of several has the public https URL from the start.
        edits.retain(|e| e.key != "SiteURL");
    }
    edits
}

/// Where the install keeps its copy of the operator's license file (0600, the
/// service user's): `ServiceSettings.LicenseFileLocation`.
pub fn license_path(a: &Answers) -> PathBuf {
    a.install_dir
        .join("config/mattermost-setup.mattermost-license")
}

/// Applies the plan's edits to a parsed config.json, keeping every other key in place.
/// Returns whether anything changed.
pub fn apply_config_edits(config: &mut Value, edits: &[ConfigEdit]) -> bool {
    let mut changed = false;
    let Some(root) = config.as_object_mut() else {
        return false;
    };
    for edit in edits {
        let section = root
            .entry(edit.section)
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if !section.is_object() {
            *section = Value::Object(serde_json::Map::new());
        }
        if let Some(obj) = section.as_object_mut() {
            if obj.get(edit.key) != Some(&edit.value) {
                obj.insert(edit.key.to_owned(), edit.value.clone());
                changed = true;
            }
        }
    }
    changed
}

/// config.json as Mattermost writes it: four-space indentation, trailing newline.
pub fn config_to_string(config: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if serde::Serialize::serialize(config, &mut ser).is_err() {
        return String::new();
    }
    let mut s = String::from_utf8(buf).unwrap_or_default();
    s.push('\n');
    s
}

/// The plan's line for the admin phase (the first system admin), when there is one.
pub fn admin_line(a: &Answers) -> Option<String> {
    a.admin.as_ref().map(|admin| {
        let team = a
            .team_name
            .as_ref()
            .map(|t| format!(", team {t} with the admin in it"))
            .unwrap_or_default();
        format!(
            "first system admin {} <{}>{team}: through Mattermost's local mode, on only for this step",
            admin.username, admin.email
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::from_json;

    fn answers() -> Answers {
        from_json(
            r#"{"domain": "chat.example.com", "db_password": "correct horse battery"}"#,
            None,
        )
        .unwrap()
    }

    #[test]
    fn no_plan_is_a_typed_error_with_the_operators_fix() {
        // A local tarball of a release the table does not know: nothing can vouch
        // for it (no published SHA-256, no signature beside it). Validation refuses
        // such answers; answers changed after it (an upgrade's target) reach here.
        let mut a = from_json(
            r#"{"domain": "chat.example.com", "db_password": "correct horse battery",
                "version": "11.7.91"}"#,
            None,
        )
        .unwrap();
        a.tarball = Some("/srv/mattermost-11.7.91.tar.gz".into());
        let e = Plan::new(&a).unwrap_err();
        assert!(matches!(e, PlanError::NoChecksum { .. }), "{e:?}");
        let pe = crate::vocab::PhaseError::from(e);
        assert_eq!(pe.kind, crate::vocab::ErrorKind::Failed);
        assert!(
            pe.cause.starts_with("no SHA-256 is known for 11.7.91"),
            "{}",
            pe.cause
        );
        assert!(pe.fix.unwrap().contains("sha256"));
    }

    #[test]
    fn an_unlisted_release_is_planned_with_its_signature_check() {
        let json = |extra: &str| {
            format!(
                r#"{{"domain": "chat.example.com", "db_password": "correct horse battery", "version": "11.99.0"{extra}}}"#
            )
        };
        let signed = Plan::new(&from_json(&json(""), None).unwrap()).unwrap();
        assert_eq!(signed.release.sha256, "");
        let key = signed.release.signature.as_ref().unwrap();
        assert_eq!(key.fingerprint, releases::SIGNING_FINGERPRINT);
        let dir = tempfile::tempdir().unwrap();
        let text = render_text(&signed, &crate::state::test_host::host(dir.path()));
        assert!(
            text.contains("verified by gpgv with its .sig and Mattermost's key A1B31D46F0F3A10B02CF2D44F8F2C31744774B28 (from https://deb.packages.mattermost.com/pubkey.gpg)"),
            "{text}"
        );
        // The sha256 answer is the explicit override.
        let pinned = Plan::new(
            &from_json(&json(&format!(r#", "sha256": "{}""#, "c".repeat(64))), None).unwrap(),
        )
        .unwrap();
        assert_eq!(pinned.release.signature, None);
        assert_eq!(pinned.release.sha256, "c".repeat(64));
        assert_eq!(pinned.release.sha256_from, "answers (sha256)");
    }

    #[test]
    fn upstream_string_and_address_agree() {
        assert_eq!(UPSTREAM_ADDR.to_string(), UPSTREAM);
    }

    #[test]
    fn plan_for_defaults() {
        let plan = Plan::new(&answers()).unwrap();
        assert_eq!(plan.release.version, Version::new(11, 7, 9));
        assert_eq!(
            plan.release.source,
            Source::Url(
                "https://releases.mattermost.com/11.7.9/mattermost-11.7.9-linux-amd64.tar.gz"
                    .into()
            )
        );
        assert_eq!(
            plan.packages,
            [
                "ca-certificates",
                "postgresql",
                "postgresql-client",
                "apache2"
            ]
        );
        assert_eq!(plan.database.unit, "postgresql.service");
    }

    #[test]
    fn plan_json_never_contains_the_password() {
        let plan = Plan::new(&answers()).unwrap();
        let json = serde_json::to_string(&plan).unwrap();
        assert!(!json.contains("horse"), "{json}");
        assert!(!json.contains("%20battery"), "{json}");
    }

    #[test]
    fn config_edits_keep_other_keys_in_order() {
        let mut cfg: Value = serde_json::from_str(
            r#"{"ServiceSettings": {"SiteURL": "", "ListenAddress": ":8065", "Other": 1},
                "TeamSettings": {"SiteName": "Mattermost"},
                "SqlSettings": {"DriverName": "postgres", "DataSource": "x"}}"#,
        )
        .unwrap();
        let plan = Plan::new(&answers()).unwrap();
        assert!(apply_config_edits(&mut cfg, &plan.config_edits));
        assert!(
            !apply_config_edits(&mut cfg, &plan.config_edits),
            "second apply changes nothing"
        );
        let keys: Vec<&String> = cfg.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "ServiceSettings",
                "TeamSettings",
                "SqlSettings",
                "FileSettings",
                "PluginSettings"
            ]
        );
        let svc: Vec<&String> = cfg["ServiceSettings"].as_object().unwrap().keys().collect();
        assert_eq!(
            svc,
            [
                "SiteURL",
                "ListenAddress",
                "Other",
                "ConnectionSecurity",
                "TrustedProxyIPHeader"
            ]
        );
        assert_eq!(cfg["ServiceSettings"]["ConnectionSecurity"], "");
        assert_eq!(cfg["ServiceSettings"]["SiteURL"], "http://chat.example.com");
        assert_eq!(cfg["FileSettings"]["Directory"], "/opt/mattermost/data/");
        assert!(config_to_string(&cfg).starts_with("{\n    \"ServiceSettings\""));
    }

    #[test]
    fn templates_are_fully_rendered() {
        let plan = Plan::new(&answers()).unwrap();
        for f in &plan.files {
            assert!(
                !f.content.contains("{{"),
                "{}: {}",
                f.path.display(),
                f.content
            );
        }
        let unit = &plan.file(UNIT_PATH).unwrap().content;
        assert!(unit.contains("Wants=postgresql.service"));
        assert!(unit.contains("WantedBy=multi-user.target"));
        assert!(unit.contains("ExecStart=/opt/mattermost/bin/mattermost"));
        let vhost = &plan.files[1].content;
        assert!(vhost.contains("ServerName chat.example.com"));
        assert!(vhost.contains("ws://127.0.0.1:8065%{REQUEST_URI}"));
        assert!(
            vhost.contains("LimitRequestBody 105906176"),
            "MaxFileSize + 1 MiB"
        );
    }

    #[test]
    fn nginx_with_lets_encrypt_plans_certbot_and_leaves_site_url_to_the_tls_phase() {
        let a = from_json(
            r#"{"domain": "chat.example.com", "db_password": "correct horse battery",
                "proxy": "nginx", "tls": "letsencrypt", "letsencrypt_email": "ops@example.com",
                "letsencrypt_agree_tos": true, "acme_ca_bundle": "/etc/ca.pem"}"#,
            None,
        )
        .unwrap();
        let plan = Plan::new(&a).unwrap();
        assert_eq!(
            plan.packages,
            [
                "ca-certificates",
                "postgresql",
                "postgresql-client",
                "nginx",
                "certbot"
            ]
        );
        assert!(plan.apache_modules.is_empty());
        assert!(!plan.config_edits.iter().any(|e| e.key == "SiteURL"));
        assert_eq!(plan.site_url, "https://chat.example.com");
        let site = &plan
            .file("/etc/nginx/sites-available/mattermost")
            .unwrap()
            .content;
        assert!(
            site.contains("ssl_certificate /etc/letsencrypt/live/chat.example.com/fullchain.pem;")
        );
        assert!(site.contains("root /var/www/mattermost-setup-acme;"));
        assert!(
            plan.file(CERTBOT_DEPLOY_HOOK)
                .unwrap()
                .content
                .contains("systemctl reload nginx.service")
        );
        assert!(
            plan.file(CERTBOT_DROPIN)
                .unwrap()
                .content
                .contains("REQUESTS_CA_BUNDLE=/etc/ca.pem")
        );
        assert!(plan.services.iter().any(|s| s.starts_with("nginx.service")));
        assert!(plan.services.iter().any(|s| s.starts_with("certbot.timer")));
    }

    /// With TLS the plan has the box's two states: the http site (with Let's
    /// Encrypt's challenge) and SiteURL until the certificate is in place, then the
    /// TLS site; `plan` prints both. Without TLS there is one.
    #[test]
    fn a_tls_plan_has_the_site_before_and_after_the_certificate() {
        let mut a = answers();
        a.tls = Tls::Letsencrypt;
        let p = Plan::new(&a).unwrap();
        let until = p.until_certificate.as_ref().expect("two stages");
        let site = p
            .file("/etc/apache2/sites-available/mattermost.conf")
            .unwrap();
        assert_eq!(until.site.path, site.path);
        assert!(
            site.content.contains("SSLCertificateFile"),
            "{}",
            site.content
        );
        assert!(
            !until.site.content.contains("SSLCertificateFile"),
            "{}",
            until.site.content
        );
        assert!(
            until.site.content.contains(ACME_WEBROOT),
            "{}",
            until.site.content
        );
        assert!(p.apache_modules.contains(&"ssl"), "{:?}", p.apache_modules);
        assert!(
            !until.apache_modules.contains(&"ssl"),
            "{:?}",
            until.apache_modules
        );
        assert_eq!(until.site_url, "http://chat.example.com");
        assert_eq!(p.site_url, "https://chat.example.com");
        let b = crate::host::fake::FakeBox::empty();
        let text = render_text(&p, &b.host);
        assert!(text.contains("Until the certificate is in place"), "{text}");
        assert!(text.contains("SSLCertificateFile"), "{text}");

        let mut plain = a.clone();
        plain.tls = Tls::None;
        let p = Plan::new(&plain).unwrap();
        assert!(p.until_certificate.is_none());
        assert!(!render_text(&p, &b.host).contains("Until the certificate"));
    }

    /// certbot's commands are the plan's: the request names the domain, the e-mail
    /// and the ACME server; the renewal check names a custom server only (certbot's
    /// own default for a dry run is Let's Encrypt's staging server).
    #[test]
    fn the_certificate_request_is_planned() {
        let mut a = answers();
        assert!(Plan::new(&a).unwrap().certbot.is_none());
        a.tls = Tls::Letsencrypt;
        a.letsencrypt_email = Some("ops@example.com".into());
        let c = Plan::new(&a).unwrap().certbot.unwrap();
        assert_eq!(c.server, LETSENCRYPT);
        let line = c.request.join(" ");
        for part in [
            "certonly --non-interactive --agree-tos",
            "--email ops@example.com",
            "--webroot --webroot-path /var/www/mattermost-setup-acme",
            "--cert-name chat.example.com --domain chat.example.com",
            &format!("--server {LETSENCRYPT}"),
        ] {
            assert!(line.contains(part), "{part}: {line}");
        }
        assert!(!c.renewal_check.contains(&"--server".to_owned()));
        a.acme_server = Some("https://127.0.0.1:14000/dir".into());
        let c = Plan::new(&a).unwrap().certbot.unwrap();
        assert!(
            c.renewal_check
                .join(" ")
                .ends_with("--cert-name chat.example.com --server https://127.0.0.1:14000/dir"),
            "{:?}",
            c.renewal_check
        );
    }

    #[test]
    fn the_site_follows_the_max_file_size_already_on_the_box() {
        let a = answers();
        let site = |p: &Plan| {
            let f = p
                .file("/etc/apache2/sites-available/mattermost.conf")
                .unwrap();
            templates::declared_body_limit(Proxy::Apache, &f.content).unwrap()
        };
        let plain = Plan::new(&a).unwrap();
        let default = site(&plain);
        let facts = |config: Option<&[u8]>| Facts {
            max_file_size: config.and_then(upload_limit_of),
            ..Facts::default()
        };
        let raised = Plan::for_box(
            &a,
            &facts(Some(br#"{"FileSettings": {"MaxFileSize": 209715200}}"#)),
        )
        .unwrap();
        assert!(site(&raised) > 209_715_200, "{}", site(&raised));
        assert_eq!(raised.upload_limit, 209_715_200);
        assert!(default < 209_715_200);
        // No config.json yet, an unreadable one, or no MaxFileSize: the default.
        for config in [None, Some(&b"not json"[..]), Some(&b"{}"[..])] {
            let p = Plan::for_box(&a, &facts(config)).unwrap();
            assert_eq!(site(&p), default);
        }
    }
}

#[cfg(test)]
mod role_tests {
    use super::*;
    use crate::answers::from_json;

    fn machine(node: &str) -> Answers {
        let mut a = from_json(
            &serde_json::json!({
                "domain": "chat.example.com", "db_password": "shared-password-1",
                "version": "10.11.23", "proxy": "nginx",
                "license_file": "/root/license",
                "s3_bucket": "mm-files", "s3_endpoint": "10.0.0.5:7480",
                "s3_access_key_id": "AKID", "s3_secret_access_key": "s3-secret", "s3_ssl": false,
                "machines": [
                    {"name": "db1", "role": "database", "address": "10.0.0.10"},
                    {"name": "app1", "role": "app", "address": "10.0.0.21"},
                    {"name": "app2", "role": "app", "address": "10.0.0.22"},
                    {"name": "proxy1", "role": "proxy", "address": "10.0.0.30"},
                ],
            })
            .to_string(),
            None,
        )
        .unwrap();
        a.node = Some(node.into());
        a
    }

    fn paths(p: &Plan) -> Vec<String> {
        p.files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect()
    }

    fn edit<'p>(p: &'p Plan, section: &str, key: &str) -> Option<&'p Value> {
        p.config_edits
            .iter()
            .find(|e| e.section == section && e.key == key)
            .map(|e| &e.value)
    }

    /// With TLS at the proxy machine, an app machine's SiteURL is the public https
    /// URL from the start: its Mattermost is reached through the proxy machine, whose
    /// tls phase is the one that waits for the certificate.
    #[test]
    fn an_app_machine_behind_a_tls_proxy_has_the_https_site_url() {
        let mut a = machine("app1");
        a.tls = Tls::Letsencrypt;
        let p = Plan::new(&a).unwrap();
        let url = p.config_edits.iter().find(|e| e.key == "SiteURL");
        assert_eq!(
            url.map(|e| e.value.clone()),
            Some(Value::from("https://chat.example.com"))
        );
        assert!(p.until_certificate.is_none());
        let mut a = machine("proxy1");
        a.tls = Tls::Letsencrypt;
        let p = Plan::new(&a).unwrap();
        assert!(p.until_certificate.is_some());
    }

    #[test]
    fn the_database_machine_gets_postgresql_and_a_firewall_only() {
        let p = Plan::new(&machine("db1")).unwrap();
        assert_eq!(
            p.packages,
            [
                "ca-certificates",
                "postgresql",
                "postgresql-client",
                "nftables"
            ]
        );
        assert_eq!(paths(&p), [firewall::RULES_PATH, firewall::UNIT_PATH]);
        let rules = &p.files[0].content;
        assert!(
            rules.contains("tcp dport 5432 ip saddr { 10.0.0.21, 10.0.0.22 } accept"),
            "{rules}"
        );
        assert!(
            rules.contains("tcp dport 5432 reject with tcp reset"),
            "{rules}"
        );
        assert!(!p.mattermost);
        assert_eq!(p.machine.as_deref(), Some("db1 (database, 10.0.0.10)"));
        assert!(p.database.changes.iter().any(|c| c.contains("hostssl")));
        let server = p.database.server.as_ref().expect("the server part");
        assert_eq!(server.setting("listen_addresses"), "localhost,10.0.0.10");
        assert_eq!(server.setting("ssl"), "on");
        assert_eq!(server.cert_names, ["10.0.0.10", "db1"]);
        assert!(
            server
                .hba_block
                .contains("hostssl mattermost mmuser 10.0.0.21/32 scram-sha-256\n"),
            "{}",
            server.hba_block
        );
        // Only the database machine has one.
        for other in ["app1", "proxy1"] {
            assert!(
                Plan::new(&machine(other))
                    .unwrap()
                    .database
                    .server
                    .is_none()
            );
        }
    }

    #[test]
    fn an_app_machine_runs_mattermost_against_the_remote_database_s3_and_its_cluster() {
        let p = Plan::new(&machine("app2")).unwrap();
        assert_eq!(
            p.packages,
            ["ca-certificates", "postgresql-client", "nftables"]
        );
        assert!(p.mattermost);
        assert_eq!(
            edit(&p, "ServiceSettings", "ListenAddress"),
            Some(&Value::from("10.0.0.22:8065"))
        );
        assert_eq!(
            edit(&p, "FileSettings", "DriverName"),
            Some(&Value::from("amazons3"))
        );
        assert_eq!(
            edit(&p, "FileSettings", "AmazonS3Endpoint"),
            Some(&Value::from("10.0.0.5:7480"))
        );
        assert_eq!(
            edit(&p, "FileSettings", "AmazonS3SSL"),
            Some(&Value::from(false))
        );
        assert_eq!(
            edit(&p, "ClusterSettings", "Enable"),
            Some(&Value::from(true))
        );
        assert_eq!(
            edit(&p, "ClusterSettings", "AdvertiseAddress"),
            Some(&Value::from("10.0.0.22"))
        );
        assert_eq!(
            edit(&p, "ServiceSettings", "LicenseFileLocation"),
            Some(&Value::from(
                "/opt/mattermost/config/mattermost-setup.mattermost-license"
            ))
        );
        let dsn = edit(&p, "SqlSettings", "DataSource")
            .unwrap()
            .as_str()
            .unwrap();
        assert!(dsn.contains("@10.0.0.10:5432/mattermost?sslmode=verify-full&sslrootcert=%2Fopt%2Fmattermost%2Fconfig%2Fmattermost-setup-db-ca.pem"), "{dsn}");
        // Secrets never reach the printed or serialised plan.
        let json = serde_json::to_string(&p).unwrap();
        assert!(
            !json.contains("s3-secret") && !json.contains("shared-password-1"),
            "{json}"
        );
        let unit = &p.file(UNIT_PATH).unwrap().content;
        assert!(
            unit.contains("After=network.target network-online.target"),
            "{unit}"
        );
        let rules = &p.file(firewall::RULES_PATH).unwrap().content;
        assert!(
            rules.contains("tcp dport 8065 ip saddr { 10.0.0.30 } accept"),
            "{rules}"
        );
        assert!(
            rules.contains("udp dport 8074 ip saddr { 10.0.0.21, 10.0.0.22 } accept"),
            "{rules}"
        );
        assert!(p.file(&nginx_site_path().to_string_lossy()).is_none());
    }

    #[test]
    fn the_proxy_machine_balances_the_app_machines_with_failover() {
        let p = Plan::new(&machine("proxy1")).unwrap();
        assert_eq!(p.packages, ["ca-certificates", "nginx"]);
        assert!(!p.mattermost);
        assert_eq!(paths(&p), [nginx_site_path().display().to_string()]);
        let site = &p.files[0].content;
        assert!(site.contains("    server 10.0.0.21:8065 max_fails=1 fail_timeout=10s;\n    server 10.0.0.22:8065 max_fails=1 fail_timeout=10s;\n    keepalive 32;"), "{site}");
        assert!(
            site.contains("proxy_next_upstream error timeout http_502 http_503 http_504;"),
            "{site}"
        );
        assert!(site.contains("proxy_connect_timeout 3s;"), "{site}");
    }

    #[test]
    fn a_single_box_plan_is_unchanged_by_the_topology_keys() {
        let a = from_json(
            r#"{"domain": "chat.example.com", "version": "10.11.23", "proxy": "nginx"}"#,
            None,
        )
        .unwrap();
        let p = Plan::new(&a).unwrap();
        let site = &p
            .file(&nginx_site_path().to_string_lossy())
            .unwrap()
            .content;
        assert!(
            site.contains("    server 127.0.0.1:8065;\n    keepalive 32;"),
            "{site}"
        );
        assert!(!site.contains("proxy_next_upstream"));
        assert!(site.contains("proxy_connect_timeout 90s;"));
        assert!(p.machine.is_none() && p.mattermost);
        assert!(!p.packages.contains(&"nftables"));
    }
}
