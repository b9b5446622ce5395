//! The bad-input corpus, run on the real `entitle` binary: every case in
//! `tests/bad-input/` (a directory of files and a `case.yaml` saying what
//! to run) and every manifest in `tests/corpus/bad/` (run as `validate`).
//!
//! Each case runs in a fresh temporary directory holding its files, with a
//! timeout (no hang), against a simulator when it needs the network. The
//! exit code and the first lines of what it printed are a snapshot (temp
//! paths, ports, ids and times redacted), and every message is checked: no
//! panic, the expected exit code, the file involved named, and a
//! what-to-do part (a hint, or a rule the value must follow).
//!
//! `tests/bad-input/README.md` describes the case format.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::support::{TestSim, redact};

/// Where the cases live.
const CASES: &str = "tests/bad-input";
/// The manifest corpus of `manifests.rs`, also run through the binary.
const MANIFESTS: &str = "tests/corpus/bad";
/// Longer than any case takes; a case that runs into it hangs.
const TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of each stream kept in a snapshot.
const STDERR_LINES: usize = 16;
const STDOUT_LINES: usize = 8;

/// Words that tell the reader what to do: a hint line, clap's pointer to
/// `--help`, or a rule the value must follow (the manifest checks state
/// what a valid value is).
const WHAT_TO_DO: &[&str] = &[
    "= hint:",
    "try '--help'",
    " must ",
    "must be",
    "at most",
    "at least",
    "one of",
];

/// One case's `case.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    /// What the case is about, in a line.
    about: String,
    /// The command line after `entitle --no-progress`, run in the case's
    /// directory.
    run: Vec<String>,
    /// The exit code expected (1 unless told).
    #[serde(default = "error_exit")]
    exit: i32,
    /// Start a simulator and point the environment at it.
    #[serde(default)]
    sim: bool,
    /// What the message must name (paths as printed): the file involved.
    #[serde(default)]
    names: Vec<String>,
    /// Why no file is named, for a case about the command line alone.
    #[serde(default)]
    no_file: Option<String>,
    /// Environment variables for the run (after the simulator's).
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
    /// Shared files (`tests/bad-input/_shared/<name>/`) copied in first.
    #[serde(default)]
    with: Vec<String>,
    /// Steps for what files in git cannot hold, in order.
    #[serde(default)]
    setup: Vec<Step>,
    /// For a case that takes a file's read permission away: what happens
    /// when the run can read it anyway (root).
    #[serde(default)]
    when_readable: Option<Readable>,
    /// A message known not to name its file or not to say what to do, and
    /// where it comes from; the runner checks it still falls short, so the
    /// note goes when it is fixed.
    #[serde(default)]
    gap: Option<String>,
}

fn error_exit() -> i32 {
    1
}

/// How a permission case ends when the file can be read after all.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Readable {
    exit: i32,
    #[serde(default)]
    names: Vec<String>,
}

/// A setup step.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    /// An empty directory.
    Mkdir(String),
    /// A symbolic link at `path` to `target`.
    Symlink { path: String, target: String },
    /// A named pipe.
    Fifo(String),
    /// The file's mode, in octal.
    Chmod { path: String, mode: String },
    /// A file of `text` repeated `times`.
    Fill {
        path: String,
        text: String,
        times: usize,
    },
    /// `text` appended to a file (made if absent).
    Append { path: String, text: String },
    /// The first occurrence of `from` in a file replaced by `to`.
    Replace {
        path: String,
        from: String,
        to: String,
    },
    /// The last `bytes` bytes of a file cut off.
    Cut { path: String, bytes: usize },
    /// The JSON value at `pointer` in a JSON file set to `value`.
    Json {
        path: String,
        pointer: String,
        value: serde_json::Value,
    },
    /// A file or directory removed.
    Remove(String),
    /// A file copied.
    Copy { from: String, to: String },
    /// A file or directory renamed.
    Move { from: String, to: String },
    /// The binary run with `args` (with the simulator when the case has
    /// one), which must exit with `exit`.
    Entitle { args: Vec<String>, exit: i32 },
    /// The state's lock held by this test process during the run.
    HoldLock,
}

/// A case ready to run.
struct Case {
    name: String,
    spec: Spec,
    /// The directory whose files are the case's (none for a manifest of
    /// `tests/corpus/bad`, which is copied alone).
    files: Option<PathBuf>,
    /// A single file copied in as `manifest.yaml`'s own name.
    manifest: Option<PathBuf>,
}

/// Every case: the directories of `tests/bad-input` and the manifests of
/// `tests/corpus/bad`, sorted by name.
fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = entries(CASES)
        .into_iter()
        .filter(|path| path.is_dir() && !name_of(path).starts_with('_'))
        .map(|dir| {
            let text = std::fs::read_to_string(dir.join("case.yaml"))
                .unwrap_or_else(|err| panic!("{}/case.yaml: {err}", dir.display()));
            let spec: Spec = serde_saphyr::from_str(&text)
                .unwrap_or_else(|err| panic!("{}/case.yaml: {err}", dir.display()));
            Case {
                name: name_of(&dir),
                spec,
                files: Some(dir),
                manifest: None,
            }
        })
        .collect();
    cases.extend(entries(MANIFESTS).into_iter().map(|file| {
        let file_name = name_of(&file);
        let stem = file_name.trim_end_matches(".yaml").to_string();
        Case {
            name: format!("manifest-{stem}"),
            spec: Spec {
                about: format!("the manifest {MANIFESTS}/{file_name}, validated"),
                run: vec!["validate".into(), file_name.clone()],
                exit: 1,
                sim: false,
                names: vec![file_name.clone()],
                no_file: None,
                env: Default::default(),
                with: Vec::new(),
                setup: Vec::new(),
                when_readable: None,
                gap: manifest_gap(&stem),
            },
            files: None,
            manifest: Some(file),
        }
    }));
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// The manifests of `tests/corpus/bad` whose message states no rule and no
/// hint (their text comes from `src/manifest/`).
fn manifest_gap(stem: &str) -> Option<String> {
    const GAPS: &[&str] = &[
        "01-bad-yaml-syntax",
        "39-proposal-plan-of-another-service",
        "45-proposal-unknown-plan-name",
        "49-proposal-aws-has-no-plans",
        "34-email-implausible",
    ];
    GAPS.contains(&stem)
        .then(|| "src/manifest: the message says what is wrong, not what to write".to_string())
}

fn entries(dir: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{dir}: {err}"))
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    paths
}

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Copies the files of `from` into `to`, recursively, leaving `case.yaml`.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_name() == "case.yaml" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Whether file permissions bind this process: false for root (or a
/// process with CAP_DAC_OVERRIDE), which reads a file of mode 000.
fn permissions_bind() -> bool {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"x").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::read(&probe).is_err()
}

/// What one run printed and how it ended.
struct Outcome {
    /// The exit code, or `None` when a signal ended it.
    code: Option<i32>,
    stdout: String,
    stderr: String,
    hung: bool,
}

/// A case in its temporary directory, with its simulator.
struct Setup {
    dir: tempfile::TempDir,
    sim: Option<TestSim>,
    /// Held for the run by [`Step::HoldLock`].
    lock: Option<entitle::state::StateLock>,
    /// The case's environment variables.
    env: std::collections::BTreeMap<String, String>,
}

impl Setup {
    fn new(case: &Case) -> Self {
        let setup = Setup {
            dir: tempfile::tempdir().unwrap(),
            sim: case.spec.sim.then(TestSim::start),
            lock: None,
            env: case.spec.env.clone(),
        };
        for shared in &case.spec.with {
            copy_tree(&Path::new(CASES).join("_shared").join(shared), setup.path());
        }
        if let Some(files) = &case.files {
            copy_tree(files, setup.path());
        }
        if let Some(manifest) = &case.manifest {
            std::fs::copy(manifest, setup.path().join(name_of(manifest))).unwrap();
        }
        setup
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn at(&self, relative: &str) -> PathBuf {
        self.path().join(relative)
    }

    /// `entitle --no-progress`, in the case's directory, pointed at the
    /// simulator when there is one.
    fn command(
        &self,
        args: &[String],
        env: &std::collections::BTreeMap<String, String>,
    ) -> std::process::Command {
        let mut command = match &self.sim {
            Some(sim) => sim.command_in(self.path()),
            None => {
                let mut command = crate::support::binary();
                command.arg("--no-progress");
                command
            }
        };
        command
            .current_dir(self.path())
            .envs(env)
            .args(args)
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[String]) -> Outcome {
        let started = Instant::now();
        let output = assert_cmd::Command::from_std(self.command(args, &self.env))
            .timeout(TIMEOUT)
            .output()
            .unwrap();
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            hung: started.elapsed() >= TIMEOUT,
        }
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Mkdir(path) => std::fs::create_dir_all(self.at(path)).unwrap(),
            Step::Symlink { path, target } => {
                std::os::unix::fs::symlink(target, self.at(path)).unwrap();
            }
            Step::Fifo(path) => {
                let made = std::process::Command::new("mkfifo")
                    .arg(self.at(path))
                    .status()
                    .unwrap();
                assert!(made.success(), "mkfifo {path}");
            }
            Step::Chmod { path, mode } => {
                use std::os::unix::fs::PermissionsExt;
                let mode = u32::from_str_radix(mode, 8).unwrap();
                std::fs::set_permissions(self.at(path), std::fs::Permissions::from_mode(mode))
                    .unwrap();
            }
            Step::Fill { path, text, times } => {
                std::fs::write(self.at(path), text.repeat(*times)).unwrap();
            }
            Step::Append { path, text } => {
                let mut bytes = std::fs::read(self.at(path)).unwrap_or_default();
                bytes.extend_from_slice(text.as_bytes());
                std::fs::write(self.at(path), bytes).unwrap();
            }
            Step::Replace { path, from, to } => {
                let text = std::fs::read_to_string(self.at(path)).unwrap();
                assert!(text.contains(from.as_str()), "{path} has no {from:?}");
                std::fs::write(self.at(path), text.replacen(from.as_str(), to, 1)).unwrap();
            }
            Step::Cut { path, bytes } => {
                let mut content = std::fs::read(self.at(path)).unwrap();
                content.truncate(content.len() - bytes);
                std::fs::write(self.at(path), content).unwrap();
            }
            Step::Json {
                path,
                pointer,
                value,
            } => self.set_json(path, pointer, value),
            Step::Remove(path) => {
                let path = self.at(path);
                if path.is_dir() {
                    std::fs::remove_dir_all(path).unwrap();
                } else {
                    std::fs::remove_file(path).unwrap();
                }
            }
            Step::Copy { from, to } => {
                std::fs::copy(self.at(from), self.at(to)).unwrap();
            }
            Step::Move { from, to } => std::fs::rename(self.at(from), self.at(to)).unwrap(),
            Step::Entitle { args, exit } => {
                let outcome = self.run(args);
                assert_eq!(
                    outcome.code,
                    Some(*exit),
                    "setup `entitle {}`\n--- stdout\n{}\n--- stderr\n{}",
                    args.join(" "),
                    outcome.stdout,
                    outcome.stderr
                );
            }
            Step::HoldLock => {
                let lock = entitle::state::StateLock::acquire(
                    &self.at("entitle.state.json"),
                    "apply",
                    Duration::ZERO,
                )
                .unwrap();
                self.lock = Some(lock);
            }
        }
    }

    fn set_json(&self, path: &str, pointer: &str, value: &serde_json::Value) {
        let file = self.at(path);
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        *json
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{path} has nothing at {pointer}")) = value.clone();
        std::fs::write(&file, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    }

    /// What a message shows instead of what varies between runs: the
    /// temporary directory, the simulator's port, ids, times, and who
    /// holds a lock.
    fn redact(&self, text: &str) -> String {
        let mut text = text.replace(&self.path().display().to_string(), "[TMP]");
        if let Some(sim) = &self.sim {
            text = text.replace(&sim.url, "[SIM]");
        }
        redact_times(&redact(&text))
            .split_inclusive('\n')
            .map(redact_holder)
            .collect()
    }
}

/// The holder of the lock this process holds (`apply by USER, pid PID on
/// HOST, since TIME`) as `[USER]`, `[PID]` and `[HOST]`.
fn redact_holder(line: &str) -> String {
    let pid = line.find(&format!("pid {}", std::process::id()));
    let by = pid.and_then(|pid| line[..pid].rfind(" by "));
    match (by, line.find(", since")) {
        (Some(by), Some(since)) if by < since => format!(
            "{} by [USER], pid [PID] on [HOST]{}",
            &line[..by],
            &line[since..]
        ),
        _ => line.to_string(),
    }
}

/// RFC 3339 times as `[TIME]`, and durations (`(0.4s)`, `waited 12ms`) as
/// `[DURATION]`.
fn redact_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(len) = time_at(rest).or_else(|| duration_at(rest)) {
            out.push_str(if time_at(rest).is_some() {
                "[TIME]"
            } else {
                "[DURATION]"
            });
            rest = &rest[len..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The length of an RFC 3339 time at the start of `text`.
fn time_at(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let date = bytes.len() > 11
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T';
    date.then(|| {
        text.find(|c: char| c.is_whitespace() || matches!(c, ')' | ',' | '"'))
            .unwrap_or(text.len())
    })
}

/// The length of a duration (`12ms`, `0.4s`, `1.2µs`, `0ns`) at the start
/// of `text`, when it starts a word.
fn duration_at(text: &str) -> Option<usize> {
    let digits = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    if digits == 0 {
        return None;
    }
    ["ms", "µs", "ns", "s"]
        .iter()
        .find(|unit| {
            text[digits..].starts_with(*unit)
                && !text[digits + unit.len()..].starts_with(|c: char| c.is_alphanumeric())
        })
        .map(|unit| digits + unit.len())
}

/// The first `n` lines of `text`, and how many more there were.
fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut shown = lines[..lines.len().min(n)].join("\n");
    if lines.len() > n {
        shown.push_str(&format!("\n[… {} more lines]", lines.len() - n));
    }
    shown
}

/// The snapshot of an outcome.
fn snapshot(setup: &Setup, outcome: &Outcome) -> String {
    let code = outcome
        .code
        .map_or_else(|| "killed by a signal".to_string(), |c| c.to_string());
    format!(
        "exit: {code}\n--- stderr\n{}\n--- stdout\n{}\n",
        first_lines(&setup.redact(&outcome.stderr), STDERR_LINES),
        first_lines(&setup.redact(&outcome.stdout), STDOUT_LINES)
    )
}

/// Runs one case and checks it; a failed check panics.
fn run_case(case: &Case, permissions_bind: bool) {
    let mut setup = Setup::new(case);
    let takes_permission = case
        .spec
        .setup
        .iter()
        .any(|step| matches!(step, Step::Chmod { .. }));
    for step in &case.spec.setup {
        setup.step(step);
    }
    let outcome = setup.run(&case.spec.run);
    let all = format!("{}\n{}", outcome.stderr, outcome.stdout);
    assert!(!outcome.hung, "hung: no end within {TIMEOUT:?}");
    assert!(
        !all.contains("panicked") && !all.contains("RUST_BACKTRACE"),
        "panicked:\n{all}"
    );
    let (exit, names) = match (
        &case.spec.when_readable,
        takes_permission && !permissions_bind,
    ) {
        (Some(readable), true) => (readable.exit, &readable.names),
        (None, true) => panic!("a case that takes a permission away needs `when_readable`"),
        (_, false) => (case.spec.exit, &case.spec.names),
    };
    assert_eq!(outcome.code, Some(exit), "exit code\n{all}");
    check_message(case, names, &outcome);
    // A permission case is recorded as root sees it (as CI runs); where
    // permissions bind, the checks above are the test.
    if !(takes_permission && permissions_bind) {
        insta::assert_snapshot!(case.name.clone(), snapshot(&setup, &outcome));
    }
    drop(setup.lock.take());
}

/// The message names the file and says what to do (or the case's known gap
/// is still there).
fn check_message(case: &Case, names: &[String], outcome: &Outcome) {
    if outcome.code == Some(0) {
        // Accepted: there is no message to check.
        assert!(
            names.is_empty(),
            "an accepted input has no message to name a file in"
        );
        return;
    }
    let message = &outcome.stderr;
    assert!(
        !names.is_empty() || case.spec.no_file.is_some(),
        "the case names no file and does not say why (`no_file`)"
    );
    let unnamed: Vec<&String> = names
        .iter()
        .filter(|name| !message.contains(name.as_str()))
        .collect();
    let says_what_to_do = WHAT_TO_DO.iter().any(|words| message.contains(words));
    match &case.spec.gap {
        None => {
            assert!(
                unnamed.is_empty(),
                "the message does not name {unnamed:?}:\n{message}"
            );
            assert!(
                says_what_to_do,
                "the message does not say what to do:\n{message}"
            );
        }
        Some(gap) => assert!(
            !unnamed.is_empty() || !says_what_to_do,
            "the known gap ({gap}) is fixed: remove it from the case\n{message}"
        ),
    }
}

/// Every case of the corpus, on the binary. Failures are gathered, so one
/// run lists them all.
#[test]
fn every_bad_input_gets_a_clear_message_naming_its_file() {
    let permissions_bind = permissions_bind();
    let only = std::env::var("CORPUS_CASE").ok();
    let mut failed = Vec::new();
    let mut ran = 0;
    for case in cases() {
        if only
            .as_deref()
            .is_some_and(|only| !case.name.contains(only))
        {
            continue;
        }
        ran += 1;
        let result = std::panic::catch_unwind(|| run_case(&case, permissions_bind));
        if let Err(panic) = result {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(ToString::to_string))
                .unwrap_or_default();
            failed.push(format!("{} ({}): {why}", case.name, case.spec.about));
        }
    }
    assert!(ran > 0, "no case matched");
    assert!(
        failed.is_empty(),
        "{} of {ran} cases failed:\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}

/// The corpus cannot silently shrink.
#[test]
fn the_corpus_holds_at_least_150_cases() {
    let cases = cases();
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    let with_sim = cases.iter().filter(|case| case.spec.sim).count();
    assert!(
        with_sim >= 10,
        "only {with_sim} cases run against the simulator"
    );
}
