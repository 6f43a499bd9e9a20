//! A conversion's path: the touches that led to it, in order.
//!
//! The path of a conversion at time `t` is its visitor's (client ID's)
//! visits whose start lies within the lookback before `t` (`t - lookback <=
//! start <= t`), in order of start, each visit's touch being its source
//! (see [`super::channel`]), named at the report's level. Direct touches are
//! dropped unless every touch is direct; then consecutive repeats of one
//! channel are collapsed into one touch, which keeps the latest start of the
//! run (the time decay model weighs a touch by how recent it is). Visits may
//! start before the report's `from` day.

/// One visit of a visitor: when it began and its touch's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    /// Its first page view, ms since the Unix epoch.
    pub start: i64,
    /// Its channel at the report's level (an index into the report's keys).
    pub key: u32,
    /// True when the channel is direct traffic.
    pub direct: bool,
}

/// One touch of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The channel (an index into the report's keys).
    pub key: u32,
    /// When the touch's visit (the latest of a collapsed run) began.
    pub at: i64,
}

/// The visits of `visits` (sorted by start) that lie in the lookback before
/// `until`: `until - lookback_ms <= start <= until`.
pub fn window(visits: &[Visit], until: i64, lookback_ms: i64) -> &[Visit] {
    let lo = visits.partition_point(|v| v.start < until.saturating_sub(lookback_ms));
    let hi = visits.partition_point(|v| v.start <= until);
    &visits[lo..hi.max(lo)]
}

/// The path made of `visits` (in order of start; see the module docs).
pub fn path(visits: &[Visit]) -> Vec<Step> {
    let all_direct = visits.iter().all(|v| v.direct);
    let mut steps: Vec<Step> = Vec::with_capacity(visits.len());
    for v in visits.iter().filter(|v| all_direct || !v.direct) {
        match steps.last_mut() {
            Some(last) if last.key == v.key => last.at = v.start,
            _ => steps.push(Step { key: v.key, at: v.start }),
        }
    }
    steps
}
