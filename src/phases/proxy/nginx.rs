//! nginx: a site in sites-available linked from sites-enabled (Debian's layout),
//! `nginx -t`. Other sites and whichever server is `default_server` stay as they are.

use std::path::PathBuf;

use super::super::{Ctx, PhaseError, PhaseId};
use crate::host::Cmd;
use crate::plan::{NGINX_SITE, nginx_site_path};

pub const UNIT: &str = "nginx.service";

pub fn site_link() -> PathBuf {
    PathBuf::from(format!("/etc/nginx/sites-enabled/{NGINX_SITE}"))
}

/// Links the site into sites-enabled (what `a2ensite` is for Apache).
pub fn enable_site(ctx: &mut Ctx, phase: PhaseId) -> Result<(), PhaseError> {
    ctx.claim("nginx_site", NGINX_SITE)?;
    ctx.step(phase, format!("enabling site {NGINX_SITE}"));
    let link = site_link();
    if let Some(dir) = link.parent() {
        ctx.host.create_dir_all(dir).map_err(|e| {
            PhaseError::new(format!(
                "cannot create {}: {e}",
                ctx.host.path(dir).display()
            ))
        })?;
    }
    ctx.host
        .symlink(&nginx_site_path(), &link)
        .map_err(|e| PhaseError::new(format!("cannot link {}: {e}", link.display())))?;
    ctx.host.note(&format!(
        "link {} -> {}",
        link.display(),
        nginx_site_path().display()
    ));
    Ok(())
}

/// Removes the site's link; why not, when it could not be.
pub fn disable_site(ctx: &Ctx) -> Result<(), String> {
    let link = site_link();
    match ctx.host.remove_file(&link) {
        Ok(()) => {
            ctx.host.note(&format!("link {} removed", link.display()));
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", link.display())),
    }
}

pub fn configtest(ctx: &Ctx) -> Result<(bool, String), PhaseError> {
    let out = ctx.host.probe(&Cmd::new("nginx", &["-t", "-q"]))?;
    let text = format!("{}{}", out.stdout, out.stderr).trim().to_owned();
    Ok((
        out.success(),
        if text.is_empty() && out.success() {
            "syntax is ok, test is successful".to_owned()
        } else {
            text
        },
    ))
}
