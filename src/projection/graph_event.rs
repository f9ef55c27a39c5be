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
    /// A unit is part of its parent unit, or of the organization for a top-level unit; a NATS
    /// operator is part of its organization, a unit's NATS account part of the unit.
    pub const PART_OF: &str = "part_of";
    /// A person is a member of a unit; a NATS user is a member of its account.
    pub const MEMBER_OF: &str = "member_of";
    /// A person holds a role.
    pub const HAS_ROLE: &str = "has_role";
    /// A person owns a key (an identity key, or their NATS user); a NATS operator or account
    /// owns its signing keys.
    pub const OWNS_KEY: &str = "owns_key";
    /// A certificate (or intermediate CA) was issued by a CA.
    pub const ISSUED_BY: &str = "issued_by";
    /// A NATS account's JWT is signed by its operator, a NATS user's by its account (by one of
    /// their signing keys; which one is not part of the graph).
    pub const SIGNED_BY: &str = "signed_by";
}

/// Properties of a node: text by text key.
pub type Properties = BTreeMap<String, String>;

/// A bounded context (an organization) was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundedContextCreated {
    /// What kind of context ("organization").
    pub context_type: String,
    /// Its properties (`name`, `domain`).
    pub properties: Properties,
}

/// An aggregate joined the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct ConceptDefined {
    /// Its id.
    #[serde(serialize_with = "serialize_uuid", deserialize_with = "deserialize_uuid")]
    pub concept: Uuid,
    /// Its type (`role`).
    pub concept_type: String,
    /// Its properties (`name`).
    pub properties: Properties,
}

/// An entity (a key, later certificates and JWTs) joined the graph, owned by an aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityAdded {
    /// Its id.
    #[serde(serialize_with = "serialize_uuid", deserialize_with = "deserialize_uuid")]
    pub entity: Uuid,
    /// Its type (`identity_key`).
    pub entity_type: String,
    /// Its properties (for a key: `algorithm`, `public_key`, `fingerprint`).
    pub properties: Properties,
}

/// An entity was revoked: it stays in the graph, marked as no longer to be trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityRevoked {
    /// Its id.
    #[serde(serialize_with = "serialize_uuid", deserialize_with = "deserialize_uuid")]
    pub entity: Uuid,
    /// Why.
    pub reason: String,
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
    /// See [`EntityAdded`].
    EntityAdded(EntityAdded),
    /// See [`EntityRevoked`].
    EntityRevoked(EntityRevoked),
}

impl GraphPayload {
    /// The stable type name.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::BoundedContextCreated(_) => "BoundedContextCreated",
            Self::AggregateAdded(_) => "AggregateAdded",
            Self::RelationshipEstablished(_) => "RelationshipEstablished",
            Self::ConceptDefined(_) => "ConceptDefined",
            Self::EntityAdded(_) => "EntityAdded",
            Self::EntityRevoked(_) => "EntityRevoked",
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
#[serde(deny_unknown_fields)]
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
            GraphPayload::EntityAdded(d) => wire(self, prev, d),
            GraphPayload::EntityRevoked(d) => wire(self, prev, d),
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
            "EntityAdded" => typed(bytes, GraphPayload::EntityAdded),
            "EntityRevoked" => typed(bytes, GraphPayload::EntityRevoked),
            other => Err(CodecError::UnknownType { what: WHAT, name: crate::domain::excerpt(other), schema: None }),
        }
    }

    /// Reads only the `prev` and `source` links of a graph event block.
    ///
    /// `verify` calls this for every stored block, so it walks the DAG-CBOR directly (see
    /// `links::read`) instead of deserializing through serde: it reads the top-level map's
    /// keys, decodes the two links and skips every other value without decoding it. It gives
    /// the same answer as deserializing [`Links`] for every block we write (tested below).
    pub fn links_of(bytes: &[u8]) -> Result<Links, CodecError> {
        links::read(bytes).map_err(|reason| CodecError::Malformed { what: WHAT, reason: reason.to_owned() })
    }

    /// [`GraphEvent::links_of`] without parsing the CIDs: the binary form of `prev` (if not
    /// null) and of `source`, borrowed from `bytes`.
    pub fn raw_links_of(bytes: &[u8]) -> Result<(Option<&[u8]>, &[u8]), CodecError> {
        links::read_raw(bytes).map_err(|reason| CodecError::Malformed { what: WHAT, reason: reason.to_owned() })
    }
}

/// A minimal reader of the top-level map of a graph event block, for [`GraphEvent::links_of`].
///
/// DAG-CBOR only: definite lengths, minimal heads, text keys in canonical order (shorter
/// first, then bytewise; no duplicates), links as tag 42 over bytes with a leading zero byte. Skipping is iterative (a count of items still to skip), so nesting depth cannot
/// overflow the stack; every read is bounds-checked, so malformed input is an error, never a
/// panic.
mod links {
    use cid::Cid;

    use super::Links;

    type Result<T> = std::result::Result<T, &'static str>;

    struct Reader<'a> {
        bytes: &'a [u8],
    }

    impl<'a> Reader<'a> {
        fn take(&mut self, n: u64) -> Result<&'a [u8]> {
            let n = usize::try_from(n).map_err(|_| "a length is too large")?;
            if n > self.bytes.len() {
                return Err("the block ends early");
            }
            let (head, rest) = self.bytes.split_at(n);
            self.bytes = rest;
            Ok(head)
        }

        /// One item head: major type and argument.
        fn head(&mut self) -> Result<(u8, u64)> {
            let first = self.take(1)?[0];
            let (major, info) = (first >> 5, first & 0x1f);
            let arg = match info {
                0..=23 => u64::from(info),
                24 => u64::from(self.take(1)?[0]),
                25 => self.take(2)?.iter().fold(0, |a, b| a << 8 | u64::from(*b)),
                26 => self.take(4)?.iter().fold(0, |a, b| a << 8 | u64::from(*b)),
                27 => self.take(8)?.iter().fold(0, |a, b| a << 8 | u64::from(*b)),
                _ => return Err("it has an indefinite length or a reserved item (not DAG-CBOR)"),
            };
            if major == 7 {
                if !matches!(info, 20..=23 | 25..=27) {
                    return Err("it has an unknown simple value");
                }
            } else if matches!((info, arg), (24, 0..24) | (25, 0..0x100) | (26, 0..0x1_0000) | (27, 0..0x1_0000_0000)) {
                return Err("it has a non-minimal integer or length (not DAG-CBOR)");
            }
            Ok((major, arg))
        }

        /// Skips one complete item.
        fn skip(&mut self) -> Result<()> {
            let mut pending: u64 = 1;
            while pending > 0 {
                pending -= 1;
                let (major, arg) = self.head()?;
                let more = match major {
                    2 | 3 => {
                        self.take(arg)?;
                        0
                    }
                    4 => arg,
                    5 => arg.checked_mul(2).ok_or("a map is too large")?,
                    6 => 1,
                    _ => 0,
                };
                pending = pending.checked_add(more).ok_or("a collection is too large")?;
            }
            Ok(())
        }

        /// A link: tag 42 (encoded as `d8 2a`) over bytes holding a zero byte and the CID.
        fn link(&mut self) -> Result<&'a [u8]> {
            if self.take(2)? != [0xd8, 0x2a] {
                return Err("a link is not a CID (tag 42)");
            }
            let (major, len) = self.head()?;
            if major != 2 {
                return Err("a link does not hold bytes");
            }
            match self.take(len)? {
                [0, cid @ ..] if !cid.is_empty() => Ok(cid),
                _ => Err("a link lacks its zero prefix"),
            }
        }
    }

    /// Reads `prev` and `source` from a graph event block.
    pub(super) fn read(bytes: &[u8]) -> Result<Links> {
        let (prev, source) = read_raw(bytes)?;
        let cid = |raw: &[u8]| Cid::try_from(raw).map_err(|_| "a link holds a malformed CID");
        Ok(Links { prev: prev.map(cid).transpose()?, source: cid(source)? })
    }

    /// Reads the binary CIDs of `prev` and `source` from a graph event block, unparsed.
    pub(super) fn read_raw(bytes: &[u8]) -> Result<(Option<&[u8]>, &[u8])> {
        let mut r = Reader { bytes };
        let (major, entries) = r.head()?;
        if major != 5 {
            return Err("it is not a map");
        }
        let (mut prev, mut source) = (None, None);
        let mut last: Option<&str> = None;
        for _ in 0..entries {
            let (major, len) = r.head()?;
            if major != 3 {
                return Err("a map key is not text");
            }
            let key = std::str::from_utf8(r.take(len)?).map_err(|_| "a map key is not UTF-8")?;
            if last.is_some_and(|last| (last.len(), last) >= (key.len(), key)) {
                return Err("its map keys are not in canonical order");
            }
            last = Some(key);
            match key {
                "prev" if r.bytes.first() == Some(&0xf6) => {
                    r.take(1)?;
                }
                "prev" => prev = Some(r.link()?),
                "source" => source = Some(r.link()?),
                _ => r.skip()?,
            }
        }
        if !r.bytes.is_empty() {
            return Err("it has trailing data");
        }
        Ok((prev, source.ok_or("missing field `source`")?))
    }
}

#[cfg(test)]
mod links_tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::fixtures::{golden_history, large_history};
    use crate::projection::{Chain, GraphProjector};

    fn blocks() -> Vec<Vec<u8>> {
        let mut chain = Chain::default();
        let mut history = golden_history();
        history.extend(large_history(12));
        GraphProjector
            .lift_all(&history)
            .unwrap_or_default()
            .iter()
            .flat_map(|l| l.graph.clone())
            .filter_map(|g| chain.link(&g).ok())
            .map(|b| b.bytes)
            .collect()
    }

    fn by_serde(bytes: &[u8]) -> Option<Links> {
        decode::<Links>(WHAT, bytes).ok()
    }

    #[test]
    fn the_fast_reader_agrees_with_serde_on_our_blocks() {
        let blocks = blocks();
        assert!(blocks.len() > 20);
        for bytes in &blocks {
            let fast = GraphEvent::links_of(bytes).ok();
            assert!(fast.is_some());
            assert_eq!(fast, by_serde(bytes));
        }
    }

    #[test]
    fn the_fast_reader_rejects_every_single_byte_change_serde_rejects() {
        let blocks = blocks();
        for bytes in &blocks[..4] {
            for i in 0..bytes.len() {
                // A letter (reorders keys), a zero, null, a long head, tag 42 and 0xff.
                for byte in [0x69, 0x00, 0xf6, 0x18, 0xd8, 0xff] {
                    let mut changed = bytes.clone();
                    changed[i] = byte;
                    if let Ok(fast) = GraphEvent::links_of(&changed) {
                        assert_eq!(Some(fast), by_serde(&changed), "byte {i} set to {byte:#04x}");
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn the_fast_reader_never_accepts_what_serde_reads_differently(
            pick in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<bool>(),
        ) {
            let blocks = blocks();
            let mut bytes = blocks[pick.index(blocks.len())].clone();
            let i = at.index(bytes.len());
            if cut { bytes.truncate(i) } else { bytes[i] = byte }
            if let Ok(fast) = GraphEvent::links_of(&bytes) {
                prop_assert_eq!(Some(fast), by_serde(&bytes));
            }
        }
    }
}
