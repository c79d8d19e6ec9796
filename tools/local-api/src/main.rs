//! `local-api`: serves the API on loopback as the deployed one routes it, forwarding to
//! `cargo lambda watch` (see the library). Started and stopped by `scripts/run.sh`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use local_api::jwt::JwtAuthorizer;
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
    /// With --jwt-audience: the JWT authorizer's issuer (callers must sign in), as the tokens'
    /// `iss` names it.
    #[arg(long, requires = "jwt_audience")]
    jwt_issuer: Option<String>,
    /// The audience: the app client's id (an ID token's `aud`, an access token's `client_id`).
    #[arg(long, requires = "jwt_issuer")]
    jwt_audience: Option<String>,
    /// Where the issuer's OpenID configuration is served (default: the issuer's own
    /// `/.well-known/openid-configuration`); locally, moto's.
    #[arg(long, requires = "jwt_issuer")]
    jwt_discovery: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let http =
        reqwest::Client::builder().timeout(INTEGRATION_TIMEOUT).connect_timeout(Duration::from_secs(2)).build()?;
    let jwt = match (&args.jwt_issuer, &args.jwt_audience) {
        (Some(issuer), Some(audience)) => {
            let discovery = args
                .jwt_discovery
                .clone()
                .unwrap_or_else(|| format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')));
            Some(std::sync::Arc::new(JwtAuthorizer::new(issuer, audience, &discovery)))
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
