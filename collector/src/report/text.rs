//! The report as plain-text tables for a terminal (`goaltag-collector report`).

use super::{Money, Report};

fn money_text(values: &[Money]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let parts: Vec<String> =
        values.iter().map(|m| format!("{:.2} {}", m.value, m.currency.as_deref().unwrap_or("(no currency)"))).collect();
    parts.join(", ")
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// A table with a header line; columns after the first are right-aligned
/// when every cell in them is a number.
fn table(out: &mut String, title: &str, header: &[&str], rows: &[Vec<String>]) {
    out.push_str(&format!("\n{title}\n"));
    if rows.is_empty() {
        out.push_str("  (none)\n");
        return;
    }
    let cols = header.len();
    let width: Vec<usize> =
        (0..cols).map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0)).collect();
    let numeric: Vec<bool> = (0..cols).map(|i| i > 0 && rows.iter().all(|r| r[i].trim_end_matches('%').parse::<f64>().is_ok())).collect();
    let line = |cells: Vec<&str>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| if numeric[i] { format!("{c:>w$}", w = width[i]) } else { format!("{c:<w$}", w = width[i]) })
            .collect();
        format!("  {}\n", s.join("  ").trim_end())
    };
    out.push_str(&line(header.to_vec()));
    out.push_str(&format!("  {}\n", width.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  ")));
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
}

/// The report as plain-text tables for a terminal.
pub fn text(r: &Report) -> String {
    let t = &r.totals;
    let mut out = format!(
        "goaltag report for {} from {} to {} (UTC)\n\n  page views {}  visits {}  unique visitors {}\n  conversions {} ({} primary, {} secondary)  value {} (primary {})\n",
        r.site, r.from, r.to, t.page_views, t.visits, t.unique_visitors, t.conversions, t.primary_conversions,
        t.secondary_conversions, money_text(&t.values), money_text(&t.primary_values)
    );
    let goals: Vec<Vec<String>> = r
        .goals
        .iter()
        .map(|g| {
            vec![
                g.goal.clone(),
                if g.primary { "primary" } else { "secondary" }.into(),
                g.conversions.to_string(),
                g.unique_visitors.to_string(),
                g.conversions_without_id.to_string(),
                money_text(&g.values),
            ]
        })
        .collect();
    table(&mut out, "Goals", &["goal", "kind", "conversions", "visitors", "no ID", "value"], &goals);
    let sources: Vec<Vec<String>> = r
        .sources
        .iter()
        .map(|s| {
            vec![
                s.source.clone(),
                s.visits.to_string(),
                s.conversions.to_string(),
                s.primary_conversions.to_string(),
                money_text(&s.primary_values),
                money_text(&s.values),
            ]
        })
        .collect();
    table(&mut out, "Sources", &["source", "visits", "conversions", "primary", "primary value", "all value"], &sources);
    let landing: Vec<Vec<String>> =
        r.landing_pages.iter().map(|l| vec![l.path.clone(), l.visits.to_string(), l.conversions.to_string()]).collect();
    table(&mut out, "Landing pages", &["path", "visits", "conversions"], &landing);
    let funnel: Vec<Vec<String>> = r
        .funnel
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| vec![format!("{}. {}", i + 1, s.path), s.visits.to_string(), s.drop_off.to_string(), percent(s.rate)])
        .collect();
    table(&mut out, "Funnel (visits)", &["step", "visits", "drop-off", "of previous"], &funnel);
    if r.funnel.page_views_without_id > 0 {
        out.push_str(&format!(
            "  {} page views had no visit or client ID (no consent) and are not in visits, landing pages or the funnel\n",
            r.funnel.page_views_without_id
        ));
    }
    let imports: Vec<Vec<String>> = r
        .imports
        .iter()
        .flat_map(|g| {
            g.stages.iter().map(|s| {
                vec![
                    g.goal.clone(),
                    s.stage.clone(),
                    s.rows.to_string(),
                    s.matched.to_string(),
                    s.unmatched.to_string(),
                    money_text(&s.values),
                ]
            })
        })
        .collect();
    table(&mut out, "Offline conversions (imported)", &["goal", "stage", "rows", "matched", "unmatched", "value"], &imports);
    if let Some(a) = &r.attribution {
        attribution(&mut out, a);
    }
    let days: Vec<Vec<String>> = r
        .daily
        .iter()
        .filter(|d| d.page_views > 0 || d.conversions > 0)
        .map(|d| vec![d.date.clone(), d.page_views.to_string(), d.conversions.to_string(), money_text(&d.values)])
        .collect();
    table(&mut out, "Daily (days with data)", &["date", "page views", "conversions", "value"], &days);
    let q = &r.data_quality;
    let quality = vec![
        vec!["batches received".to_string(), q.batches.to_string()],
        vec!["duplicates absorbed".into(), q.duplicates_absorbed.to_string()],
        vec!["retried batches".into(), q.retried_batches.to_string()],
        vec!["dropped by the tag: overflow".into(), q.dropped_overflow.to_string()],
        vec!["dropped by the tag: refused".into(), q.dropped_poison.to_string()],
        vec!["dropped by the tag: expired".into(), q.dropped_expired.to_string()],
        vec!["dropped by the tag: consent withdrawn".into(), q.dropped_consent.to_string()],
        vec!["bodies rejected (all sites)".into(), q.rejected_bodies.to_string()],
        vec!["page views without ID".into(), q.page_views_without_id.to_string()],
        vec!["conversions without client ID".into(), q.conversions_without_client_id.to_string()],
    ];
    table(&mut out, "Data quality", &["figure", "count"], &quality);
    let keys: Vec<Vec<String>> = r
        .match_keys
        .iter()
        .map(|m| vec![m.network.to_string(), m.click_id.to_string(), m.hashed_email_or_phone.to_string(), m.neither.to_string()])
        .collect();
    table(&mut out, "Match keys (primary conversions, per ad network)", &["network", "click ID", "hashed email/phone", "neither"], &keys);
    out
}

/// The attribution table: one row per key, the levels down to `by`.
fn attribution(out: &mut String, a: &super::attribution::Report) {
    let levels = match a.by.as_str() {
        "network" => 1,
        "campaign" => 2,
        "ad_group" => 3,
        _ => 4,
    };
    let optional = |v: &Option<Vec<Money>>| v.as_deref().map_or_else(|| "-".to_string(), money_text);
    let rows: Vec<Vec<String>> = a
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.network.clone()];
            for level in [&row.campaign, &row.ad_group, &row.keyword].into_iter().take(levels - 1) {
                cells.push(level.clone().flatten().unwrap_or_else(|| "-".into()));
            }
            let roas = row.roas.as_ref().map_or_else(
                || "-".to_string(),
                |r| {
                    let parts: Vec<String> =
                        r.iter().map(|m| format!("{:.2} ({})", m.value, m.currency.as_deref().unwrap_or("?"))).collect();
                    if parts.is_empty() {
                        "-".into()
                    } else {
                        parts.join(", ")
                    }
                },
            );
            cells.extend([
                row.visits.to_string(),
                format!("{:.2}", row.conversions),
                money_text(&row.values),
                optional(&row.cost),
                roas,
                optional(&row.cpa),
            ]);
            cells
        })
        .collect();
    let mut header = vec!["network", "campaign", "ad group", "keyword"];
    header.truncate(levels);
    header.extend(["visits", "conversions", "value", "cost", "ROAS", "CPA"]);
    let title = format!("Attribution ({}, by {}, {}-day lookback; primary conversions)", a.model, a.by, a.lookback_days);
    table(out, &title, &header, &rows);
}
