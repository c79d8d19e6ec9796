//! The history's rules against the in-memory store.

use super::*;
use crate::attendance;
use crate::store::fixtures::{R1, R2, S1, S2, S3, S4, closed, t};
use crate::store::{EventRecord, MemoryStore};
use serde_json::json;

fn peer_event(kind: &str, peer: &str, user: &str, joined: &str, left: Option<&str>) -> Vec<u8> {
    let mut data = json!({"room_id": R1, "session_id": S1, "peer_id": peer, "user_id": user,
        "user_name": user.to_uppercase(), "role": "guest", "joined_at": format!("2026-11-27T{joined}Z")});
    if let Some(l) = left {
        data["left_at"] = json!(format!("2026-11-27T{l}Z"));
    }
    serde_json::to_vec(&json!({"id": format!("{kind}-{peer}"), "type": kind, "data": data})).unwrap()
}

#[test]
fn order_does_not_matter_and_a_join_without_a_leave_ends_with_the_session() {
    let events = [
        peer_event(PEER_LEAVE, "p1", "a", "10:00:00", Some("10:30:00")),
        peer_event(PEER_JOIN, "p1", "a", "10:00:00", None),
        peer_event(PEER_JOIN, "p2", "b", "10:10:00", None),
        peer_event("role.change.success", "p2", "b", "10:10:00", None),
        b"not json".to_vec(),
    ];
    let forward = session_from_events(&closed(), events.iter().map(Vec::as_slice));
    let backward = session_from_events(&closed(), events.iter().rev().map(Vec::as_slice));
    assert_eq!(forward.1, 3, "peer events counted; others passed over");
    let report = |s: &Session<'_>| attendance::compute(s, t("12:00:00")).to_json_bytes();
    assert_eq!(report(&forward.0), report(&backward.0), "the same attendance whatever the order");
    let json: Value = serde_json::from_slice(&report(&forward.0)).unwrap();
    let rows = json["user_duration_list"].as_array().unwrap();
    assert_eq!((rows[0]["user_id"].as_str(), rows[0]["duration_seconds"].as_f64()), (Some("a"), Some(1800.0)));
    assert_eq!(rows[0]["name"], "A");
    assert_eq!(
        (rows[1]["user_id"].as_str(), rows[1]["duration_seconds"].as_f64()),
        (Some("b"), Some(3000.0)),
        "to the close"
    );
    assert_eq!(json["session_started_at"], "2026-11-27T10:00:00Z");
}

#[test]
fn a_close_event_names_its_session_or_is_passed_over() {
    let data = json!({"room_id": R1, "session_id": S1, "session_started_at": "2026-11-27T10:00:00Z",
        "session_stopped_at": "2026-11-27T11:00:00Z"});
    assert_eq!(ClosedSession::from_close_event(&data, None), Some(closed()));
    assert_eq!(ClosedSession::from_close_event(&json!({"room_id": R1}), Some(t("10:00:00"))), None);
    let odd = json!({"room_id": R1, "session_id": "s1", "session_started_at": "2026-11-27T10:00:00Z"});
    assert_eq!(ClosedSession::from_close_event(&odd, None), None, "an id not as 100ms writes them keys nothing");
    let no_start = ClosedSession::from_close_event(&json!({"room_id": R1, "session_id": S2}), Some(t("09:00:00")));
    assert_eq!(no_start.unwrap().started_at, t("09:00:00"), "the envelope's timestamp stands in");
}

fn closed_in(room: &str, session: &str, start: &str) -> ClosedSession {
    ClosedSession {
        room_id: room.into(),
        session_id: session.into(),
        started_at: t(start),
        stopped_at: Some(t("11:00:00")),
    }
}

fn close_event(c: &ClosedSession) -> Value {
    json!({"id": format!("close-{}", c.session_id), "type": SESSION_CLOSE, "data": {"room_id": c.room_id,
        "session_id": c.session_id, "session_started_at": stamp_of(c.started_at), "session_stopped_at": "2026-11-27T11:00:00Z"}})
}

fn stamp_of(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

const KEEP: Retention = Retention { event_days: 90, report_days: 400 };

/// Keeps an event in the store and lets the history see it, as `webhooks` does (a duplicate
/// changes nothing).
async fn deliver(store: &MemoryStore, body: &[u8]) {
    let event: Value = serde_json::from_slice(body).unwrap();
    let record = EventRecord {
        id: event["id"].as_str().unwrap(),
        kind: event["type"].as_str().unwrap(),
        room_id: event["data"]["room_id"].as_str(),
        session_id: event["data"]["session_id"].as_str(),
        body,
        received_at: t("12:00:00"),
        expires_at: t("12:00:00"),
    };
    if store.put_event_once(&record).await.unwrap() {
        on_event(store, record.id, &event, KEEP, t("12:00:00")).await.unwrap();
    }
}

async fn close(store: &MemoryStore, c: &ClosedSession) {
    deliver(store, &serde_json::to_vec(&close_event(c)).unwrap()).await;
}

fn user_ids(report: &[u8]) -> Vec<String> {
    let json: Value = serde_json::from_slice(report).unwrap();
    json["user_duration_list"].as_array().unwrap().iter().map(|r| r["user_id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_close_queues_the_report_and_a_late_event_after_a_build_has_it_built_again() {
    let store = MemoryStore::default();
    deliver(&store, &peer_event(PEER_JOIN, "p1", "a", "10:00:00", None)).await;
    close(&store, &closed()).await;
    let queued = store.report(&closed()).await.unwrap().unwrap();
    assert!(queued.built.is_none(), "no delivery builds a report");
    assert_eq!(store.queued_builds(10).await.unwrap().len(), 1, "the close queues it");

    deliver(&store, &peer_event(PEER_JOIN, "p3", "c", "10:01:00", None)).await;
    assert_eq!(store.report(&closed()).await.unwrap().unwrap(), queued, "before a build, a late event asks nothing");

    let settle = chrono::TimeDelta::minutes(2);
    assert_eq!(build_queued(&store, settle, 10, t("12:01:00")).await.unwrap(), 0, "not settled yet");
    assert_eq!(build_queued(&store, settle, 10, t("12:02:00")).await.unwrap(), 1);
    assert!(store.queued_builds(10).await.unwrap().is_empty(), "built, off the queue");
    let kept = store.report(&closed()).await.unwrap().unwrap();
    assert!(kept.is_fresh());
    assert_eq!(kept.built.as_ref().map(|b| b.events), Some(2));

    let duplicate = peer_event(PEER_JOIN, "p1", "a", "10:00:00", None);
    deliver(&store, &duplicate).await;
    assert_eq!(store.report(&closed()).await.unwrap().unwrap(), kept, "a duplicate changes nothing at all");
    assert!(store.queued_builds(10).await.unwrap().is_empty());

    deliver(&store, &peer_event(PEER_LEAVE, "p2", "b", "10:05:00", Some("10:20:00"))).await;
    let stale = store.report(&closed()).await.unwrap().unwrap();
    assert!(!stale.is_fresh() && stale.built == kept.built, "a late event asks for a build; the report stays");
    assert_eq!(store.queued_builds(10).await.unwrap().len(), 1);

    let (page, next) = reports_page(&store, R1, 10, None, usize::MAX, t("12:00:00")).await.unwrap();
    assert_eq!((page.len(), next), (1, None));
    assert_eq!(user_ids(&page[0]), ["a", "c", "b"], "the late peer is in the report built on read");
    assert_eq!(store.report(&closed()).await.unwrap().unwrap().built.map(|b| b.events), Some(3), "and kept");
    let one = session_report(&store, R1, S1, t("12:00:00")).await.unwrap().unwrap();
    assert_eq!(one, page[0]);
    assert_eq!(session_report(&store, R2, S1, t("12:00:00")).await.unwrap(), None, "another room's session");
    assert_eq!(session_report(&store, R1, S4, t("12:00:00")).await.unwrap(), None, "a session never closed");
}

#[tokio::test]
async fn a_report_never_shrinks_when_its_raw_events_have_gone() {
    let store = MemoryStore::default();
    let events: Vec<Vec<u8>> =
        ["p1", "p2", "p3"].iter().map(|p| peer_event(PEER_JOIN, p, p, "10:00:00", None)).collect();
    let late = peer_event(PEER_JOIN, "p4", "p4", "10:30:00", None);
    for e in &events {
        deliver(&store, e).await;
    }
    close(&store, &closed()).await;
    build_queued(&store, chrono::TimeDelta::zero(), 10, t("12:00:00")).await.unwrap();
    let full = store.report(&closed()).await.unwrap().unwrap().built.unwrap();
    assert_eq!(full.events, 3);
    // The raw events expire (TTL), then a replayed late event asks for a build.
    store.expire_events(S1);
    deliver(&store, &late).await;
    let json = session_report(&store, R1, S1, t("12:00:00")).await.unwrap().unwrap();
    assert_eq!(user_ids(&json), ["p1", "p2", "p3"], "the kept report, not one built of a single event");
    let kept = store.report(&closed()).await.unwrap().unwrap();
    assert_eq!(kept.built, Some(full), "still kept as it was");
    assert!(kept.is_fresh(), "and served as it is from now on, without a build on each read");
}

#[tokio::test]
async fn pages_are_newest_first_and_a_cursor_continues_after_the_last() {
    let store = MemoryStore::default();
    for (session, start) in [(S1, "08:00:00"), (S2, "09:00:00"), (S3, "10:00:00")] {
        close(&store, &closed_in(R1, session, start)).await;
    }
    close(&store, &closed_in(R2, S4, "10:30:00")).await;
    let session_of =
        |r: &Vec<u8>| serde_json::from_slice::<Value>(r).unwrap()["session_id"].as_str().unwrap().to_string();
    let (first, next) = reports_page(&store, R1, 2, None, usize::MAX, t("12:00:00")).await.unwrap();
    assert_eq!(first.iter().map(session_of).collect::<Vec<_>>(), [S3, S2]);
    let next = HistoryCursor::decode(&next.unwrap().encode()).unwrap();
    let (second, last) = reports_page(&store, R1, 2, Some(&next), usize::MAX, t("12:00:00")).await.unwrap();
    assert_eq!((second.iter().map(session_of).collect::<Vec<_>>(), last), (vec![S1.to_string()], None));
    let (small, early) = reports_page(&store, R1, 3, None, 1, t("12:00:00")).await.unwrap();
    assert_eq!(small.len(), 1, "past the byte budget the page stops early");
    let (rest, _) = reports_page(&store, R1, 3, early.as_ref(), usize::MAX, t("12:00:00")).await.unwrap();
    assert_eq!(rest.iter().map(session_of).collect::<Vec<_>>(), [S2, S1], "and goes on after it");
}

#[tokio::test]
async fn a_store_that_cannot_be_reached_fails_the_event_with_a_503() {
    let store = MemoryStore::default();
    store.set_down(true);
    let err = on_event(&store, "c1", &close_event(&closed()), KEEP, t("12:00:00")).await.unwrap_err();
    assert_eq!((err.status(), err.code().as_str()), (503, "events_table_unavailable"));
    let peer: Value = serde_json::from_slice(&peer_event(PEER_LEAVE, "p1", "a", "10:00:00", None)).unwrap();
    assert_eq!(on_event(&store, "e1", &peer, KEEP, t("12:00:00")).await.unwrap_err().status(), 503);
}

#[test]
fn cursors() {
    let c = HistoryCursor(closed().report_key());
    assert_eq!(HistoryCursor::decode(&c.encode()), Some(c.clone()));
    assert!(c.encode().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(HistoryCursor::decode("bm9wZQ"), None, "base64 of something that is no report key");
    assert_eq!(HistoryCursor::decode("!!"), None);
}
