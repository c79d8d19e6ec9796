//! The `webhooks` Lambda function: wiring only; the logic lives in `hms_shared`.

use hms_shared::{app, config::Config, logging};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    logging::init_logging();
    app::run(app::webhooks(&Config::from_env())).await
}
