//! Several server processes on one database serve the same devices as one would: what one
//! process counts or writes, the others see.

mod common;

use common::{fresh_postgres, restart, settings_on, spawn_on, Engine, TestApp};
use serde_json::json;
use sqlx::{Connection, PgConnection};

#[allow(dead_code)]
fn unused(_: Engine) -> Option<()> {
    let _ = spawn_on;
    None
}

async fn login(app: &TestApp, password: &str) -> u16 {
    app.client
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": "village-610324001001", "password": password, "device": "d"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn guesses_at_one_process_count_at_the_others(first: TestApp) {
    let second = restart(&first, |_| {}).await;
    for i in 0..shequ_server::auth::FREE_PER_ACCOUNT_ADDRESS {
        let at = if i % 2 == 0 { &first } else { &second };
        assert_eq!(login(at, &format!("wrong{i}")).await, 422);
    }
    assert_eq!(
        login(&second, common::PASSWORD).await,
        429,
        "the guesses made at the other process count here too"
    );
    assert_eq!(login(&first, common::PASSWORD).await, 429);
}

common::conformance!(guesses_at_one_process_count_at_the_others);

#[tokio::test]
async fn processes_starting_at_once_on_a_new_database_all_start() {
    let Some(url) = fresh_postgres().await else {
        println!("SHEQU_TEST_POSTGRES_URL is not set: PostgreSQL not tested here");
        return;
    };
    shequ_server::store::open(&url).await.unwrap();
    // The plans table is held, so that every start that gets as far as keeping its plan waits
    // there, where starts that do not take turns would all find the plan missing.
    let mut holder = PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("LOCK TABLE plans IN EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let settings = settings_on(&url);
    const PROCESSES: i64 = 3;
    let starts =
        futures_util::future::join_all((0..PROCESSES).map(|_| shequ_server::launch(&settings)));
    let release = async {
        let mut watch = PgConnection::connect(&url).await.unwrap();
        // Until every start waits, for the table or for its turn.
        while sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE NOT l.granted AND a.datname = current_database()",
        )
        .fetch_one(&mut watch)
        .await
        .unwrap()
            < PROCESSES
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    };
    let (started, ()) = tokio::join!(starts, release);
    for started in started {
        if let Err(e) = started {
            panic!("a process did not start: {e}");
        }
    }
}
