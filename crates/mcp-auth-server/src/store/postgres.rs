//! [`PostgresStore`]: the state in PostgreSQL, shared by several replicas.
//!
//! The take-once operations hold across processes: a code is consumed by one conditional
//! `UPDATE`, and a rotation locks the old token's row (`SELECT ... FOR UPDATE`), so replicas
//! racing on the same code or token queue on the row and the later ones see it consumed.
//! Migrations take a transaction-scoped advisory lock, so replicas starting together apply
//! them once.
//!
//! The tables go in the connection's current schema (the first of `search_path`); give the
//! store its own schema with `?options=-c%20search_path%3Dauth` in the URL, or share the
//! application's (every table is prefixed `mcp_auth_`).
//!
//! # Example
//!
//! ```no_run
//! use mcp_auth_server::store::{PostgresStore, Store};
//!
//! # async fn run() -> Result<(), mcp_auth_server::store::StoreError> {
//! let store = PostgresStore::connect("postgres://auth@db.internal/auth").await?;
//! store.purge_expired(1_700_000_000).await?;
//! # Ok(())
//! # }
//! ```

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use super::StoreError;
use super::sql::{Migration, backend, migrator, sql_store};

/// The schema, in order.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "initial schema",
    sql: include_str!("sql/migrations/postgres/0001_initial.sql"),
}];

/// The table recording applied migrations.
const MIGRATIONS_TABLE: &str = "\
CREATE TABLE IF NOT EXISTS mcp_auth_schema_migrations (
    version     BIGINT      PRIMARY KEY NOT NULL,
    description TEXT        NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)";

/// Serializes migration runners on the same schema (and only those: the key includes it).
const MIGRATION_LOCK: &str = "\
SELECT pg_advisory_xact_lock(hashtext('mcp_auth_schema_migrations:' || coalesce(current_schema(), '')))";

/// [`queries::SELECT_REFRESH`](super::sql::queries::SELECT_REFRESH), locking the token's row
/// until the transaction ends.
const SELECT_REFRESH_FOR_UPDATE: &str = "\
SELECT t.family, t.client_id, t.subject, t.scopes, t.resource, t.expires_at, \
    t.family_expires_at, t.used, f.revoked \
FROM mcp_auth_refresh_tokens t LEFT JOIN mcp_auth_refresh_families f ON f.family = t.family \
WHERE t.token_hash = $1 \
FOR UPDATE OF t";

/// A [`Store`](super::Store) in a PostgreSQL database. Clones share the connection pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects by URL (`postgres://user:password@host/database`; TLS with `sslmode=require`)
    /// and migrates.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the URL is invalid or the database cannot be reached or
    /// migrated.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url).map_err(backend)?).await
    }

    /// Connects with the given options and migrates.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the database cannot be reached or migrated.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .connect_with(options)
            .await
            .map_err(backend)?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool and migrates it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the migrations fail.
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A READ COMMITTED transaction; rotation locks the rows it reads with `FOR UPDATE`.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// A transaction holding the migration lock of the current schema.
    async fn begin_migration(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(MIGRATION_LOCK).execute(&mut *tx).await?;
        Ok(tx)
    }
}

migrator!(
    PostgresStore,
    Postgres,
    migrations_table = MIGRATIONS_TABLE,
    migrations = MIGRATIONS
);

sql_store!(
    PostgresStore,
    Postgres,
    select_for_rotation = SELECT_REFRESH_FOR_UPDATE
);
