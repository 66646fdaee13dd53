//! Several machines: a database machine, app machines and a proxy, described once in
//! the answers (`machines`) and set up one by one, each box running the installer
//! with the same file. Also the pieces a single box can use on its own: an external
//! (managed) PostgreSQL, S3-compatible object storage, and the Enterprise license.
//!
//! Choices (issue 13), written down here:
//! - A box finds itself in `machines` by its own addresses (`node` names it when it
//!   has none of them, e.g. behind NAT); the role is that machine's.
//! - Every machine uses the same database password, so with `machines` it must be
//!   in the answers: it cannot be generated on one box and known on the others.
//! - The database machine makes a private CA and a server certificate for its
//!   address; the app machines check the server with it (`verify-full`): the
//!   operator copies one public file, [`DB_CA_FILE`], from the database machine.
//! - More than one app machine needs the Enterprise license (without it each
//!   Mattermost server runs on its own: events such as new messages do not cross
//!   servers) and object storage (files on one server's disk are not on the others).

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::Secret;
use super::parse::Reader;
use super::validate;
use crate::vocab::{Role, SslMode};

/// Where the database machine puts the CA certificate of its server certificate, and
/// where the app machines read it by default (copied there by the operator).
pub const DB_CA_FILE: &str = "/etc/mattermost-setup/postgresql-ca.pem";

/// The gossip port of Mattermost's cluster (`ClusterSettings.GossipPort`).
pub const GOSSIP_PORT: u16 = 8074;

/// Mattermost's port on an app machine.
pub const APP_PORT: u16 = 8065;

/// One machine of the topology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    pub name: String,
    pub role: Role,
    /// Its address on the private network the machines share.
    pub address: IpAddr,
}

/// S3-compatible object storage for the uploaded files (`FileSettings.DriverName =
/// amazons3`). Field names after `s3_` are the answers keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectStorage {
    #[serde(rename = "s3_bucket")]
    pub bucket: String,
    /// `host` or `host:port`, no scheme (Mattermost's `AmazonS3Endpoint`).
    #[serde(rename = "s3_endpoint")]
    pub endpoint: String,
    #[serde(rename = "s3_region")]
    pub region: String,
    #[serde(rename = "s3_access_key_id")]
    pub access_key_id: String,
    #[serde(rename = "s3_secret_access_key")]
    pub secret_access_key: Secret,
    /// https to the endpoint (`AmazonS3SSL`).
    #[serde(rename = "s3_ssl")]
    pub ssl: bool,
    /// Every key under this prefix (`AmazonS3PathPrefix`); empty: the bucket's root.
    #[serde(rename = "s3_path_prefix", skip_serializing_if = "String::is_empty")]
    pub path_prefix: String,
}

impl ObjectStorage {
    /// The endpoint as a URL base.
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}",
            if self.ssl { "https" } else { "http" },
            self.endpoint
        )
    }
}

/// How Mattermost reaches a PostgreSQL that is not on this box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteDb {
    pub host: String,
    pub port: u16,
    pub sslmode: SslMode,
    pub ca_file: Option<PathBuf>,
}

/// The keys this module reads (see [`super::parse::KEYS`] for the others).
pub const KEYS: [&str; 18] = [
    "machines",
    "node",
    "db_host",
    "db_port",
    "db_sslmode",
    "db_ca_file",
    "s3_bucket",
    "s3_endpoint",
    "s3_region",
    "s3_access_key_id",
    "s3_secret_access_key",
    "s3_secret_access_key_file",
    "s3_ssl",
    "s3_path_prefix",
    "license_file",
    "cluster_name",
    "db_tls_cert",
    "db_tls_key",
];

/// The topology part of the answers, as read.
pub struct Parsed {
    pub machines: Vec<Machine>,
    pub node: Option<String>,
    pub db_host: Option<String>,
    pub db_port: Option<u16>,
    pub db_sslmode: Option<SslMode>,
    pub db_ca_file: Option<PathBuf>,
    pub db_tls_cert: Option<PathBuf>,
    pub db_tls_key: Option<PathBuf>,
    pub s3: Option<ObjectStorage>,
    pub license_file: Option<PathBuf>,
    pub cluster_name: Option<String>,
}

fn machines(r: &mut Reader) -> Vec<Machine> {
    let fix = "write \"machines\": [{\"name\": \"db1\", \"role\": \"database\", \"address\": \"10.0.0.10\"}, ...]";
    let list = match r.map.get("machines") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(list)) => list.clone(),
        Some(other) => {
            r.err("machines", format!("must be a list, found {other}"), fix);
            return Vec::new();
        }
    };
    let mut out: Vec<Machine> = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let key = format!("machines[{i}]");
        let Some(obj) = m.as_object() else {
            r.err(&key, format!("must be an object, found {m}"), fix);
            continue;
        };
        if let Some(extra) = obj
            .keys()
            .find(|k| !["name", "role", "address"].contains(&k.as_str()))
        {
            r.err(
                &format!("{key}.{extra}"),
                "is not a known key",
                "a machine has name, role and address",
            );
        }
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
        let name = text("name").unwrap_or_default();
        if let Err(e) = validate::machine_name(&name) {
            r.err(
                &format!("{key}.name"),
                e,
                "use a short host name: 1-63 of a-z, 0-9 and '-'",
            );
        }
        let role = match text("role").as_deref().and_then(Role::of_machine) {
            Some(role) => role,
            None => {
                let other = text("role");
                r.err(
                    &format!("{key}.role"),
                    format!("{other:?} is not one of database, app, proxy"),
                    "set role to database, app or proxy (\"all\" is a single box: leave machines out)",
                );
                Role::App
            }
        };
        let address = match text("address").map(|a| a.parse::<IpAddr>()) {
            Some(Ok(a)) if !a.is_loopback() && !a.is_unspecified() => a,
            other => {
                r.err(
                    &format!("{key}.address"),
                    match other {
                        Some(Ok(a)) => format!("{a} is not an address other machines can reach"),
                        _ => "is missing or not an IP address".to_owned(),
                    },
                    "give the machine's address on the private network, e.g. 10.0.0.21",
                );
                continue;
            }
        };
        if out.iter().any(|o| o.name == name) {
            r.err(
                &format!("{key}.name"),
                format!("\"{name}\" is listed twice"),
                "give each machine its own name",
            );
        }
        if out.iter().any(|o| o.address == address) {
            r.err(
                &format!("{key}.address"),
                format!("{address} is listed twice"),
                "give each machine its own address",
            );
        }
        out.push(Machine {
            name,
            role,
            address,
        });
    }
    out
}

fn object_storage(r: &mut Reader) -> Option<ObjectStorage> {
    let bucket = r.string("s3_bucket");
    let endpoint = r.string("s3_endpoint");
    let region = r.string("s3_region");
    let key_id = r.string("s3_access_key_id");
    let secret = r.secret("s3_secret_access_key");
    let ssl = r.boolean("s3_ssl", true);
    let prefix = r.string("s3_path_prefix").unwrap_or_default();
    let any = bucket.is_some() || endpoint.is_some() || key_id.is_some() || secret.is_some();
    if !any {
        for k in ["s3_region", "s3_ssl", "s3_path_prefix"] {
            if r.map.get(k).is_some_and(|v| !v.is_null()) {
                r.err(k, "is set without s3_bucket", "add s3_bucket, s3_endpoint, s3_access_key_id and s3_secret_access_key, or remove it");
            }
        }
        return None;
    }
    let mut need = |key: &str, v: &Option<String>, what: &str| {
        if v.as_deref().is_none_or(str::is_empty) {
            r.err(
                key,
                "is missing (object storage is set)",
                format!("add {what}"),
            );
        }
    };
    need("s3_bucket", &bucket, "the bucket's name");
    need(
        "s3_endpoint",
        &endpoint,
        "the endpoint, host or host:port without https://",
    );
    need("s3_access_key_id", &key_id, "the access key id");
    need(
        "s3_secret_access_key",
        &secret,
        "s3_secret_access_key or s3_secret_access_key_file (a mode 600 file)",
    );
    if let Some(b) = &bucket {
        if let Err(e) = validate::bucket(b) {
            r.err(
                "s3_bucket",
                e,
                "use 3-63 of a-z, 0-9, '.' and '-' (S3 bucket naming rules)",
            );
        }
    }
    if let Some(e) = &endpoint {
        if let Err(why) = validate::endpoint(e) {
            r.err(
                "s3_endpoint",
                why,
                "write host or host:port, e.g. s3.eu-west-1.amazonaws.com or 10.0.0.5:7480, without scheme or path",
            );
        }
    }
    if let Some(re) = &region {
        if re.is_empty() || !re.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            r.err(
                "s3_region",
                format!("\"{re}\" is not a region name"),
                "use e.g. us-east-1",
            );
        }
    }
    if !prefix.is_empty()
        && (prefix.starts_with('/')
            || prefix.ends_with('/')
            || prefix.chars().any(|c| c.is_control() || c == '\\'))
    {
        r.err(
            "s3_path_prefix",
            format!("\"{prefix}\" is not a key prefix"),
            "use a/b without leading or trailing '/'",
        );
    }
    if let Some(s) = &secret {
        if s.is_empty() || s.chars().any(char::is_control) {
            r.err(
                "s3_secret_access_key",
                "is empty or has control characters",
                "give the secret key as the storage provider printed it",
            );
        }
    }
    Some(ObjectStorage {
        bucket: bucket?,
        endpoint: endpoint?,
        region: region.unwrap_or_else(|| "us-east-1".into()),
        access_key_id: key_id?,
        secret_access_key: Secret::new(secret?),
        ssl,
        path_prefix: prefix,
    })
}

/// Reads the topology keys, and checks them against the rest of the answers.
pub(super) fn parse(r: &mut Reader, engine: super::DbEngine, edition: super::Edition) -> Parsed {
    let machines = machines(r);
    let node = r.string("node");
    if let Some(n) = &node {
        if !machines.iter().any(|m| &m.name == n) {
            r.err(
                "node",
                format!("\"{n}\" is not the name of one of machines"),
                "give the name of this machine as machines lists it, or remove node (the machine is then found by its addresses)",
            );
        }
    }
    let db_host = r.string("db_host");
    if let Some(h) = &db_host {
        if let Err(e) = validate::db_host(h) {
            r.err(
                "db_host",
                e,
                "give the database server's DNS name or IP address",
            );
        }
    }
    let db_port = match r.map.get("db_port") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|p| (1..=65_535).contains(&p)) => {
            n.as_u64().and_then(|p| u16::try_from(p).ok())
        }
        Some(other) => {
            r.err(
                "db_port",
                format!("{other} is not a port"),
                "write e.g. \"db_port\": 5432",
            );
            None
        }
    };
    let sslmode = r.string("db_sslmode").and_then(|s| {
        let mode = match s.as_str() {
            "disable" => SslMode::Disable,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                r.err(
                    "db_sslmode",
                    format!("\"{s}\" is not one of require, verify-ca, verify-full, disable"),
                    "use verify-full (with db_ca_file) for a database on another machine",
                );
                return None;
            }
        };
        Some(mode)
    });
    let db_ca_file = r.path("db_ca_file");
    let db_tls_cert = r.path("db_tls_cert");
    let db_tls_key = r.path("db_tls_key");
    let s3 = object_storage(r);
    let license_file = r.path("license_file");
    let cluster_name = r.string("cluster_name");
    if let Some(c) = &cluster_name {
        if let Err(e) = validate::machine_name(c) {
            r.err("cluster_name", e, "use 1-63 of a-z, 0-9 and '-'");
        }
    }

    let remote_db = db_host.is_some() || machines.iter().any(|m| m.role == Role::Database);
    if remote_db && engine != super::DbEngine::Postgresql {
        r.err(
            "db_engine",
            format!(
                "{} cannot be set up on another machine by this tool",
                engine.name()
            ),
            "use db_engine \"postgresql\" (Mattermost 11 supports only PostgreSQL)",
        );
    }
    if db_port.is_some() && db_host.is_none() {
        r.err(
            "db_port",
            "is set without db_host",
            "add db_host, or remove db_port",
        );
    }
    if sslmode.is_some() && !remote_db {
        r.err(
            "db_sslmode",
            "is set but the database is on this box",
            "add db_host (or a database machine), or remove db_sslmode",
        );
    }
    if sslmode == Some(SslMode::Disable) && remote_db {
        r.err(
            "db_sslmode",
            "disable would send the database password in clear over the network",
            "use verify-full with db_ca_file (or require)",
        );
    }
    let mode = sslmode.unwrap_or(SslMode::VerifyFull);
    if remote_db && mode.verifies() && db_ca_file.is_none() && db_host.is_some() {
        r.err(
            "db_ca_file",
            format!("is missing (db_sslmode is {})", mode.name()),
            "give the CA certificate (PEM) that signed the database server's certificate, or set db_sslmode to require",
        );
    }
    if db_tls_cert.is_some() != db_tls_key.is_some() {
        r.err(
            "db_tls_cert",
            "db_tls_cert and db_tls_key go together",
            "set both (the database server's certificate and its key), or none for a generated one",
        );
    }

    if !machines.is_empty() {
        let count = |role| machines.iter().filter(|m| m.role == role).count();
        let (dbs, apps, proxies) = (count(Role::Database), count(Role::App), count(Role::Proxy));
        if dbs > 1 {
            r.err(
                "machines",
                format!("lists {dbs} database machines"),
                "list one database machine (or none, with db_host for a managed PostgreSQL)",
            );
        }
        if dbs == 1 && db_host.is_some() {
            r.err(
                "db_host",
                "is set together with a database machine",
                "keep one of the two",
            );
        }
        if dbs == 0 && db_host.is_none() {
            r.err(
                "machines",
                "lists no database machine",
                "add a machine with role database, or set db_host to a managed PostgreSQL",
            );
        }
        if apps == 0 {
            r.err(
                "machines",
                "lists no app machine",
                "add a machine with role app",
            );
        }
        if proxies != 1 {
            r.err(
                "machines",
                format!("lists {proxies} proxy machines"),
                "list exactly one machine with role proxy",
            );
        }
        if !r.map.contains_key("db_password") && !r.map.contains_key("db_password_file") {
            r.err(
                "db_password",
                "is missing: every machine must use the same database password",
                "add db_password_file (a mode 600 file copied to each machine) or db_password",
            );
        }
        if apps > 1 {
            if license_file.is_none() {
                r.err(
                    "license_file",
                    format!("is missing, and machines lists {apps} app machines"),
                    "without the Enterprise cluster license each Mattermost server runs on its own and events such as new messages do not cross servers: give the license file, or list one app machine",
                );
            }
            if edition != super::Edition::Enterprise {
                r.err(
                    "edition",
                    "team has no cluster mode",
                    "use edition \"enterprise\" with a license, or list one app machine",
                );
            }
            if s3.is_none() {
                r.err(
                    "s3_bucket",
                    format!("is missing, and machines lists {apps} app machines"),
                    "files uploaded to one server would not be on the others: give S3-compatible object storage (s3_bucket, s3_endpoint, s3_access_key_id, s3_secret_access_key)",
                );
            }
        }
    }
    Parsed {
        machines,
        node,
        db_host,
        db_port,
        db_sslmode: sslmode,
        db_ca_file,
        db_tls_cert,
        db_tls_key,
        s3,
        license_file,
        cluster_name,
    }
}

/// Why no machine of the list is this box.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// None of the listed addresses is on this box (`mine`: its addresses).
    #[error("none of the listed machines is this server: its addresses are {}", addresses(.mine))]
    NotListed { mine: Vec<IpAddr> },
    /// This box has the addresses of several listed machines.
    #[error("this server has the addresses of {} machines ({})", .names.len(), .names.join(", "))]
    Several { names: Vec<String> },
}

fn addresses(mine: &[IpAddr]) -> String {
    if mine.is_empty() {
        return "unknown".to_owned();
    }
    mine.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which of `machines` has one of `mine` (this box's addresses).
pub fn find_node(machines: &[Machine], mine: &[IpAddr]) -> Result<String, NodeError> {
    let found: Vec<&Machine> = machines
        .iter()
        .filter(|m| mine.contains(&m.address))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => Err(NodeError::NotListed {
            mine: mine.to_vec(),
        }),
        many => Err(NodeError::Several {
            names: many.iter().map(|m| m.name.clone()).collect(),
        }),
    }
}

impl super::Answers {
    /// This box's entry in `machines` (`None` on a single box).
    pub fn this_machine(&self) -> Option<&Machine> {
        let node = self.node.as_deref()?;
        self.machines.iter().find(|m| m.name == node)
    }

    /// This box's role: `all` without `machines`.
    pub fn role(&self) -> Role {
        self.this_machine().map_or(Role::All, |m| m.role)
    }

    /// The machines of `role`.
    pub fn machines_of(&self, role: Role) -> impl Iterator<Item = &Machine> {
        self.machines.iter().filter(move |m| m.role == role)
    }

    /// Where Mattermost finds its database when it is not on this box.
    /// `None` on a box that runs no Mattermost (the proxy machine needs no database).
    pub fn remote_db(&self) -> Option<RemoteDb> {
        if !self.runs_mattermost() {
            return None;
        }
        let host = match (&self.db_host, self.machines_of(Role::Database).next()) {
            (Some(h), _) => h.clone(),
            (None, Some(m)) => m.address.to_string(),
            _ => return None,
        };
        let sslmode = self.db_sslmode.unwrap_or(SslMode::VerifyFull);
        Some(RemoteDb {
            host,
            port: self.db_port.unwrap_or(5432),
            sslmode,
            ca_file: self
                .db_ca_file
                .clone()
                .or_else(|| self.db_host.is_none().then(|| PathBuf::from(DB_CA_FILE))),
        })
    }

    /// Where the install keeps its copy of `db_ca_file` (readable by the service
    /// user, which the operator's file, e.g. under /root, may not be): the DSN's
    /// sslrootcert.
    pub fn db_ca_copy(&self) -> Option<PathBuf> {
        self.remote_db()?.ca_file?;
        Some(self.install_dir.join("config/mattermost-setup-db-ca.pem"))
    }

    /// Whether this box runs a PostgreSQL (or MariaDB) of its own.
    pub fn local_db(&self) -> bool {
        match self.role() {
            Role::All => self.db_host.is_none(),
            Role::Database => true,
            Role::App | Role::Proxy => false,
        }
    }

    /// Whether this box runs Mattermost.
    pub fn runs_mattermost(&self) -> bool {
        matches!(self.role(), Role::All | Role::App)
    }

    /// Whether this box runs the reverse proxy.
    pub fn runs_proxy(&self) -> bool {
        matches!(self.role(), Role::All | Role::Proxy)
    }

    /// `ClusterSettings.ClusterName`: the answers' `cluster_name`, or "mattermost".
    pub fn cluster(&self) -> &str {
        self.cluster_name.as_deref().unwrap_or("mattermost")
    }

    /// Mattermost's cluster mode: more than one app machine.
    pub fn clustered(&self) -> bool {
        self.machines_of(Role::App).count() > 1
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Answers, from_json, validate::Invalid};
    use crate::vocab::{Role, SslMode};

    fn topo(extra: &serde_json::Value) -> serde_json::Value {
        let mut a = serde_json::json!({
            "domain": "chat.example.com",
            "db_password": "shared-password-1",
            "version": "10.11.23",
            "proxy": "nginx",
            "machines": [
                {"name": "db1", "role": "database", "address": "10.0.0.10"},
                {"name": "app1", "role": "app", "address": "10.0.0.21"},
                {"name": "proxy1", "role": "proxy", "address": "10.0.0.30"},
            ],
        });
        for (k, v) in extra.as_object().unwrap() {
            a[k] = v.clone();
        }
        a
    }

    fn parse(v: &serde_json::Value) -> Result<Answers, Invalid> {
        from_json(&v.to_string(), None)
    }

    fn fields(e: &Invalid) -> Vec<String> {
        e.0.iter().map(|f| f.field.clone()).collect()
    }

    #[test]
    fn each_machine_gets_its_role_and_the_app_reaches_the_database_machine_over_verified_tls() {
        let mut v = topo(&serde_json::json!({}));
        v.as_object_mut().unwrap().remove("proxy");
        let mut a = parse(&v).unwrap();
        assert_eq!(
            a.proxy,
            crate::vocab::Proxy::Nginx,
            "nginx is the default with machines"
        );
        assert_eq!(a.role(), Role::All, "no node chosen yet");
        a.node = Some("app1".into());
        assert_eq!(a.role(), Role::App);
        assert!(a.runs_mattermost() && !a.runs_proxy() && !a.local_db());
        let r = a.remote_db().unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.sslmode),
            ("10.0.0.10", 5432, SslMode::VerifyFull)
        );
        assert_eq!(r.ca_file.unwrap().to_str(), Some(super::DB_CA_FILE));
        a.node = Some("db1".into());
        assert!(a.local_db() && !a.runs_mattermost() && a.remote_db().is_none());
        a.node = Some("proxy1".into());
        assert!(a.runs_proxy() && !a.runs_mattermost() && !a.local_db());
        assert!(a.remote_db().is_none(), "the proxy needs no database");
    }

    #[test]
    fn two_app_machines_need_the_license_object_storage_and_the_enterprise_edition() {
        let two = serde_json::json!({"edition": "team", "machines": [
            {"name": "db1", "role": "database", "address": "10.0.0.10"},
            {"name": "app1", "role": "app", "address": "10.0.0.21"},
            {"name": "app2", "role": "app", "address": "10.0.0.22"},
            {"name": "proxy1", "role": "proxy", "address": "10.0.0.30"},
        ]});
        let e = parse(&topo(&two)).unwrap_err();
        assert_eq!(fields(&e), ["license_file", "edition", "s3_bucket"]);
        assert!(
            e.to_string()
                .contains("events such as new messages do not cross servers"),
            "{e}"
        );
    }

    #[test]
    fn bad_topologies_are_named_by_their_key() {
        let cases = [
            (
                serde_json::json!({"machines": [{"name": "db1", "role": "database", "address": "10.0.0.10"},
                {"name": "db1", "role": "app", "address": "10.0.0.10"},
                {"name": "p", "role": "proxy", "address": "127.0.0.1"}]}),
                vec![
                    "machines[1].name",
                    "machines[1].address",
                    "machines[2].address",
                    "machines",
                ],
            ),
            (
                serde_json::json!({"machines": [{"name": "App_1", "role": "web", "address": "x", "port": 1}]}),
                vec![
                    "machines[0].port",
                    "machines[0].name",
                    "machines[0].role",
                    "machines[0].address",
                ],
            ),
            (serde_json::json!({"node": "nowhere"}), vec!["node"]),
            (
                serde_json::json!({"db_engine": "mariadb"}),
                vec!["db_engine"],
            ),
            (serde_json::json!({"proxy": "apache"}), vec!["proxy"]),
            (
                serde_json::json!({"db_sslmode": "disable"}),
                vec!["db_sslmode"],
            ),
            (
                serde_json::json!({"db_host": "pg.example.com"}),
                vec!["db_ca_file", "db_host"],
            ),
            (
                serde_json::json!({"s3_bucket": "Bad_Bucket", "s3_endpoint": "https://s3.example.com/x"}),
                vec![
                    "s3_access_key_id",
                    "s3_secret_access_key",
                    "s3_bucket",
                    "s3_endpoint",
                ],
            ),
        ];
        for (extra, want) in cases {
            let e = parse(&topo(&extra)).unwrap_err();
            assert_eq!(fields(&e), want, "{extra}: {e}");
        }
        // Without db_password every machine would generate its own.
        let mut v = topo(&serde_json::json!({}));
        v.as_object_mut().unwrap().remove("db_password");
        assert_eq!(fields(&parse(&v).unwrap_err()), ["db_password"]);
    }

    #[test]
    fn a_managed_database_needs_its_ca_for_verify_full() {
        let base = serde_json::json!({"domain": "chat.example.com", "db_host": "pg.example.com"});
        let e = parse(&base).unwrap_err();
        assert_eq!(fields(&e), ["db_ca_file"]);
        let mut ok = base.clone();
        ok["db_ca_file"] = serde_json::json!("/etc/ssl/pg-ca.pem");
        ok["db_port"] = serde_json::json!(25060);
        let a = parse(&ok).unwrap();
        assert!(!a.local_db() && a.runs_mattermost() && a.runs_proxy());
        let dsn = crate::dsn::data_source(&a);
        assert!(
            dsn.ends_with("@pg.example.com:25060/mattermost?sslmode=verify-full&sslrootcert=%2Fopt%2Fmattermost%2Fconfig%2Fmattermost-setup-db-ca.pem&connect_timeout=10"),
            "{dsn}"
        );
        let mut req = base;
        req["db_sslmode"] = serde_json::json!("require");
        assert_eq!(
            parse(&req).unwrap().remote_db().unwrap().sslmode,
            SslMode::Require
        );
    }

    #[test]
    fn the_s3_secret_is_saved_only_in_the_private_file_and_round_trips() {
        let v = topo(&serde_json::json!({
            "s3_bucket": "mm-files", "s3_endpoint": "10.0.0.5:7480",
            "s3_access_key_id": "AKID", "s3_secret_access_key": "s3cr3t/with+chars", "s3_ssl": false
        }));
        let a = parse(&v).unwrap();
        let public = serde_json::to_string(&a).unwrap();
        assert!(!public.contains("s3cr3t"), "{public}");
        let private = a.to_json_with_secrets();
        assert!(private.contains("s3cr3t/with+chars"));
        let back = super::super::from_saved_json(&private).unwrap();
        assert_eq!(back, a);
    }
}
