//! OAuth 2.0: the web-server flow with PKCE through the login and consent pages, refresh
//! (with rotation), username-password, revocation, denial and host checks.

use base64::Engine;
use cairn_emulator::salesforce::{Environment, Settings};
use reqwest::Client;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::salesforce_support::{Org, V, start};

const REDIRECT: &str = "https://app.example.com/oauth/callback";

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn query_param(location: &str, name: &str) -> Option<String> {
    let q = location.split_once('?')?.1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Runs login + consent; returns the redirect Location.
async fn authorize(org: &Org, host: &str, challenge: &str, decision: &str) -> String {
    let c = org.sf.credentials();
    let http: &Client = &org.http;
    let authorize = format!("{host}/services/oauth2/authorize");
    let params = [
        ("response_type", "code"),
        ("client_id", c.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "api refresh_token"),
        ("state", "xyz"),
        ("code_challenge", challenge),
    ];
    let page = http
        .get(format!("{authorize}?{}", form(&params)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"password\"") && html.contains("Log In"));
    let mut login: Vec<(&str, &str)> = params.to_vec();
    login.extend([
        ("action", "login"),
        ("username", c.username.as_str()),
        ("password", c.password.as_str()),
    ]);
    let consent = http
        .post(&authorize)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        consent.contains("Allow") && consent.contains("Deny"),
        "{consent}"
    );
    let pending = consent
        .split("name=\"pending\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let r = http
        .post(&authorize)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("action", "consent"),
            ("pending", &pending),
            ("decision", decision),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn token(org: &Org, host: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
    let r = org
        .http
        .post(format!("{host}/services/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn web_server_flow_with_pkce_refresh_and_revoke() {
    let org = start().await;
    let login = org.sf.login_url(Environment::Production);
    let verifier = "a-very-long-random-code-verifier-0123456789-abcdefghijkl";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let location = authorize(&org, &login, &challenge, "allow").await;
    assert!(location.starts_with(REDIRECT));
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    let code = query_param(&location, "code").unwrap();
    let c = org.sf.credentials().clone();

    let (s, e) = token(
        &org,
        &login,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("redirect_uri", REDIRECT),
            (
                "code_verifier",
                "wrong-verifier-wrong-verifier-wrong-verifier",
            ),
        ],
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_request")));
    // A code is single-use: the failed exchange consumed it; run the flow again.
    let code = query_param(&authorize(&org, &login, &challenge, "allow").await, "code").unwrap();
    let (s, t) = token(
        &org,
        &login,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(s, 200, "{t}");
    for key in [
        "access_token",
        "refresh_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ] {
        assert!(t[key].is_string(), "{key} in {t}");
    }
    assert!(t.get("expires_in").is_none());
    assert_eq!(t["instance_url"], org.sf.base_url());
    let id_url = t["id"].as_str().unwrap();
    assert!(id_url.starts_with(&format!("{login}/id/00D")));
    let issued = t["issued_at"].as_str().unwrap();
    assert!(issued.len() >= 13 && issued.bytes().all(|b| b.is_ascii_digit()));
    let mut mac =
        <hmac::Hmac<Sha256> as hmac::Mac>::new_from_slice(c.client_secret.as_bytes()).unwrap();
    hmac::Mac::update(&mut mac, format!("{id_url}{issued}").as_bytes());
    let expected =
        base64::engine::general_purpose::STANDARD.encode(hmac::Mac::finalize(mac).into_bytes());
    assert_eq!(t["signature"], expected);
    let access = t["access_token"].as_str().unwrap();
    assert!(access.starts_with(&c.org_id[..15]));
    let r = org
        .http
        .get(org.url(&format!("{V}/limits")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ident: Value = org
        .http
        .get(id_url)
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ident["username"], c.username);

    let refresh = t["refresh_token"].as_str().unwrap();
    let (s, t2) = token(
        &org,
        &login,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
        ],
    )
    .await;
    assert_eq!(s, 200);
    assert!(t2.get("refresh_token").is_none(), "no rotation by default");
    let access2 = t2["access_token"].as_str().unwrap().to_owned();

    org.sf.control().apply_settings(&Settings {
        rotate_refresh_tokens: Some(true),
        ..Settings::default()
    });
    let (_, t3) = token(
        &org,
        &login,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
        ],
    )
    .await;
    let rotated = t3["refresh_token"].as_str().unwrap().to_owned();
    let (s, e) = token(
        &org,
        &login,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
        ],
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_description"].as_str()),
        (
            400,
            Some("invalid_grant"),
            Some("expired access/refresh token")
        )
    );

    let r = org
        .http
        .post(format!("{login}/services/oauth2/revoke"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("token", &rotated)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, _) = token(
        &org,
        &login,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rotated),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
        ],
    )
    .await;
    assert_eq!(s, 400);
    let r = org
        .http
        .post(format!("{login}/services/oauth2/revoke"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("token", &access2)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = org
        .http
        .get(org.url(&format!("{V}/limits")))
        .bearer_auth(&access2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    org.sf.shutdown().await;
}

#[tokio::test]
async fn denial_bad_clients_and_wrong_hosts() {
    let org = start().await;
    let login = org.sf.login_url(Environment::Production);
    let location = authorize(&org, &login, "", "deny").await;
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    let page = org.http.get(format!("{login}/services/oauth2/authorize?response_type=code&client_id=nope&redirect_uri={REDIRECT}")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("invalid_client_id"));
    let c = org.sf.credentials().clone();
    let (s, t) = token(
        &org,
        &login,
        &[
            ("grant_type", "password"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("username", &c.username),
            ("password", &format!("{}{}", c.password, c.security_token)),
        ],
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert!(t.get("refresh_token").is_none());
    let (s, e) = token(
        &org,
        &login,
        &[
            ("grant_type", "password"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("username", &c.username),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        (s, e["error"].as_str(), e["error_description"].as_str()),
        (400, Some("invalid_grant"), Some("authentication failure"))
    );
    let (s, e) = token(
        &org,
        &login,
        &[
            ("grant_type", "password"),
            ("client_id", &c.client_id),
            ("client_secret", "bad"),
            ("username", &c.username),
            ("password", &c.password),
        ],
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_client")));
    // This org is production: the sandbox login host does not know its users.
    let sandbox = org.sf.login_url(Environment::Sandbox);
    let (s, e) = token(
        &org,
        &sandbox,
        &[
            ("grant_type", "password"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("username", &c.username),
            ("password", &c.password),
        ],
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (s, e) = token(&org, &login, &[("grant_type", "magic")]).await;
    assert_eq!(s, 400);
    assert!(e["error"].is_string());
    org.sf.shutdown().await;
}
