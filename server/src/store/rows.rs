//! Reading rows into Shequ's types, the same for every engine: each store only writes its own SQL.

use super::{AccountRow, SessionRow, StoreError};
use serde::Serialize;
use serde_json::value::RawValue;
use shequ_model::area::{Area, Level, UnitCode};
use shequ_model::auth::{Account, Role, SessionInfo};
use shequ_model::history::Stored;
use shequ_model::month::Month;
use shequ_model::plan::PlanId;
use shequ_model::rollup::Figure;
use shequ_model::sync::{PullPage, MAX_PULL_BYTES};
use shequ_model::Revision;
use sqlx::{ColumnIndex, Decode, Row, Type};
use std::collections::BTreeMap;

/// A row of any engine whose text, integer and boolean columns decode as Rust's.
pub trait Columns: Row
where
    for<'a> &'a str: ColumnIndex<Self>,
{
    fn text(&self, col: &str) -> String;
    fn int(&self, col: &str) -> i64;
    fn maybe_int(&self, col: &str) -> Option<i64>;
    fn flag(&self, col: &str) -> bool;
    fn real(&self, col: &str) -> f64;
}

impl<R: Row> Columns for R
where
    for<'a> &'a str: ColumnIndex<R>,
    for<'a> String: Decode<'a, R::Database> + Type<R::Database>,
    for<'a> i64: Decode<'a, R::Database> + Type<R::Database>,
    for<'a> bool: Decode<'a, R::Database> + Type<R::Database>,
    for<'a> f64: Decode<'a, R::Database> + Type<R::Database>,
{
    fn text(&self, col: &str) -> String {
        self.get(col)
    }
    fn int(&self, col: &str) -> i64 {
        self.get(col)
    }
    fn maybe_int(&self, col: &str) -> Option<i64> {
        self.get(col)
    }
    fn flag(&self, col: &str) -> bool {
        self.get(col)
    }
    fn real(&self, col: &str) -> f64 {
        self.get(col)
    }
}

pub fn level(s: &str) -> Result<Level, StoreError> {
    Level::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown level {s}")))
}

pub fn role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown role {s}")))
}

/// A stored revision, carrying the plan it is stored under (a revision made before records
/// carried a plan has none in its body, which keeps the hash it was sent with).
pub fn revision(body: &str, plan: &str) -> Result<Revision, StoreError> {
    let mut r: Revision = serde_json::from_str(body)
        .map_err(|e| StoreError::Corrupt(format!("revision body: {e}")))?;
    r.plan = plan_id(plan)?;
    Ok(r)
}

/// A kept figure, from a row's kind, num, den and scale.
pub fn figure<R: Columns>(r: &R) -> Result<Figure, StoreError>
where
    for<'a> &'a str: ColumnIndex<R>,
{
    super::figures::from_row(
        &r.text("kind"),
        r.real("num"),
        r.real("den"),
        r.real("scale"),
    )
}

/// A revision with who pushed it, from a row of `revisions` with its `author`'s name.
pub fn stored<R: Columns>(r: &R) -> Result<Stored, StoreError>
where
    for<'a> &'a str: ColumnIndex<R>,
{
    Ok(Stored {
        revision: revision(&r.text("body"), &r.text("plan"))?,
        author: r.text("author"),
        device: r.text("device"),
        received_at: r.int("received_at"),
    })
}

pub fn plan_id(s: &str) -> Result<PlanId, StoreError> {
    if s.is_empty() {
        return Ok(PlanId::default());
    }
    PlanId::parse(s).map_err(|e| StoreError::Corrupt(format!("plan id {s}: {e}")))
}

pub fn month(s: &str) -> Result<Month, StoreError> {
    Month::parse(s).map_err(|e| StoreError::Corrupt(format!("month {s}: {e}")))
}

/// How many of the revisions after a pull's cursor go in its page, and whether more follow, from
/// their sizes in bytes in order (the store reads `limit + 1` of them sent, `None` for one passed
/// and not sent): at most `limit` sent, and at most [`MAX_PULL_BYTES`], but always the first, so
/// the cursor moves on.
pub fn page_len(sizes: &[Option<i64>], limit: u32) -> (usize, bool) {
    let (mut bytes, mut sent) = (0u64, 0usize);
    for (n, size) in sizes.iter().enumerate() {
        let Some(size) = size else { continue };
        bytes += (*size).max(0) as u64;
        if sent == limit as usize || (sent > 0 && bytes > MAX_PULL_BYTES) {
            return (n, true);
        }
        sent += 1;
    }
    (sizes.len(), false)
}

/// A pull page as the store sends it: each revision is its stored JSON, which the push made from
/// the validated revision, with the plan of its row, so a pull never builds revisions to write
/// them out again. Serialises as [`PullPage`].
#[derive(Serialize, Debug)]
pub struct StoredPage {
    pub changes: Vec<StoredChange>,
    pub cursor: i64,
    pub more: bool,
}

#[derive(Serialize, Debug)]
pub struct StoredChange {
    pub seq: i64,
    pub revision: Box<RawValue>,
    pub author: Option<String>,
}

impl StoredPage {
    /// The page as a device reads it.
    pub fn parse(&self) -> Result<PullPage, StoreError> {
        serde_json::to_string(self)
            .and_then(|json| serde_json::from_str(&json))
            .map_err(|e| StoreError::Corrupt(format!("pull page: {e}")))
    }
}

/// A pull page from its `(seq, body, plan, author)` rows, oldest first, and the last revision it
/// passes without sending (the calling device's own), if any.
pub fn pull_page(
    rows: Vec<(i64, String, String, String)>,
    passed: Option<i64>,
    after: i64,
    more: bool,
) -> Result<StoredPage, StoreError> {
    let changes = rows
        .into_iter()
        .map(|(seq, body, plan, author)| {
            Ok(StoredChange {
                seq,
                revision: with_plan(&body, &plan)?,
                author: Some(author),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let last = |seq: Option<i64>| seq.unwrap_or(after);
    let cursor = last(changes.last().map(|c| c.seq)).max(last(passed));
    Ok(StoredPage {
        changes,
        cursor,
        more,
    })
}

/// A stored revision body with its row's plan, which bodies stored before revisions carried a
/// plan lack. Only the top level is read; the contents are copied as they are.
fn with_plan(body: &str, plan: &str) -> Result<Box<RawValue>, StoreError> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("revision body: {e}"));
    let mut fields: BTreeMap<&str, &RawValue> = serde_json::from_str(body).map_err(corrupt)?;
    let plan = plan_id(plan)?;
    let named = serde_json::value::to_raw_value(&plan).map_err(corrupt)?;
    if plan.is_empty() {
        fields.remove("plan");
    } else {
        fields.insert("plan", &*named);
    }
    serde_json::value::to_raw_value(&fields).map_err(corrupt)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// From `code, name, level, parent`.
pub fn area<R: Columns>(r: &R) -> Result<Area, StoreError>
where
    for<'a> &'a str: ColumnIndex<R>,
{
    Ok(Area {
        code: r.text("code"),
        name: r.text("name"),
        level: level(&r.text("level"))?,
        parent: r.text("parent"),
    })
}

/// From `username, name, role, unit, password_hash, must_change, disabled`.
pub fn account<R: Columns>(r: &R) -> Result<AccountRow, StoreError>
where
    for<'a> &'a str: ColumnIndex<R>,
{
    Ok(AccountRow {
        account: Account {
            username: r.text("username"),
            name: r.text("name"),
            role: role(&r.text("role"))?,
            unit: UnitCode::parse_scope(&r.text("unit")).map_err(StoreError::Corrupt)?,
        },
        password_hash: r.text("password_hash"),
        must_change: r.flag("must_change"),
        disabled: r.flag("disabled"),
    })
}

/// From `id, token_hash, username, device, created_at, expires_at, revoked_at`.
pub fn session<R: Columns>(r: &R) -> SessionRow
where
    for<'a> &'a str: ColumnIndex<R>,
{
    SessionRow {
        id: r.text("id"),
        token_hash: r.text("token_hash"),
        username: r.text("username"),
        device: r.text("device"),
        created_at: r.int("created_at"),
        expires_at: r.int("expires_at"),
        revoked_at: r.maybe_int("revoked_at"),
    }
}

/// From `id, username, device, created_at, expires_at, revoked_at`.
pub fn session_info<R: Columns>(r: &R) -> SessionInfo
where
    for<'a> &'a str: ColumnIndex<R>,
{
    SessionInfo {
        id: r.text("id"),
        username: r.text("username"),
        device: r.text("device"),
        created_at: r.int("created_at"),
        expires_at: r.int("expires_at"),
        revoked_at: r.maybe_int("revoked_at"),
    }
}

#[cfg(test)]
mod tests {
    use super::{page_len, pull_page};
    use shequ_model::plan::PlanId;
    use shequ_model::sync::MAX_PULL_BYTES;
    use shequ_model::{Revision, UnitCode};

    #[test]
    fn a_page_stops_at_its_count_or_its_bytes_but_always_moves_on() {
        let small = Some(100);
        let big = MAX_PULL_BYTES as i64;
        let (half, over) = (Some(big / 2), Some(big * 3));
        assert_eq!(page_len(&[], 10), (0, false));
        assert_eq!(page_len(&[small; 3], 10), (3, false));
        assert_eq!(page_len(&[small; 11], 10), (10, true));
        // Over the bytes: the page ends before the revision that would pass them.
        assert_eq!(page_len(&[small, Some(big), small], 10), (1, true));
        assert_eq!(page_len(&[half, half, small], 10), (2, true));
        // One revision larger than a page still makes a page of its own.
        assert_eq!(page_len(&[over, small], 10), (1, true));
        assert_eq!(page_len(&[over], 10), (1, false));
        // Revisions passed and not sent count for neither the number nor the bytes.
        assert_eq!(
            page_len(&[None, small, None, None, small, None], 2),
            (6, false)
        );
        assert_eq!(
            page_len(&[None, small, None, small, None, small], 2),
            (5, true)
        );
        assert_eq!(page_len(&[None; 4], 2), (4, false));
    }

    /// A pulled revision is the one pushed, with its row's plan, whether or not its stored body
    /// names one (bodies stored before revisions carried a plan do not).
    #[test]
    fn a_pulled_revision_is_the_stored_one_with_its_plan() {
        let mut pushed = Revision {
            record: uuid::Uuid::now_v7(),
            rev: uuid::Uuid::now_v7(),
            parent: None,
            resolves: vec![],
            device: "设备\"1".into(),
            clock: 7,
            plan: PlanId::parse("fufeng-2018").unwrap(),
            form: "deliberation_case".into(),
            unit: UnitCode::parse("610324001001").unwrap(),
            deleted: false,
            content: serde_json::from_str(
                r#"{"title":"议事 \u2028 \"引号\"","n":[1,2.5,{"a":null}]}"#,
            )
            .unwrap(),
        };
        let named = pushed.canonical_json();
        let mut legacy = pushed.clone();
        legacy.plan = PlanId::default();
        let unnamed = legacy.canonical_json();
        assert!(!unnamed.contains("fufeng-2018"));
        let page = pull_page(
            vec![
                (3, named, "fufeng-2018".into(), "张三".into()),
                (4, unnamed.clone(), "fufeng-2018".into(), "张三".into()),
                (5, unnamed, String::new(), "李四".into()),
            ],
            None,
            2,
            false,
        )
        .unwrap()
        .parse()
        .unwrap();
        assert_eq!(page.cursor, 5);
        assert_eq!(page.changes[0].revision, pushed);
        assert_eq!(page.changes[2].author.as_deref(), Some("李四"));
        assert_eq!(page.changes[1].revision, pushed);
        pushed.plan = PlanId::default();
        assert_eq!(page.changes[2].revision, pushed);
    }
}
