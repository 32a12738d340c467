//! The OAuth login and consent pages: plain, professional HTML with the authorize
//! parameters carried in hidden fields.

use crate::salesforce::xml::esc;

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;background:#f3f5f8;color:#1f2933}
main{max-width:380px;margin:8vh auto;padding:0 16px}
.card{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:28px 28px 24px;box-shadow:0 1px 2px rgba(16,24,40,.05)}
h1{font-size:20px;margin:0 0 4px}
.sub{color:#5b6776;margin:0 0 20px;font-size:13px}
label{display:block;font-weight:600;font-size:13px;margin:14px 0 6px}
input[type=text],input[type=password]{width:100%;padding:10px 12px;border:1px solid #c5ccd6;border-radius:6px;font-size:15px}
input:focus{outline:2px solid #0b5cab;border-color:#0b5cab}
button{margin-top:20px;width:100%;padding:10px 14px;border-radius:6px;border:1px solid #0b5cab;background:#0b5cab;color:#fff;font-size:15px;font-weight:600;cursor:pointer}
button.secondary{background:#fff;color:#0b5cab}
.row{display:flex;gap:12px}.row button{flex:1}
.error{background:#fdecea;border:1px solid #f5c2bd;color:#8a1c12;border-radius:6px;padding:10px 12px;font-size:13px;margin-bottom:8px}
ul{padding-left:18px;margin:8px 0 0}li{margin:4px 0}
.foot{text-align:center;color:#7b8794;font-size:12px;margin-top:16px}
"#;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body><main>{body}<p class=\"foot\">Salesforce API emulator &middot; Cairn</p></main></body></html>",
        esc(title)
    )
}

fn hidden(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect()
}

/// The login form. `environment` is "Production" or "Sandbox".
pub fn login(
    org_name: &str,
    environment: &str,
    params: &[(String, String)],
    error: Option<&str>,
    username: &str,
) -> String {
    let err = error
        .map(|e| format!("<div class=\"error\" role=\"alert\">{}</div>", esc(e)))
        .unwrap_or_default();
    page(
        "Log in",
        &format!(
            "<div class=\"card\"><h1>Log in</h1><p class=\"sub\">{} &middot; {}</p>{err}<form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"login\">{}<label for=\"username\">Username</label><input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" autofocus required><label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required><button type=\"submit\">Log In</button></form></div>",
            esc(org_name),
            esc(environment),
            hidden(params),
            esc(username)
        ),
    )
}

/// The consent form for a logged-in user.
pub fn consent(app: &str, user: &str, scopes: &[String], pending: &str) -> String {
    let items: String = scopes
        .iter()
        .map(|s| format!("<li>{}</li>", esc(scope_label(s))))
        .collect();
    page(
        "Allow access?",
        &format!(
            "<div class=\"card\"><h1>Allow access?</h1><p class=\"sub\">Signed in as {}</p><p><strong>{}</strong> is asking to:</p><ul>{items}</ul><form method=\"post\"><input type=\"hidden\" name=\"action\" value=\"consent\"><input type=\"hidden\" name=\"pending\" value=\"{}\"><div class=\"row\"><button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button><button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button></div></form></div>",
            esc(user),
            esc(app),
            esc(pending)
        ),
    )
}

/// An error page for requests that cannot be redirected back (bad client, bad callback).
pub fn error(code: &str, description: &str) -> String {
    page(
        "Error",
        &format!(
            "<div class=\"card\"><h1>Remote access error</h1><div class=\"error\" role=\"alert\">error={}<br>error_description={}</div><p class=\"sub\">Check the connected app's consumer key and callback URL.</p></div>",
            esc(code),
            esc(description)
        ),
    )
}

fn scope_label(scope: &str) -> &str {
    match scope {
        "api" => "Access and manage your data (api)",
        "refresh_token" | "offline_access" => {
            "Perform requests on your behalf at any time (refresh_token, offline_access)"
        }
        "full" => "Full access (full)",
        "id" | "profile" | "email" | "openid" => {
            "Access your basic information (id, profile, email, openid)"
        }
        "web" => "Provide access to your data via the Web (web)",
        other => other,
    }
}
