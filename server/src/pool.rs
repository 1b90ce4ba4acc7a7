//! Bounded pools for work that takes a core or much memory per request: password hashing, and
//! the heavy requests (the decomposition table's export and import, reports wider than a
//! county). A pool runs `workers` at once and lets a fixed number more wait their turn; any
//! request beyond that is told at once to come back (503 with Retry-After), so a flood neither
//! queues without bound nor holds memory while it waits.

use crate::error::ApiError;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Pool {
    turns: Arc<Semaphore>,
    places: Arc<Semaphore>,
    /// What a request refused for want of a place is told.
    busy: &'static str,
    retry_after: u64,
}

/// A place in a pool, held while the work runs: dropping it lets the next request in.
pub struct Turn {
    _place: OwnedSemaphorePermit,
    _turn: OwnedSemaphorePermit,
}

impl Pool {
    /// `workers` at once, `waiting_per_worker` more per worker waiting for a turn; a refusal says
    /// `busy` and to come back in `retry_after` seconds.
    pub fn new(
        workers: usize,
        waiting_per_worker: usize,
        busy: &'static str,
        retry_after: u64,
    ) -> Pool {
        Pool {
            turns: Arc::new(Semaphore::new(workers)),
            places: Arc::new(Semaphore::new(workers * (1 + waiting_per_worker))),
            busy,
            retry_after,
        }
    }

    /// A turn, after waiting if there is a place to wait in; else the refusal.
    pub async fn turn(&self) -> Result<Turn, ApiError> {
        let Ok(place) = self.places.clone().try_acquire_owned() else {
            return Err(ApiError::Busy {
                message: self.busy.into(),
                retry_after: self.retry_after,
            });
        };
        let turn = self
            .turns
            .clone()
            .acquire_owned()
            .await
            .expect("a pool is never closed");
        Ok(Turn {
            _place: place,
            _turn: turn,
        })
    }

    /// Places left, to work in or to wait in: none means the next request is refused.
    pub fn places_left(&self) -> usize {
        self.places.available_permits()
    }

    /// `work` on a thread of its own during a turn.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _turn = self.turn().await?;
        blocking(work).await
    }
}

/// `work`, which holds a core for a while, off the threads that serve requests.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(format!("blocking work failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_workers_and_their_waiting_places_a_request_is_refused() {
        let pool = Pool::new(1, 0, "忙", 3);
        let held = pool.turn().await.unwrap();
        match pool.turn().await {
            Err(ApiError::Busy {
                message,
                retry_after,
            }) => assert_eq!((message.as_str(), retry_after), ("忙", 3)),
            other => panic!("{:?}", other.err()),
        }
        drop(held);
        assert!(pool.turn().await.is_ok(), "the place is free again");
    }
}
