//! Serving connections so that no client can hold the server: at most
//! [`Limits::max_connections`] open at once, each closed when it sits idle too long or trickles
//! its headers (slowloris), and request bodies that stall are cut off.
//!
//! When every place is taken, the connection idle the longest is closed to make room for the new
//! one. A flood of silent connections therefore churns through the places instead of holding
//! them, and `/healthz` or a phone still gets in; the process never runs out of file descriptors,
//! whatever the flood. A connection with a request in progress (until its response body is sent)
//! is never chosen.

use crate::settings::Limits;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// Serves `router` on `listener` until the listener fails for good.
pub async fn serve(listener: TcpListener, router: Router, limits: Limits) -> std::io::Result<()> {
    let router = router.layer(RequestBodyTimeoutLayer::new(limits.body_timeout));
    let open = Arc::new(Connections::default());
    let places = Arc::new(Semaphore::new(limits.max_connections));
    tokio::spawn(close_idle(open.clone(), limits.idle_timeout));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was taken: neither
                // stops the server.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let place = match places.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                open.close_longest_idle();
                places
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the places are never closed")
            }
        };
        let _ = stream.set_nodelay(true);
        let (id, close) = open.add();
        let service = {
            let (open, router) = (open.clone(), router.clone());
            hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                let busy = Busy::begin(&open, id);
                req.extensions_mut().insert(ConnectInfo(peer));
                let router = router.clone();
                async move {
                    let response = router.oneshot(req.map(Body::new)).await?;
                    // The connection stays busy until the whole body is sent.
                    Ok::<_, std::convert::Infallible>(response.map(move |b| {
                        Body::new(b.map_frame(move |f| {
                            let _ = &busy;
                            f
                        }))
                    }))
                }
            })
        };
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let open = open.clone();
        tokio::spawn(async move {
            tokio::select! {
                r = connection => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                // Chosen while idle: dropping it closes the socket.
                _ = close.notified() => {}
            }
            open.remove(id);
            drop(place);
        });
    }
}

/// Closes the connections idle for longer than `after`, checking a few times per `after`.
async fn close_idle(open: Arc<Connections>, after: Duration) {
    let mut tick =
        tokio::time::interval((after / 4).clamp(Duration::from_millis(50), Duration::from_secs(1)));
    loop {
        tick.tick().await;
        open.close_idle_longer_than(after);
    }
}

#[derive(Default)]
struct Connections {
    open: Mutex<HashMap<u64, Open>>,
    next: AtomicU64,
}

struct Open {
    /// Requests in progress.
    busy: usize,
    /// When the last request ended, or the connection was accepted.
    idle_since: Instant,
    close: Arc<Notify>,
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Open>> {
        self.open
            .lock()
            .expect("the connection table's lock is never poisoned")
    }

    fn add(&self) -> (u64, Arc<Notify>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(Notify::new());
        self.lock().insert(
            id,
            Open {
                busy: 0,
                idle_since: Instant::now(),
                close: close.clone(),
            },
        );
        (id, close)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Closes the idle connection that has waited longest; false when every one is busy.
    fn close_longest_idle(&self) -> bool {
        let mut open = self.lock();
        let longest = open
            .iter()
            .filter(|(_, c)| c.busy == 0)
            .min_by_key(|(_, c)| c.idle_since)
            .map(|(id, _)| *id);
        match longest.and_then(|id| open.remove(&id)) {
            Some(c) => {
                c.close.notify_one();
                true
            }
            None => false,
        }
    }

    fn close_idle_longer_than(&self, after: Duration) {
        let now = Instant::now();
        self.lock().retain(|_, c| {
            let stale = c.busy == 0 && now.duration_since(c.idle_since) >= after;
            if stale {
                c.close.notify_one();
            }
            !stale
        });
    }
}

/// A request in progress on a connection, from its headers to the end of its response body.
struct Busy {
    open: Arc<Connections>,
    id: u64,
}

impl Busy {
    fn begin(open: &Arc<Connections>, id: u64) -> Busy {
        if let Some(c) = open.lock().get_mut(&id) {
            c.busy += 1;
        }
        Busy {
            open: open.clone(),
            id,
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(c) = self.open.lock().get_mut(&self.id) {
            c.busy -= 1;
            c.idle_since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_idle_connection_is_closed_first_and_a_busy_one_never() {
        let open = Arc::new(Connections::default());
        let (old, old_close) = open.add();
        let (_new, new_close) = open.add();
        let working = Busy::begin(&open, old);
        assert!(open.close_longest_idle(), "the newer idle one goes");
        assert!(!open.close_longest_idle(), "the busy one stays");
        drop(working);
        assert!(open.close_longest_idle());
        for n in [old_close, new_close] {
            assert!(tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap()
                .block_on(async {
                    tokio::time::timeout(Duration::from_secs(1), n.notified())
                        .await
                        .is_ok()
                }));
        }
    }
}
