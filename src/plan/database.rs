//! The database's part of the plan: what the install asks of the database server,
//! in words; on the database machine of several, the server settings (`ALTER
//! SYSTEM`), the `pg_hba.conf` block and the certificate files; and the
//! crash-restart drop-in of a local PostgreSQL cluster. The database phase runs
//! what is here; it decides nothing of its own.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::PlannedFile;
use crate::answers::topology::DB_CA_FILE;
use crate::answers::{Answers, DbEngine};
use crate::vocab::Role;

/// The database machine's CA key (made here once; it never leaves the machine).
pub const CA_KEY: &str = "/etc/mattermost-setup/postgresql-ca.key";
/// The database machine's server certificate and key.
pub const CERT_DIR: &str = "/etc/mattermost-setup/postgresql";
/// The marks of the tool's block in `pg_hba.conf`; the rest of the file is the operator's.
pub const HBA_BEGIN: &str =
    "# BEGIN mattermost-setup: the app machines (managed; a re-run rewrites this block)";
pub const HBA_END: &str = "# END mattermost-setup";

/// One server setting, set with `ALTER SYSTEM` (PostgreSQL's own
/// `postgresql.auto.conf`, not the operator's `postgresql.conf`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub name: &'static str,
    /// As `pg_settings.setting` shows it once set.
    pub value: String,
}

/// Where the database machine's server certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerCert {
    /// The answers' `db_tls_cert` and `db_tls_key`, copied.
    Given { cert: PathBuf, key: PathBuf },
    /// Signed by a CA made here once: its key stays in `ca_key`, its certificate
    /// (`ca_cert`) is what the app machines check the server with.
    MadeHere { ca_key: PathBuf, ca_cert: PathBuf },
}

/// The database machine's server: what the app machines need of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerPlan {
    /// In the order they are set. Changing `listen_addresses` needs a restart; the
    /// others a reload.
    pub settings: Vec<Setting>,
    /// The block of `pg_hba.conf`, replaced in place or appended.
    pub hba_block: String,
    /// The server certificate and key (owner postgres; the key 0600).
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cert_from: ServerCert,
    /// The names the certificate is made for: the machine's address and name.
    pub cert_names: Vec<String>,
}

impl ServerPlan {
    /// The planned value of a setting.
    pub fn setting(&self, name: &str) -> &str {
        self.settings
            .iter()
            .find(|s| s.name == name)
            .map_or("", |s| s.value.as_str())
    }
}

/// The server plan on the database machine of several; `None` elsewhere.
pub fn server(a: &Answers) -> Option<ServerPlan> {
    if a.role() != Role::Database {
        return None;
    }
    let me = a.this_machine()?;
    let cert = Path::new(CERT_DIR).join("server.crt");
    let key = Path::new(CERT_DIR).join("server.key");
    let setting = |name, value: &str| Setting {
        name,
        value: value.to_owned(),
    };
    Some(ServerPlan {
        settings: vec![
            setting("listen_addresses", &format!("localhost,{}", me.address)),
            setting("ssl", "on"),
            setting("ssl_cert_file", &cert.to_string_lossy()),
            setting("ssl_key_file", &key.to_string_lossy()),
            setting("password_encryption", "scram-sha-256"),
        ],
        hba_block: hba_block(a),
        cert,
        key,
        cert_from: match (&a.db_tls_cert, &a.db_tls_key) {
            (Some(cert), Some(key)) => ServerCert::Given {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => ServerCert::MadeHere {
                ca_key: PathBuf::from(CA_KEY),
                ca_cert: PathBuf::from(DB_CA_FILE),
            },
        },
        cert_names: vec![me.address.to_string(), me.name.clone()],
    })
}

/// The `pg_hba.conf` block: the application role, to its database, from each app
/// machine, over TLS only.
fn hba_block(a: &Answers) -> String {
    let mut block = format!("{HBA_BEGIN}\n");
    for m in a.machines_of(Role::App) {
        let prefix = if m.address.is_ipv4() { 32 } else { 128 };
        block.push_str(&format!(
            "hostssl {} {} {}/{prefix} scram-sha-256\n",
            a.db_name, a.db_user, m.address
        ));
    }
    block.push_str(HBA_END);
    block.push('\n');
    block
}

/// Where the statements of [`script`] take the application password. The plan never
/// holds the password: the database phase puts it there as a SQL literal, in a
/// session that pins how literals are read, on the client's stdin.
pub const PASSWORD: &str = "{db_password}";

/// The statements the database phase runs as the database superuser on a local
/// server, in order; idempotent. Names are validated identifiers (`[a-z_][a-z0-9_]*`),
/// so they need no quoting. MariaDB/MySQL: the accounts and the `test` database that
/// `mysql_secure_installation` removes are found on the server once it is there, so
/// their `DROP`s come before these, from what the phase finds.
pub fn script(a: &Answers) -> Vec<String> {
    if !a.local_db() {
        return Vec::new();
    }
    let (db, user) = (&a.db_name, &a.db_user);
    match a.db_engine {
        DbEngine::Postgresql => vec![
            format!(
                "SELECT 'CREATE ROLE {user} LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{user}')\\gexec"
            ),
            format!("ALTER ROLE {user} WITH LOGIN PASSWORD {PASSWORD};"),
            format!(
                "SELECT 'CREATE DATABASE {db} OWNER {user} ENCODING ''UTF8'' TEMPLATE template0 LC_COLLATE ''C.UTF-8'' LC_CTYPE ''C.UTF-8''' \
                 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{db}')\\gexec"
            ),
            format!("ALTER DATABASE {db} OWNER TO {user};"),
            format!("\\connect {db}"),
            format!("ALTER SCHEMA public OWNER TO {user};"),
            format!("GRANT USAGE, CREATE ON SCHEMA public TO {user};"),
        ],
        DbEngine::Mariadb | DbEngine::Mysql => vec![
            // The grant patterns mysql_secure_installation removes: `test` and `test\_%`.
            "DELETE FROM mysql.db WHERE Db = 'test' OR Db = 'test\\_%';".to_owned(),
            format!(
                "CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;"
            ),
            format!("CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY {PASSWORD};"),
            format!("ALTER USER '{user}'@'localhost' IDENTIFIED BY {PASSWORD};"),
            format!("GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'localhost';"),
            "FLUSH PRIVILEGES;".to_owned(),
        ],
    }
}

/// Where the crash-restart drop-in of `unit` goes.
pub fn restart_dropin_path(unit: &str) -> PathBuf {
    format!("/etc/systemd/system/{unit}.d/mattermost-setup-restart.conf").into()
}

/// A drop-in that restarts the cluster after a crash (`kill -9` of the postmaster,
/// an OOM kill): Debian's `postgresql@.service` has no `Restart=`, so a crashed
/// cluster stays down until someone starts it. `on-failure`, not `on-abnormal`:
/// after the postmaster dies systemd runs the unit's ExecStop, which fails ("Cluster
/// is not running") and turns the result into exit-code (seen on Debian 12's
/// systemd 252). A stop through systemctl (or pg_ctlcluster, which redirects to it)
/// stays stopped; a cluster that cannot start is tried 5 times in 10 minutes, not in
/// a loop. Scoped to the cluster Mattermost uses; the operator's other clusters are
/// left as they are. `unit` is a name [`super::facts`] read from `pg_lsclusters` or
/// apt, made only of letters, digits, `-_.@`.
pub fn restart_dropin(unit: &str) -> PlannedFile {
    PlannedFile {
        path: restart_dropin_path(unit),
        mode: 0o644,
        owner: "root",
        content: format!(
            "# Written by mattermost-setup: restart {unit} after a crash, so that\n\
             # Mattermost's database comes back by itself. Removed by `mattermost-setup uninstall`.\n\
             [Unit]\n\
             StartLimitIntervalSec=10min\n\
             StartLimitBurst=5\n\
             \n\
             [Service]\n\
             Restart=on-failure\n\
             RestartSec=5s\n"
        ),
    }
}

pub fn changes(a: &Answers) -> Vec<String> {
    let (db, user) = (&a.db_name, &a.db_user);
    if let Some(r) = a.remote_db() {
        return vec![format!(
            "nothing on this box: {user} logs in to {db} at {}:{} over TLS (sslmode {}), as Mattermost will; the role and database must exist there",
            r.host,
            r.port,
            r.sslmode.name()
        )];
    }
    if !a.local_db() {
        return Vec::new();
    }
    let mut changes = match a.db_engine {
        DbEngine::Postgresql => vec![
            format!("role {user} with LOGIN and the answers' password"),
            format!("database {db}, owner {user}, encoding UTF8"),
            format!("schema public of {db} owned by {user}"),
        ],
        DbEngine::Mariadb | DbEngine::Mysql => vec![
            "no anonymous users, no test database, no remote root (what mysql_secure_installation does)".into(),
            format!("database {db}, utf8mb4"),
            format!("user '{user}'@'localhost' only, all privileges on {db}.*"),
        ],
    };
    if a.role() == Role::Database {
        let apps: Vec<String> = a
            .machines_of(Role::App)
            .map(|m| m.address.to_string())
            .collect();
        let me = a
            .this_machine()
            .map(|m| m.address.to_string())
            .unwrap_or_default();
        changes.extend([
            format!("listen on localhost and {me} only, TLS on (ALTER SYSTEM)"),
            format!(
                "server certificate for {me} ({})",
                if a.db_tls_cert.is_some() {
                    "the answers' db_tls_cert".to_owned()
                } else {
                    format!("signed by a CA made here; its certificate is {}", crate::answers::topology::DB_CA_FILE)
                }
            ),
            format!(
                "pg_hba.conf: a block of its own admitting {user} to {db} from {} only (hostssl, scram-sha-256)",
                apps.join(", ")
            ),
        ]);
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dropin_restarts_only_after_a_crash() {
        let spec = restart_dropin("postgresql@15-main.service");
        assert_eq!(
            spec.path,
            Path::new(
                "/etc/systemd/system/postgresql@15-main.service.d/mattermost-setup-restart.conf"
            )
        );
        let text = spec.content;
        assert!(
            text.contains("\n[Service]\nRestart=on-failure\nRestartSec=5s\n"),
            "{text}"
        );
        assert!(
            text.contains("\n[Unit]\nStartLimitIntervalSec=10min\nStartLimitBurst=5\n"),
            "{text}"
        );
        assert_eq!(spec.mode, 0o644);
    }

    /// The plan carries the superuser SQL with a slot where the password goes: never
    /// the password, in its JSON or its text.
    #[test]
    fn the_script_has_a_slot_for_the_password_not_the_password() {
        for engine in ["postgresql", "mariadb"] {
            let json = serde_json::json!({"domain": "chat.example.com", "db_engine": engine,
                "version": "10.11.23", "db_password": "never-printed-1"});
            let a = crate::answers::from_json(&json.to_string(), None).unwrap();
            let plan = super::super::Plan::new(&a).unwrap();
            let script = &plan.database.script;
            assert_eq!(
                script.iter().filter(|l| l.contains(PASSWORD)).count(),
                if engine == "postgresql" { 1 } else { 2 },
                "{script:#?}"
            );
            let printed = serde_json::to_string(&plan).unwrap();
            assert!(printed.contains(PASSWORD), "{engine}");
            assert!(!printed.contains("never-printed-1"), "{printed}");
            let b = crate::host::fake::FakeBox::empty();
            let text = super::super::render_text(&plan, &b.host);
            assert!(text.contains(&script[1]), "{text}");
            assert!(!text.contains("never-printed-1"), "{text}");
        }
    }
}
