//! Shared library of the 100ms Lambda functions. One request's way through it: `edge` (the API
//! Gateway event, routing, the answer) -> `input` and `paging` (parsed ids, names, roles, pages) -> `auth` and
//! `owners` (the caller, the role policy, who runs which room) -> `handlers` (what each function does) -> `hms`, `credentials` and
//! `store` (100ms, Secrets Manager and the DynamoDB events table). `app` builds each function from `config` and runs it; `error` is
//! the one error type and its HTTP mapping. `reconcile` is the scheduled recovery of webhooks from 100ms's delivery log. The binaries in
//! `functions/` only call `app`.

pub mod app;
pub mod attendance;
pub mod auth;
pub mod config;
pub mod credentials;
pub mod csv;
pub mod edge;
pub mod encoding;
pub mod error;
pub mod handlers;
pub mod history;
pub mod hms;
pub mod hosts;
pub mod input;
pub mod invocation;
pub mod logging;
pub mod membership;
pub mod owners;
pub mod page;
pub mod paging;
pub mod reconcile;
pub mod sdk_http;
pub mod store;
pub mod time;
pub mod tls;
pub mod tokens;
pub mod webhooks;

pub use error::{ApiError, ErrorCode};
