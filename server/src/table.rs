//! The decomposition table (目标任务分解表) as the spreadsheet a county office prints: one row per
//! town (or per village, for a town), one group of columns per indicator with its target, its
//! figure and how far along it is, and the unit's own figures last. The web's button and
//! `shequ-server export-report` write the same file.
//!
//! The county fills its towns' targets in that same sheet and imports it (the web's button and
//! `shequ-server import-targets`): [`read_targets`] reads it back with the layout the writer
//! uses, and reports every wrong cell by its address, so that nothing of a bad sheet is applied.

use calamine::{DataRef, Reader, Xlsx};
use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};
use shequ_model::area::Area;
use shequ_model::month::{china_date, Month};
use shequ_model::plan::{Indicator, Plan, Target};
use shequ_model::rollup::{Cell, CellKind, Report, UnitReport};
use shequ_model::shown;
use shequ_model::table::{town_target, typed_number, CellError, TargetChange};
use std::collections::{HashMap, HashSet};
use std::io::Cursor;

/// The media type of an .xlsx file.
pub const CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// The layout, which the writer and the reader share.
const SHEET_NAME: &str = "目标任务分解表";
/// Rows above the units: the title, what the figures are as of, and two rows of headings.
const HEAD_ROWS: u32 = 4;
/// The row of the units' and the indicators' headings; the next one holds [`SUBHEADINGS`].
const HEADING_ROW: u32 = 2;
/// Columns left of the indicators: the unit's code and name.
const UNIT_COLUMNS: u16 = 2;
const CODE_HEADING: &str = "单位代码";
const NAME_HEADING: &str = "单位名称";
/// Each indicator's columns.
const SUBHEADINGS: [&str; 3] = ["目标", "完成", "进度"];
const PER_INDICATOR: u16 = SUBHEADINGS.len() as u16;
/// The target's column among an indicator's.
const TARGET: u16 = 0;

/// The first column of the `i`th indicator's group.
fn group_col(i: usize) -> u16 {
    UNIT_COLUMNS + PER_INDICATOR * i as u16
}

fn title(plan: &Plan) -> String {
    format!("{}目标任务分解表", plan.title)
}

/// The file's name, for a download: `扶风县-目标任务分解表-2018.xlsx`.
pub fn file_name(plan: &Plan, report: &Report) -> String {
    format!(
        "{}-目标任务分解表-{}.xlsx",
        report.unit.area.name, plan.year
    )
}

/// The table of `report` (a unit and its children) under `plan`, as of the end of `as_of` or
/// now, written at `now_ms`.
pub fn workbook(
    plan: &Plan,
    report: &Report,
    as_of: Option<Month>,
    now_ms: i64,
) -> Result<Vec<u8>, XlsxError> {
    let indicators: Vec<&Indicator> = plan.report_order().collect();
    let mut book = Workbook::new();
    // A fixed creation time keeps the file the same for the same figures.
    let made = ExcelDateTime::from_timestamp(now_ms.div_euclid(1000))?;
    book.set_properties(
        &DocProperties::new()
            .set_title(format!("{} 目标任务分解表", plan.title))
            .set_author("社区建设工作台")
            .set_creation_datetime(&made),
    );
    let sheet = book.add_worksheet();
    sheet.set_name(SHEET_NAME)?;
    let formats = Formats::new();
    let last_col = group_col(indicators.len()) - 1;

    let as_of_text = match as_of {
        Some(m) => format!("{}年{}月底", m.year(), m.number()),
        None => format!("{}(当前)", china_date(now_ms)),
    };
    sheet.merge_range(0, 0, 0, last_col, &title(plan), &formats.title)?;
    sheet.set_row_height(0, 28)?;
    sheet.merge_range(
        1,
        0,
        1,
        last_col,
        &format!(
            "单位:{}({})    数据截至:{}    导出日期:{}",
            report.unit.area.name,
            report.unit.area.code,
            as_of_text,
            china_date(now_ms)
        ),
        &formats.note,
    )?;
    let (h, sub) = (HEADING_ROW, HEADING_ROW + 1);
    sheet.merge_range(h, 0, sub, 0, CODE_HEADING, &formats.head)?;
    sheet.merge_range(h, 1, sub, 1, NAME_HEADING, &formats.head)?;
    for (i, ind) in indicators.iter().enumerate() {
        let col = group_col(i);
        let last = col + PER_INDICATOR - 1;
        sheet.merge_range(h, col, h, last, &heading(ind, report), &formats.head)?;
        for (j, text) in SUBHEADINGS.into_iter().enumerate() {
            sheet.write_string_with_format(sub, col + j as u16, text, &formats.head)?;
        }
    }
    sheet.set_row_height(h, 42)?;

    let mut row = HEAD_ROWS;
    for unit in report.children.iter() {
        write_unit(sheet, row, unit, &indicators, &formats, false)?;
        row += 1;
    }
    write_unit(sheet, row, &report.unit, &indicators, &formats, true)?;

    sheet.set_column_width(0, 14)?;
    sheet.set_column_width(1, 22)?;
    for c in UNIT_COLUMNS..=last_col {
        sheet.set_column_width(c, 9)?;
    }
    sheet.set_freeze_panes(HEAD_ROWS, UNIT_COLUMNS)?;
    sheet.set_repeat_rows(HEADING_ROW, HEAD_ROWS - 1)?;
    sheet.set_landscape();
    // A4.
    sheet.set_paper_size(9);
    sheet.set_print_fit_to_pages(1, 0);
    if let Some(ranking) = shequ_model::assessment::rank(plan, report) {
        write_ranking(&mut book, plan, &ranking, &as_of_text, now_ms, &formats)?;
    }
    book.save_to_buffer()
}

/// The name of the sheet of the unified assessment, beside the table (the import reads only the
/// table's sheet).
pub const RANKING_SHEET: &str = "综合考核评比";

/// The unified assessment of the report's parts, one row per unit in ranking order: place, code,
/// name, total, the most it could be, then each item's points.
fn write_ranking(
    book: &mut Workbook,
    plan: &Plan,
    ranking: &shequ_model::assessment::Ranking,
    as_of_text: &str,
    now_ms: i64,
    formats: &Formats,
) -> Result<(), XlsxError> {
    let Some(assessment) = plan.assessment.as_ref() else {
        return Ok(());
    };
    // The items scored at this level: those of the first row (every row has the same).
    let items: Vec<&shequ_model::assessment::Item> = ranking
        .rows
        .first()
        .map(|r| {
            r.items
                .iter()
                .filter_map(|s| assessment.items.iter().find(|i| i.id == s.item))
                .collect()
        })
        .unwrap_or_default();
    const LEFT: u16 = 5;
    let last_col = LEFT + items.len().max(1) as u16 - 1;
    let sheet = book.add_worksheet();
    sheet.set_name(RANKING_SHEET)?;
    sheet.merge_range(0, 0, 0, last_col, &ranking.name, &formats.title)?;
    sheet.set_row_height(0, 28)?;
    sheet.merge_range(
        1,
        0,
        1,
        last_col,
        &format!(
            "单位:{}({})    数据截至:{}    导出日期:{}",
            ranking.unit.name,
            ranking.unit.code,
            as_of_text,
            china_date(now_ms)
        ),
        &formats.note,
    )?;
    let head = 2;
    for (c, text) in ["名次", CODE_HEADING, NAME_HEADING, "总分", "满分"]
        .into_iter()
        .enumerate()
    {
        sheet.write_string_with_format(head, c as u16, text, &formats.head)?;
    }
    for (i, item) in items.iter().enumerate() {
        let text = format!("{}({}分)", item.name, shown::number(item.points));
        sheet.write_string_with_format(head, LEFT + i as u16, &text, &formats.head)?;
    }
    sheet.set_row_height(head, 42)?;
    for (r, unit) in ranking.rows.iter().enumerate() {
        let row = head + 1 + r as u32;
        sheet.write_number_with_format(row, 0, unit.rank as f64, &formats.number)?;
        sheet.write_string_with_format(row, 1, &unit.area.code, &formats.text)?;
        sheet.write_string_with_format(row, 2, &unit.area.name, &formats.text)?;
        sheet.write_number_with_format(row, 3, unit.total, &formats.total_number)?;
        sheet.write_number_with_format(row, 4, unit.most, &formats.number)?;
        for (i, s) in unit.items.iter().enumerate() {
            let col = LEFT + i as u16;
            match s.score {
                Some(p) => sheet.write_number_with_format(row, col, p, &formats.number)?,
                None => sheet.write_string_with_format(row, col, "不计分", &formats.text)?,
            };
        }
    }
    sheet.set_column_width(0, 6)?;
    sheet.set_column_width(1, 14)?;
    sheet.set_column_width(2, 22)?;
    sheet.set_column_width(3, 8)?;
    sheet.set_column_width(4, 8)?;
    for c in LEFT..=last_col {
        sheet.set_column_width(c, 11)?;
    }
    sheet.set_freeze_panes(head + 1, 3)?;
    sheet.set_repeat_rows(head, head)?;
    sheet.set_landscape();
    sheet.set_paper_size(9);
    sheet.set_print_fit_to_pages(1, 0);
    Ok(())
}

/// An indicator's heading: its name and, when its figures have one, their unit (`建立议事会(个)`;
/// a yes/no is a share of units above the village, `%`).
fn heading(ind: &Indicator, report: &Report) -> String {
    let kind = report
        .unit
        .cells
        .iter()
        .chain(report.children.iter().flat_map(|c| &c.cells))
        .find(|c| c.indicator == ind.id)
        .map(|c| c.kind);
    match kind {
        None | Some(CellKind::Flag) => ind.name.clone(),
        Some(kind) => match shown::unit_of(kind, &ind.unit) {
            "" => ind.name.clone(),
            unit => format!("{}({unit})", ind.name),
        },
    }
}

fn write_unit(
    sheet: &mut Worksheet,
    row: u32,
    unit: &UnitReport,
    indicators: &[&Indicator],
    f: &Formats,
    own: bool,
) -> Result<(), XlsxError> {
    let (text, number, share) = if own {
        (&f.total_text, &f.total_number, &f.total_share)
    } else {
        (&f.text, &f.number, &f.share)
    };
    sheet.write_string_with_format(row, 0, &unit.area.code, text)?;
    let name = if own {
        format!("{}(合计)", unit.area.name)
    } else {
        unit.area.name.clone()
    };
    sheet.write_string_with_format(row, 1, &name, text)?;
    for (i, ind) in indicators.iter().enumerate() {
        let col = group_col(i);
        let Some(cell) = unit.cells.iter().find(|c| c.indicator == ind.id) else {
            // Units below the indicator's level have no figure of it.
            for j in 0..PER_INDICATOR {
                sheet.write_blank(row, col + j, text)?;
            }
            continue;
        };
        match target_number(cell) {
            Some(n) => sheet.write_number_with_format(row, col + TARGET, n, number)?,
            None => sheet.write_string_with_format(row, col + TARGET, target_text(cell), text)?,
        };
        match (cell.kind, cell.value) {
            (CellKind::Flag, _) | (_, None) => {
                sheet.write_string_with_format(row, col + 1, shown::value(cell, ""), text)?
            }
            (_, Some(v)) => sheet.write_number_with_format(row, col + 1, v, number)?,
        };
        match cell.progress {
            Some(p) => sheet.write_number_with_format(row, col + 2, p, share)?,
            None => sheet.write_string_with_format(row, col + 2, "—", text)?,
        };
    }
    Ok(())
}

/// The target as a number a sheet can compute with, when it is one: a minimum to reach.
/// Anything else (a range, a ceiling, yes/no, none) is written as it is shown.
fn target_number(cell: &Cell) -> Option<f64> {
    match (cell.kind, cell.target) {
        (
            CellKind::Number | CellKind::Ratio,
            Some(Target {
                min: Some(min),
                goal: None,
                max: None,
            }),
        ) => Some(min),
        _ => None,
    }
}

/// A target that is not one number, as the sheet shows it.
fn target_text(cell: &Cell) -> String {
    shown::target(cell.target.as_ref(), cell.kind, "")
}

struct Formats {
    title: Format,
    note: Format,
    head: Format,
    text: Format,
    number: Format,
    share: Format,
    total_text: Format,
    total_number: Format,
    total_share: Format,
}

impl Formats {
    fn new() -> Formats {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter);
        let total = cell.clone().set_bold();
        Formats {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            note: Format::new().set_align(FormatAlign::Left),
            head: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_background_color(0xDDEBF7),
            text: cell.clone().set_text_wrap(),
            number: cell.clone().set_num_format("General"),
            share: cell.clone().set_num_format("0%"),
            total_text: total.clone().set_text_wrap(),
            total_number: total.clone().set_num_format("General"),
            total_share: total.set_num_format("0%"),
        }
    }
}

/// The largest sheet taken for an import: a county's table is a few tens of kilobytes.
pub const MAX_IMPORT_BYTES: usize = 2 * 1024 * 1024;
/// The most the parts of an .xlsx file may unpack to: a small file must not unpack into a huge one.
const MAX_UNPACKED_BYTES: u64 = 32 * 1024 * 1024;
/// The most sheets a workbook taken for an import may hold.
const MAX_SHEETS: usize = 16;
/// The most rows of units read: far more than the towns of any county.
pub const MAX_IMPORT_ROWS: u32 = 1000;
/// Columns right of the last indicator's that are read anyway (notes a county may add).
const SPARE_COLUMNS: u16 = 64;

/// A cell's content, as far as an import cares.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Number(f64),
    Text(String),
    /// A yes/no, a date, an error value: never a target or a code.
    Other,
}

/// What a sheet says about the towns' targets, before the codes that are not towns of the county
/// are looked up (see [`Reading::finish`]).
#[derive(Debug)]
pub struct Reading {
    changes: Vec<TargetChange>,
    /// Each with its row and column, to list them in the order of the sheet.
    errors: Vec<(u32, u16, CellError)>,
    /// Codes in column A that are not towns of the county: (row, code).
    strangers: Vec<(u32, String)>,
}

impl Reading {
    fn refuse(message: impl Into<String>) -> Reading {
        Reading {
            changes: vec![],
            errors: vec![(
                0,
                0,
                CellError {
                    cell: String::new(),
                    message: message.into(),
                },
            )],
            strangers: vec![],
        }
    }

    fn error(&mut self, row: u32, col: u16, message: impl Into<String>) {
        self.errors.push((
            row,
            col,
            CellError {
                cell: rust_xlsxwriter::utility::row_col_to_cell(row, col),
                message: message.into(),
            },
        ));
    }

    /// The codes to look up before [`Reading::finish`].
    pub fn strangers(&self) -> impl Iterator<Item = &str> {
        self.strangers.iter().map(|(_, c)| c.as_str())
    }

    /// The targets the sheet changes, or every problem in it; `found` holds the units of
    /// [`Reading::strangers`] that exist.
    pub fn finish(
        mut self,
        county: &Area,
        found: &HashMap<String, Area>,
    ) -> Result<Vec<TargetChange>, Vec<CellError>> {
        for (row, code) in std::mem::take(&mut self.strangers) {
            let message = match found.get(&code) {
                None => format!("不认识的单位 {code}"),
                Some(a) => format!("{code}({})不是{}下属的镇(街道)", a.name, county.name),
            };
            self.error(row, 0, message);
        }
        if self.errors.is_empty() {
            return Ok(self.changes);
        }
        self.errors.sort_by_key(|(row, col, _)| (*row, *col));
        Err(self.errors.into_iter().map(|(_, _, e)| e).collect())
    }
}

/// Reads the towns' targets from a decomposition table of `report` (a county and its towns)
/// under `plan`: a number in a town's target cell is the town's target from now on (at least
/// that much); a cell left empty, or as the table shows the target in force, changes nothing.
/// The county's own row (合计) and the figure columns are not read.
pub fn read_targets(plan: &Plan, report: &Report, bytes: &[u8]) -> Reading {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Reading::refuse(format!(
            "文件太大(上限 {} MiB)",
            MAX_IMPORT_BYTES / 1024 / 1024
        ));
    }
    let indicators: Vec<&Indicator> = plan.report_order().collect();
    let cells = match cells_of(bytes, group_col(indicators.len())) {
        Ok(cells) => cells,
        Err(message) => return Reading::refuse(message),
    };
    let mut reading = Reading {
        changes: vec![],
        errors: vec![],
        strangers: vec![],
    };
    let text_at = |row: u32, col: u16| match cells.get(&(row, col)) {
        Some(Value::Text(t)) => t.trim().to_owned(),
        Some(Value::Number(n)) => shown::number(*n),
        _ => String::new(),
    };
    let mut expect = |row: u32, col: u16, want: &str| {
        if text_at(row, col) != want {
            reading.error(row, col, format!("应为“{want}”"));
        }
    };
    expect(0, 0, &title(plan));
    expect(HEADING_ROW, 0, CODE_HEADING);
    expect(HEADING_ROW, 1, NAME_HEADING);
    for (i, ind) in indicators.iter().enumerate() {
        expect(HEADING_ROW, group_col(i), &heading(ind, report));
        for (j, sub) in SUBHEADINGS.into_iter().enumerate() {
            expect(HEADING_ROW + 1, group_col(i) + j as u16, sub);
        }
    }
    if !reading.errors.is_empty() {
        // Not this plan's table for this county: its cells mean something else.
        return reading;
    }

    let filled: HashSet<u32> = cells.keys().map(|(r, _)| *r).collect();
    let last_row = filled.iter().copied().max().unwrap_or(0);
    let mut seen: HashMap<String, u32> = HashMap::new();
    for row in HEAD_ROWS..=last_row {
        let filled = filled.contains(&row);
        let code = match cells.get(&(row, 0)) {
            Some(Value::Text(t)) => t.trim().to_owned(),
            Some(Value::Number(n)) if n.fract() == 0.0 && *n >= 0.0 => format!("{n:.0}"),
            Some(Value::Number(_) | Value::Other) => {
                reading.error(row, 0, "应为单位代码");
                continue;
            }
            None => String::new(),
        };
        if code.is_empty() {
            if filled {
                reading.error(row, 0, "缺少单位代码");
            }
            continue;
        }
        if let Some(first) = seen.insert(code.clone(), row) {
            reading.error(row, 0, format!("单位 {code} 重复(第 {} 行已有)", first + 1));
            continue;
        }
        if code == report.unit.area.code {
            continue;
        }
        let Some(town) = report.children.iter().find(|c| c.area.code == code) else {
            reading.strangers.push((row, code));
            continue;
        };
        for (i, ind) in indicators.iter().enumerate() {
            let col = group_col(i) + TARGET;
            let value = cells.get(&(row, col));
            let Some(cell) = town.cells.iter().find(|c| c.indicator == ind.id) else {
                if value.is_some_and(|v| *v != Value::Text(String::new())) {
                    reading.error(row, col, "此指标不分解到镇,应留空");
                }
                continue;
            };
            let number = match value {
                None => continue,
                Some(Value::Number(n)) => *n,
                Some(Value::Text(t)) => {
                    let t = t.trim();
                    if t.is_empty() || t == target_text(cell) {
                        continue;
                    }
                    match typed_number(t) {
                        Ok(n) => n,
                        Err(message) => {
                            reading.error(row, col, message);
                            continue;
                        }
                    }
                }
                Some(Value::Other) => {
                    reading.error(row, col, "应为数字");
                    continue;
                }
            };
            let after = match town_target(plan, ind, cell.kind, number) {
                Ok(after) => after,
                Err(message) => {
                    reading.error(row, col, message);
                    continue;
                }
            };
            if target_number(cell) == Some(number) {
                continue;
            }
            reading
                .changes
                .push(TargetChange::of(ind, &town.area, cell, after));
        }
    }
    reading
}

/// The cells of the table's sheet, by (row, column), or why the file cannot be read. Cells past
/// the rows and columns a table can have end the reading: such a file is not a table.
fn cells_of(bytes: &[u8], columns: u16) -> Result<HashMap<(u32, u16), Value>, String> {
    const NOT_XLSX: &str = "文件不是 .xlsx 表格(请上传导出的目标任务分解表)";
    let unpacked: u64 = {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| NOT_XLSX.to_owned())?;
        let mut total = 0u64;
        for i in 0..zip.len() {
            total += zip.by_index_raw(i).map_err(|_| NOT_XLSX.to_owned())?.size();
        }
        total
    };
    if unpacked > MAX_UNPACKED_BYTES {
        return Err(format!(
            "文件解压后太大(上限 {} MiB)",
            MAX_UNPACKED_BYTES / 1024 / 1024
        ));
    }
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|_| NOT_XLSX.to_owned())?;
    let names = book.sheet_names();
    if names.len() > MAX_SHEETS {
        return Err(format!("工作表太多(上限 {MAX_SHEETS} 个)"));
    }
    if !names.iter().any(|n| n == SHEET_NAME) {
        return Err(format!("找不到工作表“{SHEET_NAME}”"));
    }
    let mut reader = book
        .worksheet_cells_reader(SHEET_NAME)
        .map_err(|_| NOT_XLSX.to_owned())?;
    let mut cells = HashMap::new();
    let max_row = HEAD_ROWS + MAX_IMPORT_ROWS;
    let max_col = columns.saturating_add(SPARE_COLUMNS);
    while let Some(cell) = reader.next_cell().map_err(|_| NOT_XLSX.to_owned())? {
        let (row, col) = cell.get_position();
        let value = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::Int(n) => Value::Number(*n as f64),
            DataRef::Float(n) => Value::Number(*n),
            DataRef::String(s) => Value::Text(s.clone()),
            DataRef::SharedString(s) => Value::Text((*s).to_owned()),
            _ => Value::Other,
        };
        if row >= max_row {
            return Err(format!("表格超过 {MAX_IMPORT_ROWS} 行"));
        }
        if col >= u32::from(max_col) {
            return Err(format!(
                "{}: 表格的列太多",
                rust_xlsxwriter::utility::row_col_to_cell(row, max_col)
            ));
        }
        cells.insert((row, col as u16), value);
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const COLUMNS: u16 = 20;

    fn book(build: impl FnOnce(&mut Workbook)) -> Vec<u8> {
        let mut book = Workbook::new();
        build(&mut book);
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn a_sheet_past_the_rows_a_table_has_is_refused() {
        let at = |row: u32| {
            book(|b| {
                let s = b.add_worksheet().set_name(SHEET_NAME).unwrap();
                s.write_number(row, 0, 1.0).unwrap();
            })
        };
        assert!(cells_of(&at(HEAD_ROWS + MAX_IMPORT_ROWS - 1), COLUMNS).is_ok());
        assert_eq!(
            cells_of(&at(HEAD_ROWS + MAX_IMPORT_ROWS), COLUMNS).unwrap_err(),
            format!("表格超过 {MAX_IMPORT_ROWS} 行")
        );
    }

    #[test]
    fn a_workbook_of_many_sheets_or_without_the_table_is_refused() {
        let sheets = |n: usize| {
            book(|b| {
                b.add_worksheet().set_name(SHEET_NAME).unwrap();
                for _ in 1..n {
                    b.add_worksheet();
                }
            })
        };
        assert!(cells_of(&sheets(MAX_SHEETS), COLUMNS).is_ok());
        assert!(cells_of(&sheets(MAX_SHEETS + 1), COLUMNS)
            .unwrap_err()
            .contains("工作表太多"));
        let other = book(|b| {
            b.add_worksheet().set_name("Sheet1").unwrap();
        });
        assert_eq!(
            cells_of(&other, COLUMNS).unwrap_err(),
            format!("找不到工作表“{SHEET_NAME}”")
        );
    }

    #[test]
    fn a_small_file_that_unpacks_into_a_huge_one_is_refused_unread() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/sharedStrings.xml", deflated).unwrap();
        let block = vec![b' '; 1024 * 1024];
        for _ in 0..=MAX_UNPACKED_BYTES / block.len() as u64 {
            zip.write_all(&block).unwrap();
        }
        let bytes = zip.finish().unwrap().into_inner();
        assert!(bytes.len() < MAX_IMPORT_BYTES);
        assert!(cells_of(&bytes, COLUMNS)
            .unwrap_err()
            .contains("解压后太大"));
    }
}
