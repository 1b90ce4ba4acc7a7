//! The plan and the org units, which every device caches.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use shequ_model::Area;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/plan", get(plan)).route("/api/areas", get(areas))
}

async fn plan(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], state.plan_json.as_ref().clone())
}

#[derive(Deserialize)]
struct AreasQuery {
    #[serde(default)]
    under: String,
}

async fn areas(State(state): State<AppState>, Query(q): Query<AreasQuery>) -> Result<Json<Vec<Area>>, ApiError> {
    Ok(Json(state.store.areas(&q.under).await?))
}
