//! HTTP to the real server, with faults: a request dropped before it is sent, a response dropped
//! after the server committed, a request sent twice, and an earlier push re-sent after a later one.

use crate::rng::Rng;
use shequ_model::client::{Transport, TransportError};
use shequ_model::sync::{Checksum, OwnRevisions, PullPage, PullQuery, PushRequest, PushResponse};
use std::cell::{Cell, RefCell};

#[derive(Clone, Copy, Debug)]
pub struct Faults {
    pub drop_request: f64,
    pub drop_response: f64,
    pub duplicate: f64,
    pub reorder: f64,
}

impl Faults {
    pub const NONE: Faults = Faults {
        drop_request: 0.0,
        drop_response: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
    };
    pub const SOME: Faults = Faults {
        drop_request: 0.1,
        drop_response: 0.1,
        duplicate: 0.1,
        reorder: 0.1,
    };
}

#[derive(Default, Clone, Copy, Debug)]
pub struct Counts {
    pub requests: u64,
    pub dropped_requests: u64,
    pub dropped_responses: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub failed: u64,
    /// Pulls that started from cursor 0: a first sync (again while it fails, and a town's
    /// supervisor's while the town is empty), or a repair of a drift.
    pub pulls_from_start: u64,
    /// Pushes the server answered, whether or not the answer then reached the device.
    pub answered_pushes: u64,
}

/// A pull page as the device received it: its scope, the cursor it was asked from, whether it
/// left out the device's own revisions, the numbers it carried and the cursor it answered.
#[derive(Clone, Debug)]
pub struct PulledPage {
    pub scope: String,
    pub after: i64,
    pub own: OwnRevisions,
    pub seqs: Vec<i64>,
    pub cursor: i64,
}

pub struct FaultyHttp {
    /// The server processes, each request going to one of them, as from behind a load balancer
    /// that keeps no device to one process.
    bases: Vec<String>,
    client: reqwest::Client,
    rng: RefCell<Rng>,
    pub faults: Cell<Faults>,
    stale: RefCell<Option<(String, PushRequest)>>,
    pub counts: Cell<Counts>,
    /// The device's session token.
    pub token: RefCell<String>,
    /// Every pull page received, to check afterwards that none skipped a revision.
    pub pages: RefCell<Vec<PulledPage>>,
}

fn lost(what: &str) -> TransportError {
    TransportError {
        message: format!("连接中断({what})"),
        retry: true,
        auth: None,
        too_large: false,
    }
}

impl FaultyHttp {
    pub fn new(base: String, seed: u64, faults: Faults) -> Self {
        Self::spread(vec![base], seed, faults)
    }

    /// Sends each request to one of several server processes on one database, chosen at random.
    pub fn spread(bases: Vec<String>, seed: u64, faults: Faults) -> Self {
        assert!(!bases.is_empty(), "at least one server");
        FaultyHttp {
            bases,
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("a client"),
            rng: RefCell::new(Rng::new(seed)),
            faults: Cell::new(faults),
            stale: RefCell::new(None),
            counts: Cell::new(Counts::default()),
            token: RefCell::new(String::new()),
            pages: RefCell::new(Vec::new()),
        }
    }

    /// Logs the device in as a demo account (retrying while the server starts).
    pub async fn login(&self, username: &str, device: &str) -> Result<(), String> {
        for _ in 0..50 {
            let resp = self
                .client
                .post(format!("{}/api/auth/login", self.base()))
                .json(&serde_json::json!({"username": username, "password": "shequ2018", "device": device}))
                .send()
                .await;
            if let Ok(r) = resp {
                if r.status().is_success() {
                    let v: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
                    *self.token.borrow_mut() = v["token"].as_str().unwrap_or_default().to_owned();
                    return Ok(());
                }
                return Err(format!("login as {username}: {}", r.status()));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(format!("login as {username}: the server did not answer"))
    }

    /// The process the next request goes to.
    fn base(&self) -> &str {
        let n = self.bases.len() as u64;
        // With one process, no draw: the faults follow the seed as they did before processes
        // were spread.
        let i = if n == 1 {
            0
        } else {
            self.rng.borrow_mut().below(n)
        };
        &self.bases[i as usize]
    }

    fn count(&self, f: impl FnOnce(&mut Counts)) {
        let mut c = self.counts.get();
        f(&mut c);
        self.counts.set(c);
    }

    fn roll(&self, p: f64) -> bool {
        self.rng.borrow_mut().chance(p)
    }

    async fn send_push(
        &self,
        key: &str,
        req: &PushRequest,
    ) -> Result<PushResponse, TransportError> {
        self.count(|c| c.requests += 1);
        let token = self.token.borrow().clone();
        let resp = self
            .client
            .post(format!("{}/api/sync/push", self.base()))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(req)
            .send()
            .await
            .map_err(|_| {
                self.count(|c| c.failed += 1);
                lost("请求失败")
            })?;
        let status = resp.status();
        if !status.is_success() {
            self.count(|c| c.failed += 1);
            return Err(TransportError {
                message: format!("服务器返回 {status}"),
                retry: status.is_server_error(),
                auth: None,
                too_large: status == reqwest::StatusCode::PAYLOAD_TOO_LARGE,
            });
        }
        let answer = resp.json().await.map_err(|_| {
            self.count(|c| c.failed += 1);
            lost("回答不完整")
        })?;
        self.count(|c| c.answered_pushes += 1);
        Ok(answer)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, TransportError> {
        let f = self.faults.get();
        if self.roll(f.drop_request) {
            self.count(|c| c.dropped_requests += 1);
            return Err(lost("请求丢失"));
        }
        self.count(|c| c.requests += 1);
        let token = self.token.borrow().clone();
        let resp = self
            .client
            .get(format!("{}{path}", self.base()))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|_| {
                self.count(|c| c.failed += 1);
                lost("请求失败")
            })?;
        if !resp.status().is_success() {
            self.count(|c| c.failed += 1);
            return Err(TransportError {
                message: format!("服务器返回 {}", resp.status()),
                retry: true,
                auth: None,
                too_large: false,
            });
        }
        let body = resp.json().await.map_err(|_| lost("回答不完整"))?;
        if self.roll(f.drop_response) {
            self.count(|c| c.dropped_responses += 1);
            return Err(lost("回答丢失"));
        }
        Ok(body)
    }
}

impl Transport for FaultyHttp {
    async fn push(&self, key: &str, req: &PushRequest) -> Result<PushResponse, TransportError> {
        let f = self.faults.get();
        if self.roll(f.drop_request) {
            self.count(|c| c.dropped_requests += 1);
            return Err(lost("请求丢失"));
        }
        let mut answer = self.send_push(key, req).await;
        if self.roll(f.duplicate) {
            self.count(|c| c.duplicated += 1);
            answer = self.send_push(key, req).await;
        }
        // An earlier push, delayed on the way, arrives after this one.
        let earlier = self.stale.replace(Some((key.to_string(), req.clone())));
        if let (true, Some((k, r))) = (self.roll(f.reorder), earlier) {
            self.count(|c| c.reordered += 1);
            let _ = self.send_push(&k, &r).await;
        }
        let answer = answer?;
        // However few pushes get through while the server is being killed, each device loses at
        // least one answer after a commit, so every run tests the re-send of a committed push.
        let none_yet = f.drop_response > 0.0 && self.counts.get().dropped_responses == 0;
        if none_yet || self.roll(f.drop_response) {
            self.count(|c| c.dropped_responses += 1);
            return Err(lost("回答丢失"));
        }
        Ok(answer)
    }

    async fn pull(&self, ask: &PullQuery) -> Result<PullPage, TransportError> {
        if ask.after == 0 {
            self.count(|c| c.pulls_from_start += 1);
        }
        let page: PullPage = self.get(&ask.path()).await?;
        self.pages.borrow_mut().push(PulledPage {
            scope: ask.scope.clone(),
            after: ask.after,
            own: ask.own,
            seqs: page.changes.iter().map(|c| c.seq).collect(),
            cursor: page.cursor,
        });
        Ok(page)
    }

    async fn checksum(&self, scope: &str) -> Result<Checksum, TransportError> {
        self.get(&format!("/api/sync/checksum?scope={scope}")).await
    }
}
