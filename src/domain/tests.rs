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
