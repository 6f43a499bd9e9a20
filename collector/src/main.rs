//! `goaltag-collector serve`: the reference collector as a command.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Reference collector for the goaltag conversion tag.
///
/// Accepts beacons at POST /collect (the goaltag wire format, version 1),
/// validates them, and stores every event once in SQLite: the event ID is the
/// primary key, so a retried or re-beaconed event is stored once. Answers
/// GET /health, and serves a static folder (the demo shop) at /.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

const SERVE_MANUAL: &str = "\
ENDPOINTS
  POST /collect   A batch as JSON, any content type (the tag sends text/plain so
                  that browsers need no preflight). Answers 200
                  {\"stored\":n,\"duplicates\":m}; 400 {\"error\":\"events[3].id: not a UUID\"}
                  when invalid and 413 when too large (nothing of a refused batch
                  is stored); 503 with Retry-After: 1 when the write queue is full.
  GET /health     {\"status\":\"ok\"} while the writer is running.
  GET /report     The report as JSON (?site=&from=YYYY-MM-DD&to=&funnel=/,/cart.html);
                  GET /dashboard shows it with charts; see 'report --help'.
  POST /import    Offline conversions (?site=), CSV or JSON lines; see 'import --help'.
                  Reports and imports have no authentication: keep them private.
  GET /...        Files from --www (folders answer index.html).

STORAGE
  One writer thread owns the SQLite file (WAL mode, synchronous=FULL): a batch
  that got a 200 survives a crash or power loss. Tables: events (one row per
  event ID, with the whole event as json), batches (every accepted batch, its
  attempt number and the tag's dropped counts), rejections (every refused body
  and why). Read it while the collector runs, e.g.
    sqlite3 data/events.db 'select kind, url, json from events order by ts'

SECURITY
  The site key is not a secret and browsers cannot be authenticated: the origin
  list only stops other sites' pages from posting through visitors' browsers.

LOGS
  Structured logs go to stderr; RUST_LOG sets the level (default info, debug
  logs every stored batch). The first line on stdout is
  'goaltag collector listening on http://ADDR/'.

EXAMPLES
  goaltag-collector serve --www www
  goaltag-collector serve --listen 0.0.0.0:8080 --db /var/lib/goaltag/events.db \\
      --allowed-origin https://shop.example --allowed-origin https://www.shop.example
  GOALTAG_LISTEN=127.0.0.1:0 goaltag-collector serve   # any free port";

#[derive(Subcommand)]
enum Cmd {
    /// Start the HTTP server (stops cleanly on Ctrl-C or SIGTERM).
    #[command(after_long_help = SERVE_MANUAL)]
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
        /// Origin whose pages may send beacons, as scheme://host[:port] (repeat the
        /// flag, or comma-separate in GOALTAG_ALLOWED_ORIGINS). None given: any origin.
        #[arg(long = "allowed-origin", env = "GOALTAG_ALLOWED_ORIGINS", value_delimiter = ',', value_name = "ORIGIN")]
        allowed_origins: Vec<String>,
        /// Largest accepted request body in bytes; larger gets 413 (the tag splits the batch).
        #[arg(long, default_value_t = 128 * 1024)]
        max_body_bytes: usize,
        /// Most events accepted in one batch.
        #[arg(long, default_value_t = 500)]
        max_events: usize,
        /// Batches queued for or being written to the database; past this, 503 + Retry-After.
        #[arg(long, default_value_t = 64)]
        queue_capacity: usize,
    },
    /// Print the report as tables: the numbers GET /report and /dashboard show.
    #[command(after_long_help = goaltag_collector::report::CLI_MANUAL)]
    Report {
        /// SQLite database file the collector writes (opened read-only).
        #[arg(long, env = "GOALTAG_DB", default_value = "data/events.db")]
        db: PathBuf,
        /// Site key; may be left out when the database holds one site.
        #[arg(long)]
        site: Option<String>,
        /// First day, YYYY-MM-DD (UTC); default 29 days before --to.
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (UTC), included; default today.
        #[arg(long)]
        to: Option<String>,
        /// Funnel steps as comma-separated URL paths; default the demo shop's purchase path.
        #[arg(long)]
        funnel: Option<String>,
        /// Print the JSON of GET /report instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Import offline conversions (CSV with a header row, or JSON lines); see POST /import.
    #[command(after_long_help = goaltag_collector::import::CLI_MANUAL)]
    Import {
        /// SQLite database file the collector writes.
        #[arg(long, env = "GOALTAG_DB", default_value = "data/events.db")]
        db: PathBuf,
        /// Site key the rows belong to, as the tag sends it.
        #[arg(long)]
        site: String,
        /// The file; its first character tells JSON lines ({) from CSV.
        file: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let (listen, db, www, allowed_origins, max_body_bytes, max_events, queue_capacity) = match Cli::parse().cmd {
        Cmd::Serve { listen, db, www, allowed_origins, max_body_bytes, max_events, queue_capacity } => {
            (listen, db, www, allowed_origins, max_body_bytes, max_events, queue_capacity)
        }
        Cmd::Report { db, site, from, to, funnel, json } => {
            let params = [("site", site), ("from", from), ("to", to), ("funnel", funnel)];
            let given = params.iter().filter_map(|(k, v)| Some((*k, v.as_deref()?)));
            print!("{}", goaltag_collector::report::cli(&db, given, json)?);
            return Ok(());
        }
        Cmd::Import { db, site, file } => {
            println!("{}", goaltag_collector::import::cli(&db, &site, &file)?);
            return Ok(());
        }
    };
    let cfg = goaltag_collector::Config {
        db,
        www,
        allowed_origins: allowed_origins.iter().map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect(),
        max_body_bytes,
        max_events,
        queue_capacity,
    };
    tracing::info!(db = %cfg.db.display(), www = ?cfg.www, origins = ?cfg.allowed_origins, "starting");
    // Database and folders first, so the "listening" line means ready.
    let app = goaltag_collector::router(cfg)?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("goaltag collector listening on http://{}/", listener.local_addr()?);
    axum::serve(listener, app).with_graceful_shutdown(stop_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
