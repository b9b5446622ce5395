//! Saved plans (`plan --out FILE`, `apply FILE`): the plan together with the
//! state lineage and serial it was made against and a digest of the
//! manifests, so that `apply` can refuse a plan that no longer describes the
//! world.

use crate::hint::HINT;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::model::{PLAN_FORMAT_VERSION, Plan};
use crate::manifest::Desired;
use crate::state::State;

/// A plan file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    /// The state the plan was made against; no lineage when there was no
    /// state file yet.
    pub state_lineage: Option<Uuid>,
    pub state_serial: u64,
    /// `sha256:` of the manifests' resources, as loaded.
    pub manifest_digest: String,
    /// The manifest paths the plan was made from, to check the digest again.
    pub manifest_paths: Vec<PathBuf>,
    pub plan: Plan,
}

/// Why a saved plan cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("{path}: {message}")]
    Unreadable { path: PathBuf, message: String },

    #[error(
        "the plan in {path} is stale: {why}{HINT}run `entitle plan --out {path}` again, review it, and apply the new plan"
    )]
    Stale { path: PathBuf, why: String },
}

impl SavedPlan {
    /// `state` is `None` when there was no state file yet.
    pub fn new(plan: Plan, state: Option<&State>, desired: &Desired, paths: &[PathBuf]) -> Self {
        SavedPlan {
            format_version: PLAN_FORMAT_VERSION,
            state_lineage: state.map(|s| s.lineage),
            state_serial: state.map_or(0, |s| s.serial),
            manifest_digest: digest(desired),
            manifest_paths: paths.to_vec(),
            plan,
        }
    }

    /// Reads a plan file.
    pub fn read(path: &Path) -> Result<Self, SavedPlanError> {
        let unreadable = |message: String| SavedPlanError::Unreadable {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|err| unreadable(err.to_string()))?;
        let saved: SavedPlan = serde_json::from_slice(&bytes).map_err(|err| {
            unreadable(format!(
                "not a plan file written by `entitle plan --out`: {err}"
            ))
        })?;
        if saved.format_version > PLAN_FORMAT_VERSION {
            return Err(unreadable(format!(
                "plan format {} is newer than this entitle reads ({PLAN_FORMAT_VERSION}); upgrade entitle",
                saved.format_version
            )));
        }
        Ok(saved)
    }

    /// Refuses the plan when the state or the manifests moved since.
    /// `state` is `None` when there is no state file.
    pub fn check_fresh(
        &self,
        path: &Path,
        state: Option<&State>,
        desired: &Desired,
    ) -> Result<(), SavedPlanError> {
        let stale = |why: String| SavedPlanError::Stale {
            path: path.to_path_buf(),
            why,
        };
        let lineage = state.map(|s| s.lineage);
        let serial = state.map_or(0, |s| s.serial);
        if lineage != self.state_lineage {
            let show =
                |l: Option<Uuid>| l.map_or("none: no state file".to_string(), |l| l.to_string());
            return Err(stale(format!(
                "it was made against another state (lineage {} then, {} now)",
                show(self.state_lineage),
                show(lineage)
            )));
        }
        if serial != self.state_serial {
            return Err(stale(format!(
                "the state changed since it was made (serial {} then, {} now)",
                self.state_serial, serial
            )));
        }
        if digest(desired) != self.manifest_digest {
            return Err(stale("the manifests changed since it was made".into()));
        }
        Ok(())
    }
}

/// `sha256:<hex>` of the resources as loaded (addresses, metadata, specs):
/// comments and layout do not count, meaning does.
pub fn digest(desired: &Desired) -> String {
    let mut hasher = Sha256::new();
    for resource in &desired.resources {
        let text = serde_json::json!({
            "address": resource.address.to_string(),
            "dependsOn": resource.metadata.depends_on.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "lifecycle": {
                "preventDestroy": resource.metadata.lifecycle.prevent_destroy,
                "ignoreChanges": resource.metadata.lifecycle.ignore_changes,
                "orphan": resource.metadata.lifecycle.deletion_policy == crate::manifest::DeletionPolicy::Orphan,
            },
            "spec": resource.spec.to_json(),
        })
        .to_string();
        hasher.update(text.as_bytes());
        hasher.update(b"\n");
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}
