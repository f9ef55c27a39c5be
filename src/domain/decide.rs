//! `decide`: from the current state and a command to the events it causes, or a refusal.
//!
//! The state is read through [`DomainView`], a narrow set of questions (does this unit
//! exist, is this name taken). The store answers them from its read models inside the
//! command's transaction; tests answer them from the in-memory [`super::State`] built by
//! folding events with `evolve`. Either way `decide` itself does no IO.

use super::Command;
use super::error::DomainError;
use super::event::{
    CaCreated, CertificateFacts, CertificateIssued, Decided, DomainEvent, KeyGenerated, KeyRevoked,
    OrganizationCreated, PersonAdded, RoleAssigned, RoleDefined, UnitCreated,
};
use super::ids::{AccountId, CaId, KeyId, NatsUserId, OrgId, PersonId, RoleId, UnitId};
use super::nats::{
    ExistingNatsAccount, ExistingNatsOperator, ExistingNatsUser, NatsAccountCreated, NatsOperatorCreated, NatsOwner,
    NatsSigningKeyRotated, NatsUserCreated, NatsUserRevoked, check_jwt_cid, check_nats_key,
};
use super::values::Timestamp;
use super::values::{DomainName, Email, Name};

/// What `decide` needs to know about an existing aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    /// The organization it belongs to (itself, for an organization).
    pub org: OrgId,
    /// Its current version.
    pub version: u64,
}

/// An existing unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingUnit {
    /// Its organization.
    pub org: OrgId,
    /// Its parent unit.
    pub parent: Option<UnitId>,
    /// Its current version.
    pub version: u64,
}

/// An existing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingKey {
    /// Its organization.
    pub org: OrgId,
    /// Its owner.
    pub owner: PersonId,
    /// Whether it is revoked.
    pub revoked: bool,
    /// Its current version.
    pub version: u64,
}

/// An existing certificate authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingCa {
    /// Its organization.
    pub org: OrgId,
    /// Whether it is an intermediate (else a root).
    pub intermediate: bool,
    /// Start of its validity.
    pub not_before: Timestamp,
    /// End of its validity.
    pub not_after: Timestamp,
}

/// Read access to the current state, as `decide` needs it.
pub trait DomainView {
    /// Why a question could not be answered (a storage fault, not a domain rule).
    type Error;
    /// The organization with this id.
    fn organization(&self, id: OrgId) -> Result<Option<Existing>, Self::Error>;
    /// Whether an organization has this name key.
    fn organization_name_taken(&self, name_key: &str) -> Result<bool, Self::Error>;
    /// The unit with this id.
    fn unit(&self, id: UnitId) -> Result<Option<ExistingUnit>, Self::Error>;
    /// Whether a unit of `org` under `parent` has this name key.
    fn unit_name_taken(&self, org: OrgId, parent: Option<UnitId>, name_key: &str) -> Result<bool, Self::Error>;
    /// The person with this id.
    fn person(&self, id: PersonId) -> Result<Option<Existing>, Self::Error>;
    /// Whether a person of `org` has this e-mail key.
    fn email_taken(&self, org: OrgId, email_key: &str) -> Result<bool, Self::Error>;
    /// The role with this id.
    fn role(&self, id: RoleId) -> Result<Option<Existing>, Self::Error>;
    /// Whether a role of `org` has this name key.
    fn role_name_taken(&self, org: OrgId, name_key: &str) -> Result<bool, Self::Error>;
    /// Whether the person holds the role.
    fn has_role(&self, person: PersonId, role: RoleId) -> Result<bool, Self::Error>;
    /// The key with this id.
    fn key(&self, id: KeyId) -> Result<Option<ExistingKey>, Self::Error>;
    /// Whether a key with this fingerprint is recorded.
    fn fingerprint_taken(&self, fingerprint: &str) -> Result<bool, Self::Error>;
    /// The CA with this id.
    fn ca(&self, id: CaId) -> Result<Option<ExistingCa>, Self::Error>;
    /// Whether the organization has a root CA.
    fn org_has_root(&self, org: OrgId) -> Result<bool, Self::Error>;
    /// Whether the CA issued a certificate with this serial.
    fn serial_taken(&self, ca: CaId, serial: &str) -> Result<bool, Self::Error>;
    /// Whether any aggregate has this id.
    fn id_in_use(&self, id: uuid::Uuid) -> Result<bool, Self::Error>;
    /// The organization's NATS operator.
    fn nats_operator(&self, org: OrgId) -> Result<Option<ExistingNatsOperator>, Self::Error>;
    /// The NATS account with this id.
    fn nats_account(&self, id: AccountId) -> Result<Option<ExistingNatsAccount>, Self::Error>;
    /// The (non-system) account serving `unit`, or with `None` the organization account.
    fn nats_account_of(&self, org: OrgId, unit: Option<UnitId>) -> Result<Option<AccountId>, Self::Error>;
    /// The NATS user with this id.
    fn nats_user(&self, id: NatsUserId) -> Result<Option<ExistingNatsUser>, Self::Error>;
    /// The person's NATS user.
    fn nats_user_of(&self, person: PersonId) -> Result<Option<NatsUserId>, Self::Error>;
    /// Whether a NATS public key is recorded (in use or retired).
    fn nats_key_taken(&self, key: &str) -> Result<bool, Self::Error>;
    /// Whether a NATS signing key was retired by a rotation.
    fn nats_key_retired(&self, key: &str) -> Result<bool, Self::Error>;
}

/// Why `decide` produced no events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal<E> {
    /// The command broke a rule.
    Rejected(DomainError),
    /// The state could not be read.
    View(E),
}

impl<E> From<DomainError> for Refusal<E> {
    fn from(err: DomainError) -> Self {
        Self::Rejected(err)
    }
}

/// Decides what a command means given the current state.
pub fn decide<V: DomainView>(view: &V, command: &Command) -> Result<Vec<Decided>, Refusal<V::Error>> {
    let fresh = |id: uuid::Uuid| -> Result<(), Refusal<V::Error>> {
        if ask(view.id_in_use(id))? {
            return Err(DomainError::IdInUse(id).into());
        }
        Ok(())
    };
    let created = |event: DomainEvent| Ok(vec![Decided { event, version: 1 }]);
    match command {
        Command::CreateOrganization { id, name, domain } => {
            let name = Name::parse("organization name", name)?;
            let domain = domain.as_deref().map(DomainName::parse).transpose()?;
            fresh(id.uuid())?;
            if ask(view.organization_name_taken(&name.key()))? {
                return Err(DomainError::DuplicateOrganization { name: name.into_string() }.into());
            }
            created(DomainEvent::OrganizationCreated(OrganizationCreated {
                org: *id,
                name: name.into_string(),
                domain: domain.map(DomainName::into_string),
            }))
        }
        Command::CreateUnit { id, org, parent, name } => {
            let name = Name::parse("unit name", name)?;
            require_org(view, *org)?;
            if let Some(parent) = parent {
                let unit = ask(view.unit(*parent))?.ok_or(DomainError::UnknownUnit(*parent))?;
                if unit.org != *org {
                    return Err(DomainError::UnitOfOtherOrganization { unit: *parent, org: *org }.into());
                }
            }
            fresh(id.uuid())?;
            if ask(view.unit_name_taken(*org, *parent, &name.key()))? {
                return Err(DomainError::DuplicateUnit { name: name.into_string() }.into());
            }
            created(DomainEvent::UnitCreated(UnitCreated {
                unit: *id,
                org: *org,
                parent: *parent,
                name: name.into_string(),
            }))
        }
        Command::AddPerson { id, org, name, email, units } => {
            let name = Name::parse("person name", name)?;
            let email = Email::parse(email)?;
            require_org(view, *org)?;
            let mut members: Vec<UnitId> = Vec::with_capacity(units.len());
            for unit_id in units {
                if members.contains(unit_id) {
                    continue;
                }
                let unit = ask(view.unit(*unit_id))?.ok_or(DomainError::UnknownUnit(*unit_id))?;
                if unit.org != *org {
                    return Err(DomainError::UnitOfOtherOrganization { unit: *unit_id, org: *org }.into());
                }
                members.push(*unit_id);
            }
            fresh(id.uuid())?;
            if ask(view.email_taken(*org, &email.key()))? {
                return Err(DomainError::DuplicateEmail { email: email.into_string() }.into());
            }
            created(DomainEvent::PersonAdded(PersonAdded {
                person: *id,
                org: *org,
                name: name.into_string(),
                email: email.into_string(),
                units: members,
            }))
        }
        Command::DefineRole { id, org, name } => {
            let name = Name::parse("role name", name)?;
            require_org(view, *org)?;
            fresh(id.uuid())?;
            if ask(view.role_name_taken(*org, &name.key()))? {
                return Err(DomainError::DuplicateRole { name: name.into_string() }.into());
            }
            created(DomainEvent::RoleDefined(RoleDefined { role: *id, org: *org, name: name.into_string() }))
        }
        Command::AssignRole { role, person, expected_version } => {
            let role_state = ask(view.role(*role))?.ok_or(DomainError::UnknownRole(*role))?;
            let person_state = ask(view.person(*person))?.ok_or(DomainError::UnknownPerson(*person))?;
            if let Some(expected) = expected_version
                && *expected != person_state.version
            {
                return Err(DomainError::VersionConflict {
                    kind: "person",
                    id: person.uuid(),
                    expected: *expected,
                    actual: person_state.version,
                }
                .into());
            }
            if role_state.org != person_state.org {
                return Err(DomainError::RoleOfOtherOrganization { role: *role, person: *person }.into());
            }
            if ask(view.has_role(*person, *role))? {
                return Err(DomainError::RoleAlreadyAssigned { role: *role, person: *person }.into());
            }
            Ok(vec![Decided {
                event: DomainEvent::RoleAssigned(RoleAssigned { role: *role, person: *person, org: person_state.org }),
                version: person_state.version + 1,
            }])
        }
        Command::GenerateKey { id, owner, algorithm, public_key, fingerprint } => {
            if algorithm != "ed25519" {
                return Err(DomainError::UnsupportedAlgorithm(crate::domain::excerpt(algorithm)).into());
            }
            let well_formed = public_key.strip_prefix("ssh-ed25519 ").is_some_and(|b64| {
                !b64.is_empty()
                    && b64.len() < 200
                    && b64.bytes().all(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c))
            }) && fingerprint.strip_prefix("SHA256:").is_some_and(|b64| b64.len() == 43);
            if !well_formed {
                return Err(DomainError::MalformedPublicKey { algorithm: algorithm.clone() }.into());
            }
            let person = ask(view.person(*owner))?.ok_or(DomainError::UnknownPerson(*owner))?;
            fresh(id.uuid())?;
            if ask(view.fingerprint_taken(fingerprint))? {
                return Err(DomainError::DuplicateKey(fingerprint.clone()).into());
            }
            created(DomainEvent::KeyGenerated(KeyGenerated {
                key: *id,
                owner: *owner,
                org: person.org,
                algorithm: algorithm.clone(),
                public_key: public_key.clone(),
                fingerprint: fingerprint.clone(),
            }))
        }
        Command::RevokeKey { key, reason } => {
            let reason = Name::parse("revocation reason", reason)?;
            let existing = ask(view.key(*key))?.ok_or(DomainError::UnknownKey(*key))?;
            if existing.revoked {
                return Err(DomainError::KeyAlreadyRevoked(*key).into());
            }
            Ok(vec![Decided {
                event: DomainEvent::KeyRevoked(KeyRevoked {
                    key: *key,
                    owner: existing.owner,
                    org: existing.org,
                    reason: reason.into_string(),
                }),
                version: existing.version + 1,
            }])
        }
        Command::InitPki { org, root, root_facts, intermediate, intermediate_facts } => {
            require_org(view, *org)?;
            if ask(view.org_has_root(*org))? {
                return Err(DomainError::PkiExists(*org).into());
            }
            check_facts(root_facts)?;
            check_facts(intermediate_facts)?;
            if intermediate_facts.not_before < root_facts.not_before
                || intermediate_facts.not_after > root_facts.not_after
            {
                return Err(DomainError::BadCertificate("the intermediate's validity is outside the root's").into());
            }
            if root == intermediate {
                return Err(DomainError::IdInUse(root.uuid()).into());
            }
            fresh(root.uuid())?;
            fresh(intermediate.uuid())?;
            let ca = |ca: CaId, level: &str, issuer: Option<CaId>, facts: &CertificateFacts| Decided {
                event: DomainEvent::CaCreated(CaCreated {
                    ca,
                    org: *org,
                    level: level.to_owned(),
                    issuer,
                    facts: facts.clone(),
                }),
                version: 1,
            };
            Ok(vec![
                ca(*root, "root", None, root_facts),
                ca(*intermediate, "intermediate", Some(*root), intermediate_facts),
            ])
        }
        Command::IssueCertificate { id, ca, profile, names, facts } => {
            let issuer = ask(view.ca(*ca))?.ok_or(DomainError::UnknownCa(*ca))?;
            if !issuer.intermediate {
                return Err(DomainError::NotAnIntermediate(*ca).into());
            }
            if profile != "server" && profile != "client" {
                return Err(DomainError::BadCertificate("the profile must be server or client").into());
            }
            if profile == "server" && names.is_empty() {
                return Err(
                    DomainError::BadCertificate("a server certificate needs a DNS name or an IP address").into()
                );
            }
            check_facts(facts)?;
            if facts.not_before < issuer.not_before || facts.not_after > issuer.not_after {
                return Err(DomainError::BadCertificate("its validity is outside the issuing CA's").into());
            }
            fresh(id.uuid())?;
            if ask(view.serial_taken(*ca, &facts.serial))? {
                return Err(DomainError::DuplicateSerial { ca: *ca, serial: facts.serial.clone() }.into());
            }
            created(DomainEvent::CertificateIssued(CertificateIssued {
                certificate: *id,
                ca: *ca,
                org: issuer.org,
                profile: profile.clone(),
                names: names.clone(),
                facts: facts.clone(),
            }))
        }
        Command::CreateNatsOperator { id, org, name, public_key, signing_keys, system_account, jwt } => {
            let name = Name::parse("operator name", name)?;
            require_org(view, *org)?;
            if ask(view.nats_operator(*org))?.is_some() {
                return Err(DomainError::NatsBootstrapped(*org).into());
            }
            check_nats_key("operator key", public_key, 'O')?;
            check_nats_key("system account key", system_account, 'A')?;
            if signing_keys.is_empty() {
                return Err(DomainError::BadNatsRecord("an operator needs a signing key").into());
            }
            for key in signing_keys {
                check_nats_key("operator signing key", key, 'O')?;
            }
            check_jwt_cid(jwt)?;
            fresh(id.uuid())?;
            let mut keys: Vec<&str> = vec![public_key, system_account];
            keys.extend(signing_keys.iter().map(String::as_str));
            fresh_keys(view, &keys)?;
            created(DomainEvent::NatsOperatorCreated(NatsOperatorCreated {
                operator: *id,
                org: *org,
                name: name.into_string(),
                public_key: public_key.clone(),
                signing_keys: signing_keys.clone(),
                system_account: system_account.clone(),
                jwt: jwt.clone(),
            }))
        }
        Command::CreateNatsAccount { id, org, unit, system, name, public_key, signing_keys, jetstream, jwt } => {
            let name = Name::parse("account name", name)?;
            require_org(view, *org)?;
            let operator = ask(view.nats_operator(*org))?.ok_or(DomainError::NatsNotBootstrapped(*org))?;
            if *system {
                if unit.is_some() || operator.has_system_account || *public_key != operator.system_account {
                    return Err(DomainError::BadNatsRecord(
                        "the system account is the one the operator names, created once, without a unit",
                    )
                    .into());
                }
            } else {
                if let Some(unit_id) = unit {
                    let found = ask(view.unit(*unit_id))?.ok_or(DomainError::UnknownUnit(*unit_id))?;
                    if found.org != *org {
                        return Err(DomainError::UnitOfOtherOrganization { unit: *unit_id, org: *org }.into());
                    }
                }
                if let Some(existing) = ask(view.nats_account_of(*org, *unit))? {
                    return Err(DomainError::NatsAccountExists(existing).into());
                }
            }
            check_nats_key("account key", public_key, 'A')?;
            if signing_keys.is_empty() {
                return Err(DomainError::BadNatsRecord("an account needs a signing key").into());
            }
            for key in signing_keys {
                check_nats_key("account signing key", &key.public_key, 'A')?;
            }
            check_jwt_cid(jwt)?;
            fresh(id.uuid())?;
            let mut keys: Vec<&str> = signing_keys.iter().map(|k| k.public_key.as_str()).collect();
            if !*system {
                keys.push(public_key);
            }
            fresh_keys(view, &keys)?;
            created(DomainEvent::NatsAccountCreated(NatsAccountCreated {
                account: *id,
                org: *org,
                operator: operator.id,
                unit: *unit,
                system: *system,
                name: name.into_string(),
                public_key: public_key.clone(),
                signing_keys: signing_keys.clone(),
                jetstream: *jetstream,
                jwt: jwt.clone(),
            }))
        }
        Command::CreateNatsUser { id, account, person, name, public_key, signer, jwt } => {
            let name = Name::parse("user name", name)?;
            let found = ask(view.nats_account(*account))?.ok_or(DomainError::UnknownNatsAccount(*account))?;
            if found.system {
                return Err(DomainError::NatsSystemAccount(*account).into());
            }
            let owner = ask(view.person(*person))?.ok_or(DomainError::UnknownPerson(*person))?;
            if owner.org != found.org {
                return Err(
                    DomainError::BadNatsRecord("the person and the account belong to different organizations").into()
                );
            }
            if let Some(user) = ask(view.nats_user_of(*person))? {
                return Err(DomainError::NatsUserExists { person: *person, user }.into());
            }
            let role = current_signing_key(view, &found.signing_keys, signer)?;
            check_nats_key("user key", public_key, 'U')?;
            check_jwt_cid(jwt)?;
            fresh(id.uuid())?;
            fresh_keys(view, &[public_key])?;
            created(DomainEvent::NatsUserCreated(NatsUserCreated {
                user: *id,
                org: found.org,
                account: *account,
                person: *person,
                name: name.into_string(),
                public_key: public_key.clone(),
                signer: signer.clone(),
                role,
                jwt: jwt.clone(),
            }))
        }
        Command::RevokeNatsUser { user, revoked_at, account_jwt } => {
            let found = ask(view.nats_user(*user))?.ok_or(DomainError::UnknownNatsUser(*user))?;
            if found.revoked {
                return Err(DomainError::NatsUserRevoked(*user).into());
            }
            check_jwt_cid(account_jwt)?;
            Ok(vec![Decided {
                event: DomainEvent::NatsUserRevoked(NatsUserRevoked {
                    user: *user,
                    org: found.org,
                    account: found.account,
                    revoked_at: *revoked_at,
                    account_jwt: account_jwt.clone(),
                }),
                version: found.version + 1,
            }])
        }
        Command::RotateNatsSigningKey { org, owner, old_key, new_key, reissued } => {
            let (current, version, prefix) = match owner {
                NatsOwner::Operator(id) => {
                    let operator = ask(view.nats_operator(*org))?.ok_or(DomainError::NatsNotBootstrapped(*org))?;
                    if operator.id != *id {
                        return Err(DomainError::BadNatsRecord("the operator is not the organization's").into());
                    }
                    let keys = operator.signing_keys.into_iter().map(|k| (k, None)).collect::<Vec<_>>();
                    (keys, operator.version, 'O')
                }
                NatsOwner::Account(id) => {
                    let account = ask(view.nats_account(*id))?.ok_or(DomainError::UnknownNatsAccount(*id))?;
                    if account.org != *org {
                        return Err(DomainError::BadNatsRecord("the account is not the organization's").into());
                    }
                    let keys = account.signing_keys.into_iter().map(|k| (k.public_key, k.role)).collect::<Vec<_>>();
                    (keys, account.version, 'A')
                }
            };
            let Some((_, role)) = current.iter().find(|(k, _)| k == old_key) else {
                if ask(view.nats_key_retired(old_key))? {
                    return Err(DomainError::NatsRetiredKey(key_text(old_key)).into());
                }
                return Err(DomainError::NatsUnknownSigningKey(key_text(old_key)).into());
            };
            if *role != new_key.role {
                return Err(DomainError::BadNatsRecord("the new signing key must keep the old key's role").into());
            }
            check_nats_key("new signing key", &new_key.public_key, prefix)?;
            fresh_keys(view, &[&new_key.public_key])?;
            check_reissued(view, *org, *owner, reissued)?;
            Ok(vec![Decided {
                event: DomainEvent::NatsSigningKeyRotated(NatsSigningKeyRotated {
                    org: *org,
                    owner: *owner,
                    old_key: old_key.clone(),
                    new_key: new_key.clone(),
                    reissued: reissued.clone(),
                }),
                version: version + 1,
            }])
        }
    }
}

/// The JWTs a rotation re-issues: the owner's own first, then only live entities of the same
/// organization (a revoked user is never re-issued: that would undo its revocation), each once.
fn check_reissued<V: DomainView>(
    view: &V,
    org: OrgId,
    owner: NatsOwner,
    reissued: &[super::nats::NatsReissued],
) -> Result<(), Refusal<V::Error>> {
    use super::nats::NatsEntity;
    let owner_entity = match owner {
        NatsOwner::Operator(id) => NatsEntity::Operator(id),
        NatsOwner::Account(id) => NatsEntity::Account(id),
    };
    if reissued.first().map(|r| r.entity) != Some(owner_entity) {
        return Err(DomainError::BadNatsRecord("a rotation re-issues its owner's JWT first").into());
    }
    for (i, entry) in reissued.iter().enumerate() {
        check_jwt_cid(&entry.jwt)?;
        if reissued[..i].iter().any(|r| r.entity == entry.entity) {
            return Err(DomainError::BadNatsRecord("a JWT is re-issued twice").into());
        }
        let same_org = match entry.entity {
            NatsEntity::Operator(id) => ask(view.nats_operator(org))?.is_some_and(|o| o.id == id),
            NatsEntity::Account(id) => ask(view.nats_account(id))?.is_some_and(|a| a.org == org),
            NatsEntity::User(id) => match ask(view.nats_user(id))? {
                Some(user) if user.revoked => return Err(DomainError::NatsUserRevoked(id).into()),
                Some(user) => user.org == org,
                None => false,
            },
        };
        if !same_org {
            return Err(DomainError::BadNatsRecord("a re-issued JWT is not of an entity of the organization").into());
        }
    }
    Ok(())
}

/// A key as given, for a message: whole if it looks like a public nkey, else shortened.
pub(crate) fn key_text(key: &str) -> String {
    if key.len() <= 64 && key.bytes().all(|c| c.is_ascii_alphanumeric()) {
        key.to_owned()
    } else {
        crate::domain::excerpt(key)
    }
}

/// Refuses keys that are recorded already (or repeated within the command).
fn fresh_keys<V: DomainView>(view: &V, keys: &[&str]) -> Result<(), Refusal<V::Error>> {
    for (i, key) in keys.iter().enumerate() {
        if keys[..i].contains(key) || ask(view.nats_key_taken(key))? {
            return Err(DomainError::NatsKeyTaken((*key).to_owned()).into());
        }
    }
    Ok(())
}

/// The role of `signer` if it is a current signing key of the account; a retired key or a
/// stranger is refused.
fn current_signing_key<V: DomainView>(
    view: &V,
    keys: &[super::nats::NatsSigningKey],
    signer: &str,
) -> Result<Option<String>, Refusal<V::Error>> {
    match keys.iter().find(|k| k.public_key == signer) {
        Some(key) => Ok(key.role.clone()),
        None if ask(view.nats_key_retired(signer))? => Err(DomainError::NatsRetiredKey(key_text(signer)).into()),
        None => Err(DomainError::NatsUnknownSigningKey(key_text(signer)).into()),
    }
}

/// The invariants of recorded certificate facts (the certificate itself is built and checked by
/// `crypto::x509`; these keep a malformed record out of the log).
fn check_facts<E>(facts: &CertificateFacts) -> Result<(), Refusal<E>> {
    let bad = |why| Err(DomainError::BadCertificate(why).into());
    if facts.not_before >= facts.not_after {
        return bad("it ends before it starts");
    }
    if facts.common_name.trim().is_empty() || facts.subject.trim().is_empty() {
        return bad("it has no subject");
    }
    if facts.serial.is_empty() || !facts.serial.bytes().all(|c| c.is_ascii_hexdigit()) {
        return bad("its serial number is not hexadecimal");
    }
    if !facts.certificate.starts_with('b') || facts.fingerprint.len() != 95 {
        return bad("its CID or fingerprint is malformed");
    }
    Ok(())
}

fn ask<T, E>(r: Result<T, E>) -> Result<T, Refusal<E>> {
    r.map_err(Refusal::View)
}

fn require_org<V: DomainView>(view: &V, org: OrgId) -> Result<Existing, Refusal<V::Error>> {
    view.organization(org).map_err(Refusal::View)?.ok_or_else(|| DomainError::UnknownOrganization(org).into())
}
