//! Helpers for tests against live local services: moto's Secrets Manager (MOTO_ENDPOINT) and the
//! 100ms emulator in-process.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials as AwsCredentials, Region};
use hms_emulator::Emulator;
use hms_shared::ApiError;
use hms_shared::credentials::{CredentialStore, Credentials, SecretSource, SecretsManagerSource};
use hms_shared::hms::HmsClient;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

use super::event;

pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT is not set: run the suite with scripts/test.sh, which starts moto's Secrets Manager server",
    )
}

pub fn fresh_secret() -> String {
    format!("test-secret-{}", uuid::Uuid::new_v4().simple())
}

pub fn sm_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let timeouts = aws_sdk_secretsmanager::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(3))
        .build();
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(AwsCredentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(endpoint)
        .timeout_config(timeouts)
        .http_client(hms_shared::sdk_http::http_client())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

/// Creates a secret in moto through the AWS API; returns its name.
pub async fn create_secret(secret_string: &str) -> String {
    let name = format!("hms/test/{}", uuid::Uuid::new_v4().simple());
    sm_client(&moto_endpoint()).create_secret().name(&name).secret_string(secret_string).send().await.unwrap();
    name
}

pub async fn put_secret(name: &str, secret_string: &str) {
    sm_client(&moto_endpoint()).put_secret_value().secret_id(name).secret_string(secret_string).send().await.unwrap();
}

pub fn secret_json(key: &str, secret: &str) -> String {
    json!({"APP_ACCESS_KEY": key, "APP_SECRET": secret}).to_string()
}

/// Counts reads of the secret source it wraps.
pub struct Counting<S> {
    pub inner: S,
    pub reads: Arc<AtomicUsize>,
}

impl<S: SecretSource> SecretSource for Counting<S> {
    async fn fetch(&self) -> Result<Credentials, ApiError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.fetch().await
    }
}

/// A TCP forwarder to moto that can be switched off: while off it drops every connection, the way
/// an unreachable Secrets Manager looks to the SDK.
pub struct Switch {
    pub endpoint: String,
    pub up: Arc<AtomicBool>,
}

pub async fn switchable_moto() -> Switch {
    let target = moto_endpoint().trim_start_matches("http://").trim_end_matches('/').to_string();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let up = Arc::new(AtomicBool::new(false));
    let flag = up.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else { return };
            if !flag.load(Ordering::SeqCst) {
                drop(inbound);
                continue;
            }
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Switch { endpoint, up }
}

pub struct Hms {
    pub base: String,
    pub http: reqwest::Client,
}

impl Hms {
    pub async fn start(key: &str, secret: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(Emulator::new(key, secret).serve(listener));
        Self { base, http: reqwest::Client::new() }
    }

    pub fn api(&self) -> String {
        format!("{}/v2", self.base)
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let resp =
            self.http.request(method, format!("{}/_emulator/{path}", self.base)).json(&body).send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "emulator {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn fault(&self, route: &str, kind: Value) {
        let mut f = kind;
        f["route"] = json!(route);
        self.control(reqwest::Method::POST, "faults", f).await;
    }

    pub async fn counters(&self) -> Value {
        self.http.get(format!("{}/_emulator/counters", self.base)).send().await.unwrap().json().await.unwrap()
    }

    pub async fn join(&self, token: &str, name: &str, at: &str) -> String {
        let r = self.control(reqwest::Method::POST, "join", json!({"token": token, "name": name, "at": at})).await;
        r["peer_id"].as_str().unwrap().to_string()
    }

    pub async fn leave(&self, peer: &str, at: &str) {
        self.control(reqwest::Method::POST, "leave", json!({"peer_id": peer, "at": at})).await;
    }
}

/// An emulated 100ms app with a fresh secret, and that secret stored in moto (through the AWS
/// API) as `{"APP_ACCESS_KEY", "APP_SECRET"}`. Returns the emulator, the secret and its id.
pub async fn app_with_secret(access_key: &str) -> (Hms, String, String) {
    let secret = fresh_secret();
    let hms = Hms::start(access_key, &secret).await;
    let id = create_secret(&secret_json(access_key, &secret)).await;
    (hms, secret, id)
}

pub type Client = HmsClient<Counting<SecretsManagerSource>>;

pub fn counted_client(hms: &Hms, secret_id: &str, sm_endpoint: &str) -> (Client, Arc<AtomicUsize>) {
    let reads = Arc::new(AtomicUsize::new(0));
    let source = Counting {
        inner: SecretsManagerSource::with_client(secret_id.into(), sm_client(sm_endpoint)),
        reads: reads.clone(),
    };
    (HmsClient::new(hms.api(), CredentialStore::new(source)), reads)
}

pub fn post(path: &str, body: Value) -> ApiGatewayV2httpRequest {
    let mut ev = event("create-room.json");
    ev.raw_path = Some(path.into());
    ev.body = Some(body.to_string());
    ev
}

pub fn get(path: &str, room_id: &str) -> ApiGatewayV2httpRequest {
    let mut ev = event("session-list.json");
    ev.raw_path = Some(path.into());
    let q: std::collections::HashMap<String, String> = [("room_id".to_string(), room_id.to_string())].into();
    ev.query_string_parameters = q.into();
    ev
}

/// A TCP gate in front of `target` that can be closed (nothing listens: connection refused) and
/// opened again on the same port.
pub struct Gate {
    pub port: u16,
    target: String,
    task: Option<tokio::task::JoinHandle<()>>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Gate {
    pub async fn new(target: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
        let mut gate = Self {
            port,
            target: target.trim_start_matches("http://").to_string(),
            task: None,
            connections: Arc::default(),
        };
        gate.open().await;
        gate
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn open(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.expect("re-binding the gate's port");
        let target = self.target.clone();
        let connections = self.connections.clone();
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(conn);
            }
        }));
    }

    /// Stops listening and cuts every open connection (pooled keep-alive ones too).
    pub async fn close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        for conn in self.connections.lock().unwrap().drain(..) {
            conn.abort();
        }
        tokio::task::yield_now().await;
    }
}

/// A forwarder to moto that answers only after `delay_ms` (0: at once): a slow Secrets Manager.
pub async fn slow_moto(delay_ms: Arc<std::sync::atomic::AtomicU64>) -> String {
    let target = moto_endpoint().trim_start_matches("http://").trim_end_matches('/').to_string();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            let delay = Duration::from_millis(delay_ms.load(Ordering::SeqCst));
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Ok(mut outbound) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    endpoint
}
