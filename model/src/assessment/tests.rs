use super::*;
use crate::area::Level;
use crate::rollup::{against_target, CellKind, UnitReport};

const SEED_2018: &str = include_str!("../../../seeds/plan-2018.toml");
const SEED_2019: &str = include_str!("../../../seeds/plan-2019.toml");

fn cell(indicator: &str, value: Option<f64>, target: Option<Target>) -> Cell {
    let (met, progress) = against_target(value, target.as_ref());
    Cell {
        indicator: indicator.into(),
        kind: CellKind::Number,
        value,
        num: None,
        den: None,
        target,
        progress,
        met,
    }
}

fn min(m: f64) -> Option<Target> {
    Some(Target {
        min: Some(m),
        ..Target::default()
    })
}

fn item(rule: Rule, points: f64, per: Option<f64>) -> Item {
    Item {
        id: "x".into(),
        name: "x".into(),
        indicator: "ind".into(),
        points,
        rule,
        per,
    }
}

#[test]
fn a_target_item_gives_the_share_of_the_target_reached_and_no_more() {
    let it = item(Rule::Target, 15.0, None);
    assert_eq!(
        item_score(&it, &cell("ind", Some(1.0), min(2.0))),
        Some(7.5)
    );
    assert_eq!(
        item_score(&it, &cell("ind", Some(2.0), min(2.0))),
        Some(15.0)
    );
    assert_eq!(
        item_score(&it, &cell("ind", Some(9.0), min(2.0))),
        Some(15.0)
    );
    assert_eq!(
        item_score(&it, &cell("ind", Some(0.0), min(2.0))),
        Some(0.0)
    );
    assert_eq!(
        item_score(&it, &cell("ind", Some(1.0), min(3.0))),
        Some(5.0)
    );
    // A ratio over nothing reached nothing of its target.
    assert_eq!(item_score(&it, &cell("ind", None, min(2.0))), Some(0.0));
    // No target: not scored, rather than scored nought.
    assert_eq!(item_score(&it, &cell("ind", Some(4.0), None)), None);
    // A target that is only a ceiling is met or not.
    let ceiling = Some(Target {
        max: Some(30.0),
        ..Target::default()
    });
    assert_eq!(
        item_score(&it, &cell("ind", Some(20.0), ceiling)),
        Some(15.0)
    );
    assert_eq!(
        item_score(&it, &cell("ind", Some(31.0), ceiling)),
        Some(0.0)
    );
}

#[test]
fn a_met_item_is_all_or_nothing_and_each_and_deduct_count_up_to_their_points() {
    let met = item(Rule::Met, 5.0, None);
    assert_eq!(
        item_score(&met, &cell("ind", Some(1.0), min(1.0))),
        Some(5.0)
    );
    assert_eq!(
        item_score(&met, &cell("ind", Some(0.9), min(1.0))),
        Some(0.0)
    );
    assert_eq!(item_score(&met, &cell("ind", Some(1.0), None)), None);
    let each = item(Rule::Each, 10.0, Some(1.5));
    assert_eq!(item_score(&each, &cell("ind", Some(3.0), None)), Some(4.5));
    assert_eq!(
        item_score(&each, &cell("ind", Some(30.0), None)),
        Some(10.0)
    );
    assert_eq!(item_score(&each, &cell("ind", None, None)), Some(0.0));
    let deduct = item(Rule::Deduct, 6.0, Some(2.0));
    assert_eq!(
        item_score(&deduct, &cell("ind", Some(2.0), None)),
        Some(-4.0)
    );
    assert_eq!(
        item_score(&deduct, &cell("ind", Some(5.0), None)),
        Some(-6.0)
    );
    assert_eq!(
        item_score(&deduct, &cell("ind", Some(0.0), None)),
        Some(0.0)
    );
    // Scores are kept to two decimals, so the shown score is the counted one.
    let third = item(Rule::Target, 10.0, None);
    assert_eq!(
        item_score(&third, &cell("ind", Some(1.0), min(3.0))),
        Some(3.33)
    );
}

fn area(code: &str, name: &str) -> Area {
    Area {
        code: code.into(),
        name: name.into(),
        level: Level::Village,
        parent: "610324100".into(),
    }
}

fn plan_with(items: Vec<Item>) -> Plan {
    let mut plan = Plan::parse("plan-2018.toml", SEED_2018).unwrap();
    plan.assessment = Some(Assessment {
        name: "考核".into(),
        note: String::new(),
        items,
    });
    plan
}

fn report(children: Vec<(Area, Vec<Cell>)>) -> Report {
    Report {
        plan: PlanId::parse("fufeng-2018").unwrap(),
        unit: UnitReport {
            area: Area {
                code: "610324100".into(),
                name: "城关街道".into(),
                level: Level::Town,
                parent: "610324".into(),
            },
            cells: vec![],
        },
        children: children
            .into_iter()
            .map(|(area, cells)| UnitReport { area, cells })
            .collect(),
    }
}

#[test]
fn units_are_ranked_by_total_with_equal_totals_sharing_a_place() {
    let mut a = item(Rule::Target, 10.0, None);
    a.indicator = "a".into();
    let mut b = item(Rule::Each, 5.0, Some(1.0));
    b.id = "y".into();
    b.indicator = "b".into();
    let plan = plan_with(vec![a, b]);
    let r = report(vec![
        (
            area("610324100001", "一村"),
            vec![cell("a", Some(1.0), min(2.0)), cell("b", Some(2.0), None)],
        ),
        (
            area("610324100002", "二村"),
            vec![cell("a", Some(2.0), min(2.0)), cell("b", Some(4.0), None)],
        ),
        (
            area("610324100003", "三村"),
            vec![cell("a", Some(0.0), min(2.0)), cell("b", Some(7.0), None)],
        ),
        (
            area("610324100004", "四村"),
            vec![cell("a", Some(0.0), None), cell("b", Some(0.0), None)],
        ),
    ]);
    let ranking = rank(&plan, &r).unwrap();
    let rows: Vec<(&str, usize, f64, f64)> = ranking
        .rows
        .iter()
        .map(|u| (u.area.name.as_str(), u.rank, u.total, u.most))
        .collect();
    assert_eq!(
        rows,
        [
            ("二村", 1, 14.0, 15.0),
            ("一村", 2, 7.0, 15.0),
            ("三村", 3, 5.0, 15.0),
            ("四村", 4, 0.0, 5.0),
        ]
    );
    assert_eq!(
        ranking.rows[3].items[0].score, None,
        "no target, not scored"
    );
    assert_eq!(ranking.name, "考核");
    assert_eq!(ranking.unit.code, "610324100");

    // A tie shares the place, and the next place skips.
    let r = report(vec![
        (
            area("610324100001", "一村"),
            vec![cell("a", Some(2.0), min(2.0)), cell("b", Some(0.0), None)],
        ),
        (
            area("610324100002", "二村"),
            vec![cell("a", Some(0.0), min(2.0)), cell("b", Some(9.0), None)],
        ),
        (
            area("610324100003", "三村"),
            vec![cell("a", Some(2.0), min(2.0)), cell("b", Some(0.0), None)],
        ),
    ]);
    let ranking = rank(&plan, &r).unwrap();
    let rows: Vec<(&str, usize)> = ranking
        .rows
        .iter()
        .map(|u| (u.area.name.as_str(), u.rank))
        .collect();
    assert_eq!(rows, [("一村", 1), ("三村", 1), ("二村", 3)]);
}

#[test]
fn an_item_not_measured_at_the_ranked_level_is_left_out_for_every_unit() {
    let mut a = item(Rule::Target, 10.0, None);
    a.indicator = "a".into();
    let mut town_only = item(Rule::Met, 5.0, None);
    town_only.id = "t".into();
    town_only.indicator = "t".into();
    let plan = plan_with(vec![a, town_only]);
    let r = report(vec![
        (
            area("610324100001", "一村"),
            vec![cell("a", Some(2.0), min(2.0))],
        ),
        (
            area("610324100002", "二村"),
            vec![cell("a", Some(1.0), min(2.0))],
        ),
    ]);
    let ranking = rank(&plan, &r).unwrap();
    for row in &ranking.rows {
        let items: Vec<&str> = row.items.iter().map(|s| s.item.as_str()).collect();
        assert_eq!(items, ["x"]);
        assert_eq!(row.most, 10.0);
    }
}

#[test]
fn a_plan_without_an_assessment_ranks_nothing() {
    let mut plan = Plan::parse("plan-2018.toml", SEED_2018).unwrap();
    plan.assessment = None;
    assert_eq!(rank(&plan, &report(vec![])), None);
}

#[test]
fn both_seeds_declare_an_assessment_of_their_own_indicators() {
    for (file, text) in [("plan-2018.toml", SEED_2018), ("plan-2019.toml", SEED_2019)] {
        let plan = Plan::parse(file, text).unwrap();
        let a = plan.assessment.as_ref().expect(file);
        assert!(a.items.len() >= 10, "{file}");
        let rules: std::collections::BTreeSet<Rule> = a.items.iter().map(|i| i.rule).collect();
        assert!(
            rules.contains(&Rule::Target)
                && rules.contains(&Rule::Met)
                && rules.contains(&Rule::Each)
        );
        // Point 19's training hours are scored, as the notice asks.
        assert!(a
            .items
            .iter()
            .any(|i| i.indicator == "staff_training_hours"));
    }
}

#[test]
fn a_bad_assessment_is_refused_with_every_problem_named() {
    let text = format!(
        "{SEED_2018}\n[[assessment.items]]\nid = \"bad\"\nname = \"坏\"\nindicator = \"no_such\"\npoints = 0\nrule = \"each\"\n"
    );
    let err = Plan::parse("plan-2018.toml", &text)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no indicator `no_such`"), "{err}");
    assert!(err.contains("points must be more than 0"), "{err}");
    assert!(err.contains("this rule needs `per`"), "{err}");
    let text = format!(
        "{SEED_2018}\n[[assessment.items]]\nid = \"bad\"\nname = \"坏\"\nindicator = \"duty_list\"\npoints = 1\nrule = \"met\"\nper = 1\nweight = 2\n"
    );
    let err = Plan::parse("plan-2018.toml", &text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("only the rules `each` and `deduct` take `per`"),
        "{err}"
    );
    assert!(err.contains("weight"), "{err}");
}
