//! apt: install what the answers need and nothing else; skip apt entirely when all
//! of it is already there.

use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::events::Event;
use crate::host::Cmd;

const P: PhaseId = PhaseId::Packages;
/// How long apt, and the wait before it, give another package run to release the lock.
const LOCK_WAIT_S: u64 = 600;

pub struct Packages;

/// Packages of `wanted` that dpkg does not have fully installed.
pub fn missing(ctx: &Ctx) -> Result<Vec<&'static str>, PhaseError> {
    let wanted = &ctx.plan.packages;
    let mut cmd = Cmd::new(
        "dpkg-query",
        &["-W", "-f", "${Package} ${db:Status-Abbrev}\\n"],
    );
    for p in wanted {
        cmd = cmd.arg(*p);
    }
    // Exit code 1 only says that some package is unknown; the output still lists the rest.
    let out = ctx.host.probe(&cmd)?;
    let installed: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, status)| status.trim_end().starts_with("ii"))
        .map(|(name, _)| name.split(':').next().unwrap_or(name))
        .collect();
    Ok(wanted
        .iter()
        .copied()
        .filter(|p| !installed.contains(p))
        .collect())
}

impl Phase for Packages {
    fn id(&self) -> PhaseId {
        P
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let missing = missing(ctx)?;
        Ok(ctx
            .plan
            .packages
            .iter()
            .map(|p| {
                if missing.contains(p) {
                    Check::fail(P, format!("package {p}"), "not installed")
                        .with_fix(format!("apt-get install {p}"))
                } else {
                    Check::ok(P, format!("package {p}"), "installed")
                }
            })
            .collect())
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        let missing = missing(ctx)?;
        for p in ctx.plan.packages.iter().filter(|p| !missing.contains(p)) {
            ctx.own.found("package", p);
        }
        if missing.is_empty() {
            return Ok(());
        }
        // An apt that outlived a killed installer (or unattended-upgrades) holds the
        // lock: wait for it on one updating line, cancellable within a second.
        let started = std::time::Instant::now();
        let root = ctx.host.path(std::path::Path::new("/"));
        let mut announced = false;
        while let Some((pid, comm)) = crate::probes::system::dpkg_lock_holder(&root) {
            let waited = started.elapsed().as_secs();
            if waited >= LOCK_WAIT_S || ctx.cancel.is_cancelled() {
                return Err(PhaseError::new(format!(
                    "the dpkg lock is still held by {comm} (pid {pid}) after {waited} s"
                ))
                .fix("wait for that package run to finish (or stop it), then run again"));
            }
            if !announced {
                ctx.step(
                    P,
                    format!(
                        "{comm} (pid {pid}) holds the dpkg lock: waiting up to {LOCK_WAIT_S} s"
                    ),
                );
                announced = true;
            }
            // One line that the dashboard updates in place (no count: done is 0).
            (ctx.host.events())(Event::Progress {
                phase: P,
                label: format!(
                    "dpkg lock: held by {comm} (pid {pid}) for {waited} s; waiting up to {LOCK_WAIT_S} s"
                ),
                done: 0,
                total: None,
            });
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        // An apt/dpkg run that was killed leaves dpkg "interrupted"; finish it first.
        let pending =
            std::fs::read_dir(ctx.host.path(std::path::Path::new("/var/lib/dpkg/updates")))
                .is_ok_and(|mut d| d.next().is_some());
        if pending {
            ctx.step(P, "finishing an interrupted dpkg run (dpkg --configure -a)");
            ctx.host.run(
                &Cmd::new(
                    "dpkg",
                    &["--configure", "-a", "--force-confdef", "--force-confold"],
                )
                .env("DEBIAN_FRONTEND", "noninteractive")
                .timeout(crate::host::PACKAGE_TIMEOUT),
            )?;
        }
        let apt = |args: &[&str]| {
            let mut c = Cmd::new(
                "apt-get",
                &[
                    "-q",
                    "-y",
                    "-o",
                    &format!("DPkg::Lock::Timeout={LOCK_WAIT_S}"),
                ],
            );
            for a in args {
                c = c.arg(*a);
            }
            c.env("DEBIAN_FRONTEND", "noninteractive")
                .env("APT_LISTCHANGES_FRONTEND", "none")
                .timeout(crate::host::PACKAGE_TIMEOUT)
        };
        let events = ctx.host.events().clone();
        let mut lines = 0u64;
        let mut progress = |label: &str, line: &str| {
            lines += 1;
            events(Event::Progress {
                phase: P,
                label: format!("{label}: {}", line.chars().take(60).collect::<String>()),
                done: lines,
                total: None,
            });
        };
        ctx.step(P, "refreshing the package lists (apt-get update)");
        ctx.host
            .run_streaming(&apt(&["update"]), &mut |l| progress("apt-get update", l))?;
        // The tarball download runs alongside; one that has already failed (a 404, a
        // refused connection) stops the run here, before any package is installed.
        if ctx
            .tarball
            .as_ref()
            .is_some_and(std::thread::ScopedJoinHandle::is_finished)
        {
            ctx.collect_fetch(false).map_err(|e| PhaseError {
                cause: format!("{}\nNo package was installed (apt-get update only refreshed the package lists), and nothing else was started.", e.cause),
                fix: e.fix,
            })?;
        }
        for p in &missing {
            ctx.claim("package", p)?;
        }
        ctx.step(P, format!("installing {}", missing.join(" ")));
        let mut args = vec![
            "install",
            "--no-install-recommends",
            "-o",
            "Dpkg::Options::=--force-confdef",
            "-o",
            "Dpkg::Options::=--force-confold",
        ];
        args.extend(missing.iter().copied());
        ctx.host
            .run_streaming(&apt(&args), &mut |l| progress("apt-get install", l))
            .map_err(|e| {
                PhaseError::from(e).fix("read the apt output in the log; `apt-get -f install` repairs a half-configured dpkg")
            })?;
        Ok(())
    }
}
