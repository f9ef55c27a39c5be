//! The four laws of the projection (property tests) and the codecs' round trips. The golden
//! CIDs are pinned in `tests/golden.rs`.

use proptest::prelude::*;

use super::*;
use crate::domain::fixtures::{HistoryBuilder, golden_history};
use crate::domain::{Command, EventEnvelope, OrgId, PersonId, RoleId, State, UnitId};

/// A random operation; indices pick among what exists, so most operations are valid and the
/// rest exercise refusals (which add nothing to the history).
#[derive(Debug, Clone)]
enum Op {
    Org(String, bool),
    Unit(usize, Option<usize>, String),
    Person(usize, String, usize, Vec<usize>),
    Role(usize, String),
    Assign(usize, usize),
    Key(usize, u8),
    Revoke(usize),
    Pki(usize),
    Cert(usize, bool),
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z ]{0,12}",
        Just("Ops".to_owned()),
        Just("Café Ünïcode 名前".to_owned()),
        Just("  padded  ".to_owned()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (name(), any::<bool>()).prop_map(|(n, d)| Op::Org(n, d)),
        (0..4usize, proptest::option::of(0..8usize), name()).prop_map(|(o, p, n)| Op::Unit(o, p, n)),
        (0..4usize, name(), 0..6usize, proptest::collection::vec(0..8usize, 0..3))
            .prop_map(|(o, n, e, u)| Op::Person(o, n, e, u)),
        (0..4usize, name()).prop_map(|(o, n)| Op::Role(o, n)),
        (0..6usize, 0..8usize).prop_map(|(r, p)| Op::Assign(r, p)),
        (0..8usize, any::<u8>()).prop_map(|(p, n)| Op::Key(p, n)),
        (0..6usize).prop_map(Op::Revoke),
        (0..4usize).prop_map(Op::Pki),
        (0..4usize, any::<bool>()).prop_map(|(i, server)| Op::Cert(i, server)),
    ]
}

fn pick<T: Copy>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()])
}

/// Interprets operations into a valid history.
fn history(ops: &[Op]) -> Vec<EventEnvelope> {
    let mut b = HistoryBuilder::new();
    let (mut orgs, mut units, mut people, mut roles) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut keys = Vec::new();
    let mut intermediates = Vec::new();
    let facts = |cn: &str, serial: u64| crate::domain::CertificateFacts {
        subject: format!("CN={cn}"),
        common_name: cn.to_owned(),
        organization: None,
        serial: format!("{serial:X}"),
        not_before: crate::domain::Timestamp::from_micros(1_000_000).unwrap(),
        not_after: crate::domain::Timestamp::from_micros(9_000_000_000).unwrap(),
        fingerprint: ["0F"; 32].join(":"),
        certificate: "bafkreifake".to_owned(),
    };
    let mut serial = 0u64;
    for op in ops {
        let command = match op {
            Op::Org(n, d) => {
                let id = OrgId::from_uuid(b.id());
                orgs.push(id);
                Command::CreateOrganization { id, name: n.clone(), domain: d.then(|| "acme.example".to_owned()) }
            }
            Op::Unit(o, p, n) => {
                let Some(org) = pick(&orgs, *o) else { continue };
                let id = UnitId::from_uuid(b.id());
                units.push(id);
                Command::CreateUnit {
                    id,
                    org,
                    parent: p.and_then(|p| pick(&units[..units.len() - 1], p)),
                    name: n.clone(),
                }
            }
            Op::Person(o, n, e, u) => {
                let Some(org) = pick(&orgs, *o) else { continue };
                let id = PersonId::from_uuid(b.id());
                people.push(id);
                let units = u.iter().filter_map(|i| pick(&units, *i)).collect();
                Command::AddPerson { id, org, name: n.clone(), email: format!("p{e}@acme.example"), units }
            }
            Op::Role(o, n) => {
                let Some(org) = pick(&orgs, *o) else { continue };
                let id = RoleId::from_uuid(b.id());
                roles.push(id);
                Command::DefineRole { id, org, name: n.clone() }
            }
            Op::Assign(r, p) => {
                let (Some(role), Some(person)) = (pick(&roles, *r), pick(&people, *p)) else { continue };
                Command::AssignRole { role, person, expected_version: None }
            }
            Op::Key(p, n) => {
                let Some(owner) = pick(&people, *p) else { continue };
                let id = crate::domain::KeyId::from_uuid(b.id());
                keys.push(id);
                let public = [*n; 32];
                Command::GenerateKey {
                    id,
                    owner,
                    algorithm: "ed25519".into(),
                    public_key: crate::crypto::ssh::public_key_line(&public, "").unwrap(),
                    fingerprint: crate::crypto::ssh::fingerprint(&public).to_string(),
                }
            }
            Op::Revoke(k) => {
                let Some(key) = pick(&keys, *k) else { continue };
                Command::RevokeKey { key, reason: "rotated".into() }
            }
            Op::Pki(o) => {
                let Some(org) = pick(&orgs, *o) else { continue };
                let (root, intermediate) =
                    (crate::domain::CaId::from_uuid(b.id()), crate::domain::CaId::from_uuid(b.id()));
                intermediates.push(intermediate);
                serial += 2;
                Command::InitPki {
                    org,
                    root,
                    root_facts: facts("Root", serial),
                    intermediate,
                    intermediate_facts: facts("Intermediate", serial + 1),
                }
            }
            Op::Cert(i, server) => {
                let Some(ca) = pick(&intermediates, *i) else { continue };
                serial += 1;
                Command::IssueCertificate {
                    id: crate::domain::CertificateId::from_uuid(b.id()),
                    ca,
                    profile: if *server { "server" } else { "client" }.into(),
                    names: vec!["DNS:leaf.example".into()],
                    facts: facts("leaf", serial),
                }
            }
        };
        let _ = b.run(&command);
    }
    b.into_events()
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op(), 0..40)
}

fn project(history: &[EventEnvelope]) -> Vec<GraphEvent> {
    GraphProjector.lift_all(history).expect("encodes").into_iter().flat_map(|l| l.graph).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn deterministic(ops in ops()) {
        let h = history(&ops);
        let once = GraphProjector.lift_all(&h).unwrap();
        let twice = GraphProjector.lift_all(&h).unwrap();
        prop_assert_eq!(&once, &twice);
        let mut a = Chain::default();
        let mut b = Chain::default();
        for lifted in &once {
            for g in &lifted.graph {
                prop_assert_eq!(a.link(g).unwrap().bytes, b.link(g).unwrap().bytes);
            }
        }
    }

    #[test]
    fn functor(ops in ops(), split in 0usize..40) {
        let h = history(&ops);
        let split = split.min(h.len());
        let (left, right) = h.split_at(split);
        let mut concatenated = project(left);
        concatenated.extend(project(right));
        prop_assert_eq!(project(&h), concatenated);
        prop_assert!(project(&[]).is_empty());
        // Chaining composes too: linking the whole equals linking the halves in turn.
        let all = project(&h);
        let mut whole = Chain::default();
        let whole_cids: Vec<_> = all.iter().map(|g| whole.link(g).unwrap().cid).collect();
        let mut halves = Chain::default();
        let mut half_cids: Vec<_> = project(left).iter().map(|g| halves.link(g).unwrap().cid).collect();
        let mut resumed = Chain::new(halves.head());
        half_cids.extend(project(right).iter().map(|g| resumed.link(g).unwrap().cid));
        prop_assert_eq!(whole_cids, half_cids);
    }

    #[test]
    fn faithful(ops in ops()) {
        let h = history(&ops);
        let state = State::from_events(&h);
        prop_assert_eq!(Graph::fold(&project(&h)), Graph::of_state(&state));
    }

    #[test]
    fn traceable(ops in ops()) {
        let h = history(&ops);
        for (envelope, lifted) in h.iter().zip(GraphProjector.lift_all(&h).unwrap()) {
            prop_assert!(!lifted.graph.is_empty());
            for g in &lifted.graph {
                prop_assert_eq!(g.causation, envelope.id);
                prop_assert_eq!(g.correlation, envelope.correlation);
                prop_assert_eq!(g.source, lifted.domain.cid);
                prop_assert_eq!(g.context, envelope.event.org());
            }
        }
    }

    #[test]
    fn blocks_round_trip(ops in ops()) {
        let h = history(&ops);
        let mut chain = Chain::default();
        for (envelope, lifted) in h.iter().zip(GraphProjector.lift_all(&h).unwrap()) {
            prop_assert_eq!(&decode_domain_event(&lifted.domain.bytes).unwrap(), envelope);
            for g in &lifted.graph {
                let prev = chain.head();
                let block = chain.link(g).unwrap();
                let decoded = GraphEvent::from_block(&block.bytes).unwrap();
                prop_assert_eq!(&decoded.event, g);
                prop_assert_eq!(decoded.prev, prev);
                // Re-encoding the decoded event gives the same bytes: the encoding is canonical.
                prop_assert_eq!(decoded.event.to_block(prev).unwrap(), block.clone());
                prop_assert!(check_link(&block.cid, &block.bytes, prev.as_ref(), &lifted.domain.cid).is_ok());
            }
        }
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_domain_event(&bytes);
        let _ = GraphEvent::from_block(&bytes);
        let _ = GraphEvent::links_of(&bytes);
    }
}

#[test]
fn a_standard_ipld_library_recomputes_our_cids() {
    use multihash_codetable::{Code, MultihashDigest};
    let lifted = GraphProjector.lift_all(&golden_history()).unwrap();
    let mut chain = Chain::default();
    for l in &lifted {
        for block in std::iter::once(l.domain.clone()).chain(l.graph.iter().map(|g| chain.link(g).unwrap())) {
            let theirs = cid::Cid::new_v1(0x71, Code::Sha2_256.digest(&block.bytes));
            assert_eq!(theirs, block.cid);
            assert!(block.cid.to_string().starts_with("bafyrei"));
            // Decoding to the generic IPLD data model and re-encoding gives the same bytes.
            let ipld: ipld_core::ipld::Ipld = serde_ipld_dagcbor::from_slice(&block.bytes).unwrap();
            assert_eq!(serde_ipld_dagcbor::to_vec(&ipld).unwrap(), block.bytes);
        }
    }
}

#[test]
fn changing_any_byte_changes_the_cid_and_breaks_the_check() {
    let lifted = GraphProjector.lift_all(&golden_history()).unwrap();
    let mut chain = Chain::default();
    let block = chain.link(&lifted[0].graph[0]).unwrap();
    for i in 0..block.bytes.len() {
        let mut bytes = block.bytes.clone();
        bytes[i] ^= 0x01;
        assert!(check_link(&block.cid, &bytes, None, &lifted[0].domain.cid).is_err());
    }
}

#[test]
fn unknown_versions_are_typed_errors() {
    let lifted = GraphProjector.lift_all(&golden_history()).unwrap();
    let mut ipld: ipld_core::ipld::Ipld = serde_ipld_dagcbor::from_slice(&lifted[0].domain.bytes).unwrap();
    if let ipld_core::ipld::Ipld::Map(m) = &mut ipld {
        m.insert("v".into(), ipld_core::ipld::Ipld::Integer(2));
    }
    let bytes = serde_ipld_dagcbor::to_vec(&ipld).unwrap();
    assert_eq!(
        decode_domain_event(&bytes),
        Err(CodecError::UnsupportedVersion { what: "domain event block", found: 2 })
    );
}

/// Rewrites one field of a block through the generic IPLD data model.
fn with_field(bytes: &[u8], key: &str, value: ipld_core::ipld::Ipld) -> Vec<u8> {
    let mut ipld: ipld_core::ipld::Ipld = serde_ipld_dagcbor::from_slice(bytes).unwrap();
    if let ipld_core::ipld::Ipld::Map(m) = &mut ipld {
        m.insert(key.into(), value);
    }
    serde_ipld_dagcbor::to_vec(&ipld).unwrap()
}

#[test]
fn decoders_read_only_what_writers_write() {
    use ipld_core::ipld::Ipld;
    let lifted = GraphProjector.lift_all(&golden_history()).unwrap();
    let domain = &lifted[0].domain.bytes;
    let graph = Chain::default().link(&lifted[0].graph[0]).unwrap().bytes;
    // Unknown keys are refused: they would vanish on re-encoding and change the CID.
    assert!(matches!(decode_domain_event(&with_field(domain, "extra", Ipld::Null)), Err(CodecError::Malformed { .. })));
    assert!(matches!(
        GraphEvent::from_block(&with_field(&graph, "extra", Ipld::Null)),
        Err(CodecError::Malformed { .. })
    ));
    // Ids only in the canonical text form.
    let id = decode_domain_event(domain).unwrap().id.to_string();
    for other in [id.to_uppercase(), id.replace('-', ""), format!("{{{id}}}")] {
        assert!(decode_domain_event(&with_field(domain, "id", Ipld::String(other.clone()))).is_err(), "{other}");
    }
    assert!(decode_domain_event(&with_field(domain, "id", Ipld::String(id))).is_ok());
    // An unknown type names itself.
    let unknown = with_field(&graph, "type", Ipld::String("Teleported".into()));
    assert_eq!(
        GraphEvent::from_block(&unknown).unwrap_err().to_string(),
        "graph event block has unknown type 'Teleported'; upgrade cim-keys"
    );
}
