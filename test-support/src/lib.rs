//! What the test suites share, in one place: Secrets Manager (moto's server, started on demand
//! when `MOTO_ENDPOINT` does not name a running one), DynamoDB (dynalite, likewise, with the
//! template's table), the 100ms emulator in-process, the secret
//! helpers, TCP forwarders that fail on cue, TLS endpoints with a CA made per run, the sample
//! events and 100ms examples, an in-memory 100ms and one that answers garbage, and the release binaries the end-to-end tests run.
//!
//! Every suite works under a plain `cargo test --workspace` after `scripts/setup.sh`: nothing
//! needs to be exported by hand.

pub mod binaries;
pub mod dynalite;
pub mod emulator;
pub mod fake_hms;
pub mod fixtures;
pub mod forward;
pub mod garbled;
mod handle;
pub mod moto;
mod server;
pub mod tls;

pub use emulator::{Backends, Hms};
pub use fake_hms::FakeHms;
pub use fixtures::{answer, event, example, get, post, with_claims};
pub use garbled::{GARBAGE, Garbled};
pub use handle::Handle;
pub use moto::{
    create_secret, fresh_secret, moto_endpoint, put_secret, secret_json, secret_json_with_webhook, sm_client,
};

/// Who may run which room on an open API without an owners' table (`CALLER_AUTH=none`, no
/// `EVENTS_TABLE`), as the handler tests build the functions.
pub fn open_access() -> hms_shared::owners::RoomAccess {
    let no_table = hms_shared::error::ConfigError("EVENTS_TABLE is not set: room owners are not kept".into());
    hms_shared::owners::RoomAccess::new(hms_shared::auth::CallerAuth::Open, Err(no_table))
}

/// `session-analytics` over `hms` on an open API without the events table.
pub fn analytics<H>(hms: H) -> hms_shared::handlers::SessionAnalytics<H> {
    let no_table = hms_shared::error::ConfigError("EVENTS_TABLE is not set: there is no attendance history".into());
    hms_shared::handlers::SessionAnalytics { hms, history: Err(no_table), access: open_access() }
}

/// The caller rules of every local setup that signs callers in (`tools/local-jwt-rules.env`, the
/// one definition run.sh and sam-local.sh read too), as (variable, value) pairs.
pub fn local_jwt_rules() -> Vec<(&'static str, &'static str)> {
    include_str!("../../tools/local-jwt-rules.env")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('=').expect("NAME=VALUE"))
        .collect()
}
