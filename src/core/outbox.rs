//! PLACEHOLDER outbox (walking skeleton): sends everything in order, one batch
//! in flight, fixed retry delay. Replaced by the full outbox of issue 5 with the
//! same API.

use goaltag_wire::{json::batch_body, Dropped};

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub max_events: usize,
    pub max_bytes: usize,
    pub max_delay_ms: u64,
    pub base_ms: u64,
    pub max_backoff_ms: u64,
    pub retry_after_cap_ms: u64,
    pub max_age_ms: u64,
    pub max_outbox: usize,
    pub max_outbox_bytes: usize,
    pub beacon_max_bytes: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_events: 20,
            max_bytes: 16 * 1024,
            max_delay_ms: 1000,
            base_ms: 500,
            max_backoff_ms: 30_000,
            retry_after_cap_ms: 300_000,
            max_age_ms: 24 * 3600 * 1000,
            max_outbox: 1000,
            max_outbox_bytes: 512 * 1024,
            beacon_max_bytes: 60 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    pub json: String,
    pub conversion: bool,
    pub created_ms: u64,
    pub beacon_sent: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Status { code: u16, retry_after_ms: Option<u64> },
    NetworkError,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Send {
    pub batch: u64,
    pub body: String,
    pub ids: Vec<String>,
    pub attempt: u32,
}

pub struct Outbox {
    site: String,
    policy: Policy,
    items: Vec<Item>,
    in_flight: Option<(u64, usize, u32)>,
    next_batch: u64,
    not_before: u64,
    first_at: Option<u64>,
    flushed: bool,
    attempt: u32,
}

impl Outbox {
    pub fn new(site: String, policy: Policy) -> Self {
        Outbox { site, policy, items: Vec::new(), in_flight: None, next_batch: 1, not_before: 0, first_at: None, flushed: false, attempt: 1 }
    }
    pub fn set_site(&mut self, site: String) {
        self.site = site;
    }
    pub fn push(&mut self, item: Item, now_ms: u64) {
        if item.conversion {
            self.flushed = true;
        }
        self.first_at.get_or_insert(now_ms);
        self.items.push(item);
    }
    pub fn flush(&mut self) {
        self.flushed = true;
    }
    fn due_at(&self) -> Option<u64> {
        let first = self.first_at?;
        if self.items.is_empty() || self.in_flight.is_some() {
            return None;
        }
        let due = if self.flushed || self.items.len() >= self.policy.max_events { first } else { first + self.policy.max_delay_ms };
        Some(due.max(self.not_before))
    }
    pub fn wake_at(&self) -> Option<u64> {
        self.due_at()
    }
    pub fn poll(&mut self, now_ms: u64, _rand: u32) -> Option<Send> {
        if self.due_at()? > now_ms {
            return None;
        }
        let n = self.items.len().min(self.policy.max_events);
        let batch = self.next_batch;
        self.next_batch += 1;
        self.in_flight = Some((batch, n, self.attempt));
        let items = &self.items[..n];
        Some(Send {
            batch,
            body: batch_body(&self.site, now_ms, self.attempt, &Dropped::default(), items.iter().map(|i| i.json.as_str())),
            ids: items.iter().map(|i| i.id.clone()).collect(),
            attempt: self.attempt,
        })
    }
    pub fn on_outcome(&mut self, batch: u64, outcome: Outcome, now_ms: u64, _rand: u32) {
        let Some((b, n, _)) = self.in_flight else { return };
        if b != batch {
            return;
        }
        self.in_flight = None;
        match outcome {
            Outcome::Status { code, .. } if (200..300).contains(&code) => {
                self.items.drain(..n);
                self.attempt = 1;
                self.first_at = if self.items.is_empty() { None } else { Some(now_ms) };
                if self.items.is_empty() {
                    self.flushed = false;
                }
            }
            _ => {
                self.attempt += 1;
                self.not_before = now_ms + self.policy.base_ms;
            }
        }
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
