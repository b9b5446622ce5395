//! The RedAPI product catalog (`GET /products`, `GET /products/{productId}`):
//! five products and their editions, fixed.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::super::Shared;
use super::auth::Access;
use super::problem::not_found;

pub struct Edition {
    pub id: u32,
    pub name: &'static str,
    pub has_trial: bool,
    /// The edition's part of a SKU (`RS-O365-STD`).
    pub sku: &'static str,
}

pub struct Product {
    pub id: u32,
    pub name: &'static str,
    pub short_name: &'static str,
    pub description: &'static str,
    pub editions: &'static [Edition],
}

const fn edition(id: u32, name: &'static str, has_trial: bool, sku: &'static str) -> Edition {
    Edition {
        id,
        name,
        has_trial,
        sku,
    }
}

pub const PRODUCTS: &[Product] = &[
    Product {
        id: 4,
        name: "Redstor Backup for Microsoft 365",
        short_name: "O365",
        description: "Backup and recovery for Exchange Online, OneDrive, SharePoint and Teams.",
        editions: &[
            edition(41, "Standard", true, "STD"),
            edition(42, "Advanced", true, "ADV"),
        ],
    },
    Product {
        id: 91,
        name: "Redstor Backup for Google Workspace",
        short_name: "GWS",
        description: "Backup and recovery for Gmail, Drive, Calendar and Contacts.",
        editions: &[edition(911, "Standard", true, "STD")],
    },
    Product {
        id: 105,
        name: "Redstor Backup for Salesforce",
        short_name: "Salesforce",
        description: "Backup and recovery for Salesforce data and metadata.",
        editions: &[edition(1051, "Standard", false, "STD")],
    },
    Product {
        id: 130,
        name: "Redstor Backup for Servers and Workstations",
        short_name: "Machines",
        description: "Backup and recovery for physical and virtual servers and workstations.",
        editions: &[
            edition(1301, "Server", false, "SRV"),
            edition(1302, "Workstation", true, "WKS"),
        ],
    },
    Product {
        id: 140,
        name: "Redstor Archive",
        short_name: "Archive",
        description: "Long-term archiving of cold data.",
        editions: &[edition(1401, "Standard", false, "STD")],
    },
];

pub fn product(id: u32) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.id == id)
}

impl Product {
    pub fn edition(&self, id: u32) -> Option<&'static Edition> {
        self.editions.iter().find(|e| e.id == id)
    }
}

/// `RS-<shortName>-<edition>`, upper case.
pub fn sku(product_id: u32, edition_id: u32) -> String {
    let Some(product) = product(product_id) else {
        return String::new();
    };
    let edition = product.edition(edition_id).map(|e| e.sku).unwrap_or("STD");
    format!("RS-{}-{edition}", product.short_name.to_ascii_uppercase())
}

fn product_json(product: &Product) -> Value {
    let editions: Vec<Value> = product
        .editions
        .iter()
        .map(|e| json!({ "id": e.id, "name": e.name, "hasTrial": e.has_trial }))
        .collect();
    json!({
        "id": product.id,
        "name": product.name,
        "shortName": product.short_name,
        "description": product.description,
        "children": [],
        "editions": editions,
    })
}

pub async fn list(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    super::handle(&shared, &headers, Access::Read, |_| {
        let products: Vec<Value> = PRODUCTS.iter().map(product_json).collect();
        Ok((StatusCode::OK, Json(Value::Array(products))).into_response())
    })
}

pub async fn show(
    State(shared): State<Arc<Shared>>,
    Path(product_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    super::handle(&shared, &headers, Access::Read, |_| {
        let found = product_id.parse::<u32>().ok().and_then(product);
        match found {
            Some(product) => Ok((StatusCode::OK, Json(product_json(product))).into_response()),
            None => Err(not_found(format!("product {product_id} not found"))),
        }
    })
}
