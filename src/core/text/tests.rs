use super::*;

#[test]
fn decimal_round_trips_and_refuses_anything_else() {
    for n in [0, 7, 10, 1_764_000_000_000, u64::MAX] {
        let mut s = String::new();
        push_u64(&mut s, n);
        assert_eq!(s, n.to_string());
        assert_eq!(parse_u64(&s), Some(n));
    }
    for bad in ["", "-1", "+1", " 1", "1.0", "18446744073709551616", "x"] {
        assert_eq!(parse_u64(bad), None, "{bad:?}");
    }
}

#[test]
fn hex_both_ways() {
    let mut s = String::from("k.");
    push_hex(&mut s, &[0x00, 0x0f, 0xa5, 0xff]);
    assert_eq!(s, "k.000fa5ff");
    let digits: Vec<_> = "09afAFgz".bytes().map(hex_digit).collect();
    assert_eq!(digits, [Some(0), Some(9), Some(10), Some(15), Some(10), Some(15), None, None]);
}

#[test]
fn first_chars_cuts_at_a_character_boundary() {
    assert_eq!(first_chars("héllo", 2), "hé");
    assert_eq!(first_chars("héllo", 5), "héllo");
    assert_eq!(first_chars("héllo", 9), "héllo");
    assert_eq!(first_chars("", 3), "");
}
