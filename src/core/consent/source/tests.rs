use super::*;
use crate::core::consent::*;
use crate::core::val::json;
use goaltag_wire::Signal::{Denied as D, Granted as G};

#[test]
fn an_adapter_answer_is_an_update_command() {
    for p in [Partial::all(G), Partial::all(D), Partial { ad_storage: Some(G), ..Default::default() }] {
        let (cmd, errs) = crate::core::command::parse(&update_args(&p)).unwrap();
        assert!(errs.is_empty());
        assert_eq!(cmd, crate::core::command::Command::Consent { update: true, partial: p, wait_for_update_ms: None });
    }
}

#[test]
fn parses_sources() {
    assert_eq!(parse_source(&Val::Str("tcf".into())), Ok(Source::Tcf));
    assert_eq!(parse_source(&Val::Str("gcm".into())), Ok(Source::Gcm));
    assert_eq!(
        parse_source(&json(r#"{"cookie":"cc_cookie"}"#)),
        Ok(Source::Cookie { name: "cc_cookie".into(), categories: CategoryMap::default() })
    );
    assert_eq!(parse_source(&json("{}")), Ok(Source::Cookie { name: "cc_cookie".into(), categories: CategoryMap::default() }));
    let Ok(Source::Cookie { name, categories }) = parse_source(&json(r#"{"cookie":"my_cc","categories":{"stats":["analytics_storage"]}}"#))
    else {
        panic!("a cookie source")
    };
    assert_eq!(name, "my_cc");
    assert_eq!(categories.types("stats"), &[ConsentType::AnalyticsStorage]);
    assert_eq!(categories.types("analytics"), &[]);
    assert_eq!(parse_source(&Val::Str("onetrust".into())).unwrap_err().field, "goaltag('consent', 'source', …)");
    assert_eq!(parse_source(&json(r#"{"cookie":"a b"}"#)).unwrap_err().field, "consent.source.cookie");
    assert_eq!(parse_source(&json(r#"{"cookie":""}"#)).unwrap_err().field, "consent.source.cookie");
    assert_eq!(parse_source(&json(r#"{"cooky":"cc"}"#)).unwrap_err().field, "consent.source.cooky");
    let e = parse_source(&json(r#"{"categories":{"x":["y"]}}"#)).unwrap_err();
    assert_eq!(e.field, "consent.source.categories.x[0]");
}
