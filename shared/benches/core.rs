//! `cargo bench -p hms-shared`: the hot paths of the functions.
//! - minting an auth token; getting the cached management token;
//! - attendance of one session with 10 to 100,000 peers, from the 100ms JSON page to the bytes of
//!   the answer, and where the time of the 10,000-peer case goes;
//! - what init does in-process (configuration, the functions built);
//! - gzip of an answer (a page of 1,000 attendees, a page of 100 sessions) at levels 1, 6 and 9;
//!   the compressed sizes are printed once;
//! - a webhook: its envelope read and the item that keeps it built (the receiver's own work; the
//!   table's round trips are lambda-bench's), and a session's report from 10,000 peer events.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hms_shared::app;
use hms_shared::attendance;
use hms_shared::config::Config;
use hms_shared::credentials::Credentials;
use hms_shared::hms::sessions::{self, Page, Session};
use hms_shared::input::{Parse, Role, RoomId, UserId};
use hms_shared::logging::{self, LogFormat};
use hms_shared::tokens::{ManagementTokenCache, mint_auth_token};
use hms_shared::{history, webhooks};

/// A `GET /sessions` page with one closed session of `peers` peers: users with one to three
/// visits each, some overlapping, some peers without user_id, fraction lengths varying.
fn page_json(peers: usize) -> Vec<u8> {
    let mut out = String::with_capacity(peers * 260 + 400);
    out.push_str(r#"{"limit":10,"data":[{"id":"631a0fa23e3d9fdb00832596","room_id":"631a0f990e6ffae22efa610c","customer_id":"627cdddff2e4e30487862ad1","active":false,"peers":{"#);
    for i in 0..peers {
        if i > 0 {
            out.push(',');
        }
        let user = i / 3;
        let start = (i * 7) % 36_000;
        let (h, m, s) = (start / 3600, (start / 60) % 60, start % 60);
        let end = start + 60 + (i * 13) % 1_800;
        let (eh, em, es) = (end / 3600, (end / 60) % 60, end % 60);
        let user_id = if i % 50 == 0 { String::new() } else { format!(r#","user_id":"user-{user}""#) };
        out.push_str(&format!(
            r#""peer-{i:08}":{{"id":"peer-{i:08}","session_id":"631a0fa23e3d9fdb00832596","name":"Name {user}","role":"guest"{user_id},"joined_at":"2022-09-08T{h:02}:{m:02}:{s:02}.{:03}Z","left_at":"2022-09-08T{eh:02}:{em:02}:{es:02}.{:06}Z"}}"#,
            i % 1000,
            (i * 31) % 1_000_000
        ));
    }
    out.push_str(r#"},"created_at":"2022-09-08T00:00:00.1Z","updated_at":"2022-09-08T11:00:00.25Z"}],"last":"631a0fa23e3d9fdb00832596"}"#);
    out.into_bytes()
}

fn tokens(c: &mut Criterion) {
    let creds = Arc::new(Credentials::new("bench-access-key".into(), "bench-secret-0123456789abcdef".into()));
    let room = RoomId::parse("631a0f990e6ffae22efa610c").unwrap();
    let (user, role) = (UserId::parse("user-42").unwrap(), Role::parse("guest").unwrap());
    c.bench_function("mint auth token", |b| {
        b.iter(|| mint_auth_token(black_box(&creds), &room, &user, &role, 1_795_000_000, 86_400).unwrap().token)
    });
    let cache = ManagementTokenCache::new();
    cache.get(&creds, 1_795_000_000).unwrap();
    c.bench_function("cached management token", |b| b.iter(|| cache.get(black_box(&creds), 1_795_000_001).unwrap()));
}

fn attendance_by_peers(c: &mut Criterion) {
    // As app::run does in the functions, so that an iteration reuses the memory the last freed.
    app::retain_freed_memory();
    let now = chrono::Utc::now();
    let mut group = c.benchmark_group("attendance: parse page + compute + JSON bytes");
    for peers in [10usize, 1_000, 10_000, 100_000] {
        let bytes = page_json(peers);
        let page: Page<Session> = sessions::parse(&bytes, "page").unwrap();
        assert_eq!(page.data[0].peers.len(), peers);
        group.throughput(Throughput::Elements(peers as u64));
        if peers >= 10_000 {
            group.sample_size(20);
        }
        group.bench_with_input(BenchmarkId::from_parameter(peers), &bytes, |b, bytes| {
            b.iter(|| {
                let page: Page<Session> = sessions::parse(black_box(bytes), "page").unwrap();
                let session = sessions::latest(page.data).unwrap();
                attendance::compute(&session, now).to_json_bytes()
            })
        });
    }
    group.finish();

    // Where the time of the 10,000-peer case goes, against a floor: serde_json reading the same
    // bytes and keeping nothing (`IgnoredAny`), which no parser built on serde_json can beat.
    let bytes = page_json(10_000);
    let mut group = c.benchmark_group("attendance stages, 10000 peers");
    group.sample_size(30);
    group.bench_function("floor: read JSON, keep nothing", |b| {
        b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&bytes)).unwrap())
    });
    group.bench_function("parse page", |b| {
        b.iter(|| sessions::parse::<Page<Session>>(black_box(&bytes), "page").unwrap().data.len())
    });
    let page: Page<Session> = sessions::parse(&bytes, "page").unwrap();
    let session = &page.data[0];
    group.bench_function("compute", |b| b.iter(|| attendance::compute(black_box(session), now).attendees.len()));
    let report = attendance::compute(session, now);
    group.bench_function("serialize", |b| b.iter(|| black_box(&report).to_json_bytes()));
    group.finish();
}

/// What a function does at init besides logging setup: read its configuration and build itself.
/// Clients (reqwest, Secrets Manager) are built on first use, so none of that is here.
fn init(c: &mut Criterion) {
    let env = |k: &str| {
        match k {
            "HMS_SECRET_ID" => Some("hms/prod/app"),
            "HMS_API_BASE_URL" => Some("https://api.100ms.live/v2"),
            "ALLOWED_ROLES" => Some("host,guest,viewer"),
            "CALLER_AUTH" => Some("jwt"),
            "AWS_REGION" => Some("us-east-1"),
            "EVENTS_TABLE" => Some("hms-events"),
            _ => None,
        }
        .map(String::from)
    };
    c.bench_function("init: JSON log subscriber built (RUST_LOG unset: info)", |b| {
        b.iter(|| {
            let settings = logging::log_settings(|_| None, tracing::level_filters::STATIC_MAX_LEVEL);
            logging::log_subscriber(settings.filter, LogFormat::Json, std::io::stdout)
        })
    });
    c.bench_function("init: config from the environment + the three functions built", |b| {
        b.iter(|| {
            let config = Config::from_lookup(env);
            (app::create_room(black_box(&config)), app::auth_token(&config), app::session_analytics(&config))
        })
    });
    c.bench_function("init: config from the environment + webhooks built", |b| {
        b.iter(|| app::webhooks(black_box(&Config::from_lookup(env))).is_ok())
    });
}

/// 10,000 peer events of one session: 1,000 users, 5 visits each, a join and a leave a visit.
fn peer_events() -> Vec<Vec<u8>> {
    let mut events = Vec::with_capacity(10_000);
    for p in 0..1_000 {
        for v in 0..5 {
            let start = v * 600 + p % 60;
            let at = |secs: usize| format!("2026-01-03T10:{:02}:{:02}Z", secs / 60, secs % 60);
            for leave in [false, true] {
                let mut data = serde_json::json!({"room_id": "631a0f990e6ffae22efa610c", "session_id": "6383d1c2e8d7f2a3b4c5d6cc",
                    "peer_id": format!("p{p}-{v}"), "user_id": format!("user-{p}"), "user_name": format!("Student {p}"),
                    "role": "guest", "joined_at": at(start), "session_started_at": "2026-01-03T10:00:00Z"});
                if leave {
                    data["left_at"] = serde_json::json!(at(start + 300));
                }
                let kind = if leave { "peer.leave.success" } else { "peer.join.success" };
                let event = serde_json::json!({"version": "2.0", "id": format!("e-{p}-{v}-{leave}"), "type": kind,
                    "timestamp": at(start), "data": data});
                events.push(serde_json::to_vec(&event).unwrap());
            }
        }
    }
    events
}

/// The receiver's own work for one delivery, and a closing session's report from its events.
fn webhooks(c: &mut Criterion) {
    let events = peer_events();
    let leave = &events[1];
    let now = chrono::Utc::now();
    c.bench_function("webhook: envelope read + record built (peer.leave.success)", |b| {
        b.iter(|| {
            let (envelope, _) = webhooks::parse_envelope(black_box(leave)).unwrap();
            webhooks::event_record(&envelope, leave, now, 90).body.len()
        })
    });
    let closed = history::ClosedSession::from_close_event(
        &serde_json::json!({"room_id": "631a0f990e6ffae22efa610c", "session_id": "6383d1c2e8d7f2a3b4c5d6cc",
            "session_started_at": "2026-01-03T10:00:00Z", "session_stopped_at": "2026-01-03T11:00:00Z"}),
        None,
    )
    .unwrap();
    let mut group = c.benchmark_group("report at close, 10,000 events of 1,000 attendees");
    group.sample_size(20);
    group.bench_function("events -> session -> attendance JSON -> gzip 6", |b| {
        b.iter(|| {
            let (session, n) = history::session_from_events(&closed, events.iter().map(Vec::as_slice));
            let json = attendance::compute(&session, now).to_json_bytes();
            (n, hms_shared::encoding::gzip_at(&json, 6).len())
        })
    });
    group.finish();
}

/// What gzip costs and saves on the answers a client asks for most: the default attendance page
/// (1,000 attendees) and a full session-list page without peers (100 sessions).
fn gzip_levels(c: &mut Criterion) {
    let session_bytes = page_json(3_000);
    let page: Page<Session> = sessions::parse(&session_bytes, "page").unwrap();
    let session = sessions::latest(page.data).unwrap();
    let report = attendance::compute(&session, chrono::Utc::now());
    let attendees = report.to_json_page(0, 1_000);
    let list: Vec<serde_json::Value> = (0..100)
        .map(|i| {
            serde_json::json!({"id": format!("{i:024x}"), "room_id": "631a0f990e6ffae22efa610c",
            "customer_id": "627cdddff2e4e30487862ad1", "active": false,
            "created_at": "2026-01-01T10:00:00.000Z", "updated_at": "2026-01-01T11:00:00.000Z"})
        })
        .collect();
    let sessions_page = serde_json::to_vec(&serde_json::json!({"success": true, "sessions": list})).unwrap();
    let mut group = c.benchmark_group("gzip");
    for (name, body) in [("attendance page (1,000 attendees)", &attendees), ("session list page (100)", &sessions_page)]
    {
        for level in [1, 6, 9] {
            let packed = hms_shared::encoding::gzip_at(body, level);
            println!("gzip {name}, level {level}: {} -> {} bytes", body.len(), packed.len());
            group.throughput(Throughput::Bytes(body.len() as u64));
            group.bench_with_input(BenchmarkId::new(format!("{name} level"), level), body, |b, body| {
                b.iter(|| hms_shared::encoding::gzip_at(black_box(body), level))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, tokens, attendance_by_peers, init, gzip_levels, webhooks);
criterion_main!(benches);
