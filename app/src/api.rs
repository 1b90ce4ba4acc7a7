//! Talking to the server. Every request carries the session's token; every failure comes back as
//! a Chinese sentence for the worker, marked when it is about the credentials.
//!
//! Every request has [`TIMEOUT_MS`] to be answered, its body read included: a link that connects
//! but never answers (a weak signal, a captive portal) must not leave a page waiting. After each
//! request the app hears whether the server was reached ([`on_reach`]), which is its 离线 state.

use crate::tc;
use gloo_net::http::{Request, RequestBuilder, Response};
use gloo_timers::callback::Timeout;
use serde::de::DeserializeOwned;
use shequ_model::area::Area;
use shequ_model::auth::{
    Account, AccountChange, AuditEntry, AuditFilter, AuthFailure, LoginRequest, ManagedAccount,
    NewAccount, PasswordChange, PasswordReset, Session, SessionInfo,
};
use shequ_model::history::RecordHistory;
use shequ_model::listing::{RecordPage, RecordQuery};
use shequ_model::month::Month;
use shequ_model::photo::{PhotoAnswer, PhotoAsk, PhotoId};
use shequ_model::plan::{Plan, PlanId, PlanSummary};
use shequ_model::rollup::{MonthSeries, Report};
use shequ_model::sync::{Checksum, PullPage, PullQuery, PushRequest, PushResponse};
use shequ_model::table::{SheetRefused, TargetEdits, TargetsImported};
use std::cell::RefCell;
use std::rc::Rc;
use web_sys::AbortController;

/// How long a request may take before the phone gives up on the server and works from what it
/// stores. Long enough for a push batch on a slow 2G link, short enough that a worker is not left
/// looking at a spinner.
pub const TIMEOUT_MS: u32 = 8_000;

/// A photo's upload or download may take longer: up to 512 KB on a 2G link.
pub const PHOTO_TIMEOUT_MS: u32 = 60_000;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub message: String,
    /// Whether trying again later may help (no connection, a server error) or not (a refusal).
    pub retry: bool,
    /// Set when the server refused the session.
    pub auth: Option<AuthFailure>,
    /// The server refused the request as too large (413): a smaller one may pass.
    pub too_large: bool,
}

impl ApiError {
    fn new(message: impl Into<String>, retry: bool) -> Self {
        ApiError {
            message: message.into(),
            retry,
            auth: None,
            too_large: false,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

type Result<T> = std::result::Result<T, ApiError>;

/// Told after each request whether the server was reached.
type ReachListener = Rc<dyn Fn(bool)>;

thread_local! {
    static TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    static REACH: RefCell<Option<ReachListener>> = const { RefCell::new(None) };
}

/// Calls `listener` after every request with whether the server answered it (a refusal is an
/// answer) or could not be reached in time.
pub fn on_reach(listener: impl Fn(bool) + 'static) {
    REACH.with(|r| *r.borrow_mut() = Some(Rc::new(listener)));
}

fn reached(yes: bool) {
    if let Some(listener) = REACH.with(|r| r.borrow().clone()) {
        listener(yes);
    }
}

/// A request's time limit: aborts the request (and the reading of its answer) when it passes.
/// Dropping it cancels the timer.
struct Deadline {
    controller: Option<AbortController>,
    _timer: Option<Timeout>,
}

impl Deadline {
    fn start() -> Deadline {
        Deadline::after(TIMEOUT_MS)
    }

    fn after(ms: u32) -> Deadline {
        let Ok(controller) = AbortController::new() else {
            return Deadline {
                controller: None,
                _timer: None,
            };
        };
        let abort = controller.clone();
        let timer = Timeout::new(ms, move || abort.abort());
        Deadline {
            controller: Some(controller),
            _timer: Some(timer),
        }
    }

    fn on(&self, b: RequestBuilder) -> RequestBuilder {
        match &self.controller {
            Some(c) => b.abort_signal(Some(&c.signal())),
            None => b,
        }
    }

    fn passed(&self) -> bool {
        self.controller
            .as_ref()
            .is_some_and(|c| c.signal().aborted())
    }

    /// The server could not be reached: no connection, or no answer in time.
    fn unreachable(&self) -> ApiError {
        reached(false);
        if self.passed() {
            ApiError::new(tc!(api.no_answer), true)
        } else {
            ApiError::new(tc!(api.no_connection), true)
        }
    }

    /// Sends a request built on [`Deadline::on`].
    async fn send(&self, req: std::result::Result<Request, gloo_net::Error>) -> Result<Response> {
        let req = req.map_err(|e| ApiError::new(e.to_string(), false))?;
        match req.send().await {
            Ok(resp) => {
                reached(true);
                Ok(resp)
            }
            Err(_) => Err(self.unreachable()),
        }
    }

    /// Reads the answer within the same time limit.
    async fn answer<T: DeserializeOwned>(&self, resp: Response) -> Result<T> {
        let result = answer(resp).await;
        match result {
            Err(_) if self.passed() => Err(self.unreachable()),
            other => other,
        }
    }
}

/// The session token every request carries (none when logged out).
pub fn set_token(token: Option<String>) {
    TOKEN.with(|t| *t.borrow_mut() = token);
}

fn authorised(b: RequestBuilder) -> RequestBuilder {
    match TOKEN.with(|t| t.borrow().clone()) {
        Some(t) => b.header("Authorization", &format!("Bearer {t}")),
        None => b,
    }
}

async fn answer<T: DeserializeOwned>(resp: gloo_net::http::Response) -> Result<T> {
    if resp.ok() {
        return resp
            .json::<T>()
            .await
            .map_err(|e| ApiError::new(tc!(api.unreadable_because, error = e), true));
    }
    let status = resp.status();
    let body = resp.json::<serde_json::Value>().await.ok();
    let msg = body
        .as_ref()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| tc!(api.status, status = status));
    let auth = (status == 401)
        .then(|| {
            body.as_ref()
                .and_then(|v| v.get("code").cloned())
                .and_then(|c| serde_json::from_value(c).ok())
        })
        .flatten();
    Err(ApiError {
        message: msg,
        retry: status >= 500 || status == 429,
        auth,
        too_large: status == 413,
    })
}

async fn get<T: DeserializeOwned>(url: &str) -> Result<T> {
    let deadline = Deadline::start();
    let resp = deadline
        .send(deadline.on(authorised(Request::get(url))).build())
        .await?;
    deadline.answer(resp).await
}

async fn post<B: serde::Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T> {
    let deadline = Deadline::start();
    let resp = deadline
        .send(deadline.on(authorised(Request::post(url))).json(body))
        .await?;
    deadline.answer(resp).await
}

pub async fn login(req: &LoginRequest) -> Result<Session> {
    post("/api/auth/login", req).await
}

pub async fn renew() -> Result<Session> {
    post("/api/auth/renew", &serde_json::json!({})).await
}

pub async fn logout() -> Result<serde_json::Value> {
    post("/api/auth/logout", &serde_json::json!({})).await
}

pub async fn change_password(req: &PasswordChange) -> Result<serde_json::Value> {
    post("/api/auth/password", req).await
}

pub async fn accounts() -> Result<Vec<ManagedAccount>> {
    get("/api/admin/accounts").await
}

pub async fn change_account(username: &str, change: &AccountChange) -> Result<ManagedAccount> {
    post(&format!("/api/admin/accounts/{username}"), change).await
}

/// A new one-time password for an account, shown once.
pub async fn reset_password(username: &str) -> Result<PasswordReset> {
    post(
        &format!("/api/admin/accounts/{username}/password"),
        &serde_json::json!({}),
    )
    .await
}

pub async fn create_account(new: &NewAccount) -> Result<Account> {
    post("/api/admin/accounts", new).await
}

/// The helpers' offers waiting in `unit` (on the public wish wall), with their contacts.
pub async fn offers(unit: &str) -> Result<Vec<shequ_model::wall::OfferView>> {
    get(&format!("/api/offers?unit={unit}")).await
}

pub async fn decide_offer(
    id: &uuid::Uuid,
    decision: shequ_model::wall::Decision,
) -> Result<shequ_model::wall::OfferView> {
    let body = shequ_model::wall::DecisionInput { decision };
    post(&format!("/api/offers/{id}"), &body).await
}

/// What residents sent in from the wall for `unit`, waiting to be checked, with their phones.
pub async fn submissions(unit: &str) -> Result<Vec<shequ_model::wall::SubmissionView>> {
    get(&format!("/api/submissions?unit={unit}")).await
}

pub async fn decide_submission(
    id: &uuid::Uuid,
    decision: shequ_model::wall::Decision,
) -> Result<shequ_model::wall::SubmissionView> {
    let body = shequ_model::wall::DecisionInput { decision };
    post(&format!("/api/submissions/{id}"), &body).await
}

pub async fn sessions() -> Result<Vec<SessionInfo>> {
    get("/api/admin/sessions").await
}

pub async fn revoke(id: &str) -> Result<serde_json::Value> {
    post(
        &format!("/api/admin/sessions/{id}/revoke"),
        &serde_json::json!({}),
    )
    .await
}

/// The latest entries of the audit trail under `unit` (the account's own unit when none) that
/// `filter` takes.
pub async fn audit(unit: Option<&str>, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let (from, until) = (
        filter.from.map(|t| t.to_string()),
        filter.until.map(|t| t.to_string()),
    );
    let pairs = [
        ("unit", unit),
        ("account", filter.account.as_deref()),
        ("form", filter.form.as_deref()),
        ("from", from.as_deref()),
        ("until", until.as_deref()),
    ];
    let mut url = "/api/admin/audit?limit=200".to_string();
    for (k, v) in pairs {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            url.push_str(&format!("&{k}={}", js_sys::encode_uri_component(v)));
        }
    }
    get(&url).await
}

/// The plans the server holds, and which is current.
pub async fn plans() -> Result<Vec<PlanSummary>> {
    get("/api/plans").await
}

/// A plan, unless it is the one with `etag` (then none): plans sync down to devices.
pub async fn plan_if_changed(id: &PlanId, etag: Option<&str>) -> Result<Option<(Plan, String)>> {
    get_if_changed(&format!("/api/plans/{id}"), etag).await
}

/// The current plan, from a server that keeps a single plan (it has no `/api/plans`).
pub async fn current_plan_if_changed(etag: Option<&str>) -> Result<Option<(Plan, String)>> {
    get_if_changed("/api/plan", etag).await
}

async fn get_if_changed<T: DeserializeOwned>(
    url: &str,
    etag: Option<&str>,
) -> Result<Option<(T, String)>> {
    let deadline = Deadline::start();
    let mut req = deadline.on(Request::get(url));
    if let Some(tag) = etag {
        req = req.header("If-None-Match", tag);
    }
    let resp = deadline.send(req.build()).await?;
    if resp.status() == 304 {
        return Ok(None);
    }
    let tag = resp.headers().get("etag").unwrap_or_default();
    let value: T = deadline.answer(resp).await?;
    Ok(Some((value, tag)))
}

pub async fn areas() -> Result<Vec<Area>> {
    get("/api/areas").await
}

/// A unit's figures under one plan: only that plan's records, against its targets.
pub async fn report(code: &str, plan: &PlanId, as_of: Option<Month>) -> Result<Report> {
    let code = shequ_model::UnitCode::in_path(code);
    match as_of {
        None => get(&format!("/api/report/{code}?plan={plan}")).await,
        Some(m) => get(&format!("/api/report/{code}?plan={plan}&as_of={m}")).await,
    }
}

/// One indicator of a unit and its children month by month over the plan's period.
pub async fn months(code: &str, plan: &PlanId, indicator: &str) -> Result<MonthSeries> {
    let code = shequ_model::UnitCode::in_path(code);
    get(&format!(
        "/api/report/{code}/months?plan={plan}&indicator={indicator}"
    ))
    .await
}

/// A unit's decomposition table as .xlsx under one plan: the file's name and its bytes.
pub async fn table(code: &str, plan: &PlanId) -> Result<(String, Vec<u8>)> {
    let code = shequ_model::UnitCode::in_path(code);
    let url = format!("/api/report/{code}/table.xlsx?plan={plan}");
    let deadline = Deadline::start();
    let resp = deadline
        .send(deadline.on(authorised(Request::get(&url))).build())
        .await?;
    if !resp.ok() {
        return match deadline.answer::<serde_json::Value>(resp).await {
            Err(e) => Err(e),
            Ok(_) => Err(ApiError::new(tc!(api.unreadable), true)),
        };
    }
    let name = resp
        .headers()
        .get("content-disposition")
        .as_deref()
        .and_then(attachment_name)
        .unwrap_or_else(|| tc!(api.table_file));
    let bytes = resp.binary().await.map_err(|_| deadline.unreachable())?;
    Ok((name, bytes))
}

/// Sends the county's decomposition table with its towns' targets filled in: what changed, or
/// the server's list of wrong cells (nothing changed then).
pub async fn import_targets(
    code: &str,
    plan: &PlanId,
    bytes: &[u8],
) -> Result<std::result::Result<TargetsImported, SheetRefused>> {
    let url = format!("/api/report/{code}/targets.xlsx?plan={plan}");
    let deadline = Deadline::start();
    let body = js_sys::Uint8Array::from(bytes);
    let resp = deadline
        .send(
            deadline
                .on(authorised(Request::post(&url)))
                .header("Content-Type", XLSX)
                .body(body),
        )
        .await?;
    targets_answer(deadline, resp).await
}

/// Sets towns' targets as typed on the target page: what changed, or the server's list of wrong
/// targets (nothing changed then).
pub async fn edit_targets(
    code: &str,
    edits: &TargetEdits,
) -> Result<std::result::Result<TargetsImported, SheetRefused>> {
    let url = format!("/api/report/{code}/targets");
    let deadline = Deadline::start();
    let resp = deadline
        .send(deadline.on(authorised(Request::post(&url))).json(edits))
        .await?;
    targets_answer(deadline, resp).await
}

/// The answer to targets sent: what changed, or every wrong one.
async fn targets_answer(
    deadline: Deadline,
    resp: gloo_net::http::Response,
) -> Result<std::result::Result<TargetsImported, SheetRefused>> {
    if resp.status() == 400 {
        return match resp.json::<SheetRefused>().await {
            Ok(refused) => Ok(Err(refused)),
            Err(_) if deadline.passed() => Err(deadline.unreachable()),
            Err(_) => Err(ApiError::new(tc!(api.unreadable), true)),
        };
    }
    deadline.answer(resp).await.map(Ok)
}

/// The media type of an .xlsx file.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The file name a download is offered under (`filename*=UTF-8''…`, RFC 6266).
fn attachment_name(disposition: &str) -> Option<String> {
    let encoded = disposition
        .split(';')
        .find_map(|p| p.trim().strip_prefix("filename*=UTF-8''"))?;
    js_sys::decode_uri_component(encoded).ok().map(String::from)
}

/// A page of the live records a listing asks for (a unit's, of a form, or those behind a
/// figure), newest first.
pub async fn records(q: &RecordQuery) -> Result<RecordPage> {
    let before = q.before.map(|b| b.to_string());
    let limit = q.page_len().to_string();
    let pairs = [
        ("unit", Some(q.unit.as_str())),
        ("plan", q.plan.as_deref()),
        ("form", q.form.as_deref()),
        ("indicator", q.indicator.as_deref()),
        ("as_of", q.as_of.as_deref()),
        ("before", before.as_deref()),
        ("limit", Some(limit.as_str())),
    ];
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| Some(format!("{k}={}", js_sys::encode_uri_component(v.as_ref()?))))
        .collect();
    get(&format!("/api/records?{}", query.join("&"))).await
}

/// A record with every revision the server keeps of it.
pub async fn record_history(id: &str) -> Result<RecordHistory> {
    get(&format!("/api/records/{id}/history")).await
}

pub async fn push(key: &str, req: &PushRequest) -> Result<PushResponse> {
    let json = serde_json::to_vec(req).map_err(|e| ApiError::new(e.to_string(), false))?;
    // Compressed before the clock starts: only the exchange with the server is timed.
    let gz = gzip(&json).await;
    let deadline = Deadline::start();
    let builder = deadline
        .on(authorised(Request::post("/api/sync/push")))
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json");
    // Batches travel gzip-compressed where the browser can compress (CompressionStream).
    let r = match gz {
        Some(body) => builder
            .header("Content-Encoding", "gzip")
            .body(js_sys::Uint8Array::from(body.as_slice())),
        None => builder.body(js_sys::Uint8Array::from(json.as_slice())),
    };
    let resp = deadline.send(r).await?;
    deadline.answer(resp).await
}

/// Which of these photos the server wants from this phone ([`PhotoAnswer`]).
pub async fn photos_wanted(ids: &[PhotoId]) -> Result<PhotoAnswer> {
    post("/api/photos/wanted", &PhotoAsk { ids: ids.to_vec() }).await
}

/// Uploads a photo (its JPEG bytes).
pub async fn put_photo(id: &PhotoId, bytes: &js_sys::Uint8Array) -> Result<()> {
    let deadline = Deadline::after(PHOTO_TIMEOUT_MS);
    let r = deadline
        .on(authorised(Request::put(&format!("/api/photos/{id}"))))
        .header("Content-Type", "image/jpeg")
        .body(bytes.clone());
    let resp = deadline.send(r).await?;
    deadline.answer::<serde_json::Value>(resp).await.map(|_| ())
}

/// A photo the server holds, as bytes to show.
pub async fn photo(id: &PhotoId) -> Result<js_sys::Uint8Array> {
    let deadline = Deadline::after(PHOTO_TIMEOUT_MS);
    let resp = deadline
        .send(
            deadline
                .on(authorised(Request::get(&format!("/api/photos/{id}"))))
                .build(),
        )
        .await?;
    if !resp.ok() {
        return match deadline.answer::<serde_json::Value>(resp).await {
            Err(e) => Err(e),
            Ok(_) => Err(ApiError::new(tc!(api.unreadable), true)),
        };
    }
    let bytes = resp.binary().await.map_err(|_| deadline.unreachable())?;
    Ok(js_sys::Uint8Array::from(bytes.as_slice()))
}

pub async fn checksum(scope: &str) -> Result<Checksum> {
    get(&format!("/api/sync/checksum?scope={scope}")).await
}

pub async fn pull(ask: &PullQuery) -> Result<PullPage> {
    get(&ask.path()).await
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The browser's CompressionStream (not yet in web-sys's stable API).
    #[wasm_bindgen(js_name = CompressionStream)]
    type Compressor;
    #[wasm_bindgen(constructor, js_class = "CompressionStream", catch)]
    fn new(format: &str) -> std::result::Result<Compressor, wasm_bindgen::JsValue>;
    #[wasm_bindgen(method, getter)]
    fn readable(this: &Compressor) -> web_sys::ReadableStream;
    #[wasm_bindgen(method, getter)]
    fn writable(this: &Compressor) -> web_sys::WritableStream;
}

async fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let has = js_sys::Reflect::has(&js_sys::global(), &"CompressionStream".into()).unwrap_or(false);
    if !has {
        return None;
    }
    let gz = Compressor::new("gzip").ok()?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).ok()?;
    let stream = blob
        .stream()
        .pipe_through(&web_sys::ReadableWritablePair::new(
            &gz.readable(),
            &gz.writable(),
        ));
    let resp = web_sys::Response::new_with_opt_readable_stream(Some(&stream)).ok()?;
    let buf = wasm_bindgen_futures::JsFuture::from(resp.array_buffer().ok()?)
        .await
        .ok()?;
    Some(js_sys::Uint8Array::new(&buf).to_vec())
}
