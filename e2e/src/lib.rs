//! A whole local stack for end-to-end tests: the three release binaries polling cargo-lambda's
//! Runtime API (`cargo lambda watch --only-lambda-apis`, whose router serves the production paths),
//! credentials from moto's Secrets Manager behind a switch that can cut it off, and the 100ms
//! emulator. Tests call the API over HTTP exactly as an app does.
//!
//! Needs `MOTO_ENDPOINT`, cargo-lambda in `.venv/bin`, and the release binaries (in
//! `FUNCTIONS_BIN_DIR`, default `target/release`); scripts/test.sh provides all three.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials as AwsCredentials, Region};
use hms_emulator::Emulator;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

pub const FUNCTIONS: [&str; 3] = ["create-room", "auth-token", "session-analytics"];
/// The hello-world lambda_http binary (bench/hello-world): the floor measurements compare with.
pub const FLOOR: &str = "hello-world";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run the suite with scripts/test.sh, which starts moto")
}

fn bin_dir() -> PathBuf {
    std::env::var_os("FUNCTIONS_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target/release"))
}

/// A Secrets Manager client for moto.
pub fn secrets_manager() -> aws_sdk_secretsmanager::Client {
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(AwsCredentials::new("testing", "testing", None, None, "e2e"))
        .endpoint_url(moto_endpoint())
        .http_client(hms_shared::sdk_http::http_client())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

pub fn secret_json(key: &str, secret: &str) -> String {
    json!({"APP_ACCESS_KEY": key, "APP_SECRET": secret}).to_string()
}

pub fn random_secret() -> String {
    format!("e2e-{}", uuid::Uuid::new_v4().simple())
}

async fn wait_for_port(port: u16, within: Duration) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < within, "nothing listened on port {port} within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port()
}

/// A TCP forwarder to `target` that drops every connection while switched off.
async fn switch(target: String, up: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if !up.load(Ordering::SeqCst) {
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
    endpoint
}

/// The 100ms emulator (in-process, on a free port) and, in moto, the secret that holds its
/// credentials: what every function needs behind it.
pub struct Backends {
    /// Base URL of the emulator (its `/v2` and `/_emulator`).
    pub hms: String,
    pub access_key: String,
    pub secret: String,
    /// Where the credentials are in Secrets Manager (moto): `hms/<scope>/<random>`.
    pub secret_id: String,
}

impl Backends {
    pub async fn start(scope: &str) -> Self {
        let access_key = format!("e2e-key-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let secret = random_secret();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hms = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(Emulator::new(access_key.clone(), secret.clone()).serve(listener));
        let secret_id = format!("hms/{scope}/{}", uuid::Uuid::new_v4().simple());
        secrets_manager()
            .create_secret()
            .name(&secret_id)
            .secret_string(secret_json(&access_key, &secret))
            .send()
            .await
            .expect("creating the secret in moto");
        Self { hms, access_key, secret, secret_id }
    }
}

/// Peak resident memory (`VmHWM`, KiB) of a running process, or `None` when it has gone.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.split_whitespace().next()?.parse().ok()
}

/// How a stack starts.
pub struct Options {
    /// Whether Secrets Manager is reachable at start.
    pub secrets_manager_up: bool,
    pub allowed_roles: &'static str,
    /// `HMS_SECRET_CACHE_SECONDS` for the functions (their default when `None`).
    pub secret_cache_seconds: Option<u64>,
    /// Also run the hello-world floor (served on `/hello-world`).
    pub with_floor: bool,
    /// `RUST_LOG` for the functions.
    pub rust_log: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            secrets_manager_up: true,
            allowed_roles: "host,guest",
            secret_cache_seconds: None,
            with_floor: false,
            rust_log: "info",
        }
    }
}

pub struct Stack {
    /// Base URL of the API, as an app would have it.
    pub api: String,
    /// Base URL of the 100ms emulator (its `/v2` and `/_emulator`).
    pub hms: String,
    pub access_key: String,
    /// The app secret the stack started with.
    pub secret: String,
    pub secret_id: String,
    secrets_manager_up: Arc<AtomicBool>,
    children: Vec<(String, Child)>,
    log_dir: PathBuf,
    http: reqwest::Client,
}

impl Stack {
    pub async fn start(name: &str, opts: Options) -> Self {
        let root = workspace_root();
        let bins = bin_dir();
        for f in FUNCTIONS {
            assert!(
                bins.join(f).exists(),
                "{} missing: build with `cargo build --release` first",
                bins.join(f).display()
            );
        }
        let cargo_lambda = root.join(".venv/bin/cargo-lambda");
        assert!(cargo_lambda.exists(), "cargo-lambda missing: run scripts/setup.sh");
        let log_dir = root.join("target/e2e-logs").join(name);
        let _ = std::fs::remove_dir_all(&log_dir);
        std::fs::create_dir_all(&log_dir).unwrap();

        let Backends { hms, access_key, secret, secret_id } = Backends::start(&format!("e2e/{name}")).await;
        let up = Arc::new(AtomicBool::new(opts.secrets_manager_up));
        let moto = moto_endpoint().trim_start_matches("http://").trim_end_matches('/').to_string();
        let sm_endpoint = switch(moto, up.clone()).await;

        let port = free_port().await;
        let log = std::fs::File::create(log_dir.join("cargo-lambda.log")).unwrap();
        let watch = Command::new(&cargo_lambda)
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("starting cargo lambda watch");
        let mut children = vec![("cargo-lambda".to_string(), watch)];
        wait_for_port(port, Duration::from_secs(60)).await;

        let floor = opts.with_floor.then_some(FLOOR);
        for f in FUNCTIONS.into_iter().chain(floor) {
            let log = std::fs::File::create(log_dir.join(format!("{f}.log"))).unwrap();
            let mut cmd = Command::new(bins.join(f));
            cmd.env_clear();
            if let Some(secs) = opts.secret_cache_seconds {
                cmd.env("HMS_SECRET_CACHE_SECONDS", secs.to_string());
            }
            let child = cmd
                .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt/{f}"))
                .env("AWS_LAMBDA_FUNCTION_NAME", f)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("HMS_SECRET_ID", &secret_id)
                .env("HMS_API_BASE_URL", format!("{hms}/v2"))
                .env("ALLOWED_ROLES", opts.allowed_roles)
                .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &sm_endpoint)
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("RUST_LOG", opts.rust_log)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {f}: {e}"));
            children.push((f.to_string(), child));
        }
        Self {
            api: format!("http://127.0.0.1:{port}"),
            hms,
            access_key,
            secret,
            secret_id,
            secrets_manager_up: up,
            children,
            log_dir,
            http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
        }
    }

    /// Calls the API as an app does; returns the status, the parsed JSON body and the content type.
    pub async fn call(&self, method: &str, path_and_query: &str, body: Option<&str>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path_and_query}", self.api));
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.expect("the local API answered");
        let status = resp.status().as_u16();
        let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path_and_query}: not JSON ({e}): {text}"));
        assert_eq!(ctype, "application/json", "{path_and_query}: {text}");
        (status, json)
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(&body.to_string())).await
    }

    pub async fn get(&self, path_and_query: &str) -> (u16, Value) {
        self.call("GET", path_and_query, None).await
    }

    /// Calls the emulator's control API.
    pub async fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let resp =
            self.http.request(method, format!("{}/_emulator/{path}", self.hms)).json(&body).send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "emulator {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn fault(&self, route: &str, mut fault: Value) {
        fault["route"] = json!(route);
        self.control("POST", "faults", fault).await;
    }

    pub async fn counters(&self) -> Value {
        self.http.get(format!("{}/_emulator/counters", self.hms)).send().await.unwrap().json().await.unwrap()
    }

    /// A client joins with an auth token at `at`; returns its peer id.
    pub async fn join(&self, token: &str, name: &str, at: &str) -> String {
        let r = self.control("POST", "join", json!({"token": token, "name": name, "at": at})).await;
        r["peer_id"].as_str().unwrap().to_string()
    }

    pub async fn leave(&self, peer: &str, at: &str) {
        self.control("POST", "leave", json!({"peer_id": peer, "at": at})).await;
    }

    /// Rotates the app secret: Secrets Manager gets a new value and 100ms (the emulator) accepts
    /// only the new one from now on. Returns the new secret.
    pub async fn rotate_secret(&self) -> String {
        let new = random_secret();
        secrets_manager()
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(secret_json(&self.access_key, &new))
            .send()
            .await
            .expect("putting the new secret value in moto");
        self.control("PUT", "credentials", json!({"access_key": self.access_key, "secret": new})).await;
        new
    }

    pub fn set_secrets_manager_up(&self, up: bool) {
        self.secrets_manager_up.store(up, Ordering::SeqCst);
    }

    /// Lines of a function's log that contain `needle`.
    pub fn log_lines(&self, function: &str, needle: &str) -> usize {
        std::fs::read_to_string(self.log_dir.join(format!("{function}.log")))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// The whole log of a function (for assertions that nothing secret was written).
    pub fn log(&self, function: &str) -> String {
        std::fs::read_to_string(self.log_dir.join(format!("{function}.log"))).unwrap_or_default()
    }

    /// Whether every process of the stack is still running (no crash, no restart).
    pub fn all_running(&mut self) -> bool {
        self.children.iter_mut().all(|(_, c)| matches!(c.try_wait(), Ok(None)))
    }

    /// Process id of a function (to show a recovery happened in the same process).
    pub fn pid(&self, function: &str) -> Option<u32> {
        self.children.iter().find(|(n, _)| n == function).and_then(|(_, c)| c.id())
    }
}
