//! Figures against targets for a unit and its children (county → towns, town → villages): now or
//! as of the end of a month, and one indicator month by month.

use crate::auth::Caller;
use crate::error::{ApiError, AppJson};
use crate::pool::{blocking, Turn};
use crate::AppState;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use shequ_model::area::{AreaTree, Level};
use shequ_model::month::Month;
use shequ_model::plan::Plan;
use shequ_model::rollup::{MonthSeries, Report, Rollups, UnitFigures, UnitMonths};
use shequ_model::table::{TargetEdits, TargetsImported, MAX_TARGET_EDITS};
use shequ_model::UnitCode;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        // `{code}` is a unit's code, or `nation` for the whole country (UnitCode::in_path).
        .route("/api/report/{code}", get(report))
        .route("/api/report/{code}/months", get(months))
        .route("/api/report/{code}/table.xlsx", get(table))
        .route(
            "/api/report/{code}/targets.xlsx",
            post(import_targets).layer(DefaultBodyLimit::max(crate::table::MAX_IMPORT_BYTES)),
        )
        .route("/api/report/{code}/targets", post(edit_targets))
}

#[derive(Deserialize)]
struct ReportQuery {
    /// The plan whose records and targets are counted; the current plan when not given.
    plan: Option<String>,
    /// `YYYY-MM`: the figures as of the end of that month; now when not given.
    as_of: Option<String>,
}

#[derive(Deserialize)]
struct MonthsQuery {
    plan: Option<String>,
    indicator: String,
}

fn plan_of<'a>(state: &'a AppState, plan: &Option<String>) -> Result<&'a Arc<Plan>, ApiError> {
    match plan {
        None => Ok(state.plans.plans.current()),
        Some(id) => super::kept_plan(state, id),
    }
}

/// A month of the plan's period: figures are kept for those.
pub(super) fn month_in(plan: &Plan, text: &str) -> Result<Month, ApiError> {
    plan.month(text).map_err(ApiError::Unprocessable)
}

/// The areas of a unit's scope, once the caller may read it and it exists.
async fn scope(state: &AppState, caller: &Caller, code: &str) -> Result<Arc<AreaTree>, ApiError> {
    caller.require_read(code)?;
    let tree = state.store.area_tree(code).await?;
    if tree.get(code).is_none() {
        return Err(ApiError::NotFound(format!("没有代码为 {code} 的单位")));
    }
    Ok(tree)
}

async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Json<Report>, ApiError> {
    let code = UnitCode::from_path(&code).to_owned();
    let (plan, as_of) = readable(&state, &caller, &code, &q)?;
    let _turn = wide_turn(&state, &code).await?;
    let report = crate::store::report(state.store.as_ref(), plan, &code, as_of).await?;
    report
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("没有代码为 {code} 的单位")))
}

/// A turn among the heavy requests for a report of `code` when its scope is wider than a county:
/// such a report reads every village's figures of a city or a province. A county's report and
/// those below it read a few hundred units' and are served at once.
async fn wide_turn(state: &AppState, code: &str) -> Result<Option<Turn>, ApiError> {
    let wide = UnitCode::parse_scope(code).is_ok_and(|c| c.level() < Level::County);
    if !wide {
        return Ok(None);
    }
    state.heavy.turn().await.map(Some)
}

/// The plan and month a report is asked for, once the caller may read the unit.
fn readable<'a>(
    state: &'a AppState,
    caller: &Caller,
    code: &str,
    q: &ReportQuery,
) -> Result<(&'a Arc<Plan>, Option<Month>), ApiError> {
    caller.require_read(code)?;
    let plan = plan_of(state, &q.plan)?;
    let as_of = q.as_of.as_deref().map(|m| month_in(plan, m)).transpose()?;
    Ok((plan, as_of))
}

/// The decomposition table of a unit and its children, as the .xlsx a county office prints.
async fn table(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let code = UnitCode::from_path(&code).to_owned();
    let (plan, as_of) = readable(&state, &caller, &code, &q)?;
    let _turn = state.heavy.turn().await?;
    let Some(report) = crate::store::report(state.store.as_ref(), plan, &code, as_of).await? else {
        return Err(ApiError::NotFound(format!("没有代码为 {code} 的单位")));
    };
    let name = crate::table::file_name(plan, &report);
    let now = crate::auth::now_ms();
    let plan = Arc::clone(plan);
    let bytes = blocking(move || crate::table::workbook(&plan, &report, as_of, now))
        .await?
        .map_err(|e| ApiError::Internal(format!("decomposition table: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, crate::table::CONTENT_TYPE.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"table.xlsx\"; filename*=UTF-8''{}",
                    url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
                ),
            ),
        ],
        bytes,
    ))
}

#[derive(Deserialize)]
struct PlanQuery {
    plan: Option<String>,
}

/// The county's decomposition table with its towns' targets filled in (the .xlsx as the body):
/// every target it changes, or every wrong cell and nothing changed.
async fn import_targets(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<PlanQuery>,
    body: axum::body::Bytes,
) -> Result<Json<TargetsImported>, ApiError> {
    let plan = plan_of(&state, &q.plan)?;
    let by = county_admin(&caller, &code, plan)?;
    let _turn = state.heavy.turn().await?;
    let done = crate::import_targets(state.store.as_ref(), plan, &body, &by).await;
    targets_set(plan, &by, done)
}

/// Towns' targets typed on the target page: every target that changes, or every wrong one and
/// nothing changed.
async fn edit_targets(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    AppJson(edits): AppJson<TargetEdits>,
) -> Result<Json<TargetsImported>, ApiError> {
    if edits.targets.len() > MAX_TARGET_EDITS {
        return Err(ApiError::Unprocessable(format!(
            "一次最多保存 {MAX_TARGET_EDITS} 个目标"
        )));
    }
    let plan = super::kept_plan(&state, edits.plan.as_str())?;
    let by = county_admin(&caller, &code, plan)?;
    let _turn = state.heavy.turn().await?;
    let done = crate::edit_targets(state.store.as_ref(), plan, &edits.targets, &by).await;
    targets_set(plan, &by, done)
}

/// The county administrator setting the towns' targets of `plan` for county `code`: who, or why not.
fn county_admin(
    caller: &Caller,
    code: &str,
    plan: &Plan,
) -> Result<crate::store::Author, ApiError> {
    caller.require_admin()?;
    caller.require_read(code)?;
    if code != plan.county {
        return Err(ApiError::Unprocessable(format!(
            "计划“{}”由县 {} 下达,只有该县可以设定目标",
            plan.title, plan.county
        )));
    }
    Ok(crate::store::Author {
        account: caller.account.username.clone(),
        device: caller.device.clone(),
    })
}

fn targets_set(
    plan: &Plan,
    by: &crate::store::Author,
    done: Result<Vec<shequ_model::table::TargetChange>, crate::TargetImportError>,
) -> Result<Json<TargetsImported>, ApiError> {
    match done {
        Ok(changes) => {
            tracing::info!(by = ?by.account, plan = %plan.id, changed = changes.len(), "targets set");
            Ok(Json(TargetsImported {
                plan: plan.id.clone(),
                changes,
            }))
        }
        Err(crate::TargetImportError::Cells(cells)) => Err(ApiError::Cells(cells)),
        Err(crate::TargetImportError::Store(e)) => Err(e.into()),
        Err(e @ crate::TargetImportError::NoCounty(..)) => Err(ApiError::NotFound(e.to_string())),
    }
}

async fn months(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<MonthsQuery>,
) -> Result<Json<MonthSeries>, ApiError> {
    let code = UnitCode::from_path(&code).to_owned();
    caller.require_read(&code)?;
    let _turn = wide_turn(&state, &code).await?;
    let tree = scope(&state, &caller, &code).await?;
    let plan = plan_of(&state, &q.plan)?;
    let Some(ind) = plan.indicator(&q.indicator) else {
        return Err(ApiError::NotFound(format!(
            "计划“{}”中没有指标“{}”",
            plan.title, q.indicator
        )));
    };
    let mut kept = state
        .store
        .indicator_months(&plan.id, &code, &ind.id)
        .await?;
    let months = plan.period().months();
    let area = tree.get(&code).expect("the scope holds its unit");
    let mut unit = UnitMonths {
        area: area.clone(),
        cells: vec![],
    };
    let mut children: Vec<UnitMonths> = tree
        .children_of(&code)
        .map(|c| UnitMonths {
            area: c.clone(),
            cells: vec![],
        })
        .collect();
    let targets = state.store.town_targets(&plan.id).await?;
    for month in &months {
        // A month no unit has rows for is every unit without records.
        let figures = kept.remove(month).unwrap_or_else(UnitFigures::new);
        let rollups = Rollups::from_figures(plan, &tree, &figures)
            .with_town_targets(&targets)
            .as_of(Some(*month));
        for row in std::iter::once(&mut unit).chain(children.iter_mut()) {
            if let Some(c) = rollups.cell(ind, &row.area) {
                row.cells.push(c);
            }
        }
    }
    // Units below the indicator's level have no figure of it.
    children.retain(|c| !c.cells.is_empty());
    Ok(Json(MonthSeries {
        plan: plan.id.clone(),
        indicator: ind.id.clone(),
        months,
        unit,
        children,
    }))
}
