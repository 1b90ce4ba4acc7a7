//! The JSON API. One module per area, each exporting `router()`.

mod admin;
mod auth;
mod photos;
mod plan;
mod records;
mod report;
mod sync;
mod wall;
mod wall_submit;

pub use wall::pages as wall_pages;

use crate::error::ApiError;
use crate::AppState;
use axum::routing::any;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(plan::router())
        .merge(sync::router())
        .merge(report::router())
        .merge(records::router())
        .merge(auth::router())
        .merge(admin::router())
        .merge(wall::router())
        .merge(photos::router())
        .route("/api", any(no_such_endpoint))
        .route("/api/", any(no_such_endpoint))
        .route("/api/{*rest}", any(no_such_endpoint))
}

/// The plan a request names by id, or a 404 saying the server holds none by that id.
fn kept_plan<'a>(
    state: &'a AppState,
    id: &str,
) -> Result<&'a std::sync::Arc<shequ_model::Plan>, ApiError> {
    shequ_model::plan::PlanId::parse(id)
        .ok()
        .and_then(|id| state.plans.plans.get(&id))
        .ok_or_else(|| ApiError::NotFound(format!("服务器上没有计划 {id}")))
}

async fn no_such_endpoint() -> ApiError {
    ApiError::NotFound("没有这个接口".into())
}
