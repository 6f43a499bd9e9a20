use super::*;
use crate::core::consent::*;
use crate::core::val::json;
use goaltag_wire::Signal::{Denied as D, Granted as G};

#[test]
fn parses_default_and_update_objects() {
    let v = json(
        r#"{"analytics_storage":"denied","ad_storage":"granted","ad_user_data":"denied","ad_personalization":"granted","wait_for_update":500}"#,
    );
    let (p, w) = parse_partial(&v, "default").unwrap();
    assert_eq!(p, Partial { analytics_storage: Some(D), ad_storage: Some(G), ad_user_data: Some(D), ad_personalization: Some(G) });
    assert_eq!(w, Some(500));
    let (p, w) = parse_partial(&json(r#"{"ad_storage":"denied","analytics_storage":null}"#), "update").unwrap();
    assert_eq!(p, Partial { ad_storage: Some(D), ..Default::default() });
    assert_eq!(w, None);
    assert_eq!(parse_partial(&json("{}"), "update").unwrap(), (Partial::default(), None));
    assert_eq!(parse_partial(&json(r#"{"wait_for_update":0}"#), "default").unwrap().1, Some(0));
}

#[test]
fn parse_errors_name_the_field() {
    let e = parse_partial(&json(r#"{"analytics_storage":"granted","ad_storage":"yes"}"#), "update").unwrap_err();
    assert_eq!(e.to_string(), r#"goaltag: consent.ad_storage: expected "granted" or "denied", got "yes""#);
    let e = parse_partial(&json(r#"{"analytics_storage":"Granted"}"#), "update").unwrap_err();
    assert_eq!((e.field.as_str(), e.got.as_str()), ("consent.analytics_storage", "\"Granted\""));
    let e = parse_partial(&json(r#"{"ad_user_data":true}"#), "default").unwrap_err();
    assert_eq!((e.field.as_str(), e.got.as_str()), ("consent.ad_user_data", "true"));
    let e = parse_partial(&json(r#"{"region":["US-CA"],"ad_storage":"granted"}"#), "default").unwrap_err();
    assert_eq!(e.field, "consent.region");
    assert_eq!(e.got, "an unknown field");
    assert!(e.expected().contains("wait_for_update"));
    for bad in ["-1", "1.5", "\"500\"", "60001"] {
        let e = parse_partial(&json(&format!(r#"{{"wait_for_update":{bad}}}"#)), "default").unwrap_err();
        assert_eq!(e.field, "consent.wait_for_update", "{bad}");
        assert_eq!(e.expected(), "a whole number of milliseconds from 0 to 60000");
    }
    let e = parse_partial(&json(r#""granted""#), "default").unwrap_err();
    assert_eq!(e.field, "goaltag('consent', 'default', …)");
    assert_eq!(e.got, "\"granted\"");
    let e = parse_partial(&json("{}"), "defualt").unwrap_err();
    assert_eq!(e.got, "\"defualt\"");
}

#[test]
fn parses_data_consent_and_mode() {
    assert_eq!(parse_data_consent(&Val::Str("granted".into())), Ok(Partial::all(G)));
    assert_eq!(parse_data_consent(&Val::Str("denied".into())), Ok(Partial::all(D)));
    let e = parse_data_consent(&Val::Str("yes".into())).unwrap_err();
    assert_eq!(e.to_string(), r#"goaltag: data-consent: expected "granted" or "denied", got "yes""#);
    assert_eq!(parse_mode(&Val::Str("advanced".into()), "config.consent_mode"), Ok(Mode::Advanced));
    assert_eq!(parse_mode(&Val::Str("basic".into()), "config.consent_mode"), Ok(Mode::Basic));
    assert_eq!(parse_mode(&Val::Num(1.0), "config.consent_mode").unwrap_err().field, "config.consent_mode");
    assert_eq!(Mode::default(), Mode::Basic);
    assert_eq!(Env::default(), Env { gpc: false, honor_gpc: true, dnt: false, honor_dnt: false, opted_out: false });
}

#[test]
fn consent_type_names_round_trip() {
    for t in ConsentType::ALL {
        assert_eq!(ConsentType::from_name(t.name()), Some(t));
        let mut p = Partial::default();
        p.set(t, Some(G));
        assert_eq!(p.get(t), Some(G));
    }
    assert_eq!(ConsentType::from_name("analytics"), None);
}
