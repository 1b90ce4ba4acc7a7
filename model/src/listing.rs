//! Records read from the server a page at a time, for accounts whose phone does not keep their
//! scope ([`crate::auth::Holding::Read`]): the wire types of `GET /api/records`, and what a list
//! shows of a record, which the phone's own lists show alike.
//!
//! Pages run newest first by the number the server gave the record's current revision, and the
//! next page starts strictly below the last one sent (keyset paging): a page costs the same deep
//! in the list as at its head, and records stored meanwhile never shift what comes next.
//!
//! A list can be of the records behind one figure (an indicator, for a unit and its descendants,
//! now or as of a month): the records [`crate::rollup::counts_toward`] says the figure counts,
//! by the rule the figure itself is computed with.

use crate::area::UnitCode;
use crate::plan::{FieldKind, Form, PlanId};
use crate::record::{Content, StatusValue};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Records in a page when the request names no limit.
pub const RECORD_PAGE: u32 = 20;
/// Most records a page carries, whatever the request asks.
pub const MAX_RECORD_PAGE: u32 = 100;

/// The query of `GET /api/records`. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordQuery {
    /// The unit whose subtree is listed.
    pub unit: String,
    /// The plan whose records are listed; the current plan when not given.
    #[serde(default)]
    pub plan: Option<String>,
    /// Only records of this form.
    #[serde(default)]
    pub form: Option<String>,
    /// Only the records that count toward this indicator's figure for the unit
    /// ([`crate::rollup::counts_toward`]).
    #[serde(default)]
    pub indicator: Option<String>,
    /// With an indicator: the records counted by the end of this month (`YYYY-MM`), for a
    /// figure as of then.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Only records below this position: the `next` of the page before.
    #[serde(default)]
    pub before: Option<i64>,
    #[serde(default)]
    pub limit: Option<u32>,
}

impl RecordQuery {
    /// The records a page carries: as asked, within 1..=[`MAX_RECORD_PAGE`].
    pub fn page_len(&self) -> u32 {
        self.limit.unwrap_or(RECORD_PAGE).clamp(1, MAX_RECORD_PAGE)
    }
}

/// One live record as a list shows it. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ListedRecord {
    pub record: Uuid,
    pub plan: PlanId,
    pub form: String,
    /// The village or community (or town, for a town's own records) it belongs to.
    pub unit: UnitCode,
    pub unit_name: String,
    pub title: Option<String>,
    /// Where it stands: the state of its form's status field, for a form that has one.
    pub step: Option<String>,
    /// The name of the account that made it.
    pub author: String,
    /// When the server received its first revision, and its current one (epoch milliseconds).
    pub created_at: i64,
    pub updated_at: i64,
    /// Whether it has concurrent versions awaiting a choice.
    pub conflict: bool,
}

/// A page of records, newest first. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RecordPage {
    pub records: Vec<ListedRecord>,
    /// The `before` of the next page; none after the last. A page of an indicator's records may
    /// hold fewer than asked while more follow: the server reads a bounded number of records for
    /// one page, and says where it stopped.
    pub next: Option<i64>,
}

/// What names a record of `form` in a list: its title field, when filled in.
pub fn title<'a>(form: &Form, content: &'a Content) -> Option<&'a str> {
    content
        .get(&form.title_field)
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Where a record of `form` stands: the state of the form's first status field, when it has one
/// and the record gives it.
pub fn step(form: &Form, content: &Content) -> Option<String> {
    let field = form.fields.iter().find(|f| f.kind == FieldKind::Status)?;
    let value = content.get(&field.id)?;
    serde_json::from_value::<StatusValue>(value.clone())
        .ok()
        .map(|s| s.state)
        .filter(|s| !s.is_empty())
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

    #[test]
    fn a_record_is_named_by_its_title_field_and_placed_by_its_status() {
        let form = case_form();
        let content: Content = serde_json::from_value(json!({
            "topic": " 修缮路灯 ",
            "steps": {"state": "民事民议", "dates": {"民事民提": "2018-03-01"}},
        }))
        .unwrap();
        assert_eq!(title(&form, &content), Some("修缮路灯"));
        assert_eq!(step(&form, &content).as_deref(), Some("民事民议"));
        let bare: Content = serde_json::from_value(json!({"topic": "  "})).unwrap();
        assert_eq!(title(&form, &bare), None);
        assert_eq!(step(&form, &bare), None);
    }

    #[test]
    fn a_page_carries_at_least_one_record_and_at_most_the_bound() {
        let ask = |limit| RecordQuery {
            limit,
            ..RecordQuery::default()
        };
        assert_eq!(ask(None).page_len(), RECORD_PAGE);
        assert_eq!(ask(Some(0)).page_len(), 1);
        assert_eq!(ask(Some(7)).page_len(), 7);
        assert_eq!(ask(Some(u32::MAX)).page_len(), MAX_RECORD_PAGE);
    }
}
