//! A horizontal bar chart of one indicator by unit, with each unit's target marked. Plain SVG:
//! no chart library to download on a 2G link.

use crate::components::format;
use crate::i18n::{t, t_string, use_i18n};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use shequ_model::rollup::Cell;

#[derive(Clone)]
pub struct Bar {
    pub label: String,
    pub cell: Cell,
    /// Where tapping the bar leads: the records behind its figure.
    pub href: String,
}

/// How many characters of a unit's name fit on one line of the labels' column.
const LABEL_CHARS: usize = 7;

/// A name in lines that fit the labels' column: wrapped, never cut (胜利机械厂社区居委会).
fn label_lines(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    chars
        .chunks(LABEL_CHARS)
        .map(|c| c.iter().collect())
        .collect()
}

#[component]
pub fn BarChart(bars: Vec<Bar>, unit: String) -> impl IntoView {
    let i18n = use_i18n();
    // Drawn again when the language changes.
    move || {
        let locale = i18n.get_locale();
        if bars.is_empty() {
            return view! { <p class="empty" data-testid="chart-empty">{t!(i18n, chart.no_parts)}</p> }
                .into_any();
        }
        let nothing = bars.iter().all(|b| b.cell.value.unwrap_or(0.0) == 0.0);
        let line_h = 13.0;
        let lines = bars
            .iter()
            .map(|b| label_lines(&b.label).len())
            .max()
            .unwrap_or(1);
        let row_h = f64::max(28.0, line_h * lines as f64 + 10.0);
        let label_w = 96.0;
        let width = 340.0;
        let plot_w = width - label_w - 56.0;
        let max = bars
            .iter()
            .flat_map(|b| {
                [
                    b.cell.value,
                    b.cell.target.and_then(|t| t.goal.or(t.min).or(t.max)),
                ]
            })
            .flatten()
            .fold(0.0_f64, f64::max)
            .max(1.0);
        let height = row_h * bars.len() as f64 + 8.0;
        let x = move |v: f64| label_w + v / max * plot_w;
        let navigate = use_navigate();
        let rows = bars
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let y = 4.0 + i as f64 * row_h;
                let v = b.cell.value.unwrap_or(0.0);
                let tick = b.cell.target.and_then(|t| t.min.or(t.max)).map(|t| {
                    view! { <line x1=x(t) x2=x(t) y1=y y2=y + row_h - 6.0 class="target-tick"/> }
                });
                let navigate = navigate.clone();
                let href = b.href.clone();
                view! {
                    <g class=format::tone(&b.cell) data-testid="bar" role="link" data-href=b.href.clone()
                        on:click=move |_| navigate(&href, Default::default())>
                        <text x=label_w - 6.0 y=y + row_h / 2.0 + 1.0 - line_h * (label_lines(&b.label).len() as f64 - 1.0) / 2.0 text-anchor="end" class="bar-label">
                            {label_lines(&b.label).into_iter().enumerate().map(|(k, l)| view! {
                                <tspan x=label_w - 6.0 dy=if k == 0 { 0.0 } else { line_h }>{l}</tspan>
                            }).collect_view()}
                        </text>
                        <rect x=label_w y=y + 3.0 width=(x(v) - label_w).max(1.0) height=row_h - 12.0 rx="3"/>
                        {tick}
                        <text x=x(v) + 4.0 y=y + row_h / 2.0 + 1.0 class="bar-value">{format::value(&b.cell, &unit, locale)}</text>
                    </g>
                }
            })
            .collect_view();
        view! {
            <svg class="chart" viewBox=format!("0 0 {width} {height}") role="img" aria-label=t_string!(i18n, chart.label)>
                {rows}
            </svg>
            {nothing.then(|| view! {
                <p class="empty" data-testid="chart-empty">{t!(i18n, chart.nothing)}</p>
            })}
        }
        .into_any()
    }
}
