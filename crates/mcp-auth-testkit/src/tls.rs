//! An https server on 127.0.0.1 with a test certificate, for what must be fetched over https:
//! client ID metadata documents (clients such as rmcp only send `https` client IDs), an
//! identity provider behind TLS.
//!
//! The certificate ([`LOCALHOST_CERT_PEM`], for `localhost`, `127.0.0.1` and `::1`, valid until
//! 2126) is issued by a test-only CA ([`CA_PEM`]), whose private key was thrown away after
//! signing. Trust [`CA_PEM`] in the client under test; nothing else trusts it.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() {
//! use mcp_auth_testkit::tls::{CA_PEM, serve_https};
//!
//! let router = axum::Router::new().route("/doc.json", axum::routing::get(|| async { "{}" }));
//! let addr = serve_https(router).await;
//! let client = reqwest::Client::builder()
//!     .tls_certs_only([reqwest::Certificate::from_pem(CA_PEM.as_bytes()).unwrap()])
//!     .build()
//!     .unwrap();
//! let url = format!("https://127.0.0.1:{}/doc.json", addr.port());
//! assert_eq!(client.get(url).send().await.unwrap().status(), 200);
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The test CA's certificate (PEM): trust it to accept [`serve_https`]'s certificate.
pub const CA_PEM: &str = include_str!("tls/ca.pem");

/// The server certificate (PEM) for `localhost`, `127.0.0.1` and `::1`, issued by [`CA_PEM`].
pub const LOCALHOST_CERT_PEM: &str = include_str!("tls/localhost.pem");

/// The server certificate's private key (PKCS#8 PEM). A test fixture: never trust it.
const LOCALHOST_KEY_PEM: &str = include_str!("tls/localhost.key");

/// Serves `router` over https (HTTP/1.1 and HTTP/2) on 127.0.0.1, on a free port, in a
/// background task; returns the bound address.
///
/// # Panics
///
/// When the port cannot be bound (the fixtures are known to parse).
pub async fn serve_https(router: axum::Router) -> SocketAddr {
    let cert = CertificateDer::from_pem_slice(LOCALHOST_CERT_PEM.as_bytes())
        .expect("the fixture certificate parses");
    let key = PrivateKeyDer::from_pem_slice(LOCALHOST_KEY_PEM.as_bytes())
        .expect("the fixture key parses");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the default protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("the fixture key matches its certificate");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let service = TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                // A client that fails the handshake (say, one that does not trust the CA)
                // just goes away; the test sees its error on the client side.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}
