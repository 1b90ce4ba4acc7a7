//! The phone's sync: the shared engine ([`shequ_model::client`]) over this device's IndexedDB
//! store and the browser's fetch. The fault simulation in `tests/` runs the same engine.

use crate::api;
use crate::piece::NotLoaded;
use crate::store::{Db, Timed};
use leptos::wasm_split::wasm_split;
use shequ_model::client::{
    self, Limits, Progress, Replica, SyncError, SyncReport, Transport, TransportError,
};
use shequ_model::sync::{Checksum, PullPage, PullQuery, PushRequest, PushResponse, PushResult};
use shequ_model::Revision;
use std::future::Future;
use std::pin::Pin;

/// Each step of a sync leaves its time in the page's performance timeline under `shequ-sync:…`,
/// where `cargo xtask bench-phone` adds them up: where a slow sync spends its time, on the phone.
async fn timed<T>(name: &'static str, step: impl std::future::Future<Output = T>) -> T {
    let span = Timed::start(name);
    let out = step.await;
    span.end();
    out
}

impl Replica for Db {
    async fn device_id(&self) -> Result<String, String> {
        Db::device_id(self).await.map_err(|e| e.0)
    }
    async fn outbox(
        &self,
        scope: &str,
        limit: u32,
        after: Option<uuid::Uuid>,
    ) -> Result<Vec<Revision>, String> {
        // Almost always everything waiting is this account's: read only a batch then. Only a
        // shared phone holding another account's work needs the whole outbox read and filtered.
        let first = timed("shequ-sync:outbox", Db::outbox(self, limit, after))
            .await
            .map_err(|e| e.0)?;
        if first.len() < limit as usize
            || first.iter().all(|r| client::pushes(scope, r.unit.as_str()))
        {
            return Ok(first
                .into_iter()
                .filter(|r| client::pushes(scope, r.unit.as_str()))
                .collect());
        }
        let all = Db::outbox(self, u32::MAX, after).await.map_err(|e| e.0)?;
        Ok(all
            .into_iter()
            .filter(|r| client::pushes(scope, r.unit.as_str()))
            .take(limit as usize)
            .collect())
    }
    async fn pending_count(&self, scope: &str) -> Result<u32, String> {
        Ok(Replica::outbox(self, scope, u32::MAX, None).await?.len() as u32)
    }
    async fn take_results(&self, results: &[PushResult]) -> Result<(), String> {
        timed("shequ-sync:take-results", Db::take_results(self, results))
            .await
            .map_err(|e| e.0)
    }
    async fn cursor(&self, scope: &str) -> Result<i64, String> {
        Db::cursor(self, scope).await.map_err(|e| e.0)
    }
    async fn apply_page(&self, scope: &str, page: PullPage) -> Result<usize, String> {
        timed("shequ-sync:apply-page", Db::apply_page(self, scope, page))
            .await
            .map_err(|e| e.0)
    }
    async fn set_cursor(&self, scope: &str, cursor: i64) -> Result<(), String> {
        Db::set_cursor(self, scope, cursor).await.map_err(|e| e.0)
    }
    async fn checksum(&self, scope: &str) -> Result<Checksum, String> {
        timed("shequ-sync:checksum", Db::checksum(self, scope))
            .await
            .map_err(|e| e.0)
    }
}

/// The browser's fetch.
pub struct Http;

fn transport(e: api::ApiError) -> TransportError {
    TransportError {
        message: e.message,
        retry: e.retry,
        auth: e.auth,
        too_large: e.too_large,
    }
}

impl Transport for Http {
    async fn push(&self, key: &str, req: &PushRequest) -> Result<PushResponse, TransportError> {
        timed("shequ-sync:push-request", api::push(key, req))
            .await
            .map_err(transport)
    }
    async fn pull(&self, ask: &PullQuery) -> Result<PullPage, TransportError> {
        timed("shequ-sync:pull-request", api::pull(ask))
            .await
            .map_err(transport)
    }
    async fn checksum(&self, scope: &str) -> Result<Checksum, TransportError> {
        timed("shequ-sync:checksum-request", api::checksum(scope))
            .await
            .map_err(transport)
    }
}

/// One full sync of the village. The engine is a piece of its own, fetched (and kept by the
/// service worker) as the app starts: the first form is usable before it arrives. A piece that
/// cannot be fetched is a connection that failed, and is retried as one.
pub async fn sync_once(
    db: &Db,
    scope: &str,
    progress: Box<dyn Fn(Progress)>,
) -> Result<SyncReport, SyncError> {
    let run = engine(db.clone(), scope.to_string(), progress)
        .await
        .map_err(|NotLoaded| {
            SyncError::Transport(TransportError {
                message: crate::tc!(state.sync_not_loaded),
                retry: true,
                auth: None,
                too_large: false,
            })
        })?;
    run.await
}

type Running = Pin<Box<dyn Future<Output = Result<SyncReport, SyncError>>>>;

#[wasm_split(sync, wasm_split_path = ::leptos::wasm_split, fallible)]
fn engine(db: Db, scope: String, progress: Box<dyn Fn(Progress)>) -> Result<Running, NotLoaded> {
    Ok(Box::pin(async move {
        let report = timed(
            "shequ-sync",
            client::sync_once(&db, &Http, &scope, &Limits::default(), &*progress),
        )
        .await?;
        let _ = db.set_meta("last_sync", &crate::ids::now_ms()).await;
        timed("shequ-sync:photos", upload_photos(&db)).await?;
        Ok(report)
    }))
}

/// Uploads the photos waiting, after the records that name them: the server takes a photo only
/// once a record in the account's scope names it, and says which it holds already, so a photo
/// is sent once however many records name it, and an upload cut off is sent again whole at the
/// next sync (a photo is at most [`shequ_model::photo::MAX_BYTES`]). A photo the server refuses
/// stays waiting, and is tried again at the next sync.
async fn upload_photos(db: &Db) -> Result<(), SyncError> {
    let local = |e: crate::store::StoreError| SyncError::Local(e.0);
    let remote = |e: api::ApiError| SyncError::Transport(transport(e));
    let waiting = db.waiting_photos().await.map_err(local)?;
    for batch in waiting.chunks(shequ_model::photo::MAX_ASKED) {
        let answer = api::photos_wanted(batch).await.map_err(remote)?;
        for id in &answer.held {
            db.photo_sent(id).await.map_err(local)?;
        }
        for id in &answer.missing {
            let Some(bytes) = db.photo(id).await.map_err(local)? else {
                continue;
            };
            match api::put_photo(id, &bytes).await {
                Ok(()) => db.photo_sent(id).await.map_err(local)?,
                Err(e) if e.retry || e.auth.is_some() => return Err(remote(e)),
                Err(e) => web_sys::console::warn_1(&format!("photo {id}: {e}").into()),
            }
        }
    }
    Ok(())
}
