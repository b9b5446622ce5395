//! The client's spelling of the Proposal API's XML documents (API.md sections
//! 3 and 5): it writes the `HulftModels` and `GenericModels` documents that
//! Add Proposal carries in `ProposalXml`, and reads them, and the
//! `ArcserveModels` document, back from Get Proposal.
//!
//! Output follows the vendor's samples byte for byte: `<?xml
//! version="1.0"?>` first, the root element with exactly the `xmlns:xsd` and
//! `xmlns:xsi` attributes, the elements in the samples' order with their
//! two-space indentation, and `\r\n` after each tag (the document: "\r\n is
//! output after each tag"). An element whose value is `None` (the vendor's
//! NULL) is left out; an empty element is written `<Name />`, as .NET's
//! `XmlSerializer` (whose namespace attributes the samples show) writes it.
//!
//! Input is read tolerantly: any whitespace and line ends, with or without
//! the namespace attributes or prefixes, elements in any order, unknown
//! elements ignored, text trimmed, an empty element or `xsi:nil="true"`
//! read as absent where the value is optional. A document that is not
//! well-formed, or lacks a required element, gives an [`XmlError`] that says
//! what and where; nothing here panics.
//!
//! The simulator spells the same documents on its own (`crate::sim`); the two
//! share no code but the tests that compare them.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// The attributes of every root element, as the samples show them.
const NAMESPACES: &str = r#"xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;

/// Deeper documents are refused: the proposal documents nest six levels.
const MAX_DEPTH: usize = 32;

/// A HULFT proposal (`HulftModels`): one row per `HulftModel`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HulftModels {
    pub customer_email: String,
    /// `ja` or `en`; the rows' text is in this language.
    pub language: String,
    pub models: Vec<HulftModel>,
}

/// One HULFT row. `cluster`, `aes`, `script` and `license_pack` are `None`
/// where the vendor's table says NULL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HulftModel {
    pub uuid: String,
    /// The region, `jp1` to `jp7`.
    pub dc: String,
    pub product: String,
    pub cluster: Option<String>,
    pub aes: Option<String>,
    pub script: Option<String>,
    pub license_pack: Option<String>,
    pub name: String,
    /// Counts from 1.
    pub row_number: u32,
    /// The parent's serial number or row number, when the row has a parent.
    pub parent_serial: Option<String>,
    /// How many of this row are added.
    pub number: u32,
    /// Fixed `1`.
    pub status: u32,
}

/// A proposal of Power Systems, FastDNS or Hybrid Cloud (`GenericModels`):
/// one row per plan; no rows for Power Systems.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenericModels {
    /// The proposal being updated; `None` when creating one.
    pub order_id: Option<String>,
    pub customer_email: String,
    pub language: String,
    pub models: Vec<GenericModel>,
}

/// One generic row: a plan id of the vendor's table and how many.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenericModel {
    pub uuid: String,
    /// The plan id (801, 1301, ...).
    pub id: u32,
    pub row_number: u32,
    pub number: u32,
    pub status: u32,
}

/// An Arcserve proposal as Get Proposal returns it (read only). Every value
/// but the language and the identifying `Uuid` and `Key` may be absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArcserveModels {
    pub language: String,
    pub customer_email: Option<String>,
    pub company_name: Option<String>,
    pub product_id: Option<String>,
    pub product_name: Option<String>,
    pub product_name_en: Option<String>,
    pub support_desk_id: Option<String>,
    pub support_desk_name: Option<String>,
    pub support_desk_name_en: Option<String>,
    pub arcserve_order_id: Option<String>,
    pub models: Vec<ArcserveModel>,
}

/// One license of an Arcserve proposal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArcserveModel {
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
    pub license_keys: Vec<LicenseKey>,
}

/// A license key of an Arcserve proposal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LicenseKey {
    pub key: String,
    pub name1: Option<String>,
    pub name1_en: Option<String>,
    pub name2: Option<String>,
    pub name2_en: Option<String>,
}

/// A proposal XML document that could not be read: what is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the proposal XML {what}{}", location(.line, .element))]
pub struct XmlError {
    /// What is wrong, e.g. "is not well-formed: ...", "lacks <Uuid>".
    pub what: String,
    /// The 1-based line, when known.
    pub line: Option<u64>,
    /// The element's path, e.g. `HulftModels/Models/HulftModel[2]/RowNumber`.
    pub element: Option<String>,
}

fn location(line: &Option<u64>, element: &Option<String>) -> String {
    match (line, element) {
        (Some(line), Some(element)) => format!(" (line {line}, at <{element}>)"),
        (Some(line), None) => format!(" (line {line})"),
        (None, Some(element)) => format!(" (at <{element}>)"),
        (None, None) => String::new(),
    }
}

impl HulftModels {
    /// The document Add Proposal sends for HULFT.
    pub fn to_xml(&self) -> String {
        let mut out = Out::start("HulftModels");
        out.leaf(1, "CustomerEMailAddress", &self.customer_email);
        out.leaf(1, "Language", &self.language);
        out.list(1, "Models", &self.models, |out, model| {
            out.open(2, "HulftModel");
            out.leaf(3, "Uuid", &model.uuid);
            out.leaf(3, "Dc", &model.dc);
            out.leaf(3, "Product", &model.product);
            out.optional(3, "Cluster", model.cluster.as_deref());
            out.optional(3, "Aes", model.aes.as_deref());
            out.optional(3, "Script", model.script.as_deref());
            out.optional(3, "LicensePack", model.license_pack.as_deref());
            out.leaf(3, "Name", &model.name);
            out.leaf(3, "RowNumber", &model.row_number.to_string());
            out.optional(3, "ParentSerial", model.parent_serial.as_deref());
            out.leaf(3, "Number", &model.number.to_string());
            out.leaf(3, "Status", &model.status.to_string());
            out.close(2, "HulftModel");
        });
        out.finish("HulftModels")
    }

    pub fn from_xml(text: &str) -> Result<Self, XmlError> {
        let tree = parse(text)?;
        let root = Node::root(&tree, "HulftModels")?;
        Ok(HulftModels {
            customer_email: root.text("CustomerEMailAddress")?,
            language: root.text("Language")?,
            models: root
                .list("Models", "HulftModel")?
                .into_iter()
                .map(|model| {
                    Ok(HulftModel {
                        uuid: model.text("Uuid")?,
                        dc: model.text("Dc")?,
                        product: model.text("Product")?,
                        cluster: model.optional("Cluster")?,
                        aes: model.optional("Aes")?,
                        script: model.optional("Script")?,
                        license_pack: model.optional("LicensePack")?,
                        name: model.text("Name")?,
                        row_number: model.number("RowNumber")?,
                        parent_serial: model.optional("ParentSerial")?,
                        number: model.number("Number")?,
                        status: model.number("Status")?,
                    })
                })
                .collect::<Result<_, XmlError>>()?,
        })
    }
}

impl GenericModels {
    /// The document Add Proposal sends for the services other than HULFT.
    pub fn to_xml(&self) -> String {
        let mut out = Out::start("GenericModels");
        out.optional(1, "OrderId", self.order_id.as_deref());
        out.leaf(1, "CustomerEMailAddress", &self.customer_email);
        out.leaf(1, "Language", &self.language);
        out.list(1, "Models", &self.models, |out, model| {
            out.open(2, "GenericModel");
            out.leaf(3, "Uuid", &model.uuid);
            out.leaf(3, "Id", &model.id.to_string());
            out.leaf(3, "RowNumber", &model.row_number.to_string());
            out.leaf(3, "Number", &model.number.to_string());
            out.leaf(3, "Status", &model.status.to_string());
            out.close(2, "GenericModel");
        });
        out.finish("GenericModels")
    }

    pub fn from_xml(text: &str) -> Result<Self, XmlError> {
        let tree = parse(text)?;
        let root = Node::root(&tree, "GenericModels")?;
        Ok(GenericModels {
            order_id: root.optional("OrderId")?,
            customer_email: root.text("CustomerEMailAddress")?,
            language: root.text("Language")?,
            models: root
                .list("Models", "GenericModel")?
                .into_iter()
                .map(|model| {
                    Ok(GenericModel {
                        uuid: model.text("Uuid")?,
                        id: model.number("Id")?,
                        row_number: model.number("RowNumber")?,
                        number: model.number("Number")?,
                        status: model.number("Status")?,
                    })
                })
                .collect::<Result<_, XmlError>>()?,
        })
    }
}

impl ArcserveModels {
    pub fn from_xml(text: &str) -> Result<Self, XmlError> {
        let tree = parse(text)?;
        let root = Node::root(&tree, "ArcserveModels")?;
        Ok(ArcserveModels {
            language: root.text("Language")?,
            customer_email: root.optional("CustomerEMailAddress")?,
            company_name: root.optional("CompanyName")?,
            product_id: root.optional("ProductId")?,
            product_name: root.optional("ProductName")?,
            product_name_en: root.optional("ProductNameEn")?,
            support_desk_id: root.optional("SupportDeskId")?,
            support_desk_name: root.optional("SupportDeskName")?,
            support_desk_name_en: root.optional("SupportDeskNameEn")?,
            arcserve_order_id: root.optional("ArcserveOrderId")?,
            models: root
                .list("Models", "ArcserveModel")?
                .into_iter()
                .map(|model| arcserve_model(&model))
                .collect::<Result<_, XmlError>>()?,
        })
    }
}

fn arcserve_model(model: &Node<'_>) -> Result<ArcserveModel, XmlError> {
    Ok(ArcserveModel {
        uuid: model.text("Uuid")?,
        status_id: model.optional("StatusId")?,
        status_name: model.optional("StatusName")?,
        status_name_en: model.optional("StatusNameEn")?,
        license_id: model.optional("LicenseId")?,
        license_name1: model.optional("LicenseName1")?,
        license_name1_en: model.optional("LicenseName1En")?,
        license_name2: model.optional("LicenseName2")?,
        license_name2_en: model.optional("LicenseName2En")?,
        license_name3: model.optional("LicenseName3")?,
        license_name3_en: model.optional("LicenseName3En")?,
        quantity_win: model.optional("QuantityWin")?,
        quantity_lin: model.optional("QuantityLin")?,
        charge_start_date: model.optional("ChargeStartDate")?,
        charge_end_date: model.optional("ChargeEndDate")?,
        proposal_date: model.optional("ProposalDate")?,
        delete_date: model.optional("DeleteDate")?,
        license_keys: model
            .list("LicenseKeys", "LicenseKey")?
            .into_iter()
            .map(|key| {
                Ok(LicenseKey {
                    key: key.text("Key")?,
                    name1: key.optional("Name1")?,
                    name1_en: key.optional("Name1En")?,
                    name2: key.optional("Name2")?,
                    name2_en: key.optional("Name2En")?,
                })
            })
            .collect::<Result<_, XmlError>>()?,
    })
}

// ---------------------------------------------------------------------------
// Writing

/// A document being written, one tag per line.
struct Out {
    text: String,
}

impl Out {
    fn start(root: &str) -> Out {
        let mut text = String::from("<?xml version=\"1.0\"?>\r\n");
        text.push_str(&format!("<{root} {NAMESPACES}>\r\n"));
        Out { text }
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.text.push_str("  ");
        }
    }

    fn open(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        self.text.push_str(&format!("<{name}>\r\n"));
    }

    fn close(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        self.text.push_str(&format!("</{name}>\r\n"));
    }

    fn leaf(&mut self, depth: usize, name: &str, value: &str) {
        self.indent(depth);
        if value.is_empty() {
            self.text.push_str(&format!("<{name} />\r\n"));
        } else {
            let value = escape(value);
            self.text.push_str(&format!("<{name}>{value}</{name}>\r\n"));
        }
    }

    fn optional(&mut self, depth: usize, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.leaf(depth, name, value);
        }
    }

    /// `<name>` around the items, or `<name />` when there are none.
    fn list<T>(&mut self, depth: usize, name: &str, items: &[T], item: impl Fn(&mut Out, &T)) {
        if items.is_empty() {
            self.indent(depth);
            self.text.push_str(&format!("<{name} />\r\n"));
            return;
        }
        self.open(depth, name);
        for each in items {
            item(self, each);
        }
        self.close(depth, name);
    }

    fn finish(mut self, root: &str) -> String {
        self.close(0, root);
        self.text
    }
}

/// Text content escaped: `&`, `<` and `>` as entities, and `\r` as `&#13;`
/// so that a reader's line-end normalisation keeps it.
fn escape(value: &str) -> String {
    quick_xml::escape::partial_escape(value).into_owned()
}

// ---------------------------------------------------------------------------
// Reading

/// An element of a parsed document: its text (all text directly inside it,
/// entities resolved) and its child elements.
#[derive(Debug)]
struct Element {
    name: String,
    line: u64,
    text: String,
    nil: bool,
    children: Vec<Element>,
}

impl Element {
    fn new(start: &BytesStart<'_>, line: u64) -> Result<Element, String> {
        let mut nil = false;
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|err| format!("has a malformed attribute: {err}"))?;
            if attribute.key.local_name().as_ref() == "nil" {
                nil = attribute.value.trim() == "true";
            }
        }
        Ok(Element {
            name: start.local_name().as_ref().to_string(),
            line,
            text: String::new(),
            nil,
            children: Vec::new(),
        })
    }
}

/// Turns byte offsets into 1-based line numbers, moving forward only.
struct Lines<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl Lines<'_> {
    fn at(&mut self, offset: u64) -> u64 {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        if offset > self.offset {
            let newlines = self.bytes[self.offset..offset]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.line += newlines as u64;
            self.offset = offset;
        }
        self.line
    }
}

fn path_of(stack: &[Element]) -> Option<String> {
    (!stack.is_empty()).then(|| {
        stack
            .iter()
            .map(|element| element.name.as_str())
            .collect::<Vec<_>>()
            .join("/")
    })
}

/// Parses a whole document into its root element.
fn parse(text: &str) -> Result<Element, XmlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    let mut lines = Lines {
        bytes: text.as_bytes(),
        offset: 0,
        line: 1,
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_event();
        let fail = |what: String, line: u64, stack: &[Element]| XmlError {
            what,
            line: Some(line),
            element: path_of(stack),
        };
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                let line = lines.at(reader.error_position());
                return Err(fail(format!("is not well-formed: {err}"), line, &stack));
            }
        };
        let line = lines.at(reader.buffer_position());
        let text_piece = match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let name = start.local_name().as_ref().to_string();
                return Err(fail(
                    format!("has a second root element <{name}>"),
                    line,
                    &stack,
                ));
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(fail(
                        format!("nests elements deeper than {MAX_DEPTH} levels"),
                        line,
                        &stack,
                    ));
                }
                let element = Element::new(&start, line).map_err(|what| {
                    let name = start.local_name().as_ref().to_string();
                    fail(format!("element <{name}> {what}"), line, &stack)
                })?;
                stack.push(element);
                continue;
            }
            Event::Empty(start) => {
                let element = Element::new(&start, line).map_err(|what| {
                    let name = start.local_name().as_ref().to_string();
                    fail(format!("element <{name}> {what}"), line, &stack)
                })?;
                attach(element, &mut stack, &mut root);
                continue;
            }
            Event::End(_) => {
                if let Some(element) = stack.pop() {
                    attach(element, &mut stack, &mut root);
                }
                continue;
            }
            Event::Text(text) => text.xml10_content().into_owned(),
            Event::CData(data) => data.xml10_content().into_owned(),
            Event::GeneralRef(reference) => match reference.resolve_char_ref() {
                Ok(Some(ch)) => ch.to_string(),
                Ok(None) => match quick_xml::escape::resolve_predefined_entity(&reference) {
                    Some(value) => value.to_string(),
                    None => {
                        return Err(fail(
                            format!("uses the unknown entity `&{};`", &*reference),
                            line,
                            &stack,
                        ));
                    }
                },
                Err(err) => {
                    return Err(fail(
                        format!("has a bad character reference `&{};`: {err}", &*reference),
                        line,
                        &stack,
                    ));
                }
            },
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => continue,
        };
        match stack.last_mut() {
            Some(element) => element.text.push_str(&text_piece),
            None if text_piece.trim().is_empty() => {}
            None => {
                return Err(fail(
                    "has text outside the root element".into(),
                    line,
                    &stack,
                ));
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(XmlError {
            what: format!("ends before <{}> is closed", open.name),
            line: Some(lines.at(u64::MAX)),
            element: path_of(&stack),
        });
    }
    root.ok_or_else(|| XmlError {
        what: "has no root element".into(),
        line: None,
        element: None,
    })
}

fn attach(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// An element being mapped to a struct, with its path for errors.
struct Node<'a> {
    element: &'a Element,
    path: String,
}

impl<'a> Node<'a> {
    fn root(element: &'a Element, expected: &str) -> Result<Node<'a>, XmlError> {
        if element.name != expected {
            return Err(XmlError {
                what: format!(
                    "has the root element <{}> where <{expected}> was expected",
                    element.name
                ),
                line: Some(element.line),
                element: None,
            });
        }
        Ok(Node {
            element,
            path: element.name.clone(),
        })
    }

    fn error(&self, what: String, line: u64, path: String) -> XmlError {
        XmlError {
            what,
            line: Some(line),
            element: Some(path),
        }
    }

    /// The child called `name`, when there is exactly one; two are an error.
    fn child(&self, name: &str) -> Result<Option<&'a Element>, XmlError> {
        let mut found = self.element.children.iter().filter(|c| c.name == name);
        let first = found.next();
        if let Some(second) = found.next() {
            return Err(self.error(
                format!("has <{name}> twice in <{}>", self.element.name),
                second.line,
                format!("{}/{name}", self.path),
            ));
        }
        Ok(first)
    }

    /// A required value (it may be empty).
    fn text(&self, name: &str) -> Result<String, XmlError> {
        match self.child(name)? {
            Some(child) => Ok(child.text.trim().to_string()),
            None => Err(self.error(
                format!("lacks <{name}> in <{}>", self.element.name),
                self.element.line,
                self.path.clone(),
            )),
        }
    }

    /// An optional value: absent, empty or `xsi:nil` are `None`.
    fn optional(&self, name: &str) -> Result<Option<String>, XmlError> {
        Ok(self.child(name)?.and_then(|child| {
            let text = child.text.trim();
            (!child.nil && !text.is_empty()).then(|| text.to_string())
        }))
    }

    /// A required whole number from 0 to 4294967295.
    fn number(&self, name: &str) -> Result<u32, XmlError> {
        let text = self.text(name)?;
        text.parse().map_err(|_| {
            let line = self
                .child(name)
                .ok()
                .flatten()
                .map_or(self.element.line, |child| child.line);
            self.error(
                format!("has `{text}` in <{name}> where a whole number was expected"),
                line,
                format!("{}/{name}", self.path),
            )
        })
    }

    /// The `item` children of the `container` child; none when the container
    /// is absent or empty.
    fn list(&self, container: &str, item: &str) -> Result<Vec<Node<'a>>, XmlError> {
        let Some(list) = self.child(container)? else {
            return Ok(Vec::new());
        };
        Ok(list
            .children
            .iter()
            .filter(|child| child.name == item)
            .enumerate()
            .map(|(index, element)| Node {
                element,
                path: format!("{}/{container}/{item}[{}]", self.path, index + 1),
            })
            .collect())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn hulft_sample() -> HulftModels {
        HulftModels {
            customer_email: "ops@example.com".into(),
            language: "ja".into(),
            models: vec![
                HulftModel {
                    uuid: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
                    dc: "jp1".into(),
                    product: "HULFT8 for Windows-Server".into(),
                    cluster: Some("あり(アクティブ機-CL)".into()),
                    aes: Some("あり".into()),
                    script: Some("なし".into()),
                    license_pack: None,
                    name: "HULFT8 for Windows-Server CL AES暗号オプション付".into(),
                    row_number: 1,
                    parent_serial: None,
                    number: 2,
                    status: 1,
                },
                HulftModel {
                    uuid: "7c9e6679-7425-40de-944b-e07fc1f90ae7".into(),
                    dc: "jp2".into(),
                    product: "HULFT8 for Linux-Enterprise".into(),
                    cluster: Some("あり(スタンバイ機(新規)-CL Add)".into()),
                    aes: Some("なし".into()),
                    script: None,
                    license_pack: None,
                    name: "HULFT8 for Linux-Enterprise CL Add".into(),
                    row_number: 2,
                    parent_serial: Some("1".into()),
                    number: 1,
                    status: 1,
                },
                HulftModel {
                    uuid: "c0a80101-0000-4000-8000-000000000003".into(),
                    dc: "jp7".into(),
                    product: "HULFT8 Manager".into(),
                    cluster: None,
                    aes: None,
                    script: None,
                    license_pack: None,
                    name: "HULFT8 Manager".into(),
                    row_number: 3,
                    parent_serial: None,
                    number: 1,
                    status: 1,
                },
            ],
        }
    }

    pub(crate) fn generic_sample(order_id: Option<&str>, rows: usize) -> GenericModels {
        GenericModels {
            order_id: order_id.map(Into::into),
            customer_email: "ops@example.com".into(),
            language: "en".into(),
            models: (1..=rows)
                .map(|row| GenericModel {
                    uuid: format!("3f2504e0-4f89-41d3-9a0c-0305e82c330{row}"),
                    id: 800 + row as u32,
                    row_number: row as u32,
                    number: 1,
                    status: 1,
                })
                .collect(),
        }
    }

    /// The Arcserve sample of the Get Proposal document, verbatim.
    pub(crate) const ARCSERVE_SAMPLE: &str = r#"<?xml version="1.0"?>
<ArcserveModels xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Language>{Language}</Language>
  <CustomerEMailAddress>{CustomerEMailAddress}</CustomerEMailAddress>
  <CompanyName>{CompanyName}</CompanyName>
  <ProductId>{ProductId}</ProductId>
  <ProductName>{ProductName}</ProductName>
  <ProductNameEn>{ProductNameEn}</ProductNameEn>
  <SupportDeskId>{SupportDeskId}</SupportDeskId>
  <SupportDeskName>{SupportDeskName}</SupportDeskName>
  <SupportDeskNameEn>{SupportDeskNameEn}</SupportDeskNameEn>
  <ArcserveOrderId>{ArcserveOrderId}</ArcserveOrderId>
  <Models>
    <ArcserveModel>
      <Uuid>{Uuid}</Uuid>
      <StatusId>{StatusId}</StatusId>
      <StatusName>{StatusName}</StatusName>
      <StatusNameEn>{StatusNameEn}</StatusNameEn>
      <LicenseId>{LicenseId}</LicenseId>
      <LicenseName1>{LicenseName1}</LicenseName1>
      <LicenseName1En>{LicenseName1En}</LicenseName1En>
      <LicenseName2>{LicenseName2}</LicenseName2>
      <LicenseName2En>{LicenseName2En}</LicenseName2En>
      <LicenseName3>{LicenseName3}</LicenseName3>
      <LicenseName3En>{LicenseName3En}</LicenseName3En>
      <QuantityWin>{QuantityWin}</QuantityWin>
      <QuantityLin>{QuantityLin}</QuantityLin>
      <ChargeStartDate>{ChargeStartDate}</ChargeStartDate>
      <ChargeEndDate>{ChargeEndDate}</ChargeEndDate>
      <ProposalDate>{ProposalDate}</ProposalDate>
      <DeleteDate>{DeleteDate}</DeleteDate>
      <LicenseKeys>
        <LicenseKey>
          <Key>{Key}</Key>
          <Name1>{Name1}</Name1>
          <Name1En>{Name1En}</Name1En>
          <Name2>{Name2}</Name2>
          <Name2En>{Name2En}</Name2En>
        </LicenseKey>
      </LicenseKeys>
    </ArcserveModel>
  </Models>
</ArcserveModels>"#;

    /// The HULFT sample of the Add Proposal document, verbatim.
    pub(crate) const HULFT_SAMPLE: &str = r#"<?xml version="1.0"?>
<HulftModels xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <CustomerEMailAddress>{e-mail address}</CustomerEMailAddress>
  <Language>{language(ja/en)}</Language>
  <Models>
    <HulftModel>
      <Uuid>{Uuid}</Uuid>
      <Dc>{Dc}</Dc>
      <Product>{Product name}</Product>
      <Cluster>{Cluster}</Cluster>
      <Aes>{Aes}</Aes>
      <Script>{Script}</Script>
      <LicensePack>{LicensePack}</LicensePack>
      <Name>{Name}</Name>
      <RowNumber>{RowNumber}</RowNumber>
      <ParentSerial>{ParentSerial}</ParentSerial>
      <Number>{Number}</Number>
      <Status>{Status}</Status>
    </HulftModel>
  </Models>
</HulftModels>"#;

    /// The generic sample of the Add Proposal document, verbatim.
    pub(crate) const GENERIC_SAMPLE: &str = r#"<?xml version="1.0"?>
<GenericModels xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <OrderId>{OrderId}</OrderId>
  <CustomerEMailAddress>{CustomerEMailAddress}</CustomerEMailAddress>
  <Language>{Language}</Language>
  <Models>
    <GenericModel>
      <Uuid>{Uuid}</Uuid>
      <Id>{Id}</Id>
      <RowNumber>{RowNumber}</RowNumber>
      <Number>{Number}</Number>
      <Status>{Status}</Status>
    </GenericModel>
  </Models>
</GenericModels>"#;

    /// Replaces each `{placeholder}`.
    pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
        let mut text = template.to_string();
        for (placeholder, value) in values {
            text = text.replace(&format!("{{{placeholder}}}"), value);
        }
        assert!(!text.contains('{'), "a placeholder is left: {text}");
        text
    }

    /// The part of `text` from the line holding `<tag>` to the line holding
    /// `</tag>`, with its line end.
    pub(crate) fn block<'t>(text: &'t str, tag: &str) -> &'t str {
        let start = text.find(&format!("<{tag}>")).unwrap();
        let start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let end = text.find(&format!("</{tag}>")).unwrap() + tag.len() + 3;
        let end = end + text[end..].find('\n').map_or(text.len() - end, |i| i + 1);
        &text[start..end]
    }

    /// The document's Arcserve sample with two models of two keys each.
    pub(crate) fn arcserve_document() -> String {
        let key_template = block(ARCSERVE_SAMPLE, "LicenseKey");
        let model_template = block(ARCSERVE_SAMPLE, "ArcserveModel");
        let model = |n: u32, license: &str| {
            let keys: String = (1..=2)
                .map(|k| {
                    fill(
                        key_template,
                        &[
                            ("Key", &format!("UDP{n}{k}-ABCD-EFGH-IJKL-MNOP")),
                            ("Name1", "Arcserve UDP 9"),
                            ("Name1En", "Arcserve UDP 9"),
                            (
                                "Name2",
                                if k == 1 {
                                    "スタンドアロン"
                                } else {
                                    "ソケット"
                                },
                            ),
                            ("Name2En", if k == 1 { "Standalone" } else { "Socket" }),
                        ],
                    )
                })
                .collect();
            fill(
                &model_template.replace(key_template, &keys),
                &[
                    ("Uuid", &format!("9b2f6c1e-0000-4000-8000-00000000000{n}")),
                    ("StatusId", "2"),
                    ("StatusName", "提供中"),
                    ("StatusNameEn", "Active"),
                    ("LicenseId", license),
                    ("LicenseName1", "Arcserve UDP 9 Advanced Edition"),
                    ("LicenseName1En", "Arcserve UDP 9 Advanced Edition"),
                    ("LicenseName2", "ソケット"),
                    ("LicenseName2En", "Socket"),
                    ("LicenseName3", "Windows/Linux"),
                    ("LicenseName3En", "Windows/Linux"),
                    ("QuantityWin", "2"),
                    ("QuantityLin", "1"),
                    ("ChargeStartDate", "2024-04-01T00:00:00"),
                    ("ChargeEndDate", "2025-03-31T00:00:00"),
                    ("ProposalDate", "2024-03-15T10:52:14.847"),
                    ("DeleteDate", ""),
                ],
            )
        };
        let models = format!("{}{}", model(1, "101"), model(2, "102"));
        fill(
            &ARCSERVE_SAMPLE.replace(model_template, &models),
            &[
                ("Language", "en"),
                ("CustomerEMailAddress", "ops@example.com"),
                ("CompanyName", "Example K.K."),
                ("ProductId", "6"),
                ("ProductName", "Arcserve UDP"),
                ("ProductNameEn", "Arcserve UDP"),
                ("SupportDeskId", "3"),
                ("SupportDeskName", "サポートデスク"),
                ("SupportDeskNameEn", "Support desk"),
                ("ArcserveOrderId", "AS-2024-0001"),
            ],
        )
    }

    #[test]
    fn a_small_hulft_proposal_renders_exactly_like_the_sample() {
        let models = HulftModels {
            customer_email: "a&b@example.com".into(),
            language: "en".into(),
            models: vec![HulftModel {
                uuid: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
                dc: "jp1".into(),
                product: "HULFT8 for Linux-Enterprise".into(),
                cluster: Some("None".into()),
                aes: Some("Yes".into()),
                script: None,
                license_pack: None,
                name: "HULFT8 for Linux-Enterprise with AES Cipher Option".into(),
                row_number: 1,
                parent_serial: None,
                number: 3,
                status: 1,
            }],
        };
        let expected = "<?xml version=\"1.0\"?>\r\n\
<HulftModels xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\r\n\
\x20 <CustomerEMailAddress>a&amp;b@example.com</CustomerEMailAddress>\r\n\
\x20 <Language>en</Language>\r\n\
\x20 <Models>\r\n\
\x20   <HulftModel>\r\n\
\x20     <Uuid>0f8fad5b-d9cb-469f-a165-70867728950e</Uuid>\r\n\
\x20     <Dc>jp1</Dc>\r\n\
\x20     <Product>HULFT8 for Linux-Enterprise</Product>\r\n\
\x20     <Cluster>None</Cluster>\r\n\
\x20     <Aes>Yes</Aes>\r\n\
\x20     <Name>HULFT8 for Linux-Enterprise with AES Cipher Option</Name>\r\n\
\x20     <RowNumber>1</RowNumber>\r\n\
\x20     <Number>3</Number>\r\n\
\x20     <Status>1</Status>\r\n\
\x20   </HulftModel>\r\n\
\x20 </Models>\r\n\
</HulftModels>\r\n";
        assert_eq!(models.to_xml(), expected);
    }

    #[test]
    fn output_has_the_samples_lines_with_crlf() {
        // With every element present, the output is the sample's skeleton.
        let mut models = hulft_sample();
        models.models.truncate(1);
        models.models[0].license_pack = Some("x".into());
        models.models[0].parent_serial = Some("x".into());
        let skeleton = |text: &str| -> Vec<String> {
            text.lines()
                .map(|line| match line.find('>') {
                    Some(end) if !line.trim_start().starts_with("</") => line[..=end].to_string(),
                    _ => line.to_string(),
                })
                .collect()
        };
        let ours = models.to_xml();
        assert!(ours.ends_with("\r\n"));
        assert_eq!(ours.matches('\n').count(), ours.matches("\r\n").count());
        assert_eq!(
            skeleton(&ours.replace("\r\n", "\n")),
            skeleton(HULFT_SAMPLE)
        );

        let generic = generic_sample(Some("ORD-1"), 1).to_xml();
        assert_eq!(
            generic.matches('\n').count(),
            generic.matches("\r\n").count()
        );
        assert_eq!(
            skeleton(&generic.replace("\r\n", "\n")),
            skeleton(GENERIC_SAMPLE)
        );
    }

    #[test]
    fn hulft_round_trips() {
        let models = hulft_sample();
        assert_eq!(HulftModels::from_xml(&models.to_xml()).unwrap(), models);
        let empty = HulftModels {
            models: vec![],
            ..hulft_sample()
        };
        assert_eq!(HulftModels::from_xml(&empty.to_xml()).unwrap(), empty);
    }

    #[test]
    fn awkward_text_round_trips() {
        let mut models = hulft_sample();
        models.customer_email = "<x> & \"y\" 'z' \r\n\t end".into();
        models.models[0].name = "a]]>b &amp; 日本語".into();
        assert_eq!(HulftModels::from_xml(&models.to_xml()).unwrap(), models);
    }

    #[test]
    fn generic_round_trips_with_and_without_an_order_id_and_with_no_rows() {
        for models in [
            generic_sample(None, 3),
            generic_sample(Some("ORD-2017-0001"), 2),
            generic_sample(None, 0),
        ] {
            assert_eq!(GenericModels::from_xml(&models.to_xml()).unwrap(), models);
        }
        let create = generic_sample(None, 1).to_xml();
        assert!(!create.contains("OrderId"));
        let power = generic_sample(None, 0).to_xml();
        assert!(power.contains("\r\n  <Models />\r\n"), "{power}");
    }

    #[test]
    fn both_spellings_of_empty_models_are_read() {
        for models in [
            "<Models />",
            "<Models></Models>",
            "<Models>\r\n  </Models>",
            "",
        ] {
            let text = format!(
                "<?xml version=\"1.0\"?>\r\n<GenericModels>\r\n  <CustomerEMailAddress>a@b</CustomerEMailAddress>\r\n  <Language>en</Language>\r\n  {models}\r\n</GenericModels>\r\n"
            );
            let parsed = GenericModels::from_xml(&text).unwrap();
            assert!(parsed.models.is_empty());
        }
    }

    #[test]
    fn the_documents_hulft_sample_is_read() {
        let text = fill(
            HULFT_SAMPLE,
            &[
                ("e-mail address", "ops@example.com"),
                ("language(ja/en)", "en"),
                ("Uuid", "0f8fad5b-d9cb-469f-a165-70867728950e"),
                ("Dc", "jp3"),
                ("Product name", "HULFT8 for Windows-Server"),
                ("Cluster", "Yes (Active-CL)"),
                ("Aes", "Yes"),
                ("Script", "Yes"),
                ("LicensePack", ""),
                (
                    "Name",
                    "HULFT8 for Windows-Server CL with AES Cipher Option and Script Option",
                ),
                ("RowNumber", "1"),
                ("ParentSerial", ""),
                ("Number", "2"),
                ("Status", "1"),
            ],
        );
        let parsed = HulftModels::from_xml(&text).unwrap();
        assert_eq!(parsed.customer_email, "ops@example.com");
        assert_eq!(parsed.language, "en");
        let model = &parsed.models[0];
        assert_eq!(model.dc, "jp3");
        assert_eq!(model.cluster.as_deref(), Some("Yes (Active-CL)"));
        assert_eq!(model.license_pack, None);
        assert_eq!(model.parent_serial, None);
        assert_eq!((model.row_number, model.number, model.status), (1, 2, 1));
        // The same with CRLF line ends.
        let crlf = HulftModels::from_xml(&text.replace('\n', "\r\n")).unwrap();
        assert_eq!(crlf, parsed);
    }

    #[test]
    fn the_documents_generic_sample_is_read() {
        let text = fill(
            GENERIC_SAMPLE,
            &[
                ("OrderId", "ORD-2017-0001"),
                ("CustomerEMailAddress", "ops@example.com"),
                ("Language", "ja"),
                ("Uuid", "3f2504e0-4f89-41d3-9a0c-0305e82c3301"),
                ("Id", "1301"),
                ("RowNumber", "1"),
                ("Number", "4"),
                ("Status", "1"),
            ],
        );
        let parsed = GenericModels::from_xml(&text).unwrap();
        assert_eq!(parsed.order_id.as_deref(), Some("ORD-2017-0001"));
        assert_eq!(parsed.language, "ja");
        assert_eq!(
            parsed.models,
            [GenericModel {
                uuid: "3f2504e0-4f89-41d3-9a0c-0305e82c3301".into(),
                id: 1301,
                row_number: 1,
                number: 4,
                status: 1
            }]
        );
    }

    #[test]
    fn the_documents_arcserve_sample_is_read_with_two_models_of_two_keys() {
        let parsed = ArcserveModels::from_xml(&arcserve_document()).unwrap();
        assert_eq!(parsed.language, "en");
        assert_eq!(parsed.company_name.as_deref(), Some("Example K.K."));
        assert_eq!(parsed.support_desk_name.as_deref(), Some("サポートデスク"));
        assert_eq!(parsed.arcserve_order_id.as_deref(), Some("AS-2024-0001"));
        assert_eq!(parsed.models.len(), 2);
        let second = &parsed.models[1];
        assert_eq!(second.uuid, "9b2f6c1e-0000-4000-8000-000000000002");
        assert_eq!(second.license_id.as_deref(), Some("102"));
        assert_eq!(second.status_name.as_deref(), Some("提供中"));
        assert_eq!(second.quantity_win.as_deref(), Some("2"));
        assert_eq!(second.delete_date, None);
        assert_eq!(second.license_keys.len(), 2);
        assert_eq!(second.license_keys[1].key, "UDP22-ABCD-EFGH-IJKL-MNOP");
        assert_eq!(second.license_keys[1].name2_en.as_deref(), Some("Socket"));
    }

    #[test]
    fn reading_is_tolerant() {
        let text = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- a comment -->\n\
            <GenericModels><Models><Extra><GenericModel><Id>1</Id></GenericModel></Extra>\
            <GenericModel><Status> 1 </Status><Number>2</Number><RowNumber>1</RowNumber>\
            <Id>\n801\n</Id><Uuid>u</Uuid><Unknown a=\"b\"/></GenericModel>\
            <Noise>text</Noise></Models><Language>en</Language>\
            <CustomerEMailAddress><![CDATA[a<b@example.com]]></CustomerEMailAddress>\
            <OrderId xsi:nil=\"true\" /></GenericModels>";
        let parsed = GenericModels::from_xml(text).unwrap();
        assert_eq!(parsed.order_id, None);
        assert_eq!(parsed.customer_email, "a<b@example.com");
        assert_eq!(parsed.models.len(), 1);
        assert_eq!(parsed.models[0].id, 801);
        assert_eq!(parsed.models[0].status, 1);
    }

    #[test]
    fn a_utf16_declaration_in_a_string_is_read() {
        // .NET's XmlSerializer declares utf-16 when it writes to a string.
        let models = generic_sample(Some("O-1"), 1);
        let text = models.to_xml().replace(
            "<?xml version=\"1.0\"?>",
            "<?xml version=\"1.0\" encoding=\"utf-16\"?>",
        );
        assert_eq!(GenericModels::from_xml(&text).unwrap(), models);
    }

    #[test]
    fn errors_say_what_and_where() {
        let wrong_root = GenericModels::from_xml(&hulft_sample().to_xml()).unwrap_err();
        assert_eq!(
            wrong_root.to_string(),
            "the proposal XML has the root element <HulftModels> where <GenericModels> was \
             expected (line 2)"
        );
        let text = hulft_sample()
            .to_xml()
            .replace("<RowNumber>2</RowNumber>", "<RowNumber>two</RowNumber>");
        let error = HulftModels::from_xml(&text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the proposal XML has `two` in <RowNumber> where a whole number was expected \
             (line 25, at <HulftModels/Models/HulftModel[2]/RowNumber>)"
        );
        let text = hulft_sample().to_xml().replacen("<Dc>jp1</Dc>\r\n", "", 1);
        let error = HulftModels::from_xml(&text).unwrap_err();
        assert_eq!(error.what, "lacks <Dc> in <HulftModel>");
        assert_eq!(
            error.element.as_deref(),
            Some("HulftModels/Models/HulftModel[1]")
        );
        let text = hulft_sample()
            .to_xml()
            .replacen("<Dc>jp1</Dc>", "<Dc>jp1</Dc><Dc>jp2</Dc>", 1);
        let error = HulftModels::from_xml(&text).unwrap_err();
        assert_eq!(error.what, "has <Dc> twice in <HulftModel>");
    }

    #[test]
    fn malformed_documents_are_errors() {
        let good = hulft_sample().to_xml();
        let cases = [
            good[..good.len() / 2].to_string(),
            good.replace("</Product>", "</Produkt>"),
            good.replace("<Uuid>", "<Uuid a=>"),
            good.replace("jp1", "jp1 &nbsp;"),
            good.replace("jp1", "&#xFFFFFFFF;"),
            format!("{good}<HulftModels />"),
            format!("{good}trailing"),
            "leading".to_string() + &good,
            String::new(),
            "<?xml version=\"1.0\"?>".into(),
            "\u{0}\u{1}\u{fffd}\u{7f}garbage<<>>&&".into(),
            "<a>".repeat(100),
            "<HulftModels><Models>".into(),
            "</HulftModels>".into(),
        ];
        for text in cases {
            let error = HulftModels::from_xml(&text);
            assert!(error.is_err(), "accepted: {text:?}");
        }
    }

    #[test]
    fn no_input_panics() {
        let mut rng = fastrand::Rng::with_seed(20240601);
        let seeds = [
            hulft_sample().to_xml(),
            generic_sample(Some("O"), 2).to_xml(),
            arcserve_document(),
        ];
        let pieces: &[&[u8]] = &[
            b"<",
            b">",
            b"/",
            b"&",
            b"&amp;",
            b"&#",
            b";",
            b"\"",
            b"<![CDATA[",
            b"]]>",
            b"<?",
            b"?>",
            b"<!--",
            b"-->",
            b"<!DOCTYPE x [",
            b"\r\n",
            b"\xff",
            b"\xe3\x81",
            b"=",
            b" ",
            b"xsi:nil=\"true\"",
        ];
        for round in 0..3000 {
            let mut bytes = if round % 10 == 0 {
                (0..rng.usize(0..200)).map(|_| rng.u8(..)).collect()
            } else {
                seeds[round % seeds.len()].clone().into_bytes()
            };
            for _ in 0..rng.usize(1..6) {
                let at = rng.usize(0..=bytes.len());
                match rng.u8(0..4) {
                    0 => {
                        let end = (at + rng.usize(0..40)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                    1 => {
                        let piece = pieces[rng.usize(0..pieces.len())];
                        bytes.splice(at..at, piece.iter().copied());
                    }
                    2 => {
                        let end = (at + rng.usize(0..80)).min(bytes.len());
                        let copy = bytes[at..end].to_vec();
                        let to = rng.usize(0..=bytes.len());
                        bytes.splice(to..to, copy);
                    }
                    _ => {
                        if at < bytes.len() {
                            bytes[at] = rng.u8(..);
                        }
                    }
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            let _ = HulftModels::from_xml(&text);
            let _ = GenericModels::from_xml(&text);
            let _ = ArcserveModels::from_xml(&text);
        }
    }
}
