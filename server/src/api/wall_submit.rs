//! Residents' own wishes and needs, sent in from the public wish wall (point 14: gathered "through
//! many channels"). The form (`GET /wall/{code}/submit?form=`) asks for the fields the plan's
//! `[forms.wall] submit` lists, the village and a phone number; what is sent
//! (`POST /wall/{code}/submit`) is checked by the form's own field rules
//! ([`shequ_model::wall::check_submission`]), limited per address and phone as offers are, and
//! bounded per village. It never reaches the wall: the village's worker reads it
//! (`GET /api/submissions?unit=`), checks it with the resident, and makes it a record on the phone
//! or hides it (`POST /api/submissions/{id}`). The resident keeps a receipt page
//! (`/wall/submission/{id}`) that says only how it was answered.

use super::wall::{
    answers_for, frame, page_response, reads_contacts, receipt_id, receipt_page, refused,
    to_receipt, wall_area,
};
use crate::auth::{Caller, ClientAddress};
use crate::error::{ApiError, AppJson};
use crate::store::SubmissionRow;
use crate::AppState;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use maud::{html, Markup};
use serde::Deserialize;
use shequ_model::area::Level;
use shequ_model::plan::{FieldKind, Form as PlanForm, Plan};
use shequ_model::wall::{self, DecisionInput, OfferState, SubmissionView};
use shequ_model::UnitCode;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A submission is a few short fields.
const MAX_SUBMIT_BODY: usize = 16 * 1024;
/// Submissions waiting at once for one village: past this, a new one is refused until the
/// village's worker answers some.
const MOST_PER_UNIT: u32 = 100;
/// Submissions a worker's list shows at once.
const LIST: u32 = 100;
/// The form's own inputs, beside the fields of the plan (sent as `field-ID`).
const FIELD: &str = "field-";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/submissions", get(list))
        .route("/api/submissions/{id}", post(decide))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/wall/{code}/submit",
            get(form_page)
                .post(submit)
                .layer(DefaultBodyLimit::max(MAX_SUBMIT_BODY)),
        )
        .route("/wall/submission/{id}", get(receipt))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormQuery {
    form: String,
}

/// The plan's form residents may send in, by id.
fn submittable<'p>(plan: &'p Plan, id: &str) -> Result<&'p PlanForm, ApiError> {
    plan.form(id)
        .filter(|f| f.wall.as_ref().is_some_and(|w| !w.submit.is_empty()))
        .ok_or_else(|| ApiError::NotFound("这一项不能在心愿墙上提交".into()))
}

async fn form_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    q: Result<Query<FormQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return refused(&ApiError::Unprocessable("网址中的参数不对".into()));
    };
    let _turn = match state.public.turn().await {
        Ok(turn) => turn,
        Err(busy) => return refused(&busy),
    };
    let plan = state.plans.plans.current();
    let shown = async {
        let form = submittable(plan, &q.form)?;
        let (unit, area) = wall_area(&state, &code).await?;
        let areas = state.store.areas(unit.as_str()).await?;
        Ok::<_, ApiError>(submit_form(&code, &area.name, form, &areas))
    };
    match shown.await {
        Ok(page) => page_response(StatusCode::OK, page, "no-cache"),
        Err(e) => refused(&e),
    }
}

/// The form a resident fills: the village (grouped by town on a county's wall), the plan's
/// fields for residents, and a phone number.
fn submit_form(
    code: &str,
    unit_name: &str,
    form: &PlanForm,
    areas: &[shequ_model::area::Area],
) -> Markup {
    let submit = form
        .wall
        .as_ref()
        .map(|w| w.submit.as_slice())
        .unwrap_or_default();
    let towns: Vec<&shequ_model::area::Area> =
        areas.iter().filter(|a| a.level == Level::Town).collect();
    let villages_of = |town: &str| -> Vec<&shequ_model::area::Area> {
        areas
            .iter()
            .filter(|a| a.level == Level::Village && a.parent == town)
            .collect()
    };
    let title = format!("提交{}", form.name);
    frame(
        &title,
        html! {
            header { h1 { (title) } p { (unit_name) "心愿墙 · 村(社区)工作人员核实后发布" } }
            main {
                form.submit method="post" action={ "/wall/" (code) "/submit" } {
                    input type="hidden" name="form" value=(form.id);
                    label { "所在村(社区)"
                        select name="unit" required {
                            option value="" { "请选择" }
                            @if towns.is_empty() {
                                @for v in villages_of(code) { option value=(v.code) { (v.name) } }
                            }
                            @for t in &towns {
                                optgroup label=(t.name) {
                                    @for v in villages_of(&t.code) { option value=(v.code) { (v.name) } }
                                }
                            }
                        }
                    }
                    @for f in submit.iter().filter_map(|id| form.field(id)) {
                        label {
                            (f.label) @if f.required { " *" }
                            @match f.kind {
                                FieldKind::Choice => {
                                    select name={ (FIELD) (f.id) } required[f.required] {
                                        option value="" { "请选择" }
                                        @for o in &f.options { option value=(o) { (o) } }
                                    }
                                }
                                FieldKind::LongText => {
                                    textarea name={ (FIELD) (f.id) } rows="3" required[f.required]
                                        maxlength=[f.max_len] {}
                                }
                                FieldKind::Number => {
                                    input name={ (FIELD) (f.id) } inputmode="decimal" required[f.required];
                                }
                                _ => {
                                    input name={ (FIELD) (f.id) } required[f.required] maxlength=[f.max_len];
                                }
                            }
                        }
                        @if !f.help.is_empty() { p.hint { (f.help) } }
                    }
                    label { "联系电话 *" input name="phone" type="tel" required maxlength="20" inputmode="tel" autocomplete="tel"; }
                    p.hint { "姓名和电话只给村(社区)的工作人员,用于核实,不会公开;核实后,心愿墙只公开内容和类别。" }
                    button type="submit" { "提交" }
                }
            }
        },
    )
}

async fn submit(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Path(code): Path<String>,
    sent: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let pairs = match sent {
        Ok(Form(pairs)) => pairs,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refused(&ApiError::TooLarge("提交的内容太长,请删减后重试".into()))
        }
        Err(_) => return refused(&ApiError::Unprocessable("提交的内容格式不对".into())),
    };
    let taken = match state.public.turn().await {
        Ok(_turn) => take(&state, address, &code, pairs).await,
        Err(busy) => Err(busy),
    };
    match taken {
        Ok(id) => to_receipt(&format!("/wall/submission/{id}")),
        Err(e) => refused(&e),
    }
}

async fn take(
    state: &AppState,
    address: std::net::IpAddr,
    code: &str,
    pairs: Vec<(String, String)>,
) -> Result<Uuid, ApiError> {
    let plan = state.plans.plans.current();
    let (wall_unit, _) = wall_area(state, code).await?;
    let mut typed = BTreeMap::new();
    let (mut form, mut unit, mut phone) = (None, None, None);
    for (k, v) in pairs {
        match (k.as_str(), k.strip_prefix(FIELD)) {
            ("form", _) => form = Some(v),
            ("unit", _) => unit = Some(v),
            ("phone", _) => phone = Some(v),
            (_, Some(id)) => {
                typed.insert(id.to_owned(), v);
            }
            _ => return Err(ApiError::Unprocessable("提交的内容格式不对".into())),
        }
    }
    let form = submittable(plan, form.as_deref().unwrap_or_default())?;
    let village = unit
        .as_deref()
        .and_then(|u| UnitCode::parse(u.trim()).ok())
        .filter(|u| u.level() == Level::Village && wall_unit.contains(u));
    let Some(village) = village else {
        return Err(ApiError::Unprocessable("请选择所在村(社区)".into()));
    };
    if state.store.area(village.as_str()).await?.is_none() {
        return Err(ApiError::Unprocessable("请选择所在村(社区)".into()));
    }
    let mut problems: Vec<String> = Vec::new();
    let content = match wall::check_submission(plan, form, &typed) {
        Ok(c) => Some(c),
        Err(found) => {
            problems.extend(found.iter().map(|e| {
                let label = form
                    .field(&e.field)
                    .map_or(e.field.as_str(), |f| f.label.as_str());
                format!("{label}:{}", e.message)
            }));
            None
        }
    };
    let phone = phone.unwrap_or_default();
    if !wall::phone_ok(phone.trim()) {
        problems.push("联系电话:请填写 11 位手机号码,或带区号的固定电话".into());
    }
    let Some(content) = content.filter(|_| problems.is_empty()) else {
        return Err(ApiError::Unprocessable(format!(
            "请修改后重新提交:{}",
            problems.join(";")
        )));
    };
    let phone: String = phone.chars().filter(char::is_ascii_digit).collect();
    crate::auth::attempt_submission(state.store.as_ref(), address, &phone).await?;
    let id = receipt_id();
    let row = SubmissionRow {
        id: id.to_string(),
        unit: village.to_string(),
        plan: plan.id.to_string(),
        form: form.id.clone(),
        content: serde_json::to_string(&content).map_err(|e| ApiError::Internal(e.to_string()))?,
        phone,
        state: OfferState::Waiting.as_str().to_owned(),
        made_at: crate::auth::now_ms(),
        decided_at: None,
        decided_by: String::new(),
    };
    let forget_before = row.made_at - super::wall::KEPT_AFTER_ANSWER_MS;
    if !state
        .store
        .add_submission(&row, MOST_PER_UNIT, forget_before)
        .await?
    {
        return Err(ApiError::Conflict(
            "这个村(社区)待核实的提交已经很多,请过几天再试,或直接联系村(社区)".into(),
        ));
    }
    Ok(id)
}

/// The resident's receipt: what they sent the title of, and how it was answered.
async fn receipt(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let missing = ApiError::NotFound("找不到这条提交".into());
    let Ok(id) = Uuid::parse_str(&id) else {
        return refused(&missing);
    };
    let _turn = match state.public.turn().await {
        Ok(turn) => turn,
        Err(busy) => return refused(&busy),
    };
    let row = match state.store.submission(&id.to_string()).await {
        Ok(Some(row)) => row,
        Ok(None) => return refused(&missing),
        Err(e) => return refused(&e.into()),
    };
    let plan = state.plans.plans.current();
    let what = plan.form(&row.form).and_then(|f| {
        let content: shequ_model::record::Content = serde_json::from_str(&row.content).ok()?;
        content.get(&f.title_field)?.as_str().map(str::to_owned)
    });
    let told = OfferState::parse(&row.state)
        .unwrap_or(OfferState::Waiting)
        .told_resident();
    let what = what.unwrap_or_default();
    receipt_page("提交结果", "submission-receipt", &what, told, &row.unit)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    unit: String,
}

fn view(row: SubmissionRow) -> Result<SubmissionView, ApiError> {
    let bad = |what: &str| ApiError::Internal(format!("a stored submission has a bad {what}"));
    Ok(SubmissionView {
        id: Uuid::parse_str(&row.id).map_err(|_| bad("id"))?,
        form: row.form,
        unit: UnitCode::parse(&row.unit).map_err(|_| bad("unit"))?,
        content: serde_json::from_str(&row.content).map_err(|_| bad("content"))?,
        phone: row.phone,
        made_at: row.made_at,
        state: OfferState::parse(&row.state).ok_or_else(|| bad("state"))?,
    })
}

/// The submissions waiting for the caller's own village, oldest first.
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<SubmissionView>>, ApiError> {
    let unit = UnitCode::parse(&q.unit)
        .map_err(|_| ApiError::Unprocessable("unit 应为单位代码".into()))?;
    if !reads_contacts(&caller, &unit) {
        return Err(ApiError::Forbidden(
            "只有本村(社区)的工作人员可以查看居民的提交".into(),
        ));
    }
    let rows = state.store.waiting_submissions(unit.as_str(), LIST).await?;
    Ok(Json(rows.into_iter().map(view).collect::<Result<_, _>>()?))
}

/// The village's answer: accepted once the worker made it a record, declined, or hidden.
async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(input): AppJson<DecisionInput>,
) -> Result<Json<SubmissionView>, ApiError> {
    let missing = || ApiError::NotFound("找不到这条提交".into());
    let id = Uuid::parse_str(&id).map_err(|_| missing())?.to_string();
    let row = state.store.submission(&id).await?.ok_or_else(missing)?;
    if !answers_for(&state, &caller, &row.plan, &row.form, &row.unit) {
        return Err(ApiError::Forbidden(
            "只有这个村(社区)的工作人员可以处理居民的提交".into(),
        ));
    }
    let at = crate::auth::now_ms();
    let decided = input.decision.state();
    if !state
        .store
        .decide_submission(&id, decided.as_str(), &caller.account.username, at)
        .await?
    {
        return Err(ApiError::Conflict("这条提交已经处理过了".into()));
    }
    let row = state.store.submission(&id).await?.ok_or_else(missing)?;
    Ok(Json(view(row)?))
}
