//! The NATS part of the domain: operators, accounts, users and their signing keys.
//!
//! An organization bootstrapped for NATS has one operator (identity key and signing keys,
//! `strict_signing_key_usage`), a system account, an organization account (for people outside
//! every unit) and one account per unit; every person has one user, in the account of their
//! first unit (or the organization account). Every JWT is a public artifact block: events carry
//! its CID (CIDv1, raw codec, sha2-256 of the token's ASCII bytes), never the token itself,
//! and never a seed. The application layer generates keys, signs JWTs and seals seeds; these
//! events record the facts, and `decide` keeps them consistent: one operator per organization,
//! one account per unit, one user per person, users signed only by a current signing key of
//! their account, a rotated-away (retired) key never signing again.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::DomainError;
use super::ids::{AccountId, NatsUserId, OperatorId, OrgId, PersonId, UnitId};

/// A signing key as recorded: its public key and, for a scoped key, the role of its template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSigningKey {
    /// Public nkey (`O…` for an operator, `A…` for an account).
    pub public_key: String,
    /// The role of a scoped key's user template; none for a plain key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// An organization's NATS operator was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsOperatorCreated {
    /// Its id (aggregate).
    pub operator: OperatorId,
    /// Its organization.
    pub org: OrgId,
    /// Its name (the organization's).
    pub name: String,
    /// Its identity public key (`O…`).
    pub public_key: String,
    /// Its signing keys (`O…`), which sign the account JWTs.
    pub signing_keys: Vec<String>,
    /// The public key (`A…`) of its system account.
    pub system_account: String,
    /// CID of its JWT (self-signed by the identity key).
    pub jwt: String,
}

/// A NATS account was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsAccountCreated {
    /// Its id (aggregate).
    pub account: AccountId,
    /// Its organization.
    pub org: OrgId,
    /// The operator whose signing key signed it.
    pub operator: OperatorId,
    /// The unit it serves; none for the system and the organization account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitId>,
    /// Whether it is the operator's system account.
    pub system: bool,
    /// Its name.
    pub name: String,
    /// Its identity public key (`A…`).
    pub public_key: String,
    /// Its signing keys (`A…`), plain or scoped.
    pub signing_keys: Vec<NatsSigningKey>,
    /// Whether JetStream is enabled (with explicit limits) for it.
    pub jetstream: bool,
    /// CID of its JWT.
    pub jwt: String,
}

/// A NATS user was created for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsUserCreated {
    /// Its id (aggregate).
    pub user: NatsUserId,
    /// Its organization.
    pub org: OrgId,
    /// Its account.
    pub account: AccountId,
    /// The person it belongs to.
    pub person: PersonId,
    /// Its name (the person's e-mail address).
    pub name: String,
    /// Its public key (`U…`).
    pub public_key: String,
    /// The account signing key that signed its JWT.
    pub signer: String,
    /// The role of the scoped signing key that signed it, if scoped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// CID of its JWT.
    pub jwt: String,
}

/// A NATS user was revoked: its account JWT was re-issued with the revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsUserRevoked {
    /// The user (aggregate).
    pub user: NatsUserId,
    /// Its organization.
    pub org: OrgId,
    /// Its account.
    pub account: AccountId,
    /// The time of the revocation in the account JWT (unix seconds): JWTs of the user issued
    /// at or before it are refused.
    pub revoked_at: i64,
    /// CID of the re-issued account JWT.
    pub account_jwt: String,
}

/// Who owns a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum NatsOwner {
    /// An operator.
    Operator(OperatorId),
    /// An account.
    Account(AccountId),
}

/// A NATS entity whose JWT was re-issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum NatsEntity {
    /// An operator.
    Operator(OperatorId),
    /// An account.
    Account(AccountId),
    /// A user.
    User(NatsUserId),
}

impl NatsEntity {
    /// The entity's id.
    pub fn uuid(self) -> Uuid {
        match self {
            Self::Operator(id) => id.uuid(),
            Self::Account(id) => id.uuid(),
            Self::User(id) => id.uuid(),
        }
    }

    /// `operator`, `account` or `user`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Operator(_) => "operator",
            Self::Account(_) => "account",
            Self::User(_) => "user",
        }
    }
}

/// A JWT re-issued by a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsReissued {
    /// Whose JWT.
    pub entity: NatsEntity,
    /// CID of the new JWT.
    pub jwt: String,
}

/// A signing key was rotated: the new key replaced the old one in its owner's JWT, and every
/// JWT the old key had signed was re-issued (revoked users excepted: re-issuing them would
/// undo their revocation). The old key is retired and never signs again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSigningKeyRotated {
    /// The organization.
    pub org: OrgId,
    /// The operator or account that owns the key (aggregate).
    pub owner: NatsOwner,
    /// The retired key.
    pub old_key: String,
    /// The key that replaced it (same role).
    pub new_key: NatsSigningKey,
    /// The JWTs re-issued: the owner's own first, then those the old key had signed.
    pub reissued: Vec<NatsReissued>,
}

/// What `decide` needs to know about an organization's operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingNatsOperator {
    /// Its id.
    pub id: OperatorId,
    /// Its current signing keys.
    pub signing_keys: Vec<String>,
    /// The public key of its system account.
    pub system_account: String,
    /// Whether the system account was created.
    pub has_system_account: bool,
    /// Its version.
    pub version: u64,
}

/// What `decide` needs to know about an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingNatsAccount {
    /// Its organization.
    pub org: OrgId,
    /// Whether it is the system account.
    pub system: bool,
    /// Its current signing keys.
    pub signing_keys: Vec<NatsSigningKey>,
    /// Its version.
    pub version: u64,
}

/// What `decide` needs to know about a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingNatsUser {
    /// Its organization.
    pub org: OrgId,
    /// Its account.
    pub account: AccountId,
    /// Whether it is revoked.
    pub revoked: bool,
    /// Its version.
    pub version: u64,
}

/// Checks the form of a public nkey: 56 characters of RFC 4648 base32 starting with the
/// kind's prefix letter (`O`, `A`, `U`). The checksum is the crypto layer's business.
pub(crate) fn check_nats_key(what: &'static str, key: &str, prefix: char) -> Result<(), DomainError> {
    let ok = key.len() == 56
        && key.starts_with(prefix)
        && key.bytes().all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c));
    if ok { Ok(()) } else { Err(DomainError::MalformedNatsKey { what }) }
}

/// Checks the form of a JWT's CID: CIDv1, raw codec, sha2-256, in base32 — 59 characters
/// starting `bafkrei`.
pub(crate) fn check_jwt_cid(cid: &str) -> Result<(), DomainError> {
    let ok = cid.len() == 59
        && cid.starts_with("bafkrei")
        && cid.bytes().all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c));
    if ok { Ok(()) } else { Err(DomainError::MalformedJwtCid) }
}
