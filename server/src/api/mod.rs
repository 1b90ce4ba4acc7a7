//! The JSON API. One module per area, each exporting `router()`.

mod plan;
mod report;
mod sync;

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new().merge(plan::router()).merge(sync::router()).merge(report::router())
}
