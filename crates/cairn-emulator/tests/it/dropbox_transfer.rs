//! `files/download` (Range, ETag, GET) and `files/upload` (write modes, identical content,
//! content_hash checks, the research note's content_hash vectors, non-ASCII paths).

use serde_json::{Value, json};

use crate::dropbox_support::{As, Emu, dropbox_hash, emulator, small};

fn result_header(reply: &crate::dropbox_support::Reply) -> Value {
    let raw = reply.headers["dropbox-api-result"]
        .to_str()
        .expect("ASCII header");
    serde_json::from_str(raw).unwrap()
}

async fn some_file(emu: &Emu, who: &As, min: u64) -> Value {
    let (entries, _) = emu
        .list_all(who, json!({"path": "", "recursive": true}))
        .await;
    entries
        .into_iter()
        .filter(|e| e[".tag"] == "file" && e["size"].as_u64().unwrap() >= min)
        .min_by_key(|e| e["size"].as_u64().unwrap())
        .expect("a file large enough")
}

#[tokio::test]
async fn downloads_carry_metadata_and_bytes_matching_content_hash() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let file = some_file(&emu, &who, 5000).await;
    let reply = emu
        .download(&who, &json!({"path": file["path_lower"]}))
        .send()
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type(), "application/octet-stream");
    let meta = result_header(&reply);
    assert!(
        meta.get(".tag").is_none(),
        "Dropbox-API-Result is an untagged FileMetadata"
    );
    assert_eq!(meta["rev"], file["rev"]);
    assert_eq!(reply.body.len() as u64, file["size"].as_u64().unwrap());
    assert_eq!(
        dropbox_hash(&reply.body),
        file["content_hash"].as_str().unwrap()
    );

    let part = emu
        .download(&who, &json!({"path": file["path_lower"]}))
        .header("Range", "bytes=100-1099")
        .send()
        .await;
    assert_eq!(part.status, 206);
    let size = file["size"].as_u64().unwrap();
    assert_eq!(
        part.headers["content-range"],
        format!("bytes 100-1099/{size}").as_str()
    );
    assert_eq!(part.body, reply.body[100..1100]);
    let tail = emu
        .download(&who, &json!({"path": file["path_lower"]}))
        .header("Range", "bytes=-10")
        .send()
        .await;
    assert_eq!(tail.body, reply.body[reply.body.len() - 10..]);
    let past = emu
        .download(&who, &json!({"path": file["path_lower"]}))
        .header("Range", format!("bytes={size}-").as_str())
        .send()
        .await;
    assert_eq!(past.status, 416);

    let etag = reply.headers["etag"].to_str().unwrap().to_owned();
    let cached = emu
        .download(&who, &json!({"path": file["path_lower"]}))
        .header("If-None-Match", &etag)
        .send()
        .await;
    assert_eq!(cached.status, 304);

    let via_get = emu
        .http
        .get(format!("{}/2/files/download", emu.dropbox.content_url()))
        .query(&[("arg", json!({"path": file["id"]}).to_string())])
        .bearer_auth(emu.token())
        .header("Dropbox-API-Select-User", emu.member().team_member_id)
        .send()
        .await
        .unwrap();
    assert_eq!(via_get.status(), 200);
    assert_eq!(via_get.bytes().await.unwrap().to_vec(), reply.body);

    let folder = emu.download(&who, &json!({"path": ""})).send().await;
    assert_eq!(folder.error_tags(), "path/not_file");
    let missing = emu
        .download(&who, &json!({"path": "/missing.bin"}))
        .send()
        .await;
    assert_eq!(missing.status, 409);
    assert_eq!(missing.content_type(), "application/json");
    assert_eq!(missing.error_tags(), "path/not_found");
}

#[tokio::test]
async fn uploads_hash_like_the_research_vectors() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let block = 4 * 1024 * 1024;
    let cases: [(usize, u8, &str); 4] = [
        (
            5,
            0,
            "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50",
        ),
        (
            block,
            b'A',
            "d4d63bac5b866c71620185392a8a6218ac1092454a2d16f820363b69852befa3",
        ),
        (
            block + 1,
            b'A',
            "8f553da8d00d0bf509d8470e242888be33019c20c0544811f5b2b89e98360b92",
        ),
        (
            0,
            0,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
    ];
    for (i, (len, byte, want)) in cases.into_iter().enumerate() {
        let body = if byte == 0 && len == 5 {
            b"hello".to_vec()
        } else {
            vec![byte; len]
        };
        let meta = emu
            .upload(
                "files/upload",
                &who,
                &json!({"path": format!("/vectors/{i}.bin")}),
                body,
            )
            .send()
            .await
            .ok();
        assert_eq!(meta["content_hash"], want, "vector {i}");
        assert_eq!(meta["size"], len);
    }
}

#[tokio::test]
async fn write_modes_conflicts_and_identical_content() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let up = |arg: Value, body: &'static [u8]| {
        emu.upload("files/upload", &who, &arg, body.to_vec()).send()
    };
    let first = up(json!({"path": "/m/doc.txt"}), b"v1").await.ok();
    assert_eq!(first["name"], "doc.txt");
    assert!(
        first.get(".tag").is_none(),
        "uploads return an untagged FileMetadata"
    );

    let same = up(json!({"path": "/m/doc.txt"}), b"v1").await.ok();
    assert_eq!(
        same["rev"], first["rev"],
        "identical content writes nothing"
    );
    let strict = up(
        json!({"path": "/m/doc.txt", "strict_conflict": true}),
        b"v1",
    )
    .await;
    assert_eq!(strict.error_tags(), "path");
    assert_eq!(strict.json()["error"]["reason"][".tag"], "conflict");

    let conflict = up(json!({"path": "/m/doc.txt"}), b"v2").await;
    assert_eq!(conflict.status, 409);
    assert_eq!(
        conflict.json()["error"]["reason"]["conflict"][".tag"],
        "file"
    );
    let renamed = up(json!({"path": "/m/doc.txt", "autorename": true}), b"v2")
        .await
        .ok();
    assert_eq!(renamed["path_display"], "/m/doc (2).txt");

    let updated = up(
        json!({"path": "/m/doc.txt", "mode": {".tag": "update", "update": first["rev"]}}),
        b"v3",
    )
    .await
    .ok();
    assert_eq!(updated["id"], first["id"]);
    let stale = up(
        json!({"path": "/m/doc.txt", "mode": {".tag": "update", "update": first["rev"]}, "autorename": true}),
        b"v4",
    )
    .await
    .ok();
    assert_eq!(stale["name"], "doc (conflicted copy).txt");
    let over = up(json!({"path": "/m/doc.txt", "mode": "overwrite", "client_modified": "2020-01-02T03:04:05Z"}), b"v5")
        .await
        .ok();
    assert_eq!(over["client_modified"], "2020-01-02T03:04:05Z");
    let onto_folder = up(json!({"path": "/m", "mode": "overwrite"}), b"x").await;
    assert_eq!(
        onto_folder.json()["error"]["reason"]["conflict"][".tag"],
        "folder"
    );

    let bad_time = up(
        json!({"path": "/m/t.txt", "client_modified": "yesterday"}),
        b"x",
    )
    .await;
    assert_eq!(bad_time.status, 400);
    let bad_mode = up(json!({"path": "/m/t.txt", "mode": "sideways"}), b"x").await;
    assert_eq!(bad_mode.status, 400);
}

#[tokio::test]
async fn content_hash_mismatches_and_wrong_content_types_are_refused() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let wrong = emu
        .upload(
            "files/upload",
            &who,
            &json!({"path": "/h.txt", "content_hash": dropbox_hash(b"something else")}),
            b"hello".to_vec(),
        )
        .send()
        .await;
    assert_eq!(wrong.status, 409);
    assert_eq!(wrong.error_tags(), "content_hash_mismatch");
    let missing = emu
        .rpc("files/get_metadata", &who, &json!({"path": "/h.txt"}))
        .send()
        .await;
    assert_eq!(
        missing.error_tags(),
        "path/not_found",
        "a refused upload changes nothing"
    );
    let right = emu
        .upload(
            "files/upload",
            &who,
            &json!({"path": "/h.txt", "content_hash": dropbox_hash(b"hello")}),
            b"hello".to_vec(),
        )
        .send()
        .await;
    assert_eq!(right.status, 200);
    let malformed = emu
        .upload(
            "files/upload",
            &who,
            &json!({"path": "/h.txt", "content_hash": "abc"}),
            b"hello".to_vec(),
        )
        .send()
        .await;
    assert_eq!(malformed.status, 400);

    let json_type = emu
        .http
        .post(format!("{}/2/files/upload", emu.dropbox.content_url()))
        .bearer_auth(emu.token())
        .header("Dropbox-API-Select-User", emu.member().team_member_id)
        .header("Content-Type", "application/json; charset=UTF-8")
        .header("Dropbox-API-Arg", r#"{"path": "/j.txt"}"#)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(json_type.status(), 400);
    assert!(
        json_type
            .text()
            .await
            .unwrap()
            .contains("application/octet-stream")
    );
}

#[tokio::test]
async fn non_ascii_paths_travel_escaped_in_headers() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let path = "/Données/日本/résumé 😀.txt";
    let meta = emu
        .upload(
            "files/upload",
            &who,
            &json!({"path": path}),
            b"unicode".to_vec(),
        )
        .send()
        .await
        .ok();
    assert_eq!(meta["path_display"], path);
    let reply = emu.download(&who, &json!({"path": path})).send().await;
    assert_eq!(reply.status, 200);
    let raw = reply.headers["dropbox-api-result"].to_str().unwrap();
    assert!(raw.is_ascii() && raw.contains("\\u00e9"));
    assert_eq!(result_header(&reply)["path_display"], path);

    let raw_utf8 = emu
        .http
        .post(format!("{}/2/files/download", emu.dropbox.content_url()))
        .bearer_auth(emu.token())
        .header("Dropbox-API-Select-User", emu.member().team_member_id)
        .header(
            "Dropbox-API-Arg",
            reqwest::header::HeaderValue::from_bytes(format!(r#"{{"path": "{path}"}}"#).as_bytes())
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw_utf8.status(), 400);
}

#[tokio::test]
async fn oversized_uploads_are_refused_without_being_stored() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    // 150 MiB + 1, streamed rather than held in memory.
    let total: u64 = 150 * 1024 * 1024 + 1;
    let chunk = bytes::Bytes::from(vec![0u8; 1 << 20]);
    let stream = futures::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        async move {
            (sent < total).then(|| {
                let n = (total - sent).min(chunk.len() as u64);
                (Ok::<_, std::io::Error>(chunk.slice(..n as usize)), sent + n)
            })
        }
    });
    let reply = emu
        .http
        .post(format!("{}/2/files/upload", emu.dropbox.content_url()))
        .bearer_auth(emu.token())
        .header("Dropbox-API-Select-User", emu.member().team_member_id)
        .header("Content-Type", "application/octet-stream")
        .header("Dropbox-API-Arg", r#"{"path": "/huge.bin"}"#)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    // The server may answer before reading the whole body; either way nothing is stored.
    if let Ok(resp) = reply {
        assert_eq!(resp.status(), 409);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"][".tag"], "payload_too_large");
    }
    let missing = emu
        .rpc("files/get_metadata", &who, &json!({"path": "/huge.bin"}))
        .send()
        .await;
    assert_eq!(missing.error_tags(), "path/not_found");
}
