//! What the page tests share: chromedriver and a headless Chromium, waiting on the page, reading
//! numbers and text out of it, the API called as the page does, and the browser's downloads.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hms_e2e::{Stack, free_port, wait_for_port};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub(crate) const DAY: &str = "2026-11-20T";

pub(crate) fn at(time: &str) -> String {
    format!("{DAY}{time}Z")
}

/// chromedriver on a free loopback port, stopped with the test.
pub(crate) struct Driver {
    _child: Child,
    pub(crate) url: String,
}

pub(crate) async fn start_driver(log: &Path) -> Driver {
    assert!(Path::new(CHROMIUM).exists(), "{CHROMIUM} missing: apt-get install chromium (scripts/test.sh does)");
    assert!(Path::new(CHROMEDRIVER).exists(), "{CHROMEDRIVER} missing: apt-get install chromium-driver");
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .args([format!("--port={port}"), format!("--log-path={}", log.display())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starting chromedriver");
    wait_for_port(port, Duration::from_secs(30)).await;
    let url = format!("http://127.0.0.1:{port}");
    Driver { _child: child, url }
}

/// A headless Chromium that makes no connection of its own (this machine's network is closed)
/// and saves downloads in `downloads`.
pub(crate) async fn browser(driver: &Driver, profile: &Path, downloads: &Path) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:loggingPrefs": {"browser": "ALL"},
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1280,900",
                     format!("--user-data-dir={}", profile.display())],
            "prefs": {"download.default_directory": downloads.display().to_string(),
                      "download.prompt_for_download": false},
        },
    });
    let caps = caps.as_object().unwrap().clone().into_iter().collect();
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a chromedriver session")
}

/// What the browser's console said at level SEVERE (errors, failed loads, CSP refusals) since the
/// last call: chromedriver's log endpoint.
pub(crate) async fn console_errors(client: &Client, driver: &Driver) -> Vec<String> {
    let session = client.session_id().await.unwrap().expect("a session");
    let logs: Value = reqwest::Client::new()
        .post(format!("{}/session/{session}/se/log", driver.url))
        .json(&json!({"type": "browser"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = logs["value"].as_array().unwrap_or_else(|| panic!("no browser log: {logs}"));
    entries.iter().filter(|e| e["level"] == "SEVERE").map(|e| e["message"].to_string()).collect()
}

/// Waits until `script` (a JavaScript expression) is true in the page.
pub(crate) async fn wait_for(client: &Client, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = client.execute(&format!("return !!({script});"), vec![]).await.unwrap();
        if v == json!(true) {
            return;
        }
        if Instant::now() > deadline {
            let error = client.execute("return document.getElementById('error').textContent", vec![]).await;
            panic!("{what}: not within 30 s (the page's error box: {error:?})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn number(client: &Client, script: &str) -> u64 {
    client.execute(&format!("return {script};"), vec![]).await.unwrap().as_u64().unwrap()
}

pub(crate) async fn text(client: &Client, script: &str) -> String {
    client.execute(&format!("return {script};"), vec![]).await.unwrap().as_str().unwrap_or_default().to_string()
}

/// Rows and bars the report's JSON says the timeline must draw.
pub(crate) fn expected(report: &Value) -> (u64, u64) {
    let attendees = report["user_duration_list"].as_array().unwrap();
    (attendees.len() as u64, attendees.iter().map(|a| a["visits"].as_array().unwrap().len() as u64).sum())
}

pub(crate) async fn drawn(client: &Client) -> (u64, u64) {
    (number(client, "document.querySelectorAll('#timeline > li').length").await, {
        number(client, "document.querySelectorAll('#timeline .bar').length").await
    })
}

pub(crate) async fn raw_get(stack: &Stack, token: &str, path_and_query: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(format!("{}{path_and_query}", stack.api))
        .bearer_auth(token)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The one file the browser finished downloading into `dir`.
pub(crate) async fn downloaded(dir: &Path) -> (PathBuf, Vec<u8>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let done: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.extension().is_some_and(|e| e == "crdownload" || e == "tmp"))
            .collect();
        if let [one] = done.as_slice() {
            return (one.clone(), std::fs::read(one).unwrap());
        }
        assert!(done.len() <= 1, "more than one download: {done:?}");
        assert!(Instant::now() < deadline, "no download in {}", dir.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A stack whose callers sign in, with the emulator's webhooks going to it as they happen (as
/// scripts/run.sh has them).
pub(crate) async fn stack_with_webhooks(name: &str) -> Stack {
    let stack = Stack::start(name, hms_e2e::Options { jwt: true, ..hms_e2e::Options::default() }).await;
    let hook = json!({"url": format!("{}/webhooks/100ms", stack.api),
                      "headers": {hms_shared::webhooks::DEFAULT_HEADER_NAME: stack.webhook_secret}});
    stack.hms.control(reqwest::Method::PUT, "webhook", hook).await;
    stack
}

/// Calls the API as `token`'s holder: status and JSON.
pub(crate) async fn call_as(stack: &Stack, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let (status, json, _) = stack.call_as(Some(token), method, path, body.as_deref()).await;
    (status, json)
}
