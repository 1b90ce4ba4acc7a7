//! The phone's storage: the only module that touches IndexedDB.
//!
//! Four object stores:
//! * `records`: the device's current revision of each record (`{id, unit, body}`), with a `unit`
//!   index; `body` is the JSON of a [`LocalRecord`];
//! * `outbox`: revisions saved here and not yet acknowledged by the server (`{rev, record, body}`),
//!   with a `record` index;
//! * `meta`: small settings and sync state by key (device id, clock, chosen village, pull cursors,
//!   cached plan and areas, last sync time, the last figures read from the server per unit and
//!   plan, and each form's draft: `draft:new:<form>` for a new record, `draft:<record>` for an
//!   edit, the content as typed);
//! * `photos`: the photos chosen on this phone, with a `state` index ([`photos`]).
//!
//! Bodies are kept as JSON text so that every value (the 64-bit clock included) round-trips
//! exactly. Every change that must be atomic happens in one IndexedDB transaction: saving a record
//! writes the record, its outbox entry and the clock together; acknowledging a push removes the
//! outbox entry, with the record where the answer changes what it shows (a record is synced when
//! the outbox holds none of its changes: the flag is read from the outbox, not kept written);
//! applying a pulled page stores the records and the new cursor together.
//!
//! Inside a transaction, requests are issued together and awaited together: IndexedDB runs them in
//! the order given, and a page of 500 records costs one wait, not 1,500. The page also keeps the
//! records it read or wrote in memory, with the store's generation (a `meta` counter every write
//! of records advances in its own transaction): a list drawn after a save reads one counter, not
//! every record, and another tab's write shows as a generation this page did not make.

use crate::tc;
use futures_util::future::try_join_all;
use rexie::{Index, ObjectStore, Rexie, Transaction, TransactionMode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shequ_model::device;
use shequ_model::photo::PhotoId;
use shequ_model::sync::{Checksum, Hlc, PullPage, PushResult};
use shequ_model::{Revision, UnitCode};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use uuid::Uuid;
use wasm_bindgen::JsValue;

mod figures;
mod kept;
mod photos;
mod plans;

use kept::{Kept, Written};

pub use figures::KeptFigures;
pub use photos::KEPT_SENT;

const DB_NAME: &str = "shequ";
const RECORDS: &str = "records";
const OUTBOX: &str = "outbox";
const META: &str = "meta";
/// The `meta` key of the records' generation.
const GENERATION: &str = "generation";

/// The name under which each save's time, from opening its transaction to its commit, is left in
/// the page's performance timeline (a `PerformanceMeasure`), where `cargo xtask bench-phone`
/// reads it: the save as the phone does it, not as a test driving the page sees it.
const SAVE_TIMING: &str = "shequ-save";

/// A span of the page's performance timeline; nothing where the browser has none.
pub(crate) struct Timed(Option<(web_sys::Performance, &'static str, String)>);

impl Timed {
    pub(crate) fn start(name: &'static str) -> Timed {
        let mark = format!("{name}:start");
        let performance = web_sys::window().and_then(|w| w.performance());
        Timed(
            performance
                .filter(|p| p.mark(&mark).is_ok())
                .map(|p| (p, name, mark)),
        )
    }

    pub(crate) fn end(self) {
        if let Some((p, name, mark)) = self.0 {
            let _ = p.measure_with_start_mark(name, &mark);
            p.clear_marks_with_mark_name(&mark);
        }
    }
}

pub use shequ_model::device::LocalRecord;

/// A storage failure, worded for the worker.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&tc!(store.failed, error = self.0))
    }
}

/// The device's clock, read inside a transaction that writes it back with [`put_hlc_in`].
async fn hlc_in(meta: &rexie::Store) -> Result<Hlc> {
    Ok(match meta.get(JsValue::from_str("hlc")).await? {
        Some(v) if !v.is_undefined() => serde_json::from_str(&from_js::<MetaRow>(v)?.value)?,
        _ => Hlc::default(),
    })
}

/// The records' generation, read inside a transaction.
async fn generation_in(meta: &rexie::Store) -> Result<u64> {
    Ok(match meta.get(JsValue::from_str(GENERATION)).await? {
        Some(v) if !v.is_undefined() => from_js::<MetaRow>(v)?.value.parse().unwrap_or(0),
        _ => 0,
    })
}

/// Sets the records' generation inside the transaction that writes them.
async fn put_generation_in(meta: &rexie::Store, generation: u64) -> Result<()> {
    let row = MetaRow {
        key: GENERATION.into(),
        value: generation.to_string(),
    };
    meta.put(&to_js(&row)?, None).await?;
    Ok(())
}

async fn put_hlc_in(meta: &rexie::Store, hlc: &Hlc) -> Result<()> {
    let row = MetaRow {
        key: "hlc".into(),
        value: serde_json::to_string(hlc)?,
    };
    meta.put(&to_js(&row)?, None).await?;
    Ok(())
}

/// A record as held, read inside a transaction.
async fn record_in(records: &rexie::Store, id: &str) -> Result<Option<LocalRecord>> {
    match records.get(JsValue::from_str(id)).await? {
        Some(v) if !v.is_undefined() => Ok(Some(serde_json::from_str(&from_js::<Row>(v)?.body)?)),
        _ => Ok(None),
    }
}

/// Writes records inside a transaction, all requests issued before the one wait.
async fn put_records_in(records: &rexie::Store, locals: &[LocalRecord]) -> Result<()> {
    let rows = locals
        .iter()
        .map(|local| {
            let row = Row {
                id: local.rev.record.to_string(),
                unit: local.rev.unit.to_string(),
                body: serde_json::to_string(local)?,
            };
            Ok((to_js(&row)?, None))
        })
        .collect::<Result<Vec<_>>>()?;
    records.put_all(rows.into_iter()).await?;
    Ok(())
}

/// Deletes outbox entries inside a transaction, the requests issued together.
async fn delete_outbox_in(outbox: &rexie::Store, revs: &[Uuid]) -> Result<()> {
    try_join_all(
        revs.iter()
            .map(|rev| outbox.delete(JsValue::from_str(&rev.to_string()))),
    )
    .await?;
    Ok(())
}

/// Outbox keys (revision ids) as read from IndexedDB.
fn rev_ids(keys: Vec<JsValue>) -> Result<Vec<Uuid>> {
    keys.into_iter()
        .map(|k| {
            let text = k.as_string().unwrap_or_default();
            Uuid::parse_str(&text).map_err(|e| StoreError(format!("{text}:{e}")))
        })
        .collect()
}

impl From<rexie::Error> for StoreError {
    fn from(e: rexie::Error) -> Self {
        let text = e.to_string();
        if text.contains("Quota") {
            StoreError(tc!(store.full))
        } else {
            StoreError(text)
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError(tc!(store.format, error = e))
    }
}

type Result<T> = std::result::Result<T, StoreError>;

#[derive(Serialize, Deserialize)]
struct Row {
    id: String,
    unit: String,
    body: String,
}

#[derive(Serialize, Deserialize)]
struct OutRow {
    rev: String,
    record: String,
    body: String,
}

/// An outbox entry's keys, read without its body.
#[derive(Deserialize)]
struct OutKey {
    rev: String,
    record: String,
}

#[derive(Serialize, Deserialize)]
struct MetaRow {
    key: String,
    value: String,
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue> {
    serde_wasm_bindgen::to_value(v).map_err(|e| StoreError(e.to_string()))
}

fn from_js<T: DeserializeOwned>(v: JsValue) -> Result<T> {
    serde_wasm_bindgen::from_value(v).map_err(|e| StoreError(e.to_string()))
}

/// The device's database.
#[derive(Clone)]
pub struct Db {
    rexie: Rc<Rexie>,
    kept: Rc<RefCell<Kept>>,
}

thread_local! {
    static OPEN: RefCell<Option<Db>> = const { RefCell::new(None) };
}

impl Db {
    /// The app's database, opened once per page.
    pub async fn get() -> Result<Db> {
        if let Some(db) = OPEN.with(|o| o.borrow().clone()) {
            return Ok(db);
        }
        let db = Db::open(DB_NAME).await?;
        OPEN.with(|o| *o.borrow_mut() = Some(db.clone()));
        Ok(db)
    }

    /// Opens (creating if needed) a database by name; tests use their own names.
    pub async fn open(name: &str) -> Result<Db> {
        let rexie = Rexie::builder(name)
            .version(2)
            .add_object_store(
                ObjectStore::new(RECORDS)
                    .key_path("id")
                    .add_index(Index::new("unit", "unit")),
            )
            .add_object_store(
                ObjectStore::new(OUTBOX)
                    .key_path("rev")
                    .add_index(Index::new("record", "record")),
            )
            .add_object_store(ObjectStore::new(META).key_path("key"))
            .add_object_store(
                ObjectStore::new(photos::PHOTOS)
                    .key_path("id")
                    .add_index(Index::new("state", "state")),
            )
            .build()
            .await?;
        Ok(Db {
            rexie: Rc::new(rexie),
            kept: Rc::default(),
        })
    }

    /// Deletes a database by name (tests).
    pub async fn destroy(name: &str) -> Result<()> {
        Rexie::delete(name).await?;
        Ok(())
    }

    fn tx(&self, stores: &[&str], write: bool) -> Result<Transaction> {
        let mode = if write {
            TransactionMode::ReadWrite
        } else {
            TransactionMode::ReadOnly
        };
        Ok(self.rexie.transaction(stores, mode)?)
    }

    async fn finish(tx: Transaction) -> Result<()> {
        if tx.done().await?.is_committed() {
            Ok(())
        } else {
            Err(StoreError(tc!(store.unfinished)))
        }
    }

    pub async fn meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let tx = self.tx(&[META], false)?;
        let got = tx.store(META)?.get(JsValue::from_str(key)).await?;
        match got {
            None => Ok(None),
            Some(v) if v.is_undefined() => Ok(None),
            Some(v) => {
                let row: MetaRow = from_js(v)?;
                Ok(Some(serde_json::from_str(&row.value)?))
            }
        }
    }

    pub async fn set_meta<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        let tx = self.tx(&[META], true)?;
        let row = MetaRow {
            key: key.into(),
            value: serde_json::to_string(value)?,
        };
        tx.store(META)?.put(&to_js(&row)?, None).await?;
        Self::finish(tx).await
    }

    /// This device's id, made on first use.
    pub async fn device_id(&self) -> Result<String> {
        if let Some(id) = self.meta::<String>("device").await? {
            return Ok(id);
        }
        let id = crate::ids::new_id().to_string();
        self.set_meta("device", &id).await?;
        Ok(id)
    }

    pub async fn delete_meta(&self, key: &str) -> Result<()> {
        let tx = self.tx(&[META], true)?;
        tx.store(META)?.delete(JsValue::from_str(key)).await?;
        Self::finish(tx).await
    }

    /// Saves a new revision made on this device: the record, its outbox entry and the advanced
    /// clock, in one transaction. The revision's clock is set here.
    pub async fn save(&self, rev: Revision, now_ms: u64) -> Result<Revision> {
        self.save_with(rev, now_ms, None, None, &[]).await
    }

    /// Saves a revision made on a form by the account named `author`, as [`Db::save`] does, and
    /// removes the form's draft (a `meta` key) in the same transaction: a tab killed while saving
    /// leaves either the record or the draft, never both, so the draft is never offered again for
    /// a saved record. The photos it names ([`shequ_model::photo::refs`]) join the upload queue
    /// in that transaction too.
    pub async fn save_from_draft(
        &self,
        rev: Revision,
        now_ms: u64,
        draft: &str,
        author: &str,
        photos: &[PhotoId],
    ) -> Result<Revision> {
        self.save_with(rev, now_ms, Some(draft), Some(author), photos)
            .await
    }

    async fn save_with(
        &self,
        rev: Revision,
        now_ms: u64,
        draft: Option<&str>,
        author: Option<&str>,
        photos: &[PhotoId],
    ) -> Result<Revision> {
        let timed = Timed::start(SAVE_TIMING);
        // Only a save that names photos waits on their store as well.
        let tx = if photos.is_empty() {
            self.tx(&[RECORDS, OUTBOX, META], true)?
        } else {
            self.tx(&[RECORDS, OUTBOX, META, photos::PHOTOS], true)?
        };
        let (meta, records, outbox) = (tx.store(META)?, tx.store(RECORDS)?, tx.store(OUTBOX)?);
        if !photos.is_empty() {
            photos::queue_in(&tx.store(photos::PHOTOS)?, photos).await?;
        }
        let id = rev.record.to_string();
        let ((), held, mut hlc, generation) = futures_util::try_join!(
            async {
                if let Some(key) = draft {
                    meta.delete(JsValue::from_str(key)).await?;
                }
                Ok(())
            },
            record_in(&records, &id),
            hlc_in(&meta),
            generation_in(&meta),
        )?;
        let (rev, local) = device::save_by(held.as_ref(), rev, &mut hlc, now_ms, author);
        let out = OutRow {
            rev: rev.rev.to_string(),
            record: rev.record.to_string(),
            body: serde_json::to_string(&rev)?,
        };
        let local = [local];
        futures_util::try_join!(
            put_hlc_in(&meta, &hlc),
            put_records_in(&records, &local),
            async { Ok(outbox.put(&to_js(&out)?, None).await?) },
            put_generation_in(&meta, generation + 1),
        )?;
        Self::finish(tx).await?;
        let written = Written {
            records: local.into(),
            queued: vec![(rev.rev, rev.record)],
            acknowledged: vec![],
        };
        self.kept.borrow_mut().after(generation, written);
        timed.end();
        Ok(rev)
    }

    /// Brings what the page keeps to the store's generation inside `tx` (over all three stores),
    /// reading everything when it is behind: once a page, or after another tab wrote. The
    /// generation.
    async fn keep_up(&self, tx: &Transaction) -> Result<u64> {
        let (records, outbox, meta) = (tx.store(RECORDS)?, tx.store(OUTBOX)?, tx.store(META)?);
        let generation = generation_in(&meta).await?;
        if self.kept.borrow().at(generation) {
            return Ok(generation);
        }
        let (rows, waiting) =
            futures_util::try_join!(records.get_all(None, None), outbox.get_all(None, None))?;
        let rows = rows
            .into_iter()
            .map(|r| Ok(serde_json::from_str(&from_js::<Row>(r)?.body)?))
            .collect::<Result<Vec<LocalRecord>>>()?;
        let waiting = waiting
            .into_iter()
            .map(|r| {
                let key: OutKey = from_js(r)?;
                let parse =
                    |s: &str| Uuid::parse_str(s).map_err(|e| StoreError(format!("{s}:{e}")));
                Ok((parse(&key.rev)?, parse(&key.record)?))
            })
            .collect::<Result<Vec<_>>>()?;
        *self.kept.borrow_mut() = Kept::load(generation, rows, waiting);
        Ok(generation)
    }

    /// The records `wanted` keeps, read inside `tx`.
    async fn held_where(
        &self,
        tx: &Transaction,
        wanted: impl Fn(&LocalRecord) -> bool,
    ) -> Result<Vec<LocalRecord>> {
        self.keep_up(tx).await?;
        let kept = self.kept.borrow();
        Ok(kept.records().filter(|r| wanted(r)).cloned().collect())
    }

    /// The records of a unit.
    pub async fn records_in(&self, unit: &str) -> Result<Vec<LocalRecord>> {
        let tx = self.tx(&[RECORDS, OUTBOX, META], false)?;
        self.held_where(&tx, |r| r.rev.unit.as_str() == unit).await
    }

    /// A record, as the page keeps it (its `synced` read from the outbox).
    pub async fn record(&self, id: &str) -> Result<Option<LocalRecord>> {
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(None);
        };
        let tx = self.tx(&[RECORDS, OUTBOX, META], false)?;
        self.keep_up(&tx).await?;
        Ok(self.kept.borrow().record(&id).cloned())
    }

    /// Up to `limit` unsynced revisions, oldest first (revision ids are time-ordered), after the
    /// revision `after` when it is given.
    pub async fn outbox(&self, limit: u32, after: Option<Uuid>) -> Result<Vec<Revision>> {
        let tx = self.tx(&[OUTBOX], false)?;
        let range = match after {
            Some(rev) => Some(
                rexie::KeyRange::lower_bound(&JsValue::from_str(&rev.to_string()), Some(true))
                    .map_err(|e| StoreError(e.to_string()))?,
            ),
            None => None,
        };
        let rows = tx.store(OUTBOX)?.get_all(range, Some(limit)).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(serde_json::from_str(&from_js::<OutRow>(r)?.body)?);
        }
        Ok(out)
    }

    pub async fn pending_count(&self) -> Result<u32> {
        let tx = self.tx(&[OUTBOX], false)?;
        Ok(tx.store(OUTBOX)?.count(None).await?)
    }

    /// Takes the server's answers to a push ([`device::take_results`]): an acknowledged change
    /// leaves the outbox, and its record shows synced once nothing of it waits there; a refused
    /// one stays, with the reason shown on the record. All in one transaction.
    pub async fn take_results(&self, results: &[PushResult]) -> Result<()> {
        let tx = self.tx(&[RECORDS, OUTBOX, META], true)?;
        let (records, outbox, meta) = (tx.store(RECORDS)?, tx.store(OUTBOX)?, tx.store(META)?);
        let generation = self.keep_up(&tx).await?;
        let (waiting, held) = {
            let kept = self.kept.borrow();
            // An answered change no longer waiting was taken by a pull meanwhile.
            let waiting: HashMap<Uuid, Uuid> = results
                .iter()
                .filter_map(|r| Some((r.rev, kept.waiting_record(&r.rev)?)))
                .collect();
            let held = kept.held_at(generation, waiting.values().copied());
            (
                waiting,
                held.ok_or_else(|| StoreError(tc!(store.unfinished)))?,
            )
        };
        let taken = device::take_results(results, &waiting, held);
        // Most answers only acknowledge: those records are not written again, as the page reads
        // their flag from the outbox (about half of a push's time in IndexedDB).
        let changed: Vec<LocalRecord> = {
            let kept = self.kept.borrow();
            taken
                .records
                .iter()
                .filter(|r| {
                    kept.record(&r.rev.record)
                        .is_none_or(|before| !device::acknowledged_only(before, r))
                })
                .cloned()
                .collect()
        };
        futures_util::try_join!(
            delete_outbox_in(&outbox, &taken.acknowledged),
            put_records_in(&records, &changed),
            put_generation_in(&meta, generation + 1),
        )?;
        Self::finish(tx).await?;
        let written = Written {
            records: taken.records,
            queued: vec![],
            acknowledged: taken.acknowledged,
        };
        self.kept.borrow_mut().after(generation, written);
        Ok(())
    }

    /// Applies one pulled page ([`device::apply_page`]) and stores the new cursor for `scope`, in
    /// one transaction, so a killed tab resumes from the last page it applied. A record with
    /// unsynced changes here keeps showing them.
    pub async fn apply_page(&self, scope: &str, page: PullPage) -> Result<usize> {
        let tx = self.tx(&[RECORDS, OUTBOX, META], true)?;
        let (records, outbox, meta) = (tx.store(RECORDS)?, tx.store(OUTBOX)?, tx.store(META)?);
        let ids = page.changes.iter().map(|c| c.revision.record);
        let (generation, hlc) = futures_util::try_join!(self.keep_up(&tx), hlc_in(&meta))?;
        let held = self.kept.borrow().held_at(generation, ids);
        let held = held.ok_or_else(|| StoreError(tc!(store.unfinished)))?;
        let writes = device::apply_page(page, held, hlc);
        let cursor = MetaRow {
            key: format!("cursor:{scope}"),
            value: writes.cursor.to_string(),
        };
        futures_util::try_join!(
            put_records_in(&records, &writes.records),
            delete_outbox_in(&outbox, &writes.acknowledged),
            async {
                match &writes.clock {
                    Some(hlc) => put_hlc_in(&meta, hlc).await,
                    None => Ok(()),
                }
            },
            async { Ok(meta.put(&to_js(&cursor)?, None).await?) },
            put_generation_in(&meta, generation + 1),
        )?;
        Self::finish(tx).await?;
        let taken = writes.taken;
        let written = Written {
            records: writes.records,
            queued: vec![],
            acknowledged: writes.acknowledged,
        };
        self.kept.borrow_mut().after(generation, written);
        Ok(taken)
    }

    pub async fn set_cursor(&self, scope: &str, cursor: i64) -> Result<()> {
        self.set_meta(&format!("cursor:{scope}"), &cursor).await
    }

    /// The records of a unit's whole subtree (a town's own and its villages').
    pub async fn records_under(&self, scope: &UnitCode) -> Result<Vec<LocalRecord>> {
        let tx = self.tx(&[RECORDS, OUTBOX, META], false)?;
        self.held_where(&tx, |r| scope.contains(&r.rev.unit)).await
    }

    /// The checksum of what the phone holds under `scope`, by the rule the server counts by
    /// ([`device::checksum`]), read in one transaction with the outbox.
    pub async fn checksum(&self, scope: &str) -> Result<Checksum> {
        let scope = UnitCode::parse(scope).map_err(StoreError)?;
        let tx = self.tx(&[RECORDS, OUTBOX, META], false)?;
        let outbox = tx.store(OUTBOX)?;
        let (held, waiting) = futures_util::try_join!(
            self.held_where(&tx, |r| scope.contains(&r.rev.unit)),
            async { rev_ids(outbox.get_all_keys(None, None).await?) },
        )?;
        Ok(device::checksum(
            &scope,
            &held,
            &waiting.into_iter().collect(),
        ))
    }

    /// Every change not yet acknowledged by the server, for an export file.
    pub async fn unsynced(&self) -> Result<Vec<Revision>> {
        self.outbox(u32::MAX, None).await
    }

    pub async fn cursor(&self, scope: &str) -> Result<i64> {
        Ok(self
            .meta::<i64>(&format!("cursor:{scope}"))
            .await?
            .unwrap_or(0))
    }
}
