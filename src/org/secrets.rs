//! Secrets the server must read back (the SMTP password, webhook signing secrets), sealed at
//! rest with ChaCha20-Poly1305 under a key kept in the data directory (`secret.key`), not in
//! the database: a copy of the database alone does not give them away.

use crate::http::error::AppError;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use std::path::{Path, PathBuf};

/// The file, in the data directory, of the key that seals the secrets.
const KEY_FILE: &str = "secret.key";

/// The key that seals the secrets, made on first use (readable by the server's user only). A backup restored elsewhere without it keeps everything but that password.
pub fn key(data_dir: &Path) -> Result<[u8; 32], AppError> {
    let path: PathBuf = data_dir.join(KEY_FILE);
    if let Ok(bytes) = std::fs::read(&path) {
        return bytes
            .try_into()
            .map_err(|_| AppError::internal(format!("{} is not a key", path.display())));
    }
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| AppError::internal("no randomness for the mail key"))?;
    write_private(&path, &key).map_err(AppError::internal)?;
    Ok(key)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn sealing_key(key: &[u8; 32]) -> Result<LessSafeKey, AppError> {
    UnboundKey::new(&CHACHA20_POLY1305, key)
        .map(LessSafeKey::new)
        .map_err(|_| AppError::internal("bad mail key"))
}

pub fn seal(key: &[u8; 32], plain: &str) -> Result<String, AppError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| AppError::internal("no randomness for a nonce"))?;
    let mut data = plain.as_bytes().to_vec();
    sealing_key(key)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
        .map_err(|_| AppError::internal("could not seal the password"))?;
    Ok(hex::encode([nonce.as_slice(), &data].concat()))
}

/// The secret, or `None` when it was sealed with another key (a backup restored elsewhere).
pub fn open(key: &[u8; 32], sealed: &str) -> Option<String> {
    let bytes = hex::decode(sealed).ok()?;
    let (nonce, data) = bytes.split_at_checked(NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut data = data.to_vec();
    let plain = sealing_key(key)
        .ok()?
        .open_in_place(nonce, Aad::empty(), &mut data)
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

/// `bytes` random bytes, as hex: a new secret.
pub fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut secret = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| AppError::internal("no randomness for a secret"))?;
    Ok(hex::encode(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_key_only() {
        let key = [7u8; 32];
        let sealed = seal(&key, "smtp-秘密").unwrap();
        assert!(!sealed.contains("smtp"));
        assert_eq!(open(&key, &sealed).as_deref(), Some("smtp-秘密"));
        assert_eq!(open(&[8u8; 32], &sealed), None);
        assert_eq!(open(&key, "zz"), None);
        assert_ne!(seal(&key, "same").unwrap(), seal(&key, "same").unwrap());
    }
}
