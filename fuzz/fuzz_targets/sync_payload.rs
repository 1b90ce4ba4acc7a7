//! Decoding what a device sends and gets: a push batch (and each change validated against the 2018
//! plan, hashed and keyed, as the server does), a pull page, a checksum. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shequ_model::record::{validate_content, validate_transition};
use shequ_model::sync::{batch_hash, batch_key, Checksum, PullPage, PushRequest, PushResponse};
use shequ_model::Plan;
use std::sync::OnceLock;

fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| Plan::parse("plan-2018.toml", include_str!("../../seeds/plan-2018.toml")).expect("the seed plan is valid"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = serde_json::from_slice::<PushRequest>(data) {
        let _ = batch_key(&req.changes);
        let _ = batch_hash(&req.changes);
        for c in &req.changes {
            if let Some(form) = plan().form(&c.form) {
                let _ = validate_content(plan(), form, &c.content);
                let _ = validate_transition(form, &c.content, &c.content);
            }
        }
        let state = shequ_model::merge::RecordState::from_revisions(req.changes.iter().cloned());
        let _ = state.winner();
        let _ = state.in_conflict();
    }
    let _ = serde_json::from_slice::<PullPage>(data);
    let _ = serde_json::from_slice::<PushResponse>(data);
    let _ = serde_json::from_slice::<Checksum>(data);
});
