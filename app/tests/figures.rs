//! The figures a phone keeps from the server, in a real headless Chromium's IndexedDB: the last
//! ones read for each unit and plan, with when they were read, for showing offline.
#![cfg(target_arch = "wasm32")]

use serde_json::json;
use shequ_app::store::Db;
use shequ_model::plan::PlanId;
use shequ_model::rollup::Report;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const COUNTY: &str = "610324";

fn report(plan: &str, cases: f64) -> Report {
    serde_json::from_value(json!({
        "plan": plan,
        "unit": {
            "area": {"code": COUNTY, "name": "扶风县", "level": "county", "parent": "6103"},
            "cells": [{"indicator": "deliberation_cases", "kind": "number", "value": cases}],
        },
        "children": [],
    }))
    .unwrap()
}

fn plan(id: &str) -> PlanId {
    PlanId::parse(id).unwrap()
}

#[wasm_bindgen_test]
async fn the_last_figures_read_are_kept_with_their_date_per_unit_and_plan() {
    let name = "t-kept-figures";
    let _ = Db::destroy(name).await;
    let db = Db::open(name).await.unwrap();
    assert_eq!(
        db.kept_figures(COUNTY, &plan("fufeng-2018")).await.unwrap(),
        None
    );

    db.keep_figures(COUNTY, &report("fufeng-2018", 3.0), 1_000)
        .await
        .unwrap();
    db.keep_figures(COUNTY, &report("fufeng-2019", 9.0), 1_500)
        .await
        .unwrap();
    // Figures read later replace them; an answer read earlier that arrives late does not.
    db.keep_figures(COUNTY, &report("fufeng-2018", 5.0), 2_000)
        .await
        .unwrap();
    db.keep_figures(COUNTY, &report("fufeng-2018", 4.0), 1_800)
        .await
        .unwrap();

    // As a phone reopened offline finds them.
    drop(db);
    let db = Db::open(name).await.unwrap();
    let kept = db
        .kept_figures(COUNTY, &plan("fufeng-2018"))
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(kept.read_at, 2_000);
    assert_eq!(kept.report, report("fufeng-2018", 5.0));
    let other = db
        .kept_figures(COUNTY, &plan("fufeng-2019"))
        .await
        .unwrap()
        .expect("each plan keeps its own");
    assert_eq!(other.report, report("fufeng-2019", 9.0));
    assert_eq!(
        db.kept_figures("610324001", &plan("fufeng-2018"))
            .await
            .unwrap(),
        None,
        "each unit keeps its own"
    );
}
