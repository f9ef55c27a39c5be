//! The keystore's cryptography: secret types, the passphrase-derived key, the master key and
//! sealed secrets.
//!
//! ```text
//! passphrase ──Argon2id(salt, params)──► KEK ──XChaCha20-Poly1305──► wrapped master key
//! master key ──XChaCha20-Poly1305(AD = version ‖ secret id ‖ kind)──► sealed secret
//! ```
//!
//! * The memory-hard KDF runs **once per unlock**: it derives the key-encryption key (KEK) that
//!   unwraps a random 32-byte master key. Changing the passphrase re-wraps the master key only;
//!   no secret is re-encrypted.
//! * Each secret is sealed under the master key with a fresh 24-byte nonce and with its id
//!   and kind bound as associated data, so a sealed secret cannot be moved to another row or
//!   reinterpreted as another kind of key: opening it there fails.
//! * Secret types ([`Passphrase`], [`MasterKey`], [`SecretBytes`]) zeroize on drop, print as
//!   `[redacted]`, are not `Clone`/`Copy`, and implement no `Serialize`; their bytes are reached
//!   only through `expose_secret()`.
//!
//! Pure code: salts, nonces and the master key's bytes are passed in by the caller, which
//! draws them from the OS CSPRNG.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Format version of wrapped keys and sealed secrets; part of every associated data.
pub const KEYSTORE_FORMAT: u8 = 1;
/// Length of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;
/// Length of a KDF salt.
pub const SALT_LEN: usize = 16;
/// Length of the master key and of the KEK.
pub const KEY_LEN: usize = 32;

/// Why a keystore operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeystoreError {
    /// The passphrase does not unwrap the master key.
    #[error("the passphrase is wrong")]
    WrongPassphrase,
    /// A sealed secret does not open: tampered, truncated, or not the secret of this id and kind.
    #[error("sealed secret {id} ({kind}) does not open: it was altered or belongs elsewhere")]
    SealBroken {
        /// The secret's id.
        id: String,
        /// Its kind.
        kind: String,
    },
    /// The KDF parameters are out of range.
    #[error("invalid key derivation parameters: {0}")]
    Params(String),
    /// The passphrase is unacceptable.
    #[error("the passphrase {0}")]
    WeakPassphrase(&'static str),
}

/// Argon2id parameters, recorded with the vault so it can always be unlocked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// What new vaults use: 64 MiB, 3 passes, 1 lane (OWASP's Argon2id recommendation is at
    /// least 19 MiB and 2 passes; we spend more, since unlocking happens once per session).
    pub const DEFAULT: Self = Self { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 };

    /// The cheapest parameters accepted, for tests and benchmarks of everything but the KDF.
    pub const MINIMUM: Self = Self { memory_kib: 8, iterations: 1, parallelism: 1 };
}

/// A passphrase. Redacted, zeroized, never serialized.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase; refuses an empty one (after trimming a final newline).
    pub fn new(mut text: String) -> Result<Self, KeystoreError> {
        while text.ends_with(['\n', '\r']) {
            text.pop();
        }
        let passphrase = Self(Zeroizing::new(text));
        if passphrase.0.is_empty() {
            return Err(KeystoreError::WeakPassphrase("is empty"));
        }
        Ok(passphrase)
    }

    /// The passphrase's text.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase([redacted])")
    }
}

/// Secret bytes: a seed, a private key. Redacted, zeroized, never serialized.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([redacted; {} bytes])", self.0.len())
    }
}

/// The vault's master key (32 random bytes), under which every secret is sealed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; KEY_LEN]);

impl MasterKey {
    /// Wraps 32 bytes drawn by the caller from the OS CSPRNG.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(&self.0))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

/// The key-encryption key derived from the passphrase.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Kek([u8; KEY_LEN]);

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek([redacted])")
    }
}

/// Derives the KEK from a passphrase (Argon2id, version 0x13). This is the slow step: run it
/// once per unlock.
pub fn derive_kek(passphrase: &Passphrase, salt: &[u8; SALT_LEN], params: KdfParams) -> Result<Kek, KeystoreError> {
    let argon_params = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(KEY_LEN))
        .map_err(|e| KeystoreError::Params(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut kek = [0u8; KEY_LEN];
    argon
        .hash_password_into(passphrase.expose_secret().as_bytes(), salt, &mut kek)
        .map_err(|e| KeystoreError::Params(e.to_string()))?;
    let out = Kek(kek);
    kek.zeroize();
    Ok(out)
}

/// Ciphertext with its nonce, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The nonce (24 bytes, fresh per encryption).
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext and the 16-byte Poly1305 tag.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.ciphertext.len())
    }
}

const MASTER_AD: &[u8] = b"cim-keys/keystore/master";

fn secret_ad(id: &str, kind: &str) -> Vec<u8> {
    // Length-prefixed fields, so ("ab", "c") and ("a", "bc") differ.
    let mut ad = Vec::with_capacity(32 + id.len() + kind.len());
    ad.extend_from_slice(b"cim-keys/keystore/secret");
    ad.push(KEYSTORE_FORMAT);
    for field in [id, kind] {
        ad.extend_from_slice(&(field.len() as u32).to_be_bytes());
        ad.extend_from_slice(field.as_bytes());
    }
    ad
}

fn master_ad() -> Vec<u8> {
    let mut ad = MASTER_AD.to_vec();
    ad.push(KEYSTORE_FORMAT);
    ad
}

/// Wraps the master key under the KEK.
pub fn wrap_master(kek: &Kek, master: &MasterKey, nonce: [u8; NONCE_LEN]) -> Sealed {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&kek.0));
    let ciphertext =
        cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg: &master.0, aad: &master_ad() }).unwrap_or_default();
    Sealed { nonce, ciphertext }
}

/// Unwraps the master key; a wrong passphrase (wrong KEK) fails here.
pub fn unwrap_master(kek: &Kek, wrapped: &Sealed) -> Result<MasterKey, KeystoreError> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(&kek.0));
    let plain = Zeroizing::new(
        cipher
            .decrypt(XNonce::from_slice(&wrapped.nonce), Payload { msg: &wrapped.ciphertext, aad: &master_ad() })
            .map_err(|_| KeystoreError::WrongPassphrase)?,
    );
    let bytes: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| KeystoreError::WrongPassphrase)?;
    Ok(MasterKey(bytes))
}

/// Seals a secret under the master key, binding its id and kind.
pub fn seal(master: &MasterKey, id: &str, kind: &str, secret: &SecretBytes, nonce: [u8; NONCE_LEN]) -> Sealed {
    let ciphertext = master
        .cipher()
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret.expose_secret(), aad: &secret_ad(id, kind) })
        .unwrap_or_default();
    Sealed { nonce, ciphertext }
}

/// Opens a sealed secret; fails if it was altered or is presented under another id or kind.
pub fn open(master: &MasterKey, id: &str, kind: &str, sealed: &Sealed) -> Result<SecretBytes, KeystoreError> {
    master
        .cipher()
        .decrypt(XNonce::from_slice(&sealed.nonce), Payload { msg: &sealed.ciphertext, aad: &secret_ad(id, kind) })
        .map(SecretBytes)
        .map_err(|_| KeystoreError::SealBroken { id: id.to_owned(), kind: kind.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(text: &str) -> Passphrase {
        Passphrase::new(text.to_owned()).unwrap()
    }

    const SALT: [u8; SALT_LEN] = [7; SALT_LEN];

    #[test]
    fn the_right_passphrase_unwraps_the_master_key_and_a_wrong_one_does_not() {
        let kek = derive_kek(&pass("correct horse battery staple"), &SALT, KdfParams::MINIMUM).unwrap();
        let master = MasterKey::from_bytes([42; KEY_LEN]);
        let wrapped = wrap_master(&kek, &master, [1; NONCE_LEN]);
        assert_eq!(wrapped.ciphertext.len(), KEY_LEN + 16);
        let again = derive_kek(&pass("correct horse battery staple"), &SALT, KdfParams::MINIMUM).unwrap();
        assert_eq!(unwrap_master(&again, &wrapped).unwrap().0, [42; KEY_LEN]);
        let wrong = derive_kek(&pass("correct horse battery stapler"), &SALT, KdfParams::MINIMUM).unwrap();
        assert_eq!(unwrap_master(&wrong, &wrapped).unwrap_err(), KeystoreError::WrongPassphrase);
        let other_salt = derive_kek(&pass("correct horse battery staple"), &[8; SALT_LEN], KdfParams::MINIMUM).unwrap();
        assert!(unwrap_master(&other_salt, &wrapped).is_err());
    }

    #[test]
    fn changing_the_passphrase_rewraps_only_the_master_key() {
        let master = MasterKey::from_bytes([9; KEY_LEN]);
        let secret = SecretBytes::new(b"seed bytes".to_vec());
        let sealed = seal(&master, "id-1", "ed25519-seed", &secret, [3; NONCE_LEN]);
        let old = derive_kek(&pass("old"), &SALT, KdfParams::MINIMUM).unwrap();
        let new = derive_kek(&pass("new"), &[1; SALT_LEN], KdfParams::MINIMUM).unwrap();
        let unwrapped = unwrap_master(&old, &wrap_master(&old, &master, [4; NONCE_LEN])).unwrap();
        let rewrapped = wrap_master(&new, &unwrapped, [5; NONCE_LEN]);
        let master_again = unwrap_master(&new, &rewrapped).unwrap();
        assert_eq!(open(&master_again, "id-1", "ed25519-seed", &sealed).unwrap().expose_secret(), b"seed bytes");
    }

    #[test]
    fn a_sealed_secret_is_bound_to_its_id_and_kind() {
        let master = MasterKey::from_bytes([1; KEY_LEN]);
        let secret = SecretBytes::new(vec![0xAB; 32]);
        let sealed = seal(&master, "0192f0c1-0000-7000-8000-000000000001", "nkey-seed", &secret, [0; NONCE_LEN]);
        assert_eq!(
            open(&master, "0192f0c1-0000-7000-8000-000000000001", "nkey-seed", &sealed).unwrap().expose_secret(),
            &[0xAB; 32]
        );
        assert!(open(&master, "0192f0c1-0000-7000-8000-000000000002", "nkey-seed", &sealed).is_err());
        assert!(open(&master, "0192f0c1-0000-7000-8000-000000000001", "ed25519-seed", &sealed).is_err());
        assert!(
            open(&MasterKey::from_bytes([2; KEY_LEN]), "0192f0c1-0000-7000-8000-000000000001", "nkey-seed", &sealed)
                .is_err()
        );
        for i in 0..sealed.ciphertext.len() {
            let mut tampered = sealed.clone();
            tampered.ciphertext[i] ^= 1;
            assert!(open(&master, "0192f0c1-0000-7000-8000-000000000001", "nkey-seed", &tampered).is_err());
        }
        let mut truncated = sealed.clone();
        truncated.ciphertext.pop();
        assert!(open(&master, "0192f0c1-0000-7000-8000-000000000001", "nkey-seed", &truncated).is_err());
        // Field boundaries are unambiguous.
        assert_ne!(secret_ad("ab", "c"), secret_ad("a", "bc"));
    }

    #[test]
    fn secrets_print_redacted() {
        let p = pass("hunter2hunter2");
        let s = SecretBytes::new(b"SUAKZZZ-SECRET".to_vec());
        let m = MasterKey::from_bytes([0x5A; KEY_LEN]);
        let text = format!("{p:?} {s:?} {m:?} {:?}", derive_kek(&p, &SALT, KdfParams::MINIMUM).unwrap());
        assert!(!text.contains("hunter2") && !text.contains("SUAKZZZ") && !text.contains("90"), "{text}");
        assert!(text.contains("redacted"));
    }

    #[test]
    fn passphrases_must_not_be_empty() {
        assert_eq!(Passphrase::new("\n".into()).unwrap_err(), KeystoreError::WeakPassphrase("is empty"));
        assert_eq!(Passphrase::new("pass\r\n".into()).unwrap().expose_secret(), "pass");
    }

    #[test]
    fn bad_kdf_parameters_are_an_error_not_a_panic() {
        let p = pass("x");
        assert!(matches!(
            derive_kek(&p, &SALT, KdfParams { memory_kib: 0, iterations: 0, parallelism: 0 }),
            Err(KeystoreError::Params(_))
        ));
    }
}
