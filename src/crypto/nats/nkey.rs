//! NATS nkeys: ed25519 key pairs whose text form names their role.
//!
//! An nkey is an ed25519 key printed in base32 with a one-byte *prefix* that says what the key
//! is for and a CRC-16 checksum. Public keys start with the role letter (`O` operator, `A`
//! account, `U` user); seeds start with `S` followed by the role letter (`SO…`, `SA…`, `SU…`).
//! The encoding is the `nkeys` crate's, a port of the reference Go library.
//!
//! Key material is made here from 32 seed bytes that the caller draws from the OS CSPRNG
//! (this module reads no randomness of its own). The secret halves are wrapped:
//! [`NatsSeed`] and [`NatsKeyPair`] print redacted, implement no `Serialize`, and the seed text
//! is zeroized on drop. (The `nkeys` crate keeps its own copy of the 32 seed bytes inside a
//! [`NatsKeyPair`] without zeroizing it; keep key pairs short-lived.)

use std::fmt;

use nkeys::{KeyPair, KeyPairType};
use zeroize::{Zeroize, Zeroizing};

use super::NatsError;

/// The role of an nkey in the NATS security hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NKeyKind {
    /// An operator key (`O…`): signs account JWTs.
    Operator,
    /// An account key (`A…`): signs user JWTs.
    Account,
    /// A user key (`U…`): identifies a connecting client.
    User,
}

impl NKeyKind {
    /// The letter public keys of this kind start with.
    pub fn prefix(self) -> char {
        match self {
            NKeyKind::Operator => 'O',
            NKeyKind::Account => 'A',
            NKeyKind::User => 'U',
        }
    }

    /// The lowercase name (`operator`, `account`, `user`), as in the JWT's `nats.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            NKeyKind::Operator => "operator",
            NKeyKind::Account => "account",
            NKeyKind::User => "user",
        }
    }

    fn key_pair_type(self) -> KeyPairType {
        match self {
            NKeyKind::Operator => KeyPairType::Operator,
            NKeyKind::Account => KeyPairType::Account,
            NKeyKind::User => KeyPairType::User,
        }
    }

    fn from_key_pair_type(kind: &KeyPairType) -> Option<Self> {
        match kind {
            KeyPairType::Operator => Some(NKeyKind::Operator),
            KeyPairType::Account => Some(NKeyKind::Account),
            KeyPairType::User => Some(NKeyKind::User),
            _ => None,
        }
    }
}

impl fmt::Display for NKeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a public nkey (`O…`, `A…` or `U…`), after checking its encoding and checksum.
pub fn public_key_kind(key: &str) -> Option<NKeyKind> {
    let (prefix, _) = nkeys::from_public_key(key).ok()?;
    NKeyKind::from_key_pair_type(&KeyPairType::from(prefix))
}

/// Checks that `key` is a well-formed public nkey of the `expected` kind; `what` names it in
/// the error.
pub fn check_public_key(key: &str, expected: NKeyKind, what: &str) -> Result<(), NatsError> {
    match public_key_kind(key) {
        Some(kind) if kind == expected => Ok(()),
        _ => Err(NatsError::InvalidPublicKey { what: what.to_owned(), key: key.to_owned(), expected }),
    }
}

/// Verifies an ed25519 `signature` over `data` by the public nkey `public_key`.
pub fn verify(public_key: &str, data: &[u8], signature: &[u8]) -> Result<(), NatsError> {
    let key = KeyPair::from_public_key(public_key).map_err(|_| NatsError::BadSignature)?;
    key.verify(data, signature).map_err(|_| NatsError::BadSignature)
}

/// An nkey seed in its text form (`SO…`, `SA…`, `SU…`): the secret half of an nkey.
///
/// Zeroized on drop, printed as `[redacted]`, never serialized; the text is reached only
/// through [`NatsSeed::expose_secret`].
pub struct NatsSeed {
    kind: NKeyKind,
    text: Zeroizing<String>,
}

impl NatsSeed {
    /// Parses and checks a seed's text form (prefix, length, checksum).
    pub fn parse(text: &str) -> Result<Self, NatsError> {
        let text = text.trim();
        let (prefix, mut raw) = nkeys::decode_seed(text).map_err(|_| NatsError::InvalidSeed)?;
        raw.zeroize();
        let kind = NKeyKind::from_key_pair_type(&KeyPairType::from(prefix)).ok_or(NatsError::InvalidSeed)?;
        // `KeyPairType::from` maps unknown prefixes to Operator: check the letter too.
        if text.as_bytes().get(1) != Some(&(kind.prefix() as u8)) {
            return Err(NatsError::InvalidSeed);
        }
        Ok(Self { kind, text: Zeroizing::new(text.to_owned()) })
    }

    /// The role of the key this seed belongs to.
    pub fn kind(&self) -> NKeyKind {
        self.kind
    }

    /// The seed's text form. Secret: never log, print or send it.
    pub fn expose_secret(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for NatsSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NatsSeed({}, [redacted])", self.kind)
    }
}

/// An nkey pair that can sign: its role, its public key and (inside) its seed.
///
/// Printed as its kind and public key only; never serialized.
pub struct NatsKeyPair {
    kind: NKeyKind,
    public_key: String,
    inner: KeyPair,
}

impl NatsKeyPair {
    /// The key pair of the given role whose ed25519 seed is `seed` (32 bytes from the OS
    /// CSPRNG, drawn by the caller; zeroize your copy once the key is sealed).
    pub fn from_raw_seed(kind: NKeyKind, seed: &[u8; 32]) -> Result<Self, NatsError> {
        let inner = KeyPair::new_from_raw(kind.key_pair_type(), *seed).map_err(|_| NatsError::InvalidSeed)?;
        Ok(Self::wrap(kind, inner))
    }

    /// The key pair of a seed in text form.
    pub fn from_seed(seed: &NatsSeed) -> Result<Self, NatsError> {
        let inner = KeyPair::from_seed(seed.expose_secret()).map_err(|_| NatsError::InvalidSeed)?;
        Ok(Self::wrap(seed.kind, inner))
    }

    fn wrap(kind: NKeyKind, inner: KeyPair) -> Self {
        Self { kind, public_key: inner.public_key(), inner }
    }

    /// The role of this key.
    pub fn kind(&self) -> NKeyKind {
        self.kind
    }

    /// The public key in text form (`O…`, `A…`, `U…`). Public: safe to log and store.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The seed in text form (`SO…`, `SA…`, `SU…`), for the keystore and creds files.
    pub fn seed(&self) -> Result<NatsSeed, NatsError> {
        let text = Zeroizing::new(self.inner.seed().map_err(|_| NatsError::InvalidSeed)?);
        Ok(NatsSeed { kind: self.kind, text })
    }

    /// Signs `data` (ed25519, 64 bytes).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, NatsError> {
        self.inner.sign(data).map_err(|_| NatsError::InvalidSeed)
    }
}

impl fmt::Debug for NatsKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsKeyPair")
            .field("kind", &self.kind)
            .field("public_key", &self.public_key)
            .field("seed", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A pair published with the `nkeys` crate's own tests (generated by the Go nkeys library).
    const GO_TEST_VECTOR_SEED: &str = "SAAPN4W3EG6KCJGUQTKTJ5GSB5NHK5CHAJL4DBGFUM3HHROI4XUEP4OBK4";
    const GO_TEST_VECTOR_PUBLIC: &str = "ACODERUVFFAWZQDSS6SBIACUA5O6SXF7HJ3YTYXBALHZP3P7R4BUO4J2";

    #[test]
    fn raw_seed_gives_a_key_of_the_asked_kind() {
        for (kind, letter) in [(NKeyKind::Operator, 'O'), (NKeyKind::Account, 'A'), (NKeyKind::User, 'U')] {
            let pair = NatsKeyPair::from_raw_seed(kind, &[7; 32]).unwrap();
            assert!(pair.public_key().starts_with(letter));
            assert_eq!(public_key_kind(pair.public_key()), Some(kind));
            let seed = pair.seed().unwrap();
            assert_eq!(&seed.expose_secret()[..2], format!("S{letter}"));
            assert_eq!(seed.kind(), kind);
            assert_eq!(NatsKeyPair::from_seed(&seed).unwrap().public_key(), pair.public_key());
        }
    }

    #[test]
    fn go_generated_seed_gives_go_public_key() {
        let seed = NatsSeed::parse(GO_TEST_VECTOR_SEED).unwrap();
        assert_eq!(seed.kind(), NKeyKind::Account);
        assert_eq!(NatsKeyPair::from_seed(&seed).unwrap().public_key(), GO_TEST_VECTOR_PUBLIC);
    }

    #[test]
    fn bad_keys_and_seeds_are_rejected() {
        // The test vector with its checksum broken.
        assert!(NatsSeed::parse(&GO_TEST_VECTOR_SEED.replace("OBK4", "OBK5")).is_err());
        assert!(NatsSeed::parse(GO_TEST_VECTOR_PUBLIC).is_err());
        assert!(NatsSeed::parse("").is_err());
        assert_eq!(public_key_kind(GO_TEST_VECTOR_SEED), None);
        assert_eq!(public_key_kind("ACODERUVFFAWZQDSS6SBIACUA5O6SXF7HJ3YTYXBALHZP3P7R4BUO4J3"), None);
        assert!(check_public_key(GO_TEST_VECTOR_PUBLIC, NKeyKind::User, "subject").is_err());
        assert!(check_public_key(GO_TEST_VECTOR_PUBLIC, NKeyKind::Account, "subject").is_ok());
        // A server key (N…) is a valid nkey but not one of our three roles.
        let server = KeyPair::new_from_raw(KeyPairType::Server, [1; 32]).unwrap().public_key();
        assert_eq!(public_key_kind(&server), None);
    }

    #[test]
    fn signatures_verify_only_for_the_right_key_and_data() {
        let pair = NatsKeyPair::from_raw_seed(NKeyKind::User, &[9; 32]).unwrap();
        let sig = pair.sign(b"hello").unwrap();
        assert!(verify(pair.public_key(), b"hello", &sig).is_ok());
        assert_eq!(verify(pair.public_key(), b"hellO", &sig), Err(NatsError::BadSignature));
        let other = NatsKeyPair::from_raw_seed(NKeyKind::User, &[10; 32]).unwrap();
        assert_eq!(verify(other.public_key(), b"hello", &sig), Err(NatsError::BadSignature));
        assert_eq!(verify(pair.public_key(), b"hello", &sig[..63]), Err(NatsError::BadSignature));
    }

    #[test]
    fn secrets_print_redacted() {
        let pair = NatsKeyPair::from_raw_seed(NKeyKind::Operator, &[3; 32]).unwrap();
        let seed = pair.seed().unwrap();
        let text = seed.expose_secret().to_owned();
        for shown in [format!("{seed:?}"), format!("{pair:?}"), format!("{pair:#?}")] {
            assert!(!shown.contains(&text), "{shown}");
            assert!(!shown.contains(&text[2..20]), "{shown}");
            assert!(shown.contains("redacted"), "{shown}");
        }
        assert!(format!("{pair:?}").contains(pair.public_key()));
    }
}
