//! The limits of the contract: what the collector accepts, and so what the
//! tag may send. The tag cuts page facts to them and refuses configuration
//! outside them; the collector checks them (its defaults are these values).
//! Changing one here changes both sides at once.

/// Longest URL-like field (`url`, `referrer`, `element.href`, `form.action`,
/// `attribution.landing_url`), in characters.
pub const MAX_URL: usize = 4096;

/// Longest other text field (`title`, `label`, an element's `id`, a map's key
/// or value, …), in characters.
pub const MAX_TEXT: usize = 2048;

/// Whether `s` may stand in a string field of the contract: any text but
/// U+0000 (NUL). PostgreSQL's `text` and `jsonb` cannot hold NUL while
/// SQLite can, so the collector refuses a batch with one (400, naming the
/// field) on either store: one answer, before storage. A 400 makes the tag
/// drop the batch as bad data (`dropped.poison`), never retry it.
pub fn is_wire_text(s: &str) -> bool {
    !s.contains('\0')
}

/// Largest `value` magnitude: far above any real order, far below float trouble.
pub const MAX_VALUE: f64 = 1e12;

/// Longest site key, in characters (see [`crate::is_site_key`]).
pub const MAX_SITE: usize = 100;

/// Longest goal ID, in characters (see [`crate::is_goal_id`]).
pub const MAX_GOAL_ID: usize = 64;

/// Oldest event the collector accepts by default (`--max-event-age`), in ms
/// before receipt: 7 days. The tag's `delivery.max_age_hours` goes no
/// higher, so an event the tag still sends is never refused as too old
/// (which the tag would take for bad data and drop).
pub const MAX_EVENT_AGE_MS: u64 = 7 * 24 * 3_600_000;

/// Furthest ahead of receipt an event may be stamped by default
/// (`--max-event-ahead`), in ms: 1 hour. The collector places event times on
/// its own clock through the batch's `sent_at`, so a fast browser clock is
/// no reason to refuse; only an event stamped after its batch left comes
/// out ahead (and is stored at receipt). Not room for timestamps made up to
/// sort first.
pub const MAX_EVENT_AHEAD_MS: u64 = 3_600_000;

/// Most events in one batch the collector accepts by default
/// (`--max-events`), and the tag's default batch size. A larger batch gets
/// 413, which makes the tag split it.
pub const MAX_EVENTS: usize = 500;

/// The tag's default largest batch body, in bytes (`delivery.max_bytes`);
/// the collector's default body limit is this plus room for the envelope.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Whether `s` is 1 to `max` ASCII letters, digits, `.`, `_` or `-`: the
/// shape of site keys and goal IDs (safe in URLs, file names, the tag's
/// stored memory text and a transaction ID's name).
fn is_plain_name(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// A site key as the tag sends it and the collector (and its importer)
/// accepts it: 1 to [`MAX_SITE`] letters, digits, `.`, `_` or `-`.
pub fn is_site_key(s: &str) -> bool {
    is_plain_name(s, MAX_SITE)
}

/// A goal ID as the tag's goals and the collector's exports name it: 1 to
/// [`MAX_GOAL_ID`] letters, digits, `.`, `_` or `-`.
pub fn is_goal_id(s: &str) -> bool {
    is_plain_name(s, MAX_GOAL_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_keys_and_goal_ids_are_plain_names_of_their_length() {
        for ok in ["demo-shop", "a", "shop.example_2", &"s".repeat(100)] {
            assert!(is_site_key(ok), "{ok}");
        }
        for bad in ["", "a b", "ü", "a/b", "a:b", &"s".repeat(101)] {
            assert!(!is_site_key(bad), "{bad}");
        }
        assert!(is_goal_id("purchase.v2_x-1") && is_goal_id(&"g".repeat(64)));
        for bad in ["", "lead:qualified", "a|b", "a,b", &"g".repeat(65)] {
            assert!(!is_goal_id(bad), "{bad}");
        }
    }

    #[test]
    fn wire_text_is_anything_but_nul() {
        for ok in ["", "Shoes", "é \u{1} \u{7f} \u{fffd} \u{2028}", "\\0"] {
            assert!(is_wire_text(ok), "{ok:?}");
        }
        for bad in ["\0", "a\0b", "end\0"] {
            assert!(!is_wire_text(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_tag_keeps_events_no_longer_than_the_collector_accepts_them() {
        // Written out: a week, and a whole number of hours for the tag's setting.
        assert_eq!(MAX_EVENT_AGE_MS, 604_800_000);
        assert_eq!(MAX_EVENT_AGE_MS % 3_600_000, 0);
    }
}
