//! `store::Error`: what can go wrong between the daemon and its database.

/// An error of the storage layer. Messages never contain a password: URLs are shown with
/// their credentials removed (see [`redact_url`]).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `database.url` has a scheme other than `sqlite:`, `postgres:` or `postgresql:`.
    #[error("unsupported database URL scheme `{scheme}`: expected `sqlite:` or `postgres:`")]
    UnsupportedUrl { scheme: String },

    /// The URL does not parse, or the database cannot be opened or reached (file not writable,
    /// server down, authentication refused, database missing).
    #[error("cannot connect to the {backend} database at {url}")]
    Connect {
        backend: &'static str,
        /// The database URL with any user name and password removed.
        url: String,
        #[source]
        source: sqlx::Error,
    },

    /// A schema migration failed, or the database has migrations this binary does not know
    /// (it was migrated by a newer version) or whose checksum changed.
    #[error("cannot apply the database migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// A store operation outside a statement (`op`: beginning or committing a transaction,
    /// acquiring a connection) failed.
    #[error("database operation `{op}` failed")]
    Query {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// A statement failed: which table, what it was doing, and the start of its SQL.
    #[error("{what} of `{table}` failed (statement: {sql})")]
    Statement {
        table: &'static str,
        what: &'static str,
        /// The first 240 characters of the SQL, to find the statement in the code.
        sql: String,
        #[source]
        source: sqlx::Error,
    },

    /// A store setting read from the environment has a value the store does not know
    /// (`ADO_INGEST_SQLITE_WRITER`).
    #[error("invalid store setting: {what}")]
    Setting { what: String },

    /// Another ado-ingest process is writing to this database (for this organization on
    /// PostgreSQL); two writers would interleave their pages and cursors.
    #[error(
        "another ado-ingest process is writing to {database} ({holder}); wait for it to \
         finish or stop it (a killed process releases the lock by itself)"
    )]
    Locked { database: String, holder: String },

    /// The SQLite lock file cannot be created or locked.
    #[error("cannot use the lock file {path}")]
    LockFile {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// A stored value does not parse back into its row field (e.g. a malformed timestamp in a
    /// SQLite text column that something other than this daemon wrote).
    #[error("corrupt value in the database: {what}")]
    Corrupt { what: String },
}

impl Error {
    /// Wraps the failure of `st`.
    pub(crate) fn statement(st: &super::sql::Statement<'_>, source: sqlx::Error) -> Self {
        Self::Statement {
            table: st.table,
            what: st.what,
            sql: st.sql.chars().take(240).collect(),
            source,
        }
    }

    /// Wraps a sqlx error of operation `op`; for `map_err(Error::query("…"))`.
    pub(crate) fn query(op: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Query { op, source }
    }
}

pub(crate) use crate::redact::redact_url;
