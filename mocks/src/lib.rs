//! Test doubles for kensa: the reference OpenID Provider, which follows the
//! specifications strictly unless one named fault switch is set, and the
//! realm fixture data it serves.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod external;
pub mod idp;
pub mod realm;
