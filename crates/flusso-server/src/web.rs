//! The dashboard: the files of the repository's `web/` folder (plain HTML, CSS and ES modules),
//! embedded in the binary at build time (`build.rs`) and served at `GET /` (the page) and
//! `GET /web/*path` (its files), with their content type, an ETag and `Cache-Control`.
//!
//! `GET /` answers the page to a browser (`Accept: text/html`); other clients keep ksqlDB's
//! redirect to `/info`. With `FLUSSO_WEB_DIR` set, files are read from that folder instead, so
//! that the page can be changed without rebuilding the binary.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// `GET /`: the dashboard's page for a browser, ksqlDB's redirect to `/info` for other clients.
pub async fn index(headers: HeaderMap) -> Response {
    let html = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"));
    if !html {
        return crate::info::root().await.into_response();
    }
    serve("index.html", &headers)
}

/// `GET /web/*path`: one file of the dashboard.
pub async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some((bytes, etag)) = find(path) else {
        return ApiError::not_found(format!("No such file: /web/{path}")).into_response();
    };
    // Vendored libraries carry their version in their folder's name and never change under it;
    // the page's own files are revalidated on each load (a 304 while unchanged).
    let cache = if path.starts_with("vendor/") {
        "public, max-age=604800"
    } else {
        "no-cache"
    };
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, content_type(path))],
            bytes.into_owned(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

/// A file's contents and ETag: from `FLUSSO_WEB_DIR` when set, else from the binary.
fn find(path: &str) -> Option<(std::borrow::Cow<'static, [u8]>, String)> {
    if path.is_empty()
        || path
            .split('/')
            .any(|part| part.is_empty() || part.starts_with('.'))
    {
        return None;
    }
    if let Some(dir) = std::env::var_os("FLUSSO_WEB_DIR") {
        let bytes = std::fs::read(std::path::Path::new(&dir).join(path)).ok()?;
        let etag = format!("\"{:016x}\"", fnv(&bytes));
        return Some((bytes.into(), etag));
    }
    assets::ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, bytes, etag)| ((*bytes).into(), (*etag).to_string()))
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ if path.ends_with("LICENSE") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_names_is_embedded() {
        let (index, _) = find("index.html").expect("index.html is embedded");
        let index = String::from_utf8_lossy(&index).to_string();
        for part in index.split("/web/").skip(1) {
            let path: String = part
                .chars()
                .take_while(|c| !matches!(c, '"' | '\'' | '?' | '#'))
                .collect();
            assert!(find(&path).is_some(), "/web/{path} is not embedded");
        }
    }

    #[test]
    fn paths_outside_the_folder_are_refused() {
        for path in ["../Cargo.toml", "js/../../x", "", ".hidden", "a//b"] {
            assert!(find(path).is_none(), "{path}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("js/app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("app.css"), "text/css; charset=utf-8");
        assert_eq!(
            content_type("vendor/uplot/LICENSE"),
            "text/plain; charset=utf-8"
        );
    }
}
