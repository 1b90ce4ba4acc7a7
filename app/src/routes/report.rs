//! The supervisors' pages: every indicator of a plan for a unit and its parts (the county and its
//! towns, a town and its villages), value against target, now or as of the end of a month of the
//! plan, with the chosen indicator charted by unit and month by month, and the parts ranked by the
//! plan's unified assessment. A report counts only the chosen plan's records (the current plan
//! unless another is chosen), and shows the plan's headline indicators first.
//!
//! Every report shows when its figures were read (数据截至). The last figures read of each unit
//! and plan are kept on the phone: offline, the page shows those, and says so.

use crate::components::assessment::AssessmentCard;
use crate::components::chart::{Bar, BarChart};
use crate::components::format;
use crate::components::month_chart::MonthChart;
use crate::i18n::{t, use_i18n};
use crate::state::use_state;
use crate::store::Db;
use crate::{api, ids};
use crate::{tc, tf};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use shequ_model::month::Month;
use shequ_model::plan::{Indicator, PlanId};
use shequ_model::rollup::Report;
use shequ_model::Level;

#[component]
pub fn CountyPage() -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let county = Memo::new(move |_| state.plan.with(|p| p.as_ref().map(|p| p.county.clone())));
    move || match county.get() {
        Some(code) => view! { <ReportView code=code/> }.into_any(),
        None => view! { <p class="muted">{t!(i18n, report.reading_plan)}</p> }.into_any(),
    }
}

#[component]
pub fn TownPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    move || match params.read().get("code") {
        Some(code) => {
            let code = shequ_model::UnitCode::from_path(&code).to_owned();
            view! { <ReportView code=code/> }.into_any()
        }
        None => view! { <p class="empty">{t!(i18n, app.not_found)}</p> }.into_any(),
    }
}

#[component]
fn ReportView(code: String) -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    // The plans to choose from: the server's list, or what the phone holds when it is offline.
    let summaries = LocalResource::new(move || async move {
        match api::plans().await {
            Ok(list) => list,
            Err(_) => state
                .plans
                .get_untracked()
                .map(|p| p.summaries())
                .unwrap_or_default(),
        }
    });
    let (chosen_plan, set_chosen_plan) = signal(None::<PlanId>);
    // The plan shown: the one chosen, else the current one.
    let plan_id = Memo::new(move |_| {
        chosen_plan
            .get()
            .or_else(|| state.plan.with(|p| p.as_ref().map(|p| p.id.clone())))
    });
    // The month whose end the figures are as of; now when none.
    let (as_of, set_as_of) = signal(None::<Month>);
    let report = {
        let code = code.clone();
        LocalResource::new(move || {
            let (code, id, as_of) = (code.clone(), plan_id.get(), as_of.get());
            // Tracked: a session restored after the plans asks again, with its token.
            let may_read = state
                .session
                .with(|s| s.as_ref().is_some_and(|s| s.account.may_read(&code)));
            async move {
                let id = id.ok_or_else(|| tc!(report.no_plan))?;
                let plan = state.plan_by_id(&id).await?;
                let figures = read_figures(&code, &id, may_read, as_of).await?;
                Ok::<_, String>((plan, figures))
            }
        })
    };
    let (chosen, set_chosen) = signal(String::new());
    // Kept here: the report is drawn again after an import, and the outcome stays shown.
    let imported = RwSignal::new(None::<Imported>);
    let is_admin = move || state.account().is_some_and(|a| a.is_admin());
    let report_refetch = move || report.refetch();
    let body = move || {
        let locale = i18n.get_locale();
        let (
            plan,
            Figures {
                report,
                read_at,
                kept,
            },
        ) = match report.get()? {
            Ok(r) => r,
            Err(e) => {
                return Some(
                    view! { <p class="error" role="alert">{tf!(i18n, report.unreadable, error = e)}</p> }
                        .into_any(),
                )
            }
        };
        let indicators: Vec<&Indicator> = plan.report_order().collect();
        let selected = {
            let c = chosen.get();
            if plan.indicator(&c).is_some() {
                c
            } else {
                indicators.first().map(|i| i.id.clone()).unwrap_or_default()
            }
        };
        let ind = plan.indicator(&selected).cloned()?;
        let as_of_text = as_of.get_untracked().map(|m| m.to_string());
        let bars: Vec<Bar> = report
            .children
            .iter()
            .filter_map(|c| {
                c.cells
                    .iter()
                    .find(|x| x.indicator == selected)
                    .map(|cell| Bar {
                        label: c.area.name.clone(),
                        cell: cell.clone(),
                        href: format::figure_records_href(
                            &c.area.code,
                            &selected,
                            &plan.id,
                            as_of_text.as_deref(),
                        ),
                    })
            })
            .collect();
        let child_level = report.children.first().map(|c| c.area.level);
        let headers = report
            .children
            .iter()
            .map(|c| {
                let name = c.area.name.clone();
                match c.area.level {
                    Level::Town => {
                        view! { <th><a href=format!("/town/{}", c.area.code)>{name}</a></th> }
                            .into_any()
                    }
                    _ => view! { <th>{name}</th> }.into_any(),
                }
            })
            .collect_view();
        // Every figure opens the records behind it.
        let link = |unit: &str, ind: &str, text: String| {
            let href = format::figure_records_href(unit, ind, &plan.id, as_of_text.as_deref());
            view! { <a class="figure-link" href=href>{text}</a> }
        };
        let rows = indicators.iter().filter_map(|i| {
            let own = report.unit.cells.iter().find(|c| c.indicator == i.id)?.clone();
            let unit = i.unit.clone();
            let cells = report.children.iter().map(|c| match c.cells.iter().find(|x| x.indicator == i.id) {
                Some(cell) => view! {
                    <td class=format::tone(cell) title=tf!(i18n, report.target_is, target = format::target(cell.target.as_ref(), cell.kind, &unit, locale))>{link(&c.area.code, &i.id, format::value(cell, &unit, locale))}</td>
                }.into_any(),
                None => view! { <td class="tone-none">"—"</td> }.into_any(),
            }).collect_view();
            Some(view! {
                <tr data-indicator=i.id.clone()>
                    <th class="ind">{i.name.clone()}</th>
                    <td class=format::tone(&own)>{link(&report.unit.area.code, &i.id, format::value(&own, &i.unit, locale))}</td>
                    <td class="target">{format::target(own.target.as_ref(), own.kind, &i.unit, locale)}</td>
                    {cells}
                </tr>
            })
        }).collect_view();
        let options = indicators.iter().map(|i| {
            view! { <option value=i.id.clone() selected=i.id == selected>{i.name.clone()}</option> }
        }).collect_view();
        let by_level = child_level.map(|l| format::level(l, locale));
        let unit = ind.unit.clone();
        Some(view! {
            <section class="sync-bar" class:offline=kept>
                <div>
                    {kept.then(|| view! {
                        <strong role="status" data-testid="kept-figures">{t!(i18n, report.kept)}</strong>
                    })}
                    <span class="muted" data-testid="figures-as-of">{match as_of.get_untracked() {
                        Some(m) => tf!(i18n, report.as_of_month, end = format::month_end(m, locale), time = format::time(read_at)),
                        None => tf!(i18n, report.as_of_now, time = format::time(read_at)),
                    }}</span>
                </div>

            </section>
            <section class="card">
                <label>{t!(i18n, report.indicator_pick)}
                    <select data-testid="indicator-select" on:change=move |ev| set_chosen.set(event_target_value(&ev))>{options}</select>
                </label>
                <h2 data-testid="chart-title">{match by_level {
                    None => ind.name.clone(),
                    Some(by) => tf!(i18n, report.by, indicator = ind.name, level = by),
                }}</h2>
                <BarChart bars=bars unit=unit/>
                <p class="muted">{t!(i18n, report.legend)}</p>
            </section>
            <MonthCard code=report.unit.area.code.clone() plan=plan.clone() indicator=selected.clone()/>
            <AssessmentCard plan=plan.clone() report=report.clone()/>
            <section class="card wide">
                <h2>{t!(i18n, report.all_indicators)}</h2>
                <ExportTable code=report.unit.area.code.clone() plan=plan.id.clone()/>
                {(is_admin() && report.unit.area.code == plan.county).then(|| view! {
                    <ImportTargets code=report.unit.area.code.clone() plan=plan.id.clone()
                        outcome=imported on_done=Callback::new(move |()| report_refetch())/>
                    <p><a href="/targets" data-testid="edit-targets">{t!(i18n, targets.on_web)}</a></p>
                })}
                <div class="scroll">
                    <table class="figures" data-testid="figures" data-plan=plan.id.to_string()>
                        <thead><tr><th>{t!(i18n, report.indicator)}</th><th>{t!(i18n, report.total)}</th><th>{t!(i18n, report.target)}</th>{headers}</tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </section>
        }.into_any())
    };
    let title = {
        let code = code.clone();
        move || {
            let name = state
                .area(&code)
                .map(|a| a.name)
                .unwrap_or_else(|| code.clone());
            tf!(i18n, report.title, unit = name)
        }
    };
    view! {
        <header class="bar">
            <a href="/" class="back">{t!(i18n, app.back)}</a>
            <h1 data-testid="report-title">{title}</h1>
        </header>
        <section class="card">
            <label>{t!(i18n, report.plan_pick)}
                <select data-testid="plan-select" on:change=move |ev| {
                    // A month of one plan's period is no month of another's.
                    set_as_of.set(None);
                    set_chosen_plan.set(PlanId::parse(&event_target_value(&ev)).ok());
                }>
                    {move || summaries.get().unwrap_or_default().into_iter().map(|s| {
                        let selected = plan_id.with(|id| id.as_ref() == Some(&s.id));
                        view! { <option value=s.id.to_string() selected=selected>{tf!(i18n, report.plan_option, year = s.year, title = s.title)}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, report.as_of_pick)}
                <select data-testid="as-of-select" on:change=move |ev| set_as_of.set(Month::parse(&event_target_value(&ev)).ok())>
                    <option value="" selected=move || as_of.get().is_none()>{t!(i18n, report.now)}</option>
                    {move || {
                        let id = plan_id.get();
                        summaries.get().unwrap_or_default().into_iter()
                            .find(|s| Some(&s.id) == id.as_ref())
                            .map(|s| s.period.months())
                            .unwrap_or_default()
                            .into_iter()
                            .map(|m| {
                                let chosen = move || as_of.get() == Some(m);
                                view! { <option value=m.to_string() selected=chosen>{move || format::month_end(m, i18n.get_locale())}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
        </section>
        {move || body().unwrap_or_else(|| view! { <p class="muted">{t!(i18n, app.loading)}</p> }.into_any())}
    }
}

/// A report's figures, when they were read from the server, and whether they are the ones the
/// phone kept from an earlier read because the server cannot be reached now.
#[derive(Clone)]
struct Figures {
    report: Report,
    read_at: u64,
    kept: bool,
}

/// The figures of `code` under `plan` from the server, kept on the phone as they arrive; offline,
/// the last ones kept, if the account may read them (a shared phone keeps another account's).
async fn read_figures(
    code: &str,
    plan: &PlanId,
    may_read: bool,
    as_of: Option<Month>,
) -> Result<Figures, String> {
    if as_of.is_some() {
        // Only today's figures are kept on the phone: a past month is read from the server.
        return match api::report(code, plan, as_of).await {
            Ok(report) => Ok(Figures {
                report,
                read_at: ids::now_ms(),
                kept: false,
            }),
            Err(e) if e.retry => Err(tc!(report.past_offline, error = e.message)),
            Err(e) => Err(e.message),
        };
    }
    let db = Db::get().await.ok();
    match api::report(code, plan, None).await {
        Ok(report) => {
            let read_at = ids::now_ms();
            if let Some(db) = &db {
                let _ = db.keep_figures(code, &report, read_at).await;
            }
            Ok(Figures {
                report,
                read_at,
                kept: false,
            })
        }
        Err(e) if e.retry && e.auth.is_none() => {
            let kept = match (&db, may_read) {
                (Some(db), true) => db.kept_figures(code, plan).await.ok().flatten(),
                _ => None,
            };
            kept.map(|k| Figures {
                report: k.report,
                read_at: k.read_at,
                kept: true,
            })
            .ok_or(e.message)
        }
        Err(e) => Err(e.message),
    }
}

/// The month-by-month chart of the indicator chosen, read from the server when the page shows it.
#[component]
fn MonthCard(
    code: String,
    plan: std::sync::Arc<shequ_model::Plan>,
    indicator: String,
) -> impl IntoView {
    let series = {
        let (code, plan_id, indicator) = (code.clone(), plan.id.clone(), indicator.clone());
        LocalResource::new(move || {
            let (code, plan_id, indicator) = (code.clone(), plan_id.clone(), indicator.clone());
            async move { api::months(&code, &plan_id, &indicator).await }
        })
    };
    let i18n = use_i18n();
    let name = plan.indicator(&indicator).map(|i| i.name.clone());
    let title = move || {
        name.as_ref()
            .map(|n| tf!(i18n, report.by_month, indicator = n))
            .unwrap_or_default()
    };
    view! {
        <section class="card">
            <h2 data-testid="month-chart-title">{title}</h2>
            {move || match series.get() {
                None => view! { <p class="muted">{t!(i18n, app.loading)}</p> }.into_any(),
                Some(Ok(s)) => view! { <MonthChart plan=plan.clone() series=s/> }.into_any(),
                Some(Err(e)) => view! {
                    <p class="empty" data-testid="month-chart-error">{tf!(i18n, report.months_unreadable, error = e.message)}</p>
                }.into_any(),
            }}
        </section>
    }
}

/// The decomposition table of the unit shown, downloaded as the .xlsx a county office prints.
#[component]
fn ExportTable(code: String, plan: PlanId) -> impl IntoView {
    let i18n = use_i18n();
    let (note, set_note) = signal(None::<String>);
    let export = Action::new_local(move |_: &()| {
        let (code, plan) = (code.clone(), plan.clone());
        async move {
            set_note.set(Some(tc!(report.exporting)));
            let result = match api::table(&code, &plan).await {
                Ok((name, bytes)) => {
                    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(&bytes[..]));
                    crate::state::save_file(&name, &parts, api::XLSX).map(|()| name)
                }
                Err(e) => Err(e.message),
            };
            set_note.set(Some(match result {
                Ok(name) => tc!(report.exported, file = name),
                Err(e) => tc!(report.export_failed, error = e),
            }));
        }
    });
    view! {
        <p>
            <button class="btn small" data-testid="export-table" disabled=move || export.pending().get()
                on:click=move |_| { export.dispatch(()); }>{t!(i18n, report.export)}</button>
            " "
            <span class="muted" role="status" data-testid="export-note">{move || note.get()}</span>
        </p>
    }
}

/// What became of the last table the county sent back.
#[derive(Clone, Debug, PartialEq)]
enum Imported {
    Sending,
    /// How many targets changed.
    Done(usize),
    /// Why nothing was: the server's summary and every wrong cell (`D7: 应为数字`).
    Refused(String, Vec<String>),
    Failed(String),
}

/// The county's decomposition table with the towns' targets filled in, sent back (for the county
/// administrator): how many targets changed, or every wrong cell, nothing changed then.
#[component]
fn ImportTargets(
    code: String,
    plan: PlanId,
    outcome: RwSignal<Option<Imported>>,
    on_done: Callback<()>,
) -> impl IntoView {
    let send = Action::new_local(move |file: &web_sys::File| {
        let (code, plan, file) = (code.clone(), plan.clone(), file.clone());
        async move {
            outcome.set(Some(Imported::Sending));
            let bytes = match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                Ok(buf) => js_sys::Uint8Array::new(&buf).to_vec(),
                Err(_) => {
                    outcome.set(Some(Imported::Failed(tc!(report.file_unreadable))));
                    return;
                }
            };
            let result = api::import_targets(&code, &plan, &bytes).await;
            let said = match result {
                Ok(Ok(done)) => Imported::Done(done.changes.len()),
                Ok(Err(refused)) => Imported::Refused(
                    refused.error,
                    refused.cells.iter().map(|c| c.to_string()).collect(),
                ),
                Err(e) => Imported::Failed(e.message),
            };
            let changed = matches!(said, Imported::Done(n) if n > 0);
            // The page may have been left or drawn again during the await: its signals are then
            // gone, and only writing to them (a no-op) is safe, not reading them.
            outcome.set(Some(said));
            if changed {
                on_done.try_run(());
            }
        }
    });
    let picked = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            send.dispatch(file);
        }
        // The same file, picked again after a fix, is sent again.
        input.set_value("");
    };
    let i18n = use_i18n();
    let shown = move || {
        outcome.get().map(|o| match o {
            Imported::Sending => view! { <p class="muted" role="status">{t!(i18n, report.importing)}</p> }.into_any(),
            Imported::Done(0) => view! { <p role="status" data-testid="import-note">{t!(i18n, report.import_none)}</p> }.into_any(),
            Imported::Done(n) => view! { <p role="status" data-testid="import-note">{tf!(i18n, report.imported, n = n)}</p> }.into_any(),
            Imported::Failed(e) => view! { <p class="error" role="alert" data-testid="import-note">{tf!(i18n, report.import_failed, error = e)}</p> }.into_any(),
            Imported::Refused(summary, cells) => view! {
                <div class="error" role="alert" data-testid="import-errors">
                    <p>{summary}</p>
                    <ul>{cells.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul>
                </div>
            }.into_any(),
        })
    };
    view! {
        <p>
            <label class="btn small">
                {t!(i18n, report.import)}
                <input type="file" hidden accept=".xlsx" data-testid="import-targets"
                    disabled=move || send.pending().get() on:change=picked/>
            </label>
        </p>
        {shown}
    }
}
