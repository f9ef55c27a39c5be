//! The four laws of the projection (property tests) and the codecs' round trips. The golden
//! CIDs are pinned in `tests/golden.rs`.

use proptest::prelude::*;

use super::*;
use crate::domain::fixtures::{HistoryBuilder, golden_history};
use crate::domain::{
    AccountId, Command, EventEnvelope, NatsEntity, NatsOwner, NatsReissued, NatsSigningKey, NatsUserId, OperatorId,
    OrgId, PersonId, RoleId, State, UnitId,
};

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
    /// Bootstrap an organization for NATS: operator (with 1 or 2 signing keys), system account
    /// and organization account.
    NatsBoot(usize, bool),
    /// An account for a unit: (unit, with a scoped signing key too, JetStream).
    NatsAccount(usize, bool, bool),
    /// A user for a person: (person of a bootstrapped organization, account of their
    /// organization — 4 picks the system account —, signer among the account's current and
    /// retired signing keys).
    NatsUser(usize, usize, usize),
    /// Revoke a user.
    NatsRevoke(usize),
    /// Rotate a signing key: (of an operator, else of an account; owner; key among current and
    /// retired; how many JWTs signed by it to re-issue besides the owner's).
    NatsRotate(bool, usize, usize, usize),
}

/// Well-formed fake NATS public keys and JWT CIDs, distinct by a counter.
#[derive(Debug, Default)]
struct Fake(u64);

impl Fake {
    fn next(&mut self, alphabet: &[u8; 32], len: usize) -> String {
        self.0 += 1;
        (0..len).map(|i| char::from(alphabet[usize::try_from((self.0 >> (5 * i.min(12))) & 31).unwrap_or(0)])).collect()
    }

    /// A public nkey: the prefix letter and 55 base32 characters.
    fn key(&mut self, prefix: char) -> String {
        format!("{prefix}{}", self.next(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 55))
    }

    /// A CIDv1 (raw, sha2-256) look-alike in base32.
    fn cid(&mut self) -> String {
        format!("bafkrei{}", self.next(b"abcdefghijklmnopqrstuvwxyz234567", 52))
    }
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
        2 => (name(), any::<bool>()).prop_map(|(n, d)| Op::Org(n, d)),
        1 => (0..4usize, proptest::option::of(0..8usize), name()).prop_map(|(o, p, n)| Op::Unit(o, p, n)),
        3 => (0..4usize, name(), 0..6usize, proptest::collection::vec(0..8usize, 0..3))
            .prop_map(|(o, n, e, u)| Op::Person(o, n, e, u)),
        1 => (0..4usize, name()).prop_map(|(o, n)| Op::Role(o, n)),
        1 => (0..6usize, 0..8usize).prop_map(|(r, p)| Op::Assign(r, p)),
        1 => (0..8usize, any::<u8>()).prop_map(|(p, n)| Op::Key(p, n)),
        1 => (0..6usize).prop_map(Op::Revoke),
        1 => (0..4usize).prop_map(Op::Pki),
        1 => (0..4usize, any::<bool>()).prop_map(|(i, server)| Op::Cert(i, server)),
        2 => (0..4usize, any::<bool>()).prop_map(|(o, two)| Op::NatsBoot(o, two)),
        2 => (0..8usize, any::<bool>(), any::<bool>()).prop_map(|(u, scoped, js)| Op::NatsAccount(u, scoped, js)),
        3 => (0..8usize, 0..5usize, 0..4usize).prop_map(|(p, a, s)| Op::NatsUser(p, a, s)),
        1 => (0..6usize).prop_map(Op::NatsRevoke),
        2 => (any::<bool>(), 0..4usize, 0..4usize, 0..3usize).prop_map(|(op, o, k, r)| Op::NatsRotate(op, o, k, r)),
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
    let mut fake = Fake::default();
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
            Op::NatsBoot(o, two) => {
                let Some(org) = pick(&orgs, *o) else { continue };
                let system_account = fake.key('A');
                let signing_keys = (0..1 + usize::from(*two)).map(|_| fake.key('O')).collect();
                let operator = Command::CreateNatsOperator {
                    id: OperatorId::from_uuid(b.id()),
                    org,
                    name: "Operator".into(),
                    public_key: fake.key('O'),
                    signing_keys,
                    system_account: system_account.clone(),
                    jwt: fake.cid(),
                };
                let system = Command::CreateNatsAccount {
                    id: AccountId::from_uuid(b.id()),
                    org,
                    unit: None,
                    system: true,
                    name: "SYS".into(),
                    public_key: system_account,
                    signing_keys: vec![NatsSigningKey { public_key: fake.key('A'), role: None }],
                    jetstream: false,
                    jwt: fake.cid(),
                };
                // Refused together when the organization is bootstrapped already.
                let _ = b.run(&operator);
                let _ = b.run(&system);
                Command::CreateNatsAccount {
                    id: AccountId::from_uuid(b.id()),
                    org,
                    unit: None,
                    system: false,
                    name: "Organization".into(),
                    public_key: fake.key('A'),
                    signing_keys: vec![NatsSigningKey { public_key: fake.key('A'), role: None }],
                    jetstream: true,
                    jwt: fake.cid(),
                }
            }
            Op::NatsAccount(u, scoped, jetstream) => {
                let Some(unit) = pick(&units, *u) else { continue };
                let Some(found) = b.state().units.get(&unit) else { continue };
                let (org, name) = (found.org, found.name.clone());
                let mut signing_keys = vec![NatsSigningKey { public_key: fake.key('A'), role: None }];
                if *scoped {
                    signing_keys.push(NatsSigningKey { public_key: fake.key('A'), role: Some("ops".into()) });
                }
                Command::CreateNatsAccount {
                    id: AccountId::from_uuid(b.id()),
                    org,
                    unit: Some(unit),
                    system: false,
                    name,
                    public_key: fake.key('A'),
                    signing_keys,
                    jetstream: *jetstream,
                    jwt: fake.cid(),
                }
            }
            Op::NatsUser(p, a, k) => {
                // People of bootstrapped organizations (with or without a user already).
                let state = b.state();
                let people: Vec<PersonId> = state
                    .people
                    .iter()
                    .filter(|(_, p)| state.nats_operators.values().any(|o| o.org == p.org))
                    .map(|(id, _)| *id)
                    .collect();
                let Some(person) = pick(&people, *p) else { continue };
                let id = NatsUserId::from_uuid(b.id());
                let state = b.state();
                let found = &state.people[&person];
                // Mostly a unit's or the organization account; sometimes the system account.
                let accounts: Vec<AccountId> = state
                    .nats_accounts
                    .iter()
                    .filter(|(_, n)| n.org == found.org && n.system == (*a == 4))
                    .map(|(id, _)| *id)
                    .collect();
                let Some(account) = pick(&accounts, *a) else { continue };
                let signers = signing_keys_of(state, NatsOwner::Account(account));
                let Some(signer) = signers.get(k % signers.len().max(1)) else { continue };
                Command::CreateNatsUser {
                    id,
                    account,
                    person,
                    name: found.email.clone(),
                    public_key: fake.key('U'),
                    signer: signer.public_key.clone(),
                    jwt: fake.cid(),
                }
            }
            Op::NatsRevoke(u) => {
                let users: Vec<NatsUserId> = b.state().nats_users.keys().copied().collect();
                let Some(user) = pick(&users, *u) else { continue };
                serial += 1;
                Command::RevokeNatsUser {
                    user,
                    revoked_at: 1_795_370_400 + i64::try_from(serial).unwrap_or(0),
                    account_jwt: fake.cid(),
                }
            }
            Op::NatsRotate(of_operator, o, k, r) => {
                let state = b.state();
                let (owner, org, own, prefix) = if *of_operator {
                    let operators: Vec<OperatorId> = state.nats_operators.keys().copied().collect();
                    let Some(id) = pick(&operators, *o) else { continue };
                    (NatsOwner::Operator(id), state.nats_operators[&id].org, NatsEntity::Operator(id), 'O')
                } else {
                    let accounts: Vec<AccountId> = state.nats_accounts.keys().copied().collect();
                    let Some(id) = pick(&accounts, *o) else { continue };
                    (NatsOwner::Account(id), state.nats_accounts[&id].org, NatsEntity::Account(id), 'A')
                };
                let keys = signing_keys_of(state, owner);
                let Some(old) = keys.get(k % keys.len().max(1)).cloned() else { continue };
                // What the old key signed: an operator's accounts, an account's live users.
                let signed: Vec<NatsEntity> = match owner {
                    NatsOwner::Operator(id) => state
                        .nats_accounts
                        .iter()
                        .filter(|(_, a)| a.operator == id)
                        .map(|(a, _)| NatsEntity::Account(*a))
                        .collect(),
                    NatsOwner::Account(id) => state
                        .nats_users
                        .iter()
                        .filter(|(_, u)| u.account == id && u.signer == old.public_key && u.revoked_at.is_none())
                        .map(|(u, _)| NatsEntity::User(*u))
                        .collect(),
                };
                let reissued = std::iter::once(own)
                    .chain(signed.into_iter().take(*r))
                    .map(|entity| NatsReissued { entity, jwt: fake.cid() })
                    .collect();
                Command::RotateNatsSigningKey {
                    org,
                    owner,
                    old_key: old.public_key,
                    new_key: NatsSigningKey { public_key: fake.key(prefix), role: old.role },
                    reissued,
                }
            }
        };
        let _ = b.run(&command);
    }
    b.into_events()
}

/// The current signing keys of an operator or account, then the ones rotations retired
/// (signing with or rotating those is refused).
fn signing_keys_of(state: &State, owner: NatsOwner) -> Vec<NatsSigningKey> {
    let mut keys: Vec<NatsSigningKey> = match owner {
        NatsOwner::Operator(id) => state.nats_operators.get(&id).map_or_else(Vec::new, |o| {
            o.signing_keys.iter().map(|k| NatsSigningKey { public_key: k.clone(), role: None }).collect()
        }),
        NatsOwner::Account(id) => state.nats_accounts.get(&id).map_or_else(Vec::new, |a| a.signing_keys.clone()),
    };
    keys.extend(
        state
            .retired_nats_keys
            .iter()
            .filter(|(_, r)| r.owner == owner)
            .map(|(k, r)| NatsSigningKey { public_key: k.clone(), role: r.role.clone() }),
    );
    keys
}

/// Random operations; half of the time after a scaffold (an organization bootstrapped for
/// NATS with a unit account and two people), so that users, revocations and rotations of
/// their signers, which need all of that first, are common.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    (any::<bool>(), proptest::collection::vec(op(), 0..40)).prop_map(|(scaffold, ops)| {
        let mut all = Vec::new();
        if scaffold {
            all.extend([
                Op::Org("Acme".into(), true),
                Op::Unit(0, None, "Engineering".into()),
                Op::Person(0, "Ann".into(), 0, vec![0]),
                Op::Person(0, "Bob".into(), 1, vec![]),
                Op::NatsBoot(0, true),
                Op::NatsAccount(0, true, true),
            ]);
        }
        all.extend(ops);
        all
    })
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

#[test]
fn the_generated_histories_hold_every_event_kind() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..64 {
        let ops = ops().new_tree(&mut runner).map(|tree| tree.current()).unwrap_or_default();
        seen.extend(history(&ops).iter().map(|e| e.event.name()));
    }
    let all = [
        "OrganizationCreated",
        "UnitCreated",
        "PersonAdded",
        "RoleDefined",
        "RoleAssigned",
        "KeyGenerated",
        "KeyRevoked",
        "CaCreated",
        "CertificateIssued",
        "NatsOperatorCreated",
        "NatsAccountCreated",
        "NatsUserCreated",
        "NatsUserRevoked",
        "NatsSigningKeyRotated",
    ];
    assert_eq!(seen, all.into_iter().collect(), "the laws above would not cover every event");
}

#[test]
fn signing_key_nodes_are_pinned() {
    assert_eq!(
        NATS_SIGNING_KEY_NAMESPACE,
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"urn:cim-keys:nats-signing-key")
    );
    let key = format!("O{}", "A".repeat(55));
    assert_eq!(signing_key_node(&key), uuid::Uuid::new_v5(&NATS_SIGNING_KEY_NAMESPACE, key.as_bytes()));
    assert_eq!(signing_key_node(&key).get_version_num(), 5);
    assert_ne!(signing_key_node(&key), signing_key_node(&format!("O{}", "B".repeat(55))));
}

#[test]
fn nats_events_project_as_documented() {
    let ops = [
        Op::Org("Acme".into(), true),
        Op::Unit(0, None, "Engineering".into()),
        Op::Person(0, "Ann".into(), 0, vec![0]),
        Op::NatsBoot(0, false),
        Op::NatsAccount(0, true, false),
        // Ann's user in the unit's account (accounts in id order: organization, unit), signed
        // by the scoped key (signers: plain, scoped).
        Op::NatsUser(0, 1, 1),
        // Rotate the unit account's scoped key, re-issuing Ann's user; then revoke her.
        Op::NatsRotate(false, 2, 1, 1),
        Op::NatsRevoke(0),
    ];
    let h = history(&ops);
    let names: Vec<&str> = h.iter().map(|e| e.event.name()).collect();
    assert_eq!(names[names.len() - 3..], ["NatsUserCreated", "NatsSigningKeyRotated", "NatsUserRevoked"]);
    let state = State::from_events(&h);
    let graph = Graph::fold(&project(&h));
    assert_eq!(graph, Graph::of_state(&state));

    let (user_id, user) = state.nats_users.iter().next().unwrap();
    let (old_key, retired) = state.retired_nats_keys.iter().next().unwrap();
    assert_eq!(retired.role.as_deref(), Some("ops"));
    let account = &state.nats_accounts[&user.account];
    let new_key = account.signing_keys.iter().find(|k| k.role.is_some()).unwrap();
    assert_eq!(user.signer, new_key.public_key);

    let node = |id: uuid::Uuid| &graph.nodes[&id];
    let prop = |id: uuid::Uuid, key: &str| node(id).properties.get(key).cloned();
    assert_eq!(node(user_id.uuid()).kind, "nats_user");
    assert_eq!(prop(user_id.uuid(), REVOKED).as_deref(), Some("revoked"));
    assert_eq!(prop(user_id.uuid(), "public_key"), Some(user.public_key.clone()));
    assert_eq!(prop(signing_key_node(old_key), REVOKED).as_deref(), Some("rotated"));
    assert_eq!(prop(signing_key_node(old_key), "role").as_deref(), Some("ops"));
    assert_eq!(prop(signing_key_node(&new_key.public_key), "role").as_deref(), Some("ops"));
    assert_eq!(prop(signing_key_node(&new_key.public_key), REVOKED), None);
    assert_eq!(prop(user.account.uuid(), "jetstream").as_deref(), Some("false"));
    // JWT CIDs stay out of the graph.
    assert!(graph.nodes.values().all(|n| n.properties.values().all(|v| !v.starts_with("bafkrei"))));
    let edge = |source: uuid::Uuid, rel: &str, target: uuid::Uuid| {
        graph.edges.contains(&Edge { source, relation: rel.to_owned(), target })
    };
    let unit = account.unit.unwrap().uuid();
    assert!(edge(user.account.uuid(), relation::SIGNED_BY, account.operator.uuid()));
    assert!(edge(user.account.uuid(), relation::PART_OF, unit));
    assert!(edge(user_id.uuid(), relation::MEMBER_OF, user.account.uuid()));
    // A user's account signed it; `member_of` says so, without a second edge.
    assert!(!edge(user_id.uuid(), relation::SIGNED_BY, user.account.uuid()));
    assert!(edge(user.person.uuid(), relation::OWNS_KEY, user_id.uuid()));
    assert!(edge(user.account.uuid(), relation::OWNS_KEY, signing_key_node(old_key)));
    assert!(edge(user.account.uuid(), relation::OWNS_KEY, signing_key_node(&new_key.public_key)));
    assert!(edge(account.operator.uuid(), relation::PART_OF, account.org.uuid()));
}
