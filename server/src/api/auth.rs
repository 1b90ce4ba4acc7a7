//! Logging in and out, renewing a session, changing a password.

use crate::auth::{self, Caller, RENEW_WITHIN_MS};
use crate::error::{ApiError, AppJson};
use crate::AppState;
use axum::extract::{ConnectInfo, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use shequ_model::auth::{check_password, Account, LoginRequest, PasswordChange, Session};
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/renew", post(renew))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/password", post(change_password))
        .route("/api/auth/me", get(me))
}

/// Failed logins allowed per account and per address in the limiter's window.
const PER_ACCOUNT: usize = 5;
const PER_ADDRESS: usize = 30;

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    AppJson(req): AppJson<LoginRequest>,
) -> Result<Json<Session>, ApiError> {
    let by_account = format!("account:{}", req.username);
    let by_address = format!("address:{}", peer.ip());
    if !state.limiter.allows(&by_account, PER_ACCOUNT) || !state.limiter.allows(&by_address, PER_ADDRESS) {
        return Err(ApiError::TooManyRequests("登录失败次数过多,请15分钟后再试".into()));
    }
    let row = state.store.account(&req.username).await?;
    let hash = row.as_ref().map(|r| r.password_hash.clone()).unwrap_or_else(|| auth::decoy_hash().to_owned());
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash)).await.unwrap_or(false);
    let row = match row {
        Some(r) if ok && !r.disabled => r,
        _ => {
            state.limiter.fail(&by_account);
            state.limiter.fail(&by_address);
            tracing::info!(username = %req.username, address = %peer.ip(), "login refused");
            return Err(ApiError::Unprocessable("用户名或密码不对".into()));
        }
    };
    state.limiter.clear(&by_account);
    let (token, session) = auth::new_session(&row.account.username, &req.device);
    state.store.create_session(&session).await?;
    tracing::info!(username = %row.account.username, session = %session.id, "logged in");
    Ok(Json(Session { token, expires_at: session.expires_at, account: row.account, must_change_password: row.must_change }))
}

/// A new token for the same device; the old one stops working. Only near the end of a session,
/// so a stolen token cannot be kept alive for ever without the phone.
async fn renew(State(state): State<AppState>, caller: Caller) -> Result<Json<Session>, ApiError> {
    if caller.expires_at - auth::now_ms() > RENEW_WITHIN_MS {
        return Err(ApiError::Unprocessable("登录尚未到续期时间".into()));
    }
    let (token, session) = auth::new_session(&caller.account.username, &caller.device);
    state.store.create_session(&session).await?;
    state.store.revoke_session(&caller.session_id, auth::now_ms()).await?;
    Ok(Json(Session { token, expires_at: session.expires_at, account: caller.account, must_change_password: caller.must_change }))
}

async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Json<serde_json::Value>, ApiError> {
    state.store.revoke_session(&caller.session_id, auth::now_ms()).await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}

async fn change_password(State(state): State<AppState>, caller: Caller, AppJson(req): AppJson<PasswordChange>) -> Result<Json<serde_json::Value>, ApiError> {
    check_password(&req.new).map_err(ApiError::Unprocessable)?;
    let row = state.store.account(&caller.account.username).await?.ok_or(ApiError::NotFound("账号不存在".into()))?;
    let old = req.old;
    let hash = row.password_hash.clone();
    if !tokio::task::spawn_blocking(move || auth::verify_password(&old, &hash)).await.unwrap_or(false) {
        return Err(ApiError::Unprocessable("原密码不对".into()));
    }
    let new = req.new;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&new)).await.map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    state.store.set_password(&caller.account.username, &hash, false).await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}

async fn me(caller: Caller) -> Json<Account> {
    Json(caller.account)
}
