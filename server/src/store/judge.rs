//! What both stores decide about a pushed revision, from what they have read: the pure core of a
//! push. The stores only read these facts and write the outcome.

use shequ_model::merge::RecordState;
use shequ_model::plan::Plan;
use shequ_model::record::{validate_content, validate_transition};
use shequ_model::sync::PushOutcome;
use shequ_model::Revision;

/// What a store knows about a pushed revision before deciding.
pub struct Facts {
    /// The same revision id already stored: its number and content hash.
    pub existing: Option<(i64, String)>,
    /// The level of the revision's unit, if the unit is known.
    pub unit_level: Option<String>,
    /// Every stored revision of the record.
    pub record: RecordState,
}

pub fn reject(reason: impl Into<String>) -> PushOutcome {
    PushOutcome::Rejected { reason: reason.into(), errors: vec![] }
}

/// `Ok(())` when the revision is to be stored; otherwise the answer to give instead.
pub fn judge(plan: &Plan, change: &Revision, facts: &Facts) -> Result<(), PushOutcome> {
    if let Some((seq, hash)) = &facts.existing {
        return Err(if *hash == change.content_hash() {
            PushOutcome::Duplicate { seq: *seq }
        } else {
            reject("同一修订号已用于不同的内容")
        });
    }
    let Some(form) = plan.form(&change.form) else {
        return Err(reject(format!("计划中没有表单“{}”", change.form)));
    };
    match &facts.unit_level {
        None => return Err(reject(format!("未知的单位代码 {}", change.unit))),
        Some(l) if l != form.level.as_str() => {
            return Err(reject(format!("“{}”应由{}填报", form.name, form.level.label())))
        }
        _ => {}
    }
    if let Some(other) = facts.record.revisions.values().next() {
        if other.form != change.form || other.unit != change.unit {
            return Err(reject("记录不能改换表单或单位"));
        }
    }
    if change.deleted {
        return Ok(());
    }
    validate_content(form, &change.content)
        .map_err(|errors| PushOutcome::Rejected { reason: "内容未通过校验".into(), errors })?;
    if let Some(parent) = change.parent.and_then(|p| facts.record.revisions.get(&p)) {
        if !parent.deleted {
            validate_transition(form, &parent.content, &change.content)
                .map_err(|errors| PushOutcome::Rejected { reason: "状态变更不允许".into(), errors })?;
        }
    }
    Ok(())
}
