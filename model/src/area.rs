//! The division hierarchy (province → city → county → town → village) and the national
//! division-code CSV format (`code,name,level,parent_code`) that `shequ-server import-areas` reads.
//!
//! Codes are the statistical division codes: 2 digits for a province, 4 for a city, 6 for a county,
//! 9 for a town, 12 for a village-level unit, and a child's code always starts with its parent's.
//! Shequ relies on that prefix rule to find a subtree, so the parser refuses a file that breaks it.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Level of an org unit. Wire format: stable (lower-case names).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The whole country, above the provinces: no division row stands for it, and its code is
    /// the empty one, under which every code lies. Only a national supervisor's account has it.
    Nation,
    Province,
    City,
    County,
    Town,
    Village,
}

impl Level {
    /// Every level a division has (a row of an areas file), from the top of the hierarchy down;
    /// the nation above them is not one.
    pub const ALL: [Level; 5] = [
        Level::Province,
        Level::City,
        Level::County,
        Level::Town,
        Level::Village,
    ];

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "nation" => Some(Level::Nation),
            "province" => Some(Level::Province),
            "city" => Some(Level::City),
            "county" => Some(Level::County),
            "town" => Some(Level::Town),
            "village" => Some(Level::Village),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Nation => "nation",
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
            Level::Town => "town",
            Level::Village => "village",
        }
    }
    /// Chinese name, as the UI shows it.
    pub fn label(self) -> &'static str {
        match self {
            Level::Nation => "全国",
            Level::Province => "省(区、市)",
            Level::City => "市",
            Level::County => "县(区)",
            Level::Town => "镇(街)",
            Level::Village => "村(社区)",
        }
    }
    /// Number of digits of a code at this level.
    pub fn code_len(self) -> usize {
        match self {
            Level::Nation => 0,
            Level::Province => 2,
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
    /// The whole country, above every province.
    pub fn nation() -> Area {
        Area {
            code: String::new(),
            name: Level::Nation.label().to_owned(),
            level: Level::Nation,
            parent: String::new(),
        }
    }

    /// Whether `code` is this unit or lies below it.
    pub fn contains(&self, code: &str) -> bool {
        UnitCode::covers(&self.code, code)
    }
}

/// A division code, checked: digits only, and as many as a province, city, county, town or village
/// code has.
///
/// The one place Shequ turns the nesting of codes into a subtree. A child's code starts with its
/// parent's ([`parse_areas_csv`] refuses a file that breaks this), so a unit lies under a scope
/// exactly when its code starts with the scope's code; and in byte order the subtree is one
/// contiguous range of codes, which is how the server's tables and the phone's IndexedDB read it.
/// Wire format: stable (a plain string of digits; the nation's is empty).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);

impl TryFrom<String> for UnitCode {
    type Error = String;
    fn try_from(s: String) -> Result<UnitCode, String> {
        UnitCode::parse_scope(&s)
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
        let level_ok = Level::ALL.iter().any(|l| l.code_len() == code.len());
        if !level_ok || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("“{code}”不是单位代码"));
        }
        Ok(UnitCode(code.to_string()))
    }

    /// The nation's code, the empty one, under which every code lies (see [`Level::Nation`]).
    pub fn nation() -> UnitCode {
        UnitCode(String::new())
    }

    /// A code as a URL's path writes it: the nation's empty code as `nation`.
    pub fn in_path(code: &str) -> &str {
        if code.is_empty() {
            NATION_IN_PATHS
        } else {
            code
        }
    }

    /// The code a URL's path segment stands for ([`UnitCode::in_path`]).
    pub fn from_path(segment: &str) -> &str {
        if segment == NATION_IN_PATHS {
            ""
        } else {
            segment
        }
    }

    /// A division code, or the nation's: what an account's unit or a scope may be. Where only a
    /// division will do (a record's unit, an area), [`UnitCode::parse`] refuses the nation's.
    pub fn parse_scope(code: &str) -> Result<UnitCode, String> {
        if code.is_empty() {
            Ok(UnitCode::nation())
        } else {
            UnitCode::parse(code)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> Level {
        Level::ALL
            .into_iter()
            .find(|l| l.code_len() == self.0.len())
            .unwrap_or(Level::Nation)
    }

    /// The unit this one lies directly under; none for a province.
    pub fn parent(&self) -> Option<UnitCode> {
        let above = Level::ALL
            .into_iter()
            .take_while(|l| l.code_len() < self.0.len())
            .last()?;
        Some(UnitCode(self.0[..above.code_len()].to_string()))
    }

    /// Every unit this one lies under, nearest first: for a village its town, county, city and
    /// province.
    pub fn ancestors(&self) -> impl Iterator<Item = UnitCode> {
        std::iter::successors(self.parent(), UnitCode::parent)
    }

    /// Whether the unit `code` is this unit or one of its descendants.
    pub fn contains(&self, code: impl AsRef<str>) -> bool {
        Self::covers(&self.0, code.as_ref())
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

/// How a URL's path writes the nation's empty code, where a segment cannot be empty.
pub const NATION_IN_PATHS: &str = "nation";

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

/// The first errors of a file that are listed; a file with more is refused all the same, and
/// the count of the others is given, so a wholly wrong file does not fill the memory with them.
pub const MAX_AREA_ERRORS: usize = 200;

/// A code as a number, with its length, so that `61` and `061` stay apart: a code has at most
/// 12 digits, which fit in 40 bits. Only for digit strings of at most 12 digits.
fn code_key(code: &str) -> u64 {
    let digits = code.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    digits | (code.len() as u64) << 40
}

fn key_code(key: u64) -> String {
    let len = (key >> 40) as usize;
    format!("{:0len$}", key & ((1 << 40) - 1))
}

/// What a unit says besides its code, hashed: two lines with one code must say the same.
fn content_hash(a: &Area) -> u32 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&a.name, a.level, &a.parent).hash(&mut h);
    h.finish() as u32
}

/// Checks an areas file one line at a time, so that a national file (about 660 k lines) is read
/// in a memory that does not hold the file: what it keeps is one compact entry per code (the
/// code as a number, the line it was first on and a hash of its content: 16 bytes, with the hash
/// table's slack some 16 to 40) and the lines
/// whose parent had not been seen yet when they were read (none in a file that lists parents
/// first, as the statistical files do).
///
/// The caller feeds each line to [`AreaCheck::line`], writes the rows it returns, compares them
/// with the areas already stored ([`AreaCheck::compare`]), and at the end looks up in the store
/// the parents the file does not hold ([`AreaCheck::unresolved_parents`]). Any error refuses the
/// whole file: the caller imports all the rows or none.
#[derive(Debug, Default)]
pub struct AreaCheck {
    seen: HashMap<u64, (u32, u32)>,
    /// (line, parent) of the town and village lines whose parent was not seen before them.
    pending: Vec<(u32, u64)>,
    errors: Vec<AreaError>,
    /// Errors beyond [`MAX_AREA_ERRORS`]: how many, and the line of the first.
    omitted: Option<(usize, usize)>,
    lines: usize,
}

impl AreaCheck {
    pub fn new() -> Self {
        Self::default()
    }

    fn error(&mut self, line: usize, message: String) {
        if self.errors.len() < MAX_AREA_ERRORS {
            self.errors.push(AreaError { line, message });
        } else {
            let (n, _) = self.omitted.get_or_insert((0, line));
            *n += 1;
        }
    }

    /// Whether an error was found so far: the caller may stop writing.
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Reads line number `line` (1-based; the header is line 1) and returns the unit it adds:
    /// none for the header, a blank line, an error or a code already read in this file.
    pub fn line(&mut self, line: usize, raw: &str) -> Option<Area> {
        self.lines = self.lines.max(line);
        let raw = raw.trim_end_matches(['\r', '\n']);
        if line == 1 {
            let h = raw.strip_prefix('\u{feff}').unwrap_or(raw).trim();
            if h != "code,name,level,parent_code" {
                self.error(
                    1,
                    format!("header must be `code,name,level,parent_code`, found `{h}`"),
                );
            }
            return None;
        }
        if raw.trim().is_empty() {
            return None;
        }
        let area = match read_row(raw) {
            Ok(a) => a,
            Err(message) => {
                self.error(line, message);
                return None;
            }
        };
        let key = code_key(&area.code);
        let hash = content_hash(&area);
        if let Some(&(first, h)) = self.seen.get(&key) {
            if h != hash {
                self.error(
                    line,
                    format!(
                        "code {} is used again with another name or parent (first on line {first})",
                        area.code
                    ),
                );
            }
            return None;
        }
        self.seen.insert(key, (line as u32, hash));
        // A county or city may hang from a province or city that Shequ does not keep.
        if area.level > Level::County && !self.seen.contains_key(&code_key(&area.parent)) {
            self.pending.push((line as u32, code_key(&area.parent)));
        }
        Some(area)
    }

    /// Compares a unit of the file, read on `line`, with the one stored under its code.
    pub fn compare(&mut self, line: usize, file: &Area, known: &Area) {
        if known.name != file.name || known.level != file.level || known.parent != file.parent {
            self.error(
                line,
                format!(
                    "code {} is already known as {} ({}, parent {}); this file names it {} ({}, parent {})",
                    file.code, known.name, known.level, known.parent, file.name, file.level, file.parent
                ),
            );
        }
    }

    /// The parents named in the file that it does not hold, each with the lines naming it: the
    /// caller looks them up among the stored areas and reports the missing ones with
    /// [`AreaCheck::missing_parent`].
    pub fn unresolved_parents(&mut self) -> BTreeMap<String, Vec<usize>> {
        let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (line, parent) in std::mem::take(&mut self.pending) {
            if !self.seen.contains_key(&parent) {
                out.entry(key_code(parent)).or_default().push(line as usize);
            }
        }
        out
    }

    pub fn missing_parent(&mut self, line: usize, parent: &str) {
        self.error(line, format!("unknown parent {parent}"));
    }

    /// Every error found, in line order, or none.
    pub fn finish(mut self) -> Result<(), Vec<AreaError>> {
        if self.lines == 0 {
            self.error(1, "the file is empty".into());
        }
        let Self {
            mut errors,
            omitted,
            ..
        } = self;
        if errors.is_empty() {
            return Ok(());
        }
        errors.sort_by_key(|e| e.line);
        if let Some((n, line)) = omitted {
            errors.push(AreaError {
                line,
                message: format!("{n} more error(s) from this line on, not listed"),
            });
        }
        Err(errors)
    }
}

/// One data line of an areas file, checked on its own.
fn read_row(raw: &str) -> Result<Area, String> {
    // A NUL or a control character in a name would reach every page and log line that shows
    // the unit; no real division file has one.
    if let Some(c) = raw.chars().find(|c| c.is_control()) {
        return Err(format!("control character U+{:04X} in the line", c as u32));
    }
    let cols = split_csv(raw)?;
    if cols.len() != 4 {
        return Err(format!("expected 4 columns, found {}", cols.len()));
    }
    let (code, name, level, parent) = (
        cols[0].trim(),
        cols[1].trim(),
        cols[2].trim(),
        cols[3].trim(),
    );
    let Some(lvl) = Level::parse(level) else {
        return Err(format!(
            "unknown level `{level}` (expected province, city, county, town or village)"
        ));
    };
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("code `{code}` is not a number"));
    }
    if code.len() != lvl.code_len() {
        return Err(format!(
            "a {lvl} code has {} digits, `{code}` has {}",
            lvl.code_len(),
            code.len()
        ));
    }
    if name.is_empty() {
        return Err(format!("code {code} has no name"));
    }
    if name.chars().count() > MAX_AREA_NAME_CHARS {
        return Err(format!(
            "the name of {code} is longer than {MAX_AREA_NAME_CHARS} characters"
        ));
    }
    if lvl == Level::Province {
        if !parent.is_empty() {
            return Err(format!(
                "province {code} has the parent `{parent}`; a province has none"
            ));
        }
    } else {
        if parent.is_empty() || !parent.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("parent code `{parent}` is not a number"));
        }
        // The parent is a shorter code, so it lies at a level above the unit's.
        if !UnitCode::covers(parent, code) || code == parent {
            return Err(format!(
                "code {code} does not lie under its parent {parent}"
            ));
        }
    }
    Ok(Area {
        code: code.into(),
        name: name.into(),
        level: lvl,
        parent: parent.into(),
    })
}

/// Parses an areas file held in memory and checks it against itself and the areas already
/// `known`, by the rules of [`AreaCheck`]. Returns every error found, or the rows in file order.
pub fn parse_areas_csv(
    text: &str,
    known: &HashMap<String, Area>,
) -> Result<Vec<Area>, Vec<AreaError>> {
    let mut check = AreaCheck::new();
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if let Some(a) = check.line(i + 1, raw) {
            if let Some(k) = known.get(&a.code) {
                check.compare(i + 1, &a, k);
            }
            rows.push(a);
        }
    }
    for (parent, lines) in check.unresolved_parents() {
        if !known.contains_key(&parent) {
            for line in lines {
                check.missing_parent(line, &parent);
            }
        }
    }
    check.finish().map(|()| rows)
}

/// The hierarchy in memory, for rollups and pickers.
///
/// Units are held by position: in code order, each with the positions of its children, so a
/// roll-up walks a scope of tens of thousands of units without looking a code up; a code is
/// looked up once, by binary search, to find where a walk starts.
#[derive(Clone, Debug, Default)]
pub struct AreaTree {
    /// Every unit, in code order (one per code: the last given wins).
    areas: Vec<Area>,
    /// The children of unit `i` are `child_list[child_start[i]..child_start[i + 1]]`, in code
    /// order.
    child_start: Vec<u32>,
    child_list: Vec<u32>,
    /// The units whose parent is not in the tree, in code order.
    roots: Vec<u32>,
}

impl AreaTree {
    pub fn new(areas: impl IntoIterator<Item = Area>) -> Self {
        let mut areas: Vec<Area> = areas.into_iter().collect();
        // A stable sort keeps the order given among equal codes, so the last one given is kept.
        areas.sort_by(|a, b| a.code.cmp(&b.code));
        let mut kept: Vec<Area> = Vec::with_capacity(areas.len());
        for a in areas {
            match kept.last_mut() {
                Some(last) if last.code == a.code => *last = a,
                _ => kept.push(a),
            }
        }
        let areas = kept;
        let position = |code: &str| areas.binary_search_by(|a| a.code.as_str().cmp(code)).ok();
        // The nation's parent is its own (empty) code; it is a root.
        let parents: Vec<Option<usize>> = areas
            .iter()
            .enumerate()
            .map(|(i, a)| position(&a.parent).filter(|&p| p != i))
            .collect();
        let mut child_start = vec![0u32; areas.len() + 1];
        for p in parents.iter().flatten() {
            child_start[p + 1] += 1;
        }
        for i in 0..areas.len() {
            child_start[i + 1] += child_start[i];
        }
        let mut next: Vec<u32> = child_start[..areas.len()].to_vec();
        let mut child_list = vec![0u32; parents.iter().flatten().count()];
        let mut roots = Vec::new();
        // Units come in code order, so each unit's children do too.
        for (i, p) in parents.iter().enumerate() {
            match p {
                Some(p) => {
                    child_list[next[*p] as usize] = i as u32;
                    next[*p] += 1;
                }
                None => roots.push(i as u32),
            }
        }
        AreaTree {
            areas,
            child_start,
            child_list,
            roots,
        }
    }

    pub fn get(&self, code: &str) -> Option<&Area> {
        self.position(code).map(|i| &self.areas[i])
    }

    pub fn children_of(&self, code: &str) -> impl Iterator<Item = &Area> {
        self.child_positions(code).map(|i| &self.areas[i])
    }

    /// Every unit, in code order.
    pub fn iter(&self) -> impl Iterator<Item = &Area> {
        self.areas.iter()
    }

    /// How many units the tree holds.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// Where the unit `code` is held.
    pub fn position(&self, code: &str) -> Option<usize> {
        self.areas
            .binary_search_by(|a| a.code.as_str().cmp(code))
            .ok()
    }

    /// The unit held at `i`.
    pub fn at(&self, i: usize) -> &Area {
        &self.areas[i]
    }

    /// The positions of the children of the unit held at `i`, in code order.
    pub fn children_at(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let (from, to) = (self.child_start[i], self.child_start[i + 1]);
        self.child_list[from as usize..to as usize]
            .iter()
            .map(|&c| c as usize)
    }

    /// The positions of the units whose parent is `code`, whether or not `code` is in the tree.
    pub fn child_positions(&self, code: &str) -> Box<dyn Iterator<Item = usize> + '_> {
        match self.position(code) {
            Some(i) => Box::new(self.children_at(i)),
            None => {
                let code = code.to_owned();
                Box::new(
                    self.roots
                        .iter()
                        .map(|&r| r as usize)
                        .filter(move |&r| self.areas[r].parent == code),
                )
            }
        }
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
    fn tree_finds_children() {
        let t = AreaTree::new(parse_areas_csv(GOOD, &HashMap::new()).unwrap());
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
    fn a_code_knows_the_units_above_it() {
        let code = |c: &str| UnitCode::parse(c).unwrap();
        let village = code("610324001001");
        let above: Vec<UnitCode> = village.ancestors().collect();
        assert_eq!(
            above,
            [code("610324001"), code("610324"), code("6103"), code("61")]
        );
        assert_eq!(village.parent(), Some(code("610324001")));
        assert_eq!(code("610324").parent(), Some(code("6103")));
        assert_eq!(code("6103").parent(), Some(code("61")));
        assert_eq!(code("61").level(), Level::Province);
        assert_eq!(code("61").parent(), None);
        assert_eq!(code("61").ancestors().count(), 0);
        for a in &above {
            assert!(a.contains(&village), "{a}");
            assert!(a.level() < village.level(), "{a}");
        }
    }

    #[test]
    fn the_nation_is_a_scope_but_not_a_division() {
        let nation = UnitCode::parse_scope("").unwrap();
        assert_eq!(nation, UnitCode::nation());
        assert_eq!(nation.level(), Level::Nation);
        assert_eq!(nation.parent(), None);
        assert!(nation.contains("61") && nation.contains("610324001001"));
        assert!(!UnitCode::parse("61").unwrap().contains(""));
        assert_eq!(serde_json::from_str::<UnitCode>("\"\"").unwrap(), nation);
        assert_eq!(UnitCode::parse_scope("61"), UnitCode::parse("61"));
        assert!(UnitCode::parse_scope("610").is_err());
        assert_eq!(Level::parse("nation"), Some(Level::Nation));
        assert!(!Level::ALL.contains(&Level::Nation));
        assert!(Level::Nation < Level::Province);
        // The nation above the provinces: a root, and the provinces its children.
        let tree = AreaTree::new([
            Area::nation(),
            Area {
                code: "61".into(),
                name: "陕西省".into(),
                level: Level::Province,
                parent: "".into(),
            },
            Area {
                code: "62".into(),
                name: "甘肃省".into(),
                level: Level::Province,
                parent: "".into(),
            },
        ]);
        let children: Vec<&str> = tree.children_of("").map(|a| a.code.as_str()).collect();
        assert_eq!(children, ["61", "62"]);
        assert_eq!(UnitCode::from_path(UnitCode::in_path("")), "");
        assert_eq!(UnitCode::from_path(UnitCode::in_path("61")), "61");
    }

    #[test]
    fn only_division_codes_are_unit_codes() {
        for bad in [
            "",
            "6",
            "610",
            "61032400",
            "61032400100a",
            "610324001001001",
            "6103 4",
        ] {
            assert!(UnitCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_national_file_reads_from_the_province_down() {
        let national = "code,name,level,parent_code\n61,陕西省,province,\n6103,宝鸡市,city,61\n610324,扶风县,county,6103\n610324001,城关街道,town,610324\n610324001001,飞凤社区居委会,village,610324001\n";
        let a = parse_areas_csv(national, &HashMap::new()).unwrap();
        let levels: Vec<Level> = a.iter().map(|a| a.level).collect();
        assert_eq!(levels, Level::ALL);
        assert_eq!(a[0].parent, "");
        let bad = "code,name,level,parent_code\n61,陕西省,province,86\n610,某地,province,\n";
        let e = parse_areas_csv(bad, &HashMap::new()).unwrap_err();
        assert_eq!(
            e.iter().map(|e| e.line).collect::<Vec<_>>(),
            [2, 3],
            "{e:?}"
        );
    }

    #[test]
    fn parents_may_come_after_their_children() {
        let late = "code,name,level,parent_code\n610324001001,飞凤社区居委会,village,610324001\n610324001,城关街道,town,610324\n610324,扶风县,county,6103\n";
        assert_eq!(parse_areas_csv(late, &HashMap::new()).unwrap().len(), 3);
    }

    #[test]
    fn a_file_of_errors_lists_the_first_and_counts_the_rest() {
        let mut bad = String::from("code,name,level,parent_code\n");
        for i in 0..MAX_AREA_ERRORS + 5 {
            bad.push_str(&format!("610324{i:03},某镇,hamlet,610324\n"));
        }
        let e = parse_areas_csv(&bad, &HashMap::new()).unwrap_err();
        assert_eq!(e.len(), MAX_AREA_ERRORS + 1);
        let last = e.last().unwrap();
        assert_eq!(last.line, MAX_AREA_ERRORS + 2);
        assert!(last.message.starts_with("5 more"), "{last:?}");
    }

    #[test]
    fn quoted_fields_are_read() {
        assert_eq!(
            split_csv(r#"1,"a,b","c""d",x"#).unwrap(),
            vec!["1", "a,b", "c\"d", "x"]
        );
    }
}
