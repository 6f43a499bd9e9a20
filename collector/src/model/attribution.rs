//! Attribution's input written out row by row ([`Input`]), for tests and
//! callers that have events in hand rather than in a store: it becomes the
//! compact [`Events`] the report reads from a store.

use super::report::{EventRef, Events};
use goaltag_wire::Attribution;

/// A page view as attribution reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageViewTouch {
    /// When, ms since the Unix epoch.
    pub ts: i64,
    /// The browser's client ID, where consent allowed one.
    pub client_id: Option<String>,
    /// The visit's ID, where consent allowed one.
    pub visit_id: Option<String>,
    /// The touch the tag found on landing (page loads with campaign
    /// parameters or another site's referrer carry one).
    pub attribution: Option<Attribution>,
}

/// A conversion as attribution reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversionTouch {
    /// When, ms since the Unix epoch.
    pub ts: i64,
    /// The browser's client ID, where consent allowed one.
    pub client_id: Option<String>,
    /// The visit's ID, where consent allowed one.
    pub visit_id: Option<String>,
    /// True for a primary goal's conversion (the only ones credited).
    pub primary: bool,
    /// The conversion's value.
    pub value: Option<f64>,
    /// The value's currency (upper-cased by the reader or here).
    pub currency: Option<String>,
    /// The last click the tag attached (within its attribution window).
    pub attribution: Option<Attribution>,
}

/// What attribution reads from a store: the site's page views and
/// conversions from `from − lookback` to the end of the range, any order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input {
    /// The page views.
    pub page_views: Vec<PageViewTouch>,
    /// The conversions, primary or not.
    pub conversions: Vec<ConversionTouch>,
}

impl Input {
    /// The same events, compact and in time order (a page view before a
    /// conversion at the same ms).
    pub fn into_events(self) -> Events {
        let mut events = Events::default();
        let mut rows: Vec<(i64, bool, usize)> = self.page_views.iter().enumerate().map(|(i, p)| (p.ts, false, i)).collect();
        rows.extend(self.conversions.iter().enumerate().map(|(i, c)| (c.ts, true, i)));
        rows.sort_by_key(|&(ts, conversion, _)| (ts, conversion));
        for (ts, conversion, i) in rows {
            let (e, a) = if conversion {
                let c = &self.conversions[i];
                let e = EventRef {
                    ts,
                    conversion,
                    primary: c.primary,
                    client_id: c.client_id.as_deref(),
                    visit_id: c.visit_id.as_deref(),
                    value: c.value,
                    currency: c.currency.as_deref(),
                    ..Default::default()
                };
                (e, c.attribution.clone())
            } else {
                let p = &self.page_views[i];
                (
                    EventRef { ts, client_id: p.client_id.as_deref(), visit_id: p.visit_id.as_deref(), ..Default::default() },
                    p.attribution.clone(),
                )
            };
            events.push(e);
            if let Some(a) = a {
                let id = events.add_attribution(a);
                events.rows.last_mut().expect("pushed above").attribution = id;
            }
        }
        events
    }
}
