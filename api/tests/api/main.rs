//! The one integration-test binary: helpers that start the real gateway on a free port
//! against fresh databases, then one module per area.

// Some tests' futures nest deep enough (a test awaiting the app, awaiting the
// gateway's futures) that computing their layout passes rustc's default query depth on
// a build without incremental state, as CI's is.
#![recursion_limit = "256"]

mod academic;
mod connections;
mod deploys;
mod foundation;
mod google;
mod helpers;
mod http;
mod inputs;
mod limits;
mod outage;
mod production;
mod projects;
mod readme;
mod references;
mod round_trips;
mod seed;
mod services;
mod shape;
mod student_databases;
mod tags;
mod users;
mod wire;
