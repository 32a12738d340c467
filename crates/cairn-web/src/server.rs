//! Serving a router on an already-bound listener, over HTTP or HTTPS, with graceful
//! shutdown.
//!
//! The caller binds the socket (port 0 in tests) and passes it in, so the address is known
//! before anything is spawned and no test has to poll for readiness. Each connection's peer
//! address is attached to its requests as `ConnectInfo<SocketAddr>`, which is where the
//! client IP in audit events comes from.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::error::WebError;

/// How long shutdown waits for in-flight requests before dropping connections.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server.
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish (up to a limit), and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Waits until the server stops (after the `shutdown` future given to [`serve`]
    /// resolves).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Loads a PEM certificate chain and private key into a TLS server configuration.
///
/// # Errors
/// [`WebError::Tls`] when the files cannot be read or do not match.
pub fn load_tls(cert_file: &Path, key_file: &Path) -> Result<Arc<ServerConfig>, WebError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls_error = |what: String| {
        move |e: rustls::pki_types::pem::Error| WebError::Tls(format!("{what}: {e}"))
    };
    let certs = CertificateDer::pem_file_iter(cert_file)
        .map_err(tls_error(format!("reading {}", cert_file.display())))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(tls_error(format!("parsing {}", cert_file.display())))?;
    if certs.is_empty() {
        return Err(WebError::Tls(format!(
            "{} contains no certificate",
            cert_file.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(tls_error(format!("reading {}", key_file.display())))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| WebError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| WebError::Tls(format!("certificate and key do not match: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router` on `listener` (with TLS when `tls` is given) until `shutdown` resolves
/// or [`RunningServer::shutdown`] is called.
///
/// # Errors
/// When the listener's address cannot be read.
pub fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<RunningServer, WebError> {
    let local_addr = listener.local_addr().map_err(|source| WebError::Io {
        context: "reading the listener address".into(),
        source,
    })?;
    let (stop, mut stopped) = watch::channel(false);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                _ = stopped.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Usually EMFILE or a reset during accept; back off a little.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let router = router.clone().map_request(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                },
            );
            let service = TowerToHyperService::new(router);
            let acceptor = acceptor.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let builder = Builder::new(TokioExecutor::new());
                let result = match acceptor {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls_stream) => {
                            let connection = builder
                                .serve_connection_with_upgrades(TokioIo::new(tls_stream), service);
                            watcher.watch(connection.into_owned()).await
                        }
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                    },
                    None => {
                        let connection =
                            builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        watcher.watch(connection.into_owned()).await
                    }
                };
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
        drop(listener);
        if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("in-flight requests did not finish in time; closing connections");
        }
    });
    Ok(RunningServer {
        local_addr,
        stop,
        task,
    })
}

/// The base URL for a server listening on `addr`, as clients on this machine reach it.
#[must_use]
pub fn local_base_url(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let host = match addr.ip() {
        ip if ip.is_unspecified() => "localhost".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    format!("{scheme}://{host}:{}", addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let v4: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(local_base_url(v4, false), "http://127.0.0.1:8080");
        let any: SocketAddr = "0.0.0.0:443".parse().unwrap();
        assert_eq!(local_base_url(any, true), "https://localhost:443");
        let v6: SocketAddr = "[::1]:9000".parse().unwrap();
        assert_eq!(local_base_url(v6, false), "http://[::1]:9000");
    }

    #[tokio::test]
    async fn serves_until_shut_down_and_reports_the_peer() {
        use axum::routing::get;
        let router = Router::new().route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(listener, router, None, std::future::pending()).unwrap();
        let url = local_base_url(server.local_addr, false);
        let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
        assert_eq!(body, "127.0.0.1");
        server.shutdown().await;
        assert!(
            reqwest::get(&url).await.is_err(),
            "stopped servers refuse connections"
        );
    }
}
