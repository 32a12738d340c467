//! Rate limits with Retry-After, injected faults, the data-transport quota, counters.

use cairn_emulator::dropbox::{DropboxOptions, Faults, RateLimit, TransportQuota};
use serde_json::json;

use crate::dropbox_support::{As, emulator, small};

#[tokio::test]
async fn the_per_member_rate_limit_answers_429_with_retry_after() {
    let emu = emulator(DropboxOptions {
        rate_limit: Some(RateLimit {
            requests_per_second: 0.2,
            burst: 2,
        }),
        ..small()
    })
    .await;
    let a_id = emu.member().team_member_id;
    let a = As::User(a_id.clone());
    let other = emu
        .members()
        .into_iter()
        .find(|m| {
            m.status == cairn_emulator::dropbox::model::MemberStatus::Active
                && m.team_member_id != a_id
        })
        .map(|m| As::User(m.team_member_id))
        .unwrap();
    let call = |who: As| {
        let emu = &emu;
        async move {
            emu.rpc("files/list_folder", &who, &json!({"path": ""}))
                .send()
                .await
        }
    };
    assert_eq!(call(a.clone()).await.status, 200);
    assert_eq!(call(a.clone()).await.status, 200);
    let limited = call(a.clone()).await;
    assert_eq!(limited.status, 429);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_eq!(limited.content_type(), "application/json");
    let body = limited.json();
    assert_eq!(body["error"]["reason"][".tag"], "too_many_requests");
    assert_eq!(body["error"]["retry_after"], retry);
    // Another member has a bucket of their own.
    assert_eq!(call(other).await.status, 200);
    assert!(emu.dropbox.control().counters().rate_limited >= 1);

    emu.dropbox.control().set_rate_limit(None).unwrap();
    assert_eq!(call(a).await.status, 200);
}

#[tokio::test]
async fn injected_faults_hit_the_chosen_routes_only() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    let control = emu.dropbox.control();
    control
        .set_faults(Faults {
            rate_503: 1.0,
            routes: vec!["files/list_folder".into()],
            ..Faults::default()
        })
        .unwrap();
    let down = emu
        .rpc("files/list_folder", &who, &json!({"path": ""}))
        .send()
        .await;
    assert_eq!(down.status, 503);
    let other = emu
        .rpc("files/get_metadata", &who, &json!({"path": "/nope"}))
        .send()
        .await;
    assert_eq!(other.status, 409, "other routes are untouched");

    control
        .set_faults(Faults {
            rate_500: 1.0,
            ..Faults::default()
        })
        .unwrap();
    assert_eq!(
        emu.rpc("team/get_info", &As::Team, &json!(null))
            .send()
            .await
            .status,
        500
    );

    control
        .set_faults(Faults {
            rate_429: 1.0,
            retry_after: 7,
            ..Faults::default()
        })
        .unwrap();
    let limited = emu
        .rpc("team/get_info", &As::Team, &json!(null))
        .send()
        .await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "7");

    control
        .set_faults(Faults {
            rate_429_write: 1.0,
            ..Faults::default()
        })
        .unwrap();
    let write = emu
        .upload(
            "files/upload",
            &who,
            &json!({"path": "/w.txt"}),
            b"w".to_vec(),
        )
        .send()
        .await;
    assert_eq!(
        write.json()["error"]["reason"][".tag"],
        "too_many_write_operations"
    );
    assert_eq!(
        emu.rpc("team/get_info", &As::Team, &json!(null))
            .send()
            .await
            .status,
        200
    );

    assert!(
        control
            .set_faults(Faults {
                rate_503: 1.5,
                ..Faults::default()
            })
            .is_err()
    );
    control.set_faults(Faults::default()).unwrap();
    assert!(control.counters().faults_injected >= 4);

    // Over HTTP too, with a JSON error for bad input.
    let resp = emu
        .http
        .put(emu.control_url("faults"))
        .body(r#"{"rate_500": "lots"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "control.bad_json");
}

#[tokio::test]
async fn the_data_transport_quota_stops_uploads_but_not_downloads() {
    let emu = emulator(DropboxOptions {
        transport_limit: Some(2),
        ..small()
    })
    .await;
    let who = As::User(emu.member().team_member_id);
    for i in 0..2 {
        emu.upload(
            "files/upload",
            &who,
            &json!({"path": format!("/q{i}.txt")}),
            b"q".to_vec(),
        )
        .send()
        .await
        .ok();
    }
    let over = emu
        .upload(
            "files/upload",
            &who,
            &json!({"path": "/q2.txt"}),
            b"q".to_vec(),
        )
        .send()
        .await;
    assert_eq!(over.status, 403);
    let body = over.json();
    assert_eq!(body["error"][".tag"], "invalid_account_type");
    assert_eq!(body["error"]["invalid_account_type"][".tag"], "feature");
    assert!(
        body["user_message"]["text"]
            .as_str()
            .unwrap()
            .contains("data transport")
    );
    let session = emu
        .upload("files/upload_session/start", &who, &json!({}), vec![])
        .send()
        .await;
    assert_eq!(session.status, 403, "sessions count too");
    let read = emu.download(&who, &json!({"path": "/q0.txt"})).send().await;
    assert_eq!(read.status, 200);
    let restore_like = emu
        .rpc(
            "files/copy_v2",
            &who,
            &json!({"from_path": "/q0.txt", "to_path": "/q-copy.txt"}),
        )
        .send()
        .await;
    assert_eq!(restore_like.status, 200, "copies are not data transport");
    assert_eq!(emu.dropbox.control().transport_quota().used, 2);
    emu.dropbox.control().set_transport_quota(TransportQuota {
        limit: None,
        used: 0,
    });
    let again = emu
        .upload(
            "files/upload",
            &who,
            &json!({"path": "/q2.txt"}),
            b"q".to_vec(),
        )
        .send()
        .await;
    assert_eq!(again.status, 200);
}

#[tokio::test]
async fn counters_record_calls_statuses_and_bytes() {
    let emu = emulator(small()).await;
    let who = As::User(emu.member().team_member_id);
    emu.upload(
        "files/upload",
        &who,
        &json!({"path": "/c.txt"}),
        vec![5; 1234],
    )
    .send()
    .await
    .ok();
    emu.download(&who, &json!({"path": "/c.txt"})).send().await;
    emu.rpc("files/get_metadata", &who, &json!({"path": "/missing"}))
        .send()
        .await;
    let counters = emu.dropbox.control().counters();
    assert_eq!(counters.routes["files/upload"].calls, 1);
    assert_eq!(counters.routes["files/get_metadata"].statuses[&409], 1);
    assert_eq!(counters.bytes_uploaded, 1234);
    assert_eq!(counters.bytes_downloaded, 1234);
    let over_http: serde_json::Value = emu
        .http
        .get(emu.control_url("counters"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http["routes"]["files/download"]["calls"], 1);
    emu.dropbox.control().reset_counters();
    assert!(emu.dropbox.control().counters().routes.is_empty());
}
