//! A small, seeded fault simulation on SQLite (PostgreSQL joins when its store exists).

use shequ_sim::server::server_bin;
use shequ_sim::sim::{run, Config};
use shequ_sim::transport::Faults;

#[test]
fn nothing_is_lost_or_doubled_through_faults_and_kills_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        seed: std::env::var("SHEQU_SIM_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20180601),
        devices: 12,
        changes_per_device: 15,
        kills: 5,
        database_url: format!("sqlite://{}", dir.path().join("sim.db").display()),
        server_bin: server_bin(),
        faults: Faults::SOME,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(run(cfg.clone())) {
        Ok(figures) => {
            println!("seed {}:\n{figures}", cfg.seed);
            assert_eq!(figures.kills, 5);
            assert!(
                figures.counts.dropped_responses > 0
                    && figures.counts.duplicated > 0
                    && figures.counts.reordered > 0
            );
        }
        Err(e) => panic!("seed {}: {e}", cfg.seed),
    }
}

#[test]
fn nothing_is_lost_or_doubled_through_faults_and_kills_on_postgres() {
    let Ok(admin) = std::env::var("SHEQU_TEST_POSTGRES_URL") else {
        println!("SHEQU_TEST_POSTGRES_URL is not set: the PostgreSQL run is skipped here (cargo xtask test sets it)");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(async {
        use sqlx::Connection;
        let name = format!("shequ_sim_{}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("the test PostgreSQL answers");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
    });
    let cfg = Config {
        seed: 20180602,
        devices: 12,
        changes_per_device: 15,
        kills: 5,
        database_url: url,
        server_bin: server_bin(),
        faults: Faults::SOME,
    };
    match rt.block_on(run(cfg.clone())) {
        Ok(figures) => {
            println!("seed {} on PostgreSQL:\n{figures}", cfg.seed);
            assert_eq!(figures.kills, 5);
        }
        Err(e) => panic!("seed {} on PostgreSQL: {e}", cfg.seed),
    }
}
