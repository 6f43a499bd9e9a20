use super::*;
use crate::core::val::json;

#[test]
fn policy_applies_valid_fields_and_names_bad_ones() {
    let (p, errs) = parse_policy(&json(r#"{"max_events":10,"base_ms":250,"max_age_hours":12}"#));
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(p, Policy { max_events: 10, base_ms: 250, max_age_ms: 12 * HOUR_MS, ..Policy::default() });
    let (p, errs) = parse_policy(&json(
        r#"{"max_events":0,"max_bytes":"big","max_delay_ms":2.5,"retry":3,"max_age_hours":0.5,"beacon_max_bytes":null,"max_outbox":200}"#,
    ));
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["delivery.max_events", "delivery.max_bytes", "delivery.max_delay_ms", "delivery.retry"]);
    assert_eq!(errs[0].to_string(), "goaltag: delivery.max_events: expected a whole number from 1 to 1000, got 0");
    assert_eq!(errs[1].got, "\"big\"");
    assert!(errs[3].expected().starts_with("one of max_events, max_bytes"));
    assert_eq!(p, Policy { max_age_ms: HOUR_MS / 2, max_outbox: 200, ..Policy::default() });
    let (p, errs) = parse_policy(&json("[1]"));
    assert_eq!(p, Policy::default());
    assert_eq!(errs[0].field, "delivery");
    let mut q = Policy::default();
    assert!(q.apply(&json(r#"{"max_age_hours":1e9}"#))[0].expected().contains("hours from 0.001 to 168"));
    assert!(q.apply(&json(r#"{"max_backoff_ms":5000,"retry_after_cap_ms":0}"#)).is_empty());
    assert_eq!((q.max_backoff_ms, q.retry_after_cap_ms), (5000, 0));
    assert_eq!(KEYS.len(), 11);
}

#[test]
fn every_key_sets_its_own_field() {
    // Each key at its top value, and the one field it must change.
    let d = Policy::default();
    let want = [
        ("max_events", Policy { max_events: 1000, ..d.clone() }),
        ("max_bytes", Policy { max_bytes: 1_048_576, ..d.clone() }),
        ("max_delay_ms", Policy { max_delay_ms: 60_000, ..d.clone() }),
        ("base_ms", Policy { base_ms: 60_000, ..d.clone() }),
        ("max_backoff_ms", Policy { max_backoff_ms: 3_600_000, ..d.clone() }),
        ("retry_after_cap_ms", Policy { retry_after_cap_ms: 86_400_000, ..d.clone() }),
        ("max_age_hours", Policy { max_age_ms: 168 * HOUR_MS, ..d.clone() }),
        ("max_outbox", Policy { max_outbox: 10_000, ..d.clone() }),
        ("max_outbox_bytes", Policy { max_outbox_bytes: 4_194_304, ..d.clone() }),
        ("beacon_max_bytes", Policy { beacon_max_bytes: 65_536, ..d.clone() }),
        ("gzip_min_bytes", Policy { gzip_min_bytes: 4_194_304, ..d.clone() }),
    ];
    assert_eq!(want.len(), KEYS.len());
    for ((name, policy), key) in want.iter().zip(&KEYS) {
        assert_eq!(*name, key.name, "the table's order");
        let mut text = String::from("{\"");
        text.push_str(name);
        text.push_str("\":");
        text.push_str(&key.hi.to_string());
        text.push('}');
        let (p, errs) = parse_policy(&json(&text));
        assert!(errs.is_empty(), "{text}: {errs:?}");
        assert_eq!(&p, policy, "{text}");
        assert_ne!(&p, &d, "{text} changes something");
    }
}

/// The defect of issue 26: `max_age_hours` reached 720 while a collector at
/// its defaults refuses events older than 7 days with a 400, which the tag
/// drops as bad data. The tag now keeps an event at most as long as the
/// collector accepts it (168 h = 7 d, written out), and refuses more.
#[test]
fn the_oldest_event_the_tag_sends_is_one_the_collector_accepts() {
    assert_eq!(goaltag_wire::limits::MAX_EVENT_AGE_MS, 168 * HOUR_MS);
    let (p, errs) = parse_policy(&json(r#"{"max_age_hours":168}"#));
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(p.max_age_ms, goaltag_wire::limits::MAX_EVENT_AGE_MS);
    for too_old in ["168.5", "720"] {
        let (p, errs) = parse_policy(&json(&["{\"max_age_hours\":", too_old, "}"].concat()));
        assert_eq!(errs.len(), 1, "{too_old}");
        assert_eq!(errs[0].field, "delivery.max_age_hours");
        assert_eq!(p.max_age_ms, Policy::default().max_age_ms, "{too_old} leaves the default");
    }
}
