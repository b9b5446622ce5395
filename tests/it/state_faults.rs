//! The state's own failures, through the binary: a serial at the end of its
//! range, caught before anything is sent to a vendor, and a file-size limit
//! (`ulimit -f`), which must fail a write with a message rather than kill
//! the process with SIGXFSZ.

use crate::support::{PLAN_ADVANCED_9, Project, TestSim, license_yaml};

/// A project with one license applied, whose manifest then asks for one
/// key more, and whose state is then set to the last serial there is.
fn at_last_serial(sim: &TestSim) -> Project<'_> {
    let project = Project::with_tenant(sim);
    project.write(
        "db.yaml",
        &license_yaml("db", PLAN_ADVANCED_9, 1, "9.0", ""),
    );
    project.apply().expect(0);
    project.write(
        "db.yaml",
        &license_yaml("db", PLAN_ADVANCED_9, 2, "9.0", ""),
    );
    let mut state = project.state_file();
    state["serial"] = u64::MAX.into();
    std::fs::write(project.state_path(), state.to_string()).unwrap();
    project
}

/// The requests that change something at a vendor, from the simulator's
/// counts (reads and sign-ins left out).
fn changes_sent(sim: &TestSim) -> Vec<String> {
    sim.metrics()
        .into_keys()
        .filter(|route| !route.starts_with("GET ") && !route.contains("/auth/tokens"))
        .collect()
}

#[test]
fn a_state_at_its_last_serial_is_refused_before_anything_is_sent() {
    let sim = TestSim::start();
    let project = at_last_serial(&sim);
    let before = std::fs::read(project.state_path()).unwrap();
    project.plan().expect(2);
    project
        .run(&["plan", "manifests", "--out", "p.plan"])
        .expect(0);
    sim.reset_metrics();

    for args in [
        &["apply", "manifests", "--auto-approve"][..],
        &["apply", "p.plan"],
    ] {
        let run = project.run(args).expect(1);
        assert!(
            run.stderr
                .contains(&format!("entitle.state.json is at serial {}", u64::MAX))
                && run.stderr.contains("= hint: "),
            "{args:?} says which file and what to do:\n{}",
            run.stderr
        );
        assert!(!run.stderr.contains(".backup"), "{}", run.stderr);
    }
    assert_eq!(changes_sent(&sim), Vec::<String>::new());
    assert_eq!(project.live_named("db").number_of_standalone_keys, 1);
    assert_eq!(std::fs::read(project.state_path()).unwrap(), before);
    assert!(
        !project
            .dir
            .path()
            .join("entitle.state.json.journal")
            .exists()
    );
}

/// `entitle ARGS` in the project under `ulimit -f BLOCKS`, with SIGXFSZ
/// left at its default action (which kills the process) unless entitle
/// handles it.
fn under_file_size_limit(
    project: &Project<'_>,
    blocks: usize,
    args: &[&str],
) -> std::process::Output {
    let inner = project.std_command();
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -f {blocks}; exec \"$0\" \"$@\""))
        .arg(inner.get_program())
        .args(inner.get_args())
        .args(args);
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command.current_dir(inner.get_current_dir().unwrap());
    command.stdin(std::process::Stdio::null()).output().unwrap()
}

#[test]
fn a_file_size_limit_fails_a_state_write_with_a_message_instead_of_killing_entitle() {
    let sim = TestSim::start();
    let project = Project::with_tenant(&sim);
    // Twenty licenses with long names: a state of some tens of kilobytes.
    let licenses: String = (0..20)
        .map(|i| {
            let name = format!("{i}-{}", "x".repeat(200));
            license_yaml(&name, PLAN_ADVANCED_9, 1, "9.0", "")
        })
        .collect();
    project.write("licenses.yaml", &licenses);
    project.apply().expect(0);
    let before = std::fs::read(project.state_path()).unwrap();
    let backup = project.dir.path().join("entitle.state.json.backup");
    let backup_before = std::fs::read(&backup).ok();

    // A limit well under the state's size, in 512- or 1024-byte blocks.
    let blocks = before.len() / 4096;
    let first = format!("ArcserveLicense/0-{}", "x".repeat(200));
    let output = under_file_size_limit(&project, blocks, &["state", "rm", &first]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "ended by {:?}, not a message:\n{stderr}",
        output.status
    );
    assert!(
        stderr.contains("entitle.state.json") && stderr.contains("File too large"),
        "names the file and the cause:\n{stderr}"
    );
    assert!(
        stderr.contains("= hint: make room") && stderr.contains("ulimit -f"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(project.state_path()).unwrap(), before);
    assert_eq!(std::fs::read(&backup).ok(), backup_before);
    assert!(
        std::fs::read_dir(project.dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".entitle-state-")),
        "no temporary file is left behind"
    );
    project.run(&["state", "rm", &first]).expect(0);
}
