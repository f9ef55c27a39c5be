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
//! | `NatsOperatorCreated` | `AggregateAdded(nats_operator)`, `RelationshipEstablished(part_of → organization)`, per signing key `EntityAdded(nats_signing_key)` and `RelationshipEstablished(owns_key)` from the operator |
//! | `NatsAccountCreated`  | `AggregateAdded(nats_account)`, `RelationshipEstablished(signed_by → operator)`, for a unit's account `RelationshipEstablished(part_of → unit)`, per signing key `EntityAdded(nats_signing_key)` and `RelationshipEstablished(owns_key)` from the account |
//! | `NatsUserCreated`     | `AggregateAdded(nats_user)`, `RelationshipEstablished(member_of → account)` (its account's key signed it), `RelationshipEstablished(owns_key)` from the person |
//! | `NatsUserRevoked`     | `EntityRevoked(user, "revoked")`                                      |
//! | `NatsSigningKeyRotated` | `EntityRevoked(old key, "rotated")`, `EntityAdded(nats_signing_key)` for the new key, `RelationshipEstablished(owns_key)` from the owner |
//!
//! Properties: an operator has `name`, `public_key`, `system_account`; an account `name`,
//! `public_key`, `system` and `jetstream` (`"true"` / `"false"`); a user `name`, `public_key`;
//! a signing key `public_key` and, for a scoped key, `role`. A signing key's node id is
//! [`signing_key_node`] of its public key, so the rotation that retires it can name it.
//!
//! JWT CIDs and a user's signing key are deliberately not graph properties: they change each
//! time a JWT is re-issued (revocation, rotation), and the vocabulary has no property update.
//! The graph records who signs whom (`signed_by`) and which keys exist and are retired; the
//! current JWTs are read from the domain state.
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
use crate::domain::{CertificateFacts, DomainEvent, EventEnvelope, EventId, NatsOwner, NatsSigningKey};

/// The namespace of [`signing_key_node`]: the UUIDv5 of the URL namespace and the name
/// `urn:cim-keys:nats-signing-key`. Part of the graph event format: never change it.
pub const NATS_SIGNING_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x8d0f_baf6_ee50_5eb0_8411_5c24_55d5_83b6);

/// The graph node id of a NATS signing key: UUIDv5 with [`NATS_SIGNING_KEY_NAMESPACE`] as
/// namespace and the key's ASCII public key (`O…`, `A…`) as name. Signing keys have no
/// domain id; deriving the node from the public key lets a rotation name the key it retires.
pub fn signing_key_node(public_key: &str) -> Uuid {
    Uuid::new_v5(&NATS_SIGNING_KEY_NAMESPACE, public_key.as_bytes())
}

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

/// The graph properties of a NATS signing key: its public key and, if scoped, its role.
pub(crate) fn signing_key_properties(key: &NatsSigningKey) -> Properties {
    props([("public_key", Some(&key.public_key)), ("role", key.role.as_deref())])
}

/// `"true"` or `"false"`.
pub(crate) fn flag(value: bool) -> String {
    value.to_string()
}

/// The node id of a signing key's owner.
pub(crate) fn owner_node(owner: NatsOwner) -> Uuid {
    match owner {
        NatsOwner::Operator(id) => id.uuid(),
        NatsOwner::Account(id) => id.uuid(),
    }
}

/// The graph events adding a signing key owned by `owner`.
fn signing_key(owner: Uuid, key: &NatsSigningKey) -> [GraphPayload; 2] {
    let node = signing_key_node(&key.public_key);
    [
        GraphPayload::EntityAdded(EntityAdded {
            entity: node,
            entity_type: "nats_signing_key".to_owned(),
            properties: signing_key_properties(key),
        }),
        relationship(owner, relation::OWNS_KEY, node),
    ]
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
        DomainEvent::NatsOperatorCreated(e) => {
            let operator = e.operator.uuid();
            let mut out = vec![
                GraphPayload::AggregateAdded(AggregateAdded {
                    aggregate: operator,
                    aggregate_type: "nats_operator".to_owned(),
                    properties: props([
                        ("name", Some(&e.name)),
                        ("public_key", Some(&e.public_key)),
                        ("system_account", Some(&e.system_account)),
                    ]),
                }),
                relationship(operator, relation::PART_OF, e.org.uuid()),
            ];
            for key in &e.signing_keys {
                out.extend(signing_key(operator, &NatsSigningKey { public_key: key.clone(), role: None }));
            }
            out
        }
        DomainEvent::NatsAccountCreated(e) => {
            let account = e.account.uuid();
            let mut out = vec![
                GraphPayload::AggregateAdded(AggregateAdded {
                    aggregate: account,
                    aggregate_type: "nats_account".to_owned(),
                    properties: props([
                        ("name", Some(&e.name)),
                        ("public_key", Some(&e.public_key)),
                        ("system", Some(&flag(e.system))),
                        ("jetstream", Some(&flag(e.jetstream))),
                    ]),
                }),
                relationship(account, relation::SIGNED_BY, e.operator.uuid()),
            ];
            if let Some(unit) = e.unit {
                out.push(relationship(account, relation::PART_OF, unit.uuid()));
            }
            for key in &e.signing_keys {
                out.extend(signing_key(account, key));
            }
            out
        }
        DomainEvent::NatsUserCreated(e) => {
            let user = e.user.uuid();
            vec![
                GraphPayload::AggregateAdded(AggregateAdded {
                    aggregate: user,
                    aggregate_type: "nats_user".to_owned(),
                    properties: props([("name", Some(&e.name)), ("public_key", Some(&e.public_key))]),
                }),
                relationship(user, relation::MEMBER_OF, e.account.uuid()),
                relationship(e.person.uuid(), relation::OWNS_KEY, user),
            ]
        }
        DomainEvent::NatsUserRevoked(e) => {
            vec![GraphPayload::EntityRevoked(EntityRevoked { entity: e.user.uuid(), reason: "revoked".to_owned() })]
        }
        DomainEvent::NatsSigningKeyRotated(e) => {
            let mut out = vec![GraphPayload::EntityRevoked(EntityRevoked {
                entity: signing_key_node(&e.old_key),
                reason: "rotated".to_owned(),
            })];
            out.extend(signing_key(owner_node(e.owner), &e.new_key));
            out
        }
    }
}
