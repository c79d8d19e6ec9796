//! `local-api`: serves the API on loopback as the deployed one routes it, forwarding to
//! `cargo lambda watch` (see the library). Started and stopped by `scripts/run.sh`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use local_api::authorizer::JwtAuthorizer;
use local_api::{INTEGRATION_TIMEOUT, LocalApi, router};

#[derive(Parser)]
#[command(about = "The API's routing on loopback, in front of cargo lambda watch")]
struct Args {
    /// Port to serve on, on 127.0.0.1 and (when the machine has IPv6) ::1.
    #[arg(long)]
    port: u16,
    /// Base URL of `cargo lambda watch`, e.g. http://127.0.0.1:9001.
    #[arg(long)]
    upstream: String,
    /// With --jwt-audience and --jwt-key-env: the JWT authorizer's issuer (callers must sign in).
    #[arg(long, requires_all = ["jwt_audience", "jwt_key_env"])]
    jwt_issuer: Option<String>,
    #[arg(long)]
    jwt_audience: Option<String>,
    /// The environment variable holding the HS256 key tokens are signed with (never a flag: it
    /// would show in the process list).
    #[arg(long)]
    jwt_key_env: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let http =
        reqwest::Client::builder().timeout(INTEGRATION_TIMEOUT).connect_timeout(Duration::from_secs(2)).build()?;
    let jwt = match (&args.jwt_issuer, &args.jwt_audience, &args.jwt_key_env) {
        (Some(issuer), Some(audience), Some(var)) => {
            let key = std::env::var(var).map_err(|_| format!("{var} is not set"))?;
            Some(JwtAuthorizer::new(key.as_bytes(), issuer, audience))
        }
        _ => None,
    };
    let app = router(LocalApi { upstream: args.upstream.trim_end_matches('/').to_string(), http, jwt });
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
