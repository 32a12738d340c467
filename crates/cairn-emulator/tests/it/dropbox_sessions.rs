//! Upload sessions: sequential and concurrent, offsets, hash checks, batches.

use serde_json::{Value, json};

use crate::dropbox_support::{As, Emu, dropbox_hash, emulator, small};

const MIB4: usize = 4 * 1024 * 1024;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn start(emu: &Emu, who: &As, arg: Value, body: Vec<u8>) -> String {
    emu.upload("files/upload_session/start", who, &arg, body)
        .send()
        .await
        .ok()["session_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn sequential_sessions_check_offsets_and_roll_back_bad_chunks() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let a = pattern(MIB4 + 17, 1);
    let b = pattern(1000, 2);
    let c = pattern(333, 3);
    let id = start(&emu, &who, json!({}), a.clone()).await;
    assert!(id.starts_with("pid_upload_session:"));

    let wrong = emu
        .upload(
            "files/upload_session/append_v2",
            &who,
            &json!({"cursor": {"session_id": id, "offset": 5}}),
            b.clone(),
        )
        .send()
        .await;
    assert_eq!(wrong.status, 409);
    let body = wrong.json();
    assert_eq!(body["error"][".tag"], "incorrect_offset");
    assert_eq!(body["error"]["correct_offset"], a.len());

    let bad_hash = emu
        .upload(
            "files/upload_session/append_v2",
            &who,
            &json!({"cursor": {"session_id": id, "offset": a.len()}, "content_hash": dropbox_hash(b"nope")}),
            b.clone(),
        )
        .send()
        .await;
    assert_eq!(bad_hash.error_tags(), "content_hash_mismatch");
    // The refused chunk left no trace: the same offset is still the right one.
    emu.upload(
        "files/upload_session/append_v2",
        &who,
        &json!({"cursor": {"session_id": id, "offset": a.len()}, "content_hash": dropbox_hash(&b)}),
        b.clone(),
    )
    .send()
    .await
    .ok();
    let offset = a.len() + b.len();
    let meta = emu
        .upload(
            "files/upload_session/finish",
            &who,
            &json!({"cursor": {"session_id": id, "offset": offset}, "commit": {"path": "/sessions/seq.bin"}}),
            c.clone(),
        )
        .send()
        .await
        .ok();
    let whole = [a, b, c].concat();
    assert_eq!(meta["size"], whole.len());
    assert_eq!(meta["content_hash"], dropbox_hash(&whole));
    let downloaded = emu
        .download(&who, &json!({"path": "/sessions/seq.bin"}))
        .send()
        .await;
    assert_eq!(downloaded.body, whole);

    let finished_again = emu
        .upload(
            "files/upload_session/append_v2",
            &who,
            &json!({"cursor": {"session_id": id, "offset": whole.len()}}),
            vec![1],
        )
        .send()
        .await;
    assert_eq!(finished_again.error_tags(), "not_found");

    let closed = start(&emu, &who, json!({"close": true}), vec![1, 2, 3]).await;
    let after_close = emu
        .upload(
            "files/upload_session/append_v2",
            &who,
            &json!({"cursor": {"session_id": closed, "offset": 3}}),
            vec![4],
        )
        .send()
        .await;
    assert_eq!(after_close.error_tags(), "closed");
}

#[tokio::test]
async fn concurrent_sessions_accept_aligned_chunks_in_any_order() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let data = pattern(2 * MIB4 + 12345, 9);
    let id = start(
        &emu,
        &who,
        json!({"session_type": {".tag": "concurrent"}}),
        vec![],
    )
    .await;
    let append = |offset: usize, end: usize, close: bool| {
        emu.upload(
            "files/upload_session/append_v2",
            &who,
            &json!({"cursor": {"session_id": id, "offset": offset}, "close": close}),
            data[offset..end].to_vec(),
        )
        .send()
    };
    append(2 * MIB4, data.len(), true).await.ok();
    let early = emu
        .upload(
            "files/upload_session/finish",
            &who,
            &json!({"cursor": {"session_id": id, "offset": data.len()}, "commit": {"path": "/c.bin"}}),
            vec![],
        )
        .send()
        .await;
    assert_eq!(early.error_tags(), "concurrent_session_missing_data");

    let id = start(&emu, &who, json!({"session_type": "concurrent"}), vec![]).await;
    let append = |offset: usize, end: usize, close: bool| {
        emu.upload(
            "files/upload_session/append_v2",
            &who,
            &json!({"cursor": {"session_id": id, "offset": offset}, "close": close}),
            data[offset..end].to_vec(),
        )
        .send()
    };
    append(2 * MIB4, data.len(), true).await.ok();
    append(MIB4, 2 * MIB4, false).await.ok();
    let unaligned = append(100, MIB4, false).await;
    assert_eq!(unaligned.error_tags(), "concurrent_session_invalid_offset");
    let odd_size = append(0, 1000, false).await;
    assert_eq!(
        odd_size.error_tags(),
        "concurrent_session_invalid_data_size"
    );
    append(0, MIB4, false).await.ok();
    let meta = emu
        .upload(
            "files/upload_session/finish",
            &who,
            &json!({"cursor": {"session_id": id, "offset": data.len()}, "commit": {"path": "/c.bin"}}),
            vec![],
        )
        .send()
        .await
        .ok();
    assert_eq!(meta["content_hash"], dropbox_hash(&data));
    assert_eq!(meta["size"], data.len());

    let with_data = emu
        .upload(
            "files/upload_session/start",
            &who,
            &json!({"session_type": "concurrent"}),
            vec![1],
        )
        .send()
        .await;
    assert_eq!(
        with_data.error_tags(),
        "concurrent_session_data_not_allowed"
    );
    let with_close = emu
        .upload(
            "files/upload_session/start",
            &who,
            &json!({"session_type": "concurrent", "close": true}),
            vec![],
        )
        .send()
        .await;
    assert_eq!(
        with_close.error_tags(),
        "concurrent_session_close_not_allowed"
    );
}

#[tokio::test]
async fn batches_finish_closed_sessions_and_report_failures_per_entry() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let ids = emu
        .rpc(
            "files/upload_session/start_batch",
            &who,
            &json!({"num_sessions": 3}),
        )
        .send()
        .await
        .ok();
    let ids: Vec<String> = ids["session_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    for (i, id) in ids.iter().enumerate() {
        emu.upload(
            "files/upload_session/append_v2",
            &who,
            &json!({"cursor": {"session_id": id, "offset": 0}, "close": i != 2}),
            format!("batch {i}").into_bytes(),
        )
        .send()
        .await
        .ok();
    }
    let entries: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"cursor": {"session_id": id, "offset": 7}, "commit": {"path": format!("/batch/{i}.txt")}}))
        .collect();
    let result = emu
        .rpc(
            "files/upload_session/finish_batch_v2",
            &who,
            &json!({"entries": entries}),
        )
        .send()
        .await
        .ok();
    let results = result["entries"].as_array().unwrap();
    assert_eq!(results[0][".tag"], "success");
    assert_eq!(results[0]["path_display"], "/batch/0.txt");
    assert_eq!(results[1]["content_hash"], dropbox_hash(b"batch 1"));
    assert_eq!(results[2][".tag"], "failure");
    assert_eq!(results[2]["failure"][".tag"], "lookup_failed");
    assert_eq!(results[2]["failure"]["lookup_failed"][".tag"], "not_closed");

    let id = start(&emu, &who, json!({"close": true}), b"async".to_vec()).await;
    let launched = emu
        .rpc(
            "files/upload_session/finish_batch",
            &who,
            &json!({"entries": [{"cursor": {"session_id": id, "offset": 5}, "commit": {"path": "/batch/async.txt"}}]}),
        )
        .send()
        .await
        .ok();
    assert_eq!(launched[".tag"], "async_job_id");
    let status = emu
        .rpc(
            "files/upload_session/finish_batch/check",
            &who,
            &json!({"async_job_id": launched["async_job_id"]}),
        )
        .send()
        .await
        .ok();
    assert_eq!(status[".tag"], "complete");
    assert_eq!(status["entries"][0][".tag"], "success");
    let unknown = emu
        .rpc(
            "files/upload_session/finish_batch/check",
            &who,
            &json!({"async_job_id": "dbjid:nope"}),
        )
        .send()
        .await;
    assert_eq!(unknown.error_tags(), "invalid_async_job_id");
    let too_many = emu
        .rpc(
            "files/upload_session/start_batch",
            &who,
            &json!({"num_sessions": 1001}),
        )
        .send()
        .await;
    assert_eq!(too_many.status, 400);
}

#[tokio::test]
async fn the_v1_append_takes_the_cursor_as_its_argument() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let id = start(&emu, &who, json!({}), b"one,".to_vec()).await;
    emu.upload(
        "files/upload_session/append",
        &who,
        &json!({"session_id": id, "offset": 4}),
        b"two,".to_vec(),
    )
    .send()
    .await
    .ok();
    let stale = emu
        .upload(
            "files/upload_session/append",
            &who,
            &json!({"session_id": id, "offset": 4}),
            b"again".to_vec(),
        )
        .send()
        .await;
    assert_eq!(stale.json()["error"]["correct_offset"], 8);
    let meta = emu
        .upload(
            "files/upload_session/finish",
            &who,
            &json!({"cursor": {"session_id": id, "offset": 8}, "commit": {"path": "/v1.txt"}}),
            b"three".to_vec(),
        )
        .send()
        .await
        .ok();
    assert_eq!(meta["content_hash"], dropbox_hash(b"one,two,three"));
}
