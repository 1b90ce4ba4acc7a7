//! The public wish wall (心愿墙) of a town or the county, with no login: its JSON
//! (`GET /api/wall/{code}`) and its page (`GET /wall/{code}`), plain HTML that runs no script, so
//! a stranger's phone reads it at once and nothing typed into a record can run on it. Every item
//! is made by [`shequ_model::wall::item`], which takes only the fields the plan shows. Reads run
//! in the bounded public pool, and a page scans a bounded number of records.
//!
//! A helper offers to take a published record up from its card (`POST /wall/{code}/offer`, a
//! plain form): the offer is checked field by field, limited per address and per phone number,
//! and bounded per record and per village, and the helper keeps a receipt page
//! (`/wall/offer/{id}`) that says how the village answered and nothing else. The village's worker
//! reads the offers waiting with their contact (`GET /api/offers?unit=`) and answers each
//! (`POST /api/offers/{id}`): accept, decline, or hide one that is abuse.

use crate::auth::{Caller, ClientAddress};
use crate::error::{ApiError, AppJson};
use crate::store::{ListedRow, OfferRow};
use crate::AppState;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use shequ_model::area::Level;
use shequ_model::plan::Plan;
use shequ_model::wall::{
    self, DecisionInput, OfferInput, OfferState, OfferView, WallPage, MAX_WALL_PAGE,
};
use shequ_model::UnitCode;
use uuid::Uuid;

/// Items on a page when the request names no number.
const PAGE: u32 = 20;
/// Records read at once while looking for the published ones.
const SCAN_BATCH: u32 = 200;
/// Records read for one page at most: a page of a wall with few published records among many
/// answers short, with where it stopped.
const SCAN_PER_PAGE: u32 = 1000;

/// The page's own policy: no script, no frame, styles from here only.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

const STYLE: &str = include_str!("wall.css");

/// An offer's form is a few short fields.
const MAX_OFFER_BODY: usize = 4096;
/// Offers waiting at once for one record, and for one village: past these, a new one is
/// refused until the village answers some.
const MOST_OFFERS_PER_RECORD: u32 = 20;
const MOST_OFFERS_PER_UNIT: u32 = 200;
/// Offers a worker's list shows at once.
const OFFER_LIST: u32 = 100;
/// How long an answered offer or submission is kept, with the phone it holds: its receipt says
/// the answer for this long, then it is gone.
pub(super) const KEPT_AFTER_ANSWER_MS: i64 = 90 * 24 * 3600 * 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/wall/{code}", get(wall_json))
        .route("/api/offers", get(offers))
        .route("/api/offers/{id}", post(decide))
        .merge(super::wall_submit::router())
}

/// The pages, outside the JSON API.
pub fn pages() -> Router<AppState> {
    Router::new()
        .merge(super::wall_submit::pages())
        .route("/wall/{code}", get(wall_html))
        .route(
            "/wall/{code}/offer",
            post(offer).layer(DefaultBodyLimit::max(MAX_OFFER_BODY)),
        )
        .route("/wall/offer/{id}", get(receipt))
        .route("/wall.css", get(style))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WallQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

async fn wall_json(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<WallQuery>,
) -> Result<Json<WallPage>, ApiError> {
    Ok(Json(read(&state, &code, &q).await?))
}

/// A page of the wall of `code`: a town or the county of the current plan.
async fn read(state: &AppState, code: &str, q: &WallQuery) -> Result<WallPage, ApiError> {
    let limit = q.limit.unwrap_or(PAGE);
    if !(1..=MAX_WALL_PAGE).contains(&limit) {
        return Err(ApiError::Unprocessable(format!(
            "limit 应在 1 到 {MAX_WALL_PAGE} 之间"
        )));
    }
    let plan = state.plans.plans.current();
    let _turn = state.public.turn().await?;
    let (unit, area) = wall_area(state, code).await?;
    let (items, next) = published(state, plan, &unit, q.before.unwrap_or(i64::MAX), limit).await?;
    Ok(WallPage {
        unit_name: area.name,
        items,
        next,
    })
}

/// The town or county of the current plan a wall's address names.
pub(super) async fn wall_area(
    state: &AppState,
    code: &str,
) -> Result<(UnitCode, shequ_model::area::Area), ApiError> {
    let plan = state.plans.plans.current();
    let missing = || ApiError::NotFound("没有这个镇(街)或县的心愿墙".into());
    let unit = UnitCode::parse(code).map_err(|_| missing())?;
    if !UnitCode::parse(&plan.county).is_ok_and(|c| c.contains(&unit)) {
        return Err(missing());
    }
    let area = state.store.area(unit.as_str()).await?.ok_or_else(missing)?;
    if !matches!(area.level, Level::Town | Level::County) {
        return Err(missing());
    }
    Ok((unit, area))
}

/// The published records under `unit`, newest first, from `before`.
async fn published(
    state: &AppState,
    plan: &Plan,
    unit: &UnitCode,
    mut before: i64,
    limit: u32,
) -> Result<(Vec<wall::WallItem>, Option<i64>), ApiError> {
    let forms: Vec<&str> = plan
        .forms
        .iter()
        .filter(|f| f.wall.is_some())
        .map(|f| f.id.as_str())
        .collect();
    if forms.is_empty() {
        return Ok((vec![], None));
    }
    let mut items = Vec::new();
    let mut scanned = 0;
    loop {
        let batch: Vec<ListedRow> = state
            .store
            .record_page(&plan.id, unit.as_str(), &forms, before, SCAN_BATCH)
            .await?;
        let end = batch.len() < SCAN_BATCH as usize;
        scanned += batch.len() as u32;
        for row in batch {
            let item = plan
                .form(&row.current.form)
                .and_then(|f| wall::item(f, &row.current, &row.unit_name));
            if let Some(item) = item {
                if items.len() == limit as usize {
                    return Ok((items, Some(before)));
                }
                items.push(item);
            }
            before = row.seq;
        }
        if end {
            return Ok((items, None));
        }
        if scanned >= SCAN_PER_PAGE {
            return Ok((items, Some(before)));
        }
    }
}

async fn wall_html(
    State(state): State<AppState>,
    Path(code): Path<String>,
    q: Result<Query<WallQuery>, QueryRejection>,
) -> Response {
    let read = match q {
        Ok(Query(q)) => read(&state, &code, &q).await,
        Err(_) => Err(ApiError::Unprocessable("网址中的参数不对".into())),
    };
    match read {
        Ok(page) => {
            let plan = state.plans.plans.current();
            let submits: Vec<(&str, &str)> = plan
                .forms
                .iter()
                .filter(|f| f.wall.as_ref().is_some_and(|w| !w.submit.is_empty()))
                .map(|f| (f.id.as_str(), f.name.as_str()))
                .collect();
            page_response(StatusCode::OK, page_of(&code, &page, &submits), "no-cache")
        }
        Err(e) => refused(&e),
    }
}

/// A page of the wall's, under its own policy.
pub(super) fn page_response(status: StatusCode, body: Markup, cache: &'static str) -> Response {
    let mut res = (status, axum::response::Html(body.into_string())).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

/// A refusal as a page, with its status (and Retry-After when it has one).
pub(super) fn refused(e: &ApiError) -> Response {
    let message = match e {
        // As the JSON API answers them: logged here, never shown to a stranger.
        ApiError::Store(_) | ApiError::Internal(_) => {
            tracing::error!(error = %e, "wish wall failure");
            "服务器内部错误,请稍后重试".to_string()
        }
        e => e.to_string(),
    };
    let mut res = page_response(e.status_code(), refusal(&message), "no-store");
    if let ApiError::Throttled { retry_after, .. } | ApiError::Busy { retry_after, .. } = e {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
    }
    res
}

pub(super) fn frame(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/wall.css";
            }
            body { (body) }
        }
    }
}

/// The wall's page; `submits` are the forms a resident may send one in for (id, name).
fn page_of(code: &str, page: &WallPage, submits: &[(&str, &str)]) -> Markup {
    let title = format!("{}心愿墙", page.unit_name);
    frame(
        &title,
        html! {
            header {
                h1 { (title) }
                p { "居民的微心愿和志愿服务需求,欢迎社会组织、在职党员、爱心企业和爱心人士认领。" }
                @if !submits.is_empty() {
                    nav.send {
                        @for (id, name) in submits {
                            a href={ "/wall/" (code) "/submit?form=" (id) } { "我要提交" (name) }
                        }
                    }
                }
            }
            main {
                @if page.items.is_empty() {
                    p.empty { "现在没有发布的心愿或需求。" }
                }
                ul.items {
                    @for item in &page.items {
                        li.item data-state=(item.state) {
                            p.kind { span.form { (item.form) } " " span.state { (item.state) } }
                            h2 { (item.what) }
                            @if !item.details.is_empty() {
                                dl {
                                    @for d in &item.details {
                                        dt { (d.label) } dd { (d.value) }
                                    }
                                }
                            }
                            p.where {
                                (item.unit_name)
                                @if let Some(since) = &item.since { " · " (since) "发布" }
                            }
                            @if let Some(kinds) = &item.offers {
                                (offer_form(code, item.record, kinds))
                            }
                        }
                    }
                }
                @if let Some(next) = page.next {
                    a.next href={ "/wall/" (code) "?before=" (next) } { "下一页" }
                }
            }
        },
    )
}

fn refusal(message: &str) -> Markup {
    frame(
        "心愿墙",
        html! { main { p.empty role="alert" { (message) } } },
    )
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}

/// The form a helper offers with, folded under its card until opened.
fn offer_form(code: &str, record: Uuid, kinds: &[String]) -> Markup {
    html! {
        details.offer {
            summary { "我来认领" }
            form method="post" action={ "/wall/" (code) "/offer" } {
                input type="hidden" name="record" value=(record);
                label { "姓名或单位" input name="name" required maxlength="20" autocomplete="name"; }
                label { "联系电话" input name="phone" type="tel" required maxlength="20" inputmode="tel" autocomplete="tel"; }
                @if !kinds.is_empty() {
                    label { "认领方"
                        select name="kind" required {
                            option value="" { "请选择" }
                            @for k in kinds { option value=(k) { (k) } }
                        }
                    }
                }
                label { "留言(可不填)" textarea name="note" maxlength="200" rows="2" {} }
                p.hint { "电话只给这个村(社区)的工作人员,不会公开。" }
                button type="submit" { "提交认领申请" }
            }
        }
    }
}

/// A helper's offer from the wall's page: kept and answered with its receipt, or refused as a
/// page that names each field to put right.
async fn offer(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Path(code): Path<String>,
    form: Result<Form<OfferInput>, FormRejection>,
) -> Response {
    let input = match form {
        Ok(Form(input)) => input,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refused(&ApiError::TooLarge(
                "提交的内容太长,请删减留言后重试".into(),
            ))
        }
        Err(_) => {
            return refused(&ApiError::Unprocessable(
                "提交的内容不完整,请回到心愿墙重新填写".into(),
            ))
        }
    };
    let taken = match state.public.turn().await {
        Ok(_turn) => take_offer(&state, address, &code, input).await,
        Err(busy) => Err(busy),
    };
    match taken {
        Ok(id) => to_receipt(&format!("/wall/offer/{id}")),
        Err(e) => refused(&e),
    }
}

async fn take_offer(
    state: &AppState,
    address: std::net::IpAddr,
    code: &str,
    input: OfferInput,
) -> Result<Uuid, ApiError> {
    let plan = state.plans.plans.current();
    let gone = || ApiError::NotFound("这个心愿或需求已不在心愿墙上".into());
    let wall_unit = UnitCode::parse(code).map_err(|_| gone())?;
    let record = Uuid::parse_str(input.record.trim()).map_err(|_| gone())?;
    let history = state.store.record_history(&record.to_string(), 0).await?;
    let current = history.map(|h| h.current).ok_or_else(gone)?;
    let form = plan
        .form(&current.form)
        .filter(|_| current.plan.is_empty() || current.plan == plan.id)
        .filter(|_| wall_unit.contains(&current.unit))
        .ok_or_else(gone)?;
    if !wall::published(form, &current) {
        return Err(gone());
    }
    if !wall::open_to_offers(form, &current) {
        return Err(ApiError::Conflict(
            "这个心愿或需求已经有人认领了,感谢您的爱心".into(),
        ));
    }
    let problems = wall::check_offer(form, &input);
    if !problems.is_empty() {
        let labels = |f: &str| match f {
            "name" => "姓名或单位",
            "phone" => "联系电话",
            "kind" => "认领方",
            _ => "留言",
        };
        let listed: Vec<String> = problems
            .iter()
            .map(|e| format!("{}:{}", labels(&e.field), e.message))
            .collect();
        return Err(ApiError::Unprocessable(format!(
            "请修改后重新提交:{}",
            listed.join(";")
        )));
    }
    let phone: String = input.phone.chars().filter(char::is_ascii_digit).collect();
    crate::auth::attempt_offer(state.store.as_ref(), address, &phone).await?;
    let id = receipt_id();
    let row = OfferRow {
        id: id.to_string(),
        record: record.to_string(),
        unit: current.unit.to_string(),
        plan: plan.id.to_string(),
        form: form.id.clone(),
        what: shequ_model::listing::title(form, &current.content)
            .unwrap_or_default()
            .to_owned(),
        name: input.name.trim().to_owned(),
        phone,
        kind: input.kind,
        note: input.note.trim().replace("\r\n", "\n"),
        state: OfferState::Waiting.as_str().to_owned(),
        made_at: crate::auth::now_ms(),
        decided_at: None,
        decided_by: String::new(),
    };
    let kept = state
        .store
        .add_offer(
            &row,
            MOST_OFFERS_PER_RECORD,
            MOST_OFFERS_PER_UNIT,
            row.made_at - KEPT_AFTER_ANSWER_MS,
        )
        .await?;
    if !kept {
        return Err(ApiError::Conflict(
            "这里的认领申请已经很多,村(社区)处理后再来看看吧".into(),
        ));
    }
    Ok(id)
}

/// The helper's receipt: the record offered for and how the village answered; never the
/// helper's own contact, since anyone with the address may read it.
async fn receipt(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let missing = ApiError::NotFound("找不到这条认领申请".into());
    let Ok(id) = Uuid::parse_str(&id) else {
        return refused(&missing);
    };
    let _turn = match state.public.turn().await {
        Ok(turn) => turn,
        Err(busy) => return refused(&busy),
    };
    let row = match state.store.offer(&id.to_string()).await {
        Ok(Some(row)) => row,
        Ok(None) => return refused(&missing),
        Err(e) => return refused(&e.into()),
    };
    // What the wall shows of the record now: a record edited, unpublished or deleted since is
    // shown as the wall shows it, or not at all.
    let what = match state.store.record_history(&row.record, 0).await {
        Ok(h) => h.and_then(|h| {
            let form = state.plans.plans.current().form(&h.current.form)?;
            wall::item(form, &h.current, "").map(|i| i.what)
        }),
        Err(e) => return refused(&e.into()),
    };
    let told = OfferState::parse(&row.state)
        .unwrap_or(OfferState::Waiting)
        .told();
    let what = what.as_deref().unwrap_or("这个心愿或需求已不在心愿墙上");
    receipt_page("认领申请", "receipt", what, told, &row.unit)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OffersQuery {
    unit: String,
}

fn view(row: OfferRow) -> Result<OfferView, ApiError> {
    let bad = |what: &str| ApiError::Internal(format!("a stored offer has a bad {what}"));
    Ok(OfferView {
        id: Uuid::parse_str(&row.id).map_err(|_| bad("id"))?,
        record: Uuid::parse_str(&row.record).map_err(|_| bad("record"))?,
        form: row.form,
        what: row.what,
        name: row.name,
        phone: row.phone,
        kind: row.kind,
        note: row.note,
        made_at: row.made_at,
        state: OfferState::parse(&row.state).ok_or_else(|| bad("state"))?,
    })
}

/// The offers waiting in a unit the caller may read, oldest first.
async fn offers(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<OffersQuery>,
) -> Result<Json<Vec<OfferView>>, ApiError> {
    let unit = UnitCode::parse(&q.unit)
        .map_err(|_| ApiError::Unprocessable("unit 应为单位代码".into()))?;
    if !reads_contacts(&caller, &unit) {
        return Err(ApiError::Forbidden(
            "只有本村(社区)的工作人员可以查看认领申请".into(),
        ));
    }
    let rows = state
        .store
        .waiting_offers(unit.as_str(), OFFER_LIST)
        .await?;
    Ok(Json(rows.into_iter().map(view).collect::<Result<_, _>>()?))
}

/// The village's answer to an offer, by an account that records that village's records.
async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(input): AppJson<DecisionInput>,
) -> Result<Json<OfferView>, ApiError> {
    let missing = || ApiError::NotFound("找不到这条认领申请".into());
    let id = Uuid::parse_str(&id).map_err(|_| missing())?.to_string();
    let row = state.store.offer(&id).await?.ok_or_else(missing)?;
    if !answers_for(&state, &caller, &row.plan, &row.form, &row.unit) {
        return Err(ApiError::Forbidden(
            "只有这个村(社区)的工作人员可以处理认领申请".into(),
        ));
    }
    let decided = input.decision.state();
    let at = crate::auth::now_ms();
    let by = &caller.account.username;
    if decided == OfferState::Accepted {
        // As the server holds the record: one another phone took up already is not taken again.
        let history = state.store.record_history(&row.record, 0).await?;
        let open = history.is_some_and(|h| {
            state
                .plans
                .plans
                .current()
                .form(&h.current.form)
                .is_some_and(|f| wall::open_to_offers(f, &h.current))
        });
        if !open {
            return Err(ApiError::Conflict(
                "这条记录已不在“发布”状态,不能再接受认领".into(),
            ));
        }
    }
    if !state
        .store
        .decide_offer(&id, decided.as_str(), by, at)
        .await?
    {
        return Err(ApiError::Conflict("这条认领申请已经处理过了".into()));
    }
    if decided == OfferState::Accepted {
        // One helper takes a record up: the others waiting for it are told it was not theirs.
        let others = state.store.waiting_offers(&row.unit, OFFER_LIST).await?;
        for o in others.iter().filter(|o| o.record == row.record) {
            state
                .store
                .decide_offer(&o.id, OfferState::Declined.as_str(), by, at)
                .await?;
        }
    }
    let row = state.store.offer(&id).await?.ok_or_else(missing)?;
    Ok(Json(view(row)?))
}

/// Whether `caller` records `unit`'s records of `form` in the plan `plan`: the one who answers
/// what the public sent for them.
pub(super) fn answers_for(
    state: &AppState,
    caller: &Caller,
    plan: &str,
    form: &str,
    unit: &str,
) -> bool {
    let level = state
        .plans
        .plans
        .iter()
        .find(|p| p.id == plan)
        .and_then(|p| p.form(form))
        .map(|f| f.level);
    level.is_some_and(|l| caller.account.may_write(l, unit))
}

/// Whether `caller` may read what the public sent for `unit`, with their contacts: the public
/// was told these go to that village's own worker only, not to those above it.
pub(super) fn reads_contacts(caller: &Caller, unit: &UnitCode) -> bool {
    caller.account.role.records() && caller.account.unit == *unit
}

/// A receipt's id: its address is all one needs to read the answer, so it is random.
pub(super) fn receipt_id() -> Uuid {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The answer to a form the public sent: on to its receipt.
pub(super) fn to_receipt(path: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(path).expect("a receipt's path is a header value"),
    );
    res
}

/// A receipt's page: what was sent about, how it was answered, and the way back to the wall of
/// the town of `unit` (a village's code).
pub(super) fn receipt_page(
    heading: &str,
    testid: &str,
    what: &str,
    told: &str,
    unit: &str,
) -> Response {
    let town = UnitCode::parse(unit)
        .ok()
        .and_then(|u| u.parent())
        .map(|t| t.to_string())
        .unwrap_or_default();
    let body = frame(
        heading,
        html! {
            header { h1 { (heading) } }
            main {
                section.item data-testid=(testid) {
                    h2 { (what) }
                    p.told role="status" { (told) }
                    p.hint { "请收藏本页,随时回来查看结果。" }
                }
                a.next href={ "/wall/" (town) } { "回到心愿墙" }
            }
        },
    );
    page_response(StatusCode::OK, body, "no-store")
}
