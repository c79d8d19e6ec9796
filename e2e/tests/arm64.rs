//! What ships runs: the arm64 `bootstrap` of each function that `sam build` made
//! (`.aws-sam/build/<Function>/bootstrap`), executed under qemu-user behind cargo-lambda's Runtime
//! API, with moto's Secrets Manager and the 100ms emulator, answers a short class: a room and its
//! codes, a token, a peer who joins, who is in, the peer leaving, the attendance and the session
//! list; then the session's webhooks kept in dynalite and its attendance history.
//!
//! Ignored in a plain `cargo test`: it needs `sam build`'s output, Debian's qemu-user and the
//! arm64 C library (libc6-arm64-cross). scripts/test.sh installs those and runs it after
//! `sam build`, with `--ignored`; there, missing artifacts fail it.

use std::path::Path;

use hms_e2e::{Options, Stack};
use hms_test_support::binaries::workspace_root;
use serde_json::json;

/// The template's functions, by logical id, and the binary each is.
const BUILT: [(&str, &str); 7] = [
    ("CreateRoomFunction", "create-room"),
    ("AuthTokenFunction", "auth-token"),
    ("SessionAnalyticsFunction", "session-analytics"),
    ("RoomControlFunction", "room-control"),
    ("WebhooksFunction", "webhooks"),
    ("WebhookAuthorizerFunction", "webhook-authorizer"),
    ("ReconcileFunction", "reconcile"),
];

/// qemu-user, with the arm64 C library Debian's libc6-arm64-cross installs.
const QEMU: &[&str] = &["/usr/bin/qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"];

/// ELF's e_machine for AArch64.
const EM_AARCH64: u16 = 183;

fn machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e} (run `sam build` first)", path.display()));
    assert_eq!(&bytes[..4], b"\x7fELF", "{} is not an ELF file", path.display());
    u16::from_le_bytes([bytes[18], bytes[19]])
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sam build's arm64 output and qemu-user: scripts/test.sh runs it after sam build"]
async fn the_arm64_bootstraps_sam_build_ships_answer() {
    let root = workspace_root();
    let dir = root.join("target/arm64-smoke");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (id, binary) in BUILT {
        let built = root.join(".aws-sam/build").join(id).join("bootstrap");
        assert_eq!(machine(&built), EM_AARCH64, "{}: not an arm64 binary", built.display());
        std::os::unix::fs::symlink(&built, dir.join(binary)).unwrap();
    }
    assert!(Path::new(QEMU[0]).exists(), "{} missing: apt-get install qemu-user", QEMU[0]);

    let stack = Stack::start("arm64", Options { bin_dir: Some(dir), runner: Some(QEMU), ..Options::default() }).await;
    let (status, room) = stack.post("/create-room", json!({"name": "arm64-class", "region": "eu"})).await;
    assert_eq!(status, 200, "{room}");
    let room_id = room["id"].as_str().unwrap();
    let (status, body) = stack.post("/auth-token", json!({"room_id": room_id, "user_id": "ada", "role": "host"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, refused) =
        stack.post("/auth-token", json!({"room_id": room_id, "user_id": "ada", "role": "root"})).await;
    assert_eq!((status, refused["error"].as_str()), (403, Some("role_not_allowed")), "{refused}");

    let (status, codes) = stack.post("/room-codes", json!({"room_id": room_id})).await;
    assert_eq!((status, codes["count"].as_u64()), (200, Some(2)), "{codes}");

    let peer = stack.hms.join(body["token"].as_str().unwrap(), "Ada", "2026-11-20T10:00:00Z").await;
    let (status, present) = stack.get(&format!("/active-peers?room_id={room_id}")).await;
    assert_eq!((status, present["peers"][0]["id"].as_str()), (200, Some(peer.as_str())), "{present}");
    stack.hms.leave(&peer, "2026-11-20T10:12:30Z").await;
    let (status, report) = stack.get(&format!("/session-analytics-by-room?room_id={room_id}")).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["user_duration_list"][0]["user_id"], "ada");
    assert_eq!(report["user_duration_list"][0]["duration"], 12.5);
    let (status, list) = stack.get(&format!("/session-list-by-room?room_id={room_id}")).await;
    assert_eq!((status, list["count"].as_u64()), (200, Some(1)), "{list}");

    // The session as 100ms's webhooks tell it, kept, and read back from the history.
    let session = list["sessions"][0]["id"].as_str().unwrap();
    let data = json!({"room_id": room_id, "session_id": session, "peer_id": peer, "user_id": "ada", "user_name": "Ada",
        "role": "host", "joined_at": "2026-11-20T10:00:00Z", "left_at": "2026-11-20T10:12:30Z",
        "session_started_at": "2026-11-20T10:00:00Z", "session_stopped_at": "2026-11-20T10:12:30Z"});
    for (id, kind) in [("a1", "peer.join.success"), ("a2", "peer.leave.success"), ("a3", "session.close.success")] {
        let (status, kept) = stack.webhook(&json!({"version": "2.0", "id": id, "type": kind, "data": data})).await;
        assert_eq!(status, 200, "{kind}: {kept}");
    }
    let (status, history) = stack.get(&format!("/attendance-history?room_id={room_id}")).await;
    assert_eq!((status, history["count"].as_u64()), (200, Some(1)), "{history}");
    assert_eq!(history["reports"][0]["user_duration_list"][0]["duration"], 12.5);
    // The functions no route serves, invoked as the schedule and API Gateway's authorizer do.
    let header = hms_shared::webhooks::DEFAULT_HEADER_NAME;
    let request = json!({"version": "2.0", "type": "REQUEST", "headers": {header: stack.webhook_secret},
        "requestContext": {"http": {"method": "POST", "path": "/webhooks/100ms", "sourceIp": "34.100.213.146"}}});
    let (ok, verdict) = stack.invoke("webhook-authorizer", &request).await;
    assert_eq!((ok, verdict), (true, json!({"isAuthorized": true})));
    let (ok, run) = stack.invoke("reconcile", &json!({"source": "aws.events"})).await;
    assert!(ok && run["given_up"] == 0, "{run}");
    for (_, binary) in BUILT {
        let line = match binary {
            "reconcile" => r#""message":"reconcile run""#,
            "webhook-authorizer" => r#""message":"credentials read"#,
            _ => r#""message":"request""#,
        };
        assert!(stack.log_lines(binary, line) >= 1, "{binary}:\n{}", stack.log(binary));
    }
}
