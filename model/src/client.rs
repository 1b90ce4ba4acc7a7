//! The device's side of sync, generic over where the device keeps its data ([`Replica`]: IndexedDB
//! on a phone, memory in the fault simulation) and how it reaches the server ([`Transport`]: the
//! browser's fetch, or a faulty HTTP client in the simulation). The phone and the simulation run
//! this same code.
//!
//! One sync: push the outbox in batches (each with an idempotency key bound to the batch), taking
//! a change out of the outbox only on the server's acknowledgement; pull the scope page by page,
//! storing each page with its cursor; then compare checksums with the server and, on a drift,
//! pull again from the start to repair it. Any failure stops the sync where it is; everything done
//! so far is kept, and the next sync continues from there.
#![allow(async_fn_in_trait)]

use crate::sync::{
    batch_key, Checksum, OwnRevisions, PullPage, PullQuery, PushOutcome, PushRequest, PushResponse,
    PushResult,
};
use crate::Revision;
use std::collections::HashSet;
use std::fmt;

/// A failure to reach the server or a refusal by it, in Chinese for the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    pub message: String,
    /// Whether trying again later may succeed (a dropped connection) or not (a refused request).
    pub retry: bool,
    /// Set when the server refused the device's credentials (expired, or the device revoked).
    pub auth: Option<crate::auth::AuthFailure>,
    /// The server refused the request as too large (413): a smaller one may pass.
    pub too_large: bool,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where the device keeps its records, outbox and cursors. Each method is one atomic step.
pub trait Replica {
    async fn device_id(&self) -> Result<String, String>;
    /// Up to `limit` unsynced changes that [`pushes`] gives to the account syncing `scope`,
    /// oldest first (revision ids are time-ordered), only those after the revision `after` when
    /// it is given.
    async fn outbox(
        &self,
        scope: &str,
        limit: u32,
        after: Option<uuid::Uuid>,
    ) -> Result<Vec<Revision>, String>;
    async fn pending_count(&self, scope: &str) -> Result<u32, String>;
    /// Takes the answers to a push: acknowledged changes leave the outbox, atomically with
    /// marking their records synced.
    async fn take_results(&self, results: &[PushResult]) -> Result<(), String>;
    async fn cursor(&self, scope: &str) -> Result<i64, String>;
    /// Applies a pulled page and stores its cursor, atomically.
    async fn apply_page(&self, scope: &str, page: PullPage) -> Result<usize, String>;
    async fn set_cursor(&self, scope: &str, cursor: i64) -> Result<(), String>;
    async fn checksum(&self, scope: &str) -> Result<Checksum, String>;
}

/// Whether an unsynced change of `unit` waiting on a device is pushed by the account syncing
/// `scope`. An account writes only records of its own unit ([`crate::auth::Account::may_write`]),
/// so on a shared phone a village worker's unsynced work stays out of the town supervisor's pushes
/// (the server would refuse the whole batch) and waits for its own account.
pub fn pushes(scope: &str, unit: &str) -> bool {
    scope == unit
}

pub trait Transport {
    async fn push(&self, key: &str, req: &PushRequest) -> Result<PushResponse, TransportError>;
    async fn pull(&self, ask: &PullQuery) -> Result<PullPage, TransportError>;
    async fn checksum(&self, scope: &str) -> Result<Checksum, TransportError>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncError {
    Local(String),
    Transport(TransportError),
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Local(e) => write!(f, "本机存储出错:{e}"),
            SyncError::Transport(e) => e.fmt(f),
        }
    }
}

impl From<TransportError> for SyncError {
    fn from(e: TransportError) -> Self {
        SyncError::Transport(e)
    }
}

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: usize,
    pub refused: usize,
    pub pulled: usize,
    /// Whether the device's checksum equals the server's after the sync (none when the device
    /// still has changes the server refused, so they cannot agree).
    pub consistent: Option<bool>,
    /// Whether a drift was found and repaired by pulling again from the start.
    pub repaired: bool,
}

/// Progress of a long sync, for the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    Pushing { done: usize, of: usize },
    Pulling { pages: usize },
}

pub struct Limits {
    pub push_batch: u32,
    pub pull_page: u32,
}

/// The largest the server takes: on a slow link each request's wait costs more than its size
/// (the phone benchmark's push of 10,000 went from 50 requests to 20).
impl Default for Limits {
    fn default() -> Self {
        Limits {
            push_batch: crate::sync::MAX_PUSH_BATCH as u32,
            pull_page: crate::sync::MAX_PULL_PAGE,
        }
    }
}

fn local<T>(r: Result<T, String>) -> Result<T, SyncError> {
    r.map_err(SyncError::Local)
}

/// Pushes the whole outbox. Changes the server refused stay in the outbox and are not sent again
/// in this round. A batch the server finds too large (413) is halved until it passes; a single
/// change still too large is marked refused, and the rest goes on. The answers to one batch are
/// taken while the next is sent: the next is read first, from after the last change sent (the
/// batch before is still in the outbox then), and a failure of either ends the round with
/// nothing half taken. A change saved meanwhile with an id before the last one sent (a clock put
/// back during the push) waits for the next round.
pub async fn push_all<R: Replica, T: Transport>(
    replica: &R,
    transport: &T,
    scope: &str,
    limits: &Limits,
    report: &mut SyncReport,
    progress: &dyn Fn(Progress),
) -> Result<(), SyncError> {
    let device = local(replica.device_id().await)?;
    let total = local(replica.pending_count(scope).await)? as usize;
    let mut answered: HashSet<uuid::Uuid> = HashSet::new();
    // The last change sent: the next batch is read from after it.
    let mut last: Option<uuid::Uuid> = None;
    // Once a batch was too large, the rest of this round goes in the smaller size that passed.
    let mut size = limits.push_batch.max(1);
    let mut untaken: Vec<PushResult> = Vec::new();
    loop {
        let batch: Vec<Revision> = local(replica.outbox(scope, size, last).await)?
            .into_iter()
            .filter(|r| !answered.contains(&r.rev))
            .take(size as usize)
            .collect();
        let taking = async {
            match untaken.is_empty() {
                true => Ok(()),
                false => replica.take_results(&untaken).await,
            }
        };
        let sending = send_batch(transport, &device, batch, &mut size);
        let (taken, sent) = futures_util::join!(taking, sending);
        local(taken)?;
        let Some(results) = sent? else {
            return Ok(());
        };
        // What was sent, which is less than the batch when the server found it too large.
        last = results.iter().map(|r| r.rev).max().or(last);
        for r in &results {
            answered.insert(r.rev);
            if r.outcome.acknowledged() {
                report.pushed += 1;
            } else {
                report.refused += 1;
            }
        }
        untaken = results;
        // Changes saved during the push make the total grow.
        progress(Progress::Pushing {
            done: answered.len(),
            of: total.max(answered.len()),
        });
    }
}

/// Sends `batch` (none when it is empty), halved while the server finds it too large, and keeps
/// in `size` what passed; the server's answers to what was sent.
async fn send_batch<T: Transport>(
    transport: &T,
    device: &str,
    mut batch: Vec<Revision>,
    size: &mut u32,
) -> Result<Option<Vec<PushResult>>, SyncError> {
    let passed = *size;
    loop {
        if batch.is_empty() {
            return Ok(None);
        }
        let key = batch_key(&batch);
        let (sent, only) = (batch.len() as u32, (batch.len() == 1).then(|| batch[0].rev));
        let request = PushRequest {
            device: device.to_owned(),
            changes: batch,
        };
        match transport.push(&key, &request).await {
            Ok(resp) => return Ok(Some(resp.results)),
            Err(e) if e.too_large => match only {
                None => {
                    *size = sent / 2;
                    batch = request.changes;
                    batch.truncate(*size as usize);
                }
                // Too large even alone: refused, and the changes after it go as before.
                Some(rev) => {
                    *size = passed;
                    return Ok(Some(vec![PushResult {
                        rev,
                        outcome: PushOutcome::Rejected {
                            reason: "这条记录太大,服务器无法接收;请删减较长的文字后重新保存".into(),
                            errors: vec![],
                        },
                    }]));
                }
            },
            Err(e) => return Err(e.into()),
        }
    }
}

/// Pulls the scope from the stored cursor to the end. The next page is asked for while this one
/// is applied: it starts where this page ends, whatever the phone does with it, and the cursor
/// stored is only ever that of a page applied, so a failure anywhere resumes from there.
pub async fn pull_all<R: Replica, T: Transport>(
    replica: &R,
    transport: &T,
    scope: &str,
    own: OwnRevisions,
    limits: &Limits,
    report: &mut SyncReport,
    progress: &dyn Fn(Progress),
) -> Result<(), SyncError> {
    let mut pages = 0;
    let ask = PullQuery {
        scope: scope.to_owned(),
        after: local(replica.cursor(scope).await)?,
        limit: limits.pull_page,
        own,
    };
    let mut page = transport.pull(&ask).await?;
    loop {
        let next = PullQuery {
            after: page.cursor,
            ..ask.clone()
        };
        let more = page.more;
        let following = async {
            match more {
                true => Some(transport.pull(&next).await),
                false => None,
            }
        };
        let (applied, following) = futures_util::join!(replica.apply_page(scope, page), following);
        report.pulled += local(applied)?;
        pages += 1;
        progress(Progress::Pulling { pages });
        match following {
            Some(next) => page = next?,
            None => return Ok(()),
        }
    }
}

/// One full sync of `scope`.
pub async fn sync_once<R: Replica, T: Transport>(
    replica: &R,
    transport: &T,
    scope: &str,
    limits: &Limits,
    progress: &dyn Fn(Progress),
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    push_all(replica, transport, scope, limits, &mut report, progress).await?;
    let pull = async |own, report: &mut SyncReport| {
        pull_all(replica, transport, scope, own, limits, report, progress).await
    };
    // The phone holds what it pushed: a pull leaves those out. A repair from the start asks for
    // them too, in case the phone lost one.
    pull(OwnRevisions::Omitted, &mut report).await?;
    if local(replica.pending_count(scope).await)? > 0 {
        return Ok(report);
    }
    let mut agree = local(replica.checksum(scope).await)? == transport.checksum(scope).await?;
    if !agree {
        // Others may have pushed since the pull: catch up first, then repair from the start.
        pull(OwnRevisions::Omitted, &mut report).await?;
        agree = local(replica.checksum(scope).await)? == transport.checksum(scope).await?;
        if !agree {
            local(replica.set_cursor(scope, 0).await)?;
            pull(OwnRevisions::Whole, &mut report).await?;
            agree = local(replica.checksum(scope).await)? == transport.checksum(scope).await?;
            report.repaired = agree;
        }
    }
    report.consistent = Some(agree);
    Ok(report)
}
