//! `lambda-bench`: cold start, warm latency and memory of each function and of the hello-world
//! floor, each process run under a minimal Lambda Runtime API that timestamps what the process does.
//!
//! For every binary, `--runs` times: start the process (credentials from moto's Secrets Manager,
//! 100ms = the emulator), then
//! - init: process start -> its first `GET /runtime/invocation/next`;
//! - cold: process start -> the first response posted back;
//! - warm: handing an event to the waiting `next` -> its response, median over the invocations;
//! - peak RSS (`VmHWM`) after `--invocations` invocations.
//!
//! Every answer must be a 200 from the function; anything else stops the benchmark (a fast error
//! is not a fast function). The processes run from `--run-dir`; sizes come from `--arm64-dir` /
//! `--x86-64-dir`. Each holds `<binary>/bootstrap` and `<binary>/bootstrap.zip`, as
//! scripts/bench.sh builds them. The table goes
//! to stdout and, as Markdown, to `--out`.
//!
//! moto is the one `MOTO_ENDPOINT` names, or one it starts (from `.venv`, scripts/setup.sh).
//!
//! With `--tls` every service is reached over HTTPS, as on AWS: TLS endpoints on the loopback in
//! front of moto, dynalite and the emulator, with a certificate from a CA made for the run that the
//! processes trust through `SSL_CERT_FILE` (verification on). The TLS floor (`hello-world-tls`:
//! the floor plus one HTTPS GET to the Secrets Manager endpoint on its first invocation) joins the
//! table, and the endpoints' handshakes are counted for each cold start and over the warm
//! invocations.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use clap::Parser as _;
use hms_e2e::{FLOOR, FUNCTIONS, peak_rss_kib, workspace_root};
use hms_shared::credentials::Credentials;
use hms_shared::edge::LAMBDA_RESPONSE_LIMIT;
use hms_shared::input::{Parse, Role, RoomId, UserId};
use hms_shared::tokens::{ManagementTokenCache, mint_auth_token};
use hms_test_support::tls::{TestCa, TlsFront};
use hms_test_support::{Backends, moto_endpoint};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

const API: &str = "/2018-06-01/runtime";
/// The TLS floor: the floor plus one HTTPS call on its first invocation (bench/hello-world/src/tls.rs).
const FLOOR_TLS: &str = "hello-world-tls";
/// Longest a single step (a start, an invocation) may take before the benchmark gives up.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Cold start, warm latency and memory of each function and of the hello-world floor.
#[derive(Debug, clap::Parser)]
#[command(name = "lambda-bench")]
struct Args {
    /// Processes started per binary.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Invocations per process (warm latency is their median; peak RSS is read after them).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..))]
    invocations: u64,
    /// Where the processes run from: `<binary>/bootstrap` for each.
    #[arg(long, default_value_os_t = workspace_root().join("target/bench/x86_64"))]
    run_dir: PathBuf,
    /// Where the arm64 build is (`<binary>/bootstrap` and `bootstrap.zip`), for the size columns.
    #[arg(long)]
    arm64_dir: Option<PathBuf>,
    /// Where the x86_64 zips are, for the size column.
    #[arg(long = "x86-64-dir")]
    x86_64_dir: Option<PathBuf>,
    /// Also write the table, as Markdown, to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Peers in the session session-analytics reports on.
    #[arg(long, default_value_t = 10)]
    peers: usize,
    /// Every service over HTTPS through counting TLS endpoints, and the TLS floor added.
    #[arg(long)]
    tls: bool,
    /// With --tls: a PEM bundle the run's CA is appended to for SSL_CERT_FILE (a system bundle, so
    /// the roots loaded are as many as on a real system); without it the file holds the CA alone.
    #[arg(long, requires = "tls")]
    ca_base: Option<PathBuf>,
}

fn fail(msg: &str) -> ! {
    eprintln!("lambda-bench: {msg}");
    std::process::exit(2)
}

/// Where an invocation's answer goes: the response body, or the error the function reported.
type Answer = oneshot::Sender<Result<Bytes, String>>;

/// One invocation handed to the process: its event, and where its answer goes.
struct Invocation {
    event: Vec<u8>,
    answer: Answer,
}

/// The Runtime API of one process.
#[derive(Clone)]
struct Runtime {
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Invocation>>>,
    pending: Arc<Mutex<HashMap<String, Answer>>>,
    first_poll: Arc<Mutex<Option<Instant>>>,
    init_error: Arc<Mutex<Option<String>>>,
}

async fn next(State(rt): State<Runtime>) -> (StatusCode, HeaderMap, Vec<u8>) {
    rt.first_poll.lock().unwrap().get_or_insert_with(Instant::now);
    let Some(inv) = rt.queue.lock().await.recv().await else {
        // The benchmark is over: hold the poll until the process is killed.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let id = uuid::Uuid::new_v4().to_string();
    rt.pending.lock().unwrap().insert(id.clone(), inv.answer);
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(25);
    let mut headers = HeaderMap::new();
    let h = |s: &str| HeaderValue::from_str(s).unwrap();
    headers.insert("lambda-runtime-aws-request-id", h(&id));
    headers.insert("lambda-runtime-deadline-ms", h(&deadline.as_millis().to_string()));
    headers.insert("lambda-runtime-invoked-function-arn", h("arn:aws:lambda:us-east-1:123456789012:function:bench"));
    headers.insert("lambda-runtime-trace-id", h("Root=1-00000000-000000000000000000000000"));
    headers.insert("content-type", h("application/json"));
    (StatusCode::OK, headers, inv.event)
}

/// A response, or, over Lambda's response limit, the invocation failed as Lambda fails it.
async fn response(State(rt): State<Runtime>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    let too_large = body.len() > LAMBDA_RESPONSE_LIMIT;
    if let Some(tx) = rt.pending.lock().unwrap().remove(&id) {
        let _ = tx.send(if too_large {
            Err(format!("Function.ResponseSizeTooLarge: {} bytes, over {LAMBDA_RESPONSE_LIMIT}", body.len()))
        } else {
            Ok(body)
        });
    }
    if too_large { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::ACCEPTED }
}

async fn invocation_error(State(rt): State<Runtime>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    if let Some(tx) = rt.pending.lock().unwrap().remove(&id) {
        let _ = tx.send(Err(String::from_utf8_lossy(&body).into_owned()));
    }
    StatusCode::ACCEPTED
}

async fn init_error(State(rt): State<Runtime>, body: Bytes) -> StatusCode {
    *rt.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

/// What one run of one binary measured.
struct Run {
    init: Duration,
    cold: Duration,
    warm_median: Duration,
    peak_rss_kib: u64,
    /// TLS handshakes at the endpoints up to the first answer, and over the warm invocations.
    handshakes_cold: u64,
    handshakes_warm: u64,
}

/// The services every run shares.
struct Services {
    moto: String,
    hms: String,
    dynamodb: String,
    secret_id: String,
    events_table: String,
    events: HashMap<&'static str, Vec<u8>>,
    tls: Option<Tls>,
}

/// The TLS endpoints in front of the services, and the bundle the processes trust.
struct Tls {
    fronts: Vec<TlsFront>,
    bundle: PathBuf,
}

impl Tls {
    fn handshakes(&self) -> u64 {
        self.fronts.iter().map(TlsFront::handshakes).sum()
    }
}

fn api_event(file: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let path = workspace_root().join("events").join(file);
    let mut event: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut event);
    serde_json::to_vec(&event).unwrap()
}

impl Services {
    async fn start(peers: usize, tls: bool, ca_base: Option<&Path>) -> Self {
        let Backends { hms, access_key, secret, secret_id, webhook_secret } = Backends::start("bench").await;
        let events_table = hms_test_support::dynalite::create_events_table().await;
        let hms = hms.base;

        // A room with one closed session of `peers` peers, for session-analytics.
        let creds = Arc::new(Credentials::new(access_key, secret));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let mgmt = ManagementTokenCache::new().get(&creds, now).unwrap();
        let http = reqwest::Client::builder().timeout(STEP_TIMEOUT).build().unwrap();
        let room: Value = http
            .post(format!("{hms}/v2/rooms"))
            .bearer_auth(&*mgmt)
            .json(&json!({"name": "bench-room"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let room_id = room["id"].as_str().expect("the emulator created a room").to_string();
        let control = |path: &str, body: Value| {
            let req = http.post(format!("{hms}/_emulator/{path}")).json(&body);
            async move { req.send().await.unwrap().error_for_status().unwrap().json::<Value>().await.unwrap() }
        };
        let mut peer_ids = Vec::new();
        for i in 0..peers {
            let (room, user) = (RoomId::parse(&room_id).unwrap(), UserId::parse(&format!("user-{}", i / 2)).unwrap());
            let token = mint_auth_token(&creds, &room, &user, &Role::parse("guest").unwrap(), now, 3600).unwrap().0;
            let at = format!("2026-01-01T10:{:02}:00Z", i % 60);
            let joined = control("join", json!({"token": token, "name": format!("Peer {i}"), "at": at})).await;
            peer_ids.push(joined["peer_id"].as_str().unwrap().to_string());
        }
        for (i, peer) in peer_ids.iter().enumerate() {
            control("leave", json!({"peer_id": peer, "at": format!("2026-01-01T11:{:02}:30Z", i % 60)})).await;
        }

        let with_room = |file: &str| {
            let room_id = room_id.clone();
            api_event(file, move |e| {
                e["rawQueryString"] = json!(format!("room_id={room_id}"));
                e["queryStringParameters"] = json!({"room_id": room_id});
            })
        };
        let floor_event = api_event("create-room.json", |e| {
            e["rawPath"] = json!("/hello-world");
            e["requestContext"]["http"]["path"] = json!("/hello-world");
        });
        let events = HashMap::from([
            (FLOOR_TLS, floor_event.clone()),
            (
                FLOOR,
                api_event("create-room.json", |e| {
                    e["rawPath"] = json!("/hello-world");
                    e["requestContext"]["http"]["path"] = json!("/hello-world");
                }),
            ),
            ("create-room", api_event("create-room.json", |_| {})),
            ("auth-token", api_event("auth-token.json", |_| {})),
            ("session-analytics", with_room("session-analytics.json")),
            // The room's codes: a list call to 100ms, as the other functions make one.
            ("room-control", with_room("room-codes-list.json")),
            // One event, delivered again and again: the first is kept, the rest are duplicates,
            // each the same conditional write to the table.
            (
                "webhooks",
                api_event("webhooks-peer-join.json", |e| {
                    e["headers"]["x-100ms-webhook-secret"] = json!(webhook_secret);
                }),
            ),
        ]);
        let (mut moto, mut hms, mut dynamodb) = (moto_endpoint(), hms, hms_test_support::dynalite::dynalite_endpoint());
        let tls = if tls {
            let ca = TestCa::generate();
            let bundle = workspace_root().join("target/bench/tls-ca-bundle.pem");
            ca.write_bundle(&bundle, ca_base).unwrap_or_else(|e| fail(&format!("writing {}: {e}", bundle.display())));
            let mut fronts = Vec::new();
            for url in [&mut moto, &mut hms, &mut dynamodb] {
                let front = TlsFront::start(&ca, url).await;
                *url = front.url();
                fronts.push(front);
            }
            Some(Tls { fronts, bundle })
        } else {
            None
        };
        Self { moto, hms, dynamodb, secret_id, events_table, events, tls }
    }

    fn handshakes(&self) -> u64 {
        self.tls.as_ref().map_or(0, Tls::handshakes)
    }
}

/// Waits for `rx` or fails the benchmark with `what`.
async fn within<T>(what: &str, rx: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP_TIMEOUT, rx)
        .await
        .unwrap_or_else(|_| fail(&format!("{what}: no answer in {STEP_TIMEOUT:?}")))
}

fn check_ok(binary: &str, answer: Result<Bytes, String>) {
    let body = answer.unwrap_or_else(|e| fail(&format!("{binary}: invocation error {e}")));
    let v: Value = serde_json::from_slice(&body).unwrap_or_else(|_| fail(&format!("{binary}: answer is not JSON")));
    if v["statusCode"] != 200 {
        fail(&format!("{binary}: answered {v}"));
    }
}

async fn run_once(binary: &str, path: &Path, services: &Services, invocations: usize) -> Run {
    let (tx, rx) = mpsc::channel::<Invocation>(1);
    let rt = Runtime {
        queue: Arc::new(tokio::sync::Mutex::new(rx)),
        pending: Arc::default(),
        first_poll: Arc::default(),
        init_error: Arc::default(),
    };
    let app = Router::new()
        .route(&format!("{API}/invocation/next"), get(next))
        .route(&format!("{API}/invocation/{{id}}/response"), post(response))
        .route(&format!("{API}/invocation/{{id}}/error"), post(invocation_error))
        .route(&format!("{API}/init/error"), post(init_error))
        // The limit is Lambda's, checked in `response`, not the body reader's 2 MB default.
        .layer(DefaultBodyLimit::max(64 << 20))
        .with_state(rt.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut command = Command::new(path);
    command.env_clear();
    if let Some(tls) = &services.tls {
        command.env("SSL_CERT_FILE", &tls.bundle);
    }
    let handshakes_before = services.handshakes();
    let started = Instant::now();
    let mut child = command
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", binary)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("HMS_SECRET_ID", &services.secret_id)
        .env("HMS_API_BASE_URL", format!("{}/v2", services.hms))
        .env("ALLOWED_ROLES", "host,guest")
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &services.moto)
        .env("AWS_ENDPOINT_URL_DYNAMODB", &services.dynamodb)
        // The TLS floor's one request goes to the Secrets Manager endpoint, the one every function
        // calls first: the server's time (moto's, ~3 ms) is in the floor as in the functions.
        .env("HELLO_URL", format!("{}/", services.moto))
        .env("EVENTS_TABLE", &services.events_table)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| fail(&format!("starting {}: {e}", path.display())));
    let pid = child.id().expect("a running child");
    let event = &services.events[binary];

    let invoke = |tx: &mpsc::Sender<Invocation>| {
        let (answer, rx) = oneshot::channel();
        let tx = tx.clone();
        let event = event.clone();
        async move {
            tx.send(Invocation { event, answer }).await.unwrap();
            rx.await.unwrap_or_else(|_| Err("the runtime API dropped the invocation".into()))
        }
    };
    let first = within(&format!("{binary} cold start"), invoke(&tx)).await;
    let cold = started.elapsed();
    let handshakes_cold = services.handshakes() - handshakes_before;
    if let Some(e) = rt.init_error.lock().unwrap().take() {
        fail(&format!("{binary}: init error {e}"));
    }
    check_ok(binary, first);
    let init = rt.first_poll.lock().unwrap().expect("polled before answering") - started;

    let mut warm = Vec::with_capacity(invocations);
    for _ in 1..invocations {
        let t = Instant::now();
        let answer = within(&format!("{binary} warm invocation"), invoke(&tx)).await;
        warm.push(t.elapsed());
        check_ok(binary, answer);
    }
    let handshakes_warm = services.handshakes() - handshakes_before - handshakes_cold;
    let peak_rss_kib = peak_rss_kib(pid).unwrap_or_else(|| fail(&format!("no VmHWM for {binary} (pid {pid})")));
    let _ = child.kill().await;
    server.abort();
    Run { init, cold, warm_median: median(&mut warm).unwrap_or(cold), peak_rss_kib, handshakes_cold, handshakes_warm }
}

fn median<T: Ord + Copy>(v: &mut [T]) -> Option<T> {
    v.sort_unstable();
    (!v.is_empty()).then(|| v[v.len() / 2])
}

/// One row of the table: medians over the runs, sizes from the build directories.
struct Row {
    binary: &'static str,
    init: Duration,
    cold: Duration,
    warm: Duration,
    rss_kib: u64,
    stripped: Option<u64>,
    zip_arm64: Option<u64>,
    zip_x86_64: Option<u64>,
    /// Median handshakes per cold start; the most any run made over its warm invocations.
    handshakes_cold: u64,
    handshakes_warm: u64,
}

fn size(dir: &Option<PathBuf>, binary: &str, file: &str) -> Option<u64> {
    dir.as_ref().and_then(|d| std::fs::metadata(d.join(binary).join(file)).ok()).map(|m| m.len())
}

fn render(rows: &[Row], args: &Args) -> String {
    let floor = &rows[0];
    let tls_floor = rows.iter().find(|r| r.binary == FLOOR_TLS);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ratio = |a: f64, b: f64| if b > 0.0 { format!("{:.2}x", a / b) } else { "-".into() };
    let opt_mb = |v: Option<u64>| v.map_or("-".into(), |b| format!("{:.2}", b as f64 / 1e6));
    let opt_ratio = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => ratio(a as f64, b as f64),
        _ => "-".into(),
    };
    let mut t = String::new();
    writeln!(
        t,
        "Medians of {} runs per binary; warm = median of {} invocations per run; RSS = peak after {} invocations.",
        args.runs,
        args.invocations.saturating_sub(1),
        args.invocations
    )
    .unwrap();
    writeln!(t, "Sizes: stripped arm64 bootstrap and deflated zips, in MB (10^6 bytes).").unwrap();
    if args.tls {
        writeln!(
            t,
            "Over TLS: every service behind a TLS endpoint, the run's CA trusted through SSL_CERT_FILE ({}); \
             handshakes counted at the endpoints: per cold start (median), and the most any run made over its {} warm invocations.",
            if args.ca_base.is_some() { "the CA appended to a system bundle" } else { "the CA alone" },
            args.invocations.saturating_sub(1)
        )
        .unwrap();
    }
    writeln!(t).unwrap();
    let (tls_head, tls_rule) = if args.tls { (" handshakes cold | handshakes warm |", "---:|---:|") } else { ("", "") };
    writeln!(
        t,
        "| binary | init ms | cold first response ms | warm µs | peak RSS MiB | stripped arm64 MB | zip arm64 MB | zip x86_64 MB |{tls_head}"
    )
    .unwrap();
    writeln!(t, "|---|---:|---:|---:|---:|---:|---:|---:|{tls_rule}").unwrap();
    for r in rows {
        let tls_cells =
            if args.tls { format!(" {} | {} |", r.handshakes_cold, r.handshakes_warm) } else { String::new() };
        writeln!(
            t,
            "| {} | {:.2} | {:.2} | {:.0} | {:.1} | {} | {} | {} |{tls_cells}",
            r.binary,
            ms(r.init),
            ms(r.cold),
            r.warm.as_secs_f64() * 1e6,
            r.rss_kib as f64 / 1024.0,
            opt_mb(r.stripped),
            opt_mb(r.zip_arm64),
            opt_mb(r.zip_x86_64),
        )
        .unwrap();
    }
    writeln!(t, "\nRatio to {FLOOR} (same profile, same run):\n").unwrap();
    let (tls_head, tls_rule) = match tls_floor {
        Some(_) => (format!(" cold first response to {FLOOR_TLS} |"), "---:|"),
        None => (String::new(), ""),
    };
    writeln!(
        t,
        "| binary | init | cold first response | warm | peak RSS | stripped arm64 | zip arm64 | zip x86_64 |{tls_head}"
    )
    .unwrap();
    writeln!(t, "|---|---:|---:|---:|---:|---:|---:|---:|{tls_rule}").unwrap();
    for r in &rows[1..] {
        let tls_cell = tls_floor.map_or(String::new(), |f| format!(" {} |", ratio(ms(r.cold), ms(f.cold))));
        writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} |{tls_cell}",
            r.binary,
            ratio(ms(r.init), ms(floor.init)),
            ratio(ms(r.cold), ms(floor.cold)),
            ratio(r.warm.as_secs_f64(), floor.warm.as_secs_f64()),
            ratio(r.rss_kib as f64, floor.rss_kib as f64),
            opt_ratio(r.stripped, floor.stripped),
            opt_ratio(r.zip_arm64, floor.zip_arm64),
            opt_ratio(r.zip_x86_64, floor.zip_x86_64),
        )
        .unwrap();
    }
    t
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let services = Services::start(args.peers, args.tls, args.ca_base.as_deref()).await;
    let floors: &[&'static str] = if args.tls { &[FLOOR, FLOOR_TLS] } else { &[FLOOR] };
    let binaries: Vec<&'static str> = floors.iter().copied().chain(FUNCTIONS).collect();
    for b in &binaries {
        if !args.run_dir.join(b).join("bootstrap").exists() {
            fail(&format!("{}/{b}/bootstrap missing (scripts/bench.sh builds it)", args.run_dir.display()));
        }
    }
    // One untimed run each first, so every binary starts from the page cache, not from disk.
    for &b in &binaries {
        run_once(b, &args.run_dir.join(b).join("bootstrap"), &services, 2).await;
    }
    // Runs interleave the binaries (floor, functions, floor, ...) so a slow spell of this shared
    // machine falls on all of them rather than on one.
    let mut runs: HashMap<&str, Vec<Run>> = HashMap::new();
    for run in 0..args.runs {
        for &b in &binaries {
            let r = run_once(b, &args.run_dir.join(b).join("bootstrap"), &services, args.invocations as usize).await;
            eprintln!(
                "run {}/{} {b:<18} init {:>7.2} ms  cold {:>7.2} ms  warm {:>6.0} µs  peak RSS {:>5.1} MiB  handshakes {}+{}",
                run + 1,
                args.runs,
                r.init.as_secs_f64() * 1e3,
                r.cold.as_secs_f64() * 1e3,
                r.warm_median.as_secs_f64() * 1e6,
                r.peak_rss_kib as f64 / 1024.0,
                r.handshakes_cold,
                r.handshakes_warm
            );
            runs.entry(b).or_default().push(r);
        }
    }
    let rows: Vec<Row> = binaries
        .iter()
        .map(|&b| {
            let rs = &runs[b];
            let med = |f: fn(&Run) -> Duration| median(&mut rs.iter().map(f).collect::<Vec<_>>()).unwrap();
            Row {
                binary: b,
                init: med(|r| r.init),
                cold: med(|r| r.cold),
                warm: med(|r| r.warm_median),
                rss_kib: median(&mut rs.iter().map(|r| r.peak_rss_kib).collect::<Vec<_>>()).unwrap(),
                stripped: size(&args.arm64_dir, b, "bootstrap"),
                zip_arm64: size(&args.arm64_dir, b, "bootstrap.zip"),
                zip_x86_64: size(&args.x86_64_dir, b, "bootstrap.zip"),
                handshakes_cold: median(&mut rs.iter().map(|r| r.handshakes_cold).collect::<Vec<_>>()).unwrap(),
                handshakes_warm: rs.iter().map(|r| r.handshakes_warm).max().unwrap(),
            }
        })
        .collect();
    let table = render(&rows, &args);
    println!("{table}");
    if let Some(out) = &args.out {
        std::fs::write(out, &table).unwrap_or_else(|e| fail(&format!("writing {}: {e}", out.display())));
    }
}
