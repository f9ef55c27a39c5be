//! Tests of the NATS module against public Go-produced fixtures, round trips, golden
//! artifacts and tampering.

use proptest::prelude::*;

use super::fixtures::*;
use super::jwt::{claims_json, encode_claims_json, jti_input};
use super::*;

// ---------------------------------------------------------------------------------------------
// Public fixtures: our jti, verification and encoding equal the Go library's.
// ---------------------------------------------------------------------------------------------

fn one_creds_user_jwt() -> &'static str {
    ONE_CREDS.lines().nth(1).unwrap()
}

fn all_fixture_tokens() -> Vec<(&'static str, &'static str)> {
    vec![
        ("nats-server one.creds user", one_creds_user_jwt()),
        ("maczh operator", MACZH_OPERATOR),
        ("maczh SYS", MACZH_SYS),
        ("nst operator", NST_OPERATOR),
        ("nst SYS", NST_SYS),
        ("nst account C", NST_ACCOUNT_C),
        ("nst sentinel user", NST_SENTINEL_USER),
        ("k8s operator", K8S_OPERATOR),
        ("k8s SYS", K8S_SYS),
    ]
}

fn jti_of(any: &AnyJwt) -> (String, String) {
    match any {
        AnyJwt::Operator(j) => (j.claims().id.clone(), compute_jti(j.claims())),
        AnyJwt::Account(j) => (j.claims().id.clone(), compute_jti(j.claims())),
        AnyJwt::User(j) => (j.claims().id.clone(), compute_jti(j.claims())),
    }
}

#[test]
fn jti_recomputed_from_public_go_tokens_equals_theirs() {
    assert_eq!(all_fixture_tokens().len(), JTI_FIXTURES.len());
    for ((name, token), (expected_name, expected_jti)) in all_fixture_tokens().into_iter().zip(JTI_FIXTURES) {
        assert_eq!(name, *expected_name);
        let any = decode_any(token).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (written, recomputed) = jti_of(&any);
        assert_eq!(written, *expected_jti, "{name}: the fixture's own jti");
        assert_eq!(recomputed, *expected_jti, "{name}: our jti");
    }
}

#[test]
fn public_go_tokens_verify_and_any_altered_byte_is_refused() {
    for (name, token) in all_fixture_tokens() {
        decode_any(token).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Alter one character in each of the three parts (not the last one of a part, whose
        // low bits base64 may ignore).
        let dots: Vec<usize> = token.match_indices('.').map(|(i, _)| i).collect();
        for at in [5, dots[0] + 10, dots[1] + 10, dots[0] + 60] {
            let mut bytes = token.as_bytes().to_vec();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            assert!(decode_any(&altered).is_err(), "{name}: altered at {at} still decodes");
        }
    }
}

#[test]
fn current_go_tokens_re_encode_to_the_same_claims_bytes() {
    // Decoding into our typed claims and encoding again gives the bytes Go wrote: same field
    // order, same omissions, same escaping (`\u003e`), same sorting.
    let tokens =
        [one_creds_user_jwt(), MACZH_OPERATOR, MACZH_SYS, NST_OPERATOR, NST_SYS, NST_ACCOUNT_C, NST_SENTINEL_USER];
    for token in tokens {
        let original = claims_json(token).unwrap();
        let ours = match decode_any(token).unwrap() {
            AnyJwt::Operator(j) => encode_claims_json(j.claims()),
            AnyJwt::Account(j) => encode_claims_json(j.claims()),
            AnyJwt::User(j) => encode_claims_json(j.claims()),
        }
        .unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(original).unwrap());
    }
}

#[test]
fn worked_example_of_the_format_document() {
    // docs/formats/nats-jwt.md §10, step by step.
    let user: Jwt<User> = decode(one_creds_user_jwt()).unwrap();
    let input = jti_input(user.claims());
    assert_eq!(
        std::str::from_utf8(&input).unwrap(),
        concat!(
            r#"{"iat":1616247232,"iss":"ABVRZKJ6Z7NIMPIYJRCHEYFRUO7ENN6NWOKQDFLFDFVPSM36UPX2UCPP","name":"one","#,
            r#""sub":"UDCIBGGGHCJBQPOO4SCJJBHZDR37NQGGCIWMNG2DDAKJ6WMKBMAKXIMO"}"#
        )
    );
    assert_eq!(input.len(), 161);
    use sha2::Digest;
    let digest = sha2::Sha512_256::digest(&input);
    assert_eq!(
        data_encoding::HEXLOWER.encode(&digest),
        "3104f9a4e764b6c1314b9bcd8301dce9a1e6fa0fc5a1c33d602077ba8a296c6b"
    );
    assert_eq!(data_encoding::BASE32_NOPAD.encode(&digest), "GECPTJHHMS3MCMKLTPGYGAO45GQ6N6QPYWQ4GPLAEB33VCRJNRVQ");
    assert_eq!(user.claims().id, "GECPTJHHMS3MCMKLTPGYGAO45GQ6N6QPYWQ4GPLAEB33VCRJNRVQ");
}

#[test]
fn public_chains_are_vouched_for() {
    let op: Jwt<Operator> = decode(MACZH_OPERATOR).unwrap();
    let sys: Jwt<Account> = decode(MACZH_SYS).unwrap();
    assert!(op.claims().nats.strict_signing_key_usage);
    assert_eq!(op.claims().nats.system_account, sys.subject());
    assert!(op.did_sign(&sys), "signed by the operator's signing key");
    assert_eq!(sys.claims().nats.exports[0].subject, "$SYS.ACCOUNT.*.>");

    let op: Jwt<Operator> = decode(NST_OPERATOR).unwrap();
    let c: Jwt<Account> = decode(NST_ACCOUNT_C).unwrap();
    let sentinel: Jwt<User> = decode(NST_SENTINEL_USER).unwrap();
    assert!(op.did_sign(&decode(NST_SYS).unwrap()));
    assert!(op.did_sign(&c), "not strict: the identity key may sign");
    assert!(c.did_sign(&sentinel));
    assert_eq!(sentinel.claims().nats.issuer_account, c.subject());
    assert!(sentinel.claims().nats.permission_limits.is_empty(), "scoped users carry no limits");
    let scope = c.claims().nats.scope(sentinel.issuer()).expect("issued by a scoped key");
    assert_eq!(scope.role, "sentinel");
    assert_eq!(scope.template.permissions.publish.deny, vec![">".to_owned()]);
    assert!(scope.template.bearer_token);

    let op: Jwt<Operator> = decode(K8S_OPERATOR).unwrap();
    assert!(op.did_sign(&decode(K8S_SYS).unwrap()));
    // The other operator does not vouch for it.
    assert!(!decode::<Operator>(NST_OPERATOR).unwrap().did_sign(&decode(K8S_SYS).unwrap()));
}

#[test]
fn public_creds_file_parses_and_we_write_it_byte_for_byte() {
    let (user, seed) = parse_creds(ONE_CREDS).unwrap();
    assert_eq!(user.claims().name, "one");
    assert_eq!(NatsKeyPair::from_seed(&seed).unwrap().public_key(), user.subject());
    let ours = creds_file(user.token(), &seed).unwrap();
    assert_eq!(std::str::from_utf8(ours.expose_secret()).unwrap(), ONE_CREDS);
    assert!(ours.expose_secret().ends_with(b"\n"));
    assert_eq!(format!("{ours:?}"), "CredsFile([redacted])");
}

// ---------------------------------------------------------------------------------------------
// Our own hierarchy.
// ---------------------------------------------------------------------------------------------

const IAT: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn key(kind: NKeyKind, n: u8) -> NatsKeyPair {
    let mut seed = [n; 32];
    seed[0] = kind.prefix() as u8;
    NatsKeyPair::from_raw_seed(kind, &seed).unwrap()
}

struct Hierarchy {
    operator: Jwt<Operator>,
    sys: Jwt<Account>,
    eng: Jwt<Account>,
    alice: Jwt<User>,
    bob: Jwt<User>,
    carol: Jwt<User>,
}

fn template() -> UserPermissionLimits {
    let mut t = UserPermissionLimits::unlimited();
    t.permissions.publish.allow = vec!["eng.>".into(), "_INBOX.>".into()];
    t.permissions.subscribe.allow = vec!["eng.>".into(), "_INBOX.>".into()];
    t
}

fn hierarchy() -> Hierarchy {
    let (op_id, op_sk) = (key(NKeyKind::Operator, 1), key(NKeyKind::Operator, 2));
    let (sys_id, eng_id) = (key(NKeyKind::Account, 3), key(NKeyKind::Account, 4));
    let (eng_sk, eng_scoped) = (key(NKeyKind::Account, 5), key(NKeyKind::Account, 6));
    let operator = Operator {
        signing_keys: vec![op_sk.public_key().into()],
        system_account: sys_id.public_key().into(),
        strict_signing_key_usage: true,
        ..Operator::default()
    };
    let operator = encode(Claims::new("Acme", op_id.public_key(), operator), &op_id, IAT).unwrap();
    let sys =
        encode(Claims::new("SYS", sys_id.public_key(), Account::with_limits(OperatorLimits::unlimited())), &op_sk, IAT)
            .unwrap();
    let mut eng = Account::with_limits(OperatorLimits::with_jetstream(JetStreamLimits {
        memory_storage: 256 << 20,
        disk_storage: 1 << 30,
        ..JetStreamLimits::UNLIMITED
    }));
    eng.signing_keys = vec![
        SigningKey::Scoped(UserScope::new(eng_scoped.public_key(), "engineer", template())),
        SigningKey::Plain(eng_sk.public_key().into()),
    ];
    let eng = encode(Claims::new("Engineering", eng_id.public_key(), eng), &op_sk, IAT).unwrap();
    let user = |n: u8, nats: User, signer: &NatsKeyPair| {
        let name = ["", "alice", "bob", "carol"][usize::from(n - 10)];
        encode(Claims::new(name, key(NKeyKind::User, n).public_key(), nats), signer, IAT + 1).unwrap()
    };
    let alice = user(11, User::new(UserPermissionLimits::unlimited()), &eng_id);
    let bob = user(12, User::issued_by_signing_key(UserPermissionLimits::unlimited(), eng_id.public_key()), &eng_sk);
    let carol = user(13, User::scoped(eng_id.public_key()), &eng_scoped);
    Hierarchy { operator, sys, eng, alice, bob, carol }
}

#[test]
fn our_hierarchy_round_trips_and_chains() {
    let h = hierarchy();
    assert!(h.operator.did_sign(&h.sys) && h.operator.did_sign(&h.eng));
    for user in [&h.alice, &h.bob, &h.carol] {
        assert!(h.eng.did_sign(user), "{}", user.claims().name);
        assert!(!h.sys.did_sign(user));
        assert!(user.jti_matches());
        assert_eq!(decode::<User>(user.token()).unwrap(), *user);
    }
    assert_eq!(decode::<Operator>(h.operator.token()).unwrap(), h.operator);
    assert_eq!(decode::<Account>(h.eng.token()).unwrap(), h.eng);
    // Signing keys are written sorted by key, as Go does.
    let keys: Vec<&str> = h.eng.claims().nats.signing_keys.iter().map(SigningKey::key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(h.eng.claims().nats.limits.jetstream.is_enabled());
    assert!(!h.sys.claims().nats.limits.jetstream.is_enabled());
    // With strict signing key usage the identity key may not sign accounts.
    let op_id = key(NKeyKind::Operator, 1);
    let by_identity =
        encode(Claims::new("X", key(NKeyKind::Account, 9).public_key(), Account::default()), &op_id, IAT).unwrap();
    assert!(!h.operator.did_sign(&by_identity));
    // Strict usage applies to users too: alice, signed by the account's identity key, is
    // vouched for by her account but not trusted under this operator; bob and carol are.
    assert!(h.eng.did_sign(&h.alice));
    assert!(!h.operator.trusts(&h.eng, &h.alice));
    assert!(h.operator.trusts(&h.eng, &h.bob) && h.operator.trusts(&h.eng, &h.carol));
    assert!(!h.operator.trusts(&h.sys, &h.bob));
    // A user of the scoped key that sets limits of its own is refused by the server.
    let mut greedy = User::scoped(h.eng.subject());
    greedy.permission_limits = UserPermissionLimits::unlimited();
    let greedy =
        encode(Claims::new("greedy", key(NKeyKind::User, 14).public_key(), greedy), &key(NKeyKind::Account, 6), IAT)
            .unwrap();
    assert!(h.eng.did_sign(&greedy));
    assert!(!h.operator.trusts(&h.eng, &greedy));
}

#[test]
fn header_and_nats_type_and_version_are_nats_jwt_v2() {
    let h = hierarchy();
    let header = data_encoding::BASE64URL_NOPAD.decode(h.alice.token().split('.').next().unwrap().as_bytes()).unwrap();
    assert_eq!(header, br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let claims: serde_json::Value = serde_json::from_slice(&claims_json(h.alice.token()).unwrap()).unwrap();
    assert_eq!(claims["nats"]["type"], "user");
    assert_eq!(claims["nats"]["version"], 2);
    for field in ["jti", "iat", "iss", "name", "sub"] {
        assert!(claims.get(field).is_some(), "{field}");
    }
    assert_eq!(claims["nats"]["subs"], -1);
    assert_eq!(claims["nats"]["data"], -1);
    assert_eq!(claims["nats"]["payload"], -1);
    assert!(claims["nats"].get("bearer_token").is_none(), "false is omitted, as in Go");
}

#[test]
fn golden_account_claims_json() {
    // The account JSON of docs/formats/nats-jwt.md: every limit explicit, JetStream enabled,
    // one scoped and one plain signing key, one revocation.
    let mut h = hierarchy();
    let (_, mut claims) = h.eng.into_parts();
    claims.nats.revoke(h.bob.subject(), IAT + 1);
    let op_sk = key(NKeyKind::Operator, 2);
    h.eng = encode(claims, &op_sk, IAT + 2).unwrap();
    let json = String::from_utf8(claims_json(h.eng.token()).unwrap()).unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"jti":"Q3B4FZRVY6LENRYKCLKKWIXUIB3DA6ALH7ZO54UYL3LA4S62IUXQ","iat":1767225602,"#,
            r#""iss":"ODNR72DGQX3B6XNBV3APLBI7RTE7CYDSAZVUYOO26SAXRCUFZ7W7SNX3","name":"Engineering","#,
            r#""sub":"ADPVPBUTTPXVWBKM4AEDIRUZFLINMMB3CFXT5YEBO3IN2C6D237UGSHE","nats":{"limits":{"subs":-1,"#,
            r#""data":-1,"payload":-1,"imports":-1,"exports":-1,"wildcards":true,"conn":-1,"leaf":-1,"#,
            r#""mem_storage":268435456,"disk_storage":1073741824,"streams":-1,"consumer":-1,"#,
            r#""max_ack_pending":-1,"mem_max_stream_bytes":-1,"disk_max_stream_bytes":-1},"#,
            r#""signing_keys":["AAJDLSMSNPSNQZOUYN27VFF2HA5RD77UEEOAMFKLXR6WDVSFHXJN6AZ7",{"kind":"user_scope","#,
            r#""key":"ADBKYOHC7CTIZI33JN2ZBD2MC6K4KSVWF4F62GVZMTRLAEUUX5UOO3A5","role":"engineer","#,
            r#""template":{"pub":{"allow":["eng.\u003e","_INBOX.\u003e"]},"sub":{"allow":["eng.\u003e","#,
            r#""_INBOX.\u003e"]},"subs":-1,"data":-1,"payload":-1},"description":""}],"#,
            r#""revocations":{"UC6BUQFX2BTQCJW4JGFKTCUW4LJCTZDXEFOIAS33NXASZ6UB4M56ZMSY":1767225601},"#,
            r#""default_permissions":{"pub":{},"sub":{}},"authorization":{},"type":"account","version":2}}"#
        )
    );
    assert!(h.eng.claims().nats.is_revoked(h.bob.subject(), IAT + 1));
    assert!(!h.eng.claims().nats.is_revoked(h.bob.subject(), IAT + 2));
    assert!(!h.eng.claims().nats.is_revoked(h.alice.subject(), IAT + 1));
}

#[test]
fn golden_user_token_is_stable() {
    // ed25519 signatures are deterministic: fixed seeds and time give a fixed token. A change
    // here is a format change.
    let h = hierarchy();
    assert_eq!(
        h.alice.token(),
        concat!(
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.",
            "eyJqdGkiOiJQTUpEUDRCWUVYUFNJWFdINkVWVEpaMkVTVENPQzUyV083VkZQRUxLSFZWM01FRFpBRVFBIiwiaWF0IjoxNzY3MjI1NjAxLCJpc3MiOiJBRFBWUEJVVFRQWFZXQktNNEFFRElSVVpGTElOTU1CM0NGWFQ1WUVCTzNJTjJDNkQyMzdVR1NIRSIsIm5hbWUiOiJhbGljZSIsInN1YiI6IlVDM0RNUkhUV1NLV0c2TkJJU0NLRk9UVU9UNFk3MkxDNU9ZNVFUVEhNQVNJNTZMUEVSVFJOTllOIiwibmF0cyI6eyJwdWIiOnt9LCJzdWIiOnt9LCJzdWJzIjotMSwiZGF0YSI6LTEsInBheWxvYWQiOi0xLCJ0eXBlIjoidXNlciIsInZlcnNpb24iOjJ9fQ.",
            "3Hm2uBMZfovQ1-FGLqwHYDAk3cTLJKxa_uPGj8IPlMZayi4HY5o_TtaK_R6AMTPu1bi2kfMhgxw2S2LoVFhxCg"
        )
    );
}

#[test]
fn jti_is_the_base32_sha512_256_of_the_registered_claims_only() {
    let h = hierarchy();
    let claims = h.alice.claims();
    let input = String::from_utf8(jti_input(claims)).unwrap();
    assert_eq!(
        input,
        format!(r#"{{"iat":{},"iss":"{}","name":"alice","sub":"{}"}}"#, IAT + 1, claims.issuer, claims.subject)
    );
    // The nats object is not hashed: changing it keeps the jti.
    let mut other = claims.clone();
    other.nats.permission_limits.permissions.publish.allow.push("x".into());
    assert_eq!(compute_jti(&other), claims.id);
    // Every registered claim is.
    for change in [
        |c: &mut Claims<User>| c.name.push('!'),
        |c: &mut Claims<User>| c.issued_at += 1,
        |c: &mut Claims<User>| c.expires = 5,
        |c: &mut Claims<User>| c.not_before = 5,
        |c: &mut Claims<User>| c.audience = "x".into(),
    ] {
        let mut changed = claims.clone();
        change(&mut changed);
        assert_ne!(compute_jti(&changed), claims.id);
    }
    assert_eq!(claims.id.len(), 52);
}

// ---------------------------------------------------------------------------------------------
// Refusals.
// ---------------------------------------------------------------------------------------------

fn resign(token: &str, new_claims_json: &[u8], signer: &NatsKeyPair) -> String {
    let header = token.split('.').next().unwrap();
    let signed = format!("{header}.{}", data_encoding::BASE64URL_NOPAD.encode(new_claims_json));
    let sig = signer.sign(signed.as_bytes()).unwrap();
    format!("{signed}.{}", data_encoding::BASE64URL_NOPAD.encode(&sig))
}

#[test]
fn forged_and_malformed_tokens_are_refused() {
    let h = hierarchy();
    let json = claims_json(h.alice.token()).unwrap();
    // Signed by another account key while claiming the real issuer.
    let forged = resign(h.alice.token(), &json, &key(NKeyKind::Account, 99));
    assert_eq!(decode::<User>(&forged), Err(NatsError::BadSignature));
    // Claims altered after signing.
    let text = String::from_utf8(json.clone()).unwrap().replace(r#""subs":-1"#, r#""subs":-2"#);
    let parts: Vec<&str> = h.alice.token().split('.').collect();
    let altered = format!("{}.{}.{}", parts[0], data_encoding::BASE64URL_NOPAD.encode(text.as_bytes()), parts[2]);
    assert_eq!(decode::<User>(&altered), Err(NatsError::BadSignature));
    // Wrong kind asked for.
    assert_eq!(
        decode::<Account>(h.alice.token()),
        Err(NatsError::WrongClaimType { expected: NKeyKind::Account, found: NKeyKind::User })
    );
    // Version 1 header and version 1 claims.
    let v1_header = data_encoding::BASE64URL_NOPAD.encode(br#"{"typ":"jwt","alg":"ed25519"}"#);
    assert!(matches!(
        decode_any(&format!("{v1_header}.{}.{}", parts[1], parts[2])),
        Err(NatsError::UnsupportedHeader { .. })
    ));
    let v1 = String::from_utf8(json.clone()).unwrap().replace(r#""version":2"#, r#""version":1"#);
    assert_eq!(
        decode_any(&resign(h.alice.token(), v1.as_bytes(), &key(NKeyKind::Account, 4))),
        Err(NatsError::UnsupportedVersion(1))
    );
    // A user JWT whose issuer is a user key.
    let user_issued = String::from_utf8(json).unwrap().replace(&h.alice.claims().issuer, h.bob.subject());
    assert_eq!(
        decode::<User>(&resign(h.alice.token(), user_issued.as_bytes(), &key(NKeyKind::User, 12))),
        Err(NatsError::WrongIssuer { claim: NKeyKind::User, issuer: NKeyKind::User })
    );
    for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!", "eyJ9.eyJ9.AA"] {
        assert!(decode_any(junk).is_err(), "{junk:?}");
    }
}

#[test]
fn encoding_refuses_keys_that_may_not_sign() {
    let user_key = key(NKeyKind::User, 11);
    let account_key = key(NKeyKind::Account, 4);
    let operator_key = key(NKeyKind::Operator, 1);
    let user = || Claims::new("u", user_key.public_key(), User::new(UserPermissionLimits::unlimited()));
    assert_eq!(
        encode(user(), &operator_key, IAT).unwrap_err(),
        NatsError::WrongIssuer { claim: NKeyKind::User, issuer: NKeyKind::Operator }
    );
    assert!(matches!(
        encode(Claims::new("a", account_key.public_key(), Account::default()), &user_key, IAT),
        Err(NatsError::WrongIssuer { .. })
    ));
    assert!(matches!(
        encode(Claims::new("a", user_key.public_key(), Account::default()), &operator_key, IAT),
        Err(NatsError::InvalidPublicKey { .. })
    ));
    assert!(matches!(encode(user(), &account_key, 0), Err(NatsError::Invalid(_))));
    let mut self_named = user();
    self_named.nats.issuer_account = account_key.public_key().into();
    assert!(matches!(encode(self_named, &account_key, IAT), Err(NatsError::Invalid(_))));
    let bad_sk = Account { signing_keys: vec![SigningKey::Plain(user_key.public_key().into())], ..Account::default() };
    assert!(matches!(
        encode(Claims::new("a", account_key.public_key(), bad_sk), &operator_key, IAT),
        Err(NatsError::InvalidPublicKey { .. })
    ));
}

#[test]
fn creds_for_the_wrong_user_or_a_non_user_jwt_are_refused() {
    let h = hierarchy();
    let bob_seed = key(NKeyKind::User, 12).seed().unwrap();
    assert!(matches!(creds_file(h.alice.token(), &bob_seed), Err(NatsError::InvalidCreds(_))));
    let alice_seed = key(NKeyKind::User, 11).seed().unwrap();
    assert!(matches!(creds_file(h.eng.token(), &alice_seed), Err(NatsError::WrongClaimType { .. })));
    let creds = creds_file(h.alice.token(), &alice_seed).unwrap();
    let text = std::str::from_utf8(creds.expose_secret()).unwrap();
    assert!(text.starts_with("-----BEGIN NATS USER JWT-----\n"));
    assert!(text.ends_with("*************************************************************\n"));
    let (user, seed) = parse_creds(text).unwrap();
    assert_eq!(user, h.alice);
    assert_eq!(seed.expose_secret(), alice_seed.expose_secret());
    assert!(!format!("{creds:?}").contains(alice_seed.expose_secret()));
    assert!(parse_creds(&text.replace(alice_seed.expose_secret(), bob_seed.expose_secret())).is_err());
    assert!(parse_creds("nothing here").is_err());
}

// ---------------------------------------------------------------------------------------------
// Server configuration.
// ---------------------------------------------------------------------------------------------

#[test]
fn server_config_preloads_every_account_with_the_system_account_first() {
    let h = hierarchy();
    let js = JetStreamServerConfig {
        store_dir: "/var/lib/nats \"js\"".into(),
        max_file_store: Some(1 << 30),
        ..Default::default()
    };
    let text = server_config(h.operator.token(), &[h.eng.token(), h.sys.token()], Some(&js)).unwrap();
    let expected = format!(
        "# Operator named Acme\noperator: {}\n# System Account named SYS\nsystem_account: {}\n\n\
         # Every account JWT is preloaded into the memory resolver.\nresolver: MEMORY\nresolver_preload: {{\n    \
         # Account named SYS\n    {}: {}\n    # Account named Engineering\n    {}: {}\n}}\n\n\
         jetstream: {{\n    store_dir: \"/var/lib/nats \\\"js\\\"\"\n    max_file_store: 1073741824\n}}\n",
        h.operator.token(),
        h.sys.subject(),
        h.sys.subject(),
        h.sys.token(),
        h.eng.subject(),
        h.eng.token()
    );
    assert_eq!(text, expected);
    assert!(!server_config(h.operator.token(), &[h.sys.token()], None).unwrap().contains("jetstream"));
}

#[test]
fn server_config_refuses_inconsistent_inputs() {
    let h = hierarchy();
    let err = |accounts: &[&str]| server_config(h.operator.token(), accounts, None).unwrap_err();
    assert!(matches!(err(&[h.eng.token()]), NatsError::ServerConfig(m) if m.contains("system account")));
    assert!(matches!(err(&[h.sys.token(), h.sys.token()]), NatsError::ServerConfig(m) if m.contains("twice")));
    let stranger = encode(
        Claims::new("Stranger", key(NKeyKind::Account, 40).public_key(), Account::default()),
        &key(NKeyKind::Operator, 41),
        IAT,
    )
    .unwrap();
    assert!(
        matches!(err(&[h.sys.token(), stranger.token()]), NatsError::ServerConfig(m) if m.contains("does not vouch"))
    );
    assert!(matches!(err(&[h.sys.token(), h.alice.token()]), NatsError::WrongClaimType { .. }));
    let bad_dir = JetStreamServerConfig { store_dir: "a\nb".into(), ..Default::default() };
    assert!(server_config(h.operator.token(), &[h.sys.token()], Some(&bad_dir)).is_err());
    let no_sys = encode(
        Claims::new("Bare", key(NKeyKind::Operator, 42).public_key(), Operator::default()),
        &key(NKeyKind::Operator, 42),
        IAT,
    )
    .unwrap();
    assert!(
        matches!(server_config(no_sys.token(), &[], None), Err(NatsError::ServerConfig(m)) if m.contains("no system account"))
    );
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any name and time: the token decodes to the same claims, the jti is Go's, and the
    /// claims bytes are our Go-compatible encoding.
    #[test]
    fn encode_decode_round_trip(
        name in "[a-zA-Z0-9 <>&\"\\\\\u{e9}\u{2028}\u{1F600}._-]{0,40}",
        iat in 1i64..4_000_000_000,
        subs in prop_oneof![Just(-1i64), 0i64..1000],
        deny in proptest::collection::vec("[a-z.*>]{1,12}", 0..3),
        seed in any::<[u8; 32]>(),
    ) {
        let account = NatsKeyPair::from_raw_seed(NKeyKind::Account, &seed).unwrap();
        let mut limits = UserPermissionLimits::unlimited();
        limits.limits.nats.subs = subs;
        limits.permissions.subscribe.deny = deny;
        let user = Claims::new(name, key(NKeyKind::User, 7).public_key(), User::new(limits));
        let jwt = encode(user, &account, iat).unwrap();
        let back: Jwt<User> = decode(jwt.token()).unwrap();
        prop_assert_eq!(&back, &jwt);
        prop_assert!(back.jti_matches());
        prop_assert_eq!(claims_json(jwt.token()).unwrap(), encode_claims_json(back.claims()).unwrap());
    }
}
