//! The server against a real socket (port 0), all API tests in one binary: one conformance suite
//! that runs against a real SQLite file and a real PostgreSQL database alike.

mod common;

use common::{case, TestApp, VILLAGE, VILLAGE2};
use serde_json::{json, Value};
use shequ_model::sync::{PullPage, PushOutcome, PushResponse};
use shequ_model::Revision;
use uuid::Uuid;

async fn health_plan_and_areas(app: TestApp) {
    assert_eq!(app.get("/healthz").await.status(), 200);
    let plan: Value = app.get("/api/plan").await.json().await.unwrap();
    assert_eq!(plan["id"], "fufeng-2018");
    let areas: Vec<Value> = app.get("/api/areas").await.json().await.unwrap();
    assert_eq!(areas.iter().filter(|a| a["level"] == "town").count(), 8);
    assert!(areas
        .iter()
        .any(|a| a["code"] == VILLAGE && a["name"] == "飞凤社区居委会"));
}

async fn a_resent_push_is_stored_once_and_other_content_under_the_same_id_is_refused(app: TestApp) {
    let c = case(VILLAGE, "修缮小区路灯", true);
    let first = app.push(std::slice::from_ref(&c)).await;
    let PushOutcome::Stored { seq } = first.results[0].outcome else {
        panic!("{first:?}")
    };
    let again = app.push(std::slice::from_ref(&c)).await;
    assert_eq!(again.results[0].outcome, PushOutcome::Duplicate { seq });
    let mut other = c.clone();
    other.content.insert("topic".into(), json!("别的议题"));
    let refused = app.push(&[other]).await;
    assert!(
        matches!(refused.results[0].outcome, PushOutcome::Rejected { .. }),
        "{refused:?}"
    );
    let page = app.pull(VILLAGE, 0, 100).await;
    assert_eq!(page.changes.len(), 1, "stored exactly once");
    // It comes back as sent, carrying the plan it was stored under: the current one.
    let plan: Value = app.get("/api/plan").await.json().await.unwrap();
    let plan = shequ_model::plan::PlanId::parse(plan["id"].as_str().unwrap()).unwrap();
    assert_eq!(
        page.changes[0].revision,
        shequ_model::Revision { plan, ..c }
    );
}

async fn bad_items_are_refused_in_chinese_and_nothing_of_them_is_stored(app: TestApp) {
    let good = case(VILLAGE, "议题一", true);
    let mut bad = case(VILLAGE, "", false);
    bad.content.insert("participants".into(), json!(-3));
    let mut backwards = case(VILLAGE, "议题二", true);
    let resp = app.push(&[good.clone(), bad, backwards.clone()]).await;
    assert!(matches!(
        resp.results[0].outcome,
        PushOutcome::Stored { .. }
    ));
    match &resp.results[1].outcome {
        PushOutcome::Rejected { errors, .. } => {
            assert!(
                errors
                    .iter()
                    .any(|e| e.field == "topic" && e.message == "必填"),
                "{errors:?}"
            );
            assert!(
                errors.iter().any(|e| e.field == "participants"),
                "{errors:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // A status may not move backwards along the plan's transitions.
    let parent = backwards.rev;
    backwards.parent = Some(parent);
    backwards.rev = Uuid::now_v7();
    backwards.clock += 1;
    backwards.content.insert(
        "steps".into(),
        json!({"state": "民事民提", "dates": {"民事民提": "2018-03-01"}}),
    );
    let resp2 = app.push(&[backwards]).await;
    let PushOutcome::Rejected { reason, .. } = &resp2.results[0].outcome else {
        panic!("{resp2:?}")
    };
    assert!(!reason.is_ascii(), "a Chinese reason: {reason}");
    let page = app.pull("610324", 0, 100).await;
    assert_eq!(
        page.changes.len(),
        2,
        "the two good ones, nothing of the bad"
    );
    // A change for a unit or a form that is not the worker's refuses the whole batch.
    let mut unknown_form = case(VILLAGE, "议题三", true);
    unknown_form.form = "no_such_form".into();
    for batch in [
        vec![case(VILLAGE, "本村", true), case(VILLAGE2, "别村", true)],
        vec![unknown_form],
    ] {
        let r = app
            .post_as(&format!("village-{VILLAGE}"), "/api/sync/push")
            .await
            .json(&json!({"device": "d", "changes": batch}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    assert_eq!(app.pull("610324", 0, 100).await.changes.len(), 2);
}

async fn an_oversized_batch_gets_413(app: TestApp) {
    let many: Vec<_> = (0..501)
        .map(|i| case(VILLAGE, &format!("议题{i}"), false))
        .collect();
    let resp = app
        .post_as(&format!("village-{VILLAGE}"), "/api/sync/push")
        .await
        .json(&json!({"device": "d", "changes": many}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("500"));
}

async fn malformed_or_oversized_bodies_get_clear_errors(app: TestApp) {
    let who = format!("village-{VILLAGE}");
    let r = app
        .post_as(&who, "/api/sync/push")
        .await
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let error = |body: Value| body["error"].as_str().unwrap_or_default().to_string();
    assert_eq!(r.status(), 422);
    let said = error(r.json().await.unwrap());
    assert!(said.starts_with("提交的内容格式不对"), "{said}");
    let r = app
        .post_as(&who, "/api/sync/push")
        .await
        .json(&json!({"device": "d", "changes": [{"record": "not-a-uuid"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // The message names where the fault lies.
    let said = error(r.json().await.unwrap());
    assert!(said.contains("changes[0]"), "{said}");
    let r = app
        .post_as(&who, "/api/sync/push")
        .await
        .header("content-type", "text/plain")
        .body(json!({"device": "d", "changes": []}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let said = error(r.json().await.unwrap());
    assert!(said.contains("Content-Type"), "{said}");
    let huge = "议".repeat(3_000_000);
    let r = app
        .post_as(&who, "/api/sync/push")
        .await
        .header("content-type", "application/json")
        .body(format!("{{\"device\":\"{huge}\",\"changes\":[]}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

async fn pull_pages_by_cursor_within_the_scope(app: TestApp) {
    let mine: Vec<_> = (0..5)
        .map(|i| case(VILLAGE, &format!("本村{i}"), false))
        .collect();
    let theirs: Vec<_> = (0..3)
        .map(|i| case(VILLAGE2, &format!("他村{i}"), false))
        .collect();
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
    assert_eq!(
        town.changes.len(),
        8,
        "a town's scope holds both its villages"
    );
}

/// A phone's own revisions (pushed in its sessions) are left out of its pulls when it asks so,
/// and sent otherwise; the cursor passes them either way.
async fn a_devices_own_revisions_are_left_out_of_its_pull_when_it_asks(app: TestApp) {
    let worker = format!("village-{VILLAGE}");
    let mine: Vec<_> = (0..3)
        .map(|i| case(VILLAGE, &format!("本机{i}"), false))
        .collect();
    let other = case(VILLAGE, "别的手机", false);
    let login = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": worker, "password": common::PASSWORD, "device": "另一台手机"}))
        .send()
        .await
        .unwrap();
    let elsewhere = login.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let batch = [
        mine[0].clone(),
        other.clone(),
        mine[1].clone(),
        mine[2].clone(),
    ];
    for change in &batch {
        let push = match change.rev == other.rev {
            true => app
                .client
                .post(app.url("/api/sync/push"))
                .bearer_auth(&elsewhere),
            false => app.post_as(&worker, "/api/sync/push").await,
        };
        let resp = push
            .json(&json!({"device": change.device, "changes": [change]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let pull = |query: String| {
        let (app, worker) = (&app, &worker);
        async move {
            let path = format!("/api/sync/pull?scope={VILLAGE}&{query}");
            let resp = app.get_as(worker, &path).await;
            assert_eq!(resp.status(), 200);
            resp.json::<PullPage>().await.unwrap()
        }
    };
    let revs = |p: &PullPage| p.changes.iter().map(|c| c.revision.rev).collect::<Vec<_>>();
    let whole = pull("after=0&limit=3".into()).await;
    assert_eq!(
        revs(&whole),
        batch[..3].iter().map(|c| c.rev).collect::<Vec<_>>()
    );
    assert!(whole.more);
    let all = pull("after=0".into()).await;
    let end = all.cursor;
    // Its own count for nothing in a page's size: a page of one passes all of them.
    let omitted = pull("after=0&limit=1&own=omitted".into()).await;
    assert_eq!(revs(&omitted), vec![other.rev]);
    assert_eq!((omitted.cursor, omitted.more), (end, false));
    // A page of its own only passes them: the cursor moves on with nothing sent.
    let after_other = whole.changes[1].seq;
    let rest = pull(format!("after={after_other}&own=omitted")).await;
    assert!(rest.changes.is_empty() && !rest.more);
    assert_eq!(rest.cursor, end, "the last one of its own is passed too");
    let nothing = pull(format!("after={end}&own=omitted")).await;
    assert_eq!((nothing.changes.len(), nothing.cursor), (0, end));
    // Another account, on another phone, gets every revision.
    let town = app
        .get_as(
            "town-610324001",
            &format!("/api/sync/pull?scope={VILLAGE}&after=0&own=omitted"),
        )
        .await
        .json::<PullPage>()
        .await
        .unwrap();
    assert_eq!(town.changes.len(), 4);
}

/// A phone keeps who made each record it syncs down, by the name the drill-down lists show.
async fn a_pulled_revision_names_the_account_that_pushed_it(app: TestApp) {
    app.push(&[case(VILLAGE, "修缮路灯", false)]).await;
    let page = app.pull(VILLAGE, 0, 10).await;
    let listed: Value = app
        .get(&format!("/api/records?unit={VILLAGE}"))
        .await
        .json()
        .await
        .unwrap();
    let author = listed["records"][0]["author"].as_str().unwrap();
    assert_ne!(
        author,
        format!("village-{VILLAGE}"),
        "a name, not a username"
    );
    assert_eq!(page.changes.len(), 1);
    assert_eq!(page.changes[0].author.as_deref(), Some(author));
}

async fn the_later_edit_wins_and_every_revision_is_kept(app: TestApp) {
    let first = case(VILLAGE, "原议题", false);
    let mut edit = first.clone();
    edit.rev = Uuid::now_v7();
    edit.parent = Some(first.rev);
    edit.clock = first.clock + 10;
    edit.content.insert("topic".into(), json!("改后的议题"));
    app.push(std::slice::from_ref(&edit)).await;
    app.push(std::slice::from_ref(&first)).await; // arrives late: kept, but does not win
    assert_eq!(app.pull(VILLAGE, 0, 10).await.changes.len(), 2);
    let report: Value = app.get("/api/report/610324001").await.json().await.unwrap();
    let cases = report["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["area"]["code"] == VILLAGE)
        .unwrap()["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["indicator"] == "deliberation_cases")
        .cloned()
        .unwrap();
    assert_eq!(cases["value"], json!(1.0), "one record, not two");
}

async fn county_report_counts_successful_cases_per_town_against_targets(app: TestApp) {
    app.push(&[
        case(VILLAGE, "一", true),
        case(VILLAGE, "二", true),
        case(VILLAGE, "三", false),
    ])
    .await;
    app.push(&[case(VILLAGE2, "四", true)]).await;
    let report: Value = app.get("/api/report/610324").await.json().await.unwrap();
    assert_eq!(report["unit"]["area"]["code"], "610324");
    let towns = report["children"].as_array().unwrap();
    assert_eq!(towns.len(), 8);
    let cell = |unit: &Value, id: &str| {
        unit["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["indicator"] == id)
            .cloned()
            .unwrap()
    };
    let chengguan = towns
        .iter()
        .find(|t| t["area"]["code"] == "610324001")
        .unwrap();
    let success = cell(chengguan, "deliberation_success");
    assert_eq!(success["value"], json!(3.0));
    // 城关街道 has 3 seeded village-level units, each with a target of at least 2.
    assert_eq!(success["target"]["min"], json!(6.0));
    assert_eq!(success["met"], json!(false));
    assert_eq!(
        cell(&report["unit"], "deliberation_success")["value"],
        json!(3.0)
    );
    // Every indicator of the plan is in the county's figures.
    let plan: Value = app.get("/api/plan").await.json().await.unwrap();
    assert_eq!(
        report["unit"]["cells"].as_array().unwrap().len(),
        plan["indicators"].as_array().unwrap().len()
    );
    assert_eq!(app.get("/api/report/610324999").await.status(), 404);
    assert_eq!(
        app.get("/api/report/610302").await.status(),
        403,
        "outside the county"
    );
}

async fn a_report_as_of_a_month_counts_what_was_done_by_its_end(app: TestApp) {
    // Started in March, finished (民事民评) on 1 May 2018.
    app.push(&[case(VILLAGE, "一", true)]).await;
    app.push(&[case(VILLAGE2, "二", false)]).await;
    let value = |report: &Value, code: &str, id: &str| {
        report["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["area"]["code"] == code)
            .unwrap()["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["indicator"] == id)
            .unwrap()["value"]
            .clone()
    };
    let as_of = |m: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/report/610324001?as_of={m}")).await;
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let (feb, april, may) = (
        as_of("2018-02").await,
        as_of("2018-04").await,
        as_of("2018-05").await,
    );
    assert_eq!(value(&feb, VILLAGE, "deliberation_cases"), json!(0.0));
    assert_eq!(value(&april, VILLAGE, "deliberation_cases"), json!(1.0));
    assert_eq!(value(&april, VILLAGE, "deliberation_success"), json!(0.0));
    assert_eq!(value(&may, VILLAGE, "deliberation_success"), json!(1.0));
    assert_eq!(value(&may, VILLAGE2, "deliberation_success"), json!(0.0));

    let series: Value = app
        .get("/api/report/610324001/months?indicator=deliberation_success")
        .await
        .json()
        .await
        .unwrap();
    let months: Vec<&str> = series["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(months.len(), 12);
    assert_eq!((months[0], months[11]), ("2018-01", "2018-12"));
    let village = series["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["area"]["code"] == VILLAGE)
        .unwrap();
    let by_month: Vec<Value> = village["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].clone())
        .collect();
    assert_eq!(by_month[3], json!(0.0), "April");
    assert_eq!(by_month[4], json!(1.0), "May");
    assert_eq!(by_month[11], json!(1.0), "December");
    // The targets come with every month.
    assert!(series["unit"]["cells"][0]["target"]["min"].is_number());

    for bad in ["2018-13", "2018-6", "六月"] {
        let r = app.get(&format!("/api/report/610324?as_of={bad}")).await;
        assert_eq!(r.status(), 422, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("不是月份"),
            "{body}"
        );
    }
    let r = app.get("/api/report/610324?as_of=2019-01").await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("2018-12"),
        "{body}"
    );
    let r = app.get("/api/report/610324/months?indicator=nothing").await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        app.get("/api/report/610302/months?indicator=deliberation_success")
            .await
            .status(),
        403
    );
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
    assert!(first
        .results
        .iter()
        .all(|r| matches!(r.outcome, PushOutcome::Stored { .. })));
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
    app.push(std::slice::from_ref(&base)).await;
    let edit = |topic: &str, clock: u64| {
        let mut e = base.clone();
        e.rev = Uuid::now_v7();
        e.parent = Some(base.rev);
        e.clock = clock;
        e.content.insert("topic".into(), json!(topic));
        e
    };
    let (a, b) = (edit("手机甲的修改", 5 << 16), edit("手机乙的修改", 6 << 16));
    app.push(std::slice::from_ref(&a)).await;
    app.push(std::slice::from_ref(&b)).await;
    let page = app.pull(VILLAGE, 0, 100).await;
    assert_eq!(page.changes.len(), 3, "the losing edit is kept");
    let sum: shequ_model::sync::Checksum = app
        .get(&format!("/api/sync/checksum?scope={VILLAGE}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sum, shequ_model::sync::Checksum::of([b.rev]));
    // A user chooses 甲's version: the conflict closes and the choice is current.
    let mut choice = edit("手机甲的修改", 7 << 16);
    choice.parent = Some(b.rev);
    choice.resolves = vec![a.rev];
    app.push(std::slice::from_ref(&choice)).await;
    let sum: shequ_model::sync::Checksum = app
        .get(&format!("/api/sync/checksum?scope={VILLAGE}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sum, shequ_model::sync::Checksum::of([choice.rev]));
    assert_eq!(app.get("/api/sync/checksum?scope=abc").await.status(), 422);
}

async fn a_deleted_record_leaves_the_figures_but_its_tombstone_syncs(app: TestApp) {
    let c = case(VILLAGE, "将删除", true);
    app.push(std::slice::from_ref(&c)).await;
    let mut tomb = c.clone();
    tomb.rev = Uuid::now_v7();
    tomb.parent = Some(c.rev);
    tomb.clock += 1;
    tomb.deleted = true;
    app.push(std::slice::from_ref(&tomb)).await;
    let page = app.pull(VILLAGE, 0, 100).await;
    assert!(page.changes.last().unwrap().revision.deleted);
    let report: Value = app.get("/api/report/610324").await.json().await.unwrap();
    let cell = report["unit"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["indicator"] == "deliberation_success")
        .cloned()
        .unwrap();
    assert_eq!(cell["value"], json!(0.0));
}

async fn idempotency_keys_belong_to_their_account(app: TestApp) {
    let key = "the-same-key";
    let send = |who: String, changes: Vec<shequ_model::Revision>| {
        let app = &app;
        async move {
            let resp = app
                .post_as(&who, "/api/sync/push")
                .await
                .header("idempotency-key", key)
                .json(&json!({"device": "d", "changes": changes}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{who}");
            resp.json::<PushResponse>().await.unwrap()
        }
    };
    let mine = case(VILLAGE, "甲村的", true);
    let theirs = case(VILLAGE2, "乙村的", true);
    let a = send(format!("village-{VILLAGE}"), vec![mine.clone()]).await;
    let b = send(format!("village-{VILLAGE2}"), vec![theirs.clone()]).await;
    assert_eq!(
        b.results[0].rev, theirs.rev,
        "the second account gets its own answer, not the first's"
    );
    assert!(matches!(b.results[0].outcome, PushOutcome::Stored { .. }));
    assert_eq!(a.results[0].rev, mine.rev);
    assert_eq!(
        app.pull(VILLAGE2, 0, 100).await.changes.len(),
        1,
        "and its change is stored"
    );
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
    let (pushed, logged_in) = tokio::join!(
        futures_util::future::join_all(pushes),
        futures_util::future::join_all(logins)
    );
    let failed: Vec<_> = pushed.iter().filter(|(s, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of 200 pushes failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    let logged_in: Vec<u16> = logged_in.into_iter().flatten().collect();
    assert!(
        logged_in.iter().all(|s| *s == 200 || *s == 503),
        "{logged_in:?}"
    );
    assert!(logged_in.contains(&200));
    assert_eq!(app.pull(VILLAGE, 0, 1000).await.changes.len(), 200);
}

/// The rejection of a change pushed alone: its reason and the fields named.
async fn refused(app: &TestApp, change: Revision) -> (String, Vec<(String, String)>) {
    let resp = app.push(&[change]).await;
    match &resp.results[0].outcome {
        PushOutcome::Rejected { reason, errors } => (
            reason.clone(),
            errors
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect(),
        ),
        other => panic!("not refused: {other:?}"),
    }
}

fn edit(of: &Revision, content: Value) -> Revision {
    Revision {
        rev: Uuid::now_v7(),
        parent: Some(of.rev),
        clock: of.clock + 1,
        content: serde_json::from_value(content).unwrap(),
        ..of.clone()
    }
}

async fn the_plans_cross_field_rules_refuse_a_push_on_the_right_field(app: TestApp) {
    let steps = |dates: Value| json!({"state": "民事民决", "dates": dates});
    let mut c = case(VILLAGE, "议题", false);
    c.content.insert(
        "steps".into(),
        steps(
            json!({"民事民提": "2018-03-05", "民事民议": "2018-03-01", "民事民决": "2018-03-09"}),
        ),
    );
    let (reason, errors) = refused(&app, c.clone()).await;
    assert!(!reason.is_ascii(), "{reason}");
    assert_eq!(
        errors,
        [(
            "steps".to_string(),
            "“民事民议”的日期(2018-03-01)不能早于“民事民提”的日期(2018-03-05)".to_string()
        )]
    );
    // A date outside the plan's year.
    c.content.insert(
        "steps".into(),
        steps(
            json!({"民事民提": "2017-12-05", "民事民议": "2018-03-01", "民事民决": "2018-03-09"}),
        ),
    );
    let (_, errors) = refused(&app, c.clone()).await;
    assert_eq!(
        errors,
        [(
            "steps".to_string(),
            "“民事民提”的日期应在计划期内(2018-01-01 至 2018-12-31)".to_string()
        )]
    );
    // 微心愿's steps likewise.
    let wish = Revision {
        form: "micro_wish".into(),
        content: serde_json::from_value(json!({"wish": "轮椅", "resident": "张大爷",
            "status": {"state": "认领", "dates": {"收集": "2018-05-01", "发布": "2018-04-01", "认领": "2018-05-09"}}})).unwrap(),
        ..case(VILLAGE, "x", false)
    };
    let (_, errors) = refused(&app, wish).await;
    assert_eq!(
        errors.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["status"]
    );
    // The facility's indoor area is the sum of its two parts.
    let facility = |indoor: f64| Revision {
        form: "facility".into(),
        content: serde_json::from_value(
            json!({"name": "社区服务中心", "kind": "社区服务中心", "project": "非点名项目",
            "status": {"state": "投入使用", "dates": {}}, "in_use_date": "2015-06-01",
            "indoor_area": indoor, "work_area": 120.5, "resident_area": 281.25}),
        )
        .unwrap(),
        ..case(VILLAGE, "x", false)
    };
    let (_, errors) = refused(&app, facility(400.0)).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "indoor_area");
    assert!(errors[0].1.contains("401.75"), "{errors:?}");
    let ok = app.push(&[facility(401.75)]).await;
    assert!(
        matches!(ok.results[0].outcome, PushOutcome::Stored { .. }),
        "{ok:?}"
    );
    assert_eq!(
        app.pull(VILLAGE, 0, 100).await.changes.len(),
        1,
        "only the good facility"
    );
}

async fn a_tombstone_carries_nothing_or_the_content_it_deletes(app: TestApp) {
    let c = case(VILLAGE, "将删除", true);
    app.push(std::slice::from_ref(&c)).await;
    let mut junk = edit(&c, json!({"junk": "垃圾".repeat(10_000)}));
    junk.deleted = true;
    let (reason, _) = refused(&app, junk).await;
    assert!(reason.contains("删除"), "{reason}");
    // Without a parent, the record as it stands is what is deleted.
    let mut orphan = edit(&c, json!({"topic": "改过的", "junk": 1}));
    orphan.parent = None;
    orphan.deleted = true;
    refused(&app, orphan).await;
    // Nor can the revision's other free parts carry bulk.
    let mut long_device = edit(&c, Value::Object(c.content.clone().into_iter().collect()));
    long_device.device = "设".repeat(shequ_model::sync::MAX_DEVICE_LEN + 1);
    refused(&app, long_device).await;
    let mut many = edit(&c, Value::Object(c.content.clone().into_iter().collect()));
    many.resolves = (0..=shequ_model::sync::MAX_RESOLVES)
        .map(|_| Uuid::now_v7())
        .collect();
    refused(&app, many).await;
    let mut same = edit(&c, Value::Object(c.content.clone().into_iter().collect()));
    same.deleted = true;
    let mut empty = edit(&c, json!({}));
    empty.deleted = true;
    for tomb in [same, empty] {
        let r = app.push(&[tomb]).await;
        assert!(
            matches!(r.results[0].outcome, PushOutcome::Stored { .. }),
            "{r:?}"
        );
    }
}

async fn a_number_the_plan_leaves_open_is_bounded(app: TestApp) {
    let activity = |hours: f64| Revision {
        form: "volunteer_activity".into(),
        content: serde_json::from_value(
            json!({"title": "助老服务", "date": "2018-05-01", "service": ["助老"], "hours": hours}),
        )
        .unwrap(),
        ..case(VILLAGE, "x", false)
    };
    for _ in 0..2 {
        let (_, errors) = refused(&app, activity(1.7e308)).await;
        assert_eq!(
            errors,
            [(
                "hours".to_string(),
                format!("不能大于{}", shequ_model::plan::DEFAULT_NUMBER_BOUND)
            )]
        );
    }
    app.push(&[activity(12.5)]).await;
    // The county's volunteer hours stay a number.
    let report: Value = app.get("/api/report/610324").await.json().await.unwrap();
    let cell = report["unit"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["indicator"] == "volunteer_hours")
        .cloned()
        .unwrap();
    assert_eq!(cell["value"], json!(12.5));
}

async fn a_clock_more_than_a_day_ahead_of_the_server_is_refused(app: TestApp) {
    use shequ_model::sync::{Hlc, MAX_CLOCK_AHEAD_MS};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let hour = 60 * 60 * 1000;
    for clock in [u64::MAX, Hlc::pack(now + MAX_CLOCK_AHEAD_MS + hour, 0)] {
        let mut c = case(VILLAGE, "未来", false);
        c.clock = clock;
        let (reason, _) = refused(&app, c).await;
        assert!(reason.contains("时间"), "{reason}");
    }
    let mut c = case(VILLAGE, "稍快的手机", false);
    c.clock = Hlc::pack(now + hour, 0);
    let r = app.push(&[c]).await;
    assert!(
        matches!(r.results[0].outcome, PushOutcome::Stored { .. }),
        "{r:?}"
    );
    assert_eq!(app.pull(VILLAGE, 0, 100).await.changes.len(), 1);
}

async fn a_status_change_is_checked_against_the_record_whether_or_not_parent_is_given(
    app: TestApp,
) {
    let done = case(VILLAGE, "已完成", true);
    app.push(std::slice::from_ref(&done)).await;
    let back = |parent: Option<Uuid>| {
        let mut e = edit(
            &done,
            json!({"forum": "村(居)民议事会", "topic": "倒退",
            "steps": {"state": "民事民提", "dates": {"民事民提": "2018-03-01"}}}),
        );
        e.parent = parent;
        e
    };
    for parent in [None, Some(Uuid::now_v7())] {
        let (reason, errors) = refused(&app, back(parent)).await;
        assert_eq!(reason, "状态变更不允许");
        assert_eq!(errors[0].0, "steps");
    }
    let report: Value = app.get("/api/report/610324").await.json().await.unwrap();
    let cell = report["unit"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["indicator"] == "deliberation_success")
        .cloned()
        .unwrap();
    assert_eq!(cell["value"], json!(1.0), "the finished case still counts");
}

async fn pull_pages_are_capped_in_bytes_and_skip_nothing(app: TestApp) {
    use shequ_model::sync::MAX_PULL_BYTES;
    let long = |i: usize| {
        let mut c = case(VILLAGE, &format!("长文{i}"), false);
        c.content
            .insert("decision".into(), json!("议".repeat(5000)));
        c
    };
    let one = serde_json::to_vec(&long(0)).unwrap().len() as u64;
    let n = (MAX_PULL_BYTES / one) as usize * 2 + 3;
    let all: Vec<_> = (0..n).map(long).collect();
    for batch in all.chunks(100) {
        app.push(batch).await;
    }
    let (mut cursor, mut got, mut pages) = (0, Vec::new(), 0);
    loop {
        let page = app
            .pull(VILLAGE, cursor, shequ_model::sync::MAX_PULL_PAGE)
            .await;
        let bytes: u64 = page
            .changes
            .iter()
            .map(|c| serde_json::to_vec(&c.revision).unwrap().len() as u64)
            .sum();
        assert!(bytes <= MAX_PULL_BYTES, "a page of {bytes} bytes");
        pages += 1;
        got.extend(page.changes.iter().map(|c| c.revision.rev));
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    assert!(pages >= 3, "{pages} pages");
    assert_eq!(
        got,
        all.iter().map(|c| c.rev).collect::<Vec<_>>(),
        "every revision once, in order"
    );
}

async fn the_body_limit_is_the_documented_one_and_every_refusal_is_the_same_json(app: TestApp) {
    let who = format!("village-{VILLAGE}");
    // A batch of long texts well over axum's own default, under Shequ's limit, is taken.
    let long = |i: usize| {
        let mut c = case(VILLAGE, &format!("长文{i}"), false);
        c.content
            .insert("decision".into(), json!("议".repeat(5000)));
        c
    };
    let one = serde_json::to_vec(&long(0)).unwrap().len();
    let batch: Vec<_> = (0..shequ_server::MAX_BODY * 3 / 4 / one)
        .map(long)
        .collect();
    let r = app
        .post_as(&who, "/api/sync/push")
        .await
        .json(&json!({"device": "d", "changes": batch}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // One byte over it is refused in Chinese, in the API's JSON.
    let pad = shequ_server::MAX_BODY + 1 - r#"{"device":"","changes":[]}"#.len();
    let body = format!(r#"{{"device":"{}","changes":[]}}"#, "x".repeat(pad));
    let r = app
        .post_as(&who, "/api/sync/push")
        .await
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"].as_str().unwrap().contains("太大"), "{e}");
    // Every other refusal too, whoever makes it.
    let token = app.token(&who).await;
    let requests = [
        (app.client.get(app.url("/api/sync/push")), 405),
        (app.client.get(app.url("/api/no/such/thing")), 404),
        (app.client.get(app.url("/api")), 404),
        (
            app.client
                .get(app.url("/api/sync/pull?scope=610324001001&after=soon")),
            400,
        ),
        (
            app.client
                .post(app.url("/api/sync/push"))
                .header("content-encoding", "zstd")
                .body("{}"),
            415,
        ),
    ];
    for (req, status) in requests {
        let r = req.bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), status);
        assert_eq!(r.headers()["content-type"], "application/json");
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"].as_str().is_some_and(|m| !m.is_ascii()),
            "{status}: {e}"
        );
        assert_eq!(e.as_object().unwrap().len(), 1, "{e}");
    }
}

/// The numbers a full push answers are the numbers the revisions are pulled under, for new ones
/// among earlier ones sent again and refused ones.
async fn a_full_push_answers_the_numbers_its_revisions_are_pulled_under(app: TestApp) {
    let earlier: Vec<Revision> = (0..3)
        .map(|i| case(VILLAGE, &format!("先前的议题{i}"), true))
        .collect();
    let first = app.push(&earlier).await;
    let mut batch = Vec::new();
    for i in 0..shequ_model::sync::MAX_PUSH_BATCH - 4 {
        batch.push(case(VILLAGE, &format!("议题{i}"), i % 3 == 0));
        if i % 160 == 80 {
            batch.push(earlier[i / 160].clone());
        }
    }
    let mut bad = case(VILLAGE, "", false);
    bad.content.insert("participants".into(), json!(-3));
    batch.insert(250, bad);
    assert_eq!(batch.len(), shequ_model::sync::MAX_PUSH_BATCH);
    let answer = app.push(&batch).await;
    assert_eq!(answer.results.len(), batch.len());

    let mut answered = std::collections::HashMap::new();
    let mut new_seqs = Vec::new();
    for (sent, result) in batch.iter().zip(&answer.results) {
        assert_eq!(sent.rev, result.rev);
        match result.outcome {
            PushOutcome::Stored { seq } => {
                new_seqs.push(seq);
                answered.insert(sent.rev, seq);
            }
            PushOutcome::Duplicate { seq } => {
                answered.insert(sent.rev, seq);
            }
            PushOutcome::Rejected { .. } => assert_eq!(sent.rev, batch[250].rev),
        }
    }
    assert_eq!(new_seqs.len(), batch.len() - 4);
    assert!(
        new_seqs.windows(2).all(|w| w[0] < w[1]),
        "numbered in order"
    );
    for (e, r) in earlier.iter().zip(&first.results) {
        let PushOutcome::Stored { seq } = r.outcome else {
            panic!("{r:?}")
        };
        assert_eq!(answered[&e.rev], seq, "sent again: its first number");
    }

    let mut pulled = std::collections::HashMap::new();
    let mut cursor = 0;
    loop {
        let page = app.pull(VILLAGE, cursor, 1000).await;
        pulled.extend(page.changes.iter().map(|c| (c.revision.rev, c.seq)));
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    assert_eq!(pulled.len(), batch.len() - 1);
    assert_eq!(pulled, answered);
}

impl TestApp {
    /// Pushes as the worker of the first change's village.
    async fn push(&self, changes: &[shequ_model::Revision]) -> PushResponse {
        let unit = changes
            .first()
            .map(|c| c.unit.to_string())
            .unwrap_or_default();
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
        let resp = self
            .get(&format!(
                "/api/sync/pull?scope={scope}&after={after}&limit={limit}"
            ))
            .await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }
}

common::conformance!(
    a_full_push_answers_the_numbers_its_revisions_are_pulled_under,
    malformed_or_oversized_bodies_get_clear_errors,
    a_pulled_revision_names_the_account_that_pushed_it,
    health_plan_and_areas,
    a_resent_push_is_stored_once_and_other_content_under_the_same_id_is_refused,
    bad_items_are_refused_in_chinese_and_nothing_of_them_is_stored,
    an_oversized_batch_gets_413,
    pull_pages_by_cursor_within_the_scope,
    a_devices_own_revisions_are_left_out_of_its_pull_when_it_asks,
    the_later_edit_wins_and_every_revision_is_kept,
    county_report_counts_successful_cases_per_town_against_targets,
    a_report_as_of_a_month_counts_what_was_done_by_its_end,
    a_push_re_sent_under_its_key_is_answered_again_and_other_content_gets_409,
    concurrent_edits_keep_both_versions_and_the_checksum_follows_the_winner,
    a_deleted_record_leaves_the_figures_but_its_tombstone_syncs,
    idempotency_keys_belong_to_their_account,
    pushes_wait_their_turn_while_people_log_in,
    the_plans_cross_field_rules_refuse_a_push_on_the_right_field,
    a_tombstone_carries_nothing_or_the_content_it_deletes,
    a_number_the_plan_leaves_open_is_bounded,
    a_clock_more_than_a_day_ahead_of_the_server_is_refused,
    a_status_change_is_checked_against_the_record_whether_or_not_parent_is_given,
    pull_pages_are_capped_in_bytes_and_skip_nothing,
    the_body_limit_is_the_documented_one_and_every_refusal_is_the_same_json,
);
