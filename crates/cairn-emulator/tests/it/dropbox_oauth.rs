//! OAuth 2: the sign-in and consent pages, the code exchange (with PKCE), refresh,
//! revocation and token expiry.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cairn_emulator::dropbox::DropboxOptions;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::dropbox_support::{As, Emu, emulator, small};

fn request_id(html: &str) -> String {
    let marker = "name=\"request\" value=\"";
    let start = html.find(marker).expect("a request field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.replace("%20", " ").replace("%2F", "/"))
    })
}

/// Runs the browser part of the flow; returns the redirect `Location`.
async fn consent(emu: &Emu, query: &str, decision: &str) -> String {
    let creds = emu.dropbox.credentials();
    let page = emu
        .http
        .get(format!("{}?{query}", emu.dropbox.oauth_authorize_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in"));
    let id = request_id(&html);
    let login = emu
        .http
        .post(format!("{}/oauth2/authorize/login", emu.dropbox.api_url()))
        .form(&[
            ("request", id.as_str()),
            ("email", creds.admin_email.as_str()),
            ("password", creds.admin_password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let html = login.text().await.unwrap();
    assert!(html.contains("Allow") && html.contains("Deny"));
    let done = emu
        .http
        .post(format!(
            "{}/oauth2/authorize/decision",
            emu.dropbox.api_url()
        ))
        .form(&[("request", id.as_str()), ("decision", decision)])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    done.headers()["location"].to_str().unwrap().to_owned()
}

async fn token(emu: &Emu, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = emu
        .http
        .post(format!("{}/oauth2/token", emu.dropbox.api_url()))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert_eq!(resp.headers()["content-type"], "application/json");
    (status, resp.json().await.unwrap())
}

async fn get_info(emu: &Emu, token: &str) -> (u16, Value) {
    let resp = emu
        .http
        .post(format!("{}/2/team/get_info", emu.dropbox.api_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn pkce_code_flow_issues_refreshable_team_tokens() {
    let emu = emulator(small()).await;
    let key = emu.dropbox.credentials().app_key.clone();
    let verifier = "a-very-long-pkce-code-verifier-of-at-least-forty-three-characters";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let query = format!(
        "client_id={key}&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb\
         &state=xyz&token_access_type=offline&code_challenge={challenge}&code_challenge_method=S256"
    );
    let location = consent(&emu, &query, "allow").await;
    assert!(
        location.starts_with("http://127.0.0.1:9/cb?code="),
        "{location}"
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    let code = query_param(&location, "code").unwrap();

    let redirect = "http://127.0.0.1:9/cb";
    let (status, bad) = token(
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &key),
            (
                "code_verifier",
                "wrong-verifier-wrong-verifier-wrong-verifier-x",
            ),
            ("redirect_uri", redirect),
        ],
    )
    .await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The failed attempt consumed the code, as a one-time code must be.
    let location = consent(&emu, &query, "allow").await;
    let code = query_param(&location, "code").unwrap();
    let (status, granted) = token(
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &key),
            ("code_verifier", verifier),
            ("redirect_uri", redirect),
        ],
    )
    .await;
    assert_eq!(status, 200, "{granted}");
    assert_eq!(granted["token_type"], "bearer");
    assert_eq!(granted["expires_in"], 14_400);
    assert_eq!(granted["team_id"], emu.dropbox.credentials().team_id);
    assert!(granted["uid"].is_string());
    let access = granted["access_token"].as_str().unwrap();
    assert!(access.starts_with("sl."));
    let refresh = granted["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(get_info(&emu, access).await.0, 200);

    let (status, reused) = token(
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &key),
            ("code_verifier", verifier),
            ("redirect_uri", redirect),
        ],
    )
    .await;
    assert_eq!(
        (status, reused["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let (status, refreshed) = token(
        &emu,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &key),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        refreshed.get("refresh_token").is_none(),
        "refresh tokens are not rotated"
    );
    assert_eq!(
        get_info(&emu, refreshed["access_token"].as_str().unwrap())
            .await
            .0,
        200
    );

    let (status, narrowed) = token(
        &emu,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &key),
            ("scope", "team_info.read"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let narrow = narrowed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get_info(&emu, &narrow).await.0, 200);
    let members = emu
        .http
        .post(format!("{}/2/team/members/list_v2", emu.dropbox.api_url()))
        .bearer_auth(&narrow)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(members.status(), 401);
    let body: Value = members.json().await.unwrap();
    assert_eq!(body["error"][".tag"], "missing_scope");
    assert_eq!(body["error"]["required_scope"], "members.read");
}

#[tokio::test]
async fn secret_flow_without_redirect_shows_the_code_and_deny_redirects_an_error() {
    let emu = emulator(small()).await;
    let creds = emu.dropbox.credentials().clone();
    let page = emu
        .http
        .get(format!(
            "{}?client_id={}&response_type=code",
            emu.dropbox.oauth_authorize_url(),
            creds.app_key
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = request_id(&page);
    emu.http
        .post(format!("{}/oauth2/authorize/login", emu.dropbox.api_url()))
        .form(&[
            ("request", id.as_str()),
            ("email", &creds.admin_email),
            ("password", &creds.admin_password),
        ])
        .send()
        .await
        .unwrap();
    let shown = emu
        .http
        .post(format!(
            "{}/oauth2/authorize/decision",
            emu.dropbox.api_url()
        ))
        .form(&[("request", id.as_str()), ("decision", "allow")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code = shown
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap();
    let basic = emu
        .http
        .post(format!("{}/oauth2/token", emu.dropbox.api_url()))
        .basic_auth(&creds.app_key, Some(&creds.app_secret))
        .form(&[("grant_type", "authorization_code"), ("code", code)])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    let granted: Value = basic.json().await.unwrap();
    assert!(
        granted.get("refresh_token").is_none(),
        "online access has no refresh token"
    );
    let (status, body) = token(
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &creds.app_key),
            ("client_secret", &creds.app_secret),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = token(
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", &creds.app_key),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client"))
    );

    let query = format!(
        "client_id={}&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s1",
        creds.app_key
    );
    let location = consent(&emu, &query, "deny").await;
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("s1"));
}

#[tokio::test]
async fn the_sign_in_page_refuses_bad_requests_and_non_admins() {
    let emu = emulator(small()).await;
    let bad = emu
        .http
        .get(format!(
            "{}?client_id=nope&response_type=code",
            emu.dropbox.oauth_authorize_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("client_id"));

    let key = emu.dropbox.credentials().app_key.clone();
    let page = emu
        .http
        .get(format!(
            "{}?client_id={key}&response_type=code",
            emu.dropbox.oauth_authorize_url()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = request_id(&page);
    let login = |email: String, password: &'static str| {
        let emu = &emu;
        let id = id.clone();
        async move {
            emu.http
                .post(format!("{}/oauth2/authorize/login", emu.dropbox.api_url()))
                .form(&[
                    ("request", id.as_str()),
                    ("email", &email),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let wrong = login(emu.dropbox.credentials().admin_email.clone(), "wrong").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("incorrect"));
    let member = login(emu.member().email, "anything").await;
    assert_eq!(member.status(), 401);
    assert!(member.text().await.unwrap().contains("admin"));
}

#[tokio::test]
async fn revoke_and_expiry_answer_the_right_401s() {
    let emu = emulator(DropboxOptions {
        access_token_ttl: 3600,
        ..small()
    })
    .await;
    let key = emu.dropbox.credentials().app_key.clone();
    let secret = emu.dropbox.credentials().app_secret.clone();
    let query = format!(
        "client_id={key}&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&token_access_type=offline"
    );
    let code = query_param(&consent(&emu, &query, "allow").await, "code").unwrap();
    let (_, granted) = token(
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &key),
            ("client_secret", &secret),
            ("redirect_uri", "http://localhost/cb"),
        ],
    )
    .await;
    assert_eq!(granted["expires_in"], 3600);
    let access = granted["access_token"].as_str().unwrap().to_owned();
    let refresh = granted["refresh_token"].as_str().unwrap().to_owned();

    emu.dropbox.control().expire_tokens();
    let (status, body) = get_info(&emu, &access).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"][".tag"], "expired_access_token");
    assert_eq!(
        get_info(&emu, &emu.token()).await.0,
        200,
        "the console token never expires"
    );

    let (_, refreshed) = token(
        &emu,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &key),
            ("client_secret", &secret),
        ],
    )
    .await;
    let fresh = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get_info(&emu, &fresh).await.0, 200);

    let revoke = emu
        .http
        .post(format!("{}/2/auth/token/revoke", emu.dropbox.api_url()))
        .bearer_auth(&fresh)
        .header("Dropbox-API-Select-Admin", emu.admin())
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    let (status, body) = get_info(&emu, &fresh).await;
    assert_eq!(
        (status, body["error"][".tag"].as_str()),
        (401, Some("invalid_access_token"))
    );
    let (status, body) = token(
        &emu,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &key),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let (status, body) = token(&emu, &[("grant_type", "password"), ("client_id", &key)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let _ = emu
        .rpc("team/get_info", &As::Team, &json!(null))
        .send()
        .await
        .ok();
}
