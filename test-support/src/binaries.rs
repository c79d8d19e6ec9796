//! Where the workspace and its release binaries are.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The functions the end-to-end tests run.
pub const FUNCTIONS: [&str; 5] = ["create-room", "auth-token", "session-analytics", "room-control", "webhooks"];
/// The hello-world lambda_http binary (bench/hello-world): the floor measurements compare with.
pub const FLOOR: &str = "hello-world";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The directory of the release binaries of [`FUNCTIONS`] and [`FLOOR`]: `FUNCTIONS_BIN_DIR` when
/// set (scripts/test.sh builds them first), else `target/release`, where they are built once per
/// test process (`cargo build --release`, the same profile `sam build` uses) when missing.
pub fn release_binaries() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("FUNCTIONS_BIN_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        let root = workspace_root();
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--quiet"])
            .args(FUNCTIONS.iter().chain([&FLOOR]).flat_map(|p| ["-p", p]))
            .current_dir(&root)
            .status()
            .expect("running cargo build --release");
        assert!(status.success(), "cargo build --release of the functions failed");
        root.join("target/release")
    })
    .clone()
}
