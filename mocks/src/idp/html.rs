//! HTML pages of the reference IdP: the login form and error pages.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Escapes text for use in HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// The login page for a pending authorization request.
pub(crate) fn login_page(client_id: &str, request_id: &str, csrf_token: &str, error: Option<&str>) -> String {
    let error = error.map(|e| format!("<p id=\"login-error\" class=\"error\">{}</p>\n", escape(e))).unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1>\n\
         <p>Sign in to continue to <span id=\"client\">{client}</span>.</p>\n\
         {error}\
         <form id=\"login\" method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf_token}\">\n\
         <label>Username <input type=\"text\" name=\"username\" autocomplete=\"username\">\
         </label>\n\
         <label>Password <input type=\"password\" name=\"password\"></label>\n\
         <button type=\"submit\">Sign in</button>\n\
         </form>\n",
        client = escape(client_id),
        request_id = escape(request_id),
        csrf_token = escape(csrf_token),
    );
    document("Sign in", &body)
}

/// An HTML error page with the given status.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p id=\"error\">{}</p>\n",
        escape(status.canonical_reason().unwrap_or("Error")),
        escape(message)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        document("Error", &body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn login_page_escapes_values() {
        let page = login_page("c<1>", "r\"1", "t&1", Some("bad <b>"));
        assert!(page.contains("value=\"r&quot;1\""));
        assert!(page.contains("value=\"t&amp;1\""));
        assert!(page.contains("c&lt;1&gt;"));
        assert!(page.contains("bad &lt;b&gt;"));
        assert!(page.starts_with("<!DOCTYPE html>"));
    }
}
