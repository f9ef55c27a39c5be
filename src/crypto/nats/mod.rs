//! The NATS security hierarchy: nkeys, JWT v2 claims, creds files, server configuration.
//!
//! NATS decentralized authentication is a chain of signatures, as `nsc` users know it:
//!
//! ```text
//! operator identity key ──signs──► operator JWT (self-signed; lists operator signing keys,
//!                                   the system account, strict_signing_key_usage)
//! operator signing key  ──signs──► account JWT  (limits, JetStream limits, account signing
//!                                   keys — plain or scoped with a role template — revocations)
//! account key or signing key ──signs──► user JWT (permissions, limits; `issuer_account`
//!                                   when a signing key signs)
//! user seed + user JWT  ──────────► creds file  (what a client connects with)
//! operator JWT + every account JWT ► nats-server configuration (memory resolver)
//! ```
//!
//! Everything here is byte-compatible with the reference Go library `nats-io/jwt` v2: the
//! claims serialize with Go's field order, omission rules and string escaping, so `jti` (a
//! hash of JSON bytes) matches the Go library's, and tokens produced by `nsc` decode, verify
//! and re-encode to the same bytes (tests pin this on public fixtures).
//! `docs/formats/nats-jwt.md` describes every field we emit and how `jti` is computed.
//!
//! Pure code: seeds (32 random bytes) and times (`iat`, unix seconds) are passed in; nothing
//! here reads a clock, a random source or a file.
//!
//! * [`nkey`]: key pairs, seeds (secret, redacted) and public-key checks;
//! * [`claims`]: the typed claims of operators, accounts and users;
//! * [`jwt`]: encoding, signing, `jti`, decoding and verifying;
//! * [`creds`]: creds files;
//! * [`server_config`](mod@server_config): the nats-server configuration text.

pub mod claims;
pub mod creds;
pub mod gojson;
pub mod jwt;
pub mod nkey;
pub mod server_config;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

pub use claims::{
    Account, AccountLimits, Claims, Export, ExportType, GenericFields, Import, JetStreamLimits, Limits, NO_LIMIT,
    NatsLimits, Operator, OperatorLimits, Permission, Permissions, SigningKey, User, UserPermissionLimits, UserScope,
};
pub use creds::{CredsFile, creds_file, parse_creds};
pub use jwt::{AnyJwt, Jwt, NatsClaim, compute_jti, decode, decode_any, encode};
pub use nkey::{NKeyKind, NatsKeyPair, NatsSeed, check_public_key, public_key_kind};
pub use server_config::{JetStreamServerConfig, server_config};

/// Why a NATS key, JWT, creds file or server configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NatsError {
    /// A public key is malformed or of the wrong kind.
    #[error("the {what} {key:?} is not a valid NATS {expected} public key")]
    InvalidPublicKey {
        /// Which key (subject, issuer, signing key…).
        what: String,
        /// The key as given.
        key: String,
        /// The kind it should have been.
        expected: NKeyKind,
    },
    /// A seed is malformed (never echoes the seed).
    #[error("not a valid NATS nkey seed (expected SO…, SA… or SU… with a valid checksum)")]
    InvalidSeed,
    /// A key signs claims it may not sign.
    #[error("a {claim} JWT cannot be signed by a {issuer} key")]
    WrongIssuer {
        /// The kind of claims.
        claim: NKeyKind,
        /// The kind of the signing key.
        issuer: NKeyKind,
    },
    /// The token is not a well-formed JWT.
    #[error("not a NATS JWT: {0}")]
    Malformed(String),
    /// The header is not NATS JWT v2's.
    #[error("unsupported JWT header (typ {typ:?}, alg {alg:?}); NATS JWT v2 uses typ \"JWT\" and alg \"ed25519-nkey\"")]
    UnsupportedHeader {
        /// The `typ` found.
        typ: String,
        /// The `alg` found.
        alg: String,
    },
    /// `nats.version` is not 2.
    #[error("NATS JWT version {0} is not supported; re-issue it as version 2")]
    UnsupportedVersion(i64),
    /// `nats.type` is not operator, account or user.
    #[error("unsupported NATS claim type {0:?} (expected operator, account or user)")]
    UnknownClaimType(String),
    /// The JWT is of another kind than expected.
    #[error("expected a {expected} JWT, got a {found} JWT")]
    WrongClaimType {
        /// The kind asked for.
        expected: NKeyKind,
        /// The kind found.
        found: NKeyKind,
    },
    /// The signature does not verify.
    #[error("the JWT signature does not verify: the token was altered or not signed by its issuer")]
    BadSignature,
    /// The claims break a rule of their kind.
    #[error("invalid claims: {0}")]
    Invalid(String),
    /// A creds file is malformed or mismatched.
    #[error("invalid creds file: {0}")]
    InvalidCreds(String),
    /// The server configuration cannot be built.
    #[error("cannot build the nats-server configuration: {0}")]
    ServerConfig(String),
}
