//! Unit tests of the hierarchy: determinism, signatures, extensions, refusals, redaction. The
//! acceptance by the real `openssl` is tested in `tests/x509.rs`.

use chrono::{DateTime, TimeZone, Utc};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

use super::*;

fn at(year: i32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap()
}

fn key(n: u8) -> CertificateKey {
    CertificateKey::from_seed(&[n; 32])
}

fn subject(cn: &str) -> Subject {
    Subject::new(cn).unwrap().with_organization("Acme").unwrap().with_country("DE").unwrap()
}

fn ca_request(cn: &str, serial: u8, from: i32, to: i32) -> CaRequest {
    CaRequest {
        subject: subject(cn),
        serial: SerialNumber::from_bytes(&[serial]).unwrap(),
        validity: Validity::new(at(from), at(to)).unwrap(),
    }
}

fn leaf_request(kind: LeafKind, names: &[&str]) -> LeafRequest {
    LeafRequest {
        kind,
        subject: subject("leaf"),
        subject_alt_names: names.iter().map(|n| n.parse().unwrap()).collect(),
        serial: SerialNumber::from_bytes(&[0x10]).unwrap(),
        validity: Validity::new(at(2025), at(2026)).unwrap(),
    }
}

struct Fixture {
    root: RootCa,
    intermediate_cert: Certificate,
    intermediate: IntermediateCa,
}

fn fixture() -> Fixture {
    let root = RootCa::create(key(1), &ca_request("Root", 1, 2024, 2044), 1).unwrap();
    let intermediate_cert =
        root.issue_intermediate(&key(2).public_key(), &ca_request("Intermediate", 2, 2024, 2030)).unwrap();
    let intermediate = IntermediateCa::from_certificate(key(2), &intermediate_cert).unwrap();
    Fixture { root, intermediate_cert, intermediate }
}

/// The contents of a DER TLV at the start of `der`: (header + contents, contents, rest).
fn tlv(der: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let (len, header) = match der[1] {
        n if n < 0x80 => (usize::from(n), 2),
        0x81 => (usize::from(der[2]), 3),
        0x82 => (usize::from(der[2]) << 8 | usize::from(der[3]), 4),
        other => panic!("unexpected DER length byte {other:#x}"),
    };
    (&der[..header + len], &der[header..header + len], &der[header + len..])
}

/// Checks `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }`
/// against the issuer's public key with an independent Ed25519 implementation.
fn signature_verifies(cert: &Certificate, issuer: &PublicKey) -> bool {
    let (_, body, rest) = tlv(cert.der());
    assert!(rest.is_empty());
    let (tbs, _, rest) = tlv(body);
    let (algorithm, _, rest) = tlv(rest);
    assert_eq!(algorithm, [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70], "signature algorithm id-Ed25519");
    let (_, bits, rest) = tlv(rest);
    assert!(rest.is_empty());
    assert_eq!(bits[0], 0, "no unused bits");
    let signature = Signature::from_slice(&bits[1..]).unwrap();
    VerifyingKey::from_bytes(issuer.as_bytes()).unwrap().verify(tbs, &signature).is_ok()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn every_certificate_is_signed_by_its_issuer() {
    let f = fixture();
    let server = f
        .intermediate
        .issue_leaf(&key(3).public_key(), &leaf_request(LeafKind::Server, &["DNS:nats.example.org"]))
        .unwrap();
    let root_key = f.root.certificate().public_key();
    let intermediate_key = f.intermediate_cert.public_key();
    assert!(signature_verifies(f.root.certificate(), &root_key));
    assert!(signature_verifies(&f.intermediate_cert, &root_key));
    assert!(signature_verifies(&server, &intermediate_key));
    assert!(!signature_verifies(&server, &root_key));
    assert!(!signature_verifies(&f.intermediate_cert, &intermediate_key));
}

#[test]
fn the_hierarchy_is_deterministic_and_pinned() {
    let a = fixture();
    let b = fixture();
    assert_eq!(a.root.certificate().der(), b.root.certificate().der());
    assert_eq!(a.intermediate_cert.der(), b.intermediate_cert.der());
    // Golden: a change of these fingerprints is a change of the certificate format.
    assert_eq!(
        a.root.certificate().fingerprint().to_string(),
        "AD:DF:23:76:86:82:6B:85:9F:41:9F:99:28:C0:04:26:B9:C5:A3:4E:D5:6E:6C:A1:91:4D:21:5B:03:2E:58:AD",
        "root fingerprint changed: the certificate encoding changed"
    );
    assert_eq!(
        a.intermediate_cert.fingerprint().to_string(),
        "F4:24:C6:F1:96:1F:32:CB:0D:E8:6F:DE:AB:A6:D5:28:F4:74:11:76:80:7F:E6:9C:3D:B9:EB:82:26:F7:69:C9",
        "intermediate fingerprint changed: the certificate encoding changed"
    );
}

#[test]
fn a_restored_intermediate_issues_identical_leaves() {
    let f = fixture();
    let restored = IntermediateCa::restore(key(2), &ca_request("Intermediate", 2, 2024, 2030));
    let request = leaf_request(LeafKind::Client, &["email:ops@example.org"]);
    let a = f.intermediate.issue_leaf(&key(3).public_key(), &request).unwrap();
    let b = restored.issue_leaf(&key(3).public_key(), &request).unwrap();
    assert_eq!(a.der(), b.der());
    assert_eq!(restored.subject(), f.intermediate.subject());
    assert_eq!(restored.validity(), f.intermediate.validity());
    assert_eq!(restored.public_key(), key(2).public_key());
}

#[test]
fn facts_about_each_certificate() {
    let f = fixture();
    let root = f.root.certificate();
    assert_eq!(root.profile(), CertificateProfile::RootCa { path_len: 1 });
    assert_eq!(f.root.path_len(), 1);
    assert_eq!(root.subject(), root.issuer());
    assert_eq!(root.authority_key_id(), None);
    assert_eq!(root.subject().to_string(), "CN=Root,O=Acme,C=DE");
    assert_eq!(root.serial().to_string(), "01");
    assert_eq!(root.validity(), Validity::new(at(2024), at(2044)).unwrap());
    assert_eq!(root.subject_key_id().as_bytes().len(), 20);

    let inter = &f.intermediate_cert;
    assert_eq!(inter.profile(), CertificateProfile::IntermediateCa { path_len: 0 });
    assert_eq!(inter.issuer(), root.subject());
    assert_eq!(inter.authority_key_id(), Some(root.subject_key_id()));
    assert_ne!(inter.subject_key_id(), root.subject_key_id());
    assert!(inter.profile().is_ca());

    let names = ["DNS:nats.example.org", "DNS:*.nats.example.org", "IP:10.0.0.1", "IP:fd00::1"];
    let server = f.intermediate.issue_leaf(&key(3).public_key(), &leaf_request(LeafKind::Server, &names)).unwrap();
    assert_eq!(server.profile(), CertificateProfile::Server);
    assert!(!server.profile().is_ca());
    assert_eq!(server.issuer(), inter.subject());
    assert_eq!(server.authority_key_id(), Some(inter.subject_key_id()));
    assert_eq!(server.public_key(), key(3).public_key());
    assert_eq!(server.subject_alt_names().len(), 4);
    assert_eq!(server.fingerprint(), Fingerprint::of_der(server.der()));
    assert_eq!(key::pem_decode("CERTIFICATE", server.pem()).unwrap().as_slice(), server.der());
    assert!(server.pem().ends_with("-----END CERTIFICATE-----\n"));
    for cert in [root, inter, &server] {
        assert_eq!(certificate_pem(cert.der()), cert.pem());
    }
}

#[test]
fn extensions_are_encoded_as_asked() {
    let f = fixture();
    // basicConstraints (2.5.29.19), critical, CA:TRUE with pathLenConstraint 1 / 0.
    let bc = |payload: &[u8]| [&[0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04][..], payload].concat();
    assert!(contains(f.root.certificate().der(), &bc(&[0x08, 0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x01])));
    assert!(contains(f.intermediate_cert.der(), &bc(&[0x08, 0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00])));
    // keyUsage (2.5.29.15), critical: keyCertSign + cRLSign = bits 5 and 6.
    let ku_ca = [0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, 0x01, 0x06];
    assert!(contains(f.root.certificate().der(), &ku_ca));
    assert!(contains(f.intermediate_cert.der(), &ku_ca));
    // No authority key identifier (2.5.29.35) on the self-signed root, one on the intermediate.
    assert!(!contains(f.root.certificate().der(), &[0x06, 0x03, 0x55, 0x1d, 0x23]));
    assert!(contains(f.intermediate_cert.der(), &[0x06, 0x03, 0x55, 0x1d, 0x23]));

    let server = f
        .intermediate
        .issue_leaf(&key(3).public_key(), &leaf_request(LeafKind::Server, &["DNS:a.example.org", "IP:10.0.0.1"]))
        .unwrap();
    let der = server.der();
    assert!(contains(der, &bc(&[0x02, 0x30, 0x00])), "CA:FALSE, critical");
    assert!(contains(der, &[0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, 0x07, 0x80]));
    assert!(contains(der, &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01]), "serverAuth");
    assert!(!contains(der, &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02]), "no clientAuth");
    assert!(contains(der, &[0x82, 0x0d]) && contains(der, b"a.example.org"));
    assert!(contains(der, &[0x87, 0x04, 10, 0, 0, 1]), "IP SAN");
    assert!(contains(der, &[0x06, 0x03, 0x55, 0x1d, 0x0e]), "subject key identifier");

    let client = f
        .intermediate
        .issue_leaf(
            &key(4).public_key(),
            &leaf_request(LeafKind::Client, &["email:ops@example.org", "URI:spiffe://acme/ops"]),
        )
        .unwrap();
    let der = client.der();
    assert!(contains(der, &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02]), "clientAuth");
    assert!(!contains(der, &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01]), "no serverAuth");
    assert!(contains(der, &[0x81, 0x0f]) && contains(der, b"ops@example.org"));
    assert!(contains(der, &[0x86, 0x11]) && contains(der, b"spiffe://acme/ops"));
}

#[test]
fn serial_and_times_are_encoded() {
    let root = RootCa::create(
        key(1),
        &CaRequest {
            subject: subject("Root"),
            serial: SerialNumber::from_bytes(&[0x80, 0x01]).unwrap(),
            validity: Validity::new(at(2049), at(2051)).unwrap(),
        },
        2,
    )
    .unwrap();
    let der = root.certificate().der();
    assert!(contains(der, &[0x02, 0x03, 0x00, 0x80, 0x01]), "a positive INTEGER gets a leading zero");
    assert!(contains(der, b"490101000000Z"), "UTCTime before 2050");
    assert!(contains(der, b"20510101000000Z"), "GeneralizedTime from 2050");
    assert!(contains(der, &[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x02]), "pathlen 2");
}

#[test]
fn a_root_needs_room_for_an_intermediate() {
    assert_eq!(
        RootCa::create(key(1), &ca_request("Root", 1, 2024, 2044), 0).unwrap_err(),
        X509Error::PathLengthTooShort(0)
    );
}

#[test]
fn intermediates_are_checked_against_the_root() {
    let f = fixture();
    let other = key(9).public_key();
    assert_eq!(
        f.root.issue_intermediate(&f.root.certificate().public_key(), &ca_request("Intermediate", 2, 2024, 2030)),
        Err(X509Error::KeyReuse)
    );
    assert!(matches!(
        f.root.issue_intermediate(&other, &ca_request("Root", 2, 2024, 2030)),
        Err(X509Error::SameSubjectAsIssuer(_))
    ));
    assert!(matches!(
        f.root.issue_intermediate(&other, &ca_request("Intermediate", 2, 2023, 2030)),
        Err(X509Error::OutlivesIssuer { .. })
    ));
    assert!(matches!(
        f.root.issue_intermediate(&other, &ca_request("Intermediate", 2, 2024, 2045)),
        Err(X509Error::OutlivesIssuer { .. })
    ));
}

#[test]
fn only_an_intermediate_certificate_makes_an_intermediate_ca() {
    let f = fixture();
    assert_eq!(
        IntermediateCa::from_certificate(key(1), f.root.certificate()).unwrap_err(),
        X509Error::NotAnIntermediateCa("root-ca")
    );
    assert_eq!(
        IntermediateCa::from_certificate(key(7), &f.intermediate_cert).unwrap_err(),
        X509Error::KeyDoesNotMatchCertificate
    );
}

#[test]
fn leaves_are_checked_against_their_profile_and_issuer() {
    let f = fixture();
    let issue = |request: &LeafRequest| f.intermediate.issue_leaf(&key(3).public_key(), request);

    assert_eq!(issue(&leaf_request(LeafKind::Server, &[])), Err(X509Error::ServerWithoutNames));
    assert!(matches!(
        issue(&leaf_request(LeafKind::Server, &["DNS:a.example.org", "email:a@example.org"])),
        Err(X509Error::AltNameNotAllowed { profile: "server", kind: "e-mail address", .. })
    ));
    assert!(matches!(
        issue(&leaf_request(LeafKind::Server, &["URI:https://a.example.org"])),
        Err(X509Error::AltNameNotAllowed { kind: "URI", .. })
    ));
    assert!(matches!(
        issue(&leaf_request(LeafKind::Client, &["IP:10.0.0.1"])),
        Err(X509Error::AltNameNotAllowed { profile: "client", kind: "IP address", .. })
    ));
    assert!(matches!(
        issue(&leaf_request(LeafKind::Client, &["DNS:*.example.org"])),
        Err(X509Error::InvalidAltName { .. })
    ));
    assert!(matches!(
        issue(&leaf_request(LeafKind::Server, &["DNS:a.example.org", "DNS:A.example.org"])),
        Err(X509Error::DuplicateAltName(_))
    ));
    // Names built directly (not parsed) are checked too.
    let mut request = leaf_request(LeafKind::Server, &[]);
    request.subject_alt_names = vec![SubjectAltName::Dns("bad name".into())];
    assert!(matches!(issue(&request), Err(X509Error::InvalidAltName { .. })));

    let mut request = leaf_request(LeafKind::Client, &[]);
    assert!(issue(&request).is_ok(), "a client may be named by its subject alone");
    request.validity = Validity::new(at(2025), at(2031)).unwrap();
    assert!(matches!(issue(&request), Err(X509Error::OutlivesIssuer { .. })));

    let request = leaf_request(LeafKind::Client, &[]);
    assert_eq!(f.intermediate.issue_leaf(&key(2).public_key(), &request), Err(X509Error::KeyReuse));
    let mut request = leaf_request(LeafKind::Client, &[]);
    request.subject = subject("Intermediate");
    assert!(matches!(issue(&request), Err(X509Error::SameSubjectAsIssuer(_))));
}

#[test]
fn error_messages_say_what_to_do() {
    let f = fixture();
    let err = f.intermediate.issue_leaf(&key(3).public_key(), &leaf_request(LeafKind::Server, &[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a server certificate needs at least one DNS name or IP address; TLS clients ignore the common name"
    );
    let err =
        f.intermediate.issue_leaf(&key(3).public_key(), &leaf_request(LeafKind::Client, &["IP:10.0.0.1"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a client certificate cannot carry the IP address 'IP Address:10.0.0.1'; \
         a client certificate takes DNS names, e-mail addresses and URIs"
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let f = fixture();
    let seeds: Vec<String> = [1u8, 2].iter().map(|&n| format!("{:?}", [n; 32])).collect();
    let hex_seeds: Vec<String> = [1u8, 2].iter().map(|&n| data_encoding::HEXLOWER.encode(&[n; 32])).collect();
    for debug in [format!("{:?}", f.root), format!("{:#?}", f.intermediate)] {
        assert!(debug.contains("[redacted]"), "{debug}");
        for seed in seeds.iter().chain(&hex_seeds) {
            assert!(!debug.contains(seed.as_str()), "{debug}");
        }
    }
    let cert = format!("{:?}", f.intermediate_cert);
    assert!(cert.contains("CN=Intermediate,O=Acme,C=DE") && cert.contains("Fingerprint("), "{cert}");
}
