//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! Machines of several (issue 13) through the fake host: the database machine's
//! server settings, certificate, pg_hba block and firewall; an app machine's login
//! to the remote database; which phases each role runs.
use super::*;
use crate::host::fake::{Scene, fail, ok};
use crate::phases::database::Database;

const HBA: &str = "/etc/postgresql/15/main/pg_hba.conf";
const OPERATOR_HBA: &str = "local all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n";

fn topology(node: &str) -> Answers {
    let mut a = answers(
        r#""db_password": "shared-password-1", "version": "10.11.23", "proxy": "nginx",
           "machines": [
             {"name": "db1", "role": "database", "address": "10.0.0.10"},
             {"name": "app1", "role": "app", "address": "10.0.0.21"},
             {"name": "proxy1", "role": "proxy", "address": "10.0.0.30"}]"#,
    );
    a.node = Some(node.into());
    a
}

/// PostgreSQL 15 on the database machine: the role exists; `pg_settings` answers
/// from what ALTER SYSTEM set (flag "pg:server"); nft lists the table once the
/// firewall unit ran.
fn database_machine(b: &FakeBox) {
    b.install_packages(&["postgresql"]);
    b.start_units(&["postgresql.service"]);
    b.world().flags.insert("pg:db".into());
    let mut passwd = b.read("/etc/passwd").unwrap_or_default();
    passwd.push_str("postgres:x:105:112::/var/lib/postgresql:/bin/bash\n");
    b.write("/etc/passwd", &passwd);
    b.write(HBA, OPERATOR_HBA);
    b.reply(
        "pg_lsclusters",
        &["--no-header"],
        ok("15 main 5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n"),
    );
    b.on("psql", &["-X", "-w"], |_, _, _| {
        ok("mmuser|mmuser|UTF8|mmuser|150004|t\n")
    });
    b.on("psql", &["-X", "-A", "-t", "-d", "postgres", "-c"], |_, args, s: &mut Scene| {
        let sql = args.last().cloned().unwrap_or_default();
        if !sql.contains("pg_settings") {
            return ok("1|1\n");
        }
        ok(&if s.world.flags.contains("pg:server") {
            format!(
                "hba_file|{HBA}\nlisten_addresses|localhost,10.0.0.10\npassword_encryption|scram-sha-256\nssl|on\n\
                 ssl_cert_file|/etc/mattermost-setup/postgresql/server.crt\nssl_key_file|/etc/mattermost-setup/postgresql/server.key\n"
            )
        } else {
            format!(
                "hba_file|{HBA}\nlisten_addresses|localhost\npassword_encryption|scram-sha-256\nssl|on\n\
                 ssl_cert_file|/etc/ssl/certs/ssl-cert-snakeoil.pem\nssl_key_file|/etc/ssl/private/ssl-cert-snakeoil.key\n"
            )
        })
    });
    b.on("psql", &["-X", "-q", "-v", "ON_ERROR_STOP=1"], |c, _, s| {
        let sql = String::from_utf8_lossy(c.stdin.as_deref().unwrap_or_default()).into_owned();
        if sql.contains("ALTER SYSTEM") {
            assert!(
                sql.contains("listen_addresses = 'localhost,10.0.0.10'"),
                "{sql}"
            );
            s.world.flags.insert("pg:server".into());
            s.world.flags.insert(format!("sql:{sql}"));
        }
        ok("")
    });
    b.on("nft", &["list", "table"], |_, _, s| {
        if s.world.active.contains("mattermost-setup-firewall.service") {
            ok("table inet mattermost_setup {}\n")
        } else {
            fail(1, "Error: No such file or directory")
        }
    });
}

#[test]
fn the_database_machine_listens_on_its_address_with_tls_and_admits_only_the_app_machines() {
    let b = FakeBox::empty();
    let a = topology("db1");
    let p = plan(&a);
    database_machine(&b);
    let (found, after) = converge_phase(&b, &a, &p, &Database);
    let f = failing(&found);
    for what in [
        "listens on",
        "TLS",
        "server certificate",
        "admits the app machines",
        "firewall",
    ] {
        assert!(f.iter().any(|c| c.contains(what)), "{what}: {f:#?}");
    }
    assert!(failing(&after.expect("apply ran")).is_empty());
    // The certificate: the CA's is public, the keys are private, the server's files
    // belong to postgres; the server certificate names the machine's address.
    assert_eq!(b.mode("/etc/mattermost-setup/postgresql-ca.pem"), 0o644);
    assert_eq!(b.mode("/etc/mattermost-setup/postgresql-ca.key"), 0o600);
    assert_eq!(b.mode("/etc/mattermost-setup/postgresql/server.key"), 0o600);
    {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
        let pem = |p: &str| CertificateDer::from_pem_slice(b.read(p).unwrap().as_bytes()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(pem("/etc/mattermost-setup/postgresql-ca.pem"))
            .unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            std::sync::Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .unwrap();
        let leaf = pem("/etc/mattermost-setup/postgresql/server.crt");
        let verify = |name: &str| {
            rustls::client::danger::ServerCertVerifier::verify_server_cert(
                &*verifier,
                &leaf,
                &[],
                &ServerName::try_from(name.to_owned()).unwrap(),
                &[],
                UnixTime::now(),
            )
        };
        assert!(verify("10.0.0.10").is_ok(), "{:?}", verify("10.0.0.10"));
        assert!(
            verify("10.0.0.11").is_err(),
            "valid for its own address only"
        );
    }
    // The operator's pg_hba.conf lines stay, the block follows them.
    let hba = b.read(HBA).unwrap();
    assert!(hba.starts_with(OPERATOR_HBA), "{hba}");
    assert!(
        hba.contains("hostssl mattermost mmuser 10.0.0.21/32 scram-sha-256\n"),
        "{hba}"
    );
    assert!(
        !hba.contains("10.0.0.30"),
        "the proxy is not admitted: {hba}"
    );
    assert!(
        b.ran("systemctl restart postgresql@15-main.service"),
        "{:#?}",
        b.lines()
    );
    assert!(b.ran("systemctl restart mattermost-setup-firewall.service"));
    let rules = b.read("/etc/mattermost-setup/firewall.nft").unwrap();
    assert!(
        rules.contains("tcp dport 5432 ip saddr { 10.0.0.21 } accept"),
        "{rules}"
    );
    // No private key and no password on a command line.
    let key = b.read("/etc/mattermost-setup/postgresql-ca.key").unwrap();
    let key_line = key.lines().nth(1).unwrap().to_owned();
    for c in b.calls() {
        assert!(
            !c.line().contains(&key_line) && !c.line().contains("shared-password-1"),
            "{}",
            c.line()
        );
    }
    // Converged: nothing to do, nothing regenerated.
    let ca = b.read("/etc/mattermost-setup/postgresql-ca.pem").unwrap();
    let (again, none) = converge_phase(&b, &a, &p, &Database);
    assert!(none.is_none(), "{:#?}", failing(&again));
    assert_eq!(
        b.read("/etc/mattermost-setup/postgresql-ca.pem").unwrap(),
        ca
    );
    b.assert_all_scripted();
}

#[test]
fn an_app_machine_logs_in_to_the_database_machine_over_verified_tls_and_installs_no_server() {
    let b = FakeBox::empty();
    let a = topology("app1");
    let p = plan(&a);
    b.on("psql", &["-X", "-w"], |_, _, s| {
        if s.world.flags.contains("db:ready") {
            ok("mmuser|mmuser|UTF8|mmuser|150004|t\n")
        } else {
            fail(2, "psql: error: connection to server at \"10.0.0.10\", port 5432 failed: Connection refused")
        }
    });
    let mut ctx = Ctx::new(&b.host, &a, &p);
    let found = Database.probe(&ctx).unwrap();
    assert!(
        failing(&found)
            .iter()
            .any(|c| c.contains("Connection refused")),
        "{found:#?}"
    );
    // Nothing to converge here: the error says where to go.
    let e = Database.apply(&mut ctx).unwrap_err();
    assert!(
        e.cause.contains("10.0.0.10:5432 is not ready"),
        "{}",
        e.cause
    );
    assert!(e.fix.unwrap().contains("database machine first"));
    let login = b.calls().into_iter().find(|c| c.program == "psql").unwrap();
    assert!(
        login.args.windows(2).any(|w| w == ["-h", "10.0.0.10"]),
        "{:?}",
        login.args
    );
    for k in ["PGPASSFILE", "PGSSLMODE", "PGSSLROOTCERT"] {
        assert!(
            login.env_keys.contains(&k.to_owned()),
            "{k}: {:?}",
            login.env_keys
        );
    }
    assert!(!b.ran("systemctl enable --now postgresql.service"));
    b.world().flags.insert("db:ready".into());
    assert!(failing(&Database.probe(&ctx).unwrap()).is_empty());
}

#[test]
fn each_role_runs_only_its_phases() {
    let names = |node: &str| -> Vec<&'static str> {
        let a = topology(node);
        crate::phases::all()
            .into_iter()
            .filter(|ph| ph.applies(&a))
            .map(|ph| ph.id().name())
            .collect()
    };
    assert_eq!(
        names("db1"),
        ["preflight", "packages", "database", "acceptance"]
    );
    assert_eq!(
        names("app1"),
        [
            "preflight",
            "data",
            "packages",
            "database",
            "mattermost",
            "service",
            "admin",
            "housekeeping",
            "acceptance"
        ]
    );
    assert_eq!(
        names("proxy1"),
        ["preflight", "packages", "proxy", "tls", "acceptance"]
    );
    assert_eq!(
        crate::phases::all()
            .into_iter()
            .filter(|ph| ph.applies(&answers("")))
            .count(),
        11
    );
}

/// The phase sets what the plan says and nothing of its own: the `ALTER SYSTEM`
/// statements are the plan's settings, one each, and a plan admitting one more
/// address puts that block, as planned, into pg_hba.conf.
#[test]
fn the_database_machine_runs_its_plan() {
    let b = FakeBox::empty();
    let a = topology("db1");
    let mut p = plan(&a);
    let server = p
        .database
        .server
        .as_mut()
        .expect("the database machine's server plan");
    assert_eq!(server.setting("listen_addresses"), "localhost,10.0.0.10");
    let extra = "hostssl mattermost mmuser 10.0.0.99/32 scram-sha-256\n";
    let end = server
        .hba_block
        .find(crate::plan::database::HBA_END)
        .unwrap();
    server.hba_block.insert_str(end, extra);
    let server = p.database.server.clone().unwrap();
    database_machine(&b);
    let (_, after) = converge_phase(&b, &a, &p, &Database);
    assert!(failing(&after.expect("apply ran")).is_empty());
    let hba = b.read(HBA).unwrap();
    assert_eq!(hba, format!("{OPERATOR_HBA}{}", server.hba_block));
    let sql = b
        .world()
        .flags
        .iter()
        .find_map(|f| f.strip_prefix("sql:").map(str::to_owned))
        .expect("ALTER SYSTEM ran");
    let statements: Vec<&str> = sql
        .lines()
        .filter(|l| l.starts_with("ALTER SYSTEM"))
        .collect();
    let planned: Vec<String> = server
        .settings
        .iter()
        .map(|s| format!("ALTER SYSTEM SET {} = '{}';", s.name, s.value))
        .collect();
    assert_eq!(statements, planned);
}
