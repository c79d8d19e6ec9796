//! The TLS floor: the hello-world floor plus what any function calling an HTTPS API pays once per
//! container: on its first invocation, one HTTPS GET of `HELLO_URL` with a default reqwest client
//! (reqwest's own TLS setup: rustls, the platform verifier, roots from the system or from
//! `SSL_CERT_FILE`). Later invocations answer at once, like the floor.

use std::time::Duration;

use lambda_http::{Body, Error, Request, Response, service_fn};
use tokio::sync::OnceCell;

static FIRST_CALL: OnceCell<()> = OnceCell::const_new();

async fn call_once(url: &str) -> Result<(), Error> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    client.get(url).send().await?.bytes().await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let url: &'static str = std::env::var("HELLO_URL").map_err(|_| "HELLO_URL is not set")?.leak();
    lambda_http::run(service_fn(move |_: Request| async move {
        FIRST_CALL.get_or_try_init(|| call_once(url)).await?;
        Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(r#"{"hello":"world"}"#))
            .map_err(Error::from)
    }))
    .await
}
