//! `cargo bench -p hms-shared --bench tls_roots`: what each source of trust roots costs a cold
//! container, from nothing to a verifier ready for its first handshake.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(c: &mut Criterion) {
    let p = provider();
    c.bench_function("roots: compiled-in Mozilla (webpki-roots)", |b| {
        b.iter(|| {
            let store = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            WebPkiServerVerifier::builder_with_provider(Arc::new(store), p.clone()).build().unwrap()
        })
    });
    c.bench_function("roots: platform verifier, system store as probed", |b| {
        b.iter(|| rustls_platform_verifier::Verifier::new(p.clone()).unwrap())
    });
    let bundle = std::env::var("BENCH_CA_BUNDLE").unwrap_or("/etc/ssl/certs/ca-certificates.crt".into());
    // SAFETY: set before any other thread reads the environment (criterion runs on this one).
    unsafe { std::env::set_var("SSL_CERT_FILE", &bundle) };
    c.bench_function("roots: platform verifier, SSL_CERT_FILE bundle", |b| {
        b.iter(|| rustls_platform_verifier::Verifier::new(p.clone()).unwrap())
    });
    c.bench_function("roots: native certs parsed, SSL_CERT_FILE bundle", |b| {
        b.iter(|| {
            let certs = rustls_native_certs::load_native_certs().certs;
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(black_box(certs));
            WebPkiServerVerifier::builder_with_provider(Arc::new(store), p.clone()).build().unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = roots
}
criterion_main!(benches);
