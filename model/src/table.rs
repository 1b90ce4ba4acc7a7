//! The decomposition table (目标任务分解表) read back: the per-town targets an import changes, and
//! what is wrong, cell by cell, in a sheet that cannot be imported. The server reads the sheet;
//! the app shows these. A town's target set on the web page obeys the same rule as one set in the
//! sheet ([`town_target`]).

use crate::plan::{Indicator, Plan, PlanId, Target, MAX_NUMBER_BOUND};
use crate::rollup::CellKind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A problem in an imported sheet: the cell (`D7`; empty for the file as a whole) and what is
/// wrong there. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CellError {
    pub cell: String,
    pub message: String,
}

impl fmt::Display for CellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cell.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.cell, self.message)
        }
    }
}

/// One town's target of one indicator, as an import changes it. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TargetChange {
    pub indicator: String,
    pub indicator_name: String,
    pub town: String,
    pub town_name: String,
    /// The target the town had (the plan's, or the one set before); none when it had none.
    pub before: Option<Target>,
    pub after: Target,
}

impl TargetChange {
    /// `town`'s target of `ind` going from the one in `cell` to `after`.
    pub fn of(
        ind: &Indicator,
        town: &crate::area::Area,
        cell: &crate::rollup::Cell,
        after: Target,
    ) -> TargetChange {
        TargetChange {
            indicator: ind.id.clone(),
            indicator_name: ind.name.clone(),
            town: town.code.clone(),
            town_name: town.name.clone(),
            before: cell.target,
            after,
        }
    }
}

/// What an import did: every target it changed (none for a sheet that matches the targets in
/// force). Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TargetsImported {
    pub plan: PlanId,
    pub changes: Vec<TargetChange>,
}

/// The answer to a sheet that cannot be imported: every problem, nothing applied. Wire format:
/// stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SheetRefused {
    pub error: String,
    pub cells: Vec<CellError>,
}

/// The number typed for a target (in a sheet's cell or on the target page), or why it is none.
pub fn typed_number(text: &str) -> Result<f64, &'static str> {
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err("应为数字"),
    }
}

/// `number` as a town's target of `ind`, whose town figure is of `kind`, or why it cannot be
/// one: the one rule for a target set in the decomposition table and on the target page.
pub fn town_target(
    plan: &Plan,
    ind: &Indicator,
    kind: CellKind,
    number: f64,
) -> Result<Target, &'static str> {
    if kind == CellKind::Flag {
        return Err("是否类指标的目标不能改为数字");
    }
    if !number.is_finite() {
        return Err("应为数字");
    }
    if number < 0.0 {
        return Err("目标不能为负数");
    }
    if number > MAX_NUMBER_BOUND {
        return Err("目标太大");
    }
    if plan.counts_whole(ind) && kind == CellKind::Number && number.fract() != 0.0 {
        return Err("应为整数");
    }
    Ok(Target {
        min: Some(number),
        goal: None,
        max: None,
    })
}

/// Towns' targets set on the target page: each one a town's new target of an indicator of the
/// plan. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetEdits {
    pub plan: PlanId,
    pub targets: Vec<TargetEdit>,
}

/// One town's new target (at least `min`) of one indicator. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetEdit {
    pub indicator: String,
    pub town: String,
    pub min: f64,
}

/// The most targets one save may carry: every town of a county for every indicator, with room.
pub const MAX_TARGET_EDITS: usize = 5_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_town_target_is_a_number_the_figure_can_reach() {
        let plan =
            Plan::parse("plan-2018.toml", include_str!("../../seeds/plan-2018.toml")).unwrap();
        let cases = plan.indicator("deliberation_cases").unwrap();
        let at_least = |n| {
            Ok(Target {
                min: Some(n),
                goal: None,
                max: None,
            })
        };
        assert_eq!(
            town_target(&plan, cases, CellKind::Number, 12.0),
            at_least(12.0)
        );
        assert_eq!(
            town_target(&plan, cases, CellKind::Number, 0.0),
            at_least(0.0)
        );
        assert_eq!(
            town_target(&plan, cases, CellKind::Number, 2.5),
            Err("应为整数")
        );
        assert_eq!(
            town_target(&plan, cases, CellKind::Number, -1.0),
            Err("目标不能为负数")
        );
        assert_eq!(
            town_target(&plan, cases, CellKind::Number, 1e16),
            Err("目标太大")
        );
        assert_eq!(
            town_target(&plan, cases, CellKind::Number, f64::NAN),
            Err("应为数字")
        );
        assert_eq!(
            town_target(&plan, cases, CellKind::Flag, 1.0),
            Err("是否类指标的目标不能改为数字")
        );
        // A share of villages may be any part of a hundred.
        let catalogue = plan.indicator("consultation_catalogue").unwrap();
        assert_eq!(
            town_target(&plan, catalogue, CellKind::Ratio, 87.5),
            at_least(87.5)
        );
        assert_eq!(typed_number(" 12 "), Ok(12.0));
        for bad in ["", "十二", "1e999", "inf", "NaN"] {
            assert_eq!(typed_number(bad), Err("应为数字"), "{bad}");
        }
    }
}
