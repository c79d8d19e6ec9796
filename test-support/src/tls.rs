//! HTTPS on the loopback as on AWS: a certificate authority made for the run, and TLS endpoints
//! in front of plain-HTTP services (moto, dynalite, the emulator) that count the handshakes they
//! complete. The functions trust the CA the way they trust roots anywhere: through
//! `SSL_CERT_FILE` naming a PEM bundle that holds it (`TestCa::write_bundle`), verification on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// A CA generated for this run, and the server certificate it signed for `127.0.0.1` and
/// `localhost`.
pub struct TestCa {
    ca_pem: String,
    server: Arc<ServerConfig>,
}

impl TestCa {
    pub fn generate() -> Self {
        let mut ca = CertificateParams::default();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "hms-lambda test CA (one run)");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

        let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        leaf.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_cert = leaf.signed_by(&leaf_key, &ca).unwrap();

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf_cert.der().clone(), ca.der().clone()], key)
            .unwrap();
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self { ca_pem: ca.pem(), server: Arc::new(server) }
    }

    /// Writes a PEM bundle for `SSL_CERT_FILE`: the CA, after the certificates of `base` if given
    /// (a system bundle, to make the roots as many as a real one holds).
    pub fn write_bundle(&self, path: &std::path::Path, base: Option<&std::path::Path>) -> std::io::Result<()> {
        let mut bundle = match base {
            Some(base) => std::fs::read_to_string(base)?,
            None => String::new(),
        };
        if !bundle.is_empty() && !bundle.ends_with('\n') {
            bundle.push('\n');
        }
        bundle.push_str(&self.ca_pem);
        std::fs::write(path, bundle)
    }
}

/// A TLS endpoint on the loopback forwarding each connection, decrypted, to a plain-HTTP
/// service, one backend connection per client connection (so keep-alive is the client's and the
/// service's, as through a load balancer that keeps a connection per client).
pub struct TlsFront {
    pub port: u16,
    handshakes: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl TlsFront {
    /// An endpoint for `backend` (`http://host:port` or `host:port`) with `ca`'s certificate.
    pub async fn start(ca: &TestCa, backend: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let backend = backend.trim_start_matches("http://").trim_end_matches('/').to_string();
        let acceptor = TlsAcceptor::from(ca.server.clone());
        let handshakes = Arc::new(AtomicU64::new(0));
        let counted = handshakes.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { continue };
                // No Nagle delay on either leg: the handshake's flights and the forwarded
                // answers go out as written, as from a real endpoint (otherwise delayed ACKs
                // add tens of milliseconds to the first request).
                let _ = client.set_nodelay(true);
                let (acceptor, backend, counted) = (acceptor.clone(), backend.clone(), counted.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(client).await else { return };
                    counted.fetch_add(1, Ordering::SeqCst);
                    let Ok(mut service) = TcpStream::connect(&backend).await else { return };
                    let _ = service.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut service).await;
                });
            }
        });
        Self { port, handshakes, task }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// TLS handshakes completed so far (full or resumed: each is a new connection's setup).
    pub fn handshakes(&self) -> u64 {
        self.handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
