//! 100ms's official Node server SDK (@100mslive/server-sdk 0.3.0, pinned in tools/node-sdk)
//! against the emulator: tools/node-sdk/check.js makes the SDK's own calls for rooms, room codes,
//! the active room and live streams, and asserts on what it reads back. A client nobody here
//! wrote, so the emulator answers the shapes 100ms's SDK expects, not only the ones our client
//! reads. Needs node and `scripts/setup.sh` (which installs the SDK).

use hms_test_support::binaries::workspace_root;
use hms_test_support::{Hms, fresh_secret};

#[tokio::test(flavor = "multi_thread")]
async fn the_official_node_sdk_works_against_the_emulator() {
    let dir = workspace_root().join("tools/node-sdk");
    assert!(
        dir.join("node_modules/@100mslive/server-sdk").is_dir(),
        "the SDK is not installed: run scripts/setup.sh (npm ci in tools/node-sdk)"
    );
    let (key, secret) = ("key-node-sdk", fresh_secret());
    let hms = Hms::start(key, &secret).await;
    let out = tokio::process::Command::new("node")
        .arg("check.js")
        .current_dir(&dir)
        .env("HMS_EMULATOR", &hms.base)
        .env("HMS_ACCESS_KEY", key)
        .env("HMS_SECRET", &secret)
        .output()
        .await
        .expect("node runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "check.js failed:\n{stdout}\n{stderr}");
    // The SDK logs to stdout too; check.js's report is the last line.
    let last = stdout.trim().lines().last().unwrap_or_default();
    let report: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("check.js's report ({e}):\n{stdout}\n{stderr}"));
    let checked: Vec<&str> = report["checked"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    for call in [
        "roomCodes.create",
        "activeRooms.updatePeer",
        "activeRooms.sendMessage",
        "liveStreams.start",
        "liveStreams.sendTimedMetadata",
        "liveStreams.list",
        "liveStreams.stopAll",
        "rooms.enableOrDisable",
    ] {
        assert!(checked.contains(&call), "{call} was not checked: {checked:?}");
    }
    let counters = hms.counters().await;
    let requests = counters["requests"].as_object().unwrap();
    assert!(requests.keys().any(|r| r.contains("live-streams")), "the calls reached the emulator: {counters}");
}
