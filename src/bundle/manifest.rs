//! The manifest: what a bundle holds and who made it, signed by the exporting vault's device
//! key (Ed25519).
//!
//! The manifest block (the first block of the CAR, DAG-CBOR) is
//! `{ "manifest": <bytes: the DAG-CBOR manifest>, "signature": <bytes: 64> }`; the signature is
//! over [`SIGNING_CONTEXT`] followed by exactly those manifest bytes, so verifying needs no
//! re-encoding.

use cid::Cid;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::BundleError;
use super::car::{DAG_CBOR, cid_of};
use crate::crypto::ssh;

/// The bundle format version this build writes and reads.
pub const BUNDLE_FORMAT: u64 = 1;
/// The `format` field of every manifest.
pub const FORMAT_NAME: &str = "cim-keys-bundle";
/// Prefix of the signed message: a signature over a manifest can mean nothing else.
pub const SIGNING_CONTEXT: &[u8] = b"cim-keys bundle manifest v1\n";
/// The largest manifest block we read.
pub const MAX_MANIFEST: usize = 16 * 1024;

/// A range of sequence numbers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeqRange {
    /// The first.
    pub first: u64,
    /// The last.
    pub last: u64,
}

impl SeqRange {
    /// How many.
    pub fn len(&self) -> u64 {
        self.last + 1 - self.first
    }

    /// Never: a range holds at least its first.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// What a bundle holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// The format version ([`BUNDLE_FORMAT`]).
    pub v: u64,
    /// The exporting vault's id.
    pub vault: String,
    /// The exporting vault's device id.
    pub device: String,
    /// The device's Ed25519 public key, which signed this manifest.
    pub signer: ByteBuf,
    /// The CID of the last graph event (also the CAR's root).
    pub head: Cid,
    /// The CID of the graph event before the first one in the bundle; none if the bundle
    /// starts the history.
    pub base: Option<Cid>,
    /// The graph events' sequence numbers in the exporting vault.
    pub graph: SeqRange,
    /// The domain events' sequence numbers in the exporting vault.
    pub domain: SeqRange,
    /// Public artifact blocks (JWTs, certificates) in the bundle.
    pub artifacts: u64,
    /// When the bundle was written (RFC 3339, UTC).
    pub created_at: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Signed {
    manifest: ByteBuf,
    signature: ByteBuf,
}

#[derive(Deserialize)]
struct Probe {
    format: String,
    v: u64,
}

impl Manifest {
    /// The blocks the bundle holds after the manifest.
    pub fn blocks(&self) -> u64 {
        self.graph.len() + self.domain.len() + self.artifacts
    }

    /// The signer's fingerprint (`SHA256:…`, as OpenSSH prints Ed25519 keys).
    pub fn signer_fingerprint(&self) -> String {
        self.signer_key().map_or_else(|_| "(malformed key)".into(), |k| ssh::fingerprint(k.as_bytes()).to_string())
    }

    fn signer_key(&self) -> Result<VerifyingKey, BundleError> {
        let bytes: [u8; 32] = self
            .signer
            .as_slice()
            .try_into()
            .map_err(|_| BundleError::Malformed("the manifest's signer is not a 32-byte Ed25519 key".into()))?;
        VerifyingKey::from_bytes(&bytes)
            .map_err(|_| BundleError::Malformed("the manifest's signer is not an Ed25519 public key".into()))
    }

    /// Encodes and signs the manifest with the device key; returns the manifest block's CID and
    /// bytes. `signer` must be the key's public half.
    pub fn sign(&self, key: &SigningKey) -> Result<(Cid, Vec<u8>), BundleError> {
        if self.signer.as_slice() != key.verifying_key().as_bytes() {
            return Err(BundleError::Malformed("the manifest names another signer than the key signing it".into()));
        }
        let manifest = serde_ipld_dagcbor::to_vec(self)
            .map_err(|e| BundleError::Malformed(format!("the manifest cannot be encoded: {e}")))?;
        let mut message = SIGNING_CONTEXT.to_vec();
        message.extend_from_slice(&manifest);
        let signature = key.sign(&message);
        let block = serde_ipld_dagcbor::to_vec(&Signed {
            manifest: ByteBuf::from(manifest),
            signature: ByteBuf::from(signature.to_bytes().to_vec()),
        })
        .map_err(|e| BundleError::Malformed(format!("the manifest cannot be encoded: {e}")))?;
        Ok((cid_of(DAG_CBOR, &block), block))
    }

    /// Decodes a manifest block (its CID already checked), checks its format and version, and
    /// verifies its signature against the signer it names.
    pub fn open(block: &[u8]) -> Result<Self, BundleError> {
        if block.len() > MAX_MANIFEST {
            return Err(BundleError::Malformed("its first block is too large to be a manifest".into()));
        }
        let signed: Signed = serde_ipld_dagcbor::from_slice(block)
            .map_err(|_| BundleError::Malformed("its first block is not a signed cim-keys manifest".into()))?;
        let probe: Probe = serde_ipld_dagcbor::from_slice(&signed.manifest)
            .map_err(|_| BundleError::Malformed("its manifest has no format name and version".into()))?;
        if probe.format != FORMAT_NAME {
            return Err(BundleError::Malformed(format!(
                "it is not a cim-keys bundle (its manifest says format {:?})",
                crate::domain::excerpt(&probe.format)
            )));
        }
        if probe.v != BUNDLE_FORMAT {
            return Err(BundleError::UnsupportedVersion {
                what: "the bundle",
                found: probe.v,
                supported: BUNDLE_FORMAT,
            });
        }
        let manifest: Manifest = serde_ipld_dagcbor::from_slice(&signed.manifest)
            .map_err(|e| BundleError::Malformed(format!("its manifest is malformed: {e}")))?;
        let signature = Signature::from_slice(&signed.signature).map_err(|_| BundleError::BadSignature)?;
        let mut message = SIGNING_CONTEXT.to_vec();
        message.extend_from_slice(&signed.manifest);
        manifest.signer_key()?.verify_strict(&message, &signature).map_err(|_| BundleError::BadSignature)?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Internal consistency: ranges ordered, a base exactly when the history does not start
    /// here, as many graph as domain events at least.
    fn check(&self) -> Result<(), BundleError> {
        let bad = |reason: &str| Err(BundleError::Malformed(format!("its manifest is inconsistent: {reason}")));
        if self.graph.first == 0 || self.graph.first > self.graph.last {
            return bad("the graph event range is empty or starts at 0");
        }
        if self.domain.first == 0 || self.domain.first > self.domain.last {
            return bad("the domain event range is empty or starts at 0");
        }
        if (self.graph.first == 1) != self.base.is_none() {
            return bad("a bundle has a base exactly when it does not start the history");
        }
        if self.graph.len() < self.domain.len() {
            return bad("every domain event has at least one graph event");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(key: &SigningKey) -> Manifest {
        Manifest {
            format: FORMAT_NAME.into(),
            v: BUNDLE_FORMAT,
            vault: "01900000-0000-7000-8000-000000000001".into(),
            device: "01900000-0000-7000-8000-000000000002".into(),
            signer: ByteBuf::from(key.verifying_key().as_bytes().to_vec()),
            head: cid_of(DAG_CBOR, b"head"),
            base: None,
            graph: SeqRange { first: 1, last: 3 },
            domain: SeqRange { first: 1, last: 1 },
            artifacts: 0,
            created_at: "2026-11-22T00:00:00Z".into(),
        }
    }

    #[test]
    fn a_signed_manifest_opens_and_any_changed_byte_is_refused() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let m = manifest(&key);
        let (cid, block) = m.sign(&key).unwrap();
        assert_eq!(cid, cid_of(DAG_CBOR, &block));
        assert_eq!(Manifest::open(&block).unwrap(), m);
        assert_eq!(m.blocks(), 4);
        for i in 0..block.len() {
            let mut bad = block.clone();
            bad[i] ^= 0x01;
            assert!(Manifest::open(&bad).is_err(), "byte {i} changed and still accepted");
        }
    }

    #[test]
    fn another_key_cannot_sign_for_a_signer() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[8u8; 32]);
        assert!(manifest(&key).sign(&other).is_err());
    }

    #[test]
    fn an_unknown_version_is_named() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let m = Manifest { v: 2, ..manifest(&key) };
        let (_, block) = m.sign(&key).unwrap();
        assert!(matches!(Manifest::open(&block), Err(BundleError::UnsupportedVersion { found: 2, .. })));
    }

    #[test]
    fn inconsistent_ranges_are_refused() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let m = Manifest { base: Some(cid_of(DAG_CBOR, b"x")), ..manifest(&key) };
        let (_, block) = m.sign(&key).unwrap();
        assert!(matches!(Manifest::open(&block), Err(BundleError::Malformed(_))));
    }
}
