//! The plans a phone keeps, in a real headless Chromium's IndexedDB: a phone that kept one plan
//! upgrades to keeping several without touching its records or its outbox.
#![cfg(target_arch = "wasm32")]

use serde_json::json;
use shequ_app::store::Db;
use shequ_model::plan::{Plan, PlanId};
use shequ_model::{Revision, UnitCode};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn plan(year: u16) -> Plan {
    let (file, text) = match year {
        2018 => ("plan-2018.toml", include_str!("../../seeds/plan-2018.toml")),
        _ => ("plan-2019.toml", include_str!("../../seeds/plan-2019.toml")),
    };
    Plan::parse(file, text).unwrap()
}

/// A revision made before records carried a plan.
fn legacy_rev(topic: &str) -> Revision {
    Revision {
        record: shequ_app::ids::new_id(),
        rev: shequ_app::ids::new_id(),
        parent: None,
        resolves: vec![],
        device: "test".into(),
        clock: 0,
        plan: PlanId::default(),
        form: "deliberation_case".into(),
        unit: UnitCode::parse("610324001001").unwrap(),
        deleted: false,
        content: serde_json::from_value(json!({"topic": topic})).unwrap(),
    }
}

async fn fresh(name: &str) -> Db {
    let _ = Db::destroy(name).await;
    Db::open(name).await.unwrap()
}

#[wasm_bindgen_test]
async fn a_phone_that_kept_one_plan_keeps_it_as_the_plan_of_its_records() {
    let db = fresh("t-plans-upgrade").await;
    let old = plan(2018);
    db.set_meta("plan", &old).await.unwrap();
    let saved = db.save(legacy_rev("旧记录"), 1_000).await.unwrap();
    let outbox_before = db.outbox(10, None).await.unwrap();

    let plans = db.plans().await.unwrap().expect("the kept plan is there");
    assert_eq!(plans.current().id, old.id);
    let legacy = db.legacy_plan().await.unwrap();
    assert_eq!(legacy, old.id);
    let record = db.record(&saved.record.to_string()).await.unwrap().unwrap();
    assert_eq!(record.plan(&legacy), old.id);
    assert_eq!(
        db.outbox(10, None).await.unwrap(),
        outbox_before,
        "the outbox's revisions stay exactly as they were"
    );
    assert!(outbox_before[0].plan.is_empty());

    // The next plan arrives and becomes current: the earlier one, and its records, stay.
    let new = plan(2019);
    db.keep_plan(&new, Some("\"tag\"")).await.unwrap();
    db.set_current_plan(&new.id).await.unwrap();
    let plans = db.plans().await.unwrap().unwrap();
    assert_eq!(plans.current().id, new.id);
    assert!(plans.get(&old.id).is_some());
    assert_eq!(db.legacy_plan().await.unwrap(), old.id, "set once");
    assert_eq!(
        db.plan_etag(&new.id).await.unwrap().as_deref(),
        Some("\"tag\"")
    );
}

#[wasm_bindgen_test]
async fn a_record_belongs_to_the_plan_its_revisions_name() {
    let db = fresh("t-plans-named").await;
    let new = plan(2019);
    db.keep_plan(&new, None).await.unwrap();
    db.set_current_plan(&new.id).await.unwrap();
    let rev = Revision {
        plan: plan(2018).id,
        ..legacy_rev("二〇一八年的记录")
    };
    let saved = db.save(rev, 1_000).await.unwrap();
    let record = db.record(&saved.record.to_string()).await.unwrap().unwrap();
    assert_eq!(record.plan(&new.id), plan(2018).id);
    assert!(
        db.legacy_plan().await.unwrap().is_empty(),
        "a phone that never kept a single plan has no legacy plan"
    );
}
