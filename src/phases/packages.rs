//! apt: install what the answers need and nothing else; skip apt entirely when all
//! of it is already there, and skip `apt-get update` when the package lists were
//! refreshed a moment ago (by the operator, or by an earlier run that stopped later):
//! should the install then fail, the lists are refreshed and the install tried again.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::events::Event;
use crate::host::Cmd;

const P: PhaseId = PhaseId::Packages;
/// How long apt, and the wait before it, give another package run to release the lock.
const LOCK_WAIT_S: u64 = 600;
/// Where apt keeps the package lists.
const LISTS_DIR: &str = "/var/lib/apt/lists";
/// Lists refreshed less than this long ago are used as they are (the Debian archive
/// is published four times a day; security updates a little more often).
pub const FRESH_LISTS: Duration = Duration::from_secs(30 * 60);

/// How long ago `apt-get update` last completed, judged by the release files of the
/// package lists in `lists` (apt moves a verified `InRelease`/`Release` into place on
/// every successful update, even an unchanged one, so its change time is that of the
/// update): the age of the oldest one. `None` when there is none, or a time is in
/// the future.
pub fn lists_age(lists: &Path, now: SystemTime) -> Option<Duration> {
    let now = now.duration_since(UNIX_EPOCH).ok()?;
    let mut oldest: Option<Duration> = None;
    for entry in std::fs::read_dir(lists).ok()?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.ends_with("_InRelease") || name.ends_with("_Release")) {
            continue;
        }
        let meta = entry.metadata().ok()?;
        let ctime = Duration::new(
            u64::try_from(meta.ctime()).ok()?,
            u32::try_from(meta.ctime_nsec()).ok()?,
        );
        let age = now.checked_sub(ctime)?;
        oldest = Some(oldest.map_or(age, |o| o.max(age)));
    }
    oldest
}

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
        let age = lists_age(&ctx.host.path(Path::new(LISTS_DIR)), SystemTime::now())
            .filter(|age| *age < FRESH_LISTS);
        if let Some(age) = age {
            ctx.step(
                P,
                format!(
                    "the package lists were refreshed {} s ago: no apt-get update",
                    age.as_secs()
                ),
            );
        } else {
            ctx.step(P, "refreshing the package lists (apt-get update)");
            ctx.host
                .run_streaming(&apt(&["update"]), &mut |l| progress("apt-get update", l))?;
        }
        // The tarball download runs alongside; one that has already failed (a 404, a
        // refused connection) stops the run here, before any package is installed.
        if ctx
            .tarball
            .as_ref()
            .is_some_and(std::thread::ScopedJoinHandle::is_finished)
        {
            ctx.collect_fetch(false).map_err(|e| PhaseError {
                cause: format!("{}\nNo package was installed (apt-get update only refreshed the package lists), and nothing else was started.", e.cause),
                ..e
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
        let mut installed = ctx
            .host
            .run_streaming(&apt(&args), &mut |l| progress("apt-get install", l));
        if matches!(installed, Err(crate::host::HostError::CommandFailed { .. })) && age.is_some() {
            // The lists were used without a refresh: a package moved on the mirror
            // (404) or is missing from them. Refresh, then try once more.
            ctx.step(
                P,
                "apt-get install failed with the lists as they were: refreshing them (apt-get update) and trying again",
            );
            ctx.host
                .run_streaming(&apt(&["update"]), &mut |l| progress("apt-get update", l))?;
            installed = ctx
                .host
                .run_streaming(&apt(&args), &mut |l| progress("apt-get install", l));
        }
        installed.map_err(|e| {
            PhaseError::from(e).fix("read the apt output in the log; `apt-get -f install` repairs a half-configured dpkg")
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists_with(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for n in names {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        dir
    }

    #[test]
    fn lists_just_refreshed_are_fresh() {
        let d = lists_with(&[
            "deb.debian.org_debian_dists_bookworm_InRelease",
            "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
            "example.org_repo_dists_stable_Release",
            "lock",
        ]);
        let age = lists_age(d.path(), SystemTime::now()).expect("an age");
        assert!(age < FRESH_LISTS, "{age:?}");
    }

    #[test]
    fn the_oldest_release_file_is_the_age_of_the_lists() {
        let d = lists_with(&["a_InRelease", "b_Release"]);
        // Seen two hours later, the same lists are stale: apt-get update runs.
        let later = SystemTime::now() + Duration::from_secs(2 * 3600);
        let age = lists_age(d.path(), later).expect("an age");
        assert!(
            age >= Duration::from_secs(2 * 3600) - Duration::from_secs(60),
            "{age:?}"
        );
        assert!(age >= FRESH_LISTS);
    }

    #[test]
    fn no_lists_or_no_release_file_is_never_fresh() {
        let d = lists_with(&[
            "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
            "lock",
        ]);
        assert_eq!(lists_age(d.path(), SystemTime::now()), None);
        assert_eq!(
            lists_age(&d.path().join("missing"), SystemTime::now()),
            None
        );
        // A clock behind the files (changed since the update) is not trusted either.
        let d = lists_with(&["a_InRelease"]);
        let earlier = SystemTime::now() - Duration::from_secs(3600);
        assert_eq!(lists_age(d.path(), earlier), None);
    }
}
