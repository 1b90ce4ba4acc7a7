//! The county's towns' targets imported from its decomposition table (目标任务分解表): an exported
//! table goes back in unchanged; a target edited in it reaches the report and the next export;
//! a bad sheet is refused cell by cell and changes nothing; only the county administrator
//! imports.

mod common;

use calamine::{Data, Reader, Xlsx};
use common::{TestApp, VILLAGE};
use serde_json::Value;
use shequ_model::auth::{AdminAction, AdminActionKind};
use shequ_model::plan::Target;
use shequ_model::rollup::Report;
use shequ_model::table::{SheetRefused, TargetsImported};
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

const COUNTY: &str = "610324";
const TOWN: &str = "610324001";
const OTHER_TOWN: &str = "610324103";
const IMPORT: &str = "/api/report/610324/targets.xlsx";
/// A count: its targets are whole numbers.
const CASES: &str = "议事成功案例";

/// The exported table as cells, to find addresses in and to copy into an edited workbook.
struct Sheet {
    cells: calamine::Range<Data>,
}

impl Sheet {
    fn of(bytes: &[u8]) -> Sheet {
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        Sheet {
            cells: book.worksheet_range("目标任务分解表").unwrap(),
        }
    }

    fn text(&self, row: u32, col: u32) -> String {
        match self.cells.get_value((row, col)) {
            Some(Data::String(s)) => s.clone(),
            Some(Data::Float(f)) => f.to_string(),
            Some(Data::Int(i)) => i.to_string(),
            _ => String::new(),
        }
    }

    /// The target column of an indicator, found by its heading.
    fn target_col(&self, name: &str) -> u32 {
        (0..self.cells.end().unwrap().1 + 1)
            .find(|c| {
                let h = self.text(2, *c);
                h == name || h.starts_with(&format!("{name}("))
            })
            .unwrap_or_else(|| panic!("no heading {name}"))
    }

    fn row_of(&self, code: &str) -> u32 {
        (0..self.cells.end().unwrap().0 + 1)
            .find(|r| self.text(*r, 0) == code)
            .unwrap_or_else(|| panic!("no row for {code}"))
    }

    fn last_row(&self) -> u32 {
        self.cells.end().unwrap().0
    }
}

fn address(row: u32, col: u32) -> String {
    rust_xlsxwriter::utility::row_col_to_cell(row, col as u16)
}

/// What an edit puts in a cell.
enum Put<'a> {
    Number(f64),
    Text(&'a str),
}

/// A new workbook in the table's layout: every cell of `sheet`, with `edits` over them, as a
/// county office would fill it in.
fn edited(sheet: &Sheet, edits: &[(u32, u32, Put)]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let out = book.add_worksheet();
    out.set_name("目标任务分解表").unwrap();
    for (row, col, value) in sheet.cells.cells() {
        let (row, col) = (
            row as u32 + sheet.cells.start().unwrap().0,
            col as u16 + sheet.cells.start().unwrap().1 as u16,
        );
        match value {
            Data::String(s) => out.write_string(row, col, s).map(|_| ()),
            Data::Float(f) => out.write_number(row, col, *f).map(|_| ()),
            Data::Int(i) => out.write_number(row, col, *i as f64).map(|_| ()),
            _ => Ok(()),
        }
        .unwrap();
    }
    for (row, col, put) in edits {
        let col = *col as u16;
        match put {
            Put::Number(n) => out.write_number(*row, col, *n).map(|_| ()),
            Put::Text(t) => out.write_string(*row, col, *t).map(|_| ()),
        }
        .unwrap();
    }
    book.save_to_buffer().unwrap()
}

async fn export(app: &TestApp) -> Vec<u8> {
    let resp = app
        .get_as("county", &format!("/api/report/{COUNTY}/table.xlsx"))
        .await;
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap().to_vec()
}

async fn send(app: &TestApp, who: &str, body: Vec<u8>) -> reqwest::Response {
    app.post_as(who, IMPORT)
        .await
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn report(app: &TestApp) -> Report {
    app.get_as("county", &format!("/api/report/{COUNTY}"))
        .await
        .json()
        .await
        .unwrap()
}

fn target_of(report: &Report, town: &str, indicator: &str) -> Option<Target> {
    let unit = if report.unit.area.code == town {
        &report.unit
    } else {
        report
            .children
            .iter()
            .find(|c| c.area.code == town)
            .unwrap()
    };
    unit.cells
        .iter()
        .find(|c| c.indicator == indicator)
        .unwrap()
        .target
}

async fn actions(app: &TestApp) -> Vec<AdminAction> {
    app.get_as("county", "/api/admin/actions")
        .await
        .json()
        .await
        .unwrap()
}

fn at_least(n: f64) -> Option<Target> {
    Some(Target {
        min: Some(n),
        goal: None,
        max: None,
    })
}

async fn an_exported_table_imports_unchanged(app: TestApp) {
    let before = report(&app).await;
    let resp = send(&app, "county", export(&app).await).await;
    assert_eq!(resp.status(), 200);
    let done: TargetsImported = resp.json().await.unwrap();
    assert_eq!(done.changes, vec![]);
    assert_eq!(report(&app).await, before);
    assert!(
        actions(&app).await.is_empty(),
        "nothing changed, nothing kept"
    );
}

async fn an_edited_target_reaches_the_report_and_the_next_export(app: TestApp) {
    let sheet = Sheet::of(&export(&app).await);
    let col = sheet.target_col(CASES);
    let row = sheet.row_of(TOWN);
    let before = report(&app).await;
    let was = target_of(&before, TOWN, "deliberation_success");
    assert_ne!(was, at_least(7.0));

    let resp = send(
        &app,
        "county",
        edited(&sheet, &[(row, col, Put::Number(7.0))]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let first: TargetsImported = resp.json().await.unwrap();
    assert_eq!(first.changes.len(), 1, "{:?}", first.changes);
    let change = &first.changes[0];
    assert_eq!(
        (change.town.as_str(), change.indicator.as_str()),
        (TOWN, "deliberation_success")
    );
    assert_eq!((change.before, Some(change.after)), (was, at_least(7.0)));

    // The report: the town's target; the other towns keep theirs.
    let after = report(&app).await;
    assert_eq!(
        target_of(&after, TOWN, "deliberation_success"),
        at_least(7.0)
    );
    assert_eq!(
        target_of(&after, OTHER_TOWN, "deliberation_success"),
        target_of(&before, OTHER_TOWN, "deliberation_success")
    );
    // The months' chart is against the same target.
    let months: Value = app
        .get_as(
            "county",
            &format!("/api/report/{COUNTY}/months?indicator=deliberation_success"),
        )
        .await
        .json()
        .await
        .unwrap();
    let town = months["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["area"]["code"] == TOWN)
        .unwrap();
    assert_eq!(town["cells"][0]["target"]["min"], 7.0);

    // The next export shows it, and goes back in unchanged.
    let again = export(&app).await;
    let next = Sheet::of(&again);
    assert_eq!(next.text(row, col), "7");
    let resp = send(&app, "county", again).await;
    let done: TargetsImported = resp.json().await.unwrap();
    assert_eq!(done.changes, vec![]);

    // The import is in the administrators' trail, once.
    let trail = actions(&app).await;
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, AdminActionKind::ImportTargets);
    assert_eq!(trail[0].account, "county");
    assert_eq!(trail[0].unit, COUNTY);
    let kept: TargetsImported = serde_json::from_value(trail[0].detail.clone()).unwrap();
    assert_eq!(kept, first);

    // A server started again on the database, with the plan file as it was, keeps the target.
    let restarted = common::restart(&app, |_| {}).await;
    assert_eq!(
        target_of(&report(&restarted).await, TOWN, "deliberation_success"),
        at_least(7.0)
    );
}

/// A county of another province, with a town, besides the seeded county.
const ELSEWHERE: &str = "code,name,level,parent_code\n62,甘肃省,province,\n6201,兰州市,city,62\n620102,城关区,county,6201\n620102001,某街道,town,620102\n";

async fn a_bad_sheet_is_refused_cell_by_cell_and_changes_nothing(app: TestApp) {
    let store = shequ_server::store::open(&app.database_url).await.unwrap();
    let path = app.dir.path().join("elsewhere.csv");
    std::fs::write(&path, ELSEWHERE).unwrap();
    shequ_server::import_areas(store.as_ref(), &path)
        .await
        .unwrap();

    let sheet = Sheet::of(&export(&app).await);
    let col = sheet.target_col(CASES);
    let (town, other) = (sheet.row_of(TOWN), sheet.row_of(OTHER_TOWN));
    let third = sheet.row_of("610324101");
    let next = sheet.last_row() + 1;
    let edits = [
        // A good change, which a bad sheet must not apply either.
        (other, col, Put::Number(9.0)),
        (town, col, Put::Text("很多")),
        (next, 0, Put::Text("610324999")),
        (next + 1, 0, Put::Text("620102001")),
        (next + 2, 0, Put::Text(OTHER_TOWN)),
        (next + 3, 0, Put::Text(TOWN)),
        (next + 3, col, Put::Number(-1.0)),
        (third, col, Put::Number(2.5)),
    ];
    let before = report(&app).await;
    let resp = send(&app, "county", edited(&sheet, &edits)).await;
    assert_eq!(resp.status(), 400);
    let refused: SheetRefused = resp.json().await.unwrap();
    let listed: Vec<String> = refused.cells.iter().map(|c| c.to_string()).collect();
    let expected = [
        format!("{}: 应为数字", address(town, col)),
        format!("{}: 应为整数", address(third, col)),
        format!("{}: 不认识的单位 610324999", address(next, 0)),
        format!(
            "{}: 620102001(某街道)不是扶风县下属的镇(街道)",
            address(next + 1, 0)
        ),
        format!(
            "{}: 单位 {OTHER_TOWN} 重复(第 {} 行已有)",
            address(next + 2, 0),
            other + 1
        ),
        format!(
            "{}: 单位 {TOWN} 重复(第 {} 行已有)",
            address(next + 3, 0),
            town + 1
        ),
    ];
    assert_eq!(listed, expected, "{}", refused.error);
    assert!(refused.error.contains("6 处错误"), "{}", refused.error);
    assert_eq!(report(&app).await, before);
    assert!(actions(&app).await.is_empty());

    // A negative target, in a row of its own.
    let resp = send(
        &app,
        "county",
        edited(&sheet, &[(town, col, Put::Number(-1.0))]),
    )
    .await;
    let refused: SheetRefused = resp.json().await.unwrap();
    assert_eq!(
        refused.cells[0].to_string(),
        format!("{}: 目标不能为负数", address(town, col))
    );

    // Another plan's or another sheet's headings.
    let resp = send(
        &app,
        "county",
        edited(&sheet, &[(2, col, Put::Text("别的指标"))]),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let refused: SheetRefused = resp.json().await.unwrap();
    assert_eq!(refused.cells.len(), 1);
    assert!(
        refused.cells[0]
            .to_string()
            .starts_with(&format!("{}: 应为“{CASES}", address(2, col))),
        "{:?}",
        refused.cells
    );

    // Not a spreadsheet at all, and one too large to read.
    let resp = send(&app, "county", b"code,target\n610324001,7\n".to_vec()).await;
    assert_eq!(resp.status(), 400);
    let refused: SheetRefused = resp.json().await.unwrap();
    assert!(
        refused.cells[0].message.contains("不是 .xlsx"),
        "{:?}",
        refused.cells
    );
    let resp = send(
        &app,
        "county",
        vec![0; shequ_server::table::MAX_IMPORT_BYTES + 1],
    )
    .await;
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("太大"), "{body}");
    assert_eq!(report(&app).await, before);
    assert!(actions(&app).await.is_empty());
}

async fn only_the_county_administrator_imports(app: TestApp) {
    let sheet = Sheet::of(&export(&app).await);
    let col = sheet.target_col(CASES);
    let body = edited(&sheet, &[(sheet.row_of(TOWN), col, Put::Number(7.0))]);
    let before = report(&app).await;
    for who in [format!("town-{TOWN}"), format!("village-{VILLAGE}")] {
        let resp = send(&app, &who, body.clone()).await;
        assert_eq!(resp.status(), 403, "{who}");
    }
    let anonymous = app
        .client
        .post(app.url(IMPORT))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(report(&app).await, before);
}

const EDIT: &str = "/api/report/610324/targets";

async fn type_targets(app: &TestApp, who: &str, targets: Value) -> reqwest::Response {
    app.post_as(who, EDIT)
        .await
        .json(&serde_json::json!({"plan": "fufeng-2018", "targets": targets}))
        .send()
        .await
        .unwrap()
}

async fn a_target_typed_on_the_page_reaches_the_report_the_table_and_the_trail(app: TestApp) {
    let before = report(&app).await;
    let was = target_of(&before, TOWN, "deliberation_success");
    let resp = type_targets(
        &app,
        "county",
        serde_json::json!([{"indicator": "deliberation_success", "town": TOWN, "min": 9}]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let done: TargetsImported = resp.json().await.unwrap();
    assert_eq!(done.changes.len(), 1, "{:?}", done.changes);
    assert_eq!(
        (done.changes[0].before, Some(done.changes[0].after)),
        (was, at_least(9.0))
    );
    let after = report(&app).await;
    assert_eq!(
        target_of(&after, TOWN, "deliberation_success"),
        at_least(9.0)
    );
    assert_eq!(
        target_of(&after, OTHER_TOWN, "deliberation_success"),
        target_of(&before, OTHER_TOWN, "deliberation_success")
    );
    // The exported table carries it as if it had been imported.
    let sheet = Sheet::of(&export(&app).await);
    assert_eq!(sheet.text(sheet.row_of(TOWN), sheet.target_col(CASES)), "9");
    let trail = actions(&app).await;
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, AdminActionKind::EditTargets);
    assert_eq!(trail[0].account, "county");
    let kept: TargetsImported = serde_json::from_value(trail[0].detail.clone()).unwrap();
    assert_eq!(kept, done);

    // The same target again changes nothing and adds nothing to the trail.
    let resp = type_targets(
        &app,
        "county",
        serde_json::json!([{"indicator": "deliberation_success", "town": TOWN, "min": 9}]),
    )
    .await;
    let again: TargetsImported = resp.json().await.unwrap();
    assert_eq!(again.changes, vec![]);
    assert_eq!(actions(&app).await.len(), 1);
}

async fn wrong_typed_targets_are_each_named_and_nothing_changes(app: TestApp) {
    let before = report(&app).await;
    let resp = type_targets(
        &app,
        "county",
        serde_json::json!([
            {"indicator": "deliberation_success", "town": OTHER_TOWN, "min": 4},
            {"indicator": "deliberation_success", "town": TOWN, "min": -1},
            {"indicator": "deliberation_cases", "town": TOWN, "min": 2.5},
            {"indicator": "no_such_indicator", "town": TOWN, "min": 1},
            {"indicator": "deliberation_success", "town": VILLAGE, "min": 1},
            {"indicator": "deliberation_success", "town": OTHER_TOWN, "min": 5},
            {"indicator": "deliberation_cases", "town": OTHER_TOWN, "min": 1e300}
        ]),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let refused: SheetRefused = resp.json().await.unwrap();
    let said: Vec<String> = refused.cells.iter().map(|c| c.to_string()).collect();
    assert_eq!(said.len(), 6, "{said:?}");
    for (i, words) in [
        ("城关街道 · 议事成功案例", "负数"),
        ("城关街道 · 议事案例", "整数"),
        ("no_such_indicator", "没有指标"),
        (VILLAGE, "不是本县的镇"),
        (OTHER_TOWN, "两次"),
        ("议事案例", "太大"),
    ]
    .into_iter()
    .enumerate()
    {
        assert!(
            said[i].contains(words.0) && said[i].contains(words.1),
            "{i}: {said:?}"
        );
    }
    assert_eq!(
        report(&app).await,
        before,
        "the good target is not kept either"
    );
    assert!(actions(&app).await.is_empty());

    // A body past the limit, an unknown key, and strangers to the county are refused.
    let many: Vec<Value> = (0..=shequ_model::table::MAX_TARGET_EDITS)
        .map(|_| serde_json::json!({"indicator": "deliberation_cases", "town": TOWN, "min": 1}))
        .collect();
    assert_eq!(
        type_targets(&app, "county", Value::Array(many))
            .await
            .status(),
        422
    );
    let resp = app
        .post_as("county", EDIT)
        .await
        .json(&serde_json::json!({"plan": "fufeng-2018", "targets": [], "extra": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let one = serde_json::json!([{"indicator": "deliberation_cases", "town": TOWN, "min": 3}]);
    for who in [format!("town-{TOWN}"), format!("village-{VILLAGE}")] {
        assert_eq!(
            type_targets(&app, &who, one.clone()).await.status(),
            403,
            "{who}"
        );
    }
    assert_eq!(report(&app).await, before);
}

common::conformance!(
    a_target_typed_on_the_page_reaches_the_report_the_table_and_the_trail,
    wrong_typed_targets_are_each_named_and_nothing_changes,
    an_exported_table_imports_unchanged,
    an_edited_target_reaches_the_report_and_the_next_export,
    a_bad_sheet_is_refused_cell_by_cell_and_changes_nothing,
    only_the_county_administrator_imports
);

fn import_command(app: &TestApp, file: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shequ-server"))
        .args(["--database", &app.database_url, "import-targets"])
        .arg(file)
        .output()
        .unwrap()
}

/// `shequ-server import-targets` prints what changed, or every wrong cell and fails.
#[tokio::test]
async fn the_command_imports_the_same_sheet_as_the_button() {
    let app = common::spawn_app().await;
    let sheet = Sheet::of(&export(&app).await);
    let col = sheet.target_col(CASES);
    let row = sheet.row_of(TOWN);
    let dir = tempfile::tempdir().unwrap();

    let bad = dir.path().join("bad.xlsx");
    std::fs::write(&bad, edited(&sheet, &[(row, col, Put::Text("很多"))])).unwrap();
    let ran = import_command(&app, &bad);
    assert!(!ran.status.success());
    let said = String::from_utf8_lossy(&ran.stderr);
    assert!(
        said.contains(&format!("{}: 应为数字", address(row, col))),
        "{said}"
    );

    let good = dir.path().join("good.xlsx");
    std::fs::write(&good, edited(&sheet, &[(row, col, Put::Number(7.0))])).unwrap();
    let ran = import_command(&app, &good);
    let said = String::from_utf8_lossy(&ran.stdout);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(said.contains("已导入 1 个目标"), "{said}");
    assert!(
        said.contains(&format!("{TOWN} 城关街道 · {CASES}")),
        "{said}"
    );
    assert_eq!(
        target_of(&report(&app).await, TOWN, "deliberation_success"),
        at_least(7.0)
    );
    let trail = actions(&app).await;
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].device, "import-targets");

    let ran = import_command(&app, &good);
    assert!(ran.status.success());
    assert!(String::from_utf8_lossy(&ran.stdout).contains("目标没有变化"));
}

/// The table as LibreOffice saves it again (a county office opening and saving it) goes back in
/// unchanged.
#[tokio::test]
async fn a_table_saved_again_by_libreoffice_imports_unchanged() {
    let app = common::spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("table.xlsx");
    std::fs::write(&exported, export(&app).await).unwrap();
    let out = dir.path().join("saved");
    let profile = format!(
        "-env:UserInstallation=file://{}/profile",
        dir.path().display()
    );
    let ran = Command::new("soffice")
        .args([
            profile.as_str(),
            "--headless",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
        ])
        .arg(&out)
        .arg(&exported)
        .output()
        .expect("LibreOffice's soffice runs (Debian: libreoffice-calc-nogui)");
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let saved = std::fs::read(out.join("table.xlsx")).unwrap();
    assert_ne!(saved, std::fs::read(&exported).unwrap());
    let resp = send(&app, "county", saved).await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changes"], serde_json::json!([]));
}
