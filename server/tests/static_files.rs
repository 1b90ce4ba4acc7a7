//! Serving the built app: MIME types, precompressed files, cache headers, and the app's routes.

mod common;

use common::spawn_with_dist;

#[tokio::test]
async fn assets_are_immutable_entry_points_revalidate_and_wasm_is_wasm() {
    let dist = tempfile::tempdir().unwrap();
    let d = dist.path();
    std::fs::create_dir_all(d.join("assets")).unwrap();
    std::fs::write(
        d.join("index.html"),
        "<!doctype html><title>社区建设工作台</title>",
    )
    .unwrap();
    std::fs::write(d.join("sw.js"), "// worker").unwrap();
    std::fs::write(d.join("assets/shequ-0123.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(d.join("assets/shequ-0123.wasm.br"), b"brotli bytes").unwrap();
    let app = spawn_with_dist(d.to_path_buf()).await;

    let wasm = app.get("/assets/shequ-0123.wasm").await;
    assert_eq!(wasm.status(), 200);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(
        wasm.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );

    let br = app
        .client
        .get(app.url("/assets/shequ-0123.wasm"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.bytes().await.unwrap().as_ref(), b"brotli bytes");

    for path in ["/", "/sw.js"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-cache", "{path}");
    }
    // A route of the app is the app's page.
    let town = app.get("/town/610324001").await;
    assert_eq!(town.status(), 200);
    assert!(town.text().await.unwrap().contains("社区建设工作台"));
    // A missing hashed asset is not cached for good.
    let missing = app.get("/assets/nope.js").await;
    assert_ne!(
        missing.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
}

#[tokio::test]
async fn the_api_is_compressed_when_asked() {
    let app = common::spawn_app().await;
    // A client that leaves the body compressed, so the test sees what went over the wire.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let r = raw
        .get(app.url("/api/plan"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn a_gzip_compressed_push_is_taken() {
    use std::io::Write;
    let app = common::spawn_app().await;
    let body = serde_json::to_vec(&serde_json::json!({"device": "d", "changes": [common::case(common::VILLAGE, "压缩提交", true)]})).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body).unwrap();
    let r = app
        .post_as(&format!("village-{}", common::VILLAGE), "/api/sync/push")
        .await
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["results"][0]["outcome"], "stored");
}
