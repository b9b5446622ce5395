//! `entitle sim`: run the API simulator until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{Exit, output, runtime};
use crate::Error;
use crate::sim::{Behaviour, Behaviours, Faults, SimConfig, Simulator, redstor};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  entitle sim\n  entitle sim --listen 127.0.0.1:9000 --data sim.json --behave all"
)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// Keep the simulator's data in this JSON file, across restarts.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// How long a license stays Provisioning / Deleting (e.g. 2s, 500ms).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub provisioning_delay: Duration,
    /// Lifetime of a Keystone token (e.g. 1h, 10m).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,
    #[command(flatten)]
    pub faults: FaultArgs,
    /// Behave in a way the vendor documents allow but the simulator does not
    /// by default (repeatable, comma-separated, or `all`; changed at
    /// `PUT /_sim/behaviours`).
    #[arg(long = "behave", value_name = "BEHAVIOUR", value_delimiter = ',', value_parser = behaviours)]
    pub behave: Vec<Vec<Behaviour>>,
}

/// A behaviour's name, or `all`.
fn behaviours(value: &str) -> Result<Vec<Behaviour>, String> {
    if value == "all" {
        return Ok(Behaviour::all().into_iter().collect());
    }
    <Behaviour as clap::ValueEnum>::from_str(value, false)
        .map(|behaviour| vec![behaviour])
        .map_err(|_| {
            let known: Vec<String> = Behaviour::all().into_iter().map(Behaviour::name).collect();
            format!(
                "`{value}` is not a behaviour; choose from all, {}",
                known.join(", ")
            )
        })
}

/// Faults to inject from the start (they can be changed at `PUT /_sim/faults`).
#[derive(Debug, clap::Args)]
pub struct FaultArgs {
    /// Milliseconds added to every API request.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Fraction of API requests answered 500 (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    pub error_rate: f64,
    /// Fraction of API requests answered 429 with Retry-After (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    pub rate_429: f64,
    /// The Retry-After of those 429s, in seconds.
    #[arg(long, default_value_t = 1)]
    pub retry_after_secs: u64,
    /// Fraction of API requests carried out but answered by closing the connection (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    pub drop_rate: f64,
}

fn rate(value: &str) -> Result<f64, String> {
    let rate: f64 = value
        .parse()
        .map_err(|_| format!("`{value}` is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("`{value}` is not between 0 and 1"))
    }
}

/// A new temporary directory only its owner can enter (0700 on unix),
/// removed when dropped.
fn private_dir() -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("entitle-sim-").tempdir()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

/// Ctrl-C, or SIGTERM on unix: either stops the simulator cleanly (the data
/// file written, the temporary key removed).
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            stopped = tokio::signal::ctrl_c() => stopped,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

pub fn run(args: Args) -> Result<Exit, Error> {
    let config = SimConfig {
        data: args.data,
        provisioning_delay: args.provisioning_delay,
        token_ttl: args.token_ttl,
        faults: Faults {
            latency_ms: args.faults.latency_ms,
            error_rate: args.faults.error_rate,
            rate_429: args.faults.rate_429,
            retry_after_secs: args.faults.retry_after_secs,
            drop_rate: args.faults.drop_rate,
            only: None,
        },
        behaviours: Behaviours::new(args.behave.into_iter().flatten()),
        redstor_account: None,
    };
    let data = config.data.clone();
    runtime()?.block_on(async {
        let sim = Simulator::start(args.listen, config).await?;
        let url = sim.base_url();
        // Without --data the key lives in a private directory (0700) for as
        // long as the simulator runs.
        let (key_file, _key_dir) = match &data {
            // Absolute, so the printed export works from any directory.
            Some(path) => (
                std::path::absolute(redstor::key_path(path))
                    .unwrap_or_else(|_| redstor::key_path(path)),
                None,
            ),
            None => {
                let dir = private_dir().map_err(|source| Error::Io {
                    what: "could not create a directory for the Redstor key".into(),
                    source,
                })?;
                let path = dir.path().join("redstor-key.pem");
                sim.redstor_account()
                    .write_private_key(&path)
                    .map_err(|source| Error::Io {
                        what: format!("could not write {}", path.display()),
                        source,
                    })?;
                (path, Some(dir))
            }
        };
        let account = sim.redstor_account();
        let banner = format!(
            "entitle simulator listening on {url}\n\n  \
             Point entitle at it (the demo account works for any tenant id):\n    \
             export OS_AUTH_URL={url}/v3 OS_USERNAME=demo OS_PASSWORD=demo-secret\n    \
             export ENTITLE_ECL_ENDPOINT={url}\n  \
             Redstor (service account {client_id}):\n    \
             export REDSTOR_CLIENT_ID={client_id} REDSTOR_PRIVATE_KEY_FILE={key_file} REDSTOR_API_URL={api_url} REDSTOR_TOKEN_URL={token_url}\n  \
             Inspect it: {url}/_sim/metrics, {url}/_sim/dump\n\n\
             Press Ctrl-C to stop.\n",
            client_id = account.client_id,
            key_file = key_file.display(),
            api_url = sim.redstor_api_url(),
            token_url = sim.redstor_token_url(),
        );
        if let Err(err) = output::print(banner) {
            sim.shutdown().await;
            return Err(err);
        }
        let stopped = stop_signal().await;
        sim.shutdown().await;
        stopped.map_err(|source| Error::Io {
            what: "could not wait for Ctrl-C or SIGTERM".into(),
            source,
        })?;
        output::println("simulator stopped")?;
        Ok(Exit::Success)
    })
}
