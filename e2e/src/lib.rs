//! A whole local stack for end-to-end tests: the release binaries polling cargo-lambda's
//! Runtime API (`cargo lambda watch --only-lambda-apis`, whose router serves the production paths)
//! through Lambda's 6 MB response limit ([`runtime_limit`]),
//! credentials from moto's Secrets Manager behind a switch that can cut it off, the 100ms
//! emulator, and an events table of its own in dynalite. Tests call the API over HTTP exactly as
//! an app does (and as 100ms delivers webhooks).
//!
//! Needs cargo-lambda in `.venv/bin` (scripts/setup.sh); moto and the release binaries come from
//! the test support (started or built when not given).

pub mod cfn;
pub mod partition_count;
pub mod runtime_limit;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use hms_test_support::binaries::{FLOOR, FUNCTIONS, INVOKED, release_binaries, workspace_root};
use hms_test_support::cognito::{Tokens, UserPool};
use hms_test_support::dynalite::{create_events_table, dynalite_endpoint};
use hms_test_support::forward::{Forward, Mode};
use hms_test_support::{Backends, Hms, fresh_secret, moto_endpoint, put_secret, secret_json};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};

/// Waits until something listens on loopback `port`; panics after `within`.
pub async fn wait_for_port(port: u16, within: Duration) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < within, "nothing listened on port {port} within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub use hms_test_support::free_port;

/// Every route the five functions serve (method and path), from their own route lists.
pub fn all_routes() -> Vec<hms_shared::edge::Route> {
    use hms_shared::app::Hms;
    use hms_shared::credentials::ConfiguredSource;
    use hms_shared::handlers::{AuthToken, CreateRoom, Function, RoomControl, SessionAnalytics, Webhooks};
    [
        <CreateRoom<Hms> as Function>::ROUTES,
        <AuthToken<ConfiguredSource> as Function>::ROUTES,
        <SessionAnalytics<Hms> as Function>::ROUTES,
        <RoomControl<Hms> as Function>::ROUTES,
        <Webhooks<ConfiguredSource> as Function>::ROUTES,
    ]
    .concat()
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
    /// Also run the hello-world floor (served on `/lambda-url/hello-world/`: it is no route of the API).
    pub with_floor: bool,
    /// `RUST_LOG` for the functions.
    pub rust_log: &'static str,
    /// `AWS_LAMBDA_MAX_CONCURRENCY` for the functions (unset, as on classic Lambda, when `None`).
    pub max_concurrency: Option<u32>,
    /// Where the function binaries are, one file per function name (the release build when `None`).
    pub bin_dir: Option<PathBuf>,
    /// A program each binary runs under, with its arguments (an emulator such as qemu-user).
    pub runner: Option<&'static [&'static str]>,
    /// More environment for every function (`RECONCILE_SETTLE_SECONDS`, ...), set last.
    pub env: &'static [(&'static str, &'static str)],
    /// Where the functions reach DynamoDB, when not dynalite itself (a proxy in front of it).
    pub dynamodb_endpoint: Option<String>,
    /// Callers sign in: the functions run with the local caller rules
    /// (`tools/local-jwt-rules.env`), behind local-api's JWT authorizer, which takes the tokens
    /// of a user pool of the stack's own in moto's Cognito (users from [`Stack::sign_in`]).
    pub jwt: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            secrets_manager_up: true,
            allowed_roles: "host,guest",
            secret_cache_seconds: None,
            with_floor: false,
            rust_log: "info",
            max_concurrency: None,
            bin_dir: None,
            runner: None,
            env: &[],
            dynamodb_endpoint: None,
            jwt: false,
        }
    }
}

/// Stops a task when the stack goes.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub struct Stack {
    /// Base URL of the API, as an app would have it.
    pub api: String,
    /// cargo-lambda's Lambda API (Invoke), where [`Stack::invoke`] calls a function by name.
    lambda_api: String,
    /// The 100ms emulator.
    pub hms: Hms,
    pub access_key: String,
    /// The app secret the stack started with.
    pub secret: String,
    /// The secret webhooks carry (`WEBHOOK_SECRET`).
    pub webhook_secret: String,
    pub secret_id: String,
    /// The events table the functions use (in dynalite).
    pub events_table: String,
    /// Secrets Manager as the functions reach it, which can be cut off.
    secrets_manager: Arc<Mutex<Mode>>,
    _secrets_manager_forward: Forward,
    children: Vec<(String, Child)>,
    _runtime_limit: AbortOnDrop,
    _front_door: Option<AbortOnDrop>,
    /// The user pool callers sign in with (a `jwt` stack).
    pub users: Option<UserPool>,
    log_dir: PathBuf,
    http: reqwest::Client,
}

impl Stack {
    pub async fn start(name: &str, opts: Options) -> Self {
        let root = workspace_root();
        let bins = opts.bin_dir.clone().unwrap_or_else(release_binaries);
        for f in FUNCTIONS.iter().chain(&INVOKED) {
            assert!(bins.join(f).exists(), "{} missing: build it first", bins.join(f).display());
        }
        let cargo_lambda = root.join(".venv/bin/cargo-lambda");
        assert!(cargo_lambda.exists(), "cargo-lambda missing: run scripts/setup.sh");
        let log_dir = root.join("target/e2e-logs").join(name);
        let _ = std::fs::remove_dir_all(&log_dir);
        std::fs::create_dir_all(&log_dir).unwrap();

        let Backends { hms, access_key, secret, webhook_secret, secret_id, webhook_secret_id } =
            Backends::start(&format!("e2e/{name}")).await;
        let events_table = create_events_table().await;
        let mode = if opts.secrets_manager_up { Mode::Pass } else { Mode::Drop };
        let sm_forward = Forward::with_mode(&moto_endpoint(), mode).await;
        let sm_endpoint = sm_forward.url();

        // The port is picked free, then handed to cargo-lambda: in that moment another test may
        // take it. Then cargo-lambda exits (address in use) and the start is tried on another.
        let (port, watch) = 'start: {
            for _ in 0..3 {
                let port = free_port();
                let log = std::fs::File::create(log_dir.join("cargo-lambda.log")).unwrap();
                let mut watch = Command::new(&cargo_lambda)
                    .args([
                        "lambda",
                        "watch",
                        "--locked",
                        "--only-lambda-apis",
                        "-A",
                        "127.0.0.1",
                        "-P",
                        &port.to_string(),
                    ])
                    .current_dir(&root)
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .kill_on_drop(true)
                    .spawn()
                    .expect("starting cargo lambda watch");
                wait_for_port(port, Duration::from_secs(60)).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                if matches!(watch.try_wait(), Ok(None)) {
                    break 'start (port, watch);
                }
            }
            panic!("cargo lambda watch did not stay up on three free ports: see {}", log_dir.display());
        };
        let mut children = vec![("cargo-lambda".to_string(), watch)];
        let limited = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let limited_port = limited.local_addr().unwrap().port();
        let runtime_limit = runtime_limit::serve(limited, format!("http://127.0.0.1:{port}"));

        let floor = opts.with_floor.then_some(FLOOR);
        for f in FUNCTIONS.into_iter().chain(INVOKED).chain(floor) {
            let log = std::fs::File::create(log_dir.join(format!("{f}.log"))).unwrap();
            let mut cmd = match opts.runner {
                Some([program, args @ ..]) => {
                    let mut cmd = Command::new(program);
                    cmd.args(args).arg(bins.join(f));
                    cmd
                }
                _ => Command::new(bins.join(f)),
            };
            cmd.env_clear();
            if let Some(secs) = opts.secret_cache_seconds {
                cmd.env("HMS_SECRET_CACHE_SECONDS", secs.to_string());
            }
            if let Some(n) = opts.max_concurrency {
                cmd.env("AWS_LAMBDA_MAX_CONCURRENCY", n.to_string());
            }
            if opts.jwt {
                cmd.envs(hms_test_support::local_jwt_rules());
            }
            let child = cmd
                .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{limited_port}/.rt/{f}"))
                .env("AWS_LAMBDA_FUNCTION_NAME", f)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("HMS_SECRET_ID", &secret_id)
                .env("WEBHOOK_SECRET_ID", &webhook_secret_id)
                .env("HMS_API_BASE_URL", hms.api())
                .env("ALLOWED_ROLES", opts.allowed_roles)
                .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &sm_endpoint)
                .env("AWS_ENDPOINT_URL_DYNAMODB", opts.dynamodb_endpoint.clone().unwrap_or_else(dynalite_endpoint))
                .env("EVENTS_TABLE", &events_table)
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("RUST_LOG", opts.rust_log)
                .envs(opts.env.iter().copied())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {f}: {e}"));
            children.push((f.to_string(), child));
        }
        // With callers signing in, local-api's authorizer is the front door, as API Gateway's is.
        let (api, front_door, users) = if opts.jwt {
            let pool = UserPool::create(name).await;
            let authorizer = local_api::jwt::JwtAuthorizer::new(&pool.issuer, &pool.client_id, &pool.discovery);
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let api = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
            let router = local_api::router(local_api::LocalApi {
                upstream: format!("http://127.0.0.1:{port}"),
                http: reqwest::Client::builder().timeout(local_api::INTEGRATION_TIMEOUT).build().unwrap(),
                jwt: Some(Arc::new(authorizer)),
            });
            let task = tokio::spawn(async move {
                axum::serve(listener, router).await.ok();
            });
            (api, Some(AbortOnDrop(task)), Some(pool))
        } else {
            (format!("http://127.0.0.1:{port}"), None, None)
        };
        Self {
            api,
            lambda_api: format!("http://127.0.0.1:{port}"),
            _front_door: front_door,
            users,
            hms,
            access_key,
            secret,
            webhook_secret,
            secret_id,
            events_table,
            secrets_manager: sm_forward.mode_handle(),
            _secrets_manager_forward: sm_forward,
            children,
            _runtime_limit: AbortOnDrop(runtime_limit),
            log_dir,
            http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
        }
    }

    /// Calls the API as an app does; returns the status and the parsed JSON body (after checking
    /// that the content type is JSON).
    pub async fn call(&self, method: &str, path_and_query: &str, body: Option<&str>) -> (u16, Value) {
        let (status, json, _) = self.call_sized(method, path_and_query, body).await;
        (status, json)
    }

    /// [`Stack::call`], and the size of the answer's body in bytes.
    pub async fn call_sized(&self, method: &str, path_and_query: &str, body: Option<&str>) -> (u16, Value, usize) {
        self.call_as(None, method, path_and_query, body).await
    }

    /// The user `name` of the `jwt` stack's pool (made on first use, in `groups`), signed in
    /// through the app's client: its id and tokens.
    pub async fn sign_in(&self, name: &str, groups: &[&str]) -> Tokens {
        self.users.as_ref().expect("a stack started with jwt").sign_in(name, groups).await
    }

    /// The token an app sends for user `name` (its access token; see docs/sign-in.md).
    pub async fn token(&self, name: &str, groups: &[&str]) -> String {
        self.sign_in(name, groups).await.access_token
    }

    /// The id (`sub`) of user `name`, once signed in.
    pub fn user_id(&self, name: &str) -> String {
        self.users.as_ref().expect("a stack started with jwt").sub(name)
    }

    /// [`Stack::call_sized`] with `Authorization: Bearer <token>` when a token is given.
    pub async fn call_as(
        &self,
        token: Option<&str>,
        method: &str,
        path_and_query: &str,
        body: Option<&str>,
    ) -> (u16, Value, usize) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path_and_query}", self.api));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.expect("the local API answered");
        let status = resp.status().as_u16();
        let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path_and_query}: not JSON ({e}): {text}"));
        assert_eq!(ctype, "application/json", "{path_and_query}: {text}");
        (status, json, text.len())
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(&body.to_string())).await
    }

    pub async fn get(&self, path_and_query: &str) -> (u16, Value) {
        self.call("GET", path_and_query, None).await
    }

    /// Delivers a webhook as 100ms does: POST /webhooks/100ms with the secret header.
    pub async fn webhook(&self, event: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/webhooks/100ms", self.api))
            .header("content-type", "application/json")
            .header(hms_shared::webhooks::DEFAULT_HEADER_NAME, &self.webhook_secret)
            .body(event.to_string())
            .send()
            .await
            .expect("the local API answered");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("webhook: not JSON ({e}): {text}")))
    }

    /// Invokes function `name` with `payload` as EventBridge or API Gateway's authorizer does
    /// (Lambda's Invoke API): whether it succeeded, and its answer (an error's JSON for a failed
    /// invocation).
    pub async fn invoke(&self, name: &str, payload: &Value) -> (bool, Value) {
        let resp = self
            .http
            .post(format!("{}/2015-03-31/functions/{name}/invocations", self.lambda_api))
            .json(payload)
            .send()
            .await
            .expect("cargo-lambda's Invoke API answered");
        let ok = resp.status().is_success() && resp.headers().get("x-amz-function-error").is_none();
        let text = resp.text().await.unwrap();
        (ok, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Rotates the app secret: Secrets Manager gets a new value and 100ms (the emulator) accepts
    /// only the new one from now on. Returns the new secret.
    pub async fn rotate_secret(&self) -> String {
        let new = fresh_secret();
        put_secret(&self.secret_id, &secret_json(&self.access_key, &new)).await;
        self.hms.set_credentials(&self.access_key, &new).await;
        new
    }

    pub fn set_secrets_manager_up(&self, up: bool) {
        *self.secrets_manager.lock().unwrap() = if up { Mode::Pass } else { Mode::Drop };
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
