//! local-api in front of the whole local stack (release functions under cargo-lambda's Runtime
//! API, moto, the 100ms emulator), as scripts/run.sh runs it: the routes and the functions'
//! Invoke API pass through; anything else, cargo-lambda's `/lambda-url/` paths for internal
//! binaries included, is API Gateway's 404 at once.

use std::process::Stdio;
use std::time::Duration;

use hms_e2e::{Options, Stack};
use serde_json::{Value, json};

struct Front {
    base: String,
    _child: tokio::process::Child,
}

async fn front(upstream: &str) -> Front {
    let port = hms_e2e::free_port();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_local-api"))
        .args(["--port", &port.to_string(), "--upstream", upstream])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    hms_e2e::wait_for_port(port, Duration::from_secs(5)).await;
    Front { base: format!("http://127.0.0.1:{port}"), _child: child }
}

async fn call(http: &reqwest::Client, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http.request(method.parse().unwrap(), url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ctype = resp.headers().get("content-type").cloned();
    let text = resp.text().await.unwrap();
    // The API answers JSON (cargo-lambda's Invoke API, unlike Lambda's, sets no content type).
    if !url.contains("/2015-03-31/functions/") || status == 404 {
        let ctype = ctype.as_ref().and_then(|v| v.to_str().ok());
        assert_eq!(ctype, Some("application/json"), "{method} {url}: {status} {text}");
    }
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn routes_pass_and_everything_else_is_api_gateways_404() {
    let stack = Stack::start("local-api", Options::default()).await;
    let front = front(&stack.api).await;
    // Quick answers only: a path that reached cargo-lambda for an internal binary would hang.
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let url = |p: &str| format!("{}{p}", front.base);

    let (status, room) = call(&http, "POST", &url("/create-room"), Some(json!({"name": "local-api"}))).await;
    assert_eq!(status, 200, "{room}");
    let room_id = room["id"].as_str().unwrap();
    let (status, list) = call(&http, "GET", &url(&format!("/session-list-by-room?room_id={room_id}")), None).await;
    assert_eq!((status, list["count"].as_u64()), (200, Some(0)), "{list}");
    let (status, wrong) = call(&http, "GET", &url("/auth-token"), None).await;
    assert_eq!((status, wrong["error"].as_str()), (405, Some("method_not_allowed")), "{wrong}");

    // Lambda's Invoke API, as `cargo lambda invoke` sends it: the event in, the function's
    // response object out.
    let event = json!({"version": "2.0", "rawPath": "/auth-token", "rawQueryString": "",
        "body": json!({"room_id": room_id, "user_id": "ada", "role": "host"}).to_string(), "isBase64Encoded": false,
        "requestContext": {"http": {"method": "POST", "path": "/auth-token"}, "stage": "$default"}});
    let (status, invoked) =
        call(&http, "POST", &url("/2015-03-31/functions/auth-token/invocations"), Some(event)).await;
    assert_eq!((status, invoked["statusCode"].as_u64()), (200, Some(200)), "{invoked}");

    for (method, path) in [
        ("GET", "/"),
        ("GET", "/nope"),
        ("POST", "/create-room/extra"),
        ("GET", "/lambda-url/hms-emulator/"),
        ("POST", "/lambda-url/lambda-bench/"),
        ("GET", "/lambda-url/create-room/create-room"),
        ("POST", "/2015-03-31/functions/hms-emulator/invocations"),
        ("GET", "/hello-world"),
    ] {
        let (status, body) = call(&http, method, &url(path), None).await;
        assert_eq!((status, body), (404, json!({"message": "Not Found"})), "{method} {path}");
    }
}
