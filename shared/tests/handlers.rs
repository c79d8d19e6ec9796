//! The functions' behaviour beyond the sample events: pagination, caps, configuration errors,
//! ids that do not belong together, validation ranges.

use hms_shared::app;
use hms_shared::auth::RoleAllowList;
use hms_shared::config::Config;
use hms_shared::credentials::{CredentialStore, Credentials, StaticSource};
use hms_shared::handlers::{self, AuthToken, CreateRoom, SessionAnalytics};
use hms_shared::hms::sessions::LIST_PAGE_LIMIT;
use hms_test_support::{
    CACHE_AGE, FakeHms, GARBAGE, Garbled, Handle, answer, event, get, open_create_room as open, post, token_claims,
};
use serde_json::{Value, json};

const ROOM: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";

fn session(i: usize) -> Value {
    json!({
        "id": format!("{i:024x}"),
        "room_id": ROOM,
        "active": false,
        "peers": {},
        "created_at": format!("2024-01-01T00:00:00Z"),
        "updated_at": "2024-01-01T00:10:00Z"
    })
}

fn any_role(secret: &str) -> AuthToken<StaticSource> {
    AuthToken {
        credentials: CredentialStore::new(StaticSource(Credentials::new("k".into(), secret.into())), CACHE_AGE),
        roles: RoleAllowList::Any,
        ttl_seconds: 60,
        access: hms_shared::owners::RoomAccess::open(),
    }
}

/// Reads every page of the room's sessions through `next_cursor`; returns the ids in order and
/// the number of pages.
async fn walk(f: &SessionAnalytics<&FakeHms>, extra: &[(&str, &str)]) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let mut params = vec![("room_id", ROOM)];
        params.extend_from_slice(extra);
        if let Some(c) = &cursor {
            params.push(("cursor", c));
        }
        let (status, body) = answer(&f.handle(get("/session-list-by-room", &params)).await);
        assert_eq!(status, 200, "{body}");
        pages += 1;
        let page: Vec<String> =
            body["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(body["count"], page.len());
        ids.extend(page);
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return (ids, pages),
        }
        assert!(pages < 1_000, "the cursor does not end");
    }
}

#[tokio::test]
async fn session_list_pages_reach_every_session_once_in_order() {
    let hms = FakeHms { sessions: (0..250).map(session).collect(), ..Default::default() };
    let f = hms_test_support::analytics(&hms);
    let (ids, pages) = walk(&f, &[]).await;
    let want: Vec<String> = (0..250).map(|i| format!("{i:024x}")).collect();
    assert_eq!(ids, want);
    assert_eq!(pages, 13, "20 a page by default: 12 full pages and one of 10");
    let calls = hms.list_calls.lock().unwrap();
    assert_eq!(calls.len(), 13, "one call to 100ms a page");
    assert_eq!(calls[0], (ROOM.to_string(), 20, None));
    assert_eq!(calls[1].2.as_deref(), Some(format!("{:024x}", 19).as_str()));
}

#[tokio::test]
async fn session_list_limit_is_100ms_page_and_an_exact_multiple_ends_on_an_empty_page() {
    let hms = FakeHms { sessions: (0..200).map(session).collect(), ..Default::default() };
    let f = hms_test_support::analytics(&hms);
    let (ids, pages) = walk(&f, &[("limit", "100")]).await;
    assert_eq!((ids.len(), pages), (200, 3), "100 + 100 + the empty page that ends it");
    assert!(hms.list_calls.lock().unwrap().iter().all(|c| c.1 == LIST_PAGE_LIMIT));
}

#[tokio::test]
async fn session_list_leaves_out_peers_unless_asked() {
    let mut with_peer = session(0);
    with_peer["peers"] = json!({"p1": {"name": "Ada", "joined_at": "2024-01-01T00:00:00Z"}});
    let hms = FakeHms { sessions: vec![with_peer], ..Default::default() };
    let f = hms_test_support::analytics(&hms);
    let (_, plain) = answer(&f.handle(get("/session-list-by-room", &[("room_id", ROOM)])).await);
    assert!(plain["sessions"][0].get("peers").is_none(), "{plain}");
    assert_eq!(plain["sessions"][0]["updated_at"], "2024-01-01T00:10:00Z", "the rest is 100ms's own");
    let (_, full) = answer(&f.handle(get("/session-list-by-room", &[("room_id", ROOM), ("peers", "true")])).await);
    assert_eq!(full["sessions"][0]["peers"]["p1"]["name"], "Ada");
}

#[tokio::test]
async fn session_list_refuses_bad_page_parameters() {
    let hms = FakeHms::default();
    let f = hms_test_support::analytics(&hms);
    for (name, value) in
        [("limit", "0"), ("limit", "101"), ("limit", "x"), ("cursor", "a b"), ("cursor", "../x"), ("peers", "yes")]
    {
        let (status, body) = answer(&f.handle(get("/session-list-by-room", &[("room_id", ROOM), (name, value)])).await);
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_parameter")), "{name}={value}: {body}");
        assert!(body["msg"].as_str().unwrap().contains(name), "{body}");
    }
    assert!(hms.list_calls.lock().unwrap().is_empty(), "nothing reaches 100ms");
}

#[tokio::test]
async fn session_list_of_a_room_without_sessions_is_an_empty_list() {
    let hms = FakeHms::default();
    let f = hms_test_support::analytics(&hms);
    let (status, body) = answer(&f.handle(get("/session-list-by-room", &[("room_id", ROOM)])).await);
    assert_eq!(status, 200);
    assert_eq!(body["count"], 0);
    assert_eq!(body["sessions"], json!([]));
}

#[tokio::test]
async fn analytics_rejects_a_session_of_another_room_and_an_unknown_session() {
    let hms = FakeHms::from_examples();
    let f = hms_test_support::analytics(&hms);
    let other_room = get(
        "/session-analytics-by-room",
        &[("room_id", "631a0f990e6ffae22efa610c"), ("session_id", "63172c2d3e3d9fdb008322e1")],
    );
    let (status, body) = answer(&f.handle(other_room).await);
    assert_eq!((status, body["error"].as_str()), (404, Some("session_not_found")), "{body}");
    let unknown = get("/session-analytics-by-room", &[("room_id", ROOM), ("session_id", "bbbbbbbbbbbbbbbbbbbbbbbb")]);
    let (status, body) = answer(&f.handle(unknown).await);
    assert_eq!((status, body["error"].as_str()), (404, Some("session_not_found")), "{body}");
    let bad = get("/session-analytics-by-room", &[("room_id", ROOM), ("session_id", "nope")]);
    let (status, body) = answer(&f.handle(bad).await);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_parameter")), "{body}");
    let bad_room = get("/session-analytics-by-room", &[("room_id", "x,y")]);
    assert_eq!(answer(&f.handle(bad_room).await).0, 400);
}

#[tokio::test]
async fn analytics_picks_the_latest_created_session_whatever_the_order() {
    let mut older = session(1);
    older["created_at"] = json!("2024-01-01T00:00:00Z");
    let mut newer = session(2);
    newer["created_at"] = json!("2024-02-01T00:00:00.000000001Z");
    newer["updated_at"] = json!("2024-02-01T00:30:00.000000001Z");
    let hms = FakeHms { sessions: vec![older, newer], ..Default::default() };
    let f = hms_test_support::analytics(&hms);
    let (status, body) = answer(&f.handle(get("/session-analytics-by-room", &[("room_id", ROOM)])).await);
    assert_eq!(status, 200);
    assert_eq!(body["session_id"], format!("{:024x}", 2));
    assert_eq!(body["session_duration"], 30.0);
}

#[tokio::test]
async fn unknown_route_is_404_json() {
    let hms = FakeHms::default();
    let f = hms_test_support::analytics(&hms);
    let (status, body) = answer(&f.handle(get("/nope", &[])).await);
    assert_eq!((status, body["error"].as_str()), (404, Some("route_not_found")));
}

#[tokio::test]
async fn create_room_validation_ranges() {
    let hms = FakeHms::default();
    let f = open(&hms);
    let cases = [
        (r#"{}"#, 200, ""),
        (r#"{"name":null,"region":null}"#, 200, ""),
        (r#"{"size":2500}"#, 200, ""),
        (r#"{"size":2501}"#, 400, "'size'"),
        (r#"{"size":20000,"large_room":true}"#, 200, ""),
        (r#"{"size":20001,"large_room":true}"#, 400, "'size'"),
        (r#"{"size":-1}"#, 400, "'size'"),
        (r#"{"size":"10"}"#, 400, "'size'"),
        (r#"{"max_duration_seconds":119}"#, 400, "'max_duration_seconds'"),
        (r#"{"max_duration_seconds":120}"#, 200, ""),
        (r#"{"max_duration_seconds":43200}"#, 200, ""),
        (r#"{"max_duration_seconds":43201}"#, 400, "'max_duration_seconds'"),
        (r#"{"region":"ap"}"#, 400, "'region'"),
        (r#"{"template_id":"123"}"#, 400, "'template_id'"),
        (r#"{"large_room":"yes"}"#, 400, "'large_room'"),
        (r#"{"description":5}"#, 400, "'description'"),
        (r#"[]"#, 400, "object"),
    ];
    for (body, status, needle) in cases {
        let (s, b) = answer(&f.handle(post("/create-room", body)).await);
        assert_eq!(s, status, "{body}: {b}");
        if status != 200 {
            assert!(b["msg"].as_str().unwrap().contains(needle), "{body}: {b}");
        }
    }
    let sent = hms.created.lock().unwrap();
    assert_eq!(sent[1], json!({}), "null fields are not forwarded");
}

#[tokio::test]
async fn a_broken_room_or_session_answer_is_502() {
    for garbage in GARBAGE {
        let what = String::from_utf8_lossy(garbage);
        let (status, body) = answer(&open(Garbled(garbage)).handle(post("/create-room", "{}")).await);
        assert_eq!((status, body["error"].as_str()), (502, Some("upstream_invalid_response")), "{what}");
        let f = hms_test_support::analytics(Garbled(garbage));
        for ev in [
            get("/session-analytics-by-room", &[("room_id", ROOM)]),
            get("/session-list-by-room", &[("room_id", ROOM)]),
            get("/session-analytics-by-room", &[("room_id", ROOM), ("session_id", ROOM)]),
        ] {
            let (status, body) = answer(&f.handle(ev).await);
            assert_eq!((status, body["error"].as_str()), (502, Some("upstream_invalid_response")), "{what}: {body}");
        }
    }
}

#[tokio::test]
async fn configuration_errors_are_json_500_config_and_never_panics() {
    let empty = Config::from_lookup(|_| None);
    let errors = app::create_room(&empty).err().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (status, body) =
        answer(&handlers::serve::<CreateRoom<app::Hms>>(Err(&errors), event("create-room.json")).await.response);
    assert_eq!((status, body["error"].as_str()), (500, Some("config")));
    assert!(!body["msg"].as_str().unwrap().contains("HMS_SECRET_ID"), "the setting is named in the log only");

    let keys_only = Config::from_lookup(|k| (k == "APP_ACCESS_KEY" || k == "APP_SECRET").then(|| "x".to_string()));
    let errors = app::auth_token(&keys_only).err().unwrap();
    type Auth = AuthToken<hms_shared::credentials::ConfiguredSource>;
    let (status, body) = answer(&handlers::serve::<Auth>(Err(&errors), event("auth-token.json")).await.response);
    assert_eq!((status, body["error"].as_str()), (500, Some("config")), "fails closed without an allow-list");
    assert!(!body["msg"].as_str().unwrap().contains("ALLOWED_ROLES"), "{body}");

    let errors = app::session_analytics(&empty).err().unwrap();
    let served = handlers::serve::<SessionAnalytics<app::Hms>>(Err(&errors), event("session-list.json")).await;
    assert_eq!(answer(&served.response).0, 500);

    // The edge and routing still answer a caller's mistake as one.
    let served = handlers::serve::<SessionAnalytics<app::Hms>>(Err(&errors), get("/nope", &[])).await;
    assert_eq!(answer(&served.response).0, 404);
    assert_eq!(served.error.unwrap().code(), "route_not_found");
}

#[tokio::test]
async fn auth_token_user_and_role_rules() {
    let secret = "handlers-test-secret";
    let f = any_role(secret);
    let room = "631a0f990e6ffae22efa610c";
    let long_user = "u".repeat(257);
    let accepted = [
        json!({"room_id": room, "user_id": "u", "role": "any-role"}),
        json!({"room_id": room, "user_id": "u", "role": "x", "extra": 1}),
    ];
    for body in accepted {
        let (s, b) = answer(&f.handle(post("/auth-token", &body.to_string())).await);
        assert_eq!(s, 200, "{body}: {b}");
        let claims = decode(&b, secret);
        assert_eq!((claims["user_id"].as_str(), claims["role"].as_str()), (Some("u"), body["role"].as_str()), "{body}");
    }
    let refused = [
        (json!({"room_id": "short", "user_id": "u", "role": "host"}), "'room_id'"),
        (json!({"room_id": room, "user_id": "", "role": "host"}), "'user_id'"),
        (json!({"room_id": room, "user_id": long_user, "role": "host"}), "'user_id'"),
        (json!({"room_id": room, "user_id": 42, "role": "host"}), "'user_id'"),
        (json!({"room_id": room, "user_id": "u", "role": ""}), "'role'"),
        (json!({"user_id": "u", "role": "host"}), "'room_id'"),
    ];
    for (body, needle) in refused {
        let (s, b) = answer(&f.handle(post("/auth-token", &body.to_string())).await);
        assert_eq!(s, 400, "{body}: {b}");
        assert!(b["msg"].as_str().unwrap().contains(needle), "{body}: {b}");
    }
}

fn decode(body: &Value, secret: &str) -> Value {
    token_claims(body, secret)
}

#[tokio::test]
async fn an_upper_case_room_id_is_the_same_room() {
    let secret = "case-secret";
    let (s, b) = answer(
        &any_role(secret)
            .handle(post("/auth-token", r#"{"room_id":"631A0F990E6FFAE22EFA610C","user_id":"u","role":"host"}"#))
            .await,
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(decode(&b, secret)["room_id"], "631a0f990e6ffae22efa610c", "the token names the room 100ms knows");

    let hms = FakeHms::from_examples();
    let f = hms_test_support::analytics(&hms);
    let (s, b) = answer(&f.handle(get("/session-analytics-by-room", &[("room_id", "631A0F990E6FFAE22EFA610C")])).await);
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["room_id"], "631a0f990e6ffae22efa610c");
}

#[tokio::test]
async fn a_repeated_query_parameter_is_400_naming_it() {
    let hms = FakeHms::from_examples();
    let f = hms_test_support::analytics(&hms);
    for (path, query) in [
        ("/session-list-by-room", vec![("room_id", ROOM), ("room_id", ROOM)]),
        ("/session-analytics-by-room", vec![("room_id", ROOM), ("session_id", ROOM), ("session_id", ROOM)]),
    ] {
        let (s, b) = answer(&f.handle(get(path, &query)).await);
        assert_eq!((s, b["error"].as_str()), (400, Some("invalid_parameter")), "{path}: {b}");
        let name = query.last().unwrap().0;
        assert!(b["msg"].as_str().unwrap().contains(&format!("'{name}' is given more than once")), "{b}");
    }
    assert!(hms.list_calls.lock().unwrap().is_empty(), "100ms is not asked anything");
}

#[tokio::test]
async fn a_page_over_lambdas_response_limit_is_a_422_that_says_to_ask_for_less() {
    let peers = |s: usize| -> Value {
        (0..12_000)
            .map(|p| {
                let peer = json!({"id": format!("peer-{s}-{p}"), "name": format!("Student number {p} of a very large class"),
                    "user_id": format!("user-{p:08}"), "role": "viewer-on-stage", "joined_at": "2024-01-01T00:00:00Z",
                    "left_at": "2024-01-01T00:09:00Z"});
                (format!("peer-{s}-{p}"), peer)
            })
            .collect::<serde_json::Map<String, Value>>()
            .into()
    };
    let sessions = (0..3)
        .map(|i| {
            let mut s = session(i);
            s["peers"] = peers(i);
            s
        })
        .collect();
    let hms = FakeHms { sessions, ..Default::default() };
    let f = hms_test_support::analytics(&hms);
    let with_peers = [("room_id", ROOM), ("peers", "true")];
    let (status, body) = answer(&f.handle(get("/session-list-by-room", &with_peers)).await);
    assert_eq!((status, body["error"].as_str()), (422, Some("response_too_large")), "{}", &body.to_string()[..200]);
    assert!(body["msg"].as_str().unwrap().contains("ask for less"), "{body}");
    let (status, one) =
        answer(&f.handle(get("/session-list-by-room", &[("room_id", ROOM), ("peers", "true"), ("limit", "1")])).await);
    assert_eq!((status, one["count"].as_u64()), (200, Some(1)), "one session's peers fit");
    let (status, plain) = answer(&f.handle(get("/session-list-by-room", &[("room_id", ROOM)])).await);
    assert_eq!((status, plain["count"].as_u64()), (200, Some(3)));
}

#[tokio::test]
async fn attendance_pages_reach_every_attendee_once_with_the_totals_on_each() {
    let peers: serde_json::Map<String, Value> = (0..2_500)
        .map(|p| {
            let joined = format!("2024-01-01T00:{:02}:{:02}Z", p / 60 % 60, p % 60);
            (
                format!("peer-{p}"),
                json!({"name": format!("P{p}"), "user_id": format!("u{p:05}"), "role": "guest",
                "joined_at": joined, "left_at": "2024-01-01T01:00:00Z"}),
            )
        })
        .collect();
    let mut s = session(0);
    s["peers"] = Value::Object(peers);
    s["updated_at"] = json!("2024-01-01T01:00:00Z");
    let hms = FakeHms { sessions: vec![s], ..Default::default() };
    let f = hms_test_support::analytics(&hms);
    let (mut users, mut pages, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let mut params = vec![("room_id", ROOM)];
        if let Some(c) = &cursor {
            params.push(("cursor", c));
        }
        let (status, body) = answer(&f.handle(get("/session-analytics-by-room", &params)).await);
        assert_eq!(status, 200, "{body}");
        let rows = body["user_duration_list"].as_array().unwrap();
        users.extend(rows.iter().map(|r| r["user_id"].as_str().unwrap().to_string()));
        pages.push((rows.len(), body["attendee_count"].clone(), body["total_peer_duration"].clone()));
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1_000, 1_000, 500]);
    assert!(pages.iter().all(|p| p.1 == 2_500 && p.2 == pages[0].2), "totals over everyone on every page: {pages:?}");
    let mut sorted = users.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((users.len(), sorted.len()), (2_500, 2_500), "each attendee once");

    let small = [("room_id", ROOM), ("limit", "2")];
    let (_, first) = answer(&f.handle(get("/session-analytics-by-room", &small)).await);
    assert_eq!((first["user_duration_list"].as_array().unwrap().len(), first["next_cursor"].as_str()), (2, Some("2")));
    let past = [("room_id", ROOM), ("cursor", "9999")];
    let (status, beyond) = answer(&f.handle(get("/session-analytics-by-room", &past)).await);
    assert_eq!(
        (status, beyond["user_duration_list"].clone(), beyond["next_cursor"].clone()),
        (200, json!([]), Value::Null)
    );
    for (name, value) in [("cursor", "abc"), ("cursor", "-1"), ("limit", "0"), ("limit", "5001")] {
        let (status, body) =
            answer(&f.handle(get("/session-analytics-by-room", &[("room_id", ROOM), (name, value)])).await);
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_parameter")), "{name}={value}: {body}");
    }
}

/// `format=csv` on `/session-analytics-by-room`: the same page as the JSON, one row per
/// attendee, the next page's cursor in a header, a name that would run as a formula neutralised.
#[tokio::test]
async fn attendance_as_csv_is_the_json_page_row_for_row() {
    let mut s = session(0);
    s["peers"] = json!({
        "p1": {"name": "=HYPERLINK(\"http://evil\")", "user_id": "u1", "role": "guest",
               "joined_at": "2024-01-01T00:00:00Z", "left_at": "2024-01-01T00:05:00Z"},
        "p2": {"name": "Bo, Jr.", "user_id": "u2", "role": "guest",
               "joined_at": "2024-01-01T00:01:00Z", "left_at": "2024-01-01T00:02:30Z"},
        "p3": {"name": "Cy", "user_id": "u3", "role": "host", "joined_at": "2024-01-01T00:02:00Z"},
    });
    let hms = FakeHms { sessions: vec![s], ..Default::default() };
    let f = hms_test_support::analytics(&hms);
    let query = [("room_id", ROOM), ("limit", "2")];
    let (status, json) = answer(&f.handle(get("/session-analytics-by-room", &query)).await);
    assert_eq!(status, 200, "{json}");
    let resp = f.handle(get("/session-analytics-by-room", &[query[0], query[1], ("format", "csv")])).await;
    assert_eq!(resp.status_code, 200);
    let header = |name: &str| resp.headers.get(name).map(|v| v.to_str().unwrap().to_string());
    assert!(header("content-type").unwrap().starts_with("text/csv"));
    assert!(header("content-disposition").unwrap().starts_with("attachment; filename=\"attendance-"));
    assert_eq!(header("x-next-cursor"), json["next_cursor"].as_str().map(String::from), "the JSON's next cursor");
    let Some(lambda_http::aws_lambda_events::encodings::Body::Text(csv)) = &resp.body else { panic!("a text body") };
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "a header and the page's two rows: {csv}");
    let rows = json["user_duration_list"].as_array().unwrap();
    assert_eq!(rows[0]["name"], "=HYPERLINK(\"http://evil\")");
    assert!(lines[1].contains(r#",u1,"'=HYPERLINK(""http://evil"")",guest,1,"#), "{}", lines[1]);
    assert!(
        lines[1].ends_with(&format!(
            ",{},{},{}/{}",
            rows[0]["duration"],
            rows[0]["duration_seconds"],
            rows[0]["first_join_at"].as_str().unwrap(),
            rows[0]["last_leave_at"].as_str().unwrap()
        )),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(",u2,\"Bo, Jr.\",guest,1,"), "{}", lines[2]);
    let (status, bad) = answer(&f.handle(get("/session-analytics-by-room", &[query[0], ("format", "xml")])).await);
    assert_eq!((status, bad["error"].as_str()), (400, Some("invalid_parameter")));
}
