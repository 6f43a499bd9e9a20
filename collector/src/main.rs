//! `goaltag-collector serve`: the reference collector as a command.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Reference collector for the goaltag conversion tag.
///
/// Accepts beacons at POST /collect (the goaltag wire format, version 1),
/// validates them, and stores every event once in SQLite (the event ID is the
/// primary key, so a retried or re-beaconed event is stored once). Answers
/// GET /health, and serves a static folder (the demo shop) at /.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the HTTP server.
    Serve {
        /// Address to listen on; port 0 picks a free port (printed at start).
        #[arg(long, env = "GOALTAG_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// SQLite database file; created with its folder if missing.
        #[arg(long, env = "GOALTAG_DB", default_value = "data/events.db")]
        db: PathBuf,
        /// Folder of static files to serve at / (for example the demo shop in www/).
        #[arg(long, env = "GOALTAG_WWW")]
        www: Option<PathBuf>,
        /// Origin allowed to send beacons from a browser (repeat, or comma-separate
        /// in GOALTAG_ALLOWED_ORIGINS). None given: any origin. The site key is not a
        /// secret; this only keeps other sites' pages from posting with browsers.
        #[arg(long = "allowed-origin", env = "GOALTAG_ALLOWED_ORIGINS", value_delimiter = ',')]
        allowed_origins: Vec<String>,
        /// Largest accepted request body in bytes.
        #[arg(long, default_value_t = 128 * 1024)]
        max_body_bytes: usize,
        /// Most events accepted in one batch.
        #[arg(long, default_value_t = 500)]
        max_events: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let Cmd::Serve { listen, db, www, allowed_origins, max_body_bytes, max_events } = Cli::parse().cmd;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("goaltag collector listening on http://{}/", listener.local_addr()?);
    let cfg = goaltag_collector::Config {
        db,
        www,
        allowed_origins,
        max_body_bytes,
        max_events,
        ..Default::default()
    };
    goaltag_collector::serve(listener, cfg).await
}
