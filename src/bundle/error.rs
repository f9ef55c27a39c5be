//! What can go wrong reading or writing a bundle (or a secrets backup), each as one sentence
//! that says what to do.

/// A bundle or backup could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Reading or writing failed.
    #[error("reading or writing the file failed: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not an age file at all.
    #[error("the file is not an age-encrypted file (wrong file, or its header is damaged)")]
    NotAge,
    /// The file ends early.
    #[error("the file is truncated: it ends before its last block; copy it again from the original")]
    Truncated,
    /// The passphrase does not open it.
    #[error("the passphrase does not open this file; nothing was changed")]
    WrongPassphrase,
    /// None of the identities opens it.
    #[error("none of the identities in the identity file opens this file; nothing was changed")]
    WrongIdentity,
    /// It was encrypted to recipients; a passphrase was given.
    #[error(
        "this file is encrypted to age recipients, not to a passphrase: give the identity file with --identity FILE"
    )]
    NeedsIdentity,
    /// It was encrypted to a passphrase; identities were given.
    #[error("this file is encrypted to a passphrase, not to recipients: give the passphrase instead of --identity")]
    NeedsPassphrase,
    /// An identity file could not be read.
    #[error("the identity file holds no age identity (AGE-SECRET-KEY-1… lines, as age-keygen writes)")]
    Identity,
    /// A recipient is malformed.
    #[error("{0}")]
    Recipient(String),
    /// Authenticated decryption failed inside the encrypted content.
    #[error(
        "the encrypted content fails authentication: the file was truncated or altered; copy it again from the original"
    )]
    Damaged,
    /// Authenticated decryption failed inside the file: a byte was changed.
    #[error("{0} was altered (its authentication failed); the file is damaged or was tampered with")]
    Tampered(String),
    /// A block's bytes do not hash to its CID.
    #[error("block {cid} does not match its content (its bytes hash to {actual}); the bundle was altered")]
    CidMismatch {
        /// The CID the block claims.
        cid: String,
        /// The CID its bytes have.
        actual: String,
    },
    /// A format version this build does not read.
    #[error(
        "{what} has format version {found}, which this cim-keys does not read (it reads version {supported}); update cim-keys"
    )]
    UnsupportedVersion {
        /// What.
        what: &'static str,
        /// Its version.
        found: u64,
        /// Ours.
        supported: u64,
    },
    /// The manifest's signature does not verify.
    #[error("the manifest's signature does not verify: the bundle was altered or not made by the device it names")]
    BadSignature,
    /// The manifest was signed by another device than expected.
    #[error(
        "the bundle was signed by device key {found}, not by {expected} as --expect-signer requires; nothing was imported"
    )]
    UnexpectedSigner {
        /// Fingerprint expected.
        expected: String,
        /// Fingerprint found.
        found: String,
    },
    /// Anything else structurally wrong.
    #[error("the bundle is malformed: {0}")]
    Malformed(String),
}
