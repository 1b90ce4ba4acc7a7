//! The device's rules: what a device writes when it saves a change made on it, applies a pulled
//! page, takes the server's answers to a push, and what it counts in a scope's checksum.
//!
//! Pure, like the merge rules they build on ([`crate::merge`]): the phone's IndexedDB store and
//! the fault simulation's in-memory device both read what they hold ([`Held`]), call these, and
//! write what comes back, each in one atomic step. The rules:
//!
//! * every revision a device learns of is kept, and the record shows the winner by the shared
//!   merge rule, except that a record with changes waiting in the outbox keeps showing the change
//!   last saved here until the server has acknowledged all of them;
//! * a pulled page lands with its cursor, and the device's clock moves past every clock in it, so
//!   its next edit wins over what it has seen;
//! * only an acknowledgement takes a change out of the outbox; a refusal stays, with its reason
//!   shown on the record;
//! * a scope's checksum counts, as the server does, the winner of every record under the scope
//!   (the scope's own unit and every unit below it) over the revisions the server has.

use crate::area::UnitCode;
use crate::merge::RecordState;
use crate::plan::PlanId;
use crate::record::{FieldError, Revision};
use crate::sync::{Checksum, Hlc, PullPage, PushOutcome, PushResult};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A record as a device holds it.
/// Wire format: stable (the phone keeps it as JSON in IndexedDB).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LocalRecord {
    /// The revision shown: the winner by the shared rule, or this device's own unsynced edit.
    pub rev: Revision,
    /// Every other revision of the record the device knows: history, and conflicting versions.
    #[serde(default)]
    pub others: Vec<Revision>,
    /// Whether the record has conflicting versions a user should look at.
    #[serde(default)]
    pub conflict: bool,
    /// Whether the server has acknowledged every change of it made here: whether the outbox
    /// holds none of its changes. A store that keeps the outbox may leave this flag stale on a
    /// record whose only change is being acknowledged ([`acknowledged_only`]) and read it from
    /// its outbox instead.
    pub synced: bool,
    /// Why the server refused the last push of it, in Chinese.
    #[serde(default)]
    pub error: Option<String>,
    /// The name of the account that made the record (its first revision): the account logged in
    /// when it was made here, else as the server sends it; none until known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

impl LocalRecord {
    /// The plan this record belongs to: the plan its revisions name, else the device's legacy
    /// plan (see [`crate::record::plan_of`]).
    pub fn plan(&self, legacy: &PlanId) -> PlanId {
        let named = std::iter::once(&self.rev)
            .chain(&self.others)
            .map(|r| &r.plan)
            .find(|p| !p.is_empty());
        crate::record::plan_of(&self.rev, named, legacy)
    }

    pub fn state(&self) -> RecordState {
        RecordState::from_revisions(
            std::iter::once(self.rev.clone()).chain(self.others.iter().cloned()),
        )
    }

    /// Every revision of the record, moved out of it.
    fn into_revisions(self) -> Vec<Revision> {
        let mut revs = self.others;
        revs.push(self.rev);
        revs
    }

    /// The record rebuilt from its distinct revisions, moved in: the revision `shown` stays shown
    /// while changes of the record wait, and the others are kept in the order of their ids; its
    /// author stays as known.
    fn from_revisions(
        mut revs: Vec<Revision>,
        shown: Option<Uuid>,
        waiting: bool,
        author: Option<String>,
    ) -> LocalRecord {
        let conflict = crate::merge::heads(&revs).len() > 1;
        let rev = match (waiting, shown) {
            (true, Some(s)) => s,
            _ => {
                crate::merge::winner(&revs)
                    .expect("a record holds at least one revision")
                    .rev
            }
        };
        revs.sort_unstable_by_key(|r| r.rev);
        let at = revs
            .iter()
            .position(|r| r.rev == rev)
            .expect("the revision shown is one of the record's");
        let rev = revs.remove(at);
        LocalRecord {
            rev,
            others: revs,
            conflict,
            synced: !waiting,
            error: None,
            author,
        }
    }

    /// Whether the device holds this revision of the record.
    fn holds(&self, rev: Uuid) -> bool {
        self.rev.rev == rev || self.others.iter().any(|r| r.rev == rev)
    }

    /// The conflicting versions a user may choose instead of the shown one.
    pub fn rivals(&self) -> Vec<Revision> {
        let state = self.state();
        state
            .heads()
            .into_iter()
            .filter(|r| r.rev != self.rev.rev)
            .cloned()
            .collect()
    }
}

/// What a device holds of one record, read in the step that writes what the rules return.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Held {
    pub record: Option<LocalRecord>,
    /// The changes of the record waiting in the outbox.
    pub waiting: Vec<Uuid>,
}

/// A change made on this device: its clock is stamped from the device's clock (which advances),
/// and it is written as the record (returned) and as an outbox entry, with the clock, together.
pub fn save(
    held: Option<&LocalRecord>,
    rev: Revision,
    hlc: &mut Hlc,
    now_ms: u64,
) -> (Revision, LocalRecord) {
    save_by(held, rev, hlc, now_ms, None)
}

/// [`save`] by the account named `author`, who made the record when it is new here.
pub fn save_by(
    held: Option<&LocalRecord>,
    mut rev: Revision,
    hlc: &mut Hlc,
    now_ms: u64,
    author: Option<&str>,
) -> (Revision, LocalRecord) {
    rev.clock = hlc.tick(now_ms);
    let mut revs: Vec<Revision> = held
        .map(|l| std::iter::once(&l.rev).chain(&l.others).cloned().collect())
        .unwrap_or_default();
    if !revs.iter().any(|r| r.rev == rev.rev) {
        revs.push(rev.clone());
    }
    let author = match held {
        Some(h) => h.author.clone(),
        None if rev.parent.is_none() => author.map(str::to_string),
        None => None,
    };
    let record = LocalRecord::from_revisions(revs, Some(rev.rev), true, author);
    (rev, record)
}

/// What applying a pulled page writes, together with the page's cursor.
#[derive(Clone, Debug, PartialEq)]
pub struct PageWrites {
    /// The records that changed, each once.
    pub records: Vec<LocalRecord>,
    /// Changes waiting in the outbox that the page brought back: the server holds them (a push
    /// whose answer was lost), so they leave the outbox as if acknowledged.
    pub acknowledged: Vec<Uuid>,
    /// The device's clock, when the page moved it on.
    pub clock: Option<Hlc>,
    /// The cursor to store for the scope.
    pub cursor: i64,
    /// How many revisions were new to the device.
    pub taken: usize,
}

/// Applies a pulled page to what the device holds of the page's records (a record missing from
/// `held` is one the device has not got). Every revision is kept; a record with changes waiting
/// keeps showing the change made here; a waiting change the server sends back is acknowledged.
pub fn apply_page(page: PullPage, mut held: HashMap<Uuid, Held>, hlc: Hlc) -> PageWrites {
    let mut changed: Vec<Uuid> = Vec::new();
    let mut acknowledged = Vec::new();
    let mut taken = 0;
    let seen = page.changes.iter().map(|c| c.revision.clock).max();
    for c in page.changes {
        let id = c.revision.record;
        let h = held.entry(id).or_default();
        let back = h.waiting.iter().position(|w| *w == c.revision.rev);
        if let Some(at) = back {
            acknowledged.push(h.waiting.swap_remove(at));
        }
        let new = !h.record.as_ref().is_some_and(|l| l.holds(c.revision.rev));
        // The server names who made a record with its first revision.
        let made_by = c
            .author
            .filter(|_| c.revision.parent.is_none())
            .filter(|_| h.record.as_ref().is_none_or(|l| l.author.is_none()));
        if !new && back.is_none() && made_by.is_none() {
            continue;
        }
        let before = h.record.take();
        let shown = before.as_ref().map(|l| l.rev.rev);
        let error = before.as_ref().and_then(|l| l.error.clone());
        let before_author = before.as_ref().and_then(|l| l.author.clone());
        let mut revs = before.map(LocalRecord::into_revisions).unwrap_or_default();
        if new {
            revs.push(c.revision);
        }
        let waiting = !h.waiting.is_empty();
        let author = made_by.or_else(|| before_author.clone());
        let mut next = LocalRecord::from_revisions(revs, shown, waiting, author);
        // A refusal is kept until nothing of the record waits, as an acknowledgement does.
        next.error = error.filter(|_| waiting || back.is_none());
        h.record = Some(next);
        if !changed.contains(&id) {
            changed.push(id);
        }
        taken += usize::from(new);
    }
    let clock = seen.map(|seen| {
        let mut hlc = hlc;
        hlc.observe(seen);
        hlc
    });
    PageWrites {
        records: changed
            .iter()
            .filter_map(|id| held.remove(id).and_then(|h| h.record))
            .collect(),
        acknowledged,
        clock,
        cursor: page.cursor,
        taken,
    }
}

/// What the server's answers to a push write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Taken {
    /// The acknowledged changes, to take out of the outbox.
    pub acknowledged: Vec<Uuid>,
    /// The records the answers changed, each once.
    pub records: Vec<LocalRecord>,
}

/// Takes the answers to a push. `outbox` gives, for each answered change still in the outbox, its
/// record; `held` what the device holds of those records, with their changes waiting in the
/// outbox before these answers. An acknowledged change leaves the outbox, and its record shows
/// the winner again once nothing of it waits; a refused change stays, with the reason on its record.
pub fn take_results(
    results: &[PushResult],
    outbox: &HashMap<Uuid, Uuid>,
    mut held: HashMap<Uuid, Held>,
) -> Taken {
    let mut acknowledged = Vec::new();
    let mut gone: HashSet<Uuid> = HashSet::new();
    let mut changed: Vec<Uuid> = Vec::new();
    for r in results {
        let Some(record) = outbox.get(&r.rev) else {
            continue;
        };
        if gone.contains(&r.rev) {
            continue;
        }
        let h = held.entry(*record).or_default();
        let acked = r.outcome.acknowledged();
        if acked {
            gone.insert(r.rev);
            acknowledged.push(r.rev);
            h.waiting.retain(|w| *w != r.rev);
        }
        let Some(local) = h.record.take() else {
            continue;
        };
        h.record = Some(if !acked {
            let mut local = local;
            if let PushOutcome::Rejected { reason, errors } = &r.outcome {
                local.error = Some(refusal(reason, errors));
            }
            local
        } else if h.waiting.is_empty() {
            let author = local.author.clone();
            LocalRecord::from_revisions(local.into_revisions(), None, false, author)
        } else {
            local
        });
        if !changed.contains(record) {
            changed.push(*record);
        }
    }
    Taken {
        acknowledged,
        records: changed
            .iter()
            .filter_map(|id| held.remove(id).and_then(|h| h.record))
            .collect(),
    }
}

/// Whether `after` is `before` with nothing changed but its acknowledgement: a store that reads
/// `synced` from its outbox need not write it again.
pub fn acknowledged_only(before: &LocalRecord, after: &LocalRecord) -> bool {
    after.synced
        && LocalRecord {
            synced: true,
            ..before.clone()
        } == *after
}

/// A refusal as the record shows it: the reason, then each field's problem.
pub fn refusal(reason: &str, errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return reason.to_string();
    }
    let detail: Vec<String> = errors
        .iter()
        .map(|e| format!("{}:{}", e.field, e.message))
        .collect();
    format!("{reason}({})", detail.join(";"))
}

/// The device's checksum of `scope` over the records it holds (those outside the scope are not
/// counted), as the server counts it: the scope's whole subtree, and of each record the winner by
/// the shared rule over the revisions the server has, every one the device holds but those still
/// `waiting` in its outbox (a record with nothing else is not counted). On a phone shared by a
/// village worker and the town supervisor, the worker's unsynced work stays out of the town's count.
pub fn checksum<'a>(
    scope: &UnitCode,
    held: impl IntoIterator<Item = &'a LocalRecord>,
    waiting: &HashSet<Uuid>,
) -> Checksum {
    // Read in place: a phone sums every record of its scope at each sync.
    let winners = held.into_iter().filter_map(|r| {
        crate::merge::winner(
            std::iter::once(&r.rev)
                .chain(&r.others)
                .filter(|rev| !waiting.contains(&rev.rev)),
        )
    });
    Checksum::of_scope(scope, winners)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{PulledRevision, MAX_CLOCK_AHEAD_MS};
    use proptest::prelude::*;

    const VILLAGE: &str = "610324001001";
    const NOW: u64 = 1_530_000_000_000;

    fn rev(record: u128, id: u128, parent: Option<u128>, clock: u64) -> Revision {
        Revision {
            record: Uuid::from_u128(record),
            rev: Uuid::from_u128(id),
            parent: parent.map(Uuid::from_u128),
            resolves: vec![],
            device: "d".into(),
            clock,
            plan: Default::default(),
            form: "f".into(),
            unit: UnitCode::parse(VILLAGE).unwrap(),
            deleted: false,
            content: Default::default(),
        }
    }

    fn page(revs: &[Revision], cursor: i64) -> PullPage {
        PullPage {
            changes: revs
                .iter()
                .enumerate()
                .map(|(i, r)| PulledRevision {
                    seq: i as i64 + 1,
                    revision: r.clone(),
                    author: None,
                })
                .collect(),
            cursor,
            more: false,
        }
    }

    fn holding(record: &LocalRecord, waiting: &[&Revision]) -> HashMap<Uuid, Held> {
        HashMap::from([(
            record.rev.record,
            Held {
                record: Some(record.clone()),
                waiting: waiting.iter().map(|r| r.rev).collect(),
            },
        )])
    }

    fn ack(rev: Uuid) -> PushResult {
        PushResult {
            rev,
            outcome: PushOutcome::Stored { seq: 1 },
        }
    }

    fn synced(revs: &[Revision]) -> LocalRecord {
        let w = apply_page(page(revs, 1), HashMap::new(), Hlc::default());
        assert_eq!(w.records.len(), 1);
        w.records[0].clone()
    }

    #[test]
    fn only_an_acknowledgement_is_told_from_a_change_of_what_a_record_shows() {
        let mut before = LocalRecord::from_revisions(vec![rev(1, 1, None, 1)], None, true, None);
        assert!(!before.synced);
        let acked = LocalRecord {
            synced: true,
            ..before.clone()
        };
        assert!(acknowledged_only(&before, &acked));
        assert!(
            !acknowledged_only(&acked, &before),
            "a change waiting again is written"
        );
        let refused = LocalRecord {
            error: Some("内容未通过校验".into()),
            ..before.clone()
        };
        assert!(
            !acknowledged_only(&refused, &acked),
            "a refusal cleared is written"
        );
        before.others.push(rev(1, 2, Some(1), 2));
        assert!(
            !acknowledged_only(&before, &acked),
            "another revision is written"
        );
    }

    #[test]
    fn a_record_is_known_by_who_made_it_whether_made_here_or_pulled() {
        let by = |r: &Revision, author: &str| PullPage {
            changes: vec![PulledRevision {
                seq: 1,
                revision: r.clone(),
                author: Some(author.into()),
            }],
            cursor: 1,
            more: false,
        };
        // Made here: the account logged in; an edit, an acknowledgement and the server sending
        // the first revision back keep it.
        let mut hlc = Hlc::default();
        let (first, held) = save_by(None, rev(1, 1, None, 0), &mut hlc, 1, Some("王芳"));
        assert_eq!(held.author.as_deref(), Some("王芳"));
        let (second, held) = save_by(
            Some(&held),
            rev(1, 2, Some(1), 0),
            &mut hlc,
            2,
            Some("李强"),
        );
        assert_eq!(
            held.author.as_deref(),
            Some("王芳"),
            "an edit does not make it someone else's"
        );
        let outbox = HashMap::from(
            [(first.rev, 1u128), (second.rev, 1)].map(|(r, id)| (r, Uuid::from_u128(id))),
        );
        let taken = take_results(
            &[ack(first.rev), ack(second.rev)],
            &outbox,
            holding(&held, &[&first, &second]),
        );
        assert_eq!(taken.records[0].author.as_deref(), Some("王芳"));
        let back = apply_page(by(&first, "王芳"), holding(&taken.records[0], &[]), hlc);
        assert!(back.records.is_empty(), "nothing new to write");

        // Pulled: the first revision names who made the record, a later one by another does not
        // change it, and a phone that held it before the server named authors learns it.
        let made = rev(2, 3, None, 5);
        let pulled = apply_page(by(&made, "赵敏"), HashMap::new(), Hlc::default());
        assert_eq!(pulled.records[0].author.as_deref(), Some("赵敏"));
        let edit = rev(2, 4, Some(3), 6);
        let edited = apply_page(
            by(&edit, "钱进"),
            holding(&pulled.records[0], &[]),
            Hlc::default(),
        );
        assert_eq!(edited.records[0].author.as_deref(), Some("赵敏"));
        let unnamed = synced(std::slice::from_ref(&made));
        assert_eq!(unnamed.author, None);
        let learnt = apply_page(by(&made, "赵敏"), holding(&unnamed, &[]), Hlc::default());
        assert_eq!(learnt.records[0].author.as_deref(), Some("赵敏"));
        assert_eq!(learnt.taken, 0);
    }

    #[test]
    fn a_save_stamps_the_clock_shows_the_change_and_waits_to_be_sent() {
        let mut hlc = Hlc::default();
        let (first, held) = save(None, rev(1, 1, None, 0), &mut hlc, NOW);
        assert_eq!(first.clock, Hlc::pack(NOW, 0));
        assert_eq!(hlc.last, first.clock);
        let mut refused = held.clone();
        refused.error = Some("内容未通过校验".into());
        let (second, held) = save(Some(&refused), rev(1, 2, Some(1), 0), &mut hlc, NOW - 5);
        assert!(second.clock > first.clock, "the clock never goes back");
        assert_eq!(held.rev, second);
        assert_eq!(held.others, vec![first]);
        assert!(!held.synced);
        assert_eq!(held.error, None, "a new save is sent again");
    }

    /// The simulation's device showed the waiting change with the highest clock, the phone the one
    /// saved last: after a phone's wall clock far ahead is put right they differ, and the phone is
    /// right (the last save builds on the earlier one).
    #[test]
    fn after_a_clock_put_right_the_change_saved_last_stays_shown_through_a_pull() {
        let mut hlc = Hlc::default();
        let (ahead, held) = save(
            None,
            rev(1, 1, None, 0),
            &mut hlc,
            NOW + 365 * MAX_CLOCK_AHEAD_MS,
        );
        let (last, held) = save(Some(&held), rev(1, 2, Some(1), 0), &mut hlc, NOW);
        assert!(last.clock < ahead.clock);
        assert_eq!(held.rev, last);
        let other = rev(1, 3, Some(1), NOW);
        let w = apply_page(page(&[other], 9), holding(&held, &[&ahead, &last]), hlc);
        assert_eq!(w.records[0].rev, last);
        assert_eq!(w.records[0].others.len(), 2);
    }

    #[test]
    fn a_pull_never_replaces_the_change_waiting_here_and_its_acknowledgement_shows_the_winner() {
        let base = rev(1, 1, None, 10);
        let mut hlc = Hlc::default();
        let (mine, held) = save(Some(&synced(&[base])), rev(1, 2, Some(1), 0), &mut hlc, 1);
        let theirs = rev(1, 3, Some(1), mine.clock + 1_000);
        let w = apply_page(
            page(std::slice::from_ref(&theirs), 7),
            holding(&held, &[&mine]),
            hlc,
        );
        assert_eq!((w.taken, w.cursor), (1, 7));
        assert_eq!(w.clock, Some(Hlc { last: theirs.clock }));
        let pulled = &w.records[0];
        assert_eq!(pulled.rev, mine, "the change made here stays shown");
        assert!(pulled.conflict && !pulled.synced);
        assert_eq!(pulled.rivals(), vec![theirs.clone()]);

        let outbox = HashMap::from([(mine.rev, mine.record)]);
        let t = take_results(&[ack(mine.rev)], &outbox, holding(pulled, &[&mine]));
        assert_eq!(t.acknowledged, vec![mine.rev]);
        assert_eq!(t.records[0].rev, theirs, "the winner by the shared rule");
        assert!(t.records[0].synced && t.records[0].conflict);
    }

    #[test]
    fn a_pull_takes_what_is_new_keeps_the_refusal_and_moves_the_clock_and_cursor() {
        let known = rev(1, 1, None, 10);
        let mut held = synced(std::slice::from_ref(&known));
        held.error = Some("内容未通过校验".into());
        let newer = rev(1, 2, Some(1), 20);
        let w = apply_page(
            page(&[known.clone(), newer.clone()], 5),
            holding(&held, &[]),
            Hlc { last: 15 },
        );
        assert_eq!(w.taken, 1);
        assert_eq!(w.records.len(), 1);
        assert_eq!(w.records[0].rev, newer);
        assert_eq!(w.records[0].error, held.error);
        assert_eq!(w.clock, Some(Hlc { last: 20 }));

        let again = apply_page(
            page(&[known], 6),
            holding(&w.records[0], &[]),
            Hlc { last: 30 },
        );
        assert!(again.records.is_empty() && again.taken == 0);
        assert_eq!(again.cursor, 6);
        assert_eq!(
            again.clock,
            Some(Hlc { last: 30 }),
            "a clock never goes back"
        );
        assert_eq!(
            apply_page(page(&[], 8), HashMap::new(), Hlc::default()).clock,
            None
        );
    }

    /// A push stored on the server whose answer was lost: the next pull brings the change back,
    /// and the device takes it as acknowledged instead of counting it as unsent.
    #[test]
    fn a_waiting_change_the_pull_brings_back_is_acknowledged() {
        let mut hlc = Hlc::default();
        let (first, held) = save(None, rev(1, 1, None, 0), &mut hlc, 1);
        let (second, mut held) = save(Some(&held), rev(1, 2, Some(1), 0), &mut hlc, 2);
        held.error = Some("内容未通过校验".into());
        let w = apply_page(
            page(std::slice::from_ref(&first), 3),
            holding(&held, &[&first, &second]),
            hlc,
        );
        assert_eq!((w.acknowledged.clone(), w.taken), (vec![first.rev], 0));
        assert_eq!(
            w.records[0].rev, second,
            "the other change still waits and stays shown"
        );
        assert!(!w.records[0].synced && w.records[0].error.is_some());

        let w = apply_page(
            page(std::slice::from_ref(&second), 4),
            holding(&w.records[0], &[&second]),
            hlc,
        );
        assert_eq!(w.acknowledged, vec![second.rev]);
        assert!(w.records[0].synced);
        assert_eq!(w.records[0].error, None);
    }

    #[test]
    fn only_an_acknowledgement_takes_a_change_out_and_a_refusal_shows_why() {
        let mut hlc = Hlc::default();
        let (a1, held) = save(None, rev(1, 1, None, 0), &mut hlc, 1);
        let (a2, held) = save(Some(&held), rev(1, 2, Some(1), 0), &mut hlc, 2);
        let (b, held_b) = save(None, rev(2, 3, None, 0), &mut hlc, 3);
        let outbox = HashMap::from([(a1.rev, a1.record), (a2.rev, a2.record), (b.rev, b.record)]);
        let mut holds = holding(&held, &[&a1, &a2]);
        holds.extend(holding(&held_b, &[&b]));
        let refused = PushResult {
            rev: b.rev,
            outcome: PushOutcome::Rejected {
                reason: "内容未通过校验".into(),
                errors: vec![FieldError {
                    field: "topic".into(),
                    message: "必填".into(),
                }],
            },
        };
        let unknown = ack(Uuid::from_u128(99));
        let t = take_results(
            &[ack(a1.rev), refused, unknown, ack(a1.rev)],
            &outbox,
            holds,
        );
        assert_eq!(t.acknowledged, vec![a1.rev]);
        let a = t
            .records
            .iter()
            .find(|r| r.rev.record == a1.record)
            .unwrap();
        assert_eq!(a.rev, a2, "a change still waits: it stays shown");
        assert!(!a.synced);
        let b = t.records.iter().find(|r| r.rev.record == b.record).unwrap();
        assert!(!b.synced);
        assert_eq!(b.error.as_deref(), Some("内容未通过校验(topic:必填)"));
    }

    #[test]
    fn a_scope_checksum_counts_the_winners_of_the_whole_subtree() {
        let in_unit = |unit: &str, record: u128| Revision {
            unit: UnitCode::parse(unit).unwrap(),
            ..rev(record, record, None, 1)
        };
        let mut hlc = Hlc::default();
        let (_, waiting) = save(
            Some(&synced(&[in_unit(VILLAGE, 1)])),
            Revision {
                rev: Uuid::from_u128(11),
                parent: Some(Uuid::from_u128(1)),
                ..in_unit(VILLAGE, 1)
            },
            &mut hlc,
            5,
        );
        let held = [
            synced(&[in_unit("610324001", 2)]),
            synced(&[in_unit("610324001201", 3)]),
            synced(&[in_unit("610324002001", 4)]),
        ];
        let town = UnitCode::parse("610324001").unwrap();
        let all: Vec<&LocalRecord> = held.iter().chain([&waiting]).collect();
        let winners = all.iter().map(|r| r.state().winner().unwrap().rev);
        assert_eq!(
            checksum(&town, all.iter().copied(), &HashSet::new()),
            Checksum::of(winners.take(2).chain([waiting.rev.rev])),
            "a town counts its own records and its villages', as the server does"
        );
        let village = UnitCode::parse(VILLAGE).unwrap();
        assert_eq!(
            checksum(&village, all.iter().copied(), &HashSet::new()),
            Checksum::of([waiting.rev.rev])
        );
    }

    /// On a phone shared by a village worker and the town supervisor, the worker's unsynced
    /// changes stay in the outbox while the supervisor syncs the town: the town's checksum counts
    /// what the server holds, so the supervisor's sync agrees instead of pulling the town again.
    #[test]
    fn a_checksum_leaves_out_the_changes_still_waiting_to_be_sent() {
        let base = rev(1, 1, None, 10);
        let mut hlc = Hlc::default();
        let (edit, edited) = save(
            Some(&synced(std::slice::from_ref(&base))),
            rev(1, 2, Some(1), 0),
            &mut hlc,
            20,
        );
        let (new, created) = save(None, rev(2, 3, None, 0), &mut hlc, 30);
        let waiting = HashSet::from([edit.rev, new.rev]);
        let town = UnitCode::parse("610324001").unwrap();
        assert_eq!(
            checksum(&town, [&edited, &created], &waiting),
            Checksum::of([base.rev])
        );
        assert_eq!(
            checksum(&town, [&edited, &created], &HashSet::new()),
            Checksum::of([edit.rev, new.rev])
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// However a record's revisions arrive (in any pages, in any order, again), a device with
        /// nothing waiting ends holding all of them and showing the winner.
        #[test]
        fn pages_in_any_order_give_the_shared_winner(
            parents in proptest::collection::vec((any::<prop::sample::Index>(), 0u64..4), 1..10),
            order in any::<prop::sample::Index>(),
            split in any::<prop::sample::Index>(),
        ) {
            let mut revs: Vec<Revision> = Vec::new();
            for (i, (p, clock)) in parents.into_iter().enumerate() {
                let parent = (!revs.is_empty()).then(|| revs[p.index(revs.len())].rev.as_u128());
                revs.push(rev(1, i as u128 + 10, parent, clock));
            }
            let mut arrived = revs.clone();
            arrived.rotate_left(order.index(revs.len()));
            arrived.extend(revs.iter().take(2).cloned());
            let cut = split.index(arrived.len() + 1);
            let first = apply_page(page(&arrived[..cut], 1), HashMap::new(), Hlc::default());
            let held: HashMap<Uuid, Held> = first
                .records
                .into_iter()
                .map(|r| (r.rev.record, Held { record: Some(r), waiting: vec![] }))
                .collect();
            let mut holds = held.clone();
            let second = apply_page(page(&arrived[cut..], 2), held, Hlc::default());
            for r in second.records {
                holds.insert(r.rev.record, Held { record: Some(r), waiting: vec![] });
            }
            let got = holds.remove(&Uuid::from_u128(1)).and_then(|h| h.record).unwrap();
            let all = RecordState::from_revisions(revs.clone());
            prop_assert_eq!(&got.rev, all.winner().unwrap());
            prop_assert_eq!(got.others.len() + 1, revs.len());
            prop_assert_eq!(got.conflict, all.in_conflict());
            prop_assert!(got.synced);
        }
    }
}
