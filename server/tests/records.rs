//! Records read a page at a time (`GET /api/records`), as a county's phone reads them instead of
//! keeping the county: newest first, every live record once across the pages, within the
//! caller's scope and the plan asked for.

mod common;

use common::{case, restart, workspace, TestApp, VILLAGE, VILLAGE2};
use serde_json::{json, Value};
use shequ_model::listing::{RecordPage, MAX_RECORD_PAGE, RECORD_PAGE};
use shequ_model::plan::PlanId;
use shequ_model::sync::{PushOutcome, PushResponse};
use shequ_model::Revision;
use uuid::Uuid;

const COUNTY: &str = "610324";
const TOWN: &str = "610324001";
const OTHER_TOWN_VILLAGE: &str = "610324103001";

/// Pushes as the worker of the first change's village; every change is stored.
async fn push(app: &TestApp, changes: &[Revision]) {
    let unit = changes[0].unit.to_string();
    let resp = app
        .post_as(&format!("village-{unit}"), "/api/sync/push")
        .await
        .json(&json!({"device": "test-device", "changes": changes}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: PushResponse = resp.json().await.unwrap();
    for r in answer.results {
        assert!(
            matches!(r.outcome, PushOutcome::Stored { .. }),
            "{:?}",
            r.outcome
        );
    }
}

async fn page(app: &TestApp, who: &str, query: &str) -> RecordPage {
    let resp = app.get_as(who, &format!("/api/records?{query}")).await;
    assert_eq!(resp.status(), 200, "{query}");
    resp.json().await.unwrap()
}

/// Every page of a listing, `limit` at a time: the records' ids in the order given.
async fn every_page(app: &TestApp, who: &str, query: &str, limit: u32) -> Vec<Uuid> {
    let mut got = Vec::new();
    let mut before = String::new();
    loop {
        let p = page(app, who, &format!("{query}&limit={limit}{before}")).await;
        assert!(p.records.len() <= limit as usize);
        got.extend(p.records.iter().map(|r| r.record));
        match p.next {
            Some(next) => {
                assert_eq!(
                    p.records.len(),
                    limit as usize,
                    "only the last page is short"
                );
                before = format!("&before={next}");
            }
            None => return got,
        }
    }
}

fn edit(of: &Revision, topic: &str) -> Revision {
    let mut r = of.clone();
    r.rev = Uuid::now_v7();
    r.parent = Some(of.rev);
    r.clock = of.clock + 1;
    r.content.insert("topic".into(), json!(topic));
    r
}

async fn pages_run_newest_first_with_every_live_record_once(app: TestApp) {
    let mine: Vec<Revision> = (0..7)
        .map(|i| case(VILLAGE, &format!("本村{i}"), i % 2 == 0))
        .collect();
    let theirs: Vec<Revision> = (0..4)
        .map(|i| case(VILLAGE2, &format!("邻村{i}"), false))
        .collect();
    let far: Vec<Revision> = (0..2)
        .map(|i| case(OTHER_TOWN_VILLAGE, &format!("外镇{i}"), false))
        .collect();
    push(&app, &mine).await;
    push(&app, &theirs).await;
    push(&app, &far).await;
    // An edit moves a record to the head of the list; a deleted record leaves it.
    let edited = edit(&mine[1], "改过的议题");
    push(&app, std::slice::from_ref(&edited)).await;
    let mut gone = edit(&theirs[0], "邻村0");
    gone.deleted = true;
    push(&app, &[gone]).await;

    // The order they last changed in, newest first.
    let mut newest_first: Vec<&Revision> = mine.iter().chain(&theirs).chain(&far).collect();
    newest_first.retain(|r| r.record != mine[1].record && r.record != theirs[0].record);
    newest_first.push(&edited);
    newest_first.reverse();
    let ids = |rs: &[&Revision]| rs.iter().map(|r| r.record).collect::<Vec<_>>();

    for limit in [1, 3, 5, 100] {
        let got = every_page(&app, "county", &format!("unit={COUNTY}"), limit).await;
        assert_eq!(got, ids(&newest_first), "limit {limit}");
    }
    let in_town: Vec<&Revision> = newest_first
        .iter()
        .copied()
        .filter(|r| r.unit.as_str().starts_with(TOWN))
        .collect();
    assert_eq!(
        every_page(&app, &format!("town-{TOWN}"), &format!("unit={TOWN}"), 4).await,
        ids(&in_town),
        "a town lists its villages' records only"
    );

    // What a list shows of a record.
    let head = page(&app, "county", &format!("unit={COUNTY}&limit=1")).await;
    let shown = &head.records[0];
    assert_eq!(shown.record, edited.record);
    assert_eq!(shown.title.as_deref(), Some("改过的议题"));
    assert_eq!(shown.step.as_deref(), Some("民事民提"));
    assert_eq!(shown.form, "deliberation_case");
    assert_eq!(shown.unit.as_str(), VILLAGE);
    assert_eq!(shown.unit_name, "飞凤社区居委会");
    assert_eq!(shown.author, "飞凤社区居委会(演示)");
    assert!(shown.created_at > 0 && shown.created_at <= shown.updated_at);
    assert!(!shown.conflict);
    let successful = page(&app, "county", &format!("unit={COUNTY}&limit=100"))
        .await
        .records
        .into_iter()
        .find(|r| r.record == mine[0].record)
        .unwrap();
    assert_eq!(successful.step.as_deref(), Some("民事民评"));
}

async fn a_page_holds_at_most_the_bound(app: TestApp) {
    let many: Vec<Revision> = (0..MAX_RECORD_PAGE + 5)
        .map(|i| case(VILLAGE, &format!("议题{i}"), false))
        .collect();
    push(&app, &many).await;
    let huge = page(&app, "county", &format!("unit={COUNTY}&limit=1000000")).await;
    assert_eq!(huge.records.len(), MAX_RECORD_PAGE as usize);
    assert!(huge.next.is_some());
    let unsaid = page(&app, "county", &format!("unit={COUNTY}")).await;
    assert_eq!(unsaid.records.len(), RECORD_PAGE as usize);
    let none = page(&app, "county", &format!("unit={COUNTY}&limit=0")).await;
    assert_eq!(
        none.records.len(),
        1,
        "a page always carries a record when one is left"
    );
    let rest = page(
        &app,
        "county",
        &format!("unit={COUNTY}&limit=1000000&before={}", huge.next.unwrap()),
    )
    .await;
    assert_eq!(rest.records.len(), 5);
    assert_eq!(rest.next, None);
}

async fn a_unit_outside_the_scope_is_refused_as_every_endpoint_refuses(app: TestApp) {
    push(&app, &[case(VILLAGE, "本村", false)]).await;
    let town = format!("town-{TOWN}");
    let worker = format!("village-{VILLAGE}");
    let refusals: &[(&str, String, u16)] = &[
        (&town, format!("unit={COUNTY}"), 403),
        (&town, format!("unit={OTHER_TOWN_VILLAGE}"), 403),
        (&worker, format!("unit={VILLAGE2}"), 403),
        (&worker, format!("unit={TOWN}"), 403),
        ("county", "unit=61032".into(), 422),
        ("county", format!("unit={COUNTY}&plan=fufeng-1999"), 404),
        ("county", format!("unit={COUNTY}&form=no_such_form"), 404),
    ];
    for (who, query, status) in refusals {
        let resp = app.get_as(who, &format!("/api/records?{query}")).await;
        assert_eq!(resp.status(), *status, "{who} {query}");
        let e: Value = resp.json().await.unwrap();
        assert!(
            e["error"].as_str().is_some_and(|m| !m.is_ascii()),
            "{who} {query}: {e}"
        );
        assert_eq!(e.as_object().unwrap().len(), 1, "{e}");
    }
    // The same refusal as the report gives for the same unit.
    let report: Value = app
        .get_as(&town, &format!("/api/report/{COUNTY}"))
        .await
        .json()
        .await
        .unwrap();
    let listing: Value = app
        .get_as(&town, &format!("/api/records?unit={COUNTY}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listing, report);
    // Within their own scope they read.
    assert_eq!(
        page(&app, &worker, &format!("unit={VILLAGE}"))
            .await
            .records
            .len(),
        1
    );
    let anonymous = app
        .client
        .get(app.url(&format!("/api/records?unit={VILLAGE}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// A deliberation case of `plan`, dated in `year`.
fn year_case(plan: &str, year: i32, topic: &str) -> Revision {
    let mut r = case(VILLAGE, topic, true);
    let dated = serde_json::to_string(&r.content)
        .unwrap()
        .replace("2018-", &format!("{year}-"));
    r.content = serde_json::from_str(&dated).unwrap();
    r.plan = PlanId::parse(plan).unwrap();
    r
}

async fn records_of_another_plan_are_left_out(app: TestApp) {
    let old = [
        year_case("fufeng-2018", 2018, "旧一"),
        year_case("fufeng-2018", 2018, "旧二"),
    ];
    push(&app, &old).await;
    let app = restart(&app, |s| s.plans = Some(workspace().join("seeds"))).await;
    let new = [year_case("fufeng-2019", 2019, "新一")];
    push(&app, &new).await;
    let ids = |rs: &[Revision]| rs.iter().rev().map(|r| r.record).collect::<Vec<_>>();
    assert_eq!(
        every_page(&app, "county", &format!("unit={COUNTY}"), 1).await,
        ids(&new),
        "the current plan's records when no plan is named"
    );
    assert_eq!(
        every_page(
            &app,
            "county",
            &format!("unit={COUNTY}&plan=fufeng-2018"),
            1
        )
        .await,
        ids(&old)
    );
    let listed = page(&app, "county", &format!("unit={COUNTY}&plan=fufeng-2019")).await;
    assert!(listed.records.iter().all(|r| r.plan == "fufeng-2019"));
    assert_eq!(
        every_page(
            &app,
            "county",
            &format!("unit={COUNTY}&plan=fufeng-2018&form=deliberation_case"),
            5
        )
        .await,
        ids(&old),
        "a form of the plan filters"
    );
}

common::conformance!(
    pages_run_newest_first_with_every_live_record_once,
    a_page_holds_at_most_the_bound,
    a_unit_outside_the_scope_is_refused_as_every_endpoint_refuses,
    records_of_another_plan_are_left_out,
);
