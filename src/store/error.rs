//! Store errors, classified for the caller: environment faults, a newer schema, a file that is
//! not a vault, and transient contention that may be retried.

use std::path::PathBuf;

use crate::projection::CodecError;

/// Something went wrong reading or writing the vault database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No vault exists at the path.
    #[error("no vault in {}; create one with `cim-keys init`", .0.display())]
    NoVault(PathBuf),
    /// A vault already exists at the path.
    #[error("a vault already exists in {}; use it, or choose another --data-dir", .0.display())]
    AlreadyExists(PathBuf),
    /// The file is not a cim-keys vault.
    #[error("{} is not a cim-keys vault: {reason}", path.display())]
    NotAVault {
        /// The file.
        path: PathBuf,
        /// Why we think so.
        reason: String,
    },
    /// The vault was written by a newer cim-keys.
    #[error("the vault has schema version {found}, newer than this cim-keys supports ({supported}); upgrade cim-keys")]
    NewerSchema {
        /// Its schema version.
        found: i64,
        /// The newest we know.
        supported: i64,
    },
    /// The data directory could not be used.
    #[error("cannot use data directory {}: {reason}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Another change came first.
    #[error("{0}")]
    Conflict(String),
    /// Stored data is inconsistent.
    #[error("the vault is inconsistent: {0}; run `cim-keys verify`")]
    Corrupt(String),
    /// A block failed to encode or decode.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// A stored value has the wrong SQL type.
    #[error("a stored value has the wrong type ({0}); run `cim-keys verify`")]
    Type(#[from] rusqlite::types::FromSqlError),
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// Whether retrying later may succeed (the database was busy or locked).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}
