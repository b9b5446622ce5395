//! A per-host concurrency limit that slows down when the server says so.
//!
//! Additive increase, multiplicative decrease: a 429 halves the number of
//! requests allowed in flight to that host (down to one); every success
//! raises it by a little, back up to the configured ceiling. As in TCP, the
//! 429s of requests sent before the last decrease belong to the congestion
//! that decrease answered and do not halve the limit again, so one burst of
//! 429s costs one halving, not one per request. Together with `Retry-After`
//! this keeps a wide apply from hammering a rate-limited API.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// What a finished request tells the limiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Answered; the host keeps up.
    Fine,
    /// 429: too many requests.
    RateLimited,
    /// Anything else: no information about the rate.
    Neutral,
}

/// The limits of every host a client talks to.
#[derive(Debug)]
pub struct Limiters {
    ceiling: usize,
    hosts: Mutex<HashMap<String, Arc<Limiter>>>,
}

impl Limiters {
    pub fn new(ceiling: usize) -> Self {
        Limiters {
            ceiling: ceiling.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The limiter of `host` (`host:port`).
    pub fn host(&self, host: &str) -> Arc<Limiter> {
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        hosts
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(Limiter::new(self.ceiling)))
            .clone()
    }
}

/// One host's limit.
#[derive(Debug)]
pub struct Limiter {
    state: Mutex<State>,
    freed: Notify,
}

#[derive(Debug)]
struct State {
    limit: f64,
    ceiling: f64,
    in_flight: usize,
    /// Decreases so far: a request sent in an earlier epoch does not
    /// decrease the limit again.
    epoch: u64,
}

impl Limiter {
    fn new(ceiling: usize) -> Self {
        Limiter {
            state: Mutex::new(State {
                limit: ceiling as f64,
                ceiling: ceiling as f64,
                in_flight: 0,
                epoch: 0,
            }),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a slot. The permit gives it back when finished (or
    /// dropped, say when the request is cancelled).
    pub async fn permit(self: &Arc<Self>) -> Permit {
        let epoch = self.acquire().await;
        Permit {
            limiter: self.clone(),
            epoch,
            done: false,
        }
    }

    /// Waits for a slot, given back with [`Limiter::release`] and the epoch
    /// returned here.
    pub async fn acquire(&self) -> u64 {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut state = self.lock();
                if (state.in_flight as f64) < state.limit.floor().max(1.0) {
                    state.in_flight += 1;
                    return state.epoch;
                }
            }
            freed.await;
        }
    }

    /// Gives back a slot taken in `epoch` and adjusts the limit by what the
    /// request said.
    pub fn release(&self, signal: Signal, epoch: u64) {
        {
            let mut state = self.lock();
            state.in_flight = state.in_flight.saturating_sub(1);
            match signal {
                Signal::RateLimited if epoch == state.epoch => {
                    state.limit = (state.limit / 2.0).max(1.0);
                    state.epoch += 1;
                }
                Signal::RateLimited => {}
                Signal::Fine => {
                    state.limit = (state.limit + 1.0 / state.limit).min(state.ceiling);
                }
                Signal::Neutral => {}
            }
        }
        self.freed.notify_waiters();
    }

    /// The current limit, for tests and logs.
    pub fn limit(&self) -> f64 {
        self.lock().limit
    }
}

/// A slot in flight.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<Limiter>,
    epoch: u64,
    done: bool,
}

impl Permit {
    /// Gives the slot back with what the request said.
    pub fn finish(mut self, signal: Signal) {
        self.done = true;
        self.limiter.release(signal, self.epoch);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.limiter.release(Signal::Neutral, self.epoch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rate_limits_halve_and_successes_climb_back() {
        let limiter = Limiter::new(16);
        for _ in 0..3 {
            let epoch = limiter.acquire().await;
            limiter.release(Signal::RateLimited, epoch);
        }
        assert_eq!(limiter.limit(), 2.0);
        for _ in 0..10 {
            let epoch = limiter.acquire().await;
            limiter.release(Signal::RateLimited, epoch);
        }
        assert_eq!(limiter.limit(), 1.0, "never below one");
        for _ in 0..200 {
            let epoch = limiter.acquire().await;
            limiter.release(Signal::Fine, epoch);
        }
        assert_eq!(limiter.limit(), 16.0, "back to the ceiling");
    }

    #[tokio::test]
    async fn a_burst_of_429s_to_requests_in_flight_together_halves_once() {
        let limiter = Limiter::new(16);
        let mut epochs = Vec::new();
        for _ in 0..8 {
            epochs.push(limiter.acquire().await);
        }
        for epoch in epochs {
            limiter.release(Signal::RateLimited, epoch);
        }
        assert_eq!(limiter.limit(), 8.0);
        // A request sent after that decrease is a new signal.
        let epoch = limiter.acquire().await;
        limiter.release(Signal::RateLimited, epoch);
        assert_eq!(limiter.limit(), 4.0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_limit_are_in_flight() {
        let limiter = Arc::new(Limiter::new(3));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let now = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (limiter, peak, now) = (limiter.clone(), peak.clone(), now.clone());
                tokio::spawn(async move {
                    let epoch = limiter.acquire().await;
                    let running = now.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    peak.fetch_max(running, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    limiter.release(Signal::Neutral, epoch);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= 3);
    }
}
