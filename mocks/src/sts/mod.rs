//! A mock of AWS STS `AssumeRoleWithSAML` that enforces what AWS documents
//! (see [`rules`]), with an IAM SAML provider whose metadata can be updated
//! mid-scenario.

pub mod rules;
mod server;

pub use server::{CredentialStore, Issued, RunningSts, StsShared};
