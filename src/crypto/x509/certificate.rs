//! What a certificate is made of and what comes out: [`SerialNumber`], [`Validity`], the
//! issued [`Certificate`] with its [`Fingerprint`] and [`KeyIdentifier`]s.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Timelike, Utc};
use data_encoding::{HEXLOWER_PERMISSIVE, HEXUPPER};
use sha2::{Digest, Sha256};

use super::{PublicKey, Subject, SubjectAltName, X509Error};

/// Bytes as `AB:CD:EF`, the way OpenSSL prints fingerprints and key identifiers.
fn colon_hex(bytes: &[u8]) -> String {
    let hex = HEXUPPER.encode(bytes);
    let mut out = String::with_capacity(hex.len() + hex.len() / 2);
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.extend(pair.iter().map(|&b| char::from(b)));
    }
    out
}

/// A certificate serial number: a positive integer of at most 20 octets (RFC 5280 §4.1.2.2),
/// unique per issuing CA.
///
/// The caller draws it from the OS CSPRNG ([`SerialNumber::from_random`]) or reads it back from
/// the record ([`FromStr`], hexadecimal). `Display` prints upper-case hexadecimal, as
/// `openssl x509 -serial` does.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SerialNumber(Vec<u8>);

impl SerialNumber {
    /// The serial number of these big-endian bytes. Leading zero bytes are dropped (they do not
    /// change the integer); zero, and numbers that need more than 20 octets in DER, are refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, X509Error> {
        let first = bytes.iter().position(|&b| b != 0).ok_or(X509Error::InvalidSerial("it is zero"))?;
        let canonical = &bytes[first..];
        if canonical.len() > 20 || (canonical.len() == 20 && canonical[0] & 0x80 != 0) {
            return Err(X509Error::InvalidSerial("it needs more than the 20 octets RFC 5280 allows"));
        }
        Ok(Self(canonical.to_vec()))
    }

    /// A serial number from 20 random bytes (159 bits would be the most RFC 5280 allows; the
    /// top bit is cleared so the number is positive and the next one set so it always has
    /// exactly 20 octets: 158 random bits, far above the 64 the CA/Browser Forum asks for).
    pub fn from_random(mut bytes: [u8; 20]) -> Self {
        bytes[0] = (bytes[0] & 0x7f) | 0x40;
        Self(bytes.to_vec())
    }

    /// The big-endian bytes, without leading zeros.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&HEXUPPER.encode(&self.0))
    }
}

impl fmt::Debug for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SerialNumber({self})")
    }
}

impl FromStr for SerialNumber {
    type Err = X509Error;

    /// Reads hexadecimal, in either case, with or without colons; an odd number of digits is
    /// read as if it had a leading zero.
    fn from_str(text: &str) -> Result<Self, X509Error> {
        let mut digits: String = text.chars().filter(|&c| c != ':').collect();
        if digits.len() % 2 == 1 {
            digits.insert(0, '0');
        }
        let bytes = HEXLOWER_PERMISSIVE
            .decode(digits.as_bytes())
            .map_err(|_| X509Error::InvalidSerial("it is not hexadecimal"))?;
        Self::from_bytes(&bytes)
    }
}

/// The period in which a certificate is valid, both ends inclusive, in whole seconds (the
/// precision X.509 records).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Validity {
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
}

impl Validity {
    /// From `not_before` to `not_after`, each truncated to the whole second. Refuses an empty or
    /// reversed period and times outside the years 1950 to 9999.
    pub fn new(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> Result<Self, X509Error> {
        let not_before = whole_second(not_before)?;
        let not_after = whole_second(not_after)?;
        if not_after <= not_before {
            return Err(X509Error::EmptyValidity { not_before, not_after });
        }
        Ok(Self { not_before, not_after })
    }

    /// From `not_before` for `days` days.
    pub fn for_days(not_before: DateTime<Utc>, days: u32) -> Result<Self, X509Error> {
        let not_after = not_before
            .checked_add_signed(chrono::Duration::days(i64::from(days)))
            .ok_or(X509Error::TimeOutOfRange(not_before))?;
        Self::new(not_before, not_after)
    }

    /// The first second of validity.
    pub fn not_before(&self) -> DateTime<Utc> {
        self.not_before
    }

    /// The last second of validity.
    pub fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// Whether `other` lies within this period.
    pub fn contains(&self, other: &Validity) -> bool {
        self.not_before <= other.not_before && other.not_after <= self.not_after
    }

    /// Whether `at` lies within this period.
    pub fn includes(&self, at: DateTime<Utc>) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// Sets rcgen's `not_before` and `not_after`.
    pub(crate) fn apply(&self, params: &mut rcgen::CertificateParams) {
        params.not_before = shift(rcgen::date_time_ymd(1970, 1, 1), self.not_before.timestamp());
        params.not_after = shift(rcgen::date_time_ymd(1970, 1, 1), self.not_after.timestamp());
    }
}

fn whole_second(time: DateTime<Utc>) -> Result<DateTime<Utc>, X509Error> {
    if !(1950..=9999).contains(&time.year()) {
        return Err(X509Error::TimeOutOfRange(time));
    }
    Ok(time.with_nanosecond(0).unwrap_or(time))
}

/// Moves rcgen's time value (the `time` crate's `OffsetDateTime`, which this crate does not
/// name) by `seconds`; with `epoch` = 1970-01-01 this gives the instant of a Unix timestamp.
fn shift<T>(epoch: T, seconds: i64) -> T
where
    T: std::ops::Add<std::time::Duration, Output = T> + std::ops::Sub<std::time::Duration, Output = T>,
{
    let magnitude = std::time::Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 { epoch + magnitude } else { epoch - magnitude }
}

/// The SHA-256 fingerprint of a certificate's DER, as
/// `openssl x509 -fingerprint -sha256 -noout` prints it (`AB:CD:…`, 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a certificate's DER.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// The 32 bytes of the SHA-256 digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&colon_hex(&self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A key identifier (subject or authority key identifier extension): the first 20 bytes of the
/// SHA-256 digest of the key's `SubjectPublicKeyInfo` (in the spirit of RFC 7093 method 1).
/// `Display` prints it as `openssl x509 -text` does.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyIdentifier(Vec<u8>);

impl KeyIdentifier {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The identifier's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for KeyIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&colon_hex(&self.0))
    }
}

impl fmt::Debug for KeyIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyIdentifier({self})")
    }
}

/// What a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertificateProfile {
    /// A self-signed root CA: `CA:TRUE` with a path length, key usage keyCertSign and cRLSign.
    RootCa {
        /// How many intermediate CAs may follow it in a chain.
        path_len: u8,
    },
    /// An intermediate CA signed by the root: `CA:TRUE, pathlen:0`, keyCertSign and cRLSign.
    IntermediateCa {
        /// How many CAs may follow it (always 0: it signs only end-entity certificates).
        path_len: u8,
    },
    /// A TLS server: `CA:FALSE`, digitalSignature, extended key usage serverAuth.
    Server,
    /// A TLS client: `CA:FALSE`, digitalSignature, extended key usage clientAuth.
    Client,
}

impl CertificateProfile {
    /// A stable lower-case name: `root-ca`, `intermediate-ca`, `server`, `client`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RootCa { .. } => "root-ca",
            Self::IntermediateCa { .. } => "intermediate-ca",
            Self::Server => "server",
            Self::Client => "client",
        }
    }

    /// Whether the certificate may sign other certificates.
    pub fn is_ca(&self) -> bool {
        matches!(self, Self::RootCa { .. } | Self::IntermediateCa { .. })
    }
}

impl fmt::Display for CertificateProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An issued certificate: its DER and PEM, and every fact about it an event records (subject,
/// issuer, serial, validity, fingerprint, profile, public key, names).
///
/// Public: holds no secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    pub(crate) der: Vec<u8>,
    pub(crate) pem: String,
    pub(crate) profile: CertificateProfile,
    pub(crate) subject: Subject,
    pub(crate) issuer: Subject,
    pub(crate) serial: SerialNumber,
    pub(crate) validity: Validity,
    pub(crate) public_key: PublicKey,
    pub(crate) subject_alt_names: Vec<SubjectAltName>,
    pub(crate) subject_key_id: KeyIdentifier,
    pub(crate) authority_key_id: Option<KeyIdentifier>,
    pub(crate) fingerprint: Fingerprint,
}

impl Certificate {
    /// The certificate in DER: the bytes that are hashed for the fingerprint and stored as a
    /// content-addressed block.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as a `-----BEGIN CERTIFICATE-----` PEM block (ending with a newline).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// What the certificate is for.
    pub fn profile(&self) -> CertificateProfile {
        self.profile
    }

    /// The subject.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The issuer (the subject itself for a root CA).
    pub fn issuer(&self) -> &Subject {
        &self.issuer
    }

    /// The serial number.
    pub fn serial(&self) -> &SerialNumber {
        &self.serial
    }

    /// The validity period.
    pub fn validity(&self) -> Validity {
        self.validity
    }

    /// The subject's public key.
    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// The subject alternative names (empty for CAs).
    pub fn subject_alt_names(&self) -> &[SubjectAltName] {
        &self.subject_alt_names
    }

    /// The subject key identifier.
    pub fn subject_key_id(&self) -> &KeyIdentifier {
        &self.subject_key_id
    }

    /// The authority key identifier: the issuer's subject key identifier (none on a root CA).
    pub fn authority_key_id(&self) -> Option<&KeyIdentifier> {
        self.authority_key_id.as_ref()
    }

    /// The SHA-256 fingerprint of the DER.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("profile", &self.profile)
            .field("subject", &self.subject.to_string())
            .field("issuer", &self.issuer.to_string())
            .field("serial", &self.serial)
            .field("validity", &self.validity)
            .field("fingerprint", &self.fingerprint)
            .field("der_len", &self.der.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn serials_are_canonical_positive_and_short() {
        assert_eq!(SerialNumber::from_bytes(&[0, 0, 1, 2]).unwrap().as_bytes(), &[1, 2]);
        assert_eq!(SerialNumber::from_bytes(&[0x80]).unwrap().to_string(), "80");
        assert!(SerialNumber::from_bytes(&[]).is_err());
        assert!(SerialNumber::from_bytes(&[0, 0]).is_err());
        assert!(SerialNumber::from_bytes(&[0x7f; 20]).is_ok());
        assert!(SerialNumber::from_bytes(&[0x80; 20]).is_err(), "a 21st octet would be needed for the sign");
        assert!(SerialNumber::from_bytes(&[1; 21]).is_err());
        let mut padded = vec![0u8; 5];
        padded.extend([0x7f; 20]);
        assert!(SerialNumber::from_bytes(&padded).is_ok());
    }

    #[test]
    fn random_serials_always_have_20_positive_octets() {
        for byte in [0x00, 0x3f, 0x40, 0x7f, 0x80, 0xff] {
            let serial = SerialNumber::from_random([byte; 20]);
            assert_eq!(serial.as_bytes().len(), 20);
            assert_eq!(serial.as_bytes()[0] & 0xc0, 0x40);
            assert_eq!(SerialNumber::from_bytes(serial.as_bytes()).unwrap(), serial);
        }
    }

    #[test]
    fn serials_round_trip_through_hex() {
        for bytes in [&[1u8][..], &[0x0a, 0xbc], &[0x7f; 20], &[0x80, 0, 0]] {
            let serial = SerialNumber::from_bytes(bytes).unwrap();
            assert_eq!(serial.to_string().parse::<SerialNumber>().unwrap(), serial);
            assert_eq!(serial.to_string().to_lowercase().parse::<SerialNumber>().unwrap(), serial);
        }
        assert_eq!("0A:BC".parse::<SerialNumber>().unwrap().to_string(), "0ABC");
        assert_eq!("abc".parse::<SerialNumber>().unwrap().to_string(), "0ABC");
        assert!("xyz".parse::<SerialNumber>().is_err());
        assert!("00".parse::<SerialNumber>().is_err());
    }

    #[test]
    fn validity_is_whole_seconds_and_non_empty() {
        let start = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap() + chrono::Duration::milliseconds(750);
        let validity = Validity::for_days(start, 1).unwrap();
        assert_eq!(validity.not_before(), Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap());
        assert_eq!(validity.not_after(), Utc.with_ymd_and_hms(2025, 1, 2, 12, 0, 0).unwrap());
        assert!(matches!(Validity::new(start, start), Err(X509Error::EmptyValidity { .. })));
        assert!(matches!(Validity::for_days(start, 0), Err(X509Error::EmptyValidity { .. })));
        let old = Utc.with_ymd_and_hms(1949, 12, 31, 23, 59, 59).unwrap();
        assert!(matches!(Validity::new(old, start), Err(X509Error::TimeOutOfRange(_))));
        let far = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
        assert!(matches!(Validity::new(start, far), Err(X509Error::TimeOutOfRange(_))));
        let last = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
        assert!(Validity::new(start, last).is_ok());
    }

    #[test]
    fn validity_containment() {
        let at = |y| Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).unwrap();
        let outer = Validity::new(at(2020), at(2040)).unwrap();
        assert!(outer.contains(&Validity::new(at(2020), at(2040)).unwrap()));
        assert!(outer.contains(&Validity::new(at(2021), at(2030)).unwrap()));
        assert!(!outer.contains(&Validity::new(at(2019), at(2030)).unwrap()));
        assert!(!outer.contains(&Validity::new(at(2021), at(2041)).unwrap()));
        assert!(outer.includes(at(2040)) && !outer.includes(at(2041)));
    }

    #[test]
    fn times_map_to_the_same_instant_in_rcgen() {
        for (y, mo, d, h, mi, s) in
            [(1950, 1, 1, 0, 0, 0), (1969, 12, 31, 23, 59, 59), (2025, 6, 1, 8, 30, 15), (9999, 12, 31, 23, 59, 59)]
        {
            let time = Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
            let expected = format!("{y}-{mo:02}-{d:02} {h}:{mi:02}:{s:02}.0 +00:00:00");
            assert_eq!(format!("{:?}", shift(rcgen::date_time_ymd(1970, 1, 1), time.timestamp())), expected);
        }
    }

    #[test]
    fn fingerprints_print_like_openssl() {
        // SHA-256 of the empty string.
        assert_eq!(
            Fingerprint::of_der(b"").to_string(),
            "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
        assert_eq!(KeyIdentifier::new(vec![0x0a, 0xff]).to_string(), "0A:FF");
    }
}
