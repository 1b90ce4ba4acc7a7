//! Logging in, and choosing a new password when the account has a one-time one: the one gate
//! every page passes through.

use crate::api;
use crate::i18n::{t, use_i18n};
use crate::state::use_state;
use crate::store::Db;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use shequ_model::auth::{LoginRequest, PasswordChange};

/// Where the account stands before any page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gate {
    LogIn,
    ChangePassword,
    In,
}

/// Shows its pages only to a logged-in account that has chosen its own password; anyone else
/// logs in (or sets a password) first, on whatever address they opened.
#[component]
pub fn SignedIn(children: ChildrenFn) -> impl IntoView {
    let state = use_state();
    // A renewed session keeps the pages as they are: only a change of gate redraws.
    let gate = Memo::new(move |_| {
        state.session.with(|s| match s {
            None => Gate::LogIn,
            Some(s) if s.must_change_password => Gate::ChangePassword,
            Some(_) => Gate::In,
        })
    });
    move || match gate.get() {
        Gate::LogIn => view! { <Login/> }.into_any(),
        Gate::ChangePassword => view! { <ChangePassword/> }.into_any(),
        Gate::In => children().into_any(),
    }
}

/// What was typed into index.html's login form before the app ran (its inputs are
/// `#boot-username` and `#boot-password`; gate.js marks a sent form `data-sent`).
#[derive(Default)]
struct Typed {
    username: String,
    password: String,
    sent: bool,
    /// The input the cursor was in, by its `name`.
    focused: Option<String>,
}

impl Typed {
    fn before_app() -> Self {
        let doc = document();
        let value = |id: &str| {
            doc.get_element_by_id(id)
                .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
                .map(|i| i.value())
                .unwrap_or_default()
        };
        let Some(form) = doc.get_element_by_id("boot-login") else {
            return Self::default();
        };
        Self {
            username: value("boot-username"),
            password: value("boot-password"),
            sent: form.has_attribute("data-sent"),
            focused: doc
                .active_element()
                .filter(|e| form.contains(Some(e)))
                .and_then(|e| e.get_attribute("name")),
        }
    }
}

#[component]
fn Login() -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let typed = Typed::before_app();
    let (username, set_username) = signal(typed.username.clone());
    let (password, set_password) = signal(typed.password.clone());
    let (username_input, password_input) = (NodeRef::new(), NodeRef::new());
    let login = Action::new_local(move |(username, password): &(String, String)| {
        let (username, password) = (username.trim().to_string(), password.clone());
        async move {
            let device = match Db::get().await {
                Ok(db) => db.device_id().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let req = LoginRequest {
                username,
                password,
                device,
            };
            let session = api::login(&req).await.map_err(|e| e.message)?;
            state.logged_in(session);
            Ok::<_, String>(())
        }
    });
    let error = move || login.value().get().and_then(Result::err);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        login.dispatch_local((username.get_untracked(), password.get_untracked()));
    };
    if typed.sent && !typed.username.trim().is_empty() {
        login.dispatch_local((typed.username, typed.password));
    }
    // The cursor stays in the field it was in, so typing goes on across the change of screen.
    let focused = typed.focused;
    Effect::new(move || {
        let input: Option<web_sys::HtmlInputElement> = match focused.as_deref() {
            Some("username") => username_input.get(),
            Some("password") => password_input.get(),
            _ => None,
        };
        if let Some(input) = input {
            let _ = input.focus();
        }
    });
    view! {
        <header class="bar"><h1>{t!(i18n, app.name)}</h1></header>
        <form class="card" on:submit=submit data-testid="login">
            <h2>{t!(i18n, login.title)}</h2>
            <label>{t!(i18n, login.username)}
                <input name="username" autocomplete="username" autocapitalize="none" prop:value=username node_ref=username_input
                    on:input=move |ev| set_username.set(event_target_value(&ev))/>
            </label>
            <label>{t!(i18n, login.password)}
                <input name="password" type="password" autocomplete="current-password" prop:value=password node_ref=password_input
                    on:input=move |ev| set_password.set(event_target_value(&ev))/>
            </label>
            {move || (!login.pending().get()).then(error).flatten().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="submit" class="btn primary big" disabled=move || login.pending().get()>{t!(i18n, login.submit)}</button>
            <p class="muted">{t!(i18n, login.offline_note)}</p>
        </form>
    }
}

#[component]
fn ChangePassword() -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let (old, set_old) = signal(String::new());
    let (new, set_new) = signal(String::new());
    let change = Action::new_local(move |req: &PasswordChange| {
        let req = req.clone();
        async move {
            api::change_password(&req).await.map_err(|e| e.message)?;
            if let Some(mut s) = state.session.get_untracked() {
                s.must_change_password = false;
                state.logged_in(s);
            }
            Ok::<_, String>(())
        }
    });
    let message = move || change.value().get().and_then(Result::err);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        change.dispatch_local(PasswordChange {
            old: old.get_untracked(),
            new: new.get_untracked(),
        });
    };
    view! {
        <header class="bar"><h1>{t!(i18n, login.new_password_title)}</h1></header>
        <form class="card" on:submit=submit>
            <p>{t!(i18n, login.one_time)}</p>
            <label>{t!(i18n, login.current_password)}<input type="password" name="old" on:input=move |ev| set_old.set(event_target_value(&ev))/></label>
            <label>{t!(i18n, login.new_password)}<input type="password" name="new" on:input=move |ev| set_new.set(event_target_value(&ev))/></label>
            {move || message().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="submit" class="btn primary big" disabled=move || change.pending().get()>{t!(i18n, login.save_password)}</button>
        </form>
    }
}
