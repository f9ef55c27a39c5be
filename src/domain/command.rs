//! Commands: what an operator asks for.
//!
//! Commands carry raw user input; [`super::decide`] validates it. A command that creates an
//! aggregate carries the new aggregate's id, chosen by the caller (the application layer draws
//! a UUIDv7), so that `decide` stays pure and the caller knows the id before the command runs.

use super::event::CertificateFacts;
use super::ids::{AccountId, CaId, CertificateId, KeyId, NatsUserId, OperatorId, OrgId, PersonId, RoleId, UnitId};
use super::nats::{NatsOwner, NatsReissued, NatsSigningKey};

/// A request to change the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Create an organization.
    CreateOrganization {
        /// The new organization's id.
        id: OrgId,
        /// Its name (unique in the vault, case-insensitively).
        name: String,
        /// Its DNS domain.
        domain: Option<String>,
    },
    /// Create an organizational unit.
    CreateUnit {
        /// The new unit's id.
        id: UnitId,
        /// Its organization.
        org: OrgId,
        /// The unit it is nested in (same organization), or none for a top-level unit.
        parent: Option<UnitId>,
        /// Its name (unique under its parent, case-insensitively).
        name: String,
    },
    /// Add a person to an organization.
    AddPerson {
        /// The new person's id.
        id: PersonId,
        /// Their organization.
        org: OrgId,
        /// Their name.
        name: String,
        /// Their e-mail address (unique in the organization, case-insensitively).
        email: String,
        /// Units of the same organization they are a member of (repeats are ignored).
        units: Vec<UnitId>,
    },
    /// Define a role in an organization.
    DefineRole {
        /// The new role's id.
        id: RoleId,
        /// Its organization.
        org: OrgId,
        /// Its name (unique in the organization, case-insensitively).
        name: String,
    },
    /// Give a person a role of their organization.
    AssignRole {
        /// The role.
        role: RoleId,
        /// The person.
        person: PersonId,
        /// The person's version the caller last saw, if it wants the optimistic check.
        expected_version: Option<u64>,
    },
    /// Record a freshly generated identity key of a person. The application layer generates
    /// the key pair, seals the private half in the keystore, and passes the public half here.
    GenerateKey {
        /// The new key's id.
        id: KeyId,
        /// The person who will own it.
        owner: PersonId,
        /// The algorithm (only `ed25519` today).
        algorithm: String,
        /// The public key in OpenSSH form, without comment.
        public_key: String,
        /// Its `SHA256:` fingerprint.
        fingerprint: String,
    },
    /// Revoke a key.
    RevokeKey {
        /// The key.
        key: KeyId,
        /// Why.
        reason: String,
    },
    /// Record an organization's new CA hierarchy: its root and the intermediate the root
    /// certified. The application layer generates the keys (sealed in the keystore) and builds
    /// the certificates (stored as artifact blocks); this records the facts.
    InitPki {
        /// The organization.
        org: OrgId,
        /// The root CA's id.
        root: CaId,
        /// The root certificate.
        root_facts: CertificateFacts,
        /// The intermediate CA's id.
        intermediate: CaId,
        /// The intermediate certificate.
        intermediate_facts: CertificateFacts,
    },
    /// Record a leaf certificate issued by an intermediate CA.
    IssueCertificate {
        /// The certificate's id.
        id: CertificateId,
        /// The issuing intermediate CA.
        ca: CaId,
        /// `server` or `client`.
        profile: String,
        /// Subject alternative names.
        names: Vec<String>,
        /// The certificate.
        facts: CertificateFacts,
    },
    /// Record an organization's NATS operator. Like every NATS command, the application layer
    /// generates the keys (seeds sealed in the keystore) and signs the JWT (an artifact block);
    /// this records the public facts.
    CreateNatsOperator {
        /// The operator's id.
        id: OperatorId,
        /// Its organization (not yet bootstrapped).
        org: OrgId,
        /// Its name.
        name: String,
        /// Its identity public key.
        public_key: String,
        /// Its signing keys.
        signing_keys: Vec<String>,
        /// Its system account's public key.
        system_account: String,
        /// CID of its JWT.
        jwt: String,
    },
    /// Record a NATS account of the organization's operator.
    CreateNatsAccount {
        /// The account's id.
        id: AccountId,
        /// Its organization (bootstrapped).
        org: OrgId,
        /// The unit it serves (none for the system and the organization account).
        unit: Option<UnitId>,
        /// Whether it is the system account (whose key the operator names).
        system: bool,
        /// Its name.
        name: String,
        /// Its identity public key.
        public_key: String,
        /// Its signing keys (at least one).
        signing_keys: Vec<NatsSigningKey>,
        /// Whether JetStream is enabled.
        jetstream: bool,
        /// CID of its JWT.
        jwt: String,
    },
    /// Record a person's NATS user.
    CreateNatsUser {
        /// The user's id.
        id: NatsUserId,
        /// Its account (not the system account).
        account: AccountId,
        /// The person.
        person: PersonId,
        /// Its name.
        name: String,
        /// Its public key.
        public_key: String,
        /// The account signing key that signed it (a current one).
        signer: String,
        /// CID of its JWT.
        jwt: String,
    },
    /// Record a user's revocation and its account's re-issued JWT.
    RevokeNatsUser {
        /// The user.
        user: NatsUserId,
        /// The revocation time written into the account JWT (unix seconds).
        revoked_at: i64,
        /// CID of the re-issued account JWT.
        account_jwt: String,
    },
    /// Record a signing key's rotation and the JWTs re-issued for it.
    RotateNatsSigningKey {
        /// The organization.
        org: OrgId,
        /// The key's owner.
        owner: NatsOwner,
        /// The key being retired (a current signing key of the owner).
        old_key: String,
        /// Its replacement (same role).
        new_key: NatsSigningKey,
        /// The re-issued JWTs.
        reissued: Vec<NatsReissued>,
    },
}

impl Command {
    /// The command's name, for messages and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateOrganization { .. } => "CreateOrganization",
            Self::CreateUnit { .. } => "CreateUnit",
            Self::AddPerson { .. } => "AddPerson",
            Self::DefineRole { .. } => "DefineRole",
            Self::AssignRole { .. } => "AssignRole",
            Self::GenerateKey { .. } => "GenerateKey",
            Self::RevokeKey { .. } => "RevokeKey",
            Self::InitPki { .. } => "InitPki",
            Self::IssueCertificate { .. } => "IssueCertificate",
            Self::CreateNatsOperator { .. } => "CreateNatsOperator",
            Self::CreateNatsAccount { .. } => "CreateNatsAccount",
            Self::CreateNatsUser { .. } => "CreateNatsUser",
            Self::RevokeNatsUser { .. } => "RevokeNatsUser",
            Self::RotateNatsSigningKey { .. } => "RotateNatsSigningKey",
        }
    }
}
