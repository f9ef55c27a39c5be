//! The domain state as a fold over events: `evolve`.
//!
//! [`State`] is the whole domain in memory. The vault never builds it at run time (its read
//! models in SQLite answer the same questions without replaying the log); it is the reference
//! the read models and the graph projection are tested against, and it drives the
//! given/when/then tests of `decide`.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use super::decide::{DomainView, Existing, ExistingCa, ExistingKey, ExistingUnit};
use super::event::CertificateFacts;
use super::event::{DomainEvent, EventEnvelope};
use super::ids::{CaId, CertificateId, KeyId, OrgId, PersonId, RoleId, UnitId};
use super::values::name_key;

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Name.
    pub name: String,
    /// DNS domain.
    pub domain: Option<String>,
    /// Version.
    pub version: u64,
}

/// An organizational unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Organization.
    pub org: OrgId,
    /// Parent unit.
    pub parent: Option<UnitId>,
    /// Name.
    pub name: String,
    /// Version.
    pub version: u64,
}

/// A person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Organization.
    pub org: OrgId,
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Units they are a member of.
    pub units: BTreeSet<UnitId>,
    /// Roles they hold.
    pub roles: BTreeSet<RoleId>,
    /// Version.
    pub version: u64,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Organization.
    pub org: OrgId,
    /// Name.
    pub name: String,
    /// Version.
    pub version: u64,
}

/// A key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Organization.
    pub org: OrgId,
    /// Owner.
    pub owner: PersonId,
    /// Algorithm.
    pub algorithm: String,
    /// OpenSSH public key.
    pub public_key: String,
    /// `SHA256:` fingerprint.
    pub fingerprint: String,
    /// Why it was revoked, if it was.
    pub revoked: Option<String>,
    /// Version.
    pub version: u64,
}

/// A certificate authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ca {
    /// Organization.
    pub org: OrgId,
    /// `root` or `intermediate`.
    pub level: String,
    /// The CA that certified it.
    pub issuer: Option<CaId>,
    /// Its certificate.
    pub facts: CertificateFacts,
    /// Version.
    pub version: u64,
}

/// A leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Organization.
    pub org: OrgId,
    /// The issuing CA.
    pub ca: CaId,
    /// `server` or `client`.
    pub profile: String,
    /// Subject alternative names.
    pub names: Vec<String>,
    /// The certificate.
    pub facts: CertificateFacts,
    /// Version.
    pub version: u64,
}

/// All aggregates, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Organizations.
    pub organizations: BTreeMap<OrgId, Organization>,
    /// Units.
    pub units: BTreeMap<UnitId, Unit>,
    /// People.
    pub people: BTreeMap<PersonId, Person>,
    /// Roles.
    pub roles: BTreeMap<RoleId, Role>,
    /// Keys.
    pub keys: BTreeMap<KeyId, Key>,
    /// Certificate authorities.
    pub cas: BTreeMap<CaId, Ca>,
    /// Leaf certificates.
    pub certificates: BTreeMap<CertificateId, Certificate>,
}

impl State {
    /// Folds events into a state.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a EventEnvelope>) -> Self {
        let mut state = Self::default();
        for event in events {
            state.evolve(event);
        }
        state
    }

    /// Applies one event.
    pub fn evolve(&mut self, envelope: &EventEnvelope) {
        let version = envelope.version;
        match &envelope.event {
            DomainEvent::OrganizationCreated(e) => {
                self.organizations
                    .insert(e.org, Organization { name: e.name.clone(), domain: e.domain.clone(), version });
            }
            DomainEvent::UnitCreated(e) => {
                self.units.insert(e.unit, Unit { org: e.org, parent: e.parent, name: e.name.clone(), version });
            }
            DomainEvent::PersonAdded(e) => {
                self.people.insert(
                    e.person,
                    Person {
                        org: e.org,
                        name: e.name.clone(),
                        email: e.email.clone(),
                        units: e.units.iter().copied().collect(),
                        roles: BTreeSet::new(),
                        version,
                    },
                );
            }
            DomainEvent::RoleDefined(e) => {
                self.roles.insert(e.role, Role { org: e.org, name: e.name.clone(), version });
            }
            DomainEvent::RoleAssigned(e) => {
                if let Some(person) = self.people.get_mut(&e.person) {
                    person.roles.insert(e.role);
                    person.version = version;
                }
            }
            DomainEvent::KeyGenerated(e) => {
                self.keys.insert(
                    e.key,
                    Key {
                        org: e.org,
                        owner: e.owner,
                        algorithm: e.algorithm.clone(),
                        public_key: e.public_key.clone(),
                        fingerprint: e.fingerprint.clone(),
                        revoked: None,
                        version,
                    },
                );
            }
            DomainEvent::KeyRevoked(e) => {
                if let Some(key) = self.keys.get_mut(&e.key) {
                    key.revoked = Some(e.reason.clone());
                    key.version = version;
                }
            }
            DomainEvent::CaCreated(e) => {
                self.cas.insert(
                    e.ca,
                    Ca { org: e.org, level: e.level.clone(), issuer: e.issuer, facts: e.facts.clone(), version },
                );
            }
            DomainEvent::CertificateIssued(e) => {
                self.certificates.insert(
                    e.certificate,
                    Certificate {
                        org: e.org,
                        ca: e.ca,
                        profile: e.profile.clone(),
                        names: e.names.clone(),
                        facts: e.facts.clone(),
                        version,
                    },
                );
            }
        }
    }
}

impl DomainView for State {
    type Error = Infallible;

    fn organization(&self, id: OrgId) -> Result<Option<Existing>, Infallible> {
        Ok(self.organizations.get(&id).map(|o| Existing { org: id, version: o.version }))
    }

    fn organization_name_taken(&self, key: &str) -> Result<bool, Infallible> {
        Ok(self.organizations.values().any(|o| name_key(&o.name) == key))
    }

    fn unit(&self, id: UnitId) -> Result<Option<ExistingUnit>, Infallible> {
        Ok(self.units.get(&id).map(|u| ExistingUnit { org: u.org, parent: u.parent, version: u.version }))
    }

    fn unit_name_taken(&self, org: OrgId, parent: Option<UnitId>, key: &str) -> Result<bool, Infallible> {
        Ok(self.units.values().any(|u| u.org == org && u.parent == parent && name_key(&u.name) == key))
    }

    fn person(&self, id: PersonId) -> Result<Option<Existing>, Infallible> {
        Ok(self.people.get(&id).map(|p| Existing { org: p.org, version: p.version }))
    }

    fn email_taken(&self, org: OrgId, key: &str) -> Result<bool, Infallible> {
        Ok(self.people.values().any(|p| p.org == org && p.email.to_ascii_lowercase() == key))
    }

    fn role(&self, id: RoleId) -> Result<Option<Existing>, Infallible> {
        Ok(self.roles.get(&id).map(|r| Existing { org: r.org, version: r.version }))
    }

    fn role_name_taken(&self, org: OrgId, key: &str) -> Result<bool, Infallible> {
        Ok(self.roles.values().any(|r| r.org == org && name_key(&r.name) == key))
    }

    fn has_role(&self, person: PersonId, role: RoleId) -> Result<bool, Infallible> {
        Ok(self.people.get(&person).is_some_and(|p| p.roles.contains(&role)))
    }

    fn key(&self, id: KeyId) -> Result<Option<ExistingKey>, Infallible> {
        Ok(self.keys.get(&id).map(|k| ExistingKey {
            org: k.org,
            owner: k.owner,
            revoked: k.revoked.is_some(),
            version: k.version,
        }))
    }

    fn fingerprint_taken(&self, fingerprint: &str) -> Result<bool, Infallible> {
        Ok(self.keys.values().any(|k| k.fingerprint == fingerprint))
    }

    fn ca(&self, id: CaId) -> Result<Option<ExistingCa>, Infallible> {
        Ok(self.cas.get(&id).map(|c| ExistingCa {
            org: c.org,
            intermediate: c.level == "intermediate",
            not_before: c.facts.not_before,
            not_after: c.facts.not_after,
        }))
    }

    fn org_has_root(&self, org: OrgId) -> Result<bool, Infallible> {
        Ok(self.cas.values().any(|c| c.org == org && c.level == "root"))
    }

    fn serial_taken(&self, ca: CaId, serial: &str) -> Result<bool, Infallible> {
        Ok(self.certificates.values().any(|c| c.ca == ca && c.facts.serial == serial))
    }

    fn id_in_use(&self, id: uuid::Uuid) -> Result<bool, Infallible> {
        Ok(self.organizations.contains_key(&OrgId::from_uuid(id))
            || self.units.contains_key(&UnitId::from_uuid(id))
            || self.people.contains_key(&PersonId::from_uuid(id))
            || self.roles.contains_key(&RoleId::from_uuid(id))
            || self.keys.contains_key(&KeyId::from_uuid(id))
            || self.cas.contains_key(&CaId::from_uuid(id))
            || self.certificates.contains_key(&CertificateId::from_uuid(id)))
    }
}
