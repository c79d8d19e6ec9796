//! `webhooks`: `POST /webhooks/100ms`, 100ms's webhook deliveries, kept. A 200 means the event is
//! durably stored (or was already): 100ms retries anything else, so nothing is lost, and a
//! duplicate or a replay changes nothing.

use std::time::Duration;

use lambda_http::http::Method;
use serde_json::json;

use super::Function;
use crate::credentials::{CredentialStore, SecretSource};
use crate::edge::{ApiRequest, Reply, Route};
use crate::error::{ApiError, ErrorCode};
use crate::store::EventsTable;
use crate::webhooks::{AllowList, NotAnEvent, event_item, parse_envelope, secret_matches};

pub const WEBHOOKS_PATH: &str = "/webhooks/100ms";

/// A wrong secret may be a rotated one: the secret is read again, at most this often. A rotation
/// is then seen within 5 s, inside 100ms's retries (1, 3 and 10 s after a refusal); a flood of
/// wrong secrets costs at most one Secrets Manager read per 5 s per container.
pub const REREAD_AT_MOST_EVERY: Duration = Duration::from_secs(5);

/// The `webhooks` function.
pub struct Webhooks<S> {
    /// The secret's `WEBHOOK_SECRET`, read as the app credentials are.
    pub credentials: CredentialStore<S>,
    pub table: EventsTable,
    /// The header that carries the secret (`WEBHOOK_HEADER_NAME`, lower case).
    pub header: String,
    pub allowed_ips: AllowList,
    /// How long raw events are kept (days), through the table's TTL.
    pub retention_days: u32,
}

/// The one answer to a delivery that is not let in: nothing about why.
fn refused() -> ApiError {
    ApiError::Unauthenticated("unauthorized".into())
}

impl<S: SecretSource> Function for Webhooks<S> {
    const ROUTES: &'static [Route] = &[Route { path: WEBHOOKS_PATH, method: Method::POST }];

    async fn call(&self, _: &'static str, req: ApiRequest) -> Result<Reply, ApiError> {
        if !self.allowed_ips.allows(req.source_ip.as_deref()) {
            tracing::warn!(source_ip = req.source_ip.as_deref().unwrap_or("-"), "webhook from outside the allow-list");
            return Err(refused());
        }
        let presented = req.header(&self.header);
        let creds = self.credentials.get().await?;
        let no_secret = || ApiError::Config("the secret has no WEBHOOK_SECRET: webhooks cannot be checked".into());
        if !secret_matches(presented, creds.webhook_secret().ok_or_else(no_secret)?) {
            let fresh = self.credentials.refresh_if_older_than(&creds, REREAD_AT_MOST_EVERY).await?;
            if !secret_matches(presented, fresh.webhook_secret().ok_or_else(no_secret)?) {
                tracing::warn!(header_present = presented.is_some(), "webhook with a wrong or missing secret");
                return Err(refused());
            }
        }
        receive(&self.table, req.body.as_deref().unwrap_or_default(), self.retention_days, chrono::Utc::now()).await
    }
}

/// Keeps one authentic delivery: 400 for a body that is no event (logged without the body),
/// 200 once it is stored (or was already) and what it changes in the attendance history is done
/// ([`crate::history::on_event`]), the table's error otherwise.
pub async fn receive(
    table: &EventsTable,
    body: &[u8],
    retention_days: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Reply, ApiError> {
    let (envelope, event) = parse_envelope(body).map_err(|why| {
        let (code, msg) = match why {
            NotAnEvent::NotJson => (ErrorCode::InvalidJson, "the body is not JSON"),
            NotAnEvent::NotAnObject => (ErrorCode::InvalidBody, "the body is not a JSON object"),
            NotAnEvent::NoId => (ErrorCode::MissingField, "the event has no string 'id'"),
        };
        tracing::warn!(bytes = body.len(), error = msg, "webhook body refused");
        ApiError::bad_request(code, msg)
    })?;
    let stored = table.put_once(event_item(&envelope, body, now, retention_days)).await?;
    // Duplicates too: a retry finishes what a failed delivery began.
    crate::history::on_event(table, &serde_json::Value::Object(event), now).await?;
    tracing::info!(
        event_id = %envelope.id, event_type = %envelope.kind, duplicate = !stored, replay = envelope.is_replay,
        "webhook kept"
    );
    Reply::ok_json(&json!({"success": true, "id": envelope.id, "duplicate": !stored}))
}
