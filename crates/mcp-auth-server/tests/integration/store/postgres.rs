//! The conformance suite against [`PostgresStore`], and the migration runner.
//!
//! Each test works in a schema of its own, `mcp_auth_test_<random>`, created in the database at
//! `DATABASE_URL` and dropped afterwards, so tests run in parallel without seeing each other.
//! Without `DATABASE_URL` the tests fail: they must not pass by not running.

use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::sync::Arc;

use mcp_auth_server::store::sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use mcp_auth_server::store::{PostgresStore, Store, StoreError, sqlx};

use crate::store::harness::{Backend, a_client, random_hex};

/// Connections per pool: several, so the racing callers really run in parallel.
const POOL_SIZE: u32 = 8;

/// The database URL, or a failure saying how to provide it.
fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| {
            panic!(
                "DATABASE_URL is not set: the PostgreSQL store tests need a database. Set \
                 DATABASE_URL, as cargo xtask ci does (e.g. \
                 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)"
            )
        })
}

/// A schema of its own in the test database, dropped by [`Schema::drop`].
struct Schema {
    url: String,
    name: String,
    admin: PgPool,
}

impl Schema {
    async fn create() -> Self {
        let url = database_url();
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"));
        let name = format!("mcp_auth_test_{}", random_hex(8));
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&admin)
            .await
            .unwrap();
        Self { url, name, admin }
    }

    /// A pool whose connections work in this schema.
    async fn pool(&self) -> PgPool {
        let options = PgConnectOptions::from_str(&self.url)
            .unwrap()
            .options([("search_path", self.name.as_str())]);
        PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(options)
            .await
            .unwrap()
    }

    /// A store (a pool of its own, migrated) in this schema.
    async fn store(&self) -> PostgresStore {
        PostgresStore::from_pool(self.pool().await).await.unwrap()
    }

    async fn drop(self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&self.admin)
            .await
            .unwrap();
        self.admin.close().await;
    }
}

/// Runs `test` in a fresh schema, dropped afterwards whether `test` passes or panics.
async fn in_fresh_schema(test: impl AsyncFnOnce(&Schema)) {
    let schema = Schema::create().await;
    let outcome = futures::FutureExt::catch_unwind(AssertUnwindSafe(test(&schema))).await;
    schema.drop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A store in a fresh schema; each replica is another pool on the same schema.
pub(crate) struct Postgres {
    schema: Schema,
    store: PostgresStore,
    replicas: tokio::sync::Mutex<Vec<PostgresStore>>,
}

impl Backend for Postgres {
    async fn open() -> Self {
        let schema = Schema::create().await;
        let store = schema.store().await;
        Self {
            schema,
            store,
            replicas: tokio::sync::Mutex::default(),
        }
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }

    async fn replica(&self) -> Arc<dyn Store> {
        let replica = self.schema.store().await;
        self.replicas.lock().await.push(replica.clone());
        Arc::new(replica)
    }

    async fn raw_contents(&self) -> Vec<u8> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name LIKE 'mcp\\_auth\\_%'",
        )
        .fetch_all(self.store.pool())
        .await
        .unwrap();
        assert!(tables.len() >= 6, "tables: {tables:?}");
        let mut raw = Vec::new();
        for table in tables {
            // Every row as JSON: text as is, bytea as \x-prefixed hex.
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT row_to_json(t)::text FROM \"{table}\" t"))
                    .fetch_all(self.store.pool())
                    .await
                    .unwrap();
            for row in rows {
                raw.extend(row.into_bytes());
                raw.push(b'\n');
            }
        }
        raw
    }

    async fn close(self) {
        for replica in self.replicas.into_inner() {
            replica.pool().close().await;
        }
        self.store.pool().close().await;
        self.schema.drop().await;
    }
}

crate::store::harness::conformance_tests!(Postgres);

/// The recorded migrations, as `(version, description)`.
async fn recorded_migrations(pool: &PgPool) -> Vec<(i64, String)> {
    sqlx::query_as("SELECT version, description FROM mcp_auth_schema_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn migrations_run_twice_are_a_no_op() {
    in_fresh_schema(async |schema| {
        let store = schema.store().await;
        store.put_client(a_client()).await.unwrap();
        let before = recorded_migrations(store.pool()).await;
        assert_eq!(before, [(1, "initial schema".to_owned())]);

        store.migrate().await.unwrap();
        let reopened = schema.store().await;
        assert_eq!(recorded_migrations(reopened.pool()).await, before);
        assert_eq!(
            reopened.get_client("client-1").await.unwrap(),
            Some(a_client())
        );
        store.pool().close().await;
        reopened.pool().close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once() {
    in_fresh_schema(async |schema| {
        let (pool_a, pool_b) = tokio::join!(schema.pool(), schema.pool());
        let (a, b) = tokio::join!(
            PostgresStore::from_pool(pool_a),
            PostgresStore::from_pool(pool_b)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            recorded_migrations(a.pool()).await,
            [(1, "initial schema".to_owned())]
        );
        a.put_client(a_client()).await.unwrap();
        assert_eq!(b.get_client("client-1").await.unwrap(), Some(a_client()));
        a.pool().close().await;
        b.pool().close().await;
    })
    .await;
}

#[tokio::test]
async fn a_schema_from_a_newer_release_is_refused() {
    in_fresh_schema(async |schema| {
        let store = schema.store().await;
        sqlx::query(
            "INSERT INTO mcp_auth_schema_migrations (version, description) \
             VALUES (999, 'future')",
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
    })
    .await;
}
