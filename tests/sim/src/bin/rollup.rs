//! The roll-up benchmark: a province of the synthetic national division file (about 20,000
//! village-level units) rolled up in process from figures kept for some of its villages, as the
//! server rolls up a province's report once the kept figures are read; and the same report
//! recomputed from the villages' records. No database and no HTTP: the figure is the arithmetic
//! alone, which is what a wide report's time was found to be made of. The two must give the same
//! report, or the command fails.
//!
//! `cargo build --release -p shequ-sim && target/release/rollup [villages with records] [asks]`

use shequ_model::area::{Area, AreaTree, Level};
use shequ_model::plan::Plan;
use shequ_model::rollup::{unit_figures, Report, Rollups, UnitFigures};
use shequ_model::Revision;
use shequ_sim::bench::{case, machine, numbers_given, p50_max};
use shequ_sim::national::national_rows;
use shequ_sim::rng::Rng;
use shequ_sim::server::workspace;
use std::time::{Duration, Instant};

const PROVINCE: &str = "11";
const CASES_PER_VILLAGE: usize = 25;

fn main() {
    let args = numbers_given();
    let with_records = args.first().copied().unwrap_or(300);
    let asks = args.get(1).copied().unwrap_or(20).max(1);
    let plan = Plan::parse(
        "plan-2019.toml",
        &std::fs::read_to_string(workspace().join("seeds/plan-2019.toml")).unwrap(),
    )
    .unwrap();
    let mut areas = Vec::new();
    national_rows(|r| {
        if r.code.starts_with(PROVINCE) {
            areas.push(Area {
                code: r.code.to_owned(),
                name: r.name.to_owned(),
                level: Level::parse(r.level).unwrap(),
                parent: r.parent.to_owned(),
            });
        }
        Ok(())
    })
    .unwrap();
    let villages: Vec<String> = areas
        .iter()
        .filter(|a| a.level == Level::Village)
        .map(|a| a.code.clone())
        .collect();
    let tree = AreaTree::new(areas);
    let every = (villages.len() / with_records.max(1)).max(1);
    let mut rng = Rng::new(9);
    let mut records: Vec<Revision> = Vec::new();
    let mut kept = UnitFigures::new();
    for v in villages.iter().step_by(every).take(with_records) {
        let mine: Vec<Revision> = (0..CASES_PER_VILLAGE).map(|_| case(&mut rng, v)).collect();
        kept.insert(
            v.clone(),
            unit_figures(&plan, Level::Village, v, &mine)
                .into_iter()
                .collect(),
        );
        records.extend(mine);
    }
    println!("{}", machine());
    println!(
        "province {PROVINCE}: {} units, {} villages, {} with records ({} cases), plan {}, {} indicators",
        tree.len(),
        villages.len(),
        kept.len(),
        records.len(),
        plan.id,
        plan.indicators.len()
    );
    let (served, kept_times) = timed(asks, || {
        Rollups::from_figures(&plan, &tree, &kept).report(PROVINCE)
    });
    let (scratch, scratch_times) = timed(asks.min(3), || {
        Rollups::new(&plan, &tree, &records).report(PROVINCE)
    });
    assert_eq!(
        served, scratch,
        "the kept figures give another report than the records"
    );
    let (p50, max) = p50_max(kept_times);
    let (s50, smax) = p50_max(scratch_times);
    println!(
        "province report from kept figures ({asks} times): p50 {p50:.2} ms, max {max:.2} ms; \
         from the records: p50 {s50:.2} ms, max {smax:.2} ms"
    );
}

/// The last of `n` reports made by `report` (at least one), and how long each took.
fn timed(n: usize, report: impl Fn() -> Option<Report>) -> (Report, Vec<Duration>) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..n.max(1) {
        let t = Instant::now();
        last = report();
        times.push(t.elapsed());
    }
    (last.expect("the province is in the tree"), times)
}
