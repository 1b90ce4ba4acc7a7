//! What truly differs between the engines; everything else is the one SQL in [`super::sql`],
//! written with `$N` parameters, which both engines read by number. Both keep ids as text.
//!
//! - Opening: SQLite is one file in WAL mode with `synchronous = FULL`, so that what the server
//!   acknowledged survives a crash of the process or of the machine; pushes commit on their own
//!   connection with `NORMAL` and wait for the disk after the writer's turn ([`LogSync`]).
//!   PostgreSQL is a pool.
//! - The writer's turn: SQLite has one writer at a time, so every write of this process takes
//!   its turn on a lock here, pushes and session writes alike (a deferred transaction that read
//!   before another connection wrote cannot upgrade to a write, and SQLite answers that with
//!   `database is locked` at once, whatever the busy timeout, which covers other processes such
//!   as `import-areas`). Its revisions are numbered in the order they commit.
//! - How PostgreSQL pushes take turns: per county. A revision's number (`seq`) comes from one
//!   sequence, handed out when it is inserted, which is not the order transactions commit in: a
//!   push may take 5, another 6 and commit first, and a pull that then answered 6 would move the
//!   device's cursor past 5 for good. So a push first takes, for the rest of its transaction, an
//!   advisory lock per county its revisions lie in (in code order, so that two pushes never wait
//!   for each other in a circle), and only then inserts. Within a county, numbers are therefore
//!   handed out and committed in the same order, and a pull of a scope inside one county (a
//!   village, a town, the county: what every phone pulls) never skips one, with no watermark to
//!   compute and no lag; pushes to other counties do not wait. The same lock makes the figures a
//!   push recomputes for its units come from one snapshot at a time: two pushes that touch one
//!   unit are in one county and take turns.
//!
//!   A pull of a scope wider than a county (a city, a province) could see a number of one county
//!   committed before a lower one of another: it first waits for the pushes in flight to end
//!   (an exclusive turn on one lock every push holds shared, taken and given back at once), reads
//!   the highest number then stored, and answers nothing above it. Such pulls are rare (only
//!   accounts above a county can make them), and a push waits for one at most as long as the
//!   pushes already in flight take. Within a process, a county's pushes also queue before they
//!   take a connection (`SqlStore::county_turns`), so a busy county cannot take the whole pool.
//!
//!   Why not per-county sequences: a cursor would then be one number per county, and the wire's
//!   single number, which phones already hold, would change meaning. Why not a watermark from
//!   `pg_snapshot_xmin` with the transaction id kept on each revision: numbers are handed out in
//!   no fixed order against transaction ids, so a pull would have to order by transaction id
//!   instead (new cursors), and any long transaction anywhere on the cluster (an import of areas,
//!   a rebuild, another database) would hold every pull back, so a device would not see its own
//!   push in the pull that follows it. Numbers stay those of the one sequence, so the cursors
//!   phones hold stay valid as they are across the upgrade; and a process of the previous release,
//!   which takes the shared lock exclusively, still excludes the others during a rolling upgrade.
//!
//!   A push re-sent under its idempotency key to two processes at once takes a lock on the key
//!   first, so the second finds the answer of the first instead of failing on the stored key.
//! - Starting: several processes may start on one PostgreSQL at once; each holds a lock through
//!   the steps that write what they share (plans, areas, the first administrator), so that these
//!   run one process after the other.
//! - The migrations: one folder per engine (autoincrement vs serial, integer vs boolean columns).

use super::log_sync::LogSync;
use super::{rows, StoreError};
use shequ_model::area::{Area, Level};
use sqlx::postgres::{PgPoolOptions, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Database, Pool};
use std::collections::BTreeSet;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

pub trait Dialect: Database {
    /// Whether all writes of this process take turns (see the module documentation).
    const ONE_WRITER: bool;

    /// What ends a query that locks the rows it reads, skipping those another transaction holds.
    const SKIP_LOCKED: &'static str;

    /// Whether the numbers the rows of one multi-row `INSERT INTO revisions` took are known
    /// from the statement's result ([`Dialect::inserted_seqs`]) rather than returned by it
    /// (`RETURNING`).
    ///
    /// SQLite's connections run on threads of their own and hand each row a query returns to
    /// the task on its own: returning hundreds of rows woke the task hundreds of times inside the
    /// writer's turn, and asking for them again afterwards cost a second statement of hundreds
    /// of lookups. Under the one writer, an `AUTOINCREMENT` key gives the rows of one statement
    /// consecutive numbers ending at the last one inserted, so the numbers are known from that.
    const NUMBERS_INSERTED: bool;

    /// Where [`Dialect::NUMBERS_INSERTED`]: the numbers the `rows` rows of one statement took,
    /// in the order of its `VALUES`.
    fn inserted_seqs(
        result: &Self::QueryResult,
        rows: usize,
    ) -> Result<std::ops::RangeInclusive<i64>, StoreError>;

    /// Connects and brings the schema up to date.
    fn open(url: &str) -> impl Future<Output = Result<Pools<Self>, StoreError>> + Send;

    /// Called first in a push's transaction, with its idempotency key and the counties of its
    /// revisions' units ([`county_of`]): makes the pushes of a county, and of a key, take turns.
    fn order_pushes(
        tx: &mut Self::Connection,
        key: Option<&str>,
        counties: &BTreeSet<u32>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Called first in a transaction that rewrites what any push may touch: waits for every
    /// push in flight, and holds every other off until it ends.
    fn exclude_pushes(
        tx: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Before a pull of `scope`: the highest number it may answer, so that it never answers one
    /// committed before a lower one; none when every number it sees is safe.
    fn pull_bound(
        pool: &Pool<Self>,
        scope: &str,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Held through a process's start, so that processes starting at once write what they share
    /// one after the other; none where one process serves a database.
    fn start_turn(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Option<sqlx::Transaction<'static, Self>>, StoreError>> + Send;

    /// Work the engine needs done beside the requests, for as long as the pool is open: none, or
    /// a task the store aborts when it is dropped.
    fn background(pool: &Pool<Self>) -> Option<tokio::task::JoinHandle<()>>;

    /// `n` parameters, the first numbered `from`, for a statement whose parameters are all
    /// listed this way and bound in order (an import's thousands). SQLite finds a numbered
    /// parameter (`$N`) by walking the statement's list of names, once for every value bound: at
    /// thousands of parameters a statement, that walk was most of an import's time.
    fn param_list(from: usize, n: usize) -> String;

    /// The stored areas among `codes` (an import's lookup, a batch at a time).
    fn stored_areas(
        tx: &mut Self::Connection,
        codes: &[&str],
    ) -> impl Future<Output = Result<Vec<Area>, StoreError>> + Send;
}

/// A store's connections: `all` for every query, `pushes` for the transactions of pushes; and,
/// where pushes commit without waiting for the disk, the log to write out before a push or a pull
/// answers ([`LogSync`]).
pub struct Pools<D: Database> {
    pub all: Pool<D>,
    pub pushes: Pool<D>,
    pub log: Option<LogSync>,
}

/// The county a unit lies in, as the number its lock is keyed by: the unit's first six digits,
/// and for a unit above the counties (a city, a province) its code padded with zeros, a number no
/// county has (a county's code never ends in `00`).
pub fn county_of(unit: &str) -> u32 {
    let county = Level::County.code_len();
    let digits: String = unit
        .chars()
        .chain(std::iter::repeat('0'))
        .take(county)
        .collect();
    digits.parse().unwrap_or(0)
}

/// `rows` rows of `cols` parameters each, for a `VALUES` list (see [`Dialect::param_list`]).
pub fn value_list<D: Dialect>(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", D::param_list(r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How often the log of a SQLite database is copied into its file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// How long the log may grow (in pages) before a commit copies it itself.
const WAL_BOUND_PAGES: u32 = 8192;

impl Dialect for Sqlite {
    const ONE_WRITER: bool = true;
    // The one writer holds the whole file.
    const SKIP_LOCKED: &'static str = "";
    const NUMBERS_INSERTED: bool = true;

    fn inserted_seqs(
        result: &Self::QueryResult,
        rows: usize,
    ) -> Result<std::ops::RangeInclusive<i64>, StoreError> {
        // The statement has no `OR IGNORE`: it stores every row or fails. Fewer would leave the
        // numbers unknown.
        if result.rows_affected() != rows as u64 {
            return Err(StoreError::Corrupt(format!(
                "{} of {rows} revisions stored by one statement",
                result.rows_affected()
            )));
        }
        let last = result.last_insert_rowid();
        Ok(last - rows as i64 + 1..=last)
    }

    async fn open(url: &str) -> Result<Pools<Self>, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // The checkpointer below copies the log into the file; a commit copies it only when
            // that falls this far behind (pages of 4 KiB), so the log stays bounded.
            .pragma("wal_autocheckpoint", WAL_BOUND_PAGES.to_string())
            // A page cache of 16 MiB a connection (SQLite's own default is 2 MiB): the upper
            // levels of the revision and record indexes stay in memory as they grow.
            .pragma("cache_size", "-16384")
            .row_buffer_size(1024);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A connection to a file does not go stale: asking it first would cost every
            // transaction a round trip to its thread, inside the writer's turn.
            .test_before_acquire(false)
            .connect_with(opts.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        // Every push writes through this one connection, for good. A connection's page cache is
        // dropped whenever another connection has written the file since its last transaction:
        // pushes on any connection of the pool found the indexes they look up and extend gone
        // from memory, and read them again inside the writer's turn.
        // Its commits do not wait for the disk inside the writer's turn: a push is acknowledged
        // only once `LogSync` has the log on disk, outside the turn (see `log_sync`).
        let log = LogSync::of(opts.get_filename());
        let pushes = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(opts.synchronous(SqliteSynchronous::Normal))
            .await?;
        Ok(Pools {
            all: pool,
            pushes,
            log: Some(log),
        })
    }

    fn background(pool: &Pool<Self>) -> Option<tokio::task::JoinHandle<()>> {
        // A commit that finds the log long copies it into the database file itself, while the one
        // writer waits (6 % of a push's time in a profile of ingest). Copied here instead, on one
        // of the pool's connections (never the pushes' own), the copy runs beside the writer: a
        // passive checkpoint never blocks a writer or a reader, and copies what no reader still
        // needs. The task ends when the store is dropped (`Drop for SqlStore` aborts it).
        let pool = pool.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!("checkpoint of the database's log failed: {e}");
                }
            }
        }))
    }

    async fn order_pushes(
        _: &mut Self::Connection,
        _: Option<&str>,
        _: &BTreeSet<u32>,
    ) -> Result<(), StoreError> {
        // The one writer's turn, taken before the transaction, already orders them.
        Ok(())
    }

    async fn exclude_pushes(_: &mut Self::Connection) -> Result<(), StoreError> {
        Ok(())
    }

    async fn pull_bound(_: &Pool<Self>, _: &str) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }

    async fn start_turn(
        _: &Pool<Self>,
    ) -> Result<Option<sqlx::Transaction<'static, Self>>, StoreError> {
        Ok(None)
    }

    fn param_list(_: usize, n: usize) -> String {
        // Anonymous parameters carry no name to look up: sqlx binds them in order.
        vec!["?"; n].join(", ")
    }

    async fn stored_areas(
        tx: &mut Self::Connection,
        codes: &[&str],
    ) -> Result<Vec<Area>, StoreError> {
        let sql = format!(
            "SELECT code, name, level, parent FROM areas WHERE code IN ({})",
            Self::param_list(1, codes.len())
        );
        let mut q = sqlx::query(&sql);
        for c in codes {
            q = q.bind(*c);
        }
        q.fetch_all(tx).await?.iter().map(rows::area).collect()
    }
}

/// The advisory lock every PostgreSQL push holds shared, and what must see no push in flight
/// holds exclusive. (A release before pushes took turns per county took it exclusive.)
const PUSH_LOCK: i64 = 0x5348_4551_5500;
/// The advisory locks keyed by (one of these, a number): per county, per idempotency key, and the
/// one held through a start.
const COUNTY_LOCKS: i32 = 0x5348_0001;
const KEY_LOCKS: i32 = 0x5348_0002;
const START_LOCK: i64 = 0x5348_4551_5501;

impl Dialect for Postgres {
    const ONE_WRITER: bool = false;
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const NUMBERS_INSERTED: bool = false;

    fn inserted_seqs(
        _: &Self::QueryResult,
        rows: usize,
    ) -> Result<std::ops::RangeInclusive<i64>, StoreError> {
        Err(StoreError::Corrupt(format!(
            "the numbers of {rows} revisions come back with the statement on PostgreSQL"
        )))
    }

    async fn open(url: &str) -> Result<Pools<Self>, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Pools {
            pushes: pool.clone(),
            all: pool,
            log: None,
        })
    }

    fn background(_: &Pool<Self>) -> Option<tokio::task::JoinHandle<()>> {
        None
    }

    async fn order_pushes(
        tx: &mut Self::Connection,
        key: Option<&str>,
        counties: &BTreeSet<u32>,
    ) -> Result<(), StoreError> {
        // Always in this order (the shared lock, the key, the counties by code): two pushes
        // never hold what the other waits for.
        sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
            .bind(PUSH_LOCK)
            .execute(&mut *tx)
            .await?;
        if let Some(key) = key {
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(KEY_LOCKS)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        for county in counties {
            sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind(COUNTY_LOCKS)
                .bind(*county as i32)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    async fn exclude_pushes(tx: &mut Self::Connection) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PUSH_LOCK)
            .execute(tx)
            .await?;
        Ok(())
    }

    async fn pull_bound(pool: &Pool<Self>, scope: &str) -> Result<Option<i64>, StoreError> {
        if scope.len() >= Level::County.code_len() {
            return Ok(None);
        }
        let mut tx = pool.begin().await?;
        Self::exclude_pushes(&mut tx).await?;
        let top: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM revisions")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(top.unwrap_or(0)))
    }

    async fn start_turn(
        pool: &Pool<Self>,
    ) -> Result<Option<sqlx::Transaction<'static, Self>>, StoreError> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(START_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(Some(tx))
    }

    async fn stored_areas(
        tx: &mut Self::Connection,
        codes: &[&str],
    ) -> Result<Vec<Area>, StoreError> {
        // One array parameter: PostgreSQL plans a list of thousands of parameters again at every
        // batch, which made a re-import four times slower than the first.
        sqlx::query("SELECT code, name, level, parent FROM areas WHERE code = ANY($1)")
            .bind(codes)
            .fetch_all(tx)
            .await?
            .iter()
            .map(rows::area)
            .collect()
    }

    fn param_list(from: usize, n: usize) -> String {
        (from..from + n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
