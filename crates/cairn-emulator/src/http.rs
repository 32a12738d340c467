//! Serving an emulator's router over plain HTTP or HTTPS on an already-bound listener.
//!
//! The caller binds the socket (port 0 in tests) before anything is spawned, so the base
//! URL is known and reachable the moment [`serve`] returns: no readiness polling.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running server. Dropping it does not stop the server; call [`RunningServer::shutdown`].
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub local_addr: SocketAddr,
    /// `http://127.0.0.1:PORT` or `https://localhost:PORT` (the certificate names
    /// `localhost`, so HTTPS URLs use it).
    pub base_url: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Serves `router` on `listener`, with TLS when `tls` is given.
///
/// # Errors
/// Returns the IO error if the listener's local address cannot be read.
pub fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<ServerConfig>>,
) -> std::io::Result<RunningServer> {
    let local_addr = listener.local_addr()?;
    let base_url = match (&tls, local_addr) {
        (Some(_), addr) => format!("https://localhost:{}", addr.port()),
        (None, SocketAddr::V4(addr)) => format!("http://{addr}"),
        (None, SocketAddr::V6(addr)) => format!("http://[{}]:{}", addr.ip(), addr.port()),
    };
    let (stop, mut stopped) = watch::channel(false);
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let task = tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                _ = stopped.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(router.clone());
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let builder = Builder::new(TokioExecutor::new());
                let result = match acceptor {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls_stream) => {
                            builder
                                .serve_connection_with_upgrades(TokioIo::new(tls_stream), service)
                                .await
                        }
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                    },
                    None => {
                        builder
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .await
                    }
                };
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
    });
    Ok(RunningServer {
        local_addr,
        base_url,
        stop,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::EmulatorTls;
    use axum::routing::get;

    #[tokio::test]
    async fn https_is_accepted_by_a_client_trusting_the_ca() {
        let tls = EmulatorTls::generate(&[]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca_path = tls.write_ca(dir.path()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(
            listener,
            Router::new().route("/", get(|| async { "hi" })),
            Some(tls.server_config),
        )
        .unwrap();

        let ca = reqwest::Certificate::from_pem(&std::fs::read(ca_path).unwrap()).unwrap();
        let trusting = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        let body = trusting
            .get(&server.base_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "hi");

        // A client without the CA must refuse the certificate.
        let plain = reqwest::Client::builder()
            .tls_built_in_root_certs(true)
            .build()
            .unwrap();
        assert!(plain.get(&server.base_url).send().await.is_err());
        server.shutdown().await;
    }

    #[tokio::test]
    async fn a_reloaded_ca_is_still_trusted_by_clients_of_the_first_one() {
        let dir = tempfile::tempdir().unwrap();
        let first = EmulatorTls::load_or_generate(dir.path(), &[]).unwrap();
        let second = EmulatorTls::load_or_generate(dir.path(), &[]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let key_file = dir.path().join(crate::tls::CA_KEY_FILE_NAME);
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the CA key is readable by its owner only");
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(
            listener,
            Router::new().route("/", get(|| async { "again" })),
            Some(second.server_config),
        )
        .unwrap();
        let ca = reqwest::Certificate::from_pem(first.ca_pem.as_bytes()).unwrap();
        let client = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        let body = client
            .get(&server.base_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "again");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn plain_http_serves_on_port_zero() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(
            listener,
            Router::new().route("/", get(|| async { "plain" })),
            None,
        )
        .unwrap();
        assert!(server.base_url.starts_with("http://127.0.0.1:"));
        let body = reqwest::get(&server.base_url)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "plain");
        server.shutdown().await;
    }
}
