use super::*;
use crate::core::consent::*;
use crate::core::val::json;
use goaltag_wire::Signal::{Denied as D, Granted as G};

fn tcf(status: &str, applies: bool, consents: &[u32]) -> Val {
    let c: Vec<String> = consents.iter().map(|n| format!(r#""{n}":true"#)).collect();
    json(&format!(
        r#"{{"eventStatus":"{status}","gdprApplies":{applies},"tcString":"CP...","purpose":{{"consents":{{{}}},"legitimateInterests":{{"7":true}}}}}}"#,
        c.join(",")
    ))
}

#[test]
fn tcf_acts_only_on_an_answer() {
    assert_eq!(from_tcf(&tcf("cmpuishown", true, &[1, 3, 4, 7])), None);
    assert_eq!(from_tcf(&json(r#"{"gdprApplies":false}"#)), None);
    assert_eq!(from_tcf(&Val::Null), None);
    assert!(from_tcf(&tcf("tcloaded", true, &[])).is_some());
    assert!(from_tcf(&tcf("useractioncomplete", true, &[])).is_some());
}

#[test]
fn tcf_maps_purposes_to_types() {
    let all = Partial::all(G);
    assert_eq!(from_tcf(&tcf("tcloaded", false, &[])), Some(all), "GDPR does not apply");
    assert_eq!(from_tcf(&tcf("useractioncomplete", true, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])), Some(all));
    // Legitimate interest for 7 is in every fixture; it never grants.
    assert_eq!(from_tcf(&tcf("tcloaded", true, &[])), Some(Partial::all(D)));
    assert_eq!(
        from_tcf(&tcf("tcloaded", true, &[1])),
        Some(Partial { analytics_storage: Some(G), ad_storage: Some(G), ad_user_data: Some(D), ad_personalization: Some(D) })
    );
    assert_eq!(
        from_tcf(&tcf("tcloaded", true, &[7, 3])),
        Some(Partial { analytics_storage: Some(D), ad_storage: Some(D), ad_user_data: Some(G), ad_personalization: Some(D) })
    );
    assert_eq!(from_tcf(&tcf("tcloaded", true, &[3, 4])).unwrap().ad_personalization, Some(G));
    // One row per combination of the purposes that matter: (1, 3, 4, 7) →
    // (analytics_storage, ad_storage, ad_user_data, ad_personalization).
    let row =
        |a, s, u, p| Some(Partial { analytics_storage: Some(a), ad_storage: Some(s), ad_user_data: Some(u), ad_personalization: Some(p) });
    let table: [(&[u32], _); 8] = [
        (&[3], row(D, D, D, D)),
        (&[4], row(D, D, D, D)),
        (&[7], row(D, D, G, D)),
        (&[1, 7], row(G, G, G, D)),
        (&[1, 3], row(G, G, D, D)),
        (&[1, 3, 4], row(G, G, D, G)),
        (&[3, 4, 7], row(D, D, G, G)),
        (&[2, 5, 6, 8, 9, 10, 11], row(D, D, D, D)),
    ];
    for (purposes, want) in table {
        assert_eq!(from_tcf(&tcf("useractioncomplete", true, purposes)), want, "purposes {purposes:?}");
    }
    // gdprApplies missing: treat as applying; no purpose object: all denied.
    assert_eq!(from_tcf(&json(r#"{"eventStatus":"tcloaded"}"#)), Some(Partial::all(D)));
    let falsy = json(r#"{"eventStatus":"tcloaded","gdprApplies":true,"purpose":{"consents":{"1":false}}}"#);
    assert_eq!(from_tcf(&falsy), Some(Partial::all(D)));
}
