//! `cargo xtask bench-import`: the synthetic national division file ([`shequ_sim::national`]: 31
//! provinces, 342 cities, 2,945 counties, 41,229 towns, 616,249 village-level units) imported into
//! a fresh SQLite database by the release server, twice: the first import and a re-import. Prints
//! the rows, the seconds and the peak memory (VmHWM) of the server process.

use crate::{cargo, root, sh, Result};
use std::process::Command;
use std::time::Instant;

fn peak_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
}

pub fn bench_import() -> Result {
    sh(cargo().args(["build", "--release", "-p", "shequ-server"]))?;
    let dir = root().join("target/bench-import");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("national.csv");
    let rows = shequ_sim::national::write_national(&file).map_err(|e| e.to_string())?;
    let db = format!("sqlite://{}", dir.join("national.db").display());
    println!("synthetic national file: {rows} rows");
    for run in ["first import", "re-import"] {
        let started = Instant::now();
        let out = Command::new("/usr/bin/time")
            .arg("-v")
            .arg(root().join("target/release/shequ-server"))
            .args(["--database", &db, "import-areas"])
            .arg(&file)
            .output()
            .map_err(|e| format!("/usr/bin/time: {e}"))?;
        let seconds = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!("{run} failed:\n{stderr}"));
        }
        let peak = peak_rss_kib(&stderr).ok_or("no peak memory in /usr/bin/time's output")?;
        println!(
            "{run}: {rows} rows, {seconds:.2} s, peak RSS {:.1} MiB",
            peak as f64 / 1024.0
        );
        println!("  {}", String::from_utf8_lossy(&out.stdout).trim());
    }
    Ok(())
}
