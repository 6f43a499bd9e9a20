//! IAB TCF v2.2: what a CMP's `tcData` means for the four types.

use super::Partial;
use crate::core::val::Val;
use goaltag_wire::Signal;

/// Maps an IAB TCF v2.2 `tcData` to consent. `None` until the CMP has an answer
/// (`eventStatus` `tcloaded` or `useractioncomplete`): the default stays. Only
/// purpose *consents* count; legitimate interest never grants here.
pub fn from_tcf(tc_data: &Val) -> Option<Partial> {
    match tc_data.get("eventStatus").and_then(Val::as_str) {
        Some("tcloaded" | "useractioncomplete") => {}
        _ => return None,
    }
    if tc_data.get("gdprApplies").and_then(Val::as_bool) == Some(false) {
        return Some(Partial::all(Signal::Granted));
    }
    let consents = tc_data.get("purpose").and_then(|p| p.get("consents"));
    let has = |n: &str| consents.and_then(|c| c.get(n)).and_then(Val::as_bool) == Some(true);
    let sig = |b: bool| Some(if b { Signal::Granted } else { Signal::Denied });
    Some(Partial {
        // Purpose 1: store and/or access information on a device.
        analytics_storage: sig(has("1")),
        ad_storage: sig(has("1")),
        // Purpose 7: measure advertising performance, i.e. send conversions.
        ad_user_data: sig(has("7")),
        // Purposes 3 and 4: create and use a personalised ads profile.
        ad_personalization: sig(has("3") && has("4")),
    })
}

#[cfg(test)]
mod tests;
