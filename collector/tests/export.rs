//! Exports to the ad platforms from a fixture database with known answers:
//! golden files per platform, the CSVs read back with a CSV reader against
//! the documented headers, Meta's events against the documented fields, the
//! consent rule, the window, CRM stages, `--since-last`, the CLI and
//! `GET /export`. Each test runs on both stores, SQLite and PostgreSQL, with
//! the same fixture and the same expected files.
//!
//! The fixture (site "shop"; D = 2026-03-02, times UTC) is written through
//! the store's own insert, with fixed times, so the files are stable:
//! - M1: Microsoft click ms-click-1 lands D 09:00, purchase T-1 49.90 EUR at 10:00.
//! - G1: Google click gclid-A lands D 09:10, purchase T-2 30 USD at 11:00;
//!   CRM: T-2 shipped 28.50 USD on D+2; T-9 shipped (no online conversion).
//! - G2: wbraid wb-1 lands D 09:20, newsletter (primary, no value) at 09:25.
//! - F1: fbclid IwAR-fb1 lands D 09:30, purchase T-4 20 EUR at 12:00 on a
//!   page with a query string.
//! - F2: fbclid IwAR-old lands D-9, purchase T-5 15 EUR at D-9 +1 h (too old for Meta).
//! - C1: gclid gclid-C, purchase at D 13:00 with ad_user_data denied (consent).
//! - W1: msclkid ms-old lands D-40, purchase at D 14:00 (outside 30 days).
//! - N1: a purchase with no click ID; S1: add_to_cart (secondary) with gclid-A.

mod common;
mod pg;

use goaltag_collector::export::{self, Goals, Platform, Reason, Request};
use goaltag_collector::store::{Accepted, Database, Store};
use goaltag_wire::{Attribution, Batch, Consent, Event, Kind, Signal};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

const H: i64 = 3_600_000;
const DAY: i64 = 24 * H;
/// 2026-03-02 00:00 UTC.
const D: i64 = 20_514 * DAY;
/// The time the golden files are made at: D+3 days.
const NOW: i64 = D + 3 * DAY;
const BIN: &str = env!("CARGO_BIN_EXE_goaltag-collector");
/// The `User-Agent` the fixture's batch was sent with.
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// SHA-256 of `johnsmith@gmail.com` (Microsoft's and Google's email for `John.Smith+shop@gmail.com`).
const EM: &str = "3586de92bb3636d0885a12eff961429a32e4ebd764b96f50d85d016f9338d586";
/// SHA-256 of `+16505551212` (Microsoft's and Google's phone).
const PH: &str = "1e231c66011e7a2d867a9cfae267a6aff103cf4913640b6e71a99850fc0ffbc8";
/// Meta's published vectors: `John_Smith@gmail.com` and `(650)555-1212` in the US.
const META_EM: &str = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";
const META_PH: &str = "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176";
/// SHA-256 of `menlopark`, Meta's `ct` for Menlo Park.
const CT: &str = "0007a3d64c01e23d5075203c5977c14e4f7e01a3fc570686fcc50b5e1dd42685";
/// SHA-256 of `jane@example.com`, every platform's email for it.
const JANE: &str = "8c87b489ce35cf2e2f39f80e282cb2e804932a56a213983eeeb428407d43b52d";

fn map(pairs: &[(&str, &str)]) -> goaltag_wire::Map {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// John's email and phone for every platform, with his city for Google and Meta.
fn john() -> goaltag_wire::UserData {
    goaltag_wire::UserData {
        google: map(&[("em", EM), ("ph", PH), ("city", "Menlo Park")]),
        microsoft: map(&[("em", EM), ("ph", PH)]),
        meta: map(&[("em", META_EM), ("ph", META_PH), ("ct", CT)]),
    }
}

/// Jane's email alone.
fn jane() -> goaltag_wire::UserData {
    goaltag_wire::UserData { google: map(&[("em", JANE)]), microsoft: map(&[("em", JANE)]), meta: map(&[("em", JANE)]) }
}

/// John's phone alone.
fn phone() -> goaltag_wire::UserData {
    goaltag_wire::UserData { google: map(&[("ph", PH)]), microsoft: map(&[("ph", PH)]), meta: map(&[("ph", META_PH)]) }
}

fn granted() -> Consent {
    Consent {
        analytics_storage: Signal::Granted,
        ad_storage: Signal::Granted,
        ad_user_data: Signal::Granted,
        ad_personalization: Signal::Denied,
    }
}

fn click(param: &str, value: &str) -> Attribution {
    let mut a = Attribution::default();
    a.click_ids.insert(param.into(), value.into());
    a.utm.insert("utm_source".into(), "ads".into());
    a.landing_url = Some(format!("https://shop.example/?{param}={value}"));
    a
}

struct Fixture {
    events: Vec<Event>,
    n: u32,
}

impl Fixture {
    fn event(&mut self, kind: Kind, ts: i64, attribution: Option<Attribution>, consent: Consent) -> &mut Event {
        self.n += 1;
        let mut e = Event::new(format!("00000000-0000-4000-8000-{:012x}", self.n), kind, ts as u64);
        e.url = Some("https://shop.example/".into());
        e.attribution = attribution;
        e.consent = Some(consent);
        e.client_id = Some(format!("client-{}", self.n));
        self.events.push(e);
        self.events.last_mut().unwrap()
    }

    fn landing(&mut self, ts: i64, a: Attribution) {
        self.event(Kind::PageView, ts, Some(a), granted());
    }

    #[allow(clippy::too_many_arguments)]
    fn conversion(
        &mut self,
        ts: i64,
        goal: &str,
        primary: bool,
        value: Option<(f64, &str)>,
        tx: Option<&str>,
        a: Option<Attribution>,
        consent: Consent,
    ) {
        let e = self.event(Kind::Conversion, ts, a, consent);
        e.goal = Some(goal.into());
        e.primary = Some(primary);
        e.url = Some("https://shop.example/checkout/confirmation.html".into());
        if let Some((v, c)) = value {
            e.value = Some(v);
            e.currency = Some(c.into());
        }
        e.transaction_id = tx.map(String::from);
    }
}

/// A database of either store, opened as the collector opens it, with a
/// runtime for its async calls (one per test: a pool's connections belong to
/// the runtime that made them).
struct Db {
    rt: tokio::runtime::Runtime,
    /// What `--db` and `Config::db` take.
    db: Database,
    store: Arc<dyn Store>,
    dir: tempfile::TempDir,
}

impl Db {
    fn open(db: Database, dir: tempfile::TempDir) -> Db {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let store = goaltag_collector::Config { db: db.clone(), ..Default::default() }.open_store().unwrap();
        Db { rt, db, store, dir }
    }

    fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        Db::open(Database::Sqlite(dir.path().join("events.db")), dir)
    }

    /// A fresh PostgreSQL database on the test server (see pg/mod.rs).
    fn postgres(hint: &str) -> Db {
        Db::open(Database::Postgres(pg::fresh(hint)), tempfile::tempdir().unwrap())
    }

    /// `--db` as the command line takes it.
    fn arg(&self) -> String {
        match &self.db {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(url) => url.clone(),
        }
    }

    fn store_events(&self, events: Vec<Event>) {
        let batch = Batch { v: 1, site: "shop".into(), sent_at: NOW as u64, attempt: 1, dropped: Default::default(), events };
        // The browser's User-Agent, which the store keeps for conversions with ad_user_data granted.
        let user_agent = Some(UA.to_string());
        self.rt.block_on(self.store.store(Accepted { batch, received_at: NOW, user_agent, client_ip: None })).unwrap();
    }

    /// The file and summary of `req`, read without recording (as the e2e tests and the dashboard's panel read).
    fn export(&self, req: &Request) -> (String, export::Summary) {
        let (rows, summary) = self.rt.block_on(export::preview(&*self.store, req, &goals(), NOW)).unwrap();
        (export::render(req.platform, &rows).unwrap(), summary)
    }

    /// `export::run` delivering to a string: the export is recorded.
    fn run(&self, req: &Request, goals: &Goals, at: i64) -> anyhow::Result<(String, export::Summary)> {
        let file = Arc::new(std::sync::Mutex::new(String::new()));
        let out = file.clone();
        let summary = self.rt.block_on(export::run(&*self.store, req, goals, at, move |f| {
            *out.lock().unwrap() = f;
            Ok(())
        }))?;
        let file = file.lock().unwrap().clone();
        Ok((file, summary))
    }

    /// The `exports` table's (name, exported_at) for `platform`, by key.
    fn recorded(&self, platform: &str) -> Vec<(String, i64)> {
        let sql = "select name, exported_at from exports where platform = $1 order by key";
        match &self.db {
            Database::Sqlite(p) => {
                let conn = rusqlite::Connection::open(p).unwrap();
                let mut st = conn.prepare(&sql.replace("$1", "?1")).unwrap();
                st.query_map([platform], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
            }
            Database::Postgres(url) => {
                pg::with_client(url, async |c| c.query(sql, &[&platform]).await.unwrap().iter().map(|r| (r.get(0), r.get(1))).collect())
            }
        }
    }
}

/// Writes the fixture into `db`.
fn fixture(db: Db) -> Db {
    let mut f = Fixture { events: Vec::new(), n: 0 };
    let ms = click("msclkid", "ms-click-1");
    f.landing(D + 9 * H, ms.clone());
    f.conversion(D + 10 * H, "purchase", true, Some((49.9, "EUR")), Some("T-1"), Some(ms), granted());
    f.events.last_mut().unwrap().user_data = Some(john());
    let g = click("gclid", "gclid-A");
    f.landing(D + 9 * H + 600_000, g.clone());
    f.conversion(D + 11 * H, "purchase", true, Some((30.0, "USD")), Some("T-2"), Some(g.clone()), granted());
    // A gclid and Jane's hashed email: Google gets both, Microsoft and Meta the email.
    f.events.last_mut().unwrap().user_data = Some(jane());
    f.conversion(D + 11 * H + 60_000, "add_to_cart", false, Some((30.0, "USD")), None, Some(g), granted());
    let wb = click("wbraid", "wb-1");
    f.landing(D + 9 * H + 1_200_000, wb.clone());
    f.conversion(D + 9 * H + 1_500_000, "newsletter", true, None, None, Some(wb), granted());
    let fb = click("fbclid", "IwAR-fb1");
    f.landing(D + 9 * H + 1_800_000, fb.clone());
    f.conversion(D + 12 * H + 1500, "purchase", true, Some((20.0, "EUR")), Some("T-4"), Some(fb), granted());
    f.events.last_mut().unwrap().url = Some("https://shop.example/checkout/confirmation.html?order=T-4#done".into());
    let old = click("fbclid", "IwAR-old");
    f.landing(D - 9 * DAY, old.clone());
    f.conversion(D - 9 * DAY + H, "purchase", true, Some((15.0, "EUR")), Some("T-5"), Some(old), granted());
    let no_data = Consent { ad_user_data: Signal::Denied, ..granted() };
    f.conversion(D + 13 * H, "purchase", true, Some((5.0, "EUR")), Some("T-6"), Some(click("gclid", "gclid-C")), no_data);
    // Sent without ad_user_data granted (a tag that should not have): not kept, not exported.
    f.events.last_mut().unwrap().user_data = Some(john());
    let stale = click("msclkid", "ms-old");
    f.landing(D - 40 * DAY, stale.clone());
    f.conversion(D + 14 * H, "purchase", true, Some((12.0, "EUR")), Some("T-7"), Some(stale), granted());
    f.conversion(D + 15 * H, "purchase", true, Some((8.0, "EUR")), Some("T-8"), None, granted());
    // No click ID at all, but a hashed phone: an enhanced conversion for Microsoft and Meta.
    f.events.last_mut().unwrap().user_data = Some(phone());

    db.store_events(f.events);
    let rows = goaltag_collector::import::parse(
        "transaction_id,goal,stage,value,currency,ts\nT-2,purchase,shipped,28.50,USD,2026-03-04T08:00:00Z\nT-9,purchase,shipped,9,USD,2026-03-04\n",
        goaltag_collector::import::Format::Csv,
    )
    .unwrap();
    db.rt.block_on(db.store.import("shop", rows, NOW)).unwrap();
    db
}

/// Runs `test` on SQLite, then on PostgreSQL.
macro_rules! on_both_stores {
    ($sqlite:ident, $postgres:ident, $test:ident) => {
        #[test]
        fn $sqlite() {
            $test(Db::sqlite());
        }
        #[test]
        #[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
        fn $postgres() {
            $test(Db::postgres("export"));
        }
    };
}

on_both_stores!(microsoft_bulk_file, microsoft_bulk_file_on_postgres, microsoft);
on_both_stores!(google_click_conversion_file_with_braid_columns_and_a_crm_stage, google_file_on_postgres, google);
on_both_stores!(meta_conversions_api_events, meta_conversions_api_events_on_postgres, meta);
on_both_stores!(the_consent_rule_needs_ad_user_data_and_ad_storage, the_consent_rule_on_postgres, consent_rule);
on_both_stores!(since_last_sends_each_conversion_once_and_reruns_give_the_same_rows, since_last_on_postgres, since_last);
on_both_stores!(two_exports_at_once_take_each_conversion_once, two_exports_at_once_on_postgres, concurrent_since_last);
on_both_stores!(the_window_and_the_range_are_honoured, the_window_and_the_range_on_postgres, window_and_range);
on_both_stores!(the_command_writes_the_file_and_says_what_it_left_out, the_command_on_postgres, command);
on_both_stores!(get_export_answers_the_file_with_its_summary, get_export_on_postgres, get_export);

fn goals() -> Goals {
    Goals::parse(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../www/goals.json")).unwrap()).unwrap()
}

fn request(platform: Platform, goals: &[&str], names: &[(&str, &str)]) -> Request {
    Request {
        site: "shop".into(),
        platform,
        goals: goals.iter().map(|g| g.to_string()).collect(),
        from: None,
        to: None,
        names: names.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        window_days: None,
        since_last: false,
    }
}

/// Compares with tests/golden/NAME; `GOALTAG_BLESS=1` rewrites the file instead.
fn golden(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("GOALTAG_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (GOALTAG_BLESS=1 writes it)", path.display()));
    assert_eq!(got, want, "{name} differs from its golden file");
}

fn left(pairs: &[(Reason, usize)]) -> BTreeMap<Reason, usize> {
    pairs.iter().copied().collect()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(false).from_reader(text.as_bytes());
    r.records().map(|rec| rec.unwrap().iter().map(String::from).collect()).collect()
}

fn microsoft(db: Db) {
    let db = fixture(db);
    let (file, summary) = db.export(&request(Platform::MicrosoftAds, &[], &[]));
    golden("microsoft-ads.csv", &file);
    let rows = csv_rows(&file);
    assert_eq!(rows[0], goaltag_collector::export::microsoft::HEADER, "the documented header");
    assert_eq!(rows[1], ["Format Version", "", "", "", "", "6.0", "", "", "", "", "", "", ""]);
    assert_eq!(&rows[0][11..], ["Hashed Email Address", "Hashed Phone Number"]);
    let ms = |time: &str, value: &str, click: &str, em: &str, ph: &str| {
        ["Offline Conversion", "", "", "", "", "", "EUR", "Purchase", time, value, click, em, ph].map(String::from).to_vec()
    };
    let usd = |mut r: Vec<String>| {
        r[6] = "USD".into();
        r
    };
    // The msclkid with John's email and phone; then two enhanced conversions
    // without an msclkid: T-2 (a gclid, Jane's email) and T-8 (a phone alone).
    assert_eq!(rows[2], ms("03/02/2026 10:00:00", "49.9", "ms-click-1", EM, PH));
    assert_eq!(rows[3], usd(ms("03/02/2026 11:00:00", "30", "", JANE, "")));
    assert_eq!(rows[4], ms("03/02/2026 15:00:00", "8", "", "", PH));
    assert_eq!(rows.len(), 5);
    // The primary goals' eight conversions: three exported, one outside the
    // window, four with neither an msclkid nor a hash (T-6's hashes came
    // without ad_user_data and were not kept).
    assert_eq!((summary.considered, summary.exported), (8, 3));
    assert_eq!(summary.left_out, left(&[(Reason::NoClickId, 4), (Reason::OutsideWindow, 1)]));
    assert_eq!(
        summary.to_string(),
        "microsoft-ads: 3 of 8 conversions exported; 5 left out: 4 without a Microsoft Advertising click ID (msclkid) \
         or a hashed email or phone, 1 outside the 30-day attribution window after the click"
    );
}

fn google(db: Db) {
    let db = fixture(db);
    let req = request(Platform::GoogleAds, &["purchase", "newsletter", "purchase:shipped"], &[("purchase:shipped", "Shipped order")]);
    let (file, summary) = db.export(&req);
    golden("google-ads.csv", &file);
    let rows = csv_rows(&file);
    assert_eq!(rows[0][0], "Parameters:TimeZone=+0000");
    assert_eq!(rows[1][..7], goaltag_collector::export::google::HEADER_BRAID);
    assert_eq!(rows[1][7..], goaltag_collector::export::google::USER_COLUMNS);
    assert_eq!(rows[1][7..], ["Email", "Phone Number"]);
    let body: Vec<Vec<&str>> = rows[2..].iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    // T-2's hashed email goes with its gclid, and with its shipped stage.
    assert_eq!(
        body,
        [
            vec!["", "", "wb-1", "Newsletter sign-up", "2026-03-02 09:25:00", "", "", "", ""],
            vec!["gclid-A", "", "", "Purchase", "2026-03-02 11:00:00", "30", "USD", JANE, ""],
            vec!["gclid-A", "", "", "Shipped order", "2026-03-04 08:00:00", "28.5", "USD", JANE, ""],
        ]
    );
    // The denied ad_user_data is left out for consent; T-9 has no online conversion.
    assert_eq!(summary.exported, 3);
    assert_eq!(summary.left_out[&Reason::Consent], 1);
    assert_eq!(summary.left_out[&Reason::NoOnlineConversion], 1);

    // The primary goals: T-8's hash without a gclid is not enough for Google.
    let (_, primary) = db.export(&request(Platform::GoogleAds, &[], &[]));
    assert_eq!((primary.exported, primary.left_out[&Reason::NoClickId]), (2, 5));
    assert!(primary.to_string().contains("5 without a Google Ads click ID (gclid, wbraid, gbraid), 1 without"), "{primary}");

    // Clicks with a gclid only and no hash: exactly the template's five columns.
    let (plain, _) = db.export(&request(Platform::GoogleAds, &["add_to_cart"], &[]));
    let rows = csv_rows(&plain);
    assert_eq!(rows[0], ["Parameters:TimeZone=+0000", "", "", "", ""]);
    assert_eq!(rows[1], goaltag_collector::export::google::HEADER);
    assert_eq!(rows[1], ["Google Click ID", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency"]);
    assert_eq!(rows.len(), 3);
}

fn meta(db: Db) {
    let db = fixture(db);
    let (file, summary) = db.export(&request(Platform::Meta, &[], &[]));
    golden("meta.json", &file);
    let v: serde_json::Value = serde_json::from_str(&file).unwrap();
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 4, "T-1 (John's hashes), T-2 (Jane's email), T-4 (an fbclid), T-8 (a phone)");
    let ids: Vec<&str> = data.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "00000000-0000-4000-8000-000000000002",
            "00000000-0000-4000-8000-000000000004",
            "00000000-0000-4000-8000-000000000009",
            "00000000-0000-4000-8000-00000000000f"
        ]
    );
    let arr = |h: &str| serde_json::json!([h]);
    assert_eq!(
        data[0]["user_data"],
        serde_json::json!({"client_user_agent": UA, "em": arr(META_EM), "ph": arr(META_PH), "ct": arr(CT)}),
        "advanced matching without an fbclid: no fbc"
    );
    assert_eq!(data[1]["user_data"], serde_json::json!({"client_user_agent": UA, "em": arr(JANE)}));
    assert_eq!(data[3]["user_data"], serde_json::json!({"client_user_agent": UA, "ph": arr(META_PH)}));
    let e = data[2].as_object().unwrap();
    // Only documented fields, and nothing personal beyond the click ID and the
    // browser's user agent (ad_user_data granted), which Meta requires.
    let keys: Vec<&str> = e.keys().map(String::as_str).collect();
    assert_eq!(keys, ["action_source", "custom_data", "event_id", "event_name", "event_source_url", "event_time", "user_data"]);
    assert_eq!(e["event_name"], "Purchase");
    assert_eq!(e["event_time"], (D + 12 * H + 1500) / 1000, "Unix seconds");
    assert_eq!(e["event_id"], "00000000-0000-4000-8000-000000000009", "the goaltag conversion ID");
    assert_eq!(e["action_source"], "website");
    assert_eq!(e["event_source_url"], "https://shop.example/checkout/confirmation.html", "no query");
    assert_eq!(
        e["user_data"],
        serde_json::json!({"fbc": format!("fb.1.{}.IwAR-fb1", D + 9 * H + 1_800_000), "client_user_agent": UA}),
        "no client_ip_address: the collector was not asked to keep addresses"
    );
    assert_eq!(e["custom_data"], serde_json::json!({"value": 20.0, "currency": "EUR"}));
    assert!(!file.contains("client-"), "no client ID leaves");
    assert_eq!(summary.left_out[&Reason::TooOld], 1, "the click from 9 days ago is past Meta's 7 days");
}

fn consent_rule(db: Db) {
    let mut f = Fixture { events: Vec::new(), n: 0 };
    let cases = [
        granted(),
        Consent { ad_user_data: Signal::Denied, ..granted() },
        Consent { ad_storage: Signal::Denied, ..granted() },
        Consent { analytics_storage: Signal::Denied, ad_personalization: Signal::Denied, ..granted() },
    ];
    for (i, c) in cases.iter().enumerate() {
        let a = click("gclid", &format!("g-{i}"));
        f.conversion(D + i as i64 * H, "purchase", true, None, None, Some(a), *c);
    }
    // And one with no consent snapshot at all.
    f.conversion(D + 5 * H, "purchase", true, None, None, Some(click("gclid", "g-5")), granted());
    f.events.last_mut().unwrap().consent = None;
    db.store_events(f.events);
    let (rows, summary) =
        db.rt.block_on(export::preview(&*db.store, &request(Platform::GoogleAds, &[], &[]), &Goals::default(), NOW)).unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.click_id.as_str()).collect();
    // Granted both: exported, whatever analytics and personalisation say.
    assert_eq!(ids, ["g-0", "g-3"]);
    assert_eq!(summary.left_out, left(&[(Reason::Consent, 3)]));
}

fn since_last(db: Db) {
    let db = fixture(db);
    let goals = goals();
    let mut req = request(Platform::GoogleAds, &["purchase", "newsletter"], &[]);
    let go = |req: &Request, at: i64| db.run(req, &goals, at).unwrap();
    let (file1, first) = go(&req, NOW);
    let (file2, again) = go(&req, NOW + H);
    assert_eq!(file1, file2, "the same range twice: the same rows");
    assert_eq!((first.exported, again.exported), (2, 2));
    req.since_last = true;
    let (file3, since) = go(&req, NOW + 2 * H);
    assert_eq!(since.exported, 0);
    assert_eq!(since.left_out[&Reason::ExportedBefore], 2);
    assert_eq!(file3.lines().count(), 2, "the parameters row and the header only");
    // Each conversion is recorded once, with its first export time.
    assert_eq!(db.recorded("google-ads"), [("Purchase".to_string(), NOW), ("Newsletter sign-up".to_string(), NOW)]);
    // A failed delivery records nothing.
    let ms = request(Platform::MicrosoftAds, &[], &[]);
    let err = db.rt.block_on(export::run(&*db.store, &ms, &goals, NOW, |_| anyhow::bail!("disk full"))).unwrap_err();
    assert!(format!("{err:#}").contains("disk full"), "{err:#}");
    assert_eq!(db.recorded("microsoft-ads"), []);
    // Nor does a preview (what the dashboard's panel reads).
    let (_, summary) = db.export(&ms);
    assert_eq!(summary.exported, 3);
    assert_eq!(db.recorded("microsoft-ads"), []);
    // An imported stage is recorded under its own key: since_last sends it once too.
    let stage = Request { since_last: true, ..request(Platform::GoogleAds, &["purchase:shipped"], &[]) };
    let (file, summary) = go(&stage, NOW + 3 * H);
    assert_eq!(summary.exported, 1, "{file}");
    let again = go(&stage, NOW + 4 * H).1;
    assert_eq!((again.exported, again.left_out[&Reason::ExportedBefore]), (0, 1));
}

/// Two `since_last` exports at the same moment: the second waits for the
/// first, so each conversion goes into exactly one of the two files.
fn concurrent_since_last(db: Db) {
    let db = fixture(db);
    let mut req = request(Platform::GoogleAds, &["purchase", "newsletter"], &[]);
    req.since_last = true;
    let goals = goals();
    let (a, b) = db.rt.block_on(async {
        let one = export::run(&*db.store, &req, &goals, NOW, |_| Ok(()));
        let two = export::run(&*db.store, &req, &goals, NOW, |_| Ok(()));
        tokio::join!(one, two)
    });
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.exported + b.exported, a.exported.min(b.exported)), (2, 0), "{a}\n{b}");
    assert_eq!(db.recorded("google-ads").len(), 2);
}

fn window_and_range(db: Db) {
    let db = fixture(db);
    let mut wide = request(Platform::MicrosoftAds, &[], &[]);
    wide.window_days = Some(60);
    let (file, summary) = db.export(&wide);
    assert!(file.contains("ms-old"), "a 60-day window takes the 40-day-old click");
    assert_eq!(summary.exported, 4);
    let mut day = request(Platform::MicrosoftAds, &[], &[]);
    day.from = Some(D / DAY + 1);
    let (_, summary) = db.export(&day);
    assert_eq!(summary.considered, 0, "nothing converted from D+1 on");
}

fn command(db: Db) {
    let db = fixture(db);
    let out = db.dir.path().join("ms.csv");
    let goals = concat!(env!("CARGO_MANIFEST_DIR"), "/../www/goals.json");
    let run = |extra: &[&str]| {
        let o = std::process::Command::new(BIN)
            .args(["export", "--db", &db.arg()])
            .args(["--site", "shop", "--platform", "microsoft-ads", "--goals", goals, "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stderr).to_string())
    };
    let (ok, stderr) = run(&["--name", "purchase=Online purchase"]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(
            "3 of 8 conversions exported; 5 left out: 4 without a Microsoft Advertising click ID (msclkid) or a hashed email or phone"
        ),
        "{stderr}"
    );
    let file = std::fs::read_to_string(&out).unwrap();
    assert!(file.contains(&format!(",Online purchase,03/02/2026 10:00:00,49.9,ms-click-1,{EM},{PH}\r\n")), "{file}");
    let (ok, stderr) = run(&["--since-last"]);
    assert!(ok);
    assert!(stderr.contains("0 of 8 conversions exported") && stderr.contains("3 exported before"), "{stderr}");
    let (ok, stderr) = run(&["--goal", "no such goal"]);
    assert!(!ok);
    assert!(stderr.contains("goal: \"no such goal\" is not a goal ID"), "{stderr}");
}

fn get_export(db: Db) {
    let db = fixture(db);
    let cfg = goaltag_collector::Config {
        db: db.db.clone(),
        goals: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../www/goals.json").into()),
        ..Default::default()
    };
    let s = common::Server::serve(goaltag_collector::router(cfg).unwrap(), db.arg().into(), tempfile::tempdir().unwrap());
    let r = common::agent().get(&format!("{}/export?site=shop&platform=microsoft-ads", s.base)).call().unwrap();
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(r.header("content-disposition"), Some("attachment; filename=\"goaltag-shop-microsoft-ads.csv\""));
    assert!(r.header("goaltag-export-summary").unwrap().starts_with("microsoft-ads: 3 of 8 conversions exported"));
    assert!(r.into_string().unwrap().contains("ms-click-1"));
    match common::agent().get(&format!("{}/export?site=shop&platform=bing", s.base)).call() {
        Err(ureq::Error::Status(400, r)) => assert!(r.into_string().unwrap().contains("platform: expected microsoft-ads")),
        other => panic!("expected 400, got {other:?}"),
    }
    // The panel: per platform, with a click ID, exportable, exported (the export above).
    let from = goaltag_collector::dates::format_date(D / DAY - 10);
    let to = goaltag_collector::dates::format_date(D / DAY + 3);
    let body = common::agent().get(&format!("{}/export/platforms?site=shop&from={from}&to={to}", s.base)).call().unwrap();
    let v: serde_json::Value = serde_json::from_str(&body.into_string().unwrap()).unwrap();
    let counts: Vec<(String, u64, u64, u64)> = v["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["platform"].as_str().unwrap().into(),
                p["with_click_id"].as_u64().unwrap(),
                p["exportable"].as_u64().unwrap(),
                p["exported"].as_u64().unwrap(),
            )
        })
        .collect();
    // Meta's exportable count depends on today's date (7 days), so only its click count is fixed.
    // Microsoft: T-1 and T-7 have an msclkid; T-1, T-2 and T-8 go (the last two by their hashes).
    assert_eq!(counts[0], ("microsoft-ads".into(), 2, 3, 3));
    assert_eq!(counts[1], ("google-ads".into(), 3, 2, 0));
    assert_eq!((counts[2].0.as_str(), counts[2].1), ("meta", 2));
}
