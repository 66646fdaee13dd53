//! Apache in front of Mattermost: the modules, a vhost for the domain with the
//! WebSocket tunnel, `apache2ctl configtest` before every reload and the previous
//! vhost restored when it fails. Other sites are never touched.

use std::path::{Path, PathBuf};

use super::database::{ensure_unit, unit_checks};
use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::host::{Cmd, FileSpec, WriteOutcome};
use crate::plan::{APACHE_SITE, apache_site_path};

const P: PhaseId = PhaseId::Proxy;
const UNIT: &str = "apache2.service";

pub struct Proxy;

fn vhost_spec(ctx: &Ctx) -> FileSpec {
    let path = apache_site_path();
    let content = ctx
        .plan
        .file(&path.to_string_lossy())
        .map(|f| f.content.clone())
        .unwrap_or_default();
    FileSpec {
        path,
        content: content.into_bytes(),
        mode: 0o644,
        owner: None,
    }
}

fn module_enabled(ctx: &Ctx, m: &str) -> bool {
    ctx.host
        .path(Path::new(&format!("/etc/apache2/mods-enabled/{m}.load")))
        .exists()
}

fn site_link() -> PathBuf {
    PathBuf::from(format!("/etc/apache2/sites-enabled/{APACHE_SITE}.conf"))
}

fn configtest(ctx: &Ctx) -> Result<(bool, String), PhaseError> {
    let out = ctx.host.probe(&Cmd::new("apache2ctl", &["configtest"]))?;
    Ok((
        out.success(),
        format!("{}{}", out.stdout, out.stderr).trim().to_owned(),
    ))
}

impl Phase for Proxy {
    fn id(&self) -> PhaseId {
        P
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let mut checks = Vec::new();
        for m in &ctx.plan.apache_modules {
            let on = module_enabled(ctx, m);
            checks.push(
                Check::when(
                    P,
                    on,
                    format!("apache module {m}"),
                    if on { "enabled" } else { "disabled" },
                )
                .with_fix(format!("a2enmod {m}")),
            );
        }
        checks.push(ctx.managed_check(P, &vhost_spec(ctx))?);
        let linked = ctx.host.path(&site_link()).exists();
        checks.push(Check::when(
            P,
            linked,
            format!("site {APACHE_SITE} enabled"),
            if linked { "yes" } else { "no" },
        ));
        let (ok, out) = configtest(ctx)?;
        checks.push(Check::when(P, ok, "apache2ctl configtest", out));
        checks.extend(unit_checks(ctx, P, UNIT)?);
        Ok(checks)
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        let host = ctx.host;
        let missing: Vec<&str> = ctx
            .plan
            .apache_modules
            .iter()
            .copied()
            .filter(|m| !module_enabled(ctx, m))
            .collect();
        let mut reload = false;
        for m in ctx
            .plan
            .apache_modules
            .iter()
            .filter(|m| !missing.contains(m))
        {
            ctx.own.found("apache_module", m);
        }
        for m in &missing {
            ctx.claim("apache_module", m)?;
        }
        if !missing.is_empty() {
            ctx.step(P, format!("enabling Apache modules {}", missing.join(" ")));
            let mut cmd = Cmd::new("a2enmod", &["-q"]);
            for m in &missing {
                cmd = cmd.arg(*m);
            }
            host.run(&cmd)?;
            reload = true;
        }
        let spec = vhost_spec(ctx);
        let outcome = ctx.write_managed(P, &spec)?;
        reload |= outcome.changed();
        let newly_linked = !host.path(&site_link()).exists();
        if newly_linked {
            ctx.claim("apache_site", APACHE_SITE)?;
            ctx.step(P, format!("enabling site {APACHE_SITE}"));
            host.run(&Cmd::new("a2ensite", &["-q", APACHE_SITE]))?;
            reload = true;
        }
        let (ok, out) = configtest(ctx)?;
        if !ok {
            // Put back what was there, so Apache keeps serving the other sites.
            match &outcome {
                WriteOutcome::Updated { backup } => {
                    let _ = std::fs::copy(backup, host.path(&apache_site_path()));
                }
                WriteOutcome::Created => {
                    let _ = host.run(&Cmd::new("a2dissite", &["-q", APACHE_SITE]));
                    let _ = std::fs::remove_file(host.path(&apache_site_path()));
                }
                WriteOutcome::Unchanged | WriteOutcome::Metadata => {}
            }
            if newly_linked && !matches!(outcome, WriteOutcome::Created) {
                let _ = host.run(&Cmd::new("a2dissite", &["-q", APACHE_SITE]));
            }
            return Err(PhaseError::new(format!(
                "apache2ctl configtest failed; the previous configuration was restored:\n{out}"
            ))
            .fix(
                "the error names the file and line; if it is another site's file, fix that first",
            ));
        }
        let started = ensure_unit(ctx, P, UNIT)?;
        if reload && !started {
            ctx.step(P, "reloading Apache");
            host.run(&Cmd::new("systemctl", &["reload", UNIT]))?;
        }
        Ok(())
    }
}
