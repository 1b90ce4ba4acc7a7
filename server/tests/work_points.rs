//! The work points the notice asks for beyond cases and activities: 平安社区 (point 5), the
//! cleanup that lightens the communities' burden (减负, point 17), the towns' staff schemes and the
//! yearly appraisals (point 19) and the communities' funds (point 20). Each is pushed as a phone
//! pushes it, and its figures are read from the county report as a supervisor reads them; a value
//! the plan does not allow is refused on its field, with nothing of the batch taken.

mod common;

use common::{TestApp, VILLAGE, VILLAGE2};
use serde_json::{json, Value};
use shequ_model::rollup::Report;
use shequ_model::sync::{PushOutcome, PushResponse};
use shequ_model::Revision;

const COUNTY: &str = "610324";
const TOWN: &str = "610324001";
const OTHER_TOWN: &str = "610324103";
/// In the other town.
const FAR_VILLAGE: &str = "610324103001";

fn record(unit: &str, form: &str, content: Value) -> Revision {
    common::new_record(unit, form, content)
}

fn cleanup(unit: &str, kind: &str, item: &str, quantity: f64) -> Revision {
    record(
        unit,
        "burden_cut",
        json!({"item": item, "kind": kind, "department": "县综治办", "quantity": quantity, "date": "2018-05-10"}),
    )
}

fn funds(unit: &str, due: Option<f64>, received: f64, spent: f64) -> Revision {
    let mut c = json!({"title": "2018年社区工作经费", "kind": "社区工作经费", "received": received,
                       "received_on": "2018-03-01", "spent": spent});
    if let Some(due) = due {
        c["due"] = json!(due);
    }
    record(unit, "community_funds", c)
}

async fn push(app: &TestApp, who: &str, changes: Vec<Revision>) -> PushResponse {
    let resp = app
        .post_as(who, "/api/sync/push")
        .await
        .json(&json!({"device": "work-points-test", "changes": changes}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn county(app: &TestApp) -> Report {
    app.get_as("county", &format!("/api/report/{COUNTY}"))
        .await
        .json()
        .await
        .unwrap()
}

/// The figure of `indicator` for the county itself and for each town, by code.
fn figures(report: &Report, indicator: &str) -> Vec<(String, Option<f64>)> {
    std::iter::once(&report.unit)
        .chain(&report.children)
        .filter(|u| [COUNTY, TOWN, OTHER_TOWN].contains(&u.area.code.as_str()))
        .map(|u| {
            let cell = u.cells.iter().find(|c| c.indicator == indicator);
            let cell = cell.unwrap_or_else(|| panic!("{} has no {indicator}", u.area.code));
            (u.area.code.clone(), cell.value)
        })
        .collect()
}

fn of(code: &str, n: Option<f64>) -> (String, Option<f64>) {
    (code.to_owned(), n)
}

async fn the_county_report_shows_what_the_cleanup_took_off_the_communities(app: TestApp) {
    let near = [
        cleanup(VILLAGE, "撤除加挂牌子", "综治工作站牌子", 3.0),
        cleanup(VILLAGE, "撤除加挂牌子", "创建活动标牌", 2.0),
        cleanup(VILLAGE, "精简会议", "部门工作推进会", 6.0),
        cleanup(VILLAGE2, "精简工作台账", "重复报送的月报台账", 4.0),
    ];
    let far = [
        cleanup(FAR_VILLAGE, "撤除加挂牌子", "计生服务室牌子", 1.0),
        cleanup(FAR_VILLAGE, "清理协管人员", "临时协管员", 2.0),
    ];
    for (who, batch) in [(VILLAGE, &near[..3]), (VILLAGE2, &near[3..])] {
        let taken = push(&app, &format!("village-{who}"), batch.to_vec()).await;
        assert!(taken.results.iter().all(|r| r.outcome.acknowledged()));
    }
    push(&app, &format!("village-{FAR_VILLAGE}"), far.to_vec()).await;

    let report = county(&app).await;
    assert_eq!(
        figures(&report, "signboards_removed"),
        [
            of(COUNTY, Some(6.0)),
            of(TOWN, Some(5.0)),
            of(OTHER_TOWN, Some(1.0))
        ]
    );
    assert_eq!(
        figures(&report, "meetings_cut"),
        [
            of(COUNTY, Some(6.0)),
            of(TOWN, Some(6.0)),
            of(OTHER_TOWN, Some(0.0))
        ]
    );
    assert_eq!(
        figures(&report, "ledgers_cut"),
        [
            of(COUNTY, Some(4.0)),
            of(TOWN, Some(4.0)),
            of(OTHER_TOWN, Some(0.0))
        ]
    );
    assert_eq!(
        figures(&report, "assistants_cleared"),
        [
            of(COUNTY, Some(2.0)),
            of(TOWN, Some(0.0)),
            of(OTHER_TOWN, Some(2.0))
        ]
    );
    assert_eq!(
        figures(&report, "work_bodies_removed"),
        [
            of(COUNTY, Some(0.0)),
            of(TOWN, Some(0.0)),
            of(OTHER_TOWN, Some(0.0))
        ]
    );

    // Each 减负 figure is traced to its records, as any figure is.
    let traced: Value = app
        .get_as(
            "county",
            &format!("/api/records?unit={COUNTY}&indicator=signboards_removed"),
        )
        .await
        .json()
        .await
        .unwrap();
    let text = traced.to_string();
    for item in ["综治工作站牌子", "创建活动标牌", "计生服务室牌子"] {
        assert!(text.contains(item), "{item} is not among {text}");
    }
    assert!(!text.contains("部门工作推进会"), "{text}");
}

async fn a_cleanup_the_plan_does_not_allow_is_refused_on_its_field(app: TestApp) {
    let mut no_kind = cleanup(VILLAGE, "撤除加挂牌子", "牌子", 1.0);
    no_kind.content.insert("kind".into(), json!("撤掉一切"));
    let batch = vec![
        cleanup(VILLAGE, "撤除加挂牌子", "牌子", 0.0),
        cleanup(VILLAGE, "撤除加挂牌子", "牌子", 2.5),
        no_kind,
    ];
    let taken = push(&app, &format!("village-{VILLAGE}"), batch).await;
    for (r, field) in taken.results.iter().zip(["quantity", "quantity", "kind"]) {
        match &r.outcome {
            PushOutcome::Rejected { errors, .. } => {
                assert!(
                    errors.iter().any(|e| e.field == field),
                    "{errors:?} names no {field}"
                );
                assert!(errors.iter().all(|e| e
                    .message
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))));
            }
            o => panic!("taken: {o:?}"),
        }
    }
    let report = county(&app).await;
    assert_eq!(
        figures(&report, "signboards_removed")[0],
        of(COUNTY, Some(0.0))
    );
}

async fn the_towns_schemes_and_the_communities_funds_reach_the_county(app: TestApp) {
    let schemes = ["教育培养计划", "考核奖惩办法"].map(|kind| {
        record(
            TOWN,
            "staff_scheme",
            json!({"title": format!("城关街道社区工作人员{kind}"), "kind": kind, "issued_on": "2017-12-20"}),
        )
    });
    push(&app, &format!("town-{TOWN}"), schemes.to_vec()).await;
    let plan_only = record(
        OTHER_TOWN,
        "staff_scheme",
        json!({"title": "社区工作人员教育培养计划", "kind": "教育培养计划", "issued_on": "2018-02-01"}),
    );
    push(&app, &format!("town-{OTHER_TOWN}"), vec![plan_only]).await;
    // Due 50,000, in place 40,000 and 50,000 of 50,000; one without a due amount counts only
    // to the sums.
    push(
        &app,
        &format!("village-{VILLAGE}"),
        vec![
            funds(VILLAGE, Some(50_000.0), 40_000.0, 30_000.0),
            funds(VILLAGE, None, 8_000.0, 1_000.0),
        ],
    )
    .await;
    push(
        &app,
        &format!("village-{FAR_VILLAGE}"),
        vec![funds(FAR_VILLAGE, Some(50_000.0), 50_000.0, 20_000.0)],
    )
    .await;

    let report = county(&app).await;
    assert_eq!(
        figures(&report, "funds_in_place"),
        [
            of(COUNTY, Some(90.0)),
            of(TOWN, Some(80.0)),
            of(OTHER_TOWN, Some(100.0))
        ]
    );
    assert_eq!(
        figures(&report, "funds_received")[0],
        of(COUNTY, Some(98_000.0))
    );
    assert_eq!(
        figures(&report, "funds_spent")[0],
        of(COUNTY, Some(51_000.0))
    );
    // A town's yes/no; at the county, the share of its towns that made one.
    let towns = report.children.len() as f64;
    let share = |n: f64| Some(n / towns * 100.0);
    let training = figures(&report, "training_plan_made");
    let reward = figures(&report, "reward_scheme_made");
    assert_eq!(
        training[1..],
        [of(TOWN, Some(1.0)), of(OTHER_TOWN, Some(1.0))]
    );
    assert_eq!(
        reward[1..],
        [of(TOWN, Some(1.0)), of(OTHER_TOWN, Some(0.0))]
    );
    let near = |a: Option<f64>, b: Option<f64>| (a.unwrap() - b.unwrap()).abs() < 1e-9;
    assert!(near(training[0].1, share(2.0)), "{training:?}");
    assert!(near(reward[0].1, share(1.0)), "{reward:?}");
}

fn wish(unit: &str, what: &str, dates: &[(&str, &str)]) -> Revision {
    let state = dates.last().unwrap().0;
    let dates: serde_json::Map<String, Value> = dates
        .iter()
        .map(|(s, d)| (s.to_string(), json!(d)))
        .collect();
    record(
        unit,
        "micro_wish",
        json!({"wish": what, "resident": "李大娘", "status": {"state": state, "dates": dates}}),
    )
}

async fn the_county_reads_how_many_days_its_wishes_took_to_come_true(app: TestApp) {
    let done = |what, published, fulfilled| {
        wish(
            VILLAGE,
            what,
            &[
                ("收集", "2018-03-01"),
                ("发布", published),
                ("认领", published),
                ("完成", fulfilled),
            ],
        )
    };
    let claimed = wish(
        VILLAGE,
        "一副老花镜",
        &[
            ("收集", "2018-03-01"),
            ("发布", "2018-03-02"),
            ("认领", "2018-03-10"),
        ],
    );
    let me = format!("village-{VILLAGE}");
    // 10 days and 30 days; the wish only claimed counts in neither.
    push(
        &app,
        &me,
        vec![
            done("一台电暖器", "2018-03-05", "2018-03-15"),
            done("孩子的新书包", "2018-04-01", "2018-05-01"),
            claimed.clone(),
        ],
    )
    .await;
    let report = county(&app).await;
    assert_eq!(
        figures(&report, "micro_wish_days"),
        [
            of(COUNTY, Some(20.0)),
            of(TOWN, Some(20.0)),
            of(OTHER_TOWN, None)
        ]
    );
    // The claimed wish comes true 50 days after it was published, across a month's end: the
    // average moves by the edit alone.
    let mut edit = wish(
        VILLAGE,
        "一副老花镜",
        &[
            ("收集", "2018-03-01"),
            ("发布", "2018-03-02"),
            ("认领", "2018-03-10"),
            ("完成", "2018-04-21"),
        ],
    );
    edit.record = claimed.record;
    edit.parent = Some(claimed.rev);
    edit.clock = claimed.clock + 1;
    push(&app, &me, vec![edit]).await;
    let report = county(&app).await;
    assert_eq!(
        figures(&report, "micro_wish_days")[0],
        of(COUNTY, Some(30.0)),
        "(10 + 30 + 50) / 3"
    );
}

common::conformance!(
    the_county_reads_how_many_days_its_wishes_took_to_come_true,
    the_county_report_shows_what_the_cleanup_took_off_the_communities,
    a_cleanup_the_plan_does_not_allow_is_refused_on_its_field,
    the_towns_schemes_and_the_communities_funds_reach_the_county
);
