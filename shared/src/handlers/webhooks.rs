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
use crate::history::Retention;
use crate::store::{SharedStore, Store};
use crate::webhooks::{AllowList, NotAnEvent, event_record, parse_envelope, secret_matches};

pub const WEBHOOKS_PATH: &str = "/webhooks/100ms";

/// A wrong secret may be a rotated one: the secret is read again, at most this often. A rotation
/// is then seen within 5 s, inside 100ms's retries (1, 3 and 10 s after a refusal); a flood of
/// wrong secrets costs at most one Secrets Manager read per 5 s per container.
pub const REREAD_AT_MOST_EVERY: Duration = Duration::from_secs(5);

/// The `webhooks` function.
pub struct Webhooks<S> {
    /// The secret's `WEBHOOK_SECRET`, read as the app credentials are.
    pub credentials: CredentialStore<S>,
    /// The events table.
    pub store: SharedStore,
    /// The header that carries the secret (`WEBHOOK_HEADER_NAME`, lower case).
    pub header: String,
    pub allowed_ips: AllowList,
    /// How long raw events and reports are kept (days), through the table's TTL.
    pub retention: Retention,
}

/// Whether a delivery is let in: from an allowed address, with the secret header's value (a
/// wrong value has the secret read again, at most every [`REREAD_AT_MOST_EVERY`], in case it was
/// rotated). `Err` is the one refusal (logged, nothing said about why) or a configuration error.
/// What `webhooks` and the webhook route's authorizer (`webhook-authorizer`) both check.
pub async fn authentic<S: SecretSource>(
    credentials: &CredentialStore<S>,
    allowed_ips: &AllowList,
    presented: Option<&str>,
    source_ip: Option<&str>,
) -> Result<(), ApiError> {
    if !allowed_ips.allows(source_ip) {
        tracing::warn!(source_ip = source_ip.unwrap_or("-"), "webhook from outside the allow-list");
        return Err(refused());
    }
    let creds = credentials.get().await?;
    let no_secret = || ApiError::Config("the secret has no WEBHOOK_SECRET: webhooks cannot be checked".into());
    if !secret_matches(presented, creds.webhook_secret().ok_or_else(no_secret)?) {
        let fresh = credentials.refresh_if_older_than(&creds, REREAD_AT_MOST_EVERY).await?;
        if !secret_matches(presented, fresh.webhook_secret().ok_or_else(no_secret)?) {
            tracing::warn!(header_present = presented.is_some(), "webhook with a wrong or missing secret");
            return Err(refused());
        }
    }
    Ok(())
}

/// The one answer to a delivery that is not let in: nothing about why.
fn refused() -> ApiError {
    ApiError::Unauthenticated("unauthorized".into())
}

impl<S: SecretSource> Function for Webhooks<S> {
    const ROUTES: &'static [Route] = &[Route { path: WEBHOOKS_PATH, method: Method::POST }];

    async fn call(&self, _: &'static str, req: ApiRequest) -> Result<Reply, ApiError> {
        let presented = req.header(&self.header);
        authentic(&self.credentials, &self.allowed_ips, presented, req.source_ip.as_deref()).await?;
        receive(self.store.as_ref(), req.body.as_deref().unwrap_or_default(), self.retention, chrono::Utc::now()).await
    }
}

/// Keeps one authentic delivery: 400 for a body that is no event (logged without the body),
/// 200 once it is stored and what it changes in the attendance history is recorded
/// ([`crate::history::on_event`]), or once it was already stored (a duplicate, or a replay, changes
/// nothing at all); the store's error otherwise, with the event taken back so that 100ms's retry
/// keeps it again and finishes the work.
pub async fn receive(
    store: &dyn Store,
    body: &[u8],
    retention: Retention,
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
    if envelope.ids_not_keyed {
        tracing::warn!(event_id = %envelope.id, event_type = %envelope.kind, "webhook with a room or session id not as 100ms writes them: kept under its event id only");
    }
    let record = event_record(&envelope, body, now, retention.event_days);
    let stored = store.put_event_once(&record).await?;
    if stored {
        let event = serde_json::Value::Object(event);
        if let Err(e) = crate::history::on_event(store, &envelope.id, &event, retention, now).await {
            if let Err(undo) = store.forget_event(&record).await {
                tracing::error!(event_id = %envelope.id, error = %undo, "webhook kept but what it changes was not recorded, and it could not be taken back: its retry is a duplicate");
            }
            return Err(e);
        }
    }
    tracing::info!(
        event_id = %envelope.id, event_type = %envelope.kind, duplicate = !stored, replay = envelope.is_replay,
        "webhook kept"
    );
    Reply::ok_json(&json!({"success": true, "id": envelope.id, "duplicate": !stored}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    const S1: &str = "0000000000000000000000c1";
    const JOIN: &[u8] = br#"{"id":"e1","type":"peer.join.success","data":{"room_id":"0000000000000000000000a1","session_id":"0000000000000000000000c1","peer_id":"p1","joined_at":"2026-01-01T10:00:00Z"}}"#;
    const CLOSE: &[u8] = br#"{"id":"c1","type":"session.close.success","data":{"room_id":"0000000000000000000000a1","session_id":"0000000000000000000000c1","session_started_at":"2026-01-01T10:00:00Z","session_stopped_at":"2026-01-01T11:00:00Z"}}"#;
    const KEEP: Retention = Retention { event_days: 90, report_days: 400 };

    fn now() -> chrono::DateTime<chrono::Utc> {
        crate::time::parse_rfc3339("2026-01-01T10:00:01Z").unwrap()
    }

    fn answer(reply: Reply) -> serde_json::Value {
        serde_json::from_slice(&reply.body).unwrap()
    }

    #[tokio::test]
    async fn an_event_is_kept_once_as_sent() {
        let store = MemoryStore::default();
        let first = answer(receive(&store, JOIN, KEEP, now()).await.unwrap());
        assert_eq!((first["id"].as_str(), first["duplicate"].as_bool()), (Some("e1"), Some(false)));
        let again = answer(receive(&store, JOIN, KEEP, now()).await.unwrap());
        assert_eq!(again["duplicate"], true, "a retry stores nothing");
        assert_eq!(
            store.event_body("e1", Some(S1)).await.unwrap().as_deref(),
            Some(std::str::from_utf8(JOIN).unwrap())
        );
        assert_eq!(store.session_events(S1).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_body_that_is_no_event_keeps_nothing_and_a_table_out_of_reach_is_a_503() {
        let store = MemoryStore::default();
        for (body, code) in
            [(&b"{"[..], "invalid_json"), (b"[1]", "invalid_body"), (br#"{"type":"x"}"#, "missing_field")]
        {
            let err = receive(&store, body, KEEP, now()).await.unwrap_err();
            assert_eq!((err.status(), err.code().as_str()), (400, code));
        }
        assert!(store.session_events(S1).await.unwrap().is_empty());
        store.set_down(true);
        let err = receive(&store, JOIN, KEEP, now()).await.unwrap_err();
        assert_eq!((err.status(), err.code().as_str()), (503, "events_table_unavailable"));
        store.set_down(false);
        assert_eq!(store.event_body("e1", Some(S1)).await.unwrap(), None, "nothing was kept while it was down");
    }

    #[tokio::test]
    async fn a_close_whose_record_fails_is_taken_back_so_the_retry_does_the_work() {
        let store = MemoryStore::default();
        // The close's record fails after the event is kept: 503, and the event is not kept.
        store.fail_once_after(1);
        let err = receive(&store, CLOSE, KEEP, now()).await.unwrap_err();
        assert_eq!(err.status(), 503);
        assert_eq!(store.event_body("c1", Some(S1)).await.unwrap(), None, "taken back");
        let retry = answer(receive(&store, CLOSE, KEEP, now()).await.unwrap());
        assert_eq!(retry["duplicate"], false, "the retry is kept, not a duplicate");
        assert!(store.closed_session(S1).await.unwrap().is_some(), "and records the close");
        assert_eq!(store.queued_builds(5).await.unwrap().len(), 1);
        let before = store.operations();
        let again = answer(receive(&store, CLOSE, KEEP, now()).await.unwrap());
        assert_eq!(again["duplicate"], true);
        assert_eq!(store.operations() - before, 1, "a duplicate is one conditional write, nothing more");
        assert_eq!(store.queued_builds(5).await.unwrap().len(), 1, "and queues nothing");
    }
}
