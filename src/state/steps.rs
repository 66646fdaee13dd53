//! steps.json: where a lifecycle run other than install (uninstall, upgrade) is, one
//! entry per step, written as each step starts and ends. A file left behind means
//! the run was cut short (Ctrl-C, kill -9, power loss): the next run of the command
//! says where and goes through the steps again, each finding what is already done.
//! A run that ends, well or not, removes it only when every step was done.

use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::host::{Host, HostError};

pub const PATH: &str = "/var/lib/mattermost-setup/steps.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    Started,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepEntry {
    pub step: String,
    pub state: StepState,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepJournal {
    pub command: String,
    pub started: String,
    pub log: std::path::PathBuf,
    /// In the order the steps ran.
    pub steps: Vec<StepEntry>,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

impl StepJournal {
    pub fn begin(command: &str, log: &Path) -> Self {
        Self {
            command: command.to_owned(),
            started: now(),
            log: log.to_owned(),
            steps: Vec::new(),
        }
    }

    /// The journal a run left behind (it did not finish), if any.
    pub fn load(host: &Host) -> Option<Self> {
        let bytes = host.read(Path::new(PATH)).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    /// Where the run stopped, in words.
    pub fn stopped(&self) -> String {
        match self.steps.last() {
            Some(e) if e.state == StepState::Done => format!("after step {}", e.step),
            Some(e) => format!(
                "in step {} ({} at {})",
                e.step,
                match e.state {
                    StepState::Started => "started",
                    StepState::Failed => "failed",
                    StepState::Done => "done",
                },
                e.at
            ),
            None => "before its first step".to_owned(),
        }
    }

    /// Records a step's state and saves the journal.
    pub fn record(&mut self, host: &Host, step: &str, state: StepState) -> Result<(), HostError> {
        match self.steps.last_mut() {
            Some(e) if e.step == step => {
                e.state = state;
                e.at = now();
            }
            _ => self.steps.push(StepEntry {
                step: step.to_owned(),
                state,
                at: now(),
            }),
        }
        super::save_json(host, PATH, self)
    }

    /// An interrupted `command` was finished another way (an upgrade rolled back by
    /// the next install): its journal goes.
    pub fn forget(host: &Host, command: &str) -> Result<(), HostError> {
        match Self::load(host) {
            Some(j) if j.command == command => Self::finish(host),
            _ => Ok(()),
        }
    }

    /// Every step was done: nothing is left to continue.
    pub fn finish(host: &Host) -> Result<(), HostError> {
        super::remove_record(host, PATH)
    }
}
