//! The portal flows tests repeat: sign up, activate from the outbox, sign in, sign out,
//! each done the way a browser does it (load the form, take its CSRF token, post).

use reqwest::{Client, Response, StatusCode};

use cairn_web::auth::NewUserInput;

use crate::TestApp;

/// The fields of the sign-up form.
#[derive(Debug, Clone)]
pub struct SignUp {
    /// Full name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Password (also used as the confirmation).
    pub password: String,
    /// Region code.
    pub region: String,
}

impl SignUp {
    /// A valid sign-up for `email`.
    #[must_use]
    pub fn new(email: &str) -> Self {
        Self {
            name: "Ada Lovelace".to_owned(),
            email: email.to_owned(),
            password: "Analytical-Engine-1843".to_owned(),
            region: "local".to_owned(),
        }
    }
}

/// A user that can sign in.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Sign-in address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// The value of the first `csrf_token` hidden field in `html`.
///
/// # Panics
/// When the page has no such field.
#[must_use]
pub fn csrf_token_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .unwrap_or_else(|| panic!("no csrf_token field in page:\n{html}"));
    let end = html[start..].find('"').map_or(html.len(), |i| start + i);
    html[start..end].to_owned()
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `Location` of a redirect.
#[must_use]
pub fn location(response: &Response) -> String {
    header(response, "location")
}

impl TestApp {
    /// Loads `path` with `client` and returns the CSRF token of its first form.
    ///
    /// # Panics
    /// When the page cannot be loaded or has no form token.
    pub async fn csrf_token(&self, client: &Client, path: &str) -> String {
        let response = client
            .get(self.url(path))
            .send()
            .await
            .expect("loading a form");
        let body = response.text().await.expect("reading a form");
        csrf_token_in(&body)
    }

    /// Posts `fields` to `path` as a form, with the CSRF token taken from `form_page`.
    ///
    /// # Panics
    /// On transport errors.
    pub async fn post_form(
        &self,
        client: &Client,
        form_page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let token = self.csrf_token(client, form_page).await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .expect("posting a form")
    }

    /// Submits the sign-up form.
    pub async fn sign_up(&self, client: &Client, sign_up: &SignUp) -> Response {
        self.post_form(
            client,
            "/sign-up",
            "/sign-up",
            &[
                ("name", &sign_up.name),
                ("email", &sign_up.email),
                ("password", &sign_up.password),
                ("password_confirm", &sign_up.password),
                ("region", &sign_up.region),
            ],
        )
        .await
    }

    /// Finds the newest link to `path` (e.g. `/activate`) in the newest mail to `to`.
    ///
    /// # Panics
    /// When there is no such mail or link.
    pub async fn link_in_mail(&self, to: &str, path: &str) -> String {
        let mail = self.last_mail_to(to).await;
        let prefix = self.url(path);
        mail.text
            .split_whitespace()
            .find(|word| word.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {path} link in mail to {to}:\n{}", mail.text))
            .to_owned()
    }

    /// Follows the activation link in the newest mail to `email`.
    pub async fn activate(&self, client: &Client, email: &str) -> Response {
        let link = self.link_in_mail(email, "/activate").await;
        client
            .get(link)
            .send()
            .await
            .expect("following the activation link")
    }

    /// Submits the sign-in form.
    pub async fn sign_in(&self, client: &Client, email: &str, password: &str) -> Response {
        self.post_form(
            client,
            "/sign-in",
            "/sign-in",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Signs out through the account menu's form.
    pub async fn sign_out(&self, client: &Client) -> Response {
        self.post_form(client, "/", "/sign-out", &[]).await
    }

    /// Signs up, activates and returns the user (the client stays signed out).
    ///
    /// # Panics
    /// When any step does not succeed.
    pub async fn sign_up_and_activate(&self, client: &Client, email: &str) -> TestUser {
        let sign_up = SignUp::new(email);
        let response = self.sign_up(client, &sign_up).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-up");
        let response = self.activate(client, email).await;
        assert_eq!(
            location(&response),
            "/sign-in?notice=activated",
            "activation"
        );
        TestUser {
            email: email.to_owned(),
            password: sign_up.password,
        }
    }

    /// Creates an active user directly (no mail), as `cairn admin create-user` does.
    ///
    /// # Panics
    /// When the user cannot be created.
    pub async fn create_user(&self, email: &str) -> TestUser {
        let password = "Difference-Engine-1822".to_owned();
        let input = NewUserInput {
            email: email.to_owned(),
            name: "Charles Babbage".to_owned(),
            account_name: Some("Babbage & Co".to_owned()),
            region: None,
            password: password.clone(),
        };
        self.app()
            .state
            .auth()
            .create_user(&input, "testkit")
            .await
            .unwrap_or_else(|e| panic!("creating {email}: {e:?}"));
        TestUser {
            email: email.to_owned(),
            password,
        }
    }

    /// A client signed in as a new active user.
    ///
    /// # Panics
    /// When sign-in fails.
    pub async fn signed_in_client(&self, email: &str) -> (Client, TestUser) {
        let user = self.create_user(email).await;
        let client = self.client();
        let response = self.sign_in(&client, &user.email, &user.password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in");
        (client, user)
    }
}
