//! GUI tests (iced_test simulator, real vault in a temp dir): see the module docs of `cim_keys::gui`.
//!
//! The Events screen: the log shows the new events with their CIDs, pages, filters and toggles
//! to domain events; Verify and Deep verify report success; the graph view draws every node of
//! the vault's graph, pans, zooms and selects; a 1,000-node layout completes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cim_keys::app::{Vault, new_id};
use cim_keys::crypto::keystore::{KdfParams, Passphrase};
use cim_keys::domain::{Command, OrgId, PersonId, RoleId, UnitId};
use cim_keys::gui::graph::{GraphModel, Kind};
use cim_keys::gui::jobs::events::PAGE;
use cim_keys::gui::screen::events::{Message, State};
use cim_keys::gui::{Effect, Session};
use cim_keys::projection::{Edge, Graph, Node, relation};
use iced::{Event, Point, mouse};
use iced_test::simulator;
use tempfile::TempDir;

use crate::support::PASSPHRASE;

/// A vault with an organization, two nested units, people (and their memberships), a role,
/// a role assignment and a key; `extra_people` more people for paging.
struct Fixture {
    _tmp: TempDir,
    session: Session,
    org: OrgId,
}

impl Fixture {
    fn new(extra_people: usize) -> Self {
        let tmp = TempDir::new().unwrap();
        let passphrase = Passphrase::new(PASSPHRASE.to_owned()).unwrap();
        let mut vault = Vault::init_with_kdf(&tmp.path().join("vault"), &passphrase, KdfParams::MINIMUM).unwrap();
        let org = OrgId::from_uuid(new_id());
        let (ops, platform) = (UnitId::from_uuid(new_id()), UnitId::from_uuid(new_id()));
        let (ada, grace) = (PersonId::from_uuid(new_id()), PersonId::from_uuid(new_id()));
        let admin = RoleId::from_uuid(new_id());
        let mut commands = vec![
            Command::CreateOrganization { id: org, name: "Acme".into(), domain: Some("acme.example".into()) },
            Command::CreateUnit { id: ops, org, parent: None, name: "Operations".into() },
            Command::CreateUnit { id: platform, org, parent: Some(ops), name: "Platform".into() },
            Command::AddPerson {
                id: ada,
                org,
                name: "Ada Lovelace".into(),
                email: "ada@acme.example".into(),
                units: vec![platform],
            },
            Command::AddPerson {
                id: grace,
                org,
                name: "Grace Hopper".into(),
                email: "grace@acme.example".into(),
                units: vec![ops],
            },
            Command::DefineRole { id: admin, org, name: "Administrator".into() },
            Command::AssignRole { role: admin, person: ada, expected_version: None },
        ];
        for i in 0..extra_people {
            commands.push(Command::AddPerson {
                id: PersonId::from_uuid(new_id()),
                org,
                name: format!("Person {i}"),
                email: format!("p{i}@acme.example"),
                units: vec![ops],
            });
        }
        vault.execute_all(commands).unwrap();
        vault.generate_key(ada, &passphrase).unwrap();
        let session = Session { vault: Arc::new(Mutex::new(vault)), passphrase: Arc::new(passphrase) };
        Self { _tmp: tmp, session, org }
    }

    /// Adds the PKI and the NATS hierarchy.
    fn with_pki_and_nats(self) -> Self {
        {
            let mut vault = self.session.vault.lock().unwrap();
            vault.pki_init(self.org, &self.session.passphrase).unwrap();
            vault.nats_bootstrap(self.org, &self.session.passphrase).unwrap();
        }
        self
    }

    fn vault(&self) -> std::sync::MutexGuard<'_, Vault> {
        self.session.vault.lock().unwrap()
    }

    /// Feeds `message` to the screen, running every job it asks for (as the root would) and
    /// feeding the replies back. Returns the clipboard text, if it asked to copy.
    fn send(&self, state: &mut State, message: Message) -> Option<String> {
        let mut pending = vec![message];
        let mut copied = None;
        while let Some(message) = pending.pop() {
            match state.update(message) {
                Effect::None => {}
                Effect::Run(job) => pending.push(Message::Done(self.session.run(job))),
                Effect::Copy(text) => copied = Some(text),
                other => panic!("unexpected effect {other:?}"),
            }
        }
        copied
    }

    /// Opens the screen and runs what it loads first.
    fn open(&self, org: Option<OrgId>) -> State {
        let (mut state, effect) = State::new(org);
        match effect {
            Effect::Run(job) => {
                self.send(&mut state, Message::Done(self.session.run(job)));
            }
            other => panic!("the screen should load the log first, not {other:?}"),
        }
        state
    }

    /// Clicks `label` in the screen's view and feeds the resulting messages to the screen.
    fn click(&self, state: &mut State, label: &str) -> Option<String> {
        let mut ui = simulator(state.view());
        ui.click(label).unwrap_or_else(|e| panic!("no {label:?} to click: {e:?}"));
        let messages: Vec<Message> = ui.into_messages().collect();
        assert!(!messages.is_empty(), "clicking {label:?} did nothing");
        let mut copied = None;
        for message in messages {
            copied = self.send(state, message).or(copied);
        }
        copied
    }
}

fn shows(state: &State, needle: &str) -> bool {
    simulator(state.view()).find(needle).is_ok()
}

#[test]
fn the_log_shows_the_new_events_with_their_cids_and_verify_succeeds() {
    let fixture = Fixture::new(0);
    let mut state = fixture.open(Some(fixture.org));
    let status = fixture.vault().status().unwrap();
    let rows = fixture.vault().graph_events(Default::default()).unwrap();
    assert!(status.graph_events > 0 && status.graph_events <= PAGE);

    let page = state.page().expect("the log is loaded");
    assert_eq!(page.total, status.graph_events);
    assert_eq!(page.rows.len() as u64, status.graph_events);
    // Every event of the vault is listed with its type, the domain event it came from and its CID.
    for row in &rows {
        assert!(shows(&state, &row.cid.to_string()), "CID of #{} not shown", row.seq);
        assert!(shows(&state, &format!("#{}", row.seq)));
    }
    for shown in ["BoundedContextCreated", "AggregateAdded", "RelationshipEstablished", "from OrganizationCreated"] {
        assert!(shows(&state, shown), "{shown} not shown");
    }
    assert!(shows(&state, "from KeyGenerated"));
    assert!(shows(&state, &format!("1–{0} of {0}", status.graph_events)));
    // The head CID, and the counts.
    let head = status.head.expect("a head").to_string();
    assert_eq!(page.head.as_deref(), Some(head.as_str()));
    assert_eq!(head, rows.last().unwrap().cid.to_string());
    assert!(shows(&state, &format!("{} domain events · {} graph events", status.domain_events, status.graph_events)));
    // Copying a CID puts exactly it on the clipboard.
    assert_eq!(fixture.click(&mut state, "Copy").as_deref(), Some(head.as_str()));

    // Verify, then Deep verify: both succeed, as the vault itself says.
    fixture.click(&mut state, "Verify");
    let verification = state.verification().expect("a verification result");
    assert!(verification.ok() && !verification.deep);
    assert_eq!(verification.head.as_deref(), Some(head.as_str()));
    let ok = format!(
        "Verification succeeded: {} domain events and {} graph events, every CID and link checks out",
        status.domain_events, status.graph_events
    );
    assert!(shows(&state, &ok), "no success text");
    assert!(fixture.vault().verify(false).unwrap().ok());

    fixture.click(&mut state, "Deep verify");
    let verification = state.verification().unwrap();
    assert!(verification.ok() && verification.deep);
    assert!(fixture.vault().verify(true).unwrap().ok());
    assert!(shows(
        &state,
        &format!(
            "Deep verification succeeded: {} domain events and {} graph events, every CID and link checks out; \
             the graph events and read models agree with the domain events",
            status.domain_events, status.graph_events
        )
    ));
}

#[test]
fn the_log_pages_filters_and_shows_domain_events() {
    let fixture = Fixture::new(110);
    let mut state = fixture.open(None);
    let status = fixture.vault().status().unwrap();
    assert!(status.graph_events > 2 * PAGE, "too few events to page: {}", status.graph_events);

    // It opens on the last page: the newest events, ending at the head.
    let last = (status.graph_events - 1) / PAGE * PAGE;
    let page = state.page().unwrap();
    assert_eq!(page.after, last);
    assert_eq!(page.rows.last().unwrap().seq, status.graph_events);
    assert!(shows(&state, &format!("{}–{} of {}", last + 1, status.graph_events, status.graph_events)));
    assert!(shows(&state, "from KeyGenerated"));

    fixture.click(&mut state, "First");
    let page = state.page().unwrap();
    assert_eq!((page.after, page.rows.len() as u64), (0, PAGE));
    assert!(shows(&state, &format!("1–{PAGE} of {}", status.graph_events)));
    assert!(shows(&state, "BoundedContextCreated"));
    let first = fixture.vault().graph_events(Default::default()).unwrap();
    assert_eq!(page.rows[0].cid, first[0].cid.to_string());

    fixture.click(&mut state, "Next");
    assert_eq!(state.page().unwrap().after, PAGE);
    assert_eq!(state.page().unwrap().rows[0].seq, PAGE + 1);
    fixture.click(&mut state, "Previous");
    assert_eq!(state.page().unwrap().after, 0);

    // The filter narrows the page shown to matching types.
    fixture.send(&mut state, Message::Filter("relationship".into()));
    assert!(shows(&state, "RelationshipEstablished"));
    assert!(!shows(&state, "BoundedContextCreated"));
    fixture.send(&mut state, Message::Filter("no such type".into()));
    assert!(shows(&state, "No event on this page matches the filter."));
    fixture.send(&mut state, Message::Filter(String::new()));

    // Domain events: their own count, types and CIDs.
    fixture.send(&mut state, Message::Domain(true));
    let page = state.page().unwrap();
    assert!(page.domain);
    assert_eq!(page.total, status.domain_events);
    let domain = fixture.vault().domain_events(Default::default()).unwrap();
    assert_eq!(domain.len() as u64, status.domain_events);
    assert_eq!(page.after, (status.domain_events - 1) / PAGE * PAGE);
    assert_eq!(page.rows.len() as u64, status.domain_events - page.after);
    assert!(shows(&state, "KeyGenerated"));
    assert!(shows(&state, &domain.last().unwrap().cid.to_string()));
    fixture.click(&mut state, "First");
    assert!(shows(&state, "OrganizationCreated"));
    assert!(shows(&state, &domain[0].cid.to_string()));
}

#[test]
fn the_graph_view_draws_every_node_and_pans_zooms_and_selects() {
    let fixture = Fixture::new(0).with_pki_and_nats();
    let mut state = fixture.open(Some(fixture.org));
    fixture.click(&mut state, "Graph");
    let expected = Graph::of_state(&fixture.vault().store().read_state().unwrap());
    let view = state.graph().expect("the graph is loaded");
    let model = view.model();
    // Every node of the vault's graph, plus the organization itself.
    assert_eq!(model.nodes.len(), expected.nodes.len() + expected.contexts.len());
    assert_eq!(model.edges.len(), expected.edges.len());
    for node in &model.nodes {
        assert!(node.position.x.is_finite() && node.position.y.is_finite());
    }
    let kinds: BTreeMap<Kind, usize> = model.counts().collect();
    assert_eq!(kinds[&Kind::Organization], 1);
    assert_eq!(kinds[&Kind::Unit], 2);
    assert_eq!(kinds[&Kind::Person], 2);
    assert_eq!(kinds[&Kind::Role], 1);
    assert_eq!(kinds[&Kind::IdentityKey], 1);
    assert_eq!(kinds[&Kind::RootCa], 1);
    assert_eq!(kinds[&Kind::IntermediateCa], 1);
    for kind in [Kind::NatsOperator, Kind::NatsAccount, Kind::NatsUser, Kind::NatsSigningKey] {
        assert!(kinds.contains_key(&kind), "no {kind:?}");
    }
    for edge in &model.edges {
        assert!(
            [
                relation::PART_OF,
                relation::MEMBER_OF,
                relation::HAS_ROLE,
                relation::OWNS_KEY,
                relation::SIGNED_BY,
                relation::ISSUED_BY
            ]
            .contains(&edge.relation.as_str())
        );
    }

    // The canvas and the legend render.
    assert!(shows(&state, &format!("{} nodes · {} edges", model.nodes.len(), model.edges.len())));
    assert!(shows(&state, "Person (2)"));
    assert!(shows(&state, "Root CA (1)"));
    assert!(shows(&state, "owns key"));
    simulator(state.view()).snapshot(&cim_keys::gui::theme::light()).expect("the graph draws");
    simulator(state.view()).snapshot(&cim_keys::gui::theme::dark()).expect("the graph draws in the dark theme");

    // Zoom with the buttons.
    let zoom = state.graph().unwrap().zoom();
    fixture.click(&mut state, "+");
    assert!(state.graph().unwrap().zoom() > zoom);
    fixture.click(&mut state, "Fit");
    assert_eq!(state.graph().unwrap().zoom(), 1.0);

    // Drag pans and the wheel zooms, on the canvas itself.
    let messages = {
        let mut ui = simulator(state.view());
        ui.point_at(Point::new(300.0, 520.0));
        ui.simulate([
            Event::Mouse(mouse::Event::ButtonPressed(mouse::Button::Left)),
            Event::Mouse(mouse::Event::CursorMoved { position: Point::new(340.0, 540.0) }),
            Event::Mouse(mouse::Event::ButtonReleased(mouse::Button::Left)),
            Event::Mouse(mouse::Event::WheelScrolled { delta: mouse::ScrollDelta::Lines { x: 0.0, y: 2.0 } }),
        ]);
        ui.into_messages().collect::<Vec<_>>()
    };
    assert!(
        messages.iter().any(|m| matches!(m, Message::Graph(cim_keys::gui::graph::Message::Pan(_)))),
        "{messages:?}"
    );
    assert!(messages.iter().any(|m| matches!(m, Message::Graph(cim_keys::gui::graph::Message::Zoom { .. }))));
    for message in messages {
        fixture.send(&mut state, message);
    }
    assert!(state.graph().unwrap().zoom() > 1.0);

    // Selecting a node shows its details and relations.
    let ada = state.graph().unwrap().model().nodes.iter().position(|n| n.label == "Ada Lovelace").unwrap();
    fixture.send(&mut state, Message::Graph(cim_keys::gui::graph::Message::Select(Some(ada))));
    assert_eq!(state.graph().unwrap().selected().unwrap().label, "Ada Lovelace");
    assert!(shows(&state, "ada@acme.example"));
    assert!(shows(&state, "has_role → Administrator"));
    assert!(shows(&state, "member_of → Platform"));
    simulator(state.view()).snapshot(&cim_keys::gui::theme::light()).expect("the selection draws");
}

#[test]
fn the_graph_of_one_organization_leaves_the_others_out() {
    let fixture = Fixture::new(0);
    let other = OrgId::from_uuid(new_id());
    fixture.vault().execute(Command::CreateOrganization { id: other, name: "Globex".into(), domain: None }).unwrap();
    let mut state = fixture.open(Some(fixture.org));
    fixture.click(&mut state, "Graph");
    let expected = Graph::of_state(&fixture.vault().store().read_state().unwrap());
    let ours = expected.nodes.values().filter(|n| n.context == fixture.org).count();
    assert_eq!(state.graph().unwrap().model().nodes.len(), ours + 1);
    assert!(shows(&state, "Organization (1)"));
    fixture.click(&mut state, "All organizations");
    assert_eq!(state.graph().unwrap().model().nodes.len(), expected.nodes.len() + 2);
    assert!(shows(&state, "Organization (2)"));
}

/// A synthetic graph shaped like a large vault: an organization, units, people in them with a
/// role each, and keys.
fn large_graph(people: usize) -> Graph {
    let org = OrgId::from_uuid(new_id());
    let mut graph = Graph::default();
    graph.contexts.insert(org, [("name".to_owned(), "Big".to_owned())].into());
    let add = |graph: &mut Graph, kind: &str, name: String| {
        let id = new_id();
        graph.nodes.insert(id, Node { context: org, kind: kind.into(), properties: [("name".into(), name)].into() });
        id
    };
    let edge = |source, relation: &str, target| Edge { source, relation: relation.into(), target };
    let units: Vec<_> = (0..20).map(|i| add(&mut graph, "organizational_unit", format!("Unit {i}"))).collect();
    let roles: Vec<_> = (0..5).map(|i| add(&mut graph, "role", format!("Role {i}"))).collect();
    for &unit in &units {
        graph.edges.insert(edge(unit, relation::PART_OF, org.uuid()));
    }
    for i in 0..people {
        let person = add(&mut graph, "person", format!("Person {i}"));
        graph.edges.insert(edge(person, relation::MEMBER_OF, units[i % units.len()]));
        graph.edges.insert(edge(person, relation::HAS_ROLE, roles[i % roles.len()]));
        if i % 2 == 0 {
            let key = add(&mut graph, "identity_key", format!("SHA256:{i}"));
            graph.edges.insert(edge(person, relation::OWNS_KEY, key));
        }
    }
    graph
}

#[test]
fn a_thousand_node_graph_is_laid_out_with_finite_positions_and_draws() {
    let graph = large_graph(700);
    let started = Instant::now();
    let model = GraphModel::build(&graph, None);
    let took = started.elapsed();
    assert_eq!(model.nodes.len(), graph.nodes.len() + 1);
    assert!(model.nodes.len() >= 1_000, "{}", model.nodes.len());
    assert!(model.nodes.iter().all(|n| n.position.x.is_finite() && n.position.y.is_finite()));
    assert!(model.extent.width.is_finite() && model.extent.height.is_finite());
    assert_eq!(model, GraphModel::build(&graph, None), "the layout is deterministic");
    eprintln!("laid out {} nodes and {} edges in {took:?}", model.nodes.len(), model.edges.len());

    let view = cim_keys::gui::graph::GraphView::new(Arc::new(model));
    simulator(view.view()).snapshot(&cim_keys::gui::theme::light()).expect("a large graph draws");
}

#[test]
fn a_late_reply_for_the_other_log_or_scope_is_ignored() {
    let fixture = Fixture::new(0);
    let other = OrgId::from_uuid(new_id());
    fixture.vault().execute(Command::CreateOrganization { id: other, name: "Globex".into(), domain: None }).unwrap();
    let mut state = fixture.open(Some(fixture.org));
    let Effect::Run(domain_job) = state.update(Message::Domain(true)) else { panic!("no load") };
    let Effect::Run(graph_job) = state.update(Message::Domain(false)) else { panic!("no load") };
    let late = fixture.session.run(domain_job);
    fixture.send(&mut state, Message::Done(fixture.session.run(graph_job)));
    fixture.send(&mut state, Message::Done(late));
    assert!(!state.page().unwrap().domain, "the domain page arrived late and replaced the graph page");

    let Effect::Run(ours) = state.update(Message::Show(cim_keys::gui::screen::events::Tab::Graph)) else {
        panic!("no graph load")
    };
    let Effect::Run(all) = state.update(Message::AllOrganizations(true)) else { panic!("no graph load") };
    let late = fixture.session.run(ours);
    fixture.send(&mut state, Message::Done(fixture.session.run(all)));
    let nodes = state.graph().unwrap().model().nodes.len();
    let expected = Graph::of_state(&fixture.vault().store().read_state().unwrap());
    assert_eq!(nodes, expected.nodes.len() + 2);
    fixture.send(&mut state, Message::Done(late));
    assert_eq!(state.graph().unwrap().model().nodes.len(), nodes, "the one-organization graph arrived late");
}
