//! RedAPI reads for reports (API.md section 4): consumption (seats,
//! workloads, bytes protected) and backup / restore statuses, with the
//! vendor's camelCase JSON spelt here. Read-only; `crate::report::usage`
//! turns what these return into a report.
//!
//! Every number defaults to 0 and every name is optional: a report shows
//! what came back rather than failing on a field the vendor left out.
//! An empty result may be `204 No Content`: an empty list, or `None` for a
//! single object. The simulator adds `companyId` and `companyName` to the
//! results of the per-customer lists; they are read when present.

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::error::ApiError;
use super::http::Request;
use super::redstor::RedstorClient;

/// Usage counters, as every consumption answer spells them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consumption {
    #[serde(default)]
    pub total_data_protected_in_bytes: u64,
    #[serde(default)]
    pub total_data_protected_in_bytes_external: u64,
    #[serde(default)]
    pub fup_overage_in_bytes: u64,
    #[serde(default)]
    pub active_seats: u64,
    #[serde(default)]
    pub inactive_seats: u64,
    #[serde(default)]
    pub shared_seats: u64,
    #[serde(default)]
    pub active_workloads: u64,
}

/// `GET …/consumption/summary`: the company's own usage and the sum over
/// every customer below it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumptionSummary {
    #[serde(default)]
    pub company_summary: Consumption,
    #[serde(default)]
    pub customer_summary: Consumption,
}

/// Usage of one product (`ConsumptionWithProduct`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductConsumption {
    #[serde(flatten)]
    pub usage: Consumption,
    pub product_id: u32,
    #[serde(default)]
    pub product_name: Option<String>,
    /// The document shows a plain string; not necessarily a UUID.
    #[serde(default)]
    pub subscription_id: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub is_trial: bool,
}

/// One direct customer's usage per product
/// (`CompanyProductConsumptionPagedResult`'s results).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyConsumption {
    pub company_id: Uuid,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub product_consumption: Vec<ProductConsumption>,
}

/// One product of one customer at any depth
/// (`TransitiveConsumptionPagedResult`'s results).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitiveConsumption {
    #[serde(flatten)]
    pub product: ProductConsumption,
    pub company_id: Uuid,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub parent_company_id: Option<Uuid>,
}

/// The options of every consumption read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsumptionQuery {
    /// Usage as it was at this time; now when absent.
    pub date: Option<OffsetDateTime>,
    /// Leave trial subscriptions out.
    pub exclude_trials: bool,
}

impl ConsumptionQuery {
    fn params(&self) -> Result<Vec<(&'static str, String)>, ApiError> {
        let mut params = Vec::new();
        if let Some(date) = self.date {
            let text = date.format(&Rfc3339).map_err(|err| ApiError::Config {
                message: format!("the date cannot be written as RFC 3339: {err}"),
                hint: "give a date between the years 0000 and 9999".into(),
            })?;
            params.push(("date", text));
        }
        if self.exclude_trials {
            params.push(("shouldExcludeTrials", "true".to_string()));
        }
        Ok(params)
    }
}

/// Backups or restores: the two families of status endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    Backups,
    Restores,
}

impl Operation {
    /// The path segment: `backups` or `restores`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Backups => "backups",
            Operation::Restores => "restores",
        }
    }
}

/// Job outcomes of one product (`OperationStatus`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStatus {
    pub product_id: u32,
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub success: u64,
    #[serde(default)]
    pub warnings: u64,
    #[serde(default)]
    pub errors: u64,
    #[serde(default)]
    pub failed: u64,
}

/// A company's job outcomes per product (`CompanyOperationStatusByProduct`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompanyStatuses {
    pub company_id: Uuid,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub statuses: Vec<OperationStatus>,
}

/// `GET …/status/summary` (`OperationStatusSummaryByProduct`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusSummary {
    #[serde(default)]
    pub company_summary: Option<CompanyStatuses>,
    #[serde(default)]
    pub customer_summary: Vec<OperationStatus>,
}

/// One account's last job (`OperationStatusByAccount`). `status` is the
/// vendor's number (the simulator: 1 success, 2 warning, 3 error, 4 failed).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountStatus {
    pub account_id: Uuid,
    #[serde(default)]
    pub account_name: Option<String>,
    pub status: i64,
    pub product_id: u32,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub company_name: Option<String>,
    /// The one field RedAPI spells in PascalCase.
    #[serde(default, rename = "BackupSetGuid")]
    pub backup_set_guid: Option<Uuid>,
    /// Google Workspace accounts carry a group instead of a backup set.
    #[serde(default)]
    pub group_id: Option<Uuid>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

impl RedstorClient {
    /// GET one object; `None` on 204 or an empty body.
    async fn get_maybe<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        params: &[(&'static str, String)],
    ) -> Result<Option<T>, ApiError> {
        let mut request = Request::new(Method::GET, self.url(segments)?);
        for (name, value) in params {
            request = request.query(name, value);
        }
        let response = self.send(request).await?;
        if response.status == StatusCode::NO_CONTENT || response.body.is_empty() {
            return Ok(None);
        }
        response.json().map(Some)
    }

    /// The company's own usage and its customers' total; zeros on 204.
    pub async fn consumption_summary(
        &self,
        company: Uuid,
        query: &ConsumptionQuery,
    ) -> Result<ConsumptionSummary, ApiError> {
        let id = company.to_string();
        Ok(self
            .get_maybe(
                &["companies", &id, "consumption", "summary"],
                &query.params()?,
            )
            .await?
            .unwrap_or_default())
    }

    /// The company's own usage per product.
    pub async fn consumption_company(
        &self,
        company: Uuid,
        query: &ConsumptionQuery,
    ) -> Result<Vec<ProductConsumption>, ApiError> {
        let id = company.to_string();
        let mut request = Request::new(
            Method::GET,
            self.url(&["companies", &id, "consumption", "company"])?,
        );
        for (name, value) in query.params()? {
            request = request.query(name, value);
        }
        self.get_array(request, "consumption record").await
    }

    /// Per direct customer, the usage of its whole subtree per product.
    pub async fn consumption_customers_direct(
        &self,
        company: Uuid,
        query: &ConsumptionQuery,
    ) -> Result<Vec<CompanyConsumption>, ApiError> {
        let id = company.to_string();
        self.list_all(
            &["companies", &id, "consumption", "customers", "direct"],
            &query.params()?,
            "consumption record",
        )
        .await
    }

    /// Every customer's own usage per product, at any depth, flat.
    pub async fn consumption_customers_transitive(
        &self,
        company: Uuid,
        query: &ConsumptionQuery,
    ) -> Result<Vec<TransitiveConsumption>, ApiError> {
        let id = company.to_string();
        self.list_all(
            &["companies", &id, "consumption", "customers", "transitive"],
            &query.params()?,
            "consumption record",
        )
        .await
    }

    /// The company's own job outcomes per product; `None` on 204 (no job).
    pub async fn operation_status(
        &self,
        operation: Operation,
        company: Uuid,
        product: Option<u32>,
    ) -> Result<Option<CompanyStatuses>, ApiError> {
        let id = company.to_string();
        self.get_maybe(
            &["companies", &id, operation.as_str(), "status"],
            &product_param(product),
        )
        .await
    }

    /// Per direct customer, its job outcomes; with `aggregate`, each
    /// customer's count includes every company below it.
    pub async fn operation_status_customers(
        &self,
        operation: Operation,
        company: Uuid,
        product: Option<u32>,
        aggregate: bool,
    ) -> Result<Vec<CompanyStatuses>, ApiError> {
        let id = company.to_string();
        let mut params = product_param(product);
        if aggregate {
            params.push(("aggregate", "true".to_string()));
        }
        self.list_all(
            &["companies", &id, operation.as_str(), "status", "customers"],
            &params,
            "job status",
        )
        .await
    }

    /// The last job of each account of the company.
    pub async fn operation_status_accounts(
        &self,
        operation: Operation,
        company: Uuid,
        product: Option<u32>,
    ) -> Result<Vec<AccountStatus>, ApiError> {
        let id = company.to_string();
        self.list_all(
            &["companies", &id, operation.as_str(), "status", "accounts"],
            &product_param(product),
            "job status",
        )
        .await
    }

    /// The company's outcomes and its customers' sum, per product; `None`
    /// on 204.
    pub async fn operation_status_summary(
        &self,
        operation: Operation,
        company: Uuid,
        product: Option<u32>,
    ) -> Result<Option<StatusSummary>, ApiError> {
        let id = company.to_string();
        self.get_maybe(
            &["companies", &id, operation.as_str(), "status", "summary"],
            &product_param(product),
        )
        .await
    }
}

fn product_param(product: Option<u32>) -> Vec<(&'static str, String)> {
    product
        .map(|p| vec![("productId", p.to_string())])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitive_consumption_reads_the_documented_example() {
        let item: TransitiveConsumption = serde_json::from_str(
            r#"{"totalDataProtectedInBytes": 5, "totalDataProtectedInBytesExternal": 0,
                "fupOverageInBytes": 0, "activeSeats": 25, "inactiveSeats": 3,
                "sharedSeats": 2, "activeWorkloads": 50, "productId": 1,
                "productName": "productName", "subscriptionId": "subscriptionId",
                "sku": "sku", "isTrial": true,
                "companyId": "046B6C7F-0B8A-43B9-B35D-6489E6DAEE91",
                "companyName": "string", "parentCompanyId": null, "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(item.product.usage.active_seats, 25);
        assert_eq!(item.product.usage.total_data_protected_in_bytes, 5);
        assert!(item.product.is_trial);
        assert_eq!(
            item.company_id,
            "046b6c7f-0b8a-43b9-b35d-6489e6daee91"
                .parse::<Uuid>()
                .unwrap()
        );
    }

    #[test]
    fn account_status_reads_upper_case_ids_and_the_pascal_case_field() {
        let item: AccountStatus = serde_json::from_str(
            r#"{"accountId": "5A82A6FE-95F2-481A-8D86-F0207BC42B0B",
                "accountName": "alice@gmail.com", "status": 2, "productId": 105,
                "companyId": "a36bad3c-e76f-4e40-b878-c17b7cd1c8dc",
                "BackupSetGuid": "608CD098-BA3A-469D-923D-1A7E9F32634C",
                "timestamp": "2023-08-05T02:40:28+00:00"}"#,
        )
        .unwrap();
        assert_eq!(item.status, 2);
        assert!(item.backup_set_guid.is_some());
        assert!(item.group_id.is_none());
    }

    #[test]
    fn consumption_query_writes_rfc3339_and_only_a_true_flag() {
        let query = ConsumptionQuery {
            date: Some(time::macros::datetime!(2026-01-31 12:00 UTC)),
            exclude_trials: false,
        };
        assert_eq!(
            query.params().unwrap(),
            vec![("date", "2026-01-31T12:00:00Z".to_string())]
        );
        let trials = ConsumptionQuery {
            date: None,
            exclude_trials: true,
        };
        assert_eq!(
            trials.params().unwrap(),
            vec![("shouldExcludeTrials", "true".to_string())]
        );
    }
}
