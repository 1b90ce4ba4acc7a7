//! Records, their revisions, and the validation of a record's content against its form.
//!
//! Validation lives only here: the form in the browser and the server's push handler call the
//! same [`validate_content`], so a record the phone accepts is a record the server accepts.

use crate::area::UnitCode;
use crate::plan::{Check, Condition, Field, FieldKind, Form, Period, Plan, PlanId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A record's content: field id → value. Wire format: stable.
pub type Content = BTreeMap<String, Value>;

/// One revision of a record: every change, a creation, an edit or a delete, is one.
/// Wire format: stable. Ids are made on the device (UUIDv7), so a record exists before the server
/// has seen it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Revision {
    pub record: Uuid,
    pub rev: Uuid,
    /// The revision this one was made from; none for a new record.
    #[serde(default)]
    pub parent: Option<Uuid>,
    /// Conflicting revisions this one settles: a user saw them and chose (see [`crate::merge`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolves: Vec<Uuid>,
    /// The device that made it.
    pub device: String,
    /// Hybrid logical clock (see [`crate::sync::Hlc`]).
    pub clock: u64,
    /// The plan the record belongs to, for life (see [`plan_of`]). Left out of the JSON when
    /// empty, so a revision made before records carried a plan hashes as it did then.
    #[serde(default, skip_serializing_if = "PlanId::is_empty")]
    pub plan: PlanId,
    pub form: String,
    /// The org unit the record belongs to.
    pub unit: UnitCode,
    #[serde(default)]
    pub deleted: bool,
    pub content: Content,
}

impl Revision {
    /// SHA-256 over the canonical JSON of the revision (object keys sorted), hex. Binds an
    /// idempotency key (the revision id) to its content.
    pub fn content_hash(&self) -> String {
        sha256_hex(self.canonical_json().as_bytes())
    }

    /// The revision as JSON with every object's keys sorted: what [`Revision::content_hash`]
    /// hashes, and a text that reads back as the same revision.
    pub fn canonical_json(&self) -> String {
        // Written straight from the revision, its fields in key order, when its content's objects
        // hold their keys sorted (serde_json's own maps do): the same text as the value tree
        // sorted, without building the tree.
        if self.content.values().all(sorted) {
            return serde_json::to_string(&Canonical::of(self)).expect("a revision is JSON");
        }
        let mut value = serde_json::to_value(self).expect("a revision is JSON");
        canonical(&mut value);
        serde_json::to_string(&value).expect("JSON encodes")
    }

    /// Which of two heads of a record wins (see [`crate::merge::RecordState::winner`]): the
    /// higher clock, and the higher revision id breaks a tie.
    pub fn precedence(&self) -> (u64, Uuid) {
        (self.clock, self.rev)
    }
}

/// The plan a revision belongs to: its own when it names one; else the plan of its record as
/// already stored; else `legacy`, the plan that was loaded when records carried no plan (the
/// server keeps it from its upgrade, the phone from its own). Every store applies this rule.
pub fn plan_of(rev: &Revision, stored: Option<&PlanId>, legacy: &PlanId) -> PlanId {
    if !rev.plan.is_empty() {
        rev.plan.clone()
    } else {
        stored.unwrap_or(legacy).clone()
    }
}

/// A record stays in the plan it was made in: a revision naming another plan is refused.
pub fn same_plan(stored: &PlanId, rev: &PlanId) -> Result<(), String> {
    if rev.is_empty() || stored == rev {
        Ok(())
    } else {
        Err(format!("这条记录属于计划“{stored}”,不能改到计划“{rev}”"))
    }
}

/// A revision's fields in the order of their names, as [`Revision::canonical_json`] writes them;
/// the same fields left out as [`Revision`]'s own JSON leaves out.
#[derive(Serialize)]
struct Canonical<'a> {
    clock: u64,
    content: &'a Content,
    deleted: bool,
    device: &'a str,
    form: &'a str,
    parent: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<&'a PlanId>,
    record: Uuid,
    #[serde(skip_serializing_if = "<[Uuid]>::is_empty")]
    resolves: &'a [Uuid],
    rev: Uuid,
    unit: &'a UnitCode,
}

impl<'a> Canonical<'a> {
    fn of(r: &'a Revision) -> Self {
        Canonical {
            clock: r.clock,
            content: &r.content,
            deleted: r.deleted,
            device: &r.device,
            form: &r.form,
            parent: r.parent,
            plan: Some(&r.plan).filter(|p| !p.is_empty()),
            record: r.record,
            resolves: &r.resolves,
            rev: r.rev,
            unit: &r.unit,
        }
    }
}

/// Whether every object within `v` holds its keys sorted.
fn sorted(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            m.keys().zip(m.keys().skip(1)).all(|(a, b)| a < b) && m.values().all(sorted)
        }
        Value::Array(a) => a.iter().all(sorted),
        _ => true,
    }
}

/// SHA-256 of some bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn canonical(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.values_mut().for_each(canonical);
            // Already sorted unless serde_json keeps insertion order (its `preserve_order`).
            if !m.keys().zip(m.keys().skip(1)).all(|(a, b)| a < b) {
                let sorted: BTreeMap<String, Value> = std::mem::take(m).into_iter().collect();
                *m = sorted.into_iter().collect();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(canonical),
        _ => {}
    }
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A problem with one field of a record; `message` is Chinese, for the worker. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// A status value: the current state and the date each state was reached.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct StatusValue {
    pub state: String,
    #[serde(default)]
    pub dates: BTreeMap<String, String>,
}

/// The dates of a status value read where it lies, as [`StatusValue`] reads them: none where
/// deserializing a [`StatusValue`] from it fails. Counting a record's month asks this of every
/// record a figure counts, and a [`StatusValue`] would copy its dates each time.
#[derive(Clone, Copy, Debug)]
pub struct StatusDates<'v>(Option<&'v serde_json::Map<String, Value>>);

impl<'v> StatusDates<'v> {
    pub fn of(v: &'v Value) -> Option<Self> {
        // A struct deserializes from an object by its fields' names (others ignored), or from an
        // array of its fields in order, the defaulted last one optional.
        let (state, dates) = match v {
            Value::Object(o) => (o.get("state")?, o.get("dates")),
            Value::Array(a) if (1..=2).contains(&a.len()) => (&a[0], a.get(1)),
            _ => return None,
        };
        state.as_str()?;
        match dates {
            None => Some(StatusDates(None)),
            Some(Value::Object(d)) if d.values().all(Value::is_string) => {
                Some(StatusDates(Some(d)))
            }
            Some(_) => None,
        }
    }

    /// The date `state` was reached, as written.
    pub fn get(&self, state: &str) -> Option<&'v str> {
        self.0?.get(state)?.as_str()
    }
}

/// Whether `s` is a real calendar date written `YYYY-MM-DD`.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if !s[0..4]
        .bytes()
        .chain(s[5..7].bytes())
        .chain(s[8..10].bytes())
        .all(|c| c.is_ascii_digit())
    {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2200).contains(&y) && (1..=days).contains(&d)
}

/// A date (`YYYY-MM-DD`, as [`is_date`] takes it) as a number of days: two dates' difference is
/// the days between them.
pub fn day_number(s: &str) -> Option<i64> {
    if !is_date(s) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (
        s[0..4].parse().ok()?,
        s[5..7].parse().ok()?,
        s[8..10].parse().ok()?,
    );
    // Days from 0000-03-01, counting each year from March so that the leap day ends it.
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    Some(365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d - 1)
}

pub(crate) fn check_field(f: &Field, v: &Value, period: &Period) -> Result<(), String> {
    use FieldKind::*;
    match f.kind {
        Text | LongText => {
            let s = v.as_str().ok_or("应为文字")?;
            if s.trim().is_empty() && f.required {
                return Err("必填".into());
            }
            let limit = f.max_len.unwrap_or(if f.kind == Text { 200 } else { 5000 });
            if s.chars().count() > limit as usize {
                return Err(format!("不能超过{limit}个字"));
            }
        }
        Number => {
            let n = v.as_f64().ok_or("应为数字")?;
            if !n.is_finite() {
                return Err("应为数字".into());
            }
            if f.integer && n.fract() != 0.0 {
                return Err("应为整数".into());
            }
            let (lo, hi) = f.bounds();
            if n < lo {
                return Err(format!("不能小于{lo}"));
            }
            if n > hi {
                return Err(format!("不能大于{hi}"));
            }
        }
        Date => {
            let s = v.as_str().ok_or("应为日期")?;
            if !is_date(s) {
                return Err("日期格式应为 年-月-日,如 2018-06-01".into());
            }
            if !period.holds(s, f.allow_earlier) {
                return Err(outside(period, f.allow_earlier));
            }
        }
        Choice => {
            let s = v.as_str().ok_or("应为选项之一")?;
            if !f.options.iter().any(|o| o == s) {
                return Err(format!("“{s}”不是可选项"));
            }
        }
        MultiChoice => {
            let a = v.as_array().ok_or("应为选项列表")?;
            let mut seen = std::collections::HashSet::new();
            for x in a {
                let s = x.as_str().ok_or("应为选项列表")?;
                if !f.options.iter().any(|o| o == s) {
                    return Err(format!("“{s}”不是可选项"));
                }
                if !seen.insert(s) {
                    return Err(format!("“{s}”重复"));
                }
            }
            if a.is_empty() && f.required {
                return Err("至少选一项".into());
            }
        }
        YesNo => {
            v.as_bool().ok_or("应为是或否")?;
        }
        Photos => {
            crate::photo::check_field_value(v)?;
            if f.required && v.as_array().is_some_and(|a| a.is_empty()) {
                return Err("至少一张照片".into());
            }
        }
        Person => {
            let s = v.as_str().ok_or("应选择一名人员")?;
            Uuid::parse_str(s).map_err(|_| "应选择一名人员".to_string())?;
        }
        Status => {
            let st = StatusValue::deserialize(v).map_err(|_| "状态格式不对".to_string())?;
            if !f.states.contains(&st.state) {
                return Err(format!("“{}”不是可用的状态", st.state));
            }
            for (k, d) in &st.dates {
                if !f.states.contains(k) {
                    return Err(format!("“{k}”不是可用的状态"));
                }
                if !is_date(d) {
                    return Err(format!("“{k}”的日期格式应为 年-月-日"));
                }
                if !period.holds(d, f.allow_earlier) {
                    return Err(format!("“{k}”的{}", outside(period, f.allow_earlier)));
                }
            }
            if f.dated && !st.dates.contains_key(&st.state) {
                return Err(format!("请填写“{}”的日期", st.state));
            }
        }
    }
    Ok(())
}

/// What a date of a record is the date of, for a message.
enum Dated<'a> {
    /// A date field, by its label.
    Field(&'a str),
    /// A step of a dated status.
    Step(&'a str),
}

impl std::fmt::Display for Dated<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dated::Field(label) => write!(f, "“{label}”"),
            Dated::Step(state) => write!(f, "“{state}”的日期"),
        }
    }
}

fn outside(period: &Period, earlier_ok: bool) -> String {
    if earlier_ok {
        format!("日期不能晚于{}(计划期截止日)", period.to)
    } else {
        format!("日期应在计划期内({} 至 {})", period.from, period.to)
    }
}

/// Checks a record's content against its form in `plan`: every required field present, every
/// value of the right kind and inside the plan's bounds and period, no field the form does not
/// have, and the form's checks over several fields. Returns every problem at once.
pub fn validate_content(
    plan: &Plan,
    form: &Form,
    content: &Content,
) -> Result<(), Vec<FieldError>> {
    let period = plan.period();
    let mut errors = Vec::new();
    for key in content.keys() {
        if form.field(key).is_none() {
            errors.push(FieldError {
                field: key.clone(),
                message: "表单中没有这一项".into(),
            });
        }
    }
    for f in &form.fields {
        match content.get(&f.id) {
            None | Some(Value::Null) => {
                if f.required {
                    errors.push(FieldError {
                        field: f.id.clone(),
                        message: "必填".into(),
                    });
                }
            }
            Some(v) => {
                if let Err(m) = check_field(f, v, &period) {
                    errors.push(FieldError {
                        field: f.id.clone(),
                        message: m,
                    });
                }
            }
        }
    }
    // A check reads only values that passed their own field's check: a wrong value is reported
    // once, on its field.
    let good = |id: &str| {
        let v = content.get(id).filter(|v| !v.is_null())?;
        let f = form.field(id)?;
        check_field(f, v, &period).is_ok().then_some((f, v))
    };
    for c in &form.checks {
        match c {
            Check::DatesInOrder { fields } => {
                // (field, what is dated: a date field's label or a step, date), in the order the
                // dates must follow; what is dated is written out only for a message.
                let mut dates: Vec<(&str, Dated, &str)> = Vec::new();
                for id in fields {
                    let Some((f, v)) = good(id) else { continue };
                    match (f.kind, v) {
                        (FieldKind::Date, Value::String(d)) => {
                            dates.push((&f.id, Dated::Field(&f.label), d))
                        }
                        (FieldKind::Status, Value::Object(o)) => {
                            let Some(Value::Object(steps)) = o.get("dates") else {
                                continue;
                            };
                            for state in &f.states {
                                if let Some(Value::String(d)) = steps.get(state) {
                                    dates.push((&f.id, Dated::Step(state), d));
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let mut latest: Option<&(&str, Dated, &str)> = None;
                let mut blamed = std::collections::HashSet::new();
                for item in &dates {
                    match latest {
                        Some(before) if item.2 < before.2 => {
                            if blamed.insert(item.0) {
                                errors.push(FieldError {
                                    field: item.0.to_string(),
                                    message: format!(
                                        "{}({})不能早于{}({})",
                                        item.1, item.2, before.1, before.2
                                    ),
                                });
                            }
                        }
                        _ => latest = Some(item),
                    }
                }
            }
            Check::Total { total, parts } => {
                let number = |id: &str| good(id).and_then(|(_, v)| v.as_f64());
                let Some(t) = number(total) else { continue };
                let Some(sum) = parts.iter().map(|p| number(p)).sum::<Option<f64>>() else {
                    continue;
                };
                // Decimals typed as text do not add up exactly in binary: allow for rounding.
                if (t - sum).abs() > 1e-9 * t.abs().max(sum.abs()).max(1.0) {
                    let labels: Vec<String> = parts
                        .iter()
                        .filter_map(|p| form.field(p))
                        .map(|f| format!("“{}”", f.label))
                        .collect();
                    errors.push(FieldError {
                        field: total.clone(),
                        message: format!("应等于{}之和({}),现为{t}", labels.join("与"), round(sum)),
                    });
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A sum shown to the worker without binary noise (0.1 + 0.2 shows as 0.3).
fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// What a tombstone (a deleted revision) may carry: nothing, the content it deletes (`from`, its
/// parent's), or content that passes [`validate_content`]. Anything else would let a device store
/// whatever it likes under a delete.
pub fn validate_tombstone(
    plan: &Plan,
    form: &Form,
    from: Option<&Content>,
    content: &Content,
) -> Result<(), Vec<FieldError>> {
    if content.is_empty() || from == Some(content) {
        return Ok(());
    }
    validate_content(plan, form, content)
}

/// Reads a number as a worker typed it into a number field; the form keeps the typed text and
/// calls this only on save. A Chinese keyboard or IME may give full-width digits (`１２`), a
/// full-width point (`．`, or `。` in Chinese punctuation mode) and a full-width minus: they count
/// as their ASCII forms. Only plain decimals are numbers: no exponent, no thousands separator,
/// no `inf`, so what is saved is what the worker sees. A whole number comes back as a JSON
/// integer (`1200`, not `1200.0`). Whether the field takes fractions or has bounds is
/// [`validate_content`]'s to say, after this.
pub fn parse_number(text: &str) -> Result<serde_json::Number, String> {
    let ascii: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' | '。' => '.',
            '－' | '−' => '-',
            c => c,
        })
        .collect();
    let digits = ascii.strip_prefix('-').unwrap_or(&ascii);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !plain(whole) || !plain(fraction) {
        return Err("应为数字".into());
    }
    let n: f64 = ascii.parse().map_err(|_| "应为数字".to_string())?;
    // Integers beyond 2^53 are not exact in an f64, nor in the JavaScript that shows them.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if n.fract() == 0.0 && n.abs() <= EXACT {
        return Ok(serde_json::Number::from(n as i64));
    }
    serde_json::Number::from_f64(n).ok_or_else(|| "数字太大".to_string())
}

/// Whether a status may move from `from` to `to`: staying put, or along a listed transition.
pub fn may_move(field: &Field, from: &str, to: &str) -> bool {
    from == to || field.transitions.iter().any(|[a, b]| a == from && b == to)
}

/// Checks that every status field of an edit moves along an allowed transition.
pub fn validate_transition(
    form: &Form,
    old: &Content,
    new: &Content,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    for f in form.fields.iter().filter(|f| f.kind == FieldKind::Status) {
        let state = |c: &Content| {
            c.get(&f.id)
                .and_then(|v| v.get("state"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if let (Some(a), Some(b)) = (state(old), state(new)) {
            if !may_move(f, &a, &b) {
                errors.push(FieldError {
                    field: f.id.clone(),
                    message: format!("不能从“{a}”改为“{b}”"),
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Whether a record's content satisfies every condition (used by indicators).
pub fn matches(form: &Form, content: &Content, conds: &[Condition]) -> bool {
    conds.iter().all(|c| {
        let v = content.get(&c.field);
        let field = form.field(&c.field);
        let scalar = |v: Option<&Value>| -> Option<Value> {
            match (field.map(|f| f.kind), v) {
                (Some(FieldKind::Status), Some(v)) => v.get("state").cloned(),
                (_, v) => v.cloned(),
            }
        };
        if let Some(want) = &c.is {
            return scalar(v).as_ref() == Some(want) || num_eq(scalar(v).as_ref(), want);
        }
        if let Some(list) = &c.any_of {
            let got = scalar(v);
            return list
                .iter()
                .any(|w| got.as_ref() == Some(w) || num_eq(got.as_ref(), w));
        }
        if let Some(h) = &c.has {
            return v
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(h)));
        }
        if let Some(lo) = c.at_least {
            return v.and_then(Value::as_f64).is_some_and(|n| n >= lo);
        }
        if let Some(s) = &c.reached {
            let (Some(f), Some(Value::String(cur))) = (field, scalar(v)) else {
                return false;
            };
            let pos = |x: &str| f.states.iter().position(|y| y == x);
            return matches!((pos(&cur), pos(s)), (Some(a), Some(b)) if a >= b);
        }
        false
    })
}

fn num_eq(a: Option<&Value>, b: &Value) -> bool {
    matches!((a.and_then(Value::as_f64), b.as_f64()), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_dates_read_what_a_status_value_reads() {
        let values = [
            json!({"state": "议题收集", "dates": {"议题收集": "2018-03-02", "实施": "2018-04-01"}}),
            json!({"state": "议题收集"}),
            json!({"state": "议题收集", "other": 1}),
            json!({"state": "议题收集", "dates": {}}),
            json!({"state": "议题收集", "dates": {"实施": 3}}),
            json!({"state": "议题收集", "dates": null}),
            json!({"state": "议题收集", "dates": ["2018-03-02"]}),
            json!({"state": 7, "dates": {"实施": "2018-04-01"}}),
            json!({"dates": {"实施": "2018-04-01"}}),
            json!(["实施"]),
            json!(["实施", {"实施": "2018-04-01"}]),
            json!(["实施", {"实施": "2018-04-01"}, 1]),
            json!(["实施", null]),
            json!([]),
            json!([3]),
            json!("实施"),
            json!(null),
            json!(3),
        ];
        for v in values {
            let whole = StatusValue::deserialize(&v).ok();
            let read = StatusDates::of(&v);
            assert_eq!(whole.is_some(), read.is_some(), "{v}");
            if let (Some(whole), Some(read)) = (whole, read) {
                for state in ["议题收集", "实施", "完成"] {
                    assert_eq!(
                        whole.dates.get(state).map(String::as_str),
                        read.get(state),
                        "{v}"
                    );
                }
            }
        }
    }

    use super::*;

    #[test]
    fn day_numbers_differ_by_the_days_between_dates() {
        let d = |s| day_number(s).unwrap();
        assert_eq!(d("2018-03-15") - d("2018-03-05"), 10);
        assert_eq!(d("2018-03-01") - d("2018-02-28"), 1);
        assert_eq!(d("2020-03-01") - d("2020-02-28"), 2, "a leap year");
        assert_eq!(d("2000-03-01") - d("2000-02-28"), 2, "2000 is a leap year");
        assert_eq!(d("1900-03-01") - d("1900-02-28"), 1, "1900 is not");
        assert_eq!(d("2019-01-01") - d("2018-01-01"), 365);
        assert_eq!(d("2018-12-31") - d("2018-01-01"), 364);
        assert_eq!(day_number("2018-02-30"), None);
    }
    use serde_json::json;

    fn form() -> Form {
        serde_json::from_value(json!({
            "id": "case", "name": "议事案例", "title_field": "topic",
            "fields": [
                {"id": "topic", "label": "议题", "kind": "text", "required": true, "max_len": 10},
                {"id": "n", "label": "人数", "kind": "number", "integer": true, "min": 0.0},
                {"id": "day", "label": "日期", "kind": "date"},
                {"id": "forum", "label": "形式", "kind": "choice", "options": ["议事会", "听证会"]},
                {"id": "tags", "label": "类别", "kind": "multi_choice", "options": ["甲", "乙"]},
                {"id": "ok", "label": "反馈", "kind": "yes_no"},
                {"id": "steps", "label": "步骤", "kind": "status", "states": ["提", "议", "决"],
                 "transitions": [["提", "议"], ["议", "决"]], "dated": true},
                {"id": "joined", "label": "登记日期", "kind": "date", "allow_earlier": true},
                {"id": "area", "label": "总面积", "kind": "number", "min": 0.0},
                {"id": "work", "label": "工作面积", "kind": "number", "min": 0.0},
                {"id": "rest", "label": "活动面积", "kind": "number", "min": 0.0}
            ],
            "checks": [
                {"check": "dates_in_order", "fields": ["joined", "steps", "day"]},
                {"check": "total", "total": "area", "parts": ["work", "rest"]}
            ]
        }))
        .unwrap()
    }

    /// A 2018 plan of that one form.
    fn plan() -> Plan {
        serde_json::from_value(json!({
            "id": "p", "year": 2018, "title": "t", "county": "610324", "forms": [form()], "indicators": []
        }))
        .unwrap()
    }

    fn check(content: &Content) -> Result<(), Vec<FieldError>> {
        let p = plan();
        validate_content(&p, &p.forms[0], content)
    }

    fn c(v: Value) -> Content {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn accepts_a_good_record() {
        let ok = c(
            json!({"topic": "修路", "n": 12, "day": "2018-02-28", "forum": "议事会",
            "tags": ["甲"], "ok": true, "steps": {"state": "议", "dates": {"提": "2018-01-01", "议": "2018-01-09"}}}),
        );
        check(&ok).unwrap();
    }

    #[test]
    fn reports_every_bad_field_in_chinese() {
        let bad = c(
            json!({"n": 1.5, "day": "2018-02-30", "forum": "茶话会", "tags": ["甲", "甲"],
            "ok": "yes", "steps": {"state": "决"}, "extra": 1}),
        );
        let e = check(&bad).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["extra", "topic", "n", "day", "forum", "tags", "ok", "steps"]
        );
        assert_eq!(e[1].message, "必填");
        assert_eq!(e[2].message, "应为整数");
    }

    #[test]
    fn typed_numbers_are_read_as_typed() {
        let read = |s: &str| serde_json::to_string(&parse_number(s).unwrap()).unwrap();
        assert_eq!(read("23"), "23");
        assert_eq!(read("1200"), "1200");
        assert_eq!(read("1.5"), "1.5");
        assert_eq!(read("0.1"), "0.1");
        assert_eq!(read("１２"), "12");
        assert_eq!(read("１２．５"), "12.5");
        assert_eq!(read("3。5"), "3.5");
        assert_eq!(read("－３"), "-3");
        assert_eq!(read(" 7\u{3000}"), "7");
        assert_eq!(read("1.0"), "1", "a whole number is stored as an integer");
        assert_eq!(read("1."), "1");
        assert_eq!(read(".5"), "0.5");
        assert!(parse_number("1200").unwrap().is_i64());
    }

    #[test]
    fn what_is_not_a_plain_number_is_refused() {
        for bad in [
            "", " ", "-", ".", "abc", "1.0.5", "2.03.", "1e5", "inf", "NaN", "1,200", "1，200",
            "--1", "+1", "1 2", "0x10",
        ] {
            assert_eq!(parse_number(bad), Err("应为数字".to_string()), "{bad:?}");
        }
        assert_eq!(
            parse_number(&format!("1{}", "0".repeat(400))),
            Err("数字太大".to_string())
        );
    }

    #[test]
    fn a_bad_number_reads_the_same_on_the_phone_and_the_server() {
        // The server sees the text the phone could not read as a number; both say the same.
        let on_server = check(&c(json!({"topic": "x", "n": "1.0.5"}))).unwrap_err();
        assert_eq!(Err(on_server[0].message.clone()), parse_number("1.0.5"));
        // A fraction in an integer field reads as a number, and validation refuses it.
        let n = Value::Number(parse_number("1.5").unwrap());
        let e = check(&c(json!({"topic": "x", "n": n}))).unwrap_err();
        assert_eq!(
            (e[0].field.as_str(), e[0].message.as_str()),
            ("n", "应为整数")
        );
    }

    #[test]
    fn too_long_text_is_refused() {
        let e = check(&c(json!({"topic": "一二三四五六七八九十十一"}))).unwrap_err();
        assert_eq!(e[0].message, "不能超过10个字");
    }

    #[test]
    fn numbers_the_plan_leaves_open_have_a_default_bound() {
        use crate::plan::DEFAULT_NUMBER_BOUND;
        // No max in the plan: the default bound keeps sums of such figures finite.
        for n in [1.7e308, DEFAULT_NUMBER_BOUND * 2.0] {
            let e = check(&c(json!({"topic": "x", "area": n}))).unwrap_err();
            assert_eq!(
                e,
                vec![FieldError {
                    field: "area".into(),
                    message: format!("不能大于{DEFAULT_NUMBER_BOUND}")
                }]
            );
        }
        check(&c(json!({"topic": "x", "area": DEFAULT_NUMBER_BOUND}))).unwrap();
        // No min either: the bound holds below zero too.
        let mut p = plan();
        p.forms[0]
            .fields
            .iter_mut()
            .find(|f| f.id == "area")
            .unwrap()
            .min = None;
        let e = validate_content(&p, &p.forms[0], &c(json!({"topic": "x", "area": -1e300})))
            .unwrap_err();
        assert_eq!(e[0].message, format!("不能小于{}", -DEFAULT_NUMBER_BOUND));
    }

    #[test]
    fn step_dates_and_dates_in_order_must_not_go_back() {
        let steps = |d: Value| json!({"state": "决", "dates": d});
        check(&c(
            json!({"topic": "x", "joined": "2017-05-01", "day": "2018-03-09",
            "steps": steps(json!({"提": "2018-03-01", "议": "2018-03-01", "决": "2018-03-09"}))}),
        ))
        .unwrap();
        // 议 before 提: the status field is blamed, with both dates.
        let e = check(&c(json!({"topic": "x", "steps": steps(json!({"提": "2018-03-05", "议": "2018-03-01", "决": "2018-03-09"}))})))
            .unwrap_err();
        assert_eq!(
            e,
            vec![FieldError {
                field: "steps".into(),
                message: "“议”的日期(2018-03-01)不能早于“提”的日期(2018-03-05)".into()
            }]
        );
        // A date field after the steps goes before the last step: that field is blamed.
        let e = check(&c(json!({"topic": "x", "day": "2018-03-02",
            "steps": steps(json!({"提": "2018-03-01", "议": "2018-03-02", "决": "2018-03-09"}))})))
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "day");
        assert_eq!(
            e[0].message,
            "“日期”(2018-03-02)不能早于“决”的日期(2018-03-09)"
        );
        // A date field before them all goes after the first step.
        let e = check(&c(json!({"topic": "x", "joined": "2018-04-01", "steps": steps(json!({"提": "2018-03-01", "决": "2018-03-09"}))})))
            .unwrap_err();
        assert_eq!(
            e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["steps"]
        );
    }

    #[test]
    fn a_total_equals_the_sum_of_its_parts() {
        check(&c(
            json!({"topic": "x", "area": 150.75, "work": 45.25, "rest": 105.5}),
        ))
        .unwrap();
        // Decimals that do not add up exactly in binary still add up.
        check(&c(
            json!({"topic": "x", "area": 0.3, "work": 0.1, "rest": 0.2}),
        ))
        .unwrap();
        let e = check(&c(
            json!({"topic": "x", "area": 150, "work": 45.25, "rest": 105.5}),
        ))
        .unwrap_err();
        assert_eq!(
            e,
            vec![FieldError {
                field: "area".into(),
                message: "应等于“工作面积”与“活动面积”之和(150.75),现为150".into()
            }]
        );
        // Checked only when all are given; a bad part is reported on its own field only.
        check(&c(json!({"topic": "x", "area": 150, "work": 45.25}))).unwrap();
        let e = check(&c(
            json!({"topic": "x", "area": 150, "work": -1, "rest": 105.5}),
        ))
        .unwrap_err();
        assert_eq!(
            e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["work"]
        );
    }

    #[test]
    fn dates_lie_within_the_plans_period() {
        let p = plan();
        assert_eq!(
            p.period(),
            Period {
                from: "2018-01-01".into(),
                to: "2018-12-31".into()
            }
        );
        check(&c(json!({"topic": "x", "day": "2018-01-01"}))).unwrap();
        check(&c(json!({"topic": "x", "day": "2018-12-31"}))).unwrap();
        for day in ["2017-12-31", "2019-01-01"] {
            let e = check(&c(json!({"topic": "x", "day": day}))).unwrap_err();
            assert_eq!(
                e,
                vec![FieldError {
                    field: "day".into(),
                    message: "日期应在计划期内(2018-01-01 至 2018-12-31)".into()
                }]
            );
        }
        // Step dates too.
        let e = check(&c(json!({"topic": "x", "steps": {"state": "议", "dates": {"提": "2018-12-30", "议": "2019-01-02"}}})))
            .unwrap_err();
        assert_eq!(
            e,
            vec![FieldError {
                field: "steps".into(),
                message: "“议”的日期应在计划期内(2018-01-01 至 2018-12-31)".into()
            }]
        );
        // A field that may be earlier may not be later.
        check(&c(json!({"topic": "x", "joined": "2009-06-01"}))).unwrap();
        let e = check(&c(json!({"topic": "x", "joined": "2019-06-01"}))).unwrap_err();
        assert_eq!(e[0].message, "日期不能晚于2018-12-31(计划期截止日)");
        // A plan that gives its period uses it.
        let mut p = plan();
        p.period = Some(Period {
            from: "2017-10-01".into(),
            to: "2018-09-30".into(),
        });
        validate_content(
            &p,
            &p.forms[0],
            &c(json!({"topic": "x", "day": "2017-10-01"})),
        )
        .unwrap();
        assert!(validate_content(
            &p,
            &p.forms[0],
            &c(json!({"topic": "x", "day": "2018-10-01"}))
        )
        .is_err());
    }

    #[test]
    fn a_tombstone_carries_nothing_or_what_it_deletes() {
        let p = plan();
        let f = &p.forms[0];
        let last = c(json!({"topic": "x", "n": 3}));
        validate_tombstone(&p, f, Some(&last), &Content::new()).unwrap();
        validate_tombstone(&p, f, Some(&last), &last).unwrap();
        // Without the content it deletes at hand, valid content is taken, and junk is not.
        validate_tombstone(&p, f, None, &last).unwrap();
        let junk = c(json!({"junk": "垃圾".repeat(1000)}));
        assert!(validate_tombstone(&p, f, Some(&last), &junk).is_err());
        assert!(validate_tombstone(&p, f, None, &junk).is_err());
    }

    #[test]
    fn status_moves_only_along_transitions() {
        let f = form();
        let at =
            |s: &str| c(json!({"topic": "x", "steps": {"state": s, "dates": {s: "2018-01-01"}}}));
        validate_transition(&f, &at("提"), &at("议")).unwrap();
        assert!(validate_transition(&f, &at("提"), &at("决")).is_err());
        assert!(validate_transition(&f, &at("议"), &at("提")).is_err());
    }

    #[test]
    fn dates_are_real_dates() {
        assert!(is_date("2018-10-31"));
        assert!(is_date("2020-02-29"));
        assert!(!is_date("2019-02-29"));
        assert!(!is_date("2018-1-01"));
        assert!(!is_date("2018-13-01"));
        assert!(!is_date("20a8-01-01"));
    }

    #[test]
    fn conditions_match() {
        let f = form();
        let r = c(
            json!({"topic": "x", "n": 5, "tags": ["乙"], "ok": true, "forum": "听证会",
            "steps": {"state": "议", "dates": {}}}),
        );
        let cond = |v: Value| -> Condition { serde_json::from_value(v).unwrap() };
        assert!(matches(&f, &r, &[cond(json!({"field": "ok", "is": true}))]));
        assert!(matches(
            &f,
            &r,
            &[cond(json!({"field": "n", "at_least": 5.0}))]
        ));
        assert!(!matches(
            &f,
            &r,
            &[cond(json!({"field": "n", "at_least": 6.0}))]
        ));
        assert!(matches(
            &f,
            &r,
            &[cond(json!({"field": "tags", "has": "乙"}))]
        ));
        assert!(matches(
            &f,
            &r,
            &[cond(json!({"field": "steps", "reached": "提"}))]
        ));
        assert!(!matches(
            &f,
            &r,
            &[cond(json!({"field": "steps", "reached": "决"}))]
        ));
        assert!(matches(
            &f,
            &r,
            &[cond(json!({"field": "steps", "is": "议"}))]
        ));
        assert!(matches(
            &f,
            &r,
            &[cond(
                json!({"field": "forum", "any_of": ["议事会", "听证会"]})
            )]
        ));
    }

    #[test]
    fn the_hash_binds_content_and_ignores_key_order() {
        let r = Revision {
            record: Uuid::nil(),
            rev: Uuid::nil(),
            parent: None,
            resolves: vec![],
            device: "d".into(),
            clock: 1,
            plan: Default::default(),
            form: "case".into(),
            unit: crate::UnitCode::parse("610324001001").unwrap(),
            deleted: false,
            content: c(json!({"a": 1, "b": {"y": 1, "x": 2}})),
        };
        let mut r2 = r.clone();
        assert_eq!(r.content_hash(), r2.content_hash());
        r2.content.insert("a".into(), json!(2));
        assert_ne!(r.content_hash(), r2.content_hash());
        // What is hashed reads back as the revision, keys sorted at every level.
        let text = r.canonical_json();
        assert_eq!(serde_json::from_str::<Revision>(&text).unwrap(), r);
        assert!(text.find("\"clock\"").unwrap() < text.find("\"device\"").unwrap());
        assert!(text.find("\"x\"").unwrap() < text.find("\"y\"").unwrap());
    }

    /// The canonical text the way it was first made: the revision as a value tree, every object's
    /// keys sorted. Hashes stored since then are over this text.
    fn sorted_tree_text(r: &Revision) -> String {
        fn sort(v: &mut Value) {
            match v {
                Value::Object(m) => {
                    m.values_mut().for_each(sort);
                    let sorted: BTreeMap<String, Value> = std::mem::take(m).into_iter().collect();
                    *m = sorted.into_iter().collect();
                }
                Value::Array(a) => a.iter_mut().for_each(sort),
                _ => {}
            }
        }
        let mut v = serde_json::to_value(r).unwrap();
        sort(&mut v);
        serde_json::to_string(&v).unwrap()
    }

    #[test]
    fn the_canonical_text_is_the_sorted_tree_of_the_revision_byte_for_byte() {
        let mut r = legacy_revision();
        r.content = c(json!({
            "z": [{"b": 1.5, "a": null}, "文字\"\n"], "a": {"y": -2, "x": {"q": true, "p": 1e300}}
        }));
        assert_eq!(r.canonical_json(), sorted_tree_text(&r));
        r.plan = PlanId::parse("fufeng-2019").unwrap();
        r.parent = Some(Uuid::from_u128(7));
        r.resolves = vec![Uuid::from_u128(8), Uuid::from_u128(3)];
        r.deleted = true;
        r.clock = u64::MAX;
        assert_eq!(r.canonical_json(), sorted_tree_text(&r));
        assert_eq!(
            r.canonical_json(),
            concat!(
                r#"{"clock":18446744073709551615,"content":{"a":{"x":{"p":1e+300,"q":true},"y":-2},"#,
                r#""z":[{"a":null,"b":1.5},"文字\"\n"]},"deleted":true,"device":"d","form":"case","#,
                r#""parent":"00000000-0000-0000-0000-000000000007","plan":"fufeng-2019","#,
                r#""record":"00000000-0000-0000-0000-000000000000","#,
                r#""resolves":["00000000-0000-0000-0000-000000000008","00000000-0000-0000-0000-000000000003"],"#,
                r#""rev":"00000000-0000-0000-0000-000000000000","unit":"610324001001"}"#
            )
        );
    }

    fn legacy_revision() -> Revision {
        serde_json::from_value(json!({
            "record": Uuid::nil(), "rev": Uuid::nil(), "device": "d", "clock": 1,
            "form": "case", "unit": "610324001001", "content": {"topic": "t"}
        }))
        .unwrap()
    }

    #[test]
    fn a_revision_made_before_plans_hashes_as_it_did_then() {
        let legacy = legacy_revision();
        assert!(legacy.plan.is_empty());
        // The hash is over the revision's JSON: a revision without a plan must encode exactly as
        // it did before revisions carried one, so a re-sent one is recognised as the same.
        let json = serde_json::to_value(&legacy).unwrap();
        assert!(json.get("plan").is_none(), "{json}");
        let mut planned = legacy.clone();
        planned.plan = PlanId::parse("fufeng-2018").unwrap();
        assert_eq!(
            serde_json::to_value(&planned).unwrap()["plan"],
            "fufeng-2018"
        );
        assert_ne!(legacy.content_hash(), planned.content_hash());
    }

    #[test]
    fn a_revision_belongs_to_its_own_plan_then_its_records_then_the_legacy_one() {
        let y2018 = PlanId::parse("fufeng-2018").unwrap();
        let y2019 = PlanId::parse("fufeng-2019").unwrap();
        let mut r = legacy_revision();
        assert_eq!(plan_of(&r, None, &y2018), y2018);
        assert_eq!(plan_of(&r, Some(&y2019), &y2018), y2019);
        r.plan = y2019.clone();
        assert_eq!(plan_of(&r, Some(&y2018), &y2018), y2019);

        assert!(same_plan(&y2018, &y2018).is_ok());
        assert!(same_plan(&y2018, &PlanId::default()).is_ok());
        let refused = same_plan(&y2018, &y2019).unwrap_err();
        assert!(
            refused.contains("fufeng-2018") && refused.contains("fufeng-2019"),
            "{refused}"
        );
    }

    #[test]
    fn a_revision_names_a_real_unit_and_plan() {
        let mut json = serde_json::to_value(legacy_revision()).unwrap();
        json["unit"] = json!("6103240010");
        assert!(serde_json::from_value::<Revision>(json.clone()).is_err());
        json["unit"] = json!("610324001001");
        json["plan"] = json!("Fufeng 2018");
        assert!(serde_json::from_value::<Revision>(json).is_err());
    }

    #[test]
    fn a_date_of_another_year_belongs_to_that_years_plan() {
        let parse = |f: &str, t: &str| Plan::parse(f, t).unwrap_or_else(|e| panic!("{e}"));
        let y2018 = parse("plan-2018.toml", include_str!("../../seeds/plan-2018.toml"));
        let y2019 = parse("plan-2019.toml", include_str!("../../seeds/plan-2019.toml"));
        let case = c(json!({
            "forum": "邻里议事会", "topic": "楼道照明",
            "steps": {"state": "民事民提", "dates": {"民事民提": "2019-03-01"}}
        }));
        let form = |p: &Plan| p.form("deliberation_case").unwrap().clone();
        assert!(validate_content(&y2019, &form(&y2019), &case).is_ok());
        let refused = validate_content(&y2018, &form(&y2018), &case).unwrap_err();
        assert_eq!(refused[0].field, "steps", "{refused:?}");
    }
}
