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
//!
//! A phone that keeps its scope lists the records it holds itself ([`held`]): filtered by form,
//! month ([`crate::month::month_counted`]), step and title, newest first, grouped by the village
//! they belong to, and capped so that a town's thousands of records never render at once.

use crate::area::UnitCode;
use crate::device::LocalRecord;
use crate::month::{made_at, month_counted, Month};
use crate::plan::{Field, FieldKind, Form, Plan, PlanId, Plans};
use crate::record::{Content, StatusValue};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
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
    /// Its first photo, for a list's thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<crate::photo::PhotoId>,
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

/// The field that says where a record of `form` stands: its first status field.
fn status_field(form: &Form) -> Option<&Field> {
    form.fields.iter().find(|f| f.kind == FieldKind::Status)
}

/// The steps a record of `form` may stand at ([`step`]), in the plan's order; none for a form
/// without a status field.
pub fn steps(form: &Form) -> &[String] {
    status_field(form).map_or(&[], |f| f.states.as_slice())
}

/// Where a record of `form` stands: the state of the form's first status field, when it has one
/// and the record gives it.
pub fn step(form: &Form, content: &Content) -> Option<String> {
    let field = status_field(form)?;
    let value = content.get(&field.id)?;
    serde_json::from_value::<StatusValue>(value.clone())
        .ok()
        .map(|s| s.state)
        .filter(|s| !s.is_empty())
}

/// What a phone's list of the records it holds is narrowed to; `None` (or an empty title)
/// narrows nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub form: Option<String>,
    /// The month a record counts in ([`month_counted`], by its own dates).
    pub month: Option<Month>,
    pub step: Option<String>,
    /// Part of the title, in any case.
    pub title: String,
}

impl Filter {
    /// The filter a page's address asks for, by `form`, `month` (`YYYY-MM`), `step` and `q` (the
    /// title); what is empty or does not parse narrows nothing.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Filter {
        let given = |key: &str| get(key).filter(|v| !v.trim().is_empty());
        Filter {
            form: given("form"),
            month: given("month").and_then(|m| Month::parse(&m).ok()),
            step: given("step"),
            title: given("q").unwrap_or_default(),
        }
    }

    /// The filter as the query of a page's address ([`Filter::from_query`]), leaving out what
    /// narrows nothing.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        [
            ("form", self.form.clone()),
            ("month", self.month.map(|m| m.to_string())),
            ("step", self.step.clone()),
            ("q", Some(self.title.clone()).filter(|t| !t.is_empty())),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
    }
}

/// A record the phone holds, as its list shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Row<'a> {
    pub held: &'a LocalRecord,
    pub plan: Option<&'a Plan>,
    pub form: Option<&'a Form>,
    pub title: Option<&'a str>,
    pub step: Option<String>,
    pub month: Option<Month>,
    /// When it was first stored on the phone that made it (epoch milliseconds).
    pub made_at: Option<i64>,
}

impl<'a> Row<'a> {
    /// A record as listed: its plan and form from `plans` (`legacy` for a record that names no
    /// plan), its title and step by the form, and the month it counts in by its own dates.
    pub fn of(held: &'a LocalRecord, plans: &'a Plans, legacy: &PlanId) -> Row<'a> {
        let plan = plans.get(&held.plan(legacy)).map(|p| &**p);
        let form = plan.and_then(|p| p.form(&held.rev.form));
        let content = &held.rev.content;
        Row {
            held,
            plan,
            form,
            title: form.and_then(|f| title(f, content)),
            step: form.and_then(|f| step(f, content)),
            month: form.and_then(|f| month_counted(f, &[], &held.rev)),
            made_at: made_at(held.rev.record),
        }
    }

    fn matches(&self, filter: &Filter) -> bool {
        let needle = filter.title.trim().to_lowercase();
        filter
            .form
            .as_ref()
            .is_none_or(|f| *f == self.held.rev.form)
            && filter.month.is_none_or(|m| self.month == Some(m))
            && filter
                .step
                .as_ref()
                .is_none_or(|s| self.step.as_ref() == Some(s))
            && (needle.is_empty()
                || self
                    .title
                    .is_some_and(|t| t.to_lowercase().contains(&needle)))
    }
}

/// The records of one unit in a list.
#[derive(Clone, Debug, PartialEq)]
pub struct Group<'a> {
    pub unit: &'a UnitCode,
    /// Newest first.
    pub rows: Vec<Row<'a>>,
}

/// What a phone's list shows: at most the asked number of rows, in groups.
#[derive(Clone, Debug, PartialEq)]
pub struct Held<'a> {
    /// By unit code; within a unit, newest first.
    pub groups: Vec<Group<'a>>,
    /// How many records the filter lets through, shown or not.
    pub matched: usize,
    pub shown: usize,
}

/// The live records among `records` that `filter` lets through, grouped by unit (in code order,
/// so a town's own records come before its villages'), newest first within a unit (by when each
/// was first stored: a record made later lists above one edited later), at most `limit` of them.
pub fn held<'a>(
    records: &'a [LocalRecord],
    plans: &'a Plans,
    legacy: &PlanId,
    filter: &Filter,
    limit: usize,
) -> Held<'a> {
    let mut rows: Vec<Row<'a>> = records
        .iter()
        .filter(|r| !r.rev.deleted)
        .map(|r| Row::of(r, plans, legacy))
        .filter(|r| r.matches(filter))
        .collect();
    rows.sort_by_key(|r| (&r.held.rev.unit, Reverse((r.made_at, r.held.rev.record))));
    let matched = rows.len();
    rows.truncate(limit);
    let shown = rows.len();
    let mut groups: Vec<Group<'a>> = Vec::new();
    for row in rows {
        match groups.last_mut() {
            Some(g) if *g.unit == row.held.rev.unit => g.rows.push(row),
            _ => groups.push(Group {
                unit: &row.held.rev.unit,
                rows: vec![row],
            }),
        }
    }
    Held {
        groups,
        matched,
        shown,
    }
}

/// The months the live `records` count in, latest first: what a list's month filter offers.
pub fn months_held(records: &[LocalRecord], plans: &Plans, legacy: &PlanId) -> Vec<Month> {
    let mut months: Vec<Month> = records
        .iter()
        .filter(|r| !r.rev.deleted)
        .filter_map(|r| Row::of(r, plans, legacy).month)
        .collect();
    months.sort_unstable_by(|a, b| b.cmp(a));
    months.dedup();
    months
}

/// The steps a list's step filter offers: those of `form` when one is chosen, else those of every
/// form of `plan`, each once, in the plan's order.
pub fn step_choices<'a>(plan: &'a Plan, form: Option<&str>) -> Vec<&'a str> {
    let mut choices: Vec<&str> = Vec::new();
    for f in plan
        .forms
        .iter()
        .filter(|f| form.is_none_or(|id| f.id == id))
    {
        for s in steps(f) {
            if !choices.contains(&s.as_str()) {
                choices.push(s);
            }
        }
    }
    choices
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case_form_plan() -> Plan {
        Plan::parse("plan-2018.toml", include_str!("../../seeds/plan-2018.toml")).unwrap()
    }

    fn case_form() -> Form {
        case_form_plan().form("deliberation_case").unwrap().clone()
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

    const TOWN: &str = "610324001";
    const VILLAGE: &str = "610324001001";
    const VILLAGE2: &str = "610324001201";

    /// A record made `day` days into March 2018 (its UUIDv7 time), as held on a phone.
    fn held_record(unit: &str, form: &str, day: u128, content: serde_json::Value) -> LocalRecord {
        let ms = 1_519_862_400_000u128 + day * 86_400_000;
        let id = Uuid::from_u128((ms << 80) | (0x7 << 76) | (0b10 << 62) | day);
        LocalRecord {
            rev: crate::Revision {
                record: id,
                rev: id,
                parent: None,
                resolves: vec![],
                device: "d".into(),
                clock: 1,
                plan: PlanId::parse("fufeng-2018").unwrap(),
                form: form.into(),
                unit: UnitCode::parse(unit).unwrap(),
                deleted: false,
                content: serde_json::from_value(content).unwrap(),
            },
            others: vec![],
            conflict: false,
            synced: true,
            error: None,
            author: None,
        }
    }

    fn case(unit: &str, day: u128, topic: &str, state: &str, started: &str) -> LocalRecord {
        let dates = json!({"民事民提": started, "民事民议": "2018-06-01"});
        let dates = if state == "民事民提" {
            json!({"民事民提": started})
        } else {
            dates
        };
        held_record(
            unit,
            "deliberation_case",
            day,
            json!({"topic": topic, "steps": {"state": state, "dates": dates}}),
        )
    }

    fn titles(list: &Held) -> Vec<(String, Vec<String>)> {
        list.groups
            .iter()
            .map(|g| {
                let rows = g.rows.iter().map(|r| r.title.unwrap_or("-").to_string());
                (g.unit.to_string(), rows.collect())
            })
            .collect()
    }

    #[test]
    fn a_held_list_narrows_by_form_month_step_and_title_and_groups_by_unit_newest_first() {
        let plans = Plans::new(vec![case_form_plan()], None).unwrap();
        let legacy = PlanId::default();
        let mut gone = case(VILLAGE, 9, "已删除的LED路灯", "民事民提", "2018-03-02");
        gone.rev.deleted = true;
        let records = vec![
            case(VILLAGE, 1, "修缮LED路灯", "民事民议", "2018-03-01"),
            case(VILLAGE2, 2, "修路议事", "民事民提", "2018-05-10"),
            held_record(
                VILLAGE,
                "training",
                3,
                json!({"course": "消防培训", "date": "2018-03-20"}),
            ),
            case(VILLAGE, 4, "led灯维护", "民事民提", "2018-03-05"),
            held_record(
                TOWN,
                "demo_village",
                5,
                json!({"village": "示范村甲", "date": "2018-04-01"}),
            ),
            gone,
        ];
        let list = |filter: Filter| titles(&held(&records, &plans, &legacy, &filter, 100));
        let v = |unit: &str, titles: &[&str]| {
            (
                unit.to_string(),
                titles.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            list(Filter::default()),
            [
                v(TOWN, &["示范村甲"]),
                v(VILLAGE, &["led灯维护", "消防培训", "修缮LED路灯"]),
                v(VILLAGE2, &["修路议事"]),
            ],
            "the town's own first, then each village, newest first; nothing deleted"
        );
        let of_form = Filter {
            form: Some("deliberation_case".into()),
            ..Filter::default()
        };
        assert_eq!(
            list(of_form.clone()),
            [
                v(VILLAGE, &["led灯维护", "修缮LED路灯"]),
                v(VILLAGE2, &["修路议事"])
            ]
        );
        // A case counts in the month it started, a training in the month it was held.
        let march = Filter {
            month: Some(Month::parse("2018-03").unwrap()),
            ..Filter::default()
        };
        assert_eq!(
            list(march),
            [v(VILLAGE, &["led灯维护", "消防培训", "修缮LED路灯"])]
        );
        let at_step = Filter {
            step: Some("民事民提".into()),
            ..of_form
        };
        assert_eq!(
            list(at_step),
            [v(VILLAGE, &["led灯维护"]), v(VILLAGE2, &["修路议事"])]
        );
        let searched = Filter {
            title: " Led ".into(),
            ..Filter::default()
        };
        assert_eq!(
            list(searched),
            [v(VILLAGE, &["led灯维护", "修缮LED路灯"])],
            "a part of the title in any case"
        );
        let capped = held(&records, &plans, &legacy, &Filter::default(), 2);
        assert_eq!((capped.matched, capped.shown), (5, 2));
        assert_eq!(
            titles(&capped),
            [v(TOWN, &["示范村甲"]), v(VILLAGE, &["led灯维护"])]
        );
        let months: Vec<String> = months_held(&records, &plans, &legacy)
            .iter()
            .map(Month::to_string)
            .collect();
        assert_eq!(months, ["2018-05", "2018-04", "2018-03"]);
    }

    #[test]
    fn a_filter_keeps_in_the_page_address() {
        let filter = Filter {
            form: Some("deliberation_case".into()),
            month: Some(Month::parse("2018-03").unwrap()),
            step: Some("民事民议".into()),
            title: "路灯".into(),
        };
        let query = filter.query();
        let get = |k: &str| query.iter().find(|(q, _)| *q == k).map(|(_, v)| v.clone());
        assert_eq!(Filter::from_query(get), filter);
        assert!(Filter::default().query().is_empty());
        let bad = |k: &str| (k == "month").then(|| "2018-3".to_string());
        assert_eq!(Filter::from_query(bad), Filter::default());
    }

    #[test]
    fn the_step_filter_offers_the_steps_the_plan_declares() {
        let plan = case_form_plan();
        let case_steps = ["民事民提", "民事民议", "民事民决", "民事民办", "民事民评"];
        assert_eq!(step_choices(&plan, Some("deliberation_case")), case_steps);
        assert!(step_choices(&plan, Some("training")).is_empty());
        let all = step_choices(&plan, None);
        assert!(all.starts_with(&case_steps), "in the plan's order");
        let mut once = all.clone();
        once.dedup();
        assert_eq!(once.len(), all.len());
        assert!(all.len() > case_steps.len(), "every form's steps");
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
