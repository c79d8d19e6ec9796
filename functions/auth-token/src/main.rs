//! The `auth-token` Lambda function: wiring only; the logic lives in `hms_shared`.

use hms_shared::app::{self, AuthToken};
use hms_shared::config::Config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    app::init_logging();
    let function = AuthToken::from_config(&Config::from_env());
    app::log_config_errors(function.config_errors());
    app::run(|event| function.handle(event)).await
}
