//! Ed25519 keys of certificates: the secret [`CertificateKey`] and the public [`PublicKey`].
//!
//! A certificate key is made from a 32-byte seed drawn by the caller from the OS CSPRNG (RFC
//! 8032: the seed *is* the private key). It leaves this module only as a secret type; its
//! PKCS#8 form (RFC 8410, the PEM `PRIVATE KEY` block that OpenSSL, Go and rustls read)
//! is reached only through the explicit `expose_secret_*` methods, for sealing in the keystore
//! or for handing to a TLS server.

use std::fmt;

use data_encoding::{BASE64, HEXLOWER};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::X509Error;

/// Length of an Ed25519 seed (the private key) and of a public key.
pub const ED25519_KEY_LEN: usize = 32;

/// PKCS#8 v1 `PrivateKeyInfo` of an Ed25519 key up to the seed (RFC 8410 §7): SEQUENCE, version
/// 0, AlgorithmIdentifier id-Ed25519 (1.3.101.112), OCTET STRING wrapping the OCTET STRING of
/// the 32-byte seed. OpenSSL writes exactly these bytes for `genpkey -algorithm ed25519`.
const PKCS8_V1_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// The secret key of a certificate (root CA, intermediate CA or leaf): an Ed25519 signing key.
///
/// Not `Clone`, not `Serialize`; `Debug` shows only the public key; the seed is wiped when the
/// value is dropped (the inner `ed25519_dalek::SigningKey` zeroizes itself on drop).
pub struct CertificateKey {
    signing: SigningKey,
    public: PublicKey,
}

// The only secret field, `SigningKey`, zeroizes its bytes on drop.
impl ZeroizeOnDrop for CertificateKey {}

impl CertificateKey {
    /// The key whose seed (RFC 8032 private key) is `seed`. The caller draws the seed from the
    /// OS CSPRNG, or opens it from the keystore, and wipes its own copy.
    pub fn from_seed(seed: &[u8; ED25519_KEY_LEN]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let public = PublicKey(signing.verifying_key().to_bytes());
        Self { signing, public }
    }

    /// The key from a seed held in a byte slice (as the keystore hands secrets out).
    pub fn from_seed_slice(seed: &[u8]) -> Result<Self, X509Error> {
        let seed: &[u8; ED25519_KEY_LEN] =
            seed.try_into().map_err(|_| X509Error::InvalidPrivateKey("an Ed25519 seed is 32 bytes"))?;
        Ok(Self::from_seed(seed))
    }

    /// Reads a PKCS#8 v1 Ed25519 private key in DER, as [`Self::expose_secret_pkcs8_der`] and
    /// OpenSSL write it.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, X509Error> {
        if der.len() != PKCS8_V1_PREFIX.len() + ED25519_KEY_LEN {
            return Err(X509Error::InvalidPrivateKey("expected the 48-byte PKCS#8 v1 form of RFC 8410"));
        }
        let (prefix, seed) = der.split_at(PKCS8_V1_PREFIX.len());
        if prefix != PKCS8_V1_PREFIX {
            return Err(X509Error::InvalidPrivateKey("not a PKCS#8 v1 Ed25519 PrivateKeyInfo (RFC 8410)"));
        }
        Self::from_seed_slice(seed)
    }

    /// Reads a PEM `PRIVATE KEY` block holding a PKCS#8 v1 Ed25519 key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, X509Error> {
        let der = pem_decode("PRIVATE KEY", pem).map_err(X509Error::InvalidPrivateKey)?;
        Self::from_pkcs8_der(&der)
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The 32-byte seed, for sealing in the keystore. Wiped when the returned value is dropped.
    pub fn expose_secret_seed(&self) -> Zeroizing<[u8; ED25519_KEY_LEN]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The private key as PKCS#8 v1 DER (RFC 8410). Wiped when the returned value is dropped.
    pub fn expose_secret_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        let mut der = Zeroizing::new(Vec::with_capacity(PKCS8_V1_PREFIX.len() + ED25519_KEY_LEN));
        der.extend_from_slice(&PKCS8_V1_PREFIX);
        der.extend_from_slice(self.signing.as_bytes());
        der
    }

    /// The private key as a PEM `PRIVATE KEY` block (PKCS#8 v1), the form a
    /// TLS server (nats-server, OpenSSL, rustls) reads. Wiped when the returned value is dropped.
    pub fn expose_secret_pkcs8_pem(&self) -> Zeroizing<String> {
        pem_encode("PRIVATE KEY", &self.expose_secret_pkcs8_der())
    }

    /// The public half, borrowed.
    pub(crate) fn public_key_ref(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message` (Ed25519 is deterministic: no randomness is needed).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateKey").field("public", &self.public).field("secret", &"[redacted]").finish()
    }
}

/// An Ed25519 public key (32 bytes), checked to be a valid curve point.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; ED25519_KEY_LEN]);

impl PublicKey {
    /// The public key of these bytes; refuses bytes that are not a point on Ed25519.
    pub fn from_bytes(bytes: [u8; ED25519_KEY_LEN]) -> Result<Self, X509Error> {
        VerifyingKey::from_bytes(&bytes).map_err(|_| X509Error::InvalidPublicKey("not a point on the curve"))?;
        Ok(Self(bytes))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; ED25519_KEY_LEN] {
        &self.0
    }

    /// The X.509 `SubjectPublicKeyInfo` in DER (RFC 8410 §4), as it appears in a certificate.
    pub fn to_spki_der(&self) -> Vec<u8> {
        rcgen::PublicKeyData::subject_public_key_info(&super::rcgen_glue::Public(self))
    }

    /// The `-----BEGIN PUBLIC KEY-----` PEM block, as `openssl pkey -pubout` prints it.
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.to_spki_der()).to_string()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", HEXLOWER.encode(&self.0))
    }
}

/// PEM (RFC 7468): base64 in lines of 64 characters between BEGIN and END lines, each line
/// ending with `\n`. The result and the scratch space are wiped on drop, as the input may be
/// secret.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let mut b64 = Zeroizing::new(vec![0u8; BASE64.encode_len(der.len())]);
    BASE64.encode_mut(der, &mut b64);
    let lines = b64.len().div_ceil(64);
    let mut out = Zeroizing::new(String::with_capacity(2 * (label.len() + 17) + b64.len() + lines));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.chunks(64) {
        // Base64 output is ASCII.
        out.extend(chunk.iter().map(|&b| char::from(b)));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The DER inside the one PEM block labelled `label`; surrounding text is ignored.
pub(crate) fn pem_decode(label: &str, pem: &str) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or("no PEM block with the expected label")? + begin.len();
    let stop = pem[start..].find(&end).ok_or("the PEM block has no END line")? + start;
    let mut b64 = Zeroizing::new(Vec::with_capacity(stop - start));
    b64.extend(pem[start..stop].bytes().filter(|b| !b.is_ascii_whitespace()));
    let len = BASE64.decode_len(b64.len()).map_err(|_| "the PEM body is not base64")?;
    let mut der = Zeroizing::new(vec![0u8; len]);
    let written = BASE64.decode_mut(&b64, &mut der).map_err(|_| "the PEM body is not base64")?;
    der.truncate(written);
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        HEXLOWER.decode(s.as_bytes()).unwrap().try_into().unwrap()
    }

    /// RFC 8410 §10.3 private key and §10.1 public key (the same key pair).
    const RFC8410_TEST_VECTOR_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
        -----END PRIVATE KEY-----\n";
    const RFC8410_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----\n\
        MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n\
        -----END PUBLIC KEY-----\n";

    #[test]
    fn rfc8032_test_vector_1_gives_its_public_key() {
        let key = CertificateKey::from_seed(&hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
        assert_eq!(
            key.public_key().as_bytes(),
            &hex32("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        );
        // RFC 8032 §7.1 TEST 1: the signature of the empty message.
        assert_eq!(
            HEXLOWER.encode(&key.sign(b"")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn rfc8410_pem_vectors_read_and_write_back_identically() {
        let key = CertificateKey::from_pkcs8_pem(RFC8410_TEST_VECTOR_PEM).unwrap();
        assert_eq!(key.public_key().to_pem(), RFC8410_PUBLIC_PEM);
        assert_eq!(key.expose_secret_pkcs8_pem().as_str(), RFC8410_TEST_VECTOR_PEM);
        assert_eq!(
            key.expose_secret_seed().as_slice(),
            hex32("d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842")
        );
    }

    #[test]
    fn pkcs8_round_trips_for_many_seeds() {
        for i in 0u8..=255 {
            let key = CertificateKey::from_seed(&[i; 32]);
            let der = key.expose_secret_pkcs8_der();
            assert_eq!(der.len(), 48);
            assert_eq!(CertificateKey::from_pkcs8_der(&der).unwrap().public_key(), key.public_key());
            let pem = key.expose_secret_pkcs8_pem();
            assert_eq!(CertificateKey::from_pkcs8_pem(&pem).unwrap().public_key(), key.public_key());
        }
    }

    #[test]
    fn malformed_private_keys_are_refused() {
        assert!(matches!(CertificateKey::from_pkcs8_der(&[0u8; 48]), Err(X509Error::InvalidPrivateKey(_))));
        assert!(matches!(CertificateKey::from_pkcs8_der(&PKCS8_V1_PREFIX), Err(X509Error::InvalidPrivateKey(_))));
        assert!(CertificateKey::from_pkcs8_pem("no pem here").is_err());
        assert!(
            CertificateKey::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n").is_err()
        );
        assert!(CertificateKey::from_pkcs8_pem(RFC8410_PUBLIC_PEM).is_err());
        assert!(CertificateKey::from_seed_slice(&[1u8; 31]).is_err());
        assert!(CertificateKey::from_seed_slice(&[1u8; 32]).is_ok());
    }

    #[test]
    fn debug_shows_the_public_key_only() {
        let key = CertificateKey::from_seed(&[7u8; 32]);
        let seed_hex = HEXLOWER.encode(&[7u8; 32]);
        let debug = format!("{key:?} {key:#?}");
        assert!(debug.contains("[redacted]"));
        assert!(debug.contains(&HEXLOWER.encode(key.public_key().as_bytes())));
        assert!(!debug.contains(&seed_hex));
        assert!(!debug.contains("07, 07"));
        assert!(!debug.contains("7, 7"));
    }

    #[test]
    fn public_keys_off_the_curve_are_refused() {
        // y = 2 does not decompress to a point on edwards25519.
        let mut bytes = [0u8; 32];
        bytes[0] = 2;
        assert!(PublicKey::from_bytes(bytes).is_err());
        let good = CertificateKey::from_seed(&[9u8; 32]).public_key();
        assert_eq!(PublicKey::from_bytes(*good.as_bytes()).unwrap(), good);
    }

    #[test]
    fn secret_types_wipe_themselves() {
        fn zeroize_on_drop<T: ZeroizeOnDrop>() {}
        zeroize_on_drop::<CertificateKey>();
        zeroize_on_drop::<SigningKey>();
    }
}
