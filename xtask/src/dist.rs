//! Assembles `dist/`: content-hashed assets under `/assets/` (cached for good), the entry points
//! (`index.html`, `sw.js`, the manifest, icons) at the top (always revalidated), and a brotli and
//! a gzip copy of every compressible file for the server to send as they are.

use crate::{root, Result};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::process::Command;

fn hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn write(p: &Path, bytes: &[u8]) -> Result {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(p, bytes).map_err(|e| format!("{}: {e}", p.display()))
}

pub fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        w.write_all(bytes).expect("in-memory write");
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    w.write_all(bytes).expect("in-memory write");
    w.finish().expect("in-memory write")
}

/// wasm-opt from the npm package `binaryen`, when installed.
fn wasm_opt() -> Option<std::path::PathBuf> {
    let p = root().join("tests/e2e/node_modules/.bin/wasm-opt");
    p.exists().then_some(p)
}

pub fn assemble(root: &Path) -> Result {
    // Cargo builds into CARGO_TARGET_DIR when it is set (worktrees share one to build in turn).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let wasm_in = target.join("wasm32-unknown-unknown/wasm-release/shequ-app.wasm");
    let bindgen = root.join("target/wasm-bindgen");
    let _ = std::fs::remove_dir_all(&bindgen);
    crate::sh(
        Command::new("wasm-bindgen")
            .args([
                "--target",
                "web",
                "--no-typescript",
                "--out-name",
                "shequ",
                "--out-dir",
            ])
            .arg(&bindgen)
            .arg(&wasm_in),
    )?;
    let wasm_path = bindgen.join("shequ_bg.wasm");
    let optimised = bindgen.join("shequ_opt.wasm");
    let wasm = match wasm_opt() {
        Some(opt) => {
            crate::sh(
                Command::new(opt)
                    .args([
                        "-Oz",
                        "--enable-bulk-memory",
                        "--enable-nontrapping-float-to-int",
                        "--enable-sign-ext",
                        "--enable-mutable-globals",
                        "--enable-reference-types",
                        "--enable-multivalue",
                    ])
                    .arg(&wasm_path)
                    .arg("-o")
                    .arg(&optimised),
            )?;
            read(&optimised)?
        }
        None => {
            eprintln!("wasm-opt not found (npm package binaryen): the .wasm is left unoptimised");
            read(&wasm_path)?
        }
    };
    let js = read(&bindgen.join("shequ.js"))?;
    let css = read(&root.join("app/style.css"))?;

    let dist = root.join("dist");
    let _ = std::fs::remove_dir_all(&dist);
    let js_name = format!("assets/shequ-{}.js", hash(&js));
    let wasm_name = format!("assets/shequ-{}.wasm", hash(&wasm));
    let css_name = format!("assets/style-{}.css", hash(&css));
    let boot = format!(
        "import init from '/{js_name}';\n\
         init({{ module_or_path: '/{wasm_name}' }});\n\
         if ('serviceWorker' in navigator) {{\n  navigator.serviceWorker.register('/sw.js').catch((e) => console.warn('service worker', e));\n}}\n"
    );
    let boot_name = format!("assets/boot-{}.js", hash(boot.as_bytes()));
    write(&dist.join(&js_name), &js)?;
    write(&dist.join(&wasm_name), &wasm)?;
    write(&dist.join(&css_name), &css)?;
    write(&dist.join(&boot_name), boot.as_bytes())?;

    let template =
        String::from_utf8(read(&root.join("app/index.html"))?).map_err(|e| e.to_string())?;
    let index = template
        .replace("{{css}}", &format!("/{css_name}"))
        .replace("{{boot}}", &format!("/{boot_name}"))
        .replace("{{js}}", &format!("/{js_name}"))
        .replace("{{wasm}}", &format!("/{wasm_name}"));
    write(&dist.join("index.html"), index.as_bytes())?;

    // Static files: the manifest and icons.
    let public = root.join("app/public");
    let mut shell = vec![
        "/".to_string(),
        "/index.html".into(),
        format!("/{js_name}"),
        format!("/{wasm_name}"),
        format!("/{css_name}"),
        format!("/{boot_name}"),
    ];
    copy_dir(&public, &dist, &public, &mut shell)?;

    // The service worker precaches the whole shell; its version changes with any file of it.
    let version = hash(shell.join("\n").as_bytes());
    let list = shell
        .iter()
        .map(|s| format!("  '{s}',"))
        .collect::<Vec<_>>()
        .join("\n");
    let sw = String::from_utf8(read(&root.join("app/sw.js"))?)
        .map_err(|e| e.to_string())?
        .replace("'{{version}}'", &format!("'{version}'"))
        .replace("/* {{precache}} */", &list);
    write(&dist.join("sw.js"), sw.as_bytes())?;

    precompress(&dist)?;
    eprintln!(
        "built dist/ ({} files in the app shell, version {version})",
        shell.len()
    );
    Ok(())
}

fn copy_dir(from: &Path, to: &Path, base: &Path, shell: &mut Vec<String>) -> Result {
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let p = entry.path();
        if p.is_dir() {
            copy_dir(&p, to, base, shell)?;
        } else {
            let rel = p.strip_prefix(base).expect("below base");
            write(&to.join(rel), &read(&p)?)?;
            shell.push(format!("/{}", rel.display()));
        }
    }
    Ok(())
}

fn compressible(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("html" | "js" | "wasm" | "css" | "json" | "webmanifest" | "svg")
    )
}

fn precompress(dir: &Path) -> Result {
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let p = entry.map_err(|e| e.to_string())?.path();
        if p.is_dir() {
            precompress(&p)?;
        } else if compressible(&p) {
            let bytes = read(&p)?;
            write(
                &p.with_file_name(format!("{}.br", p.file_name().unwrap().to_string_lossy())),
                &brotli(&bytes),
            )?;
            write(
                &p.with_file_name(format!("{}.gz", p.file_name().unwrap().to_string_lossy())),
                &gzip(&bytes),
            )?;
        }
    }
    Ok(())
}

/// Prints the bytes a phone downloads before the app is usable: html, js, wasm and css, as
/// brotli sends them.
pub fn print_size(dist: &Path) -> Result {
    let mut total_raw = 0;
    let mut total_br = 0;
    let mut rows = Vec::new();
    let mut walk = vec![dist.to_path_buf()];
    while let Some(d) = walk.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| e.to_string())? {
            let p = entry.map_err(|e| e.to_string())?.path();
            if p.is_dir() {
                walk.push(p);
                continue;
            }
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if matches!(ext, "html" | "js" | "wasm" | "css") && !p.ends_with("sw.js") {
                let raw = read(&p)?;
                let br = brotli(&raw).len();
                total_raw += raw.len();
                total_br += br;
                rows.push((
                    p.strip_prefix(dist).unwrap().display().to_string(),
                    raw.len(),
                    br,
                ));
            }
        }
    }
    rows.sort();
    let opt = if wasm_opt().is_some() {
        "wasm-opt -Oz (binaryen from npm)"
    } else {
        "no wasm-opt"
    };
    println!("Critical path of the field worker's first visit (profile wasm-release: opt-level \"z\", fat LTO, codegen-units 1; {opt}; brotli quality 11):");
    for (name, raw, br) in &rows {
        println!("  {name:<40} {raw:>9} B raw {br:>9} B brotli");
    }
    println!(
        "  {:<40} {total_raw:>9} B raw {total_br:>9} B brotli",
        "total"
    );
    Ok(())
}
