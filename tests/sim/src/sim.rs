//! The scenario: village devices record and sync through faults while the server is killed (or,
//! with several server processes on one database, any of them, each request going to any), and
//! the town supervisors' devices read their towns through the same faults; then the faults stop,
//! everyone syncs, and the invariants are checked, among them that no pull page ever skipped a
//! revision committed late with a lower number.

use crate::replica::MemReplica;
use crate::rng::Rng;
use crate::server::ServerProcess;
use crate::transport::{Counts, Faults, FaultyHttp};
use serde_json::json;
use shequ_model::client::{sync_once, Limits, Replica, SyncReport, Transport};
use shequ_model::merge::RecordState;
use shequ_model::plan::{Plan, PlanId};
use shequ_model::sync::{Checksum, OwnRevisions, PullQuery};
use shequ_model::{Revision, UnitCode};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The seeds' village-level units.
pub const VILLAGES: [&str; 4] = [
    "610324001001",
    "610324001004",
    "610324001201",
    "610324103001",
];
/// The towns of those villages: each is read by its supervisor's device, which records nothing.
pub const TOWNS: [&str; 2] = ["610324001", "610324103"];

#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub devices: usize,
    /// Changes each device makes while the faults are on.
    pub changes_per_device: usize,
    /// Server processes on the one database (more than one only on PostgreSQL); each request of
    /// a device goes to one of them at random.
    pub servers: usize,
    /// SIGKILLs of a server process, any of them, while the faults are on.
    pub kills: u32,
    pub database_url: String,
    pub server_bin: PathBuf,
    pub faults: Faults,
}

#[derive(Clone, Debug, Default)]
pub struct Figures {
    pub devices: usize,
    /// The supervisors' devices, which only read.
    pub readers: usize,
    pub servers: usize,
    pub kills: u32,
    pub revisions_made: usize,
    pub acknowledged: usize,
    pub on_server: usize,
    pub conflicts_open: usize,
    /// Revisions that another device's edit built on: a device saw and edited a record made or
    /// changed elsewhere.
    pub edits_of_others: usize,
    /// Revisions two or more edits built on without seeing each other: conflicting edits, open
    /// or since settled.
    pub concurrent_edits: usize,
    /// Syncs that pulled their scope again from the start because the checksums disagreed.
    pub repairs: usize,
    /// Each round of the settling phase: every device synced once, in turn.
    pub settle_rounds: Vec<SettleRound>,
    pub counts: Counts,
    pub fault_phase: Duration,
    pub settle_phase: Duration,
}

/// What one settling round carried: the first catches up on the work the faults held back, the
/// last is quiet (nothing to push or pull), so its time is what a sync costs when nothing changed.
#[derive(Debug, Clone, Copy, Default)]
pub struct SettleRound {
    pub syncs: usize,
    pub pushed: usize,
    pub pulled: usize,
    pub elapsed: Duration,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

const STEPS: [&str; 5] = ["民事民提", "民事民议", "民事民决", "民事民办", "民事民评"];

/// The plans the server is given: devices record in both, as phones do around the change of year.
fn plans() -> &'static [Plan] {
    static PLANS: OnceLock<Vec<Plan>> = OnceLock::new();
    PLANS.get_or_init(|| {
        [
            (
                "plan-2018.toml",
                include_str!("../../../seeds/plan-2018.toml"),
            ),
            (
                "plan-2019.toml",
                include_str!("../../../seeds/plan-2019.toml"),
            ),
        ]
        .iter()
        .map(|(file, text)| Plan::parse(file, text).expect("a seed plan parses"))
        .collect()
    })
}

fn plan(id: &PlanId) -> &'static Plan {
    plans()
        .iter()
        .find(|p| &p.id == id)
        .expect("a record of a seed plan")
}

/// Valid content of a record of `plan`; the five steps only move forward from `from` (the plan's
/// transitions), dated inside the plan's year.
fn content(plan: &Plan, topic: &str, rng: &mut Rng, from: usize) -> shequ_model::record::Content {
    let steps = STEPS;
    let reached = (from + rng.below(2) as usize).min(4);
    let dates: serde_json::Map<String, serde_json::Value> = steps[..=reached]
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                s.to_string(),
                json!(format!("{}-0{}-1{}", plan.year, i + 3, i)),
            )
        })
        .collect();
    serde_json::from_value(json!({
        "forum": "邻里议事会",
        "topic": topic,
        "steps": {"state": steps[reached], "dates": dates},
        "feedback": rng.chance(0.5),
        "participants": rng.below(60) as i64 + 3,
    }))
    .expect("valid content")
}

/// One change on a device: a new record, an edit of one it shows, or now and then a delete.
pub fn change(dev: &MemReplica, rng: &mut Rng, n: usize) -> Revision {
    let shown: Vec<Revision> = dev.shown().into_iter().filter(|r| !r.deleted).collect();
    let topic = format!("{}的第{n}次修改", dev.device);
    if shown.is_empty() || rng.chance(0.4) {
        let id = Uuid::now_v7();
        let plan = &plans()[rng.below(plans().len() as u64) as usize];
        return dev.save(
            Revision {
                record: id,
                rev: Uuid::now_v7(),
                parent: None,
                resolves: vec![],
                device: dev.device.clone(),
                clock: 0,
                plan: plan.id.clone(),
                form: "deliberation_case".into(),
                unit: shequ_model::UnitCode::parse(&dev.unit).expect("a unit code"),
                deleted: false,
                content: content(plan, &topic, rng, 0),
            },
            now_ms(),
        );
    }
    let base = shown[rng.below(shown.len() as u64) as usize].clone();
    let rivals: Vec<Uuid> = dev
        .state(base.record)
        .map(|s| {
            s.heads()
                .into_iter()
                .filter(|h| h.rev != base.rev)
                .map(|h| h.rev)
                .collect()
        })
        .unwrap_or_default();
    let deleted = rng.chance(0.05);
    let step = base
        .content
        .get("steps")
        .and_then(|s| s.get("state"))
        .and_then(|s| s.as_str())
        .and_then(|s| STEPS.iter().position(|x| *x == s))
        .unwrap_or(0);
    dev.save(
        Revision {
            rev: Uuid::now_v7(),
            parent: Some(base.rev),
            resolves: rivals,
            device: dev.device.clone(),
            deleted,
            content: if deleted {
                base.content.clone()
            } else {
                content(plan(&base.plan), &topic, rng, step)
            },
            ..base
        },
        now_ms(),
    )
}

/// Everything the server holds under `scope`, page by page.
async fn pull_everything(server: &FaultyHttp, scope: &str) -> Result<Vec<(i64, Revision)>, String> {
    let mut after = 0;
    let mut out = Vec::new();
    loop {
        let page = server
            .pull(&PullQuery {
                scope: scope.to_owned(),
                after,
                limit: 1000,
                own: OwnRevisions::Whole,
            })
            .await
            .map_err(|e| e.message)?;
        out.extend(page.changes.into_iter().map(|c| (c.seq, c.revision)));
        after = page.cursor;
        if !page.more {
            return Ok(out);
        }
    }
}

pub async fn run(cfg: Config) -> Result<Figures, String> {
    let servers = Rc::new(RefCell::new(ServerProcess::start_many(
        cfg.server_bin.clone(),
        cfg.database_url.clone(),
        cfg.servers.max(1),
    )));
    let bases: Vec<String> = servers.borrow().iter().map(ServerProcess::base).collect();
    let mut rng = Rng::new(cfg.seed);
    let devices: Vec<Rc<(MemReplica, FaultyHttp)>> = (0..cfg.devices)
        .map(|i| {
            let unit = VILLAGES[i % VILLAGES.len()].to_string();
            Rc::new((
                MemReplica::new(format!("设备{i}"), unit),
                FaultyHttp::spread(bases.clone(), rng.next_u64(), cfg.faults),
            ))
        })
        .collect();
    let readers: Vec<Rc<(MemReplica, FaultyHttp)>> = TOWNS
        .iter()
        .enumerate()
        .map(|(i, town)| {
            Rc::new((
                MemReplica::new(format!("督导设备{i}"), town.to_string()),
                FaultyHttp::spread(bases.clone(), rng.next_u64(), cfg.faults),
            ))
        })
        .collect();
    let limits = Limits {
        push_batch: 20,
        pull_page: 50,
    };
    for d in &devices {
        d.1.login(&format!("village-{}", d.0.unit), &d.0.device)
            .await?;
    }
    for d in &readers {
        d.1.login(&format!("town-{}", d.0.unit), &d.0.device)
            .await?;
    }

    // Phase 1: changes, syncs and faults, with the server killed at random moments.
    let started = Instant::now();
    let killing = Rc::new(Cell::new(cfg.kills > 0));
    // How many times the server was started again: devices spread their changes over its lives.
    let lives = Rc::new(Cell::new(0usize));
    let local = tokio::task::LocalSet::new();
    {
        let servers = servers.clone();
        let killing = killing.clone();
        let lives = lives.clone();
        let devices = devices.clone();
        let mut krng = Rng::new(cfg.seed ^ 0x5eed);
        let kills = cfg.kills;
        local.spawn_local(async move {
            let answered = || -> u64 {
                devices
                    .iter()
                    .map(|d| d.1.counts.get().answered_pushes)
                    .sum()
            };
            for _ in 0..kills {
                // Each life of the server lasts until it has answered a push, then a random
                // moment more. Killed on the clock alone, a server slower than the pushes that
                // wait for it (hundreds of devices, one writer) would answer none: no device
                // would pull another's work before the faults stop, and none would edit it.
                // (At most 10 s: a server that answers nothing then is killed all the same.)
                let before = answered();
                for _ in 0..2000 {
                    if answered() > before || devices.iter().all(|d| d.0.unsent() == 0) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                tokio::time::sleep(Duration::from_millis(40 + krng.below(160))).await;
                let n = servers.borrow().len() as u64;
                // With one process, no draw: the kills follow the seed as before.
                let victim = if n == 1 { 0 } else { krng.below(n) as usize };
                servers.borrow_mut()[victim].kill();
                tokio::time::sleep(Duration::from_millis(krng.below(60))).await;
                servers.borrow_mut()[victim].start_again();
                lives.set(lives.get() + 1);
            }
            killing.set(false);
        });
    }
    for (i, d) in devices.iter().enumerate() {
        let d = d.clone();
        let killing = killing.clone();
        let lives = lives.clone();
        let mut drng = Rng::new(cfg.seed.wrapping_add(i as u64 * 7919));
        let n = cfg.changes_per_device;
        let kills = cfg.kills as usize;
        // The changes a device has made by the server's `life`-th start: spread over all its
        // lives, so that devices record while others' work arrives, as in the field.
        let by = move |life: usize| (n * (life + 1)).div_ceil(kills + 1);
        let limits = Limits { ..limits };
        local.spawn_local(async move {
            let (dev, http) = (&d.0, &d.1);
            let mut made = 0;
            while made < n || killing.get() {
                if made < by(lives.get()) {
                    change(dev, &mut drng, made);
                    made += 1;
                }
                if drng.chance(0.5) || made >= n {
                    let _ = sync_once(dev, http, &dev.unit, &limits, &|_| {}).await;
                }
                tokio::time::sleep(Duration::from_millis(drng.below(15))).await;
            }
        });
    }
    for (i, d) in readers.iter().enumerate() {
        let d = d.clone();
        let killing = killing.clone();
        let mut drng = Rng::new(cfg.seed.wrapping_add(0x7e11 + i as u64 * 104_729));
        let rounds = cfg.changes_per_device;
        let limits = Limits { ..limits };
        local.spawn_local(async move {
            let mut round = 0;
            while round < rounds || killing.get() {
                round += 1;
                let _ = sync_once(&d.0, &d.1, &d.0.unit, &limits, &|_| {}).await;
                tokio::time::sleep(Duration::from_millis(drng.below(15))).await;
            }
        });
    }
    local.await;
    let fault_phase = started.elapsed();

    // Phase 2: the faults stop; everyone syncs until a round changes nothing and all agree.
    let settle = Instant::now();
    for s in servers.borrow_mut().iter_mut() {
        s.start_again();
    }
    let everyone: Vec<Rc<(MemReplica, FaultyHttp)>> =
        devices.iter().chain(&readers).cloned().collect();
    for d in &everyone {
        d.1.faults.set(Faults::NONE);
    }
    let mut rounds: Vec<SettleRound> = Vec::new();
    loop {
        let round_started = Instant::now();
        let mut round = SettleRound::default();
        let mut restless = Vec::new();
        for d in &everyone {
            let report = sync_once(&d.0, &d.1, &d.0.unit, &limits, &|_| {})
                .await
                .map_err(|e| format!("{}: {e}", d.0.device))?;
            round.syncs += 1;
            round.pushed += report.pushed;
            round.pulled += report.pulled;
            if report.pushed > 0 || report.refused > 0 || report.consistent != Some(true) {
                restless.push(format!("{} {report:?}", d.0.device));
            }
        }
        round.elapsed = round_started.elapsed();
        rounds.push(round);
        if restless.is_empty() {
            break;
        }
        if rounds.len() > 30 {
            return Err(format!(
                "devices and server did not agree after 30 rounds without faults: {}",
                restless.join("; ")
            ));
        }
    }
    let settle_phase = settle.elapsed();
    // Once settled, a sync finds nothing to do: nothing pulled, no pull from the start, and the
    // checksums equal without a repair. A device that counted its scope otherwise than the server
    // (a town's own records only, say) would pull its whole scope again at every sync.
    for d in &everyone {
        let from_start = d.1.counts.get().pulls_from_start;
        let report = sync_once(&d.0, &d.1, &d.0.unit, &limits, &|_| {})
            .await
            .map_err(|e| format!("{}: {e}", d.0.device))?;
        if report
            != (SyncReport {
                consistent: Some(true),
                ..SyncReport::default()
            })
            || d.1.counts.get().pulls_from_start != from_start
        {
            return Err(format!(
                "{}'s sync after settling was not quiet: {report:?}",
                d.0.device
            ));
        }
    }

    // The checks.
    // The checker reads as the county administrator, over a transport without faults.
    let admin = FaultyHttp::spread(bases.clone(), 0, Faults::NONE);
    admin.login("county", "checker").await?;
    let stored = pull_everything(&admin, "610324").await?;
    let mut seen: HashMap<Uuid, i64> = HashMap::new();
    for (seq, r) in &stored {
        if let Some(first) = seen.insert(r.rev, *seq) {
            return Err(format!(
                "revision {} is stored twice (seq {first} and {seq})",
                r.rev
            ));
        }
    }
    // No pull page skipped a revision: every one of its scope numbered after the cursor it was
    // asked from and up to the cursor it answered was in it, but the device's own when it asked
    // for those to be left out. (A skipped one would be found again by the next checksum, from
    // cursor 0, which hides it from every other check.)
    for d in &everyone {
        for page in d.1.pages.borrow().iter() {
            let last = page.cursor;
            let scope = UnitCode::parse(&page.scope)?;
            let got: HashSet<i64> = page.seqs.iter().copied().collect();
            let left_out =
                |r: &Revision| page.own == OwnRevisions::Omitted && r.device == d.0.device;
            if let Some((seq, _)) = stored.iter().find(|(seq, r)| {
                *seq > page.after
                    && *seq <= last
                    && scope.contains(&r.unit)
                    && !got.contains(seq)
                    && !left_out(r)
            }) {
                return Err(format!(
                    "{}'s pull of {} after {} answered up to {last} without {seq}, which was \
                     committed after it",
                    d.0.device, page.scope, page.after
                ));
            }
        }
    }
    let mut acknowledged = 0;
    let mut made = 0;
    for d in &devices {
        for rev in d.0.acked() {
            acknowledged += 1;
            if !seen.contains_key(&rev) {
                return Err(format!(
                    "revision {rev} was acknowledged to {} but is not on the server",
                    d.0.device
                ));
            }
        }
        for rev in d.0.made() {
            made += 1;
            if !seen.contains_key(&rev) {
                return Err(format!(
                    "revision {rev} made on {} never reached the server",
                    d.0.device
                ));
            }
        }
        if d.0.pending_count(&d.0.unit).await? > 0 {
            return Err(format!("{} still has unsynced changes", d.0.device));
        }
    }
    let mut per_record: HashMap<Uuid, RecordState> = HashMap::new();
    let mut plan_of: HashMap<Uuid, &PlanId> = HashMap::new();
    for (_, r) in &stored {
        per_record.entry(r.record).or_default().insert(r.clone());
        // Every revision comes back in the plan its record was made in.
        if r.plan.is_empty() || *plan_of.entry(r.record).or_insert(&r.plan) != &r.plan {
            return Err(format!(
                "revision {} came back in plan “{}”, not its record's",
                r.rev, r.plan
            ));
        }
    }
    let conflicts_open = per_record.values().filter(|s| s.in_conflict()).count();
    let by_rev: HashMap<Uuid, &Revision> = stored.iter().map(|(_, r)| (r.rev, r)).collect();
    let mut children: HashMap<Uuid, Vec<&Revision>> = HashMap::new();
    for (_, r) in &stored {
        if let Some(parent) = r.parent {
            children.entry(parent).or_default().push(r);
        }
    }
    let edits_of_others = children
        .iter()
        .filter(|(parent, edits)| {
            by_rev
                .get(*parent)
                .is_some_and(|p| edits.iter().any(|e| e.device != p.device))
        })
        .count();
    let concurrent_edits = children.values().filter(|e| e.len() > 1).count();
    for scope in VILLAGES.iter().chain(&TOWNS) {
        let unit = UnitCode::parse(scope)?;
        let server_sum: Checksum = admin.checksum(scope).await.map_err(|e| e.message)?;
        let expected: BTreeMap<Uuid, Uuid> = per_record
            .iter()
            .filter_map(|(id, s)| {
                s.winner()
                    .filter(|w| unit.contains(w.unit.as_str()))
                    .map(|w| (*id, w.rev))
            })
            .collect();
        if Checksum::of(expected.values().copied()) != server_sum {
            return Err(format!(
                "the server's checksum of {scope} does not match its own revisions"
            ));
        }
        for d in everyone.iter().filter(|d| d.0.unit == *scope) {
            if d.0.checksum(scope).await? != server_sum {
                return Err(format!(
                    "{}'s checksum differs from the server's",
                    d.0.device
                ));
            }
            if d.0.winners() != expected {
                return Err(format!(
                    "{} shows other current revisions than the server",
                    d.0.device
                ));
            }
        }
    }
    let mut counts = Counts::default();
    for d in &everyone {
        let c = d.1.counts.get();
        counts.requests += c.requests;
        counts.dropped_requests += c.dropped_requests;
        counts.dropped_responses += c.dropped_responses;
        counts.duplicated += c.duplicated;
        counts.reordered += c.reordered;
        counts.failed += c.failed;
        counts.pulls_from_start += c.pulls_from_start;
    }
    let unique: HashSet<Uuid> = seen.keys().copied().collect();
    let kills = servers.borrow().iter().map(|s| s.kills).sum();
    Ok(Figures {
        devices: devices.len(),
        readers: readers.len(),
        servers: bases.len(),
        kills,
        revisions_made: made,
        acknowledged,
        on_server: unique.len(),
        conflicts_open,
        edits_of_others,
        concurrent_edits,
        repairs: everyone.iter().map(|d| d.0.repairs()).sum(),
        settle_rounds: rounds,
        counts,
        fault_phase,
        settle_phase,
    })
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.counts;
        writeln!(
            f,
            "devices: {} recording, {} of town supervisors reading; server processes on one database: {}; kills (SIGKILL): {}",
            self.devices, self.readers, self.servers, self.kills
        )?;
        writeln!(f, "revisions made: {}, acknowledged to devices: {}, on the server: {} (each exactly once)", self.revisions_made, self.acknowledged, self.on_server)?;
        writeln!(f, "requests sent: {}, failed (server down): {}, requests dropped: {}, responses dropped after commit: {}, duplicated: {}, stale re-sends out of order: {}, pulls from cursor 0 (first pulls and repairs): {}",
            c.requests, c.failed, c.dropped_requests, c.dropped_responses, c.duplicated, c.reordered, c.pulls_from_start)?;
        writeln!(
            f,
            "edits of another device's revision: {}; revisions edited concurrently by two or more: {}; records left in conflict (both versions kept, shown to users): {}",
            self.edits_of_others, self.concurrent_edits, self.conflicts_open
        )?;
        writeln!(
            f,
            "checksum repairs (whole scope pulled again): {}",
            self.repairs
        )?;
        writeln!(f, "fault phase: {:.1} s; settling: {} rounds, {:.1} s; every device's checksum equals the server's",
            self.fault_phase.as_secs_f64(), self.settle_rounds.len(), self.settle_phase.as_secs_f64())?;
        for (i, r) in self.settle_rounds.iter().enumerate() {
            writeln!(
                f,
                "  settling round {}: {} syncs pushed {} and pulled {} revisions in {:.1} s ({:.1} ms a sync)",
                i + 1,
                r.syncs,
                r.pushed,
                r.pulled,
                r.elapsed.as_secs_f64(),
                r.elapsed.as_secs_f64() * 1000.0 / r.syncs.max(1) as f64
            )?;
        }
        Ok(())
    }
}
