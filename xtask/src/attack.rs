//! `cargo xtask attack`: a release server on a fresh SQLite file with the demo accounts, started
//! with `ulimit -n 1024` as on a default Linux install, and four attacks against it, one after
//! the other:
//!
//! 1. a login flood: 400 wrong-password logins at once, each from its own loopback address so
//!    that only the hashing pool (not the per-address limit) stands between them and the server;
//! 2. an idle-connection flood: 1,100 connections that never send a byte, held for 5 s;
//! 3. a junk-tombstone flood: a village worker pushes 300 tombstones carrying 1.9 MB of content
//!    each, 8 at a time;
//! 4. 200 pushes at once while 40 people log in.
//!
//! For each it prints the server's peak memory (VmRSS sampled every 100 ms), the answers by
//! status, the requests that failed outright, and how `/healthz` answered when asked every 100 ms
//! on a fresh connection. The figures go in `docs/benchmarks.md`.

use crate::{cargo, root, sh, Result};
use serde_json::{json, Value};
use shequ_model::area::{parse_areas_csv, Level};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "shequ2018";

pub fn attack() -> Result {
    sh(cargo().args(["build", "--release", "-p", "shequ-server"]))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let server = Server::start()?;
    println!(
        "server: pid {}, {} (ulimit -n 1024, SQLite at {})",
        server.pid,
        server.base,
        server.dir.display()
    );
    let result = runtime.block_on(attacks(&server));
    println!(
        "server peak memory over the whole run (VmHWM): {:.0} MB",
        kib_field(server.pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0
    );
    result
}

async fn attacks(server: &Server) -> Result {
    let villages = village_accounts()?;
    let report = watch(
        server,
        "login flood: 400 wrong-password logins at once, from 400 addresses",
        login_flood(server, &villages),
    )
    .await;
    println!("{report}");
    let report = watch(
        server,
        "idle-connection flood: 1,100 silent connections held 5 s",
        idle_flood(server),
    )
    .await;
    println!("{report}");
    let report = watch(
        server,
        "junk-tombstone flood: 300 tombstones of 1.9 MB, 8 at a time",
        tombstone_flood(server, &villages[0]),
    )
    .await;
    println!("{report}");
    let report = watch(
        server,
        "200 pushes at once while 40 people log in",
        pushes_with_logins(server, &villages),
    )
    .await;
    println!("{report}");
    Ok(())
}

/// The release server, on a fresh SQLite file in a temporary folder, with the demo accounts.
struct Server {
    child: Child,
    pid: u32,
    base: String,
    dir: std::path::PathBuf,
}

impl Server {
    fn start() -> Result<Server> {
        let dir = std::env::temp_dir().join(format!("shequ-attack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let bin = root().join("target/release/shequ-server");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("ulimit -n 1024 && exec \"$0\" serve")
            .arg(&bin)
            .current_dir(root())
            .env(
                "SHEQU_DATABASE_URL",
                format!("sqlite://{}", dir.join("attack.db").display()),
            )
            .env("SHEQU_LISTEN", "127.0.0.1:0")
            .env("SHEQU_SEED_AREAS", "seeds/fufeng-areas.csv")
            .env("SHEQU_PLAN", "seeds/plan-2018.toml")
            .env("SHEQU_DIST", "dist")
            .env("SHEQU_DEMO", "1")
            .env("SHEQU_LOG", "error")
            .env("SHEQU_ADMIN_PASSWORD", "Attack-admin-2018")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let pid = child.id();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let base = line
            .split("running at ")
            .nth(1)
            .ok_or(format!("the server did not start: {line}"))?
            .trim()
            .trim_end_matches('/')
            .to_string();
        Ok(Server {
            child,
            pid,
            base,
            dir,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The demo village workers, from the seed's areas.
fn village_accounts() -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(root().join("seeds/fufeng-areas.csv"))
        .map_err(|e| e.to_string())?;
    let areas = parse_areas_csv(&text, &HashMap::new())
        .map_err(|e| format!("seeds/fufeng-areas.csv: {e:?}"))?;
    let codes: Vec<(String, String)> = areas
        .into_iter()
        .filter(|a| a.level == Level::Village)
        .map(|a| (format!("village-{}", a.code), a.code))
        .collect();
    if codes.is_empty() {
        return Err("seeds/fufeng-areas.csv names no village".into());
    }
    Ok(codes)
}

/// What an attack saw: answers by status (or by push outcome), and requests that failed.
#[derive(Default)]
struct Tally {
    by_status: BTreeMap<String, usize>,
    failures: Vec<String>,
    notes: Vec<String>,
}

impl Tally {
    fn count(&mut self, what: impl Into<String>) {
        *self.by_status.entry(what.into()).or_default() += 1;
    }
    fn fail(&mut self, e: impl std::fmt::Display) {
        if self.failures.len() < 3 {
            self.failures.push(e.to_string());
        } else {
            self.failures.push(String::new());
        }
    }
}

struct Report {
    title: String,
    tally: Tally,
    peak_rss_kib: u64,
    health_asked: u64,
    health_ok: u64,
    longest_silence: Duration,
    took: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "\n== {}", self.title)?;
        writeln!(
            f,
            "   took {:.1} s; server peak RSS {:.0} MB",
            self.took.as_secs_f64(),
            self.peak_rss_kib as f64 / 1024.0
        )?;
        let answers: Vec<String> = self
            .tally
            .by_status
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        writeln!(
            f,
            "   answers: {}",
            if answers.is_empty() {
                "none".into()
            } else {
                answers.join(", ")
            }
        )?;
        let shown: Vec<&String> = self
            .tally
            .failures
            .iter()
            .filter(|e| !e.is_empty())
            .collect();
        writeln!(
            f,
            "   failed requests: {}{}",
            self.tally.failures.len(),
            if shown.is_empty() {
                String::new()
            } else {
                format!(" (e.g. {shown:?})")
            }
        )?;
        for n in &self.tally.notes {
            writeln!(f, "   {n}")?;
        }
        let throughout = if self.health_ok == self.health_asked {
            "yes"
        } else {
            "no"
        };
        write!(
            f,
            "   /healthz answered throughout: {throughout} ({} of {} polls; longest wait for an answer {:.1} s)",
            self.health_ok,
            self.health_asked,
            self.longest_silence.as_secs_f64()
        )
    }
}

fn kib_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs `attack` while sampling the server's memory and asking `/healthz` every 100 ms.
async fn watch(
    server: &Server,
    title: &str,
    attack: impl std::future::Future<Output = Tally>,
) -> Report {
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak, pid) = (done.clone(), peak.clone(), server.pid);
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if let Some(rss) = kib_field(pid, "VmRSS:") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let health = {
        let (done, url) = (done.clone(), server.url("/healthz"));
        tokio::spawn(async move {
            // A fresh connection every time: a new phone must get in, not only a kept one.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a client");
            let (mut asked, mut ok, mut longest) = (0u64, 0u64, Duration::ZERO);
            let mut last_ok = Instant::now();
            while !done.load(Ordering::Relaxed) {
                let started = Instant::now();
                asked += 1;
                if client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
                {
                    ok += 1;
                    last_ok = Instant::now();
                }
                longest = longest.max(last_ok.elapsed()).max(started.elapsed());
                tokio::time::sleep(Duration::from_millis(100).saturating_sub(started.elapsed()))
                    .await;
            }
            (asked, ok, longest)
        })
    };
    let started = Instant::now();
    let tally = attack.await;
    let took = started.elapsed();
    // A moment after the attack, to catch what it left behind.
    tokio::time::sleep(Duration::from_millis(500)).await;
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let (health_asked, health_ok, longest_silence) = health.await.unwrap_or((0, 0, Duration::ZERO));
    Report {
        title: title.into(),
        tally,
        peak_rss_kib: peak.load(Ordering::Relaxed),
        health_asked,
        health_ok,
        longest_silence,
        took,
    }
}

/// A client whose connections come from `address` (any 127.x.y.z reaches the server).
fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a client")
}

fn loopback(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8)
}

async fn login_flood(server: &Server, villages: &[(String, String)]) -> Tally {
    let url = server.url("/api/auth/login");
    let tasks: Vec<_> = (0..400)
        .map(|i| {
            let (client, url, username) = (client_from(loopback(i)), url.clone(), villages[i % villages.len()].0.clone());
            tokio::spawn(async move {
                client.post(url).json(&json!({"username": username, "password": format!("wrong-{i}"), "device": "attack"})).send().await
            })
        })
        .collect();
    let mut tally = Tally::default();
    for t in tasks {
        match t.await.expect("the task runs") {
            Ok(r) => tally.count(r.status().as_u16().to_string()),
            Err(e) => tally.fail(e),
        }
    }
    tally
}

async fn idle_flood(server: &Server) -> Tally {
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut tally = Tally::default();
    let mut open = Vec::new();
    for _ in 0..1100 {
        match tokio::net::TcpStream::connect(&addr).await {
            Ok(s) => open.push(s),
            Err(e) => tally.fail(e),
        }
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut buf = [0u8; 1];
    let closed = open
        .iter()
        .filter(|s| match s.try_read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
        })
        .count();
    tally.notes.push(format!(
        "{} connections opened; {closed} closed by the server within 5 s",
        open.len()
    ));
    tally
}

fn case(unit: &str, topic: &str) -> Value {
    json!({
        "record": uuid::Uuid::now_v7(), "rev": uuid::Uuid::now_v7(), "parent": null, "resolves": [],
        "device": "attack", "clock": 1u64 << 16, "form": "deliberation_case", "unit": unit, "deleted": false,
        "content": {"forum": "村(居)民议事会", "topic": topic, "steps": {"state": "民事民提", "dates": {"民事民提": "2018-03-01"}}, "feedback": false, "participants": 12}
    })
}

async fn login(
    client: &reqwest::Client,
    server: &Server,
    username: &str,
) -> std::result::Result<String, String> {
    let r = client
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": username, "password": PASSWORD, "device": "attack"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != 200 {
        return Err(format!("login as {username}: {}", r.status()));
    }
    let s: Value = r.json().await.map_err(|e| e.to_string())?;
    s["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or("no token".into())
}

/// Counts a push's answer: by HTTP status, and a 200 by the outcome of its items.
async fn count_push(tally: &mut Tally, answer: reqwest::Result<reqwest::Response>) {
    match answer {
        Ok(r) if r.status() == 200 => match r.json::<Value>().await {
            Ok(v) => {
                for item in v["results"].as_array().into_iter().flatten() {
                    tally.count(format!("200 {}", item["outcome"].as_str().unwrap_or("?")));
                }
            }
            Err(e) => tally.fail(e),
        },
        Ok(r) => tally.count(r.status().as_u16().to_string()),
        Err(e) => tally.fail(e),
    }
}

async fn tombstone_flood(server: &Server, village: &(String, String)) -> Tally {
    let mut tally = Tally::default();
    let client = client_from(Ipv4Addr::new(127, 2, 0, 1));
    let token = match login(&client, server, &village.0).await {
        Ok(t) => t,
        Err(e) => {
            tally.fail(e);
            return tally;
        }
    };
    let junk: Arc<str> = "废".repeat(1_900_000 / 3).into();
    let sem = Arc::new(tokio::sync::Semaphore::new(8));
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let (client, url, token, sem, junk, unit) = (
                client.clone(),
                server.url("/api/sync/push"),
                token.clone(),
                sem.clone(),
                junk.clone(),
                village.1.clone(),
            );
            tokio::spawn(async move {
                let _turn = sem.acquire().await.expect("open");
                let mut tomb = case(&unit, &format!("删除{i}"));
                tomb["deleted"] = json!(true);
                tomb["content"]["topic"] = json!(&*junk);
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"device": "attack", "changes": [tomb]}))
                    .send()
                    .await
            })
        })
        .collect();
    for t in tasks {
        count_push(&mut tally, t.await.expect("the task runs")).await;
    }
    tally
}

async fn pushes_with_logins(server: &Server, villages: &[(String, String)]) -> Tally {
    let mut tally = Tally::default();
    let client = client_from(Ipv4Addr::new(127, 3, 0, 1));
    let (worker, unit) = villages[villages.len() - 1].clone();
    let token = match login(&client, server, &worker).await {
        Ok(t) => t,
        Err(e) => {
            tally.fail(e);
            return tally;
        }
    };
    let pushes: Vec<_> = (0..200)
        .map(|i| {
            let (client, url, token, unit) = (
                client.clone(),
                server.url("/api/sync/push"),
                token.clone(),
                unit.clone(),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(
                        &json!({"device": "attack", "changes": [case(&unit, &format!("议题{i}"))]}),
                    )
                    .send()
                    .await
            })
        })
        .collect();
    let logins: Vec<_> = (0..40)
        .map(|i| {
            let (client, url, username) = (
                client_from(Ipv4Addr::new(127, 3, 1, i as u8 + 1)),
                server.url("/api/auth/login"),
                villages[i % villages.len()].0.clone(),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({"username": username, "password": PASSWORD, "device": "attack"}))
                    .send()
                    .await
            })
        })
        .collect();
    for t in pushes {
        count_push(&mut tally, t.await.expect("the task runs")).await;
    }
    for t in logins {
        match t.await.expect("the task runs") {
            Ok(r) => tally.count(format!("login {}", r.status().as_u16())),
            Err(e) => tally.fail(e),
        }
    }
    tally
}
