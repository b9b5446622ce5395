//! The state in PostgreSQL, as a team uses it: a throwaway server started
//! for the tests (`tests/support/pg_cluster.rs`), the real binary against
//! the simulator, two processes on one workspace, kills, a server that
//! drops the connection, migration between backends, history and rollback.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::pg_cluster::PgCluster;
use crate::support::*;

/// A fresh database on the shared test server; `None` (said loudly) where
/// no server can be started outside CI.
fn database(name: &str) -> Option<(PgCluster, String)> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database(name);
    Some((cluster, url))
}

/// `count` licenses named `{prefix}-{i}`, one key each.
fn licenses(prefix: &str, count: usize) -> String {
    (0..count)
        .map(|i| license_yaml(&format!("{prefix}-{i}"), PLAN_ADVANCED_9, 1, "9.0", ""))
        .collect()
}

fn names_in(state: &serde_json::Value) -> BTreeSet<String> {
    state["resources"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// Waits until `check` holds, or panics with `what` after 30 s.
#[track_caller]
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `project`'s workspace is locked, as `entitle state lock` says.
fn locked(project: &Project<'_>) -> bool {
    let run = project.run(&["state", "lock"]).expect(0);
    !run.stdout.contains("No workspace is locked")
}

#[test]
fn plan_apply_and_drift_keep_the_state_in_the_database() {
    let Some((_cluster, url)) = database("basic") else {
        return;
    };
    let sim = TestSim::start();
    let project = Project::on_backend(&sim, Some(&url));
    project.write("licenses.yaml", &licenses("web", 2));
    project.apply().expect(0);
    assert!(
        !project.state_path().exists(),
        "no state file beside the manifests"
    );
    project.plan().expect(0);
    project.drift().expect(0);
    let state = project.state();
    assert_eq!(
        names_in(&state),
        BTreeSet::from([
            "ArcserveLicense/web-0".into(),
            "ArcserveLicense/web-1".into()
        ])
    );
    let serial = state["serial"].as_u64().unwrap();
    let history = project.run(&["state", "history"]).expect(0).stdout;
    assert!(history.contains("\tapply\t"), "{history}");
    let listed = project
        .run(&["state", "list", "--serial", &serial.to_string()])
        .expect(0)
        .stdout;
    assert_eq!(listed.lines().count(), 2, "{listed}");
    // The password of the URL is nowhere in what was printed.
    assert!(!history.contains(_cluster.password()));
}

#[test]
fn two_applies_on_one_workspace_take_turns_and_lose_nothing() {
    let Some((_cluster, url)) = database("turns") else {
        return;
    };
    let sim = TestSim::start();
    sim.set_faults(serde_json::json!({ "latency_ms": 150 }));
    let first = Project::on_backend(&sim, Some(&url));
    first.write("licenses.yaml", &licenses("a", 4));
    let second = Project::on_backend(&sim, Some(&url));
    second.write("licenses.yaml", &(licenses("a", 4) + &licenses("b", 2)));

    let running = first.spawn_apply(&[]);
    wait_for("the first apply to take the lock", || locked(&second));
    let refused = second.apply();
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("is locked: apply by")
            && refused.stderr.contains(&format!("pid {}", running.id())),
        "{}",
        refused.stderr
    );
    let waited = second.apply_with(&["--lock-timeout", "60s"]).expect(0);
    let first_out = running.wait_with_output().unwrap();
    assert!(first_out.status.success(), "{first_out:?}");
    assert!(
        waited.stdout.contains("Apply complete"),
        "{}",
        waited.stdout
    );

    let state = second.state();
    assert_eq!(names_in(&state).len(), 6, "{state}");
    let history: serde_json::Value = serde_json::from_str(
        &second
            .run(&["state", "history", "--format", "json"])
            .expect(0)
            .stdout,
    )
    .unwrap();
    let serials: Vec<u64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["serial"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=state["serial"].as_u64().unwrap()).rev().collect();
    assert_eq!(serials, expected, "every serial kept, none twice");
    second.plan().expect(0);
}

#[test]
fn a_killed_lock_holder_frees_the_lock_at_once() {
    let Some((_cluster, url)) = database("killed") else {
        return;
    };
    let sim = TestSim::start();
    sim.set_faults(serde_json::json!({ "latency_ms": 300 }));
    let project = Project::on_backend(&sim, Some(&url));
    project.write("licenses.yaml", &licenses("k", 6));
    let mut running = project.spawn_apply(&[]);
    wait_for("the apply to take the lock", || locked(&project));
    running.kill().unwrap();
    running.wait().unwrap();
    let started = Instant::now();
    wait_for("the lock to be freed", || !locked(&project));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "freed in {:?}",
        started.elapsed()
    );
    sim.set_faults(serde_json::json!({}));
    project.apply_with(&["--lock-timeout", "0s"]).expect(0);
    project.plan().expect(0);
}

#[test]
fn a_connection_the_server_ends_mid_apply_stops_it_and_the_next_apply_converges() {
    let Some((cluster, url)) = database("terminated") else {
        return;
    };
    let sim = TestSim::start();
    // Long enough that the apply is still running when its connection is
    // ended, however slowly this machine polls the serial.
    sim.set_faults(serde_json::json!({ "latency_ms": 150 }));
    let project = Project::on_backend(&sim, Some(&url));
    project.write("licenses.yaml", &licenses("t", 24));
    let running = project.spawn_apply(&["--parallelism", "2"]);
    wait_for("the apply to record something", || {
        project.serial().unwrap_or(0) >= 2
    });
    let ended = cluster.sql(
        "terminated",
        "SELECT pg_terminate_backend(backend_pid) FROM entitle_locks",
    );
    assert_eq!(ended.len(), 1, "{ended:?}");
    let out = running.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("was lost"), "{stderr}");
    assert!(
        stderr.contains("holds every change recorded before the failure")
            && stderr.contains("not started"),
        "{stderr}"
    );
    assert!(!stderr.contains(cluster.password()), "{stderr}");

    // Readable, and the next apply finishes the job without duplicates.
    project.run(&["state", "list"]).expect(0);
    sim.set_faults(serde_json::json!({}));
    project.apply().expect(0);
    project.plan().expect(0);
    let live: Vec<String> = project.live().into_iter().map(|l| l.name).collect();
    let unique: BTreeSet<&String> = live.iter().collect();
    assert_eq!(live.len(), 24, "{live:?}");
    assert_eq!(unique.len(), 24, "a license exists twice: {live:?}");
}

#[test]
fn killed_applies_on_postgres_converge_without_duplicates() {
    let Some((_cluster, url)) = database("chaos") else {
        return;
    };
    crate::scale::killed_applies_converge(Some(&url), 24);
}

#[test]
fn a_state_moves_from_file_to_postgres_and_back_with_its_lineage() {
    let Some((_cluster, url)) = database("moved") else {
        return;
    };
    let sim = TestSim::start();
    let project = Project::on_backend(&sim, None);
    project.write("licenses.yaml", &licenses("m", 3));
    project.apply().expect(0);
    let on_file = project.state();

    project.run(&["state", "migrate", "--to", &url]).expect(0);
    let mut in_db = Project::on_backend(&sim, Some(&url));
    in_db.dir = tempfile::tempdir().unwrap();
    std::fs::rename(
        project.dir.path().join("manifests"),
        in_db.dir.path().join("manifests"),
    )
    .unwrap();
    assert_eq!(in_db.state(), on_file, "lineage, serial and records");
    in_db.plan().expect(0);
    // A change made on PostgreSQL, then the way back to a file.
    in_db.write("licenses.yaml", &licenses("m", 4));
    in_db.apply().expect(0);
    let back = in_db.dir.path().join("back.json");
    in_db
        .run(&[
            "state",
            "migrate",
            "--to",
            &format!("file:{}", back.display()),
        ])
        .expect(0);
    let in_file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&back).unwrap()).unwrap();
    assert_eq!(in_file, in_db.state());
    assert_eq!(in_file["lineage"], on_file["lineage"]);

    // A different state is never overwritten.
    let other = Project::on_backend(&sim, None);
    other.write("licenses.yaml", &licenses("o", 1));
    other.apply().expect(0);
    let refused = other.run(&["state", "migrate", "--to", &url]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("holds another state"),
        "{}",
        refused.stderr
    );
    assert_eq!(in_db.state(), in_file, "the database is untouched");
}

#[test]
fn history_rollback_and_prune() {
    let Some((_cluster, url)) = database("history") else {
        return;
    };
    let sim = TestSim::start();
    let project = Project::on_backend(&sim, Some(&url));
    project.write("licenses.yaml", &licenses("h", 2));
    project.apply().expect(0);
    let two = project.serial().unwrap();
    project
        .run(&["state", "rm", "ArcserveLicense/h-1"])
        .expect(0);
    assert_eq!(names_in(&project.state()).len(), 1);
    let history = project.run(&["state", "history"]).expect(0).stdout;
    assert!(
        history.contains("state rm ArcserveLicense/h-1\t+0 ~0 -1: ArcserveLicense/h-1"),
        "{history}"
    );

    project
        .run(&["state", "rollback", &two.to_string(), "--auto-approve"])
        .expect(0);
    let rolled = project.state();
    assert_eq!(names_in(&rolled).len(), 2);
    assert_eq!(rolled["serial"].as_u64(), Some(two + 2), "a new serial");
    let shown = project
        .run(&["state", "show", "--serial", &two.to_string()])
        .expect(0)
        .stdout;
    let then: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(then["resources"], rolled["resources"]);
    project.plan().expect(0);

    project.run(&["state", "prune", "--keep", "1"]).expect(0);
    let gone = project.run(&["state", "show", "--serial", &two.to_string()]);
    assert_eq!(gone.code, 1);
    assert!(
        gone.stderr.contains("history kept starts at serial"),
        "{}",
        gone.stderr
    );
    let kept = project
        .run(&["state", "show", "--serial", &(two + 2).to_string()])
        .expect(0)
        .stdout;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&kept).unwrap()["resources"],
        rolled["resources"]
    );
}

#[test]
fn a_wrong_password_or_a_dead_server_is_a_clear_error_without_the_password() {
    let Some((cluster, url)) = database("refused") else {
        return;
    };
    let wrong = url.replacen(cluster.password(), "not-the-password", 1);
    let run = Run::of({
        let mut command = binary();
        command
            .env("ENTITLE_BACKEND", &wrong)
            .args(["state", "list"]);
        command
    })
    .expect(1);
    assert!(run.stderr.contains("password"), "{}", run.stderr);
    assert!(!run.stderr.contains("not-the-password"), "{}", run.stderr);
    assert!(run.stderr.contains("127.0.0.1"), "{}", run.stderr);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("postgres://entitle:s3cret@127.0.0.1:{port}/x?connect_timeout=2");
    let run = Run::of({
        let mut command = binary();
        command
            .env("ENTITLE_BACKEND", &dead)
            .args(["state", "list"]);
        command
    })
    .expect(1);
    assert!(
        run.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
}

#[test]
fn workspaces_keep_separate_states_and_a_saved_plan_stays_in_its_own() {
    let Some((_cluster, url)) = database("workspaces") else {
        return;
    };
    let sim = TestSim::start();
    let project = Project::on_backend(&sim, Some(&url));
    project.write("licenses.yaml", &licenses("w", 1));
    let missing = project.run(&["--workspace", "staging", "plan", "manifests"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("entitle workspace new staging"),
        "{}",
        missing.stderr
    );
    project.run(&["workspace", "new", "staging"]).expect(0);
    project
        .run(&[
            "--workspace",
            "staging",
            "plan",
            "manifests",
            "--out",
            "plan.json",
        ])
        .expect(0);
    let elsewhere = project.run(&["apply", "plan.json"]);
    assert_eq!(elsewhere.code, 1);
    assert!(
        elsewhere.stderr.contains("workspace `staging`"),
        "{}",
        elsewhere.stderr
    );
    project
        .run(&["--workspace", "staging", "apply", "plan.json"])
        .expect(0);
    assert_eq!(names_in(&project.state()).len(), 0, "default untouched");
    let listed = project.run(&["workspace", "list"]).expect(0).stdout;
    assert!(
        listed.contains("* default") && listed.contains("  staging"),
        "{listed}"
    );
    let refused = project.run(&["workspace", "delete", "staging"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("still manages 1 resource"),
        "{}",
        refused.stderr
    );
}

/// Two processes that meet a new database at once both find the tables
/// made, once.
#[test]
fn two_processes_migrate_a_new_database_at_once() {
    let Some((_cluster, url)) = database("race") else {
        return;
    };
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut command = binary();
            command
                .env("ENTITLE_BACKEND", &url)
                .args(["workspace", "list"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
}

#[test]
fn file_workspaces_live_beside_the_state_file() {
    let sim = TestSim::start();
    let project = Project::on_backend(&sim, None);
    project.write("licenses.yaml", &licenses("f", 1));
    project.run(&["workspace", "new", "dev"]).expect(0);
    project
        .run(&["--workspace", "dev", "apply", "manifests", "--auto-approve"])
        .expect(0);
    let dev = project.dir.path().join("entitle.state.d/dev.json");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&dev).unwrap()).unwrap();
    assert_eq!(names_in(&state).len(), 1);
    assert!(!project.state_path().exists(), "default untouched");
    let history = project.run(&["--workspace", "dev", "state", "history"]);
    assert_eq!(history.code, 1);
    assert!(
        history.stderr.contains("keeps no history"),
        "{}",
        history.stderr
    );
    let bad = project.run(&["--workspace", "../x", "plan", "manifests"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("is not a workspace name"),
        "{}",
        bad.stderr
    );
}

/// Every table entitle keeps in `db`, as text, for what must never be in it.
fn tables_as_text(cluster: &PgCluster, db: &str) -> String {
    let rows = cluster.sql(
        db,
        "SELECT t::text FROM entitle_workspaces t
         UNION ALL SELECT t::text FROM entitle_resources t
         UNION ALL SELECT t::text FROM entitle_history t
         UNION ALL SELECT t::text FROM entitle_locks t",
    );
    format!("{rows:?}")
}

/// A role of the test server with `password`, owning a new database `db`;
/// its URL, the password percent-encoded.
fn role_with_database(cluster: &PgCluster, role: &str, password: &str, db: &str) -> String {
    cluster.sql(
        "postgres",
        &format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"),
    );
    cluster.sql("postgres", &format!("CREATE DATABASE {db} OWNER {role}"));
    let encoded: String = password
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c.to_string(),
            other => format!("%{:02X}", other as u32),
        })
        .collect();
    format!(
        "postgres://{role}:{encoded}@127.0.0.1:{}/{db}?sslmode=disable",
        cluster.port()
    )
}

#[track_caller]
fn assert_hidden(marker: &str, what: &str, text: &str) {
    assert!(!text.contains(marker), "the password is in {what}:\n{text}");
    assert!(!text.contains("panicked"), "{what} panicked:\n{text}");
}

/// The password of a `--backend`, `ENTITLE_BACKEND` or `--to` URL never
/// reaches stdout, stderr (trace logs included), a saved plan, the tables
/// or an error, whatever the command and however it fails.
#[test]
fn a_backend_password_is_never_shown_stored_or_echoed() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    // Unique to this test, with characters a URL must encode.
    let marker = format!("mark{}", &cluster.password()[..12]);
    let password = format!("p@ss/:{marker}?%");
    let url = role_with_database(&cluster, "teller", &password, "secrets");
    let sim = TestSim::start();
    let project = Project::on_backend(&sim, Some(&url));
    project.write("licenses.yaml", &licenses("s", 3));
    let other = format!("{url}&connect_timeout=5").replace("/secrets?", "/other?");
    cluster.sql("postgres", "CREATE DATABASE other OWNER teller");
    let wrong = url.replacen("teller:", "teller:x", 1);
    let to_dead = format!("postgres://u:{marker}@127.0.0.1:1/db?sslmode=disable&connect_timeout=2");
    let bad_host = format!("postgres://u:{marker}/x@127.0.0.1/db");
    let bad_mode = format!("postgres://h/db?password={marker}&sslmode=bogus");
    let bad_port = format!("postgres://u:{marker}@h:99999/db");
    let mysql = format!("mysql://u:{marker}@h/db");
    // Each run, with the exit it must have: a run refused for another
    // reason than the one meant would prove nothing.
    let runs: &[(i32, &[&str])] = &[
        (0, &["-vvv", "apply", "manifests", "--auto-approve"]),
        (0, &["-vvv", "plan", "manifests", "--out", "plan.json"]),
        (0, &["-vvv", "drift", "manifests"]),
        (0, &["--help"]),
        (0, &["state", "--help"]),
        (0, &["-vvv", "state", "list"]),
        (0, &["state", "show"]),
        (0, &["state", "show", "--serial", "1"]),
        (0, &["state", "rm", "ArcserveLicense/s-2"]),
        (
            0,
            &["state", "mv", "ArcserveLicense/s-1", "ArcserveLicense/s-9"],
        ),
        (0, &["state", "rollback", "1", "--auto-approve"]),
        (0, &["state", "history"]),
        (0, &["state", "history", "--format", "json"]),
        (0, &["state", "lock"]),
        (0, &["state", "unlock"]),
        (0, &["state", "prune", "--keep", "2"]),
        (1, &["state", "show", "--serial", "1"]),
        (1, &["state", "show", "--serial", "999"]),
        (0, &["workspace", "new", "staging"]),
        (0, &["workspace", "list"]),
        (0, &["workspace", "show"]),
        (0, &["workspace", "delete", "staging"]),
        (1, &["--workspace", "nope", "state", "list"]),
        (1, &["--workspace", "bad name", "state", "list"]),
        (1, &["--state", "x.json", "state", "list"]),
        (1, &["--lock-timeout", "soon", "state", "list"]),
        (1, &["--backend", &wrong, "state", "list"]),
        (1, &["--backend", &mysql, "state", "list"]),
        (0, &["state", "migrate", "--to", &other]),
        (0, &["state", "migrate", "--to", &other]),
        (
            0,
            &["state", "migrate", "--to", &url, "--to-workspace", "copy"],
        ),
        (0, &["state", "migrate", "--to", "file:back.json"]),
        (1, &["state", "migrate", "--to", &url]),
        (1, &["state", "migrate", "--to", &to_dead]),
        (1, &["state", "migrate", "--to", &mysql]),
        (1, &["state", "migrate", "--to", &bad_host]),
        (1, &["state", "migrate", "--to", &bad_mode]),
        (1, &["state", "migrate", "--to", &bad_port]),
        (1, &["state", "migrate"]),
        // Stale by now: the runs above moved the serial.
        (3, &["apply", "plan.json"]),
    ];
    for (code, args) in runs {
        let run = project.run(args);
        let shown = args.join(" ").replace(&marker, "…");
        assert_hidden(&marker, &format!("the stdout of `{shown}`"), &run.stdout);
        assert_hidden(&marker, &format!("the stderr of `{shown}`"), &run.stderr);
        assert_eq!(
            run.code, *code,
            "`{shown}`\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        );
    }
    let plan = std::fs::read_to_string(project.dir.path().join("plan.json")).unwrap();
    assert_hidden(&marker, "the saved plan", &plan);
    assert!(plan.contains("127.0.0.1"), "{plan}");

    // Nor is it in the tables, a lock held included.
    sim.set_faults(serde_json::json!({ "latency_ms": 300 }));
    project.write("licenses.yaml", &licenses("t", 3));
    let mut running = project.spawn_apply(&[]);
    wait_for("the apply to take the lock", || locked(&project));
    for db in ["secrets", "other"] {
        assert_hidden(
            &marker,
            &format!("the tables of {db}"),
            &tables_as_text(&cluster, db),
        );
    }
    running.kill().unwrap();
    running.wait().unwrap();
}

/// Once the tables are made, a user who may only read and write them (no
/// CREATE on the schema, as a pipeline's user often is) works; on a new
/// database the refusal says what the first run needs.
#[test]
fn a_user_without_create_rights_uses_tables_made_by_another() {
    let Some((cluster, owner)) = database("granted") else {
        return;
    };
    let sim = TestSim::start();
    let first = Project::on_backend(&sim, Some(&owner));
    first.write("licenses.yaml", &licenses("g", 2));
    first.apply().expect(0);
    cluster.sql(
        "granted",
        "CREATE ROLE writer LOGIN PASSWORD 'writer-pw';
         REVOKE CREATE ON SCHEMA public FROM PUBLIC;
         GRANT USAGE ON SCHEMA public TO writer;
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO writer",
    );
    let as_writer = |db: &str| {
        format!(
            "postgres://writer:writer-pw@127.0.0.1:{}/{db}?sslmode=disable",
            cluster.port()
        )
    };
    let writer = Project::on_backend(&sim, Some(&as_writer("granted")));
    writer.write("licenses.yaml", &licenses("g", 3));
    writer.plan().expect(2);
    writer.apply().expect(0);
    writer.run(&["workspace", "new", "staging"]).expect(0);
    writer
        .run(&["state", "rm", "ArcserveLicense/g-0"])
        .expect(0);
    let history = writer.run(&["state", "history"]).expect(0).stdout;
    assert!(
        history.contains("state rm ArcserveLicense/g-0"),
        "{history}"
    );
    assert_eq!(names_in(&first.state()).len(), 2, "the owner sees it too");

    cluster.sql("postgres", "CREATE DATABASE blank");
    let blank = Project::on_backend(&sim, Some(&as_writer("blank")));
    let refused = blank.run(&["state", "list"]).expect(1);
    assert!(
        refused
            .stderr
            .contains("could not create or migrate the state tables")
            && refused.stderr.contains("postgres://writer@127.0.0.1:")
            && refused.stderr.contains("/blank")
            && refused.stderr.contains("GRANT CREATE ON SCHEMA")
            && !refused.stderr.contains("writer-pw"),
        "{}",
        refused.stderr
    );
}

/// A refused `state migrate` leaves no destination behind it, and names
/// the flag that was wrong.
#[test]
fn a_refused_migration_makes_nothing() {
    let Some((_cluster, url)) = database("nothing") else {
        return;
    };
    let sim = TestSim::start();
    let project = Project::on_backend(&sim, None);
    let to_file = project.dir.path().join("copy.json");
    let refused = project
        .run(&[
            "state",
            "migrate",
            "--to",
            &format!("file:{}", to_file.display()),
        ])
        .expect(1);
    assert!(
        refused.stderr.contains("holds no state"),
        "{}",
        refused.stderr
    );
    assert!(!to_file.exists(), "a state file was made by a refused copy");
    let refused = project
        .run(&["state", "migrate", "--to", &url, "--to-workspace", "made"])
        .expect(1);
    assert!(
        refused.stderr.contains("holds no state"),
        "{}",
        refused.stderr
    );
    let listed = Project::on_backend(&sim, Some(&url))
        .run(&["workspace", "list"])
        .expect(0)
        .stdout;
    assert!(!listed.contains("made"), "{listed}");

    let wrong = project
        .run(&["state", "migrate", "--to", "mysql://u:pw@h/db"])
        .expect(1);
    assert!(
        wrong.stderr.contains("--to is a URL of scheme `mysql`")
            && !wrong.stderr.contains("ENTITLE_BACKEND"),
        "{}",
        wrong.stderr
    );
}

/// Two processes' worth of stores on one workspace: a write (whole, or a
/// commit of an apply) from a serial that is no longer the latest is
/// refused, naming the workspace and both serials, and changes nothing.
#[test]
fn a_writer_with_a_stale_serial_is_refused() {
    use entitle::state::postgres::{PgError, difference};
    use entitle::state::{Backend, StateError};
    let Some((_cluster, url)) = database("stale") else {
        return;
    };
    let sim = TestSim::start();
    let project = Project::on_backend(&sim, Some(&url));
    project.write("licenses.yaml", &licenses("c", 3));
    project.apply().expect(0);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let backend = Backend::from_url(&url).unwrap();
        let first = backend.open("default").await.unwrap();
        let second = backend.open("default").await.unwrap();
        let read = second.load_or_new().await.unwrap();
        let serial = read.serial;

        let mut newer = first.load_or_new().await.unwrap();
        let gone = newer.resources.keys().next().unwrap().clone();
        newer.resources.remove(&gone);
        first.write(&mut newer, "test").await.unwrap();
        assert_eq!(newer.serial, serial + 1);

        let mut stale = read.clone();
        stale.resources.pop_last();
        let refused = second.write(&mut stale, "test").await.unwrap_err();
        assert!(
            matches!(
                &refused,
                StateError::Postgres(PgError::Moved { on_server, expected, .. })
                    if *on_server == serial + 1 && *expected == serial
            ),
            "{refused:?}"
        );
        let message = refused.to_string();
        assert!(
            message.contains("workspace `default`")
                && message.contains(&format!("serial {}, expected {serial}", serial + 1))
                && message.contains("run the command again"),
            "{message}"
        );

        // An apply's commit from the stale serial, through its sink.
        let changes = difference(&read.resources, &stale.resources);
        let mut sink = second.sink("apply");
        let refused = sink
            .append(read.lineage, serial, &changes)
            .await
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains(&format!("serial {}, expected {serial}", serial + 1)),
            "{refused}"
        );
        // A whole write of another lineage is refused as such.
        let mut foreign = newer.clone();
        foreign.lineage = uuid::Uuid::new_v4();
        let refused = second.write(&mut foreign, "test").await.unwrap_err();
        assert!(
            refused.to_string().contains("belongs to another state"),
            "{refused}"
        );
        assert_eq!(first.load_or_new().await.unwrap(), newer, "nothing changed");
    });
    let history = project.run(&["state", "history"]).expect(0).stdout;
    assert_eq!(history.matches("\ttest\t").count(), 1, "{history}");
}

/// `state show --serial N` gives, for every serial a command ended at,
/// what `state show` printed then, through applies, rm, mv and rollback;
/// after pruning, the serials kept still do and the others are refused.
#[test]
fn every_serial_shows_what_the_state_was_then() {
    let Some((_cluster, url)) = database("serials") else {
        return;
    };
    let sim = TestSim::start();
    let project = Project::on_backend(&sim, Some(&url));
    let mut seen: Vec<(u64, serde_json::Value)> = Vec::new();
    let mut record = |project: &Project<'_>| {
        let state = project.state();
        seen.push((state["serial"].as_u64().unwrap(), state));
    };
    project.write("licenses.yaml", &licenses("h", 3));
    project.apply().expect(0);
    let after_apply = project.serial().unwrap();
    record(&project);
    project
        .run(&["state", "rm", "ArcserveLicense/h-2"])
        .expect(0);
    record(&project);
    project
        .run(&["state", "mv", "ArcserveLicense/h-1", "ArcserveLicense/h-7"])
        .expect(0);
    record(&project);
    project
        .run(&[
            "state",
            "rollback",
            &after_apply.to_string(),
            "--auto-approve",
        ])
        .expect(0);
    record(&project);
    project.write("licenses.yaml", &licenses("h", 5));
    project.apply().expect(0);
    record(&project);
    project.write("licenses.yaml", &licenses("h", 1));
    project.apply().expect(0);
    record(&project);

    let serials: Vec<u64> = seen.iter().map(|(serial, _)| *serial).collect();
    assert!(
        serials.windows(2).all(|w| w[0] < w[1]),
        "each command wrote a new serial: {serials:?}"
    );
    let show = |serial: u64| project.run(&["state", "show", "--serial", &serial.to_string()]);
    for (serial, state) in &seen {
        let then: serde_json::Value =
            serde_json::from_str(&show(*serial).expect(0).stdout).unwrap();
        assert_eq!(&then, state, "serial {serial}");
    }
    let latest = *serials.last().unwrap();
    // Every serial in between can be rebuilt too.
    for serial in 1..=latest {
        show(serial).expect(0);
    }
    for serial in [0, latest + 1, u64::MAX] {
        let refused = show(serial).expect(1);
        assert!(
            refused.stderr.contains(&format!("has no serial {serial}"))
                && refused.stderr.contains("entitle state history"),
            "{}",
            refused.stderr
        );
    }

    // Prune all but the last three commands' serials.
    let keep = latest - seen[seen.len() - 3].0 + 1;
    project
        .run(&["state", "prune", "--keep", &keep.to_string()])
        .expect(0);
    for (serial, state) in &seen {
        let run = show(*serial);
        if latest - serial < keep {
            let then: serde_json::Value = serde_json::from_str(&run.expect(0).stdout).unwrap();
            assert_eq!(&then, state, "serial {serial} after the prune");
        } else {
            let refused = run.expect(1);
            assert!(
                refused.stderr.contains(&format!(
                    "the history kept starts at serial {}",
                    latest - keep + 1
                )),
                "{}",
                refused.stderr
            );
        }
    }
    let before = project.state();
    let refused = project
        .run(&[
            "state",
            "rollback",
            &after_apply.to_string(),
            "--auto-approve",
        ])
        .expect(1);
    assert!(
        refused
            .stderr
            .contains(&format!("has no serial {after_apply}"))
            && refused.stderr.contains("history kept starts at"),
        "{}",
        refused.stderr
    );
    assert_eq!(project.state(), before, "a refused rollback writes nothing");
    let same = project
        .run(&["state", "rollback", &latest.to_string(), "--auto-approve"])
        .expect(0);
    assert!(
        same.stdout.contains("nothing to roll back"),
        "{}",
        same.stdout
    );
    assert_eq!(project.state(), before);
}

/// `workspace delete` and `state migrate` into a workspace wait for (or
/// are refused by) the lock of a run applying to it, and take nothing
/// from it.
#[test]
fn delete_and_migrate_respect_a_held_lock() {
    let Some((_cluster, url)) = database("held") else {
        return;
    };
    let sim = TestSim::start();
    let from_file = Project::on_backend(&sim, None);
    from_file.write("licenses.yaml", &licenses("f", 1));
    from_file.apply().expect(0);
    sim.set_faults(serde_json::json!({ "latency_ms": 500 }));
    let busy = Project::on_backend(&sim, Some(&url));
    busy.run(&["workspace", "new", "busy"]).expect(0);
    busy.write("licenses.yaml", &licenses("b", 8));
    let running = busy.spawn_apply(&["--workspace", "busy"]);
    wait_for("the apply to take the lock", || locked(&busy));

    let deleted = busy.run(&["workspace", "delete", "busy"]).expect(1);
    assert!(
        deleted.stderr.contains("workspace `busy`")
            && deleted.stderr.contains("is locked: apply by")
            && deleted.stderr.contains(&format!("pid {}", running.id())),
        "{}",
        deleted.stderr
    );
    let migrated = from_file
        .run(&["state", "migrate", "--to", &url, "--to-workspace", "busy"])
        .expect(1);
    assert!(
        migrated.stderr.contains("workspace `busy`") && migrated.stderr.contains("is locked"),
        "{}",
        migrated.stderr
    );
    // Waiting for the lock, it finds the apply's state there and refuses.
    let waited = from_file
        .run(&[
            "state",
            "migrate",
            "--to",
            &url,
            "--to-workspace",
            "busy",
            "--lock-timeout",
            "60s",
        ])
        .expect(1);
    let out = running.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        waited.stderr.contains("holds another state"),
        "{}",
        waited.stderr
    );
    let state = busy
        .run(&["--workspace", "busy", "state", "show"])
        .expect(0);
    let state: serde_json::Value = serde_json::from_str(&state.stdout).unwrap();
    assert_eq!(names_in(&state).len(), 8, "{state}");
}
