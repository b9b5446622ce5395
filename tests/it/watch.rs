//! `entitle watch`, the real binary against the simulator: `/metrics`
//! (checked by `promtool check metrics`), `/drift` and `/healthz` follow
//! outside changes, a vendor outage and a broken manifest; the self-heal
//! reverts, is blocked from deleting, and leaves no lock when killed; the
//! webhook is told once per new drift; each cycle costs what `entitle
//! drift` costs; SIGTERM exits 0.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use entitle::api::arcserve::LicenseChanges;
use serde_json::Value;

use crate::support::*;

const INTERVAL: &str = "300ms";
const INTERVAL_MS: u64 = 300;

/// `web` (2 keys) and `db` (1 key), applied.
fn applied_project(sim: &TestSim) -> Project<'_> {
    let project = Project::with_tenant(sim);
    project.write("licenses.yaml", &two_licenses());
    project.apply().expect(0);
    sim.settle();
    project
}

fn two_licenses() -> String {
    license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", "")
        + &license_yaml("db", PLAN_ADVANCED_9, 1, "9.0", "")
}

/// Sets `web`'s key count behind entitle's back.
fn change_keys_by_hand(project: &Project<'_>, keys: u32) {
    let web = project.live_named("web");
    project
        .sim
        .block_on(project.sim.arcserve(TENANT_A).update_license(
            web.id,
            &LicenseChanges {
                number_of_standalone_keys: Some(keys),
                ..LicenseChanges::default()
            },
        ))
        .unwrap();
    project.sim.settle();
}

/// A running `entitle watch`, its stderr gathered as it comes.
struct Watching<'a> {
    child: Child,
    log: Arc<Mutex<String>>,
    base: String,
    sim: &'a TestSim,
}

impl<'a> Watching<'a> {
    /// `entitle watch manifests --listen 127.0.0.1:0 --interval 300ms`, then `extra`.
    fn start(project: &Project<'a>, extra: &[&str]) -> Self {
        Self::start_every(project, INTERVAL, extra)
    }

    /// [`Watching::start`] with another interval.
    fn start_every(project: &Project<'a>, interval: &str, extra: &[&str]) -> Self {
        let mut child = project
            .std_command()
            .args(["watch", "manifests", "--listen", "127.0.0.1:0"])
            .args(["--interval", interval])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let gathered = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = gathered.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut watching = Watching {
            child,
            log,
            base: String::new(),
            sim: project.sim,
        };
        watching.base = watching.wait_for("the listening address", Duration::from_secs(20), |w| {
            address_in(&w.log())
        });
        watching
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Polls `check` every 50 ms until it gives a value, failing after `timeout`.
    #[track_caller]
    fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Self) -> Option<T>,
    ) -> T {
        let started = Instant::now();
        loop {
            if let Some(value) = check(self) {
                return value;
            }
            assert!(
                started.elapsed() < timeout,
                "no {what} within {timeout:?}; the watch logged:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET path`: the status and the body.
    fn get(&self, path: &str) -> (u16, String) {
        let url = format!("{}{path}", self.base);
        self.sim.block_on(async {
            let response = reqwest::Client::new().get(&url).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        })
    }

    fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The value of one series (`name{labels}` as written), 0 when absent.
    fn metric(&self, series: &str) -> f64 {
        sample(&self.metrics(), series)
    }

    fn drift(&self) -> Option<Value> {
        let (status, body) = self.get("/drift");
        (status == 200).then(|| serde_json::from_str(&body).unwrap())
    }

    /// Waits until `entitle_watch_cycles_total` has grown by `more`.
    fn wait_cycles(&self, more: f64) {
        let from = self.metric("entitle_watch_cycles_total");
        self.wait_for("cycles", Duration::from_secs(30), |w| {
            (w.metric("entitle_watch_cycles_total") >= from + more).then_some(())
        });
    }

    /// SIGTERM, then the exit code and everything logged.
    fn stop(mut self) -> (i32, String) {
        signal(&self.child, "-TERM");
        let code = wait_exit(&mut self.child, Duration::from_secs(60));
        // The reader thread sees the end of stderr once the process is gone.
        std::thread::sleep(Duration::from_millis(100));
        (code, self.log())
    }
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, which: &str) {
    let status = Command::new("kill")
        .args([which, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[track_caller]
fn wait_exit(child: &mut Child, timeout: Duration) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(
            started.elapsed() < timeout,
            "still running after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `http://127.0.0.1:PORT` from the line that announces it.
fn address_in(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("serving /metrics"))?;
    let start = line.find("http://")?;
    let url: String = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    Some(url)
}

/// The value of `series` in a Prometheus text exposition.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

/// `entitle_api_requests_total` per route, summed over statuses.
fn requests_by_route(text: &str) -> BTreeMap<String, u64> {
    let mut routes = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("entitle_api_requests_total{"))
    {
        let route = line
            .split("route=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        *routes.entry(route.to_string()).or_default() += value as u64;
    }
    routes
}

/// `promtool check metrics` on `text`; `None` when promtool is not
/// installed outside CI (it prints NOT RUN), a failure in CI.
fn promtool_check(text: &str) -> Option<(bool, String)> {
    use std::io::Write;
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !in_ci() => {
            let _ = writeln!(
                std::io::stderr(),
                "\n*** promtool check NOT RUN: promtool is not installed \
                 (Debian: apt-get install prometheus)\n"
            );
            return None;
        }
        Err(err) => panic!("promtool could not run: {err} (Debian: apt-get install prometheus)"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    Some((output.status.success(), said))
}

/// `CI` set to anything but empty, `0` or `false`.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

#[test]
fn an_outside_change_shows_in_metrics_and_drift_within_an_interval_and_promtool_accepts_them() {
    let sim = TestSim::start();
    let project = applied_project(&sim);
    let watch = Watching::start(&project, &[]);
    watch.wait_cycles(1.0);
    let (status, health) = watch.get("/healthz");
    assert_eq!(status, 200, "{health}");
    assert_eq!(watch.drift().unwrap()["drift"], false);
    assert_eq!(watch.metric("entitle_drift_present"), 0.0);

    change_keys_by_hand(&project, 7);
    let changed = Instant::now();
    let series = r#"entitle_drift_items{kind="ArcserveLicense",class="changed"}"#;
    watch.wait_for("drift in /metrics", Duration::from_secs(20), |w| {
        (w.metric(series) == 1.0).then_some(())
    });
    // One interval (with its jitter) and the cycle that was in flight.
    let within = Duration::from_millis(INTERVAL_MS * 11 / 10 + 1000);
    assert!(changed.elapsed() < within, "{:?}", changed.elapsed());
    let drift = watch.drift().unwrap();
    assert_eq!(drift["drift"], true);
    assert_eq!(drift["changed"][0]["address"], "ArcserveLicense/web");
    assert_eq!(drift["changed"][0]["live"], 7);
    assert_eq!(watch.metric("entitle_drift_present"), 1.0);
    // The same document as `entitle drift --format json`.
    let (_, served) = watch.get("/drift");
    assert_eq!(served, project.drift_as("json").expect(2).stdout);

    let text = watch.metrics();
    assert!(
        text.contains("entitle_last_successful_refresh_timestamp_seconds "),
        "{text}"
    );
    assert!(
        text.contains("entitle_refresh_duration_seconds_bucket{le="),
        "{text}"
    );
    assert!(
        text.contains(r#"route="GET /v2/arcserve-udp/{tenant_id}/licenses",status="200"}"#),
        "{text}"
    );
    assert!(!text.contains(TENANT_A), "a tenant id in a label:\n{text}");
    assert!(!text.contains("route=\"other\""), "{text}");
    if let Some((passed, said)) = promtool_check(&text) {
        assert!(passed, "promtool check metrics:\n{said}\n{text}");
    }

    let (code, log) = watch.stop();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("stopped after"), "{log}");
    assert!(!log.contains("demo-secret"), "{log}");
}

#[test]
fn each_cycle_costs_what_entitle_drift_costs_and_the_request_metrics_match_the_server() {
    let sim = TestSim::start();
    let project = applied_project(&sim);
    sim.reset_metrics();
    project.drift().expect(0);
    let drift_calls = sim.metrics();
    assert!(!drift_calls.is_empty());
    sim.reset_metrics();

    let watch = Watching::start_every(&project, "1s", &["--log-format", "json"]);
    // Right after a cycle's refresh, before the next: what the watch
    // counted equals what the simulator served, route by route.
    let refreshes = |w: &Watching<'_>| w.log().matches("refreshed in").count();
    let seen = watch.wait_for("a refresh", Duration::from_secs(20), |w| {
        Some(refreshes(w)).filter(|n| *n >= 2)
    });
    watch.wait_for("the next refresh", Duration::from_secs(20), |w| {
        (refreshes(w) > seen).then_some(())
    });
    let counted = requests_by_route(&watch.metrics());
    assert_eq!(
        counted,
        sim.metrics(),
        "the watch's count against the simulator's"
    );

    let (code, log) = watch.stop();
    assert_eq!(code, 0, "{log}");
    for line in log.lines() {
        let event: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            event["level"].is_string() && event["message"].is_string(),
            "{line}"
        );
    }
    let stopped = log.lines().find(|l| l.contains("stopped after")).unwrap();
    let message: Value = serde_json::from_str(stopped).unwrap();
    let cycles: u64 = message["message"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!(cycles >= 3, "{log}");
    let served = sim.metrics();
    let tokens = ["POST /v3/auth/tokens", "POST /connect/token"];
    for (route, once) in &drift_calls {
        let expected = if tokens.contains(&route.as_str()) {
            *once // tokens are cached across cycles
        } else {
            once * cycles
        };
        assert_eq!(
            served.get(route),
            Some(&expected),
            "{route} over {cycles} cycles"
        );
    }
    assert_eq!(
        served.keys().collect::<Vec<_>>(),
        drift_calls.keys().collect::<Vec<_>>(),
        "no route drift does not call"
    );
}

#[test]
fn self_heal_reverts_an_outside_change_and_the_next_cycle_shows_no_drift() {
    let sim = TestSim::start();
    let project = applied_project(&sim);
    let watch = Watching::start(&project, &["--self-heal"]);
    watch.wait_cycles(1.0);
    change_keys_by_hand(&project, 7);
    watch.wait_for("the license healed", Duration::from_secs(20), |w| {
        (w.metric(r#"entitle_self_heal_actions_total{result="applied"}"#) >= 1.0).then_some(())
    });
    sim.settle();
    assert_eq!(project.live_named("web").number_of_standalone_keys, 2);
    watch.wait_cycles(2.0);
    assert_eq!(watch.drift().unwrap()["drift"], false);
    assert_eq!(watch.metric("entitle_drift_present"), 0.0);
    assert_eq!(
        watch.metric(r#"entitle_self_heal_actions_total{result="blocked"}"#),
        0.0
    );
    let (code, log) = watch.stop();
    assert_eq!(code, 0, "{log}");
    project.plan().expect(0);
}

#[test]
fn a_self_heal_that_would_delete_is_blocked_and_counted_without_self_heal_deletes() {
    let sim = TestSim::start();
    let project = applied_project(&sim);
    let db = project.live_named("db");
    // `db` leaves the manifests (the plan deletes it) and `web` drifts.
    project.write(
        "licenses.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", ""),
    );
    change_keys_by_hand(&project, 7);
    let watch = Watching::start(&project, &["--self-heal"]);
    watch.wait_for("a blocked self-heal", Duration::from_secs(20), |w| {
        (w.metric(r#"entitle_self_heal_actions_total{result="blocked"}"#) >= 2.0).then_some(())
    });
    assert_eq!(
        watch.metric(r#"entitle_self_heal_actions_total{result="applied"}"#),
        0.0
    );
    assert_eq!(project.live_named("web").number_of_standalone_keys, 7);
    assert_eq!(project.live_named("db").id, db.id, "nothing deleted");
    let (code, log) = watch.stop();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("--self-heal-deletes"), "{log}");

    let watch = Watching::start(&project, &["--self-heal", "--self-heal-deletes"]);
    watch.wait_for("the self-heal", Duration::from_secs(20), |w| {
        (w.metric(r#"entitle_self_heal_actions_total{result="applied"}"#) >= 2.0).then_some(())
    });
    let (code, log) = watch.stop();
    assert_eq!(code, 0, "{log}");
    sim.settle();
    assert!(project.live().iter().all(|l| l.name != "db"), "db deleted");
    project.plan().expect(0);
}

#[test]
fn a_policy_blocks_a_self_heal_delete_even_with_self_heal_deletes() {
    let sim = TestSim::start();
    let project = applied_project(&sim);
    let db = project.live_named("db");
    project.write(
        "licenses.yaml",
        &license_yaml("web", PLAN_ADVANCED_9, 2, "9.0", ""),
    );
    project.write(
        "policy.yaml",
        "apiVersion: entitle/v1\nkind: Policy\nmetadata:\n  name: guardrails\nspec:\n  maxDeletes: 0\n",
    );
    change_keys_by_hand(&project, 7);
    let watch = Watching::start(&project, &["--self-heal", "--self-heal-deletes"]);
    watch.wait_for(
        "a self-heal the policy blocks",
        Duration::from_secs(20),
        |w| (w.metric(r#"entitle_self_heal_actions_total{result="blocked"}"#) >= 2.0).then_some(()),
    );
    assert_eq!(
        watch.metric(r#"entitle_self_heal_actions_total{result="applied"}"#),
        0.0
    );
    assert_eq!(project.live_named("db").id, db.id, "nothing deleted");
    assert_eq!(project.live_named("web").number_of_standalone_keys, 7);
    let (code, log) = watch.stop();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("maxDeletes"), "{log}");
}

#[test]
fn a_plan_over_max_changes_is_withheld_whole() {
    let sim = TestSim::start();
    let project = applied_project(&sim);
    project.write(
        "licenses.yaml",
        &(license_yaml("web", PLAN_ADVANCED_9, 3, "9.0", "")
            + &license_yaml("db", PLAN_ADVANCED_9, 3, "9.0", "")),
    );
    change_keys_by_hand(&project, 7);
    let watch = Watching::start(&project, &["--self-heal", "--max-changes", "1"]);
    watch.wait_for("a blocked self-heal", Duration::from_secs(20), |w| {
        (w.metric(r#"entitle_self_heal_actions_total{result="blocked"}"#) >= 2.0).then_some(())
    });
    assert_eq!(project.live_named("db").number_of_standalone_keys, 1);
    let (code, log) = watch.stop();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("more than --max-changes 1"), "{log}");
}

/// A loopback server that keeps every JSON body POSTed to it.
struct Hook {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Hook {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        let app = axum::Router::new().route(
            "/services/T0/B0/hook-secret",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                kept.lock().unwrap().push(body);
                async { "ok" }
            }),
        );
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!(
            "http://{}/services/T0/B0/hook-secret",
            listener.local_addr().unwrap()
        );
        runtime.spawn(async move { axum::serve(listener, app).await });
        Hook {
            url,
            bodies,
            _runtime: runtime,
        }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

#[test]
fn the_webhook_gets_one_post_per_new_drift_and_one_when_it_ends() {
    let sim = TestSim::start();
    let project = applied_project(&sim);
    let hook = Hook::start();
    let watch = Watching::start(&project, &["--webhook", &hook.url]);
    watch.wait_cycles(3.0);
    assert!(hook.bodies().is_empty(), "no drift, no POST");

    change_keys_by_hand(&project, 7);
    watch.wait_for("a POST", Duration::from_secs(20), |_| {
        (!hook.bodies().is_empty()).then_some(())
    });
    watch.wait_cycles(3.0);
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 1, "one POST for one drift: {bodies:#?}");
    let first = &bodies[0];
    assert_eq!(first["drift"], true);
    assert_eq!(first["counts"]["changed"], 1);
    let text = first["text"].as_str().unwrap();
    assert!(
        text.contains("ArcserveLicense/web standaloneKeys changed from 2 to 7"),
        "{text}"
    );

    change_keys_by_hand(&project, 9);
    watch.wait_for("a second POST", Duration::from_secs(20), |_| {
        (hook.bodies().len() == 2).then_some(())
    });
    project.apply().expect(0);
    sim.settle();
    watch.wait_for("the all-clear", Duration::from_secs(20), |_| {
        (hook.bodies().len() == 3).then_some(())
    });
    watch.wait_cycles(3.0);
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 3, "{bodies:#?}");
    assert_eq!(bodies[2]["drift"], false);
    assert!(bodies[2]["text"].as_str().unwrap().contains("no drift"));
    assert_eq!(
        watch.metric(r#"entitle_webhook_posts_total{result="sent"}"#),
        3.0
    );
    let (code, log) = watch.stop();
    assert_eq!(code, 0, "{log}");
    let everything = format!("{bodies:?}{log}");
    assert!(!everything.contains("hook-secret"), "{everything}");
    assert!(!everything.contains("demo-secret"), "{everything}");
}

#[test]
fn a_webhook_over_plain_http_to_another_host_is_refused_at_start() {
    let sim = TestSim::start();
    let project = applied_project(&sim);
    let run = project
        .run(&[
            "watch",
            "manifests",
            "--webhook",
            "http://hooks.example.com/services/T0/B0/hook-secret",
        ])
        .expect(1);
    assert!(run.stderr.contains("not loopback"), "{}", run.stderr);
    assert!(run.stderr.contains("https://"), "{}", run.stderr);
    assert!(!run.stderr.contains("hook-secret"), "{}", run.stderr);
}

#[test]
fn a_watch_killed_during_self_heal_leaves_no_lock_and_a_consistent_state() {
    let sim = TestSim::start();
    let project = applied_project(&sim);
    let addresses = |project: &Project<'_>| {
        let state = project.state();
        state["resources"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    let before = addresses(&project);
    let watch = Watching::start(&project, &["--self-heal"]);
    watch.wait_cycles(1.0);
    sim.set_faults(serde_json::json!({
        "latency_ms": 3000,
        "only": "PATCH /v2/arcserve-udp/{tenant_id}/licenses/{license_id}",
    }));
    change_keys_by_hand(&project, 7);
    watch.wait_for("the self-heal", Duration::from_secs(20), |w| {
        w.log().contains("self-heal: applying").then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    let mut watch = watch;
    watch.child.kill().unwrap();
    watch.child.wait().unwrap();
    sim.set_faults(serde_json::json!({}));
    std::thread::sleep(Duration::from_millis(3000));

    // The lock went with the process: plan runs, and apply finishes the job.
    let plan = project.plan();
    assert!(matches!(plan.code, 0 | 2), "{plan:?}");
    project.apply().expect(0);
    sim.settle();
    project.plan().expect(0);
    assert_eq!(project.live_named("web").number_of_standalone_keys, 2);
    assert_eq!(addresses(&project), before);
}

#[test]
fn healthz_turns_503_while_the_vendor_is_down_and_the_loop_goes_on() {
    let sim = TestSim::start();
    let project = applied_project(&sim);
    let watch = Watching::start(&project, &[]);
    watch.wait_cycles(1.0);
    assert_eq!(watch.get("/healthz").0, 200);
    let good = watch.drift().unwrap();

    sim.set_faults(serde_json::json!({ "error_rate": 1.0 }));
    let body = watch.wait_for("503", Duration::from_secs(10), |w| {
        let (status, body) = w.get("/healthz");
        (status == 503).then_some(body)
    });
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "stale");
    let since = health["seconds_since_success"].as_f64().unwrap();
    assert!(since > 2.0 * INTERVAL_MS as f64 / 1000.0, "{health}");
    watch.wait_for("a failed refresh", Duration::from_secs(60), |w| {
        (w.metric("entitle_refresh_failures_total") >= 1.0).then_some(())
    });
    assert_eq!(watch.drift().unwrap(), good, "the last good drift stays");
    assert!(
        watch.metric("entitle_watch_cycles_skipped_total") >= 1.0,
        "a cycle of retries overruns the interval"
    );
    assert!(
        watch.metrics().contains(r#"status="500"}"#),
        "the 500s are counted"
    );

    sim.set_faults(serde_json::json!({}));
    watch.wait_for("health again", Duration::from_secs(60), |w| {
        (w.get("/healthz").0 == 200).then_some(())
    });
    let (code, log) = watch.stop();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("refresh failed"), "{log}");
}

#[test]
fn bad_manifests_stop_the_start_and_a_broken_edit_is_a_counted_failure() {
    let sim = TestSim::start();
    let project = applied_project(&sim);
    project.write("broken.yaml", "apiVersion: entitle/v1\nkind: ArcserveLicense\nmetadata: {name: x}\nspec: {tenant: prod, standaloneKeys: many}\n");
    let run = project.run(&["watch", "manifests"]).expect(1);
    assert!(run.stderr.contains("broken.yaml"), "{}", run.stderr);

    project.remove("broken.yaml");
    let watch = Watching::start(&project, &[]);
    watch.wait_cycles(1.0);
    let good = watch.drift().unwrap();
    project.write("broken.yaml", "kind: [\n");
    watch.wait_for("a failed cycle", Duration::from_secs(20), |w| {
        (w.metric("entitle_refresh_failures_total") >= 2.0).then_some(())
    });
    assert_eq!(watch.drift().unwrap(), good);
    project.remove("broken.yaml");
    let failures = watch.metric("entitle_refresh_failures_total");
    watch.wait_cycles(2.0);
    assert_eq!(
        watch.metric("entitle_refresh_failures_total"),
        failures,
        "healthy again"
    );
    let (code, log) = watch.stop();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("broken.yaml"), "{log}");
}
