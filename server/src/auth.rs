//! Accounts and sessions on the server: argon2id password hashes, device sessions whose tokens
//! are kept only as hashes, login rate limits, and the [`Caller`] extractor every protected
//! endpoint takes. Tokens and passwords never reach a log line.

use crate::error::ApiError;
use crate::pool::Pool;
use crate::store::{AccountRow, SessionRow, Store, StoreError, Strikes};
use crate::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand_core::{OsRng, RngCore};
use shequ_model::auth::{Account, AuthFailure, Role};
use shequ_model::UnitCode;
use std::time::Duration;

/// How long a session lasts; the phone renews it when it is within [`RENEW_WITHIN`] of the end.
pub const SESSION_DAYS: i64 = 30;
pub const RENEW_WITHIN_MS: i64 = 7 * 24 * 3600 * 1000;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2id hashes any password")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
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
    let mut s: String = b
        .iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect();
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

/// Password hashing on a bounded pool. Each argon2id hash takes 19 MiB and tens of milliseconds
/// of a core, so 400 logins at once would take 7.6 GB: only `workers` hash at a time, a few more
/// wait their turn, and the rest are told at once to come back (503 with Retry-After).
pub struct Hashers(Pool);

impl Hashers {
    /// How many may wait for a turn, per worker.
    const WAITING_PER_WORKER: usize = 2;

    pub fn new(workers: usize) -> Self {
        Hashers(Pool::new(
            workers,
            Self::WAITING_PER_WORKER,
            "登录的人太多,请稍等几秒再试",
            1,
        ))
    }

    pub async fn verify(&self, password: String, hash: String) -> Result<bool, ApiError> {
        self.0.run(move || verify_password(&password, &hash)).await
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.0.run(move || hash_password(&password)).await
    }
}

// Guessing a password is limited per (account, address) and per address with a growing delay:
// a few free tries, then 30 s, doubling up to 15 minutes. A stranger elsewhere cannot lock an
// owner out, and an attempt is counted in the same step as it is allowed, so concurrent guesses
// cannot slip past the limit while the first ones are being checked. The strikes are kept in the
// database ([`Store::change_strikes`]), so every server process on it counts the same guesses.

/// Free attempts per (account, address) and per address before the delay starts.
pub const FREE_PER_ACCOUNT_ADDRESS: u32 = 5;
pub const FREE_PER_ADDRESS: u32 = 30;
const FIRST_DELAY: Duration = Duration::from_secs(30);
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Strikes older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// When the next attempt is allowed after `count` strikes with `free` of them free.
fn delay(count: u32, free: u32) -> Duration {
    if count < free {
        return Duration::ZERO;
    }
    let doublings = (count - free).min(16);
    (FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
}

/// The keys one password guess counts against, with the free attempts of each.
pub struct GuessKeys {
    account_address: String,
    address: String,
}

impl GuessKeys {
    pub fn new(username: &str, address: std::net::IpAddr) -> Self {
        GuessKeys {
            account_address: format!("{username}@{address}"),
            address: address.to_string(),
        }
    }

    fn keys(&self) -> [&str; 2] {
        [&self.account_address, &self.address]
    }
}

const FREE: [u32; 2] = [FREE_PER_ACCOUNT_ADDRESS, FREE_PER_ADDRESS];

/// Offers on the public wish wall per address and per phone number before the delay starts:
/// anyone may send one, so each is counted as a guess is, under keys of their own.
pub const FREE_OFFERS_PER_ADDRESS: u32 = 5;
pub const FREE_OFFERS_PER_PHONE: u32 = 3;

/// Allows an offer from `address` giving `phone` and counts it against both, or says how long to
/// wait (429, in Chinese).
pub async fn attempt_offer(
    store: &dyn Store,
    address: std::net::IpAddr,
    phone: &str,
) -> Result<(), ApiError> {
    attempt_public(store, "offer", address, phone).await
}

/// A resident's submission from the wall, counted as an offer is, under keys of its own.
pub async fn attempt_submission(
    store: &dyn Store,
    address: std::net::IpAddr,
    phone: &str,
) -> Result<(), ApiError> {
    attempt_public(store, "submit", address, phone).await
}

async fn attempt_public(
    store: &dyn Store,
    what: &str,
    address: std::net::IpAddr,
    phone: &str,
) -> Result<(), ApiError> {
    let now = now_ms();
    let forget_before = now - FORGET_AFTER.as_millis() as i64;
    // One IPv6 subscriber holds a whole /64: counted as one address.
    let address = match address {
        std::net::IpAddr::V6(a) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        a => a.to_string(),
    };
    let (by_address, by_phone) = (format!("{what}@{address}"), format!("{what}-phone:{phone}"));
    let free = [FREE_OFFERS_PER_ADDRESS, FREE_OFFERS_PER_PHONE];
    let kept = store
        .change_strikes(&[&by_address, &by_phone], forget_before, &|kept| {
            judge_with(kept, now, &free).unwrap_or_else(|_| kept.to_vec())
        })
        .await?;
    judge_with(&kept, now, &free).map(|_| ()).map_err(|wait| {
        let secs = (wait.as_millis() as u64).div_ceil(1000);
        ApiError::Throttled {
            message: format!("提交太频繁,请{}后再试", wait_in_words(secs)),
            retry_after: secs,
        }
    })
}

/// A guess at `now` against the strikes kept for its keys: how long it must wait, or the strikes
/// with it counted.
fn judge(kept: &[Strikes], now: i64) -> Result<Vec<Strikes>, Duration> {
    judge_with(kept, now, &FREE)
}

/// [`judge`] with `free` attempts for each key.
fn judge_with(kept: &[Strikes], now: i64, free: &[u32]) -> Result<Vec<Strikes>, Duration> {
    let forget = FORGET_AFTER.as_millis() as i64;
    let live = |s: &Strikes| now - s.last_at < forget;
    let wait = kept
        .iter()
        .zip(free)
        .map(|(s, free)| (s, delay(s.count, *free)))
        // A strike counted by another process, or a moment later by this one, may carry a later
        // time than `now`: only a delay that has begun makes a guess wait.
        .filter(|(s, delay)| live(s) && !delay.is_zero())
        .map(|(s, delay)| {
            let until = s.last_at + delay.as_millis() as i64;
            Duration::from_millis((until - now).max(0) as u64)
        })
        .max()
        .unwrap_or_default();
    if !wait.is_zero() {
        return Err(wait);
    }
    Ok(kept
        .iter()
        .map(|s| Strikes {
            count: if live(s) { s.count + 1 } else { 1 },
            last_at: now,
        })
        .collect())
}

/// Allows a guess and counts it against both keys, or says how long to wait. A guess counts as a
/// failure until [`guess_succeeded`] says otherwise.
pub async fn attempt_guess(store: &dyn Store, keys: &GuessKeys) -> Result<(), ApiError> {
    let now = now_ms();
    let forget_before = now - FORGET_AFTER.as_millis() as i64;
    let kept = store
        .change_strikes(&keys.keys(), forget_before, &|kept| {
            judge(kept, now).unwrap_or_else(|_| kept.to_vec())
        })
        .await?;
    judge(&kept, now).map(|_| ()).map_err(|wait| {
        let secs = (wait.as_millis() as u64).div_ceil(1000);
        ApiError::Throttled {
            message: format!("密码错误次数过多,请{}后再试", wait_in_words(secs)),
            retry_after: secs,
        }
    })
}

/// The guess was right: the (account, address) strikes are cleared and the address gets its
/// attempt back.
pub async fn guess_succeeded(store: &dyn Store, keys: &GuessKeys) -> Result<(), ApiError> {
    let forget_before = now_ms() - FORGET_AFTER.as_millis() as i64;
    store
        .change_strikes(&keys.keys(), forget_before, &|kept| {
            vec![
                Strikes::default(),
                Strikes {
                    count: kept[1].count.saturating_sub(1),
                    ..kept[1]
                },
            ]
        })
        .await?;
    Ok(())
}

fn wait_in_words(secs: u64) -> String {
    if secs < 60 {
        format!("{secs}秒")
    } else {
        format!("{}分钟", secs.div_ceil(60))
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

    pub fn require_read(&self, code: impl AsRef<str>) -> Result<(), ApiError> {
        if self.account.may_read(code) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("无权查看该单位".into()))
        }
    }
}

/// Every endpoint takes a [`Caller`], which an account that must still change its one-time
/// password cannot be; the few that such an account may use (changing the password, logging out,
/// who am I) take an [`AnySession`] instead.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let AnySession(caller) = AnySession::from_request_parts(parts, state).await?;
        if caller.must_change {
            return Err(ApiError::MustChangePassword);
        }
        Ok(caller)
    }
}

/// The address a request comes from, for the login limits: its peer's, or, from the trusted
/// reverse proxy, the last address of `X-Forwarded-For` (the one the proxy itself wrote).
pub struct ClientAddress(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        if state.trusted_proxy != Some(peer) {
            return Ok(ClientAddress(peer));
        }
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|a| a.trim().parse().ok());
        Ok(ClientAddress(forwarded.unwrap_or(peer)))
    }
}

/// The account behind a request, whether or not it must still change its password.
pub struct AnySession(pub Caller);

impl FromRequestParts<AppState> for AnySession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized(AuthFailure::Unauthenticated))?;
        caller_for(state.store.as_ref(), token)
            .await
            .map(AnySession)
    }
}

pub async fn caller_for(store: &dyn Store, token: &str) -> Result<Caller, ApiError> {
    let (session, row) = store
        .session(&token_hash(token))
        .await?
        .ok_or(ApiError::Unauthorized(AuthFailure::Unauthenticated))?;
    if session.revoked_at.is_some() {
        return Err(ApiError::Unauthorized(AuthFailure::Revoked));
    }
    if session.expires_at <= now_ms() {
        return Err(ApiError::Unauthorized(AuthFailure::Expired));
    }
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
pub async fn add_account(
    store: &dyn Store,
    account: Account,
    password: &str,
    must_change: bool,
) -> Result<bool, StoreError> {
    let row = AccountRow {
        account,
        password_hash: hash_password(password),
        must_change,
        disabled: false,
    };
    store.create_account(&row, now_ms()).await
}

/// On a database with no account, the first administrator: with `SHEQU_ADMIN_PASSWORD` when set,
/// otherwise with a one-time password printed once, to be changed at the first login.
pub async fn ensure_first_admin(
    store: &dyn Store,
    county: &UnitCode,
) -> Result<Option<String>, StoreError> {
    if store.account_count().await? > 0 {
        return Ok(None);
    }
    let (password, one_time) = match std::env::var("SHEQU_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        Some(p) => (p, false),
        None => (generate_password(), true),
    };
    let account = Account {
        username: "admin".into(),
        name: "县民政局管理员".into(),
        role: Role::CountyAdmin,
        unit: county.clone(),
    };
    add_account(store, account, &password, one_time).await?;
    Ok(one_time.then_some(password))
}

/// The demo accounts, all with the password [`DEMO_PASSWORD`]: `county` for the county, and
/// `town-CODE` and `village-CODE` for every town and village-level unit known.
pub const DEMO_PASSWORD: &str = "shequ2018";

pub async fn ensure_demo_accounts(
    store: &dyn Store,
    county: &UnitCode,
) -> Result<usize, StoreError> {
    let mut made = 0;
    let admin = Account {
        username: "county".into(),
        name: "县民政局(演示)".into(),
        role: Role::CountyAdmin,
        unit: county.clone(),
    };
    let password = hash_password(DEMO_PASSWORD);
    let mut accounts = vec![admin];
    for a in store.areas(county.as_str()).await? {
        let role = match a.level {
            shequ_model::Level::Town => Role::TownSupervisor,
            shequ_model::Level::Village => Role::VillageWorker,
            _ => continue,
        };
        let prefix = if role == Role::TownSupervisor {
            "town"
        } else {
            "village"
        };
        accounts.push(Account {
            username: format!("{prefix}-{}", a.code),
            name: format!("{}(演示)", a.name),
            role,
            unit: UnitCode::parse(&a.code).map_err(StoreError::Corrupt)?,
        });
    }
    for account in accounts {
        let row = AccountRow {
            account,
            password_hash: password.clone(),
            must_change: false,
            disabled: false,
        };
        if store.create_account(&row, now_ms()).await? {
            made += 1;
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn passwords_are_argon2id_and_verify() {
        let h = hash_password("letters123");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("letters123", &h));
        assert!(!verify_password("letters124", &h));
        assert!(!verify_password("letters123", decoy_hash()));
    }

    async fn store() -> (Arc<dyn Store>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        (crate::store::open(&url).await.unwrap(), dir)
    }

    #[tokio::test]
    async fn the_limiter_backs_off_per_account_and_address() {
        let (l, _dir) = store().await;
        let l = l.as_ref();
        let here: std::net::IpAddr = [10, 0, 0, 1].into();
        let there: std::net::IpAddr = [10, 0, 0, 2].into();
        let guess = GuessKeys::new("village-1", here);
        for _ in 0..FREE_PER_ACCOUNT_ADDRESS {
            attempt_guess(l, &guess).await.unwrap();
        }
        match attempt_guess(l, &guess).await {
            Err(ApiError::Throttled { retry_after, .. }) => {
                assert_eq!(retry_after, FIRST_DELAY.as_secs())
            }
            other => panic!("{other:?}"),
        }
        // The owner elsewhere, and another account from here, are not held back.
        attempt_guess(l, &GuessKeys::new("village-1", there))
            .await
            .unwrap();
        attempt_guess(l, &GuessKeys::new("village-2", here))
            .await
            .unwrap();
        // The delay doubles and stops growing.
        assert_eq!(
            delay(FREE_PER_ACCOUNT_ADDRESS + 1, FREE_PER_ACCOUNT_ADDRESS),
            FIRST_DELAY * 2
        );
        assert_eq!(delay(1000, FREE_PER_ACCOUNT_ADDRESS), MAX_DELAY);
    }

    #[tokio::test]
    async fn a_right_guess_clears_its_strikes() {
        let (l, _dir) = store().await;
        let l = l.as_ref();
        let guess = GuessKeys::new("village-1", [10, 0, 0, 1].into());
        for _ in 0..FREE_PER_ACCOUNT_ADDRESS {
            attempt_guess(l, &guess).await.unwrap();
        }
        guess_succeeded(l, &guess).await.unwrap();
        attempt_guess(l, &guess).await.unwrap();
    }

    #[test]
    fn strikes_an_hour_old_are_forgotten() {
        let now = 10 * FORGET_AFTER.as_millis() as i64;
        let many = Strikes {
            count: 100,
            last_at: now - FORGET_AFTER.as_millis() as i64,
        };
        let counted = judge(&[many, Strikes::default()], now).unwrap();
        assert_eq!(counted[0].count, 1);
        assert_eq!(counted[1].count, 1);
        assert!(judge(
            &[
                Strikes {
                    last_at: now - 1,
                    ..many
                },
                Strikes::default()
            ],
            now
        )
        .is_err());
    }

    #[tokio::test]
    async fn hashing_beyond_the_pool_and_its_queue_is_refused_at_once() {
        let pool = Hashers::new(1);
        let _working = pool.0.turn().await.unwrap();
        let mut waiting: Vec<_> = (0..Hashers::WAITING_PER_WORKER)
            .map(|_| Box::pin(pool.0.turn()))
            .collect();
        for w in &mut waiting {
            assert!(futures_util::poll!(w).is_pending(), "waits its turn");
        }
        match pool.verify("x".into(), decoy_hash().into()).await {
            Err(e @ ApiError::Busy { .. }) => {
                let r = axum::response::IntoResponse::into_response(e);
                assert_eq!(r.status(), 503);
                assert_eq!(r.headers()["retry-after"], "1");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_time_passwords_pass_the_rules() {
        for _ in 0..20 {
            shequ_model::auth::check_password(&generate_password()).unwrap();
        }
    }
}
