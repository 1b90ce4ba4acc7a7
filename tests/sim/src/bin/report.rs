//! The report benchmark: loads deliberation cases through the real push API (gzip batches of
//! 500, as phones send them) into a release server on SQLite, then asks for the county report as
//! the county account and prints its latency, next to recomputing the same report from scratch
//! (every live record of the county read from the same database and rolled up, as reports were
//! made before figures were kept) in the same run. Both reports must be the same.
//!
//! `cargo build --release -p shequ-server -p shequ-sim && SHEQU_SERVER_BIN=target/release/shequ-server target/release/report [records] [asks]`

use serde_json::json;
use shequ_model::area::{parse_areas_csv, AreaTree};
use shequ_model::plan::{Plan, PlanId};
use shequ_model::rollup::{Report, Rollups};
use shequ_model::sync::{PushOutcome, PushResponse, MAX_PUSH_BATCH};
use shequ_model::Revision;
use shequ_sim::server::{server_bin, workspace, ServerProcess};
use shequ_sim::transport::{Faults, FaultyHttp};
use std::io::Write;
use std::time::{Duration, Instant};

const COUNTY: &str = "610324";
const VILLAGES: [&str; 4] = [
    "610324001001",
    "610324001004",
    "610324001201",
    "610324103001",
];

fn case(rng: &mut shequ_sim::rng::Rng, unit: &str) -> Revision {
    let (m, d) = (1 + rng.below(12), 1 + rng.below(20));
    let done = rng.chance(0.5);
    let steps = if done {
        json!({"state": "民事民评", "dates": {"民事民提": format!("2019-{m:02}-{d:02}"), "民事民议": format!("2019-{m:02}-{:02}", d + 2), "民事民决": format!("2019-{m:02}-{:02}", d + 4), "民事民办": format!("2019-{m:02}-{:02}", d + 6), "民事民评": format!("2019-{m:02}-{:02}", d + 8)}})
    } else {
        json!({"state": "民事民提", "dates": {"民事民提": format!("2019-{m:02}-{d:02}")}})
    };
    Revision {
        record: uuid::Uuid::now_v7(),
        rev: uuid::Uuid::now_v7(),
        parent: None,
        resolves: vec![],
        device: "基准设备".into(),
        clock: 1 << 16,
        plan: Default::default(),
        form: "deliberation_case".into(),
        unit: shequ_model::UnitCode::parse(unit).unwrap(),
        deleted: false,
        content: serde_json::from_value(json!({
            "forum": "村(居)民议事会",
            "topic": format!("议题{}", rng.below(10_000)),
            "steps": steps,
            "feedback": done && rng.chance(0.8),
            "participants": 5 + rng.below(60) as i64,
        }))
        .unwrap(),
    }
}

async fn token(base: &str, username: &str) -> String {
    let login = FaultyHttp::new(base.to_owned(), 0, Faults::NONE);
    login
        .login(username, "基准设备")
        .await
        .expect("the demo account logs in");
    let t = login.token.borrow().clone();
    t
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median and the largest.
fn p50_max(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    (ms(times[times.len() / 2]), ms(*times.last().unwrap()))
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(10_000);
    let asks = args.get(1).copied().unwrap_or(20).max(1);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("report.db").display());
    let server = ServerProcess::start(server_bin(), url.clone());
    let base = server.base();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let mut rng = shequ_sim::rng::Rng::new(2018);

    let load = rt.block_on(async {
        let mut tokens = Vec::new();
        for v in VILLAGES {
            tokens.push(token(&base, &format!("village-{v}")).await);
        }
        let start = Instant::now();
        let mut sent = 0;
        let mut batch_no = 0;
        while sent < n {
            let v = batch_no % VILLAGES.len();
            let size = MAX_PUSH_BATCH.min(n - sent);
            let changes: Vec<Revision> = (0..size).map(|_| case(&mut rng, VILLAGES[v])).collect();
            let json =
                serde_json::to_vec(&json!({"device": "基准设备", "changes": changes})).unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&json).unwrap();
            let resp = client
                .post(format!("{base}/api/sync/push"))
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .bearer_auth(&tokens[v])
                .body(gz.finish().unwrap())
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "push: {}", resp.status());
            let body: PushResponse = resp.json().await.unwrap();
            let stored = body
                .results
                .iter()
                .filter(|r| matches!(r.outcome, PushOutcome::Stored { .. }))
                .count();
            assert_eq!(stored, size, "every case stored: {:?}", body.results[0]);
            sent += size;
            batch_no += 1;
        }
        start.elapsed()
    });

    let (served, times) = rt.block_on(async {
        let county = token(&base, "county").await;
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..asks {
            let start = Instant::now();
            let resp = client
                .get(format!("{base}/api/report/{COUNTY}"))
                .bearer_auth(&county)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
            let report: Report = resp.json().await.unwrap();
            times.push(start.elapsed());
            last = Some(report);
        }
        (last.unwrap(), times)
    });

    // From scratch: what a report cost before figures were kept, read from the same database.
    let root = workspace();
    let plan = Plan::parse(
        "plan-2019.toml",
        &std::fs::read_to_string(root.join("seeds/plan-2019.toml")).unwrap(),
    )
    .unwrap();
    let areas = parse_areas_csv(
        &std::fs::read_to_string(root.join("seeds/fufeng-areas.csv")).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let tree = AreaTree::new(areas);
    let (scratch, scratch_times) = rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..asks.min(5) {
            let start = Instant::now();
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT body, plan FROM records WHERE NOT deleted AND plan = $1 AND unit >= $2 AND unit < $3",
            )
            .bind(plan.id.to_string())
            .bind(COUNTY)
            .bind(format!("{COUNTY}:"))
            .fetch_all(&pool)
            .await
            .unwrap();
            let records: Vec<Revision> = rows
                .iter()
                .map(|(body, p)| Revision {
                    plan: PlanId::parse(p).unwrap(),
                    ..serde_json::from_str(body).unwrap()
                })
                .collect();
            let report = Rollups::new(&plan, &tree, &records).report(COUNTY).unwrap();
            times.push(start.elapsed());
            last = Some(report);
        }
        (last.unwrap(), times)
    });
    assert_eq!(
        served, scratch,
        "the kept figures give the report the records give"
    );

    let (p50, max) = p50_max(times);
    let (s50, smax) = p50_max(scratch_times);
    println!(
        "live records: {n}, loaded through the push API in {:.1} s ({:.0} revisions/s, gzip batches of {MAX_PUSH_BATCH})",
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64()
    );
    println!(
        "county report from kept figures (HTTP, {asks} asks): p50 {p50:.2} ms, max {max:.2} ms"
    );
    println!(
        "county report recomputed from the records ({} times, in process): p50 {s50:.1} ms, max {smax:.1} ms",
        asks.min(5)
    );
    println!("ratio of p50s: {:.0}x", s50 / p50);
}
