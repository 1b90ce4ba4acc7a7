//! The supervisors' pages: every indicator of the plan for a unit and its parts (the county and
//! its towns, a town and its villages), value against target, with a bar chart by unit.

use crate::api;
use crate::components::chart::{Bar, BarChart};
use crate::components::format;
use crate::state::use_state;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use shequ_model::Level;

#[component]
pub fn CountyPage() -> impl IntoView {
    let state = use_state();
    let county = Memo::new(move |_| state.plan.with(|p| p.as_ref().map(|p| p.county.clone())));
    move || match county.get() {
        Some(code) => view! { <ReportView code=code/> }.into_any(),
        None => view! { <p class="muted">"正在读取工作计划……"</p> }.into_any(),
    }
}

#[component]
pub fn TownPage() -> impl IntoView {
    let params = use_params_map();
    move || match params.read().get("code") {
        Some(code) => view! { <ReportView code=code/> }.into_any(),
        None => view! { <p class="empty">"页面不存在"</p> }.into_any(),
    }
}

/// The indicator the chart opens on: the notice's headline figure.
const HEADLINE: &str = "deliberation_success";

#[component]
fn ReportView(code: String) -> impl IntoView {
    let state = use_state();
    let report = {
        let code = code.clone();
        LocalResource::new(move || {
            let code = code.clone();
            async move { api::report(&code).await.map_err(|e| e.message) }
        })
    };
    let (chosen, set_chosen) = signal(String::new());
    let body = move || {
        let plan = state.plan.get()?;
        let report = match report.get()? {
            Ok(r) => r,
            Err(e) => {
                return Some(
                    view! { <p class="error" role="alert">{format!("无法读取数据:{e}")}</p> }
                        .into_any(),
                )
            }
        };
        let selected = {
            let c = chosen.get();
            if plan.indicator(&c).is_some() {
                c
            } else if plan.indicator(HEADLINE).is_some() {
                HEADLINE.to_string()
            } else {
                plan.indicators
                    .first()
                    .map(|i| i.id.clone())
                    .unwrap_or_default()
            }
        };
        let ind = plan.indicator(&selected).cloned()?;
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
        let rows = plan.indicators.iter().filter_map(|i| {
            let own = report.unit.cells.iter().find(|c| c.indicator == i.id)?.clone();
            let unit = i.unit.clone();
            let cells = report.children.iter().map(|c| match c.cells.iter().find(|x| x.indicator == i.id) {
                Some(cell) => view! {
                    <td class=format::tone(cell) title=format!("目标 {}", format::target(cell.target.as_ref(), cell.kind, &unit))>{format::value(cell, &unit)}</td>
                }.into_any(),
                None => view! { <td class="tone-none">"—"</td> }.into_any(),
            }).collect_view();
            Some(view! {
                <tr data-indicator=i.id.clone()>
                    <th class="ind">{i.name.clone()}</th>
                    <td class=format::tone(&own)>{format::value(&own, &i.unit)}</td>
                    <td class="target">{format::target(own.target.as_ref(), own.kind, &i.unit)}</td>
                    {cells}
                </tr>
            })
        }).collect_view();
        let options = plan.indicators.iter().map(|i| {
            view! { <option value=i.id.clone() selected=i.id == selected>{i.name.clone()}</option> }
        }).collect_view();
        let child_label = child_level.map(|l| l.label()).unwrap_or("");
        let unit = ind.unit.clone();
        Some(view! {
            <section class="card">
                <label>"指标 "
                    <select data-testid="indicator-select" on:change=move |ev| set_chosen.set(event_target_value(&ev))>{options}</select>
                </label>
                <h2 data-testid="chart-title">{format!("{}(按{}）", ind.name, child_label)}</h2>
                <BarChart bars=bars unit=unit/>
                <p class="muted">"竖线为目标;绿色已达标,黄色过半,红色未过半。"</p>
            </section>
            <section class="card wide">
                <h2>"全部指标"</h2>
                <div class="scroll">
                    <table class="figures" data-testid="figures">
                        <thead><tr><th>"指标"</th><th>"合计"</th><th>"目标"</th>{headers}</tr></thead>
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
            format!("{name} · 工作进度")
        }
    };
    view! {
        <header class="bar">
            <a href="/" class="back">"‹ 返回"</a>
            <h1 data-testid="report-title">{title}</h1>
        </header>
        {move || body().unwrap_or_else(|| view! { <p class="muted">"读取中……"</p> }.into_any())}
    }
}
