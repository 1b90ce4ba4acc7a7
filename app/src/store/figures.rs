//! The last figures the phone read from the server for a unit under a plan, kept in the `meta`
//! store (`figures:<plan>:<unit>`) with when they were read, so that a phone which reads its
//! scope from the server ([`shequ_model::auth::Holding::Read`]) still shows them offline, dated.

use super::{Db, Result};
use serde::{Deserialize, Serialize};
use shequ_model::plan::PlanId;
use shequ_model::rollup::Report;

/// Figures as read from the server, and when (epoch milliseconds).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KeptFigures {
    pub report: Report,
    pub read_at: u64,
}

fn key(plan: &PlanId, unit: &str) -> String {
    format!("figures:{plan}:{unit}")
}

impl Db {
    /// Keeps the figures of `unit` read at `read_at`, unless figures read later are kept already
    /// (an answer that arrives late does not hide a newer one).
    pub async fn keep_figures(&self, unit: &str, report: &Report, read_at: u64) -> Result<()> {
        let key = key(&report.plan, unit);
        if let Some(kept) = self.meta::<KeptFigures>(&key).await? {
            if kept.read_at > read_at {
                return Ok(());
            }
        }
        let kept = KeptFigures {
            report: report.clone(),
            read_at,
        };
        self.set_meta(&key, &kept).await
    }

    /// The last figures kept for `unit` under `plan`.
    pub async fn kept_figures(&self, unit: &str, plan: &PlanId) -> Result<Option<KeptFigures>> {
        self.meta(&key(plan, unit)).await
    }
}
