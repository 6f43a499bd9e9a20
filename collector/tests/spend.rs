//! Spend import: the platforms' report files in tests/spend/ read into the
//! rows a marketer would add up by hand from the same file.

use goaltag_collector::dates::parse_date;
use goaltag_collector::model::spend::SpendRow;
use goaltag_collector::spend::{self, Format};

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
