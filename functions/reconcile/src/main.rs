//! The `reconcile` Lambda function, run on a schedule: wiring only; the logic lives in
//! `hms_shared::reconcile`.

use hms_shared::{app, config::Config, logging};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    logging::init_logging();
    app::run_reconcile(app::reconcile(&Config::from_env())).await
}
