//! The events table against dynalite, created from template.yaml's definition: the keys the code
//! uses are the template's, and every operation of the store, each conditional write among them,
//! does in DynamoDB what the in-memory store does in the unit tests.

use hms_shared::input::{MemberId, Parse, Role, RoomId};
use hms_shared::membership::{Access, RoomRules};
use hms_shared::store::{
    BuiltReport, ClosedSession, Closing, EventRecord, EventsTable, Lifetimes, Owners, PARTITION_KEY, ReportWrite,
    SESSION_SHARDS, SORT_KEY, Store, TTL_ATTRIBUTE, shard_of,
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
        room_id: Some(R1),
        session_id: session,
        body: body.as_bytes(),
        received_at: at,
        expires_at: at + chrono::TimeDelta::days(90),
    }
}

/// Rooms and sessions as 100ms names them.
const R1: &str = "0000000000000000000000a1";
const S1: &str = "0000000000000000000000c1";
const S2: &str = "0000000000000000000000c2";

fn lives() -> Lifetimes {
    let now = chrono::Utc::now();
    Lifetimes { events_until: now + chrono::TimeDelta::days(90), report_until: now + chrono::TimeDelta::days(400) }
}

fn closed(session: &str, started: &str) -> ClosedSession {
    let at = |t: &str| hms_shared::time::parse_rfc3339(&format!("2026-11-27T{t}Z")).unwrap();
    ClosedSession {
        room_id: R1.into(),
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
    assert!(table.put_event_once(&event("e1", Some(S1), "in a session")).await.unwrap(), "keyed by its session");
    assert!(table.put_event_once(&event("e2", Some(S1), "second")).await.unwrap());
    assert_eq!(table.session_events(S1).await.unwrap(), ["in a session", "second"]);
}

/// A session's events in its 32 partitions, and those kept before the shards (in the session's
/// one partition) still read; an event taken back only by the delivery that kept it.
#[tokio::test]
async fn a_sessions_events_are_read_from_every_shard_and_from_before_them() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let table = table().await;
    let ids: Vec<String> = (0..200).map(|n| format!("event-{n:03}")).collect();
    let shards: std::collections::BTreeSet<u32> = ids.iter().map(|id| shard_of(id)).collect();
    assert_eq!(shards.len(), SESSION_SHARDS as usize, "200 ids reach every shard");
    for id in &ids {
        assert!(table.put_event_once(&event(id, Some(S2), id)).await.unwrap());
    }
    ddb_client(&dynalite_endpoint())
        .put_item()
        .table_name(table.name())
        .item(PARTITION_KEY, A::S(format!("SESSION#{S2}")))
        .item(SORT_KEY, A::S("EVENT#before-shards".into()))
        .item("body", A::S("kept before".into()))
        .send()
        .await
        .unwrap();
    let bodies = table.session_events(S2).await.unwrap();
    assert_eq!(bodies.len(), 201);
    assert!(bodies.contains(&"kept before".to_string()));
    assert_eq!(table.event_body("before-shards", Some(S2)).await.unwrap().as_deref(), Some("kept before"));
    assert_eq!(table.event_body("event-007", Some(S2)).await.unwrap().as_deref(), Some("event-007"));

    let mine = event("taken", Some(S2), "mine");
    assert!(table.put_event_once(&mine).await.unwrap());
    let other = EventRecord { received_at: mine.received_at + chrono::TimeDelta::seconds(1), ..mine.clone() };
    table.forget_event(&other).await.unwrap();
    assert!(table.event_body("taken", Some(S2)).await.unwrap().is_some(), "another delivery's take-back does nothing");
    table.forget_event(&mine).await.unwrap();
    assert_eq!(table.event_body("taken", Some(S2)).await.unwrap(), None);
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
async fn a_report_is_kept_only_while_its_generation_holds_never_shrinks_and_pages_come_newest_first() {
    let table = table().await;
    let (early, late) = (closed(S1, "09:00:00"), closed(S2, "10:00:00"));
    let now = chrono::Utc::now();
    assert_eq!(table.closing(S1, "e1").await.unwrap(), None, "not closed yet");
    table.close_session(&early, "g1", lives(), now).await.unwrap();
    assert_eq!(table.closed_session(S1).await.unwrap(), Some(early.clone()));
    assert_eq!(table.closed_session(S2).await.unwrap(), None);
    for id in ["e1", "e2", "e3"] {
        let marker = Some(Closing { closed: early.clone(), build_begun: false });
        assert_eq!(table.closing(S1, id).await.unwrap(), marker, "a marker in {id}'s shard");
    }
    let queued = table.queued_builds(10).await.unwrap();
    assert_eq!(queued.iter().map(|(c, _)| c).collect::<Vec<_>>(), [&early], "the close queues its report");

    let report = BuiltReport { gzip: vec![1, 2, 3], events: 4 };
    table.begin_build(&early, "g1").await.unwrap();
    assert!(table.closing(S1, "e2").await.unwrap().unwrap().build_begun, "every shard knows a build began");
    table.mark_stale(&early, "g2", now + chrono::TimeDelta::seconds(1)).await.unwrap();
    assert_eq!(table.put_report(&early, "g1", &report).await.unwrap(), ReportWrite::Superseded, "marked again since");
    assert_eq!(table.put_report(&early, "g2", &report).await.unwrap(), ReportWrite::Kept);
    let stored = table.report(&early).await.unwrap().unwrap();
    assert_eq!((stored.generation.as_str(), stored.built.clone()), ("g2", Some(report.clone())));
    assert!(stored.is_fresh());

    table.mark_stale(&early, "g3", now + chrono::TimeDelta::seconds(2)).await.unwrap();
    let stale = table.report(&early).await.unwrap().unwrap();
    assert!(!stale.is_fresh() && stale.built == Some(report.clone()), "a stale report is kept");
    let fewer = BuiltReport { gzip: vec![9], events: 1 };
    assert_eq!(table.put_report(&early, "g3", &fewer).await.unwrap(), ReportWrite::Smaller(report.clone()));
    let kept = table.report(&early).await.unwrap().unwrap();
    assert_eq!(kept.built, Some(report.clone()), "never shrinks");
    assert!(kept.is_fresh(), "and stands for this generation: reads serve it without building");
    table.mark_stale(&early, "g3", now + chrono::TimeDelta::seconds(3)).await.unwrap();
    let more = BuiltReport { gzip: vec![7, 7], events: 5 };
    assert_eq!(table.put_report(&early, "g3", &more).await.unwrap(), ReportWrite::Kept);

    let (queued, at) = table.queued_builds(10).await.unwrap().remove(0);
    assert!(table.unqueue_build(&queued, at).await.unwrap());
    assert_eq!(table.queued_builds(10).await.unwrap().len(), 3, "each request for a build is queued");

    table.close_session(&late, "g4", lives(), now).await.unwrap();
    let (first, next) = table.report_page(R1, 1, None).await.unwrap();
    assert_eq!(first.iter().map(|r| r.closed.session_id.as_str()).collect::<Vec<_>>(), [S2], "newest first");
    assert!(first[0].built.is_none(), "still to build");
    let (second, _) = table.report_page(R1, 5, next.as_ref()).await.unwrap();
    assert_eq!(second.iter().map(|r| r.closed.session_id.as_str()).collect::<Vec<_>>(), [S1]);
    assert!(table.report_page("0000000000000000000000a2", 5, None).await.unwrap().0.is_empty());
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
    let report = closed("0000000000000000000000cc", "10:00:00");
    let table = EventsTable::new(ddb_client(&endpoint), name.clone());
    let beside = ClosedSession { room_id: moved.to_string(), ..report.clone() };
    table.close_session(&beside, "g1", lives(), chrono::Utc::now()).await.unwrap();
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
