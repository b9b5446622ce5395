//! `entitle apply [PLANFILE | PATH...]`: make the live state match.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::progress::{self, Progress};
use super::settings::{self, paths_or_cwd};
use super::{ErrorFormat, Exit, GlobalArgs, confirm, output, runtime};
use crate::Error;
use crate::apply::{ApplyOptions, ApplyReport, Outcome};
use crate::escape;
use crate::manifest::Address;
use crate::plan::model::Plan;
use crate::plan::render::{self, Style};
use crate::plan::saved::SavedPlan;
use crate::policy::{PolicyOverride, PolicyReport, Rule, Stage};
use crate::state::State;
use crate::state::lock::{identity, now_rfc3339};
use crate::workflow::{Workspace, judge};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle apply manifests/\n  entitle apply plan.json\n  entitle apply manifests/ --auto-approve --parallelism 16\n  entitle apply manifests/ --refresh-only\n  entitle apply plan.json --override-policy maxDeletes"
)]
pub struct Args {
    /// A plan file from `entitle plan --out`, or manifest files and directories.
    pub paths: Vec<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Actions in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Apply only this resource and what it depends on (repeatable).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<Address>,
    /// Make this resource anew even though nothing forces it (repeatable;
    /// see `plan --replace`).
    #[arg(long = "replace", value_name = "ADDR")]
    pub replace: Vec<Address>,
    /// How long to wait for a license to finish provisioning or deleting.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub wait_timeout: std::time::Duration,
    /// Change nothing on the server: record in the state what changed
    /// outside entitle (see `plan --refresh-only`).
    #[arg(long, conflicts_with_all = ["targets", "replace"])]
    pub refresh_only: bool,
    /// Carry out replacements that delete data: a Redstor company whose
    /// companyName or type changed (RedAPI cannot rename), or a subscription
    /// whose company, product or edition changed.
    #[arg(long)]
    pub allow_replace: bool,
    /// Let the violations of one rule of the manifests' Policy through
    /// (maxDeletes, maxReplaces, protect, changeWindows; repeatable); the
    /// state records the override. A saved plan's overrides count too.
    #[arg(long = "override-policy", value_name = "RULE")]
    pub override_policy: Vec<Rule>,
}

/// A single argument that is a file but not YAML is a saved plan.
fn plan_file(paths: &[PathBuf]) -> Option<&PathBuf> {
    match paths {
        [one] if one.is_file() => {
            let ext = one.extension().and_then(|e| e.to_str()).unwrap_or("");
            (!matches!(ext, "yaml" | "yml")).then_some(one)
        }
        _ => None,
    }
}

pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    if args.refresh_only {
        return super::drift::refresh_only_apply(
            global,
            paths_or_cwd(args.paths.clone()),
            args.auto_approve,
        );
    }
    let saved_path = plan_file(&args.paths).cloned();
    let saved = saved_path.as_deref().map(SavedPlan::read).transpose()?;
    let paths = match (&saved, &saved_path) {
        (Some(saved), Some(path)) => saved.manifest_paths_here(path)?,
        _ => paths_or_cwd(args.paths.clone()),
    };
    if let (Some(path), false) = (&saved_path, args.targets.is_empty()) {
        return Err(Error::usage(
            format!("--target cannot narrow the saved plan {}", path.display()),
            "pass --target to `entitle plan --out` instead",
        ));
    }
    if let (Some(path), false) = (&saved_path, args.replace.is_empty()) {
        return Err(Error::usage(
            format!("--replace cannot change the saved plan {}", path.display()),
            "pass --replace to `entitle plan --out` instead",
        ));
    }
    let style = Style {
        color: settings::color_stdout(global),
        verbose: global.verbose > 0,
    };
    let runtime = runtime()?;
    runtime.block_on(async {
        let workspace = settings::workspace(global, paths).await?;
        let _lock = workspace.lock("apply").await?;
        let (plan, state, desired): (Plan, _, _) = match (&saved, &saved_path) {
            (Some(saved), Some(path)) => {
                let state = workspace.store.load().await?;
                let desired = workspace.load()?;
                let place = settings::place(&workspace.store);
                saved.check_fresh(path, &place, state.as_ref(), &desired)?;
                (saved.plan.clone(), state.unwrap_or_default(), desired)
            }
            _ => {
                let mut planned = progress::refreshing(
                    settings::show_progress(global),
                    workspace.plan_replacing(&args.targets, &args.replace),
                )
                .await?;
                if let Some(report) = &mut planned.plan.policy {
                    report.allow(&args.override_policy);
                }
                output::print_on(render::text(&planned.plan, style))?;
                (planned.plan, planned.state, planned.desired)
            }
        };
        let overrides = overrides_of(&args.override_policy, &plan);
        let judged = judge(&desired, &state, &plan, Stage::Apply, &overrides)
            .filter(|_| !plan.is_empty());
        if let Some(report) = &judged {
            report.enforce()?;
        }
        if plan.is_empty() {
            if saved.is_some() {
                output::print_on("The plan has no changes.\n")?;
            }
            return Ok(Exit::Success);
        }
        workspace.store.check_room(&state)?;
        refuse_replacements_without_consent(&plan, args.allow_replace)?;
        if saved.is_none()
            && !args.auto_approve
            && !confirm(
                "\nDo you want to perform these actions?",
                "apply needs confirmation: pass --auto-approve, or apply a reviewed plan file: `entitle plan --out plan.json` then `entitle apply plan.json`",
            )?
        {
            output::eprintln("Apply cancelled.");
            return Ok(Exit::Error);
        }

        let state = match &judged {
            Some(report) => record_overrides(&workspace, state, report, &args.paths).await?,
            None => state,
        };
        let cancel_rx = cancel_on_ctrl_c();
        let observer = Arc::new(Progress::new(&plan, settings::show_progress(global)));
        let options = ApplyOptions {
            parallelism: usize::from(args.parallelism),
            wait_timeout: args.wait_timeout,
            allow_replace: args.allow_replace,
            ..ApplyOptions::default()
        };
        let started = Instant::now();
        let report = workspace
            .apply(&plan, state, options, observer.clone(), cancel_rx)
            .await;
        observer.finish();

        report_outcome(&report, &workspace, started, global.error_format)
    })
}

/// The rules overridden on the command line and, for a saved plan, when
/// it was made (the reviewed plan shows them).
fn overrides_of(flags: &[Rule], plan: &Plan) -> Vec<Rule> {
    let mut rules = flags.to_vec();
    if let Some(report) = &plan.policy {
        rules.extend(report.overridden().map(|violation| violation.rule));
    }
    rules.sort_unstable();
    rules.dedup();
    rules
}

/// Writes the overridden violations into the state before anything is
/// applied: the override is on record even if the apply then fails.
async fn record_overrides(
    workspace: &Workspace,
    mut state: State,
    report: &PolicyReport,
    paths: &[PathBuf],
) -> Result<State, Error> {
    let mut rules: Vec<String> = Vec::new();
    let operation = format!(
        "apply {}",
        paths
            .iter()
            .map(|path| path.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    for violation in report.overridden() {
        rules.push(violation.rule.to_string());
        state.policy_overrides.push(PolicyOverride {
            rule: violation.rule,
            violation: violation.message.clone(),
            at: now_rfc3339(),
            by: identity(),
            operation: operation.trim_end().to_string(),
        });
    }
    if rules.is_empty() {
        return Ok(state);
    }
    rules.dedup();
    let flags: Vec<String> = rules
        .iter()
        .map(|r| format!("--override-policy {r}"))
        .collect();
    workspace
        .store
        .write(&mut state, &format!("apply {}", flags.join(" ")))
        .await?;
    output::eprintln(format_args!(
        "Policy `{}`: {} overridden; recorded in the state (serial {}).",
        escape::text(&report.policy),
        rules.join(", "),
        state.serial
    ));
    Ok(state)
}

/// A replacement that deletes data at the vendor needs `--allow-replace`.
fn refuse_replacements_without_consent(plan: &Plan, allow_replace: bool) -> Result<(), Error> {
    let destroying = plan.replacements_needing_consent();
    if destroying.is_empty() || allow_replace {
        return Ok(());
    }
    let names: Vec<String> = destroying.iter().map(ToString::to_string).collect();
    Err(Error::usage(
        format!(
            "the plan replaces {}, which deletes the old object and its data at Redstor",
            names.join(", ")
        ),
        "review the plan; if that is intended, run apply again with --allow-replace",
    ))
}

/// Ctrl-C stops new actions and lets those in flight finish and be
/// recorded; a second Ctrl-C aborts at once.
fn cancel_on_ctrl_c() -> tokio::sync::watch::Receiver<bool> {
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            output::eprintln(
                "\nInterrupted: finishing the actions in flight and saving the state (Ctrl-C again to abort at once)",
            );
            let _ = cancel_tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    cancel_rx
}

/// A failed action as a GitHub Actions workflow command, titled by the
/// action's id (`create ArcserveLicense/web`).
fn failed_command(id: &str, why: &str) -> String {
    crate::problem::Problem {
        address: Some(format!("failed: {id}")),
        ..crate::problem::Problem::message(why)
    }
    .github_command()
}

/// What failed or was skipped, and the verdict: on stdout when the apply
/// succeeded, else with the failures on stderr.
fn report_outcome(
    report: &ApplyReport,
    workspace: &Workspace,
    started: Instant,
    error_format: ErrorFormat,
) -> Result<Exit, Error> {
    let done = report.count(|o| matches!(o, Outcome::Done(_)));
    let failed = report.count(|o| matches!(o, Outcome::Failed(_)));
    let skipped = report.count(|o| matches!(o, Outcome::Skipped(_)));
    let not_started = report.count(|o| matches!(o, Outcome::NotStarted));
    for (id, outcome) in &report.outcomes {
        match outcome {
            Outcome::Failed(why) => match error_format {
                ErrorFormat::Text => {
                    output::eprintln(format_args!("failed:  {}: {why}", escape::text(id)));
                }
                ErrorFormat::Github => output::eprintln(failed_command(id, &why.to_string())),
            },
            Outcome::Skipped(why) => {
                output::eprintln(format_args!("skipped: {}: {why}", escape::text(id)));
            }
            Outcome::Done(_) | Outcome::NotStarted => {}
        }
    }
    if let (Some(why), Some(file)) = (&report.fold_failed, workspace.store.file()) {
        output::eprintln(format_args!(
            "warning: the changes are recorded in {}, but folding it into the state file failed: {why}",
            file.journal_path().display()
        ));
    }
    if let Some((place, serial)) = &report.state_stopped {
        output::eprintln(format_args!(
            "The state in {place} holds every change recorded before the failure (serial {serial}); nothing was started after it. Run apply again once the state can be written: it reads back what was done."
        ));
    }
    let verdict = if report.interrupted {
        "Apply interrupted"
    } else if failed > 0 {
        "Apply failed"
    } else {
        "Apply complete"
    };
    let summary = format!(
        "\n{verdict}: {done} done, {failed} failed, {skipped} skipped, {not_started} not started ({:.1}s).",
        started.elapsed().as_secs_f64()
    );
    if !report.succeeded() {
        output::eprintln(summary);
        return Ok(Exit::Error);
    }
    output::print_on(format_args!("{summary}\n")).map_err(|err| match err {
        Error::Io { what, source } => Error::Io {
            what: format!("{}; but {what}", summary.trim()),
            source,
        },
        other => other,
    })?;
    Ok(Exit::Success)
}
