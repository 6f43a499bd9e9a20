//! Rate limits: a token bucket per client IP (counting requests, checked
//! before the body is parsed) and one per site key (counting events, checked
//! before storing). The defaults sit far above what a real shop sends, so
//! they only bite on floods; a limited request gets 429 with `Retry-After`,
//! which the tag honours.
//!
//! Memory is bounded: buckets that have refilled are indistinguishable from
//! new ones and are swept, and past `max_tracked` keys every unknown key shares
//! one overflow bucket, so spraying addresses or made-up site keys degrades
//! to one shared limit instead of growing the table.

use governor::clock::{Clock, MonotonicClock};
use governor::nanos::Nanos;
use governor::state::keyed::{HashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::StateStore;
use governor::{NotUntil, Quota, RateLimiter};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The rate limit settings. A rate of 0 turns that limit off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per second per client IP (IPv6: per /64, what one household gets).
    pub ip_rate: u32,
    /// Requests one IP may send at once above the rate.
    pub ip_burst: u32,
    /// Events per second per site key.
    pub site_rate: u32,
    /// Events one site may send at once above the rate.
    pub site_burst: u32,
    /// Most IPs (and, separately, site keys) with a bucket; past this, unknown
    /// keys share one.
    pub max_tracked: usize,
    /// Take the client IP from `X-Forwarded-For` (its last entry, the one the
    /// proxy in front added). Only behind a proxy: otherwise anyone picks their IP.
    pub trust_forwarded_for: bool,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { ip_rate: 100, ip_burst: 1000, site_rate: 5000, site_burst: 100_000, max_tracked: 100_000, trust_forwarded_for: false }
    }
}

impl RateLimits {
    /// Refuses settings under which valid batches could never pass.
    pub fn validate(&self, max_events: usize) -> anyhow::Result<()> {
        if self.ip_rate > 0 {
            anyhow::ensure!(self.ip_burst > 0, "ip_burst must be at least 1 while the IP rate limit is on");
        }
        if self.site_rate > 0 {
            anyhow::ensure!(
                self.site_burst as usize >= max_events,
                "site_burst ({}) must be at least max_events ({max_events}), or a full batch could never be stored",
                self.site_burst
            );
        }
        anyhow::ensure!(self.max_tracked > 0, "max_tracked must be at least 1");
        Ok(())
    }
}

/// A refusal: when to come back (whole seconds, at least 1, for `Retry-After`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// Seconds until a request would pass (`Retry-After`), at least 1.
    pub retry_after_secs: u64,
    /// Which limit refused it (the answer's `error`).
    pub reason: String,
}

/// Both limiters, shared by all requests.
pub struct Limiters {
    ip: Option<Keyed<IpAddr>>,
    site: Option<Keyed<String>>,
    trust_forwarded_for: bool,
    /// Requests refused since the last summary line in the log.
    refused: AtomicU64,
}

impl Limiters {
    /// Both limiters as `cfg` sets them (a rate of 0 turns one off).
    pub fn new(cfg: &RateLimits) -> Limiters {
        Limiters {
            ip: Keyed::new(cfg.ip_rate, cfg.ip_burst, cfg.max_tracked, IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            // "" is never a valid site key, so no real site shares the overflow bucket by name.
            site: Keyed::new(cfg.site_rate, cfg.site_burst, cfg.max_tracked, String::new()),
            trust_forwarded_for: cfg.trust_forwarded_for,
            refused: AtomicU64::new(0),
        }
    }

    /// The address the IP limit counts: the TCP peer, or with
    /// `trust_forwarded_for` the last valid `X-Forwarded-For` entry.
    pub fn client_ip(&self, peer: Option<SocketAddr>, headers: &axum::http::HeaderMap) -> Option<IpAddr> {
        if self.trust_forwarded_for {
            let last = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .next_back();
            if last.is_some() {
                return last;
            }
        }
        peer.map(|p| p.ip())
    }

    /// One request from `ip`.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Limited> {
        let Some(k) = &self.ip else { return Ok(()) };
        self.counted(k.check(&bucket_of(ip), 1), |wait| format!("too many requests from your address; retry in {wait} s"))
    }

    /// A batch of `events` events for `site`.
    pub fn check_site(&self, site: &str, events: usize) -> Result<(), Limited> {
        let Some(k) = &self.site else { return Ok(()) };
        let n = u32::try_from(events).unwrap_or(u32::MAX);
        self.counted(k.check(&site.to_string(), n), |wait| {
            format!("site {site:?} is sending more events than this collector accepts; retry in {wait} s")
        })
    }

    fn counted(&self, r: Result<(), u64>, reason: impl FnOnce(u64) -> String) -> Result<(), Limited> {
        r.map_err(|wait| {
            self.refused.fetch_add(1, Ordering::Relaxed);
            Limited { retry_after_secs: wait, reason: reason(wait) }
        })
    }

    /// Sweeps refilled buckets (every few seconds, or at once when a table is
    /// full) and logs how many requests were refused since the last sweep: one
    /// line per interval rather than one per refused request during a flood.
    pub fn housekeeping(&self) {
        let ip = self.ip.as_ref().map(Keyed::sweep).unwrap_or(false);
        let site = self.site.as_ref().map(Keyed::sweep).unwrap_or(false);
        if ip || site {
            let refused = self.refused.swap(0, Ordering::Relaxed);
            if refused > 0 {
                tracing::warn!(
                    refused,
                    tracked_ips = self.ip.as_ref().map_or(0, |k| k.limiter.len()),
                    tracked_sites = self.site.as_ref().map_or(0, |k| k.limiter.len()),
                    "rate limits refused requests (429) since the last report"
                );
            }
        }
    }

    /// Keys with a bucket now: (IPs, sites).
    pub fn tracked(&self) -> (usize, usize) {
        (self.ip.as_ref().map_or(0, |k| k.limiter.len()), self.site.as_ref().map_or(0, |k| k.limiter.len()))
    }
}

/// IPv6 clients get a whole /64 (one customer's network), so rotating through
/// the addresses of one's own prefix does not multiply the limit.
fn bucket_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// How often refilled buckets are swept when the table is not full.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// How often a full table may be swept: a sweep walks the whole table.
const SWEEP_FULL_EVERY: Duration = Duration::from_secs(1);

struct Keyed<K: Hash + Eq + Clone> {
    limiter: RateLimiter<K, Capped<K>, MonotonicClock>,
    cap: usize,
    last_sweep: Mutex<Instant>,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(rate: u32, burst: u32, cap: usize, overflow: K) -> Option<Keyed<K>> {
        let rate = NonZeroU32::new(rate)?;
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        let store = Capped { map: HashMapStateStore::new(HashMap::default()), cap, overflow };
        Some(Keyed {
            limiter: RateLimiter::new(Quota::per_second(rate).allow_burst(burst), store, MonotonicClock),
            cap,
            last_sweep: Mutex::new(Instant::now()),
        })
    }

    /// Takes `n` tokens, or says in how many whole seconds they will be there.
    fn check(&self, key: &K, n: u32) -> Result<(), u64> {
        let Some(n) = NonZeroU32::new(n) else { return Ok(()) };
        match self.limiter.check_key_n(key, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(seconds(&not_until)),
            // More than the burst at once can never pass; RateLimits::validate
            // keeps batches below it, so this is a sender ignoring the limits.
            Err(_) => Err(60),
        }
    }

    /// Drops refilled buckets if it is time; true if it swept.
    fn sweep(&self) -> bool {
        let Ok(mut last) = self.last_sweep.try_lock() else { return false };
        let due = if self.limiter.len() >= self.cap { SWEEP_FULL_EVERY } else { SWEEP_EVERY };
        if last.elapsed() < due {
            return false;
        }
        *last = Instant::now();
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        true
    }
}

fn seconds(not_until: &NotUntil<Instant>) -> u64 {
    let wait = not_until.wait_time_from(MonotonicClock.now());
    // Whole seconds, rounded up, never 0: "Retry-After: 0" invites a tight loop.
    (wait.as_millis() as u64).div_ceil(1000).max(1)
}

/// governor's mutexed HashMap store with a cap: once `cap` keys have a bucket,
/// a key without one is counted in the shared `overflow` bucket instead.
struct Capped<K> {
    map: HashMapStateStore<K>,
    cap: usize,
    overflow: K,
}

impl<K: Hash + Eq + Clone> StateStore for Capped<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let key = {
            let map = self.map.lock();
            if map.len() >= self.cap && !map.contains_key(key) {
                &self.overflow
            } else {
                key
            }
        };
        self.map.measure_and_replace(key, f)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<K> for Capped<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        self.map.retain_recent(drop_below)
    }
    fn shrink_to_fit(&self) {
        self.map.shrink_to_fit()
    }
    fn len(&self) -> usize {
        ShrinkableKeyedStateStore::len(&self.map)
    }
    fn is_empty(&self) -> bool {
        ShrinkableKeyedStateStore::is_empty(&self.map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn limits(edit: impl FnOnce(&mut RateLimits)) -> Limiters {
        let mut cfg = RateLimits::default();
        edit(&mut cfg);
        Limiters::new(&cfg)
    }

    #[test]
    fn an_ip_gets_its_burst_then_429_with_whole_seconds() {
        let l = limits(|c| {
            c.ip_rate = 1;
            c.ip_burst = 3;
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            l.check_ip(a).unwrap();
        }
        let refused = l.check_ip(a).unwrap_err();
        assert_eq!(refused.retry_after_secs, 1);
        assert!(refused.reason.contains("too many requests from your address"), "{}", refused.reason);
        // Another address has its own bucket.
        l.check_ip("192.0.2.2".parse().unwrap()).unwrap();
    }

    #[test]
    fn ipv6_addresses_of_one_prefix_share_a_bucket() {
        let l = limits(|c| {
            c.ip_rate = 1;
            c.ip_burst = 1;
        });
        l.check_ip("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(l.check_ip("2001:db8:1:2:ffff::9".parse().unwrap()).is_err());
        l.check_ip("2001:db8:1:3::1".parse().unwrap()).unwrap();
        // An IPv4-mapped address is the IPv4 client.
        l.check_ip("198.51.100.7".parse().unwrap()).unwrap();
        assert!(l.check_ip("::ffff:198.51.100.7".parse().unwrap()).is_err());
    }

    #[test]
    fn sites_are_limited_in_events_and_a_rate_of_zero_is_off() {
        let l = limits(|c| {
            c.site_rate = 10;
            c.site_burst = 50;
        });
        l.check_site("shop", 50).unwrap();
        let r = l.check_site("shop", 20).unwrap_err();
        // 20 events at 10/s: 2 s, less whatever time the test itself took.
        assert!((1..=2).contains(&r.retry_after_secs), "{r:?}");
        assert!(r.reason.starts_with("site \"shop\" is sending more events"), "{}", r.reason);
        l.check_site("blog", 20).unwrap();
        let off = limits(|c| {
            c.site_rate = 0;
            c.ip_rate = 0;
        });
        for _ in 0..10_000 {
            off.check_site("shop", 500).unwrap();
            off.check_ip("192.0.2.1".parse().unwrap()).unwrap();
        }
        assert_eq!(off.tracked(), (0, 0));
    }

    #[test]
    fn spraying_addresses_cannot_grow_the_table_past_the_cap() {
        let l = limits(|c| {
            c.ip_rate = 1;
            c.ip_burst = 2;
            c.max_tracked = 100;
        });
        let mut refused = 0;
        for i in 0..10_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            refused += usize::from(l.check_ip(ip).is_err());
        }
        let (ips, _) = l.tracked();
        assert!(ips <= 101, "{ips} buckets");
        // Past the cap the sprayed addresses share one bucket, so nearly all were refused.
        assert!(refused >= 10_000 - 100 - 2, "{refused} refused");
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted_and_its_last_entry_counts() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 198.51.100.1".parse().unwrap());
        assert_eq!(limits(|_| {}).client_ip(Some(peer), &h), Some(peer.ip()));
        let trusting = limits(|c| c.trust_forwarded_for = true);
        assert_eq!(trusting.client_ip(Some(peer), &h), Some("198.51.100.1".parse().unwrap()));
        h.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(trusting.client_ip(Some(peer), &h), Some(peer.ip()));
        assert_eq!(trusting.client_ip(None, &HeaderMap::new()), None);
    }

    #[test]
    fn settings_that_would_refuse_every_full_batch_are_refused() {
        let cfg = RateLimits { site_burst: 100, ..Default::default() };
        assert!(cfg.validate(500).unwrap_err().to_string().contains("site_burst (100) must be at least max_events (500)"));
        assert!(RateLimits::default().validate(500).is_ok());
        assert!(RateLimits { site_rate: 0, site_burst: 0, ..Default::default() }.validate(500).is_ok());
    }
}
