//! Credentials cached per warm container.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Credentials, SecretSource};
use crate::error::ApiError;

/// How long past their maximum age cached credentials may still be used while re-reading them
/// fails: a short Secrets Manager outage does not fail every request, but a secret that can no
/// longer be read (revoked access, deleted secret) is not used forever.
pub const STALE_GRACE: Duration = Duration::from_secs(15 * 60);
/// The first wait after a failed re-read before the next one; it doubles up to [`MAX_REREAD_BACKOFF`].
pub const FIRST_REREAD_BACKOFF: Duration = Duration::from_secs(5);
pub const MAX_REREAD_BACKOFF: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Cached {
    creds: Arc<Credentials>,
    read_at: Instant,
    /// After failed re-reads: how many, and when the next may be tried.
    failures: u32,
    retry_at: Option<Instant>,
}

/// Credentials cached per warm container: read once, reused until `max_age`, then read again.
/// If that read fails, the cached value is kept for at most [`STALE_GRACE`] more, and re-reads
/// back off (5 s doubling to 60 s) instead of costing every request a Secrets Manager call. A
/// failed first read is not cached, so the next invocation tries again;
/// [`CredentialStore::refresh`] re-reads at once after 100ms rejected what we have (the secret
/// may have been rotated).
#[derive(Debug)]
pub struct CredentialStore<S> {
    source: S,
    max_age: Duration,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

impl<S: SecretSource> CredentialStore<S> {
    /// Credentials from `source`, read again once they are `max_age` old. A container can live
    /// for hours; without a maximum age `/auth-token` (which never hears a 401 from 100ms) would
    /// sign with a rotated-out secret for as long as it lives.
    pub fn new(source: S, max_age: Duration) -> Self {
        Self { source, max_age, cached: tokio::sync::Mutex::new(None) }
    }

    /// The cached credentials, reading them first if there are none or they are older than the
    /// maximum age. Concurrent callers wait for one read instead of each reading.
    pub async fn get(&self) -> Result<Arc<Credentials>, ApiError> {
        let mut slot = self.cached.lock().await;
        let Some(c) = slot.as_mut() else { return Ok(store(&mut slot, self.source.fetch().await?)) };
        if c.read_at.elapsed() < self.max_age {
            return Ok(c.creds.clone());
        }
        let usable = c.read_at.elapsed() < self.max_age + STALE_GRACE;
        if c.retry_at.is_some_and(|at| Instant::now() < at) {
            return if usable { Ok(c.creds.clone()) } else { Err(too_stale()) };
        }
        match self.source.fetch().await {
            Ok(fresh) => Ok(store(&mut slot, fresh)),
            Err(e) => {
                c.failures += 1;
                let backoff = FIRST_REREAD_BACKOFF.saturating_mul(1 << (c.failures - 1).min(8)).min(MAX_REREAD_BACKOFF);
                c.retry_at = Some(Instant::now() + backoff);
                if usable {
                    tracing::warn!(error = %e, ?backoff, "re-reading credentials failed; using the cached ones");
                    Ok(c.creds.clone())
                } else {
                    tracing::error!(error = %e, ?backoff, "re-reading credentials failed and the cached ones are too old");
                    Err(e)
                }
            }
        }
    }

    /// Re-reads the credentials because `stale` was rejected, unless another caller already
    /// replaced them. On failure the stale value is dropped, so the next call reads again.
    pub async fn refresh(&self, stale: &Arc<Credentials>) -> Result<Arc<Credentials>, ApiError> {
        let mut slot = self.cached.lock().await;
        if let Some(current) = slot.as_ref()
            && !Arc::ptr_eq(&current.creds, stale)
        {
            return Ok(current.creds.clone());
        }
        *slot = None;
        Ok(store(&mut slot, self.source.fetch().await?))
    }

    /// As [`CredentialStore::refresh`], but only when the credentials held were read more than
    /// `min_age` ago; else they are answered as they are. For a caller that cannot tell a rotated
    /// secret from a wrong one (a webhook with a wrong header), so that a flood of wrong ones reads
    /// Secrets Manager at most once per `min_age`.
    pub async fn refresh_if_older_than(
        &self,
        stale: &Arc<Credentials>,
        min_age: Duration,
    ) -> Result<Arc<Credentials>, ApiError> {
        {
            let slot = self.cached.lock().await;
            if let Some(current) = slot.as_ref()
                && current.read_at.elapsed() < min_age
            {
                return Ok(current.creds.clone());
            }
        }
        self.refresh(stale).await
    }
}

fn store(slot: &mut Option<Cached>, creds: Credentials) -> Arc<Credentials> {
    let creds = Arc::new(creds);
    *slot = Some(Cached { creds: creds.clone(), read_at: Instant::now(), failures: 0, retry_at: None });
    creds
}

fn too_stale() -> ApiError {
    ApiError::CredentialsUnavailable(
        "the credentials could not be re-read and the cached ones are past their grace period".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CACHE_AGE: Duration = Duration::from_secs(300);
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A source that answers from a script of results and counts reads.
    struct ScriptedSource {
        answers: Mutex<Vec<Result<Credentials, ApiError>>>,
        reads: AtomicUsize,
    }

    impl ScriptedSource {
        fn new(mut answers: Vec<Result<Credentials, ApiError>>) -> Self {
            answers.reverse();
            Self { answers: Mutex::new(answers), reads: AtomicUsize::new(0) }
        }
    }

    impl SecretSource for ScriptedSource {
        async fn fetch(&self) -> Result<Credentials, ApiError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.answers.lock().unwrap().pop().expect("no scripted answer left")
        }
    }

    fn c(secret: &str) -> Credentials {
        Credentials::new("key".into(), secret.into())
    }

    #[tokio::test]
    async fn read_once_then_cached() {
        let store = CredentialStore::new(ScriptedSource::new(vec![Ok(c("s1"))]), CACHE_AGE);
        let a = store.get().await.unwrap();
        let b = store.get().await.unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_read_is_not_cached() {
        let store = CredentialStore::new(
            ScriptedSource::new(vec![Err(ApiError::CredentialsUnavailable("down".into())), Ok(c("s1"))]),
            CACHE_AGE,
        );
        assert_eq!(store.get().await.unwrap_err().code(), "credentials_unavailable");
        assert_eq!(store.get().await.unwrap().secret(), b"s1");
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn refresh_rereads_once_and_keeps_a_newer_value() {
        let store = CredentialStore::new(ScriptedSource::new(vec![Ok(c("old")), Ok(c("new"))]), CACHE_AGE);
        let old = store.get().await.unwrap();
        let new = store.refresh(&old).await.unwrap();
        assert_eq!(new.secret(), b"new");
        let again = store.refresh(&old).await.unwrap();
        assert!(Arc::ptr_eq(&new, &again), "a second refresh for the same stale value does not read again");
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failed_refresh_drops_the_stale_value() {
        let store = CredentialStore::new(
            ScriptedSource::new(vec![Ok(c("old")), Err(ApiError::CredentialsUnavailable("down".into())), Ok(c("new"))]),
            CACHE_AGE,
        );
        let old = store.get().await.unwrap();
        assert!(store.refresh(&old).await.is_err());
        assert_eq!(store.get().await.unwrap().secret(), b"new");
    }

    #[tokio::test(start_paused = true)]
    async fn credentials_are_read_again_after_the_max_age_and_kept_if_that_fails() {
        let store = CredentialStore::new(
            ScriptedSource::new(vec![
                Ok(c("first")),
                Ok(c("rotated")),
                Err(ApiError::CredentialsUnavailable("down".into())),
            ]),
            Duration::from_secs(60),
        );
        assert_eq!(store.get().await.unwrap().secret(), b"first");
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(store.get().await.unwrap().secret(), b"first");
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(store.get().await.unwrap().secret(), b"rotated");
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(store.get().await.unwrap().secret(), b"rotated", "a failed re-read keeps the cached value");
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_rereads_back_off_and_stale_credentials_expire() {
        let down = || Err(ApiError::CredentialsUnavailable("down".into()));
        let mut script = vec![Ok(c("first"))];
        script.extend((0..40).map(|_| down()));
        let store = CredentialStore::new(ScriptedSource::new(script), Duration::from_secs(60));
        let reads = || store.source.reads.load(Ordering::SeqCst);
        assert_eq!(store.get().await.unwrap().secret(), b"first");
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(store.get().await.unwrap().secret(), b"first", "stale, within the grace period");
        assert_eq!(reads(), 2);
        for _ in 0..10 {
            assert!(store.get().await.is_ok());
        }
        assert_eq!(reads(), 2, "no re-read during the backoff");
        tokio::time::advance(FIRST_REREAD_BACKOFF).await;
        assert!(store.get().await.is_ok());
        assert_eq!(reads(), 3, "one re-read once the backoff has passed");
        tokio::time::advance(FIRST_REREAD_BACKOFF).await;
        assert!(store.get().await.is_ok());
        assert_eq!(reads(), 3, "the second backoff is twice as long");
        tokio::time::advance(STALE_GRACE).await;
        let err = store.get().await.unwrap_err();
        assert_eq!(err.code(), "credentials_unavailable", "past the grace period the stale secret is not used");
        let before = reads();
        assert!(store.get().await.is_err());
        assert_eq!(reads(), before, "and still no re-read per request");
    }

    /// A source whose read waits until the test lets it finish, counting the reads begun.
    struct GatedSource {
        reads: AtomicUsize,
        gate: tokio::sync::Semaphore,
    }

    impl Default for GatedSource {
        fn default() -> Self {
            Self { reads: AtomicUsize::new(0), gate: tokio::sync::Semaphore::new(0) }
        }
    }

    impl SecretSource for GatedSource {
        async fn fetch(&self) -> Result<Credentials, ApiError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.gate.acquire().await.expect("the gate stays open").forget();
            Ok(c("s"))
        }
    }

    /// Eight callers arrive while the first read is still pending (the read waits until every
    /// caller has run as far as it can): they wait for that read instead of starting their own.
    #[tokio::test]
    async fn concurrent_first_reads_share_one_fetch() {
        let store = Arc::new(CredentialStore::new(GatedSource::default(), CACHE_AGE));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let s = store.clone();
                tokio::spawn(async move { s.get().await.unwrap() })
            })
            .collect();
        // One thread: each spawned caller runs while this task yields, until it waits.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        let begun_while_pending = store.source.reads.load(Ordering::SeqCst);
        store.source.gate.add_permits(8);
        for h in handles {
            assert_eq!(h.await.unwrap().secret(), b"s");
        }
        assert_eq!(begun_while_pending, 1, "the callers waited for the one read in flight");
        assert_eq!(store.source.reads.load(Ordering::SeqCst), 1);
    }
}
