//! Concurrent edits: the pure rules every replica (server and devices) applies alike.
//!
//! A record's state is the set of its revisions known to a replica. Merging two replicas' states
//! is set union, so merging is idempotent, commutative and associative, and replicas that have seen
//! the same revisions agree on everything derived from them, whatever order they arrived in:
//!
//! * the **heads** are the revisions nothing known builds on (no known revision names them as its
//!   `parent` or in its `resolves`);
//! * the **winner**, the record's current state, is the head with the highest `(clock, rev)`;
//! * the record is **in conflict** when it has more than one head: two devices edited it without
//!   seeing each other's edit. The losing heads are kept and shown; a user who chooses a version
//!   makes a new revision that `resolves` the others, and the conflict closes everywhere.

use crate::record::Revision;
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

/// The heads among `revs`, the distinct known revisions of one record: those nothing among them
/// builds on, best first.
pub fn heads<'a>(revs: impl IntoIterator<Item = &'a Revision> + Clone) -> Vec<&'a Revision> {
    let superseded: HashSet<Uuid> = revs
        .clone()
        .into_iter()
        .flat_map(|r| r.parent.into_iter().chain(r.resolves.iter().copied()))
        .collect();
    let mut heads: Vec<&Revision> = revs
        .into_iter()
        .filter(|r| !superseded.contains(&r.rev))
        .collect();
    heads.sort_by_key(|r| std::cmp::Reverse(r.precedence()));
    heads
}

/// The record's current state among `revs`, read where they are kept rather than copied into a
/// [`RecordState`]. Every revision superseded means a cycle, which ids made on devices cannot
/// form; the latest revision is taken then rather than nothing.
pub fn winner<'a>(revs: impl IntoIterator<Item = &'a Revision> + Clone) -> Option<&'a Revision> {
    heads(revs.clone())
        .into_iter()
        .next()
        .or_else(|| revs.into_iter().max_by_key(|r| r.precedence()))
}

/// All the known revisions of one record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordState {
    pub revisions: BTreeMap<Uuid, Revision>,
}

impl RecordState {
    pub fn from_revisions(revs: impl IntoIterator<Item = Revision>) -> Self {
        let mut s = RecordState::default();
        for r in revs {
            s.insert(r);
        }
        s
    }

    /// Adds a revision; a revision already known is left as it is. Returns whether it was new.
    pub fn insert(&mut self, r: Revision) -> bool {
        if self.revisions.contains_key(&r.rev) {
            return false;
        }
        self.revisions.insert(r.rev, r);
        true
    }

    /// Set union with another replica's state.
    pub fn merge(&mut self, other: &RecordState) {
        for r in other.revisions.values() {
            self.insert(r.clone());
        }
    }

    /// The revisions nothing known builds on, best first.
    pub fn heads(&self) -> Vec<&Revision> {
        heads(self.revisions.values())
    }

    /// The record's current state (see [`winner`]).
    pub fn winner(&self) -> Option<&Revision> {
        winner(self.revisions.values())
    }

    pub fn in_conflict(&self) -> bool {
        self.heads().len() > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rev(id: u128, parent: Option<u128>, clock: u64) -> Revision {
        Revision {
            record: Uuid::from_u128(1),
            rev: Uuid::from_u128(id),
            parent: parent.map(Uuid::from_u128),
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
    fn a_chain_has_one_head_and_no_conflict() {
        let s =
            RecordState::from_revisions([rev(1, None, 1), rev(2, Some(1), 2), rev(3, Some(2), 3)]);
        assert_eq!(s.winner().unwrap().rev, Uuid::from_u128(3));
        assert!(!s.in_conflict());
    }

    #[test]
    fn concurrent_edits_conflict_and_the_later_clock_wins_and_the_loser_is_kept() {
        let s =
            RecordState::from_revisions([rev(1, None, 1), rev(2, Some(1), 5), rev(3, Some(1), 4)]);
        assert!(s.in_conflict());
        assert_eq!(s.winner().unwrap().rev, Uuid::from_u128(2));
        assert_eq!(s.heads()[1].rev, Uuid::from_u128(3));
    }

    #[test]
    fn choosing_a_version_resolves_the_conflict() {
        let mut s =
            RecordState::from_revisions([rev(1, None, 1), rev(2, Some(1), 5), rev(3, Some(1), 4)]);
        let mut choice = rev(4, Some(2), 6);
        choice.resolves = vec![Uuid::from_u128(3)];
        s.insert(choice);
        assert!(!s.in_conflict());
        assert_eq!(s.winner().unwrap().rev, Uuid::from_u128(4));
    }

    #[test]
    fn a_late_ancestor_does_not_become_a_head() {
        let s =
            RecordState::from_revisions([rev(3, Some(2), 3), rev(2, Some(1), 2), rev(1, None, 1)]);
        assert_eq!(s.heads().len(), 1);
    }

    /// Random histories: each revision builds on an earlier one (or starts the record), sometimes
    /// resolving others, with random clocks.
    fn history() -> impl Strategy<Value = Vec<Revision>> {
        proptest::collection::vec(
            (
                any::<prop::sample::Index>(),
                0u64..6,
                any::<bool>(),
                any::<prop::sample::Index>(),
            ),
            1..12,
        )
        .prop_map(|steps| {
            let mut out: Vec<Revision> = Vec::new();
            for (i, (parent, clock, resolve, other)) in steps.into_iter().enumerate() {
                let id = i as u128 + 10;
                let p = (!out.is_empty()).then(|| out[parent.index(out.len())].rev.as_u128());
                let mut r = rev(id, p, clock);
                if resolve && out.len() > 1 {
                    r.resolves = vec![out[other.index(out.len())].rev];
                }
                out.push(r);
            }
            out
        })
    }

    fn split(h: &[Revision], mask: &[bool]) -> RecordState {
        RecordState::from_revisions(
            h.iter()
                .zip(mask.iter().cycle())
                .filter(|(_, m)| **m)
                .map(|(r, _)| r.clone()),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn merging_is_idempotent_commutative_and_associative(
            h in history(),
            ma in proptest::collection::vec(any::<bool>(), 1..12),
            mb in proptest::collection::vec(any::<bool>(), 1..12),
            mc in proptest::collection::vec(any::<bool>(), 1..12),
        ) {
            let (a, b, c) = (split(&h, &ma), split(&h, &mb), split(&h, &mc));
            let mut aa = a.clone();
            aa.merge(&a);
            prop_assert_eq!(&aa, &a);
            let mut ab = a.clone();
            ab.merge(&b);
            let mut ba = b.clone();
            ba.merge(&a);
            prop_assert_eq!(&ab, &ba);
            prop_assert_eq!(ab.winner().map(|r| r.rev), ba.winner().map(|r| r.rev));
            let mut ab_c = ab.clone();
            ab_c.merge(&c);
            let mut bc = b.clone();
            bc.merge(&c);
            let mut a_bc = a.clone();
            a_bc.merge(&bc);
            prop_assert_eq!(&ab_c, &a_bc);
            prop_assert_eq!(ab_c.heads().iter().map(|r| r.rev).collect::<Vec<_>>(), a_bc.heads().iter().map(|r| r.rev).collect::<Vec<_>>());
        }

        #[test]
        fn every_replica_picks_the_same_winner_whatever_the_arrival_order(h in history(), seed in any::<u64>()) {
            let mut shuffled = h.clone();
            // A deterministic shuffle from the seed.
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let one = RecordState::from_revisions(h.clone());
            let two = RecordState::from_revisions(shuffled);
            prop_assert_eq!(one.winner().map(|r| r.rev), two.winner().map(|r| r.rev));
            prop_assert_eq!(one.in_conflict(), two.in_conflict());
            // Nothing is thrown away: every revision is still there.
            prop_assert_eq!(one.revisions.len(), h.len());
        }
    }
}
