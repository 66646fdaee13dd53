//! Apache: the modules, `a2ensite`, `apache2ctl configtest`.

use std::path::{Path, PathBuf};

use super::super::{Check, Ctx, PhaseError, PhaseId};
use crate::host::Cmd;
use crate::plan::APACHE_SITE;

pub const UNIT: &str = "apache2.service";

fn module_enabled(ctx: &Ctx, m: &str) -> bool {
    ctx.host
        .path(Path::new(&format!("/etc/apache2/mods-enabled/{m}.load")))
        .exists()
}

pub fn site_link() -> PathBuf {
    PathBuf::from(format!("/etc/apache2/sites-enabled/{APACHE_SITE}.conf"))
}

pub fn module_checks(ctx: &Ctx, phase: PhaseId) -> Vec<Check> {
    ctx.plan
        .apache_modules
        .iter()
        .map(|m| {
            let on = module_enabled(ctx, m);
            Check::when(
                phase,
                on,
                format!("apache module {m}"),
                if on { "enabled" } else { "disabled" },
            )
            .with_fix(format!("a2enmod {m}"))
        })
        .collect()
}

/// Enables the modules that are off; returns whether Apache needs a reload.
pub fn enable_modules(ctx: &mut Ctx, phase: PhaseId) -> Result<bool, PhaseError> {
    let missing: Vec<&str> = ctx
        .plan
        .apache_modules
        .iter()
        .copied()
        .filter(|m| !module_enabled(ctx, m))
        .collect();
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
    if missing.is_empty() {
        return Ok(false);
    }
    ctx.step(
        phase,
        format!("enabling Apache modules {}", missing.join(" ")),
    );
    let mut cmd = Cmd::new("a2enmod", &["-q"]);
    for m in &missing {
        cmd = cmd.arg(*m);
    }
    ctx.host.run(&cmd)?;
    Ok(true)
}

pub fn enable_site(ctx: &mut Ctx, phase: PhaseId) -> Result<(), PhaseError> {
    ctx.claim("apache_site", APACHE_SITE)?;
    ctx.step(phase, format!("enabling site {APACHE_SITE}"));
    ctx.host.run(&Cmd::new("a2ensite", &["-q", APACHE_SITE]))?;
    Ok(())
}

pub fn disable_site(ctx: &Ctx) {
    let _ = ctx.host.run(&Cmd::new("a2dissite", &["-q", APACHE_SITE]));
}

pub fn configtest(ctx: &Ctx) -> Result<(bool, String), PhaseError> {
    let out = ctx.host.probe(&Cmd::new("apache2ctl", &["configtest"]))?;
    Ok((
        out.success(),
        format!("{}{}", out.stdout, out.stderr).trim().to_owned(),
    ))
}
