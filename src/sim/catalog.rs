//! The simulator's fixed catalog of Arcserve UDP plans and key types, the
//! same for every tenant, so that examples and tests can name real ids.

/// A key type a plan can issue.
#[derive(Clone, Copy, Debug)]
pub struct CatalogKeyType {
    pub id: &'static str,
    pub name: &'static str,
}

/// A license plan.
#[derive(Clone, Copy, Debug)]
pub struct CatalogPlan {
    pub id: &'static str,
    pub name_ja: &'static str,
    pub name_en: &'static str,
    pub version: &'static str,
    pub edition: &'static str,
    pub key_types: &'static [CatalogKeyType],
}

pub const STANDALONE_KEY: CatalogKeyType = CatalogKeyType {
    id: "a1b2c3d4-0001-4000-8000-000000000001",
    name: "UDP Standalone Key",
};
pub const BACKUP_SOCKET_KEY: CatalogKeyType = CatalogKeyType {
    id: "a1b2c3d4-0002-4000-8000-000000000002",
    name: "Backup Socket Key",
};
pub const REPLICATION_KEY: CatalogKeyType = CatalogKeyType {
    id: "a1b2c3d4-0003-4000-8000-000000000003",
    name: "Replication Key",
};

/// Every plan, in the order the plans API lists them.
pub const PLANS: &[CatalogPlan] = &[
    CatalogPlan {
        id: "7f5a3c1e-2b4d-4e8f-9a6b-0c1d2e3f4a5b",
        name_ja: "Arcserve UDP 9 Advanced Edition (ソケット)",
        name_en: "Arcserve UDP 9 Advanced Edition (Socket)",
        version: "9.0",
        edition: "Advanced",
        key_types: &[STANDALONE_KEY, BACKUP_SOCKET_KEY],
    },
    CatalogPlan {
        id: "8e6b4d2f-3c5e-4f9a-8b7c-1d2e3f4a5b6c",
        name_ja: "Arcserve UDP 9 Premium Edition (ソケット)",
        name_en: "Arcserve UDP 9 Premium Edition (Socket)",
        version: "9.0",
        edition: "Premium",
        key_types: &[STANDALONE_KEY, BACKUP_SOCKET_KEY, REPLICATION_KEY],
    },
    CatalogPlan {
        id: "9f7c5e3a-4d6f-4a0b-9c8d-2e3f4a5b6c7d",
        name_ja: "Arcserve UDP 10 Advanced Edition (ソケット)",
        name_en: "Arcserve UDP 10 Advanced Edition (Socket)",
        version: "10.0",
        edition: "Advanced",
        key_types: &[STANDALONE_KEY, BACKUP_SOCKET_KEY],
    },
];

/// The plan with this id (lower-case hyphenated).
pub fn plan(id: &str) -> Option<&'static CatalogPlan> {
    PLANS.iter().find(|p| p.id == id)
}
