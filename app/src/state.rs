//! The app's shared state: signals handed out through context, and the sync scheduler.
//!
//! Sync runs when the app starts, on the browser's `online` event, after every save, on the 同步
//! button, and again after a failure with exponential backoff and jitter (5 s doubling to 5 min).

use crate::store::{Db, LocalRecord};
use crate::{api, ids, sync, tc};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shequ_model::area::Area;
use shequ_model::auth::{Account, AuthFailure, Holding, Session};
use shequ_model::client::{Progress, SyncError};
use shequ_model::plan::{Plan, PlanId, Plans};
use shequ_model::UnitCode;
use std::cell::Cell;
use std::sync::Arc;
use wasm_bindgen::prelude::*;

/// What the pages read. Each value is written only here, by the state's own methods, so a page
/// that shows a value cannot change it by accident.
#[derive(Clone, Copy)]
pub struct AppState {
    /// Every plan the phone holds, and which is current; none before the first plan arrives.
    pub plans: ReadSignal<Option<Arc<Plans>>>,
    /// The current plan: new records belong to it and offer its forms.
    pub plan: Signal<Option<Arc<Plan>>>,
    /// The plan of the records the phone held before records carried one.
    pub legacy_plan: ReadSignal<PlanId>,
    pub areas: ReadSignal<Arc<Vec<Area>>>,
    /// The unit whose records the phone keeps and syncs: a village or community for a worker, a
    /// town for a town supervisor; none for an account that reads its scope from the server.
    pub unit: ReadSignal<Option<UnitCode>>,
    /// Whether the session has been read from the phone yet.
    pub loaded: ReadSignal<bool>,
    pub pending: ReadSignal<u32>,
    /// Photos named by saved records and not yet held by the server.
    pub photos_waiting: ReadSignal<u32>,
    pub last_sync: ReadSignal<Option<u64>>,
    pub syncing: ReadSignal<bool>,
    pub progress: ReadSignal<Option<Progress>>,
    pub error: ReadSignal<Option<String>>,
    /// Whether the last sync found the phone and the server holding the same records.
    pub consistent: ReadSignal<Option<bool>>,
    /// Whether the server could not be reached at the last try (no network, or no answer in time):
    /// the app then works from what the phone stores, and says so.
    pub offline: ReadSignal<bool>,
    /// The logged-in session, kept on the phone so the app works offline.
    pub session: ReadSignal<Option<Session>>,
    /// Set when the server refused this phone's session: revoked (a lost phone) or expired.
    pub blocked: ReadSignal<Option<AuthFailure>>,
    /// Fires whenever the records on the phone change (a save, a sync), so what lists them reloads.
    records: Trigger,
    set: Setters,
}

#[derive(Clone, Copy)]
struct Setters {
    plans: WriteSignal<Option<Arc<Plans>>>,
    legacy_plan: WriteSignal<PlanId>,
    areas: WriteSignal<Arc<Vec<Area>>>,
    unit: WriteSignal<Option<UnitCode>>,
    loaded: WriteSignal<bool>,
    pending: WriteSignal<u32>,
    photos_waiting: WriteSignal<u32>,
    last_sync: WriteSignal<Option<u64>>,
    syncing: WriteSignal<bool>,
    progress: WriteSignal<Option<Progress>>,
    error: WriteSignal<Option<String>>,
    consistent: WriteSignal<Option<bool>>,
    offline: WriteSignal<bool>,
    session: WriteSignal<Option<Session>>,
    blocked: WriteSignal<Option<AuthFailure>>,
}

thread_local! {
    static RETRY_MS: Cell<u32> = const { Cell::new(0) };
    static RETRY_GEN: Cell<u32> = const { Cell::new(0) };
    /// Whether reading the plans is being tried again ([`AppState::refresh_reference`]).
    static PLAN_RETRY: Cell<bool> = const { Cell::new(false) };
}

/// Tells index.html's gate.js, which cannot read IndexedDB before the first paint, whether this
/// phone holds a session: it then shows the opening message rather than the login form. Only a
/// hint for that first screen; the session itself is read from the store.
fn signed_in_hint(yes: bool) {
    const KEY: &str = "shequ.signed_in";
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = if yes {
            s.set_item(KEY, "1")
        } else {
            s.remove_item(KEY)
        };
    }
}

impl AppState {
    pub fn new() -> Self {
        let (plans, set_plans) = signal(None::<Arc<Plans>>);
        let (legacy_plan, set_legacy_plan) = signal(PlanId::default());
        let (areas, set_areas) = signal(Arc::new(Vec::new()));
        let (unit, set_unit) = signal(None::<UnitCode>);
        let (loaded, set_loaded) = signal(false);
        let (pending, set_pending) = signal(0);
        let (photos_waiting, set_photos_waiting) = signal(0);
        let (last_sync, set_last_sync) = signal(None);
        let (syncing, set_syncing) = signal(false);
        let (progress, set_progress) = signal(None);
        let (error, set_error) = signal(None);
        let (consistent, set_consistent) = signal(None);
        let (offline, set_offline) = signal(false);
        let (session, set_session) = signal(None);
        let (blocked, set_blocked) = signal(None);
        AppState {
            plans,
            plan: Signal::derive(move || plans.with(|p| p.as_ref().map(|p| p.current().clone()))),
            legacy_plan,
            areas,
            unit,
            loaded,
            pending,
            photos_waiting,
            last_sync,
            syncing,
            progress,
            error,
            consistent,
            offline,
            session,
            blocked,
            records: Trigger::new(),
            set: Setters {
                plans: set_plans,
                legacy_plan: set_legacy_plan,
                areas: set_areas,
                unit: set_unit,
                loaded: set_loaded,
                pending: set_pending,
                photos_waiting: set_photos_waiting,
                last_sync: set_last_sync,
                syncing: set_syncing,
                progress: set_progress,
                error: set_error,
                consistent: set_consistent,
                offline: set_offline,
                session: set_session,
                blocked: set_blocked,
            },
        }
    }

    /// Reloads whatever lists records when they change on the phone.
    pub fn track_records(&self) {
        self.records.track();
    }

    /// After the worker saved or deleted a record: count it, keep it safe, and send it.
    pub async fn record_saved(self) {
        self.refresh_pending().await;
        self.records.notify();
        self.ask_to_persist();
        self.sync_now();
    }

    pub fn account(&self) -> Option<Account> {
        self.session.with(|s| s.as_ref().map(|s| s.account.clone()))
    }

    /// How the phone holds the logged-in account's scope.
    pub fn holding(&self) -> Option<Holding> {
        self.session
            .with(|s| s.as_ref().map(|s| s.account.role.holding()))
    }

    fn use_session(self, session: Option<Session>) {
        api::set_token(session.as_ref().map(|s| s.token.clone()));
        signed_in_hint(session.is_some());
        // Only a scope the phone keeps is synced down; the others are read from the server.
        let unit = session
            .as_ref()
            .filter(|s| s.account.role.holding() == Holding::Kept)
            .map(|s| s.account.unit.clone());
        self.set.unit.set(unit);
        self.set.session.set(session);
    }

    /// After a successful login: keep the session on the phone, then fetch and sync.
    pub fn logged_in(self, session: Session) {
        spawn_local(async move {
            // Unkept, the session is gone at the next reload: the worker hears it now, while
            // the network that logged them in is still there.
            let kept = match Db::get().await {
                Ok(db) => db
                    .set_meta("session", &session)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = kept {
                self.set
                    .error
                    .set(Some(tc!(state.session_unsaved, error = e)));
            }
            self.set.blocked.set(None);
            self.use_session(Some(session));
            self.records.notify();
            // The sync and the plan and areas go out together, as at start: a fresh phone's
            // records come down while its forms do.
            self.sync_now();
            self.refresh_reference().await;
        });
    }

    /// Logs out. The phone's records stay; unsynced ones go out at the account's next login.
    pub fn log_out(self) {
        let pending = self.pending.get_untracked();
        if pending > 0 && self.blocked.get_untracked() != Some(AuthFailure::Revoked) {
            let ask = tc!(state.log_out_pending, pending = pending);
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
            self.set.blocked.set(None);
            self.use_session(None);
        });
    }

    /// The current plan's forms, as (id, name), for a filter to choose from (tracked).
    pub fn form_choices(&self) -> Vec<(String, String)> {
        self.plan.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.forms
                        .iter()
                        .map(|f| (f.id.clone(), f.name.clone()))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    pub fn area(&self, code: &str) -> Option<Area> {
        // The nation is no row of any list of areas: its empty code names it.
        if code.is_empty() {
            return Some(Area::nation());
        }
        self.areas
            .with(|a| a.iter().find(|x| x.code == code).cloned())
    }

    /// Loads what the phone has, then syncs and refreshes plan and areas from the server when it can.
    pub fn start(self) {
        api::on_reach(move |ok| self.set.offline.set(!ok));
        let navigator_online = web_sys::window()
            .map(|w| w.navigator().on_line())
            .unwrap_or(true);
        self.set.offline.set(!navigator_online);
        spawn_local(async move {
            match Db::get().await {
                Ok(db) => {
                    // The session first: a page the plans open asks the server at once, and
                    // must ask with the session's token.
                    match db.meta::<Option<Session>>("session").await {
                        Ok(Some(Some(session))) => self.use_session(Some(session)),
                        _ => signed_in_hint(false),
                    }
                    self.load_plans(&db).await;
                    if let Ok(Some(a)) = db.meta::<Vec<Area>>("areas").await {
                        self.set.areas.set(Arc::new(a));
                    }
                    self.set
                        .last_sync
                        .set(db.meta::<u64>("last_sync").await.ok().flatten());
                    self.refresh_pending().await;
                }
                Err(e) => self.set.error.set(Some(e.to_string())),
            }
            self.set.loaded.set(true);
            if self.session.get_untracked().is_some() {
                self.renew_if_due().await;
                // The sync and the plan and areas go out together: on a link that does not
                // answer, the worker hears 离线 after one time limit, not after three.
                self.sync_now();
                self.refresh_reference().await;
            }
        });
        let on_online = Closure::<dyn Fn()>::new(move || self.sync_now());
        let on_offline = Closure::<dyn Fn()>::new(move || self.set.offline.set(true));
        if let Some(w) = web_sys::window() {
            let _ =
                w.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
            let _ =
                w.add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
        }
        on_online.forget();
        on_offline.forget();
    }

    /// The plans kept on the phone.
    async fn load_plans(self, db: &Db) {
        match db.plans().await {
            // Unchanged plans leave the pages as they are: a form being filled in stays open.
            Ok(plans) => {
                if self
                    .plans
                    .with_untracked(|old| old.as_deref() != plans.as_ref())
                {
                    self.set.plans.set(plans.map(Arc::new));
                }
            }
            Err(e) => self.set.error.set(Some(e.to_string())),
        }
        if let Ok(legacy) = db.legacy_plan().await {
            self.set.legacy_plan.set(legacy);
        }
    }

    /// The plan a record belongs to, when the phone holds it.
    pub fn plan_of(&self, record: &LocalRecord) -> Option<Arc<Plan>> {
        let id = self.legacy_plan.with(|legacy| record.plan(legacy));
        self.plans
            .with(|p| p.as_ref().and_then(|p| p.get(&id).cloned()))
    }

    /// A plan by its id: the phone's copy, else the server's (a plan of another year that a
    /// report or a record names).
    pub async fn plan_by_id(self, id: &PlanId) -> Result<Arc<Plan>, String> {
        if let Some(plan) = self.plans.get_untracked().and_then(|p| p.get(id).cloned()) {
            return Ok(plan);
        }
        match api::plan_if_changed(id, None).await {
            Ok(Some((plan, _))) => Ok(Arc::new(plan)),
            Ok(None) => Err(tc!(state.no_plan, id = id)),
            Err(e) => Err(e.message),
        }
    }

    /// Brings from the server the plans the phone lacks or that changed, which plan is current,
    /// and the areas. A phone that holds no plan yet has no page to show: while it has none, a
    /// failed read (a link that did not answer in time) is tried again, ever less often.
    pub async fn refresh_reference(self) {
        self.refresh_reference_once().await;
        if self.plans.get_untracked().is_none() && !PLAN_RETRY.with(|r| r.replace(true)) {
            spawn_local(async move {
                let mut delay = 3_000;
                while self.plans.get_untracked().is_none() && self.session.get_untracked().is_some()
                {
                    gloo_timers::future::TimeoutFuture::new(delay).await;
                    self.refresh_reference_once().await;
                    delay = (delay * 2).min(60_000);
                }
                PLAN_RETRY.with(|r| r.set(false));
            });
        }
    }

    async fn refresh_reference_once(self) {
        let Ok(db) = Db::get().await else { return };
        match api::plans().await {
            Ok(summaries) => {
                let mut fetched = true;
                for s in &summaries {
                    let etag = db.plan_etag(&s.id).await.ok().flatten();
                    match api::plan_if_changed(&s.id, etag.as_deref()).await {
                        Ok(Some((p, tag))) => {
                            let _ = db.keep_plan(&p, Some(&tag)).await;
                        }
                        Ok(None) => {}
                        Err(_) => fetched = false,
                    }
                }
                if let (true, Some(current)) = (fetched, summaries.iter().find(|s| s.current)) {
                    let _ = db.set_current_plan(&current.id).await;
                }
                self.load_plans(&db).await;
            }
            // A server that keeps a single plan refuses the list: its one plan is current.
            Err(e) if !e.retry && e.auth.is_none() => {
                let kept = self.plan.get_untracked();
                let etag = match &kept {
                    Some(p) => db.plan_etag(&p.id).await.ok().flatten(),
                    None => None,
                };
                if let Ok(Some((p, tag))) = api::current_plan_if_changed(etag.as_deref()).await {
                    let _ = db.keep_plan(&p, Some(&tag)).await;
                    let _ = db.set_current_plan(&p.id).await;
                }
                self.load_plans(&db).await;
            }
            Err(_) => {}
        }
        if let Ok(a) = api::areas().await {
            let _ = db.set_meta("areas", &a).await;
            self.set.areas.set(Arc::new(a));
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
                let unit = self
                    .unit
                    .get_untracked()
                    .map(String::from)
                    .unwrap_or_default();
                let doc = serde_json::json!({
                    "exported_at": ids::now_ms(),
                    "device": db.device_id().await?,
                    "unit": unit,
                    "changes": changes,
                });
                Ok::<_, crate::store::StoreError>((
                    unit,
                    serde_json::to_string_pretty(&doc).unwrap_or_default(),
                ))
            }
            .await;
            match result {
                Ok((unit, text)) => {
                    if let Err(e) = download(
                        &format!("shequ-unsynced-{unit}-{}.json", ids::now_ms()),
                        &text,
                    ) {
                        self.set
                            .error
                            .set(Some(tc!(state.export_failed, error = e)));
                    }
                }
                Err(e) => self.set.error.set(Some(e.to_string())),
            }
        });
    }

    async fn refresh_pending(self) {
        if let Ok(db) = Db::get().await {
            if let Ok(n) = db.pending_count().await {
                self.set.pending.set(n);
            }
            if let Ok(waiting) = db.waiting_photos().await {
                self.set.photos_waiting.set(waiting.len() as u32);
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
            Err(e) if e.auth.is_some() => self.set.blocked.set(e.auth),
            Err(_) => {}
        }
    }

    /// Starts a sync unless one is running.
    pub fn sync_now(self) {
        let Some(scope) = self.unit.get_untracked() else {
            return;
        };
        if self.syncing.get_untracked() || self.blocked.get_untracked().is_some() {
            return;
        }
        self.set.syncing.set(true);
        spawn_local(async move {
            let result = async {
                let db = Db::get().await.map_err(|e| SyncError::Local(e.0))?;
                sync::sync_once(
                    &db,
                    scope.as_str(),
                    Box::new(move |p| self.set.progress.set(Some(p))),
                )
                .await
            }
            .await;
            self.set.syncing.set(false);
            self.set.progress.set(None);
            self.refresh_pending().await;
            self.records.notify();
            match result {
                Ok(report) => {
                    self.refresh_reference().await;
                    RETRY_MS.with(|r| r.set(0));
                    self.set.last_sync.set(Some(ids::now_ms()));
                    self.set.consistent.set(report.consistent);
                    self.set
                        .error
                        .set((report.refused > 0).then(|| tc!(state.refused, n = report.refused)));
                }
                Err(SyncError::Transport(e)) if e.auth.is_some() => {
                    // Revoked or expired: stop syncing, keep everything, tell the worker.
                    self.set.blocked.set(e.auth);
                    self.set.error.set(Some(e.message));
                }
                Err(e) => {
                    self.set.error.set(Some(e.to_string()));
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
    save_file(name, &parts, "application/json")
}

/// Offers `parts` (strings or byte arrays) as a file the browser saves under `name`.
pub fn save_file(name: &str, parts: &js_sys::Array, mime: &str) -> Result<(), String> {
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_buffer_source_sequence_and_options(parts, &opts)
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
