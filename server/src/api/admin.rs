//! The county administrator's pages: accounts, device sessions (revoking a lost phone), and the
//! audit trail of who changed what from which device.

use crate::auth::{self, Caller};
use crate::error::{ApiError, AppJson};
use crate::store::AccountRow;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shequ_model::auth::{
    check_password, check_username, Account, AdminAction, AuditEntry, AuditFilter, NewAccount,
    SessionInfo,
};
use shequ_model::UnitCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/accounts", get(accounts).post(create_account))
        .route("/api/admin/sessions", get(sessions))
        .route("/api/admin/sessions/{id}/revoke", post(revoke))
        .route("/api/admin/audit", get(audit))
        .route("/api/admin/actions", get(actions))
}

async fn accounts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Account>>, ApiError> {
    caller.require_admin()?;
    Ok(Json(
        state
            .store
            .accounts(caller.account.unit.as_str())
            .await?
            .into_iter()
            .map(|r| r.account)
            .collect(),
    ))
}

async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(new): AppJson<NewAccount>,
) -> Result<Json<Account>, ApiError> {
    caller.require_admin()?;
    check_username(&new.username).map_err(ApiError::Unprocessable)?;
    check_password(&new.password).map_err(ApiError::Unprocessable)?;
    if new.name.trim().is_empty() || new.name.chars().count() > 50 {
        return Err(ApiError::Unprocessable("请填写姓名(50字以内)".into()));
    }
    let unit = UnitCode::parse(&new.unit).map_err(|_| {
        ApiError::Unprocessable(format!(
            "未知的单位代码 {:?}",
            new.unit.chars().take(20).collect::<String>()
        ))
    })?;
    caller.require_read(&unit)?;
    if unit.level() != new.role.level() {
        return Err(ApiError::Unprocessable(format!(
            "{}应属于{}一级的单位",
            new.role.label(),
            new.role.level().label()
        )));
    }
    if state.store.area(unit.as_str()).await?.is_none() {
        return Err(ApiError::Unprocessable(format!("未知的单位代码 {unit}")));
    }
    let account = Account {
        username: new.username,
        name: new.name.trim().to_owned(),
        role: new.role,
        unit,
    };
    let password_hash = state.hashers.hash(new.password).await?;
    let row = AccountRow {
        account: account.clone(),
        password_hash,
        must_change: true,
        disabled: false,
    };
    let created = state.store.create_account(&row, auth::now_ms()).await?;
    if !created {
        return Err(ApiError::Unprocessable("用户名已被使用".into()));
    }
    tracing::info!(by = ?caller.account.username, username = ?account.username, role = account.role.as_str(), unit = ?account.unit, "account created");
    Ok(Json(account))
}

async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<SessionInfo>>, ApiError> {
    caller.require_admin()?;
    Ok(Json(
        state.store.sessions(caller.account.unit.as_str()).await?,
    ))
}

async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let mine = state
        .store
        .sessions(caller.account.unit.as_str())
        .await?
        .into_iter()
        .any(|s| s.id == id);
    if !mine || !state.store.revoke_session(&id, auth::now_ms()).await? {
        return Err(ApiError::NotFound("没有这个登录设备,或已停用".into()));
    }
    tracing::info!(by = ?caller.account.username, session = ?id, "device revoked");
    Ok(Json(serde_json::json!({ "ok": true })))
}

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    unit: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
    // The filter's parts one by one: a query string's values are all text, which a flattened
    // struct would not read as numbers.
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    form: Option<String>,
    #[serde(default)]
    from: Option<i64>,
    #[serde(default)]
    until: Option<i64>,
}

fn default_limit() -> u32 {
    200
}

async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    caller.require_admin()?;
    let unit = q.unit.unwrap_or_else(|| caller.account.unit.to_string());
    caller.require_read(&unit)?;
    let filter = AuditFilter {
        account: q.account.filter(|a| !a.is_empty()),
        form: q.form.filter(|f| !f.is_empty()),
        from: q.from,
        until: q.until,
    };
    Ok(Json(
        state
            .store
            .audit(&unit, &filter, q.limit.clamp(1, 1000))
            .await?,
    ))
}

#[derive(Deserialize)]
struct ActionsQuery {
    #[serde(default = "default_limit")]
    limit: u32,
}

/// The administrators' changes besides records (imported targets), newest first.
async fn actions(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ActionsQuery>,
) -> Result<Json<Vec<AdminAction>>, ApiError> {
    caller.require_admin()?;
    Ok(Json(
        state
            .store
            .admin_actions(caller.account.unit.as_str(), q.limit.clamp(1, 1000))
            .await?,
    ))
}
