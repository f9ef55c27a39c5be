//! The age layer: a stream encrypted to a passphrase (scrypt) or to X25519 recipients, as the
//! `age` command-line tool writes and reads it (binary, not armored).
//!
//! Pure: identities and recipients are parsed from text the caller read.

use std::io::{Read, Write};
use std::str::FromStr;

// Named apart: an identity file here is text the caller read, not a file we open.
use age::IdentityFile as IdentityText;
use age::secrecy::SecretString;

use super::BundleError;
use crate::crypto::keystore::Passphrase;

/// Who can open what we encrypt.
pub enum Seal {
    /// Anyone with this passphrase (age's scrypt recipient, work factor calibrated by age to
    /// about a second on this machine, or `log_n` if given).
    Passphrase { passphrase: SecretString, log_n: Option<u8> },
    /// Anyone holding the identity of one of these X25519 recipients (`age1…`).
    Recipients(Vec<age::x25519::Recipient>),
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Passphrase { log_n, .. } => {
                f.debug_struct("Passphrase").field("log_n", log_n).finish_non_exhaustive()
            }
            Self::Recipients(r) => {
                f.debug_tuple("Recipients").field(&r.iter().map(ToString::to_string).collect::<Vec<_>>()).finish()
            }
        }
    }
}

impl Seal {
    /// Encrypts to a passphrase.
    pub fn passphrase(passphrase: &Passphrase) -> Self {
        Self::Passphrase { passphrase: SecretString::from(passphrase.expose_secret().to_owned()), log_n: None }
    }

    /// Encrypts to recipients given as `age1…` texts; refuses an empty list or a malformed one.
    pub fn recipients<S: AsRef<str>>(texts: &[S]) -> Result<Self, BundleError> {
        if texts.is_empty() {
            return Err(BundleError::Recipient("no recipient given".into()));
        }
        texts.iter().map(|t| parse_recipient(t.as_ref())).collect::<Result<Vec<_>, _>>().map(Self::Recipients)
    }

    /// Whether a passphrase opens it.
    pub fn is_passphrase(&self) -> bool {
        matches!(self, Self::Passphrase { .. })
    }

    /// Starts encrypting into `out`; the returned writer must be `finish`ed.
    pub fn encrypt<W: Write>(&self, out: W) -> Result<age::stream::StreamWriter<W>, BundleError> {
        let encryptor = match self {
            Self::Passphrase { passphrase, log_n } => {
                let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
                if let Some(log_n) = log_n {
                    recipient.set_work_factor((*log_n).clamp(1, 30));
                }
                age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            }
            Self::Recipients(recipients) => {
                age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            }
        }
        .map_err(|e| BundleError::Recipient(e.to_string()))?;
        Ok(encryptor.wrap_output(out)?)
    }
}

/// Parses an X25519 recipient (`age1…`).
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient, BundleError> {
    age::x25519::Recipient::from_str(text.trim()).map_err(|_| {
        BundleError::Recipient(format!(
            "{:?} is not an age X25519 recipient (age1 followed by 58 characters, as age-keygen prints)",
            crate::domain::excerpt(text.trim())
        ))
    })
}

/// The largest scrypt work factor (log2 of N) a passphrase-encrypted file may demand: 2^22
/// takes 4 GiB of memory and a few seconds, and is the bound the `age` tool applies. Without
/// it the age crate accepts its calibrated factor + 4: 16 times the memory and time of a
/// one-second unlock (about 8 GiB and half a minute on a 2-core machine), which a crafted
/// header could demand of every import. A file over the bound is refused before any scrypt
/// work (docs/fuzzing.md).
pub const MAX_SCRYPT_LOG_N: u8 = 22;

/// What a read error of the decrypted stream means: age reports a failed chunk
/// authentication as `InvalidData` (a changed byte, or a file cut inside a chunk), and a
/// stream that stops at a chunk boundary before its last chunk as `UnexpectedEof`.
pub fn payload_error(e: std::io::Error) -> BundleError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => BundleError::Truncated,
        // A cut inside a chunk looks to age like a changed last chunk: say both.
        std::io::ErrorKind::InvalidData => BundleError::Damaged,
        _ => BundleError::Io(e),
    }
}

/// What opens an encrypted stream.
pub enum Unseal {
    /// A passphrase (for files encrypted to one).
    Passphrase(SecretString),
    /// The identities of an age identity file (`AGE-SECRET-KEY-1…` lines).
    Identities(Vec<Box<dyn age::Identity + Send + Sync>>),
}

impl std::fmt::Debug for Unseal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Passphrase(_) => f.write_str("Unseal::Passphrase(..)"),
            Self::Identities(i) => write!(f, "Unseal::Identities({} identities)", i.len()),
        }
    }
}

impl Unseal {
    /// Opens with a passphrase.
    pub fn passphrase(passphrase: &Passphrase) -> Self {
        Self::Passphrase(SecretString::from(passphrase.expose_secret().to_owned()))
    }

    /// Opens with the identities of an identity file's text.
    pub fn identity_file(text: &[u8]) -> Result<Self, BundleError> {
        let file = IdentityText::from_buffer(text).map_err(|_| BundleError::Identity)?;
        let identities = file.into_identities().map_err(|_| BundleError::Identity)?;
        if identities.is_empty() {
            return Err(BundleError::Identity);
        }
        Ok(Self::Identities(identities))
    }

    /// Starts decrypting `input`: checks the age header and unwraps the file key. Errors say
    /// whether the file is no age file, needs the other kind of key, or the key is wrong.
    pub fn decrypt<R: Read>(&self, input: R) -> Result<age::stream::StreamReader<R>, BundleError> {
        let decryptor = age::Decryptor::new(input).map_err(|e| match e {
            age::DecryptError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => BundleError::Truncated,
            age::DecryptError::Io(io) => BundleError::Io(io),
            _ => BundleError::NotAge,
        })?;
        let result = match self {
            Self::Passphrase(passphrase) => {
                if !decryptor.is_scrypt() {
                    return Err(BundleError::NeedsIdentity);
                }
                let mut identity = age::scrypt::Identity::new(passphrase.clone());
                identity.set_max_work_factor(MAX_SCRYPT_LOG_N);
                decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity))
            }
            Self::Identities(identities) => {
                if decryptor.is_scrypt() {
                    return Err(BundleError::NeedsPassphrase);
                }
                decryptor.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
            }
        };
        result.map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => match self {
                Self::Passphrase(_) => BundleError::WrongPassphrase,
                Self::Identities(_) => BundleError::WrongIdentity,
            },
            age::DecryptError::KeyDecryptionFailed => match self {
                Self::Passphrase(_) => BundleError::WrongPassphrase,
                Self::Identities(_) => BundleError::WrongIdentity,
            },
            age::DecryptError::ExcessiveWork { required, .. } => BundleError::Malformed(format!(
                "its passphrase demands scrypt work factor 2^{required}, above the 2^{MAX_SCRYPT_LOG_N} (4 GiB of memory) \
                 cim-keys accepts; refused"
            )),
            age::DecryptError::InvalidMac => BundleError::Tampered("its age header".into()),
            age::DecryptError::Io(io) => BundleError::Io(io),
            _ => BundleError::NotAge,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passphrase() -> Passphrase {
        Passphrase::new("a passphrase for a test".into()).unwrap()
    }

    /// A file encrypted to [`passphrase`] with work factor 2^1, then its scrypt stanza's work
    /// factor replaced by `log_n` (the header MAC no longer matches, but the work factor is
    /// read first).
    fn demanding(log_n: &str) -> Vec<u8> {
        let mut seal = Seal::passphrase(&passphrase());
        if let Seal::Passphrase { log_n, .. } = &mut seal {
            *log_n = Some(1);
        }
        let mut writer = seal.encrypt(Vec::new()).unwrap();
        writer.write_all(b"content").unwrap();
        let file = writer.finish().unwrap();
        let text = String::from_utf8_lossy(&file);
        let line = text.lines().nth(1).unwrap();
        assert!(line.starts_with("-> scrypt ") && line.ends_with(" 1"), "{line}");
        let changed = format!("{} {log_n}", line.strip_suffix(" 1").unwrap());
        let at = file.windows(line.len()).position(|w| w == line.as_bytes()).unwrap();
        [&file[..at], changed.as_bytes(), &file[at + line.len()..]].concat()
    }

    #[test]
    fn a_work_factor_above_the_bound_is_refused_before_any_work() {
        let unseal = Unseal::passphrase(&passphrase());
        for log_n in [MAX_SCRYPT_LOG_N + 1, 30, 63] {
            let file = demanding(&log_n.to_string());
            let message = unseal.decrypt(file.as_slice()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(&format!("2^{log_n}")), "2^{log_n}: {message}");
        }
    }

    #[test]
    fn a_small_work_factor_opens() {
        let mut seal = Seal::passphrase(&passphrase());
        if let Seal::Passphrase { log_n, .. } = &mut seal {
            *log_n = Some(2);
        }
        let mut writer = seal.encrypt(Vec::new()).unwrap();
        writer.write_all(b"content").unwrap();
        let file = writer.finish().unwrap();
        let mut plain = Vec::new();
        Unseal::passphrase(&passphrase()).decrypt(file.as_slice()).unwrap().read_to_end(&mut plain).unwrap();
        assert_eq!(plain, b"content");
        // Another work factor derives another key, which does not unwrap the file key.
        let file = demanding("3");
        assert!(matches!(
            Unseal::passphrase(&passphrase()).decrypt(file.as_slice()),
            Err(BundleError::WrongPassphrase)
        ));
    }
}
