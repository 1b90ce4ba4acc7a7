//! What the benchmarks share: the records they push, logging in, timing and the machine.

use serde_json::json;
use shequ_model::plan::PlanId;
use shequ_model::sync::{PushOutcome, PushResponse};
use shequ_model::Revision;
use std::io::Write;
use std::time::{Duration, Instant};

/// A deliberation case of the 2019 plan in `unit`: half of them through all five steps (most of
/// those with feedback), their steps dated over the plan's year.
pub fn case(rng: &mut crate::rng::Rng, unit: &str) -> Revision {
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
        plan: PlanId::parse("fufeng-2019").unwrap(),
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

/// A push's body as a phone sends it: JSON, gzip.
pub fn gzip_push(changes: &[Revision]) -> Vec<u8> {
    let json = serde_json::to_vec(&json!({"device": "基准设备", "changes": changes})).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&json).unwrap();
    gz.finish().unwrap()
}

/// Sends one gzip push body of `size` changes as `token`; every change must be stored.
pub async fn push_batch(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    body: Vec<u8>,
    size: usize,
) {
    let resp = client
        .post(format!("{base}/api/sync/push"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "push: {}", resp.status());
    let answer: PushResponse = resp.json().await.unwrap();
    let stored = answer
        .results
        .iter()
        .filter(|r| matches!(r.outcome, PushOutcome::Stored { .. }))
        .count();
    assert_eq!(stored, size, "every case stored: {:?}", answer.results[0]);
}

/// Logs in as `username` with the demo password; the session's token.
pub async fn token(base: &str, username: &str) -> String {
    let login =
        crate::transport::FaultyHttp::new(base.to_owned(), 0, crate::transport::Faults::NONE);
    login
        .login(username, "基准设备")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let t = login.token.borrow().clone();
    t
}

/// The numbers given on a benchmark's command line, in order; words that are not numbers are
/// skipped.
pub fn numbers_given() -> Vec<usize> {
    std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect()
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median and the largest, in milliseconds.
pub fn p50_max(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    (ms(times[times.len() / 2]), ms(*times.last().unwrap()))
}

/// The processor, the number of cores and the memory, for the figures.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown processor".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

/// A process's peak resident set (VmHWM), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Asks `path` `asks` times as `token`, timing each; the last answer.
pub async fn ask<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    asks: usize,
) -> (T, Vec<Duration>) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..asks {
        let start = Instant::now();
        let resp = client
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        last = Some(resp.json().await.unwrap());
        times.push(start.elapsed());
    }
    (last.unwrap(), times)
}
