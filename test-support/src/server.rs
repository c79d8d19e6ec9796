//! A local server (moto, dynalite) started once per test process on a free loopback port, ended
//! with the process.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `program` with the arguments `args(port)` for a free port, waits until it listens
/// (30 s at most), and returns its `http://127.0.0.1:<port>` endpoint.
pub(crate) fn start_local_server(what: &str, program: PathBuf, args: impl FnOnce(u16) -> Vec<String>) -> String {
    let port = crate::free_port();
    let args = args(port);
    // Started from a thread that lives as long as the process: the parent-death signal is tied
    // to the thread that spawned the child, and a test's thread ends with the test.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe and only sets this child's parent-death signal.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
        }
        let child = cmd.spawn();
        let ok = child.is_ok();
        tx.send(child.map(|_| ()).map_err(|e| e.to_string())).unwrap();
        if ok {
            loop {
                std::thread::park();
            }
        }
    });
    rx.recv().unwrap().unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "{what} did not listen on {port} within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    format!("http://127.0.0.1:{port}")
}
