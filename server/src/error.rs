//! Errors mapped to HTTP in one place. Internal failures are logged here and reach the client
//! only as a plain 500; everything else carries a Chinese message the app can show as it is.

use crate::store::StoreError;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use shequ_model::auth::AuthFailure;
use shequ_model::table::{CellError, SheetRefused};

fn unauthorized_message(f: &AuthFailure) -> &'static str {
    match f {
        AuthFailure::Unauthenticated => "请先登录",
        AuthFailure::Expired => "登录已过期,请重新登录(本机记录不会丢失)",
        AuthFailure::Revoked => "此设备已被管理员停用,未同步的记录仍在本机,请导出后交给管理员",
        AuthFailure::MustChangePassword => "请先修改初始密码,修改后才能使用其他功能",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{}", unauthorized_message(.0))]
    Unauthorized(AuthFailure),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Conflict(String),
    /// Any other refusal of a request the API cannot take as it is (a method, a query, an
    /// encoding), with its 4xx status.
    #[error("{1}")]
    Refused(StatusCode, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A failure of the server's own making, other than storage: logged, answered with 500.
    #[error("{0}")]
    Internal(String),
    /// Too many attempts from here: try again in `retry_after` seconds (429 with Retry-After).
    #[error("{message}")]
    Throttled { message: String, retry_after: u64 },
    /// The server is at capacity for this kind of work: try again in `retry_after` seconds (503
    /// with Retry-After).
    #[error("{message}")]
    Busy { message: String, retry_after: u64 },
    /// The account still has its one-time password (403 with the typed reason, so the phone
    /// shows the password form).
    #[error("{}", unauthorized_message(&AuthFailure::MustChangePassword))]
    MustChangePassword,
    /// A sheet that cannot be imported (400 with every problem, by cell).
    #[error("有 {} 处错误,未作任何改动", .0.len())]
    Cells(Vec<CellError>),
}

impl ApiError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Refused(status, _) => *status,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MustChangePassword => StatusCode::FORBIDDEN,
            ApiError::Cells(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Throttled { retry_after, .. } | ApiError::Busy { retry_after, .. } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// A request body over [`crate::MAX_BODY`].
    pub fn body_too_large() -> ApiError {
        ApiError::TooLarge(format!(
            "提交的内容太大,超过了 {} MiB 的上限",
            crate::MAX_BODY / 1024 / 1024
        ))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            ApiError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                "服务器内部错误,请稍后重试".to_string()
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal failure");
                "服务器内部错误,请稍后重试".to_string()
            }
            other => other.to_string(),
        };
        let mut response = match &self {
            ApiError::Unauthorized(code) => (
                self.status_code(),
                Json(json!({ "error": message, "code": code })),
            )
                .into_response(),
            ApiError::MustChangePassword => {
                let code = AuthFailure::MustChangePassword;
                (
                    self.status_code(),
                    Json(json!({ "error": message, "code": code })),
                )
                    .into_response()
            }
            ApiError::Cells(cells) => (
                self.status_code(),
                Json(SheetRefused {
                    error: message,
                    cells: cells.clone(),
                }),
            )
                .into_response(),
            _ => (self.status_code(), Json(json!({ "error": message }))).into_response(),
        };
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// A JSON body whose rejections are answered like every other error: 413 for a body too large,
/// 422 with a Chinese message for anything that is not the expected JSON.
pub struct AppJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for AppJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        if !plain_json(req.headers()) {
            // Whatever else the request says it is, axum's extractor decides and words it.
            return match Json::<T>::from_request(req, state).await {
                Ok(Json(v)) => Ok(AppJson(v)),
                Err(rejection) => Err(refusal(rejection.status(), rejection.body_text())),
            };
        }
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| refusal(r.status(), r.body_text()))?;
        // Read without tracking where it is (a push of 500 revisions spent a tenth of the
        // server's time in that bookkeeping); only a body that fails is read again for the
        // path to the fault that axum's message names.
        match serde_json::from_slice(&body) {
            Ok(v) => Ok(AppJson(v)),
            Err(_) => match Json::<T>::from_bytes(&body) {
                Ok(Json(v)) => Ok(AppJson(v)),
                Err(rejection) => Err(refusal(rejection.status(), rejection.body_text())),
            },
        }
    }
}

/// Whether a request says its body is `application/json` in so many words.
fn plain_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// A body refused for `status`, which axum explains in `text`.
fn refusal(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::body_too_large()
    } else {
        ApiError::Unprocessable(format!("提交的内容格式不对:{text}"))
    }
}

/// Gives every 4xx of the API the one JSON shape, also those no handler wrote: axum's own
/// refusals (an unknown method, a query it cannot read) and the layers' (an unknown
/// `Content-Encoding`). Answers already in JSON pass as they are.
pub async fn json_refusals(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !status.is_client_error() || is_json {
        return res;
    }
    let (parts, body) = res.into_parts();
    // axum's refusals explain themselves in a line of English: kept after the Chinese.
    let detail = axum::body::to_bytes(body, 1024)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .unwrap_or_default();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::body_too_large(),
        StatusCode::NOT_FOUND => ApiError::NotFound("没有这个接口".into()),
        other => {
            let message = match other {
                StatusCode::METHOD_NOT_ALLOWED => "这个接口不接受这种请求方法",
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "不支持这种内容格式或压缩方式",
                StatusCode::REQUEST_TIMEOUT => "请求超时,请重试",
                _ => "请求的格式不对",
            };
            let detail = detail.trim();
            ApiError::Refused(
                other,
                if detail.is_empty() {
                    message.into()
                } else {
                    format!("{message}:{detail}")
                },
            )
        }
    };
    let mut out = error.into_response();
    // What the refusal told the client besides its body still holds (`Allow`, `Retry-After`).
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}
