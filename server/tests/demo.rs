//! Demo mode on the whole of Fufeng: every town and village of the division file, a year of
//! records through the push path, towns' targets, rankings and months with something in them;
//! the same records on every fresh start, and none added on a restart.

mod common;

use common::{workspace, TestApp};
use serde_json::Value;
use shequ_model::rollup::{CellKind, MonthSeries, Report};
use shequ_model::sync::Checksum;
use shequ_model::Plan;

const COUNTY: &str = "610324";

async fn demo_county() -> TestApp {
    common::spawn_with(|s| {
        s.seed_areas = Some(workspace().join("seeds/fufeng-county.csv"));
        s.plans = Some(workspace().join("seeds"));
        s.demo_records = Some(workspace().join("seeds/demo/records.toml"));
    })
    .await
}

async fn json<T: serde::de::DeserializeOwned>(app: &TestApp, who: &str, path: &str) -> T {
    let resp = app.get_as(who, path).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

async fn checksum(app: &TestApp) -> Checksum {
    json(app, "county", &format!("/api/sync/checksum?scope={COUNTY}")).await
}

#[tokio::test]
async fn the_demo_is_the_whole_county_with_a_year_of_work() {
    let app = demo_county().await;
    for year in ["2018", "2019"] {
        a_year_of_work(&app, year).await;
    }
    // Some records were edited: a village's revisions outnumber its records.
    let village = "610324001201";
    let page: Value = json(
        &app,
        &format!("village-{village}"),
        &format!("/api/sync/pull?scope={village}&after=0&limit=1000"),
    )
    .await;
    let revisions = page["changes"].as_array().unwrap().len();
    let records: Checksum = json(
        &app,
        &format!("village-{village}"),
        &format!("/api/sync/checksum?scope={village}"),
    )
    .await;
    assert!(
        revisions as u64 > records.count && records.count > 10,
        "{revisions} revisions, {} records",
        records.count
    );
    assert!(
        page["changes"][0]["author"]
            .as_str()
            .unwrap()
            .contains("西官"),
        "{}",
        page["changes"][0]
    );
}

#[tokio::test]
async fn the_demo_makes_the_same_records_every_time_and_only_once() {
    let first = demo_county().await;
    let second = demo_county().await;
    let made = checksum(&first).await;
    assert!(made.count > 2000, "{} records", made.count);
    assert_eq!(
        checksum(&second).await,
        made,
        "the same records on a fresh database"
    );
    let restarted = common::restart(&first, |s| {
        s.seed_areas = Some(workspace().join("seeds/fufeng-county.csv"));
        s.demo_records = Some(workspace().join("seeds/demo/records.toml"));
    })
    .await;
    assert_eq!(checksum(&restarted).await, made, "a restart adds nothing");
}

/// One plan's year in the demo: every town and village, most at work, targets, rankings, months.
async fn a_year_of_work(app: &TestApp, year: &str) {
    let file = format!("plan-{year}.toml");
    let plan = Plan::parse(
        &file,
        &std::fs::read_to_string(workspace().join("seeds").join(&file)).unwrap(),
    )
    .unwrap();
    let county: Report = json(
        app,
        "county",
        &format!("/api/report/{COUNTY}?plan={}", plan.id),
    )
    .await;
    assert_eq!(county.children.len(), 8, "the county's eight towns");

    // Most villages have work recorded, in every town.
    let mut villages = 0;
    let mut working = 0;
    for town in &county.children {
        let code = &town.area.code;
        let report: Report = json(
            app,
            &format!("town-{code}"),
            &format!("/api/report/{code}?plan={}", plan.id),
        )
        .await;
        let with_work = report
            .children
            .iter()
            .filter(|v| {
                v.cells
                    .iter()
                    .any(|c| c.indicator == "deliberation_cases" && c.value.unwrap_or(0.0) > 0.0)
            })
            .count();
        assert!(
            with_work > 0,
            "{year}: {} has villages at work",
            town.area.name
        );
        villages += report.children.len();
        working += with_work;
    }
    assert_eq!(
        villages, 122,
        "every village and community of the division file"
    );
    assert!(
        working * 10 >= villages * 7,
        "{year}: {working} of {villages} villages at work"
    );

    // No town's number figure is left without a target.
    for town in &county.children {
        for cell in town.cells.iter().filter(|c| c.kind == CellKind::Number) {
            assert!(
                cell.target.is_some(),
                "{} {} has no target",
                town.area.name,
                cell.indicator
            );
        }
    }
    // The towns do not all score the same.
    let ranking = shequ_model::assessment::rank(&plan, &county).expect("the plan ranks towns");
    let mut totals: Vec<f64> = ranking.rows.iter().map(|r| r.total).collect();
    totals.dedup();
    assert!(totals.len() >= 4, "{totals:?}");

    // The work grows over the year.
    let months: MonthSeries = json(
        app,
        "county",
        &format!(
            "/api/report/{COUNTY}/months?indicator=deliberation_cases&plan={}",
            plan.id
        ),
    )
    .await;
    let by_month: Vec<f64> = months
        .unit
        .cells
        .iter()
        .map(|c| c.value.unwrap_or(0.0))
        .collect();
    assert_eq!(by_month.len(), 12);
    assert!(
        by_month[2] > 0.0 && by_month[5] > by_month[2] && by_month[11] > by_month[5],
        "{by_month:?}"
    );
}
