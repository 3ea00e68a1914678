//! The one test-database harness, for the store's contract suite (unit tests) and the
//! integration tests and benchmarks (`test-support` feature): a fresh SQLite file always, a
//! fresh PostgreSQL database when `TEST_DATABASE_URL` names a server (each test creates its
//! own database through it and drops it afterwards). Without the variable the Postgres
//! variant is skipped with a printed notice.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{Connection, Executor, PgConnection};

use crate::store::{AnyStore, Store};

/// A fresh database for one test; removed (SQLite) or dropped (Postgres) afterwards.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

/// A database name no other test of any process uses at the same time.
fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "ado_ingest_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

impl TestDb {
    /// A database file in a fresh temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ado-ingest-test-")
            .tempdir()
            .expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb::Sqlite { _dir: dir, url }
    }

    /// A new database on the server named by `TEST_DATABASE_URL`, or `None` (with a notice).
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("TEST_DATABASE_URL not set: skipping the Postgres variant of this test");
            return None;
        };
        let name = unique_name();
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        Some(TestDb::Postgres {
            admin_url,
            name,
            url: url.to_string(),
        })
    }

    /// Both backends: SQLite always, Postgres when configured.
    pub async fn all() -> Vec<Self> {
        let mut v = vec![Self::sqlite()];
        v.extend(Self::postgres().await);
        v
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            TestDb::Sqlite { .. } => "sqlite",
            TestDb::Postgres { .. } => "postgres",
        }
    }

    /// Runs SQL straight on the database, outside the store: for tests that put a database
    /// into a state the store never writes (one left by an older version, say). Takes one
    /// statement per backend, in its own dialect.
    pub async fn execute(&self, sqlite: &str, postgres: &str) -> u64 {
        match self {
            TestDb::Sqlite { url, .. } => {
                let mut c = sqlx::SqliteConnection::connect(url)
                    .await
                    .expect("connect to the test database");
                let n = c
                    .execute(sqlx::AssertSqlSafe(sqlite.to_string()))
                    .await
                    .unwrap_or_else(|e| panic!("{sqlite}: {e}"))
                    .rows_affected();
                let _ = c.close().await;
                n
            }
            TestDb::Postgres { url, .. } => {
                let mut c = PgConnection::connect(url)
                    .await
                    .expect("connect to the test database");
                let n = c
                    .execute(sqlx::AssertSqlSafe(postgres.to_string()))
                    .await
                    .unwrap_or_else(|e| panic!("{postgres}: {e}"))
                    .rows_affected();
                let _ = c.close().await;
                n
            }
        }
    }

    /// One integer from SQL run straight on the database (`SELECT count(*) …`), one
    /// statement per backend, in its own dialect.
    pub async fn scalar(&self, sqlite: &str, postgres: &str) -> i64 {
        match self {
            TestDb::Sqlite { url, .. } => {
                let mut c = sqlx::SqliteConnection::connect(url)
                    .await
                    .expect("connect to the test database");
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sqlite.to_string()))
                    .fetch_one(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sqlite}: {e}"));
                let _ = c.close().await;
                n
            }
            TestDb::Postgres { url, .. } => {
                let mut c = PgConnection::connect(url)
                    .await
                    .expect("connect to the test database");
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(postgres.to_string()))
                    .fetch_one(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{postgres}: {e}"));
                let _ = c.close().await;
                n
            }
        }
    }

    /// The store, connected and migrated.
    pub async fn store(&self) -> AnyStore {
        let s = AnyStore::connect(self.url())
            .await
            .expect("open test database");
        s.migrate().await.expect("migrate test database");
        s
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside a test's runtime; a thread with its own runtime can block on
            // the cleanup.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(mut c) = PgConnection::connect(&admin_url).await {
                        let _ = c
                            .execute(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}
