//! A per-host concurrency limit that slows down when the server says so.
//!
//! Additive increase, multiplicative decrease: every 429 halves the number
//! of requests allowed in flight to that host (down to one); every success
//! raises it by a little, back up to the configured ceiling. Together with
//! `Retry-After` this keeps a wide apply from hammering a rate-limited API.

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
}

impl Limiter {
    fn new(ceiling: usize) -> Self {
        Limiter {
            state: Mutex::new(State {
                limit: ceiling as f64,
                ceiling: ceiling as f64,
                in_flight: 0,
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
        self.acquire().await;
        Permit {
            limiter: self.clone(),
            done: false,
        }
    }

    /// Waits for a slot; the slot is given back with [`Limiter::release`].
    pub async fn acquire(&self) {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut state = self.lock();
                if (state.in_flight as f64) < state.limit.floor().max(1.0) {
                    state.in_flight += 1;
                    return;
                }
            }
            freed.await;
        }
    }

    /// Gives a slot back and adjusts the limit by what the request said.
    pub fn release(&self, signal: Signal) {
        {
            let mut state = self.lock();
            state.in_flight = state.in_flight.saturating_sub(1);
            match signal {
                Signal::RateLimited => state.limit = (state.limit / 2.0).max(1.0),
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
    done: bool,
}

impl Permit {
    /// Gives the slot back with what the request said.
    pub fn finish(mut self, signal: Signal) {
        self.done = true;
        self.limiter.release(signal);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.limiter.release(Signal::Neutral);
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
            limiter.acquire().await;
            limiter.release(Signal::RateLimited);
        }
        assert_eq!(limiter.limit(), 2.0);
        for _ in 0..10 {
            limiter.acquire().await;
            limiter.release(Signal::RateLimited);
        }
        assert_eq!(limiter.limit(), 1.0, "never below one");
        for _ in 0..200 {
            limiter.acquire().await;
            limiter.release(Signal::Fine);
        }
        assert_eq!(limiter.limit(), 16.0, "back to the ceiling");
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
                    limiter.acquire().await;
                    let running = now.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    peak.fetch_max(running, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    limiter.release(Signal::Neutral);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= 3);
    }
}
