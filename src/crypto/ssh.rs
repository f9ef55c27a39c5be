//! OpenSSH public keys and fingerprints of Ed25519 keys.
//!
//! An identity key's public half is exported as one line of an `authorized_keys` or `.pub`
//! file, and shown by its fingerprint, exactly as OpenSSH writes and prints them:
//!
//! ```text
//! ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea alice@example.org
//! └─ type ──┘ └──────────── base64 of the wire-format blob ─────────────────────┘ └─ comment ─┘
//!
//! $ ssh-keygen -l -f alice.pub
//! 256 SHA256:bbXpuKG6zhzdmnxq256TlqzFBzRl2f6OOg722cYNbU8 alice@example.org (ED25519)
//! ```
//!
//! The **wire-format blob** (RFC 4253 §6.6, RFC 8709 §4) is two SSH strings, each a 4-byte
//! big-endian length followed by the bytes: the key type `ssh-ed25519` and the 32-byte public
//! key. The **fingerprint** is `SHA256:` followed by the unpadded base64 of the SHA-256 digest
//! of that blob: what `ssh-keygen -l` prints, and what an operator compares when a server asks
//! "are you sure you want to continue connecting?".
//!
//! Pure code: formatting and parsing only, no keys are generated here.

use std::fmt;
use std::str::FromStr;

use data_encoding::{BASE64, BASE64_NOPAD};
use sha2::{Digest, Sha256};

/// The OpenSSH key type of Ed25519 keys.
pub const KEY_TYPE: &str = "ssh-ed25519";

/// Length of the wire-format blob of an Ed25519 public key: 4 + 11 + 4 + 32 bytes.
pub const BLOB_LEN: usize = 4 + KEY_TYPE.len() + 4 + 32;

/// The most characters a comment may have (OpenSSH sets no limit; this is generous for
/// `user@host` or an e-mail address and keeps lines sane).
pub const MAX_COMMENT_CHARS: usize = 1024;

/// Why an OpenSSH public key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshError {
    /// The comment would break the one-line format.
    #[error("the key comment {0}; use a single line of printable text such as user@host")]
    BadComment(&'static str),
    /// The line is not an `ssh-ed25519` public key line.
    #[error("not an OpenSSH Ed25519 public key line: {0}")]
    Malformed(&'static str),
    /// The key is of another type.
    #[error("the key type is '{0}'; only ssh-ed25519 keys are supported")]
    UnsupportedKeyType(String),
    /// The text is not an OpenSSH SHA-256 fingerprint.
    #[error("not an OpenSSH SHA-256 fingerprint (SHA256: followed by 43 base64 characters): {0}")]
    BadFingerprint(&'static str),
}

/// The wire-format blob of an Ed25519 public key: `string "ssh-ed25519"`, `string key`.
pub fn public_key_blob(public_key: &[u8; 32]) -> [u8; BLOB_LEN] {
    let mut blob = [0u8; BLOB_LEN];
    let type_len = (KEY_TYPE.len() as u32).to_be_bytes();
    let key_start = 4 + KEY_TYPE.len();
    blob[..4].copy_from_slice(&type_len);
    blob[4..key_start].copy_from_slice(KEY_TYPE.as_bytes());
    blob[key_start..key_start + 4].copy_from_slice(&32u32.to_be_bytes());
    blob[key_start + 4..].copy_from_slice(public_key);
    blob
}

/// The fingerprint `ssh-keygen -l` prints for an Ed25519 public key.
pub fn fingerprint(public_key: &[u8; 32]) -> SshFingerprint {
    SshFingerprint(Sha256::digest(public_key_blob(public_key)).into())
}

/// The `.pub` line of an Ed25519 public key with a comment (no comment if empty), without a
/// trailing newline.
pub fn public_key_line(public_key: &[u8; 32], comment: &str) -> Result<String, SshError> {
    Ok(OpenSshPublicKey::new(*public_key, comment)?.to_string())
}

/// An OpenSSH SHA-256 key fingerprint; `Display` prints `SHA256:` and 43 base64 characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SshFingerprint([u8; 32]);

impl SshFingerprint {
    /// The SHA-256 digest of the wire-format blob.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for SshFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SHA256:{}", BASE64_NOPAD.encode(&self.0))
    }
}

impl fmt::Debug for SshFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SshFingerprint({self})")
    }
}

impl FromStr for SshFingerprint {
    type Err = SshError;

    /// Reads what `Display` writes (and `ssh-keygen -l` prints).
    fn from_str(text: &str) -> Result<Self, SshError> {
        let encoded = text.strip_prefix("SHA256:").ok_or(SshError::BadFingerprint("it does not start with SHA256:"))?;
        let digest = BASE64_NOPAD.decode(encoded.as_bytes()).map_err(|_| SshError::BadFingerprint("bad base64"))?;
        let digest: [u8; 32] = digest.try_into().map_err(|_| SshError::BadFingerprint("the digest is not 32 bytes"))?;
        Ok(Self(digest))
    }
}

/// An Ed25519 public key with its comment: one line of a `.pub` or `authorized_keys` file.
///
/// `Display` writes the line (no trailing newline); [`FromStr`] reads it back.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OpenSshPublicKey {
    key: [u8; 32],
    comment: String,
}

impl OpenSshPublicKey {
    /// A key line for `public_key` with `comment` (trimmed; may be empty). Refuses a comment
    /// with a control character (a newline would break the line) or longer than
    /// [`MAX_COMMENT_CHARS`].
    pub fn new(public_key: [u8; 32], comment: &str) -> Result<Self, SshError> {
        let comment = comment.trim();
        if comment.chars().any(char::is_control) {
            return Err(SshError::BadComment("contains a control character such as a newline or tab"));
        }
        if comment.chars().count() > MAX_COMMENT_CHARS {
            return Err(SshError::BadComment("is longer than 1024 characters"));
        }
        Ok(Self { key: public_key, comment: comment.to_owned() })
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The comment (empty if none).
    pub fn comment(&self) -> &str {
        &self.comment
    }

    /// The wire-format blob.
    pub fn blob(&self) -> [u8; BLOB_LEN] {
        public_key_blob(&self.key)
    }

    /// The fingerprint `ssh-keygen -l` prints.
    pub fn fingerprint(&self) -> SshFingerprint {
        fingerprint(&self.key)
    }
}

impl fmt::Display for OpenSshPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY_TYPE} {}", BASE64.encode(&self.blob()))?;
        if !self.comment.is_empty() {
            write!(f, " {}", self.comment)?;
        }
        Ok(())
    }
}

impl fmt::Debug for OpenSshPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpenSshPublicKey({self})")
    }
}

impl FromStr for OpenSshPublicKey {
    type Err = SshError;

    /// Reads `ssh-ed25519 BASE64 [comment]` (surrounding whitespace, including a final newline,
    /// is ignored). The blob must be exactly an Ed25519 key and agree with the leading type.
    fn from_str(line: &str) -> Result<Self, SshError> {
        let line = line.trim();
        let (key_type, rest) =
            line.split_once(char::is_whitespace).ok_or(SshError::Malformed("expected a key type and base64 key"))?;
        if key_type != KEY_TYPE {
            return Err(SshError::UnsupportedKeyType(key_type.chars().take(40).collect()));
        }
        let rest = rest.trim_start();
        let (encoded, comment) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let blob = BASE64.decode(encoded.as_bytes()).map_err(|_| SshError::Malformed("the key is not valid base64"))?;
        if blob.len() != BLOB_LEN {
            return Err(SshError::Malformed("the key blob does not have the length of an Ed25519 key"));
        }
        let key: [u8; 32] = blob[BLOB_LEN - 32..].try_into().map_err(|_| SshError::Malformed("short key"))?;
        if blob != public_key_blob(&key) {
            return Err(SshError::Malformed("the key blob is not an ssh-ed25519 key"));
        }
        Self::new(key, comment)
    }
}

#[cfg(test)]
mod tests {
    use data_encoding::HEXLOWER;
    use proptest::prelude::*;

    use super::*;

    /// RFC 8032 §7.1 TEST 1 public key; line and fingerprint as OpenSSH 9.2 writes and prints
    /// them (`ssh-keygen -l -f`).
    const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const RFC8032_LINE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea test@example";
    const RFC8032_FINGERPRINT: &str = "SHA256:bbXpuKG6zhzdmnxq256TlqzFBzRl2f6OOg722cYNbU8";

    fn rfc8032_key() -> [u8; 32] {
        HEXLOWER.decode(RFC8032_PUBLIC.as_bytes()).unwrap().try_into().unwrap()
    }

    #[test]
    fn fixed_vector_line_and_fingerprint() {
        let key = rfc8032_key();
        assert_eq!(public_key_line(&key, "test@example").unwrap(), RFC8032_LINE);
        assert_eq!(fingerprint(&key).to_string(), RFC8032_FINGERPRINT);
        // RFC 8410 §10.1 public key, fingerprint from ssh-keygen.
        let rfc8410: [u8; 32] = HEXLOWER
            .decode(b"19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(fingerprint(&rfc8410).to_string(), "SHA256:ebCT4wkJOqO5AIlHG03cHvn3Cr3ZZEEh8m81duHhR3Q");
    }

    #[test]
    fn blob_layout() {
        let blob = public_key_blob(&[0xab; 32]);
        assert_eq!(&blob[..4], &[0, 0, 0, 11]);
        assert_eq!(&blob[4..15], b"ssh-ed25519");
        assert_eq!(&blob[15..19], &[0, 0, 0, 32]);
        assert_eq!(&blob[19..], &[0xab; 32]);
    }

    #[test]
    fn lines_without_comment_have_no_trailing_space() {
        let line = public_key_line(&rfc8032_key(), "  ").unwrap();
        assert_eq!(line, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea");
        let parsed: OpenSshPublicKey = line.parse().unwrap();
        assert_eq!(parsed.comment(), "");
    }

    #[test]
    fn parsing_reads_what_openssh_writes() {
        let parsed: OpenSshPublicKey = format!("{RFC8032_LINE}\n").parse().unwrap();
        assert_eq!(parsed.public_key(), &rfc8032_key());
        assert_eq!(parsed.comment(), "test@example");
        assert_eq!(parsed.fingerprint().to_string(), RFC8032_FINGERPRINT);
        let spaced: OpenSshPublicKey = RFC8032_LINE.replace(' ', "   ").parse().unwrap();
        assert_eq!(spaced, parsed);
        let multi_word: OpenSshPublicKey = format!("{RFC8032_LINE} laptop  2025").parse().unwrap();
        assert_eq!(multi_word.comment(), "test@example laptop  2025");
    }

    #[test]
    fn bad_lines_are_refused() {
        let blob = BASE64.encode(&public_key_blob(&rfc8032_key()));
        assert!(matches!("".parse::<OpenSshPublicKey>(), Err(SshError::Malformed(_))));
        assert!(matches!(format!("ssh-rsa {blob}").parse::<OpenSshPublicKey>(), Err(SshError::UnsupportedKeyType(_))));
        assert!(matches!("ssh-ed25519 !!!!".parse::<OpenSshPublicKey>(), Err(SshError::Malformed(_))));
        assert!(matches!("ssh-ed25519 AAAA".parse::<OpenSshPublicKey>(), Err(SshError::Malformed(_))));
        let mut wrong_type = public_key_blob(&rfc8032_key());
        wrong_type[4..15].copy_from_slice(b"ssh-ed25518");
        let line = format!("ssh-ed25519 {}", BASE64.encode(&wrong_type));
        assert!(matches!(line.parse::<OpenSshPublicKey>(), Err(SshError::Malformed(_))));
    }

    #[test]
    fn bad_comments_are_refused() {
        for comment in ["a\nb", "a\rb", "tab\there", "nul\0"] {
            assert!(matches!(OpenSshPublicKey::new([1; 32], comment), Err(SshError::BadComment(_))), "{comment:?}");
        }
        assert!(OpenSshPublicKey::new([1; 32], &"x".repeat(MAX_COMMENT_CHARS)).is_ok());
        assert!(OpenSshPublicKey::new([1; 32], &"x".repeat(MAX_COMMENT_CHARS + 1)).is_err());
    }

    #[test]
    fn fingerprints_parse_back() {
        let parsed: SshFingerprint = RFC8032_FINGERPRINT.parse().unwrap();
        assert_eq!(parsed, fingerprint(&rfc8032_key()));
        assert!("MD5:aa:bb".parse::<SshFingerprint>().is_err());
        assert!("SHA256:abc".parse::<SshFingerprint>().is_err());
        assert!(format!("{RFC8032_FINGERPRINT}=").parse::<SshFingerprint>().is_err(), "OpenSSH prints no padding");
    }

    proptest! {
        #[test]
        fn lines_round_trip(key in any::<[u8; 32]>(), comment in "[ -~]{0,40}") {
            let key_line = OpenSshPublicKey::new(key, &comment).unwrap();
            let parsed: OpenSshPublicKey = key_line.to_string().parse().unwrap();
            prop_assert_eq!(parsed.public_key(), &key);
            prop_assert_eq!(parsed.comment(), comment.trim());
            prop_assert_eq!(&parsed, &key_line);
            prop_assert_eq!(parsed.fingerprint().to_string().parse::<SshFingerprint>().unwrap(), fingerprint(&key));
            prop_assert_eq!(parsed.fingerprint().to_string().len(), 7 + 43);
        }
    }
}
