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
//! `auth-token (jwt)` is the auth-token binary again, with callers signing in (the local JWT
//! rules): each token then reads the room's rules from the table (issue 30), one more service a
//! cold start reaches.
//!
//! With `--tls` every service is reached over HTTPS, as on AWS: TLS endpoints on the loopback in
//! front of moto, dynalite and the emulator, with a certificate from a CA made for the run that the
//! processes trust through `SSL_CERT_FILE` (verification on). The TLS floor (`hello-world-tls`:
//! the floor plus one HTTPS GET to the Secrets Manager endpoint on its first invocation) joins the
//! table, and the endpoints' handshakes are counted for each cold start and over the warm
//! invocations.

mod runtime;
mod services;
mod table;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use clap::Parser as _;
use hms_e2e::{FLOOR, FUNCTIONS, peak_rss_kib, workspace_root};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

use runtime::{Invocation, Runtime, init_error, invocation_error, next, response};
use services::Services;
use table::{Row, median, render, size};

const API: &str = "/2018-06-01/runtime";
/// The TLS floor: the floor plus one HTTPS call on its first invocation (bench/hello-world/src/tls.rs).
const FLOOR_TLS: &str = "hello-world-tls";
/// auth-token with sign-in: the same binary, the local JWT rules, a signed-in caller's event.
pub(crate) const AUTH_TOKEN_JWT: &str = "auth-token (jwt)";

/// The binary a row runs.
fn binary_of(row: &str) -> &str {
    if row == AUTH_TOKEN_JWT { "auth-token" } else { row }
}

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
    if binary == AUTH_TOKEN_JWT {
        command.envs(hms_test_support::local_jwt_rules());
    }
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
        .env("WEBHOOK_SECRET_ID", &services.webhook_secret_id)
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let services = Services::start(args.peers, args.tls, args.ca_base.as_deref()).await;
    let floors: &[&'static str] = if args.tls { &[FLOOR, FLOOR_TLS] } else { &[FLOOR] };
    let binaries: Vec<&'static str> = floors.iter().copied().chain(FUNCTIONS).chain([AUTH_TOKEN_JWT]).collect();
    for b in binaries.iter().map(|b| binary_of(b)) {
        if !args.run_dir.join(b).join("bootstrap").exists() {
            fail(&format!("{}/{b}/bootstrap missing (scripts/bench.sh builds it)", args.run_dir.display()));
        }
    }
    // One untimed run each first, so every binary starts from the page cache, not from disk.
    for &b in &binaries {
        run_once(b, &args.run_dir.join(binary_of(b)).join("bootstrap"), &services, 2).await;
    }
    // Runs interleave the binaries (floor, functions, floor, ...) so a slow spell of this shared
    // machine falls on all of them rather than on one.
    let mut runs: HashMap<&str, Vec<Run>> = HashMap::new();
    for run in 0..args.runs {
        for &b in &binaries {
            let path = args.run_dir.join(binary_of(b)).join("bootstrap");
            let r = run_once(b, &path, &services, args.invocations as usize).await;
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
