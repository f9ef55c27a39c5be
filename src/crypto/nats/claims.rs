//! The claims of NATS JWT v2, as typed Rust structs that serialize like the Go library.
//!
//! Each struct mirrors a struct of `nats-io/jwt` v2 field for field: the fields are declared
//! in Go's order, embedded Go structs are `#[serde(flatten)]`ed, and Go's `omitempty` is
//! `skip_serializing_if` (empty string, zero number, `false`, empty list or map). Go never
//! omits a *struct* value even when it is tagged `omitempty`, so `limits`,
//! `default_permissions`, `authorization` and the `pub`/`sub` permissions are always written,
//! possibly as `{}`. Maps are `BTreeMap`s: Go writes map keys sorted bytewise.
//!
//! The consequence worth knowing: a limit of `0` is *omitted* (Go's `omitempty`), and an
//! absent limit reads back as `0`. "Unlimited" is `-1` ([`NO_LIMIT`]), never `0`, so every
//! limit we mean to set is written explicitly. A JetStream storage limit of `0` means
//! JetStream is disabled for the account.
//!
//! See `docs/formats/nats-jwt.md` for every field we emit.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The value of a limit that means "unlimited".
pub const NO_LIMIT: i64 = -1;

/// The `kind` of a scoped signing key with a user template.
pub const USER_SCOPE_KIND: &str = "user_scope";

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}
fn is_zero_u8(v: &u8) -> bool {
    *v == 0
}
fn is_false(v: &bool) -> bool {
    !*v
}

/// The registered claims every NATS JWT carries (Go's `ClaimsData`), with the
/// type-specific `nats` object.
///
/// `jti`, `iat` and `iss` are set by [`encode`](super::encode); build claims with
/// [`Claims::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims<T> {
    /// `aud`: audience (unused by NATS for these claim types).
    #[serde(rename = "aud", default, skip_serializing_if = "String::is_empty")]
    pub audience: String,
    /// `exp`: expiry, unix seconds; `0` (omitted) means never.
    #[serde(rename = "exp", default, skip_serializing_if = "is_zero_i64")]
    pub expires: i64,
    /// `jti`: the claims' id, a hash of the registered claims (see [`compute_jti`](super::compute_jti)).
    #[serde(rename = "jti", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// `iat`: issued at, unix seconds.
    #[serde(rename = "iat", default, skip_serializing_if = "is_zero_i64")]
    pub issued_at: i64,
    /// `iss`: the public key that signed the token.
    #[serde(rename = "iss", default, skip_serializing_if = "String::is_empty")]
    pub issuer: String,
    /// `name`: a human-readable name (tooling only; the server ignores it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `nbf`: not valid before, unix seconds; `0` (omitted) means at once.
    #[serde(rename = "nbf", default, skip_serializing_if = "is_zero_i64")]
    pub not_before: i64,
    /// `sub`: the public key the token is about (operator, account or user).
    #[serde(rename = "sub", default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// `nats`: the type-specific claims.
    pub nats: T,
}

impl<T> Claims<T> {
    /// Claims named `name` about the public key `subject`, with the given `nats` object.
    pub fn new(name: impl Into<String>, subject: impl Into<String>, nats: T) -> Self {
        Self {
            audience: String::new(),
            expires: 0,
            id: String::new(),
            issued_at: 0,
            issuer: String::new(),
            name: name.into(),
            not_before: 0,
            subject: subject.into(),
            nats,
        }
    }
}

/// Fields shared by every `nats` object (Go's `GenericFields`): tags, the claim type and the
/// JWT version. [`encode`](super::encode) sets the type and `version: 2`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenericFields {
    /// `tags`: free-form lowercase tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `type`: `operator`, `account` or `user`.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub claim_type: String,
    /// `version`: the JWT format version, `2`.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub version: i64,
}

// ---------------------------------------------------------------------------------------------
// Operator
// ---------------------------------------------------------------------------------------------

/// The `nats` object of an operator JWT (Go's `Operator`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    /// `signing_keys`: operator keys (`O…`) allowed to sign account JWTs for this operator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_keys: Vec<String>,
    /// `account_server_url`: where tools fetch account JWTs (unused with a memory resolver).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account_server_url: String,
    /// `operator_service_urls`: `nats://`/`tls://` URLs of the operator's servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operator_service_urls: Vec<String>,
    /// `system_account`: the public key of the system account.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub system_account: String,
    /// `assert_server_version`: the minimum server version, `major.minor.patch`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub assert_server_version: String,
    /// `strict_signing_key_usage`: only signing keys (never the identity key) may sign accounts.
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict_signing_key_usage: bool,
    /// `tags`, `type`, `version`.
    #[serde(flatten)]
    pub generic: GenericFields,
}

// ---------------------------------------------------------------------------------------------
// Limits and permissions
// ---------------------------------------------------------------------------------------------

/// Message limits (Go's `NatsLimits`), for accounts and users; `-1` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatsLimits {
    /// `subs`: maximum number of subscriptions.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub subs: i64,
    /// `data`: maximum number of bytes.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub data: i64,
    /// `payload`: maximum message payload in bytes.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub payload: i64,
}

impl NatsLimits {
    /// Every limit `-1`.
    pub const UNLIMITED: NatsLimits = NatsLimits { subs: NO_LIMIT, data: NO_LIMIT, payload: NO_LIMIT };
}

/// Account-wide limits (Go's `AccountLimits`); `-1` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLimits {
    /// `imports`: maximum number of imports.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub imports: i64,
    /// `exports`: maximum number of exports.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub exports: i64,
    /// `wildcards`: whether exports may use wildcards.
    #[serde(rename = "wildcards", default, skip_serializing_if = "is_false")]
    pub wildcard_exports: bool,
    /// `disallow_bearer`: refuse user JWTs that are bearer tokens.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disallow_bearer: bool,
    /// `conn`: maximum number of client connections.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub conn: i64,
    /// `leaf`: maximum number of leaf node connections.
    #[serde(rename = "leaf", default, skip_serializing_if = "is_zero_i64")]
    pub leaf_node_conn: i64,
}

impl AccountLimits {
    /// Every count `-1`, wildcard exports allowed, bearer tokens not refused (Go's defaults).
    pub const UNLIMITED: AccountLimits = AccountLimits {
        imports: NO_LIMIT,
        exports: NO_LIMIT,
        wildcard_exports: true,
        disallow_bearer: false,
        conn: NO_LIMIT,
        leaf_node_conn: NO_LIMIT,
    };
}

/// JetStream limits (Go's `JetStreamLimits`). JetStream is enabled for an account when
/// `mem_storage` or `disk_storage` is non-zero; `-1` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JetStreamLimits {
    /// `mem_storage`: bytes of memory storage across all streams (`0`: disabled).
    #[serde(rename = "mem_storage", default, skip_serializing_if = "is_zero_i64")]
    pub memory_storage: i64,
    /// `disk_storage`: bytes of file storage across all streams (`0`: disabled).
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub disk_storage: i64,
    /// `streams`: maximum number of streams.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub streams: i64,
    /// `consumer`: maximum number of consumers.
    #[serde(rename = "consumer", default, skip_serializing_if = "is_zero_i64")]
    pub consumers: i64,
    /// `max_ack_pending`: maximum ack-pending of a consumer.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub max_ack_pending: i64,
    /// `mem_max_stream_bytes`: maximum bytes of one memory stream.
    #[serde(rename = "mem_max_stream_bytes", default, skip_serializing_if = "is_zero_i64")]
    pub memory_max_stream_bytes: i64,
    /// `disk_max_stream_bytes`: maximum bytes of one file stream.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub disk_max_stream_bytes: i64,
    /// `max_bytes_required`: every stream must declare its maximum size.
    #[serde(default, skip_serializing_if = "is_false")]
    pub max_bytes_required: bool,
}

impl JetStreamLimits {
    /// JetStream disabled (every limit `0`, so none is written).
    pub const DISABLED: JetStreamLimits = JetStreamLimits {
        memory_storage: 0,
        disk_storage: 0,
        streams: 0,
        consumers: 0,
        max_ack_pending: 0,
        memory_max_stream_bytes: 0,
        disk_max_stream_bytes: 0,
        max_bytes_required: false,
    };

    /// JetStream enabled with every limit `-1`.
    pub const UNLIMITED: JetStreamLimits = JetStreamLimits {
        memory_storage: NO_LIMIT,
        disk_storage: NO_LIMIT,
        streams: NO_LIMIT,
        consumers: NO_LIMIT,
        max_ack_pending: NO_LIMIT,
        memory_max_stream_bytes: NO_LIMIT,
        disk_max_stream_bytes: NO_LIMIT,
        max_bytes_required: false,
    };

    /// Whether these limits enable JetStream (a non-zero storage limit).
    pub fn is_enabled(&self) -> bool {
        self.memory_storage != 0 || self.disk_storage != 0
    }
}

/// All limits of an account (Go's `OperatorLimits`: set by the operator that signs it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorLimits {
    /// `subs`, `data`, `payload`.
    #[serde(flatten)]
    pub nats: NatsLimits,
    /// `imports`, `exports`, `wildcards`, `disallow_bearer`, `conn`, `leaf`.
    #[serde(flatten)]
    pub account: AccountLimits,
    /// `mem_storage`, `disk_storage`, `streams`, `consumer`, `max_ack_pending`,
    /// `mem_max_stream_bytes`, `disk_max_stream_bytes`, `max_bytes_required`.
    #[serde(flatten)]
    pub jetstream: JetStreamLimits,
    /// `tiered_limits`: JetStream limits per replication tier (exclusive with the above).
    #[serde(rename = "tiered_limits", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tiered: BTreeMap<String, JetStreamLimits>,
}

impl OperatorLimits {
    /// Go's defaults for a new account: unlimited messages and connections, JetStream
    /// disabled.
    pub fn unlimited() -> Self {
        Self::with_jetstream(JetStreamLimits::DISABLED)
    }

    /// Unlimited messages and connections, with the given JetStream limits.
    pub fn with_jetstream(jetstream: JetStreamLimits) -> Self {
        Self { nats: NatsLimits::UNLIMITED, account: AccountLimits::UNLIMITED, jetstream, tiered: BTreeMap::new() }
    }
}

/// Allowed and denied subjects for publishing or subscribing (Go's `Permission`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    /// `allow`: subjects allowed (wildcards permitted; `subject queue` for queue subscriptions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// `deny`: subjects denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

/// Permission to reply to requests received (Go's `ResponsePermission`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponsePermission {
    /// `max`: how many replies per request.
    #[serde(rename = "max")]
    pub max_msgs: i64,
    /// `ttl`: how long the permission lasts, nanoseconds.
    #[serde(rename = "ttl")]
    pub expires_ns: i64,
}

/// Publish and subscribe permissions (Go's `Permissions`). `pub` and `sub` are always
/// written, as `{}` when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// `pub`: publish permissions.
    #[serde(rename = "pub", default)]
    pub publish: Permission,
    /// `sub`: subscribe permissions.
    #[serde(rename = "sub", default)]
    pub subscribe: Permission,
    /// `resp`: reply permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resp: Option<ResponsePermission>,
}

/// A daily time window in which a user may connect (Go's `TimeRange`), `HH:MM:SS`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// `start`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub start: String,
    /// `end`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub end: String,
}

/// Where and when a user may connect (Go's `UserLimits`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLimits {
    /// `src`: allowed source networks (CIDR).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub src: Vec<String>,
    /// `times`: allowed time windows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<TimeRange>,
    /// `times_location`: the IANA time zone of `times`.
    #[serde(rename = "times_location", default, skip_serializing_if = "String::is_empty")]
    pub locale: String,
}

/// A user's limits (Go's `Limits`): connection constraints and message limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// `src`, `times`, `times_location`.
    #[serde(flatten)]
    pub user: UserLimits,
    /// `subs`, `data`, `payload`.
    #[serde(flatten)]
    pub nats: NatsLimits,
}

/// Permissions and limits of a user (Go's `UserPermissionLimits`); also the template of a
/// scoped signing key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPermissionLimits {
    /// `pub`, `sub`, `resp`.
    #[serde(flatten)]
    pub permissions: Permissions,
    /// `src`, `times`, `times_location`, `subs`, `data`, `payload`.
    #[serde(flatten)]
    pub limits: Limits,
    /// `bearer_token`: the server skips the nonce signature (the JWT alone authenticates).
    #[serde(default, skip_serializing_if = "is_false")]
    pub bearer_token: bool,
    /// `allowed_connection_types`: e.g. `STANDARD`, `WEBSOCKET`, `LEAFNODE`, `MQTT`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_connection_types: Vec<String>,
}

impl UserPermissionLimits {
    /// No permissions set (everything the account allows) and every message limit `-1`
    /// (Go's `NewUserClaims`).
    pub fn unlimited() -> Self {
        Self { limits: Limits { nats: NatsLimits::UNLIMITED, ..Limits::default() }, ..Self::default() }
    }

    /// Whether nothing at all is set: the only form a scoped signing key accepts.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Account
// ---------------------------------------------------------------------------------------------

/// Whether an import or export is a stream or a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportType {
    /// `stream`: messages flow from exporter to importer.
    Stream,
    /// `service`: requests flow from importer to exporter.
    Service,
}

/// Latency sampling rate of a service export: `0` is written `"headers"`, 1–100 as a number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SamplingRate(pub u8);

impl Serialize for SamplingRate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            0 => serializer.serialize_str("headers"),
            n => serializer.serialize_u8(n),
        }
    }
}

impl<'de> Deserialize<'de> for SamplingRate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u8),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => Ok(SamplingRate(n)),
            Raw::Text(t) if t.eq_ignore_ascii_case("headers") => Ok(SamplingRate(0)),
            Raw::Text(t) => Err(serde::de::Error::custom(format!("unknown sampling rate {t:?}"))),
        }
    }
}

/// Latency tracking of a service export (Go's `ServiceLatency`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLatency {
    /// `sampling`: percentage, or `"headers"`.
    pub sampling: SamplingRate,
    /// `results`: the subject latency results are published to.
    pub results: String,
}

/// A subject this account offers to other accounts (Go's `Export`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    /// `name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `subject`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// `type`: stream or service.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub export_type: Option<ExportType>,
    /// `token_req`: importers need an activation token.
    #[serde(default, skip_serializing_if = "is_false")]
    pub token_req: bool,
    /// `revocations`: revoked activations, public key → unix time.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub revocations: BTreeMap<String, i64>,
    /// `response_type`: `Singleton`, `Stream` or `Chunked` (services).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub response_type: String,
    /// `response_threshold`: nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub response_threshold: i64,
    /// `service_latency`.
    #[serde(rename = "service_latency", default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<ServiceLatency>,
    /// `account_token_position`: the subject token that must be the importer's account.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub account_token_position: u64,
    /// `advertise`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub advertise: bool,
    /// `allow_trace`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_trace: bool,
    /// `description`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `info_url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub info_url: String,
}

/// A subject this account takes from another account (Go's `Import`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// `name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `subject`: as the exporter names it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// `account`: the exporting account's public key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account: String,
    /// `token`: an activation JWT, when the export requires one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// `to`: deprecated local subject.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// `local_subject`: the subject in this account.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub local_subject: String,
    /// `type`: stream or service.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub import_type: Option<ExportType>,
    /// `share`: share connection information for latency tracking.
    #[serde(default, skip_serializing_if = "is_false")]
    pub share: bool,
    /// `allow_trace`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_trace: bool,
}

/// A signing key with a role template (Go's `UserScope`): users it signs get exactly the
/// template's permissions and limits, and must carry none of their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserScope {
    /// `kind`: always `user_scope`.
    pub kind: String,
    /// `key`: the signing key's public key (`A…`).
    pub key: String,
    /// `role`: the role's name.
    pub role: String,
    /// `template`: the permissions and limits of every user this key signs.
    pub template: UserPermissionLimits,
    /// `description`: free text (always written, possibly empty).
    #[serde(default)]
    pub description: String,
}

impl UserScope {
    /// A scope for the signing key `key`, named `role`, with the given template.
    pub fn new(key: impl Into<String>, role: impl Into<String>, template: UserPermissionLimits) -> Self {
        Self {
            kind: USER_SCOPE_KIND.to_owned(),
            key: key.into(),
            role: role.into(),
            template,
            description: String::new(),
        }
    }
}

/// An account signing key: a plain key (written as its public key) or a scoped one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // a handful per account; boxing would only add noise
pub enum SigningKey {
    /// A key that may sign any user.
    Plain(String),
    /// A key that signs users with a role template.
    Scoped(UserScope),
}

impl SigningKey {
    /// The signing key's public key.
    pub fn key(&self) -> &str {
        match self {
            SigningKey::Plain(key) => key,
            SigningKey::Scoped(scope) => &scope.key,
        }
    }
}

/// One target of a subject mapping (Go's `WeightedMapping`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedMapping {
    /// `subject`.
    pub subject: String,
    /// `weight`: percent (`0`, omitted, means 100).
    #[serde(default, skip_serializing_if = "is_zero_u8")]
    pub weight: u8,
    /// `cluster`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
}

/// Authorization callout settings (Go's `ExternalAuthorization`); written as `{}` when unused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalAuthorization {
    /// `auth_users`: users that bypass the callout (the callout service itself).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_users: Vec<String>,
    /// `allowed_accounts`: accounts the callout may place users in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_accounts: Vec<String>,
    /// `xkey`: the callout's curve key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub xkey: String,
}

/// Message tracing settings (Go's `MsgTrace`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgTrace {
    /// `dest`: the subject traces are sent to.
    #[serde(rename = "dest", default, skip_serializing_if = "String::is_empty")]
    pub destination: String,
    /// `sampling`: percent.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub sampling: i64,
}

/// The `nats` object of an account JWT (Go's `Account`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// `imports`, sorted by subject when encoded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<Import>,
    /// `exports`, sorted by subject when encoded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exports: Vec<Export>,
    /// `limits`: always written.
    #[serde(default)]
    pub limits: OperatorLimits,
    /// `signing_keys`: plain keys as strings, scoped keys as objects; sorted by key when
    /// encoded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_keys: Vec<SigningKey>,
    /// `revocations`: user public key (or `*`) → unix time; user JWTs of that key issued at or
    /// before that time are refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub revocations: BTreeMap<String, i64>,
    /// `default_permissions`: for users that set none; always written.
    #[serde(default)]
    pub default_permissions: Permissions,
    /// `mappings`: subject mappings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mappings: BTreeMap<String, Vec<WeightedMapping>>,
    /// `authorization`: callout settings; always written.
    #[serde(default)]
    pub authorization: ExternalAuthorization,
    /// `trace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<MsgTrace>,
    /// `cluster_traffic`: `system`, `owner` or `account:<key>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster_traffic: String,
    /// `description`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `info_url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub info_url: String,
    /// `tags`, `type`, `version`.
    #[serde(flatten)]
    pub generic: GenericFields,
}

impl Account {
    /// An account with the given limits and nothing else.
    pub fn with_limits(limits: OperatorLimits) -> Self {
        Self { limits, ..Self::default() }
    }

    /// Whether `key` is one of this account's signing keys.
    pub fn has_signing_key(&self, key: &str) -> bool {
        self.signing_keys.iter().any(|k| k.key() == key)
    }

    /// The scope of signing key `key`, if it is a scoped one.
    pub fn scope(&self, key: &str) -> Option<&UserScope> {
        self.signing_keys.iter().find_map(|k| match k {
            SigningKey::Scoped(scope) if scope.key == key => Some(scope),
            _ => None,
        })
    }

    /// Revokes every JWT of `public_key` issued at or before `at` (unix seconds); an existing
    /// later revocation is kept (as Go's `RevokeAt`).
    pub fn revoke(&mut self, public_key: impl Into<String>, at: i64) {
        let entry = self.revocations.entry(public_key.into()).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// Whether a JWT about `public_key` issued at `issued_at` is revoked.
    pub fn is_revoked(&self, public_key: &str, issued_at: i64) -> bool {
        [public_key, "*"].iter().any(|k| self.revocations.get(*k).is_some_and(|&at| at >= issued_at))
    }

    /// Go's order: exports and imports by subject, signing keys by key (one entry per key, the
    /// last one winning, as in Go's map).
    pub(crate) fn normalize(&mut self) {
        self.exports.sort_by(|a, b| a.subject.cmp(&b.subject));
        self.imports.sort_by(|a, b| a.subject.cmp(&b.subject));
        let mut by_key: BTreeMap<String, SigningKey> = BTreeMap::new();
        for key in self.signing_keys.drain(..) {
            by_key.insert(key.key().to_owned(), key);
        }
        self.signing_keys = by_key.into_values().collect();
    }
}

// ---------------------------------------------------------------------------------------------
// User
// ---------------------------------------------------------------------------------------------

/// The `nats` object of a user JWT (Go's `User`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// `pub`, `sub`, `resp`, `src`, `times`, `times_location`, `subs`, `data`, `payload`,
    /// `bearer_token`, `allowed_connection_types`.
    #[serde(flatten)]
    pub permission_limits: UserPermissionLimits,
    /// `issuer_account`: the account's public key, when a signing key (not the account's
    /// identity key) signed the JWT.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer_account: String,
    /// `tags`, `type`, `version`.
    #[serde(flatten)]
    pub generic: GenericFields,
}

impl User {
    /// A user with the given permissions and limits, signed by its account's identity key.
    pub fn new(permission_limits: UserPermissionLimits) -> Self {
        Self { permission_limits, ..Self::default() }
    }

    /// A user signed by a (plain) signing key of `account`.
    pub fn issued_by_signing_key(permission_limits: UserPermissionLimits, account: impl Into<String>) -> Self {
        Self { permission_limits, issuer_account: account.into(), ..Self::default() }
    }

    /// A user signed by a scoped signing key of `account`: no permissions or limits of its own
    /// (the server applies the scope's template, and refuses a scoped user that sets any).
    pub fn scoped(account: impl Into<String>) -> Self {
        Self { issuer_account: account.into(), ..Self::default() }
    }
}
