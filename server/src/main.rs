//! `shequ-server`: serve (the default), import areas, check a plan.

use clap::{Parser, Subcommand};
use shequ_server::settings::{Layer, Settings};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "shequ-server", version, about = "Shequ (社区建设工作台) server")]
struct Cli {
    /// A TOML settings file (keys: database_url, listen, plan, dist, seed_areas).
    #[arg(long, env = "SHEQU_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH.
    #[arg(long = "database", global = true)]
    database: Option<String>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, global = true)]
    listen: Option<String>,
    /// The plan file.
    #[arg(long, global = true)]
    plan: Option<PathBuf>,
    /// The built app's folder.
    #[arg(long, global = true)]
    dist: Option<PathBuf>,
    /// An areas file imported at start-up (idempotent).
    #[arg(long, global = true)]
    seed_areas: Option<PathBuf>,
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
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHEQU_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let flags = Layer {
        database_url: cli.database,
        listen: cli.listen,
        plan: cli.plan,
        dist: cli.dist,
        seed_areas: cli.seed_areas,
    };
    let settings = match Settings::resolve(cli.config.as_deref(), Layer::from_env(), flags) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::ImportAreas { file } => {
            let store = match shequ_server::store::open(&settings.database_url).await {
                Ok(s) => s,
                Err(e) => return fail(format!("--database / SHEQU_DATABASE_URL: {e}")),
            };
            match shequ_server::import_areas(store.as_ref(), &file).await {
                Ok(report) => {
                    println!("imported {}: {report}", file.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::CheckPlan { file } => {
            let path = file.unwrap_or(settings.plan);
            match shequ_server::load_plan(&path) {
                Ok(p) => {
                    println!("{}: {} ({}), {} forms, {} indicators: valid", path.display(), p.title, p.id, p.forms.len(), p.indicators.len());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
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
