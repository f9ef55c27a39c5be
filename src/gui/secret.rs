//! Text typed into secret fields (passphrases): kept out of `Debug` output and logs, and
//! zeroized when dropped. Messages carry it, so it must be `Clone`; every copy zeroizes itself.

use std::fmt;

use zeroize::Zeroizing;

use crate::crypto::keystore::{KeystoreError, Passphrase};

/// A secret typed by the operator.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    /// Wraps typed text.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The text, for a text input's value. Secret.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether nothing was typed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The keystore's passphrase type (refused if empty).
    pub fn to_passphrase(&self) -> Result<Passphrase, KeystoreError> {
        Passphrase::new(self.0.as_str().to_owned())
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText([redacted])")
    }
}
