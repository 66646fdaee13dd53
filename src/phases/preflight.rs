//! Is this box fit for the install? Root, OS, architecture, memory, disk, ports,
//! systemd, the dpkg lock. Nothing here changes the box.

use std::path::Path;

use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::answers::DbEngine;
use crate::probes::{ports, system};

const GIB: u64 = 1024 * 1024 * 1024;
const P: PhaseId = PhaseId::Preflight;

pub struct Preflight;

impl Phase for Preflight {
    fn id(&self) -> PhaseId {
        P
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let host = ctx.host;
        let mut checks = Vec::new();

        let uid = rustix::process::geteuid();
        checks.push(
            Check::when(
                P,
                uid.is_root(),
                "running as root",
                format!("effective uid {}", uid.as_raw()),
            )
            .with_fix("run it as root: sudo mattermost-setup ..."),
        );

        let os_text = host.read(Path::new("/etc/os-release"))?.unwrap_or_default();
        checks.push(os_check(
            &system::os_release(&String::from_utf8_lossy(&os_text)),
            ctx,
        ));

        let arch = std::env::consts::ARCH;
        checks.push(
            Check::when(
                P,
                matches!(arch, "x86_64" | "aarch64"),
                "architecture",
                arch,
            )
            .with_fix("Mattermost publishes tarballs for x86_64 (amd64) and aarch64 (arm64) only"),
        );

        let meminfo = host.read(Path::new("/proc/meminfo"))?.unwrap_or_default();
        checks.push(
            match system::mem_total(&String::from_utf8_lossy(&meminfo)) {
                Some(m) if m < GIB => Check::fail(P, "memory", system::human_bytes(m)).with_fix(
                    "Mattermost needs at least 1 GiB of RAM (2 GiB for up to 1,000 users)",
                ),
                Some(m) if m < 2 * GIB - 64 * 1024 * 1024 => Check::warn(
                    P,
                    "memory",
                    format!("{}: below the recommended 2 GiB", system::human_bytes(m)),
                ),
                Some(m) => Check::ok(P, "memory", system::human_bytes(m)),
                None => Check::warn(P, "memory", "unknown (no MemTotal in /proc/meminfo)"),
            },
        );

        checks.extend(role_checks(ctx));
        if !ctx.answers.runs_mattermost() {
            let proxy = ctx.answers.runs_proxy();
            checks.extend(proxy_ports(ctx).into_iter().filter(|_| proxy));
            checks.push(dpkg_lock_check(ctx));
            return Ok(checks);
        }

        // Directories the tool did not create are never taken over (chowned), unless
        // they are empty or an adopted Mattermost installation.
        for v in super::mattermost::dirs::judge(host, &ctx.own, ctx.answers) {
            let name = format!("{} {}", v.key, v.path.display());
            checks.push(match &v.take {
                Ok(_) => Check::ok(P, name, v.detail()),
                Err((problem, fix)) => Check::fail(P, name, problem.clone()).with_fix(fix.clone()),
            });
        }

        for (what, dir) in [
            ("install directory", &ctx.answers.install_dir),
            ("data directory", &ctx.answers.data_dir),
        ] {
            checks.push(match system::free_bytes(&host.path(dir)) {
                Some((_, free)) if free < 2 * GIB => Check::fail(
                    P,
                    format!("free disk for the {what}"),
                    format!("{} free for {}", system::human_bytes(free), dir.display()),
                )
                .with_fix(
                    "free at least 2 GiB (the tarball unpacks to ~1.5 GiB); 10 GiB recommended",
                ),
                Some((_, free)) if free < 10 * GIB => Check::warn(
                    P,
                    format!("free disk for the {what}"),
                    format!(
                        "{} free for {}: below the recommended 10 GiB",
                        system::human_bytes(free),
                        dir.display()
                    ),
                ),
                Some((_, free)) => Check::ok(
                    P,
                    format!("free disk for the {what}"),
                    format!("{} free for {}", system::human_bytes(free), dir.display()),
                ),
                None => Check::warn(P, format!("free disk for the {what}"), "unknown"),
            });
        }

        if ctx.answers.runs_proxy() {
            checks.extend(proxy_ports(ctx));
        }
        checks.push(port_check(
            host.path(Path::new("/proc")).as_path(),
            8065,
            &["mattermost"],
            "Mattermost itself",
        ));

        let systemd = host.path(Path::new("/run/systemd/system")).is_dir();
        checks.push(
            Check::when(P, systemd, "systemd is the init system", if systemd { "yes" } else { "no /run/systemd/system" })
                .with_fix("run the installer on a systemd-booted server (not in a plain chroot or a Docker container)"),
        );

        checks.push(dpkg_lock_check(ctx));
        Ok(checks)
    }

    fn apply(&self, _ctx: &mut Ctx) -> Result<(), PhaseError> {
        Ok(())
    }
}

/// Ports 80 (and 443 with TLS) free for the proxy, and a usable existing certificate.
fn proxy_ports(ctx: &Ctx) -> Vec<Check> {
    let (proxy_cmds, proxy_name): (&[&str], &str) = match ctx.answers.proxy {
        crate::answers::Proxy::Apache => (&["apache2", "httpd"], "the Apache proxy"),
        crate::answers::Proxy::Nginx => (&["nginx"], "the nginx proxy"),
    };
    let tls = ctx.answers.tls != crate::answers::Tls::None;
    let mut checks: Vec<Check> = [80, 443]
        .into_iter()
        .filter(|p| *p == 80 || tls)
        .map(|port| {
            port_check(
                ctx.host.path(Path::new("/proc")).as_path(),
                port,
                proxy_cmds,
                proxy_name,
            )
        })
        .collect();
    // A bad existing certificate is refused before anything changes.
    checks.extend(super::tls::preflight_checks(ctx));
    checks
}

/// Several machines: which one this is, and (app, or a managed database) the
/// database server reached over TLS as sslmode says, before anything changes.
fn role_checks(ctx: &Ctx) -> Vec<Check> {
    let a = ctx.answers;
    let mut checks = Vec::new();
    if let Some(m) = a.this_machine() {
        checks.push(Check::ok(
            P,
            "this machine",
            format!("{} ({}, {})", m.name, m.role.name(), m.address),
        ));
    }
    if let Some(path) = a.license_file.as_ref().filter(|_| a.runs_mattermost()) {
        // Read before anything changes: the Mattermost phase copies it.
        checks.push(match ctx.host.read(path) {
            Ok(Some(l)) if !l.is_empty() => Check::ok(
                P,
                "license file",
                format!("{} ({} bytes)", path.display(), l.len()),
            ),
            Ok(_) => Check::fail(
                P,
                "license file",
                format!("{} is missing or empty", path.display()),
            )
            .with_fix(if a.machines.is_empty() {
                "give in license_file the Enterprise license (.mattermost-license) on this server, or leave license_file out".to_owned()
            } else {
                format!(
                    "copy the Enterprise license to {} on this machine (every app machine needs it)",
                    path.display()
                )
            }),
            Err(e) => Check::fail(P, "license file", e.to_string()),
        });
    }
    let Some(r) = a.remote_db() else {
        return checks;
    };
    let name = format!(
        "database server {}:{} over TLS ({})",
        r.host,
        r.port,
        r.sslmode.name()
    );
    let ca = match &r.ca_file {
        Some(path) => match ctx.host.read(path) {
            Ok(Some(pem)) => Some(pem),
            _ => {
                checks.push(
                    Check::fail(P, name, format!("{} is missing", path.display())).with_fix(
                        if a.db_host.is_some() {
                            "give in db_ca_file the CA certificate (PEM) of the database server".to_owned()
                        } else {
                            format!(
                                "copy {} from the database machine to {} (it is made there by the installer's first run)",
                                crate::answers::topology::DB_CA_FILE,
                                path.display()
                            )
                        },
                    ),
                );
                return checks;
            }
        },
        None => None,
    };
    let verify = match r.sslmode {
        crate::vocab::SslMode::VerifyFull => crate::host::pgtls::Verify::Full,
        crate::vocab::SslMode::VerifyCa => crate::host::pgtls::Verify::Chain,
        // lib/pq checks the chain in require mode too when a CA file is given.
        _ if ca.is_some() => crate::host::pgtls::Verify::Chain,
        _ => crate::host::pgtls::Verify::Nothing,
    };
    checks.push(
        match crate::host::pgtls::handshake(&r.host, r.port, ca.as_deref(), verify) {
            Ok(version) => Check::ok(P, name, format!("{version}, certificate checked")),
            Err(e) => Check::fail(P, name, e.to_string()).with_fix(if a.db_host.is_some() {
                "check db_host, db_port and that the server has TLS on; a certificate error names what db_ca_file does not vouch for"
            } else {
                "run the installer on the database machine first; then check that this machine's address is listed as an app machine there"
            }),
        },
    );
    checks
}

fn os_check(os: &std::collections::HashMap<String, String>, ctx: &Ctx) -> Check {
    let id = os.get("ID").map_or("unknown", String::as_str);
    let ver = os.get("VERSION_ID").map_or("", String::as_str);
    let like = os.get("ID_LIKE").map_or("", String::as_str);
    let pretty = os
        .get("PRETTY_NAME")
        .cloned()
        .unwrap_or_else(|| format!("{id} {ver}"));
    let version = ctx.plan.release.version;
    // The distribution's PostgreSQL major version.
    let pg = match (id, ver) {
        ("debian", "11") => Some(13),
        ("debian", "12") => Some(15),
        ("debian", "13") => Some(17),
        ("ubuntu", "20.04") => Some(12),
        ("ubuntu", "22.04") => Some(14),
        ("ubuntu", "24.04") => Some(16),
        _ => None,
    };
    if id != "debian" && id != "ubuntu" && !like.contains("debian") {
        return Check::fail(P, "operating system", pretty)
            .with_fix("use Debian 12 or 13, or Ubuntu 22.04 or 24.04");
    }
    match pg {
        Some(pg) if ctx.answers.db_engine == DbEngine::Postgresql && pg < version.min_postgresql() => Check::fail(
            P,
            "operating system",
            format!("{pretty} ships PostgreSQL {pg}; Mattermost {version} needs PostgreSQL {} or newer", version.min_postgresql()),
        )
        .with_fix("use Debian 12+ or Ubuntu 22.04+, or install Mattermost 10.11 (version \"10.11.23\")"),
        Some(_) => Check::ok(P, "operating system", pretty),
        None => Check::warn(P, "operating system", format!("{pretty}: not a tested release; continuing")),
    }
}

fn port_check(proc_root: &Path, port: u16, ours: &[&str], meant_for: &str) -> Check {
    let found = ports::listeners(proc_root, port);
    let name = format!("port {port}");
    if found.is_empty() {
        return Check::ok(P, name, "free");
    }
    let who: Vec<String> = found
        .iter()
        .map(|l| format!("{} (pid {})", l.command, l.pid))
        .collect();
    if found.iter().all(|l| ours.contains(&l.command.as_str())) {
        Check::ok(P, name, format!("used by {} ({meant_for})", who.join(", ")))
    } else {
        Check::fail(P, name, format!("used by {}", who.join(", ")))
            .with_fix(format!("port {port} is for {meant_for}: stop and disable the other program, or move it to another port"))
    }
}

fn dpkg_lock_check(ctx: &Ctx) -> Check {
    let name = "dpkg lock";
    match system::dpkg_lock_holder(&ctx.host.path(Path::new("/"))) {
        None => Check::ok(P, name, "free"),
        Some((pid, comm)) => Check::warn(
            P,
            name,
            format!("held by {comm} (pid {pid}); apt will wait for it up to 10 minutes"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Preflight's directory checks on a box laid out under a temp dir.
    fn dir_checks(root: &Path, answers: &str) -> Vec<Check> {
        let host = crate::host::Host::new(
            root.to_owned(),
            crate::host::RunLog::create(&root.join("log")),
            crate::events::discard(),
            Box::new(crate::host::SystemRunner),
        );
        let a = crate::answers::from_json(answers, None).unwrap();
        let plan = crate::plan::Plan::new(&a).unwrap();
        let ctx = Ctx::new(&host, &a, &plan);
        Preflight
            .probe(&ctx)
            .unwrap()
            .into_iter()
            .filter(|c| c.name.starts_with("install_dir ") || c.name.starts_with("data_dir "))
            .collect()
    }

    #[test]
    fn directories_of_the_operator_are_refused_before_anything_changes() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("srv/files/reports")).unwrap();
        std::fs::create_dir_all(t.path().join("opt/mattermost/bin")).unwrap();
        std::fs::write(t.path().join("opt/mattermost/bin/mattermost"), "").unwrap();
        let checks = dir_checks(
            t.path(),
            r#"{"domain": "chat.example.com", "data_dir": "/srv/files"}"#,
        );
        assert_eq!(checks.len(), 2, "{checks:?}");
        assert!(
            checks.iter().all(|c| c.level == crate::phases::Level::Fail),
            "{checks:?}"
        );
        assert!(
            checks[0].name == "install_dir /opt/mattermost",
            "{checks:?}"
        );
        assert!(checks[0].fix.as_deref().unwrap().contains("adopt_existing"));
        assert!(
            checks[1]
                .detail
                .contains("/srv/files is not empty (reports)"),
            "{checks:?}"
        );
        assert!(checks[1].fix.as_deref().unwrap().contains("data_dir"));
        // Absent directories pass.
        let checks = dir_checks(
            t.path(),
            r#"{"domain": "chat.example.com", "install_dir": "/opt/chat", "data_dir": "/srv/files/mm"}"#,
        );
        assert!(checks.iter().all(Check::passed), "{checks:?}");
    }
}
