//! The store against the domain: read models equal the fold of the stored events, the stored
//! graph events fold to the graph of that state, and every stored block decodes and re-encodes
//! to itself.

use cim_keys::app::Vault;
use cim_keys::domain::{Command, DomainError, OrgId, PersonId, RoleId, State, UnitId};
use cim_keys::projection::{Graph, GraphEvent, decode_domain_event};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Org(u8),
    Unit(usize, Option<usize>, u8),
    Person(usize, u8, Vec<usize>),
    Role(usize, u8),
    Assign(usize, usize),
    Key(usize, u8),
    Revoke(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u8>().prop_map(Op::Org),
        (0..3usize, proptest::option::of(0..6usize), 0..4u8).prop_map(|(o, p, n)| Op::Unit(o, p, n)),
        (0..3usize, 0..6u8, proptest::collection::vec(0..6usize, 0..3)).prop_map(|(o, e, u)| Op::Person(o, e, u)),
        (0..3usize, 0..3u8).prop_map(|(o, n)| Op::Role(o, n)),
        (0..4usize, 0..6usize).prop_map(|(r, p)| Op::Assign(r, p)),
        (0..6usize, any::<u8>()).prop_map(|(p, n)| Op::Key(p, n)),
        (0..4usize).prop_map(Op::Revoke),
    ]
}

fn pick<T: Copy>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()])
}

fn stored_state_and_graph(vault: &Vault) -> (State, Graph) {
    let conn = rusqlite::Connection::open(vault.store().path()).unwrap();
    let domain: Vec<Vec<u8>> = conn
        .prepare("SELECT bytes FROM domain_events ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let envelopes: Vec<_> = domain.iter().map(|b| decode_domain_event(b).unwrap()).collect();
    let graph: Vec<Vec<u8>> = conn
        .prepare("SELECT bytes FROM graph_events ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut prev = None;
    let mut events = Vec::new();
    for bytes in &graph {
        let linked = GraphEvent::from_block(bytes).unwrap();
        assert_eq!(linked.prev, prev);
        assert_eq!(linked.event.to_block(prev).unwrap().bytes, *bytes, "a stored block is not canonical");
        prev = Some(cim_keys::projection::cid_of(bytes));
        events.push(linked.event);
    }
    (State::from_events(&envelopes), Graph::fold(&events))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn read_models_equal_the_fold_of_the_stored_events(ops in proptest::collection::vec(op(), 1..30)) {
        let tmp = tempfile::TempDir::new().unwrap();
        let mut vault = crate::support::library_vault(&tmp.path().join("v"));
        let (mut orgs, mut units, mut people, mut roles) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut keys = Vec::new();
        let id = cim_keys::app::new_id;
        for op in &ops {
            let command = match op {
                Op::Org(n) => { let i = OrgId::from_uuid(id()); orgs.push(i); Command::CreateOrganization { id: i, name: format!("Org {}", n % 5), domain: None } }
                Op::Unit(o, p, n) => {
                    let Some(org) = pick(&orgs, *o) else { continue };
                    let i = UnitId::from_uuid(id());
                    let parent = p.and_then(|p| pick(&units, p));
                    units.push(i);
                    Command::CreateUnit { id: i, org, parent, name: format!("Unit {n}") }
                }
                Op::Person(o, e, u) => {
                    let Some(org) = pick(&orgs, *o) else { continue };
                    let i = PersonId::from_uuid(id());
                    people.push(i);
                    Command::AddPerson { id: i, org, name: "P".into(), email: format!("p{e}@x.example"), units: u.iter().filter_map(|u| pick(&units, *u)).collect() }
                }
                Op::Role(o, n) => { let Some(org) = pick(&orgs, *o) else { continue }; let i = RoleId::from_uuid(id()); roles.push(i); Command::DefineRole { id: i, org, name: format!("Role {n}") } }
                Op::Assign(r, p) => {
                    let (Some(role), Some(person)) = (pick(&roles, *r), pick(&people, *p)) else { continue };
                    Command::AssignRole { role, person, expected_version: None }
                }
                Op::Key(p, n) => {
                    let Some(owner) = pick(&people, *p) else { continue };
                    let id = cim_keys::domain::KeyId::from_uuid(id());
                    keys.push(id);
                    let public = [*n; 32];
                    Command::GenerateKey {
                        id,
                        owner,
                        algorithm: "ed25519".into(),
                        public_key: cim_keys::crypto::ssh::public_key_line(&public, "").unwrap(),
                        fingerprint: cim_keys::crypto::ssh::fingerprint(&public).to_string(),
                    }
                }
                Op::Revoke(k) => {
                    let Some(key) = pick(&keys, *k) else { continue };
                    Command::RevokeKey { key, reason: "rotated".into() }
                }
            };
            let before = vault.status().unwrap();
            if vault.execute(command).is_err() {
                prop_assert_eq!(vault.status().unwrap(), before);
            }
        }
        let (state, graph) = stored_state_and_graph(&vault);
        prop_assert_eq!(vault.store().read_state().unwrap(), state.clone());
        prop_assert_eq!(graph, Graph::of_state(&state));
        prop_assert!(vault.verify(true).unwrap().ok());
        // Reopening reads the same state without replaying anything.
        let path = vault.data_dir().to_owned();
        drop(vault);
        let reopened = Vault::open(&path).unwrap();
        prop_assert_eq!(reopened.store().read_state().unwrap(), state);
    }
}

#[test]
fn a_refused_command_in_a_batch_rolls_back_the_whole_batch() {
    let tmp = tempfile::TempDir::new().unwrap();
    let mut vault = crate::support::library_vault(&tmp.path().join("v"));
    let org = OrgId::from_uuid(cim_keys::app::new_id());
    vault.execute(Command::CreateOrganization { id: org, name: "Acme".into(), domain: None }).unwrap();
    let before = vault.status().unwrap();
    let person = |email: &str| Command::AddPerson {
        id: PersonId::from_uuid(cim_keys::app::new_id()),
        org,
        name: "X".into(),
        email: email.into(),
        units: vec![],
    };
    let err = vault
        .execute_all(vec![person("a@acme.example"), person("b@acme.example"), person("a@acme.example")])
        .unwrap_err();
    assert_eq!(err.domain(), Some(&DomainError::DuplicateEmail { email: "a@acme.example".into() }));
    assert!(err.to_string().starts_with("item 3: "));
    assert_eq!(vault.status().unwrap(), before);
    assert!(vault.store().read_state().unwrap().people.is_empty());
}

#[test]
fn the_database_runs_with_the_documented_settings() {
    let tmp = tempfile::TempDir::new().unwrap();
    let vault = crate::support::library_vault(&tmp.path().join("v"));
    let conn = rusqlite::Connection::open(vault.store().path()).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let app_id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    assert_eq!(app_id, cim_keys::store::schema::APPLICATION_ID);
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, cim_keys::store::schema::MIGRATIONS.len() as i64);
    let outbox: i64 = conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0)).unwrap();
    assert_eq!(outbox, 0);
}

#[test]
fn every_graph_event_has_a_pending_outbox_row() {
    let tmp = tempfile::TempDir::new().unwrap();
    let mut vault = crate::support::library_vault(&tmp.path().join("v"));
    let org = OrgId::from_uuid(cim_keys::app::new_id());
    vault.execute(Command::CreateOrganization { id: org, name: "Acme".into(), domain: None }).unwrap();
    vault
        .execute(Command::CreateUnit {
            id: UnitId::from_uuid(cim_keys::app::new_id()),
            org,
            parent: None,
            name: "U".into(),
        })
        .unwrap();
    let conn = rusqlite::Connection::open(vault.store().path()).unwrap();
    let (rows, pending, attempts): (i64, i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(state = 'pending'), sum(attempts) FROM outbox JOIN graph_events ON seq = graph_seq",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((rows, pending, attempts), (3, 3, 0));
    assert_eq!(vault.status().unwrap().pending, 3);
}

#[test]
fn a_forger_who_recomputes_every_cid_is_caught_by_the_deep_check() {
    use cim_keys::projection::{Chain, GraphPayload};
    let tmp = tempfile::TempDir::new().unwrap();
    let mut vault = crate::support::library_vault(&tmp.path().join("v"));
    let org = OrgId::from_uuid(cim_keys::app::new_id());
    vault.execute(Command::CreateOrganization { id: org, name: "Acme".into(), domain: None }).unwrap();
    for name in ["Engineering", "Sales", "Legal"] {
        let id = UnitId::from_uuid(cim_keys::app::new_id());
        vault.execute(Command::CreateUnit { id, org, parent: None, name: name.into() }).unwrap();
    }
    // Rename "Sales" inside its graph event and rebuild the chain from there on, with every
    // CID, prev link, column and the head recomputed: a consistent forgery.
    let conn = rusqlite::Connection::open(vault.store().path()).unwrap();
    let blocks: Vec<(i64, Vec<u8>)> = conn
        .prepare("SELECT seq, bytes FROM graph_events ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut chain = Chain::default();
    for (seq, bytes) in &blocks {
        let mut event = GraphEvent::from_block(bytes).unwrap().event;
        if let GraphPayload::AggregateAdded(added) = &mut event.payload
            && added.properties.get("name").map(String::as_str) == Some("Sales")
        {
            added.properties.insert("name".into(), "Shadow Sales".into());
        }
        let prev = chain.head();
        let block = chain.link(&event).unwrap();
        conn.execute(
            "UPDATE graph_events SET cid = ?1, prev_cid = ?2, bytes = ?3 WHERE seq = ?4",
            (block.cid.to_bytes(), prev.map(|c| c.to_bytes()), &block.bytes, seq),
        )
        .unwrap();
    }
    conn.execute("UPDATE vault SET head_cid = ?1", [chain.head().unwrap().to_bytes()]).unwrap();

    assert!(vault.verify(false).unwrap().ok(), "the forgery is self-consistent");
    let report = vault.verify(true).unwrap();
    let problem = report.problem.expect("the deep check finds the forgery");
    assert_eq!(problem.kind, "graph event");
    assert!(problem.reason.contains("is not the projection of domain event #3"), "{problem}");
}
