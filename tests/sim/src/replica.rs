//! An in-memory device following the device's rules ([`shequ_model::device`]) as the phone's store
//! (`app/src/store`) does: what it writes is what the rules return, each step at once, so only
//! the storage differs from the phone.

use shequ_model::client::{pushes, Replica};
use shequ_model::device::{self, Held, LocalRecord};
use shequ_model::merge::RecordState;
use shequ_model::sync::{Checksum, Hlc, PullPage, PushResult};
use shequ_model::{Revision, UnitCode};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

#[derive(Default)]
struct Inner {
    records: HashMap<Uuid, LocalRecord>,
    outbox: BTreeMap<Uuid, Revision>,
    cursors: HashMap<String, i64>,
    hlc: Hlc,
    /// Every revision the server acknowledged to this device.
    acked: Vec<Uuid>,
    /// Every revision this device made.
    made: Vec<Uuid>,
    /// How many times a sync pulled the scope again from the start after the checksums disagreed.
    repairs: usize,
}

impl Inner {
    /// What the device holds of `records`, as the phone reads it in its transaction.
    fn held(&self, records: impl IntoIterator<Item = Uuid>) -> HashMap<Uuid, Held> {
        let mut held: HashMap<Uuid, Held> = records
            .into_iter()
            .map(|id| {
                let record = self.records.get(&id).cloned();
                let waiting = vec![];
                (id, Held { record, waiting })
            })
            .collect();
        for r in self.outbox.values() {
            if let Some(h) = held.get_mut(&r.record) {
                h.waiting.push(r.rev);
            }
        }
        held
    }
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
    pub fn save(&self, rev: Revision, now_ms: u64) -> Revision {
        let i = &mut *self.inner.borrow_mut();
        let (rev, local) = device::save(i.records.get(&rev.record), rev, &mut i.hlc, now_ms);
        i.records.insert(rev.record, local);
        i.outbox.insert(rev.rev, rev.clone());
        i.made.push(rev.rev);
        rev
    }

    /// The revision shown for each record: the device's own pending edit, or the winner.
    pub fn shown(&self) -> Vec<Revision> {
        let i = self.inner.borrow();
        i.records.values().map(|r| r.rev.clone()).collect()
    }

    pub fn record(&self, record: Uuid) -> Option<LocalRecord> {
        self.inner.borrow().records.get(&record).cloned()
    }

    pub fn state(&self, record: Uuid) -> Option<RecordState> {
        self.record(record).as_ref().map(LocalRecord::state)
    }

    pub fn acked(&self) -> Vec<Uuid> {
        self.inner.borrow().acked.clone()
    }

    pub fn made(&self) -> Vec<Uuid> {
        self.inner.borrow().made.clone()
    }

    /// Changes saved here and not acknowledged yet.
    pub fn unsent(&self) -> usize {
        self.inner.borrow().outbox.len()
    }

    /// How many times a sync found the device's checksum different from the server's even after
    /// catching up, and pulled its scope again from the start.
    pub fn repairs(&self) -> usize {
        self.inner.borrow().repairs
    }

    /// The current revision of every record, by the shared rule.
    pub fn winners(&self) -> BTreeMap<Uuid, Uuid> {
        let i = self.inner.borrow();
        i.records
            .iter()
            .filter_map(|(id, r)| r.state().winner().map(|w| (*id, w.rev)))
            .collect()
    }
}

impl Replica for MemReplica {
    async fn device_id(&self) -> Result<String, String> {
        Ok(self.device.clone())
    }
    async fn outbox(
        &self,
        scope: &str,
        limit: u32,
        after: Option<Uuid>,
    ) -> Result<Vec<Revision>, String> {
        use std::ops::Bound::{Excluded, Unbounded};
        let from = after.map_or(Unbounded, Excluded);
        Ok(self
            .inner
            .borrow()
            .outbox
            .range((from, Unbounded))
            .map(|(_, r)| r)
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
        let i = &mut *self.inner.borrow_mut();
        let waiting: HashMap<Uuid, Uuid> = results
            .iter()
            .filter_map(|r| i.outbox.get(&r.rev).map(|o| (r.rev, o.record)))
            .collect();
        let held = i.held(waiting.values().copied());
        let taken = device::take_results(results, &waiting, held);
        for rev in taken.acknowledged {
            i.outbox.remove(&rev);
            i.acked.push(rev);
        }
        for local in taken.records {
            i.records.insert(local.rev.record, local);
        }
        Ok(())
    }
    async fn cursor(&self, scope: &str) -> Result<i64, String> {
        Ok(self.inner.borrow().cursors.get(scope).copied().unwrap_or(0))
    }
    async fn apply_page(&self, scope: &str, page: PullPage) -> Result<usize, String> {
        let i = &mut *self.inner.borrow_mut();
        let held = i.held(page.changes.iter().map(|c| c.revision.record));
        let writes = device::apply_page(page, held, i.hlc);
        for local in writes.records {
            i.records.insert(local.rev.record, local);
        }
        for rev in writes.acknowledged {
            i.outbox.remove(&rev);
            i.acked.push(rev);
        }
        if let Some(hlc) = writes.clock {
            i.hlc = hlc;
        }
        i.cursors.insert(scope.to_string(), writes.cursor);
        Ok(writes.taken)
    }
    async fn set_cursor(&self, scope: &str, cursor: i64) -> Result<(), String> {
        let i = &mut *self.inner.borrow_mut();
        // The sync engine moves a cursor back only to repair a drift.
        i.repairs += usize::from(cursor == 0);
        i.cursors.insert(scope.to_string(), cursor);
        Ok(())
    }
    async fn checksum(&self, scope: &str) -> Result<Checksum, String> {
        let scope = UnitCode::parse(scope)?;
        let i = self.inner.borrow();
        let waiting = i.outbox.keys().copied().collect();
        Ok(device::checksum(&scope, i.records.values(), &waiting))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shequ_model::sync::MAX_CLOCK_AHEAD_MS;

    fn rev(record: Uuid, parent: Option<Uuid>) -> Revision {
        Revision {
            record,
            rev: Uuid::now_v7(),
            parent,
            resolves: vec![],
            device: "设备".into(),
            clock: 0,
            plan: Default::default(),
            form: "deliberation_case".into(),
            unit: UnitCode::parse("610324001001").unwrap(),
            deleted: false,
            content: Default::default(),
        }
    }

    /// As on the phone: after a wall clock far ahead is put right, the change saved last stays
    /// shown, not the earlier one with the higher clock.
    #[test]
    fn the_change_saved_last_stays_shown_after_a_clock_put_right() {
        let now = 1_530_000_000_000;
        let dev = MemReplica::new("设备".into(), "610324001001".into());
        let record = Uuid::now_v7();
        let ahead = dev.save(rev(record, None), now + 365 * MAX_CLOCK_AHEAD_MS);
        let last = dev.save(rev(record, Some(ahead.rev)), now);
        assert!(last.clock < ahead.clock);
        assert_eq!(dev.shown(), vec![last]);
    }
}
