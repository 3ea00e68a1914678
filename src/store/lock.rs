//! The single-writer lock: at most one ado-ingest process writes an organization's data into
//! a database at a time, so two backfills never interleave their pages and cursors (issue 9,
//! item 8). SQLite: an exclusive lock on `<database file>.lock` (the whole file, whatever the
//! organization: SQLite has one writer anyway). PostgreSQL: a session advisory lock keyed by
//! the organization, held on a connection of its own. Both are released by the operating
//! system or the server when the process dies, however it dies, so a killed run never leaves
//! a stale lock behind. Owns nothing else.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use sqlx::{Connection, PgConnection};

use super::{Error, Result};

/// Held while a process writes; dropping it releases the lock.
#[derive(Debug)]
pub struct WriterLock {
    _held: Held,
}

#[derive(Debug)]
#[expect(
    dead_code,
    reason = "held, never read: dropping the value releases the lock"
)]
enum Held {
    /// The open, locked lock file.
    File(std::fs::File),
    /// The connection whose session holds the advisory lock.
    Postgres(PgConnection),
    /// An in-memory SQLite database: nothing else can reach it.
    Nothing,
}

impl WriterLock {
    /// No lock needed (an in-memory database).
    pub(crate) fn unshared() -> Self {
        Self {
            _held: Held::Nothing,
        }
    }

    /// Locks `<database>.lock` next to the SQLite file, writing this process's id and start
    /// time into it for the message another process shows when refused.
    pub(crate) fn file(database: &Path) -> Result<Self> {
        let path = PathBuf::from(format!("{}.lock", database.display()));
        let io = |source| Error::LockFile {
            path: path.display().to_string(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(Error::Locked {
                    database: database.display().to_string(),
                    holder: holder.trim().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", holder_description()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(Self {
            _held: Held::File(file),
        })
    }

    /// Takes the advisory lock of `org` on a connection of its own.
    pub(crate) async fn postgres(
        mut conn: PgConnection,
        database: &str,
        org: &str,
    ) -> Result<Self> {
        let (space, key) = advisory_key(org);
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(space)
            .bind(key)
            .fetch_one(&mut conn)
            .await
            .map_err(Error::query("taking the writer lock"))?;
        if got {
            return Ok(Self {
                _held: Held::Postgres(conn),
            });
        }
        let holder: Option<String> = sqlx::query_scalar(
            "SELECT 'server pid ' || a.pid || COALESCE(' from ' || host(a.client_addr), '') \
             || ' (' || COALESCE(NULLIF(a.application_name, ''), 'no application name') \
             || ') connected since ' || a.backend_start \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted \
             AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 2 LIMIT 1",
        )
        .bind(i64::from(space))
        .bind(i64::from(key))
        .fetch_optional(&mut conn)
        .await
        .ok()
        .flatten();
        let _ = conn.close().await;
        Err(Error::Locked {
            database: format!("{database} (organization {org})"),
            holder: holder.unwrap_or_else(|| "a session that just ended".into()),
        })
    }
}

/// What the lock file says about its holder.
fn holder_description() -> String {
    format!(
        "pid {} on {}, since {}",
        std::process::id(),
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "this host".into()),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// The two-integer advisory lock key of `org`: a fixed namespace ("ADOI") and a stable
/// 31-bit hash (FNV-1a) of the organization, non-negative so it compares with `pg_locks.objid`.
fn advisory_key(org: &str) -> (i32, i32) {
    let mut h: u32 = 0x811c_9dc5;
    for b in org.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (0x4144_4f49, (h & 0x7fff_ffff) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_file_lock_is_refused_with_the_holder_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let first = WriterLock::file(&db).unwrap();
        let err = WriterLock::file(&db).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Locked { .. }), "{msg}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "names the holder: {msg}"
        );
        drop(first);
        WriterLock::file(&db).expect("free again once the holder is gone");
    }

    #[test]
    fn advisory_keys_are_stable_and_non_negative() {
        assert_eq!(advisory_key("contoso"), advisory_key("contoso"));
        assert_ne!(advisory_key("contoso"), advisory_key("fabrikam"));
        assert!(advisory_key("contoso").1 >= 0);
    }
}
