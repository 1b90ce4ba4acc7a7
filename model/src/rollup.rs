//! Rollup: the pure arithmetic that turns records into indicator figures, per unit, against
//! each unit's target.
//!
//! An indicator is measured at its own level (per village, or per town) from the records of that
//! unit, then rolled up the hierarchy: by adding the parts up (counts and sums add; ratios add
//! their numerators and denominators, so a town's ratio is never an average of averages; a yes/no
//! becomes the share of units with yes), or as the share of units meeting their own target.
//!
//! Targets come from the plan: a per-town override (the decomposition table, as the county last
//! imported it, or as the plan gives it) first, then the level's target; a level without one takes the sum of its parts' targets when the figure adds
//! up, or their common target when it is a ratio.
//!
//! A figure at the indicator's own level depends on that unit's records alone
//! ([`unit_figures`]), and everything above it only on those figures and the plan. So a store can
//! keep each unit's figures as its records change and report from them
//! ([`Rollups::from_figures`]) with the very arithmetic a recomputation from the records uses.
//!
//! Every figure can also be asked as of the end of a month ([`Rollups::as_of`]): a record then
//! counts only if the month it counts in ([`crate::month::month_counted`]) is that month or
//! earlier. A unit's figures as of each month of the plan's period ([`unit_month_figures`]) are
//! what a store keeps for month-by-month reports.

use crate::area::{Area, AreaTree, Level};
use crate::month::{counted_by, month_counted, Month};
use crate::plan::{
    Condition, Field, Form, Indicator, Linked, Measure, Plan, Rollup, Target, Term, TownTargets,
};
use crate::record::{matches, Revision};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// What a figure is made of.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Figure {
    Number(f64),
    Ratio { num: f64, den: f64, scale: f64 },
    Flag(bool),
}

impl Figure {
    /// The value shown and compared with the target; none for a ratio over nothing.
    pub fn value(&self) -> Option<f64> {
        match *self {
            Figure::Number(n) => Some(n),
            Figure::Ratio { den: 0.0, .. } => None,
            Figure::Ratio { num, den, scale } => Some(num / den * scale),
            Figure::Flag(b) => Some(if b { 1.0 } else { 0.0 }),
        }
    }
}

/// The kind of a figure on the wire. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    Number,
    Ratio,
    Flag,
}

/// One indicator's figure for one unit. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Cell {
    pub indicator: String,
    pub kind: CellKind,
    /// None when undefined (a ratio over nothing).
    pub value: Option<f64>,
    /// For ratios and shares: the parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub den: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// How far along, 0 to 1, when there is a target to reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
}

/// The figures of one unit. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UnitReport {
    pub area: Area,
    pub cells: Vec<Cell>,
}

/// A unit's figures and its children's. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Report {
    pub plan: crate::plan::PlanId,
    pub unit: UnitReport,
    pub children: Vec<UnitReport>,
}

/// One indicator's figures for one unit as of the end of each month. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UnitMonths {
    pub area: Area,
    /// One cell per month of [`MonthSeries::months`], in that order.
    pub cells: Vec<Cell>,
}

/// One indicator month by month over a plan's period, for a unit and its children: a chart of
/// progress. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MonthSeries {
    pub plan: crate::plan::PlanId,
    pub indicator: String,
    pub months: Vec<Month>,
    pub unit: UnitMonths,
    pub children: Vec<UnitMonths>,
}

/// Whether `value` meets `target`, and how far along it is.
pub fn against_target(value: Option<f64>, target: Option<&Target>) -> (Option<bool>, Option<f64>) {
    let (Some(v), Some(t)) = (value, target) else {
        return (None, None);
    };
    let met = t.min.is_none_or(|m| v >= m) && t.max.is_none_or(|m| v <= m);
    let progress = match t.min {
        Some(m) if m > 0.0 => (v / m).clamp(0.0, 1.0),
        _ => {
            if met {
                1.0
            } else {
                0.0
            }
        }
    };
    (Some(met), Some(progress))
}

/// Where `ind`'s figure should stand at the end of each of `months` to meet `target` by the
/// indicator's due month ([`Plan::due`]): a count or a sum climbs evenly from nothing, reaching the
/// target's minimum at the due month and staying there; any other figure (a share, a yes/no)
/// should stand at its target from the due month on, and has no pace before it. None throughout
/// without a minimum to reach.
pub fn pace(
    plan: &Plan,
    ind: &Indicator,
    target: Option<&Target>,
    months: &[Month],
) -> Vec<Option<f64>> {
    let (Some(min), Some(due)) = (target.and_then(|t| t.min), plan.due(ind)) else {
        return vec![None; months.len()];
    };
    let first = plan.period().months().first().copied();
    let climbs = matches!(ind.measure, Measure::Count { .. } | Measure::Sum { .. });
    months
        .iter()
        .map(|m| {
            if *m >= due {
                return Some(min);
            }
            if !climbs {
                return None;
            }
            let first = first?;
            let ordinal = |m: &Month| m.year() * 12 + i32::from(m.number());
            // Months from the period's first through `m`, of those through the due month.
            let done = (ordinal(m) - ordinal(&first) + 1).max(0);
            let all = (ordinal(&due) - ordinal(&first) + 1).max(1);
            Some(min * f64::from(done) / f64::from(all))
        })
        .collect()
}

/// Each unit's figures at its indicators' own level, by unit code then indicator id: what a
/// store keeps. A unit or indicator missing counts as a unit without records.
pub type UnitFigures = HashMap<String, HashMap<String, Figure>>;

/// The figures of `unit` (at `level`) for every indicator measured at that level, from the unit's
/// live records (deleted ones are skipped).
pub fn unit_figures(
    plan: &Plan,
    level: Level,
    unit: &str,
    records: &[Revision],
) -> Vec<(String, Figure)> {
    let tree = AreaTree::new(Vec::new());
    let rollups = Rollups::new(plan, &tree, records);
    plan.indicators
        .iter()
        .filter(|i| i.level == level)
        .map(|i| (i.id.clone(), rollups.base(i, unit, None)))
        .collect()
}

/// The figures of `unit` (at `level`) as of the end of each month of the plan's period, for every
/// indicator measured at that level, from the unit's live records: what a store keeps per month.
/// Each is the figure [`Rollups::as_of`] gives from the records.
pub fn unit_month_figures(
    plan: &Plan,
    level: Level,
    unit: &str,
    records: &[Revision],
) -> Vec<(Month, String, Figure)> {
    let tree = AreaTree::new(Vec::new());
    let rollups = Rollups::new(plan, &tree, records);
    let mut out = Vec::new();
    for month in plan.period().months() {
        for i in plan.indicators.iter().filter(|i| i.level == level) {
            out.push((month, i.id.clone(), rollups.base(i, unit, Some(month))));
        }
    }
    out
}

/// The figures of `unit` for the given indicators (of its level), now (month none) and as of the
/// end of each month of the plan's period, from the unit's live records: [`unit_figures`] and
/// [`unit_month_figures`] together, for some indicators only.
pub fn unit_figures_of(
    plan: &Plan,
    inds: &[&Indicator],
    unit: &str,
    records: &[Revision],
) -> Vec<(Option<Month>, String, Figure)> {
    let tree = AreaTree::new(Vec::new());
    let rollups = Rollups::new(plan, &tree, records);
    let mut out = Vec::new();
    for month in std::iter::once(None).chain(plan.period().months().into_iter().map(Some)) {
        for i in inds {
            out.push((month, i.id.clone(), rollups.base(i, unit, month)));
        }
    }
    out
}

/// The forms whose records a figure of `ind` reads.
pub fn forms_read(ind: &Indicator) -> Vec<&str> {
    filters(ind).into_iter().map(|(form, _)| form).collect()
}

/// What each record a term takes in adds to it.
#[derive(Clone, Copy)]
enum Amount<'p> {
    One,
    Field(&'p str),
    Days(&'p crate::plan::Days),
}

impl<'p> Amount<'p> {
    fn of(t: &'p Term) -> Amount<'p> {
        match (&t.field, &t.days) {
            (Some(f), _) => Amount::Field(f),
            (None, Some(d)) => Amount::Days(d),
            (None, None) => Amount::One,
        }
    }
}

/// Whether a unit's figure of `ind` is the sum of what each record adds ([`record_parts`]),
/// exactly, in any order: when every part is a whole number (counts, and sums of whole-number
/// fields), so that adding and taking away parts keeps the very figure a recomputation gives
/// (while a unit's total stays below 2⁵³). Flags, shares with linked thresholds and sums of
/// fractions are not: a store recomputes those from the unit's records.
pub fn additive(plan: &Plan, ind: &Indicator) -> bool {
    let whole = |form: &str, field: &Option<String>| match field {
        None => true,
        Some(f) => plan
            .form(form)
            .and_then(|fo| fo.field(f))
            .is_some_and(|f| f.integer),
    };
    match &ind.measure {
        Measure::Count { .. } => true,
        Measure::Sum { form, field, .. } => whole(form, &Some(field.clone())),
        Measure::Ratio {
            numerator,
            denominator,
            ..
        } => {
            // Days are whole numbers.
            let whole_term = |t: &Term| t.days.is_some() || whole(&t.form, &t.field);
            whole_term(numerator) && whole_term(denominator)
        }
        Measure::Share { linked, .. } => linked.is_none(),
        Measure::Flag { .. } => false,
    }
}

/// What one record adds to its unit's figure of an [`additive`] indicator, now or as of the end
/// of each month of the plan's period (in [`Period::months`](crate::plan::Period::months)
/// order, after now): the figure of that record alone, as (number or numerator, denominator).
/// A deleted record adds nothing.
pub fn record_parts(plan: &Plan, inds: &[&Indicator], r: &Revision) -> Vec<Vec<(f64, f64)>> {
    let tree = AreaTree::new(Vec::new());
    let one = std::slice::from_ref(r);
    let rollups = Rollups::new(plan, &tree, one);
    let months = plan.period().months();
    let parts = |ind: &Indicator, m: Option<Month>| match rollups.base(ind, r.unit.as_str(), m) {
        Figure::Number(n) => (n, 0.0),
        Figure::Ratio { num, den, .. } => (num, den),
        Figure::Flag(b) => (if b { 1.0 } else { 0.0 }, 0.0),
    };
    inds.iter()
        .map(|ind| {
            // One record's figure changes only in the months it starts to count in for one of
            // the indicator's filters: between them, the figure of the month before holds.
            let steps: Vec<Month> = filters(ind)
                .into_iter()
                .filter_map(|(form, filter)| month_counted(plan.form(form)?, filter, r))
                .collect();
            let mut out = vec![parts(ind, None)];
            let mut last = None;
            for (i, m) in months.iter().enumerate() {
                let figure = match last {
                    Some(f) if i > 0 && !steps.contains(m) => f,
                    _ => parts(ind, Some(*m)),
                };
                last = Some(figure);
                out.push(figure);
            }
            out
        })
        .collect()
}

/// What a linked record adds to its member's total: the member it points at (their record id)
/// and its number, 0 when not given.
fn linked_part<'r>(l: &Linked, r: &'r Revision) -> Option<(&'r str, f64)> {
    let who = r.content.get(&l.via).and_then(Value::as_str)?;
    Some((
        who,
        r.content.get(&l.sum).and_then(Value::as_f64).unwrap_or(0.0),
    ))
}

/// What the plan asks of a member of a share over people: the first threshold whose `when` the
/// member matches; none when no threshold applies to them.
fn required_of(l: &Linked, member_form: &Form, member: &Revision) -> Option<f64> {
    l.thresholds
        .iter()
        .find(|t| matches(member_form, &member.content, &t.when))
        .map(|t| t.at_least)
}

/// One member's total of a share over people, beside what is asked of them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemberTotal {
    pub total: f64,
    /// None when no threshold applies to the member: they never meet.
    pub required: Option<f64>,
}

impl MemberTotal {
    /// Whether the member counts as meeting the share.
    pub fn met(&self) -> bool {
        self.required.is_some_and(|need| self.total >= need)
    }
}

/// A person's archive for one share over people of the plan (for 社区工作人员年度培训课时达标率:
/// the person's 继续教育档案): the linked records that point at them, oldest first by id, and their
/// total beside what the plan asks of them, by the very rule the share's figure counts them with.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonArchive<'p, 'r> {
    pub indicator: &'p Indicator,
    /// The linked form (training records) and its summed field (class hours).
    pub form: &'p Form,
    pub sum_field: &'p Field,
    pub records: Vec<&'r Revision>,
    pub total: MemberTotal,
}

/// The archives of `member` (a record of a register form): one for each share over people of
/// `plan` whose members are records of its form, read from `held`, the live records of the
/// plan the device holds (records of other units, forms or members are passed over). None when
/// the member's form is no such register.
pub fn person_archives<'p, 'r>(
    plan: &'p Plan,
    member: &Revision,
    held: impl IntoIterator<Item = &'r Revision> + Clone,
) -> Vec<PersonArchive<'p, 'r>> {
    let Some(member_form) = plan.form(&member.form) else {
        return Vec::new();
    };
    let id = member.record.to_string();
    plan.indicators
        .iter()
        .filter_map(|ind| {
            let Measure::Share {
                form,
                linked: Some(l),
                ..
            } = &ind.measure
            else {
                return None;
            };
            if *form != member.form {
                return None;
            }
            let lf = plan.form(&l.form)?;
            let mut records: Vec<&Revision> = held
                .clone()
                .into_iter()
                .filter(|r| r.form == l.form && r.unit == member.unit && !r.deleted)
                .filter(|r| counted(lf, r, &[], None))
                .filter(|r| linked_part(l, r).is_some_and(|(who, _)| who == id))
                .collect();
            records.sort_by_key(|r| r.record);
            let total = records
                .iter()
                .filter_map(|r| linked_part(l, r))
                .map(|(_, n)| n)
                .sum();
            Some(PersonArchive {
                indicator: ind,
                form: lf,
                sum_field: lf.field(&l.sum)?,
                records,
                total: MemberTotal {
                    total,
                    required: required_of(l, member_form, member),
                },
            })
        })
        .collect()
}

/// Whether a record is among those a unit's figure of `ind` counts, as of the end of `as_of`
/// (none: now): the evidence behind the figure. A record counts when it is live and it is a
/// member of one of the figure's terms by the very test the figure is computed with: matched by
/// a count's, a sum's or a flag's filter, by a ratio's numerator or denominator, or a member of a
/// share (or one of the records linked to its members, such as training hours), and counted by
/// that month ([`crate::month::month_counted`]). For a count, the records that count are as many
/// as the figure.
pub fn counts_toward(plan: &Plan, ind: &Indicator, r: &Revision, as_of: Option<Month>) -> bool {
    !r.deleted
        && terms(ind).into_iter().any(|(form, filter)| {
            form == r.form
                && plan
                    .form(form)
                    .is_some_and(|f| counted(f, r, filter, as_of))
        })
}

/// Whether a record matches `filter` and counts by the end of `as_of`.
fn counted(form: &Form, r: &Revision, filter: &[Condition], as_of: Option<Month>) -> bool {
    matches(form, &r.content, filter)
        && (as_of.is_none() || counted_by(month_counted(form, filter, r), as_of))
}

/// The terms a figure of `ind` is made of: the records each one takes in, by form and filter.
fn terms(ind: &Indicator) -> Vec<(&str, &[Condition])> {
    match &ind.measure {
        Measure::Share {
            form,
            filter,
            linked,
            ..
        } => {
            let mut t = vec![(form.as_str(), filter.as_slice())];
            t.extend(linked.as_ref().map(|l| (l.form.as_str(), &[][..])));
            t
        }
        _ => filters(ind),
    }
}

/// The filters a figure of `ind` counts records by, with their forms.
fn filters(ind: &Indicator) -> Vec<(&str, &[Condition])> {
    match &ind.measure {
        Measure::Count { form, filter }
        | Measure::Sum { form, filter, .. }
        | Measure::Flag { form, filter } => vec![(form, filter)],
        Measure::Ratio {
            numerator,
            denominator,
            ..
        } => vec![
            (&numerator.form, &numerator.filter),
            (&denominator.form, &denominator.filter),
        ],
        Measure::Share {
            form,
            filter,
            meets,
            linked,
        } => {
            let mut f = vec![(form.as_str(), filter.as_slice()), (form, meets)];
            f.extend(linked.as_ref().map(|l| (l.form.as_str(), &[][..])));
            f
        }
    }
}

/// A unit's figure and target for each indicator of the plan, in the plan's order (none for an
/// indicator measured above the unit's level), as [`Rollups::known_unit`] computes them.
pub type KnownUnit = Vec<Option<(Figure, Option<Target>)>>;

/// Units already rolled up, by code: a roll-up takes their figures as they are instead of walking
/// their subtrees again (a server keeps its counties' between reports of wider scopes).
/// Shared, so that units kept between reports are not copied into each.
pub type Known = HashMap<String, std::sync::Arc<KnownUnit>>;

/// Computes indicators over a set of live records (deleted ones are skipped), or over each unit's
/// figures kept from them.
pub struct Rollups<'a> {
    plan: &'a Plan,
    tree: &'a AreaTree,
    by_unit: HashMap<&'a str, Vec<&'a Revision>>,
    kept: Option<&'a UnitFigures>,
    known: Option<&'a Known>,
    /// Per-town targets set since the plan was issued, over the plan's own.
    town_targets: Option<&'a TownTargets>,
    /// The month whose end the figures are as of; none for now.
    as_of: Option<Month>,
}

impl<'a> Rollups<'a> {
    pub fn new(plan: &'a Plan, tree: &'a AreaTree, records: &'a [Revision]) -> Self {
        let mut by_unit: HashMap<&str, Vec<&Revision>> = HashMap::new();
        for r in records.iter().filter(|r| !r.deleted) {
            by_unit.entry(r.unit.as_str()).or_default().push(r);
        }
        // Sums of fractions depend on their order: one order, whatever order the records came in,
        // keeps a figure the same however it was reached.
        for rs in by_unit.values_mut() {
            rs.sort_by_key(|r| r.record);
        }
        Rollups {
            plan,
            tree,
            by_unit,
            kept: None,
            known: None,
            town_targets: None,
            as_of: None,
        }
    }

    /// The figures as of the end of `month` (none: now). Figures kept per unit must then be the
    /// unit's as of that month.
    pub fn as_of(self, month: Option<Month>) -> Self {
        Rollups {
            as_of: month,
            ..self
        }
    }

    /// Targets per town laid over the plan's own `targets.towns`.
    pub fn with_town_targets(self, targets: &'a TownTargets) -> Self {
        Rollups {
            town_targets: Some(targets),
            ..self
        }
    }

    /// Takes the figures of the units in `known` as they are: they must have been computed by
    /// [`Rollups::known_unit`] from the same figures, targets and month as this roll-up's.
    pub fn with_known(self, known: &'a Known) -> Self {
        Rollups {
            known: Some(known),
            ..self
        }
    }

    /// Rolls up the units of `known` as they are, with no figure kept or record read below them.
    pub fn from_known(plan: &'a Plan, tree: &'a AreaTree, known: &'a Known) -> Self {
        Rollups {
            plan,
            tree,
            by_unit: HashMap::new(),
            kept: None,
            known: Some(known),
            town_targets: None,
            as_of: None,
        }
    }

    /// Every indicator's figure and target for `area`, in the plan's order, for [`Known`].
    pub fn known_unit(&self, area: &Area) -> KnownUnit {
        self.plan
            .indicators
            .iter()
            .map(|i| self.figure(i, area))
            .collect()
    }

    /// Rolls up the figures kept per unit (see [`unit_figures`]) instead of records.
    pub fn from_figures(plan: &'a Plan, tree: &'a AreaTree, kept: &'a UnitFigures) -> Self {
        Rollups {
            plan,
            tree,
            by_unit: HashMap::new(),
            kept: Some(kept),
            known: None,
            town_targets: None,
            as_of: None,
        }
    }

    /// The figure of a unit at the indicator's own level: kept, or from its records.
    fn own(&self, ind: &Indicator, unit: &str) -> Figure {
        self.kept
            .and_then(|k| k.get(unit))
            .and_then(|f| f.get(&ind.id))
            .copied()
            .unwrap_or_else(|| self.base(ind, unit, self.as_of))
    }

    fn records<'s>(&'s self, unit: &str, form: &'s str) -> impl Iterator<Item = &'a Revision> + 's {
        self.by_unit
            .get(unit)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |r| r.form == form)
    }

    fn form(&self, id: &str) -> &'a Form {
        self.plan
            .form(id)
            .expect("a validated plan refers only to its own forms")
    }

    /// Whether a record matches `filter` and counts by the end of `as_of`.
    fn counts(form: &Form, r: &Revision, filter: &[Condition], as_of: Option<Month>) -> bool {
        counted(form, r, filter, as_of)
    }

    /// The records of `form` in `unit` that `filter` takes in, counted, or what each adds up.
    fn term(
        &self,
        unit: &str,
        form: &str,
        amount: Amount,
        filter: &[Condition],
        as_of: Option<Month>,
    ) -> f64 {
        let f = self.form(form);
        self.records(unit, form)
            .filter(|r| Self::counts(f, r, filter, as_of))
            .map(|r| match amount {
                Amount::One => 1.0,
                Amount::Field(field) => r.content.get(field).and_then(Value::as_f64).unwrap_or(0.0),
                Amount::Days(d) => d.of(&r.content).unwrap_or(0) as f64,
            })
            .sum()
    }

    /// The figure of a unit at the indicator's own level, from its records, as of the end of
    /// `as_of` (none: now).
    fn base(&self, ind: &Indicator, unit: &str, as_of: Option<Month>) -> Figure {
        let term = |t: &Term| self.term(unit, &t.form, Amount::of(t), &t.filter, as_of);
        match &ind.measure {
            Measure::Count { form, filter } => {
                Figure::Number(self.term(unit, form, Amount::One, filter, as_of))
            }
            Measure::Sum {
                form,
                field,
                filter,
            } => Figure::Number(self.term(unit, form, Amount::Field(field), filter, as_of)),
            Measure::Ratio {
                numerator,
                denominator,
                scale,
            } => Figure::Ratio {
                num: term(numerator),
                den: term(denominator),
                scale: *scale,
            },
            Measure::Flag { form, filter } => {
                let f = self.form(form);
                Figure::Flag(
                    self.records(unit, form)
                        .any(|r| Self::counts(f, r, filter, as_of)),
                )
            }
            Measure::Share {
                form,
                filter,
                meets,
                linked,
            } => {
                let f = self.form(form);
                let members: Vec<&Revision> = self
                    .records(unit, form)
                    .filter(|r| Self::counts(f, r, filter, as_of))
                    .collect();
                let met = match linked {
                    None => members
                        .iter()
                        .filter(|r| Self::counts(f, r, meets, as_of))
                        .count(),
                    Some(l) => {
                        let lf = self.form(&l.form);
                        let mut sums: HashMap<&str, f64> = HashMap::new();
                        for r in self
                            .records(unit, &l.form)
                            .filter(|r| Self::counts(lf, r, &[], as_of))
                        {
                            if let Some((who, n)) = linked_part(l, r) {
                                *sums.entry(who).or_default() += n;
                            }
                        }
                        members
                            .iter()
                            .filter(|m| {
                                let got = sums.get(m.record.to_string().as_str()).copied();
                                MemberTotal {
                                    total: got.unwrap_or(0.0),
                                    required: required_of(l, f, m),
                                }
                                .met()
                            })
                            .count()
                    }
                };
                Figure::Ratio {
                    num: met as f64,
                    den: members.len() as f64,
                    scale: 100.0,
                }
            }
        }
    }

    /// The target given for `area` itself, not derived from its parts.
    fn explicit_target(&self, ind: &Indicator, area: &Area) -> Option<Target> {
        match area.level {
            Level::Village => ind.targets.village,
            Level::Town => self
                .town_targets
                .and_then(|t| t.get(&ind.id, &area.code))
                .or_else(|| ind.targets.towns.get(&area.code).copied())
                .or(ind.targets.town),
            Level::County => ind.targets.county,
            Level::Nation | Level::Province | Level::City => None,
        }
    }

    /// The figure and target of `ind` for `area`; none below the indicator's level.
    pub fn figure(&self, ind: &Indicator, area: &Area) -> Option<(Figure, Option<Target>)> {
        self.figure_over(ind, area, self.tree.child_positions(&area.code))
    }

    /// [`Rollups::figure`] of the unit held at `i` in the tree.
    fn figure_at(&self, ind: &Indicator, i: usize) -> Option<(Figure, Option<Target>)> {
        self.figure_over(ind, self.tree.at(i), self.tree.children_at(i))
    }

    /// [`Rollups::figure`] of `area`, whose children are held at `children`: each unit of the
    /// subtree down to the indicator's level is visited once.
    fn figure_over(
        &self,
        ind: &Indicator,
        area: &Area,
        children: impl Iterator<Item = usize>,
    ) -> Option<(Figure, Option<Target>)> {
        if area.level > ind.level {
            return None;
        }
        if let Some(unit) = self.known.and_then(|k| k.get(&area.code)) {
            if let Some(at) = self.plan.indicators.iter().position(|i| i.id == ind.id) {
                return unit.get(at).copied().flatten();
            }
        }
        if area.level == ind.level {
            return Some((self.own(ind, &area.code), self.explicit_target(ind, area)));
        }
        let parts: Vec<(Figure, Option<Target>)> =
            children.filter_map(|c| self.figure_at(ind, c)).collect();
        Some(self.rolled_up(ind, area, &parts))
    }

    /// The figure and target of `area`, above the indicator's level, from its parts: the
    /// figures and targets of its children that have one.
    fn rolled_up(
        &self,
        ind: &Indicator,
        area: &Area,
        parts: &[(Figure, Option<Target>)],
    ) -> (Figure, Option<Target>) {
        let figure = match ind.rollup {
            Rollup::UnitsMeetingTarget => {
                let met = parts
                    .iter()
                    .filter(|(f, t)| against_target(f.value(), t.as_ref()).0 == Some(true))
                    .count();
                Figure::Ratio {
                    num: met as f64,
                    den: parts.len() as f64,
                    scale: 100.0,
                }
            }
            Rollup::Sum => combine(parts, ind),
        };
        let target = self
            .explicit_target(ind, area)
            .or_else(|| derive_target(parts, &figure, ind));
        (figure, target)
    }

    pub fn cell(&self, ind: &Indicator, area: &Area) -> Option<Cell> {
        let (f, target) = self.figure(ind, area)?;
        Some(cell_of(ind, f, target))
    }

    pub fn unit_report(&self, area: &Area) -> UnitReport {
        UnitReport {
            area: area.clone(),
            cells: self
                .plan
                .indicators
                .iter()
                .filter_map(|i| self.cell(i, area))
                .collect(),
        }
    }

    /// The report of a unit and its children.
    ///
    /// Each indicator's figures of the children are computed once and rolled up into the unit's,
    /// so a report walks its scope once per indicator, down to the indicator's level.
    pub fn report(&self, code: &str) -> Option<Report> {
        let at = self.tree.position(code)?;
        let area = self.tree.at(at);
        let children: Vec<usize> = self.tree.children_at(at).collect();
        let mut unit = UnitReport {
            area: area.clone(),
            cells: vec![],
        };
        let mut rows: Vec<UnitReport> = children
            .iter()
            .map(|&c| UnitReport {
                area: self.tree.at(c).clone(),
                cells: vec![],
            })
            .collect();
        for ind in &self.plan.indicators {
            let figures: Vec<Option<(Figure, Option<Target>)>> =
                children.iter().map(|&c| self.figure_at(ind, c)).collect();
            let own = if area.level < ind.level {
                let parts: Vec<(Figure, Option<Target>)> =
                    figures.iter().flatten().copied().collect();
                Some(self.rolled_up(ind, area, &parts))
            } else {
                self.figure_over(ind, area, std::iter::empty())
            };
            if let Some((f, t)) = own {
                unit.cells.push(cell_of(ind, f, t));
            }
            for (row, figure) in rows.iter_mut().zip(figures) {
                if let Some((f, t)) = figure {
                    row.cells.push(cell_of(ind, f, t));
                }
            }
        }
        Some(Report {
            plan: self.plan.id.clone(),
            unit,
            children: rows,
        })
    }
}

/// The cell shown for a figure against its target.
fn cell_of(ind: &Indicator, f: Figure, target: Option<Target>) -> Cell {
    let value = f.value();
    let (met, progress) = against_target(value, target.as_ref());
    let (kind, num, den) = match f {
        Figure::Number(_) => (CellKind::Number, None, None),
        Figure::Ratio { num, den, .. } => (CellKind::Ratio, Some(num), Some(den)),
        Figure::Flag(_) => (CellKind::Flag, None, None),
    };
    Cell {
        indicator: ind.id.clone(),
        kind,
        value,
        num,
        den,
        target,
        progress,
        met,
    }
}

fn combine(parts: &[(Figure, Option<Target>)], ind: &Indicator) -> Figure {
    let scale = match &ind.measure {
        Measure::Ratio { scale, .. } => *scale,
        _ => 100.0,
    };
    let mut n = 0.0;
    let (mut num, mut den) = (0.0, 0.0);
    let mut numbers = true;
    for (f, _) in parts {
        match *f {
            Figure::Number(x) => n += x,
            Figure::Ratio { num: a, den: b, .. } => {
                numbers = false;
                num += a;
                den += b;
            }
            Figure::Flag(b) => {
                numbers = false;
                num += if b { 1.0 } else { 0.0 };
                den += 1.0;
            }
        }
    }
    let counts = matches!(ind.measure, Measure::Count { .. } | Measure::Sum { .. });
    if counts && numbers {
        Figure::Number(n)
    } else {
        Figure::Ratio { num, den, scale }
    }
}

fn derive_target(
    parts: &[(Figure, Option<Target>)],
    figure: &Figure,
    ind: &Indicator,
) -> Option<Target> {
    if ind.rollup != Rollup::Sum || parts.is_empty() {
        return None;
    }
    let targets: Option<Vec<Target>> = parts.iter().map(|(_, t)| *t).collect();
    let targets = targets?;
    match figure {
        Figure::Number(_) => {
            let sum = |get: fn(&Target) -> Option<f64>| -> Option<f64> {
                targets.iter().map(get).sum::<Option<f64>>()
            };
            Some(Target {
                min: sum(|t| t.min),
                goal: sum(|t| t.goal),
                max: sum(|t| t.max),
            })
        }
        Figure::Ratio { .. }
            if matches!(ind.measure, Measure::Ratio { .. } | Measure::Share { .. }) =>
        {
            targets.windows(2).all(|w| w[0] == w[1]).then(|| targets[0])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
