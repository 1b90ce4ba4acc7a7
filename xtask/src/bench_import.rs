//! `cargo xtask bench-import`: a synthetic national division file the size of the real one
//! (31 provinces, 342 cities, about 2,900 counties, 41,355 towns, 618,133 village-level units),
//! imported into a fresh SQLite database by the release server, twice: the first import and a
//! re-import. Prints the rows, the seconds and the peak memory (VmHWM) of the server process.

use crate::{cargo, root, sh, Result};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const PROVINCES: usize = 31;
const CITIES: usize = 342;
const TOWNS: usize = 41_355;
const VILLAGES: usize = 618_133;
/// Towns per county, about the national average.
const TOWNS_PER_COUNTY: usize = 14;

/// Writes the file; returns its number of rows.
fn write_national(path: &Path) -> Result<usize> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| e.to_string())?);
    writeln!(out, "code,name,level,parent_code").map_err(|e| e.to_string())?;
    let mut rows = 0;
    let mut line = |s: String| -> Result {
        rows += 1;
        writeln!(out, "{s}").map_err(|e| e.to_string())
    };
    let counties = TOWNS.div_ceil(TOWNS_PER_COUNTY);
    let (mut town_n, mut village_n, mut county_n) = (0, 0, 0);
    for p in 0..PROVINCES {
        let province = format!("{:02}", 11 + p * 2);
        line(format!("{province},省{p},province,"))?;
        let cities = CITIES / PROVINCES + usize::from(p < CITIES % PROVINCES);
        for c in 1..=cities {
            let city = format!("{province}{c:02}");
            line(format!("{city},市{c},city,{province}"))?;
            let city_index = p * (CITIES / PROVINCES) + c;
            let per_city = counties * city_index / CITIES - county_n;
            for k in 1..=per_city {
                county_n += 1;
                let county = format!("{city}{k:02}");
                line(format!("{county},县{county_n},county,{city}"))?;
                let towns = (TOWNS * county_n / counties) - town_n;
                for t in 1..=towns {
                    town_n += 1;
                    let town = format!("{county}{t:03}");
                    line(format!("{town},镇{town_n},town,{county}"))?;
                    let villages = (VILLAGES * town_n / TOWNS) - village_n;
                    for v in 1..=villages {
                        village_n += 1;
                        line(format!(
                            "{town}{v:03},村{village_n}村民委员会,village,{town}"
                        ))?;
                    }
                }
            }
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(rows)
}

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
    let rows = write_national(&file)?;
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
