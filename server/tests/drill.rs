//! The records behind a figure (`GET /api/records?indicator=..`) and a record's history
//! (`GET /api/records/{id}/history`): the records a figure lists are those it counts, as many as
//! a count's figure, now and as of a month, a page at a time; a history shows every revision with
//! who made it and what changed, conflicting versions included; both within the caller's scope.

mod common;

use common::{case, TestApp, VILLAGE, VILLAGE2};
use serde_json::{json, Value};
use shequ_model::history::RecordHistory;
use shequ_model::listing::RecordPage;
use shequ_model::rollup::Report;
use shequ_model::sync::{PushOutcome, PushResponse};
use shequ_model::Revision;
use std::collections::BTreeSet;
use uuid::Uuid;

const COUNTY: &str = "610324";
const TOWN: &str = "610324001";
const OTHER_TOWN: &str = "610324103";
const OTHER_TOWN_VILLAGE: &str = "610324103001";

/// Pushes as `who` from `device`; every change is stored.
async fn push_as(app: &TestApp, who: &str, device: &str, changes: &[Revision]) {
    for batch in changes.chunks(500) {
        let resp = app
            .post_as(who, "/api/sync/push")
            .await
            .json(&json!({"device": device, "changes": batch}))
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
}

/// Pushes as the worker of the first change's village.
async fn push(app: &TestApp, changes: &[Revision]) {
    let who = format!("village-{}", changes[0].unit);
    push_as(app, &who, "test-device", changes).await;
}

/// Every record of a listing, page after page; pages of an indicator's records may be short.
async fn listing(app: &TestApp, who: &str, query: &str, limit: u32) -> Vec<Uuid> {
    let mut got = Vec::new();
    let mut before = String::new();
    loop {
        let resp = app
            .get_as(who, &format!("/api/records?{query}&limit={limit}{before}"))
            .await;
        assert_eq!(resp.status(), 200, "{query}");
        let p: RecordPage = resp.json().await.unwrap();
        assert!(p.records.len() <= limit as usize);
        got.extend(p.records.iter().map(|r| r.record));
        match p.next {
            Some(next) => before = format!("&before={next}"),
            None => return got,
        }
    }
}

/// The value of an indicator's figure for a unit, as the report gives it.
async fn figure(app: &TestApp, unit: &str, indicator: &str, as_of: Option<&str>) -> f64 {
    let q = as_of.map(|m| format!("?as_of={m}")).unwrap_or_default();
    let resp = app.get(&format!("/api/report/{unit}{q}")).await;
    assert_eq!(resp.status(), 200);
    let report: Report = resp.json().await.unwrap();
    report
        .unit
        .cells
        .iter()
        .find(|c| c.indicator == indicator)
        .and_then(|c| c.value)
        .unwrap()
}

fn ids<'a>(rs: impl IntoIterator<Item = &'a Revision>) -> BTreeSet<Uuid> {
    rs.into_iter().map(|r| r.record).collect()
}

fn edit(of: &Revision, change: impl FnOnce(&mut Revision)) -> Revision {
    let mut r = of.clone();
    r.rev = Uuid::now_v7();
    r.parent = Some(of.rev);
    r.clock = of.clock + 1;
    change(&mut r);
    r
}

async fn a_figure_lists_the_records_it_counts_as_many_as_it_counts(app: TestApp) {
    let mine: Vec<Revision> = (0..6)
        .map(|i| case(VILLAGE, &format!("本村{i}"), i % 2 == 0))
        .collect();
    let theirs: Vec<Revision> = (0..3)
        .map(|i| case(VILLAGE2, &format!("邻村{i}"), i == 0))
        .collect();
    let far: Vec<Revision> = (0..2)
        .map(|i| case(OTHER_TOWN_VILLAGE, &format!("外镇{i}"), true))
        .collect();
    push(&app, &mine).await;
    push(&app, &theirs).await;
    push(&app, &far).await;
    // A successful case made unsuccessful leaves the figure's records; a deleted one leaves both.
    let undone = edit(&mine[0], |r| {
        r.content.insert("feedback".into(), json!(false));
    });
    let gone = edit(&mine[1], |r| r.deleted = true);
    push(&app, &[undone, gone]).await;

    let successful: BTreeSet<Uuid> = ids([&mine[2], &mine[4], &theirs[0]]);
    let cases: BTreeSet<Uuid> = ids(mine.iter().chain(&theirs))
        .into_iter()
        .filter(|id| *id != mine[1].record)
        .collect();
    for (who, unit) in [("county", TOWN), (&format!("town-{TOWN}") as &str, TOWN)] {
        for limit in [1, 2, 100] {
            let got = listing(
                &app,
                who,
                &format!("unit={unit}&indicator=deliberation_success"),
                limit,
            )
            .await;
            assert_eq!(got.len(), successful.len(), "each record once");
            assert_eq!(got.iter().copied().collect::<BTreeSet<_>>(), successful);
        }
        let got = listing(
            &app,
            who,
            &format!("unit={unit}&indicator=deliberation_cases"),
            3,
        )
        .await;
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), cases);
    }
    // As many as the figure, for the county, a town and a village, now and as of months.
    for unit in [COUNTY, TOWN, VILLAGE, OTHER_TOWN] {
        for ind in ["deliberation_success", "deliberation_cases"] {
            for as_of in [None, Some("2018-02"), Some("2018-04"), Some("2018-05")] {
                let q = as_of.map(|m| format!("&as_of={m}")).unwrap_or_default();
                let got = listing(
                    &app,
                    "county",
                    &format!("unit={unit}&indicator={ind}{q}"),
                    100,
                )
                .await;
                assert_eq!(
                    got.len() as f64,
                    figure(&app, unit, ind, as_of).await,
                    "{unit} {ind} {as_of:?}"
                );
            }
        }
    }
    // A case counts as successful from the month it reached 民事民评 (May).
    let april = listing(
        &app,
        "county",
        &format!("unit={COUNTY}&indicator=deliberation_success&as_of=2018-04"),
        100,
    )
    .await;
    assert!(april.is_empty());
    // Of another form than the figure reads: nothing.
    let none = listing(
        &app,
        "county",
        &format!("unit={COUNTY}&indicator=deliberation_success&form=volunteer"),
        100,
    )
    .await;
    assert!(none.is_empty());
}

async fn a_page_reads_a_bounded_number_of_records_and_says_where_it_stopped(app: TestApp) {
    let counted: Vec<Revision> = (0..3)
        .map(|i| case(VILLAGE, &format!("成功{i}"), true))
        .collect();
    push(&app, &counted).await;
    let others: Vec<Revision> = (0..1100)
        .map(|i| case(VILLAGE, &format!("其他{i}"), false))
        .collect();
    push(&app, &others).await;
    let q = format!("/api/records?unit={VILLAGE}&indicator=deliberation_success&limit=10");
    let first: RecordPage = app.get(&q).await.json().await.unwrap();
    assert!(first.records.is_empty(), "the newest records do not count");
    assert!(first.next.is_some(), "and the list goes on");
    assert_eq!(
        listing(
            &app,
            "county",
            &format!("unit={VILLAGE}&indicator=deliberation_success"),
            10
        )
        .await
        .into_iter()
        .collect::<BTreeSet<_>>(),
        ids(&counted)
    );
}

async fn a_figures_records_are_refused_outside_the_scope(app: TestApp) {
    push(&app, &[case(VILLAGE, "本村", true)]).await;
    let town = format!("town-{TOWN}");
    let worker = format!("village-{VILLAGE2}");
    let ind = "indicator=deliberation_success";
    let refusals: &[(&str, String, u16)] = &[
        (&town, format!("unit={OTHER_TOWN}&{ind}"), 403),
        (&town, format!("unit={OTHER_TOWN_VILLAGE}&{ind}"), 403),
        (&town, format!("unit={COUNTY}&{ind}"), 403),
        (&worker, format!("unit={VILLAGE}&{ind}"), 403),
        (
            "county",
            format!("unit={COUNTY}&indicator=no_such_indicator"),
            404,
        ),
        ("county", format!("unit={COUNTY}&{ind}&as_of=2018-13"), 422),
        ("county", format!("unit={COUNTY}&{ind}&as_of=2030-01"), 422),
        ("county", format!("unit={COUNTY}&as_of=2018-05"), 422),
    ];
    for (who, query, status) in refusals {
        let resp = app.get_as(who, &format!("/api/records?{query}")).await;
        assert_eq!(resp.status(), *status, "{who} {query}");
        let e: Value = resp.json().await.unwrap();
        assert!(
            e["error"].as_str().is_some_and(|m| !m.is_ascii()),
            "{who} {query}: {e}"
        );
    }
    assert_eq!(
        listing(&app, &town, &format!("unit={TOWN}&{ind}"), 10)
            .await
            .len(),
        1,
        "within the scope the same query answers"
    );
}

/// A second worker of `VILLAGE`, made by the county administrator, with a password of their
/// own: (their token, their name).
async fn second_worker(app: &TestApp) -> (String, String) {
    let (username, name) = ("fengfeng2", "王二(飞凤)");
    let resp = app
        .post_as("county", "/api/admin/accounts")
        .await
        .json(&json!({"username": username, "name": name, "role": "village_worker", "unit": VILLAGE, "password": "Feng2feng2x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": username, "password": "Feng2feng2x", "device": "phone-2"}))
        .send()
        .await
        .unwrap();
    let s: Value = resp.json().await.unwrap();
    let token = s["token"].as_str().unwrap().to_string();
    let resp = app
        .client
        .post(app.url("/api/auth/password"))
        .bearer_auth(&token)
        .json(&json!({"old": "Feng2feng2x", "new": "Wang2er2feng"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    (token, name.to_string())
}

async fn history(app: &TestApp, who: &str, id: Uuid) -> reqwest::Response {
    app.get_as(who, &format!("/api/records/{id}/history")).await
}

async fn a_record_shows_every_revision_who_made_it_and_what_changed(app: TestApp) {
    let first = case(VILLAGE, "修路灯", false);
    push(&app, std::slice::from_ref(&first)).await;
    let renamed = edit(&first, |r| {
        r.content.insert("topic".into(), json!("修缮路灯"));
    });
    push(&app, std::slice::from_ref(&renamed)).await;
    // Made on another phone from the first version, without seeing the rename: a conflict.
    let (other, other_name) = second_worker(&app).await;
    let counted = edit(&first, |r| {
        r.device = "phone-2".into();
        r.clock = first.clock + 5;
        r.content.insert("participants".into(), json!(30));
    });
    let resp = app
        .client
        .post(app.url("/api/sync/push"))
        .bearer_auth(&other)
        .json(&json!({"device": "phone-2", "changes": [counted]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    for who in [
        "county",
        &format!("town-{TOWN}"),
        &format!("village-{VILLAGE}"),
    ] {
        let resp = history(&app, who, first.record).await;
        assert_eq!(resp.status(), 200, "{who}");
        let h: RecordHistory = resp.json().await.unwrap();
        assert_eq!(h.record, first.record);
        assert_eq!(h.unit_name, "飞凤社区居委会");
        assert!(h.conflict, "two versions made from the first");
        let revs: Vec<Uuid> = h.revisions.iter().map(|e| e.rev).collect();
        assert_eq!(
            revs,
            [first.rev, renamed.rev, counted.rev],
            "in the order stored"
        );
        let [made, rename, count] = &h.revisions[..] else {
            unreachable!()
        };
        assert_eq!(
            made.author, "飞凤社区居委会(演示)",
            "the account's name, not its id"
        );
        assert_eq!(count.author, other_name);
        assert!(made.received_at > 0 && made.received_at <= count.received_at);
        assert!(made.changes.iter().any(|c| c.label == "议事主题"
            && c.old.is_none()
            && c.new.as_deref() == Some("修路灯")));
        assert_eq!(rename.changes.len(), 1, "{:?}", rename.changes);
        assert_eq!(
            (
                rename.changes[0].label.as_str(),
                rename.changes[0].old.as_deref(),
                rename.changes[0].new.as_deref()
            ),
            ("议事主题", Some("修路灯"), Some("修缮路灯"))
        );
        assert_eq!(count.changes.len(), 1, "{:?}", count.changes);
        assert_eq!(count.changes[0].new.as_deref(), Some("30人"));
        assert!(rename.head && count.head && !made.head);
        // The later clock wins; the other version is kept and shown.
        assert!(count.current && !rename.current);
        assert_eq!(h.current.rev, counted.rev);
    }
}

async fn a_long_history_shows_its_newest_revisions_and_its_current_one(app: TestApp) {
    let cap = shequ_model::history::MAX_HISTORY as usize;
    let first = case(VILLAGE, "修路灯", false);
    // Made early from the first version on another phone, with the latest clock: it stays the
    // current version through every edit made after it on the first phone.
    let early = edit(&first, |r| {
        r.device = "phone-2".into();
        r.clock = first.clock + 10_000;
        r.content.insert("topic".into(), json!("另一台手机的版本"));
    });
    let mut changes = vec![first.clone(), early.clone()];
    for i in 0..cap + 5 {
        let last = changes
            .last()
            .filter(|r| r.rev != early.rev)
            .unwrap_or(&first);
        changes.push(edit(last, |r| {
            r.content.insert("participants".into(), json!(100 + i));
        }));
    }
    push(&app, &changes).await;
    let newest = changes.last().unwrap();

    let resp = history(&app, "county", first.record).await;
    assert_eq!(resp.status(), 200);
    let h: RecordHistory = resp.json().await.unwrap();
    assert_eq!(h.current.rev, early.rev, "the current version, however old");
    assert!(h.conflict);
    assert_eq!(h.revisions.len(), cap + 1);
    assert_eq!(h.omitted as usize, changes.len() - cap - 1);
    let (current, shown) = h.revisions.split_first().unwrap();
    assert_eq!(current.rev, early.rev);
    assert!(current.current && current.head);
    let shown: Vec<Uuid> = shown.iter().map(|e| e.rev).collect();
    let expected: Vec<Uuid> = changes[changes.len() - cap..]
        .iter()
        .map(|r| r.rev)
        .collect();
    assert_eq!(shown, expected, "the newest, in the order stored");
    let last = h.revisions.last().unwrap();
    assert_eq!(last.rev, newest.rev);
    assert!(
        last.head && !last.current,
        "the other version of the conflict"
    );
    let oldest_shown = &h.revisions[1];
    assert_eq!(
        oldest_shown.changes.len(),
        1,
        "compared with the version it was made from, though that one is left out: {:?}",
        oldest_shown.changes
    );
}

async fn a_history_is_refused_outside_the_scope(app: TestApp) {
    let mine = case(VILLAGE, "本村", false);
    let far = case(OTHER_TOWN_VILLAGE, "外镇", false);
    push(&app, std::slice::from_ref(&mine)).await;
    push(&app, std::slice::from_ref(&far)).await;
    let refusals: &[(&str, String, u16)] = &[
        (&format!("town-{TOWN}"), far.record.to_string(), 403),
        (&format!("village-{VILLAGE2}"), mine.record.to_string(), 403),
        (
            &format!("village-{OTHER_TOWN_VILLAGE}"),
            mine.record.to_string(),
            403,
        ),
        ("county", Uuid::now_v7().to_string(), 404),
        ("county", "not-a-record".into(), 404),
    ];
    for (who, id, status) in refusals {
        let resp = app.get_as(who, &format!("/api/records/{id}/history")).await;
        assert_eq!(resp.status(), *status, "{who} {id}");
        let e: Value = resp.json().await.unwrap();
        assert!(e["error"].as_str().is_some_and(|m| !m.is_ascii()), "{e}");
        assert_eq!(
            e.as_object().unwrap().len(),
            1,
            "nothing of the record: {e}"
        );
    }
    let anonymous = app
        .client
        .get(app.url(&format!("/api/records/{}/history", mine.record)))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        history(&app, &format!("town-{OTHER_TOWN}"), far.record)
            .await
            .status(),
        200
    );
}

common::conformance!(
    a_figure_lists_the_records_it_counts_as_many_as_it_counts,
    a_page_reads_a_bounded_number_of_records_and_says_where_it_stopped,
    a_figures_records_are_refused_outside_the_scope,
    a_record_shows_every_revision_who_made_it_and_what_changed,
    a_history_is_refused_outside_the_scope,
    a_long_history_shows_its_newest_revisions_and_its_current_one,
    the_audit_trail_filters_by_unit_account_form_and_time,
);

async fn the_audit_trail_filters_by_unit_account_form_and_time(app: TestApp) {
    let mine = case(VILLAGE, "本村", false);
    push(&app, std::slice::from_ref(&mine)).await;
    let theirs = case(VILLAGE2, "邻村", false);
    push(&app, std::slice::from_ref(&theirs)).await;
    let far = case(OTHER_TOWN_VILLAGE, "外镇", false);
    push(&app, std::slice::from_ref(&far)).await;
    let trail = |query: String| {
        let app = &app;
        async move {
            let resp = app.get(&format!("/api/admin/audit?{query}")).await;
            assert_eq!(resp.status(), 200, "{query}");
            let entries: Vec<Value> = resp.json().await.unwrap();
            entries
                .iter()
                .map(|e| e["record"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let id = |r: &Revision| r.record.to_string();
    assert_eq!(
        trail(String::new()).await,
        [id(&far), id(&theirs), id(&mine)]
    );
    assert_eq!(
        trail(format!("unit={TOWN}")).await,
        [id(&theirs), id(&mine)]
    );
    assert_eq!(
        trail(format!("account=village-{VILLAGE2}")).await,
        [id(&theirs)]
    );
    assert!(trail("form=fund_audit".into()).await.is_empty());
    assert_eq!(trail("form=deliberation_case".into()).await.len(), 3);
    let all: Vec<Value> = app.get("/api/admin/audit").await.json().await.unwrap();
    let at = |i: usize| all[i]["received_at"].as_i64().unwrap();
    assert_eq!(
        trail(format!("from={}", at(1))).await.len(),
        [at(0), at(1), at(2)]
            .iter()
            .filter(|t| **t >= at(1))
            .count()
    );
    assert!(trail(format!("until={}", at(2))).await.is_empty());
    assert_eq!(
        trail(format!("from={}&until={}", at(2), at(2) + 1))
            .await
            .len(),
        [at(0), at(1), at(2)]
            .iter()
            .filter(|t| **t == at(2))
            .count()
    );
    // Filters never reach past the caller's scope.
    let resp = app
        .get_as(&format!("town-{TOWN}"), "/api/admin/audit?account=county")
        .await;
    assert_eq!(resp.status(), 403);
}
