//! `entitle watch --webhook URL`: a JSON POST when the drift changes (not
//! on every cycle), shaped for a chat's incoming webhook: a `text` field
//! with a one-paragraph summary, and the counts beside it. The URL is
//! checked at start (https, or plain http to loopback only) and is never
//! printed past its host: a chat webhook's path is its secret. POSTs go out
//! one after another from their own task, so a slow or failing endpoint
//! never holds up a cycle; a failure is logged and counted.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::metrics::Metrics;
use crate::Error;
use crate::api::http::{HttpClient, HttpConfig, Request, is_loopback};
use crate::escape;
use crate::report::drift::DriftReport;

/// How many changed, deleted or unmanaged objects the text names.
const NAMED: usize = 5;

/// A checked webhook URL. Its `Debug` shows the host alone.
#[derive(Clone)]
pub struct Webhook {
    url: Url,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({})", self.url.host_str().unwrap_or(""))
    }
}

impl Webhook {
    /// `text` as a webhook URL: https, or http to a loopback host.
    pub fn parse(text: &str) -> Result<Webhook, Error> {
        let url = Url::parse(text).map_err(|err| {
            Error::usage(
                format!("--webhook is not a valid URL: {err}"),
                "give the chat's incoming-webhook URL, e.g. https://hooks.example.com/services/...",
            )
        })?;
        let host = url.host_str().unwrap_or("").to_string();
        match url.scheme() {
            "https" => Ok(Webhook { url }),
            "http" if is_loopback(&url) => Ok(Webhook { url }),
            "http" => Err(Error::usage(
                format!("--webhook uses plain http:// to {host}, which is not loopback"),
                "use an https:// URL; plain http:// is allowed only to 127.0.0.1, ::1 or localhost",
            )),
            other => Err(Error::usage(
                format!("--webhook has the scheme `{other}`"),
                "use an https:// URL",
            )),
        }
    }

    /// Where POSTs go, for logs: the origin alone.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

/// The body of a POST for `report`, the drift of workspace `workspace`.
pub fn message(report: &DriftReport, workspace: &str) -> Value {
    let counts = json!({
        "changed": report.changed.len(),
        "deleted": report.deleted.len(),
        "unmanaged": report.unmanaged.len(),
        "status": report.status.len(),
        "orphaned": report.orphaned.len(),
    });
    json!({
        "text": summary(report, workspace),
        "drift": !report.is_empty(),
        "workspace": workspace,
        "counts": counts,
    })
}

/// The one paragraph a chat shows.
fn summary(report: &DriftReport, workspace: &str) -> String {
    let workspace = escape::text(workspace);
    if report.is_empty() {
        return format!(
            "entitle watch (workspace {workspace}): no drift any more: what entitle manages matches what it last applied."
        );
    }
    let mut named: Vec<String> = Vec::new();
    named.extend(report.changed.iter().map(|c| {
        format!(
            "{} {} changed from {} to {}",
            escape::text(&c.address.to_string()),
            escape::text(&c.field),
            escape::text(&c.recorded.to_string()),
            escape::text(&c.live.to_string())
        )
    }));
    named.extend(
        report
            .deleted
            .iter()
            .map(|d| format!("{} is gone", escape::text(&d.address.to_string()))),
    );
    named.extend(report.unmanaged.iter().map(|u| {
        format!(
            "unmanaged {} \"{}\" in {}",
            escape::text(&u.what()),
            escape::text(&u.name),
            escape::text(&u.tenant)
        )
    }));
    let more = named.len().saturating_sub(NAMED);
    named.truncate(NAMED);
    let mut text = format!(
        "entitle watch (workspace {workspace}): drift found: {} changed, {} deleted, {} unmanaged. {}",
        report.changed.len(),
        report.deleted.len(),
        report.unmanaged.len(),
        named.join("; ")
    );
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text.push('.');
    text
}

/// The task that sends the POSTs, in order.
pub struct Notifier {
    queue: mpsc::UnboundedSender<Value>,
    task: JoinHandle<()>,
}

impl Notifier {
    /// Starts the sender for `webhook`, counting in `metrics`.
    pub fn start(webhook: Webhook, metrics: Arc<Metrics>) -> Result<Notifier, Error> {
        let http = HttpClient::new(HttpConfig {
            timeout: Duration::from_secs(10),
            max_retries: 2,
            max_rate_limited_retries: 3,
            max_retry_after: Duration::from_secs(10),
            ..HttpConfig::default()
        })?;
        let (queue, mut bodies) = mpsc::unbounded_channel::<Value>();
        let task = tokio::spawn(async move {
            while let Some(body) = bodies.recv().await {
                let request = Request::new(Method::POST, webhook.url.clone())
                    .labelled("webhook")
                    .json(body);
                match http.send(&request).await {
                    Ok(_) => {
                        tracing::info!("webhook: posted to {}", webhook.origin());
                        metrics.webhook(true);
                    }
                    Err(err) => {
                        tracing::warn!(
                            "webhook: the POST to {} failed: {}",
                            webhook.origin(),
                            escape::text(&err.to_string())
                        );
                        metrics.webhook(false);
                    }
                }
            }
        });
        Ok(Notifier { queue, task })
    }

    /// Queues a POST of `body`.
    pub fn send(&self, body: Value) {
        // The task ends only when the queue closes (below).
        let _ = self.queue.send(body);
    }

    /// Sends what is queued, waiting up to `timeout`.
    pub async fn finish(self, timeout: Duration) {
        drop(self.queue);
        if tokio::time::timeout(timeout, self.task).await.is_err() {
            tracing::warn!("webhook: gave up on the POSTs still queued at exit");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_accepted_and_the_path_is_never_shown() {
        assert!(Webhook::parse("https://hooks.example.com/services/T/B/secret").is_ok());
        assert!(Webhook::parse("http://127.0.0.1:9/hook").is_ok());
        assert!(Webhook::parse("http://localhost:9/hook").is_ok());
        let err = Webhook::parse("http://hooks.example.com/services/T/B/secret")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not loopback"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        assert!(Webhook::parse("ftp://127.0.0.1/x").is_err());
        assert!(Webhook::parse("not a url").is_err());
        let debug = format!(
            "{:?}",
            Webhook::parse("https://h.example/x/secret").unwrap()
        );
        assert!(!debug.contains("secret"), "{debug}");
    }

    #[test]
    fn the_text_summarises_drift_and_its_end() {
        let clear = message(&DriftReport::default(), "default");
        assert_eq!(clear["drift"], false);
        assert!(clear["text"].as_str().unwrap().contains("no drift"));
    }
}
