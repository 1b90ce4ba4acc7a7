//! The decomposition table (目标任务分解表) as .xlsx: the file the report page's button downloads
//! and `shequ-server export-report` writes, opened with LibreOffice as a county office would and
//! read cell by cell against the report's figures.

mod common;

use common::{case, TestApp, VILLAGE, VILLAGE2};
use serde_json::json;
use shequ_model::rollup::{Cell, CellKind, Report};
use shequ_model::shown;
use std::path::{Path, PathBuf};
use std::process::Command;

const COUNTY: &str = "610324";
const TOWN: &str = "610324001";
const OTHER_TOWN: &str = "610324103";
/// In the other town.
const FAR_VILLAGE: &str = "610324103001";

async fn push(app: &TestApp, unit: &str, successes: usize, others: usize) {
    let changes: Vec<_> = (0..successes)
        .map(|i| case(unit, &format!("议题{i}"), true))
        .chain((0..others).map(|i| case(unit, &format!("未结议题{i}"), false)))
        .collect();
    let resp = app
        .post_as(&format!("village-{unit}"), "/api/sync/push")
        .await
        .json(&json!({"device": "table-test", "changes": changes}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// The table's cells as LibreOffice reads them, row by row (as shown: `50%`, `是`).
fn cells_of(xlsx: &Path) -> Vec<Vec<String>> {
    sheet_cells(xlsx, 1)
}

/// The cells of the workbook's `sheet`th sheet (from 1) as LibreOffice reads them.
fn sheet_cells(xlsx: &Path, sheet: usize) -> Vec<Vec<String>> {
    let out = tempfile::tempdir().unwrap();
    // A profile of its own, so that conversions running at once do not share one.
    let profile = format!(
        "-env:UserInstallation=file://{}/profile",
        out.path().display()
    );
    let ran = Command::new("soffice")
        .args([
            profile.as_str(),
            "--headless",
            "--convert-to",
            // Comma-separated, quoted, UTF-8 (76), first line included.
            // The twelfth option is the sheet to convert.
            &format!("csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,{sheet}"),
            "--outdir",
        ])
        .arg(out.path())
        .arg(xlsx)
        .output()
        .expect(
            "LibreOffice's soffice runs (Debian: libreoffice-calc-nogui; cargo xtask test installs it)",
        );
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    // Named after the file, with the sheet's name appended when one sheet is asked for.
    let csv_path = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .unwrap_or_else(|| {
            panic!(
                "LibreOffice wrote no CSV: {}",
                String::from_utf8_lossy(&ran.stdout)
            )
        });
    let mut rows = Vec::new();
    for r in csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(&csv_path)
        .unwrap()
        .records()
    {
        rows.push(r.unwrap().iter().map(str::to_owned).collect());
    }
    rows
}

async fn download(app: &TestApp, who: &str, query: &str) -> reqwest::Response {
    app.get_as(who, &format!("/api/report/{query}")).await
}

async fn save(app: &TestApp, who: &str, query: &str, to: &Path) -> PathBuf {
    let resp = download(app, who, query).await;
    assert_eq!(resp.status(), 200, "{query}");
    assert_eq!(
        resp.headers()["content-type"],
        shequ_server::table::CONTENT_TYPE
    );
    let disposition = resp.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let path = to.join("table.xlsx");
    std::fs::write(&path, resp.bytes().await.unwrap()).unwrap();
    path
}

/// The column of an indicator's group (目标, 完成, 进度 follow from it), found by its heading.
fn group_of(rows: &[Vec<String>], name: &str) -> usize {
    rows[2]
        .iter()
        .position(|h| h == name || h.starts_with(&format!("{name}(")))
        .unwrap_or_else(|| panic!("no heading {name} in {:?}", rows[2]))
}

fn row_of<'a>(rows: &'a [Vec<String>], code: &str) -> &'a Vec<String> {
    rows.iter()
        .find(|r| r.first().map(String::as_str) == Some(code))
        .unwrap_or_else(|| panic!("no row for {code}"))
}

/// A figure as the sheet shows it: a number without its unit, a share as a percentage.
fn as_sheet_shows(c: &Cell) -> String {
    match c.value {
        Some(v) if c.kind != CellKind::Flag => shown::number(v),
        _ => shown::value(c, ""),
    }
}

async fn the_county_table_holds_each_towns_targets_and_figures(app: TestApp) {
    push(&app, VILLAGE, 2, 1).await;
    push(&app, VILLAGE2, 1, 0).await;
    push(&app, FAR_VILLAGE, 1, 2).await;
    let report: Report = app
        .get_as("county", &format!("/api/report/{COUNTY}"))
        .await
        .json()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rows = cells_of(&save(&app, "county", &format!("{COUNTY}/table.xlsx"), dir.path()).await);

    assert!(rows[0][0].contains("目标任务分解表"), "{:?}", rows[0]);
    assert!(rows[1][0].contains("扶风县"), "{:?}", rows[1]);
    assert_eq!(&rows[2][..2], ["单位代码", "单位名称"]);
    let plan = app.get_as("county", "/api/plan").await;
    let plan: shequ_model::Plan = plan.json().await.unwrap();
    // Every indicator has its group, in the report's order.
    let headings: Vec<&String> = rows[2][2..].iter().step_by(3).collect();
    let names: Vec<&String> = plan.report_order().map(|i| &i.name).collect();
    assert_eq!(headings.len(), names.len());
    for (h, n) in headings.iter().zip(&names) {
        assert!(h.starts_with(n.as_str()), "{h} is not {n}");
    }
    assert_eq!(&rows[3][2..5], ["目标", "完成", "进度"]);

    // One row per town, then the county's own, each cell as the report has it.
    assert_eq!(rows.len(), 4 + report.children.len() + 1);
    let mut compared = 0;
    for unit in report.children.iter().chain([&report.unit]) {
        let row = row_of(&rows, &unit.area.code);
        assert!(row[1].starts_with(&unit.area.name), "{row:?}");
        for cell in &unit.cells {
            let ind = plan.indicator(&cell.indicator).unwrap();
            let col = group_of(&rows, &ind.name);
            assert_eq!(
                row[col + 1],
                as_sheet_shows(cell),
                "{} {}",
                unit.area.code,
                ind.id
            );
            let target = &row[col];
            match cell.target {
                // A town's own yes/no target is 是, not a number to compute with.
                Some(t)
                    if cell.kind != CellKind::Flag
                        && t.goal.is_none()
                        && t.max.is_none()
                        && t.min.is_some() =>
                {
                    assert_eq!(target, &shown::number(t.min.unwrap()))
                }
                t => assert_eq!(target, &shown::target(t.as_ref(), cell.kind, "")),
            }
            compared += 1;
        }
    }
    assert!(compared > 20, "{compared}");
    // The deliberation cases pushed above are there: 3 in the town, 1 in the other.
    let success = group_of(&rows, "议事成功案例") + 1;
    let town = report
        .children
        .iter()
        .find(|c| c.area.code == TOWN)
        .unwrap();
    let figure = town
        .cells
        .iter()
        .find(|c| c.indicator == "deliberation_success")
        .unwrap();
    assert_eq!(figure.value, Some(3.0));
    assert_eq!(row_of(&rows, TOWN)[success], "3");
    assert_eq!(row_of(&rows, OTHER_TOWN)[success], "1");
}

async fn a_town_table_lists_its_villages_and_strangers_get_none(app: TestApp) {
    push(&app, VILLAGE, 1, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let town = format!("town-{TOWN}");
    let rows = cells_of(&save(&app, &town, &format!("{TOWN}/table.xlsx"), dir.path()).await);
    let report: Report = app
        .get_as(&town, &format!("/api/report/{TOWN}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(!report.children.is_empty());
    for v in &report.children {
        row_of(&rows, &v.area.code);
    }
    assert!(row_of(&rows, TOWN)[1].ends_with("(合计)"));

    // Another town's supervisor, a village worker above their village, no session at all.
    let other = format!("town-{OTHER_TOWN}");
    let table = format!("{TOWN}/table.xlsx");
    assert_eq!(download(&app, &other, &table).await.status(), 403);
    let worker = format!("village-{VILLAGE}");
    assert_eq!(download(&app, &worker, &table).await.status(), 403);
    let anonymous = app
        .client
        .get(app.url(&format!("/api/report/{TOWN}/table.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // A month outside the plan, and a unit that does not exist, are named.
    let bad = download(
        &app,
        "county",
        &format!("{COUNTY}/table.xlsx?as_of=2017-12"),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let message: serde_json::Value = bad.json().await.unwrap();
    assert!(
        message["error"].as_str().unwrap().contains("2017-12"),
        "{message}"
    );
    let none = download(&app, "county", "610324999/table.xlsx").await;
    assert_eq!(none.status(), 404);
}

/// The unified assessment rides beside the table, on a sheet of its own: the town's villages in
/// the order the report page ranks them, each with its total and its items' points.
async fn the_table_carries_the_towns_ranking_on_a_sheet_of_its_own(app: TestApp) {
    push(&app, VILLAGE, 1, 0).await;
    push(&app, VILLAGE2, 2, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let town = format!("town-{TOWN}");
    let file = save(&app, &town, &format!("{TOWN}/table.xlsx"), dir.path()).await;
    let rows = sheet_cells(&file, 2);
    let plan: shequ_model::Plan = app.get_as(&town, "/api/plan").await.json().await.unwrap();
    let report: Report = app
        .get_as(&town, &format!("/api/report/{TOWN}"))
        .await
        .json()
        .await
        .unwrap();
    let ranking =
        shequ_model::assessment::rank(&plan, &report).expect("the plan has an assessment");
    assert_eq!(rows[0][0], ranking.name);
    assert_eq!(
        &rows[2][..5],
        ["名次", "单位代码", "单位名称", "总分", "满分"]
    );
    assert!(rows[2][5].starts_with("议事协商("), "{:?}", rows[2]);
    let listed: Vec<(String, String, String)> = rows[3..]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[3].clone()))
        .collect();
    let expected: Vec<(String, String, String)> = ranking
        .rows
        .iter()
        .map(|u| {
            (
                u.rank.to_string(),
                u.area.code.clone(),
                shown::number(u.total),
            )
        })
        .collect();
    assert_eq!(listed, expected);
    // Two successful cases meet 西关's target of two: the first place, 15 points for the item.
    assert_eq!(rows[3][1], VILLAGE2);
    assert_eq!(rows[3][5], "15");
    let first = rows
        .iter()
        .find(|r| r.get(1).map(String::as_str) == Some(VILLAGE))
        .unwrap();
    assert_eq!(first[5], "7.5");
}

common::conformance!(
    the_county_table_holds_each_towns_targets_and_figures,
    a_town_table_lists_its_villages_and_strangers_get_none,
    the_table_carries_the_towns_ranking_on_a_sheet_of_its_own
);

/// `shequ-server export-report` writes the same table as the web's button, as of a month too.
#[tokio::test]
async fn the_command_writes_the_same_table_as_the_button() {
    let app = common::spawn_app().await;
    push(&app, VILLAGE, 2, 0).await;
    let dir = tempfile::tempdir().unwrap();
    for as_of in [None, Some("2018-04")] {
        let query = match as_of {
            None => format!("{COUNTY}/table.xlsx"),
            Some(m) => format!("{COUNTY}/table.xlsx?as_of={m}"),
        };
        let web = cells_of(&save(&app, "county", &query, dir.path()).await);
        let file = dir.path().join("command.xlsx");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shequ-server"));
        cmd.args([
            "--database",
            &app.database_url,
            "export-report",
            "--unit",
            COUNTY,
        ]);
        if let Some(m) = as_of {
            cmd.args(["--as-of", m]);
        }
        let ran = cmd.arg(&file).output().unwrap();
        assert!(
            ran.status.success(),
            "{}",
            String::from_utf8_lossy(&ran.stderr)
        );
        let command = cells_of(&file);
        assert_eq!(web, command, "as of {as_of:?}");
    }
    // As of April, the cases whose last step came in May do not count yet.
    let april = cells_of(&dir.path().join("command.xlsx"));
    let success = group_of(&april, "议事成功案例") + 1;
    assert_eq!(row_of(&april, TOWN)[success], "0");
    assert!(april[1][0].contains("2018年4月底"), "{:?}", april[1]);

    let refused = Command::new(env!("CARGO_BIN_EXE_shequ-server"))
        .args([
            "--database",
            &app.database_url,
            "export-report",
            "--unit",
            COUNTY,
        ])
        .args(["--as-of", "2018-13"])
        .arg(dir.path().join("never.xlsx"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--as-of"));
    assert!(!dir.path().join("never.xlsx").exists());
}
