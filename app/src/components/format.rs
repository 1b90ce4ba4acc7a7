//! How figures and times are written on screen.

use shequ_model::device::LocalRecord;
use shequ_model::plan::{Plan, PlanId, Target};
use shequ_model::rollup::{Cell, CellKind};

pub fn number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// A yes/no rolled up to a town or the county is the share of units with yes: a percentage.
fn unit_of(kind: CellKind, unit: &str) -> &str {
    if kind == CellKind::Ratio && unit.is_empty() {
        "%"
    } else {
        unit
    }
}

pub fn value(cell: &Cell, unit: &str) -> String {
    match (cell.kind, cell.value) {
        (_, None) => "—".into(),
        (CellKind::Flag, Some(v)) => if v >= 1.0 { "是" } else { "否" }.into(),
        (kind, Some(v)) => format!("{}{}", number(v), unit_of(kind, unit)),
    }
}

pub fn target(t: Option<&Target>, kind: CellKind, unit: &str) -> String {
    let Some(t) = t else { return "未定".into() };
    if kind == CellKind::Flag {
        return "是".into();
    }
    let unit = unit_of(kind, unit);
    match (t.min, t.goal, t.max) {
        (Some(lo), Some(g), _) => format!("{}–{}{unit}", number(lo), number(g)),
        (Some(lo), None, Some(hi)) => format!("{}–{}{unit}", number(lo), number(hi)),
        (Some(lo), None, None) => format!("≥{}{unit}", number(lo)),
        (None, _, Some(hi)) => format!("≤{}{unit}", number(hi)),
        _ => "未定".into(),
    }
}

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
