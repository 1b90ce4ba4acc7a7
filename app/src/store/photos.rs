//! Photos kept beside the records, in the `photos` store: `{id, bytes, state}`, `bytes` a
//! `Uint8Array` of the shrunk JPEG, `state` one of
//! * `draft`: chosen on a form not saved yet;
//! * `waiting`: named by a saved record and not yet held by the server, the queue
//!   [`crate::sync`] uploads after the records (the save that names a photo marks it waiting in
//!   the save's own transaction, so a saved photo is never left out of the queue);
//! * `sent`: the server holds it; the bytes stay for showing it offline, for the latest
//!   [`KEPT_SENT`] photos sent (their order kept in `meta` under `photos:sent`): an older one is
//!   read from the server when shown, so a year of photos does not fill a cheap phone.
//!
//! A photo of a record this phone did not make is read from the server the first time it is
//! shown, and kept as one sent.

use super::{from_js, to_js, Db, MetaRow, Result, StoreError, META};
use js_sys::{Object, Reflect, Uint8Array};
use shequ_model::photo::PhotoId;
use wasm_bindgen::{JsCast, JsValue};

pub(super) const PHOTOS: &str = "photos";
const DRAFT: &str = "draft";
const WAITING: &str = "waiting";
const SENT: &str = "sent";
/// Photos sent whose bytes the phone keeps: about 45 MB.
pub const KEPT_SENT: usize = 300;
/// The `meta` key of the photos sent, oldest first.
const SENT_ORDER: &str = "photos:sent";

fn row(id: &PhotoId, bytes: &JsValue, state: &str) -> Result<JsValue> {
    let o = Object::new();
    let set = |k: &str, v: &JsValue| {
        Reflect::set(&o, &JsValue::from_str(k), v).map_err(|_| StoreError("photo row".into()))
    };
    set("id", &JsValue::from_str(id.as_str()))?;
    set("bytes", bytes)?;
    set("state", &JsValue::from_str(state))?;
    Ok(o.into())
}

fn field(row: &JsValue, key: &str) -> JsValue {
    Reflect::get(row, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Marks `ids` waiting inside a save's transaction, where they are drafts.
pub(super) async fn queue_in(photos: &rexie::Store, ids: &[PhotoId]) -> Result<()> {
    for id in ids {
        if let Some(r) = photos.get(JsValue::from_str(id.as_str())).await? {
            if field(&r, "state").as_string().as_deref() == Some(DRAFT) {
                photos
                    .put(&row(id, &field(&r, "bytes"), WAITING)?, None)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Writes a photo as sent, last in the order of photos sent, and lets go of those beyond the
/// latest [`KEPT_SENT`].
async fn sent_in(
    photos: &rexie::Store,
    meta: &rexie::Store,
    id: &PhotoId,
    bytes: &JsValue,
) -> Result<()> {
    photos.put(&row(id, bytes, SENT)?, None).await?;
    let mut order: Vec<PhotoId> = match meta.get(JsValue::from_str(SENT_ORDER)).await? {
        Some(v) if !v.is_undefined() => serde_json::from_str(&from_js::<MetaRow>(v)?.value)?,
        _ => vec![],
    };
    order.retain(|p| p != id);
    order.push(id.clone());
    let beyond = order.len().saturating_sub(KEPT_SENT);
    for old in order.drain(..beyond) {
        photos.delete(JsValue::from_str(old.as_str())).await?;
    }
    let kept = MetaRow {
        key: SENT_ORDER.into(),
        value: serde_json::to_string(&order)?,
    };
    meta.put(&to_js(&kept)?, None).await?;
    Ok(())
}

impl Db {
    /// Keeps a photo chosen on a form (a draft until a saved record names it). A photo kept
    /// already keeps its state.
    pub async fn add_photo(&self, id: &PhotoId, bytes: &Uint8Array) -> Result<()> {
        let tx = self.tx(&[PHOTOS], true)?;
        let photos = tx.store(PHOTOS)?;
        if photos.get(JsValue::from_str(id.as_str())).await?.is_none() {
            photos.put(&row(id, bytes, DRAFT)?, None).await?;
        }
        Self::finish(tx).await
    }

    /// A photo's bytes, when this phone holds them.
    pub async fn photo(&self, id: &PhotoId) -> Result<Option<Uint8Array>> {
        let tx = self.tx(&[PHOTOS], false)?;
        let got = tx
            .store(PHOTOS)?
            .get(JsValue::from_str(id.as_str()))
            .await?;
        Ok(got
            .map(|r| field(&r, "bytes"))
            .and_then(|b| b.dyn_into::<Uint8Array>().ok()))
    }

    /// The photos waiting to be uploaded.
    pub async fn waiting_photos(&self) -> Result<Vec<PhotoId>> {
        let waiting = rexie::KeyRange::only(&JsValue::from_str(WAITING))
            .map_err(|e| StoreError(e.to_string()))?;
        let tx = self.tx(&[PHOTOS], false)?;
        let rows = tx
            .store(PHOTOS)?
            .index("state")?
            .get_all_keys(Some(waiting), None)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|k| PhotoId::parse(&k.as_string()?).ok())
            .collect())
    }

    /// Notes that the server holds a photo, and lets go of the bytes of the photos sent longest
    /// ago beyond the latest [`KEPT_SENT`], in the same transaction.
    pub async fn photo_sent(&self, id: &PhotoId) -> Result<()> {
        let tx = self.tx(&[PHOTOS, META], true)?;
        let (photos, meta) = (tx.store(PHOTOS)?, tx.store(META)?);
        if let Some(r) = photos.get(JsValue::from_str(id.as_str())).await? {
            sent_in(&photos, &meta, id, &field(&r, "bytes")).await?;
        }
        Self::finish(tx).await
    }

    /// Keeps a photo read from the server (of a record this phone did not make) as one sent, so
    /// that it shows offline from then on; a photo this phone holds already keeps its state.
    pub async fn keep_fetched(&self, id: &PhotoId, bytes: &Uint8Array) -> Result<()> {
        let tx = self.tx(&[PHOTOS, META], true)?;
        let (photos, meta) = (tx.store(PHOTOS)?, tx.store(META)?);
        if photos.get(JsValue::from_str(id.as_str())).await?.is_none() {
            sent_in(&photos, &meta, id, bytes).await?;
        }
        Self::finish(tx).await
    }
}
