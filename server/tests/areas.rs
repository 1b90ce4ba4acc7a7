//! The national hierarchy: importing it all or nothing however long the file, and the read-only
//! supervisors of a city and a province.

mod common;

use common::{case, TestApp, PASSWORD};
use serde_json::json;
use shequ_model::auth::{Account, Role};
use shequ_server::store::{AREA_CHUNK, KEPT_FROM_UNITS};

const PROVINCE: &str = "61";
const CITY: &str = "6103";
const COUNTY: &str = "610324";
const TOWN: &str = "610324001";
const VILLAGE: &str = "610324001001";
const OTHER_PROVINCE_COUNTY: &str = "620102";

/// The province and city above the seeded county, and a county of another province.
const ABOVE: &str = "code,name,level,parent_code\n61,陕西省,province,\n6103,宝鸡市,city,61\n62,甘肃省,province,\n6201,兰州市,city,62\n620102,城关区,county,6201\n620102001,某街道,town,620102\n";

async fn import(app: &TestApp, name: &str, text: &str) -> Result<(), String> {
    let store = shequ_server::store::open(&app.database_url).await.unwrap();
    let path = app.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    shequ_server::import_areas(store.as_ref(), &path)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn an_error_on_the_last_line_of_a_long_file_leaves_nothing_imported(app: TestApp) {
    // Enough villages for several batches, all good but the last line.
    let mut text = String::from(ABOVE);
    let towns = (3 * AREA_CHUNK).div_ceil(1000);
    for t in 2..=towns + 1 {
        text.push_str(&format!("620102{t:03},镇{t},town,620102\n"));
        for v in 0..1000 {
            text.push_str(&format!("620102{t:03}{v:03},村{v},village,620102{t:03}\n"));
        }
    }
    text.push_str("620102999001,无主村,village,620102999\n");
    let err = import(&app, "national.csv", &text).await.unwrap_err();
    assert!(err.contains("unknown parent 620102999"), "{err}");
    assert!(err.contains("nothing imported"), "{err}");
    let store = shequ_server::store::open(&app.database_url).await.unwrap();
    assert_eq!(store.areas("62").await.unwrap().len(), 0);
    assert_eq!(store.area(PROVINCE).await.unwrap(), None);

    // The same file without its bad line goes in whole.
    let good = text.rsplit_once("620102999001").unwrap().0;
    import(&app, "good.csv", good).await.unwrap();
    assert_eq!(
        store.areas(OTHER_PROVINCE_COUNTY).await.unwrap().len(),
        1 + 1 + towns * 1001
    );
}

async fn city_and_province_supervisors_read_their_subtree_and_write_nothing(app: TestApp) {
    import(&app, "above.csv", ABOVE).await.unwrap();
    let store = shequ_server::store::open(&app.database_url).await.unwrap();
    for (username, role, unit) in [
        ("city-6103", Role::CitySupervisor, CITY),
        ("province-61", Role::ProvinceSupervisor, PROVINCE),
    ] {
        let account = Account {
            username: username.into(),
            name: "督导".into(),
            role,
            unit: shequ_model::UnitCode::parse(unit).unwrap(),
        };
        assert!(
            shequ_server::auth::add_account(store.as_ref(), account, PASSWORD, false)
                .await
                .unwrap()
        );
    }
    let reads: &[(&str, &str, u16)] = &[
        ("city-6103", CITY, 200),
        ("city-6103", COUNTY, 200),
        ("city-6103", VILLAGE, 200),
        ("city-6103", PROVINCE, 403),
        ("city-6103", OTHER_PROVINCE_COUNTY, 403),
        ("province-61", PROVINCE, 200),
        ("province-61", COUNTY, 200),
        ("province-61", VILLAGE, 200),
        ("province-61", OTHER_PROVINCE_COUNTY, 403),
        ("province-61", "62", 403),
    ];
    for &(who, unit, want) in reads {
        for path in [
            format!("/api/report/{unit}"),
            format!("/api/sync/pull?scope={unit}&after=0"),
            format!("/api/sync/checksum?scope={unit}"),
        ] {
            assert_eq!(app.get_as(who, &path).await.status(), want, "{who} {path}");
        }
    }
    let audit = shequ_model::Revision {
        form: "fund_audit".into(),
        unit: shequ_model::UnitCode::parse(TOWN).unwrap(),
        content: serde_json::from_value(
            json!({"title": "2018年经费审计", "year": 2018, "date": "2018-11-01"}),
        )
        .unwrap(),
        ..case(VILLAGE, "x", false)
    };
    for who in ["city-6103", "province-61"] {
        for change in [case(VILLAGE, "上级代填", true), audit.clone()] {
            let r = app
                .post_as(who, "/api/sync/push")
                .await
                .json(&json!({"device": "d", "changes": [change]}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{who} writing {}", change.form);
        }
        assert_eq!(
            app.get_as(who, "/api/admin/accounts").await.status(),
            403,
            "{who}"
        );
    }
    // A county administrator cannot make an account above the county.
    let r = app.post_as("county", "/api/admin/accounts").await.json(&json!({"username": "city-new", "name": "市里", "role": "city_supervisor", "unit": CITY, "password": "letters123"})).send().await.unwrap();
    assert_eq!(r.status(), 403);
}

async fn children_of(app: &TestApp, unit: &str) -> Vec<String> {
    let r = app.get_as("county", &format!("/api/report/{unit}")).await;
    assert_eq!(r.status(), 200);
    let report: shequ_model::rollup::Report = r.json().await.unwrap();
    report.children.into_iter().map(|c| c.area.code).collect()
}

async fn a_report_sees_the_units_another_process_imports(app: TestApp) {
    // Enough villages that the county's tree is kept between reports.
    let mut text = String::from("code,name,level,parent_code\n610324900,新镇,town,610324\n");
    for v in 1..KEPT_FROM_UNITS {
        text.push_str(&format!("610324900{v:03},村{v},village,610324900\n"));
    }
    import(&app, "wide.csv", &text).await.unwrap();
    let store = shequ_server::store::open(&app.database_url).await.unwrap();
    assert!(store.areas(COUNTY).await.unwrap().len() >= KEPT_FROM_UNITS);
    let before = children_of(&app, COUNTY).await;
    assert!(before.iter().any(|c| c == "610324900"), "{before:?}");
    assert_eq!(children_of(&app, COUNTY).await, before);

    // `import-areas` run beside the server, as another process does.
    let more = "code,name,level,parent_code\n610324901,又一镇,town,610324\n";
    import(&app, "more.csv", more).await.unwrap();
    let after = children_of(&app, COUNTY).await;
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert!(after.iter().any(|c| c == "610324901"), "{after:?}");
}

async fn a_national_supervisor_reads_the_nation_and_writes_nothing(app: TestApp) {
    import(&app, "above.csv", ABOVE).await.unwrap();
    let store = shequ_server::store::open(&app.database_url).await.unwrap();
    for (username, role, unit) in [
        (
            "nation",
            Role::NationSupervisor,
            shequ_model::UnitCode::nation(),
        ),
        (
            "province-61",
            Role::ProvinceSupervisor,
            shequ_model::UnitCode::parse(PROVINCE).unwrap(),
        ),
    ] {
        let account = Account {
            username: username.into(),
            name: "督导".into(),
            role,
            unit,
        };
        assert!(
            shequ_server::auth::add_account(store.as_ref(), account, PASSWORD, false)
                .await
                .unwrap()
        );
    }
    let pushed = app
        .post_as("village-610324001001", "/api/sync/push")
        .await
        .json(&json!({"device": "d", "changes": [case(VILLAGE, "全国可见", true)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 200);

    let r = app.get_as("nation", "/api/report/nation").await;
    assert_eq!(r.status(), 200);
    let nation: shequ_model::rollup::Report = r.json().await.unwrap();
    assert_eq!(nation.unit.area.level, shequ_model::Level::Nation);
    assert_eq!(nation.unit.area.code, "");
    let children: Vec<&str> = nation
        .children
        .iter()
        .map(|c| c.area.code.as_str())
        .collect();
    assert_eq!(children, ["61", "62"]);
    let cases = |r: &shequ_model::rollup::UnitReport| {
        r.cells
            .iter()
            .find(|c| c.indicator == "deliberation_cases")
            .and_then(|c| c.value)
    };
    assert_eq!(cases(&nation.unit), Some(1.0));
    assert_eq!(cases(&nation.children[0]), Some(1.0));
    assert_eq!(cases(&nation.children[1]), Some(0.0));
    // The nation's province is the province's own report.
    let r = app.get_as("province-61", "/api/report/61").await;
    let province: shequ_model::rollup::Report = r.json().await.unwrap();
    assert_eq!(province.unit, nation.children[0]);

    for (who, path, want) in [
        ("nation", "/api/report/62", 200),
        ("nation", "/api/report/610324001001", 200),
        ("province-61", "/api/report/nation", 403),
        ("county", "/api/report/nation", 403),
        ("village-610324001001", "/api/report/nation", 403),
    ] {
        assert_eq!(app.get_as(who, path).await.status(), want, "{who} {path}");
    }
    // Its phone is given the provinces to name, not the country's every unit.
    let areas: Vec<shequ_model::area::Area> = app
        .get_as("nation", "/api/areas")
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = areas.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes, ["61", "62"]);
    // And it writes nothing.
    let r = app
        .post_as("nation", "/api/sync/push")
        .await
        .json(&json!({"device": "d", "changes": [case(VILLAGE, "全国代填", true)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

common::conformance!(
    a_national_supervisor_reads_the_nation_and_writes_nothing,
    a_report_sees_the_units_another_process_imports,
    an_error_on_the_last_line_of_a_long_file_leaves_nothing_imported,
    city_and_province_supervisors_read_their_subtree_and_write_nothing,
);
