//! A throwaway PostgreSQL server for tests: a cluster of its own in a
//! temporary directory, listening on a free loopback port and on a Unix
//! socket in that directory, stopped and removed when dropped (also when the
//! test panics). Included by path, not a crate:
//!
//! ```ignore
//! #[path = "../support/pg_cluster.rs"]
//! mod pg_cluster;
//!
//! let Some(pg) = pg_cluster::PgCluster::start() else { return };
//! let url = pg.create_database("plans"); // postgres://entitle:…@127.0.0.1:…/plans
//! ```
//!
//! The server binaries are the ones of `initdb` on `PATH`, else the newest
//! `/usr/lib/postgresql/*/bin` (Debian's `postgresql` package). When there
//! are none, or the server does not come up, [`PgCluster::start`] says so
//! on stderr and returns `None`; with `CI` set it panics instead, so that
//! CI cannot pass without running the PostgreSQL tests.
//!
//! Speed: `initdb` runs once per machine, PostgreSQL major version and user,
//! into a template directory next to the temporary directories, under a
//! file lock so that parallel test processes (nextest runs one per test)
//! neither race nor repeat it; a cluster is a copy of the template. The
//! server runs with `fsync`, `full_page_writes` and `synchronous_commit`
//! off: nothing it holds outlives the test.
//!
//! Authentication: on the Unix socket, the superuser `postgres` is trusted
//! (for [`PgCluster::admin`] and [`PgCluster::sql`]); over TCP every role
//! needs its password (SCRAM), so a wrong one is refused as a real server
//! would refuse it. The role `entitle` may log in and create databases; its
//! password is random per cluster.
//!
//! Root: `initdb` and `postgres` refuse to run as root, and CI runs as root.
//! When the effective uid is 0, the cluster's directories are handed
//! (`chown`) to the unprivileged account `nobody` (uid and gid from
//! `/etc/passwd`), and `initdb` and `postgres` run as it through
//! `setpriv --reuid --regid --clear-groups` (util-linux); the test process
//! keeps root and still reads and removes everything. Otherwise they run as
//! the current user. In both cases the temporary directory must be one that
//! user can reach (`/tmp` is).
//!
//! Leftovers: the postmaster is started by a thread that lives as long as
//! the cluster, with `setpriv --pdeathsig QUIT`, so if the test process is
//! killed the server gets SIGQUIT (an immediate shutdown, which ends its
//! backends and frees its shared memory) instead of running on; the
//! directory such a process leaves is removed by the next cluster started on
//! the machine.

// Each crate that includes this file uses a part of it.
#![allow(dead_code)]

use std::fs::{self, DirBuilder, File};
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, chown};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Once, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage};

/// The role the tests log in as over TCP, with [`PgCluster::password`].
pub const USER: &str = "entitle";

/// The superuser, trusted on the Unix socket only.
const SUPERUSER: &str = "postgres";

/// Written into a finished template; a template without it (an interrupted
/// `initdb`) or from another version of this file is made again.
const TEMPLATE_MARKER: &str = "entitle-template";
const TEMPLATE_VERSION: &str = "1";

/// Cluster directories are `<temp>/entitle-pg-<pid>-<random>`.
const CLUSTER_PREFIX: &str = "entitle-pg-";

const STARTUP_DEADLINE: Duration = Duration::from_secs(30);
const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// Another process may take the free port before the server binds it.
const PORT_ATTEMPTS: u32 = 5;

const HBA: &str = "\
# entitle test cluster: the superuser on the Unix socket without a password,
# everyone over TCP with a password.
local all all trust
host all all 127.0.0.1/32 scram-sha-256
";

/// Server settings for a throwaway cluster: no durability, little memory.
const SETTINGS: &[&str] = &[
    "listen_addresses=127.0.0.1",
    "fsync=off",
    "full_page_writes=off",
    "synchronous_commit=off",
    "wal_level=minimal",
    "max_wal_senders=0",
    "shared_buffers=16MB",
    "max_connections=50",
    "huge_pages=off",
    "dynamic_shared_memory_type=mmap",
    "password_encryption=scram-sha-256",
    "logging_collector=off",
];

/// A running PostgreSQL server of its own; dropping it stops the server
/// (immediate shutdown) and removes its directory.
pub struct PgCluster {
    postmaster: Option<Postmaster>,
    install: Install,
    port: u16,
    password: String,
    /// Whether commits are flushed to disk (`fsync`, `synchronous_commit`
    /// on), as on a real server: for measuring, not for tests.
    durable: bool,
    /// Dropped last: the server is stopped before its files go.
    dir: tempfile::TempDir,
}

/// What [`PgCluster::start_durable`] turns back on.
const DURABLE: &[&str] = &["fsync=on", "full_page_writes=on", "synchronous_commit=on"];

impl PgCluster {
    /// A new cluster, started and ready; `None` (said loudly on stderr) when
    /// PostgreSQL is not installed or does not start, a panic instead when
    /// the environment variable `CI` is set.
    pub fn start() -> Option<PgCluster> {
        match Self::try_start() {
            Ok(cluster) => Some(cluster),
            Err(reason) if in_ci() => {
                panic!("PostgreSQL tests must run in CI (CI is set), but {reason}")
            }
            Err(reason) => {
                report_not_run(&reason);
                None
            }
        }
    }

    /// A cluster that flushes every commit to disk, as a production server
    /// does (for the benchmark, which compares it with the state file's
    /// fsynced journal); `None` as for [`PgCluster::start`].
    pub fn start_durable() -> Option<PgCluster> {
        match Self::launch(true) {
            Ok(cluster) => Some(cluster),
            Err(reason) => {
                report_not_run(&reason);
                None
            }
        }
    }

    /// A new cluster, or why there is none.
    pub fn try_start() -> Result<PgCluster, Unavailable> {
        Self::launch(false)
    }

    fn launch(durable: bool) -> Result<PgCluster, Unavailable> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{CLUSTER_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|e| failed(format!("cannot create a temporary directory: {e}")))?;
        let uid = dir
            .path()
            .metadata()
            .map_err(|e| failed(format!("cannot read {}: {e}", dir.path().display())))?
            .uid();
        let install = Install::find(uid == 0)?;
        sweep_stale_clusters(&std::env::temp_dir());
        let mut cluster = PgCluster {
            postmaster: None,
            install,
            port: 0,
            password: random_hex()?,
            durable,
            dir,
        };
        cluster.lay_out(uid).map_err(failed)?;
        cluster.boot()?;
        Ok(cluster)
    }

    /// The loopback TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The password of [`USER`] over TCP.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The cluster's directory: `data/`, `socket/` and `server.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// Where the server's Unix socket is (a libpq `host`).
    pub fn socket_dir(&self) -> PathBuf {
        self.dir().join("socket")
    }

    /// What the server has logged so far.
    pub fn server_log(&self) -> String {
        read_log(self.dir())
    }

    /// The URL of database `db` for [`USER`] with its password, over TCP.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{db}?sslmode=disable",
            self.password, self.port
        )
    }

    /// Creates database `name` owned by [`USER`] and returns its
    /// [`url`](Self::url). The name is lower-case letters, digits and `_`,
    /// so that PostgreSQL keeps it as the URL spells it.
    pub fn create_database(&self, name: &str) -> String {
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "database name {name:?}: use lower-case letters, digits and _"
        );
        // Copying template1's files is faster than writing them to the WAL
        // (the default since PostgreSQL 15).
        let strategy = if self.install.major >= 15 {
            " STRATEGY FILE_COPY"
        } else {
            ""
        };
        self.sql(
            "postgres",
            &format!("CREATE DATABASE {name} OWNER {USER}{strategy}"),
        );
        self.url(name)
    }

    /// Runs `query` (one or more statements) on database `db` as the
    /// superuser, over the Unix socket; the rows of all of them, as text.
    /// Panics on an error. Callable from inside or outside a runtime.
    pub fn sql(&self, db: &str, query: &str) -> Vec<Vec<Option<String>>> {
        let config = self.admin_config(db);
        let rows = block_on(|| async move {
            let client = connect(&config).await?;
            client.simple_query(query).await
        });
        let messages = rows.unwrap_or_else(|e| panic!("{query:?} on database {db}: {e}"));
        let rows = messages.into_iter().filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        });
        rows.map(|row| {
            (0..row.len())
                .map(|i| row.get(i).map(str::to_string))
                .collect()
        })
        .collect()
    }

    /// A superuser connection to database `db` over the Unix socket (to
    /// `pg_terminate_backend` a session, say); its connection task runs on
    /// the current Tokio runtime.
    pub async fn admin(&self, db: &str) -> Client {
        connect(&self.admin_config(db))
            .await
            .unwrap_or_else(|e| panic!("superuser connection to database {db}: {e}"))
    }

    /// Stops the server and removes the directory (what dropping does).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn admin_config(&self, db: &str) -> Config {
        let mut config = Config::new();
        config
            .host_path(self.socket_dir())
            .port(self.port)
            .user(SUPERUSER)
            .dbname(db)
            .connect_timeout(Duration::from_secs(5));
        config
    }

    /// The data directory (a copy of the template) and the socket
    /// directory, owned by the account the server runs as.
    fn lay_out(&self, uid: u32) -> Result<(), String> {
        let owner = self.install.run_as;
        set_owner(self.dir(), owner).map_err(|e| format!("chown {}: {e}", self.dir().display()))?;
        let template = Template::ready(&self.install, uid)?;
        copy_tree(&template.path, &self.data_dir(), owner).map_err(|e| {
            format!(
                "copying the template {} to {}: {e}",
                template.path.display(),
                self.data_dir().display()
            )
        })?;
        drop(template);
        make_dir(&self.socket_dir(), owner)
            .map_err(|e| format!("creating {}: {e}", self.socket_dir().display()))
    }

    /// Starts the postmaster on a free port (another, if that one is taken
    /// meanwhile), waits until it accepts connections and creates [`USER`].
    fn boot(&mut self) -> Result<(), Unavailable> {
        for attempt in 1..=PORT_ATTEMPTS {
            self.port = free_port().map_err(failed)?;
            self.postmaster = Some(self.spawn_postmaster().map_err(failed)?);
            match self.await_ready() {
                Ok(()) => return Ok(()),
                Err(Startup::PortTaken) if attempt < PORT_ATTEMPTS => self.shutdown(),
                Err(Startup::PortTaken) => {
                    return Err(self.startup_failure("every port tried was taken"));
                }
                Err(Startup::Failed(why)) => return Err(self.startup_failure(&why)),
            }
        }
        Err(failed("no port was tried".to_string()))
    }

    fn spawn_postmaster(&self) -> Result<Postmaster, String> {
        let log_path = self.dir().join("server.log");
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("opening {}: {e}", log_path.display()))?;
        let log_too = log
            .try_clone()
            .map_err(|e| format!("opening {}: {e}", log_path.display()))?;
        let mut command = self.install.command("postgres", true);
        command.arg("-D").arg(self.data_dir());
        let durable = if self.durable { DURABLE } else { &[] };
        for setting in SETTINGS.iter().chain(durable) {
            command.arg("-c").arg(setting);
        }
        command
            .arg("-c")
            .arg(format!("port={}", self.port))
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.socket_dir().display()
            ))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_too);
        Postmaster::spawn(command).map_err(|e| {
            format!(
                "starting {}: {e}",
                self.install.bin.join("postgres").display()
            )
        })
    }

    /// Connects as the superuser until the server answers (then creates
    /// [`USER`]), the postmaster exits, or the deadline passes.
    fn await_ready(&mut self) -> Result<(), Startup> {
        let config = self.admin_config("postgres");
        let create_role = format!(
            "CREATE ROLE {USER} LOGIN CREATEDB PASSWORD '{}'",
            self.password
        );
        let log_dir = self.dir.path().to_path_buf();
        let Some(postmaster) = self.postmaster.as_mut() else {
            return Err(Startup::Failed(
                "the postmaster was not started".to_string(),
            ));
        };
        let deadline = Instant::now() + STARTUP_DEADLINE;
        block_on(|| async move {
            loop {
                if let Ok(Some(status)) = postmaster.child.try_wait() {
                    return Err(Startup::exited(status, &read_log(&log_dir)));
                }
                match connect(&config).await {
                    Ok(client) => {
                        return client.batch_execute(&create_role).await.map_err(|e| {
                            Startup::Failed(format!("creating the role {USER}: {e}"))
                        });
                    }
                    Err(_) if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(e) => {
                        return Err(Startup::Failed(format!(
                            "the server did not accept connections within {} s \
                             (last attempt: {e})",
                            STARTUP_DEADLINE.as_secs()
                        )));
                    }
                }
            }
        })
    }

    fn startup_failure(&self, why: &str) -> Unavailable {
        failed(format!(
            "the PostgreSQL server in {} did not start: {why}\n--- server log ---\n{}",
            self.dir().display(),
            tail(&self.server_log(), 40)
        ))
    }

    fn shutdown(&mut self) {
        if let Some(postmaster) = self.postmaster.take() {
            postmaster.stop();
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Why no cluster could be had.
#[derive(Debug)]
pub enum Unavailable {
    /// No PostgreSQL server binaries (or no way to run them as non-root).
    NotInstalled(String),
    /// The binaries are there but the cluster could not be made or started.
    Failed(String),
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::NotInstalled(why) => write!(
                f,
                "{why}; install the PostgreSQL server (Debian: apt-get install postgresql) \
                 to run them"
            ),
            Unavailable::Failed(why) => f.write_str(why),
        }
    }
}

fn failed(why: String) -> Unavailable {
    Unavailable::Failed(why)
}

enum Startup {
    PortTaken,
    Failed(String),
}

impl Startup {
    fn exited(status: ExitStatus, log: &str) -> Startup {
        if log.contains("could not create any TCP/IP sockets") && log.contains("already in use") {
            Startup::PortTaken
        } else {
            Startup::Failed(format!("the postmaster exited ({status})"))
        }
    }
}

/// `CI` set to anything but empty, `0` or `false`.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

/// Once per process, straight to stderr so that `cargo test` shows it even
/// for a passing test (nextest shows it with `--no-capture`).
fn report_not_run(reason: &Unavailable) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(io::stderr(), "\n*** PostgreSQL tests NOT RUN: {reason}\n");
    });
}

/// The server binaries and who runs them.
struct Install {
    bin: PathBuf,
    major: u32,
    /// `setpriv`, when there is one.
    setpriv: Option<PathBuf>,
    /// The unprivileged account, when the test process is root.
    run_as: Option<Account>,
}

#[derive(Clone, Copy)]
struct Account {
    uid: u32,
    gid: u32,
}

impl Install {
    fn find(root: bool) -> Result<Install, Unavailable> {
        let bin = find_bin()?;
        let setpriv = on_path("setpriv");
        let run_as = match (root, &setpriv) {
            (false, _) => None,
            (true, Some(_)) => Some(nobody()?),
            (true, None) => {
                return Err(Unavailable::NotInstalled(
                    "running as root needs setpriv (util-linux) to run PostgreSQL as nobody"
                        .to_string(),
                ));
            }
        };
        let major = major_version(&bin)?;
        Ok(Install {
            bin,
            major,
            setpriv,
            run_as,
        })
    }

    /// `program` of the server's bin directory, run as [`Install::run_as`];
    /// with `pdeathsig`, it gets SIGQUIT when the thread that starts it ends.
    fn command(&self, program: &str, pdeathsig: bool) -> Command {
        let program = self.bin.join(program);
        let setpriv = match &self.setpriv {
            Some(setpriv) if pdeathsig || self.run_as.is_some() => setpriv,
            _ => return Command::new(program),
        };
        let mut command = Command::new(setpriv);
        if let Some(account) = self.run_as {
            command
                .arg(format!("--reuid={}", account.uid))
                .arg(format!("--regid={}", account.gid))
                .arg("--clear-groups");
        }
        if pdeathsig {
            command.args(["--pdeathsig", "QUIT"]);
        }
        command.arg(program);
        command
    }
}

/// The directory of `initdb` on `PATH` (through symlinks), else the newest
/// `/usr/lib/postgresql/*/bin`; it must hold `postgres` too.
fn find_bin() -> Result<PathBuf, Unavailable> {
    let from_path = on_path("initdb")
        .and_then(|initdb| fs::canonicalize(initdb).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        .filter(|bin| bin.join("postgres").is_file());
    if let Some(bin) = from_path {
        return Ok(bin);
    }
    let debian = Path::new("/usr/lib/postgresql");
    let newest = fs::read_dir(debian)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: Vec<u32> = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file())
                .then_some((version, bin))
        })
        .max();
    newest.map(|(_, bin)| bin).ok_or_else(|| {
        Unavailable::NotInstalled(
            "no PostgreSQL server binaries (initdb and postgres) on PATH \
             or in /usr/lib/postgresql/*/bin"
                .to_string(),
        )
    })
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `15` from `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`.
fn major_version(bin: &Path) -> Result<u32, Unavailable> {
    let postgres = bin.join("postgres");
    let output = Command::new(&postgres)
        .arg("-V")
        .output()
        .map_err(|e| failed(format!("running {} -V: {e}", postgres.display())))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_once(") ")
        .and_then(|(_, version)| version.split(['.', ' ']).next())
        .and_then(|major| major.parse().ok())
        .ok_or_else(|| {
            failed(format!(
                "{} -V printed {:?}, not a version",
                postgres.display(),
                text.trim()
            ))
        })
}

/// The account `nobody` from `/etc/passwd`.
fn nobody() -> Result<Account, Unavailable> {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                ["nobody", _, uid, gid, ..] => Some(Account {
                    uid: uid.parse().ok()?,
                    gid: gid.parse().ok()?,
                }),
                _ => None,
            }
        })
        .ok_or_else(|| {
            Unavailable::NotInstalled(
                "running as root needs the account nobody in /etc/passwd \
                 to run PostgreSQL as"
                    .to_string(),
            )
        })
}

/// The initdb'd template for this major version and user, held (a file
/// lock) until dropped so that it is not remade while being copied.
struct Template {
    path: PathBuf,
    _lock: File,
}

impl Template {
    fn ready(install: &Install, uid: u32) -> Result<Template, String> {
        let name = format!("entitle-pg-template-{}-{uid}", install.major);
        let path = std::env::temp_dir().join(&name);
        let lock_path = std::env::temp_dir().join(format!("{name}.lock"));
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("opening {}: {e}", lock_path.display()))?;
        let locking = |e: io::Error| format!("locking {}: {e}", lock_path.display());
        lock.lock_shared().map_err(locking)?;
        if !Self::is_complete(&path) {
            lock.unlock().map_err(locking)?;
            lock.lock().map_err(locking)?;
            if !Self::is_complete(&path) {
                Self::make(install, &path)?;
            }
        }
        Ok(Template { path, _lock: lock })
    }

    fn is_complete(path: &Path) -> bool {
        fs::read_to_string(path.join(TEMPLATE_MARKER)).is_ok_and(|v| v == TEMPLATE_VERSION)
    }

    fn make(install: &Install, path: &Path) -> Result<(), String> {
        match fs::remove_dir_all(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(format!("removing the old template {}: {e}", path.display()));
            }
            Ok(()) | Err(_) => {}
        }
        make_dir(path, install.run_as).map_err(|e| format!("creating {}: {e}", path.display()))?;
        let output = install
            .command("initdb", false)
            .arg("-D")
            .arg(path)
            .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions", "--wal-segsize=1"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running initdb: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "initdb -D {} failed ({}):\n{}{}",
                path.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let write = |file: &str, text: &str| {
            fs::write(path.join(file), text)
                .map_err(|e| format!("writing {}: {e}", path.join(file).display()))
        };
        write("pg_hba.conf", HBA)?;
        write(TEMPLATE_MARKER, TEMPLATE_VERSION)
    }
}

/// A postmaster and the thread that started it: the thread lives until the
/// server is stopped, so the parent-death signal fires only when the
/// cluster is dropped or the process dies.
struct Postmaster {
    child: Child,
    keeper: JoinHandle<()>,
    release: mpsc::Sender<()>,
}

impl Postmaster {
    fn spawn(mut command: Command) -> io::Result<Postmaster> {
        let (spawned_tx, spawned) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let keeper = std::thread::Builder::new()
            .name("pg-cluster".to_string())
            .spawn(move || {
                let _ = spawned_tx.send(command.spawn());
                // Until the sender is dropped.
                let _ = released.recv();
            })?;
        let child = spawned
            .recv()
            .map_err(|_| io::Error::other("the thread starting postgres ended early"))??;
        Ok(Postmaster {
            child,
            keeper,
            release,
        })
    }

    /// Immediate shutdown (SIGQUIT: the postmaster ends its backends and
    /// exits); SIGKILL if it has not exited after [`STOP_DEADLINE`].
    fn stop(mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let quit = Command::new("sh")
                .args(["-c", "kill -s QUIT \"$1\"", "sh"])
                .arg(self.child.id().to_string())
                .stderr(Stdio::null())
                .status();
            let exited = quit.is_ok_and(|status| status.success())
                && wait_until(&mut self.child, Instant::now() + STOP_DEADLINE);
            if !exited {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        drop(self.release);
        let _ = self.keeper.join();
    }
}

fn wait_until(child: &mut Child, deadline: Instant) -> bool {
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return true,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) | Err(_) => return false,
        }
    }
}

/// Connects and runs the connection on the current runtime.
async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// Runs the future `make` returns to completion on a runtime of its own, on
/// a thread of its own (so that it works inside a runtime too).
fn block_on<F, Fut, T>(make: F) -> T
where
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = T>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a Tokio runtime for the PostgreSQL harness")
                    .block_on(make())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A port no one listens on now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("finding a free loopback port: {e}"))
}

fn random_hex() -> Result<String, Unavailable> {
    let mut bytes = [0_u8; 16];
    File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|e| failed(format!("reading /dev/urandom: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn make_dir(path: &Path, owner: Option<Account>) -> io::Result<()> {
    DirBuilder::new().mode(0o700).create(path)?;
    set_owner(path, owner)
}

fn set_owner(path: &Path, owner: Option<Account>) -> io::Result<()> {
    match owner {
        Some(account) => chown(path, Some(account.uid), Some(account.gid)),
        None => Ok(()),
    }
}

/// Copies the template's tree, without its marker, owned by `owner`.
fn copy_tree(from: &Path, to: &Path, owner: Option<Account>) -> io::Result<()> {
    make_dir(to, owner)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target, owner)?;
        } else if entry.file_name() != TEMPLATE_MARKER {
            fs::copy(entry.path(), &target)?;
            set_owner(&target, owner)?;
        }
    }
    Ok(())
}

/// Removes the directories of clusters whose test process is gone (killed
/// before it could drop them); their servers stopped when it died.
fn sweep_stale_clusters(temp: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|name| name.strip_prefix(CLUSTER_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn read_log(dir: &Path) -> String {
    fs::read(dir.join("server.log"))
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
