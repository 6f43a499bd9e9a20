//! What the collector's integration tests share: a router on a free loopback
//! port that stops when its [`Server`] is dropped, and an HTTP client whose
//! every request is bounded in time.
#![allow(dead_code)] // each test file uses its own part of it

use std::path::PathBuf;
use std::time::Duration;

/// Longest any one request of a test may take.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A running collector: its address, its database, and its temp folder,
/// which lives as long as it does.
pub struct Server {
    pub base: String,
    pub db: PathBuf,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Server {
    /// Serves `app`, whose database is `db` inside `dir`.
    pub fn serve(app: axum::Router, db: PathBuf, dir: tempfile::TempDir) -> Server {
        let (base, stop) = spawn(move || app);
        Server { base, db, stop: Some(stop), _dir: dir }
    }
}

/// Serves the router `app` builds on a free loopback port until the sender is dropped.
pub fn spawn(app: impl FnOnce() -> axum::Router + Send + 'static) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, app())
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    (format!("http://{addr}"), stop)
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(TIMEOUT).build()
}

/// `data` as one gzip member, as the tag's `CompressionStream('gzip')` sends it.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A decompression bomb: `mib` MiB of zeros as one valid gzip member (about
/// 1 KB per MiB, deflate's best ratio), written a MiB at a time.
pub fn zeros_bomb(mib: usize) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..mib {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap()
}
