//! Random bearer tokens (session cookies, emailed links) and their stored hashes.
//!
//! A token is 32 random bytes, URL-safe base64 without padding (43 characters). Only its
//! SHA-256 is stored, so the database never holds a usable credential.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh token: the text to hand out and the hash to store.
#[derive(Clone)]
pub struct IssuedToken {
    /// Goes in the cookie or the link.
    pub token: String,
    /// Goes in the database.
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuedToken([redacted])")
    }
}

/// Makes a new random token.
#[must_use]
pub fn issue() -> IssuedToken {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    IssuedToken { token, hash }
}

/// The stored form of `token`.
#[must_use]
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether `text` has the shape of a token this module issues (cheap pre-check before a
/// database lookup; also keeps junk out of logs and queries).
#[must_use]
pub fn looks_valid(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_consistently() {
        let a = issue();
        let b = issue();
        assert_ne!(a.token, b.token);
        assert!(looks_valid(&a.token), "{}", a.token);
        assert_eq!(hash(&a.token), a.hash);
        assert_eq!(a.hash.len(), 32);
        assert!(!format!("{a:?}").contains(&a.token));
    }

    #[test]
    fn malformed_tokens_are_recognised() {
        assert!(!looks_valid(""));
        assert!(!looks_valid("short"));
        assert!(!looks_valid(&"a".repeat(42)));
        assert!(!looks_valid(&format!("{}=", "a".repeat(42))));
        assert!(!looks_valid(&format!("{}/", "a".repeat(42))));
    }
}
