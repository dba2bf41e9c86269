//! The conformance suite against [`SqliteStore`], on a file and in memory, and the migration
//! runner.

use std::sync::Arc;

use mcp_auth_server::store::sqlx::{Row, SqlitePool};
use mcp_auth_server::store::{SqliteStore, Store, StoreError};
use tempfile::TempDir;

use crate::store::harness::{Backend, a_client};

/// Every cell of every `mcp_auth_` table, as bytes (SQLite renders any value as a blob).
async fn raw_contents(pool: &SqlitePool) -> Vec<u8> {
    let tables: Vec<String> = mcp_auth_server::store::sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'mcp_auth_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(tables.len() >= 6, "tables: {tables:?}");
    let mut raw = Vec::new();
    for table in tables {
        let rows = mcp_auth_server::store::sqlx::query(&format!("SELECT * FROM \"{table}\""))
            .fetch_all(pool)
            .await
            .unwrap();
        for row in rows {
            for i in 0..row.len() {
                let cell: Option<Vec<u8>> = row.try_get_unchecked(i).unwrap();
                raw.extend(cell.unwrap_or_default());
                raw.push(b'\n');
            }
        }
    }
    raw
}

/// A store on a database file in a temporary directory; replicas open the file again.
pub(crate) struct SqliteFile {
    store: SqliteStore,
    replicas: tokio::sync::Mutex<Vec<SqliteStore>>,
    dir: TempDir,
}

impl SqliteFile {
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("auth.db")
    }
}

impl Backend for SqliteFile {
    async fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("auth.db")).await.unwrap();
        Self {
            store,
            replicas: tokio::sync::Mutex::default(),
            dir,
        }
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }

    async fn replica(&self) -> Arc<dyn Store> {
        let replica = SqliteStore::open(self.path()).await.unwrap();
        self.replicas.lock().await.push(replica.clone());
        Arc::new(replica)
    }

    async fn raw_contents(&self) -> Vec<u8> {
        raw_contents(self.store.pool()).await
    }

    async fn close(self) {
        for replica in self.replicas.into_inner() {
            replica.pool().close().await;
        }
        self.store.pool().close().await;
        drop(self.dir);
    }
}

/// A `sqlite::memory:` store. Its database exists only within its pool, so the replica is the
/// same store.
pub(crate) struct SqliteMemory(SqliteStore);

impl Backend for SqliteMemory {
    async fn open() -> Self {
        Self(SqliteStore::connect("sqlite::memory:").await.unwrap())
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.0.clone())
    }

    async fn replica(&self) -> Arc<dyn Store> {
        Arc::new(self.0.clone())
    }

    async fn raw_contents(&self) -> Vec<u8> {
        raw_contents(self.0.pool()).await
    }

    async fn close(self) {
        self.0.pool().close().await;
    }
}

mod file {
    crate::store::harness::conformance_tests!(super::SqliteFile);
}

mod in_memory {
    crate::store::harness::conformance_tests!(super::SqliteMemory);
}

/// The recorded migrations, as `(version, description)`.
async fn recorded_migrations(pool: &SqlitePool) -> Vec<(i64, String)> {
    mcp_auth_server::store::sqlx::query_as(
        "SELECT version, description FROM mcp_auth_schema_migrations ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn migrations_run_twice_are_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.put_client(a_client()).await.unwrap();
    let before = recorded_migrations(store.pool()).await;
    assert_eq!(before, [(1, "initial schema".to_owned())]);

    store.migrate().await.unwrap();
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(recorded_migrations(reopened.pool()).await, before);
    assert_eq!(
        reopened.get_client("client-1").await.unwrap(),
        Some(a_client())
    );
    store.pool().close().await;
    reopened.pool().close().await;
}

/// Processes starting together on a new file: each switches it to WAL mode and migrates it,
/// and neither may fail for the other holding the file. Repeated, as the race is narrow.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_starts_migrate_once() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.db");
        let (a, b, c) = tokio::join!(
            SqliteStore::open(&path),
            SqliteStore::open(&path),
            SqliteStore::open(&path)
        );
        let stores = [a.unwrap(), b.unwrap(), c.unwrap()];
        assert_eq!(
            recorded_migrations(stores[0].pool()).await,
            [(1, "initial schema".to_owned())]
        );
        let mode: String = mcp_auth_server::store::sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(stores[1].pool())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        stores[0].put_client(a_client()).await.unwrap();
        assert_eq!(
            stores[2].get_client("client-1").await.unwrap(),
            Some(a_client())
        );
        for store in stores {
            store.pool().close().await;
        }
    }
}

#[tokio::test]
async fn a_schema_from_a_newer_release_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    let store = SqliteStore::open(&path).await.unwrap();
    mcp_auth_server::store::sqlx::query(
        "INSERT INTO mcp_auth_schema_migrations (version, description) VALUES (999, 'future')",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 999,
                supported: 1
            }
        ),
        "{err:?}"
    );
    store.pool().close().await;
}
