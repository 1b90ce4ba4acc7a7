//! Records a page at a time, newest first, for the accounts whose phone reads its scope from the
//! server instead of keeping it (see `shequ_model::listing`).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use shequ_model::listing::{self, ListedRecord, RecordPage, RecordQuery};
use shequ_model::UnitCode;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/records", get(records))
}

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
    let len = q.page_len();
    // One more than the page, to know whether another follows.
    let mut rows = state
        .store
        .record_page(
            &plan.id,
            unit.as_str(),
            q.form.as_deref(),
            q.before.unwrap_or(i64::MAX),
            len + 1,
        )
        .await?;
    let more = rows.len() > len as usize;
    rows.truncate(len as usize);
    let next = more.then(|| rows.last().map(|r| r.seq)).flatten();
    let records = rows
        .into_iter()
        .map(|r| {
            let form = plan.form(&r.current.form);
            ListedRecord {
                record: r.current.record,
                plan: r.current.plan.clone(),
                title: form
                    .and_then(|f| listing::title(f, &r.current.content))
                    .map(str::to_owned),
                step: form.and_then(|f| listing::step(f, &r.current.content)),
                form: r.current.form,
                unit: r.current.unit,
                unit_name: r.unit_name,
                author: r.author,
                created_at: r.created_at,
                updated_at: r.updated_at,
                conflict: r.conflict,
            }
        })
        .collect();
    Ok(Json(RecordPage { records, next }))
}
