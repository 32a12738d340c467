//! OAuth 2.0 for the emulated org: the connected app, login + consent pages, the token
//! endpoint (authorization code with PKCE, refresh token with optional rotation,
//! username-password), revocation, and the identity URL — on distinct production
//! (`/login`) and sandbox (`/test`) login hosts as well as the instance itself.

pub mod http;
pub mod pages;
pub mod token;
pub mod tokens;
