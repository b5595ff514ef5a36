//! One server per data directory: an exclusive lock on `DATA_DIR/kehu.lock`, held for the
//! server's life and released by the OS even if the process dies.

use super::StorageError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock, StorageError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StorageError(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join("kehu.lock");
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StorageError(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StorageError(format!(
                    "a Kehu server is using {}; stop it first",
                    data_dir.display()
                )))
            }
            Err(TryLockError::Error(e)) => {
                return Err(StorageError(format!("cannot lock {}: {e}", path.display())))
            }
        }
        file.set_len(0)?;
        writeln!(file, "{}", std::process::id())?;
        Ok(DataDirLock { _file: file })
    }
}
