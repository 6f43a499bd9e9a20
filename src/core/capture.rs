//! What auto-capture keeps of a click or a form submit. The shell reads the
//! DOM; these rules decide which element describes a click and how much of it
//! may leave the page (a link's target only for a link, never more than 100
//! characters of an actionable element's own text, never an input's, never
//! a form field's value).

use crate::core::url;
use crate::prelude::*;
use goaltag_wire::{Element, Form};

/// A click is described by the nearest of these around the target, so a
/// click on the icon inside a button reports the button.
pub const ACTIONABLE: &str =
    "a[href],button,[role=button],[role=link],input[type=submit],input[type=button],input[type=image],summary,[data-goaltag]";

/// Prefix of the attributes a site owner adds to label clicks: `data-goaltag-cta="hero"`.
pub const DATA_PREFIX: &str = "data-goaltag-";

/// At most this many characters of a clicked element's own text leave the page.
pub const MAX_TEXT: usize = 100;

/// Whitespace collapsed, trimmed, cut to [`MAX_TEXT`] characters; `None` when empty.
pub fn clean_text(raw: &str) -> Option<String> {
    let mut out = String::new();
    for word in raw.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > MAX_TEXT * 4 {
            break;
        }
    }
    let cut = crate::core::text::first_chars(&out, MAX_TEXT);
    (!cut.is_empty()).then(|| cut.to_string())
}

/// A clicked element as the loader's reader describes it (src/browser/describe.js:
/// tag, whether it is [`ACTIONABLE`] (`1`) or only the click's target (empty),
/// id, class, href, text, then attribute name/value pairs, joined by NUL) as
/// the wire's element: classes and text cleaned and cut; the `href` of a
/// link (`a`) only; the text of an actionable element only (a click on a
/// large container must not copy the page's text, so the reader does not
/// even read it), never of an input (a button's label there is its value
/// attribute, which may be anything the visitor typed). None when the
/// description is cut short.
pub fn from_description(text: &str) -> Option<Element> {
    let mut f = text.split('\0');
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let mut el = Element { tag: f.next()?.to_string(), ..Default::default() };
    let actionable = !f.next()?.is_empty();
    el.id = non_empty(f.next()?);
    el.classes = clean_text(f.next()?);
    el.href = non_empty(f.next()?).filter(|_| el.tag == "a");
    el.text = clean_text(f.next()?).filter(|_| actionable && !el.tag.starts_with("input"));
    while let (Some(k), Some(v)) = (f.next(), f.next()) {
        el.data.insert(k.to_string(), v.to_string());
    }
    Some(el)
}

/// A submitted form as the shell reads it from the DOM: its properties and
/// attributes, never a field's value.
pub struct FormFacts {
    /// The `id` property.
    pub id: String,
    /// The `name` attribute, if there is one.
    pub name: Option<String>,
    /// Whether the form has an `action` attribute.
    pub has_action: bool,
    /// The `action` property: the absolute URL the form goes to.
    pub action: String,
    /// The `method` property (`get`, `post` or `dialog`: the DOM gives it
    /// lower-cased).
    pub method: String,
    /// How many controls the form has (`elements.length`).
    pub fields: u32,
}

/// What a form submit reports of the form: its id, name, target and method
/// and how many fields it has; never a field's name or value. The target
/// only when the form names one (a form without `action` goes to the page
/// itself, which the event's URL already says).
pub fn form(f: FormFacts) -> Form {
    let non_empty = |s: String| (!s.is_empty()).then_some(s);
    Form {
        id: non_empty(f.id),
        name: f.name.and_then(non_empty),
        action: non_empty(f.action).filter(|_| f.has_action),
        method: Some(f.method),
        fields: f.fields,
    }
}

/// Links to an address rather than a place, with what a click on them
/// reports instead of the address: what they are, never whose.
const ADDRESS_LINKS: [(&str, &str); 3] = [("mailto:", "mailto:[email]"), ("tel:", "tel:[phone]"), ("sms:", "sms:[phone]")];

/// A clicked link's `href` as it may leave the page: an address link
/// (`mailto:`, `tel:`, `sms:`) as its scheme with the address redacted;
/// anything else with [`url::redact`]'s rules.
pub fn clean_href(href: &str, redact_params: &[String]) -> String {
    match ADDRESS_LINKS.iter().find(|(scheme, _)| url::starts_with_ci(href, scheme)) {
        Some((_, shown)) => (*shown).to_string(),
        None => url::redact(href, redact_params),
    }
}

/// A link is outbound when it leads to another host (ports count, `www.`
/// does not); links that are not http(s) (mailto:, tel:, javascript:) are
/// neither, nor is anything without a host.
pub fn is_outbound(href: &str, page_url: &str) -> Option<bool> {
    let web = |u: &str| u.starts_with("https://") || u.starts_with("http://");
    if !web(href) || !web(page_url) {
        return None;
    }
    Some(url::host(href)? != url::host(page_url)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_becomes_the_element_without_the_text_of_inputs() {
        let el = from_description("a\x001\0buy\0 btn  big \0https://shop.example/cart\0  Buy\n now \0cta\0hero\0slot\0").unwrap();
        assert_eq!((el.tag.as_str(), el.id.as_deref(), el.classes.as_deref()), ("a", Some("buy"), Some("btn big")));
        assert_eq!((el.href.as_deref(), el.text.as_deref()), (Some("https://shop.example/cart"), Some("Buy now")));
        assert_eq!(el.data.get("cta").map(String::as_str), Some("hero"));
        assert_eq!(el.data.get("slot").map(String::as_str), Some(""));
        let input = from_description("input\x001\0\0\0\0my secret search\0").unwrap();
        assert_eq!((input.text, input.id, input.href), (None, None, None), "never an input's text");
        assert_eq!(from_description("div\0\0x"), None, "cut short");
    }

    #[test]
    fn only_a_link_carries_its_target_and_only_an_actionable_element_its_text() {
        let area = from_description("area\x001\0\0\0https://shop.example/map\0Map\0").unwrap();
        assert_eq!((area.href, area.text.as_deref()), (None, Some("Map")), "an image map's area is no link here");
        let container = from_description("div\0\0main\0\0\0All of the page's text\0").unwrap();
        assert_eq!((container.id.as_deref(), container.text), (Some("main"), None), "the target itself, not actionable: no text");
        let button = from_description("button\x001\0\0\0\0 Add to cart \0").unwrap();
        assert_eq!(button.text.as_deref(), Some("Add to cart"));
    }

    #[test]
    fn a_form_reports_what_it_is_never_what_was_typed() {
        let facts = |has_action: bool| FormFacts {
            id: String::new(),
            name: Some("signup".into()),
            has_action,
            action: "https://shop.example/join".into(),
            method: "post".into(),
            fields: 3,
        };
        let f = form(facts(true));
        assert_eq!((f.id, f.name.as_deref(), f.action.as_deref()), (None, Some("signup"), Some("https://shop.example/join")));
        assert_eq!((f.method.as_deref(), f.fields), (Some("post"), 3));
        assert_eq!(form(facts(false)).action, None, "no action attribute: the page itself, said by the URL");
        assert_eq!(form(FormFacts { name: Some(String::new()), ..facts(true) }).name, None);
    }

    #[test]
    fn text_is_collapsed_and_cut() {
        assert_eq!(clean_text("  Buy\n\t now  ").as_deref(), Some("Buy now"));
        assert_eq!(clean_text(" \n "), None);
        let long = "word ".repeat(60);
        let t = clean_text(&long).unwrap();
        assert_eq!(t.chars().count(), 100);
        assert_eq!(clean_text(&"é".repeat(150)).unwrap().chars().count(), 100);
    }

    #[test]
    fn outbound_links() {
        let page = "https://shop.example/cart";
        assert_eq!(is_outbound("https://shop.example/checkout", page), Some(false));
        assert_eq!(is_outbound("https://www.shop.example/", page), Some(false));
        assert_eq!(is_outbound("http://SHOP.example:443/x", page), Some(true), "a port makes another origin");
        assert_eq!(is_outbound("https://partner.example/?ref=shop.example", page), Some(true));
        assert_eq!(is_outbound("mailto:hi@shop.example", page), None);
        assert_eq!(is_outbound("https://user@evil.example/", page), Some(true));
    }

    #[test]
    fn links_without_a_web_host_are_neither() {
        let page = "https://shop.example/cart";
        assert_eq!(is_outbound("/relative", page), None);
        assert_eq!(is_outbound("https:///x", page), None);
        assert_eq!(is_outbound("ftp://files.example/x", page), None);
        assert_eq!(is_outbound("https://A.example:8080/p", "https://a.example:8080/q"), Some(false));
    }
}
