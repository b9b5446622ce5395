//! Credentials never follow a redirect: a server that answers the Keystone
//! login, the RedAPI token request or an API call with a redirect to
//! another host gets an error back, and the other host gets nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use entitle::api::ApiError;
use entitle::api::ecl::TenantId;
use entitle::api::keystone::{EclCredentials, Keystone};
use reqwest::Url;

use crate::support::{TENANT_A, TestSim, fast_retries};

/// A server on loopback, on its own runtime, counting what it is asked.
struct Server {
    url: String,
    hits: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    /// Answers every request with `status` and `Location: location`
    /// (`None`: the trap, which answers 200 and only counts).
    fn start(redirect: Option<(StatusCode, String)>) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = Router::new().fallback(move || {
            let redirect = redirect.clone();
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match redirect {
                    Some((status, location)) => {
                        (status, [(header::LOCATION, location)]).into_response()
                    }
                    None => StatusCode::OK.into_response(),
                }
            }
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await });
        Server {
            url,
            hits,
            _runtime: runtime,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

#[test]
fn a_keystone_login_redirected_elsewhere_sends_the_password_nowhere() {
    let sim = TestSim::start();
    let trap = Server::start(None);
    for status in [
        StatusCode::MOVED_PERMANENTLY,
        StatusCode::FOUND,
        StatusCode::TEMPORARY_REDIRECT,
        StatusCode::PERMANENT_REDIRECT,
    ] {
        let redirector = Server::start(Some((status, format!("{}/v3/auth/tokens", trap.url))));
        let auth_url: Url = format!("{}/v3", redirector.url).parse().unwrap();
        let keystone = Keystone::new(
            entitle::api::http::HttpClient::new(fast_retries()).unwrap(),
            EclCredentials::demo(auth_url.clone()),
        );
        let tenant = TenantId::parse(TENANT_A).unwrap();
        let err = sim
            .block_on(keystone.token(&auth_url, &tenant))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ApiError::Redirected { .. }),
            "{status}: {text}"
        );
        assert!(
            text.contains(&format!("the server answered {}", status.as_u16()))
                && text.contains(&format!("redirecting to {}", trap.url))
                && text.contains("does not follow redirects"),
            "{text}"
        );
        assert!(!text.contains("demo-secret"), "{text}");
        assert_eq!(redirector.hits(), 1, "{status}: asked once, not retried");
    }
    assert_eq!(trap.hits(), 0, "the other host got nothing");
}

#[test]
fn the_binary_says_why_it_stopped_at_a_redirect() {
    let sim = TestSim::start();
    let trap = Server::start(None);
    let redirector = Server::start(Some((
        StatusCode::TEMPORARY_REDIRECT,
        format!("{}/v3/auth/tokens?token=leak", trap.url),
    )));
    let project = crate::support::Project::new(&sim);
    project.write("tenant.yaml", crate::support::TENANT_YAML);
    let output = project
        .std_command()
        .env("OS_AUTH_URL", format!("{}/v3", redirector.url))
        .env("ENTITLE_ECL_ENDPOINT", &redirector.url)
        .args(["drift", "manifests"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does not follow redirects"), "{stderr}");
    assert!(
        !stderr.contains("token=leak"),
        "only the origin is shown: {stderr}"
    );
    assert!(!stderr.contains("demo-secret"), "{stderr}");
    assert_eq!(trap.hits(), 0);
}
