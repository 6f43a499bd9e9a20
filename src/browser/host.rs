//! The browser as the core's [`Host`]: clock, randomness, and page facts.

use crate::core::tracker::{Host, Page};

pub struct BrowserHost;

pub fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// Cryptographically random bytes from `crypto.getRandomValues`; the core
/// formats them into UUIDs.
pub fn random_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = c.get_random_values_with_u8_array(&mut b);
    }
    b
}

pub fn random_u32() -> u32 {
    let b = random_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl Host for BrowserHost {
    fn now(&self) -> u64 {
        now()
    }
    fn random(&mut self) -> [u8; 16] {
        random_bytes()
    }
    fn page(&self) -> Page {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return Page::default();
        };
        Page {
            url: doc.location().and_then(|l| l.href().ok()).unwrap_or_default(),
            referrer: doc.referrer(),
            title: doc.title(),
        }
    }
}
