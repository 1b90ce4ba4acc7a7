//! The device's side of sync: push the outbox in batches, then pull the village page by page.
//!
//! Data first, then effects: what to do with each pulled revision is decided by the pure
//! [`shequ_model::sync::decide_apply`]; this module only moves pages between the server and the
//! store. A change leaves the outbox only when the server has acknowledged it, in the same
//! transaction that marks its record synced, so a dropped connection or a killed tab at any point
//! leaves it to be sent again, and the server recognises a re-sent revision by its id.

use crate::api::{self, ApiError};
use crate::store::{Db, StoreError};
use shequ_model::sync::PushRequest;

const PUSH_BATCH: u32 = 200;
const PULL_PAGE: u32 = 500;

#[derive(Debug, Clone, PartialEq)]
pub enum SyncError {
    Store(StoreError),
    Api(ApiError),
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncError::Store(e) => e.fmt(f),
            SyncError::Api(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Store(e)
    }
}

impl From<ApiError> for SyncError {
    fn from(e: ApiError) -> Self {
        SyncError::Api(e)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    pub pushed: usize,
    pub refused: usize,
    pub pulled: usize,
}

/// One full sync of `scope`; `progress` hears (done, of) during the push.
pub async fn sync_once(db: &Db, scope: &str, progress: &dyn Fn(usize, usize)) -> Result<SyncReport, SyncError> {
    let device = db.device_id().await?;
    let mut report = SyncReport::default();
    let total = db.pending_count().await? as usize;
    let mut sent = std::collections::HashSet::new();
    loop {
        let batch: Vec<_> = db.outbox(PUSH_BATCH + sent.len() as u32).await?.into_iter().filter(|r| !sent.contains(&r.rev)).collect();
        if batch.is_empty() {
            break;
        }
        let batch: Vec<_> = batch.into_iter().take(PUSH_BATCH as usize).collect();
        let resp = api::push(&PushRequest { device: device.clone(), changes: batch.clone() }).await?;
        db.take_results(&resp.results).await?;
        for r in &resp.results {
            sent.insert(r.rev);
            if r.outcome.acknowledged() {
                report.pushed += 1;
            } else {
                report.refused += 1;
            }
        }
        progress(sent.len(), total);
    }
    loop {
        let cursor = db.cursor(scope).await?;
        let page = api::pull(scope, cursor, PULL_PAGE).await?;
        report.pulled += db.apply_page(scope, &page).await?;
        if !page.more {
            break;
        }
    }
    db.set_meta("last_sync", &crate::ids::now_ms()).await?;
    Ok(report)
}
