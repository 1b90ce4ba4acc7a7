//! The wire types of the sync protocol, and its pure decisions.
//!
//! A device keeps every change as a [`Revision`] in its outbox and pushes them in batches; the
//! server answers each item ([`PushOutcome`]) and the device takes an item out of its outbox only
//! on `Stored` or `Duplicate`. A device pulls by cursor: the server numbers every revision it
//! stores (`seq`), and a pull returns the revisions of the device's scope after the cursor, page by
//! page. Revision ids are idempotency keys, bound to the content by [`Revision::content_hash`]:
//! the same id sent again is acknowledged and not stored twice; the same id with other content is
//! refused. See `docs/sync.md`.

use crate::area::UnitCode;
use crate::record::{FieldError, Revision};
use serde::{Deserialize, Serialize};

/// Largest batch the server takes in one push.
pub const MAX_PUSH_BATCH: usize = 500;
/// Largest page a pull returns.
pub const MAX_PULL_PAGE: u32 = 1000;
/// Longest device id a revision may name, in characters (phones use a UUID).
pub const MAX_DEVICE_LEN: usize = 100;
/// Most conflicting revisions one revision may settle.
pub const MAX_RESOLVES: usize = 100;
/// Most bytes of revisions a pull page carries (as stored JSON, before compression), unless its
/// first revision alone is larger: a page always moves the cursor on.
pub const MAX_PULL_BYTES: u64 = 2 * 1024 * 1024;

/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PushRequest {
    pub device: String,
    pub changes: Vec<Revision>,
}

/// Wire format: stable. One result per change, in the order sent.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PushResponse {
    pub results: Vec<PushResult>,
}

/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PushResult {
    pub rev: uuid::Uuid,
    #[serde(flatten)]
    pub outcome: PushOutcome,
}

/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PushOutcome {
    /// Stored now, as number `seq`.
    Stored { seq: i64 },
    /// Already stored earlier with the same content: acknowledged again, not stored twice.
    Duplicate { seq: i64 },
    /// Refused; the device keeps it and shows why (Chinese).
    Rejected {
        reason: String,
        #[serde(default)]
        errors: Vec<FieldError>,
    },
}

impl PushOutcome {
    /// Whether the device may take the change out of its outbox.
    pub fn acknowledged(&self) -> bool {
        matches!(
            self,
            PushOutcome::Stored { .. } | PushOutcome::Duplicate { .. }
        )
    }
}

/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PullQuery {
    /// Code of the unit whose subtree is pulled.
    pub scope: String,
    /// The cursor: the last `seq` the device has applied (0 at first).
    #[serde(default)]
    pub after: i64,
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// How the calling device's own revisions come back.
    #[serde(default)]
    pub own: OwnRevisions,
}

impl PullQuery {
    /// The request's path and query, as a device sends it (unit codes are digits).
    pub fn path(&self) -> String {
        format!(
            "/api/sync/pull?scope={}&after={}&limit={}{}",
            self.scope,
            self.after,
            self.limit,
            self.own.query()
        )
    }
}

/// Whether a pull sends the revisions the calling device pushed (in sessions opened with its
/// device id). Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OwnRevisions {
    /// Sent as every other revision: what a phone asks for when it repairs from the start.
    #[default]
    Whole,
    /// Left out, the cursor passing them: the phone holds what it pushed, and on a slow link
    /// they would nearly double what a push costs. One whose answer was lost is still in the
    /// phone's outbox; the next push sends it again and the answer (`duplicate`) takes it out.
    Omitted,
}

impl OwnRevisions {
    /// The query parameter that asks for it, empty for the default.
    pub fn query(self) -> &'static str {
        match self {
            OwnRevisions::Whole => "",
            OwnRevisions::Omitted => "&own=omitted",
        }
    }
}

fn default_limit() -> u32 {
    MAX_PULL_PAGE
}

/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PulledRevision {
    pub seq: i64,
    pub revision: Revision,
    /// The name of the account that pushed it (the username when the account is gone), so a
    /// phone's lists say who recorded what; absent from servers that did not send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PullPage {
    pub changes: Vec<PulledRevision>,
    /// The cursor to send next time.
    pub cursor: i64,
    /// Whether more pages follow.
    pub more: bool,
}

/// A hybrid logical clock: milliseconds in the upper 48 bits, a counter in the lower 16. It does
/// not go backwards on a device when the phone's wall clock does (unless it was more than a day
/// ahead, see [`Hlc::tick`]), and it moves past every clock the device has seen from others.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hlc {
    pub last: u64,
}

impl Hlc {
    pub fn pack(ms: u64, counter: u16) -> u64 {
        (ms << 16) | counter as u64
    }

    pub fn millis(clock: u64) -> u64 {
        clock >> 16
    }

    /// The clock for a new local change at wall time `now_ms`. A last clock more than
    /// [`MAX_CLOCK_AHEAD_MS`] ahead came from a wall clock since put right: the server refuses
    /// such clocks, so carrying it on would get every later change refused too; the clock starts
    /// again from the wall time.
    pub fn tick(&mut self, now_ms: u64) -> u64 {
        let candidate = Self::pack(now_ms, 0);
        self.last = if candidate > self.last || Self::too_far_ahead(self.last, now_ms) {
            candidate
        } else {
            self.last + 1
        };
        self.last
    }

    /// Takes in a clock seen from elsewhere.
    pub fn observe(&mut self, seen: u64) {
        self.last = self.last.max(seen);
    }

    /// Whether `clock` is more than [`MAX_CLOCK_AHEAD_MS`] ahead of the wall time `now_ms`.
    pub fn too_far_ahead(clock: u64, now_ms: u64) -> bool {
        Self::millis(clock) > now_ms.saturating_add(MAX_CLOCK_AHEAD_MS)
    }
}

/// How far ahead of the server's time a revision's clock may be: a phone's wall clock a little
/// fast is fine, but a clock far ahead would win every conflict for good (the server refuses it).
pub const MAX_CLOCK_AHEAD_MS: u64 = 24 * 60 * 60 * 1000;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn rev(clock: u64, id: u128) -> Revision {
        Revision {
            record: Uuid::from_u128(1),
            rev: Uuid::from_u128(id),
            parent: None,
            resolves: vec![],
            device: "d".into(),
            clock,
            plan: Default::default(),
            form: "f".into(),
            unit: crate::UnitCode::parse("610324001001").unwrap(),
            deleted: false,
            content: Default::default(),
        }
    }

    #[test]
    fn a_phone_whose_wall_clock_was_put_right_saves_with_a_clock_the_server_takes() {
        let now = 1_530_000_000_000;
        let mut hlc = Hlc::default();
        hlc.tick(now + 365 * MAX_CLOCK_AHEAD_MS);
        let next = hlc.tick(now);
        assert!(!Hlc::too_far_ahead(next, now));
        assert_eq!(Hlc::millis(next), now);
        assert!(
            hlc.tick(now) > next,
            "and it goes on counting up from there"
        );
        let mut near = Hlc::default();
        let ahead = near.tick(now + MAX_CLOCK_AHEAD_MS / 2);
        assert!(
            near.tick(now) > ahead,
            "a clock a little ahead is kept, as a hybrid clock must"
        );
    }

    #[test]
    fn a_clock_more_than_a_day_ahead_is_too_far() {
        let now = 1_530_000_000_000;
        assert!(!Hlc::too_far_ahead(Hlc::pack(now, 7), now));
        assert!(!Hlc::too_far_ahead(
            Hlc::pack(now + MAX_CLOCK_AHEAD_MS, u16::MAX),
            now
        ));
        assert!(Hlc::too_far_ahead(
            Hlc::pack(now + MAX_CLOCK_AHEAD_MS + 1, 0),
            now
        ));
        assert!(Hlc::too_far_ahead(u64::MAX, now));
        assert!(!Hlc::too_far_ahead(0, now));
    }

    #[test]
    fn a_scope_checksum_counts_the_records_below_the_scope() {
        let in_unit = |unit: &str, id: u128| Revision {
            unit: crate::UnitCode::parse(unit).unwrap(),
            ..rev(1, id)
        };
        let winners = [
            in_unit("610324001", 1),
            in_unit("610324001001", 2),
            in_unit("610324001201", 3),
            in_unit("610324002001", 4),
        ];
        let town = UnitCode::parse("610324001").unwrap();
        let sum = Checksum::of_scope(&town, &winners);
        assert_eq!(sum, Checksum::of([1, 2, 3].map(Uuid::from_u128)));
        let village = UnitCode::parse("610324001001").unwrap();
        assert_eq!(
            Checksum::of_scope(&village, &winners),
            Checksum::of([Uuid::from_u128(2)])
        );
    }

    #[test]
    fn outcomes_wire_format() {
        let r = PushResult {
            rev: Uuid::nil(),
            outcome: PushOutcome::Stored { seq: 7 },
        };
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"rev": Uuid::nil(), "outcome": "stored", "seq": 7})
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn hlc_is_strictly_increasing(times in proptest::collection::vec(0u64..1_000_000, 1..50),
                                      seen in proptest::collection::vec(0u64..1_000_000, 0..10)) {
            let mut h = Hlc::default();
            let mut prev = 0;
            for (i, t) in times.iter().enumerate() {
                if let Some(s) = seen.get(i) { h.observe(Hlc::pack(*s, 3)); }
                let c = h.tick(*t);
                prop_assert!(c > prev);
                prev = c;
            }
        }
    }
}

/// A checksum of a scope: how many records, and a hash over their current revision ids. Device
/// and server compute it alike; equal checksums mean they hold the same current state.
/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Checksum {
    pub count: u64,
    pub hash: String,
}

impl Checksum {
    /// Over the current revision ids of the records of a scope, in any order.
    pub fn of(revs: impl IntoIterator<Item = uuid::Uuid>) -> Checksum {
        use sha2::{Digest, Sha256};
        let mut ids: Vec<uuid::Uuid> = revs.into_iter().collect();
        ids.sort();
        let mut h = Sha256::new();
        for id in &ids {
            h.update(id.as_bytes());
        }
        Checksum {
            count: ids.len() as u64,
            hash: h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// A replica's checksum of `scope`: over the current revision of each record (the winner by
    /// the shared merge rule) whose unit lies under the scope, the scope's own unit and every unit
    /// below it, as the server pulls and counts it. The phone and the simulation's device both
    /// call this, so a town supervisor's phone counts its villages' records as the server does.
    pub fn of_scope<'a>(
        scope: &UnitCode,
        winners: impl IntoIterator<Item = &'a Revision>,
    ) -> Checksum {
        Checksum::of(
            winners
                .into_iter()
                .filter(|w| scope.contains(&w.unit))
                .map(|w| w.rev),
        )
    }
}

/// The idempotency key of a push: bound to the batch, so a batch re-sent after a dropped answer
/// or a killed tab carries the same key, and the server answers it again without storing twice.
pub fn batch_key(changes: &[Revision]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for c in changes {
        h.update(c.rev.as_bytes());
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hash of a push's content, which the server binds to its idempotency key.
pub fn batch_hash(changes: &[Revision]) -> String {
    batch_hash_of(changes.iter().map(Revision::content_hash))
}

/// [`batch_hash`] from the changes' [`Revision::content_hash`]es, for who has them already.
pub fn batch_hash_of<S: AsRef<str>>(hashes: impl IntoIterator<Item = S>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for c in hashes {
        h.update(c.as_ref().as_bytes());
    }
    crate::record::hex(&h.finalize())
}
