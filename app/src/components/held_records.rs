//! The records a phone that keeps its scope holds for it: a village's for its worker, a whole
//! town's for its supervisor, grouped by village. Narrowed by form, month, step and title, with
//! the filter in the page's address so that back and forward keep it; what is listed, and in
//! which order, is [`listing::held`]'s, and at most a page more is shown at each tap.

use crate::components::format;
use crate::i18n::{t, t_string, td_string, use_i18n, Locale};
use crate::state::{use_state, AppState};
use crate::store::{Db, LocalRecord, StoreError};
use crate::tf;
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use leptos_router::NavigateOptions;
use shequ_model::auth::Account;
use shequ_model::listing::{self, Filter, Group, Row};
use shequ_model::month::{china_date, Month};
use shequ_model::plan::Plan;
use shequ_model::UnitCode;
use std::sync::Arc;

/// Records shown at first, and added by each 显示更多.
const SHOWN: usize = 50;

#[component]
pub fn HeldRecords(scope: UnitCode) -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let grouped = scope.level() != shequ_model::Level::Village;
    let scope = StoredValue::new(scope);
    let records = LocalResource::new(move || {
        state.track_records();
        async move {
            let list = Db::get().await?.records_under(&scope.get_value()).await?;
            Ok::<_, StoreError>(Arc::new(list))
        }
    });
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        Filter::from_query(|k| q.get(k))
    });
    let navigate = use_navigate();
    let location = use_location();
    let set_filter = move |f: Filter| {
        let query: ParamsMap = f.query().into_iter().collect();
        let to = format!(
            "{}{}",
            location.pathname.get_untracked(),
            query.to_query_string()
        );
        let options = NavigateOptions {
            replace: true,
            scroll: false,
            ..Default::default()
        };
        navigate(&to, options);
    };
    let change = move |edit: fn(&mut Filter, String)| {
        let set_filter = set_filter.clone();
        move |ev| {
            let mut f = filter.get_untracked();
            edit(&mut f, event_target_value(&ev));
            set_filter(f);
        }
    };
    let (limit, set_limit) = signal(SHOWN);

    let held = move || -> Option<Arc<Vec<LocalRecord>>> { records.get()?.ok() };
    let months = move || {
        let held = held()?;
        let legacy = state.legacy_plan.get();
        state
            .plans
            .with(|p| p.as_ref().map(|p| listing::months_held(&held, p, &legacy)))
    };
    let steps = move || {
        let form = filter.with(|f| f.form.clone());
        state.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    listing::step_choices(p, form.as_deref())
                        .into_iter()
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let selected = move |get: fn(&Filter) -> Option<String>, value: String| {
        move || filter.with(get) == Some(value.clone())
    };

    let list = move || {
        let held = match records.get() {
            None => return ().into_any(),
            Some(Err(e)) => {
                return view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()
            }
            Some(Ok(held)) => held,
        };
        let legacy = state.legacy_plan.get();
        let current = state.plan.get();
        let filter = filter.get();
        let locale = i18n.get_locale();
        let account = state.account();
        state.plans.with(|plans| {
            let Some(plans) = plans.as_ref() else {
                return ().into_any();
            };
            let list = listing::held(&held, plans, &legacy, &filter, limit.get());
            let groups = list
                .groups
                .iter()
                .map(|g| group(state, g, grouped, current.as_deref(), account.as_ref(), locale))
                .collect_view();
            let count = if list.matched == list.shown {
                tf!(i18n, records.count, n = list.matched)
            } else {
                tf!(i18n, records.count_shown, n = list.matched, shown = list.shown)
            };
            let more = (list.shown < list.matched).then(|| {
                view! {
                    <button class="btn" data-testid="show-more" on:click=move |_| set_limit.update(|n| *n += SHOWN)>{t!(i18n, records.show_more)}</button>
                }
            });
            let empty = if held.iter().all(|r| r.rev.deleted) {
                t_string!(i18n, records.none)
            } else {
                t_string!(i18n, records.none_matching)
            };
            view! {
                <p class="muted" data-testid="record-count">{count}</p>
                {(list.matched == 0).then(|| view! { <p class="muted">{empty}</p> })}
                {groups}
                {more}
            }
            .into_any()
        })
    };

    view! {
        <div class="held-filters" data-testid="record-filters">
            <label>{t!(i18n, records.form)}
                <select data-testid="filter-form" on:change=change(|f, v| {
                    f.form = (!v.is_empty()).then_some(v);
                    f.step = None;
                })>
                    <option value="">{t!(i18n, records.all)}</option>
                    {move || state.form_choices().into_iter().map(|(id, name)| view! {
                        <option value=id.clone() selected=selected(|f| f.form.clone(), id)>{name}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, records.month)}
                <select data-testid="filter-month" on:change=change(|f, v| f.month = Month::parse(&v).ok())>
                    <option value="">{t!(i18n, records.all)}</option>
                    {move || months().unwrap_or_default().into_iter().map(|m| {
                        let m = m.to_string();
                        view! {
                            <option value=m.clone() selected=selected(|f| f.month.map(|m| m.to_string()), m.clone())>{m.clone()}</option>
                        }
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, records.step)}
                <select data-testid="filter-step" on:change=change(|f, v| f.step = (!v.is_empty()).then_some(v))>
                    <option value="">{t!(i18n, records.all)}</option>
                    {move || steps().into_iter().map(|s| view! {
                        <option value=s.clone() selected=selected(|f| f.step.clone(), s.clone())>{s.clone()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>{t!(i18n, records.title)}
                <input type="search" data-testid="filter-title" placeholder=move || t_string!(i18n, records.search_title)
                    prop:value=move || filter.with(|f| f.title.clone())
                    on:input=change(|f, v| f.title = v)/>
            </label>
        </div>
        {list}
    }
}

/// One unit's records; under its name when the list holds several units.
fn group(
    state: AppState,
    g: &Group,
    grouped: bool,
    current: Option<&Plan>,
    account: Option<&Account>,
    locale: Locale,
) -> AnyView {
    let rows = g
        .rows
        .iter()
        .map(|r| row(r, current, account, locale))
        .collect_view();
    if !grouped {
        return view! { <ul class="records">{rows}</ul> }.into_any();
    }
    let code = g.unit.to_string();
    let name = state.area(&code).map(|a| a.name).unwrap_or(code.clone());
    view! {
        <section class="unit-group" data-testid="unit-group" data-unit=code>
            <h3>{name}</h3>
            <ul class="records">{rows}</ul>
        </section>
    }
    .into_any()
}

/// A record: its title, step, form, the day it was recorded and by whom, and its sync state. It
/// opens for editing where the account may change it, read-only elsewhere.
fn row(
    r: &Row,
    current: Option<&Plan>,
    account: Option<&Account>,
    locale: Locale,
) -> impl IntoView {
    let held = r.held;
    let id = held.rev.record;
    let editable = r
        .form
        .zip(account)
        .is_some_and(|(f, a)| a.may_write(f.level, &held.rev.unit));
    let href = if editable {
        format!("/record/{id}")
    } else {
        format!("/view/{id}")
    };
    let title = r
        .title
        .unwrap_or(td_string!(locale, records.untitled))
        .to_string();
    let form_name = r
        .form
        .map(|f| f.name.clone())
        .unwrap_or_else(|| held.rev.form.clone());
    let date = r.made_at.map(china_date).unwrap_or_default();
    let author = held
        .author
        .clone()
        .unwrap_or_else(|| td_string!(locale, records.author_unknown).into());
    let other_plan = format::other_plan(r.plan, current, locale);
    let (mark, class) = format::sync_mark(held, locale);
    view! {
        <li class="record listed" data-testid="record" data-synced=held.synced.to_string()>
            <a href=href>
                <div>
                    <span class="title">{title}</span>
                    {r.step.clone().map(|s| view! { <span class="badge" data-testid="record-step">{s}</span> })}
                    {other_plan.map(|p| view! { <span class="badge" data-testid="record-plan">{p}</span> })}
                    <span class=class data-testid="sync-mark">{mark}</span>
                </div>
                <small class="muted" data-testid="record-meta">
                    <span data-testid="record-date">{date}</span>" · "
                    <span data-testid="record-author">{author}</span>" · "{form_name}
                </small>
            </a>
            {held.error.clone().map(|e| view! { <small class="error">{e}</small> })}
        </li>
    }
}
