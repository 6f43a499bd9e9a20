//! Known answers for every rule of docs/enhanced-conversions.md. Expected
//! hashes are SHA-256 of the normalised text, computed with Python's hashlib
//! and written here; Meta's two are Meta's own published examples.

use super::*;
use goaltag_wire::Map;

/// The native stand-in for the browser's folding ([`crate::core::tracker::Host::fold`]).
fn fold(s: &str, accents: bool) -> String {
    crate::core::user_data::fold_latin(s, accents)
}

fn input(f: impl FnOnce(&mut Input)) -> Input {
    let mut i = Input::default();
    f(&mut i);
    i
}

fn build_with(i: &Input, cc: Option<&str>) -> (UserData, Vec<ConfigError>) {
    build(i, &fold, cc)
}

fn get<'a>(m: &'a Map, k: &str) -> Option<&'a str> {
    m.get(k).map(String::as_str)
}

const JOHN_SMITH: &str = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";
const PH_META: &str = "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176";
/// sha256("+16505551212")
const PH_PLUS: &str = "1e231c66011e7a2d867a9cfae267a6aff103cf4913640b6e71a99850fc0ffbc8";

#[test]
fn metas_published_vectors() {
    let i = input(|i| {
        i.0[EMAIL] = Some("John_Smith@gmail.com".into());
        i.0[PHONE] = Some("(650)555-1212".into());
    });
    let (u, errors) = build_with(&i, Some("1"));
    assert!(errors.is_empty());
    assert_eq!(get(&u.meta, "em"), Some(JOHN_SMITH));
    assert_eq!(get(&u.meta, "ph"), Some(PH_META));
    // Google keeps the underscore (only dots and +suffix go, and only at gmail).
    assert_eq!(get(&u.google, "em"), Some(JOHN_SMITH));
    assert_eq!(get(&u.google, "ph"), Some(PH_PLUS));
    assert_eq!(get(&u.microsoft, "ph"), Some(PH_PLUS));
}

#[test]
fn google_removes_dots_and_plus_only_at_gmail() {
    let em = |e: &str| {
        let (u, _) = build_with(&input(|i| i.0[EMAIL] = Some(e.into())), None);
        (get(&u.google, "em").map(String::from), get(&u.meta, "em").map(String::from))
    };
    // sha256("janedoe@gmail.com"), sha256("janedoe@googlemail.com")
    assert_eq!(em("  Jane.Doe+shop@GMAIL.com ").0.as_deref(), Some("d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69"));
    assert_eq!(em("jane.doe+x@googlemail.com").0.as_deref(), Some("338abf9ef1c8793cadc7bcf51ed595338eb727ed9e06ce3d91d566d60b975937"));
    // sha256("jane.doe+x@example.com"): other domains keep both, for Google and Meta.
    let other = "0b6542ea781224b9278a8e16ad86dace01d0e50a68d4c28ceffa991fb474861f";
    assert_eq!(em(" Jane.Doe+X@Example.com"), (Some(other.into()), Some(other.into())));
    // Google also removes white space inside (Data Manager: "intermediate whitespace").
    assert_eq!(em("jane.doe+x @example.com").0.as_deref(), Some(other));
    // Meta never removes dots or a +suffix, not even at gmail.
    assert_ne!(em("jane.doe@gmail.com").1, em("janedoe@gmail.com").1);
}

#[test]
fn microsoft_removes_dots_plus_spaces_and_accents_at_every_domain() {
    let em = |e: &str| {
        let (u, _) = build_with(&input(|i| i.0[EMAIL] = Some(e.into())), None);
        get(&u.microsoft, "em").map(String::from)
    };
    // sha256("janedoe@example.com")
    assert_eq!(em(" Jane.Doe+shop@Example.com ").as_deref(), Some("c4d25e9c90ff23e9145397bc6fbd5385ca5fbe78211222ccbecd0b369ebb19a6"));
    // sha256("zoemuller@example.de")
    assert_eq!(em("Zoë.Mül ler@Exämple.de").as_deref(), Some("66608297cdcad13ec20d918a55ee3597486e38932b997b161b5c5698e7d172db"));
    assert_eq!(em("John_Smith@gmail.com"), em("john_smith+x@gmail.com"));
}

#[test]
fn phones_are_e164() {
    let ph = |p: &str, cc: Option<&str>| {
        let (u, e) = build_with(&input(|i| i.0[PHONE] = Some(p.into())), cc);
        (get(&u.google, "ph").map(String::from), get(&u.meta, "ph").map(String::from), e.len())
    };
    // sha256("+442079460958"), sha256("442079460958")
    let uk = (
        Some("f0bf0228144d9fe2bdf1da2d8ca698f17bf1410ee688b075c27062e47b6f0b6d".into()),
        Some("35e206e5dec4c89b9e8b71b8c32724a5bb518483ac5a20c6617d738375b3b823".into()),
        0,
    );
    assert_eq!(ph("+44 20 7946 0958", None), uk);
    assert_eq!(ph("0044 20 7946 0958", None), uk);
    // National with the country code configured: the trunk 0 goes.
    assert_eq!(ph("020 7946 0958", Some("44")), uk);
    // ... except in Italy. sha256("+390612345678")
    assert_eq!(ph("06 1234 5678", Some("39")).0.as_deref(), Some("37b702607839d6dc5fc81d95b52e550e336413bf7ae2e04cafeca79f066ea44b"));
    // A North American number written with its 1.
    assert_eq!(ph("1 (650) 555-1212", Some("1")).0.as_deref(), Some(PH_PLUS));
    assert_eq!(ph("+1 650 555 1212", Some("44")).0.as_deref(), Some(PH_PLUS), "a + number ignores the configured code");
}

#[test]
fn a_phone_without_country_code_is_dropped_with_a_message_that_quotes_nothing() {
    let i = input(|i| {
        i.0[PHONE] = Some("(650) 555-1212".into());
        i.0[EMAIL] = Some("a@b.example".into());
    });
    let (u, errors) = build_with(&i, None);
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].field.as_str(), errors[0].code), ("user_data.phone", Msg::Phone));
    assert!(errors[0].got.contains("phone_country_code") && !errors[0].got.contains("555"), "{}", errors[0].got);
    for (_, m) in u.platforms() {
        assert!(m.get("ph").is_none());
        assert!(m.get("em").is_some(), "the rest still goes");
    }
    for bad in ["+1 23", "+1234567890123456", "00", "+"] {
        let (u, errors) = build_with(&input(|i| i.0[PHONE] = Some(bad.into())), Some("1"));
        assert!(u.is_empty() && errors.len() == 1, "{bad}");
    }
}

#[test]
fn never_hashes_an_empty_string() {
    let i = input(|i| {
        i.0[EMAIL] = Some("   ".into());
        i.0[PHONE] = Some("".into());
        i.0[FIRST_NAME] = Some(" ".into());
        i.0[LAST_NAME] = Some("...".into());
        i.0[CITY] = Some("  ".into());
        i.0[REGION] = Some("-".into());
        i.0[POSTAL_CODE] = Some(" - ".into());
        i.0[COUNTRY] = Some("".into());
    });
    let (u, errors) = build_with(&i, Some("1"));
    assert!(errors.is_empty());
    // Google hashes "..." as a last name (it removes no punctuation); Meta,
    // which does, is left with nothing and sends nothing. "-" is a plain
    // region and postal code, sent as given.
    assert_eq!(u.meta, Map::new());
    assert!(u.microsoft.is_empty());
    assert_eq!(u.google.len(), 3, "{:?}", u.google);
    for bad in ["@", "a@", "@b.example", "no-at-sign"] {
        let (u, _) = build_with(&input(|i| i.0[EMAIL] = Some(bad.into())), None);
        assert!(u.is_empty(), "{bad}: {u:?}");
    }
}

#[test]
fn a_hash_is_sent_as_given() {
    let upper = JOHN_SMITH.to_ascii_uppercase();
    let i = input(|i| {
        i.0[EMAIL] = Some(format!(" {upper} "));
        i.0[PHONE] = Some(PH_META.into());
        i.0[FIRST_NAME] = Some(JOHN_SMITH.into());
    });
    let (u, errors) = build_with(&i, None);
    assert!(errors.is_empty(), "a hashed phone needs no country code");
    for (_, m) in u.platforms() {
        assert_eq!(get(m, "em"), Some(JOHN_SMITH));
        assert_eq!(get(m, "ph"), Some(PH_META));
    }
    assert_eq!(get(&u.meta, "fn"), Some(JOHN_SMITH));
}

#[test]
fn names_and_addresses() {
    let i = input(|i| {
        i.0[FIRST_NAME] = Some(" Mary-Ann ".into());
        i.0[LAST_NAME] = Some("Smith".into());
        i.0[STREET] = Some(" 123 Main St. ".into());
        i.0[CITY] = Some(" Menlo Park ".into());
        i.0[REGION] = Some("CA".into());
        i.0[POSTAL_CODE] = Some("94025-1234".into());
        i.0[COUNTRY] = Some("US".into());
    });
    let (u, _) = build_with(&i, None);
    let smith = "6627835f988e2c5e50533d491163072d3f4f41f5c8b04630150debb3722ca2dd";
    // Google: names and street lower-cased and trimmed, nothing removed; the address parts plain.
    assert_eq!(get(&u.google, "ln"), Some(smith));
    assert_eq!(
        get(&u.google, "street"),
        Some("9425c187ddc6f9409d827854c2b2935feca5bbc75c6001e449b7d2fdbce73bea"),
        "sha256(\"123 main st.\")"
    );
    assert_eq!(
        [get(&u.google, "city"), get(&u.google, "region"), get(&u.google, "postal_code"), get(&u.google, "country")],
        [Some("Menlo Park"), Some("CA"), Some("94025-1234"), Some("US")]
    );
    // Meta: no punctuation; city and state without spaces; a US zip's first five digits.
    assert_eq!(get(&u.meta, "fn"), Some("16b3f07f0ec2f9dd127b71dc2e6c791b7d93116a1c3bc99d057eaa7a8a077e73"), "maryann");
    assert_eq!(get(&u.meta, "ln"), Some(smith));
    assert_eq!(get(&u.meta, "ct"), Some("0007a3d64c01e23d5075203c5977c14e4f7e01a3fc570686fcc50b5e1dd42685"), "menlopark");
    assert_eq!(get(&u.meta, "st"), Some("6959097001d10501ac7d54c0bdb8db61420f658f2922cc26e46d536119a31126"), "ca");
    assert_eq!(get(&u.meta, "zp"), Some("b9a9cf3cd3723a2e91b7c23ecf68456e872b6e5d86e5cab7f3d45a7302da32c7"), "94025");
    assert_eq!(get(&u.meta, "country"), Some("79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621"), "us");
    assert!(get(&u.meta, "street").is_none() && u.microsoft.is_empty());
    // Elsewhere the whole postal code, without spaces; a country that is not two letters goes nowhere at Meta.
    let (u, _) = build_with(
        &input(|i| {
            i.0[POSTAL_CODE] = Some("SW1A 1AA".into());
            i.0[COUNTRY] = Some("GB".into());
            i.0[FIRST_NAME] = Some("Jöhn".into());
        }),
        None,
    );
    assert_eq!(get(&u.meta, "zp"), Some("830e1d4b9838bab1f5c2acdb23e0b502ff13a9832c4632e8d67a1d43d3b7f614"), "sw1a1aa");
    assert_eq!(
        get(&u.google, "fn"),
        Some("d099e941c8648801789318e0c87111759678219e0be85b82237a4c4ace2c0d64"),
        "jöhn: accents stay for Google"
    );
    let (u, _) = build_with(&input(|i| i.0[COUNTRY] = Some("USA".into())), None);
    assert!(get(&u.meta, "country").is_none());
    assert_eq!(get(&u.google, "country"), Some("USA"), "plain, as given");
}

#[test]
fn every_hashed_field_is_what_the_wire_checks() {
    let i = input(|i| {
        for (k, v) in FIELDS.iter().zip(["a@b.example", "+16505551212", "A", "B", "C", "D", "E", "F", "GB"]) {
            *i.field(k).unwrap() = Some(v.into());
        }
    });
    let (u, _) = build_with(&i, None);
    assert_eq!(u.check(goaltag_wire::limits::MAX_TEXT), Ok(()));
    assert_eq!((u.google.len(), u.microsoft.len(), u.meta.len()), (9, 2, 8));
}
