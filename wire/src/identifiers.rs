//! The consent rule for identifiers: which fields of an event consent may
//! withhold, and which it lets through. One rule for both of its users: the
//! tag applies it to an event as it is recorded ([`Event::withhold`]), and to
//! events already queued when consent narrows ([`crate::json::narrow`], on
//! their JSON).

use crate::{Consent, Event, Signal};

/// A field of an event that links it to the visitor or to their ad click.
/// To withhold something more, add a variant here: [`Consent::allows`] says
/// under which consent it goes, [`Identifier::path`] where it stands on the
/// wire, [`Event::withhold`] how it leaves an event and
/// [`crate::json::narrow`] how it leaves queued JSON (one line each; the
/// tests check all four agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifier {
    /// `client_id`: the pseudonymous ID kept in the browser's storage.
    ClientId,
    /// `visit_id`: the ID of the visit.
    VisitId,
    /// `attribution.click_ids`: the ad platforms' click IDs (gclid, msclkid, …).
    ClickIds,
    /// `user_data`: the buyer's hashed email, phone, name and address
    /// (enhanced conversions), under `ad_user_data`.
    UserData,
}

impl Identifier {
    /// Every identifier.
    pub const ALL: [Identifier; 4] = [Identifier::ClientId, Identifier::VisitId, Identifier::ClickIds, Identifier::UserData];

    /// Where it stands in an event's JSON: the member's name, or the name of
    /// the object holding it and its name in there.
    pub fn path(self) -> (&'static str, Option<&'static str>) {
        match self {
            Identifier::ClientId => ("client_id", None),
            Identifier::VisitId => ("visit_id", None),
            Identifier::ClickIds => ("attribution", Some("click_ids")),
            Identifier::UserData => ("user_data", None),
        }
    }
}

impl Consent {
    /// Whether an event recorded under this consent may carry `id`: the
    /// visitor's IDs with `analytics_storage` granted, click IDs with
    /// `ad_storage` granted, the hashed user data with `ad_user_data`
    /// granted. (Whether the event is sent at all is the tag's
    /// consent mode's to say.)
    pub fn allows(&self, id: Identifier) -> bool {
        let signal = match id {
            Identifier::ClientId | Identifier::VisitId => self.analytics_storage,
            Identifier::ClickIds => self.ad_storage,
            Identifier::UserData => self.ad_user_data,
        };
        signal == Signal::Granted
    }
}

impl Event {
    /// Removes every identifier `consent` does not allow (see [`Consent::allows`]).
    pub fn withhold(&mut self, consent: &Consent) {
        // One line a variant of Identifier (a loop over ALL costs the tag's
        // download more than it saves here).
        if !consent.allows(Identifier::ClientId) {
            self.client_id = None;
        }
        if !consent.allows(Identifier::VisitId) {
            self.visit_id = None;
        }
        if let Some(a) = self.attribution.as_mut().filter(|_| !consent.allows(Identifier::ClickIds)) {
            a.click_ids.clear();
        }
        if !consent.allows(Identifier::UserData) {
            self.user_data = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Attribution, Kind, Map};
    use alloc::string::String;

    fn consent(analytics: bool, ads: bool) -> Consent {
        let s = |g: bool| if g { Signal::Granted } else { Signal::Denied };
        // ad_user_data and ad_personalization granted: they decide nothing here.
        Consent { analytics_storage: s(analytics), ad_storage: s(ads), ad_user_data: Signal::Granted, ad_personalization: Signal::Granted }
    }

    #[test]
    fn analytics_storage_lets_the_visitors_ids_through_and_ad_storage_the_click_ids() {
        use Identifier::*;
        // (analytics_storage, ad_storage) -> what may go, written out.
        let table = [
            ((false, false), [false, false, false]),
            ((true, false), [true, true, false]),
            ((false, true), [false, false, true]),
            ((true, true), [true, true, true]),
        ];
        for ((analytics, ads), want) in table {
            let c = consent(analytics, ads);
            assert_eq!([c.allows(ClientId), c.allows(VisitId), c.allows(ClickIds)], want, "{c:?}");
        }
    }

    #[test]
    fn withhold_removes_exactly_what_is_not_allowed() {
        let mut e = Event::new("i".into(), Kind::PageView, 1);
        e.client_id = Some("c".into());
        e.visit_id = Some("v".into());
        e.url = Some("https://shop.example/?utm_source=x".into());
        let mut click_ids = Map::new();
        click_ids.insert("gclid".into(), "G".into());
        e.attribution = Some(Attribution { click_ids, referrer_host: Some("bing.com".into()), ..Default::default() });
        let mut all = e.clone();
        all.withhold(&consent(true, true));
        assert_eq!(all, e);
        let mut none = e.clone();
        none.withhold(&consent(false, false));
        assert_eq!((none.client_id, none.visit_id), (None, None));
        let a = none.attribution.unwrap();
        assert!(a.click_ids.is_empty());
        assert_eq!((a.referrer_host.as_deref(), none.url), (Some("bing.com"), e.url.clone()), "the rest stays");
        let mut ids_only = e.clone();
        ids_only.withhold(&consent(true, false));
        assert_eq!(ids_only.client_id.as_deref().map(String::from), Some("c".into()));
        assert!(ids_only.attribution.unwrap().click_ids.is_empty());
    }
}
