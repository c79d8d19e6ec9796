//! `hms-emulator [--host 127.0.0.1] [--port 8910]`: serves the 100ms stand-in.
//! Credentials it accepts: `APP_ACCESS_KEY` / `APP_SECRET` from the environment.

use hms_emulator::Emulator;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "usage: hms-emulator [--host HOST] [--port PORT]   (APP_ACCESS_KEY and APP_SECRET from the environment)"
        );
        return Ok(());
    }
    let host = arg(&args, "--host").unwrap_or_else(|| "127.0.0.1".into());
    let port = arg(&args, "--port").unwrap_or_else(|| "8910".into());
    let (Ok(key), Ok(secret)) = (std::env::var("APP_ACCESS_KEY"), std::env::var("APP_SECRET")) else {
        eprintln!("hms-emulator: set APP_ACCESS_KEY and APP_SECRET (the credentials it accepts)");
        std::process::exit(2);
    };
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    println!("hms-emulator: 100ms v2 API on http://{}/v2 (control API under /_emulator)", listener.local_addr()?);
    let server = Emulator::new(key, secret).serve(listener);
    tokio::select! {
        r = server => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
