//! Properties over generated input: the request parsing and validation never panic, and every
//! rejection is a caller error (4xx) with the JSON envelope; attendance arithmetic stays sound;
//! the hand-written report and timestamp writers write what serde_json and chrono would.

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

use hms_shared::ApiError;
use hms_shared::attendance::{self, Attendee, Report, union_length};
use hms_shared::auth::RoleAllowList;
use hms_shared::auth::{CallerAuth, JwtRules};
use hms_shared::edge::{ApiRequest, Route, respond};
use hms_shared::handlers::auth_token::{AuthTokenRequest, auth_token_request};
use hms_shared::handlers::create_room::{CREATE_ROOM_FIELDS, new_room};
use hms_shared::hms::rooms::NewRoom;
use hms_shared::hms::sessions::{Peer, Session};
use hms_shared::input::{Parse, Role, RoomId, UserId};
use hms_shared::time::{parse_rfc3339, write_rfc3339};
use proptest::prelude::*;
use serde_json::{Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        ".{0,40}".prop_map(Value::String),
        "[0-9a-f]{24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("name".to_string()),
                    Just("room_id".to_string()),
                    Just("user_id".to_string()),
                    Just("role".to_string()),
                    Just("size".to_string()),
                    Just("large_room".to_string()),
                    Just("region".to_string()),
                    Just("template_id".to_string()),
                    Just("max_duration_seconds".to_string()),
                    ".{0,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn event(body: Option<String>, b64: bool, query: Vec<(String, String)>, path: String) -> Value {
    let mut ev = serde_json::json!({
        "version": "2.0", "rawPath": path, "rawQueryString": "",
        "requestContext": {"http": {"method": "POST", "path": "/x"}, "stage": "$default"},
        "isBase64Encoded": b64,
        "queryStringParameters": query.into_iter().map(|(k, v)| (k, Value::String(v))).collect::<serde_json::Map<String, Value>>()
    });
    if let Some(b) = body {
        ev["body"] = Value::String(b);
    }
    ev
}

fn roles() -> RoleAllowList {
    RoleAllowList::Only([Role::parse("host").unwrap()].into())
}

/// A refusal is a caller error (4xx), answered with that status and the envelope naming its code.
fn assert_caller_error(e: &ApiError) {
    assert!((400..500).contains(&e.status()), "{e:?} is not a caller error");
    let resp = respond(Err(e));
    assert_eq!(resp.status_code, i64::from(e.status()));
    let Some(lambda_http::aws_lambda_events::encodings::Body::Text(text)) = &resp.body else { panic!("a text body") };
    let body: Value = serde_json::from_str(text).unwrap();
    assert_eq!((body["success"].as_bool(), body["error"].as_str()), (Some(false), Some(e.code().as_str())));
}

/// A room that was accepted is what the body said: only accepted fields, each within its rules
/// (parsing its own JSON gives it back).
fn assert_room_accepted(room: &NewRoom) {
    let sent = serde_json::to_value(room).unwrap();
    let fields = sent.as_object().unwrap();
    assert!(fields.keys().all(|k| CREATE_ROOM_FIELDS.contains(&k.as_str())), "{sent}");
    assert_eq!(&new_room(Some(sent.to_string().as_bytes())).unwrap(), room, "{sent}");
}

/// A token request that was accepted names a well-formed room, user and an allowed role; the
/// caller's own id when one is given.
fn assert_token_request_accepted(r: &AuthTokenRequest, roles: &RoleAllowList, caller: Option<&str>) {
    assert_eq!(RoomId::parse(r.room_id.as_str()).as_ref(), Ok(&r.room_id), "already lower-case hex");
    assert_eq!(UserId::parse(r.user_id.as_str()).as_ref(), Ok(&r.user_id));
    assert!(roles.allows(&r.role));
    if let Some(sub) = caller {
        assert_eq!(r.user_id.as_str(), sub);
    }
}

fn check_create(body: &[u8]) {
    match new_room(Some(body)) {
        Ok(room) => assert_room_accepted(&room),
        Err(e) => assert_caller_error(&e),
    }
}

fn check_token(body: &[u8], roles: &RoleAllowList, caller: Option<&str>) {
    let claims: std::collections::HashMap<String, String> =
        caller.map(|sub| [("sub".to_string(), sub.to_string())].into()).unwrap_or_default();
    let auth = match caller {
        Some(_) => CallerAuth::Jwt(JwtRules::admin_only("groups", "admin")),
        None => CallerAuth::Open,
    };
    match auth_token_request(Some(body), roles, &auth.caller(&claims).unwrap()) {
        Ok(r) => assert_token_request_accepted(&r, roles, caller),
        Err(e) => assert_caller_error(&e),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_body_bytes_are_parsed_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_create(&bytes);
        check_token(&bytes, &roles(), None);
        check_token(&bytes, &roles(), Some("sub"));
    }

    #[test]
    fn any_json_is_parsed_without_panic(v in json_value()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        check_create(&bytes);
        check_token(&bytes, &roles(), None);
        check_token(&bytes, &RoleAllowList::Any, Some("caller"));
    }

    #[test]
    fn any_event_body_query_and_path_convert_without_panic(
        body in proptest::option::of(".{0,200}"),
        raw in prop::collection::vec(any::<u8>(), 0..200),
        b64 in any::<bool>(),
        encode in any::<bool>(),
        query in prop::collection::vec((".{0,10}", ".{0,30}"), 0..4),
        path in ".{0,30}",
    ) {
        let body = if encode { Some(base64::engine::general_purpose::STANDARD.encode(&raw)) } else { body };
        let ev = serde_json::from_value(event(body, b64, query, path)).unwrap();
        match ApiRequest::from_event(ev) {
            Ok(req) => {
                match req.route(&[Route { path: "/create-room", method: lambda_http::http::Method::POST }]) {
                    Ok(path) => prop_assert_eq!(path, "/create-room"),
                    Err(e) => assert_caller_error(&e),
                }
                if let Some(body) = req.body.as_deref() {
                    check_create(body);
                }
            }
            Err(e) => assert_caller_error(&e),
        }
    }

    /// Any text at all reads as chrono reads it (or is refused as chrono refuses it).
    #[test]
    fn any_timestamp_text_parses_as_chrono_parses_it(s in ".{0,40}") {
        let chrono = chrono::DateTime::parse_from_rfc3339(&s).ok().map(|t| t.to_utc());
        prop_assert_eq!(parse_rfc3339(&s), chrono, "{}", s);
    }

    /// Whatever the fast path takes, it reads exactly as chrono does; what it leaves, chrono reads.
    #[test]
    fn timestamps_parse_exactly_as_chrono_parses_them(
        date in (0u32..10_000, 0u32..14, 0u32..33),
        time in (0u32..26, 0u32..61, 0u32..62),
        fraction in prop::option::of("[0-9]{0,11}"),
        zone in prop::sample::select(vec!["Z", "z", "+00:00", "-05:30", "", "ZZ"]),
        sep in prop::sample::select(vec!["T", "t", " "]),
    ) {
        let ((y, mo, d), (h, mi, se)) = (date, time);
        let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
        let s = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{se:02}{fraction}{zone}");
        let chrono = chrono::DateTime::parse_from_rfc3339(&s).ok().map(|t| t.to_utc());
        prop_assert_eq!(parse_rfc3339(&s), chrono, "{}", s);
    }

    #[test]
    fn the_union_is_between_the_longest_interval_and_the_sum(
        spans in prop::collection::vec((0i64..10_000, -100i64..3_000), 0..30)
    ) {
        let base = DateTime::<Utc>::UNIX_EPOCH;
        let intervals: Vec<_> = spans
            .iter()
            .map(|(s, len)| (base + TimeDelta::seconds(*s), base + TimeDelta::seconds(s + len)))
            .collect();
        let union = union_length(intervals.clone()).num_seconds();
        let lengths: Vec<i64> = spans.iter().map(|(_, l)| (*l).max(0)).collect();
        prop_assert!(union <= lengths.iter().sum::<i64>());
        prop_assert!(union >= lengths.iter().copied().max().unwrap_or(0));
        let mut reversed = intervals;
        reversed.reverse();
        prop_assert_eq!(union_length(reversed).num_seconds(), union, "order does not matter");
    }

    /// compute() against the definition, written the plain way: group by user_id (or peer id),
    /// count joins, take the earliest join and the union of each group's presence.
    #[test]
    fn attendance_matches_the_definition_computed_naively(
        peers in prop::collection::vec(
            (prop::option::of(prop::sample::select(vec!["", "ann", "bob", "cy"])), 0i64..3_600, prop::option::of(0i64..1_800)),
            0..40,
        ),
        active in any::<bool>(),
    ) {
        let base = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000);
        let session = Session {
            id: "s".into(),
            room_id: "r".into(),
            active,
            created_at: base,
            updated_at: None,
            peers: peers
                .iter()
                .enumerate()
                .map(|(i, (user, join, stay))| Peer {
                    key: format!("peer-{i:02}").into(),
                    name: Some(format!("n{i}").into()),
                    role: None,
                    user_id: user.map(Into::into),
                    joined_at: base + TimeDelta::seconds(*join),
                    left_at: stay.map(|s| base + TimeDelta::seconds(join + s)),
                })
                .collect(),
        };
        let now = base + TimeDelta::seconds(7_200);
        let report = attendance::compute(&session, now);
        let end = attendance::session_end(&session, now);
        let mut groups: BTreeMap<String, Vec<&Peer>> = BTreeMap::new();
        for p in &session.peers {
            let key = p.user_id.as_deref().filter(|u| !u.is_empty()).map_or_else(|| format!("peer:{}", p.key), String::from);
            groups.entry(key).or_default().push(p);
        }
        prop_assert_eq!(report.attendees.len(), groups.len());
        for (key, members) in &groups {
            let user = key.strip_prefix("peer:").is_none().then_some(key.as_str());
            let found: Vec<_> = report
                .attendees
                .iter()
                .filter(|a| a.user_id == user && (user.is_some() || members.iter().any(|p| a.name == p.name.as_deref())))
                .collect();
            prop_assert_eq!(found.len(), 1, "one row for {}", key);
            let a = found[0];
            prop_assert_eq!(a.joins, members.len());
            prop_assert_eq!(a.first_join, members.iter().map(|p| p.joined_at).min().unwrap());
            let union = union_length(members.iter().map(|p| (p.joined_at, p.left_at.unwrap_or(end))).collect());
            prop_assert_eq!(a.duration, union);
        }
        let firsts: Vec<_> = report.attendees.iter().map(|a| a.first_join).collect();
        prop_assert!(firsts.windows(2).all(|w| w[0] <= w[1]), "ordered by first join");
    }

    /// Any instant, from year -300,000 to 300,000, leap seconds included, reads as chrono writes it.
    #[test]
    fn timestamps_are_written_exactly_as_chrono_writes_them(
        secs in -9_500_000_000_000i64..9_500_000_000_000,
        nanos in prop_oneof![Just(0u32), (0u32..1_000).prop_map(|n| n * 1_000_000), (0u32..1_000_000).prop_map(|n| n * 1_000), 0u32..2_000_000_000],
    ) {
        let secs = if nanos >= 1_000_000_000 { secs - secs.rem_euclid(60) + 59 } else { secs };
        if let Some(t) = DateTime::<Utc>::from_timestamp(secs, nanos) {
            let mut out = b"x".to_vec();
            write_rfc3339(t, &mut out);
            prop_assert_eq!(String::from_utf8(out).unwrap(), format!("x{}", t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)));
        }
    }

    /// The report's bytes are the JSON of its figures: any text escaped (quotes, controls, any
    /// Unicode), absent values null, minutes and seconds rounded to 2 decimals.
    #[test]
    fn the_report_is_written_as_the_json_of_its_figures(
        rows in prop::collection::vec(
            (prop::option::of(".{0,12}"), prop::option::of("[\\PC\"\\\\\u{0}-\u{1f}]{0,12}"), prop::option::of(".{0,6}"),
             1usize..5, 0i64..4_000_000_000_000, prop::option::of(0i64..100_000_000_000_000)),
            0..6,
        ),
        strings in ("[\\PC\"\\\\\u{0}-\u{1f}]{0,20}", ".{0,20}"),
        active in any::<bool>(),
        page in (0usize..10, 1usize..8),
        session_nanos in 0i64..1_000_000_000_000_000,
    ) {
        let base = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(19_000);
        let report = Report {
            room_id: &strings.0,
            session_id: &strings.1,
            active,
            started_at: base,
            session_duration: TimeDelta::nanoseconds(session_nanos),
            visits: rows
                .iter()
                .map(|(_, _, _, _, join_nanos, stay_nanos)| {
                    let joined = base + TimeDelta::nanoseconds(*join_nanos);
                    (joined, stay_nanos.map(|s| joined + TimeDelta::nanoseconds(s)))
                })
                .collect(),
            attendees: rows
                .iter()
                .enumerate()
                .map(|(i, (name, user_id, role, joins, join_nanos, stay_nanos))| Attendee {
                    user_id: user_id.as_deref(),
                    name: name.as_deref(),
                    role: role.as_deref(),
                    joins: *joins,
                    first_join: base + TimeDelta::nanoseconds(*join_nanos),
                    last_leave: stay_nanos.map(|s| base + TimeDelta::nanoseconds(join_nanos + s)),
                    duration: TimeDelta::nanoseconds(stay_nanos.unwrap_or(1_234_567_891)),
                    visits: i..i + 1,
                })
                .collect(),
        };
        // The rounding has tests of its own; here the writer is under test.
        let minutes = attendance::minutes;
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let expected = json!({
            "user_duration_list": report.attendees.iter().map(|a| json!({
                "visits": report.visits[a.visits.clone()].iter()
                    .map(|(j, l)| json!({"joined_at": stamp(*j), "left_at": l.map(stamp)}))
                    .collect::<Vec<_>>(),
                "name": a.name,
                "user_id": a.user_id,
                "duration": minutes(a.duration),
                "duration_seconds": attendance::round2(a.duration.num_nanoseconds().unwrap() as f64 / 1e9),
                "role": a.role,
                "joins": a.joins,
                "first_join_at": stamp(a.first_join),
                "last_leave_at": a.last_leave.map(stamp),
            })).collect::<Vec<_>>(),
            "session_duration": minutes(report.session_duration),
            "total_peer_duration": minutes(report.total_peer_duration()),
            "room_id": report.room_id,
            "session_id": report.session_id,
            "session_started_at": stamp(base),
            "active": active,
            "attendee_count": report.attendees.len(),
            "next_cursor": null,
        });
        let bytes = report.to_json_bytes();
        let text = std::str::from_utf8(&bytes).unwrap();
        prop_assert_eq!(serde_json::from_str::<Value>(text).unwrap(), expected.clone(), "{}", text);

        // A page is the same report with a slice of the rows, and says where the next one starts.
        let (offset, limit) = (page.0 % (report.attendees.len() + 2), page.1);
        let bytes = report.to_json_page(offset, limit);
        let text = std::str::from_utf8(&bytes).unwrap();
        let mut want = expected;
        let rows = want["user_duration_list"].as_array().unwrap().clone();
        let end = (offset + limit).min(rows.len());
        want["user_duration_list"] = json!(rows[offset.min(rows.len())..end]);
        want["next_cursor"] = if end < rows.len() { json!(end.to_string()) } else { Value::Null };
        prop_assert_eq!(serde_json::from_str::<Value>(text).unwrap(), want, "{}", text);
    }
}
