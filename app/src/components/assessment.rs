//! The unified assessment (综合考核评比) of a report's parts: ranked by the plan's items, each
//! score opening its breakdown, each item opening the records behind its figure. Computed on the
//! phone from the report it shows (`model::assessment::rank`), so it reads offline from the
//! figures kept.

use crate::components::format;
use crate::i18n::{t, t_string, use_i18n};
use crate::tf;
use leptos::prelude::*;
use shequ_model::assessment::{rank, Item};
use shequ_model::plan::Plan;
use shequ_model::rollup::Report;
use shequ_model::shown::number;
use shequ_model::Level;

#[component]
pub fn AssessmentCard(plan: std::sync::Arc<Plan>, report: Report) -> impl IntoView {
    let i18n = use_i18n();
    // Drawn again when the language changes.
    move || {
        let locale = i18n.get_locale();
        let Some(ranking) = rank(&plan, &report) else {
            return ().into_any();
        };
        let Some(assessment) = plan.assessment.as_ref() else {
            return ().into_any();
        };
        let item_of = |id: &str| -> Option<&Item> { assessment.items.iter().find(|i| i.id == id) };
        if ranking.rows.is_empty() {
            return view! {
                <section class="card" data-testid="assessment">
                    <h2>{ranking.name.clone()}</h2>
                    <p class="empty">{t!(i18n, assessment.no_parts)}</p>
                </section>
            }
            .into_any();
        }
        let rows = ranking
            .rows
            .iter()
            .map(|row| {
                let code = row.area.code.clone();
                let name = row.area.name.clone();
                let unit_link = match row.area.level {
                    Level::Town => view! { <a href=format!("/town/{code}")>{name.clone()}</a> }.into_any(),
                    _ => view! { <span>{name.clone()}</span> }.into_any(),
                };
                let child = report.children.iter().find(|c| c.area.code == code);
                let items = row
                    .items
                    .iter()
                    .filter_map(|s| {
                        let item = item_of(&s.item)?;
                        let ind = plan.indicator(&s.indicator)?;
                        let cell = child?.cells.iter().find(|c| c.indicator == s.indicator)?;
                        let href = format::figure_records_href(&code, &ind.id, &plan.id, None);
                        let score = match s.score {
                            Some(p) => format!("{} / {}", number(p), number(item.points)),
                            None => t_string!(i18n, assessment.no_target).to_string(),
                        };
                        Some(view! {
                            <li data-item=item.id.clone()>
                                <div class="item-head">
                                    <span>{item.name.clone()}</span>
                                    <strong data-testid="item-score">{score}</strong>
                                </div>
                                <div class="muted">
                                    <a class="figure-link" href=href data-testid="item-figure">
                                        {format!("{}:{}", ind.name, format::value(cell, &ind.unit, locale))}
                                    </a>
                                    {tf!(i18n, assessment.item_rule, target = format::target(cell.target.as_ref(), cell.kind, &ind.unit, locale), rule = format::rule(item.rule, locale))}
                                </div>
                            </li>
                        })
                    })
                    .collect_view();
                view! {
                    <li data-unit=code.clone() data-testid="ranked-unit">
                        <details>
                            <summary>
                                <span class="rank" data-testid="rank">{tf!(i18n, assessment.rank, n = row.rank)}</span>
                                <span class="unit-name">{unit_link}</span>
                                <span class="score">
                                    <strong data-testid="total">{tf!(i18n, assessment.points, n = number(row.total))}</strong>
                                    <span class="muted">{format!(" / {}", number(row.most))}</span>
                                </span>
                            </summary>
                            <ul class="breakdown">{items}</ul>
                        </details>
                    </li>
                }
            })
            .collect_view();
        view! {
            <section class="card" data-testid="assessment">
                <h2>{ranking.name.clone()}</h2>
                <p class="muted">{tf!(i18n, assessment.how, unit = ranking.unit.name)}</p>
                <ol class="ranking">{rows}</ol>
                {(!assessment.note.is_empty()).then(|| view! { <p class="muted">{assessment.note.clone()}</p> })}
            </section>
        }
        .into_any()
    }
}
