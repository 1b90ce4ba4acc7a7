//! Installs what a fresh machine lacks: the wasm target, wasm-bindgen-cli at the version in
//! Cargo.lock, the node packages of the tests and the build (playwright-core, binaryen), and
//! Debian's Chromium and ChromeDriver. Each step does nothing when its tool is already there.

use crate::{root, sh, Result};
use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn wasm_target() -> Result {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    sh(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// The wasm-bindgen version Cargo.lock pins.
pub fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
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
    if dir.join("node_modules/playwright-core").exists() && dir.join("node_modules/binaryen").exists() {
        return Ok(());
    }
    sh(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--prefix"]).arg(&dir))
}

pub fn chromium() -> Result {
    let present = |p: &str| std::path::Path::new(p).exists();
    if present("/usr/bin/chromium") && present("/usr/bin/chromedriver") {
        return Ok(());
    }
    sh(Command::new("apt-get").arg("update"))?;
    sh(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}
