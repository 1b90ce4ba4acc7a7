//! How figures and times are written on screen.

use crate::i18n::{td_string, Locale};
use crate::language::fill;
use shequ_model::assessment::Rule;
use shequ_model::auth::Role;
use shequ_model::device::LocalRecord;
use shequ_model::month::Month;
use shequ_model::plan::{Plan, PlanId, Target};
use shequ_model::rollup::{Cell, CellKind};
pub use shequ_model::shown::number;
use shequ_model::shown::{self, Words};
use shequ_model::Level;

fn words(locale: Locale) -> Words {
    Words {
        yes: td_string!(locale, shown.yes),
        no: td_string!(locale, shown.no),
        not_set: td_string!(locale, shown.not_set),
    }
}

/// A figure as shown (`12个`, `37.5%`, `是`), its yes or no in `locale`; the unit is the plan's.
pub fn value(cell: &Cell, unit: &str, locale: Locale) -> String {
    shown::value_in(cell, unit, &words(locale))
}

/// A target as shown (`≥3个`, `未定`), its words in `locale`.
pub fn target(t: Option<&Target>, kind: CellKind, unit: &str, locale: Locale) -> String {
    shown::target_in(t, kind, unit, &words(locale))
}

/// A month's short name: `3月`, `Mar`.
pub fn month(m: Month, locale: Locale) -> &'static str {
    match m.number() {
        1 => td_string!(locale, month.m1),
        2 => td_string!(locale, month.m2),
        3 => td_string!(locale, month.m3),
        4 => td_string!(locale, month.m4),
        5 => td_string!(locale, month.m5),
        6 => td_string!(locale, month.m6),
        7 => td_string!(locale, month.m7),
        8 => td_string!(locale, month.m8),
        9 => td_string!(locale, month.m9),
        10 => td_string!(locale, month.m10),
        11 => td_string!(locale, month.m11),
        _ => td_string!(locale, month.m12),
    }
}

/// The end of a month with its year: `2018年3月底`, `end of Mar 2018`.
pub fn month_end(m: Month, locale: Locale) -> String {
    fill(
        td_string!(locale, month.end),
        &[("year", &m.year()), ("month", &month(m, locale))],
    )
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
pub fn other_plan(plan: Option<&Plan>, current: Option<&Plan>, locale: Locale) -> Option<String> {
    let plan = plan?;
    (Some(&plan.id) != current.map(|c| &c.id)).then(|| {
        fill(
            td_string!(locale, format.plan_of_year),
            &[("year", &plan.year)],
        )
    })
}

/// Where a record the phone holds stands with the server: the words and the badge's class.
pub fn sync_mark(r: &LocalRecord, locale: Locale) -> (&'static str, &'static str) {
    match (&r.error, r.synced) {
        (Some(_), _) => (td_string!(locale, format.refused), "badge bad"),
        (None, _) if r.conflict => (td_string!(locale, format.conflict), "badge bad"),
        (None, true) => (td_string!(locale, format.synced), "badge ok"),
        (None, false) => (td_string!(locale, format.unsynced), "badge wait"),
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

/// What an assessment rule says, for a breakdown.
pub fn rule(r: Rule, locale: Locale) -> &'static str {
    match r {
        Rule::Target => td_string!(locale, rule.target),
        Rule::Met => td_string!(locale, rule.met),
        Rule::Each => td_string!(locale, rule.each),
        Rule::Deduct => td_string!(locale, rule.deduct),
    }
}

/// An account's role, as the administrator reads it.
pub fn role(r: Role, locale: Locale) -> &'static str {
    match r {
        Role::VillageWorker => td_string!(locale, role.village_worker),
        Role::TownSupervisor => td_string!(locale, role.town_supervisor),
        Role::CountyAdmin => td_string!(locale, role.county_admin),
        Role::CitySupervisor => td_string!(locale, role.city_supervisor),
        Role::ProvinceSupervisor => td_string!(locale, role.province_supervisor),
        Role::NationSupervisor => td_string!(locale, role.nation_supervisor),
    }
}

/// A level of the hierarchy, as a report names its parts (按镇(街)).
pub fn level(l: Level, locale: Locale) -> &'static str {
    match l {
        Level::Nation => td_string!(locale, level.nation),
        Level::Province => td_string!(locale, level.province),
        Level::City => td_string!(locale, level.city),
        Level::County => td_string!(locale, level.county),
        Level::Town => td_string!(locale, level.town),
        Level::Village => td_string!(locale, level.village),
    }
}
