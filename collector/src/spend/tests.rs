//! The spend reader on small hand-written files: each format's rows as a
//! marketer would add them up by hand, and every refusal with its line.

use super::*;
use crate::dates::parse_date;

fn day(s: &str) -> i64 {
    parse_date(s).unwrap()
}

fn refused(body: &str) -> String {
    parse(body.as_bytes()).unwrap_err().to_string()
}

#[test]
fn documented_columns_in_any_order_and_case() {
    let p =
        parse(b"Cost,CURRENCY,campaign, Date ,network,keyword\r\n12.50,eur, Winter Sale ,2026-03-01, Microsoft ,winter boots\r\n").unwrap();
    assert_eq!(p.format, Format::Documented);
    assert_eq!(
        p.rows,
        vec![SpendRow {
            date: day("2026-03-01"),
            network: "Microsoft".into(),
            campaign: "Winter Sale".into(),
            ad_group: String::new(),
            ad: String::new(),
            keyword: "winter boots".into(),
            currency: "EUR".into(),
            cost: 12.5,
            clicks: None,
            impressions: None,
        }]
    );
}

#[test]
fn rows_with_one_key_add_up() {
    // Two devices of one keyword on one day: 18.40 + 11.60 = 30.00, 40 + 25 clicks.
    let body = "date,network,campaign,keyword,cost,currency,clicks\n\
                2026-03-01,Microsoft,Winter Sale,boots,18.40,EUR,40\n\
                2026-03-01,Microsoft,Winter Sale,boots,11.60,EUR,25\n\
                2026-03-01,Microsoft,Winter Sale,boots,5,USD,\n";
    let p = parse(body.as_bytes()).unwrap();
    assert_eq!(p.read, 3);
    assert_eq!(p.rows.len(), 2);
    assert!((p.rows[0].cost - 30.0).abs() < 1e-9);
    assert_eq!(p.rows[0].clicks, Some(65));
    assert_eq!((p.rows[1].currency.as_str(), p.rows[1].cost, p.rows[1].clicks), ("USD", 5.0, None));
}

#[test]
fn refusals_name_the_line_and_what_was_expected() {
    assert_eq!(refused(""), "the file is empty");
    assert_eq!(refused("\n\n"), "the file is empty");
    assert_eq!(refused("date,network,campaign,cost,currency\n"), "line 1: the header has no rows under it; nothing to import");
    assert_eq!(refused("date,network,campaign,cost,currency\n\n,,,,\n"), "line 1: the header has no rows under it; nothing to import");
    let e = refused("foo,bar,baz\n1,2,3\n");
    assert!(e.starts_with("line 1: no spend header found (columns \"foo\", \"bar\", \"baz\"); expected the columns date, network"), "{e}");
    assert_eq!(
        refused("date,network,campaign,cost,currency,budget\n"),
        "line 1: unknown column \"budget\"; the columns are date, network, campaign, cost, currency, ad_group, ad, keyword, clicks, impressions"
    );
    assert_eq!(
        refused("date,network,campaign,cost\n"),
        "line 1: the header has no currency column (required: date, network, campaign, cost, currency)"
    );
    let head = "date,network,campaign,cost,currency\n2026-02-28,Google,A,1.00,EUR\n";
    assert_eq!(
        refused(&format!("{head}2026-02-30,Google,A,1.00,EUR\n")),
        "line 3: column \"date\": expected a date like 2026-02-28 (YYYY-MM-DD, a day that exists), got \"2026-02-30\""
    );
    assert_eq!(refused(&format!("{head}2026-02-27,Google,A,-3.20,EUR\n")), "line 3: column \"cost\": must not be negative, got \"-3.20\"");
    assert_eq!(
        refused(&format!("{head}2026-02-27,Google,A,12 EUR,EUR\n")),
        "line 3: column \"cost\": expected an amount like 1234.56 or 1,234.56, got \"12 EUR\""
    );
    assert_eq!(
        refused(&format!("{head}2026-02-27,Google,A,,EUR\n")),
        "line 3: column \"cost\": expected an amount like 1234.56 or 1,234.56, got \"\""
    );
    assert_eq!(
        refused(&format!("{head}2026-02-27,Google,A,1,EURO\n")),
        "line 3: column \"currency\": expected a 3-letter ISO 4217 code like EUR, got \"EURO\""
    );
    assert_eq!(
        refused(&format!("{head}2026-02-27,Google,A,1,€\n")),
        "line 3: column \"currency\": expected a 3-letter ISO 4217 code like EUR, got \"€\""
    );
    assert_eq!(refused(&format!("{head}2026-02-27,,A,1,EUR\n")), "line 3: column \"network\": required, and empty");
    assert_eq!(refused(&format!("{head}2026-02-27,Google,A,1\n")), "line 3: 4 fields, but the header has 5");
    // A quoted field holding a line break: the next record starts on line 4.
    assert_eq!(refused(&format!("{head}2026-02-27,Google,\"A\nB\",1,EUR\n2026-02-31,G,A,1,EUR\n")).split(':').next(), Some("line 5"));
}

#[test]
fn a_hundred_thousand_rows_import_and_the_caps_refuse_cleanly() {
    let mut body = String::from("date,network,campaign,keyword,cost,currency\n");
    for i in 0..100_000 {
        body.push_str(&format!("2026-0{}-{:02},Google,Campaign {},kw {},1.25,EUR\n", 1 + i % 9, 1 + i % 28, i % 200, i));
    }
    let t = std::time::Instant::now();
    let p = parse(body.as_bytes()).unwrap();
    assert_eq!((p.read, p.rows.len()), (100_000, 100_000));
    assert!((p.rows.iter().map(|r| r.cost).sum::<f64>() - 125_000.0).abs() < 1e-6);
    assert!(t.elapsed().as_secs() < 120, "{:?}", t.elapsed());

    for i in 0..(MAX_ROWS + 1 - 100_000) {
        body.push_str(&format!("2026-01-01,Google,More,kw {i},1,EUR\n"));
    }
    assert_eq!(refused(&body), format!("line {}: more than {MAX_ROWS} rows; split the file (by date range)", MAX_ROWS + 2));

    let big = vec![b'x'; 50 << 20];
    assert_eq!(parse(&big).unwrap_err().to_string(), "the file is larger than 32 MiB; split it by date range");
}

#[test]
fn microsoft_report_header_footer_and_aggregation() {
    let head = "\"Report Name: K\"\r\n\"Report Aggregation: Weekly\"\r\n\r\n\"TimePeriod\",\"CampaignName\",\"CurrencyCode\",\"Spend\"\r\n";
    assert_eq!(
        refused(&format!("{head}\"2026-03-01\",\"A\",\"EUR\",\"1\"\r\n")),
        "line 2: the report is aggregated \"Weekly\"; run it with Daily aggregation"
    );
    let head = head.replace("Weekly", "Daily");
    let p = parse(
        format!("{head}\"3/1/2026\",\"A\",\"EUR\",\"1,000.5\"\r\n\r\n\"©2026 Microsoft Corporation. All rights reserved. \"\r\n")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(p.format, Format::Microsoft);
    assert_eq!((p.rows[0].date, p.rows[0].network.as_str(), p.rows[0].cost), (day("2026-03-01"), "Microsoft", 1000.5));
    assert_eq!(
        refused(&format!("{head}\"2026-03-01\",\"A\",\"EUR\",\"1\"\r\n\"©2026 Microsoft Corporation. All rights reserved.\"\r\n\"2026-03-02\",\"A\",\"EUR\",\"1\"\r\n")),
        "line 7: a row after the Microsoft Corporation footer on line 6"
    );
    assert_eq!(
        refused("\"TimePeriod\",\"CampaignName\",\"Spend\"\n"),
        "line 1: the Microsoft Advertising report has no currencycode column; add the CurrencyCode column"
    );
    assert_eq!(
        refused(&format!("{head}\r\n\"©2026 Microsoft Corporation. All rights reserved.\"\r\n")),
        "the report has no rows; nothing to import"
    );
}

#[test]
fn google_totals_are_skipped_and_keywords_lose_their_match_marks() {
    let body = "Keyword report\nNovember 1, 2026 - November 2, 2026\nDay,Campaign,Ad group,Keyword,Currency code,Clicks,Cost\n\
                2026-11-01,S,G,[red shoes],EUR,\"1,200\",\"1,000.00\"\n2026-11-01,S,G,\"\"\"blue shoes\"\"\",EUR,--,2.50\n\
                2026-11-02,S,--,red shoes,EUR,3,--\nTotal: Account,,,,,\"1,203\",\"1,002.50\"\n";
    let p = parse(body.as_bytes()).unwrap();
    assert_eq!(p.format, Format::Google);
    let got: Vec<(&str, &str, f64, Option<u64>)> =
        p.rows.iter().map(|r| (r.ad_group.as_str(), r.keyword.as_str(), r.cost, r.clicks)).collect();
    assert_eq!(got, vec![("G", "red shoes", 1000.0, Some(1200)), ("G", "blue shoes", 2.5, None), ("", "red shoes", 0.0, Some(3))]);
    assert_eq!(
        refused("Campaign,Cost,Currency code\nA,1,EUR\n"),
        "line 1: the Google Ads report has no day column; segment the report by Day (Segment > Time > Day)"
    );
}

#[test]
fn meta_currency_from_the_header_and_one_day_per_row() {
    let body = "Reporting starts,Reporting ends,Campaign name,Ad set name,Ad name,Amount spent (usd)\n\
                2026-11-01,2026-11-01,C,S,A,\"1,234.56\"\n";
    let p = parse(body.as_bytes()).unwrap();
    assert_eq!(p.format, Format::Meta);
    let r = &p.rows[0];
    assert_eq!((r.network.as_str(), r.ad_group.as_str(), r.ad.as_str(), r.currency.as_str(), r.cost), ("Meta", "S", "A", "USD", 1234.56));
    let e = refused(&body.replace("2026-11-01,2026-11-01", "2026-11-01,2026-11-30"));
    assert_eq!(e, "line 2: column \"Reporting ends\": the row covers 2026-11-01 to 2026-11-30; export with Breakdown > By time > Day so that each row is one day");
    assert!(refused("Reporting starts,Campaign name,Amount spent (Euro)\n")
        .starts_with("line 1: \"Amount spent (Euro)\": expected the currency"));
    let with_column = parse(b"Day,Campaign name,Currency,Amount spent\n2026-11-01,C,GBP,3\n").unwrap();
    assert_eq!((with_column.rows[0].currency.as_str(), with_column.rows[0].cost), ("GBP", 3.0));
}

#[test]
fn a_point_that_may_be_a_thousands_separator_is_not_guessed() {
    let head = "date,network,campaign,cost,currency\n";
    // German number formatting: 1.234 is one thousand two hundred and
    // thirty-four euros. Read the US way it would be 1.234 €, a thousand
    // times too small, so the file is refused at its first such cost.
    assert_eq!(
        refused(&format!("{head}2026-03-01,Google,A,950,EUR\n2026-03-02,Google,A,1.234,EUR\n2026-03-03,Google,A,12.500,EUR\n")),
        "line 3: cost \"1.234\" could be 1.234 or 1234 (a point as thousands separator), and no cost in the file tells \
         which: download reports with English (US) number formatting (1,234.00)"
    );
    // One cost with two decimals, or with a comma thousands separator, shows
    // the US formatting: 1.234 + 12.50 = 13.734, and 1.234 + 1,234 = 1235.234.
    let p = parse(format!("{head}2026-03-02,Google,A,1.234,EUR\n2026-03-02,Google,A,12.50,EUR\n").as_bytes()).unwrap();
    assert!((p.rows[0].cost - 13.734).abs() < 1e-9, "{}", p.rows[0].cost);
    let p = parse(format!("{head}2026-03-02,Google,A,1.234,EUR\n2026-03-02,Google,A,\"1,234\",EUR\n").as_bytes()).unwrap();
    assert!((p.rows[0].cost - 1235.234).abs() < 1e-9, "{}", p.rows[0].cost);
    // No point at all is no question: 950 + 1234 = 2184.
    let p = parse(format!("{head}2026-03-02,Google,A,950,EUR\n2026-03-02,Google,A,1234,EUR\n").as_bytes()).unwrap();
    assert_eq!(p.rows[0].cost, 2184.0);
    // A vendor report too: a Google Ads download whose costs all have three decimals.
    let google = "Day,Campaign,Currency code,Cost\n2026-03-02,A,EUR,2.000\n";
    assert!(refused(google).starts_with("line 2: cost \"2.000\" could be 2.000 or 2000"), "{}", refused(google));
}
