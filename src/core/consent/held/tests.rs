use super::*;

#[test]
fn held_keeps_the_newest_200_and_counts_the_rest() {
    let mut h = Held::new();
    for i in 0..201 {
        h.push(i);
    }
    assert_eq!(h.len(), 200);
    assert_eq!(h.dropped(), 1);
    assert_eq!(h.iter().next(), Some(&1), "the oldest went");
    assert_eq!(h.iter().last(), Some(&200));
    assert_eq!(h.push(201), Some(1));
    assert_eq!(h.take_dropped(), 2);
    assert_eq!(h.dropped(), 0);
    let all = h.drain();
    assert_eq!(all.len(), 200);
    assert_eq!((all[0], all[199]), (2, 201));
    assert!(h.is_empty());
    h.push(7);
    h.clear();
    assert!(h.is_empty());
    assert_eq!(h.dropped(), 0, "a discard is not an overflow");
}

#[test]
fn held_can_spare_conversions_on_overflow() {
    // (id, is_conversion)
    let conv = |x: &(u32, bool)| x.1;
    let mut h = Held::with_capacity(3);
    for x in [(1, false), (2, true), (3, false)] {
        assert_eq!(h.push_sparing(x, conv), None);
    }
    assert_eq!(h.push_sparing((4, true), conv), Some((1, false)));
    assert_eq!(h.push_sparing((5, true), conv), Some((3, false)));
    // Only conversions held: a non-conversion newcomer is the one to go...
    assert_eq!(h.push_sparing((6, false), conv), Some((6, false)));
    // ...and a conversion newcomer pushes out the oldest conversion.
    assert_eq!(h.push_sparing((7, true), conv), Some((2, true)));
    assert_eq!(h.drain(), vec![(4, true), (5, true), (7, true)]);
    assert_eq!(h.dropped(), 4);
}
