//! `local-api`: serves the API on loopback as the deployed one routes it, forwarding to
//! `cargo lambda watch` (see the library). Started and stopped by `scripts/run.sh`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use clap::Parser;
use local_api::{INTEGRATION_TIMEOUT, NOT_FOUND_BODY, Target, forward, json_answer, target};

/// The largest request API Gateway passes on (and Lambda accepts): 6 MB.
const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;

#[derive(Parser)]
#[command(about = "The API's routing on loopback, in front of cargo lambda watch")]
struct Args {
    /// Port to serve on, on 127.0.0.1 and (when the machine has IPv6) ::1.
    #[arg(long)]
    port: u16,
    /// Base URL of `cargo lambda watch`, e.g. http://127.0.0.1:9001.
    #[arg(long)]
    upstream: String,
}

#[derive(Clone)]
struct Upstream {
    base: String,
    http: reqwest::Client,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let http =
        reqwest::Client::builder().timeout(INTEGRATION_TIMEOUT).connect_timeout(Duration::from_secs(2)).build()?;
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(Upstream { base: args.upstream.trim_end_matches('/').to_string(), http });
    let v4 = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port))).await?;
    // `localhost` may resolve to ::1 first (cargo lambda invoke's default address is ::1).
    if let Ok(v6) = tokio::net::TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, args.port))).await {
        tokio::spawn(axum::serve(v6, app.clone()).into_future());
    }
    axum::serve(v4, app)
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}

async fn handle(State(upstream): State<Upstream>, req: Request) -> Response {
    if target(req.method().as_str(), req.uri().path()) == Target::NotFound {
        return json_answer(StatusCode::NOT_FOUND, NOT_FOUND_BODY);
    }
    forward(&upstream.http, &upstream.base, req, MAX_REQUEST_BYTES).await
}
