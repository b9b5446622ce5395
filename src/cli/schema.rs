//! `entitle schema [--out DIR]`: the JSON Schema of every manifest kind,
//! and (into DIR) of the drift JSON and the plan JSON.

use std::path::PathBuf;

use super::{Exit, output};
use crate::Error;
use crate::manifest;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle schema --out schemas/\n  entitle schema > schemas.json"
)]
pub struct Args {
    /// Write `<Kind>.json` files, `drift.json` (the drift JSON's) and
    /// `plan.json` (the plan JSON's) into this directory instead of printing.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<Exit, Error> {
    match args.out {
        Some(dir) => {
            let io = |source| Error::Io {
                what: format!("could not write the schemas into {}", dir.display()),
                source,
            };
            let mut written = manifest::write_schemas(&dir).map_err(io)?;
            let drift = dir.join("drift.json");
            std::fs::write(
                &drift,
                manifest::schema_text(&crate::report::drift::schema()),
            )
            .map_err(io)?;
            written.push(drift);
            let plan = dir.join("plan.json");
            std::fs::write(&plan, manifest::schema_text(&crate::plan::render::schema()))
                .map_err(io)?;
            written.push(plan);
            for path in written {
                output::println(format_args!("wrote {}", path.display()))?;
            }
        }
        None => {
            let mut all: serde_json::Map<String, serde_json::Value> = manifest::schemas()
                .into_iter()
                .map(|(kind, schema)| (kind.to_string(), schema))
                .collect();
            all.insert(
                crate::policy::POLICY_KIND.into(),
                crate::policy::policy_schema(),
            );
            let text = serde_json::to_string_pretty(&all).map_err(|err| Error::Usage {
                message: format!("could not render the schemas: {err}"),
                hint: "this is a bug in entitle; please report it".into(),
            })?;
            output::println(text)?;
        }
    }
    Ok(Exit::Success)
}
