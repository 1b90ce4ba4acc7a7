//! The towns' targets of the current plan, set by the county administrator on the web: one
//! indicator at a time, each town's target in a box. A target typed wrong says why at once, by
//! the rule an imported decomposition table obeys ([`shequ_model::table::town_target`]); the
//! server checks it again, and a save changes every target it carries or none.

use crate::api;
use crate::components::format;
use crate::i18n::{t, t_string, use_i18n};
use crate::state::use_state;
use crate::tf;
use leptos::prelude::*;
use shequ_model::plan::{Indicator, Plan};
use shequ_model::rollup::{Cell, CellKind, Report, UnitReport};
use shequ_model::shown;
use shequ_model::table::{town_target, typed_number, TargetEdit, TargetEdits};
use std::collections::BTreeMap;
use std::sync::Arc;

#[component]
pub fn TargetsPage() -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let admin = Memo::new(move |_| state.account().is_some_and(|a| a.is_admin()));
    move || match (admin.get(), state.plan.get()) {
        (false, _) => view! { <p class="empty">{t!(i18n, targets.only_county)}</p> }.into_any(),
        (true, None) => view! { <p class="muted">{t!(i18n, report.reading_plan)}</p> }.into_any(),
        (true, Some(plan)) => view! { <TownTargets plan=plan/> }.into_any(),
    }
}

/// A town's target of an indicator: (indicator id, town code).
type Key = (String, String);

/// What a save did: how many targets changed, or why none did.
#[derive(Clone, Debug, PartialEq)]
enum Saved {
    Done(usize),
    Refused(String, Vec<String>),
    Failed(String),
}

/// The indicators whose targets a town can be given: measured for towns, and a number.
fn settable<'a>(plan: &'a Plan, report: &Report) -> Vec<&'a Indicator> {
    plan.report_order()
        .filter(|i| {
            report.children.first().is_some_and(|t| {
                t.cells
                    .iter()
                    .any(|c| c.indicator == i.id && c.kind != CellKind::Flag)
            })
        })
        .collect()
}

/// The target as the box first shows it: its number when it is one minimum.
fn shown_number(cell: &Cell) -> String {
    match cell.target {
        Some(t) if t.goal.is_none() && t.max.is_none() => t.min.map(shown::number),
        _ => None,
    }
    .unwrap_or_default()
}

/// What is wrong with `text` as the target of `ind` in `cell`, by the shared rule.
fn wrong(plan: &Plan, ind: &Indicator, cell: &Cell, text: &str) -> Option<&'static str> {
    typed_number(text)
        .and_then(|n| town_target(plan, ind, cell.kind, n))
        .err()
}

#[component]
fn TownTargets(plan: Arc<Plan>) -> impl IntoView {
    let i18n = use_i18n();
    let county = plan.county.clone();
    // The report the boxes start from. A good save reads it again before its note shows, so the
    // boxes never fall back to the targets from before the save.
    let report = RwSignal::new_local(None::<Result<Report, String>>);
    let read = {
        let (county, id) = (county.clone(), plan.id.clone());
        move || {
            let (county, id) = (county.clone(), id.clone());
            async move { api::report(&county, &id, None).await.map_err(|e| e.message) }
        }
    };
    {
        let read = read.clone();
        leptos::task::spawn_local(async move { report.set(Some(read().await)) });
    }
    // What has been typed, kept while another indicator is shown; cleared by a good save.
    let typed = RwSignal::new(BTreeMap::<Key, String>::new());
    let (chosen, set_chosen) = signal(None::<String>);
    let saved = RwSignal::new(None::<Saved>);
    let save = {
        let (plan, county) = (plan.clone(), county.clone());
        Action::new_local(move |edits: &Vec<TargetEdit>| {
            let body = TargetEdits {
                plan: plan.id.clone(),
                targets: edits.clone(),
            };
            let (county, read) = (county.clone(), read.clone());
            async move {
                let result = api::edit_targets(&county, &body).await;
                saved.set(Some(match result {
                    Ok(Ok(done)) => {
                        let fresh = read().await;
                        typed.set(BTreeMap::new());
                        report.set(Some(fresh));
                        Saved::Done(done.changes.len())
                    }
                    Ok(Err(refused)) => Saved::Refused(
                        refused.error,
                        refused.cells.iter().map(|c| c.to_string()).collect(),
                    ),
                    Err(e) => Saved::Failed(e.message),
                }));
            }
        })
    };
    let page = {
        let plan = plan.clone();
        move || {
            let report = match report.get() {
                None => return view! { <p class="muted">{t!(i18n, targets.reading)}</p> }.into_any(),
                Some(Err(e)) => {
                    return view! { <p class="error" role="alert">{tf!(i18n, targets.unreadable, error = e)}</p> }
                        .into_any()
                }
                Some(Ok(report)) => report,
            };
            let indicators = settable(&plan, &report);
            let Some(first) = indicators.first() else {
                return view! { <p class="empty">{t!(i18n, targets.none)}</p> }.into_any();
            };
            let selected = chosen
                .get()
                .filter(|c| indicators.iter().any(|i| &i.id == c))
                .unwrap_or_else(|| first.id.clone());
            let ind = plan
                .indicator(&selected)
                .expect("a settable indicator is the plan's")
                .clone();
            let options = indicators
                .iter()
                .map(|i| {
                    let on = i.id == selected;
                    view! { <option value=i.id.clone() selected=on>{i.name.clone()}</option> }
                })
                .collect_view();
            let rows = report
            .children
            .iter()
            .filter_map(|town| {
                let cell = town.cells.iter().find(|c| c.indicator == ind.id)?.clone();
                Some(view! { <TownRow plan=plan.clone() ind=ind.clone() town=town.clone() cell=cell typed=typed/> })
            })
            .collect_view();
            let heading = match report
                .children
                .first()
                .and_then(|t| t.cells.iter().find(|c| c.indicator == ind.id))
            {
                Some(cell) if !shown::unit_of(cell.kind, &ind.unit).is_empty() => {
                    tf!(
                        i18n,
                        targets.target_in,
                        unit = shown::unit_of(cell.kind, &ind.unit)
                    )
                }
                _ => t_string!(i18n, targets.target).to_string(),
            };
            view! {
            <label>{t!(i18n, targets.indicator)}
                <select data-testid="target-indicator"
                    on:change=move |ev| set_chosen.set(Some(event_target_value(&ev)))>{options}</select>
            </label>
            <div class="scroll">
                <table class="figures" data-testid="town-targets">
                    <thead><tr><th>{t!(i18n, targets.town)}</th><th>{t!(i18n, targets.now)}</th><th>{heading}</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
        }
    };
    // Every typed target that differs from the one in force, or none while any is wrong.
    let edits = {
        let plan = plan.clone();
        move || -> Result<Vec<TargetEdit>, ()> {
            let Some(Ok(report)) = report.get() else {
                return Err(());
            };
            let mut out = Vec::new();
            for ((indicator, town), text) in typed.get() {
                let (Some(ind), Some(cell)) = (
                    plan.indicator(&indicator),
                    cell_of(&report.children, &town, &indicator),
                ) else {
                    continue;
                };
                if text.trim() == shown_number(cell) || text.trim().is_empty() {
                    continue;
                }
                if wrong(&plan, ind, cell, &text).is_some() {
                    return Err(());
                }
                let min = typed_number(&text).map_err(|_| ())?;
                out.push(TargetEdit {
                    indicator,
                    town,
                    min,
                });
            }
            Ok(out)
        }
    };
    let pending = {
        let edits = edits.clone();
        move || edits().map(|e| e.len()).unwrap_or(0)
    };
    let blocked = {
        let edits = edits.clone();
        move || save.pending().get() || !matches!(edits(), Ok(e) if !e.is_empty())
    };
    let note = move || {
        saved.get().map(|s| match s {
            Saved::Done(0) => view! { <p role="status" data-testid="targets-note">{t!(i18n, targets.unchanged)}</p> }.into_any(),
            Saved::Done(n) => view! { <p role="status" data-testid="targets-note">{tf!(i18n, targets.saved, n = n)}</p> }.into_any(),
            Saved::Failed(e) => view! { <p class="error" role="alert" data-testid="targets-note">{tf!(i18n, targets.save_failed, error = e)}</p> }.into_any(),
            Saved::Refused(summary, cells) => view! {
                <div class="error" role="alert" data-testid="targets-errors">
                    <p>{summary}</p>
                    <ul>{cells.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul>
                </div>
            }.into_any(),
        })
    };
    let title = plan.title.clone();
    view! {
        <header class="bar">
            <a href="/" class="back">{t!(i18n, app.back)}</a>
            <h1>{t!(i18n, targets.title)}</h1>
        </header>
        <section class="card wide">
            <p class="muted">{move || tf!(i18n, targets.help, plan = title)}</p>
            {page}
            <p>
                <button class="btn" data-testid="save-targets" disabled=blocked
                    on:click=move |_| {
                        if let Ok(e) = edits() {
                            saved.set(None);
                            save.dispatch(e);
                        }
                    }>
                    {move || match pending() {
                        0 => t_string!(i18n, targets.save).to_string(),
                        n => tf!(i18n, targets.save_n, n = n),
                    }}
                </button>
            </p>
            {note}
        </section>
    }
}

fn cell_of<'a>(towns: &'a [UnitReport], town: &str, indicator: &str) -> Option<&'a Cell> {
    towns
        .iter()
        .find(|t| t.area.code == town)?
        .cells
        .iter()
        .find(|c| c.indicator == indicator)
}

/// One town's box for the shown indicator, with what is wrong in it.
#[component]
fn TownRow(
    plan: Arc<Plan>,
    ind: Indicator,
    town: UnitReport,
    cell: Cell,
    typed: RwSignal<BTreeMap<Key, String>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let key: Key = (ind.id.clone(), town.area.code.clone());
    let start = shown_number(&cell);
    let value = {
        let (key, start) = (key.clone(), start.clone());
        move || {
            typed
                .with(|t| t.get(&key).cloned())
                .unwrap_or_else(|| start.clone())
        }
    };
    let figure = {
        let (cell, unit) = (cell.clone(), ind.unit.clone());
        move || format::value(&cell, &unit, i18n.get_locale())
    };
    let target = {
        let (cell, unit) = (cell.clone(), ind.unit.clone());
        move || format::target(cell.target.as_ref(), cell.kind, &unit, i18n.get_locale())
    };
    let error = {
        let value = value.clone();
        let cell = cell.clone();
        move || {
            let text = value();
            (!text.trim().is_empty() && text.trim() != shown_number(&cell))
                .then(|| wrong(&plan, &ind, &cell, &text))
                .flatten()
        }
    };
    let name = town.area.name.clone();
    let code = town.area.code.clone();
    view! {
        <tr data-town=code>
            <th>{town.area.name.clone()}</th>
            <td>{figure}</td>
            <td>
                <input type="text" inputmode="decimal" data-testid="town-target"
                    placeholder=target aria-label=move || tf!(i18n, targets.of_town, town = name)
                    prop:value=value.clone()
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        typed.update(|t| { t.insert(key.clone(), text); });
                    }/>
                {move || error().map(|e| view! { <span class="error" role="alert" data-testid="target-error">{e}</span> })}
            </td>
        </tr>
    }
}
