//! What a page keeps in memory of the store: every record, and which changes of each wait in the
//! outbox, as of one generation of the store (see the module above). Kept, a write of records needs
//! no read of them: the store is asked only for its generation, and this page's own writes move
//! what is kept along with it.

use shequ_model::device::{Held, LocalRecord};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Default)]
pub(super) struct Kept {
    /// `None` when nothing is kept, or what is kept may be behind another tab's write.
    generation: Option<u64>,
    records: HashMap<Uuid, LocalRecord>,
    /// The changes waiting in the outbox, by revision, with their record.
    waiting: HashMap<Uuid, Uuid>,
}

/// What one transaction wrote: records, changes put in the outbox (revision, record) and changes
/// that left it.
#[derive(Default)]
pub(super) struct Written {
    pub records: Vec<LocalRecord>,
    pub queued: Vec<(Uuid, Uuid)>,
    pub acknowledged: Vec<Uuid>,
}

impl Kept {
    /// Everything the store held at `generation`: its records and its outbox entries
    /// (revision, record).
    pub fn load(
        generation: u64,
        records: impl IntoIterator<Item = LocalRecord>,
        waiting: impl IntoIterator<Item = (Uuid, Uuid)>,
    ) -> Kept {
        let waiting: HashMap<Uuid, Uuid> = waiting.into_iter().collect();
        let unsynced: std::collections::HashSet<Uuid> = waiting.values().copied().collect();
        // A record's flag is read from the outbox: an acknowledgement does not write it again
        // (`device::acknowledged_only`).
        let records = records
            .into_iter()
            .map(|mut r| {
                r.synced = !unsynced.contains(&r.rev.record);
                (r.rev.record, r)
            })
            .collect();
        Kept {
            generation: Some(generation),
            records,
            waiting,
        }
    }

    pub fn at(&self, generation: u64) -> bool {
        self.generation == Some(generation)
    }

    pub fn records(&self) -> impl Iterator<Item = &LocalRecord> {
        self.records.values()
    }

    pub fn record(&self, id: &Uuid) -> Option<&LocalRecord> {
        self.records.get(id)
    }

    /// The record of a change still waiting in the outbox.
    pub fn waiting_record(&self, rev: &Uuid) -> Option<Uuid> {
        self.waiting.get(rev).copied()
    }

    /// What is held of each of `ids` with its waiting changes, when the store is at `generation`.
    pub fn held_at(
        &self,
        generation: u64,
        ids: impl IntoIterator<Item = Uuid>,
    ) -> Option<HashMap<Uuid, Held>> {
        if !self.at(generation) {
            return None;
        }
        let mut held: HashMap<Uuid, Held> = ids
            .into_iter()
            .map(|id| {
                let record = self.records.get(&id).cloned();
                (
                    id,
                    Held {
                        record,
                        waiting: vec![],
                    },
                )
            })
            .collect();
        for (rev, record) in &self.waiting {
            if let Some(h) = held.get_mut(record) {
                h.waiting.push(*rev);
            }
        }
        // The store lists a record's waiting changes in revision order.
        for h in held.values_mut() {
            h.waiting.sort_unstable();
        }
        Some(held)
    }

    /// Follows a write that moved the store from `generation` to the next; forgets everything
    /// when what is kept was not at `generation` (another tab wrote in between).
    pub fn after(&mut self, generation: u64, written: Written) {
        if !self.at(generation) {
            *self = Kept::default();
            return;
        }
        self.generation = Some(generation + 1);
        for rev in &written.acknowledged {
            self.waiting.remove(rev);
        }
        for (rev, record) in written.queued {
            self.waiting.insert(rev, record);
        }
        for local in written.records {
            self.records.insert(local.rev.record, local);
        }
    }
}
