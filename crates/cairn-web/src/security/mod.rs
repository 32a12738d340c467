//! Security building blocks: random tokens, cookies, CSRF protection, password hashing and
//! client origin. Each piece is small and tested on its own; the auth service and the
//! extractors put them together.

pub mod cookies;
pub mod csrf;
pub mod mail_limit;
pub mod origin;
pub mod passwords;
pub mod tokens;
