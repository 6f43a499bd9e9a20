//! Google Consent Mode: what a `gtag('consent', …)` command on `dataLayer`
//! means for the tag.

use super::source::consent_args;
use super::{parse_signal, ConsentType, Partial, MAX_WAIT_MS};
use crate::core::error::ConfigError;
use crate::core::val::Val;
use crate::prelude::*;
use goaltag_wire::Signal;

/// Said once, at the first Google Consent Mode command scoped to regions.
pub use crate::core::messages::line::GCM_REGION as GCM_REGION_WARNING;

/// Google Consent Mode v2 as a consent source: what each
/// `gtag('consent', 'default' | 'update', {...})` the page pushes on
/// `window.dataLayer` means to the tag, read in the order pushed. The four
/// types map one to one and `wait_for_update` on a default is honoured (at
/// most [`MAX_WAIT_MS`]); other keys (`functionality_storage`,
/// `security_storage`, …) are ignored, and so is a command that names none of
/// the four types, which leaves the state as it was.
///
/// A command with a `region` list applies only to visitors in those regions,
/// which the browser cannot tell: such a command can only deny. Its denials
/// apply to every visitor, its grants are ignored, and a default's denials
/// also hold against a default without region, whatever their order (as a
/// region's default wins in Google's tags). An update (the banner's answer)
/// still grants. Denying a visitor outside the region until the banner answers
/// is the error that keeps the promise; granting one inside it would not be.
#[derive(Debug, Clone, Default)]
pub struct Gcm {
    /// The types some region-scoped default denied.
    regional_denied: Partial,
    /// [`GCM_REGION_WARNING`] was given.
    warned: bool,
}

/// What one item on `window.dataLayer` means, from [`Gcm::read`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GcmCommand {
    /// The `goaltag(...)` call that does the same; `None` when the item is no
    /// consent command, or changes nothing.
    pub call: Option<Vec<Val>>,
    /// Values that are not `"granted"` or `"denied"`: each type is left out, and reported.
    pub errors: Vec<ConfigError>,
    /// [`GCM_REGION_WARNING`], with the first region-scoped command only.
    pub warning: Option<&'static str>,
}

impl Gcm {
    /// Reads the arguments of one `gtag(...)` call (its `arguments` object as
    /// a list: the shell passes only those, as Google's tags read only those;
    /// arrays and GTM's `{event: …}` objects are no commands).
    pub fn read(&mut self, args: &Val) -> GcmCommand {
        let mut out = GcmCommand::default();
        let list = args.as_list().unwrap_or_default();
        let (Some("consent"), Some(command @ ("default" | "update")), Some(fields)) =
            (list.first().and_then(Val::as_str), list.get(1).and_then(Val::as_str), list.get(2))
        else {
            return out;
        };
        let default = command == "default";
        let regional = fields.get("region").is_some_and(|r| !r.is_null() && r.as_list().is_none_or(|l| !l.is_empty()));
        let mut p = Partial::default();
        for t in ConsentType::ALL {
            let Some(v) = fields.get(t.name()).filter(|v| !v.is_null()) else { continue };
            let field = crate::core::error::cat(&["gtag('consent', '", command, "', …).", t.name()]);
            match parse_signal(v, &field) {
                // A region's command only denies; its denials outlive a later default.
                Ok(Signal::Granted) if regional => {}
                Ok(Signal::Granted) if default && self.regional_denied.get(t).is_some() => p.set(t, Some(Signal::Denied)),
                Ok(s) => p.set(t, Some(s)),
                Err(e) => out.errors.push(e),
            }
        }
        if regional {
            if !self.warned {
                self.warned = true;
                out.warning = Some(GCM_REGION_WARNING);
            }
            if default {
                self.regional_denied.merge(p);
            }
        }
        if p == Partial::default() {
            return out;
        }
        let wait = fields
            .get("wait_for_update")
            .and_then(Val::as_num)
            .filter(|&n| default && n > 0.0)
            .map(|n| crate::core::val::round_u64(n.min(MAX_WAIT_MS as f64)));
        out.call = Some(consent_args(command, &p, wait));
        out
    }
}

#[cfg(test)]
mod tests;
