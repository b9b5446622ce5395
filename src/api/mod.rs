//! The vendor API clients.
//!
//! [`http`] is the one HTTP layer (timeouts, retries with backoff and jitter,
//! `Retry-After`, a per-host concurrency limit that [`limiter`] lowers on
//! 429s, the rule about what may be sent twice, logging without secrets). [`keystone`] and [`ecl`] authenticate ECL requests; [`arcserve`]
//! is the typed Arcserve UDP client; [`routes`] names a request's route
//! for metrics (an observer of [`http::HttpClient`] is told of each attempt). Only this module and the executor's
//! callers do network I/O; loading and planning never do.
//!
//! The clients spell the vendors' JSON on their own, from `API.md`; they share
//! no wire types with the simulator in `crate::sim`.

pub mod arcserve;
pub mod ecl;
pub mod error;
pub mod http;
pub mod keystone;
pub mod lenient;
pub mod limiter;
pub mod proposal;
pub mod proposal_xml;
pub mod redstor;
pub mod redstor_auth;
pub mod redstor_reports;
pub mod routes;
pub mod secret;

pub use error::ApiError;
pub use secret::Secret;
