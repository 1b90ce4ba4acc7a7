//! The figures kept per unit stay exactly what the records give, whatever the history: random
//! pushes of new records, edits, conflicting edits, deletes, refused changes and re-sent batches
//! (with and without their key), in two plans, on SQLite and on PostgreSQL. After each history,
//! a rebuild from the records finds nothing to fix, and the reports rolled up from the kept
//! figures are the reports rolled up from the records, now and as of the end of every month of
//! each plan.

mod common;

use common::{case, workspace, VILLAGE, VILLAGE2};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;
use shequ_model::area::AreaTree;
use shequ_model::plan::{PlanId, Plans};
use shequ_model::record::Content;
use shequ_model::rollup::Rollups;
use shequ_model::Revision;
use shequ_server::store::{Author, PlanBook, Store};
use std::sync::Arc;
use uuid::Uuid;

const COUNTY: &str = "610324";
const UNITS: [&str; 3] = [VILLAGE, VILLAGE2, "610324103001"];
const TOWNS: [&str; 2] = ["610324001", "610324103"];

#[derive(Debug, Clone)]
enum Op {
    /// A new case, its steps dated `later` months after the usual ones.
    Case {
        unit: usize,
        success: bool,
        other_plan: bool,
        later: u8,
    },
    Audit {
        town: usize,
        month: u8,
    },
    /// A volunteer activity (its hours, in thirds, a sum of fractions) or a service list (a
    /// flag), in `month`.
    Other {
        unit: usize,
        list: bool,
        n: u8,
        month: u8,
    },
    /// An edit (participants, success) or, without one, a delete of a record made earlier, from
    /// its latest revision or (a conflict) its first, with a later clock or an earlier one.
    Change {
        record: usize,
        edit: Option<(u8, bool, u8)>,
        from_first: bool,
        clock_back: bool,
    },
}

#[derive(Debug, Clone)]
enum Step {
    Push {
        ops: Vec<Op>,
        keyed: bool,
    },
    /// Sends an earlier batch of this history again.
    Resend {
        batch: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize, any::<bool>(), prop::bool::weighted(0.2), 0..8u8)
            .prop_map(|(unit, success, other_plan, later)| Op::Case { unit, success, other_plan, later }),
        1 => (0..2usize, 1..13u8).prop_map(|(town, month)| Op::Audit { town, month }),
        2 => (0..3usize, any::<bool>(), any::<u8>(), 1..13u8)
            .prop_map(|(unit, list, n, month)| Op::Other { unit, list, n, month }),
        5 => (
            any::<usize>(),
            prop::option::weighted(0.8, (1..200u8, any::<bool>(), 0..8u8)),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.3),
        )
            .prop_map(|(record, edit, from_first, clock_back)| Op::Change {
                record,
                edit,
                from_first,
                clock_back
            }),
    ]
}

fn history() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        4 => (prop::collection::vec(op(), 1..4), any::<bool>())
            .prop_map(|(ops, keyed)| Step::Push { ops, keyed }),
        1 => any::<usize>().prop_map(|batch| Step::Resend { batch }),
    ];
    prop::collection::vec(step, 1..10)
}

struct World {
    store: Arc<dyn Store>,
    book: PlanBook,
    other: PlanId,
    tree: AreaTree,
    url: String,
    _dir: tempfile::TempDir,
}

async fn world(database_url: Option<String>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let url =
        database_url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("t.db").display()));
    let store = shequ_server::store::open(&url).await.unwrap();
    shequ_server::import_areas(store.as_ref(), &workspace().join("seeds/fufeng-areas.csv"))
        .await
        .unwrap();
    let mut plans = vec![];
    for file in ["plan-2018.toml", "plan-2019.toml"] {
        let plan = shequ_server::load_plan(&workspace().join("seeds").join(file)).unwrap();
        shequ_server::add_plan(store.as_ref(), &plan, false)
            .await
            .unwrap();
        plans.push(plan);
    }
    let (current, other) = (plans[0].id.clone(), plans[1].id.clone());
    let plans = Plans::new(plans, Some(&current)).unwrap();
    let tree = AreaTree::new(store.areas("").await.unwrap());
    World {
        store,
        book: PlanBook {
            plans,
            legacy: current,
        },
        other,
        tree,
        url,
        _dir: dir,
    }
}

/// A case's content with its dates in the 2019 plan's year.
fn in_2019(content: &Content) -> Content {
    let json = serde_json::to_string(content).unwrap();
    serde_json::from_str(&json.replace("\"2018-", "\"2019-")).unwrap()
}

/// A case's content with every step dated `later` months after its own date (the case's steps
/// lie in March to May).
fn later(content: &Content, later: u8) -> Content {
    let mut content = content.clone();
    if let Some(dates) = content
        .get_mut("steps")
        .and_then(|s| s.get_mut("dates"))
        .and_then(|d| d.as_object_mut())
    {
        for d in dates.values_mut() {
            let date = d.as_str().unwrap();
            let month: u8 = date[5..7].parse().unwrap();
            *d = json!(format!("{}-{:02}{}", &date[..4], month + later, &date[7..]));
        }
    }
    content
}

const LISTS: [&str; 4] = [
    "公共服务目录",
    "权责清单",
    "便民利民服务清单",
    "志愿服务清单",
];

/// A volunteer activity or a service list, from a small number, in a month of 2018.
fn register(list: bool, n: u8, month: u8) -> Content {
    let date = format!("2018-{month:02}-02");
    serde_json::from_value(if list {
        json!({"title": "清单", "list_kind": LISTS[n as usize % 4], "published_on": date})
    } else {
        json!({"title": "活动", "date": date, "service": ["助老"], "hours": n as f64 / 3.0})
    })
    .unwrap()
}

/// Every revision this history made of each record, oldest first.
#[derive(Default)]
struct Made {
    records: Vec<Vec<Revision>>,
    batches: Vec<(Vec<Revision>, Option<String>)>,
    clock: u64,
}

impl Made {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        (1_000 + self.clock) << 16
    }

    fn change(&mut self, op: &Op, other: &PlanId) -> Option<Revision> {
        let clock = self.tick();
        let r = match op {
            Op::Case {
                unit,
                success,
                other_plan,
                later: months,
            } => {
                let mut r = case(UNITS[*unit], "修缮小区路灯", *success);
                r.content = later(&r.content, *months);
                r.clock = clock;
                if *other_plan {
                    r.plan = other.clone();
                    r.content = in_2019(&r.content);
                }
                self.records.push(vec![]);
                r
            }
            Op::Audit { town, month } => {
                let mut r = case(TOWNS[*town], "x", false);
                r.form = "fund_audit".into();
                r.content = serde_json::from_value(json!({
                    "title": "2018年经费审计",
                    "year": 2018,
                    "date": format!("2018-{month:02}-01")
                }))
                .unwrap();
                r.clock = clock;
                self.records.push(vec![]);
                r
            }
            Op::Other {
                unit,
                list,
                n,
                month,
            } => {
                let mut r = case(UNITS[*unit], "x", false);
                r.form = if *list {
                    "service_list"
                } else {
                    "volunteer_activity"
                }
                .into();
                r.content = register(*list, *n, *month);
                r.clock = clock;
                self.records.push(vec![]);
                r
            }
            Op::Change {
                record,
                edit,
                from_first,
                clock_back,
            } => {
                let revs = self.records.get(record % self.records.len().max(1))?;
                let base = if *from_first {
                    revs.first()?
                } else {
                    revs.last()?
                };
                let mut r = base.clone();
                r.parent = Some(base.rev);
                r.rev = Uuid::now_v7();
                r.clock = if *clock_back { base.clock - 1 } else { clock };
                if let Some((participants, success, months)) = edit {
                    let mut fresh = case(VILLAGE, "修缮小区路灯", *success);
                    fresh.content = later(&fresh.content, *months);
                    if r.form == "deliberation_case" {
                        r.content = if r.plan == *other {
                            in_2019(&fresh.content)
                        } else {
                            fresh.content
                        };
                        r.content.insert("participants".into(), json!(participants));
                    } else if r.form != "fund_audit" {
                        let list = r.form == "service_list";
                        r.content = register(list, *participants, 1 + *months);
                    }
                    r.deleted = false;
                } else {
                    r.deleted = true;
                    r.content = Default::default();
                }
                let at = self
                    .records
                    .iter()
                    .position(|v| v.first().map(|f| f.record) == Some(r.record))?;
                self.records[at].push(r.clone());
                return Some(r);
            }
        };
        let at = self.records.len() - 1;
        self.records[at].push(r.clone());
        Some(r)
    }
}

async fn play(w: &World, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let by = Author {
        account: "county".into(),
        device: "prop".into(),
    };
    let mut made = Made::default();
    for step in steps {
        let (batch, key) = match step {
            Step::Push { ops, keyed } => {
                let batch: Vec<Revision> = ops
                    .iter()
                    .filter_map(|o| made.change(o, &w.other))
                    .collect();
                let key = keyed.then(|| Uuid::now_v7().to_string());
                made.batches.push((batch.clone(), key.clone()));
                (batch, key)
            }
            Step::Resend { batch } if !made.batches.is_empty() => {
                made.batches[batch % made.batches.len()].clone()
            }
            Step::Resend { .. } => continue,
        };
        if batch.is_empty() {
            continue;
        }
        w.store
            .push(&w.book, &by, key.as_deref(), &batch)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
    for plan in w.book.plans.iter() {
        let records = w.store.live_records(&plan.id, COUNTY).await.unwrap();
        let months = plan.period().months();
        for as_of in std::iter::once(None).chain(months.iter().copied().map(Some)) {
            let kept = w.store.unit_figures(&plan.id, COUNTY, as_of).await.unwrap();
            let (from_kept, from_records) = (
                Rollups::from_figures(plan, &w.tree, &kept).as_of(as_of),
                Rollups::new(plan, &w.tree, &records).as_of(as_of),
            );
            for code in [COUNTY, TOWNS[0], TOWNS[1], UNITS[0], UNITS[1], UNITS[2]] {
                prop_assert_eq!(
                    from_kept.report(code),
                    from_records.report(code),
                    "{} as of {:?}",
                    code,
                    as_of
                );
            }
        }
        // A month series reads the same figures, one indicator at a time.
        let mut series = std::collections::BTreeMap::new();
        for ind in &plan.indicators {
            for (m, units) in w
                .store
                .indicator_months(&plan.id, COUNTY, &ind.id)
                .await
                .unwrap()
            {
                for (u, f) in units {
                    series.insert((m, u, ind.id.clone()), f[&ind.id]);
                }
            }
        }
        let mut whole = std::collections::BTreeMap::new();
        for m in &months {
            for (u, figures) in w
                .store
                .unit_figures(&plan.id, COUNTY, Some(*m))
                .await
                .unwrap()
            {
                for (ind, f) in figures {
                    whole.insert((*m, u.clone(), ind), f);
                }
            }
        }
        prop_assert_eq!(series, whole);
    }
    let rebuilt = w.store.rebuild_rollups(&w.book.plans).await.unwrap();
    prop_assert!(rebuilt.fixed.is_empty(), "{}", rebuilt);
    Ok(())
}

fn histories(database_url: Option<String>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let w = rt.block_on(world(database_url));
    // The store carries over from one history to the next: each history starts where the last
    // one left the records.
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&history(), |steps| rt.block_on(play(&w, steps)))
        .unwrap();
    // The histories did what they claim: records in both plans, edits, deletes, conflicts.
    let trail = rt
        .block_on(w.store.audit("", &Default::default(), 100_000))
        .unwrap();
    let records: std::collections::HashSet<&str> =
        trail.iter().map(|e| e.record.as_str()).collect();
    assert!(trail.len() > records.len(), "edits were stored");
    assert!(trail.iter().any(|e| e.deleted), "deletes were stored");
    for plan in w.book.plans.iter() {
        assert!(!rt
            .block_on(w.store.live_records(&plan.id, COUNTY))
            .unwrap()
            .is_empty());
    }
}

#[test]
fn kept_figures_equal_the_records_after_every_history_on_sqlite() {
    histories(None);
}

#[test]
fn kept_figures_equal_the_records_after_every_history_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    match rt.block_on(common::fresh_postgres()) {
        Some(url) => {
            drop(rt);
            histories(Some(url))
        }
        None => println!("SHEQU_TEST_POSTGRES_URL is not set: PostgreSQL not tested here"),
    }
}

/// A second county beside Fufeng, and the city and province above both.
const WIDER: &str = "code,name,level,parent_code\n61,陕西省,province,\n6103,宝鸡市,city,61\n610302,渭滨区,county,6103\n610302001,金陵街道,town,610302\n610302001001,金陵村委会,village,610302001\n";

/// Reports above a county take the counties rolled up before as they were: what another process
/// changes since — a push in either county, a town's target, a new village — is seen by the next
/// report all the same, and a county nothing changed in is not rolled up again.
async fn wide_reports(database_url: Option<String>) {
    let w = world(database_url).await;
    let file = w._dir.path().join("wider.csv");
    std::fs::write(&file, WIDER).unwrap();
    shequ_server::import_areas(w.store.as_ref(), &file)
        .await
        .unwrap();
    // Another process on the same database.
    let other = shequ_server::store::open(&w.url).await.unwrap();
    let plan = w.book.plans.current().clone();
    let by = Author {
        account: "county".into(),
        device: "wide".into(),
    };
    let served = |code: &'static str| {
        let (store, plan) = (w.store.clone(), plan.clone());
        async move {
            shequ_server::store::report(store.as_ref(), &plan, code, None)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let recomputed = |code: &'static str| {
        let (store, plan) = (other.clone(), plan.clone());
        async move {
            let mut areas = store.areas(code).await.unwrap();
            if code.is_empty() {
                areas.push(shequ_model::area::Area::nation());
            }
            let tree = AreaTree::new(areas);
            let records = store.live_records(&plan.id, code).await.unwrap();
            let targets = store.town_targets(&plan.id).await.unwrap();
            Rollups::new(&plan, &tree, &records)
                .with_town_targets(&targets)
                .report(code)
                .unwrap()
        }
    };
    let agree = |when: &'static str| {
        let (served, recomputed) = (&served, &recomputed);
        async move {
            for code in ["6103", "61", ""] {
                assert_eq!(served(code).await, recomputed(code).await, "{code} {when}");
            }
        }
    };
    agree("before any record").await;
    assert_eq!(
        w.store.county_rollups().len(),
        3,
        "both counties kept, and the province for the nation"
    );
    let kept = w.store.county_rollups().len();
    agree("asked again").await;
    assert_eq!(w.store.county_rollups().len(), kept);

    for (unit, when) in [
        (VILLAGE, "after a push in Fufeng"),
        ("610302001001", "after a push in the other county"),
    ] {
        other
            .push(&w.book, &by, None, &[case(unit, "议题", true)])
            .await
            .unwrap();
        agree(when).await;
    }
    let served_city = served("6103").await;
    let cases = |r: &shequ_model::rollup::Report| {
        r.unit
            .cells
            .iter()
            .find(|c| c.indicator == "deliberation_cases")
            .and_then(|c| c.value)
    };
    assert_eq!(cases(&served_city), Some(2.0), "one case in each county");

    // A town's target, set by another process.
    let ind = plan
        .indicators
        .iter()
        .find(|i| {
            i.level == shequ_model::Level::Village && i.rollup == shequ_model::plan::Rollup::Sum
        })
        .unwrap();
    let change = shequ_model::table::TargetChange {
        indicator: ind.id.clone(),
        indicator_name: ind.name.clone(),
        town: "610302001".into(),
        town_name: "金陵街道".into(),
        before: None,
        after: shequ_model::plan::Target {
            min: Some(7.0),
            goal: None,
            max: None,
        },
    };
    let action = shequ_model::auth::AdminAction {
        seq: 0,
        at: 1,
        account: "county".into(),
        device: "wide".into(),
        unit: "610302".into(),
        action: shequ_model::auth::AdminActionKind::ImportTargets,
        detail: json!({}),
    };
    other
        .set_town_targets(&plan.id, &[change], &action)
        .await
        .unwrap();
    agree("after a town's target").await;

    // A village more in the other county, imported beside the server.
    let more = w._dir.path().join("more.csv");
    std::fs::write(
        &more,
        "code,name,level,parent_code\n610302001002,新村委会,village,610302001\n",
    )
    .unwrap();
    shequ_server::import_areas(other.as_ref(), &more)
        .await
        .unwrap();
    agree("after a village more").await;
}

#[tokio::test]
async fn wide_reports_follow_every_change_on_sqlite() {
    wide_reports(None).await;
}

#[tokio::test]
async fn wide_reports_follow_every_change_on_postgres() {
    match common::fresh_postgres().await {
        Some(url) => wide_reports(Some(url)).await,
        None => println!("SHEQU_TEST_POSTGRES_URL is not set: PostgreSQL not tested here"),
    }
}
