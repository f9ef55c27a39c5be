//! The graph that graph events describe, and the same graph read from the domain state.
//!
//! [`Graph::fold`] is what a consumer of the event stream rebuilds; [`Graph::of_state`] reads
//! the graph straight from [`State`]. The projection is *faithful* when the two agree for every
//! history — a property test checks exactly that.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::graph_event::{GraphEvent, GraphPayload, Properties, relation};
use crate::domain::{OrgId, State};

/// The property a revoked entity carries in the folded graph: the revocation reason.
pub const REVOKED: &str = "revoked";

/// A node: an aggregate, concept or entity of a context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its bounded context.
    pub context: OrgId,
    /// Its type (`organizational_unit`, `person`, `role`).
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
        for (id, role) in &state.roles {
            graph
                .nodes
                .insert(id.uuid(), Node { context: role.org, kind: "role".into(), properties: name(&role.name) });
        }
        graph
    }
}
