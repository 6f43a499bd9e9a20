//! What to export ([`Request`]), checked once for `GET /export` and
//! `goaltag-collector export` from the same [`Params`].

use super::{rows, Platform};
use crate::dates::{self, DAY_MS};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Longest conversion name: both Microsoft and Google cap goal names at 100 characters.
pub const MAX_NAME: usize = 100;

/// The parameters of `GET /export` and `goaltag-collector export`, as
/// given; [`Request::new`] checks them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Site key (required).
    pub site: Option<String>,
    /// `microsoft-ads`, `google-ads` or `meta` (required).
    pub platform: Option<String>,
    /// Goals and `goal:stage`s, repeated or comma-separated; none: the primary goals.
    #[serde(default)]
    pub goal: Vec<String>,
    /// First day of the conversion time, `YYYY-MM-DD` (UTC).
    pub from: Option<String>,
    /// Last day, included.
    pub to: Option<String>,
    /// Conversion names, `goal=Name` or `goal:stage=Name`, repeated.
    #[serde(default)]
    pub name: Vec<String>,
    /// The attribution window in days, 1 to 365.
    pub window_days: Option<String>,
    /// `true`/`1`/`yes` (or empty) to leave out what was exported before.
    pub since_last: Option<String>,
}

/// What to export, checked. `GET /export` and `goaltag-collector export`
/// read the same parameters ([`Params`], checked by [`Request::new`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Site key.
    pub site: String,
    /// Where the file goes.
    pub platform: Platform,
    /// Goals (`purchase`) and imported stages (`lead:qualified`); empty: the primary goals.
    pub goals: Vec<String>,
    /// First and last UTC day (days since 1970) of the conversion time, both included.
    pub from: Option<i64>,
    /// Last UTC day, included.
    pub to: Option<i64>,
    /// Conversion names by goal or `goal:stage`; others default to the goal's name.
    pub names: BTreeMap<String, String>,
    /// The attribution window in days, overriding the goal file's.
    pub window_days: Option<u32>,
    /// Leave out what was exported to this platform before.
    pub since_last: bool,
}

/// Checks `goal` or `goal:stage`.
fn check_selector(s: &str) -> Result<(), String> {
    let (goal, stage) = match s.split_once(':') {
        Some((g, st)) => (g, Some(st)),
        None => (s, None),
    };
    if !goaltag_wire::is_goal_id(goal) {
        return Err(format!("goal: {s:?} is not a goal ID (1 to 64 letters, digits, _, - or .), or ID:STAGE for an imported stage"));
    }
    if stage.is_some_and(|st| st.trim().is_empty() || st.len() > crate::ingest::MAX_TEXT) {
        return Err(format!("goal: {s:?} names an empty stage; write ID:STAGE, like lead:qualified"));
    }
    Ok(())
}

impl Request {
    /// Checks the parameters of `GET /export` (or the command's flags):
    /// `goal` and `name` may be repeated, `goal` also comma-separated; the
    /// error names the parameter.
    pub fn new(p: Params) -> Result<Request, String> {
        let site = p.site.map(|v| crate::import::check_site(&v).map(|()| v)).transpose()?;
        let platform = p.platform.map(|v| Platform::parse(&v)).transpose()?;
        let mut goals = Vec::new();
        for g in p.goal.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|g| !g.is_empty()) {
            check_selector(g)?;
            goals.push(g.to_string());
        }
        let from = p.from.map(|v| dates::parse_param("from", &v)).transpose()?;
        let to = p.to.map(|v| dates::parse_param("to", &v)).transpose()?;
        let mut names = BTreeMap::new();
        for v in &p.name {
            let (key, name) = v
                .split_once('=')
                .ok_or_else(|| format!("name: expected GOAL=Conversion name (like purchase=Online purchase), got {v:?}"))?;
            let (key, name) = (key.trim(), name.trim());
            check_selector(key).map_err(|e| e.replacen("goal:", "name:", 1))?;
            if name.is_empty() || name.chars().count() > MAX_NAME {
                return Err(format!("name: the conversion name for {key} must be 1 to {MAX_NAME} characters"));
            }
            names.insert(key.to_string(), name.to_string());
        }
        let window_days = match p.window_days {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=365).contains(n))
                    .ok_or_else(|| format!("window_days: expected a whole number of days from 1 to 365, got {v:?}"))?,
            ),
        };
        let since_last = match p.since_last.as_deref().map(str::trim) {
            None => false,
            Some("" | "1" | "true" | "yes") => true,
            Some("0" | "false" | "no") => false,
            Some(v) => return Err(format!("since_last: expected true or false, got {v:?}")),
        };
        let site = site.ok_or("site: required, as in site=demo-shop")?;
        let platform = platform.ok_or("platform: required: microsoft-ads, google-ads or meta")?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(format!("from ({}) is after to ({})", dates::format_date(f), dates::format_date(t)));
            }
        }
        Ok(Request { site, platform, goals, from, to, names, window_days, since_last })
    }

    /// The conversion times asked for, in ms: all of them when `from` or `to` is not given.
    pub fn range(&self) -> rows::Range {
        (self.from.map_or(i64::MIN, |d| d * DAY_MS), self.to.map_or(i64::MAX, |d| (d + 1) * DAY_MS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &[(&str, &str)]) -> Result<Request, String> {
        let mut params = Params::default();
        for (k, v) in p {
            let v = Some(v.to_string());
            match *k {
                "site" => params.site = v,
                "platform" => params.platform = v,
                "goal" => params.goal.extend(v),
                "from" => params.from = v,
                "to" => params.to = v,
                "name" => params.name.extend(v),
                "window_days" => params.window_days = v,
                "since_last" => params.since_last = v,
                _ => unreachable!("{k}"),
            }
        }
        Request::new(params)
    }

    #[test]
    fn requests_are_checked_and_name_the_parameter() {
        let r = parse(&[
            ("site", "s"),
            ("platform", "meta"),
            ("goal", "purchase,lead:qualified"),
            ("name", "purchase = Buy"),
            ("since_last", ""),
        ])
        .unwrap();
        assert_eq!(r.goals, ["purchase", "lead:qualified"]);
        assert_eq!(r.names["purchase"], "Buy");
        assert!(r.since_last);
        assert_eq!(parse(&[("site", "s")]).unwrap_err(), "platform: required: microsoft-ads, google-ads or meta");
        assert!(parse(&[("site", "s"), ("platform", "tiktok")]).unwrap_err().starts_with("platform: expected"));
        assert!(parse(&[("site", "s"), ("platform", "meta"), ("goal", "a b")]).unwrap_err().starts_with("goal:"));
        assert!(parse(&[("site", "s"), ("platform", "meta"), ("goal", "lead:")]).unwrap_err().contains("empty stage"));
        assert!(parse(&[("site", "s"), ("platform", "meta"), ("name", "purchase")]).unwrap_err().starts_with("name: expected"));
        assert!(parse(&[("site", "s"), ("platform", "meta"), ("window_days", "0")]).unwrap_err().starts_with("window_days"));
        assert!(parse(&[("site", "s"), ("platform", "meta"), ("from", "2026-02-02"), ("to", "2026-02-01")]).unwrap_err().contains("after"));
    }
}
