//! `shequ-server`: serve (the default), import areas, check and keep plans, add accounts, export
//! the decomposition table and import the towns' targets from it.

use clap::{Parser, Subcommand};
use shequ_model::plan::{Plan, PlanId, Plans};
use shequ_server::settings::{Flags, SettingError, Settings};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

// A push allocates and frees a few hundred small blocks a revision (its JSON, the revision, the
// statements' values): with the system's allocator that was a fifth of the server's processor
// time during ingest (see docs/benchmarks.md, "Ingest with the disk after the turn and another
// allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "shequ-server",
    version,
    about = "Shequ (社区建设工作台) server"
)]
struct Cli {
    #[command(flatten)]
    flags: Flags,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the app (the default).
    Serve,
    /// Import org units from a division-code CSV (code,name,level,parent_code).
    ImportAreas { file: PathBuf },
    /// Check a plan file and print what it holds, or every error in it.
    CheckPlan { file: Option<PathBuf> },
    /// The plans kept in the database.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Recompute every unit's kept figures from the records (for repair), and print what was
    /// fixed.
    RebuildRollups,
    /// Write a unit's decomposition table (目标任务分解表: targets and figures of its towns or
    /// villages) as .xlsx, the same file as the report page's button.
    ExportReport {
        /// The unit: a county lists its towns, a town its villages.
        #[arg(long)]
        unit: String,
        /// The plan; the current one when not given.
        #[arg(long, value_parser = PlanId::parse)]
        plan: Option<PlanId>,
        /// `YYYY-MM`: the figures as of the end of that month; now when not given.
        #[arg(long)]
        as_of: Option<String>,
        file: PathBuf,
    },
    /// Set the towns' targets from the county's decomposition table (an exported .xlsx with the
    /// towns' targets filled in), and print what changed, or every wrong cell (then nothing is
    /// changed).
    ImportTargets {
        /// The plan; the current one when not given.
        #[arg(long, value_parser = PlanId::parse)]
        plan: Option<PlanId>,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum PlanCommand {
    /// Keep a plan file in the database. A plan already kept with other content is refused,
    /// unless --replace.
    Add {
        file: PathBuf,
        #[arg(long)]
        replace: bool,
    },
    /// List the plans kept, the current one marked.
    List,
    /// Make a kept plan the one new records belong to.
    Current {
        #[arg(value_parser = PlanId::parse)]
        id: PlanId,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an account. The password comes from SHEQU_NEW_PASSWORD, or a one-time password is
    /// made and printed (to be changed at the first login).
    Add {
        username: String,
        /// village_worker, town_supervisor, county_admin, city_supervisor or province_supervisor
        #[arg(long)]
        role: String,
        /// The code of the account's org unit (a village, a town, a county, a city or a
        /// province, as the role says).
        #[arg(long)]
        unit: String,
        /// The person's name.
        #[arg(long)]
        name: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHEQU_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let settings = match Settings::resolve(&cli.flags) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::ImportAreas { file } => {
            let store = match shequ_server::store::open(&settings.database_url).await {
                Ok(s) => s,
                Err(e) => return fail(SettingError::new("database_url", e)),
            };
            match shequ_server::import_areas(store.as_ref(), &file).await {
                Ok(report) => {
                    println!("imported {}: {report}", file.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::User(UserCommand::Add {
            username,
            role,
            unit,
            name,
        }) => add_user(&settings, username, role, unit, name).await,
        Command::Plan(command) => plan(&settings, command).await,
        Command::RebuildRollups => rebuild_rollups(&settings).await,
        Command::ExportReport {
            unit,
            plan,
            as_of,
            file,
        } => export_report(&settings, &unit, plan.as_ref(), as_of.as_deref(), &file).await,
        Command::ImportTargets { plan, file } => {
            import_targets(&settings, plan.as_ref(), &file).await
        }
        Command::CheckPlan { file } => {
            let path = file.unwrap_or(settings.plan);
            match shequ_server::load_plan(&path) {
                Ok(p) => {
                    println!(
                        "{}: {} ({}), {} forms, {} indicators: valid",
                        path.display(),
                        p.title,
                        p.id,
                        p.forms.len(),
                        p.indicators.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
    }
}

async fn plan(settings: &Settings, command: PlanCommand) -> ExitCode {
    use shequ_server::store::{PlanAdded, PlanRole};
    let store = match shequ_server::store::open(&settings.database_url).await {
        Ok(s) => s,
        Err(e) => return fail(format!("--database / SHEQU_DATABASE_URL: {e}")),
    };
    // Records from before plans were kept get the plan current at the first start: a plan added
    // or made current before that start would take them.
    if !matches!(command, PlanCommand::List) {
        let unsettled = match store.plan_role(PlanRole::Legacy).await {
            Ok(legacy) => legacy.is_none(),
            Err(e) => return fail(e),
        };
        let holds_records = match store.audit("", &Default::default(), 1).await {
            Ok(latest) => !latest.is_empty(),
            Err(e) => return fail(e),
        };
        if unsettled && holds_records {
            return fail(
                "the database holds records made before plans were kept: start the server once with the plan they were made under (--plan / SHEQU_PLAN), then add or choose plans",
            );
        }
    }
    match command {
        PlanCommand::Add { file, replace } => {
            let plan = match shequ_server::load_plan(&file) {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            match shequ_server::add_plan(store.as_ref(), &plan, replace).await {
                Ok(PlanAdded::New) => println!("added the plan {} ({})", plan.id, plan.title),
                Ok(PlanAdded::Same) => println!("the plan {} is already kept as it is", plan.id),
                Ok(PlanAdded::Replaced) => println!("replaced the plan {}", plan.id),
                Ok(PlanAdded::Differs) => {
                    return fail(format!(
                        "{}: the plan {} is already kept with other content, and stays as it was (--replace replaces it)",
                        file.display(),
                        plan.id
                    ))
                }
                Err(e) => return fail(e),
            }
        }
        PlanCommand::List => {
            let plans = match shequ_server::stored_plans(store.as_ref(), None).await {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            for p in plans.summaries() {
                let mark = if p.current { " (current)" } else { "" };
                println!("{}\t{}\t{}{mark}", p.id, p.year, p.title);
            }
        }
        PlanCommand::Current { id } => {
            let plans = match shequ_server::stored_plans(store.as_ref(), Some(&id)).await {
                Ok(p) => p,
                Err(e) => return fail(e),
            };
            if let Err(e) = store.set_current_plan(&plans.current().id).await {
                return fail(e);
            }
            println!("the current plan is now {id}");
        }
    }
    ExitCode::SUCCESS
}

/// The database the settings name, and the plans it keeps.
async fn stored(
    settings: &Settings,
) -> Result<(std::sync::Arc<dyn shequ_server::store::Store>, Plans), SettingError> {
    let store = shequ_server::store::open(&settings.database_url)
        .await
        .map_err(|e| SettingError::new("database_url", e))?;
    let plans = shequ_server::stored_plans(store.as_ref(), None).await?;
    Ok((store, plans))
}

async fn rebuild_rollups(settings: &Settings) -> ExitCode {
    let (store, plans) = match stored(settings).await {
        Ok(kept) => kept,
        Err(e) => return fail(e),
    };
    match store.rebuild_rollups(&plans).await {
        Ok(report) => {
            println!("rebuilt the figures: {report}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

async fn export_report(
    settings: &Settings,
    unit: &str,
    plan: Option<&PlanId>,
    as_of: Option<&str>,
    file: &std::path::Path,
) -> ExitCode {
    let (store, plans) = match stored(settings).await {
        Ok(kept) => kept,
        Err(e) => return fail(e),
    };
    let plan = match chosen(&plans, plan) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let as_of = match as_of.map(|m| plan.month(m)).transpose() {
        Ok(m) => m,
        Err(e) => return fail(format!("--as-of: {e}")),
    };
    let report = match shequ_server::store::report(store.as_ref(), plan, unit, as_of).await {
        Ok(Some(r)) => r,
        Ok(None) => return fail(format!("--unit: no org unit {unit}")),
        Err(e) => return fail(e),
    };
    let bytes =
        match shequ_server::table::workbook(plan, &report, as_of, shequ_server::auth::now_ms()) {
            Ok(b) => b,
            Err(e) => return fail(e),
        };
    match std::fs::write(file, bytes) {
        Ok(()) => {
            println!(
                "wrote {} ({}, {} units)",
                file.display(),
                report.unit.area.name,
                report.children.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("{}: {e}", file.display())),
    }
}

async fn import_targets(
    settings: &Settings,
    plan: Option<&PlanId>,
    file: &std::path::Path,
) -> ExitCode {
    use shequ_model::rollup::CellKind;
    use shequ_model::shown;
    let (store, plans) = match stored(settings).await {
        Ok(kept) => kept,
        Err(e) => return fail(e),
    };
    let plan = match chosen(&plans, plan) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    // The file is refused past the import's limit before it is read whole.
    match std::fs::metadata(file) {
        Ok(m) if m.len() > shequ_server::table::MAX_IMPORT_BYTES as u64 => {
            return fail(format!(
                "{}: 文件太大(上限 {} MiB)",
                file.display(),
                shequ_server::table::MAX_IMPORT_BYTES / 1024 / 1024
            ))
        }
        Ok(_) => {}
        Err(e) => return fail(format!("{}: {e}", file.display())),
    }
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    let by = shequ_server::store::Author {
        account: "shequ-server".into(),
        device: "import-targets".into(),
    };
    match shequ_server::import_targets(store.as_ref(), plan, &bytes, &by).await {
        Ok(changes) if changes.is_empty() => {
            println!("{}: 目标没有变化", file.display());
            ExitCode::SUCCESS
        }
        Ok(changes) => {
            for c in &changes {
                println!(
                    "{} {} · {}: {} → {}",
                    c.town,
                    c.town_name,
                    c.indicator_name,
                    shown::target(c.before.as_ref(), CellKind::Number, ""),
                    shown::target(Some(&c.after), CellKind::Number, "")
                );
            }
            println!("{}: 已导入 {} 个目标", file.display(), changes.len());
            ExitCode::SUCCESS
        }
        Err(shequ_server::TargetImportError::Cells(cells)) => {
            for c in &cells {
                eprintln!("{c}");
            }
            fail(format!(
                "{}: 分解表有 {} 处错误,未导入任何目标",
                file.display(),
                cells.len()
            ))
        }
        Err(e) => fail(e),
    }
}

/// The plan `--plan` names, or the current one.
fn chosen<'a>(plans: &'a Plans, plan: Option<&PlanId>) -> Result<&'a Arc<Plan>, String> {
    match plan {
        None => Ok(plans.current()),
        Some(id) => plans
            .get(id)
            .ok_or_else(|| format!("--plan: no plan {id} is kept")),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

async fn serve(settings: Settings) -> ExitCode {
    tracing::info!(?settings, "starting");
    let running = match shequ_server::launch(&settings).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    println!("Shequ is running at http://{}/", running.addr);
    tokio::select! {
        r = running.done => match r {
            Ok(Ok(())) => ExitCode::SUCCESS,
            Ok(Err(e)) => fail(format!("server stopped: {e}")),
            Err(e) => fail(format!("server stopped: {e}")),
        },
        _ = tokio::signal::ctrl_c() => {
            eprintln!("stopping");
            ExitCode::SUCCESS
        }
    }
}

async fn add_user(
    settings: &Settings,
    username: String,
    role: String,
    unit: String,
    name: String,
) -> ExitCode {
    use shequ_model::auth::{check_password, check_username, Account, Role};
    let Some(role) = Role::parse(&role) else {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        return fail(format!(
            "--role: `{role}` is not one of {}",
            roles.join(", ")
        ));
    };
    if let Err(e) = check_username(&username) {
        return fail(format!("username: {e}"));
    }
    let unit = match shequ_model::UnitCode::parse_scope(&unit) {
        Ok(u) => u,
        Err(e) => return fail(format!("--unit: {e}")),
    };
    // The nation has no row to look up: its code is the empty one, and only its role has it.
    use shequ_model::Level;
    if (unit.level() == Level::Nation) != (role.level() == Level::Nation) {
        return fail(format!(
            "--unit: a {} belongs to a {}; the nation's unit is the empty code `--unit \"\"`",
            role.as_str(),
            role.level()
        ));
    }
    let store = match shequ_server::store::open(&settings.database_url).await {
        Ok(s) => s,
        Err(e) => return fail(SettingError::new("database_url", e)),
    };
    match store.area(unit.as_str()).await {
        Ok(None) if unit.level() == Level::Nation => {}
        Ok(Some(a)) if a.level == role.level() => {}
        Ok(Some(a)) => {
            return fail(format!(
                "--unit: {unit} ({}) is a {}, a {} belongs to a {}",
                a.name,
                a.level,
                role.as_str(),
                role.level()
            ))
        }
        Ok(None) => {
            return fail(format!(
                "--unit: no org unit {unit} (import the areas first)"
            ))
        }
        Err(e) => return fail(e),
    }
    let (password, one_time) = match std::env::var("SHEQU_NEW_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        Some(p) => (p, false),
        None => (shequ_server::auth::generate_password(), true),
    };
    if let Err(e) = check_password(&password) {
        return fail(format!("SHEQU_NEW_PASSWORD: {e}"));
    }
    let account = Account {
        username: username.clone(),
        name,
        role,
        unit,
    };
    match shequ_server::auth::add_account(store.as_ref(), account, &password, one_time).await {
        Ok(true) if one_time => {
            println!("added {username}; one-time password: {password} (to be changed at the first login)");
            ExitCode::SUCCESS
        }
        Ok(true) => {
            println!("added {username}");
            ExitCode::SUCCESS
        }
        Ok(false) => fail(format!("username: {username} is taken")),
        Err(e) => fail(e),
    }
}
