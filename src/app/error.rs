//! Application errors and how they map to exit codes.

use crate::bundle::BundleError;
use crate::crypto::keystore::KeystoreError;
use crate::domain::{DomainError, IdParseError};
use crate::store::StoreError;

/// Broad classes of failure, for exit codes and for the GUI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input was invalid: fix it and try again (exit 2).
    InvalidInput,
    /// The operation failed: the environment, the vault, or a verification (exit 1).
    Failed,
}

/// Why an application call failed. Nothing was recorded.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A command was refused by the domain; `index` is its position in a batch.
    #[error("{}{error}", index.map(|i| format!("item {}: ", i + 1)).unwrap_or_default())]
    Rejected {
        /// Position in a batch.
        index: Option<usize>,
        /// The rule broken.
        error: DomainError,
    },
    /// An id could not be parsed.
    #[error(transparent)]
    Id(#[from] IdParseError),
    /// Other invalid input (a malformed file, say).
    #[error("{0}")]
    Invalid(String),
    /// The keystore refused: a wrong passphrase, a broken seal, bad parameters.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The vault has no keystore yet.
    #[error("this vault has no keystore yet; create one with `cim-keys passwd`")]
    NoKeystore,
    /// The OS random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// A network operation failed (connection refused, authorization violation, timeout).
    #[error("{0}")]
    Network(String),
    /// The vault could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An encrypted file (a bundle or a secrets backup) could not be written or opened.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// Connecting to NATS, provisioning, uploading or reading back failed.
    #[cfg(feature = "sync")]
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
}

impl AppError {
    /// The class of the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Rejected { error, .. } if error.is_conflict() => ErrorKind::Failed,
            Self::Rejected { .. } | Self::Id(_) | Self::Invalid(_) => ErrorKind::InvalidInput,
            Self::Keystore(KeystoreError::WeakPassphrase(_)) => ErrorKind::InvalidInput,
            Self::Store(_) | Self::Keystore(_) | Self::NoKeystore | Self::Random(_) | Self::Network(_) => {
                ErrorKind::Failed
            }
            // The caller gave the wrong kind of thing: a malformed recipient or identity file,
            // a passphrase for a file encrypted to recipients (or the reverse), or a file from a
            // newer cim-keys.
            Self::Bundle(
                BundleError::Recipient(_)
                | BundleError::Identity
                | BundleError::NeedsIdentity
                | BundleError::NeedsPassphrase
                | BundleError::UnsupportedVersion { .. },
            ) => ErrorKind::InvalidInput,
            // A wrong passphrase or identity, a damaged, altered or unexpected file (a damaged
            // header cannot be told from no age file at all), a failed write.
            Self::Bundle(_) => ErrorKind::Failed,
            #[cfg(feature = "sync")]
            Self::Sync(crate::sync::SyncError::Config(_)) => ErrorKind::InvalidInput,
            #[cfg(feature = "sync")]
            Self::Sync(_) => ErrorKind::Failed,
        }
    }

    /// The domain error inside, if any.
    pub fn domain(&self) -> Option<&DomainError> {
        match self {
            Self::Rejected { error, .. } => Some(error),
            _ => None,
        }
    }
}
