//! `entitle plan`: show what apply would do, optionally saved to a file.

use std::path::PathBuf;

use super::settings::{self, paths_or_cwd};
use super::{Exit, GlobalArgs, OutputFormat, output, runtime, write_private};
use crate::Error;
use crate::escape;
use crate::manifest::Address;
use crate::plan::model::Plan;
use crate::plan::render::{self, MarkdownOptions, Style};
use crate::plan::saved::SavedPlan;
use crate::policy::Rule;
use crate::report::budget::Budget;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle plan manifests/\n  entitle plan manifests/ --out plan.json\n  entitle plan manifests/ --format markdown --lock=false > comment.md\n  entitle plan manifests/ --target ArcserveLicense/backup-prod-web --detailed-exitcode\n  entitle plan manifests/ --override-policy maxDeletes --out plan.json\n  entitle plan manifests/ --replace ArcserveLicense/backup-prod-web --out plan.json"
)]
pub struct Args {
    /// Manifest files or directories.
    pub paths: Vec<PathBuf>,
    /// Save the plan, for `entitle apply FILE`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// text for a terminal, json for tools (README: the plan JSON format),
    /// markdown for a pull-request comment.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only this resource and what it depends on (repeatable).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<Address>,
    /// Make this resource anew even though nothing forces it (a license
    /// whose keys leaked gets a new license; repeatable).
    #[arg(long = "replace", value_name = "ADDR")]
    pub replace: Vec<Address>,
    /// Take the state lock while planning (`--lock=false`: do not, so that
    /// plans of pull requests run side by side; apply always locks).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub lock: bool,
    /// Show only what changed outside entitle, which `apply --refresh-only`
    /// records in the state.
    #[arg(long, conflicts_with_all = ["out", "targets", "replace"])]
    pub refresh_only: bool,
    /// Let the violations of one rule of the manifests' Policy through
    /// (maxDeletes, maxReplaces, protect, changeWindows; repeatable). A
    /// saved plan carries it to apply, which records it in the state.
    #[arg(long = "override-policy", value_name = "RULE")]
    pub override_policy: Vec<Rule>,
    #[command(flatten)]
    pub markdown: MarkdownArgs,
}

/// How `--format markdown` shows a plan (`plan` and `show`).
#[derive(Debug, clap::Args)]
pub struct MarkdownArgs {
    /// The Markdown heading [default: `entitle plan · WORKSPACE · PATHS`].
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// The most characters the Markdown may have (at least 1000); what does
    /// not fit is shortened, then left out and counted.
    #[arg(long, value_name = "N", default_value_t = Budget::default(), value_parser = parse_budget)]
    pub max_chars: Budget,
}

impl MarkdownArgs {
    /// The options, with `default_title` when no --title was given.
    pub fn options(&self, default_title: impl FnOnce() -> String) -> MarkdownOptions {
        MarkdownOptions {
            title: self.title.clone().unwrap_or_else(default_title),
            budget: self.max_chars,
        }
    }
}

/// `--max-chars N`: digits (commas allowed), at least [`crate::report::budget::MIN_CHARS`].
pub fn parse_budget(text: &str) -> Result<Budget, String> {
    let digits = text.replace(',', "");
    let chars: usize = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a number of characters, e.g. 60000"))?;
    Budget::new(chars)
}

/// `plan` as `plan` and `show` print it.
pub fn rendered(
    global: &GlobalArgs,
    plan: &Plan,
    format: OutputFormat,
    markdown: &MarkdownOptions,
) -> String {
    match format {
        OutputFormat::Text => render::text(
            plan,
            Style {
                color: settings::color_stdout(global),
                verbose: global.verbose > 0,
            },
        ),
        OutputFormat::Json => format!("{}\n", escape::json_pretty(&render::json_value(plan))),
        OutputFormat::Markdown => render::markdown(plan, markdown),
    }
}

pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    let paths = paths_or_cwd(args.paths);
    if args.refresh_only {
        return super::drift::refresh_only_plan(
            global,
            paths,
            args.format,
            args.markdown.max_chars,
            args.detailed_exitcode,
        );
    }
    let (mut planned, place) = runtime()?.block_on(async {
        let workspace = settings::workspace(global, paths.clone()).await?;
        let _lock = match args.lock {
            true => Some(workspace.lock("plan").await?),
            false => None,
        };
        let planned = super::progress::refreshing(
            settings::show_progress(global),
            workspace.plan_replacing(&args.targets, &args.replace),
        )
        .await?;
        Ok::<_, Error>((planned, settings::place(&workspace.store)))
    })?;
    let markdown = args
        .markdown
        .options(|| render::markdown::default_title(&place.workspace, &paths));
    let refusal = planned.plan.policy.as_mut().and_then(|report| {
        report.allow(&args.override_policy);
        report.enforce().err()
    });
    if let Some(refusal) = refusal {
        output::print(rendered(global, &planned.plan, args.format, &markdown))?;
        return Err(refusal.into());
    }
    if let Some(out) = &args.out {
        let state = planned.state_existed.then_some(&planned.state);
        let saved = SavedPlan::new(
            planned.plan.clone(),
            state,
            place.clone(),
            &planned.desired,
            &paths,
            out,
        );
        let bytes = serde_json::to_vec_pretty(&saved).map_err(|err| {
            Error::usage(
                format!("could not serialise the plan: {err}"),
                "this is a bug in entitle; please report it",
            )
        })?;
        write_private(out, &bytes)?;
    }
    output::print(rendered(global, &planned.plan, args.format, &markdown))?;
    if let Some(out) = args
        .out
        .as_ref()
        .filter(|_| args.format == OutputFormat::Text)
    {
        output::println(format_args!(
            "\nSaved the plan to {}; apply it with `entitle apply {}`.",
            out.display(),
            out.display()
        ))?;
    }
    Ok(if args.detailed_exitcode && !planned.plan.is_empty() {
        Exit::Changes
    } else {
        Exit::Success
    })
}
