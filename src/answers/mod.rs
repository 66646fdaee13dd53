//! The answers: everything the operator decides, in one struct.
//!
//! The wizard fills it, `install --answers FILE` reads it, and the plan is a pure
//! function of it. It is validated once, up front, with every problem named by its
//! key (see [`validate`]).

mod parse;
mod save;
mod schema;
mod secret;
pub mod topology;
pub mod validate;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use parse::{from_json, from_saved_json};
pub use save::{
    SavedFiles, SecretFiles, replay_json, save_for_replay, to_keep, without_admin_password,
};
pub use schema::{schema, schema_json};
pub use secret::Secret;

/// Where the tool keeps the answers of the last install on this box.
pub const SAVED_ANSWERS: &str = "/etc/mattermost-setup/answers.json";

pub use crate::vocab::{DbEngine, Edition, Proxy, Role, SslMode, Tls, VersionSpec};
pub use topology::{Machine, ObjectStorage, RemoteDb};

/// The first system admin, created once the service is up (optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Admin {
    pub username: String,
    pub email: String,
    /// `None` once the account exists: the saved answers drop the password then
    /// (it is never needed again — a re-run never re-creates or changes the account).
    pub password: Option<Secret>,
}

/// Everything the install needs. Field names are the keys of the answers file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answers {
    /// The public name of the server, e.g. `chat.example.com`.
    pub domain: String,
    pub db_engine: DbEngine,
    pub db_name: String,
    pub db_user: String,
    /// Generated from the operating system's CSPRNG when absent, then kept forever.
    pub db_password: Secret,
    pub install_dir: PathBuf,
    pub data_dir: PathBuf,
    /// Take over an existing Mattermost installation in `install_dir` / `data_dir`
    /// that this tool did not create (its files then belong to the service user).
    /// Without it, a directory that is neither absent, empty nor the tool's own is
    /// refused before anything changes.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub adopt_existing: bool,
    pub edition: Edition,
    pub version: VersionSpec,
    pub proxy: Proxy,
    pub tls: Tls,
    /// Let's Encrypt account e-mail (tls = letsencrypt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub letsencrypt_email: Option<String>,
    /// The operator agreed to the ACME server's terms of service.
    pub letsencrypt_agree_tos: bool,
    /// ACME directory URL override (staging, a private CA, tests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acme_server: Option<String>,
    /// CA bundle certbot trusts for the ACME server (REQUESTS_CA_BUNDLE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acme_ca_bundle: Option<PathBuf>,
    /// tls = existing: certificate chain (PEM) and its private key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// The first system admin (optional).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<Admin>,
    /// A first team the admin joins (optional; needs `admin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_name: Option<String>,
    /// Delete messages older than this many days (optional; off by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Keep pinned posts when deleting old messages.
    pub retention_keep_pinned: bool,
    /// Air-gapped boxes: a mirror laid out like releases.mattermost.com.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_base_url: Option<String>,
    /// Air-gapped boxes: a tarball already on this machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tarball: Option<PathBuf>,
    /// The tarball's SHA-256 for a release the bundled table does not list (or an
    /// arm64 tarball): overrides the check by Mattermost's GPG signature; required
    /// with `tarball`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Several machines, each with its role and private address (see [`topology`]);
    /// empty: this box does everything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub machines: Vec<Machine>,
    /// Which of `machines` this box is; found from the box's addresses when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// A PostgreSQL on another machine (a managed database); absent: on this box, or
    /// the database machine of `machines`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_sslmode: Option<SslMode>,
    /// The CA certificate that signed the database server's certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_ca_file: Option<PathBuf>,
    /// The database machine's own certificate and key (PEM); absent: generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_tls_key: Option<PathBuf>,
    /// S3-compatible object storage for the files (absent: files on this box's disk).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub s3: Option<ObjectStorage>,
    /// The Enterprise license file (needed for more than one app machine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_file: Option<PathBuf>,
    /// `ClusterSettings.ClusterName` (default "mattermost").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
}

impl Answers {
    /// The URL users type.
    pub fn site_url(&self) -> String {
        match self.tls {
            Tls::None => format!("http://{}", self.domain),
            Tls::Letsencrypt | Tls::Existing => format!("https://{}", self.domain),
        }
    }

    /// The answers as JSON, secrets included: for the 0600 saved file only.
    pub fn to_json_with_secrets(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "db_password".into(),
                serde_json::Value::String(self.db_password.expose().to_owned()),
            );
            if let Some(s3) = &self.s3 {
                obj.insert(
                    "s3_secret_access_key".into(),
                    serde_json::Value::String(s3.secret_access_key.expose().to_owned()),
                );
            }
            if let Some(admin) = &self.admin {
                obj.remove("admin");
                obj.insert("admin_username".into(), admin.username.clone().into());
                obj.insert("admin_email".into(), admin.email.clone().into());
                if let Some(pw) = &admin.password {
                    obj.insert("admin_password".into(), pw.expose().into());
                }
            }
        }
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn install_path(&self, rel: &str) -> PathBuf {
        self.install_dir.join(rel)
    }

    /// Mattermost's config.json under the install directory.
    pub fn config_json(&self) -> PathBuf {
        self.install_path("config/config.json")
    }
}

/// Reads an answers file, fills defaults, reuses the saved secret when the file has
/// none, and validates everything at once.
pub fn load(path: &Path, saved: Option<&Answers>) -> Result<Answers, validate::Invalid> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        validate::Invalid::single(
            "answers",
            format!("cannot read {}: {e}", path.display()),
            "pass the path of a readable JSON file with --answers",
        )
    })?;
    from_json(&text, saved)
}
