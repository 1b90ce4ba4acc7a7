//! What truly differs between the engines; everything else is the one SQL in [`super::sql`],
//! written with `$N` parameters, which both engines read by number. Both keep ids as text.
//!
//! - Opening: SQLite is one file in WAL mode with `synchronous = FULL`, so that a push the server
//!   acknowledged survives a crash of the process or of the machine; PostgreSQL is a pool.
//! - The writer's turn: SQLite has one writer at a time, so every write of this process takes
//!   its turn on a lock here, pushes and session writes alike (a deferred transaction that read
//!   before another connection wrote cannot upgrade to a write, and SQLite answers that with
//!   `database is locked` at once, whatever the busy timeout, which covers other processes such
//!   as `import-areas`). PostgreSQL writes concurrently, but pushes take a transaction-scoped
//!   advisory lock, so revisions are numbered in the order they commit and a pull by cursor never
//!   skips one committed late with a lower number.
//! - The migrations: one folder per engine (autoincrement vs serial, integer vs boolean columns).

use super::{rows, StoreError};
use shequ_model::area::Area;
use sqlx::postgres::{PgPoolOptions, Postgres};
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Database, Pool};
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

pub trait Dialect: Database {
    /// Whether all writes of this process take turns (see the module documentation).
    const ONE_WRITER: bool;

    /// Connects and brings the schema up to date.
    fn open(url: &str) -> impl Future<Output = Result<Pool<Self>, StoreError>> + Send;

    /// Called first in a push's transaction: makes pushes commit in the order they are numbered.
    fn order_pushes(
        tx: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

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

/// `rows` rows of `cols` parameters each, for a `VALUES` list (see [`Dialect::param_list`]).
pub fn value_list<D: Dialect>(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", D::param_list(r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Dialect for Sqlite {
    const ONE_WRITER: bool = true;

    async fn open(url: &str) -> Result<Pool<Self>, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
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
        Ok(pool)
    }

    async fn order_pushes(_: &mut Self::Connection) -> Result<(), StoreError> {
        // The one writer's turn, taken before the transaction, already orders them.
        Ok(())
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

/// The advisory lock PostgreSQL pushes take turns on.
const PUSH_LOCK: i64 = 0x5348_4551_5500;

impl Dialect for Postgres {
    const ONE_WRITER: bool = false;

    async fn open(url: &str) -> Result<Pool<Self>, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(pool)
    }

    async fn order_pushes(tx: &mut Self::Connection) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PUSH_LOCK)
            .execute(tx)
            .await?;
        Ok(())
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
