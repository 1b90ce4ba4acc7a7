//! Every endpoint, called as each role, in scope and out of scope (another village, another
//! town): exactly the allowed calls succeed. The expectations are written out here by hand, not
//! derived from the server's own rules.

mod common;

use common::{case, spawn_on, Engine, TestApp};
use serde_json::json;
use shequ_model::Revision;
use uuid::Uuid;

const COUNTY: &str = "610324";
const TOWN: &str = "610324001"; // 城关街道
const OTHER_TOWN: &str = "610324103"; // 绛帐镇
const VILLAGE: &str = "610324001001"; // 飞凤社区, in 城关街道
const SAME_TOWN_VILLAGE: &str = "610324001201"; // 西官村, in 城关街道
const OTHER_TOWN_VILLAGE: &str = "610324103001"; // 绛帐镇居委会, in 绛帐镇

const ADMIN: &str = "county";
const SUPERVISOR: &str = "town-610324001";
const WORKER: &str = "village-610324001001";

fn audit(unit: &str) -> Revision {
    let content = serde_json::from_value(
        json!({"title": "2018年经费审计", "year": 2018, "date": "2018-11-01"}),
    )
    .unwrap();
    Revision {
        form: "fund_audit".into(),
        unit: shequ_model::UnitCode::parse(unit).unwrap(),
        content,
        ..case(VILLAGE, "x", false)
    }
}

async fn push_status(app: &TestApp, who: &str, change: Revision) -> u16 {
    app.post_as(who, "/api/sync/push")
        .await
        .json(&json!({"device": "matrix", "changes": [change]}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn read_statuses(app: &TestApp, who: &str, unit: &str) -> [u16; 5] {
    [
        app.get_as(who, &format!("/api/report/{unit}"))
            .await
            .status()
            .as_u16(),
        app.get_as(who, &format!("/api/report/{unit}?as_of=2018-06"))
            .await
            .status()
            .as_u16(),
        app.get_as(
            who,
            &format!("/api/report/{unit}/months?indicator=deliberation_success"),
        )
        .await
        .status()
        .as_u16(),
        app.get_as(who, &format!("/api/sync/pull?scope={unit}&after=0"))
            .await
            .status()
            .as_u16(),
        app.get_as(who, &format!("/api/sync/checksum?scope={unit}"))
            .await
            .status()
            .as_u16(),
    ]
}

async fn matrix(app: TestApp) {
    // Reads: report, pull and checksum of each unit, as each role.
    let reads: &[(&str, &str, bool)] = &[
        (ADMIN, COUNTY, true),
        (ADMIN, TOWN, true),
        (ADMIN, OTHER_TOWN, true),
        (ADMIN, VILLAGE, true),
        (ADMIN, OTHER_TOWN_VILLAGE, true),
        (ADMIN, "610302", false), // another county of Baoji
        (SUPERVISOR, COUNTY, false),
        (SUPERVISOR, TOWN, true),
        (SUPERVISOR, VILLAGE, true),
        (SUPERVISOR, SAME_TOWN_VILLAGE, true),
        (SUPERVISOR, OTHER_TOWN, false),
        (SUPERVISOR, OTHER_TOWN_VILLAGE, false),
        (WORKER, COUNTY, false),
        (WORKER, TOWN, false),
        (WORKER, VILLAGE, true),
        (WORKER, SAME_TOWN_VILLAGE, false),
        (WORKER, OTHER_TOWN_VILLAGE, false),
    ];
    for (who, unit, allowed) in reads {
        let got = read_statuses(&app, who, unit).await;
        let want = if *allowed { [200; 5] } else { [403; 5] };
        // A unit Shequ does not keep is a 404 for a report, but still refused first when out of scope.
        assert_eq!(got, want, "{who} reading {unit}");
    }

    // Writes: a village record and a town record, in each unit, as each role.
    let writes: &[(&str, Revision, bool)] = &[
        (WORKER, case(VILLAGE, "本村议事", true), true),
        (WORKER, case(SAME_TOWN_VILLAGE, "邻村议事", true), false),
        (WORKER, case(OTHER_TOWN_VILLAGE, "外镇议事", true), false),
        (WORKER, audit(TOWN), false),
        (SUPERVISOR, audit(TOWN), true),
        (SUPERVISOR, audit(OTHER_TOWN), false),
        (SUPERVISOR, case(VILLAGE, "督导代填", true), false),
        (ADMIN, case(VILLAGE, "县里代填", true), false),
        (ADMIN, audit(TOWN), false),
    ];
    for (who, change, allowed) in writes {
        let got = push_status(&app, who, change.clone()).await;
        assert_eq!(
            got,
            if *allowed { 200 } else { 403 },
            "{who} writing {} in {}",
            change.form,
            change.unit
        );
    }

    // What a worker pulls is only their village's, even when a neighbour has records.
    assert_eq!(
        push_status(
            &app,
            "village-610324001201",
            case(SAME_TOWN_VILLAGE, "西官的议事", true)
        )
        .await,
        200
    );
    let mine: serde_json::Value = app
        .get_as(WORKER, &format!("/api/sync/pull?scope={VILLAGE}&after=0"))
        .await
        .json()
        .await
        .unwrap();
    assert!(mine["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["revision"]["unit"] == VILLAGE));
    let areas: Vec<serde_json::Value> =
        app.get_as(WORKER, "/api/areas").await.json().await.unwrap();
    let codes: Vec<&str> = areas.iter().map(|a| a["code"].as_str().unwrap()).collect();
    assert!(
        codes.contains(&VILLAGE) && codes.contains(&TOWN) && codes.contains(&COUNTY),
        "{codes:?}"
    );
    assert!(
        !codes.contains(&SAME_TOWN_VILLAGE) && !codes.contains(&OTHER_TOWN),
        "{codes:?}"
    );

    // Administration: only the county administrator.
    for who in [SUPERVISOR, WORKER] {
        for path in [
            "/api/admin/accounts",
            "/api/admin/sessions",
            "/api/admin/audit",
        ] {
            assert_eq!(
                app.get_as(who, path).await.status(),
                403,
                "{who} GET {path}"
            );
        }
        let r = app.post_as(who, "/api/admin/accounts").await.json(&json!({"username": "newbie", "name": "新人", "role": "village_worker", "unit": VILLAGE, "password": "letters123"})).send().await.unwrap();
        assert_eq!(r.status(), 403, "{who} creating an account");
        let r = app
            .post_as(who, "/api/admin/sessions/anything/revoke")
            .await
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{who} revoking a device");
    }
    for path in [
        "/api/admin/accounts",
        "/api/admin/sessions",
        "/api/admin/audit",
    ] {
        assert_eq!(
            app.get_as(ADMIN, path).await.status(),
            200,
            "admin GET {path}"
        );
    }
    let r = app.post_as(ADMIN, "/api/admin/accounts").await.json(&json!({"username": "xg-worker", "name": "西官新人", "role": "village_worker", "unit": SAME_TOWN_VILLAGE, "password": "letters123"})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.post_as(ADMIN, "/api/admin/accounts").await.json(&json!({"username": "elsewhere", "name": "外县", "role": "village_worker", "unit": "610302001001", "password": "letters123"})).send().await.unwrap();
    assert_eq!(r.status(), 403, "an account outside the county");

    // The audit trail names the account and the device of every revision.
    let trail: Vec<serde_json::Value> = app
        .get_as(ADMIN, "/api/admin/audit")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        trail.iter().any(|e| e["account"] == WORKER
            && e["device"] == format!("test-{WORKER}")
            && e["unit"] == VILLAGE),
        "the session's device, not what the revision claims"
    );
    assert!(trail
        .iter()
        .any(|e| e["account"] == SUPERVISOR && e["form"] == "fund_audit"));

    // Without a session, every protected endpoint answers 401.
    for path in [
        "/api/areas",
        "/api/report/610324",
        "/api/sync/pull?scope=610324001001",
        "/api/sync/checksum?scope=610324001001",
        "/api/admin/accounts",
        "/api/auth/me",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "unauthenticated");
    }
    let r = app
        .client
        .post(app.url("/api/sync/push"))
        .json(&json!({"device": "x", "changes": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let _ = Uuid::nil();
}

async fn lost_phone(app: TestApp) {
    // A worker logs in on a phone; the administrator revokes that phone.
    let token = app.token(WORKER).await;
    let sessions: Vec<serde_json::Value> = app
        .get_as(ADMIN, "/api/admin/sessions")
        .await
        .json()
        .await
        .unwrap();
    let id = sessions.iter().find(|s| s["username"] == WORKER).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post_as(ADMIN, &format!("/api/admin/sessions/{id}/revoke"))
        .await
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for r in [
        app.client
            .get(app.url(&format!("/api/sync/pull?scope={VILLAGE}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        app.client
            .post(app.url("/api/sync/push"))
            .bearer_auth(&token)
            .json(&json!({"device": "x", "changes": [case(VILLAGE, "丢失的手机", true)]}))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(r.status(), 401);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "revoked", "the phone is told");
    }
    // Logging in again on another phone works.
    let fresh = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": WORKER, "password": common::PASSWORD, "device": "new-phone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);
}

async fn login_from(
    client: &reqwest::Client,
    app: &TestApp,
    username: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": username, "password": password, "device": "d"}))
        .send()
        .await
        .unwrap()
}

async fn logins_are_limited_per_account_and_address(app: TestApp) {
    for i in 0..5 {
        let r = login_from(&app.client, &app, WORKER, &format!("wrong{i}")).await;
        assert_eq!(r.status(), 422);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "用户名或密码不对");
    }
    let r = login_from(&app.client, &app, WORKER, common::PASSWORD).await;
    assert_eq!(
        r.status(),
        429,
        "even the right password waits after five failures from here"
    );
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    // The owner, from another address, is not locked out by whoever guessed.
    let r = login_from(
        &app.client_from([127, 0, 0, 2]),
        &app,
        WORKER,
        common::PASSWORD,
    )
    .await;
    assert_eq!(r.status(), 200, "the owner elsewhere logs in");
    // An unknown account answers like a wrong password.
    let r = login_from(&app.client, &app, "nobody", "x").await;
    assert_eq!(r.status(), 422);
}

async fn concurrent_guesses_cannot_pass_the_limit(app: TestApp) {
    let guesses = (0..50).map(|i| {
        let app = &app;
        async move {
            login_from(&app.client, app, SUPERVISOR, &format!("guess-{i}"))
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 422).count();
    assert!(
        checked <= 5,
        "{checked} of 50 concurrent guesses reached the password check"
    );
    assert!(
        statuses.iter().all(|s| *s == 422 || *s == 429),
        "{statuses:?}"
    );
}

async fn one_address_cannot_guess_across_accounts_for_ever(app: TestApp) {
    // Sixty guesses at once from one address, each at another account.
    let attacker = app.client_from([127, 0, 0, 3]);
    let guesses = (0..60).map(|i| {
        let (app, attacker) = (&app, &attacker);
        async move {
            login_from(
                attacker,
                app,
                &format!("village-61032400{i:04}"),
                "wrong-password",
            )
            .await
            .status()
            .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    // 503: past the limit but refused by the hashing pool; it still counts as a guess.
    let past_the_limit = statuses.iter().filter(|s| **s == 422 || **s == 503).count();
    assert_eq!(
        past_the_limit, 30,
        "thirty free guesses per address, then a delay: {statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 30);
}

async fn the_old_password_check_is_limited_like_a_login(app: TestApp) {
    let token = app.token(SUPERVISOR).await;
    let change = |old: &str| {
        app.client
            .post(app.url("/api/auth/password"))
            .bearer_auth(&token)
            .json(&json!({"old": old, "new": "NewSecret-123"}))
            .send()
    };
    for i in 0..5 {
        assert_eq!(change(&format!("wrong{i}")).await.unwrap().status(), 422);
    }
    let r = change(common::PASSWORD).await.unwrap();
    assert_eq!(r.status(), 429, "the sixth guess of the old password waits");
}

async fn a_new_password_ends_every_other_session(app: TestApp) {
    let login = |device: &str| {
        app.client
            .post(app.url("/api/auth/login"))
            .json(&json!({"username": WORKER, "password": common::PASSWORD, "device": device}))
            .send()
    };
    let r = login("phone").await.unwrap();
    assert_eq!(
        r.headers()["cache-control"],
        "no-store",
        "a token is never cached"
    );
    let phone: serde_json::Value = r.json().await.unwrap();
    let thief: serde_json::Value = login("stolen").await.unwrap().json().await.unwrap();
    let (phone, thief) = (
        phone["token"].as_str().unwrap(),
        thief["token"].as_str().unwrap(),
    );
    let r = app
        .client
        .post(app.url("/api/auth/password"))
        .bearer_auth(phone)
        .json(&json!({"old": common::PASSWORD, "new": "NewSecret-123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let pull = |t: &str| {
        app.client
            .get(app.url(&format!("/api/sync/pull?scope={VILLAGE}")))
            .bearer_auth(t.to_owned())
            .send()
    };
    let r = pull(thief).await.unwrap();
    assert_eq!(r.status(), 401, "the other session is over");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "revoked");
    assert_eq!(
        pull(phone).await.unwrap().status(),
        200,
        "the session that changed it goes on"
    );
}

async fn an_account_with_a_one_time_password_can_only_change_it(app: TestApp) {
    let r = app
        .post_as(ADMIN, "/api/admin/accounts")
        .await
        .json(&json!({"username": "new-worker", "name": "新人", "role": "village_worker", "unit": VILLAGE, "password": "OneTime-123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s: serde_json::Value = login_from(&app.client, &app, "new-worker", "OneTime-123")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["must_change_password"], true);
    let token = s["token"].as_str().unwrap().to_string();
    let get = |path: String| app.client.get(app.url(&path)).bearer_auth(&token).send();
    for path in [
        format!("/api/sync/pull?scope={VILLAGE}"),
        format!("/api/report/{VILLAGE}"),
        format!("/api/sync/checksum?scope={VILLAGE}"),
    ] {
        let r = get(path.clone()).await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            body["code"], "must_change_password",
            "{path}: the app can act on it"
        );
        assert!(
            body["error"].as_str().unwrap().contains("修改初始密码"),
            "{body}"
        );
    }
    let r = app
        .client
        .post(app.url("/api/sync/push"))
        .bearer_auth(&token)
        .json(&json!({"device": "d", "changes": [case(VILLAGE, "未改密码", true)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        get("/api/auth/me".into()).await.unwrap().status(),
        200,
        "who am I still answers"
    );
    let r = app
        .client
        .post(app.url("/api/auth/password"))
        .bearer_auth(&token)
        .json(&json!({"old": "OneTime-123", "new": "MyOwn-4567"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        get(format!("/api/sync/pull?scope={VILLAGE}"))
            .await
            .unwrap()
            .status(),
        200,
        "after the change, everything"
    );
}

async fn sessions_log_out_and_renew(app: TestApp) {
    let token = app.token(SUPERVISOR).await;
    let me = app
        .client
        .get(app.url("/api/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // A fresh session is not yet due for renewal.
    let r = app
        .client
        .post(app.url("/api/auth/renew"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = app
        .client
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me = app
        .client
        .get(app.url("/api/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
}

async fn security_headers_are_on_every_answer(app: TestApp) {
    for path in ["/healthz", "/api/plan", "/"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
}

common::conformance!(
    matrix,
    lost_phone,
    logins_are_limited_per_account_and_address,
    concurrent_guesses_cannot_pass_the_limit,
    one_address_cannot_guess_across_accounts_for_ever,
    the_old_password_check_is_limited_like_a_login,
    a_new_password_ends_every_other_session,
    an_account_with_a_one_time_password_can_only_change_it,
    sessions_log_out_and_renew,
    security_headers_are_on_every_answer
);

#[allow(dead_code)]
fn unused(_: Engine) -> Option<()> {
    let _ = spawn_on;
    None
}
