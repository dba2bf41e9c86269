//! [`SqliteStore`]: the state in one SQLite file, the embedded durable default.
//!
//! Files are opened in WAL mode (readers do not block the writer). Writes that read first (a
//! rotation, a purge) run in `BEGIN IMMEDIATE` transactions, which take the database's write
//! lock up front: two of them never interleave, and a waiting one retries for the busy timeout
//! (5 seconds) instead of failing on a stale read. Several processes may share the file.
//!
//! # Example
//!
//! ```
//! use mcp_auth_server::store::{SqliteStore, Store};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteStore::open(dir.path().join("auth.db")).await.unwrap();
//! assert!(store.get_client("unknown").await.unwrap().is_none());
//!
//! // Or in memory, for tests: `SqliteStore::connect("sqlite::memory:")`.
//! # });
//! ```

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use super::StoreError;
use super::sql::{Migration, backend, migrator, sql_store};

/// The schema, in order.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "initial schema",
    sql: include_str!("sql/migrations/sqlite/0001_initial.sql"),
}];

/// The table recording applied migrations.
const MIGRATIONS_TABLE: &str = "\
CREATE TABLE IF NOT EXISTS mcp_auth_schema_migrations (
    version     INTEGER PRIMARY KEY NOT NULL,
    description TEXT    NOT NULL,
    applied_at  TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
)";

/// How long a write waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The pause between attempts to switch to WAL mode.
const WAL_RETRY_INTERVAL: Duration = Duration::from_millis(10);

/// SQLite's primary result code for a locked database file.
const SQLITE_BUSY: i32 = 5;

/// A [`Store`](super::Store) in a SQLite database. Clones share the connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database file at `path` and migrates it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the file cannot be opened or migrated.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::connect_with(SqliteConnectOptions::new().filename(path)).await
    }

    /// Connects to a database by URL and migrates it: `sqlite://auth.db` (created if missing),
    /// or `sqlite::memory:` for a private in-memory database that lives as long as the store.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the URL is invalid or the database cannot be opened or
    /// migrated.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url).map_err(backend)?;
        if url.contains(":memory:") || url.contains("mode=memory") {
            // An in-memory database lives as long as a connection to it: keep exactly one,
            // forever.
            let pool = SqlitePoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options.foreign_keys(true))
                .await
                .map_err(backend)?;
            return Self::from_pool(pool).await;
        }
        Self::connect_with(options).await
    }

    /// Connects to a database file with the given options, adding the store's: create the
    /// file if missing, WAL journal (switched once, retried while other processes hold the
    /// file), `synchronous = NORMAL` (durable in WAL mode except on power loss, where the last
    /// transactions may roll back), a busy timeout. Then migrates. For an in-memory database,
    /// use [`SqliteStore::connect`] with `sqlite::memory:`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the database cannot be opened or migrated.
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        // The journal mode is switched once, below, rather than by every new connection.
        let options = options
            .create_if_missing(true)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .map_err(backend)?;
        enable_wal(&pool).await?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool (the store's tables can live beside the application's) and
    /// migrates it. The pool is used as configured: give it a busy timeout, and WAL mode if
    /// several processes share the file.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the migrations fail.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A transaction holding the write lock from its first statement, so what it reads stays
    /// true until it commits.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Migrations take the write lock too, which serializes concurrent runners.
    async fn begin_migration(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_write().await
    }
}

/// Puts the database file in WAL mode, a setting stored in the file.
///
/// Switching needs an exclusive lock that SQLite does not wait for (the busy timeout does not
/// apply), so it fails while another connection holds the file, as when several processes open
/// a new database at once. It is retried until [`BUSY_TIMEOUT`]. Once the file is in WAL mode,
/// asking again takes no lock.
async fn enable_wal(pool: &SqlitePool) -> Result<(), StoreError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(pool)
            .await
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(StoreError::backend(format!(
                    "SQLite kept the {mode} journal mode instead of switching to WAL"
                )));
            }
            Err(error) if is_busy(&error) && Instant::now() < deadline => {
                tokio::time::sleep(WAL_RETRY_INTERVAL).await;
            }
            Err(error) => return Err(backend(error)),
        }
    }
}

/// Whether SQLite answered `SQLITE_BUSY` (primary result code 5, whatever the extended code).
fn is_busy(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    db.code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == SQLITE_BUSY)
}

migrator!(
    SqliteStore,
    Sqlite,
    migrations_table = MIGRATIONS_TABLE,
    migrations = MIGRATIONS
);

sql_store!(
    SqliteStore,
    Sqlite,
    select_for_rotation = super::sql::queries::SELECT_REFRESH
);
