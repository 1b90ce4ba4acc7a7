//! Pushes on SQLite commit without waiting for the disk, and are acknowledged only once the log
//! holding them is on it: the `fsync` leaves the one writer's turn, and the pushes that commit
//! while one is under way share the next (group commit).
//!
//! SQLite in WAL mode with `synchronous = NORMAL` writes a commit's pages to the log (`-wal`)
//! with `write`, so they survive a crash of the process at once; only a power cut can take what
//! the system has not yet written out. [`LogSync::sync`] makes sure it has: an `fsync` of the log
//! begun after the caller's commit (or read) covers every frame written before it, whichever
//! connection or process wrote it, because Linux writes out a file's pages whichever descriptor
//! they came through. So a push answers after `sync`, and so does a pull, for what it read: a
//! phone never holds, as stored, a revision a power cut could take back and number again.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Mutex;

/// The log of one SQLite database, written out to disk on demand.
pub struct LogSync {
    path: PathBuf,
    /// How many `fsync`s have begun.
    begun: AtomicU64,
    /// The number of the last `fsync` that ended well. Held while one runs, so they run one at
    /// a time and each waiting caller sees whether one begun after its call already ended.
    ended: Mutex<u64>,
}

impl LogSync {
    /// The log of the database file at `db`.
    pub fn of(db: &std::path::Path) -> Self {
        let mut path = db.as_os_str().to_owned();
        path.push("-wal");
        LogSync {
            path: path.into(),
            begun: AtomicU64::new(0),
            ended: Mutex::new(0),
        }
    }

    /// Returns once everything written to the log before the call is on disk.
    pub async fn sync(&self) -> std::io::Result<()> {
        // Any fsync numbered from here on begins after this call.
        let covering = self.begun.load(Ordering::SeqCst) + 1;
        let mut ended = self.ended.lock().await;
        if *ended >= covering {
            return Ok(());
        }
        let number = self.begun.fetch_add(1, Ordering::SeqCst) + 1;
        // The log is opened again for each fsync: SQLite may have truncated or replaced it.
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || File::open(path)?.sync_data())
            .await
            .map_err(std::io::Error::other)??;
        *ended = number;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn callers_at_once_share_syncs_and_each_is_covered() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        std::fs::write(dir.path().join("s.db-wal"), b"log").unwrap();
        let log = Arc::new(LogSync::of(&db));
        let calls: Vec<_> = (0..50)
            .map(|_| {
                let log = log.clone();
                tokio::spawn(async move { log.sync().await })
            })
            .collect();
        for c in calls {
            c.await.unwrap().unwrap();
        }
        let done = *log.ended.lock().await;
        assert!((1..50).contains(&done), "{done} fsyncs for 50 callers");
        // A call after all of them needs an fsync of its own.
        log.sync().await.unwrap();
        assert_eq!(*log.ended.lock().await, done + 1);
    }

    #[tokio::test]
    async fn a_missing_log_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let log = LogSync::of(&dir.path().join("none.db"));
        assert!(log.sync().await.is_err());
    }
}
