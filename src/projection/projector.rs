//! The GraphProjector: domain events → graph events.
//!
//! | domain event          | graph events                                                          |
//! |-----------------------|-----------------------------------------------------------------------|
//! | `OrganizationCreated` | `BoundedContextCreated`                                               |
//! | `UnitCreated`         | `AggregateAdded(organizational_unit)`, `RelationshipEstablished(part_of → parent unit or organization)` |
//! | `PersonAdded`         | `AggregateAdded(person)`, one `RelationshipEstablished(member_of → unit)` per unit |
//! | `RoleDefined`         | `ConceptDefined(role)`                                                |
//! | `RoleAssigned`        | `RelationshipEstablished(has_role)` from the person to the role       |
//! | `KeyGenerated`        | `EntityAdded(identity_key)`, `RelationshipEstablished(owns_key)` from the owner |
//! | `KeyRevoked`          | `EntityRevoked`                                                       |
//! | `CaCreated`           | `EntityAdded(root_ca / intermediate_ca)`, for an intermediate `RelationshipEstablished(issued_by)` to the root |
//! | `CertificateIssued`   | `EntityAdded(certificate)`, `RelationshipEstablished(issued_by)` to the CA |
//!
//! Laws (property-tested in `projection::tests`): deterministic; a functor (the projection of
//! a concatenation is the concatenation of projections, the empty history projects to
//! nothing); faithful (folding the graph events gives the graph of the folded domain state);
//! traceable (each graph event's causation is its domain event, and it carries that event's
//! correlation id).

use cid::Cid;
use uuid::Uuid;

use super::codec::{Block, CodecError};
use super::domain_codec::encode_domain_event;
use super::graph_event::{
    AggregateAdded, BoundedContextCreated, ConceptDefined, EntityAdded, EntityRevoked, GraphEvent, GraphPayload,
    Properties, RelationshipEstablished, relation,
};
use crate::domain::{CertificateFacts, DomainEvent, EventEnvelope, EventId};

/// The id of the `index`-th graph event lifted from a domain event: UUIDv5 with the domain
/// event id as namespace and the ASCII text `graph/{index}` as name.
pub fn graph_event_id(source: EventId, index: usize) -> Uuid {
    Uuid::new_v5(&source.uuid(), format!("graph/{index}").as_bytes())
}

/// A domain event with its block and its graph events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifted {
    /// The domain event's block.
    pub domain: Block,
    /// Its graph events, in order.
    pub graph: Vec<GraphEvent>,
}

/// Lifts domain events into graph events.
#[derive(Debug, Clone, Copy, Default)]
pub struct GraphProjector;

impl GraphProjector {
    /// Encodes a domain event and projects it.
    pub fn lift(&self, envelope: &EventEnvelope) -> Result<Lifted, CodecError> {
        let domain = encode_domain_event(envelope)?;
        let graph = self.project(envelope, domain.cid);
        Ok(Lifted { domain, graph })
    }

    /// Lifts a history, in order.
    pub fn lift_all<'a>(
        &self,
        history: impl IntoIterator<Item = &'a EventEnvelope>,
    ) -> Result<Vec<Lifted>, CodecError> {
        history.into_iter().map(|e| self.lift(e)).collect()
    }

    /// Projects one domain event whose block has CID `source`.
    pub fn project(&self, envelope: &EventEnvelope, source: Cid) -> Vec<GraphEvent> {
        let payloads = payloads(&envelope.event);
        payloads
            .into_iter()
            .enumerate()
            .map(|(index, payload)| GraphEvent {
                id: graph_event_id(envelope.id, index),
                context: envelope.event.org(),
                at: envelope.occurred_at,
                device: envelope.device,
                causation: envelope.id,
                correlation: envelope.correlation,
                source,
                payload,
            })
            .collect()
    }
}

fn props<const N: usize>(pairs: [(&str, Option<&str>); N]) -> Properties {
    pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))).collect()
}

/// The graph properties of a certificate: everything in its facts, plus profile and names for
/// a leaf (names joined by ", ").
pub(crate) fn certificate_properties(facts: &CertificateFacts, leaf: Option<(&str, &[String])>) -> Properties {
    let mut props = props([
        ("subject", Some(&facts.subject)),
        ("serial", Some(&facts.serial)),
        ("fingerprint", Some(&facts.fingerprint)),
        ("not_before", Some(&facts.not_before.to_string())),
        ("not_after", Some(&facts.not_after.to_string())),
        ("certificate", Some(&facts.certificate)),
    ]);
    if let Some((profile, names)) = leaf {
        props.insert("profile".to_owned(), profile.to_owned());
        props.insert("names".to_owned(), names.join(", "));
    }
    props
}

fn relationship(source: Uuid, rel: &str, target: Uuid) -> GraphPayload {
    GraphPayload::RelationshipEstablished(RelationshipEstablished {
        from: source,
        relation: rel.to_owned(),
        to: target,
    })
}

fn payloads(event: &DomainEvent) -> Vec<GraphPayload> {
    match event {
        DomainEvent::OrganizationCreated(e) => vec![GraphPayload::BoundedContextCreated(BoundedContextCreated {
            context_type: "organization".to_owned(),
            properties: props([("name", Some(&e.name)), ("domain", e.domain.as_deref())]),
        })],
        DomainEvent::UnitCreated(e) => vec![
            GraphPayload::AggregateAdded(AggregateAdded {
                aggregate: e.unit.uuid(),
                aggregate_type: "organizational_unit".to_owned(),
                properties: props([("name", Some(&e.name))]),
            }),
            relationship(e.unit.uuid(), relation::PART_OF, e.parent.map_or(e.org.uuid(), |p| p.uuid())),
        ],
        DomainEvent::PersonAdded(e) => {
            let mut out = Vec::with_capacity(1 + e.units.len());
            out.push(GraphPayload::AggregateAdded(AggregateAdded {
                aggregate: e.person.uuid(),
                aggregate_type: "person".to_owned(),
                properties: props([("name", Some(&e.name)), ("email", Some(&e.email))]),
            }));
            out.extend(e.units.iter().map(|u| relationship(e.person.uuid(), relation::MEMBER_OF, u.uuid())));
            out
        }
        DomainEvent::RoleDefined(e) => vec![GraphPayload::ConceptDefined(ConceptDefined {
            concept: e.role.uuid(),
            concept_type: "role".to_owned(),
            properties: props([("name", Some(&e.name))]),
        })],
        DomainEvent::RoleAssigned(e) => vec![relationship(e.person.uuid(), relation::HAS_ROLE, e.role.uuid())],
        DomainEvent::KeyGenerated(e) => vec![
            GraphPayload::EntityAdded(EntityAdded {
                entity: e.key.uuid(),
                entity_type: "identity_key".to_owned(),
                properties: props([
                    ("algorithm", Some(&e.algorithm)),
                    ("public_key", Some(&e.public_key)),
                    ("fingerprint", Some(&e.fingerprint)),
                ]),
            }),
            relationship(e.owner.uuid(), relation::OWNS_KEY, e.key.uuid()),
        ],
        DomainEvent::CaCreated(e) => {
            let mut out = vec![GraphPayload::EntityAdded(EntityAdded {
                entity: e.ca.uuid(),
                entity_type: format!("{}_ca", e.level),
                properties: certificate_properties(&e.facts, None),
            })];
            if let Some(issuer) = e.issuer {
                out.push(relationship(e.ca.uuid(), relation::ISSUED_BY, issuer.uuid()));
            }
            out
        }
        DomainEvent::CertificateIssued(e) => vec![
            GraphPayload::EntityAdded(EntityAdded {
                entity: e.certificate.uuid(),
                entity_type: "certificate".to_owned(),
                properties: certificate_properties(&e.facts, Some((&e.profile, &e.names))),
            }),
            relationship(e.certificate.uuid(), relation::ISSUED_BY, e.ca.uuid()),
        ],
        DomainEvent::KeyRevoked(e) => {
            vec![GraphPayload::EntityRevoked(EntityRevoked { entity: e.key.uuid(), reason: e.reason.clone() })]
        }
    }
}
