//! What the test suites share, in one place: Secrets Manager (moto's server, started on demand
//! when `MOTO_ENDPOINT` does not name a running one), DynamoDB (dynalite, likewise, with the
//! template's table), the 100ms emulator in-process, the secret
//! helpers, TCP forwarders that fail on cue, TLS endpoints with a CA made per run, the sample
//! events and 100ms examples, an in-memory 100ms and one that answers garbage, and the release binaries the end-to-end tests run.
//!
//! Every suite works under a plain `cargo test --workspace` after `scripts/setup.sh`: nothing
//! needs to be exported by hand.

pub mod binaries;
pub mod cognito;
pub mod dynalite;
pub mod emulator;
pub mod fake_hms;
mod fake_live;
pub mod fixtures;
pub mod forward;
pub mod garbled;
mod handle;
pub mod moto;
mod server;
pub mod sources;
pub mod tls;

pub use emulator::{Backends, Hms};
pub use fake_hms::FakeHms;
pub use fixtures::{answer, event, example, get, post, token_claims, with_claims};
pub use garbled::{GARBAGE, Garbled};
pub use handle::Handle;
pub use hms_emulator::WEBHOOK_ATTEMPT_TIMEOUT;
pub use moto::{create_secret, fresh_secret, moto_endpoint, put_secret, secret_json, sm_client, webhook_secret_json};
pub use sources::SwappableSource;

/// How long the suites' functions cache credentials (the template's default).
pub const CACHE_AGE: std::time::Duration = std::time::Duration::from_secs(300);

/// A free TCP port on loopback (bound, read, released: the caller, or the program it starts,
/// binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `create-room` over `hms` on an open API (no caller checks, no owners' table), room codes for
/// any role.
pub fn open_create_room<H>(hms: H) -> hms_shared::handlers::CreateRoom<H> {
    let code_roles = Ok(hms_shared::auth::RoleAllowList::Any);
    hms_shared::handlers::CreateRoom { hms, access: open_access(), code_roles }
}

/// `webhooks` reading its secrets from `source` and keeping events in `store`, with the
/// template's defaults: the default header, from any address, kept 90 days.
pub fn webhooks_receiver<S: hms_shared::credentials::SecretSource>(
    source: S,
    store: hms_shared::store::SharedStore,
) -> hms_shared::handlers::Webhooks<S> {
    hms_shared::handlers::Webhooks {
        credentials: hms_shared::credentials::CredentialStore::new(source, CACHE_AGE),
        store,
        header: hms_shared::webhooks::DEFAULT_HEADER_NAME.into(),
        allowed_ips: hms_shared::webhooks::AllowList::Any,
        retention: hms_shared::history::Retention { event_days: 90, report_days: 400 },
    }
}

/// Who may run which room on an open API without an owners' table (`CALLER_AUTH=none`, no
/// `EVENTS_TABLE`), as the handler tests build the functions.
pub fn open_access() -> hms_shared::owners::RoomAccess {
    hms_shared::owners::RoomAccess::open()
}

/// `room-control` over `hms` on an open API, every role allowed (`ALLOWED_ROLES=*`).
pub fn room_control<H>(hms: H) -> hms_shared::handlers::RoomControl<H> {
    hms_shared::handlers::RoomControl {
        hms,
        roles: hms_shared::auth::RoleAllowList::Any,
        access: open_access(),
        meeting_hosts: Default::default(),
    }
}

/// `session-analytics` over `hms` on an open API without the events table.
pub fn analytics<H>(hms: H) -> hms_shared::handlers::SessionAnalytics<H> {
    let no_table = hms_shared::error::ConfigError("EVENTS_TABLE is not set: there is no attendance history".into());
    hms_shared::handlers::SessionAnalytics { hms, history: Err(no_table), access: open_access() }
}

/// The local caller rules (`local_jwt_rules`) as the functions read them.
pub fn local_caller_auth() -> hms_shared::auth::CallerAuth {
    let rules = local_jwt_rules();
    let config =
        hms_shared::config::Config::from_lookup(|k| rules.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()));
    config.caller_auth.expect("the local caller rules are valid")
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
