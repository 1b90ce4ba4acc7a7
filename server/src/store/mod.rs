//! The server's one storage seam. Handlers speak to a [`Store`]; one SQL implementation
//! ([`SqlStore`]) fills it for every engine, with what truly differs between the engines in
//! [`dialect`] and a migrations folder per engine. SQLite is the embedded default; PostgreSQL
//! serves deployments that outgrow one machine.

mod area_trees;
mod batch;
pub mod county_rollups;
pub mod dialect;
mod figures;
mod log_sync;
mod rows;
mod sql;

pub use area_trees::{KEPT_FROM_UNITS, MAX_KEPT_UNITS};
pub use figures::RebuildReport;
pub use rows::{StoredChange, StoredPage};
pub use sql::SqlStore;
/// The embedded default.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;
/// For deployments that outgrow one machine.
pub type PgStore = SqlStore<sqlx::Postgres>;

use async_trait::async_trait;
use county_rollups::{CountyRollups, CountyVersions};
use shequ_model::area::Area;
use shequ_model::area::AreaTree;
use shequ_model::auth::{Account, AdminAction, AuditEntry, AuditFilter, SessionInfo};
use shequ_model::history::Stored;
use shequ_model::month::Month;
use shequ_model::photo::PhotoId;
use shequ_model::plan::{Plan, TownTargets};
use shequ_model::plan::{PlanId, Plans};
use shequ_model::rollup::{Known, Report, Rollups, UnitFigures};
use shequ_model::sync::{Checksum, PushResult};
use shequ_model::table::TargetChange;
use shequ_model::Level;
use shequ_model::Revision;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// The answer to a push.
#[derive(Debug, Clone, PartialEq)]
pub enum PushAnswer {
    /// Applied now.
    Applied(Vec<PushResult>),
    /// The key was seen with the same content: the answer given then.
    Replayed(Vec<PushResult>),
    /// The key was seen with other content: refused, nothing applied.
    KeyReused,
}

/// What an areas import did, per level: (level, new rows, rows already there).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub per_level: Vec<(shequ_model::Level, usize, usize)>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database is reachable.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Waits until no other process is starting on this database, and keeps it so until the
    /// turn ends (see [`dialect`]).
    async fn start_turn(&self) -> Result<Box<dyn StartTurn>, StoreError>;
    /// One org unit.
    async fn area(&self, code: &str) -> Result<Option<Area>, StoreError>;
    /// Every org unit whose code starts with `under` (all of them for "").
    async fn areas(&self, under: &str) -> Result<Vec<Area>, StoreError>;
    /// The units directly under `code` (the provinces for the nation's empty code).
    async fn children(&self, code: &str) -> Result<Vec<Area>, StoreError>;
    /// The tree of the units whose code starts with `scope`, as the areas stand now: a wide
    /// scope's is kept in memory between calls while no import changes the areas.
    async fn area_tree(&self, scope: &str) -> Result<Arc<AreaTree>, StoreError>;
    /// Starts an import of areas: one transaction, which keeps nothing unless committed (and, on
    /// SQLite, the writer's turn until it ends).
    async fn begin_area_import(&self) -> Result<Box<dyn AreaImport>, StoreError>;
    /// Applies a batch of pushed revisions in one transaction, one result per item: each belongs
    /// to its plan ([`shequ_model::record::plan_of`]) and is checked against it. With an
    /// idempotency key, the answer is stored in that same transaction, and a push re-sent under
    /// the key is answered again from it.
    async fn push(
        &self,
        plans: &PlanBook,
        by: &Author,
        key: Option<&str>,
        changes: &[Revision],
    ) -> Result<PushAnswer, StoreError>;
    /// The checksum of the current revisions under `scope`.
    async fn checksum(&self, scope: &str) -> Result<Checksum, StoreError>;
    /// The revisions stored after `after` for units under `scope` (of one plan, or of all),
    /// oldest first, each carrying its plan; those pushed by device `own`, by number only.
    async fn pull(
        &self,
        scope: &str,
        plan: Option<&PlanId>,
        after: i64,
        limit: u32,
        own: Option<&str>,
    ) -> Result<StoredPage, StoreError>;
    /// The current (winning) revision of every live record of `plan` under `scope`.
    async fn live_records(&self, plan: &PlanId, scope: &str) -> Result<Vec<Revision>, StoreError>;
    /// The figures kept for each unit of `plan` under `scope`, at its indicators' own level, now
    /// or as of the end of a month of the plan's period: rewritten by every push that changes one
    /// of the unit's records, in its transaction.
    async fn unit_figures(
        &self,
        plan: &PlanId,
        scope: &str,
        as_of: Option<Month>,
    ) -> Result<UnitFigures, StoreError>;
    /// One indicator's figures kept for each unit of `plan` under `scope`, as of the end of each
    /// month of the plan's period.
    async fn indicator_months(
        &self,
        plan: &PlanId,
        scope: &str,
        indicator: &str,
    ) -> Result<BTreeMap<Month, UnitFigures>, StoreError>;
    /// The numbers that say whether a county rolled up earlier still holds (see
    /// [`county_rollups`]), for every county under `scope`.
    async fn county_versions(&self, scope: &str) -> Result<CountyVersions, StoreError>;
    /// The counties this store has rolled up for reports of wider scopes.
    fn county_rollups(&self) -> &CountyRollups;
    /// Whether the kept figures were computed under other plans than these (a plan added or
    /// replaced since): then they are rebuilt.
    async fn rollups_stale(&self, plans: &Plans) -> Result<bool, StoreError>;
    /// Recomputes every kept figure from the records, in one transaction, and reports what it
    /// fixed.
    async fn rebuild_rollups(&self, plans: &Plans) -> Result<RebuildReport, StoreError>;

    /// Every stored plan: its id and the plan as JSON.
    async fn plans(&self) -> Result<Vec<(String, String)>, StoreError>;
    /// Keeps a plan given as JSON. A plan already stored with other content is kept as it was
    /// unless `replace`.
    async fn add_plan(
        &self,
        id: &PlanId,
        json: &str,
        replace: bool,
    ) -> Result<PlanAdded, StoreError>;
    /// The plan id kept for a role.
    async fn plan_role(&self, role: PlanRole) -> Result<Option<String>, StoreError>;
    async fn set_current_plan(&self, id: &PlanId) -> Result<(), StoreError>;
    /// Keeps `id` as the legacy plan unless one is kept already, and gives every revision and
    /// record stored without a plan the legacy plan; returns the legacy plan's id.
    async fn settle_legacy_plan(&self, id: &PlanId) -> Result<String, StoreError>;

    async fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError>;
    async fn account_count(&self) -> Result<u64, StoreError>;
    /// Adds an account; false when the username is taken.
    async fn create_account(&self, row: &AccountRow, now: i64) -> Result<bool, StoreError>;
    async fn set_password(
        &self,
        username: &str,
        hash: &str,
        must_change: bool,
    ) -> Result<(), StoreError>;
    /// The accounts whose unit lies under `under`.
    async fn accounts(&self, under: &str) -> Result<Vec<AccountRow>, StoreError>;
    /// Writes an account as `row` gives it (its name, role, unit, password, whether it may log
    /// in), revokes every live session of it when `revoke_at` is given, and keeps `action` in the
    /// audit trail: all or nothing.
    async fn update_account(
        &self,
        row: &AccountRow,
        revoke_at: Option<i64>,
        action: &AdminAction,
    ) -> Result<(), StoreError>;
    /// The login strikes kept for `keys`, given to `change`, and what it answers kept instead, in
    /// one step: guesses sent at once, to any process on the database, are counted one after the
    /// other. Strikes last changed before `forget_before` are dropped along the way. Returns the
    /// strikes as they were kept before.
    async fn change_strikes(
        &self,
        keys: &[&str],
        forget_before: i64,
        change: &(dyn for<'s> Fn(&'s [Strikes]) -> Vec<Strikes> + Send + Sync),
    ) -> Result<Vec<Strikes>, StoreError>;
    /// Keeps a helper's offer, unless its record already has `most_per_record` offers waiting or
    /// its unit `most_per_unit` (then false, and nothing is kept). Offers answered before
    /// `forget_before` go, a few at a time, with the helpers' phones they hold.
    async fn add_offer(
        &self,
        o: &OfferRow,
        most_per_record: u32,
        most_per_unit: u32,
        forget_before: i64,
    ) -> Result<bool, StoreError>;
    async fn offer(&self, id: &str) -> Result<Option<OfferRow>, StoreError>;
    /// The offers waiting under `scope`, oldest first, at most `limit`.
    async fn waiting_offers(&self, scope: &str, limit: u32) -> Result<Vec<OfferRow>, StoreError>;
    /// Answers a waiting offer with `state`; false when it no longer waits.
    async fn decide_offer(
        &self,
        id: &str,
        state: &str,
        by: &str,
        at: i64,
    ) -> Result<bool, StoreError>;
    /// Keeps a resident's submission, unless its unit already has `most_per_unit` waiting (then
    /// false, and nothing is kept). Submissions answered before `forget_before` go, a few at a
    /// time, with the phones they hold.
    async fn add_submission(
        &self,
        row: &SubmissionRow,
        most_per_unit: u32,
        forget_before: i64,
    ) -> Result<bool, StoreError>;
    async fn submission(&self, id: &str) -> Result<Option<SubmissionRow>, StoreError>;
    /// The submissions waiting in `unit`, oldest first, at most `limit`.
    async fn waiting_submissions(
        &self,
        unit: &str,
        limit: u32,
    ) -> Result<Vec<SubmissionRow>, StoreError>;
    /// Answers a waiting submission with `state`; false when it no longer waits.
    async fn decide_submission(
        &self,
        id: &str,
        state: &str,
        by: &str,
        at: i64,
    ) -> Result<bool, StoreError>;
    /// Of `ids`, those that some record in `scope` names ([`shequ_model::photo::refs`]), each
    /// with whether the server holds the photo.
    async fn photos_named(
        &self,
        scope: &str,
        ids: &[PhotoId],
    ) -> Result<Vec<(PhotoId, bool)>, StoreError>;
    /// Notes a photo as held, once its bytes are in the object store; false if it already was.
    async fn add_photo(&self, row: &PhotoRow) -> Result<bool, StoreError>;
    async fn create_session(&self, s: &SessionRow) -> Result<(), StoreError>;
    /// The session a token's hash names, with its account: what every request reads first, in
    /// one query. None when there is no such session or its account is gone.
    async fn session(
        &self,
        token_hash: &str,
    ) -> Result<Option<(SessionRow, AccountRow)>, StoreError>;
    /// Revokes a session; false when there is none with that id.
    async fn revoke_session(&self, id: &str, at: i64) -> Result<bool, StoreError>;
    /// Revokes every live session of an account but `keep`; how many were revoked.
    async fn revoke_other_sessions(
        &self,
        username: &str,
        keep: &str,
        at: i64,
    ) -> Result<u64, StoreError>;
    /// The sessions of the accounts under `under`, newest first.
    async fn sessions(&self, under: &str) -> Result<Vec<SessionInfo>, StoreError>;
    /// The live records of `plan` under `scope` (of these forms, or of all when none are named),
    /// newest first by the number of their current revision, from just below `before`: at most
    /// `limit`.
    async fn record_page(
        &self,
        plan: &PlanId,
        scope: &str,
        forms: &[&str],
        before: i64,
        limit: u32,
    ) -> Result<Vec<ListedRow>, StoreError>;
    /// A record's history: its newest `newest` revisions and its current one, with who pushed
    /// each (their name), from which device and when; none for a record the server does not
    /// hold.
    async fn record_history(
        &self,
        record: &str,
        newest: u32,
    ) -> Result<Option<HistoryRows>, StoreError>;
    /// The per-town targets of `plan` set since it was issued (see [`TownTargets`]).
    async fn town_targets(&self, plan: &PlanId) -> Result<TownTargets, StoreError>;
    /// Keeps the targets `changes` set for `plan`, and `action` (its `seq` ignored) in the
    /// administrators' trail, in one transaction.
    async fn set_town_targets(
        &self,
        plan: &PlanId,
        changes: &[TargetChange],
        action: &AdminAction,
    ) -> Result<(), StoreError>;
    /// The latest administrators' changes over `under` or a unit under it, newest first.
    async fn admin_actions(&self, under: &str, limit: u32) -> Result<Vec<AdminAction>, StoreError>;
    /// The latest revisions under `under` that `filter` takes, newest first, with who made them.
    async fn audit(
        &self,
        under: &str,
        filter: &AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// An import of areas under way (see [`Store::begin_area_import`]). Dropped without
/// [`AreaImport::commit`], it keeps nothing.
#[async_trait]
pub trait AreaImport: Send {
    /// The stored areas among `codes` (at most [`AREA_CHUNK`]).
    async fn stored(&mut self, codes: &[&str]) -> Result<Vec<Area>, StoreError>;
    /// Adds areas not stored yet (at most [`AREA_CHUNK`]).
    async fn add(&mut self, areas: &[Area]) -> Result<(), StoreError>;
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// A process's turn to start (see [`Store::start_turn`]).
#[async_trait]
pub trait StartTurn: Send {
    async fn end(self: Box<Self>) -> Result<(), StoreError>;
}

/// How many areas one statement of an import carries: 4 parameters each, well under the limits
/// of SQLite (32,766) and PostgreSQL (65,535).
pub const AREA_CHUNK: usize = 2000;

/// What [`Store::add_plan`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanAdded {
    New,
    /// Already stored with the same content.
    Same,
    /// Already stored with other content, and kept as it was.
    Differs,
    Replaced,
}

/// The plans a server keeps a role for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanRole {
    /// The plan new records belong to.
    Current,
    /// The plan records made before records carried a plan belong to.
    Legacy,
}

impl PlanRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanRole::Current => "current",
            PlanRole::Legacy => "legacy",
        }
    }
}

/// Every plan a push may name, and the legacy plan a revision without one belongs to when its
/// record is new (see [`shequ_model::record::plan_of`]).
pub struct PlanBook {
    pub plans: Plans,
    pub legacy: PlanId,
}

/// Who pushed: the account and the device of the session, kept with every revision (the audit
/// trail), whatever the revision itself claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub account: String,
    pub device: String,
}

/// A helper's offer on the public wish wall, as kept ([`Store::add_offer`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OfferRow {
    pub id: String,
    pub record: String,
    pub unit: String,
    pub plan: String,
    pub form: String,
    pub what: String,
    pub name: String,
    pub phone: String,
    pub kind: String,
    pub note: String,
    /// [`shequ_model::wall::OfferState::as_str`].
    pub state: String,
    pub made_at: i64,
    pub decided_at: Option<i64>,
    /// The account that answered it; empty while it waits.
    pub decided_by: String,
}

/// A photo the server holds ([`Store::add_photo`]); its bytes are in the object store.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoRow {
    pub id: PhotoId,
    pub bytes: i64,
    pub width: u32,
    pub height: u32,
    pub received_at: i64,
    pub account: String,
}

/// A resident's submission from the public wish wall, as kept ([`Store::add_submission`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionRow {
    pub id: String,
    pub unit: String,
    pub plan: String,
    pub form: String,
    /// The fields sent, as JSON.
    pub content: String,
    pub phone: String,
    /// [`shequ_model::wall::OfferState::as_str`].
    pub state: String,
    pub made_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: String,
}

/// A live record as [`Store::record_page`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedRow {
    /// The number of its current revision: its place in the list.
    pub seq: i64,
    pub current: Revision,
    pub unit_name: String,
    /// The name of the account that pushed its first revision (the username when it is gone).
    pub author: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub conflict: bool,
}

/// A record's history as [`Store::record_history`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRows {
    /// The newest revisions, and the current one when it is older, in the order stored.
    pub shown: Vec<Stored>,
    /// The older revisions some of those were made from (for what they changed).
    pub earlier: Vec<Revision>,
    /// The revisions stored before the newest that are not shown.
    pub omitted: u64,
    /// The record's current version, as the records table keeps it.
    pub current: Revision,
    pub conflict: bool,
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub account: Account,
    pub password_hash: String,
    pub must_change: bool,
    pub disabled: bool,
}

/// The password guesses counted against one key (see [`crate::auth`]); none kept is a count of 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Strikes {
    pub count: u32,
    /// When the last one was counted, in milliseconds since the epoch.
    pub last_at: i64,
}

/// A session as stored: the token itself is never kept, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub token_hash: String,
    pub username: String,
    pub device: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// Opens the store the database URL names.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, OpenError> {
    if url.starts_with("sqlite://") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::open(url).await?))
    } else {
        Err(OpenError::Unsupported(format!(
            "`{url}` is not a database URL Shequ knows (use sqlite://PATH or postgres://USER@HOST/DATABASE)"
        )))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The exclusive upper bound of the codes under `prefix`: digits sort below ':'.
pub(crate) fn prefix_end(prefix: &str) -> String {
    shequ_model::UnitCode::subtree_end(prefix)
}

/// The report of `code` under `plan`, now or as of the end of `as_of`: its figures and its
/// children's, rolled up from the figures kept per unit, against the targets in force (the
/// plan's, with the per-town targets set since over them). None when there is no such unit.
///
/// Above a county, the counties rolled up for an earlier report are taken as they were unless
/// their figures, targets or areas have changed since; the nation's report takes its provinces
/// so too, each kept under the sum of its counties' numbers ([`county_rollups`]).
pub async fn report(
    store: &dyn Store,
    plan: &Plan,
    code: &str,
    as_of: Option<Month>,
) -> Result<Option<Report>, StoreError> {
    if code.len() >= Level::County.code_len() {
        let tree = store.area_tree(code).await?;
        if tree.get(code).is_none() {
            return Ok(None);
        }
        let kept = store.unit_figures(&plan.id, code, as_of).await?;
        let targets = store.town_targets(&plan.id).await?;
        return Ok(Rollups::from_figures(plan, &tree, &kept)
            .with_town_targets(&targets)
            .as_of(as_of)
            .report(code));
    }
    // The numbers first: everything read after them is at least as new as they say.
    let versions = store.county_versions(code).await?;
    let targets = store.town_targets(&plan.id).await?;
    if code.is_empty() {
        return nation(store, plan, as_of, &versions, &targets)
            .await
            .map(Some);
    }
    let Some((tree, known)) = wide(store, plan, code, as_of, &versions, &targets).await? else {
        return Ok(None);
    };
    Ok(Rollups::from_known(plan, &tree, &known)
        .with_town_targets(&targets)
        .as_of(as_of)
        .report(code))
}

/// The tree of a scope above a county, and every county of it rolled up: as kept when its
/// numbers have not moved, else rolled up again and kept. None when there is no such unit.
async fn wide(
    store: &dyn Store,
    plan: &Plan,
    code: &str,
    as_of: Option<Month>,
    versions: &CountyVersions,
    targets: &TownTargets,
) -> Result<Option<(Arc<AreaTree>, Known)>, StoreError> {
    let tree = store.area_tree(code).await?;
    if tree.get(code).is_none() {
        return Ok(None);
    }
    let kept_counties = store.county_rollups();
    let counties: Vec<&Area> = tree.iter().filter(|a| a.level == Level::County).collect();
    let mut known = Known::with_capacity(counties.len());
    let mut stale = Vec::new();
    for county in counties {
        match kept_counties.get(
            &plan.id,
            as_of,
            &county.code,
            versions.of(&county.code),
            versions,
        ) {
            Some(unit) => {
                known.insert(county.code.clone(), unit);
            }
            None => stale.push(county),
        }
    }
    if !stale.is_empty() {
        // A few counties are read one by one; many, with the whole scope at once.
        let kept = if stale.len() <= STALE_COUNTIES_READ_ALONE {
            let mut kept = UnitFigures::new();
            for county in &stale {
                kept.extend(store.unit_figures(&plan.id, &county.code, as_of).await?);
            }
            kept
        } else {
            store.unit_figures(&plan.id, code, as_of).await?
        };
        let rollups = Rollups::from_figures(plan, &tree, &kept)
            .with_town_targets(targets)
            .as_of(as_of);
        for county in stale {
            let unit = Arc::new(rollups.known_unit(county));
            let version = versions.of(&county.code);
            kept_counties.keep(
                &plan.id,
                as_of,
                &county.code,
                version,
                versions,
                unit.clone(),
            );
            known.insert(county.code.clone(), unit);
        }
    }
    Ok(Some((tree, known)))
}

/// The nation's report: its provinces, each as kept while none of its counties' numbers has
/// moved (their sum has not), else rolled up again over its counties as [`wide`] keeps them. The
/// country's 660 k units are never walked whole.
async fn nation(
    store: &dyn Store,
    plan: &Plan,
    as_of: Option<Month>,
    versions: &CountyVersions,
    targets: &TownTargets,
) -> Result<Report, StoreError> {
    let provinces = store.children("").await?;
    let kept = store.county_rollups();
    let mut known = Known::with_capacity(provinces.len());
    for province in &provinces {
        let version = versions.sum_under(&province.code);
        if let Some(unit) = kept.get(&plan.id, as_of, &province.code, version, versions) {
            known.insert(province.code.clone(), unit);
            continue;
        }
        let Some((tree, counties)) =
            wide(store, plan, &province.code, as_of, versions, targets).await?
        else {
            continue;
        };
        let unit = Rollups::from_known(plan, &tree, &counties)
            .with_town_targets(targets)
            .as_of(as_of)
            .known_unit(province);
        let unit = Arc::new(unit);
        kept.keep(
            &plan.id,
            as_of,
            &province.code,
            version,
            versions,
            unit.clone(),
        );
        known.insert(province.code.clone(), unit);
    }
    let mut units = provinces;
    units.push(Area::nation());
    let tree = AreaTree::new(units);
    Ok(Rollups::from_known(plan, &tree, &known)
        .with_town_targets(targets)
        .as_of(as_of)
        .report("")
        .expect("the nation is in its tree"))
}

/// Up to this many counties rolled up again are read one query each; more, in one for the scope.
const STALE_COUNTIES_READ_ALONE: usize = 32;
