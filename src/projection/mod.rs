//! Projection: domain events → content-addressed graph events.
//!
//! * [`codec`]: canonical DAG-CBOR and CIDv1 (dag-cbor, sha2-256);
//! * [`encode_domain_event`]: the block form of a domain event;
//! * [`GraphProjector`]: lifts each domain event into graph events of the CIM vocabulary
//!   ([`signing_key_node`] names the nodes of NATS signing keys);
//! * [`Chain`]: links each graph event block to the previous one, so the head CID commits to
//!   the whole history; [`check_link`] verifies a stored block;
//! * [`Graph`]: the graph the events describe, for consumers and for the faithfulness law.
//!
//! Pure code: no IO, no clock, no randomness. Formats are specified in
//! `docs/formats/graph-events.md`; the golden test in `tests.rs` pins them.

mod chain;
pub mod cid_text;
pub mod codec;
mod domain_codec;
mod graph;
mod graph_event;
mod projector;

pub use chain::{Chain, LinkError, check_link, check_link_bytes};
pub use codec::{Block, CID_LEN, CodecError, artifact_cid, cid_bytes_of, cid_of, parse_cid, raw_cid_of};
pub use domain_codec::{DOMAIN_EVENT_FORMAT, decode_domain_event, encode_domain_event};
pub use graph::{Edge, Graph, Node, REVOKED};
pub use graph_event::{
    AggregateAdded, BoundedContextCreated, ConceptDefined, EntityAdded, EntityRevoked, GRAPH_EVENT_FORMAT, GraphEvent,
    GraphPayload, LinkedGraphEvent, Links, Properties, RelationshipEstablished, relation,
};
pub use projector::{GraphProjector, Lifted, NATS_SIGNING_KEY_NAMESPACE, graph_event_id, signing_key_node};

pub use cid::Cid;

#[cfg(test)]
mod tests;
