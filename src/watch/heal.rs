//! `entitle watch --self-heal`: when a cycle finds drift, plan and apply as
//! `entitle apply --auto-approve` does, through the same library calls
//! (the state lock with `--lock-timeout`, [`Workspace::plan`], the state's
//! room check, [`Workspace::apply`]), so whatever guards those carry guard
//! the self-heal too.
//!
//! The manifests' `Policy` binds it as it binds apply (no override is
//! possible here): a plan that breaks a rule, or a cycle outside the
//! change windows, is withheld. The self-heal's own rules are all or
//! nothing: a plan that deletes (or
//! replaces, which deletes the old object) without `--self-heal-deletes`,
//! or that holds more than `--max-changes` actions, is not applied at all,
//! and all its actions are counted `blocked`, with the reason logged. A
//! partial heal could leave half of a change that belongs together.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::metrics::{HealResult, Metrics};
use crate::Error;
use crate::apply::{ApplyOptions, Observer, Outcome};
use crate::escape;
use crate::plan::model::{Action, ActionKind, Plan};
use crate::policy::Stage;
use crate::workflow::{Workspace, judge};

/// The lock's operation, as `entitle state lock` shows it.
const LOCK_OPERATION: &str = "watch --self-heal";

/// How the self-heal may act.
#[derive(Clone, Debug)]
pub struct HealOptions {
    /// Apply plans that delete or replace.
    pub deletes: bool,
    /// The most actions one cycle applies; a plan with more is withheld.
    pub max_changes: usize,
    pub parallelism: usize,
    pub wait_timeout: Duration,
}

/// What one self-heal did.
#[derive(Debug, PartialEq, Eq)]
pub enum Healed {
    /// The plan was empty: what drift found is nothing the plan changes
    /// (the manifests were edited to match it, say).
    Nothing,
    /// Withheld whole; how many actions, and why.
    Blocked { actions: usize, why: String },
    /// Carried out.
    Applied {
        applied: usize,
        failed: usize,
        skipped: usize,
    },
}

/// Plans and, unless a rule withholds it, applies; counts the actions in
/// `metrics`. `stop` stops new actions (those in flight finish and are
/// recorded), as Ctrl-C does for `apply`.
pub async fn heal(
    workspace: &Workspace,
    options: &HealOptions,
    metrics: &Metrics,
    stop: watch::Receiver<bool>,
) -> Result<Healed, Error> {
    let _lock = workspace.lock(LOCK_OPERATION).await?;
    let planned = workspace.plan(&[]).await?;
    if planned.plan.is_empty() {
        return Ok(Healed::Nothing);
    }
    workspace.store.check_room(&planned.state)?;
    let policy = judge(
        &planned.desired,
        &planned.state,
        &planned.plan,
        Stage::Apply,
        &[],
    );
    let refused = policy
        .as_ref()
        .and_then(|report| report.enforce().err())
        .map(|refusal| refusal.to_string());
    if let Some(why) = refused.or_else(|| withheld(&planned.plan, options)) {
        let actions = planned.plan.actions.len();
        metrics.healed(HealResult::Blocked, actions);
        return Ok(Healed::Blocked { actions, why });
    }
    tracing::info!(
        "self-heal: applying {} action(s)",
        planned.plan.actions.len()
    );
    let apply_options = ApplyOptions {
        parallelism: options.parallelism,
        wait_timeout: options.wait_timeout,
        allow_replace: options.deletes,
        ..ApplyOptions::default()
    };
    let report = workspace
        .apply(
            &planned.plan,
            planned.state,
            apply_options,
            Arc::new(Logged),
            stop,
        )
        .await;
    let applied = report.count(|o| matches!(o, Outcome::Done(_)));
    let failed = report.count(|o| matches!(o, Outcome::Failed(_)));
    let skipped = report.count(|o| matches!(o, Outcome::Skipped(_) | Outcome::NotStarted));
    metrics.healed(HealResult::Applied, applied);
    metrics.healed(HealResult::Failed, failed);
    metrics.healed(HealResult::Skipped, skipped);
    if let Some((place, serial)) = &report.state_stopped {
        tracing::error!(
            "self-heal: the state in {} could not be written after serial {serial}; nothing was started after that",
            escape::text(place)
        );
    }
    Ok(Healed::Applied {
        applied,
        failed,
        skipped,
    })
}

/// Why the self-heal's rules withhold `plan`, if they do.
fn withheld(plan: &Plan, options: &HealOptions) -> Option<String> {
    let deleting: Vec<String> = plan
        .actions
        .iter()
        .filter(|a| deletes(a.kind))
        .map(|a| a.id.clone())
        .collect();
    if !deleting.is_empty() && !options.deletes {
        return Some(format!(
            "the plan deletes ({}); pass --self-heal-deletes to let the self-heal delete, or apply it by hand",
            escape::text(&deleting.join(", "))
        ));
    }
    if plan.actions.len() > options.max_changes {
        return Some(format!(
            "the plan has {} actions, more than --max-changes {}; review it with `entitle plan` and apply it by hand, or raise --max-changes",
            plan.actions.len(),
            options.max_changes
        ));
    }
    None
}

/// Whether an action of `kind` deletes something at the vendor.
fn deletes(kind: ActionKind) -> bool {
    match kind {
        ActionKind::Delete | ActionKind::Replace => true,
        ActionKind::Create
        | ActionKind::Update
        | ActionKind::Forget
        | ActionKind::IssueKey
        | ActionKind::Adopt
        | ActionKind::Record
        | ActionKind::BulkUpgrade => false,
    }
}

/// Logs each action's end.
struct Logged;

impl Observer for Logged {
    fn finished(&self, action: &Action, outcome: &Outcome) {
        let id = escape::text(&action.id);
        match outcome {
            Outcome::Done(what) => {
                tracing::info!("self-heal: {id}: {}", escape::text(what));
            }
            Outcome::Failed(why) => {
                tracing::warn!("self-heal: {id} failed: {}", escape::text(why));
            }
            Outcome::Skipped(why) => {
                tracing::warn!("self-heal: {id} skipped: {}", escape::text(why));
            }
            Outcome::NotStarted => {
                tracing::info!("self-heal: {id} not started: the watch is stopping");
            }
        }
    }
}
