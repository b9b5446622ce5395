//! Progress on stderr: a spinner while refreshing, a bar while applying.
//! Drawn only on a terminal and without `--no-progress`; without them, apply
//! prints one line per finished action instead. What an action says it
//! did quotes the servers, so it is shown through [`crate::escape`].

use std::future::Future;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::apply::{Observer, Outcome};
use crate::escape;
use crate::plan::model::{Action, Plan};

/// Runs `work` under a spinner that says the live state is being read.
pub async fn refreshing<T>(visible: bool, work: impl Future<Output = T>) -> T {
    let spinner = ProgressBar::with_draw_target(
        None,
        if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        spinner.set_style(style);
    }
    spinner.set_message("reading the live state");
    spinner.enable_steady_tick(Duration::from_millis(100));
    let result = work.await;
    spinner.finish_and_clear();
    result
}

/// Progress: a bar on a terminal, one line per finished action otherwise.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(plan: &Plan, visible: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(plan.actions.len() as u64),
            if visible {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {wide_msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress {
    fn started(&self, action: &Action) {
        self.bar.set_message(escape::text(&action.id).into_owned());
    }

    fn finished(&self, action: &Action, outcome: &Outcome) {
        let id = escape::text(&action.id);
        let line = match outcome {
            Outcome::Done(what) => format!("{id}: {}", escape::text(what)),
            Outcome::Failed(_) => format!("{id}: failed"),
            Outcome::Skipped(_) => format!("{id}: skipped"),
            Outcome::NotStarted => return,
        };
        if self.bar.is_hidden() {
            super::output::print_lenient(format_args!("{line}\n"));
        } else {
            self.bar.println(line);
        }
        self.bar.inc(1);
    }
}
