//! Where photos' bytes are kept: an object store (a folder by default, S3-compatible storage for
//! a deployment that has it), each under its id. What is held is listed in the database
//! ([`crate::store::Store::add_photo`]), written after the bytes are: a photo listed is always
//! there to read, and one whose listing failed is written again, to the same name, by the next
//! upload.

use crate::error::ApiError;
use crate::pool::Pool;
use crate::settings::{SettingError, Settings};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use shequ_model::photo::PhotoId;
use std::sync::Arc;

pub struct Photos {
    store: Arc<dyn ObjectStore>,
    /// Uploads checked and written at once: each holds up to a photo's worth of memory.
    pub uploads: Pool,
}

/// Uploads at once, and waiting per upload.
const UPLOADS: usize = 4;
const WAITING: usize = 4;

impl Photos {
    pub fn new(store: Arc<dyn ObjectStore>) -> Photos {
        Photos {
            store,
            uploads: Pool::new(UPLOADS, WAITING, "上传照片的人太多,请稍后再试", 10),
        }
    }

    /// Photos kept in memory only: the state [`crate::AppState::new`] starts with, until
    /// [`crate::launch`] puts the settings' store in its place.
    pub fn in_memory() -> Photos {
        Photos::new(Arc::new(object_store::memory::InMemory::new()))
    }

    /// The store the settings name.
    pub fn from_settings(s: &Settings) -> Result<Photos, SettingError> {
        let err = |m: String| SettingError::new("photos", m);
        let place = match &s.photos {
            Some(p) => p.clone(),
            None => match s.database_url.as_str().strip_prefix("sqlite://") {
                Some(path) => {
                    let path = path.split('?').next().unwrap_or(path);
                    format!("{path}.photos")
                }
                None => "photos".into(),
            },
        };
        if place.starts_with("s3://") {
            return s3(&place).map_err(err).map(Photos::new);
        }
        std::fs::create_dir_all(&place).map_err(|e| err(format!("cannot make {place}: {e}")))?;
        let folder = object_store::local::LocalFileSystem::new_with_prefix(&place)
            .map_err(|e| err(format!("{place}: {e}")))?;
        Ok(Photos::new(Arc::new(folder)))
    }

    fn path(id: &PhotoId) -> ObjectPath {
        // Two levels, so that no folder holds more than a few thousand files.
        let s = id.as_str();
        ObjectPath::from(format!("{}/{}.jpg", &s[..2], s))
    }

    pub async fn put(&self, id: &PhotoId, bytes: axum::body::Bytes) -> Result<(), ApiError> {
        self.store
            .put(&Self::path(id), PutPayload::from_bytes(bytes))
            .await
            .map(|_| ())
            .map_err(|e| ApiError::Internal(format!("photo store: {e}")))
    }

    /// A photo as a stream of its bytes, and its size: a reader holds a chunk at a time, not
    /// the photo.
    pub async fn get(&self, id: &PhotoId) -> Result<(axum::body::Body, u64), ApiError> {
        let got = self
            .store
            .get(&Self::path(id))
            .await
            .map_err(|e| ApiError::Internal(format!("photo store: {e}")))?;
        let size = got.meta.size;
        Ok((axum::body::Body::from_stream(got.into_stream()), size))
    }
}

#[cfg(feature = "s3")]
fn s3(url: &str) -> Result<Arc<dyn ObjectStore>, String> {
    let store = object_store::aws::AmazonS3Builder::from_env()
        .with_url(url)
        .build()
        .map_err(|e| format!("{url}: {e}"))?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "s3"))]
fn s3(url: &str) -> Result<Arc<dyn ObjectStore>, String> {
    Err(format!(
        "{url}: this build keeps photos in a folder only (build with --features s3 for S3)"
    ))
}
