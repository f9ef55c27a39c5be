//! Domain events: the facts the vault records.
//!
//! Each event has a stable name (`"PersonAdded"`) and a schema version; both are part of the
//! stored format and never change once shipped — a changed meaning gets a new version or a new
//! event. An [`EventEnvelope`] adds what every event carries: its id (UUIDv7), the aggregate
//! and its version after the event, correlation and causation ids, the time and the device.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ids::{
    CaId, CertificateId, CommandId, CorrelationId, DeviceId, EventId, KeyId, OrgId, PersonId, RoleId, UnitId,
};
use super::nats::{
    NatsAccountCreated, NatsOperatorCreated, NatsOwner, NatsSigningKeyRotated, NatsUserCreated, NatsUserRevoked,
};
use super::values::Timestamp;

/// Kinds of aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AggregateKind {
    /// [`OrgId`]
    Organization,
    /// [`UnitId`]
    Unit,
    /// [`PersonId`]
    Person,
    /// [`RoleId`]
    Role,
    /// [`KeyId`]
    Key,
    /// [`CaId`]
    Ca,
    /// [`CertificateId`]
    Certificate,
    /// [`super::OperatorId`]
    NatsOperator,
    /// [`super::AccountId`]
    NatsAccount,
    /// [`super::NatsUserId`]
    NatsUser,
}

impl AggregateKind {
    /// The stable name used in stored events.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Organization => "organization",
            Self::Unit => "unit",
            Self::Person => "person",
            Self::Role => "role",
            Self::Key => "key",
            Self::Ca => "ca",
            Self::Certificate => "certificate",
            Self::NatsOperator => "nats_operator",
            Self::NatsAccount => "nats_account",
            Self::NatsUser => "nats_user",
        }
    }

    /// Reads a stable name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "organization" => Self::Organization,
            "unit" => Self::Unit,
            "person" => Self::Person,
            "role" => Self::Role,
            "key" => Self::Key,
            "ca" => Self::Ca,
            "certificate" => Self::Certificate,
            "nats_operator" => Self::NatsOperator,
            "nats_account" => Self::NatsAccount,
            "nats_user" => Self::NatsUser,
            _ => return None,
        })
    }
}

/// An organization came into being.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationCreated {
    /// Its id.
    pub org: OrgId,
    /// Its name.
    pub name: String,
    /// Its DNS domain, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// An organizational unit was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitCreated {
    /// Its id.
    pub unit: UnitId,
    /// Its organization.
    pub org: OrgId,
    /// The unit it is nested in; none for a top-level unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<UnitId>,
    /// Its name.
    pub name: String,
}

/// A person joined an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonAdded {
    /// Their id.
    pub person: PersonId,
    /// Their organization.
    pub org: OrgId,
    /// Their name.
    pub name: String,
    /// Their e-mail address.
    pub email: String,
    /// The units they are a member of.
    pub units: Vec<UnitId>,
}

/// A role was defined for an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDefined {
    /// Its id.
    pub role: RoleId,
    /// Its organization.
    pub org: OrgId,
    /// Its name.
    pub name: String,
}

/// A person was given a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleAssigned {
    /// The role.
    pub role: RoleId,
    /// The person.
    pub person: PersonId,
    /// Their organization.
    pub org: OrgId,
}

/// An identity key was generated for a person. Only public material: the private key is sealed
/// in the keystore, never in an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyGenerated {
    /// The key's id (also the id of its sealed secret).
    pub key: KeyId,
    /// The person who owns it.
    pub owner: PersonId,
    /// Their organization.
    pub org: OrgId,
    /// The algorithm (`ed25519`).
    pub algorithm: String,
    /// The public key in OpenSSH form, without comment (`ssh-ed25519 AAAA…`).
    pub public_key: String,
    /// Its fingerprint as `ssh-keygen -l` prints it (`SHA256:…`).
    pub fingerprint: String,
}

/// A key was revoked: it must no longer be trusted or used to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRevoked {
    /// The key.
    pub key: KeyId,
    /// Its owner.
    pub owner: PersonId,
    /// Their organization.
    pub org: OrgId,
    /// Why, as the operator gave it.
    pub reason: String,
}

/// What a certificate says, as recorded in events (the certificate itself is a public artifact
/// block addressed by `certificate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateFacts {
    /// Subject distinguished name (RFC 4514).
    pub subject: String,
    /// Subject common name.
    pub common_name: String,
    /// Subject organization, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Serial number, upper-case hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
    /// SHA-256 fingerprint of the DER, colon-separated upper-case hex.
    pub fingerprint: String,
    /// CID (CIDv1, raw codec, sha2-256) of the certificate's DER block.
    pub certificate: String,
}

/// A certificate authority was created: the organization's offline root, or an intermediate
/// certified by the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaCreated {
    /// Its id (also the id of its sealed key).
    pub ca: CaId,
    /// Its organization.
    pub org: OrgId,
    /// `root` or `intermediate`.
    pub level: String,
    /// The CA that certified it (the root, for an intermediate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<CaId>,
    /// Its certificate.
    pub facts: CertificateFacts,
}

/// A leaf certificate was issued by an intermediate CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateIssued {
    /// Its id (also the id of its sealed key).
    pub certificate: CertificateId,
    /// The intermediate CA that issued it.
    pub ca: CaId,
    /// The organization.
    pub org: OrgId,
    /// `server` or `client`.
    pub profile: String,
    /// Subject alternative names, as `DNS:…`, `IP Address:…`, `email:…`, `URI:…`.
    pub names: Vec<String>,
    /// The certificate.
    pub facts: CertificateFacts,
}

/// Everything that can happen in the domain. The aggregate an event belongs to is given by
/// [`DomainEvent::aggregate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    /// See [`OrganizationCreated`].
    OrganizationCreated(OrganizationCreated),
    /// See [`UnitCreated`].
    UnitCreated(UnitCreated),
    /// See [`PersonAdded`].
    PersonAdded(PersonAdded),
    /// See [`RoleDefined`].
    RoleDefined(RoleDefined),
    /// See [`RoleAssigned`] (an event of the person).
    RoleAssigned(RoleAssigned),
    /// See [`KeyGenerated`].
    KeyGenerated(KeyGenerated),
    /// See [`KeyRevoked`].
    KeyRevoked(KeyRevoked),
    /// See [`CaCreated`].
    CaCreated(CaCreated),
    /// See [`CertificateIssued`].
    CertificateIssued(CertificateIssued),
    /// See [`NatsOperatorCreated`].
    NatsOperatorCreated(NatsOperatorCreated),
    /// See [`NatsAccountCreated`].
    NatsAccountCreated(NatsAccountCreated),
    /// See [`NatsUserCreated`].
    NatsUserCreated(NatsUserCreated),
    /// See [`NatsUserRevoked`].
    NatsUserRevoked(NatsUserRevoked),
    /// See [`NatsSigningKeyRotated`] (an event of the key's owner).
    NatsSigningKeyRotated(NatsSigningKeyRotated),
}

/// The kind of a public artifact block an event refers to by CID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactKind {
    /// A NATS JWT (raw codec, the token's ASCII bytes).
    Jwt,
    /// An X.509 certificate (raw codec, its DER).
    Certificate,
}

impl DomainEvent {
    /// The CIDs (as recorded, text) of the public artifact blocks this event refers to, in the
    /// order of its fields; an export bundle carries them after the event.
    pub fn artifacts(&self) -> Vec<(ArtifactKind, &str)> {
        use ArtifactKind::{Certificate, Jwt};
        match self {
            Self::CaCreated(e) => vec![(Certificate, e.facts.certificate.as_str())],
            Self::CertificateIssued(e) => vec![(Certificate, e.facts.certificate.as_str())],
            Self::NatsOperatorCreated(e) => vec![(Jwt, e.jwt.as_str())],
            Self::NatsAccountCreated(e) => vec![(Jwt, e.jwt.as_str())],
            Self::NatsUserCreated(e) => vec![(Jwt, e.jwt.as_str())],
            Self::NatsUserRevoked(e) => vec![(Jwt, e.account_jwt.as_str())],
            Self::NatsSigningKeyRotated(e) => e.reissued.iter().map(|r| (Jwt, r.jwt.as_str())).collect(),
            Self::OrganizationCreated(_)
            | Self::UnitCreated(_)
            | Self::PersonAdded(_)
            | Self::RoleDefined(_)
            | Self::RoleAssigned(_)
            | Self::KeyGenerated(_)
            | Self::KeyRevoked(_) => Vec::new(),
        }
    }

    /// The stable name of the event.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::OrganizationCreated(_) => "OrganizationCreated",
            Self::UnitCreated(_) => "UnitCreated",
            Self::PersonAdded(_) => "PersonAdded",
            Self::RoleDefined(_) => "RoleDefined",
            Self::RoleAssigned(_) => "RoleAssigned",
            Self::KeyGenerated(_) => "KeyGenerated",
            Self::KeyRevoked(_) => "KeyRevoked",
            Self::CaCreated(_) => "CaCreated",
            Self::CertificateIssued(_) => "CertificateIssued",
            Self::NatsOperatorCreated(_) => "NatsOperatorCreated",
            Self::NatsAccountCreated(_) => "NatsAccountCreated",
            Self::NatsUserCreated(_) => "NatsUserCreated",
            Self::NatsUserRevoked(_) => "NatsUserRevoked",
            Self::NatsSigningKeyRotated(_) => "NatsSigningKeyRotated",
        }
    }

    /// The schema version of the event's payload.
    pub const fn schema(&self) -> u16 {
        1
    }

    /// The aggregate the event belongs to.
    pub fn aggregate(&self) -> (AggregateKind, Uuid) {
        match self {
            Self::OrganizationCreated(e) => (AggregateKind::Organization, e.org.uuid()),
            Self::UnitCreated(e) => (AggregateKind::Unit, e.unit.uuid()),
            Self::PersonAdded(e) => (AggregateKind::Person, e.person.uuid()),
            Self::RoleDefined(e) => (AggregateKind::Role, e.role.uuid()),
            Self::RoleAssigned(e) => (AggregateKind::Person, e.person.uuid()),
            Self::KeyGenerated(e) => (AggregateKind::Key, e.key.uuid()),
            Self::KeyRevoked(e) => (AggregateKind::Key, e.key.uuid()),
            Self::CaCreated(e) => (AggregateKind::Ca, e.ca.uuid()),
            Self::CertificateIssued(e) => (AggregateKind::Certificate, e.certificate.uuid()),
            Self::NatsOperatorCreated(e) => (AggregateKind::NatsOperator, e.operator.uuid()),
            Self::NatsAccountCreated(e) => (AggregateKind::NatsAccount, e.account.uuid()),
            Self::NatsUserCreated(e) => (AggregateKind::NatsUser, e.user.uuid()),
            Self::NatsUserRevoked(e) => (AggregateKind::NatsUser, e.user.uuid()),
            Self::NatsSigningKeyRotated(e) => match e.owner {
                NatsOwner::Operator(id) => (AggregateKind::NatsOperator, id.uuid()),
                NatsOwner::Account(id) => (AggregateKind::NatsAccount, id.uuid()),
            },
        }
    }

    /// The organization (bounded context) the event happened in.
    pub fn org(&self) -> OrgId {
        match self {
            Self::OrganizationCreated(e) => e.org,
            Self::UnitCreated(e) => e.org,
            Self::PersonAdded(e) => e.org,
            Self::RoleDefined(e) => e.org,
            Self::RoleAssigned(e) => e.org,
            Self::KeyGenerated(e) => e.org,
            Self::KeyRevoked(e) => e.org,
            Self::CaCreated(e) => e.org,
            Self::CertificateIssued(e) => e.org,
            Self::NatsOperatorCreated(e) => e.org,
            Self::NatsAccountCreated(e) => e.org,
            Self::NatsUserCreated(e) => e.org,
            Self::NatsUserRevoked(e) => e.org,
            Self::NatsSigningKeyRotated(e) => e.org,
        }
    }
}

/// A decided event and the version its aggregate reaches with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// The event.
    pub event: DomainEvent,
    /// The aggregate's version after the event (1 for a new aggregate).
    pub version: u64,
}

/// A domain event with everything needed to store, order and trace it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEnvelope {
    /// Its id (UUIDv7).
    pub id: EventId,
    /// The aggregate's version after this event.
    pub version: u64,
    /// Shared by everything one operator action caused.
    pub correlation: CorrelationId,
    /// The command that caused it.
    pub causation: CommandId,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// Where it happened.
    pub device: DeviceId,
    /// What happened.
    pub event: DomainEvent,
}

impl EventEnvelope {
    /// The aggregate the event belongs to.
    pub fn aggregate(&self) -> (AggregateKind, Uuid) {
        self.event.aggregate()
    }
}

/// What is needed to wrap decided events into envelopes; supplied by the application layer,
/// so the domain reads no clock and draws no random numbers.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// The time of the command.
    pub now: Timestamp,
    /// This vault's device id.
    pub device: DeviceId,
    /// The correlation id of the operator action.
    pub correlation: CorrelationId,
    /// The command's id: the causation of every event it produces.
    pub command: CommandId,
}

/// Wraps decided events into envelopes, taking one fresh id per event from `next_id`.
pub fn seal(decided: Vec<Decided>, ctx: &Ctx, mut next_id: impl FnMut() -> EventId) -> Vec<EventEnvelope> {
    decided
        .into_iter()
        .map(|d| EventEnvelope {
            id: next_id(),
            version: d.version,
            correlation: ctx.correlation,
            causation: ctx.command,
            occurred_at: ctx.now,
            device: ctx.device,
            event: d.event,
        })
        .collect()
}
