//! The `webhook-authorizer` Lambda function, API Gateway's authorizer of the webhook route:
//! wiring only; the check is `webhooks`'s own (`hms_shared::handlers::webhooks::authentic`).

use hms_shared::{app, config::Config, logging};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    logging::init_logging();
    app::run_webhook_authorizer(app::webhook_authorizer(&Config::from_env())).await
}
