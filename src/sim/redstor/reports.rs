//! Consumption (`/companies/{companyId}/consumption/...`) and backup and
//! restore statuses (`.../backups/status...`, `.../restores/status...`).
//!
//! Nothing here is stored: seats, workloads, bytes and job outcomes are drawn
//! from the subscription id and the simulated day (UTC), so two reads agree
//! and the numbers move when the clock passes midnight. A subscription holds
//! no data, and has run no job, until its first backup an hour after it was
//! created. Account statuses are numbered 1 success, 2 warning, 3 error,
//! 4 failed.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::super::Shared;
use super::auth::Access;
use super::catalog;
use super::companies::{derived_uuid, halves, mix, slug};
use super::data::{Company, FIRST_BACKUP_AFTER, Plan, RedstorData, Subscription};
use super::paging::{self, Query as Params};
use super::problem::{Problem, bad_request};
use super::{Ctx, handle};

const GIB: u64 = 1 << 30;
/// The fair-use allowance per active seat; bytes above it are overage.
const FAIR_USE_PER_SEAT: u64 = 15 * GIB;

pub fn routes(company: &str) -> Router<Arc<Shared>> {
    let mut router = Router::new()
        .route(
            &format!("{company}/consumption/summary"),
            get(|s: State<Arc<Shared>>, p: Path<String>, h: HeaderMap, q: Query<Params>| async move {
                consumption(s, p, h, q, consumption_summary)
            }),
        )
        .route(
            &format!("{company}/consumption/company"),
            get(|s: State<Arc<Shared>>, p: Path<String>, h: HeaderMap, q: Query<Params>| async move {
                consumption(s, p, h, q, consumption_company)
            }),
        )
        .route(
            &format!("{company}/consumption/customers/direct"),
            get(|s: State<Arc<Shared>>, p: Path<String>, h: HeaderMap, q: Query<Params>| async move {
                consumption(s, p, h, q, consumption_direct)
            }),
        )
        .route(
            &format!("{company}/consumption/customers/transitive"),
            get(|s: State<Arc<Shared>>, p: Path<String>, h: HeaderMap, q: Query<Params>| async move {
                consumption(s, p, h, q, consumption_transitive)
            }),
        );
    for (area, op) in [("backups", Op::Backup), ("restores", Op::Restore)] {
        let base = format!("{company}/{area}/status");
        router = router
            .route(
                &base,
                get(
                    move |s: State<Arc<Shared>>,
                          p: Path<String>,
                          h: HeaderMap,
                          q: Query<Params>| async move {
                        operations(s, p, h, q, op, status_company)
                    },
                ),
            )
            .route(
                &format!("{base}/customers"),
                get(
                    move |s: State<Arc<Shared>>,
                          p: Path<String>,
                          h: HeaderMap,
                          q: Query<Params>| async move {
                        operations(s, p, h, q, op, status_customers)
                    },
                ),
            )
            .route(
                &format!("{base}/accounts"),
                get(
                    move |s: State<Arc<Shared>>,
                          p: Path<String>,
                          h: HeaderMap,
                          q: Query<Params>| async move {
                        operations(s, p, h, q, op, status_accounts)
                    },
                ),
            )
            .route(
                &format!("{base}/summary"),
                get(
                    move |s: State<Arc<Shared>>,
                          p: Path<String>,
                          h: HeaderMap,
                          q: Query<Params>| async move {
                        operations(s, p, h, q, op, status_summary)
                    },
                ),
            );
    }
    router
}

fn day(t: OffsetDateTime) -> u64 {
    t.unix_timestamp().div_euclid(86_400).max(0) as u64
}

fn ok(body: Value) -> Result<Response, Problem> {
    Ok((StatusCode::OK, Json(body)).into_response())
}

// ---------------------------------------------------------------- consumption

/// One subscription's usage, or a sum of several.
#[derive(Clone, Copy, Default)]
struct Usage {
    bytes: u64,
    external: u64,
    overage: u64,
    active: u64,
    inactive: u64,
    shared: u64,
    workloads: u64,
}

impl Usage {
    fn of(subscription: &Subscription, t: OffsetDateTime) -> Usage {
        let [high, low] = halves(subscription.id);
        let base = mix(&[high, low, 1]);
        let daily = mix(&[high, low, 2, day(t)]);
        let trial = subscription.plan == Plan::Trial;
        let active = if trial {
            1 + base % 4 + daily % 2
        } else {
            5 + base % 60 + daily % 6
        };
        let (inactive, shared) = if trial {
            (0, 0)
        } else {
            (daily % 4, (daily >> 8) % 3)
        };
        let workloads = if subscription.product_id == 130 {
            active
        } else {
            active + (daily >> 16) % 10
        };
        let bytes = if t >= subscription.created_at + FIRST_BACKUP_AFTER {
            let per_workload = (1 + (base >> 24) % 20) * GIB;
            workloads * per_workload + (daily >> 24) % GIB
        } else {
            0
        };
        let external = if subscription.product_id == 140 {
            bytes / 4
        } else {
            0
        };
        Usage {
            bytes,
            external,
            overage: bytes.saturating_sub(active * FAIR_USE_PER_SEAT),
            active,
            inactive,
            shared,
            workloads,
        }
    }

    fn add(&mut self, other: Usage) {
        self.bytes += other.bytes;
        self.external += other.external;
        self.overage += other.overage;
        self.active += other.active;
        self.inactive += other.inactive;
        self.shared += other.shared;
        self.workloads += other.workloads;
    }

    fn json(&self) -> Map<String, Value> {
        let value = json!({
            "totalDataProtectedInBytes": self.bytes,
            "totalDataProtectedInBytesExternal": self.external,
            "fupOverageInBytes": self.overage,
            "activeSeats": self.active,
            "inactiveSeats": self.inactive,
            "sharedSeats": self.shared,
            "activeWorkloads": self.workloads,
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// `date` (RFC 3339, default now) and `shouldExcludeTrials`.
struct ConsumptionQuery {
    at: OffsetDateTime,
    exclude_trials: bool,
}

impl ConsumptionQuery {
    fn parse(query: &Params, now: OffsetDateTime) -> Result<Self, Problem> {
        let at = match query.get("date").filter(|d| !d.is_empty()) {
            None => now,
            Some(text) => OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                bad_request(format!(
                    "`date` must be an RFC 3339 date-time, got `{text}`"
                ))
            })?,
        };
        Ok(ConsumptionQuery {
            at,
            exclude_trials: paging::flag(query, "shouldExcludeTrials", false)?,
        })
    }

    /// The subscriptions of `company` that count, with their usage.
    fn counted<'a>(&self, data: &'a RedstorData, company: Uuid) -> Vec<(&'a Subscription, Usage)> {
        data.subscriptions_of(company)
            .into_iter()
            .filter(|s| s.in_use_at(self.at) && !(self.exclude_trials && s.plan == Plan::Trial))
            .map(|s| (s, Usage::of(s, self.at)))
            .collect()
    }
}

fn with_product(subscription: &Subscription, usage: Usage) -> Map<String, Value> {
    let mut map = usage.json();
    let product = catalog::product(subscription.product_id);
    map.insert("productId".into(), json!(subscription.product_id));
    map.insert("productName".into(), json!(product.map(|p| p.name)));
    map.insert("subscriptionId".into(), json!(subscription.id));
    map.insert(
        "sku".into(),
        json!(catalog::sku(
            subscription.product_id,
            subscription.edition_id
        )),
    );
    map.insert("isTrial".into(), json!(subscription.plan == Plan::Trial));
    map
}

type ConsumptionView = fn(&Ctx, Uuid, &ConsumptionQuery, &Params) -> Result<Response, Problem>;

fn consumption(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Params>,
    view: ConsumptionView,
) -> Response {
    handle(&shared, &headers, Access::Read, |ctx| {
        let id = ctx.company_id(&company_id)?;
        let parsed = ConsumptionQuery::parse(&query, ctx.now)?;
        view(ctx, id, &parsed, &query)
    })
}

fn consumption_summary(
    ctx: &Ctx,
    id: Uuid,
    query: &ConsumptionQuery,
    _: &Params,
) -> Result<Response, Problem> {
    let own = query.counted(ctx.data, id);
    let below: Vec<(&Subscription, Usage)> = ctx
        .data
        .descendants(id)
        .into_iter()
        .flat_map(|c| query.counted(ctx.data, c.id))
        .collect();
    if own.is_empty() && below.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let sum = |items: &[(&Subscription, Usage)]| {
        let mut total = Usage::default();
        for (_, usage) in items {
            total.add(*usage);
        }
        Value::Object(total.json())
    };
    ok(json!({ "companySummary": sum(&own), "customerSummary": sum(&below) }))
}

fn consumption_company(
    ctx: &Ctx,
    id: Uuid,
    query: &ConsumptionQuery,
    _: &Params,
) -> Result<Response, Problem> {
    let items: Vec<Value> = query
        .counted(ctx.data, id)
        .into_iter()
        .map(|(s, usage)| Value::Object(with_product(s, usage)))
        .collect();
    Ok(paging::json_or_empty(StatusCode::OK, Value::Array(items)))
}

/// One product and edition of a customer's subtree: its first entry's
/// fields, the summed usage, and whether every subscription is a trial.
type Group = (Map<String, Value>, Usage, bool);

/// Per direct customer, its whole subtree's usage per product and edition;
/// `subscriptionId` is the customer's own subscription to it, or null.
fn consumption_direct(
    ctx: &Ctx,
    id: Uuid,
    query: &ConsumptionQuery,
    params: &Params,
) -> Result<Response, Problem> {
    let request = paging::page_request(params)?;
    let items = ctx
        .data
        .children(id)
        .into_iter()
        .map(|customer| {
            let mut subtree = vec![customer];
            subtree.extend(ctx.data.descendants(customer.id));
            let mut groups: BTreeMap<(u32, u32), Group> = BTreeMap::new();
            for company in subtree {
                for (subscription, usage) in query.counted(ctx.data, company.id) {
                    let key = (subscription.product_id, subscription.edition_id);
                    let entry = groups.entry(key).or_insert_with(|| {
                        let mut first = with_product(subscription, Usage::default());
                        first.insert("subscriptionId".into(), Value::Null);
                        (first, Usage::default(), true)
                    });
                    entry.1.add(usage);
                    entry.2 &= subscription.plan == Plan::Trial;
                    if company.id == customer.id {
                        entry
                            .0
                            .insert("subscriptionId".into(), json!(subscription.id));
                    }
                }
            }
            let products: Vec<Value> = groups
                .into_values()
                .map(|(mut map, usage, trial)| {
                    map.extend(usage.json());
                    map.insert("isTrial".into(), json!(trial));
                    Value::Object(map)
                })
                .collect();
            json!({
                "companyId": customer.id,
                "companyName": customer.name,
                "productConsumption": products,
            })
        })
        .collect();
    Ok(paging::page(request, items))
}

fn consumption_transitive(
    ctx: &Ctx,
    id: Uuid,
    query: &ConsumptionQuery,
    params: &Params,
) -> Result<Response, Problem> {
    let request = paging::page_request(params)?;
    let mut items = Vec::new();
    for company in ctx.data.descendants(id) {
        for (subscription, usage) in query.counted(ctx.data, company.id) {
            let mut map = with_product(subscription, usage);
            map.insert("companyId".into(), json!(company.id));
            map.insert("companyName".into(), json!(company.name));
            map.insert("parentCompanyId".into(), json!(company.parent));
            items.push(Value::Object(map));
        }
    }
    Ok(paging::page(request, items))
}

// ----------------------------------------------------------------- operations

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Backup,
    Restore,
}

/// One account's last job of the day.
struct Job {
    account_id: Uuid,
    account_name: String,
    status: u8,
    product_id: u32,
    /// `BackupSetGuid`, or `groupId` for Google Workspace.
    set: (&'static str, Uuid),
    timestamp: OffsetDateTime,
}

/// Counts per status: success, warnings, errors, failed.
#[derive(Clone, Copy, Default)]
struct Counts([u64; 4]);

fn stamp(t: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

fn account_name(product_id: u32, edition_id: u32, index: u64, domain: &str) -> String {
    let n = index + 1;
    match (product_id, edition_id) {
        (4 | 91, _) => format!("user{n}@{domain}"),
        (105, _) => format!("org{n}@{domain}"),
        (130, 1302) => format!("ws-{n:03}.{domain}"),
        (130, _) => format!("srv-{n:02}.{domain}"),
        _ => format!("archive-{n}@{domain}"),
    }
}

/// The jobs of a subscription on the day of `now`.
fn jobs(subscription: &Subscription, company: &Company, now: OffsetDateTime, op: Op) -> Vec<Job> {
    let first_backup = subscription.created_at + FIRST_BACKUP_AFTER;
    if !subscription.in_use_at(now) || now < first_backup {
        return Vec::new();
    }
    let [high, low] = halves(subscription.id);
    let today = day(now);
    let workloads = Usage::of(subscription, now).workloads;
    let op_tag = match op {
        Op::Backup => 20,
        Op::Restore => 21,
    };
    let daily = mix(&[high, low, op_tag, today]);
    let count = match op {
        Op::Backup => workloads,
        Op::Restore => 1 + daily % (workloads / 5 + 1),
    };
    // A bad day: more warnings, errors and failures.
    let bad_day = daily.is_multiple_of(4);
    let thresholds: [u64; 3] = match (op, bad_day) {
        (Op::Backup, false) => [92, 99, 100],
        (Op::Backup, true) => [70, 82, 93],
        (Op::Restore, false) => [95, 100, 100],
        (Op::Restore, true) => [75, 85, 95],
    };
    let set = if subscription.product_id == 91 {
        (
            "groupId",
            derived_uuid(mix(&[high, low, 4]), mix(&[high, low, 5])),
        )
    } else {
        (
            "BackupSetGuid",
            derived_uuid(mix(&[high, low, 6]), mix(&[high, low, 7])),
        )
    };
    // Spread over the whole day, not up to `now`: a job's time must not
    // move between two reads of the same day.
    let day_start = now.replace_time(time::Time::MIDNIGHT);
    let earliest = first_backup.max(day_start);
    let day_end = day_start + time::Duration::DAY;
    let span = (day_end - earliest).whole_seconds().max(1) as u64 - 1;
    let domain = format!("{}.example", slug(&company.name));
    (0..count)
        .map(|index| {
            let roll = mix(&[high, low, op_tag, today, index]);
            let status = match roll % 100 {
                r if r < thresholds[0] => 1,
                r if r < thresholds[1] => 2,
                r if r < thresholds[2] => 3,
                _ => 4,
            };
            Job {
                account_id: derived_uuid(
                    mix(&[high, low, 30, index]),
                    mix(&[high, low, 31, index]),
                ),
                account_name: account_name(
                    subscription.product_id,
                    subscription.edition_id,
                    index,
                    &domain,
                ),
                status,
                product_id: subscription.product_id,
                set,
                timestamp: earliest + time::Duration::seconds(((roll >> 8) % (span + 1)) as i64),
            }
        })
        .collect()
}

struct OpQuery {
    op: Op,
    product: Option<i64>,
}

impl OpQuery {
    fn jobs(&self, data: &RedstorData, company: &Company, now: OffsetDateTime) -> Vec<Job> {
        data.subscriptions_of(company.id)
            .into_iter()
            .filter(|s| self.product.is_none_or(|p| p == i64::from(s.product_id)))
            .flat_map(|s| jobs(s, company, now, self.op))
            .collect()
    }

    fn counts(
        &self,
        data: &RedstorData,
        companies: &[&Company],
        now: OffsetDateTime,
    ) -> BTreeMap<u32, Counts> {
        let mut counts: BTreeMap<u32, Counts> = BTreeMap::new();
        for company in companies {
            for job in self.jobs(data, company, now) {
                counts.entry(job.product_id).or_default().0[usize::from(job.status - 1)] += 1;
            }
        }
        counts
    }
}

fn statuses_json(counts: &BTreeMap<u32, Counts>) -> Value {
    let statuses: Vec<Value> = counts
        .iter()
        .map(
            |(product_id, Counts([success, warnings, errors, failed]))| {
                json!({
                    "success": success,
                    "errors": errors,
                    "warnings": warnings,
                    "failed": failed,
                    "productName": catalog::product(*product_id).map(|p| p.short_name),
                    "productId": product_id,
                })
            },
        )
        .collect();
    Value::Array(statuses)
}

fn company_statuses(company: &Company, counts: &BTreeMap<u32, Counts>) -> Value {
    json!({
        "companyId": company.id,
        "companyName": company.name,
        "statuses": statuses_json(counts),
    })
}

type OpView = fn(&Ctx, &Company, &OpQuery, &Params) -> Result<Response, Problem>;

fn operations(
    State(shared): State<Arc<Shared>>,
    Path(company_id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Params>,
    op: Op,
    view: OpView,
) -> Response {
    handle(&shared, &headers, Access::Read, |ctx| {
        let company = ctx.company(&company_id)?;
        let parsed = OpQuery {
            op,
            product: paging::integer(&query, "productId")?,
        };
        view(ctx, company, &parsed, &query)
    })
}

fn status_company(
    ctx: &Ctx,
    company: &Company,
    query: &OpQuery,
    _: &Params,
) -> Result<Response, Problem> {
    let counts = query.counts(ctx.data, &[company], ctx.now);
    if counts.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    ok(company_statuses(company, &counts))
}

fn status_customers(
    ctx: &Ctx,
    company: &Company,
    query: &OpQuery,
    params: &Params,
) -> Result<Response, Problem> {
    let request = paging::page_request(params)?;
    let aggregate = paging::flag(params, "aggregate", false)?;
    let items = ctx
        .data
        .children(company.id)
        .into_iter()
        .map(|customer| {
            let mut companies = vec![customer];
            if aggregate {
                companies.extend(ctx.data.descendants(customer.id));
            }
            company_statuses(customer, &query.counts(ctx.data, &companies, ctx.now))
        })
        .collect();
    Ok(paging::page(request, items))
}

fn status_accounts(
    ctx: &Ctx,
    company: &Company,
    query: &OpQuery,
    params: &Params,
) -> Result<Response, Problem> {
    let request = paging::page_request(params)?;
    let items = query
        .jobs(ctx.data, company, ctx.now)
        .into_iter()
        .map(|job| {
            let mut map = Map::new();
            let upper = |id: Uuid| id.hyphenated().to_string().to_uppercase();
            map.insert("accountId".into(), json!(upper(job.account_id)));
            map.insert("accountName".into(), json!(job.account_name));
            map.insert("status".into(), json!(job.status));
            map.insert("productId".into(), json!(job.product_id));
            map.insert("companyId".into(), json!(company.id));
            map.insert(job.set.0.into(), json!(upper(job.set.1)));
            map.insert("timestamp".into(), json!(stamp(job.timestamp)));
            Value::Object(map)
        })
        .collect();
    Ok(paging::page(request, items))
}

fn status_summary(
    ctx: &Ctx,
    company: &Company,
    query: &OpQuery,
    _: &Params,
) -> Result<Response, Problem> {
    let own = query.counts(ctx.data, &[company], ctx.now);
    let below = query.counts(ctx.data, &ctx.data.descendants(company.id), ctx.now);
    if own.is_empty() && below.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    ok(json!({
        "companySummary": company_statuses(company, &own),
        "customerSummary": statuses_json(&below),
    }))
}
