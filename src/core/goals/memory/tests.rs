//! The goal memory's tests: its bounds and its stored text.

use super::*;
use crate::core::goals::Fact;
use crate::core::test_fixtures::{goals, ids, trigger, SITE, VISIT};
use goaltag_wire::Kind;

#[test]
fn memory_is_bounded_and_damage_tolerant() {
    let g = goals(r#"[{"id":"p","when":{"type":"event","action":"buy"}}]"#);
    let fact = Fact::Event { category: None, action: Some("buy"), label: None, value: None };
    let mut mem = Memory::new();
    let mut t = trigger(Kind::Event);
    for n in 0..(MAX_REMEMBERED + 5) {
        t.transaction_id = Some(format!("T{n}"));
        assert_eq!(g.evaluate(&fact, &t, SITE, VISIT, &mut mem, &mut ids()).len(), 1);
    }
    assert_eq!(mem.transactions.len(), MAX_REMEMBERED);
    let s = mem.serialise();
    assert!(s.len() < 13 * MAX_REMEMBERED + 40, "{}", s.len());
    assert_eq!(Memory::restore(&s), mem);
    t.transaction_id = Some("T0".into());
    assert_eq!(g.evaluate(&fact, &t, SITE, VISIT, &mut mem, &mut ids()).len(), 1, "the oldest was forgotten");

    assert_eq!(Memory::new().serialise(), "1||||");
    for bad in ["", "1|v", "2|v|||", "1|v|a b||", "1|v|||xyz", "1|v||||"] {
        assert_eq!(Memory::restore(bad), Memory::new(), "{bad}");
    }
    let m = Memory::restore("1|v|a,b|c|0123456789ab");
    assert_eq!((m.visit_goals.len(), m.user_goals.len(), m.transactions.len()), (2, 1, 1));
}

#[test]
fn merge_keeps_what_either_counted_the_stored_first_and_visit_goals_of_the_same_visit_only() {
    let stored = Memory::restore("1|v1|a,b|u1|000000000001");
    // This page counted in the same visit: everything joins, stored first, no repeats.
    let mut page = Memory::restore("1|v1|b,c|u2,u1|000000000002");
    page.merge(stored.clone());
    assert_eq!(page.serialise(), "1|v1|a,b,c|u1,u2|000000000001,000000000002");
    // In another visit (the stored one ended): its visit goals are not this visit's.
    let mut page = Memory::restore("1|v2|c||");
    page.merge(stored.clone());
    assert_eq!(page.serialise(), "1|v2|c|u1|000000000001");
    // Nothing counted yet on this page: the stored memory as it was.
    let mut page = Memory::new();
    page.merge(stored.clone());
    assert_eq!(page, stored);
    // Still bounded: the oldest go first.
    let full = Memory::restore(&format!("1|v1||{}|", (0..MAX_REMEMBERED).map(|n| format!("s{n}")).collect::<Vec<_>>().join(",")));
    let mut page = Memory::restore("1|v1||new|");
    page.merge(full);
    assert_eq!(page.user_goals.len(), MAX_REMEMBERED);
    assert_eq!((page.user_goals[0].as_str(), page.user_goals[MAX_REMEMBERED - 1].as_str()), ("s1", "new"));
}
