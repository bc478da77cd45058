//! Tests of the harness itself: they run the `kensa` binary end to end.
//!
//! - `e2e`: the suite against the embedded reference IdP passes, and the
//!   reports exist and parse;
//! - `fault_matrix`: for every fault switch of the reference IdP, exactly the
//!   checks tagged with that fault fail, and no secret reaches a report;
//! - `cli`: bad input gives one clear line and exit code 2;
//! - `installed`: the binary alone runs from an empty folder with its
//!   built-in checks, and `kensa init` leads to a green profile run;
//! - `clock`: expiry steps move the embedded IdP's clock, only in `@serial`
//!   scenarios;
//! - `snapshots`: drift fails with a diff, `--update-snapshots` blesses it;
//! - `load`: the load mode measures and counts failed calls;
//! - `remote`: the example profiles pass against served real IdPs, bad
//!   profiles are refused;
//! - `stranger`: the suite through profiles against the embedded IdP and
//!   node-oidc-provider serving a realm unlike kensa's own: no false
//!   failures;
//! - `linkage`: the file linkage over STS and S3 endpoints kensa does not
//!   start (`--aws sts=URL,s3=URL`), as a vendor runs it against AWS;
//! - `containers`: the Keycloak target's fixtures, and its clean skip
//!   without Docker;
//! - `report_browser`: the HTML report read in Chromium (the multi-target
//!   report of `targets`, a run with failures and deviations, a hostile IdP).

mod cli;
mod clock;
mod common;
mod containers;
mod e2e;
mod fault_matrix;
mod installed;
mod linkage;
mod load;
mod process;
mod remote;
mod report_browser;
mod secrets;
mod snapshots;
mod stranger;
mod targets;
