//! `goaltag-collector serve`: the reference collector as a command.

#![deny(missing_docs)]

use clap::{Args, Parser, Subcommand, ValueEnum};
use goaltag_collector::config::parse_duration;
use goaltag_collector::origins::SiteOrigin;
use goaltag_collector::Database;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Reference collector for the goaltag conversion tag.
///
/// Accepts beacons at POST /collect (the goaltag wire format, version 1),
/// validates them, and stores every event once in SQLite or PostgreSQL: the
/// event ID is the primary key, so a retried or re-beaconed event is stored
/// once. Answers GET /health, and serves a static folder (the demo shop) at /.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// Log lines as human-readable text, or one JSON object per line for a log shipper.
    #[arg(long, global = true, env = "GOALTAG_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

const SERVE_MANUAL: &str = "\
ENDPOINTS
  POST /collect   A batch as JSON, any content type (the tag sends text/plain so
                  that browsers need no preflight), or, with ?c=gzip on the URL,
                  the JSON as one gzip member (the tag's CompressionStream; no
                  Content-Encoding header, which would cost a preflight). The
                  query decides, never the bytes: with c=gzip the body must
                  start with the gzip magic 1f 8b; without it a body is JSON,
                  whatever it starts with. Answers 200
                  {\"stored\":n,\"duplicates\":m}, or {\"error\":\"reason\"} with
                  400  invalid; the reason names the field: \"events[3].id: not a UUID\";
                       also c other than gzip (or twice), c=gzip without the
                       magic, a truncated or corrupt gzip stream (CRC, length),
                       and bytes after the gzip member (one member is accepted)
                  403  the page's Origin may not send for this site (--site-origin)
                  413  body larger than --max-body-bytes (the tag splits the batch);
                       c=gzip decoding to more than --max-decoded-bytes, or, past
                       64 KiB, to more than 200 times its size (a bomb). Decoding
                       stops at the cap: a bomb costs at most the cap in memory.
                  429  rate limit; Retry-After says how many seconds to wait
                  503  write queue full; Retry-After: 1
                  Nothing of a refused batch is stored: a batch is stored whole or
                  not at all.
  GET /health     {\"status\":\"ok\"} while batches can be stored (SQLite: the
                  writer runs; PostgreSQL: the database answers), else 503.
  GET /report     The report as JSON (?site=&from=YYYY-MM-DD&to=&funnel=/,/cart.html);
                  GET /dashboard shows it with charts; see 'report --help'.
  POST /import    Offline conversions (?site=), CSV or JSON lines; see 'import --help'.
  POST /spend     Ad spend (?site=): a platform's report file; see 'spend --help'.
  GET /export     Upload files for the ad platforms (?site=&platform=); see 'export --help'.
                  /report, /dashboard, /import, /spend and /export are open unless
                  --admin-token is set; then they need 'Authorization: Bearer
                  TOKEN', or the cookie the form at /login sets (the dashboard).
                  The collector warns at start when it listens beyond
                  loopback without a token.
  GET /...        Files from --www (folders answer index.html).

LIMITS (each refusal says which field and why)
  body            --max-body-bytes (264 KiB)          413
                  as received: the tag's largest plain batch, 256 KiB of JSON
                  from browsers without CompressionStream, plus 8 KiB for the
                  batch's envelope
  decoded body    --max-decoded-bytes (1 MiB)         413
                  a c=gzip body once decoded: four times the tag's largest
                  batch, while a bomb costs at most 1 MiB and milliseconds;
                  past 64 KiB decoded, also at most 200 times the compressed
                  size (the tag's batches compress 8 to 12 times)
  events/batch    1 to --max-events (500)             400 for none,
                                                      413 for more (the tag
                                                      splits the batch)
  text fields     2048 characters, URLs 4096; nested fields and map keys too
  value           finite, within +-1e12; currency: 3 letters; attempt >= 1
  ts              within --max-event-age (7d) before and --max-event-ahead (1h)
                  after receipt, placed on the collector's clock through the
                  batch's sent_at (the same browser clock), so a visitor's
                  wrong clock does not get their batches refused.

ORIGINS
  --allowed-origin lists the pages that may send at all (CORS and a server-side
  check of the Origin header: a listed-out origin gets 403, not just an
  unreadable answer). --site-origin SITE=ORIGIN narrows one site key to its own
  pages; sites not named there use --allowed-origin (any origin when that is
  empty). A request without an Origin header is not from a browser and is let
  through.
  The site key is not a secret and browsers cannot be authenticated: a script
  can send any Origin. The checks make abuse expensive (no borrowing other
  sites' visitors; forgers meet the rate limits), they do not prove who sent.

RATE LIMITS (token buckets, 429 + Retry-After in whole seconds)
  per client IP   --ip-rate requests/s (100), --ip-burst (1000); IPv6 per /64;
                  checked before the body is parsed
  per site key    --site-rate events/s (5000), --site-burst (100000)
  A rate of 0 turns a limit off. Both sit far above a real shop's traffic.
  Memory is bounded: refilled buckets are dropped, and past --rate-limit-keys
  (100000) new IPs or site keys share one bucket. Behind a reverse proxy pass
  --trust-forwarded-for, or every visitor is the proxy's address.

STORAGE AND DURABILITY
  --db is a SQLite file (the default, data/events.db) or a PostgreSQL URL
  (postgres://user:password@host:5432/database; the database must exist, the
  collector creates and migrates its tables at start).
  SQLite: one writer thread owns the file (WAL mode, synchronous=FULL).
  Batches that arrive together share one transaction; its commit fsyncs the
  WAL before any of them is answered.
  PostgreSQL: each batch is one transaction (INSERT ... ON CONFLICT (id) DO
  NOTHING) on a pooled connection with synchronous_commit=on, so any number
  of collectors can share one database: an event sent to two of them at once
  is stored once. Rate limits are per collector.
  Either way a 2xx means the batch is on disk and survives the collector
  being killed (kill -9) or the machine losing power (on a disk that honours
  flushes). A batch whose answer was lost may or may not be stored; the tag
  resends it with the same event IDs and the ID is the primary key, so it is
  stored once either way. Tables: events (one row per event ID, with the
  whole event as json), batches (every accepted batch, its attempt number and
  the tag's dropped counts), rejections (every refused body and why; 429s are
  only counted in the log), imports (see 'import --help'), exports (see
  'export --help'). Read them while the collector runs:
    sqlite3 data/events.db 'select kind, url, json from events order by ts'
    psql \"$GOALTAG_DB\" -c 'select kind, url, json from events order by ts'

LOGS
  Structured logs go to stderr; RUST_LOG sets the level (default info, debug
  logs every stored batch); --log-format json writes one JSON object a line.
  The first line on stdout is 'goaltag collector listening on http://ADDR/'.

EXAMPLES
  goaltag-collector serve --www www
  goaltag-collector serve --listen 0.0.0.0:8080 --db /var/lib/goaltag/events.db \\
      --allowed-origin https://shop.example --allowed-origin https://www.shop.example
  goaltag-collector serve --db postgres://goaltag:secret@db.internal/goaltag \\
      --listen 0.0.0.0:8080 --trust-forwarded-for   # one of N behind a proxy
  goaltag-collector serve --site-origin demo-shop=https://shop.example \\
      --site-origin blog=https://blog.example --trust-forwarded-for --log-format json
  GOALTAG_LISTEN=127.0.0.1:0 goaltag-collector serve   # any free port";

#[derive(Subcommand)]
enum Cmd {
    /// Start the HTTP server (stops cleanly on Ctrl-C or SIGTERM).
    #[command(after_long_help = SERVE_MANUAL)]
    Serve {
        /// Address to listen on; port 0 picks a free port (printed at start).
        #[arg(long, env = "GOALTAG_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// SQLite database file (created with its folder if missing), or a
        /// PostgreSQL URL, postgres://user:password@host:port/database.
        #[arg(long, env = "GOALTAG_DB", hide_env_values = true, default_value = "data/events.db", value_name = "FILE|URL")]
        db: Database,
        /// Most connections to PostgreSQL this collector keeps open (not used with SQLite).
        #[arg(long, env = "GOALTAG_DB_CONNECTIONS", default_value_t = 16, value_name = "N")]
        db_connections: usize,
        /// Folder of static files to serve at / (for example the demo shop in www/).
        #[arg(long, env = "GOALTAG_WWW")]
        www: Option<PathBuf>,
        /// Origin whose pages may send beacons, as scheme://host[:port] (repeat the
        /// flag, or comma-separate in GOALTAG_ALLOWED_ORIGINS). None given: any origin.
        #[arg(long = "allowed-origin", env = "GOALTAG_ALLOWED_ORIGINS", value_delimiter = ',', value_name = "ORIGIN")]
        allowed_origins: Vec<String>,
        /// Largest accepted request body in bytes; larger gets 413 (the tag splits the batch).
        #[arg(long, env = "GOALTAG_MAX_BODY_BYTES", default_value_t = goaltag_collector::ingest::DEFAULT_MAX_BODY_BYTES)]
        max_body_bytes: usize,
        /// Largest body once decoded (POST /collect?c=gzip); more gets 413, and
        /// decoding stops there.
        #[arg(long, env = "GOALTAG_MAX_DECODED_BYTES", default_value_t = goaltag_collector::decode::DEFAULT_MAX_DECODED_BYTES)]
        max_decoded_bytes: usize,
        /// Most events accepted in one batch.
        #[arg(long, env = "GOALTAG_MAX_EVENTS", default_value_t = goaltag_collector::ingest::DEFAULT_MAX_EVENTS)]
        max_events: usize,
        /// Batches queued for or being written to the database; past this, 503 + Retry-After.
        /// (PostgreSQL: batches waiting for or using a connection.)
        #[arg(long, env = "GOALTAG_QUEUE_CAPACITY", default_value_t = 64)]
        queue_capacity: usize,
        /// Puts /report, /dashboard, /import, /spend and /export behind this token (16 to
        /// 256 characters; make one with: openssl rand -hex 32). Without it they are open.
        #[arg(long, env = "GOALTAG_ADMIN_TOKEN", hide_env_values = true, value_name = "TOKEN")]
        admin_token: Option<String>,
        /// The site's goal configuration (the tag's data-config JSON, like
        /// www/goals.json): goal names and the attribution window for /export.
        #[arg(long, env = "GOALTAG_GOALS", value_name = "FILE")]
        goals: Option<PathBuf>,
        /// Keep the client's IP address with conversions whose consent
        /// granted ad_user_data, and send it to Meta as client_ip_address.
        /// Off by default: an IP address is personal data (see docs/collector.md).
        #[arg(long, env = "GOALTAG_KEEP_CLIENT_IP")]
        keep_client_ip: bool,
        /// Days a conversion's hashed email and phone (enhanced conversions'
        /// user_data) are kept after receipt, for the exports; older ones are
        /// erased at start and every hour (see docs/enhanced-conversions.md).
        #[arg(long, env = "GOALTAG_USER_DATA_DAYS", value_name = "DAYS", default_value_t = goaltag_collector::store::DEFAULT_USER_DATA_DAYS)]
        user_data_days: u32,
        #[command(flatten)]
        guard: GuardArgs,
    },
    /// Print the report as tables: the numbers GET /report and /dashboard show.
    #[command(after_long_help = goaltag_collector::report::CLI_MANUAL)]
    Report {
        /// The collector's database: SQLite file (opened read-only) or PostgreSQL URL.
        #[arg(long, env = "GOALTAG_DB", hide_env_values = true, default_value = "data/events.db", value_name = "FILE|URL")]
        db: Database,
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
        /// Attribution model: last_non_direct (default), last_touch, first_touch,
        /// linear, position_based, time_decay or data_driven.
        #[arg(long)]
        model: Option<String>,
        /// Attribution level: network, campaign (default), ad_group or keyword.
        #[arg(long)]
        by: Option<String>,
        /// Days of visits before a conversion that make its path, 1 to 90 (default 30).
        #[arg(long)]
        lookback_days: Option<String>,
        /// The utm_* parameter that names the ad group (default utm_content).
        #[arg(long, env = "GOALTAG_AD_GROUP_PARAM")]
        ad_group_param: Option<String>,
        /// Print the JSON of GET /report instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Import offline conversions (CSV with a header row, or JSON lines); see POST /import.
    #[command(after_long_help = goaltag_collector::import::CLI_MANUAL)]
    Import {
        /// The collector's database: SQLite file or PostgreSQL URL.
        #[arg(long, env = "GOALTAG_DB", hide_env_values = true, default_value = "data/events.db", value_name = "FILE|URL")]
        db: Database,
        /// Site key the rows belong to, as the tag sends it.
        #[arg(long)]
        site: String,
        /// The file; its first character tells JSON lines ({) from CSV.
        file: PathBuf,
    },
    /// Import ad spend from the platforms' report files (see POST /spend, docs/spend.md).
    #[command(after_long_help = goaltag_collector::spend::cli::CLI_MANUAL)]
    Spend {
        /// The collector's database: SQLite file or PostgreSQL URL.
        #[arg(long, env = "GOALTAG_DB", hide_env_values = true, default_value = "data/events.db", value_name = "FILE|URL")]
        db: Database,
        /// Site key the spend belongs to, as the tag sends it.
        #[arg(long)]
        site: String,
        /// The report files, imported one by one (each whole or not at all).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write an ad platform's offline-conversion upload file (see GET /export).
    #[command(after_long_help = goaltag_collector::export::CLI_MANUAL)]
    Export {
        /// The collector's database: SQLite file or PostgreSQL URL.
        #[arg(long, env = "GOALTAG_DB", hide_env_values = true, default_value = "data/events.db", value_name = "FILE|URL")]
        db: Database,
        /// Site key.
        #[arg(long)]
        site: String,
        /// microsoft-ads, google-ads or meta.
        #[arg(long)]
        platform: String,
        /// A goal ID, or GOAL:STAGE for an imported CRM stage (repeatable); default: the primary goals.
        #[arg(long = "goal", value_name = "GOAL[:STAGE]")]
        goals: Vec<String>,
        /// First day of the conversion time, YYYY-MM-DD (UTC); default: no limit.
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (UTC), included; default: no limit.
        #[arg(long)]
        to: Option<String>,
        /// GOAL=Conversion name as the platform knows it (repeatable); default: the goal's name.
        #[arg(long = "name", value_name = "GOAL=NAME")]
        names: Vec<String>,
        /// Attribution window in days after the click; default: the goals file's, else 30.
        #[arg(long, value_name = "DAYS")]
        window_days: Option<String>,
        /// The site's goal configuration (the tag's data-config JSON): goal names, primary flags, window.
        #[arg(long = "goals", env = "GOALTAG_GOALS", value_name = "FILE")]
        goals_file: Option<PathBuf>,
        /// Leave out what was exported to this platform before.
        #[arg(long)]
        since_last: bool,
        /// Write the file here instead of to stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// What keeps bad and abusive traffic out: time window, per-site origins, rate limits.
#[derive(Args)]
struct GuardArgs {
    /// Refuse events stamped longer ago than this (a number and a unit: 7d, 12h, 90s). The tag
    /// itself gives up on events after 24 h, or its max_age_hours (at most 7 d).
    #[arg(long, env = "GOALTAG_MAX_EVENT_AGE", default_value = goaltag_collector::config::DEFAULT_MAX_EVENT_AGE, value_parser = parse_duration, value_name = "DURATION")]
    max_event_age: Duration,
    /// Refuse events stamped further ahead of receipt than this (event times
    /// are corrected for the browser's clock through the batch's sent_at).
    #[arg(long, env = "GOALTAG_MAX_EVENT_AHEAD", default_value = "1h", value_parser = parse_duration, value_name = "DURATION")]
    max_event_ahead: Duration,
    /// SITE=ORIGIN: batches for SITE are stored only when sent from pages on
    /// ORIGIN (repeat for more; comma-separate in GOALTAG_SITE_ORIGINS). Other
    /// sites fall back to --allowed-origin. A wrong Origin gets 403.
    #[arg(long = "site-origin", env = "GOALTAG_SITE_ORIGINS", value_delimiter = ',', value_name = "SITE=ORIGIN")]
    site_origins: Vec<SiteOrigin>,
    /// Requests per second one client IP may send (IPv6: per /64); 0 turns the limit off.
    #[arg(long, env = "GOALTAG_IP_RATE", default_value_t = 100, value_name = "N")]
    ip_rate: u32,
    /// Requests one client IP may send at once above --ip-rate.
    #[arg(long, env = "GOALTAG_IP_BURST", default_value_t = 1000, value_name = "N")]
    ip_burst: u32,
    /// Events per second one site key may send; 0 turns the limit off.
    #[arg(long, env = "GOALTAG_SITE_RATE", default_value_t = 5000, value_name = "N")]
    site_rate: u32,
    /// Events one site key may send at once above --site-rate (at least --max-events).
    #[arg(long, env = "GOALTAG_SITE_BURST", default_value_t = 100_000, value_name = "N")]
    site_burst: u32,
    /// Most client IPs (and site keys) with their own bucket; past this, new
    /// ones share one bucket, so memory stays bounded under address spraying.
    #[arg(long, env = "GOALTAG_RATE_LIMIT_KEYS", default_value_t = 100_000, value_name = "N")]
    rate_limit_keys: usize,
    /// Behind a reverse proxy: count the last X-Forwarded-For address (the one
    /// the proxy adds) as the client. Never without a proxy: anyone could pick their IP.
    #[arg(long, env = "GOALTAG_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
}

impl GuardArgs {
    fn apply(self, cfg: &mut goaltag_collector::Config) {
        cfg.max_event_age = self.max_event_age;
        cfg.max_event_ahead = self.max_event_ahead;
        cfg.site_origins = self.site_origins;
        cfg.rate_limits = goaltag_collector::ratelimit::RateLimits {
            ip_rate: self.ip_rate,
            ip_burst: self.ip_burst,
            site_rate: self.site_rate,
            site_burst: self.site_burst,
            max_tracked: self.rate_limit_keys,
            trust_forwarded_for: self.trust_forwarded_for,
        };
    }
}

fn init_logs(format: LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()));
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let (
        listen,
        db,
        db_connections,
        www,
        allowed_origins,
        limits,
        queue_capacity,
        admin_token,
        goals,
        keep_client_ip,
        user_data_days,
        guard,
    ) = match cli.cmd {
        Cmd::Serve {
            listen,
            db,
            db_connections,
            www,
            allowed_origins,
            max_body_bytes,
            max_decoded_bytes,
            max_events,
            queue_capacity,
            admin_token,
            goals,
            keep_client_ip,
            user_data_days,
            guard,
        } => (
            listen,
            db,
            db_connections,
            www,
            allowed_origins,
            (max_body_bytes, max_decoded_bytes, max_events),
            queue_capacity,
            admin_token,
            goals,
            keep_client_ip,
            user_data_days,
            guard,
        ),
        Cmd::Report { db, site, from, to, funnel, model, by, lookback_days, ad_group_param, json } => {
            let params = goaltag_collector::report::Params { site, from, to, funnel, model, by, lookback_days, ad_group_param };
            print!("{}", goaltag_collector::report::cli(&db, params, json).await?);
            return Ok(());
        }
        Cmd::Import { db, site, file } => {
            println!("{}", goaltag_collector::import::cli(&db, &site, &file).await?);
            return Ok(());
        }
        Cmd::Spend { db, site, files } => {
            // Each stored file's line is printed before a later file's refusal ends the command.
            goaltag_collector::spend::cli::cli(&db, &site, &files, |line| println!("{line}")).await?;
            return Ok(());
        }
        Cmd::Export { db, site, platform, goals, from, to, names, window_days, goals_file, since_last, out } => {
            let params = goaltag_collector::export::Params {
                site: Some(site),
                platform: Some(platform),
                goal: goals,
                from,
                to,
                name: names,
                window_days,
                since_last: since_last.then(|| "true".into()),
            };
            let summary = goaltag_collector::export::cli(&db, params, goals_file.as_deref(), out.as_deref()).await?;
            eprintln!("{summary}");
            return Ok(());
        }
    };
    let mut cfg = goaltag_collector::Config {
        db,
        db_connections,
        www,
        allowed_origins: allowed_origins.iter().map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect(),
        max_body_bytes: limits.0,
        max_decoded_bytes: limits.1,
        max_events: limits.2,
        queue_capacity,
        admin_token: admin_token.filter(|t| !t.is_empty()),
        goals,
        keep_client_ip,
        user_data_days,
        ..Default::default()
    };
    guard.apply(&mut cfg);
    tracing::info!(db = %cfg.db, www = ?cfg.www, origins = ?cfg.allowed_origins, "starting");
    // Database and folders first, so the "listening" line means ready.
    cfg.validate()?;
    let store = cfg.open_store()?;
    let app = goaltag_collector::http::router_with_store(cfg.clone(), store.clone())?;
    goaltag_collector::store::spawn_user_data_eraser(store, cfg.user_data_days);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    goaltag_collector::http::warn_if_exposed(listener.local_addr()?, &cfg);
    println!("goaltag collector listening on http://{}/", listener.local_addr()?);
    // With connect info: the per-IP rate limit needs each connection's peer address.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(stop_signal()).await?;
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
