//! The organization's X.509 CA hierarchy: `pki init` creates an offline root and the
//! intermediate it certifies; `pki issue` has the intermediate issue server and client
//! certificates. Keys are generated here from the OS CSPRNG and sealed in the keystore; the
//! certificates are public artifact blocks (CIDv1, raw codec, of the DER) referenced from the
//! events; everything of one command commits in one transaction.

use chrono::{SubsecRound, Utc};
use data_encoding::HEXUPPER;
use zeroize::Zeroizing;

use super::{AppError, Extras, Receipt, Vault, random, single};
use crate::crypto::keystore::{self, Passphrase, SecretBytes};
use crate::crypto::x509::{
    CaRequest, Certificate, CertificateKey, IntermediateCa, LeafKind, LeafRequest, RootCa, SerialNumber, Subject,
    SubjectAltName, Validity, X509Error, certificate_pem,
};
use crate::domain::{CaId, CertificateFacts, CertificateId, Command, DomainError, OrgId, Timestamp};
use crate::projection::raw_cid_of;
use crate::store::PkiRow;

/// Keystore kind of a CA's Ed25519 seed.
pub const CA_SEED_KIND: &str = "x509-ca-seed";
/// Keystore kind of a leaf certificate's Ed25519 seed.
pub const LEAF_SEED_KIND: &str = "x509-leaf-seed";
/// Media type of certificate artifact blocks (DER).
pub const CERTIFICATE_MEDIA_TYPE: &str = "application/pkix-cert";
/// Validity of a new root CA, in days (20 years).
pub const ROOT_DAYS: u32 = 7305;
/// Validity of a new intermediate CA, in days (10 years).
pub const INTERMEDIATE_DAYS: u32 = 3652;

/// What leaf certificate to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafSpec {
    /// Server or client.
    pub kind: LeafKind,
    /// The subject's common name.
    pub common_name: String,
    /// Subject alternative names, as `DNS:…`, `IP:…`, `email:…`, `URI:…`, or a bare DNS name
    /// or IP address.
    pub names: Vec<String>,
    /// Validity in days from now.
    pub days: u32,
}

fn x509(e: X509Error) -> AppError {
    AppError::Invalid(e.to_string())
}

fn facts(certificate: &Certificate) -> CertificateFacts {
    let validity = certificate.validity();
    CertificateFacts {
        subject: certificate.subject().to_string(),
        common_name: certificate.subject().common_name().to_owned(),
        organization: certificate.subject().organization().map(str::to_owned),
        serial: certificate.serial().to_string(),
        not_before: Timestamp::from_datetime(validity.not_before()),
        not_after: Timestamp::from_datetime(validity.not_after()),
        fingerprint: certificate.fingerprint().to_string(),
        certificate: raw_cid_of(certificate.der()).to_string(),
    }
}

fn artifact(certificate: &Certificate) -> (cid::Cid, &'static str, Vec<u8>) {
    (raw_cid_of(certificate.der()), CERTIFICATE_MEDIA_TYPE, certificate.der().to_vec())
}

/// Parses a subject alternative name; a bare value is an IP address if it parses as one, else
/// a DNS name.
fn san(text: &str) -> Result<SubjectAltName, AppError> {
    let text = text.trim();
    if let Ok(name) = text.parse::<SubjectAltName>() {
        return Ok(name);
    }
    if let Ok(ip) = text.parse::<core::net::IpAddr>() {
        return Ok(SubjectAltName::Ip(ip));
    }
    if text.contains(':') {
        return Err(AppError::Invalid(format!(
            "'{}' is not a subject alternative name; use DNS:…, IP:…, email:… or URI:…",
            crate::domain::excerpt(text)
        )));
    }
    Ok(SubjectAltName::Dns(text.to_owned()))
}

impl Vault {
    pub(super) fn org_name(&self, org: OrgId) -> Result<String, AppError> {
        self.organizations()?
            .into_iter()
            .find(|o| o.id == org.to_string())
            .map(|o| o.name)
            .ok_or(AppError::Rejected { index: None, error: DomainError::UnknownOrganization(org) })
    }

    /// Creates the organization's CA hierarchy: an offline root CA (20 years, path length 1)
    /// and an intermediate CA it certifies (10 years, path length 0). Returns their ids.
    pub fn pki_init(&mut self, org: OrgId, passphrase: &Passphrase) -> Result<(CaId, CaId, Receipt), AppError> {
        let name = self.org_name(org)?;
        let master = self.unlock(passphrase)?;
        let now = Utc::now().trunc_subsecs(0);
        let root_id = CaId::from_uuid(super::new_id());
        let intermediate_id = CaId::from_uuid(super::new_id());
        let root_seed = Zeroizing::new(random::<32>()?);
        let intermediate_seed = Zeroizing::new(random::<32>()?);
        let subject = |cn: String| Subject::new(cn).and_then(|s| s.with_organization(name.clone())).map_err(x509);
        let root_request = CaRequest {
            subject: subject(format!("{name} Root CA"))?,
            serial: SerialNumber::from_random(random()?),
            validity: Validity::for_days(now, ROOT_DAYS).map_err(x509)?,
        };
        let root = RootCa::create(CertificateKey::from_seed(&root_seed), &root_request, 1).map_err(x509)?;
        let intermediate_key = CertificateKey::from_seed(&intermediate_seed);
        let intermediate_request = CaRequest {
            subject: subject(format!("{name} Intermediate CA"))?,
            serial: SerialNumber::from_random(random()?),
            validity: Validity::for_days(now, INTERMEDIATE_DAYS).map_err(x509)?,
        };
        let intermediate =
            root.issue_intermediate(&intermediate_key.public_key(), &intermediate_request).map_err(x509)?;
        let seal = |id: CaId, seed: &[u8; 32]| -> Result<_, AppError> {
            let sealed =
                keystore::seal(&master, &id.to_string(), CA_SEED_KIND, &SecretBytes::new(seed.to_vec()), random()?);
            Ok((id.to_string(), CA_SEED_KIND, sealed))
        };
        let extras = Extras {
            secrets: vec![seal(root_id, &root_seed)?, seal(intermediate_id, &intermediate_seed)?],
            artifacts: vec![artifact(root.certificate()), artifact(&intermediate)],
        };
        let command = Command::InitPki {
            org,
            root: root_id,
            root_facts: facts(root.certificate()),
            intermediate: intermediate_id,
            intermediate_facts: facts(&intermediate),
        };
        let receipt = self.run(vec![command], extras, &mut |_, _| {}).map_err(single)?;
        Ok((root_id, intermediate_id, receipt))
    }

    /// Issues a leaf certificate from the organization's intermediate CA; its key is generated
    /// and sealed in the keystore.
    pub fn pki_issue(
        &mut self,
        org: OrgId,
        spec: &LeafSpec,
        passphrase: &Passphrase,
    ) -> Result<(CertificateId, Receipt), AppError> {
        let name = self.org_name(org)?;
        let (ca_id, cn, organization, serial, not_before, not_after) = self
            .store
            .intermediate_ca(&org.to_string())?
            .ok_or(AppError::Rejected { index: None, error: DomainError::NoPki(org) })?;
        let master = self.unlock(passphrase)?;
        let (kind, sealed) = self.store.secret(&ca_id)?.ok_or_else(|| {
            AppError::Store(crate::store::StoreError::Corrupt(format!(
                "the key of CA {ca_id} is missing from the keystore"
            )))
        })?;
        let seed = keystore::open(&master, &ca_id, &kind, &sealed)?;
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(seed.expose_secret().try_into().map_err(|_| {
            AppError::Store(crate::store::StoreError::Corrupt("a CA seed has the wrong length".into()))
        })?);
        let corrupt = |what: &str| {
            AppError::Store(crate::store::StoreError::Corrupt(format!("CA {ca_id} has a malformed {what}")))
        };
        let mut subject = Subject::new(cn).map_err(x509)?;
        if let Some(o) = organization {
            subject = subject.with_organization(o).map_err(x509)?;
        }
        let request = CaRequest {
            subject,
            serial: SerialNumber::from_bytes(&HEXUPPER.decode(serial.as_bytes()).map_err(|_| corrupt("serial"))?)
                .map_err(x509)?,
            validity: Validity::new(
                Timestamp::parse(&not_before).ok_or_else(|| corrupt("validity"))?.datetime(),
                Timestamp::parse(&not_after).ok_or_else(|| corrupt("validity"))?.datetime(),
            )
            .map_err(x509)?,
        };
        let ca = IntermediateCa::restore(CertificateKey::from_seed(&seed), &request);
        let names = spec.names.iter().map(|n| san(n)).collect::<Result<Vec<_>, _>>()?;
        let leaf_seed = Zeroizing::new(random::<32>()?);
        let leaf_key = CertificateKey::from_seed(&leaf_seed);
        let leaf_request = LeafRequest {
            kind: spec.kind,
            subject: Subject::new(spec.common_name.clone()).and_then(|s| s.with_organization(name)).map_err(x509)?,
            subject_alt_names: names,
            serial: SerialNumber::from_random(random()?),
            validity: Validity::for_days(Utc::now().trunc_subsecs(0), spec.days).map_err(x509)?,
        };
        let certificate = ca.issue_leaf(&leaf_key.public_key(), &leaf_request).map_err(x509)?;
        let id = CertificateId::from_uuid(super::new_id());
        let sealed =
            keystore::seal(&master, &id.to_string(), LEAF_SEED_KIND, &SecretBytes::new(leaf_seed.to_vec()), random()?);
        let extras =
            Extras { secrets: vec![(id.to_string(), LEAF_SEED_KIND, sealed)], artifacts: vec![artifact(&certificate)] };
        let command = Command::IssueCertificate {
            id,
            ca: ca_id.parse()?,
            profile: match spec.kind {
                LeafKind::Server => "server".into(),
                LeafKind::Client => "client".into(),
            },
            names: certificate.subject_alt_names().iter().map(ToString::to_string).collect(),
            facts: facts(&certificate),
        };
        let receipt = self.run(vec![command], extras, &mut |_, _| {}).map_err(single)?;
        Ok((id, receipt))
    }

    /// The CAs and certificates of an organization.
    pub fn pki_list(&self, org: OrgId) -> Result<(Vec<PkiRow>, Vec<PkiRow>), AppError> {
        self.org_name(org)?;
        Ok(self.store.pki(&org.to_string())?)
    }

    /// A CA or certificate by id.
    pub fn pki_entry(&self, id: &str) -> Result<PkiRow, AppError> {
        self.store.pki_entry(id)?.ok_or_else(|| {
            AppError::Invalid(format!("no CA or certificate has the id '{}'", crate::domain::excerpt(id)))
        })
    }

    /// The PEM of a CA's or certificate's certificate, read from its artifact block (whose CID
    /// is checked).
    pub fn pki_pem(&self, id: &str) -> Result<String, AppError> {
        let entry = self.pki_entry(id)?;
        let der = self.checked_artifact(&entry.certificate, "certificate")?;
        Ok(certificate_pem(&der))
    }
}
