//! The county administrator manages accounts fully: disables and enables one (its sessions end at
//! once), gives it another unit or role, or a new one-time password, and every change is in the
//! audit trail, the password never.

mod common;

use common::{TestApp, PASSWORD, VILLAGE, VILLAGE2};
use serde_json::json;

const WORKER: &str = "village-610324001001";

async fn login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": username, "password": password, "device": "accounts-test"}))
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, token: &str) -> reqwest::StatusCode {
    app.client
        .get(app.url("/api/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn change(
    app: &TestApp,
    who: &str,
    username: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    app.post_as(who, &format!("/api/admin/accounts/{username}"))
        .await
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn error_of(r: reqwest::Response) -> String {
    let body: serde_json::Value = r.json().await.unwrap();
    body["error"].as_str().unwrap_or_default().to_owned()
}

async fn listed(app: &TestApp, username: &str) -> serde_json::Value {
    let all: Vec<serde_json::Value> = app
        .get_as("county", "/api/admin/accounts")
        .await
        .json()
        .await
        .unwrap();
    all.into_iter()
        .find(|a| a["username"] == username)
        .unwrap_or_else(|| panic!("{username} is listed"))
}

async fn an_administrator_disables_moves_and_resets_an_account_and_the_trail_keeps_each(
    app: TestApp,
) {
    let session = app.token(WORKER).await;
    assert_eq!(me(&app, &session).await, 200);

    // Disabled: the phone's session ends now, and the password no longer opens one.
    let r = change(&app, "county", WORKER, json!({"disabled": true})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(listed(&app, WORKER).await["disabled"], true);
    assert_eq!(me(&app, &session).await, 401);
    // Refused as a wrong password is: a stranger does not learn that the account exists.
    assert_eq!(login(&app, WORKER, PASSWORD).await.status(), 422);
    // Enabled again.
    assert_eq!(
        change(&app, "county", WORKER, json!({"disabled": false}))
            .await
            .status(),
        200
    );
    assert_eq!(listed(&app, WORKER).await["disabled"], false);
    let again = login(&app, WORKER, PASSWORD).await;
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().await.unwrap();

    // Moved to the next village: the session made for the old one ends, the new one reads there.
    let r = change(
        &app,
        "county",
        WORKER,
        json!({"unit": VILLAGE2, "name": "王小二"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(me(&app, again["token"].as_str().unwrap()).await, 401);
    let moved: serde_json::Value = login(&app, WORKER, PASSWORD).await.json().await.unwrap();
    assert_eq!(moved["account"]["unit"], VILLAGE2);
    assert_eq!(moved["account"]["name"], "王小二");

    // What cannot be given, each named in Chinese, and nothing of it applied.
    let wrong_level = change(&app, "county", WORKER, json!({"unit": "610324001"})).await;
    assert_eq!(wrong_level.status(), 422);
    assert!(error_of(wrong_level).await.contains("应属于"));
    let elsewhere = change(&app, "county", WORKER, json!({"unit": "610302001001"})).await;
    assert_eq!(elsewhere.status(), 403);
    let unknown = change(&app, "county", WORKER, json!({"unit": "610324001999"})).await;
    assert_eq!(unknown.status(), 422);
    assert!(error_of(unknown).await.contains("未知的单位代码"));
    let stranger_key = change(&app, "county", WORKER, json!({"password": "x"})).await;
    assert_eq!(stranger_key.status(), 422);
    let blank = change(&app, "county", WORKER, json!({"name": "  "})).await;
    assert_eq!(blank.status(), 422);
    assert_eq!(listed(&app, WORKER).await["unit"], VILLAGE2);
    assert_eq!(listed(&app, WORKER).await["name"], "王小二");
    let own = change(&app, "county", "county", json!({"disabled": true})).await;
    assert_eq!(own.status(), 422, "not one's own account");
    assert_eq!(
        change(&app, "county", "nobody", json!({"disabled": true}))
            .await
            .status(),
        404
    );
    let town = format!("town-{}", &VILLAGE[..9]);
    assert_eq!(
        change(&app, &town, WORKER, json!({"disabled": true}))
            .await
            .status(),
        403
    );

    // A one-time password: the old one stops, the new one must be changed first.
    let r = app
        .post_as("county", &format!("/api/admin/accounts/{WORKER}/password"))
        .await
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let reset: serde_json::Value = r.json().await.unwrap();
    let password = reset["password"].as_str().unwrap().to_owned();
    assert_eq!(login(&app, WORKER, PASSWORD).await.status(), 422);
    let fresh = login(&app, WORKER, &password).await;
    assert_eq!(fresh.status(), 200);
    let fresh: serde_json::Value = fresh.json().await.unwrap();
    assert_eq!(fresh["must_change_password"], true);

    // The trail: who changed what, before and after; the password nowhere.
    let trail: Vec<serde_json::Value> = app
        .get_as("county", "/api/admin/actions")
        .await
        .json()
        .await
        .unwrap();
    let changes: Vec<&serde_json::Value> = trail
        .iter()
        .filter(|a| a["action"] == "change_account")
        .collect();
    assert_eq!(changes.len(), 3, "{trail:?}");
    assert!(changes
        .iter()
        .all(|a| a["account"] == "county" && a["detail"]["username"] == WORKER));
    assert!(changes
        .iter()
        .any(|a| a["detail"]["before"]["unit"] == VILLAGE
            && a["detail"]["after"]["unit"] == VILLAGE2
            && a["detail"]["after"]["name"] == "王小二"));
    assert!(changes
        .iter()
        .any(|a| a["detail"]["after"]["disabled"] == true));
    let resets: Vec<&serde_json::Value> = trail
        .iter()
        .filter(|a| a["action"] == "reset_password")
        .collect();
    assert_eq!(resets.len(), 1);
    assert!(!serde_json::to_string(&trail).unwrap().contains(&password));
}

common::conformance!(
    an_administrator_disables_moves_and_resets_an_account_and_the_trail_keeps_each
);
