//! Inside Lambda's limits with the biggest rooms, through the release binaries behind a Runtime
//! API that refuses a response over 6 MB as Lambda does: a daily class of 2,000 sessions of 30
//! peers (its session list, with and without peers), and one session of 100,000 peers, 33,000
//! attendees (its attendance). Every page answers 200 under the limit, every session and every
//! attendee is reached exactly once through the cursor, and the function's peak RSS stays under
//! 100 MiB of the template's 128 MB. The sizes, times and peak RSS go to target/limits.txt
//! (BENCHMARKS.md quotes them; scripts/test.sh prints them).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Instant;

use hms_e2e::{Options, Stack, peak_rss_kib};
use hms_shared::edge::LAMBDA_RESPONSE_LIMIT;
use serde_json::{Value, json};

/// Walks `path` page by page; returns each page's items under `key`, keyed by `id_field`, and
/// the largest answer's size in bytes.
async fn walk(
    stack: &Stack,
    path: &str,
    key: &str,
    id_field: &str,
    check: impl Fn(&Value),
) -> (Vec<String>, usize, usize) {
    let (mut ids, mut pages, mut largest, mut cursor) = (Vec::new(), 0, 0, None::<String>);
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let (status, body, size) = stack.call_sized("GET", &url, None).await;
        assert_eq!(status, 200, "{url}: {}", &body.to_string()[..body.to_string().len().min(300)]);
        assert!(size <= LAMBDA_RESPONSE_LIMIT, "{url}: {size} bytes");
        check(&body);
        pages += 1;
        largest = largest.max(size);
        ids.extend(body[key].as_array().unwrap().iter().map(|item| item[id_field].as_str().unwrap().to_string()));
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return (ids, pages, largest),
        }
        assert!(pages < 10_000, "{path}: the cursor does not end");
    }
}

/// One line of the report: the case, its pages, largest answer, time and the peak RSS so far.
fn row(report: &mut String, name: &str, pages: usize, largest: usize, started: Instant, pid: u32) {
    let rss = peak_rss_kib(pid).unwrap_or(0) as f64 / 1024.0;
    let secs = started.elapsed().as_secs_f64();
    writeln!(report, "{name:<38} {pages:>5}  {largest:>14}  {secs:>5.2} s  {rss:.1} MiB").unwrap();
}

fn unique(ids: &[String]) -> usize {
    ids.iter().collect::<HashSet<_>>().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_biggest_rooms_answer_every_page_within_lambdas_limits() {
    let stack = Stack::start("limits", Options::default()).await;
    let mut report = String::from(
        "case                                   pages  largest answer  time    session-analytics peak RSS\n",
    );

    let (status, daily) = stack.post("/create-room", json!({"name": "limits-daily-class"})).await;
    assert_eq!(status, 200, "{daily}");
    let daily = daily["id"].as_str().unwrap().to_string();
    stack
        .hms
        .control(reqwest::Method::POST, "sessions", json!({"room_id": daily, "sessions": 2_000, "peers": 30}))
        .await;
    let (status, large) =
        stack.post("/create-room", json!({"name": "limits-large-room", "large_room": true, "size": 20_000})).await;
    assert_eq!(status, 200, "{large}");
    let large = large["id"].as_str().unwrap().to_string();
    stack
        .hms
        .control(
            reqwest::Method::POST,
            "sessions",
            json!({"room_id": large, "sessions": 1, "peers": 100_000, "users": 33_000}),
        )
        .await;

    let pid = stack.pid("session-analytics").expect("session-analytics runs");
    // 100ms has no has-more flag: a list that fills its last page ends on an empty one.
    let cases = [
        ("session list, 2,000 sessions", format!("/session-list-by-room?room_id={daily}"), 101),
        (
            "session list with peers, limit 100",
            format!("/session-list-by-room?room_id={daily}&peers=true&limit=100"),
            21,
        ),
    ];
    for (name, path, want_pages) in cases {
        let started = Instant::now();
        let with_peers = path.contains("peers=true");
        let (ids, pages, largest) = walk(&stack, &path, "sessions", "id", |page| {
            for s in page["sessions"].as_array().unwrap() {
                assert_eq!(s.get("peers").map(|p| p.as_object().unwrap().len()), with_peers.then_some(30), "{s}");
            }
        })
        .await;
        assert_eq!((ids.len(), unique(&ids), pages), (2_000, 2_000, want_pages), "{name}");
        row(&mut report, name, pages, largest, started, pid);
    }

    let attendance = [
        ("attendance, 100,000 peers, 33,000 users", format!("/session-analytics-by-room?room_id={large}"), 33),
        ("attendance, limit 5,000", format!("/session-analytics-by-room?room_id={large}&limit=5000"), 7),
    ];
    for (name, path, want_pages) in attendance {
        let started = Instant::now();
        let (users, pages, largest) = walk(&stack, &path, "user_duration_list", "user_id", |page| {
            assert_eq!(page["attendee_count"], 33_000);
            assert!(page["total_peer_duration"].as_f64().unwrap() > 0.0);
        })
        .await;
        assert_eq!((users.len(), unique(&users), pages), (33_000, 33_000, want_pages), "{name}");
        row(&mut report, name, pages, largest, started, pid);
    }

    let peak = peak_rss_kib(pid).expect("session-analytics still runs") as f64 / 1024.0;
    assert!(peak < 100.0, "session-analytics peak RSS {peak:.1} MiB: over 100 MiB of the template's 128 MB");
    // Every page above was one request, answered 200 (100 + 1 and 20 + 1 list pages, 33 + 7 attendance pages).
    let answered = |route: &str| stack.log_lines("session-analytics", &format!(r#""route":"{route}","status":200"#));
    assert_eq!((answered("/session-list-by-room"), answered("/session-analytics-by-room")), (122, 40));
    std::fs::write(hms_e2e::workspace_root().join("target/limits.txt"), &report).unwrap();
    println!("{report}");
}
