//! Why a command was refused.
//!
//! Every message says what was wrong and what to do instead; the CLI prints it as is and the
//! GUI shows it inline, so both say the same thing.

use super::ids::{AccountId, CaId, KeyId, NatsUserId, OrgId, PersonId, RoleId, UnitId};

/// A command violated a rule of the domain. Nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A name was empty after trimming.
    #[error("the {field} is empty; give at least one visible character")]
    EmptyName {
        /// Which name.
        field: &'static str,
    },
    /// A name was too long.
    #[error("the {field} has {chars} characters; the limit is {max}")]
    NameTooLong {
        /// Which name.
        field: &'static str,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A name held a control character (newline, tab, NUL, ...).
    #[error("the {field} contains a control character (such as a newline or tab); remove it")]
    ControlCharacter {
        /// Which name.
        field: &'static str,
    },
    /// An e-mail address was malformed.
    #[error("'{input}' is not a valid e-mail address: {reason}")]
    InvalidEmail {
        /// The address (shortened).
        input: String,
        /// The rule it broke.
        reason: &'static str,
    },
    /// A DNS domain was malformed.
    #[error("'{input}' is not a valid domain name: {reason}")]
    InvalidDomain {
        /// The domain (shortened).
        input: String,
        /// The rule it broke.
        reason: &'static str,
    },
    /// No organization has this id.
    #[error("organization {0} does not exist; `cim-keys org list` shows the organizations")]
    UnknownOrganization(OrgId),
    /// No unit has this id.
    #[error("unit {0} does not exist; `cim-keys org show ORG` lists the units of an organization")]
    UnknownUnit(UnitId),
    /// No person has this id.
    #[error("person {0} does not exist; `cim-keys org show ORG` lists the people of an organization")]
    UnknownPerson(PersonId),
    /// No role has this id.
    #[error("role {0} does not exist; `cim-keys org show ORG` lists the roles of an organization")]
    UnknownRole(RoleId),
    /// A unit of another organization was named.
    #[error("unit {unit} belongs to another organization than {org}; choose a unit of {org}")]
    UnitOfOtherOrganization {
        /// The unit named.
        unit: UnitId,
        /// The organization of the command.
        org: OrgId,
    },
    /// A role and a person of different organizations.
    #[error(
        "role {role} and person {person} belong to different organizations; assign a role of the person's organization"
    )]
    RoleOfOtherOrganization {
        /// The role.
        role: RoleId,
        /// The person.
        person: PersonId,
    },
    /// An organization of this name exists.
    #[error("an organization named '{name}' already exists; choose another name")]
    DuplicateOrganization {
        /// The name.
        name: String,
    },
    /// A unit of this name exists under the same parent.
    #[error("a unit named '{name}' already exists at this place in the organization; choose another name or parent")]
    DuplicateUnit {
        /// The name.
        name: String,
    },
    /// A person with this e-mail exists in the organization.
    #[error("a person with the e-mail address '{email}' already exists in this organization")]
    DuplicateEmail {
        /// The address.
        email: String,
    },
    /// A role of this name exists in the organization.
    #[error("a role named '{name}' already exists in this organization; choose another name")]
    DuplicateRole {
        /// The name.
        name: String,
    },
    /// The person already holds the role.
    #[error("person {person} already has role {role}")]
    RoleAlreadyAssigned {
        /// The role.
        role: RoleId,
        /// The person.
        person: PersonId,
    },
    /// No key has this id.
    #[error("key {0} does not exist; `cim-keys key list` shows the keys")]
    UnknownKey(KeyId),
    /// The key is revoked already.
    #[error("key {0} is already revoked")]
    KeyAlreadyRevoked(KeyId),
    /// An algorithm we do not generate.
    #[error("'{0}' is not a supported key algorithm; use ed25519")]
    UnsupportedAlgorithm(String),
    /// A public key that is not in the expected form.
    #[error("the public key is not an OpenSSH {algorithm} key with its SHA256 fingerprint")]
    MalformedPublicKey {
        /// The algorithm claimed.
        algorithm: String,
    },
    /// A key with this fingerprint is recorded already.
    #[error("a key with fingerprint {0} is already recorded")]
    DuplicateKey(String),
    /// The organization has a CA hierarchy already.
    #[error("organization {0} already has a CA hierarchy; issue certificates with `cim-keys pki issue`")]
    PkiExists(OrgId),
    /// The organization has no CA hierarchy.
    #[error("organization {0} has no CA hierarchy yet; create one with `cim-keys pki init --org {0}`")]
    NoPki(OrgId),
    /// No CA has this id.
    #[error("CA {0} does not exist; `cim-keys pki list --org ORG` shows an organization's CAs")]
    UnknownCa(CaId),
    /// Leaves are issued by intermediate CAs only.
    #[error("CA {0} is a root CA; leaf certificates are issued by the intermediate CA")]
    NotAnIntermediate(CaId),
    /// A certificate's facts are inconsistent.
    #[error("the certificate is inconsistent: {0}")]
    BadCertificate(&'static str),
    /// A serial number was used twice by one CA.
    #[error("CA {ca} has already issued serial {serial}")]
    DuplicateSerial {
        /// The CA.
        ca: CaId,
        /// The serial.
        serial: String,
    },
    /// The organization has a NATS operator already.
    #[error(
        "organization {0} is already bootstrapped for NATS; units and people added since get their accounts and users \
         automatically (`cim-keys nats list --org {0}`)"
    )]
    NatsBootstrapped(OrgId),
    /// The organization has no NATS operator.
    #[error("organization {0} is not bootstrapped for NATS; run `cim-keys nats bootstrap --org {0}` first")]
    NatsNotBootstrapped(OrgId),
    /// No NATS account has this id.
    #[error("NATS account {0} does not exist; `cim-keys nats list --org ORG` shows an organization's accounts")]
    UnknownNatsAccount(AccountId),
    /// No NATS user has this id.
    #[error("NATS user {0} does not exist; `cim-keys nats list --org ORG` shows an organization's users")]
    UnknownNatsUser(NatsUserId),
    /// The unit (or the organization) has its account already.
    #[error("NATS account {0} already serves this unit (or the organization)")]
    NatsAccountExists(AccountId),
    /// The person has a user already.
    #[error("person {person} already has NATS user {user}")]
    NatsUserExists {
        /// The person.
        person: PersonId,
        /// Their user.
        user: NatsUserId,
    },
    /// People's users do not live in the system account.
    #[error(
        "NATS account {0} is the system account; people's users live in their unit's or the organization's account"
    )]
    NatsSystemAccount(AccountId),
    /// The user is revoked.
    #[error("NATS user {0} is revoked; nats-server refuses it, so no creds or new JWT are made for it")]
    NatsUserRevoked(NatsUserId),
    /// A retired signing key was asked to sign.
    #[error("signing key {0} was retired by a rotation and can no longer sign; use the key that replaced it")]
    NatsRetiredKey(String),
    /// A key that is not a current signing key of the right owner.
    #[error(
        "{0} is not a signing key of this operator or account; `cim-keys nats list --org ORG` shows the signing keys"
    )]
    NatsUnknownSigningKey(String),
    /// A NATS public key is recorded already.
    #[error("the NATS public key {0} is already recorded")]
    NatsKeyTaken(String),
    /// A malformed NATS public key.
    #[error("the {what} is not a NATS public key of the expected kind")]
    MalformedNatsKey {
        /// Which key.
        what: &'static str,
    },
    /// A malformed JWT CID.
    #[error("a JWT CID is malformed; expected a CIDv1 in base32 (b…)")]
    MalformedJwtCid,
    /// The NATS records of a command are inconsistent.
    #[error("the NATS records are inconsistent: {0}")]
    BadNatsRecord(&'static str),
    /// A new aggregate was given an id that is already taken.
    #[error("the id {0} is already in use; use a fresh id")]
    IdInUse(uuid::Uuid),
    /// The aggregate changed since the caller read it.
    #[error("{kind} {id} is at version {actual}, not {expected}: it was changed meanwhile; reload and try again")]
    VersionConflict {
        /// Aggregate kind.
        kind: &'static str,
        /// Aggregate id.
        id: uuid::Uuid,
        /// The version the command expected.
        expected: u64,
        /// The version found.
        actual: u64,
    },
}

impl DomainError {
    /// Whether the caller may simply retry after reloading (a conflict), as opposed to
    /// fixing the input.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::VersionConflict { .. })
    }
}
