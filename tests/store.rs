//! The store against the domain: read models equal the fold of the stored events, the stored
//! graph events fold to the graph of that state, and every stored block decodes and re-encodes
//! to itself.

use std::collections::HashMap;

use cim_keys::app::Vault;
use cim_keys::domain::{
    AccountId, Command, DomainError, NatsEntity, NatsOwner, NatsReissued, NatsSigningKey, NatsUserId, OperatorId,
    OrgId, PersonId, RoleId, State, UnitId,
};
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
    /// Operator, system account and organization account of an org (with 1 or 2 operator
    /// signing keys; `true`: reuse a recorded key as the operator key).
    NatsBoot(usize, u8, bool),
    /// The account of a unit (`true`: with a scoped signing key too).
    NatsUnit(usize, bool),
    /// A user for a person in an account of their organization, signed by one of its current
    /// keys (`true`: by a retired key, if there is one).
    NatsUser(usize, usize, usize, bool),
    NatsRevoke(usize),
    /// Rotates a signing key of an operator (`true`) or an account.
    NatsRotate(bool, usize, usize),
}

/// Well-formed fake NATS material, all distinct: public keys (56 characters of base32 with the
/// kind's prefix) and JWT CIDs.
#[derive(Debug, Default)]
struct Fakes {
    next: u64,
    keys: Vec<String>,
}

impl Fakes {
    fn base32(&mut self, len: usize, alphabet: &[u8; 32]) -> String {
        self.next += 1;
        let mut n = self.next;
        (0..len)
            .map(|_| {
                let c = alphabet[(n % 32) as usize];
                n /= 32;
                char::from(c)
            })
            .collect()
    }

    fn key(&mut self, prefix: char) -> String {
        let key = format!("{prefix}{}", self.base32(55, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"));
        self.keys.push(key.clone());
        key
    }

    fn jwt(&mut self) -> String {
        format!("bafkrei{}", self.base32(52, b"abcdefghijklmnopqrstuvwxyz234567"))
    }

    fn plain(&mut self) -> NatsSigningKey {
        NatsSigningKey { public_key: self.key('A'), role: None }
    }

    fn account_keys(&mut self, scoped: bool) -> Vec<NatsSigningKey> {
        let mut keys = vec![self.plain()];
        if scoped {
            keys.push(NatsSigningKey { public_key: self.key('A'), role: Some("dev".into()) });
        }
        keys
    }
}

/// The aggregates the proptest's ops created, to refer to in later ops.
#[derive(Debug, Clone, Default)]
struct Known {
    orgs: Vec<OrgId>,
    units: Vec<UnitId>,
    people: Vec<PersonId>,
    roles: Vec<RoleId>,
    keys: Vec<cim_keys::domain::KeyId>,
    org_of_unit: HashMap<UnitId, OrgId>,
    org_of_person: HashMap<PersonId, OrgId>,
    operators: Vec<(OrgId, OperatorId)>,
    /// With their organization and whether they are a system account.
    accounts: Vec<(AccountId, OrgId, bool)>,
    users: Vec<NatsUserId>,
    people_with_users: Vec<PersonId>,
}

fn retired_keys(vault: &Vault) -> Vec<String> {
    vault.store().read_state().unwrap().retired_nats_keys.into_keys().collect()
}

/// The NATS queries of the store say what the state says.
fn assert_nats_queries_match(vault: &Vault, state: &State) {
    let store = vault.store();
    for (id, operator) in &state.nats_operators {
        let row = store.nats_operator(&operator.org.to_string()).unwrap().unwrap();
        assert_eq!(
            (row.id, row.public_key, row.signing_keys, row.system_account, row.jwt),
            (
                id.to_string(),
                operator.public_key.clone(),
                operator.signing_keys.clone(),
                operator.system_account.clone(),
                operator.jwt.clone()
            )
        );
    }
    for (id, account) in &state.nats_accounts {
        let row = store.nats_account(&id.to_string()).unwrap().unwrap();
        let keys: Vec<_> = row.signing_keys.iter().map(|k| (k.public_key.clone(), k.role.clone())).collect();
        let expected: Vec<_> = account.signing_keys.iter().map(|k| (k.public_key.clone(), k.role.clone())).collect();
        assert_eq!(keys, expected);
        assert_eq!(
            (row.unit_id, row.system, row.jetstream, row.jwt),
            (account.unit.map(|u| u.to_string()), account.system, account.jetstream, account.jwt.clone())
        );
        assert!(store.nats_accounts(&account.org.to_string()).unwrap().iter().any(|a| a.id == id.to_string()));
    }
    for (id, user) in &state.nats_users {
        let row = store.nats_user(&id.to_string()).unwrap().unwrap();
        assert_eq!(
            (row.account_id, row.person_id, row.signer.clone(), row.role, row.jwt, row.revoked_at),
            (
                user.account.to_string(),
                user.person.to_string(),
                user.signer.clone(),
                user.role.clone(),
                user.jwt.clone(),
                user.revoked_at
            )
        );
        assert!(store.nats_users_signed_by(&row.signer).unwrap().iter().any(|u| u.id == id.to_string()));
    }
    for (key, retired) in &state.retired_nats_keys {
        let owner = store.nats_signing_key(key).unwrap().unwrap();
        assert!(owner.retired);
        assert_eq!(owner.role, retired.role);
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<u8>().prop_map(Op::Org),
        2 => (0..3usize, proptest::option::of(0..6usize), 0..4u8).prop_map(|(o, p, n)| Op::Unit(o, p, n)),
        4 => (0..3usize, 0..6u8, proptest::collection::vec(0..6usize, 0..3)).prop_map(|(o, e, u)| Op::Person(o, e, u)),
        1 => (0..3usize, 0..3u8).prop_map(|(o, n)| Op::Role(o, n)),
        1 => (0..4usize, 0..6usize).prop_map(|(r, p)| Op::Assign(r, p)),
        1 => (0..6usize, any::<u8>()).prop_map(|(p, n)| Op::Key(p, n)),
        1 => (0..4usize).prop_map(Op::Revoke),
        3 => (0..3usize, 1..3u8, proptest::bool::weighted(0.1)).prop_map(|(o, n, d)| Op::NatsBoot(o, n, d)),
        2 => (0..6usize, any::<bool>()).prop_map(|(u, s)| Op::NatsUnit(u, s)),
        6 => (0..6usize, 0..4usize, 0..3usize, proptest::bool::weighted(0.15))
            .prop_map(|(p, a, k, s)| Op::NatsUser(p, a, k, s)),
        2 => (0..6usize).prop_map(Op::NatsRevoke),
        3 => (any::<bool>(), 0..6usize, 0..3usize).prop_map(|(o, t, k)| Op::NatsRotate(o, t, k)),
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
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn read_models_equal_the_fold_of_the_stored_events(ops in proptest::collection::vec(op(), 8..48)) {
        let tmp = tempfile::TempDir::new().unwrap();
        let mut vault = crate::support::library_vault(&tmp.path().join("v"));
        let mut known = Known::default();
        let mut fakes = Fakes::default();
        let id = cim_keys::app::new_id;
        for op in &ops {
            // What the op adds is known only if the vault accepts it.
            let before_known = known.clone();
            let commands = match op {
                Op::Org(n) => { let i = OrgId::from_uuid(id()); known.orgs.push(i); vec![Command::CreateOrganization { id: i, name: format!("Org {}", n % 5), domain: None }] }
                Op::Unit(o, p, n) => {
                    let Some(org) = pick(&known.orgs, *o) else { continue };
                    let i = UnitId::from_uuid(id());
                    let parent = p.and_then(|p| pick(&known.units, p));
                    known.units.push(i);
                    known.org_of_unit.insert(i, org);
                    vec![Command::CreateUnit { id: i, org, parent, name: format!("Unit {n}") }]
                }
                Op::Person(o, e, u) => {
                    let Some(org) = pick(&known.orgs, *o) else { continue };
                    let i = PersonId::from_uuid(id());
                    known.people.push(i);
                    known.org_of_person.insert(i, org);
                    vec![Command::AddPerson { id: i, org, name: "P".into(), email: format!("p{e}@x.example"), units: u.iter().filter_map(|u| pick(&known.units, *u)).collect() }]
                }
                Op::Role(o, n) => { let Some(org) = pick(&known.orgs, *o) else { continue }; let i = RoleId::from_uuid(id()); known.roles.push(i); vec![Command::DefineRole { id: i, org, name: format!("Role {n}") }] }
                Op::Assign(r, p) => {
                    let (Some(role), Some(person)) = (pick(&known.roles, *r), pick(&known.people, *p)) else { continue };
                    vec![Command::AssignRole { role, person, expected_version: None }]
                }
                Op::Key(p, n) => {
                    let Some(owner) = pick(&known.people, *p) else { continue };
                    let id = cim_keys::domain::KeyId::from_uuid(id());
                    known.keys.push(id);
                    let public = [*n; 32];
                    vec![Command::GenerateKey {
                        id,
                        owner,
                        algorithm: "ed25519".into(),
                        public_key: cim_keys::crypto::ssh::public_key_line(&public, "").unwrap(),
                        fingerprint: cim_keys::crypto::ssh::fingerprint(&public).to_string(),
                    }]
                }
                Op::Revoke(k) => {
                    let Some(key) = pick(&known.keys, *k) else { continue };
                    vec![Command::RevokeKey { key, reason: "rotated".into() }]
                }
                Op::NatsBoot(o, n, reuse) => {
                    let Some(org) = pick(&known.orgs, *o) else { continue };
                    let operator = OperatorId::from_uuid(id());
                    let (system, org_account) = (AccountId::from_uuid(id()), AccountId::from_uuid(id()));
                    known.operators.push((org, operator));
                    known.accounts.push((system, org, true));
                    known.accounts.push((org_account, org, false));
                    let public_key = match fakes.keys.first() {
                        Some(key) if *reuse => key.clone(),
                        _ => fakes.key('O'),
                    };
                    let system_key = fakes.key('A');
                    vec![
                        Command::CreateNatsOperator {
                            id: operator,
                            org,
                            name: "Operator".into(),
                            public_key,
                            signing_keys: (0..*n).map(|_| fakes.key('O')).collect(),
                            system_account: system_key.clone(),
                            jwt: fakes.jwt(),
                        },
                        Command::CreateNatsAccount {
                            id: system,
                            org,
                            unit: None,
                            system: true,
                            name: "SYS".into(),
                            public_key: system_key,
                            signing_keys: fakes.account_keys(false),
                            jetstream: false,
                            jwt: fakes.jwt(),
                        },
                        Command::CreateNatsAccount {
                            id: org_account,
                            org,
                            unit: None,
                            system: false,
                            name: "Org".into(),
                            public_key: fakes.key('A'),
                            signing_keys: fakes.account_keys(true),
                            jetstream: true,
                            jwt: fakes.jwt(),
                        },
                    ]
                }
                Op::NatsUnit(u, scoped) => {
                    let Some(unit) = pick(&known.units, *u) else { continue };
                    let org = known.org_of_unit[&unit];
                    let account = AccountId::from_uuid(id());
                    known.accounts.push((account, org, false));
                    vec![Command::CreateNatsAccount {
                        id: account,
                        org,
                        unit: Some(unit),
                        system: false,
                        name: "Unit account".into(),
                        public_key: fakes.key('A'),
                        signing_keys: fakes.account_keys(*scoped),
                        jetstream: *scoped,
                        jwt: fakes.jwt(),
                    }]
                }
                Op::NatsUser(p, a, k, stale) => {
                    let without: Vec<PersonId> =
                        known.people.iter().filter(|p| !known.people_with_users.contains(p)).copied().collect();
                    let Some(person) = pick(&without, *p) else { continue };
                    let org = known.org_of_person[&person];
                    let theirs: Vec<AccountId> = known.accounts.iter().filter(|(_, o, system)| *o == org && !system).map(|(a, ..)| *a).collect();
                    let Some(account) = pick(&theirs, *a) else { continue };
                    let retired = retired_keys(&vault);
                    let signer = if *stale && !retired.is_empty() {
                        retired[k % retired.len()].clone()
                    } else {
                        let Some(row) = vault.store().nats_account(&account.to_string()).unwrap() else { continue };
                        row.signing_keys[k % row.signing_keys.len()].public_key.clone()
                    };
                    let user = NatsUserId::from_uuid(id());
                    known.users.push(user);
                    known.people_with_users.push(person);
                    vec![Command::CreateNatsUser {
                        id: user,
                        account,
                        person,
                        name: "p@x.example".into(),
                        public_key: fakes.key('U'),
                        signer,
                        jwt: fakes.jwt(),
                    }]
                }
                Op::NatsRevoke(u) => {
                    let Some(user) = pick(&known.users, *u) else { continue };
                    vec![Command::RevokeNatsUser { user, revoked_at: 1_700_000_000 + *u as i64, account_jwt: fakes.jwt() }]
                }
                Op::NatsRotate(true, t, k) => {
                    let Some((org, operator)) = pick(&known.operators, *t) else { continue };
                    let Some(row) = vault.store().nats_operator(&org.to_string()).unwrap() else { continue };
                    let mut reissued = vec![NatsReissued { entity: NatsEntity::Operator(operator), jwt: fakes.jwt() }];
                    for account in vault.store().nats_accounts(&org.to_string()).unwrap() {
                        let entity = NatsEntity::Account(account.id.parse().unwrap());
                        reissued.push(NatsReissued { entity, jwt: fakes.jwt() });
                    }
                    vec![Command::RotateNatsSigningKey {
                        org,
                        owner: NatsOwner::Operator(operator),
                        old_key: row.signing_keys[k % row.signing_keys.len()].clone(),
                        new_key: NatsSigningKey { public_key: fakes.key('O'), role: None },
                        reissued,
                    }]
                }
                Op::NatsRotate(false, t, k) => {
                    let Some((account, ..)) = pick(&known.accounts, *t) else { continue };
                    let Some(row) = vault.store().nats_account(&account.to_string()).unwrap() else { continue };
                    let old = row.signing_keys[k % row.signing_keys.len()].clone();
                    let mut reissued = vec![NatsReissued { entity: NatsEntity::Account(account), jwt: fakes.jwt() }];
                    for user in vault.store().nats_users_signed_by(&old.public_key).unwrap() {
                        if user.revoked_at.is_none() {
                            let entity = NatsEntity::User(user.id.parse().unwrap());
                            reissued.push(NatsReissued { entity, jwt: fakes.jwt() });
                        }
                    }
                    vec![Command::RotateNatsSigningKey {
                        org: row.org_id.parse().unwrap(),
                        owner: NatsOwner::Account(account),
                        old_key: old.public_key,
                        new_key: NatsSigningKey { public_key: fakes.key('A'), role: old.role },
                        reissued,
                    }]
                }
            };
            let before = vault.status().unwrap();
            if vault.execute_all(commands).is_err() {
                prop_assert_eq!(vault.status().unwrap(), before);
                known = before_known;
            }
        }
        let (state, graph) = stored_state_and_graph(&vault);
        prop_assert_eq!(vault.store().read_state().unwrap(), state.clone());
        prop_assert_eq!(graph, Graph::of_state(&state));
        assert_nats_queries_match(&vault, &state);
        prop_assert!(vault.verify(true).unwrap().ok());
        // Reopening reads the same state without replaying anything.
        let path = vault.data_dir().to_owned();
        drop(vault);
        let reopened = Vault::open(&path).unwrap();
        prop_assert_eq!(reopened.store().read_state().unwrap(), state);
    }
}

/// One command of a NATS batch, with numbers that pick its targets.
#[derive(Debug, Clone)]
enum Step {
    /// A user for a person in an account (the system account included), signed by one of the
    /// account's signing keys, current or retired.
    User(usize, usize, usize),
    /// A rotation of one of an account's current signing keys, re-issuing its live users.
    Rotate(usize, usize),
    /// A revocation of one of the users so far.
    Revoke(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..10usize, 0..3usize, 0..6usize).prop_map(|(p, a, k)| Step::User(p, a, k)),
        2 => (0..3usize, 0..3usize).prop_map(|(a, k)| Step::Rotate(a, k)),
        1 => (0..10usize).prop_map(Step::Revoke),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// The commands of one transaction are judged against everything recorded before them in
    /// it — the NATS accounts' signing keys and versions included, which a transaction reads
    /// once and keeps: a batch mixing new users, rotations and revocations of the same accounts
    /// is accepted, or refused at the same command with the same error, exactly as the fold of
    /// the events decides, and leaves the same NATS state.
    #[test]
    fn a_batch_is_decided_as_the_fold_decides(steps in proptest::collection::vec(step(), 1..24)) {
        use cim_keys::domain::{CommandId, CorrelationId, Ctx, DeviceId, EventId, Refusal, Timestamp, decide, seal};
        let tmp = tempfile::TempDir::new().unwrap();
        let mut vault = crate::support::library_vault(&tmp.path().join("v"));
        let mut fakes = Fakes::default();
        let id = cim_keys::app::new_id;
        let org = OrgId::from_uuid(id());
        let unit = UnitId::from_uuid(id());
        let people: Vec<PersonId> = (0..10).map(|_| PersonId::from_uuid(id())).collect();
        let operator = OperatorId::from_uuid(id());
        // The system account, the organization account and the unit's account.
        let accounts = [AccountId::from_uuid(id()), AccountId::from_uuid(id()), AccountId::from_uuid(id())];
        let system_key = fakes.key('A');
        let mut setup = vec![
            Command::CreateOrganization { id: org, name: "Org".into(), domain: None },
            Command::CreateUnit { id: unit, org, parent: None, name: "Unit".into() },
        ];
        setup.extend(people.iter().enumerate().map(|(i, &person)| Command::AddPerson {
            id: person,
            org,
            name: format!("P{i}"),
            email: format!("p{i}@x.example"),
            units: if i.is_multiple_of(2) { vec![unit] } else { vec![] },
        }));
        setup.push(Command::CreateNatsOperator {
            id: operator,
            org,
            name: "Operator".into(),
            public_key: fakes.key('O'),
            signing_keys: vec![fakes.key('O')],
            system_account: system_key.clone(),
            jwt: fakes.jwt(),
        });
        for (i, (&account, unit)) in accounts.iter().zip([None, None, Some(unit)]).enumerate() {
            let system = i == 0;
            setup.push(Command::CreateNatsAccount {
                id: account,
                org,
                unit,
                system,
                name: format!("Account {i}"),
                public_key: if system { system_key.clone() } else { fakes.key('A') },
                signing_keys: fakes.account_keys(!system),
                jetstream: !system,
                jwt: fakes.jwt(),
            });
        }
        vault.execute_all(setup).unwrap();
        let (mut state, _) = stored_state_and_graph(&vault);

        // The batch, built against the fold as it evolves: each command is judged on what the
        // ones before it made, up to the first refusal.
        let ctx = Ctx {
            now: Timestamp::from_micros(1_800_000_000_000_000).unwrap(),
            device: DeviceId::from_uuid(id()),
            correlation: CorrelationId::from_uuid(id()),
            command: CommandId::from_uuid(id()),
        };
        let mut batch = Vec::new();
        let mut refused = None;
        for step in &steps {
            let command = match *step {
                Step::User(p, a, k) => {
                    let account = accounts[a % accounts.len()];
                    let mut keys: Vec<String> =
                        state.nats_accounts[&account].signing_keys.iter().map(|k| k.public_key.clone()).collect();
                    keys.extend(
                        state
                            .retired_nats_keys
                            .iter()
                            .filter(|(_, r)| r.owner == NatsOwner::Account(account))
                            .map(|(key, _)| key.clone()),
                    );
                    Command::CreateNatsUser {
                        id: NatsUserId::from_uuid(id()),
                        account,
                        person: people[p % people.len()],
                        name: "p@x.example".into(),
                        public_key: fakes.key('U'),
                        signer: keys[k % keys.len()].clone(),
                        jwt: fakes.jwt(),
                    }
                }
                Step::Rotate(a, k) => {
                    let account = accounts[a % accounts.len()];
                    let current = &state.nats_accounts[&account].signing_keys;
                    let old = current[k % current.len()].clone();
                    let mut reissued = vec![NatsReissued { entity: NatsEntity::Account(account), jwt: fakes.jwt() }];
                    for (user, u) in &state.nats_users {
                        if u.signer == old.public_key && u.revoked_at.is_none() {
                            reissued.push(NatsReissued { entity: NatsEntity::User(*user), jwt: fakes.jwt() });
                        }
                    }
                    Command::RotateNatsSigningKey {
                        org,
                        owner: NatsOwner::Account(account),
                        old_key: old.public_key,
                        new_key: NatsSigningKey { public_key: fakes.key('A'), role: old.role },
                        reissued,
                    }
                }
                Step::Revoke(u) => {
                    let users: Vec<NatsUserId> = state.nats_users.keys().copied().collect();
                    let Some(user) = pick(&users, u) else { continue };
                    Command::RevokeNatsUser { user, revoked_at: 1_800_000_000 + u as i64, account_jwt: fakes.jwt() }
                }
            };
            match decide(&state, &command) {
                Ok(decided) => {
                    for envelope in seal(decided, &ctx, || EventId::from_uuid(id())) {
                        state.evolve(&envelope);
                    }
                }
                Err(Refusal::Rejected(error)) => refused = Some((batch.len(), error)),
                Err(Refusal::View(never)) => match never {},
            }
            batch.push(command);
            if refused.is_some() {
                break;
            }
        }

        let before = vault.status().unwrap();
        match (vault.execute_all(batch), refused) {
            (Ok(_), None) => {
                let (stored, _) = stored_state_and_graph(&vault);
                prop_assert_eq!(&vault.store().read_state().unwrap(), &stored);
                prop_assert_eq!(&stored.nats_accounts, &state.nats_accounts);
                prop_assert_eq!(&stored.nats_users, &state.nats_users);
                prop_assert_eq!(&stored.retired_nats_keys, &state.retired_nats_keys);
                assert_nats_queries_match(&vault, &stored);
            }
            (Err(cim_keys::app::AppError::Rejected { index, error }), Some((at, expected))) => {
                prop_assert_eq!(index, Some(at));
                prop_assert_eq!(error, expected);
                prop_assert_eq!(vault.status().unwrap(), before);
            }
            (outcome, expected) => prop_assert!(false, "the vault gave {:?}, the fold {:?}", outcome, expected),
        }
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

/// A transaction of many commands lifts and links its events on a second thread while it
/// decides and records: what it records is what recording them one by one would (the receipt
/// names the stored events in order, every block and link checks, the read models are the
/// fold of the events), and a refusal far into it still rolls everything back.
#[test]
fn a_large_batch_is_recorded_in_order_and_all_or_nothing() {
    let tmp = tempfile::TempDir::new().unwrap();
    let mut vault = crate::support::library_vault(&tmp.path().join("v"));
    let id = cim_keys::app::new_id;
    let org = OrgId::from_uuid(id());
    let units: Vec<UnitId> = (0..3).map(|_| UnitId::from_uuid(id())).collect();
    let mut commands = vec![Command::CreateOrganization { id: org, name: "Acme".into(), domain: None }];
    commands.extend(units.iter().map(|&unit| Command::CreateUnit {
        id: unit,
        org,
        parent: None,
        name: format!("U {unit}"),
    }));
    let person = |i: usize, email: String| Command::AddPerson {
        id: PersonId::from_uuid(id()),
        org,
        name: format!("P{i}"),
        email,
        units: if i.is_multiple_of(4) { vec![] } else { vec![units[i % 3]] },
    };
    commands.extend((0..1_200).map(|i| person(i, format!("p{i}@acme.example"))));
    let receipt = vault.execute_all(commands).unwrap();
    assert_eq!(receipt.events.len(), 1_204);

    let conn = rusqlite::Connection::open(vault.store().path()).unwrap();
    let domain: Vec<(String, Vec<u8>)> = conn
        .prepare("SELECT event_id, cid FROM domain_events ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: Vec<(String, Vec<u8>)> =
        receipt.events.iter().map(|e| (e.id.to_string(), e.cid.to_bytes())).collect();
    assert_eq!(domain, expected);
    let graph: Vec<Vec<u8>> = conn
        .prepare("SELECT cid FROM graph_events ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: Vec<Vec<u8>> = receipt.events.iter().flat_map(|e| e.graph.iter().map(|c| c.to_bytes())).collect();
    assert_eq!(graph, expected);
    assert_eq!(vault.status().unwrap().head, receipt.head);
    assert_eq!(receipt.head.map(|c| c.to_bytes()).as_ref(), graph.last());
    assert!(vault.verify(true).unwrap().ok());
    let (state, folded) = stored_state_and_graph(&vault);
    assert_eq!(vault.store().read_state().unwrap(), state);
    assert_eq!(folded, Graph::of_state(&state));

    let before = vault.status().unwrap();
    let mut more: Vec<Command> = (0..1_000).map(|i| person(i, format!("q{i}@acme.example"))).collect();
    more[900] = person(900, "p7@acme.example".into());
    let err = vault.execute_all(more).unwrap_err();
    assert_eq!(err.domain(), Some(&DomainError::DuplicateEmail { email: "p7@acme.example".into() }));
    assert!(err.to_string().starts_with("item 901: "), "{err}");
    assert_eq!(vault.status().unwrap(), before);
    assert_eq!(vault.store().read_state().unwrap(), state);
}

/// A bootstrap larger than a batch: the KDF runs on one thread, the users are minted on
/// another (their seeds sealed once the master key is there) and the events lifted on a third,
/// while the calling thread records. Every user is recorded once with its JWT and a sealed
/// seed that opens under the passphrase, everything checks, and a wrong passphrase (which may
/// be found out while users are already being recorded) records nothing.
#[test]
fn a_large_bootstrap_records_every_user_with_a_sealed_seed() {
    use cim_keys::crypto::keystore::{KeystoreError, Passphrase};
    let tmp = tempfile::TempDir::new().unwrap();
    let mut vault = crate::support::library_vault(&tmp.path().join("v"));
    let id = cim_keys::app::new_id;
    let org = OrgId::from_uuid(id());
    let units: Vec<UnitId> = (0..3).map(|_| UnitId::from_uuid(id())).collect();
    let mut commands = vec![Command::CreateOrganization { id: org, name: "Acme".into(), domain: None }];
    commands.extend(units.iter().map(|&unit| Command::CreateUnit {
        id: unit,
        org,
        parent: None,
        name: format!("U {unit}"),
    }));
    commands.extend((0..700usize).map(|i| Command::AddPerson {
        id: PersonId::from_uuid(id()),
        org,
        name: format!("P{i}"),
        email: format!("p{i}@acme.example"),
        units: if i.is_multiple_of(4) { vec![] } else { vec![units[i % 3]] },
    }));
    vault.execute_all(commands).unwrap();
    let secrets = |vault: &Vault| -> i64 {
        let conn = rusqlite::Connection::open(vault.store().path()).unwrap();
        conn.query_row("SELECT count(*) FROM secrets", [], |r| r.get(0)).unwrap()
    };
    let (before, no_secrets) = (vault.status().unwrap(), secrets(&vault));

    let wrong = Passphrase::new("not the passphrase".into()).unwrap();
    let err = vault.nats_bootstrap(org, &wrong).unwrap_err();
    assert!(matches!(err, cim_keys::app::AppError::Keystore(KeystoreError::WrongPassphrase)), "{err:?}");
    assert_eq!((vault.status().unwrap(), secrets(&vault)), (before, no_secrets));

    let passphrase = Passphrase::new(crate::support::PASSPHRASE.into()).unwrap();
    let report = vault.nats_bootstrap(org, &passphrase).unwrap();
    assert_eq!((report.accounts, report.users), (5, 700));
    assert_eq!(report.receipt.events.len(), 1 + 5 + 700);
    // Operator: identity + 1; system account: identity + 1; the others: identity + 2; users: 1.
    assert_eq!(secrets(&vault) - no_secrets, 2 + 2 + 3 * 4 + 700);
    assert!(vault.verify(true).unwrap().ok());
    let (state, folded) = stored_state_and_graph(&vault);
    assert_eq!(vault.store().read_state().unwrap(), state);
    assert_eq!(folded, Graph::of_state(&state));
    assert_eq!(state.nats_users.len(), 700);
    let users: Vec<NatsUserId> = state.nats_users.keys().copied().collect();
    for user in [users[0], users[350], users[699]] {
        vault.nats_creds(user, &passphrase).unwrap();
    }
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

/// The ids and keys of [`nats_history`].
struct NatsHistory {
    org: OrgId,
    operator: OperatorId,
    eng_account: AccountId,
    alice: NatsUserId,
    carol: NatsUserId,
    old_operator_key: String,
    new_operator_key: String,
    other_operator_key: String,
    plain_eng_key: String,
    old_eng_key: String,
    new_eng_key: String,
    eng_jwt: String,
    alice_jwt: String,
    carol_jwt: String,
}

/// A NATS history through the vault: bootstrap, two unit accounts, three users, a revocation,
/// then the rotation of a scoped account key and of an operator key.
fn nats_history(vault: &mut Vault) -> NatsHistory {
    let id = cim_keys::app::new_id;
    let mut fakes = Fakes::default();
    let org = OrgId::from_uuid(id());
    let (eng, alpha) = (UnitId::from_uuid(id()), UnitId::from_uuid(id()));
    let [alice_p, bob_p, carol_p] = [0; 3].map(|_| PersonId::from_uuid(id()));
    let person = |id, name: &str, units| Command::AddPerson {
        id,
        org,
        name: name.into(),
        email: format!("{}@acme.example", name.to_ascii_lowercase()),
        units,
    };
    vault
        .execute_all(vec![
            Command::CreateOrganization { id: org, name: "Acme".into(), domain: None },
            Command::CreateUnit { id: eng, org, parent: None, name: "Engineering".into() },
            Command::CreateUnit { id: alpha, org, parent: None, name: "Alpha".into() },
            person(alice_p, "Alice", vec![eng]),
            person(bob_p, "Bob", vec![]),
            person(carol_p, "Carol", vec![eng]),
        ])
        .unwrap();

    let operator = OperatorId::from_uuid(id());
    let (system, org_account) = (AccountId::from_uuid(id()), AccountId::from_uuid(id()));
    let (old_operator_key, other_operator_key) = (fakes.key('O'), fakes.key('O'));
    let system_key = fakes.key('A');
    let org_keys = fakes.account_keys(false);
    let account = |id, unit, system, name: &str, public_key, signing_keys, jwt| Command::CreateNatsAccount {
        id,
        org,
        unit,
        system,
        name: name.into(),
        public_key,
        signing_keys,
        jetstream: !system,
        jwt,
    };
    vault
        .execute_all(vec![
            Command::CreateNatsOperator {
                id: operator,
                org,
                name: "Acme".into(),
                public_key: fakes.key('O'),
                signing_keys: vec![old_operator_key.clone(), other_operator_key.clone()],
                system_account: system_key.clone(),
                jwt: fakes.jwt(),
            },
            account(system, None, true, "SYS", system_key.clone(), fakes.account_keys(false), fakes.jwt()),
            account(org_account, None, false, "Acme", fakes.key('A'), org_keys.clone(), fakes.jwt()),
        ])
        .unwrap();

    let (eng_account, alpha_account) = (AccountId::from_uuid(id()), AccountId::from_uuid(id()));
    let eng_keys = fakes.account_keys(true);
    let (plain_eng_key, old_eng_key) = (eng_keys[0].public_key.clone(), eng_keys[1].public_key.clone());
    vault.execute(account(eng_account, Some(eng), false, "Zeta", fakes.key('A'), eng_keys, fakes.jwt())).unwrap();
    let alpha_keys = fakes.account_keys(false);
    vault
        .execute(account(alpha_account, Some(alpha), false, "Alpha", fakes.key('A'), alpha_keys, fakes.jwt()))
        .unwrap();

    let [alice, bob, carol] = [0; 3].map(|_| NatsUserId::from_uuid(id()));
    let user = |id, account, person, name: &str, signer: &str, (public_key, jwt)| Command::CreateNatsUser {
        id,
        account,
        person,
        name: name.into(),
        public_key,
        signer: signer.into(),
        jwt,
    };
    let carol_jwt = fakes.jwt();
    vault
        .execute_all(vec![
            user(alice, eng_account, alice_p, "alice@acme.example", &old_eng_key, (fakes.key('U'), fakes.jwt())),
            user(bob, org_account, bob_p, "bob@acme.example", &org_keys[0].public_key, (fakes.key('U'), fakes.jwt())),
            user(carol, eng_account, carol_p, "carol@acme.example", &old_eng_key, (fakes.key('U'), carol_jwt.clone())),
        ])
        .unwrap();
    vault
        .execute(Command::RevokeNatsUser { user: carol, revoked_at: 1_750_000_000, account_jwt: fakes.jwt() })
        .unwrap();

    // Rotating the scoped key re-issues the account and the users it signed, but not Carol's
    // (re-issuing a revoked user would undo the revocation).
    let new_eng_key = fakes.key('A');
    let (eng_jwt, alice_jwt) = (fakes.jwt(), fakes.jwt());
    vault
        .execute(Command::RotateNatsSigningKey {
            org,
            owner: NatsOwner::Account(eng_account),
            old_key: old_eng_key.clone(),
            new_key: NatsSigningKey { public_key: new_eng_key.clone(), role: Some("dev".into()) },
            reissued: vec![
                NatsReissued { entity: NatsEntity::Account(eng_account), jwt: eng_jwt.clone() },
                NatsReissued { entity: NatsEntity::User(alice), jwt: alice_jwt.clone() },
            ],
        })
        .unwrap();
    let new_operator_key = fakes.key('O');
    vault
        .execute(Command::RotateNatsSigningKey {
            org,
            owner: NatsOwner::Operator(operator),
            old_key: old_operator_key.clone(),
            new_key: NatsSigningKey { public_key: new_operator_key.clone(), role: None },
            reissued: vec![
                NatsReissued { entity: NatsEntity::Operator(operator), jwt: fakes.jwt() },
                NatsReissued { entity: NatsEntity::Account(org_account), jwt: fakes.jwt() },
            ],
        })
        .unwrap();
    NatsHistory {
        org,
        operator,
        eng_account,
        alice,
        carol,
        old_operator_key,
        new_operator_key,
        other_operator_key,
        plain_eng_key,
        old_eng_key,
        new_eng_key,
        eng_jwt,
        alice_jwt,
        carol_jwt,
    }
}

#[test]
fn a_nats_history_reads_back_and_passes_the_deep_check() {
    let tmp = tempfile::TempDir::new().unwrap();
    let mut vault = crate::support::library_vault(&tmp.path().join("v"));
    let h = nats_history(&mut vault);
    let store = vault.store();
    let org = h.org.to_string();

    let operator = store.nats_operator(&org).unwrap().unwrap();
    assert_eq!(operator.id, h.operator.to_string());
    assert_eq!(operator.signing_keys, [h.new_operator_key.clone(), h.other_operator_key.clone()], "in place");
    let accounts = store.nats_accounts(&org).unwrap();
    let names: Vec<_> = accounts.iter().map(|a| (a.name.as_str(), a.system, a.unit_id.is_some())).collect();
    assert_eq!(names, [("SYS", true, false), ("Acme", false, false), ("Alpha", false, true), ("Zeta", false, true)]);
    assert_eq!(accounts[0].public_key, operator.system_account);
    let eng = store.nats_account(&h.eng_account.to_string()).unwrap().unwrap();
    let keys: Vec<_> = eng.signing_keys.iter().map(|k| (k.public_key.as_str(), k.role.as_deref())).collect();
    assert_eq!(keys, [(h.plain_eng_key.as_str(), None), (h.new_eng_key.as_str(), Some("dev"))]);
    assert_eq!(eng.jwt, h.eng_jwt, "the rotation re-issued it after the revocation did");

    let users = store.nats_users(&org).unwrap();
    let names: Vec<_> = users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice@acme.example", "bob@acme.example", "carol@acme.example"]);
    let alice = store.nats_user(&h.alice.to_string()).unwrap().unwrap();
    assert_eq!(
        (alice.signer.as_str(), alice.role.as_deref(), alice.jwt.as_str()),
        (h.new_eng_key.as_str(), Some("dev"), h.alice_jwt.as_str())
    );
    assert_eq!(alice.revoked_at, None);
    let carol = store.nats_user(&h.carol.to_string()).unwrap().unwrap();
    assert_eq!((carol.signer.as_str(), carol.jwt.as_str()), (h.old_eng_key.as_str(), h.carol_jwt.as_str()));
    assert_eq!(carol.revoked_at, Some(1_750_000_000));
    let ids = |rows: Vec<cim_keys::store::NatsUserRow>| rows.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(ids(store.nats_users_signed_by(&h.new_eng_key).unwrap()), [h.alice.to_string()]);
    assert_eq!(ids(store.nats_users_signed_by(&h.old_eng_key).unwrap()), [h.carol.to_string()]);
    assert!(store.nats_user("no-such-user").unwrap().is_none());

    let owner = |key: &str| store.nats_signing_key(key).unwrap().unwrap();
    let old = owner(&h.old_eng_key);
    assert_eq!(
        (old.owner_kind.as_str(), old.owner_id.as_str(), old.role.as_deref(), old.retired),
        ("account", h.eng_account.to_string().as_str(), Some("dev"), true)
    );
    assert!(!owner(&h.new_eng_key).retired);
    let old = owner(&h.old_operator_key);
    assert_eq!((old.owner_kind.as_str(), old.org_id.as_str(), old.retired), ("operator", org.as_str(), true));
    assert!(store.nats_signing_key(&alice.public_key).unwrap().is_none(), "a user key signs nothing");

    let (state, graph) = stored_state_and_graph(&vault);
    assert_eq!(vault.store().read_state().unwrap(), state);
    assert_eq!(state.retired_nats_keys.len(), 2);
    assert_eq!(graph, Graph::of_state(&state));
    assert!(vault.verify(true).unwrap().ok());

    // The store answers `decide` as the fold does: a retired key signs nothing, and no
    // recorded key (retired or the system account's) is accepted again.
    let before = vault.status().unwrap();
    let dave = PersonId::from_uuid(cim_keys::app::new_id());
    vault
        .execute(Command::AddPerson {
            id: dave,
            org: h.org,
            name: "Dave".into(),
            email: "dave@acme.example".into(),
            units: vec![],
        })
        .unwrap();
    let mut fakes = Fakes { next: 10_000, keys: vec![] };
    let user = |signer: &str, public_key: String, fakes: &mut Fakes| Command::CreateNatsUser {
        id: NatsUserId::from_uuid(cim_keys::app::new_id()),
        account: h.eng_account,
        person: dave,
        name: "dave@acme.example".into(),
        public_key,
        signer: signer.into(),
        jwt: fakes.jwt(),
    };
    let key = fakes.key('U');
    let err = vault.execute(user(&h.old_eng_key, key, &mut fakes)).unwrap_err();
    assert_eq!(err.domain(), Some(&DomainError::NatsRetiredKey(h.old_eng_key.clone())));
    let err = vault.execute(user(&h.new_eng_key, alice.public_key.clone(), &mut fakes)).unwrap_err();
    assert_eq!(err.domain(), Some(&DomainError::NatsKeyTaken(alice.public_key.clone())));
    let rotate = |old_key: &str, new_key: &str| Command::RotateNatsSigningKey {
        org: h.org,
        owner: NatsOwner::Account(h.eng_account),
        old_key: old_key.into(),
        new_key: NatsSigningKey { public_key: new_key.into(), role: None },
        reissued: vec![],
    };
    let err = vault.execute(rotate(&h.plain_eng_key, &h.old_eng_key)).unwrap_err();
    assert_eq!(err.domain(), Some(&DomainError::NatsKeyTaken(h.old_eng_key.clone())));
    let err = vault.execute(rotate(&h.plain_eng_key, &operator.system_account)).unwrap_err();
    assert_eq!(err.domain(), Some(&DomainError::NatsKeyTaken(operator.system_account.clone())));
    let err = vault.execute(rotate(&h.old_eng_key, &fakes.key('A'))).unwrap_err();
    assert_eq!(err.domain(), Some(&DomainError::NatsRetiredKey(h.old_eng_key.clone())));
    assert_eq!(vault.status().unwrap().domain_events, before.domain_events + 1);

    // A read model edited behind the log's back is caught by the deep check.
    let conn = rusqlite::Connection::open(vault.store().path()).unwrap();
    conn.execute("UPDATE nats_users SET signer = ?1 WHERE id = ?2", (&h.old_eng_key, h.alice.to_string())).unwrap();
    let problem = vault.verify(true).unwrap().problem.expect("the deep check finds the edit");
    assert_eq!(problem.kind, "read model");
    assert_eq!(problem.reason, format!("NATS user {} differs from the event log", h.alice));
}

#[test]
fn a_vault_from_before_nats_is_migrated_and_takes_a_nats_history() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("v");
    let vault = crate::support::library_vault(&dir);
    let db = vault.store().path().to_owned();
    drop(vault);
    // Turn it back into a schema-2 vault, as the release before NATS wrote it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TABLE nats_signing_keys; DROP TABLE nats_users; DROP TABLE nats_accounts; DROP TABLE nats_operators; \
         DROP TABLE exports; DROP TABLE imports; ALTER TABLE vault DROP COLUMN device_key; PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(conn);
    let mut vault = Vault::open(&dir).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, cim_keys::store::schema::MIGRATIONS.len() as i64, "opening migrated it forward");
    assert!(vault.verify(true).unwrap().ok());
    let h = nats_history(&mut vault);
    assert!(vault.store().nats_operator(&h.org.to_string()).unwrap().is_some());
    assert!(vault.verify(true).unwrap().ok());
}
