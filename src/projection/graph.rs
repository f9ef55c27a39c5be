//! The graph that graph events describe, and the same graph read from the domain state.
//!
//! [`Graph::fold`] is what a consumer of the event stream rebuilds; [`Graph::of_state`] reads
//! the graph straight from [`State`]. The projection is *faithful* when the two agree for every
//! history — a property test checks exactly that.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::graph_event::{GraphEvent, GraphPayload, Properties, relation};
use super::projector::{flag, owner_node, signing_key_node, signing_key_properties};
use crate::domain::{NatsSigningKey, OrgId, State};

/// The property a revoked entity carries in the folded graph: the revocation reason.
pub const REVOKED: &str = "revoked";

/// A node: an aggregate, concept or entity of a context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its bounded context.
    pub context: OrgId,
    /// Its type (`organizational_unit`, `person`, `role`, `nats_account`, ...).
    pub kind: String,
    /// Its properties.
    pub properties: Properties,
}

/// A directed, named edge.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// From.
    pub source: Uuid,
    /// Meaning.
    pub relation: String,
    /// To.
    pub target: Uuid,
}

/// Contexts, nodes and edges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    /// Bounded contexts (organizations) and their properties.
    pub contexts: BTreeMap<OrgId, Properties>,
    /// Nodes by id.
    pub nodes: BTreeMap<Uuid, Node>,
    /// Edges.
    pub edges: BTreeSet<Edge>,
}

impl Graph {
    /// Folds graph events.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a GraphEvent>) -> Self {
        let mut graph = Self::default();
        for event in events {
            graph.apply(event);
        }
        graph
    }

    /// Applies one graph event.
    pub fn apply(&mut self, event: &GraphEvent) {
        match &event.payload {
            GraphPayload::BoundedContextCreated(d) => {
                self.contexts.insert(event.context, d.properties.clone());
            }
            GraphPayload::AggregateAdded(d) => {
                self.nodes.insert(
                    d.aggregate,
                    Node { context: event.context, kind: d.aggregate_type.clone(), properties: d.properties.clone() },
                );
            }
            GraphPayload::ConceptDefined(d) => {
                self.nodes.insert(
                    d.concept,
                    Node { context: event.context, kind: d.concept_type.clone(), properties: d.properties.clone() },
                );
            }
            GraphPayload::RelationshipEstablished(d) => {
                self.edges.insert(Edge { source: d.from, relation: d.relation.clone(), target: d.to });
            }
            GraphPayload::EntityAdded(d) => {
                self.nodes.insert(
                    d.entity,
                    Node { context: event.context, kind: d.entity_type.clone(), properties: d.properties.clone() },
                );
            }
            GraphPayload::EntityRevoked(d) => {
                if let Some(node) = self.nodes.get_mut(&d.entity) {
                    node.properties.insert(REVOKED.to_owned(), d.reason.clone());
                }
            }
        }
    }

    /// Reads the graph from the domain state.
    pub fn of_state(state: &State) -> Self {
        let mut graph = Self::default();
        let name = |n: &str| Properties::from([("name".to_owned(), n.to_owned())]);
        let edge = |source: Uuid, rel: &str, target: Uuid| Edge { source, relation: rel.to_owned(), target };
        for (id, org) in &state.organizations {
            let mut props = name(&org.name);
            if let Some(domain) = &org.domain {
                props.insert("domain".to_owned(), domain.clone());
            }
            graph.contexts.insert(*id, props);
        }
        for (id, unit) in &state.units {
            graph.nodes.insert(
                id.uuid(),
                Node { context: unit.org, kind: "organizational_unit".into(), properties: name(&unit.name) },
            );
            let parent = unit.parent.map_or(unit.org.uuid(), |p| p.uuid());
            graph.edges.insert(edge(id.uuid(), relation::PART_OF, parent));
        }
        for (id, person) in &state.people {
            let mut props = name(&person.name);
            props.insert("email".to_owned(), person.email.clone());
            graph.nodes.insert(id.uuid(), Node { context: person.org, kind: "person".into(), properties: props });
            for unit in &person.units {
                graph.edges.insert(edge(id.uuid(), relation::MEMBER_OF, unit.uuid()));
            }
            for role in &person.roles {
                graph.edges.insert(edge(id.uuid(), relation::HAS_ROLE, role.uuid()));
            }
        }
        for (id, key) in &state.keys {
            let mut props = Properties::from([
                ("algorithm".to_owned(), key.algorithm.clone()),
                ("public_key".to_owned(), key.public_key.clone()),
                ("fingerprint".to_owned(), key.fingerprint.clone()),
            ]);
            if let Some(reason) = &key.revoked {
                props.insert(REVOKED.to_owned(), reason.clone());
            }
            graph.nodes.insert(id.uuid(), Node { context: key.org, kind: "identity_key".into(), properties: props });
            graph.edges.insert(edge(key.owner.uuid(), relation::OWNS_KEY, id.uuid()));
        }
        for (id, ca) in &state.cas {
            let props = super::projector::certificate_properties(&ca.facts, None);
            graph
                .nodes
                .insert(id.uuid(), Node { context: ca.org, kind: format!("{}_ca", ca.level), properties: props });
            if let Some(issuer) = ca.issuer {
                graph.edges.insert(edge(id.uuid(), relation::ISSUED_BY, issuer.uuid()));
            }
        }
        for (id, cert) in &state.certificates {
            let props = super::projector::certificate_properties(&cert.facts, Some((&cert.profile, &cert.names)));
            graph.nodes.insert(id.uuid(), Node { context: cert.org, kind: "certificate".into(), properties: props });
            graph.edges.insert(edge(id.uuid(), relation::ISSUED_BY, cert.ca.uuid()));
        }
        let mut signing_key = |context: OrgId, owner: Uuid, key: &NatsSigningKey, retired: bool| {
            let node = signing_key_node(&key.public_key);
            let mut props = signing_key_properties(key);
            if retired {
                props.insert(REVOKED.to_owned(), "rotated".to_owned());
            }
            graph.nodes.insert(node, Node { context, kind: "nats_signing_key".into(), properties: props });
            graph.edges.insert(edge(owner, relation::OWNS_KEY, node));
        };
        for (id, operator) in &state.nats_operators {
            for key in &operator.signing_keys {
                let key = NatsSigningKey { public_key: key.clone(), role: None };
                signing_key(operator.org, id.uuid(), &key, false);
            }
        }
        for (id, account) in &state.nats_accounts {
            for key in &account.signing_keys {
                signing_key(account.org, id.uuid(), key, false);
            }
        }
        for (public_key, retired) in &state.retired_nats_keys {
            let key = NatsSigningKey { public_key: public_key.clone(), role: retired.role.clone() };
            signing_key(retired.org, owner_node(retired.owner), &key, true);
        }
        for (id, operator) in &state.nats_operators {
            let mut props = name(&operator.name);
            props.insert("public_key".to_owned(), operator.public_key.clone());
            props.insert("system_account".to_owned(), operator.system_account.clone());
            graph
                .nodes
                .insert(id.uuid(), Node { context: operator.org, kind: "nats_operator".into(), properties: props });
            graph.edges.insert(edge(id.uuid(), relation::PART_OF, operator.org.uuid()));
        }
        for (id, account) in &state.nats_accounts {
            let mut props = name(&account.name);
            props.insert("public_key".to_owned(), account.public_key.clone());
            props.insert("system".to_owned(), flag(account.system));
            props.insert("jetstream".to_owned(), flag(account.jetstream));
            graph
                .nodes
                .insert(id.uuid(), Node { context: account.org, kind: "nats_account".into(), properties: props });
            graph.edges.insert(edge(id.uuid(), relation::SIGNED_BY, account.operator.uuid()));
            if let Some(unit) = account.unit {
                graph.edges.insert(edge(id.uuid(), relation::PART_OF, unit.uuid()));
            }
        }
        for (id, user) in &state.nats_users {
            let mut props = name(&user.name);
            props.insert("public_key".to_owned(), user.public_key.clone());
            if user.revoked_at.is_some() {
                props.insert(REVOKED.to_owned(), "revoked".to_owned());
            }
            graph.nodes.insert(id.uuid(), Node { context: user.org, kind: "nats_user".into(), properties: props });
            graph.edges.insert(edge(id.uuid(), relation::MEMBER_OF, user.account.uuid()));
            graph.edges.insert(edge(user.person.uuid(), relation::OWNS_KEY, id.uuid()));
        }
        for (id, role) in &state.roles {
            graph
                .nodes
                .insert(id.uuid(), Node { context: role.org, kind: "role".into(), properties: name(&role.name) });
        }
        graph
    }
}
