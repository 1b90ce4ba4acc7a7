//! Counties rolled up, kept in memory between reports of the scopes above them (a city, a
//! province): such a report rolls up again only the counties whose figures changed since, and
//! takes the others as they were, so it walks a few thousand units instead of every village.
//!
//! What a county's roll-up depends on is its units' kept figures, its towns' targets, its areas
//! and the plan. The first two raise the county's number in `county_versions` (migration 0011) in
//! the transaction that changes them, the areas raise `areas_version`, and a plan that changes is
//! rebuilt, which raises every county's number. A report reads those numbers before it reads any
//! figure or area, and keeps what it computed under them: what it read afterwards is at least as
//! new, so a kept county is never older than the numbers it is kept under, whichever process
//! changed what.

use shequ_model::month::Month;
use shequ_model::plan::PlanId;
use shequ_model::rollup::KnownUnit;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The most counties kept, over every plan and month: the whole country's 2,945 counties for four
/// or five (plan, month) pairs. A county takes about 2 KB (a figure and a target per indicator),
/// so some 32 MB at most; when full, everything kept goes and is rolled up again as asked.
pub const MAX_KEPT_COUNTIES: usize = 16_384;

/// The numbers a report of a wide scope reads first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountyVersions {
    pub areas: i64,
    /// By county code; a county without a row has number 0.
    pub counties: HashMap<String, i64>,
}

impl CountyVersions {
    pub fn of(&self, county: &str) -> i64 {
        self.counties.get(county).copied().unwrap_or(0)
    }
}

type Key = (PlanId, Option<Month>, String);

#[derive(Default)]
pub struct CountyRollups(Mutex<HashMap<Key, Entry>>);

struct Entry {
    areas: i64,
    version: i64,
    unit: Arc<KnownUnit>,
}

impl CountyRollups {
    /// The county as kept under these numbers, if it is.
    pub fn get(
        &self,
        plan: &PlanId,
        as_of: Option<Month>,
        county: &str,
        versions: &CountyVersions,
    ) -> Option<Arc<KnownUnit>> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = kept.get(&(plan.clone(), as_of, county.to_owned()))?;
        (e.areas == versions.areas && e.version == versions.of(county)).then(|| e.unit.clone())
    }

    /// Keeps a county rolled up from what was read after `versions`.
    pub fn keep(
        &self,
        plan: &PlanId,
        as_of: Option<Month>,
        county: &str,
        versions: &CountyVersions,
        unit: Arc<KnownUnit>,
    ) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let key = (plan.clone(), as_of, county.to_owned());
        if kept.len() >= MAX_KEPT_COUNTIES && !kept.contains_key(&key) {
            kept.clear();
        }
        let (areas, version) = (versions.areas, versions.of(county));
        match kept.get(&key) {
            // A report that read newer numbers has kept this county already.
            Some(e) if (e.areas, e.version) > (areas, version) => {}
            _ => {
                kept.insert(
                    key,
                    Entry {
                        areas,
                        version,
                        unit,
                    },
                );
            }
        }
    }

    /// How many counties are kept, over every plan and month.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
