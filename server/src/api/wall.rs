//! The public wish wall (心愿墙) of a town or the county, with no login: its JSON
//! (`GET /api/wall/{code}`) and its page (`GET /wall/{code}`), plain HTML that runs no script, so
//! a stranger's phone reads it at once and nothing typed into a record can run on it. Every item
//! is made by [`shequ_model::wall::item`], which takes only the fields the plan shows. Reads run
//! in the bounded public pool, and a page scans a bounded number of records.

use crate::error::ApiError;
use crate::store::ListedRow;
use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use shequ_model::area::Level;
use shequ_model::plan::Plan;
use shequ_model::wall::{self, WallPage, MAX_WALL_PAGE};
use shequ_model::UnitCode;

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

pub fn router() -> Router<AppState> {
    Router::new().route("/api/wall/{code}", get(wall_json))
}

/// The pages, outside the JSON API.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/wall/{code}", get(wall_html))
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
    let missing = || ApiError::NotFound("没有这个镇(街)或县的心愿墙".into());
    let unit = UnitCode::parse(code).map_err(|_| missing())?;
    if !UnitCode::parse(&plan.county).is_ok_and(|c| c.contains(&unit)) {
        return Err(missing());
    }
    let _turn = state.public.turn().await?;
    let area = state.store.area(unit.as_str()).await?.ok_or_else(missing)?;
    if !matches!(area.level, Level::Town | Level::County) {
        return Err(missing());
    }
    let (items, next) = published(state, plan, &unit, q.before.unwrap_or(i64::MAX), limit).await?;
    Ok(WallPage {
        unit_name: area.name,
        items,
        next,
    })
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
    let (status, body) = match read {
        Ok(page) => (StatusCode::OK, page_of(&code, &page)),
        Err(e) => (e.status_code(), refusal(&e.to_string())),
    };
    let mut res = (status, axum::response::Html(body.into_string())).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    res
}

fn frame(title: &str, body: Markup) -> Markup {
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

fn page_of(code: &str, page: &WallPage) -> Markup {
    let title = format!("{}心愿墙", page.unit_name);
    frame(
        &title,
        html! {
            header { h1 { (title) } p { "居民的微心愿和志愿服务需求,欢迎社会组织、在职党员、爱心企业和爱心人士认领。" } }
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
