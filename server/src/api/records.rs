//! Records a page at a time, newest first, for the accounts whose phone reads its scope from the
//! server instead of keeping it (see `shequ_model::listing`), and the records behind a figure; and
//! one record with its history (the newest revisions of it, see [`history::MAX_HISTORY`]).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::store::ListedRow;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use shequ_model::history::{self, RecordHistory};
use shequ_model::listing::{self, ListedRecord, RecordPage, RecordQuery};
use shequ_model::month::Month;
use shequ_model::plan::{Indicator, Plan};
use shequ_model::rollup::{counts_toward, forms_read};
use shequ_model::UnitCode;
use std::collections::BTreeSet;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/records", get(records))
        .route("/api/records/{id}/history", get(record_history))
}

/// How many records one page of an indicator's records reads at most: a figure whose records are
/// few among many of their forms answers a short page (with where it stopped) rather than
/// reading the whole list.
const SCAN_PER_PAGE: u32 = 1000;
/// How many records are read at once while looking for an indicator's.
const SCAN_BATCH: u32 = 200;

async fn records(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<RecordQuery>,
) -> Result<Json<RecordPage>, ApiError> {
    let unit = UnitCode::parse(&q.unit)
        .map_err(|_| ApiError::Unprocessable("unit 应为单位代码".into()))?;
    caller.require_read(&unit)?;
    let plan = match &q.plan {
        None => state.plans.plans.current(),
        Some(id) => super::kept_plan(&state, id)?,
    };
    if let Some(form) = &q.form {
        if plan.form(form).is_none() {
            return Err(ApiError::NotFound(format!(
                "计划 {} 中没有表单 {form}",
                plan.id
            )));
        }
    }
    let indicator =
        match &q.indicator {
            None => None,
            Some(id) => Some(plan.indicator(id).ok_or_else(|| {
                ApiError::NotFound(format!("计划“{}”中没有指标“{id}”", plan.title))
            })?),
        };
    let as_of = match (&q.as_of, indicator) {
        (None, _) => None,
        (Some(m), Some(_)) => Some(super::report::month_in(plan, m)?),
        (Some(_), None) => {
            return Err(ApiError::Unprocessable(
                "as_of 只用于某个指标的记录,请同时给出 indicator".into(),
            ))
        }
    };
    let len = q.page_len();
    let before = q.before.unwrap_or(i64::MAX);
    let (rows, next) = match indicator {
        None => {
            let forms: Vec<&str> = q.form.as_deref().into_iter().collect();
            // One more than the page, to know whether another follows.
            let mut rows = state
                .store
                .record_page(&plan.id, unit.as_str(), &forms, before, len + 1)
                .await?;
            let more = rows.len() > len as usize;
            rows.truncate(len as usize);
            let next = more.then(|| rows.last().map(|r| r.seq)).flatten();
            (rows, next)
        }
        Some(ind) => {
            let page = Page {
                unit: &unit,
                form: q.form.as_deref(),
                before,
                len,
            };
            indicator_page(&state, plan, ind, as_of, page).await?
        }
    };
    let records = rows.into_iter().map(|r| listed(plan, r)).collect();
    Ok(Json(RecordPage { records, next }))
}

/// Which page of a unit's records is asked for.
struct Page<'a> {
    unit: &'a UnitCode,
    form: Option<&'a str>,
    before: i64,
    len: u32,
}

/// A page of the records that count toward `ind`'s figure for a unit: the records of the forms
/// the figure reads, newest first, kept when the rollups' own rule counts them.
async fn indicator_page(
    state: &AppState,
    plan: &Plan,
    ind: &Indicator,
    as_of: Option<Month>,
    page: Page<'_>,
) -> Result<(Vec<ListedRow>, Option<i64>), ApiError> {
    let read: BTreeSet<&str> = forms_read(ind).into_iter().collect();
    let forms: Vec<&str> = match page.form {
        Some(f) => read.into_iter().filter(|r| *r == f).collect(),
        None => read.into_iter().collect(),
    };
    if forms.is_empty() {
        return Ok((vec![], None));
    }
    let (len, mut before) = (page.len as usize, page.before);
    let mut found = Vec::new();
    let mut scanned = 0;
    loop {
        let batch = state
            .store
            .record_page(&plan.id, page.unit.as_str(), &forms, before, SCAN_BATCH)
            .await?;
        let end = batch.len() < SCAN_BATCH as usize;
        scanned += batch.len() as u32;
        for row in batch {
            before = row.seq;
            if counts_toward(plan, ind, &row.current, as_of) {
                found.push(row);
                if found.len() > len {
                    found.truncate(len);
                    let next = found.last().map(|r| r.seq);
                    return Ok((found, next));
                }
            }
        }
        if end {
            return Ok((found, None));
        }
        if scanned >= SCAN_PER_PAGE {
            return Ok((found, Some(before)));
        }
    }
}

fn listed(plan: &Plan, r: ListedRow) -> ListedRecord {
    let form = plan.form(&r.current.form);
    ListedRecord {
        record: r.current.record,
        plan: r.current.plan.clone(),
        title: form
            .and_then(|f| listing::title(f, &r.current.content))
            .map(str::to_owned),
        step: form.and_then(|f| listing::step(f, &r.current.content)),
        photo: form.and_then(|f| {
            shequ_model::photo::refs(f, &r.current.content)
                .into_iter()
                .next()
        }),
        form: r.current.form,
        unit: r.current.unit,
        unit_name: r.unit_name,
        author: r.author,
        created_at: r.created_at,
        updated_at: r.updated_at,
        conflict: r.conflict,
    }
}

async fn record_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RecordHistory>, ApiError> {
    let missing = || ApiError::NotFound("服务器上没有这条记录".into());
    let record = Uuid::parse_str(&id).map_err(|_| missing())?;
    let kept = state
        .store
        .record_history(&record.to_string(), history::MAX_HISTORY)
        .await?
        .ok_or_else(missing)?;
    // Every revision of a record is of its unit; each is checked all the same.
    for unit in kept
        .shown
        .iter()
        .map(|s| &s.revision.unit)
        .chain([&kept.current.unit])
        .collect::<BTreeSet<_>>()
    {
        caller.require_read(unit)?;
    }
    let current = kept.current;
    let plan = super::kept_plan(&state, current.plan.as_str())?;
    let form = plan.form(&current.form).ok_or_else(|| {
        ApiError::NotFound(format!("计划 {} 中没有表单 {}", plan.id, current.form))
    })?;
    let revisions = history::entries(form, &kept.shown, &kept.earlier, &current);
    let unit_name = state
        .store
        .area(current.unit.as_str())
        .await?
        .map_or_else(|| current.unit.to_string(), |a| a.name);
    Ok(Json(RecordHistory {
        record,
        plan: plan.id.clone(),
        form: form.id.clone(),
        unit: current.unit.clone(),
        unit_name,
        current,
        conflict: kept.conflict,
        revisions,
        omitted: kept.omitted,
    }))
}
