//! The worker's home: the unit's records, what is not yet synced, and the forms to fill in.

use crate::components::held_records::HeldRecords;
use crate::components::later::WallInboxes;
use crate::components::record_pages::RecordPages;
use crate::components::sync_bar::SyncBar;
use crate::i18n::{t, t_string, use_i18n};
use crate::state::use_state;
use crate::tf;
use leptos::prelude::*;
use shequ_model::auth::{Account, AuthFailure, Holding, Role};
use shequ_model::{Level, UnitCode};

#[component]
pub fn Home() -> impl IntoView {
    let state = use_state();
    // A renewed session keeps the page as it is.
    let account = Memo::new(move |_| state.account());
    move || {
        let account = account.get()?;
        Some(if account.role.records() {
            view! { <UnitHome code=account.unit.to_string()/> }.into_any()
        } else {
            view! { <ReaderHome account=account/> }.into_any()
        })
    }
}

/// The home of an account that records nothing: the county administrator, and the city and
/// province supervisors, who read their unit's figures and records from the server.
#[component]
fn ReaderHome(account: Account) -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let board = if account.role == Role::CountyAdmin {
        "/county".to_string()
    } else {
        format!("/unit/{}", UnitCode::in_path(account.unit.as_str()))
    };
    let role = account.role;
    let label = move || match role {
        Role::NationSupervisor => t_string!(i18n, home.nation_board),
        Role::ProvinceSupervisor => t_string!(i18n, home.province_board),
        Role::CitySupervisor => t_string!(i18n, home.city_board),
        _ => t_string!(i18n, home.county_board),
    };
    view! {
        <header class="bar">
            <h1>{t!(i18n, app.name)}</h1>
            <span class="muted">{account.name.clone()}</span>
            <button class="btn small" on:click=move |_| state.log_out()>{t!(i18n, home.log_out)}</button>
        </header>
        <Blocked/>
        <SyncBar/>
        <nav class="card tiles">
            <a class="tile" href=board>{label}</a>
            {account.is_admin().then(|| view! {
                <a class="tile" href="/targets">{t!(i18n, targets.tile)}</a>
                <a class="tile" href="/admin">{t!(i18n, home.admin)}</a>
            })}
        </nav>
        // The whole country's records are no list to page through: its report leads to them.
        {(account.role.holding() == Holding::Read && account.unit.level() != Level::Nation)
            .then(|| view! { <RecordPages unit=account.unit.to_string()/> })}
    }
}

/// What the worker is told when the server refused this phone.
#[component]
fn Blocked() -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    move || {
        state.blocked.get().map(|b| match b {
            AuthFailure::Revoked => view! {
                <section class="conflict" role="alert" data-testid="revoked">
                    <strong>{t!(i18n, home.revoked)}</strong>
                    <p>{t!(i18n, home.revoked_help)}</p>
                    <button class="btn" on:click=move |_| state.export_unsynced()>{t!(i18n, sync.export)}</button>
                    <button class="btn" on:click=move |_| state.log_out()>{t!(i18n, home.log_out_full)}</button>
                </section>
            }.into_any(),
            _ => view! {
                <section class="conflict" role="alert" data-testid="expired">
                    <strong>{t!(i18n, home.expired)}</strong>
                    <p>{t!(i18n, home.expired_help)}</p>
                    <button class="btn primary" on:click=move |_| state.log_out()>{t!(i18n, home.log_in_again)}</button>
                </section>
            }.into_any(),
        })
    }
}

/// The home of a worker or supervisor: their unit (a village or community, or a town) with its
/// forms and the records the phone holds for it, a town's grouped by village.
#[component]
fn UnitHome(code: String) -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let name = {
        let code = code.clone();
        move || {
            state
                .area(&code)
                .map(|a| a.name)
                .unwrap_or_else(|| code.clone())
        }
    };
    let name_for_link = name.clone();
    let town = {
        let code = code.clone();
        move || state.area(&code).and_then(|a| state.area(&a.parent))
    };
    // The forms this account fills in: village forms for a village, town forms for a town.
    let level = {
        let code = code.clone();
        move || state.area(&code).map(|a| a.level)
    };
    let scope = UnitCode::parse(&code).ok();
    // The public wish wall of the worker's town (a village's parent), or of the town itself.
    let wall = scope.as_ref().and_then(|s| match s.level() {
        Level::Village => s.parent(),
        Level::Town => Some(s.clone()),
        _ => None,
    });
    let village = scope.as_ref().is_some_and(|s| s.level() == Level::Village);
    let heading = move || {
        if village {
            t_string!(i18n, home.own_records)
        } else {
            t_string!(i18n, home.area_records)
        }
    };
    let forms = move || {
        let level = level();
        state.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.forms
                        .iter()
                        .filter(|f| Some(f.level) == level)
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <header class="bar">
            <h1>{name}</h1>
            <span class="muted">{let town = town.clone(); move || town().map(|t| t.name)}</span>
            <button class="btn small" on:click=move |_| state.log_out()>{t!(i18n, home.log_out)}</button>
        </header>
        <Blocked/>
        <SyncBar/>
        {village.then(|| {
            let saved = Callback::new(move |()| leptos::task::spawn_local(state.record_saved()));
            view! { <WallInboxes unit=code.clone() saved=saved/> }
        })}
        <section class="card">
            <h2>{t!(i18n, home.fill_in)}</h2>
            <div class="form-grid">
                {move || forms().into_iter().map(|f| view! {
                    <a class="tile" href=format!("/new/{}", f.id) data-form=f.id.clone()>{f.name.clone()}</a>
                }).collect_view()}
            </div>
        </section>
        <section class="card" data-testid="held-records">
            <h2>{heading}</h2>
            {scope.map(|scope| view! { <HeldRecords scope=scope/> })}
        </section>
        <nav class="links">
            <a href=format!("/unit/{code}")>{move || tf!(i18n, home.progress, unit = name_for_link())}</a>
            // The server's own page, outside the app: what residents and helpers see.
            {wall.map(|w| view! { <a href=format!("/wall/{w}") rel="external" data-testid="wall-link">{t!(i18n, home.wall)}</a> })}
        </nav>
    }
}
