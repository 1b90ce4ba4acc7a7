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
        .route("/api/{*rest}", any(|| async { ApiError::NotFound("没有这个接口".into()) }))
}
