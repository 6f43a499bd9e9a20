//! Validation of a POST body. Everything a browser (or anyone) sends is
//! checked before it reaches storage; a bad batch is refused whole, with a
//! reason that names the field.

use axum::http::StatusCode;
use goaltag_wire::Batch;

pub struct Limits {
    pub max_body_bytes: usize,
    pub max_events: usize,
}

#[derive(Debug)]
pub struct Rejection {
    pub status: StatusCode,
    pub reason: String,
}

fn bad(reason: String) -> Rejection {
    Rejection { status: StatusCode::BAD_REQUEST, reason }
}

const MAX_TEXT: usize = 2048;
const MAX_URL: usize = 4096;
const MAX_VALUE: f64 = 1e12;

use goaltag_wire::is_uuid;

pub fn parse(body: &[u8], limits: &Limits) -> Result<Batch, Rejection> {
    if body.len() > limits.max_body_bytes {
        return Err(Rejection {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            reason: format!("body is {} bytes, the limit is {}", body.len(), limits.max_body_bytes),
        });
    }
    let batch: Batch = serde_json::from_slice(body).map_err(|e| bad(format!("not a goaltag batch: {e}")))?;
    if batch.v != goaltag_wire::VERSION {
        return Err(bad(format!("v: version {} is not supported (expected {})", batch.v, goaltag_wire::VERSION)));
    }
    let site_ok = !batch.site.is_empty()
        && batch.site.len() <= 100
        && batch.site.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    if !site_ok {
        return Err(bad("site: expected 1 to 100 letters, digits, '.', '_' or '-'".into()));
    }
    if batch.events.is_empty() || batch.events.len() > limits.max_events {
        return Err(bad(format!("events: expected 1 to {} events, got {}", limits.max_events, batch.events.len())));
    }
    for (i, e) in batch.events.iter().enumerate() {
        if !is_uuid(&e.id) {
            return Err(bad(format!("events[{i}].id: not a UUID")));
        }
        if e.ts == 0 {
            return Err(bad(format!("events[{i}].ts: must be milliseconds since 1970")));
        }
        if let Some(v) = e.value {
            if !v.is_finite() || v.abs() > MAX_VALUE {
                return Err(bad(format!("events[{i}].value: out of range")));
            }
        }
        for (name, text, max) in [
            ("url", &e.url, MAX_URL),
            ("referrer", &e.referrer, MAX_URL),
            ("title", &e.title, MAX_TEXT),
            ("action", &e.action, MAX_TEXT),
            ("category", &e.category, MAX_TEXT),
            ("label", &e.label, MAX_TEXT),
            ("currency", &e.currency, 3),
            ("transaction_id", &e.transaction_id, 200),
            ("goal", &e.goal, 200),
        ] {
            if text.as_ref().is_some_and(|t| t.len() > max) {
                return Err(bad(format!("events[{i}].{name}: longer than {max} bytes")));
            }
        }
    }
    Ok(batch)
}
