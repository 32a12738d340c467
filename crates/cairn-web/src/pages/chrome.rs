//! What every signed-in page shows around its content: navigation, account name, user
//! menu, CSRF token for the menu's sign-out form.

use crate::extract::PortalSession;
use crate::state::AppState;

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Home,
    Activity,
    /// Pages reached from the account menu: no navigation entry is current.
    Account,
}

pub(crate) struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub icon: &'static str,
    pub active: bool,
}

/// The layout data for `app_base.html`.
pub(crate) struct Chrome {
    pub user_name: String,
    pub user_email: String,
    pub account_name: String,
    pub initials: String,
    pub csrf_token: String,
    pub nav: Vec<NavItem>,
    pub demo: bool,
    pub version: &'static str,
}

/// Navigation entries, in the product's order. Only pages that exist are listed: Jobs,
/// Recovery, Settings and Support join as they are built.
const NAV: [(&str, &str, &str, Section); 2] = [
    (
        "Homepage",
        "/",
        "M3 11.5 12 4l9 7.5M5.5 10v10h5v-6h3v6h5V10",
        Section::Home,
    ),
    (
        "Activity",
        "/activity",
        "M3 12h4l3-8 4 16 3-8h4",
        Section::Activity,
    ),
];

impl Chrome {
    pub(crate) fn new(state: &AppState, portal: &PortalSession, section: Section) -> Self {
        let user = &portal.session.user;
        Self {
            user_name: user.name.clone(),
            user_email: user.email.to_string(),
            account_name: portal.account.name.clone(),
            initials: initials(&user.name),
            csrf_token: portal.csrf_token.clone(),
            nav: NAV
                .iter()
                .map(|(label, href, icon, item)| NavItem {
                    label,
                    href,
                    icon,
                    active: *item == section,
                })
                .collect(),
            demo: state.settings().demo,
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// Up to two initials for the avatar: "Ada Lovelace" → "AL".
fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().next())
        .filter(|c| c.is_alphanumeric())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if letters.is_empty() {
        "?".to_owned()
    } else {
        letters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("ada"), "A");
        assert_eq!(initials("Jean Luc Picard"), "JL");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("élodie durand"), "ÉD");
    }
}
