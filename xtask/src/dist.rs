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
    let app = split_and_bind(root, &wasm_in)?;

    let dist = root.join("dist");
    let _ = std::fs::remove_dir_all(&dist);
    // The split pieces find each other by relative names, so the app's files share one folder,
    // named after all of them: a new build is a new folder, and every file in it can be cached
    // for good.
    let mut all = Vec::new();
    for (name, bytes) in &app.files {
        all.extend_from_slice(name.as_bytes());
        all.extend_from_slice(bytes);
    }
    let app_dir = format!("assets/app-{}", hash(&all));
    for (name, bytes) in &app.files {
        write(&dist.join(&app_dir).join(name), bytes)?;
    }
    let js_name = format!("{app_dir}/shequ.js");
    let wasm_name = format!("{app_dir}/shequ_bg.wasm");
    let css = read(&root.join("app/style.css"))?;
    let css_name = format!("assets/style-{}.css", hash(&css));
    // The wasm's download starts once the first screen has painted: on a slow link, its bytes
    // would otherwise hold back the login form's (index.html), which a worker can already type
    // into. A hidden tab paints nothing, so it starts at once.
    let boot = format!(
        "import init from '/{js_name}';\n\
         const start = () => init({{ module_or_path: '/{wasm_name}' }});\n\
         if (document.visibilityState === 'hidden') start(); else requestAnimationFrame(() => setTimeout(start));\n\
         if ('serviceWorker' in navigator) {{\n  navigator.serviceWorker.register('/sw.js').catch((e) => console.warn('service worker', e));\n}}\n"
    );
    let boot_name = format!("assets/boot-{}.js", hash(boot.as_bytes()));
    let gate = read(&root.join("app/gate.js"))?;
    let gate_name = format!("assets/gate-{}.js", hash(&gate));
    write(&dist.join(&css_name), &css)?;
    write(&dist.join(&boot_name), boot.as_bytes())?;
    write(&dist.join(&gate_name), &gate)?;

    let template =
        String::from_utf8(read(&root.join("app/index.html"))?).map_err(|e| e.to_string())?;
    let index = with_texts(&template, &root.join("app/locales/zh-CN.json"))?
        .replace("{{css}}", &format!("/{css_name}"))
        .replace("{{gate}}", &format!("/{gate_name}"))
        .replace("{{boot}}", &format!("/{boot_name}"))
        .replace("{{js}}", &format!("/{js_name}"))
        .replace("{{split}}", &format!("/{app_dir}/__wasm_split.js"));
    write(&dist.join("index.html"), index.as_bytes())?;

    // Static files: the manifest and icons.
    let public = root.join("app/public");
    let mut shell = vec![
        "/".to_string(),
        "/index.html".into(),
        format!("/{css_name}"),
        format!("/{boot_name}"),
        format!("/{gate_name}"),
    ];
    // The pieces a village worker may open offline come with the shell; the administrator's come
    // when first opened.
    for (name, _) in &app.files {
        if !app.on_demand.contains(name) {
            shell.push(format!("/{app_dir}/{name}"));
        }
    }
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
        "built dist/ ({} files in the app shell, {} on demand, version {version})",
        shell.len(),
        app.on_demand.len()
    );
    Ok(())
}

/// `template` with each `{{t:ns.key}}` replaced by the app's text of that key in `locale` (a
/// leptos_i18n file), so index.html's first screen says what the app's pages say.
fn with_texts(template: &str, locale: &Path) -> Result<String> {
    let texts: serde_json::Value =
        serde_json::from_slice(&read(locale)?).map_err(|e| format!("{}: {e}", locale.display()))?;
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find("{{t:") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 4..];
        let end = after.find("}}").ok_or_else(|| {
            format!(
                "index.html: an unclosed {{{{t:{}",
                &after[..after.len().min(20)]
            )
        })?;
        let key = &after[..end];
        let text = key
            .split('.')
            .try_fold(&texts, |v, part| v.get(part))
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("index.html: {key} is not a text of {}", locale.display()))?;
        out.push_str(&html_escape(text));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The splits whose pieces the service worker does not precache: only a county administrator opens
/// their pages, and the piece is kept once fetched (app/src/routes/later.rs, app/sw.js).
const ON_DEMAND: &[&str] = &["admin"];

/// The app's files, by name in their folder: the wasm-bindgen glue `shequ.js`, the main module
/// `shequ_bg.wasm`, the splitter's loader and each split piece.
struct App {
    files: Vec<(String, Vec<u8>)>,
    /// Files of the pieces in [`ON_DEMAND`] and in no other split.
    on_demand: Vec<String>,
}

/// Splits the linked wasm at its `wasm_split` points, runs wasm-bindgen over the main module and
/// wasm-opt over every module.
fn split_and_bind(root: &Path, wasm_in: &Path) -> Result<App> {
    let work = root.join("target/wasm-split");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let input = read(wasm_in)?;
    let main_split = work.join("main.wasm");
    let split = wasm_split_cli_support::transform({
        let mut opts = wasm_split_cli_support::Options::new(&input);
        opts.output_dir = &work;
        opts.main_out_path = &main_split;
        opts.link_name = "./__wasm_split.js";
        opts.main_module = "./shequ.js";
        opts
    })
    .map_err(|e| format!("splitting {}: {e:#}", wasm_in.display()))?;
    if split.split_modules.is_empty() {
        return Err("the app's wasm has no split points: was it linked with --emit-relocs?".into());
    }

    let bindgen = root.join("target/wasm-bindgen");
    let _ = std::fs::remove_dir_all(&bindgen);
    crate::sh(
        Command::new("wasm-bindgen")
            .args([
                "--target",
                "web",
                "--no-typescript",
                // The pieces call the main module's functions by the names the linker gave them.
                "--keep-lld-exports",
                "--out-name",
                "shequ",
                "--out-dir",
            ])
            .arg(&bindgen)
            .arg(&main_split),
    )?;
    let mut files = vec![
        ("shequ.js".to_string(), read(&bindgen.join("shequ.js"))?),
        (
            "shequ_bg.wasm".to_string(),
            optimise(&bindgen.join("shequ_bg.wasm"))?,
        ),
        (
            "__wasm_split.js".to_string(),
            loader_with_time_limit(&work.join("__wasm_split.js"), split.split_modules.len())?,
        ),
    ];
    for piece in &split.split_modules {
        let name = piece
            .file_name()
            .ok_or("a split piece without a name")?
            .to_string_lossy()
            .into_owned();
        files.push((name, optimise(piece)?));
    }
    // The pieces (by stem) of the on-demand splits, or of every other split.
    let pieces_of = |on_demand: bool| -> std::collections::HashSet<&String> {
        split
            .prefetch_map
            .iter()
            .filter(|(s, _)| ON_DEMAND.iter().any(|o| split_named(s, o)) == on_demand)
            .flat_map(|(_, pieces)| pieces)
            .collect()
    };
    let precached = pieces_of(false);
    let on_demand = pieces_of(true)
        .into_iter()
        .filter(|p| !precached.contains(p))
        .map(|p| format!("{p}.wasm"))
        .collect();
    Ok(App { files, on_demand })
}

/// How long the phone waits for a piece, in ms: on a link that connects but never answers, the
/// fetch is given up and the page says the piece is missing (a sync is retried later) instead of
/// waiting for ever. The largest piece is some 60 KB: 30 s is 16 kbit/s.
const PIECE_TIME_LIMIT_MS: u32 = 30_000;

/// The splitter's loader with a time limit on every fetch of a piece. The splitter writes
/// `fetch(new URL("./piece.wasm", import.meta.url))`; a loader with any other number of such
/// fetches than pieces is refused, so a new version of the splitter cannot drop the limit unseen.
fn loader_with_time_limit(path: &Path, pieces: usize) -> Result<Vec<u8>> {
    let js = String::from_utf8(read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
    let call = ", import.meta.url))";
    let found = js.matches(call).count();
    if found != pieces {
        return Err(format!(
            "{}: {found} fetches of a piece for {pieces} pieces; the time limit cannot be set",
            path.display()
        ));
    }
    // Browsers without AbortSignal.timeout fetch without a limit rather than not at all.
    let limited = format!(
        ", import.meta.url), {{ signal: AbortSignal.timeout ? AbortSignal.timeout({PIECE_TIME_LIMIT_MS}) : undefined }})"
    );
    Ok(js.replace(call, &limited).into_bytes())
}

/// Whether the splitter's name for a split is the one `#[wasm_split(name, ..)]` gave.
fn split_named(split: &str, name: &str) -> bool {
    split == name
        || split
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('_'))
}

/// The module after `wasm-opt -Oz`, or as it is when wasm-opt is not installed.
fn optimise(wasm: &Path) -> Result<Vec<u8>> {
    let Some(opt) = wasm_opt() else {
        eprintln!(
            "wasm-opt not found (npm package binaryen): {} is left unoptimised",
            wasm.display()
        );
        return read(wasm);
    };
    let out = wasm.with_extension("opt.wasm");
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
            .arg(wasm)
            .arg("-o")
            .arg(&out),
    )?;
    read(&out)
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

/// Prints the bytes a phone downloads before the app is usable (html, boot script, css, glue,
/// the splitter's loader and the main wasm, as brotli sends them), then each piece a page loads
/// when it first opens.
pub fn print_size(dist: &Path) -> Result {
    let mut critical = Vec::new();
    let mut pieces = Vec::new();
    let mut walk = vec![dist.to_path_buf()];
    while let Some(d) = walk.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| e.to_string())? {
            let p = entry.map_err(|e| e.to_string())?.path();
            if p.is_dir() {
                walk.push(p);
                continue;
            }
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "html" | "js" | "wasm" | "css") || p.ends_with("sw.js") {
                continue;
            }
            let raw = read(&p)?;
            let row = (
                p.strip_prefix(dist).unwrap().display().to_string(),
                raw.len(),
                brotli(&raw).len(),
            );
            if ext == "wasm" && !p.ends_with("shequ_bg.wasm") {
                pieces.push(row);
            } else {
                critical.push(row);
            }
        }
    }
    critical.sort();
    pieces.sort();
    let opt = if wasm_opt().is_some() {
        "wasm-opt -Oz (binaryen from npm)"
    } else {
        "no wasm-opt"
    };
    println!("Critical path of the field worker's first visit (profile wasm-release: opt-level \"z\", fat LTO, codegen-units 1; {opt}; brotli quality 11):");
    let print = |rows: &[(String, usize, usize)]| {
        for (name, raw, br) in rows {
            println!("  {name:<48} {raw:>9} B raw {br:>9} B brotli");
        }
        let raw: usize = rows.iter().map(|r| r.1).sum();
        let br: usize = rows.iter().map(|r| r.2).sum();
        println!("  {:<48} {raw:>9} B raw {br:>9} B brotli", "total");
    };
    print(&critical);
    println!("Loaded when a page first needs it (split_*: one page group's own code; chunk_*: code pages share):");
    print(&pieces);
    Ok(())
}
