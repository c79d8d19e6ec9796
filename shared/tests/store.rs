//! The events table against dynalite, created from template.yaml's definition: the keys the code
//! uses are the template's, and every operation of the store, each conditional write among them,
//! does in DynamoDB what the in-memory store does in the unit tests.

use hms_shared::input::{Parse, RoomId};
use hms_shared::store::{
    BuiltReport, ClosedSession, EventRecord, EventsTable, Owners, PARTITION_KEY, SORT_KEY, Store, TTL_ATTRIBUTE,
};
use hms_test_support::dynalite::{create_events_table, ddb_client, dynalite_endpoint, template_table};

#[test]
fn the_code_uses_the_templates_keys_and_ttl() {
    let t = template_table();
    let keys: Vec<(&str, &str)> = t["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| (k["AttributeName"].as_str().unwrap(), k["KeyType"].as_str().unwrap()))
        .collect();
    assert_eq!(keys, [(PARTITION_KEY, "HASH"), (SORT_KEY, "RANGE")]);
    assert_eq!(t["TimeToLiveSpecification"]["AttributeName"].as_str(), Some(TTL_ATTRIBUTE));
    assert_eq!(t["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    assert_eq!(t["BillingMode"].as_str(), Some("PAY_PER_REQUEST"), "on-demand capacity");
    assert_eq!(t["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(), Some(true));
    assert_eq!(t["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
}

async fn table() -> EventsTable {
    EventsTable::new(ddb_client(&dynalite_endpoint()), create_events_table().await)
}

fn event<'a>(id: &'a str, session: Option<&'a str>, body: &'a str) -> EventRecord<'a> {
    let at = chrono::Utc::now();
    EventRecord {
        id,
        kind: "peer.join.success",
        room_id: Some("r1"),
        session_id: session,
        body: body.as_bytes(),
        received_at: at,
        expires_at: at + chrono::TimeDelta::days(90),
    }
}

fn closed(session: &str, started: &str) -> ClosedSession {
    let at = |t: &str| hms_shared::time::parse_rfc3339(&format!("2026-11-27T{t}Z")).unwrap();
    ClosedSession {
        room_id: "r1".into(),
        session_id: session.into(),
        started_at: at(started),
        stopped_at: Some(at("11:00:00")),
    }
}

#[tokio::test]
async fn an_event_is_stored_once_however_often_it_comes() {
    let table = table().await;
    assert!(table.put_event_once(&event("e1", None, "first")).await.unwrap(), "the first delivery is stored");
    for _ in 0..3 {
        assert!(!table.put_event_once(&event("e1", None, "again")).await.unwrap(), "a duplicate is not");
    }
    assert_eq!(table.event_body("e1", None).await.unwrap().as_deref(), Some("first"), "the first stays as it was");
    assert_eq!(table.event_body("nope", None).await.unwrap(), None);
    assert!(table.put_event_once(&event("e1", Some("s1"), "in a session")).await.unwrap(), "keyed by its session");
    assert!(table.put_event_once(&event("e2", Some("s1"), "second")).await.unwrap());
    assert_eq!(table.session_events("s1").await.unwrap(), ["in a session", "second"]);
}

#[tokio::test]
async fn an_owner_is_claimed_once_by_a_conditional_write() {
    let table = table().await;
    let room = RoomId::parse("631a0f990e6ffae22efa610c").unwrap();
    let now = chrono::Utc::now();
    assert_eq!(table.owner_of(&room).await.unwrap(), None);
    assert!(table.claim_owner(&room, "alice", now).await.unwrap());
    assert!(table.claim_owner(&room, "alice", now).await.unwrap(), "the owner claiming again keeps it");
    assert!(!table.claim_owner(&room, "bob", now).await.unwrap(), "another may not take it");
    assert_eq!(table.owner_of(&room).await.unwrap().as_deref(), Some("alice"));
    table.assign_owner(&room, "bob", "admin-1", now).await.unwrap();
    assert_eq!(table.owner_of(&room).await.unwrap().as_deref(), Some("bob"));
}

#[tokio::test]
async fn a_report_is_kept_only_while_its_generation_holds_and_pages_come_newest_first() {
    let table = table().await;
    let (early, late) = (closed("s1", "09:00:00"), closed("s2", "10:00:00"));
    table.mark_closed(&early).await.unwrap();
    assert_eq!(table.closed_session("s1").await.unwrap(), Some(early.clone()));
    assert_eq!(table.closed_session("s9").await.unwrap(), None);
    let report = BuiltReport { gzip: vec![1, 2, 3], events: 4 };
    assert!(!table.put_report(&early, "g1", &report).await.unwrap(), "no item of that generation yet");
    table.mark_report_to_build(&early, "g1").await.unwrap();
    table.mark_report_to_build(&early, "g2").await.unwrap();
    assert!(!table.put_report(&early, "g1", &report).await.unwrap(), "marked again since");
    assert!(table.put_report(&early, "g2", &report).await.unwrap());
    let stored = table.report(&early).await.unwrap().unwrap();
    assert_eq!((stored.generation.as_str(), stored.built), ("g2", Some(report)));
    table.mark_report_to_build(&late, "g3").await.unwrap();

    let (first, next) = table.report_page("r1", 1, None).await.unwrap();
    assert_eq!(first.iter().map(|r| r.closed.session_id.as_str()).collect::<Vec<_>>(), ["s2"], "newest first");
    assert!(first[0].built.is_none(), "still to build");
    let (second, _) = table.report_page("r1", 5, next.as_ref()).await.unwrap();
    assert_eq!(second.iter().map(|r| r.closed.session_id.as_str()).collect::<Vec<_>>(), ["s1"]);
    assert!(table.report_page("r2", 5, None).await.unwrap().0.is_empty());
}

#[tokio::test]
async fn a_table_that_cannot_be_reached_is_a_503_never_a_success() {
    let table = EventsTable::new(ddb_client("http://127.0.0.1:9"), "hms-events-gone".into());
    let err = table.put_event_once(&event("e2", None, "x")).await.unwrap_err();
    assert_eq!((err.status(), err.code().as_str()), (503, "events_table_unavailable"), "{err}");
    assert!(err.to_string().contains("events table is unavailable"), "{err}");
}
