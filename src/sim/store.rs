//! The simulator's data: the simulated clock, Keystone tokens, and one
//! section per API (`redstor` for RedAPI). It is one serde document, kept
//! in memory and, with `--data`, in a JSON file rewritten atomically after
//! every change.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Everything the simulator knows.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Store {
    /// Milliseconds added to the real clock.
    #[serde(default)]
    pub clock_offset_ms: i64,
    #[serde(default)]
    pub tokens: BTreeMap<String, Token>,
    /// Arcserve UDP data per tenant id (32 hex digits).
    #[serde(default)]
    pub arcserve: BTreeMap<String, ArcserveTenant>,
    /// Proposals per tenant id (32 hex digits), in submission order.
    #[serde(default)]
    pub(crate) proposals: BTreeMap<String, Vec<StoredProposal>>,
    /// Redstor RedAPI companies, subscriptions and tokens.
    #[serde(default)]
    pub(crate) redstor: super::redstor::RedstorData,
}

/// A proposal's document, as submitted.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum StoredDocument {
    Hulft(super::proposal_xml::HulftProposal),
    Generic(super::proposal_xml::GenericProposal),
}

/// A proposal as the simulator keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredProposal {
    pub order_id: String,
    pub service_id: u32,
    pub document: StoredDocument,
    #[serde(with = "time::serde::rfc3339")]
    pub proposal_date: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub update_date: OffsetDateTime,
}

impl Store {
    /// The simulated now (the real one if the offset would overflow).
    pub fn now(&self) -> OffsetDateTime {
        let real = OffsetDateTime::now_utc();
        real.checked_add(time::Duration::milliseconds(self.clock_offset_ms))
            .unwrap_or(real)
    }

    /// Reads a data file; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<Store, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|err| format!("{} is not a simulator data file: {err}", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Store::default()),
            Err(err) => Err(format!("could not read {}: {err}", path.display())),
        }
    }

    /// Writes a data file atomically (temp file, rename).
    pub fn save(bytes: &[u8], path: &Path) -> std::io::Result<()> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut temp, bytes)?;
        temp.as_file().sync_all()?;
        temp.persist(path).map_err(|err| err.error)?;
        Ok(())
    }
}

/// A Keystone token and the tenant it is scoped to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Token {
    pub tenant: String,
    pub user: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// One tenant's Arcserve UDP licenses and orders.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ArcserveTenant {
    /// In creation order.
    pub licenses: Vec<License>,
    pub orders: Vec<Order>,
}

/// A license as the simulator keeps it (its wire form is in `arcserve.rs`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct License {
    pub id: Uuid,
    pub name: String,
    pub plan_id: String,
    pub number_of_standalone_keys: u64,
    pub order_id: Uuid,
    /// The current version (not on the wire; the keys carry it).
    pub version: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When provisioning is over.
    #[serde(with = "time::serde::rfc3339")]
    pub ready_at: OffsetDateTime,
    /// The last version upgrade.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub upgraded_at: Option<OffsetDateTime>,
    /// Set by a delete: when the license is gone.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub gone_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    /// The delete was scheduled (`deleted_at` is the day it takes effect):
    /// the license stays `Active` until `gone_at`.
    #[serde(default)]
    pub scheduled: bool,
    pub keys: Vec<Key>,
}

/// Where a license is in its life at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Provisioning,
    Active,
    Deleting,
    Gone,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Provisioning => "Provisioning",
            Phase::Active => "Active",
            Phase::Deleting => "Deleting",
            Phase::Gone => "Gone",
        }
    }
}

impl License {
    pub fn phase(&self, now: OffsetDateTime) -> Phase {
        match self.gone_at {
            Some(gone) if gone <= now => Phase::Gone,
            Some(_) if self.scheduled => Phase::Active,
            Some(_) => Phase::Deleting,
            None if self.ready_at > now => Phase::Provisioning,
            None => Phase::Active,
        }
    }
}

/// A license key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Key {
    pub id: Uuid,
    pub key_type_id: String,
    pub name: String,
    pub version: String,
    pub value: String,
    pub is_additional_component: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub activated_at: OffsetDateTime,
}

/// An order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Order {
    pub id: Uuid,
    pub order_type: String,
    pub email_address: Option<String>,
    pub company_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub license_ids: Vec<Uuid>,
}
