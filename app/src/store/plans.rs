//! The plans the phone has seen, kept in the `meta` store by id (`plan:<id>`, with the ETag it came
//! with at `plan_etag:<id>`), the list of their ids (`plans`), which one is current
//! (`plan_current`) and the legacy plan (`plan_legacy`).
//!
//! The legacy plan is the plan a phone had cached (`plan`) when it first ran an app that keeps
//! several: every record it holds without a plan belongs to it ([`plan_of`]). It is set once,
//! and the records and the outbox stay as they were, so no revision's hash changes.

use super::{Db, Result, StoreError};
use shequ_model::plan::{Plan, PlanId, Plans};

const IDS: &str = "plans";
const CURRENT: &str = "plan_current";
const LEGACY: &str = "plan_legacy";
/// Where a phone kept its one plan before it kept several.
const SINGLE: &str = "plan";

fn plan_key(id: &PlanId) -> String {
    format!("plan:{id}")
}

fn etag_key(id: &PlanId) -> String {
    format!("plan_etag:{id}")
}

impl Db {
    /// Every plan kept on the phone with the current one, or none before the first plan arrives.
    /// A phone that kept a single plan keeps it as its first plan and its legacy plan.
    pub async fn plans(&self) -> Result<Option<Plans>> {
        if self.meta::<PlanId>(LEGACY).await?.is_none() {
            if let Some(single) = self.meta::<Plan>(SINGLE).await? {
                let legacy = single.id.clone();
                if self.meta::<Plan>(&plan_key(&legacy)).await?.is_none() {
                    self.keep_plan(&single, None).await?;
                }
                if self.meta::<PlanId>(CURRENT).await?.is_none() {
                    self.set_current_plan(&legacy).await?;
                }
                self.set_meta(LEGACY, &legacy).await?;
                self.delete_meta(SINGLE).await?;
            }
        }
        let ids = self.meta::<Vec<PlanId>>(IDS).await?.unwrap_or_default();
        let mut plans = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(p) = self.meta::<Plan>(&plan_key(id)).await? {
                plans.push(p);
            }
        }
        if plans.is_empty() {
            return Ok(None);
        }
        let current = self.meta::<PlanId>(CURRENT).await?;
        let current = current.filter(|c| plans.iter().any(|p| p.id == *c));
        Plans::new(plans, current.as_ref())
            .map(Some)
            .map_err(StoreError)
    }

    /// The ETag a kept plan came with, to ask the server only for what changed.
    pub async fn plan_etag(&self, id: &PlanId) -> Result<Option<String>> {
        self.meta(&etag_key(id)).await
    }

    /// Keeps a plan (a newer copy replaces the one with its id) with the ETag it came with.
    pub async fn keep_plan(&self, plan: &Plan, etag: Option<&str>) -> Result<()> {
        self.set_meta(&plan_key(&plan.id), plan).await?;
        match etag {
            Some(tag) => self.set_meta(&etag_key(&plan.id), &tag).await?,
            None => self.delete_meta(&etag_key(&plan.id)).await?,
        }
        let mut ids = self.meta::<Vec<PlanId>>(IDS).await?.unwrap_or_default();
        if !ids.contains(&plan.id) {
            ids.push(plan.id.clone());
            self.set_meta(IDS, &ids).await?;
        }
        Ok(())
    }

    /// The plan new records belong to.
    pub async fn set_current_plan(&self, id: &PlanId) -> Result<()> {
        self.set_meta(CURRENT, id).await
    }

    /// The plan of the records this phone holds without one (empty on a phone that never did).
    pub async fn legacy_plan(&self) -> Result<PlanId> {
        Ok(self.meta(LEGACY).await?.unwrap_or_default())
    }
}
