//! The X.509 CA hierarchy: an offline root CA, an intermediate CA, and the TLS server and
//! client certificates they issue.
//!
//! # The hierarchy
//!
//! ```text
//!  RootCa          self-signed, long-lived (say 20 years), key kept offline
//!    │             CA:TRUE, pathlen:1 · keyCertSign, cRLSign · subject key id
//!    ▼
//!  IntermediateCa  signed by the root, shorter-lived (say 5 years), issues day to day
//!    │             CA:TRUE, pathlen:0 · keyCertSign, cRLSign · subject + authority key id
//!    ▼
//!  leaf            signed by the intermediate, short-lived (say 1 year)
//!                  CA:FALSE · digitalSignature · serverAuth or clientAuth · SANs · key ids
//! ```
//!
//! Verifiers (nats-server, `openssl verify`, rustls) are given only the **root** certificate:
//! it is the trust anchor. A TLS peer presents its leaf together with the intermediate, and the
//! verifier builds the path leaf → intermediate → root, checking each signature, each validity
//! period, and each CA's constraints. Because day-to-day issuing uses the intermediate, the root
//! key can stay on the air-gapped machine; if the intermediate is ever compromised, the root
//! certifies a new one and no verifier needs a new trust anchor.
//!
//! # Path length
//!
//! The basic-constraints extension says whether a certificate is a CA and, with
//! `pathLenConstraint`, how many further CA certificates may follow it in a path (RFC 5280
//! §4.2.1.9). The root here carries a path length of at least 1 (one level of intermediates);
//! every intermediate carries 0, so it can sign end-entity certificates only. Leaves carry
//! `CA:FALSE`. A verifier rejects a path that breaks these rules, so a stolen leaf key cannot
//! mint certificates and an intermediate cannot create sub-CAs. Key usage (keyCertSign and
//! cRLSign for CAs, digitalSignature for leaves) and extended key usage (serverAuth, clientAuth)
//! further limit what each key is accepted for. The hierarchy is enforced by the types: only a
//! [`RootCa`] certifies intermediates, only an [`IntermediateCa`] issues leaves.
//!
//! # Why Ed25519
//!
//! Every key here is Ed25519 (RFC 8410):
//! * signatures are **deterministic** (RFC 8032), so signing needs no randomness: this module
//!   stays pure, the same inputs always give a byte-identical certificate (a CA can be restored
//!   by re-deriving its certificate and comparing fingerprints), and there is no nonce to get
//!   wrong, unlike ECDSA;
//! * keys are 32-byte seeds, the same kind as NATS nkeys and SSH identity keys, so one keystore
//!   format and one CSPRNG draw serve them all;
//! * OpenSSL (1.1.1 and later), Go's crypto/tls (nats-server) and rustls accept Ed25519
//!   certificates. Web browsers do not: these certificates are for machine-to-machine TLS,
//!   not for public web sites.
//!
//! # Purity
//!
//! Like the rest of `crypto`, this module does no IO and reads no clock or RNG: key seeds,
//! serial numbers ([`SerialNumber::from_random`] takes the random bytes) and validity periods
//! are passed in. Private keys leave only as [`CertificateKey`], a secret type; its PKCS#8 PEM
//! only through [`CertificateKey::expose_secret_pkcs8_pem`].
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use cim_keys::crypto::x509::*;
//!
//! let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
//! let subject = |cn: &str| Subject::new(cn)?.with_organization("Acme");
//!
//! let root = RootCa::create(
//!     CertificateKey::from_seed(&[1; 32]), // from the OS CSPRNG in real use
//!     &CaRequest {
//!         subject: subject("Acme Root CA")?,
//!         serial: SerialNumber::from_random([2; 20]),
//!         validity: Validity::for_days(start, 20 * 365)?,
//!     },
//!     1,
//! )?;
//!
//! let intermediate_key = CertificateKey::from_seed(&[3; 32]);
//! let intermediate_request = CaRequest {
//!     subject: subject("Acme Intermediate CA")?,
//!     serial: SerialNumber::from_random([4; 20]),
//!     validity: Validity::for_days(start, 5 * 365)?,
//! };
//! let intermediate_cert = root.issue_intermediate(&intermediate_key.public_key(), &intermediate_request)?;
//! let intermediate = IntermediateCa::from_certificate(intermediate_key, &intermediate_cert)?;
//!
//! let server_key = CertificateKey::from_seed(&[5; 32]);
//! let server = intermediate.issue_leaf(
//!     &server_key.public_key(),
//!     &LeafRequest {
//!         kind: LeafKind::Server,
//!         subject: subject("nats.example.org")?,
//!         subject_alt_names: vec!["DNS:nats.example.org".parse()?, "IP:10.0.0.1".parse()?],
//!         serial: SerialNumber::from_random([6; 20]),
//!         validity: Validity::for_days(start, 365)?,
//!     },
//! )?;
//! assert!(server.pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
//! assert_eq!(server.issuer(), intermediate_cert.subject());
//! assert_eq!(server.authority_key_id(), Some(intermediate_cert.subject_key_id()));
//! # Ok::<(), X509Error>(())
//! ```

mod certificate;
mod error;
mod key;
mod name;
mod rcgen_glue;

pub use certificate::{Certificate, CertificateProfile, Fingerprint, KeyIdentifier, SerialNumber, Validity};
pub use error::X509Error;
pub use key::{CertificateKey, ED25519_KEY_LEN, PublicKey};
pub use name::{Subject, SubjectAltName};

use error::shorten;
use rcgen_glue::{Public, Signer};

/// The `-----BEGIN CERTIFICATE-----` PEM block of a certificate's DER (as stored in a
/// content-addressed block), exactly as [`Certificate::pem`] gives it at issuance.
pub fn certificate_pem(der: &[u8]) -> String {
    key::pem_encode("CERTIFICATE", der).to_string()
}

/// What to put in a CA certificate (root or intermediate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaRequest {
    /// The CA's name.
    pub subject: Subject,
    /// The certificate's serial number, unique per issuer.
    pub serial: SerialNumber,
    /// The certificate's validity period.
    pub validity: Validity,
}

/// The kind of end-entity certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeafKind {
    /// A TLS server (nats-server, a web service): extended key usage serverAuth; at least one
    /// DNS name or IP address, a DNS name may be a wildcard (`*.example.org`).
    Server,
    /// A TLS client (mutual TLS): extended key usage clientAuth; DNS names, e-mail addresses
    /// and URIs as given, or none (the subject alone identifies the client).
    Client,
}

/// What to put in a leaf certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafRequest {
    /// Server or client.
    pub kind: LeafKind,
    /// The certificate's subject.
    pub subject: Subject,
    /// The names a TLS peer is matched against.
    pub subject_alt_names: Vec<SubjectAltName>,
    /// The certificate's serial number, unique per issuer.
    pub serial: SerialNumber,
    /// The certificate's validity period; must lie within the issuing CA's.
    pub validity: Validity,
}

/// The offline root CA: its key, and its self-signed certificate (the trust anchor).
///
/// Only a root certifies intermediate CAs. Its key is a secret; `Debug` redacts it.
#[derive(Debug)]
pub struct RootCa {
    key: CertificateKey,
    certificate: Certificate,
    path_len: u8,
}

impl RootCa {
    /// Self-signs the root certificate for `key`. `path_len` is how many levels of
    /// intermediate CAs may follow (at least 1; 1 is the usual choice).
    ///
    /// Deterministic: the same key and request always give the byte-identical certificate, so
    /// calling this again with the recorded request and the key from the keystore restores the
    /// root; compare the fingerprint with the recorded one to be sure.
    pub fn create(key: CertificateKey, request: &CaRequest, path_len: u8) -> Result<Self, X509Error> {
        if path_len == 0 {
            return Err(X509Error::PathLengthTooShort(path_len));
        }
        let certificate = issue(
            CertificateProfile::RootCa { path_len },
            &request.subject,
            key.public_key_ref(),
            &request.serial,
            &request.validity,
            &[],
            Issuing { subject: &request.subject, key: &key, self_signed: true },
        )?;
        Ok(Self { key, certificate, path_len })
    }

    /// The root certificate: the trust anchor to hand to every verifier.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// How many levels of intermediate CAs may follow the root.
    pub fn path_len(&self) -> u8 {
        self.path_len
    }

    /// Certifies an intermediate CA (`CA:TRUE, pathlen:0`) for `public_key`. Its validity must
    /// lie within the root's; its key and subject must differ from the root's.
    pub fn issue_intermediate(&self, public_key: &PublicKey, request: &CaRequest) -> Result<Certificate, X509Error> {
        check_issuance(&self.certificate, public_key, &request.subject, &request.validity)?;
        issue(
            CertificateProfile::IntermediateCa { path_len: 0 },
            &request.subject,
            public_key,
            &request.serial,
            &request.validity,
            &[],
            Issuing { subject: self.certificate.subject(), key: &self.key, self_signed: false },
        )
    }
}

/// An intermediate CA, ready to issue leaf certificates: its key, subject and validity.
///
/// Its key is a secret; `Debug` redacts it.
#[derive(Debug)]
pub struct IntermediateCa {
    key: CertificateKey,
    subject: Subject,
    validity: Validity,
}

impl IntermediateCa {
    /// The intermediate CA certified by `certificate`; refuses a certificate that is not an
    /// intermediate CA's or is not for `key`.
    pub fn from_certificate(key: CertificateKey, certificate: &Certificate) -> Result<Self, X509Error> {
        if !matches!(certificate.profile(), CertificateProfile::IntermediateCa { .. }) {
            return Err(X509Error::NotAnIntermediateCa(certificate.profile().name()));
        }
        if certificate.public_key() != key.public_key() {
            return Err(X509Error::KeyDoesNotMatchCertificate);
        }
        Ok(Self { key, subject: certificate.subject().clone(), validity: certificate.validity() })
    }

    /// The intermediate CA restored from its key and the request its certificate was issued
    /// for (as recorded), without the root: issuing a leaf needs only the intermediate's name,
    /// validity and key. The caller vouches that `request` is the one the root certified for
    /// this key.
    pub fn restore(key: CertificateKey, request: &CaRequest) -> Self {
        Self { key, subject: request.subject.clone(), validity: request.validity }
    }

    /// The intermediate CA's name: the issuer of its leaves.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The intermediate CA's validity: every leaf's must lie within it.
    pub fn validity(&self) -> Validity {
        self.validity
    }

    /// The intermediate CA's public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// Issues a server or client certificate for `public_key`.
    ///
    /// Refuses: names not allowed for the kind (a server needs at least one DNS name or IP
    /// address; a client takes DNS names without wildcards, e-mail addresses and URIs), a name
    /// given twice, a validity outside the intermediate's, the intermediate's own key or subject.
    pub fn issue_leaf(&self, public_key: &PublicKey, request: &LeafRequest) -> Result<Certificate, X509Error> {
        check_leaf_names(request)?;
        if *public_key == self.key.public_key() {
            return Err(X509Error::KeyReuse);
        }
        if request.subject == self.subject {
            return Err(X509Error::SameSubjectAsIssuer(shorten(&request.subject.to_string())));
        }
        check_within(&self.validity, &request.validity)?;
        let profile = match request.kind {
            LeafKind::Server => CertificateProfile::Server,
            LeafKind::Client => CertificateProfile::Client,
        };
        issue(
            profile,
            &request.subject,
            public_key,
            &request.serial,
            &request.validity,
            &request.subject_alt_names,
            Issuing { subject: &self.subject, key: &self.key, self_signed: false },
        )
    }
}

fn check_leaf_names(request: &LeafRequest) -> Result<(), X509Error> {
    let names = &request.subject_alt_names;
    for name in names {
        let (allowed, profile, hint) = match request.kind {
            LeafKind::Server => (
                matches!(name, SubjectAltName::Dns(_) | SubjectAltName::Ip(_)),
                "server",
                "a server certificate takes DNS names and IP addresses",
            ),
            LeafKind::Client => (
                !matches!(name, SubjectAltName::Ip(_)),
                "client",
                "a client certificate takes DNS names, e-mail addresses and URIs",
            ),
        };
        if !allowed {
            let kind = match name {
                SubjectAltName::Dns(_) => "DNS name",
                SubjectAltName::Ip(_) => "IP address",
                SubjectAltName::Email(_) => "e-mail address",
                SubjectAltName::Uri(_) => "URI",
            };
            return Err(X509Error::AltNameNotAllowed { profile, kind, input: shorten(&name.to_string()), hint });
        }
        name.check(request.kind == LeafKind::Server)?;
    }
    if request.kind == LeafKind::Server && names.is_empty() {
        return Err(X509Error::ServerWithoutNames);
    }
    name::check_unique(names)
}

fn check_issuance(
    issuer: &Certificate,
    public_key: &PublicKey,
    subject: &Subject,
    validity: &Validity,
) -> Result<(), X509Error> {
    if *public_key == issuer.public_key() {
        return Err(X509Error::KeyReuse);
    }
    if subject == issuer.subject() {
        return Err(X509Error::SameSubjectAsIssuer(shorten(&subject.to_string())));
    }
    check_within(&issuer.validity(), validity)
}

fn check_within(issuer: &Validity, validity: &Validity) -> Result<(), X509Error> {
    if issuer.contains(validity) {
        Ok(())
    } else {
        Err(X509Error::OutlivesIssuer {
            not_before: validity.not_before(),
            not_after: validity.not_after(),
            issuer_not_before: issuer.not_before(),
            issuer_not_after: issuer.not_after(),
        })
    }
}

/// Who signs: the issuer's name and key (for a root, its own).
struct Issuing<'a> {
    subject: &'a Subject,
    key: &'a CertificateKey,
    self_signed: bool,
}

/// rcgen parameters for a CA: what rcgen needs to know about an issuer.
fn ca_params(subject: &Subject, path_len: u8) -> Result<rcgen::CertificateParams, X509Error> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = subject.to_rcgen()?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(path_len));
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    params.key_identifier_method = rcgen::KeyIdMethod::Sha256;
    Ok(params)
}

/// Encodes and signs one certificate. All checks of names and validity have been done.
fn issue(
    profile: CertificateProfile,
    subject: &Subject,
    public_key: &PublicKey,
    serial: &SerialNumber,
    validity: &Validity,
    subject_alt_names: &[SubjectAltName],
    issuing: Issuing<'_>,
) -> Result<Certificate, X509Error> {
    let mut params = match profile {
        CertificateProfile::RootCa { path_len } | CertificateProfile::IntermediateCa { path_len } => {
            ca_params(subject, path_len)?
        }
        CertificateProfile::Server | CertificateProfile::Client => {
            let mut params = rcgen::CertificateParams::default();
            params.distinguished_name = subject.to_rcgen()?;
            params.is_ca = rcgen::IsCa::ExplicitNoCa;
            params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![if profile == CertificateProfile::Server {
                rcgen::ExtendedKeyUsagePurpose::ServerAuth
            } else {
                rcgen::ExtendedKeyUsagePurpose::ClientAuth
            }];
            params.key_identifier_method = rcgen::KeyIdMethod::Sha256;
            params
        }
    };
    params.serial_number = Some(rcgen::SerialNumber::from_slice(serial.as_bytes()));
    validity.apply(&mut params);
    params.subject_alt_names = subject_alt_names.iter().map(SubjectAltName::to_rcgen).collect::<Result<_, _>>()?;
    // A self-signed root may omit the authority key identifier (RFC 5280 §4.2.1.1); every
    // other certificate names its issuer's key with it, for path building.
    params.use_authority_key_identifier_extension = !issuing.self_signed;

    let signer = Signer(issuing.key);
    let subject_key_id = KeyIdentifier::new(params.key_identifier(&Public(public_key)));
    let (encoded, authority_key_id) = if issuing.self_signed {
        (params.self_signed(&signer)?, None)
    } else {
        // Path length of the issuer's parameters does not matter here: rcgen takes only its
        // name, key-identifier method and key usages.
        let issuer = rcgen::Issuer::new(ca_params(issuing.subject, 0)?, &signer);
        let authority_key_id = KeyIdentifier::new(params.key_identifier(&signer));
        (params.signed_by(&Public(public_key), &issuer)?, Some(authority_key_id))
    };
    let der = encoded.der().to_vec();
    Ok(Certificate {
        fingerprint: Fingerprint::of_der(&der),
        pem: encoded.pem(),
        der,
        profile,
        subject: subject.clone(),
        issuer: issuing.subject.clone(),
        serial: serial.clone(),
        validity: *validity,
        public_key: *public_key,
        subject_alt_names: subject_alt_names.to_vec(),
        subject_key_id,
        authority_key_id,
    })
}

#[cfg(test)]
mod tests;
