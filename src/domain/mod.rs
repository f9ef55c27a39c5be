//! The domain: organizations, their units, people and roles.
//!
//! Pure code only — no IO, no clock, no random numbers (a test in `tests/main.rs` enforces
//! it). The shape is the classic event-sourced one:
//!
//! * a [`Command`] is an imperative request carrying raw input;
//! * [`decide`] checks it against the current state (read through [`DomainView`]) and returns
//!   the [`DomainEvent`]s it causes, or a [`DomainError`] saying what to fix;
//! * [`seal`] wraps them into [`EventEnvelope`]s with ids, time, device, correlation and
//!   causation supplied by the caller through [`Ctx`];
//! * [`State::evolve`] folds events into state.
//!
//! Aggregates: Organization, OrganizationalUnit (nested under a parent unit), Person, Role,
//! Key, CA, Certificate, and the NATS operator, account and user (see `src/domain/nats.rs`).
//! Each has a version that every one of its events increments; a command may state the
//! version it expects and is refused with [`DomainError::VersionConflict`] otherwise.

mod command;
mod decide;
mod error;
mod event;
mod ids;
mod nats;
mod state;
mod values;

pub mod fixtures;

pub use command::Command;
pub(crate) use decide::key_text;
pub use decide::{DomainView, Existing, ExistingCa, ExistingKey, ExistingUnit, Refusal, decide};
pub use error::DomainError;
pub use event::{
    AggregateKind, ArtifactKind, CaCreated, CertificateFacts, CertificateIssued, Ctx, Decided, DomainEvent,
    EventEnvelope, KeyGenerated, KeyRevoked, OrganizationCreated, PersonAdded, RoleAssigned, RoleDefined, UnitCreated,
    seal,
};
pub use ids::{
    AccountId, CaId, CertificateId, CommandId, CorrelationId, DeviceId, EventId, IdParseError, KeyId, NatsUserId,
    OperatorId, OrgId, PersonId, RoleId, UnitId,
};
pub(crate) use ids::{deserialize_uuid, excerpt, serialize_uuid};
pub use nats::{
    ExistingNatsAccount, ExistingNatsOperator, ExistingNatsUser, NatsAccountCreated, NatsEntity, NatsOperatorCreated,
    NatsOwner, NatsReissued, NatsSigningKey, NatsSigningKeyRotated, NatsUserCreated, NatsUserRevoked,
};
pub use state::{
    Ca, Certificate, Key, NatsAccount, NatsOperator, NatsUser, Organization, Person, RetiredNatsKey, Role, State, Unit,
};
pub use values::{DomainName, Email, MAX_EMAIL_CHARS, MAX_NAME_CHARS, Name, Timestamp, name_key};

#[cfg(test)]
mod scenario;
#[cfg(test)]
mod tests;
