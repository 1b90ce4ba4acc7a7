//! A hostile client against a real server: floods of logins and of idle connections, and a
//! slowloris. Each test would take the server down, or hold it, without its limit.

mod common;

use common::{spawn_with_limits, workspace};
use serde_json::json;
use shequ_server::settings::Limits;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn logins_beyond_the_hashing_pool_are_refused_at_once() {
    let app = spawn_with_limits(Limits {
        hash_workers: 1,
        ..Limits::default()
    })
    .await;
    // Thirty unknown accounts (each a password check) at once, within the address's free tries.
    let logins = (0..30).map(|i| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(app.url("/api/auth/login"))
                .json(&json!({"username": format!("nobody-{i}"), "password": "wrong-password", "device": "d"}))
                .send()
                .await
                .unwrap();
            let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            (r.status().as_u16(), retry_after, r.json::<serde_json::Value>().await.unwrap())
        }
    });
    let answers = futures_util::future::join_all(logins).await;
    let busy: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(
        answers.iter().all(|(s, _, _)| *s == 422 || *s == 503),
        "{answers:?}"
    );
    assert!(
        !busy.is_empty(),
        "one hashing worker and thirty logins at once: some are told to come back"
    );
    for (_, retry_after, body) in busy {
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert!(body["error"].as_str().unwrap().contains("请稍等"), "{body}");
    }
}

#[tokio::test]
async fn heavy_requests_beyond_their_limit_are_refused_at_once() {
    let app = spawn_with_limits(Limits {
        heavy_requests: 1,
        ..Limits::default()
    })
    .await;
    let city = common::add_city_supervisor(&app).await;
    let county_table = "/api/report/610324/table.xlsx";
    let sheet = app.get(county_table).await.bytes().await.unwrap();
    let import = || async {
        app.post_as("county", "/api/report/610324/targets.xlsx")
            .await
            .body(sheet.clone())
            .send()
            .await
            .unwrap()
    };
    let city_report = format!("/api/report/{city}");
    let city_months = format!("/api/report/{city}/months?indicator=deliberation_success");

    // Another heavy request under way holds the one place.
    let held = app.state.heavy.turn().await.unwrap();
    let refused = [
        app.get(county_table).await,
        import().await,
        app.get_as(&format!("city-{city}"), &city_report).await,
        app.get_as(&format!("city-{city}"), &city_months).await,
    ];
    for r in refused {
        assert_eq!(r.status(), 503, "{}", r.url());
        assert_eq!(r.headers()["retry-after"], "5");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("请稍后再试"),
            "{body}"
        );
    }
    assert_eq!(
        app.get("/api/report/610324").await.status(),
        200,
        "a county's report is light work, served whatever the heavy requests"
    );

    drop(held);
    assert_eq!(app.get(county_table).await.status(), 200);
    assert_eq!(import().await.status(), 200);
    assert_eq!(
        app.get_as(&format!("city-{city}"), &city_report)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get_as(&format!("city-{city}"), &city_months)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn every_login_string_is_limited_before_any_work() {
    let app = common::spawn_app().await;
    for (username, password, device) in [
        ("u".repeat(10_000), "x".to_string(), "d".to_string()),
        (
            "village-610324001001".to_string(),
            "x".repeat(100_000),
            "d".to_string(),
        ),
        (
            "village-610324001001".to_string(),
            "x".to_string(),
            "d".repeat(10_000),
        ),
    ] {
        let r = app
            .client
            .post(app.url("/api/auth/login"))
            .json(&json!({"username": username, "password": password, "device": device}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("太长"), "{body}");
    }
}

#[tokio::test]
async fn a_slow_or_silent_connection_is_closed() {
    let app = spawn_with_limits(Limits {
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
        ..Limits::default()
    })
    .await;
    // Slowloris: a header byte every 300 ms, for ever.
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Silent: connects and says nothing.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    assert!(
        closed_within(&mut slow, Duration::from_secs(10), true).await,
        "the slowloris connection is closed"
    );
    assert!(
        closed_within(&mut silent, Duration::from_secs(10), false).await,
        "the silent connection is closed"
    );
}

/// Whether the server closes `s` within `limit`, trickling header bytes meanwhile if `trickle`.
async fn closed_within(s: &mut TcpStream, limit: Duration, trickle: bool) -> bool {
    let start = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    while start.elapsed() < limit {
        tokio::select! {
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => return true,
                Ok(_) => continue,
            },
            _ = tokio::time::sleep(Duration::from_millis(300)) => {
                if trickle && s.write_all(b"X").await.is_err() {
                    return true;
                }
            }
        }
    }
    false
}

/// The binary, started with at most `files` open files.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_with_file_limit(files: u32, env: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {files} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_shequ-server"))
        .args([
            "--database",
            &format!("sqlite://{}", dir.path().join("a.db").display()),
            "--listen",
            "127.0.0.1:0",
            "--dist",
            "/nonexistent",
        ])
        .args(["--seed-areas", "seeds/fufeng-areas.csv", "serve"])
        .current_dir(workspace())
        .envs(env.iter().copied())
        .env("SHEQU_LOG", "error")
        .env("SHEQU_ADMIN_PASSWORD", "AdminSecret-771")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split("running at ")
        .nth(1)
        .expect("the server starts")
        .trim()
        .trim_end_matches('/')
        .to_string();
    Server {
        child,
        base,
        _dir: dir,
    }
}

#[tokio::test]
async fn healthz_answers_during_an_idle_connection_flood() {
    // More idle connections than the process may open files.
    let server = start_with_file_limit(128, &[]);
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for _ in 0..3 {
        let r = client.get(format!("{}/healthz", server.base)).send().await;
        assert_eq!(
            r.map(|r| r.status().as_u16()).ok(),
            Some(200),
            "/healthz answers with 300 idle connections open"
        );
    }
    drop(idle);
}

#[tokio::test]
async fn behind_the_trusted_proxy_each_phone_has_its_own_login_limit() {
    let app = common::spawn_with(|s| s.trusted_proxy = Some([127, 0, 0, 1].into())).await;
    let login = |password: &str, from: &str| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", from)
            .json(&json!({"username": "village-610324001001", "password": password, "device": "d"}))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            login("wrong-password", "203.0.113.7")
                .await
                .unwrap()
                .status(),
            422
        );
    }
    assert_eq!(
        login("wrong-password", "203.0.113.7")
            .await
            .unwrap()
            .status(),
        429,
        "the guesser waits"
    );
    // A spoofed first entry does not help: the proxy's own (last) entry counts.
    assert_eq!(
        login("wrong-password", "198.51.100.1, 203.0.113.7")
            .await
            .unwrap()
            .status(),
        429
    );
    assert_eq!(
        login(common::PASSWORD, "198.51.100.9")
            .await
            .unwrap()
            .status(),
        200,
        "the owner's phone, through the same proxy, gets in"
    );
}
