//! The JSON Schema of the answers file (assets/answers.schema.json), generated from
//! these types with schemars.
//!
//! The file's keys are not [`Answers`](super::Answers)' fields one to one (the admin
//! is three flat keys, secrets can come from `*_file` keys), so the document is
//! described by [`AnswersFile`], which reuses the answers' enums. `from_json` stays
//! the authority: the schema says what it accepts (keys, types, enums, defaults, the
//! simple patterns, and which keys go together), the parser checks the rest (DNS
//! names, reserved directories, the releases table, SASLprep) and names the fix.
//! Tests hold the two together: the schema's keys are the parser's keys, its defaults
//! are what the parser fills in, and sample documents get the same verdict from both.
//!
//! Regenerate the committed file after changing the answers:
//! `cargo run -- generate schema > assets/answers.schema.json`.

use std::path::PathBuf;

use schemars::JsonSchema;

use super::{DbEngine, Edition, Proxy, SslMode, Tls};

/// Everything `mattermost-setup install --answers FILE` needs; only `domain` is
/// required. A key set to null counts as absent. Every problem is reported at once,
/// each with its key and the fix.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, title = "mattermost-setup answers file")]
#[allow(dead_code)] // only its schema is used
pub struct AnswersFile {
    /// The public DNS name of the server (the name users type), e.g.
    /// `chat.example.com`: at least two labels of letters, digits and '-', no IP
    /// address, no trailing dot. Lower-cased.
    #[schemars(length(min = 1, max = 253))]
    domain: String,
    /// The database engine. `mariadb` and `mysql` run Mattermost up to 10.11 only.
    #[schemars(default = "default_db_engine")]
    db_engine: Option<DbEngine>,
    /// The database to create: 1-32 of a-z, 0-9 and _, starting with a letter or _.
    #[schemars(
        default = "default_db_name",
        regex(pattern = r"^[a-z_][a-z0-9_]{0,31}$")
    )]
    db_name: Option<String>,
    /// The database role to create: 1-32 of a-z, 0-9 and _, starting with a letter or _.
    #[schemars(
        default = "default_db_user",
        regex(pattern = r"^[a-z_][a-z0-9_]{0,31}$")
    )]
    db_user: Option<String>,
    /// The database password: 8-128 printable characters (with PostgreSQL, none that
    /// SASLprep would change). When absent it is generated from the system's CSPRNG on
    /// the first install and kept forever in /etc/mattermost-setup/answers.json (0600).
    /// Not together with db_password_file.
    #[schemars(length(min = 8, max = 128))]
    db_password: Option<String>,
    /// A file whose first line is the database password (instead of db_password).
    db_password_file: Option<String>,
    /// Where Mattermost is installed (absolute, normalised, not a system or shared
    /// directory; taken only when absent, empty, created by this tool, or adopted).
    #[schemars(default = "default_install_dir", regex(pattern = r"^/\S*$"))]
    install_dir: Option<PathBuf>,
    /// Where Mattermost keeps uploaded files. Default: `<install_dir>/data`. Must not
    /// be inside install_dir's other directories nor contain install_dir.
    #[schemars(regex(pattern = r"^/\S*$"))]
    data_dir: Option<PathBuf>,
    /// Take over a Mattermost installation already in install_dir / data_dir that this
    /// tool did not create (its files then belong to the mattermost user).
    #[schemars(default = "default_false")]
    adopt_existing: Option<bool>,
    /// The Mattermost edition.
    #[schemars(default = "default_edition")]
    edition: Option<Edition>,
    /// "esr" (the newest extended-support release in the bundled table), "latest" (the
    /// newest release in it) or an exact version X.Y.Z. An exact version the table
    /// does not list needs sha256.
    #[schemars(
        default = "default_version",
        regex(pattern = r"^(esr|latest|(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*))$")
    )]
    version: Option<String>,
    /// The reverse proxy in front of Mattermost.
    #[schemars(default = "default_proxy")]
    proxy: Option<Proxy>,
    /// TLS in front of the proxy.
    #[schemars(default = "default_tls")]
    tls: Option<Tls>,
    /// The Let's Encrypt (ACME) account e-mail; required with tls "letsencrypt".
    letsencrypt_email: Option<String>,
    /// true once you have read the ACME server's terms of service; required with tls
    /// "letsencrypt".
    #[schemars(default = "default_false")]
    letsencrypt_agree_tos: Option<bool>,
    /// Another ACME directory URL (Let's Encrypt staging, a private CA); https (http
    /// only for a CA on this machine). Default: Let's Encrypt.
    acme_server: Option<String>,
    /// A PEM bundle certbot trusts for acme_server (absolute path).
    #[schemars(regex(pattern = r"^/"))]
    acme_ca_bundle: Option<PathBuf>,
    /// tls "existing": the certificate chain in PEM, leaf first (absolute path).
    #[schemars(regex(pattern = r"^/"))]
    tls_cert: Option<PathBuf>,
    /// tls "existing": the certificate's unencrypted private key in PEM (absolute path).
    #[schemars(regex(pattern = r"^/"))]
    tls_key: Option<PathBuf>,
    /// The first system admin's username: 3-22 of a-z, 0-9, '.', '-', '_', starting
    /// with a letter. Goes with admin_email and admin_password (or
    /// admin_password_file); never re-created or changed by a re-run.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9._-]{2,21}$"))]
    admin_username: Option<String>,
    /// The first system admin's e-mail address.
    admin_email: Option<String>,
    /// The first system admin's password: 8-72 printable characters (bcrypt's limit
    /// is 72 bytes). Dropped from the saved answers once the account exists. Not
    /// together with admin_password_file.
    #[schemars(length(min = 8, max = 72))]
    admin_password: Option<String>,
    /// A file whose first line is the admin's password (instead of admin_password).
    admin_password_file: Option<String>,
    /// A first team the admin joins: 2-64 of a-z, 0-9 and '-', starting and ending
    /// with a letter or digit, not starting with a word Mattermost reserves. Needs the
    /// admin keys.
    #[schemars(length(min = 2, max = 64))]
    team_name: Option<String>,
    /// Delete messages older than this many days, daily (with their reactions, files
    /// and threads). Default: off.
    #[schemars(range(min = 1, max = 36_500))]
    retention_days: Option<u32>,
    /// Keep pinned posts when deleting old messages.
    #[schemars(default = "default_true")]
    retention_keep_pinned: Option<bool>,
    /// Air-gapped servers: an http(s) mirror laid out like
    /// https://releases.mattermost.com (VERSION/FILE below it). Not together with
    /// tarball.
    #[schemars(regex(pattern = r"^https?://\S*$"))]
    download_base_url: Option<String>,
    /// Air-gapped servers: the absolute path of a release tarball already on this
    /// machine. Not together with download_base_url.
    #[schemars(regex(pattern = r"^/"))]
    tarball: Option<PathBuf>,
    /// The SHA-256 (64 hex digits, as printed by sha256sum) of the tarball of an exact
    /// version the bundled table does not list; must match the table for a listed one.
    /// Only with an exact version.
    #[schemars(regex(pattern = r"^[0-9a-fA-F]{64}$"))]
    sha256: Option<String>,
    /// Several machines (a database machine, app machines, one proxy), the same file
    /// on each; every machine finds itself by its addresses (or `node`) and sets up
    /// its role. Needs db_password (or db_password_file); more than one app machine
    /// needs license_file and the s3_* keys.
    machines: Option<Vec<MachineFile>>,
    /// This machine's name in machines, when none of its addresses is listed there.
    node: Option<String>,
    /// A PostgreSQL on another machine (a managed database): its DNS name or address.
    db_host: Option<String>,
    /// Its port (default 5432); only with db_host.
    #[schemars(range(min = 1, max = 65_535))]
    db_port: Option<u16>,
    /// How the connection to a database on another machine is secured (default
    /// verify-full). disable is refused there.
    db_sslmode: Option<SslMode>,
    /// The CA certificate (PEM) that signed the database server's certificate; needed
    /// with db_host and verify-ca / verify-full. Default with a database machine:
    /// /etc/mattermost-setup/postgresql-ca.pem (copied from that machine).
    #[schemars(regex(pattern = r"^/"))]
    db_ca_file: Option<PathBuf>,
    /// The database machine's own server certificate (PEM); default: one signed by a
    /// CA made on that machine. Goes with db_tls_key.
    #[schemars(regex(pattern = r"^/"))]
    db_tls_cert: Option<PathBuf>,
    /// The key of db_tls_cert (PEM).
    #[schemars(regex(pattern = r"^/"))]
    db_tls_key: Option<PathBuf>,
    /// S3-compatible object storage for the files: the bucket (it must exist).
    #[schemars(length(min = 3, max = 63))]
    s3_bucket: Option<String>,
    /// The S3 endpoint, host or host:port, without scheme.
    s3_endpoint: Option<String>,
    /// The region (default us-east-1).
    s3_region: Option<String>,
    /// The access key id.
    s3_access_key_id: Option<String>,
    /// The secret access key (kept in the 0600 saved answers and config.json). Not
    /// together with s3_secret_access_key_file.
    s3_secret_access_key: Option<String>,
    /// A file whose first line is the secret access key.
    s3_secret_access_key_file: Option<String>,
    /// https to the endpoint (true when object storage is set and s3_ssl is not).
    s3_ssl: Option<bool>,
    /// A prefix for every object key, without leading or trailing '/'.
    s3_path_prefix: Option<String>,
    /// The Enterprise license file (absolute path); needed for more than one app
    /// machine (Mattermost's cluster mode).
    #[schemars(regex(pattern = r"^/"))]
    license_file: Option<PathBuf>,
    /// ClusterSettings.ClusterName (default "mattermost").
    cluster_name: Option<String>,
}

/// One machine of `machines`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)] // only its schema is used
struct MachineFile {
    /// A short host name: 1-63 of a-z, 0-9 and '-'.
    #[schemars(regex(pattern = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"))]
    name: String,
    /// database, app or proxy.
    role: MachineRole,
    /// The machine's IP address on the private network the machines share.
    address: String,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // only its schema is used
enum MachineRole {
    Database,
    App,
    Proxy,
}

// The defaults `from_json` fills in (a test checks each against the parser).
#[allow(clippy::unnecessary_wraps)]
fn default_db_engine() -> Option<DbEngine> {
    Some(DbEngine::Postgresql)
}
#[allow(clippy::unnecessary_wraps)]
fn default_db_name() -> Option<String> {
    Some("mattermost".into())
}
#[allow(clippy::unnecessary_wraps)]
fn default_db_user() -> Option<String> {
    Some("mmuser".into())
}
#[allow(clippy::unnecessary_wraps)]
fn default_install_dir() -> Option<PathBuf> {
    Some(PathBuf::from("/opt/mattermost"))
}
#[allow(clippy::unnecessary_wraps)]
fn default_edition() -> Option<Edition> {
    Some(Edition::Enterprise)
}
#[allow(clippy::unnecessary_wraps)]
fn default_version() -> Option<String> {
    Some("esr".into())
}
#[allow(clippy::unnecessary_wraps)]
fn default_proxy() -> Option<Proxy> {
    Some(Proxy::Apache)
}
#[allow(clippy::unnecessary_wraps)]
fn default_tls() -> Option<Tls> {
    Some(Tls::None)
}
#[allow(clippy::unnecessary_wraps)]
fn default_false() -> Option<bool> {
    Some(false)
}
#[allow(clippy::unnecessary_wraps)]
fn default_true() -> Option<bool> {
    Some(true)
}

/// The keys that go together or exclude each other, as `from_json` checks them. A key
/// counts as given when it is not null.
fn relations() -> serde_json::Value {
    let given = |key: &str| {
        serde_json::json!({
            "required": [key],
            "properties": { key: { "not": { "type": "null" } } }
        })
    };
    let not_both =
        |a: &str, b: &str| serde_json::json!({ "not": { "allOf": [given(a), given(b)] } });
    let needs =
        |key: &str, needed: &str| serde_json::json!({ "if": given(key), "then": given(needed) });
    let when_tls = |tls: &str, then: serde_json::Value| {
        serde_json::json!({
            "if": { "required": ["tls"], "properties": { "tls": { "const": tls } } },
            "then": then
        })
    };
    serde_json::json!([
        not_both("db_password", "db_password_file"),
        not_both("admin_password", "admin_password_file"),
        not_both("tarball", "download_base_url"),
        not_both("s3_secret_access_key", "s3_secret_access_key_file"),
        needs("db_port", "db_host"),
        needs("db_tls_cert", "db_tls_key"),
        needs("db_tls_key", "db_tls_cert"),
        needs("admin_username", "admin_email"),
        needs("admin_email", "admin_username"),
        needs("admin_password", "admin_username"),
        needs("admin_password_file", "admin_username"),
        needs("team_name", "admin_username"),
        when_tls("letsencrypt", serde_json::json!({
            "allOf": [given("letsencrypt_email")],
            "required": ["letsencrypt_agree_tos"],
            "properties": { "letsencrypt_agree_tos": { "const": true } }
        })),
        when_tls("existing", serde_json::json!({ "allOf": [given("tls_cert"), given("tls_key")] })),
        {
            "if": {
                "anyOf": [
                    { "not": given("version") },
                    { "properties": { "version": { "enum": ["esr", "latest"] } } }
                ]
            },
            "then": { "not": given("sha256") }
        }
    ])
}

/// The schema as a JSON value.
pub fn schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(AnswersFile).to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("allOf".into(), relations());
    }
    schema
}

/// The schema as the committed file holds it (pretty, ending with a newline).
pub fn schema_json() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    /// The schema's properties are exactly the keys the parser reads.
    #[test]
    fn schema_keys_are_the_parsers_keys() {
        let schema = super::schema();
        let mut props: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut keys = super::super::parse::KEYS.to_vec();
        keys.extend(super::super::topology::KEYS);
        props.sort_unstable();
        keys.sort_unstable();
        assert_eq!(props, keys);
    }
}
