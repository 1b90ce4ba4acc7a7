//! Installs what a fresh machine lacks: the wasm target, rustfmt and clippy, wasm-bindgen-cli at the version in
//! Cargo.lock, the node packages of the tests and the build (playwright-core, binaryen), and
//! Debian's Chromium and ChromeDriver. Each step does nothing when its tool is already there.

use crate::{root, sh, Result};
use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn wasm_target() -> Result {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    sh(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// rustfmt and clippy, which the test command runs; rustup's minimal profile leaves them out.
pub fn lint_tools() -> Result {
    let missing: Vec<&str> = [("fmt", "rustfmt"), ("clippy", "clippy")]
        .into_iter()
        .filter(|(sub, _)| output("cargo", &[sub, "--version"]).is_none())
        .map(|(_, component)| component)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    sh(Command::new("rustup")
        .args(["component", "add"])
        .args(missing))
}

/// The wasm-bindgen version Cargo.lock pins.
pub fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen".into())
}

pub fn wasm_bindgen() -> Result {
    let want = locked_wasm_bindgen()?;
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(want.as_str()) {
        return Ok(());
    }
    // Without --locked: the registry index can lag for one of its dependencies.
    sh(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &want]))
}

pub fn node_packages() -> Result {
    let dir = root().join("tests/e2e");
    if dir.join("node_modules/playwright-core").exists()
        && dir.join("node_modules/binaryen").exists()
    {
        return Ok(());
    }
    sh(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir))
}

pub fn chromium() -> Result {
    let present = |p: &str| std::path::Path::new(p).exists();
    if present("/usr/bin/chromium") && present("/usr/bin/chromedriver") {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// Installs Debian packages, without the ones they merely recommend.
fn apt_install(packages: &[&str]) -> Result {
    sh(Command::new("apt-get").arg("update"))?;
    sh(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// LibreOffice, which the tests open exported spreadsheets with, as a county office would.
pub fn libreoffice() -> Result {
    if std::path::Path::new("/usr/bin/soffice").exists() {
        return Ok(());
    }
    apt_install(&["libreoffice-calc-nogui"])
}

/// A throwaway PostgreSQL cluster from Debian's packages, stopped and removed when dropped.
pub struct Postgres {
    pub url: String,
    dir: Option<std::path::PathBuf>,
    bin: std::path::PathBuf,
    as_postgres: bool,
}

fn pg_bin() -> Option<std::path::PathBuf> {
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

impl Postgres {
    /// `SHEQU_TEST_POSTGRES_URL` when set; otherwise a new cluster on a free port.
    pub fn start() -> Result<Postgres> {
        if let Ok(url) = std::env::var("SHEQU_TEST_POSTGRES_URL") {
            if !url.is_empty() {
                return Ok(Postgres {
                    url,
                    dir: None,
                    bin: Default::default(),
                    as_postgres: false,
                });
            }
        }
        if pg_bin().is_none() {
            apt_install(&["postgresql"])?;
        }
        let bin =
            pg_bin().ok_or("PostgreSQL's initdb was not found after installing postgresql")?;
        let root_user = output("id", &["-u"])
            .map(|s| s.trim() == "0")
            .unwrap_or(false);
        let dir = std::env::temp_dir().join(format!("shequ-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| e.to_string())?
            .local_addr()
            .map_err(|e| e.to_string())?
            .port();
        let pg = Postgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir: Some(dir.clone()),
            bin,
            as_postgres: root_user,
        };
        if root_user {
            // PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
            sh(Command::new("chown").args(["postgres:postgres"]).arg(&dir))?;
        }
        let data = dir.join("data");
        sh(&mut pg.cmd(
            "initdb",
            &[
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
                &data.to_string_lossy(),
            ],
        ))?;
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            dir.display()
        );
        sh(&mut pg.cmd(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-l",
                &dir.join("log").to_string_lossy(),
                "-o",
                &opts,
                "-w",
                "start",
            ],
        ))?;
        eprintln!("throwaway PostgreSQL at {}", pg.url);
        Ok(pg)
    }

    fn cmd(&self, tool: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe).args(args);
            c
        } else {
            let mut c = Command::new(exe);
            c.args(args);
            c
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let data = dir.join("data");
            let _ = self
                .cmd(
                    "pg_ctl",
                    &["-D", &data.to_string_lossy(), "-m", "immediate", "stop"],
                )
                .status();
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
