//! The division hierarchy (city → county → town → village) and the national division-code CSV
//! format (`code,name,level,parent_code`) that `shequ-server import-areas` reads.
//!
//! Codes are the statistical division codes: 4 digits for a city, 6 for a county, 9 for a town,
//! 12 for a village-level unit, and a child's code always starts with its parent's. Shequ relies on
//! that prefix rule to find a subtree, so the parser refuses a file that breaks it.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Level of an org unit. Wire format: stable (lower-case names).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    City,
    County,
    Town,
    Village,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "city" => Some(Level::City),
            "county" => Some(Level::County),
            "town" => Some(Level::Town),
            "village" => Some(Level::Village),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::County => "county",
            Level::Town => "town",
            Level::Village => "village",
        }
    }
    /// Chinese name, as the UI shows it.
    pub fn label(self) -> &'static str {
        match self {
            Level::City => "市",
            Level::County => "县(区)",
            Level::Town => "镇(街)",
            Level::Village => "村(社区)",
        }
    }
    /// Number of digits of a code at this level.
    pub fn code_len(self) -> usize {
        match self {
            Level::City => 4,
            Level::County => 6,
            Level::Town => 9,
            Level::Village => 12,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One org unit. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Area {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub parent: String,
}

impl Area {
    /// Whether `code` is this unit or lies below it.
    pub fn contains(&self, code: &str) -> bool {
        UnitCode::covers(&self.code, code)
    }
}

/// A division code, checked: digits only, and as many as a city, county, town or village code has.
///
/// The one place Shequ turns the nesting of codes into a subtree. A child's code starts with its
/// parent's ([`parse_areas_csv`] refuses a file that breaks this), so a unit lies under a scope
/// exactly when its code starts with the scope's code; and in byte order the subtree is one
/// contiguous range of codes, which is how the server's tables and the phone's IndexedDB read it.
/// Wire format: stable (a plain string of digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);

impl TryFrom<String> for UnitCode {
    type Error = String;
    fn try_from(s: String) -> Result<UnitCode, String> {
        UnitCode::parse(&s)
    }
}

impl From<UnitCode> for String {
    fn from(code: UnitCode) -> String {
        code.0
    }
}

impl AsRef<str> for UnitCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for UnitCode {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for UnitCode {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl UnitCode {
    pub fn parse(code: &str) -> Result<UnitCode, String> {
        let level_ok = [Level::City, Level::County, Level::Town, Level::Village]
            .iter()
            .any(|l| l.code_len() == code.len());
        if !level_ok || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("“{code}”不是单位代码"));
        }
        Ok(UnitCode(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> Level {
        match self.0.len() {
            4 => Level::City,
            6 => Level::County,
            9 => Level::Town,
            _ => Level::Village,
        }
    }

    /// Whether the unit `code` is this unit or one of its descendants.
    pub fn contains(&self, code: &str) -> bool {
        Self::covers(&self.0, code)
    }

    /// The subtree as a half-open range of codes `[start, end)` in byte order: `end` is the scope
    /// followed by `:`, the byte after `9`, so every code that starts with the scope is inside.
    pub fn key_range(&self) -> (String, String) {
        (self.0.clone(), Self::subtree_end(&self.0))
    }

    /// [`UnitCode::contains`] for a scope already checked elsewhere (an account's own unit).
    pub fn covers(scope: &str, code: &str) -> bool {
        code.starts_with(scope)
    }

    /// The end of [`UnitCode::key_range`] for a scope already checked elsewhere.
    pub fn subtree_end(scope: &str) -> String {
        format!("{scope}:")
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest unit name taken, in characters (the longest real names are around 20).
pub const MAX_AREA_NAME_CHARS: usize = 100;

/// One problem in an areas file, with its line number (1-based, the header is line 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AreaError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for AreaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Splits one CSV line, honouring double quotes.
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    out.push(cur);
    Ok(out)
}

/// Parses an areas file and checks it against itself and the areas already `known` (the
/// database). Returns every error found, or the rows in file order. Nothing is partially valid:
/// a caller imports all the rows or none.
pub fn parse_areas_csv(
    text: &str,
    known: &HashMap<String, Area>,
) -> Result<Vec<Area>, Vec<AreaError>> {
    let mut errors = Vec::new();
    let mut rows: Vec<(usize, Area)> = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == "code,name,level,parent_code" => {}
        Some((_, h)) => errors.push(AreaError {
            line: 1,
            message: format!(
                "header must be `code,name,level,parent_code`, found `{}`",
                h.trim()
            ),
        }),
        None => errors.push(AreaError {
            line: 1,
            message: "the file is empty".into(),
        }),
    }
    for (i, raw) in lines {
        let line = i + 1;
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        // A NUL or a control character in a name would reach every page and log line that shows
        // the unit; no real division file has one.
        if let Some(c) = raw.chars().find(|c| c.is_control()) {
            errors.push(AreaError {
                line,
                message: format!("control character U+{:04X} in the line", c as u32),
            });
            continue;
        }
        let cols = match split_csv(raw) {
            Ok(c) => c,
            Err(e) => {
                errors.push(AreaError { line, message: e });
                continue;
            }
        };
        if cols.len() != 4 {
            errors.push(AreaError {
                line,
                message: format!("expected 4 columns, found {}", cols.len()),
            });
            continue;
        }
        let (code, name, level, parent) = (
            cols[0].trim(),
            cols[1].trim(),
            cols[2].trim(),
            cols[3].trim(),
        );
        let Some(lvl) = Level::parse(level) else {
            errors.push(AreaError {
                line,
                message: format!(
                    "unknown level `{level}` (expected city, county, town or village)"
                ),
            });
            continue;
        };
        let mut bad = |m: String| errors.push(AreaError { line, message: m });
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            bad(format!("code `{code}` is not a number"));
            continue;
        }
        if code.len() != lvl.code_len() {
            bad(format!(
                "a {lvl} code has {} digits, `{code}` has {}",
                lvl.code_len(),
                code.len()
            ));
            continue;
        }
        if name.is_empty() {
            bad(format!("code {code} has no name"));
            continue;
        }
        if name.chars().count() > MAX_AREA_NAME_CHARS {
            bad(format!(
                "the name of {code} is longer than {MAX_AREA_NAME_CHARS} characters"
            ));
            continue;
        }
        if parent.is_empty() || !parent.bytes().all(|b| b.is_ascii_digit()) {
            bad(format!("parent code `{parent}` is not a number"));
            continue;
        }
        if !code.starts_with(parent) || code == parent {
            bad(format!(
                "code {code} does not lie under its parent {parent}"
            ));
            continue;
        }
        rows.push((
            line,
            Area {
                code: code.into(),
                name: name.into(),
                level: lvl,
                parent: parent.into(),
            },
        ));
    }
    // Cross-row checks: duplicates, renames, parents.
    let mut seen: HashMap<&str, (usize, &Area)> = HashMap::new();
    for (line, a) in &rows {
        if let Some((first, prev)) = seen.get(a.code.as_str()) {
            if prev != &a {
                errors.push(AreaError {
                    line: *line,
                    message: format!(
                        "code {} is used again with another name or parent (first on line {first} as {})",
                        a.code, prev.name
                    ),
                });
            }
            continue;
        }
        seen.insert(&a.code, (*line, a));
        if let Some(k) = known.get(&a.code) {
            if k.name != a.name || k.level != a.level || k.parent != a.parent {
                errors.push(AreaError {
                    line: *line,
                    message: format!(
                        "code {} is already known as {} ({}, parent {}); this file names it {} ({}, parent {})",
                        a.code, k.name, k.level, k.parent, a.name, a.level, a.parent
                    ),
                });
            }
        }
    }
    for (line, a) in &rows {
        let parent = seen
            .get(a.parent.as_str())
            .map(|(_, p)| *p)
            .or_else(|| known.get(&a.parent));
        match parent {
            Some(p) if p.level >= a.level => errors.push(AreaError {
                line: *line,
                message: format!(
                    "{} ({}) cannot lie under {} ({})",
                    a.code, a.level, p.code, p.level
                ),
            }),
            Some(_) => {}
            // A county or city may hang from a province or city that Shequ does not keep.
            None if a.level <= Level::County => {}
            None => errors.push(AreaError {
                line: *line,
                message: format!("unknown parent {} of {} {}", a.parent, a.code, a.name),
            }),
        }
    }
    if errors.is_empty() {
        let mut out: Vec<Area> = Vec::new();
        let mut done = std::collections::HashSet::new();
        for (_, a) in rows {
            if done.insert(a.code.clone()) {
                out.push(a);
            }
        }
        Ok(out)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

/// The hierarchy in memory, for rollups and pickers.
#[derive(Clone, Debug, Default)]
pub struct AreaTree {
    pub by_code: BTreeMap<String, Area>,
    pub children: BTreeMap<String, Vec<String>>,
}

impl AreaTree {
    pub fn new(areas: impl IntoIterator<Item = Area>) -> Self {
        let mut t = AreaTree::default();
        for a in areas {
            t.children
                .entry(a.parent.clone())
                .or_default()
                .push(a.code.clone());
            t.by_code.insert(a.code.clone(), a);
        }
        for v in t.children.values_mut() {
            v.sort();
        }
        t
    }
    pub fn get(&self, code: &str) -> Option<&Area> {
        self.by_code.get(code)
    }
    pub fn children_of(&self, code: &str) -> impl Iterator<Item = &Area> {
        self.children
            .get(code)
            .into_iter()
            .flatten()
            .filter_map(|c| self.by_code.get(c))
    }
    /// Every unit at `level` inside `root` (root included if it is at that level).
    pub fn descendants_at(&self, root: &str, level: Level) -> Vec<&Area> {
        self.by_code
            .range(root.to_string()..)
            .take_while(|(c, _)| c.starts_with(root))
            .map(|(_, a)| a)
            .filter(|a| a.level == level)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "code,name,level,parent_code\n610324,扶风县,county,6103\n610324001,城关街道,town,610324\n610324001001,飞凤社区居委会,village,610324001\n";

    #[test]
    fn parses_a_good_file() {
        let a = parse_areas_csv(GOOD, &HashMap::new()).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[2].level, Level::Village);
        assert_eq!(a[2].parent, "610324001");
    }

    #[test]
    fn lists_every_error_with_its_line() {
        let bad = "code,name,level,parent_code\n610324,扶风县,county,6103\n610324001,城关街道,hamlet,610324\n610324002001,某村,village,610324002\n610324,别的县,county,6103\n61032400100x,坏,village,610324001\n610324001002,缺列,village\n";
        let e = parse_areas_csv(bad, &HashMap::new()).unwrap_err();
        let lines: Vec<usize> = e.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7], "{e:?}");
        assert!(e[0].message.contains("unknown level"));
        assert!(e[1].message.contains("unknown parent"));
        assert!(e[2].message.contains("used again"));
    }

    #[test]
    fn a_known_code_with_another_name_is_refused() {
        let mut known = HashMap::new();
        known.insert(
            "610324".to_string(),
            Area {
                code: "610324".into(),
                name: "扶风".into(),
                level: Level::County,
                parent: "6103".into(),
            },
        );
        let e = parse_areas_csv(GOOD, &known).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 2);
    }

    #[test]
    fn tree_finds_descendants_by_level() {
        let t = AreaTree::new(parse_areas_csv(GOOD, &HashMap::new()).unwrap());
        assert_eq!(t.descendants_at("610324", Level::Village).len(), 1);
        assert_eq!(t.children_of("610324").count(), 1);
    }

    #[test]
    fn control_characters_and_overlong_names_are_refused_with_their_line() {
        let long = "村".repeat(MAX_AREA_NAME_CHARS + 1);
        let bad = format!("{GOOD}610324001002,坏\0村,village,610324001\n610324001003,坏\u{1b}[31m村,village,610324001\n610324001005,{long},village,610324001\n");
        let e = parse_areas_csv(&bad, &HashMap::new()).unwrap_err();
        let lines: Vec<usize> = e.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![5, 6, 7], "{e:?}");
        assert!(e[0].message.contains("U+0000"), "{e:?}");
        assert!(e[1].message.contains("U+001B"), "{e:?}");
        assert!(e[2].message.contains("longer than"), "{e:?}");
        let fine = format!(
            "{GOOD}610324001005,{},village,610324001\n",
            "村".repeat(MAX_AREA_NAME_CHARS)
        );
        assert!(parse_areas_csv(&fine, &HashMap::new()).is_ok());
    }

    #[test]
    fn a_scope_covers_itself_and_its_descendants_only() {
        let town = UnitCode::parse("610324001").unwrap();
        assert_eq!(town.level(), Level::Town);
        for inside in ["610324001", "610324001001", "610324001201"] {
            assert!(town.contains(inside), "{inside}");
        }
        for outside in [
            "610324",
            "610324002",
            "610324002001",
            "610324103001",
            "6103",
        ] {
            assert!(!town.contains(outside), "{outside}");
        }
        let (start, end) = town.key_range();
        for code in [
            "610324001",
            "610324001001",
            "610324001999",
            "610324002",
            "610324000999",
            "610325",
        ] {
            let in_range = start.as_str() <= code && code < end.as_str();
            assert_eq!(in_range, town.contains(code), "{code}");
        }
        assert_eq!(
            UnitCode::parse("610324001001").unwrap().level(),
            Level::Village
        );
    }

    #[test]
    fn only_division_codes_are_unit_codes() {
        for bad in ["", "61032400", "61032400100a", "610324001001001", "6103 4"] {
            assert!(UnitCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quoted_fields_are_read() {
        assert_eq!(
            split_csv(r#"1,"a,b","c""d",x"#).unwrap(),
            vec!["1", "a,b", "c\"d", "x"]
        );
    }
}
