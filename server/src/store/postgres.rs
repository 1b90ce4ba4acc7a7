//! PostgreSQL implementation of [`Store`], for deployments that outgrow one machine.
//!
//! Pushes take a transaction-scoped advisory lock, so revisions are numbered in the order they
//! commit and a pull by cursor never skips one committed late with a lower number. Reads need no
//! lock.

use super::judge::{finish_batch, plan_batch, Facts};
use super::rows::{self, now_ms, revision};
use super::{
    prefix_end, AccountRow, Author, ImportReport, PushAnswer, SessionRow, Store, StoreError,
};
use async_trait::async_trait;
use shequ_model::area::{Area, Level};
use shequ_model::auth::{AuditEntry, SessionInfo};
use shequ_model::plan::Plan;
use shequ_model::sync::{batch_hash, Checksum, PullPage};
use shequ_model::Revision;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use std::collections::BTreeMap;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use uuid::Uuid;

/// The advisory lock pushes take turns on.
const PUSH_LOCK: i64 = 0x5348_4551_5500;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Reads what a push needs to decide, for the whole batch, in three queries.
    async fn facts(
        &self,
        tx: &mut sqlx::PgConnection,
        changes: &[Revision],
    ) -> Result<Facts, StoreError> {
        let mut facts = Facts::default();
        let revs: Vec<Uuid> = changes.iter().map(|c| c.rev).collect();
        for row in sqlx::query("SELECT rev, seq, hash FROM revisions WHERE rev = ANY($1)")
            .bind(&revs)
            .fetch_all(&mut *tx)
            .await?
        {
            facts
                .existing
                .insert(row.get("rev"), (row.get("seq"), row.get("hash")));
        }
        let records: Vec<Uuid> = changes
            .iter()
            .map(|c| c.record)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for row in sqlx::query("SELECT seq, body FROM revisions WHERE record = ANY($1)")
            .bind(&records)
            .fetch_all(&mut *tx)
            .await?
        {
            let r = revision(row.get("body"))?;
            facts.seqs.insert(r.rev, row.get("seq"));
            facts.records.entry(r.record).or_default().insert(r);
        }
        let units: Vec<String> = changes
            .iter()
            .map(|c| c.unit.to_string())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for row in sqlx::query("SELECT code, level FROM areas WHERE code = ANY($1)")
            .bind(&units)
            .fetch_all(&mut *tx)
            .await?
        {
            facts.levels.insert(row.get("code"), row.get("level"));
        }
        Ok(facts)
    }

    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn area(&self, code: &str) -> Result<Option<Area>, StoreError> {
        let row = sqlx::query("SELECT code, name, level, parent FROM areas WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| rows::area(&r)).transpose()
    }

    async fn areas(&self, under: &str) -> Result<Vec<Area>, StoreError> {
        let rows = sqlx::query("SELECT code, name, level, parent FROM areas WHERE code >= $1 AND code < $2 ORDER BY code")
            .bind(under)
            .bind(prefix_end(under))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::area).collect()
    }

    async fn import_areas(&self, areas: &[Area]) -> Result<ImportReport, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut counts: BTreeMap<Level, (usize, usize)> = BTreeMap::new();
        for a in areas {
            let done = sqlx::query("INSERT INTO areas (code, name, level, parent) VALUES ($1, $2, $3, $4) ON CONFLICT (code) DO NOTHING")
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
        Ok(ImportReport {
            per_level: counts.into_iter().map(|(l, (n, o))| (l, n, o)).collect(),
        })
    }

    async fn push(
        &self,
        plan: &Plan,
        by: &Author,
        key: Option<&str>,
        changes: &[Revision],
    ) -> Result<PushAnswer, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PUSH_LOCK)
            .execute(&mut *tx)
            .await?;
        let hash = batch_hash(changes);
        if let Some(key) = key {
            if let Some(row) = sqlx::query("SELECT hash, response FROM push_keys WHERE key = $1")
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
        let facts = self.facts(&mut tx, changes).await?;
        let mut plan = plan_batch(plan, changes, facts, now_ms().max(0) as u64);
        let mut stored: HashMap<Uuid, i64> = HashMap::new();
        for chunk in plan.to_store.chunks(400) {
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO revisions (rev, record, parent, device, clock, form, unit, deleted, body, hash, received_at, account) ",
            );
            let now = now_ms();
            q.push_values(chunk, |mut row, r| {
                row.push_bind(r.rev)
                    .push_bind(r.record)
                    .push_bind(r.parent)
                    .push_bind(by.device.clone())
                    .push_bind(r.clock as i64)
                    .push_bind(r.form.clone())
                    .push_bind(r.unit.to_string())
                    .push_bind(r.deleted)
                    .push_bind(serde_json::to_string(r).expect("a revision is JSON"))
                    .push_bind(r.content_hash())
                    .push_bind(now)
                    .push_bind(by.account.clone());
            });
            q.push(" RETURNING rev, seq");
            for row in q.build().fetch_all(&mut *tx).await? {
                stored.insert(row.get("rev"), row.get("seq"));
            }
        }
        let (results, current) = finish_batch(&mut plan, &stored);
        for chunk in current.chunks(400) {
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO records (id, rev, clock, form, unit, deleted, body, seq, conflict) ",
            );
            q.push_values(chunk, |mut row, c| {
                row.push_bind(c.record)
                    .push_bind(c.winner.rev)
                    .push_bind(c.winner.clock as i64)
                    .push_bind(c.winner.form.clone())
                    .push_bind(c.winner.unit.to_string())
                    .push_bind(c.winner.deleted)
                    .push_bind(serde_json::to_string(c.winner).expect("a revision is JSON"))
                    .push_bind(c.seq)
                    .push_bind(c.conflict);
            });
            q.push(
                " ON CONFLICT (id) DO UPDATE SET rev = excluded.rev, clock = excluded.clock, deleted = excluded.deleted,
                   body = excluded.body, seq = excluded.seq, conflict = excluded.conflict",
            );
            q.build().execute(&mut *tx).await?;
        }
        if let Some(key) = key {
            sqlx::query(
                "INSERT INTO push_keys (key, hash, response, received_at) VALUES ($1, $2, $3, $4)",
            )
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
        let revs: Vec<Uuid> =
            sqlx::query_scalar("SELECT rev FROM records WHERE unit >= $1 AND unit < $2")
                .bind(scope)
                .bind(prefix_end(scope))
                .fetch_all(&self.pool)
                .await?;
        Ok(Checksum::of(revs))
    }

    async fn pull(&self, scope: &str, after: i64, limit: u32) -> Result<PullPage, StoreError> {
        // The sizes first, so that a page never reads more bodies than it sends.
        let sizes: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT seq, CAST(octet_length(body) AS BIGINT) FROM revisions WHERE seq > $1 AND unit >= $2 AND unit < $3 ORDER BY seq LIMIT $4",
        )
        .bind(after)
        .bind(scope)
        .bind(prefix_end(scope))
        .bind(limit as i64 + 1)
        .fetch_all(&self.pool)
        .await?;
        let (n, more) = rows::page_len(&sizes.iter().map(|s| s.1).collect::<Vec<_>>(), limit);
        let Some(&(last, _)) = sizes[..n].last() else {
            return rows::pull_page(vec![], after, more);
        };
        let page: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, body FROM revisions WHERE seq > $1 AND seq <= $2 AND unit >= $3 AND unit < $4 ORDER BY seq",
        )
        .bind(after)
        .bind(last)
        .bind(scope)
        .bind(prefix_end(scope))
        .fetch_all(&self.pool)
        .await?;
        rows::pull_page(page, after, more)
    }

    async fn live_records(&self, scope: &str) -> Result<Vec<Revision>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM records WHERE NOT deleted AND unit >= $1 AND unit < $2",
        )
        .bind(scope)
        .bind(prefix_end(scope))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|b| revision(b)).collect()
    }

    async fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query("SELECT username, name, role, unit, password_hash, must_change, disabled FROM accounts WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| rows::account(&r)).transpose()
    }

    async fn account_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn create_account(&self, row: &AccountRow, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO accounts (username, name, role, unit, password_hash, must_change, disabled, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (username) DO NOTHING",
        )
        .bind(&row.account.username)
        .bind(&row.account.name)
        .bind(row.account.role.as_str())
        .bind(&row.account.unit)
        .bind(&row.password_hash)
        .bind(row.must_change)
        .bind(row.disabled)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_password(
        &self,
        username: &str,
        hash: &str,
        must_change: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET password_hash = $1, must_change = $2 WHERE username = $3")
            .bind(hash)
            .bind(must_change)
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn accounts(&self, under: &str) -> Result<Vec<AccountRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT username, name, role, unit, password_hash, must_change, disabled FROM accounts
             WHERE unit >= $1 AND unit < $2 ORDER BY unit, username",
        )
        .bind(under)
        .bind(prefix_end(under))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::account).collect()
    }

    async fn create_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, username, device, created_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id)
        .bind(&s.token_hash)
        .bind(&s.username)
        .bind(&s.device)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(s.revoked_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, token_hash, username, device, created_at, expires_at, revoked_at FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| rows::session(&r)))
    }

    async fn revoke_other_sessions(
        &self,
        username: &str,
        keep: &str,
        at: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE username = $2 AND id <> $3 AND revoked_at IS NULL")
            .bind(at)
            .bind(username)
            .bind(keep)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn revoke_session(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sessions(&self, under: &str) -> Result<Vec<SessionInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.username, s.device, s.created_at, s.expires_at, s.revoked_at FROM sessions s
             JOIN accounts a ON a.username = s.username WHERE a.unit >= $1 AND a.unit < $2
             ORDER BY s.created_at DESC LIMIT 1000",
        )
        .bind(under)
        .bind(prefix_end(under))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(rows::session_info).collect())
    }

    async fn audit(&self, under: &str, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, rev, record, form, unit, account, device, deleted, received_at FROM revisions
             WHERE unit >= $1 AND unit < $2 ORDER BY seq DESC LIMIT $3",
        )
        .bind(under)
        .bind(prefix_end(under))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                seq: r.get("seq"),
                rev: r.get::<Uuid, _>("rev").to_string(),
                record: r.get::<Uuid, _>("record").to_string(),
                form: r.get("form"),
                unit: r.get("unit"),
                account: r.get("account"),
                device: r.get("device"),
                deleted: r.get("deleted"),
                received_at: r.get("received_at"),
            })
            .collect())
    }
}
