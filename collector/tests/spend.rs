//! Spend import: the platforms' report files in tests/spend/ read into the
//! rows a marketer would add up by hand from the same file; stored through
//! `POST /spend` and `goaltag-collector spend` on both stores (SQLite and
//! PostgreSQL), idempotently, whole or not at all.

mod common;
mod pg;
#[macro_use]
mod stores;

use common::{agent, Server};
use goaltag_collector::dates::parse_date;
use goaltag_collector::model::spend::SpendRow;
use goaltag_collector::spend::{self, Format};
use goaltag_collector::store::{Database, Store};
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;
use stores::start;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/spend/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn day(s: &str) -> i64 {
    parse_date(s).unwrap()
}

/// (date, network, campaign, ad group, ad, keyword, currency, cost, clicks, impressions)
type Flat<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str, &'a str, f64, Option<u64>, Option<u64>);

fn row(f: Flat) -> SpendRow {
    SpendRow {
        date: day(f.0),
        network: f.1.into(),
        campaign: f.2.into(),
        ad_group: f.3.into(),
        ad: f.4.into(),
        keyword: f.5.into(),
        currency: f.6.into(),
        cost: f.7,
        clicks: f.8,
        impressions: f.9,
    }
}

fn assert_rows(got: &[SpendRow], want: &[Flat]) {
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(want) {
        let w = row(*w);
        assert!((g.cost - w.cost).abs() < 1e-9, "{g:?} against {w:?}");
        assert_eq!(SpendRow { cost: w.cost, ..g.clone() }, w);
    }
}

#[test]
fn microsoft_keyword_report_as_downloaded() {
    // Report header lines, a blank line, CRLF, every field quoted, a quoted comma
    // in a campaign name, two devices of one keyword on 2026-11-30
    // (18.40 + 11.60 = 30.00; 40 + 25 clicks; 1200 + 800 impressions), the footer.
    let p = spend::parse(&fixture("microsoft-keyword-report.csv")).unwrap();
    assert_eq!((p.format, p.read), (Format::Microsoft, 5));
    assert_rows(
        &p.rows,
        &[
            ("2026-11-30", "Microsoft", "Winter Sale", "Boots", "", "winter boots", "EUR", 30.00, Some(65), Some(2000)),
            ("2026-11-30", "Microsoft", "Winter Sale", "Scarves", "", "wool scarf", "EUR", 2.10, Some(6), Some(300)),
            ("2026-12-01", "Microsoft", "Winter Sale", "Boots", "", "winter boots", "EUR", 17.00, Some(38), Some(1100)),
            ("2026-12-01", "Microsoft", "Brand, exact", "Brand", "", "goaltag shop", "EUR", 1.20, Some(12), Some(90)),
        ],
    );
}

#[test]
fn google_ads_keyword_report_as_downloaded() {
    // Title and date-range lines, thousands separators, match-type marks, two
    // "Total:" lines that must not count again (the three rows sum to 2,801.15).
    let p = spend::parse(&fixture("google-keyword-report.csv")).unwrap();
    assert_eq!(p.format, Format::Google);
    assert_rows(
        &p.rows,
        &[
            ("2026-11-30", "Google", "Winter Sale - Search", "Boots", "", "winter boots", "EUR", 1600.80, Some(87), Some(1204)),
            ("2026-11-30", "Google", "Winter Sale - Search", "Boots", "", "leather boots", "EUR", 180.00, Some(12), Some(300)),
            ("2026-12-01", "Google", "Winter Sale - Search", "Boots", "", "winter boots", "EUR", 1020.35, Some(60), Some(950)),
        ],
    );
    assert!((p.rows.iter().map(|r| r.cost).sum::<f64>() - 2801.15).abs() < 1e-9);
}

#[test]
fn google_ads_excel_csv_is_utf16_with_tabs() {
    // "Excel .csv" downloads: UTF-16LE with a byte-order mark, tab-separated.
    let text = String::from_utf8(fixture("google-keyword-report.csv")).unwrap();
    let tsv: String = text
        .lines()
        .map(|l| {
            let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(l.as_bytes());
            r.records().next().map(|rec| rec.unwrap().iter().collect::<Vec<_>>().join("\t")).unwrap_or_default() + "\r\n"
        })
        .collect();
    let bytes: Vec<u8> = [0xFF, 0xFE].into_iter().chain(tsv.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let p = spend::parse(&bytes).unwrap();
    assert_eq!(p.rows, spend::parse(&fixture("google-keyword-report.csv")).unwrap().rows);
}

#[test]
fn meta_ads_manager_export() {
    // The summary line (no campaign, ad set or ad name) is the sum of the rest: 512.25 + 80 + 453.25 = 1,045.50.
    let p = spend::parse(&fixture("meta-ads-export.csv")).unwrap();
    assert_eq!(p.format, Format::Meta);
    assert_rows(
        &p.rows,
        &[
            (
                "2026-11-30",
                "Meta",
                "Winter Sale - Prospecting",
                "Lookalike 1%",
                "Boots carousel",
                "",
                "EUR",
                512.25,
                Some(410),
                Some(30100),
            ),
            ("2026-11-30", "Meta", "Winter Sale - Retargeting", "Cart viewers 7d", "Scarf video", "", "EUR", 80.00, Some(95), Some(4000)),
            (
                "2026-12-01",
                "Meta",
                "Winter Sale - Prospecting",
                "Lookalike 1%",
                "Boots carousel",
                "",
                "EUR",
                453.25,
                Some(388),
                Some(27100),
            ),
        ],
    );
}

#[test]
fn documented_format() {
    let p = spend::parse(&fixture("documented.csv")).unwrap();
    assert_eq!(p.format, Format::Documented);
    assert_rows(
        &p.rows,
        &[
            ("2026-11-30", "Microsoft", "winter-sale", "boots", "", "winter boots", "EUR", 30.00, Some(65), Some(2000)),
            ("2026-11-30", "Google", "Winter Sale - Search", "Boots", "", "winter boots", "EUR", 1600.80, Some(87), None),
            ("2026-12-01", "Newsletter partner", "December promo", "", "", "", "EUR", 250.0, None, None),
        ],
    );
}

#[test]
fn the_demo_sample_matches_the_demo_ad() {
    // Two devices of "weekend goods": 2.60 + 1.60 = 4.20, 6 + 4 clicks.
    let p = spend::parse(&std::fs::read(format!("{}/samples/spend-demo.csv", env!("CARGO_MANIFEST_DIR"))).unwrap()).unwrap();
    assert_rows(
        &p.rows,
        &[
            ("2026-12-01", "Microsoft", "weekend-specials", "specials", "", "weekend goods", "USD", 4.20, Some(10), Some(340)),
            ("2026-12-01", "Microsoft", "weekend-specials", "specials", "", "slow weekend gifts", "USD", 1.10, Some(2), Some(90)),
            ("2026-12-01", "Microsoft", "brand", "brand", "", "weekend goods shop", "USD", 0.80, Some(3), Some(40)),
        ],
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_goaltag-collector");

on_both_stores!(spend_is_stored_whole_and_again_changes_nothing, spend_is_stored_whole_on_postgres, spend_over_http);
on_both_stores!(a_hundred_thousand_rows_in_one_file, a_hundred_thousand_rows_on_postgres, many_rows);

fn post(s: &Server, query: &str, body: &[u8]) -> (u16, Value) {
    post_with(&agent(), s, query, body)
}

fn post_with(agent: &ureq::Agent, s: &Server, query: &str, body: &[u8]) -> (u16, Value) {
    let r = agent.post(&format!("{}/spend{query}", s.base)).set("Content-Type", "text/csv").send_bytes(body);
    match r {
        Ok(r) => (r.status(), serde_json::from_str(&r.into_string().unwrap()).unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, serde_json::from_str(&r.into_string().unwrap()).unwrap()),
        Err(e) => panic!("{e}"),
    }
}

/// The site's stored rows for the days `from` to `to` (both included), read through the Store.
fn stored(s: &Server, site: &str, from: &str, to: &str) -> Vec<SpendRow> {
    let db = Database::parse(s.db.to_str().unwrap());
    pg::block_on(async {
        let store: Arc<dyn Store> = goaltag_collector::store::open_for_reports(&db).await.unwrap();
        store.spend_rows(site, day(from), day(to)).await.unwrap()
    })
}

fn total(rows: &[SpendRow]) -> f64 {
    rows.iter().map(|r| r.cost).sum()
}

fn spend_over_http(s: Server) {
    let ms = fixture("microsoft-keyword-report.csv");
    let (status, done) = post(&s, "?site=shop", &ms);
    assert_eq!(
        (status, &done),
        (200, &json!({"format": "Microsoft Advertising report", "read": 5, "rows": 4, "new": 4, "replaced": 0, "unchanged": 0}))
    );
    let all = || stored(&s, "shop", "2026-11-01", "2026-12-31");
    let first = all();
    // 30.00 + 2.10 + 17.00 + 1.20, the four keys of the file.
    assert_eq!(first.len(), 4);
    assert!((total(&first) - 50.30).abs() < 1e-9, "{first:?}");

    // The same file again: every key found, no figure changed.
    let (status, done) = post(&s, "?site=shop", &ms);
    assert_eq!((status, &done["new"], &done["replaced"], &done["unchanged"]), (200, &json!(0), &json!(0), &json!(4)));
    assert_eq!(all(), first);

    // A corrected export: one figure changes, the row is replaced, not added.
    let corrected = String::from_utf8(ms.clone()).unwrap().replace("\"17.00\"", "\"17.50\"");
    let (_, done) = post(&s, "?site=shop", corrected.as_bytes());
    assert_eq!((&done["new"], &done["replaced"], &done["unchanged"]), (&json!(0), &json!(1), &json!(3)));
    assert!((total(&all()) - 50.80).abs() < 1e-9);

    // A bad line late in a file: 400 naming it, and none of the file's good rows stored.
    let bad = String::from_utf8(fixture("google-keyword-report.csv")).unwrap().replace("2026-12-01,", "2026-02-30,");
    let (status, err) = post(&s, "?site=shop", bad.as_bytes());
    assert_eq!(status, 400);
    assert_eq!(err["error"], "line 6: column \"Day\": expected a date like 2026-02-28 (YYYY-MM-DD, a day that exists), got \"2026-02-30\"");
    assert_eq!(all().len(), 4, "nothing of the refused file");

    // The other platforms beside it; a range of days reads only its days.
    assert_eq!(post(&s, "?site=shop", &fixture("google-keyword-report.csv")).1["new"], 3);
    assert_eq!(post(&s, "?site=shop", &fixture("meta-ads-export.csv")).1["new"], 3);
    let dec1 = stored(&s, "shop", "2026-12-01", "2026-12-01");
    let got: Vec<(&str, &str, f64)> = dec1.iter().map(|r| (r.network.as_str(), r.campaign.as_str(), r.cost)).collect();
    assert_eq!(
        got,
        [
            ("Google", "Winter Sale - Search", 1020.35),
            ("Meta", "Winter Sale - Prospecting", 453.25),
            ("Microsoft", "Brand, exact", 1.20),
            ("Microsoft", "Winter Sale", 17.50)
        ]
    );
    assert_eq!(stored(&s, "shop", "2026-11-30", "2026-11-30").len(), 2 + 2 + 2);
    assert!(stored(&s, "other", "2026-11-01", "2026-12-31").is_empty());

    // Bad requests and the cap.
    assert_eq!(post(&s, "", &ms).1["error"], "site: required, as in POST /spend?site=demo-shop");
    assert_eq!(post(&s, "?site=shop", b"").1["error"], "the file is empty");
    let (status, err) = post(&s, "?site=shop", &vec![b'x'; 50_000_000]);
    assert_eq!((status, err["error"].as_str().unwrap()), (413, "the file is larger than 32 MiB; split it by date range"));
    assert_eq!(all().len(), 4 + 3 + 3);
}

/// 100 000 distinct rows in one file: one transaction, in bounded time (a
/// loose bound: the machine is shared), and again with nothing changed.
fn many_rows(s: Server) {
    let mut body = String::from("date,network,campaign,keyword,cost,currency,clicks\n");
    for i in 0..100_000 {
        body.push_str(&format!("2026-{:02}-{:02},Google,Campaign {},kw {i},0.25,EUR,{}\n", 1 + i % 12, 1 + i % 28, i % 200, i % 7));
    }
    // The machine running the tests is shared: more time than the usual request bound.
    let patient = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(180)).build();
    let t = std::time::Instant::now();
    let (status, done) = post_with(&patient, &s, "?site=big", body.as_bytes());
    assert_eq!((status, &done["rows"], &done["new"]), (200, &json!(100_000), &json!(100_000)), "{done}");
    assert!(t.elapsed().as_secs() < 180, "{:?}", t.elapsed());
    let (_, done) = post_with(&patient, &s, "?site=big", body.as_bytes());
    assert_eq!(done["unchanged"], 100_000);
    let rows = stored(&s, "big", "2026-01-01", "2026-12-31");
    assert_eq!(rows.len(), 100_000);
    assert!((total(&rows) - 25_000.0).abs() < 1e-6);
    assert_eq!(rows.iter().map(|r| r.clicks.unwrap()).sum::<u64>(), (0..100_000u64).map(|i| i % 7).sum::<u64>());
}

#[test]
fn the_admin_token_guards_post_spend() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let cfg = goaltag_collector::Config { db: db.clone().into(), admin_token: Some("0123456789abcdef".into()), ..Default::default() };
    let s = Server::serve(goaltag_collector::router(cfg).unwrap(), db, dir);
    assert_eq!(post(&s, "?site=shop", &fixture("documented.csv")).0, 401);
    let r = agent()
        .post(&format!("{}/spend?site=shop", s.base))
        .set("Authorization", "Bearer 0123456789abcdef")
        .send_bytes(&fixture("documented.csv"))
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&r.into_string().unwrap()).unwrap()["new"], 3);
}

#[test]
fn the_command_imports_file_by_file_and_stops_at_a_refused_one() {
    let s = start();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "date,network,campaign,cost,currency\n2026-12-01,Google,A,-1,EUR\n").unwrap();
    let good = format!("{}/tests/spend/documented.csv", env!("CARGO_MANIFEST_DIR"));
    let meta = format!("{}/tests/spend/meta-ads-export.csv", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(BIN)
        .args(["spend", "--db", s.db.to_str().unwrap(), "--site", "shop", &good, bad.to_str().unwrap(), &meta])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success());
    assert_eq!(stdout, format!("{good}: spend CSV, 3 rows read, 3 stored for shop: 3 new, 0 replaced, 0 unchanged\n"));
    assert!(
        stderr
            .contains(&format!("{}: line 2: column \"cost\": must not be negative, got \"-1\"; nothing of it was imported", bad.display())),
        "{stderr}"
    );
    assert_eq!(stored(&s, "shop", "2026-01-01", "2026-12-31").len(), 3, "the first file only");

    // A 50 MB file is refused before it is read.
    let huge = dir.path().join("huge.csv");
    std::fs::File::create(&huge).unwrap().set_len(50_000_000).unwrap();
    let out = Command::new(BIN).args(["spend", "--db", s.db.to_str().unwrap(), "--site", "shop", huge.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("huge.csv: the file is larger than 32 MiB; split it by date range; nothing of it was imported"), "{stderr}");

    let out = Command::new(BIN).args(["spend", "--db", s.db.to_str().unwrap(), "--site", "shop", &good]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("3 rows read, 3 stored for shop: 0 new, 0 replaced, 3 unchanged\n"));
}

/// A file from a collector before version 5 has no spend table: reports read
/// none, and the next open adds it.
#[test]
fn an_older_sqlite_file_gains_the_spend_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    drop(goaltag_collector::SqliteStore::open(&path, 4).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE spend; PRAGMA user_version = 4;").unwrap();
    drop(conn);
    let db = Database::Sqlite(path.clone());
    pg::block_on(async {
        let reader = goaltag_collector::store::open_for_reports(&db).await.unwrap();
        assert!(reader.spend_rows("shop", 0, i64::MAX).await.unwrap().is_empty());
        let store = goaltag_collector::store::open_for_import(&db).await.unwrap();
        let rows = spend::parse(&fixture("documented.csv")).unwrap().rows;
        assert_eq!(store.import_spend("shop", rows, 1).await.unwrap().new, 3);
    });
    let v: i64 = rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, 8);
}
