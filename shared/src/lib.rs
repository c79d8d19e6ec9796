//! Shared library of the 100ms Lambda functions: configuration, credentials, tokens, the 100ms
//! REST client, sessions and attendance, and the HTTP edge. The binaries in `functions/` only
//! wire these together.

pub mod app;
pub mod attendance;
pub mod caller;
pub mod config;
pub mod credentials;
pub mod edge;
pub mod error;
pub mod handlers;
pub mod hms;
pub mod sdk_http;
pub mod sessions;
pub mod time;
pub mod tokens;
pub mod validate;

pub use error::ApiError;
