//! What is not yet synced, when the phone last synced, whether the server can be reached (离线),
//! and the 同步 button; for an account whose scope is read from the server, only where its figures
//! come from.

use crate::components::format;
use crate::state::use_state;
use leptos::prelude::*;
use shequ_model::auth::Holding;

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
    let status = move || {
        if state.offline.get() {
            "离线 · 本机不保存辖区记录,只能查看上次读取的统计数据"
        } else {
            "在线 · 统计数据和记录直接读取服务器"
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
    let status = move || {
        let offline = state.offline.get();
        if state.syncing.get() && offline {
            "离线 · 正在尝试连接服务器…".to_string()
        } else if state.syncing.get() {
            state
                .progress
                .get()
                .unwrap_or_else(|| "正在同步…".to_string())
        } else if offline && state.pending.get() == 0 {
            "离线 · 使用本机保存的记录".to_string()
        } else if offline {
            format!("离线 · {}条未同步,连上后自动同步", state.pending.get())
        } else if state.pending.get() == 0 && state.consistent.get() == Some(true) {
            "全部已同步 · 与服务器一致".to_string()
        } else if state.pending.get() == 0 {
            "全部已同步".to_string()
        } else {
            format!("{}条未同步", state.pending.get())
        }
    };
    let last = move || match state.last_sync.get() {
        Some(ms) => format!("上次同步:{}", format::time(ms)),
        None => "尚未同步".to_string(),
    };
    view! {
        <section class="sync-bar" class:offline=move || state.offline.get() data-testid="sync-bar" data-offline=move || state.offline.get().to_string()>
            <div>
                <strong data-testid="sync-status">{status}</strong>
                <span class="muted">{last}</span>
            </div>
            <button class="btn" on:click=move |_| state.sync_now() disabled=move || state.syncing.get()>
                "同步"
            </button>
            <Show when=move || { state.pending.get() > 0 }>
                <button class="btn small" data-testid="export" on:click=move |_| state.export_unsynced()>"导出未同步记录"</button>
            </Show>
            {move || state.error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
