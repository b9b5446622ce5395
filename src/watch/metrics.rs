//! The metrics `entitle watch` serves on `/metrics`, kept in a
//! `prometheus-client` registry and written in the Prometheus text format
//! (0.0.4) by that crate. Every label value is bounded: kinds and classes
//! from the manifest kinds, routes from [`crate::api::routes`], results
//! from a fixed list. README (Drift, entitle watch) lists them all.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::api::http::RequestObserver;
use crate::api::routes::Route;
use crate::manifest::Kind;
use crate::report::drift::DriftReport;

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The drift classes counted per kind.
pub const CLASSES: [&str; 4] = ["changed", "deleted", "unmanaged", "status"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DriftLabels {
    kind: String,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    api: &'static str,
    route: &'static str,
    /// The HTTP status, or `none` when no answer came.
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabels {
    api: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// What became of a self-heal's actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealResult {
    /// Carried out.
    Applied,
    Failed,
    /// Not started: an action it waits for failed, or the watch was stopped.
    Skipped,
    /// Withheld by the self-heal rules (deletes, `--max-changes`,
    /// replacements).
    Blocked,
}

impl HealResult {
    const ALL: [HealResult; 4] = [
        HealResult::Applied,
        HealResult::Failed,
        HealResult::Skipped,
        HealResult::Blocked,
    ];

    fn label(self) -> &'static str {
        match self {
            HealResult::Applied => "applied",
            HealResult::Failed => "failed",
            HealResult::Skipped => "skipped",
            HealResult::Blocked => "blocked",
        }
    }
}

/// Every metric of the watch, and the registry that writes them.
pub struct Metrics {
    registry: Registry,
    drift_items: Family<DriftLabels, Gauge>,
    drift_present: Gauge,
    last_success: Gauge<f64, AtomicU64>,
    refresh_duration: Histogram,
    refresh_failures: Counter,
    cycles: Counter,
    cycles_skipped: Counter,
    api_requests: Family<RequestLabels, Counter>,
    rate_limited: Family<ApiLabels, Counter>,
    heal_actions: Family<ResultLabels, Counter>,
    webhook_posts: Family<ResultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric registered, the labelled ones with each known label
    /// value at zero (so that an alert sees a series before the first event).
    pub fn new() -> Self {
        let metrics = Metrics {
            registry: Registry::default(),
            drift_items: Family::default(),
            drift_present: Gauge::default(),
            last_success: Gauge::default(),
            refresh_duration: Histogram::new(exponential_buckets(0.05, 2.0, 12)),
            refresh_failures: Counter::default(),
            cycles: Counter::default(),
            cycles_skipped: Counter::default(),
            api_requests: Family::default(),
            rate_limited: Family::default(),
            heal_actions: Family::default(),
            webhook_posts: Family::default(),
        };
        metrics.zero_labels();
        metrics.register()
    }

    fn zero_labels(&self) {
        self.set_drift(&DriftReport::default());
        for result in HealResult::ALL {
            self.healed(result, 0);
        }
        for result in ["sent", "failed"] {
            self.webhook_posts
                .get_or_create(&ResultLabels { result })
                .inc_by(0);
        }
    }

    fn register(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "entitle_drift_items",
            "Drift items found by the last successful refresh, by manifest kind and class (status is not drift)",
            self.drift_items.clone(),
        );
        r.register(
            "entitle_drift_present",
            "1 when the last successful refresh found drift (changed, deleted or unmanaged), else 0",
            self.drift_present.clone(),
        );
        r.register(
            "entitle_last_successful_refresh_timestamp_seconds",
            "When the last successful refresh ended, in Unix seconds (0 before the first)",
            self.last_success.clone(),
        );
        r.register(
            "entitle_refresh_duration_seconds",
            "How long each successful refresh and drift comparison took",
            self.refresh_duration.clone(),
        );
        r.register(
            "entitle_refresh_failures",
            "Cycles whose refresh failed (a vendor down, credentials refused, manifests broken)",
            self.refresh_failures.clone(),
        );
        r.register("entitle_watch_cycles", "Cycles run", self.cycles.clone());
        r.register(
            "entitle_watch_cycles_skipped",
            "Ticks skipped because the cycle before overran the interval",
            self.cycles_skipped.clone(),
        );
        r.register(
            "entitle_api_requests",
            "Vendor API requests sent (every attempt, retries included) by API, route template and HTTP status (none: no answer)",
            self.api_requests.clone(),
        );
        r.register(
            "entitle_api_rate_limited",
            "Vendor API answers 429 Too Many Requests, by API",
            self.rate_limited.clone(),
        );
        r.register(
            "entitle_self_heal_actions",
            "Self-heal plan actions by result: applied, failed, skipped (waited on a failure, or stopped), blocked (withheld by the self-heal rules)",
            self.heal_actions.clone(),
        );
        r.register(
            "entitle_webhook_posts",
            "Webhook POSTs by result: sent or failed",
            self.webhook_posts.clone(),
        );
        self
    }

    /// The registry in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail; a metric that could not be
        // written would leave its family out, not stop the others.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }

    /// The drift gauges from `report`: every kind and class, zeros included.
    pub fn set_drift(&self, report: &DriftReport) {
        let mut counts: std::collections::BTreeMap<(Kind, &'static str), i64> = Default::default();
        // Kinds with a remote object (not a scope such as a tenant).
        for kind in Kind::all().into_iter().filter(|k| k.provider().is_some()) {
            for class in CLASSES {
                counts.insert((kind, class), 0);
            }
        }
        let mut add = |kind: Kind, class: &'static str| {
            *counts.entry((kind, class)).or_default() += 1;
        };
        report
            .changed
            .iter()
            .for_each(|c| add(c.address.kind, "changed"));
        report
            .deleted
            .iter()
            .for_each(|d| add(d.address.kind, "deleted"));
        report
            .unmanaged
            .iter()
            .for_each(|u| add(u.kind, "unmanaged"));
        report
            .status
            .iter()
            .for_each(|s| add(s.address.kind, "status"));
        for ((kind, class), count) in counts {
            let labels = DriftLabels {
                kind: kind.to_string(),
                class,
            };
            self.drift_items.get_or_create(&labels).set(count);
        }
        self.drift_present.set(i64::from(!report.is_empty()));
    }

    /// A refresh that succeeded after `seconds`, ending at `unix_seconds`.
    pub fn refreshed(&self, seconds: f64, unix_seconds: f64) {
        self.refresh_duration.observe(seconds);
        self.last_success.set(unix_seconds);
    }

    pub fn refresh_failed(&self) {
        self.refresh_failures.inc();
    }

    pub fn cycle(&self) {
        self.cycles.inc();
    }

    pub fn skipped(&self) {
        self.cycles_skipped.inc();
    }

    /// `count` self-heal actions ended as `result`.
    pub fn healed(&self, result: HealResult, count: usize) {
        self.heal_actions
            .get_or_create(&ResultLabels {
                result: result.label(),
            })
            .inc_by(count as u64);
    }

    /// A webhook POST, sent or failed.
    pub fn webhook(&self, sent: bool) {
        let result = if sent { "sent" } else { "failed" };
        self.webhook_posts
            .get_or_create(&ResultLabels { result })
            .inc();
    }
}

impl RequestObserver for Metrics {
    fn attempted(&self, route: Route, status: Option<u16>) {
        let labels = RequestLabels {
            api: route.api,
            route: route.route,
            status: status.map_or_else(|| "none".to_string(), |s| s.to_string()),
        };
        self.api_requests.get_or_create(&labels).inc();
        if status == Some(429) {
            self.rate_limited
                .get_or_create(&ApiLabels { api: route.api })
                .inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_end_in_total_and_every_family_has_help() {
        let metrics = Metrics::new();
        metrics.attempted(
            Route {
                api: "redstor",
                route: "GET /companies",
            },
            Some(429),
        );
        let text = metrics.encode();
        assert!(
            text.contains(
                "entitle_api_requests_total{api=\"redstor\",route=\"GET /companies\",status=\"429\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("entitle_api_rate_limited_total{api=\"redstor\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("entitle_self_heal_actions_total{result=\"blocked\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("entitle_drift_items{kind=\"ArcserveLicense\",class=\"changed\"} 0"),
            "{text}"
        );
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            let name = line.split_whitespace().nth(2).unwrap();
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        }
    }
}
