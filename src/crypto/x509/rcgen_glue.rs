//! Adapters that let rcgen encode and sign with our key types, so rcgen never holds a copy of
//! a private key (its own `KeyPair` keeps an unwiped PKCS#8 copy) and never needs randomness.

use super::{CertificateKey, PublicKey};

/// A public key as rcgen sees it.
pub(crate) struct Public<'a>(pub(crate) &'a PublicKey);

impl rcgen::PublicKeyData for Public<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

/// A signing key as rcgen sees it: Ed25519 signatures are deterministic (RFC 8032).
pub(crate) struct Signer<'a>(pub(crate) &'a CertificateKey);

impl rcgen::PublicKeyData for Signer<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key_ref().as_bytes()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

impl rcgen::SigningKey for Signer<'_> {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.0.sign(message).to_vec())
    }
}
