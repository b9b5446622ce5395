//! The route templates of every vendor endpoint the clients call, and the
//! one way a request's path is named for metrics: by its API and its
//! template (`GET /v2/arcserve-udp/{tenant_id}/licenses/{license_id}`),
//! spelt as the simulator's `/_sim/metrics` and the benchmark name routes.
//!
//! A label is only ever a string of this table (or `other`): no id, name or
//! token of a path can reach it, and the number of label values is bounded
//! by the table. A path is matched on its last segments, so a base URL with
//! a path of its own (`https://host/identity/v3`) still finds its route.

use std::sync::OnceLock;

use reqwest::Method;

/// What a request is, for metrics: its API and its route template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// `keystone`, `arcserve`, `proposal`, `redstor`, or `other`.
    pub api: &'static str,
    /// `METHOD /template`, or `other`.
    pub route: &'static str,
}

impl Route {
    /// A request no template matches.
    pub const OTHER: Route = Route {
        api: "other",
        route: "other",
    };
}

/// `(api, "METHOD /template")`: every endpoint a client of `src/api/` calls.
const ROUTES: &[(&str, &str)] = &[
    ("keystone", "POST /v3/auth/tokens"),
    ("arcserve", "GET /v2/arcserve-udp/{tenant_id}/licenses"),
    ("arcserve", "POST /v2/arcserve-udp/{tenant_id}/licenses"),
    (
        "arcserve",
        "GET /v2/arcserve-udp/{tenant_id}/licenses/{license_id}",
    ),
    (
        "arcserve",
        "PATCH /v2/arcserve-udp/{tenant_id}/licenses/{license_id}",
    ),
    (
        "arcserve",
        "DELETE /v2/arcserve-udp/{tenant_id}/licenses/{license_id}",
    ),
    (
        "arcserve",
        "POST /v2/arcserve-udp/{tenant_id}/licenses/{license_id}/issue-key",
    ),
    (
        "arcserve",
        "POST /v2/arcserve-udp/{tenant_id}/bulk-license-upgrade",
    ),
    ("arcserve", "GET /v2/arcserve-udp/{tenant_id}/plans"),
    ("arcserve", "GET /v2/arcserve-udp/{tenant_id}/orders"),
    (
        "arcserve",
        "GET /v2/arcserve-udp/{tenant_id}/orders/{order_id}",
    ),
    ("proposal", "POST /v1/proposal/update/{tenant_id}"),
    (
        "proposal",
        "GET /v1/proposal/detail/{tenant_id}/{service_id}/{order_id}",
    ),
    ("proposal", "GET /v1/proposal/list/{tenant_id}/{service_id}"),
    ("redstor", "POST /connect/token"),
    ("redstor", "GET /companies"),
    ("redstor", "GET /companies/search"),
    ("redstor", "GET /companies/{companyId}"),
    ("redstor", "DELETE /companies/{companyId}"),
    ("redstor", "GET /companies/{companyId}/customers"),
    ("redstor", "POST /companies/{companyId}/customers"),
    ("redstor", "GET /companies/{companyId}/customers/transitive"),
    (
        "redstor",
        "PATCH /companies/{companyId}/customers/{customerId}/reassign",
    ),
    ("redstor", "PATCH /companies/{companyId}/disable"),
    ("redstor", "PATCH /companies/{companyId}/enable"),
    ("redstor", "GET /users/list"),
    ("redstor", "GET /products"),
    ("redstor", "GET /products/{productId}"),
    ("redstor", "GET /companies/{companyId}/subscriptions"),
    ("redstor", "POST /companies/{companyId}/subscriptions"),
    ("redstor", "POST /companies/{companyId}/subscriptions/trial"),
    (
        "redstor",
        "DELETE /companies/{companyId}/subscriptions/{subscriptionId}",
    ),
    (
        "redstor",
        "PATCH /companies/{companyId}/subscriptions/{subscriptionId}/trial/convert",
    ),
    ("redstor", "GET /companies/{companyId}/consumption/summary"),
    ("redstor", "GET /companies/{companyId}/consumption/company"),
    (
        "redstor",
        "GET /companies/{companyId}/consumption/customers/direct",
    ),
    (
        "redstor",
        "GET /companies/{companyId}/consumption/customers/transitive",
    ),
    ("redstor", "GET /companies/{companyId}/backups/status"),
    (
        "redstor",
        "GET /companies/{companyId}/backups/status/customers",
    ),
    (
        "redstor",
        "GET /companies/{companyId}/backups/status/accounts",
    ),
    (
        "redstor",
        "GET /companies/{companyId}/backups/status/summary",
    ),
    ("redstor", "GET /companies/{companyId}/restores/status"),
    (
        "redstor",
        "GET /companies/{companyId}/restores/status/customers",
    ),
    (
        "redstor",
        "GET /companies/{companyId}/restores/status/accounts",
    ),
    (
        "redstor",
        "GET /companies/{companyId}/restores/status/summary",
    ),
];

/// One parsed template: its method, its segments (`None` for a
/// placeholder), and the label it gives.
struct Template {
    method: &'static str,
    segments: Vec<Option<&'static str>>,
    route: Route,
}

/// The templates, longest and most literal first, so that the first match
/// on the path's last segments is the most specific one.
fn templates() -> &'static [Template] {
    static TEMPLATES: OnceLock<Vec<Template>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut all: Vec<Template> = ROUTES
            .iter()
            .map(|&(api, route)| parse(api, route))
            .collect();
        all.sort_by_key(|t| {
            let literals = t.segments.iter().filter(|s| s.is_some()).count();
            (
                std::cmp::Reverse(t.segments.len()),
                std::cmp::Reverse(literals),
            )
        });
        all
    })
}

fn parse(api: &'static str, route: &'static str) -> Template {
    let (method, path) = route.split_once(' ').unwrap_or(("", route));
    let segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| (!s.starts_with('{')).then_some(s))
        .collect();
    Template {
        method,
        segments,
        route: Route { api, route },
    }
}

/// The route of a request to `path` (as sent, percent-encoded) with `method`.
pub fn classify(method: &Method, path: &str) -> Route {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    templates()
        .iter()
        .find(|t| t.method == method.as_str() && matches_tail(&t.segments, &segments))
        .map_or(Route::OTHER, |t| t.route)
}

/// Whether the last segments of `path` are `template`'s.
fn matches_tail(template: &[Option<&str>], path: &[&str]) -> bool {
    let Some(start) = path.len().checked_sub(template.len()) else {
        return false;
    };
    template
        .iter()
        .zip(&path[start..])
        .all(|(want, got)| want.is_none_or(|literal| literal == *got))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_named_by_their_templates_without_ids() {
        let license = "/v2/arcserve-udp/3f6c2a9e/licenses/9b1e7d3c-5a2f";
        assert_eq!(
            classify(&Method::GET, license),
            Route {
                api: "arcserve",
                route: "GET /v2/arcserve-udp/{tenant_id}/licenses/{license_id}"
            }
        );
        assert_eq!(
            classify(&Method::GET, "/companies/search").route,
            "GET /companies/search"
        );
        assert_eq!(
            classify(&Method::GET, "/companies/1234").route,
            "GET /companies/{companyId}"
        );
        assert_eq!(
            classify(&Method::PATCH, "/companies/1/customers/2/reassign").route,
            "PATCH /companies/{companyId}/customers/{customerId}/reassign"
        );
        assert_eq!(
            classify(&Method::POST, "/companies/1/subscriptions/trial").route,
            "POST /companies/{companyId}/subscriptions/trial"
        );
    }

    #[test]
    fn a_base_path_before_the_route_is_allowed() {
        assert_eq!(
            classify(&Method::POST, "/identity/v3/auth/tokens"),
            Route {
                api: "keystone",
                route: "POST /v3/auth/tokens"
            }
        );
    }

    #[test]
    fn what_no_template_knows_is_other() {
        assert_eq!(classify(&Method::GET, "/secret-token/x"), Route::OTHER);
        assert_eq!(classify(&Method::PUT, "/companies/1"), Route::OTHER);
        assert_eq!(classify(&Method::GET, "/"), Route::OTHER);
    }

    #[test]
    fn every_template_is_well_formed_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for (api, route) in ROUTES {
            let (method, path) = route.split_once(' ').unwrap();
            assert!(Method::from_bytes(method.as_bytes()).is_ok(), "{route}");
            assert!(path.starts_with('/'), "{route}");
            assert!(!api.is_empty());
            assert!(seen.insert(*route), "{route} twice");
        }
    }
}
