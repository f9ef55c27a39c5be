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
use super::ids::{AccountId, CaId, CertificateId, KeyId, NatsUserId, OperatorId, OrgId, PersonId, RoleId, UnitId};
use super::nats::{ExistingNatsAccount, ExistingNatsOperator, ExistingNatsUser, NatsEntity, NatsOwner, NatsSigningKey};
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

/// A NATS operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsOperator {
    /// Organization.
    pub org: OrgId,
    /// Name.
    pub name: String,
    /// Identity public key.
    pub public_key: String,
    /// Current signing keys.
    pub signing_keys: Vec<String>,
    /// System account public key.
    pub system_account: String,
    /// CID of its current JWT.
    pub jwt: String,
    /// Version.
    pub version: u64,
}

/// A NATS account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsAccount {
    /// Organization.
    pub org: OrgId,
    /// Operator.
    pub operator: OperatorId,
    /// The unit it serves.
    pub unit: Option<UnitId>,
    /// Whether it is the system account.
    pub system: bool,
    /// Name.
    pub name: String,
    /// Identity public key.
    pub public_key: String,
    /// Current signing keys.
    pub signing_keys: Vec<NatsSigningKey>,
    /// Whether JetStream is enabled.
    pub jetstream: bool,
    /// CID of its current JWT.
    pub jwt: String,
    /// Version.
    pub version: u64,
}

/// A NATS user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsUser {
    /// Organization.
    pub org: OrgId,
    /// Account.
    pub account: AccountId,
    /// The person.
    pub person: PersonId,
    /// Name.
    pub name: String,
    /// Public key.
    pub public_key: String,
    /// The signing key that signed its current JWT.
    pub signer: String,
    /// The scoped role it was signed under.
    pub role: Option<String>,
    /// CID of its current JWT.
    pub jwt: String,
    /// When it was revoked (unix seconds).
    pub revoked_at: Option<i64>,
    /// Version.
    pub version: u64,
}

/// A signing key retired by a rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredNatsKey {
    /// Organization.
    pub org: OrgId,
    /// The operator or account it belonged to.
    pub owner: NatsOwner,
    /// Its role, if it was scoped.
    pub role: Option<String>,
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
    /// NATS operators.
    pub nats_operators: BTreeMap<OperatorId, NatsOperator>,
    /// NATS accounts.
    pub nats_accounts: BTreeMap<AccountId, NatsAccount>,
    /// NATS users.
    pub nats_users: BTreeMap<NatsUserId, NatsUser>,
    /// NATS signing keys retired by rotations, by public key.
    pub retired_nats_keys: BTreeMap<String, RetiredNatsKey>,
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
            DomainEvent::NatsOperatorCreated(e) => {
                self.nats_operators.insert(
                    e.operator,
                    NatsOperator {
                        org: e.org,
                        name: e.name.clone(),
                        public_key: e.public_key.clone(),
                        signing_keys: e.signing_keys.clone(),
                        system_account: e.system_account.clone(),
                        jwt: e.jwt.clone(),
                        version,
                    },
                );
            }
            DomainEvent::NatsAccountCreated(e) => {
                self.nats_accounts.insert(
                    e.account,
                    NatsAccount {
                        org: e.org,
                        operator: e.operator,
                        unit: e.unit,
                        system: e.system,
                        name: e.name.clone(),
                        public_key: e.public_key.clone(),
                        signing_keys: e.signing_keys.clone(),
                        jetstream: e.jetstream,
                        jwt: e.jwt.clone(),
                        version,
                    },
                );
            }
            DomainEvent::NatsUserCreated(e) => {
                self.nats_users.insert(
                    e.user,
                    NatsUser {
                        org: e.org,
                        account: e.account,
                        person: e.person,
                        name: e.name.clone(),
                        public_key: e.public_key.clone(),
                        signer: e.signer.clone(),
                        role: e.role.clone(),
                        jwt: e.jwt.clone(),
                        revoked_at: None,
                        version,
                    },
                );
            }
            DomainEvent::NatsUserRevoked(e) => {
                if let Some(user) = self.nats_users.get_mut(&e.user) {
                    user.revoked_at = Some(e.revoked_at);
                    user.version = version;
                }
                if let Some(account) = self.nats_accounts.get_mut(&e.account) {
                    account.jwt = e.account_jwt.clone();
                }
            }
            DomainEvent::NatsSigningKeyRotated(e) => {
                match e.owner {
                    NatsOwner::Operator(id) => {
                        if let Some(operator) = self.nats_operators.get_mut(&id) {
                            for key in &mut operator.signing_keys {
                                if *key == e.old_key {
                                    key.clone_from(&e.new_key.public_key);
                                }
                            }
                            operator.version = version;
                        }
                    }
                    NatsOwner::Account(id) => {
                        if let Some(account) = self.nats_accounts.get_mut(&id) {
                            for key in &mut account.signing_keys {
                                if key.public_key == e.old_key {
                                    *key = e.new_key.clone();
                                }
                            }
                            account.version = version;
                        }
                    }
                }
                self.retired_nats_keys.insert(
                    e.old_key.clone(),
                    RetiredNatsKey { org: e.org, owner: e.owner, role: e.new_key.role.clone() },
                );
                for entry in &e.reissued {
                    match entry.entity {
                        NatsEntity::Operator(id) => {
                            if let Some(o) = self.nats_operators.get_mut(&id) {
                                o.jwt = entry.jwt.clone();
                            }
                        }
                        NatsEntity::Account(id) => {
                            if let Some(a) = self.nats_accounts.get_mut(&id) {
                                a.jwt = entry.jwt.clone();
                            }
                        }
                        NatsEntity::User(id) => {
                            if let Some(u) = self.nats_users.get_mut(&id) {
                                u.jwt = entry.jwt.clone();
                                if u.signer == e.old_key {
                                    u.signer = e.new_key.public_key.clone();
                                }
                            }
                        }
                    }
                }
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
            || self.certificates.contains_key(&CertificateId::from_uuid(id))
            || self.nats_operators.contains_key(&OperatorId::from_uuid(id))
            || self.nats_accounts.contains_key(&AccountId::from_uuid(id))
            || self.nats_users.contains_key(&NatsUserId::from_uuid(id)))
    }

    fn nats_operator(&self, org: OrgId) -> Result<Option<ExistingNatsOperator>, Infallible> {
        Ok(self.nats_operators.iter().find(|(_, o)| o.org == org).map(|(id, o)| ExistingNatsOperator {
            id: *id,
            signing_keys: o.signing_keys.clone(),
            system_account: o.system_account.clone(),
            has_system_account: self.nats_accounts.values().any(|a| a.org == org && a.system),
            version: o.version,
        }))
    }

    fn nats_account(&self, id: AccountId) -> Result<Option<ExistingNatsAccount>, Infallible> {
        Ok(self.nats_accounts.get(&id).map(|a| ExistingNatsAccount {
            org: a.org,
            system: a.system,
            signing_keys: a.signing_keys.clone(),
            version: a.version,
        }))
    }

    fn nats_account_of(&self, org: OrgId, unit: Option<UnitId>) -> Result<Option<AccountId>, Infallible> {
        Ok(self.nats_accounts.iter().find(|(_, a)| a.org == org && !a.system && a.unit == unit).map(|(id, _)| *id))
    }

    fn nats_user(&self, id: NatsUserId) -> Result<Option<ExistingNatsUser>, Infallible> {
        Ok(self.nats_users.get(&id).map(|u| ExistingNatsUser {
            org: u.org,
            account: u.account,
            revoked: u.revoked_at.is_some(),
            version: u.version,
        }))
    }

    fn nats_user_of(&self, person: PersonId) -> Result<Option<NatsUserId>, Infallible> {
        Ok(self.nats_users.iter().find(|(_, u)| u.person == person).map(|(id, _)| *id))
    }

    fn nats_key_taken(&self, key: &str) -> Result<bool, Infallible> {
        Ok(self.retired_nats_keys.contains_key(key)
            || self
                .nats_operators
                .values()
                .any(|o| o.public_key == key || o.system_account == key || o.signing_keys.iter().any(|k| k == key))
            || self
                .nats_accounts
                .values()
                .any(|a| a.public_key == key || a.signing_keys.iter().any(|k| k.public_key == key))
            || self.nats_users.values().any(|u| u.public_key == key))
    }

    fn nats_key_retired(&self, key: &str) -> Result<bool, Infallible> {
        Ok(self.retired_nats_keys.contains_key(key))
    }
}
