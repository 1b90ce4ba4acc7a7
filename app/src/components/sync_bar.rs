//! What is not yet synced, when the phone last synced, whether the server can be reached (离线),
//! and the 同步 button; for an account whose scope is read from the server, only where its figures
//! come from.

use crate::components::format;
use crate::i18n::{t, t_string, use_i18n};
use crate::state::use_state;
use crate::tf;
use leptos::prelude::*;
use shequ_model::auth::Holding;
use shequ_model::client::Progress;

#[component]
pub fn SyncBar() -> impl IntoView {
    let state = use_state();
    move || match state.holding() {
        Some(Holding::Read) => view! { <ReadBar/> }.into_any(),
        _ => view! { <KeptBar/> }.into_any(),
    }
}

/// For an account whose scope is read from the server: nothing of it is synced down, so the bar
/// says where the figures and records come from, and nothing about holding them.
#[component]
fn ReadBar() -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let status = move || {
        if state.offline.get() {
            t_string!(i18n, sync.read_offline)
        } else {
            t_string!(i18n, sync.read_online)
        }
    };
    view! {
        <section class="sync-bar" class:offline=move || state.offline.get() data-testid="sync-bar" data-offline=move || state.offline.get().to_string()>
            <div>
                <strong data-testid="sync-status">{status}</strong>
            </div>
            {move || state.error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}

/// For an account whose scope the phone keeps and syncs.
#[component]
fn KeptBar() -> impl IntoView {
    let state = use_state();
    let i18n = use_i18n();
    let status = move || {
        let offline = state.offline.get();
        if state.syncing.get() && offline {
            t_string!(i18n, sync.offline_trying).to_string()
        } else if state.syncing.get() {
            match state.progress.get() {
                Some(Progress::Pushing { done, of }) => {
                    tf!(i18n, sync.pushing, done = done, of = of)
                }
                Some(Progress::Pulling { pages }) => tf!(i18n, sync.pulling, pages = pages),
                None => t_string!(i18n, sync.syncing).to_string(),
            }
        } else if offline && state.pending.get() == 0 {
            t_string!(i18n, sync.offline_none).to_string()
        } else if offline {
            tf!(i18n, sync.offline_pending, n = state.pending.get())
        } else if state.pending.get() == 0 && state.consistent.get() == Some(true) {
            t_string!(i18n, sync.consistent).to_string()
        } else if state.pending.get() == 0 {
            t_string!(i18n, sync.all_synced).to_string()
        } else {
            tf!(i18n, sync.pending, n = state.pending.get())
        }
    };
    let last = move || match state.last_sync.get() {
        Some(ms) => tf!(i18n, sync.last, time = format::time(ms)),
        None => t_string!(i18n, sync.never).to_string(),
    };
    view! {
        <section class="sync-bar" class:offline=move || state.offline.get() data-testid="sync-bar" data-offline=move || state.offline.get().to_string()>
            <div>
                <strong data-testid="sync-status">{status}</strong>
                <span class="muted">{last}</span>
            </div>
            <button class="btn" on:click=move |_| state.sync_now() disabled=move || state.syncing.get()>
                {t!(i18n, sync.sync)}
            </button>
            <Show when=move || { state.photos_waiting.get() > 0 }>
                <small class="muted" data-testid="photos-waiting">{move || tf!(i18n, photo.waiting, n = state.photos_waiting.get())}</small>
            </Show>
            <Show when=move || { state.pending.get() > 0 }>
                <button class="btn small" data-testid="export" on:click=move |_| state.export_unsynced()>{t!(i18n, sync.export)}</button>
            </Show>
            {move || state.error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
