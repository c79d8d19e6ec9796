//! Who can call what, end to end: the release binaries behind local-api's JWT authorizer, every
//! route x every kind of caller x (the owner's room, someone else's room, a room that does not
//! exist), each cell with its expected answer. The README's "Who can call it" table is this
//! matrix, generated from it (the test fails when the two differ).

use std::fmt::Write;

use hms_e2e::{Options, Stack};
use hms_test_support::cognito;
use serde_json::{Value, json};

#[path = "authorization/rows.rs"]
mod rows;
use rows::{CALLERS, Outcome, ROOMS, other_rows, room_rows, room_rule};

/// The matrix as docs/authorization.md shows it.
fn table() -> String {
    let mut t = String::from("| Route | ");
    t += &CALLERS.map(|(title, _)| title).join(" | ");
    t += " |\n|---|";
    t += &"---|".repeat(CALLERS.len());
    t.push('\n');
    for (title, _, _, _, outcomes) in other_rows() {
        let _ = writeln!(t, "| {title} | {} |", outcomes.map(Outcome::cell).join(" | "));
    }
    let rooms: Vec<String> = (0..CALLERS.len()).map(|c| ROOMS.map(|r| room_rule(c, r).cell()).join(" / ")).collect();
    let routes: Vec<&str> = room_rows().iter().map(|(title, ..)| *title).collect();
    let title = format!("a room's host operations ({}): own room / someone else's / unknown room", routes.join(", "));
    let _ = writeln!(t, "| {title} | {} |", rooms.join(" | "));
    let _ = writeln!(t, "| `OPTIONS` on any route (CORS preflight) | {} |", ["✓"; CALLERS.len()].join(" | "));
    let _ = writeln!(
        t,
        "| POST /webhooks/100ms (no JWT; the secret header decides) | {} |",
        ["401"; CALLERS.len()].join(" | ")
    );
    let _ = writeln!(t, "| GET /attendance (the page: no data of its own) | {} |", ["✓"; CALLERS.len()].join(" | "));
    t
}

fn fill(text: &str, room: &str, code: &str, name: &str) -> String {
    text.replace("ROOM", room).replace("CODE", code).replace("NAME", name)
}

/// An other row's body with its rooms filled in: the owner's class, members room, banned room,
/// and a room id nobody has; and the owner's user id.
fn fill_rooms(text: &str, rooms: [&str; 3], name: &str, owner_id: &str) -> String {
    let [class, members, banned] = rooms;
    text.replace("OWNER_ID", owner_id)
        .replace("UNKNOWN", "0123456789abcdef01234567")
        .replace("MEMBERS", members)
        .replace("BANNED", banned)
        .replace("ROOM", class)
        .replace("NAME", name)
}

#[tokio::test(flavor = "multi_thread")]
async fn who_can_call_what() {
    let stack =
        Stack::start("authorization", Options { jwt: true, allowed_roles: "host,guest,viewer", ..Options::default() })
            .await;
    // Each caller signs in to the stack's user pool and sends its access token (docs/sign-in.md);
    // its ID token is tried below.
    let mut tokens: Vec<Option<String>> = Vec::new();
    for (_, who) in CALLERS {
        tokens.push(match who {
            Some((name, groups)) => Some(stack.token(name, groups).await),
            None => None,
        });
    }
    let id_of = |c: usize| stack.user_id(CALLERS[c].1.expect("a signed-in caller").0);
    let admin = tokens[4].as_deref();
    let create = |token: Option<String>, name: &str| {
        let body = json!({"name": name}).to_string();
        let stack = &stack;
        async move {
            let (s, room, _) = stack.call_as(token.as_deref(), "POST", "/create-room", Some(&body)).await;
            assert_eq!(s, 200, "{room}");
            room["id"].as_str().unwrap().to_string()
        }
    };
    let owners = create(tokens[3].clone(), "matrix-class").await;
    let members_room = create(tokens[3].clone(), "matrix-members").await;
    let banned_room = create(tokens[3].clone(), "matrix-banned").await;
    let someone_elses = create(Some(stack.token("teacher-3", &["teachers"]).await), "matrix-other").await;
    let unknown = "0123456789abcdef01234567".to_string();
    let mut codes = Vec::new();
    for room in [&owners, &someone_elses] {
        let body = json!({"room_id": room, "roles": ["guest"]}).to_string();
        let (s, made, _) = stack.call_as(admin, "POST", "/room-codes", Some(&body)).await;
        assert_eq!(s, 200, "{made}");
        codes.push(made["room_codes"][0]["code"].as_str().unwrap().to_string());
    }
    codes.push("abc-defg-hij".into());
    let room_ids = [owners.clone(), someone_elses, unknown];
    // The owner's rooms: the member granted host and guest in the class, guest in the members
    // room; the signed-in user and the member banned from the third.
    let owner = tokens[3].as_deref();
    let as_owner = |path: &'static str, body: Value| {
        let stack = &stack;
        async move {
            let (s, b, _) = stack.call_as(owner, "POST", path, Some(&body.to_string())).await;
            assert_eq!(s, 200, "{path}: {b}");
            b
        }
    };
    let (user_id, member_id) = (id_of(1), id_of(5));
    let member =
        |room: &str, roles: &[&str]| json!({"room_id": room, "members": [{"user_id": member_id, "roles": roles}]});
    as_owner("/room-members", member(&owners, &["host", "guest"])).await;
    let switched = as_owner("/room-access", json!({"room_id": members_room, "access": "members"})).await;
    assert_eq!(switched["codes_disabled"], 0, "{switched}");
    as_owner("/room-members", member(&members_room, &["guest"])).await;
    for user in [&user_id, &member_id] {
        as_owner("/room-members/ban", json!({"room_id": banned_room, "user_id": user})).await;
    }
    let rooms = [owners.as_str(), members_room.as_str(), banned_room.as_str()];

    let mut cells = 0;
    let total = |c: Value| c["requests"].as_object().map_or(0, |r| r.values().filter_map(Value::as_u64).sum::<u64>());
    for (row, (title, method, path, body, outcomes)) in other_rows().into_iter().enumerate() {
        if title.contains("after POST /room-members/unban") {
            for user in [&user_id, &member_id] {
                as_owner("/room-members/unban", json!({"room_id": banned_room, "user_id": user})).await;
            }
        }
        for (c, token) in tokens.iter().enumerate() {
            let name = format!("matrix-new-{row}-{c}");
            let body = body.as_ref().map(|b| fill_rooms(&b.to_string(), rooms, &name, &id_of(3)));
            let before = total(stack.hms.counters().await);
            let (s, answer, _) = stack.call_as(token.as_deref(), method, path, body.as_deref()).await;
            let want = outcomes[c];
            assert!(want.holds(s, &answer), "{title} as {}: expected {want:?}, got {s} {answer}", CALLERS[c].0);
            if !matches!(want, Outcome::Pass | Outcome::Taken) {
                assert_eq!(
                    total(stack.hms.counters().await),
                    before,
                    "{title} as {}: a refusal reaches no 100ms",
                    CALLERS[c].0
                );
            }
            cells += 1;
        }
    }
    for (title, method, path, body) in room_rows() {
        for (r, room) in ROOMS.iter().enumerate() {
            for (c, token) in tokens.iter().enumerate() {
                let path = fill(path, &room_ids[r], &codes[r], "");
                let body = body.as_ref().map(|b| fill(&b.to_string(), &room_ids[r], &codes[r], ""));
                let before = total(stack.hms.counters().await);
                let (s, answer, _) = stack.call_as(token.as_deref(), method, &path, body.as_deref()).await;
                let want = room_rule(c, *room);
                assert!(
                    want.holds(s, &answer),
                    "{title} {room:?} as {}: expected {want:?}, got {s} {answer}",
                    CALLERS[c].0
                );
                if want != Outcome::Pass {
                    assert_eq!(
                        total(stack.hms.counters().await),
                        before,
                        "{title} {room:?}: a refusal reaches no 100ms"
                    );
                }
                cells += 1;
            }
        }
    }
    for (c, token) in tokens.iter().enumerate() {
        let (s, answer, _) = stack.call_as(token.as_deref(), "OPTIONS", "/session-list-by-room", None).await;
        assert_eq!(s, 200, "preflight as {}: {answer}", CALLERS[c].0);
        // Without the secret header, API Gateway's own 401: the webhook's authorizer takes the
        // header as its identity source, and no function runs.
        let (s, answer, _) = stack.call_as(token.as_deref(), "POST", "/webhooks/100ms", Some("{}")).await;
        assert_eq!((s, answer["message"].as_str()), (401, Some("Unauthorized")), "webhook as {}", CALLERS[c].0);
        // The page is for anyone (a browser's navigation carries no token) and holds no data.
        let mut page = reqwest::Client::new().get(format!("{}/attendance", stack.api));
        if let Some(t) = token {
            page = page.bearer_auth(t);
        }
        let page = page.send().await.unwrap();
        assert_eq!(page.status(), 200, "the page as {}", CALLERS[c].0);
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        cells += 3;
    }
    assert_eq!(cells, (other_rows().len() + room_rows().len() * 3 + 3) * CALLERS.len());

    // Either token Cognito gives the app passes API Gateway's authorizer (an ID token's `aud`, an
    // access token's `client_id`: both the app client's id) and carries the same groups: each
    // caller's ID token gets the answers its access token got.
    for (c, (title, who)) in CALLERS.iter().enumerate() {
        let Some((name, groups)) = who else { continue };
        let id_token = stack.sign_in(name, groups).await.id_token;
        for (r, room) in ROOMS.iter().enumerate() {
            let path = format!("/session-list-by-room?room_id={}", room_ids[r]);
            let (s, answer, _) = stack.call_as(Some(&id_token), "GET", &path, None).await;
            assert!(room_rule(c, *room).holds(s, &answer), "{title}'s ID token, {room:?}: {s} {answer}");
        }
        let body = fill_rooms(&json!({"room_id": "ROOM", "role": "guest"}).to_string(), rooms, "", "");
        let (s, answer, _) = stack.call_as(Some(&id_token), "POST", "/auth-token", Some(&body)).await;
        assert_eq!(s, 200, "{title}'s ID token mints its own token: {answer}");
    }

    // What API Gateway refuses with its own 401, before any function runs: tokens of another app
    // client of the same pool (ID and access), a token whose claims were changed (a student
    // making itself an admin), and tokens signed with a key the pool never published.
    let users = stack.users.as_ref().unwrap();
    let other_app = users.add_client("another-app").await;
    let elsewhere = users.sign_in_with(&other_app, "user-1", &[]).await;
    let student = stack.sign_in("user-1", &[]).await;
    let claims = cognito::claims_of(&student.access_token);
    let kid = cognito::header_of(&student.access_token)["kid"].as_str().unwrap().to_string();
    let refused = [
        ("another client's ID token", elsewhere.id_token),
        ("another client's access token", elsewhere.access_token),
        (
            "a student's token made an admin's",
            cognito::tampered(&student.access_token, |c| c["cognito:groups"] = json!(["admins"])),
        ),
        ("the pool's claims signed with another key under the pool's kid", cognito::signed_elsewhere(&claims, &kid)),
        ("the pool's claims signed with another key and kid", cognito::signed_elsewhere(&claims, "not-the-pools")),
    ];
    let before = stack.hms.counters().await;
    for (what, token) in refused {
        let (s, answer, _) = stack.call_as(Some(&token), "POST", "/create-room", Some(r#"{"name":"x"}"#)).await;
        assert_eq!((s, answer["message"].as_str()), (401, Some("Unauthorized")), "{what}");
    }
    assert_eq!(stack.hms.counters().await, before, "no refused token reaches 100ms");
    let (s, _, _) = stack
        .call_as(
            Some(&student.access_token),
            "POST",
            "/auth-token",
            Some(&fill_rooms(&json!({"room_id": "ROOM", "role": "guest"}).to_string(), rooms, "", "")),
        )
        .await;
    assert_eq!(s, 200, "the untouched token still passes");

    // An admin gives a room without an owner (or another's) to a teacher, who can then run it.
    let body = json!({"room_id": owners, "owner": id_of(2)}).to_string();
    assert_eq!(stack.call_as(admin, "POST", "/room-owner", Some(&body)).await.0, 200);
    let path = format!("/session-list-by-room?room_id={owners}");
    assert_eq!(stack.call_as(tokens[2].as_deref(), "GET", &path, None).await.0, 200, "the new owner runs it");
    let (s, b, _) = stack.call_as(tokens[3].as_deref(), "GET", &path, None).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("room_not_found")), "the old owner no longer does");

    // The audit trail: each token minted is logged with who asked, for whom, the room, the role
    // and its jti; never the token.
    let log = stack.log("auth-token");
    let minted: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "auth token minted")
        .collect();
    assert!(!minted.is_empty());
    for line in &minted {
        for field in ["sub", "user_id", "room_id", "role", "jti"] {
            assert!(line[field].as_str().is_some_and(|v| !v.is_empty() && v != "-"), "{field} missing: {line}");
        }
        assert_eq!(line["sub"], line["user_id"], "a signed-in caller's token is for itself: {line}");
    }
    assert!(!stack.log("auth-token").contains("eyJ"), "no token in the log");

    let doc = std::fs::read_to_string(hms_e2e::workspace_root().join("docs/authorization.md")).unwrap();
    let table = table();
    assert!(doc.contains(&table), "docs/authorization.md's table differs from the matrix; it must read:\n{table}");
}
