//! Serves the built app: precompressed brotli/gzip files, `application/wasm`, and cache headers
//! that let a phone keep the hashed assets for good while always revalidating the entry points
//! (`index.html`, the service worker, the manifest) so a new version reaches it.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::path::Path;
use tower_http::services::{ServeDir, ServeFile};

/// Hashed, never-changing files live under this path.
pub const ASSETS: &str = "/assets/";

pub fn router<S: Clone + Send + Sync + 'static>(dist: &Path) -> Router<S> {
    let index = dist.join("index.html");
    if !index.exists() {
        tracing::warn!(dist = %dist.display(), "the app is not built here (run `cargo xtask build`); only the API is served");
        return Router::new().fallback(|| async {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Shequ's app is not built: run `cargo xtask build`",
            )
                .into_response()
        });
    }
    // A missing hashed asset is a 404, never the page (which would then be cached for good).
    let assets = ServeDir::new(dist.join("assets"))
        .precompressed_br()
        .precompressed_gzip();
    // Any other path is a route of the app: the page itself.
    let rest = ServeDir::new(dist)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(
            ServeFile::new(index)
                .precompressed_br()
                .precompressed_gzip(),
        );
    Router::new()
        .nest_service("/assets", assets)
        .fallback_service(rest)
        .layer(middleware::from_fn(cache_headers))
}

async fn cache_headers(req: Request<Body>, next: Next) -> Response {
    let immutable = req.uri().path().starts_with(ASSETS);
    let mut res = next.run(req).await;
    let value = if immutable && res.status().is_success() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    res
}

/// The app's pages run only the app's own scripts: no inline script, no other origin, and no
/// framing. `wasm-unsafe-eval` lets the page compile its own WebAssembly.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; \
connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn security_headers(req: Request<Body>, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A page with a stricter policy of its own (the public wall runs no script) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}
