//! An in-memory device with the phone store's semantics (`app/src/store`): saving puts the
//! revision in the record and the outbox together; only an acknowledgement takes it out; a pulled
//! page and its cursor land together; every revision is kept and the shown state follows the
//! shared merge rule, except that the device's own unsynced edit stays shown.

use shequ_model::client::{pushes, Replica};
use shequ_model::merge::RecordState;
use shequ_model::sync::{Checksum, Hlc, PullPage, PushResult};
use shequ_model::{Revision, UnitCode};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

#[derive(Default)]
struct Inner {
    records: HashMap<Uuid, RecordState>,
    outbox: BTreeMap<Uuid, Revision>,
    cursors: HashMap<String, i64>,
    hlc: Hlc,
    /// Every revision the server acknowledged to this device.
    acked: Vec<Uuid>,
    /// Every revision this device made.
    made: Vec<Uuid>,
}

pub struct MemReplica {
    pub device: String,
    pub unit: String,
    inner: RefCell<Inner>,
}

impl MemReplica {
    pub fn new(device: String, unit: String) -> Self {
        MemReplica {
            device,
            unit,
            inner: RefCell::default(),
        }
    }

    /// Saves a change made here (a new record, an edit or a delete).
    pub fn save(&self, mut rev: Revision, now_ms: u64) -> Revision {
        let mut i = self.inner.borrow_mut();
        rev.clock = i.hlc.tick(now_ms);
        i.records.entry(rev.record).or_default().insert(rev.clone());
        i.outbox.insert(rev.rev, rev.clone());
        i.made.push(rev.rev);
        rev
    }

    /// The revision shown for each record: the device's own pending edit, or the winner.
    pub fn shown(&self) -> Vec<Revision> {
        let i = self.inner.borrow();
        i.records
            .iter()
            .filter_map(|(id, s)| {
                let own = i
                    .outbox
                    .values()
                    .filter(|r| r.record == *id)
                    .max_by_key(|r| (r.clock, r.rev));
                own.or_else(|| s.winner()).cloned()
            })
            .collect()
    }

    pub fn state(&self, record: Uuid) -> Option<RecordState> {
        self.inner.borrow().records.get(&record).cloned()
    }

    pub fn acked(&self) -> Vec<Uuid> {
        self.inner.borrow().acked.clone()
    }

    pub fn made(&self) -> Vec<Uuid> {
        self.inner.borrow().made.clone()
    }

    /// The current revision of every record, by the shared rule.
    pub fn winners(&self) -> BTreeMap<Uuid, Uuid> {
        let i = self.inner.borrow();
        i.records
            .iter()
            .filter_map(|(id, s)| s.winner().map(|w| (*id, w.rev)))
            .collect()
    }
}

impl Replica for MemReplica {
    async fn device_id(&self) -> Result<String, String> {
        Ok(self.device.clone())
    }
    async fn outbox(&self, scope: &str, limit: u32) -> Result<Vec<Revision>, String> {
        Ok(self
            .inner
            .borrow()
            .outbox
            .values()
            .filter(|r| pushes(scope, r.unit.as_str()))
            .take(limit as usize)
            .cloned()
            .collect())
    }
    async fn pending_count(&self, scope: &str) -> Result<u32, String> {
        Ok(self
            .inner
            .borrow()
            .outbox
            .values()
            .filter(|r| pushes(scope, r.unit.as_str()))
            .count() as u32)
    }
    async fn take_results(&self, results: &[PushResult]) -> Result<(), String> {
        let mut i = self.inner.borrow_mut();
        for r in results {
            if r.outcome.acknowledged() && i.outbox.remove(&r.rev).is_some() {
                i.acked.push(r.rev);
            }
        }
        Ok(())
    }
    async fn cursor(&self, scope: &str) -> Result<i64, String> {
        Ok(self.inner.borrow().cursors.get(scope).copied().unwrap_or(0))
    }
    async fn apply_page(&self, scope: &str, page: &PullPage) -> Result<usize, String> {
        let mut i = self.inner.borrow_mut();
        let mut taken = 0;
        for c in &page.changes {
            i.hlc.observe(c.revision.clock);
            if i.records
                .entry(c.revision.record)
                .or_default()
                .insert(c.revision.clone())
            {
                taken += 1;
            }
        }
        i.cursors.insert(scope.to_string(), page.cursor);
        Ok(taken)
    }
    async fn set_cursor(&self, scope: &str, cursor: i64) -> Result<(), String> {
        self.inner
            .borrow_mut()
            .cursors
            .insert(scope.to_string(), cursor);
        Ok(())
    }
    async fn checksum(&self, scope: &str) -> Result<Checksum, String> {
        let scope = UnitCode::parse(scope)?;
        Ok(Checksum::of_scope(
            &scope,
            self.inner
                .borrow()
                .records
                .values()
                .filter_map(RecordState::winner),
        ))
    }
}
