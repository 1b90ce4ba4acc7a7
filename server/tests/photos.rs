//! Photo evidence on the server: a photo is taken only when a record in the uploader's scope
//! names it, kept once under its SHA-256 however often it is sent, and read only by accounts whose
//! scope holds that record. What is not a shrunk photo is refused with a reason, and nothing of
//! it is kept.

mod common;

use common::{TestApp, VILLAGE, VILLAGE2};
use serde_json::{json, Value};
use shequ_model::photo::{PhotoAnswer, PhotoId};
use shequ_model::sync::{PushOutcome, PushResponse};

/// In another town.
const FAR_VILLAGE: &str = "610324103001";

/// A JPEG's header and a scan: what [`shequ_model::photo::check_kept`] reads. `tag` makes each
/// one different.
fn jpeg(w: u16, h: u16, tag: u8, extra: &[(u8, &[u8])]) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8];
    let mut seg = |marker: u8, body: &[u8]| {
        b.extend([0xFF, marker]);
        b.extend(((body.len() + 2) as u16).to_be_bytes());
        b.extend(body);
    };
    seg(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    for (m, body) in extra {
        seg(*m, body);
    }
    let mut frame = vec![8];
    frame.extend(h.to_be_bytes());
    frame.extend(w.to_be_bytes());
    frame.extend([1, 1, 0x11, 0]);
    seg(0xC0, &frame);
    seg(0xDA, &[1, 1, 0, 0, 63, 0]);
    b.extend([tag, 0x34, 0xFF, 0xD9]);
    b
}

/// The outcome of pushing an activity in `unit` whose photos field holds `photos`.
async fn push_activity(app: &TestApp, who: &str, unit: &str, photos: Value) -> PushOutcome {
    let record = common::new_record(
        unit,
        "volunteer_activity",
        json!({"title": "重阳敬老", "date": "2018-10-17", "service": ["助老"], "photos": photos}),
    );
    let resp: PushResponse = app
        .post_as(who, "/api/sync/push")
        .await
        .json(&json!({"device": "photos-test", "changes": [record]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp.results.into_iter().next().unwrap().outcome
}

async fn push_naming(app: &TestApp, who: &str, unit: &str, photos: &[&PhotoId]) {
    let outcome = push_activity(app, who, unit, json!(photos)).await;
    assert!(matches!(outcome, PushOutcome::Stored { .. }), "{outcome:?}");
}

async fn upload(app: &TestApp, who: &str, id: &PhotoId, body: Vec<u8>) -> (u16, Value) {
    let token = app.token(who).await;
    let resp = app
        .client
        .put(app.url(&format!("/api/photos/{id}")))
        .bearer_auth(token)
        .header("content-type", "image/jpeg")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn wanted(app: &TestApp, who: &str, ids: &[&PhotoId]) -> PhotoAnswer {
    let resp = app
        .post_as(who, "/api/photos/wanted")
        .await
        .json(&json!({ "ids": ids }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn worker(unit: &str) -> String {
    format!("village-{unit}")
}

fn photo_files(app: &TestApp) -> usize {
    walk(&app.dir.path().join("photos"))
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}

async fn a_photo_is_taken_once_and_read_only_in_its_records_scope(app: TestApp) {
    let me = worker(VILLAGE);
    let photo = jpeg(1280, 960, 1, &[]);
    let id = PhotoId::of(&photo);
    // Before any record names it, the server wants none of it.
    let answer = wanted(&app, &me, &[&id]).await;
    assert_eq!(answer.unnamed, vec![id.clone()]);
    let (status, body) = upload(&app, &me, &id, photo.clone()).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("请先同步记录"),
        "{body}"
    );

    push_naming(&app, &me, VILLAGE, &[&id]).await;
    assert_eq!(wanted(&app, &me, &[&id]).await.missing, vec![id.clone()]);
    let (status, body) = upload(&app, &me, &id, photo.clone()).await;
    assert_eq!((status, &body), (201, &json!({"stored": true})));
    // Sent again (an answer lost on the way): kept once.
    let (status, body) = upload(&app, &me, &id, photo.clone()).await;
    assert_eq!((status, &body), (200, &json!({"stored": false})));
    assert_eq!(wanted(&app, &me, &[&id]).await.held, vec![id.clone()]);
    // A second record naming the same photo adds no file.
    push_naming(&app, &me, VILLAGE, &[&id]).await;
    if app.database_url.starts_with("sqlite") {
        assert_eq!(photo_files(&app), 1);
    }

    // Read by the worker, the town and the county; not by a village that has no record naming
    // it, in the same town or another.
    for who in [me.as_str(), "town-610324001", "county"] {
        let resp = app.get_as(who, &format!("/api/photos/{id}")).await;
        assert_eq!(resp.status(), 200, "{who}");
        assert_eq!(resp.headers()["content-type"], "image/jpeg");
        assert!(resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private"));
        assert_eq!(
            resp.bytes().await.unwrap().as_ref(),
            photo.as_slice(),
            "{who}"
        );
    }
    for who in [
        worker(VILLAGE2),
        worker(FAR_VILLAGE),
        "town-610324103".into(),
    ] {
        let resp = app.get_as(&who, &format!("/api/photos/{id}")).await;
        assert_eq!(resp.status(), 404, "{who}");
        assert_eq!(wanted(&app, &who, &[&id]).await.unnamed, vec![id.clone()]);
        let (status, _) = upload(&app, &who, &id, photo.clone()).await;
        assert_eq!(status, 409, "{who}");
    }
}

async fn what_is_not_a_shrunk_photo_is_refused_with_its_reason(app: TestApp) {
    let me = worker(VILLAGE);
    let with_exif = jpeg(
        1280,
        960,
        2,
        &[(0xE1, b"Exif\0\0MM\0\x2a GPS 34.3N 107.9E")],
    );
    let full_size = jpeg(4000, 3000, 3, &[]);
    let bomb = jpeg(60000, 60000, 4, &[]);
    let text = b"<script>alert(1)</script>".to_vec();
    let mut large = jpeg(1280, 960, 5, &[]);
    large.resize(600 * 1024, 0);
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("exif", with_exif, 422, "拍摄信息"),
        ("full size", full_size, 422, "长边不超过 1280"),
        ("bomb", bomb, 422, "长边不超过 1280"),
        ("not an image", text, 422, "不是照片"),
        ("too large", large, 413, ""),
    ];
    let ids: Vec<PhotoId> = cases.iter().map(|c| PhotoId::of(&c.1)).collect();
    push_naming(&app, &me, VILLAGE, &ids.iter().take(5).collect::<Vec<_>>()).await;
    for ((what, body, status, says), id) in cases.into_iter().zip(&ids) {
        let (got, answer) = upload(&app, &me, id, body).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert!(
            answer["error"].as_str().unwrap_or_default().contains(says),
            "{what}: {answer}"
        );
    }
    // Bytes that do not hash to the id they are sent under.
    let good = jpeg(1280, 960, 6, &[]);
    let (got, answer) = upload(&app, &me, &ids[0], good).await;
    assert_eq!(got, 422, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("编号不符"));
    // A 50 MB body is cut off at the limit.
    let (got, _) = upload(&app, &me, &ids[1], vec![0xFF; 50 * 1024 * 1024]).await;
    assert_eq!(got, 413);
    // Nothing of any of them is kept.
    let answer = wanted(&app, &me, &ids.iter().collect::<Vec<_>>()).await;
    assert_eq!(answer.missing.len(), 5, "{answer:?}");
    if app.database_url.starts_with("sqlite") {
        assert_eq!(photo_files(&app), 0);
    }
    // A bad id, and a question about too many photos.
    let (got, _) = upload(&app, &me, &ids[0], vec![]).await;
    assert_eq!(got, 422);
    let resp = app.get_as(&me, "/api/photos/not-a-hash").await;
    assert_eq!(resp.status(), 422);
    let many: Vec<PhotoId> = (0..101u32).map(|i| PhotoId::of(&i.to_be_bytes())).collect();
    let resp = app
        .post_as(&me, "/api/photos/wanted")
        .await
        .json(&json!({ "ids": many }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    // A record naming something that is not a photo id is refused on its field.
    match push_activity(&app, &me, VILLAGE, json!(["../../etc/passwd"])).await {
        PushOutcome::Rejected { errors, .. } => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].field, "photos");
            assert!(errors[0].message.contains("照片编号"), "{errors:?}");
        }
        other => panic!("{other:?}"),
    }
}

/// Uploads beyond those served and waiting are told at once to come back; those waiting have not
/// been read yet, and all go through once the turns are free.
#[tokio::test]
async fn a_flood_of_uploads_waits_in_bounded_places_and_the_rest_come_back_later() {
    let app = common::spawn_app().await;
    let me = worker(VILLAGE);
    let photos: Vec<Vec<u8>> = (0..17u8).map(|i| jpeg(1280, 960, i, &[])).collect();
    let ids: Vec<PhotoId> = photos.iter().map(|p| PhotoId::of(p)).collect();
    for chunk in ids.chunks(6) {
        push_naming(&app, &me, VILLAGE, &chunk.iter().collect::<Vec<_>>()).await;
    }
    let token = app.token(&me).await;
    // Every upload turn taken, as by four slow uploads.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(app.state.photos.uploads.turn().await.unwrap());
    }
    let send = |id: &PhotoId, body: Vec<u8>| {
        app.client
            .put(app.url(&format!("/api/photos/{id}")))
            .bearer_auth(&token)
            .body(body)
            .send()
    };
    let waiting: Vec<_> = ids[..16]
        .iter()
        .zip(&photos)
        .map(|(id, body)| tokio::spawn(send(id, body.clone())))
        .collect();
    // The sixteen take the places to wait in (four per turn).
    for _ in 0..250 {
        if app.state.photos.uploads.places_left() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(app.state.photos.uploads.places_left(), 0);
    let refused = send(&ids[16], photos[16].clone()).await.unwrap();
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(waiting.iter().all(|w| !w.is_finished()), "the others wait");
    drop(held);
    for w in waiting {
        assert_eq!(w.await.unwrap().unwrap().status(), 201);
    }
    let again = send(&ids[16], photos[16].clone()).await.unwrap();
    assert_eq!(again.status(), 201, "once the flood has passed");
}

common::conformance!(
    a_photo_is_taken_once_and_read_only_in_its_records_scope,
    what_is_not_a_shrunk_photo_is_refused_with_its_reason,
);
