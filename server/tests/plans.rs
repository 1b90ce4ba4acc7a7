//! Plans across years: records of two plans side by side, each counted against its own plan; a
//! record stays in its plan for good; a database from before records carried a plan.

mod common;

use common::{case, restart, settings_on, workspace, TestApp, VILLAGE};
use serde_json::{json, Value};
use shequ_model::plan::{PlanId, PlanSummary};
use shequ_model::record::same_plan;
use shequ_model::sync::{PullPage, PushOutcome, PushResponse};
use shequ_model::Revision;
use uuid::Uuid;

const P2018: &str = "fufeng-2018";
const P2019: &str = "fufeng-2019";

fn id(s: &str) -> PlanId {
    PlanId::parse(s).unwrap()
}

/// A successful deliberation case of `year`, naming `plan` (none: as an app from before plans).
fn year_case(plan: Option<&str>, year: i32, topic: &str) -> Revision {
    let mut r = case(VILLAGE, topic, true);
    let dated = serde_json::to_string(&r.content)
        .unwrap()
        .replace("2018-", &format!("{year}-"));
    r.content = serde_json::from_str(&dated).unwrap();
    r.plan = plan.map(id).unwrap_or_default();
    r
}

/// An edit of `of`, naming `plan`.
fn edit(of: &Revision, plan: Option<&str>, topic: &str) -> Revision {
    let mut r = of.clone();
    r.rev = Uuid::now_v7();
    r.parent = Some(of.rev);
    r.clock = of.clock + 1;
    r.content.insert("topic".into(), json!(topic));
    r.plan = plan.map(id).unwrap_or_default();
    r
}

async fn push(app: &TestApp, changes: &[Revision]) -> Vec<PushOutcome> {
    let resp = app
        .post_as(&format!("village-{VILLAGE}"), "/api/sync/push")
        .await
        .json(&json!({"device": "test-device", "changes": changes}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: PushResponse = resp.json().await.unwrap();
    answer.results.into_iter().map(|r| r.outcome).collect()
}

fn stored(outcomes: &[PushOutcome]) {
    for o in outcomes {
        assert!(matches!(o, PushOutcome::Stored { .. }), "{outcomes:?}");
    }
}

async fn pull(app: &TestApp, query: &str) -> PullPage {
    let resp = app
        .get(&format!("/api/sync/pull?scope={VILLAGE}{query}"))
        .await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn report(app: &TestApp, query: &str) -> Value {
    let resp = app.get(&format!("/api/report/610324{query}")).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// A unit's cell of successful deliberation cases (of a report: the county's).
fn success(report: &Value) -> Value {
    let unit = if report["unit"].is_object() {
        &report["unit"]
    } else {
        report
    };
    unit["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["indicator"] == "deliberation_success")
        .cloned()
        .unwrap()
}

/// Every plan file of the seeds.
fn with_every_seed_plan(s: &mut shequ_server::settings::Settings) {
    s.plans = Some(workspace().join("seeds"));
}

async fn two_years_side_by_side_each_counted_against_its_own_plan(app: TestApp) {
    // Under 2018 alone: one case naming its plan, one from an app that names none.
    let of_2018 = [
        year_case(Some(P2018), 2018, "一"),
        year_case(None, 2018, "二"),
    ];
    stored(&push(&app, &of_2018).await);
    let report_2018 = report(&app, "").await;
    assert_eq!(success(&report_2018)["value"], json!(of_2018.len() as f64));

    let app = restart(&app, with_every_seed_plan).await;
    let plans: Vec<PlanSummary> = app.get("/api/plans").await.json().await.unwrap();
    let ids: Vec<&str> = plans.iter().map(|p| p.id.as_str()).collect();
    assert!(ids.contains(&P2018) && ids.contains(&P2019), "{ids:?}");
    let current: Vec<&str> = plans
        .iter()
        .filter(|p| p.current)
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(current, [P2019], "the latest year is current");

    let of_2019 = [
        year_case(Some(P2019), 2019, "三"),
        year_case(Some(P2019), 2019, "四"),
        year_case(Some(P2019), 2019, "五"),
    ];
    stored(&push(&app, &of_2019).await);
    // 2018's figures are what they were; 2019's count only 2019's records, against 2019's targets.
    assert_eq!(report(&app, &format!("?plan={P2018}")).await, report_2018);
    let report_2019 = report(&app, "").await;
    assert_eq!(report(&app, &format!("?plan={P2019}")).await, report_2019);
    assert_eq!(success(&report_2019)["value"], json!(of_2019.len() as f64));
    let town_target = |report: &Value| {
        let town = report["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["area"]["code"] == "610324001")
            .cloned()
            .unwrap();
        success(&town)["target"].clone()
    };
    assert!(!town_target(&report_2019).is_null());
    assert_ne!(town_target(&report_2019), town_target(&report_2018));
    let plan_2019: Value = app
        .get(&format!("/api/plans/{P2019}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        report_2019["unit"]["cells"].as_array().unwrap().len(),
        plan_2019["indicators"].as_array().unwrap().len()
    );
    assert_eq!(
        app.get("/api/report/610324?plan=fufeng-2099")
            .await
            .status(),
        404
    );

    // Each plan with its ETag; `/api/plan` is the current one.
    let one = app.get(&format!("/api/plans/{P2019}")).await;
    let etag = one.headers()["etag"].to_str().unwrap().to_string();
    let current = app.get("/api/plan").await;
    assert_eq!(current.headers()["etag"].to_str().unwrap(), etag);
    let again = app
        .client
        .get(app.url(&format!("/api/plans/{P2019}")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let other = app.get(&format!("/api/plans/{P2018}")).await;
    assert_ne!(other.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(app.get("/api/plans/fufeng-2099").await.status(), 404);
}

async fn a_record_of_an_earlier_plan_stays_in_it_and_syncs(app: TestApp) {
    let first = year_case(None, 2018, "旧");
    stored(&push(&app, std::slice::from_ref(&first)).await);
    let app = restart(&app, with_every_seed_plan).await;

    // Edited after 2019 became current, by an old app and by a new one: it stays in 2018.
    let by_old_app = edit(&first, None, "旧的改过");
    let by_new_app = edit(&by_old_app, Some(P2018), "又改过");
    stored(&push(&app, &[by_old_app.clone(), by_new_app.clone()]).await);
    // Sent again as it was made, without a plan: the same revision.
    let again = push(&app, &[by_old_app]).await;
    assert!(
        matches!(again[0], PushOutcome::Duplicate { .. }),
        "{again:?}"
    );
    // Moving it to another plan is refused, and so is a plan the server does not hold.
    let mut moved = edit(&by_new_app, Some(P2019), "搬到2019");
    moved.content = year_case(None, 2019, "搬到2019").content;
    let unknown = year_case(Some("fufeng-2099"), 2018, "无此计划");
    let answers = push(&app, &[moved, unknown]).await;
    let stays = same_plan(&id(P2018), &id(P2019)).unwrap_err();
    assert!(
        matches!(&answers[0], PushOutcome::Rejected { reason, .. } if *reason == stays),
        "{answers:?}"
    );
    assert!(
        matches!(&answers[1], PushOutcome::Rejected { reason, .. } if reason.contains("服务器上没有计划 fufeng-2099")),
        "{answers:?}"
    );

    let page = pull(&app, "").await;
    let of_record: Vec<&Revision> = page
        .changes
        .iter()
        .map(|c| &c.revision)
        .filter(|r| r.record == first.record)
        .collect();
    assert_eq!(of_record.len(), 3, "nothing refused was stored");
    assert!(
        of_record.iter().all(|r| r.plan == id(P2018)),
        "{of_record:?}"
    );
    assert_eq!(pull(&app, &format!("&plan={P2018}")).await.changes.len(), 3);
    assert!(pull(&app, &format!("&plan={P2019}"))
        .await
        .changes
        .is_empty());
    assert_eq!(
        success(&report(&app, &format!("?plan={P2018}")).await)["value"],
        json!(1.0)
    );
    assert_eq!(success(&report(&app, "").await)["value"], json!(0.0));
}

async fn a_changed_plan_file_under_a_kept_id_stops_the_start(app: TestApp) {
    let kept: Value = app.get("/api/plan").await.json().await.unwrap();
    let changed = app.dir.path().join("changed-plan.toml");
    let text = std::fs::read_to_string(workspace().join("seeds/plan-2018.toml")).unwrap();
    std::fs::write(&changed, text.replacen("title = \"", "title = \"改过的", 1)).unwrap();
    let mut s = settings_on(&app.database_url);
    s.plan = changed;
    let refused = match shequ_server::launch(&s).await {
        Ok(_) => panic!("a changed plan under a kept id was taken"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("changed-plan.toml"), "{refused}");
    let again = restart(&app, |_| {}).await;
    let served: Value = again.get("/api/plan").await.json().await.unwrap();
    assert_eq!(served, kept, "the kept plan stays as it was");
}

common::conformance!(
    two_years_side_by_side_each_counted_against_its_own_plan,
    a_record_of_an_earlier_plan_stays_in_it_and_syncs,
    a_changed_plan_file_under_a_kept_id_stops_the_start,
);

/// A database written before records carried a plan: the migrations before plans, and rows
/// stored as that server stored them.
mod before_plans {
    use super::*;
    use common::{fresh_postgres, spawn_at};
    use sqlx::migrate::Migrator;
    use std::path::Path;

    /// The first migration of plans across years.
    const PLANS_MIGRATION: i64 = 4;

    async fn old_migrator(engine: &str) -> Migrator {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(engine);
        let mut m = Migrator::new(dir).await.unwrap();
        m.migrations = m
            .migrations
            .iter()
            .filter(|m| m.version < PLANS_MIGRATION)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        m
    }

    const INSERT_REVISION: &str = "INSERT INTO revisions (rev, record, parent, device, clock, form, unit, deleted, body, hash, received_at, account)
         VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $10, 'village')";
    const INSERT_RECORD: &str =
        "INSERT INTO records (id, rev, clock, form, unit, deleted, body, seq, conflict)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)";

    macro_rules! write_old_rows {
        ($pool:expr, $r:expr) => {{
            let r: &Revision = $r;
            let body = serde_json::to_string(r).unwrap();
            sqlx::query(INSERT_REVISION)
                .bind(r.rev.to_string())
                .bind(r.record.to_string())
                .bind(r.device.clone())
                .bind(r.clock as i64)
                .bind(r.form.clone())
                .bind(r.unit.to_string())
                .bind(false)
                .bind(&body)
                .bind(r.content_hash())
                .bind(0i64)
                .execute($pool)
                .await
                .unwrap();
            sqlx::query(INSERT_RECORD)
                .bind(r.record.to_string())
                .bind(r.rev.to_string())
                .bind(r.clock as i64)
                .bind(r.form.clone())
                .bind(r.unit.to_string())
                .bind(false)
                .bind(&body)
                .bind(false)
                .execute($pool)
                .await
                .unwrap();
        }};
    }

    /// The URL of a database as the server left it before plans, holding `old`.
    async fn old_database(engine: common::Engine, dir: &Path, old: &Revision) -> Option<String> {
        match engine {
            common::Engine::Sqlite => {
                let url = format!("sqlite://{}", dir.join("old.db").display());
                let opts: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
                let pool = sqlx::SqlitePool::connect_with(opts.create_if_missing(true))
                    .await
                    .unwrap();
                old_migrator("sqlite").await.run(&pool).await.unwrap();
                write_old_rows!(&pool, old);
                pool.close().await;
                Some(url)
            }
            common::Engine::Postgres => {
                let url = fresh_postgres().await?;
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                old_migrator("postgres").await.run(&pool).await.unwrap();
                write_old_rows!(&pool, old);
                pool.close().await;
                Some(url)
            }
        }
    }

    /// `shequ-server --database URL plan ARGS`: whether it succeeded, its output and its errors.
    fn plan_command(url: &str, args: &[&str]) -> (bool, String, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shequ-server"))
            .current_dir(workspace())
            .args(["--database", url, "plan"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    async fn its_records_join_the_legacy_plan(engine: common::Engine) {
        let dir = tempfile::tempdir().unwrap();
        let old = year_case(None, 2018, "升级前");
        assert!(old.plan.is_empty());
        let Some(url) = old_database(engine, dir.path(), &old).await else {
            println!("SHEQU_TEST_POSTGRES_URL is not set: PostgreSQL not tested here");
            return;
        };
        // Adding next year's plan before that first start would take the old records: refused.
        let (refused, _, err) = plan_command(&url, &["add", "seeds/plan-2019.toml"]);
        assert!(!refused && err.contains("start the server once"), "{err}");
        // The first start after the upgrade runs with 2018: the legacy plan.
        let app = spawn_at(url.clone(), |_| {}).await;
        let (added, out, err) = plan_command(&url, &["add", "seeds/plan-2019.toml"]);
        assert!(added, "{out}{err}");
        let seen = pull(&app, "").await;
        assert_eq!(seen.changes.len(), 1);
        assert_eq!(seen.changes[0].revision.plan, id(P2018));
        assert_eq!(success(&report(&app, "").await)["value"], json!(1.0));

        // 2019 arrives; the legacy plan stays 2018.
        let app = restart(&app, with_every_seed_plan).await;
        // The phone re-sends the revision as it made it: the same revision, not a refusal.
        let answers = push(&app, std::slice::from_ref(&old)).await;
        assert!(
            matches!(answers[0], PushOutcome::Duplicate { .. }),
            "{answers:?}"
        );
        stored(&push(&app, &[edit(&old, None, "升级后改过")]).await);
        let page = pull(&app, &format!("&plan={P2018}")).await;
        assert_eq!(page.changes.len(), 2);
        assert_eq!(
            success(&report(&app, &format!("?plan={P2018}")).await)["value"],
            json!(1.0)
        );
    }

    /// The first start after the upgrade is given every plan at once, 2019 current: the old
    /// records were made under the one plan file a server of that time ran with, 2018.
    async fn upgraded_with_a_later_plan_current(engine: common::Engine) {
        let dir = tempfile::tempdir().unwrap();
        let old = year_case(None, 2018, "升级前");
        let Some(url) = old_database(engine, dir.path(), &old).await else {
            println!("SHEQU_TEST_POSTGRES_URL is not set: PostgreSQL not tested here");
            return;
        };
        let app = spawn_at(url.clone(), with_every_seed_plan).await;
        let seen = pull(&app, "").await;
        assert_eq!(seen.changes[0].revision.plan, id(P2018));
        assert_eq!(
            success(&report(&app, &format!("?plan={P2018}")).await)["value"],
            json!(1.0)
        );
        stored(&push(&app, &[edit(&old, None, "升级后改过")]).await);
    }

    #[tokio::test]
    async fn on_sqlite() {
        its_records_join_the_legacy_plan(common::Engine::Sqlite).await
    }

    #[tokio::test]
    async fn with_a_later_plan_current_on_sqlite() {
        upgraded_with_a_later_plan_current(common::Engine::Sqlite).await
    }

    #[tokio::test]
    async fn with_a_later_plan_current_on_postgres() {
        upgraded_with_a_later_plan_current(common::Engine::Postgres).await
    }

    #[tokio::test]
    async fn on_postgres() {
        its_records_join_the_legacy_plan(common::Engine::Postgres).await
    }
}
