//! Residents' wishes sent in from the public wish wall: the form asks for what the plan lets a
//! resident fill; a submission is checked by the form's own rules, refused on its field, limited
//! per address, never put on the wall, and read and answered only by its village's worker; the
//! resident's receipt says how it was answered and nothing of their name or phone.

mod common;

use common::{TestApp, VILLAGE, VILLAGE2};
use reqwest::redirect::Policy;
use serde_json::json;
use shequ_model::wall::{OfferState, SubmissionView, WallPage};

const TOWN: &str = "610324001";
const FAR_VILLAGE: &str = "610324103001";

fn stranger(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(address))
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn send(
    app: &TestApp,
    from: [u8; 4],
    fields: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let resp = stranger(from)
        .post(app.url(&format!("/wall/{TOWN}/submit")))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, location, resp.text().await.unwrap())
}

fn wish<'a>(what: &'a str, phone: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("form", "micro_wish"),
        ("unit", VILLAGE),
        ("field-wish", what),
        ("field-category", "助老"),
        ("field-resident", "王阿姨"),
        ("phone", phone),
    ]
}

fn with<'a>(
    mut fields: Vec<(&'a str, &'a str)>,
    key: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    fields.retain(|(k, _)| *k != key);
    fields.push((key, value));
    fields
}

async fn text(app: &TestApp, path: &str) -> (u16, String) {
    let resp = reqwest::get(app.url(path)).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn a_residents_wish_reaches_the_village_to_check_and_never_the_wall(app: TestApp) {
    // The form: the plan's fields for residents, and the town's villages.
    let (status, page) = text(&app, &format!("/wall/{TOWN}/submit?form=micro_wish")).await;
    assert_eq!(status, 200, "{page}");
    for want in [
        "name=\"field-wish\"",
        "name=\"field-category\"",
        "name=\"field-resident\"",
        VILLAGE,
        "name=\"phone\"",
    ] {
        assert!(page.contains(want), "{want} not in the form");
    }
    assert!(!page.contains("field-status") && !page.contains("field-claimant"));
    assert!(!page.contains(FAR_VILLAGE), "another town's village");
    let (wall_status, wall) = text(&app, &format!("/wall/{TOWN}")).await;
    assert_eq!(wall_status, 200);
    assert!(
        wall.contains("/wall/610324001/submit?form=micro_wish"),
        "{wall}"
    );
    for (path, want) in [
        (format!("/wall/{TOWN}/submit?form=staff"), 404),
        (format!("/wall/{TOWN}/submit?form=nothing"), 404),
        (format!("/wall/{TOWN}/submit"), 422),
        (format!("/wall/{VILLAGE}/submit?form=micro_wish"), 404),
    ] {
        assert_eq!(text(&app, &path).await.0, want, "{path}");
    }

    let (status, location, body) =
        send(&app, [127, 0, 5, 1], &wish("一副老花镜", "13800005678")).await;
    assert_eq!(status, 303, "{body}");
    let location = location.unwrap();
    let (_, told) = text(&app, &location).await;
    assert!(
        told.contains("一副老花镜") && told.contains("等待村(社区)工作人员核实"),
        "{told}"
    );

    // Refused on the field, or for the village, and nothing kept.
    let long_name = "名".repeat(21);
    let big = "很".repeat(6000);
    for (fields, want, says) in [
        (
            with(wish("x", "13800005678"), "unit", FAR_VILLAGE),
            422,
            "所在村",
        ),
        (with(wish("x", "13800005678"), "unit", TOWN), 422, "所在村"),
        (
            with(wish("x", "13800005678"), "unit", "610324001999"),
            422,
            "所在村",
        ),
        (
            with(wish("", "13800005678"), "field-wish", ""),
            422,
            "心愿内容:必填",
        ),
        (
            with(wish("x", "13800005678"), "field-category", "乱填"),
            422,
            "类别",
        ),
        (
            with(wish("x", "13800005678"), "field-status", "发布"),
            422,
            "表单中没有这一项",
        ),
        (
            with(wish("x", "13800005678"), "field-resident", &long_name),
            422,
            "心愿人",
        ),
        (with(wish("x", "13800005678"), "hack", "1"), 422, "格式不对"),
        (with(wish("x", "12345"), "phone", "12345"), 422, "联系电话"),
        (
            with(wish("x", "13800005678"), "form", "staff"),
            404,
            "不能在心愿墙上提交",
        ),
        (wish(&big, "13800005678"), 413, "太长"),
    ] {
        let (status, _, body) = send(&app, [127, 0, 5, 2], &fields).await;
        assert_eq!(status, want, "{fields:?}: {body}");
        assert!(body.contains(says), "{says} not in {body}");
    }

    // Not on the wall: it is no record yet.
    let page: WallPage = reqwest::get(app.url(&format!("/api/wall/{TOWN}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page.items.is_empty());

    // Only the village's own worker reads it, with the resident's phone.
    let worker = format!("village-{VILLAGE}");
    let listed: Vec<SubmissionView> = app
        .get_as(&worker, &format!("/api/submissions?unit={VILLAGE}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "the refused ones were not kept");
    let s = &listed[0];
    assert_eq!(
        (s.form.as_str(), s.unit.as_str(), s.phone.as_str()),
        ("micro_wish", VILLAGE, "13800005678")
    );
    assert_eq!(
        serde_json::to_value(&s.content).unwrap(),
        json!({"wish": "一副老花镜", "category": "助老", "resident": "王阿姨"})
    );
    for who in [
        format!("town-{TOWN}"),
        format!("village-{VILLAGE2}"),
        "county".into(),
    ] {
        let resp = app
            .get_as(&who, &format!("/api/submissions?unit={VILLAGE}"))
            .await;
        assert_eq!(resp.status(), 403, "{who}");
    }
    let decide = |who: String, id: uuid::Uuid, decision: &'static str| {
        let app = &app;
        async move {
            app.post_as(&who, &format!("/api/submissions/{id}"))
                .await
                .json(&json!({ "decision": decision }))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        decide(format!("village-{VILLAGE2}"), s.id, "accept")
            .await
            .status(),
        403
    );
    let done: SubmissionView = decide(worker.clone(), s.id, "accept")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done.state, OfferState::Accepted);
    assert_eq!(decide(worker.clone(), s.id, "hide").await.status(), 409);
    assert!(text(&app, &location).await.1.contains("村(社区)已采纳"));

    // A second, hidden as abuse, is told only that it was not taken.
    let (_, spam_at, _) = send(&app, [127, 0, 5, 3], &wish("广告", "13900005678")).await;
    let listed: Vec<SubmissionView> = app
        .get_as(&worker, &format!("/api/submissions?unit={VILLAGE}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        decide(worker.clone(), listed[0].id, "hide").await.status(),
        200
    );
    let spam_at = spam_at.unwrap();
    assert!(text(&app, &spam_at).await.1.contains("这次没有被采纳"));
    assert_eq!(text(&app, "/wall/submission/not-an-id").await.0, 404);

    // No public answer carries the resident's name or phone.
    for path in [
        location,
        spam_at,
        format!("/wall/{TOWN}"),
        format!("/api/wall/{TOWN}"),
    ] {
        let (_, body) = text(&app, &path).await;
        for private in ["王阿姨", "13800005678", "13900005678"] {
            assert!(!body.contains(private), "{private} in {path}");
        }
    }
}

async fn a_resident_is_limited_per_address(app: TestApp) {
    for n in 0..5 {
        let phone = format!("1360000{n:04}");
        let (status, _, body) = send(&app, [127, 0, 6, 1], &wish("一台电暖器", &phone)).await;
        assert_eq!(status, 303, "{n}: {body}");
    }
    let (status, _, body) = send(&app, [127, 0, 6, 1], &wish("一台电暖器", "13600009999")).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("提交太频繁"));
    // Another address is not held back by this one.
    let (status, _, body) = send(&app, [127, 0, 6, 2], &wish("一台电暖器", "13600009999")).await;
    assert_eq!(status, 303, "{body}");
}

common::conformance!(
    a_residents_wish_reaches_the_village_to_check_and_never_the_wall,
    a_resident_is_limited_per_address
);
