//! The executor: walks the plan's graph with bounded concurrency.
//!
//! An action starts when every action it waits for has succeeded. When one
//! fails, what waits on it (directly or not) is skipped, while independent
//! branches go on. When a change cannot be recorded in the state, nothing
//! new starts either. On cancellation (Ctrl-C) nothing new starts; the actions
//! in flight finish and record their outcome. The state is written by the
//! operations themselves, through the [`Recorder`], after every change.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;

pub use super::context::{ApplyOptions, Context};
use crate::plan::model::{Action, Plan};

/// How one action ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done; a short description of what happened.
    Done(String),
    Failed(String),
    /// Not started because an action it waits for did not succeed.
    Skipped(String),
    /// Not started because the run was interrupted.
    NotStarted,
}

/// Hooks for progress display; the CLI implements them.
pub trait Observer: Send + Sync {
    fn started(&self, _action: &Action) {}
    fn finished(&self, _action: &Action, _outcome: &Outcome) {}
}

/// An observer that shows nothing.
pub struct Silent;
impl Observer for Silent {}

/// The outcome of every action, in plan order.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    pub outcomes: Vec<(String, Outcome)>,
    pub interrupted: bool,
    /// Why the journal could not be folded into the state file at the end;
    /// nothing is lost (it is read with the file), but the user should know.
    pub fold_failed: Option<String>,
    /// When a change could not be recorded: where the state is, and the
    /// serial it was last recorded at. Nothing was started after that.
    pub state_stopped: Option<(String, u64)>,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        !self.interrupted
            && self
                .outcomes
                .iter()
                .all(|(_, o)| matches!(o, Outcome::Done(_)))
    }

    pub fn count(&self, pick: fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|(_, o)| pick(o)).count()
    }
}

/// Marks what waits on `failed`, directly or not, as skipped, each naming
/// the action it waited for that did not succeed.
fn skip_dependents(
    failed: usize,
    actions: &[Action],
    dependents: &[Vec<usize>],
    outcomes: &mut [Option<Outcome>],
    observer: &dyn Observer,
) {
    let mut stack = vec![failed];
    while let Some(bad) = stack.pop() {
        for &d in &dependents[bad] {
            if outcomes[d].is_none() {
                let outcome = Outcome::Skipped(format!("{} did not succeed", actions[bad].id));
                observer.finished(&actions[d], &outcome);
                outcomes[d] = Some(outcome);
                stack.push(d);
            }
        }
    }
}

/// Runs the plan. `cancel` turning true stops new actions from starting.
pub async fn execute(
    plan: &Plan,
    context: Arc<Context>,
    observer: Arc<dyn Observer>,
    mut cancel: watch::Receiver<bool>,
) -> ApplyReport {
    let actions = &plan.actions;
    let index: HashMap<&str, usize> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    // For each action, how many of the actions it waits for have not
    // succeeded yet, and which actions wait for it.
    let mut waiting = vec![0usize; actions.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); actions.len()];
    for (i, action) in actions.iter().enumerate() {
        for w in action.after.iter().filter_map(|id| index.get(id.as_str())) {
            waiting[i] += 1;
            dependents[*w].push(i);
        }
    }
    // Started in plan order among those ready.
    let mut ready: BTreeSet<usize> = (0..actions.len()).filter(|&i| waiting[i] == 0).collect();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; actions.len()];
    let mut running: JoinSet<Outcome> = JoinSet::new();
    let mut task_index: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut interrupted = *cancel.borrow();
    let parallelism = context.options.parallelism.max(1);

    loop {
        while !interrupted && !context.recorder.is_broken() && running.len() < parallelism {
            let Some(i) = ready.pop_first() else { break };
            observer.started(&actions[i]);
            let action = actions[i].clone();
            let context = context.clone();
            let handle = running.spawn(async move {
                match super::operation::run(&action, &context).await {
                    Ok(done) => Outcome::Done(done),
                    Err(err) => Outcome::Failed(err.to_string()),
                }
            });
            task_index.insert(handle.id(), i);
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = running.join_next_with_id() => {
                let Some(joined) = joined else { continue };
                let (id, outcome) = match joined {
                    Ok((id, outcome)) => (id, outcome),
                    Err(err) => (
                        err.id(),
                        Outcome::Failed(format!("this is a bug in entitle: the action stopped unexpectedly ({err})")),
                    ),
                };
                let Some(i) = task_index.remove(&id) else { continue };
                let succeeded = matches!(outcome, Outcome::Done(_));
                observer.finished(&actions[i], &outcome);
                outcomes[i] = Some(outcome);
                if succeeded {
                    for &d in &dependents[i] {
                        waiting[d] -= 1;
                        // Not if it was skipped for another it waits for.
                        if waiting[d] == 0 && outcomes[d].is_none() {
                            ready.insert(d);
                        }
                    }
                } else {
                    skip_dependents(i, actions, &dependents, &mut outcomes, observer.as_ref());
                }
            }
            changed = cancel.changed(), if !interrupted => {
                if changed.is_err() || *cancel.borrow() {
                    interrupted = true;
                }
            }
        }
    }

    let fold_failed = context
        .recorder
        .finish()
        .await
        .err()
        .map(|err| err.to_string());
    ApplyReport {
        fold_failed,
        state_stopped: context
            .recorder
            .is_broken()
            .then(|| context.recorder.last_recorded()),
        outcomes: actions
            .iter()
            .zip(outcomes)
            .map(|(a, o)| (a.id.clone(), o.unwrap_or(Outcome::NotStarted)))
            .collect(),
        interrupted,
    }
}
