//! A TCP forwarder on the loopback in front of a service (moto, the emulator) that fails on
//! cue: it drops connections, delays them, or stops listening (connection refused), and comes
//! back on the same port.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the forwarder does with each new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards it.
    Pass,
    /// Accepts and drops it at once: the service looks unreachable to its client.
    Drop,
    /// Forwards it after this long: a slow service.
    Delay(Duration),
}

pub struct Forward {
    pub port: u16,
    target: String,
    mode: Arc<Mutex<Mode>>,
    task: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Forward {
    /// A forwarder to `target` (`http://host:port` or `host:port`), passing connections.
    pub async fn to(target: &str) -> Self {
        Self::with_mode(target, Mode::Pass).await
    }

    pub async fn with_mode(target: &str, mode: Mode) -> Self {
        // The listener that picked the port is the one that serves: releasing it and binding
        // again would leave a moment in which another test's free port could be this one.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = target.trim_start_matches("http://").trim_end_matches('/').to_string();
        let mut f = Self { port, target, mode: Arc::new(Mutex::new(mode)), task: None, connections: Arc::default() };
        f.serve(listener);
        f
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sets what happens to connections from now on.
    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// A handle that can set the mode from elsewhere (another task, a stack's method).
    pub fn mode_handle(&self) -> Arc<Mutex<Mode>> {
        self.mode.clone()
    }

    /// Listens again on its port, after [`Forward::close`].
    pub async fn open(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.expect("re-binding the forwarder's port");
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let (target, mode, connections) = (self.target.clone(), self.mode.clone(), self.connections.clone());
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mode = *mode.lock().unwrap();
                let target = target.clone();
                let conn = tokio::spawn(async move {
                    match mode {
                        Mode::Drop => return,
                        Mode::Delay(d) => tokio::time::sleep(d).await,
                        Mode::Pass => {}
                    }
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(conn);
            }
        }));
    }

    /// Stops listening and cuts every open connection (pooled keep-alive ones too): the service
    /// refuses connections until [`Forward::open`].
    pub async fn close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        for conn in self.connections.lock().unwrap().drain(..) {
            conn.abort();
        }
        tokio::task::yield_now().await;
    }
}
