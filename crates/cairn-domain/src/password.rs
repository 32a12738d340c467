//! Password rules.
//!
//! [`PasswordPolicy::check`] returns every rule a candidate password breaks, each with a
//! message written for the person choosing it, so a form can list them all at once instead
//! of making people guess one rule at a time. Hashing is not here (it is CPU work that
//! belongs behind a blocking pool); this is only the policy.

use std::fmt;

/// Hard upper bound on password length: long enough for any passphrase or password
/// manager, short enough that hashing cannot be used to burn CPU.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// The rules a new password must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters.
    pub min_length: usize,
    /// How many of the four character classes (lowercase, uppercase, digits, symbols)
    /// must appear. 0 or 1 disables the rule.
    pub character_classes: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 10,
            character_classes: 3,
        }
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Shorter than the policy's minimum.
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// Longer than [`MAX_PASSWORD_CHARS`].
    TooLong,
    /// Uses too few character classes.
    TooFewClasses {
        /// How many are required.
        required: usize,
    },
    /// Contains the user's email address or its local part.
    ContainsEmail,
}

impl fmt::Display for PasswordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { min } => write!(f, "Use at least {min} characters."),
            Self::TooLong => write!(f, "Use at most {MAX_PASSWORD_CHARS} characters."),
            Self::TooFewClasses { required } => write!(
                f,
                "Mix at least {required} of these: lowercase letters, uppercase letters, digits, symbols."
            ),
            Self::ContainsEmail => write!(f, "Do not include your email address."),
        }
    }
}

impl PasswordPolicy {
    /// Every rule `password` breaks; empty when it is acceptable. `email` is the address
    /// of the person choosing it, if known.
    #[must_use]
    pub fn check(&self, password: &str, email: Option<&str>) -> Vec<PasswordProblem> {
        let mut problems = Vec::new();
        let length = password.chars().count();
        if length < self.min_length {
            problems.push(PasswordProblem::TooShort {
                min: self.min_length,
            });
        }
        if length > MAX_PASSWORD_CHARS {
            problems.push(PasswordProblem::TooLong);
        }
        if self.character_classes > 1 && character_classes(password) < self.character_classes {
            problems.push(PasswordProblem::TooFewClasses {
                required: self.character_classes.min(4),
            });
        }
        if let Some(email) = email {
            let lowered = password.to_lowercase();
            let email = email.to_lowercase();
            let local = email.split('@').next().unwrap_or_default();
            // A local part of one or two letters would match too many good passwords.
            if lowered.contains(&email) || (local.chars().count() >= 3 && lowered.contains(local)) {
                problems.push(PasswordProblem::ContainsEmail);
            }
        }
        problems
    }

    /// A short description of the rules for form hints.
    #[must_use]
    pub fn describe(&self) -> String {
        if self.character_classes > 1 {
            format!(
                "At least {} characters, mixing at least {} of: lowercase, uppercase, digits, symbols.",
                self.min_length,
                self.character_classes.min(4)
            )
        } else {
            format!("At least {} characters.", self.min_length)
        }
    }
}

fn character_classes(password: &str) -> usize {
    let mut lower = false;
    let mut upper = false;
    let mut digit = false;
    let mut symbol = false;
    for c in password.chars() {
        if c.is_lowercase() {
            lower = true;
        } else if c.is_uppercase() {
            upper = true;
        } else if c.is_numeric() {
            digit = true;
        } else {
            symbol = true;
        }
    }
    [lower, upper, digit, symbol].iter().filter(|&&b| b).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_passwords_pass() {
        let policy = PasswordPolicy::default();
        assert!(
            policy
                .check("Correct-horse-9", Some("ada@example.com"))
                .is_empty()
        );
        assert!(policy.check("ünïcödé Pässwörd", None).is_empty());
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let policy = PasswordPolicy::default();
        let problems = policy.check("ada", Some("ada@example.com"));
        assert_eq!(
            problems,
            vec![
                PasswordProblem::TooShort { min: 10 },
                PasswordProblem::TooFewClasses { required: 3 },
                PasswordProblem::ContainsEmail,
            ]
        );
        assert_eq!(problems[0].to_string(), "Use at least 10 characters.");
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let policy = PasswordPolicy {
            min_length: 4,
            character_classes: 0,
        };
        assert!(policy.check("äöüß", None).is_empty());
        assert_eq!(
            policy.check(&"a".repeat(MAX_PASSWORD_CHARS + 1), None),
            vec![PasswordProblem::TooLong]
        );
    }

    #[test]
    fn email_local_part_is_refused() {
        let policy = PasswordPolicy::default();
        assert!(
            policy
                .check("Xbob.smith-2024", Some("Bob.Smith@example.com"))
                .contains(&PasswordProblem::ContainsEmail)
        );
        // Very short local parts are not treated as a match.
        assert!(
            policy
                .check("Jo-Secure-2024", Some("jo@example.com"))
                .is_empty()
        );
    }

    #[test]
    fn describe_matches_the_rules() {
        assert!(
            PasswordPolicy::default()
                .describe()
                .contains("10 characters")
        );
        let lax = PasswordPolicy {
            min_length: 8,
            character_classes: 1,
        };
        assert_eq!(lax.describe(), "At least 8 characters.");
    }
}
