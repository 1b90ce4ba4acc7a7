//! The soak: `cargo run --release -p shequ-sim --bin soak -- [devices] [kills] [seed]`
//! (defaults 500 devices, 50 kills). Prints its figures; exits non-zero on any lost or doubled
//! revision or any disagreement.

use shequ_sim::server::server_bin;
use shequ_sim::sim::{run, Config};
use shequ_sim::transport::Faults;

fn main() -> std::process::ExitCode {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let cfg = Config {
        devices: args.first().copied().unwrap_or(500) as usize,
        kills: args.get(1).copied().unwrap_or(50) as u32,
        seed: args.get(2).copied().unwrap_or(42),
        changes_per_device: 10,
        // Several processes only on PostgreSQL (SHEQU_SIM_DATABASE_URL).
        servers: std::env::var("SHEQU_SIM_SERVERS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
        database_url: std::env::var("SHEQU_SIM_DATABASE_URL")
            .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("soak.db").display())),
        server_bin: server_bin(),
        faults: Faults::SOME,
    };
    println!(
        "soak: {} devices, {} kills, seed {}, server {}",
        cfg.devices,
        cfg.kills,
        cfg.seed,
        cfg.server_bin.display()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match rt.block_on(run(cfg)) {
        Ok(f) => {
            println!("{f}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("soak failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
