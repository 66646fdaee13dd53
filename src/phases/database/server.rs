//! The database machine of a topology: its PostgreSQL listens on the private address
//! (and localhost) with TLS, admits the application role from the app machines only
//! (a block of its own in `pg_hba.conf`, hostssl + scram-sha-256), and a firewall
//! table rejects port 5432 from every other machine.
//!
//! What to set is the plan's ([`ServerPlan`]): this phase reads the server, runs the
//! plan's settings through `ALTER SYSTEM` (`postgresql.auto.conf`, PostgreSQL's own
//! file for them, not the operator's `postgresql.conf`), puts the plan's block in
//! `pg_hba.conf` (the rest of the file is left as it is, and backed up before the
//! block changes) and makes the plan's certificate. The certificate's content is
//! made here, not planned: it holds a private key made on this machine, which never
//! leaves it.

use std::path::{Path, PathBuf};

use super::P;
use crate::host::{Cmd, FileSpec};
use crate::phases::{Check, Ctx, PhaseError};
use crate::plan::database::{HBA_BEGIN, HBA_END, ServerCert, ServerPlan};

const CA_NAME: &str = "mattermost-setup PostgreSQL CA";

/// The plan's server part; the phase runs this only on the database machine.
fn planned<'p>(ctx: &Ctx<'p>) -> Result<&'p ServerPlan, PhaseError> {
    ctx.plan
        .database
        .server
        .as_ref()
        .ok_or_else(|| PhaseError::new("the plan has no database server part for this machine"))
}

/// `text` with the tool's block replaced by `block` (or appended when absent).
pub fn with_block(text: &str, block: &str) -> String {
    if let (Some(start), Some(end)) = (text.find(HBA_BEGIN), text.find(HBA_END)) {
        if start < end {
            let after = &text[end + HBA_END.len()..];
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

/// The planned settings and `hba_file` as the server has them, read as the
/// superuser: `name|value` lines.
fn settings(ctx: &Ctx, plan: &ServerPlan) -> Result<Vec<(String, String)>, PhaseError> {
    // The names are the plan's own constants: plain identifiers.
    let names: Vec<String> = plan
        .settings
        .iter()
        .map(|s| s.name)
        .chain(["hba_file"])
        .map(|n| format!("'{n}'"))
        .collect();
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
            &format!(
                "SELECT name, setting FROM pg_settings WHERE name IN ({})",
                names.join(", ")
            ),
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

/// The planned settings the server does not have yet.
fn differing<'p>(plan: &'p ServerPlan, now: &[(String, String)]) -> Vec<&'p str> {
    plan.settings
        .iter()
        .filter(|s| setting(now, s.name) != s.value)
        .map(|s| s.name)
        .collect()
}

pub fn probe(ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
    let plan = planned(ctx)?;
    let s = settings(ctx, plan)?;
    let listen = setting(&s, "listen_addresses");
    let want = plan.setting("listen_addresses");
    let tls_off: Vec<&str> = differing(plan, &s)
        .into_iter()
        .filter(|n| *n != "listen_addresses")
        .collect();
    let mut checks = vec![
        Check::when(P, listen == want, "PostgreSQL listens on", listen).with_fix(format!(
            "repair sets listen_addresses = '{want}' (and restarts PostgreSQL)"
        )),
        Check::when(
            P,
            tls_off.is_empty(),
            "PostgreSQL TLS",
            if tls_off.is_empty() {
                format!("ssl on with {}", plan.cert.display())
            } else {
                format!("not as planned: {}", tls_off.join(", "))
            },
        )
        .with_fix("repair turns TLS on with the server certificate"),
        Check::when(
            P,
            ctx.host.read(&plan.cert)?.is_some() && ctx.host.read(&plan.key)?.is_some(),
            "server certificate",
            plan.cert.display().to_string(),
        )
        .with_fix("repair makes it"),
    ];
    let hba = PathBuf::from(setting(&s, "hba_file"));
    let text = String::from_utf8_lossy(&ctx.host.read(&hba)?.unwrap_or_default()).into_owned();
    let block = &plan.hba_block;
    checks.push(
        Check::when(
            P,
            text.contains(block),
            format!("{} admits the app machines", hba.display()),
            if text.contains(block) {
                "as planned"
            } else if text.contains(HBA_BEGIN) {
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

/// A certificate and its private key, as PEM.
struct Pem {
    cert: Vec<u8>,
    key: Vec<u8>,
}

/// The server certificate and key of the plan: the answers' files, or signed by a
/// CA made here once. `None` when they are in place.
fn certificate(ctx: &mut Ctx, plan: &ServerPlan) -> Result<Option<Pem>, PhaseError> {
    let host = ctx.host;
    if host.read(&plan.cert)?.is_some() && host.read(&plan.key)?.is_some() {
        return Ok(None);
    }
    let (ca_key_path, ca_cert_path) = match &plan.cert_from {
        ServerCert::Given { cert, key } => {
            let read = |p: &Path, field: &str| -> Result<Vec<u8>, PhaseError> {
                host.read(p)?.ok_or_else(|| {
                    PhaseError::new(format!("{field} {} does not exist", p.display()))
                        .fix(format!("give the path of a PEM file in {field}"))
                })
            };
            return Ok(Some(Pem {
                cert: read(cert, "db_tls_cert")?,
                key: read(key, "db_tls_key")?,
            }));
        }
        ServerCert::MadeHere { ca_key, ca_cert } => (ca_key, ca_cert),
    };
    let ca_key = match host.read(ca_key_path)? {
        Some(pem) => rcgen::KeyPair::from_pem(&String::from_utf8_lossy(&pem)).map_err(|e| {
            PhaseError::new(format!(
                "{} is not a private key: {e}",
                ca_key_path.display()
            ))
        })?,
        None => {
            let key = rcgen::KeyPair::generate()
                .map_err(|e| PhaseError::new(format!("cannot make a key: {e}")))?;
            ctx.claim("file", &ca_key_path.to_string_lossy())?;
            host.write_file(&FileSpec {
                path: ca_key_path.clone(),
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
    if host.read(ca_cert_path)?.is_none() {
        let ca_cert = ca
            .self_signed(&ca_key)
            .map_err(|e| PhaseError::new(format!("cannot make the CA certificate: {e}")))?;
        ctx.claim("file", &ca_cert_path.to_string_lossy())?;
        host.write_file(&FileSpec {
            path: ca_cert_path.clone(),
            content: ca_cert.pem().into_bytes(),
            mode: 0o644,
            owner: None,
        })?;
    }
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let mut leaf = rcgen::CertificateParams::new(plan.cert_names.clone())
        .map_err(|e| PhaseError::new(e.to_string()))?;
    if let Some(first) = plan.cert_names.first() {
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, first.clone());
    }
    leaf.not_after = rcgen::date_time_ymd(2045, 1, 1);
    let key = rcgen::KeyPair::generate()
        .map_err(|e| PhaseError::new(format!("cannot make a key: {e}")))?;
    let cert = leaf
        .signed_by(&key, &issuer)
        .map_err(|e| PhaseError::new(format!("cannot sign the server certificate: {e}")))?;
    Ok(Some(Pem {
        cert: cert.pem().into_bytes(),
        key: key.serialize_pem().into_bytes(),
    }))
}

/// Writes the server certificate when it is missing; whether it did.
fn ensure_certificate(ctx: &mut Ctx, plan: &ServerPlan) -> Result<bool, PhaseError> {
    let Some((uid, gid)) = ctx.host.lookup_user("postgres") else {
        return Err(
            PhaseError::new("the postgres user is missing").fix("repair reinstalls PostgreSQL")
        );
    };
    let Some(pem) = certificate(ctx, plan)? else {
        return Ok(false);
    };
    ctx.step(P, format!("server certificate {}", plan.cert.display()));
    for (path, content, mode) in [(&plan.cert, pem.cert, 0o644), (&plan.key, pem.key, 0o600)] {
        ctx.claim("file", &path.to_string_lossy())?;
        ctx.host.write_file(&FileSpec {
            path: path.clone(),
            content,
            mode,
            owner: Some((uid, gid)),
        })?;
    }
    Ok(true)
}

/// `ALTER SYSTEM` for the plan's settings, after [`super::postgres::SESSION`]: the
/// values (an IP address, the plan's paths and words) as SQL literals.
fn alter_system(plan: &ServerPlan) -> String {
    let mut sql = super::postgres::SESSION.to_owned();
    for s in &plan.settings {
        sql.push_str(&format!(
            "ALTER SYSTEM SET {} = {};\n",
            s.name,
            super::literal(&s.value)
        ));
    }
    sql
}

pub fn apply(ctx: &mut Ctx) -> Result<(), PhaseError> {
    let plan = planned(ctx)?;
    let certs = ensure_certificate(ctx, plan)?;
    let s = settings(ctx, plan)?;
    let differing = differing(plan, &s);
    // listen_addresses takes a restart; the other settings a reload.
    let restart = differing.contains(&"listen_addresses");
    let reload = certs || !differing.is_empty();
    if reload {
        ctx.step(
            P,
            format!(
                "PostgreSQL: listening on {}, TLS on",
                plan.setting("listen_addresses")
            ),
        );
        ctx.host.run(
            &Cmd::as_user(
                "postgres",
                "psql",
                &["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"],
            )
            .stdin(alter_system(plan)),
        )?;
    }
    let hba = PathBuf::from(setting(&s, "hba_file"));
    let current = ctx
        .host
        .read(&hba)?
        .ok_or_else(|| PhaseError::new(format!("{} (hba_file) does not exist", hba.display())))?;
    let text = String::from_utf8_lossy(&current).into_owned();
    let hba_changed = !text.contains(&plan.hba_block);
    if hba_changed {
        let (mode, owner) = ctx
            .host
            .mode_and_owner(&hba)
            .map_or((0o640, None), |(m, o)| (m, Some(o)));
        ctx.step(P, format!("{}: admitting the app machines", hba.display()));
        ctx.host.write_file(&FileSpec {
            path: hba.clone(),
            content: with_block(&text, &plan.hba_block).into_bytes(),
            mode,
            owner,
        })?;
    }
    let unit = super::cluster_unit(ctx).unwrap_or_else(|| "postgresql.service".into());
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
        let b1 = format!("{HBA_BEGIN}\nhostssl mm u 10.0.0.2/32 scram-sha-256\n{HBA_END}\n");
        let once = with_block(base, &b1);
        assert_eq!(once, format!("{base}\n{b1}"));
        assert_eq!(with_block(&once, &b1), once);
        let b2 = format!("{HBA_BEGIN}\nhostssl mm u 10.0.0.3/32 scram-sha-256\n{HBA_END}\n");
        let twice = with_block(&format!("{once}# operator line\n"), &b2);
        assert_eq!(twice, format!("{base}\n{b2}# operator line\n"));
    }
}
