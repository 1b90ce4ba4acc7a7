//! A synthetic national division file the size of the real one: 31 provinces, 342 cities, 2,945
//! counties, 41,229 towns and 616,249 village-level units, codes nested as the statistical codes
//! are. `cargo xtask bench-import` imports it; the national benchmark imports it and pushes
//! records to its villages.

use std::io::Write;
use std::path::Path;

const PROVINCES: usize = 31;
const CITIES: usize = 342;
const TOWNS: usize = 41_355;
const VILLAGES: usize = 618_133;
/// Towns per county, about the national average.
const TOWNS_PER_COUNTY: usize = 14;

/// One row of the file: code, name, level, parent code (empty for a province).
pub struct Row<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub level: &'static str,
    pub parent: &'a str,
}

/// Hands every row to `each`, parents before their children.
pub fn national_rows(mut each: impl FnMut(Row) -> std::io::Result<()>) -> std::io::Result<()> {
    let counties = TOWNS.div_ceil(TOWNS_PER_COUNTY);
    let (mut town_n, mut village_n, mut county_n) = (0, 0, 0);
    for p in 0..PROVINCES {
        let province = format!("{:02}", 11 + p * 2);
        each(Row {
            code: &province,
            name: &format!("省{p}"),
            level: "province",
            parent: "",
        })?;
        let cities = CITIES / PROVINCES + usize::from(p < CITIES % PROVINCES);
        for c in 1..=cities {
            let city = format!("{province}{c:02}");
            each(Row {
                code: &city,
                name: &format!("市{c}"),
                level: "city",
                parent: &province,
            })?;
            let city_index = p * (CITIES / PROVINCES) + c;
            let per_city = counties * city_index / CITIES - county_n;
            for k in 1..=per_city {
                county_n += 1;
                let county = format!("{city}{k:02}");
                each(Row {
                    code: &county,
                    name: &format!("县{county_n}"),
                    level: "county",
                    parent: &city,
                })?;
                let towns = (TOWNS * county_n / counties) - town_n;
                for t in 1..=towns {
                    town_n += 1;
                    let town = format!("{county}{t:03}");
                    each(Row {
                        code: &town,
                        name: &format!("镇{town_n}"),
                        level: "town",
                        parent: &county,
                    })?;
                    let villages = (VILLAGES * town_n / TOWNS) - village_n;
                    for v in 1..=villages {
                        village_n += 1;
                        each(Row {
                            code: &format!("{town}{v:03}"),
                            name: &format!("村{village_n}村民委员会"),
                            level: "village",
                            parent: &town,
                        })?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Writes the file (`code,name,level,parent_code`); returns its number of rows.
pub fn write_national(path: &Path) -> std::io::Result<usize> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "code,name,level,parent_code")?;
    let mut rows = 0;
    national_rows(|r| {
        rows += 1;
        writeln!(out, "{},{},{},{}", r.code, r.name, r.level, r.parent)
    })?;
    out.flush()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    #[test]
    fn the_file_has_the_real_ones_size_and_nests_its_codes() {
        let mut per_level: BTreeMap<&str, usize> = BTreeMap::new();
        let mut seen: HashSet<String> = HashSet::new();
        national_rows(|r| {
            *per_level.entry(r.level).or_default() += 1;
            let level = shequ_model::area::Level::parse(r.level).unwrap();
            assert_eq!(r.code.len(), level.code_len(), "{}", r.code);
            if level != shequ_model::area::Level::Province {
                assert!(
                    r.code.starts_with(r.parent),
                    "{} under {}",
                    r.code,
                    r.parent
                );
                assert!(seen.contains(r.parent), "{}'s parent comes first", r.code);
            }
            assert!(seen.insert(r.code.to_owned()), "{} once", r.code);
            Ok(())
        })
        .unwrap();
        // The sizes docs/benchmarks.md gives for the import.
        let sizes: Vec<(&str, usize)> = per_level.into_iter().collect();
        assert_eq!(
            sizes,
            [
                ("city", 342),
                ("county", 2_945),
                ("province", 31),
                ("town", 41_229),
                ("village", 616_249)
            ]
        );
    }
}
