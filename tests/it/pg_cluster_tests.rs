//! The PostgreSQL test harness (`tests/support/pg_cluster.rs`) on itself:
//! real servers, reached over TCP with a password and over the Unix socket
//! as the superuser; stopped servers leave no process, port or directory,
//! also when the test panics or its process is killed.

use std::io::{BufRead, BufReader};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

use crate::pg_cluster::{PgCluster, USER};

async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// The processes whose working directory is in `data` (every PostgreSQL
/// process works in its data directory), also after it was removed.
fn processes_in(data: &Path) -> Vec<u32> {
    let data = data.to_string_lossy().into_owned();
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse().ok()?;
            let cwd = std::fs::read_link(entry.path().join("cwd")).ok()?;
            cwd.to_string_lossy().starts_with(&data).then_some(pid)
        })
        .collect();
    pids.sort_unstable();
    pids
}

fn wait_for_no_processes_in(data: &Path, within: Duration) -> Vec<u32> {
    let deadline = Instant::now() + within;
    loop {
        let left = processes_in(data);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn databases_are_reached_over_tcp_with_the_password() {
    let Some(pg) = PgCluster::start() else { return };
    let plans = pg.create_database("plans");
    let states = pg.create_database("states");
    assert_eq!(
        plans,
        format!(
            "postgres://entitle:{}@127.0.0.1:{}/plans?sslmode=disable",
            pg.password(),
            pg.port()
        )
    );
    assert_eq!(states, pg.url("states"));

    for (url, name) in [(&plans, "plans"), (&states, "states")] {
        let client = connect(url).await.unwrap();
        let row = client
            .query_one(
                "select 1::int4, current_database()::text, current_user::text, inet_server_port()",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, i32>(0), 1);
        assert_eq!(row.get::<_, String>(1), name);
        assert_eq!(row.get::<_, String>(2), USER);
        assert_eq!(row.get::<_, Option<i32>>(3), Some(i32::from(pg.port())));
    }

    // Two databases, not one: a table made in one is not in the other.
    let in_plans = connect(&plans).await.unwrap();
    in_plans
        .batch_execute("create table t (x int)")
        .await
        .unwrap();
    let in_states = connect(&states).await.unwrap();
    let error = in_states.query("select x from t", &[]).await.unwrap_err();
    assert_eq!(error.code(), Some(&SqlState::UNDEFINED_TABLE), "{error}");
    let owners = pg.sql(
        "postgres",
        "select datname, pg_get_userbyid(datdba) from pg_database \
         where datname in ('plans', 'states') order by datname",
    );
    let owned = |db: &str| vec![Some(db.to_string()), Some(USER.to_string())];
    assert_eq!(owners, vec![owned("plans"), owned("states")]);
}

#[tokio::test]
async fn a_wrong_password_is_refused_over_tcp() {
    let Some(pg) = PgCluster::start() else { return };
    let url = pg.create_database("refusals");
    let superuser = format!(
        "postgres://postgres:anything@127.0.0.1:{}/postgres?sslmode=disable",
        pg.port()
    );
    let wrong = url.replace(pg.password(), "not-the-password");
    for (url, user) in [(&wrong, USER), (&superuser, "postgres")] {
        let Err(error) = connect(url).await else {
            panic!("{user} logged in over TCP with a wrong password");
        };
        let refusal = error.as_db_error().unwrap_or_else(|| panic!("{error}"));
        assert_eq!(refusal.code(), &SqlState::INVALID_PASSWORD, "{refusal}");
        assert_eq!(
            refusal.message(),
            format!("password authentication failed for user \"{user}\"")
        );
    }
    // The refusal was the password's: the right one is let in.
    let client = connect(&url).await.unwrap();
    client.batch_execute("select 1").await.unwrap();
}

#[tokio::test]
async fn the_superuser_can_end_a_session() {
    let Some(pg) = PgCluster::start() else { return };
    let url = pg.create_database("sessions");
    let client = connect(&url).await.unwrap();
    let pid: i32 = client
        .query_one("select pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let admin = pg.admin("sessions").await;
    let ended: bool = admin
        .query_one("select pg_terminate_backend($1, 5000)", &[&pid])
        .await
        .unwrap()
        .get(0);
    assert!(ended);
    let error = client.query_one("select 1", &[]).await.unwrap_err();
    assert!(
        error.is_closed() || error.code() == Some(&SqlState::ADMIN_SHUTDOWN),
        "{error}"
    );
}

/// The benchmark's cluster flushes commits as a production server does;
/// the tests' do not.
#[test]
fn a_durable_cluster_flushes_its_commits() {
    let Some(quick) = PgCluster::start() else {
        return;
    };
    let durable = PgCluster::start_durable().expect("a durable cluster when another started");
    let setting =
        |pg: &PgCluster, name: &str| pg.sql("postgres", &format!("show {name}"))[0][0].clone();
    for name in ["fsync", "synchronous_commit", "full_page_writes"] {
        assert_eq!(setting(&durable, name).as_deref(), Some("on"), "{name}");
        assert_eq!(setting(&quick, name).as_deref(), Some("off"), "{name}");
    }
}

#[test]
fn two_clusters_run_side_by_side() {
    let Some(one) = PgCluster::start() else {
        return;
    };
    let two = PgCluster::start().expect("a second cluster when the first started");
    assert_ne!(one.port(), two.port());
    assert_ne!(one.dir(), two.dir());
    assert_ne!(one.password(), two.password());
    one.sql("postgres", "create database only_in_one");
    let found = |pg: &PgCluster| {
        pg.sql(
            "postgres",
            "select datname from pg_database where datname = 'only_in_one'",
        )
        .len()
    };
    assert_eq!((found(&one), found(&two)), (1, 0));
}

#[test]
fn stop_ends_the_server_frees_the_port_and_removes_the_directory() {
    let Some(pg) = PgCluster::start() else { return };
    let (port, dir, data) = (pg.port(), pg.dir().to_path_buf(), pg.data_dir());
    assert!(!processes_in(&data).is_empty(), "no server process found");
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap_err();

    pg.stop();
    assert!(!dir.exists(), "{} is left", dir.display());
    assert_eq!(processes_in(&data), Vec::<u32>::new());
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}

#[test]
fn a_panicking_test_leaves_no_server() {
    let mut seen: Option<(PathBuf, PathBuf)> = None;
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let Some(pg) = PgCluster::start() else { return };
        seen = Some((pg.dir().to_path_buf(), pg.data_dir()));
        assert!(!processes_in(&pg.data_dir()).is_empty());
        panic!("a test failing while its cluster runs");
    }));
    let Some((dir, data)) = seen else { return };
    assert!(outcome.is_err());
    assert!(!dir.exists(), "{} is left", dir.display());
    assert_eq!(processes_in(&data), Vec::<u32>::new());
}

/// Set for the copy of this test binary that holds a cluster until killed.
const HOLD: &str = "ENTITLE_TEST_HOLD_PG_CLUSTER";

/// A test process killed (nextest's timeout, say) leaves no server running,
/// and the next cluster on the machine removes the directory it left (the
/// killed process cannot; another test process may do it first).
#[test]
fn a_killed_test_process_leaves_no_server() {
    let this_test = concat!(module_path!(), "::a_killed_test_process_leaves_no_server");
    let this_test = this_test
        .split_once("::")
        .map_or(this_test, |(_, path)| path);
    if std::env::var_os(HOLD).is_some() {
        hold_a_cluster();
        return;
    }
    let mut holder = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", this_test, "--nocapture", "--test-threads=1"])
        .env(HOLD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let said = BufReader::new(holder.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split_once("HOLDING ")
                .map(|(_, said)| said.to_string())
        });
    holder.kill().unwrap();
    holder.wait().unwrap();
    let Some(said) = said else {
        // It said why on stderr; in CI it panicked instead.
        assert!(
            PgCluster::start().is_none(),
            "the holder started no cluster"
        );
        return;
    };
    let (dir, data) = said.split_once(' ').unwrap();
    let (dir, data) = (PathBuf::from(dir), PathBuf::from(data));

    let left = wait_for_no_processes_in(&data, Duration::from_secs(10));
    assert_eq!(left, Vec::<u32>::new(), "server processes left running");
    let _next = PgCluster::start().expect("a cluster after the killed one");
    assert!(!dir.exists(), "{} is left", dir.display());
}

fn hold_a_cluster() {
    let Some(pg) = PgCluster::start() else { return };
    println!("HOLDING {} {}", pg.dir().display(), pg.data_dir().display());
    std::thread::sleep(Duration::from_secs(120));
}
