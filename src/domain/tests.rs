//! One given/when/then test per domain rule.

use uuid::Uuid;

use super::scenario::Scenario;
use super::*;

fn org(n: u128) -> OrgId {
    OrgId::from_uuid(Uuid::from_u128(0x1000 + n))
}
fn unit(n: u128) -> UnitId {
    UnitId::from_uuid(Uuid::from_u128(0x2000 + n))
}
fn person(n: u128) -> PersonId {
    PersonId::from_uuid(Uuid::from_u128(0x3000 + n))
}
fn role(n: u128) -> RoleId {
    RoleId::from_uuid(Uuid::from_u128(0x4000 + n))
}

fn create_org(n: u128, name: &str) -> Command {
    Command::CreateOrganization { id: org(n), name: name.into(), domain: None }
}
fn create_unit(n: u128, o: u128, parent: Option<u128>, name: &str) -> Command {
    Command::CreateUnit { id: unit(n), org: org(o), parent: parent.map(unit), name: name.into() }
}
fn add_person(n: u128, o: u128, email: &str, units: &[u128]) -> Command {
    Command::AddPerson {
        id: person(n),
        org: org(o),
        name: format!("Person {n}"),
        email: email.into(),
        units: units.iter().copied().map(unit).collect(),
    }
}
fn define_role(n: u128, o: u128, name: &str) -> Command {
    Command::DefineRole { id: role(n), org: org(o), name: name.into() }
}
fn assign(r: u128, p: u128) -> Command {
    Command::AssignRole { role: role(r), person: person(p), expected_version: None }
}

/// An organization with two units (Eng, and Ops under Eng), one person, one role; and a
/// second organization with one unit.
fn world() -> Vec<Command> {
    vec![
        create_org(1, "Acme"),
        create_unit(1, 1, None, "Engineering"),
        create_unit(2, 1, Some(1), "Operations"),
        add_person(1, 1, "ann@acme.example", &[1]),
        define_role(1, 1, "Security Officer"),
        create_org(2, "Globex"),
        create_unit(9, 2, None, "Sales"),
    ]
}

#[test]
fn creating_an_organization_records_its_trimmed_name_and_lowercased_domain() {
    Scenario::given(&[])
        .when(Command::CreateOrganization {
            id: org(1),
            name: "  Acme Corp ".into(),
            domain: Some("Acme.EXAMPLE".into()),
        })
        .then(&[(
            DomainEvent::OrganizationCreated(OrganizationCreated {
                org: org(1),
                name: "Acme Corp".into(),
                domain: Some("acme.example".into()),
            }),
            1,
        )]);
}

#[test]
fn names_must_not_be_empty_or_whitespace() {
    Scenario::given(&[])
        .when(create_org(1, " \t "))
        .then_rejected(DomainError::EmptyName { field: "organization name" });
    Scenario::given(&world())
        .when(create_unit(5, 1, None, ""))
        .then_rejected(DomainError::EmptyName { field: "unit name" });
    Scenario::given(&world())
        .when(define_role(5, 1, "  "))
        .then_rejected(DomainError::EmptyName { field: "role name" });
}

#[test]
fn names_are_bounded_in_length() {
    Scenario::given(&[]).when(create_org(1, &"x".repeat(100_000))).then_rejected(DomainError::NameTooLong {
        field: "organization name",
        chars: 100_000,
        max: MAX_NAME_CHARS,
    });
}

#[test]
fn names_must_not_hold_control_characters() {
    Scenario::given(&world())
        .when(Command::AddPerson {
            id: person(5),
            org: org(1),
            name: "Eve\u{1b}[31m".into(),
            email: "eve@acme.example".into(),
            units: vec![],
        })
        .then_rejected(DomainError::ControlCharacter { field: "person name" });
}

#[test]
fn e_mail_addresses_are_validated() {
    Scenario::given(&world())
        .when(add_person(5, 1, "not-an-address", &[]))
        .then_rejected_with(|e| matches!(e, DomainError::InvalidEmail { reason: "it has no '@'", .. }));
}

#[test]
fn organization_domains_are_validated() {
    Scenario::given(&[])
        .when(Command::CreateOrganization { id: org(1), name: "Acme".into(), domain: Some("no_dots".into()) })
        .then_rejected_with(|e| matches!(e, DomainError::InvalidDomain { .. }));
}

#[test]
fn organization_names_are_unique_in_the_vault() {
    Scenario::given(&world())
        .when(create_org(3, "ACME"))
        .then_rejected(DomainError::DuplicateOrganization { name: "ACME".into() });
}

#[test]
fn units_need_an_existing_organization() {
    Scenario::given(&[]).when(create_unit(1, 7, None, "Eng")).then_rejected(DomainError::UnknownOrganization(org(7)));
}

#[test]
fn units_nest_under_an_existing_parent() {
    Scenario::given(&world()).when(create_unit(3, 1, Some(2), "SRE")).then(&[(
        DomainEvent::UnitCreated(UnitCreated { unit: unit(3), org: org(1), parent: Some(unit(2)), name: "SRE".into() }),
        1,
    )]);
    Scenario::given(&world())
        .when(create_unit(3, 1, Some(77), "SRE"))
        .then_rejected(DomainError::UnknownUnit(unit(77)));
}

#[test]
fn a_unit_cannot_nest_under_a_unit_of_another_organization() {
    Scenario::given(&world())
        .when(create_unit(3, 1, Some(9), "Sales Eng"))
        .then_rejected(DomainError::UnitOfOtherOrganization { unit: unit(9), org: org(1) });
}

#[test]
fn unit_names_are_unique_under_one_parent_but_not_across_parents() {
    Scenario::given(&world())
        .when(create_unit(3, 1, None, "engineering"))
        .then_rejected(DomainError::DuplicateUnit { name: "engineering".into() });
    Scenario::given(&world()).when(create_unit(3, 1, Some(2), "Engineering")).then(&[(
        DomainEvent::UnitCreated(UnitCreated {
            unit: unit(3),
            org: org(1),
            parent: Some(unit(2)),
            name: "Engineering".into(),
        }),
        1,
    )]);
    // The same name in another organization is fine.
    Scenario::given(&world()).when(create_unit(3, 2, None, "Engineering")).then(&[(
        DomainEvent::UnitCreated(UnitCreated { unit: unit(3), org: org(2), parent: None, name: "Engineering".into() }),
        1,
    )]);
}

#[test]
fn people_join_units_of_their_organization_only() {
    Scenario::given(&world()).when(add_person(5, 1, "bob@acme.example", &[2, 1, 2])).then(&[(
        DomainEvent::PersonAdded(PersonAdded {
            person: person(5),
            org: org(1),
            name: "Person 5".into(),
            email: "bob@acme.example".into(),
            units: vec![unit(2), unit(1)],
        }),
        1,
    )]);
    Scenario::given(&world())
        .when(add_person(5, 1, "bob@acme.example", &[9]))
        .then_rejected(DomainError::UnitOfOtherOrganization { unit: unit(9), org: org(1) });
    Scenario::given(&world())
        .when(add_person(5, 1, "bob@acme.example", &[42]))
        .then_rejected(DomainError::UnknownUnit(unit(42)));
    Scenario::given(&world())
        .when(add_person(5, 3, "bob@acme.example", &[]))
        .then_rejected(DomainError::UnknownOrganization(org(3)));
}

#[test]
fn e_mail_addresses_are_unique_in_an_organization() {
    Scenario::given(&world())
        .when(add_person(5, 1, "ANN@acme.example", &[]))
        .then_rejected(DomainError::DuplicateEmail { email: "ANN@acme.example".into() });
    Scenario::given(&world()).when(add_person(5, 2, "ann@acme.example", &[])).then(&[(
        DomainEvent::PersonAdded(PersonAdded {
            person: person(5),
            org: org(2),
            name: "Person 5".into(),
            email: "ann@acme.example".into(),
            units: vec![],
        }),
        1,
    )]);
}

#[test]
fn role_names_are_unique_in_an_organization() {
    Scenario::given(&world())
        .when(define_role(2, 1, "security officer"))
        .then_rejected(DomainError::DuplicateRole { name: "security officer".into() });
    Scenario::given(&world()).when(define_role(2, 2, "Security Officer")).then(&[(
        DomainEvent::RoleDefined(RoleDefined { role: role(2), org: org(2), name: "Security Officer".into() }),
        1,
    )]);
}

#[test]
fn assigning_a_role_advances_the_person_version() {
    Scenario::given(&world())
        .when(assign(1, 1))
        .then(&[(DomainEvent::RoleAssigned(RoleAssigned { role: role(1), person: person(1), org: org(1) }), 2)]);
}

#[test]
fn a_role_is_assigned_once() {
    let mut given = world();
    given.push(assign(1, 1));
    Scenario::given(&given)
        .when(assign(1, 1))
        .then_rejected(DomainError::RoleAlreadyAssigned { role: role(1), person: person(1) });
}

#[test]
fn roles_and_people_must_exist_and_share_an_organization() {
    Scenario::given(&world()).when(assign(8, 1)).then_rejected(DomainError::UnknownRole(role(8)));
    Scenario::given(&world()).when(assign(1, 8)).then_rejected(DomainError::UnknownPerson(person(8)));
    let mut given = world();
    given.push(add_person(6, 2, "gil@globex.example", &[9]));
    Scenario::given(&given)
        .when(assign(1, 6))
        .then_rejected(DomainError::RoleOfOtherOrganization { role: role(1), person: person(6) });
}

#[test]
fn a_stale_expected_version_is_a_conflict() {
    let mut given = world();
    given.push(define_role(2, 1, "Auditor"));
    given.push(assign(2, 1));
    Scenario::given(&given)
        .when(Command::AssignRole { role: role(1), person: person(1), expected_version: Some(1) })
        .then_rejected(DomainError::VersionConflict { kind: "person", id: person(1).uuid(), expected: 1, actual: 2 });
    Scenario::given(&given)
        .when(Command::AssignRole { role: role(1), person: person(1), expected_version: Some(2) })
        .then(&[(DomainEvent::RoleAssigned(RoleAssigned { role: role(1), person: person(1), org: org(1) }), 3)]);
}

#[test]
fn ids_of_new_aggregates_must_be_fresh() {
    Scenario::given(&world())
        .when(Command::CreateUnit {
            id: UnitId::from_uuid(org(1).uuid()),
            org: org(1),
            parent: None,
            name: "New".into(),
        })
        .then_rejected(DomainError::IdInUse(org(1).uuid()));
}

#[test]
fn evolve_folds_events_into_state() {
    let scenario_state = {
        let mut given = world();
        given.push(assign(1, 1));
        given
    };
    // Fold via the scenario, then check through the view.
    let s = Scenario::given(&scenario_state);
    s.when(assign(1, 1)).then_rejected(DomainError::RoleAlreadyAssigned { role: role(1), person: person(1) });
}

fn key(n: u128) -> KeyId {
    KeyId::from_uuid(Uuid::from_u128(0x5000 + n))
}

/// A well-formed public key and fingerprint, distinct per `n` (the domain checks their form;
/// the application computes them from real keys).
fn key_material(n: u8) -> (String, String) {
    let letter = char::from(b'A' + n % 26);
    (
        format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{}", letter.to_string().repeat(43)),
        format!("SHA256:{}", letter.to_string().repeat(43)),
    )
}

fn generate_key(k: u128, p: u128, n: u8) -> Command {
    let (public_key, fingerprint) = key_material(n);
    Command::GenerateKey { id: key(k), owner: person(p), algorithm: "ed25519".into(), public_key, fingerprint }
}

#[test]
fn a_generated_key_is_recorded_with_its_public_half_only() {
    let (public_key, fingerprint) = key_material(1);
    Scenario::given(&world()).when(generate_key(1, 1, 1)).then(&[(
        DomainEvent::KeyGenerated(KeyGenerated {
            key: key(1),
            owner: person(1),
            org: org(1),
            algorithm: "ed25519".into(),
            public_key,
            fingerprint,
        }),
        1,
    )]);
}

#[test]
fn keys_need_an_existing_owner_a_known_algorithm_and_a_well_formed_public_key() {
    Scenario::given(&world()).when(generate_key(1, 9, 1)).then_rejected(DomainError::UnknownPerson(person(9)));
    let (public_key, fingerprint) = key_material(1);
    Scenario::given(&world())
        .when(Command::GenerateKey {
            id: key(1),
            owner: person(1),
            algorithm: "rsa".into(),
            public_key: public_key.clone(),
            fingerprint: fingerprint.clone(),
        })
        .then_rejected(DomainError::UnsupportedAlgorithm("rsa".into()));
    for (bad_key, bad_fp) in [
        ("ssh-rsa AAAA".to_owned(), fingerprint.clone()),
        ("ssh-ed25519 ".to_owned(), fingerprint.clone()),
        ("ssh-ed25519 AAAA\nmore".to_owned(), fingerprint.clone()),
        (public_key.clone(), "MD5:aa:bb".to_owned()),
    ] {
        Scenario::given(&world())
            .when(Command::GenerateKey {
                id: key(1),
                owner: person(1),
                algorithm: "ed25519".into(),
                public_key: bad_key,
                fingerprint: bad_fp,
            })
            .then_rejected(DomainError::MalformedPublicKey { algorithm: "ed25519".into() });
    }
}

#[test]
fn a_fingerprint_is_recorded_once() {
    let mut given = world();
    given.push(generate_key(1, 1, 1));
    let (_, fingerprint) = key_material(1);
    Scenario::given(&given).when(generate_key(2, 1, 1)).then_rejected(DomainError::DuplicateKey(fingerprint));
}

#[test]
fn a_key_is_revoked_once_with_a_reason() {
    let mut given = world();
    given.push(generate_key(1, 1, 1));
    Scenario::given(&given).when(Command::RevokeKey { key: key(1), reason: " laptop lost ".into() }).then(&[(
        DomainEvent::KeyRevoked(KeyRevoked {
            key: key(1),
            owner: person(1),
            org: org(1),
            reason: "laptop lost".into(),
        }),
        2,
    )]);
    Scenario::given(&given)
        .when(Command::RevokeKey { key: key(1), reason: "".into() })
        .then_rejected(DomainError::EmptyName { field: "revocation reason" });
    Scenario::given(&[])
        .when(Command::RevokeKey { key: key(1), reason: "x".into() })
        .then_rejected(DomainError::UnknownKey(key(1)));
    given.push(Command::RevokeKey { key: key(1), reason: "lost".into() });
    Scenario::given(&given)
        .when(Command::RevokeKey { key: key(1), reason: "again".into() })
        .then_rejected(DomainError::KeyAlreadyRevoked(key(1)));
}

fn ca(n: u128) -> CaId {
    CaId::from_uuid(Uuid::from_u128(0x6000 + n))
}

fn facts(cn: &str, serial: &str, from: i64, to: i64) -> CertificateFacts {
    CertificateFacts {
        subject: format!("CN={cn},O=Acme"),
        common_name: cn.into(),
        organization: Some("Acme".into()),
        serial: serial.into(),
        not_before: Timestamp::from_micros(from * 1_000_000).unwrap(),
        not_after: Timestamp::from_micros(to * 1_000_000).unwrap(),
        fingerprint: ["AB"; 32].join(":"),
        certificate: "bafkreiexample".into(),
    }
}

fn init_pki(o: u128) -> Command {
    Command::InitPki {
        org: org(o),
        root: ca(o * 2),
        root_facts: facts("Root", "01", 1_000, 9_000),
        intermediate: ca(o * 2 + 1),
        intermediate_facts: facts("Intermediate", "02", 1_000, 8_000),
    }
}

fn issue(n: u128, c: u128, profile: &str, names: &[&str], serial: &str, from: i64, to: i64) -> Command {
    Command::IssueCertificate {
        id: CertificateId::from_uuid(Uuid::from_u128(0x7000 + n)),
        ca: ca(c),
        profile: profile.into(),
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        facts: facts("leaf", serial, from, to),
    }
}

#[test]
fn pki_init_records_a_root_and_its_intermediate_once_per_organization() {
    Scenario::given(&world()).when(init_pki(1)).then(&[
        (
            DomainEvent::CaCreated(CaCreated {
                ca: ca(2),
                org: org(1),
                level: "root".into(),
                issuer: None,
                facts: facts("Root", "01", 1_000, 9_000),
            }),
            1,
        ),
        (
            DomainEvent::CaCreated(CaCreated {
                ca: ca(3),
                org: org(1),
                level: "intermediate".into(),
                issuer: Some(ca(2)),
                facts: facts("Intermediate", "02", 1_000, 8_000),
            }),
            1,
        ),
    ]);
    let mut given = world();
    given.push(init_pki(1));
    Scenario::given(&given).when(init_pki(1)).then_rejected(DomainError::PkiExists(org(1)));
    Scenario::given(&[]).when(init_pki(1)).then_rejected(DomainError::UnknownOrganization(org(1)));
}

#[test]
fn certificate_facts_must_be_consistent() {
    let mut bad = init_pki(1);
    if let Command::InitPki { intermediate_facts, .. } = &mut bad {
        *intermediate_facts = facts("Intermediate", "02", 1_000, 9_500);
    }
    Scenario::given(&world())
        .when(bad)
        .then_rejected(DomainError::BadCertificate("the intermediate's validity is outside the root's"));
    let mut reversed = init_pki(1);
    if let Command::InitPki { root_facts, .. } = &mut reversed {
        *root_facts = facts("Root", "01", 9_000, 1_000);
    }
    Scenario::given(&world()).when(reversed).then_rejected(DomainError::BadCertificate("it ends before it starts"));
}

#[test]
fn leaves_come_from_an_intermediate_within_its_validity_with_unique_serials() {
    let mut given = world();
    given.push(init_pki(1));
    Scenario::given(&given).when(issue(1, 3, "server", &["DNS:nats.acme.example"], "0A", 2_000, 3_000)).then(&[(
        DomainEvent::CertificateIssued(CertificateIssued {
            certificate: CertificateId::from_uuid(Uuid::from_u128(0x7001)),
            ca: ca(3),
            org: org(1),
            profile: "server".into(),
            names: vec!["DNS:nats.acme.example".into()],
            facts: facts("leaf", "0A", 2_000, 3_000),
        }),
        1,
    )]);
    Scenario::given(&given)
        .when(issue(1, 2, "server", &["DNS:x.example"], "0A", 2_000, 3_000))
        .then_rejected(DomainError::NotAnIntermediate(ca(2)));
    Scenario::given(&given)
        .when(issue(1, 9, "server", &["DNS:x.example"], "0A", 2_000, 3_000))
        .then_rejected(DomainError::UnknownCa(ca(9)));
    Scenario::given(&given)
        .when(issue(1, 3, "server", &[], "0A", 2_000, 3_000))
        .then_rejected(DomainError::BadCertificate("a server certificate needs a DNS name or an IP address"));
    Scenario::given(&given)
        .when(issue(1, 3, "signing", &["DNS:x.example"], "0A", 2_000, 3_000))
        .then_rejected(DomainError::BadCertificate("the profile must be server or client"));
    Scenario::given(&given)
        .when(issue(1, 3, "client", &[], "0A", 2_000, 8_500))
        .then_rejected(DomainError::BadCertificate("its validity is outside the issuing CA's"));
    given.push(issue(1, 3, "client", &[], "0A", 2_000, 3_000));
    Scenario::given(&given)
        .when(issue(2, 3, "client", &[], "0A", 2_000, 3_000))
        .then_rejected(DomainError::DuplicateSerial { ca: ca(3), serial: "0A".into() });
}

fn operator(n: u128) -> OperatorId {
    OperatorId::from_uuid(Uuid::from_u128(0x8000 + n))
}
fn account(n: u128) -> AccountId {
    AccountId::from_uuid(Uuid::from_u128(0x9000 + n))
}
fn nats_user(n: u128) -> NatsUserId {
    NatsUserId::from_uuid(Uuid::from_u128(0xa000 + n))
}

/// A well-formed public nkey, distinct per `n` (< 32): the prefix letter and 55 base32
/// characters.
fn nkey(prefix: char, n: usize) -> String {
    format!("{prefix}{}", char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[n]).to_string().repeat(55))
}

/// A well-formed JWT CID, distinct per `n` (< 26).
fn jwt(n: u8) -> String {
    format!("bafkrei{}", char::from(b'a' + n).to_string().repeat(52))
}

fn plain(key: String) -> NatsSigningKey {
    NatsSigningKey { public_key: key, role: None }
}

fn scoped(key: String, role: &str) -> NatsSigningKey {
    NatsSigningKey { public_key: key, role: Some(role.into()) }
}

/// Organization 1's operator: identity key O0, signing key O1, system account A0.
fn create_operator() -> Command {
    Command::CreateNatsOperator {
        id: operator(1),
        org: org(1),
        name: "Acme".into(),
        public_key: nkey('O', 0),
        signing_keys: vec![nkey('O', 1)],
        system_account: nkey('A', 0),
        jwt: jwt(0),
    }
}

/// An account of organization 1 with identity key `A{key}` (the system account's is A0).
fn create_account(n: u128, unit_of: Option<u128>, key: usize, signing_keys: Vec<NatsSigningKey>) -> Command {
    Command::CreateNatsAccount {
        id: account(n),
        org: org(1),
        unit: unit_of.map(unit),
        system: key == 0,
        name: format!("Account {n}"),
        public_key: nkey('A', key),
        signing_keys,
        jetstream: key != 0,
        jwt: jwt(1),
    }
}

fn create_user(n: u128, a: u128, p: u128, key: usize, signer: String) -> Command {
    Command::CreateNatsUser {
        id: nats_user(n),
        account: account(a),
        person: person(p),
        name: format!("user{n}@acme.example"),
        public_key: nkey('U', key),
        signer,
        jwt: jwt(2),
    }
}

fn rotate(owner: NatsOwner, old_key: String, new_key: NatsSigningKey, reissued: Vec<NatsReissued>) -> Command {
    Command::RotateNatsSigningKey { org: org(1), owner, old_key, new_key, reissued }
}

fn reissue(entity: NatsEntity, n: u8) -> NatsReissued {
    NatsReissued { entity, jwt: jwt(n) }
}

/// The world, with organization 1 bootstrapped (operator 1: key O0, signing key O1; system
/// account 10: key A0, signing key A1; organization account 1: key A2, signing key A3), an
/// account for unit 1 (account 2: key A4, plain signing key A5, scoped signing key A6 for
/// role `ops`), and Ann's user (user 1, key U1) signed by A5.
fn nats_world() -> Vec<Command> {
    let mut given = world();
    given.extend([
        create_operator(),
        create_account(10, None, 0, vec![plain(nkey('A', 1))]),
        create_account(1, None, 2, vec![plain(nkey('A', 3))]),
        create_account(2, Some(1), 4, vec![plain(nkey('A', 5)), scoped(nkey('A', 6), "ops")]),
        create_user(1, 2, 1, 1, nkey('A', 5)),
    ]);
    given
}

/// `nats_world` and a second person, Bob, in unit 2 without a user.
fn nats_world_with_bob() -> Vec<Command> {
    let mut given = nats_world();
    given.push(add_person(2, 1, "bob@acme.example", &[2]));
    given
}

/// `nats_world` after the rotation of account 2's plain signing key A5 to A7.
fn nats_world_rotated() -> Vec<Command> {
    let mut given = nats_world_with_bob();
    given.push(rotate(
        NatsOwner::Account(account(2)),
        nkey('A', 5),
        plain(nkey('A', 7)),
        vec![reissue(NatsEntity::Account(account(2)), 10), reissue(NatsEntity::User(nats_user(1)), 11)],
    ));
    given
}

#[test]
fn a_nats_bootstrap_is_recorded() {
    Scenario::given(&world()).when(create_operator()).then(&[(
        DomainEvent::NatsOperatorCreated(NatsOperatorCreated {
            operator: operator(1),
            org: org(1),
            name: "Acme".into(),
            public_key: nkey('O', 0),
            signing_keys: vec![nkey('O', 1)],
            system_account: nkey('A', 0),
            jwt: jwt(0),
        }),
        1,
    )]);
    let mut given = world();
    given.push(create_operator());
    Scenario::given(&given).when(create_account(10, None, 0, vec![plain(nkey('A', 1))])).then(&[(
        DomainEvent::NatsAccountCreated(NatsAccountCreated {
            account: account(10),
            org: org(1),
            operator: operator(1),
            unit: None,
            system: true,
            name: "Account 10".into(),
            public_key: nkey('A', 0),
            signing_keys: vec![plain(nkey('A', 1))],
            jetstream: false,
            jwt: jwt(1),
        }),
        1,
    )]);
}

#[test]
fn an_organization_is_bootstrapped_once() {
    let mut given = world();
    given.push(create_operator());
    Scenario::given(&given)
        .when(Command::CreateNatsOperator {
            id: operator(2),
            org: org(1),
            name: "Acme again".into(),
            public_key: nkey('O', 7),
            signing_keys: vec![nkey('O', 8)],
            system_account: nkey('A', 20),
            jwt: jwt(3),
        })
        .then_rejected(DomainError::NatsBootstrapped(org(1)));
    Scenario::given(&[]).when(create_operator()).then_rejected(DomainError::UnknownOrganization(org(1)));
}

#[test]
fn accounts_need_a_bootstrapped_organization() {
    Scenario::given(&world())
        .when(create_account(1, None, 2, vec![plain(nkey('A', 3))]))
        .then_rejected(DomainError::NatsNotBootstrapped(org(1)));
}

#[test]
fn a_unit_and_the_organization_have_one_account_each() {
    Scenario::given(&nats_world())
        .when(create_account(3, Some(1), 10, vec![plain(nkey('A', 11))]))
        .then_rejected(DomainError::NatsAccountExists(account(2)));
    Scenario::given(&nats_world())
        .when(create_account(3, None, 10, vec![plain(nkey('A', 11))]))
        .then_rejected(DomainError::NatsAccountExists(account(1)));
    // Another unit gets its own.
    Scenario::given(&nats_world()).when(create_account(3, Some(2), 10, vec![plain(nkey('A', 11))])).then(&[(
        DomainEvent::NatsAccountCreated(NatsAccountCreated {
            account: account(3),
            org: org(1),
            operator: operator(1),
            unit: Some(unit(2)),
            system: false,
            name: "Account 3".into(),
            public_key: nkey('A', 10),
            signing_keys: vec![plain(nkey('A', 11))],
            jetstream: true,
            jwt: jwt(1),
        }),
        1,
    )]);
    // A unit of another organization is refused.
    Scenario::given(&nats_world())
        .when(create_account(3, Some(9), 10, vec![plain(nkey('A', 11))]))
        .then_rejected(DomainError::UnitOfOtherOrganization { unit: unit(9), org: org(1) });
}

#[test]
fn the_system_account_is_the_one_the_operator_names_created_once() {
    let why = "the system account is the one the operator names, created once, without a unit";
    let mut given = world();
    given.push(create_operator());
    // Another key than the operator's system account.
    let mut other = create_account(10, None, 0, vec![plain(nkey('A', 1))]);
    if let Command::CreateNatsAccount { public_key, .. } = &mut other {
        *public_key = nkey('A', 12);
    }
    Scenario::given(&given).when(other).then_rejected(DomainError::BadNatsRecord(why));
    // With a unit.
    Scenario::given(&given)
        .when(create_account(10, Some(1), 0, vec![plain(nkey('A', 1))]))
        .then_rejected(DomainError::BadNatsRecord(why));
    // Twice.
    Scenario::given(&nats_world())
        .when(create_account(11, None, 0, vec![plain(nkey('A', 12))]))
        .then_rejected(DomainError::BadNatsRecord(why));
}

#[test]
fn a_user_is_signed_by_a_current_signing_key_of_its_account() {
    // A scoped key records its role.
    Scenario::given(&nats_world_with_bob()).when(create_user(2, 2, 2, 2, nkey('A', 6))).then(&[(
        DomainEvent::NatsUserCreated(NatsUserCreated {
            user: nats_user(2),
            org: org(1),
            account: account(2),
            person: person(2),
            name: "user2@acme.example".into(),
            public_key: nkey('U', 2),
            signer: nkey('A', 6),
            role: Some("ops".into()),
            jwt: jwt(2),
        }),
        1,
    )]);
    // A key of another account, and a key of no account.
    for stranger in [nkey('A', 3), nkey('A', 20)] {
        Scenario::given(&nats_world_with_bob())
            .when(create_user(2, 2, 2, 2, stranger.clone()))
            .then_rejected(DomainError::NatsUnknownSigningKey(stranger.clone()));
    }
}

#[test]
fn people_have_no_users_in_the_system_account() {
    Scenario::given(&nats_world_with_bob())
        .when(create_user(2, 10, 2, 2, nkey('A', 1)))
        .then_rejected(DomainError::NatsSystemAccount(account(10)));
}

#[test]
fn a_person_has_one_user() {
    Scenario::given(&nats_world())
        .when(create_user(2, 1, 1, 2, nkey('A', 3)))
        .then_rejected(DomainError::NatsUserExists { person: person(1), user: nats_user(1) });
}

#[test]
fn users_need_an_existing_account_and_a_person_of_its_organization() {
    Scenario::given(&nats_world_with_bob())
        .when(create_user(2, 7, 2, 2, nkey('A', 5)))
        .then_rejected(DomainError::UnknownNatsAccount(account(7)));
    let mut given = nats_world();
    given.push(add_person(6, 2, "gil@globex.example", &[9]));
    Scenario::given(&given)
        .when(create_user(2, 2, 6, 2, nkey('A', 5)))
        .then_rejected(DomainError::BadNatsRecord("the person and the account belong to different organizations"));
}

#[test]
fn a_retired_key_signs_no_more_users() {
    Scenario::given(&nats_world_rotated())
        .when(create_user(2, 2, 2, 2, nkey('A', 5)))
        .then_rejected(DomainError::NatsRetiredKey(nkey('A', 5)));
    // Its replacement does.
    Scenario::given(&nats_world_rotated()).when(create_user(2, 2, 2, 2, nkey('A', 7))).then(&[(
        DomainEvent::NatsUserCreated(NatsUserCreated {
            user: nats_user(2),
            org: org(1),
            account: account(2),
            person: person(2),
            name: "user2@acme.example".into(),
            public_key: nkey('U', 2),
            signer: nkey('A', 7),
            role: None,
            jwt: jwt(2),
        }),
        1,
    )]);
}

#[test]
fn a_user_is_revoked_once() {
    let revoke = |n: u8| Command::RevokeNatsUser { user: nats_user(1), revoked_at: 1_800_000_000, account_jwt: jwt(n) };
    Scenario::given(&nats_world()).when(revoke(4)).then(&[(
        DomainEvent::NatsUserRevoked(NatsUserRevoked {
            user: nats_user(1),
            org: org(1),
            account: account(2),
            revoked_at: 1_800_000_000,
            account_jwt: jwt(4),
        }),
        2,
    )]);
    let mut given = nats_world();
    given.push(revoke(4));
    Scenario::given(&given).when(revoke(5)).then_rejected(DomainError::NatsUserRevoked(nats_user(1)));
    Scenario::given(&world()).when(revoke(4)).then_rejected(DomainError::UnknownNatsUser(nats_user(1)));
}

#[test]
fn a_rotation_replaces_a_current_key_by_a_fresh_one_of_the_same_role() {
    let reissued = vec![reissue(NatsEntity::Account(account(2)), 10), reissue(NatsEntity::User(nats_user(1)), 11)];
    Scenario::given(&nats_world())
        .when(rotate(NatsOwner::Account(account(2)), nkey('A', 5), plain(nkey('A', 7)), reissued.clone()))
        .then(&[(
            DomainEvent::NatsSigningKeyRotated(NatsSigningKeyRotated {
                org: org(1),
                owner: NatsOwner::Account(account(2)),
                old_key: nkey('A', 5),
                new_key: plain(nkey('A', 7)),
                reissued,
            }),
            2,
        )]);
    // An operator's signing key, re-issuing the accounts it signed.
    let reissued = vec![reissue(NatsEntity::Operator(operator(1)), 12), reissue(NatsEntity::Account(account(1)), 13)];
    Scenario::given(&nats_world())
        .when(rotate(NatsOwner::Operator(operator(1)), nkey('O', 1), plain(nkey('O', 2)), reissued.clone()))
        .then(&[(
            DomainEvent::NatsSigningKeyRotated(NatsSigningKeyRotated {
                org: org(1),
                owner: NatsOwner::Operator(operator(1)),
                old_key: nkey('O', 1),
                new_key: plain(nkey('O', 2)),
                reissued,
            }),
            2,
        )]);
    // The role is kept.
    Scenario::given(&nats_world())
        .when(rotate(NatsOwner::Account(account(2)), nkey('A', 6), plain(nkey('A', 7)), vec![]))
        .then_rejected(DomainError::BadNatsRecord("the new signing key must keep the old key's role"));
    Scenario::given(&nats_world())
        .when(rotate(NatsOwner::Account(account(2)), nkey('A', 5), scoped(nkey('A', 7), "ops"), vec![]))
        .then_rejected(DomainError::BadNatsRecord("the new signing key must keep the old key's role"));
    // Only a key of the owner.
    Scenario::given(&nats_world())
        .when(rotate(NatsOwner::Account(account(2)), nkey('A', 3), plain(nkey('A', 7)), vec![]))
        .then_rejected(DomainError::NatsUnknownSigningKey(nkey('A', 3)));
    Scenario::given(&nats_world())
        .when(rotate(NatsOwner::Account(account(7)), nkey('A', 5), plain(nkey('A', 7)), vec![]))
        .then_rejected(DomainError::UnknownNatsAccount(account(7)));
    Scenario::given(&nats_world())
        .when(rotate(NatsOwner::Operator(operator(7)), nkey('O', 1), plain(nkey('O', 2)), vec![]))
        .then_rejected(DomainError::BadNatsRecord("the operator is not the organization's"));
}

#[test]
fn a_retired_key_is_not_rotated_again() {
    Scenario::given(&nats_world_rotated())
        .when(rotate(NatsOwner::Account(account(2)), nkey('A', 5), plain(nkey('A', 8)), vec![]))
        .then_rejected(DomainError::NatsRetiredKey(nkey('A', 5)));
}

#[test]
fn nats_keys_and_jwt_cids_must_be_well_formed() {
    let malformed = |what| DomainError::MalformedNatsKey { what };
    let operator_with =
        |public_key: String, signing_key: String, system_account: String, cid: String| Command::CreateNatsOperator {
            id: operator(1),
            org: org(1),
            name: "Acme".into(),
            public_key,
            signing_keys: vec![signing_key],
            system_account,
            jwt: cid,
        };
    let (o0, o1, a0) = (nkey('O', 0), nkey('O', 1), nkey('A', 0));
    for (command, error) in [
        (operator_with(nkey('A', 9), o1.clone(), a0.clone(), jwt(0)), malformed("operator key")),
        (operator_with(o0[..55].to_owned(), o1.clone(), a0.clone(), jwt(0)), malformed("operator key")),
        (operator_with(o0.to_lowercase(), o1.clone(), a0.clone(), jwt(0)), malformed("operator key")),
        (operator_with(o0.replace('A', "1"), o1.clone(), a0.clone(), jwt(0)), malformed("operator key")),
        (operator_with(o0.clone(), o1.clone(), nkey('U', 0), jwt(0)), malformed("system account key")),
        (operator_with(o0.clone(), format!("{o1}A"), a0.clone(), jwt(0)), malformed("operator signing key")),
        (operator_with(o0.clone(), o1.clone(), a0.clone(), "QmNotACidV1".into()), DomainError::MalformedJwtCid),
        (operator_with(o0.clone(), o1.clone(), a0.clone(), "bafkrei".into()), DomainError::MalformedJwtCid),
        (operator_with(o0.clone(), o1.clone(), a0.clone(), "bafkreiABC123xyz".into()), DomainError::MalformedJwtCid),
    ] {
        Scenario::given(&world()).when(command).then_rejected(error);
    }
    Scenario::given(&nats_world())
        .when(create_account(3, Some(2), 10, vec![plain(nkey('O', 11))]))
        .then_rejected(malformed("account signing key"));
    let mut user = create_user(2, 2, 2, 2, nkey('A', 5));
    if let Command::CreateNatsUser { public_key, .. } = &mut user {
        *public_key = nkey('A', 20);
    }
    Scenario::given(&nats_world_with_bob()).when(user).then_rejected(malformed("user key"));
    let mut user = create_user(2, 2, 2, 2, nkey('A', 5));
    if let Command::CreateNatsUser { jwt, .. } = &mut user {
        *jwt = "not a cid".into();
    }
    Scenario::given(&nats_world_with_bob()).when(user).then_rejected(DomainError::MalformedJwtCid);
    Scenario::given(&nats_world())
        .when(Command::RevokeNatsUser { user: nats_user(1), revoked_at: 1, account_jwt: "bafy".into() })
        .then_rejected(DomainError::MalformedJwtCid);
    Scenario::given(&nats_world())
        .when(rotate(NatsOwner::Operator(operator(1)), nkey('O', 1), plain(nkey('A', 20)), vec![]))
        .then_rejected(malformed("new signing key"));
    Scenario::given(&nats_world())
        .when(rotate(
            NatsOwner::Account(account(2)),
            nkey('A', 5),
            plain(nkey('A', 7)),
            vec![NatsReissued { entity: NatsEntity::Account(account(2)), jwt: "B".repeat(59) }],
        ))
        .then_rejected(DomainError::MalformedJwtCid);
}

#[test]
fn a_nats_public_key_is_recorded_once() {
    let taken = |n: usize| DomainError::NatsKeyTaken(nkey('A', n));
    // An account key that is a signing key already, a signing key that is an account key.
    Scenario::given(&nats_world())
        .when(create_account(3, Some(2), 5, vec![plain(nkey('A', 11))]))
        .then_rejected(taken(5));
    Scenario::given(&nats_world())
        .when(create_account(3, Some(2), 10, vec![plain(nkey('A', 2))]))
        .then_rejected(taken(2));
    // The same key twice in one command.
    Scenario::given(&nats_world())
        .when(create_account(3, Some(2), 10, vec![plain(nkey('A', 11)), scoped(nkey('A', 11), "ops")]))
        .then_rejected(taken(11));
    Scenario::given(&nats_world())
        .when(create_account(3, Some(2), 10, vec![plain(nkey('A', 10))]))
        .then_rejected(taken(10));
    // The system account's key is only ever the system account's.
    Scenario::given(&nats_world()).when(create_account(3, Some(2), 0, vec![plain(nkey('A', 11))])).then_rejected(
        DomainError::BadNatsRecord("the system account is the one the operator names, created once, without a unit"),
    );
    // A user key taken by another user.
    Scenario::given(&nats_world_with_bob())
        .when(create_user(2, 2, 2, 1, nkey('A', 5)))
        .then_rejected(DomainError::NatsKeyTaken(nkey('U', 1)));
    // A rotation to a key in use, or to a retired one.
    Scenario::given(&nats_world())
        .when(rotate(NatsOwner::Account(account(2)), nkey('A', 5), plain(nkey('A', 3)), vec![]))
        .then_rejected(taken(3));
    Scenario::given(&nats_world_rotated())
        .when(rotate(NatsOwner::Account(account(2)), nkey('A', 7), plain(nkey('A', 5)), vec![]))
        .then_rejected(taken(5));
    // An operator that names one key twice.
    Scenario::given(&world())
        .when(Command::CreateNatsOperator {
            id: operator(1),
            org: org(1),
            name: "Acme".into(),
            public_key: nkey('O', 0),
            signing_keys: vec![nkey('O', 0)],
            system_account: nkey('A', 0),
            jwt: jwt(0),
        })
        .then_rejected(DomainError::NatsKeyTaken(nkey('O', 0)));
    // Another organization's keys are taken too.
    let mut given = nats_world();
    given.push(Command::CreateNatsOperator {
        id: operator(2),
        org: org(2),
        name: "Globex".into(),
        public_key: nkey('O', 20),
        signing_keys: vec![nkey('O', 21)],
        system_account: nkey('A', 20),
        jwt: jwt(0),
    });
    Scenario::given(&given)
        .when(Command::CreateNatsAccount {
            id: account(20),
            org: org(2),
            unit: Some(unit(9)),
            system: false,
            name: "Sales".into(),
            public_key: nkey('A', 4),
            signing_keys: vec![plain(nkey('A', 21))],
            jetstream: true,
            jwt: jwt(1),
        })
        .then_rejected(taken(4));
}

#[test]
fn evolving_a_rotation_updates_keys_jwts_and_signers() {
    let mut b = fixtures::HistoryBuilder::new();
    for command in nats_world_rotated() {
        b.run(&command).unwrap_or_else(|e| panic!("{command:?} failed: {e}"));
    }
    let state = b.state();
    let account2 = &state.nats_accounts[&account(2)];
    assert_eq!(account2.signing_keys, vec![plain(nkey('A', 7)), scoped(nkey('A', 6), "ops")]);
    assert_eq!(account2.jwt, jwt(10));
    assert_eq!(account2.version, 2);
    let user = &state.nats_users[&nats_user(1)];
    assert_eq!((user.signer.clone(), user.jwt.clone(), user.version), (nkey('A', 7), jwt(11), 1));
    assert_eq!(
        state.retired_nats_keys.get(&nkey('A', 5)),
        Some(&RetiredNatsKey { org: org(1), owner: NatsOwner::Account(account(2)), role: None })
    );
    // Untouched: the other accounts and the operator.
    assert_eq!(state.nats_accounts[&account(1)].jwt, jwt(1));
    assert_eq!(state.nats_operators[&operator(1)].signing_keys, vec![nkey('O', 1)]);

    // An operator rotation re-issuing an account; a revocation re-issuing the user's account.
    b.run(&rotate(
        NatsOwner::Operator(operator(1)),
        nkey('O', 1),
        plain(nkey('O', 2)),
        vec![reissue(NatsEntity::Operator(operator(1)), 12), reissue(NatsEntity::Account(account(1)), 13)],
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    b.run(&Command::RevokeNatsUser { user: nats_user(1), revoked_at: 1_800_000_000, account_jwt: jwt(14) })
        .unwrap_or_else(|e| panic!("{e}"));
    let state = b.state();
    let operator1 = &state.nats_operators[&operator(1)];
    assert_eq!(
        (operator1.signing_keys.clone(), operator1.jwt.clone(), operator1.version),
        (vec![nkey('O', 2)], jwt(12), 2)
    );
    assert_eq!(state.nats_accounts[&account(1)].jwt, jwt(13));
    assert_eq!(state.nats_accounts[&account(2)].jwt, jwt(14));
    assert_eq!(state.nats_users[&nats_user(1)].revoked_at, Some(1_800_000_000));
    assert!(state.retired_nats_keys.contains_key(&nkey('O', 1)));
}
