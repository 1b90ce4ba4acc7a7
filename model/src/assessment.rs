//! The unified assessment (综合考核评比, point 17 of the notice): one score per unit in place of
//! every department's own, computed from the figures already kept. No form feeds it.
//!
//! A plan declares the items: each reads one indicator's figure for the unit and turns it into
//! points by one rule. A town's villages are ranked from the town's report, the county's towns
//! from the county's: an item whose indicator is not measured at the ranked level (a town-only
//! count, for villages) is not scored there, so every unit of one ranking is scored on the same
//! items. The phone and the server both rank with [`rank`].

use crate::area::Area;
use crate::plan::{PlanId, Target};
use crate::rollup::{Cell, Report};
use crate::Plan;
use serde::{Deserialize, Serialize};

/// How a plan scores its units. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub items: Vec<Item>,
}

/// One scored item. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub name: String,
    /// The indicator whose figure is scored.
    pub indicator: String,
    /// The most the item gives, or for a deduction the most it takes.
    pub points: f64,
    pub rule: Rule,
    /// For [`Rule::Each`] and [`Rule::Deduct`]: points for each one of the figure's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<f64>,
}

/// How a figure becomes points. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The share of the target's minimum reached, times the points, capped at the points; a target
    /// with only a maximum gives all or nothing. Not scored without a target.
    Target,
    /// All the points when the figure meets its target, none otherwise. Not scored without one.
    Met,
    /// `per` points for each one of the figure, up to the points.
    Each,
    /// `per` points taken for each one of the figure, up to the points.
    Deduct,
}

impl Rule {
    /// Whether the rule reads `per`.
    pub fn takes_per(self) -> bool {
        matches!(self, Rule::Each | Rule::Deduct)
    }

    /// What the rule says, for a breakdown.
    pub fn label(self) -> &'static str {
        match self {
            Rule::Target => "按完成目标的比例得分",
            Rule::Met => "达标得满分",
            Rule::Each => "按数量得分",
            Rule::Deduct => "按数量扣分",
        }
    }
}

/// One item of one unit's score. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ItemScore {
    pub item: String,
    pub indicator: String,
    /// The figure scored; none for a ratio over nothing.
    pub value: Option<f64>,
    pub target: Option<Target>,
    /// The points given (negative for a deduction), to two decimals; none when the item is not
    /// scored for this unit (no target to score against).
    pub score: Option<f64>,
}

/// One unit's score and its place. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UnitScore {
    pub area: Area,
    /// 1 for the highest total; equal totals share a place.
    pub rank: usize,
    pub total: f64,
    /// The most the items scored for this unit could give.
    pub most: f64,
    /// One per item scored at this level, in the plan's order.
    pub items: Vec<ItemScore>,
}

/// A unit's parts ranked. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Ranking {
    pub plan: PlanId,
    pub name: String,
    pub unit: Area,
    pub rows: Vec<UnitScore>,
}

/// Points to two decimals: the score shown is the score counted.
fn hundredths(x: f64) -> f64 {
    let r = (x * 100.0).round() / 100.0;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// The points `item` gives a figure (`cell`); none when it cannot be scored.
pub fn item_score(item: &Item, cell: &Cell) -> Option<f64> {
    let points = item.points;
    let per = item.per.unwrap_or(0.0);
    let score = match item.rule {
        Rule::Target => {
            let target = cell.target.as_ref()?;
            match (target.min, cell.value) {
                (Some(min), Some(v)) if min > 0.0 => points * (v / min).clamp(0.0, 1.0),
                (Some(_), None) => 0.0,
                _ => points * f64::from(u8::from(cell.met?)),
            }
        }
        Rule::Met => {
            cell.target.as_ref()?;
            points * f64::from(u8::from(cell.met.unwrap_or(false)))
        }
        Rule::Each => (cell.value.unwrap_or(0.0) * per).clamp(0.0, points),
        Rule::Deduct => -(cell.value.unwrap_or(0.0) * per).clamp(0.0, points),
    };
    Some(hundredths(score))
}

/// The report's parts (a town's villages, the county's towns) ranked by the plan's assessment;
/// none when the plan declares none.
pub fn rank(plan: &Plan, report: &Report) -> Option<Ranking> {
    let assessment = plan.assessment.as_ref()?;
    // Items whose indicator the report has for every part: the same items for all.
    let items: Vec<&Item> = assessment
        .items
        .iter()
        .filter(|item| {
            !report.children.is_empty()
                && report
                    .children
                    .iter()
                    .all(|c| c.cells.iter().any(|x| x.indicator == item.indicator))
        })
        .collect();
    let mut rows: Vec<UnitScore> = report
        .children
        .iter()
        .map(|child| {
            let scores: Vec<ItemScore> = items
                .iter()
                .map(|item| {
                    let cell = child
                        .cells
                        .iter()
                        .find(|x| x.indicator == item.indicator)
                        .expect("kept only items every part has");
                    ItemScore {
                        item: item.id.clone(),
                        indicator: item.indicator.clone(),
                        value: cell.value,
                        target: cell.target,
                        score: item_score(item, cell),
                    }
                })
                .collect();
            let total = hundredths(scores.iter().filter_map(|s| s.score).sum());
            let most = items
                .iter()
                .zip(&scores)
                .filter(|(item, s)| item.rule != Rule::Deduct && s.score.is_some())
                .map(|(item, _)| item.points)
                .sum();
            UnitScore {
                area: child.area.clone(),
                rank: 0,
                total,
                most: hundredths(most),
                items: scores,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.total
            .total_cmp(&a.total)
            .then_with(|| a.area.code.cmp(&b.area.code))
    });
    for i in 0..rows.len() {
        rows[i].rank = if i > 0 && rows[i].total == rows[i - 1].total {
            rows[i - 1].rank
        } else {
            i + 1
        };
    }
    Some(Ranking {
        plan: plan.id.clone(),
        name: assessment.name.clone(),
        unit: report.unit.area.clone(),
        rows,
    })
}

#[cfg(test)]
mod tests;
