//! The plans and the org units, which every device caches.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;
use crate::ServedPlan;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use shequ_model::plan::{PlanId, PlanSummary};
use shequ_model::{Area, UnitCode};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/plan", get(current_plan))
        .route("/api/plans", get(plans))
        .route("/api/plans/{id}", get(plan))
        .route("/api/areas", get(areas))
}

/// Every plan the server holds, the current one marked.
async fn plans(State(state): State<AppState>) -> Json<Vec<PlanSummary>> {
    Json(state.plans.plans.summaries())
}

/// The current plan (what a phone running an app from before plans across years asks for).
async fn current_plan(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let id = &state.plans.plans.current().id;
    serve_plan(&state.served[id], &headers)
}

async fn plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    let served = PlanId::parse(&id)
        .ok()
        .and_then(|id| state.served.get(&id))
        .ok_or_else(|| ApiError::NotFound(format!("服务器上没有计划 {id}")))?;
    Ok(serve_plan(served, &headers))
}

/// A plan, with an ETag: a device asks with `If-None-Match` at each sync and downloads the plan
/// again only when the county has changed it.
fn serve_plan(served: &ServedPlan, headers: &axum::http::HeaderMap) -> axum::response::Response {
    let etag = served.etag.as_str();
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag)
    {
        return (
            axum::http::StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag.to_string())],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::ETAG, etag.to_string()),
        ],
        served.json.clone(),
    )
        .into_response()
}

#[derive(Deserialize)]
struct AreasQuery {
    #[serde(default)]
    under: String,
}

/// The units the caller may see (their subtree), and the units above them, for names.
async fn areas(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AreasQuery>,
) -> Result<Json<Vec<Area>>, ApiError> {
    let own = caller.account.unit.clone();
    let under = match UnitCode::parse(&q.under) {
        Ok(asked) if own.contains(&asked) => asked,
        _ => own.clone(),
    };
    if under.level() == shequ_model::Level::Nation {
        // The country's 660 k units are no list for a phone: its provinces, and each report
        // names the units it shows.
        return Ok(Json(state.store.children(under.as_str()).await?));
    }
    let mut list = state.store.areas(under.as_str()).await?;
    let above: Vec<UnitCode> = own.ancestors().collect();
    for code in above.iter().rev() {
        if let Some(a) = state.store.area(code.as_str()).await? {
            list.push(a);
        }
    }
    Ok(Json(list))
}
