//! SQLite implementation of [`Store`]: one file, WAL, and `synchronous = FULL` so that a push the
//! server acknowledged survives a crash of the process or of the machine.

use super::judge::{judge, Facts};
use super::{prefix_end, ImportReport, PushAnswer, Store, StoreError};
use shequ_model::merge::RecordState;
use shequ_model::sync::{batch_hash, Checksum};
use async_trait::async_trait;
use shequ_model::area::{Area, Level};
use shequ_model::plan::Plan;
use shequ_model::sync::{PullPage, PulledRevision, PushOutcome, PushResult};
use shequ_model::Revision;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

pub struct SqliteStore {
    pool: SqlitePool,
    /// SQLite has one writer at a time; taking turns here rather than in SQLite's lock avoids a
    /// deferred transaction failing to upgrade to a write.
    writer: tokio::sync::Mutex<()>,
}

impl SqliteStore {
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool, writer: tokio::sync::Mutex::new(()) })
    }
}

fn level(s: &str) -> Result<Level, StoreError> {
    Level::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown level {s}")))
}

fn revision(body: &str) -> Result<Revision, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt(format!("revision body: {e}")))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn areas(&self, under: &str) -> Result<Vec<Area>, StoreError> {
        let rows = sqlx::query("SELECT code, name, level, parent FROM areas WHERE code >= ? AND code < ? ORDER BY code")
            .bind(under)
            .bind(prefix_end(under))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Area {
                    code: r.get("code"),
                    name: r.get("name"),
                    level: level(r.get::<&str, _>("level"))?,
                    parent: r.get("parent"),
                })
            })
            .collect()
    }

    async fn import_areas(&self, areas: &[Area]) -> Result<ImportReport, StoreError> {
        let _turn = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        let mut counts: BTreeMap<Level, (usize, usize)> = BTreeMap::new();
        for a in areas {
            let done = sqlx::query("INSERT INTO areas (code, name, level, parent) VALUES (?, ?, ?, ?) ON CONFLICT (code) DO NOTHING")
                .bind(&a.code)
                .bind(&a.name)
                .bind(a.level.as_str())
                .bind(&a.parent)
                .execute(&mut *tx)
                .await?;
            let c = counts.entry(a.level).or_default();
            if done.rows_affected() == 1 {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }
        tx.commit().await?;
        Ok(ImportReport { per_level: counts.into_iter().map(|(l, (n, o))| (l, n, o)).collect() })
    }

    async fn push(&self, plan: &Plan, key: Option<&str>, changes: &[Revision]) -> Result<PushAnswer, StoreError> {
        let _turn = self.writer.lock().await;
        let mut tx = self.pool.begin().await?;
        let hash = batch_hash(changes);
        if let Some(key) = key {
            if let Some(row) = sqlx::query("SELECT hash, response FROM push_keys WHERE key = ?")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
            {
                if row.get::<&str, _>("hash") != hash {
                    return Ok(PushAnswer::KeyReused);
                }
                let results = serde_json::from_str(row.get("response"))
                    .map_err(|e| StoreError::Corrupt(format!("stored push answer: {e}")))?;
                return Ok(PushAnswer::Replayed(results));
            }
        }
        let mut results = Vec::with_capacity(changes.len());
        for change in changes {
            let rev_hash = change.content_hash();
            let existing = sqlx::query("SELECT seq, hash FROM revisions WHERE rev = ?")
                .bind(change.rev.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| (row.get::<i64, _>("seq"), row.get::<String, _>("hash")));
            let unit_level: Option<String> = sqlx::query_scalar("SELECT level FROM areas WHERE code = ?")
                .bind(&change.unit)
                .fetch_optional(&mut *tx)
                .await?;
            let mut state = RecordState::default();
            for body in sqlx::query_scalar::<_, String>("SELECT body FROM revisions WHERE record = ?")
                .bind(change.record.to_string())
                .fetch_all(&mut *tx)
                .await?
            {
                state.insert(revision(&body)?);
            }
            let facts = Facts { existing, unit_level, record: state };
            let outcome = 'item: {
                if let Err(answer) = judge(plan, change, &facts) {
                    break 'item answer;
                }
                let mut state = facts.record;
                let body = serde_json::to_string(change).expect("a revision is JSON");
                let seq: i64 = sqlx::query_scalar(
                    "INSERT INTO revisions (rev, record, parent, device, clock, form, unit, deleted, body, hash, received_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
                )
                .bind(change.rev.to_string())
                .bind(change.record.to_string())
                .bind(change.parent.map(|p| p.to_string()))
                .bind(&change.device)
                .bind(change.clock as i64)
                .bind(&change.form)
                .bind(&change.unit)
                .bind(change.deleted)
                .bind(&body)
                .bind(&rev_hash)
                .bind(now_ms())
                .fetch_one(&mut *tx)
                .await?;
                state.insert(change.clone());
                let winner = state.winner().expect("the record has the revision just added");
                let winner_seq: i64 = if winner.rev == change.rev {
                    seq
                } else {
                    sqlx::query_scalar("SELECT seq FROM revisions WHERE rev = ?").bind(winner.rev.to_string()).fetch_one(&mut *tx).await?
                };
                sqlx::query(
                    "INSERT INTO records (id, rev, clock, form, unit, deleted, body, seq, conflict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                     ON CONFLICT (id) DO UPDATE SET rev = excluded.rev, clock = excluded.clock,
                       deleted = excluded.deleted, body = excluded.body, seq = excluded.seq, conflict = excluded.conflict",
                )
                .bind(change.record.to_string())
                .bind(winner.rev.to_string())
                .bind(winner.clock as i64)
                .bind(&change.form)
                .bind(&change.unit)
                .bind(winner.deleted)
                .bind(serde_json::to_string(winner).expect("a revision is JSON"))
                .bind(winner_seq)
                .bind(state.in_conflict())
                .execute(&mut *tx)
                .await?;
                PushOutcome::Stored { seq }
            };
            results.push(PushResult { rev: change.rev, outcome });
        }
        if let Some(key) = key {
            sqlx::query("INSERT INTO push_keys (key, hash, response, received_at) VALUES (?, ?, ?, ?)")
                .bind(key)
                .bind(&hash)
                .bind(serde_json::to_string(&results).expect("results are JSON"))
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(PushAnswer::Applied(results))
    }

    async fn checksum(&self, scope: &str) -> Result<Checksum, StoreError> {
        let revs: Vec<String> = sqlx::query_scalar("SELECT rev FROM records WHERE unit >= ? AND unit < ?")
            .bind(scope)
            .bind(prefix_end(scope))
            .fetch_all(&self.pool)
            .await?;
        let ids = revs
            .iter()
            .map(|r| uuid::Uuid::parse_str(r).map_err(|e| StoreError::Corrupt(format!("revision id {r}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Checksum::of(ids))
    }

    async fn pull(&self, scope: &str, after: i64, limit: u32) -> Result<PullPage, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, body FROM revisions WHERE seq > ? AND unit >= ? AND unit < ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(scope)
        .bind(prefix_end(scope))
        .bind(limit as i64 + 1)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() > limit as usize;
        let mut changes = Vec::with_capacity(rows.len().min(limit as usize));
        for r in rows.iter().take(limit as usize) {
            changes.push(PulledRevision { seq: r.get("seq"), revision: revision(r.get("body"))? });
        }
        let cursor = changes.last().map_or(after, |c| c.seq);
        Ok(PullPage { changes, cursor, more })
    }

    async fn live_records(&self, scope: &str) -> Result<Vec<Revision>, StoreError> {
        let rows = sqlx::query("SELECT body FROM records WHERE deleted = 0 AND unit >= ? AND unit < ?")
            .bind(scope)
            .bind(prefix_end(scope))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| revision(r.get("body"))).collect()
    }
}
