//! Load benchmark (not a test): N keep-alive clients post realistic 20-event
//! batches for a fixed time, twice: all new events, then with 10 % of batches
//! re-sent (as the tag does after a lost answer). Prints sustained events/s
//! and latency percentiles, then checks that the database holds exactly the
//! unique events sent: under load nothing is lost and nothing is doubled.
//! On PostgreSQL it can run several collector instances on one database.
//!
//!   cargo run --release -p goaltag-collector --example load -- --help

use goaltag_collector::Database;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "\
goaltag-load: drive a collector on loopback and report throughput and latency

USAGE
  cargo run --release -p goaltag-collector --example load -- [OPTIONS]

OPTIONS
  --clients N      concurrent keep-alive clients (default 8)
  --seconds S      length of each of the two runs (default 3)
  --events N       events per batch (default 20, what the tag sends at most)
  --db FILE|URL    the database: a SQLite file or a postgres:// URL; the
                   events it gains are counted at the end. Default: a
                   SQLite file in a temp folder
  --instances N    collectors started in-process on --db (default 1; more
                   than 1 needs PostgreSQL). Client i sends to instance
                   i mod N, and re-sends a batch to the next instance
  --target URL     an already running collector instead, e.g.
                   http://127.0.0.1:8080 (start it with --ip-rate 0
                   --site-rate 0, or the limits are what gets measured);
                   --db then names its database for the count (optional)

Run 1 sends only new events; run 2 re-sends 10 % of batches with the same
event IDs and attempt+1. 429 and 503 answers are retried after Retry-After
and counted. Exits non-zero when the stored count is not the unique count.";

struct Options {
    clients: usize,
    seconds: f64,
    events: usize,
    instances: usize,
    target: Option<String>,
    db: Option<Database>,
}

fn options() -> Result<Options, String> {
    let mut o = Options { clients: 8, seconds: 3.0, events: 20, instances: 1, target: None, db: None };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--clients" => o.clients = value()?.parse().map_err(|e| format!("--clients: {e}"))?,
            "--seconds" => o.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--events" => o.events = value()?.parse().map_err(|e| format!("--events: {e}"))?,
            "--target" => o.target = Some(value()?.trim_end_matches('/').to_string()),
            "--db" => o.db = Some(Database::parse(&value()?)),
            "--instances" => o.instances = value()?.parse().map_err(|e| format!("--instances: {e}"))?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {a:?} (see --help)")),
        }
    }
    if o.clients == 0 || o.events == 0 || o.instances == 0 || o.seconds.is_nan() || o.seconds <= 0.0 {
        return Err("--clients, --events, --instances and --seconds must be positive".into());
    }
    if o.instances > 1 && (o.target.is_some() || !matches!(o.db, Some(Database::Postgres(_)))) {
        return Err("--instances above 1 needs --db postgres://… (SQLite is one file with one writer) and no --target".into());
    }
    Ok(o)
}

/// xorshift64*: enough randomness for picking pages and re-sends, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

const PAGES: [(&str, &str); 5] = [
    ("/", "Demo Shop – Home"),
    ("/products/blue-mug", "Blue Mug – Demo Shop"),
    ("/products/red-kettle", "Red Kettle – Demo Shop"),
    ("/cart", "Your cart – Demo Shop"),
    ("/checkout", "Checkout – Demo Shop"),
];

/// One event as the tag writes it: page views, clicks with an element, the
/// occasional conversion with attribution; consent snapshot on every event.
fn event(rng: &mut Rng, id: &str, visit: u64) -> String {
    let (path, title) = PAGES[rng.below(PAGES.len() as u64) as usize];
    let ts = now_ms() - rng.below(2000);
    let consent =
        r#""consent":{"analytics_storage":"granted","ad_storage":"denied","ad_user_data":"denied","ad_personalization":"denied"}"#;
    let common = format!(
        r#""id":"{id}","ts":{ts},"url":"https://shop.example{path}?utm_source=news","client_id":"c-{visit:x}","visit_id":"v-{visit:x}",{consent}"#
    );
    match rng.below(10) {
        0..=4 => format!(r#"{{"kind":"page_view",{common},"referrer":"https://news.example/article/{visit}","title":"{title}"}}"#),
        5..=8 => format!(
            r#"{{"kind":"click",{common},"element":{{"tag":"a","id":"buy-{n}","classes":"btn btn-primary","href":"https://shop.example/cart","text":"Add to cart","data":{{"goal":"add_to_cart"}}}}}}"#,
            n = rng.below(50)
        ),
        _ => format!(
            r#"{{"kind":"conversion",{common},"action":"purchase","value":{}.95,"currency":"EUR","transaction_id":"T-{id}","goal":"purchase","primary":true,"attribution":{{"utm":{{"utm_source":"news","utm_campaign":"autumn"}},"referrer_host":"news.example","landing_url":"https://shop.example/?utm_source=news"}}}}"#,
            rng.below(300)
        ),
    }
}

/// A UUID v4 made of the run's random prefix and a counter: unique per run.
fn uuid(prefix: u64, n: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        prefix >> 32,
        (prefix >> 16) & 0xffff,
        prefix & 0xfff,
        (n >> 48) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

struct Sent {
    ids: Vec<String>,
    visit: u64,
}

fn body(rng: &mut Rng, batch: &Sent, attempt: u32) -> String {
    let events: Vec<String> = batch.ids.iter().map(|id| event(rng, id, batch.visit)).collect();
    format!(r#"{{"v":1,"site":"demo-shop","sent_at":{},"attempt":{attempt},"events":[{}]}}"#, now_ms(), events.join(","))
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    events_posted: u64,
    stored: u64,
    duplicates: u64,
    resends: u64,
    retried: u64,
}

/// One client: posts to `base` until `deadline`, re-sending a previous batch
/// (to `resend_base`) with probability `resend_percent` / 100.
fn client(base: &str, resend_base: &str, seed: u64, events: usize, deadline: Instant, resend_percent: u64, ids: &AtomicU64) -> Tally {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
    let (url, resend_url) = (format!("{base}/collect"), format!("{resend_base}/collect"));
    let mut rng = Rng(seed | 1);
    let prefix = rng.next();
    let mut sent: Vec<Sent> = Vec::new();
    let mut t = Tally::default();
    while Instant::now() < deadline {
        let resend = !sent.is_empty() && rng.below(100) < resend_percent;
        let (batch_index, attempt) = if resend {
            (rng.below(sent.len() as u64) as usize, 2)
        } else {
            let ids = (0..events).map(|_| uuid(prefix, ids.fetch_add(1, Ordering::Relaxed))).collect();
            sent.push(Sent { ids, visit: rng.next() });
            (sent.len() - 1, 1)
        };
        let payload = body(&mut rng, &sent[batch_index], attempt);
        let started = Instant::now();
        let answer = loop {
            let to = if resend { &resend_url } else { &url };
            match agent.post(to).set("Content-Type", "text/plain;charset=UTF-8").send_string(&payload) {
                Ok(r) => break r.into_string().expect("an answer"),
                Err(ureq::Error::Status(code @ (429 | 503), r)) => {
                    t.retried += 1;
                    let wait = r.header("retry-after").and_then(|v| v.parse().ok()).unwrap_or(1u64);
                    eprintln!("goaltag-load: {code}, retrying in {wait} s");
                    std::thread::sleep(Duration::from_secs(wait));
                }
                Err(e) => panic!("goaltag-load: request failed: {e}"),
            }
        };
        t.latencies_us.push(started.elapsed().as_micros() as u64);
        let v: serde_json::Value = serde_json::from_str(&answer).expect("a JSON answer");
        t.stored += v["stored"].as_u64().expect("stored");
        t.duplicates += v["duplicates"].as_u64().expect("duplicates");
        t.events_posted += events as u64;
        t.resends += u64::from(resend);
    }
    t
}

fn run(o: &Options, bases: &[String], name: &str, resend_percent: u64, ids: &Arc<AtomicU64>) -> Tally {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(o.seconds);
    let seed = now_ms() ^ (resend_percent << 40);
    let threads: Vec<_> = (0..o.clients)
        .map(|c| {
            let (ids, events) = (ids.clone(), o.events);
            let (base, resend_base) = (bases[c % bases.len()].clone(), bases[(c + 1) % bases.len()].clone());
            std::thread::spawn(move || client(&base, &resend_base, seed.wrapping_mul(c as u64 + 7), events, deadline, resend_percent, &ids))
        })
        .collect();
    let mut all = Tally::default();
    for t in threads {
        let t = t.join().expect("a client thread");
        all.latencies_us.extend(t.latencies_us);
        all.events_posted += t.events_posted;
        all.stored += t.stored;
        all.duplicates += t.duplicates;
        all.resends += t.resends;
        all.retried += t.retried;
    }
    let secs = started.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    let pct = |p: f64| {
        let l = &all.latencies_us;
        l[((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1] as f64 / 1000.0
    };
    let batches = all.latencies_us.len();
    println!(
        "{name:<22} {:>8.0} events/s ({:>6.0} batches/s) | latency p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.2} ms | stored {}, duplicates {}, re-sent batches {}, retried {}",
        all.events_posted as f64 / secs,
        batches as f64 / secs,
        pct(0.50),
        pct(0.99),
        pct(1.0),
        all.stored,
        all.duplicates,
        all.resends,
        all.retried,
    );
    all
}

fn count_events(db: &Database) -> u64 {
    match db {
        Database::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).expect("opening the database");
            conn.query_row("select count(*) from events", [], |r| r.get::<_, i64>(0)).expect("counting") as u64
        }
        Database::Postgres(url) => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connecting");
                let task = tokio::spawn(conn);
                // The collectors create the tables; before they start there may be none.
                let n = match client.query_one("select count(*) from events", &[]).await {
                    Ok(row) => row.get::<_, i64>(0) as u64,
                    Err(_) => 0,
                };
                drop(client);
                let _ = task.await;
                n
            })
        }
    }
}

/// Starts a collector in-process on `db`: the real router and store on a
/// runtime of their own, rate limits off (every client here is 127.0.0.1).
fn start_instance(db: Database) -> String {
    let cfg = goaltag_collector::Config {
        db,
        rate_limits: goaltag_collector::ratelimit::RateLimits { ip_rate: 0, site_rate: 0, ..Default::default() },
        ..Default::default()
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            goaltag_collector::serve(l, cfg).await.expect("the collector");
        });
    });
    format!("http://{addr}")
}

fn main() {
    let o = options().unwrap_or_else(|e| {
        eprintln!("goaltag-load: {e}");
        std::process::exit(2);
    });
    let mut _keep = None;
    let (bases, db) = match &o.target {
        Some(t) => (vec![t.clone()], o.db.clone()),
        None => {
            let db = o.db.clone().unwrap_or_else(|| {
                let dir = tempfile::tempdir().expect("a temp folder");
                let path = dir.path().join("events.db");
                _keep = Some(dir);
                Database::Sqlite(path)
            });
            ((0..o.instances).map(|_| start_instance(db.clone())).collect::<Vec<_>>(), Some(db))
        }
    };
    // Ready when /health answers (bounded).
    for base in &bases {
        let deadline = Instant::now() + Duration::from_secs(10);
        while ureq::get(&format!("{base}/health")).call().is_err() {
            assert!(Instant::now() < deadline, "no collector answering at {base}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let before = db.as_ref().map(count_events);
    println!(
        "goaltag-load: {} clients, {}-event batches, {} s per run, {} collector(s) {} ({}, {}), {} cores",
        o.clients,
        o.events,
        o.seconds,
        bases.len(),
        bases.join(" "),
        if o.target.is_some() { "external" } else { "in-process" },
        match &db {
            Some(Database::Postgres(_)) => "PostgreSQL",
            Some(Database::Sqlite(_)) => "SQLite",
            None => "database not named",
        },
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    let _ = std::io::stdout().flush();
    let ids = Arc::new(AtomicU64::new(0));
    let a = run(&o, &bases, "run 1: all new", 0, &ids);
    let b = run(&o, &bases, "run 2: 10 % re-sent", 10, &ids);
    let unique = ids.load(Ordering::Relaxed);
    let reported = a.stored + b.stored;
    // Every re-sent event must come back as a duplicate, every new one as stored.
    let mut ok = reported == unique && a.duplicates == 0 && b.duplicates == b.resends * o.events as u64;
    println!("check: {unique} unique events sent, collector answered stored={reported}");
    match (db, before) {
        (Some(db), Some(before)) => {
            let stored = count_events(&db) - before;
            ok &= stored == unique;
            println!("check: {stored} new rows in {db} ({})", if ok { "OK" } else { "MISMATCH" });
        }
        _ => println!("check: no --db given, database not counted"),
    }
    if !ok {
        eprintln!("goaltag-load: the stored count is not the unique count");
        std::process::exit(1);
    }
}
