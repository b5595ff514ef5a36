//! Argon2id password hashes (OWASP parameters: 19 MiB, 2 passes). Hashing is slow on purpose,
//! so callers run these functions on a blocking thread.

use crate::http::error::{AppError, FieldErrors};
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use serde_json::json;
use std::sync::{Condvar, Mutex, OnceLock};

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;
/// Hashes computed at once. Each needs its 19 MiB of working memory; those buffers are kept
/// and reused, because freed ones stayed with the allocator: five hundred sign-ins left the
/// server at 2.7 GB.
const AT_ONCE: usize = 2;

/// The working memory of the hashes: buffers free for the next hash, and how many exist.
struct WorkingMemory {
    free: Mutex<(Vec<Vec<Block>>, usize)>,
    returned: Condvar,
}

/// Runs `f` with `blocks` blocks of working memory, waiting while `AT_ONCE` hashes run.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    static MEMORY: OnceLock<WorkingMemory> = OnceLock::new();
    let memory = MEMORY.get_or_init(|| WorkingMemory {
        free: Mutex::new((Vec::new(), 0)),
        returned: Condvar::new(),
    });
    let mut buffer = {
        let mut free = memory.free.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(buffer) = free.0.pop() {
                break buffer;
            }
            if free.1 < AT_ONCE {
                free.1 += 1;
                break Vec::new();
            }
            free = memory
                .returned
                .wait(free)
                .unwrap_or_else(|e| e.into_inner());
        }
    };
    buffer.resize(blocks, Block::new());
    let answer = f(&mut buffer[..blocks]);
    let mut free = memory.free.lock().unwrap_or_else(|e| e.into_inner());
    free.0.push(buffer);
    memory.returned.notify_one();
    answer
}

/// The hash of `password` under `argon`'s parameters with `salt`, as `out`'s length asks.
fn compute(argon: &Argon2, password: &str, salt: &[u8], out: &mut [u8]) -> Result<(), AppError> {
    let blocks = argon.params().block_count();
    with_memory(blocks, |memory| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt, out, memory)
    })
    .map_err(AppError::internal)
}

/// A new Argon2id hash of `password` with a fresh salt, in the PHC string form.
pub fn hash(password: &str) -> Result<String, AppError> {
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = argon2::password_hash::generate_salt();
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    compute(&argon, password, &salt, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(AppError::internal)?,
        salt: Some(Salt::new(&salt).map_err(AppError::internal)?),
        hash: Some(Output::new(&out).map_err(AppError::internal)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` is the one `stored` (a PHC string) was made from; the comparison takes
/// the same time wherever the hashes differ.
fn matches(password: &str, stored: &PasswordHash) -> Result<bool, AppError> {
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(stored.algorithm.as_str()).map_err(AppError::internal)?;
    let version = match stored.version {
        Some(v) => Version::try_from(v).map_err(AppError::internal)?,
        None => Version::default(),
    };
    let params = Params::try_from(stored).map_err(AppError::internal)?;
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    compute(&argon, password, salt, &mut out)?;
    Ok(Output::new(&out).is_ok_and(|computed| computed == *expected))
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
    let matched = matches(password, &parsed).unwrap_or(false);
    known && matched
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

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_agree_with_the_library_both_ways() {
        let ours = hash("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let theirs = Argon2::default()
            .hash_password(b"battery staple")
            .unwrap()
            .to_string();
        assert!(verify("battery staple", Some(&theirs)));
        assert!(!verify("battery stapler", Some(&theirs)));
        assert!(
            !verify("correct horse", None),
            "no stored hash never matches"
        );
        assert!(!verify("x", Some("not a hash")));
    }
}
