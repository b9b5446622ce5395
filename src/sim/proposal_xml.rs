//! The simulator's own spelling of the Proposal API's XML documents (API.md
//! sections 3 and 5): it reads the `HulftModels` and `GenericModels` that Add
//! Proposal receives, checks them against the vendor's tables, and writes
//! them, and `ArcserveModels`, back for Get Proposal.
//!
//! Written apart from the client's `crate::api::proposal_xml` on purpose
//! (DESIGN.md invariant 6): reading goes through quick-xml's serde
//! deserializer here and through an element tree there, and each writes its
//! own output, so that a misspelt element shows up as a disagreement in the
//! cross-check tests at the bottom of this file. The domain tables come from
//! `crate::resources::proposal_catalog`, which both sides may share.
//!
//! Output: `<?xml version="1.0"?>`, the root with the `xmlns:xsd` and
//! `xmlns:xsi` attributes, two-space indentation, `\r\n` after each tag,
//! absent (NULL) values left out, empty ones and empty lists as `<Name />`.
//! Input: any whitespace and line ends, unknown elements and attributes
//! ignored, values trimmed, an empty element read as absent where the value
//! may be absent.

use serde::Deserialize;

use super::text;

use crate::resources::proposal_catalog::{
    HulftChoice, Language, Service, find_generic_plan, find_hulft,
};

/// A HULFT proposal as the simulator keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub(crate) struct HulftProposal {
    pub email: String,
    pub language: String,
    pub rows: Vec<HulftRow>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub(crate) struct HulftRow {
    pub uuid: String,
    pub dc: String,
    pub product: String,
    pub cluster: Option<String>,
    pub aes: Option<String>,
    pub script: Option<String>,
    pub license_pack: Option<String>,
    pub name: String,
    pub row_number: u32,
    pub parent_serial: Option<String>,
    pub number: u32,
    pub status: u32,
}

impl HulftRow {
    /// The row's cells, to look up in the combination table.
    pub fn choice(&self) -> HulftChoice {
        HulftChoice {
            product: self.product.clone(),
            license_pack: self.license_pack.clone(),
            cluster: self.cluster.clone(),
            aes: self.aes.clone(),
            script: self.script.clone(),
            name: Some(self.name.clone()),
        }
    }
}

/// A Power Systems, FastDNS or Hybrid Cloud proposal as the simulator keeps
/// it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub(crate) struct GenericProposal {
    pub order_id: Option<String>,
    pub email: String,
    pub language: String,
    pub rows: Vec<GenericRow>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub(crate) struct GenericRow {
    pub uuid: String,
    pub plan_id: u32,
    pub row_number: u32,
    pub number: u32,
    pub status: u32,
}

/// An Arcserve proposal, for Get Proposal to answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ArcserveProposal {
    pub language: String,
    pub email: Option<String>,
    pub company_name: Option<String>,
    pub product_id: Option<String>,
    pub product_name: Option<String>,
    pub product_name_en: Option<String>,
    pub support_desk_id: Option<String>,
    pub support_desk_name: Option<String>,
    pub support_desk_name_en: Option<String>,
    pub arcserve_order_id: Option<String>,
    pub licenses: Vec<ArcserveEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ArcserveEntry {
    pub uuid: String,
    pub status_id: Option<String>,
    pub status_name: Option<String>,
    pub status_name_en: Option<String>,
    pub license_id: Option<String>,
    pub license_name1: Option<String>,
    pub license_name1_en: Option<String>,
    pub license_name2: Option<String>,
    pub license_name2_en: Option<String>,
    pub license_name3: Option<String>,
    pub license_name3_en: Option<String>,
    pub quantity_win: Option<String>,
    pub quantity_lin: Option<String>,
    pub charge_start_date: Option<String>,
    pub charge_end_date: Option<String>,
    pub proposal_date: Option<String>,
    pub delete_date: Option<String>,
    pub keys: Vec<ArcserveKeyEntry>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ArcserveKeyEntry {
    pub key: String,
    pub name1: Option<String>,
    pub name1_en: Option<String>,
    pub name2: Option<String>,
    pub name2_en: Option<String>,
}

// ---------------------------------------------------------------------------
// Reading: quick-xml's serde deserializer into the vendor's element names.

#[derive(Deserialize)]
struct HulftWire {
    #[serde(rename = "CustomerEMailAddress")]
    email: String,
    #[serde(rename = "Language")]
    language: String,
    #[serde(rename = "Models", default)]
    models: ListWire<HulftItem>,
}

#[derive(Deserialize)]
struct GenericWire {
    #[serde(rename = "OrderId")]
    order_id: Option<String>,
    #[serde(rename = "CustomerEMailAddress")]
    email: String,
    #[serde(rename = "Language")]
    language: String,
    #[serde(rename = "Models", default)]
    models: ListWire<GenericItem>,
}

/// A `Models` element: its children in order, unknown ones kept as `Other`.
#[derive(Deserialize)]
struct ListWire<T> {
    #[serde(rename = "$value", default = "Vec::new")]
    items: Vec<T>,
}

impl<T> Default for ListWire<T> {
    fn default() -> Self {
        ListWire { items: Vec::new() }
    }
}

#[derive(Deserialize)]
enum HulftItem {
    HulftModel(Box<HulftRowWire>),
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
enum GenericItem {
    GenericModel(GenericRowWire),
    #[serde(other)]
    Other,
}

/// Numbers are read as text so that a bad one can be named.
#[derive(Deserialize)]
struct HulftRowWire {
    #[serde(rename = "Uuid")]
    uuid: String,
    #[serde(rename = "Dc")]
    dc: String,
    #[serde(rename = "Product")]
    product: String,
    #[serde(rename = "Cluster")]
    cluster: Option<String>,
    #[serde(rename = "Aes")]
    aes: Option<String>,
    #[serde(rename = "Script")]
    script: Option<String>,
    #[serde(rename = "LicensePack")]
    license_pack: Option<String>,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "RowNumber")]
    row_number: String,
    #[serde(rename = "ParentSerial")]
    parent_serial: Option<String>,
    #[serde(rename = "Number")]
    number: String,
    #[serde(rename = "Status")]
    status: String,
}

#[derive(Deserialize)]
struct GenericRowWire {
    #[serde(rename = "Uuid")]
    uuid: String,
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "RowNumber")]
    row_number: String,
    #[serde(rename = "Number")]
    number: String,
    #[serde(rename = "Status")]
    status: String,
}

/// The name of the document's first element, or why there is none.
fn first_element(text: &str) -> Result<String, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(tag) | quick_xml::events::Event::Empty(tag)) => {
                return Ok(tag.local_name().as_ref().to_owned());
            }
            Ok(quick_xml::events::Event::Eof) => {
                return Err("ProposalXml holds no XML element".to_owned());
            }
            Ok(_) => {}
            Err(err) => return Err(format!("ProposalXml is not well-formed XML: {err}")),
        }
    }
}

fn read<T: serde::de::DeserializeOwned>(text: &str, root: &str) -> Result<T, String> {
    let text = text.trim_start_matches('\u{feff}');
    let found = first_element(text)?;
    if found != root {
        return Err(format!(
            "ProposalXml must be a <{root}> document; found <{found}>"
        ));
    }
    quick_xml::de::from_str(text)
        .map_err(|err| format!("ProposalXml is not a valid <{root}>: {err}"))
}

fn trimmed(value: String) -> String {
    value.trim().to_owned()
}

/// Absent, empty and blank are all the vendor's NULL.
fn null_if_blank(value: Option<String>) -> Option<String> {
    value.map(trimmed).filter(|value| !value.is_empty())
}

fn whole_number(value: &str, element: &str, row: usize) -> Result<u32, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("<{element}> of model {row} must be a whole number; found `{value}`"))
}

/// Reads an Add Proposal `HulftModels` document.
pub(crate) fn parse_hulft(text: &str) -> Result<HulftProposal, String> {
    let wire: HulftWire = read(text, "HulftModels")?;
    let rows = wire
        .models
        .items
        .into_iter()
        .filter_map(|item| match item {
            HulftItem::HulftModel(row) => Some(*row),
            HulftItem::Other => None,
        })
        .enumerate()
        .map(|(index, row)| {
            let at = index + 1;
            Ok(HulftRow {
                row_number: whole_number(&row.row_number, "RowNumber", at)?,
                number: whole_number(&row.number, "Number", at)?,
                status: whole_number(&row.status, "Status", at)?,
                uuid: trimmed(row.uuid),
                dc: trimmed(row.dc),
                product: trimmed(row.product),
                cluster: null_if_blank(row.cluster),
                aes: null_if_blank(row.aes),
                script: null_if_blank(row.script),
                license_pack: null_if_blank(row.license_pack),
                name: trimmed(row.name),
                parent_serial: null_if_blank(row.parent_serial),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(HulftProposal {
        email: trimmed(wire.email),
        language: trimmed(wire.language),
        rows,
    })
}

/// Reads an Add Proposal `GenericModels` document.
pub(crate) fn parse_generic(text: &str) -> Result<GenericProposal, String> {
    let wire: GenericWire = read(text, "GenericModels")?;
    let rows = wire
        .models
        .items
        .into_iter()
        .filter_map(|item| match item {
            GenericItem::GenericModel(row) => Some(row),
            GenericItem::Other => None,
        })
        .enumerate()
        .map(|(index, row)| {
            let at = index + 1;
            Ok(GenericRow {
                uuid: trimmed(row.uuid),
                plan_id: whole_number(&row.id, "Id", at)?,
                row_number: whole_number(&row.row_number, "RowNumber", at)?,
                number: whole_number(&row.number, "Number", at)?,
                status: whole_number(&row.status, "Status", at)?,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(GenericProposal {
        order_id: null_if_blank(wire.order_id),
        email: trimmed(wire.email),
        language: trimmed(wire.language),
        rows,
    })
}

// ---------------------------------------------------------------------------
// Checking against the vendor's rules (API.md section 3).

const REGIONS: [&str; 7] = ["jp1", "jp2", "jp3", "jp4", "jp5", "jp6", "jp7"];

fn check_language(language: &str) -> Result<Language, String> {
    Language::from_code(language)
        .ok_or_else(|| format!("<Language> must be `ja` or `en`; found `{language}`"))
}

/// The rules every row has: a UUID, `RowNumber` 1, 2, 3... in order, a
/// `Number` of at least 1 and `Status` 1.
fn check_row(
    at: usize,
    uuid: &str,
    row_number: u32,
    number: u32,
    status: u32,
) -> Result<(), String> {
    if uuid::Uuid::try_parse(uuid).is_err() {
        return Err(format!(
            "<Uuid> of model {at} must be a UUID; found `{uuid}`"
        ));
    }
    if usize::try_from(row_number).ok() != Some(at) {
        return Err(format!(
            "<RowNumber> of model {at} must be {at} (rows count from 1); found {row_number}"
        ));
    }
    if number == 0 {
        return Err(format!("<Number> of model {at} must be at least 1"));
    }
    if status != 1 {
        return Err(format!("<Status> of model {at} must be 1; found {status}"));
    }
    Ok(())
}

/// No control characters in the document's own text elements
/// (`crate::sim::text`).
fn printable_document(email: &str, language: &str, order_id: Option<&str>) -> Result<(), String> {
    text::printable("<CustomerEMailAddress>", email)?;
    text::printable("<Language>", language)?;
    text::printable("<OrderId>", order_id.unwrap_or_default())
}

/// No control characters in a HULFT row's text cells; the free-text
/// `ParentSerial` is the one no table checks.
fn printable_hulft_row(at: usize, row: &HulftRow) -> Result<(), String> {
    let cells = [
        ("Uuid", Some(&row.uuid)),
        ("Dc", Some(&row.dc)),
        ("Product", Some(&row.product)),
        ("Cluster", row.cluster.as_ref()),
        ("Aes", row.aes.as_ref()),
        ("Script", row.script.as_ref()),
        ("LicensePack", row.license_pack.as_ref()),
        ("Name", Some(&row.name)),
        ("ParentSerial", row.parent_serial.as_ref()),
    ];
    for (element, value) in cells {
        if let Some(value) = value {
            text::printable(&format!("<{element}> of model {at}"), value)?;
        }
    }
    Ok(())
}

/// Whether a HULFT proposal is one the vendor accepts: each row one of the
/// documented combinations, spelt in the proposal's language ("Use En when
/// Language=en"), NULL cells absent or empty.
pub(crate) fn check_hulft(proposal: &HulftProposal) -> Result<(), String> {
    printable_document(&proposal.email, &proposal.language, None)?;
    let language = check_language(&proposal.language)?;
    for (index, row) in proposal.rows.iter().enumerate() {
        let at = index + 1;
        printable_hulft_row(at, row)?;
        check_row(at, &row.uuid, row.row_number, row.number, row.status)?;
        if !REGIONS.contains(&row.dc.as_str()) {
            return Err(format!(
                "<Dc> of model {at} must be one of jp1 to jp7; found `{}`",
                row.dc
            ));
        }
        let line =
            find_hulft(&row.choice()).map_err(|miss| format!("model {at}: {}", miss.message))?;
        let cells = [
            ("Product", Some(line.product), Some(&row.product)),
            ("LicensePack", line.license_pack, row.license_pack.as_ref()),
            ("Cluster", line.cluster, row.cluster.as_ref()),
            ("Aes", line.aes, row.aes.as_ref()),
            ("Script", line.script, row.script.as_ref()),
            ("Name", Some(line.name), Some(&row.name)),
        ];
        for (element, cell, value) in cells {
            if let (Some(cell), Some(value)) = (cell, value) {
                let spelt = cell.get(language);
                if value != spelt {
                    return Err(format!(
                        "<{element}> of model {at} must be `{spelt}` in a `{}` proposal; found `{value}`",
                        language.code()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Whether a generic proposal is one the vendor accepts for `service_id`:
/// a non-HULFT Add Proposal service, plans of that service, and no rows for
/// Power Systems.
pub(crate) fn check_generic(service_id: u32, proposal: &GenericProposal) -> Result<(), String> {
    let service = Service::from_id(service_id)
        .filter(|service| !service.is_hulft())
        .ok_or_else(|| format!("service {service_id} does not take a <GenericModels> proposal"))?;
    printable_document(
        &proposal.email,
        &proposal.language,
        proposal.order_id.as_deref(),
    )?;
    check_language(&proposal.language)?;
    if !service.takes_rows() && !proposal.rows.is_empty() {
        return Err(format!(
            "a {} proposal must have an empty <Models>; found {} model(s)",
            service.display_name(),
            proposal.rows.len()
        ));
    }
    for (index, row) in proposal.rows.iter().enumerate() {
        let at = index + 1;
        check_row(at, &row.uuid, row.row_number, row.number, row.status)?;
        find_generic_plan(service, &row.plan_id.to_string())
            .map_err(|message| format!("<Id> of model {at}: {message}"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Writing: a small tree of elements, rendered one tag per line.

/// An element to write: a value (left out when `None`) or a group.
enum Part {
    Value(&'static str, Option<String>),
    Group(&'static str, Vec<Part>),
}

fn value(name: &'static str, text: &str) -> Part {
    Part::Value(name, Some(text.to_owned()))
}

fn maybe(name: &'static str, text: &Option<String>) -> Part {
    Part::Value(name, text.clone())
}

fn number(name: &'static str, n: u32) -> Part {
    Part::Value(name, Some(n.to_string()))
}

/// `&`, `<`, `>` as entities; `\r` as `&#13;` so that it survives a reader's
/// line-end normalisation.
fn escape_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '\r' => escaped.push_str("&#13;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn write_part(part: &Part, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match part {
        Part::Value(_, None) => {}
        Part::Value(name, Some(text)) if text.is_empty() => {
            out.push_str(&format!("{pad}<{name} />\r\n"));
        }
        Part::Value(name, Some(text)) => {
            out.push_str(&format!("{pad}<{name}>{}</{name}>\r\n", escape_text(text)));
        }
        Part::Group(name, parts) if parts.is_empty() => {
            out.push_str(&format!("{pad}<{name} />\r\n"));
        }
        Part::Group(name, parts) => {
            out.push_str(&format!("{pad}<{name}>\r\n"));
            for inner in parts {
                write_part(inner, depth + 1, out);
            }
            out.push_str(&format!("{pad}</{name}>\r\n"));
        }
    }
}

fn document(root: &'static str, parts: Vec<Part>) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\r\n");
    out.push_str(&format!(
        "<{root} xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\r\n"
    ));
    for part in &parts {
        write_part(part, 1, &mut out);
    }
    out.push_str(&format!("</{root}>\r\n"));
    out
}

/// The `HulftModels` document of a proposal.
pub(crate) fn render_hulft(proposal: &HulftProposal) -> String {
    let rows = proposal
        .rows
        .iter()
        .map(|row| {
            Part::Group(
                "HulftModel",
                vec![
                    value("Uuid", &row.uuid),
                    value("Dc", &row.dc),
                    value("Product", &row.product),
                    maybe("Cluster", &row.cluster),
                    maybe("Aes", &row.aes),
                    maybe("Script", &row.script),
                    maybe("LicensePack", &row.license_pack),
                    value("Name", &row.name),
                    number("RowNumber", row.row_number),
                    maybe("ParentSerial", &row.parent_serial),
                    number("Number", row.number),
                    number("Status", row.status),
                ],
            )
        })
        .collect();
    document(
        "HulftModels",
        vec![
            value("CustomerEMailAddress", &proposal.email),
            value("Language", &proposal.language),
            Part::Group("Models", rows),
        ],
    )
}

/// The `GenericModels` document of a proposal.
pub(crate) fn render_generic(proposal: &GenericProposal) -> String {
    let rows = proposal
        .rows
        .iter()
        .map(|row| {
            Part::Group(
                "GenericModel",
                vec![
                    value("Uuid", &row.uuid),
                    number("Id", row.plan_id),
                    number("RowNumber", row.row_number),
                    number("Number", row.number),
                    number("Status", row.status),
                ],
            )
        })
        .collect();
    document(
        "GenericModels",
        vec![
            maybe("OrderId", &proposal.order_id),
            value("CustomerEMailAddress", &proposal.email),
            value("Language", &proposal.language),
            Part::Group("Models", rows),
        ],
    )
}

/// The `ArcserveModels` document of a proposal.
pub(crate) fn render_arcserve(proposal: &ArcserveProposal) -> String {
    let entries = proposal
        .licenses
        .iter()
        .map(|entry| {
            let keys = entry
                .keys
                .iter()
                .map(|key| {
                    Part::Group(
                        "LicenseKey",
                        vec![
                            value("Key", &key.key),
                            maybe("Name1", &key.name1),
                            maybe("Name1En", &key.name1_en),
                            maybe("Name2", &key.name2),
                            maybe("Name2En", &key.name2_en),
                        ],
                    )
                })
                .collect();
            Part::Group(
                "ArcserveModel",
                vec![
                    value("Uuid", &entry.uuid),
                    maybe("StatusId", &entry.status_id),
                    maybe("StatusName", &entry.status_name),
                    maybe("StatusNameEn", &entry.status_name_en),
                    maybe("LicenseId", &entry.license_id),
                    maybe("LicenseName1", &entry.license_name1),
                    maybe("LicenseName1En", &entry.license_name1_en),
                    maybe("LicenseName2", &entry.license_name2),
                    maybe("LicenseName2En", &entry.license_name2_en),
                    maybe("LicenseName3", &entry.license_name3),
                    maybe("LicenseName3En", &entry.license_name3_en),
                    maybe("QuantityWin", &entry.quantity_win),
                    maybe("QuantityLin", &entry.quantity_lin),
                    maybe("ChargeStartDate", &entry.charge_start_date),
                    maybe("ChargeEndDate", &entry.charge_end_date),
                    maybe("ProposalDate", &entry.proposal_date),
                    maybe("DeleteDate", &entry.delete_date),
                    Part::Group("LicenseKeys", keys),
                ],
            )
        })
        .collect();
    document(
        "ArcserveModels",
        vec![
            value("Language", &proposal.language),
            maybe("CustomerEMailAddress", &proposal.email),
            maybe("CompanyName", &proposal.company_name),
            maybe("ProductId", &proposal.product_id),
            maybe("ProductName", &proposal.product_name),
            maybe("ProductNameEn", &proposal.product_name_en),
            maybe("SupportDeskId", &proposal.support_desk_id),
            maybe("SupportDeskName", &proposal.support_desk_name),
            maybe("SupportDeskNameEn", &proposal.support_desk_name_en),
            maybe("ArcserveOrderId", &proposal.arcserve_order_id),
            Part::Group("Models", entries),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn hulft() -> HulftProposal {
        HulftProposal {
            email: "sim@example.com".into(),
            language: "en".into(),
            rows: vec![
                HulftRow {
                    uuid: "6fa459ea-ee8a-3ca4-894e-db77e160355e".into(),
                    dc: "jp4".into(),
                    product: "HULFT8 for Windows-Server".into(),
                    cluster: Some("Yes (Stand-By(Add) CL Add)".into()),
                    aes: Some("None".into()),
                    script: Some("Yes".into()),
                    license_pack: None,
                    name: "HULFT8 for Windows-Server CL Add with Script Option".into(),
                    row_number: 1,
                    parent_serial: Some("SN-0001".into()),
                    number: 1,
                    status: 1,
                },
                HulftRow {
                    uuid: "16fd2706-8baf-433b-82eb-8c7fada847da".into(),
                    dc: "jp1".into(),
                    product: "HULFT8 Manager".into(),
                    cluster: None,
                    aes: None,
                    script: None,
                    license_pack: None,
                    name: "HULFT8 Manager".into(),
                    row_number: 2,
                    parent_serial: None,
                    number: 5,
                    status: 1,
                },
            ],
        }
    }

    pub(super) fn generic(order_id: Option<&str>, plans: &[u32]) -> GenericProposal {
        GenericProposal {
            order_id: order_id.map(str::to_owned),
            email: "sim@example.com".into(),
            language: "ja".into(),
            rows: plans
                .iter()
                .enumerate()
                .map(|(index, plan_id)| GenericRow {
                    uuid: format!("886313e1-3b8a-5372-9b90-0c9aee199e5{index}"),
                    plan_id: *plan_id,
                    row_number: index as u32 + 1,
                    number: 2,
                    status: 1,
                })
                .collect(),
        }
    }

    pub(super) fn arcserve() -> ArcserveProposal {
        let key = |key: &str, kind: &str| ArcserveKeyEntry {
            key: key.into(),
            name1: Some("Arcserve UDP 9".into()),
            name1_en: Some("Arcserve UDP 9".into()),
            name2: Some(kind.into()),
            name2_en: Some(kind.into()),
        };
        let entry = |uuid: &str, keys: Vec<ArcserveKeyEntry>| ArcserveEntry {
            uuid: uuid.into(),
            status_id: Some("2".into()),
            status_name: Some("提供中".into()),
            status_name_en: Some("Active".into()),
            license_id: Some("7f5a3c1e".into()),
            license_name1: Some("Arcserve UDP 9 Advanced Edition".into()),
            license_name1_en: Some("Arcserve UDP 9 Advanced Edition".into()),
            license_name2: Some("ソケット".into()),
            license_name2_en: Some("Socket".into()),
            license_name3: Some("Windows".into()),
            license_name3_en: Some("Windows".into()),
            quantity_win: Some("3".into()),
            quantity_lin: Some("0".into()),
            charge_start_date: Some("2024-04-01T00:00:00".into()),
            charge_end_date: None,
            proposal_date: Some("2024-03-15T10:52:14.847".into()),
            delete_date: None,
            keys,
        };
        ArcserveProposal {
            language: "ja".into(),
            email: Some("sim@example.com".into()),
            company_name: Some("株式会社サンプル & Co.".into()),
            product_id: Some("6".into()),
            product_name: Some("Arcserve UDP".into()),
            product_name_en: Some("Arcserve UDP".into()),
            support_desk_id: Some("1".into()),
            support_desk_name: Some("サポート".into()),
            support_desk_name_en: Some("Support".into()),
            arcserve_order_id: None,
            licenses: vec![
                entry(
                    "a1a2a3a4-b1b2-4c1c-8d1d-e1e2e3e4e5e6",
                    vec![key("K1", "Standalone"), key("K2", "Socket")],
                ),
                entry("b1a2a3a4-b1b2-4c1c-8d1d-e1e2e3e4e5e6", vec![]),
            ],
        }
    }

    #[test]
    fn a_generic_proposal_renders_exactly() {
        let expected = concat!(
            "<?xml version=\"1.0\"?>\r\n",
            "<GenericModels xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" ",
            "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\r\n",
            "  <OrderId>ORD-9</OrderId>\r\n",
            "  <CustomerEMailAddress>sim@example.com</CustomerEMailAddress>\r\n",
            "  <Language>ja</Language>\r\n",
            "  <Models>\r\n",
            "    <GenericModel>\r\n",
            "      <Uuid>886313e1-3b8a-5372-9b90-0c9aee199e50</Uuid>\r\n",
            "      <Id>1301</Id>\r\n",
            "      <RowNumber>1</RowNumber>\r\n",
            "      <Number>2</Number>\r\n",
            "      <Status>1</Status>\r\n",
            "    </GenericModel>\r\n",
            "  </Models>\r\n",
            "</GenericModels>\r\n",
        );
        assert_eq!(render_generic(&generic(Some("ORD-9"), &[1301])), expected);
        let power = render_generic(&generic(None, &[]));
        assert!(
            power.ends_with("  <Language>ja</Language>\r\n  <Models />\r\n</GenericModels>\r\n")
        );
        assert!(!power.contains("OrderId"));
    }

    #[test]
    fn the_simulator_reads_its_own_documents() {
        assert_eq!(parse_hulft(&render_hulft(&hulft())).unwrap(), hulft());
        for proposal in [
            generic(None, &[801, 802, 808]),
            generic(Some("ORD-1"), &[1301]),
            generic(None, &[]),
        ] {
            assert_eq!(parse_generic(&render_generic(&proposal)).unwrap(), proposal);
        }
        let mut awkward = hulft();
        awkward.email = "<a> & b\r\nc".into();
        assert_eq!(parse_hulft(&render_hulft(&awkward)).unwrap(), awkward);
    }

    #[test]
    fn reading_is_tolerant() {
        let text = "<GenericModels>\n<Language> en </Language><Models>\n\
            <Junk><GenericModel/></Junk>\n\
            <GenericModel><Status>1</Status><Number>1</Number><RowNumber>1</RowNumber>\
            <Id> 801 </Id><Uuid>u</Uuid><Extra/></GenericModel>\n\
            <GenericModel><Uuid>v</Uuid><Id>802</Id><RowNumber>2</RowNumber><Number>1</Number>\
            <Status>1</Status></GenericModel></Models>\
            <OrderId></OrderId><CustomerEMailAddress>a@b</CustomerEMailAddress></GenericModels>";
        let proposal = parse_generic(text).unwrap();
        assert_eq!(proposal.order_id, None);
        assert_eq!(proposal.language, "en");
        let ids: Vec<u32> = proposal.rows.iter().map(|row| row.plan_id).collect();
        assert_eq!(ids, [801, 802]);
        for models in ["<Models />", "<Models>\r\n  </Models>", ""] {
            let text = format!(
                "<GenericModels><CustomerEMailAddress>a</CustomerEMailAddress>\
                 <Language>en</Language>{models}</GenericModels>"
            );
            assert!(parse_generic(&text).unwrap().rows.is_empty(), "{models}");
        }
    }

    #[test]
    fn a_utf16_declaration_in_a_string_is_read() {
        let proposal = generic(Some("O-1"), &[801]);
        let text = render_generic(&proposal).replace(
            "<?xml version=\"1.0\"?>",
            "<?xml version=\"1.0\" encoding=\"utf-16\"?>",
        );
        assert_eq!(parse_generic(&text).unwrap(), proposal);
    }

    #[test]
    fn bad_documents_are_refused_with_a_reason() {
        let error = parse_generic(&render_hulft(&hulft())).unwrap_err();
        assert_eq!(
            error,
            "ProposalXml must be a <GenericModels> document; found <HulftModels>"
        );
        let text = render_hulft(&hulft()).replace("<Number>5</Number>", "<Number>five</Number>");
        assert_eq!(
            parse_hulft(&text).unwrap_err(),
            "<Number> of model 2 must be a whole number; found `five`"
        );
        let text = render_hulft(&hulft()).replacen("<Dc>jp4</Dc>", "", 1);
        let error = parse_hulft(&text).unwrap_err();
        assert!(error.contains("Dc"), "{error}");
        for text in ["", "not xml", "<HulftModels>", "<a></b>", "\u{0}\u{ffff}<<"] {
            assert!(parse_hulft(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn no_input_panics() {
        let mut rng = fastrand::Rng::with_seed(7);
        let seeds = [
            render_hulft(&hulft()),
            render_generic(&generic(Some("O"), &[801])),
        ];
        let pieces = [
            "<",
            ">",
            "</",
            "&",
            "&#",
            ";",
            "\"",
            "<![CDATA[",
            "]]>",
            "<?",
            "<!--",
            "\r\n",
            "=",
            "$value",
            "\u{fffd}",
        ];
        for round in 0..3000 {
            let mut text: Vec<char> = if round % 10 == 0 {
                (0..rng.usize(0..200)).map(|_| rng.char(..)).collect()
            } else {
                seeds[round % seeds.len()].chars().collect()
            };
            for _ in 0..rng.usize(1..6) {
                let at = rng.usize(0..=text.len());
                match rng.u8(0..3) {
                    0 => {
                        let end = (at + rng.usize(0..40)).min(text.len());
                        text.drain(at..end);
                    }
                    1 => {
                        let piece = pieces[rng.usize(0..pieces.len())];
                        text.splice(at..at, piece.chars());
                    }
                    _ => {
                        let end = (at + rng.usize(0..80)).min(text.len());
                        let copy = text[at..end].to_vec();
                        let to = rng.usize(0..=text.len());
                        text.splice(to..to, copy);
                    }
                }
            }
            let text: String = text.into_iter().collect();
            if let Ok(proposal) = parse_hulft(&text) {
                let _ = check_hulft(&proposal);
            }
            if let Ok(proposal) = parse_generic(&text) {
                let _ = check_generic(8, &proposal);
            }
        }
    }

    #[test]
    fn the_checks_accept_good_proposals() {
        assert_eq!(check_hulft(&hulft()), Ok(()));
        assert_eq!(check_generic(8, &generic(None, &[801, 808])), Ok(()));
        assert_eq!(check_generic(13, &generic(None, &[1301])), Ok(()));
        assert_eq!(check_generic(5, &generic(None, &[])), Ok(()));
    }

    #[test]
    fn the_checks_refuse_what_the_vendor_refuses() {
        let refuse = |change: fn(&mut HulftProposal)| {
            let mut proposal = hulft();
            change(&mut proposal);
            check_hulft(&proposal).unwrap_err()
        };
        assert!(refuse(|p| p.language = "jp".into()).contains("`ja` or `en`"));
        assert!(refuse(|p| p.rows[0].dc = "jp8".into()).contains("<Dc> of model 1"));
        assert!(refuse(|p| p.rows[1].status = 2).contains("<Status> of model 2 must be 1"));
        assert!(refuse(|p| p.rows[1].row_number = 3).contains("must be 2"));
        assert!(refuse(|p| p.rows[0].number = 0).contains("at least 1"));
        assert!(refuse(|p| p.rows[0].uuid = "x".into()).contains("must be a UUID"));
        assert!(
            refuse(|p| p.rows[0].script = None)
                .contains("no allowed HULFT combination has product `HULFT8 for Windows-Server`")
        );
        assert_eq!(
            refuse(|p| p.rows[0].aes = Some("なし".into())),
            "<Aes> of model 1 must be `None` in a `en` proposal; found `なし`"
        );
        let mut power = generic(None, &[801]);
        assert!(
            check_generic(5, &power)
                .unwrap_err()
                .contains("empty <Models>")
        );
        power.rows.clear();
        assert!(check_generic(1, &power).is_err());
        assert!(check_generic(6, &power).is_err());
        let error = check_generic(13, &generic(None, &[801])).unwrap_err();
        assert!(error.starts_with("<Id> of model 1: plan 801 (1zone Plan) belongs to FastDNS"));
        let error = check_generic(16, &generic(None, &[1301])).unwrap_err();
        assert!(
            error.contains("the vendor lists no plans for HybridCloudAWS"),
            "{error}"
        );
    }
}

/// The two independent spellings of the same documents must agree: what the
/// client writes the simulator reads, and the other way round, and both
/// write the same bytes for the same proposal.
#[cfg(test)]
mod cross_check {
    use super::tests::{arcserve, generic, hulft};
    use super::*;
    use crate::api::proposal_xml as api;
    use crate::resources::proposal_catalog::HULFT_COMBINATIONS;

    fn to_api_hulft(proposal: &HulftProposal) -> api::HulftModels {
        api::HulftModels {
            customer_email: proposal.email.clone(),
            language: proposal.language.clone(),
            models: proposal
                .rows
                .iter()
                .map(|row| api::HulftModel {
                    uuid: row.uuid.clone(),
                    dc: row.dc.clone(),
                    product: row.product.clone(),
                    cluster: row.cluster.clone(),
                    aes: row.aes.clone(),
                    script: row.script.clone(),
                    license_pack: row.license_pack.clone(),
                    name: row.name.clone(),
                    row_number: row.row_number,
                    parent_serial: row.parent_serial.clone(),
                    number: row.number,
                    status: row.status,
                })
                .collect(),
        }
    }

    fn to_api_generic(proposal: &GenericProposal) -> api::GenericModels {
        api::GenericModels {
            order_id: proposal.order_id.clone(),
            customer_email: proposal.email.clone(),
            language: proposal.language.clone(),
            models: proposal
                .rows
                .iter()
                .map(|row| api::GenericModel {
                    uuid: row.uuid.clone(),
                    id: row.plan_id,
                    row_number: row.row_number,
                    number: row.number,
                    status: row.status,
                })
                .collect(),
        }
    }

    fn to_api_arcserve(proposal: &ArcserveProposal) -> api::ArcserveModels {
        api::ArcserveModels {
            language: proposal.language.clone(),
            customer_email: proposal.email.clone(),
            company_name: proposal.company_name.clone(),
            product_id: proposal.product_id.clone(),
            product_name: proposal.product_name.clone(),
            product_name_en: proposal.product_name_en.clone(),
            support_desk_id: proposal.support_desk_id.clone(),
            support_desk_name: proposal.support_desk_name.clone(),
            support_desk_name_en: proposal.support_desk_name_en.clone(),
            arcserve_order_id: proposal.arcserve_order_id.clone(),
            models: proposal
                .licenses
                .iter()
                .map(|entry| api::ArcserveModel {
                    uuid: entry.uuid.clone(),
                    status_id: entry.status_id.clone(),
                    status_name: entry.status_name.clone(),
                    status_name_en: entry.status_name_en.clone(),
                    license_id: entry.license_id.clone(),
                    license_name1: entry.license_name1.clone(),
                    license_name1_en: entry.license_name1_en.clone(),
                    license_name2: entry.license_name2.clone(),
                    license_name2_en: entry.license_name2_en.clone(),
                    license_name3: entry.license_name3.clone(),
                    license_name3_en: entry.license_name3_en.clone(),
                    quantity_win: entry.quantity_win.clone(),
                    quantity_lin: entry.quantity_lin.clone(),
                    charge_start_date: entry.charge_start_date.clone(),
                    charge_end_date: entry.charge_end_date.clone(),
                    proposal_date: entry.proposal_date.clone(),
                    delete_date: entry.delete_date.clone(),
                    license_keys: entry
                        .keys
                        .iter()
                        .map(|key| api::LicenseKey {
                            key: key.key.clone(),
                            name1: key.name1.clone(),
                            name1_en: key.name1_en.clone(),
                            name2: key.name2.clone(),
                            name2_en: key.name2_en.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn generic_cases() -> Vec<GenericProposal> {
        vec![
            generic(None, &[801, 805]),
            generic(Some("ORD-2024-77"), &[1301]),
            generic(None, &[]),
        ]
    }

    #[test]
    fn both_sides_write_the_same_bytes() {
        let mut awkward = hulft();
        awkward.email = "a&b <c> \r\n d".into();
        awkward.rows[0].name = String::new();
        for proposal in [hulft(), awkward] {
            assert_eq!(to_api_hulft(&proposal).to_xml(), render_hulft(&proposal));
        }
        for proposal in generic_cases() {
            assert_eq!(
                to_api_generic(&proposal).to_xml(),
                render_generic(&proposal)
            );
        }
    }

    #[test]
    fn the_client_reads_what_the_simulator_writes() {
        let proposal = hulft();
        let read = api::HulftModels::from_xml(&render_hulft(&proposal)).unwrap();
        assert_eq!(read, to_api_hulft(&proposal));
        for proposal in generic_cases() {
            let read = api::GenericModels::from_xml(&render_generic(&proposal)).unwrap();
            assert_eq!(read, to_api_generic(&proposal));
        }
        let proposal = arcserve();
        let read = api::ArcserveModels::from_xml(&render_arcserve(&proposal)).unwrap();
        assert_eq!(read, to_api_arcserve(&proposal));
    }

    #[test]
    fn the_simulator_reads_what_the_client_writes() {
        let proposal = hulft();
        assert_eq!(
            parse_hulft(&to_api_hulft(&proposal).to_xml()).unwrap(),
            proposal
        );
        for proposal in generic_cases() {
            let text = to_api_generic(&proposal).to_xml();
            assert_eq!(parse_generic(&text).unwrap(), proposal);
        }
        let client = api::tests::hulft_sample();
        let read = parse_hulft(&client.to_xml()).unwrap();
        assert_eq!(to_api_hulft(&read), client);
        let client = api::tests::generic_sample(Some("ORD"), 3);
        let read = parse_generic(&client.to_xml()).unwrap();
        assert_eq!(to_api_generic(&read), client);
    }

    #[test]
    fn every_table_line_sent_by_the_client_passes_the_simulators_check() {
        for language in [Language::Ja, Language::En] {
            let models = HULFT_COMBINATIONS
                .iter()
                .enumerate()
                .map(|(index, line)| api::HulftModel {
                    uuid: format!("00000000-0000-4000-8000-{:012}", index),
                    dc: "jp1".into(),
                    product: line.product.get(language).into(),
                    cluster: line.cluster.map(|cell| cell.get(language).into()),
                    aes: line.aes.map(|cell| cell.get(language).into()),
                    script: line.script.map(|cell| cell.get(language).into()),
                    license_pack: line.license_pack.map(|cell| cell.get(language).into()),
                    name: line.name.get(language).into(),
                    row_number: index as u32 + 1,
                    parent_serial: None,
                    number: 1,
                    status: 1,
                })
                .collect();
            let client = api::HulftModels {
                customer_email: "ops@example.com".into(),
                language: language.code().into(),
                models,
            };
            let proposal = parse_hulft(&client.to_xml()).unwrap();
            assert_eq!(check_hulft(&proposal), Ok(()), "{language:?}");
        }
    }

    #[test]
    fn the_documents_samples_read_alike_on_both_sides() {
        let filled = api::tests::fill(
            api::tests::HULFT_SAMPLE,
            &[
                ("e-mail address", "ops@example.com"),
                ("language(ja/en)", "ja"),
                ("Uuid", "0f8fad5b-d9cb-469f-a165-70867728950e"),
                ("Dc", "jp2"),
                ("Product name", "HULFT8 for Linux-Enterprise"),
                ("Cluster", "あり(アクティブ機-CL)"),
                ("Aes", "なし"),
                ("Script", ""),
                ("LicensePack", ""),
                ("Name", "HULFT8 for Linux-Enterprise CL"),
                ("RowNumber", "1"),
                ("ParentSerial", ""),
                ("Number", "1"),
                ("Status", "1"),
            ],
        );
        let sim = parse_hulft(&filled).unwrap();
        assert_eq!(check_hulft(&sim), Ok(()));
        assert_eq!(
            to_api_hulft(&sim),
            api::HulftModels::from_xml(&filled).unwrap()
        );

        let filled = api::tests::fill(
            api::tests::GENERIC_SAMPLE,
            &[
                ("OrderId", "ORD-1"),
                ("CustomerEMailAddress", "ops@example.com"),
                ("Language", "en"),
                ("Uuid", "3f2504e0-4f89-41d3-9a0c-0305e82c3301"),
                ("Id", "803"),
                ("RowNumber", "1"),
                ("Number", "1"),
                ("Status", "1"),
            ],
        );
        let sim = parse_generic(&filled).unwrap();
        assert_eq!(check_generic(8, &sim), Ok(()));
        assert_eq!(
            to_api_generic(&sim),
            api::GenericModels::from_xml(&filled).unwrap()
        );
    }

    /// Each line reduced to its indentation and first tag.
    fn skeleton(text: &str) -> Vec<String> {
        text.lines()
            .map(|line| {
                let line = line.trim_end_matches('\r');
                match line.find('>') {
                    Some(end) => line[..=end].to_string(),
                    None => line.to_string(),
                }
            })
            .collect()
    }

    #[test]
    fn the_simulators_arcserve_document_has_the_samples_elements_in_order() {
        let mut proposal = arcserve();
        proposal.arcserve_order_id = Some("AS-1".into());
        proposal.licenses.truncate(1);
        proposal.licenses[0].keys.truncate(1);
        let entry = &mut proposal.licenses[0];
        entry.charge_end_date = Some("2025-03-31T00:00:00".into());
        entry.delete_date = Some("2025-04-01T00:00:00".into());
        let ours = render_arcserve(&proposal);
        assert_eq!(ours.matches('\n').count(), ours.matches("\r\n").count());
        assert_eq!(skeleton(&ours), skeleton(api::tests::ARCSERVE_SAMPLE));
    }
}
