//! The plan and the org units, which every device caches.

use crate::auth::Caller;
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
    Router::new()
        .route("/api/plan", get(plan))
        .route("/api/areas", get(areas))
}

/// The plan, with an ETag: a device asks with `If-None-Match` at each sync and downloads the plan
/// again only when the county has changed it.
async fn plan(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let etag = state.plan_etag.as_str();
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
        state.plan_json.as_ref().clone(),
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
    let own = &caller.account.unit;
    let under = if q.under.starts_with(own.as_str()) {
        q.under
    } else {
        own.clone()
    };
    let mut list = state.store.areas(&under).await?;
    for len in [4, 6, 9] {
        if len < own.len() {
            if let Some(a) = state.store.area(&own[..len]).await? {
                list.push(a);
            }
        }
    }
    Ok(Json(list))
}
