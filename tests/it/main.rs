//! The integration tests: one binary, one module per feature. Each test
//! starts the simulator in-process on 127.0.0.1:0 and drives the real client
//! or the real `entitle` binary against it over HTTP.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod annotations;
mod behaviours;
mod cli;
mod client;
mod corpus;
mod drift;
mod injection;
mod lifecycle;
mod manifests;
mod orphaned;
mod output;
#[path = "../support/pg_cluster.rs"]
mod pg_cluster;
mod pg_cluster_tests;
mod plan_schema;
mod policy;
mod properties;
mod proposals;
mod recipes;
mod redirects;
mod redstor;
mod redstor_sim;
mod rendering;
mod reports;
mod review;
mod scale;
mod sim;
mod sim_strict;
mod state_faults;
mod support;
mod team_state;
mod tidy;
mod validate;
mod vendor_fixtures;
mod vendor_reality;
mod watch;
