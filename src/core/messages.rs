//! What a field expected, as a code. The shipped tag carries only the code
//! of each text (a byte each instead of ~3 KB of text in the download): it
//! prints a short line with the code and the field's path at once, and the
//! shell then fetches `goaltag.messages.json` beside the wasm and prints the
//! full line. The texts live here, compiled only with `std` (native tests,
//! browser tests and the generator `src/bin/messages.rs`, which build.sh
//! runs to write that file): one source of truth for every text.
//!
//! A text may hold one `{}`, where the error's `arg` goes: the part of the
//! text the code computes (a list of names, a range of numbers).

/// Declares the codes and, with `std`, their texts, in one list: a code is
/// the position of its text.
macro_rules! messages {
    ($($(#[$doc:meta])* $name:ident = $text:expr,)*) => {
        /// A message code: what a field expected (see the module's documentation).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Msg {
            $($(#[$doc])* #[doc = "Text: see [`TEXTS`]."] $name,)*
        }

        /// Every text, by code.
        #[cfg(feature = "std")]
        pub const TEXTS: &[&str] = &[$($text,)*];
    };
}

messages! {
    /// `config` is not an object.
    ConfigObject = "an object like {site: 'my-site', collector: 'https://…/collect'}",
    /// `config.site`.
    SiteKey = "a site key of 1 to 100 letters, digits, '.', '_' or '-'",
    /// `config.collector`.
    CollectorUrl = "a URL starting with http://, https:// or /",
    /// An unknown `config` field.
    ConfigFields = crate::core::config::FIELDS,
    /// No collector: the tag is off.
    CollectorMissing = "a collector URL (data-collector=\"https://…/collect\" on the script tag)",
    /// No site key: the tag is off.
    SiteMissing = "a site key (data-site=\"my-site\" on the script tag)",
    /// A boolean field (attributes give strings).
    Boolean = "true or false (\"on\"/\"off\" in an attribute)",
    /// A number in a range; `arg`: `<unit> from <min> to <max>`.
    NumberOf = "a number of {}",
    /// A whole number in a range; `arg`: `<unit> from <min> to <max>`.
    WholeNumberOf = "a whole number of {}",
    /// One of a list of names; `arg`: the names.
    OneOf = "one of {}",
    /// `goals` is not a list.
    GoalList = "a list of goal objects",
    /// A goal is not an object.
    GoalObject = "an object like {id: \"purchase\", when: {type: \"url\", op: \"equals\", value: \"/thanks\"}}",
    /// A goal's `when` is missing or not an object.
    WhenObject = "an object like {type: \"url\", op: \"equals\", value: \"/thanks\"}",
    /// A goal's ID.
    GoalId = "an ID of 1 to 64 letters, digits, '_', '-' or '.'",
    /// Two goals with one ID.
    GoalIdUnique = "an ID no other goal has",
    /// A goal's `primary`.
    TrueOrFalse = "true or false",
    /// A goal's `name`.
    AString = "a string",
    /// A goal's `currency`.
    GoalCurrency = "an ISO 4217 code of 3 upper-case letters, like \"USD\"",
    /// An empty string.
    NonEmptyString = "a non-empty string",
    /// An event goal's `category`, `action` or `label`.
    EventCondition = "a string or an object like {op: \"equals\", value: \"signup\"}",
    /// An event goal with no condition.
    EventConditions = "at least one of category, action, label, value",
    /// A click or form goal's selector.
    Selector = "a CSS selector, like \"#buy\" or \"form.signup\"",
    /// A duration goal's `min_seconds`.
    MinSeconds = "a number of seconds greater than 0, up to 86400",
    /// A pages goal's `min_pages`.
    MinPages = "a whole number of pages from 1 to 10000",
    /// A `regex` condition's value.
    Regex = "a regular expression",
    /// A `regex` condition's value the browser's `RegExp` refuses.
    ValidRegex = "a valid regular expression",
    /// A URL goal's `equals` or `begins_with` value.
    UrlRule = "a path like \"/thanks\" or a host and path like \"shop.example/thanks\"",
    /// An event goal's `value` condition.
    ValueCondition = "an object like {op: \"gte\", value: 100}",
    /// A number.
    ANumber = "a number",
    /// A revenue amount.
    Amount = "a number, 0 or more",
    /// A goal's `revenue`.
    RevenueObject = "an object like {kind: \"variable\", default: 10}",
    /// `goaltag('config', …)` without an object.
    ConfigArgument = "an object as the second argument",
    /// An event's action.
    EventAction = "a non-empty string of at most 500 characters",
    /// An unknown command.
    Commands = crate::core::command::COMMANDS,
    /// An unknown parameter of a command.
    KnownParameter = "a known parameter",
    /// A command's parameters are not an object.
    Parameters = "an object of parameters",
    /// An event's category or label, a page view's title.
    Text500 = "a string of at most 500 characters",
    /// An event's `transaction_id`, a page view's URL.
    ShortString = "a short string",
    /// An event's `value`.
    FiniteNumber = "a finite number",
    /// An event's `currency`.
    Currency = "a 3-letter ISO 4217 code like \"USD\"",
    /// `redact_params`, `click_ids`.
    ParamNames = "a list of query parameter names, like [\"email\", \"phone\"]",
    /// One of `redact_params` or `click_ids`.
    ParamName = "a query parameter name (no spaces, '&', '=', '?' or '#')",
    /// `delivery` is not an object.
    DeliveryObject = "an object like {max_events: 500, base_ms: 500}",
    /// A `delivery` duration; `arg`: `<min> to <max>`.
    Hours = "a number of hours from {}",
    /// A `delivery` count; `arg`: `<min> to <max>`.
    WholeNumber = "a whole number from {}",
    /// The consent source's cookie.
    CookieName = "a cookie name",
    /// An unknown field of the consent source.
    CookieSourceFields = "one of cookie, categories",
    /// The consent source.
    ConsentSource = "'tcf', 'gcm' or an object like {cookie: 'cc_cookie'}",
    /// A consent signal.
    Signal = "\"granted\" or \"denied\"",
    /// An unknown consent command.
    ConsentCommands = "one of default, update, source",
    /// A consent command's object.
    ConsentObject = "an object like {analytics_storage: 'granted', ad_storage: 'denied'}",
    /// A consent type.
    ConsentTypes = "one of analytics_storage, ad_storage, ad_user_data, ad_personalization",
    /// An unknown field of a consent command.
    ConsentFields = "one of analytics_storage, ad_storage, ad_user_data, ad_personalization, wait_for_update",
    /// The cookie source's categories.
    CategoriesObject = "an object like {analytics: ['analytics_storage'], marketing: ['ad_storage', 'ad_user_data']}",
    /// One category's consent types.
    ConsentTypeList = "a list of consent types like ['ad_storage', 'ad_user_data']",
    /// Consent mode.
    Mode = "\"basic\" or \"advanced\"",
    /// The TCF source without a CMP.
    TcfApi = "window.__tcfapi, the stub of an IAB TCF v2.2 CMP, loaded before this call",
    /// The GCM source without an array.
    DataLayer = "window.dataLayer, the array gtag() pushes on",
    /// `user_data.phone` that cannot be made E.164.
    Phone = "a phone number with its country code, like \"+1 650 555 1212\" (or a national number and config.phone_country_code: \"1\")",
    /// `config.phone_country_code`.
    CountryCode = "a country calling code of 1 to 3 digits, like \"1\" or \"44\"",
}

/// The console lines the tag prints whole, without a code: warnings and its
/// own failures, each printed at most once a page (a code's text would have
/// to be fetched, which a tag that turned itself off no longer does). With
/// the codes' texts above, every text the tag prints is in this file.
pub mod line {
    use crate::prelude::*;

    /// No consent state was set within 10 s of the start.
    pub const NO_CONSENT: &str = "goaltag: no consent state was set, so nothing is sent. Set one with data-consent=\"granted\" \
         on the script tag or goaltag('consent', 'default', {analytics_storage: 'granted', …})";

    /// The first Google Consent Mode command scoped to regions.
    pub const GCM_REGION: &str = "goaltag: gtag('consent', …) with a region: the visitor's region is unknown \
here, so its denials apply to every visitor and its grants are ignored";

    /// A `goaltag()` call after the tag turned itself off (said once).
    pub const TAG_OFF: &str = "goaltag: the tag is off after an internal error; goaltag() calls are ignored";

    /// A panic: this, then the panic's message and place.
    pub const INTERNAL_ERROR: &str = "goaltag: internal error, the tag has turned itself off: ";

    /// A goal's CSS selector that the browser's `Element.closest` refuses (said once a selector).
    pub fn bad_selector(selector: &str) -> String {
        crate::core::error::cat(&[
            "goaltag: goals: the browser rejects the CSS selector ",
            selector,
            ", so the goal using it never converts; fix the selector in the goal's \"when\"",
        ])
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn every_line_names_the_tag() {
            for l in [super::NO_CONSENT, super::GCM_REGION, super::TAG_OFF, super::INTERNAL_ERROR, &super::bad_selector("a[")] {
                assert!(l.starts_with("goaltag: "), "{l}");
            }
            assert!(super::bad_selector("#buy]").contains("selector #buy], so"));
        }
    }
}

/// The text of a code.
#[cfg(feature = "std")]
pub fn text(m: Msg) -> &'static str {
    TEXTS[m as usize]
}

/// `goaltag.messages.json`: the texts as a JSON array, by code.
#[cfg(feature = "std")]
pub fn json() -> String {
    let mut s = String::from("[\n");
    for (i, t) in TEXTS.iter().enumerate() {
        if i > 0 {
            s.push_str(",\n");
        }
        goaltag_wire::json::write_str(&mut s, t);
    }
    s.push_str("\n]\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_text_and_the_file_is_json() {
        assert_eq!(text(Msg::ConfigObject), TEXTS[0]);
        assert_eq!(text(Msg::CountryCode), *TEXTS.last().unwrap());
        assert_eq!(TEXTS.len(), Msg::CountryCode as usize + 1);
        let parsed: Vec<String> = serde_json::from_str(&json()).unwrap();
        assert_eq!(parsed, TEXTS);
        assert!(TEXTS.iter().all(|t| t.matches("{}").count() <= 1 && !t.is_empty()));
    }

    #[test]
    fn consent_texts_name_every_type() {
        let names: Vec<_> = crate::core::consent::ConsentType::ALL.iter().map(|t| t.name()).collect();
        let types = ["one of ", &names.join(", ")].concat();
        assert_eq!(text(Msg::ConsentTypes), types);
        assert_eq!(text(Msg::ConsentFields), types + ", wait_for_update");
    }
}
