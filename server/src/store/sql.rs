//! The one SQL implementation of [`Store`], for every engine a [`Dialect`] describes. Queries use
//! `$N` parameters and keep ids as text, which SQLite and PostgreSQL read alike; a count of
//! changed rows comes from `RETURNING`, which both have.

use super::area_trees::AreaTrees;
use super::batch::{decide_batch, finish_batch, prepare, Current, Facts, RecordParts};
use super::county_rollups::{CountyRollups, CountyVersions};
use super::dialect::{county_of, value_list, Dialect};
use super::figures::{self, FigureKey, Kept, RebuildReport, Table};
use super::log_sync::LogSync;
use super::rows::{self, now_ms, revision, Columns};
use super::StoredPage;
use super::{
    prefix_end, AccountRow, AreaImport, Author, HistoryRows, ListedRow, OfferRow, PhotoRow,
    PlanAdded, PlanBook, PlanRole, PushAnswer, SessionRow, StartTurn, Store, StoreError, Strikes,
    SubmissionRow,
};
use async_trait::async_trait;
use shequ_model::area::{Area, AreaTree, Level};
use shequ_model::auth::{AdminAction, AdminActionKind, AuditEntry, AuditFilter, SessionInfo};
use shequ_model::month::Month;
use shequ_model::photo::{self, PhotoId};
use shequ_model::plan::{Indicator, Plan, Target, TownTargets};
use shequ_model::plan::{PlanId, Plans};
use shequ_model::rollup::{forms_read, record_parts, unit_figures_of, Figure, UnitFigures};
use shequ_model::sync::{batch_hash_of, Checksum, MAX_PULL_PAGE};
use shequ_model::table::TargetChange;
use shequ_model::Revision;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Type};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard};
use uuid::Uuid;

/// How many items one statement carries: a whole push, whose 13 columns a revision make 6,500
/// parameters, well under SQLite's limit (32,766) and PostgreSQL's (65,535). Each statement more
/// is a round trip inside the writer's turn.
const CHUNK: usize = shequ_model::sync::MAX_PUSH_BATCH;
/// How many units' records are read at once to compute their figures.
const FIGURE_UNITS: usize = 50;

pub struct SqlStore<D: Dialect> {
    pool: Pool<D>,
    /// Where pushes write ([`super::dialect::Pools::pushes`]).
    pushes: Pool<D>,
    /// The turn every write takes when the engine has one writer (see [`Dialect::ONE_WRITER`]).
    writer: Arc<Mutex<()>>,
    /// Where the engine has many writers: the pushes of this process to one county queue here,
    /// holding no connection, while one of them holds the county's lock in the database; a
    /// county's many pushes would otherwise take the whole pool, and other counties' pushes
    /// would wait for a connection behind them. Only counties with a push waiting are kept.
    counties: Arc<std::sync::Mutex<HashMap<u32, Arc<Mutex<()>>>>>,
    /// The area trees of wide scopes, as the last import left them.
    area_trees: Arc<AreaTrees>,
    /// Counties rolled up for reports of wider scopes.
    county_rollups: Arc<CountyRollups>,
    /// The engine's work beside the requests ([`Dialect::background`]), ended with the store.
    background: Option<tokio::task::JoinHandle<()>>,
    /// The log a push or a pull waits for before it answers ([`super::dialect::Pools::log`]).
    log: Option<LogSync>,
}

/// The turns of this process's pushes to their counties, given back when dropped.
struct CountyTurns {
    held: Vec<(u32, OwnedMutexGuard<()>)>,
    counties: Arc<std::sync::Mutex<HashMap<u32, Arc<Mutex<()>>>>>,
}

impl<D: Dialect> Drop for SqlStore<D> {
    fn drop(&mut self) {
        if let Some(task) = &self.background {
            task.abort();
        }
    }
}

impl Drop for CountyTurns {
    fn drop(&mut self) {
        let mut counties = self.counties.lock().expect("never poisoned");
        for (county, guard) in self.held.drain(..) {
            drop(guard);
            if counties
                .get(&county)
                .is_some_and(|turn| Arc::strong_count(turn) == 1)
            {
                counties.remove(&county);
            }
        }
    }
}

/// An import of areas: its transaction, and the writer's turn where the engine has one.
struct SqlAreaImport<D: Dialect> {
    tx: sqlx::Transaction<'static, D>,
    _turn: Option<OwnedMutexGuard<()>>,
    /// Whether a unit was added: the import then raises `areas_version` as it commits.
    added: bool,
}

#[async_trait]
impl<D: Dialect> AreaImport for SqlAreaImport<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> f64: Encode<'q, D> + Decode<'q, D> + Type<D>,
{
    async fn stored(&mut self, codes: &[&str]) -> Result<Vec<Area>, StoreError> {
        if codes.is_empty() {
            return Ok(vec![]);
        }
        D::stored_areas(&mut self.tx, codes).await
    }

    async fn add(&mut self, areas: &[Area]) -> Result<(), StoreError> {
        if areas.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO areas (code, name, level, parent) VALUES {}",
            value_list::<D>(areas.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for a in areas {
            q = q
                .bind(a.code.as_str())
                .bind(a.name.as_str())
                .bind(a.level.as_str())
                .bind(a.parent.as_str());
        }
        q.execute(&mut *self.tx).await?;
        self.added = true;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if self.added {
            sqlx::query("UPDATE areas_version SET version = version + 1 WHERE id = 1")
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

/// A start's turn: the transaction that holds it, where the engine needs one.
struct SqlStartTurn<D: Dialect>(Option<sqlx::Transaction<'static, D>>);

#[async_trait]
impl<D: Dialect> StartTurn for SqlStartTurn<D> {
    async fn end(self: Box<Self>) -> Result<(), StoreError> {
        if let Some(tx) = self.0 {
            tx.rollback().await?;
        }
        Ok(())
    }
}

fn parse_id(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("revision id {s}: {e}")))
}

/// `$from, …` for `n` parameters, for the short lists that follow other numbered parameters
/// (long lists use [`Dialect::param_list`]).
fn params(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a push adds to one kept figure of one unit: the sums of its records' parts, the new
/// revision's counted in, the one it replaces counted out.
struct Move<'a> {
    plan: &'a PlanId,
    unit: &'a str,
    indicator: &'a str,
    month: Option<Month>,
    num: f64,
    den: f64,
}

/// The moves of a unit's figures of these (additive) indicators that `changes` make; `known` are
/// parts worked out before the turn.
fn moves<'a>(
    plan: &'a Plan,
    unit: &'a str,
    inds: &[&'a Indicator],
    changes: &[(Option<&Revision>, &Revision)],
    known: &HashMap<Uuid, RecordParts>,
) -> Vec<Move<'a>> {
    if inds.is_empty() {
        return vec![];
    }
    let months = plan.period().months();
    let mut delta = vec![vec![(0.0, 0.0); months.len() + 1]; inds.len()];
    for (old, new) in changes {
        let mut apply = |r: &Revision, sign: f64| {
            let parts = known
                .get(&r.rev)
                .and_then(|k| k.of(&plan.id, inds))
                .unwrap_or_else(|| record_parts(plan, inds, r));
            for (i, parts) in parts.into_iter().enumerate() {
                for (m, (a, b)) in parts.into_iter().enumerate() {
                    delta[i][m].0 += sign * a;
                    delta[i][m].1 += sign * b;
                }
            }
        };
        apply(new, 1.0);
        if let Some(old) = old {
            apply(old, -1.0);
        }
    }
    let mut moved = vec![];
    for (ind, by_month) in inds.iter().zip(delta) {
        for (m, (num, den)) in by_month.into_iter().enumerate() {
            if num == 0.0 && den == 0.0 {
                continue;
            }
            moved.push(Move {
                plan: &plan.id,
                unit,
                indicator: ind.id.as_str(),
                month: m.checked_sub(1).map(|m| months[m]),
                num,
                den,
            });
        }
    }
    moved
}

/// The condition on the month a row of `table` is as of, its parameter numbered `n` (none for
/// [`Table::Now`]).
fn of_month(table: Table, n: usize) -> String {
    match table {
        Table::Now => String::new(),
        Table::Months => format!(" AND month = ${n}"),
    }
}

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<String>: Encode<'q, D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> f64: Encode<'q, D> + Decode<'q, D> + Type<D>,
{
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pools = D::open(url).await?;
        Ok(SqlStore {
            background: D::background(&pools.all),
            pool: pools.all,
            pushes: pools.pushes,
            log: pools.log,
            writer: Arc::new(Mutex::new(())),
            counties: Arc::default(),
            area_trees: Arc::default(),
            county_rollups: Arc::default(),
        })
    }

    /// Drops up to 100 rows of the wall's `table` answered before `before`: each new one takes a
    /// few old ones along, so the table holds about the retention's worth, phones and all.
    async fn forget_answered(
        tx: &mut sqlx::Transaction<'static, D>,
        table: &'static str,
        before: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE id IN
             (SELECT id FROM {table} WHERE state <> 'waiting' AND decided_at < $1 LIMIT 100{})",
            D::SKIP_LOCKED
        ))
        .bind(before)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Answers a waiting row of the wall's `table` (offers or submissions); false when it no
    /// longer waits.
    async fn answer_waiting(
        &self,
        table: &'static str,
        id: &str,
        state: &str,
        by: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let done = sqlx::query(&format!(
            "UPDATE {table} SET state = $1, decided_by = $2, decided_at = $3
             WHERE id = $4 AND state = 'waiting' RETURNING id"
        ))
        .bind(state)
        .bind(by)
        .bind(at)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(done.is_some())
    }

    async fn turn(&self) -> Option<MutexGuard<'_, ()>> {
        if D::ONE_WRITER {
            Some(self.writer.lock().await)
        } else {
            None
        }
    }

    /// This process's turns at `counties`, in their order (see [`SqlStore::counties`]).
    async fn county_turns(&self, counties: &BTreeSet<u32>) -> Option<CountyTurns> {
        if D::ONE_WRITER {
            return None;
        }
        let mut turns = CountyTurns {
            held: Vec::with_capacity(counties.len()),
            counties: self.counties.clone(),
        };
        for county in counties {
            let turn = self
                .counties
                .lock()
                .expect("never poisoned")
                .entry(*county)
                .or_default()
                .clone();
            turns.held.push((*county, turn.lock_owned().await));
        }
        Some(turns)
    }

    /// A push in the writer's turn, up to its commit.
    async fn push_in_turn(
        &self,
        plans: &PlanBook,
        by: &Author,
        key: Option<&str>,
        changes: &[Revision],
    ) -> Result<PushAnswer, StoreError> {
        // A record never changes unit, so every revision a push stores, and every unit whose
        // figures it rewrites, lies in these counties.
        let counties: BTreeSet<u32> = changes.iter().map(|c| county_of(c.unit.as_str())).collect();
        // What needs no stored state is worked out before the turn, beside another push's.
        let sent = prepare(plans, changes);
        let _turn = self.turn().await;
        let _counties = self.county_turns(&counties).await;
        let mut tx = self.pushes.begin().await?;
        D::order_pushes(&mut tx, key, &counties).await?;
        let hash = key.map(|_| batch_hash_of(sent.iter().map(|s| &s.hash)));
        if let (Some(key), Some(hash)) = (key, &hash) {
            if let Some(row) = sqlx::query("SELECT hash, response FROM push_keys WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
            {
                if row.text("hash") != *hash {
                    return Ok(PushAnswer::KeyReused);
                }
                let results = serde_json::from_str(&row.text("response"))
                    .map_err(|e| StoreError::Corrupt(format!("stored push answer: {e}")))?;
                return Ok(PushAnswer::Replayed(results));
            }
        }
        let facts = self.facts(&mut tx, changes).await?;
        let mut decided = decide_batch(plans, changes, sent, facts, now_ms().max(0) as u64);
        let mut stored: HashMap<Uuid, i64> = HashMap::new();
        let now = now_ms();
        for chunk in decided.to_store.chunks(CHUNK) {
            let returning = if D::NUMBERS_INSERTED {
                ""
            } else {
                " RETURNING rev, seq"
            };
            let sql = format!(
                "INSERT INTO revisions (rev, record, parent, device, clock, form, unit, deleted, body, hash, received_at, account, plan)
                 VALUES {}{returning}",
                value_list::<D>(chunk.len(), 13)
            );
            let mut q = sqlx::query(&sql);
            for s in chunk {
                let r = &changes[s.index];
                q = q
                    .bind(r.rev.to_string())
                    .bind(r.record.to_string())
                    .bind(r.parent.map(|p| p.to_string()))
                    .bind(by.device.as_str())
                    .bind(r.clock as i64)
                    .bind(r.form.as_str())
                    .bind(r.unit.as_str())
                    .bind(r.deleted)
                    .bind(s.body.as_str())
                    .bind(s.hash.as_str())
                    .bind(now)
                    .bind(by.account.as_str())
                    .bind(s.plan.to_string());
            }
            if D::NUMBERS_INSERTED {
                let done = q.execute(&mut *tx).await?;
                let seqs = D::inserted_seqs(&done, chunk.len())?;
                for (s, seq) in chunk.iter().zip(seqs) {
                    stored.insert(changes[s.index].rev, seq);
                }
            } else {
                for row in q.fetch_all(&mut *tx).await? {
                    stored.insert(parse_id(&row.text("rev"))?, row.int("seq"));
                }
            }
        }
        // Which records name which photos: what a photo's upload and its readers are checked by.
        let named: Vec<(PhotoId, &Revision)> = decided
            .to_store
            .iter()
            .map(|s| (&changes[s.index], &s.plan))
            .filter(|(r, _)| !r.deleted)
            .filter_map(|(r, plan)| Some((r, plans.plans.get(plan)?.form(&r.form)?)))
            .flat_map(|(r, form)| {
                photo::refs(form, &r.content)
                    .into_iter()
                    .map(move |p| (p, r))
            })
            .collect();
        for chunk in named.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO record_photos (photo, unit, record) VALUES {} ON CONFLICT DO NOTHING",
                value_list::<D>(chunk.len(), 3)
            );
            let mut q = sqlx::query(&sql);
            for (p, r) in chunk {
                q = q
                    .bind(p.as_str())
                    .bind(r.unit.as_str())
                    .bind(r.record.to_string());
            }
            q.execute(&mut *tx).await?;
        }
        let parts: HashMap<Uuid, RecordParts> = decided
            .to_store
            .iter_mut()
            .map(|s| (changes[s.index].rev, std::mem::take(&mut s.parts)))
            .collect();
        let (results, current) = finish_batch(changes, &mut decided, &stored);
        for chunk in current.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO records (id, rev, clock, form, unit, deleted, seq, conflict, plan)
                 VALUES {}
                 ON CONFLICT (id) DO UPDATE SET rev = excluded.rev, clock = excluded.clock,
                   deleted = excluded.deleted, seq = excluded.seq, conflict = excluded.conflict",
                value_list::<D>(chunk.len(), 9)
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q
                    .bind(c.record.to_string())
                    .bind(c.winner.rev.to_string())
                    .bind(c.winner.clock as i64)
                    .bind(c.winner.form.as_str())
                    .bind(c.winner.unit.as_str())
                    .bind(c.winner.deleted)
                    .bind(c.seq)
                    .bind(c.conflict)
                    .bind(c.winner.plan.to_string());
            }
            q.execute(&mut *tx).await?;
        }
        // The figures of every unit whose records changed, in the same transaction: a report
        // never sees records and figures that disagree.
        self.keep_figures(&mut tx, &plans.plans, &current, &parts)
            .await?;
        if let (Some(key), Some(hash)) = (key, &hash) {
            sqlx::query(
                "INSERT INTO push_keys (key, hash, response, received_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(key)
            .bind(hash.as_str())
            .bind(serde_json::to_string(&results).expect("results are JSON"))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(PushAnswer::Applied(results))
    }

    /// Returns once what this store committed or read so far is on disk (see [`LogSync`]).
    async fn log_on_disk(&self) -> Result<(), StoreError> {
        match &self.log {
            Some(log) => log
                .sync()
                .await
                .map_err(|e| StoreError::Database(sqlx::Error::Io(e))),
            None => Ok(()),
        }
    }

    /// [`SqlStore::turn`], held by what outlives the call.
    async fn owned_turn(&self) -> Option<OwnedMutexGuard<()>> {
        if D::ONE_WRITER {
            Some(self.writer.clone().lock_owned().await)
        } else {
            None
        }
    }

    /// The figures of the given units, each at its level, now and as of each month of the plan,
    /// from their live records: a few units' records at a time, so that memory follows the
    /// largest units, not the store.
    async fn compute_figures(
        &self,
        tx: &mut D::Connection,
        plans: &Plans,
        units: &BTreeMap<(PlanId, String), Level>,
    ) -> Result<Kept, StoreError> {
        let mut kept = Kept::new();
        let mut by_plan: BTreeMap<&PlanId, Vec<(&str, Level)>> = BTreeMap::new();
        for ((plan, unit), level) in units {
            by_plan.entry(plan).or_default().push((unit, *level));
        }
        for (plan_id, units) in by_plan {
            // Figures of a plan the server does not hold are none: no report can ask for them.
            let Some(plan) = plans.get(plan_id) else {
                continue;
            };
            for chunk in units.chunks(FIGURE_UNITS) {
                let sql = format!(
                    "SELECT v.body, r.plan FROM records r JOIN revisions v ON v.seq = r.seq
                     WHERE NOT r.deleted AND r.plan = $1 AND r.unit IN ({})",
                    params(2, chunk.len())
                );
                let mut q = sqlx::query(&sql).bind(plan_id.to_string());
                for (u, _) in chunk {
                    q = q.bind(*u);
                }
                let mut records: HashMap<String, Vec<Revision>> = HashMap::new();
                for row in q.fetch_all(&mut *tx).await? {
                    let r = revision(&row.text("body"), &row.text("plan"))?;
                    records.entry(r.unit.to_string()).or_default().push(r);
                }
                for (unit, level) in chunk {
                    let own = records.get(*unit).map(Vec::as_slice).unwrap_or_default();
                    let inds: Vec<&Indicator> = plan
                        .indicators
                        .iter()
                        .filter(|i| i.level == *level)
                        .collect();
                    for (month, ind, f) in unit_figures_of(plan, &inds, unit, own) {
                        kept.insert((plan_id.to_string(), unit.to_string(), ind, month), f);
                    }
                }
            }
        }
        Ok(kept)
    }

    /// Keeps the figures of the units whose records a push changed, in its transaction, from
    /// each changed record's winner before the push and its winner now: a unit without figures
    /// yet is computed whole; otherwise only the indicators that read a changed record's form
    /// change, the additive ones by their records' parts (taking away the old winner's, adding
    /// the new one's), the others recomputed from the unit's records of the forms they read.
    /// The work follows the push and those forms, not the unit's other records.
    async fn keep_figures(
        &self,
        tx: &mut D::Connection,
        plans: &Plans,
        current: &[Current<'_>],
        parts: &HashMap<Uuid, RecordParts>,
    ) -> Result<(), StoreError> {
        type Changes<'r> = Vec<(Option<&'r Revision>, &'r Revision)>;
        let mut touched: BTreeMap<(PlanId, String), (Level, Changes)> = BTreeMap::new();
        for c in current {
            let old = c.was;
            if old.map(|o| o.rev) == Some(c.winner.rev) {
                continue;
            }
            let Some(plan) = plans.get(&c.winner.plan) else {
                continue;
            };
            // A form of a level no indicator is measured at has no figures to keep.
            let Some(form) = plan
                .form(&c.winner.form)
                .filter(|f| plan.indicators.iter().any(|i| i.level == f.level))
            else {
                continue;
            };
            touched
                .entry((c.winner.plan.clone(), c.winner.unit.to_string()))
                .or_insert_with(|| (form.level, vec![]))
                .1
                .push((old, c.winner));
        }
        let counties: BTreeSet<&str> = touched
            .keys()
            .filter_map(|(_, unit)| unit.get(..Level::County.code_len()))
            .collect();
        self.bump_counties(tx, &counties).await?;
        let kept = self.units_with_figures(tx, touched.keys()).await?;
        let fresh: BTreeMap<(PlanId, String), Level> = touched
            .iter()
            .filter(|(k, _)| !kept.contains(*k))
            .map(|(k, (level, _))| (k.clone(), *level))
            .collect();
        let computed = self.compute_figures(tx, plans, &fresh).await?;
        self.write_figures(tx, &fresh, &computed).await?;
        let mut moved = Vec::new();
        for ((plan_id, unit), (level, changes)) in &touched {
            if fresh.contains_key(&(plan_id.clone(), unit.clone())) {
                continue;
            }
            let Some(plan) = plans.get(plan_id) else {
                continue;
            };
            let forms: BTreeSet<&str> = changes.iter().map(|(_, new)| new.form.as_str()).collect();
            let (add, redo) = figures::moved_by(plan, *level, &forms);
            moved.extend(moves(plan, unit, &add, changes, parts));
            self.recompute(tx, plan, unit, &redo).await?;
        }
        self.add_moves(tx, &moved).await
    }

    /// Adds the moves to the kept figures they name, one statement per table and chunk for the
    /// whole push: a statement per figure and month would each be a round trip in the turn.
    async fn add_moves(
        &self,
        tx: &mut D::Connection,
        moved: &[Move<'_>],
    ) -> Result<(), StoreError> {
        for table in [Table::Now, Table::Months] {
            let of_table: Vec<&Move> = moved
                .iter()
                .filter(|m| Table::of(m.month) == table)
                .collect();
            for chunk in of_table.chunks(CHUNK) {
                let (month, columns) = match table {
                    Table::Now => ("", 5),
                    Table::Months => (" AND t.month = d.column6", 6),
                };
                // The target is named `t` and the moves `d`, with VALUES' own column names, which
                // both engines give alike. No two moves name the same figure (`moves` sums a
                // unit's per figure and month, and a unit is touched once), as an UPDATE … FROM
                // applies only one of the rows that match.
                let sql = format!(
                    "UPDATE {} AS t SET num = t.num + d.column4, den = t.den + d.column5
                     FROM (VALUES {}) AS d
                     WHERE t.plan = d.column1 AND t.unit = d.column2 AND t.indicator = d.column3{month}",
                    table.name(),
                    value_list::<D>(chunk.len(), columns)
                );
                let mut q = sqlx::query(&sql);
                for m in chunk {
                    q = q
                        .bind(m.plan.as_str())
                        .bind(m.unit)
                        .bind(m.indicator)
                        .bind(m.num)
                        .bind(m.den);
                    if let Some(month) = m.month {
                        q = q.bind(month.to_string());
                    }
                }
                q.execute(&mut *tx).await?;
            }
        }
        Ok(())
    }

    /// Keeps an administrator's change in the audit trail, in the transaction that makes it.
    async fn keep_action(tx: &mut D::Connection, action: &AdminAction) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO admin_actions (at, account, device, unit, action, detail)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(action.at)
        .bind(&action.account)
        .bind(&action.device)
        .bind(&action.unit)
        .bind(action.action.as_str())
        .bind(action.detail.to_string())
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// The number every import of areas raises (migration 0010).
    async fn areas_version(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query("SELECT version FROM areas_version WHERE id = 1")
                .fetch_one(&self.pool)
                .await?
                .int("version"),
        )
    }

    /// Raises the number of each of these counties, in the transaction that changes what its
    /// roll-up depends on (see [`super::county_rollups`]).
    async fn bump_counties(
        &self,
        tx: &mut D::Connection,
        counties: &BTreeSet<&str>,
    ) -> Result<(), StoreError> {
        for county in counties {
            sqlx::query(
                "INSERT INTO county_versions (county, version) VALUES ($1, 1)
                 ON CONFLICT (county) DO UPDATE SET version = county_versions.version + 1",
            )
            .bind(*county)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    /// Which of these units have figures kept.
    async fn units_with_figures(
        &self,
        tx: &mut D::Connection,
        units: impl Iterator<Item = &(PlanId, String)>,
    ) -> Result<BTreeSet<(PlanId, String)>, StoreError> {
        let mut by_plan: BTreeMap<&PlanId, Vec<&str>> = BTreeMap::new();
        for (plan, unit) in units {
            by_plan.entry(plan).or_default().push(unit);
        }
        let mut kept = BTreeSet::new();
        for (plan, units) in by_plan {
            for chunk in units.chunks(CHUNK) {
                let sql = format!(
                    "SELECT DISTINCT unit FROM unit_figures WHERE plan = $1 AND unit IN ({})",
                    params(2, chunk.len())
                );
                let mut q = sqlx::query(&sql).bind(plan.to_string());
                for u in chunk {
                    q = q.bind(*u);
                }
                for row in q.fetch_all(&mut *tx).await? {
                    kept.insert((plan.clone(), row.text("unit")));
                }
            }
        }
        Ok(kept)
    }

    /// Recomputes a unit's kept figures of these indicators from its records of the forms they
    /// read.
    async fn recompute(
        &self,
        tx: &mut D::Connection,
        plan: &Plan,
        unit: &str,
        inds: &[&Indicator],
    ) -> Result<(), StoreError> {
        if inds.is_empty() {
            return Ok(());
        }
        let forms: BTreeSet<&str> = inds.iter().flat_map(|i| forms_read(i)).collect();
        let sql = format!(
            "SELECT v.body, r.plan FROM records r JOIN revisions v ON v.seq = r.seq
             WHERE NOT r.deleted AND r.plan = $1 AND r.unit = $2 AND r.form IN ({})",
            params(3, forms.len())
        );
        let mut q = sqlx::query(&sql).bind(plan.id.to_string()).bind(unit);
        for f in &forms {
            q = q.bind(*f);
        }
        let mut records = Vec::new();
        for row in q.fetch_all(&mut *tx).await? {
            records.push(revision(&row.text("body"), &row.text("plan"))?);
        }
        for table in Table::ALL {
            let sql = format!(
                "DELETE FROM {} WHERE plan = $1 AND unit = $2 AND indicator IN ({})",
                table.name(),
                params(3, inds.len())
            );
            let mut q = sqlx::query(&sql).bind(plan.id.to_string()).bind(unit);
            for i in inds {
                q = q.bind(i.id.as_str());
            }
            q.execute(&mut *tx).await?;
        }
        let figures: Kept = unit_figures_of(plan, inds, unit, &records)
            .into_iter()
            .map(|(m, ind, f)| ((plan.id.to_string(), unit.to_owned(), ind, m), f))
            .collect();
        self.insert_figures(tx, &figures).await
    }

    /// Replaces the kept figures of the given units by `figures`.
    async fn write_figures(
        &self,
        tx: &mut D::Connection,
        units: &BTreeMap<(PlanId, String), Level>,
        figures: &Kept,
    ) -> Result<(), StoreError> {
        let keys: Vec<&(PlanId, String)> = units.keys().collect();
        for table in Table::ALL {
            for chunk in keys.chunks(CHUNK / 2) {
                let sql = format!(
                    "DELETE FROM {} WHERE {}",
                    table.name(),
                    (0..chunk.len())
                        .map(|i| format!("(plan = ${} AND unit = ${})", 2 * i + 1, 2 * i + 2))
                        .collect::<Vec<_>>()
                        .join(" OR ")
                );
                let mut q = sqlx::query(&sql);
                for (plan, unit) in chunk {
                    q = q.bind(plan.to_string()).bind(unit.as_str());
                }
                q.execute(&mut *tx).await?;
            }
        }
        self.insert_figures(tx, figures).await
    }

    async fn insert_figures(
        &self,
        tx: &mut D::Connection,
        figures: &Kept,
    ) -> Result<(), StoreError> {
        let (now, months): (Vec<_>, Vec<_>) = figures.iter().partition(|(k, _)| k.3.is_none());
        self.insert_figure_rows(tx, Table::Now, &now).await?;
        self.insert_figure_rows(tx, Table::Months, &months).await
    }

    /// Inserts figures of the keys `table` keeps.
    async fn insert_figure_rows(
        &self,
        tx: &mut D::Connection,
        table: Table,
        figures: &[(&FigureKey, &Figure)],
    ) -> Result<(), StoreError> {
        let by_month = table == Table::Months;
        let (month, columns) = if by_month { (" month,", 8) } else { ("", 7) };
        for chunk in figures.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO {} (plan, unit, indicator,{month} kind, num, den, scale) VALUES {}",
                table.name(),
                value_list::<D>(chunk.len(), columns)
            );
            let mut q = sqlx::query(&sql);
            for ((plan, unit, ind, m), f) in chunk {
                let (kind, num, den, scale) = figures::to_row(f);
                q = q.bind(plan.as_str()).bind(unit.as_str()).bind(ind.as_str());
                if by_month {
                    q = q.bind(m.map(|m| m.to_string()));
                }
                q = q.bind(kind).bind(num).bind(den).bind(scale);
            }
            q.execute(&mut *tx).await?;
        }
        Ok(())
    }

    /// Reads what a push needs to decide, for the whole batch, in three queries per chunk.
    async fn facts(
        &self,
        tx: &mut D::Connection,
        changes: &[Revision],
    ) -> Result<Facts, StoreError> {
        let mut facts = Facts::default();
        for chunk in changes.chunks(CHUNK) {
            let sql = format!(
                "SELECT rev, seq, hash FROM revisions WHERE rev IN ({})",
                D::param_list(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q.bind(c.rev.to_string());
            }
            for row in q.fetch_all(&mut *tx).await? {
                facts.existing.insert(
                    parse_id(&row.text("rev"))?,
                    (row.int("seq"), row.text("hash")),
                );
            }
            let records: BTreeSet<String> = chunk.iter().map(|c| c.record.to_string()).collect();
            let sql = format!(
                "SELECT seq, body, plan FROM revisions WHERE record IN ({})",
                D::param_list(1, records.len())
            );
            let mut q = sqlx::query(&sql);
            for r in records {
                q = q.bind(r);
            }
            for row in q.fetch_all(&mut *tx).await? {
                let r = revision(&row.text("body"), &row.text("plan"))?;
                facts.seqs.insert(r.rev, row.int("seq"));
                facts.records.entry(r.record).or_default().insert(r);
            }
            let units: BTreeSet<&str> = chunk.iter().map(|c| c.unit.as_str()).collect();
            let sql = format!(
                "SELECT code, level FROM areas WHERE code IN ({})",
                D::param_list(1, units.len())
            );
            let mut q = sqlx::query(&sql);
            for u in units {
                q = q.bind(u);
            }
            for row in q.fetch_all(&mut *tx).await? {
                facts.levels.insert(row.text("code"), row.text("level"));
            }
        }
        Ok(facts)
    }
}

#[async_trait]
impl<D: Dialect> Store for SqlStore<D>
where
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<String>: Encode<'q, D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> f64: Encode<'q, D> + Decode<'q, D> + Type<D>,
{
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn start_turn(&self) -> Result<Box<dyn StartTurn>, StoreError> {
        Ok(Box::new(SqlStartTurn(D::start_turn(&self.pool).await?)))
    }

    async fn area(&self, code: &str) -> Result<Option<Area>, StoreError> {
        let row = sqlx::query("SELECT code, name, level, parent FROM areas WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| rows::area(&r)).transpose()
    }

    async fn areas(&self, under: &str) -> Result<Vec<Area>, StoreError> {
        let rows = sqlx::query(
            "SELECT code, name, level, parent FROM areas WHERE code >= $1 AND code < $2 ORDER BY code",
        )
        .bind(under)
        .bind(prefix_end(under))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::area).collect()
    }

    async fn children(&self, code: &str) -> Result<Vec<Area>, StoreError> {
        let rows = sqlx::query(
            "SELECT code, name, level, parent FROM areas WHERE parent = $1 ORDER BY code",
        )
        .bind(code)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::area).collect()
    }

    async fn area_tree(&self, scope: &str) -> Result<Arc<AreaTree>, StoreError> {
        // The number first: areas read after it are at least as new as it says.
        let version = self.areas_version().await?;
        if let Some(tree) = self.area_trees.get(version, scope) {
            return Ok(tree);
        }
        let mut areas = self.areas(scope).await?;
        if scope.is_empty() {
            // The nation has no row: it stands above the provinces, for its report.
            areas.push(Area::nation());
        }
        let tree = Arc::new(AreaTree::new(areas));
        self.area_trees.keep(version, scope, &tree);
        Ok(tree)
    }

    async fn county_versions(&self, scope: &str) -> Result<CountyVersions, StoreError> {
        let areas = self.areas_version().await?;
        let rows = sqlx::query(
            "SELECT county, version FROM county_versions WHERE county >= $1 AND county < $2",
        )
        .bind(scope)
        .bind(prefix_end(scope))
        .fetch_all(&self.pool)
        .await?;
        Ok(CountyVersions {
            areas,
            counties: rows
                .iter()
                .map(|r| (r.text("county"), r.int("version")))
                .collect(),
        })
    }

    fn county_rollups(&self) -> &CountyRollups {
        &self.county_rollups
    }

    async fn begin_area_import(&self) -> Result<Box<dyn AreaImport>, StoreError> {
        let turn = self.owned_turn().await;
        let tx = self.pool.begin().await?;
        Ok(Box::new(SqlAreaImport::<D> {
            tx,
            _turn: turn,
            added: false,
        }))
    }

    async fn push(
        &self,
        plans: &PlanBook,
        by: &Author,
        key: Option<&str>,
        changes: &[Revision],
    ) -> Result<PushAnswer, StoreError> {
        let answer = self.push_in_turn(plans, by, key, changes).await?;
        // Outside the turn: what the push stored or found stored is on disk before it is
        // acknowledged, a replayed answer and a revision already stored included.
        self.log_on_disk().await?;
        Ok(answer)
    }

    async fn checksum(&self, scope: &str) -> Result<Checksum, StoreError> {
        let rows = sqlx::query("SELECT rev FROM records WHERE unit >= $1 AND unit < $2")
            .bind(scope)
            .bind(prefix_end(scope))
            .fetch_all(&self.pool)
            .await?;
        let ids = rows
            .iter()
            .map(|r| parse_id(&r.text("rev")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Checksum::of(ids))
    }

    async fn pull(
        &self,
        scope: &str,
        plan: Option<&PlanId>,
        after: i64,
        limit: u32,
        own: Option<&str>,
    ) -> Result<StoredPage, StoreError> {
        // No plan is the empty id, which no stored revision carries once the legacy plan is settled.
        let plan = plan.map(|p| p.to_string()).unwrap_or_default();
        let bound = D::pull_bound(&self.pool, scope).await?.unwrap_or(i64::MAX);
        // The sizes first, so that a page never reads more bodies than it sends; the calling
        // device's own revisions, passed and not sent, have none, and a page passes at most
        // `OWN_PASSED` of them.
        const OWN_PASSED: i64 = 10 * MAX_PULL_PAGE as i64;
        let read = limit as i64 + 1 + own.map_or(0, |_| OWN_PASSED);
        let sizes: Vec<(i64, Option<i64>)> = sqlx::query(
            "SELECT seq,
                    CASE WHEN device = $7 THEN NULL ELSE CAST(octet_length(body) AS BIGINT) END
                      AS size
             FROM revisions
             WHERE seq > $1 AND seq <= $6 AND unit >= $2 AND unit < $3 AND ($5 = '' OR plan = $5)
             ORDER BY seq LIMIT $4",
        )
        .bind(after)
        .bind(scope)
        .bind(prefix_end(scope))
        .bind(read)
        .bind(&plan)
        .bind(bound)
        // No device is named by an empty id (a push refuses one).
        .bind(own.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| (r.int("seq"), r.maybe_int("size")))
        .collect();
        let (n, more) = rows::page_len(&sizes.iter().map(|s| s.1).collect::<Vec<_>>(), limit);
        // Every row read and none left for the page's count: more may follow the last.
        let more = more || (n == sizes.len() && sizes.len() as i64 == read);
        let Some(&(last, _)) = sizes[..n].last() else {
            return rows::pull_page(vec![], None, after, more);
        };
        // The sizes say which the page passes without sending; only the others are read.
        let passed = sizes[..n].iter().rev().find(|s| s.1.is_none()).map(|s| s.0);
        let page = sqlx::query(
            "SELECT r.seq, r.body, r.plan, COALESCE(a.name, r.account) AS author
             FROM revisions r LEFT JOIN accounts a ON a.username = r.account
             WHERE r.seq > $1 AND r.seq <= $2 AND r.unit >= $3 AND r.unit < $4
               AND ($5 = '' OR r.plan = $5) AND r.device <> $6
             ORDER BY r.seq",
        )
        .bind(after)
        .bind(last)
        .bind(scope)
        .bind(prefix_end(scope))
        .bind(&plan)
        .bind(own.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            (
                r.int("seq"),
                r.text("body"),
                r.text("plan"),
                r.text("author"),
            )
        })
        .collect();
        // A revision a power cut could still take back would be numbered again after it, and the
        // device's cursor would pass the new one by.
        self.log_on_disk().await?;
        rows::pull_page(page, passed, after, more)
    }

    async fn live_records(&self, plan: &PlanId, scope: &str) -> Result<Vec<Revision>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.body, r.plan FROM records r JOIN revisions v ON v.seq = r.seq
             WHERE NOT r.deleted AND r.plan = $1 AND r.unit >= $2 AND r.unit < $3",
        )
        .bind(plan.to_string())
        .bind(scope)
        .bind(prefix_end(scope))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| revision(&r.text("body"), &r.text("plan")))
            .collect()
    }

    async fn unit_figures(
        &self,
        plan: &PlanId,
        scope: &str,
        as_of: Option<Month>,
    ) -> Result<UnitFigures, StoreError> {
        let table = Table::of(as_of);
        let sql = format!(
            "SELECT unit, indicator, kind, num, den, scale FROM {}
             WHERE plan = $1 AND unit >= $2 AND unit < $3{}",
            table.name(),
            of_month(table, 4)
        );
        let mut q = sqlx::query(&sql)
            .bind(plan.to_string())
            .bind(scope)
            .bind(prefix_end(scope));
        if let Some(month) = as_of {
            q = q.bind(month.to_string());
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut kept = UnitFigures::new();
        for r in rows {
            let f = rows::figure(&r)?;
            kept.entry(r.text("unit"))
                .or_default()
                .insert(r.text("indicator"), f);
        }
        Ok(kept)
    }

    async fn indicator_months(
        &self,
        plan: &PlanId,
        scope: &str,
        indicator: &str,
    ) -> Result<BTreeMap<Month, UnitFigures>, StoreError> {
        let rows = sqlx::query(
            "SELECT unit, month, kind, num, den, scale FROM unit_month_figures
             WHERE plan = $1 AND indicator = $2 AND unit >= $3 AND unit < $4",
        )
        .bind(plan.to_string())
        .bind(indicator)
        .bind(scope)
        .bind(prefix_end(scope))
        .fetch_all(&self.pool)
        .await?;
        let mut kept: BTreeMap<Month, UnitFigures> = BTreeMap::new();
        for r in rows {
            let f = rows::figure(&r)?;
            kept.entry(rows::month(&r.text("month"))?)
                .or_default()
                .entry(r.text("unit"))
                .or_default()
                .insert(indicator.to_owned(), f);
        }
        Ok(kept)
    }

    async fn rollups_stale(&self, plans: &Plans) -> Result<bool, StoreError> {
        let kept: HashMap<String, String> = sqlx::query("SELECT plan, hash FROM rollup_plans")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| (r.text("plan"), r.text("hash")))
            .collect();
        Ok(plans
            .iter()
            .any(|p| kept.get(&p.id.to_string()) != Some(&figures::plan_hash(p)))
            || kept.len() != plans.iter().count())
    }

    async fn rebuild_rollups(&self, plans: &Plans) -> Result<RebuildReport, StoreError> {
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        D::exclude_pushes(&mut tx).await?;
        // Every unit that has a record of a plan, live or not, has its figures: the units a
        // push keeps figures for.
        let mut units: BTreeMap<(PlanId, String), Level> = BTreeMap::new();
        for r in
            sqlx::query("SELECT plan, unit, MIN(form) AS form FROM records GROUP BY plan, unit")
                .fetch_all(&mut *tx)
                .await?
        {
            let plan = rows::plan_id(&r.text("plan"))?;
            let Some(form) = plans
                .get(&plan)
                .and_then(|p| p.form(&r.text("form")).cloned())
            else {
                continue;
            };
            units.insert((plan, r.text("unit")), form.level);
        }
        let computed = self.compute_figures(&mut tx, plans, &units).await?;
        let mut kept = Kept::new();
        for table in Table::ALL {
            let month = if table == Table::Months {
                ", month"
            } else {
                ""
            };
            let sql = format!(
                "SELECT plan, unit, indicator{month}, kind, num, den, scale FROM {}",
                table.name()
            );
            for r in sqlx::query(&sql).fetch_all(&mut *tx).await? {
                let month = match table {
                    Table::Now => None,
                    Table::Months => Some(rows::month(&r.text("month"))?),
                };
                let key = (r.text("plan"), r.text("unit"), r.text("indicator"), month);
                kept.insert(key, rows::figure(&r)?);
            }
        }
        let fixed = figures::differences(&kept, &computed);
        if !fixed.is_empty() {
            for table in Table::ALL {
                sqlx::query(&format!("DELETE FROM {}", table.name()))
                    .execute(&mut *tx)
                    .await?;
            }
            self.insert_figures(&mut tx, &computed).await?;
        }
        // Every county rolls up again, in every process.
        sqlx::query(
            "INSERT INTO county_versions (county, version)
             SELECT DISTINCT substr(unit, 1, 6), 1 FROM records WHERE length(unit) >= 6
             ON CONFLICT (county) DO UPDATE SET version = county_versions.version + 1",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM rollup_plans")
            .execute(&mut *tx)
            .await?;
        for p in plans.iter() {
            sqlx::query("INSERT INTO rollup_plans (plan, hash) VALUES ($1, $2)")
                .bind(p.id.to_string())
                .bind(figures::plan_hash(p))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(RebuildReport {
            units: units.len(),
            figures: computed.len(),
            fixed,
        })
    }

    async fn plans(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT id, body FROM plans ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.text("id"), r.text("body")))
            .collect())
    }

    async fn add_plan(
        &self,
        id: &PlanId,
        json: &str,
        replace: bool,
    ) -> Result<PlanAdded, StoreError> {
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        let stored = sqlx::query("SELECT body FROM plans WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.text("body"));
        let added = match stored {
            Some(body) if body == json => PlanAdded::Same,
            Some(_) if !replace => PlanAdded::Differs,
            Some(_) => {
                sqlx::query("UPDATE plans SET body = $1, added_at = $2 WHERE id = $3")
                    .bind(json)
                    .bind(now_ms())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                PlanAdded::Replaced
            }
            None => {
                sqlx::query("INSERT INTO plans (id, body, added_at) VALUES ($1, $2, $3)")
                    .bind(id.to_string())
                    .bind(json)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?;
                PlanAdded::New
            }
        };
        tx.commit().await?;
        Ok(added)
    }

    async fn plan_role(&self, role: PlanRole) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT plan FROM plan_roles WHERE role = $1")
            .bind(role.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.text("plan")))
    }

    async fn set_current_plan(&self, id: &PlanId) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        sqlx::query(
            "INSERT INTO plan_roles (role, plan) VALUES ($1, $2)
             ON CONFLICT (role) DO UPDATE SET plan = excluded.plan",
        )
        .bind(PlanRole::Current.as_str())
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn settle_legacy_plan(&self, id: &PlanId) -> Result<String, StoreError> {
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        let kept = sqlx::query("SELECT plan FROM plan_roles WHERE role = $1")
            .bind(PlanRole::Legacy.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.text("plan"));
        if let Some(kept) = kept {
            return Ok(kept);
        }
        let id = id.to_string();
        sqlx::query("INSERT INTO plan_roles (role, plan) VALUES ($1, $2)")
            .bind(PlanRole::Legacy.as_str())
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        // Every push since the upgrade stores a plan: only rows from before it have none.
        for table in ["revisions", "records"] {
            sqlx::query(&format!("UPDATE {table} SET plan = $1 WHERE plan = ''"))
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(
            "SELECT username, name, role, unit, password_hash, must_change, disabled FROM accounts
             WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| rows::account(&r)).transpose()
    }

    async fn account_count(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.int("n") as u64)
    }

    async fn create_account(&self, row: &AccountRow, now: i64) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let added = sqlx::query(
            "INSERT INTO accounts (username, name, role, unit, password_hash, must_change, disabled, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (username) DO NOTHING RETURNING username",
        )
        .bind(&row.account.username)
        .bind(&row.account.name)
        .bind(row.account.role.as_str())
        .bind(row.account.unit.as_str())
        .bind(&row.password_hash)
        .bind(row.must_change)
        .bind(row.disabled)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(added.is_some())
    }

    async fn set_password(
        &self,
        username: &str,
        hash: &str,
        must_change: bool,
    ) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        sqlx::query("UPDATE accounts SET password_hash = $1, must_change = $2 WHERE username = $3")
            .bind(hash)
            .bind(must_change)
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn update_account(
        &self,
        row: &AccountRow,
        revoke_at: Option<i64>,
        action: &AdminAction,
    ) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        let a = &row.account;
        sqlx::query(
            "UPDATE accounts SET name = $1, role = $2, unit = $3, password_hash = $4,
               must_change = $5, disabled = $6
             WHERE username = $7",
        )
        .bind(a.name.as_str())
        .bind(a.role.as_str())
        .bind(a.unit.as_str())
        .bind(row.password_hash.as_str())
        .bind(row.must_change)
        .bind(row.disabled)
        .bind(a.username.as_str())
        .execute(&mut *tx)
        .await?;
        if let Some(at) = revoke_at {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1 WHERE username = $2 AND revoked_at IS NULL",
            )
            .bind(at)
            .bind(a.username.as_str())
            .execute(&mut *tx)
            .await?;
        }
        Self::keep_action(&mut tx, action).await?;
        tx.commit().await?;
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

    async fn change_strikes(
        &self,
        keys: &[&str],
        forget_before: i64,
        change: &(dyn for<'s> Fn(&'s [Strikes]) -> Vec<Strikes> + Send + Sync),
    ) -> Result<Vec<Strikes>, StoreError> {
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        // Each key's row is locked (made first if need be) in the order of the keys, so two
        // guesses never hold what the other waits for.
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by_key(|&i| keys[i]);
        let mut before = vec![Strikes::default(); keys.len()];
        for i in order {
            let row = sqlx::query(
                "INSERT INTO login_strikes (key, count, last_at) VALUES ($1, 0, 0)
                 ON CONFLICT (key) DO UPDATE SET count = login_strikes.count
                 RETURNING count, last_at",
            )
            .bind(keys[i])
            .fetch_one(&mut *tx)
            .await?;
            before[i] = Strikes {
                count: row.int("count").clamp(0, u32::MAX as i64) as u32,
                last_at: row.int("last_at"),
            };
        }
        for (key, s) in keys.iter().zip(change(&before)) {
            if s.count == 0 {
                sqlx::query("DELETE FROM login_strikes WHERE key = $1")
                    .bind(*key)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query("UPDATE login_strikes SET count = $1, last_at = $2 WHERE key = $3")
                    .bind(s.count as i64)
                    .bind(s.last_at)
                    .bind(*key)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // Last, and past rows others hold, so that this never waits for another guess: a few
        // forgotten rows at a time keep the table to about the guesses of the last hour.
        sqlx::query(&format!(
            "DELETE FROM login_strikes WHERE key IN
             (SELECT key FROM login_strikes WHERE last_at < $1 LIMIT 100{})",
            D::SKIP_LOCKED
        ))
        .bind(forget_before)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(before)
    }

    async fn add_offer(
        &self,
        o: &OfferRow,
        most_per_record: u32,
        most_per_unit: u32,
        forget_before: i64,
    ) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        Self::forget_answered(&mut tx, "wall_offers", forget_before).await?;
        let waiting = |col: &'static str, value: &str| {
            let sql = format!(
                "SELECT COUNT(*) AS n FROM wall_offers WHERE state = 'waiting' AND {col} = $1"
            );
            let value = value.to_owned();
            (sql, value)
        };
        for ((sql, value), most) in [
            (waiting("record", &o.record), most_per_record),
            (waiting("unit", &o.unit), most_per_unit),
        ] {
            let n = sqlx::query(&sql)
                .bind(value)
                .fetch_one(&mut *tx)
                .await?
                .int("n");
            if n >= most as i64 {
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO wall_offers (id, record, unit, plan, form, what, name, phone, kind, note,
                                      state, made_at, decided_at, decided_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&o.id)
        .bind(&o.record)
        .bind(&o.unit)
        .bind(&o.plan)
        .bind(&o.form)
        .bind(&o.what)
        .bind(&o.name)
        .bind(&o.phone)
        .bind(&o.kind)
        .bind(&o.note)
        .bind(&o.state)
        .bind(o.made_at)
        .bind(o.decided_at)
        .bind(&o.decided_by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn offer(&self, id: &str) -> Result<Option<OfferRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM wall_offers WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| offer_row(&r)))
    }

    async fn waiting_offers(&self, scope: &str, limit: u32) -> Result<Vec<OfferRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM wall_offers
             WHERE state = 'waiting' AND unit >= $1 AND unit < $2
             ORDER BY made_at, id LIMIT $3"
        ))
        .bind(scope)
        .bind(prefix_end(scope))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(offer_row).collect())
    }

    async fn decide_offer(
        &self,
        id: &str,
        state: &str,
        by: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        self.answer_waiting("wall_offers", id, state, by, at).await
    }

    async fn photos_named(
        &self,
        scope: &str,
        ids: &[PhotoId],
    ) -> Result<Vec<(PhotoId, bool)>, StoreError> {
        let mut out = Vec::new();
        for id in ids {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM photos WHERE id = $1) AS held
                 FROM record_photos WHERE photo = $1 AND unit >= $2 AND unit < $3 LIMIT 1",
            )
            .bind(id.as_str())
            .bind(scope)
            .bind(prefix_end(scope))
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                out.push((id.clone(), row.int("held") > 0));
            }
        }
        Ok(out)
    }

    async fn add_photo(&self, row: &PhotoRow) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let done = sqlx::query(
            "INSERT INTO photos (id, bytes, width, height, received_at, account)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING id",
        )
        .bind(row.id.as_str())
        .bind(row.bytes)
        .bind(row.width as i64)
        .bind(row.height as i64)
        .bind(row.received_at)
        .bind(&row.account)
        .fetch_optional(&self.pool)
        .await?;
        Ok(done.is_some())
    }

    async fn add_submission(
        &self,
        row: &SubmissionRow,
        most_per_unit: u32,
        forget_before: i64,
    ) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        Self::forget_answered(&mut tx, "wall_submissions", forget_before).await?;
        let waiting = sqlx::query(
            "SELECT COUNT(*) AS n FROM wall_submissions WHERE state = 'waiting' AND unit = $1",
        )
        .bind(&row.unit)
        .fetch_one(&mut *tx)
        .await?
        .int("n");
        if waiting >= most_per_unit as i64 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO wall_submissions (id, unit, plan, form, content, phone, state, made_at,
                                           decided_at, decided_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&row.id)
        .bind(&row.unit)
        .bind(&row.plan)
        .bind(&row.form)
        .bind(&row.content)
        .bind(&row.phone)
        .bind(&row.state)
        .bind(row.made_at)
        .bind(row.decided_at)
        .bind(&row.decided_by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn submission(&self, id: &str) -> Result<Option<SubmissionRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SUBMISSION_COLUMNS} FROM wall_submissions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| submission_row(&r)))
    }

    async fn waiting_submissions(
        &self,
        unit: &str,
        limit: u32,
    ) -> Result<Vec<SubmissionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SUBMISSION_COLUMNS} FROM wall_submissions
             WHERE state = 'waiting' AND unit = $1 ORDER BY made_at, id LIMIT $2"
        ))
        .bind(unit)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(submission_row).collect())
    }

    async fn decide_submission(
        &self,
        id: &str,
        state: &str,
        by: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        self.answer_waiting("wall_submissions", id, state, by, at)
            .await
    }

    async fn create_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        let _turn = self.turn().await;
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

    async fn session(
        &self,
        token_hash: &str,
    ) -> Result<Option<(SessionRow, AccountRow)>, StoreError> {
        let row = sqlx::query(
            "SELECT s.id, s.token_hash, s.username, s.device, s.created_at, s.expires_at,
                    s.revoked_at, a.name, a.role, a.unit, a.password_hash, a.must_change, a.disabled
             FROM sessions s JOIN accounts a ON a.username = s.username
             WHERE s.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((rows::session(&r), rows::account(&r)?)))
            .transpose()
    }

    async fn revoke_other_sessions(
        &self,
        username: &str,
        keep: &str,
        at: i64,
    ) -> Result<u64, StoreError> {
        let _turn = self.turn().await;
        let revoked = sqlx::query(
            "UPDATE sessions SET revoked_at = $1
             WHERE username = $2 AND id <> $3 AND revoked_at IS NULL RETURNING id",
        )
        .bind(at)
        .bind(username)
        .bind(keep)
        .fetch_all(&self.pool)
        .await?;
        Ok(revoked.len() as u64)
    }

    async fn revoke_session(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        let _turn = self.turn().await;
        let revoked = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id",
        )
        .bind(at)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(revoked.is_some())
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

    async fn record_page(
        &self,
        plan: &PlanId,
        scope: &str,
        forms: &[&str],
        before: i64,
        limit: u32,
    ) -> Result<Vec<ListedRow>, StoreError> {
        let of_forms = if forms.is_empty() {
            String::new()
        } else {
            format!("AND r.form IN ({})", params(6, forms.len()))
        };
        let sql = format!(
            "SELECT r.seq, cur.body, r.plan, r.conflict, cur.received_at AS updated_at,
                    first.received_at AS created_at, COALESCE(a.name, first.account) AS author,
                    COALESCE(ar.name, r.unit) AS unit_name
             FROM records r
             JOIN revisions cur ON cur.rev = r.rev
             JOIN revisions first ON first.seq =
                 (SELECT MIN(f.seq) FROM revisions f WHERE f.record = r.id)
             LEFT JOIN accounts a ON a.username = first.account
             LEFT JOIN areas ar ON ar.code = r.unit
             WHERE r.plan = $1 AND r.unit >= $2 AND r.unit < $3 AND NOT r.deleted
               AND r.seq < $4 {of_forms}
             ORDER BY r.seq DESC LIMIT $5"
        );
        let mut q = sqlx::query(&sql)
            .bind(plan.to_string())
            .bind(scope)
            .bind(prefix_end(scope))
            .bind(before)
            .bind(limit as i64);
        for f in forms {
            q = q.bind(*f);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(ListedRow {
                    seq: r.int("seq"),
                    current: revision(&r.text("body"), &r.text("plan"))?,
                    unit_name: r.text("unit_name"),
                    author: r.text("author"),
                    created_at: r.int("created_at"),
                    updated_at: r.int("updated_at"),
                    conflict: r.flag("conflict"),
                })
            })
            .collect()
    }

    async fn record_history(
        &self,
        record: &str,
        newest: u32,
    ) -> Result<Option<HistoryRows>, StoreError> {
        const STORED: &str = "SELECT r.seq, r.body, r.plan, r.device, r.received_at,
                    COALESCE(a.name, r.account) AS author
             FROM revisions r LEFT JOIN accounts a ON a.username = r.account";
        let Some(row) = sqlx::query(
            "SELECT v.body, r.plan, r.conflict FROM records r JOIN revisions v ON v.seq = r.seq
             WHERE r.id = $1",
        )
        .bind(record)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let current = revision(&row.text("body"), &row.text("plan"))?;
        let conflict = row.flag("conflict");
        let mut rows = sqlx::query(&format!(
            "{STORED} WHERE r.record = $1 ORDER BY r.seq DESC LIMIT $2"
        ))
        .bind(record)
        .bind(newest as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.reverse();
        let oldest = rows.first().map_or(i64::MAX, |r| r.int("seq"));
        let mut omitted =
            sqlx::query("SELECT COUNT(*) AS n FROM revisions WHERE record = $1 AND seq < $2")
                .bind(record)
                .bind(oldest)
                .fetch_one(&self.pool)
                .await?
                .int("n") as u64;
        let by_rev = format!("{STORED} WHERE r.rev = $1");
        let mut shown = rows
            .iter()
            .map(rows::stored)
            .collect::<Result<Vec<_>, _>>()?;
        if !shown.iter().any(|s| s.revision.rev == current.rev) {
            if let Some(r) = sqlx::query(&by_rev)
                .bind(current.rev.to_string())
                .fetch_optional(&self.pool)
                .await?
            {
                shown.insert(0, rows::stored(&r)?);
                omitted = omitted.saturating_sub(1);
            }
        }
        let known: BTreeSet<Uuid> = shown.iter().map(|s| s.revision.rev).collect();
        let missing: BTreeSet<Uuid> = shown
            .iter()
            .filter_map(|s| s.revision.parent)
            .filter(|p| !known.contains(p))
            .collect();
        let mut earlier = Vec::new();
        for parent in missing {
            if let Some(r) = sqlx::query(&by_rev)
                .bind(parent.to_string())
                .fetch_optional(&self.pool)
                .await?
            {
                earlier.push(rows::stored(&r)?.revision);
            }
        }
        Ok(Some(HistoryRows {
            shown,
            earlier,
            omitted,
            current,
            conflict,
        }))
    }

    async fn town_targets(&self, plan: &PlanId) -> Result<TownTargets, StoreError> {
        let rows = sqlx::query("SELECT indicator, town, target FROM town_targets WHERE plan = $1")
            .bind(plan.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut targets = TownTargets::default();
        for r in &rows {
            let target: Target = serde_json::from_str(&r.text("target"))
                .map_err(|e| StoreError::Corrupt(format!("a town's target: {e}")))?;
            targets.set(&r.text("indicator"), &r.text("town"), target);
        }
        Ok(targets)
    }

    async fn set_town_targets(
        &self,
        plan: &PlanId,
        changes: &[TargetChange],
        action: &AdminAction,
    ) -> Result<(), StoreError> {
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        for c in changes {
            let target = serde_json::to_string(&c.after).expect("a target is JSON");
            sqlx::query(
                "INSERT INTO town_targets (plan, indicator, town, target, set_at, set_by)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (plan, indicator, town) DO UPDATE
                 SET target = excluded.target, set_at = excluded.set_at, set_by = excluded.set_by",
            )
            .bind(plan.as_str())
            .bind(&c.indicator)
            .bind(&c.town)
            .bind(target)
            .bind(action.at)
            .bind(&action.account)
            .execute(&mut *tx)
            .await?;
        }
        let counties: BTreeSet<&str> = changes
            .iter()
            .filter_map(|c| c.town.get(..Level::County.code_len()))
            .collect();
        self.bump_counties(&mut tx, &counties).await?;
        Self::keep_action(&mut tx, action).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn admin_actions(&self, under: &str, limit: u32) -> Result<Vec<AdminAction>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, account, device, unit, action, detail FROM admin_actions
             WHERE unit >= $1 AND unit < $2 ORDER BY seq DESC LIMIT $3",
        )
        .bind(under)
        .bind(prefix_end(under))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let action = r.text("action");
                Ok(AdminAction {
                    seq: r.int("seq"),
                    at: r.int("at"),
                    account: r.text("account"),
                    device: r.text("device"),
                    unit: r.text("unit"),
                    action: AdminActionKind::parse(&action).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown administrator's action {action}"))
                    })?,
                    detail: serde_json::from_str(&r.text("detail")).map_err(|e| {
                        StoreError::Corrupt(format!("an administrator's action: {e}"))
                    })?,
                })
            })
            .collect()
    }

    async fn audit(
        &self,
        under: &str,
        filter: &AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, rev, record, form, unit, account, device, deleted, received_at FROM revisions
             WHERE unit >= $1 AND unit < $2 AND ($4 = '' OR account = $4) AND ($5 = '' OR form = $5)
               AND received_at >= $6 AND received_at < $7
             ORDER BY seq DESC LIMIT $3",
        )
        .bind(under)
        .bind(prefix_end(under))
        .bind(limit as i64)
        .bind(filter.account.as_deref().unwrap_or(""))
        .bind(filter.form.as_deref().unwrap_or(""))
        .bind(filter.from.unwrap_or(i64::MIN))
        .bind(filter.until.unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                seq: r.int("seq"),
                rev: r.text("rev"),
                record: r.text("record"),
                form: r.text("form"),
                unit: r.text("unit"),
                account: r.text("account"),
                device: r.text("device"),
                deleted: r.flag("deleted"),
                received_at: r.int("received_at"),
            })
            .collect())
    }
}

const OFFER_COLUMNS: &str = "id, record, unit, plan, form, what, name, phone, kind, note, state, \
made_at, decided_at, decided_by";

fn offer_row<R: Columns>(r: &R) -> OfferRow
where
    for<'a> &'a str: ColumnIndex<R>,
{
    OfferRow {
        id: r.text("id"),
        record: r.text("record"),
        unit: r.text("unit"),
        plan: r.text("plan"),
        form: r.text("form"),
        what: r.text("what"),
        name: r.text("name"),
        phone: r.text("phone"),
        kind: r.text("kind"),
        note: r.text("note"),
        state: r.text("state"),
        made_at: r.int("made_at"),
        decided_at: r.maybe_int("decided_at"),
        decided_by: r.text("decided_by"),
    }
}

const SUBMISSION_COLUMNS: &str =
    "id, unit, plan, form, content, phone, state, made_at, decided_at, decided_by";

fn submission_row<R: Columns>(r: &R) -> SubmissionRow
where
    for<'a> &'a str: ColumnIndex<R>,
{
    SubmissionRow {
        id: r.text("id"),
        unit: r.text("unit"),
        plan: r.text("plan"),
        form: r.text("form"),
        content: r.text("content"),
        phone: r.text("phone"),
        state: r.text("state"),
        made_at: r.int("made_at"),
        decided_at: r.maybe_int("decided_at"),
        decided_by: r.text("decided_by"),
    }
}
