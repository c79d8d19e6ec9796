//! The 100ms emulator, in-process on a free port, and its control API.

use hms_emulator::Emulator;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::moto::{create_secret_in, fresh_secret, secret_json, webhook_secret_json};

/// A running emulator.
pub struct Hms {
    /// Its base URL (the API under `/v2`, the control API under `/_emulator`).
    pub base: String,
    http: reqwest::Client,
}

impl Hms {
    /// Starts an emulator that accepts `key` and `secret`.
    pub async fn start(key: &str, secret: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(Emulator::new(key, secret).serve(listener));
        Self { base, http: reqwest::Client::new() }
    }

    /// Its 100ms API base URL (what `HMS_API_BASE_URL` is set to).
    pub fn api(&self) -> String {
        format!("{}/v2", self.base)
    }

    /// Calls the control API; panics unless it succeeds.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let resp =
            self.http.request(method, format!("{}/_emulator/{path}", self.base)).json(&body).send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "emulator {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Arms a fault for `route` (`"GET /sessions"`, ...).
    pub async fn fault(&self, route: &str, mut fault: Value) {
        fault["route"] = json!(route);
        self.control(reqwest::Method::POST, "faults", fault).await;
    }

    pub async fn counters(&self) -> Value {
        self.http.get(format!("{}/_emulator/counters", self.base)).send().await.unwrap().json().await.unwrap()
    }

    /// Sets every counter back to zero.
    pub async fn reset_counters(&self) {
        self.control(reqwest::Method::POST, "counters/reset", json!({})).await;
    }

    /// A client joins with an auth token at `at`; returns its peer id.
    pub async fn join(&self, token: &str, name: &str, at: &str) -> String {
        let r = self.control(reqwest::Method::POST, "join", json!({"token": token, "name": name, "at": at})).await;
        r["peer_id"].as_str().unwrap().to_string()
    }

    pub async fn leave(&self, peer: &str, at: &str) {
        self.control(reqwest::Method::POST, "leave", json!({"peer_id": peer, "at": at})).await;
    }

    /// A client of the app joins with a room code, as the client SDKs do: a token for the code
    /// (`POST /v2/token`), then a join with it, now. The peer id, or the status and body of
    /// whichever step refused.
    pub async fn join_by_code(&self, code: &str, user: &str) -> Result<String, (u16, Value)> {
        self.join_by_code_at(code, user, &chrono::Utc::now().to_rfc3339()).await
    }

    /// As [`Hms::join_by_code`], joined at `at` (RFC 3339): a test that depends on the order of
    /// joins names their times (two joins can fall in one millisecond).
    pub async fn join_by_code_at(&self, code: &str, user: &str, at: &str) -> Result<String, (u16, Value)> {
        let resp = self.http.post(format!("{}/token", self.api())).json(&json!({"code": code, "user_id": user})).send();
        let resp = resp.await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        if status != 200 {
            return Err((status, body));
        }
        let joined = self
            .http
            .post(format!("{}/_emulator/join", self.base))
            .json(&json!({"token": body["token"], "name": user, "at": at}));
        let joined = joined.send().await.unwrap();
        let status = joined.status().as_u16();
        let body: Value = joined.json().await.unwrap();
        if status == 200 { Ok(body["peer_id"].as_str().unwrap().to_string()) } else { Err((status, body)) }
    }

    /// From now on the emulator accepts only these credentials (as 100ms after a rotation).
    pub async fn set_credentials(&self, key: &str, secret: &str) {
        self.control(reqwest::Method::PUT, "credentials", json!({"access_key": key, "secret": secret})).await;
    }
}

/// An emulated 100ms app with a fresh key and secret, that secret stored in moto (through the
/// AWS API) as `{"APP_ACCESS_KEY", "APP_SECRET"}`, and the webhook secret in a secret of its own,
/// `{"WEBHOOK_SECRET"}`: what the functions need behind them.
pub struct Backends {
    pub hms: Hms,
    pub access_key: String,
    pub secret: String,
    /// The secret webhooks must carry in their header.
    pub webhook_secret: String,
    /// Where the credentials are in Secrets Manager: `hms/<scope>/<random>`.
    pub secret_id: String,
    /// Where the webhook secret is, apart (only `webhooks` reads it).
    pub webhook_secret_id: String,
}

impl Backends {
    pub async fn start(scope: &str) -> Self {
        Self::start_with_key(scope, &format!("key-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])).await
    }

    pub async fn start_with_key(scope: &str, access_key: &str) -> Self {
        let secret = fresh_secret();
        let webhook_secret = fresh_secret();
        let hms = Hms::start(access_key, &secret).await;
        let secret_id = create_secret_in(scope, &secret_json(access_key, &secret)).await;
        let webhook_secret_id = create_secret_in(scope, &webhook_secret_json(&webhook_secret)).await;
        Self { hms, access_key: access_key.to_string(), secret, webhook_secret, secret_id, webhook_secret_id }
    }
}
