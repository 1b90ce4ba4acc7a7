//! The figures a store keeps per unit, now and as of the end of each month of the plan (see
//! [`shequ_model::rollup::unit_figures`] and [`shequ_model::rollup::unit_month_figures`]), as
//! rows, and what a rebuild of them found.

use super::StoreError;
use sha2::{Digest, Sha256};
use shequ_model::area::Level;
use shequ_model::month::Month;
use shequ_model::plan::{Indicator, Plan};
use shequ_model::rollup::{additive, forms_read, Figure};
use std::collections::{BTreeMap, BTreeSet};

/// Which figure: (plan, unit, indicator, the month it is as of, none for now).
pub type FigureKey = (String, String, String, Option<Month>);

/// The kept figures.
pub type Kept = BTreeMap<FigureKey, Figure>;

/// The month a figure is as of, as written in its key.
fn when(m: &Option<Month>) -> String {
    m.map_or_else(|| "now".to_owned(), |m| m.to_string())
}

/// The indicators a change of records of these forms at `level` moves: the [`additive`] ones,
/// which move by the records' parts, and the others, recomputed from the unit's records.
pub fn moved_by<'p>(
    plan: &'p Plan,
    level: Level,
    forms: &BTreeSet<&str>,
) -> (Vec<&'p Indicator>, Vec<&'p Indicator>) {
    plan.indicators
        .iter()
        .filter(|i| i.level == level && forms_read(i).iter().any(|f| forms.contains(f)))
        .partition(|i| additive(plan, i))
}

/// The two tables figures are kept in: as of now, and as of the end of each month of the plan
/// (with a column for the month).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Now,
    Months,
}

impl Table {
    pub const ALL: [Table; 2] = [Table::Now, Table::Months];

    /// The table of the figures as of the end of `month`, or now.
    pub fn of(month: Option<Month>) -> Table {
        match month {
            None => Table::Now,
            Some(_) => Table::Months,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Table::Now => "unit_figures",
            Table::Months => "unit_month_figures",
        }
    }
}

/// A figure as the row's kind, num, den and scale.
pub fn to_row(f: &Figure) -> (&'static str, f64, f64, f64) {
    match *f {
        Figure::Number(n) => ("number", n, 0.0, 0.0),
        Figure::Ratio { num, den, scale } => ("ratio", num, den, scale),
        Figure::Flag(b) => ("flag", if b { 1.0 } else { 0.0 }, 0.0, 0.0),
    }
}

pub fn from_row(kind: &str, num: f64, den: f64, scale: f64) -> Result<Figure, StoreError> {
    match kind {
        "number" => Ok(Figure::Number(num)),
        "ratio" => Ok(Figure::Ratio { num, den, scale }),
        "flag" => Ok(Figure::Flag(num != 0.0)),
        other => Err(StoreError::Corrupt(format!("unknown figure kind {other}"))),
    }
}

/// What the figures were computed under: a plan's content, by hash.
pub fn plan_hash(plan: &Plan) -> String {
    let json = serde_json::to_string(plan).expect("a plan is JSON");
    format!("{:x}", Sha256::digest(json.as_bytes()))
}

/// What a rebuild of the kept figures did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RebuildReport {
    /// Units whose figures were computed from their records.
    pub units: usize,
    /// Figures kept after the rebuild.
    pub figures: usize,
    /// Every figure that was wrong or missing or left over, and what it is now.
    pub fixed: Vec<String>,
}

impl std::fmt::Display for RebuildReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} units, {} figures, {} fixed",
            self.units,
            self.figures,
            self.fixed.len()
        )?;
        for d in &self.fixed {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

/// The differences between the figures kept and the figures the records give.
pub fn differences(kept: &Kept, computed: &Kept) -> Vec<String> {
    let mut out = Vec::new();
    for (k, want) in computed {
        match kept.get(k) {
            Some(got) if got == want => {}
            got => out.push(format!(
                "{} {} {} {}: kept {got:?}, records give {want:?}",
                k.0,
                k.1,
                k.2,
                when(&k.3)
            )),
        }
    }
    for (k, got) in kept {
        if !computed.contains_key(k) {
            out.push(format!(
                "{} {} {} {}: kept {got:?}, records give none",
                k.0,
                k.1,
                k.2,
                when(&k.3)
            ));
        }
    }
    out
}
