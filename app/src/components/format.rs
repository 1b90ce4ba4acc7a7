//! How figures and times are written on screen.

use shequ_model::device::LocalRecord;
use shequ_model::plan::{Plan, PlanId};
use shequ_model::rollup::Cell;
pub use shequ_model::shown::{number, target, value};

/// A CSS class by how far along a figure is.
pub fn tone(cell: &Cell) -> &'static str {
    match (cell.met, cell.progress) {
        (Some(true), _) => "tone-met",
        (_, Some(p)) if p >= 0.5 => "tone-half",
        (Some(false), _) => "tone-low",
        _ => "tone-none",
    }
}

/// A time of day from epoch milliseconds, in local time.
pub fn time(ms: u64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// Which plan a record belongs to, said only when it is not the current one (`2018年计划`).
pub fn other_plan(plan: Option<&Plan>, current: Option<&Plan>) -> Option<String> {
    let plan = plan?;
    (Some(&plan.id) != current.map(|c| &c.id)).then(|| format!("{}年计划", plan.year))
}

/// Where a record the phone holds stands with the server: the words and the badge's class.
pub fn sync_mark(r: &LocalRecord) -> (&'static str, &'static str) {
    match (&r.error, r.synced) {
        (Some(_), _) => ("被拒收", "badge bad"),
        (None, _) if r.conflict => ("有冲突", "badge bad"),
        (None, true) => ("已同步", "badge ok"),
        (None, false) => ("未同步", "badge wait"),
    }
}

/// The page of the records behind a figure: linkable, with the indicator, the unit, the plan and
/// the month (none: now) in its address.
pub fn figure_records_href(
    unit: &str,
    indicator: &str,
    plan: &PlanId,
    as_of: Option<&str>,
) -> String {
    let mut href = format!("/records?unit={unit}&indicator={indicator}&plan={plan}");
    if let Some(m) = as_of {
        href.push_str(&format!("&as_of={m}"));
    }
    href
}
