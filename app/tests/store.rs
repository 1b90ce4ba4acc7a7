//! The phone's store in a real headless Chromium (wasm-bindgen-test): IndexedDB, not a mock.
#![cfg(target_arch = "wasm32")]

use serde_json::json;
use shequ_app::store::Db;
use shequ_model::photo::PhotoId;
use shequ_model::record::Content;
use shequ_model::sync::{PullPage, PulledRevision, PushOutcome, PushResult};
use shequ_model::Revision;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const UNIT: &str = "610324001001";

fn rev(topic: &str) -> Revision {
    Revision {
        record: shequ_app::ids::new_id(),
        rev: shequ_app::ids::new_id(),
        parent: None,
        resolves: vec![],
        device: "test".into(),
        clock: 0,
        plan: Default::default(),
        form: "deliberation_case".into(),
        unit: shequ_model::UnitCode::parse(UNIT).unwrap(),
        deleted: false,
        content: serde_json::from_value(json!({"topic": topic})).unwrap(),
    }
}

async fn fresh(name: &str) -> Db {
    let _ = Db::destroy(name).await;
    Db::open(name).await.unwrap()
}

#[wasm_bindgen_test]
async fn saving_writes_the_record_and_its_outbox_entry_together() {
    let db = fresh("t-save").await;
    let a = db.save(rev("一"), 1_000).await.unwrap();
    let b = db.save(rev("二"), 900).await.unwrap();
    assert!(
        b.clock > a.clock,
        "the clock never goes back, even when the wall clock does"
    );
    let recs = db.records_in(UNIT).await.unwrap();
    assert_eq!(recs.len(), 2);
    assert!(recs.iter().all(|r| !r.synced));
    assert_eq!(db.pending_count().await.unwrap(), 2);
    let out = db.outbox(10, None).await.unwrap();
    assert_eq!(
        out.iter().map(|r| r.rev).collect::<Vec<_>>(),
        vec![a.rev, b.rev]
    );
    // A push reads its next batch from after the last change it sent.
    let next = db.outbox(10, Some(a.rev)).await.unwrap();
    assert_eq!(next.iter().map(|r| r.rev).collect::<Vec<_>>(), vec![b.rev]);
    assert!(db.outbox(10, Some(b.rev)).await.unwrap().is_empty());
    assert!(db.records_in("610324001201").await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn saving_from_a_form_removes_its_draft_with_the_save() {
    let db = fresh("t-draft").await;
    let key = "draft:new:deliberation_case";
    let typed: Content =
        serde_json::from_value(json!({"topic": "没填完", "participants": "１２"})).unwrap();
    db.set_meta(key, &Some(typed.clone())).await.unwrap();
    assert_eq!(
        db.meta::<Option<Content>>(key).await.unwrap(),
        Some(Some(typed)),
        "the draft keeps the text as typed"
    );
    db.save(rev("别的表单"), 1).await.unwrap();
    assert!(
        db.meta::<Option<Content>>(key).await.unwrap().is_some(),
        "a save from another form leaves the draft"
    );
    let saved = db
        .save_from_draft(rev("没填完"), 2, key, "王芳", &[])
        .await
        .unwrap();
    assert_eq!(db.meta::<Option<Content>>(key).await.unwrap(), None);
    let held = db.record(&saved.record.to_string()).await.unwrap();
    assert_eq!(
        held.and_then(|r| r.author).as_deref(),
        Some("王芳"),
        "a record made on the form is known by the account that made it"
    );

    db.set_meta(key, &Some(Content::new())).await.unwrap();
    db.delete_meta(key).await.unwrap();
    assert_eq!(db.meta::<Option<Content>>(key).await.unwrap(), None);
}

#[wasm_bindgen_test]
async fn a_photo_joins_the_upload_queue_with_the_save_that_names_it() {
    let db = fresh("t-photos").await;
    let bytes = js_sys::Uint8Array::from(&b"\xFF\xD8 a photo"[..]);
    let taken = PhotoId::of(b"taken");
    let dropped = PhotoId::of(b"dropped");
    db.add_photo(&taken, &bytes).await.unwrap();
    db.add_photo(&dropped, &bytes).await.unwrap();
    assert!(
        db.waiting_photos().await.unwrap().is_empty(),
        "a photo on a form not saved yet waits for nothing"
    );
    let key = "draft:new:volunteer_activity";
    db.save_from_draft(rev("有照片"), 1, key, "王芳", std::slice::from_ref(&taken))
        .await
        .unwrap();
    assert_eq!(db.waiting_photos().await.unwrap(), vec![taken.clone()]);
    // Its bytes are kept for showing it, offline.
    let held = db.photo(&taken).await.unwrap().unwrap();
    assert_eq!(held.to_vec(), bytes.to_vec());
    assert!(db.photo(&PhotoId::of(b"never")).await.unwrap().is_none());
    // Chosen again (the same photo on another record): it keeps its place in the queue.
    db.add_photo(&taken, &bytes).await.unwrap();
    assert_eq!(db.waiting_photos().await.unwrap(), vec![taken.clone()]);
    drop(db);
    let db = Db::open("t-photos").await.unwrap();
    assert_eq!(db.waiting_photos().await.unwrap(), vec![taken.clone()]);
    db.photo_sent(&taken).await.unwrap();
    assert!(db.waiting_photos().await.unwrap().is_empty());
    assert!(
        db.photo(&taken).await.unwrap().is_some(),
        "kept after it is sent"
    );
}

#[wasm_bindgen_test]
async fn the_phone_keeps_the_bytes_of_the_latest_photos_sent_only() {
    use shequ_app::store::KEPT_SENT;
    let db = fresh("t-photos-kept").await;
    let bytes = js_sys::Uint8Array::from(&b"\xFF\xD8 a photo"[..]);
    let ids: Vec<PhotoId> = (0..KEPT_SENT + 2)
        .map(|i| PhotoId::of(&i.to_be_bytes()))
        .collect();
    for id in &ids {
        db.add_photo(id, &bytes).await.unwrap();
        db.photo_sent(id).await.unwrap();
    }
    assert!(
        db.photo(&ids[0]).await.unwrap().is_none(),
        "the oldest let go"
    );
    assert!(db.photo(&ids[1]).await.unwrap().is_none());
    assert!(db.photo(&ids[2]).await.unwrap().is_some());
    assert!(db.photo(ids.last().unwrap()).await.unwrap().is_some());
    // One sent again moves to the end, and is not let go next.
    db.photo_sent(&ids[2]).await.unwrap();
    let newer = PhotoId::of(b"newer");
    db.add_photo(&newer, &bytes).await.unwrap();
    db.photo_sent(&newer).await.unwrap();
    assert!(db.photo(&ids[2]).await.unwrap().is_some());
    assert!(db.photo(&ids[3]).await.unwrap().is_none());
    // A photo read from the server is kept as one sent: it shows offline, never uploads, and
    // takes its place in the order.
    let fetched = PhotoId::of(b"from the server");
    db.keep_fetched(&fetched, &bytes).await.unwrap();
    assert!(db.photo(&fetched).await.unwrap().is_some());
    assert!(db.waiting_photos().await.unwrap().is_empty());
    assert!(db.photo(&ids[4]).await.unwrap().is_none());
}

#[wasm_bindgen_test]
async fn saved_records_survive_closing_and_reopening() {
    let db = fresh("t-reopen").await;
    let a = db.save(rev("保存后关闭"), 5).await.unwrap();
    drop(db);
    let again = Db::open("t-reopen").await.unwrap();
    let got = again.record(&a.record.to_string()).await.unwrap().unwrap();
    assert_eq!(got.rev, a);
    assert_eq!(again.pending_count().await.unwrap(), 1);
}

#[wasm_bindgen_test]
async fn only_an_acknowledgement_takes_a_change_out_of_the_outbox() {
    let db = fresh("t-ack").await;
    let a = db.save(rev("甲"), 1).await.unwrap();
    let b = db.save(rev("乙"), 2).await.unwrap();
    db.take_results(&[
        PushResult {
            rev: a.rev,
            outcome: PushOutcome::Stored { seq: 1 },
        },
        PushResult {
            rev: b.rev,
            outcome: PushOutcome::Rejected {
                reason: "内容未通过校验".into(),
                errors: vec![],
            },
        },
    ])
    .await
    .unwrap();
    assert_eq!(
        db.outbox(10, None)
            .await
            .unwrap()
            .iter()
            .map(|r| r.rev)
            .collect::<Vec<_>>(),
        vec![b.rev]
    );
    let ra = db.record(&a.record.to_string()).await.unwrap().unwrap();
    let rb = db.record(&b.record.to_string()).await.unwrap().unwrap();
    assert!(ra.synced);
    assert!(!rb.synced);
    assert_eq!(rb.error.as_deref(), Some("内容未通过校验"));
    // The acknowledged record was not written again: reopened, it reads its flag from the outbox.
    let again = Db::open("t-ack").await.unwrap();
    let ra = again.record(&a.record.to_string()).await.unwrap().unwrap();
    let rb = again.record(&b.record.to_string()).await.unwrap().unwrap();
    assert!(ra.synced && !rb.synced);
    // A duplicate acknowledgement of an already-taken change is harmless.
    db.take_results(&[PushResult {
        rev: a.rev,
        outcome: PushOutcome::Duplicate { seq: 1 },
    }])
    .await
    .unwrap();
    assert_eq!(db.pending_count().await.unwrap(), 1);
}

#[wasm_bindgen_test]
async fn a_pull_never_overwrites_unsynced_work_and_stores_its_cursor() {
    pull_keeps_unsynced_work(fresh("t-pull").await, false).await;
}

/// The same with a list drawn first, which the writes after it keep up to date in memory.
#[wasm_bindgen_test]
async fn a_pull_never_overwrites_unsynced_work_a_listing_page_keeps() {
    pull_keeps_unsynced_work(fresh("t-pull-kept").await, true).await;
}

async fn pull_keeps_unsynced_work(db: Db, listed_first: bool) {
    let mine = db.save(rev("本机未同步"), 10).await.unwrap();
    if listed_first {
        assert_eq!(db.records_in(UNIT).await.unwrap().len(), 1);
    }
    let mut theirs = mine.clone();
    theirs.rev = shequ_app::ids::new_id();
    theirs.clock = mine.clock + 1_000_000;
    theirs
        .content
        .insert("topic".into(), json!("服务器上的修改"));
    let other = Revision {
        clock: 99,
        ..rev("别人的新记录")
    };
    let page = PullPage {
        changes: vec![
            PulledRevision {
                seq: 7,
                revision: theirs.clone(),
                author: None,
            },
            PulledRevision {
                seq: 8,
                revision: other.clone(),
                author: None,
            },
        ],
        cursor: 8,
        more: false,
    };
    assert_eq!(
        db.apply_page(UNIT, page).await.unwrap(),
        2,
        "both revisions are kept"
    );
    assert_eq!(db.cursor(UNIT).await.unwrap(), 8);
    let held = db.record(&mine.record.to_string()).await.unwrap().unwrap();
    assert_eq!(held.rev, mine, "the unsynced local edit stays shown");
    assert_eq!(
        held.others,
        vec![theirs.clone()],
        "and the pulled one is kept beside it"
    );
    let got = db.record(&other.record.to_string()).await.unwrap().unwrap();
    assert!(got.synced);
    assert_eq!(got.rev, other);
    if listed_first {
        let shown = db.records_in(UNIT).await.unwrap();
        let kept = shown.iter().find(|r| r.rev.record == mine.record).unwrap();
        assert_eq!(
            (&kept.rev, kept.synced),
            (&mine, false),
            "the list shows it too"
        );
    }
    // Once the local edit is acknowledged, the record shows the winner by the shared rule and
    // says it had a conflict, with the other version there to choose.
    db.take_results(&[PushResult {
        rev: mine.rev,
        outcome: PushOutcome::Stored { seq: 9 },
    }])
    .await
    .unwrap();
    let after = db.record(&mine.record.to_string()).await.unwrap().unwrap();
    assert_eq!(after.rev, theirs);
    assert!(after.conflict && after.synced);
    let shown = db.records_in(UNIT).await.unwrap();
    let listed = shown.iter().find(|r| r.rev.record == mine.record).unwrap();
    assert_eq!(listed, &after, "the list shows what the store holds");
    assert_eq!(after.rivals(), vec![mine.clone()]);
    assert_eq!(
        db.checksum(UNIT).await.unwrap(),
        shequ_model::sync::Checksum::of([theirs.rev, other.rev])
    );
    // The next local edit's clock is past everything seen.
    let next = db.save(rev("之后"), 11).await.unwrap();
    assert!(next.clock > theirs.clock);
}

/// A push stored on the server whose answer was lost: the pull brings the change back, and the
/// phone takes it as acknowledged; until then the checksum leaves it out, as the server's would.
#[wasm_bindgen_test]
async fn a_change_a_pull_brings_back_leaves_the_outbox_and_counts_once_on_the_server() {
    let db = fresh("t-back").await;
    let mine = db.save(rev("应答丢失"), 10).await.unwrap();
    assert_eq!(
        db.checksum(UNIT).await.unwrap(),
        shequ_model::sync::Checksum::of([]),
        "the server does not hold it yet"
    );
    let page = PullPage {
        changes: vec![PulledRevision {
            seq: 3,
            revision: mine.clone(),
            author: None,
        }],
        cursor: 3,
        more: false,
    };
    assert_eq!(db.apply_page(UNIT, page).await.unwrap(), 0);
    assert_eq!(db.pending_count().await.unwrap(), 0);
    assert!(
        db.record(&mine.record.to_string())
            .await
            .unwrap()
            .unwrap()
            .synced
    );
    assert_eq!(
        db.checksum(UNIT).await.unwrap(),
        shequ_model::sync::Checksum::of([mine.rev])
    );
}

/// Each record's id and whether it is synced, in id order.
fn listed(records: Vec<shequ_app::store::LocalRecord>) -> Vec<(uuid::Uuid, bool)> {
    let mut out: Vec<_> = records.iter().map(|r| (r.rev.record, r.synced)).collect();
    out.sort();
    out
}

#[wasm_bindgen_test]
async fn a_list_shows_what_this_tab_and_another_tab_wrote() {
    let one = fresh("t-tabs").await;
    let other = Db::open("t-tabs").await.unwrap();
    let a = one.save(rev("本页先记"), 1).await.unwrap();
    assert_eq!(
        listed(one.records_in(UNIT).await.unwrap()),
        vec![(a.record, false)]
    );
    // The other tab writes while this page keeps its list; this page then writes too.
    let b = other.save(rev("另一页记"), 2).await.unwrap();
    let c = one.save(rev("本页再记"), 3).await.unwrap();
    let mut want = vec![(a.record, false), (b.record, false), (c.record, false)];
    want.sort();
    assert_eq!(listed(one.records_in(UNIT).await.unwrap()), want);
    // This page's own acknowledgement shows without reading the store again, as the store has it.
    one.take_results(&[PushResult {
        rev: c.rev,
        outcome: PushOutcome::Stored { seq: 1 },
    }])
    .await
    .unwrap();
    let shown = listed(one.records_in(UNIT).await.unwrap());
    assert!(shown.contains(&(c.record, true)), "{shown:?}");
    assert_eq!(shown, listed(other.records_in(UNIT).await.unwrap()));
    assert_eq!(
        listed(
            Db::open("t-tabs")
                .await
                .unwrap()
                .records_in(UNIT)
                .await
                .unwrap()
        ),
        shown
    );
}

#[wasm_bindgen_test]
async fn a_save_never_misses_another_tabs_edit_of_the_same_record_or_its_clock() {
    let one = fresh("t-kept-save").await;
    let other = Db::open("t-kept-save").await.unwrap();
    let a = one.save(rev("先记"), 1_000).await.unwrap();
    // This page now keeps what the store holds, and another tab then writes behind it.
    one.records_in(UNIT).await.unwrap();
    let edit = |of: &Revision, topic: &str| Revision {
        record: of.record,
        parent: Some(of.rev),
        ..rev(topic)
    };
    let a2 = one.save(edit(&a, "本页改"), 1_001).await.unwrap();
    assert!(a2.clock > a.clock);
    // Another tab edits the same record, its clock far ahead; this page edits it from what it
    // kept before that write.
    let b = other.save(edit(&a2, "另一页改"), 5_000_000).await.unwrap();
    let c = one.save(edit(&a2, "本页又改"), 1_002).await.unwrap();
    assert!(
        c.clock > b.clock,
        "this page's clock moved past the other tab's: {} ≤ {}",
        c.clock,
        b.clock
    );
    let reopened = Db::open("t-kept-save").await.unwrap();
    let held = reopened
        .record(&a.record.to_string())
        .await
        .unwrap()
        .unwrap();
    let mut revs: Vec<_> = std::iter::once(&held.rev)
        .chain(&held.others)
        .map(|r| r.rev)
        .collect();
    revs.sort();
    let mut both = [b.rev, c.rev];
    both.sort();
    assert!(
        both.iter().all(|r| revs.contains(r)),
        "both edits are held, as a conflict to resolve: {revs:?}"
    );
    assert_eq!(
        reopened
            .outbox(10, None)
            .await
            .unwrap()
            .iter()
            .map(|r| r.rev)
            .collect::<Vec<_>>(),
        vec![a.rev, a2.rev, b.rev, c.rev],
        "each save once in the outbox, none half-written"
    );
    assert_eq!(
        listed(one.records_in(UNIT).await.unwrap()),
        listed(reopened.records_in(UNIT).await.unwrap())
    );
}
