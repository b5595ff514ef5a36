//! Argon2id password hashes (OWASP parameters: 19 MiB, 2 passes). Hashing is slow on purpose,
//! so callers run these functions on a blocking thread.

use crate::http::error::{AppError, FieldErrors};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use serde_json::json;
use std::sync::OnceLock;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

pub fn hash(password: &str) -> Result<String, AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

/// Checks `password` against `stored`. With no stored hash (unknown user) it verifies against a
/// dummy hash anyway, so the answer takes as long for an unknown user as for a wrong password.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("kehu-dummy-password").unwrap_or_default());
    let known = stored.is_some();
    let Ok(parsed) = PasswordHash::new(stored.unwrap_or(dummy)) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    known && matches
}

/// The rules every new password must meet.
pub fn check_rules(password: &str, username: &str, field: &str, errors: &mut FieldErrors) {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        errors.add(field, "too_short", json!({ "min": MIN_LENGTH }));
    } else if length > MAX_LENGTH {
        errors.add(field, "too_long", json!({ "max": MAX_LENGTH }));
    } else if !username.is_empty() && password.to_lowercase() == username.to_lowercase() {
        errors.add(field, "password_is_username", json!({}));
    }
}
