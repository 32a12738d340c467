//! Password hashing with Argon2id.
//!
//! Hashing is deliberately slow and memory-hungry (the OWASP baseline: 19 MiB, 2 passes),
//! so it runs on tokio's blocking pool behind a semaphore sized to the CPU count: a burst
//! of sign-ins queues instead of exhausting memory or starving the async workers. For an
//! unknown email the service still verifies against a dummy hash, so response times do
//! not reveal which addresses have accounts.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::WebError;

/// Hashes and verifies passwords off the async threads.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

fn argon2() -> Result<Argon2<'static>, WebError> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| WebError::PasswordHash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &str) -> Result<String, WebError> {
    let mut salt_bytes = [0_u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt_bytes);
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| WebError::PasswordHash(e.to_string()))?;
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| WebError::PasswordHash(e.to_string()))
}

fn verify_blocking(password: &str, hash: &str) -> Result<bool, WebError> {
    let parsed = PasswordHash::new(hash).map_err(|e| WebError::PasswordHash(e.to_string()))?;
    // Verification uses the parameters recorded in the hash, so hashes made with older
    // parameters keep working.
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(WebError::PasswordHash(e.to_string())),
    }
}

impl PasswordHasher {
    /// A hasher allowing `parallelism` hashes at once (at least 1).
    ///
    /// # Errors
    /// When the dummy hash cannot be computed.
    pub async fn new(parallelism: usize) -> Result<Self, WebError> {
        let dummy_hash = tokio::task::spawn_blocking(|| hash_blocking("cairn-dummy-password"))
            .await??
            .into();
        Ok(Self {
            permits: Arc::new(Semaphore::new(parallelism.max(1))),
            dummy_hash,
        })
    }

    /// The PHC string for `password`.
    ///
    /// # Errors
    /// Hashing failures (practically only resource exhaustion).
    pub async fn hash(&self, password: &str) -> Result<String, WebError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| WebError::PasswordHash(e.to_string()))?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
    }

    /// Whether `password` matches `hash`; `None` as the hash checks against a dummy and
    /// returns `false`, taking as long as a real check.
    ///
    /// # Errors
    /// A stored hash that cannot be parsed.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, WebError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| WebError::PasswordHash(e.to_string()))?;
        let password = password.to_owned();
        let (hash, real) = match hash {
            Some(hash) => (hash.to_owned(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        let matches =
            tokio::task::spawn_blocking(move || verify_blocking(&password, &hash)).await??;
        Ok(real && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let hasher = PasswordHasher::new(2).await.unwrap();
        let a = hasher.hash("Correct-horse-9").await.unwrap();
        let b = hasher.hash("Correct-horse-9").await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(hasher.verify("Correct-horse-9", Some(&a)).await.unwrap());
        assert!(!hasher.verify("correct-horse-9", Some(&a)).await.unwrap());
        assert!(!hasher.verify("cairn-dummy-password", None).await.unwrap());
        assert!(hasher.verify("x", Some("not a phc string")).await.is_err());
    }
}
