//! Consent test fixtures: a start time, the two routes, and the states and
//! effects the consent tests build on.

use crate::core::consent::*;
use goaltag_wire::Signal::{Denied as D, Granted as G};

pub(crate) const T0: u64 = 1_700_000_000_000;

pub(crate) const WAIT: u64 = 500;

pub(crate) const ID: Route = Route::Send { identifiers: true, ad_data: true };

pub(crate) const PING: Route = Route::Send { identifiers: false, ad_data: false };

pub(crate) fn new(mode: Mode) -> Consent {
    Consent::new(mode, Env::default(), T0)
}

pub(crate) fn granted() -> Partial {
    Partial::all(G)
}

pub(crate) fn denied() -> Partial {
    Partial::all(D)
}

pub(crate) fn purge(analytics: bool, ads: bool) -> Effect {
    Effect::PurgeStorage { analytics, ads }
}
