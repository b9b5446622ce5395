//! How a PostgreSQL URL becomes an authenticated connection.
//!
//! [`Target::parse`] reads a `postgres://` or `postgresql://` URL the way
//! libpq does and fills what it leaves out from libpq's environment
//! (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`,
//! `PGSSLROOTCERT`, `PGCONNECT_TIMEOUT`, `PGAPPNAME`, `PGOPTIONS`,
//! `PGPASSFILE`), then from the password file (`~/.pgpass`), then from
//! libpq's defaults: the socket directory `/var/run/postgresql` when it
//! exists (else `localhost`), port 5432, the OS user, a database named after
//! the user. The URL beats the environment, which beats the password file,
//! which beats the defaults. libpq's `key=value` form, several hosts and
//! URL parameters other than those listed in `PARAMETERS` are refused
//! rather than half-understood.
//!
//! The transport follows the rule the HTTP layer applies: plain text only on
//! loopback. A Unix socket or a loopback host (`127.0.0.0/8`, `::1`,
//! `localhost`) may be reached in plain text; any other host only over TLS,
//! whatever `sslmode` says short of `disable`, which is refused. Every TLS
//! connection verifies the certificate chain and the host name with rustls
//! (`require` and `verify-ca` as much as `verify-full`): against the
//! platform's CAs (`sslrootcert=system`, or no CA file), or the CAs of the
//! `sslrootcert` file (or `~/.postgresql/root.crt` when it exists, as
//! libpq). On loopback `prefer`
//! (the default) and `allow` use TLS when the server offers it and fall
//! back to plain text when it does not or the handshake fails, as libpq does.
//!
//! `connect_timeout` bounds the whole connection, TLS and authentication
//! included, as libpq's does; unlike libpq, an unset one means 30 s rather
//! than forever (`connect_timeout=0` still waits as long as it takes).
//!
//! The password is never shown: [`Target::redacted`] names the target in
//! every message, and [`ConnectError`] is built from it. tokio-postgres's own
//! errors carry no password (their text is a fixed kind, an I/O or TLS
//! cause, or the server's message).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::hint::HINT;

/// libpq's socket directory on Debian, Ubuntu, Fedora and the official images.
const SOCKET_DIR: &str = "/var/run/postgresql";
const DEFAULT_PORT: u16 = 5432;
/// How long a connection may take when the URL does not say
/// (`connect_timeout=0` waits as long as it takes, as libpq).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const APPLICATION_NAME: &str = "entitle";
/// The URL parameters that are read; any other is refused rather than ignored.
const PARAMETERS: &str = "host, port, user, password, dbname, sslmode, sslrootcert, connect_timeout, application_name, options, passfile";

/// A PostgreSQL server to connect to: where, as whom, and how.
pub struct Target {
    config: tokio_postgres::Config,
    transport: Transport,
    timeout: Option<Duration>,
    user: String,
    dbname: String,
    redacted: String,
}

/// How the bytes travel.
#[derive(Clone)]
enum Transport {
    /// Plain text: a Unix socket (PostgreSQL has no TLS there), or a
    /// loopback host with `sslmode=disable`.
    Plain,
    /// Verified TLS when the server offers it, else plain text (loopback
    /// with `allow` or `prefer`).
    TlsIfOffered(Arc<ClientConfig>),
    /// Verified TLS or no connection.
    Tls(Arc<ClientConfig>),
}

/// Where the server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    /// A directory holding the server's Unix socket.
    Socket(PathBuf),
    /// A host name or an IP address.
    Tcp(String),
}

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// What the TLS policy asks of a host, before any CA is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    Plain,
    TlsIfOffered,
    Tls,
}

/// Why a connection could not be made or was lost. Each names the target by
/// its redacted URL, never its password.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL or a libpq variable cannot be read. `url` is absent when the
    /// text is no URL at all (it could hold a password anywhere).
    #[error("invalid PostgreSQL URL{}: {problem}{HINT}{hint}", url.as_deref().map(|u| format!(" {u}")).unwrap_or_default())]
    BadUrl {
        url: Option<String>,
        problem: String,
        hint: String,
    },

    #[error(
        "cannot use {path} as the CA certificates for {url}: {problem}{HINT}sslrootcert (or PGSSLROOTCERT, or ~/.postgresql/root.crt) must be a readable PEM file holding the certificate of the CA that signed the server's; sslrootcert=system uses the system's CAs"
    )]
    RootCert {
        url: String,
        path: PathBuf,
        problem: String,
    },

    #[error(
        "refusing to connect to {url} in plain text: {host} is not a loopback address, and the password and the state would cross the network readable{HINT}remove sslmode=disable from the URL (or PGSSLMODE): entitle then requires TLS; plain text is only for 127.0.0.1, ::1, localhost or a Unix socket"
    )]
    PlainText { url: String, host: String },

    #[error(
        "could not set up TLS for {url}: {cause}{HINT}check that the system's CA certificates are installed, or name the CA file with sslrootcert=FILE"
    )]
    TlsSetup { url: String, cause: String },

    #[error(
        "could not connect to {url}: {cause}{HINT}is the PostgreSQL server running and listening on that host and port? check the host and port (the URL, or PGHOST and PGPORT) and any firewall between"
    )]
    Unreachable { url: String, cause: String },

    #[error(
        "no answer from {url} within {} s{HINT}is the server running and reachable at that host and port, or is a firewall dropping the packets? if the server is only slow, raise connect_timeout=SECONDS in the URL (or PGCONNECT_TIMEOUT)", after.as_secs()
    )]
    Timeout { url: String, after: Duration },

    #[error(
        "PostgreSQL at {url} did not let user {user} in: {cause}{HINT}check the user and password (the URL's, PGUSER and PGPASSWORD, or the matching line of ~/.pgpass or PGPASSFILE); the server's pg_hba.conf must also allow this user, database and address"
    )]
    Authentication {
        url: String,
        user: String,
        cause: String,
    },

    #[error(
        "the database {dbname} does not exist on {url}{HINT}create it (`createdb {dbname}`, or CREATE DATABASE) or put the right database name in the URL's path"
    )]
    NoDatabase { url: String, dbname: String },

    #[error("TLS with {url} failed: {cause}{HINT}{}", tls_hint(cause))]
    Tls { url: String, cause: String },

    #[error(
        "the connection to {url} was lost ({cause}){HINT}run again; if it keeps happening, check the server's log and the network between"
    )]
    Lost { url: String, cause: String },

    #[error(
        "PostgreSQL at {url} answered with an error: {message}{HINT}the server's message says why; fix that and run again"
    )]
    Server { url: String, message: String },

    #[error(
        "talking to {url} failed: {cause}{HINT}check that the host and port are a PostgreSQL server's"
    )]
    Other { url: String, cause: String },
}

fn tls_hint(cause: &str) -> &'static str {
    if cause.contains("does not support TLS") {
        "the server does not accept TLS: enable ssl in its postgresql.conf; entitle sends credentials in plain text only to a loopback address or a Unix socket"
    } else {
        "the server's certificate must be signed by a CA this machine trusts (the system's, or those in the file named by sslrootcert=FILE) and name the host in the URL"
    }
}

impl Target {
    /// Reads a URL, filling what it leaves out from `env` (a libpq variable
    /// by name; `HOME` finds `~/.pgpass`, `USER` or `LOGNAME` the default
    /// user), the password file and libpq's defaults. Loads the CA file the
    /// TLS policy needs; connects nowhere.
    pub fn parse(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Target, ConnectError> {
        let default_host = if Path::new(SOCKET_DIR).is_dir() {
            Host::Socket(SOCKET_DIR.into())
        } else {
            Host::Tcp("localhost".into())
        };
        Self::resolve(url, env, default_host)
    }

    /// [`Target::parse`] with the process's environment; the OS user comes
    /// from `whoami` when neither `USER` nor `LOGNAME` is set.
    pub fn from_env_url(url: &str) -> Result<Target, ConnectError> {
        Self::parse(url, &|name| {
            let value = std::env::var(name).ok();
            match name {
                "USER" => value.or_else(whoami),
                _ => value,
            }
        })
    }

    /// The URL with the password left out, rebuilt from what was resolved:
    /// `postgres://alice@db.example:5432/state?sslmode=require`, or
    /// `postgres://alice@/state?host=/var/run/postgresql&port=5432` for a
    /// socket. For every message, log and plan file.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The server and database alone (`postgres://db.example:5432/state`,
    /// a socket's `host` and `port` kept): the same state whichever user
    /// reaches it and however, as a saved plan compares it.
    pub fn place(&self) -> String {
        let (base, query) = self
            .redacted
            .split_once('?')
            .unwrap_or((&self.redacted, ""));
        let base = match base.split_once("://") {
            Some((scheme, rest)) => {
                let authority_end = rest.find('/').unwrap_or(rest.len());
                let host = match rest[..authority_end].rfind('@') {
                    Some(at) => &rest[at + 1..],
                    None => rest,
                };
                format!("{scheme}://{host}")
            }
            None => base.to_string(),
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| pair.starts_with("host=") || pair.starts_with("port="))
            .collect();
        if kept.is_empty() {
            base
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    }

    /// Connects and authenticates, all within `connect_timeout` (30 s when
    /// unset, no limit when 0). The connection's I/O runs on a task of its
    /// own, which logs its end.
    pub async fn connect(&self) -> Result<Client, ConnectError> {
        let Some(limit) = self.timeout else {
            return self.establish().await;
        };
        match tokio::time::timeout(limit, self.establish()).await {
            Ok(result) => result,
            Err(_) => Err(ConnectError::Timeout {
                url: self.redacted.clone(),
                after: limit,
            }),
        }
    }

    async fn establish(&self) -> Result<Client, ConnectError> {
        let result = match &self.transport {
            Transport::Plain => open(&self.config, NoTls, &self.redacted).await,
            Transport::Tls(tls) => open(&self.config, rustls_connect(tls), &self.redacted).await,
            Transport::TlsIfOffered(tls) => {
                match open(&self.config, rustls_connect(tls), &self.redacted).await {
                    Err(err) if failure(&err) == Failure::Tls => {
                        tracing::debug!(
                            "{}: TLS failed ({}); trying plain text, as allowed on loopback",
                            self.redacted,
                            causes(&err)
                        );
                        let mut plain = self.config.clone();
                        plain.ssl_mode(PgSslMode::Disable);
                        open(&plain, NoTls, &self.redacted).await
                    }
                    other => other,
                }
            }
        };
        result.map_err(|err| ConnectError::classify(err, self, Phase::Connecting))
    }

    fn resolve(
        url: &str,
        env: &dyn Fn(&str) -> Option<String>,
        default_host: Host,
    ) -> Result<Target, ConnectError> {
        let given = Given::split(url).map_err(|problem| ConnectError::BadUrl {
            url: redact_raw(url),
            problem,
            hint: url_hint(),
        })?;
        Resolver {
            given,
            env,
            raw: url,
        }
        .resolve(default_host)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// Shows the redacted URL only.
impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.redacted)
            .finish_non_exhaustive()
    }
}

fn url_hint() -> String {
    "write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require (a socket: postgres://USER@/DATABASE?host=/var/run/postgresql); percent-encode `@`, `/`, `:`, `?` and `%` in the user, password and database name".into()
}

fn whoami() -> Option<String> {
    let output = std::process::Command::new("whoami").output().ok()?;
    let name = String::from_utf8(output.stdout).ok()?;
    Some(name.trim().to_string()).filter(|name| !name.is_empty() && output.status.success())
}

/// Opens a connection and hands its I/O to a task of its own.
async fn open<T>(
    config: &tokio_postgres::Config,
    tls: T,
    url: &str,
) -> Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    let url = url.to_string();
    tokio::spawn(async move {
        match connection.await {
            Ok(()) => tracing::debug!("{url}: connection closed"),
            Err(err) => tracing::debug!("{url}: connection ended: {}", describe(&err)),
        }
    });
    Ok(client)
}

fn rustls_connect(tls: &Arc<ClientConfig>) -> MakeRustlsConnect {
    MakeRustlsConnect::new(ClientConfig::clone(tls))
}

// ---------------------------------------------------------------------------
// Reading the URL

/// What the URL itself says, percent-decoded.
#[derive(Debug, Default)]
struct Given {
    user: Option<String>,
    password: Option<String>,
    host: Option<String>,
    port: Option<String>,
    dbname: Option<String>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    connect_timeout: Option<String>,
    application_name: Option<String>,
    options: Option<String>,
    passfile: Option<String>,
    /// Whether values from the URL may be quoted in messages: not when an
    /// `@` follows the user information, which then may have been cut
    /// short inside an unencoded password.
    quotable: bool,
}

impl Given {
    /// Splits `postgres://user:password@host:port/dbname?key=value&...` as
    /// libpq does; the user information ends at the last `@` before the
    /// first `/`, so an unencoded `@` in a password still reads right.
    fn split(url: &str) -> Result<Given, String> {
        let rest = url
            .strip_prefix("postgresql://")
            .or_else(|| url.strip_prefix("postgres://"))
            .ok_or("it does not start with postgres:// or postgresql:// (entitle does not read libpq's key=value form)")?;
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (userinfo, rest) = match rest[..authority_end].rfind('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let mut given = Given {
            quotable: !rest.contains('@'),
            ..Given::default()
        };
        if let Some(userinfo) = userinfo {
            given.read_userinfo(userinfo)?;
        }
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
        given.read_hostport(hostport)?;
        given.dbname = decode(path)
            .ok_or_else(|| given.bad("database name", path, "is not validly percent-encoded"))?
            .into();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            given.read_parameter(pair)?;
        }
        given.drop_empty();
        Ok(given)
    }

    fn read_userinfo(&mut self, userinfo: &str) -> Result<(), String> {
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        self.user = Some(
            decode(user)
                .ok_or("the user name is not validly percent-encoded (write `%` as %25)")?,
        );
        if let Some(password) = password {
            self.password = Some(
                decode(password)
                    .ok_or("the password is not validly percent-encoded (write `%` as %25)")?,
            );
        }
        Ok(())
    }

    fn read_hostport(&mut self, hostport: &str) -> Result<(), String> {
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| self.bad("IPv6 address", hostport, "is missing its closing `]`"))?;
            let port = match after.strip_prefix(':') {
                Some(port) => Some(port),
                None if after.is_empty() => None,
                None => {
                    return Err(self.bad(
                        "host",
                        hostport,
                        "has text after its `]` that is not `:PORT`",
                    ));
                }
            };
            (host.to_string(), port)
        } else {
            let (host, port) = match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            };
            let decoded = decode(host)
                .ok_or_else(|| self.bad("host", host, "is not validly percent-encoded"))?;
            (decoded, port)
        };
        self.host = Some(host);
        self.port = port.map(str::to_string);
        Ok(())
    }

    fn read_parameter(&mut self, pair: &str) -> Result<(), String> {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("the parameter{} has no `=VALUE`", self.quote(pair)));
        };
        let value = decode(value).ok_or_else(|| match key {
            "password" => "the password parameter is not validly percent-encoded".to_string(),
            _ => self.bad(
                &format!("value of {key}"),
                value,
                "is not validly percent-encoded",
            ),
        })?;
        let slot = match key {
            "host" => &mut self.host,
            "port" => &mut self.port,
            "user" => &mut self.user,
            "password" => &mut self.password,
            "dbname" => &mut self.dbname,
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            "connect_timeout" => &mut self.connect_timeout,
            "application_name" => &mut self.application_name,
            "options" => &mut self.options,
            "passfile" => &mut self.passfile,
            _ => {
                return Err(format!(
                    "entitle does not support the parameter{} (it reads {PARAMETERS})",
                    self.quote(key)
                ));
            }
        };
        *slot = Some(value);
        Ok(())
    }

    /// An empty value is no value, as in libpq (`postgres:///db`).
    fn drop_empty(&mut self) {
        for slot in [
            &mut self.user,
            &mut self.password,
            &mut self.host,
            &mut self.port,
            &mut self.dbname,
            &mut self.sslmode,
            &mut self.sslrootcert,
            &mut self.connect_timeout,
            &mut self.application_name,
            &mut self.options,
            &mut self.passfile,
        ] {
            if slot.as_deref() == Some("") {
                *slot = None;
            }
        }
    }

    fn bad(&self, what: &str, value: &str, problem: &str) -> String {
        format!("the {what}{} {problem}", self.quote(value))
    }

    fn quote(&self, value: &str) -> String {
        if self.quotable {
            format!(" `{value}`")
        } else {
            String::new()
        }
    }
}

/// Decodes `%XX` escapes; `None` when one is malformed or the result is not
/// UTF-8. `+` stays `+`, as in libpq.
fn decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        if byte == b'%' {
            let hex = after.get(..2)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = &after[2..];
        } else {
            bytes.push(byte);
            rest = after;
        }
    }
    String::from_utf8(bytes).ok()
}

/// Percent-encodes all but unreserved characters and those in `keep`.
fn encode(text: &str, keep: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric()
            || b"-._~".contains(&byte)
            || keep.as_bytes().contains(&byte)
        {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A URL that could not be read, with whatever may be a password left out:
/// everything from the first `:` of the user information to the last `@`,
/// and any `password=` parameter. `None` when it is no URL at all.
fn redact_raw(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let rest = match rest.rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or_default();
            format!("{user}@{}", &rest[at + 1..])
        }
        None => rest.to_string(),
    };
    let rest = match rest.split_once('?') {
        Some((before, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| !pair.starts_with("password="))
                .collect();
            if kept.is_empty() {
                before.to_string()
            } else {
                format!("{before}?{}", kept.join("&"))
            }
        }
        None => rest,
    };
    Some(format!("{scheme}://{rest}"))
}

// ---------------------------------------------------------------------------
// Filling in from the environment

/// A value and where it came from, for messages.
struct Setting {
    value: String,
    from: Origin,
}

#[derive(Clone, Copy)]
enum Origin {
    /// The URL; quoting its value is allowed when the flag says so.
    Url(bool),
    Env(&'static str),
}

impl Setting {
    /// `the port `abc``, or `PGPORT `abc`` for a value from the environment.
    fn named(&self, what: &str) -> String {
        match self.from {
            Origin::Url(true) => format!("the {what} `{}`", self.value),
            Origin::Url(false) => format!("the {what}"),
            Origin::Env(var) => format!("{var} `{}`", self.value),
        }
    }
}

struct Resolver<'a> {
    given: Given,
    env: &'a dyn Fn(&str) -> Option<String>,
    raw: &'a str,
}

/// What the resolver has settled before the password and the TLS setup.
struct Place {
    host: Host,
    port: u16,
    user: String,
    dbname: String,
}

impl Resolver<'_> {
    fn resolve(mut self, default_host: Host) -> Result<Target, ConnectError> {
        let place = self.place(default_host)?;
        let sslmode = self.sslmode()?;
        let sslrootcert = self.pick(|given| &mut given.sslrootcert, "PGSSLROOTCERT");
        let redacted = render(
            &place,
            sslmode.as_ref().map(|(mode, _)| *mode),
            sslrootcert.as_ref().map(|s| s.value.as_str()),
        );
        let mode = sslmode.map_or(SslMode::Prefer, |(mode, _)| mode);
        let policy = policy(&place.host, mode).map_err(|host| ConnectError::PlainText {
            url: redacted.clone(),
            host,
        })?;
        let transport = self.transport(policy, sslrootcert, &redacted)?;
        let timeout = self.timeout()?;
        let password = self.password(&place);
        let mut config = tokio_postgres::Config::new();
        match &place.host {
            Host::Socket(dir) => config.host_path(dir),
            Host::Tcp(name) => config.host(name),
        };
        config
            .port(place.port)
            .user(&place.user)
            .dbname(&place.dbname)
            .ssl_mode(match policy {
                Policy::Plain => PgSslMode::Disable,
                Policy::TlsIfOffered => PgSslMode::Prefer,
                Policy::Tls => PgSslMode::Require,
            })
            .application_name(
                self.pick(|given| &mut given.application_name, "PGAPPNAME")
                    .map_or(APPLICATION_NAME.to_string(), |s| s.value),
            );
        if let Some(options) = self.pick(|given| &mut given.options, "PGOPTIONS") {
            config.options(options.value);
        }
        if let Some(password) = password {
            config.password(password);
        }
        if let Some(limit) = timeout {
            config.connect_timeout(limit);
        }
        Ok(Target {
            config,
            transport,
            timeout,
            user: place.user,
            dbname: place.dbname,
            redacted,
        })
    }

    /// The URL's value (taken out of it), else the variable's; empty counts
    /// as unset.
    fn pick(
        &mut self,
        field: fn(&mut Given) -> &mut Option<String>,
        var: &'static str,
    ) -> Option<Setting> {
        match field(&mut self.given).take() {
            Some(value) => Some(Setting {
                value,
                from: Origin::Url(self.given.quotable),
            }),
            None => (self.env)(var)
                .filter(|value| !value.is_empty())
                .map(|value| Setting {
                    value,
                    from: Origin::Env(var),
                }),
        }
    }

    fn bad(&self, problem: String, hint: &str) -> ConnectError {
        ConnectError::BadUrl {
            url: redact_raw(self.raw),
            problem,
            hint: hint.to_string(),
        }
    }

    fn place(&mut self, default_host: Host) -> Result<Place, ConnectError> {
        let host = match self.pick(|given| &mut given.host, "PGHOST") {
            Some(setting) => self.host(setting)?,
            None => default_host,
        };
        let port = match self.pick(|given| &mut given.port, "PGPORT") {
            Some(setting) => match setting.value.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => {
                    return Err(self.bad(
                        format!("{} is not a number from 1 to 65535", setting.named("port")),
                        "give the server's port, 5432 unless it was changed",
                    ));
                }
            },
            None => DEFAULT_PORT,
        };
        let user = self
            .pick(|given| &mut given.user, "PGUSER")
            .map(|s| s.value)
            .or_else(|| self.os_user())
            .ok_or_else(|| {
                self.bad(
                    "it names no user, and neither PGUSER nor the OS user name is known".into(),
                    "put the user in the URL: postgres://USER@HOST/DATABASE",
                )
            })?;
        let dbname = self
            .pick(|given| &mut given.dbname, "PGDATABASE")
            .map_or_else(|| user.clone(), |s| s.value);
        Ok(Place {
            host,
            port,
            user,
            dbname,
        })
    }

    fn os_user(&self) -> Option<String> {
        ["USER", "LOGNAME"]
            .into_iter()
            .find_map(|var| (self.env)(var).filter(|value| !value.is_empty()))
    }

    fn host(&self, setting: Setting) -> Result<Host, ConnectError> {
        let value = &setting.value;
        if value.starts_with('/') {
            return Ok(Host::Socket(PathBuf::from(value)));
        }
        let problem = if value.contains(',') {
            "lists several hosts; entitle connects to one"
        } else if value.contains('/') {
            "is neither a host name nor an absolute socket directory"
        } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            "holds a space or a control character"
        } else {
            return Ok(Host::Tcp(value.clone()));
        };
        Err(self.bad(
            format!("{} {problem}", setting.named("host")),
            "give one host name, IP address, or socket directory (starting with /)",
        ))
    }

    fn sslmode(&mut self) -> Result<Option<(SslMode, Setting)>, ConnectError> {
        let Some(setting) = self.pick(|given| &mut given.sslmode, "PGSSLMODE") else {
            return Ok(None);
        };
        let mode = match setting.value.as_str() {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(self.bad(
                    format!("{} is not an sslmode", setting.named("sslmode")),
                    "use disable, allow, prefer, require, verify-ca or verify-full",
                ));
            }
        };
        Ok(Some((mode, setting)))
    }

    fn timeout(&mut self) -> Result<Option<Duration>, ConnectError> {
        let Some(setting) = self.pick(|given| &mut given.connect_timeout, "PGCONNECT_TIMEOUT")
        else {
            return Ok(Some(DEFAULT_CONNECT_TIMEOUT));
        };
        match setting.value.trim().parse::<i64>() {
            Ok(seconds) if seconds <= 0 => Ok(None),
            Ok(seconds) => Ok(Some(Duration::from_secs(seconds.unsigned_abs()))),
            Err(_) => Err(self.bad(
                format!(
                    "{} is not a whole number of seconds",
                    setting.named("connect_timeout")
                ),
                "give the seconds to wait for a connection, e.g. connect_timeout=10 (0 waits as long as it takes)",
            )),
        }
    }

    fn transport(
        &self,
        policy: Policy,
        sslrootcert: Option<Setting>,
        url: &str,
    ) -> Result<Transport, ConnectError> {
        Ok(match policy {
            Policy::Plain => Transport::Plain,
            Policy::TlsIfOffered => {
                Transport::TlsIfOffered(Arc::new(self.tls_config(sslrootcert, url)?))
            }
            Policy::Tls => Transport::Tls(Arc::new(self.tls_config(sslrootcert, url)?)),
        })
    }

    /// rustls with the platform's verifier, or with the CAs of the
    /// `sslrootcert` file (by default `~/.postgresql/root.crt` when it exists).
    fn tls_config(
        &self,
        sslrootcert: Option<Setting>,
        url: &str,
    ) -> Result<ClientConfig, ConnectError> {
        let file = match sslrootcert {
            Some(setting) if setting.value == "system" => None,
            Some(setting) => Some(PathBuf::from(setting.value)),
            None => self
                .home()
                .map(|home| home.join(".postgresql/root.crt"))
                .filter(|path| path.exists()),
        };
        let setup = |err: rustls::Error| ConnectError::TlsSetup {
            url: url.to_string(),
            cause: err.to_string(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(setup)?;
        let config = match file {
            None => {
                use rustls_platform_verifier::BuilderVerifierExt;
                builder.with_platform_verifier().map_err(setup)?
            }
            Some(path) => builder.with_root_certificates(root_certificates(&path, url)?),
        };
        Ok(config.with_no_client_auth())
    }

    fn home(&self) -> Option<PathBuf> {
        (self.env)("HOME")
            .filter(|home| !home.is_empty())
            .map(PathBuf::from)
    }

    /// The URL's password, else `PGPASSWORD`, else the password file's.
    fn password(&mut self, place: &Place) -> Option<String> {
        if let Some(password) = self.given.password.take() {
            return Some(password);
        }
        if let Some(password) = (self.env)("PGPASSWORD").filter(|p| !p.is_empty()) {
            return Some(password);
        }
        let file = match self.pick(|given| &mut given.passfile, "PGPASSFILE") {
            Some(setting) => PathBuf::from(setting.value),
            None => self.home()?.join(".pgpass"),
        };
        pgpass::lookup(&file, place)
    }
}

/// The CAs in a PEM file, or an error naming it.
fn root_certificates(path: &Path, url: &str) -> Result<rustls::RootCertStore, ConnectError> {
    let error = |problem: String| ConnectError::RootCert {
        url: url.to_string(),
        path: path.to_path_buf(),
        problem,
    };
    let pem = std::fs::read(path).map_err(|err| error(format!("cannot read it: {err}")))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| error(format!("it is not valid PEM: {err}")))?;
    let mut store = rustls::RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(certificates);
    if added == 0 {
        return Err(error(
            "it holds no usable certificate (a PEM `BEGIN CERTIFICATE` block)".into(),
        ));
    }
    Ok(store)
}

/// Plain text only to a socket or a loopback host; `Err` holds a host
/// that `sslmode=disable` would reach in plain text.
fn policy(host: &Host, mode: SslMode) -> Result<Policy, String> {
    let loopback = match host {
        Host::Socket(_) => return Ok(Policy::Plain),
        Host::Tcp(name) => is_loopback(name),
    };
    match mode {
        SslMode::Disable if loopback => Ok(Policy::Plain),
        SslMode::Disable => Err(match host {
            Host::Tcp(name) => name.clone(),
            Host::Socket(dir) => dir.display().to_string(),
        }),
        SslMode::Allow | SslMode::Prefer if loopback => Ok(Policy::TlsIfOffered),
        SslMode::Allow | SslMode::Prefer => Ok(Policy::Tls),
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Ok(Policy::Tls),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The canonical, password-free URL of a resolved target.
fn render(place: &Place, sslmode: Option<SslMode>, sslrootcert: Option<&str>) -> String {
    let user = encode(&place.user, "");
    let dbname = encode(&place.dbname, "");
    let mut query = Vec::new();
    let mut url = match &place.host {
        Host::Socket(dir) => {
            query.push(format!("host={}", encode(&dir.to_string_lossy(), "/")));
            query.push(format!("port={}", place.port));
            format!("postgres://{user}@/{dbname}")
        }
        Host::Tcp(name) if name.contains(':') => {
            format!("postgres://{user}@[{name}]:{}/{dbname}", place.port)
        }
        Host::Tcp(name) => format!(
            "postgres://{user}@{}:{}/{dbname}",
            encode(name, ""),
            place.port
        ),
    };
    if let Some(mode) = sslmode {
        query.push(format!("sslmode={}", mode.name()));
    }
    if let Some(file) = sslrootcert {
        query.push(format!("sslrootcert={}", encode(file, "/")));
    }
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    url
}

impl SslMode {
    fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

// ---------------------------------------------------------------------------
// The password file

mod pgpass {
    //! libpq's password file: `host:port:database:user:password` lines, `*`
    //! matching anything, `\:` and `\\` escapes, the first match winning.

    use std::path::Path;

    use super::{Host, Place};

    /// One field of a line: `*` (anything) or a value.
    #[derive(Debug, PartialEq, Eq)]
    pub(super) enum Field {
        Any,
        Is(String),
    }

    impl Field {
        fn matches(&self, value: &str) -> bool {
            match self {
                Field::Any => true,
                Field::Is(text) => text == value,
            }
        }
    }

    /// The password of the first line matching `place`, if the file is
    /// there and private to its owner (libpq ignores it otherwise, warning).
    /// A socket matches `localhost`, as libpq's default socket does, or its
    /// directory.
    pub(super) fn lookup(file: &Path, place: &Place) -> Option<String> {
        let text = std::fs::read_to_string(file).ok()?;
        if !private(file) {
            return None;
        }
        let port = place.port.to_string();
        let hosts: Vec<String> = match &place.host {
            Host::Tcp(name) => vec![name.clone()],
            Host::Socket(dir) => vec!["localhost".to_string(), dir.to_string_lossy().into_owned()],
        };
        text.lines()
            .filter_map(line)
            .find_map(|[host, p, db, user, password]| {
                let hit = hosts.iter().any(|h| host.matches(h))
                    && p.matches(&port)
                    && db.matches(&place.dbname)
                    && user.matches(&place.user);
                hit.then(|| match password {
                    Field::Any => "*".to_string(),
                    Field::Is(password) => password,
                })
            })
    }

    /// Whether the file can be trusted: a regular file that neither its
    /// group nor others can read or write.
    #[cfg(unix)]
    fn private(file: &Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(file) else {
            return false;
        };
        if !meta.is_file() {
            tracing::warn!(
                "password file {} is not a plain file; ignoring it",
                file.display()
            );
            return false;
        }
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "password file {} has group or world access; ignoring it, as libpq does (make it private: chmod 0600 {})",
                file.display(),
                file.display()
            );
            return false;
        }
        true
    }

    #[cfg(not(unix))]
    fn private(_file: &Path) -> bool {
        true
    }

    /// A line's five fields; `None` for comments, blank or short lines. The
    /// password is the rest of the line, `:` included.
    pub(super) fn line(line: &str) -> Option<[Field; 5]> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') || line.trim().is_empty() {
            return None;
        }
        let mut fields = Vec::with_capacity(5);
        let mut current = String::new();
        let mut escaped_any = false;
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    current.extend(chars.next());
                    escaped_any = true;
                }
                ':' if fields.len() < 4 => {
                    fields.push(field(std::mem::take(&mut current), escaped_any));
                    escaped_any = false;
                }
                c => current.push(c),
            }
        }
        if fields.len() < 4 {
            return None;
        }
        fields.push(Field::Is(current));
        fields.try_into().ok()
    }

    fn field(text: String, escaped: bool) -> Field {
        if text == "*" && !escaped {
            Field::Any
        } else {
            Field::Is(text)
        }
    }
}

// ---------------------------------------------------------------------------
// Errors from tokio-postgres

/// When an error happened: a failure while connecting is a connection not
/// made; the same failure later is a connection lost.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Session,
}

/// What kind of failure a tokio-postgres error is. Its kinds are private;
/// their fixed texts are all there is to tell them apart.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    Connect,
    Tls,
    Authentication,
    /// The server wanted a password and none was given.
    NoPassword,
    Io,
    Closed,
    Db,
    Other,
}

fn failure(err: &tokio_postgres::Error) -> Failure {
    if err.is_closed() {
        return Failure::Closed;
    }
    if err.as_db_error().is_some() {
        return Failure::Db;
    }
    match err.to_string().as_str() {
        "error connecting to server" => Failure::Connect,
        "error performing TLS handshake" => Failure::Tls,
        "authentication error" => Failure::Authentication,
        "invalid configuration" if causes(err) == "password missing" => Failure::NoPassword,
        "error communicating with the server" => Failure::Io,
        _ => Failure::Other,
    }
}

/// An error and its causes, joined with `: `.
fn describe(err: &tokio_postgres::Error) -> String {
    match causes(err) {
        causes if causes.is_empty() => err.to_string(),
        causes => format!("{err}: {causes}"),
    }
}

/// The causes under an error, joined with `: `.
fn causes(err: &tokio_postgres::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

impl ConnectError {
    /// An error from a session on `target` (a query, a transaction), in the
    /// same terms as a failure to connect: a closed connection is
    /// [`ConnectError::Lost`], a server error keeps its message.
    pub fn from_pg(err: tokio_postgres::Error, target: &Target) -> ConnectError {
        Self::classify(err, target, Phase::Session)
    }

    fn classify(err: tokio_postgres::Error, target: &Target, phase: Phase) -> ConnectError {
        let url = target.redacted.clone();
        let cause = causes(&err);
        match (failure(&err), phase) {
            (Failure::Db, _) => Self::from_server(&err, target),
            (Failure::Connect, _) => ConnectError::Unreachable { url, cause },
            (Failure::Io | Failure::Closed, Phase::Connecting) => ConnectError::Unreachable {
                url,
                cause: format!(
                    "the connection closed before PostgreSQL answered{}",
                    if cause.is_empty() {
                        String::new()
                    } else {
                        format!(" ({cause})")
                    }
                ),
            },
            (Failure::Io | Failure::Closed, Phase::Session) => ConnectError::Lost {
                url,
                cause: describe(&err),
            },
            (Failure::Tls, _) => ConnectError::Tls { url, cause },
            (Failure::Authentication, _) => ConnectError::Authentication {
                url,
                user: target.user.clone(),
                cause,
            },
            (Failure::NoPassword, _) => ConnectError::Authentication {
                url,
                user: target.user.clone(),
                cause: "the server asks for a password and none was given".into(),
            },
            (Failure::Other, _) => ConnectError::Other {
                url,
                cause: describe(&err),
            },
        }
    }

    fn from_server(err: &tokio_postgres::Error, target: &Target) -> ConnectError {
        let url = target.redacted.clone();
        let Some(db) = err.as_db_error() else {
            return ConnectError::Other {
                url,
                cause: err.to_string(),
            };
        };
        let message = format!("{db} (SQLSTATE {})", db.code().code());
        let code = db.code();
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            ConnectError::Authentication {
                url,
                user: target.user.clone(),
                cause: message,
            }
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            ConnectError::NoDatabase {
                url,
                dbname: target.dbname.clone(),
            }
        } else {
            ConnectError::Server { url, message }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const PASSWORD: &str = "Sup3r@S3cret/:%";
    /// [`PASSWORD`] percent-encoded for a URL.
    const ENCODED: &str = "Sup3r%40S3cret%2F%3A%25";

    /// An environment of `pairs` alone.
    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn localhost() -> Host {
        Host::Tcp("localhost".into())
    }

    /// `pairs` with the OS user `tester` unless they name one.
    fn with_user(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        env(&[&[("USER", "tester")], pairs].concat())
    }

    fn target(url: &str, pairs: &[(&str, &str)]) -> Target {
        Target::resolve(url, &with_user(pairs), localhost())
            .unwrap_or_else(|err| panic!("{url}: {err}"))
    }

    fn error(url: &str, pairs: &[(&str, &str)]) -> ConnectError {
        match Target::resolve(url, &with_user(pairs), localhost()) {
            Ok(target) => panic!("{url} was accepted as {target}"),
            Err(err) => err,
        }
    }

    fn hosts(target: &Target) -> Vec<Host> {
        target
            .config
            .get_hosts()
            .iter()
            .map(|host| match host {
                tokio_postgres::config::Host::Tcp(name) => Host::Tcp(name.clone()),
                tokio_postgres::config::Host::Unix(dir) => Host::Socket(dir.clone()),
            })
            .collect()
    }

    fn password(target: &Target) -> Option<String> {
        target
            .config
            .get_password()
            .map(|p| String::from_utf8(p.to_vec()).unwrap())
    }

    #[test]
    fn every_part_of_a_url_is_read() {
        let url = format!(
            "postgres://alice:{ENCODED}@db.example:6543/state?sslmode=require&connect_timeout=7&application_name=ci&options=-c%20search_path%3Dent"
        );
        let target = target(&url, &[]);
        assert_eq!(target.config.get_user(), Some("alice"));
        assert_eq!(password(&target).as_deref(), Some(PASSWORD));
        assert_eq!(hosts(&target), [Host::Tcp("db.example".into())]);
        assert_eq!(target.config.get_ports(), [6543]);
        assert_eq!(target.config.get_dbname(), Some("state"));
        assert_eq!(target.config.get_application_name(), Some("ci"));
        assert_eq!(target.config.get_options(), Some("-c search_path=ent"));
        assert_eq!(target.timeout, Some(Duration::from_secs(7)));
        assert!(matches!(target.transport, Transport::Tls(_)));
        assert_eq!(
            target.redacted(),
            "postgres://alice@db.example:6543/state?sslmode=require"
        );
        let long = target.redacted().replace("postgres://", "postgresql://");
        assert_eq!(self::target(&long, &[]).redacted(), target.redacted());
        assert_eq!(target.place(), "postgres://db.example:6543/state");
    }

    #[test]
    fn the_place_of_a_socket_keeps_its_directory_and_port() {
        let target = target("postgres:///state?host=/run/pg&user=bob", &[]);
        assert_eq!(target.place(), "postgres:///state?host=/run/pg&port=5432");
    }

    #[test]
    fn query_parameters_override_the_authority_and_empty_parts_are_unset() {
        let target = target(
            "postgres://alice@h1:1/db1?host=127.0.0.1&port=2&user=bob&dbname=db2",
            &[],
        );
        assert_eq!(target.redacted(), "postgres://bob@127.0.0.1:2/db2");
        let target = self::target("postgres://@:/?sslmode=", &[("USER", "carol")]);
        assert_eq!(target.redacted(), "postgres://carol@localhost:5432/carol");
    }

    #[test]
    fn sockets_are_written_as_libpq_allows() {
        for (url, dir, port) in [
            (
                "postgres://%2Fvar%2Flib%2Fpostgresql/db",
                "/var/lib/postgresql",
                5432,
            ),
            ("postgres://%2ftmp%2fa%20b:5433/db", "/tmp/a b", 5433),
            ("postgresql:///db?host=/run/pg&port=5434", "/run/pg", 5434),
            ("postgres://alice@/db?host=%2Frun%2Fpg", "/run/pg", 5432),
        ] {
            let target = target(url, &[("USER", "alice")]);
            assert_eq!(hosts(&target), [Host::Socket(dir.into())], "{url}");
            assert_eq!(target.config.get_ports(), [port], "{url}");
            assert!(matches!(target.transport, Transport::Plain), "{url}");
            let again = self::target(target.redacted(), &[]);
            assert_eq!(again.redacted(), target.redacted(), "{url}");
            assert_eq!(hosts(&again), hosts(&target), "{url}");
        }
        let target = target("postgres://alice@/db?host=/run/pg", &[]);
        assert_eq!(
            target.redacted(),
            "postgres://alice@/db?host=/run/pg&port=5432"
        );
        let spaced = self::target("postgres://%2ftmp%2fa%20b/db", &[("USER", "a")]);
        assert_eq!(
            spaced.redacted(),
            "postgres://a@/db?host=/tmp/a%20b&port=5432"
        );
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let target = target("postgres://u@[::1]:5/x", &[]);
        assert_eq!(hosts(&target), [Host::Tcp("::1".into())]);
        assert_eq!(target.redacted(), "postgres://u@[::1]:5/x");
        assert!(matches!(target.transport, Transport::TlsIfOffered(_)));
    }

    #[test]
    fn missing_parts_come_from_the_defaults() {
        let target = Target::resolve(
            "postgres://",
            &env(&[("USER", "carol")]),
            Host::Socket("/var/run/postgresql".into()),
        )
        .unwrap();
        assert_eq!(hosts(&target), [Host::Socket("/var/run/postgresql".into())]);
        assert_eq!(target.config.get_ports(), [5432]);
        assert_eq!(target.config.get_user(), Some("carol"));
        assert_eq!(target.config.get_dbname(), Some("carol"));
        assert_eq!(target.config.get_application_name(), Some("entitle"));
        assert_eq!(target.config.get_password(), None);
        assert_eq!(target.timeout, Some(DEFAULT_CONNECT_TIMEOUT));
        let logname = Target::resolve("postgres://h", &env(&[("LOGNAME", "dave")]), localhost());
        assert_eq!(logname.unwrap().config.get_user(), Some("dave"));
        let err = Target::resolve("postgres://h/db", &env(&[]), localhost()).unwrap_err();
        assert!(err.to_string().contains("names no user"), "{err}");
    }

    #[test]
    fn the_url_beats_the_environment_which_beats_the_defaults() {
        let everything = [
            ("PGHOST", "127.0.0.2"),
            ("PGPORT", "7000"),
            ("PGUSER", "eve"),
            ("PGPASSWORD", "from-env"),
            ("PGDATABASE", "envdb"),
            ("PGSSLMODE", "require"),
            ("PGCONNECT_TIMEOUT", "3"),
            ("PGAPPNAME", "envapp"),
            ("USER", "os"),
        ];
        let from_env = target("postgres://", &everything);
        assert_eq!(
            from_env.redacted(),
            "postgres://eve@127.0.0.2:7000/envdb?sslmode=require"
        );
        assert_eq!(password(&from_env).as_deref(), Some("from-env"));
        assert_eq!(from_env.timeout, Some(Duration::from_secs(3)));
        assert_eq!(from_env.config.get_application_name(), Some("envapp"));
        assert!(matches!(from_env.transport, Transport::Tls(_)));

        let url = "postgres://bob:from-url@localhost:6000/urldb?sslmode=disable&connect_timeout=0&application_name=urlapp";
        let from_url = target(url, &everything);
        assert_eq!(
            from_url.redacted(),
            "postgres://bob@localhost:6000/urldb?sslmode=disable"
        );
        assert_eq!(password(&from_url).as_deref(), Some("from-url"));
        assert_eq!(from_url.timeout, None);
        assert_eq!(from_url.config.get_application_name(), Some("urlapp"));
        assert!(matches!(from_url.transport, Transport::Plain));
    }

    #[test]
    fn bad_parts_are_named() {
        for (url, pairs, expected) in [
            (
                "postgres://h:99999/db",
                &[][..],
                "the port `99999` is not a number",
            ),
            ("postgres://h:0/db", &[], "the port `0` is not a number"),
            (
                "postgres://h/db",
                &[("PGPORT", "abc")],
                "PGPORT `abc` is not a number",
            ),
            (
                "postgres://h/db?sslmode=maybe",
                &[],
                "the sslmode `maybe` is not an sslmode",
            ),
            (
                "postgres://h/db",
                &[("PGSSLMODE", "on")],
                "PGSSLMODE `on` is not an sslmode",
            ),
            (
                "postgres://h1,h2/db",
                &[],
                "the host `h1,h2` lists several hosts",
            ),
            ("postgres://h1:5432,h2:5433/db", &[], "not a number"),
            (
                "postgres://h/db?target_session_attrs=any",
                &[],
                "does not support the parameter `target_session_attrs`",
            ),
            ("postgres://h/db?sslmode", &[], "has no `=VALUE`"),
            (
                "postgres://h/d%zzb",
                &[],
                "database name `d%zzb` is not validly percent-encoded",
            ),
            (
                "postgres://h/db?connect_timeout=soon",
                &[],
                "the connect_timeout `soon` is not a whole number",
            ),
            ("postgres://[::1/db", &[], "missing its closing `]`"),
            ("postgres://a b/db", &[], "holds a space"),
            ("mysql://h/db", &[], "does not start with postgres://"),
            ("host=h dbname=db", &[], "does not start with postgres://"),
        ] {
            let err = error(url, pairs);
            let text = err.to_string();
            assert!(matches!(err, ConnectError::BadUrl { .. }), "{url}: {text}");
            assert!(text.contains(expected), "{url}: {text}");
            assert!(text.contains(HINT), "{url}: {text}");
        }
    }

    #[test]
    fn a_non_loopback_host_gets_tls_whatever_the_sslmode_short_of_disable() {
        let socket = Host::Socket("/run/pg".into());
        let tcp = |name: &str| Host::Tcp(name.into());
        for mode in [
            SslMode::Disable,
            SslMode::Allow,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            assert_eq!(policy(&socket, mode), Ok(Policy::Plain), "{mode:?}");
            for loopback in ["127.0.0.1", "127.9.8.7", "::1", "localhost", "LocalHost"] {
                let expected = match mode {
                    SslMode::Disable => Policy::Plain,
                    SslMode::Allow | SslMode::Prefer => Policy::TlsIfOffered,
                    SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Policy::Tls,
                };
                assert_eq!(
                    policy(&tcp(loopback), mode),
                    Ok(expected),
                    "{loopback} {mode:?}"
                );
            }
            for remote in [
                "db.example",
                "10.0.0.1",
                "::ffff:127.0.0.1",
                "localhost.example",
            ] {
                let expected = match mode {
                    SslMode::Disable => Err(remote.to_string()),
                    SslMode::Allow
                    | SslMode::Prefer
                    | SslMode::Require
                    | SslMode::VerifyCa
                    | SslMode::VerifyFull => Ok(Policy::Tls),
                };
                assert_eq!(policy(&tcp(remote), mode), expected, "{remote} {mode:?}");
            }
        }
        let err = error(
            &format!("postgres://a:{ENCODED}@db.example/s?sslmode=disable"),
            &[],
        );
        assert!(matches!(err, ConnectError::PlainText { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.starts_with(
                "refusing to connect to postgres://a@db.example:5432/s?sslmode=disable in plain text"
            ),
            "{text}"
        );
        let prefer = target("postgres://a@db.example/s?sslmode=prefer", &[]);
        assert!(matches!(prefer.transport, Transport::Tls(_)));
    }

    #[test]
    fn pgpass_lines_have_wildcards_and_escapes() {
        use pgpass::{Field, line};
        let is = |text: &str| Field::Is(text.into());
        assert_eq!(
            line(r"db\:1:*:st\\ate:*:pa:ss\:w\\ord"),
            Some([
                is("db:1"),
                Field::Any,
                is(r"st\ate"),
                Field::Any,
                is("pa:ss:w\\ord")
            ])
        );
        assert_eq!(
            line(r"\*:1:d:u:p"),
            Some([is("*"), is("1"), is("d"), is("u"), is("p")])
        );
        assert_eq!(
            line("h:1:d:u:p\r"),
            Some([is("h"), is("1"), is("d"), is("u"), is("p")])
        );
        assert_eq!(
            line("h:1:d:u:"),
            Some([is("h"), is("1"), is("d"), is("u"), is("")])
        );
        for skipped in ["# h:1:d:u:p", "", "   ", "h:1:d:u"] {
            assert_eq!(line(skipped), None, "{skipped:?}");
        }
    }

    fn private_file(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        path
    }

    #[test]
    fn the_first_matching_pgpass_line_gives_the_password() {
        let home = tempfile::tempdir().unwrap();
        let lines = "\
# comment
other:5432:*:alice:wrong-host
db.example:5432:state:alice:first
*:*:*:alice:second
db.example:*:*:bob:not-the-socket
localhost:5432:*:bob:socket
/run/pg:5432:*:carol:socket-by-path
*:*:*:*:anyone
";
        private_file(home.path(), ".pgpass", lines, 0o600);
        let home_var = home.path().to_str().unwrap();
        let pass = |url: &str, pairs: &[(&str, &str)]| {
            let mut pairs = pairs.to_vec();
            pairs.push(("HOME", home_var));
            password(&target(url, &pairs))
        };
        assert_eq!(
            pass("postgres://alice@db.example/state", &[]).as_deref(),
            Some("first")
        );
        assert_eq!(
            pass("postgres://alice@db.example:5433/state", &[]).as_deref(),
            Some("second")
        );
        assert_eq!(
            pass("postgres://carol@db.example/state", &[]).as_deref(),
            Some("anyone")
        );
        assert_eq!(
            pass("postgres://bob@/x?host=/run/pg", &[]).as_deref(),
            Some("socket")
        );
        assert_eq!(
            pass("postgres://carol@/x?host=/run/pg", &[]).as_deref(),
            Some("socket-by-path")
        );
        assert_eq!(
            pass("postgres://carol@/x?host=/run/other", &[]).as_deref(),
            Some("anyone")
        );
        // The URL's password, then PGPASSWORD, come before the file.
        assert_eq!(
            pass(
                "postgres://alice:url@db.example/state",
                &[("PGPASSWORD", "env")]
            )
            .as_deref(),
            Some("url")
        );
        assert_eq!(
            pass(
                "postgres://alice@db.example/state",
                &[("PGPASSWORD", "env")]
            )
            .as_deref(),
            Some("env")
        );
        // PGPASSFILE and passfile= name another file; a missing one gives nothing.
        let other = private_file(home.path(), "other", "*:*:*:*:elsewhere\n", 0o600);
        let other = other.to_str().unwrap();
        assert_eq!(
            pass(
                "postgres://alice@db.example/state",
                &[("PGPASSFILE", other)]
            )
            .as_deref(),
            Some("elsewhere")
        );
        assert_eq!(
            pass(
                &format!("postgres://alice@db.example/state?passfile={other}"),
                &[]
            )
            .as_deref(),
            Some("elsewhere")
        );
        assert_eq!(
            pass(
                "postgres://alice@db.example/state?passfile=/nonexistent/pgpass",
                &[]
            ),
            None
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_pgpass_others_can_read_is_ignored() {
        let home = tempfile::tempdir().unwrap();
        let home_var = home.path().to_str().unwrap();
        for (mode, expected) in [
            (0o600, Some("p")),
            (0o400, Some("p")),
            (0o640, None),
            (0o604, None),
        ] {
            private_file(home.path(), ".pgpass", "*:*:*:*:p\n", mode);
            let target = target("postgres://a@h/d", &[("HOME", home_var)]);
            assert_eq!(password(&target).as_deref(), expected, "{mode:o}");
        }
    }

    /// A certificate authority and a server certificate it signed, for
    /// `localhost` and `127.0.0.1`, valid until 2126.
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUH+CBpsBGUJmHTkbLbbGSGIuwZ0QwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPZW50aXRsZSB0ZXN0IENBMCAXDTI2MTEzMDEwMDAwN1oYDzIx
MjYxMTA2MTAwMDA3WjAaMRgwFgYDVQQDDA9lbnRpdGxlIHRlc3QgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAATQCezOTEHWcK5yKxsRY9KA0pS+DIrC3akqvtwu
MB3eCKUQ0EDcGB3lmdRFONWRR9kvz50d2as/0fx1IMk554r2o2MwYTAdBgNVHQ4E
FgQUx0wghFlUPtIx5YdMiVIas6MqYT8wHwYDVR0jBBgwFoAUx0wghFlUPtIx5YdM
iVIas6MqYT8wDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAgQwCgYIKoZI
zj0EAwIDSQAwRgIhAPmspp+Dj7Qm2k8vWXVI5b4/aY3kexunSTjtM+ZFw1rMAiEA
tgRg2CcPsdTYGC/D1fpa1BcJtlEJASYm1LPVraGimcU=
-----END CERTIFICATE-----
";
    const SERVER_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBwzCCAWigAwIBAgIUED+NqdrgfFcnYvWJTR/hHq/dfbMwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPZW50aXRsZSB0ZXN0IENBMCAXDTI2MTEzMDEwMDAwN1oYDzIx
MjYxMTA2MTAwMDA3WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAQFkZVCMEyFxOeifbqFW6oN6roxgYqCrQ8ERwW928L53urR
E3FNiUTD/nEMQtkHL3vTCU+bZhQoju6sGWU+wXzjo4GPMIGMMAkGA1UdEwQCMAAw
GgYDVR0RBBMwEYIJbG9jYWxob3N0hwR/AAABMBMGA1UdJQQMMAoGCCsGAQUFBwMB
MA4GA1UdDwEB/wQEAwIHgDAdBgNVHQ4EFgQUA9cimW0IGB+237gD87n0xiMF7Bkw
HwYDVR0jBBgwFoAUx0wghFlUPtIx5YdMiVIas6MqYT8wCgYIKoZIzj0EAwIDSQAw
RgIhAO9MuQz3vPS/8QmiHqMqQtWZgxku1lt88lOfor3uoeSDAiEA6waC3KRET85k
7/1uH7uU6qbhDZU+gdFDztLQSqDPUzE=
-----END CERTIFICATE-----
";
    const SERVER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgb3anAsEAi81T5H8g
SLI3fv/DZkbufHNPW19hAi6P02ahRANCAAQFkZVCMEyFxOeifbqFW6oN6roxgYqC
rQ8ERwW928L53urRE3FNiUTD/nEMQtkHL3vTCU+bZhQoju6sGWU+wXzj
-----END PRIVATE KEY-----
";

    #[test]
    fn sslrootcert_names_a_pem_file_of_cas() {
        let dir = tempfile::tempdir().unwrap();
        let ca = private_file(dir.path(), "ca.pem", CA, 0o644);
        let url = |file: &Path| {
            format!(
                "postgres://a@db.example/s?sslmode=verify-full&sslrootcert={}",
                file.display()
            )
        };
        let target = target(&url(&ca), &[]);
        assert!(matches!(target.transport, Transport::Tls(_)));
        assert!(
            target
                .redacted()
                .ends_with(&format!("sslrootcert={}", ca.display()))
        );
        let empty = private_file(dir.path(), "empty.pem", "no certificate here\n", 0o644);
        let missing = dir.path().join("missing.pem");
        for (file, expected) in [
            (&empty, "holds no usable certificate"),
            (&missing, "cannot read it"),
        ] {
            let err = error(&url(file), &[]);
            let text = err.to_string();
            assert!(matches!(err, ConnectError::RootCert { .. }), "{text}");
            assert!(text.contains(&file.display().to_string()), "{text}");
            assert!(text.contains(expected), "{text}");
        }
        let from_env = error(
            "postgres://a@db.example/s",
            &[("PGSSLROOTCERT", missing.to_str().unwrap())],
        );
        assert!(
            matches!(from_env, ConnectError::RootCert { .. }),
            "{from_env}"
        );
        // A socket uses no TLS, so its CA file is never read.
        assert!(
            Target::resolve(
                &url(&missing).replace("db.example", "%2Frun%2Fpg"),
                &env(&[]),
                localhost()
            )
            .is_ok()
        );
    }

    #[test]
    fn no_error_shows_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let urls = [
            format!("postgres://alice:{ENCODED}@h:99999/db"),
            format!("postgres://alice:{ENCODED}@h/db?sslmode=bad"),
            format!("postgres://alice:{ENCODED}@h/db?bogus=1"),
            format!("postgres://alice@h:x/db?password={ENCODED}"),
            format!("postgres://alice:{ENCODED}@db.example/db?sslmode=disable"),
            format!(
                "postgres://alice:{ENCODED}@h/db?sslrootcert={}",
                missing.display()
            ),
            format!("postgres://alice:{PASSWORD}@h/db"),
            format!("postgres://alice:{PASSWORD}@h:x/db"),
            "postgres://alice:pa/ss@h:x/db".to_string(),
            "postgres://alice:p%zzass@h/db".to_string(),
            format!("host=h password={PASSWORD}"),
        ];
        for url in &urls {
            let err = error(url, &[]);
            for shown in [err.to_string(), format!("{err:?}")] {
                for secret in [PASSWORD, ENCODED, "S3cret", "pa/ss", "p%zzass", "ss@h"] {
                    assert!(!shown.contains(secret), "{url}: {shown}");
                }
            }
        }
        let target = target(&format!("postgres://alice:{ENCODED}@h/db"), &[]);
        for shown in [target.to_string(), format!("{target:?}")] {
            assert!(!shown.contains("S3cret"), "{shown}");
        }
    }

    /// What a fake server answers a startup message with.
    #[derive(Clone, Copy)]
    enum Answer {
        /// An error with this SQLSTATE.
        Error(&'static str),
        /// Authentication done, ready for queries; then it hangs up.
        ReadyThenHangUp,
    }

    /// A loopback listener speaking just enough of PostgreSQL's protocol:
    /// it accepts TLS with [`SERVER_CERT`] when `tls`, refuses it (`N`)
    /// otherwise, and answers every startup message with `answer`.
    fn fake_postgres(tls: bool, answer: Answer) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve(stream, tls, answer));
            }
        });
        port
    }

    fn serve(mut stream: std::net::TcpStream, tls: bool, answer: Answer) -> std::io::Result<()> {
        use std::io::Write;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let first = read_message(&mut stream)?;
        if first != [4, 210, 22, 47] {
            return send(&mut stream, answer);
        }
        if !tls {
            stream.write_all(b"N")?;
            read_message(&mut stream)?;
            return send(&mut stream, answer);
        }
        stream.write_all(b"S")?;
        let connection =
            rustls::ServerConnection::new(server_config()).map_err(std::io::Error::other)?;
        let mut stream = rustls::StreamOwned::new(connection, stream);
        read_message(&mut stream)?;
        send(&mut stream, answer)
    }

    fn server_config() -> Arc<rustls::ServerConfig> {
        use rustls_pki_types::PrivateKeyDer;
        let certificate = CertificateDer::from_pem_slice(SERVER_CERT.as_bytes()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificate], key)
            .unwrap();
        Arc::new(config)
    }

    /// A length-prefixed message without a type byte (SSLRequest, startup).
    fn read_message(stream: &mut impl std::io::Read) -> std::io::Result<Vec<u8>> {
        let mut length = [0; 4];
        stream.read_exact(&mut length)?;
        let mut body = vec![0; (u32::from_be_bytes(length) as usize).saturating_sub(4)];
        stream.read_exact(&mut body)?;
        Ok(body)
    }

    fn send(
        stream: &mut (impl std::io::Read + std::io::Write),
        answer: Answer,
    ) -> std::io::Result<()> {
        let message = |kind: u8, body: &[u8]| {
            let mut bytes = vec![kind];
            bytes.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
            bytes.extend_from_slice(body);
            bytes
        };
        let bytes = match answer {
            Answer::Error(code) => {
                let mut body = Vec::new();
                for (field, value) in [
                    (b'S', "FATAL"),
                    (b'V', "FATAL"),
                    (b'C', code),
                    (b'M', "refused by the fake server"),
                ] {
                    body.push(field);
                    body.extend_from_slice(value.as_bytes());
                    body.push(0);
                }
                body.push(0);
                message(b'E', &body)
            }
            Answer::ReadyThenHangUp => [message(b'R', &[0, 0, 0, 0]), message(b'Z', b"I")].concat(),
        };
        stream.write_all(&bytes)?;
        stream.flush()?;
        std::thread::sleep(Duration::from_millis(200));
        Ok(())
    }

    fn loopback(url: &str) -> Target {
        target(url, &[])
    }

    async fn connect_error(target: &Target) -> ConnectError {
        match target.connect().await {
            Ok(_) => panic!("{target} connected"),
            Err(err) => {
                let text = err.to_string();
                assert!(text.contains(target.redacted()), "{text}");
                for secret in [PASSWORD, ENCODED, "S3cret"] {
                    assert!(!text.contains(secret), "{text}");
                }
                err
            }
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let target = loopback(&format!(
            "postgres://alice:{ENCODED}@127.0.0.1:{port}/state"
        ));
        let err = connect_error(&target).await;
        assert!(matches!(err, ConnectError::Unreachable { .. }), "{err}");
        assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
    }

    #[tokio::test]
    async fn a_listener_that_hangs_up_is_unreachable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
        let target = loopback(&format!("postgres://alice@127.0.0.1:{port}/state"));
        let err = connect_error(&target).await;
        assert!(matches!(err, ConnectError::Unreachable { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("closed before PostgreSQL answered"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_listener_that_never_answers_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let target = loopback(&format!(
            "postgres://alice@127.0.0.1:{port}/state?connect_timeout=1"
        ));
        let started = std::time::Instant::now();
        let err = connect_error(&target).await;
        assert!(matches!(err, ConnectError::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("within 1 s"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn server_errors_are_told_apart() {
        for (code, check) in [
            (
                "28P01",
                (|err| matches!(err, ConnectError::Authentication { .. }))
                    as fn(&ConnectError) -> bool,
            ),
            ("28000", |err| {
                matches!(err, ConnectError::Authentication { .. })
            }),
            ("3D000", |err| {
                matches!(err, ConnectError::NoDatabase { .. })
            }),
            ("53300", |err| matches!(err, ConnectError::Server { .. })),
        ] {
            let port = fake_postgres(false, Answer::Error(code));
            let target = loopback(&format!(
                "postgres://alice:{ENCODED}@127.0.0.1:{port}/state"
            ));
            let err = connect_error(&target).await;
            assert!(check(&err), "{code}: {err}");
        }
        let port = fake_postgres(false, Answer::Error("3D000"));
        let err = connect_error(&loopback(&format!(
            "postgres://alice@localhost:{port}/state"
        )))
        .await;
        assert!(err.to_string().contains("createdb state"), "{err}");
    }

    #[tokio::test]
    async fn required_tls_is_not_given_up() {
        let port = fake_postgres(false, Answer::Error("3D000"));
        let target = loopback(&format!(
            "postgres://alice@127.0.0.1:{port}/state?sslmode=require"
        ));
        let err = connect_error(&target).await;
        assert!(matches!(err, ConnectError::Tls { .. }), "{err}");
        assert!(
            err.to_string().contains("server does not support TLS"),
            "{err}"
        );
        assert!(err.to_string().contains("enable ssl"), "{err}");
    }

    #[tokio::test]
    async fn tls_is_verified_against_sslrootcert() {
        let dir = tempfile::tempdir().unwrap();
        let ca = private_file(dir.path(), "ca.pem", CA, 0o644);
        let port = fake_postgres(true, Answer::Error("28P01"));
        for host in ["127.0.0.1", "localhost"] {
            let target = loopback(&format!(
                "postgres://alice:{ENCODED}@{host}:{port}/state?sslmode=verify-full&sslrootcert={}",
                ca.display()
            ));
            let err = connect_error(&target).await;
            assert!(
                matches!(err, ConnectError::Authentication { .. }),
                "{host}: {err}"
            );
        }
        let system = loopback(&format!(
            "postgres://alice@127.0.0.1:{port}/state?sslmode=require&sslrootcert=system"
        ));
        let err = connect_error(&system).await;
        assert!(matches!(err, ConnectError::Tls { .. }), "{err}");
        assert!(err.to_string().contains("certificate"), "{err}");
    }

    #[tokio::test]
    async fn prefer_on_loopback_falls_back_to_plain_text() {
        let port = fake_postgres(true, Answer::Error("3D000"));
        let target = loopback(&format!(
            "postgres://alice@127.0.0.1:{port}/state?sslrootcert=system"
        ));
        let err = connect_error(&target).await;
        assert!(matches!(err, ConnectError::NoDatabase { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_connection_the_server_drops_is_lost() {
        let port = fake_postgres(false, Answer::ReadyThenHangUp);
        let target = loopback(&format!("postgres://alice@127.0.0.1:{port}/state"));
        let client = target.connect().await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let err = client.simple_query("select 1").await.unwrap_err();
        let err = ConnectError::from_pg(err, &target);
        assert!(matches!(err, ConnectError::Lost { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("the connection to {} was lost", target.redacted())),
            "{err}"
        );
    }
}
