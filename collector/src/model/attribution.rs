//! What the report's attribution ([`crate::report::attribution`]) reads
//! from a store: lean page views and conversions, their attribution decoded.

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

/// An attribution as a store read it (the event's `attribution` member as
/// JSON text); `None` when missing or unreadable.
pub fn parse_attribution(json: Option<&str>) -> Option<Attribution> {
    json.and_then(|s| serde_json::from_str(s).ok())
}
