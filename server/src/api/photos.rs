//! Photo evidence. A phone asks which of its photos the server wants (`POST /api/photos/wanted`),
//! then uploads each (`PUT /api/photos/{id}`, the JPEG as the body): a photo is taken only when a
//! record in the account's scope names it, when its bytes hash to its id, and when it is what the
//! phone makes of a photo ([`photo::check_kept`]); one held already is not written again. A photo
//! is read (`GET /api/photos/{id}`) only by an account whose scope holds a record naming it.

use crate::auth::Caller;
use crate::error::{ApiError, AppJson};
use crate::store::PhotoRow;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use shequ_model::photo::{self, PhotoAnswer, PhotoAsk, PhotoId, MAX_ASKED, MAX_BYTES};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/photos/wanted", post(wanted))
        .route("/api/photos/{id}", get(read).put(upload))
}

fn id_of(s: &str) -> Result<PhotoId, ApiError> {
    PhotoId::parse(s).map_err(ApiError::Unprocessable)
}

async fn wanted(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(ask): AppJson<PhotoAsk>,
) -> Result<Json<PhotoAnswer>, ApiError> {
    if ask.ids.len() > MAX_ASKED {
        return Err(ApiError::TooLarge(format!("一次最多问 {MAX_ASKED} 张照片")));
    }
    let named = state
        .store
        .photos_named(caller.account.unit.as_str(), &ask.ids)
        .await?;
    let mut answer = PhotoAnswer::default();
    for id in ask.ids {
        match named.iter().find(|(p, _)| *p == id) {
            Some((_, true)) => answer.held.push(id),
            Some((_, false)) => answer.missing.push(id),
            None => answer.unnamed.push(id),
        }
    }
    Ok(Json(answer))
}

/// The body is read only in the upload's turn: uploads waiting hold a connection each, not a
/// photo's worth of memory.
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let id = id_of(&id)?;
    let _turn = state.photos.uploads.turn().await?;
    let body: Bytes = axum::body::to_bytes(body, MAX_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge(format!("照片不能超过 {} KB", MAX_BYTES / 1024)))?;
    let named = state
        .store
        .photos_named(caller.account.unit.as_str(), std::slice::from_ref(&id))
        .await?;
    match named.first() {
        None => {
            return Err(ApiError::Conflict(
                "您的范围内没有记录引用这张照片:请先同步记录".into(),
            ))
        }
        Some((_, true)) => return Ok(Json(json!({ "stored": false })).into_response()),
        Some((_, false)) => {}
    }
    if PhotoId::of(&body) != id {
        return Err(ApiError::Unprocessable(
            "照片内容与编号不符(可能在上传中损坏),请重试".into(),
        ));
    }
    let (width, height) =
        photo::check_kept(&body).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let bytes = body.len() as i64;
    state.photos.put(&id, body).await?;
    state
        .store
        .add_photo(&PhotoRow {
            id,
            bytes,
            width,
            height,
            received_at: crate::auth::now_ms(),
            account: caller.account.username.clone(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "stored": true }))).into_response())
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = id_of(&id)?;
    let named = state
        .store
        .photos_named(caller.account.unit.as_str(), std::slice::from_ref(&id))
        .await?;
    if !matches!(named.first(), Some((_, true))) {
        return Err(ApiError::NotFound("没有这张照片,或您无权查看".into()));
    }
    let (body, size) = state.photos.get(&id).await?;
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    // A photo never changes under its id; it is this account's to keep, not a shared cache's.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(r)
}
