//! What each function does, one file each, as plain async functions of their dependencies and a
//! parsed request; and [`serve`], the one path every API Gateway event takes through a function
//! (edge, routing, the function or its configuration errors, the answer).

pub mod auth_token;
pub mod create_room;
pub mod room_control;
pub mod session_analytics;
pub mod webhooks;

use std::future::Future;

use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};

pub use auth_token::AuthToken;
pub use create_room::CreateRoom;
pub use room_control::RoomControl;
pub use session_analytics::SessionAnalytics;
pub use webhooks::Webhooks;

use crate::edge::{ApiRequest, Reply, Route, encode, respond};
use crate::error::{ApiError, ConfigError};

/// A Lambda function of the API: the routes it serves and what it does for each.
pub trait Function: Send + Sync {
    /// The routes it serves; a request for another path is a 404, for another method a 405.
    const ROUTES: &'static [Route];

    /// Answers a request for `route`, the path of one of [`Function::ROUTES`].
    fn call(&self, route: &'static str, req: ApiRequest) -> impl Future<Output = Result<Reply, ApiError>> + Send;
}

/// What one event came to: the answer, and for the summary log line the route it matched and
/// the error it ended with, if any.
#[derive(Debug)]
pub struct Served {
    pub response: ApiGatewayV2httpResponse,
    pub route: Option<&'static str>,
    pub error: Option<ApiError>,
}

/// Answers `event` with `function`, or, when the function is misconfigured, with the 500
/// `config` that names what is wrong (after the edge and routing, so a caller's mistake is still
/// answered as one).
pub async fn serve<F: Function>(function: Result<&F, &[ConfigError]>, event: ApiGatewayV2httpRequest) -> Served {
    let mut route = None;
    let result = async {
        let req = ApiRequest::from_event(event)?;
        if let Some(allowed) = req.preflight(F::ROUTES) {
            return encode(Reply::ok_raw(b"{}".to_vec()).with_header("allow", allowed), false);
        }
        let matched = req.route(F::ROUTES)?;
        route = Some(matched);
        let gzip = req.accepts_gzip;
        match function {
            Ok(f) => f.call(matched, req).await.and_then(|reply| encode(reply, gzip)),
            Err(errors) => Err(misconfigured(errors)),
        }
    }
    .await;
    match result {
        Ok(reply) => Served { response: respond(Ok(reply)), route, error: None },
        Err(error) => Served { response: respond(Err(&error)), route, error: Some(error) },
    }
}

/// The error a misconfigured function answers with: every configuration error, in one message.
fn misconfigured(errors: &[ConfigError]) -> ApiError {
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    ApiError::Config(text.join("; "))
}
