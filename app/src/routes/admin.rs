//! The county administrator's page: accounts, the devices logged in (and revoking a lost one),
//! and the audit trail.

use crate::api;
use crate::components::format;
use crate::i18n::{t, t_string, use_i18n};
use crate::state::use_state;
use crate::{language, tc};
use leptos::prelude::*;
use shequ_model::auth::{
    Account, AccountChange, AuditFilter, ManagedAccount, NewAccount, Role, SessionInfo,
};
use shequ_model::Level;

#[component]
pub fn AdminPage() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_state();
    let admin = Memo::new(move |_| state.account().is_some_and(|a| a.is_admin()));
    move || match admin.get() {
        true => view! { <AdminTables/> }.into_any(),
        false => view! { <p class="empty">{t!(i18n, admin.only_county)}</p> }.into_any(),
    }
}

#[derive(Clone)]
struct Tables {
    accounts: Vec<ManagedAccount>,
    sessions: Vec<SessionInfo>,
}

#[component]
fn AdminTables() -> impl IntoView {
    let i18n = use_i18n();
    let state = use_state();
    let tables = LocalResource::new(|| async {
        Ok::<_, String>(Tables {
            accounts: api::accounts().await.map_err(|e| e.message)?,
            sessions: api::sessions().await.map_err(|e| e.message)?,
        })
    });
    let reload = move || tables.refetch();
    let revoke = Action::new_local(move |id: &String| {
        let id = id.clone();
        async move {
            api::revoke(&id).await.map_err(|e| e.message)?;
            tables.refetch();
            Ok::<_, String>(())
        }
    });
    let error = move || {
        revoke
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| tables.get().and_then(Result::err))
    };
    let accounts = move || {
        tables
            .map(|t| t.as_ref().map(|t| t.accounts.clone()).unwrap_or_default())
            .unwrap_or_default()
    };
    let sessions = move || {
        tables
            .map(|t| t.as_ref().map(|t| t.sessions.clone()).unwrap_or_default())
            .unwrap_or_default()
    };
    let accounts_listed = Signal::derive(move || {
        accounts()
            .into_iter()
            .map(|m| m.account)
            .collect::<Vec<_>>()
    });
    // What the last change of an account said: done, refused, or the one-time password to hand
    // over (shown once, never kept on the phone).
    let changed = RwSignal::new(None::<Result<String, String>>);
    let change = Action::new_local(move |(username, change): &(String, AccountChange)| {
        let (username, change) = (username.clone(), change.clone());
        async move {
            let said = match api::change_account(&username, &change).await {
                Ok(a) => Ok(if a.disabled {
                    tc!(
                        admin.saved_disabled,
                        username = a.account.username,
                        name = a.account.name,
                        role = format::role(a.account.role, language::current())
                    )
                } else {
                    tc!(
                        admin.saved,
                        username = a.account.username,
                        name = a.account.name,
                        role = format::role(a.account.role, language::current())
                    )
                }),
                Err(e) => Err(e.message),
            };
            changed.set(Some(said));
            tables.refetch();
        }
    });
    let reset = Action::new_local(move |username: &String| {
        let username = username.clone();
        async move {
            let said = match api::reset_password(&username).await {
                Ok(r) => Ok(tc!(
                    admin.new_password,
                    username = r.username,
                    password = r.password
                )),
                Err(e) => Err(e.message),
            };
            changed.set(Some(said));
            tables.refetch();
        }
    });
    let editing = RwSignal::new(None::<String>);
    let area_name = move |code: &str| {
        state
            .area(code)
            .map(|a| a.name)
            .unwrap_or_else(|| code.to_string())
    };
    view! {
        <header class="bar">
            <a href="/" class="back">{t!(i18n, app.back)}</a>
            <h1>{t!(i18n, home.admin)}</h1>
        </header>
        {move || error().map(|e| view! { <p class="error card" role="alert">{e}</p> })}
        <NewAccountForm on_done=reload />
        <section class="card wide">
            <h2>{t!(i18n, admin.accounts)}</h2>
            {move || changed.get().map(|m| match m {
                Ok(text) => view! { <p class="notice" role="status" data-testid="account-changed">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert" data-testid="account-refused">{text}</p> }.into_any(),
            })}
            <div class="scroll"><table class="figures" data-testid="accounts">
                <thead><tr><th>{t!(i18n, admin.username)}</th><th>{t!(i18n, admin.name)}</th><th>{t!(i18n, admin.role)}</th><th>{t!(i18n, admin.unit)}</th><th>{t!(i18n, admin.state)}</th><th></th></tr></thead>
                <tbody>{move || accounts().into_iter().map(|m| {
                    let a = m.account.clone();
                    let me = state.account().is_some_and(|s| s.username == a.username);
                    let (toggle, set_to) = if m.disabled { (t_string!(i18n, admin.enable), false) } else { (t_string!(i18n, admin.disable), true) };
                    let u1 = a.username.clone();
                    let u2 = a.username.clone();
                    let u3 = a.username.clone();
                    let u4 = a.username.clone();
                    view! {
                        <tr data-account=a.username.clone() class:disabled=m.disabled>
                            <td>{a.username.clone()}</td><td>{a.name.clone()}</td><td>{format::role(a.role, i18n.get_locale())}</td><td>{area_name(a.unit.as_str())}</td>
                            <td data-testid="account-state">{if m.disabled { t_string!(i18n, admin.disabled) } else { t_string!(i18n, admin.may_log_in) }}</td>
                            <td class="actions">{(!me).then(|| view! {
                                <button class="btn small" class:danger=set_to data-testid="toggle-account"
                                    on:click=move |_| { change.dispatch_local((u1.clone(), AccountChange { disabled: Some(set_to), ..Default::default() })); }>{toggle}</button>
                                <button class="btn small" data-testid="reset-password" on:click=move |_| { reset.dispatch_local(u2.clone()); }>{t!(i18n, admin.reset_password)}</button>
                                <button class="btn small" data-testid="edit-account" on:click=move |_| editing.set(Some(u3.clone()))>{t!(i18n, admin.edit)}</button>
                            })}</td>
                        </tr>
                        {move || (editing.get().as_deref() == Some(u4.as_str())).then(|| {
                            let a = a.clone();
                            view! { <tr class="edit-row"><td colspan="6"><EditAccount account=a editing=editing change=change/></td></tr> }
                        })}
                    }
                }).collect_view()}</tbody>
            </table></div>
        </section>
        <section class="card wide">
            <h2>{t!(i18n, admin.devices)}</h2>
            <p class="muted">{t!(i18n, admin.devices_help)}</p>
            <div class="scroll"><table class="figures" data-testid="sessions">
                <thead><tr><th>{t!(i18n, admin.username)}</th><th>{t!(i18n, admin.device)}</th><th>{t!(i18n, admin.logged_in_at)}</th><th>{t!(i18n, admin.state)}</th><th></th></tr></thead>
                <tbody>{move || sessions().into_iter().map(|s| {
                    let id = s.id.clone();
                    let active = s.revoked_at.is_none();
                    view! {
                        <tr data-session=s.id.clone() data-username=s.username.clone()>
                            <td>{s.username.clone()}</td>
                            <td>{s.device.chars().take(8).collect::<String>()}</td>
                            <td>{format::time(s.created_at as u64)}</td>
                            <td>{if active { t_string!(i18n, admin.in_use) } else { t_string!(i18n, admin.disabled) }}</td>
                            <td>{active.then(|| view! { <button class="btn small danger" on:click=move |_| { revoke.dispatch_local(id.clone()); }>{t!(i18n, admin.disable)}</button> })}</td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table></div>
        </section>
        <AuditTrail accounts=accounts_listed/>
    }
}

/// An account's name, role and unit changed in place, with the same checks as a new account's.
#[component]
fn EditAccount(
    account: Account,
    editing: RwSignal<Option<String>>,
    change: Action<(String, AccountChange), ()>,
) -> impl IntoView {
    let i18n = use_i18n();
    let (name, set_name) = signal(account.name.clone());
    let role = RwSignal::new(account.role.as_str().to_string());
    let unit = RwSignal::new(account.unit.to_string());
    let username = account.username.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(r) = Role::parse(&role.get_untracked()) else {
            return;
        };
        change.dispatch_local((
            username.clone(),
            AccountChange {
                name: Some(name.get_untracked()),
                role: Some(r),
                unit: Some(unit.get_untracked()),
                disabled: None,
            },
        ));
        editing.set(None);
    };
    view! {
        <form class="edit-account" on:submit=submit data-testid="edit-account-form">
            <label>{t!(i18n, admin.name)}<input name="edit-name" prop:value=name on:input=move |ev| set_name.set(event_target_value(&ev))/></label>
            <RoleAndUnit name="edit" role=role unit=unit/>
            <button type="submit" class="btn primary small">{t!(i18n, record.save)}</button>
            <button type="button" class="btn small" on:click=move |_| editing.set(None)>{t!(i18n, admin.cancel)}</button>
        </form>
    }
}

/// An account's role and unit, the unit chosen among the areas of the role's level, the roles
/// those of the administrator's unit and below (an account above it would be out of scope).
#[component]
fn RoleAndUnit(
    name: &'static str,
    role: RwSignal<String>,
    unit: RwSignal<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_state();
    let own = state.account().map(|a| a.unit);
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| own.as_ref().is_some_and(|u| r.level() >= u.level()))
        .collect();
    let units = move || {
        let level = Role::parse(&role.get()).map(|r| r.level());
        state.areas.with(|a| {
            a.iter()
                .filter(|x| Some(x.level) == level)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <label>{t!(i18n, admin.role)}
            <select name=format!("{name}-role") on:change=move |ev| { role.set(event_target_value(&ev)); unit.set(String::new()); }>
                {roles.into_iter().map(|r| {
                    let id = r.as_str();
                    view! { <option value=id selected=move || role.get_untracked() == id>{move || format::role(r, i18n.get_locale())}</option> }
                }).collect_view()}
            </select>
        </label>
        <label>{t!(i18n, admin.unit)}
            <select name=format!("{name}-unit") prop:value=unit on:change=move |ev| unit.set(event_target_value(&ev))>
                <option value="">{t!(i18n, field.choose)}</option>
                {move || units().into_iter().map(|a| view! { <option value=a.code.clone()>{a.name.clone()}</option> }).collect_view()}
            </select>
        </label>
    }
}

/// The audit trail, filtered by unit, account, form and dates; each entry opens its record.
#[component]
fn AuditTrail(accounts: Signal<Vec<Account>>) -> impl IntoView {
    let i18n = use_i18n();
    let state = use_state();
    let (unit, set_unit) = signal(String::new());
    let (account, set_account) = signal(String::new());
    let (form, set_form) = signal(String::new());
    let (from, set_from) = signal(String::new());
    let (to, set_to) = signal(String::new());
    let trail = LocalResource::new(move || {
        let unit = unit.get();
        let filter = AuditFilter {
            account: Some(account.get()),
            form: Some(form.get()),
            from: day_start(&from.get(), 0),
            // Through the end of the last day.
            until: day_start(&to.get(), 1),
        };
        async move {
            api::audit((!unit.is_empty()).then_some(unit.as_str()), &filter)
                .await
                .map_err(|e| e.message)
        }
    });
    let area_name = move |code: &str| {
        state
            .area(code)
            .map(|a| a.name)
            .unwrap_or_else(|| code.to_string())
    };
    // The towns and villages under the administrator's unit, towns first.
    let units = move || {
        let mine = state
            .account()
            .map(|a| a.unit.to_string())
            .unwrap_or_default();
        state.areas.with(|areas| {
            let mut under: Vec<(String, String, Level)> = areas
                .iter()
                .filter(|a| a.code != mine && a.code.starts_with(&mine))
                .map(|a| (a.code.clone(), a.name.clone(), a.level))
                .collect();
            under.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
            under
        })
    };
    let forms = move || state.form_choices();
    let rows = move || {
        let plans = state.plans.get();
        let entries = trail.get().and_then(Result::ok).unwrap_or_default();
        entries.into_iter().map(|e| {
            // The current plan's name for the form, else an earlier plan's.
            let form = plans.as_ref().and_then(|p| {
                std::iter::once(p.current()).chain(p.iter()).find_map(|p| p.form(&e.form).map(|f| f.name.clone()))
            }).unwrap_or(e.form.clone());
            view! {
                <tr data-testid="audit-entry">
                    <td>{format::time(e.received_at as u64)}</td>
                    <td>{e.account.clone()}</td>
                    <td>{e.device.chars().take(8).collect::<String>()}</td>
                    <td>{area_name(&e.unit)}</td>
                    <td>{form}</td>
                    <td>{if e.deleted { t_string!(i18n, record.delete) } else { t_string!(i18n, record.save) }}</td>
                    <td><a href=format!("/view/{}", e.record) data-testid="audit-record">{t!(i18n, admin.view_record)}</a></td>
                </tr>
            }
        }).collect_view()
    };
    let error = move || trail.get().and_then(Result::err);
    view! {
        <section class="card wide">
            <h2>{t!(i18n, admin.audit)}</h2>
            <div class="filters">
                <label>{t!(i18n, admin.unit_pick)}
                    <select data-testid="audit-unit" on:change=move |ev| set_unit.set(event_target_value(&ev))>
                        <option value="">{t!(i18n, records.all)}</option>
                        {move || units().into_iter().map(|(code, name, _)| view! { <option value=code>{name}</option> }).collect_view()}
                    </select>
                </label>
                <label>{t!(i18n, admin.account_pick)}
                    <select data-testid="audit-account" on:change=move |ev| set_account.set(event_target_value(&ev))>
                        <option value="">{t!(i18n, records.all)}</option>
                        {move || accounts.get().into_iter().map(|a| view! { <option value=a.username.clone()>{format!("{}({})", a.name, a.username)}</option> }).collect_view()}
                    </select>
                </label>
                <label>{t!(i18n, pages.form)}
                    <select data-testid="audit-form" on:change=move |ev| set_form.set(event_target_value(&ev))>
                        <option value="">{t!(i18n, records.all)}</option>
                        {move || forms().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                    </select>
                </label>
                <label>{t!(i18n, admin.from)}<input type="date" data-testid="audit-from" on:change=move |ev| set_from.set(event_target_value(&ev))/></label>
                <label>{t!(i18n, admin.to)}<input type="date" data-testid="audit-to" on:change=move |ev| set_to.set(event_target_value(&ev))/></label>
            </div>
            {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <div class="scroll"><table class="figures" data-testid="audit">
                <thead><tr><th>{t!(i18n, admin.time)}</th><th>{t!(i18n, admin.account)}</th><th>{t!(i18n, admin.device)}</th><th>{t!(i18n, admin.unit)}</th><th>{t!(i18n, records.form)}</th><th>{t!(i18n, admin.action)}</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table></div>
        </section>
    }
}

/// The start of the day `days` after a `YYYY-MM-DD` date, on the phone's clock, in epoch
/// milliseconds; none for an empty or unreadable date.
fn day_start(date: &str, days: u32) -> Option<i64> {
    if date.is_empty() {
        return None;
    }
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&format!(
        "{date}T00:00:00"
    )));
    d.set_date(d.get_date() + days);
    let ms = d.get_time();
    ms.is_finite().then_some(ms as i64)
}

#[component]
fn NewAccountForm(on_done: impl Fn() + Copy + 'static) -> impl IntoView {
    let i18n = use_i18n();
    let (username, set_username) = signal(String::new());
    let (name, set_name) = signal(String::new());
    let role = RwSignal::new("village_worker".to_string());
    let unit = RwSignal::new(String::new());
    let (password, set_password) = signal(String::new());
    let create = Action::new_local(move |new: &NewAccount| {
        let new = new.clone();
        async move {
            let a = api::create_account(&new).await.map_err(|e| e.message)?;
            on_done();
            Ok::<_, String>(tc!(admin.created, username = a.username))
        }
    });
    let message = move || create.value().get().map(|m| m.unwrap_or_else(|e| e));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(r) = Role::parse(&role.get_untracked()) else {
            return;
        };
        let new = NewAccount {
            username: username.get_untracked(),
            name: name.get_untracked(),
            role: r,
            unit: unit.get_untracked(),
            password: password.get_untracked(),
        };
        create.dispatch_local(new);
    };
    view! {
        <form class="card" on:submit=submit data-testid="new-account">
            <h2>{t!(i18n, admin.new_account)}</h2>
            <label>{t!(i18n, admin.username)}<input name="new-username" on:input=move |ev| set_username.set(event_target_value(&ev))/></label>
            <label>{t!(i18n, admin.name)}<input name="new-name" on:input=move |ev| set_name.set(event_target_value(&ev))/></label>
            <RoleAndUnit name="new" role=role unit=unit/>
            <label>{t!(i18n, admin.one_time_password)}<input name="new-password" on:input=move |ev| set_password.set(event_target_value(&ev))/></label>
            {move || message().map(|m| view! { <p class="muted" role="status">{m}</p> })}
            <button type="submit" class="btn primary">{t!(i18n, admin.create)}</button>
        </form>
    }
}
