//! The text of account emails. Links are absolute, built from the public URL.

use cairn_mail::OutgoingMail;

use crate::state::WebSettings;

pub(super) fn activation(
    settings: &WebSettings,
    to: &str,
    name: &str,
    token: &str,
) -> OutgoingMail {
    let link = settings.link(&format!("/activate?token={token}"));
    let hours = settings.auth.activation_link_hours;
    OutgoingMail {
        to: to.to_owned(),
        subject: "Activate your Cairn account".to_owned(),
        text: format!(
            "Hello {name},\n\n\
             Thank you for signing up for Cairn. Open this link to activate your account:\n\n\
             {link}\n\n\
             The link works once and expires in {hours} hours. If you did not sign up, \
             ignore this message: no account is activated without it.\n"
        ),
        attachments: Vec::new(),
    }
}

pub(super) fn already_registered(settings: &WebSettings, to: &str) -> OutgoingMail {
    let sign_in = settings.link("/sign-in");
    let reset = settings.link("/password/forgot");
    OutgoingMail {
        to: to.to_owned(),
        subject: "Someone tried to sign up with your email address".to_owned(),
        text: format!(
            "Hello,\n\n\
             Someone just tried to create a Cairn account with this email address, but it \
             already has an account. If it was you, sign in here:\n\n\
             {sign_in}\n\n\
             Forgot your password? Choose a new one here:\n\n\
             {reset}\n\n\
             If it was not you, you can ignore this message; nothing has changed.\n"
        ),
        attachments: Vec::new(),
    }
}

pub(super) fn password_reset(
    settings: &WebSettings,
    to: &str,
    name: &str,
    token: &str,
) -> OutgoingMail {
    let link = settings.link(&format!("/password/reset?token={token}"));
    let minutes = settings.auth.reset_link_minutes;
    OutgoingMail {
        to: to.to_owned(),
        subject: "Reset your Cairn password".to_owned(),
        text: format!(
            "Hello {name},\n\n\
             We received a request to reset the password of your Cairn account. Open this \
             link to choose a new password:\n\n\
             {link}\n\n\
             The link works once and expires in {minutes} minutes. If you did not ask for \
             this, ignore this message: your password stays the same.\n"
        ),
        attachments: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mails_carry_absolute_links_and_expiry() {
        let settings = WebSettings::new(url::Url::parse("https://backup.example.com").unwrap());
        let mail = activation(&settings, "ada@example.com", "Ada", "TOKEN");
        assert!(
            mail.text
                .contains("https://backup.example.com/activate?token=TOKEN")
        );
        assert!(mail.text.contains("24 hours"));
        let mail = password_reset(&settings, "ada@example.com", "Ada", "TOKEN");
        assert!(
            mail.text
                .contains("https://backup.example.com/password/reset?token=TOKEN")
        );
        assert!(mail.text.contains("60 minutes"));
        let mail = already_registered(&settings, "ada@example.com");
        assert!(
            mail.text
                .contains("https://backup.example.com/password/forgot")
        );
    }
}
