//! The command line: clap definitions, one file per subcommand, and the only
//! place that prints. Each subcommand resolves its options and calls one
//! library function; what it prints is decided here.

mod apply;
mod completions;
mod demo;
mod drift;
mod graph;
mod import;
mod output;
mod plan;
mod progress;
mod report;
mod schema;
mod settings;
mod show;
mod sim;
mod state;
mod validate;
mod watch;
mod workspace;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::Error;

/// Commercial entitlements as code: declare Arcserve UDP licenses, ECL
/// proposals and Redstor subscriptions in YAML, validate them, and try them
/// against a local simulator of the vendor APIs.
#[derive(Debug, Parser)]
#[command(name = "entitle", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes, under their own heading in `--help` so
/// that a subcommand's own options stand apart (a command that has no use
/// for one, such as `schema` for `--lock-timeout`, accepts and ignores it).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// More output: -v shows plan details (a proposal's XML diff) and info
    /// logs, -vv debug, -vvv trace; logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The state file [default: entitle.state.json] (short for --backend file:PATH).
    #[arg(long, global = true, env = "ENTITLE_STATE")]
    pub state: Option<PathBuf>,
    /// Where the state is kept: file:PATH, or postgres://USER@HOST:PORT/DATABASE
    /// for a state a team shares (README: Team use).
    #[arg(long, global = true, env = "ENTITLE_BACKEND", hide_env_values = true)]
    pub backend: Option<String>,
    /// The workspace: one of the backend's states, e.g. one per environment
    /// (`entitle workspace list`).
    #[arg(
        long,
        global = true,
        env = "ENTITLE_WORKSPACE",
        default_value = crate::state::DEFAULT_WORKSPACE
    )]
    pub workspace: String,
    /// How long to wait for another run's lock on the state (e.g. 30s, 5m).
    #[arg(long, global = true, default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: Duration,
    /// No progress bars on stderr.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// How the error a command ends with is written on stderr: text, or
    /// github: GitHub Actions workflow commands, one `::error` per problem
    /// (a manifest's, a plan's, a failed action's), which annotate the files.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "ENTITLE_ERROR_FORMAT",
        default_value_t = ErrorFormat::Text
    )]
    pub error_format: ErrorFormat,
}

/// How errors are written (`--error-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ErrorFormat {
    Text,
    Github,
}

/// How `plan`, `drift` and `report` print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline: syntax, fields, values and references.
    Validate(validate::Args),
    /// Show what apply would change (exit 2 with --detailed-exitcode when it would).
    Plan(plan::Args),
    /// Make the live state match the manifests, or carry out a saved plan.
    Apply(apply::Args),
    /// Print a saved plan again (no refresh, no lock).
    Show(show::Args),
    /// Report what changed outside entitle (exit 2 when something did).
    Drift(drift::Args),
    /// Drift in a loop: Prometheus metrics, health, a webhook, optional self-heal.
    Watch(watch::Args),
    /// Bind a declared resource to an object that already exists.
    Import(import::Args),
    /// Draw the manifests' dependency graph (DOT or Mermaid).
    Graph(graph::Args),
    /// Report a Redstor company's consumption, backups or restores, with its customers'.
    Report(report::Args),
    /// Print shell completions.
    Completions(completions::Args),
    /// Look at or edit the state: list, show, rm, mv, lock, unlock, history, rollback, prune, migrate.
    State(state::Args),
    /// The backend's workspaces (one state each): list, show, new, delete.
    Workspace(workspace::Args),
    /// Write the JSON Schema of every manifest kind (for editors and CI).
    Schema(schema::Args),
    /// Run the API simulator (Keystone, Arcserve UDP, ECL proposals) on a local port.
    Sim(sim::Args),
    /// Start the simulator in-process and run examples/ against it, end to end.
    Demo(demo::Args),
}

/// Process exit codes: 0 success (no changes), 1 error, 2 changes
/// present, 3 a saved plan refused as stale (nothing was applied: plan
/// again and apply the new plan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success,
    Error,
    Changes,
    StalePlan,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        match exit {
            Exit::Success => ExitCode::SUCCESS,
            Exit::Error => ExitCode::from(1),
            Exit::Changes => ExitCode::from(2),
            Exit::StalePlan => ExitCode::from(3),
        }
    }
}

impl Exit {
    /// The exit code of a command that ended with `err`.
    fn of_error(err: &Error) -> Exit {
        use crate::plan::saved::SavedPlanError;
        if matches!(err, Error::SavedPlan(SavedPlanError::Stale { .. })) {
            Exit::StalePlan
        } else {
            Exit::Error
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout and usage errors to stderr.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging(&cli.global, Logging::of(&cli.command));
    let error_format = cli.global.error_format;
    match run(cli) {
        Ok(exit) => exit.into(),
        Err(Error::ClosedPipe) => Exit::Success.into(),
        Err(err) => {
            report_error(&err, error_format);
            Exit::of_error(&err).into()
        }
    }
}

/// Writes the error a command ended with on stderr, as `format` says.
fn report_error(err: &Error, format: ErrorFormat) {
    match format {
        ErrorFormat::Text => output::eprintln(err),
        ErrorFormat::Github => {
            for problem in crate::problem::of_error(err) {
                output::eprintln(problem.github_command());
            }
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<Exit, Error> {
    let global = &cli.global;
    match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Plan(args) => plan::run(global, args),
        Command::Apply(args) => apply::run(global, args),
        Command::Show(args) => show::run(global, args),
        Command::Drift(args) => drift::run(global, args),
        Command::Watch(args) => watch::run(global, args),
        Command::Import(args) => import::run(global, args),
        Command::Graph(args) => graph::run(args),
        Command::Report(args) => report::run(global, args),
        Command::Completions(args) => completions::run(args),
        Command::State(args) => state::run(global, args),
        Command::Workspace(args) => workspace::run(global, args),
        Command::Schema(args) => schema::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Demo(args) => demo::run(args),
    }
}

/// How a command logs: a one-shot command warnings only and no time; a
/// long-running one (`watch`) from info, timestamped, as text or JSON.
struct Logging {
    service: bool,
    json: bool,
}

impl Logging {
    fn of(command: &Command) -> Logging {
        match command {
            Command::Watch(args) => Logging {
                service: true,
                json: args.log_format == watch::LogFormat::Json,
            },
            Command::Validate(_)
            | Command::Plan(_)
            | Command::Apply(_)
            | Command::Show(_)
            | Command::Drift(_)
            | Command::Import(_)
            | Command::Graph(_)
            | Command::Report(_)
            | Command::Completions(_)
            | Command::State(_)
            | Command::Workspace(_)
            | Command::Schema(_)
            | Command::Sim(_)
            | Command::Demo(_) => Logging {
                service: false,
                json: false,
            },
        }
    }
}

fn init_logging(global: &GlobalArgs, logging: Logging) {
    use tracing_subscriber::filter::LevelFilter;
    let level = match (global.quiet, global.verbose + u8::from(logging.service)) {
        (true, _) => LevelFilter::ERROR,
        (false, 0) => LevelFilter::WARN,
        (false, 1) => LevelFilter::INFO,
        (false, 2) => LevelFilter::DEBUG,
        (false, _) => LevelFilter::TRACE,
    };
    let ansi = match global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match (logging.service, logging.json) {
        (_, true) => builder.json().flatten_event(true).try_init(),
        (true, false) => builder.with_ansi(ansi).try_init(),
        (false, false) => builder.with_ansi(ansi).without_time().try_init(),
    };
}

/// A multi-threaded tokio runtime for the commands that do network I/O.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::Io {
            what: "could not start the async runtime".into(),
            source: err,
        })
}

/// Asks `question` on the terminal and accepts only `yes`. Without a
/// terminal it refuses, saying what to pass instead (`hint`).
fn confirm(question: &str, hint: &str) -> Result<bool, Error> {
    use std::io::BufRead;
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "confirmation needed, and there is no terminal to ask on",
            hint,
        ));
    }
    output::print(format_args!("{question} Only 'yes' will be accepted: "))?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|source| Error::Io {
            what: "could not read the answer".into(),
            source,
        })?;
    Ok(answer.trim() == "yes")
}

/// Writes a file only its owner can read (plans hold account details).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let io = |source: std::io::Error| {
        Error::usage(
            format!("could not write {}: {source}", path.display()),
            "name a file in a directory that exists and this user can write to",
        )
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}
