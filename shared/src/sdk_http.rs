//! The AWS SDK clients' HTTP transport (Secrets Manager, DynamoDB): reqwest, the HTTP stack the functions carry for
//! 100ms anyway, in place of the SDK's default hyper client. The code is shared, and so is the TLS
//! configuration (tls.rs: the roots loaded once per container, one session cache), not the
//! client: this transport builds reqwest clients of its own (one per timeout setting the SDK asks
//! for), beside the 100ms client's.
//!
//! The SDK's `default-https-client` is a second HTTP stack beside reqwest: its own hyper client
//! with HTTP/2 (h2 and its tables), its own rustls connector and certificate loading. Without it
//! each function is smaller, has fewer relocations for the loader to apply at every start, and
//! starts sooner (the figures: BENCHMARKS.md).
//! Secrets Manager and DynamoDB speak HTTP/1.1 JSON; the SDK keeps doing the signing, retries and the
//! operation and attempt timeouts, and hands the connect and read timeouts to this transport.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;

use crate::tls::Roots;

/// The transport to give an SDK client's configuration (`.http_client(...)`), trusting `roots`.
pub fn http_client(roots: &Roots) -> SharedHttpClient {
    SharedHttpClient::new(ReqwestHttpClient { roots: roots.clone(), connectors: Mutex::default() })
}

/// Connect and read timeouts: the settings a connector is built for.
type Timeouts = (Option<Duration>, Option<Duration>);

/// Builds one connector (one reqwest client, one connection pool) per distinct timeouts and
/// reuses it: the SDK asks for a connector on every attempt.
#[derive(Debug)]
struct ReqwestHttpClient {
    roots: Roots,
    connectors: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

impl ReqwestHttpClient {
    fn connector_for(&self, timeouts: Timeouts) -> SharedHttpConnector {
        let mut connectors = self.connectors.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, connector)) = connectors.iter().find(|(t, _)| *t == timeouts) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(ReqwestConnector::new(timeouts, &self.roots));
        connectors.push((timeouts, connector.clone()));
        connector
    }
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        self.connector_for(timeouts_of(settings))
    }
}

fn timeouts_of(settings: &HttpConnectorSettings) -> Timeouts {
    (settings.connect_timeout(), settings.read_timeout())
}

#[derive(Debug)]
struct ReqwestConnector {
    /// A client that could not be built (no TLS roots, say) fails each call with the reason.
    client: Result<reqwest::Client, String>,
}

impl ReqwestConnector {
    fn new((connect, read): Timeouts, roots: &Roots) -> Self {
        let client = crate::tls::client_builder(roots).and_then(|builder| {
            // AWS APIs do not redirect; following one would send signed requests elsewhere.
            let mut builder = builder.redirect(reqwest::redirect::Policy::none());
            if let Some(timeout) = connect {
                builder = builder.connect_timeout(timeout);
            }
            if let Some(timeout) = read {
                builder = builder.read_timeout(timeout);
            }
            builder.build().map_err(|e| e.to_string())
        });
        Self { client: client.map_err(|e| format!("could not build the HTTP client: {e}")) }
    }
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let client = client.map_err(|e| ConnectorError::other(e.into(), None))?;
            let response = client.execute(to_reqwest(request)?).await.map_err(connector_error)?;
            let (status, headers) = (response.status(), response.headers().clone());
            let body = response.bytes().await.map_err(connector_error)?;
            let mut out = lambda_http::http::Response::new(SdkBody::from(body));
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            HttpResponse::try_from(out).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// The SDK's request as reqwest's: same method, URI, headers (signed) and body.
fn to_reqwest(request: HttpRequest) -> Result<reqwest::Request, ConnectorError> {
    let request = request.try_into_http1x().map_err(|e| ConnectorError::other(e.into(), None))?;
    let (parts, body) = request.into_parts();
    // Secrets Manager's requests are small JSON documents, always in memory.
    let body = body.bytes().ok_or_else(|| ConnectorError::other("a streaming request body".into(), None))?.to_vec();
    reqwest::Request::try_from(lambda_http::http::Request::from_parts(parts, body))
        .map_err(|e| ConnectorError::other(e.into(), None))
}

/// Timeouts and I/O failures are the SDK's transient errors (it retries them); the rest are not.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn request(url: &str, body: &'static str) -> HttpRequest {
        let request = lambda_http::http::Request::builder()
            .method("POST")
            .uri(url)
            .header("x-amz-target", "secretsmanager.GetSecretValue")
            .header("content-type", "application/x-amz-json-1.1")
            .body(SdkBody::from(body))
            .unwrap();
        HttpRequest::try_from(request).unwrap()
    }

    /// Reads one HTTP/1.1 request (headers and a Content-Length body) and answers `answer`.
    async fn serve_once(listener: TcpListener, answer: &'static str) -> String {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .map_or(0, |v| v.parse::<usize>().unwrap());
                if seen.len() >= end + 4 + length {
                    stream.write_all(answer.as_bytes()).await.unwrap();
                    return text;
                }
            }
            assert!(n > 0, "the client closed before sending its whole request: {text}");
        }
    }

    #[tokio::test]
    async fn sends_the_request_as_given_and_returns_the_whole_answer() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/some/path?x=1", listener.local_addr().unwrap());
        let answer = "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.1\r\n\
                      x-amzn-requestid: req-1\r\ncontent-length: 31\r\n\r\n{\"__type\":\"ResourceNotFoundEx\"}";
        let server = tokio::spawn(serve_once(listener, answer));
        let connector =
            ReqwestConnector::new((Some(Duration::from_secs(2)), Some(Duration::from_secs(2))), &Roots::Compiled);
        let response = connector.call(request(&url, r#"{"SecretId":"s"}"#)).await.unwrap();
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(response.headers().get("x-amzn-requestid"), Some("req-1"));
        assert_eq!(response.body().bytes(), Some(br#"{"__type":"ResourceNotFoundEx"}"#.as_slice()));
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /some/path?x=1 HTTP/1.1\r\n"), "{seen}");
        assert!(seen.contains("x-amz-target: secretsmanager.GetSecretValue\r\n"), "{seen}");
        assert!(seen.contains("content-type: application/x-amz-json-1.1\r\n"), "{seen}");
        assert!(seen.ends_with("\r\n\r\n{\"SecretId\":\"s\"}"), "{seen}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_io_error_the_sdk_retries() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        let err = ReqwestConnector::new((Some(Duration::from_secs(2)), None), &Roots::Compiled)
            .call(request(&url, "{}"))
            .await
            .unwrap_err();
        assert!(err.is_io(), "{err:?}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_a_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let _held = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(stream);
        });
        let connector =
            ReqwestConnector::new((Some(Duration::from_secs(2)), Some(Duration::from_millis(200))), &Roots::Compiled);
        let err = connector.call(request(&url, "{}")).await.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
    }

    #[test]
    fn one_connector_per_distinct_timeouts() {
        let client = ReqwestHttpClient { roots: Roots::Compiled, connectors: Mutex::default() };
        let a = (Some(Duration::from_secs(2)), None);
        let b = (Some(Duration::from_secs(2)), Some(Duration::from_secs(5)));
        client.connector_for(a);
        client.connector_for(a);
        client.connector_for(b);
        client.connector_for(a);
        let built: Vec<Timeouts> = client.connectors.lock().unwrap().iter().map(|(t, _)| *t).collect();
        assert_eq!(built, vec![a, b]);

        // The SDK's settings reach the connector as (connect, read), not the other way round.
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(Duration::from_secs(2))
            .read_timeout(Duration::from_secs(5))
            .build();
        assert_eq!(timeouts_of(&settings), b);
        assert_eq!(timeouts_of(&HttpConnectorSettings::builder().build()), (None, None));
    }
}
