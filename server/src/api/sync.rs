//! Sync endpoints: push a batch of revisions, pull a scope by cursor, compare checksums.
//! See `docs/sync.md`.

use crate::auth::Caller;
use crate::error::{ApiError, AppJson};
use crate::store::{Author, PushAnswer, StoredPage};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shequ_model::sync::{
    Checksum, OwnRevisions, PullQuery, PushRequest, PushResponse, MAX_PULL_PAGE, MAX_PUSH_BATCH,
};
use shequ_model::UnitCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sync/push", post(push))
        .route("/api/sync/pull", get(pull))
        .route("/api/sync/checksum", get(checksum))
}

/// The header that carries a push's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

fn scope_ok(scope: &str) -> Result<(), ApiError> {
    UnitCode::parse(scope)
        .map(|_| ())
        .map_err(|_| ApiError::Unprocessable("同步范围应为单位代码".into()))
}

async fn push(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    AppJson(req): AppJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    if req.changes.len() > MAX_PUSH_BATCH {
        return Err(ApiError::TooLarge(format!(
            "一次最多同步{MAX_PUSH_BATCH}条修改"
        )));
    }
    // Every change must be the caller's to write; otherwise nothing of the batch is taken. The
    // form's level is read from the plan the change names, else from any plan that has the form
    // (a form keeps its level from one year to the next); the store checks the plan itself.
    let plans = &state.plans.plans;
    for c in &req.changes {
        let named = plans.get(&c.plan).and_then(|p| p.form(&c.form));
        let level = named
            .or_else(|| plans.iter().find_map(|p| p.form(&c.form)))
            .map(|f| f.level);
        if !level.is_some_and(|l| caller.account.may_write(l, c.unit.as_str())) {
            return Err(ApiError::Forbidden(
                "无权填报该单位的这类记录,本次提交未被接受".into(),
            ));
        }
    }
    let key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= 128 => Some(k.to_owned()),
            _ => return Err(ApiError::Unprocessable("幂等键格式不对".into())),
        },
    };
    // A key belongs to the account that sent it: two accounts using the same key neither collide
    // nor see each other's answers.
    let key = key.map(|k| format!("{}:{k}", caller.account.username));
    let by = Author {
        account: caller.account.username.clone(),
        device: caller.device.clone(),
    };
    match state
        .store
        .push(&state.plans, &by, key.as_deref(), &req.changes)
        .await?
    {
        PushAnswer::Applied(results) | PushAnswer::Replayed(results) => {
            Ok(Json(PushResponse { results }))
        }
        PushAnswer::KeyReused => {
            tracing::warn!(key = ?key.as_deref().unwrap_or(""), device = ?req.device, "idempotency key reused with other content");
            Err(ApiError::Conflict(
                "同一幂等键已用于不同的内容,本次提交未被接受".into(),
            ))
        }
    }
}

#[derive(Deserialize)]
struct PlanQuery {
    /// Only this plan's revisions; every plan's when not given.
    plan: Option<String>,
}

async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PullQuery>,
    Query(only): Query<PlanQuery>,
) -> Result<Json<StoredPage>, ApiError> {
    scope_ok(&q.scope)?;
    caller.require_read(&q.scope)?;
    let plan = only
        .plan
        .map(|id| super::kept_plan(&state, &id).map(|p| p.id.clone()))
        .transpose()?;
    let limit = q.limit.clamp(1, MAX_PULL_PAGE);
    let own = (q.own == OwnRevisions::Omitted).then_some(caller.device.as_str());
    Ok(Json(
        state
            .store
            .pull(&q.scope, plan.as_ref(), q.after.max(0), limit, own)
            .await?,
    ))
}

#[derive(Deserialize)]
struct ScopeQuery {
    scope: String,
}

async fn checksum(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ScopeQuery>,
) -> Result<Json<Checksum>, ApiError> {
    scope_ok(&q.scope)?;
    caller.require_read(&q.scope)?;
    Ok(Json(state.store.checksum(&q.scope).await?))
}
