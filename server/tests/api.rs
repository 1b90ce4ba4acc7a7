//! The server against a real socket (port 0), all API tests in one binary: one conformance suite
//! that runs against a real SQLite file and a real PostgreSQL database alike.

mod common;

use common::{case, TestApp, VILLAGE, VILLAGE2};
use serde_json::{json, Value};
use shequ_model::sync::{PullPage, PushOutcome, PushResponse};
use uuid::Uuid;

async fn health_plan_and_areas(app: TestApp) {
    assert_eq!(app.get("/healthz").await.status(), 200);
    let plan: Value = app.get("/api/plan").await.json().await.unwrap();
    assert_eq!(plan["id"], "fufeng-2018");
    let areas: Vec<Value> = app.get("/api/areas").await.json().await.unwrap();
    assert_eq!(areas.iter().filter(|a| a["level"] == "town").count(), 8);
    assert!(areas.iter().any(|a| a["code"] == VILLAGE && a["name"] == "飞凤社区居委会"));
}

async fn a_resent_push_is_stored_once_and_other_content_under_the_same_id_is_refused(app: TestApp) {
    let c = case(VILLAGE, "修缮小区路灯", true);
    let first = app.push(&[c.clone()]).await;
    let PushOutcome::Stored { seq } = first.results[0].outcome else { panic!("{first:?}") };
    let again = app.push(&[c.clone()]).await;
    assert_eq!(again.results[0].outcome, PushOutcome::Duplicate { seq });
    let mut other = c.clone();
    other.content.insert("topic".into(), json!("别的议题"));
    let refused = app.push(&[other]).await;
    assert!(matches!(refused.results[0].outcome, PushOutcome::Rejected { .. }), "{refused:?}");
    let page = app.pull(VILLAGE, 0, 100).await;
    assert_eq!(page.changes.len(), 1, "stored exactly once");
    assert_eq!(page.changes[0].revision, c);
}

async fn bad_items_are_refused_in_chinese_and_nothing_of_them_is_stored(app: TestApp) {
    let good = case(VILLAGE, "议题一", true);
    let mut bad = case(VILLAGE, "", false);
    bad.content.insert("participants".into(), json!(-3));
    let mut backwards = case(VILLAGE, "议题二", true);
    let resp = app.push(&[good.clone(), bad, backwards.clone()]).await;
    assert!(matches!(resp.results[0].outcome, PushOutcome::Stored { .. }));
    match &resp.results[1].outcome {
        PushOutcome::Rejected { errors, .. } => {
            assert!(errors.iter().any(|e| e.field == "topic" && e.message == "必填"), "{errors:?}");
            assert!(errors.iter().any(|e| e.field == "participants"), "{errors:?}");
        }
        other => panic!("{other:?}"),
    }
    // A status may not move backwards along the plan's transitions.
    let parent = backwards.rev;
    backwards.parent = Some(parent);
    backwards.rev = Uuid::now_v7();
    backwards.clock += 1;
    backwards.content.insert("steps".into(), json!({"state": "民事民提", "dates": {"民事民提": "2018-03-01"}}));
    let resp2 = app.push(&[backwards]).await;
    let PushOutcome::Rejected { reason, .. } = &resp2.results[0].outcome else { panic!("{resp2:?}") };
    assert!(!reason.is_ascii(), "a Chinese reason: {reason}");
    let page = app.pull("610324", 0, 100).await;
    assert_eq!(page.changes.len(), 2, "the two good ones, nothing of the bad");
    // A change for a unit or a form that is not the worker's refuses the whole batch.
    let mut unknown_form = case(VILLAGE, "议题三", true);
    unknown_form.form = "no_such_form".into();
    for batch in [vec![case(VILLAGE, "本村", true), case(VILLAGE2, "别村", true)], vec![unknown_form]] {
        let r = app.post_as(&format!("village-{VILLAGE}"), "/api/sync/push").await.json(&json!({"device": "d", "changes": batch})).send().await.unwrap();
        assert_eq!(r.status(), 403);
    }
    assert_eq!(app.pull("610324", 0, 100).await.changes.len(), 2);
}

async fn an_oversized_batch_gets_413(app: TestApp) {
    let many: Vec<_> = (0..501).map(|i| case(VILLAGE, &format!("议题{i}"), false)).collect();
    let resp = app.post_as(&format!("village-{VILLAGE}"), "/api/sync/push").await.json(&json!({"device": "d", "changes": many})).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("500"));
}

async fn malformed_or_oversized_bodies_get_clear_errors(app: TestApp) {
    let who = format!("village-{VILLAGE}");
    let r = app.post_as(&who, "/api/sync/push").await.header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().starts_with("提交的内容格式不对"), "{body}");
    let r = app.post_as(&who, "/api/sync/push").await.json(&json!({"device": "d", "changes": [{"record": "not-a-uuid"}]})).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let huge = "议".repeat(3_000_000);
    let r = app.post_as(&who, "/api/sync/push").await.header("content-type", "application/json").body(format!("{{\"device\":\"{huge}\",\"changes\":[]}}")).send().await.unwrap();
    assert_eq!(r.status(), 413);
}

async fn pull_pages_by_cursor_within_the_scope(app: TestApp) {
    let mine: Vec<_> = (0..5).map(|i| case(VILLAGE, &format!("本村{i}"), false)).collect();
    let theirs: Vec<_> = (0..3).map(|i| case(VILLAGE2, &format!("他村{i}"), false)).collect();
    app.push(&mine).await;
    app.push(&theirs).await;
    let mut cursor = 0;
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let page = app.pull(VILLAGE, cursor, 2).await;
        pages += 1;
        assert!(page.changes.len() <= 2);
        got.extend(page.changes.iter().map(|c| c.revision.rev));
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(got, mine.iter().map(|c| c.rev).collect::<Vec<_>>());
    assert!(app.pull(VILLAGE, cursor, 2).await.changes.is_empty());
    let town = app.pull("610324001", 0, 100).await;
    assert_eq!(town.changes.len(), 8, "a town's scope holds both its villages");
}

async fn the_later_edit_wins_and_every_revision_is_kept(app: TestApp) {
    let first = case(VILLAGE, "原议题", false);
    let mut edit = first.clone();
    edit.rev = Uuid::now_v7();
    edit.parent = Some(first.rev);
    edit.clock = first.clock + 10;
    edit.content.insert("topic".into(), json!("改后的议题"));
    app.push(&[edit.clone()]).await;
    app.push(&[first.clone()]).await; // arrives late: kept, but does not win
    assert_eq!(app.pull(VILLAGE, 0, 10).await.changes.len(), 2);
    let report: Value = app.get("/api/report/610324001").await.json().await.unwrap();
    let cases = report["children"].as_array().unwrap().iter().find(|c| c["area"]["code"] == VILLAGE).unwrap()["cells"]
        .as_array().unwrap().iter().find(|c| c["indicator"] == "deliberation_cases").cloned().unwrap();
    assert_eq!(cases["value"], json!(1.0), "one record, not two");
}

async fn county_report_counts_successful_cases_per_town_against_targets(app: TestApp) {
    app.push(&[case(VILLAGE, "一", true), case(VILLAGE, "二", true), case(VILLAGE, "三", false)]).await;
    app.push(&[case(VILLAGE2, "四", true)]).await;
    let report: Value = app.get("/api/report/610324").await.json().await.unwrap();
    assert_eq!(report["unit"]["area"]["code"], "610324");
    let towns = report["children"].as_array().unwrap();
    assert_eq!(towns.len(), 8);
    let cell = |unit: &Value, id: &str| unit["cells"].as_array().unwrap().iter().find(|c| c["indicator"] == id).cloned().unwrap();
    let chengguan = towns.iter().find(|t| t["area"]["code"] == "610324001").unwrap();
    let success = cell(chengguan, "deliberation_success");
    assert_eq!(success["value"], json!(3.0));
    // 城关街道 has 3 seeded village-level units, each with a target of at least 2.
    assert_eq!(success["target"]["min"], json!(6.0));
    assert_eq!(success["met"], json!(false));
    assert_eq!(cell(&report["unit"], "deliberation_success")["value"], json!(3.0));
    // Every indicator of the plan is in the county's figures.
    let plan: Value = app.get("/api/plan").await.json().await.unwrap();
    assert_eq!(report["unit"]["cells"].as_array().unwrap().len(), plan["indicators"].as_array().unwrap().len());
    assert_eq!(app.get("/api/report/610324999").await.status(), 404);
    assert_eq!(app.get("/api/report/610302").await.status(), 403, "outside the county");
}

async fn a_push_re_sent_under_its_key_is_answered_again_and_other_content_gets_409(app: TestApp) {
    let batch = vec![case(VILLAGE, "甲", true), case(VILLAGE, "乙", false)];
    let key = shequ_model::sync::batch_key(&batch);
    let token = app.token(&format!("village-{VILLAGE}")).await;
    let send = |changes: Vec<shequ_model::Revision>| {
        app.client
            .post(app.url("/api/sync/push"))
            .bearer_auth(token.clone())
            .header("idempotency-key", key.clone())
            .json(&json!({"device": "d", "changes": changes}))
            .send()
    };
    let first: PushResponse = send(batch.clone()).await.unwrap().json().await.unwrap();
    assert!(first.results.iter().all(|r| matches!(r.outcome, PushOutcome::Stored { .. })));
    let again: PushResponse = send(batch.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(again, first, "the same answer, replayed");
    let mut changed = batch.clone();
    changed[1].content.insert("topic".into(), json!("改过的"));
    let refused = send(changed).await.unwrap();
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("幂等键"));
    assert_eq!(app.pull(VILLAGE, 0, 100).await.changes.len(), 2);
}

async fn concurrent_edits_keep_both_versions_and_the_checksum_follows_the_winner(app: TestApp) {
    let base = case(VILLAGE, "原议题", false);
    app.push(&[base.clone()]).await;
    let edit = |topic: &str, clock: u64| {
        let mut e = base.clone();
        e.rev = Uuid::now_v7();
        e.parent = Some(base.rev);
        e.clock = clock;
        e.content.insert("topic".into(), json!(topic));
        e
    };
    let (a, b) = (edit("手机甲的修改", 5 << 16), edit("手机乙的修改", 6 << 16));
    app.push(&[a.clone()]).await;
    app.push(&[b.clone()]).await;
    let page = app.pull(VILLAGE, 0, 100).await;
    assert_eq!(page.changes.len(), 3, "the losing edit is kept");
    let sum: shequ_model::sync::Checksum = app.get(&format!("/api/sync/checksum?scope={VILLAGE}")).await.json().await.unwrap();
    assert_eq!(sum, shequ_model::sync::Checksum::of([b.rev]));
    // A user chooses 甲's version: the conflict closes and the choice is current.
    let mut choice = edit("手机甲的修改", 7 << 16);
    choice.parent = Some(b.rev);
    choice.resolves = vec![a.rev];
    app.push(&[choice.clone()]).await;
    let sum: shequ_model::sync::Checksum = app.get(&format!("/api/sync/checksum?scope={VILLAGE}")).await.json().await.unwrap();
    assert_eq!(sum, shequ_model::sync::Checksum::of([choice.rev]));
    assert_eq!(app.get("/api/sync/checksum?scope=abc").await.status(), 422);
}

async fn a_deleted_record_leaves_the_figures_but_its_tombstone_syncs(app: TestApp) {
    let c = case(VILLAGE, "将删除", true);
    app.push(&[c.clone()]).await;
    let mut tomb = c.clone();
    tomb.rev = Uuid::now_v7();
    tomb.parent = Some(c.rev);
    tomb.clock += 1;
    tomb.deleted = true;
    app.push(&[tomb.clone()]).await;
    let page = app.pull(VILLAGE, 0, 100).await;
    assert!(page.changes.last().unwrap().revision.deleted);
    let report: Value = app.get("/api/report/610324").await.json().await.unwrap();
    let cell = report["unit"]["cells"].as_array().unwrap().iter().find(|c| c["indicator"] == "deliberation_success").cloned().unwrap();
    assert_eq!(cell["value"], json!(0.0));
}

async fn idempotency_keys_belong_to_their_account(app: TestApp) {
    let key = "the-same-key";
    let send = |who: String, changes: Vec<shequ_model::Revision>| {
        let app = &app;
        async move {
            let resp = app.post_as(&who, "/api/sync/push").await.header("idempotency-key", key).json(&json!({"device": "d", "changes": changes})).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{who}");
            resp.json::<PushResponse>().await.unwrap()
        }
    };
    let mine = case(VILLAGE, "甲村的", true);
    let theirs = case(VILLAGE2, "乙村的", true);
    let a = send(format!("village-{VILLAGE}"), vec![mine.clone()]).await;
    let b = send(format!("village-{VILLAGE2}"), vec![theirs.clone()]).await;
    assert_eq!(b.results[0].rev, theirs.rev, "the second account gets its own answer, not the first's");
    assert!(matches!(b.results[0].outcome, PushOutcome::Stored { .. }));
    assert_eq!(a.results[0].rev, mine.rev);
    assert_eq!(app.pull(VILLAGE2, 0, 100).await.changes.len(), 1, "and its change is stored");
}

async fn pushes_wait_their_turn_while_people_log_in(app: TestApp) {
    let worker = format!("village-{VILLAGE}");
    let token = app.token(&worker).await;
    let pushes = (0..200).map(|i| {
        let (app, token) = (&app, token.clone());
        async move {
            let r = app
                .client
                .post(app.url("/api/sync/push"))
                .bearer_auth(token)
                .json(&json!({"device": "d", "changes": [case(VILLAGE, &format!("议题{i}"), i % 2 == 0)]}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    });
    // Four people logging in again and again meanwhile: every login writes a session.
    let logins = (0..4).map(|p| {
        let app = &app;
        async move {
            let mut statuses = Vec::new();
            for _ in 0..10 {
                let who = if p % 2 == 0 { format!("village-{VILLAGE2}") } else { "town-610324001".to_string() };
                let r = app.client.post(app.url("/api/auth/login")).json(&json!({"username": who, "password": common::PASSWORD, "device": format!("d{p}")})).send().await.unwrap();
                statuses.push(r.status().as_u16());
            }
            statuses
        }
    });
    let (pushed, logged_in) = tokio::join!(futures_util::future::join_all(pushes), futures_util::future::join_all(logins));
    let failed: Vec<_> = pushed.iter().filter(|(s, _)| *s != 200).collect();
    assert!(failed.is_empty(), "{} of 200 pushes failed, e.g. {:?}", failed.len(), failed.first());
    let logged_in: Vec<u16> = logged_in.into_iter().flatten().collect();
    assert!(logged_in.iter().all(|s| *s == 200 || *s == 503), "{logged_in:?}");
    assert!(logged_in.contains(&200));
    assert_eq!(app.pull(VILLAGE, 0, 1000).await.changes.len(), 200);
}

impl TestApp {
    /// Pushes as the worker of the first change's village.
    async fn push(&self, changes: &[shequ_model::Revision]) -> PushResponse {
        let unit = changes.first().map(|c| c.unit.clone()).unwrap_or_default();
        let resp = self
            .post_as(&format!("village-{unit}"), "/api/sync/push")
            .await
            .json(&json!({"device": "test-device", "changes": changes}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    async fn pull(&self, scope: &str, after: i64, limit: u32) -> PullPage {
        let resp = self.get(&format!("/api/sync/pull?scope={scope}&after={after}&limit={limit}")).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }
}

common::conformance!(
    malformed_or_oversized_bodies_get_clear_errors,
    health_plan_and_areas,
    a_resent_push_is_stored_once_and_other_content_under_the_same_id_is_refused,
    bad_items_are_refused_in_chinese_and_nothing_of_them_is_stored,
    an_oversized_batch_gets_413,
    pull_pages_by_cursor_within_the_scope,
    the_later_edit_wins_and_every_revision_is_kept,
    county_report_counts_successful_cases_per_town_against_targets,
    a_push_re_sent_under_its_key_is_answered_again_and_other_content_gets_409,
    concurrent_edits_keep_both_versions_and_the_checksum_follows_the_winner,
    a_deleted_record_leaves_the_figures_but_its_tombstone_syncs,
    idempotency_keys_belong_to_their_account,
    pushes_wait_their_turn_while_people_log_in,
);
