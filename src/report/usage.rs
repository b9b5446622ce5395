//! Usage reports of a Redstor company and its customers: consumption
//! (seats, workloads, bytes protected, fair-use overage) and backup or
//! restore outcomes. Pure: [`consumption`] and [`statuses`] build a report
//! from what `crate::api::redstor_reports` read, and [`text`], [`json`] and
//! [`markdown`] render it; the CLI decides where the strings go. Company
//! and product names, which the server chose, are shown through
//! [`crate::escape`].
//!
//! Consumption lists the company itself, then its customers at any depth
//! (by name), each per product. Status reports list the companies with
//! failed or erroring jobs first (most failures, then most errors, then by
//! name), then the rest by name. Both end with totals.

use std::cmp::Reverse;
use std::fmt::Write;

use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::redstor_reports::{
    CompanyStatuses, Consumption, Operation, ProductConsumption, TransitiveConsumption,
};
use crate::escape;

/// The version of the JSON this module writes; raised on any change that
/// is not an added field.
pub const FORMAT_VERSION: u32 = 1;

/// The company a report is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompanyRef {
    pub id: Uuid,
    pub name: String,
}

/// Usage counters of one row, or a sum of rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub active_seats: u64,
    pub inactive_seats: u64,
    pub shared_seats: u64,
    pub active_workloads: u64,
    pub data_protected_bytes: u64,
    pub data_protected_external_bytes: u64,
    pub fup_overage_bytes: u64,
}

impl Usage {
    fn add(&mut self, other: &Usage) {
        self.active_seats += other.active_seats;
        self.inactive_seats += other.inactive_seats;
        self.shared_seats += other.shared_seats;
        self.active_workloads += other.active_workloads;
        self.data_protected_bytes += other.data_protected_bytes;
        self.data_protected_external_bytes += other.data_protected_external_bytes;
        self.fup_overage_bytes += other.fup_overage_bytes;
    }
}

impl From<&Consumption> for Usage {
    fn from(c: &Consumption) -> Self {
        Usage {
            active_seats: c.active_seats,
            inactive_seats: c.inactive_seats,
            shared_seats: c.shared_seats,
            active_workloads: c.active_workloads,
            data_protected_bytes: c.total_data_protected_in_bytes,
            data_protected_external_bytes: c.total_data_protected_in_bytes_external,
            fup_overage_bytes: c.fup_overage_in_bytes,
        }
    }
}

/// One product of one company.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumptionRow {
    pub company_id: Uuid,
    pub company_name: String,
    /// The company the report is about (not one of its customers).
    pub own: bool,
    pub product_id: u32,
    pub product_name: String,
    pub sku: Option<String>,
    pub trial: bool,
    #[serde(flatten)]
    pub usage: Usage,
}

/// Consumption of a company and every customer below it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsumptionReport {
    pub company: CompanyRef,
    /// The `--date` asked for (RFC 3339); now when absent.
    pub date: Option<String>,
    pub exclude_trials: bool,
    pub rows: Vec<ConsumptionRow>,
    pub totals: Usage,
}

/// Builds the consumption report: the company's own products, then its
/// customers' (by name, then id), each company's by product id.
pub fn consumption(
    company: CompanyRef,
    date: Option<String>,
    exclude_trials: bool,
    own: &[ProductConsumption],
    customers: &[TransitiveConsumption],
) -> ConsumptionReport {
    let row = |id: Uuid, name: &str, is_own: bool, p: &ProductConsumption| ConsumptionRow {
        company_id: id,
        company_name: name.to_string(),
        own: is_own,
        product_id: p.product_id,
        product_name: product_name(p.product_id, p.product_name.as_deref()),
        sku: p.sku.clone(),
        trial: p.is_trial,
        usage: Usage::from(&p.usage),
    };
    let mut first: Vec<ConsumptionRow> = own
        .iter()
        .map(|p| row(company.id, &company.name, true, p))
        .collect();
    first.sort_by_key(|r| r.product_id);
    let mut rest: Vec<ConsumptionRow> = customers
        .iter()
        .map(|c| {
            let name = c
                .company_name
                .clone()
                .unwrap_or_else(|| c.company_id.to_string());
            row(c.company_id, &name, false, &c.product)
        })
        .collect();
    rest.sort_by(|a, b| {
        a.company_name
            .to_lowercase()
            .cmp(&b.company_name.to_lowercase())
            .then(a.company_id.cmp(&b.company_id))
            .then(a.product_id.cmp(&b.product_id))
    });
    first.extend(rest);
    let mut totals = Usage::default();
    for r in &first {
        totals.add(&r.usage);
    }
    ConsumptionReport {
        company,
        date,
        exclude_trials,
        rows: first,
        totals,
    }
}

/// Job outcomes, per product or summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub success: u64,
    pub warnings: u64,
    pub errors: u64,
    pub failed: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.success += other.success;
        self.warnings += other.warnings;
        self.errors += other.errors;
        self.failed += other.failed;
    }

    /// Whether any job failed or ended in error.
    pub fn troubled(&self) -> bool {
        self.failed > 0 || self.errors > 0
    }
}

/// One product's outcomes in one company.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductCounts {
    pub product_id: u32,
    pub product_name: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// One company's outcomes; a customer's include every company below it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompanyCounts {
    pub company_id: Uuid,
    pub company_name: String,
    /// The company the report is about (not one of its customers).
    pub own: bool,
    pub products: Vec<ProductCounts>,
    pub total: Counts,
}

/// Backup or restore outcomes of a company and its direct customers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    #[serde(skip)]
    pub operation: Operation,
    pub company: CompanyRef,
    /// The `--product` filter.
    pub product: Option<u32>,
    pub companies: Vec<CompanyCounts>,
    pub totals: Counts,
}

/// Builds a status report from the company's own outcomes (`None`: no job)
/// and its direct customers' aggregated ones. Troubled companies first:
/// failed descending, then errors descending, then name; then the rest by
/// name.
pub fn statuses(
    operation: Operation,
    company: CompanyRef,
    product: Option<u32>,
    own: Option<&CompanyStatuses>,
    customers: &[CompanyStatuses],
) -> StatusReport {
    let entry = |id: Uuid, name: String, is_own: bool, s: Option<&CompanyStatuses>| {
        let mut products: Vec<ProductCounts> = s
            .map(|s| s.statuses.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|p| ProductCounts {
                product_id: p.product_id,
                product_name: product_name(p.product_id, p.product_name.as_deref()),
                counts: Counts {
                    success: p.success,
                    warnings: p.warnings,
                    errors: p.errors,
                    failed: p.failed,
                },
            })
            .collect();
        products.sort_by_key(|p| p.product_id);
        let mut total = Counts::default();
        for p in &products {
            total.add(&p.counts);
        }
        CompanyCounts {
            company_id: id,
            company_name: name,
            own: is_own,
            products,
            total,
        }
    };
    let mut companies = vec![entry(company.id, company.name.clone(), true, own)];
    companies.extend(customers.iter().map(|c| {
        let name = c
            .company_name
            .clone()
            .unwrap_or_else(|| c.company_id.to_string());
        entry(c.company_id, name, false, Some(c))
    }));
    companies.sort_by(|a, b| {
        let key = |c: &CompanyCounts| {
            (
                !c.total.troubled(),
                Reverse(c.total.failed),
                Reverse(c.total.errors),
            )
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| {
                a.company_name
                    .to_lowercase()
                    .cmp(&b.company_name.to_lowercase())
            })
            .then(a.company_id.cmp(&b.company_id))
    });
    let mut totals = Counts::default();
    for c in &companies {
        totals.add(&c.total);
    }
    StatusReport {
        operation,
        company,
        product,
        companies,
        totals,
    }
}

/// A report of either family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageReport {
    Consumption(ConsumptionReport),
    Status(StatusReport),
}

impl UsageReport {
    /// `consumption`, `backups` or `restores`: the report's name in its JSON.
    pub fn name(&self) -> &'static str {
        match self {
            UsageReport::Consumption(_) => "consumption",
            UsageReport::Status(s) => s.operation.as_str(),
        }
    }
}

fn product_name(id: u32, name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => name.to_string(),
        None => format!("product {id}"),
    }
}

/// Bytes in binary units with one decimal: `512 B`, `1.5 KiB`, `1.2 TiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // Move up when the rounded figure would read 1024.0.
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Names among `candidates` close to `name` (case ignored): containing it,
/// contained in it, or a few edits away; nearest first, at most `limit`.
pub fn close_names<'a>(name: &str, candidates: &'a [String], limit: usize) -> Vec<&'a str> {
    let wanted = name.trim().to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .iter()
        .filter_map(|candidate| {
            let lower = candidate.to_lowercase();
            let distance = strsim::levenshtein(&wanted, &lower);
            let allowed = (lower.chars().count().max(wanted.chars().count()) / 3).max(1);
            let overlaps =
                !wanted.is_empty() && (lower.contains(&wanted) || wanted.contains(&lower));
            (distance <= allowed || overlaps).then_some((distance, candidate.as_str()))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(limit).map(|(_, n)| n).collect()
}

/// Whether a column is text (left-aligned) or a number (right-aligned).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// A cell and the ANSI colour it is painted in, if any.
struct Cell {
    text: String,
    color: Option<&'static str>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, color: None }
    }
}

impl Cell {
    /// A cell of text the server chose (a company or product name).
    fn named(raw: &str) -> Self {
        Cell::from(escape::text(raw).into_owned())
    }
}

/// A table with a header row, body rows and a total row, aligned for a
/// terminal: two spaces between columns, no trailing spaces.
struct Table {
    header: Vec<&'static str>,
    align: Vec<Align>,
    rows: Vec<Vec<Cell>>,
    total: Vec<Cell>,
}

impl Table {
    fn render(&self, out: &mut String, color: bool) {
        let columns = self.header.len();
        let width = |cell: &str| cell.chars().count();
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for row in self.rows.iter().chain(std::iter::once(&self.total)) {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(width(&cell.text));
            }
        }
        let line = |out: &mut String, cells: Vec<(&str, Option<&'static str>)>, bold: bool| {
            let mut text = String::new();
            for (i, (cell, paint)) in cells.iter().enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                let pad = " ".repeat(widths[i].saturating_sub(width(cell)));
                let shown = match (color, paint) {
                    (true, Some(code)) => format!("\x1b[{code}m{cell}\x1b[0m"),
                    _ => cell.to_string(),
                };
                match self.align[i] {
                    Align::Left => {
                        text.push_str(&shown);
                        text.push_str(&pad);
                    }
                    Align::Right => {
                        text.push_str(&pad);
                        text.push_str(&shown);
                    }
                }
            }
            let text = text.trim_end();
            if bold && color {
                let _ = writeln!(out, "\x1b[1m{text}\x1b[0m");
            } else {
                let _ = writeln!(out, "{text}");
            }
        };
        line(out, self.header.iter().map(|h| (*h, None)).collect(), true);
        for row in &self.rows {
            line(
                out,
                row.iter().map(|c| (c.text.as_str(), c.color)).collect(),
                false,
            );
        }
        line(
            out,
            self.total
                .iter()
                .map(|c| (c.text.as_str(), c.color))
                .collect(),
            true,
        );
    }
}

const CONSUMPTION_HEADER: [&str; 10] = [
    "COMPANY",
    "PRODUCT",
    "TRIAL",
    "ACTIVE",
    "INACTIVE",
    "SHARED",
    "WORKLOADS",
    "PROTECTED",
    "EXTERNAL",
    "OVERAGE",
];

const STATUS_HEADER: [&str; 6] = [
    "COMPANY", "PRODUCT", "SUCCESS", "WARNINGS", "ERRORS", "FAILED",
];

fn usage_cells(usage: &Usage) -> Vec<String> {
    vec![
        usage.active_seats.to_string(),
        usage.inactive_seats.to_string(),
        usage.shared_seats.to_string(),
        usage.active_workloads.to_string(),
        human_bytes(usage.data_protected_bytes),
        human_bytes(usage.data_protected_external_bytes),
        human_bytes(usage.fup_overage_bytes),
    ]
}

fn count_cells(counts: &Counts) -> Vec<Cell> {
    let painted = |n: u64, code: &'static str| Cell {
        text: n.to_string(),
        color: (n > 0).then_some(code),
    };
    vec![
        Cell::from(counts.success.to_string()),
        painted(counts.warnings, "33"),
        painted(counts.errors, "31"),
        painted(counts.failed, "1;31"),
    ]
}

fn heading(report: &UsageReport) -> String {
    match report {
        UsageReport::Consumption(r) => {
            let mut line = format!("Consumption of {} and its customers", r.company.name);
            let mut notes = Vec::new();
            if let Some(date) = &r.date {
                notes.push(format!("at {date}"));
            }
            if r.exclude_trials {
                notes.push("trials excluded".to_string());
            }
            if !notes.is_empty() {
                let _ = write!(line, " ({})", notes.join(", "));
            }
            line
        }
        UsageReport::Status(r) => {
            let what = match r.operation {
                Operation::Backups => "Backup",
                Operation::Restores => "Restore",
            };
            let mut line = format!(
                "{what} outcomes of {} and its customers (each customer with the companies below it)",
                r.company.name
            );
            if let Some(product) = r.product {
                let _ = write!(line, ", product {product}");
            }
            line
        }
    }
}

/// Text for a terminal: aligned columns, numbers right-aligned, bytes in
/// binary units; with `color`, warnings yellow and errors and failures red.
pub fn text(report: &UsageReport, color: bool) -> String {
    let mut out = format!("{}\n\n", escape::text(&heading(report)));
    match report {
        UsageReport::Consumption(r) => {
            if r.rows.is_empty() {
                out.push_str("No consumption.\n");
                return out;
            }
            let mut align = vec![Align::Left; 3];
            align.extend([Align::Right; 7]);
            let rows = r
                .rows
                .iter()
                .map(|row| {
                    let mut cells = vec![
                        Cell::named(&row.company_name),
                        Cell::named(&row.product_name),
                        Cell::from(if row.trial { "trial" } else { "" }.to_string()),
                    ];
                    cells.extend(usage_cells(&row.usage).into_iter().map(Cell::from));
                    cells
                })
                .collect();
            let mut total = vec![
                Cell::from("TOTAL".to_string()),
                Cell::from(String::new()),
                Cell::from(String::new()),
            ];
            total.extend(usage_cells(&r.totals).into_iter().map(Cell::from));
            Table {
                header: CONSUMPTION_HEADER.to_vec(),
                align,
                rows,
                total,
            }
            .render(&mut out, color);
        }
        UsageReport::Status(r) => {
            let mut align = vec![Align::Left; 2];
            align.extend([Align::Right; 4]);
            let mut rows = Vec::new();
            for company in &r.companies {
                if company.products.is_empty() {
                    let mut cells = vec![
                        Cell::named(&company.company_name),
                        Cell::from("-".to_string()),
                    ];
                    cells.extend(count_cells(&Counts::default()));
                    rows.push(cells);
                }
                for (i, product) in company.products.iter().enumerate() {
                    // The name only on a company's first line.
                    let name = if i == 0 {
                        Cell::named(&company.company_name)
                    } else {
                        Cell::from(String::new())
                    };
                    let mut cells = vec![name, Cell::named(&product.product_name)];
                    cells.extend(count_cells(&product.counts));
                    rows.push(cells);
                }
            }
            let mut total = vec![Cell::from("TOTAL".to_string()), Cell::from(String::new())];
            total.extend(count_cells(&r.totals));
            Table {
                header: STATUS_HEADER.to_vec(),
                align,
                rows,
                total,
            }
            .render(&mut out, color);
            let troubled = r.companies.iter().filter(|c| c.total.troubled()).count();
            let _ = writeln!(
                out,
                "\n{troubled} of {} companies with failed or erroring jobs.",
                r.companies.len()
            );
        }
    }
    out
}

/// The versioned JSON: `{"format_version": 1, "report": "consumption", ...}`.
pub fn json(report: &UsageReport) -> Value {
    let mut body = match report {
        UsageReport::Consumption(r) => json!(r),
        UsageReport::Status(r) => json!(r),
    };
    let mut out = serde_json::Map::new();
    out.insert("format_version".into(), json!(FORMAT_VERSION));
    out.insert("report".into(), json!(report.name()));
    if let Some(fields) = body.as_object_mut() {
        out.append(fields);
    }
    Value::Object(out)
}

/// Markdown for a pull request or a chat post: a heading and one table,
/// the total row in bold.
pub fn markdown(report: &UsageReport) -> String {
    let mut out = format!("### {}\n\n", escape::md_text(&heading(report)));
    match report {
        UsageReport::Consumption(r) => {
            if r.rows.is_empty() {
                out.push_str("No consumption.\n");
                return out;
            }
            out.push_str(
                "| company | product | trial | active | inactive | shared | workloads | protected | external | overage |\n\
                 |---|---|---|--:|--:|--:|--:|--:|--:|--:|\n",
            );
            for row in &r.rows {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    escape::md_text(&row.company_name),
                    escape::md_text(&row.product_name),
                    if row.trial { "trial" } else { "" },
                    usage_cells(&row.usage).join(" | ")
                );
            }
            let bold: Vec<String> = usage_cells(&r.totals)
                .into_iter()
                .map(|c| format!("**{c}**"))
                .collect();
            let _ = writeln!(out, "| **total** | | | {} |", bold.join(" | "));
        }
        UsageReport::Status(r) => {
            out.push_str(
                "| company | product | success | warnings | errors | failed |\n|---|---|--:|--:|--:|--:|\n",
            );
            let counts = |c: &Counts| {
                format!(
                    "{} | {} | {} | {}",
                    c.success, c.warnings, c.errors, c.failed
                )
            };
            for company in &r.companies {
                if company.products.is_empty() {
                    let _ = writeln!(
                        out,
                        "| {} | - | {} |",
                        escape::md_text(&company.company_name),
                        counts(&Counts::default())
                    );
                }
                for product in &company.products {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} |",
                        escape::md_text(&company.company_name),
                        escape::md_text(&product.product_name),
                        counts(&product.counts)
                    );
                }
            }
            let t = &r.totals;
            let _ = writeln!(
                out,
                "| **total** | | **{}** | **{}** | **{}** | **{}** |",
                t.success, t.warnings, t.errors, t.failed
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::redstor_reports::OperationStatus;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn product(product_id: u32, seats: u64, bytes: u64, trial: bool) -> ProductConsumption {
        ProductConsumption {
            usage: Consumption {
                active_seats: seats,
                inactive_seats: 1,
                total_data_protected_in_bytes: bytes,
                ..Consumption::default()
            },
            product_id,
            product_name: Some(format!("P{product_id}")),
            subscription_id: None,
            sku: None,
            is_trial: trial,
        }
    }

    fn customer(n: u128, name: &str, p: ProductConsumption) -> TransitiveConsumption {
        TransitiveConsumption {
            product: p,
            company_id: id(n),
            company_name: Some(name.into()),
            parent_company_id: Some(id(1)),
        }
    }

    fn root() -> CompanyRef {
        CompanyRef {
            id: id(1),
            name: "Root".into(),
        }
    }

    fn company_statuses(n: u128, name: &str, counts: &[(u32, [u64; 4])]) -> CompanyStatuses {
        CompanyStatuses {
            company_id: id(n),
            company_name: Some(name.into()),
            statuses: counts
                .iter()
                .map(
                    |(product_id, [success, warnings, errors, failed])| OperationStatus {
                        product_id: *product_id,
                        product_name: None,
                        success: *success,
                        warnings: *warnings,
                        errors: *errors,
                        failed: *failed,
                    },
                )
                .collect(),
        }
    }

    fn sample_consumption() -> ConsumptionReport {
        consumption(
            root(),
            None,
            false,
            &[product(130, 5, 3 << 30, false), product(4, 12, 0, false)],
            &[
                customer(3, "beta", product(4, 2, 1 << 40, true)),
                customer(2, "Alpha", product(91, 30, 1536, false)),
            ],
        )
    }

    #[test]
    fn consumption_lists_the_company_first_then_customers_by_name() {
        let report = sample_consumption();
        let order: Vec<(&str, u32)> = report
            .rows
            .iter()
            .map(|r| (r.company_name.as_str(), r.product_id))
            .collect();
        assert_eq!(
            order,
            [("Root", 4), ("Root", 130), ("Alpha", 91), ("beta", 4)]
        );
        assert!(report.rows[0].own && !report.rows[2].own);
    }

    #[test]
    fn consumption_totals_add_every_row() {
        let totals = sample_consumption().totals;
        assert_eq!(totals.active_seats, 5 + 12 + 2 + 30);
        assert_eq!(totals.inactive_seats, 4);
        assert_eq!(totals.data_protected_bytes, (3 << 30) + (1 << 40) + 1536);
    }

    #[test]
    fn bytes_read_in_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1_319_413_953_331), "1.2 TiB");
        assert_eq!(human_bytes((1 << 20) - 1), "1.0 MiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn text_aligns_columns_and_right_aligns_numbers() {
        let out = text(&UsageReport::Consumption(sample_consumption()), false);
        let lines: Vec<&str> = out.lines().skip(2).collect();
        assert_eq!(
            lines,
            [
                "COMPANY  PRODUCT  TRIAL  ACTIVE  INACTIVE  SHARED  WORKLOADS  PROTECTED  EXTERNAL  OVERAGE",
                "Root     P4                  12         1       0          0        0 B       0 B      0 B",
                "Root     P130                 5         1       0          0    3.0 GiB       0 B      0 B",
                "Alpha    P91                 30         1       0          0    1.5 KiB       0 B      0 B",
                "beta     P4       trial       2         1       0          0    1.0 TiB       0 B      0 B",
                "TOTAL                        49         4       0          0    1.0 TiB       0 B      0 B",
            ]
        );
    }

    #[test]
    fn statuses_put_failures_then_errors_first_then_names() {
        let report = statuses(
            Operation::Backups,
            root(),
            None,
            Some(&company_statuses(1, "Root", &[(4, [10, 0, 0, 0])])),
            &[
                company_statuses(2, "zeta", &[(4, [1, 0, 0, 0])]),
                company_statuses(3, "Errors only", &[(4, [1, 0, 5, 0])]),
                company_statuses(4, "Few failures", &[(4, [1, 0, 9, 1]), (130, [0, 0, 0, 0])]),
                company_statuses(5, "Many failures", &[(130, [1, 0, 0, 3])]),
                company_statuses(6, "also failing", &[(4, [1, 0, 9, 1])]),
                company_statuses(7, "Alpha", &[]),
            ],
        );
        let order: Vec<&str> = report
            .companies
            .iter()
            .map(|c| c.company_name.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "Many failures",
                "also failing",
                "Few failures",
                "Errors only",
                "Alpha",
                "Root",
                "zeta"
            ]
        );
        assert_eq!(
            report.totals,
            Counts {
                success: 15,
                warnings: 0,
                errors: 23,
                failed: 5
            }
        );
    }

    #[test]
    fn a_company_without_jobs_shows_a_dash_line() {
        let report = statuses(Operation::Restores, root(), Some(4), None, &[]);
        let out = text(&UsageReport::Status(report), false);
        assert!(
            out.contains("Root     -              0         0       0       0\n"),
            "{out}"
        );
        assert!(out.contains("0 of 1 companies with failed or erroring jobs."));
    }

    #[test]
    fn colour_does_not_move_the_columns() {
        let report = statuses(
            Operation::Backups,
            root(),
            None,
            Some(&company_statuses(1, "Root", &[(4, [10, 2, 0, 1])])),
            &[],
        );
        let plain = text(&UsageReport::Status(report.clone()), false);
        let painted = text(&UsageReport::Status(report), true);
        let strip = |s: &str| {
            let mut out = String::new();
            let mut chars = s.chars();
            while let Some(c) = chars.next() {
                if c == '\x1b' {
                    for c in chars.by_ref() {
                        if c == 'm' {
                            break;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            out
        };
        assert_ne!(plain, painted);
        assert_eq!(plain, strip(&painted));
    }

    #[test]
    fn a_name_with_a_pipe_or_a_line_break_stays_in_its_markdown_cell() {
        let report = consumption(
            root(),
            None,
            false,
            &[],
            &[customer(2, "A|B\nCo", product(4, 1, 0, false))],
        );
        let out = markdown(&UsageReport::Consumption(report));
        assert!(
            out.contains("| A\\|B\\\\nCo | P4 |  | 1 | 1 | 0 | 0 | 0 B | 0 B | 0 B |\n"),
            "{out}"
        );
        assert!(out.contains("| **total** | | | **1** |"));
    }

    #[test]
    fn a_name_cannot_send_terminal_controls_through_the_text_table() {
        let report = statuses(
            Operation::Backups,
            CompanyRef {
                id: id(1),
                name: "Root\u{1b}]0;owned\u{7}".into(),
            },
            None,
            Some(&company_statuses(1, "Root\u{1b}[2J", &[(4, [1, 0, 0, 0])])),
            &[company_statuses(
                2,
                "株式会社\u{202e}cba",
                &[(4, [1, 0, 0, 0])],
            )],
        );
        let out = text(&UsageReport::Status(report), false);
        let hazard = |c: char| crate::escape::is_hazard(c) && c != '\n';
        assert!(!out.chars().any(hazard), "{out:?}");
        assert!(
            out.contains("Root\\u{1b}]0;owned\\u{7} and its customers"),
            "{out}"
        );
        assert!(out.contains("\n株式会社\\u{202e}cba "), "{out}");
    }

    #[test]
    fn json_is_versioned_and_names_the_report() {
        let value = json(&UsageReport::Status(statuses(
            Operation::Restores,
            root(),
            None,
            None,
            &[],
        )));
        assert_eq!(value["format_version"], 1);
        assert_eq!(value["report"], "restores");
        assert_eq!(value["companies"][0]["own"], true);
        let value = json(&UsageReport::Consumption(sample_consumption()));
        assert_eq!(value["report"], "consumption");
        assert_eq!(value["rows"][0]["active_seats"], 12);
        assert_eq!(
            value["totals"]["data_protected_bytes"],
            (3u64 << 30) + (1 << 40) + 1536
        );
    }

    #[test]
    fn close_names_find_near_spellings_and_parts() {
        let names: Vec<String> = ["Acme Ltd", "Acme Holdings", "Beta", "Gamma"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            close_names("acme", &names, 5),
            ["Acme Ltd", "Acme Holdings"]
        );
        assert_eq!(close_names("Betta", &names, 5), ["Beta"]);
        assert!(close_names("Zulu", &names, 5).is_empty());
    }
}
