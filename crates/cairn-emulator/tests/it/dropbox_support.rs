//! Shared helpers for the Dropbox emulator tests: start an emulator, call routes with the
//! right headers, pick members.

use std::time::Duration;

use cairn_emulator::dropbox::{DropboxOptions, MemberSummary, RunningDropbox, start};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// A small team: 6 members, 4 team folders (one archived), 150 files.
pub fn small() -> DropboxOptions {
    DropboxOptions {
        seed: 3,
        members: 6,
        team_folders: 4,
        files: 150,
        bytes: 12 << 20,
        dup_ratio: 0.2,
        warm_hashes: false,
        max_longpoll_wait: Some(Duration::from_millis(200)),
        ..DropboxOptions::default()
    }
}

pub struct Emu {
    pub dropbox: RunningDropbox,
    pub http: reqwest::Client,
}

pub async fn emulator(opts: DropboxOptions) -> Emu {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dropbox = start(listener, opts).await.unwrap();
    Emu {
        dropbox,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

/// Who a call acts as.
#[derive(Debug, Clone)]
pub enum As {
    Team,
    User(String),
    Admin(String),
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `.tag` chain of a route error: `path/not_found`.
    pub fn error_tags(&self) -> String {
        let body = self.json();
        let mut parts = Vec::new();
        let mut at = &body["error"];
        while let Some(tag) = at.get(".tag").and_then(Value::as_str) {
            parts.push(tag.to_owned());
            match at.get(tag) {
                Some(inner) if inner.get(".tag").is_some() => at = inner,
                _ => break,
            }
        }
        parts.join("/")
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text());
        self.json()
    }
}

/// Escapes non-ASCII as `\uXXXX`, as the SDKs do for `Dropbox-API-Arg`.
pub fn header_json(v: &Value) -> String {
    let mut out = String::new();
    for c in v.to_string().chars() {
        if (c as u32) < 0x7F {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// Builds one API call.
pub struct Call<'a> {
    emu: &'a Emu,
    req: reqwest::RequestBuilder,
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.req = self.req.header(name, value);
        self
    }

    pub fn root(self, ns: &str) -> Self {
        let v = json!({".tag": "namespace_id", "namespace_id": ns}).to_string();
        self.header("Dropbox-API-Path-Root", &v)
    }

    pub async fn send(self) -> Reply {
        let _ = self.emu;
        let resp = self.req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap().to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }
}

impl Emu {
    pub fn token(&self) -> String {
        self.dropbox.credentials().team_token.clone()
    }

    pub fn admin(&self) -> String {
        self.dropbox.credentials().admin_team_member_id.clone()
    }

    pub fn members(&self) -> Vec<MemberSummary> {
        self.dropbox.control().members()
    }

    /// An active member who is not an admin.
    pub fn member(&self) -> MemberSummary {
        self.members()
            .into_iter()
            .find(|m| !m.admin && m.status == cairn_emulator::dropbox::model::MemberStatus::Active)
            .expect("an active non-admin member")
    }

    fn who(&self, req: reqwest::RequestBuilder, who: &As) -> reqwest::RequestBuilder {
        match who {
            As::Team => req,
            As::User(id) => req.header("Dropbox-API-Select-User", id),
            As::Admin(id) => req.header("Dropbox-API-Select-Admin", id),
        }
    }

    /// An RPC call on the api host with the team token.
    pub fn rpc(&self, route: &str, who: &As, arg: &Value) -> Call<'_> {
        let req = self
            .http
            .post(format!("{}/2/{route}", self.dropbox.api_url()))
            .bearer_auth(self.token())
            .header("Content-Type", "application/json")
            .body(arg.to_string());
        Call {
            emu: self,
            req: self.who(req, who),
        }
    }

    /// A download-style call on the content host.
    pub fn download(&self, who: &As, arg: &Value) -> Call<'_> {
        let req = self
            .http
            .post(format!("{}/2/files/download", self.dropbox.content_url()))
            .bearer_auth(self.token())
            .header("Dropbox-API-Arg", header_json(arg));
        Call {
            emu: self,
            req: self.who(req, who),
        }
    }

    /// An upload-style call on the content host.
    pub fn upload(&self, route: &str, who: &As, arg: &Value, body: Vec<u8>) -> Call<'_> {
        let req = self
            .http
            .post(format!("{}/2/{route}", self.dropbox.content_url()))
            .bearer_auth(self.token())
            .header("Content-Type", "application/octet-stream")
            .header("Dropbox-API-Arg", header_json(arg))
            .body(body);
        Call {
            emu: self,
            req: self.who(req, who),
        }
    }

    /// Lists a folder to the end (all pages); returns entries and the final cursor.
    pub async fn list_all(&self, who: &As, arg: Value) -> (Vec<Value>, String) {
        let mut page = self.rpc("files/list_folder", who, &arg).send().await.ok();
        let mut entries = Vec::new();
        loop {
            entries.extend(page["entries"].as_array().unwrap().iter().cloned());
            let cursor = page["cursor"].as_str().unwrap().to_owned();
            if page["has_more"] != true {
                return (entries, cursor);
            }
            page = self
                .rpc(
                    "files/list_folder/continue",
                    who,
                    &json!({ "cursor": cursor }),
                )
                .send()
                .await
                .ok();
        }
    }

    /// Follows a cursor to the end; returns the entries and the final cursor.
    pub async fn continue_all(&self, who: &As, cursor: &str) -> (Vec<Value>, String) {
        let mut cursor = cursor.to_owned();
        let mut entries = Vec::new();
        loop {
            let page = self
                .rpc(
                    "files/list_folder/continue",
                    who,
                    &json!({ "cursor": cursor }),
                )
                .send()
                .await
                .ok();
            entries.extend(page["entries"].as_array().unwrap().iter().cloned());
            cursor = page["cursor"].as_str().unwrap().to_owned();
            if page["has_more"] != true {
                return (entries, cursor);
            }
        }
    }

    /// The control API URL of `path`.
    pub fn control_url(&self, path: &str) -> String {
        format!("{}/__emulator/{path}", self.dropbox.api_url())
    }
}

/// `content_hash` computed independently of the emulator's implementation.
pub fn dropbox_hash(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut outer = Sha256::new();
    for block in data.chunks(4 << 20) {
        outer.update(Sha256::digest(block));
    }
    hex::encode(outer.finalize())
}
