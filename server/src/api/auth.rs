//! Logging in and out, renewing a session, changing a password.
//!
//! Every answer here is `Cache-Control: no-store`: a token must not stay in a cache. User text
//! reaches the log only through `?` (escaped), so a newline in a username cannot forge a line.

use crate::auth::{self, AnySession, Caller, ClientAddress, GuessKeys, RENEW_WITHIN_MS};
use crate::error::{ApiError, AppJson};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::{Json, Router};
use shequ_model::auth::{
    check_password, check_username, Account, LoginRequest, PasswordChange, Session,
};
use tower_http::set_header::SetResponseHeaderLayer;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/renew", post(renew))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/password", post(change_password))
        .route("/api/auth/me", get(me))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

const WRONG: &str = "用户名或密码不对";

async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    AppJson(req): AppJson<LoginRequest>,
) -> Result<Json<Session>, ApiError> {
    req.check_lengths().map_err(ApiError::Unprocessable)?;
    let keys = GuessKeys::new(&req.username, address);
    auth::attempt_guess(state.store.as_ref(), &keys).await?;
    // No account can have a malformed name: answered like a wrong password, without the work.
    let row = match check_username(&req.username) {
        Ok(()) => state.store.account(&req.username).await?,
        Err(_) => None,
    };
    let hash = row
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| auth::decoy_hash().to_owned());
    let ok = state.hashers.verify(req.password, hash).await?;
    let row = match row {
        Some(r) if ok && !r.disabled => r,
        _ => {
            tracing::info!(username = ?req.username, address = %address, "login refused");
            return Err(ApiError::Unprocessable(WRONG.into()));
        }
    };
    auth::guess_succeeded(state.store.as_ref(), &keys).await?;
    let (token, session) = auth::new_session(&row.account.username, &req.device);
    state.store.create_session(&session).await?;
    tracing::info!(username = ?row.account.username, session = %session.id, "logged in");
    Ok(Json(Session {
        token,
        expires_at: session.expires_at,
        account: row.account,
        must_change_password: row.must_change,
    }))
}

/// A new token for the same device; the old one stops working. Only near the end of a session,
/// so a stolen token cannot be kept alive for ever without the phone.
async fn renew(State(state): State<AppState>, caller: Caller) -> Result<Json<Session>, ApiError> {
    if caller.expires_at - auth::now_ms() > RENEW_WITHIN_MS {
        return Err(ApiError::Unprocessable("登录尚未到续期时间".into()));
    }
    let (token, session) = auth::new_session(&caller.account.username, &caller.device);
    state.store.create_session(&session).await?;
    state
        .store
        .revoke_session(&caller.session_id, auth::now_ms())
        .await?;
    Ok(Json(Session {
        token,
        expires_at: session.expires_at,
        account: caller.account,
        must_change_password: caller.must_change,
    }))
}

async fn logout(
    State(state): State<AppState>,
    AnySession(caller): AnySession,
) -> Result<Json<serde_json::Value>, ApiError> {
    state
        .store
        .revoke_session(&caller.session_id, auth::now_ms())
        .await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}

/// A new password ends every other session of the account: whoever knew the old one is out.
async fn change_password(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    AnySession(caller): AnySession,
    AppJson(req): AppJson<PasswordChange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    req.check_lengths().map_err(ApiError::Unprocessable)?;
    check_password(&req.new).map_err(ApiError::Unprocessable)?;
    let username = caller.account.username;
    // Checking the old password is guessing it: limited like a login.
    let keys = GuessKeys::new(&username, address);
    auth::attempt_guess(state.store.as_ref(), &keys).await?;
    let row = state
        .store
        .account(&username)
        .await?
        .ok_or(ApiError::NotFound("账号不存在".into()))?;
    if !state.hashers.verify(req.old, row.password_hash).await? {
        tracing::info!(username = ?username, address = %address, "password change refused: wrong old password");
        return Err(ApiError::Unprocessable("原密码不对".into()));
    }
    auth::guess_succeeded(state.store.as_ref(), &keys).await?;
    let hash = state.hashers.hash(req.new).await?;
    state.store.set_password(&username, &hash, false).await?;
    let ended = state
        .store
        .revoke_other_sessions(&username, &caller.session_id, auth::now_ms())
        .await?;
    tracing::info!(username = ?username, ended, "password changed; other sessions ended");
    Ok(Json(serde_json::json!({ "ok": true })))
}

async fn me(AnySession(caller): AnySession) -> Json<Account> {
    Json(caller.account)
}
