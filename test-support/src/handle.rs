//! A configured function answering an event the way it does deployed.

use std::future::Future;

use hms_shared::handlers::{Function, serve};
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};

/// `function.handle(event)`: the answer [`serve`] gives, as `app::run` sends it.
pub trait Handle {
    fn handle(&self, event: ApiGatewayV2httpRequest) -> impl Future<Output = ApiGatewayV2httpResponse>;
}

impl<F: Function> Handle for F {
    async fn handle(&self, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        serve(Ok(self), event).await.response
    }
}
