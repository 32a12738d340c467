//! A minimal HTTP/1.1 server on 127.0.0.1:0 for failures the emulator cannot produce:
//! wrong bytes, connections cut mid-body, servers ignoring `Range`, and holding answers
//! to observe concurrency. One request per connection (`Connection: close`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    /// Lower-cased header names.
    pub headers: HashMap<String, String>,
}

/// What to answer.
pub enum Reply {
    /// A complete answer.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Announces `declared` bytes, sends `body`, then closes the connection.
    Cut {
        headers: Vec<(String, String)>,
        declared: usize,
        body: Vec<u8>,
    },
    /// Announces `declared` bytes, sends `body`, then goes silent with the connection open.
    Stall {
        headers: Vec<(String, String)>,
        declared: usize,
        body: Vec<u8>,
    },
}

pub struct FakeServer {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf.len() - end;
    while body < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body += n;
    }
    Some(Seen { path, headers })
}

fn head(status: u16, headers: &[(String, String)], length: usize) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        _ => "Status",
    };
    let mut text =
        format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {length}\r\nConnection: close\r\n");
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// Serves `handler`'s replies until dropped.
pub async fn serve<F, Fut>(handler: F) -> FakeServer
where
    F: Fn(Seen, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler = Arc::new(handler);
    let log = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let Some(request) = read_request(&mut stream).await else {
                    return;
                };
                let index = {
                    let mut log = log.lock();
                    log.push(request.clone());
                    log.len() - 1
                };
                match handler(request, index).await {
                    Reply::Full {
                        status,
                        headers,
                        body,
                    } => {
                        let mut out = head(status, &headers, body.len());
                        out.extend_from_slice(&body);
                        let _ = stream.write_all(&out).await;
                    }
                    Reply::Cut {
                        headers,
                        declared,
                        body,
                    } => {
                        let mut out = head(200, &headers, declared);
                        out.extend_from_slice(&body);
                        let _ = stream.write_all(&out).await;
                    }
                    Reply::Stall {
                        headers,
                        declared,
                        body,
                    } => {
                        let mut out = head(200, &headers, declared);
                        out.extend_from_slice(&body);
                        let _ = stream.write_all(&out).await;
                        let _ = stream.flush().await;
                        // Held until the runtime of the test ends.
                        std::future::pending::<()>().await;
                    }
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    FakeServer { url, seen, task }
}
