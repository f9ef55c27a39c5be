//! Why a certificate could not be made.

use chrono::{DateTime, Utc};

/// A certificate request was refused, or a key or serial number could not be read. Nothing was
/// signed.
///
/// Every message says what was wrong and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum X509Error {
    /// A field of a distinguished name is empty.
    #[error("the {field} of the certificate subject is empty; give at least one visible character")]
    EmptyName {
        /// Which field.
        field: &'static str,
    },
    /// A field of a distinguished name is too long for X.509 (RFC 5280 upper bounds).
    #[error("the {field} of the certificate subject has {chars} characters; X.509 allows at most {max}")]
    NameTooLong {
        /// Which field.
        field: &'static str,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A field of a distinguished name has a control character or leading/trailing spaces.
    #[error("the {field} of the certificate subject {reason}; remove it")]
    BadNameCharacters {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The country is not a two-letter ISO 3166 code.
    #[error("the country '{0}' is not a two-letter upper-case ISO 3166 code such as DE or US")]
    InvalidCountry(String),
    /// A subject alternative name is malformed.
    #[error("'{input}' is not a valid {kind}: {reason}")]
    InvalidAltName {
        /// Which kind of name (DNS name, e-mail address, URI, IP address).
        kind: &'static str,
        /// The name (shortened).
        input: String,
        /// The rule it broke.
        reason: &'static str,
    },
    /// A subject alternative name of a kind this profile does not allow.
    #[error("a {profile} certificate cannot carry the {kind} '{input}'; {hint}")]
    AltNameNotAllowed {
        /// The profile (server, client).
        profile: &'static str,
        /// Which kind of name.
        kind: &'static str,
        /// The name (shortened).
        input: String,
        /// What is allowed instead.
        hint: &'static str,
    },
    /// A subject alternative name is given twice.
    #[error("the subject alternative name '{0}' is given twice; give each name once")]
    DuplicateAltName(String),
    /// A server certificate without any DNS name or IP address.
    #[error("a server certificate needs at least one DNS name or IP address; TLS clients ignore the common name")]
    ServerWithoutNames,
    /// A serial number is zero, too long, or not hexadecimal.
    #[error("invalid serial number: {0}")]
    InvalidSerial(&'static str),
    /// The validity period is empty or reversed.
    #[error("the validity period starts {not_before} but ends {not_after}; the end must come after the start")]
    EmptyValidity {
        /// Start.
        not_before: DateTime<Utc>,
        /// End.
        not_after: DateTime<Utc>,
    },
    /// A validity time outside the years X.509 can encode.
    #[error("{0} is outside the years 1950 to 9999 that an X.509 certificate can encode")]
    TimeOutOfRange(DateTime<Utc>),
    /// A certificate would be valid before or after its issuer.
    #[error(
        "the certificate would be valid from {not_before} to {not_after}, outside its issuer's validity \
         ({issuer_not_before} to {issuer_not_after}); shorten it to lie within the issuer's"
    )]
    OutlivesIssuer {
        /// Requested start.
        not_before: DateTime<Utc>,
        /// Requested end.
        not_after: DateTime<Utc>,
        /// Issuer's start.
        issuer_not_before: DateTime<Utc>,
        /// Issuer's end.
        issuer_not_after: DateTime<Utc>,
    },
    /// A root CA with path length 0 could not certify an intermediate CA.
    #[error("a root CA needs a path length of at least 1 to certify an intermediate CA; {0} was given")]
    PathLengthTooShort(u8),
    /// A certificate other than an intermediate CA's was offered to issue leaves.
    #[error("a {0} certificate cannot issue leaf certificates; use the intermediate CA's certificate")]
    NotAnIntermediateCa(&'static str),
    /// A CA key that is not the key its certificate certifies.
    #[error("this key is not the one the CA certificate certifies; open the CA's own key from the keystore")]
    KeyDoesNotMatchCertificate,
    /// A subject key that is also its issuer's key.
    #[error("the certificate's key is its issuer's key; every certificate in the hierarchy needs a key of its own")]
    KeyReuse,
    /// A certificate whose subject is its issuer's subject.
    #[error("the certificate's subject '{0}' is its issuer's subject; give it a name of its own")]
    SameSubjectAsIssuer(String),
    /// Bytes that are not an Ed25519 public key.
    #[error("not an Ed25519 public key: {0}")]
    InvalidPublicKey(&'static str),
    /// A private key that is not an Ed25519 PKCS#8 key.
    #[error("not an Ed25519 private key in PKCS#8 form: {0}")]
    InvalidPrivateKey(&'static str),
    /// The certificate encoder refused the request (should not happen for validated input).
    #[error("the certificate could not be encoded: {0}")]
    Encoding(String),
}

impl From<rcgen::Error> for X509Error {
    fn from(error: rcgen::Error) -> Self {
        Self::Encoding(error.to_string())
    }
}

/// Shortens user input quoted in an error message.
pub(crate) fn shorten(input: &str) -> String {
    const MAX: usize = 80;
    if input.chars().count() <= MAX {
        input.to_owned()
    } else {
        let mut out: String = input.chars().take(MAX).collect();
        out.push('…');
        out
    }
}
