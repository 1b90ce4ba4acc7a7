//! Accounts and sessions on the server: argon2id password hashes, device sessions whose tokens
//! are kept only as hashes, login rate limits, and the [`Caller`] extractor every protected
//! endpoint takes. Tokens and passwords never reach a log line.

use crate::error::ApiError;
use crate::store::{AccountRow, SessionRow, Store, StoreError};
use crate::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand_core::{OsRng, RngCore};
use shequ_model::auth::{Account, AuthFailure, Role};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a session lasts; the phone renews it when it is within [`RENEW_WITHIN`] of the end.
pub const SESSION_DAYS: i64 = 30;
pub const RENEW_WITHIN_MS: i64 = 7 * 24 * 3600 * 1000;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2id hashes any password").to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash that verifies nothing, checked against when the username is unknown, so that a login
/// takes as long whether or not the account exists.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("not the password of anyone"))
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A readable one-time password (no 0/O, 1/l).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 14];
    OsRng.fill_bytes(&mut b);
    let mut s: String = b.iter().map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char).collect();
    s.insert(7, '-');
    s
}

pub fn token_hash(token: &str) -> String {
    shequ_model::record::sha256_hex(token.as_bytes())
}

/// Starts a session for an account on a device: the token (to give to the device once) and the
/// stored row.
pub fn new_session(username: &str, device: &str) -> (String, SessionRow) {
    let token = random_hex(32);
    let now = now_ms();
    let row = SessionRow {
        id: random_hex(8),
        token_hash: token_hash(&token),
        username: username.to_owned(),
        device: device.chars().take(100).collect(),
        created_at: now,
        expires_at: now + SESSION_DAYS * 24 * 3600 * 1000,
        revoked_at: None,
    };
    (token, row)
}

/// Counts failures per key in a sliding window; refuses once a key has too many.
pub struct RateLimiter {
    window: Duration,
    hits: Mutex<HashMap<String, Vec<Instant>>>,
}

impl RateLimiter {
    pub fn new(window: Duration) -> Self {
        RateLimiter { window, hits: Mutex::new(HashMap::new()) }
    }

    /// Whether `key` has fewer than `max` failures in the window.
    pub fn allows(&self, key: &str, max: usize) -> bool {
        let mut hits = self.hits.lock().expect("the limiter's lock is never poisoned");
        let now = Instant::now();
        let list = hits.entry(key.to_owned()).or_default();
        list.retain(|t| now.duration_since(*t) < self.window);
        list.len() < max
    }

    pub fn fail(&self, key: &str) {
        let mut hits = self.hits.lock().expect("the limiter's lock is never poisoned");
        hits.entry(key.to_owned()).or_default().push(Instant::now());
        if hits.len() > 100_000 {
            let now = Instant::now();
            let window = self.window;
            hits.retain(|_, v| v.iter().any(|t| now.duration_since(*t) < window));
        }
    }

    pub fn clear(&self, key: &str) {
        self.hits.lock().expect("the limiter's lock is never poisoned").remove(key);
    }
}

/// The account behind a request, from its `Authorization: Bearer` token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: Account,
    pub session_id: String,
    pub device: String,
    pub expires_at: i64,
    pub must_change: bool,
}

impl Caller {
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.account.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("只有县级管理员可以进行此操作".into()))
        }
    }

    pub fn require_read(&self, code: &str) -> Result<(), ApiError> {
        if self.account.may_read(code) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("无权查看该单位".into()))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized(AuthFailure::Unauthenticated))?;
        caller_for(state.store.as_ref(), token).await
    }
}

pub async fn caller_for(store: &dyn Store, token: &str) -> Result<Caller, ApiError> {
    let session = store.session(&token_hash(token)).await?.ok_or(ApiError::Unauthorized(AuthFailure::Unauthenticated))?;
    if session.revoked_at.is_some() {
        return Err(ApiError::Unauthorized(AuthFailure::Revoked));
    }
    if session.expires_at <= now_ms() {
        return Err(ApiError::Unauthorized(AuthFailure::Expired));
    }
    let row = store.account(&session.username).await?.ok_or(ApiError::Unauthorized(AuthFailure::Unauthenticated))?;
    if row.disabled {
        return Err(ApiError::Unauthorized(AuthFailure::Revoked));
    }
    Ok(Caller {
        account: row.account,
        session_id: session.id,
        device: session.device,
        expires_at: session.expires_at,
        must_change: row.must_change,
    })
}

/// Creates an account unless the username is taken; the password is hashed here.
pub async fn add_account(store: &dyn Store, account: Account, password: &str, must_change: bool) -> Result<bool, StoreError> {
    let row = AccountRow { account, password_hash: hash_password(password), must_change, disabled: false };
    store.create_account(&row, now_ms()).await
}

/// On a database with no account, the first administrator: with `SHEQU_ADMIN_PASSWORD` when set,
/// otherwise with a one-time password printed once, to be changed at the first login.
pub async fn ensure_first_admin(store: &dyn Store, county: &str) -> Result<Option<String>, StoreError> {
    if store.account_count().await? > 0 {
        return Ok(None);
    }
    let (password, one_time) = match std::env::var("SHEQU_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => (generate_password(), true),
    };
    let account = Account { username: "admin".into(), name: "县民政局管理员".into(), role: Role::CountyAdmin, unit: county.into() };
    add_account(store, account, &password, one_time).await?;
    Ok(one_time.then_some(password))
}

/// The demo accounts, all with the password [`DEMO_PASSWORD`]: `county` for the county, and
/// `town-CODE` and `village-CODE` for every town and village-level unit known.
pub const DEMO_PASSWORD: &str = "shequ2018";

pub async fn ensure_demo_accounts(store: &dyn Store, county: &str) -> Result<usize, StoreError> {
    let mut made = 0;
    let admin = Account { username: "county".into(), name: "县民政局(演示)".into(), role: Role::CountyAdmin, unit: county.into() };
    let password = hash_password(DEMO_PASSWORD);
    let mut accounts = vec![admin];
    for a in store.areas(county).await? {
        let role = match a.level {
            shequ_model::Level::Town => Role::TownSupervisor,
            shequ_model::Level::Village => Role::VillageWorker,
            _ => continue,
        };
        let prefix = if role == Role::TownSupervisor { "town" } else { "village" };
        accounts.push(Account { username: format!("{prefix}-{}", a.code), name: format!("{}(演示)", a.name), role, unit: a.code });
    }
    for account in accounts {
        let row = AccountRow { account, password_hash: password.clone(), must_change: false, disabled: false };
        if store.create_account(&row, now_ms()).await? {
            made += 1;
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_and_verify() {
        let h = hash_password("letters123");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("letters123", &h));
        assert!(!verify_password("letters124", &h));
        assert!(!verify_password("letters123", decoy_hash()));
    }

    #[test]
    fn the_limiter_counts_failures_in_its_window() {
        let l = RateLimiter::new(Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.allows("a", 3));
            l.fail("a");
        }
        assert!(!l.allows("a", 3));
        assert!(l.allows("b", 3));
        l.clear("a");
        assert!(l.allows("a", 3));
    }

    #[test]
    fn one_time_passwords_pass_the_rules() {
        for _ in 0..20 {
            shequ_model::auth::check_password(&generate_password()).unwrap();
        }
    }
}
