//! What the usage reports read through the RedAPI client: which company a
//! report is about (`--company`), and the reads each report is built from.
//! The building and rendering are pure, in [`super::usage`]. The company
//! names an error quotes are the server's, shown through [`crate::escape`].

use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::usage::{self, CompanyRef, ConsumptionReport, StatusReport};
use crate::Error;
use crate::api::redstor::{Company, RedstorClient};
use crate::api::redstor_reports::{ConsumptionQuery, Operation};
use crate::escape::text as shown;
use crate::resources::redstor::{COMPANY_KIND, company_address};
use crate::state::State;

/// The company a report is about. `None`: the account's root company.
/// A name is looked up, in order: a `RedstorCompany/<name>` record of the
/// state (its remote id); a company of the account whose `companyName` is
/// the name, case ignored; otherwise an error listing close names.
pub async fn resolve_company(
    client: &RedstorClient,
    state: Option<&State>,
    name: Option<&str>,
) -> Result<CompanyRef, Error> {
    let Some(name) = name else {
        return Ok(company_ref(client.root_company().await?));
    };
    let address = company_address(name);
    if let Some(remote_id) = state
        .and_then(|s| s.get(&address))
        .and_then(|r| r.remote_id.as_deref())
    {
        let id: Uuid = remote_id.parse().map_err(|_| {
            Error::usage(
                format!("the state records {address} with the id `{remote_id}`, which is not a UUID"),
                "the state file may have been edited by hand; `entitle state show` shows the record",
            )
        })?;
        return match client.company(id).await? {
            Some(company) => Ok(company_ref(company)),
            None => Err(Error::usage(
                format!(
                    "{address} is company {id} in the state, and the account has no such company"
                ),
                "it may have been deleted outside entitle: `entitle plan` shows what would recreate it",
            )),
        };
    }
    let wanted = name.trim().to_lowercase();
    let root = client.root_company().await?;
    let mut matches: Vec<Company> = client
        .search(name.trim())
        .await?
        .into_iter()
        .filter(|c| c.company_name.to_lowercase() == wanted)
        .collect();
    if root.company_name.to_lowercase() == wanted {
        matches.push(root.clone());
    }
    matches.sort_by_key(|c| c.company_id);
    matches.dedup_by_key(|c| c.company_id);
    match matches.len() {
        1 => return Ok(company_ref(matches.remove(0))),
        0 => {}
        _ => {
            let ids: Vec<String> = matches
                .iter()
                .map(|c| format!("{} ({})", c.company_id, shown(&c.company_name)))
                .collect();
            return Err(Error::usage(
                format!(
                    "{} companies of the account are named `{name}`: {}",
                    matches.len(),
                    ids.join(", ")
                ),
                format!("manage the one you mean as a {COMPANY_KIND} and pass its manifest name"),
            ));
        }
    }
    let mut names: Vec<String> = client
        .customers_transitive(root.company_id)
        .await?
        .into_iter()
        .map(|c| c.company_name)
        .collect();
    names.push(root.company_name);
    if let Some(state) = state {
        names.extend(
            state
                .of_kind(COMPANY_KIND)
                .map(|(address, _)| address.name.clone()),
        );
    }
    let close = usage::close_names(name, &names, 5);
    let hint = if close.is_empty() {
        format!(
            "--company takes a {COMPANY_KIND} name of the state or a company name of the account; \
             without it the report is about the account's root company"
        )
    } else {
        let quoted: Vec<String> = close.iter().map(|n| format!("`{}`", shown(n))).collect();
        format!("did you mean {}?", quoted.join(", "))
    };
    Err(Error::usage(
        format!(
            "no company named `{name}`: neither {address} in the state nor a company of the account"
        ),
        hint,
    ))
}

fn company_ref(company: Company) -> CompanyRef {
    CompanyRef {
        id: company.company_id,
        name: company.company_name,
    }
}

/// Reads and builds the consumption report of `company` and every customer
/// below it.
pub async fn consumption(
    client: &RedstorClient,
    company: CompanyRef,
    query: ConsumptionQuery,
) -> Result<ConsumptionReport, Error> {
    let (own, customers) = tokio::try_join!(
        client.consumption_company(company.id, &query),
        client.consumption_customers_transitive(company.id, &query),
    )?;
    let date = query.date.and_then(|d| d.format(&Rfc3339).ok());
    Ok(usage::consumption(
        company,
        date,
        query.exclude_trials,
        &own,
        &customers,
    ))
}

/// Reads and builds the backup or restore report of `company` and its
/// direct customers, each customer's counts aggregated over its subtree.
pub async fn statuses(
    client: &RedstorClient,
    operation: Operation,
    company: CompanyRef,
    product: Option<u32>,
) -> Result<StatusReport, Error> {
    let (own, customers) = tokio::try_join!(
        client.operation_status(operation, company.id, product),
        client.operation_status_customers(operation, company.id, product, true),
    )?;
    Ok(usage::statuses(
        operation,
        company,
        product,
        own.as_ref(),
        &customers,
    ))
}
