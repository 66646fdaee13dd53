//! Apache: the modules the site needs (and only those), `a2ensite`,
//! `apache2ctl configtest`; disabling again the modules the tool enabled once no
//! site needs them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::super::{Check, Ctx, PhaseError, PhaseId};
use crate::host::{Cmd, Host};
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

pub fn module_checks(ctx: &Ctx, phase: PhaseId, needed: &[&str]) -> Vec<Check> {
    needed
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

/// Enables the modules that are off, recording them as the tool's own
/// (ownership.json, kind "apache_module"); returns whether Apache needs a reload.
pub fn enable_modules(ctx: &mut Ctx, phase: PhaseId, needed: &[&str]) -> Result<bool, PhaseError> {
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|m| !module_enabled(ctx, m))
        .collect();
    for m in needed.iter().filter(|m| !missing.contains(m)) {
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

/// Disables the site; why not, when it could not be.
pub fn disable_site(ctx: &Ctx) -> Result<(), String> {
    ctx.host
        .run(&Cmd::new("a2dissite", &["-q", APACHE_SITE]))
        .map(|_| ())
        .map_err(|e| format!("a2dissite {APACHE_SITE} failed: {e}"))
}

pub fn configtest(ctx: &Ctx) -> Result<(bool, String), PhaseError> {
    let out = ctx.host.probe(&Cmd::new("apache2ctl", &["configtest"]))?;
    Ok((
        out.success(),
        format!("{}{}", out.stdout, out.stderr).trim().to_owned(),
    ))
}

/// Directives (first word of a line, lower case) that need a module, and text in
/// such a line that needs one of the proxy's scheme modules.
fn uses(module: &str, first: &str, line: &str) -> bool {
    const PROXY: [&str; 12] = [
        "proxypass",
        "proxypassmatch",
        "proxypassreverse",
        "proxypassreversecookiedomain",
        "proxypreservehost",
        "proxyrequests",
        "proxytimeout",
        "proxyset",
        "balancermember",
        "<proxy",
        "<proxymatch",
        "proxyremote",
    ];
    let proxied = PROXY.contains(&first) || (first == "rewriterule" && line.contains("://"));
    match module {
        "ssl" => first.starts_with("ssl"),
        "rewrite" => first.starts_with("rewrite"),
        "headers" => first == "header" || first == "requestheader",
        "expires" => first.starts_with("expires"),
        "http2" => first.starts_with("h2") || (first == "protocols" && line.contains("h2")),
        "proxy" => proxied,
        "proxy_http" => proxied && (line.contains("http://") || line.contains("https://")),
        "proxy_wstunnel" => {
            proxied
                && (line.contains("ws://")
                    || line.contains("wss://")
                    || line.contains("upgrade=websocket"))
        }
        _ => true,
    }
}

/// Whether a configuration file's text uses `module` (comments ignored).
pub fn config_uses(module: &str, text: &str) -> bool {
    const KNOWN: [&str; 8] = [
        "ssl",
        "rewrite",
        "headers",
        "expires",
        "http2",
        "proxy",
        "proxy_http",
        "proxy_wstunnel",
    ];
    if !KNOWN.contains(&module) {
        // Unknown to this table: assume it is used (keeping a module is safe).
        return true;
    }
    text.lines().any(|l| {
        let l = l.trim().to_ascii_lowercase();
        let first = l.split_whitespace().next().unwrap_or("");
        !first.starts_with('#') && !first.is_empty() && uses(module, first, &l)
    })
}

/// Modules that need another one enabled (a2dismod refuses to disable the latter).
const DEPENDS_ON: [(&str, &str); 2] = [("proxy_http", "proxy"), ("proxy_wstunnel", "proxy")];

/// What [`disable_unused`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ModuleReport {
    pub disabled: Vec<String>,
    /// Module and why it stays enabled.
    pub kept: Vec<(String, String)>,
}

/// Disables the modules the tool enabled (`created`) that are not `needed` by our
/// site and that no other enabled site or configuration uses (sites-enabled and
/// conf-enabled are read; our own site's link is skipped). `apache2ctl configtest`
/// must still pass afterwards, else they are enabled again and kept.
pub fn disable_unused(
    host: &Host,
    created: &BTreeSet<String>,
    needed: &[&str],
) -> Result<ModuleReport, PhaseError> {
    let mut report = ModuleReport::default();
    let ours = site_link();
    let mut others = String::new();
    for dir in ["/etc/apache2/sites-enabled", "/etc/apache2/conf-enabled"] {
        let Ok(entries) = std::fs::read_dir(host.path(Path::new(dir))) else {
            continue;
        };
        for e in entries.flatten() {
            let shown = Path::new(dir).join(e.file_name());
            if shown == ours {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(e.path()) {
                others.push_str(&text);
                others.push('\n');
            }
        }
    }
    let enabled = |m: &str| {
        host.path(Path::new(&format!("/etc/apache2/mods-enabled/{m}.load")))
            .exists()
    };
    let mut candidates: Vec<&str> = Vec::new();
    for m in created.iter().map(String::as_str) {
        if !enabled(m) || needed.contains(&m) {
            continue;
        }
        if config_uses(m, &others) {
            report
                .kept
                .push((m.to_owned(), "another site or configuration uses it".into()));
        } else {
            candidates.push(m);
        }
    }
    // A module another enabled module depends on stays (a2dismod would refuse).
    let planned = candidates.clone();
    candidates.retain(|m| {
        let needed_by = DEPENDS_ON
            .iter()
            .find(|(dep, on)| on == m && enabled(dep) && !planned.contains(dep));
        match needed_by {
            Some((dep, _)) => {
                report
                    .kept
                    .push(((*m).to_owned(), format!("{dep} is enabled and needs it")));
                false
            }
            None => true,
        }
    });
    // Dependents first.
    candidates.sort_by_key(|m| DEPENDS_ON.iter().any(|(_, on)| on == m));
    let mut off = Vec::new();
    for m in &candidates {
        let out = host.probe(&Cmd::new("a2dismod", &["-q", m]))?;
        if out.success() {
            host.note(&format!("[proxy] a2dismod {m}"));
            off.push(*m);
        } else {
            report.kept.push((
                (*m).to_owned(),
                format!("a2dismod refused: {}", out.stderr.trim()),
            ));
        }
    }
    if !off.is_empty() {
        let test = host.probe(&Cmd::new("apache2ctl", &["configtest"]))?;
        if !test.success() {
            let mut cmd = Cmd::new("a2enmod", &["-q"]);
            for m in &off {
                cmd = cmd.arg(*m);
            }
            host.run(&cmd)?;
            for m in off.drain(..) {
                report.kept.push((
                    m.to_owned(),
                    "apache2ctl configtest failed without it".into(),
                ));
            }
        }
    }
    report.disabled = off.into_iter().map(str::to_owned).collect();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_configuration_uses_which_module() {
        let other = "<VirtualHost *:443>\n  # SSLEngine on is commented\n  ServerName o\n  Header set X-A b\n  ProxyPass /app http://127.0.0.1:9000/\n</VirtualHost>\n";
        assert!(!config_uses("ssl", other), "comments do not count");
        assert!(config_uses("headers", other));
        assert!(config_uses("proxy", other));
        assert!(config_uses("proxy_http", other));
        assert!(!config_uses("proxy_wstunnel", other));
        assert!(!config_uses("rewrite", other));
        assert!(config_uses("ssl", "  SSLEngine on\n"));
        assert!(config_uses(
            "proxy_wstunnel",
            "RewriteRule ^/ws ws://h/ [P]\n"
        ));
        assert!(config_uses("http2", "Protocols h2 http/1.1\n"));
        assert!(!config_uses("http2", "Protocols http/1.1\n"));
        assert!(config_uses("mystery", ""), "unknown modules are kept");
    }
}
