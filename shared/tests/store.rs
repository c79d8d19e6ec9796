//! The events table against dynalite, created from template.yaml's definition: the keys the code
//! uses are the template's, and every operation of the store, each conditional write among them,
//! does in DynamoDB what the in-memory store does in the unit tests.

use hms_shared::input::{MemberId, Parse, Role, RoomId};
use hms_shared::membership::{Access, RoomRules};
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

/// What a room says of its people, the same in DynamoDB and in memory: the owner and the access
/// setting on one item (neither write loses the other), members granted and re-granted, a ban
/// that outlives the roles and the roles that outlive an unban, pages by user id, and one read
/// that answers for the user asking only.
async fn rooms_people(store: &dyn Owners) {
    let room = RoomId::parse("631b2654f771854d9bf633df").unwrap();
    let now = chrono::Utc::now();
    let id = |u: &str| MemberId::parse(u).unwrap();
    let roles = |rs: &[&str]| rs.iter().map(|r| Role::parse(r).unwrap()).collect::<Vec<_>>();
    assert_eq!(store.room_rules(&room, Some("s1")).await.unwrap(), RoomRules::default());

    store.set_access(&room, Access::Members, "admin", now).await.unwrap();
    assert!(store.claim_owner(&room, "teacher", now).await.unwrap(), "the access item has no owner yet");
    assert!(!store.claim_owner(&room, "other", now).await.unwrap());
    let rules = store.room_rules(&room, Some("nobody")).await.unwrap();
    assert_eq!((rules.owner.as_deref(), rules.access, rules.member), (Some("teacher"), Some(Access::Members), None));
    store.assign_owner(&room, "teacher-2", "admin", now).await.unwrap();
    store.set_access(&room, Access::Open, "teacher-2", now).await.unwrap();
    let rules = store.room_rules(&room, Some("nobody")).await.unwrap();
    assert_eq!((rules.owner.as_deref(), rules.access), (Some("teacher-2"), Some(Access::Open)));

    let roster: Vec<(MemberId, Vec<Role>)> = (0..25)
        .map(|i| (id(&format!("s{i:02}")), roles(if i == 0 { &["host", "guest"] } else { &["guest"] })))
        .collect();
    store.put_members(&room, &roster, "teacher-2", now).await.unwrap();
    let without = store.room_rules(&room, None).await.unwrap();
    assert_eq!((without.owner.as_deref(), without.member), (Some("teacher-2"), None), "no user asked: the room only");
    let s00 = store.room_rules(&room, Some("s00")).await.unwrap().member.unwrap();
    assert_eq!((s00.user_id, s00.roles, s00.banned), (id("s00"), roles(&["host", "guest"]), false));
    store.put_members(&room, &[(id("s00"), roles(&["viewer"]))], "teacher-2", now).await.unwrap();
    assert_eq!(
        store.room_rules(&room, Some("s00")).await.unwrap().member.unwrap().roles,
        roles(&["viewer"]),
        "replaced"
    );

    // A ban keeps the roles; removing the member keeps the ban; unbanning a non-member leaves nothing.
    store.set_banned(&room, &id("s01"), true, "teacher-2", now).await.unwrap();
    let s01 = store.room_rules(&room, Some("s01")).await.unwrap().member.unwrap();
    assert_eq!((s01.roles.len(), s01.banned), (1, true));
    assert!(store.remove_member(&room, &id("s01")).await.unwrap());
    assert!(!store.remove_member(&room, &id("s01")).await.unwrap(), "no roles left to take");
    assert!(store.room_rules(&room, Some("s01")).await.unwrap().member.unwrap().banned, "the ban stays");
    store.set_banned(&room, &id("s01"), false, "teacher-2", now).await.unwrap();
    assert_eq!(store.room_rules(&room, Some("s01")).await.unwrap().member, None, "nothing left: no item");
    store.set_banned(&room, &id("stranger"), true, "teacher-2", now).await.unwrap();
    assert!(store.room_rules(&room, Some("stranger")).await.unwrap().member.unwrap().banned, "a non-member banned");
    store.set_banned(&room, &id("s02"), false, "teacher-2", now).await.unwrap();
    assert_eq!(store.room_rules(&room, Some("s02")).await.unwrap().member.unwrap().roles, roles(&["guest"]));
    assert!(!store.remove_member(&room, &id("never")).await.unwrap());
    assert_eq!(store.room_rules(&room, Some("never")).await.unwrap().member, None, "no empty item made");

    // Pages by user id: 24 members left after s01 went, and the banned stranger.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = store.member_page(&room, 10, after.as_ref()).await.unwrap();
        assert!(page.len() <= 10);
        seen.extend(page);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let ids: Vec<&str> = seen.iter().map(|m| m.user_id.as_str()).collect();
    assert_eq!(ids.len(), 25, "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in user-id order: {ids:?}");
    assert!(!ids.contains(&"s01") && ids.contains(&"stranger"));
    let other = RoomId::parse("631b2654f771854d9bf633de").unwrap();
    assert_eq!(store.member_page(&other, 10, None).await.unwrap(), (vec![], None), "members are per room");
    assert_eq!(store.room_rules(&other, Some("s00")).await.unwrap(), RoomRules::default());
}

#[tokio::test]
async fn a_rooms_people_in_dynamodb() {
    rooms_people(&table().await).await;
}

#[tokio::test]
async fn a_rooms_people_in_memory() {
    rooms_people(&hms_shared::store::MemoryStore::default()).await;
}

/// An owner kept under the key of before (pk ROOM#<id>, beside the reports) is moved by
/// scripts/migrate-room-owners.py to the key the store reads now; a room claimed under the new
/// key since keeps its owner; a report beside the old item is left alone.
#[tokio::test]
async fn the_migration_moves_owners_to_their_own_partition() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let endpoint = dynalite_endpoint();
    let name = create_events_table().await;
    let client = ddb_client(&endpoint);
    let old = |room: &str, owner: &str| {
        client
            .put_item()
            .table_name(&name)
            .item(PARTITION_KEY, A::S(format!("ROOM#{room}")))
            .item(SORT_KEY, A::S("OWNER".into()))
            .item("owner", A::S(owner.into()))
            .send()
    };
    let (moved, claimed) =
        (RoomId::parse("631a0f990e6ffae22efa6101").unwrap(), RoomId::parse("631a0f990e6ffae22efa6102").unwrap());
    old(moved.as_str(), "alice").await.unwrap();
    old(claimed.as_str(), "mallory").await.unwrap();
    let report = closed("s-kept", "10:00:00");
    let table = EventsTable::new(ddb_client(&endpoint), name.clone());
    table.mark_report_to_build(&ClosedSession { room_id: moved.to_string(), ..report.clone() }, "g1").await.unwrap();
    assert!(table.claim_owner(&claimed, "bob", chrono::Utc::now()).await.unwrap(), "the old key is not read");
    assert_eq!(table.owner_of(&moved).await.unwrap(), None, "not yet moved");

    let root = hms_test_support::binaries::workspace_root();
    let out = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/migrate-room-owners.py"))
        .args([name.as_str(), "--endpoint-url", &endpoint, "--region", "us-east-1"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("owners moved: 1; rooms already claimed under the new key (kept): 1"), "{said}");
    assert_eq!(table.owner_of(&moved).await.unwrap().as_deref(), Some("alice"));
    assert_eq!(table.owner_of(&claimed).await.unwrap().as_deref(), Some("bob"), "a claim since wins");
    let left = client.scan().table_name(&name).send().await.unwrap().items.unwrap_or_default();
    assert!(
        !left
            .iter()
            .any(|i| i[PARTITION_KEY].as_s().unwrap().starts_with("ROOM#") && i[SORT_KEY].as_s().unwrap() == "OWNER")
    );
    assert_eq!(left.iter().filter(|i| i[SORT_KEY].as_s().unwrap().starts_with("REPORT#")).count(), 1, "reports stay");
}
