//! Talking to the server. Every failure comes back as a Chinese sentence for the worker.

use gloo_net::http::Request;
use serde::de::DeserializeOwned;
use shequ_model::area::Area;
use shequ_model::rollup::Report;
use shequ_model::sync::{PullPage, PushRequest, PushResponse};
use shequ_model::Plan;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(pub String);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, ApiError>;

fn offline(_: gloo_net::Error) -> ApiError {
    ApiError("无法连接服务器(可能没有网络),记录已保存在本机,稍后会自动同步".into())
}

async fn answer<T: DeserializeOwned>(resp: gloo_net::http::Response) -> Result<T> {
    if resp.ok() {
        return resp.json::<T>().await.map_err(|e| ApiError(format!("服务器的回答无法识别:{e}")));
    }
    let status = resp.status();
    let msg = resp
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| format!("服务器返回错误 {status}"));
    Err(ApiError(msg))
}

async fn get<T: DeserializeOwned>(url: &str) -> Result<T> {
    answer(Request::get(url).send().await.map_err(offline)?).await
}

pub async fn plan() -> Result<Plan> {
    get("/api/plan").await
}

pub async fn areas() -> Result<Vec<Area>> {
    get("/api/areas").await
}

pub async fn report(code: &str) -> Result<Report> {
    get(&format!("/api/report/{code}")).await
}

pub async fn push(req: &PushRequest) -> Result<PushResponse> {
    let r = Request::post("/api/sync/push").json(req).map_err(|e| ApiError(e.to_string()))?;
    answer(r.send().await.map_err(offline)?).await
}

pub async fn pull(scope: &str, after: i64, limit: u32) -> Result<PullPage> {
    get(&format!("/api/sync/pull?scope={scope}&after={after}&limit={limit}")).await
}
