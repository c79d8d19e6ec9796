//! A credentials source a test can swap (a rotation) and count the reads of, without Secrets
//! Manager: the re-read paths of the credential cache and the functions above it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hms_shared::ApiError;
use hms_shared::credentials::{Credentials, SecretSource};

/// Gives the credentials it holds now. Clones share them and the count, so a test keeps one
/// clone and gives the function another.
#[derive(Clone)]
pub struct SwappableSource {
    current: Arc<Mutex<Credentials>>,
    reads: Arc<AtomicUsize>,
}

impl SwappableSource {
    pub fn new(creds: Credentials) -> Self {
        Self { current: Arc::new(Mutex::new(creds)), reads: Arc::default() }
    }

    /// From now on reads give `creds` (the secret was rotated).
    pub fn swap(&self, creds: Credentials) {
        *self.current.lock().unwrap() = creds;
    }

    /// How many times the credentials were read.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

impl SecretSource for SwappableSource {
    async fn fetch(&self) -> Result<Credentials, ApiError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.current.lock().unwrap().clone())
    }
}
