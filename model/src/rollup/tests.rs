use super::*;
use crate::record::Content;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

const PLAN: &str = r#"
id = "test"
year = 2018
title = "测试计划"
county = "610324"

[[forms]]
id = "case"
name = "议事案例"
title_field = "topic"
fields = [
  { id = "topic", label = "议题", kind = "text" },
  { id = "ok", label = "已反馈", kind = "yes_no" },
]

[[forms]]
id = "staff"
name = "工作人员名册"
title_field = "name"
fields = [
  { id = "name", label = "姓名", kind = "text" },
  { id = "role", label = "人员类别", kind = "choice", options = ["两委成员", "其他工作人员"] },
]

[[forms]]
id = "training"
name = "培训记录"
title_field = "course"
fields = [
  { id = "person", label = "参训人员", kind = "person", register = "staff" },
  { id = "course", label = "培训内容", kind = "text" },
  { id = "hours", label = "课时", kind = "number", unit = "课时" },
]

[[forms]]
id = "facility"
name = "设施"
title_field = "name"
fields = [
  { id = "name", label = "名称", kind = "text" },
  { id = "area", label = "面积", kind = "number" },
  { id = "households", label = "户数", kind = "number" },
]

[[forms]]
id = "audit"
name = "经费审计"
level = "town"
title_field = "title"
fields = [{ id = "title", label = "名称", kind = "text" }]

[[indicators]]
id = "cases_ok"
name = "成功案例"
measure = { shape = "count", form = "case", filter = [{ field = "ok", is = true }] }
targets = { village = { min = 2, goal = 3 } }

[[indicators]]
id = "cases"
name = "案例"
measure = { shape = "count", form = "case" }
[indicators.targets]
village = { min = 1 }
town = { min = 4 }
towns = { "610324101" = { min = 1, goal = 2 } }

[[indicators]]
id = "area_per_100"
name = "每百户面积"
measure = { shape = "ratio", scale = 100, numerator = { form = "facility", field = "area" }, denominator = { form = "facility", field = "households" } }
targets = { village = { min = 30 } }

[[indicators]]
id = "has_case"
name = "有议事案例"
measure = { shape = "flag", form = "case" }
targets = { town = { min = 100 } }

[[indicators]]
id = "trained"
name = "培训达标率"
unit = "%"
targets = { village = { min = 100 } }
[indicators.measure]
shape = "share"
form = "staff"
[indicators.measure.linked]
form = "training"
via = "person"
sum = "hours"
thresholds = [{ when = [{ field = "role", is = "两委成员" }], at_least = 40 }, { at_least = 20 }]

[[indicators]]
id = "villages_on_target"
name = "达标村比例"
rollup = "units_meeting_target"
measure = { shape = "count", form = "case", filter = [{ field = "ok", is = true }] }
targets = { village = { min = 2 }, town = { min = 100 } }

[[indicators]]
id = "audits"
name = "审计"
level = "town"
measure = { shape = "count", form = "audit" }
targets = { town = { min = 1 } }
"#;

const COUNTY: &str = "610324";
const TOWN_A: &str = "610324001";
const TOWN_B: &str = "610324101";
const V1: &str = "610324001001";
const V2: &str = "610324001201";
const V3: &str = "610324101001";
const VILLAGES: [&str; 3] = [V1, V2, V3];

fn plan() -> Plan {
    Plan::parse("test.toml", PLAN).unwrap_or_else(|e| panic!("{e}"))
}

fn tree() -> AreaTree {
    let a = |code: &str, name: &str, level: Level, parent: &str| Area {
        code: code.into(),
        name: name.into(),
        level,
        parent: parent.into(),
    };
    AreaTree::new([
        a(COUNTY, "扶风县", Level::County, "6103"),
        a(TOWN_A, "城关街道", Level::Town, COUNTY),
        a(TOWN_B, "天度镇", Level::Town, COUNTY),
        a(V1, "飞凤社区居委会", Level::Village, TOWN_A),
        a(V2, "西官村委会", Level::Village, TOWN_A),
        a(V3, "天度村委会", Level::Village, TOWN_B),
    ])
}

/// Makes revisions with distinct ids, as a device would.
#[derive(Default)]
struct Records(Vec<Revision>);

impl Records {
    fn add(&mut self, unit: &str, form: &str, content: serde_json::Value) -> Uuid {
        let id = Uuid::from_u128(self.0.len() as u128 + 1);
        let content: Content = serde_json::from_value(content).unwrap();
        self.0.push(Revision {
            record: id,
            rev: id,
            parent: None,
            resolves: vec![],
            device: "test".into(),
            clock: self.0.len() as u64 + 1,
            plan: Default::default(),
            form: form.into(),
            unit: crate::UnitCode::parse(unit).unwrap(),
            deleted: false,
            content,
        });
        id
    }
    fn case(&mut self, unit: &str, ok: bool) -> Uuid {
        self.add(unit, "case", json!({"topic": "议题", "ok": ok}))
    }
}

fn area(t: &AreaTree, code: &str) -> Area {
    t.get(code).unwrap().clone()
}

fn cell(plan: &Plan, tree: &AreaTree, records: &[Revision], ind: &str, code: &str) -> Cell {
    let r = Rollups::new(plan, tree, records);
    r.cell(plan.indicator(ind).unwrap(), &area(tree, code))
        .unwrap()
}

fn min(x: f64) -> Option<Target> {
    Some(Target {
        min: Some(x),
        goal: None,
        max: None,
    })
}

#[test]
fn count_with_a_filter_per_village() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    r.case(V1, true);
    r.case(V1, true);
    r.case(V1, false);
    r.case(V2, true);
    let c = cell(&p, &t, &r.0, "cases_ok", V1);
    assert_eq!(c.kind, CellKind::Number);
    assert_eq!(c.value, Some(2.0));
    assert_eq!(
        c.target,
        Some(Target {
            min: Some(2.0),
            goal: Some(3.0),
            max: None
        })
    );
    assert_eq!((c.met, c.progress), (Some(true), Some(1.0)));
    let c = cell(&p, &t, &r.0, "cases_ok", V2);
    assert_eq!(c.value, Some(1.0));
    assert_eq!((c.met, c.progress), (Some(false), Some(0.5)));
    assert_eq!(cell(&p, &t, &r.0, "cases_ok", V3).value, Some(0.0));
}

#[test]
fn town_sums_its_villages_and_derives_its_target_from_theirs() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    for _ in 0..3 {
        r.case(V1, true);
    }
    r.case(V2, true);
    r.case(V3, false);
    let c = cell(&p, &t, &r.0, "cases_ok", TOWN_A);
    assert_eq!(c.value, Some(4.0));
    // No town target in the plan: the sum of the two villages' targets.
    assert_eq!(
        c.target,
        Some(Target {
            min: Some(4.0),
            goal: Some(6.0),
            max: None
        })
    );
    assert_eq!(c.met, Some(true));
    // The county: the sum of its towns, and of their (derived) targets.
    let c = cell(&p, &t, &r.0, "cases_ok", COUNTY);
    assert_eq!(c.value, Some(4.0));
    assert_eq!(
        c.target,
        Some(Target {
            min: Some(6.0),
            goal: Some(9.0),
            max: None
        })
    );
    assert_eq!(c.met, Some(false));
}

#[test]
fn a_per_town_override_beats_the_level_target() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    r.case(V3, false);
    r.case(V3, true);
    let a = cell(&p, &t, &r.0, "cases", TOWN_A);
    assert_eq!(a.target, min(4.0), "town A takes the level target");
    assert_eq!(a.met, Some(false));
    let b = cell(&p, &t, &r.0, "cases", TOWN_B);
    assert_eq!(b.value, Some(2.0));
    assert_eq!(
        b.target,
        Some(Target {
            min: Some(1.0),
            goal: Some(2.0),
            max: None
        }),
        "town B's own target"
    );
    assert_eq!(b.met, Some(true));
    // The county has none: the sum of the towns' targets, override included.
    let c = cell(&p, &t, &r.0, "cases", COUNTY);
    assert_eq!(c.target, min(5.0));
}

#[test]
fn a_town_target_set_since_the_plan_lies_over_the_plan() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    r.case(V3, false);
    r.case(V3, true);
    let mut set = crate::plan::TownTargets::default();
    set.set("cases", TOWN_B, min(3.0).unwrap());
    set.set("cases", TOWN_A, min(1.0).unwrap());
    let rollups = Rollups::new(&p, &t, &r.0).with_town_targets(&set);
    let ind = p.indicator("cases").unwrap();
    let b = rollups.cell(ind, &area(&t, TOWN_B)).unwrap();
    assert_eq!(b.target, min(3.0), "over the plan's own override");
    assert_eq!(b.met, Some(false));
    let a = rollups.cell(ind, &area(&t, TOWN_A)).unwrap();
    assert_eq!(a.target, min(1.0), "over the level's target");
    // The county adds up the towns' targets as set.
    let c = rollups.cell(ind, &area(&t, COUNTY)).unwrap();
    assert_eq!(c.target, min(4.0));
    // Other indicators keep the plan's.
    let other = rollups
        .cell(p.indicator("cases_ok").unwrap(), &area(&t, TOWN_B))
        .unwrap();
    assert_eq!(other.target, cell(&p, &t, &r.0, "cases_ok", TOWN_B).target);
}

#[test]
fn a_ratio_rolls_up_as_the_sum_of_its_parts() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    r.add(
        V1,
        "facility",
        json!({"name": "服务中心", "area": 30, "households": 100}),
    );
    r.add(
        V2,
        "facility",
        json!({"name": "服务中心", "area": 6, "households": 600}),
    );
    r.add(
        V2,
        "facility",
        json!({"name": "照料中心", "area": 4, "households": 300}),
    );
    let v1 = cell(&p, &t, &r.0, "area_per_100", V1);
    assert_eq!(
        (v1.kind, v1.value, v1.met),
        (CellKind::Ratio, Some(30.0), Some(true))
    );
    let v2 = cell(&p, &t, &r.0, "area_per_100", V2);
    assert_eq!((v2.num, v2.den), (Some(10.0), Some(900.0)));
    // 40 m² over 1000 households, not the average of 30 and 1.1.
    let a = cell(&p, &t, &r.0, "area_per_100", TOWN_A);
    assert_eq!(
        (a.num, a.den, a.value),
        (Some(40.0), Some(1000.0), Some(4.0))
    );
    // All villages share the target, so the town takes it.
    assert_eq!((a.target, a.met), (min(30.0), Some(false)));
    // A village with no facility has no figure (nothing to divide by), and adds nothing above.
    assert_eq!(cell(&p, &t, &r.0, "area_per_100", V3).value, None);
    assert_eq!(cell(&p, &t, &r.0, "area_per_100", COUNTY).value, Some(4.0));
}

#[test]
fn a_flag_becomes_the_share_of_villages_with_yes() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    r.case(V1, false);
    let v1 = cell(&p, &t, &r.0, "has_case", V1);
    assert_eq!((v1.kind, v1.value), (CellKind::Flag, Some(1.0)));
    assert_eq!(cell(&p, &t, &r.0, "has_case", V2).value, Some(0.0));
    let a = cell(&p, &t, &r.0, "has_case", TOWN_A);
    assert_eq!(
        (a.kind, a.num, a.den, a.value),
        (CellKind::Ratio, Some(1.0), Some(2.0), Some(50.0))
    );
    assert_eq!(
        (a.target, a.met, a.progress),
        (min(100.0), Some(false), Some(0.5))
    );
    // The county: 1 village of 3, not the average of the towns' 50 % and 0 %.
    let c = cell(&p, &t, &r.0, "has_case", COUNTY);
    assert_eq!((c.num, c.den), (Some(1.0), Some(3.0)));
    assert!((c.value.unwrap() - 100.0 / 3.0).abs() < 1e-9);
}

#[test]
fn a_share_of_people_with_linked_hours_uses_each_ones_threshold() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    let staff = |r: &mut Records, unit: &str, name: &str, role: &str| {
        r.add(unit, "staff", json!({"name": name, "role": role}))
            .to_string()
    };
    let train = |r: &mut Records, unit: &str, who: &str, hours: f64| {
        r.add(
            unit,
            "training",
            json!({"person": who, "course": "培训", "hours": hours}),
        );
    };
    let a = staff(&mut r, V1, "甲", "两委成员"); // 24 + 16 = 40: meets 40
    let b = staff(&mut r, V1, "乙", "两委成员"); // 30: under 40
    let c = staff(&mut r, V1, "丙", "其他工作人员"); // 20: meets 20
    let _d = staff(&mut r, V1, "丁", "其他工作人员"); // nothing recorded
    train(&mut r, V1, &a, 24.0);
    train(&mut r, V1, &a, 16.0);
    train(&mut r, V1, &b, 30.0);
    train(&mut r, V1, &c, 20.0);
    let e = staff(&mut r, V3, "戊", "其他工作人员");
    train(&mut r, V3, &e, 25.0);
    let v1 = cell(&p, &t, &r.0, "trained", V1);
    assert_eq!(
        (v1.num, v1.den, v1.value),
        (Some(2.0), Some(4.0), Some(50.0))
    );
    assert_eq!((v1.target, v1.met), (min(100.0), Some(false)));
    let v3 = cell(&p, &t, &r.0, "trained", V3);
    assert_eq!((v3.value, v3.met), (Some(100.0), Some(true)));
    // County: 3 people of 5 reach their hours; V2 has no staff and adds nothing.
    let c = cell(&p, &t, &r.0, "trained", COUNTY);
    assert_eq!((c.num, c.den, c.value), (Some(3.0), Some(5.0), Some(60.0)));
    assert_eq!(
        c.target,
        min(100.0),
        "every village has 100 %, so the county does too"
    );
}

/// A person's archive (继续教育档案) counts them by the share's own rule: as many people meet in
/// their archives as the figure counts, each with their own records and threshold.
#[test]
fn a_persons_archive_holds_their_linked_records_and_what_is_asked_of_them() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    let staff = |r: &mut Records, unit: &str, role: &str| {
        r.add(unit, "staff", json!({"name": "某人", "role": role}))
    };
    let train = |r: &mut Records, unit: &str, who: Uuid, hours: Option<f64>| {
        let mut c = json!({"person": who.to_string(), "course": "培训"});
        if let Some(h) = hours {
            c["hours"] = json!(h);
        }
        r.add(unit, "training", c)
    };
    let a = staff(&mut r, V1, "两委成员");
    let b = staff(&mut r, V1, "其他工作人员");
    let c = staff(&mut r, V1, "两委成员");
    let a1 = train(&mut r, V1, a, Some(24.0));
    let a2 = train(&mut r, V1, a, Some(16.0));
    let b1 = train(&mut r, V1, b, Some(12.5));
    let b2 = train(&mut r, V1, b, None);
    let gone = train(&mut r, V1, b, Some(30.0));
    r.0.iter_mut().find(|x| x.record == gone).unwrap().deleted = true;
    // Another village's record that names b counts for nobody here.
    train(&mut r, V3, b, Some(30.0));
    let of = |who: Uuid| {
        let member = r.0.iter().find(|x| x.record == who).unwrap();
        let archives = person_archives(&p, member, &r.0);
        assert_eq!(archives.len(), 1, "one share over people in the plan");
        let a = &archives[0];
        assert_eq!(
            (a.indicator.id.as_str(), a.form.id.as_str()),
            ("trained", "training")
        );
        assert_eq!(a.sum_field.id, "hours");
        let ids: Vec<Uuid> = a.records.iter().map(|x| x.record).collect();
        (ids, a.total)
    };
    let total = |total: f64, need: f64| MemberTotal {
        total,
        required: Some(need),
    };
    assert_eq!(of(a), (vec![a1, a2], total(40.0, 40.0)));
    assert_eq!(of(b), (vec![b1, b2], total(12.5, 20.0)));
    assert_eq!(of(c), (vec![], total(0.0, 40.0)));
    assert!(of(a).1.met() && !of(b).1.met() && !of(c).1.met());
    let v1 = cell(&p, &t, &r.0, "trained", V1);
    assert_eq!((v1.num, v1.den), (Some(1.0), Some(3.0)));
    // A record of a form no share is over has no archive.
    let training = r.0.iter().find(|x| x.record == a1).unwrap();
    assert!(person_archives(&p, training, &r.0).is_empty());
}

#[test]
fn units_meeting_target_is_the_share_of_units_on_target() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    r.case(V1, true);
    r.case(V1, true);
    r.case(V2, true);
    r.case(V3, true);
    r.case(V3, true);
    r.case(V3, true);
    let a = cell(&p, &t, &r.0, "villages_on_target", TOWN_A);
    assert_eq!((a.num, a.den, a.value), (Some(1.0), Some(2.0), Some(50.0)));
    assert_eq!((a.target, a.met), (min(100.0), Some(false)));
    let b = cell(&p, &t, &r.0, "villages_on_target", TOWN_B);
    assert_eq!((b.value, b.met), (Some(100.0), Some(true)));
    // The county: the share of towns meeting their own target; no target is derived.
    let c = cell(&p, &t, &r.0, "villages_on_target", COUNTY);
    assert_eq!(
        (c.num, c.den, c.value, c.target),
        (Some(1.0), Some(2.0), Some(50.0), None)
    );
}

#[test]
fn deleted_records_are_ignored() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    r.case(V1, true);
    r.case(V1, true);
    r.add(
        V1,
        "facility",
        json!({"name": "中心", "area": 50, "households": 100}),
    );
    assert_eq!(cell(&p, &t, &r.0, "cases_ok", V1).value, Some(2.0));
    r.0[1].deleted = true;
    r.0[2].deleted = true;
    assert_eq!(cell(&p, &t, &r.0, "cases_ok", V1).value, Some(1.0));
    assert_eq!(cell(&p, &t, &r.0, "cases_ok", COUNTY).value, Some(1.0));
    assert_eq!(cell(&p, &t, &r.0, "area_per_100", V1).value, None);
}

#[test]
fn a_town_level_indicator_starts_at_the_town() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    r.add(TOWN_A, "audit", json!({"title": "2018年社区经费审计"}));
    let ro = Rollups::new(&p, &t, &r.0);
    let audits = p.indicator("audits").unwrap();
    assert!(
        ro.cell(audits, &area(&t, V1)).is_none(),
        "no village figure for a town indicator"
    );
    let a = ro.cell(audits, &area(&t, TOWN_A)).unwrap();
    assert_eq!((a.value, a.met), (Some(1.0), Some(true)));
    assert_eq!(ro.cell(audits, &area(&t, TOWN_B)).unwrap().met, Some(false));
    let c = ro.cell(audits, &area(&t, COUNTY)).unwrap();
    assert_eq!((c.value, c.target), (Some(1.0), min(2.0)));
}

#[test]
fn a_county_report_lists_its_towns_as_children() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    r.case(V1, true);
    let ro = Rollups::new(&p, &t, &r.0);
    let rep = ro.report(COUNTY).unwrap();
    assert_eq!(rep.plan, "test");
    assert_eq!(rep.unit.area.code, COUNTY);
    let kids: Vec<&str> = rep.children.iter().map(|u| u.area.code.as_str()).collect();
    assert_eq!(kids, [TOWN_A, TOWN_B]);
    // Every indicator has a cell at the county and at each town.
    let ids: Vec<&str> = rep
        .unit
        .cells
        .iter()
        .map(|c| c.indicator.as_str())
        .collect();
    let all: Vec<&str> = p.indicators.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, all);
    assert!(rep.children.iter().all(|u| u.cells.len() == all.len()));
    // A village report has no children and only the village-level indicators.
    let v = ro.report(V1).unwrap();
    assert!(v.children.is_empty());
    assert!(v.unit.cells.iter().all(|c| c.indicator != "audits"));
    assert!(ro.report("999999").is_none());
    // The report is plain JSON for the wire.
    let back: Report = serde_json::from_str(&serde_json::to_string(&rep).unwrap()).unwrap();
    assert_eq!(back, rep);
}

proptest! {
    /// Counts add up: the county's figure is the sum of its towns', which is the sum of every
    /// village's, whatever the records (deleted ones included, which count nowhere).
    #[test]
    fn counts_add_up_the_hierarchy(recs in proptest::collection::vec((0usize..3, any::<bool>(), any::<bool>()), 0..60)) {
        let (p, t) = (plan(), tree());
        let mut r = Records::default();
        for (v, ok, deleted) in &recs {
            r.case(VILLAGES[*v], *ok);
            r.0.last_mut().unwrap().deleted = *deleted;
        }
        let ro = Rollups::new(&p, &t, &r.0);
        for id in ["cases_ok", "cases"] {
            let ind = p.indicator(id).unwrap();
            let value = |code: &str| ro.cell(ind, &area(&t, code)).unwrap().value.unwrap();
            let villages: f64 = VILLAGES.iter().map(|v| value(v)).sum();
            let towns = value(TOWN_A) + value(TOWN_B);
            prop_assert_eq!(value(COUNTY), towns);
            prop_assert_eq!(towns, villages);
            let live = recs.iter().filter(|(_, ok, del)| !del && (*ok || id == "cases")).count();
            prop_assert_eq!(villages, live as f64);
        }
    }
}

/// The seeds work together: the areas file loads, and the 2018 plan rolls up over it.
#[test]
fn the_seed_plan_rolls_up_over_the_seed_areas() {
    let areas = crate::area::parse_areas_csv(
        include_str!("../../../seeds/fufeng-areas.csv"),
        &Default::default(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(areas.len(), 13);
    let t = AreaTree::new(areas);
    let p = Plan::parse(
        "plan-2018.toml",
        include_str!("../../../seeds/plan-2018.toml"),
    )
    .unwrap();
    let (feifeng, xiguan, jiangzhang) = ("610324001001", "610324001201", "610324103001");
    let mut r = Records::default();
    for (unit, step, feedback) in [
        (feifeng, "民事民评", true),
        (feifeng, "民事民评", true),
        (xiguan, "民事民评", false),
        (jiangzhang, "民事民办", true),
    ] {
        r.add(
            unit,
            "deliberation_case",
            json!({"forum": "村(居)民议事会", "topic": "议题", "feedback": feedback,
            "steps": {"state": step, "dates": {step: "2018-07-01"}}}),
        );
    }
    r.add(
        "610324103",
        "fund_audit",
        json!({"title": "2018年社区经费审计", "year": 2018, "date": "2018-12-01"}),
    );
    for rev in &r.0 {
        let form = p.form(&rev.form).unwrap();
        crate::record::validate_content(&p, form, &rev.content).unwrap_or_else(|e| panic!("{e:?}"));
    }
    let ro = Rollups::new(&p, &t, &r.0);
    let rep = ro.report("610324").unwrap();
    assert_eq!(rep.children.len(), 8);
    assert_eq!(rep.unit.cells.len(), p.indicators.len());
    let get =
        |u: &UnitReport, id: &str| u.cells.iter().find(|c| c.indicator == id).unwrap().clone();
    let chengguan = rep
        .children
        .iter()
        .find(|u| u.area.name == "城关街道")
        .unwrap();
    let c = get(chengguan, "deliberation_success");
    assert_eq!(c.value, Some(2.0));
    // Three seeded communities in 城关街道, 2–3 cases each.
    assert_eq!(
        c.target,
        Some(Target {
            min: Some(6.0),
            goal: Some(9.0),
            max: None
        })
    );
    // Towns without seeded villages have no villages to add targets up from.
    let tiandu = rep
        .children
        .iter()
        .find(|u| u.area.name == "天度镇")
        .unwrap();
    assert_eq!(get(tiandu, "deliberation_success").target, None);
    let audits = get(&rep.unit, "fund_audits");
    assert_eq!((audits.value, audits.target), (Some(1.0), min(8.0)));
}

/// Every form of the test plan, with every field the indicators read, from a few small numbers.
fn any_record(r: &mut Records, unit: usize, form: usize, a: u8, b: u8, deleted: bool) {
    let v = VILLAGES[unit];
    let staff: Vec<Uuid> =
        r.0.iter()
            .filter(|x| x.form == "staff")
            .map(|x| x.record)
            .collect();
    match form {
        0 => r.case(v, a.is_multiple_of(2)),
        1 => r.add(
            v,
            "staff",
            json!({"name": "张三", "role": if a.is_multiple_of(2) { "两委成员" } else { "其他工作人员" }}),
        ),
        2 => {
            let person = staff
                .get(a as usize % staff.len().max(1))
                .map(|p| p.to_string())
                .unwrap_or_default();
            r.add(
                v,
                "training",
                json!({"person": person, "course": "课", "hours": b as f64 / 3.0}),
            )
        }
        3 => r.add(
            v,
            "facility",
            json!({"name": "室", "area": a as f64 / 7.0, "households": b}),
        ),
        _ => r.add(
            [TOWN_A, TOWN_B][unit % 2],
            "audit",
            json!({"title": "审计"}),
        ),
    };
    r.0.last_mut().unwrap().deleted = deleted;
}

proptest! {
    /// A report rolled up from each unit's kept figures is the report rolled up from the records,
    /// for every shape of indicator, fractions included.
    #[test]
    fn kept_unit_figures_roll_up_as_the_records_do(
        recs in proptest::collection::vec((0usize..3, 0usize..5, any::<u8>(), any::<u8>(), any::<bool>()), 0..50)
    ) {
        let (p, t) = (plan(), tree());
        let mut r = Records::default();
        for (unit, form, a, b, deleted) in recs {
            any_record(&mut r, unit, form, a, b, deleted);
        }
        let mut kept = UnitFigures::new();
        for area in [V1, V2, V3, TOWN_A, TOWN_B].map(|c| area(&t, c)) {
            let own: Vec<Revision> = r.0.iter().filter(|x| x.unit.as_str() == area.code).cloned().collect();
            kept.insert(area.code.clone(), unit_figures(&p, area.level, &area.code, &own).into_iter().collect());
        }
        let from_records = Rollups::new(&p, &t, &r.0);
        let from_kept = Rollups::from_figures(&p, &t, &kept);
        for code in [COUNTY, TOWN_A, TOWN_B, V1, V2, V3] {
            prop_assert_eq!(from_kept.report(code), from_records.report(code));
        }
    }

    /// Units taken as known roll up as if they had been walked, whichever of them are known;
    /// a unit known with other figures than its parts' shows that it was not walked again.
    #[test]
    fn known_units_roll_up_as_walked_ones(
        recs in proptest::collection::vec((0usize..3, 0usize..5, any::<u8>(), any::<u8>(), any::<bool>()), 0..50),
        which in 1usize..4,
    ) {
        let (p, t) = (plan(), tree());
        let mut r = Records::default();
        for (unit, form, a, b, deleted) in recs {
            any_record(&mut r, unit, form, a, b, deleted);
        }
        let walked = Rollups::new(&p, &t, &r.0);
        let mut known = Known::new();
        for (i, town) in [TOWN_A, TOWN_B].into_iter().enumerate() {
            if which & (1 << i) != 0 {
                known.insert(town.to_owned(), walked.known_unit(&area(&t, town)).into());
            }
        }
        let from_known = Rollups::new(&p, &t, &r.0).with_known(&known);
        for code in [COUNTY, TOWN_A, TOWN_B] {
            prop_assert_eq!(from_known.report(code), walked.report(code));
        }
        let mut wrong = known.clone();
        let town = if which & 1 != 0 { TOWN_A } else { TOWN_B };
        let at = p.indicators.iter().position(|i| i.id == "cases").unwrap();
        std::sync::Arc::make_mut(wrong.get_mut(town).unwrap())[at] = Some((Figure::Number(1e6), None));
        let county = Rollups::new(&p, &t, &r.0).with_known(&wrong).report(COUNTY).unwrap();
        let cell = county.unit.cells.iter().find(|c| c.indicator == "cases").unwrap();
        prop_assert!(cell.value.unwrap() >= 1e6);
    }
}

/// Gives every record an id made at the start of one of `days` (days from 1 Dec 2017, so some
/// before the plan's year and some after), as a phone makes UUIDv7 ids, keeping the links.
fn stamp(r: &mut Records, days: &[u16]) {
    const DEC_2017_MS: u128 = 1_512_086_400_000;
    let ids: HashMap<Uuid, Uuid> =
        r.0.iter()
            .enumerate()
            .map(|(i, x)| {
                let ms = DEC_2017_MS + days[i % days.len()] as u128 * 86_400_000;
                let id = (ms << 80) | (0x7 << 76) | (0b10 << 62) | i as u128;
                (x.record, Uuid::from_u128(id))
            })
            .collect();
    for x in &mut r.0 {
        x.record = ids[&x.record];
        x.rev = x.record;
        if let Some(Value::String(p)) = x.content.get_mut("person") {
            if let Some(to) = Uuid::parse_str(p).ok().and_then(|p| ids.get(&p)) {
                *p = to.to_string();
            }
        }
    }
}

proptest! {
    /// As of the end of every month of the plan, a report rolled up from each unit's figures kept
    /// for that month is the report from the records counted by then; and now, from all of them.
    #[test]
    fn kept_month_figures_roll_up_as_the_records_do(
        recs in proptest::collection::vec((0usize..3, 0usize..5, any::<u8>(), any::<u8>(), any::<bool>()), 0..50),
        days in proptest::collection::vec(0u16..420, 1..20),
    ) {
        let (p, t) = (plan(), tree());
        let mut r = Records::default();
        for (unit, form, a, b, deleted) in recs {
            any_record(&mut r, unit, form, a, b, deleted);
        }
        stamp(&mut r, &days);
        let mut kept: BTreeMap<Month, UnitFigures> = BTreeMap::new();
        for area in [V1, V2, V3, TOWN_A, TOWN_B].map(|c| area(&t, c)) {
            let own: Vec<Revision> = r.0.iter().filter(|x| x.unit.as_str() == area.code).cloned().collect();
            for (month, ind, f) in unit_month_figures(&p, area.level, &area.code, &own) {
                kept.entry(month).or_default().entry(area.code.clone()).or_default().insert(ind, f);
            }
        }
        prop_assert_eq!(kept.keys().copied().collect::<Vec<_>>(), p.period().months());
        // Additive figures are the parts of their records added up, in any order (here the
        // reverse of the records'), from the figure of no records.
        for area in [V1, V2, V3, TOWN_A, TOWN_B].map(|c| area(&t, c)) {
            let inds: Vec<&Indicator> = p
                .indicators
                .iter()
                .filter(|i| i.level == area.level && additive(&p, i))
                .collect();
            let own: Vec<Revision> = r.0.iter().filter(|x| x.unit.as_str() == area.code).cloned().collect();
            let mut sums: Vec<Vec<(f64, f64)>> = inds.iter().map(|_| vec![(0.0, 0.0); p.period().months().len() + 1]).collect();
            for x in own.iter().rev() {
                for (i, parts) in record_parts(&p, &inds, x).into_iter().enumerate() {
                    for (m, (a, b)) in parts.into_iter().enumerate() {
                        sums[i][m].0 += a;
                        sums[i][m].1 += b;
                    }
                }
            }
            let figures = unit_figures_of(&p, &inds, &area.code, &own);
            for (k, (_, ind, f)) in figures.iter().enumerate() {
                let (i, m) = (k % inds.len(), k / inds.len());
                prop_assert_eq!(&inds[i].id, ind);
                let (a, b) = sums[i][m];
                let want = match *f {
                    Figure::Number(n) => (n, 0.0),
                    Figure::Ratio { num, den, .. } => (num, den),
                    Figure::Flag(_) => unreachable!("a flag is not additive"),
                };
                prop_assert_eq!((a, b), want, "{} {}", ind, m);
            }
        }
        for (month, kept) in &kept {
            let from_records = Rollups::new(&p, &t, &r.0).as_of(Some(*month));
            let from_kept = Rollups::from_figures(&p, &t, kept).as_of(Some(*month));
            for code in [COUNTY, TOWN_A, TOWN_B, V1, V2, V3] {
                prop_assert_eq!(from_kept.report(code), from_records.report(code), "{}", month);
            }
        }
    }
}

#[test]
fn as_of_a_month_counts_the_records_first_stored_by_its_end() {
    let (p, t) = (plan(), tree());
    let mut r = Records::default();
    for _ in 0..3 {
        r.case(V1, true);
    }
    // Made on 1 Dec 2017, 15 Mar 2018 and 20 Jan 2019.
    stamp(&mut r, &[0, 104, 415]);
    let cases = |m: Option<&str>| {
        let m = m.map(|m| Month::parse(m).unwrap());
        Rollups::new(&p, &t, &r.0)
            .as_of(m)
            .cell(p.indicator("cases").unwrap(), &area(&t, V1))
            .unwrap()
            .value
    };
    assert_eq!(cases(Some("2018-01")), Some(1.0));
    assert_eq!(cases(Some("2018-02")), Some(1.0));
    assert_eq!(cases(Some("2018-03")), Some(2.0));
    assert_eq!(cases(Some("2018-12")), Some(2.0));
    assert_eq!(cases(None), Some(3.0));
}

proptest! {
    /// The records that count toward a figure are its evidence: as many as a count's figure, and
    /// no record left out of them changes any figure when taken away, now or as of any month.
    #[test]
    fn the_records_that_count_toward_a_figure_are_all_it_depends_on(
        recs in proptest::collection::vec((0usize..3, 0usize..5, any::<u8>(), any::<u8>(), any::<bool>()), 0..30),
        days in proptest::collection::vec(0u16..420, 1..20),
    ) {
        let (p, t) = (plan(), tree());
        let mut r = Records::default();
        for (unit, form, a, b, deleted) in recs {
            any_record(&mut r, unit, form, a, b, deleted);
        }
        stamp(&mut r, &days);
        let months = std::iter::once(None).chain(p.period().months().into_iter().map(Some));
        for month in months {
            for area in [V1, V2, V3, TOWN_A, TOWN_B].map(|c| area(&t, c)) {
                let own: Vec<Revision> = r.0.iter().filter(|x| x.unit.as_str() == area.code).cloned().collect();
                for ind in p.indicators.iter().filter(|i| i.level == area.level) {
                    let figure = |rs: &[Revision]| {
                        Rollups::new(&p, &t, rs).as_of(month).figure(ind, &area).map(|f| f.0)
                    };
                    let counting = own.iter().filter(|x| counts_toward(&p, ind, x, month)).count();
                    if matches!(ind.measure, Measure::Count { .. }) {
                        prop_assert_eq!(figure(&own), Some(Figure::Number(counting as f64)), "{} {:?}", ind.id, month);
                    }
                    for (i, x) in own.iter().enumerate() {
                        if counts_toward(&p, ind, x, month) {
                            continue;
                        }
                        let mut without = own.clone();
                        without.remove(i);
                        prop_assert_eq!(figure(&without), figure(&own), "{} {:?} {:?}", ind.id, month, x.content);
                    }
                }
            }
        }
    }
}

#[test]
fn a_record_counts_toward_the_figures_whose_terms_take_it_in() {
    let p = plan();
    let mut r = Records::default();
    r.case(V1, true);
    r.case(V1, false);
    let staff = r.add(V1, "staff", json!({"name": "张三", "role": "两委成员"}));
    r.add(
        V1,
        "training",
        json!({"person": staff.to_string(), "course": "课", "hours": 8}),
    );
    let ind = |id: &str| p.indicator(id).unwrap();
    let counts = |id: &str| -> Vec<bool> {
        r.0.iter()
            .map(|x| counts_toward(&p, ind(id), x, None))
            .collect()
    };
    assert_eq!(counts("cases_ok"), [true, false, false, false]);
    assert_eq!(counts("cases"), [true, true, false, false]);
    assert_eq!(counts("trained"), [false, false, true, true]);
    let mut gone = r.0[0].clone();
    gone.deleted = true;
    assert!(!counts_toward(&p, ind("cases"), &gone, None));
}

#[test]
fn a_count_climbs_evenly_to_its_target_by_the_due_month_and_a_share_stands_at_it_from_then() {
    let plan = Plan::parse(
        "plan-2018.toml",
        include_str!("../../../seeds/plan-2018.toml"),
    )
    .unwrap();
    let months = plan.period().months();
    let at = |m: u8| Month::new(2018, m).unwrap();
    let target = Target {
        min: Some(7.0),
        ..Target::default()
    };
    // Due at the end of October: 7 reached in ten months, a tenth of it a month.
    let named = plan.indicator("named_projects_in_use").unwrap();
    assert_eq!(plan.due(named), Some(at(10)));
    let named_pace = pace(&plan, named, Some(&target), &months);
    assert_eq!(named_pace.len(), 12);
    assert!(
        (named_pace[0].unwrap() - 0.7).abs() < 1e-9,
        "{named_pace:?}"
    );
    assert!(
        (named_pace[4].unwrap() - 3.5).abs() < 1e-9,
        "{named_pace:?}"
    );
    assert_eq!(&named_pace[9..], [Some(7.0), Some(7.0), Some(7.0)]);
    // Without a due month, the plan's last: twelve even steps.
    let cases = plan.indicator("deliberation_success").unwrap();
    let two = Target {
        min: Some(2.0),
        goal: Some(3.0),
        max: None,
    };
    let pace_cases = pace(&plan, cases, Some(&two), &months);
    assert!(
        (pace_cases[5].unwrap() - 1.0).abs() < 1e-9,
        "{pace_cases:?}"
    );
    assert_eq!(pace_cases[11], Some(2.0));
    // A share has no pace before its due month, then stands at its target.
    let training = plan.indicator("staff_training_hours").unwrap();
    let hundred = Target {
        min: Some(100.0),
        ..Target::default()
    };
    let share = pace(&plan, training, Some(&hundred), &months);
    assert!(share[..11].iter().all(Option::is_none), "{share:?}");
    assert_eq!(share[11], Some(100.0));
    // Nothing to reach: no pace.
    assert!(pace(&plan, cases, None, &months)
        .iter()
        .all(Option::is_none));
    let ceiling = Target {
        max: Some(30.0),
        ..Target::default()
    };
    assert!(pace(&plan, cases, Some(&ceiling), &months)
        .iter()
        .all(Option::is_none));
}
