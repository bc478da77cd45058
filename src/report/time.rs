//! UTC timestamps without a date library (shared with the mocks).

pub use kensa_mocks::time::{iso8601, now_ms};
