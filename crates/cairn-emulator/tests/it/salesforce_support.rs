//! Shared set-up for the Salesforce emulator tests: a small org on port 0 with a frozen
//! clock, and a client that speaks to it with the ready admin token.

use cairn_emulator::salesforce::{self, Profile, RunningSalesforce, SalesforceOptions};
use reqwest::{Client, Method, Response};
use serde_json::Value;
use tokio::net::TcpListener;

pub const V: &str = "/services/data/v62.0";

pub struct Org {
    pub sf: RunningSalesforce,
    pub http: Client,
    pub token: String,
}

pub fn options(seed: u64) -> SalesforceOptions {
    SalesforceOptions {
        seed,
        profile: Profile::Small,
        clock_running: false,
        threads: 2,
        ..SalesforceOptions::default()
    }
}

pub async fn start_with(opts: SalesforceOptions) -> Org {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sf = salesforce::start(listener, opts).await.unwrap();
    let token = sf.credentials().access_token.clone();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Org { sf, http, token }
}

pub async fn start() -> Org {
    start_with(options(42)).await
}

impl Org {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sf.base_url())
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.call(Method::GET, path, None).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        let r = self.call(method, path, Some(body)).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `GET …/query?q=` with the query URL-encoded.
    pub async fn query(&self, q: &str) -> (u16, Value) {
        let enc: String = url_encode(q);
        self.get(&format!("{V}/query?q={enc}")).await
    }

    pub async fn query_all(&self, q: &str) -> (u16, Value) {
        self.get(&format!("{V}/queryAll?q={}", url_encode(q))).await
    }

    /// Follows every page; returns all records.
    pub async fn query_everything(&self, q: &str, all: bool) -> Vec<Value> {
        let (status, mut page) = if all {
            self.query_all(q).await
        } else {
            self.query(q).await
        };
        assert_eq!(status, 200, "{page}");
        let mut out: Vec<Value> = page["records"].as_array().unwrap().clone();
        while let Some(next) = page["nextRecordsUrl"].as_str() {
            let (s, p) = self.get(next).await;
            assert_eq!(s, 200, "{p}");
            out.extend(p["records"].as_array().unwrap().iter().cloned());
            page = p;
        }
        out
    }
}

pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The first record id of a query.
pub async fn first_id(org: &Org, q: &str) -> String {
    let (s, body) = org.query(q).await;
    assert_eq!(s, 200, "{body}");
    body["records"][0]["Id"].as_str().unwrap().to_owned()
}
