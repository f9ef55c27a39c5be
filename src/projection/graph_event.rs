//! Graph events: the CIM graph vocabulary, and their block form (format version 1).
//!
//! ```text
//! { "v": 1, "id": <uuid>, "type": "AggregateAdded", "context": <org id>,
//!   "at": "2026-…Z", "device": <uuid>, "causation": <domain event id>,
//!   "correlation": <uuid>, "source": CID(domain event block),
//!   "prev": CID(previous graph event on this device) | null, "data": { … } }
//! ```
//!
//! `prev` chains every graph event to the one before it on the device, so the head CID commits
//! to the whole history; `source` commits to the domain event it was lifted from. Specified
//! normatively in `docs/formats/graph-events.md`.

use std::collections::BTreeMap;

use cid::Cid;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{Block, CodecError, decode, encode};
use crate::domain::{CorrelationId, DeviceId, EventId, OrgId, Timestamp, deserialize_uuid, serialize_uuid};

/// Format version of graph event blocks.
pub const GRAPH_EVENT_FORMAT: u64 = 1;
const WHAT: &str = "graph event block";

/// Relationship names used by the projection.
pub mod relation {
    /// A unit is part of its parent unit, or of the organization for a top-level unit.
    pub const PART_OF: &str = "part_of";
    /// A person is a member of a unit.
    pub const MEMBER_OF: &str = "member_of";
    /// A person holds a role.
    pub const HAS_ROLE: &str = "has_role";
}

/// Properties of a node: text by text key.
pub type Properties = BTreeMap<String, String>;

/// A bounded context (an organization) was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundedContextCreated {
    /// What kind of context ("organization").
    pub context_type: String,
    /// Its properties (`name`, `domain`).
    pub properties: Properties,
}

/// An aggregate joined the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateAdded {
    /// Its id.
    #[serde(serialize_with = "serialize_uuid", deserialize_with = "deserialize_uuid")]
    pub aggregate: Uuid,
    /// Its type (`organizational_unit`, `person`).
    pub aggregate_type: String,
    /// Its properties.
    pub properties: Properties,
}

/// A directed relationship between two nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationshipEstablished {
    /// Where it starts.
    #[serde(serialize_with = "serialize_uuid", deserialize_with = "deserialize_uuid")]
    pub from: Uuid,
    /// What it means (see [`relation`]).
    pub relation: String,
    /// Where it ends.
    #[serde(serialize_with = "serialize_uuid", deserialize_with = "deserialize_uuid")]
    pub to: Uuid,
}

/// A concept (a role) was defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConceptDefined {
    /// Its id.
    #[serde(serialize_with = "serialize_uuid", deserialize_with = "deserialize_uuid")]
    pub concept: Uuid,
    /// Its type (`role`).
    pub concept_type: String,
    /// Its properties (`name`).
    pub properties: Properties,
}

/// What a graph event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphPayload {
    /// See [`BoundedContextCreated`].
    BoundedContextCreated(BoundedContextCreated),
    /// See [`AggregateAdded`].
    AggregateAdded(AggregateAdded),
    /// See [`RelationshipEstablished`].
    RelationshipEstablished(RelationshipEstablished),
    /// See [`ConceptDefined`].
    ConceptDefined(ConceptDefined),
}

impl GraphPayload {
    /// The stable type name.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::BoundedContextCreated(_) => "BoundedContextCreated",
            Self::AggregateAdded(_) => "AggregateAdded",
            Self::RelationshipEstablished(_) => "RelationshipEstablished",
            Self::ConceptDefined(_) => "ConceptDefined",
        }
    }
}

/// A graph event, before it is linked into the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEvent {
    /// Derived from the domain event id (see [`super::graph_event_id`]).
    pub id: Uuid,
    /// The bounded context (organization).
    pub context: OrgId,
    /// When the domain event happened.
    pub at: Timestamp,
    /// Where.
    pub device: DeviceId,
    /// The domain event it was lifted from.
    pub causation: EventId,
    /// The domain event's correlation id.
    pub correlation: CorrelationId,
    /// CID of the domain event's block.
    pub source: Cid,
    /// What it says.
    pub payload: GraphPayload,
}

#[derive(Serialize, Deserialize)]
struct Wire<D> {
    v: u64,
    #[serde(serialize_with = "serialize_uuid", deserialize_with = "deserialize_uuid")]
    id: Uuid,
    #[serde(rename = "type")]
    kind: String,
    context: OrgId,
    at: Timestamp,
    device: DeviceId,
    causation: EventId,
    correlation: CorrelationId,
    source: Cid,
    prev: Option<Cid>,
    data: D,
}

#[derive(Deserialize)]
struct Header {
    v: u64,
    #[serde(rename = "type")]
    kind: String,
}

/// The two links of a graph event block, read without decoding the rest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Links {
    /// The previous graph event on the device.
    pub prev: Option<Cid>,
    /// The domain event block.
    pub source: Cid,
}

/// A decoded graph event block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedGraphEvent {
    /// The event.
    pub event: GraphEvent,
    /// Its `prev` link.
    pub prev: Option<Cid>,
}

impl GraphEvent {
    /// Encodes the event as a block linked to `prev`.
    pub fn to_block(&self, prev: Option<Cid>) -> Result<Block, CodecError> {
        fn wire<D: Serialize>(e: &GraphEvent, prev: Option<Cid>, data: &D) -> Result<Vec<u8>, CodecError> {
            encode(
                WHAT,
                &Wire {
                    v: GRAPH_EVENT_FORMAT,
                    id: e.id,
                    kind: e.payload.name().to_owned(),
                    context: e.context,
                    at: e.at,
                    device: e.device,
                    causation: e.causation,
                    correlation: e.correlation,
                    source: e.source,
                    prev,
                    data,
                },
            )
        }
        let bytes = match &self.payload {
            GraphPayload::BoundedContextCreated(d) => wire(self, prev, d),
            GraphPayload::AggregateAdded(d) => wire(self, prev, d),
            GraphPayload::RelationshipEstablished(d) => wire(self, prev, d),
            GraphPayload::ConceptDefined(d) => wire(self, prev, d),
        }?;
        Ok(Block::new(bytes))
    }

    /// Decodes a graph event block (the CID is not checked here).
    pub fn from_block(bytes: &[u8]) -> Result<LinkedGraphEvent, CodecError> {
        let header: Header = decode(WHAT, bytes)?;
        if header.v != GRAPH_EVENT_FORMAT {
            return Err(CodecError::UnsupportedVersion { what: WHAT, found: header.v });
        }
        fn typed<D: serde::de::DeserializeOwned>(
            bytes: &[u8],
            make: impl FnOnce(D) -> GraphPayload,
        ) -> Result<LinkedGraphEvent, CodecError> {
            let w: Wire<D> = decode(WHAT, bytes)?;
            Ok(LinkedGraphEvent {
                event: GraphEvent {
                    id: w.id,
                    context: w.context,
                    at: w.at,
                    device: w.device,
                    causation: w.causation,
                    correlation: w.correlation,
                    source: w.source,
                    payload: make(w.data),
                },
                prev: w.prev,
            })
        }
        match header.kind.as_str() {
            "BoundedContextCreated" => typed(bytes, GraphPayload::BoundedContextCreated),
            "AggregateAdded" => typed(bytes, GraphPayload::AggregateAdded),
            "RelationshipEstablished" => typed(bytes, GraphPayload::RelationshipEstablished),
            "ConceptDefined" => typed(bytes, GraphPayload::ConceptDefined),
            other => Err(CodecError::UnknownType { what: WHAT, name: crate::domain::excerpt(other), schema: header.v }),
        }
    }

    /// Reads only the `prev` and `source` links of a graph event block.
    pub fn links_of(bytes: &[u8]) -> Result<Links, CodecError> {
        decode(WHAT, bytes)
    }
}
