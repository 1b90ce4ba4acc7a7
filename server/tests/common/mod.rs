//! The test harness: a real server on port 0 with a fresh SQLite file, and request helpers.
#![allow(dead_code)]

use serde_json::json;
use shequ_model::record::Content;
use shequ_model::Revision;
use shequ_server::settings::{DatabaseUrl, Limits, Settings};
use std::path::PathBuf;
use uuid::Uuid;

pub const VILLAGE: &str = "610324001001";
pub const VILLAGE2: &str = "610324001201";

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub database_url: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    /// What the server serves with (its store, its pools).
    pub state: shequ_server::AppState,
    tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// The demo accounts' password.
pub const PASSWORD: &str = "shequ2018";

impl TestApp {
    /// A client whose connections come from another loopback address, as another phone would.
    pub fn client_from(&self, address: [u8; 4]) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(address))
            .build()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A session token for a demo account (`county`, `town-CODE`, `village-CODE`), logged in once.
    pub async fn token(&self, username: &str) -> String {
        if let Some(t) = self.tokens.lock().unwrap().get(username) {
            return t.clone();
        }
        let resp = self
            .client
            .post(self.url("/api/auth/login"))
            .json(&json!({"username": username, "password": PASSWORD, "device": format!("test-{username}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "login as {username}");
        let s: serde_json::Value = resp.json().await.unwrap();
        let t = s["token"].as_str().unwrap().to_string();
        self.tokens
            .lock()
            .unwrap()
            .insert(username.to_string(), t.clone());
        t
    }

    /// GET as the county administrator.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_as("county", path).await
    }

    pub async fn get_as(&self, username: &str, path: &str) -> reqwest::Response {
        let t = self.token(username).await;
        self.client
            .get(self.url(path))
            .bearer_auth(t)
            .send()
            .await
            .unwrap()
    }

    /// A POST as `username`.
    pub async fn post_as(&self, username: &str, path: &str) -> reqwest::RequestBuilder {
        let t = self.token(username).await;
        self.client.post(self.url(path)).bearer_auth(t)
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests may use (`cargo xtask test` starts a throwaway one).
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("SHEQU_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh, empty PostgreSQL database; its URL.
pub async fn fresh_postgres() -> Option<String> {
    use sqlx::Connection;
    let admin = postgres_admin_url()?;
    let name = format!("shequ_t_{}", Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("the test PostgreSQL answers");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
    Some(format!("{base}/{name}"))
}

/// Runs each named test (an `async fn(TestApp)`) against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[tokio::test] async fn $name() { super::$name(super::common::spawn_on(super::common::Engine::Sqlite).await.unwrap()).await } )*
        }
        mod on_postgres {
            $( #[tokio::test] async fn $name() {
                match super::common::spawn_on(super::common::Engine::Postgres).await {
                    Some(app) => super::$name(app).await,
                    None => println!("SHEQU_TEST_POSTGRES_URL is not set: PostgreSQL not tested here (cargo xtask test sets it)"),
                }
            } )*
        }
    };
}
#[allow(unused_imports)]
pub use conformance;

pub async fn spawn_on(engine: Engine) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let url = match engine {
        Engine::Sqlite => format!("sqlite://{}", dir.path().join("shequ.db").display()),
        Engine::Postgres => fresh_postgres().await?,
    };
    Some(spawn_full(url, PathBuf::from("/nonexistent-dist"), dir, |_| {}).await)
}

/// A server on SQLite with other limits.
pub async fn spawn_with_limits(limits: Limits) -> TestApp {
    spawn_with(|s| s.limits = limits).await
}

/// A server on SQLite with settings changed by `tweak`.
pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shequ.db").display());
    spawn_full(url, PathBuf::from("/nonexistent-dist"), dir, tweak).await
}

pub async fn spawn_with_dist(dist: PathBuf) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shequ.db").display());
    spawn_full(url, dist, dir, |_| {}).await
}

async fn spawn_full(
    database_url: String,
    dist: PathBuf,
    dir: tempfile::TempDir,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = settings_on(&database_url);
    settings.dist = dist;
    settings.photos = Some(dir.path().join("photos").display().to_string());
    tweak(&mut settings);
    let running = shequ_server::launch(&settings)
        .await
        .expect("the server starts");
    TestApp {
        addr: running.addr,
        database_url: settings.database_url.into(),
        client: reqwest::Client::new(),
        dir,
        state: running.state,
        tokens: Default::default(),
    }
}

/// Another server on the same database, with settings changed by `tweak` (the first one keeps
/// running, unused).
pub async fn restart(app: &TestApp, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_at(app.database_url.clone(), tweak).await
}

/// A server on the database at `database_url`, with settings changed by `tweak`.
pub async fn spawn_at(database_url: String, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    spawn_full(database_url, PathBuf::from("/nonexistent-dist"), dir, tweak).await
}

/// The settings a server would start with on `database_url`, for starts that are to fail.
pub fn settings_on(database_url: &str) -> Settings {
    let root = workspace();
    Settings {
        database_url: DatabaseUrl::parse(database_url).unwrap(),
        listen: ([127, 0, 0, 1], 0).into(),
        plan: root.join("seeds/plan-2018.toml"),
        dist: PathBuf::from("/nonexistent-dist"),
        seed_areas: Some(root.join("seeds/fufeng-areas.csv")),
        demo: true,
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with_dist(PathBuf::from("/nonexistent-dist")).await
}

/// A new record of `form` in `unit`, as a phone pushes its first revision.
#[allow(dead_code)]
pub fn new_record(unit: &str, form: &str, content: serde_json::Value) -> Revision {
    Revision {
        record: Uuid::now_v7(),
        rev: Uuid::now_v7(),
        parent: None,
        resolves: vec![],
        device: "test-device".into(),
        clock: 1 << 16,
        plan: Default::default(),
        form: form.into(),
        unit: shequ_model::UnitCode::parse(unit).unwrap(),
        deleted: false,
        content: serde_json::from_value(content).unwrap(),
    }
}

/// A deliberation case; `success` makes it one that counts (all five steps, feedback given).
pub fn case(unit: &str, topic: &str, success: bool) -> Revision {
    let steps = if success {
        json!({"state": "民事民评", "dates": {"民事民提": "2018-03-01", "民事民议": "2018-03-05", "民事民决": "2018-03-09", "民事民办": "2018-04-01", "民事民评": "2018-05-01"}})
    } else {
        json!({"state": "民事民提", "dates": {"民事民提": "2018-03-01"}})
    };
    let mut content: Content = serde_json::from_value(json!({
        "forum": "村(居)民议事会",
        "steps": steps,
        "feedback": success,
        "participants": 12
    }))
    .unwrap();
    if !topic.is_empty() {
        content.insert("topic".into(), json!(topic));
    }
    Revision {
        record: Uuid::now_v7(),
        rev: Uuid::now_v7(),
        parent: None,
        resolves: vec![],
        device: "test-device".into(),
        clock: 1 << 16,
        plan: Default::default(),
        form: "deliberation_case".into(),
        unit: shequ_model::UnitCode::parse(unit).unwrap(),
        deleted: false,
        content,
    }
}

/// The city above the seeded county (and its province), with a supervisor `city-CODE` whose
/// password is [`PASSWORD`]; the city's code.
pub async fn add_city_supervisor(app: &TestApp) -> &'static str {
    const CITY: &str = "6103";
    let path = app.dir.path().join("above.csv");
    std::fs::write(
        &path,
        format!("code,name,level,parent_code\n61,陕西省,province,\n{CITY},宝鸡市,city,61\n"),
    )
    .unwrap();
    let store = app.state.store.as_ref();
    shequ_server::import_areas(store, &path).await.unwrap();
    let account = shequ_model::auth::Account {
        username: format!("city-{CITY}"),
        name: "市督导".into(),
        role: shequ_model::auth::Role::CitySupervisor,
        unit: shequ_model::UnitCode::parse(CITY).unwrap(),
    };
    assert!(
        shequ_server::auth::add_account(store, account, PASSWORD, false)
            .await
            .unwrap()
    );
    CITY
}
