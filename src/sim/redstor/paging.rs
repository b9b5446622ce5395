//! RedAPI paged lists and query parameters: `maxResults` (1..=100, default
//! 30), an opaque `pageToken` (base64url of `{"Page", "PageSize",
//! "TotalCount"}`, as the vendor's samples decode), `shouldReturnCount`, and
//! the envelope `{nextPageToken, totalCount, results}`. `totalCount` is the
//! total on the first page (unless `shouldReturnCount=false`) and -1 after;
//! the last page has no `nextPageToken`; nothing at all is 204.

use std::collections::HashMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::problem::{Problem, bad_request};

pub type Query = HashMap<String, String>;

const DEFAULT_PAGE_SIZE: usize = 30;
const MAX_PAGE_SIZE: usize = 100;

/// Which page a request asks for.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    page: usize,
    size: usize,
    count: bool,
}

/// A boolean query parameter (`true` / `false`, any case), `default` when
/// absent.
pub fn flag(query: &Query, name: &str, default: bool) -> Result<bool, Problem> {
    match query.get(name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(bad_request(format!(
            "`{name}` must be true or false, got `{v}`"
        ))),
    }
}

/// An optional integer query parameter.
pub fn integer(query: &Query, name: &str) -> Result<Option<i64>, Problem> {
    match query.get(name) {
        None => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| bad_request(format!("`{name}` must be an integer, got `{text}`"))),
    }
}

pub fn page_request(query: &Query) -> Result<PageRequest, Problem> {
    let size = match integer(query, "maxResults")? {
        None => None,
        Some(n) if (1..=MAX_PAGE_SIZE as i64).contains(&n) => Some(n as usize),
        Some(n) => {
            return Err(bad_request(format!(
                "`maxResults` must be from 1 to {MAX_PAGE_SIZE}, got {n}"
            )));
        }
    };
    let count = flag(query, "shouldReturnCount", true)?;
    let (page, token_size) = match query.get("pageToken").filter(|t| !t.is_empty()) {
        None => (1, None),
        Some(token) => decode_token(token)
            .ok_or_else(|| bad_request("`pageToken` is not a page token this API issued"))?,
    };
    Ok(PageRequest {
        page,
        size: size.or(token_size).unwrap_or(DEFAULT_PAGE_SIZE),
        count,
    })
}

fn decode_token(token: &str) -> Option<(usize, Option<usize>)> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    let page = usize::try_from(value.get("Page")?.as_u64()?).ok()?;
    let size = usize::try_from(value.get("PageSize")?.as_u64()?).ok()?;
    if page < 1 || !(1..=MAX_PAGE_SIZE).contains(&size) {
        return None;
    }
    Some((page, Some(size)))
}

fn encode_token(page: usize, size: usize, total: usize) -> String {
    let text = json!({ "Page": page, "PageSize": size, "TotalCount": total }).to_string();
    URL_SAFE_NO_PAD.encode(text)
}

/// One page of `items`: 204 when there are none at all.
pub fn page(request: PageRequest, items: Vec<Value>) -> Response {
    page_of(request, items, |item| item)
}

/// One page of `items`, only the page's items rendered: 204 when there
/// are none at all.
pub fn page_of<T>(request: PageRequest, items: Vec<T>, render: impl FnMut(T) -> Value) -> Response {
    let total = items.len();
    if total == 0 {
        return StatusCode::NO_CONTENT.into_response();
    }
    let start = (request.page - 1).saturating_mul(request.size);
    let results: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(request.size)
        .map(render)
        .collect();
    let mut body = serde_json::Map::new();
    if start.saturating_add(request.size) < total {
        body.insert(
            "nextPageToken".into(),
            json!(encode_token(request.page + 1, request.size, total)),
        );
    }
    let count = if request.page == 1 && request.count {
        total as i64
    } else {
        -1
    };
    body.insert("totalCount".into(), json!(count));
    body.insert("results".into(), Value::Array(results));
    (StatusCode::OK, Json(Value::Object(body))).into_response()
}

/// A JSON answer, or 204 when `body` is an empty array.
pub fn json_or_empty(status: StatusCode, body: Value) -> Response {
    if body.as_array().is_some_and(Vec::is_empty) {
        return StatusCode::NO_CONTENT.into_response();
    }
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Query {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_page_token_carries_the_page_and_its_size() {
        let token = encode_token(3, 25, 80);
        let request = page_request(&query(&[("pageToken", &token)])).unwrap();
        assert_eq!((request.page, request.size), (3, 25));
        // The vendor's sample token decodes the same way.
        let sample = "eyJQYWdlIjoyLCJQYWdlU2l6ZSI6MzAsIlRvdGFsQ291bnQiOjM1fQ";
        let request = page_request(&query(&[("pageToken", sample)])).unwrap();
        assert_eq!((request.page, request.size), (2, 30));
    }

    #[test]
    fn bad_sizes_and_tokens_are_refused() {
        for pairs in [
            [("maxResults", "0")],
            [("maxResults", "101")],
            [("maxResults", "-1")],
            [("pageToken", "not a token")],
            [("pageToken", "eyJQYWdlIjowLCJQYWdlU2l6ZSI6MzB9")],
            [("shouldReturnCount", "maybe")],
        ] {
            assert!(page_request(&query(&pairs)).is_err(), "{pairs:?}");
        }
        let request = page_request(&query(&[])).unwrap();
        assert_eq!((request.page, request.size, request.count), (1, 30, true));
    }

    #[tokio::test]
    async fn only_the_page_s_items_are_rendered() {
        let token = encode_token(2, 3, 8);
        let request = page_request(&query(&[("pageToken", &token)])).unwrap();
        let mut rendered = Vec::new();
        let response = page_of(request, (0..8).collect(), |item: u32| {
            rendered.push(item);
            json!(item)
        });
        assert_eq!(rendered, [3, 4, 5]);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["results"], json!([3, 4, 5]));
        assert_eq!(body["totalCount"], json!(-1));
        assert!(body["nextPageToken"].is_string());
    }
}
