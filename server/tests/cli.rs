//! The `shequ-server` binary: importing areas, checking a plan, and start-up errors.

mod common;

use common::workspace;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shequ-server"));
    c.current_dir(workspace());
    for k in [
        "SHEQU_DATABASE_URL",
        "SHEQU_LISTEN",
        "SHEQU_PLAN",
        "SHEQU_PLANS",
        "SHEQU_CURRENT_PLAN",
        "SHEQU_DIST",
        "SHEQU_SEED_AREAS",
        "SHEQU_CONFIG",
    ] {
        c.env_remove(k);
    }
    c
}

fn run(c: &mut Command) -> (bool, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    (
        status.success(),
        String::from_utf8_lossy(&stdout).into(),
        String::from_utf8_lossy(&stderr).into(),
    )
}

fn import(db: &Path, file: &Path) -> (bool, String, String) {
    run(bin()
        .arg("--database")
        .arg(format!("sqlite://{}", db.display()))
        .arg("import-areas")
        .arg(file))
}

fn shared(name: &str) -> Option<PathBuf> {
    let p = workspace().join("../shared/data").join(name);
    if p.exists() {
        Some(p)
    } else {
        println!(
            "../shared/data/{name} is not here: skipping the import of the real division file"
        );
        None
    }
}

#[test]
fn importing_the_seed_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let seed = workspace().join("seeds/fufeng-areas.csv");
    let (ok, out, err) = import(&db, &seed);
    assert!(ok, "{err}");
    assert!(out.contains("county 1 (1 new, 0 already there)"), "{out}");
    assert!(out.contains("town 8 (8 new"), "{out}");
    let (ok, out, _) = import(&db, &seed);
    assert!(ok);
    assert!(out.contains("town 8 (0 new, 8 already there)"), "{out}");
}

#[test]
fn the_real_fufeng_and_baoji_files_import_idempotently() {
    let (Some(fufeng), Some(baoji)) = (
        shared("fufeng-divisions.csv"),
        shared("baoji-divisions.csv"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let (ok, out, err) = import(&db, &workspace().join("seeds/fufeng-areas.csv"));
    assert!(ok, "{err}");
    let (ok, out2, err) = import(&db, &fufeng);
    assert!(ok, "{err}");
    assert!(
        out2.contains("village 122 (118 new, 4 already there)"),
        "{out}\n{out2}"
    );
    let (ok, out3, err) = import(&db, &baoji);
    assert!(ok, "{err}");
    assert!(out3.contains("city 1 (1 new, 0 already there)"), "{out3}");
    assert!(
        out3.contains("county 12 (11 new, 1 already there)"),
        "{out3}"
    );
    assert!(
        out3.contains("town 120 (112 new, 8 already there)"),
        "{out3}"
    );
    assert!(
        out3.contains("village 1359 (1237 new, 122 already there)"),
        "{out3}"
    );
    let (ok, out4, _) = import(&db, &baoji);
    assert!(ok);
    assert!(
        out4.contains("village 1359 (0 new, 1359 already there)"),
        "{out4}"
    );
}

#[test]
fn a_bad_file_lists_every_error_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "code,name,level,parent_code\n610324,扶风县,county,6103\n610324001,城关街道,town,610324\n610324002001,无主村,village,610324002\n610324001,别名街道,town,610324\n610324001002,某村,hamlet,610324001\nnot,a,good line\n",
    )
    .unwrap();
    let (ok, _, err) = import(&db, &bad);
    assert!(!ok);
    for line in [4, 5, 6, 7] {
        assert!(
            err.contains(&format!("bad.csv:line {line}:")),
            "line {line} in:\n{err}"
        );
    }
    assert!(err.contains("unknown parent"), "{err}");
    assert!(err.contains("unknown level"), "{err}");
    assert!(err.contains("nothing imported"), "{err}");
    // The good rows of that file were not imported either.
    let (ok, out, _) = import(&db, &workspace().join("seeds/fufeng-areas.csv"));
    assert!(ok);
    assert!(out.contains("county 1 (1 new"), "{out}");
}

#[test]
fn a_code_reused_with_another_name_is_refused_against_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    assert!(import(&db, &workspace().join("seeds/fufeng-areas.csv")).0);
    let renamed = dir.path().join("renamed.csv");
    std::fs::write(
        &renamed,
        "code,name,level,parent_code\n610324001,城关镇,town,610324\n",
    )
    .unwrap();
    let (ok, _, err) = import(&db, &renamed);
    assert!(!ok);
    assert!(
        err.contains("line 2") && err.contains("already known as 城关街道"),
        "{err}"
    );
}

#[test]
fn check_plan_accepts_the_seed_and_names_every_error_of_a_bad_one() {
    let (ok, out, err) = run(bin().args(["check-plan", "seeds/plan-2018.toml"]));
    assert!(ok, "{err}");
    assert!(out.contains("valid"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "id = \"x\"\nyear = 1800\ntitle = \"t\"\ncounty = \"61\"\nforms = []\nindicators = []\n",
    )
    .unwrap();
    let (ok, _, err) = run(bin().arg("check-plan").arg(&bad));
    assert!(!ok);
    assert!(err.contains("--plan / SHEQU_PLAN"), "{err}");
    assert!(
        err.contains("year") && err.contains("county") && err.contains("forms"),
        "{err}"
    );
}

#[test]
fn plans_are_added_listed_and_made_current_and_a_kept_one_is_replaced_only_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    let plan = |args: &[&str]| run(bin().args(["--database", &db, "plan"]).args(args));
    for file in ["seeds/plan-2018.toml", "seeds/plan-2019.toml"] {
        let (ok, out, err) = plan(&["add", file]);
        assert!(ok && out.contains("added"), "{out}{err}");
    }
    let (ok, out, _) = plan(&["add", "seeds/plan-2019.toml"]);
    assert!(ok && out.contains("already kept"), "{out}");
    let (ok, out, err) = plan(&["list"]);
    assert!(ok, "{err}");
    let current: Vec<&str> = out.lines().filter(|l| l.contains("(current)")).collect();
    assert_eq!(current.len(), 1, "{out}");
    assert!(current[0].starts_with("fufeng-2019"), "{out}");
    assert_eq!(out.lines().count(), 2, "{out}");

    let (ok, _, err) = plan(&["current", "fufeng-2099"]);
    assert!(!ok && err.contains("fufeng-2099"), "{err}");
    let (ok, _, err) = plan(&["current", "fufeng-2018"]);
    assert!(ok, "{err}");
    let (_, out, _) = plan(&["list"]);
    let current: Vec<&str> = out.lines().filter(|l| l.contains("(current)")).collect();
    assert!(current[0].starts_with("fufeng-2018"), "{out}");

    let changed = dir.path().join("changed.toml");
    let text = std::fs::read_to_string(workspace().join("seeds/plan-2018.toml")).unwrap();
    std::fs::write(&changed, text.replacen("title = \"", "title = \"改过的", 1)).unwrap();
    let changed = changed.display().to_string();
    let (ok, _, err) = plan(&["add", &changed]);
    assert!(!ok && err.contains("changed.toml"), "{err}");
    let (_, out, _) = plan(&["list"]);
    assert!(!out.contains("改过的"), "{out}");
    let (ok, out, err) = plan(&["add", "--replace", &changed]);
    assert!(ok && out.contains("replaced"), "{out}{err}");
    let (_, out, _) = plan(&["list"]);
    assert!(out.contains("改过的"), "{out}");
}

#[test]
fn start_up_stops_with_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("e.db").display());
    let (ok, _, err) = run(bin().args(["--database", "mysql://x", "serve"]));
    assert!(!ok);
    assert!(
        err.contains("error: --database / SHEQU_DATABASE_URL"),
        "{err}"
    );
    let (ok, _, err) =
        run(bin().args(["--database", &db, "--plan", "seeds/missing.toml", "serve"]));
    assert!(!ok);
    assert!(
        err.contains("error: --plan / SHEQU_PLAN: cannot read seeds/missing.toml"),
        "{err}"
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (ok, _, err) = run(bin().args([
        "--database",
        &db,
        "--listen",
        &format!("127.0.0.1:{port}"),
        "serve",
    ]));
    assert!(!ok);
    assert!(
        err.contains("error: --listen / SHEQU_LISTEN: cannot listen on"),
        "{err}"
    );
    let (ok, _, err) =
        run(bin()
            .env("SHEQU_LISTEN", "not-an-address")
            .args(["--database", &db, "serve"]));
    assert!(!ok);
    assert!(err.contains("error: --listen / SHEQU_LISTEN"), "{err}");
}

#[test]
fn the_settings_file_gives_way_to_the_environment_and_that_to_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shequ.toml");
    std::fs::write(&config, "plan = \"seeds/from-the-file.toml\"\n").unwrap();
    let (ok, _, err) = run(bin().env("SHEQU_CONFIG", &config).arg("check-plan"));
    assert!(!ok);
    assert!(
        err.contains("cannot read seeds/from-the-file.toml"),
        "{err}"
    );
    let (ok, _, err) = run(bin()
        .env("SHEQU_CONFIG", &config)
        .env("SHEQU_PLAN", "seeds/from-the-environment.toml")
        .arg("check-plan"));
    assert!(!ok);
    assert!(
        err.contains("cannot read seeds/from-the-environment.toml"),
        "{err}"
    );
    let (ok, out, err) = run(bin()
        .env("SHEQU_CONFIG", &config)
        .env("SHEQU_PLAN", "seeds/from-the-environment.toml")
        .args(["--plan", "seeds/plan-2018.toml", "check-plan"]));
    assert!(ok, "{err}");
    assert!(out.starts_with("seeds/plan-2018.toml: "), "{out}");
    std::fs::write(&config, "idle_timeout_secs = \"soon\"\n").unwrap();
    let (ok, _, err) = run(bin().args(["--config"]).arg(&config).arg("check-plan"));
    assert!(!ok);
    assert!(
        err.starts_with(
            "error: idle_timeout_secs / SHEQU_IDLE_TIMEOUT_SECS: `soon` is not a whole number (in "
        ),
        "{err}"
    );
}

#[test]
fn logs_never_hold_passwords_or_tokens() {
    use std::io::{BufRead, BufReader, Read};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut child = bin()
        .args([
            "--database",
            &format!("sqlite://{}", dir.path().join("f.db").display()),
            "--listen",
            "127.0.0.1:0",
            "--dist",
            "/nonexistent",
        ])
        .args(["--seed-areas", "seeds/fufeng-areas.csv", "--demo", "serve"])
        .env("SHEQU_LOG", "debug")
        .env("SHEQU_ADMIN_PASSWORD", "AdminSecret-771")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let base = line
        .split("running at ")
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches('/')
        .to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let secrets = rt.block_on(async {
        let c = reqwest::Client::new();
        let login = |u: &str, p: &str| c.post(format!("{base}/api/auth/login")).json(&serde_json::json!({"username": u, "password": p, "device": "phone"})).send();
        assert_eq!(login("village-610324001001", "WrongSecret-99").await.unwrap().status(), 422);
        let s: serde_json::Value = login("village-610324001001", "shequ2018").await.unwrap().json().await.unwrap();
        let worker_token = s["token"].as_str().unwrap().to_string();
        let a: serde_json::Value = login("admin", "AdminSecret-771").await.unwrap().json().await.unwrap();
        let admin_token = a["token"].as_str().unwrap().to_string();
        let r = c.post(format!("{base}/api/admin/accounts")).bearer_auth(&admin_token)
            .json(&serde_json::json!({"username": "new-worker", "name": "新人", "role": "village_worker", "unit": "610324001001", "password": "NewSecret-123"}))
            .send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = c.get(format!("{base}/api/sync/pull?scope=610324001001")).bearer_auth(&worker_token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        vec![worker_token, admin_token, "WrongSecret-99".into(), "shequ2018".into(), "AdminSecret-771".into(), "NewSecret-123".into()]
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let mut text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        text.contains("logged in"),
        "the log is written at all:\n{text}"
    );
    for s in secrets {
        assert!(!text.contains(&s), "the log holds a secret ({}…)", &s[..4]);
    }
    let _ = Path::new("");
}

#[test]
fn a_newline_in_a_username_cannot_forge_a_log_line() {
    use std::io::{BufRead, BufReader, Read};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut child = bin()
        .args([
            "--database",
            &format!("sqlite://{}", dir.path().join("f.db").display()),
            "--listen",
            "127.0.0.1:0",
            "--dist",
            "/nonexistent",
        ])
        .args(["--seed-areas", "seeds/fufeng-areas.csv", "serve"])
        .env("SHEQU_LOG", "info")
        .env("SHEQU_ADMIN_PASSWORD", "AdminSecret-771")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split("running at ")
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches('/')
        .to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{base}/api/auth/login"))
            .json(&serde_json::json!({"username": "x\nFORGED logged in admin", "password": "whatever-1", "device": "phone\nFORGED device"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let mut text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        text.contains("login refused"),
        "the refusal is logged:\n{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("FORGED")),
        "a line was forged:\n{text}"
    );
}

#[test]
fn user_add_makes_city_province_and_national_supervisors_at_their_level_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let file = dir.path().join("above.csv");
    std::fs::write(
        &file,
        "code,name,level,parent_code\n61,陕西省,province,\n6103,宝鸡市,city,61\n610324,扶风县,county,6103\n",
    )
    .unwrap();
    let (ok, out, err) = import(&db, &file);
    assert!(ok, "{err}");
    assert!(out.contains("province 1 (1 new"), "{out}");
    let add = |username: &str, role: &str, unit: &str| {
        run(bin()
            .arg("--database")
            .arg(format!("sqlite://{}", db.display()))
            .args(["user", "add", username, "--role", role, "--unit", unit])
            .args(["--name", "督导"]))
    };
    for (username, role, unit) in [
        ("city-6103", "city_supervisor", "6103"),
        ("province-61", "province_supervisor", "61"),
        ("nation", "nation_supervisor", ""),
    ] {
        let (ok, out, err) = add(username, role, unit);
        assert!(ok && out.contains(&format!("added {username}")), "{err}");
    }
    let (ok, _, err) = add("wrong-level", "city_supervisor", "610324");
    assert!(!ok && err.contains("is a county"), "{err}");
    // The empty code is the nation's role's alone, and that role has no other.
    for (username, role, unit) in [
        ("empty-village", "village_worker", ""),
        ("empty-province", "province_supervisor", ""),
        ("nation-61", "nation_supervisor", "61"),
    ] {
        let (ok, _, err) = add(username, role, unit);
        assert!(!ok && err.contains("--unit"), "{username}: {err}");
    }
}

#[tokio::test]
async fn rebuild_rollups_puts_back_figures_that_went_wrong_and_says_what_it_fixed() {
    let app = common::spawn_app().await;
    for village in [common::VILLAGE, common::VILLAGE2] {
        let case = common::case(village, "修缮小区路灯", true);
        let sent = app
            .post_as(&format!("village-{village}"), "/api/sync/push")
            .await;
        let sent = sent
            .json(&serde_json::json!({"device": "cli", "changes": [case]}))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 200);
    }
    let success = |report: serde_json::Value| {
        report["unit"]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["indicator"] == "deliberation_success")
            .unwrap()["value"]
            .clone()
    };
    let report = || async {
        let r = app.get("/api/report/610324").await;
        success(r.json().await.unwrap())
    };
    let right = report().await;
    assert_eq!(right, serde_json::json!(2.0));
    // A kept figure goes wrong behind the server's back.
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    let spoiled = sqlx::query(
        "UPDATE unit_figures SET num = num + 5 WHERE unit = $1 AND indicator = 'deliberation_success'",
    )
    .bind(common::VILLAGE)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(spoiled.rows_affected(), 1);
    assert_ne!(report().await, right);
    // And one as of the end of a month.
    let spoiled = sqlx::query(
        "UPDATE unit_month_figures SET num = num + 5
         WHERE unit = $1 AND indicator = 'deliberation_success' AND month = '2018-06'",
    )
    .bind(common::VILLAGE2)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(spoiled.rows_affected(), 1);

    let rebuild = || run(bin().args(["--database", &app.database_url, "rebuild-rollups"]));
    let (ok, out, err) = rebuild();
    assert!(ok, "{err}");
    assert!(out.contains("2 fixed"), "{out}");
    assert!(
        out.contains(common::VILLAGE) && out.contains("deliberation_success"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{} deliberation_success 2018-06",
            common::VILLAGE2
        )),
        "{out}"
    );
    assert_eq!(report().await, right);
    let (ok, out, err) = rebuild();
    assert!(ok && out.contains("0 fixed"), "{out}{err}");
}
