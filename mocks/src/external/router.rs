//! The run's one address for external APIs: forwards each request to the
//! scenario mock server that owns the user named in the request body.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// Largest request body the router reads.
const MAX_BODY: usize = 64 * 1024;

/// Where requests go: by user key, optionally narrowed to a path.
type Routes = Arc<Mutex<HashMap<(String, Option<String>), String>>>;

/// The router; dropping it stops it.
#[derive(Debug)]
pub struct Router {
    addr: SocketAddr,
    routes: Routes,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The user a request names: the `username`, `user` or `user_id` member of
/// a JSON or form body.
fn routing_key(body: &[u8]) -> Option<String> {
    const KEYS: [&str; 3] = ["username", "user", "user_id"];
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_slice::<serde_json::Value>(body) {
        return KEYS.iter().find_map(|k| m.get(*k).and_then(|v| v.as_str()).map(str::to_owned));
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    KEYS.iter().find_map(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
}

async fn forward(
    routes: Routes,
    client: reqwest::Client,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = routing_key(&body).and_then(|k| {
        let r = routes.lock().ok()?;
        r.get(&(k.clone(), Some(uri.path().to_owned()))).or_else(|| r.get(&(k, None))).cloned()
    });
    let Some(base) = target else {
        let msg = serde_json::json!({ "error": "not_found", "error_description": "no scenario owns the user this request names" });
        return (StatusCode::NOT_FOUND, axum::Json(msg)).into_response();
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(m) = reqwest::Method::from_bytes(method.as_str().as_bytes()) else {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    };
    let mut req = client.request(m, format!("{base}{path}")).body(body.to_vec());
    for (k, v) in &headers {
        if !matches!(k.as_str(), "host" | "content-length" | "connection" | "transfer-encoding") {
            req = req.header(k.as_str(), v.as_bytes());
        }
    }
    match req.send().await {
        Ok(resp) => {
            let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut builder = Response::builder().status(status);
            for (k, v) in resp.headers() {
                if !matches!(k.as_str(), "content-length" | "connection" | "transfer-encoding") {
                    builder = builder.header(k.as_str(), v.as_bytes());
                }
            }
            let bytes = resp.bytes().await.unwrap_or_default();
            builder.body(Body::from(bytes)).unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        // The scenario's API is down (nothing listens where it routes).
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

impl Router {
    /// Starts on 127.0.0.1 (a random port) on the current runtime.
    ///
    /// # Errors
    /// When it cannot bind.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let routes: Routes = Arc::default();
        let client = crate::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let r = Arc::clone(&routes);
        let app = axum::Router::new()
            .fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                forward(Arc::clone(&r), client.clone(), method, uri, headers, body)
            })
            .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self { addr, routes, shutdown: Some(tx) })
    }

    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends requests naming `key` (a username or user id) to `base_url`.
    pub fn route(&self, key: &str, base_url: &str) {
        if let Ok(mut r) = self.routes.lock() {
            r.insert((key.to_owned(), None), base_url.trim_end_matches('/').to_owned());
        }
    }

    /// Sends requests naming `key` to `path` to `base_url` instead (e.g. one
    /// endpoint of the API down while the others answer).
    pub fn route_path(&self, key: &str, path: &str, base_url: &str) {
        if let Ok(mut r) = self.routes.lock() {
            r.insert((key.to_owned(), Some(path.to_owned())), base_url.trim_end_matches('/').to_owned());
        }
    }

    /// Forgets every route of `keys`.
    pub fn unroute(&self, keys: &[&str]) {
        if let Ok(mut r) = self.routes.lock() {
            r.retain(|(k, _), _| !keys.contains(&k.as_str()));
        }
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_keys_come_from_json_or_form_bodies() {
        assert_eq!(routing_key(br#"{"username":"u1","password":"p"}"#).as_deref(), Some("u1"));
        assert_eq!(routing_key(br#"{"user":"u2"}"#).as_deref(), Some("u2"));
        assert_eq!(routing_key(br#"{"user_id":"id-3"}"#).as_deref(), Some("id-3"));
        assert_eq!(routing_key(b"username=u4&password=p").as_deref(), Some("u4"));
        assert_eq!(routing_key(b"nothing"), None);
    }
}
