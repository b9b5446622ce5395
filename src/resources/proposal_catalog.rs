//! The ECL Proposal domain tables, from the vendor's "Add Proposal" and "Get
//! Proposal" documents (API.md section 3): the services, the two languages,
//! the allowed HULFT combinations and the generic service plans.
//!
//! The manifest checks, the planner and the simulator all read these tables,
//! so that a manifest the checks accept is one the simulator accepts too.
//! There is no wire format here: the XML is spelt by `crate::api` and by
//! `crate::sim`, each on its own.

use std::fmt::Write as _;

/// The services the Add Proposal API accepts.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
pub enum Service {
    /// HULFT (service 1): rows are product combinations.
    #[serde(rename = "HULFT")]
    Hulft,
    /// Power Systems (service 5): a proposal without rows.
    PowerSystems,
    /// FastDNS (service 8): rows are plans 801 to 808.
    FastDNS,
    /// Hybrid Cloud with GCP (service 13): rows are plan 1301.
    HybridCloudGCP,
    /// Hybrid Cloud with AWS (service 16). The vendor's plan table lists no
    /// plan for it, so every plan is refused.
    HybridCloudAWS,
}

impl Service {
    /// Every service, in the order of the vendor's table.
    pub const ALL: [Service; 5] = [
        Service::Hulft,
        Service::PowerSystems,
        Service::FastDNS,
        Service::HybridCloudGCP,
        Service::HybridCloudAWS,
    ];

    /// The vendor's `service_id`.
    pub fn id(self) -> u32 {
        match self {
            Service::Hulft => 1,
            Service::PowerSystems => 5,
            Service::FastDNS => 8,
            Service::HybridCloudGCP => 13,
            Service::HybridCloudAWS => 16,
        }
    }

    /// The service with this `service_id`, when Add Proposal accepts it.
    pub fn from_id(id: u32) -> Option<Service> {
        Service::ALL.into_iter().find(|service| service.id() == id)
    }

    /// The name a manifest uses: `HULFT`, `PowerSystems`, `FastDNS`,
    /// `HybridCloudGCP`, `HybridCloudAWS`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Hulft => "HULFT",
            Service::PowerSystems => "PowerSystems",
            Service::FastDNS => "FastDNS",
            Service::HybridCloudGCP => "HybridCloudGCP",
            Service::HybridCloudAWS => "HybridCloudAWS",
        }
    }

    /// The vendor's display name ("Hybrid Cloud with GCP").
    pub fn display_name(self) -> &'static str {
        service_name(self.id()).unwrap_or(self.name())
    }

    /// Whether a proposal of this service has rows. Power Systems proposals
    /// are sent with an empty `Models` ("For PowerSystems, Models must be
    /// empty").
    pub fn takes_rows(self) -> bool {
        self != Service::PowerSystems
    }

    /// Whether rows are HULFT combinations (`HulftModels`) rather than plans
    /// (`GenericModels`).
    pub fn is_hulft(self) -> bool {
        self == Service::Hulft
    }
}

/// Every service id Get Proposal can read, with its display name (1, 3, 4, 5,
/// 6, 8, 10, 11, 12, 13 from the Get Proposal document, and 16, which Add
/// Proposal accepts).
pub fn service_name(id: u32) -> Option<&'static str> {
    Some(match id {
        1 => "HULFT",
        3 => "SAP HANA",
        4 => "Global Server Load Balance (Global Traffic Management)",
        5 => "Power Systems",
        6 => "Arcserve",
        8 => "FastDNS",
        10 => "VMware Cloud Foundation",
        11 => "Oracle License (Physical CPU Charge)",
        12 => "Oracle License (vCPU Charge)",
        13 => "Hybrid Cloud with GCP",
        16 => "Hybrid Cloud with AWS",
        _ => return None,
    })
}

/// The language of a proposal: the request's `Language` id, the XML's
/// `Language` code, and which spelling of the HULFT table the rows use.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Japanese: `language_id` 1, `ja`.
    Ja,
    /// English: `language_id` 2, `en`.
    En,
}

impl Language {
    /// The vendor's `language_id`.
    pub fn id(self) -> u32 {
        match self {
            Language::Ja => 1,
            Language::En => 2,
        }
    }

    /// The code the XML's `Language` element carries.
    pub fn code(self) -> &'static str {
        match self {
            Language::Ja => "ja",
            Language::En => "en",
        }
    }

    pub fn from_id(id: u32) -> Option<Self> {
        match id {
            1 => Some(Language::Ja),
            2 => Some(Language::En),
            _ => None,
        }
    }

    /// `ja` or `en` (surrounding whitespace ignored).
    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim() {
            "ja" => Some(Language::Ja),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

/// One cell of the HULFT table in both languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Text {
    pub ja: &'static str,
    pub en: &'static str,
}

impl Text {
    /// The spelling to send in `language` ("Use En when Language=en").
    pub fn get(self, language: Language) -> &'static str {
        match language {
            Language::Ja => self.ja,
            Language::En => self.en,
        }
    }

    /// Whether `value`, trimmed, is this cell in either language.
    pub fn matches(self, value: &str) -> bool {
        let value = value.trim();
        value == self.ja || value == self.en
    }

    /// The spelling in either language closest to `value`, as a similarity
    /// from 0 to 1.
    fn similarity(self, value: &str) -> f64 {
        let value = value.trim();
        strsim::normalized_levenshtein(value, self.ja)
            .max(strsim::normalized_levenshtein(value, self.en))
    }
}

/// One allowed HULFT combination (one line of the vendor's table). `None` is
/// the vendor's NULL: the element is not required and is omitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HulftCombination {
    pub product: Text,
    pub license_pack: Option<Text>,
    pub cluster: Option<Text>,
    pub aes: Option<Text>,
    pub script: Option<Text>,
    pub name: Text,
}

const fn text(ja: &'static str, en: &'static str) -> Text {
    Text { ja, en }
}

const LINUX: Text = text("HULFT8 for Linux-Enterprise", "HULFT8 for Linux-Enterprise");
const WINDOWS: Text = text("HULFT8 for Windows-Server", "HULFT8 for Windows-Server");
const MANAGER: Text = text("HULFT8 Manager", "HULFT8 Manager");
const NO: Option<Text> = Some(text("なし", "None"));
const YES: Option<Text> = Some(text("あり", "Yes"));
const ACTIVE_CL: Option<Text> = Some(text("あり(アクティブ機-CL)", "Yes (Active-CL)"));
const NEW_CL_ADD: Option<Text> = Some(text(
    "あり(スタンバイ機(新規)-CL Add)",
    "Yes (Stand-By(New) CL Add)",
));
const ADD_CL_ADD: Option<Text> = Some(text(
    "あり(スタンバイ機(追加)-CL Add)",
    "Yes (Stand-By(Add) CL Add)",
));
const NULL: Option<Text> = None;

/// One line of the table; every documented line has a NULL license pack.
const fn line(
    product: Text,
    cluster: Option<Text>,
    aes: Option<Text>,
    script: Option<Text>,
    name: Text,
) -> HulftCombination {
    HulftCombination {
        product,
        license_pack: NULL,
        cluster,
        aes,
        script,
        name,
    }
}

/// All 25 lines of the vendor's HULFT table, in the document's order, spelt
/// as the document spells them (the test `the_table_is_the_documents_table`
/// compares them with the document's text). Columns: product, cluster, AES,
/// script, then the name in Japanese and in English.
#[rustfmt::skip]
pub const HULFT_COMBINATIONS: &[HulftCombination] = &[
    line(LINUX,   NO,         NO,  NULL, text(
        "HULFT8 for Linux-Enterprise",
        "HULFT8 for Linux-Enterprise")),
    line(LINUX,   NO,         YES, NULL, text(
        "HULFT8 for Linux-Enterprise AES暗号オプション付",
        "HULFT8 for Linux-Enterprise with AES Cipher Option")),
    line(LINUX,   ACTIVE_CL,  NO,  NULL, text(
        "HULFT8 for Linux-Enterprise CL",
        "HULFT8 for Linux-Enterprise CL")),
    line(LINUX,   ACTIVE_CL,  YES, NULL, text(
        "HULFT8 for Linux-Enterprise CL AES暗号オプション付",
        "HULFT8 for Linux-Enterprise CL with AES Cipher Option")),
    line(LINUX,   NEW_CL_ADD, NO,  NULL, text(
        "HULFT8 for Linux-Enterprise CL Add",
        "HULFT8 for Linux-Enterprise CL Add")),
    line(LINUX,   ADD_CL_ADD, NO,  NULL, text(
        "HULFT8 for Linux-Enterprise CL Add",
        "HULFT8 for Linux-Enterprise CL Add")),
    line(LINUX,   NEW_CL_ADD, YES, NULL, text(
        "HULFT8 for Linux-Enterprise CL Add AES暗号オプション付",
        "HULFT8 for Linux-Enterprise CL Add with AES Cipher Option")),
    line(LINUX,   ADD_CL_ADD, YES, NULL, text(
        "HULFT8 for Linux-Enterprise CL Add AES暗号オプション付",
        "HULFT8 for Linux-Enterprise CL Add with AES Cipher Option")),
    line(WINDOWS, NO,         NO,  NO,   text(
        "HULFT8 for Windows-Server",
        "HULFT8 for Windows-Server")),
    line(WINDOWS, NO,         NO,  YES,  text(
        "HULFT8 for Windows-Server Scriptオプション付",
        "HULFT8 for Windows-Server with Script Option")),
    line(WINDOWS, NO,         YES, NO,   text(
        "HULFT8 for Windows-Server AES暗号オプション付",
        "HULFT8 for Windows-Server with AES Cipher Option")),
    line(WINDOWS, NO,         YES, YES,  text(
        "HULFT8 for Windows-Server AES暗号・Scriptオプション付",
        "HULFT8 for Windows-Server with AES Cipher Option and Script Option")),
    line(WINDOWS, ACTIVE_CL,  NO,  NO,   text(
        "HULFT8 for Windows-Server CL",
        "HULFT8 for Windows-Server CL")),
    line(WINDOWS, ACTIVE_CL,  NO,  YES,  text(
        "HULFT8 for Windows-Server CL Scriptオプション付",
        "HULFT8 for Windows-Server CL with Script Option")),
    line(WINDOWS, ACTIVE_CL,  YES, NO,   text(
        "HULFT8 for Windows-Server CL AES暗号オプション付",
        "HULFT8 for Windows-Server CL with AES Cipher Option")),
    line(WINDOWS, ACTIVE_CL,  YES, YES,  text(
        "HULFT8 for Windows-Server CL AES暗号・Scriptオプション付",
        "HULFT8 for Windows-Server CL with AES Cipher Option and Script Option")),
    line(WINDOWS, NEW_CL_ADD, NO,  NO,   text(
        "HULFT8 for Windows-Server CL Add",
        "HULFT8 for Windows-Server CL Add")),
    line(WINDOWS, ADD_CL_ADD, NO,  NO,   text(
        "HULFT8 for Windows-Server CL Add",
        "HULFT8 for Windows-Server CL Add")),
    line(WINDOWS, NEW_CL_ADD, NO,  YES,  text(
        "HULFT8 for Windows-Server CL Add Scriptオプション付",
        "HULFT8 for Windows-Server CL Add with Script Option")),
    line(WINDOWS, ADD_CL_ADD, NO,  YES,  text(
        "HULFT8 for Windows-Server CL Add Scriptオプション付",
        "HULFT8 for Windows-Server CL Add with Script Option")),
    line(WINDOWS, NEW_CL_ADD, YES, NO,   text(
        "HULFT8 for Windows-Server CL Add AES暗号オプション付",
        "HULFT8 for Windows-Server CL Add with AES Cipher Option")),
    line(WINDOWS, ADD_CL_ADD, YES, NO,   text(
        "HULFT8 for Windows-Server CL Add AES暗号オプション付",
        "HULFT8 for Windows-Server CL Add with AES Cipher Option")),
    line(WINDOWS, NEW_CL_ADD, YES, YES,  text(
        "HULFT8 for Windows-Server CL Add AES暗号・Scriptオプション付",
        "HULFT8 for Windows-Server CL Add with AES Cipher Option and Script Option")),
    line(WINDOWS, ADD_CL_ADD, YES, YES,  text(
        "HULFT8 for Windows-Server CL Add AES暗号・Scriptオプション付",
        "HULFT8 for Windows-Server CL Add with AES Cipher Option and Script Option")),
    line(MANAGER, NULL,       NULL, NULL, text(
        "HULFT8 Manager",
        "HULFT8 Manager")),
];

/// What a manifest (or a request) says about a HULFT row. Each field may be
/// in either language; an absent or empty field stands for the vendor's NULL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HulftChoice {
    pub product: String,
    pub license_pack: Option<String>,
    pub cluster: Option<String>,
    pub aes: Option<String>,
    pub script: Option<String>,
    /// Optional: when given, it must be the combination's name in either
    /// language.
    pub name: Option<String>,
}

/// Why a [`HulftChoice`] names no allowed combination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HulftMiss {
    /// What did not match, e.g. "no allowed HULFT combination has product
    /// `HULFT8 for Linux-Enterprise` with script `Yes`".
    pub message: String,
    /// The nearest line of the table: the most equal fields, ties broken by
    /// string similarity, then by the table's order.
    pub closest: &'static HulftCombination,
}

/// The fields that select a line, in the table's column order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Product,
    LicensePack,
    Cluster,
    Aes,
    Script,
}

impl Field {
    const ALL: [Field; 5] = [
        Field::Product,
        Field::LicensePack,
        Field::Cluster,
        Field::Aes,
        Field::Script,
    ];

    fn label(self) -> &'static str {
        match self {
            Field::Product => "product",
            Field::LicensePack => "license pack",
            Field::Cluster => "cluster",
            Field::Aes => "aes",
            Field::Script => "script",
        }
    }

    fn of_line(self, line: &HulftCombination) -> Option<Text> {
        match self {
            Field::Product => Some(line.product),
            Field::LicensePack => line.license_pack,
            Field::Cluster => line.cluster,
            Field::Aes => line.aes,
            Field::Script => line.script,
        }
    }

    /// The choice's value, `None` when absent or blank (the vendor's NULL).
    fn of_choice(self, choice: &HulftChoice) -> Option<&str> {
        let value = match self {
            Field::Product => Some(choice.product.as_str()),
            Field::LicensePack => choice.license_pack.as_deref(),
            Field::Cluster => choice.cluster.as_deref(),
            Field::Aes => choice.aes.as_deref(),
            Field::Script => choice.script.as_deref(),
        };
        value.map(str::trim).filter(|value| !value.is_empty())
    }
}

/// Whether a table cell and a chosen value agree (NULL matches only NULL).
fn cell_matches(cell: Option<Text>, value: Option<&str>) -> bool {
    match (cell, value) {
        (None, None) => true,
        (Some(cell), Some(value)) => cell.matches(value),
        _ => false,
    }
}

fn cell_similarity(cell: Option<Text>, value: Option<&str>) -> f64 {
    match (cell, value) {
        (None, None) => 1.0,
        (Some(cell), Some(value)) => cell.similarity(value),
        _ => 0.0,
    }
}

fn name_given(choice: &HulftChoice) -> Option<&str> {
    choice
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
}

/// The combination the choice names: each field in either language, an absent
/// or empty field matching the vendor's NULL. `name` may be omitted; when
/// given it must be that combination's name in either language.
pub fn find_hulft(choice: &HulftChoice) -> Result<&'static HulftCombination, HulftMiss> {
    let selects = |line: &&HulftCombination| {
        Field::ALL
            .iter()
            .all(|field| cell_matches(field.of_line(line), field.of_choice(choice)))
    };
    match HULFT_COMBINATIONS.iter().find(selects) {
        Some(line) => match name_given(choice) {
            Some(name) if !line.name.matches(name) => Err(HulftMiss {
                message: wrong_name(line, name),
                closest: line,
            }),
            _ => Ok(line),
        },
        None => Err(HulftMiss {
            message: no_combination(choice),
            closest: closest(choice),
        }),
    }
}

fn wrong_name(line: &HulftCombination, name: &str) -> String {
    let mut message = format!(
        "the HULFT combination {} is named `{}`",
        line.describe(Language::En),
        line.name.en
    );
    if line.name.ja != line.name.en {
        let _ = write!(message, " or `{}`", line.name.ja);
    }
    let _ = write!(message, ", not `{name}`");
    message
}

/// "no allowed HULFT combination has product `P` with script `Yes`": the
/// fields that no line of the product accepts, or all the fields when each
/// is accepted on its own but not together.
fn no_combination(choice: &HulftChoice) -> String {
    let product = Field::Product.of_choice(choice).unwrap_or("");
    let mut message = format!("no allowed HULFT combination has product `{product}`");
    let lines_of_product: Vec<&HulftCombination> = HULFT_COMBINATIONS
        .iter()
        .filter(|line| line.product.matches(product))
        .collect();
    if lines_of_product.is_empty() {
        let mut products: Vec<&str> = HULFT_COMBINATIONS.iter().map(|l| l.product.en).collect();
        products.dedup();
        let _ = write!(
            message,
            "; the products are {}",
            products
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return message;
    }
    let others = &Field::ALL[1..];
    let culprits: Vec<Field> = others
        .iter()
        .copied()
        .filter(|field| {
            let value = field.of_choice(choice);
            !lines_of_product
                .iter()
                .any(|line| cell_matches(field.of_line(line), value))
        })
        .collect();
    let named: Vec<Field> = if culprits.is_empty() {
        others
            .iter()
            .copied()
            .filter(|field| {
                field.of_choice(choice).is_some()
                    || lines_of_product
                        .iter()
                        .any(|line| field.of_line(line).is_some())
            })
            .collect()
    } else {
        culprits
    };
    let parts: Vec<String> = named
        .iter()
        .map(|field| match field.of_choice(choice) {
            Some(value) => format!("{} `{value}`", field.label()),
            None => format!("no {}", field.label()),
        })
        .collect();
    if !parts.is_empty() {
        let _ = write!(message, " with {}", parts.join(", "));
    }
    message
}

/// The nearest line: the same product first (a line of another product is
/// never nearer than one of the product asked for), then the most equal
/// fields (the name counting when given), then the highest summed string
/// similarity, then the first in the table.
fn closest(choice: &HulftChoice) -> &'static HulftCombination {
    let name = name_given(choice);
    let score = |line: &HulftCombination| {
        let mut equal = 0;
        let mut similarity = 0.0;
        for field in Field::ALL {
            let (cell, value) = (field.of_line(line), field.of_choice(choice));
            if cell_matches(cell, value) {
                equal += 1;
            }
            similarity += cell_similarity(cell, value);
        }
        if let Some(name) = name {
            if line.name.matches(name) {
                equal += 1;
            }
            similarity += line.name.similarity(name);
        }
        let same_product = cell_matches(Some(line.product), Field::Product.of_choice(choice));
        (same_product, equal, similarity)
    };
    let mut best = &HULFT_COMBINATIONS[0];
    let mut best_score = score(best);
    for line in &HULFT_COMBINATIONS[1..] {
        let line_score = score(line);
        let better = (line_score.0, line_score.1) > (best_score.0, best_score.1)
            || ((line_score.0, line_score.1) == (best_score.0, best_score.1)
                && line_score.2 > best_score.2);
        if better {
            best = line;
            best_score = line_score;
        }
    }
    best
}

impl HulftCombination {
    /// "product: …, cluster: …, aes: …, script: …", NULL fields left out, for
    /// a "the closest allowed combination is …" hint.
    pub fn describe(&self, language: Language) -> String {
        Field::ALL
            .iter()
            .filter_map(|field| {
                field
                    .of_line(self)
                    .map(|cell| format!("{}: {}", field.label(), cell.get(language)))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A generic service plan (the vendor's `Id` table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenericPlan {
    pub id: u32,
    pub service_id: u32,
    pub name: Text,
}

const fn plan(id: u32, service_id: u32, ja: &'static str, en: &'static str) -> GenericPlan {
    GenericPlan {
        id,
        service_id,
        name: text(ja, en),
    }
}

/// The vendor's plan table, in its order. Service 4 (GSLB) is not an Add
/// Proposal service; its plans are listed because the document lists them.
pub const GENERIC_PLANS: &[GenericPlan] = &[
    plan(401, 4, "2FQDN Plan", "2FQDN Plan"),
    plan(402, 4, "5FQDN Plan", "5FQDN Plan"),
    plan(801, 8, "1zone Plan", "1zone Plan"),
    plan(802, 8, "2zone Plan", "2zone Plan"),
    plan(803, 8, "3zone Plan", "3zone Plan"),
    plan(804, 8, "4zone Plan", "4zone Plan"),
    plan(805, 8, "5zone Plan", "5zone Plan"),
    plan(806, 8, "6zone Plan", "6zone Plan"),
    plan(807, 8, "7zone Plan", "7zone Plan"),
    plan(808, 8, "8zone Plan", "8zone Plan"),
    plan(1301, 13, "標準プラン", "basic plan"),
];

impl GenericPlan {
    /// "801 (1zone Plan)", or "1301 (標準プラン / basic plan)".
    pub fn label(&self) -> String {
        if self.name.ja == self.name.en {
            format!("{} ({})", self.id, self.name.en)
        } else {
            format!("{} ({} / {})", self.id, self.name.ja, self.name.en)
        }
    }
}

/// A plan given as its id (`"801"`) or its name in either language (`"1zone
/// Plan"`, case aside), checked to belong to `service`. The error names the
/// plans of that service.
///
/// The vendor's table lists no plan for Hybrid Cloud with AWS (service 16),
/// although Add Proposal accepts that service, nor for HULFT and Power
/// Systems: every plan is refused for them, with a message saying so.
pub fn find_generic_plan(service: Service, plan: &str) -> Result<&'static GenericPlan, String> {
    let plan = plan.trim();
    let found = match plan.parse::<u32>() {
        Ok(id) => GENERIC_PLANS.iter().find(|p| p.id == id),
        Err(_) => GENERIC_PLANS.iter().find(|p| {
            p.name.ja == plan || p.name.en.eq_ignore_ascii_case(plan) || p.name.matches(plan)
        }),
    };
    let own: Vec<&GenericPlan> = GENERIC_PLANS
        .iter()
        .filter(|p| p.service_id == service.id())
        .collect();
    let service_label = format!("{} (service {})", service.name(), service.id());
    match found {
        Some(found) if found.service_id == service.id() => return Ok(found),
        _ if own.is_empty() => {
            return Err(format!(
                "the vendor lists no plans for {service_label}, so `{plan}` cannot be proposed{}",
                match service {
                    Service::Hulft => "; HULFT rows name a product combination instead",
                    Service::PowerSystems => "; a Power Systems proposal has no rows",
                    _ => "",
                }
            ));
        }
        _ => {}
    }
    let list = own.iter().map(|p| p.label()).collect::<Vec<_>>().join(", ");
    Err(match found {
        Some(found) => {
            let owner = match Service::from_id(found.service_id) {
                Some(owner) => format!("{} (service {})", owner.name(), owner.id()),
                None => format!(
                    "service {} ({})",
                    found.service_id,
                    service_name(found.service_id).unwrap_or("unknown")
                ),
            };
            format!(
                "plan {} belongs to {owner}, not {service_label}; the plans of {} are {list}",
                found.label(),
                service.name()
            )
        }
        None => format!(
            "no plan `{plan}` in the vendor's plan table; the plans of {service_label} are {list}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendor's table as the document prints it, one line per row:
    /// Product ProductEn LicensePack LicensePackEn Cluster ClusterEn AES AESEn
    /// Script ScriptEn Name NameEn.
    const DOCUMENT_TABLE: &str = "\
HULFT8 for Linux-Enterprise HULFT8 for Linux-Enterprise NULL NULL なし None なし None NULL NULL HULFT8 for Linux-Enterprise HULFT8 for Linux-Enterprise
HULFT8 for Linux-Enterprise HULFT8 for Linux-Enterprise NULL NULL なし None あり Yes NULL NULL HULFT8 for Linux-Enterprise AES暗号オプション付 HULFT8 for Linux-Enterprise with AES Cipher Option
HULFT8 for Linux-Enterprise HULFT8 for Linux-Enterprise NULL NULL あり(アクティブ機-CL) Yes (Active-CL) なし None NULL NULL HULFT8 for Linux-Enterprise CL HULFT8 for Linux-Enterprise CL
HULFT8 for Linux-Enterprise HULFT8 for Linux-Enterprise NULL NULL あり(アクティブ機-CL) Yes (Active-CL) あり Yes NULL NULL HULFT8 for Linux-Enterprise CL AES暗号オプション付 HULFT8 for Linux-Enterprise CL with AES Cipher Option
HULFT8 for Linux-Enterprise HULFT8 for Linux-Enterprise NULL NULL あり(スタンバイ機(新規)-CL Add) Yes (Stand-By(New) CL Add) なし None NULL NULL HULFT8 for Linux-Enterprise CL Add HULFT8 for Linux-Enterprise CL Add
HULFT8 for Linux-Enterprise HULFT8 for Linux-Enterprise NULL NULL あり(スタンバイ機(追加)-CL Add) Yes (Stand-By(Add) CL Add) なし None NULL NULL HULFT8 for Linux-Enterprise CL Add HULFT8 for Linux-Enterprise CL Add
HULFT8 for Linux-Enterprise HULFT8 for Linux-Enterprise NULL NULL あり(スタンバイ機(新規)-CL Add) Yes (Stand-By(New) CL Add) あり Yes NULL NULL HULFT8 for Linux-Enterprise CL Add AES暗号オプション付 HULFT8 for Linux-Enterprise CL Add with AES Cipher Option
HULFT8 for Linux-Enterprise HULFT8 for Linux-Enterprise NULL NULL あり(スタンバイ機(追加)-CL Add) Yes (Stand-By(Add) CL Add) あり Yes NULL NULL HULFT8 for Linux-Enterprise CL Add AES暗号オプション付 HULFT8 for Linux-Enterprise CL Add with AES Cipher Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL なし None なし None なし None HULFT8 for Windows-Server HULFT8 for Windows-Server
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL なし None なし None あり Yes HULFT8 for Windows-Server Scriptオプション付 HULFT8 for Windows-Server with Script Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL なし None あり Yes なし None HULFT8 for Windows-Server AES暗号オプション付 HULFT8 for Windows-Server with AES Cipher Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL なし None あり Yes あり Yes HULFT8 for Windows-Server AES暗号・Scriptオプション付 HULFT8 for Windows-Server with AES Cipher Option and Script Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(アクティブ機-CL) Yes (Active-CL) なし None なし None HULFT8 for Windows-Server CL HULFT8 for Windows-Server CL
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(アクティブ機-CL) Yes (Active-CL) なし None あり Yes HULFT8 for Windows-Server CL Scriptオプション付 HULFT8 for Windows-Server CL with Script Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(アクティブ機-CL) Yes (Active-CL) あり Yes なし None HULFT8 for Windows-Server CL AES暗号オプション付 HULFT8 for Windows-Server CL with AES Cipher Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(アクティブ機-CL) Yes (Active-CL) あり Yes あり Yes HULFT8 for Windows-Server CL AES暗号・Scriptオプション付 HULFT8 for Windows-Server CL with AES Cipher Option and Script Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(スタンバイ機(新規)-CL Add) Yes (Stand-By(New) CL Add) なし None なし None HULFT8 for Windows-Server CL Add HULFT8 for Windows-Server CL Add
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(スタンバイ機(追加)-CL Add) Yes (Stand-By(Add) CL Add) なし None なし None HULFT8 for Windows-Server CL Add HULFT8 for Windows-Server CL Add
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(スタンバイ機(新規)-CL Add) Yes (Stand-By(New) CL Add) なし None あり Yes HULFT8 for Windows-Server CL Add Scriptオプション付 HULFT8 for Windows-Server CL Add with Script Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(スタンバイ機(追加)-CL Add) Yes (Stand-By(Add) CL Add) なし None あり Yes HULFT8 for Windows-Server CL Add Scriptオプション付 HULFT8 for Windows-Server CL Add with Script Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(スタンバイ機(新規)-CL Add) Yes (Stand-By(New) CL Add) あり Yes なし None HULFT8 for Windows-Server CL Add AES暗号オプション付 HULFT8 for Windows-Server CL Add with AES Cipher Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(スタンバイ機(追加)-CL Add) Yes (Stand-By(Add) CL Add) あり Yes なし None HULFT8 for Windows-Server CL Add AES暗号オプション付 HULFT8 for Windows-Server CL Add with AES Cipher Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(スタンバイ機(新規)-CL Add) Yes (Stand-By(New) CL Add) あり Yes あり Yes HULFT8 for Windows-Server CL Add AES暗号・Scriptオプション付 HULFT8 for Windows-Server CL Add with AES Cipher Option and Script Option
HULFT8 for Windows-Server HULFT8 for Windows-Server NULL NULL あり(スタンバイ機(追加)-CL Add) Yes (Stand-By(Add) CL Add) あり Yes あり Yes HULFT8 for Windows-Server CL Add AES暗号・Scriptオプション付 HULFT8 for Windows-Server CL Add with AES Cipher Option and Script Option
HULFT8 Manager HULFT8 Manager NULL NULL NULL NULL NULL NULL NULL NULL HULFT8 Manager HULFT8 Manager";

    fn cells(cell: Option<Text>) -> String {
        match cell {
            Some(cell) => format!("{} {}", cell.ja, cell.en),
            None => "NULL NULL".into(),
        }
    }

    #[test]
    fn the_table_is_the_documents_table() {
        let ours: Vec<String> = HULFT_COMBINATIONS
            .iter()
            .map(|l| {
                [
                    cells(Some(l.product)),
                    cells(l.license_pack),
                    cells(l.cluster),
                    cells(l.aes),
                    cells(l.script),
                    cells(Some(l.name)),
                ]
                .join(" ")
            })
            .collect();
        let document: Vec<&str> = DOCUMENT_TABLE.lines().collect();
        assert_eq!(ours.len(), 25);
        assert_eq!(ours, document);
    }

    fn choice_of(line: &HulftCombination, language: Language, name: bool) -> HulftChoice {
        let get = |cell: Option<Text>| cell.map(|c| c.get(language).to_string());
        HulftChoice {
            product: line.product.get(language).into(),
            license_pack: get(line.license_pack),
            cluster: get(line.cluster),
            aes: get(line.aes),
            script: get(line.script),
            name: name.then(|| line.name.get(language).into()),
        }
    }

    #[test]
    fn every_line_is_found_by_its_own_spelling_in_both_languages() {
        for line in HULFT_COMBINATIONS {
            for language in [Language::Ja, Language::En] {
                for name in [false, true] {
                    let found = find_hulft(&choice_of(line, language, name));
                    assert_eq!(found, Ok(line), "{line:?} in {language:?}");
                }
            }
        }
    }

    #[test]
    fn the_selecting_fields_identify_one_line() {
        for (i, a) in HULFT_COMBINATIONS.iter().enumerate() {
            for b in &HULFT_COMBINATIONS[i + 1..] {
                let same = a.product == b.product
                    && a.license_pack == b.license_pack
                    && a.cluster == b.cluster
                    && a.aes == b.aes
                    && a.script == b.script;
                assert!(!same, "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn languages_may_be_mixed_and_whitespace_and_empty_fields_are_tolerated() {
        let choice = HulftChoice {
            product: " HULFT8 for Windows-Server ".into(),
            license_pack: Some("".into()),
            cluster: Some("あり(アクティブ機-CL)".into()),
            aes: Some("Yes".into()),
            script: Some("なし".into()),
            name: Some("HULFT8 for Windows-Server CL AES暗号オプション付".into()),
        };
        let line = find_hulft(&choice).unwrap();
        assert_eq!(
            line.name.en,
            "HULFT8 for Windows-Server CL with AES Cipher Option"
        );
        let manager = HulftChoice {
            product: "HULFT8 Manager".into(),
            cluster: Some("  ".into()),
            ..HulftChoice::default()
        };
        assert_eq!(find_hulft(&manager).unwrap().product, MANAGER);
    }

    #[test]
    fn a_miss_names_what_did_not_match_and_the_closest_line() {
        let choice = HulftChoice {
            product: "HULFT8 for Linux-Enterprise".into(),
            cluster: Some("None".into()),
            aes: Some("None".into()),
            script: Some("Yes".into()),
            ..HulftChoice::default()
        };
        let miss = find_hulft(&choice).unwrap_err();
        assert_eq!(
            miss.message,
            "no allowed HULFT combination has product `HULFT8 for Linux-Enterprise` with script `Yes`"
        );
        assert_eq!(miss.closest, &HULFT_COMBINATIONS[0]);
        assert_eq!(
            miss.closest.describe(Language::En),
            "product: HULFT8 for Linux-Enterprise, cluster: None, aes: None"
        );
        assert_eq!(
            miss.closest.describe(Language::Ja),
            "product: HULFT8 for Linux-Enterprise, cluster: なし, aes: なし"
        );
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let choice = HulftChoice {
            product: "HULFT8 for Windows-Server".into(),
            cluster: Some("None".into()),
            aes: Some("Yes".into()),
            ..HulftChoice::default()
        };
        let miss = find_hulft(&choice).unwrap_err();
        assert_eq!(
            miss.message,
            "no allowed HULFT combination has product `HULFT8 for Windows-Server` with no script"
        );
        assert_eq!(miss.closest.product, WINDOWS);
        assert_eq!(miss.closest.aes, YES);
        assert_eq!(miss.closest.cluster, NO);
    }

    #[test]
    fn a_misspelt_value_is_closest_to_its_intended_line() {
        let choice = HulftChoice {
            product: "HULFT8 for Windows-Server".into(),
            cluster: Some("Yes (Standby(New) CL Add)".into()),
            aes: Some("None".into()),
            script: Some("None".into()),
            ..HulftChoice::default()
        };
        let miss = find_hulft(&choice).unwrap_err();
        assert!(
            miss.message
                .ends_with("with cluster `Yes (Standby(New) CL Add)`"),
            "{}",
            miss.message
        );
        assert_eq!(miss.closest.cluster, NEW_CL_ADD);
        assert_eq!(miss.closest.product, WINDOWS);
    }

    #[test]
    fn an_unknown_product_lists_the_products() {
        let choice = HulftChoice {
            product: "HULFT7 for Linux".into(),
            ..HulftChoice::default()
        };
        let miss = find_hulft(&choice).unwrap_err();
        assert_eq!(
            miss.message,
            "no allowed HULFT combination has product `HULFT7 for Linux`; the products are \
             `HULFT8 for Linux-Enterprise`, `HULFT8 for Windows-Server`, `HULFT8 Manager`"
        );
        let _ = miss.closest;
    }

    #[test]
    fn a_name_that_is_not_the_lines_name_is_a_miss() {
        let mut choice = choice_of(&HULFT_COMBINATIONS[1], Language::En, false);
        choice.name = Some("HULFT8 for Linux-Enterprise".into());
        let miss = find_hulft(&choice).unwrap_err();
        assert_eq!(miss.closest, &HULFT_COMBINATIONS[1]);
        assert!(
            miss.message.contains(
                "is named `HULFT8 for Linux-Enterprise with AES Cipher Option` or \
                 `HULFT8 for Linux-Enterprise AES暗号オプション付`, not `HULFT8 for Linux-Enterprise`"
            ),
            "{}",
            miss.message
        );
    }

    #[test]
    fn a_license_pack_matches_no_documented_line() {
        let mut choice = choice_of(&HULFT_COMBINATIONS[24], Language::En, true);
        choice.license_pack = Some("10 pack".into());
        let miss = find_hulft(&choice).unwrap_err();
        assert_eq!(
            miss.message,
            "no allowed HULFT combination has product `HULFT8 Manager` with license pack `10 pack`"
        );
        assert_eq!(miss.closest, &HULFT_COMBINATIONS[24]);
    }

    #[test]
    fn services_and_languages_round_trip_their_ids() {
        for service in Service::ALL {
            assert_eq!(Service::from_id(service.id()), Some(service));
            assert!(service_name(service.id()).is_some());
        }
        assert_eq!(Service::from_id(6), None);
        assert_eq!(
            Service::HybridCloudAWS.display_name(),
            "Hybrid Cloud with AWS"
        );
        assert!(!Service::PowerSystems.takes_rows());
        assert!(Service::FastDNS.takes_rows());
        assert!(Service::Hulft.is_hulft());
        let ids: Vec<u32> = (0..20).filter(|id| service_name(*id).is_some()).collect();
        assert_eq!(ids, [1, 3, 4, 5, 6, 8, 10, 11, 12, 13, 16]);
        for language in [Language::Ja, Language::En] {
            assert_eq!(Language::from_id(language.id()), Some(language));
            assert_eq!(Language::from_code(language.code()), Some(language));
        }
        assert_eq!(Language::from_id(3), None);
        assert_eq!(Language::from_code("jp"), None);
    }

    #[test]
    fn the_manifest_spells_services_and_languages_like_the_names() {
        for service in Service::ALL {
            let json = serde_json::to_string(&service).unwrap();
            assert_eq!(json, format!("\"{}\"", service.name()));
        }
        assert_eq!(serde_json::to_string(&Language::Ja).unwrap(), "\"ja\"");
        assert_eq!(
            serde_json::from_str::<Language>("\"en\"").unwrap(),
            Language::En
        );
    }

    #[test]
    fn generic_plans_by_id_and_by_name() {
        let fast = |plan: &str| find_generic_plan(Service::FastDNS, plan).map(|p| p.id);
        assert_eq!(fast("801"), Ok(801));
        assert_eq!(fast(" 808 "), Ok(808));
        assert_eq!(fast("3zone Plan"), Ok(803));
        assert_eq!(fast("3ZONE plan"), Ok(803));
        let gcp = |plan: &str| find_generic_plan(Service::HybridCloudGCP, plan).map(|p| p.id);
        assert_eq!(gcp("1301"), Ok(1301));
        assert_eq!(gcp("標準プラン"), Ok(1301));
        assert_eq!(gcp("basic plan"), Ok(1301));
    }

    #[test]
    fn a_plan_of_another_service_is_refused_with_the_services_plans() {
        let error = find_generic_plan(Service::HybridCloudGCP, "801").unwrap_err();
        assert_eq!(
            error,
            "plan 801 (1zone Plan) belongs to FastDNS (service 8), not HybridCloudGCP (service \
             13); the plans of HybridCloudGCP are 1301 (標準プラン / basic plan)"
        );
        let error = find_generic_plan(Service::FastDNS, "2FQDN Plan").unwrap_err();
        assert!(
            error.starts_with(
                "plan 401 (2FQDN Plan) belongs to service 4 (Global Server Load Balance"
            ),
            "{error}"
        );
        assert!(error.ends_with("801 (1zone Plan), 802 (2zone Plan), 803 (3zone Plan), 804 (4zone Plan), 805 (5zone Plan), 806 (6zone Plan), 807 (7zone Plan), 808 (8zone Plan)"), "{error}");
        let error = find_generic_plan(Service::FastDNS, "9zone Plan").unwrap_err();
        assert!(
            error.starts_with("no plan `9zone Plan` in the vendor's plan table; the plans of FastDNS (service 8) are 801 (1zone Plan),"),
            "{error}"
        );
        assert!(find_generic_plan(Service::FastDNS, "99999999999999").is_err());
    }

    #[test]
    fn services_without_plans_refuse_every_plan() {
        for plan in ["801", "1301", "basic plan", "1"] {
            let error = find_generic_plan(Service::HybridCloudAWS, plan).unwrap_err();
            assert!(
                error.starts_with("the vendor lists no plans for HybridCloudAWS (service 16)"),
                "{error}"
            );
        }
        let error = find_generic_plan(Service::PowerSystems, "801").unwrap_err();
        assert!(error.ends_with("a Power Systems proposal has no rows"));
        let error = find_generic_plan(Service::Hulft, "801").unwrap_err();
        assert!(error.contains("HULFT rows name a product combination"));
    }
}
