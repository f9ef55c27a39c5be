//! Blocks: canonical DAG-CBOR bytes and their CIDv1.
//!
//! Every record we address is a *block*: its canonical DAG-CBOR encoding and the CIDv1 of
//! those bytes (codec `dag-cbor` 0x71, multihash `sha2-256` 0x12), printed in base32
//! (`bafy…`). `serde_ipld_dagcbor` writes canonical DAG-CBOR: map keys sorted length-first,
//! then bytewise; shortest integer forms; CIDs as tag 42. Any IPLD library recomputes the same
//! CID from the same bytes (a test does so with `multihash-codetable`).

use cid::Cid;
use cid::multihash::Multihash;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// Multicodec code of DAG-CBOR.
pub const DAG_CBOR: u64 = 0x71;
/// Multicodec code of raw bytes (public artifacts that are not DAG-CBOR: certificates, JWTs).
pub const RAW: u64 = 0x55;
/// Multihash code of SHA2-256.
pub const SHA2_256: u64 = 0x12;

/// A record could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Encoding failed (a bug: our types always encode).
    #[error("could not encode {what} as DAG-CBOR: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The bytes are not a well-formed record of the expected kind.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The record's format version is not one this build reads.
    #[error("{what} has format version {found}, which this cim-keys does not read; upgrade cim-keys")]
    UnsupportedVersion {
        /// What was being decoded.
        what: &'static str,
        /// The version found.
        found: u64,
    },
    /// The record names an event type (or schema version) this build does not know.
    #[error("{what} has unknown type '{name}'{}; upgrade cim-keys", schema.map(|s| format!(" (schema {s})")).unwrap_or_default())]
    UnknownType {
        /// What was being decoded.
        what: &'static str,
        /// The type name found.
        name: String,
        /// Its schema version (domain events only).
        schema: Option<u64>,
    },
}

/// Bytes and the CID that addresses them.
#[derive(Clone, PartialEq, Eq)]
pub struct Block {
    /// CIDv1 of `bytes`.
    pub cid: Cid,
    /// Canonical DAG-CBOR.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Block({}, {} bytes)", self.cid, self.bytes.len())
    }
}

impl Block {
    /// Addresses `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { cid: cid_of(&bytes), bytes }
    }
}

/// The CIDv1 (dag-cbor, sha2-256) of `bytes`.
pub fn cid_of(bytes: &[u8]) -> Cid {
    let digest = Sha256::digest(bytes);
    // A 32-byte digest always fits the 64-byte multihash.
    let hash = Multihash::<64>::wrap(SHA2_256, &digest).unwrap_or_default();
    Cid::new_v1(DAG_CBOR, hash)
}

/// The CIDv1 (raw, sha2-256) of an artifact's bytes: how certificates (DER) and JWTs are
/// addressed.
pub fn raw_cid_of(bytes: &[u8]) -> Cid {
    let digest = Sha256::digest(bytes);
    let hash = Multihash::<64>::wrap(SHA2_256, &digest).unwrap_or_default();
    Cid::new_v1(RAW, hash)
}

/// Length of the binary form of our CIDs: version, codec, hash code, digest length, digest.
pub const CID_LEN: usize = 4 + 32;

/// The binary form of [`cid_of`]`(bytes)`, built without the `Cid` type: `0x01` (CIDv1),
/// `0x71` (dag-cbor), `0x12 0x20` (sha2-256, 32 bytes), then the digest. Hot loops such as
/// `verify` compare these bytes with stored ones instead of parsing CIDs.
pub fn cid_bytes_of(bytes: &[u8]) -> [u8; CID_LEN] {
    let mut out = [0u8; CID_LEN];
    out[..4].copy_from_slice(&[0x01, DAG_CBOR as u8, SHA2_256 as u8, 0x20]);
    out[4..].copy_from_slice(&Sha256::digest(bytes));
    out
}

/// Encodes a value as canonical DAG-CBOR.
pub fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, CodecError> {
    serde_ipld_dagcbor::to_vec(value).map_err(|e| CodecError::Encode { what, reason: e.to_string() })
}

/// Decodes canonical DAG-CBOR.
pub fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, CodecError> {
    serde_ipld_dagcbor::from_slice(bytes).map_err(|e| CodecError::Malformed { what, reason: e.to_string() })
}

#[cfg(test)]
#[test]
fn binary_cids_match_the_cid_type() {
    for input in [&b""[..], b"a", &[0x42; 1000]] {
        assert_eq!(cid_bytes_of(input).to_vec(), cid_of(input).to_bytes());
    }
}

/// Parses a CID printed by us (or anyone).
pub fn parse_cid(text: &str) -> Option<Cid> {
    Cid::try_from(text.trim()).ok()
}

/// Parses a domain event's reference to an artifact (a JWT, a certificate): the CID of its
/// bytes, which is always of the raw codec; anything else is no artifact reference.
pub fn artifact_cid(text: &str) -> Option<Cid> {
    parse_cid(text).filter(|cid| cid.codec() == RAW)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_artifact_reference_is_a_raw_cid() {
        let raw = raw_cid_of(b"a certificate");
        assert_eq!(artifact_cid(&format!(" {raw}\n")), Some(raw));
        assert_eq!(artifact_cid(&cid_of(b"a graph event").to_string()), None, "dag-cbor is no artifact");
        assert_eq!(artifact_cid("not a cid"), None);
    }
}
