//! What a push decides about a batch, from what the store has read: the pure core of a push. The
//! store reads the facts for the whole batch in a few queries, [`decide_batch`] decides each item,
//! the store inserts the accepted revisions in one statement, and [`finish_batch`] gives the
//! answers and the records' new current revisions, which the store writes in one more.

use super::figures;
use super::PlanBook;
use shequ_model::area::Level;
use shequ_model::merge::{self, RecordState};
use shequ_model::plan::{Indicator, PlanId};
use shequ_model::record::{
    plan_of, same_plan, sha256_hex, validate_content, validate_tombstone, validate_transition,
    FieldError,
};
use shequ_model::rollup::record_parts;
use shequ_model::sync::{Hlc, PushOutcome, PushResult, MAX_DEVICE_LEN, MAX_RESOLVES};
use shequ_model::Revision;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// What a store knows about a batch before deciding.
#[derive(Default)]
pub struct Facts {
    /// Revision ids of the batch already stored: their number and content hash.
    pub existing: HashMap<Uuid, (i64, String)>,
    /// Unit code → level, for the batch's units that are known.
    pub levels: HashMap<String, String>,
    /// Every stored revision of the batch's records, with their numbers.
    pub records: HashMap<Uuid, RecordState>,
    pub seqs: HashMap<Uuid, i64>,
}

pub fn reject(reason: impl Into<String>) -> PushOutcome {
    PushOutcome::Rejected {
        reason: reason.into(),
        errors: vec![],
    }
}

enum Decision {
    Answer(PushOutcome),
    Store,
}

/// A change of a batch as it was sent: its canonical JSON and that JSON's hash
/// ([`Revision::content_hash`]), made once per change and used for the batch's hash, for
/// recognising a re-sent revision and, when the change names its plan, as the text to store;
/// and what needs no stored state, worked out before the push takes its turn: its content
/// checked against the form of the plan it names, and what it adds to its unit's figures.
pub struct Sent {
    pub json: String,
    pub hash: String,
    /// [`validate_content`] under the plan the change names; none when it names none (or one
    /// the server lacks) or is a deletion.
    content: Option<Result<(), Vec<FieldError>>>,
    parts: RecordParts,
}

/// What a change adds to its unit's figures of the additive indicators a push moves
/// ([`figures::moved_by`], [`record_parts`]), under the plan it names.
#[derive(Default)]
pub struct RecordParts {
    plan: PlanId,
    by_indicator: Vec<(String, Vec<(f64, f64)>)>,
}

impl RecordParts {
    /// The parts of `inds` under `plan` ([`record_parts`]'s answer), if all were worked out.
    pub fn of(&self, plan: &PlanId, inds: &[&Indicator]) -> Option<Vec<Vec<(f64, f64)>>> {
        if self.plan != *plan {
            return None;
        }
        inds.iter()
            .map(|ind| {
                let (_, parts) = self.by_indicator.iter().find(|(id, _)| *id == ind.id)?;
                Some(parts.clone())
            })
            .collect()
    }
}

/// The [`Sent`] form of each change of a batch.
pub fn prepare(book: &PlanBook, changes: &[Revision]) -> Vec<Sent> {
    // The forms each unit's records are changed in, by the plan named: the indicators moved.
    let mut forms: HashMap<(&PlanId, &str), BTreeSet<&str>> = HashMap::new();
    for c in changes {
        forms
            .entry((&c.plan, c.unit.as_str()))
            .or_default()
            .insert(c.form.as_str());
    }
    // The additive indicators moved in a unit, the same for each of its changes.
    let mut moved: HashMap<(&PlanId, &str, Level), Vec<&Indicator>> = HashMap::new();
    changes
        .iter()
        .map(|c| {
            let json = c.canonical_json();
            let hash = sha256_hex(json.as_bytes());
            let named = book
                .plans
                .get(&c.plan)
                .and_then(|plan| Some((plan, plan.form(&c.form)?)));
            let (content, parts) = match named {
                Some((plan, form)) if !c.deleted => {
                    let add = moved
                        .entry((&c.plan, c.unit.as_str(), form.level))
                        .or_insert_with(|| {
                            figures::moved_by(plan, form.level, &forms[&(&c.plan, c.unit.as_str())])
                                .0
                        });
                    let parts = RecordParts {
                        plan: c.plan.clone(),
                        by_indicator: add
                            .iter()
                            .map(|i| i.id.clone())
                            .zip(record_parts(plan, add, c))
                            .collect(),
                    };
                    (Some(validate_content(plan, form, &c.content)), parts)
                }
                _ => (None, RecordParts::default()),
            };
            Sent {
                json,
                hash,
                content,
                parts,
            }
        })
        .collect()
}

/// A revision to store: the change at `index` of the batch, under the plan it belongs to, with
/// the hash of the revision as it was sent (a revision re-sent as it was is then a duplicate,
/// whether it named its plan or not) and its text carrying the plan.
pub struct ToStore {
    pub index: usize,
    pub plan: PlanId,
    pub hash: String,
    pub body: String,
    /// What it adds to its unit's figures, as far as [`prepare`] worked it out.
    pub parts: RecordParts,
}

/// The known revisions of one record while a push decides: those stored, and those of the batch
/// accepted so far, borrowed from the batch unless the plan had to be written into them.
type Known<'c> = BTreeMap<Uuid, Cow<'c, Revision>>;

fn revisions<'k>(known: &'k Known) -> impl Iterator<Item = &'k Revision> + Clone {
    known.values().map(|r| &**r)
}

/// The decisions of a batch: answers for the items not to be stored, and the revisions to store.
pub struct Decisions<'c> {
    decisions: Vec<(Uuid, Decision)>,
    pub to_store: Vec<ToStore>,
    records: HashMap<Uuid, Known<'c>>,
    seqs: HashMap<Uuid, i64>,
    /// The winner of each stored record of the batch before the push.
    before: HashMap<Uuid, Uuid>,
}

/// The current revision of a record after a push, to write to the records table, and its
/// winner before the push (none for a new record).
pub struct Current<'a> {
    pub record: Uuid,
    pub winner: &'a Revision,
    pub was: Option<&'a Revision>,
    pub seq: i64,
    pub conflict: bool,
}

/// Whether a change may be stored, and under which plan; the refusal is the answer to give.
fn admit(
    book: &PlanBook,
    change: &Revision,
    sent: &Sent,
    facts: &Facts,
    state: &Known,
    now_ms: u64,
) -> Result<PlanId, PushOutcome> {
    if let Some((seq, hash)) = facts.existing.get(&change.rev) {
        return Err(if *hash == sent.hash {
            PushOutcome::Duplicate { seq: *seq }
        } else {
            reject("同一修订号已用于不同的内容")
        });
    }
    // Beside the content, only these two can grow: neither may carry bulk.
    if change.device.chars().count() > MAX_DEVICE_LEN || change.resolves.len() > MAX_RESOLVES {
        return Err(reject(format!(
            "设备号不能超过{MAX_DEVICE_LEN}个字符,一次最多解决{MAX_RESOLVES}个冲突"
        )));
    }
    // A clock far in the future would win every conflict for good.
    if Hlc::too_far_ahead(change.clock, now_ms) {
        return Err(reject(
            "这条修改的时间比服务器快了一天以上,请校正手机的日期和时间后再修改保存",
        ));
    }
    let stored_plan = state.values().next().map(|r| &r.plan);
    let plan_id = plan_of(change, stored_plan, &book.legacy);
    if let Some(stored) = stored_plan {
        same_plan(stored, &plan_id).map_err(reject)?;
    }
    let Some(plan) = book.plans.get(&plan_id) else {
        return Err(reject(format!("服务器上没有计划 {plan_id}")));
    };
    let Some(form) = plan.form(&change.form) else {
        return Err(reject(format!("计划中没有表单“{}”", change.form)));
    };
    match facts.levels.get(change.unit.as_str()) {
        None => return Err(reject(format!("未知的单位代码 {}", change.unit))),
        Some(l) if l != form.level.as_str() => {
            return Err(reject(format!(
                "“{}”应由{}填报",
                form.name,
                form.level.label()
            )))
        }
        _ => {}
    }
    if let Some(other) = state.values().next() {
        if other.form != change.form || other.unit != change.unit {
            return Err(reject("记录不能改换表单或单位"));
        }
    }
    // What the change was made from: its parent, or, when the server does not know that (or it
    // is not given), the record as it stands, so that leaving out `parent` skips no rule.
    let base = change
        .parent
        .and_then(|p| state.get(&p).map(|r| &**r))
        .or_else(|| merge::winner(revisions(state)));
    if change.deleted {
        validate_tombstone(plan, form, base.map(|b| &b.content), &change.content).map_err(
            |errors| PushOutcome::Rejected {
                reason: "删除记录时只能附带空内容或原记录的内容".into(),
                errors,
            },
        )?;
        return Ok(plan_id);
    }
    let checked = match &sent.content {
        Some(checked) if plan_id == change.plan => checked.clone(),
        _ => validate_content(plan, form, &change.content),
    };
    checked.map_err(|errors| PushOutcome::Rejected {
        reason: "内容未通过校验".into(),
        errors,
    })?;
    if let Some(base) = base {
        validate_transition(form, &base.content, &change.content).map_err(|errors| {
            PushOutcome::Rejected {
                reason: "状态变更不允许".into(),
                errors,
            }
        })?;
    }
    Ok(plan_id)
}

/// Decides every item of a batch, in order: an item sees the items accepted before it (a batch
/// may carry several edits of one record, or the same revision twice). `sent` is [`sent`] of the
/// changes; `now_ms` is the server's time.
pub fn decide_batch<'c>(
    book: &PlanBook,
    changes: &'c [Revision],
    sent: Vec<Sent>,
    mut facts: Facts,
    now_ms: u64,
) -> Decisions<'c> {
    let before = facts
        .records
        .iter()
        .filter_map(|(id, state)| Some((*id, state.winner()?.rev)))
        .collect();
    let mut records: HashMap<Uuid, Known<'c>> = std::mem::take(&mut facts.records)
        .into_iter()
        .map(|(id, state)| {
            let known = state
                .revisions
                .into_iter()
                .map(|(rev, r)| (rev, Cow::Owned(r)));
            (id, known.collect())
        })
        .collect();
    let mut decisions = Vec::with_capacity(changes.len());
    let mut to_store: Vec<ToStore> = Vec::with_capacity(changes.len());
    let mut in_batch: HashMap<Uuid, usize> = HashMap::new();
    for (index, (change, sent)) in changes.iter().zip(sent).enumerate() {
        if let Some(&first) = in_batch.get(&change.rev) {
            // The same revision twice in one batch: the second is a duplicate of the first.
            let answer = if to_store[first].hash == sent.hash {
                Decision::Store
            } else {
                Decision::Answer(reject("同一修订号已用于不同的内容"))
            };
            decisions.push((change.rev, answer));
            continue;
        }
        let mut state = records.remove(&change.record).unwrap_or_default();
        let decision = match admit(book, change, &sent, &facts, &state, now_ms) {
            Err(answer) => Decision::Answer(answer),
            Ok(plan) => {
                // The text sent is the text to store when it names the plan; else the plan is
                // written into it.
                let (body, known) = if plan == change.plan {
                    (sent.json, Cow::Borrowed(change))
                } else {
                    let with_plan = Revision {
                        plan: plan.clone(),
                        ..change.clone()
                    };
                    let body = serde_json::to_string(&with_plan).expect("a revision is JSON");
                    (body, Cow::Owned(with_plan))
                };
                state.entry(change.rev).or_insert(known);
                in_batch.insert(change.rev, to_store.len());
                to_store.push(ToStore {
                    index,
                    plan,
                    hash: sent.hash,
                    body,
                    parts: sent.parts,
                });
                Decision::Store
            }
        };
        records.insert(change.record, state);
        decisions.push((change.rev, decision));
    }
    Decisions {
        decisions,
        to_store,
        records,
        seqs: facts.seqs,
        before,
    }
}

/// The answers, given the numbers the stored revisions got, and the current revision of every
/// record the batch touched.
pub fn finish_batch<'p>(
    changes: &[Revision],
    decided: &'p mut Decisions<'_>,
    stored: &HashMap<Uuid, i64>,
) -> (Vec<PushResult>, Vec<Current<'p>>) {
    let results = decided
        .decisions
        .iter()
        .map(|(rev, d)| {
            let outcome = match d {
                Decision::Answer(a) => a.clone(),
                Decision::Store => match stored.get(rev) {
                    Some(seq) => PushOutcome::Stored { seq: *seq },
                    None => reject("服务器内部错误"),
                },
            };
            PushResult { rev: *rev, outcome }
        })
        .collect::<Vec<_>>();
    // A revision sent twice in the batch: the second answer is "duplicate".
    let mut seen = std::collections::HashSet::new();
    let results = results
        .into_iter()
        .map(|mut r| {
            if let PushOutcome::Stored { seq } = r.outcome {
                if !seen.insert(r.rev) {
                    r.outcome = PushOutcome::Duplicate { seq };
                }
            }
            r
        })
        .collect();
    decided.seqs.extend(stored.iter().map(|(k, v)| (*k, *v)));
    let touched: BTreeMap<Uuid, ()> = decided
        .to_store
        .iter()
        .map(|r| (changes[r.index].record, ()))
        .collect();
    let seqs = &decided.seqs;
    let current = touched
        .keys()
        .filter_map(|id| {
            let state = decided.records.get(id)?;
            let winner = merge::winner(revisions(state))?;
            let was = decided.before.get(id).and_then(|rev| state.get(rev));
            Some(Current {
                record: *id,
                winner,
                was: was.map(|r| &**r),
                seq: *seqs.get(&winner.rev)?,
                conflict: merge::heads(revisions(state)).len() > 1,
            })
        })
        .collect();
    (results, current)
}
