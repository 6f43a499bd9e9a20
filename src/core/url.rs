//! URLs as goal rules see them, and PII redaction before anything is queued.
//!
//! Matching ignores the scheme, any userinfo and a leading `www.`, and is
//! ASCII-case-insensitive: URLs are ASCII (non-ASCII is percent-encoded), and
//! Unicode case tables would cost kilobytes of wasm. Nothing here allocates
//! except redaction, which builds the URL that goes on the wire.

use crate::core::error::ConfigError;
use crate::core::messages::Msg;
use crate::core::val::Val;
use crate::prelude::*;

/// A URL taken apart for matching, borrowing from the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'a> {
    /// Host with port, without scheme, userinfo and a leading `www.`;
    /// empty for a path-only URL (`/x`).
    pub host: &'a str,
    /// From the host to the end: what `contains` and regexes look at.
    pub from_host: &'a str,
    /// Path, query and fragment as given; may be empty or start with `?`/`#`
    /// (`https://x.example?q`), which means the path `/`.
    pub tail: &'a str,
}

/// Byte offsets in `url`: where the authority starts, where its host starts
/// (after any `user:pass@`), and where the path starts.
fn bounds(url: &str) -> (usize, usize, usize) {
    // Byte scans rather than str::find with a &str pattern, whose searcher
    // costs 2 KB of wasm.
    let scheme = url.bytes().position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')));
    let auth = match scheme {
        Some(i) if i > 0 && url.get(i..).unwrap_or("").starts_with("://") => i + 3,
        _ if url.starts_with("//") => 2,
        _ => 0,
    };
    let auth_end = auth + find_any(url.get(auth..).unwrap_or(""), b"/?#");
    let host = auth + url.get(auth..auth_end).unwrap_or("").bytes().rposition(|c| c == b'@').map_or(0, |i| i + 1);
    (auth, host, auth_end)
}

/// Splits a page URL, a rule value (`/x`, `shop.example/x`, `https://…`) or a
/// referrer. Text without a scheme that does not start with `/` is host first.
pub fn split(url: &str) -> Parts<'_> {
    let (_, mut host, tail) = bounds(url);
    if url.len() >= host + 4 && url.as_bytes()[host..host + 4].eq_ignore_ascii_case(b"www.") && tail > host + 4 {
        host += 4;
    }
    Parts { host: url.get(host..tail).unwrap_or(""), from_host: url.get(host..).unwrap_or(""), tail: url.get(tail..).unwrap_or("") }
}

/// Offset of the first byte of `s` in `set`, else `s.len()`.
fn find_any(s: &str, set: &[u8]) -> usize {
    s.bytes().position(|c| set.contains(&c)).unwrap_or(s.len())
}

fn path_of(tail: &str) -> &str {
    tail.get(..find_any(tail, b"?#")).unwrap_or("")
}

/// The query with its `?`, or "".
fn query_of(tail: &str) -> &str {
    let t = tail.get(..find_any(tail, b"#")).unwrap_or("");
    t.get(find_any(t, b"?")..).unwrap_or("")
}

/// The fragment with its `#`, or "".
fn fragment_of(tail: &str) -> &str {
    tail.get(find_any(tail, b"#")..).unwrap_or("")
}

/// Trailing-slash tolerance: `/a/` is `/a`, and an empty path is `/`.
fn trim_slash(p: &str) -> &str {
    if p.is_empty() {
        "/"
    } else if p.len() > 1 {
        p.strip_suffix('/').unwrap_or(p)
    } else {
        p
    }
}

fn host_ok(page: &Parts, rule: &Parts) -> bool {
    rule.host.is_empty() || page.host.eq_ignore_ascii_case(rule.host)
}

/// True when a rule value is usable by `equals`/`begins_with`: a path, or a
/// host and path (a dotted host, `localhost` or a host with a port).
pub fn valid_rule(rule: &str) -> bool {
    let r = split(rule);
    !rule.trim().is_empty()
        && !rule.contains(char::is_whitespace)
        && (r.host.is_empty() && rule.starts_with('/') || r.host.contains(['.', ':']) || r.host.eq_ignore_ascii_case("localhost"))
}

/// `equals`: same host (if the rule names one) and same path, ignoring a
/// trailing slash. The page's query and fragment are compared only when the
/// rule has one, so `/thanks` matches `/thanks?order=7`.
pub fn equals(page: &str, rule: &str) -> bool {
    let (p, r) = (split(page), split(rule));
    let (rq, rf) = (query_of(r.tail), fragment_of(r.tail));
    host_ok(&p, &r)
        && trim_slash(path_of(p.tail)).eq_ignore_ascii_case(trim_slash(path_of(r.tail)))
        && (rq.is_empty() || query_of(p.tail).eq_ignore_ascii_case(rq))
        && (rf.is_empty() || trim_slash(fragment_of(p.tail)).eq_ignore_ascii_case(trim_slash(rf)))
}

/// `begins_with`: same host (if the rule names one) and the page's path,
/// query and fragment start with the rule's; `/a/` also matches the page `/a`.
pub fn begins_with(page: &str, rule: &str) -> bool {
    let (p, r) = (split(page), split(rule));
    // Both tails are rooted at `/`; drop it so "" and "?q" compare as "/" and "/?q".
    let pt = p.tail.strip_prefix('/').unwrap_or(p.tail);
    let rt = r.tail.strip_prefix('/').unwrap_or(r.tail);
    host_ok(&p, &r) && (starts_with_ci(pt, rt) || equals(page, rule))
}

/// `contains`: `needle` anywhere from the host on (scheme and `www.` are
/// ignored on both sides). A needle ending in `/` also matches where the page
/// ends that segment without the slash: `/blog/` matches `/blog?p=2`.
pub fn contains(page: &str, needle: &str) -> bool {
    let hay = split(page).from_host.as_bytes();
    let needle = split(needle).from_host.as_bytes();
    match needle.strip_suffix(b"/") {
        Some(stem) if !stem.is_empty() => {
            // Bytes, not str: `from` may step into a multi-byte character.
            let mut from = 0;
            while let Some(i) = find_ci_bytes(&hay[from..], stem) {
                let end = from + i + stem.len();
                if matches!(hay.get(end), None | Some(b'/' | b'?' | b'#')) {
                    return true;
                }
                from += i + 1;
            }
            false
        }
        _ => find_ci_bytes(hay, needle).is_some(),
    }
}

/// What a regex rule is tried on, any match counts: the URL as given, without
/// scheme and `www.`, and the path with query and fragment alone, so both
/// `^/order/\d+$` and `shop\.example/thanks` work.
pub fn regex_texts(page: &str) -> [&str; 3] {
    let p = split(page);
    [page, p.from_host, p.tail]
}

/// The raw `(name, value)` pairs of a URL's query (not percent-decoded).
pub fn query_pairs(url: &str) -> impl Iterator<Item = (&str, &str)> {
    let q = query_of(split(url).tail);
    q.get(1..).unwrap_or("").split('&').filter(|p| !p.is_empty()).map(|p| {
        let i = find_any(p, b"=");
        (p.get(..i).unwrap_or(""), p.get(i + 1..).unwrap_or(""))
    })
}

/// Percent-decodes a query value (`+` is a space); invalid escapes stay as
/// they are, and a value that decodes to invalid UTF-8 is kept undecoded.
pub fn decode_query_value(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).and_then(|&c| crate::core::text::hex_digit(c)),
                b.get(i + 2).and_then(|&c| crate::core::text::hex_digit(c)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// ASCII-case-insensitive prefix test.
pub fn starts_with_ci(hay: &str, prefix: &str) -> bool {
    hay.len() >= prefix.len() && hay.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// ASCII-case-insensitive substring search; the byte offset of the first match.
pub fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    find_ci_bytes(hay.as_bytes(), needle.as_bytes())
}

fn find_ci_bytes(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() {
        return Some(0);
    }
    (0..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// The host of an absolute URL (or `//host` URL), lower-cased, without
/// userinfo and a leading `www.`; None for a relative URL or an empty host.
pub fn host(url: &str) -> Option<String> {
    let (auth, _, _) = bounds(url);
    let h = split(url).host;
    (auth > 0 && !h.is_empty()).then(|| h.to_ascii_lowercase())
}

/// Removes what must not leave the page: the query parameters named in
/// `params` (ASCII-case-insensitive; give them lower-case), any userinfo, and
/// every email address in path, query and fragment, also when percent-encoded
/// (`%40`, `%2540`), which becomes `[email]`. Run it on every URL and referrer
/// before an event is queued.
pub fn redact(url: &str, params: &[String]) -> String {
    // Userinfo exists only after an authority (`scheme://`, `//`): in
    // `mailto:bob@x.example` the part before `@` is the address itself, and
    // all of it is checked for email addresses.
    let (auth, host, tail_at) = match bounds(url) {
        (0, _, _) => (0, 0, 0),
        b => b,
    };
    let tail = url.get(tail_at..).unwrap_or("");
    let mut out = String::with_capacity(url.len());
    out.push_str(url.get(..auth).unwrap_or(""));
    out.push_str(url.get(host..tail_at).unwrap_or(""));

    let path_end = find_any(tail, b"?#");
    let frag_at = find_any(tail, b"#");
    let mut kept = String::with_capacity(tail.len());
    kept.push_str(tail.get(..path_end).unwrap_or(""));
    if path_end < frag_at {
        let mut sep = '?';
        for pair in tail.get(path_end + 1..frag_at).unwrap_or("").split('&') {
            let name = pair.get(..find_any(pair, b"=")).unwrap_or("");
            if pair.is_empty() || params.iter().any(|p| p.eq_ignore_ascii_case(name)) {
                continue;
            }
            kept.push(sep);
            kept.push_str(pair);
            sep = '&';
        }
    }
    kept.push_str(tail.get(frag_at..).unwrap_or(""));
    redact_emails_into(&mut out, &kept);
    out
}

/// Removes every click-ID parameter (`is_click_id` of its name, any case)
/// from the URLs in `json`, an event's wire text: the parameter is removed,
/// name and value, never replaced by a marker. A parameter is `name=value`
/// after `?`, `&` or `#`, also percent-encoded (`%3F`, `%26`, `%23`, `%3D`:
/// a URL nested in another's query, such as a redirect target), once or
/// more (`%253F`: a URL nested in the nested one); its value ends at the
/// next `&` or `#` of its own level or an outer one, a quote or white
/// space. Other parameters stay as they are, in their order. Working
/// on the text rather than on named fields, it covers every field, one a
/// later version adds too. Keys are not touched: a JSON key is never
/// preceded by a separator.
pub fn strip_click_ids(json: &str, is_click_id: impl Fn(&str) -> bool) -> String {
    let b = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    // `carry`: the `?` or `#` of a removed parameter, owed to the next one of its level.
    let (mut done, mut i, mut carry) = (0, 0, "");
    while i < b.len() {
        let (c, len) = token(b, i);
        if !matches!(c, b'?' | b'#' | b'&') {
            i += 1;
            continue;
        }
        let name_at = i + len;
        let mut j = name_at;
        while j < b.len() && !matches!(b[j], b'=' | b'&' | b'#' | b'"' | b'\\' | b'%' | ..=b' ') {
            j += 1;
        }
        if token(b, j).0 == b'=' && is_click_id(json.get(name_at..j).unwrap_or("")) {
            let mut k = j + token(b, j).1;
            while k < b.len() {
                let (v, l) = token(b, k);
                if matches!(b[k], b'"' | ..=b' ') || matches!(v, b'&' | b'#') && l <= len {
                    break;
                }
                k += if b[k] == b'\\' { 2 } else { 1 };
            }
            out.push_str(json.get(done..i).unwrap_or(""));
            if c != b'&' {
                carry = json.get(i..name_at).unwrap_or("");
            } else if i != done {
                carry = "";
            }
            done = k.min(b.len());
            i = done;
        } else {
            if i == done && c == b'&' && !carry.is_empty() && carry.len() == len {
                out.push_str(carry);
                done = name_at;
            }
            carry = "";
            i = name_at;
        }
    }
    out.push_str(json.get(done..).unwrap_or(""));
    out
}

/// The character at `b[i]` and its length in `b`: one of `#&=?`
/// percent-encoded once or more (`%26`, `%2526`, `%252526`: a URL nested
/// in a nested URL's query) is decoded, its length telling its level.
fn token(b: &[u8], i: usize) -> (u8, usize) {
    if b.get(i) == Some(&b'%') {
        let mut at = i + 1;
        while b.get(at..at + 2) == Some(b"25") {
            at += 2;
        }
        let c = match b.get(at..at + 2) {
            Some(&[h, l]) => match [h, l | 0x20] {
                [b'2', b'3'] => b'#',
                [b'2', b'6'] => b'&',
                [b'3', b'd'] => b'=',
                [b'3', b'f'] => b'?',
                _ => 0,
            },
            _ => 0,
        };
        if c != 0 {
            return (c, at + 2 - i);
        }
    }
    (b.get(i).copied().unwrap_or(0), 1)
}

/// Replaces every email address in `s` with `[email]` (see [`redact`]).
pub fn redact_emails(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    redact_emails_into(&mut out, s);
    out
}

fn redact_emails_into(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let (mut done, mut i) = (0, 0);
    while i < b.len() {
        let at = at_sign(&b[i..]);
        if at == 0 {
            i += 1;
            continue;
        }
        // Every byte the walks accept is ASCII, so l and r are char boundaries.
        let mut l = i;
        while l > done && is_local(b[l - 1]) {
            l -= 1;
        }
        let d = i + at;
        let mut r = d;
        while r < b.len() && (b[r].is_ascii_alphanumeric() || matches!(b[r], b'-' | b'.')) {
            r += 1;
        }
        while r > d && b[r - 1] == b'.' {
            r -= 1;
        }
        // The domain ends with its top-level label's letters: a@b.co-x is a@b.co.
        if let Some(dot) = b[d..r].iter().rposition(|&c| c == b'.') {
            let tld = b[d + dot + 1..r].iter().take_while(|c| c.is_ascii_alphabetic()).count();
            r = d + dot + 1 + tld;
        }
        if l < i && is_domain(&b[d..r]) {
            out.push_str(s.get(done..l).unwrap_or(""));
            out.push_str("[email]");
            done = r;
            i = r;
        } else {
            i += at;
        }
    }
    out.push_str(s.get(done..).unwrap_or(""));
}

/// Length of an at sign at the start of `b`: `@`, `%40` or double-encoded `%2540`.
fn at_sign(b: &[u8]) -> usize {
    if b.first() == Some(&b'@') {
        1
    } else if b.len() >= 3 && b[..3].eq_ignore_ascii_case(b"%40") {
        3
    } else if b.len() >= 5 && b[..5].eq_ignore_ascii_case(b"%2540") {
        5
    } else {
        0
    }
}

/// A byte of an email's local part as it appears in a URL (`%` for
/// percent-encoded characters such as `%2B`); over-matching only redacts more.
fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-' | b'!' | b'$' | b'\'' | b'*' | b'~')
}

/// `example.com`, `mail.example.co.uk`: dotted labels, a letters-only TLD of 2+.
fn is_domain(d: &[u8]) -> bool {
    let Some(dot) = d.iter().rposition(|&c| c == b'.') else { return false };
    let tld = &d[dot + 1..];
    !d.starts_with(b".")
        && !d.starts_with(b"-")
        && !d.windows(2).any(|w| w == b"..")
        && tld.len() >= 2
        && tld.iter().all(u8::is_ascii_alphabetic)
}

/// Parses a list of query parameter names (`redact_params`, `click_ids`):
/// lower-cased, invalid entries reported as `field[i]` and skipped.
pub fn parse_names(v: &Val, field: &str) -> (Vec<String>, Vec<ConfigError>) {
    let (mut names, mut errors) = (Vec::new(), Vec::new());
    let Some(list) = v.as_list() else {
        errors.push(ConfigError::new(field, Msg::ParamNames, v));
        return (names, errors);
    };
    for (i, item) in list.iter().enumerate() {
        match item.as_str() {
            Some(s)
                if !s.is_empty() && s.len() <= 100 && !s.contains(|c: char| c.is_whitespace() || matches!(c, '&' | '=' | '?' | '#')) =>
            {
                names.push(s.to_ascii_lowercase())
            }
            _ => errors.push(ConfigError::new(crate::core::error::indexed(field, i), Msg::ParamName, item)),
        }
    }
    (names, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_only_after_an_authority() {
        assert_eq!(redact("mailto:bob@x.example", &[]), "mailto:[email]", "never read as user bob at host x.example");
        assert_eq!(redact("https://user:pw@shop.example/x", &[]), "https://shop.example/x");
    }
    use crate::core::val::json;

    #[test]
    fn split_ignores_scheme_userinfo_and_www() {
        let p = split("https://user:pw@WWW.Shop.example:8080/a/b?q=1#f");
        assert_eq!(p.host, "Shop.example:8080");
        assert_eq!(p.from_host, "Shop.example:8080/a/b?q=1#f");
        assert_eq!(p.tail, "/a/b?q=1#f");
        assert_eq!(split("/x?y").host, "");
        assert_eq!(split("/x?y").tail, "/x?y");
        assert_eq!(split("shop.example/x").host, "shop.example");
        assert_eq!(split("//cdn.example/x").host, "cdn.example");
        assert_eq!(split("https://x.example?q").tail, "?q");
        // "www." alone is a host, not a prefix to strip.
        assert_eq!(split("https://www./x").host, "www.");
        assert_eq!(split("https://www.example").host, "example");
    }

    #[test]
    fn rule_values() {
        for ok in ["/", "/thanks", "shop.example/thanks", "https://www.shop.example", "localhost:8080/x", "LOCALHOST/x"] {
            assert!(valid_rule(ok), "{ok}");
        }
        for bad in ["", " ", "thanks", "thank you", "/a b"] {
            assert!(!valid_rule(bad), "{bad}");
        }
    }

    #[test]
    fn equals_cases() {
        let page = "https://www.Shop.example/Checkout/Confirmation/?order=7#top";
        let yes = [
            "/checkout/confirmation",
            "/checkout/confirmation/",
            "/CHECKOUT/confirmation",
            "shop.example/checkout/confirmation",
            "www.shop.example/checkout/confirmation",
            "http://shop.example/checkout/confirmation",
            "/checkout/confirmation?order=7",
            "/checkout/confirmation#top",
        ];
        for r in yes {
            assert!(equals(page, r), "{r}");
        }
        let no = [
            "/checkout",
            "/checkout/confirmation/x",
            "other.example/checkout/confirmation",
            "/checkout/confirmation?order=8",
            "/checkout/confirmation#bottom",
        ];
        for r in no {
            assert!(!equals(page, r), "{r}");
        }
        assert!(equals("https://shop.example", "/"));
        assert!(equals("https://shop.example/", "shop.example"));
        assert!(equals("https://shop.example?x=1", "/"));
        assert!(equals("https://shop.example/#/thanks/", "/#/thanks"), "hash routes");
    }

    #[test]
    fn begins_with_cases() {
        let page = "http://shop.example/Checkout/Confirmation?order=7";
        for r in [
            "/checkout",
            "/checkout/conf",
            "/checkout/confirmation?order",
            "shop.example/checkout",
            "https://www.shop.example/",
            "shop.example",
            "/",
        ] {
            assert!(begins_with(page, r), "{r}");
        }
        for r in ["/confirmation", "other.example/checkout", "/checkout/confirmation/x"] {
            assert!(!begins_with(page, r), "{r}");
        }
        assert!(begins_with("https://shop.example/checkout", "/checkout/"), "trailing slash on the rule");
        assert!(begins_with("https://shop.example/checkout/", "/checkout"), "trailing slash on the page");
        assert!(begins_with("https://shop.example?q=1", "/?q"), "empty path is /");
    }

    #[test]
    fn contains_cases() {
        let page = "https://WWW.shop.example/blog?p=2";
        for n in ["blog", "BLOG", "shop.example/b", "www.shop.example/blog", "https://shop.example", "/blog/", "p=2"] {
            assert!(contains(page, n), "{n}");
        }
        for n in ["https://www", "blogs", "/blog/x", "other"] {
            assert!(!contains(page, n), "{n}");
        }
        assert!(!contains("https://x.example/blogger", "/blog/"), "a slash still ends the segment");
        assert!(contains("https://x.example/blog", "/blog/"));
        assert!(contains("https://x.example/é/éa/é", "é/"), "multi-byte stems step safely");
        assert!(!contains("https://x.example/éa", "é/"));
    }

    #[test]
    fn regex_text_candidates() {
        assert_eq!(regex_texts("https://www.x.example/a?b"), ["https://www.x.example/a?b", "x.example/a?b", "/a?b"]);
    }

    #[test]
    fn query_pairs_and_decoding() {
        let pairs: Vec<_> = query_pairs("https://x.example/p?a=1&&b&c=x%20y+z&d=#f?e=2").collect();
        assert_eq!(pairs, [("a", "1"), ("b", ""), ("c", "x%20y+z"), ("d", "")]);
        assert_eq!(query_pairs("/p#?a=1").count(), 0);
        assert_eq!(decode_query_value("x%20y+z%2B%C3%A9"), "x y z+é");
        assert_eq!(decode_query_value("100%"), "100%");
        assert_eq!(decode_query_value("%zz%4"), "%zz%4");
        assert_eq!(decode_query_value("a+%FF"), "a+%FF", "not UTF-8: kept as it was");
    }

    #[test]
    fn ci_helpers() {
        assert_eq!(find_ci("abcABC", "Bc"), Some(1));
        assert_eq!(find_ci("ab", "abc"), None);
        assert_eq!(find_ci("ab", ""), Some(0));
        assert!(!starts_with_ci("ÄBC", "ä"));
        assert!(starts_with_ci("Hello", "hE"));
    }

    #[test]
    fn hosts() {
        assert_eq!(host("https://www.News.example/a").as_deref(), Some("news.example"));
        assert_eq!(host("android-app://com.google.android.gm/").as_deref(), Some("com.google.android.gm"));
        assert_eq!(host("/relative"), None);
        assert_eq!(host("https:///x"), None);
        assert_eq!(host(""), None);
    }

    #[test]
    fn redacts_params() {
        let params = vec!["email".to_string(), "phone".to_string()];
        assert_eq!(redact("https://x.example/p?a=1&EMAIL=bob&b=2&phone=555#f", &params), "https://x.example/p?a=1&b=2#f");
        assert_eq!(redact("https://x.example/p?email=x&phone", &params), "https://x.example/p");
        assert_eq!(redact("/p?emails=1&email", &params), "/p?emails=1");
        assert_eq!(redact("https://x.example/p?a=1#email=x", &params), "https://x.example/p?a=1#email=x", "fragment is not a query");
        assert_eq!(redact("https://x.example/p#?email=x", &params), "https://x.example/p#?email=x");
        assert_eq!(redact("https://x.example", &params), "https://x.example");
        assert_eq!(redact("", &params), "");
    }

    #[test]
    fn redacts_emails_in_path_query_and_fragment() {
        let none: Vec<String> = Vec::new();
        let cases = [
            ("https://x.example/users/john.doe@example.com/edit", "https://x.example/users/[email]/edit"),
            ("https://x.example/s?q=John.Doe%40Example.COM&x=1", "https://x.example/s?q=[email]&x=1"),
            ("https://x.example/s?to=john%2Bnews%40mail.example.co.uk", "https://x.example/s?to=[email]"),
            ("https://x.example/s?to=a%2540b.example", "https://x.example/s?to=[email]"),
            ("https://x.example/s?e=a+b@c.io&e=d@e.org", "https://x.example/s?e=[email]&e=[email]"),
            ("https://x.example/#/u/bob@x.dev", "https://x.example/#/u/[email]"),
            ("https://x.example/mail/bob@x.dev.", "https://x.example/mail/[email]."),
            ("/a/b@c.de", "/a/[email]"),
            ("/a/b@c.de-x/y", "/a/[email]-x/y"),
            ("/a/b@c.de9", "/a/[email]9"),
        ];
        for (url, want) in cases {
            assert_eq!(redact(url, &none), want, "{url}");
        }
        // Not emails: no local part, no dotted domain, a numeric TLD.
        for url in [
            "https://medium.example/@writer/post",
            "https://x.example/a@b",
            "https://x.example/v@1.2",
            "https://x.example/a@.com",
            "https://x.example/a@b..com",
            "https://x.example/%40handle",
        ] {
            assert_eq!(redact(url, &none), url);
        }
        assert_eq!(redact("https://bob:secret@x.example/", &none), "https://x.example/", "userinfo dropped");
        assert_eq!(redact_emails("mail bob@x.example now"), "mail [email] now");
        assert_eq!(redact_emails("ünï bob@x.example ü"), "ünï [email] ü");
    }

    fn strip(s: &str) -> String {
        strip_click_ids(s, |n| ["gclid", "msclkid", "sccid"].iter().any(|c| c.eq_ignore_ascii_case(n)))
    }

    #[test]
    fn strips_click_ids_and_keeps_the_rest() {
        let cases = [
            ("https://x.example/p?gclid=1&utm_source=g&q=shoes", "https://x.example/p?utm_source=g&q=shoes"),
            ("https://x.example/p?a=1&GCLID=1&b=2", "https://x.example/p?a=1&b=2"),
            ("https://x.example/p?a=1&gclid=1", "https://x.example/p?a=1"),
            ("https://x.example/p?gclid=1&msclkid=2&sccid=3&q=1", "https://x.example/p?q=1"),
            ("https://x.example/p?gclid=1&msclkid=2", "https://x.example/p"),
            ("https://x.example/p?gclid=1#top", "https://x.example/p#top"),
            ("https://x.example/p?gclid=1&a=1#gclid=2&b=3", "https://x.example/p?a=1#b=3"),
            ("https://x.example/#/landing?gclid=1&q=2", "https://x.example/#/landing?q=2"),
            ("https://x.example/p?gclid=&q=", "https://x.example/p?q="),
            ("https://x.example/p?gclidx=1&xgclid=2&gclid", "https://x.example/p?gclidx=1&xgclid=2&gclid"),
            ("https://x.example/gclid=1/p", "https://x.example/gclid=1/p"),
            ("mail me: ?gclid=1 now", "mail me:  now"),
            // A URL nested in another's query, percent-encoded.
            ("/r?next=https%3A%2F%2Fx.example%2F%3Fgclid%3Dab%26q%3D1&z=2", "/r?next=https%3A%2F%2Fx.example%2F%3Fq%3D1&z=2"),
            ("/r?next=%2Fp%3Fgclid%3Dab&z=2", "/r?next=%2Fp&z=2"),
            ("/r?next=%2Fp%3fa%3D1%26gclid%3Dab%23f", "/r?next=%2Fp%3fa%3D1%23f"),
            ("/r?gclid=a%26b&q=1", "/r?q=1"),
            // Nested twice: a login page's return URL whose own query holds the landing page.
            (
                "/login?next=%2Fgo%3Fto%3Dhttps%253A%252F%252Fx.example%252F%253Fgclid%253Dab%2526q%253D1%26k%3D2&z=3",
                "/login?next=%2Fgo%3Fto%3Dhttps%253A%252F%252Fx.example%252F%253Fq%253D1%26k%3D2&z=3",
            ),
            ("/r?n=%2F%3Fa%3D%252Fp%253FGCLID%253Dab%23f&z=1", "/r?n=%2F%3Fa%3D%252Fp%23f&z=1"),
            ("/r?n=%252Fp%253Fq%253D1%2526gclid%253Dab", "/r?n=%252Fp%253Fq%253D1"),
            // Three times; and a raw-level value holding an encoded separator keeps it.
            ("/r?n=%25252Fp%25253Fgclid%25253Dab%252526q%25253D1", "/r?n=%25252Fp%25253Fq%25253D1"),
            ("/r?gclid=a%2526b&q=1", "/r?q=1"),
            ("/r?q=50%25&gclid=1", "/r?q=50%25"),
            ("", ""),
        ];
        for (url, want) in cases {
            assert_eq!(strip(url), want, "{url}");
        }
    }

    #[test]
    fn strips_click_ids_in_json_text_without_breaking_it() {
        // A value with a quote and a backslash, escaped as the wire writes it.
        let mut url = String::new();
        goaltag_wire::json::write_str(&mut url, "https://x.example/?gclid=a\"b\\c d&q=1");
        assert_eq!(url, r#""https://x.example/?gclid=a\"b\\c d&q=1""#);
        let event = [r#"{"url":"#, &url, r#","gclid":"k","label":"?gclid=1","click_ids":{"gclid":"v"}}"#].concat();
        assert_eq!(
            strip(&event),
            r#"{"url":"https://x.example/ d&q=1","gclid":"k","label":"","click_ids":{"gclid":"v"}}"#,
            "the value ends at white space; keys and non-URL values stay"
        );
    }

    /// Random text from URL-ish pieces, multi-byte characters included:
    /// nothing here may panic (a panic kills the tag).
    #[test]
    fn never_panics() {
        const PIECES: [&str; 30] = [
            "https", "://", "//", "/", "?", "#", "&", "=", "@", "%40", "%25", "%4", "%", "www.", "w", ".", "é", "ü@", "a", "b.co", ":",
            "+", "%3F", "%26", "%3D", "\\", "\"", "%2", "%2526", "%253F",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let params = vec!["a".to_string()];
        for _ in 0..20_000 {
            let mut t = [String::new(), String::new()];
            for s in &mut t {
                for _ in 0..next() % 12 {
                    s.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
                }
            }
            let (a, b) = (&t[0], &t[1]);
            let _ = (equals(a, b), begins_with(a, b), contains(a, b), valid_rule(b), host(a), regex_texts(a));
            let _ = (redact(a, &params), strip_click_ids(a, |n| n == "a"));
            let _ = query_pairs(a).map(|(n, v)| decode_query_value(n).len() + decode_query_value(v).len()).sum::<usize>();
            let _ = crate::core::attribution::capture(a, b, &params, true);
            let mut c = crate::core::attribution::Campaign::default();
            c.restore(a, 0);
            let mut v = crate::core::visit::Visits::default();
            v.restore(a, 0);
            let _ = crate::core::goals::Memory::restore(a);
        }
    }

    #[test]
    fn name_lists() {
        let (names, errs) = parse_names(&json(r#"["Email", "", "a b", 3, "phone"]"#), "redact_params");
        assert_eq!(names, ["email", "phone"]);
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["redact_params[1]", "redact_params[2]", "redact_params[3]"]);
        let (_, errs) = parse_names(&json(r#""email""#), "redact_params");
        assert_eq!(errs[0].field, "redact_params");
    }
}
