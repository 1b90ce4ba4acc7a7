//! PostgreSQL pushes take turns per county: a push to one county does not wait for a push to
//! another still in flight, pushes to one county still take turns, and a pull never skips a
//! revision committed after one with a higher number. Each push is held in flight by a row lock
//! taken from outside, and every claim is shown by what waits for what, never by time. Pushes are
//! sent through two stores on one database, as from two server processes.

mod common;

use common::{case, fresh_postgres, workspace, VILLAGE};
use shequ_model::area::{Area, Level};
use shequ_model::plan::Plans;
use shequ_model::sync::{PushOutcome, PushResult};
use shequ_model::Revision;
use shequ_server::store::{Author, PlanBook, PushAnswer, Store};
use sqlx::{Connection, PgConnection};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// A village of another county, beside the seeds' county 610324.
const OTHER_VILLAGE: &str = "610323001001";
/// A village of the seeds' county other than [`VILLAGE`].
const NEIGHBOUR: &str = "610324001004";

struct World {
    store: Arc<dyn Store>,
    /// The same database as another server process sees it.
    other: Arc<dyn Store>,
    book: Arc<PlanBook>,
    url: String,
}

async fn world() -> Option<World> {
    let url = fresh_postgres().await?;
    let store = shequ_server::store::open(&url).await.unwrap();
    shequ_server::import_areas(store.as_ref(), &workspace().join("seeds/fufeng-areas.csv"))
        .await
        .unwrap();
    let mut import = store.begin_area_import().await.unwrap();
    let other = [
        ("610323", "岐山县", Level::County, "6103"),
        ("610323001", "凤鸣镇", Level::Town, "610323"),
        (OTHER_VILLAGE, "凤鸣村", Level::Village, "610323001"),
    ];
    import
        .add(&other.map(|(code, name, level, parent)| Area {
            code: code.into(),
            name: name.into(),
            level,
            parent: parent.into(),
        }))
        .await
        .unwrap();
    import.commit().await.unwrap();
    let plan = shequ_server::load_plan(&workspace().join("seeds/plan-2018.toml")).unwrap();
    shequ_server::add_plan(store.as_ref(), &plan, false)
        .await
        .unwrap();
    let legacy = plan.id.clone();
    let book = PlanBook {
        plans: Plans::new(vec![plan], Some(&legacy)).unwrap(),
        legacy,
    };
    Some(World {
        store,
        other: shequ_server::store::open(&url).await.unwrap(),
        book: Arc::new(book),
        url,
    })
}

fn by() -> Author {
    Author {
        account: "test".into(),
        device: "test-device".into(),
    }
}

fn push_to(store: &Arc<dyn Store>, book: &Arc<PlanBook>, change: Revision) -> JoinHandle<i64> {
    let (store, book) = (store.clone(), book.clone());
    tokio::spawn(async move {
        match store.push(&book, &by(), None, &[change]).await.unwrap() {
            PushAnswer::Applied(results) => match results.as_slice() {
                [PushResult {
                    outcome: PushOutcome::Stored { seq },
                    ..
                }] => *seq,
                other => panic!("not stored: {other:?}"),
            },
            other => panic!("{other:?}"),
        }
    })
}

impl World {
    fn push(&self, change: Revision) -> JoinHandle<i64> {
        push_to(&self.store, &self.book, change)
    }

    /// A push sent to the other process.
    fn push_elsewhere(&self, change: Revision) -> JoinHandle<i64> {
        push_to(&self.other, &self.book, change)
    }

    /// A push to `VILLAGE` held in flight, after it has numbered its revision: it edits a record
    /// whose row `holder` keeps locked. The first revision's number, and the push.
    async fn push_held(&self, holder: &mut PgConnection) -> (i64, JoinHandle<i64>) {
        let first = case(VILLAGE, "先存的", false);
        let first_seq = self.push(first.clone()).await.unwrap();
        sqlx::query("BEGIN").execute(&mut *holder).await.unwrap();
        sqlx::query("SELECT id FROM records WHERE id = $1 FOR UPDATE")
            .bind(first.record.to_string())
            .execute(&mut *holder)
            .await
            .unwrap();
        let mut edit = Revision {
            rev: Uuid::now_v7(),
            parent: Some(first.rev),
            clock: first.clock + 1,
            ..first
        };
        edit.content.insert("topic".into(), "改过的".into());
        let held = self.push(edit);
        let mut watch = PgConnection::connect(&self.url).await.unwrap();
        while waiting(&mut watch, "transactionid").await == 0 {
            assert!(
                !held.is_finished(),
                "the held push did not wait for the row"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (first_seq, held)
    }
}

/// How many sessions on this database wait for a lock of this type.
async fn waiting(conn: &mut PgConnection, locktype: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE NOT l.granted AND l.locktype = $1 AND a.datname = current_database()",
    )
    .bind(locktype)
    .fetch_one(conn)
    .await
    .unwrap()
}

/// Waits until `task` ends (true) or a session waits for a push's turn (false).
async fn ends_or_waits<T>(watch: &mut PgConnection, task: &JoinHandle<T>) -> bool {
    loop {
        if task.is_finished() {
            return true;
        }
        if waiting(watch, "advisory").await > 0 {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_push_to_another_county_does_not_wait_and_one_to_the_same_county_does() {
    let Some(w) = world().await else {
        println!("SHEQU_TEST_POSTGRES_URL is not set: PostgreSQL not tested here");
        return;
    };
    let mut holder = PgConnection::connect(&w.url).await.unwrap();
    let mut watch = PgConnection::connect(&w.url).await.unwrap();
    let (_, held) = w.push_held(&mut holder).await;

    // From this process and from another.
    let mut elsewhere_seqs = vec![];
    for from_here in [true, false] {
        let change = case(OTHER_VILLAGE, "别的县", true);
        let elsewhere = if from_here {
            w.push(change)
        } else {
            w.push_elsewhere(change)
        };
        assert!(
            ends_or_waits(&mut watch, &elsewhere).await,
            "a push to another county waited for the push in flight"
        );
        elsewhere_seqs.push(elsewhere.await.unwrap());
    }

    // From another process: this one's own pushes to the county queue before the database.
    let same = w.push_elsewhere(case(NEIGHBOUR, "同一个县", true));
    assert!(
        !ends_or_waits(&mut watch, &same).await,
        "a push to the same county did not wait for the push in flight"
    );

    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    let held_seq = held.await.unwrap();
    let same_seq = same.await.unwrap();
    // The push held in flight was numbered before the other county's, which committed first;
    // the same county's push was numbered after it.
    assert!(
        elsewhere_seqs.iter().all(|s| held_seq < *s),
        "{held_seq} {elsewhere_seqs:?}"
    );
    assert!(held_seq < same_seq, "{held_seq} {same_seq}");
}

#[tokio::test]
async fn a_pull_never_skips_a_revision_committed_late_with_a_lower_number() {
    let Some(w) = world().await else {
        println!("SHEQU_TEST_POSTGRES_URL is not set: PostgreSQL not tested here");
        return;
    };
    let mut holder = PgConnection::connect(&w.url).await.unwrap();
    let mut watch = PgConnection::connect(&w.url).await.unwrap();
    let (cursor, held) = w.push_held(&mut holder).await;
    let elsewhere = w.push(case(OTHER_VILLAGE, "别的县", true));
    assert!(ends_or_waits(&mut watch, &elsewhere).await);
    let elsewhere_seq = elsewhere.await.unwrap();

    // A pull of the city, over both counties, from the cursor a device held before either push,
    // while the lower number is still in flight and the higher one committed.
    let store = w.store.clone();
    let pull =
        tokio::spawn(async move { store.pull("6103", None, cursor, 50, None).await.unwrap() });
    ends_or_waits(&mut watch, &pull).await;
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    let held_seq = held.await.unwrap();
    assert!(held_seq < elsewhere_seq);

    // The device goes on from the cursor of that page until the end: it gets both.
    let mut page = pull.await.unwrap();
    let mut pulled: BTreeSet<i64> = page.changes.iter().map(|c| c.seq).collect();
    while page.more || page.cursor < elsewhere_seq.max(held_seq) {
        let next = w
            .store
            .pull("6103", None, page.cursor, 50, None)
            .await
            .unwrap();
        if next.changes.is_empty() {
            break;
        }
        pulled.extend(next.changes.iter().map(|c| c.seq));
        page = next;
    }
    assert_eq!(
        pulled,
        BTreeSet::from([held_seq, elsewhere_seq]),
        "pulled from cursor {cursor}"
    );
}
