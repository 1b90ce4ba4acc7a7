//! What is not yet synced, when the phone last synced, whether the server can be reached (离线),
//! and the 同步 button.

use crate::components::format;
use crate::state::use_state;
use leptos::prelude::*;

#[component]
pub fn SyncBar() -> impl IntoView {
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
