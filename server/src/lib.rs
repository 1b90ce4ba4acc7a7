//! Shequ's server: a thin axum service that receives the phones' changes by sync, rolls them up
//! village → town → county against the plan's targets, and serves the app.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod demo;
pub mod error;
pub mod photos;
pub mod pool;
pub mod serve;
pub mod settings;
pub mod store;
pub mod table;
pub mod web;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use settings::{SettingError, Settings};
use shequ_model::area::{Area, AreaCheck, Level};
use shequ_model::plan::{PlanId, Plans};
use shequ_model::Plan;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use store::{
    AreaImport, ImportReport, PlanAdded, PlanBook, PlanRole, Store, StoreError, AREA_CHUNK,
};
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

/// The largest request body the API takes, after decompression: 8 MiB. It is enforced once, by
/// axum's body limit on the JSON extractor (its 2 MiB default would otherwise apply whatever other
/// layer says), and answered 413 in Chinese; a phone splits a batch that is too large.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// A plan as the API serves it: its JSON, encoded once, and its ETag.
pub struct ServedPlan {
    pub json: String,
    pub etag: String,
}

impl ServedPlan {
    fn of(plan: &Plan) -> ServedPlan {
        let json = serde_json::to_string(plan).expect("a plan is JSON");
        let etag = format!("\"{}\"", shequ_model::record::sha256_hex(json.as_bytes()));
        ServedPlan { json, etag }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Every plan the server holds, which is current, and the legacy plan.
    pub plans: Arc<PlanBook>,
    /// Each plan as served, by id.
    pub served: Arc<BTreeMap<PlanId, ServedPlan>>,
    /// The bounded pool passwords are hashed on.
    pub hashers: Arc<auth::Hashers>,
    /// The bounded pool heavy requests run in (see [`heavy_requests`]).
    pub heavy: Arc<pool::Pool>,
    /// The reverse proxy whose `X-Forwarded-For` names the client.
    pub trusted_proxy: Option<std::net::IpAddr>,
    /// The bounded pool the public wish wall's reads run in: anyone may ask, so a flood is told
    /// to come back rather than queued.
    pub public: Arc<pool::Pool>,
    /// Where photos are kept, and the pool their uploads are checked in.
    pub photos: Arc<photos::Photos>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, plans: PlanBook) -> Self {
        let served = plans
            .plans
            .iter()
            .map(|p| (p.id.clone(), ServedPlan::of(p)))
            .collect();
        let limits = settings::Limits::default();
        AppState {
            store,
            plans: Arc::new(plans),
            served: Arc::new(served),
            hashers: Arc::new(auth::Hashers::new(limits.hash_workers)),
            heavy: Arc::new(heavy_requests(limits.heavy_requests)),
            trusted_proxy: None,
            public: Arc::new(pool::Pool::new(
                PUBLIC_READS,
                4,
                "看心愿墙的人太多,请稍后再试",
                5,
            )),
            photos: Arc::new(photos::Photos::in_memory()),
        }
    }
}

/// Public wish wall pages read at once: each reads at most a bounded scan of records.
const PUBLIC_READS: usize = 4;

/// The pool of heavy requests, `at_once` of them served at once. None waits: each holds a
/// request's worth of memory, and its client is better told at once to come back.
pub fn heavy_requests(at_once: usize) -> pool::Pool {
    pool::Pool::new(
        at_once,
        0,
        "服务器正忙于导出、导入或大范围的报表,请稍后再试",
        5,
    )
}

/// The whole service, without a socket, so tests can call it directly.
pub fn app(state: AppState, dist: &Path) -> Router {
    // Phones send push batches compressed (gzip from the browser's CompressionStream); the body
    // limit applies to the decompressed size. Every refusal, whichever layer makes it, leaves the
    // API as the same JSON.
    let api = api::router()
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(RequestDecompressionLayer::new())
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(error::json_refusals));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(api)
        .merge(api::wall_pages())
        .with_state(state)
        .merge(web::router(dist))
        .layer(axum::middleware::from_fn(web::security_headers))
}

async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> StatusCode {
    match state.store.ping().await {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// The keys of the settings plans come from (see [`SettingError::new`]).
const PLAN: &str = "plan";
const PLANS: &str = "plans";

/// Reads and validates a plan file.
pub fn load_plan(path: &Path) -> Result<Plan, SettingError> {
    read_plan(path, PLAN)
}

fn read_plan(path: &Path, setting: &str) -> Result<Plan, SettingError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SettingError::new(setting, format!("cannot read {}: {e}", path.display())))?;
    Plan::parse(&path.display().to_string(), &text).map_err(|e| SettingError::new(setting, e))
}

/// The plan files the settings name: `plan`, then every `*.toml` in the `plans` folder.
fn plan_files(s: &Settings) -> Result<Vec<(&'static str, std::path::PathBuf)>, SettingError> {
    let mut files = vec![(PLAN, s.plan.clone())];
    if let Some(dir) = &s.plans {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| SettingError::new(PLANS, format!("cannot read {}: {e}", dir.display())))?;
        let mut found: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        found.sort();
        files.extend(found.into_iter().map(|p| (PLANS, p)));
    }
    Ok(files)
}

fn database(e: impl std::fmt::Display) -> SettingError {
    SettingError::new("database_url", e)
}

/// Keeps a plan in the database (see [`Store::add_plan`]).
pub async fn add_plan(
    store: &dyn Store,
    plan: &Plan,
    replace: bool,
) -> Result<PlanAdded, StoreError> {
    let json = serde_json::to_string(plan).expect("a plan is JSON");
    store.add_plan(&plan.id, &json, replace).await
}

/// Every plan the database holds. The current one is `current` when given, else the one kept by
/// `plan current`, else the latest year.
pub async fn stored_plans(
    store: &dyn Store,
    current: Option<&PlanId>,
) -> Result<Plans, SettingError> {
    let mut plans = Vec::new();
    for (id, json) in store.plans().await.map_err(database)? {
        let plan: Plan = serde_json::from_str(&json)
            .map_err(|e| database(format!("the stored plan {id} is corrupt: {e}")))?;
        plans.push(plan);
    }
    let (setting, current) = match current {
        Some(id) => ("current_plan", Some(id.clone())),
        None => (
            "database_url",
            store
                .plan_role(PlanRole::Current)
                .await
                .map_err(database)?
                .map(|id| PlanId::parse(&id))
                .transpose()
                .map_err(database)?,
        ),
    };
    Plans::new(plans, current.as_ref()).map_err(|message| SettingError::new(setting, message))
}

/// Adds the plans the settings name to the database and reads every plan it holds. A file whose
/// plan is kept with other content stops the start, and the kept plan stays as it was. The first
/// start gives the records made before records carried a plan the plan of the `plan` setting, for
/// good.
pub async fn open_plans(store: &dyn Store, s: &Settings) -> Result<PlanBook, SettingError> {
    let mut given = None;
    for (setting, path) in plan_files(s)? {
        let plan = read_plan(&path, setting)?;
        given.get_or_insert_with(|| plan.id.clone());
        if add_plan(store, &plan, false).await.map_err(database)? == PlanAdded::Differs {
            return Err(SettingError::new(
                setting,
                format!(
                    "{}: the plan {} is already kept with other content, and stays as it was \
                     (to change it: shequ-server plan add --replace {})",
                    path.display(),
                    plan.id,
                    path.display()
                ),
            ));
        }
    }
    let plans = stored_plans(store, s.current_plan.as_ref()).await?;
    // A server from before plans ran with the one plan its `plan` setting names: its records
    // were made in that plan, whichever plan is current now.
    let given = given.expect("the plan setting names a plan file");
    let legacy = store.settle_legacy_plan(&given).await.map_err(database)?;
    let legacy = PlanId::parse(&legacy).map_err(database)?;
    Ok(PlanBook { plans, legacy })
}

/// Why a decomposition table was not imported: nothing of it was.
#[derive(Debug, thiserror::Error)]
pub enum TargetImportError {
    /// Every problem in the sheet, by cell.
    #[error("分解表有 {} 处错误,未导入任何目标", .0.len())]
    Cells(Vec<shequ_model::table::CellError>),
    #[error("计划“{0}”所属的县 {1} 不在单位表中")]
    NoCounty(PlanId, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Imports the towns' targets of `plan` from its county's decomposition table, as `by` sent it
/// (see [`table::read_targets`]): every target that changes, kept in one transaction with the
/// import in the administrators' trail; nothing when the sheet has any error.
pub async fn import_targets(
    store: &dyn Store,
    plan: &Plan,
    bytes: &[u8],
    by: &store::Author,
) -> Result<Vec<shequ_model::table::TargetChange>, TargetImportError> {
    let report = county_report(store, plan).await?;
    let county_area = report.unit.area.clone();
    let (sheet_plan, sheet) = (plan.clone(), bytes.to_vec());
    // Unpacking a sheet holds a core for a while: not one of those serving requests.
    let reading =
        tokio::task::spawn_blocking(move || table::read_targets(&sheet_plan, &report, &sheet))
            .await
            .expect("reading a sheet does not panic");
    let mut found = HashMap::new();
    for code in reading.strangers() {
        // Text that is no unit code names no unit: only codes are looked up.
        if shequ_model::UnitCode::parse(code).is_err() {
            continue;
        }
        if let Some(area) = store.area(code).await? {
            found.insert(code.to_owned(), area);
        }
    }
    let changes = reading
        .finish(&county_area, &found)
        .map_err(TargetImportError::Cells)?;
    keep_targets(
        store,
        plan,
        changes,
        by,
        shequ_model::auth::AdminActionKind::ImportTargets,
    )
    .await
}

/// Sets towns' targets of `plan` as the county typed them on the target page, by the same rule
/// as an imported table ([`shequ_model::table::town_target`]): every target that changes, kept in
/// one transaction with the edit in the administrators' trail; nothing when any is wrong.
pub async fn edit_targets(
    store: &dyn Store,
    plan: &Plan,
    edits: &[shequ_model::table::TargetEdit],
    by: &store::Author,
) -> Result<Vec<shequ_model::table::TargetChange>, TargetImportError> {
    use shequ_model::table::{town_target, CellError, TargetChange};
    let report = county_report(store, plan).await?;
    let mut changes: Vec<TargetChange> = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for edit in edits {
        let named = |message: String| CellError {
            cell: format!("{} · {}", edit.town, edit.indicator),
            message,
        };
        if !seen.insert((edit.town.as_str(), edit.indicator.as_str())) {
            errors.push(named("同一目标填了两次".into()));
            continue;
        }
        let Some(ind) = plan.indicator(&edit.indicator) else {
            errors.push(named(format!("计划中没有指标“{}”", edit.indicator)));
            continue;
        };
        let Some(town) = report.children.iter().find(|c| c.area.code == edit.town) else {
            errors.push(named(format!("单位 {} 不是本县的镇(街道)", edit.town)));
            continue;
        };
        let named = |message: &str| CellError {
            cell: format!("{} · {}", town.area.name, ind.name),
            message: message.to_owned(),
        };
        let Some(cell) = town.cells.iter().find(|c| c.indicator == ind.id) else {
            errors.push(named("此指标不分解到镇"));
            continue;
        };
        match town_target(plan, ind, cell.kind, edit.min) {
            Err(message) => errors.push(named(message)),
            // As the table shows it already: nothing changes.
            Ok(after) if cell.target == Some(after) => {}
            Ok(after) => changes.push(TargetChange::of(ind, &town.area, cell, after)),
        }
    }
    if !errors.is_empty() {
        return Err(TargetImportError::Cells(errors));
    }
    keep_targets(
        store,
        plan,
        changes,
        by,
        shequ_model::auth::AdminActionKind::EditTargets,
    )
    .await
}

/// The county's report under `plan`, its towns' targets in force laid over the plan's.
async fn county_report(
    store: &dyn Store,
    plan: &Plan,
) -> Result<shequ_model::rollup::Report, TargetImportError> {
    store::report(store, plan, &plan.county, None)
        .await?
        .ok_or_else(|| TargetImportError::NoCounty(plan.id.clone(), plan.county.clone()))
}

/// Keeps the towns' targets `changes` sets, with `action` in the administrators' trail, in one
/// transaction.
async fn keep_targets(
    store: &dyn Store,
    plan: &Plan,
    changes: Vec<shequ_model::table::TargetChange>,
    by: &store::Author,
    action: shequ_model::auth::AdminActionKind,
) -> Result<Vec<shequ_model::table::TargetChange>, TargetImportError> {
    if !changes.is_empty() {
        let detail = shequ_model::table::TargetsImported {
            plan: plan.id.clone(),
            changes: changes.clone(),
        };
        let action = shequ_model::auth::AdminAction {
            seq: 0,
            at: auth::now_ms(),
            account: by.account.clone(),
            device: by.device.clone(),
            unit: plan.county.clone(),
            action,
            detail: serde_json::to_value(&detail).expect("targets are JSON"),
        };
        store.set_town_targets(&plan.id, &changes, &action).await?;
    }
    Ok(changes)
}

/// Why an areas file was not imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{file}: {} error(s), nothing imported:\n{}", .errors.len(), .errors.iter().map(|e| format!("  {file}:{e}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        file: String,
        errors: Vec<shequ_model::area::AreaError>,
    },
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// Imports an areas file: all of it or, on any error, none of it. The file is read a line at a
/// time and written in batches inside one transaction, so memory holds one batch and the compact
/// index of [`AreaCheck`], whatever the size of the file; an error anywhere rolls everything back.
pub async fn import_areas(store: &dyn Store, path: &Path) -> Result<ImportReport, ImportError> {
    let file = path.display().to_string();
    let read = |e| ImportError::Read(file.clone(), e);
    let mut reader = std::io::BufReader::new(std::fs::File::open(path).map_err(read)?);
    let mut import = store.begin_area_import().await?;
    let mut check = AreaCheck::new();
    let mut counts = BTreeMap::new();
    let mut batch = Vec::with_capacity(AREA_CHUNK);
    let (mut buf, mut line) = (String::new(), 0);
    loop {
        buf.clear();
        if reader.read_line(&mut buf).map_err(read)? == 0 {
            break;
        }
        line += 1;
        if let Some(area) = check.line(line, &buf) {
            batch.push((line, area));
        }
        if batch.len() == AREA_CHUNK {
            write_areas(import.as_mut(), &mut check, &mut batch, &mut counts).await?;
        }
    }
    write_areas(import.as_mut(), &mut check, &mut batch, &mut counts).await?;
    let unresolved = check.unresolved_parents();
    let parents: Vec<&str> = unresolved.keys().map(String::as_str).collect();
    for chunk in parents.chunks(AREA_CHUNK) {
        let found: HashSet<String> = import
            .stored(chunk)
            .await?
            .into_iter()
            .map(|a| a.code)
            .collect();
        for parent in chunk.iter().filter(|p| !found.contains(**p)) {
            for &line in &unresolved[*parent] {
                check.missing_parent(line, parent);
            }
        }
    }
    check
        .finish()
        .map_err(|errors| ImportError::Invalid { file, errors })?;
    import.commit().await?;
    Ok(ImportReport {
        per_level: counts.into_iter().map(|(l, (n, o))| (l, n, o)).collect(),
    })
}

/// Compares a batch of the file's units with those stored, and adds the new ones while the file
/// has no error (after one, it is only read on, for the errors).
async fn write_areas(
    import: &mut dyn AreaImport,
    check: &mut AreaCheck,
    batch: &mut Vec<(usize, Area)>,
    counts: &mut BTreeMap<Level, (usize, usize)>,
) -> Result<(), StoreError> {
    let codes: Vec<&str> = batch.iter().map(|(_, a)| a.code.as_str()).collect();
    let stored: HashMap<String, Area> = import
        .stored(&codes)
        .await?
        .into_iter()
        .map(|a| (a.code.clone(), a))
        .collect();
    let mut new = Vec::with_capacity(batch.len());
    for (line, area) in batch.drain(..) {
        let count = counts.entry(area.level).or_default();
        match stored.get(&area.code) {
            Some(known) => {
                check.compare(line, &area, known);
                count.1 += 1;
            }
            None => {
                count.0 += 1;
                new.push(area);
            }
        }
    }
    if !check.failed() {
        import.add(&new).await?;
    }
    Ok(())
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .per_level
            .iter()
            .map(|(l, new, old)| format!("{l} {} ({new} new, {old} already there)", new + old))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    /// What it serves with: its store, its plans and its pools.
    pub state: AppState,
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Opens the store, loads the plan, seeds the areas and starts serving. Every failure names the
/// setting behind it.
pub async fn launch(s: &Settings) -> Result<Running, SettingError> {
    let store = store::open(&s.database_url).await.map_err(database)?;
    // What processes starting at once on one database share is written by one at a time.
    let turn = store.start_turn().await.map_err(database)?;
    let plans = open_plans(store.as_ref(), s).await?;
    // Figures kept under a plan since replaced, or never kept (a database from before figures
    // were kept), are computed again from the records before anyone reads them.
    if store.rollups_stale(&plans.plans).await.map_err(database)? {
        let report = store
            .rebuild_rollups(&plans.plans)
            .await
            .map_err(database)?;
        tracing::info!(%report, "figures rebuilt from the records");
    }
    let county = shequ_model::UnitCode::parse(&plans.plans.current().county)
        .map_err(|e| SettingError::new(PLAN, e))?;
    if let Some(seed) = &s.seed_areas {
        let report = import_areas(store.as_ref(), seed)
            .await
            .map_err(|e| SettingError::new("seed_areas", e))?;
        tracing::info!(file = %seed.display(), %report, "areas seeded");
    }
    let admin = auth::ensure_first_admin(store.as_ref(), &county)
        .await
        .map_err(database)?;
    if let Some(password) = admin {
        // Printed once, on the console of whoever set the server up; never logged.
        println!("First administrator: admin, one-time password: {password} (change it at the first login)");
    }
    if s.demo {
        let made = auth::ensure_demo_accounts(store.as_ref(), &county)
            .await
            .map_err(|e| SettingError::new("demo", e))?;
        tracing::info!(made, "demo accounts ready (see the README)");
        if let Some(file) = &s.demo_records {
            let setting = |e: String| SettingError::new("demo_records", e);
            let values = demo::DemoValues::read(file).map_err(setting)?;
            if let Some(filled) = demo::fill(store.as_ref(), &plans, &values)
                .await
                .map_err(|e| setting(e.to_string()))?
            {
                tracing::info!(%filled, "a year of demo records stored");
            }
        }
    }
    turn.end().await.map_err(database)?;
    let listener = tokio::net::TcpListener::bind(&s.listen)
        .await
        .map_err(|e| SettingError::new("listen", format!("cannot listen on {}: {e}", s.listen)))?;
    let addr = listener
        .local_addr()
        .expect("a bound socket has an address");
    let mut state = AppState::new(store, plans);
    state.hashers = Arc::new(auth::Hashers::new(s.limits.hash_workers));
    state.heavy = Arc::new(heavy_requests(s.limits.heavy_requests));
    state.trusted_proxy = s.trusted_proxy;
    state.photos = Arc::new(photos::Photos::from_settings(s)?);
    let router = app(state.clone(), &s.dist);
    let limits = s.limits;
    let done = tokio::spawn(async move { serve::serve(listener, router, limits).await });
    Ok(Running { addr, state, done })
}
