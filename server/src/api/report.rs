//! Figures against targets for a unit and its children (county → towns, town → villages).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use shequ_model::area::AreaTree;
use shequ_model::rollup::{Report, Rollups};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/report/{code}", get(report))
}

#[derive(Deserialize)]
struct ReportQuery {
    /// The plan whose records and targets are counted; the current plan when not given.
    plan: Option<String>,
}

async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Json<Report>, ApiError> {
    caller.require_read(&code)?;
    let plan = match &q.plan {
        None => state.plans.plans.current(),
        Some(id) => super::kept_plan(&state, id)?,
    };
    let areas = state.store.areas(&code).await?;
    if !areas.iter().any(|a| a.code == code) {
        return Err(ApiError::NotFound(format!("没有代码为 {code} 的单位")));
    }
    // Each unit's own figures are kept as its records change: the report only rolls them up.
    let kept = state.store.unit_figures(&plan.id, &code).await?;
    let tree = AreaTree::new(areas);
    let report = Rollups::from_figures(plan, &tree, &kept).report(&code);
    report
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("没有代码为 {code} 的单位")))
}
