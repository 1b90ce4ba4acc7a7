//! Figures against targets for a unit and its children (county → towns, town → villages).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use shequ_model::area::AreaTree;
use shequ_model::rollup::{Report, Rollups};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/report/{code}", get(report))
}

async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Json<Report>, ApiError> {
    caller.require_read(&code)?;
    let areas = state.store.areas(&code).await?;
    if !areas.iter().any(|a| a.code == code) {
        return Err(ApiError::NotFound(format!("没有代码为 {code} 的单位")));
    }
    let records = state.store.live_records(&code).await?;
    let tree = AreaTree::new(areas);
    let report = Rollups::new(&state.plan, &tree, &records).report(&code);
    report
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("没有代码为 {code} 的单位")))
}
