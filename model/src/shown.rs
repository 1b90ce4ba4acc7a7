//! How a figure and its target are written for people: on the phone's report and in the
//! decomposition table a county office prints. Both show the same words for the same figure.

use crate::plan::Target;
use crate::rollup::{Cell, CellKind};

/// A whole number without decimals, anything else with one.
pub fn number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// A yes/no rolled up to a town or the county is the share of units with yes: a percentage.
pub fn unit_of(kind: CellKind, unit: &str) -> &str {
    if kind == CellKind::Ratio && unit.is_empty() {
        "%"
    } else {
        unit
    }
}

/// The words a figure or target is written with where it is no number.
pub struct Words {
    pub yes: &'static str,
    pub no: &'static str,
    /// A target the plan does not set.
    pub not_set: &'static str,
}

/// The words of the decomposition table and of the phone in Chinese.
pub const CHINESE: Words = Words {
    yes: "是",
    no: "否",
    not_set: "未定",
};

/// A figure as shown: `12个`, `37.5%`, `是`, or `—` when there is none.
pub fn value(cell: &Cell, unit: &str) -> String {
    value_in(cell, unit, &CHINESE)
}

/// A figure as shown, a yes or no in `words`.
pub fn value_in(cell: &Cell, unit: &str, words: &Words) -> String {
    match (cell.kind, cell.value) {
        (_, None) => "—".into(),
        (CellKind::Flag, Some(v)) => if v >= 1.0 { words.yes } else { words.no }.into(),
        (kind, Some(v)) => format!("{}{}", number(v), unit_of(kind, unit)),
    }
}

/// A target as shown: `≥3个`, `≤5%`, `3–5个`, `是`, or `未定` when the plan sets none.
pub fn target(t: Option<&Target>, kind: CellKind, unit: &str) -> String {
    target_in(t, kind, unit, &CHINESE)
}

/// A target as shown, a yes or an unset target in `words`.
pub fn target_in(t: Option<&Target>, kind: CellKind, unit: &str, words: &Words) -> String {
    let Some(t) = t else {
        return words.not_set.into();
    };
    if kind == CellKind::Flag {
        return words.yes.into();
    }
    let unit = unit_of(kind, unit);
    match (t.min, t.goal, t.max) {
        (Some(lo), Some(g), _) => format!("{}–{}{unit}", number(lo), number(g)),
        (Some(lo), None, Some(hi)) => format!("{}–{}{unit}", number(lo), number(hi)),
        (Some(lo), None, None) => format!("≥{}{unit}", number(lo)),
        (None, _, Some(hi)) => format!("≤{}{unit}", number(hi)),
        _ => words.not_set.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(kind: CellKind, value: Option<f64>) -> Cell {
        Cell {
            indicator: "x".into(),
            kind,
            value,
            num: None,
            den: None,
            target: None,
            progress: None,
            met: None,
        }
    }

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(2.25), "2.2");
        assert_eq!(value(&cell(CellKind::Number, Some(12.0)), "个"), "12个");
        assert_eq!(value(&cell(CellKind::Ratio, Some(37.5)), ""), "37.5%");
        assert_eq!(value(&cell(CellKind::Flag, Some(1.0)), ""), "是");
        assert_eq!(value(&cell(CellKind::Flag, Some(0.0)), ""), "否");
        assert_eq!(value(&cell(CellKind::Ratio, None), "%"), "—");
    }

    #[test]
    fn targets_say_which_way_to_go() {
        let t = |min, goal, max| Target { min, goal, max };
        let n = CellKind::Number;
        assert_eq!(target(Some(&t(Some(3.0), None, None)), n, "个"), "≥3个");
        assert_eq!(target(Some(&t(None, None, Some(5.0))), n, "个"), "≤5个");
        assert_eq!(
            target(Some(&t(Some(3.0), Some(5.0), None)), n, "个"),
            "3–5个"
        );
        assert_eq!(target(Some(&t(Some(1.0), None, Some(2.0))), n, ""), "1–2");
        assert_eq!(target(Some(&t(None, None, None)), n, ""), "未定");
        assert_eq!(target(None, n, ""), "未定");
        assert_eq!(
            target(Some(&t(Some(1.0), None, None)), CellKind::Flag, ""),
            "是"
        );
    }
}
