//! The wire benchmark: one device pushes 10,000 records of about 300 bytes of JSON each, with
//! 50 ms of latency added to every request, through a proxy that counts every byte on the wire
//! (headers included, both directions). Batches go gzip-compressed, as the phone sends them.
//!
//! `cargo run --release -p shequ-sim --bin wire -- [records] [latency_ms]`
//! (with `SHEQU_SERVER_BIN=target/release/shequ-server`).

use serde_json::json;
use shequ_model::client::{push_all, Limits, SyncReport, Transport, TransportError};
use shequ_model::sync::{Checksum, PullPage, PullQuery, PushRequest, PushResponse, MAX_PUSH_BATCH};
use shequ_model::Revision;
use shequ_sim::replica::MemReplica;
use shequ_sim::server::{server_bin, ServerProcess};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Forwards TCP from a local port to the server, counting bytes each way.
async fn counting_proxy(target: u16, up: Arc<AtomicU64>, down: Arc<AtomicU64>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(("127.0.0.1", target))
                .await
                .unwrap();
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let (up, down) = (up.clone(), down.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = cr.read(&mut buf).await {
                    if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    up.fetch_add(n as u64, Ordering::Relaxed);
                }
            });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    down.fetch_add(n as u64, Ordering::Relaxed);
                }
            });
        }
    });
    port
}

struct GzipHttp {
    base: String,
    client: reqwest::Client,
    latency: Duration,
    token: String,
}

impl Transport for GzipHttp {
    async fn push(&self, key: &str, req: &PushRequest) -> Result<PushResponse, TransportError> {
        tokio::time::sleep(self.latency).await;
        let json = serde_json::to_vec(req).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&json).unwrap();
        let body = gz.finish().unwrap();
        let resp = self
            .client
            .post(format!("{}/api/sync/push", self.base))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .header("idempotency-key", key)
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await
            .map_err(|e| TransportError {
                message: e.to_string(),
                retry: true,
                auth: None,
                too_large: false,
            })?;
        if !resp.status().is_success() {
            return Err(TransportError {
                message: format!("{}", resp.status()),
                retry: false,
                auth: None,
                too_large: resp.status() == 413,
            });
        }
        resp.json().await.map_err(|e| TransportError {
            message: e.to_string(),
            retry: true,
            auth: None,
            too_large: false,
        })
    }
    async fn pull(&self, _: &PullQuery) -> Result<PullPage, TransportError> {
        unreachable!("the wire benchmark only pushes")
    }
    async fn checksum(&self, _: &str) -> Result<Checksum, TransportError> {
        unreachable!("the wire benchmark only pushes")
    }
}

/// A deliberation case of about 300 bytes of JSON, its words drawn at random from a village's
/// vocabulary (so it compresses like real entries, not like one repeated string).
fn content(rng: &mut shequ_sim::rng::Rng) -> shequ_model::record::Content {
    const PLACES: [&str; 12] = [
        "东", "西", "南", "北", "一组", "二组", "三组", "新村", "老街", "幸福", "和平", "花园",
    ];
    const THINGS: [&str; 16] = [
        "停车",
        "路灯",
        "垃圾分类",
        "健身器材",
        "供水管网",
        "噪音",
        "绿化带",
        "快递柜",
        "化粪池",
        "排水沟",
        "楼道堆物",
        "电动车充电",
        "广场舞",
        "养犬",
        "修路",
        "屋顶漏水",
    ];
    const WHO: [&str; 8] = [
        "物业",
        "居委会",
        "村民小组",
        "业委会",
        "网格员",
        "志愿者队",
        "驻村工作队",
        "镇综治办",
    ];
    const ACTS: [&str; 8] = [
        "共同落实",
        "限期整改",
        "筹资修缮",
        "轮流值守",
        "张榜公示",
        "上报镇街",
        "组织义务劳动",
        "引入社会组织",
    ];
    let forums = [
        "村(居)民议事会",
        "邻里议事会",
        "楼栋/庭院/居民小组微协商",
        "民情恳谈会",
        "听证会",
        "社区评议",
    ];
    let people = 5 + rng.below(60);
    let mut pick = |list: &[&'static str]| list[rng.below(list.len() as u64) as usize];
    let topic = format!("{}{}{}问题", pick(&PLACES), pick(&PLACES), pick(&THINGS));
    let decision = format!(
        "经{people}名代表讨论,由{}和{}{},{}",
        pick(&WHO),
        pick(&WHO),
        pick(&ACTS),
        pick(&ACTS)
    );
    let (m, d) = (1 + rng.below(12), 1 + rng.below(28));
    serde_json::from_value(json!({
        "forum": forums[rng.below(forums.len() as u64) as usize],
        "topic": topic,
        "steps": {"state": "民事民决", "dates": {"民事民提": format!("2018-{m:02}-{d:02}"), "民事民议": format!("2018-{m:02}-{:02}", (d + 3).min(28)), "民事民决": format!("2018-{m:02}-{:02}", (d + 7).min(28))}},
        "decision": decision,
        "adopted": rng.chance(0.7),
        "participants": 5 + rng.below(60) as i64,
    }))
    .unwrap()
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(10_000) as usize;
    let latency = Duration::from_millis(args.get(1).copied().unwrap_or(50));
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        server_bin(),
        format!("sqlite://{}", dir.path().join("wire.db").display()),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dev = MemReplica::new("基准设备".into(), "610324001001".into());
    // The records belong to the 2018 plan, whose dates the content carries.
    let plan = shequ_model::Plan::parse(
        "plan-2018.toml",
        include_str!("../../../../seeds/plan-2018.toml"),
    )
    .expect("the seed plan parses")
    .id;
    let mut content_bytes = 0;
    let mut rng = shequ_sim::rng::Rng::new(2018);
    for i in 0..n {
        let c = content(&mut rng);
        content_bytes += serde_json::to_vec(&c).unwrap().len();
        let now = 1_530_000_000_000 + i as u64;
        dev.save(
            Revision {
                record: uuid::Uuid::now_v7(),
                rev: uuid::Uuid::now_v7(),
                parent: None,
                resolves: vec![],
                device: "基准设备".into(),
                clock: 0,
                plan: plan.clone(),
                form: "deliberation_case".into(),
                unit: shequ_model::UnitCode::parse("610324001001").unwrap(),
                deleted: false,
                content: c,
            },
            now,
        );
    }
    let up = Arc::new(AtomicU64::new(0));
    let down = Arc::new(AtomicU64::new(0));
    let (report, elapsed, requests) = rt.block_on(async {
        let port = counting_proxy(server.port, up.clone(), down.clone()).await;
        let login = shequ_sim::transport::FaultyHttp::new(
            format!("http://127.0.0.1:{}", server.port),
            0,
            shequ_sim::transport::Faults::NONE,
        );
        login
            .login("village-610324001001", "基准设备")
            .await
            .expect("the demo account logs in");
        let token = login.token.borrow().clone();
        let http = GzipHttp {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            latency,
            token,
        };
        let limits = Limits {
            push_batch: MAX_PUSH_BATCH as u32,
            pull_page: 500,
        };
        let mut report = SyncReport::default();
        let start = Instant::now();
        push_all(&dev, &http, "610324001001", &limits, &mut report, &|_| {})
            .await
            .expect("the push succeeds");
        (report, start.elapsed(), n.div_ceil(MAX_PUSH_BATCH))
    });
    let (up, down) = (up.load(Ordering::Relaxed), down.load(Ordering::Relaxed));
    assert_eq!(report.pushed, n, "every record acknowledged");
    println!("records pushed: {n} (content JSON {:.0} bytes each on average), {requests} requests of up to {MAX_PUSH_BATCH}, {} ms latency added to each", content_bytes as f64 / n as f64, latency.as_millis());
    println!("time: {:.2} s", elapsed.as_secs_f64());
    println!("on the wire (headers included): {up} bytes up + {down} bytes down = {} bytes, {:.1} bytes per record", up + down, (up + down) as f64 / n as f64);
}
