//! [`Params`], the query-string extractor of the site owner's routes: the
//! parameters deserialized into the route's own struct (serde; repeated keys
//! such as `goal=a&goal=b` fill a `Vec`), and a refusal answered as every
//! other refusal is, 400 with `{"error": …}` naming the parameter and what it
//! accepts (`from: expected a date …`, `unknown field "form", expected one of
//! "site", "from", "to", "funnel"`).

use crate::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// The query string as a `T` (a `#[derive(Deserialize)]` struct with
/// `#[serde(deny_unknown_fields)]`, so a misspelt parameter is refused, not ignored).
#[derive(Debug, Clone, Copy, Default)]
pub struct Params<T>(pub T);

/// Reads `query` (without the `?`) as a `T`; the error names the field first
/// (`window_days: …`) when the fault is in one field's value.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, String> {
    let de = serde_html_form::Deserializer::from_bytes(query.as_bytes());
    serde_path_to_error::deserialize(de).map_err(|e| {
        let why = e.inner().to_string().replace('`', "\"");
        match e.path().to_string().as_str() {
            // An unknown field's path is the field itself, which the message names already.
            _ if why.starts_with("unknown field") => why,
            "." | "" => why,
            path => format!("{path}: {why}"),
        }
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parse(parts.uri.query().unwrap_or("")).map(Params).map_err(AppError::bad)
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct P {
        site: Option<String>,
        #[serde(default)]
        goal: Vec<String>,
        n: Option<u32>,
    }

    #[test]
    fn repeated_keys_fill_a_list_and_misspellings_are_named() {
        let p: P = parse("site=a%20b&goal=x&goal=y").unwrap();
        assert_eq!(p, P { site: Some("a b".into()), goal: vec!["x".into(), "y".into()], n: None });
        let e = parse::<P>("sight=s").unwrap_err();
        assert!(e.starts_with("unknown field \"sight\", expected one of \"site\""), "{e}");
        let e = parse::<P>("n=ten").unwrap_err();
        assert!(e.starts_with("n: "), "{e}");
    }
}
