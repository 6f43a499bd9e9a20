use super::*;
use crate::core::consent::*;
use crate::core::test_fixtures::consent::*;
use crate::core::val::json;
use goaltag_wire::Signal::{Denied as D, Granted as G};

/// `gtag(...)`'s arguments as the shell hands them over: a list.
fn gtag(json_args: &str) -> Val {
    let v = json(json_args);
    assert!(v.as_list().is_some());
    v
}

fn call(c: &GcmCommand) -> Option<(bool, Partial, Option<u64>)> {
    let args = c.call.as_ref()?;
    let (cmd, errs) = crate::core::command::parse(args).expect("a valid goaltag call");
    assert!(errs.is_empty(), "{errs:?}");
    match cmd {
        crate::core::command::Command::Consent { update, partial, wait_for_update_ms } => Some((update, partial, wait_for_update_ms)),
        other => panic!("not a consent command: {other:?}"),
    }
}

#[test]
fn gcm_maps_the_four_types_one_to_one_and_ignores_the_others() {
    let mut g = Gcm::default();
    let c = g.read(&gtag(
        r#"["consent","default",{"analytics_storage":"denied","ad_storage":"granted","ad_user_data":"denied",
            "ad_personalization":"granted","functionality_storage":"granted","security_storage":"granted",
            "personalization_storage":"denied","wait_for_update":500}]"#,
    ));
    let want = Partial { analytics_storage: Some(D), ad_storage: Some(G), ad_user_data: Some(D), ad_personalization: Some(G) };
    assert_eq!(call(&c), Some((false, want, Some(500))));
    assert_eq!((c.errors.len(), c.warning), (0, None));
    let c = g.read(&gtag(r#"["consent","update",{"analytics_storage":"granted","functionality_storage":"denied"}]"#));
    assert_eq!(call(&c), Some((true, Partial { analytics_storage: Some(G), ..Default::default() }, None)));
    for t in ConsentType::ALL {
        let c = g.read(&gtag(&format!(r#"["consent","update",{{"{}":"denied"}}]"#, t.name())));
        let mut p = Partial::default();
        p.set(t, Some(D));
        assert_eq!(call(&c), Some((true, p, None)), "{}", t.name());
    }
}

#[test]
fn gcm_wait_for_update_counts_on_a_default_only_and_is_capped() {
    let mut g = Gcm::default();
    let wait = |g: &mut Gcm, cmd: &str, w: &str| {
        call(&g.read(&gtag(&format!(r#"["consent","{cmd}",{{"ad_storage":"denied","wait_for_update":{w}}}]"#)))).unwrap().2
    };
    assert_eq!(wait(&mut g, "default", "2000"), Some(2000));
    assert_eq!(wait(&mut g, "default", "499.6"), Some(500));
    assert_eq!(wait(&mut g, "default", "600000"), Some(MAX_WAIT_MS), "capped like goaltag's own");
    assert_eq!(wait(&mut g, "default", "0"), None);
    assert_eq!(wait(&mut g, "default", "-5"), None);
    assert_eq!(wait(&mut g, "default", r#""500""#), None);
    assert_eq!(wait(&mut g, "update", "500"), None, "an update's wait means nothing");
}

#[test]
fn gcm_ignores_what_is_no_consent_command() {
    let mut g = Gcm::default();
    for other in [
        r#"["js","2026-01-01"]"#,
        r#"["config","G-XXXX",{"send_page_view":false}]"#,
        r#"["event","purchase",{"value":10}]"#,
        r#"["set","ads_data_redaction",true]"#,
        r#"["consent","reset",{"ad_storage":"granted"}]"#,
        r#"["consent","update"]"#,
        r#"["consent","update","granted"]"#,
        r#"["consent"]"#,
        r#"[]"#,
    ] {
        assert_eq!(g.read(&gtag(other)), GcmCommand::default(), "{other}");
    }
    // GTM's own pushes ({event: 'gtm.js'}) and arrays never reach read as arguments; as values they mean nothing.
    assert_eq!(g.read(&json(r#"{"event":"gtm.js","gtm.start":1}"#)), GcmCommand::default());
    assert_eq!(g.read(&Val::Null), GcmCommand::default());
    // Naming none of the four types leaves the state as it was (unknown stays unknown).
    for nothing in [
        r#"["consent","default",{}]"#,
        r#"["consent","default",{"functionality_storage":"granted","wait_for_update":500}]"#,
        r#"["consent","update",{"security_storage":"granted","analytics_storage":null}]"#,
    ] {
        assert_eq!(g.read(&gtag(nothing)), GcmCommand::default(), "{nothing}");
    }
}

#[test]
fn gcm_reports_a_bad_value_and_keeps_the_others() {
    let mut g = Gcm::default();
    let c = g.read(&gtag(r#"["consent","update",{"analytics_storage":"denied","ad_storage":"yes","ad_user_data":true}]"#));
    assert_eq!(call(&c), Some((true, Partial { analytics_storage: Some(D), ..Default::default() }, None)));
    let fields: Vec<&str> = c.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["gtag('consent', 'update', …).ad_storage", "gtag('consent', 'update', …).ad_user_data"]);
    assert_eq!(c.errors[0].message(), r#"goaltag: gtag('consent', 'update', …).ad_storage: expected "granted" or "denied", got "yes""#);
}

#[test]
fn gcm_region_scoped_commands_only_deny_whatever_the_order() {
    let regional = r#"["consent","default",{"analytics_storage":"denied","ad_storage":"denied","ad_user_data":"granted","region":["ES","US-CA"],"wait_for_update":500}]"#;
    let global = r#"["consent","default",{"analytics_storage":"granted","ad_storage":"granted","ad_user_data":"granted","ad_personalization":"granted"}]"#;
    let only_denials = Partial { analytics_storage: Some(D), ad_storage: Some(D), ..Default::default() };
    let global_after = Partial { analytics_storage: Some(D), ad_storage: Some(D), ad_user_data: Some(G), ad_personalization: Some(G) };
    // Regional first, then the rest of the world's default.
    let mut g = Gcm::default();
    let c = g.read(&gtag(regional));
    assert_eq!(call(&c), Some((false, only_denials, Some(500))), "its grant is ignored, its wait kept");
    assert_eq!(c.warning, Some(GCM_REGION_WARNING));
    let c = g.read(&gtag(global));
    assert_eq!(call(&c), Some((false, global_after, None)), "the region's denials hold");
    assert_eq!(c.warning, None);
    // The other order ends in the same state.
    let mut g = Gcm::default();
    let mut c = Consent::new(Mode::Basic, Env::default(), T0);
    for cmd in [global, regional] {
        let (_, p, w) = call(&g.read(&gtag(cmd))).unwrap();
        c.set_default(p, w, T0);
    }
    let mut want = Consent::new(Mode::Basic, Env::default(), T0);
    want.set_default(global_after, None, T0);
    assert_eq!(c.snapshot(), want.snapshot());
    // Warned once; an all-granting regional default changes nothing; the banner's update still grants.
    let c = g.read(&gtag(r#"["consent","default",{"analytics_storage":"granted","region":["US"]}]"#));
    assert_eq!(c, GcmCommand::default());
    let c = g.read(&gtag(r#"["consent","update",{"analytics_storage":"granted","ad_storage":"granted"}]"#));
    assert_eq!(call(&c), Some((true, Partial { analytics_storage: Some(G), ad_storage: Some(G), ..Default::default() }, None)));
    // A regional update can still revoke, never grant; an empty region list is no region.
    let c = g.read(&gtag(r#"["consent","update",{"analytics_storage":"denied","ad_storage":"granted","region":["FR"]}]"#));
    assert_eq!(call(&c), Some((true, Partial { analytics_storage: Some(D), ..Default::default() }, None)));
    let c = g.read(&gtag(r#"["consent","default",{"ad_personalization":"granted","region":[]}]"#));
    assert_eq!(call(&c), Some((false, Partial { ad_personalization: Some(G), ..Default::default() }, None)));
}
