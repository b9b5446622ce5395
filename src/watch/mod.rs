//! `entitle watch`: drift, continuously. Every interval (±10% jitter) a
//! cycle refreshes and compares exactly as `entitle drift` does
//! ([`Workspace::drift`], manifests read again each time), publishes the
//! result for [`server`] (`/metrics`, `/healthz`, `/drift`), tells
//! [`webhook`] when the set of drift items changed, and with `--self-heal`
//! plans and applies ([`heal`]).
//!
//! Cycles never overlap: one that overruns the interval makes the ticks it
//! overran skip (counted). A failed refresh (a vendor down, credentials
//! refused, a manifest broken by an edit) is logged and counted, and the
//! last good drift stays published; the loop goes on. A stop request ends
//! the loop after the cycle in flight, whose self-heal, if any, starts no
//! new action and records those running.

pub mod heal;
pub mod metrics;
pub mod server;
pub mod webhook;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::Error;
use crate::escape;
use crate::report::drift::{self, DriftReport};
use crate::workflow::Workspace;
use heal::{HealOptions, Healed};
use metrics::Metrics;
use webhook::{Notifier, Webhook};

/// How long queued webhook POSTs may take to go out at exit.
const WEBHOOK_DRAIN: Duration = Duration::from_secs(15);

/// What `entitle watch` was asked to do.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    pub interval: Duration,
    /// `--self-heal`, with its limits.
    pub heal: Option<HealOptions>,
    pub webhook: Option<Webhook>,
}

/// What the cycles publish and the server reads.
pub struct Shared {
    pub metrics: Arc<Metrics>,
    interval: Duration,
    latest: Mutex<Latest>,
}

#[derive(Default)]
struct Latest {
    /// The last good drift, as `entitle drift --format json` prints it.
    drift_json: Option<String>,
    last_success: Option<(Instant, f64)>,
    consecutive_failures: u64,
}

/// `/healthz`'s view.
pub struct Health {
    pub healthy: bool,
    /// `ok`, `starting` (no refresh has succeeded yet) or `stale`.
    pub status: &'static str,
    pub last_success_unix: Option<f64>,
    pub seconds_since_success: Option<f64>,
    pub consecutive_failures: u64,
}

impl Shared {
    pub fn new(metrics: Arc<Metrics>, interval: Duration) -> Self {
        Shared {
            metrics,
            interval,
            latest: Mutex::new(Latest::default()),
        }
    }

    fn latest(&self) -> std::sync::MutexGuard<'_, Latest> {
        self.latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The latest drift JSON, once a refresh has succeeded.
    pub fn drift_json(&self) -> Option<String> {
        self.latest().drift_json.clone()
    }

    /// Healthy while the last successful refresh ended at most two
    /// intervals ago.
    pub fn health(&self) -> Health {
        let latest = self.latest();
        let since = latest.last_success.map(|(at, _)| at.elapsed());
        let healthy = since.is_some_and(|since| since <= self.interval * 2);
        Health {
            healthy,
            status: match (since, healthy) {
                (None, _) => "starting",
                (Some(_), true) => "ok",
                (Some(_), false) => "stale",
            },
            last_success_unix: latest.last_success.map(|(_, unix)| unix),
            seconds_since_success: since.map(|s| s.as_secs_f64()),
            consecutive_failures: latest.consecutive_failures,
        }
    }

    fn succeeded(&self, report: &DriftReport, took: Duration) {
        let unix = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.metrics.set_drift(report);
        self.metrics.refreshed(took.as_secs_f64(), unix);
        let mut latest = self.latest();
        latest.drift_json = Some(format!(
            "{}\n",
            escape::json_pretty(&drift::json_value(report))
        ));
        latest.last_success = Some((Instant::now(), unix));
        latest.consecutive_failures = 0;
    }

    fn failed(&self) {
        self.metrics.refresh_failed();
        self.latest().consecutive_failures += 1;
    }
}

/// The loop's counts at its end.
#[derive(Debug, Default)]
pub struct Summary {
    pub cycles: u64,
    pub skipped: u64,
}

/// Runs cycles until `stop` turns true; the cycle in flight then finishes.
pub async fn run(
    workspace: &Workspace,
    options: &WatchOptions,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> Result<Summary, Error> {
    let notifier = options
        .webhook
        .clone()
        .map(|hook| Notifier::start(hook, shared.metrics.clone()))
        .transpose()?;
    let mut cycle = Cycle {
        workspace,
        options,
        shared: &shared,
        notifier: notifier.as_ref(),
        previous: BTreeSet::new(),
        stop: stop.clone(),
    };
    let mut summary = Summary::default();
    while !*stop.borrow() {
        let tick = Instant::now();
        cycle.run().await;
        summary.cycles += 1;
        let mut next = tick + jittered(options.interval);
        while next <= Instant::now() {
            shared.metrics.skipped();
            summary.skipped += 1;
            next += jittered(options.interval);
        }
        tokio::select! {
            () = tokio::time::sleep_until(next.into()) => {}
            stopping = stop.wait_for(|stopping| *stopping) => {
                // No one left to say stop: stop now.
                if stopping.is_err() {
                    break;
                }
            }
        }
    }
    if let Some(notifier) = notifier {
        notifier.finish(WEBHOOK_DRAIN).await;
    }
    Ok(summary)
}

/// `interval`, give or take 10%.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + 0.2 * fastrand::f64())
}

/// One cycle's work, and what it remembers from the cycle before.
struct Cycle<'a> {
    workspace: &'a Workspace,
    options: &'a WatchOptions,
    shared: &'a Shared,
    notifier: Option<&'a Notifier>,
    /// The drift items of the last successful refresh.
    previous: BTreeSet<String>,
    stop: watch::Receiver<bool>,
}

impl Cycle<'_> {
    async fn run(&mut self) {
        self.shared.metrics.cycle();
        let started = Instant::now();
        let report = match self.workspace.drift().await {
            Ok(report) => report,
            Err(err) => {
                self.shared.failed();
                tracing::warn!(
                    "refresh failed (the last good drift stays published): {}",
                    escape::text(&err.to_string())
                );
                return;
            }
        };
        self.shared.succeeded(&report, started.elapsed());
        log_drift(&report, started.elapsed());
        self.notify_if_changed(&report);
        if let (Some(options), true) = (&self.options.heal, apply_undoes(&report)) {
            self.heal(options).await;
        }
    }

    /// A webhook POST when the set of drift items differs from the last
    /// successful refresh's (the first refresh counts from no drift).
    fn notify_if_changed(&mut self, report: &DriftReport) {
        let items = drift_items(report);
        if items == self.previous {
            return;
        }
        self.previous = items;
        if let Some(notifier) = self.notifier {
            notifier.send(webhook::message(report, self.workspace.store.workspace()));
        }
    }

    async fn heal(&self, options: &HealOptions) {
        let metrics = &self.shared.metrics;
        match heal::heal(self.workspace, options, metrics, self.stop.clone()).await {
            Ok(Healed::Nothing) => {
                tracing::info!("self-heal: the plan is empty; nothing apply would change");
            }
            Ok(Healed::Blocked { actions, why }) => {
                tracing::warn!("self-heal: withheld {actions} action(s): {why}");
            }
            Ok(Healed::Applied {
                applied,
                failed,
                skipped,
            }) => {
                tracing::info!("self-heal: {applied} applied, {failed} failed, {skipped} skipped");
            }
            Err(err) => {
                tracing::warn!(
                    "self-heal failed before applying anything: {}",
                    escape::text(&err.to_string())
                );
            }
        }
    }
}

/// Whether `report` holds drift an apply undoes: a changed field or a
/// deleted object (an unmanaged object is not entitle's to touch).
fn apply_undoes(report: &DriftReport) -> bool {
    !report.changed.is_empty() || !report.deleted.is_empty()
}

fn log_drift(report: &DriftReport, took: Duration) {
    let ms = took.as_millis();
    if report.is_empty() {
        tracing::info!("refreshed in {ms} ms: no drift");
    } else {
        tracing::info!(
            "refreshed in {ms} ms: drift: {} changed, {} deleted, {} unmanaged",
            report.changed.len(),
            report.deleted.len(),
            report.unmanaged.len()
        );
    }
}

/// What tells one drift from another: each changed field with its live
/// value, each deleted and each unmanaged object. Status is not drift.
fn drift_items(report: &DriftReport) -> BTreeSet<String> {
    let changed = report
        .changed
        .iter()
        .map(|c| format!("changed {} {} {}", c.address, c.field, c.live));
    let deleted = report
        .deleted
        .iter()
        .map(|d| format!("deleted {} {}", d.address, d.remote_id));
    let unmanaged = report
        .unmanaged
        .iter()
        .map(|u| format!("unmanaged {} {} {}", u.kind, u.tenant, u.remote_id));
    changed.chain(deleted).chain(unmanaged).collect()
}
