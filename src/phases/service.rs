//! The systemd unit: written when it differs, daemon-reload only then, enabled,
//! started (or restarted when the release or config changed), and the gate is
//! Mattermost answering /api/v4/system/ping.
//!
//! The unit is `Type=notify` with `TimeoutStartSec=3600` (first starts run the
//! database migrations), so a plain `systemctl start` can block for an hour. Starts and
//! restarts are therefore queued with `--no-block`, and one loop watches the unit's
//! state and the ping under one deadline the operator sees, stops within a second when
//! asked to, and stops at once when the unit crashes, with the journal's last lines.

use std::time::{Duration, Instant, SystemTime};

use super::database::unit_checks;
use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::host::{Cmd, FileSpec, Host, HostError};
use crate::plan::{SERVICE, UNIT_PATH};
use crate::probes::http;
use crate::vocab::Cancel;

const P: PhaseId = PhaseId::Service;
pub const UNIT: &str = "mattermost.service";
/// How long a (re)started server may take until it answers ping. Real first starts
/// and upgrades run the database migrations, which take a while on small boxes; past
/// this the unit keeps starting in the background and the next run picks it up.
pub const START_WAIT: Duration = Duration::from_secs(20 * 60);
/// How often the unit state and the ping are looked at (and the stop request).
const POLL: Duration = Duration::from_millis(250);
/// A status line at least this often while waiting, and on every state change.
const REPORT_EVERY: Duration = Duration::from_secs(10);
/// The journal lines shown when the unit does not come up.
const JOURNAL_LINES: &str = "20";
pub struct Service;

fn unit_spec(ctx: &Ctx) -> Result<FileSpec, PhaseError> {
    ctx.planned(UNIT_PATH)
}

/// Ping straight at Mattermost.
pub fn ping_check(ctx: &Ctx, phase: PhaseId) -> Check {
    let at = crate::plan::listen_addr(ctx.answers);
    match http::get(at, &ctx.answers.domain, "/api/v4/system/ping") {
        Ok(r) if r.status == 200 && r.body.contains("\"OK\"") => Check::ok(
            phase,
            format!("Mattermost answers on {at}"),
            format!(
                "ping 200 {}, version {}",
                r.body.trim(),
                r.header("X-Version-ID").unwrap_or("?")
            ),
        ),
        Ok(r) => Check::fail(
            phase,
            format!("Mattermost answers on {at}"),
            format!("ping {}: {}", r.status, r.body.trim()),
        ),
        Err(e) => Check::fail(phase, format!("Mattermost answers on {at}"), e.to_string()),
    }
}

/// The command whose output explains a unit that does not come up.
pub fn journal_command() -> Cmd {
    Cmd::new(
        "journalctl",
        &["-u", UNIT, "-n", JOURNAL_LINES, "--no-pager"],
    )
}

/// Why the service is not up: the unit's last journal lines (redacted), under the
/// command that shows them, for the failure card's fix text.
pub fn journal_tail(host: &Host) -> String {
    let cmd = journal_command();
    let shown = cmd.display();
    let journal = host
        .probe(&cmd)
        .map_or_else(|e| e.to_string(), |o| o.stdout);
    let journal = journal.trim();
    host.redact(&format!(
        "`{shown}` says:\n{}",
        if journal.is_empty() {
            "(no entries)"
        } else {
            journal
        }
    ))
}

/// The unit as `systemctl show` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitState {
    pub active: String,
    pub sub: String,
    pub result: String,
    /// Changes with every start: tells a restarted unit from the one before.
    pub invocation: String,
}

impl UnitState {
    fn parse(text: &str) -> Self {
        let mut s = Self::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim().to_owned();
            match k.trim() {
                "ActiveState" => s.active = v,
                "SubState" => s.sub = v,
                "Result" => s.result = v,
                "InvocationID" => s.invocation = v,
                _ => {}
            }
        }
        s
    }

    fn words(&self) -> String {
        format!("{} ({})", self.active, self.sub)
    }
}

pub fn unit_state(host: &Host) -> Result<UnitState, HostError> {
    let out = host.probe(&Cmd::new(
        "systemctl",
        &[
            "show",
            "-p",
            "ActiveState,SubState,Result,InvocationID",
            UNIT,
        ],
    ))?;
    Ok(UnitState::parse(&out.stdout))
}

/// Where a start stands, judged from the state before it was queued and now.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Starting,
    Active,
    Down(String),
}

/// A state the unit was already in before the start was queued says nothing about the
/// start (the job may not have begun): only a new run (a new invocation id) or a change
/// of state counts.
fn stage(before: &UnitState, now: &UnitState) -> Stage {
    let new_run = now.invocation != before.invocation && !now.invocation.is_empty();
    if now.active == "failed" && (new_run || before.active != "failed") {
        return Stage::Down(format!("the unit failed (result: {})", now.result));
    }
    if now.sub == "auto-restart" && (new_run || before.sub != "auto-restart") {
        return Stage::Down(format!(
            "Mattermost exited (result: {}); systemd restarts it every few seconds",
            now.result
        ));
    }
    if new_run && now.active == "inactive" {
        return Stage::Down("the unit stopped again".into());
    }
    // A restart needs the new run; a start only needs the unit up (a start that was
    // already under way when ours was queued merges with it).
    if now.active == "active" && (new_run || before.active != "active") {
        return Stage::Active;
    }
    Stage::Starting
}

/// Why a wait for Mattermost ended without it.
#[derive(Debug)]
pub enum WaitError {
    Cancelled,
    /// The unit crashed or failed; the reason in words.
    Down(String),
    /// The deadline passed; what was seen last.
    TimedOut {
        limit: Duration,
        last: String,
    },
    Host(HostError),
}

impl std::fmt::Display for WaitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cancelled => f.write_str("stopped by the operator"),
            Self::Down(why) => write!(f, "{SERVICE} did not start: {why}"),
            Self::TimedOut { limit, last } => write!(
                f,
                "Mattermost did not come up within {}: {last}",
                humantime::format_duration(*limit)
            ),
            Self::Host(e) => e.fmt(f),
        }
    }
}

impl WaitError {
    /// As a phase error, with the unit's journal in the fix text.
    pub fn into_phase_error(self, host: &Host) -> PhaseError {
        match self {
            Self::Cancelled => PhaseError::new(
                "stopped by the operator while waiting for Mattermost (a start already queued goes on in the background)",
            )
            .fix("run the same command again: it continues from here"),
            Self::Down(why) => PhaseError::new(format!("{SERVICE} did not start: {why}")).fix(
                format!(
                    "a wrong database password or an unwritable data directory are the usual causes; {}",
                    journal_tail(host)
                ),
            ),
            Self::TimedOut { limit, last } => PhaseError::new(format!(
                "Mattermost did not come up within {}: {last}",
                humantime::format_duration(limit)
            ))
            .fix(format!(
                "it may still be running its database migrations (systemd keeps starting it): run the same command again later; {}",
                journal_tail(host)
            )),
            Self::Host(e) => e.into(),
        }
    }
}

/// Waits until the unit runs (a new run of it, when `queued` holds the state from
/// before a start or restart was queued) and `ping` passes, under one deadline; says
/// where it stands through `report` on each change and every few seconds.
pub fn wait_up(
    queued: Option<&UnitState>,
    limit: Duration,
    cancel: &Cancel,
    state: &mut dyn FnMut() -> Result<UnitState, HostError>,
    ping: &mut dyn FnMut() -> Result<String, String>,
    report: &mut dyn FnMut(String),
) -> Result<String, WaitError> {
    let start = Instant::now();
    let until = humantime::format_rfc3339_seconds(SystemTime::now() + limit);
    let mut running = queued.is_none();
    let mut said = String::new();
    let mut said_at: Option<Instant> = None;
    loop {
        if cancel.is_cancelled() {
            return Err(WaitError::Cancelled);
        }
        let mut seen = "the unit runs".to_owned();
        let now = state().map_err(WaitError::Host)?;
        match queued {
            Some(before) if !running => match stage(before, &now) {
                Stage::Down(why) => return Err(WaitError::Down(why)),
                Stage::Active => running = true,
                Stage::Starting => seen = format!("the unit is {}", now.words()),
            },
            // Running already (or seen to run): a crash or a stop ends the wait.
            _ if now.active != "active" => {
                return Err(WaitError::Down(format!(
                    "the unit is {} (result: {})",
                    now.words(),
                    now.result
                )));
            }
            _ => {}
        }
        let mut last = seen.clone();
        if running {
            match ping() {
                Ok(evidence) => return Ok(evidence),
                Err(e) => last = format!("{seen}: {e}"),
            }
        }
        if start.elapsed() > limit {
            return Err(WaitError::TimedOut { limit, last });
        }
        if seen != said || said_at.is_none_or(|t| t.elapsed() >= REPORT_EVERY) {
            report(format!(
                "waiting for /api/v4/system/ping until {until} ({}s of {}): {seen}; Ctrl-C stops waiting",
                start.elapsed().as_secs(),
                humantime::format_duration(limit)
            ));
            said = seen;
            said_at = Some(Instant::now());
        }
        std::thread::sleep(POLL);
    }
}

/// Queues a start or restart of the unit without waiting for it; returns the state
/// from before, for [`wait_up`].
pub fn queue(host: &Host, verb: &str) -> Result<UnitState, HostError> {
    let before = unit_state(host)?;
    host.run(&Cmd::new("systemctl", &[verb, "--no-block", UNIT]))?;
    Ok(before)
}

/// Restarts a running Mattermost (queued, not blocking) and waits, under `limit`, for the
/// new run to pass `ready` (by default the ping); cancellable like the service phase's
/// own wait, with the journal's last lines when it does not come back. A unit that is
/// not running is left alone (the service phase starts it).
pub fn restart_and_wait(
    ctx: &Ctx,
    phase: PhaseId,
    why: &str,
    limit: Duration,
    ready: Option<&mut dyn FnMut() -> Result<String, String>>,
) -> Result<(), PhaseError> {
    let host = ctx.host;
    if unit_state(host)?.active != "active" {
        return Ok(());
    }
    ctx.step(phase, format!("restarting mattermost {why}"));
    let queued = queue(host, "restart")?;
    let mut ping = || {
        let c = ping_check(ctx, phase);
        if c.passed() {
            Ok(c.detail)
        } else {
            Err(c.detail)
        }
    };
    let ready: &mut dyn FnMut() -> Result<String, String> = match ready {
        Some(r) => r,
        None => &mut ping,
    };
    let evidence = wait_up(
        Some(&queued),
        limit,
        &ctx.cancel,
        &mut || unit_state(host),
        ready,
        &mut |line| ctx.step(phase, line),
    )
    .map_err(|e| e.into_phase_error(host))?;
    host.note(&format!("[{}] {evidence}", phase.name()));
    Ok(())
}

impl Phase for Service {
    fn id(&self) -> PhaseId {
        P
    }

    fn applies(&self, a: &crate::answers::Answers) -> bool {
        a.runs_mattermost()
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let mut checks = vec![ctx.managed_check(P, &unit_spec(ctx)?)?];
        // An app machine's firewall (proxy → 8065, apps ↔ 8074).
        checks.extend(super::firewall::checks(ctx, P)?);
        if ctx.restart_mattermost {
            checks.push(Check::fail(
                P,
                "mattermost restart",
                "pending: the release or config.json changed in this run",
            ));
        }
        checks.extend(unit_checks(ctx, P, UNIT)?);
        checks.push(ping_check(ctx, P));
        Ok(checks)
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        let host = ctx.host;
        super::firewall::ensure(ctx, P)?;
        let spec = unit_spec(ctx)?;
        if host.read(&spec.path)?.is_none() {
            ctx.claim("unit", UNIT)?;
        }
        if ctx.write_managed(P, &spec)?.changed() {
            host.run(&Cmd::new("systemctl", &["daemon-reload"]))?;
            ctx.restart_mattermost = true;
        }
        let shown = |o: &crate::host::Output| o.stdout.trim().to_owned();
        let enabled = shown(&host.probe(&Cmd::new("systemctl", &["is-enabled", UNIT]))?);
        if enabled != "enabled" {
            ctx.step(P, format!("enabling {UNIT} at boot"));
            host.run(&Cmd::new("systemctl", &["enable", UNIT]))?;
        }
        let active = shown(&host.probe(&Cmd::new("systemctl", &["is-active", UNIT]))?);
        let queued = if active != "active" {
            ctx.step(P, format!("starting {UNIT}"));
            Some(queue(host, "start")?)
        } else if ctx.restart_mattermost {
            ctx.step(P, "restarting mattermost for the new release or settings");
            Some(queue(host, "restart")?)
        } else {
            None
        };
        ctx.restart_mattermost = false;
        let evidence = wait_up(
            queued.as_ref(),
            START_WAIT,
            &ctx.cancel,
            &mut || unit_state(host),
            &mut || {
                let c = ping_check(ctx, P);
                if c.passed() {
                    Ok(c.detail)
                } else {
                    Err(c.detail)
                }
            },
            &mut |line| ctx.step(P, line),
        )
        .map_err(|e| e.into_phase_error(host))?;
        host.note(&format!("[service] {evidence}"));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Output, RunLog, Runner};
    use std::sync::{Arc, Mutex};

    fn st(active: &str, sub: &str, invocation: &str) -> UnitState {
        UnitState {
            active: active.into(),
            sub: sub.into(),
            result: "success".into(),
            invocation: invocation.into(),
        }
    }

    #[test]
    fn systemctl_show_is_read() {
        let s = UnitState::parse(
            "ActiveState=activating\nSubState=auto-restart\nResult=exit-code\nInvocationID=abc\n",
        );
        assert_eq!(
            s,
            UnitState {
                active: "activating".into(),
                sub: "auto-restart".into(),
                result: "exit-code".into(),
                invocation: "abc".into()
            }
        );
    }

    #[test]
    fn a_restart_counts_only_once_the_new_run_is_active() {
        let before = st("active", "running", "old");
        // The restart job has not begun: the old run still answers.
        assert_eq!(
            stage(&before, &st("active", "running", "old")),
            Stage::Starting
        );
        assert_eq!(
            stage(&before, &st("deactivating", "stop-sigterm", "old")),
            Stage::Starting
        );
        assert_eq!(
            stage(&before, &st("activating", "start", "new")),
            Stage::Starting
        );
        assert_eq!(
            stage(&before, &st("active", "running", "new")),
            Stage::Active
        );
        assert!(matches!(
            stage(&before, &st("activating", "auto-restart", "new")),
            Stage::Down(_)
        ));
        assert!(matches!(
            stage(&before, &st("failed", "failed", "new")),
            Stage::Down(_)
        ));
        assert!(matches!(
            stage(&before, &st("inactive", "dead", "new")),
            Stage::Down(_)
        ));
        // A unit already crash-looping or failed: our start gets its chance first.
        let looping = st("activating", "auto-restart", "x");
        assert_eq!(stage(&looping, &looping), Stage::Starting);
        let failed = st("failed", "failed", "x");
        assert_eq!(stage(&failed, &failed), Stage::Starting);
        // A start already under way when ours was queued: it is ours too.
        let starting = st("activating", "start", "x");
        assert_eq!(
            stage(&starting, &st("active", "running", "x")),
            Stage::Active
        );
    }

    /// Replays `systemctl show` states, one per call (the last repeats).
    fn replay(states: Vec<UnitState>) -> impl FnMut() -> Result<UnitState, HostError> {
        let mut i = 0;
        move || {
            let s = states[i.min(states.len() - 1)].clone();
            i += 1;
            Ok(s)
        }
    }

    #[test]
    fn waits_for_the_new_run_then_the_ping() {
        let before = st("active", "running", "old");
        let mut pings = 0;
        let mut lines = Vec::new();
        let got = wait_up(
            Some(&before),
            Duration::from_secs(10),
            &Cancel::default(),
            &mut replay(vec![
                st("active", "running", "old"),
                st("activating", "start", "new"),
                st("active", "running", "new"),
            ]),
            &mut || {
                pings += 1;
                if pings < 2 {
                    Err("connection refused".into())
                } else {
                    Ok("ping 200".into())
                }
            },
            &mut |l| lines.push(l),
        )
        .unwrap();
        assert_eq!(got, "ping 200");
        assert_eq!(pings, 2, "no ping before the new run is active");
        assert!(
            lines.iter().any(|l| l.contains("activating (start)")),
            "{lines:?}"
        );
        assert!(
            lines.iter().all(
                |l| l.starts_with("waiting for /api/v4/system/ping until 20")
                    && l.contains("s of 10s): ")
                    && l.contains("Ctrl-C")
            ),
            "{lines:?}"
        );
    }

    #[test]
    fn a_crash_ends_the_wait_at_once() {
        let start = Instant::now();
        let e = wait_up(
            Some(&st("inactive", "dead", "")),
            Duration::from_secs(60),
            &Cancel::default(),
            &mut replay(vec![
                st("activating", "start", "a"),
                st("activating", "auto-restart", "a"),
            ]),
            &mut || Err("refused".into()),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(e, WaitError::Down(ref w) if w.contains("exited")),
            "{e:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_running_unit_that_crashes_while_its_ping_is_awaited_ends_the_wait() {
        let e = wait_up(
            None,
            Duration::from_secs(60),
            &Cancel::default(),
            &mut replay(vec![
                st("active", "running", "a"),
                st("activating", "auto-restart", "a"),
            ]),
            &mut || Err("refused".into()),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(e, WaitError::Down(ref w) if w.contains("auto-restart")),
            "{e:?}"
        );
    }

    #[test]
    fn the_deadline_ends_the_wait_and_is_named() {
        let e = wait_up(
            None,
            Duration::from_millis(600),
            &Cancel::default(),
            &mut replay(vec![st("active", "running", "a")]),
            &mut || Err("ping 503".into()),
            &mut |_| {},
        )
        .unwrap_err();
        let WaitError::TimedOut { limit, last } = e else {
            panic!("{e:?}")
        };
        assert_eq!(limit, Duration::from_millis(600));
        assert!(last.contains("ping 503"), "{last}");
    }

    /// A box whose `systemctl start` (without --no-block) blocks like a Type=notify
    /// unit that never reports ready, and whose Mattermost never comes up.
    struct FakeBox {
        seen: Mutex<Vec<String>>,
        show: Mutex<Vec<UnitState>>,
        /// What `systemctl is-active` says.
        active: &'static str,
    }

    impl Runner for Arc<FakeBox> {
        fn run(&self, cmd: &Cmd, _: Option<&mut dyn FnMut(&str)>) -> std::io::Result<Output> {
            let line = cmd.display();
            self.seen.lock().unwrap().push(line.clone());
            let out = |s: &str| Output {
                code: Some(0),
                stdout: s.into(),
                stderr: String::new(),
            };
            let has = |w: &str| cmd.args.iter().any(|a| a == w);
            let blocking = cmd.program == "systemctl"
                && (has("--now") || has("start") || has("restart"))
                && !has("--no-block");
            if blocking {
                std::thread::sleep(Duration::from_secs(8));
                return Ok(out(""));
            }
            Ok(
                match (cmd.program.as_str(), cmd.args.first().map(String::as_str)) {
                    ("systemctl", Some("is-active")) => out(&format!("{}\n", self.active)),
                    ("systemctl", Some("is-enabled")) => out("disabled\n"),
                    ("systemctl", Some("show")) => {
                        let mut s = self.show.lock().unwrap();
                        let next = if s.len() > 1 {
                            s.remove(0)
                        } else {
                            s[0].clone()
                        };
                        out(&format!(
                            "ActiveState={}\nSubState={}\nResult={}\nInvocationID={}\n",
                            next.active, next.sub, next.result, next.invocation
                        ))
                    }
                    ("journalctl", _) => {
                        out("mattermost[42]: Error: failed to connect to the database\n")
                    }
                    _ => out(""),
                },
            )
        }
    }

    fn on_box(
        show: Vec<UnitState>,
        cancel_after: Option<Duration>,
    ) -> (Result<(), PhaseError>, Duration, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let (r, took, seen, _) = on_box_with(dir.path(), "inactive", show, cancel_after, |_| {});
        (r, took, seen)
    }

    /// Runs the phase's apply on a fake box rooted at `root`; `setup` may prepare the
    /// context first. Returns also the phase's probe from before the apply.
    fn on_box_with(
        root: &std::path::Path,
        active: &'static str,
        show: Vec<UnitState>,
        cancel_after: Option<Duration>,
        setup: impl FnOnce(&mut Ctx),
    ) -> (Result<(), PhaseError>, Duration, Vec<String>, Vec<Check>) {
        let fake = Arc::new(FakeBox {
            seen: Mutex::new(Vec::new()),
            show: Mutex::new(show),
            active,
        });
        let host = Host::new(
            root.to_owned(),
            RunLog::create(&root.join("log")),
            crate::events::discard(),
            Box::new(Arc::clone(&fake)),
        );
        let a = crate::answers::from_json(r#"{"domain": "chat.example.com"}"#, None).unwrap();
        let plan = crate::plan::Plan::new(&a).unwrap();
        let mut ctx = Ctx::new(&host, &a, &plan);
        setup(&mut ctx);
        let probe = Service.probe(&ctx).unwrap();
        if let Some(after) = cancel_after {
            let c = ctx.cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(after);
                c.cancel();
            });
        }
        let start = Instant::now();
        let r = Service.apply(&mut ctx);
        let took = start.elapsed();
        let seen = fake.seen.lock().unwrap().clone();
        (r, took, seen, probe)
    }

    /// An install from before this change has the unit with `BindsTo=` its database,
    /// as the tool wrote it: status names the drift with a diff, and repair writes the
    /// new unit, reloads systemd and restarts Mattermost (without blocking on it).
    #[test]
    fn the_old_binding_unit_is_named_by_status_and_replaced_by_repair() {
        let dir = tempfile::tempdir().unwrap();
        let old = "[Unit]\nDescription=Mattermost\nAfter=network.target postgresql.service\nBindsTo=postgresql.service\n";
        let unit = dir.path().join(UNIT_PATH.trim_start_matches('/'));
        std::fs::create_dir_all(unit.parent().unwrap()).unwrap();
        std::fs::write(&unit, old).unwrap();
        let running = vec![
            st("active", "running", "old"),
            st("active", "running", "new"),
        ];
        let (r, _, seen, probe) = on_box_with(
            dir.path(),
            "active",
            running,
            Some(Duration::from_millis(800)),
            |ctx| {
                ctx.own.files.insert(
                    std::path::PathBuf::from(UNIT_PATH),
                    crate::state::ownership::FileRecord {
                        written: crate::state::sha256_hex(old.as_bytes()),
                        kept_local: None,
                    },
                );
            },
        );
        let drift = probe
            .iter()
            .find(|c| c.name == format!("file {UNIT_PATH}"))
            .unwrap();
        assert!(!drift.passed());
        assert!(drift.detail.contains("older plan"), "{drift:?}");
        let d = format!("{drift:?}");
        assert!(
            d.contains("-BindsTo=postgresql.service") && d.contains("+Wants=postgresql.service"),
            "{d}"
        );
        // Stopped by the (simulated) operator while waiting for the ping.
        assert!(r.unwrap_err().cause.contains("stopped by the operator"));
        let now = std::fs::read_to_string(&unit).unwrap();
        assert!(
            now.contains("\nWants=postgresql.service\n") && !now.contains("\nBindsTo="),
            "{now}"
        );
        let reload = seen.iter().position(|c| c == "systemctl daemon-reload");
        let restart = seen
            .iter()
            .position(|c| c == "systemctl restart --no-block mattermost.service");
        assert!(reload.is_some() && restart > reload, "{seen:?}");
    }

    #[test]
    fn ctrl_c_is_honoured_within_a_second_while_mattermost_starts() {
        let starting = vec![st("inactive", "dead", ""), st("activating", "start", "a")];
        let (r, took, seen) = on_box(starting, Some(Duration::from_millis(300)));
        let e = r.unwrap_err();
        assert!(e.cause.contains("stopped by the operator"), "{}", e.cause);
        assert!(took < Duration::from_millis(1300), "took {took:?}");
        assert!(
            seen.iter()
                .any(|c| c == "systemctl start --no-block mattermost.service"),
            "{seen:?}"
        );
    }

    #[test]
    fn a_crashing_unit_fails_at_once_with_its_journal() {
        let crashing = vec![
            st("inactive", "dead", ""),
            st("activating", "start", "a"),
            UnitState {
                result: "exit-code".into(),
                ..st("activating", "auto-restart", "a")
            },
        ];
        let (r, took, _) = on_box(crashing, None);
        let e = r.unwrap_err();
        assert!(took < Duration::from_secs(3), "took {took:?}");
        assert!(e.cause.contains("exit-code"), "{}", e.cause);
        let fix = e.fix.unwrap_or_default();
        assert!(
            fix.contains("journalctl -u mattermost.service -n 20 --no-pager")
                && fix.contains("failed to connect to the database"),
            "{fix}"
        );
    }
}
