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
    check_password, check_username, Account, AccountChange, AdminAction, AdminActionKind,
    AuditEntry, AuditFilter, ManagedAccount, NewAccount, PasswordReset, Role, SessionInfo,
};
use shequ_model::UnitCode;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/accounts", get(accounts).post(create_account))
        .route("/api/admin/accounts/{username}", post(change_account))
        .route(
            "/api/admin/accounts/{username}/password",
            post(reset_password),
        )
        .route("/api/admin/sessions", get(sessions))
        .route("/api/admin/sessions/{id}/revoke", post(revoke))
        .route("/api/admin/audit", get(audit))
        .route("/api/admin/actions", get(actions))
}

async fn accounts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ManagedAccount>>, ApiError> {
    caller.require_admin()?;
    Ok(Json(
        state
            .store
            .accounts(caller.account.unit.as_str())
            .await?
            .into_iter()
            .map(managed_of)
            .collect(),
    ))
}

/// An account as its administrator sees it.
fn managed_of(row: AccountRow) -> ManagedAccount {
    ManagedAccount {
        account: row.account,
        disabled: row.disabled,
    }
}

fn checked_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(ApiError::Unprocessable("请填写姓名(50字以内)".into()));
    }
    Ok(name.to_owned())
}

/// `unit` as the unit of an account of `role` that the caller may give: a known unit in the
/// caller's scope, of the role's level.
async fn checked_unit(
    state: &AppState,
    caller: &Caller,
    role: Role,
    unit: &str,
) -> Result<UnitCode, ApiError> {
    let unit = UnitCode::parse(unit).map_err(|_| {
        ApiError::Unprocessable(format!(
            "未知的单位代码 {:?}",
            unit.chars().take(20).collect::<String>()
        ))
    })?;
    caller.require_read(&unit)?;
    if unit.level() != role.level() {
        return Err(ApiError::Unprocessable(format!(
            "{}应属于{}一级的单位",
            role.label(),
            role.level().label()
        )));
    }
    if state.store.area(unit.as_str()).await?.is_none() {
        return Err(ApiError::Unprocessable(format!("未知的单位代码 {unit}")));
    }
    Ok(unit)
}

/// The account an administrator may manage: one in their scope, not their own.
async fn managed(
    state: &AppState,
    caller: &Caller,
    username: &str,
) -> Result<AccountRow, ApiError> {
    let row = state
        .store
        .account(username)
        .await?
        .filter(|r| caller.account.may_read(&r.account.unit))
        .ok_or_else(|| ApiError::NotFound("没有这个账户".into()))?;
    if row.account.username == caller.account.username {
        return Err(ApiError::Unprocessable(
            "不能在这里修改自己的账户(修改密码请用“修改密码”)".into(),
        ));
    }
    Ok(row)
}

fn action_by(
    caller: &Caller,
    unit: &UnitCode,
    kind: AdminActionKind,
    detail: serde_json::Value,
) -> AdminAction {
    AdminAction {
        seq: 0,
        at: auth::now_ms(),
        account: caller.account.username.clone(),
        device: caller.device.clone(),
        unit: unit.to_string(),
        action: kind,
        detail,
    }
}

/// Disables or enables an account, renames it, or gives it another role or unit. A disabled
/// account's sessions end at once; every change is kept in the audit trail.
async fn change_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    AppJson(change): AppJson<AccountChange>,
) -> Result<Json<ManagedAccount>, ApiError> {
    caller.require_admin()?;
    let before = managed(&state, &caller, &username).await?;
    let mut row = before.clone();
    if let Some(name) = &change.name {
        row.account.name = checked_name(name)?;
    }
    if change.role.is_some() || change.unit.is_some() {
        let role = change.role.unwrap_or(row.account.role);
        let unit = change
            .unit
            .clone()
            .unwrap_or_else(|| row.account.unit.to_string());
        row.account.unit = checked_unit(&state, &caller, role, &unit).await?;
        row.account.role = role;
    }
    if let Some(disabled) = change.disabled {
        row.disabled = disabled;
    }
    if row == before {
        return Ok(Json(managed_of(row)));
    }
    let shown = |r: &AccountRow| {
        serde_json::json!({
            "name": r.account.name,
            "role": r.account.role,
            "unit": r.account.unit,
            "disabled": r.disabled,
        })
    };
    let detail = serde_json::json!({
        "username": username,
        "before": shown(&before),
        "after": shown(&row),
    });
    // The unit in the trail is the account's unit before: an administrator who sees the account
    // sees the change.
    let action = action_by(
        &caller,
        &before.account.unit,
        AdminActionKind::ChangeAccount,
        detail,
    );
    // A disabled account is logged out everywhere; a moved one too, so that no phone keeps
    // syncing the scope it no longer has.
    let moved = row.account.unit != before.account.unit || row.account.role != before.account.role;
    let revoke = (row.disabled && !before.disabled || moved).then(auth::now_ms);
    state.store.update_account(&row, revoke, &action).await?;
    tracing::info!(by = ?caller.account.username, username = ?username, disabled = row.disabled, role = row.account.role.as_str(), unit = ?row.account.unit, "account changed");
    Ok(Json(managed_of(row)))
}

/// Gives an account a new one-time password, shown once to the administrator: the account must
/// change it at its next login, and its sessions end.
async fn reset_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<Json<PasswordReset>, ApiError> {
    caller.require_admin()?;
    let mut row = managed(&state, &caller, &username).await?;
    let password = auth::generate_password();
    row.password_hash = state.hashers.hash(password.clone()).await?;
    row.must_change = true;
    let action = action_by(
        &caller,
        &row.account.unit,
        AdminActionKind::ResetPassword,
        serde_json::json!({ "username": username }),
    );
    state
        .store
        .update_account(&row, Some(auth::now_ms()), &action)
        .await?;
    tracing::info!(by = ?caller.account.username, username = ?username, "password reset");
    Ok(Json(PasswordReset { username, password }))
}

async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(new): AppJson<NewAccount>,
) -> Result<Json<Account>, ApiError> {
    caller.require_admin()?;
    check_username(&new.username).map_err(ApiError::Unprocessable)?;
    check_password(&new.password).map_err(ApiError::Unprocessable)?;
    let name = checked_name(&new.name)?;
    let unit = checked_unit(&state, &caller, new.role, &new.unit).await?;
    let account = Account {
        username: new.username,
        name,
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
