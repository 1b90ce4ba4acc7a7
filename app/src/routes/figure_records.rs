//! The records behind one figure: an indicator, for a unit and everything under it, under one
//! plan, now or as of a month, all in the page's address so it can be linked
//! (`/records?unit=..&indicator=..&plan=..&as_of=..`).

use crate::components::record_pages::{Behind, RecordPages};
use crate::i18n::{t, use_i18n};
use crate::state::use_state;
use crate::tf;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use shequ_model::plan::PlanId;

#[component]
pub fn FigureRecords() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let asked = Memo::new(move |_| {
        let q = query.read();
        let unit = q.get("unit")?;
        let behind = Behind {
            indicator: q.get("indicator")?,
            plan: q.get("plan").and_then(|p| PlanId::parse(&p).ok()),
            as_of: q.get("as_of").filter(|m| !m.is_empty()),
        };
        Some((unit, behind))
    });
    move || match asked.get() {
        Some((unit, behind)) => view! { <Listing unit=unit behind=behind/> }.into_any(),
        None => view! { <p class="empty">{t!(i18n, app.not_found)}</p> }.into_any(),
    }
}

#[component]
fn Listing(unit: String, behind: Behind) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_state();
    let title = {
        let (unit, behind) = (unit.clone(), behind.clone());
        move || {
            let unit_name = state
                .area(&unit)
                .map(|a| a.name)
                .unwrap_or_else(|| unit.clone());
            let indicator = state.plans.with(|p| {
                p.as_ref()
                    .and_then(|p| match &behind.plan {
                        Some(id) => p.get(id),
                        None => Some(p.current()),
                    })
                    .and_then(|p| p.indicator(&behind.indicator))
                    .map(|i| i.name.clone())
                    .unwrap_or_else(|| behind.indicator.clone())
            });
            match &behind.as_of {
                Some(m) => tf!(
                    i18n,
                    figure.title_as_of,
                    unit = unit_name,
                    indicator = indicator,
                    month = m
                ),
                None => format!("{unit_name} · {indicator}"),
            }
        }
    };
    let back = format!("/unit/{unit}");
    view! {
        <header class="bar">
            <a href=back class="back">{t!(i18n, figure.back)}</a>
            <h1 data-testid="figure-records-title">{title}</h1>
        </header>
        <RecordPages unit=unit behind=behind/>
    }
}
