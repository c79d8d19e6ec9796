//! `hms-emulator`: serves the 100ms stand-in (`--help` for the options).

use clap::Parser;
use hms_emulator::Emulator;

/// A local stand-in for the 100ms v2 REST API (rooms, sessions), with simulated clients, fault
/// injection and counters under /_emulator.
#[derive(Debug, Parser)]
#[command(name = "hms-emulator")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 8910)]
    port: u16,
    /// The app access key it accepts.
    #[arg(long, env = "APP_ACCESS_KEY", hide_env_values = true)]
    access_key: String,
    /// The app secret it accepts.
    #[arg(long, env = "APP_SECRET", hide_env_values = true)]
    secret: String,
    /// Where to send webhooks (none are sent without it).
    #[arg(long)]
    webhook_url: Option<String>,
    /// A header to send with each webhook, as name:value (repeatable); the value may also come
    /// from the environment variable it names when it is `$NAME`.
    #[arg(long = "webhook-header")]
    webhook_headers: Vec<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    println!("hms-emulator: 100ms v2 API on http://{}/v2 (control API under /_emulator)", listener.local_addr()?);
    let emulator = Emulator::new(args.access_key, args.secret);
    if let Some(url) = args.webhook_url {
        let mut headers = std::collections::BTreeMap::new();
        for h in &args.webhook_headers {
            let Some((name, value)) = h.split_once(':') else {
                eprintln!("hms-emulator: --webhook-header takes name:value, got {h:?}");
                std::process::exit(2);
            };
            let value = match value.strip_prefix('$') {
                Some(var) => std::env::var(var).unwrap_or_default(),
                None => value.to_string(),
            };
            headers.insert(name.trim().to_string(), value);
        }
        println!("hms-emulator: webhooks go to {url}");
        emulator.set_webhook(Some(hms_emulator::WebhookTarget { url, headers }));
    }
    let server = emulator.serve(listener);
    tokio::select! {
        r = server => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
