//! Credentials never follow a redirect: a server that answers the Keystone
//! login, the RedAPI token request or an API call with a redirect to
//! another host gets an error back, and the other host gets nothing.

use axum::http::{StatusCode, header};
use entitle::api::ApiError;
use entitle::api::ecl::TenantId;
use entitle::api::keystone::{EclCredentials, Keystone};
use reqwest::Url;

use crate::support::{StubServer, TENANT_A, TestSim, fast_retries};

#[test]
fn a_keystone_login_redirected_elsewhere_sends_the_password_nowhere() {
    let sim = TestSim::start();
    let trap = StubServer::start(StatusCode::OK, None);
    for status in [
        StatusCode::MOVED_PERMANENTLY,
        StatusCode::FOUND,
        StatusCode::TEMPORARY_REDIRECT,
        StatusCode::PERMANENT_REDIRECT,
    ] {
        let redirector = StubServer::start(
            status,
            Some((header::LOCATION, format!("{}/v3/auth/tokens", trap.url))),
        );
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
    let trap = StubServer::start(StatusCode::OK, None);
    let redirector = StubServer::start(
        StatusCode::TEMPORARY_REDIRECT,
        Some((
            header::LOCATION,
            format!("{}/v3/auth/tokens?token=leak", trap.url),
        )),
    );
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
