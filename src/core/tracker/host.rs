//! What the tracker reads from its surroundings (see [`Host`]), and the
//! page facts the shell hands it.

use crate::core::goals::Patterns;
use crate::prelude::*;

/// What the tracker reads from its surroundings: the clock, randomness, the
/// current page, first-party storage and the regex engine. The browser
/// implements it with `Date.now()`, `crypto.getRandomValues`, `document`,
/// `localStorage` and `RegExp`; tests with fixed values and a map.
///
/// Storage is only ever touched through [`Tracker`], which asks consent first:
/// the one gate for every read and write.
pub trait Host: Patterns {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> u64;
    /// 16 cryptographically random bytes.
    fn random(&mut self) -> [u8; 16];
    /// The current page's URL, referrer and title.
    fn page(&self) -> Page;
    /// The page's URL alone: a custom event needs no more, and reading the
    /// title and referrer too would cost every one of them.
    fn url(&self) -> String {
        self.page().url
    }
    /// The stored value of `key` (localStorage), if any.
    fn load(&self, key: &str) -> Option<String>;
    /// Stores `value` under `key`.
    fn save(&mut self, key: &str, value: &str);
    /// Removes `key`.
    fn remove(&mut self, key: &str);
    /// Stored keys that start with `prefix`.
    fn keys(&self, prefix: &str) -> Vec<String>;
    /// `s` in Unicode NFC and lower case; with `strip_accents`, decomposed
    /// and without combining marks (enhanced conversions' normalisation,
    /// [`crate::core::user_data`]). The browser's own tables do it
    /// (`normalize`, `toLowerCase`) so the download carries none; this
    /// default (native tests) is [`crate::core::user_data::fold_latin`].
    fn fold(&self, s: &str, strip_accents: bool) -> String {
        crate::core::user_data::fold_latin(s, strip_accents)
    }
}

/// When and at which URL a click, submit or SPA navigation happened. The
/// shell records them a task after its handler (which INP counts) saw them,
/// so it hands over the handler's own time and URL rather than those of the
/// recording task.
#[derive(Debug, Clone, PartialEq)]
pub struct At {
    /// When, in ms since the epoch.
    pub ms: u64,
    /// The page's URL then.
    pub url: String,
}

/// The page as the browser describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// `document.URL`.
    pub url: String,
    /// `document.referrer`.
    pub referrer: String,
    /// `document.title`.
    pub title: String,
}
