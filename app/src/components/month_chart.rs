//! One indicator month by month: the unit's figure at the end of each month of the plan's period,
//! against the target's pace to its due month (`model::rollup::pace`), and each child's figures
//! by month beneath. Every point and cell opens the records counted by then. Plain SVG.

use crate::components::format;
use crate::i18n::{t, t_string, use_i18n};
use crate::tf;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use shequ_model::plan::Plan;
use shequ_model::rollup::{pace, MonthSeries};
use std::sync::Arc;

#[component]
pub fn MonthChart(plan: Arc<Plan>, series: MonthSeries) -> impl IntoView {
    let i18n = use_i18n();
    // Drawn again when the language changes.
    move || {
        let locale = i18n.get_locale();
        let Some(ind) = plan.indicator(&series.indicator).cloned() else {
            return ().into_any();
        };
        let months = series.months.clone();
        let n = months.len().max(1);
        let cells = series.unit.cells.clone();
        let target = cells.iter().rev().find_map(|c| c.target);
        let paced = pace(&plan, &ind, target.as_ref(), &months);
        let due = plan.due(&ind);
        let (width, height, left, bottom, top) = (340.0, 180.0, 36.0, 24.0, 10.0);
        let plot_w = width - left - 10.0;
        let plot_h = height - bottom - top;
        let max = cells
            .iter()
            .filter_map(|c| c.value)
            .chain(paced.iter().flatten().copied())
            .chain(target.and_then(|t| t.goal.or(t.min).or(t.max)))
            .fold(0.0_f64, f64::max)
            .max(1.0);
        let x = move |i: usize| left + plot_w * (i as f64 + 0.5) / n as f64;
        let y = move |v: f64| top + plot_h * (1.0 - v / max);
        let line: String = cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.value.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
            .collect::<Vec<_>>()
            .join(" ");
        let pace_line: String = paced
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
            .collect::<Vec<_>>()
            .join(" ");
        let nothing = cells.iter().all(|c| c.value.unwrap_or(0.0) == 0.0);
        let navigate = use_navigate();
        let unit_code = series.unit.area.code.clone();
        let points = cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let v = c.value?;
                let month = months[i].to_string();
                let href = format::figure_records_href(&unit_code, &ind.id, &plan.id, Some(&month));
                let navigate = navigate.clone();
                let go = href.clone();
                Some(view! {
                    <circle cx=x(i) cy=y(v) r="5" class=format::tone(c) data-testid="month-point"
                        data-month=month data-value=v.to_string() data-href=href role="link"
                        on:click=move |_| navigate(&go, Default::default())/>
                })
            })
            .collect_view();
        let labels = months
            .iter()
            .enumerate()
            .map(|(i, m)| {
                view! { <text x=x(i) y=height - 8.0 text-anchor="middle" class="axis">{m.number().to_string()}</text> }
            })
            .collect_view();
        let due_mark = due
            .and_then(|d| months.iter().position(|m| *m == d))
            .map(|i| {
                view! {
                    <g class="due" data-testid="due-mark" data-month=months[i].to_string()>
                        <line x1=x(i) x2=x(i) y1=top y2=top + plot_h/>
                        <text x=x(i) y=top + 9.0 text-anchor="end" class="axis">{t!(i18n, months.due)}</text>
                    </g>
                }
            });
        let unit_name = ind.unit.clone();
        let head = months
            .iter()
            .map(|m| view! { <th>{format::month(*m, locale)}</th> })
            .collect_view();
        let rows = series
            .children
            .iter()
            .map(|child| {
                let code = child.area.code.clone();
                let tds = child
                    .cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let month = months[i].to_string();
                        let href = format::figure_records_href(&code, &ind.id, &plan.id, Some(&month));
                        view! {
                            <td class=format::tone(c)>
                                <a class="figure-link" href=href>{format::value(c, &unit_name, locale)}</a>
                            </td>
                        }
                    })
                    .collect_view();
                view! { <tr data-unit=code.clone()><th class="ind">{child.area.name.clone()}</th>{tds}</tr> }
            })
            .collect_view();
        let target_text = format::target(
            target.as_ref(),
            cells
                .first()
                .map(|c| c.kind)
                .unwrap_or(shequ_model::rollup::CellKind::Number),
            &ind.unit,
            locale,
        );
        view! {
            <div data-testid="month-chart" data-indicator=ind.id.clone()>
                <svg class="chart months" viewBox=format!("0 0 {width} {height}") role="img" aria-label=t_string!(i18n, months.chart)>
                    <line x1=left x2=width - 10.0 y1=top + plot_h y2=top + plot_h class="axis-line"/>
                    <text x=left - 4.0 y=top + 8.0 text-anchor="end" class="axis">{format::number(max)}</text>
                    <text x=left - 4.0 y=top + plot_h text-anchor="end" class="axis">"0"</text>
                    {due_mark}
                    {(!pace_line.is_empty()).then(|| view! { <polyline points=pace_line class="pace" data-testid="pace"/> })}
                    {(!line.is_empty()).then(|| view! { <polyline points=line class="figure-line"/> })}
                    {points}
                    {labels}
                </svg>
                <p class="muted">
                    {tf!(i18n, months.legend, unit = series.unit.area.name, target = target_text)}
                    {due.map(|d| tf!(i18n, months.due_at, end = format::month_end(d, locale)))}
                    {t!(i18n, months.tap)}
                </p>
                {nothing.then(|| view! { <p class="empty" data-testid="month-chart-empty">{t!(i18n, months.nothing)}</p> })}
                {(!series.children.is_empty()).then(|| view! {
                    <div class="scroll">
                        <table class="figures months" data-testid="month-table">
                            <thead><tr><th>{t!(i18n, months.unit)}</th>{head}</tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                })}
            </div>
        }
        .into_any()
    }
}
