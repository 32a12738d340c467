//! The HTML of the OAuth consent flow: sign-in, consent (Allow / Deny), the copy-this-code
//! page used when no `redirect_uri` was given, and errors. Plain, self-contained pages.

/// Escapes text for HTML element content and attribute values.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{margin:0;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;
background:#f4f5f7;color:#1e1919}
main{max-width:420px;margin:72px auto;background:#fff;border:1px solid #e1e3e8;
border-radius:8px;padding:32px 36px;box-shadow:0 1px 3px rgba(0,0,0,.06)}
h1{font-size:20px;margin:0 0 8px}
p{line-height:1.5;margin:8px 0}
.brand{font-size:13px;letter-spacing:.08em;text-transform:uppercase;color:#0061fe;
font-weight:600;margin-bottom:20px}
label{display:block;font-size:13px;font-weight:600;margin:16px 0 6px}
input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:10px 12px;
border:1px solid #c7cad1;border-radius:6px;font-size:15px}
.actions{display:flex;gap:12px;margin-top:24px}
button{flex:1;padding:10px 14px;border-radius:6px;font-size:15px;cursor:pointer;
border:1px solid #c7cad1;background:#fff}
button.primary{background:#0061fe;border-color:#0061fe;color:#fff}
ul{padding-left:20px;margin:8px 0}li{margin:2px 0;font-size:14px}
.error{background:#fdecea;border:1px solid #f5c2bd;color:#8a1c12;padding:10px 12px;
border-radius:6px;font-size:14px;margin:12px 0}
code{display:block;background:#f4f5f7;border:1px solid #e1e3e8;padding:12px;
border-radius:6px;font-size:15px;word-break:break-all;margin-top:12px}
.muted{color:#6a6f7a;font-size:13px}
";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>\
         <div class=\"brand\">Dropbox emulator</div>{body}</main></body></html>",
        escape(title)
    )
}

/// The sign-in page.
#[must_use]
pub fn login(app: &str, team: &str, request: &str, email: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<div class=\"error\" role=\"alert\">{}</div>", escape(e)))
        .unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "<h1>Sign in to link {app}</h1>\
             <p class=\"muted\">{app} is asking for access to the {team} team. \
             A team admin must sign in to approve it.</p>{error}\
             <form method=\"post\" action=\"/oauth2/authorize/login\">\
             <input type=\"hidden\" name=\"request\" value=\"{request}\">\
             <label for=\"email\">Email</label>\
             <input id=\"email\" type=\"email\" name=\"email\" value=\"{email}\" required autofocus>\
             <label for=\"password\">Password</label>\
             <input id=\"password\" type=\"password\" name=\"password\" required>\
             <div class=\"actions\"><button class=\"primary\" type=\"submit\">Sign in</button></div>\
             </form>",
            app = escape(app),
            team = escape(team),
            request = escape(request),
            email = escape(email),
        ),
    )
}

/// The consent page.
#[must_use]
pub fn consent(app: &str, team: &str, admin: &str, request: &str, scopes: &[String]) -> String {
    let items: String = scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    page(
        "Allow access",
        &format!(
            "<h1>Allow {app} to access the {team} team?</h1>\
             <p class=\"muted\">Signed in as {admin}.</p>\
             <p>{app} will be able to:</p><ul>{items}</ul>\
             <form method=\"post\" action=\"/oauth2/authorize/decision\">\
             <input type=\"hidden\" name=\"request\" value=\"{request}\">\
             <div class=\"actions\">\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
             <button class=\"primary\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
             </div></form>",
            app = escape(app),
            team = escape(team),
            admin = escape(admin),
            request = escape(request),
        ),
    )
}

/// The page showing an authorization code to paste into the app.
#[must_use]
pub fn show_code(app: &str, code: &str) -> String {
    page(
        "Access granted",
        &format!(
            "<h1>Access granted</h1><p>Enter this code into {} to finish linking:</p>\
             <code>{}</code>",
            escape(app),
            escape(code)
        ),
    )
}

/// The page shown when access was denied without a redirect URI.
#[must_use]
pub fn denied(app: &str) -> String {
    page(
        "Access denied",
        &format!(
            "<h1>Access denied</h1><p>{} was not given access. You can close this window.</p>",
            escape(app)
        ),
    )
}

/// An error page (bad request parameters, expired login).
#[must_use]
pub fn error(message: &str) -> String {
    page(
        "Something went wrong",
        &format!(
            "<h1>Something went wrong</h1><div class=\"error\" role=\"alert\">{}</div>",
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_everywhere() {
        let html = login("<App>", "A&B", "\"x\"", "e'm", Some("<bad>"));
        assert!(html.contains("&lt;App&gt;") && html.contains("A&amp;B"));
        assert!(html.contains("&quot;x&quot;") && html.contains("e&#39;m"));
        assert!(!html.contains("<bad>"));
        assert!(
            consent("a", "t", "x", "r", &["files.content.read".into()]).contains("value=\"allow\"")
        );
    }
}
