//! The yearly work plan as data: forms and their fields, indicators and their targets.
//!
//! A plan is a TOML document (see `seeds/README.md` for the format and `seeds/plan-2018.toml` for
//! the 2018 plan). [`Plan::parse`] reads it and [`Plan::validate`] checks that every reference
//! holds; every problem is reported with its place (file, path, what is wrong), all at once.

use crate::area::{Level, UnitCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;

/// A plan's id, such as `fufeng-2018`: 1 to [`MAX_PLAN_ID_LEN`] of `a-z`, `0-9`, `.`, `_`, `-`.
///
/// The empty id is not a plan: it is what a revision made before records carried a plan holds
/// (see [`crate::record::plan_of`]). Wire format: stable (a plain string).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(try_from = "String", into = "String")]
pub struct PlanId(String);

/// The longest plan id taken.
pub const MAX_PLAN_ID_LEN: usize = 64;

impl PlanId {
    pub fn parse(id: &str) -> Result<PlanId, String> {
        let ok = !id.is_empty()
            && id.len() <= MAX_PLAN_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if ok {
            Ok(PlanId(id.to_string()))
        } else {
            Err(format!(
                "“{}”不是计划编号(1 到 {MAX_PLAN_ID_LEN} 个小写字母、数字、点、下划线或连字符)",
                id.chars().take(MAX_PLAN_ID_LEN).collect::<String>()
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the empty id of a revision made before records carried a plan.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<String> for PlanId {
    type Error = String;
    fn try_from(s: String) -> Result<PlanId, String> {
        if s.is_empty() {
            Ok(PlanId::default())
        } else {
            PlanId::parse(&s)
        }
    }
}

impl From<PlanId> for String {
    fn from(id: PlanId) -> String {
        id.0
    }
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for PlanId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for PlanId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// The plan. Wire format: stable (it is synced to devices as JSON).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub id: PlanId,
    pub year: i32,
    pub title: String,
    #[serde(default)]
    pub source: String,
    /// Code of the county that issued the plan.
    pub county: String,
    /// The dates the plan's records may carry; without it, the plan's year (see [`Plan::period`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    pub forms: Vec<Form>,
    pub indicators: Vec<Indicator>,
    /// How units are scored in the unified assessment (综合考核评比), from these indicators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<crate::assessment::Assessment>,
}

/// A record form. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Form {
    pub id: String,
    pub name: String,
    /// The notice's work points this form serves.
    #[serde(default)]
    pub points: Vec<u32>,
    /// The level of unit a record of this form belongs to (`village` or `town`).
    #[serde(default = "village")]
    pub level: Level,
    /// The field that names a record in lists.
    pub title_field: String,
    pub fields: Vec<Field>,
    /// Rules over several fields of a record, enforced with its fields by
    /// [`crate::record::validate_content`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// How the form's records appear on the public wish wall, when they do ([`crate::wall`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall: Option<Wall>,
}

/// The public wish wall's view of a form (心愿墙, work points 12 and 14): the fields a stranger
/// may read, and the state of its status field from which a record is published. Nothing else
/// of a record (the resident's name, a helper's phone number) is ever in a public answer.
/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Wall {
    /// The fields shown, in this order; the title field first among them.
    pub shown: Vec<String>,
    /// The status field whose state publishes a record.
    pub status: String,
    /// The state from which a record is on the wall (it stays there in the states after it).
    /// While a record is in it, helpers may offer to take it up.
    pub from: String,
    /// The state an accepted offer moves the record to (认领).
    pub taken: String,
    /// The text field the accepted helper's name is recorded in (kept private, like everything
    /// not shown).
    pub helper: String,
    /// A choice field for what kind of helper took it up (社会组织, 在职党员 …): the offer form asks
    /// for one of its options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper_kind: Option<String>,
    /// The fields a resident fills to send one in from the wall, the title field among them
    /// (none: residents send none of this form). What they send reaches the village's worker to
    /// check, never the wall itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub submit: Vec<String>,
}

/// The longest period a plan may cover: figures are kept for each of its months.
pub const MAX_PERIOD_MONTHS: usize = 60;

/// The first and last day a plan's records may carry, `YYYY-MM-DD`, both included.
/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub from: String,
    pub to: String,
}

impl Period {
    /// Whether a `YYYY-MM-DD` date lies inside; `earlier_ok` lets it lie before the first day.
    /// (Such dates compare as text.)
    pub fn holds(&self, date: &str, earlier_ok: bool) -> bool {
        date <= self.to.as_str() && (earlier_ok || date >= self.from.as_str())
    }
}

/// A rule over several fields of one record. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(
    tag = "check",
    rename_all = "snake_case",
    deny_unknown_fields,
    try_from = "CheckWire"
)]
pub enum Check {
    /// The dates never go back along `fields`: each a date field, or a status field standing for
    /// its steps' dates in the order of its states. Dates not given are skipped.
    DatesInOrder { fields: Vec<String> },
    /// The number field `total` equals the sum of the number fields `parts`, when all are given.
    Total { total: String, parts: Vec<String> },
}

/// A check as a plan writes it, read in one pass (see [`MeasureWire`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckWire {
    check: CheckKind,
    fields: Option<Vec<String>>,
    total: Option<String>,
    parts: Option<Vec<String>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum CheckKind {
    DatesInOrder,
    Total,
}

impl TryFrom<CheckWire> for Check {
    type Error = String;

    fn try_from(w: CheckWire) -> Result<Self, String> {
        let (check, takes): (&str, &[&str]) = match w.check {
            CheckKind::DatesInOrder => ("dates_in_order", &["fields"]),
            CheckKind::Total => ("total", &["total", "parts"]),
        };
        only_fields_of(
            "check",
            check,
            takes,
            &[
                ("fields", w.fields.is_some()),
                ("total", w.total.is_some()),
                ("parts", w.parts.is_some()),
            ],
        )?;
        let missing = |name: &str| format!("missing field `{name}` for check `{check}`");
        Ok(match w.check {
            CheckKind::DatesInOrder => Check::DatesInOrder {
                fields: w.fields.ok_or_else(|| missing("fields"))?,
            },
            CheckKind::Total => Check::Total {
                total: w.total.ok_or_else(|| missing("total"))?,
                parts: w.parts.ok_or_else(|| missing("parts"))?,
            },
        })
    }
}

/// Refuses a field given to a variant that does not take it, as serde would for the variant.
fn only_fields_of(
    tag: &str,
    variant: &str,
    takes: &[&str],
    given: &[(&str, bool)],
) -> Result<(), String> {
    match given.iter().find(|(n, g)| *g && !takes.contains(n)) {
        Some((name, _)) => Err(format!(
            "unknown field `{name}` for {tag} `{variant}`, expected one of: {}",
            takes.join(", ")
        )),
        None => Ok(()),
    }
}

fn village() -> Level {
    Level::Village
}

/// The kinds of field a form can have. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    LongText,
    Number,
    Date,
    Choice,
    MultiChoice,
    YesNo,
    /// A reference to a record of a register form (the staff register).
    Person,
    /// A workflow state with allowed transitions, each state optionally dated.
    Status,
    /// Photos taken as evidence: their ids ([`crate::photo::PhotoId`]), the photos themselves
    /// kept beside the record and synced after it.
    Photos,
}

/// A field. Attributes that only some kinds take are optional; [`Plan::validate`] checks that
/// each kind has exactly the attributes it needs. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub id: String,
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// number: unit shown after the input (课时, 平方米, 户 …).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// number: whole numbers only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub integer: bool,
    /// text, long_text: longest value in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    /// choice, multi_choice: the options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// person: the form id of the register.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub register: String,
    /// status: the states, the first being where a record starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<String>,
    /// status: allowed moves `[from, to]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<[String; 2]>,
    /// status: each state reached carries its date.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dated: bool,
    /// date, status: the date may lie before the plan's period (when a volunteer joined, an
    /// organisation was filed); it may never lie after it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_earlier: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A condition on a record's field. Exactly one operator is given. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    /// The value equals this (text, choice, yes/no, number, the current state of a status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is: Option<Value>,
    /// The value is one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<Value>>,
    /// A multiple choice includes this option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has: Option<String>,
    /// A number is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// A status has reached this state or one after it (in the order of `states`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached: Option<String>,
}

/// A count or a sum over the records of one form: the terms of a ratio. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub form: String,
    /// The number field to add up; without it (and without `days`), records are counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Instead of a field: the days each record took between two states of a dated status
    /// (a wish from 发布 to 完成), added up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Days>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Condition>,
}

/// The days from the date a record's dated status reached `from` to the date it reached `to`;
/// none until both are dated. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Days {
    pub field: String,
    pub from: String,
    pub to: String,
}

impl Days {
    /// The days `content` took, if both states are dated.
    pub fn of(&self, content: &crate::record::Content) -> Option<i64> {
        let dates = content.get(&self.field)?.get("dates")?;
        let day = |state: &str| crate::record::day_number(dates.get(state)?.as_str()?);
        Some(day(&self.to)? - day(&self.from)?)
    }
}

/// For `share` over people: the yearly amount each member must reach, summed from linked records.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Linked {
    /// The form whose records are summed (training records).
    pub form: String,
    /// Its person field that points at the member.
    pub via: String,
    /// Its number field to add up (class hours).
    pub sum: String,
    /// Thresholds, first match wins; a threshold without `when` applies to everyone left.
    pub thresholds: Vec<Threshold>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<Condition>,
    pub at_least: f64,
}

/// The five indicator shapes. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(
    tag = "shape",
    rename_all = "snake_case",
    deny_unknown_fields,
    try_from = "MeasureWire"
)]
pub enum Measure {
    /// The number of records matching a filter.
    Count {
        form: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filter: Vec<Condition>,
    },
    /// The sum of a number field over records matching a filter.
    Sum {
        form: String,
        field: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filter: Vec<Condition>,
    },
    /// numerator / denominator × scale, each a count or a sum.
    Ratio {
        numerator: Term,
        denominator: Term,
        #[serde(default = "one")]
        scale: f64,
    },
    /// The share of members (records of `form` matching `filter`) that meet `meets`, or reach
    /// the thresholds of `linked`.
    Share {
        form: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filter: Vec<Condition>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        meets: Vec<Condition>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        linked: Option<Linked>,
    },
    /// Yes when the unit has at least one record matching the filter.
    Flag {
        form: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filter: Vec<Condition>,
    },
}

fn one() -> f64 {
    1.0
}

/// A measure as a plan writes it, read in one pass: the shape, and every shape's fields, which
/// [`Measure::try_from`] then hands to the shape that takes them. serde's own reading of a tagged
/// enum buffers each value before it knows the shape, with code of its own for every type inside:
/// code the phone's wasm no longer carries (docs/benchmarks.md).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeasureWire {
    shape: Shape,
    form: Option<String>,
    field: Option<String>,
    filter: Option<Vec<Condition>>,
    numerator: Option<Term>,
    denominator: Option<Term>,
    scale: Option<f64>,
    meets: Option<Vec<Condition>>,
    linked: Option<Linked>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Shape {
    Count,
    Sum,
    Ratio,
    Share,
    Flag,
}

impl TryFrom<MeasureWire> for Measure {
    type Error = String;

    fn try_from(w: MeasureWire) -> Result<Self, String> {
        let (shape, takes): (&str, &[&str]) = match w.shape {
            Shape::Count => ("count", &["form", "filter"]),
            Shape::Sum => ("sum", &["form", "field", "filter"]),
            Shape::Ratio => ("ratio", &["numerator", "denominator", "scale"]),
            Shape::Share => ("share", &["form", "filter", "meets", "linked"]),
            Shape::Flag => ("flag", &["form", "filter"]),
        };
        only_fields_of(
            "shape",
            shape,
            takes,
            &[
                ("form", w.form.is_some()),
                ("field", w.field.is_some()),
                ("filter", w.filter.is_some()),
                ("numerator", w.numerator.is_some()),
                ("denominator", w.denominator.is_some()),
                ("scale", w.scale.is_some()),
                ("meets", w.meets.is_some()),
                ("linked", w.linked.is_some()),
            ],
        )?;
        let missing = |name: &str| format!("missing field `{name}` for shape `{shape}`");
        let form = || w.form.clone().ok_or_else(|| missing("form"));
        let filter = w.filter.clone().unwrap_or_default();
        Ok(match w.shape {
            Shape::Count => Measure::Count {
                form: form()?,
                filter,
            },
            Shape::Sum => Measure::Sum {
                form: form()?,
                field: w.field.ok_or_else(|| missing("field"))?,
                filter,
            },
            Shape::Ratio => Measure::Ratio {
                numerator: w.numerator.ok_or_else(|| missing("numerator"))?,
                denominator: w.denominator.ok_or_else(|| missing("denominator"))?,
                scale: w.scale.unwrap_or_else(one),
            },
            Shape::Share => Measure::Share {
                form: form()?,
                filter,
                meets: w.meets.unwrap_or_default(),
                linked: w.linked,
            },
            Shape::Flag => Measure::Flag {
                form: form()?,
                filter,
            },
        })
    }
}

/// How a figure goes up from units to their parents. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rollup {
    /// Add the parts up: counts and sums add, ratios add their numerators and denominators,
    /// yes/no becomes the share of units with yes.
    #[default]
    Sum,
    /// The parent's figure is the share of its units that meet their own target.
    UnitsMeetingTarget,
}

/// A target: `min` to reach, `max` not to exceed, `goal` the upper end of a range to strive for.
/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Targets per level, and per-town overrides (the decomposition table). A level without a
/// target takes the sum of its parts' targets where the figure adds up. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub village: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub town: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county: Option<Target>,
    /// Town code → that town's target (from the decomposition table).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub towns: BTreeMap<String, Target>,
}

/// Per-town targets the county set after issuing the plan (an imported decomposition table),
/// kept by the server beside the plan and laid over its `targets.towns`: the plan as issued never
/// changes. Indicator id → town code → target.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TownTargets(BTreeMap<String, BTreeMap<String, Target>>);

impl TownTargets {
    pub fn get(&self, indicator: &str, town: &str) -> Option<Target> {
        self.0.get(indicator)?.get(town).copied()
    }

    pub fn set(&mut self, indicator: &str, town: &str, target: Target) {
        self.0
            .entry(indicator.to_owned())
            .or_default()
            .insert(town.to_owned(), target);
    }

    /// Every target: (indicator, town, target).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, Target)> {
        self.0
            .iter()
            .flat_map(|(i, ts)| ts.iter().map(move |(t, v)| (i.as_str(), t.as_str(), *v)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An indicator. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub points: Vec<u32>,
    /// Unit of the figure (个, 小时, %, 平方米 …).
    #[serde(default)]
    pub unit: String,
    /// The level at which the figure is measured (`village` or `town`).
    #[serde(default = "village")]
    pub level: Level,
    pub measure: Measure,
    #[serde(default)]
    pub rollup: Rollup,
    #[serde(default)]
    pub targets: Targets,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Whether a report shows this indicator first, before the others.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headline: bool,
    /// `YYYY-MM`: the month by whose end the target is to be met (the notice's deadlines, e.g.
    /// facilities in use by the end of October); the plan's last month when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
}

/// One plan as listed by `GET /api/plans`. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PlanSummary {
    pub id: PlanId,
    pub year: i32,
    pub title: String,
    pub period: Period,
    /// Whether new records belong to this plan.
    pub current: bool,
}

/// Every plan a server or a phone holds, and the current one: the plan new records belong to.
/// Records of the other plans stay in their plan, readable, editable and counted in its reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Plans {
    plans: Vec<Arc<Plan>>,
    current: usize,
}

impl Plans {
    /// `current` names the current plan; without it, the plan of the latest year is (the last id
    /// breaks a tie).
    pub fn new(plans: Vec<Plan>, current: Option<&PlanId>) -> Result<Plans, String> {
        let mut plans: Vec<Arc<Plan>> = plans.into_iter().map(Arc::new).collect();
        plans.sort_by(|a, b| (a.year, &a.id).cmp(&(b.year, &b.id)));
        if let Some(twice) = plans.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(format!("计划“{}”出现了两次", twice[0].id));
        }
        // Sorted by year, the last plan is the latest one, current unless another is named.
        let Some(latest) = plans.len().checked_sub(1) else {
            return Err("没有计划".into());
        };
        let current = match current {
            None => latest,
            Some(id) => plans
                .iter()
                .position(|p| &p.id == id)
                .ok_or_else(|| format!("没有计划“{id}”,不能设为当前计划"))?,
        };
        Ok(Plans { plans, current })
    }

    pub fn get(&self, id: &PlanId) -> Option<&Arc<Plan>> {
        self.plans.iter().find(|p| &p.id == id)
    }

    pub fn current(&self) -> &Arc<Plan> {
        &self.plans[self.current]
    }

    /// Every plan, the earliest year first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Plan>> {
        self.plans.iter()
    }

    pub fn summaries(&self) -> Vec<PlanSummary> {
        self.plans
            .iter()
            .enumerate()
            .map(|(i, p)| p.summary(i == self.current))
            .collect()
    }
}

/// One problem in a plan: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanError {
    pub file: String,
    pub path: String,
    pub message: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.path, self.message)
    }
}

/// All the problems of a plan.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct PlanErrors(pub Vec<PlanError>);

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the plan has {} error(s):", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl Plan {
    /// Parses and validates a TOML plan; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Plan, PlanErrors> {
        let at = |e: &toml::de::Error| {
            let path = match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}")
                }
                None => "(document)".into(),
            };
            PlanError {
                file: file.into(),
                path,
                message: e.message().to_string(),
            }
        };
        let first = match toml::from_str::<Plan>(text) {
            Ok(plan) => {
                plan.validate(file)?;
                return Ok(plan);
            }
            Err(e) => e,
        };
        // serde stops at the first unknown key, which would hide every other problem: find all
        // unknown keys, drop them, and validate the rest, so that everything is reported at once.
        let Ok(table) = text.parse::<toml::Table>() else {
            return Err(PlanErrors(vec![at(&first)]));
        };
        let mut doc = toml::Value::Table(table);
        let mut errors = Vec::new();
        unknown_keys(&mut doc, Node::Plan, "", &mut |path, message| {
            errors.push(PlanError {
                file: file.into(),
                path,
                message,
            })
        });
        if errors.is_empty() {
            return Err(PlanErrors(vec![at(&first)]));
        }
        match doc.try_into::<Plan>() {
            Ok(plan) => {
                if let Err(PlanErrors(more)) = plan.validate(file) {
                    errors.extend(more);
                }
            }
            // Another kind of mistake too (a wrong type …); without the unknown keys in the way
            // serde names it, but no longer knows its line.
            Err(e) => errors.push(PlanError {
                file: file.into(),
                path: "(document)".into(),
                message: e.message().to_string(),
            }),
        }
        Err(PlanErrors(errors))
    }

    pub fn form(&self, id: &str) -> Option<&Form> {
        self.forms.iter().find(|f| f.id == id)
    }

    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }

    /// Whether `ind`'s figures, and so its targets, are whole numbers: counts, and sums of a
    /// field that takes whole numbers only.
    pub fn counts_whole(&self, ind: &Indicator) -> bool {
        match &ind.measure {
            Measure::Count { .. } | Measure::Flag { .. } => true,
            Measure::Sum { form, field, .. } => self
                .form(form)
                .and_then(|f| f.field(field))
                .is_some_and(|f| f.integer),
            Measure::Ratio { .. } | Measure::Share { .. } => false,
        }
    }

    /// The dates the plan's records may carry: its `period`, or else its whole year.
    pub fn period(&self) -> Period {
        self.period.clone().unwrap_or_else(|| Period {
            from: format!("{:04}-01-01", self.year),
            to: format!("{:04}-12-31", self.year),
        })
    }

    /// A month of the plan's period, from `YYYY-MM`: figures are kept for those.
    pub fn month(&self, text: &str) -> Result<crate::month::Month, String> {
        let month = crate::month::Month::parse(text)?;
        let months = self.period().months();
        match (months.first(), months.last()) {
            (Some(first), Some(last)) if (*first..=*last).contains(&month) => Ok(month),
            (Some(first), Some(last)) => Err(format!(
                "计划“{}”的月份从 {first} 到 {last},没有 {month}",
                self.title
            )),
            _ => Err(format!("计划“{}”没有可查的月份", self.title)),
        }
    }

    /// The month by whose end `ind`'s target is to be met: its `due`, else the plan's last.
    pub fn due(&self, ind: &Indicator) -> Option<crate::month::Month> {
        ind.due
            .as_deref()
            .and_then(|d| self.month(d).ok())
            .or_else(|| self.period().months().last().copied())
    }

    /// The indicators a report shows first ([`Indicator::headline`]), in plan order.
    pub fn headline_indicators(&self) -> impl Iterator<Item = &Indicator> {
        self.indicators.iter().filter(|i| i.headline)
    }

    /// The indicators in the order a report shows them: the headline ones first, then the
    /// others, each in plan order.
    pub fn report_order(&self) -> impl Iterator<Item = &Indicator> {
        self.headline_indicators()
            .chain(self.indicators.iter().filter(|i| !i.headline))
    }

    /// What `GET /api/plans` says of this plan.
    pub fn summary(&self, current: bool) -> PlanSummary {
        PlanSummary {
            id: self.id.clone(),
            year: self.year,
            title: self.title.clone(),
            period: self.period(),
            current,
        }
    }

    /// Checks every reference and attribute; returns all problems at once.
    pub fn validate(&self, file: &str) -> Result<(), PlanErrors> {
        let mut v = Validator {
            file,
            errors: Vec::new(),
        };
        v.plan(self);
        if v.errors.is_empty() {
            Ok(())
        } else {
            Err(PlanErrors(v.errors))
        }
    }
}

/// The kinds of table in a plan document, to find unknown keys (see [`Plan::parse`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Plan,
    Period,
    Form,
    Check,
    Field,
    Indicator,
    Measure,
    Term,
    Days,
    Condition,
    Linked,
    Threshold,
    Targets,
    Towns,
    Target,
    Assessment,
    AssessmentItem,
    Wall,
}

impl Node {
    /// The keys a table of this kind takes, each with the kind of the table(s) under it; none
    /// when the keys are not known (a measure of an unknown shape, which serde reports).
    fn keys(self, t: &toml::Table) -> Option<&'static [(&'static str, Option<Node>)]> {
        use Node::*;
        const CONDITIONS: Option<Node> = Some(Condition);
        Some(match self {
            Plan => &[
                ("id", None),
                ("year", None),
                ("title", None),
                ("source", None),
                ("county", None),
                ("period", Some(Period)),
                ("forms", Some(Form)),
                ("indicators", Some(Indicator)),
                ("assessment", Some(Assessment)),
            ],
            Period => &[("from", None), ("to", None)],
            Form => &[
                ("id", None),
                ("name", None),
                ("points", None),
                ("level", None),
                ("title_field", None),
                ("fields", Some(Field)),
                ("checks", Some(Check)),
                ("wall", Some(Wall)),
            ],
            Check => match t.get("check").and_then(toml::Value::as_str) {
                Some("dates_in_order") => &[("check", None), ("fields", None)],
                Some("total") => &[("check", None), ("total", None), ("parts", None)],
                _ => return None,
            },
            Field => &[
                ("id", None),
                ("label", None),
                ("kind", None),
                ("required", None),
                ("help", None),
                ("unit", None),
                ("min", None),
                ("max", None),
                ("integer", None),
                ("max_len", None),
                ("options", None),
                ("register", None),
                ("states", None),
                ("transitions", None),
                ("dated", None),
                ("allow_earlier", None),
            ],
            Indicator => &[
                ("id", None),
                ("name", None),
                ("points", None),
                ("unit", None),
                ("level", None),
                ("measure", Some(Measure)),
                ("rollup", None),
                ("targets", Some(Targets)),
                ("note", None),
                ("headline", None),
                ("due", None),
            ],
            Measure => match t.get("shape").and_then(toml::Value::as_str) {
                Some("count" | "flag") => {
                    &[("shape", None), ("form", None), ("filter", CONDITIONS)]
                }
                Some("sum") => &[
                    ("shape", None),
                    ("form", None),
                    ("field", None),
                    ("filter", CONDITIONS),
                ],
                Some("ratio") => &[
                    ("shape", None),
                    ("numerator", Some(Term)),
                    ("denominator", Some(Term)),
                    ("scale", None),
                ],
                Some("share") => &[
                    ("shape", None),
                    ("form", None),
                    ("filter", CONDITIONS),
                    ("meets", CONDITIONS),
                    ("linked", Some(Linked)),
                ],
                _ => return None,
            },
            Term => &[
                ("form", None),
                ("field", None),
                ("days", Some(Days)),
                ("filter", CONDITIONS),
            ],
            Days => &[("field", None), ("from", None), ("to", None)],
            Condition => &[
                ("field", None),
                ("is", None),
                ("any_of", None),
                ("has", None),
                ("at_least", None),
                ("reached", None),
            ],
            Linked => &[
                ("form", None),
                ("via", None),
                ("sum", None),
                ("thresholds", Some(Threshold)),
            ],
            Threshold => &[("when", CONDITIONS), ("at_least", None)],
            Wall => &[
                ("shown", None),
                ("status", None),
                ("from", None),
                ("taken", None),
                ("helper", None),
                ("helper_kind", None),
                ("submit", None),
            ],
            Targets => &[
                ("village", Some(Target)),
                ("town", Some(Target)),
                ("county", Some(Target)),
                ("towns", Some(Towns)),
            ],
            Target => &[("min", None), ("goal", None), ("max", None)],
            Towns => return None,
            Assessment => &[
                ("name", None),
                ("note", None),
                ("items", Some(AssessmentItem)),
            ],
            AssessmentItem => &[
                ("id", None),
                ("name", None),
                ("indicator", None),
                ("points", None),
                ("rule", None),
                ("per", None),
            ],
        })
    }
}

/// Reports (path, message) for every key of `v` and the tables below it that the plan format
/// does not have, and removes them. Paths are written as the validator writes them.
fn unknown_keys(
    v: &mut toml::Value,
    node: Node,
    path: &str,
    report: &mut dyn FnMut(String, String),
) {
    let toml::Value::Table(t) = v else { return };
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    if node == Node::Towns {
        for (code, target) in t.iter_mut() {
            unknown_keys(target, Node::Target, &join(code), report);
        }
        return;
    }
    let Some(keys) = node.keys(t) else { return };
    let extra: Vec<String> = t
        .keys()
        .filter(|k| !keys.iter().any(|(a, _)| a == k))
        .cloned()
        .collect();
    for k in extra {
        t.remove(&k);
        let known: Vec<&str> = keys.iter().map(|(a, _)| *a).collect();
        report(
            join(&k),
            format!("unknown key `{k}`, expected one of {}", known.join(", ")),
        );
    }
    for (k, child) in keys {
        let (Some(child), Some(x)) = (child, t.get_mut(*k)) else {
            continue;
        };
        match x {
            toml::Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let id = item
                        .get("id")
                        .and_then(toml::Value::as_str)
                        .map(|id| format!(" ({id})"));
                    unknown_keys(
                        item,
                        *child,
                        &format!("{}[{i}]{}", join(k), id.unwrap_or_default()),
                        report,
                    );
                }
            }
            x => unknown_keys(x, *child, &join(k), report),
        }
    }
}

impl Form {
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }
}

/// The bound on a number the plan leaves open (no `min`, or no `max`): far above any figure of a
/// county's records, and low enough that a county's sums of them stay finite and exact.
pub const DEFAULT_NUMBER_BOUND: f64 = 1e9;
/// The widest bound a plan may set on a number field, for the same reason.
pub const MAX_NUMBER_BOUND: f64 = 1e15;

impl Field {
    /// The lowest and highest value of a number field: the plan's, or ±[`DEFAULT_NUMBER_BOUND`].
    pub fn bounds(&self) -> (f64, f64) {
        (
            self.min.unwrap_or(-DEFAULT_NUMBER_BOUND),
            self.max.unwrap_or(DEFAULT_NUMBER_BOUND),
        )
    }
}

struct Validator<'a> {
    file: &'a str,
    errors: Vec<PlanError>,
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Validator<'_> {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(PlanError {
            file: self.file.into(),
            path: path.into(),
            message: message.into(),
        });
    }

    fn plan(&mut self, p: &Plan) {
        if p.id.is_empty() {
            self.err(
                "id",
                "a plan needs an id, such as `fufeng-2018`".to_string(),
            );
        }
        if !(2000..=2100).contains(&p.year) {
            self.err("year", format!("{} is not a plausible plan year", p.year));
        }
        if !UnitCode::parse(&p.county).is_ok_and(|c| c.level() == Level::County) {
            self.err(
                "county",
                format!("`{}` is not a 6-digit county code", p.county),
            );
        }
        if let Some(period) = &p.period {
            for (key, d) in [("from", &period.from), ("to", &period.to)] {
                if !crate::record::is_date(d) {
                    self.err(
                        format!("period.{key}"),
                        format!("`{d}` is not a date written YYYY-MM-DD"),
                    );
                }
            }
            if period.from > period.to {
                self.err(
                    "period",
                    format!("from {} is after to {}", period.from, period.to),
                );
            }
            if period.months().len() > MAX_PERIOD_MONTHS {
                self.err(
                    "period",
                    format!("a plan covers at most {MAX_PERIOD_MONTHS} months"),
                );
            }
        }
        if p.forms.is_empty() {
            self.err("forms", "a plan needs at least one form");
        }
        let mut ids = HashSet::new();
        for (i, f) in p.forms.iter().enumerate() {
            let path = format!("forms[{i}] ({})", f.id);
            if !ids.insert(f.id.as_str()) {
                self.err(&path, format!("form id `{}` is used twice", f.id));
            }
            self.form(p, f, &path);
        }
        let mut ids = HashSet::new();
        for (i, ind) in p.indicators.iter().enumerate() {
            let path = format!("indicators[{i}] ({})", ind.id);
            if !ids.insert(ind.id.as_str()) {
                self.err(&path, format!("indicator id `{}` is used twice", ind.id));
            }
            self.indicator(p, ind, &path);
        }
        if let Some(a) = &p.assessment {
            self.assessment(p, a);
        }
    }

    fn assessment(&mut self, p: &Plan, a: &crate::assessment::Assessment) {
        if a.name.trim().is_empty() {
            self.err("assessment.name", "an assessment needs a name");
        }
        if a.items.is_empty() {
            self.err("assessment.items", "an assessment needs at least one item");
        }
        let mut ids = HashSet::new();
        for (i, item) in a.items.iter().enumerate() {
            let path = format!("assessment.items[{i}] ({})", item.id);
            if !is_id(&item.id) {
                self.err(
                    format!("{path}.id"),
                    "ids are lower-case letters, digits and _",
                );
            }
            if !ids.insert(item.id.as_str()) {
                self.err(&path, format!("item id `{}` is used twice", item.id));
            }
            if item.name.trim().is_empty() {
                self.err(format!("{path}.name"), "an item needs a name");
            }
            if p.indicator(&item.indicator).is_none() {
                self.err(
                    format!("{path}.indicator"),
                    format!("no indicator `{}` in this plan", item.indicator),
                );
            }
            if !(item.points.is_finite() && item.points > 0.0) {
                self.err(format!("{path}.points"), "points must be more than 0");
            }
            match (item.rule.takes_per(), item.per) {
                (true, None) => self.err(
                    format!("{path}.per"),
                    "this rule needs `per`, the points for each one of the figure",
                ),
                (true, Some(per)) if !(per.is_finite() && per > 0.0) => {
                    self.err(format!("{path}.per"), "per must be more than 0")
                }
                (false, Some(_)) => self.err(
                    format!("{path}.per"),
                    "only the rules `each` and `deduct` take `per`",
                ),
                _ => {}
            }
        }
    }

    fn form(&mut self, p: &Plan, f: &Form, path: &str) {
        if !is_id(&f.id) {
            self.err(
                format!("{path}.id"),
                "ids are lower-case letters, digits and _",
            );
        }
        if f.name.trim().is_empty() {
            self.err(format!("{path}.name"), "a form needs a name");
        }
        if !matches!(f.level, Level::Village | Level::Town) {
            self.err(
                format!("{path}.level"),
                "records belong to a village or a town",
            );
        }
        if f.fields.is_empty() {
            self.err(format!("{path}.fields"), "a form needs at least one field");
        }
        match f.field(&f.title_field) {
            None => self.err(
                format!("{path}.title_field"),
                format!("no field `{}` in this form", f.title_field),
            ),
            Some(t) if t.kind != FieldKind::Text => self.err(
                format!("{path}.title_field"),
                "the title field must be a text field",
            ),
            _ => {}
        }
        let mut ids = HashSet::new();
        for (j, fld) in f.fields.iter().enumerate() {
            let fp = format!("{path}.fields[{j}] ({})", fld.id);
            if !ids.insert(fld.id.as_str()) {
                self.err(&fp, format!("field id `{}` is used twice", fld.id));
            }
            self.field(p, fld, &fp);
        }
        for (k, c) in f.checks.iter().enumerate() {
            self.check(f, c, &format!("{path}.checks[{k}]"));
        }
        if let Some(w) = &f.wall {
            self.wall(f, w, &format!("{path}.wall"));
        }
    }

    fn wall(&mut self, f: &Form, w: &Wall, path: &str) {
        if w.shown.first() != Some(&f.title_field) {
            self.err(
                format!("{path}.shown"),
                format!("the wall shows the title field `{}` first", f.title_field),
            );
        }
        let mut seen = HashSet::new();
        for (k, id) in w.shown.iter().enumerate() {
            let at = format!("{path}.shown[{k}]");
            match f.field(id) {
                None => self.err(at, format!("no field `{id}` in this form")),
                Some(fld) if fld.kind == FieldKind::Person => self.err(
                    at,
                    "a person field names someone: it is never shown in public",
                ),
                // A photo shows faces and homes: it stays with those who may read the record.
                Some(fld) if fld.kind == FieldKind::Photos => {
                    self.err(at, "photos are never shown in public")
                }
                Some(_) if !seen.insert(id.as_str()) => {
                    self.err(at, format!("`{id}` is shown twice"))
                }
                Some(_) => {}
            }
        }
        match f.field(&w.status) {
            Some(fld) if fld.kind == FieldKind::Status => {
                if !fld.states.contains(&w.from) {
                    self.err(
                        format!("{path}.from"),
                        format!("`{}` is not a state of `{}`", w.from, w.status),
                    );
                }
                let moves = fld
                    .transitions
                    .iter()
                    .any(|[a, b]| *a == w.from && *b == w.taken);
                if !moves {
                    self.err(
                        format!("{path}.taken"),
                        format!(
                            "`{}` does not move on to `{}` in `{}`",
                            w.from, w.taken, w.status
                        ),
                    );
                }
            }
            Some(_) => self.err(
                format!("{path}.status"),
                "the wall's status must be a status field",
            ),
            None => self.err(
                format!("{path}.status"),
                format!("no field `{}` in this form", w.status),
            ),
        }
        match f.field(&w.helper) {
            Some(fld) if fld.kind == FieldKind::Text => {
                if w.shown.contains(&w.helper) {
                    self.err(
                        format!("{path}.helper"),
                        "the helper's name is never shown in public",
                    );
                }
            }
            _ => self.err(
                format!("{path}.helper"),
                format!("`{}` is not a text field of this form", w.helper),
            ),
        }
        if !w.submit.is_empty() && !w.submit.contains(&f.title_field) {
            self.err(
                format!("{path}.submit"),
                format!("a resident sends the title field `{}` too", f.title_field),
            );
        }
        for (k, id) in w.submit.iter().enumerate() {
            let fine = f.field(id).is_some_and(|fld| {
                matches!(
                    fld.kind,
                    FieldKind::Text | FieldKind::LongText | FieldKind::Choice | FieldKind::Number
                )
            });
            if !fine {
                self.err(
                    format!("{path}.submit[{k}]"),
                    format!("`{id}` is not a text, choice or number field of this form"),
                );
            }
        }
        if let Some(kind) = &w.helper_kind {
            if f.field(kind)
                .is_none_or(|fld| fld.kind != FieldKind::Choice)
            {
                self.err(
                    format!("{path}.helper_kind"),
                    format!("`{kind}` is not a choice field of this form"),
                );
            }
        }
    }

    fn check(&mut self, f: &Form, c: &Check, path: &str) {
        use FieldKind::*;
        // Each named field must exist, be of one of `kinds`, and be named once.
        let fields =
            |this: &mut Self, key: &str, ids: &[&String], kinds: &[FieldKind], what: &str| {
                let mut seen = HashSet::new();
                for (i, id) in ids.iter().enumerate() {
                    let at = format!("{path}.{key}[{i}]");
                    match f.field(id) {
                        None => this.err(at, format!("form `{}` has no field `{id}`", f.id)),
                        Some(x) if !kinds.contains(&x.kind) => {
                            this.err(at, format!("field `{id}` is not {what}"))
                        }
                        Some(_) if !seen.insert(*id) => {
                            this.err(at, format!("field `{id}` is named twice"))
                        }
                        Some(_) => {}
                    }
                }
            };
        match c {
            Check::DatesInOrder { fields: ids } => {
                let refs: Vec<&String> = ids.iter().collect();
                fields(self, "fields", &refs, &[Date, Status], "a date or a status");
                let one_status =
                    ids.len() == 1 && f.field(&ids[0]).is_some_and(|x| x.kind == Status);
                if ids.len() < 2 && !one_status {
                    self.err(
                        format!("{path}.fields"),
                        "give two or more dates, or one status field",
                    );
                }
            }
            Check::Total { total, parts } => {
                match f.field(total) {
                    None => self.err(
                        format!("{path}.total"),
                        format!("form `{}` has no field `{total}`", f.id),
                    ),
                    Some(x) if x.kind != Number => self.err(
                        format!("{path}.total"),
                        format!("field `{total}` is not a number"),
                    ),
                    _ => {}
                }
                let refs: Vec<&String> = parts.iter().collect();
                fields(self, "parts", &refs, &[Number], "a number");
                if parts.len() < 2 {
                    self.err(format!("{path}.parts"), "a total needs two or more parts");
                }
                if parts.contains(total) {
                    self.err(
                        format!("{path}.parts"),
                        format!("`{total}` cannot be a part of itself"),
                    );
                }
            }
        }
    }

    fn field(&mut self, p: &Plan, f: &Field, path: &str) {
        use FieldKind::*;
        if !is_id(&f.id) {
            self.err(
                format!("{path}.id"),
                "ids are lower-case letters, digits and _",
            );
        }
        if f.label.trim().is_empty() {
            self.err(format!("{path}.label"), "a field needs a label");
        }
        let only = |this: &mut Self, attr: &str, set: bool, kinds: &[FieldKind]| {
            if set && !kinds.contains(&f.kind) {
                this.err(
                    format!("{path}.{attr}"),
                    format!("a {:?} field takes no `{attr}`", f.kind),
                );
            }
        };
        only(self, "unit", !f.unit.is_empty(), &[Number]);
        only(self, "min", f.min.is_some(), &[Number]);
        only(self, "max", f.max.is_some(), &[Number]);
        only(self, "integer", f.integer, &[Number]);
        only(self, "max_len", f.max_len.is_some(), &[Text, LongText]);
        only(
            self,
            "options",
            !f.options.is_empty(),
            &[Choice, MultiChoice],
        );
        only(self, "register", !f.register.is_empty(), &[Person]);
        only(self, "states", !f.states.is_empty(), &[Status]);
        only(self, "transitions", !f.transitions.is_empty(), &[Status]);
        only(self, "dated", f.dated, &[Status]);
        only(self, "allow_earlier", f.allow_earlier, &[Date, Status]);
        for (name, v) in [("min", f.min), ("max", f.max)] {
            if v.is_some_and(|v| !v.is_finite() || v.abs() > MAX_NUMBER_BOUND) {
                self.err(
                    format!("{path}.{name}"),
                    format!(
                        "must be a number between -{MAX_NUMBER_BOUND:e} and {MAX_NUMBER_BOUND:e}"
                    ),
                );
            }
        }
        if let (Some(lo), Some(hi)) = (f.min, f.max) {
            if lo > hi {
                self.err(format!("{path}.min"), format!("min {lo} is above max {hi}"));
            }
        }
        match f.kind {
            Choice | MultiChoice => self.distinct(&f.options, &format!("{path}.options"), "option"),
            Person => match p.form(&f.register) {
                None => self.err(
                    format!("{path}.register"),
                    format!("no form `{}` to refer to", f.register),
                ),
                Some(r) if r.id.is_empty() => {}
                Some(_) => {}
            },
            Status => {
                self.distinct(&f.states, &format!("{path}.states"), "state");
                for (k, [a, b]) in f.transitions.iter().enumerate() {
                    for s in [a, b] {
                        if !f.states.contains(s) {
                            self.err(
                                format!("{path}.transitions[{k}]"),
                                format!("`{s}` is not one of the states"),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn distinct(&mut self, list: &[String], path: &str, what: &str) {
        if list.is_empty() {
            self.err(path, format!("at least one {what} is needed"));
        }
        let mut seen = HashSet::new();
        for s in list {
            if s.trim().is_empty() {
                self.err(path, format!("an empty {what}"));
            } else if !seen.insert(s) {
                self.err(path, format!("{what} `{s}` is listed twice"));
            }
        }
    }

    fn form_ref<'p>(
        &mut self,
        p: &'p Plan,
        id: &str,
        level: Level,
        path: &str,
    ) -> Option<&'p Form> {
        match p.form(id) {
            None => {
                self.err(path, format!("no form `{id}`"));
                None
            }
            Some(f) if f.level != level => {
                self.err(
                    path,
                    format!(
                        "form `{id}` is recorded per {}, the indicator is measured per {level}",
                        f.level
                    ),
                );
                Some(f)
            }
            Some(f) => Some(f),
        }
    }

    fn number_field(&mut self, f: &Form, id: &str, path: &str) {
        match f.field(id) {
            None => self.err(path, format!("form `{}` has no field `{id}`", f.id)),
            Some(x) if x.kind != FieldKind::Number => {
                self.err(path, format!("field `{id}` is not a number"))
            }
            _ => {}
        }
    }

    fn filter(&mut self, f: &Form, conds: &[Condition], path: &str) {
        for (i, c) in conds.iter().enumerate() {
            let cp = format!("{path}[{i}]");
            let Some(fld) = f.field(&c.field) else {
                self.err(&cp, format!("form `{}` has no field `{}`", f.id, c.field));
                continue;
            };
            let ops = [
                c.is.is_some(),
                c.any_of.is_some(),
                c.has.is_some(),
                c.at_least.is_some(),
                c.reached.is_some(),
            ];
            if ops.iter().filter(|x| **x).count() != 1 {
                self.err(
                    &cp,
                    "give exactly one of is, any_of, has, at_least, reached",
                );
                continue;
            }
            use FieldKind::*;
            let k = fld.kind;
            let check_value = |this: &mut Self, v: &Value| {
                let ok = match k {
                    Choice => v
                        .as_str()
                        .is_some_and(|s| fld.options.iter().any(|o| o == s)),
                    Status => v
                        .as_str()
                        .is_some_and(|s| fld.states.iter().any(|o| o == s)),
                    YesNo => v.is_boolean(),
                    Number => v.is_number(),
                    Text | LongText | Date | Person => v.is_string(),
                    MultiChoice | Photos => false,
                };
                if !ok {
                    this.err(&cp, format!("{v} is not a possible value of `{}`", fld.id));
                }
            };
            if let Some(v) = &c.is {
                check_value(self, v);
            }
            if let Some(vs) = &c.any_of {
                for v in vs {
                    check_value(self, v);
                }
            }
            if let Some(h) = &c.has {
                if k != MultiChoice || !fld.options.contains(h) {
                    self.err(
                        &cp,
                        format!("`has` needs a multiple choice field with option `{h}`"),
                    );
                }
            }
            if c.at_least.is_some() && k != Number {
                self.err(&cp, "`at_least` needs a number field");
            }
            if let Some(s) = &c.reached {
                if k != Status || !fld.states.contains(s) {
                    self.err(
                        &cp,
                        format!("`reached` needs a status field with state `{s}`"),
                    );
                }
            }
        }
    }

    fn term(&mut self, p: &Plan, t: &Term, level: Level, path: &str) {
        if let Some(f) = self.form_ref(p, &t.form, level, &format!("{path}.form")) {
            if let Some(fld) = &t.field {
                self.number_field(f, fld, &format!("{path}.field"));
            }
            if let Some(d) = &t.days {
                let at = format!("{path}.days");
                if t.field.is_some() {
                    self.err(&at, "give `field` or `days`, not both");
                }
                match f.field(&d.field) {
                    Some(x) if x.kind == FieldKind::Status && x.dated => {
                        let place = |s: &str| x.states.iter().position(|st| st == s);
                        match (place(&d.from), place(&d.to)) {
                            (Some(a), Some(b)) if a < b => {}
                            (Some(_), Some(_)) => {
                                self.err(&at, format!("`{}` comes after `{}`", d.from, d.to))
                            }
                            _ => self.err(
                                &at,
                                format!(
                                    "`{}` and `{}` must be states of `{}`",
                                    d.from, d.to, d.field
                                ),
                            ),
                        }
                    }
                    _ => self.err(
                        &at,
                        format!("`{}` is not a dated status field of this form", d.field),
                    ),
                }
            }
            self.filter(f, &t.filter, &format!("{path}.filter"));
        }
    }

    fn indicator(&mut self, p: &Plan, ind: &Indicator, path: &str) {
        if !is_id(&ind.id) {
            self.err(
                format!("{path}.id"),
                "ids are lower-case letters, digits and _",
            );
        }
        if ind.name.trim().is_empty() {
            self.err(format!("{path}.name"), "an indicator needs a name");
        }
        if !matches!(ind.level, Level::Village | Level::Town) {
            self.err(
                format!("{path}.level"),
                "indicators are measured per village or per town",
            );
        }
        if let Some(due) = &ind.due {
            if let Err(e) = p.month(due) {
                self.err(format!("{path}.due"), e);
            }
        }
        let mp = format!("{path}.measure");
        match &ind.measure {
            Measure::Count { form, filter } | Measure::Flag { form, filter } => {
                if let Some(f) = self.form_ref(p, form, ind.level, &format!("{mp}.form")) {
                    self.filter(f, filter, &format!("{mp}.filter"));
                }
            }
            Measure::Sum {
                form,
                field,
                filter,
            } => {
                if let Some(f) = self.form_ref(p, form, ind.level, &format!("{mp}.form")) {
                    self.number_field(f, field, &format!("{mp}.field"));
                    self.filter(f, filter, &format!("{mp}.filter"));
                }
            }
            Measure::Ratio {
                numerator,
                denominator,
                scale,
            } => {
                self.term(p, numerator, ind.level, &format!("{mp}.numerator"));
                self.term(p, denominator, ind.level, &format!("{mp}.denominator"));
                if !(scale.is_finite() && *scale > 0.0) {
                    self.err(format!("{mp}.scale"), "scale must be a positive number");
                }
            }
            Measure::Share {
                form,
                filter,
                meets,
                linked,
            } => {
                if let Some(f) = self.form_ref(p, form, ind.level, &format!("{mp}.form")) {
                    self.filter(f, filter, &format!("{mp}.filter"));
                    self.filter(f, meets, &format!("{mp}.meets"));
                    match (meets.is_empty(), linked) {
                        (true, None) => self.err(&mp, "a share needs `meets` or `linked`"),
                        (false, Some(_)) => self.err(&mp, "give `meets` or `linked`, not both"),
                        _ => {}
                    }
                    if let Some(l) = linked {
                        let lp = format!("{mp}.linked");
                        if let Some(lf) =
                            self.form_ref(p, &l.form, ind.level, &format!("{lp}.form"))
                        {
                            match lf.field(&l.via) {
                                Some(v) if v.kind == FieldKind::Person && v.register == f.id => {}
                                _ => self.err(
                                    format!("{lp}.via"),
                                    format!(
                                        "`{}` must be a person field of `{}` pointing at `{}`",
                                        l.via, lf.id, f.id
                                    ),
                                ),
                            }
                            self.number_field(lf, &l.sum, &format!("{lp}.sum"));
                        }
                        if l.thresholds.is_empty() {
                            self.err(
                                format!("{lp}.thresholds"),
                                "at least one threshold is needed",
                            );
                        }
                        for (k, t) in l.thresholds.iter().enumerate() {
                            self.filter(f, &t.when, &format!("{lp}.thresholds[{k}].when"));
                        }
                    }
                }
            }
        }
        let tp = format!("{path}.targets");
        let t = &ind.targets;
        for (name, target) in [
            ("village", t.village),
            ("town", t.town),
            ("county", t.county),
        ] {
            if let Some(target) = target {
                self.target(&target, &format!("{tp}.{name}"));
            }
        }
        if ind.level == Level::Town && t.village.is_some() {
            self.err(
                format!("{tp}.village"),
                "a town-level indicator has no village target",
            );
        }
        for (code, target) in &t.towns {
            let cp = format!("{tp}.towns.{code}");
            let town_of_county = UnitCode::parse(code).is_ok_and(|c| {
                c.level() == Level::Town && c.parent().is_some_and(|up| up.as_str() == p.county)
            });
            if !town_of_county {
                self.err(
                    &cp,
                    format!("`{code}` is not a town code of county {}", p.county),
                );
            }
            self.target(target, &cp);
        }
    }

    fn target(&mut self, t: &Target, path: &str) {
        if t.min.is_none() && t.max.is_none() {
            self.err(path, "a target needs `min` or `max`");
        }
        for (name, v) in [("min", t.min), ("goal", t.goal), ("max", t.max)] {
            if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
                self.err(format!("{path}.{name}"), "must be a number ≥ 0");
            }
        }
        if let (Some(lo), Some(hi)) = (t.min, t.max) {
            if lo > hi {
                self.err(path, format!("min {lo} is above max {hi}"));
            }
        }
        if let (Some(lo), Some(g)) = (t.min, t.goal) {
            if g < lo {
                self.err(path, format!("goal {g} is below min {lo}"));
            }
        }
    }
}

#[cfg(test)]
mod tests;
