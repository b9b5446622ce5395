//! The Redstor RedAPI v1 (API.md sections 1, 4 and 5), at the vendor's own
//! root paths: the token endpoint, companies and their users, the product
//! catalog, subscriptions and trials, consumption, and backup and restore
//! statuses.
//!
//! One service account ([`RedstorAccount`]) is trusted; its tokens see one
//! root company (seeded as the partner `Entitle Demo MSP`) and the customers
//! below it, and anything else is 404. Errors are `ProblemDetails`. Usage
//! and job outcomes are not stored: they are drawn deterministically from
//! the subscription id and the simulated day, so two reads agree and the
//! numbers move when the clock does.

mod account;
mod auth;
mod catalog;
mod companies;
mod data;
mod paging;
mod problem;
mod reports;
mod subscriptions;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use time::OffsetDateTime;
use uuid::Uuid;

pub use account::{RedstorAccount, key_path};
pub(crate) use data::RedstorData;
pub(crate) use problem::{is_redstor_route, response as problem_response};

use super::{Behaviour, Behaviours, Shared};
use auth::Access;
use data::Company;
use problem::{Problem, conflict, not_found, unprocessable};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    let company = "/companies/{companyId}";
    Router::new()
        .route("/connect/token", post(auth::token))
        .route("/companies", get(companies::root))
        .route("/companies/search", get(companies::search))
        .route(company, get(companies::show).delete(companies::delete))
        .route(
            &format!("{company}/customers"),
            get(companies::customers).post(companies::create),
        )
        .route(
            &format!("{company}/customers/transitive"),
            get(companies::transitive),
        )
        .route(
            &format!("{company}/customers/{{customerId}}/reassign"),
            patch(companies::reassign),
        )
        .route(&format!("{company}/disable"), patch(companies::disable))
        .route(&format!("{company}/enable"), patch(companies::enable))
        .route("/users/list", get(companies::users))
        .route("/products", get(catalog::list))
        .route("/products/{productId}", get(catalog::show))
        .route(
            &format!("{company}/subscriptions"),
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            &format!("{company}/subscriptions/trial"),
            post(subscriptions::trial),
        )
        .route(
            &format!("{company}/subscriptions/{{subscriptionId}}"),
            axum::routing::delete(subscriptions::remove),
        )
        .route(
            &format!("{company}/subscriptions/{{subscriptionId}}/trial/convert"),
            patch(subscriptions::convert),
        )
        .merge(reports::routes(company))
        .layer(middleware::from_fn(problem::instance))
}

/// What a RedAPI handler works with, after the bearer check, under the
/// store's lock.
pub(crate) struct Ctx<'a> {
    pub data: &'a mut RedstorData,
    pub now: OffsetDateTime,
    /// The token's root company.
    pub root: Uuid,
    /// How long a queued subscription removal takes.
    pub removal_delay: Duration,
    /// Set by a handler that changed the data.
    pub changed: bool,
    /// The documented-but-unchosen behaviours switched on.
    pub behaviours: Behaviours,
}

/// An id as RedAPI compares them: case-insensitive, hyphens ignored.
pub(crate) fn parse_id(text: &str) -> Option<Uuid> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Uuid::try_parse(&hex).ok()
}

impl Ctx<'_> {
    pub fn behaves(&self, behaviour: Behaviour) -> bool {
        self.behaviours.has(behaviour)
    }

    /// A refused duplicate: 422, the RedAPI's documented client error
    /// (409 under [`Behaviour::Duplicate409`]).
    pub fn duplicate(&self, detail: String) -> Problem {
        if self.behaves(Behaviour::Duplicate409) {
            conflict(detail)
        } else {
            unprocessable(detail)
        }
    }

    /// The documented 200 of a create or delete that has no answer of its
    /// own (201 / 204 under [`Behaviour::Created201`]).
    pub fn done(&self, alternative: StatusCode) -> StatusCode {
        if self.behaves(Behaviour::Created201) {
            alternative
        } else {
            StatusCode::OK
        }
    }

    /// The id of a company in the token's tree, or 404 (a malformed id too).
    pub fn company_id(&self, text: &str) -> Result<Uuid, Problem> {
        parse_id(text)
            .filter(|id| self.data.company(*id).is_some() && self.data.is_within(*id, self.root))
            .ok_or_else(|| not_found(format!("company {text} not found")))
    }

    /// A company in the token's tree, or 404.
    pub fn company(&self, text: &str) -> Result<&Company, Problem> {
        let id = self.company_id(text)?;
        self.data
            .company(id)
            .ok_or_else(|| not_found(format!("company {text} not found")))
    }
}

/// Runs `work` after the bearer check, under the store's lock; writes the
/// data file when the data changed.
pub(crate) fn handle(
    shared: &Shared,
    headers: &HeaderMap,
    access: Access,
    work: impl FnOnce(&mut Ctx) -> Result<Response, Problem>,
) -> Response {
    let (response, changed) = {
        let mut store = shared.store();
        let now = store.now();
        let data = &mut store.redstor;
        let purged = data.purge(now);
        match auth::authorize(data, headers, now, access) {
            Err(problem) => (problem.into_response(), purged),
            Ok(root) => {
                let mut ctx = Ctx {
                    data,
                    now,
                    root,
                    removal_delay: shared.provisioning_delay,
                    changed: purged,
                    behaviours: shared.behaviours(),
                };
                let response = work(&mut ctx).unwrap_or_else(IntoResponse::into_response);
                (response, ctx.changed)
            }
        }
    };
    if changed {
        shared.persist();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_without_case_or_hyphens() {
        let id = Uuid::parse_str("046b6c7f-0b8a-43b9-b35d-6489e6daee91").unwrap();
        for text in [
            "046b6c7f-0b8a-43b9-b35d-6489e6daee91",
            "046B6C7F-0B8A-43B9-B35D-6489E6DAEE91",
            "046b6c7f0b8a43b9b35d6489e6daee91",
        ] {
            assert_eq!(parse_id(text), Some(id), "{text}");
        }
        for text in [
            "",
            "046b6c7f",
            "{046b6c7f-0b8a-43b9-b35d-6489e6daee91}",
            "zz6b6c7f0b8a43b9b35d6489e6daee91",
        ] {
            assert_eq!(parse_id(text), None, "{text}");
        }
    }
}
