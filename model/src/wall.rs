//! The public wish wall (心愿墙, work points 12 and 14): the published wishes and volunteer needs of
//! a town or a county, for helpers to take up, with no login. The wall is a view over records: a
//! record of a form with a [`Wall`] is on it once its status reaches the wall's state, and what a
//! stranger reads of it is [`item`]'s, which takes only the fields the plan lists as shown. This
//! is the one place a public answer is made from a record, so nothing else of it — the
//! resident's name, a helper's phone — can leave.

use crate::plan::{Condition, Field, FieldKind, Form, Wall};
use crate::record::{matches, Revision};
use crate::shown::number;
use crate::UnitCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Items on one page of a wall, at most.
pub const MAX_WALL_PAGE: u32 = 50;

/// One published record as the public reads it. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct WallItem {
    pub record: Uuid,
    /// The form's name (微心愿, 志愿服务需求).
    pub form: String,
    /// The title field's value: what is wished or needed.
    pub what: String,
    /// The other fields shown, each with its label.
    pub details: Vec<WallDetail>,
    pub unit: UnitCode,
    pub unit_name: String,
    /// The day it was published (the date its status reached the wall's state), when dated.
    pub since: Option<String>,
    /// Its state now: 发布, 认领, 完成 …
    pub state: String,
}

/// Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct WallDetail {
    pub label: String,
    pub value: String,
}

/// One page of a wall. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct WallPage {
    /// The town's or the county's name.
    pub unit_name: String,
    pub items: Vec<WallItem>,
    /// Where the next page starts (`before`), when there is one.
    pub next: Option<i64>,
}

/// Whether a live record of `form` is on the wall: its status has reached the wall's state.
pub fn published(form: &Form, rev: &Revision) -> bool {
    let Some(w) = &form.wall else {
        return false;
    };
    !rev.deleted && matches(form, &rev.content, &[reached(w)])
}

fn reached(w: &Wall) -> Condition {
    Condition {
        field: w.status.clone(),
        is: None,
        any_of: None,
        has: None,
        at_least: None,
        reached: Some(w.from.clone()),
    }
}

/// What the public reads of a record of `form` in a unit called `unit_name`; none when it is
/// not on the wall.
pub fn item(form: &Form, rev: &Revision, unit_name: &str) -> Option<WallItem> {
    let w = form.wall.as_ref()?;
    if !published(form, rev) {
        return None;
    }
    let status = rev.content.get(&w.status)?;
    let state = status.get("state")?.as_str()?.to_owned();
    let since = status
        .get("dates")
        .and_then(|d| d.get(&w.from))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let shown = |id: &String| Some((form.field(id)?, rev.content.get(id)?));
    let mut fields = w.shown.iter().filter_map(shown);
    let what = fields.next().and_then(|(_, v)| v.as_str())?.to_owned();
    let details = fields
        .filter_map(|(f, v)| {
            Some(WallDetail {
                label: f.label.clone(),
                value: shown_value(f, v)?,
            })
        })
        .collect();
    Some(WallItem {
        record: rev.record,
        form: form.name.clone(),
        what,
        details,
        unit: rev.unit.clone(),
        unit_name: unit_name.to_owned(),
        since,
        state,
    })
}

/// A shown field's value as text; none for one that reads as nothing.
fn shown_value(f: &Field, v: &Value) -> Option<String> {
    let text = match (f.kind, v) {
        (FieldKind::Person, _) => return None,
        (FieldKind::YesNo, Value::Bool(b)) => (if *b { "是" } else { "否" }).to_owned(),
        (FieldKind::Number, Value::Number(n)) => format!("{}{}", number(n.as_f64()?), f.unit),
        (FieldKind::MultiChoice, Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("、"),
        (FieldKind::Status, v) => v.get("state")?.as_str()?.to_owned(),
        (_, Value::String(s)) => s.clone(),
        _ => return None,
    };
    (!text.trim().is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;
    use serde_json::json;

    const PLAN: &str = r#"
id = "p"
year = 2018
title = "t"
county = "610324"

[[forms]]
id = "wish"
name = "微心愿"
title_field = "wish"
[[forms.fields]]
id = "wish"
label = "心愿内容"
kind = "text"
[[forms.fields]]
id = "category"
label = "类别"
kind = "choice"
options = ["助老", "帮困"]
[[forms.fields]]
id = "resident"
label = "心愿人"
kind = "text"
[[forms.fields]]
id = "people"
label = "人数"
kind = "number"
unit = "人"
[[forms.fields]]
id = "status"
label = "办理情况"
kind = "status"
states = ["收集", "发布", "认领", "完成"]
dated = true
[forms.wall]
shown = ["wish", "category", "people"]
status = "status"
from = "发布"

[[indicators]]
id = "wishes"
name = "心愿"
[indicators.measure]
shape = "count"
form = "wish"
"#;

    fn rev(content: serde_json::Value) -> Revision {
        Revision {
            record: Uuid::from_u128(7),
            rev: Uuid::from_u128(8),
            parent: None,
            resolves: vec![],
            device: "d".into(),
            clock: 1,
            plan: Default::default(),
            form: "wish".into(),
            unit: UnitCode::parse("610324001001").unwrap(),
            deleted: false,
            content: serde_json::from_value(content).unwrap(),
        }
    }

    /// A status at `state`, each state up to it dated.
    fn at(state: &str) -> serde_json::Value {
        let days = [
            ("收集", "2018-03-01"),
            ("发布", "2018-03-05"),
            ("认领", "2018-03-20"),
            ("完成", "2018-04-01"),
        ];
        let upto = days.iter().position(|(s, _)| *s == state).unwrap();
        let dates: serde_json::Map<String, serde_json::Value> = days[..=upto]
            .iter()
            .map(|(s, d)| (s.to_string(), json!(d)))
            .collect();
        json!({"state": state, "dates": dates})
    }

    #[test]
    fn a_record_is_on_the_wall_from_the_walls_state_on_and_shows_only_what_the_plan_lists() {
        let plan = Plan::parse("p.toml", PLAN).unwrap();
        let form = plan.form("wish").unwrap();
        let content = |state: &str| {
            json!({"wish": "一台电暖器", "category": "助老", "resident": "张大爷", "people": 2, "status": at(state)})
        };
        assert_eq!(item(form, &rev(content("收集")), "飞凤社区"), None);
        for state in ["发布", "认领", "完成"] {
            let got = item(form, &rev(content(state)), "飞凤社区").unwrap();
            assert_eq!(
                got,
                WallItem {
                    record: Uuid::from_u128(7),
                    form: "微心愿".into(),
                    what: "一台电暖器".into(),
                    details: vec![
                        WallDetail {
                            label: "类别".into(),
                            value: "助老".into()
                        },
                        WallDetail {
                            label: "人数".into(),
                            value: "2人".into()
                        },
                    ],
                    unit: UnitCode::parse("610324001001").unwrap(),
                    unit_name: "飞凤社区".into(),
                    since: Some("2018-03-05".into()),
                    state: state.into(),
                }
            );
            let text = serde_json::to_string(&got).unwrap();
            assert!(!text.contains("张大爷"), "{text}");
        }
        let mut gone = rev(content("发布"));
        gone.deleted = true;
        assert_eq!(item(form, &gone, "飞凤社区"), None);
        // A field not given is left out; a record with no title is not shown.
        let bare = json!({"wish": "一副老花镜", "status": at("发布")});
        assert!(item(form, &rev(bare), "x").unwrap().details.is_empty());
        assert_eq!(item(form, &rev(json!({"status": at("发布")})), "x"), None);
        // A form without a wall has nothing on it.
        let mut plain = form.clone();
        plain.wall = None;
        assert_eq!(item(&plain, &rev(content("完成")), "x"), None);
    }

    #[test]
    fn a_wall_that_would_show_a_person_or_misses_its_status_is_refused_by_path() {
        let bad = PLAN
            .replace(
                r#"shown = ["wish", "category", "people"]"#,
                r#"shown = ["category", "nothing", "category"]"#,
            )
            .replace(r#"from = "发布""#, r#"from = "上墙""#);
        let e = Plan::parse("p.toml", &bad).unwrap_err().to_string();
        for want in [
            "forms[0] (wish).wall.shown: the wall shows the title field `wish` first",
            "forms[0] (wish).wall.shown[1]: no field `nothing` in this form",
            "forms[0] (wish).wall.shown[2]: `category` is shown twice",
            "forms[0] (wish).wall.from: `上墙` is not a state of `status`",
        ] {
            assert!(e.contains(want), "{want} not in\n{e}");
        }
        let person = PLAN
            .replace(
                "[[forms.fields]]\nid = \"resident\"\nlabel = \"心愿人\"\nkind = \"text\"",
                "[[forms.fields]]\nid = \"resident\"\nlabel = \"心愿人\"\nkind = \"person\"\nregister = \"wish\"",
            )
            .replace(
                r#"shown = ["wish", "category", "people"]"#,
                r#"shown = ["wish", "resident"]"#,
            )
            .replace(r#"status = "status""#, r#"status = "category""#);
        let e = Plan::parse("p.toml", &person).unwrap_err().to_string();
        assert!(e.contains("wall.shown[1]: a person field names someone"), "{e}");
        assert!(e.contains("wall.status: the wall's status must be a status field"), "{e}");
        let unknown = PLAN.replace(r#"from = "发布""#, "from = \"发布\"\nphone = true");
        let e = Plan::parse("p.toml", &unknown).unwrap_err().to_string();
        assert!(e.contains("wall.phone"), "{e}");
    }
}
