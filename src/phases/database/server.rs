//! The database machine of a topology: its PostgreSQL listens on the private address
//! (and localhost) with TLS, admits the application role from the app machines only
//! (a block of its own in `pg_hba.conf`, hostssl + scram-sha-256), and a firewall
//! table rejects port 5432 from every other machine.
//!
//! Choices: the listening and TLS settings go through `ALTER SYSTEM`
//! (`postgresql.auto.conf`, PostgreSQL's own file for them), not into the operator's
//! `postgresql.conf`; `pg_hba.conf` gets one marked block, the rest of the file is
//! left as it is (and backed up before the block changes). The server certificate is
//! signed by a CA made here once; its private key never leaves this machine, its
//! certificate ([`DB_CA_FILE`]) is what the app machines check the server with.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::P;
use crate::answers::Answers;
use crate::answers::topology::DB_CA_FILE;
use crate::host::{Cmd, FileSpec};
use crate::phases::{Check, Ctx, PhaseError};
use crate::vocab::Role;

pub const CA_KEY: &str = "/etc/mattermost-setup/postgresql-ca.key";
pub const CERT_DIR: &str = "/etc/mattermost-setup/postgresql";
const CA_NAME: &str = "mattermost-setup PostgreSQL CA";
const BEGIN: &str =
    "# BEGIN mattermost-setup: the app machines (managed; a re-run rewrites this block)";
const END: &str = "# END mattermost-setup";

fn server_cert() -> PathBuf {
    Path::new(CERT_DIR).join("server.crt")
}

fn server_key() -> PathBuf {
    Path::new(CERT_DIR).join("server.key")
}

fn address(a: &Answers) -> Option<IpAddr> {
    a.this_machine().map(|m| m.address)
}

/// The `pg_hba.conf` block: the application role, to its database, from each app
/// machine, over TLS only.
pub fn hba_block(a: &Answers) -> String {
    let mut block = format!("{BEGIN}\n");
    for m in a.machines_of(Role::App) {
        let prefix = if m.address.is_ipv4() { 32 } else { 128 };
        block.push_str(&format!(
            "hostssl {} {} {}/{prefix} scram-sha-256\n",
            a.db_name, a.db_user, m.address
        ));
    }
    block.push_str(END);
    block.push('\n');
    block
}

/// `text` with the tool's block replaced by `block` (or appended when absent).
pub fn with_block(text: &str, block: &str) -> String {
    if let (Some(start), Some(end)) = (text.find(BEGIN), text.find(END)) {
        if start < end {
            let after = &text[end + END.len()..];
            let after = after.strip_prefix('\n').unwrap_or(after);
            return format!("{}{block}{after}", &text[..start]);
        }
    }
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(block);
    out
}

/// Settings read as the superuser: `name|value` lines.
fn settings(ctx: &Ctx) -> Result<Vec<(String, String)>, PhaseError> {
    let out = ctx.host.probe(&Cmd::as_user(
        "postgres",
        "psql",
        &[
            "-X",
            "-A",
            "-t",
            "-d",
            "postgres",
            "-c",
            "SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses', 'ssl', 'ssl_cert_file', 'ssl_key_file', 'hba_file', 'password_encryption')",
        ],
    ))?;
    Ok(out
        .stdout
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

fn setting<'s>(all: &'s [(String, String)], name: &str) -> &'s str {
    all.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn wanted_listen(a: &Answers) -> String {
    address(a).map_or_else(|| "localhost".to_owned(), |ip| format!("localhost,{ip}"))
}

pub fn probe(ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
    let a = ctx.answers;
    let s = settings(ctx)?;
    let listen = setting(&s, "listen_addresses");
    let want = wanted_listen(a);
    let cert = server_cert();
    let mut checks = vec![
        Check::when(P, listen == want, "PostgreSQL listens on", listen).with_fix(format!(
            "repair sets listen_addresses = '{want}' (and restarts PostgreSQL)"
        )),
        Check::when(
            P,
            setting(&s, "ssl") == "on" && setting(&s, "ssl_cert_file") == cert.to_string_lossy(),
            "PostgreSQL TLS",
            format!(
                "ssl {} with {}",
                setting(&s, "ssl"),
                setting(&s, "ssl_cert_file")
            ),
        )
        .with_fix("repair turns TLS on with the server certificate"),
        Check::when(
            P,
            ctx.host.read(&cert)?.is_some() && ctx.host.read(&server_key())?.is_some(),
            "server certificate",
            cert.display().to_string(),
        )
        .with_fix("repair makes it"),
    ];
    let hba = PathBuf::from(setting(&s, "hba_file"));
    let text = String::from_utf8_lossy(&ctx.host.read(&hba)?.unwrap_or_default()).into_owned();
    let block = hba_block(a);
    checks.push(
        Check::when(
            P,
            text.contains(&block),
            format!("{} admits the app machines", hba.display()),
            if text.contains(&block) {
                "as planned"
            } else if text.contains(BEGIN) {
                "block differs from the plan"
            } else {
                "no block"
            },
        )
        .with_fix("repair rewrites the mattermost-setup block (the rest of the file is kept)"),
    );
    checks.extend(crate::phases::firewall::checks(ctx, P)?);
    Ok(checks)
}

/// A CA made here (once) and the server certificate for this machine's address.
fn ensure_certificates(ctx: &mut Ctx) -> Result<bool, PhaseError> {
    let a = ctx.answers;
    let host = ctx.host;
    let Some((uid, gid)) = host.lookup_user("postgres") else {
        return Err(
            PhaseError::new("the postgres user is missing").fix("repair reinstalls PostgreSQL")
        );
    };
    if host.read(&server_cert())?.is_some() && host.read(&server_key())?.is_some() {
        return Ok(false);
    }
    let (cert_pem, key_pem) = if let (Some(c), Some(k)) = (&a.db_tls_cert, &a.db_tls_key) {
        let read = |p: &Path, key: &str| -> Result<Vec<u8>, PhaseError> {
            host.read(p)?.ok_or_else(|| {
                PhaseError::new(format!("{key} {} does not exist", p.display()))
                    .fix(format!("give the path of a PEM file in {key}"))
            })
        };
        (read(c, "db_tls_cert")?, read(k, "db_tls_key")?)
    } else {
        let ca_key_path = Path::new(CA_KEY);
        let ca_key = match host.read(ca_key_path)? {
            Some(pem) => rcgen::KeyPair::from_pem(&String::from_utf8_lossy(&pem))
                .map_err(|e| PhaseError::new(format!("{CA_KEY} is not a private key: {e}")))?,
            None => {
                let key = rcgen::KeyPair::generate()
                    .map_err(|e| PhaseError::new(format!("cannot make a key: {e}")))?;
                ctx.claim("file", CA_KEY)?;
                host.write_file(&FileSpec {
                    path: ca_key_path.to_owned(),
                    content: key.serialize_pem().into_bytes(),
                    mode: 0o600,
                    owner: None,
                })?;
                key
            }
        };
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| PhaseError::new(e.to_string()))?;
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, CA_NAME);
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        ca.not_after = rcgen::date_time_ymd(2046, 1, 1);
        if host.read(Path::new(DB_CA_FILE))?.is_none() {
            let ca_cert = ca
                .self_signed(&ca_key)
                .map_err(|e| PhaseError::new(format!("cannot make the CA certificate: {e}")))?;
            ctx.claim("file", DB_CA_FILE)?;
            host.write_file(&FileSpec {
                path: PathBuf::from(DB_CA_FILE),
                content: ca_cert.pem().into_bytes(),
                mode: 0o644,
                owner: None,
            })?;
        }
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let me = address(a).map(|ip| ip.to_string()).unwrap_or_default();
        let name = a.this_machine().map(|m| m.name.clone()).unwrap_or_default();
        let mut leaf = rcgen::CertificateParams::new(vec![me.clone(), name])
            .map_err(|e| PhaseError::new(e.to_string()))?;
        leaf.distinguished_name.push(rcgen::DnType::CommonName, me);
        leaf.not_after = rcgen::date_time_ymd(2045, 1, 1);
        let key = rcgen::KeyPair::generate()
            .map_err(|e| PhaseError::new(format!("cannot make a key: {e}")))?;
        let cert = leaf
            .signed_by(&key, &issuer)
            .map_err(|e| PhaseError::new(format!("cannot sign the server certificate: {e}")))?;
        (cert.pem().into_bytes(), key.serialize_pem().into_bytes())
    };
    ctx.step(P, format!("server certificate in {CERT_DIR}"));
    for (path, content, mode) in [
        (server_cert(), cert_pem, 0o644),
        (server_key(), key_pem, 0o600),
    ] {
        ctx.claim("file", &path.to_string_lossy())?;
        host.write_file(&FileSpec {
            path,
            content,
            mode,
            owner: Some((uid, gid)),
        })?;
    }
    Ok(true)
}

pub fn apply(ctx: &mut Ctx) -> Result<(), PhaseError> {
    let certs = ensure_certificates(ctx)?;
    let a = ctx.answers;
    let s = settings(ctx)?;
    let cert = server_cert().to_string_lossy().into_owned();
    let key = server_key().to_string_lossy().into_owned();
    let want = wanted_listen(a);
    let restart = setting(&s, "listen_addresses") != want;
    let reload = certs
        || restart
        || setting(&s, "ssl") != "on"
        || setting(&s, "ssl_cert_file") != cert
        || setting(&s, "ssl_key_file") != key
        || setting(&s, "password_encryption") != "scram-sha-256";
    // Values are an IP address and the tool's own paths: quoted as SQL literals.
    let sql = format!(
        "ALTER SYSTEM SET listen_addresses = {};\n\
         ALTER SYSTEM SET ssl = on;\n\
         ALTER SYSTEM SET ssl_cert_file = {};\n\
         ALTER SYSTEM SET ssl_key_file = {};\n\
         ALTER SYSTEM SET password_encryption = 'scram-sha-256';\n",
        super::literal(&want),
        super::literal(&cert),
        super::literal(&key)
    );
    if reload {
        ctx.step(P, format!("PostgreSQL: listening on {want}, TLS on"));
        ctx.host.run(
            &Cmd::as_user(
                "postgres",
                "psql",
                &["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"],
            )
            .stdin(format!("{}{sql}", super::postgres::SESSION)),
        )?;
    }
    let hba = PathBuf::from(setting(&s, "hba_file"));
    let current = ctx
        .host
        .read(&hba)?
        .ok_or_else(|| PhaseError::new(format!("{} (hba_file) does not exist", hba.display())))?;
    let text = String::from_utf8_lossy(&current).into_owned();
    let block = hba_block(a);
    let hba_changed = !text.contains(&block);
    if hba_changed {
        let (mode, owner) = ctx
            .host
            .mode_and_owner(&hba)
            .map_or((0o640, None), |(m, o)| (m, Some(o)));
        ctx.step(P, format!("{}: admitting the app machines", hba.display()));
        ctx.host.write_file(&FileSpec {
            path: hba.clone(),
            content: with_block(&text, &block).into_bytes(),
            mode,
            owner,
        })?;
    }
    let unit =
        super::postgres::cluster_unit(ctx.host).unwrap_or_else(|| "postgresql.service".into());
    if restart {
        ctx.host.run(&Cmd::new("systemctl", &["restart", &unit]))?;
    } else if reload || hba_changed {
        ctx.host.run(&Cmd::new("systemctl", &["reload", &unit]))?;
    }
    crate::phases::firewall::ensure(ctx, P)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_appended_once_and_replaced_in_place() {
        let base = "local all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256";
        let b1 = format!("{BEGIN}\nhostssl mm u 10.0.0.2/32 scram-sha-256\n{END}\n");
        let once = with_block(base, &b1);
        assert_eq!(once, format!("{base}\n{b1}"));
        assert_eq!(with_block(&once, &b1), once);
        let b2 = format!("{BEGIN}\nhostssl mm u 10.0.0.3/32 scram-sha-256\n{END}\n");
        let twice = with_block(&format!("{once}# operator line\n"), &b2);
        assert_eq!(twice, format!("{base}\n{b2}# operator line\n"));
    }
}
