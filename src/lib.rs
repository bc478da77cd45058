//! kensa (検査, "inspection") is a conformance and interop test harness for
//! identity providers.
//!
//! Cucumber scenarios in `features/` drive full login, token and claims flows
//! against an IdP (the *target*) and check each behaviour against the sentence
//! of the specification that requires it. This library is the engine the
//! `kensa` binary runs the steps with:
//!
//! - [`http`]: an HTTP client with a per-scenario cookie jar, manual redirect
//!   handling, timeouts, a body size cap and a recorder of every exchange;
//! - [`oidc`]: discovery, JWKS, authorization requests with state, nonce and
//!   PKCE, the token client and ID token verification;
//! - [`login`]: drives real HTML login pages;
//! - [`targets`]: the IdPs a run can be pointed at;
//! - [`load`]: the load mode of the API access profile;
//! - [`checks`]: the check catalogue read from the feature files;
//! - [`builtin`]: the feature files and fixtures the binary carries;
//! - [`certification`]: which checks stand for which module of the OpenID
//!   Basic OP certification plan;
//! - [`run`]: a run of the checks, phase by phase, and the fault matrix;
//! - [`report`]: the console summary and the JUnit / Cucumber JSON reports;
//! - [`secret`]: secrets that never print, and the run-wide scrubber that keeps
//!   them out of every output.
//!
//! ```
//! use kensa::secret::Secret;
//! let s = Secret::new("client-secret-value");
//! assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
//! assert_eq!(s.expose(), "client-secret-value");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aws;
pub mod builtin;
pub mod certification;
pub mod checks;
pub mod claims;
pub mod http;
pub mod ida;
pub mod load;
pub mod login;
pub mod oidc;
pub mod report;
pub mod run;
pub mod secret;
pub mod snapshot;
pub mod targets;
pub mod world;

/// `println!` that never panics: when stdout is closed (`kensa checks |
/// head`), the rest of the output is dropped instead of the command
/// aborting with a panic.
#[macro_export]
macro_rules! outln {
    () => { $crate::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Writes to stdout, ignoring a closed pipe (see [`outln!`]).
pub fn out(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_fmt(args).and_then(|()| stdout.flush());
}
