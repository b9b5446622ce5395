//! Steps every kind's operations share: waiting for the server to get
//! somewhere, and a create whose failure is resolved by reading back
//! rather than by sending again blindly.

use std::time::{Duration, Instant};

use super::context::{ApplyError, ApplyOptions, Context};
use crate::manifest::Address;

/// How many times an ambiguous create is resolved and retried.
pub const AMBIGUOUS_ROUNDS: usize = 3;

/// What one look at the server found.
pub enum Polled<T> {
    /// Where it was waited for.
    Done(T),
    /// Not yet: what it is now, as the timeout will say.
    Pending(String),
}

/// Looks with `probe` until it says `Done`, pausing from the poll interval
/// up to two seconds, for at most the wait timeout; then `TimedOut` with
/// what the last look found and `then`, what the next run does.
pub async fn poll_until<T, Probe, Fut>(
    options: &ApplyOptions,
    then: &'static str,
    probe: Probe,
) -> Result<T, ApplyError>
where
    Probe: Fn() -> Fut,
    Fut: Future<Output = Result<Polled<T>, ApplyError>>,
{
    let started = Instant::now();
    let mut pause = options.poll_interval;
    loop {
        let what = match probe().await? {
            Polled::Done(value) => return Ok(value),
            Polled::Pending(what) => what,
        };
        if started.elapsed() >= options.wait_timeout {
            return Err(ApplyError::TimedOut {
                what,
                waited: options.wait_timeout,
                then,
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(Duration::from_secs(2));
    }
}

/// How a create is resolved when its answer is in doubt.
pub struct Resolution {
    /// What the next run does with the `creating` record left behind,
    /// e.g. "the next apply resolves it by name".
    pub next: &'static str,
    /// Read back even after a refusal that leaves no doubt (a license of
    /// the name may be ours from a run whose record was lost).
    pub read_back_first: bool,
}

/// Sends a create with `send` (the `creating` record is written already).
/// A refusal before any doubt drops the record: the object certainly was
/// not made. Any other failure is resolved with `find`, which gets the
/// failure and reads back; never sent again while `find` might see it.
pub async fn create_resolving<T, Send, SendFut, Find, FindFut>(
    context: &Context,
    address: &Address,
    resolution: Resolution,
    send: Send,
    find: Find,
) -> Result<T, ApplyError>
where
    Send: Fn() -> SendFut,
    SendFut: Future<Output = Result<T, ApplyError>>,
    Find: Fn(&ApplyError) -> FindFut,
    FindFut: Future<Output = Result<Option<T>, ApplyError>>,
{
    let next = resolution.next;
    let mut uncertain = false;
    for _ in 0..AMBIGUOUS_ROUNDS {
        let err = match send().await {
            Ok(created) => return Ok(created),
            Err(err) => err,
        };
        let definite = err.certainly_not_done();
        // Refused before any attempt could have made it.
        let refused_outright = definite && !uncertain;
        uncertain |= !definite;
        if refused_outright && !resolution.read_back_first {
            return Err(forget_creating(context, address, err).await);
        }
        tracing::warn!("{address}: {err}; reading back");
        if let Some(found) = find(&err).await? {
            return Ok(found);
        }
        if refused_outright {
            return Err(forget_creating(context, address, err).await);
        }
        if definite {
            return Err(match err {
                ApplyError::Api(source) => ApplyError::Ambiguous {
                    source,
                    then: format!(
                        "an earlier attempt may have made it; the state keeps a `creating` record, and {next}"
                    ),
                },
                other => other,
            });
        }
    }
    Err(ApplyError::Unconfirmed(format!(
        "{address}: the create stayed ambiguous after {AMBIGUOUS_ROUNDS} read-backs; the state keeps a `creating` record, and {next}"
    )))
}

/// Drops the `creating` record of a create that certainly was not made:
/// the record must not claim otherwise.
async fn forget_creating(context: &Context, address: &Address, err: ApplyError) -> ApplyError {
    let _ = context.recorder.set(address, None).await;
    err
}
