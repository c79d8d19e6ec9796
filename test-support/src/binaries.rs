//! Where the workspace and its release binaries are.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The functions behind the API's routes, which the end-to-end tests call over HTTP.
pub const FUNCTIONS: [&str; 5] = ["create-room", "auth-token", "session-analytics", "room-control", "webhooks"];
/// The functions no route serves: the scheduled reconciliation and the webhook route's authorizer
/// (the end-to-end tests invoke them by name, as EventBridge and API Gateway do).
pub const INVOKED: [&str; 2] = ["reconcile", "webhook-authorizer"];
/// The hello-world lambda_http binary (bench/hello-world): the floor measurements compare with.
pub const FLOOR: &str = "hello-world";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The directory of the release binaries of [`FUNCTIONS`], [`INVOKED`] and [`FLOOR`]: `FUNCTIONS_BIN_DIR` when
/// set (scripts/test.sh builds them first), else wherever cargo puts them (`CARGO_TARGET_DIR`
/// and `build.target-dir` included), built once per test process (`cargo build --release`, the
/// same profile `sam build` uses) and their directory read from cargo's own artifact messages.
pub fn release_binaries() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("FUNCTIONS_BIN_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        let output = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--locked", "--quiet", "--message-format=json-render-diagnostics"])
            .args(FUNCTIONS.iter().chain(&INVOKED).chain([&FLOOR]).flat_map(|p| ["-p", p]))
            .current_dir(workspace_root())
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("running cargo build --release");
        assert!(output.status.success(), "cargo build --release of the functions failed");
        executables_dir(&String::from_utf8_lossy(&output.stdout), FLOOR)
            .expect("cargo reported no executable for the floor binary")
    })
    .clone()
}

/// The directory of the executable named `name` in cargo's JSON messages (`--message-format=json`).
fn executables_dir(messages: &str, name: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| Some(Path::new(m["executable"].as_str()?).parent()?.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_the_one_cargo_reports() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"serde"},"executable":null}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"hello-world"},"executable":"/elsewhere/t/release/hello-world"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(executables_dir(&messages, "hello-world"), Some(PathBuf::from("/elsewhere/t/release")));
        assert_eq!(executables_dir(&messages, "create-room"), None);
    }
}
