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
    /// Where that state is kept (absent from files written before
    /// backends and workspaces: those were a file's default workspace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_place: Option<StatePlace>,
    /// `sha256:` of the manifests' resources, as loaded.
    pub manifest_digest: String,
    /// The manifest paths the plan was made from, to check the digest again.
    pub manifest_paths: Vec<PathBuf>,
    /// The same paths relative to the plan file's directory, so that the
    /// plan applies from any directory of the same checkout (absent from
    /// files written before it was added).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifest_paths_from_plan: Vec<PathBuf>,
    /// Written with its `summary`, as `plan --format json` prints it (the
    /// summary is derived, so reading ignores it).
    #[serde(serialize_with = "plan_with_summary")]
    pub plan: Plan,
    /// `sha256:` of everything above but the format version, as JSON with
    /// sorted keys: a plan edited after it was written is refused. (Absent
    /// from files written before it was added, which are refused too.)
    #[serde(default)]
    pub plan_digest: String,
}

/// Which backend and workspace a plan's state is in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatePlace {
    /// `file`, or the database's URL without its password.
    pub backend: String,
    pub workspace: String,
}

impl std::fmt::Display for StatePlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "workspace `{}` of {}", self.workspace, self.backend)
    }
}

/// Why a saved plan cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error(
        "could not read the plan file {path}: {source}{HINT}pass the file `entitle plan --out FILE` wrote, as a path this user can read"
    )]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "{path} is not a plan file written by `entitle plan --out`: {message}{HINT}make the plan again with `entitle plan --out {path}`; to apply manifests, name them (files ending .yaml or .yml, or their directory)"
    )]
    NotAPlan { path: PathBuf, message: String },

    #[error(
        "{path} has plan format {found}, newer than this entitle reads ({PLAN_FORMAT_VERSION}){HINT}apply it with the entitle that wrote it, or upgrade entitle"
    )]
    Newer { path: PathBuf, found: u32 },

    #[error(
        "the plan in {path} was changed after `entitle plan --out` wrote it ({why}){HINT}a saved plan is applied as it was reviewed: run `entitle plan --out {path}` again and review the new plan"
    )]
    Edited { path: PathBuf, why: &'static str },

    #[error(
        "the plan in {path} was made from the manifests at `{missing}`, which is neither here nor where it was beside the plan file (the plan file names its manifests relative to both){HINT}run `entitle apply {path}` in the checkout `entitle plan --out` ran in, with the plan file where it was written"
    )]
    ManifestsElsewhere { path: PathBuf, missing: String },

    #[error(
        "the plan in {path} was made against the state in {then}, and this run's state is in {now}{HINT}apply it with the --backend and --workspace it was made with, or make a plan for {now}"
    )]
    Elsewhere {
        path: PathBuf,
        then: StatePlace,
        now: StatePlace,
    },

    #[error(
        "the plan in {path} is stale: {why}{HINT}run `entitle plan {paths} --out {path}` again, review it, and apply the new plan"
    )]
    Stale {
        path: PathBuf,
        why: String,
        /// The manifest paths it was made from, as the command line takes them.
        paths: String,
    },
}

impl SavedPlan {
    /// `state` is `None` when there was no state file yet.
    /// `out` is where the plan file is to be written.
    pub fn new(
        plan: Plan,
        state: Option<&State>,
        place: StatePlace,
        desired: &Desired,
        paths: &[PathBuf],
        out: &Path,
    ) -> Self {
        let mut saved = SavedPlan {
            format_version: PLAN_FORMAT_VERSION,
            state_lineage: state.map(|s| s.lineage),
            state_serial: state.map_or(0, |s| s.serial),
            state_place: Some(place),
            manifest_digest: digest(desired),
            manifest_paths: paths.to_vec(),
            manifest_paths_from_plan: from_plan_file(paths, out).unwrap_or_default(),
            plan,
            plan_digest: String::new(),
        };
        saved.plan_digest = serde_json::to_value(&saved)
            .map(|value| plan_digest(&value))
            .unwrap_or_default();
        saved
    }

    /// Reads a plan file, refusing one that is not a whole plan of a
    /// format this build reads, or that was edited since it was written.
    pub fn read(path: &Path) -> Result<Self, SavedPlanError> {
        let not_a_plan = |message: String| SavedPlanError::NotAPlan {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| SavedPlanError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|err| not_a_plan(err.to_string()))?;
        if let Some(found) = value["format_version"]
            .as_u64()
            .filter(|found| *found > u64::from(PLAN_FORMAT_VERSION))
        {
            return Err(SavedPlanError::Newer {
                path: path.to_path_buf(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
            });
        }
        let saved: SavedPlan =
            serde_json::from_value(value.clone()).map_err(|err| not_a_plan(err.to_string()))?;
        let edited = |why| SavedPlanError::Edited {
            path: path.to_path_buf(),
            why,
        };
        if saved.plan_digest.is_empty() {
            return Err(edited("it has no plan_digest"));
        }
        if saved.plan_digest != plan_digest(&value) {
            return Err(edited("its plan_digest does not match what it holds"));
        }
        Ok(saved)
    }

    /// The manifest paths to load for the plan file at `path`: as they
    /// were given, when they are here; else as they lie from the plan file
    /// (apply run from another directory of the same checkout). Refused,
    /// naming the plan file, when neither finds them.
    pub fn manifest_paths_here(&self, path: &Path) -> Result<Vec<PathBuf>, SavedPlanError> {
        let present = |p: &PathBuf| p.as_os_str() == crate::manifest::STDIN || p.exists();
        if self.manifest_paths.iter().all(present) {
            return Ok(self.manifest_paths.clone());
        }
        let beside = plan_dir(path);
        let from_plan: Vec<PathBuf> = self
            .manifest_paths_from_plan
            .iter()
            .map(|p| match p.as_os_str() == crate::manifest::STDIN {
                true => p.clone(),
                false => beside.join(p),
            })
            .collect();
        if !from_plan.is_empty()
            && from_plan.len() == self.manifest_paths.len()
            && from_plan.iter().all(present)
        {
            return Ok(from_plan);
        }
        let missing = self
            .manifest_paths
            .iter()
            .find(|p| !present(p))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        Err(SavedPlanError::ManifestsElsewhere {
            path: path.to_path_buf(),
            missing,
        })
    }

    /// Refuses the plan when the state or the manifests moved since.
    /// `state` is `None` when there is no state file.
    pub fn check_fresh(
        &self,
        path: &Path,
        place: &StatePlace,
        state: Option<&State>,
        desired: &Desired,
    ) -> Result<(), SavedPlanError> {
        let stale = |why: String| SavedPlanError::Stale {
            path: path.to_path_buf(),
            why,
            paths: self
                .manifest_paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" "),
        };
        let made_in = self.state_place.clone().unwrap_or_else(|| StatePlace {
            backend: "file".to_string(),
            workspace: crate::state::DEFAULT_WORKSPACE.to_string(),
        });
        if &made_in != place {
            return Err(SavedPlanError::Elsewhere {
                path: path.to_path_buf(),
                then: made_in,
                now: place.clone(),
            });
        }
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

fn plan_with_summary<S: serde::Serializer>(plan: &Plan, serializer: S) -> Result<S::Ok, S::Error> {
    super::render::json_value(plan).serialize(serializer)
}

/// `sha256:<hex>` of a plan file's JSON `value` without its `format_version`
/// and `plan_digest`, written with sorted keys and no spaces.
fn plan_digest(value: &serde_json::Value) -> String {
    let mut value = value.clone();
    if let Some(fields) = value.as_object_mut() {
        fields.remove("format_version");
        fields.remove("plan_digest");
    }
    sha256(value.to_string().as_bytes())
}

fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
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

/// The directory a plan file is in (`.` for a bare file name).
fn plan_dir(plan: &Path) -> PathBuf {
    match plan.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `paths` (relative to the working directory) as seen from the directory
/// the plan file `out` goes in; `None` when one of them cannot be placed.
fn from_plan_file(paths: &[PathBuf], out: &Path) -> Option<Vec<PathBuf>> {
    let base = std::fs::canonicalize(plan_dir(out)).ok()?;
    paths
        .iter()
        .map(|path| match path.as_os_str() == crate::manifest::STDIN {
            true => Some(path.clone()),
            false => Some(relative(&std::fs::canonicalize(path).ok()?, &base)),
        })
        .collect()
}

/// `target` relative to `base`, both absolute.
fn relative(target: &Path, base: &Path) -> PathBuf {
    let common = target
        .components()
        .zip(base.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in base.components().skip(common) {
        out.push("..");
    }
    for part in target.components().skip(common) {
        out.push(part);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}
