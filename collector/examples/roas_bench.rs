//! Return-on-ad-spend benchmark (not a test): stores 1 000 000 events from
//! 100 000 visitors over the 90 days before today, on 200 campaigns × 20
//! keywords, then times the whole report (`report::build`, what GET /report
//! and `goaltag-collector report` run) under each attribution model at
//! `by=campaign` and `by=keyword`, then again in its two steps (the store's
//! reads, then the sections and attribution from what was read). Prints a
//! Markdown table (docs/roas.md keeps the figures) and the peak memory.
//!
//!   cargo run --release -p goaltag-collector --example roas_bench -- [--db FILE|URL] [--by LEVEL] [--keep] [--reuse]
//!
//! Without --db it uses a SQLite file in a temp folder. A postgres:// URL
//! names an existing, empty database (the tables are created). `--keep`
//! leaves the temp folder; `--reuse` with `--db` skips storing the events
//! (the database holds them from an earlier run on the same day).
//!
//! The traffic (a fixed seed, so every run stores the same events): every
//! visitor makes exactly 10 events over 1 to 4 visits; 10 % of visitors end
//! with a primary purchase (20 to 200 EUR) carrying their last paid touch.
//! A visit's touch is paid 55 % of the time (70 % on the visitor's own
//! campaign, else any; keyword uniform among the campaign's 20; network by
//! campaign: Google, Microsoft, Meta in turn), a referral 20 % (one of 5
//! hosts), direct 25 %. Spend, when the store keeps it, is one row per
//! campaign and day (5 to 50 EUR).

use goaltag_collector::model::spend::SpendRow;
use goaltag_collector::report::{self, attribution, Query};
use goaltag_collector::{Accepted, Database};
use goaltag_wire::{Attribution, Batch, Event, Kind};
use std::time::Instant;

const VISITORS: u64 = 100_000;
const EVENTS_PER_VISITOR: u64 = 10;
const CAMPAIGNS: u64 = 200;
const KEYWORDS: u64 = 20;
const DAYS: i64 = 90;
const SITE: &str = "bench";
const DAY_MS: i64 = 86_400_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn network(campaign: u64) -> (&'static str, &'static str, &'static str) {
    match campaign % 3 {
        0 => ("gclid", "google", "Google"),
        1 => ("msclkid", "bing", "Microsoft"),
        _ => ("fbclid", "facebook", "Meta"),
    }
}

fn paid(campaign: u64, keyword: u64) -> Attribution {
    let (click, source, _) = network(campaign);
    let mut a = Attribution::default();
    a.click_ids.insert(click.into(), format!("c{campaign}k{keyword}"));
    a.utm.insert("utm_source".into(), source.into());
    a.utm.insert("utm_medium".into(), "cpc".into());
    a.utm.insert("utm_campaign".into(), format!("Campaign {campaign:03}"));
    a.utm.insert("utm_term".into(), format!("keyword {campaign:03}-{keyword:02}"));
    a.landing_url = Some("https://shop.example/?x".into());
    a
}

fn uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// The visitors' events, in batches of about 2 000.
fn traffic(first_day: i64) -> Vec<Vec<Event>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut batches = vec![Vec::new()];
    let mut n = 0u64;
    for v in 0..VISITORS {
        let client = format!("client-{v}");
        let home = rng.below(CAMPAIGNS);
        let visits = 1 + rng.below(4);
        let converts = rng.below(10) == 0;
        let page_views = EVENTS_PER_VISITOR - u64::from(converts);
        let mut day = first_day + rng.below(80) as i64;
        let mut last_paid: Option<Attribution> = None;
        let mut ts = 0;
        for i in 0..visits {
            if i > 0 {
                day = (day + rng.below(10) as i64).min(first_day + DAYS - 1);
            }
            let visit = format!("visit-{v}-{i}");
            let touch = match rng.below(100) {
                0..=54 => {
                    let c = if rng.below(10) < 7 { home } else { rng.below(CAMPAIGNS) };
                    let a = paid(c, rng.below(KEYWORDS));
                    last_paid = Some(a.clone());
                    Some(a)
                }
                55..=74 => Some(Attribution {
                    referrer_host: Some(format!("news{}.example", rng.below(5))),
                    landing_url: Some("https://shop.example/".into()),
                    ..Default::default()
                }),
                _ => None,
            };
            // Page views of this visit: an equal share, the rest on the last.
            let count = if i + 1 == visits { page_views - (page_views / visits) * (visits - 1) } else { page_views / visits };
            ts = (day * DAY_MS + rng.below(20 * 3_600_000) as i64).max(ts + 1000);
            for p in 0..count {
                n += 1;
                let mut e = Event::new(uuid(n), Kind::PageView, (ts + p as i64 * 30_000) as u64);
                e.url = Some(format!("https://shop.example/page-{}.html", rng.below(50)));
                e.client_id = Some(client.clone());
                e.visit_id = Some(visit.clone());
                if p == 0 {
                    e.attribution = touch.clone();
                }
                batches.last_mut().unwrap().push(e);
            }
            ts += count as i64 * 30_000;
        }
        if converts {
            n += 1;
            let mut e = Event::new(uuid(n), Kind::Conversion, (ts + 10_000) as u64);
            e.goal = Some("purchase".into());
            e.primary = Some(true);
            e.value = Some((20 + rng.below(181)) as f64);
            e.currency = Some("EUR".into());
            e.transaction_id = Some(format!("T-{v}"));
            e.client_id = Some(client.clone());
            e.visit_id = Some(format!("visit-{v}-{}", visits - 1));
            e.attribution = last_paid;
            batches.last_mut().unwrap().push(e);
        }
        if batches.last().unwrap().len() >= 2000 {
            batches.push(Vec::new());
        }
    }
    batches
}

/// CPU time this process has used (user + system, s): on a machine shared
/// with other jobs, the work done, whatever the wall clock waited.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    f.iter().sum::<f64>() / 100.0
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = tempfile::tempdir()?;
    let db = match args.iter().position(|a| a == "--db") {
        Some(i) => Database::parse(&args[i + 1]),
        None => Database::Sqlite(dir.path().join("events.db")),
    };
    let today = goaltag_collector::dates::day_of_ms(goaltag_collector::model::now_ms());
    let (from, to) = (today - DAYS, today - 1);
    println!("database: {db}");
    // `--reuse`: the database already holds this traffic (a `--keep` run's
    // file). It is not generated at all then: the memory it took would stay
    // in the process and count in the reports' peak RSS.
    let batches = if args.iter().any(|a| a == "--reuse") {
        Vec::new()
    } else {
        let t = Instant::now();
        let batches = traffic(from);
        let events: usize = batches.iter().map(Vec::len).sum();
        println!("generated {events} events from {VISITORS} visitors in {:.1} s", t.elapsed().as_secs_f64());
        batches
    };
    let store = goaltag_collector::store::open(&db, 64, 4)?;
    let t = Instant::now();
    for events in batches {
        let batch = Batch { v: 1, site: SITE.into(), sent_at: 0, attempt: 1, dropped: Default::default(), events };
        store.store(Accepted::new(batch, goaltag_collector::model::now_ms())).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    println!("stored in {:.1} s", t.elapsed().as_secs_f64());
    // Spend: one row per campaign and day (18 000 rows), 5 to 50 EUR.
    let mut rng = Rng(42);
    let spend: Vec<SpendRow> = (from..=to)
        .flat_map(|day| (0..CAMPAIGNS).map(move |c| (day, c)))
        .map(|(date, c)| SpendRow {
            date,
            network: network(c).2.into(),
            campaign: format!("Campaign {c:03}"),
            ad_group: String::new(),
            ad: String::new(),
            keyword: String::new(),
            currency: "EUR".into(),
            cost: (5 + rng.below(46)) as f64,
            clicks: None,
            impressions: None,
        })
        .collect();
    let t = Instant::now();
    let n = spend.len();
    // Importing the same rows again changes nothing (so --reuse may run it).
    store.import_spend(SITE, spend, goaltag_collector::model::now_ms()).await?;
    println!("{n} spend rows stored in {:.1} s", t.elapsed().as_secs_f64());
    drop(store);
    println!("peak RSS while generating and storing: {:.0} MB", peak_rss_mb());
    // From here the peak is the reports' own (Linux: 5 resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let store = goaltag_collector::store::open_for_reports(&db).await?;

    println!(
        "\n| model | by | report (s) | report CPU (s) | store reads (s) | sections + attribution (s) | rows | peak RSS of the reports so far (MB) |\n|---|---|---|---|---|---|---|---|"
    );
    // `--by campaign` (or keyword) times that level alone.
    let levels: Vec<&str> = match args.iter().position(|a| a == "--by") {
        Some(i) => vec![args[i + 1].as_str()],
        None => vec!["campaign", "keyword"],
    };
    for by in levels {
        for (_, model) in attribution::Model::ALL {
            let params = report::Params {
                site: Some(SITE.into()),
                from: Some(goaltag_collector::dates::format_date(from)),
                to: Some(goaltag_collector::dates::format_date(to)),
                model: Some(model.into()),
                by: Some(by.into()),
                ..Default::default()
            };
            let q = Query::new(params, today).map_err(anyhow::Error::msg)?;
            let (t, cpu) = (Instant::now(), cpu_s());
            let r = report::build(&*store, &q).await?;
            let (whole, whole_cpu) = (t.elapsed().as_secs_f64(), cpu_s() - cpu);
            let a = r.attribution.expect("build sets it");
            let credited: f64 = a.rows.iter().map(|r| r.conversions).sum();
            assert!((credited - r.totals.primary_conversions as f64).abs() < 1e-3, "credits sum to the primary conversions");
            // The same report in two steps: the store reads (events from the
            // lookback on, batches, imports, spend), then the arithmetic.
            let t = Instant::now();
            let (start, end) = (from * DAY_MS, (to + 1) * DAY_MS);
            let rows = store.report_rows(SITE, start - q.attribution.lookback_days * DAY_MS, start, end).await?;
            let spend = report::spend_costs(&*store, SITE, &q).await?;
            let read = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let again = report::from_rows_with_spend(&q, SITE, &rows, &spend)?;
            let compute = t.elapsed().as_secs_f64();
            assert_eq!(again.attribution.as_ref().map(|a| a.rows.len()), Some(a.rows.len()));
            drop(rows);
            println!(
                "| {model} | {by} | {whole:.2} | {whole_cpu:.2} | {read:.2} | {compute:.2} | {} | {:.0} |",
                a.rows.len(),
                peak_rss_mb()
            );
        }
    }
    if args.iter().any(|a| a == "--keep") {
        let kept = dir.keep();
        println!("kept {}", kept.display());
    }
    Ok(())
}
