//! `entitle demo`: the simulator and `examples/`, end to end, with no account.
//!
//! It starts the simulator in-process on a free loopback port, makes one
//! license there "by hand" (outside entitle), then runs validate, plan,
//! apply and plan again on the examples (licenses, proposals and the
//! Redstor MSP tree) with a state file in a temporary directory, changes a
//! managed license and a managed company behind entitle's back, and runs
//! drift. Every step goes through the same library calls and HTTP clients
//! as the real commands.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Exit, output, runtime};
use crate::Error;
use crate::api::arcserve::{ArcserveClient, LicenseChanges, NewLicense};
use crate::api::ecl::EclClients;
use crate::api::http::{HttpClient, HttpConfig, checked_base_url, join_segments};
use crate::api::keystone::{EclCredentials, Keystone};
use crate::api::redstor::{CompanyType, RedstorAccess, RedstorClient};
use crate::api::redstor_auth::{RedstorAuth, RedstorCredentials};
use crate::api::redstor_reports::Operation;
use crate::apply::{ApplyOptions, Outcome, Silent};
use crate::manifest::{self, Kind};
use crate::plan::Plan;
use crate::plan::render::{self, Style};
use crate::report::usage::{self, UsageReport};
use crate::report::{drift, usage_read};
use crate::resources::EclTenantSpec;
use crate::sim::{SimConfig, Simulator};
use crate::state::{State, Store};
use crate::workflow::Workspace;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  entitle demo")]
pub struct Args {
    /// The manifests to run.
    #[arg(default_value = "examples")]
    pub manifests: PathBuf,
}

pub fn run(args: Args) -> Result<Exit, Error> {
    step(&format!("entitle validate {}", args.manifests.display()))?;
    let desired = manifest::load(std::slice::from_ref(&args.manifests))?;
    say(&format!("{} resources, all valid", desired.resources.len()))?;

    runtime()?.block_on(async {
        let config = SimConfig {
            provisioning_delay: Duration::from_millis(300),
            ..SimConfig::default()
        };
        let sim = Simulator::start(([127, 0, 0, 1], 0).into(), config).await?;
        let outcome = against_simulator(&args.manifests, &desired, &sim).await;
        sim.shutdown().await;
        outcome
    })
}

async fn against_simulator(
    manifests: &std::path::Path,
    desired: &manifest::Desired,
    sim: &Simulator,
) -> Result<Exit, Error> {
    step("entitle sim (in-process)")?;
    say(&format!(
        "listening on {}; ECL account `demo`, Redstor service account `{}`",
        sim.base_url(),
        sim.redstor_account().client_id
    ))?;
    let dir = tempfile::tempdir().map_err(|source| Error::Io {
        what: "could not make a temporary directory for the demo's state".into(),
        source,
    })?;
    let (workspace, redstor) = workspace_on(sim, manifests, dir.path())?;
    let portal = Portal::of_first_tenant(&workspace, desired, redstor)?;
    portal.make_a_license().await?;

    let Some(again) = plan_apply_plan_again(&workspace, manifests).await? else {
        return Ok(Exit::Error);
    };
    let state = workspace.store.load_or_new().await?;
    portal.change_a_license(&state).await?;
    portal.change_the_companies(&state).await?;

    step(&format!("entitle drift {}", manifests.display()))?;
    print_block(&drift::text(&workspace.drift().await?))?;

    // A day of backups later, the MSP's weekly look at its customers.
    sim.advance_clock(Duration::from_secs(86_400));
    step("(a day passes in the simulator: the first backups ran)")?;
    step("entitle report backups --format markdown")?;
    let redstor = &portal.redstor;
    let root = usage_read::resolve_company(redstor, Some(&state), None).await?;
    let backups = usage_read::statuses(redstor, Operation::Backups, root, None).await?;
    print_block(&usage::markdown(&UsageReport::Status(backups)))?;
    say("The state file of this run was in a temporary directory and is gone now.")?;
    Ok(if again.is_empty() {
        Exit::Success
    } else {
        Exit::Error
    })
}

/// The workspace the demo runs in: the simulator's clients, a state file
/// in `state_dir`; and the RedAPI client, for the changes made "by hand".
fn workspace_on(
    sim: &Simulator,
    manifests: &std::path::Path,
    state_dir: &std::path::Path,
) -> Result<(Workspace, RedstorClient), Error> {
    let base_url = sim.base_url();
    let http = HttpClient::new(HttpConfig::default())?;
    let base = checked_base_url(&base_url, "the simulator URL")?;
    let keystone = Arc::new(Keystone::new(
        http.clone(),
        EclCredentials::demo(join_segments(&base, &["v3"])?),
    ));
    let clients = EclClients::new(http.clone(), keystone, Some(base_url.clone()));
    let account = sim.redstor_account();
    let redstor = RedstorClient::new(
        http.clone(),
        Arc::new(RedstorAuth::new(
            http,
            RedstorCredentials::service_account(
                &sim.redstor_api_url(),
                &sim.redstor_token_url(),
                &account.client_id,
                account.private_key_pem().as_bytes(),
                std::path::Path::new("the simulator's demo key"),
            )?,
        )),
    );
    let workspace = Workspace {
        paths: vec![manifests.to_path_buf()],
        store: Store::in_file(state_dir.join("entitle.state.json")),
        lock_timeout: Duration::ZERO,
        clients,
        redstor: RedstorAccess::new(redstor.clone()),
    };
    Ok((workspace, redstor))
}

/// Plan, apply, and plan again, each printed; the second plan, or `None`
/// when the apply did not succeed.
async fn plan_apply_plan_again(
    workspace: &Workspace,
    manifests: &std::path::Path,
) -> Result<Option<Plan>, Error> {
    let style = Style::default();
    step(&format!("entitle plan {}", manifests.display()))?;
    let planned = workspace.plan(&[]).await?;
    print_block(&render::text(&planned.plan, style))?;

    step(&format!(
        "entitle apply {} --auto-approve",
        manifests.display()
    ))?;
    let (_tx, cancel) = tokio::sync::watch::channel(false);
    let options = ApplyOptions {
        poll_interval: Duration::from_millis(100),
        ..ApplyOptions::default()
    };
    let report = workspace
        .apply(
            &planned.plan,
            planned.state,
            options,
            Arc::new(Silent),
            cancel,
        )
        .await;
    for (id, outcome) in &report.outcomes {
        match outcome {
            Outcome::Done(what) => say(&format!("{id}: {what}")),
            other => say(&format!("{id}: {other:?}")),
        }?;
    }
    if !report.succeeded() {
        return Ok(None);
    }

    step(&format!("entitle plan {} (again)", manifests.display()))?;
    let again = workspace.plan(&[]).await?;
    print_block(&render::text(&again.plan, style))?;
    Ok(Some(again.plan))
}

/// Someone working in the vendors' portals, behind entitle's back.
struct Portal {
    tenant_name: String,
    tenant: EclTenantSpec,
    client: ArcserveClient,
    redstor: RedstorClient,
}

impl Portal {
    /// In the first tenant the manifests declare.
    fn of_first_tenant(
        workspace: &Workspace,
        desired: &manifest::Desired,
        redstor: RedstorClient,
    ) -> Result<Portal, Error> {
        let Some((resource, tenant)) = desired.specs::<EclTenantSpec>().next() else {
            return Err(Error::usage(
                "the demo manifests declare no EclTenant",
                "run the demo on examples/",
            ));
        };
        let client =
            workspace
                .clients
                .arcserve_for(&tenant.tenant_id, tenant.region.as_str(), None)?;
        Ok(Portal {
            tenant_name: resource.metadata.name.clone(),
            tenant: tenant.clone(),
            client,
            redstor,
        })
    }

    /// A license someone made in the portal.
    async fn make_a_license(&self) -> Result<(), Error> {
        let plans = self.client.list_plans().await?;
        let Some(plan) = plans.first() else {
            return Ok(());
        };
        self.client
            .create_license(&NewLicense {
                name: "made-in-the-portal".into(),
                plan_id: plan.id,
                number_of_standalone_keys: 1,
            })
            .await?;
        say(&format!(
            "made license `made-in-the-portal` in {} by hand, outside entitle",
            self.tenant_name
        ))
    }

    /// Someone raises a managed license's key count.
    async fn change_a_license(&self, state: &State) -> Result<(), Error> {
        let tenant_id = self.tenant.tenant_id.as_str();
        let managed = state
            .of_kind(Kind::ArcserveLicense)
            .find(|(_, r)| r.scope.tenant_id.as_deref() == Some(tenant_id))
            .and_then(|(address, r)| Some((address, r.remote_id.as_deref()?.parse().ok()?)));
        let Some((address, id)) = managed else {
            return Ok(());
        };
        let license = self.client.get_license(id).await?;
        self.client
            .update_license(
                id,
                &LicenseChanges {
                    number_of_standalone_keys: Some(license.number_of_standalone_keys + 5),
                    ..LicenseChanges::default()
                },
            )
            .await?;
        step(&format!(
            "(someone adds 5 standalone keys to {address} in the portal)"
        ))
    }

    /// Someone disables a managed customer and adds one.
    async fn change_the_companies(&self, state: &State) -> Result<(), Error> {
        let managed = state
            .of_kind(Kind::RedstorCompany)
            .find_map(|(address, r)| Some((address, r.remote_id.as_deref()?.parse().ok()?)));
        let Some((address, id)) = managed else {
            return Ok(());
        };
        self.redstor.set_enabled(id, false).await?;
        let root = self.redstor.root_company().await?;
        self.redstor
            .create_customer(root.company_id, "Walk-in Customer", CompanyType::Customer)
            .await?;
        step(&format!(
            "(someone disables {address} and adds `Walk-in Customer` in the Redstor portal)"
        ))
    }
}

fn step(title: &str) -> Result<(), Error> {
    output::println(format_args!("\n==> {title}"))
}

fn say(line: &str) -> Result<(), Error> {
    output::println(format_args!("    {line}"))
}

fn print_block(text: &str) -> Result<(), Error> {
    let indented: String = text.lines().map(|line| format!("    {line}\n")).collect();
    output::print(indented)
}
