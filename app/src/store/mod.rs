//! The phone's storage: the only module that touches IndexedDB.
//!
//! Three object stores:
//! * `records`: the device's current revision of each record (`{id, unit, body}`), with a `unit`
//!   index; `body` is the JSON of a [`LocalRecord`];
//! * `outbox`: revisions saved here and not yet acknowledged by the server (`{rev, record, body}`),
//!   with a `record` index;
//! * `meta`: small settings and sync state by key (device id, clock, chosen village, pull cursors,
//!   cached plan and areas, last sync time, the last figures read from the server per unit and
//!   plan, and each form's draft: `draft:new:<form>` for a new record, `draft:<record>` for an
//!   edit, the content as typed);
//!
//! Bodies are kept as JSON text so that every value (the 64-bit clock included) round-trips
//! exactly. Every change that must be atomic happens in one IndexedDB transaction: saving a record
//! writes the record, its outbox entry and the clock together; acknowledging a push removes the
//! outbox entry and marks the record synced together; applying a pulled page stores the records
//! and the new cursor together.

use crate::tc;
use rexie::{Index, KeyRange, ObjectStore, Rexie, Transaction, TransactionMode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shequ_model::device::{self, Held};
use shequ_model::sync::{Checksum, Hlc, PullPage, PushResult};
use shequ_model::{Revision, UnitCode};
use std::cell::RefCell;
use std::collections::hash_map::{Entry, HashMap};
use std::rc::Rc;
use uuid::Uuid;
use wasm_bindgen::JsValue;

mod figures;
mod plans;

pub use figures::KeptFigures;

const DB_NAME: &str = "shequ";
const RECORDS: &str = "records";
const OUTBOX: &str = "outbox";
const META: &str = "meta";

/// The name under which each save's time, from opening its transaction to its commit, is left in
/// the page's performance timeline (a `PerformanceMeasure`), where `cargo xtask bench-phone`
/// reads it: the save as the phone does it, not as a test driving the page sees it.
const SAVE_TIMING: &str = "shequ-save";

/// A span of the page's performance timeline; nothing where the browser has none.
struct Timed(Option<(web_sys::Performance, &'static str, String)>);

impl Timed {
    fn start(name: &'static str) -> Timed {
        let mark = format!("{name}:start");
        let performance = web_sys::window().and_then(|w| w.performance());
        Timed(performance.filter(|p| p.mark(&mark).is_ok()).map(|p| (p, name, mark)))
    }

    fn end(self) {
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

async fn put_record_in(records: &rexie::Store, local: &LocalRecord) -> Result<()> {
    let row = Row {
        id: local.rev.record.to_string(),
        unit: local.rev.unit.to_string(),
        body: serde_json::to_string(local)?,
    };
    records.put(&to_js(&row)?, None).await?;
    Ok(())
}

/// What the device holds of record `id`, with its changes waiting in the outbox.
async fn held_in(records: &rexie::Store, outbox: &rexie::Store, id: Uuid) -> Result<Held> {
    let key = JsValue::from_str(&id.to_string());
    let waiting = outbox
        .index("record")?
        .get_all_keys(Some(only(&key)?), None)
        .await?;
    Ok(Held {
        record: record_in(records, &id.to_string()).await?,
        waiting: rev_ids(waiting)?,
    })
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

/// The records whose unit lies in `units`, read inside a transaction.
async fn records_within(records: &rexie::Store, units: KeyRange) -> Result<Vec<LocalRecord>> {
    let rows = records.index("unit")?.get_all(Some(units), None).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let row: Row = from_js(r)?;
        out.push(serde_json::from_str(&row.body)?);
    }
    Ok(out)
}

/// A scope's subtree as a range of the `unit` index.
fn subtree(scope: &UnitCode) -> Result<KeyRange> {
    let (start, end) = scope.key_range();
    KeyRange::bound(
        &JsValue::from_str(&start),
        &JsValue::from_str(&end),
        Some(false),
        Some(true),
    )
    .map_err(|e| StoreError(e.to_string()))
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

#[derive(Serialize, Deserialize)]
struct MetaRow {
    key: String,
    value: String,
}

fn only(key: &JsValue) -> Result<KeyRange> {
    KeyRange::only(key).map_err(|e| StoreError(e.to_string()))
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
            .version(1)
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
            .build()
            .await?;
        Ok(Db {
            rexie: Rc::new(rexie),
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
        self.save_with(rev, now_ms, None, None).await
    }

    /// Saves a revision made on a form by the account named `author`, as [`Db::save`] does, and
    /// removes the form's draft (a `meta` key) in the same transaction: a tab killed while saving
    /// leaves either the record or the draft, never both, so the draft is never offered again for
    /// a saved record.
    pub async fn save_from_draft(
        &self,
        rev: Revision,
        now_ms: u64,
        draft: &str,
        author: &str,
    ) -> Result<Revision> {
        self.save_with(rev, now_ms, Some(draft), Some(author)).await
    }

    async fn save_with(
        &self,
        rev: Revision,
        now_ms: u64,
        draft: Option<&str>,
        author: Option<&str>,
    ) -> Result<Revision> {
        let timed = Timed::start(SAVE_TIMING);
        let tx = self.tx(&[RECORDS, OUTBOX, META], true)?;
        let meta = tx.store(META)?;
        if let Some(key) = draft {
            meta.delete(JsValue::from_str(key)).await?;
        }
        let records = tx.store(RECORDS)?;
        let held = record_in(&records, &rev.record.to_string()).await?;
        let mut hlc = hlc_in(&meta).await?;
        let (rev, local) = device::save_by(held.as_ref(), rev, &mut hlc, now_ms, author);
        put_hlc_in(&meta, &hlc).await?;
        put_record_in(&records, &local).await?;
        let out = OutRow {
            rev: rev.rev.to_string(),
            record: rev.record.to_string(),
            body: serde_json::to_string(&rev)?,
        };
        tx.store(OUTBOX)?.put(&to_js(&out)?, None).await?;
        Self::finish(tx).await?;
        timed.end();
        Ok(rev)
    }

    /// The records of a unit.
    pub async fn records_in(&self, unit: &str) -> Result<Vec<LocalRecord>> {
        self.records_of_units(only(&JsValue::from_str(unit))?).await
    }

    async fn records_of_units(&self, units: KeyRange) -> Result<Vec<LocalRecord>> {
        let tx = self.tx(&[RECORDS], false)?;
        records_within(&tx.store(RECORDS)?, units).await
    }

    pub async fn record(&self, id: &str) -> Result<Option<LocalRecord>> {
        let tx = self.tx(&[RECORDS], false)?;
        record_in(&tx.store(RECORDS)?, id).await
    }

    /// Up to `limit` unsynced revisions, oldest first (revision ids are time-ordered).
    pub async fn outbox(&self, limit: u32) -> Result<Vec<Revision>> {
        let tx = self.tx(&[OUTBOX], false)?;
        let rows = tx.store(OUTBOX)?.get_all(None, Some(limit)).await?;
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
    /// leaves the outbox and its record is marked synced once nothing of it waits there; a refused
    /// one stays, with the reason shown on the record. All in one transaction.
    pub async fn take_results(&self, results: &[PushResult]) -> Result<()> {
        let tx = self.tx(&[RECORDS, OUTBOX], true)?;
        let records = tx.store(RECORDS)?;
        let outbox = tx.store(OUTBOX)?;
        let mut waiting = HashMap::new();
        let mut held = HashMap::new();
        for r in results {
            let Some(v) = outbox.get(JsValue::from_str(&r.rev.to_string())).await? else {
                continue;
            };
            if v.is_undefined() {
                continue;
            }
            let record = Uuid::parse_str(&from_js::<OutRow>(v)?.record)
                .map_err(|e| StoreError(e.to_string()))?;
            waiting.insert(r.rev, record);
            if let Entry::Vacant(e) = held.entry(record) {
                e.insert(held_in(&records, &outbox, record).await?);
            }
        }
        let taken = device::take_results(results, &waiting, held);
        for rev in &taken.acknowledged {
            outbox.delete(JsValue::from_str(&rev.to_string())).await?;
        }
        for local in &taken.records {
            put_record_in(&records, local).await?;
        }
        Self::finish(tx).await
    }

    /// Applies one pulled page ([`device::apply_page`]) and stores the new cursor for `scope`, in
    /// one transaction, so a killed tab resumes from the last page it applied. A record with
    /// unsynced changes here keeps showing them.
    pub async fn apply_page(&self, scope: &str, page: PullPage) -> Result<usize> {
        let tx = self.tx(&[RECORDS, OUTBOX, META], true)?;
        let records = tx.store(RECORDS)?;
        let outbox = tx.store(OUTBOX)?;
        let meta = tx.store(META)?;
        let mut held = HashMap::new();
        for c in &page.changes {
            let id = c.revision.record;
            if let Entry::Vacant(e) = held.entry(id) {
                e.insert(held_in(&records, &outbox, id).await?);
            }
        }
        let writes = device::apply_page(page, held, hlc_in(&meta).await?);
        for local in &writes.records {
            put_record_in(&records, local).await?;
        }
        for rev in &writes.acknowledged {
            outbox.delete(JsValue::from_str(&rev.to_string())).await?;
        }
        if let Some(hlc) = &writes.clock {
            put_hlc_in(&meta, hlc).await?;
        }
        let cursor = MetaRow {
            key: format!("cursor:{scope}"),
            value: writes.cursor.to_string(),
        };
        meta.put(&to_js(&cursor)?, None).await?;
        Self::finish(tx).await?;
        Ok(writes.taken)
    }

    pub async fn set_cursor(&self, scope: &str, cursor: i64) -> Result<()> {
        self.set_meta(&format!("cursor:{scope}"), &cursor).await
    }

    /// The records of a unit's whole subtree (a town's own and its villages'), read as one range
    /// of the `unit` index.
    pub async fn records_under(&self, scope: &UnitCode) -> Result<Vec<LocalRecord>> {
        self.records_of_units(subtree(scope)?).await
    }

    /// The checksum of what the phone holds under `scope`, by the rule the server counts by
    /// ([`device::checksum`]), read in one transaction with the outbox.
    pub async fn checksum(&self, scope: &str) -> Result<Checksum> {
        let scope = UnitCode::parse(scope).map_err(StoreError)?;
        let tx = self.tx(&[RECORDS, OUTBOX], false)?;
        let held = records_within(&tx.store(RECORDS)?, subtree(&scope)?).await?;
        let waiting = rev_ids(tx.store(OUTBOX)?.get_all_keys(None, None).await?)?;
        Ok(device::checksum(
            &scope,
            &held,
            &waiting.into_iter().collect(),
        ))
    }

    /// Every change not yet acknowledged by the server, for an export file.
    pub async fn unsynced(&self) -> Result<Vec<Revision>> {
        self.outbox(u32::MAX).await
    }

    pub async fn cursor(&self, scope: &str) -> Result<i64> {
        Ok(self
            .meta::<i64>(&format!("cursor:{scope}"))
            .await?
            .unwrap_or(0))
    }
}
