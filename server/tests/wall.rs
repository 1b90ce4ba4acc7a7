//! The public wish wall, read with no login: exactly the published wishes and needs of a town or
//! the county, newest first, paged; nothing a stranger typed runs on its page; and no field the
//! plan keeps private — the resident's name, the helper's name — is in any public answer, the
//! refusals included.

mod common;

use common::{TestApp, VILLAGE, VILLAGE2};
use serde_json::{json, Value};
use shequ_model::sync::PushResponse;
use shequ_model::wall::WallPage;
use shequ_model::Revision;
use std::collections::BTreeSet;
use uuid::Uuid;

const COUNTY: &str = "610324";
const TOWN: &str = "610324001";
const OTHER_TOWN: &str = "610324103";
const FAR_VILLAGE: &str = "610324103001";
/// Every private value below holds it; no public answer may.
const PRIVATE: &str = "隐私";

fn record(unit: &str, form: &str, content: Value) -> Revision {
    common::new_record(unit, form, content)
}

fn status(state: &str) -> Value {
    let days = [
        ("收集", "2018-03-01"),
        ("发布", "2018-03-05"),
        ("认领", "2018-03-20"),
        ("完成", "2018-04-01"),
    ];
    let upto = days.iter().position(|(s, _)| *s == state).unwrap();
    let dates: serde_json::Map<String, Value> = days[..=upto]
        .iter()
        .map(|(s, d)| (s.to_string(), json!(d)))
        .collect();
    json!({"state": state, "dates": dates})
}

fn wish(unit: &str, what: &str, state: &str, n: u32) -> Revision {
    record(
        unit,
        "micro_wish",
        json!({"wish": what, "category": "助老", "resident": format!("{PRIVATE}心愿人{n}"),
               "status": status(state), "claimed_by": "在职党员", "claimant": format!("{PRIVATE}认领人{n}")}),
    )
}

fn need(unit: &str, what: &str) -> Revision {
    let mut s = status("发布");
    s["state"] = json!("发布");
    s["dates"] = json!({"征集": "2018-03-01", "发布": "2018-03-06"});
    record(
        unit,
        "volunteer_need",
        json!({"need": what, "service": "助老", "volunteers": 3, "requester": format!("{PRIVATE}需求人"),
               "status": s, "taken_by": format!("{PRIVATE}志愿队")}),
    )
}

async fn push(app: &TestApp, unit: &str, changes: &[Revision]) {
    let resp = app
        .post_as(&format!("village-{unit}"), "/api/sync/push")
        .await
        .json(&json!({"device": "wall-test", "changes": changes}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: PushResponse = resp.json().await.unwrap();
    assert_eq!(answer.results.len(), changes.len());
    assert!(
        answer.results.iter().all(|r| r.outcome.acknowledged()),
        "{answer:?}"
    );
}

/// Every public answer the test read, to look for private values in at the end.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    /// A public GET with no session: its status, and its headers and body as text.
    async fn get(
        &mut self,
        app: &TestApp,
        path: &str,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let resp = reqwest::get(app.url(path)).await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        let body = resp.text().await.unwrap();
        self.0.push(format!("{path} {headers:?} {body}"));
        (status, headers, body)
    }

    async fn page(&mut self, app: &TestApp, path: &str) -> WallPage {
        let (status, _, body) = self.get(app, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }
}

const XSS: &str = r#"<script>alert("墙")</script><img src=x onerror=alert(1)>"#;

async fn the_wall_shows_exactly_what_is_published_and_nothing_private(app: TestApp) {
    let collected = wish(VILLAGE, "只收集未发布的心愿", "收集", 1);
    let published = wish(VILLAGE, "一台电暖器", "发布", 2);
    let claimed = wish(VILLAGE, "孩子的新书包", "认领", 3);
    let done = wish(VILLAGE2, "一副老花镜", "完成", 4);
    let hostile = wish(VILLAGE2, XSS, "发布", 5);
    let gone = wish(VILLAGE, "后来删除的心愿", "发布", 6);
    let needed = need(VILLAGE, "独居老人冬季送餐");
    let far = wish(FAR_VILLAGE, "另一个镇的心愿", "发布", 7);
    let staff = record(
        VILLAGE,
        "staff",
        json!({"name": format!("{PRIVATE}工作人员"), "role": "两委成员"}),
    );
    push(
        &app,
        VILLAGE,
        &[
            collected,
            published.clone(),
            claimed.clone(),
            gone.clone(),
            staff,
        ],
    )
    .await;
    push(&app, VILLAGE2, &[done.clone(), hostile.clone()]).await;
    push(&app, VILLAGE, std::slice::from_ref(&needed)).await;
    push(&app, FAR_VILLAGE, std::slice::from_ref(&far)).await;
    let deleted = Revision {
        rev: Uuid::now_v7(),
        parent: Some(gone.rev),
        deleted: true,
        ..gone.clone()
    };
    push(&app, VILLAGE, &[deleted]).await;

    let mut seen = Seen::default();
    let town = seen.page(&app, &format!("/api/wall/{TOWN}")).await;
    assert_eq!(town.unit_name, "城关街道");
    let ids: Vec<Uuid> = town.items.iter().map(|i| i.record).collect();
    // Newest first: the order they were pushed, backwards.
    assert_eq!(
        ids,
        [
            needed.record,
            hostile.record,
            done.record,
            claimed.record,
            published.record
        ]
    );
    assert_eq!(town.next, None);
    let heater = town
        .items
        .iter()
        .find(|i| i.record == published.record)
        .unwrap();
    assert_eq!(
        (
            heater.form.as_str(),
            heater.what.as_str(),
            heater.state.as_str()
        ),
        ("微心愿", "一台电暖器", "发布")
    );
    assert_eq!(heater.since.as_deref(), Some("2018-03-05"));
    let details: Vec<(&str, &str)> = heater
        .details
        .iter()
        .map(|d| (d.label.as_str(), d.value.as_str()))
        .collect();
    assert_eq!(details, [("类别", "助老"), ("认领方", "在职党员")]);
    assert!(heater.unit_name.starts_with("飞凤"), "{}", heater.unit_name);
    let meal = town
        .items
        .iter()
        .find(|i| i.record == needed.record)
        .unwrap();
    assert_eq!(
        (meal.form.as_str(), meal.since.as_deref()),
        ("志愿服务需求", Some("2018-03-06"))
    );
    assert_eq!(meal.details.last().unwrap().value, "3人");

    // The county's wall holds its towns'; the other town's, only its own.
    let county = seen.page(&app, &format!("/api/wall/{COUNTY}")).await;
    assert_eq!(county.items.len(), 6);
    assert_eq!(county.items[0].record, far.record);
    let other = seen.page(&app, &format!("/api/wall/{OTHER_TOWN}")).await;
    assert_eq!(
        other.items.iter().map(|i| i.record).collect::<Vec<_>>(),
        [far.record]
    );

    // Paged two at a time, every item once, in the same order.
    let mut paged = Vec::new();
    let mut path = format!("/api/wall/{COUNTY}?limit=2");
    loop {
        let page = seen.page(&app, &path).await;
        assert!(page.items.len() <= 2);
        paged.extend(page.items.iter().map(|i| i.record));
        match page.next {
            Some(next) => path = format!("/api/wall/{COUNTY}?limit=2&before={next}"),
            None => break,
        }
    }
    assert_eq!(
        paged,
        county.items.iter().map(|i| i.record).collect::<Vec<_>>()
    );

    // The page: what a stranger typed is text, and the page may run no script at all.
    let (status, headers, html) = seen.get(&app, &format!("/wall/{TOWN}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("城关街道心愿墙"), "{html}");
    assert!(html.contains("一台电暖器") && html.contains("独居老人冬季送餐"));
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(&quot;墙&quot;)&lt;/script&gt;"),
        "{html}"
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert!(!html.contains("只收集未发布的心愿") && !html.contains("后来删除的心愿"));

    // Refusals, as a stranger may provoke them.
    for (path, want) in [
        (format!("/api/wall/{VILLAGE}"), 404),
        ("/api/wall/999999".to_string(), 404),
        ("/api/wall/61032400".to_string(), 404),
        ("/api/wall/not-a-code".to_string(), 404),
        (format!("/api/wall/{TOWN}?limit=0"), 422),
        (format!("/api/wall/{TOWN}?limit=51"), 422),
        (format!("/api/wall/{TOWN}?before=soon"), 400),
        (format!("/api/wall/{TOWN}?resident=1"), 400),
        (format!("/wall/{VILLAGE}"), 404),
        (format!("/wall/{TOWN}?limit=abc"), 422),
    ] {
        let (status, _, body) = seen.get(&app, &path).await;
        assert_eq!(status, want, "{path}: {body}");
        assert!(
            body.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{path}: {body}"
        );
    }

    for answer in &seen.0 {
        assert!(
            !answer.contains(PRIVATE),
            "a private value left in: {answer}"
        );
    }
    // And the private values are in the records, so their absence above means something.
    let pulled: Value = app
        .get_as("county", &format!("/api/sync/pull?scope={VILLAGE}&after=0"))
        .await
        .json()
        .await
        .unwrap();
    assert!(pulled.to_string().contains(&format!("{PRIVATE}心愿人2")));
    let unique: BTreeSet<Uuid> = paged.into_iter().collect();
    assert_eq!(unique.len(), 6);
}

common::conformance!(the_wall_shows_exactly_what_is_published_and_nothing_private);
