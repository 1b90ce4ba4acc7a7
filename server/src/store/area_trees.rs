//! The area trees of wide scopes (a city, a province: tens of thousands of units), kept in memory
//! between reports so that a report does not read its scope's areas and build its tree each time.
//!
//! Areas change only by an import, which raises `areas_version` in its transaction (migration
//! 0010). A report reads that number first (one row) and uses a kept tree only if it was kept
//! under the same number; any other number drops every tree. Reading the number before the areas
//! means a tree is never kept under a number newer than its rows, so an import by another
//! process, or another server process on the same PostgreSQL, is seen by the next report.

use shequ_model::area::AreaTree;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Scopes of fewer units are read each time: a county's few hundred rows take a millisecond or two.
pub const KEPT_FROM_UNITS: usize = 1_000;

/// The most units kept over all trees: the whole country's 660 k divisions fit, at some 200 bytes
/// a unit (a unit's code, name and parent, and its place among its parent's children), so
/// about 140 MB at most. The tree used least recently goes first to make room.
pub const MAX_KEPT_UNITS: usize = 700_000;

#[derive(Default)]
pub(crate) struct AreaTrees(Mutex<Kept>);

#[derive(Default)]
struct Kept {
    /// The `areas_version` the trees were read under.
    version: i64,
    trees: HashMap<String, (Arc<AreaTree>, u64)>,
    units: usize,
    /// Counts uses, to find the tree used least recently.
    clock: u64,
}

impl AreaTrees {
    /// The tree kept for `scope` under `version`, if any.
    pub(crate) fn get(&self, version: i64, scope: &str) -> Option<Arc<AreaTree>> {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if kept.version != version {
            // A number older than the one kept was read before a report saw the newer one.
            if kept.version < version {
                *kept = Kept {
                    version,
                    ..Kept::default()
                };
            }
            return None;
        }
        kept.clock += 1;
        let now = kept.clock;
        let (tree, used) = kept.trees.get_mut(scope)?;
        *used = now;
        Some(tree.clone())
    }

    /// Keeps the tree of `scope`, read under `version`, when it is wide enough to be worth it.
    pub(crate) fn keep(&self, version: i64, scope: &str, tree: &Arc<AreaTree>) {
        if tree.len() < KEPT_FROM_UNITS || tree.len() > MAX_KEPT_UNITS {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if kept.version != version {
            if kept.version > version {
                // Read under an older number than another report has since seen.
                return;
            }
            *kept = Kept {
                version,
                ..Kept::default()
            };
        }
        if let Some((old, _)) = kept.trees.remove(scope) {
            kept.units -= old.len();
        }
        while kept.units + tree.len() > MAX_KEPT_UNITS {
            let Some(oldest) = kept
                .trees
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(scope, _)| scope.clone())
            else {
                break;
            };
            if let Some((gone, _)) = kept.trees.remove(&oldest) {
                kept.units -= gone.len();
            }
        }
        kept.clock += 1;
        let now = kept.clock;
        kept.units += tree.len();
        kept.trees.insert(scope.to_owned(), (tree.clone(), now));
    }
}
