//! Every exchange of a run as a HAR 1.2 document, one page per scenario, so
//! it opens in a browser's network panel. Built from the recorder's redacted
//! exchanges: no secret reaches it.

use serde_json::{Value, json};

use super::{Summary, time::iso8601};
use crate::http::Exchange;

fn header_list(headers: &[(String, String)]) -> Value {
    Value::Array(headers.iter().map(|(k, v)| json!({ "name": k, "value": v })).collect())
}

fn mime(headers: &[(String, String)]) -> String {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.clone()).unwrap_or_default()
}

fn entry(page: &str, ex: &Exchange) -> Value {
    let query: Vec<Value> = url::Url::parse(&ex.url)
        .map(|u| u.query_pairs().map(|(k, v)| json!({ "name": k, "value": v })).collect())
        .unwrap_or_default();
    let mut request = json!({
        "method": ex.method,
        "url": ex.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": header_list(&ex.request_headers),
        "queryString": query,
        "headersSize": -1,
        "bodySize": ex.request_body.as_ref().map_or(0, |b| b.len() as i64),
    });
    if let Some(body) = &ex.request_body {
        request["postData"] = json!({ "mimeType": mime(&ex.request_headers), "text": body });
    }
    let status = ex.status.unwrap_or(0);
    let location = ex
        .response_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut e = json!({
        "pageref": page,
        "startedDateTime": iso8601(ex.started_ms),
        "time": ex.elapsed_ms as u64,
        "request": request,
        "response": {
            "status": status,
            "statusText": ex.error.clone().unwrap_or_default(),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": header_list(&ex.response_headers),
            "content": { "size": ex.response_body.len(), "mimeType": mime(&ex.response_headers), "text": ex.response_body },
            "redirectURL": location,
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": { "send": 0, "wait": ex.elapsed_ms as u64, "receive": 0 },
    });
    if !ex.jwts.is_empty() {
        e["_kensaJwts"] = serde_json::to_value(&ex.jwts).unwrap_or(Value::Null);
    }
    e
}

/// The HAR document of a run.
#[must_use]
pub fn har(summary: &Summary) -> Value {
    let mut pages = Vec::new();
    let mut entries = Vec::new();
    for t in &summary.targets {
        for c in &t.checks {
            let Some(first) = c.exchanges.first() else { continue };
            let id = format!("{}/{}", t.target, c.id);
            pages.push(json!({
                "startedDateTime": iso8601(first.started_ms),
                "id": id,
                "title": format!("[{}] {} {}", t.target, c.id, c.title),
                "pageTimings": {},
            }));
            entries.extend(c.exchanges.iter().map(|ex| entry(&id, ex)));
        }
    }
    json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "kensa", "version": summary.kensa },
            "pages": pages,
            "entries": entries,
        }
    })
}
