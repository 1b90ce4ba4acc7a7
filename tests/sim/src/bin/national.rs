//! The national benchmark on PostgreSQL: a fresh database gets the synthetic national division
//! file (`shequ_sim::national`, imported with `shequ-server import-areas`), a release server
//! serves it with the seeds' plans, and deliberation cases of the current plan (fufeng-2019) are
//! pushed through the real push API (gzip batches of 500, built before the clock, several clients
//! at once) by village workers spread over the country. Then pushes to villages of different
//! counties are timed against pushes to villages of one county, and the reports of the nation
//! (its one report, asked by a national supervisor, and every province's one after another, each
//! after a few cases pushed to one county), a province, a county and a town are asked for and
//! recomputed from the records in the same run; both must agree, and the nation's provinces must
//! be the provinces' own reports.
//!
//! Accounts are made with `shequ-server user add` and log in with their password, as people do.
//! Each costs an argon2id hash to make and another to log in, so the villages given records are a
//! sample spread evenly over the country (one every `villages / sample` villages), not all of them.
//!
//! `cargo build --release -p shequ-server -p shequ-sim &&
//! SHEQU_SERVER_BIN=$PWD/target/release/shequ-server target/release/national [records] [asks] [villages] [clients]`
//! on the PostgreSQL cluster of `SHEQU_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:55432/postgres`), in a database of its own, dropped at the end
//! unless `SHEQU_BENCH_KEEP=1`.

use shequ_model::area::{Area, AreaTree, Level};
use shequ_model::plan::{Plan, PlanId};
use shequ_model::rollup::{Report, Rollups};
use shequ_model::sync::MAX_PUSH_BATCH;
use shequ_model::Revision;
use shequ_sim::bench::{
    ask, case, gzip_push, machine, numbers_given, p50_max, peak_rss_kib, push_batch,
};
use shequ_sim::server::{server_bin, workspace, ServerProcess};
use sqlx::Connection;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "shequ2018";
/// Batches each client pushes in each half of the county test.
const WRITER_BATCHES: usize = 16;
/// Cases pushed to one village before each sweep of the nation's reports.
const PUSHED_BEFORE_ASK: usize = 10;

fn county_of(code: &str) -> &str {
    &code[..Level::County.code_len()]
}

/// One account made through the server's command line, as an operator makes it.
fn add_user(url: &str, username: &str, role: &str, unit: &str) {
    let out = Command::new(server_bin())
        .current_dir(workspace())
        .env("SHEQU_NEW_PASSWORD", PASSWORD)
        .env("SHEQU_LOG", "error")
        .args(["--database", url, "user", "add", username, "--role", role])
        .args(["--unit", unit, "--name", "基准"])
        .output()
        .expect("shequ-server runs");
    assert!(
        out.status.success(),
        "user add {username}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A pushed batch: the token it goes with and its gzip body.
struct Batch {
    token: usize,
    size: usize,
    body: Vec<u8>,
}

fn build(rng: &mut shequ_sim::rng::Rng, villages: &[String], n: usize, first: usize) -> Vec<Batch> {
    (0..n.div_ceil(MAX_PUSH_BATCH))
        .map(|b| {
            let v = (first + b) % villages.len();
            let size = MAX_PUSH_BATCH.min(n - b * MAX_PUSH_BATCH);
            let changes: Vec<Revision> = (0..size).map(|_| case(rng, &villages[v])).collect();
            Batch {
                token: v,
                size,
                body: gzip_push(&changes),
            }
        })
        .collect()
}

/// Pushes `batches` with `clients` at once, each taking the next; the time it took.
async fn push_all(
    client: &reqwest::Client,
    base: &str,
    tokens: &[String],
    batches: Vec<Batch>,
    clients: usize,
) -> Duration {
    let batches = Arc::new(batches);
    let tokens = Arc::new(tokens.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (batches, tokens, next) = (batches.clone(), tokens.clone(), next.clone());
            let (client, base) = (client.clone(), base.to_owned());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(b) = batches.get(i) else { break };
                    push_batch(&client, &base, &tokens[b.token], b.body.clone(), b.size).await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    start.elapsed()
}

/// Logs every account in with its password, four at a time (the server hashes on a small pool
/// and tells those beyond its queue to come back).
async fn tokens(client: &reqwest::Client, base: &str, usernames: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(usernames.len());
    for chunk in usernames.chunks(4) {
        let logins: Vec<_> = chunk
            .iter()
            .map(|u| {
                let (client, base, u) = (client.clone(), base.to_owned(), u.clone());
                tokio::spawn(async move {
                    loop {
                        let resp = client
                            .post(format!("{base}/api/auth/login"))
                            .json(&serde_json::json!({"username": u, "password": PASSWORD, "device": "基准设备"}))
                            .send()
                            .await
                            .unwrap();
                        if resp.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                        assert!(resp.status().is_success(), "login {u}: {}", resp.status());
                        let v: serde_json::Value = resp.json().await.unwrap();
                        break v["token"].as_str().unwrap().to_owned();
                    }
                })
            })
            .collect();
        for l in logins {
            out.push(l.await.unwrap());
        }
    }
    out
}

/// The report of `scope` as reports were made before figures were kept: the scope's areas and
/// every live record of the plan in it read from the database, and rolled up in process.
async fn recompute(pool: &sqlx::PgPool, plan: &Plan, scope: &str) -> Report {
    let end = format!("{scope}:");
    let areas: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT code, name, level, parent FROM areas WHERE code >= $1 AND code < $2",
    )
    .bind(scope)
    .bind(&end)
    .fetch_all(pool)
    .await
    .unwrap();
    let tree = AreaTree::new(areas.into_iter().map(|(code, name, level, parent)| Area {
        code,
        name,
        level: Level::parse(&level).unwrap(),
        parent,
    }));
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT v.body, r.plan FROM records r JOIN revisions v ON v.seq = r.seq
         WHERE NOT r.deleted AND r.plan = $1 AND r.unit >= $2 AND r.unit < $3",
    )
    .bind(plan.id.to_string())
    .bind(scope)
    .bind(&end)
    .fetch_all(pool)
    .await
    .unwrap();
    let records: Vec<Revision> = rows
        .iter()
        .map(|(body, p)| Revision {
            plan: PlanId::parse(p).unwrap(),
            ..serde_json::from_str(body).unwrap()
        })
        .collect();
    let report = Rollups::new(plan, &tree, &records).report(scope).unwrap();
    // Through JSON as the served report comes: serde_json reads a float back to within a unit
    // in the last place, so both sides must be read the same way.
    serde_json::from_slice(&serde_json::to_vec(&report).unwrap()).unwrap()
}

/// Where two reports first differ, or nothing when they are equal.
fn difference(served: &Report, scratch: &Report) -> Option<String> {
    let units = |r: &Report| {
        std::iter::once(r.unit.clone())
            .chain(r.children.iter().cloned())
            .collect::<Vec<_>>()
    };
    let (a, b) = (units(served), units(scratch));
    if a.len() != b.len() {
        return Some(format!("{} units served, {} recomputed", a.len(), b.len()));
    }
    for (x, y) in a.iter().zip(&b) {
        if x.area != y.area {
            return Some(format!("{:?} served, {:?} recomputed", x.area, y.area));
        }
        for (c, d) in x.cells.iter().zip(&y.cells) {
            if c != d {
                return Some(format!("{}: {c:?} served, {d:?} recomputed", x.area.code));
            }
        }
    }
    (served != scratch).then(|| "the reports differ".into())
}

/// The benchmark's own database, dropped when the run ends (unless `SHEQU_BENCH_KEEP=1`), also
/// when it fails.
struct Database {
    admin: String,
    name: String,
}

impl Database {
    fn create(admin: &str) -> Database {
        let name = format!("shequ_national_{}", uuid::Uuid::now_v7().simple());
        run(async {
            let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
        });
        Database {
            admin: admin.to_owned(),
            name,
        }
    }

    fn url(&self) -> String {
        format!("{}/{}", self.admin.rsplit_once('/').unwrap().0, self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if std::env::var("SHEQU_BENCH_KEEP").as_deref() == Ok("1") {
            eprintln!("kept the database {}", self.url());
            return;
        }
        run(async {
            let mut conn = sqlx::PgConnection::connect(&self.admin).await.unwrap();
            sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
                .execute(&mut conn)
                .await
                .unwrap();
        });
    }
}

/// Runs `f` on a runtime of its own (the database is made and dropped outside the main one).
fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

async fn time_recompute(
    pool: &sqlx::PgPool,
    plan: &Plan,
    scopes: &[String],
    times: usize,
) -> (Vec<Report>, Vec<Duration>) {
    let mut durations = Vec::new();
    let mut last = Vec::new();
    for _ in 0..times {
        let start = Instant::now();
        last.clear();
        for s in scopes {
            last.push(recompute(pool, plan, s).await);
        }
        durations.push(start.elapsed());
    }
    (last, durations)
}

fn main() {
    let args = numbers_given();
    let n = args.first().copied().unwrap_or(100_000);
    let asks = args.get(1).copied().unwrap_or(20).max(1);
    let sample = args.get(2).copied().unwrap_or(300).max(4);
    let clients = args.get(3).copied().unwrap_or(4).max(1);
    let admin = std::env::var("SHEQU_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:55432/postgres".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let database = Database::create(&admin);
    let url = database.url();
    println!("machine: {}", machine());
    println!("database: {url}");

    // The country's areas, imported as an operator imports them.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("national.csv");
    let rows = shequ_sim::national::write_national(&file).unwrap();
    let mut villages = Vec::new();
    shequ_sim::national::national_rows(|r| {
        if r.level == "village" {
            villages.push(r.code.to_owned());
        }
        Ok(())
    })
    .unwrap();
    let started = Instant::now();
    let out = Command::new(server_bin())
        .env("SHEQU_LOG", "error")
        .args(["--database", &url, "import-areas"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "areas: {rows} rows imported in {:.1} s ({} village-level units)",
        started.elapsed().as_secs_f64(),
        villages.len()
    );

    let server = ServerProcess::start_unseeded(server_bin(), url.clone());
    let base = server.base();

    // Village workers spread over the country, and a few more in the first one's county for
    // the test of pushes to one county.
    let spread: Vec<String> = (0..sample)
        .map(|i| villages[i * villages.len() / sample].clone())
        .collect();
    let one_county: Vec<String> = villages
        .iter()
        .filter(|v| county_of(v) == county_of(&spread[0]))
        .take(clients)
        .cloned()
        .collect();
    let others: Vec<String> = spread
        .iter()
        .filter(|v| county_of(v) != county_of(&spread[0]))
        .take(clients)
        .cloned()
        .collect();
    let mut workers: Vec<String> = spread.clone();
    workers.extend(one_county.iter().filter(|v| !spread.contains(v)).cloned());
    let provinces: Vec<String> = {
        let mut p: Vec<String> = villages.iter().map(|v| v[..2].to_owned()).collect();
        p.dedup();
        p
    };
    let started = Instant::now();
    let jobs: Vec<(String, &str, &String)> = workers
        .iter()
        .map(|v| (format!("village-{v}"), "village_worker", v))
        .chain(
            provinces
                .iter()
                .map(|p| (format!("province-{p}"), "province_supervisor", p)),
        )
        .collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some((user, role, unit)) = jobs.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    add_user(&url, user, role, unit);
                }
            });
        }
    });
    let made = workers.len() + provinces.len();
    println!(
        "accounts: {made} made with `shequ-server user add` in {:.1} s ({} village workers, {} province supervisors)",
        started.elapsed().as_secs_f64(),
        workers.len(),
        provinces.len()
    );
    let client = reqwest::Client::new();
    let started = Instant::now();
    let worker_names: Vec<String> = workers.iter().map(|v| format!("village-{v}")).collect();
    let worker_tokens = rt.block_on(tokens(&client, &base, &worker_names));
    let province_names: Vec<String> = provinces.iter().map(|p| format!("province-{p}")).collect();
    let province_tokens = rt.block_on(tokens(&client, &base, &province_names));
    add_user(&url, "nation", "nation_supervisor", "");
    let nation_token = rt
        .block_on(tokens(&client, &base, &["nation".to_owned()]))
        .remove(0);
    println!(
        "logins: {} in {:.1} s",
        worker_tokens.len() + province_tokens.len(),
        started.elapsed().as_secs_f64()
    );

    // The load: batches round the spread villages, built before the clock.
    let mut rng = shequ_sim::rng::Rng::new(2018);
    let started = Instant::now();
    let batches = build(&mut rng, &spread, n, 0);
    let built = started.elapsed();
    let load = rt.block_on(push_all(&client, &base, &worker_tokens, batches, clients));
    println!(
        "records: {n} over {} villages in {} counties ({} provinces), built in {:.1} s, loaded through the push API in {:.1} s: {:.0} revisions/s (gzip batches of {MAX_PUSH_BATCH}, {clients} clients)",
        spread.len(),
        {
            let mut c: Vec<&str> = spread.iter().map(|v| county_of(v)).collect();
            c.dedup();
            c.len()
        },
        provinces.len(),
        built.as_secs_f64(),
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64()
    );

    // Pushes to one county against pushes to as many different counties, one client each.
    let index = |v: &String| workers.iter().position(|w| w == v).unwrap();
    let per_phase = clients * WRITER_BATCHES * MAX_PUSH_BATCH;
    for (label, set) in [
        ("one county", &one_county),
        ("different counties", &others),
        ("one county", &one_county),
        ("different counties", &others),
    ] {
        let mut batches = build(&mut rng, set, per_phase, 0);
        for b in &mut batches {
            b.token = index(&set[b.token]);
        }
        let took = rt.block_on(push_all(&client, &base, &worker_tokens, batches, clients));
        let counties = {
            let mut c: Vec<&str> = set.iter().map(|v| county_of(v)).collect();
            c.dedup();
            c.len()
        };
        println!(
            "pushes to {label} ({} villages in {counties} counties, {clients} clients, {per_phase} revisions): {:.1} s, {:.0} revisions/s",
            set.len(),
            took.as_secs_f64(),
            per_phase as f64 / took.as_secs_f64()
        );
    }

    // Reports, asked by the province's supervisor (every province's for the nation).
    let province = spread[0][..2].to_owned();
    let county = county_of(&spread[0]).to_owned();
    let town = spread[0][..Level::Town.code_len()].to_owned();
    let pi = provinces.iter().position(|p| *p == province).unwrap();
    let started = Instant::now();
    // Before each sweep of the nation, a few cases pushed to one village (of another county each
    // time): what a server sees all day, and what makes it roll that county up again.
    let mut pushes = Vec::new();
    for i in 0..2 * asks {
        let village = &spread[(i + 1) % spread.len()];
        let mut batch = build(
            &mut rng,
            std::slice::from_ref(village),
            PUSHED_BEFORE_ASK,
            0,
        );
        for b in &mut batch {
            b.token = index(village);
        }
        pushes.push(batch);
    }
    let (nation_served, nation_times, one_times, nation_now) = rt.block_on(async {
        let mut times = Vec::new();
        let mut one = Vec::new();
        let mut last = Vec::new();
        let mut pushes = pushes.into_iter();
        while let (Some(a), Some(b)) = (pushes.next(), pushes.next()) {
            // The nation's one report, after a push of its own.
            push_all(&client, &base, &worker_tokens, a, 1).await;
            let (_, t) =
                ask::<Report>(&client, &base, &nation_token, "/api/report/nation", 1).await;
            one.extend(t);
            push_all(&client, &base, &worker_tokens, b, 1).await;
            let start = Instant::now();
            last.clear();
            for (p, t) in provinces.iter().zip(&province_tokens) {
                let (r, _) = ask::<Report>(&client, &base, t, &format!("/api/report/{p}"), 1).await;
                last.push(r);
            }
            times.push(start.elapsed());
        }
        let (now, _) = ask::<Report>(&client, &base, &nation_token, "/api/report/nation", 1).await;
        (last, times, one, now)
    });
    // The nation's report, asked after the last sweep with nothing pushed between: each of its
    // provinces is that province's own report, which is checked against the records below.
    assert_eq!(nation_now.children.len(), nation_served.len());
    for (child, province) in nation_now.children.iter().zip(&nation_served) {
        assert_eq!(
            *child, province.unit,
            "the nation's {} is not the province's own report",
            child.area.code
        );
    }
    let mut served = Vec::new();
    for scope in [&province, &county, &town] {
        let path = format!("/api/report/{scope}");
        served.push(rt.block_on(ask::<Report>(
            &client,
            &base,
            &province_tokens[pi],
            &path,
            asks,
        )));
    }
    let peak = server.pid().and_then(peak_rss_kib);
    eprintln!(
        "reports asked in {:.1} s; recomputing from the records",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();

    let root = workspace();
    let plan = Plan::parse(
        "plan-2019.toml",
        &std::fs::read_to_string(root.join("seeds/plan-2019.toml")).unwrap(),
    )
    .unwrap();
    let pool = rt.block_on(sqlx::PgPool::connect(&url)).unwrap();
    let recomputes = asks.min(3);
    let mut lines = Vec::new();
    let nation_scratch = if std::env::var("SHEQU_BENCH_NATION_FROM_RECORDS").as_deref() != Ok("0") {
        let (reports, times) = rt.block_on(time_recompute(&pool, &plan, &provinces, 1));
        for (served, scratch) in nation_served.iter().zip(&reports) {
            if let Some(d) = difference(served, scratch) {
                panic!("the kept figures give another report than the records: {d}");
            }
        }
        Some(times)
    } else {
        None
    };
    let first = one_times[0].as_secs_f64() * 1e3;
    lines.push((
        "nation, one report (`/api/report/nation`, each after a push to one county)",
        one_times,
        None,
    ));
    lines.push((
        "nation as its 31 province reports (each sweep after a push to one county)",
        nation_times,
        nation_scratch,
    ));
    for ((label, scope), (report, times)) in [
        ("province", &province),
        ("county", &county),
        ("town", &town),
    ]
    .into_iter()
    .zip(served)
    {
        let (scratch, scratch_times) = rt.block_on(time_recompute(
            &pool,
            &plan,
            std::slice::from_ref(scope),
            recomputes,
        ));
        if let Some(d) = difference(&report, &scratch[0]) {
            panic!("the kept figures give another report of {scope} than the records: {d}");
        }
        lines.push((label, times, Some(scratch_times)));
    }
    rt.block_on(pool.close());
    eprintln!("recomputed in {:.1} s", started.elapsed().as_secs_f64());
    println!("reports (HTTP, {asks} asks each; recomputed from the records in process, {recomputes} times, the nation once):");
    for (label, times, scratch) in lines {
        let (p50, max) = p50_max(times);
        match scratch {
            Some(s) => {
                let (s50, smax) = p50_max(s);
                println!(
                    "  {label}: p50 {p50:.1} ms, max {max:.1} ms; recomputed p50 {s50:.1} ms, max {smax:.1} ms; ratio of p50s {:.0}x",
                    s50 / p50
                );
            }
            None => println!("  {label}: p50 {p50:.1} ms, max {max:.1} ms; not recomputed"),
        }
    }
    println!(
        "  the nation's first report, every county rolled up from its kept figures: {first:.1} ms"
    );
    println!(
        "scopes: province {province}, county {county}, town {town}; server peak RSS {}",
        peak.map_or("unknown".into(), |k| format!(
            "{:.0} MiB",
            k as f64 / 1024.0
        ))
    );

    drop(server);
    drop(database);
}
