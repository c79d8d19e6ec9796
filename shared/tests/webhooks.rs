//! The webhook receiver against dynalite: only deliveries with the secret (or from the allowed
//! addresses) get in; each event is kept once however often it comes (retries, replays); a body
//! that is no event is a 400; a table that is down is a 5xx, so 100ms retries and nothing is
//! lost; a rotated secret is picked up.

use std::time::Duration;

use hms_shared::credentials::Credentials;
use hms_shared::handlers::Webhooks;
use hms_shared::handlers::webhooks::{REREAD_AT_MOST_EVERY, WEBHOOKS_PATH};
use hms_shared::store::{EventsTable, Store};
use hms_shared::webhooks::{AllowList, DEFAULT_HEADER_NAME};
use hms_test_support::dynalite::{create_events_table, ddb_client, dynalite_endpoint};
use hms_test_support::forward::{Forward, Mode};
use hms_test_support::{Handle, SwappableSource, answer, example, post};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::Value;

/// Credentials with this webhook secret, swappable (a rotation), reads counted.
fn rotating(webhook_secret: &str) -> SwappableSource {
    SwappableSource::new(Credentials::new("k".into(), "s".into()).with_webhook_secret(webhook_secret.into()))
}

fn receiver(source: SwappableSource, table: EventsTable, allowed_ips: AllowList) -> Webhooks<SwappableSource> {
    Webhooks { allowed_ips, ..hms_test_support::webhooks_receiver(source, std::sync::Arc::new(table)) }
}

/// A delivery of `body` with `secret` in the header (none: no header), from `ip`.
fn delivery(body: &str, secret: Option<&str>, ip: &str) -> ApiGatewayV2httpRequest {
    let mut ev = post(WEBHOOKS_PATH, body);
    if let Some(s) = secret {
        ev.headers.insert(DEFAULT_HEADER_NAME, s.parse().unwrap());
    }
    ev.request_context.http.source_ip = Some(ip.into());
    ev
}

fn sample(name: &str, id: &str) -> String {
    let mut v = example(name);
    v["id"] = Value::String(id.into());
    v.to_string()
}

async fn table() -> (EventsTable, String) {
    let name = create_events_table().await;
    (EventsTable::new(ddb_client(&dynalite_endpoint()), name.clone()), name)
}

/// The body kept for event `id` of session `session` (an event without one: `None`).
async fn stored_body(table: &EventsTable, id: &str, session: Option<&str>) -> Option<String> {
    table.event_body(id, session).await.unwrap()
}

/// The session of the doc samples: none, since their ids are `***` placeholders, not ids as 100ms
/// writes them, and key nothing.
const SAMPLE_SESSION: Option<&str> = None;

#[tokio::test]
async fn only_the_secret_gets_in_and_each_event_is_kept_once() {
    let (t, _) = table().await;
    let f = receiver(rotating("hook-secret-1-0123456789abcdef0123456789abcdef"), t.clone(), AllowList::Any);
    let join = sample("webhook_peer_join_success.json", "evt-join-1");
    for (secret, what) in
        [(None, "missing"), (Some("hook-secret-2-0123456789abcdef0123456789abcdef"), "wrong"), (Some(""), "empty")]
    {
        let (s, b) = answer(&f.handle(delivery(&join, secret, "34.100.213.146")).await);
        assert_eq!(
            (s, b["error"].as_str(), b["msg"].as_str()),
            (401, Some("unauthenticated"), Some("unauthorized")),
            "{what}"
        );
    }
    assert!(stored_body(&t, "evt-join-1", SAMPLE_SESSION).await.is_none(), "nothing kept from a refused delivery");

    let (s, b) = answer(
        &f.handle(delivery(&join, Some("hook-secret-1-0123456789abcdef0123456789abcdef"), "34.100.213.146")).await,
    );
    assert_eq!((s, &b["duplicate"]), (200, &Value::Bool(false)), "{b}");
    // 100ms's three retries, then a replay of the same event: each a 200, none stored again.
    let mut replay: Value = serde_json::from_str(&join).unwrap();
    replay["is_replay"] = Value::Bool(true);
    replay["data"]["user_name"] = Value::String("changed".into());
    for body in [join.clone(), join.clone(), join.clone(), replay.to_string()] {
        let (s, b) = answer(
            &f.handle(delivery(&body, Some("hook-secret-1-0123456789abcdef0123456789abcdef"), "34.100.213.146")).await,
        );
        assert_eq!((s, &b["duplicate"]), (200, &Value::Bool(true)), "{b}");
    }
    assert_eq!(
        stored_body(&t, "evt-join-1", SAMPLE_SESSION).await.as_deref(),
        Some(join.as_str()),
        "kept as first received"
    );

    // Unknown types are kept, not interpreted; bodies that are no event are a 400.
    let unknown = r#"{"id":"evt-x","type":"something.new","data":{"whatever":[1,2]}}"#;
    assert_eq!(
        answer(&f.handle(delivery(unknown, Some("hook-secret-1-0123456789abcdef0123456789abcdef"), "1.2.3.4")).await).0,
        200
    );
    assert_eq!(stored_body(&t, "evt-x", None).await.as_deref(), Some(unknown));
    // Over the body bound: 413, before anything is read or kept.
    let big = format!(r#"{{"id":"evt-big","data":{{"pad":"{}"}}}}"#, "x".repeat(17 * 1024));
    let (s, b) =
        answer(&f.handle(delivery(&big, Some("hook-secret-1-0123456789abcdef0123456789abcdef"), "1.2.3.4")).await);
    assert_eq!((s, b["error"].as_str()), (413, Some("payload_too_large")), "{b}");
    assert!(stored_body(&t, "evt-big", None).await.is_none());
    for (body, code) in
        [("{not json", "invalid_json"), ("[1]", "invalid_body"), (r#"{"type":"peer.join.success"}"#, "missing_field")]
    {
        let (s, b) =
            answer(&f.handle(delivery(body, Some("hook-secret-1-0123456789abcdef0123456789abcdef"), "1.2.3.4")).await);
        assert_eq!((s, b["error"].as_str()), (400, Some(code)), "{body}");
    }
}

#[tokio::test]
async fn the_allow_list_keeps_other_addresses_out() {
    let (t, _) = table().await;
    let list = AllowList::parse("34.100.213.146,35.200.0.0/16").unwrap();
    let f = receiver(rotating("s-allow-0123456789abcdef0123456789abcdef"), t.clone(), list);
    let body = sample("webhook_session_open_success.json", "evt-open-1");
    let (s, _) = answer(&f.handle(delivery(&body, Some("s-allow-0123456789abcdef0123456789abcdef"), "10.0.0.1")).await);
    assert_eq!(s, 401, "the right secret from the wrong address");
    assert_eq!(
        answer(&f.handle(delivery(&body, Some("s-allow-0123456789abcdef0123456789abcdef"), "35.200.143.211")).await).0,
        200
    );
}

#[tokio::test]
async fn a_table_that_is_down_is_a_5xx_and_the_retry_keeps_the_event() {
    let (_, name) = table().await;
    let mut gate = Forward::to(&dynalite_endpoint()).await;
    let f = receiver(
        rotating("s-down-0123456789abcdef0123456789abcdef"),
        EventsTable::new(ddb_client(&gate.url()), name),
        AllowList::Any,
    );
    let body = sample("webhook_peer_leave_success.json", "evt-leave-1");
    gate.close().await;
    let (s, b) = answer(&f.handle(delivery(&body, Some("s-down-0123456789abcdef0123456789abcdef"), "1.2.3.4")).await);
    assert_eq!(
        (s, b["error"].as_str()),
        (503, Some("events_table_unavailable")),
        "never a 200 for an event not kept: {b}"
    );
    gate.open().await;
    gate.set(Mode::Pass);
    let (s, b) = answer(&f.handle(delivery(&body, Some("s-down-0123456789abcdef0123456789abcdef"), "1.2.3.4")).await);
    assert_eq!((s, &b["duplicate"]), (200, &Value::Bool(false)), "100ms's retry stores it: {b}");
}

#[tokio::test]
async fn a_rotated_secret_is_picked_up_and_a_flood_of_wrong_ones_reads_little() {
    let (t, _) = table().await;
    let source = rotating("before-rotation-0123456789abcdef0123456789abcdef");
    let f = receiver(source.clone(), t, AllowList::Any);
    let body = |id: &str| sample("webhook_session_close_success.json", id);
    assert_eq!(
        answer(
            &f.handle(delivery(&body("r1"), Some("before-rotation-0123456789abcdef0123456789abcdef"), "1.2.3.4")).await
        )
        .0,
        200
    );
    for i in 0..20 {
        let (s, _) = answer(&f.handle(delivery(&body(&format!("w{i}")), Some("guess"), "1.2.3.4")).await);
        assert_eq!(s, 401);
    }
    assert_eq!(source.reads(), 1, "wrong secrets right after a read read nothing more");

    source.swap(
        Credentials::new("k".into(), "s".into())
            .with_webhook_secret("after-rotation-0123456789abcdef0123456789abcdef".into()),
    );
    tokio::time::sleep(REREAD_AT_MOST_EVERY + Duration::from_millis(200)).await;
    let (s, b) = answer(
        &f.handle(delivery(&body("r2"), Some("after-rotation-0123456789abcdef0123456789abcdef"), "1.2.3.4")).await,
    );
    assert_eq!(s, 200, "the rotated secret is read again and accepted: {b}");
    assert_eq!(source.reads(), 2);
    assert_eq!(
        answer(
            &f.handle(delivery(&body("r3"), Some("before-rotation-0123456789abcdef0123456789abcdef"), "1.2.3.4")).await
        )
        .0,
        401
    );
}
