//! Sync endpoints: push a batch of revisions, pull a scope by cursor. See `docs/sync.md`.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use shequ_model::sync::{PullPage, PullQuery, PushRequest, PushResponse, MAX_PULL_PAGE, MAX_PUSH_BATCH};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/sync/push", post(push)).route("/api/sync/pull", get(pull))
}

async fn push(State(state): State<AppState>, Json(req): Json<PushRequest>) -> Result<Json<PushResponse>, ApiError> {
    if req.changes.len() > MAX_PUSH_BATCH {
        return Err(ApiError::TooLarge(format!("一次最多同步{MAX_PUSH_BATCH}条修改")));
    }
    let results = state.store.push(&state.plan, &req.device, &req.changes).await?;
    Ok(Json(PushResponse { results }))
}

async fn pull(State(state): State<AppState>, Query(q): Query<PullQuery>) -> Result<Json<PullPage>, ApiError> {
    if q.scope.is_empty() || !q.scope.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::Unprocessable("同步范围应为单位代码".into()));
    }
    let limit = q.limit.clamp(1, MAX_PULL_PAGE);
    Ok(Json(state.store.pull(&q.scope, q.after.max(0), limit).await?))
}
