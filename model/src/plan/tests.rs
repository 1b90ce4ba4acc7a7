use super::*;
use std::collections::BTreeSet;

const SEED: &str = include_str!("../../../seeds/plan-2018.toml");

fn seed() -> Plan {
    Plan::parse("seeds/plan-2018.toml", SEED).unwrap_or_else(|e| panic!("{e}"))
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The forms an indicator reads.
fn forms_of(m: &Measure) -> Vec<&str> {
    match m {
        Measure::Count { form, .. } | Measure::Sum { form, .. } | Measure::Flag { form, .. } => {
            vec![form]
        }
        Measure::Ratio {
            numerator,
            denominator,
            ..
        } => vec![&numerator.form, &denominator.form],
        Measure::Share { form, linked, .. } => {
            let mut v = vec![form.as_str()];
            v.extend(linked.iter().map(|l| l.form.as_str()));
            v
        }
    }
}

#[test]
fn the_2018_seed_parses_and_validates() {
    let p = seed();
    assert_eq!(p.id, "fufeng-2018");
    assert_eq!(p.year, 2018);
    assert_eq!(p.source, "扶政民发〔2017〕94号");
    assert_eq!(p.county, "610324");
    assert!(has_chinese(&p.title));
}

#[test]
fn the_seed_has_every_form_of_the_2018_plan() {
    let p = seed();
    let want = [
        "staff",
        "deliberation_case",
        "consultation_item",
        "social_org",
        "volunteer",
        "volunteer_activity",
        "micro_wish",
        "training",
        "grid",
        "facility",
        "election",
        "demo_village",
        "charter_four",
        "supervision",
        "service_list",
        "convenience_activity",
        "publicity",
        "publicity_town",
        "fund_audit",
        "safe_community",
        "burden_cut",
        "staff_scheme",
        "staff_appraisal",
        "community_funds",
    ];
    for id in want {
        assert!(p.form(id).is_some(), "no form `{id}`");
    }
    let town: Vec<&str> = p
        .forms
        .iter()
        .filter(|f| f.level == Level::Town)
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(
        town,
        [
            "demo_village",
            "publicity_town",
            "fund_audit",
            "staff_scheme"
        ]
    );
}

/// The ids in backticks in one cell of a markdown table row.
fn ids_in(cell: &str) -> BTreeSet<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// seeds/README.md lists, for each of the notice's 21 work points, the forms and indicators that
/// record it, or says it is guidance: the list must be the plan's own `points`.
#[test]
fn the_seed_readme_lists_what_records_each_work_point() {
    let p = seed();
    let readme = include_str!("../../../seeds/README.md");
    let table = readme
        .split("### The 21 work points and what records them")
        .nth(1)
        .expect("seeds/README.md has the work point table");
    let mut listed = BTreeSet::new();
    for row in table.lines().skip_while(|l| !l.starts_with('|')) {
        if !row.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Ok(n) = cells[1].parse::<u32>() else {
            continue;
        };
        let forms: BTreeSet<&str> = p
            .forms
            .iter()
            .filter(|f| f.points.contains(&n))
            .map(|f| f.id.as_str())
            .collect();
        let indicators: BTreeSet<&str> = p
            .indicators
            .iter()
            .filter(|i| i.points.contains(&n))
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(ids_in(cells[3]), forms, "forms of work point {n}");
        assert_eq!(ids_in(cells[4]), indicators, "indicators of work point {n}");
        if forms.is_empty() && indicators.is_empty() {
            assert!(
                cells[3].starts_with("guidance"),
                "work point {n} records nothing and is not said to be guidance"
            );
        }
        assert!(listed.insert(n), "work point {n} listed twice");
    }
    assert_eq!(listed, (1..=21).collect(), "every work point is listed");
}

#[test]
fn every_form_and_indicator_of_the_seed_points_at_valid_things() {
    let p = seed();
    for f in &p.forms {
        assert!(is_id(&f.id), "{}", f.id);
        assert!(has_chinese(&f.name), "form {} needs a Chinese name", f.id);
        assert!(
            !f.points.is_empty() && f.points.iter().all(|n| (1..=21).contains(n)),
            "{}",
            f.id
        );
        assert_eq!(
            f.field(&f.title_field).map(|t| t.kind),
            Some(FieldKind::Text),
            "{}",
            f.id
        );
        for fld in &f.fields {
            assert!(is_id(&fld.id), "{}.{}", f.id, fld.id);
            assert!(
                has_chinese(&fld.label),
                "{}.{} needs a Chinese label",
                f.id,
                fld.id
            );
            if fld.kind == FieldKind::Person {
                assert_eq!(fld.register, "staff", "{}.{}", f.id, fld.id);
            }
            if fld.kind == FieldKind::Status {
                // Each state moves on to the next one only.
                let next: Vec<[String; 2]> = fld
                    .states
                    .windows(2)
                    .map(|w| [w[0].clone(), w[1].clone()])
                    .collect();
                assert_eq!(fld.transitions, next, "{}.{}", f.id, fld.id);
            }
        }
    }
    let mut names = BTreeSet::new();
    for ind in &p.indicators {
        assert!(is_id(&ind.id), "{}", ind.id);
        assert!(
            has_chinese(&ind.name),
            "indicator {} needs a Chinese name",
            ind.id
        );
        assert!(
            names.insert(ind.name.as_str()),
            "indicator name {} twice",
            ind.name
        );
        assert!(
            !ind.points.is_empty() && ind.points.iter().all(|n| (1..=21).contains(n)),
            "{}",
            ind.id
        );
        for form in forms_of(&ind.measure) {
            let f = p
                .form(form)
                .unwrap_or_else(|| panic!("{}: no form {form}", ind.id));
            assert_eq!(
                f.level, ind.level,
                "{}: form {form} is of another level",
                ind.id
            );
        }
        let t = &ind.targets;
        assert!(
            t.towns.is_empty(),
            "{}: the decomposition table is not in the notice",
            ind.id
        );
        if t.village.is_none() && t.town.is_none() && t.county.is_none() {
            assert!(
                !ind.note.is_empty(),
                "{}: an indicator without a target says why in a note",
                ind.id
            );
        }
        let in_days =
            matches!(&ind.measure, Measure::Ratio { numerator, .. } if numerator.days.is_some());
        if in_days {
            assert_eq!(ind.unit, "天", "{}: an average of days", ind.id);
        } else if matches!(ind.measure, Measure::Ratio { .. } | Measure::Share { .. })
            && ind.id != "indoor_area_per_100_households"
        {
            assert_eq!(ind.unit, "%", "{}", ind.id);
        }
    }
}

#[test]
fn the_seed_sets_the_notices_targets() {
    let p = seed();
    let t = |id: &str| {
        p.indicator(id)
            .unwrap_or_else(|| panic!("no indicator {id}"))
            .targets
            .clone()
    };
    let min = |x: f64| {
        Some(Target {
            min: Some(x),
            goal: None,
            max: None,
        })
    };
    let range = |a: f64, b: f64| {
        Some(Target {
            min: Some(a),
            goal: Some(b),
            max: None,
        })
    };

    let ds = p.indicator("deliberation_success").unwrap();
    assert_eq!(ds.name, "议事成功案例");
    assert_eq!(
        ds.targets,
        Targets {
            village: range(2.0, 3.0),
            ..Targets::default()
        }
    );
    let Measure::Count { form, filter } = &ds.measure else {
        panic!("{:?}", ds.measure)
    };
    assert_eq!(form, "deliberation_case");
    assert!(filter
        .iter()
        .any(|c| c.reached.as_deref() == Some("民事民评")));
    assert!(filter
        .iter()
        .any(|c| c.field == "feedback" && c.is == Some(Value::Bool(true))));

    assert_eq!(t("social_orgs_registered").village, range(10.0, 15.0));
    assert_eq!(t("professional_orgs_introduced").village, range(1.0, 3.0));
    assert_eq!(t("staff_training_hours").village, min(100.0));
    assert_eq!(t("indoor_area_per_100_households").village, min(30.0));
    assert_eq!(t("outdoor_area").village, min(1000.0));
    assert_eq!(
        t("work_space_share").village,
        Some(Target {
            max: Some(30.0),
            ..Target::default()
        })
    );
    assert_eq!(t("publicity_articles").village, min(2.0));
    for id in [
        "election_finished",
        "charter_four_coverage",
        "consultation_catalogue",
        "public_service_catalogue",
    ] {
        assert_eq!((t(id).town, t(id).county), (min(100.0), min(100.0)), "{id}");
    }
    for (id, town) in [
        ("demo_villages", range(1.0, 2.0)),
        ("publicity_articles_town", min(2.0)),
        ("fund_audits", min(1.0)),
    ] {
        assert_eq!(p.indicator(id).unwrap().level, Level::Town, "{id}");
        assert_eq!(
            t(id),
            Targets {
                town,
                ..Targets::default()
            },
            "{id}"
        );
    }
    for id in [
        "volunteer_activities",
        "volunteer_hours",
        "party_member_volunteer_share",
        "micro_wishes_collected",
        "micro_wishes_fulfilled",
        "grids_fully_staffed",
        "supervision_events",
        "five_small_activities",
    ] {
        assert_eq!(
            t(id),
            Targets::default(),
            "{id}: the notice gives no figure"
        );
    }

    let Measure::Share {
        form,
        linked: Some(l),
        ..
    } = &p.indicator("staff_training_hours").unwrap().measure
    else {
        panic!()
    };
    assert_eq!(
        (
            form.as_str(),
            l.form.as_str(),
            l.via.as_str(),
            l.sum.as_str()
        ),
        ("staff", "training", "person", "hours")
    );
    let at: Vec<f64> = l.thresholds.iter().map(|t| t.at_least).collect();
    assert_eq!(at, [40.0, 20.0]);
    assert_eq!(l.thresholds[0].when[0].is, Some(Value::from("两委成员")));
    assert!(l.thresholds[1].when.is_empty());

    let Measure::Flag { filter, .. } = &p
        .indicator("public_service_catalogue_complete")
        .unwrap()
        .measure
    else {
        panic!()
    };
    let domains: Vec<&str> = filter.iter().filter_map(|c| c.has.as_deref()).collect();
    assert_eq!(
        domains,
        [
            "劳动就业",
            "社会保障",
            "卫生计生",
            "教育事业",
            "社会服务",
            "住房保障",
            "文化体育",
            "公共安全",
            "公共法律服务",
            "调解仲裁"
        ]
    );
}

#[test]
fn the_seed_goes_to_json_and_back_unchanged() {
    let p = seed();
    let json = serde_json::to_string(&p).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    back.validate("json").unwrap();
}

const MANY_MISTAKES: &str = r#"
id = "test"
year = 2018
title = "错误示例"
county = "610324"

[[forms]]
id = "case"
name = "议事案例"
title_field = "topic"

[[forms.fields]]
id = "topic"
label = "议题"
kind = "text"
colour = "red"

[[forms.fields]]
id = "forum"
label = "形式"
kind = "choice"

[[forms.fields]]
id = "forum2"
label = "形式"
kind = "choice"
options = ["议事会", "听证会"]

[[forms.fields]]
id = "topic"
label = "议题"
kind = "text"

[[indicators]]
id = "a"
name = "未知表单"
measure = { shape = "count", form = "nosuch" }

[[indicators]]
id = "b"
name = "文字求和"
measure = { shape = "sum", form = "case", field = "topic" }

[[indicators]]
id = "c"
name = "不在选项中"
measure = { shape = "count", form = "case", filter = [{ field = "forum2", is = "茶话会" }] }

[[indicators]]
id = "c"
name = "重复"
measure = { shape = "count", form = "case" }

[[indicators]]
id = "d"
name = "镇级指标用村级表单"
level = "town"
measure = { shape = "count", form = "case" }

[[indicators]]
id = "e"
name = "分解表"
measure = { shape = "count", form = "case" }
[indicators.targets]
village = { min = 5, max = 1 }
towns = { "61032400" = { min = 1 }, "610324001" = { min = 2, size = 3 }, "6103240a1" = { min = 1 }, "610325001" = { min = 1 } }
"#;

#[test]
fn every_mistake_is_reported_with_its_path_at_once() {
    let errors = Plan::parse("bad.toml", MANY_MISTAKES).unwrap_err().0;
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect();
    let want: &[(&str, &str)] = &[
        (
            "forms[0] (case).fields[0] (topic).colour",
            "unknown key `colour`",
        ),
        (
            "indicators[5] (e).targets.towns.610324001.size",
            "unknown key `size`",
        ),
        (
            "forms[0] (case).fields[1] (forum).options",
            "at least one option is needed",
        ),
        (
            "forms[0] (case).fields[3] (topic)",
            "field id `topic` is used twice",
        ),
        ("indicators[0] (a).measure.form", "no form `nosuch`"),
        (
            "indicators[1] (b).measure.field",
            "field `topic` is not a number",
        ),
        (
            "indicators[2] (c).measure.filter[0]",
            "\"茶话会\" is not a possible value of `forum2`",
        ),
        ("indicators[3] (c)", "indicator id `c` is used twice"),
        (
            "indicators[4] (d).measure.form",
            "form `case` is recorded per village, the indicator is measured per town",
        ),
        ("indicators[5] (e).targets.village", "min 5 is above max 1"),
        (
            "indicators[5] (e).targets.towns.61032400",
            "`61032400` is not a town code of county 610324",
        ),
        (
            "indicators[5] (e).targets.towns.6103240a1",
            "`6103240a1` is not a town code of county 610324",
        ),
        (
            "indicators[5] (e).targets.towns.610325001",
            "`610325001` is not a town code of county 610324",
        ),
    ];
    for (path, msg) in want {
        assert!(
            got.iter().any(|(p, m)| p == path && m.contains(msg)),
            "missing `{path}: {msg}` in\n{}",
            PlanErrors(errors.clone())
        );
    }
    assert_eq!(got.len(), want.len(), "{}", PlanErrors(errors.clone()));
    assert!(errors.iter().all(|e| e.file == "bad.toml"));
    // The whole report names every problem, one a line.
    let text = PlanErrors(errors.clone()).to_string();
    assert!(
        text.starts_with(&format!("the plan has {} error(s):", want.len())),
        "{text}"
    );
    assert!(
        text.contains("bad.toml: indicators[0] (a).measure.form: no form `nosuch`"),
        "{text}"
    );
}

#[test]
fn a_plan_with_only_an_unknown_key_still_reports_its_line_free_path() {
    let text = SEED.replacen(
        "county = \"610324\"",
        "county = \"610324\"\nprovince = \"61\"",
        1,
    );
    let e = Plan::parse("p.toml", &text).unwrap_err().0;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "province");
}

#[test]
fn a_toml_syntax_error_is_reported_with_its_line() {
    let text = "id = \"x\"\nyear = 2018\ntitle = \"没有结束的引号\ncounty = \"610324\"\n";
    let e = Plan::parse("broken.toml", text).unwrap_err().0;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].file, "broken.toml");
    assert_eq!(e[0].path, "line 3");

    // In the seed: a broken line far down is found by its number.
    let mut lines: Vec<&str> = SEED.lines().collect();
    let n = lines
        .iter()
        .position(|l| l.starts_with("[[indicators]]"))
        .unwrap();
    lines.insert(n, "shape = = \"count\"");
    let e = Plan::parse("seed.toml", &lines.join("\n")).unwrap_err().0;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, format!("line {}", n + 1));
}

#[test]
fn a_wrong_type_is_reported_with_its_line() {
    let text = "id = \"x\"\nyear = \"2018\"\ntitle = \"t\"\ncounty = \"610324\"\nforms = []\nindicators = []\n";
    let e = Plan::parse("t.toml", text).unwrap_err().0;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "line 2");
}

/// The key lists that find unknown keys agree with the serde types: a value with every optional
/// part set serializes to exactly the listed keys.
#[test]
fn the_unknown_key_lists_match_the_types() {
    fn keys<T: Serialize>(x: &T) -> BTreeSet<String> {
        serde_json::to_value(x)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }
    fn listed(node: Node, shape: Option<&str>) -> BTreeSet<String> {
        let mut t = toml::Table::new();
        if let Some(s) = shape {
            t.insert("shape".into(), toml::Value::String(s.into()));
        }
        node.keys(&t)
            .unwrap()
            .iter()
            .map(|(k, _)| k.to_string())
            .collect()
    }
    let cond = Condition {
        field: "f".into(),
        is: Some(Value::Bool(true)),
        any_of: Some(vec![]),
        has: Some("x".into()),
        at_least: Some(1.0),
        reached: Some("s".into()),
    };
    let target = Target {
        min: Some(1.0),
        goal: Some(2.0),
        max: Some(3.0),
    };
    let days = crate::plan::Days {
        field: "s".into(),
        from: "a".into(),
        to: "b".into(),
    };
    let term = Term {
        form: "f".into(),
        field: Some("n".into()),
        days: Some(days.clone()),
        filter: vec![cond.clone()],
    };
    let threshold = Threshold {
        when: vec![cond.clone()],
        at_least: 1.0,
    };
    let linked = Linked {
        form: "f".into(),
        via: "p".into(),
        sum: "n".into(),
        thresholds: vec![threshold.clone()],
    };
    let targets = Targets {
        village: Some(target),
        town: Some(target),
        county: Some(target),
        towns: [("610324001".to_string(), target)].into(),
    };
    let field = Field {
        id: "f".into(),
        label: "l".into(),
        kind: FieldKind::Number,
        required: true,
        help: "h".into(),
        unit: "u".into(),
        min: Some(0.0),
        max: Some(1.0),
        integer: true,
        max_len: Some(1),
        options: vec!["o".into()],
        register: "r".into(),
        states: vec!["s".into()],
        transitions: vec![["s".into(), "s".into()]],
        dated: true,
        allow_earlier: true,
    };
    let checks = [
        (
            "dates_in_order",
            Check::DatesInOrder {
                fields: vec!["f".into()],
            },
        ),
        (
            "total",
            Check::Total {
                total: "f".into(),
                parts: vec!["f".into()],
            },
        ),
    ];
    let wall = Wall {
        shown: vec!["f".into()],
        status: "s".into(),
        from: "s".into(),
        taken: "s".into(),
        helper: "f".into(),
        helper_kind: Some("f".into()),
        submit: vec!["f".into()],
    };
    let form = Form {
        id: "f".into(),
        name: "n".into(),
        points: vec![1],
        level: Level::Village,
        title_field: "f".into(),
        fields: vec![field.clone()],
        checks: vec![checks[0].1.clone()],
        wall: Some(wall.clone()),
    };
    let period = Period {
        from: "2018-01-01".into(),
        to: "2018-12-31".into(),
    };
    let measures = [
        (
            "count",
            Measure::Count {
                form: "f".into(),
                filter: vec![cond.clone()],
            },
        ),
        (
            "flag",
            Measure::Flag {
                form: "f".into(),
                filter: vec![cond.clone()],
            },
        ),
        (
            "sum",
            Measure::Sum {
                form: "f".into(),
                field: "n".into(),
                filter: vec![cond.clone()],
            },
        ),
        (
            "ratio",
            Measure::Ratio {
                numerator: term.clone(),
                denominator: term.clone(),
                scale: 1.0,
            },
        ),
        (
            "share",
            Measure::Share {
                form: "f".into(),
                filter: vec![cond.clone()],
                meets: vec![cond.clone()],
                linked: Some(linked.clone()),
            },
        ),
    ];
    let indicator = Indicator {
        id: "i".into(),
        name: "n".into(),
        points: vec![1],
        unit: "u".into(),
        level: Level::Village,
        measure: measures[0].1.clone(),
        rollup: Rollup::Sum,
        targets: targets.clone(),
        note: "n".into(),
        headline: true,
        due: Some("2018-10".into()),
    };
    let item = crate::assessment::Item {
        id: "i".into(),
        name: "n".into(),
        indicator: "i".into(),
        points: 1.0,
        rule: crate::assessment::Rule::Each,
        per: Some(1.0),
    };
    let assessment = crate::assessment::Assessment {
        name: "n".into(),
        note: "n".into(),
        items: vec![item.clone()],
    };
    let plan = Plan {
        id: PlanId::parse("p").unwrap(),
        year: 2018,
        title: "t".into(),
        source: "s".into(),
        county: "610324".into(),
        period: Some(period.clone()),
        forms: vec![form.clone()],
        indicators: vec![indicator.clone()],
        assessment: Some(assessment.clone()),
    };
    assert_eq!(keys(&plan), listed(Node::Plan, None));
    assert_eq!(keys(&form), listed(Node::Form, None));
    assert_eq!(keys(&field), listed(Node::Field, None));
    assert_eq!(keys(&indicator), listed(Node::Indicator, None));
    assert_eq!(keys(&cond), listed(Node::Condition, None));
    assert_eq!(keys(&term), listed(Node::Term, None));
    assert_eq!(keys(&days), listed(Node::Days, None));
    assert_eq!(keys(&linked), listed(Node::Linked, None));
    assert_eq!(keys(&threshold), listed(Node::Threshold, None));
    assert_eq!(keys(&targets), listed(Node::Targets, None));
    assert_eq!(keys(&target), listed(Node::Target, None));
    assert_eq!(keys(&assessment), listed(Node::Assessment, None));
    assert_eq!(keys(&item), listed(Node::AssessmentItem, None));
    assert_eq!(keys(&wall), listed(Node::Wall, None));
    for (shape, m) in &measures {
        assert_eq!(keys(m), listed(Node::Measure, Some(shape)), "{shape}");
    }
    assert_eq!(keys(&period), listed(Node::Period, None));
    for (name, c) in &checks {
        let mut t = toml::Table::new();
        t.insert("check".into(), toml::Value::String(name.to_string()));
        let listed: BTreeSet<String> = Node::Check
            .keys(&t)
            .unwrap()
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(keys(c), listed, "{name}");
    }
}

#[test]
fn the_seed_declares_the_notices_cross_field_rules() {
    let p = seed();
    let checks = |form: &str| p.form(form).unwrap().checks.clone();
    let in_order = |field: &str| Check::DatesInOrder {
        fields: vec![field.into()],
    };
    assert_eq!(checks("deliberation_case"), [in_order("steps")]);
    assert_eq!(checks("micro_wish"), [in_order("status")]);
    assert_eq!(checks("consultation_item"), [in_order("status")]);
    assert_eq!(
        checks("facility"),
        [Check::Total {
            total: "indoor_area".into(),
            parts: vec!["work_area".into(), "resident_area".into()]
        }]
    );
    // Its dates lie in 2018, but for the registers' and the facilities' own dates.
    assert_eq!(
        p.period(),
        Period {
            from: "2018-01-01".into(),
            to: "2018-12-31".into()
        }
    );
    let earlier: BTreeSet<(&str, &str)> = p
        .forms
        .iter()
        .flat_map(|f| {
            f.fields
                .iter()
                .filter(|x| x.allow_earlier)
                .map(move |x| (f.id.as_str(), x.id.as_str()))
        })
        .collect();
    assert_eq!(
        earlier,
        [
            ("facility", "in_use_date"),
            ("safe_community", "date"),
            ("social_org", "filed_on"),
            ("staff_scheme", "issued_on"),
            ("volunteer", "joined_on")
        ]
        .into()
    );
}

const BAD_CHECKS: &str = r#"
id = "test"
year = 2018
title = "检查规则错误示例"
county = "610324"
period = { from = "2018-12-31", to = "2018-02-30" }
indicators = []

[[forms]]
id = "f"
name = "表"
title_field = "t"

[[forms.fields]]
id = "t"
label = "名称"
kind = "text"
allow_earlier = true

[[forms.fields]]
id = "d"
label = "日期"
kind = "date"

[[forms.fields]]
id = "n"
label = "数"
kind = "number"
max = inf

[[forms.checks]]
check = "dates_in_order"
fields = ["d", "t", "nosuch", "d"]

[[forms.checks]]
check = "dates_in_order"
fields = ["d"]

[[forms.checks]]
check = "total"
total = "t"
parts = ["n"]

[[forms.checks]]
check = "total"
total = "n"
parts = ["n", "d"]
"#;

#[test]
fn cross_field_checks_are_validated_with_their_paths() {
    let errors = Plan::parse("bad.toml", BAD_CHECKS).unwrap_err().0;
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect();
    let want: &[(&str, &str)] = &[
        ("period.to", "`2018-02-30` is not a date"),
        ("period", "from 2018-12-31 is after to 2018-02-30"),
        (
            "forms[0] (f).fields[0] (t).allow_earlier",
            "a Text field takes no `allow_earlier`",
        ),
        ("forms[0] (f).fields[2] (n).max", "must be a number between"),
        (
            "forms[0] (f).checks[0].fields[1]",
            "field `t` is not a date or a status",
        ),
        (
            "forms[0] (f).checks[0].fields[2]",
            "form `f` has no field `nosuch`",
        ),
        (
            "forms[0] (f).checks[0].fields[3]",
            "field `d` is named twice",
        ),
        (
            "forms[0] (f).checks[1].fields",
            "give two or more dates, or one status field",
        ),
        ("forms[0] (f).checks[2].total", "field `t` is not a number"),
        (
            "forms[0] (f).checks[2].parts",
            "a total needs two or more parts",
        ),
        (
            "forms[0] (f).checks[3].parts[1]",
            "field `d` is not a number",
        ),
        (
            "forms[0] (f).checks[3].parts",
            "`n` cannot be a part of itself",
        ),
    ];
    for (path, msg) in want {
        assert!(
            got.iter().any(|(p, m)| p == path && m.contains(msg)),
            "missing `{path}: {msg}` in\n{}",
            PlanErrors(errors.clone())
        );
    }
    assert_eq!(got.len(), want.len(), "{}", PlanErrors(errors.clone()));
}

#[test]
fn an_unknown_key_of_a_check_is_reported_with_its_path() {
    let text = SEED.replacen("check = \"total\"", "check = \"total\"\ntolerance = 0.1", 1);
    let e = Plan::parse("p.toml", &text).unwrap_err().0;
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "forms[10] (facility).checks[0].tolerance");
    let text = SEED.replacen("check = \"total\"", "check = \"average\"", 1);
    assert!(Plan::parse("p.toml", &text).is_err());
}

const SEED_2019: &str = include_str!("../../../seeds/plan-2019.toml");

fn seed_2019() -> Plan {
    Plan::parse("seeds/plan-2019.toml", SEED_2019).unwrap_or_else(|e| panic!("{e}"))
}

fn form_ids(p: &Plan) -> BTreeSet<&str> {
    p.forms.iter().map(|f| f.id.as_str()).collect()
}

#[test]
fn the_2019_seed_follows_the_2018_one_with_one_form_added_one_removed_and_one_field_changed() {
    let (y2018, y2019) = (seed(), seed_2019());
    assert_eq!(
        (y2018.id.as_str(), y2019.id.as_str()),
        ("fufeng-2018", "fufeng-2019")
    );
    assert_eq!(y2019.year, y2018.year + 1);
    let (old, new) = (form_ids(&y2018), form_ids(&y2019));
    assert_eq!(old.difference(&new).count(), 1, "one form removed");
    assert_eq!(new.difference(&old).count(), 1, "one form added");
    let changed: Vec<_> = y2018
        .forms
        .iter()
        .filter_map(|f| Some((f, y2019.form(&f.id)?)))
        .flat_map(|(a, b)| a.fields.iter().zip(&b.fields).filter(|(x, y)| x != y))
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    let raised = y2018
        .indicators
        .iter()
        .filter_map(|i| Some((i, y2019.indicator(&i.id)?)))
        .filter(|(a, b)| {
            let min = |i: &Indicator| i.targets.village.as_ref().and_then(|t| t.min);
            min(b) > min(a)
        })
        .count();
    assert!(raised >= 2, "{raised} targets raised");
    for p in [&y2018, &y2019] {
        let first: Vec<_> = p.headline_indicators().map(|i| i.id.as_str()).collect();
        assert_eq!(first, ["deliberation_success"], "{}", p.id);
    }
}

#[test]
fn the_latest_plan_is_current_unless_another_is_named() {
    let plans = Plans::new(vec![seed_2019(), seed()], None).unwrap();
    assert_eq!(plans.current().id, "fufeng-2019");
    let years: Vec<i32> = plans.iter().map(|p| p.year).collect();
    assert_eq!(years, [2018, 2019]);
    let listed = plans.summaries();
    assert_eq!(
        listed
            .iter()
            .map(|s| (s.id.as_str(), s.current))
            .collect::<Vec<_>>(),
        [("fufeng-2018", false), ("fufeng-2019", true)]
    );
    assert_eq!(listed[1].period.from, "2019-01-01");

    let y2018 = PlanId::parse("fufeng-2018").unwrap();
    let plans = Plans::new(vec![seed(), seed_2019()], Some(&y2018)).unwrap();
    assert_eq!(plans.current().id, y2018);
    assert!(plans.get(&PlanId::parse("fufeng-2019").unwrap()).is_some());
    assert!(plans.get(&PlanId::parse("fufeng-2020").unwrap()).is_none());

    let missing = PlanId::parse("fufeng-2020").unwrap();
    assert!(Plans::new(vec![seed()], Some(&missing)).is_err());
    assert!(Plans::new(vec![seed(), seed()], None).is_err());
    assert!(Plans::new(vec![], None).is_err());
}

#[test]
fn plan_ids_are_short_lowercase_words() {
    for good in ["fufeng-2018", "a", "p.2019_v2"] {
        assert!(PlanId::parse(good).is_ok(), "{good}");
    }
    let long = "a".repeat(MAX_PLAN_ID_LEN + 1);
    for bad in ["", "Fufeng", "扶风2018", "a b", "a/b", long.as_str()] {
        assert!(PlanId::parse(bad).is_err(), "{bad}");
    }
    let no_id = SEED.replacen("id = \"fufeng-2018\"", "id = \"\"", 1);
    let e = Plan::parse("p.toml", &no_id).unwrap_err();
    assert!(e.0.iter().any(|e| e.path == "id"), "{e}");
}

#[test]
fn a_plan_covers_at_most_sixty_months() {
    let plan = |to: &str| {
        Plan::parse(
            "p.toml",
            &BAD_CHECKS.replace(
                r#"period = { from = "2018-12-31", to = "2018-02-30" }"#,
                &format!(r#"period = {{ from = "2018-01-01", to = "{to}" }}"#),
            ),
        )
        .unwrap_err()
        .0
        .iter()
        .any(|e| e.path == "period")
    };
    assert!(!plan("2022-12-31"));
    assert!(plan("2023-01-01"));
}

#[test]
fn counts_and_sums_of_whole_fields_take_whole_targets() {
    let plan = seed();
    let mut seen = [false; 3];
    for ind in &plan.indicators {
        let whole = plan.counts_whole(ind);
        match &ind.measure {
            Measure::Count { .. } | Measure::Flag { .. } => {
                assert!(whole, "{}", ind.id);
                seen[0] = true;
            }
            Measure::Sum { form, field, .. } => {
                let f = plan.form(form).unwrap().field(field).unwrap();
                assert_eq!(whole, f.integer, "{}", ind.id);
                seen[1] = true;
            }
            Measure::Ratio { .. } | Measure::Share { .. } => {
                assert!(!whole, "{}", ind.id);
                seen[2] = true;
            }
        }
    }
    assert_eq!(seen, [true; 3], "the seed has every kind");
}

#[test]
fn every_measure_shape_reads_back_what_it_writes_and_refuses_another_shapes_fields() {
    let cond = || Condition {
        field: "f".into(),
        is: Some(Value::Bool(true)),
        any_of: None,
        has: None,
        at_least: None,
        reached: None,
    };
    let term = |field: Option<&str>| Term {
        form: "f".into(),
        field: field.map(Into::into),
        days: None,
        filter: vec![cond()],
    };
    let shapes = [
        Measure::Count {
            form: "f".into(),
            filter: vec![],
        },
        Measure::Count {
            form: "f".into(),
            filter: vec![cond()],
        },
        Measure::Sum {
            form: "f".into(),
            field: "n".into(),
            filter: vec![cond()],
        },
        Measure::Ratio {
            numerator: term(None),
            denominator: term(Some("n")),
            scale: 100.0,
        },
        Measure::Share {
            form: "f".into(),
            filter: vec![],
            meets: vec![cond()],
            linked: None,
        },
        Measure::Share {
            form: "f".into(),
            filter: vec![cond()],
            meets: vec![],
            linked: Some(Linked {
                form: "t".into(),
                via: "p".into(),
                sum: "h".into(),
                thresholds: vec![Threshold {
                    when: vec![],
                    at_least: 2.0,
                }],
            }),
        },
        Measure::Flag {
            form: "f".into(),
            filter: vec![cond()],
        },
    ];
    for m in shapes {
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(
            serde_json::from_value::<Measure>(json.clone()).unwrap(),
            m,
            "{json}"
        );
    }
    let read =
        |v: serde_json::Value| serde_json::from_value::<Measure>(v).map_err(|e| e.to_string());
    assert_eq!(
        read(
            serde_json::json!({"shape": "ratio", "numerator": {"form": "f"}, "denominator": {"form": "g"}})
        ),
        Ok(Measure::Ratio {
            numerator: Term {
                form: "f".into(),
                field: None,
                days: None,
                filter: vec![]
            },
            denominator: Term {
                form: "g".into(),
                field: None,
                days: None,
                filter: vec![]
            },
            scale: 1.0,
        }),
        "a ratio's scale is 1 unless given"
    );
    let refused =
        read(serde_json::json!({"shape": "count", "form": "f", "field": "n"})).unwrap_err();
    assert!(
        refused.contains("`field`") && refused.contains("`count`"),
        "{refused}"
    );
    let refused = read(serde_json::json!({"shape": "sum", "form": "f"})).unwrap_err();
    assert!(refused.contains("missing field `field`"), "{refused}");
    let refused =
        read(serde_json::json!({"shape": "count", "form": "f", "colour": "red"})).unwrap_err();
    assert!(refused.contains("colour"), "{refused}");
    let refused = read(serde_json::json!({"shape": "mean", "form": "f"})).unwrap_err();
    assert!(refused.contains("mean"), "{refused}");
}

#[test]
fn every_check_reads_back_what_it_writes_and_refuses_another_checks_fields() {
    for c in [
        Check::DatesInOrder {
            fields: vec!["a".into(), "b".into()],
        },
        Check::Total {
            total: "t".into(),
            parts: vec!["a".into(), "b".into()],
        },
    ] {
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            serde_json::from_value::<Check>(json.clone()).unwrap(),
            c,
            "{json}"
        );
    }
    let read = |v: serde_json::Value| serde_json::from_value::<Check>(v).map_err(|e| e.to_string());
    let refused = read(serde_json::json!({"check": "dates_in_order", "fields": [], "total": "t"}))
        .unwrap_err();
    assert!(
        refused.contains("`total`") && refused.contains("`dates_in_order`"),
        "{refused}"
    );
    let refused = read(serde_json::json!({"check": "total", "total": "t"})).unwrap_err();
    assert!(refused.contains("missing field `parts`"), "{refused}");
    assert!(read(serde_json::json!({"check": "sorted", "fields": []})).is_err());
}

#[test]
fn days_are_counted_between_two_states_of_a_dated_status_in_their_order() {
    let days = "days = { field = \"status\", from = \"发布\", to = \"完成\" }";
    let with = |replacement: &str| {
        let text = SEED.replacen(days, replacement, 1);
        assert_ne!(text, SEED, "the seed counts days");
        Plan::parse("p.toml", &text).unwrap_err().0
    };
    let e = with("days = { field = \"status\", from = \"完成\", to = \"发布\" }");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].path.ends_with("numerator.days"), "{e:?}");
    assert!(e[0].message.contains("comes after"), "{e:?}");
    let e = with("days = { field = \"wish\", from = \"发布\", to = \"完成\" }");
    assert!(e[0].message.contains("not a dated status"), "{e:?}");
    let e = with("days = { field = \"status\", from = \"发布\", to = \"结束\" }");
    assert!(e[0].message.contains("must be states"), "{e:?}");
    let e =
        with("field = \"claimant\"\ndays = { field = \"status\", from = \"发布\", to = \"完成\" }");
    assert!(e.iter().any(|e| e.message.contains("not both")), "{e:?}");
}
