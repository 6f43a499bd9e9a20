//! The demo shop's cookie banner as a visitor answers it: the real
//! CookieConsent v3 (orestbida/cookieconsent, vendored in
//! `www/vendor/cookieconsent/`, configured by `www/consent.js`), clicked
//! through its own DOM. Its first layer is the consent modal (`.cm`: "Accept
//! all", "Reject all", "Manage preferences"); its second the preferences
//! modal (`.pm`: one toggle per category, "Accept all", "Reject all", "Save
//! choices"), which the footer's "Privacy settings" also opens. The library
//! marks `<html>` with `show--consent` / `show--preferences` while either is open.

use crate::{Harness, WAIT};

/// The consent modal (first layer) is open.
pub const CONSENT_SHOWN: &str = "document.documentElement.classList.contains('show--consent')";
/// The preferences modal (second layer) is open.
pub const PREFERENCES_SHOWN: &str = "document.documentElement.classList.contains('show--preferences')";
/// The visitor has answered: the cookie is written and both layers are closed.
pub const ANSWERED: &str = "document.cookie.indexOf('cc_cookie=') >= 0 \
    && !document.documentElement.classList.contains('show--consent') \
    && !document.documentElement.classList.contains('show--preferences')";

/// The library's consent modal, once it has run and shown itself.
fn wait_for_consent_modal(h: &Harness) {
    h.wait_for_js(&format!("window.CookieConsent && {CONSENT_SHOWN}"), WAIT);
}

/// "Accept all" on the banner's first layer; waits for the answer.
pub fn accept_all(h: &Harness) {
    wait_for_consent_modal(h);
    h.click(r#"#cc-main .cm__btn[data-role="all"]"#);
    h.wait_for_js(ANSWERED, WAIT);
}

/// "Reject all" on the banner's first layer; waits for the answer.
pub fn reject_all(h: &Harness) {
    wait_for_consent_modal(h);
    h.click(r#"#cc-main .cm__btn[data-role="necessary"]"#);
    h.wait_for_js(ANSWERED, WAIT);
}

/// "Manage preferences" on the first layer, analytics switched on
/// (marketing left off), "Save choices"; waits for the answer.
pub fn accept_analytics_only(h: &Harness) {
    wait_for_consent_modal(h);
    h.click(r#"#cc-main .cm__btn[data-role="show"]"#);
    h.wait_for_js(PREFERENCES_SHOWN, WAIT);
    save_only(h, &["analytics"]);
}

/// "Privacy settings" in the page's footer: the preferences modal opens.
pub fn open_privacy_settings(h: &Harness) {
    h.wait_for_js("!!window.CookieConsent", WAIT);
    h.click("#privacy-settings");
    h.wait_for_js(PREFERENCES_SHOWN, WAIT);
}

/// "Accept all" in the open preferences modal; waits for the answer.
pub fn accept_all_in_preferences(h: &Harness) {
    h.click(r#"#cc-main .pm__btn[data-role="all"]"#);
    h.wait_for_js(ANSWERED, WAIT);
}

/// In the open preferences modal, sets each optional category's toggle so
/// that exactly `on` are checked, then "Save choices"; waits for the answer.
pub fn save_only(h: &Harness, on: &[&str]) {
    for category in ["analytics", "marketing"] {
        let toggle = format!(r#"#cc-main .pm input.section__toggle[value="{category}"]"#);
        let checked = h.exec(&format!("return document.querySelector('{}').checked;", toggle.replace('\'', "\\'")));
        if checked.as_bool() != Some(on.contains(&category)) {
            h.click(&toggle);
        }
        let want = on.contains(&category);
        h.wait_for_js(&format!("document.querySelector('{}').checked === {want}", toggle.replace('\'', "\\'")), WAIT);
    }
    h.click(r#"#cc-main .pm__btn[data-role="save"]"#);
    h.wait_for_js(ANSWERED, WAIT);
}
