//! What both stores decide about a pushed batch, from what they have read: the pure core of a
//! push. A store reads the facts for the whole batch in a few queries, [`plan_batch`] decides each
//! item, the store inserts the accepted revisions in one statement, and [`finish_batch`] gives the
//! answers and the records' new current revisions, which the store writes in one more.

use shequ_model::merge::RecordState;
use shequ_model::plan::Plan;
use shequ_model::record::{validate_content, validate_tombstone, validate_transition};
use shequ_model::sync::{Hlc, PushOutcome, PushResult, MAX_DEVICE_LEN, MAX_RESOLVES};
use shequ_model::Revision;
use std::collections::{BTreeMap, HashMap};
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

/// The decisions of a batch: answers for the items not to be stored, and the revisions to store.
pub struct BatchPlan<'a> {
    decisions: Vec<(Uuid, Decision)>,
    pub to_store: Vec<&'a Revision>,
    records: HashMap<Uuid, RecordState>,
    seqs: HashMap<Uuid, i64>,
}

/// The current revision of a record after a push, to write to the records table.
pub struct Current<'a> {
    pub record: Uuid,
    pub winner: &'a Revision,
    pub seq: i64,
    pub conflict: bool,
}

fn judge_one(
    plan: &Plan,
    change: &Revision,
    facts: &Facts,
    state: &RecordState,
    now_ms: u64,
) -> Result<(), PushOutcome> {
    if let Some((seq, hash)) = facts.existing.get(&change.rev) {
        return Err(if *hash == change.content_hash() {
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
    if let Some(other) = state.revisions.values().next() {
        if other.form != change.form || other.unit != change.unit {
            return Err(reject("记录不能改换表单或单位"));
        }
    }
    // What the change was made from: its parent, or, when the server does not know that (or it
    // is not given), the record as it stands, so that leaving out `parent` skips no rule.
    let base = change
        .parent
        .and_then(|p| state.revisions.get(&p))
        .or_else(|| state.winner());
    if change.deleted {
        return validate_tombstone(plan, form, base.map(|b| &b.content), &change.content).map_err(
            |errors| PushOutcome::Rejected {
                reason: "删除记录时只能附带空内容或原记录的内容".into(),
                errors,
            },
        );
    }
    validate_content(plan, form, &change.content).map_err(|errors| PushOutcome::Rejected {
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
    Ok(())
}

/// Decides every item of a batch, in order: an item sees the items accepted before it (a batch
/// may carry several edits of one record, or the same revision twice). `now_ms` is the server's
/// time.
pub fn plan_batch<'a>(
    plan: &Plan,
    changes: &'a [Revision],
    mut facts: Facts,
    now_ms: u64,
) -> BatchPlan<'a> {
    let mut decisions = Vec::with_capacity(changes.len());
    let mut to_store: Vec<&Revision> = Vec::new();
    let mut in_batch: HashMap<Uuid, String> = HashMap::new();
    for change in changes {
        if let Some(hash) = in_batch.get(&change.rev) {
            // The same revision twice in one batch: the second is a duplicate of the first.
            let answer = if *hash == change.content_hash() {
                Decision::Store
            } else {
                Decision::Answer(reject("同一修订号已用于不同的内容"))
            };
            decisions.push((change.rev, answer));
            continue;
        }
        let state = facts.records.remove(&change.record).unwrap_or_default();
        let decision = match judge_one(plan, change, &facts, &state, now_ms) {
            Err(answer) => Decision::Answer(answer),
            Ok(()) => Decision::Store,
        };
        let mut state = state;
        if matches!(decision, Decision::Store) {
            state.insert(change.clone());
            in_batch.insert(change.rev, change.content_hash());
            to_store.push(change);
        }
        facts.records.insert(change.record, state);
        decisions.push((change.rev, decision));
    }
    BatchPlan {
        decisions,
        to_store,
        records: facts.records,
        seqs: facts.seqs,
    }
}

/// The answers, given the numbers the stored revisions got, and the current revision of every
/// record the batch touched.
pub fn finish_batch<'p>(
    plan: &'p mut BatchPlan<'_>,
    stored: &HashMap<Uuid, i64>,
) -> (Vec<PushResult>, Vec<Current<'p>>) {
    let results = plan
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
    plan.seqs.extend(stored.iter().map(|(k, v)| (*k, *v)));
    let touched: BTreeMap<Uuid, ()> = plan.to_store.iter().map(|r| (r.record, ())).collect();
    let seqs = &plan.seqs;
    let current = touched
        .keys()
        .filter_map(|id| {
            let state = plan.records.get(id)?;
            let winner = state.winner()?;
            Some(Current {
                record: *id,
                winner,
                seq: *seqs.get(&winner.rev)?,
                conflict: state.in_conflict(),
            })
        })
        .collect();
    (results, current)
}
