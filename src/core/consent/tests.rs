use super::*;
use crate::core::consent::Effect::*;
use crate::core::test_fixtures::consent::*;
use goaltag_wire::Signal::{Denied as D, Granted as G};

#[derive(Debug, Clone, Copy, PartialEq)]
enum St {
    Unknown,
    /// Default all denied with `wait_for_update: 500` at T0.
    Waiting,
    /// Update all granted.
    Granted,
    /// Update all denied.
    Denied,
    /// Update all granted, then opt_out.
    OptedOut,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmd {
    DefaultGranted,
    DefaultDenied,
    DefaultGrantedWait,
    UpdateGranted,
    UpdateDenied,
    OptOut,
    OptIn,
    Tick,
    TickAtExpiry,
    TickAtWarning,
    OtherMode,
    Gpc,
    Dnt,
}

const STATES: [St; 5] = [St::Unknown, St::Waiting, St::Granted, St::Denied, St::OptedOut];

const CMDS: [Cmd; 13] = [
    Cmd::DefaultGranted,
    Cmd::DefaultDenied,
    Cmd::DefaultGrantedWait,
    Cmd::UpdateGranted,
    Cmd::UpdateDenied,
    Cmd::OptOut,
    Cmd::OptIn,
    Cmd::Tick,
    Cmd::TickAtExpiry,
    Cmd::TickAtWarning,
    Cmd::OtherMode,
    Cmd::Gpc,
    Cmd::Dnt,
];

fn build(st: St, mode: Mode) -> Consent {
    let mut c = new(mode);
    match st {
        St::Unknown => {}
        St::Waiting => {
            c.set_default(denied(), Some(WAIT), T0);
        }
        St::Granted => {
            c.update(granted(), T0);
        }
        St::Denied => {
            c.update(denied(), T0);
        }
        St::OptedOut => {
            c.update(granted(), T0);
            c.opt_out();
        }
    }
    c
}

fn run(c: &mut Consent, cmd: Cmd) -> Vec<Effect> {
    let now = T0 + 100;
    match cmd {
        Cmd::DefaultGranted => c.set_default(granted(), None, now),
        Cmd::DefaultDenied => c.set_default(denied(), None, now),
        Cmd::DefaultGrantedWait => c.set_default(granted(), Some(WAIT), now),
        Cmd::UpdateGranted => c.update(granted(), now),
        Cmd::UpdateDenied => c.update(denied(), now),
        Cmd::OptOut => c.opt_out(),
        Cmd::OptIn => c.opt_in(now),
        Cmd::Tick => c.tick(now),
        Cmd::TickAtExpiry => c.tick(T0 + WAIT),
        Cmd::TickAtWarning => c.tick(T0 + WARN_AFTER_MS),
        Cmd::OtherMode => {
            let m = if c.mode() == Mode::Basic { Mode::Advanced } else { Mode::Basic };
            c.set_mode(m)
        }
        Cmd::Gpc => c.set_env(Env { gpc: true, ..c.env() }),
        Cmd::Dnt => c.set_env(Env { dnt: true, honor_dnt: true, ..c.env() }),
    }
}

/// The transition table: effects and the route afterwards, per state, command
/// and mode. A literal answer per row; the match makes it exhaustive.
fn expected(st: St, cmd: Cmd, mode: Mode) -> (Vec<Effect>, Route) {
    let basic = mode == Mode::Basic;
    // What a denial decides from Hold: basic discards, advanced pings.
    let held_denied = if basic { (vec![DiscardHeld], Route::Drop) } else { (vec![ReleaseHeld], PING) };
    let denied_route = if basic { Route::Drop } else { PING };
    use Cmd as C;
    match (st, cmd) {
        (St::Unknown, C::DefaultGranted | C::UpdateGranted) => (vec![ReleaseHeld], ID),
        (St::Unknown, C::DefaultDenied | C::UpdateDenied) => held_denied,
        (St::Unknown, C::DefaultGrantedWait) => (vec![], Route::Hold),
        (St::Unknown, C::OptOut) => (vec![DiscardHeld], Route::Drop),
        (St::Unknown, C::TickAtWarning) => (vec![WarnNoConsent], Route::Hold),
        (St::Unknown, C::OptIn | C::Tick | C::TickAtExpiry | C::OtherMode | C::Gpc | C::Dnt) => (vec![], Route::Hold),

        // A default never ends the wait; an update does.
        (St::Waiting, C::DefaultGranted | C::DefaultDenied | C::DefaultGrantedWait) => (vec![], Route::Hold),
        (St::Waiting, C::UpdateGranted) => (vec![ReleaseHeld], ID),
        (St::Waiting, C::UpdateDenied) => held_denied,
        (St::Waiting, C::OptOut) => (vec![DiscardHeld], Route::Drop),
        (St::Waiting, C::TickAtExpiry | C::TickAtWarning) => held_denied,
        (St::Waiting, C::OptIn | C::Tick | C::OtherMode | C::Gpc | C::Dnt) => (vec![], Route::Hold),

        // Defaults never override an update.
        (St::Granted, C::DefaultGranted | C::DefaultDenied | C::DefaultGrantedWait | C::UpdateGranted) => (vec![], ID),
        // Withdrawing consent also narrows what was queued under it.
        (St::Granted, C::UpdateDenied) => (vec![purge(true, true), Narrowed], denied_route),
        (St::Granted, C::OptOut) => (vec![purge(true, true), Narrowed], Route::Drop),
        (St::Granted, C::OptIn | C::Tick | C::TickAtExpiry | C::TickAtWarning | C::OtherMode) => (vec![], ID),
        (St::Granted, C::Gpc) => (vec![purge(false, true), Narrowed], Route::Send { identifiers: true, ad_data: false }),
        (St::Granted, C::Dnt) => (vec![purge(true, true), Narrowed], denied_route),

        (St::Denied, C::UpdateGranted) => (if basic { vec![ReleaseHeld] } else { vec![] }, ID),
        // Cookieless pings may have been queued; an opt-out drops them.
        (St::Denied, C::OptOut) => (if basic { vec![] } else { vec![Narrowed] }, Route::Drop),
        // Basic → advanced resumes as pings; advanced → basic stops.
        (St::Denied, C::OtherMode) => {
            if basic {
                (vec![ReleaseHeld], PING)
            } else {
                (vec![Narrowed], Route::Drop)
            }
        }
        (
            St::Denied,
            C::DefaultGranted
            | C::DefaultDenied
            | C::DefaultGrantedWait
            | C::UpdateDenied
            | C::OptIn
            | C::Tick
            | C::TickAtExpiry
            | C::TickAtWarning
            | C::Gpc
            | C::Dnt,
        ) => (vec![], denied_route),

        (St::OptedOut, C::OptIn) => (vec![ReleaseHeld], ID),
        (
            St::OptedOut,
            C::DefaultGranted
            | C::DefaultDenied
            | C::DefaultGrantedWait
            | C::UpdateGranted
            | C::UpdateDenied
            | C::OptOut
            | C::Tick
            | C::TickAtExpiry
            | C::TickAtWarning
            | C::OtherMode
            | C::Gpc
            | C::Dnt,
        ) => (vec![], Route::Drop),
    }
}

#[test]
fn transition_table_every_command_in_every_state_in_both_modes() {
    for mode in [Mode::Basic, Mode::Advanced] {
        for st in STATES {
            for cmd in CMDS {
                let mut c = build(st, mode);
                let effects = run(&mut c, cmd);
                let route = c.route();
                assert_eq!((effects, route), expected(st, cmd, mode), "{st:?} + {cmd:?} in {mode:?}");
                // Identifiers are sent exactly when they may be read from storage.
                assert_eq!(c.may_store(Purpose::Analytics), matches!(route, Route::Send { identifiers: true, .. }));
                if let Route::Send { ad_data, .. } = route {
                    assert_eq!(ad_data, c.may_store(Purpose::Ads), "{st:?} + {cmd:?} in {mode:?}");
                }
            }
        }
    }
}

#[test]
fn states_start_as_named() {
    for mode in [Mode::Basic, Mode::Advanced] {
        let c = build(St::Unknown, mode);
        assert_eq!((c.state(), c.route()), (State::Unknown, Route::Hold));
        let c = build(St::Waiting, mode);
        assert_eq!((c.state(), c.route()), (State::Waiting, Route::Hold));
        let c = build(St::Granted, mode);
        assert_eq!((c.state(), c.route()), (State::Decided, ID));
        let c = build(St::Denied, mode);
        assert_eq!(c.state(), State::Decided);
        assert_eq!(c.route(), if mode == Mode::Basic { Route::Drop } else { PING });
        let c = build(St::OptedOut, mode);
        assert_eq!((c.state(), c.route()), (State::OptedOut, Route::Drop));
    }
}

#[test]
fn nothing_is_stored_while_unknown_waiting_or_opted_out() {
    let purposes = [Purpose::Analytics, Purpose::Ads, Purpose::UserData];
    let mut c = new(Mode::Advanced);
    assert!(purposes.iter().all(|p| !c.may_store(*p)));
    assert_eq!(c.snapshot(), Snapshot { analytics_storage: D, ad_storage: D, ad_user_data: D, ad_personalization: D });
    // Even a granted default stores nothing until its wait ends.
    c.set_default(granted(), Some(WAIT), T0);
    assert!(purposes.iter().all(|p| !c.may_store(*p)));
    assert_eq!(c.snapshot().analytics_storage, G, "the snapshot already shows the default");
    c.tick(T0 + WAIT);
    assert!(purposes.iter().all(|p| c.may_store(*p)));
    c.opt_out();
    assert!(purposes.iter().all(|p| !c.may_store(*p)));
    assert_eq!(c.snapshot().analytics_storage, D);
}

#[test]
fn each_purpose_needs_its_own_type() {
    let mut c = new(Mode::Basic);
    c.update(Partial { analytics_storage: Some(G), ..Default::default() }, T0);
    assert!(c.may_store(Purpose::Analytics));
    assert!(!c.may_store(Purpose::Ads));
    assert!(!c.may_store(Purpose::UserData));
    c.update(Partial { ad_storage: Some(G), ..Default::default() }, T0);
    assert!(c.may_store(Purpose::Ads));
    assert!(!c.may_store(Purpose::UserData));
    c.update(Partial { ad_user_data: Some(G), analytics_storage: Some(D), ..Default::default() }, T0);
    assert!(!c.may_store(Purpose::Analytics));
    assert!(c.may_store(Purpose::Ads));
    assert!(c.may_store(Purpose::UserData));
    assert_eq!(c.snapshot().ad_personalization, D, "never named, so denied");
}

#[test]
fn wait_for_update_ends_exactly_at_its_deadline() {
    for mode in [Mode::Basic, Mode::Advanced] {
        let mut c = new(mode);
        assert_eq!(c.set_default(granted(), Some(WAIT), T0), vec![]);
        assert_eq!(c.wake_at(), Some(T0 + WAIT));
        assert_eq!(c.tick(T0 + WAIT - 1), vec![]);
        assert_eq!(c.route(), Route::Hold);
        assert_eq!(c.tick(T0 + WAIT), vec![ReleaseHeld]);
        assert_eq!(c.route(), ID);
        assert_eq!(c.wake_at(), None);
        assert_eq!(c.tick(T0 + WAIT + 1), vec![], "ends once");
    }
}

#[test]
fn an_update_ends_the_wait_at_once_and_no_later_default_restarts_it() {
    let mut c = new(Mode::Basic);
    c.set_default(denied(), Some(WAIT), T0);
    assert_eq!(c.update(Partial { analytics_storage: Some(G), ..Default::default() }, T0 + 10), vec![ReleaseHeld]);
    assert_eq!(c.route(), Route::Send { identifiers: true, ad_data: false });
    assert_eq!(c.wake_at(), None);
    assert_eq!(c.set_default(denied(), Some(WAIT), T0 + 20), vec![]);
    assert_eq!(c.route(), Route::Send { identifiers: true, ad_data: false }, "the update still wins");
    assert_eq!(c.wake_at(), None);
}

#[test]
fn a_second_default_extends_a_wait_but_never_shortens_it() {
    let mut c = new(Mode::Basic);
    c.set_default(denied(), Some(WAIT), T0);
    c.set_default(Partial::default(), Some(100), T0 + 100);
    assert_eq!(c.wake_at(), Some(T0 + WAIT));
    c.set_default(granted(), Some(WAIT), T0 + 200);
    assert_eq!(c.wake_at(), Some(T0 + 200 + WAIT));
    assert_eq!(c.tick(T0 + WAIT), vec![]);
    assert_eq!(c.tick(T0 + 200 + WAIT), vec![ReleaseHeld]);
    assert_eq!(c.route(), ID, "the later default replaced the earlier one");
}

#[test]
fn a_zero_or_absent_wait_decides_at_once_and_waits_are_capped() {
    let mut c = new(Mode::Basic);
    assert_eq!(c.set_default(granted(), Some(0), T0), vec![ReleaseHeld]);
    let mut c = new(Mode::Basic);
    c.set_default(granted(), Some(u64::MAX), T0);
    assert_eq!(c.wake_at(), Some(T0 + MAX_WAIT_MS));
}

#[test]
fn a_wait_that_ran_out_ends_on_the_next_command_even_without_a_tick() {
    let mut c = new(Mode::Advanced);
    c.set_default(denied(), Some(WAIT), T0);
    assert_eq!(c.opt_in(T0 + WAIT + 100), vec![ReleaseHeld]);
    assert_eq!(c.route(), PING);
    let mut c = new(Mode::Basic);
    c.set_default(granted(), Some(WAIT), T0);
    // Held → sent (expiry) → dropped within one call: the held events go.
    assert_eq!(c.update(Partial { analytics_storage: Some(D), ..Default::default() }, T0 + WAIT), vec![DiscardHeld]);
}

#[test]
fn the_no_consent_warning_comes_once_after_ten_seconds() {
    let mut c = new(Mode::Basic);
    assert_eq!(c.wake_at(), Some(T0 + WARN_AFTER_MS));
    assert_eq!(c.tick(T0 + WARN_AFTER_MS - 1), vec![]);
    assert_eq!(c.tick(T0 + WARN_AFTER_MS), vec![WarnNoConsent]);
    assert_eq!(c.wake_at(), None);
    assert_eq!(c.tick(T0 + 2 * WARN_AFTER_MS), vec![]);
    assert_eq!(c.route(), Route::Hold, "still holding");
    // Late in coming, still once.
    let mut c = new(Mode::Basic);
    assert_eq!(c.tick(T0 + 60_000), vec![WarnNoConsent]);
    assert_eq!(c.tick(T0 + 60_001), vec![]);
}

#[test]
fn no_warning_once_any_consent_state_is_set() {
    let mut c = new(Mode::Basic);
    c.set_default(denied(), Some(WAIT), T0 + 9_800);
    assert_eq!(c.wake_at(), Some(T0 + 9_800 + WAIT), "the wait, not the warning");
    assert_eq!(c.tick(T0 + WARN_AFTER_MS), vec![]);
    assert_eq!(c.tick(T0 + 9_800 + WAIT), vec![DiscardHeld]);
    assert_eq!(c.tick(T0 + 20_000), vec![]);
    assert_eq!(c.wake_at(), None);
}

#[test]
fn gpc_denies_ad_types_whatever_the_updates_say() {
    let env = Env { gpc: true, ..Env::default() };
    let mut c = Consent::new(Mode::Basic, env, T0);
    assert_eq!(c.update(granted(), T0), vec![ReleaseHeld]);
    let want = Snapshot { analytics_storage: G, ad_storage: D, ad_user_data: D, ad_personalization: D };
    assert_eq!(c.snapshot(), want);
    assert_eq!(c.route(), Route::Send { identifiers: true, ad_data: false });
    assert!(c.may_store(Purpose::Analytics));
    assert!(!c.may_store(Purpose::Ads));
    assert!(!c.may_store(Purpose::UserData));
    assert!(c.gpc());
    // A later update to granted does not lift it.
    assert_eq!(c.update(Partial { ad_storage: Some(G), ..Default::default() }, T0 + 1), vec![]);
    assert_eq!(c.snapshot(), want);
    // Not honoured: reported on the wire, but no override.
    assert_eq!(c.set_env(Env { honor_gpc: false, ..c.env() }), vec![]);
    assert_eq!(c.snapshot(), Snapshot { analytics_storage: G, ad_storage: G, ad_user_data: G, ad_personalization: G });
    assert!(c.gpc());
    assert_eq!(c.route(), ID);
}

#[test]
fn dnt_denies_everything_only_when_honoured() {
    let mut c = Consent::new(Mode::Basic, Env { dnt: true, ..Env::default() }, T0);
    c.update(granted(), T0);
    assert_eq!(c.route(), ID, "honor_dnt is off by default");
    assert_eq!(c.set_env(Env { honor_dnt: true, ..c.env() }), vec![purge(true, true), Narrowed]);
    assert_eq!(c.snapshot(), Snapshot { analytics_storage: D, ad_storage: D, ad_user_data: D, ad_personalization: D });
    assert_eq!(c.route(), Route::Drop);
    assert_eq!(c.update(granted(), T0 + 1), vec![], "no update lifts it");
    assert_eq!(c.set_mode(Mode::Advanced), vec![ReleaseHeld]);
    assert_eq!(c.route(), PING);
    let mut c = Consent::new(Mode::Basic, Env { honor_dnt: true, ..Env::default() }, T0);
    c.update(granted(), T0);
    assert_eq!(c.route(), ID, "honoured but not sent");
}

#[test]
fn revocation_purges_exactly_the_purposes_withdrawn() {
    let mut c = new(Mode::Advanced);
    c.update(granted(), T0);
    assert_eq!(c.update(Partial { analytics_storage: Some(D), ..Default::default() }, T0 + 1), vec![purge(true, false), Narrowed]);
    assert_eq!(c.route(), Route::Send { identifiers: false, ad_data: true }, "pings from now on");
    assert_eq!(c.update(Partial { ad_storage: Some(D), ..Default::default() }, T0 + 2), vec![purge(false, true), Narrowed]);
    assert_eq!(c.route(), PING);
    // Denied → denied: nothing left to purge; ad_user_data, still granted
    // until now, narrows what queued conversions may carry.
    assert_eq!(c.update(denied(), T0 + 3), vec![Narrowed]);
    assert_eq!(c.update(denied(), T0 + 4), vec![]);
    // ad_user_data and ad_personalization store nothing, so revoking them
    // purges nothing; revoking ad_user_data narrows what queued conversions
    // may carry (their hashed user data), revoking ad_personalization nothing.
    let mut c = new(Mode::Basic);
    c.update(granted(), T0);
    let p = Partial { ad_personalization: Some(D), ..Default::default() };
    assert_eq!(c.update(p, T0 + 1), vec![]);
    let p = Partial { ad_user_data: Some(D), ..Default::default() };
    assert_eq!(c.update(p, T0 + 2), vec![Narrowed]);
    assert!(!c.may_store(Purpose::UserData));
}

#[test]
fn revoking_a_granted_default_purges_too() {
    let mut c = new(Mode::Basic);
    assert_eq!(c.set_default(granted(), None, T0), vec![ReleaseHeld]);
    assert_eq!(c.update(denied(), T0 + 1), vec![purge(true, true), Narrowed]);
    assert_eq!(c.route(), Route::Drop);
}

#[test]
fn a_denied_first_decision_purges_nothing() {
    // The ID from an earlier visit must survive a denied default, so the
    // banner's grant a moment later finds it again.
    let mut c = new(Mode::Basic);
    assert_eq!(c.set_default(denied(), None, T0), vec![DiscardHeld]);
    assert_eq!(c.update(granted(), T0 + 300), vec![ReleaseHeld]);
    let mut c = new(Mode::Basic);
    c.set_default(granted(), Some(WAIT), T0);
    assert_eq!(c.update(denied(), T0 + 100), vec![DiscardHeld], "nothing was stored during the wait");
}

#[test]
fn a_grant_after_a_denial_resumes_every_time() {
    let mut c = new(Mode::Basic);
    assert_eq!(c.update(denied(), T0), vec![DiscardHeld]);
    for i in 1..4 {
        assert_eq!(c.update(granted(), T0 + i), vec![ReleaseHeld]);
        assert_eq!(c.route(), ID);
        assert_eq!(c.update(denied(), T0 + i), vec![purge(true, true), Narrowed]);
        assert_eq!(c.route(), Route::Drop);
    }
    let mut c = new(Mode::Advanced);
    c.update(denied(), T0);
    assert_eq!(c.update(granted(), T0 + 1), vec![]);
    assert_eq!(c.route(), ID, "pings become full events");
}

#[test]
fn opt_out_and_back_in() {
    let mut c = new(Mode::Basic);
    c.update(denied(), T0);
    assert_eq!(c.opt_out(), vec![]);
    assert_eq!(c.opt_out(), vec![]);
    assert_eq!(c.opt_in(T0 + 1), vec![]);
    assert_eq!(c.route(), Route::Drop, "back to the denial");
    // Opted out at load (marker found): nothing, whatever the banner says.
    let mut c = Consent::new(Mode::Advanced, Env { opted_out: true, ..Env::default() }, T0);
    assert_eq!(c.route(), Route::Drop);
    assert_eq!(c.update(granted(), T0), vec![]);
    assert_eq!(c.route(), Route::Drop);
    assert!(!c.may_store(Purpose::Analytics));
    assert_eq!(c.opt_in(T0 + 1), vec![ReleaseHeld]);
    assert_eq!(c.route(), ID);
    // Opting back in with no consent state yet holds again.
    let mut c = Consent::new(Mode::Basic, Env { opted_out: true, ..Env::default() }, T0);
    assert_eq!(c.opt_in(T0), vec![]);
    assert_eq!(c.route(), Route::Hold);
}

#[test]
fn partial_updates_keep_the_other_types() {
    let mut c = new(Mode::Basic);
    c.set_default(Partial { analytics_storage: Some(G), ..Default::default() }, None, T0);
    assert_eq!(c.snapshot(), Snapshot { analytics_storage: G, ad_storage: D, ad_user_data: D, ad_personalization: D });
    c.update(Partial { ad_storage: Some(G), ..Default::default() }, T0);
    c.update(Partial { ad_personalization: Some(G), ..Default::default() }, T0);
    assert_eq!(c.snapshot(), Snapshot { analytics_storage: G, ad_storage: G, ad_user_data: D, ad_personalization: G });
    // A default never overrides what an update set, but fills what it did not.
    c.set_default(Partial { ad_storage: Some(D), ad_user_data: Some(G), ..Default::default() }, None, T0);
    assert_eq!(c.snapshot(), Snapshot { analytics_storage: G, ad_storage: G, ad_user_data: G, ad_personalization: G });
}

#[test]
fn an_empty_update_still_decides() {
    let mut c = new(Mode::Basic);
    assert_eq!(c.update(Partial::default(), T0), vec![DiscardHeld]);
    assert_eq!(c.state(), State::Decided);
}

#[test]
fn snapshot_serialises_with_consent_mode_names() {
    let mut c = new(Mode::Basic);
    c.update(Partial { analytics_storage: Some(G), ..Default::default() }, T0);
    assert_eq!(
        serde_json::to_string(&c.snapshot()).unwrap(),
        r#"{"analytics_storage":"granted","ad_storage":"denied","ad_user_data":"denied","ad_personalization":"denied"}"#
    );
}
