//! The single-writer lock of SQLite: at most one ado-ingest process writes a SQLite file at a
//! time, so two backfills never interleave their pages and cursors (issue 9, item 8): an
//! exclusive lock on `<database file>.lock` (the whole file, whatever the organization:
//! SQLite has one writer anyway), released by the operating system when the process dies,
//! however it dies, so a killed run never leaves a stale lock behind. PostgreSQL takes no
//! lock: several processes (`run` replicas, a cron `sync` beside them) share it and split the
//! work by leases (`store::coordination`), which replaced the per-organization advisory lock
//! (issue 12). Owns nothing else.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

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
    /// An in-memory SQLite database (nothing else can reach it), or PostgreSQL (leases
    /// coordinate its writers).
    Nothing,
}

impl WriterLock {
    /// No lock needed (an in-memory database, or PostgreSQL).
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
}
