//! The sync engine against a server that refuses bodies over a size (413): the phone splits the
//! batch rather than sending it again, refuses only the change that can never pass, and pushes
//! the rest of its outbox.

use serde_json::json;
use shequ_model::client::{push_all, Limits, Replica, SyncReport, Transport, TransportError};
use shequ_model::sync::{
    Checksum, PullPage, PullQuery, PushOutcome, PushRequest, PushResponse, PushResult,
};
use shequ_model::Revision;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use uuid::Uuid;

/// Runs a future whose every step is ready at once (the fakes below never wait).
fn block_on<F: Future>(f: F) -> F::Output {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[derive(Default)]
struct Phone {
    /// The outbox, oldest first, and the last refusal of each change.
    outbox: RefCell<Vec<Revision>>,
    refused: RefCell<BTreeMap<Uuid, String>>,
}

impl Replica for Phone {
    async fn device_id(&self) -> Result<String, String> {
        Ok("phone".into())
    }
    async fn outbox(
        &self,
        _: &str,
        limit: u32,
        after: Option<uuid::Uuid>,
    ) -> Result<Vec<Revision>, String> {
        Ok(self
            .outbox
            .borrow()
            .iter()
            .filter(|r| after.is_none_or(|a| r.rev > a))
            .take(limit as usize)
            .cloned()
            .collect())
    }
    async fn pending_count(&self, _: &str) -> Result<u32, String> {
        Ok(self.outbox.borrow().len() as u32)
    }
    async fn take_results(&self, results: &[PushResult]) -> Result<(), String> {
        for r in results {
            match &r.outcome {
                o if o.acknowledged() => self.outbox.borrow_mut().retain(|c| c.rev != r.rev),
                PushOutcome::Rejected { reason, .. } => {
                    self.refused.borrow_mut().insert(r.rev, reason.clone());
                }
                _ => unreachable!(),
            }
        }
        Ok(())
    }
    async fn cursor(&self, _: &str) -> Result<i64, String> {
        Ok(0)
    }
    async fn apply_page(&self, _: &str, _: PullPage) -> Result<usize, String> {
        Ok(0)
    }
    async fn set_cursor(&self, _: &str, _: i64) -> Result<(), String> {
        Ok(())
    }
    async fn checksum(&self, _: &str) -> Result<Checksum, String> {
        Ok(Checksum::default())
    }
}

/// A server that takes bodies up to `max_body` bytes and answers 413 beyond.
struct Server {
    max_body: usize,
    stored: RefCell<Vec<Uuid>>,
    /// The size of every batch sent, in changes, and whether it was taken.
    sent: RefCell<Vec<(usize, bool)>>,
}

impl Transport for Server {
    async fn push(&self, _: &str, req: &PushRequest) -> Result<PushResponse, TransportError> {
        let fits = serde_json::to_vec(req).unwrap().len() <= self.max_body;
        self.sent.borrow_mut().push((req.changes.len(), fits));
        if !fits {
            return Err(TransportError {
                message: "提交的内容太大".into(),
                retry: false,
                auth: None,
                too_large: true,
            });
        }
        let mut stored = self.stored.borrow_mut();
        let results = req
            .changes
            .iter()
            .map(|c| {
                stored.push(c.rev);
                PushResult {
                    rev: c.rev,
                    outcome: PushOutcome::Stored {
                        seq: stored.len() as i64,
                    },
                }
            })
            .collect();
        Ok(PushResponse { results })
    }
    async fn pull(&self, _: &PullQuery) -> Result<PullPage, TransportError> {
        unreachable!("only pushing here")
    }
    async fn checksum(&self, _: &str) -> Result<Checksum, TransportError> {
        unreachable!("only pushing here")
    }
}

fn change(id: u128, text_len: usize) -> Revision {
    Revision {
        record: Uuid::from_u128(id),
        rev: Uuid::from_u128(id),
        parent: None,
        resolves: vec![],
        device: "phone".into(),
        clock: 1 << 16,
        plan: Default::default(),
        form: "deliberation_case".into(),
        unit: shequ_model::UnitCode::parse("610324001001").unwrap(),
        deleted: false,
        content: serde_json::from_value(
            json!({"topic": "议题", "decision": "议".repeat(text_len)}),
        )
        .unwrap(),
    }
}

fn size_of(changes: &[Revision]) -> usize {
    serde_json::to_vec(&PushRequest {
        device: "phone".into(),
        changes: changes.to_vec(),
    })
    .unwrap()
    .len()
}

#[test]
fn a_batch_too_large_is_halved_until_it_passes_and_only_a_change_too_large_alone_is_refused() {
    // Revision ids are time-ordered, as a phone makes them: the huge change was saved 21st.
    let small: Vec<Revision> = (0..41)
        .filter(|i| *i != 20)
        .map(|i| change(i, 1000))
        .collect();
    // The server takes five small changes in one body, not six.
    let max_body = size_of(&small[..5]);
    assert!(size_of(&small[..6]) > max_body);
    let huge = change(20, max_body);
    let mut outbox = small[..20].to_vec();
    outbox.push(huge.clone());
    outbox.extend_from_slice(&small[20..]);
    let phone = Phone {
        outbox: RefCell::new(outbox),
        ..Default::default()
    };
    let server = Server {
        max_body,
        stored: Default::default(),
        sent: Default::default(),
    };
    let mut report = SyncReport::default();
    let limits = Limits {
        push_batch: 16,
        pull_page: 100,
    };
    block_on(push_all(
        &phone,
        &server,
        "610324001001",
        &limits,
        &mut report,
        &|_| {},
    ))
    .expect("the push goes on past a 413");

    // Every small change reached the server once, in order; the huge one is refused, in Chinese.
    assert_eq!(
        *server.stored.borrow(),
        small.iter().map(|c| c.rev).collect::<Vec<_>>()
    );
    assert_eq!((report.pushed, report.refused), (40, 1));
    assert_eq!(
        phone
            .outbox
            .borrow()
            .iter()
            .map(|c| c.rev)
            .collect::<Vec<_>>(),
        [huge.rev],
        "the refused change stays"
    );
    let reason = phone.refused.borrow()[&huge.rev].clone();
    assert!(reason.contains("太大"), "{reason}");
    // Halving: 16 → 8 → 4, which passes; the huge change alone is tried once and refused, and the
    // changes after it go four at a time again.
    let sent = server.sent.borrow();
    assert_eq!(sent[..3], [(16, false), (8, false), (4, true)]);
    assert!(sent.iter().filter(|(_, ok)| *ok).all(|(n, _)| *n <= 5));
    assert_eq!(sent.iter().filter(|(n, ok)| *n == 1 && !ok).count(), 1);
    assert!(
        sent.iter().rev().take(20 / 4).all(|s| *s == (4, true)),
        "{sent:?}"
    );
}
