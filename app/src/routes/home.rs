//! The worker's home: the unit's records, what is not yet synced, and the forms to fill in.

use crate::components::held_records::HeldRecords;
use crate::components::record_pages::RecordPages;
use crate::components::sync_bar::SyncBar;
use crate::state::use_state;
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
    let board = if account.role == Role::CountyAdmin {
        "/county".to_string()
    } else {
        format!("/unit/{}", UnitCode::in_path(account.unit.as_str()))
    };
    let label = match account.role {
        Role::NationSupervisor => "全国看板",
        Role::ProvinceSupervisor => "省级看板",
        Role::CitySupervisor => "市级看板",
        _ => "县级看板",
    };
    view! {
        <header class="bar">
            <h1>"社区建设工作台"</h1>
            <span class="muted">{account.name.clone()}</span>
            <button class="btn small" on:click=move |_| state.log_out()>"退出"</button>
        </header>
        <Blocked/>
        <SyncBar/>
        <nav class="card tiles">
            <a class="tile" href=board>{label}</a>
            {account.is_admin().then(|| view! {
                <a class="tile" href="/targets">"各镇目标"</a>
                <a class="tile" href="/admin">"账号与设备"</a>
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
    move || {
        state.blocked.get().map(|b| match b {
            AuthFailure::Revoked => view! {
                <section class="conflict" role="alert" data-testid="revoked">
                    <strong>"此设备已被管理员停用,不能再同步。"</strong>
                    <p>"未同步的记录仍保存在本机。请导出后交给管理员,或换用别的手机登录。"</p>
                    <button class="btn" on:click=move |_| state.export_unsynced()>"导出未同步记录"</button>
                    <button class="btn" on:click=move |_| state.log_out()>"退出登录"</button>
                </section>
            }.into_any(),
            _ => view! {
                <section class="conflict" role="alert" data-testid="expired">
                    <strong>"登录已过期,请重新登录。"</strong>
                    <p>"本机的记录不会丢失,重新登录后继续同步。"</p>
                    <button class="btn primary" on:click=move |_| state.log_out()>"重新登录"</button>
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
    let heading = if scope.as_ref().is_some_and(|s| s.level() == Level::Village) {
        "本单位记录"
    } else {
        "辖区记录(按村、社区)"
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
            <button class="btn small" on:click=move |_| state.log_out()>"退出"</button>
        </header>
        <Blocked/>
        <SyncBar/>
        <section class="card">
            <h2>"填报"</h2>
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
            <a href=format!("/unit/{code}")>{move || format!("{}进度", name_for_link())}</a>
        </nav>
    }
}
