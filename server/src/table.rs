//! The decomposition table (目标任务分解表) as the spreadsheet a county office prints: one row per
//! town (or per village, for a town), one group of columns per indicator with its target, its
//! figure and how far along it is, and the unit's own figures last. The web's button and
//! `shequ-server export-report` write the same file.

use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};
use shequ_model::month::{china_date, Month};
use shequ_model::plan::{Indicator, Plan, Target};
use shequ_model::rollup::{Cell, CellKind, Report, UnitReport};
use shequ_model::shown;

/// The media type of an .xlsx file.
pub const CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Rows above the units: the title, what the figures are as of, and two rows of headings.
const HEAD_ROWS: u32 = 4;
/// Columns left of the indicators: the unit's code and name.
const UNIT_COLUMNS: u16 = 2;
/// Each indicator's columns: 目标, 完成, 进度.
const PER_INDICATOR: u16 = 3;

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
    sheet.set_name("目标任务分解表")?;
    let formats = Formats::new();
    let last_col = UNIT_COLUMNS + PER_INDICATOR * indicators.len() as u16 - 1;

    let as_of_text = match as_of {
        Some(m) => format!("{}年{}月底", m.year(), m.number()),
        None => format!("{}(当前)", china_date(now_ms)),
    };
    sheet.merge_range(
        0,
        0,
        0,
        last_col,
        &format!("{}目标任务分解表", plan.title),
        &formats.title,
    )?;
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
    sheet.merge_range(2, 0, 3, 0, "单位代码", &formats.head)?;
    sheet.merge_range(2, 1, 3, 1, "单位名称", &formats.head)?;
    for (i, ind) in indicators.iter().enumerate() {
        let col = UNIT_COLUMNS + PER_INDICATOR * i as u16;
        sheet.merge_range(2, col, 2, col + 2, &heading(ind, report), &formats.head)?;
        for (j, sub) in ["目标", "完成", "进度"].into_iter().enumerate() {
            sheet.write_string_with_format(3, col + j as u16, sub, &formats.head)?;
        }
    }
    sheet.set_row_height(2, 42)?;

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
    sheet.set_repeat_rows(2, HEAD_ROWS - 1)?;
    sheet.set_landscape();
    // A4.
    sheet.set_paper_size(9);
    sheet.set_print_fit_to_pages(1, 0);
    book.save_to_buffer()
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
        let col = UNIT_COLUMNS + PER_INDICATOR * i as u16;
        let Some(cell) = unit.cells.iter().find(|c| c.indicator == ind.id) else {
            // Units below the indicator's level have no figure of it.
            for j in 0..PER_INDICATOR {
                sheet.write_blank(row, col + j, text)?;
            }
            continue;
        };
        match target_number(cell) {
            Some(n) => sheet.write_number_with_format(row, col, n, number)?,
            None => sheet.write_string_with_format(
                row,
                col,
                shown::target(cell.target.as_ref(), cell.kind, ""),
                text,
            )?,
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
