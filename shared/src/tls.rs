//! One TLS client configuration per container, shared by every HTTPS client a function builds
//! (100ms, Secrets Manager, DynamoDB): the trust roots are loaded once, not once per client, and
//! the clients share one TLS session cache.
//!
//! Where the roots come from (chosen by measurement, BENCHMARKS.md "Over TLS"):
//! - by default Mozilla's, compiled in (webpki-roots): nothing to read or parse at a cold start;
//! - when `SSL_CERT_FILE` or `SSL_CERT_DIR` is set, exactly the certificates they name, in PEM, as
//!   OpenSSL reads them. That is how a deployment trusts a private CA (a proxy's, a test
//!   endpoint's): put the CA, with whatever public roots it still needs, in a file shipped with
//!   the function or in a layer and set `SSL_CERT_FILE` to its path. A file that cannot be read,
//!   or names no certificate, fails every HTTPS call with the reason, rather than trusting
//!   something else. Requests are answered 503 with the reason in the log:
//!   `credentials_unavailable` where the secret is read first, `events_table_unavailable` where
//!   the events table is (a signed-in caller's room owner, a webhook's event).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::{ClientConfig, RootCertStore};

/// Where the trust roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// Mozilla's root program, as compiled into the binary.
    Compiled,
    /// The PEM certificates in these files and directories (`SSL_CERT_FILE`, `SSL_CERT_DIR`).
    Files { file: Option<PathBuf>, dirs: Vec<PathBuf> },
}

impl Roots {
    /// The roots the environment asks for: the files `SSL_CERT_FILE` and `SSL_CERT_DIR` (`:`
    /// separated) name, when either is set and not empty, else the compiled-in ones. Read with
    /// the rest of the configuration (`Config::tls_roots`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| get(name).filter(|v| !v.is_empty());
        let file = set("SSL_CERT_FILE").map(PathBuf::from);
        let dirs: Vec<PathBuf> = set("SSL_CERT_DIR")
            .map(|v| v.split(':').filter(|d| !d.is_empty()).map(PathBuf::from).collect())
            .unwrap_or_default();
        if file.is_none() && dirs.is_empty() { Self::Compiled } else { Self::Files { file, dirs } }
    }

    fn store(&self) -> Result<RootCertStore, String> {
        let (file, dirs) = match self {
            Self::Compiled => return Ok(RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }),
            Self::Files { file, dirs } => (file.as_deref(), dirs),
        };
        let mut store = RootCertStore::empty();
        let mut load = |file: Option<&Path>, dir: Option<&Path>| {
            let found = rustls_native_certs::load_certs_from_paths(file, dir);
            if let Some(e) = found.errors.first() {
                return Err(format!("reading trust roots (SSL_CERT_FILE / SSL_CERT_DIR): {e}"));
            }
            store.add_parsable_certificates(found.certs);
            Ok(())
        };
        if file.is_some() {
            load(file, None)?;
        }
        for dir in dirs {
            load(None, Some(dir))?;
        }
        if store.is_empty() {
            return Err("no trust root in SSL_CERT_FILE / SSL_CERT_DIR".into());
        }
        Ok(store)
    }
}

/// A client configuration trusting `roots`, on aws-lc-rs, speaking HTTP/1.1 (every API the
/// functions call speaks it; the clients carry no HTTP/2).
pub fn client_config(roots: &Roots) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots.store()?)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The container's configuration trusting `roots` (the configuration's `tls_roots`), built on
/// first use. Clones share its verifier (the roots) and its session cache; an error is the
/// reason every HTTPS client fails. A container has one set of roots; roots other than the first
/// asked for (a test process trying several) get a configuration of their own, not shared.
pub fn shared_client_config(roots: &Roots) -> Result<ClientConfig, String> {
    static CONFIG: OnceLock<(Roots, Result<ClientConfig, String>)> = OnceLock::new();
    let (first, config) = CONFIG.get_or_init(|| (roots.clone(), client_config(roots)));
    if first == roots { config.clone() } else { client_config(roots) }
}

/// A reqwest client builder using the container's TLS configuration for `roots`, or why there
/// is none.
pub fn client_builder(roots: &Roots) -> Result<reqwest::ClientBuilder, String> {
    Ok(reqwest::Client::builder().tls_backend_preconfigured(shared_client_config(roots)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_environment_picks_the_roots() {
        assert_eq!(Roots::from_lookup(lookup(&[])), Roots::Compiled);
        assert_eq!(Roots::from_lookup(lookup(&[("SSL_CERT_FILE", ""), ("SSL_CERT_DIR", "")])), Roots::Compiled);
        assert_eq!(
            Roots::from_lookup(lookup(&[("SSL_CERT_FILE", "/opt/ca.pem")])),
            Roots::Files { file: Some("/opt/ca.pem".into()), dirs: vec![] }
        );
        assert_eq!(
            Roots::from_lookup(lookup(&[("SSL_CERT_DIR", "/a::/b")])),
            Roots::Files { file: None, dirs: vec!["/a".into(), "/b".into()] }
        );
    }

    #[test]
    fn compiled_roots_are_mozillas_and_the_client_speaks_http1() {
        assert!(Roots::Compiled.store().unwrap().len() > 100);
        let config = client_config(&Roots::Compiled).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn a_named_file_that_cannot_be_used_fails_instead_of_trusting_something_else() {
        let missing = Roots::Files { file: Some("/nonexistent/ca.pem".into()), dirs: vec![] };
        let err = client_config(&missing).unwrap_err();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");

        let empty = std::env::temp_dir().join(format!("no-certs-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(&Roots::Files { file: Some(empty.clone()), dirs: vec![] }).unwrap_err();
        std::fs::remove_file(&empty).unwrap();
        assert!(err.contains("no trust root"), "{err}");
    }
}
