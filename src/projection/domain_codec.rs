//! The block form of a domain event (format version 1).
//!
//! ```text
//! { "v": 1, "id": <event id>, "type": "PersonAdded", "schema": 1,
//!   "aggregate_type": "person", "aggregate": <uuid>, "version": 3,
//!   "correlation": <uuid>, "causation": <command id>, "at": "2026-…Z",
//!   "device": <uuid>, "data": { …event fields… } }
//! ```
//!
//! Specified normatively in `docs/formats/graph-events.md` (section "Domain event blocks").

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{Block, CodecError, decode, encode};
use crate::domain::{
    AggregateKind, CommandId, CorrelationId, DeviceId, DomainEvent, EventEnvelope, EventId, Timestamp,
    deserialize_uuid, serialize_uuid,
};

/// Format version of domain event blocks.
pub const DOMAIN_EVENT_FORMAT: u64 = 1;
const WHAT: &str = "domain event block";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<D> {
    v: u64,
    id: EventId,
    #[serde(rename = "type")]
    kind: String,
    schema: u64,
    aggregate_type: String,
    #[serde(serialize_with = "serialize_uuid", deserialize_with = "deserialize_uuid")]
    aggregate: Uuid,
    version: u64,
    correlation: CorrelationId,
    causation: CommandId,
    at: Timestamp,
    device: DeviceId,
    data: D,
}

#[derive(Deserialize)]
struct Header {
    v: u64,
    #[serde(rename = "type")]
    kind: String,
    schema: u64,
}

/// Encodes a domain event as a block.
pub fn encode_domain_event(envelope: &EventEnvelope) -> Result<Block, CodecError> {
    fn wire<D: Serialize>(e: &EventEnvelope, data: &D) -> Result<Vec<u8>, CodecError> {
        let (kind, aggregate) = e.aggregate();
        encode(
            WHAT,
            &Wire {
                v: DOMAIN_EVENT_FORMAT,
                id: e.id,
                kind: e.event.name().to_owned(),
                schema: u64::from(e.event.schema()),
                aggregate_type: kind.name().to_owned(),
                aggregate,
                version: e.version,
                correlation: e.correlation,
                causation: e.causation,
                at: e.occurred_at,
                device: e.device,
                data,
            },
        )
    }
    let bytes = match &envelope.event {
        DomainEvent::OrganizationCreated(d) => wire(envelope, d),
        DomainEvent::UnitCreated(d) => wire(envelope, d),
        DomainEvent::PersonAdded(d) => wire(envelope, d),
        DomainEvent::RoleDefined(d) => wire(envelope, d),
        DomainEvent::RoleAssigned(d) => wire(envelope, d),
        DomainEvent::KeyGenerated(d) => wire(envelope, d),
        DomainEvent::KeyRevoked(d) => wire(envelope, d),
        DomainEvent::CaCreated(d) => wire(envelope, d),
        DomainEvent::CertificateIssued(d) => wire(envelope, d),
        DomainEvent::NatsOperatorCreated(d) => wire(envelope, d),
        DomainEvent::NatsAccountCreated(d) => wire(envelope, d),
        DomainEvent::NatsUserCreated(d) => wire(envelope, d),
        DomainEvent::NatsUserRevoked(d) => wire(envelope, d),
        DomainEvent::NatsSigningKeyRotated(d) => wire(envelope, d),
    }?;
    Ok(Block::new(bytes))
}

/// Decodes a domain event block (the CID is not checked here).
pub fn decode_domain_event(bytes: &[u8]) -> Result<EventEnvelope, CodecError> {
    let header: Header = decode(WHAT, bytes)?;
    if header.v != DOMAIN_EVENT_FORMAT {
        return Err(CodecError::UnsupportedVersion { what: WHAT, found: header.v });
    }
    fn typed<D: serde::de::DeserializeOwned>(
        bytes: &[u8],
        make: impl FnOnce(D) -> DomainEvent,
    ) -> Result<EventEnvelope, CodecError> {
        let w: Wire<D> = decode(WHAT, bytes)?;
        let envelope = EventEnvelope {
            id: w.id,
            version: w.version,
            correlation: w.correlation,
            causation: w.causation,
            occurred_at: w.at,
            device: w.device,
            event: make(w.data),
        };
        let (kind, aggregate) = envelope.aggregate();
        if AggregateKind::from_name(&w.aggregate_type) != Some(kind) || aggregate != w.aggregate {
            return Err(CodecError::Malformed { what: WHAT, reason: "aggregate does not match the event".into() });
        }
        Ok(envelope)
    }
    match (header.kind.as_str(), header.schema) {
        ("OrganizationCreated", 1) => typed(bytes, DomainEvent::OrganizationCreated),
        ("UnitCreated", 1) => typed(bytes, DomainEvent::UnitCreated),
        ("PersonAdded", 1) => typed(bytes, DomainEvent::PersonAdded),
        ("RoleDefined", 1) => typed(bytes, DomainEvent::RoleDefined),
        ("RoleAssigned", 1) => typed(bytes, DomainEvent::RoleAssigned),
        ("KeyGenerated", 1) => typed(bytes, DomainEvent::KeyGenerated),
        ("KeyRevoked", 1) => typed(bytes, DomainEvent::KeyRevoked),
        ("CaCreated", 1) => typed(bytes, DomainEvent::CaCreated),
        ("CertificateIssued", 1) => typed(bytes, DomainEvent::CertificateIssued),
        ("NatsOperatorCreated", 1) => typed(bytes, DomainEvent::NatsOperatorCreated),
        ("NatsAccountCreated", 1) => typed(bytes, DomainEvent::NatsAccountCreated),
        ("NatsUserCreated", 1) => typed(bytes, DomainEvent::NatsUserCreated),
        ("NatsUserRevoked", 1) => typed(bytes, DomainEvent::NatsUserRevoked),
        ("NatsSigningKeyRotated", 1) => typed(bytes, DomainEvent::NatsSigningKeyRotated),
        (name, schema) => {
            Err(CodecError::UnknownType { what: WHAT, name: crate::domain::excerpt(name), schema: Some(schema) })
        }
    }
}
