//! A record's history as a supervisor reads it: every revision the server keeps of it, who made
//! it and when, and what each one changed field by field, conflicting versions included (the
//! server keeps every version of a conflict, see [`crate::merge`]).
//!
//! Each revision is compared with the revision it was made from (its `parent`), so two versions
//! made from the same one each show what their author changed. The comparison and the way a
//! value is written out are here once, for the server that answers the history and the phone
//! that shows a record.

use crate::area::UnitCode;
use crate::merge::RecordState;
use crate::plan::{Field, FieldKind, Form, PlanId};
use crate::record::{Content, Revision, StatusValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use uuid::Uuid;

/// One field a revision changed: its label from the plan, and the value before and after as
/// text (none when empty). Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub label: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One revision of a record, as its history shows it. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub rev: Uuid,
    pub parent: Option<Uuid>,
    /// The conflicting versions this one settled.
    #[serde(default)]
    pub resolves: Vec<Uuid>,
    /// The name of the account that pushed it (the username when the account is gone).
    pub author: String,
    pub device: String,
    /// When the server received it (epoch milliseconds).
    pub received_at: i64,
    pub deleted: bool,
    /// Nothing known builds on it: the current version, or a version in conflict with it.
    pub head: bool,
    /// The record's current version.
    pub current: bool,
    /// What it changed from its parent; every filled field for the first revision.
    pub changes: Vec<FieldChange>,
}

/// The most revisions a record's history holds: the newest ones, and the current version
/// whatever its age. A record edited on several phones for years may have thousands.
pub const MAX_HISTORY: u32 = 200;

/// A record with its history, oldest revision first: the newest [`MAX_HISTORY`] revisions and
/// the current version. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RecordHistory {
    pub record: Uuid,
    pub plan: PlanId,
    pub form: String,
    pub unit: UnitCode,
    pub unit_name: String,
    /// The current version.
    pub current: Revision,
    /// Whether it has more than one head: versions made without seeing each other.
    pub conflict: bool,
    pub revisions: Vec<HistoryEntry>,
    /// Older revisions the history leaves out.
    #[serde(default)]
    pub omitted: u64,
}

/// A revision as the server keeps it: who pushed it, from which device, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub revision: Revision,
    pub author: String,
    pub device: String,
    pub received_at: i64,
}

/// The entries of a record's history from the stored revisions it shows, in the order given
/// (the order the server stored them). `earlier` holds the older revisions some of them were
/// made from, for what those changed; `current` is the record's current version. A revision is
/// a head when none shown builds on it or settles it: one made later always comes later.
pub fn entries(
    form: &Form,
    shown: &[Stored],
    earlier: &[Revision],
    current: &Revision,
) -> Vec<HistoryEntry> {
    let state = RecordState::from_revisions(
        shown
            .iter()
            .map(|s| s.revision.clone())
            .chain(earlier.iter().cloned()),
    );
    let heads: HashSet<Uuid> = state.heads().iter().map(|r| r.rev).collect();
    shown
        .iter()
        .map(|s| {
            let r = &s.revision;
            let before = r
                .parent
                .and_then(|p| state.revisions.get(&p))
                .map(|p| &p.content);
            HistoryEntry {
                rev: r.rev,
                parent: r.parent,
                resolves: r.resolves.clone(),
                author: s.author.clone(),
                device: s.device.clone(),
                received_at: s.received_at,
                deleted: r.deleted,
                head: heads.contains(&r.rev),
                current: r.rev == current.rev,
                changes: if r.deleted {
                    vec![]
                } else {
                    changes(form, before, &r.content)
                },
            }
        })
        .collect()
}

/// The fields whose value differs between `old` (none: a new record) and `new`, in the form's
/// order, then any value the form does not declare (kept from an older plan), by its key.
pub fn changes(form: &Form, old: Option<&Content>, new: &Content) -> Vec<FieldChange> {
    let empty = Content::new();
    let old = old.unwrap_or(&empty);
    let declared = form.fields.iter().map(|f| (f.id.as_str(), Some(f)));
    let undeclared = old
        .keys()
        .chain(new.keys())
        .filter(|k| form.field(k).is_none())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|k| (k.as_str(), None));
    declared
        .chain(undeclared)
        .filter_map(|(id, field)| {
            let (a, b) = (shown(field, old.get(id)), shown(field, new.get(id)));
            (a != b).then(|| FieldChange {
                field: id.to_owned(),
                label: field.map_or_else(|| id.to_owned(), |f| f.label.clone()),
                old: a,
                new: b,
            })
        })
        .collect()
}

/// The filled fields of a record as label and text, in the form's order.
pub fn shown_fields(form: &Form, content: &Content) -> Vec<(String, String)> {
    form.fields
        .iter()
        .filter_map(|f| Some((f.label.clone(), shown(Some(f), content.get(&f.id))?)))
        .collect()
}

/// A value as a person reads it; none when empty.
pub fn shown(field: Option<&Field>, value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::Null => return None,
        Value::String(s) => s.trim().to_owned(),
        Value::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Value::Number(n) => {
            let unit = field.map_or("", |f| f.unit.as_str());
            format!("{n}{unit}")
        }
        Value::Array(a) if field.is_some_and(|f| f.kind == FieldKind::Photos) => {
            if a.is_empty() {
                return None;
            }
            format!("{} 张照片", a.len())
        }
        Value::Array(a) => a
            .iter()
            .filter_map(|v| shown(None, Some(v)))
            .collect::<Vec<_>>()
            .join("、"),
        v @ Value::Object(_) if field.is_some_and(|f| f.kind == FieldKind::Status) => {
            let s: StatusValue = serde_json::from_value(v.clone()).ok()?;
            let states = field.map(|f| f.states.as_slice()).unwrap_or_default();
            // Dates in the workflow's order, whatever order they are kept in.
            let dates: Vec<String> = states
                .iter()
                .filter_map(|st| s.dates.get(st).map(|d| format!("{st} {d}")))
                .collect();
            if dates.is_empty() {
                s.state
            } else {
                format!("{}({})", s.state, dates.join(","))
            }
        }
        other => other.to_string(),
    };
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Plan;
    use serde_json::json;

    fn case_form() -> Form {
        let plan =
            Plan::parse("plan-2018.toml", include_str!("../../seeds/plan-2018.toml")).unwrap();
        plan.form("deliberation_case").unwrap().clone()
    }

    fn content(v: Value) -> Content {
        serde_json::from_value(v).unwrap()
    }

    fn rev(id: u128, parent: Option<u128>, clock: u64, c: Value) -> Stored {
        Stored {
            revision: Revision {
                record: Uuid::from_u128(1),
                rev: Uuid::from_u128(id),
                parent: parent.map(Uuid::from_u128),
                resolves: vec![],
                device: "d".into(),
                clock,
                plan: Default::default(),
                form: "deliberation_case".into(),
                unit: UnitCode::parse("610324001001").unwrap(),
                deleted: false,
                content: content(c),
            },
            author: format!("作者{id}"),
            device: "phone".into(),
            received_at: id as i64,
        }
    }

    #[test]
    fn a_change_names_each_changed_field_by_its_label_old_and_new_in_form_order() {
        let form = case_form();
        let old = content(json!({
            "topic": "修路灯", "participants": 12, "feedback": false,
            "steps": {"state": "民事民提", "dates": {"民事民提": "2018-03-01"}},
        }));
        let new = content(json!({
            "topic": "修缮路灯", "participants": 12, "feedback": true,
            "steps": {"state": "民事民议", "dates": {"民事民议": "2018-03-05", "民事民提": "2018-03-01"}},
            "legacy": "旧计划的值",
        }));
        let got = changes(&form, Some(&old), &new);
        let fields: Vec<&str> = got.iter().map(|c| c.field.as_str()).collect();
        let order = |id: &str| form.fields.iter().position(|f| f.id == id);
        assert!(
            fields[..3].windows(2).all(|w| order(w[0]) < order(w[1])),
            "{fields:?}"
        );
        assert_eq!(fields.len(), 4, "unchanged fields are left out: {got:?}");
        let topic = got.iter().find(|c| c.field == "topic").unwrap();
        assert_eq!(topic.label, form.field("topic").unwrap().label);
        assert_eq!(
            (topic.old.as_deref(), topic.new.as_deref()),
            (Some("修路灯"), Some("修缮路灯"))
        );
        let feedback = got.iter().find(|c| c.field == "feedback").unwrap();
        assert_eq!(
            (feedback.old.as_deref(), feedback.new.as_deref()),
            (Some("否"), Some("是"))
        );
        let steps = got.iter().find(|c| c.field == "steps").unwrap();
        assert_eq!(
            steps.new.as_deref(),
            Some("民事民议(民事民提 2018-03-01,民事民议 2018-03-05)")
        );
        let legacy = got.last().unwrap();
        assert_eq!(
            (legacy.label.as_str(), legacy.old.as_deref()),
            ("legacy", None)
        );
    }

    #[test]
    fn a_new_record_shows_every_filled_field_and_blank_values_count_as_empty() {
        let form = case_form();
        let new = content(json!({"topic": "议题", "decision": "  "}));
        let got = changes(&form, None, &new);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            (got[0].old.as_ref(), got[0].new.as_deref()),
            (None, Some("议题"))
        );
        assert!(changes(&form, Some(&new), &new).is_empty());
    }

    #[test]
    fn conflicting_versions_each_show_what_they_changed_from_their_parent() {
        let form = case_form();
        let stored = [
            rev(1, None, 1, json!({"topic": "原题", "participants": 10})),
            rev(2, Some(1), 5, json!({"topic": "甲改", "participants": 10})),
            rev(3, Some(1), 4, json!({"topic": "原题", "participants": 20})),
        ];
        let revisions = || stored.iter().map(|s| &s.revision);
        let winner = crate::merge::winner(revisions()).unwrap();
        assert_eq!(winner.rev, Uuid::from_u128(2));
        let entries = entries(&form, &stored, &[], winner);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].changes.len(), 2);
        assert!(!entries[0].head && !entries[0].current);
        assert!(entries[1].head && entries[1].current);
        assert!(entries[2].head && !entries[2].current);
        assert_eq!(entries[1].changes[0].field, "topic");
        assert_eq!(entries[1].changes.len(), 1);
        assert_eq!(entries[2].changes[0].old.as_deref(), Some("10人"));
        assert_eq!(entries[2].changes[0].new.as_deref(), Some("20人"));
        assert_eq!(entries[2].author, "作者3");
        let mut gone = rev(4, Some(2), 6, json!({}));
        gone.revision.deleted = true;
        gone.revision.resolves = vec![Uuid::from_u128(3)];
        let entries = super::entries(
            &form,
            &[
                stored[0].clone(),
                stored[1].clone(),
                stored[2].clone(),
                gone.clone(),
            ],
            &[],
            &gone.revision,
        );
        assert_eq!(entries.iter().filter(|e| e.head).count(), 1);
        assert!(entries[3].deleted && entries[3].changes.is_empty() && entries[3].current);
    }

    #[test]
    fn the_newest_revisions_show_what_they_changed_from_older_ones_left_out() {
        let form = case_form();
        let old = rev(1, None, 1, json!({"topic": "原题", "participants": 10}));
        let shown = [
            rev(2, Some(1), 2, json!({"topic": "原题", "participants": 11})),
            rev(3, Some(2), 3, json!({"topic": "原题", "participants": 12})),
        ];
        let entries = entries(&form, &shown, &[old.revision], &shown[1].revision);
        assert_eq!(entries[0].changes.len(), 1, "{:?}", entries[0].changes);
        assert_eq!(entries[0].changes[0].old.as_deref(), Some("10人"));
        assert!(!entries[0].head && !entries[0].current);
        assert!(entries[1].head && entries[1].current);
    }
}
