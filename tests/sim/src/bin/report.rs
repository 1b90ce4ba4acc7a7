//! The report benchmark: loads deliberation cases through the real push API (gzip batches of
//! 500, as phones send them, made before the clock starts and sent by four clients at once) into
//! a release server on SQLite and prints the ingest rate; then asks
//! for the county report as the county account — now, as of the end of a month, and one
//! indicator month by month for the county and its towns — and prints their latencies, next to
//! recomputing the same figures from scratch (every live record of the county read from the same
//! database and rolled up, as reports were made before figures were kept) in the same run. The
//! figures served and the figures recomputed must be the same.
//!
//! `cargo build --release -p shequ-server -p shequ-sim && SHEQU_SERVER_BIN=target/release/shequ-server target/release/report [records] [asks]`

use shequ_model::area::{parse_areas_csv, AreaTree};
use shequ_model::month::Month;
use shequ_model::plan::{Plan, PlanId};
use shequ_model::rollup::{MonthSeries, Report, Rollups};
use shequ_model::sync::MAX_PUSH_BATCH;
use shequ_model::Revision;
use shequ_sim::bench::{ask, case, gzip_push, machine, numbers_given, p50_max, push_batch, token};
use shequ_sim::server::{server_bin, workspace, ServerProcess};
use std::time::{Duration, Instant};

const COUNTY: &str = "610324";
const VILLAGES: [&str; 4] = [
    "610324001001",
    "610324001004",
    "610324001201",
    "610324103001",
];
/// Clients sending at once, each on its own connection, the villages spread over them.
const CLIENTS: usize = 4;

/// The processor time a process has used so far (user and system), from `/proc`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command's closing parenthesis: state is field 3, utime and stime 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |t| t.iter().filter_map(|f| f.parse::<u64>().ok()).sum());
    // The kernel counts in USER_HZ, 100 a second on Linux.
    Duration::from_millis(ticks * 10)
}

fn main() {
    let args = numbers_given();
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

    // Every batch is made and compressed before the clock starts, so that the rate is the
    // server's; the clients then send them at once, each its villages' batches one after another.
    let batches: Vec<(usize, Vec<u8>)> = (0..n.div_ceil(MAX_PUSH_BATCH))
        .map(|b| {
            let v = b % VILLAGES.len();
            let size = MAX_PUSH_BATCH.min(n - b * MAX_PUSH_BATCH);
            let changes: Vec<Revision> = (0..size).map(|_| case(&mut rng, VILLAGES[v])).collect();
            (size, gzip_push(&changes))
        })
        .collect();
    let load = rt.block_on(async {
        let mut tokens = Vec::new();
        for v in VILLAGES {
            tokens.push(token(&base, &format!("village-{v}")).await);
        }
        let mut per_client: Vec<Vec<(usize, Vec<u8>, String)>> = vec![vec![]; CLIENTS];
        for (b, (size, body)) in batches.into_iter().enumerate() {
            let v = b % VILLAGES.len();
            per_client[v % CLIENTS].push((size, body, tokens[v].clone()));
        }
        let cpu = server.pid().map(cpu_time);
        let start = Instant::now();
        let sends = per_client.into_iter().map(|batches| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                for (size, body, token) in batches {
                    push_batch(&client, &base, &token, body, size).await;
                }
            })
        });
        for send in sends.collect::<Vec<_>>() {
            send.await.unwrap();
        }
        let cpu = server.pid().map(cpu_time).zip(cpu).map(|(b, a)| b - a);
        (start.elapsed(), cpu.unwrap_or_default())
    });
    let (load, server_cpu) = load;

    // A month in the middle of the plan's year, and the headline indicator's months.
    let as_of = Month::new(2019, 6).unwrap();
    let indicator = "deliberation_success";
    let (served, times, served_as_of, as_of_times, series, series_times, drill_times) = rt
        .block_on(async {
            let county = token(&base, "county").await;
            let now = format!("/api/report/{COUNTY}");
            let (served, times) = ask::<Report>(&client, &base, &county, &now, asks).await;
            let then = format!("/api/report/{COUNTY}?as_of={as_of}");
            let (then, then_times) = ask::<Report>(&client, &base, &county, &then, asks).await;
            let months = format!("/api/report/{COUNTY}/months?indicator={indicator}");
            let (series, series_times) =
                ask::<MonthSeries>(&client, &base, &county, &months, asks).await;
            // The first page of the records behind the county's headline figure: the drill-down.
            let drill = format!("/api/records?unit={COUNTY}&indicator={indicator}");
            let (_, drill_times) =
                ask::<serde_json::Value>(&client, &base, &county, &drill, asks).await;
            (
                served,
                times,
                then,
                then_times,
                series,
                series_times,
                drill_times,
            )
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
                "SELECT v.body, r.plan FROM records r JOIN revisions v ON v.seq = r.seq
         WHERE NOT r.deleted AND r.plan = $1 AND r.unit >= $2 AND r.unit < $3",
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
            last = Some((report, records));
        }
        (last.unwrap(), times)
    });
    let (scratch, records) = scratch;
    assert_eq!(
        served, scratch,
        "the kept figures give the report the records give"
    );
    let scratch_then = Rollups::new(&plan, &tree, &records).as_of(Some(as_of));
    assert_eq!(
        Some(served_as_of),
        scratch_then.report(COUNTY),
        "the figures kept for {as_of} give the report the records give"
    );
    let ind = plan.indicator(indicator).unwrap();
    for (i, m) in series.months.iter().enumerate() {
        let from_records = Rollups::new(&plan, &tree, &records).as_of(Some(*m));
        for row in std::iter::once(&series.unit).chain(&series.children) {
            assert_eq!(
                Some(&row.cells[i]),
                from_records.cell(ind, &row.area).as_ref(),
                "{} in {m}",
                row.area.code
            );
        }
    }

    // The unified assessment of the county's towns, as the phone ranks them from the report.
    let rank_times: Vec<std::time::Duration> = (0..asks)
        .map(|_| {
            let start = Instant::now();
            let ranking = shequ_model::assessment::rank(&plan, &served);
            std::hint::black_box(ranking);
            start.elapsed()
        })
        .collect();
    let (p50, max) = p50_max(times);
    let (d50, dmax) = p50_max(drill_times);
    let (r50, rmax) = p50_max(rank_times);
    let (s50, smax) = p50_max(scratch_times);
    let (a50, amax) = p50_max(as_of_times);
    let (m50, mmax) = p50_max(series_times);
    println!("machine: {}", machine());
    println!(
        "live records: {n}, loaded through the push API in {:.1} s ({:.0} revisions/s, gzip batches of {MAX_PUSH_BATCH} made beforehand, {CLIENTS} clients at once)",
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64()
    );
    println!(
        "server processor time while loading: {:.1} s ({:.1} µs a revision)",
        server_cpu.as_secs_f64(),
        server_cpu.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "county report from kept figures (HTTP, {asks} asks): p50 {p50:.2} ms, max {max:.2} ms"
    );
    println!(
        "county report recomputed from the records ({} times, in process): p50 {s50:.1} ms, max {smax:.1} ms",
        asks.min(5)
    );
    println!("ratio of p50s: {:.0}x", s50 / p50);
    println!(
        "county report as of the end of {as_of} from kept figures (HTTP, {asks} asks): p50 {a50:.2} ms, max {amax:.2} ms"
    );
    println!(
        "county month series of {indicator}, {} months × {} units (HTTP, {asks} asks): p50 {m50:.2} ms, max {mmax:.2} ms",
        series.months.len(),
        1 + series.children.len()
    );
    println!(
        "first page of the records behind the county's {indicator} (HTTP, {asks} asks): p50 {d50:.2} ms, max {dmax:.2} ms"
    );
    println!(
        "ranking of the county's towns from the report (in process, {asks} times): p50 {:.1} µs, max {:.1} µs",
        r50 * 1e3,
        rmax * 1e3
    );
}
