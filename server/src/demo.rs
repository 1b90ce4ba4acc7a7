//! Demo mode's year of work: an empty county filled with a year of plausible records of each
//! plan kept, so that every page a newcomer opens has figures, targets, rankings and months.
//!
//! The records follow the plan's forms (their options, number bounds, period and steps), taking
//! texts from a values file (`seeds/demo/records.toml`); the same file gives the same records every time.
//! They are stored as the villages' and towns' demo accounts would sync them, through
//! [`Store::push`] — the plan's validation, the merge and the figures kept in the same
//! transaction — and some are edited once afterwards, so that histories have two revisions. The
//! towns' targets the plan leaves open are set as the county would type them on the target page
//! ([`crate::edit_targets`]), near what each town reaches.

use crate::store::{Author, PlanBook, PushAnswer, Store, StoreError};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use shequ_model::area::{Area, Level};
use shequ_model::month::{china_date, china_midnight};
use shequ_model::plan::{Check, Field, FieldKind, Form, Plan};
use shequ_model::record::{validate_content, Content, Revision, StatusValue};
use shequ_model::sync::{Hlc, PushOutcome, MAX_PUSH_BATCH};
use shequ_model::UnitCode;
use std::collections::BTreeMap;
use std::path::Path;
use uuid::Uuid;

/// The device the demo's records say they were made on.
pub const DEMO_DEVICE: &str = "演示数据";
const DAY_MS: i64 = 86_400_000;

/// What the demo's records are made of: how many of each form per unit, and values to take.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct DemoValues {
    /// The same seed, the same records.
    pub seed: u64,
    /// The share of villages (0 to 1) with records; towns all have theirs.
    pub share: f64,
    /// The share of records (0 to 1) whose statuses reach their last step; the others stop
    /// anywhere before.
    pub finished: f64,
    #[serde(default)]
    pub forms: BTreeMap<String, DemoForm>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct DemoForm {
    /// How many records of the form a unit has: at least, at most.
    pub records: [u32; 2],
    /// Field id → the values to pick from (`{单位}` stands for the unit's short name; `true` or
    /// `false` for a yes/no; options joined by `、` for a multiple choice). A field given values
    /// is always filled.
    #[serde(default)]
    pub fields: BTreeMap<String, Vec<String>>,
    /// Fields whose values are taken in turn rather than at random: a unit's first record takes
    /// the first, its second the second …
    #[serde(default)]
    pub in_turn: Vec<String>,
}

impl DemoValues {
    pub fn read(path: &Path) -> Result<DemoValues, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let values: DemoValues =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if !(0.0..=1.0).contains(&values.share) {
            return Err(format!(
                "{}: share must lie between 0 and 1",
                path.display()
            ));
        }
        if let Some((id, _)) = values
            .forms
            .iter()
            .find(|(_, f)| f.records[0] > f.records[1])
        {
            return Err(format!(
                "{}: forms.{id}.records: the least is more than the most",
                path.display()
            ));
        }
        Ok(values)
    }
}

/// What the demo stored.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DemoFilled {
    pub plans: usize,
    /// Units with records, once per plan.
    pub units: usize,
    pub records: usize,
    pub edits: usize,
    pub targets: usize,
}

impl std::fmt::Display for DemoFilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} records of {} plans in {} units, {} of them edited once, {} towns' targets",
            self.records, self.plans, self.units, self.edits, self.targets
        )
    }
}

/// Why the demo could not be filled.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A made record the store refused: the values file or this module is wrong for the plan.
    #[error("a demo record of {form} in {unit} was refused: {reason}")]
    Refused {
        form: String,
        unit: String,
        reason: String,
    },
    #[error("the demo's targets were refused: {0}")]
    Targets(String),
}

/// Fills the county with a year of records of every plan kept (of the current plan's county),
/// when no record is stored in it yet; none (`Ok(None)`) when it has some: a restarted demo
/// keeps what it holds.
pub async fn fill(
    store: &dyn Store,
    plans: &PlanBook,
    values: &DemoValues,
) -> Result<Option<DemoFilled>, DemoError> {
    let county = plans.plans.current().county.clone();
    if store.checksum(&county).await?.count > 0 {
        return Ok(None);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(values.seed);
    let mut filled = DemoFilled::default();
    let mut areas = store.areas(&county).await?;
    areas.sort_by(|a, b| a.code.cmp(&b.code));
    let mut years: Vec<&std::sync::Arc<Plan>> =
        plans.plans.iter().filter(|p| p.county == county).collect();
    years.sort_by_key(|p| p.year);
    for plan in years {
        for area in &areas {
            let prefix = match area.level {
                Level::Village if rng_chance(&mut rng, values.share) => "village",
                Level::Town => "town",
                _ => continue,
            };
            let made = unit_year(plan, values, area, &mut rng);
            if made.created.is_empty() {
                continue;
            }
            let by = Author {
                account: format!("{prefix}-{}", area.code),
                device: DEMO_DEVICE.into(),
            };
            // The edits name revisions of the first pushes as their parents: they go after them.
            for changes in [&made.created, &made.edits] {
                for batch in changes.chunks(MAX_PUSH_BATCH) {
                    push(store, plans, &by, batch, area).await?;
                }
            }
            filled.units += 1;
            filled.records += made.created.len();
            filled.edits += made.edits.len();
        }
        filled.targets += set_targets(store, plan, &mut rng).await?;
        filled.plans += 1;
    }
    Ok(Some(filled))
}

async fn push(
    store: &dyn Store,
    plans: &PlanBook,
    by: &Author,
    batch: &[Revision],
    area: &Area,
) -> Result<(), DemoError> {
    let results = match store.push(plans, by, None, batch).await? {
        PushAnswer::Applied(r) | PushAnswer::Replayed(r) => r,
        PushAnswer::KeyReused => unreachable!("the demo pushes without keys"),
    };
    for (r, change) in results.iter().zip(batch) {
        if let PushOutcome::Rejected { reason, errors } = &r.outcome {
            let fields: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            return Err(DemoError::Refused {
                form: change.form.clone(),
                unit: area.code.clone(),
                reason: format!("{reason} {}", fields.join("; ")),
            });
        }
    }
    Ok(())
}

/// The towns' targets the plan leaves open, each near what the town reaches (some above, some
/// below), typed as the county would on the target page.
async fn set_targets(
    store: &dyn Store,
    plan: &Plan,
    rng: &mut ChaCha8Rng,
) -> Result<usize, DemoError> {
    let Some(report) = crate::store::report(store, plan, &plan.county, None).await? else {
        return Ok(0);
    };
    let mut edits = Vec::new();
    for town in &report.children {
        for cell in &town.cells {
            let Some(ind) = plan.indicator(&cell.indicator) else {
                continue;
            };
            if cell.target.is_some() || cell.kind != shequ_model::rollup::CellKind::Number {
                continue;
            }
            let reached = cell.value.unwrap_or(0.0);
            // From three quarters to one and a half of the figure: a ranking with some towns
            // ahead and some behind.
            let factor = 0.75 + (rng.next_u32() % 76) as f64 / 100.0;
            let target = (reached * factor).round().max(1.0);
            let target = if plan.counts_whole(ind) {
                target
            } else {
                (reached * factor * 10.0).round().max(10.0) / 10.0
            };
            edits.push(shequ_model::table::TargetEdit {
                indicator: ind.id.clone(),
                town: town.area.code.clone(),
                min: target,
            });
        }
    }
    let by = Author {
        account: "county".into(),
        device: DEMO_DEVICE.into(),
    };
    match crate::edit_targets(store, plan, &edits, &by).await {
        Ok(changes) => Ok(changes.len()),
        Err(crate::TargetImportError::Store(e)) => Err(e.into()),
        Err(e @ crate::TargetImportError::NoCounty(..)) => Err(DemoError::Targets(e.to_string())),
        Err(crate::TargetImportError::Cells(cells)) => Err(DemoError::Targets(
            cells
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}

/// A unit's year: its new records, and edits of some of them.
struct UnitYear {
    created: Vec<Revision>,
    edits: Vec<Revision>,
}

fn unit_year(plan: &Plan, values: &DemoValues, area: &Area, rng: &mut ChaCha8Rng) -> UnitYear {
    let unit = UnitCode::parse(&area.code).expect("a stored area has a unit code");
    let period = plan.period();
    let (from, to) = (
        china_midnight(&period.from).expect("a plan's period is dated"),
        china_midnight(&period.to).expect("a plan's period is dated"),
    );
    let days = ((to - from) / DAY_MS + 1).max(1) as u64;
    let name = short_name(&area.name);
    let mut year = UnitYear {
        created: vec![],
        edits: vec![],
    };
    // Records of register forms by form id, for the person fields that name them.
    let mut registers: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
    let mut counter: u16 = 0;
    for form in plan.forms.iter().filter(|f| f.level == area.level) {
        let given = values.forms.get(&form.id);
        let [least, most] = given.map(|g| g.records).unwrap_or([1, 3]);
        let n = least + rng.next_u32() % (most - least + 1);
        for nth in 0..n as usize {
            let made = Maker {
                plan,
                form,
                given,
                nth,
                finished: values.finished,
                name: &name,
                from,
                days,
                registers: &registers,
            };
            // A made record is checked as the phone checks it; a few tries find one that passes
            // a check across fields the values happen to break.
            let Some((content, day)) = (0..8).find_map(|_| made.content(rng)) else {
                continue;
            };
            let at =
                from + day as i64 * DAY_MS + 9 * 3_600_000 + (rng.next_u32() % 28_800_000) as i64;
            counter = counter.wrapping_add(1);
            let record = uuid_at(at, rng);
            let first = Revision {
                record,
                rev: uuid_at(at, rng),
                parent: None,
                resolves: vec![],
                device: DEMO_DEVICE.into(),
                clock: Hlc::pack(at as u64, counter),
                plan: plan.id.clone(),
                form: form.id.clone(),
                unit: unit.clone(),
                deleted: false,
                content,
            };
            if let Some(edit) = made.next_step(&first, to, rng) {
                year.edits.push(edit);
            }
            registers.entry(form.id.as_str()).or_default().push(record);
            year.created.push(first);
        }
    }
    year
}

/// A unit's name as its people say it: 西官村委会 → 西官村, 飞凤社区居委会 → 飞凤社区.
fn short_name(name: &str) -> String {
    name.strip_suffix("居委会")
        .or_else(|| name.strip_suffix("委会"))
        .unwrap_or(name)
        .to_owned()
}

fn rng_chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    (rng.next_u32() as f64) < p * (u32::MAX as f64 + 1.0)
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, from: &'a [T]) -> Option<&'a T> {
    (!from.is_empty()).then(|| &from[rng.next_u32() as usize % from.len()])
}

/// A UUIDv7 of the moment `ms`: the record was made then, and counts in its month when it has no
/// date of its own.
fn uuid_at(ms: i64, rng: &mut ChaCha8Rng) -> Uuid {
    let mut bytes = [0u8; 10];
    rng.fill_bytes(&mut bytes);
    uuid::Builder::from_unix_timestamp_millis(ms as u64, &bytes).into_uuid()
}

/// What one record of a form is made from.
struct Maker<'a> {
    plan: &'a Plan,
    form: &'a Form,
    given: Option<&'a DemoForm>,
    /// Which of the unit's records of the form this is, from 0.
    nth: usize,
    finished: f64,
    name: &'a str,
    /// The period's first moment, and its length in days.
    from: i64,
    days: u64,
    registers: &'a BTreeMap<&'a str, Vec<Uuid>>,
}

impl Maker<'_> {
    /// A record's content and the day of the period it was made, or none when the one made does
    /// not pass the form's checks.
    fn content(&self, rng: &mut ChaCha8Rng) -> Option<(Content, u64)> {
        let day = rng.next_u64() % self.days;
        let mut content = Content::new();
        let done = rng_chance(rng, self.finished);
        for field in &self.form.fields {
            let given = self.given.is_some_and(|g| g.fields.contains_key(&field.id));
            if !field.required && !given && !rng_chance(rng, 0.75) {
                continue;
            }
            if let Some(v) = self.value(field, day, done, rng) {
                content.insert(field.id.clone(), v);
            }
        }
        for check in &self.form.checks {
            if let Check::Total { total, parts } = check {
                let sum: Option<f64> = parts
                    .iter()
                    .map(|p| content.get(p).and_then(Value::as_f64))
                    .sum();
                match sum {
                    Some(sum) => content.insert(total.clone(), json!(sum)),
                    None => content.remove(total),
                };
            }
        }
        validate_content(self.plan, self.form, &content).ok()?;
        Some((content, day))
    }

    fn date(&self, day: u64) -> String {
        china_date(self.from + day.min(self.days - 1) as i64 * DAY_MS)
    }

    fn value(&self, field: &Field, day: u64, done: bool, rng: &mut ChaCha8Rng) -> Option<Value> {
        let given = self
            .given
            .and_then(|g| g.fields.get(&field.id))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let in_turn = self.given.is_some_and(|g| g.in_turn.contains(&field.id));
        let said = match in_turn {
            true if !given.is_empty() => Some(&given[self.nth % given.len()]),
            _ => pick(rng, given),
        }
        .map(|v| v.replace("{单位}", self.name));
        Some(match field.kind {
            // A demo record has no photo to show.
            FieldKind::Photos => return None,
            FieldKind::Text | FieldKind::LongText => {
                let text =
                    said.unwrap_or_else(|| format!("{}{}", field.label, 1 + rng.next_u32() % 20));
                let most = field.max_len.unwrap_or(u32::MAX) as usize;
                json!(text.chars().take(most).collect::<String>())
            }
            FieldKind::Choice => json!(said.or_else(|| pick(rng, &field.options).cloned())?),
            FieldKind::MultiChoice if said.is_some() => {
                json!(said?.split('、').collect::<Vec<_>>())
            }
            FieldKind::MultiChoice => {
                let n = 1 + rng.next_u32() as usize % field.options.len().clamp(1, 3);
                let mut chosen: Vec<&String> = Vec::new();
                for _ in 0..n * 3 {
                    let o = pick(rng, &field.options)?;
                    if !chosen.contains(&o) && chosen.len() < n {
                        chosen.push(o);
                    }
                }
                // In the form's order, as the phone writes them.
                let chosen: Vec<&String> = field
                    .options
                    .iter()
                    .filter(|o| chosen.contains(o))
                    .collect();
                json!(chosen)
            }
            FieldKind::YesNo => json!(said.map_or_else(|| rng_chance(rng, 0.7), |s| s == "true")),
            FieldKind::Number => match said.and_then(|s| s.parse::<f64>().ok()) {
                Some(n) => json!(n),
                None => json!(self.number(field, rng)),
            },
            FieldKind::Date => {
                if field.allow_earlier && rng_chance(rng, 0.4) {
                    // Before the plan: a volunteer who joined, an organisation filed, years ago.
                    let back = 30 + rng.next_u64() % 1000;
                    json!(china_date(self.from - back as i64 * DAY_MS))
                } else {
                    json!(self.date(day))
                }
            }
            FieldKind::Person => {
                json!(pick(rng, self.registers.get(field.register.as_str())?)?.to_string())
            }
            FieldKind::Status => {
                let start = field.states.first()?;
                let mut state = StatusValue {
                    state: start.clone(),
                    dates: BTreeMap::new(),
                };
                let mut on = day;
                if field.dated {
                    state.dates.insert(start.clone(), self.date(on));
                }
                let steps = match done {
                    true => field.states.len() - 1,
                    false => rng.next_u32() as usize % field.states.len(),
                };
                for _ in 0..steps {
                    on += 1 + rng.next_u64() % 20;
                    if on >= self.days || !step(field, &mut state, self.date(on)) {
                        break;
                    }
                }
                serde_json::to_value(state).expect("a status is JSON")
            }
        })
    }

    fn number(&self, field: &Field, rng: &mut ChaCha8Rng) -> f64 {
        let (usual_low, usual_high) = match field.unit.as_str() {
            "人" => (6.0, 60.0),
            "户" => (60.0, 600.0),
            "平方米" => (40.0, 600.0),
            "小时" | "课时" => (1.0, 8.0),
            _ => (1.0, 20.0),
        };
        let low = field.min.map_or(usual_low, |m| m.max(usual_low));
        let high = field.max.map_or(usual_high, |m| m.min(usual_high)).max(low);
        let x = low + (high - low) * (rng.next_u32() as f64 / u32::MAX as f64);
        if field.integer {
            x.round()
        } else {
            (x * 2.0).round() / 2.0
        }
    }

    /// The same record a step further along one of its statuses, some weeks later, by the same
    /// worker: an edit, for the history. None for a record with no status left to move, or most
    /// of the time.
    fn next_step(&self, first: &Revision, to: i64, rng: &mut ChaCha8Rng) -> Option<Revision> {
        if !rng_chance(rng, 0.3) {
            return None;
        }
        let field = self
            .form
            .fields
            .iter()
            .find(|f| f.kind == FieldKind::Status)?;
        let mut state: StatusValue =
            serde_json::from_value(first.content.get(&field.id)?.clone()).ok()?;
        let last = state.dates.values().max().cloned();
        let at = Hlc::millis(first.clock) as i64 + (7 + rng.next_u64() % 30) as i64 * DAY_MS;
        if at > to {
            return None;
        }
        let on = china_date(at);
        if last.is_some_and(|l| l > on) || !step(field, &mut state, on) {
            return None;
        }
        let mut content = first.content.clone();
        content.insert(
            field.id.clone(),
            serde_json::to_value(state).expect("a status is JSON"),
        );
        validate_content(self.plan, self.form, &content).ok()?;
        Some(Revision {
            rev: uuid_at(at, rng),
            parent: Some(first.rev),
            clock: Hlc::pack(at as u64, 0),
            content,
            ..first.clone()
        })
    }
}

/// Moves a status one step along the form's first transition from where it stands, dated `on`
/// when the field is dated; false when no step is left.
fn step(field: &Field, state: &mut StatusValue, on: String) -> bool {
    let Some([_, next]) = field
        .transitions
        .iter()
        .find(|[from, _]| *from == state.state)
    else {
        return false;
    };
    state.state = next.clone();
    if field.dated {
        state.dates.insert(next.clone(), on);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_is_called_as_its_people_call_it() {
        assert_eq!(short_name("西官村委会"), "西官村");
        assert_eq!(short_name("飞凤社区居委会"), "飞凤社区");
        assert_eq!(short_name("城关街道"), "城关街道");
    }
}
