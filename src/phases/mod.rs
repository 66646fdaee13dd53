//! The phases of an install. Each one has three parts: `probe` (what is there now,
//! read-only), `apply` (converge, idempotent) and `verify` (the gate, with evidence).
//! The engine runs `apply` only when the probe found something to do.

pub mod acceptance;
pub mod admin;
pub mod cluster;
pub mod database;
pub mod datamove;
pub mod firewall;
pub mod housekeeping;
pub mod mattermost;
pub mod objectstore;
pub mod packages;
pub mod preflight;
pub mod proxy;
pub mod service;
pub mod tls;

#[cfg(test)]
mod tests;

use crate::answers::Answers;
use crate::host::{Host, HostError};
use crate::plan::Plan;

pub use crate::vocab::{Check, ErrorKind, Level, PhaseError, PhaseId};

impl From<HostError> for PhaseError {
    fn from(e: HostError) -> Self {
        let fix = match &e {
            HostError::Spawn { program, .. } => {
                Some(format!("install the package that provides `{program}`"))
            }
            HostError::TimedOut { .. } => Some(
                "the log shows what it printed before it hung; fix that, then run the same command again"
                    .to_owned(),
            ),
            HostError::Io { .. } | HostError::CommandFailed { .. } => None,
        };
        let kind = match &e {
            HostError::Io { .. } => ErrorKind::Io,
            HostError::Spawn { .. }
            | HostError::TimedOut { .. }
            | HostError::CommandFailed { .. } => ErrorKind::Command,
        };
        Self {
            kind,
            cause: e.to_string(),
            fix,
        }
    }
}

/// What to do with a managed file that was edited by hand since the tool wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocalEdits {
    /// Stop and say how to choose (install's default: never overwrite silently).
    #[default]
    Refuse,
    /// Keep the local version; status reports it as a warning from then on.
    Keep,
    /// Write the planned version; the local one is backed up first.
    Restore,
}

/// A unified diff, `now` → `planned`, for a check or a question.
pub fn diff(path: &std::path::Path, now: &str, planned: &str) -> String {
    similar::TextDiff::from_lines(now, planned)
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{} (on the box)", path.display()),
            &format!("{} (planned)", path.display()),
        )
        .to_string()
}

/// A file of the plan as the host writes it (owned by root).
pub fn planned_spec(f: &crate::plan::PlannedFile) -> crate::host::FileSpec {
    crate::host::FileSpec {
        path: f.path.clone(),
        content: f.content.clone().into_bytes(),
        mode: f.mode,
        owner: None,
    }
}

impl Ctx<'_> {
    /// The plan's file at `path`, as the host writes it; an error when the plan has
    /// none (a phase writes only what the plan lists).
    pub fn planned(&self, path: &str) -> Result<crate::host::FileSpec, PhaseError> {
        self.plan
            .file(path)
            .map(planned_spec)
            .ok_or_else(|| PhaseError::new(format!("the plan has no file {path}")))
    }
}

/// What phases share during one run.
pub struct Ctx<'a> {
    pub host: &'a Host,
    pub answers: &'a Answers,
    pub plan: &'a Plan,
    /// Set by phases whose changes need a running Mattermost to restart.
    pub restart_mattermost: bool,
    /// The tarball fetched in the background while apt works.
    pub tarball: Option<mattermost::Fetch<'a>>,
    /// The verified tarball, once the background fetch finished.
    pub fetched: Option<std::path::PathBuf>,
    /// Set when the operator asked to stop; long waits check it.
    pub cancel: crate::vocab::Cancel,
    /// What the tool created and wrote on this box.
    pub own: crate::state::Ownership,
    /// Policy for managed files edited by hand.
    pub local_edits: LocalEdits,
}

impl<'a> Ctx<'a> {
    pub fn new(host: &'a Host, answers: &'a Answers, plan: &'a Plan) -> Self {
        Self {
            host,
            answers,
            plan,
            restart_mattermost: false,
            tarball: None,
            fetched: None,
            cancel: crate::vocab::Cancel::default(),
            own: crate::state::Ownership::load(host),
            local_edits: LocalEdits::default(),
        }
    }

    /// Records — on disk, before the thing is made — that this run creates `name` of
    /// `kind`. Recording first means a run killed halfway still knows it made it.
    pub fn claim(&mut self, kind: &str, name: &str) -> Result<(), PhaseError> {
        if !self.own.did_create(kind, name) {
            self.own.created(kind, name);
            self.own.save(self.host)?;
        }
        Ok(())
    }

    /// Read-only check of a whole file the tool manages: as planned, kept local edits
    /// (a warning), or different (with a diff and whether it was edited by hand).
    pub fn managed_check(
        &self,
        phase: PhaseId,
        spec: &crate::host::FileSpec,
    ) -> Result<Check, PhaseError> {
        use crate::host::FileState;
        use crate::state::ownership::FileOrigin;
        let name = format!("file {}", spec.path.display());
        let state = self.host.file_state(spec)?;
        let current = self.host.read(&spec.path)?;
        Ok(match (state, current) {
            (FileState::Same, _) => Check::ok(phase, name, "as planned"),
            (FileState::Missing, _) | (_, None) => {
                Check::fail(phase, name, "missing").with_fix("repair writes it")
            }
            (FileState::MetadataDiffers, Some(_)) => {
                Check::fail(phase, name, "mode or owner changed")
                    .with_fix("repair restores mode and owner")
            }
            (FileState::ContentDiffers, Some(cur)) => {
                let d = diff(
                    &spec.path,
                    &String::from_utf8_lossy(&cur),
                    &String::from_utf8_lossy(&spec.content),
                );
                match self.own.file_origin(&spec.path, &cur) {
                    FileOrigin::KeptLocal => Check::warn(phase, name, "local edits kept by the operator (repair --restore replaces them)"),
                    FileOrigin::AsWritten => Check::fail(phase, name, "written by an older plan; repair updates it")
                        .with_fix("mattermost-setup repair"),
                    FileOrigin::EditedByHand => Check::fail(phase, name, "edited by hand since mattermost-setup wrote it")
                        .with_fix("mattermost-setup repair --restore (backs up the edited file) or repair --keep-local"),
                    FileOrigin::Unknown => Check::fail(phase, name, "exists but was not written by mattermost-setup")
                        .with_fix("mattermost-setup repair --restore (backs up the current file) or repair --keep-local"),
                }
                .with_diff(d)
            }
        })
    }

    /// Writes a whole managed file, honouring the local-edits policy for a file that
    /// was changed by hand (or was never written by this tool).
    pub fn write_managed(
        &mut self,
        phase: PhaseId,
        spec: &crate::host::FileSpec,
    ) -> Result<crate::host::WriteOutcome, PhaseError> {
        use crate::state::ownership::FileOrigin;
        let current = self.host.read(&spec.path)?;
        if let Some(cur) = current.filter(|c| *c != spec.content) {
            match self.own.file_origin(&spec.path, &cur) {
                FileOrigin::AsWritten => {}
                FileOrigin::KeptLocal => return Ok(crate::host::WriteOutcome::Unchanged),
                FileOrigin::EditedByHand | FileOrigin::Unknown => match self.local_edits {
                    LocalEdits::Restore => {
                        self.step(
                            phase,
                            format!(
                                "replacing the local version of {} (backed up first)",
                                spec.path.display()
                            ),
                        );
                    }
                    LocalEdits::Keep => {
                        let sha = crate::state::sha256_hex(&cur);
                        self.own
                            .files
                            .entry(spec.path.clone())
                            .or_insert_with(|| crate::state::ownership::FileRecord {
                                written: String::new(),
                                kept_local: None,
                            })
                            .kept_local = Some(sha);
                        (self.host.events())(crate::events::Event::Warning {
                            message: format!("kept your version of {}", spec.path.display()),
                        });
                        return Ok(crate::host::WriteOutcome::Unchanged);
                    }
                    LocalEdits::Refuse => {
                        let d = diff(
                            &spec.path,
                            &String::from_utf8_lossy(&cur),
                            &String::from_utf8_lossy(&spec.content),
                        );
                        return Err(PhaseError::new(format!(
                            "{} was changed by hand (or not written by mattermost-setup); it is left as it is:\n{d}",
                            spec.path.display()
                        ))
                        .fix("choose: mattermost-setup repair --restore (the planned file; yours is backed up) or repair --keep-local"));
                    }
                },
            }
        }
        let outcome = self.host.write_file(spec)?;
        self.own.wrote(&spec.path, &spec.content);
        Ok(outcome)
    }

    /// Collects the background fetch if it has finished (or `wait`s for it). A failed
    /// fetch is reported as soon as it is known, before later phases change anything.
    pub fn collect_fetch(&mut self, wait: bool) -> Result<(), PhaseError> {
        if self
            .tarball
            .as_ref()
            .is_some_and(|h| wait || h.is_finished())
        {
            if let Some(handle) = self.tarball.take() {
                let path = handle
                    .join()
                    .map_err(|_| PhaseError::new("the download thread crashed"))??;
                self.fetched = Some(path);
            }
        }
        Ok(())
    }

    pub fn step(&self, phase: PhaseId, message: impl Into<String>) {
        let message = message.into();
        self.host.note(&format!("[{phase}] {message}"));
        (self.host.events())(crate::events::Event::Step { phase, message });
    }
}

pub trait Phase: Sync {
    fn id(&self) -> PhaseId;
    /// Read-only: what is there now.
    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError>;
    /// Converge to the plan; safe to run again at any point.
    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError>;
    /// The gate. By default the probe again: everything must now be in place.
    fn verify(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        self.probe(ctx)
    }
    /// A gate that only reads (acceptance): a failed probe is not work to apply but a
    /// reason to look again, through `verify`; passing on a second look is no change.
    fn only_reads(&self) -> bool {
        false
    }
    /// Whether this phase has anything to do on a box of these answers' role (the
    /// proxy machine runs no Mattermost, the database machine no proxy, ...).
    fn applies(&self, a: &Answers) -> bool {
        let _ = a;
        true
    }
}

/// The phases of an install, in order.
pub fn all() -> [&'static dyn Phase; 11] {
    [
        &preflight::Preflight,
        &datamove::DataMove,
        &packages::Packages,
        &database::Database,
        &mattermost::Mattermost,
        &service::Service,
        &proxy::Proxy,
        &tls::Tls,
        &admin::Admin,
        &housekeeping::Housekeeping,
        &acceptance::Acceptance,
    ]
}

#[cfg(test)]
mod error_kinds {
    use super::{ErrorKind, PhaseError};
    use crate::host::HostError;

    /// Each layer's typed error keeps its words and fix and says its kind.
    #[test]
    fn each_layers_error_keeps_its_kind_and_fix() {
        let io = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let cases: [(PhaseError, ErrorKind); 6] = [
            (
                HostError::Spawn {
                    program: "certbot".into(),
                    source: io(),
                }
                .into(),
                ErrorKind::Command,
            ),
            (
                HostError::TimedOut {
                    command: "apt-get install".into(),
                    timeout: std::time::Duration::from_secs(5),
                }
                .into(),
                ErrorKind::Command,
            ),
            (
                HostError::Io {
                    action: "cannot write",
                    path: "/etc/x".into(),
                    source: io(),
                }
                .into(),
                ErrorKind::Io,
            ),
            (
                crate::state::StateError::Write(HostError::Io {
                    action: "cannot write",
                    path: "/var/lib/mattermost-setup/journal.json".into(),
                    source: io(),
                })
                .into(),
                ErrorKind::Records,
            ),
            (
                crate::phases::mattermost::fetch::FetchError::Cancelled {
                    url: "https://releases.mattermost.com/x.tar.gz".into(),
                    received: 12,
                }
                .into(),
                ErrorKind::Stopped,
            ),
            (PhaseError::new("a check failed"), ErrorKind::Failed),
        ];
        for (e, kind) in cases {
            assert_eq!(e.kind, kind, "{e:?}");
            if kind != ErrorKind::Failed && kind != ErrorKind::Io {
                assert!(e.fix.is_some(), "{e:?} lost its fix");
            }
        }
    }
}
