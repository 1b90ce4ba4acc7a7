//! Logging in, and choosing a new password when the account has a one-time one.

use crate::api;
use crate::state::use_state;
use crate::store::Db;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shequ_model::auth::{LoginRequest, PasswordChange};

#[component]
pub fn Login() -> impl IntoView {
    let state = use_state();
    let (username, set_username) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_busy.set(true);
        set_error.set(None);
        spawn_local(async move {
            let device = match Db::get().await {
                Ok(db) => db.device_id().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let req = LoginRequest {
                username: username.get_untracked().trim().to_string(),
                password: password.get_untracked(),
                device,
            };
            match api::login(&req).await {
                Ok(session) => state.logged_in(session),
                Err(e) => set_error.set(Some(e.message)),
            }
            set_busy.set(false);
        });
    };
    view! {
        <header class="bar"><h1>"社区建设工作台"</h1></header>
        <form class="card" on:submit=submit data-testid="login">
            <h2>"登录"</h2>
            <label>"用户名"
                <input name="username" autocomplete="username" autocapitalize="none" prop:value=username
                    on:input=move |ev| set_username.set(event_target_value(&ev))/>
            </label>
            <label>"密码"
                <input name="password" type="password" autocomplete="current-password" prop:value=password
                    on:input=move |ev| set_password.set(event_target_value(&ev))/>
            </label>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="submit" class="btn primary big" disabled=move || busy.get()>"登录"</button>
            <p class="muted">"登录后,本机可在没有网络时继续填报。"</p>
        </form>
    }
}

#[component]
pub fn ChangePassword() -> impl IntoView {
    let state = use_state();
    let (old, set_old) = signal(String::new());
    let (new, set_new) = signal(String::new());
    let (message, set_message) = signal(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        spawn_local(async move {
            let req = PasswordChange {
                old: old.get_untracked(),
                new: new.get_untracked(),
            };
            match api::change_password(&req).await {
                Ok(_) => {
                    if let Some(mut s) = state.session.get_untracked() {
                        s.must_change_password = false;
                        state.logged_in(s);
                    }
                }
                Err(e) => set_message.set(Some(e.message)),
            }
        });
    };
    view! {
        <header class="bar"><h1>"设置新密码"</h1></header>
        <form class="card" on:submit=submit>
            <p>"这是一次性密码,请先设置自己的密码。"</p>
            <label>"当前密码"<input type="password" name="old" on:input=move |ev| set_old.set(event_target_value(&ev))/></label>
            <label>"新密码(至少8位,含字母、数字、符号中的两种)"<input type="password" name="new" on:input=move |ev| set_new.set(event_target_value(&ev))/></label>
            {move || message.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="submit" class="btn primary big">"保存新密码"</button>
        </form>
    }
}
