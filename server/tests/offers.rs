//! Helpers' offers on the public wish wall: an offer from the wall's form is kept with a receipt
//! that tells the helper the village's answer and nothing of anyone's contact; a bad one is refused
//! on its field; strangers are limited per address and per phone number, and a record and a
//! village take a bounded number of waiting offers; only the village's worker reads the contacts
//! and answers.

mod common;

use common::{TestApp, VILLAGE, VILLAGE2};
use reqwest::redirect::Policy;
use serde_json::{json, Value};
use shequ_model::wall::{OfferState, OfferView};
use shequ_model::Revision;
use uuid::Uuid;

const TOWN: &str = "610324001";
const FAR_VILLAGE: &str = "610324103001";

fn wish(unit: &str, what: &str, state: &str) -> Revision {
    let order = ["收集", "发布", "认领", "完成"];
    let upto = order.iter().position(|s| *s == state).unwrap();
    let dates: serde_json::Map<String, Value> = order[..=upto]
        .iter()
        .zip(["2018-03-01", "2018-03-05", "2018-03-20", "2018-04-01"])
        .map(|(s, d)| (s.to_string(), json!(d)))
        .collect();
    common::new_record(
        unit,
        "micro_wish",
        json!({"wish": what, "category": "助老", "resident": "张大爷", "status": {"state": state, "dates": dates}}),
    )
}

async fn push(app: &TestApp, unit: &str, changes: &[Revision]) {
    let resp = app
        .post_as(&format!("village-{unit}"), "/api/sync/push")
        .await
        .json(&json!({"device": "offers-test", "changes": changes}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// A stranger's browser at `address` (127.0.x.y), which does not follow redirects.
fn stranger(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(address))
        .redirect(Policy::none())
        .build()
        .unwrap()
}

struct Sent {
    status: u16,
    location: Option<String>,
    retry_after: Option<String>,
    body: String,
}

async fn send(app: &TestApp, from: [u8; 4], wall: &str, fields: &[(&str, &str)]) -> Sent {
    let resp = stranger(from)
        .post(app.url(&format!("/wall/{wall}/offer")))
        .form(fields)
        .send()
        .await
        .unwrap();
    let header = |h: &str| {
        resp.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (location, retry_after) = (header("location"), header("retry-after"));
    Sent {
        status: resp.status().as_u16(),
        location,
        retry_after,
        body: resp.text().await.unwrap(),
    }
}

fn offer<'a>(record: &'a str, name: &'a str, phone: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("record", record),
        ("name", name),
        ("phone", phone),
        ("kind", "在职党员"),
        ("note", "周末可以送到"),
    ]
}

async fn receipt(app: &TestApp, location: &str) -> String {
    let resp = reqwest::get(app.url(location)).await.unwrap();
    assert_eq!(resp.status(), 200, "{location}");
    resp.text().await.unwrap()
}

async fn offers_of(app: &TestApp, who: &str, unit: &str) -> reqwest::Response {
    app.get_as(who, &format!("/api/offers?unit={unit}")).await
}

async fn decide(app: &TestApp, who: &str, id: Uuid, decision: &str) -> reqwest::Response {
    app.post_as(who, &format!("/api/offers/{id}"))
        .await
        .json(&json!({ "decision": decision }))
        .send()
        .await
        .unwrap()
}

async fn a_helpers_offer_reaches_the_village_and_the_helper_is_told_its_answer(app: TestApp) {
    let open = wish(VILLAGE, "一台电暖器", "发布");
    let collected = wish(VILLAGE, "还在收集的心愿", "收集");
    let taken = wish(VILLAGE, "已被认领的心愿", "认领");
    push(
        &app,
        VILLAGE,
        &[open.clone(), collected.clone(), taken.clone()],
    )
    .await;
    let far = wish(FAR_VILLAGE, "另一个镇的心愿", "发布");
    push(&app, FAR_VILLAGE, std::slice::from_ref(&far)).await;
    let id = open.record.to_string();

    // The wall's card carries the form, and the collected or taken wishes none.
    let page = reqwest::get(app.url(&format!("/wall/{TOWN}")))
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    assert_eq!(page.matches(r#"name="record""#).count(), 1, "{page}");
    assert!(page.contains(&format!(r#"value="{id}""#)));

    let sent = send(
        &app,
        [127, 0, 0, 2],
        TOWN,
        &offer(&id, "刘先生", "13800001234"),
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let location = sent.location.unwrap();
    assert!(location.starts_with("/wall/offer/"), "{location}");
    let told = receipt(&app, &location).await;
    assert!(
        told.contains("一台电暖器") && told.contains("等待村(社区)确认"),
        "{told}"
    );
    assert!(
        !told.contains("刘先生") && !told.contains("13800001234"),
        "{told}"
    );

    // Refused on the field, or for the record, and nothing kept.
    for (fields, want, says) in [
        (offer(&id, "刘先生", "123"), 422, "联系电话"),
        (offer(&id, "", "13800001234"), 422, "姓名或单位"),
        (
            vec![
                ("record", id.as_str()),
                ("name", "刘先生"),
                ("phone", "13800001234"),
            ],
            422,
            "认领方",
        ),
        (
            offer(&collected.record.to_string(), "刘先生", "13800001235"),
            404,
            "不在心愿墙上",
        ),
        (
            offer(&taken.record.to_string(), "刘先生", "13800001235"),
            409,
            "已经有人认领",
        ),
        (
            offer(&far.record.to_string(), "刘先生", "13800001235"),
            404,
            "不在心愿墙上",
        ),
        (
            offer(&Uuid::nil().to_string(), "刘先生", "13800001235"),
            404,
            "不在心愿墙上",
        ),
        (
            offer("not-an-id", "刘先生", "13800001235"),
            404,
            "不在心愿墙上",
        ),
        (vec![("record", id.as_str())], 422, "不完整"),
    ] {
        let sent = send(&app, [127, 0, 0, 3], TOWN, &fields).await;
        assert_eq!(sent.status, want, "{fields:?}: {}", sent.body);
        assert!(sent.body.contains(says), "{fields:?}: {}", sent.body);
    }
    let big = "很".repeat(5000);
    let sent = send(&app, [127, 0, 0, 3], TOWN, &offer(&id, "刘先生", &big)).await;
    assert_eq!(sent.status, 413);

    // Only the village's own worker reads the contacts: not even the town above it.
    let listed: Vec<OfferView> = offers_of(&app, &format!("village-{VILLAGE}"), VILLAGE)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "the refused ones were not kept");
    let o = &listed[0];
    assert_eq!(
        (
            o.record,
            o.what.as_str(),
            o.name.as_str(),
            o.phone.as_str(),
            o.kind.as_str()
        ),
        (
            open.record,
            "一台电暖器",
            "刘先生",
            "13800001234",
            "在职党员"
        )
    );
    assert_eq!(
        (o.note.as_str(), o.state),
        ("周末可以送到", OfferState::Waiting)
    );
    for who in [format!("town-{TOWN}"), "county".into()] {
        assert_eq!(offers_of(&app, &who, VILLAGE).await.status(), 403, "{who}");
    }
    let town_own = offers_of(&app, &format!("town-{TOWN}"), TOWN).await;
    assert_eq!(town_own.status(), 200);
    assert_eq!(
        offers_of(&app, &format!("village-{VILLAGE2}"), VILLAGE)
            .await
            .status(),
        403
    );
    let anonymous = reqwest::get(app.url(&format!("/api/offers?unit={VILLAGE}")))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // Only the village's worker answers, once.
    for who in [
        format!("village-{VILLAGE2}"),
        format!("town-{TOWN}"),
        "county".into(),
    ] {
        assert_eq!(
            decide(&app, &who, o.id, "accept").await.status(),
            403,
            "{who}"
        );
    }
    let worker = format!("village-{VILLAGE}");
    let accepted: OfferView = decide(&app, &worker, o.id, "accept")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(accepted.state, OfferState::Accepted);
    assert_eq!(decide(&app, &worker, o.id, "decline").await.status(), 409);
    assert_eq!(
        decide(&app, &worker, Uuid::nil(), "accept").await.status(),
        404
    );
    assert_eq!(decide(&app, &worker, o.id, "maybe").await.status(), 422);
    assert!(receipt(&app, &location).await.contains("已接受您的认领"));
    assert!(offers_of(&app, &worker, VILLAGE)
        .await
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .is_empty());

    // A hidden offer is told it was not accepted, as a declined one is.
    let again = send(
        &app,
        [127, 0, 0, 4],
        TOWN,
        &offer(&id, "骚扰者", "13900001234"),
    )
    .await;
    let hidden_at = again.location.unwrap();
    let listed: Vec<OfferView> = offers_of(&app, &worker, VILLAGE)
        .await
        .json()
        .await
        .unwrap();
    let hidden: OfferView = decide(&app, &worker, listed[0].id, "hide")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hidden.state, OfferState::Hidden);
    assert!(receipt(&app, &hidden_at).await.contains("这次没有被接受"));

    // Once the take-up reached the server, no other offer is accepted for it.
    let late = send(
        &app,
        [127, 0, 0, 5],
        TOWN,
        &offer(&id, "王女士", "13700001234"),
    )
    .await;
    assert_eq!(late.status, 303, "{}", late.body);
    let mut taken_up = open.clone();
    taken_up.rev = Uuid::now_v7();
    taken_up.parent = Some(open.rev);
    taken_up.content.insert(
        "status".into(),
        json!({"state": "认领", "dates": {"收集": "2018-03-01", "发布": "2018-03-05", "认领": "2018-05-01"}}),
    );
    taken_up.content.insert("claimant".into(), json!("刘先生"));
    push(&app, VILLAGE, &[taken_up]).await;
    let listed: Vec<OfferView> = offers_of(&app, &worker, VILLAGE)
        .await
        .json()
        .await
        .unwrap();
    let refused = decide(&app, &worker, listed[0].id, "accept").await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("不在“发布”状态"));
    // The receipt reads the record as the wall does: taken up, it is still on the wall.
    assert!(receipt(&app, &late.location.unwrap())
        .await
        .contains("一台电暖器"));
    assert_eq!(receipt_status(&app, "/wall/offer/not-an-id").await, 404);
    assert_eq!(
        receipt_status(&app, &format!("/wall/offer/{}", Uuid::nil())).await,
        404
    );

    // Nothing public carries a helper's contact.
    for path in [
        format!("/wall/{TOWN}"),
        format!("/api/wall/{TOWN}"),
        location.clone(),
    ] {
        let text = reqwest::get(app.url(&path))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for private in ["刘先生", "13800001234", "骚扰者", "13900001234", "张大爷"] {
            assert!(!text.contains(private), "{private} in {path}");
        }
    }
}

async fn receipt_status(app: &TestApp, path: &str) -> u16 {
    reqwest::get(app.url(path)).await.unwrap().status().as_u16()
}

async fn strangers_are_limited_per_address_per_phone_and_per_record(app: TestApp) {
    let open = wish(VILLAGE, "一辆轮椅", "发布");
    push(&app, VILLAGE, std::slice::from_ref(&open)).await;
    let id = open.record.to_string();
    let phone = |n: u32| format!("1380000{n:04}");

    // One address: five offers, then a wait.
    for n in 0..5 {
        let sent = send(&app, [127, 0, 1, 1], TOWN, &offer(&id, "某人", &phone(n))).await;
        assert_eq!(sent.status, 303, "{n}: {}", sent.body);
    }
    let sent = send(&app, [127, 0, 1, 1], TOWN, &offer(&id, "某人", &phone(5))).await;
    assert_eq!(sent.status, 429, "{}", sent.body);
    assert!(sent.body.contains("提交太频繁"), "{}", sent.body);
    assert!(sent
        .retry_after
        .is_some_and(|s| s.parse::<u64>().unwrap() > 0));

    // One phone number from many addresses: three, then a wait.
    for n in 0..3 {
        let sent = send(
            &app,
            [127, 0, 2, n + 1],
            TOWN,
            &offer(&id, "某人", "13911112222"),
        )
        .await;
        assert_eq!(sent.status, 303, "{n}: {}", sent.body);
    }
    let sent = send(
        &app,
        [127, 0, 2, 9],
        TOWN,
        &offer(&id, "某人", "139-1111-2222"),
    )
    .await;
    assert_eq!(
        sent.status, 429,
        "the same number written otherwise: {}",
        sent.body
    );

    // One record takes 20 offers waiting at once (8 so far), then none until some are answered.
    for n in 0..12 {
        let sent = send(
            &app,
            [127, 0, 3, n + 1],
            TOWN,
            &offer(&id, "某人", &phone(100 + n as u32)),
        )
        .await;
        assert_eq!(sent.status, 303, "{n}: {}", sent.body);
    }
    let sent = send(&app, [127, 0, 4, 1], TOWN, &offer(&id, "某人", &phone(200))).await;
    assert_eq!(sent.status, 409, "{}", sent.body);
    let worker = format!("village-{VILLAGE}");
    let listed: Vec<OfferView> = offers_of(&app, &worker, VILLAGE)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 20);
    assert_eq!(
        decide(&app, &worker, listed[0].id, "decline")
            .await
            .status(),
        200
    );
    let sent = send(&app, [127, 0, 4, 1], TOWN, &offer(&id, "某人", &phone(200))).await;
    assert_eq!(sent.status, 303, "{}", sent.body);

    // Accepting one declines the others waiting for the same record.
    let listed: Vec<OfferView> = offers_of(&app, &worker, VILLAGE)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 20);
    assert_eq!(
        decide(&app, &worker, listed[3].id, "accept").await.status(),
        200
    );
    let left: Vec<OfferView> = offers_of(&app, &worker, VILLAGE)
        .await
        .json()
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(
        decide(&app, &worker, listed[4].id, "accept").await.status(),
        409
    );
}

/// An answered offer, and the helper's phone with it, is kept 90 days after its answer: the next
/// offer takes older ones along.
async fn an_answered_offer_is_forgotten_ninety_days_on(app: TestApp) {
    let open = wish(VILLAGE, "一床棉被", "发布");
    push(&app, VILLAGE, std::slice::from_ref(&open)).await;
    let id = open.record.to_string();
    let day = 24 * 3600 * 1000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut receipts = Vec::new();
    for n in 0..2u8 {
        let phone = format!("1370000000{n}");
        let sent = send(&app, [127, 0, 7, n + 1], TOWN, &offer(&id, "某人", &phone)).await;
        receipts.push(sent.location.unwrap());
    }
    let by = format!("village-{VILLAGE}");
    for (at, answered_ago) in receipts.iter().zip([91, 89]) {
        let offer_id = at.trim_start_matches("/wall/offer/");
        let store = &app.state.store;
        assert!(store
            .decide_offer(offer_id, "declined", &by, now - answered_ago * day)
            .await
            .unwrap());
    }
    assert_eq!(
        receipt_status(&app, &receipts[0]).await,
        200,
        "until the next offer"
    );
    let next = send(
        &app,
        [127, 0, 7, 9],
        TOWN,
        &offer(&id, "某人", "13700000009"),
    )
    .await;
    assert_eq!(next.status, 303);
    assert_eq!(
        receipt_status(&app, &receipts[0]).await,
        404,
        "91 days after its answer"
    );
    assert_eq!(
        receipt_status(&app, &receipts[1]).await,
        200,
        "89 days after its answer"
    );
}

common::conformance!(
    a_helpers_offer_reaches_the_village_and_the_helper_is_told_its_answer,
    strangers_are_limited_per_address_per_phone_and_per_record,
    an_answered_offer_is_forgotten_ninety_days_on
);
