//! The class report on the attendance page, and the page with a real class's names: a class of
//! 60 with a 70-character name and long user ids, recorded with a transcript and an AI summary;
//! a class spanning three days; a class nobody recorded. At 1280 and at 390 px: every table
//! column in view, the timeline's axis labels apart, dates on the long span's axis; the
//! recording's links absent until clicked, a click fetching a fresh link with its expiry, the
//! summary's sections shown exactly as the API gives them, nothing for the unrecorded class.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use hms_shared::credentials::Credentials;
use hms_shared::input::{Parse, Role, RoomId, UserId};
use hms_test_support::binaries::workspace_root;
use serde_json::{Value, json};

use super::browser::*;

/// The 70-character name (as a student typed it into the app).
const LONG_NAME: &str = "Maria Guadalupe Fernández de la Concepción Rodríguez-Villanueva Santos";

/// 60 names as a real class has them: accents, hyphens, several scripts, one very long.
fn class_names() -> Vec<String> {
    let first = ["Aarav", "Zoë", "José", "Mei-Ling", "Oluwaseun", "Siobhán", "Björn", "Nguyễn", "Fatima", "Łukasz"];
    let last = ["Okonkwo-Adeyemi", "García Márquez", "Østergaard", "Papadopoulos", "Van der Berg", "Kowalczyk"];
    let mut names: Vec<String> =
        (0..59).map(|i| format!("{} {}", first[i % first.len()], last[i % last.len()])).collect();
    names.push(LONG_NAME.to_string());
    names
}

/// Whether, in the page now, every column of the attendance table is inside its panel and the
/// axis labels neither touch each other nor leave the axis.
async fn laid_out(client: &Client) -> Value {
    client
        .execute(
            r#"
            const wrap = document.querySelector('.table-wrap').getBoundingClientRect();
            const heads = [...document.querySelectorAll('#attendees thead th')].map(th => th.getBoundingClientRect());
            const table = document.getElementById('attendees');
            const axis = document.getElementById('axis').getBoundingClientRect();
            const ticks = [...document.querySelectorAll('#axis span')].map(s => s.getBoundingClientRect());
            const apart = ticks.every((r, i) => i === 0 || ticks[i - 1].right <= r.left);
            const inside = ticks.every(r => r.left >= axis.left - 1 && r.right <= axis.right + 1);
            return {
                columns_in_view: heads.every(r => r.left >= wrap.left - 1 && r.right <= wrap.right + 1 && r.width > 0),
                no_table_scroll: table.scrollWidth <= document.querySelector('.table-wrap').clientWidth + 1,
                page_fits: document.documentElement.scrollWidth <= window.innerWidth,
                ticks: ticks.length, apart, inside,
                labels: [...document.querySelectorAll('#axis span')].map(s => s.textContent),
            };
            "#,
            vec![],
        )
        .await
        .unwrap()
}

async fn show_session(client: &Client, session: &str) {
    client.find(Locator::Css("#session")).await.unwrap().select_by_value(session).await.unwrap();
    wait_for(client, &format!("document.getElementById('session-title').textContent.includes('{session}')"), session)
        .await;
    wait_for(client, "document.getElementById('report-status').textContent.endsWith('.')", "the class report read")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Debian's chromium and chromium-driver: scripts/test.sh installs them and runs it"]
async fn the_class_report_and_a_real_class_in_a_real_browser() {
    let root = workspace_root();
    let out = root.join("target/class-report-page");
    let _ = std::fs::remove_dir_all(&out);
    let (profile, downloads) = (out.join("profile"), out.join("downloads"));
    std::fs::create_dir_all(&downloads).unwrap();
    let stack = stack_with_webhooks("class-report-page").await;
    let teacher = stack.token("teacher-grace", &["teachers"]).await;
    let call = |method: &'static str, path: String, body: Option<Value>| {
        let (stack, teacher) = (&stack, teacher.clone());
        async move { call_as(stack, &teacher, method, &path, body).await }
    };
    let (status, room) = call("POST", "/create-room".into(), Some(json!({"name": "report-class"}))).await;
    assert_eq!(status, 200, "{room}");
    let room_id = room["id"].as_str().unwrap().to_string();

    // A class that ran across three days (a hackathon room), told by its webhooks, never recorded;
    // sent before the next class, whose 120 webhooks the stack then takes in turn.
    let long_session = "0b0c0d0e0f10111213141516";
    let data = json!({"room_id": room_id, "session_id": long_session, "peer_id": "hack-peer", "user_name": "Ada",
        "user_id": "ada", "role": "guest", "joined_at": "2026-11-17T20:00:00Z", "left_at": "2026-11-19T20:00:00Z",
        "session_started_at": "2026-11-17T20:00:00Z", "session_stopped_at": "2026-11-19T20:30:00Z"});
    for (id, kind) in [("h1", "peer.join.success"), ("h2", "peer.leave.success"), ("h3", "session.close.success")] {
        let (status, kept) = stack.webhook(&json!({"version": "2.0", "id": id, "type": kind, "data": data})).await;
        assert_eq!(status, 200, "{kind}: {kept}");
    }
    // The recorded class: the teacher and 60 students, each with their own token (as auth-token
    // mints them; here straight from the app's credentials, one Cognito user per student would
    // only slow the test), long user ids as Cognito's subs are.
    let creds = Credentials::new(stack.access_key.clone(), stack.secret.clone());
    let room_key = RoomId::parse(&room_id).unwrap();
    let token_for = |user: &str, role: &str| {
        let (user, role) = (UserId::parse(user).unwrap(), Role::parse(role).unwrap());
        let now = chrono::Utc::now().timestamp();
        hms_shared::tokens::mint_auth_token(&creds, &room_key, &user, &role, now, 3600).unwrap().token
    };
    let hms = &stack.hms;
    let host = hms.join(&token_for("teacher-grace", "host"), "Grace Hopper", &at("09:00:00")).await;
    let mut students = Vec::new();
    for (i, name) in class_names().iter().enumerate() {
        let user = format!("{:08x}-7d1c-4f0e-9a3b-{:012x}", 0x51a7_0000 + i, i);
        let joined = format!("09:{:02}:{:02}", 1 + i / 30, (i * 2) % 60);
        students.push(hms.join(&token_for(&user, "guest"), name, &at(&joined)).await);
    }
    let sections = json!([{"title": "Agenda", "format": "bullets"}, {"title": "Key Points", "format": "bullets"},
                          {"title": "Short Summary", "format": "paragraph"}]);
    let start = json!({"room_id": room_id, "transcription": {"enabled": true, "output_modes": ["txt"],
                       "summary": {"enabled": true, "sections": sections}}});
    let (status, started) = call("POST", "/recordings/start".into(), Some(start)).await;
    assert_eq!(status, 200, "{started}");
    hms.control(reqwest::Method::POST, "clock", json!({"advance_seconds": 20})).await;
    let (status, _) = call("POST", "/recordings/stop".into(), Some(json!({"room_id": room_id}))).await;
    assert_eq!(status, 200);
    hms.control(reqwest::Method::POST, "clock", json!({"advance_seconds": 60})).await;
    for (i, peer) in students.iter().enumerate() {
        hms.leave(peer, &at(&format!("09:{:02}:00", 40 + i % 15))).await;
    }
    hms.leave(&host, &at("09:58:00")).await;

    // The class's ~125 webhooks reach the stack one function invocation at a time; the reports
    // are read once they are in (a read queued behind them could pass API Gateway's 29 s).
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let sent = hms.control(reqwest::Method::GET, "webhooks", json!({})).await;
        let events = sent["events"].as_array().unwrap();
        if events.iter().all(|e| e["delivered"] == true) {
            break;
        }
        assert!(Instant::now() < deadline, "the class's webhooks not delivered within 180 s");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    let history = loop {
        let (status, page) = call("GET", format!("/attendance-history?room_id={room_id}"), None).await;
        assert_eq!(status, 200, "{page}");
        if page["count"] == 2 {
            break page;
        }
        assert!(Instant::now() < deadline, "both reports not kept within 90 s: {page}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let recorded = history["reports"].as_array().unwrap().iter().find(|r| r["session_id"] != long_session).unwrap();
    let recorded_session = recorded["session_id"].as_str().unwrap().to_string();
    assert_eq!(recorded["attendee_count"], 61, "{recorded}");
    let (status, recs) =
        call("GET", format!("/recordings?room_id={room_id}&session_id={recorded_session}"), None).await;
    assert_eq!((status, recs["count"].as_u64()), (200, Some(1)), "{recs}");
    let assets = recs["recordings"][0]["assets"].as_array().unwrap().clone();
    let id_of = |kind: &str| assets.iter().find(|a| a["type"] == kind).unwrap()["id"].as_str().unwrap().to_string();
    let (status, summary) = call("GET", format!("/recording-summary?asset_id={}", id_of("summary")), None).await;
    assert_eq!(status, 200, "{summary}");

    let driver = start_driver(&out.join("chromedriver.log")).await;
    let client = browser(&driver, &profile, &downloads).await;
    client.goto(&format!("{}/attendance?room_id={room_id}#token={teacher}", stack.api)).await.unwrap();
    wait_for(&client, "document.querySelectorAll('#session option').length === 2", "both sessions listed").await;
    show_session(&client, &recorded_session).await;
    assert_eq!(number(&client, "document.querySelectorAll('#attendees tbody tr').length").await, 61);

    // The recording, its transcript's button, and no link in the page until one is clicked.
    assert_eq!(number(&client, "document.querySelectorAll('#recordings li.recording').length").await, 1);
    let buttons =
        text(&client, "[...document.querySelectorAll('#recordings button.asset')].map(b => b.textContent).join('|')")
            .await;
    assert_eq!(buttons, "Recording|Chat|Transcript (txt)", "every asset but the summary, which is shown as text");
    assert_eq!(number(&client, "document.querySelectorAll('#recordings a').length").await, 0);
    let page = text(&client, "document.documentElement.outerHTML").await;
    assert!(!page.contains("/_emulator/assets/"), "no presigned link before a click");

    // The summary's sections, exactly.
    let shown = client
        .execute(
            "return [...document.querySelectorAll('#summary h4')].map(h => { const body = h.nextElementSibling;
               return {title: h.textContent, format: body.tagName === 'UL' ? 'bullets' : 'paragraph',
                       text: body.tagName === 'UL' ? [...body.children].map(li => li.textContent) : [body.textContent]}; });",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, summary["sections"], "the sections as the API gives them");

    // A click: a fresh link, with its expiry, that works.
    let transcript = id_of("transcript");
    let clicked_at = chrono::Utc::now();
    client.find(Locator::Css(&format!("button[data-asset-id='{transcript}']"))).await.unwrap().click().await.unwrap();
    wait_for(&client, &format!("document.querySelector(\"a[data-asset-id='{transcript}']\")"), "the link").await;
    let href = text(&client, &format!("document.querySelector(\"a[data-asset-id='{transcript}']\").href")).await;
    let expires =
        text(&client, &format!("document.querySelector(\"a[data-asset-id='{transcript}']\").dataset.expiresAt")).await;
    assert!(href.contains(&format!("/_emulator/assets/{transcript}?token=")), "{href}");
    let expires = chrono::DateTime::parse_from_rfc3339(&expires).unwrap();
    let life = (expires.with_timezone(&chrono::Utc) - clicked_at).num_seconds();
    assert!((3500..=3700).contains(&life), "an hour's link (the API's default): {life} s");
    let got = reqwest::get(&href).await.unwrap();
    assert_eq!(got.status(), 200);
    assert!(got.text().await.unwrap().contains("Good morning"), "the transcript itself");

    // A real class's names at a desktop's width and a phone's.
    for (width, height, shot) in [(1280, 900, "class-report-page.png"), (390, 844, "class-report-page-phone.png")] {
        client.set_window_size(width, height).await.unwrap();
        wait_for(&client, "document.documentElement.scrollWidth <= window.innerWidth", "the resize").await;
        let layout = laid_out(&client).await;
        for check in ["columns_in_view", "no_table_scroll", "page_fits", "apart", "inside"] {
            assert_eq!(layout[check], true, "{check} at {width} px: {layout}");
        }
        assert!(layout["ticks"].as_u64().unwrap() >= 2, "{layout}");
        let long_row = format!(
            "[...document.querySelectorAll('#attendees tbody td')].find(td => td.textContent === '{LONG_NAME}')"
        );
        assert_eq!(text(&client, &format!("{long_row}.textContent")).await, LONG_NAME, "the whole name is there");
        std::fs::write(root.join("target").join(shot), client.screenshot().await.unwrap()).unwrap();
    }

    // The three-day class: dates on its axis (at a phone's width still apart), and nothing recorded.
    show_session(&client, long_session).await;
    let layout = laid_out(&client).await;
    assert_eq!((layout["apart"].as_bool(), layout["inside"].as_bool()), (Some(true), Some(true)), "{layout}");
    let labels: Vec<&str> = layout["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(labels.iter().all(|l| l.contains("Nov")), "each label has its date: {labels:?}");
    assert!(labels.first().unwrap().contains("17") && labels.last().unwrap().contains("19"), "{labels:?}");
    assert_eq!(number(&client, "document.querySelectorAll('#recordings li').length").await, 0);
    assert_eq!(
        text(&client, "document.getElementById('report-status').textContent").await,
        "Nothing was recorded in this session."
    );
    assert_eq!(text(&client, "document.getElementById('summary').textContent").await, "");
    client.set_window_size(1280, 900).await.unwrap();
    show_session(&client, &recorded_session).await;
    let labels = laid_out(&client).await["labels"].clone();
    assert!(
        labels.as_array().unwrap().iter().all(|l| !l.as_str().unwrap().contains("Nov")),
        "a one-day class: times only: {labels}"
    );

    let errors = console_errors(&client, &driver).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    client.close().await.unwrap();
}
