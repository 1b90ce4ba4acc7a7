//! SQLite implementation of [`Store`]: one file, WAL, and `synchronous = FULL` so that a push the
//! server acknowledged survives a crash of the process or of the machine.

use super::judge::{finish_batch, plan_batch, Facts};
use super::rows::{self, now_ms, revision};
use super::{
    prefix_end, AccountRow, Author, ImportReport, PushAnswer, SessionRow, Store, StoreError,
};
use async_trait::async_trait;
use shequ_model::area::{Area, Level};
use shequ_model::auth::{AuditEntry, SessionInfo};
use shequ_model::plan::Plan;
use shequ_model::sync::PullPage;
use shequ_model::sync::{batch_hash, Checksum};
use shequ_model::Revision;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::collections::BTreeMap;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

pub struct SqliteStore {
    pool: SqlitePool,
    /// SQLite has one writer at a time. Every write takes its turn here, pushes and session
    /// writes alike: a deferred transaction that read before another connection wrote cannot
    /// upgrade to a write, and SQLite answers that with `database is locked` at once, whatever the
    /// busy timeout (which covers the other processes, such as `import-areas`).
    writer: tokio::sync::Mutex<()>,
}

fn parse_id(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("revision id {s}: {e}")))
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl SqliteStore {
    /// Reads what a push needs to decide, for the whole batch, in three queries.
    async fn facts(
        &self,
        tx: &mut sqlx::SqliteConnection,
        changes: &[Revision],
    ) -> Result<Facts, StoreError> {
        let mut facts = Facts::default();
        for chunk in changes.chunks(400) {
            let sql = format!(
                "SELECT rev, seq, hash FROM revisions WHERE rev IN ({})",
                placeholders(chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q.bind(c.rev.to_string());
            }
            for row in q.fetch_all(&mut *tx).await? {
                facts
                    .existing
                    .insert(parse_id(row.get("rev"))?, (row.get("seq"), row.get("hash")));
            }
            let records: Vec<String> = chunk
                .iter()
                .map(|c| c.record.to_string())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let sql = format!(
                "SELECT seq, body FROM revisions WHERE record IN ({})",
                placeholders(records.len())
            );
            let mut q = sqlx::query(&sql);
            for r in &records {
                q = q.bind(r);
            }
            for row in q.fetch_all(&mut *tx).await? {
                let r = revision(row.get("body"))?;
                facts.seqs.insert(r.rev, row.get("seq"));
                facts.records.entry(r.record).or_default().insert(r);
            }
            let units: Vec<&str> = chunk
                .iter()
                .map(|c| c.unit.as_str())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let sql = format!(
                "SELECT code, level FROM areas WHERE code IN ({})",
                placeholders(units.len())
            );
            let mut q = sqlx::query(&sql);
            for u in &units {
                q = q.bind(*u);
            }
            for row in q.fetch_all(&mut *tx).await? {
                facts.levels.insert(row.get("code"), row.get("level"));
            }
        }
        Ok(facts)
    }

    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            writer: tokio::sync::Mutex::new(()),
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn area(&self, code: &str) -> Result<Option<Area>, StoreError> {
        let row = sqlx::query("SELECT code, name, level, parent FROM areas WHERE code = ?")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| rows::area(&r)).transpose()
    }

    async fn areas(&self, under: &str) -> Result<Vec<Area>, StoreError> {
        let rows = sqlx::query("SELECT code, name, level, parent FROM areas WHERE code >= ? AND code < ? ORDER BY code")
            .bind(under)
            .bind(prefix_end(under))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::area).collect()
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
        let facts = self.facts(&mut tx, changes).await?;
        let mut plan = plan_batch(plan, changes, facts, now_ms().max(0) as u64);
        let mut stored: HashMap<Uuid, i64> = HashMap::new();
        for chunk in plan.to_store.chunks(400) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO revisions (rev, record, parent, device, clock, form, unit, deleted, body, hash, received_at, account) ",
            );
            let now = now_ms();
            q.push_values(chunk, |mut row, r| {
                row.push_bind(r.rev.to_string())
                    .push_bind(r.record.to_string())
                    .push_bind(r.parent.map(|p| p.to_string()))
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
                stored.insert(parse_id(row.get("rev"))?, row.get("seq"));
            }
        }
        let (results, current) = finish_batch(&mut plan, &stored);
        for chunk in current.chunks(400) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO records (id, rev, clock, form, unit, deleted, body, seq, conflict) ",
            );
            q.push_values(chunk, |mut row, c| {
                row.push_bind(c.record.to_string())
                    .push_bind(c.winner.rev.to_string())
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
                "INSERT INTO push_keys (key, hash, response, received_at) VALUES (?, ?, ?, ?)",
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
        let revs: Vec<String> =
            sqlx::query_scalar("SELECT rev FROM records WHERE unit >= ? AND unit < ?")
                .bind(scope)
                .bind(prefix_end(scope))
                .fetch_all(&self.pool)
                .await?;
        let ids = revs
            .iter()
            .map(|r| {
                uuid::Uuid::parse_str(r)
                    .map_err(|e| StoreError::Corrupt(format!("revision id {r}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Checksum::of(ids))
    }

    async fn pull(&self, scope: &str, after: i64, limit: u32) -> Result<PullPage, StoreError> {
        // The sizes first, so that a page never reads more bodies than it sends.
        let sizes: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT seq, CAST(octet_length(body) AS BIGINT) FROM revisions WHERE seq > ? AND unit >= ? AND unit < ? ORDER BY seq LIMIT ?",
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
            "SELECT seq, body FROM revisions WHERE seq > ? AND seq <= ? AND unit >= ? AND unit < ? ORDER BY seq",
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
        let rows =
            sqlx::query("SELECT body FROM records WHERE deleted = 0 AND unit >= ? AND unit < ?")
                .bind(scope)
                .bind(prefix_end(scope))
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| revision(r.get("body"))).collect()
    }

    async fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query("SELECT username, name, role, unit, password_hash, must_change, disabled FROM accounts WHERE username = ?")
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
        let _turn = self.writer.lock().await;
        let done = sqlx::query(
            "INSERT INTO accounts (username, name, role, unit, password_hash, must_change, disabled, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING",
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
        let _turn = self.writer.lock().await;
        sqlx::query("UPDATE accounts SET password_hash = ?, must_change = ? WHERE username = ?")
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
             WHERE unit >= ? AND unit < ? ORDER BY unit, username",
        )
        .bind(under)
        .bind(prefix_end(under))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::account).collect()
    }

    async fn create_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        let _turn = self.writer.lock().await;
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, username, device, created_at, expires_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
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
            "SELECT id, token_hash, username, device, created_at, expires_at, revoked_at FROM sessions WHERE token_hash = ?",
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
        let _turn = self.writer.lock().await;
        let done = sqlx::query("UPDATE sessions SET revoked_at = ? WHERE username = ? AND id <> ? AND revoked_at IS NULL")
            .bind(at)
            .bind(username)
            .bind(keep)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn revoke_session(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        let _turn = self.writer.lock().await;
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sessions(&self, under: &str) -> Result<Vec<SessionInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.username, s.device, s.created_at, s.expires_at, s.revoked_at FROM sessions s
             JOIN accounts a ON a.username = s.username WHERE a.unit >= ? AND a.unit < ?
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
             WHERE unit >= ? AND unit < ? ORDER BY seq DESC LIMIT ?",
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
                rev: r.get("rev"),
                record: r.get("record"),
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
