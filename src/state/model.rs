//! The state value: which remote object each address is bound to, and what
//! was last applied to it.
//!
//! The format is versioned (`format_version`): a file of a newer version is
//! refused with a clear message, never half-read. `lineage` is fixed when a
//! state is first created, and `serial` grows by one with every write, so a
//! saved plan can tell whether the state moved since it was made.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::manifest::{Address, Kind};

/// The format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The whole state file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a state: an object of format_version, lineage, serial and resources"
)]
pub struct State {
    pub format_version: u32,
    /// Fixed at creation; a state of another lineage is never overwritten.
    pub lineage: Uuid,
    /// +1 on every write.
    pub serial: u64,
    /// Per address (written `Kind/name`), sorted by kind, then name.
    pub resources: BTreeMap<Address, ResourceState>,
    /// Every `--override-policy` an apply used, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_overrides: Vec<crate::policy::PolicyOverride>,
    /// Objects an apply stopped managing under `deletionPolicy: Orphan`,
    /// kept at their vendor on purpose: drift names them as such.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphaned: Vec<Orphaned>,
}

impl State {
    /// An empty state of a new lineage.
    pub fn new() -> Self {
        State {
            format_version: FORMAT_VERSION,
            lineage: Uuid::new_v4(),
            serial: 0,
            resources: BTreeMap::new(),
            policy_overrides: Vec::new(),
            orphaned: Vec::new(),
        }
    }

    pub fn get(&self, address: &Address) -> Option<&ResourceState> {
        self.resources.get(address)
    }

    /// Whether a record is of a kind `wanted` picks.
    pub fn records_any(&self, wanted: impl Fn(Kind) -> bool) -> bool {
        self.resources.keys().any(|address| wanted(address.kind))
    }

    /// The records of one kind, in address order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = (&Address, &ResourceState)> {
        self.resources
            .range(Address::new(kind, "")..)
            .take_while(move |(address, _)| address.kind == kind)
    }

    /// Keeps `address`'s record as orphaned (its object stays at the
    /// vendor), replacing an older entry of the same object.
    pub fn orphan(&mut self, entry: Orphaned) {
        self.orphaned
            .retain(|old| !old.is_object(entry.address.kind, &entry.remote_id));
        self.orphaned.push(entry);
    }

    /// The orphaned entry of the object `remote_id` of `kind`.
    pub fn orphaned_entry(&self, kind: Kind, remote_id: &str) -> Option<&Orphaned> {
        self.orphaned
            .iter()
            .find(|entry| entry.is_object(kind, remote_id))
    }

    /// Whether an orphaned entry's object is managed again (re-imported or
    /// re-declared): [`State::settle_orphaned`] would drop it.
    pub fn has_managed_orphans(&self) -> bool {
        self.orphaned.iter().any(|entry| self.manages(entry))
    }

    /// Drops the orphaned entries whose object a record holds again, as a
    /// whole write does.
    pub fn settle_orphaned(&mut self) {
        let orphaned = std::mem::take(&mut self.orphaned);
        self.orphaned = orphaned
            .into_iter()
            .filter(|entry| !self.manages(entry))
            .collect();
    }

    fn manages(&self, entry: &Orphaned) -> bool {
        self.of_kind(entry.address.kind)
            .any(|(_, record)| record.remote_id.as_deref() == Some(entry.remote_id.as_str()))
    }
}

/// An object an apply forgot because its manifest was gone and its
/// `deletionPolicy` was `Orphan`: what recognises it at the vendor, and
/// who let it go when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Orphaned {
    /// The manifest kind (also the first part of `address`).
    pub kind: String,
    /// The address it had.
    pub address: Address,
    pub remote_id: String,
    /// Where it is at its vendor (tenant id, Redstor company id).
    #[serde(default)]
    pub scope: Scope,
    /// Its natural key (a license's name).
    pub name: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// `user@host`.
    pub by: String,
}

impl Orphaned {
    /// The entry of `address`'s `record`, forgotten now by this user;
    /// `None` for a record without a remote id (nothing to keep).
    pub fn of(address: &Address, record: &ResourceState) -> Option<Orphaned> {
        Some(Orphaned {
            kind: address.kind.to_string(),
            address: address.clone(),
            remote_id: record.remote_id.clone()?,
            scope: record.scope.clone(),
            name: record.natural_key.clone(),
            at: crate::state::lock::now_rfc3339(),
            by: crate::state::lock::identity(),
        })
    }

    /// Whether it is the object `remote_id` of `kind`.
    pub fn is_object(&self, kind: Kind, remote_id: &str) -> bool {
        self.address.kind == kind && self.remote_id == remote_id
    }
}

impl ResourceState {
    /// Whether it records the object `remote_id` as ready: anything else
    /// (no id yet, another id, a create or delete in flight) is a record a
    /// previous run left unfinished.
    pub fn is_ready_as(&self, remote_id: &str) -> bool {
        self.remote_id.as_deref() == Some(remote_id) && self.status == Status::Ready
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

/// What the state knows of one managed object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a record: an object of remote_id, scope, natural_key, attributes, dependencies, status and lifecycle"
)]
pub struct ResourceState {
    /// The server's id; absent while a create is in flight and unanswered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// Where the object lives (tenant, company), to read it back.
    pub scope: Scope,
    /// The key the object can be found by without its id (a license's name).
    pub natural_key: String,
    /// The attributes last applied, in the resource's own shape.
    pub attributes: serde_json::Value,
    /// Addresses this one depended on when it was applied, for ordering a
    /// delete after the manifest is gone.
    #[serde(default)]
    pub dependencies: Vec<Address>,
    pub status: Status,
    /// The lifecycle rules in force when last applied, so that a resource
    /// removed from the manifests is still deleted, kept or forgotten as its
    /// manifest said.
    #[serde(default)]
    pub lifecycle: RecordedLifecycle,
}

/// Where an object lives at its vendor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// ECL tenant id (32 hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// ECL region (`jp1`..`jp9`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The API host the object was made through, when not the regional one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Redstor company id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
}

impl Scope {
    /// The Redstor company id, when it is one.
    pub fn company(&self) -> Option<uuid::Uuid> {
        self.company_id.as_deref().and_then(|id| id.parse().ok())
    }
}

/// Where an object is in its life, as far as this tool knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A create was about to be sent, or was sent without an answer: the next
    /// run reads back by natural key and adopts what it finds.
    Creating,
    /// The object exists and matches `attributes` as last applied.
    Ready,
    /// A delete was sent and the server had not finished it.
    Deleting,
}

/// The lifecycle rules recorded with a resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RecordedLifecycle {
    #[serde(default)]
    pub prevent_destroy: bool,
    #[serde(default)]
    pub orphan_on_delete: bool,
}

impl From<&crate::manifest::Lifecycle> for RecordedLifecycle {
    fn from(lifecycle: &crate::manifest::Lifecycle) -> Self {
        RecordedLifecycle {
            prevent_destroy: lifecycle.prevent_destroy,
            orphan_on_delete: lifecycle.deletion_policy == crate::manifest::DeletionPolicy::Orphan,
        }
    }
}

/// The kinds a state's records are of, read from its keys alone: known as
/// soon as a state file's header is, before its records are parsed. A key
/// that is not an address is left to the full reading to refuse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordedKinds(BTreeSet<Kind>);

impl RecordedKinds {
    /// The kinds `state` records.
    pub fn of(state: &State) -> Self {
        RecordedKinds(state.resources.keys().map(|address| address.kind).collect())
    }

    /// Whether a record is of a kind `wanted` picks.
    pub fn any(&self, wanted: impl Fn(Kind) -> bool) -> bool {
        self.0.iter().any(|&kind| wanted(kind))
    }
}

impl<'de> Deserialize<'de> for RecordedKinds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(KindsOfKeys)
    }
}

/// Reads the kinds of a map's `Kind/name` keys, skipping its values.
struct KindsOfKeys;

impl<'de> Visitor<'de> for KindsOfKeys {
    type Value = RecordedKinds;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("records by address")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kinds = BTreeSet::new();
        while let Some(KindOfKey(kind)) = map.next_key()? {
            map.next_value::<IgnoredAny>()?;
            kinds.extend(kind);
        }
        Ok(RecordedKinds(kinds))
    }
}

/// The kind a `Kind/name` key names, if it names one.
struct KindOfKey(Option<Kind>);

impl<'de> Deserialize<'de> for KindOfKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KindOfKeyVisitor)
    }
}

struct KindOfKeyVisitor;

impl Visitor<'_> for KindOfKeyVisitor {
    type Value = KindOfKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an address, `Kind/name`")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<KindOfKey, E> {
        let kind = key.split_once('/').and_then(|(kind, _)| kind.parse().ok());
        Ok(KindOfKey(kind))
    }
}
