//! Step definitions, by domain concept. Compiled into the `kensa` binary:
//! cucumber collects steps at link time, so they must live in the binary that
//! runs them.

/// Fails the step: `fail!("format", args)` returns the error as a
/// [`kensa::world::Failure`].
macro_rules! fail {
    ($($t:tt)*) => {
        return Err(anyhow::anyhow!($($t)*).into())
    };
}

mod api;
mod claims;
mod discovery;
mod external_auth;
mod id_token;
mod login;
mod request_object;
mod saml;
mod session;
mod snapshot;
mod token;
mod userinfo;

use kensa::world::KensaWorld;

/// Splits a quoted, comma-separated list from a step.
fn list(s: &str) -> Vec<String> {
    s.split(',').map(|x| x.trim().to_owned()).filter(|x| !x.is_empty()).collect()
}

/// The last few HTTP exchanges, indented, for failure messages.
fn transcript(world: &KensaWorld) -> String {
    format!("\nlast exchanges:\n{}", world.transcript())
}
