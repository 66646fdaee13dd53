//! The reverse proxy in front of Mattermost: Apache ([`apache`]) or nginx ([`nginx`]).
//!
//! One site file for the domain, written whole by the tool (so `status` and `repair`
//! can compare it): port 80 proxies to Mattermost until a certificate is in place,
//! then redirects to https while port 443 proxies. The upload limit follows
//! Mattermost's `FileSettings.MaxFileSize`. The configuration is tested (`apache2ctl
//! configtest` / `nginx -t`) before every reload; when the test fails the previous
//! site file is put back and nothing is reloaded. Other sites are never touched.

pub mod apache;
pub mod nginx;

use std::path::{Path, PathBuf};

use super::database::{ensure_unit, unit_checks};
use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::answers::Proxy as Kind;
use crate::host::{Cmd, WriteOutcome};
use crate::plan::{PlannedFile, proxy_site_path, proxy_unit};

const P: PhaseId = PhaseId::Proxy;

pub struct Proxy;

/// The plan's site and Apache modules for now: its own once the certificate is in
/// place (and always without TLS), those before the certificate until then (see
/// [`super::tls::until_certificate`]).
fn stage<'p>(ctx: &Ctx<'p>) -> Result<(&'p PlannedFile, &'p [&'static str]), PhaseError> {
    if let Some(until) = super::tls::until_certificate(ctx) {
        return Ok((&until.site, &until.apache_modules));
    }
    let plan = ctx.plan;
    let path = proxy_site_path(ctx.answers.proxy);
    let site = plan
        .file(&path.to_string_lossy())
        .ok_or_else(|| PhaseError::new(format!("the plan has no site {}", path.display())))?;
    Ok((site, &plan.apache_modules))
}

fn site_link(kind: Kind) -> PathBuf {
    match kind {
        Kind::Apache => apache::site_link(),
        Kind::Nginx => nginx::site_link(),
    }
}

fn linked(ctx: &Ctx) -> bool {
    std::fs::symlink_metadata(ctx.host.path(&site_link(ctx.answers.proxy))).is_ok()
}

/// The proxy's configuration test: (passed, its output).
pub fn configtest(ctx: &Ctx) -> Result<(bool, String), PhaseError> {
    match ctx.answers.proxy {
        Kind::Apache => apache::configtest(ctx),
        Kind::Nginx => nginx::configtest(ctx),
    }
}

fn configtest_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Apache => "apache2ctl configtest",
        Kind::Nginx => "nginx -t",
    }
}

/// Checks of the proxy's configuration (modules, site file, link, configtest, unit).
pub fn checks(ctx: &Ctx, phase: PhaseId) -> Result<Vec<Check>, PhaseError> {
    let kind = ctx.answers.proxy;
    let (site, modules) = stage(ctx)?;
    let mut checks = Vec::new();
    if kind == Kind::Apache {
        checks.extend(apache::module_checks(ctx, phase, modules));
    }
    checks.push(ctx.managed_check(phase, &super::planned_spec(site))?);
    let on = linked(ctx);
    checks.push(Check::when(
        phase,
        on,
        format!("site {} enabled", site_link(kind).display()),
        if on { "yes" } else { "no" },
    ));
    let (ok, out) = configtest(ctx)?;
    checks.push(Check::when(phase, ok, configtest_name(kind), out).with_fix(
        "the error names the file and line; if it is another site's file, fix that first",
    ));
    checks.extend(unit_checks(ctx, phase, proxy_unit(kind))?);
    Ok(checks)
}

/// Brings the proxy to the plan's site for now ([`stage`]): modules, the site file, the
/// link, the configuration test (restoring the previous state when it fails), then
/// start or reload. Returns whether the proxy now serves a changed configuration.
pub fn converge(ctx: &mut Ctx, phase: PhaseId) -> Result<bool, PhaseError> {
    let kind = ctx.answers.proxy;
    let (site, modules) = stage(ctx)?;
    let mut reload = match kind {
        Kind::Apache => apache::enable_modules(ctx, phase, modules)?,
        Kind::Nginx => false,
    };
    let spec = super::planned_spec(site);
    let record_before = ctx.own.files.get(&spec.path).cloned();
    let outcome = ctx.write_managed(phase, &spec)?;
    reload |= outcome.changed();
    let newly_linked = !linked(ctx);
    if newly_linked {
        match kind {
            Kind::Apache => apache::enable_site(ctx, phase)?,
            Kind::Nginx => nginx::enable_site(ctx, phase)?,
        }
        reload = true;
    }
    let (ok, out) = configtest(ctx)?;
    if !ok {
        let not_restored = restore(ctx, &spec.path, &outcome, newly_linked);
        match record_before {
            Some(r) => {
                ctx.own.files.insert(spec.path.clone(), r);
            }
            None => {
                ctx.own.files.remove(&spec.path);
            }
        }
        return Err(configtest_failure(kind, &out, &not_restored));
    }
    if kind == Kind::Apache {
        // Modules an earlier run enabled that the site no longer needs (mod_ssl
        // while TLS is off, mod_http2 and mod_expires of older versions).
        reload |= disable_unneeded(ctx, phase, modules)?;
    }
    let unit = proxy_unit(kind);
    let started = ensure_unit(ctx, phase, unit)?;
    if reload && !started {
        ctx.step(phase, format!("reloading {unit}"));
        ctx.host.run(&Cmd::new("systemctl", &["reload", unit]))?;
    }
    Ok(reload || started)
}

fn disable_unneeded(ctx: &mut Ctx, phase: PhaseId, needed: &[&str]) -> Result<bool, PhaseError> {
    let Some(created) = ctx.own.created.get("apache_module").cloned() else {
        return Ok(false);
    };
    if created.iter().all(|m| needed.contains(&m.as_str())) {
        return Ok(false);
    }
    let report = apache::disable_unused(ctx.host, &created, needed)?;
    if report.disabled.is_empty() {
        return Ok(false);
    }
    ctx.step(
        phase,
        format!(
            "disabled Apache modules the site no longer needs: {}",
            report.disabled.join(" ")
        ),
    );
    if let Some(set) = ctx.own.created.get_mut("apache_module") {
        for m in &report.disabled {
            set.remove(m);
        }
    }
    ctx.own.save(ctx.host)?;
    Ok(true)
}

/// Puts back what was there before a failed configuration test, so the proxy keeps
/// serving the other sites (and ours as it was).
/// Puts the site back as it was before this run wrote it; what could not be put
/// back, in words (empty when everything was).
fn restore(ctx: &Ctx, path: &Path, outcome: &WriteOutcome, newly_linked: bool) -> Vec<String> {
    let host = ctx.host;
    let mut failed = Vec::new();
    if newly_linked || matches!(outcome, WriteOutcome::Created) {
        let disabled = match ctx.answers.proxy {
            Kind::Apache => apache::disable_site(ctx),
            Kind::Nginx => nginx::disable_site(ctx),
        };
        failed.extend(disabled.err());
    }
    match outcome {
        WriteOutcome::Updated { backup } => match host.restore_backup(backup, path) {
            Ok(_) => host.note(&format!(
                "file {}: restored from {}",
                path.display(),
                backup.display()
            )),
            Err(e) => failed.push(format!(
                "cannot restore {} from {}: {e}",
                path.display(),
                backup.display()
            )),
        },
        WriteOutcome::Created => match host.remove_file(path) {
            Ok(()) => host.note(&format!("file {}: removed again", path.display())),
            Err(e) => failed.push(format!("cannot remove {} again: {e}", path.display())),
        },
        WriteOutcome::Unchanged | WriteOutcome::Metadata => {}
    }
    failed
}

/// The configtest failure, saying truthfully what became of the change.
fn configtest_failure(kind: Kind, out: &str, not_restored: &[String]) -> PhaseError {
    let name = configtest_name(kind);
    if not_restored.is_empty() {
        PhaseError::new(format!(
            "{name} failed; the previous configuration was restored and nothing was reloaded:\n{out}"
        ))
        .fix("the error names the file and line; if it is another site's file, fix that first")
    } else {
        PhaseError::new(format!(
            "{name} failed and the previous configuration could NOT be fully restored ({}); nothing was reloaded:\n{out}",
            not_restored.join("; ")
        ))
        .fix(format!(
            "put the file back by hand (the backup is named above), check with {name}, then run again; \
             the proxy still runs its old configuration until it is reloaded"
        ))
    }
}

impl Phase for Proxy {
    fn id(&self) -> PhaseId {
        P
    }

    fn applies(&self, a: &crate::answers::Answers) -> bool {
        a.runs_proxy()
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        checks(ctx, P)
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        converge(ctx, P)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;

    /// Issue 9: a failed configtest says "restored" only when the restore worked.
    #[test]
    fn a_restore_that_fails_is_reported_not_claimed() {
        let t = tempfile::tempdir().unwrap();
        let host = Host::new(
            t.path().to_owned(),
            crate::host::RunLog::create(&t.path().join("log")),
            crate::events::discard(),
            Box::new(crate::host::SystemRunner),
        );
        let a = crate::answers::from_json(r#"{"domain": "chat.example.com"}"#, None).unwrap();
        let plan = crate::plan::Plan::new(&a).unwrap();
        let ctx = Ctx::new(&host, &a, &plan);
        let site = Path::new("/etc/apache2/sites-available/mattermost.conf");
        std::fs::create_dir_all(t.path().join("etc/apache2/sites-available")).unwrap();
        std::fs::write(host.path(site), "new, broken").unwrap();
        let backup = t.path().join("backup-of-the-site");
        std::fs::write(&backup, "the operator's old site").unwrap();
        let good = WriteOutcome::Updated {
            backup: backup.clone(),
        };
        assert!(restore(&ctx, site, &good, false).is_empty());
        assert_eq!(
            std::fs::read_to_string(host.path(site)).unwrap(),
            "the operator's old site"
        );
        let e = configtest_failure(Kind::Apache, "AH00526: Syntax error", &[]);
        assert!(e.cause.contains("was restored"), "{e:?}");

        let lost = WriteOutcome::Updated {
            backup: t.path().join("no-such-backup"),
        };
        let failed = restore(&ctx, site, &lost, false);
        assert_eq!(failed.len(), 1, "{failed:?}");
        let e = configtest_failure(Kind::Apache, "AH00526: Syntax error", &failed);
        assert!(
            e.cause.contains("could NOT be fully restored") && e.cause.contains("no-such-backup"),
            "{e:?}"
        );
        assert!(!e.cause.contains("was restored"), "{e:?}");
    }
}
