//! The JSON API. One module per area, each exporting `router()`.

mod admin;
mod auth;
mod plan;
mod report;
mod sync;

use crate::error::ApiError;
use crate::AppState;
use axum::routing::any;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(plan::router())
        .merge(sync::router())
        .merge(report::router())
        .merge(auth::router())
        .merge(admin::router())
        .route("/api", any(no_such_endpoint))
        .route("/api/", any(no_such_endpoint))
        .route("/api/{*rest}", any(no_such_endpoint))
}

async fn no_such_endpoint() -> ApiError {
    ApiError::NotFound("没有这个接口".into())
}
