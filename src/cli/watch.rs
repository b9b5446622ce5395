//! `entitle watch`: `entitle drift` in a loop, with Prometheus metrics, a
//! health check and the latest drift over HTTP, an optional webhook and an
//! optional self-heal (README: Drift and watch). The loop itself is
//! `crate::watch`; this resolves the flags, binds the listener, and turns
//! SIGTERM and Ctrl-C into a stop after the cycle in flight.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch as channel;

use super::settings::{self, paths_or_cwd};
use super::{Exit, GlobalArgs, runtime};
use crate::Error;
use crate::watch::heal::HealOptions;
use crate::watch::metrics::Metrics;
use crate::watch::webhook::Webhook;
use crate::watch::{self, Shared, WatchOptions};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle watch manifests/\n  entitle watch manifests/ --interval 5m --listen 0.0.0.0:9464 --log-format json\n  entitle watch manifests/ --self-heal --max-changes 5 --lock-timeout 2m\n  entitle watch manifests/ --webhook https://hooks.example.com/services/T0/B0/XXXX"
)]
pub struct Args {
    /// Manifest files or directories, read again every cycle.
    pub paths: Vec<PathBuf>,
    /// Time between cycles (±10% jitter), e.g. 30s, 10m, 1h.
    #[arg(long, default_value = "10m", value_parser = parse_interval)]
    pub interval: Duration,
    /// Where to serve /metrics, /healthz and /drift; port 0 picks a free
    /// port (the address is logged at start).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub listen: SocketAddr,
    /// When drift is found, plan and apply as `apply --auto-approve` would,
    /// under the state lock (waiting up to --lock-timeout).
    #[arg(long)]
    pub self_heal: bool,
    /// Let the self-heal apply plans that delete or replace (without it,
    /// such a plan is withheld whole and counted blocked).
    #[arg(long, requires = "self_heal")]
    pub self_heal_deletes: bool,
    /// The most actions one self-heal applies; a plan with more is
    /// withheld whole and counted blocked.
    #[arg(long, default_value_t = 10, requires = "self_heal",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_changes: u32,
    /// POST a JSON summary (a `text` field, for a chat's incoming webhook,
    /// and the counts) here when the drift changes; https, or http to
    /// loopback only.
    #[arg(
        long,
        env = "ENTITLE_WATCH_WEBHOOK",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub webhook: Option<String>,
    /// Log lines as text or as JSON objects (one per line), on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A humantime duration that is not zero.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = humantime::parse_duration(text).map_err(|err| err.to_string())?;
    if interval.is_zero() {
        return Err("the interval must be longer than zero, e.g. 30s or 10m".into());
    }
    Ok(interval)
}

/// Runs until SIGTERM or Ctrl-C, then exits 0 after the cycle in flight.
pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    let options = WatchOptions {
        interval: args.interval,
        heal: args.self_heal.then(|| HealOptions {
            deletes: args.self_heal_deletes,
            max_changes: args.max_changes as usize,
            parallelism: 8,
            wait_timeout: Duration::from_secs(600),
        }),
        webhook: args.webhook.as_deref().map(Webhook::parse).transpose()?,
    };
    runtime()?.block_on(async {
        let metrics = Arc::new(Metrics::new());
        let workspace =
            settings::observed_workspace(global, paths_or_cwd(args.paths), Some(metrics.clone()))
                .await?;
        // Manifests that do not load stop the watch before it starts; a
        // later broken edit is a failed cycle.
        workspace.load()?;
        let listener = bind(args.listen).await?;
        let shared = Arc::new(Shared::new(metrics, options.interval));
        let (stop_server, server) = serve(listener, shared.clone());
        if let Some(hook) = &options.webhook {
            tracing::info!("posting drift changes to {}", hook.origin());
        }
        let summary = watch::run(&workspace, &options, shared, stop_on_signals()).await;
        let _ = stop_server.send(true);
        if tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .is_err()
        {
            tracing::warn!("the HTTP server did not stop within 5 s");
        }
        let summary = summary?;
        tracing::info!(
            "stopped after {} cycle(s), {} tick(s) skipped",
            summary.cycles,
            summary.skipped
        );
        Ok(Exit::Success)
    })
}

/// Binds `addr`, logging where it serves (and warning when that is not
/// loopback: the metrics and the drift name what entitle manages).
async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, Error> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|err| {
        Error::usage(
            format!("could not listen on {addr}: {err}"),
            "pick another --listen address or port (port 0 picks a free one)",
        )
    })?;
    let bound = listener.local_addr().unwrap_or(addr);
    if !bound.ip().is_loopback() {
        tracing::warn!(
            "serving on {bound}, which is not loopback: anyone who can reach it sees the metrics and the drift"
        );
    }
    tracing::info!(address = %bound, "serving /metrics, /healthz and /drift on http://{bound}");
    Ok(listener)
}

/// Serves the watch's routes until told to stop.
fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
) -> (channel::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, mut stopped) = channel::channel(false);
    let app = crate::watch::server::router(shared);
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("the HTTP server stopped: {err}");
        }
    });
    (stop, server)
}

/// A stop flag raised by SIGTERM or Ctrl-C; a second one exits at once.
fn stop_on_signals() -> channel::Receiver<bool> {
    let (stop, stopped) = channel::channel(false);
    tokio::spawn(async move {
        let mut terminate = terminate_signal();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate.recv() => {}
        }
        tracing::info!("stopping after the cycle in flight (signal again to stop at once)");
        let _ = stop.send(true);
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate.recv() => {}
        }
        std::process::exit(130);
    });
    stopped
}

/// SIGTERM, where there is one.
struct Terminate {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

fn terminate_signal() -> Terminate {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let signal = signal(SignalKind::terminate())
            .inspect_err(|err| tracing::warn!("cannot catch SIGTERM: {err}"))
            .ok();
        Terminate { signal }
    }
    #[cfg(not(unix))]
    Terminate {}
}

impl Terminate {
    /// Waits for the next SIGTERM (forever where it cannot be caught).
    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    }
}
