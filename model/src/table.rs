//! The decomposition table (目标任务分解表) read back: the per-town targets an import changes, and
//! what is wrong, cell by cell, in a sheet that cannot be imported. The server reads the sheet;
//! the app shows these.

use crate::plan::{PlanId, Target};
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
