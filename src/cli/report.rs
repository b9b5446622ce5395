//! `entitle report consumption|backups|restores`: a Redstor company's usage
//! and job outcomes, with its customers'. Read-only; takes no lock.

use std::path::PathBuf;

use clap::ValueEnum;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::settings;
use super::{Exit, GlobalArgs, OutputFormat, output, runtime};
use crate::Error;
use crate::api::redstor_reports::{ConsumptionQuery, Operation};
use crate::escape;
use crate::report::usage::{self, UsageReport};
use crate::report::usage_read;

/// Which report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Report {
    /// Seats, workloads, data protected and fair-use overage per product.
    Consumption,
    /// Backup outcomes per product: success, warnings, errors, failed.
    Backups,
    /// Restore outcomes per product: success, warnings, errors, failed.
    Restores,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle report consumption --company contoso\n  entitle report backups --format markdown"
)]
pub struct Args {
    #[arg(value_enum)]
    pub report: Report,
    /// Manifest files or directories. Accepted like `plan` and `drift`
    /// take them; the report reads only the state and the API.
    pub paths: Vec<PathBuf>,
    /// The company to report on: a RedstorCompany name of the state, or a
    /// company name of the account (case ignored). Default: the account's
    /// root company.
    #[arg(long, value_name = "NAME")]
    pub company: Option<String>,
    /// text for a terminal, json for tools (`format_version` 1), markdown
    /// for a pull request or a chat post.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Consumption as it was at this time (RFC 3339, e.g.
    /// 2026-01-31T00:00:00Z). Consumption only.
    #[arg(long, value_name = "RFC3339", value_parser = parse_date)]
    pub date: Option<OffsetDateTime>,
    /// Leave trial subscriptions out. Consumption only.
    #[arg(long)]
    pub exclude_trials: bool,
    /// Only this product (e.g. 4 O365, 91 Google Workspace, 105 Salesforce,
    /// 130 Machines, 140 Archive). Backups and restores only.
    #[arg(long, value_name = "ID")]
    pub product: Option<u32>,
}

fn parse_date(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|err| format!("not an RFC 3339 date-time such as 2026-01-31T00:00:00Z: {err}"))
}

/// Exit 0 with the report printed; 1 on any error.
pub fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Error> {
    check_flags(&args)?;
    let client = settings::redstor_client()?;
    let report = runtime()?.block_on(async {
        let state = settings::store(global).await?.load().await?;
        let company =
            usage_read::resolve_company(&client, state.as_ref(), args.company.as_deref()).await?;
        Ok::<_, Error>(match args.report {
            Report::Consumption => {
                let query = ConsumptionQuery {
                    date: args.date,
                    exclude_trials: args.exclude_trials,
                };
                UsageReport::Consumption(usage_read::consumption(&client, company, query).await?)
            }
            Report::Backups | Report::Restores => {
                let operation = if args.report == Report::Backups {
                    Operation::Backups
                } else {
                    Operation::Restores
                };
                UsageReport::Status(
                    usage_read::statuses(&client, operation, company, args.product).await?,
                )
            }
        })
    })?;
    print_report(&report, args.format, settings::color_stdout(global))?;
    Ok(Exit::Success)
}

/// Refuses a flag the chosen report has no use for.
fn check_flags(args: &Args) -> Result<(), Error> {
    let consumption = args.report == Report::Consumption;
    let misplaced = if consumption && args.product.is_some() {
        Some(("--product", "backups and restores"))
    } else if !consumption && args.date.is_some() {
        Some(("--date", "consumption"))
    } else if !consumption && args.exclude_trials {
        Some(("--exclude-trials", "consumption"))
    } else {
        None
    };
    match misplaced {
        Some((flag, reports)) => Err(Error::usage(
            format!("{flag} does not apply to this report"),
            format!("{flag} is for {reports}; leave it out here"),
        )),
        None => Ok(()),
    }
}

fn print_report(report: &UsageReport, format: OutputFormat, color: bool) -> Result<(), Error> {
    match format {
        OutputFormat::Text => output::print(usage::text(report, color)),
        OutputFormat::Json => output::println(escape::json_pretty(&usage::json(report))),
        OutputFormat::Markdown => output::print(usage::markdown(report)),
    }
}
