//! The public wish wall (心愿墙, work points 12 and 14): the published wishes and volunteer needs of
//! a town or a county, for helpers to take up, with no login. The wall is a view over records: a
//! record of a form with a [`Wall`] is on it once its status reaches the wall's state, and what a
//! stranger reads of it is [`item`]'s, which takes only the fields the plan lists as shown. This
//! is the one place a public answer is made from a record, so nothing else of it — the
//! resident's name, a helper's phone — can leave.

use crate::plan::{Condition, Field, FieldKind, Form, Wall};
use crate::record::{matches, Content, FieldError, Revision, StatusValue};
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
    /// When helpers may offer to take it up ([`open_to_offers`]): the kinds of helper an offer
    /// names one of (none when the form asks for no kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offers: Option<Vec<String>>,
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
    // The title is the first field shown (the plan's check): a record without one is not shown.
    let what = rev.content.get(w.shown.first()?)?.as_str()?.to_owned();
    let shown = |id: &String| Some((form.field(id)?, rev.content.get(id)?));
    let details = w.shown[1..]
        .iter()
        .filter_map(shown)
        .filter_map(|(f, v)| {
            Some(WallDetail {
                label: f.label.clone(),
                value: shown_value(f, v)?,
            })
        })
        .collect();
    let offers = open_to_offers(form, rev).then(|| {
        w.helper_kind
            .as_ref()
            .and_then(|k| form.field(k))
            .map(|f| f.options.clone())
            .unwrap_or_default()
    });
    Some(WallItem {
        record: rev.record,
        form: form.name.clone(),
        what,
        details,
        unit: rev.unit.clone(),
        unit_name: unit_name.to_owned(),
        since,
        state,
        offers,
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

/// Whether helpers may offer to take up a live record of `form`: it is on the wall and still in
/// the wall's own state (published, not yet taken up).
pub fn open_to_offers(form: &Form, rev: &Revision) -> bool {
    let Some(w) = &form.wall else {
        return false;
    };
    published(form, rev) && state_of(&rev.content, w).as_deref() == Some(w.from.as_str())
}

fn state_of(content: &Content, w: &Wall) -> Option<String> {
    let v = content.get(&w.status)?.get("state")?.as_str()?;
    Some(v.to_owned())
}

/// The longest helper's name, and note, an offer may carry, in characters.
pub const MAX_HELPER_NAME: usize = 20;
pub const MAX_OFFER_NOTE: usize = 200;

/// What a helper sends to take up a record on the wall. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    pub record: String,
    pub name: String,
    pub phone: String,
    /// One of the helper kinds the form offers, when it asks for one.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub note: String,
}

/// The offer's problems, each on its field (`name`, `phone`, `kind`, `note`), in Chinese; none
/// when it may be kept. The record it names is checked by the caller.
pub fn check_offer(form: &Form, o: &OfferInput) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut wrong = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    let name = o.name.trim();
    if name.is_empty() {
        wrong("name", "请填写姓名或单位名称");
    } else if name.chars().count() > MAX_HELPER_NAME {
        wrong("name", "姓名或单位名称最多 20 个字");
    } else if name.chars().any(hidden) {
        wrong("name", "姓名中有不能显示的字符");
    }
    if !phone_ok(o.phone.trim()) {
        wrong("phone", "请填写 11 位手机号码,或带区号的固定电话");
    }
    let kinds = form
        .wall
        .as_ref()
        .and_then(|w| w.helper_kind.as_ref())
        .and_then(|k| form.field(k))
        .map(|f| f.options.as_slice());
    match kinds {
        Some(options) if !options.contains(&o.kind) => wrong("kind", "请选择认领方"),
        None if !o.kind.is_empty() => wrong("kind", "这一项不用选择认领方"),
        _ => {}
    }
    let note = o.note.trim();
    if note.chars().count() > MAX_OFFER_NOTE {
        wrong("note", "留言最多 200 个字");
    } else if note.chars().any(|c| c != '\n' && c != '\r' && hidden(c)) {
        wrong("note", "留言中有不能显示的字符");
    }
    errors
}

/// A character that shows nothing or turns the text around it: control characters, and the
/// invisible and direction marks a stranger could use to make a name read as another.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

/// A mobile number (11 digits from 1) or a landline with its area code (from 0, 10 to 12
/// digits), dashes and spaces allowed between.
pub fn phone_ok(p: &str) -> bool {
    if p.len() > 20
        || !p
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
    {
        return false;
    }
    let digits: String = p.chars().filter(char::is_ascii_digit).collect();
    match digits.as_bytes().first() {
        Some(b'1') => digits.len() == 11,
        Some(b'0') => (10..=12).contains(&digits.len()),
        _ => false,
    }
}

/// Where an offer stands. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OfferState {
    /// Sent; the village has not answered.
    Waiting,
    Accepted,
    Declined,
    /// Hidden by the village as abuse: the helper is told it was not accepted.
    Hidden,
}

impl OfferState {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferState::Waiting => "waiting",
            OfferState::Accepted => "accepted",
            OfferState::Declined => "declined",
            OfferState::Hidden => "hidden",
        }
    }

    pub fn parse(s: &str) -> Option<OfferState> {
        [
            OfferState::Waiting,
            OfferState::Accepted,
            OfferState::Declined,
            OfferState::Hidden,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }

    /// What a resident who sent something in is told, in Chinese.
    pub fn told_resident(self) -> &'static str {
        match self {
            OfferState::Waiting => "已收到,等待村(社区)工作人员核实",
            OfferState::Accepted => "村(社区)已采纳,核实后会发布到心愿墙上",
            OfferState::Declined | OfferState::Hidden => "这次没有被采纳,感谢您的信任",
        }
    }

    /// What the helper is told, in Chinese.
    pub fn told(self) -> &'static str {
        match self {
            OfferState::Waiting => "已收到,等待村(社区)确认",
            OfferState::Accepted => "村(社区)已接受您的认领,工作人员会按您留下的电话与您联系",
            OfferState::Declined | OfferState::Hidden => "这次没有被接受,感谢您的爱心",
        }
    }
}

/// A village's answer to an offer. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Decline,
    Hide,
}

impl Decision {
    pub fn state(self) -> OfferState {
        match self {
            Decision::Accept => OfferState::Accepted,
            Decision::Decline => OfferState::Declined,
            Decision::Hide => OfferState::Hidden,
        }
    }
}

/// An offer as the village worker sees it, with the helper's contact. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OfferView {
    pub id: Uuid,
    pub record: Uuid,
    /// The record's form id and title.
    pub form: String,
    pub what: String,
    pub name: String,
    pub phone: String,
    pub kind: String,
    pub note: String,
    pub made_at: i64,
    pub state: OfferState,
}

/// A decision on an offer, as the worker's phone sends it. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub decision: Decision,
}

/// The record's content once the village accepts `helper`'s offer on `today` (`YYYY-MM-DD`): its
/// status moved on to the wall's `taken` state, dated, with the helper's name and kind recorded.
/// None when the record is no longer open to offers.
pub fn take_up(
    form: &Form,
    content: &Content,
    helper: &str,
    kind: &str,
    today: &str,
) -> Option<Content> {
    let w = form.wall.as_ref()?;
    if state_of(content, w).as_deref() != Some(w.from.as_str()) {
        return None;
    }
    let mut status: StatusValue = serde_json::from_value(content.get(&w.status)?.clone()).ok()?;
    status.state = w.taken.clone();
    status.dates.insert(w.taken.clone(), today.to_owned());
    let mut next = content.clone();
    next.insert(w.status.clone(), serde_json::to_value(status).ok()?);
    next.insert(w.helper.clone(), Value::String(helper.trim().to_owned()));
    let kinds = w
        .helper_kind
        .as_ref()
        .and_then(|k| Some((k, form.field(k)?)));
    if let Some((k, f)) = kinds {
        if f.options.iter().any(|o| o == kind) {
            next.insert(k.clone(), Value::String(kind.to_owned()));
        }
    }
    Some(next)
}

/// What a resident sends in from the wall for a record of `form`: the typed text of each field
/// the wall's `submit` lists (by field id), read as the form reads it and checked by the form's own
/// field rules. The content it makes has nothing else: the worker who checks it adds the rest
/// (the status and its date) on the phone. Problems come on their fields, in Chinese.
pub fn check_submission(
    plan: &crate::plan::Plan,
    form: &Form,
    typed: &std::collections::BTreeMap<String, String>,
) -> Result<Content, Vec<FieldError>> {
    let Some(w) = form.wall.as_ref().filter(|w| !w.submit.is_empty()) else {
        return Err(vec![FieldError {
            field: String::new(),
            message: "这一项不能在心愿墙上提交".into(),
        }]);
    };
    let period = plan.period();
    let mut content = Content::new();
    let mut errors = Vec::new();
    let mut wrong = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.into(),
            message,
        })
    };
    for key in typed.keys().filter(|k| !w.submit.contains(k)) {
        wrong(key, "表单中没有这一项".into());
    }
    for f in w.submit.iter().filter_map(|id| form.field(id)) {
        let text = typed.get(&f.id).map(|t| t.trim()).unwrap_or_default();
        if text.is_empty() {
            if f.required {
                wrong(&f.id, "必填".into());
            }
            continue;
        }
        if text.chars().any(|c| c != '\n' && c != '\r' && hidden(c)) {
            wrong(&f.id, "有不能显示的字符".into());
            continue;
        }
        let value = match f.kind {
            FieldKind::Number => match crate::record::parse_number(text) {
                Ok(n) => Value::Number(n),
                Err(m) => {
                    wrong(&f.id, m);
                    continue;
                }
            },
            _ => Value::String(text.replace("\r\n", "\n")),
        };
        match crate::record::check_field(f, &value, &period) {
            Ok(()) => {
                content.insert(f.id.clone(), value);
            }
            Err(m) => wrong(&f.id, m),
        }
    }
    if errors.is_empty() {
        Ok(content)
    } else {
        Err(errors)
    }
}

/// A resident's submission as the village's worker sees it: what they sent and their phone, to
/// check before it becomes a record. Wire format: stable.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SubmissionView {
    pub id: Uuid,
    /// The form's id.
    pub form: String,
    pub unit: UnitCode,
    pub content: Content,
    pub phone: String,
    pub made_at: i64,
    pub state: OfferState,
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
transitions = [["收集", "发布"], ["发布", "认领"], ["认领", "完成"]]
dated = true
[[forms.fields]]
id = "helper"
label = "认领人"
kind = "text"
[forms.wall]
shown = ["wish", "category", "people"]
status = "status"
from = "发布"
taken = "认领"
helper = "helper"
helper_kind = "category"

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
        let content = |state: &str| json!({"wish": "一台电暖器", "category": "助老", "resident": "张大爷", "people": 2, "status": at(state)});
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
                    offers: (state == "发布").then(|| vec!["助老".into(), "帮困".into()]),
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
        assert!(
            e.contains("wall.shown[1]: a person field names someone"),
            "{e}"
        );
        assert!(
            e.contains("wall.status: the wall's status must be a status field"),
            "{e}"
        );
        let unknown = PLAN.replace(r#"from = "发布""#, "from = \"发布\"\nphone = true");
        let e = Plan::parse("p.toml", &unknown).unwrap_err().to_string();
        assert!(e.contains("wall.phone"), "{e}");
    }

    #[test]
    fn an_offer_is_checked_field_by_field_and_taking_up_moves_the_record_on() {
        let plan = Plan::parse("p.toml", PLAN).unwrap();
        let form = plan.form("wish").unwrap();
        let good = OfferInput {
            record: Uuid::from_u128(7).to_string(),
            name: "爱心人士刘先生".into(),
            phone: "138 0000 1234".into(),
            kind: "助老".into(),
            note: "周末可以送到。\n谢谢".into(),
        };
        assert_eq!(check_offer(form, &good), []);
        for phone in ["029-8765-4321", "13800001234", "0917 1234567"] {
            let o = OfferInput {
                phone: phone.into(),
                ..good.clone()
            };
            assert_eq!(check_offer(form, &o), [], "{phone}");
        }
        let fields = |o: OfferInput| -> Vec<String> {
            check_offer(form, &o).into_iter().map(|e| e.field).collect()
        };
        let bad = OfferInput {
            record: good.record.clone(),
            name: " ".into(),
            phone: "12345".into(),
            kind: "助孤".into(),
            note: "很长".repeat(101),
        };
        assert_eq!(fields(bad), ["name", "phone", "kind", "note"]);
        for phone in [
            "2380000123",
            "138000012345",
            "<script>",
            "1380000123\u{0}",
            "+86 13800001234",
        ] {
            let o = OfferInput {
                phone: phone.into(),
                ..good.clone()
            };
            assert_eq!(fields(o), ["phone"], "{phone}");
        }
        let long = OfferInput {
            name: "名".repeat(21),
            ..good.clone()
        };
        assert_eq!(fields(long), ["name"]);
        let bell = OfferInput {
            note: "\u{7}".into(),
            ..good.clone()
        };
        assert_eq!(fields(bell), ["note"]);
        let turned = OfferInput {
            name: "刘\u{202E}生先".into(),
            ..good.clone()
        };
        assert_eq!(fields(turned), ["name"]);
        let crlf = OfferInput {
            note: "周末\r\n送到".into(),
            ..good.clone()
        };
        assert!(
            fields(crlf).is_empty(),
            "a browser sends a textarea's lines so"
        );

        let open = |state: &str| {
            rev(json!({"wish": "一台电暖器", "resident": "张大爷", "status": at(state)}))
        };
        assert!(open_to_offers(form, &open("发布")));
        for state in ["收集", "认领", "完成"] {
            assert!(!open_to_offers(form, &open(state)), "{state}");
        }
        let taken = take_up(
            form,
            &open("发布").content,
            " 刘先生 ",
            "助老",
            "2018-05-02",
        )
        .unwrap();
        assert_eq!(taken["helper"], json!("刘先生"));
        assert_eq!(taken["category"], json!("助老"));
        assert_eq!(
            taken["status"],
            json!({"state": "认领", "dates": {"收集": "2018-03-01", "发布": "2018-03-05", "认领": "2018-05-02"}})
        );
        assert_eq!(taken["resident"], json!("张大爷"));
        // What the plan's own rules say of the result: it saves.
        assert_eq!(crate::record::validate_content(&plan, form, &taken), Ok(()));
        // A kind not among the options is left out; a record already taken up is not taken again.
        let other = take_up(form, &open("发布").content, "某人", "乱填", "2018-05-02").unwrap();
        assert!(!other.contains_key("category"));
        assert_eq!(
            take_up(form, &open("认领").content, "某人", "助老", "2018-05-02"),
            None
        );
    }

    #[test]
    fn a_residents_submission_takes_only_the_walls_fields_by_the_forms_rules() {
        let with_submit = PLAN.replace(
            "helper_kind = \"category\"",
            "helper_kind = \"category\"\nsubmit = [\"wish\", \"category\", \"people\", \"resident\"]",
        );
        let plan = Plan::parse("p.toml", &with_submit).unwrap();
        let form = plan.form("wish").unwrap();
        let typed = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let got = check_submission(
            &plan,
            form,
            &typed(&[
                ("wish", " 一副老花镜 "),
                ("category", "助老"),
                ("people", "2"),
                ("resident", "王阿姨"),
            ]),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&got).unwrap(),
            json!({"wish": "一副老花镜", "category": "助老", "people": 2, "resident": "王阿姨"})
        );
        let fields = |pairs: &[(&str, &str)]| -> Vec<String> {
            check_submission(&plan, form, &typed(pairs))
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            fields(&[
                ("category", "乱填"),
                ("people", "两个"),
                ("status", "发布"),
                ("helper", "x")
            ]),
            ["helper", "status", "category", "people"]
        );
        assert_eq!(fields(&[("wish", "a\u{202E}b")]), ["wish"]);
        // A form whose wall takes no submissions takes none.
        let plain = Plan::parse("p.toml", PLAN).unwrap();
        assert!(check_submission(
            &plain,
            plain.form("wish").unwrap(),
            &typed(&[("wish", "x")])
        )
        .is_err());
    }
}
