//! Counties rolled up, kept in memory between reports of the scopes above them (a city, a
//! province): such a report rolls up again only the counties whose figures changed since, and
//! takes the others as they were, so it walks a few thousand units instead of every village. The
//! nation's report keeps its provinces here the same way, each under the sum of its counties'
//! numbers.
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

    /// The sum of the numbers of the counties under `scope`: numbers only rise, so the sum moves
    /// whenever one of them does. What a province is kept under for the nation's report.
    pub fn sum_under(&self, scope: &str) -> i64 {
        self.counties
            .iter()
            .filter(|(c, _)| c.starts_with(scope))
            .map(|(_, v)| v)
            .sum()
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
    /// The unit (a county, or a province for the nation) as kept under its `version` (a county's
    /// number, a province's [`CountyVersions::sum_under`]) and the areas' number, if it is.
    pub fn get(
        &self,
        plan: &PlanId,
        as_of: Option<Month>,
        unit: &str,
        version: i64,
        versions: &CountyVersions,
    ) -> Option<Arc<KnownUnit>> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = kept.get(&(plan.clone(), as_of, unit.to_owned()))?;
        (e.areas == versions.areas && e.version == version).then(|| e.unit.clone())
    }

    /// Keeps a unit rolled up from what was read after `versions`, under its `version`.
    pub fn keep(
        &self,
        plan: &PlanId,
        as_of: Option<Month>,
        county: &str,
        version: i64,
        versions: &CountyVersions,
        unit: Arc<KnownUnit>,
    ) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let key = (plan.clone(), as_of, county.to_owned());
        if kept.len() >= MAX_KEPT_COUNTIES && !kept.contains_key(&key) {
            kept.clear();
        }
        let areas = versions.areas;
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
