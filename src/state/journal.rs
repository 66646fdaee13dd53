//! journal.json: one entry per phase of the current (or last) run, written as each
//! phase starts and ends. A run that never reached `finished` was interrupted.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::host::{Host, HostError};
use crate::vocab::PhaseId;

pub const PATH: &str = "/var/lib/mattermost-setup/journal.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseState {
    Started,
    Verified,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseEntry {
    pub state: PhaseState,
    /// Hash of the plan the phase worked from: a changed plan means new work.
    pub inputs: String,
    pub at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub command: String,
    pub started: String,
    pub finished: Option<String>,
    pub log: PathBuf,
    pub phases: BTreeMap<String, PhaseEntry>,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

impl Journal {
    pub fn load(host: &Host) -> Option<Self> {
        let bytes = host.read(std::path::Path::new(PATH)).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    /// Where an unfinished earlier run stopped, in words, if it did not finish.
    pub fn interrupted_in(&self) -> Option<String> {
        if self.finished.is_some() {
            return None;
        }
        let mut last_verified = None;
        for id in PhaseId::ALL {
            match self.phases.get(id.name()) {
                Some(e) if e.state == PhaseState::Verified => last_verified = Some(id),
                Some(e) => {
                    return Some(
                        format!("in phase {id} ({:?} at {})", e.state, e.at).to_lowercase(),
                    );
                }
                None => {}
            }
        }
        Some(match last_verified {
            Some(id) => format!("after phase {id}"),
            None => "before its first phase".to_owned(),
        })
    }

    pub fn begin(command: &str, log: PathBuf) -> Self {
        Self {
            command: command.to_owned(),
            started: now(),
            finished: None,
            log,
            phases: BTreeMap::new(),
        }
    }

    /// Records a phase's state in memory; the caller decides when to save.
    pub fn record(&mut self, phase: PhaseId, state: PhaseState, inputs: &str) {
        self.phases.insert(
            phase.name().to_owned(),
            PhaseEntry {
                state,
                inputs: inputs.to_owned(),
                at: now(),
            },
        );
    }

    pub fn finish(&mut self, host: &Host) -> Result<(), HostError> {
        self.finished = Some(now());
        self.save(host)
    }

    pub fn save(&self, host: &Host) -> Result<(), HostError> {
        super::save_json(host, PATH, self)
    }
}
