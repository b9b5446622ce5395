//! What the vendor documents allow but the simulator does not do by
//! default. By default it answers what the documents say, and where they
//! are silent what `API.md` chose; each [`Behaviour`] switches one of the
//! other readings on (`entitle sim --behave NAME`, `PUT /_sim/behaviours`),
//! so that the tests run the same scenarios against every reading, not
//! only against the one the simulator and the clients share.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Shared;

/// One documented-but-unchosen behaviour.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// The Proposal API refuses a bad or expired token with 401 (its
    /// documents list 403).
    ProposalAuth401,
    /// RedAPI subscription creates and trials answer 201 (documented: 200)
    /// and a company delete 204 (documented: 200).
    Created201,
    /// Duplicates are refused with 409 Conflict (documented: 422 for
    /// subscriptions; nothing for companies, where 422 is the default).
    Duplicate409,
    /// RedAPI reads and creates with nothing to show answer 204 No Content
    /// with an empty body (documented for every read and for subscription
    /// creates): an empty subscription list, a company that is not there,
    /// a subscription create.
    Empty204,
    /// Answers carry fields the documents do not list, and enum values
    /// they do not list (a trial status of `Pending`, a license type of
    /// `Physical`).
    Unknowns,
    /// An Arcserve delete (202) schedules the deletion for the last day of
    /// the month (Tokyo): the license stays listed, `Active`, with its
    /// `deletion_date`, and goes when the day is over.
    ScheduledDeletion,
    /// Arcserve orders carry only their `id` (the documents show the order
    /// object as `{}`).
    BareOrders,
    /// The Proposal list endpoint, which the seed documents do not define,
    /// answers 404.
    NoProposalList,
}

impl Behaviour {
    /// Every behaviour, in declaration order.
    pub fn all() -> BTreeSet<Behaviour> {
        <Behaviour as clap::ValueEnum>::value_variants()
            .iter()
            .copied()
            .collect()
    }

    /// The kebab-case name the flag and the control endpoint use.
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|value| value.get_name().to_string())
            .unwrap_or_default()
    }
}

/// The behaviours switched on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Behaviours(BTreeSet<Behaviour>);

impl Behaviours {
    pub fn new(behaviours: impl IntoIterator<Item = Behaviour>) -> Self {
        Behaviours(behaviours.into_iter().collect())
    }

    pub fn has(&self, behaviour: Behaviour) -> bool {
        self.0.contains(&behaviour)
    }
}

/// The keys that make a JSON object one of the vendors' objects (a
/// license, an order, a company, a subscription, a token's project...).
const OBJECT_IDS: [&str; 4] = ["id", "companyId", "subscriptionId", "productId"];

/// Under [`Behaviour::Unknowns`]: every vendor object of a JSON answer
/// carries a field no document lists, and a paid subscription's
/// `trialStatus` is a value none lists.
pub(super) async fn unknowns(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if !shared.behaves(Behaviour::Unknowns) || !is_json(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    add_unknowns(&mut value);
    parts.headers.remove(header::CONTENT_LENGTH);
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    Response::from_parts(parts, Body::from(bytes))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

fn add_unknowns(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(add_unknowns),
        Value::Object(object) => {
            object.values_mut().for_each(add_unknowns);
            if OBJECT_IDS.iter().any(|key| object.contains_key(*key)) {
                object.insert(
                    "vendorExtension".into(),
                    json!({ "addedIn": "a later API version", "flags": [1, 2] }),
                );
            }
            if object.get("trialStatus").and_then(Value::as_str) == Some("NotUsed") {
                object.insert("trialStatus".into(), json!("NotApplicable"));
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_kebab_case_of_the_flag_and_the_control_endpoint() {
        for behaviour in Behaviour::all() {
            let json = serde_json::to_value(behaviour).unwrap();
            assert_eq!(json, serde_json::Value::String(behaviour.name()));
        }
        assert_eq!(Behaviour::ScheduledDeletion.name(), "scheduled-deletion");
        assert_eq!(Behaviour::all().len(), 8);
    }

    #[test]
    fn unknowns_go_into_vendor_objects_and_paid_trial_statuses_only() {
        let mut answer = json!({
            "results": [{ "subscriptionId": "s", "trialStatus": "NotUsed" }],
            "totals": { "count": 1 },
        });
        add_unknowns(&mut answer);
        assert_eq!(answer["results"][0]["trialStatus"], "NotApplicable");
        assert!(answer["results"][0]["vendorExtension"].is_object());
        assert!(answer["totals"].get("vendorExtension").is_none());
        assert!(answer.get("vendorExtension").is_none());
    }
}
