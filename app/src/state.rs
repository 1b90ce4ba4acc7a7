//! The app's shared state: signals handed out through context, and the sync scheduler.
//!
//! Sync runs when the app starts, on the browser's `online` event, after every save, on the 同步
//! button, and again after a failure with exponential backoff and jitter (5 s doubling to 5 min).

use crate::store::Db;
use crate::{api, ids, sync};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shequ_model::area::Area;
use shequ_model::auth::{Account, AuthFailure, Session};
use shequ_model::client::{Progress, SyncError};
use shequ_model::Plan;
use std::cell::Cell;
use std::sync::Arc;
use wasm_bindgen::prelude::*;

#[derive(Clone, Copy)]
pub struct AppState {
    pub plan: RwSignal<Option<Arc<Plan>>>,
    pub areas: RwSignal<Arc<Vec<Area>>>,
    /// The village this phone records for.
    pub village: RwSignal<Option<String>>,
    /// Whether the village choice has been read from the phone yet.
    pub loaded: RwSignal<bool>,
    pub pending: RwSignal<u32>,
    pub last_sync: RwSignal<Option<u64>>,
    pub syncing: RwSignal<bool>,
    pub progress: RwSignal<Option<String>>,
    pub error: RwSignal<Option<String>>,
    /// Whether the last sync found the phone and the server holding the same records.
    pub consistent: RwSignal<Option<bool>>,
    /// Whether the server could not be reached at the last try (no network, or no answer in time):
    /// the app then works from what the phone stores, and says so.
    pub offline: RwSignal<bool>,
    /// Bumped whenever the records on the phone change, so lists reload.
    pub version: RwSignal<u32>,
    /// The logged-in session, kept on the phone so the app works offline.
    pub session: RwSignal<Option<Session>>,
    /// Set when the server refused this phone's session: revoked (a lost phone) or expired.
    pub blocked: RwSignal<Option<AuthFailure>>,
}

thread_local! {
    static RETRY_MS: Cell<u32> = const { Cell::new(0) };
    static RETRY_GEN: Cell<u32> = const { Cell::new(0) };
}

impl AppState {
    pub fn new() -> Self {
        AppState {
            plan: RwSignal::new(None),
            areas: RwSignal::new(Arc::new(Vec::new())),
            village: RwSignal::new(None),
            loaded: RwSignal::new(false),
            pending: RwSignal::new(0),
            last_sync: RwSignal::new(None),
            syncing: RwSignal::new(false),
            progress: RwSignal::new(None),
            error: RwSignal::new(None),
            consistent: RwSignal::new(None),
            offline: RwSignal::new(false),
            version: RwSignal::new(0),
            session: RwSignal::new(None),
            blocked: RwSignal::new(None),
        }
    }

    pub fn account(&self) -> Option<Account> {
        self.session.with(|s| s.as_ref().map(|s| s.account.clone()))
    }

    fn use_session(self, session: Option<Session>) {
        api::set_token(session.as_ref().map(|s| s.token.clone()));
        // Workers and supervisors record for their own unit; administrators record nothing.
        let unit = session
            .as_ref()
            .filter(|s| !s.account.is_admin())
            .map(|s| s.account.unit.clone());
        self.village.set(unit);
        self.session.set(session);
    }

    /// After a successful login: keep the session on the phone, then fetch and sync.
    pub fn logged_in(self, session: Session) {
        spawn_local(async move {
            if let Ok(db) = Db::get().await {
                let _ = db.set_meta("session", &session).await;
            }
            self.blocked.set(None);
            self.use_session(Some(session));
            self.version.update(|v| *v += 1);
            self.refresh_reference().await;
            self.sync_now();
        });
    }

    /// Logs out. The phone's records stay; unsynced ones go out at the account's next login.
    pub fn log_out(self) {
        let pending = self.pending.get_untracked();
        if pending > 0 && self.blocked.get_untracked() != Some(AuthFailure::Revoked) {
            let ask = format!("本机还有{pending}条未同步的记录。退出后它们仍保存在本机,同一账号再次登录后会同步。确定退出吗?");
            let ok = web_sys::window()
                .and_then(|w| w.confirm_with_message(&ask).ok())
                .unwrap_or(false);
            if !ok {
                return;
            }
        }
        spawn_local(async move {
            let _ = api::logout().await;
            if let Ok(db) = Db::get().await {
                let _ = db.set_meta("session", &None::<Session>).await;
            }
            self.blocked.set(None);
            self.use_session(None);
        });
    }

    pub fn area(&self, code: &str) -> Option<Area> {
        self.areas
            .with(|a| a.iter().find(|x| x.code == code).cloned())
    }

    /// Loads what the phone has, then syncs and refreshes plan and areas from the server when it can.
    pub fn start(self) {
        api::on_reach(move |ok| self.offline.set(!ok));
        let navigator_online = web_sys::window()
            .map(|w| w.navigator().on_line())
            .unwrap_or(true);
        self.offline.set(!navigator_online);
        spawn_local(async move {
            match Db::get().await {
                Ok(db) => {
                    if let Ok(Some(p)) = db.meta::<Plan>("plan").await {
                        self.plan.set(Some(Arc::new(p)));
                    }
                    if let Ok(Some(a)) = db.meta::<Vec<Area>>("areas").await {
                        self.areas.set(Arc::new(a));
                    }
                    if let Ok(Some(Some(session))) = db.meta::<Option<Session>>("session").await {
                        self.use_session(Some(session));
                    }
                    self.last_sync
                        .set(db.meta::<u64>("last_sync").await.ok().flatten());
                    self.refresh_pending().await;
                }
                Err(e) => self.error.set(Some(e.to_string())),
            }
            self.loaded.set(true);
            if self.session.get_untracked().is_some() {
                self.renew_if_due().await;
                // The sync and the plan and areas go out together: on a link that does not
                // answer, the worker hears 离线 after one time limit, not after three.
                self.sync_now();
                self.refresh_reference().await;
            }
        });
        let on_online = Closure::<dyn Fn()>::new(move || self.sync_now());
        let on_offline = Closure::<dyn Fn()>::new(move || self.offline.set(true));
        if let Some(w) = web_sys::window() {
            let _ =
                w.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
            let _ =
                w.add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
        }
        on_online.forget();
        on_offline.forget();
    }

    /// Brings the plan (when the county changed it) and the areas from the server.
    pub async fn refresh_reference(self) {
        let Ok(db) = Db::get().await else { return };
        let etag = db.meta::<String>("plan_etag").await.ok().flatten();
        if let Ok(Some((p, tag))) = api::plan_if_changed(etag.as_deref()).await {
            let _ = db.set_meta("plan", &p).await;
            let _ = db.set_meta("plan_etag", &tag).await;
            self.plan.set(Some(Arc::new(p)));
        }
        if let Ok(a) = api::areas().await {
            let _ = db.set_meta("areas", &a).await;
            self.areas.set(Arc::new(a));
        }
    }

    /// Asks the browser to keep this site's storage even when the phone runs short of space, once
    /// there is work worth keeping.
    pub fn ask_to_persist(self) {
        spawn_local(async move {
            let Some(storage) = web_sys::window().map(|w| w.navigator().storage()) else {
                return;
            };
            if let Ok(p) = storage.persisted() {
                if wasm_bindgen_futures::JsFuture::from(p)
                    .await
                    .ok()
                    .and_then(|v| v.as_bool())
                    == Some(true)
                {
                    return;
                }
            }
            if let Ok(p) = storage.persist() {
                let _ = wasm_bindgen_futures::JsFuture::from(p).await;
            }
        });
    }

    /// Saves every unsynced change to a file the worker can keep or hand over.
    pub fn export_unsynced(self) {
        spawn_local(async move {
            let result = async {
                let db = Db::get().await?;
                let changes = db.unsynced().await?;
                let village = self.village.get_untracked().unwrap_or_default();
                let doc = serde_json::json!({
                    "exported_at": ids::now_ms(),
                    "device": db.device_id().await?,
                    "unit": village,
                    "changes": changes,
                });
                Ok::<_, crate::store::StoreError>((
                    village,
                    serde_json::to_string_pretty(&doc).unwrap_or_default(),
                ))
            }
            .await;
            match result {
                Ok((village, text)) => {
                    if let Err(e) = download(
                        &format!("shequ-unsynced-{village}-{}.json", ids::now_ms()),
                        &text,
                    ) {
                        self.error.set(Some(format!("导出失败:{e}")));
                    }
                }
                Err(e) => self.error.set(Some(e.to_string())),
            }
        });
    }

    pub async fn refresh_pending(self) {
        if let Ok(db) = Db::get().await {
            if let Ok(n) = db.pending_count().await {
                self.pending.set(n);
            }
        }
    }

    /// Renews the session when it is within a week of its end and the server can be reached.
    async fn renew_if_due(self) {
        let Some(s) = self.session.get_untracked() else {
            return;
        };
        if s.expires_at - (ids::now_ms() as i64) > 7 * 24 * 3600 * 1000 {
            return;
        }
        match api::renew().await {
            Ok(fresh) => {
                if let Ok(db) = Db::get().await {
                    let _ = db.set_meta("session", &fresh).await;
                }
                self.use_session(Some(fresh));
            }
            Err(e) if e.auth.is_some() => self.blocked.set(e.auth),
            Err(_) => {}
        }
    }

    /// Starts a sync unless one is running.
    pub fn sync_now(self) {
        let Some(scope) = self.village.get_untracked() else {
            return;
        };
        if self.syncing.get_untracked() || self.blocked.get_untracked().is_some() {
            return;
        }
        self.syncing.set(true);
        spawn_local(async move {
            let result = async {
                let db = Db::get().await.map_err(|e| SyncError::Local(e.0))?;
                sync::sync_once(&db, &scope, &|p| match p {
                    Progress::Pushing { done, of } => {
                        self.progress.set(Some(format!("正在上传… {done}/{of}")))
                    }
                    Progress::Pulling { pages } => {
                        self.progress.set(Some(format!("正在下载… 第{pages}页")))
                    }
                })
                .await
            }
            .await;
            self.syncing.set(false);
            self.progress.set(None);
            self.refresh_pending().await;
            self.version.update(|v| *v += 1);
            match result {
                Ok(report) => {
                    self.refresh_reference().await;
                    RETRY_MS.with(|r| r.set(0));
                    self.last_sync.set(Some(ids::now_ms()));
                    self.consistent.set(report.consistent);
                    self.error.set((report.refused > 0).then(|| {
                        format!("有{}条记录被服务器拒收,请查看标红的记录", report.refused)
                    }));
                }
                Err(SyncError::Transport(e)) if e.auth.is_some() => {
                    // Revoked or expired: stop syncing, keep everything, tell the worker.
                    self.blocked.set(e.auth);
                    self.error.set(Some(e.message));
                }
                Err(e) => {
                    self.error.set(Some(e.to_string()));
                    self.retry_later();
                }
            }
        });
    }

    fn retry_later(self) {
        let delay = RETRY_MS.with(|r| {
            let next = if r.get() == 0 {
                5_000
            } else {
                (r.get() * 2).min(300_000)
            };
            r.set(next);
            next
        });
        let jittered = delay / 2 + (js_sys::Math::random() * (delay / 2) as f64) as u32;
        let generation = RETRY_GEN.with(|g| {
            g.set(g.get() + 1);
            g.get()
        });
        spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(jittered).await;
            if RETRY_GEN.with(|g| g.get()) == generation {
                self.sync_now();
            }
        });
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_state() -> AppState {
    expect_context::<AppState>()
}

fn download(name: &str, text: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)
        .map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}
