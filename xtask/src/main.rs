//! Shequ's build tasks, so that two commands set up everything on a fresh machine:
//!
//! * `cargo xtask run`: installs what is missing, builds the app and the server in release mode,
//!   and runs Shequ on SQLite with the seeds' Fufeng hierarchy and its plans (2019 current);
//! * `cargo xtask test`: installs what is missing and runs every test (shared crate, server,
//!   the app's store in headless Chromium, and the end-to-end test in real Chromium);
//! * `cargo xtask build`: builds the app into `dist/`;
//! * `cargo xtask size`: prints the field worker's critical path in bytes (brotli), and each
//!   piece of the app loaded when a page first needs it;
//! * `cargo xtask attack`: floods a release server and prints what it held (see `attack.rs`).
//!
//! The app is built without trunk: cargo, then wasm-bindgen (the exact version in Cargo.lock),
//! then wasm-opt from the npm package `binaryen` when it is there. The wasm is split at its
//! `#[wasm_split]` functions (`wasm_split_cli_support`) before wasm-bindgen runs.

mod attack;
mod bench_import;
mod dist;
mod setup;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let result = match task {
        "build" => build(),
        "run" => run(&args[1..]),
        "test" => test(),
        "size" => build().and_then(|_| dist::print_size(&root().join("dist"))),
        "fuzz" => fuzz(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60)),
        "attack" => attack::attack(),
        "bench-import" => bench_import::bench_import(),
        "bench-phone" => bench_phone(&args[1..]),
        "bench-photo" => browser_bench("tests/e2e/bench-photo.mjs", &args[1..]),
        "bench-lighthouse" => bench_lighthouse(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <run|test|build|size|fuzz [seconds per target]|attack|bench-import|bench-phone [records] [delay ms] [saves]|bench-photo [photos]|bench-lighthouse [visits]>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {task}: {e}");
            ExitCode::FAILURE
        }
    }
}

pub type Result<T = ()> = std::result::Result<T, String>;

/// Runs a command in the workspace, failing with its name if it fails.
pub fn sh(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    eprintln!("» {shown}");
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn build() -> Result {
    setup::wasm_target()?;
    setup::wasm_bindgen()?;
    setup::node_packages()?;
    // The splitter follows calls by the linker's relocations, which only the final link needs to
    // keep: given to `cargo rustc`, the flag leaves every dependency's build as it is.
    sh(cargo().args([
        "rustc",
        "-p",
        "shequ-app",
        "--bin",
        "shequ-app",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
        "--",
        "-C",
        "link-arg=--emit-relocs",
    ]))?;
    dist::assemble(&root())
}

fn run(extra: &[String]) -> Result {
    build()?;
    sh(cargo().args(["build", "--release", "-p", "shequ-server"]))?;
    let mut cmd = Command::new(root().join("target/release/shequ-server"));
    // Defaults for the demo; SHEQU_* set by the caller win.
    for (k, v) in [
        ("SHEQU_DATABASE_URL", "sqlite://shequ-demo.db"),
        ("SHEQU_SEED_AREAS", "seeds/fufeng-county.csv"),
        ("SHEQU_PLAN", "seeds/plan-2018.toml"),
        ("SHEQU_PLANS", "seeds"),
        ("SHEQU_DIST", "dist"),
        ("SHEQU_DEMO", "1"),
        ("SHEQU_DEMO_RECORDS", "seeds/demo/records.toml"),
    ] {
        if std::env::var_os(k).is_none() {
            cmd.env(k, v);
        }
    }
    cmd.args(extra);
    sh(&mut cmd)
}

/// The real app in headless Chromium against the release server through a slow, counting link
/// (`tests/e2e/bench-phone.mjs`).
fn bench_phone(extra: &[String]) -> Result {
    browser_bench("tests/e2e/bench-phone.mjs", extra)
}

/// Lighthouse on the login page and a worker's home, and the offline repeat visit
/// (`tests/e2e/bench-lighthouse.mjs`). Lighthouse is installed from npm into target/lighthouse,
/// apart from the test command's packages, which do not need it.
fn bench_lighthouse(extra: &[String]) -> Result {
    let dir = root().join("target/lighthouse");
    if !dir.join("node_modules/.bin/lighthouse").exists() {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        sh(Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--prefix",
            ])
            .arg(&dir)
            .arg("lighthouse@12.8.2"))?;
    }
    browser_bench("tests/e2e/bench-lighthouse.mjs", extra)
}

/// Runs a browser benchmark script against the app as built for phones and the release server.
fn browser_bench(script: &str, extra: &[String]) -> Result {
    setup::chromium()?;
    build()?;
    sh(cargo().args(["build", "--release", "-p", "shequ-server"]))?;
    sh(Command::new("node").arg(script).args(extra).env(
        "SHEQU_SERVER_BIN",
        root().join("target/release/shequ-server"),
    ))
}

fn test() -> Result {
    let started = std::time::Instant::now();
    setup::chromium()?;
    setup::libreoffice()?;
    build()?;
    // Each suite's time, so that the budget of the test command can be kept with figures.
    let mut times = vec![("set-up and the app's build".to_string(), started.elapsed())];
    let mut failed = Vec::new();
    let mut passed = 0;
    let mut last = std::time::Instant::now();
    let mut step = |name: &str, r: Result| {
        times.push((name.to_string(), last.elapsed()));
        last = std::time::Instant::now();
        match r {
            Ok(()) => passed += 1,
            Err(e) => {
                eprintln!("✗ {name}: {e}");
                failed.push(name.to_string());
            }
        }
    };
    step("rustfmt and clippy installed", setup::lint_tools());
    step(
        "formatting (rustfmt.toml)",
        sh(cargo().args(["fmt", "--all", "--check"])),
    );
    step(
        "clippy, warnings refused",
        sh(cargo().args([
            "clippy",
            "--workspace",
            "--exclude",
            "shequ-app",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
        .and_then(|_| {
            sh(cargo().args([
                "clippy",
                "-p",
                "shequ-app",
                "--target",
                "wasm32-unknown-unknown",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        }),
    );
    // The fault simulation and the browser tests start this binary as a real process.
    step(
        "server binary",
        sh(cargo().args(["build", "-p", "shequ-server"])),
    );
    // Every server and fault-simulation test runs on SQLite and on a real PostgreSQL.
    let pg = setup::Postgres::start();
    match &pg {
        Ok(pg) => step(
            "shared crate, server on SQLite and PostgreSQL, fault simulation, build tasks",
            sh(cargo()
                .args(["test", "--workspace", "--exclude", "shequ-app"])
                .env("SHEQU_TEST_POSTGRES_URL", &pg.url)),
        ),
        Err(e) => step("PostgreSQL for the tests", Err(e.clone())),
    }
    drop(pg);
    step(
        "app store in headless Chromium",
        sh(cargo()
            .args([
                "test",
                "-p",
                "shequ-app",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120")),
    );
    step(
        "end to end in Chromium",
        sh(Command::new("node")
            .args(["--test", "--test-concurrency=1", "tests/e2e/"])
            .env("SHEQU_SERVER_BIN", root().join("target/debug/shequ-server"))),
    );
    for (name, took) in &times {
        println!("{:>7.1} s  {name}", took.as_secs_f64());
    }
    println!(
        "suites: {passed} passed, {} failed, in {:.1} min",
        failed.len(),
        started.elapsed().as_secs_f64() / 60.0
    );
    if failed.is_empty() {
        eprintln!("xtask test: every suite passed");
        Ok(())
    } else {
        Err(format!("failed: {}", failed.join(", ")))
    }
}

/// Runs each fuzz target for `secs` seconds and prints what libFuzzer reports. cargo-fuzz wants a
/// nightly compiler for its flags; RUSTC_BOOTSTRAP lets this machine's stable one take them.
fn fuzz(secs: u64) -> Result {
    if Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        sh(Command::new("cargo").args(["install", "cargo-fuzz"]))?;
    }
    let mut summary = Vec::new();
    // libFuzzer adds what it finds to the first folder and only reads the others: the plan
    // parser starts from the plans in seeds/ as they are today.
    for (target, seeds) in [("sync_payload", None), ("plan_parser", Some("seeds"))] {
        let corpus = root().join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        let out = Command::new("cargo")
            .args(["fuzz", "run", "--sanitizer", "none", target])
            .arg(&corpus)
            .args(seeds.map(|s| root().join(s)))
            .args([
                "--",
                &format!("-max_total_time={secs}"),
                "-print_final_stats=1",
            ])
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(root())
            .output()
            .map_err(|e| format!("cargo fuzz: {e}"))?;
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        let last = log
            .lines()
            .rfind(|l| l.contains("cov:") && l.starts_with('#'))
            .unwrap_or("")
            .to_string();
        let runs = log
            .lines()
            .find(|l| l.starts_with("Done "))
            .unwrap_or("")
            .to_string();
        let execs = log
            .lines()
            .find(|l| l.starts_with("stat::number_of_executed_units"))
            .unwrap_or("")
            .to_string();
        if !out.status.success() {
            eprintln!("{log}");
            return Err(format!(
                "fuzz target {target} found a failure (see fuzz/artifacts/{target})"
            ));
        }
        summary.push(format!("{target}: {runs} | {last} | {execs}"));
    }
    for line in summary {
        println!("{line}");
    }
    Ok(())
}
