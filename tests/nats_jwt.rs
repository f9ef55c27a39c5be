//! The NATS artifacts we generate, accepted by a real `nats-server`.
//!
//! One organization is generated with `cim_keys::crypto::nats`: an operator (identity key and
//! a signing key, `strict_signing_key_usage`), the system account, an account with JetStream
//! limits and two signing keys (one plain, one scoped with a role template), an account with
//! JetStream unlimited, and users signed by the plain signing key and by the scoped one (and
//! one by the account's identity key, which strict signing key usage forbids). Without the
//! `sync` feature only the offline checks run; with it, a real `nats-server` (2.15.x, on
//! `PATH`: `scripts/test --prerequisites` installs one, `scripts/env` puts it on `PATH`) is
//! started on a free port with our configuration, and clients connect with our creds files:
//! what should be accepted is, and what should be refused is refused.

use std::time::{SystemTime, UNIX_EPOCH};

use cim_keys::crypto::nats::{
    Account, Claims, JetStreamLimits, JetStreamServerConfig, Jwt, NKeyKind, NatsKeyPair, Operator, OperatorLimits,
    SigningKey, User, UserPermissionLimits, UserScope, creds_file, decode, encode, server_config,
};

/// A key whose 32 seed bytes are a fixed pattern (tests may choose their seeds; the product
/// draws them from the OS CSPRNG).
fn key(kind: NKeyKind, n: u8) -> NatsKeyPair {
    let mut seed = [n; 32];
    seed[31] = 0x5a;
    NatsKeyPair::from_raw_seed(kind, &seed).unwrap()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The scoped role's template: the engineering subjects, replies and the user-info service.
fn engineer_template() -> UserPermissionLimits {
    let mut template = UserPermissionLimits::unlimited();
    template.permissions.publish.allow = vec!["eng.>".into(), "$SYS.REQ.USER.INFO".into()];
    template.permissions.subscribe.allow = vec!["eng.>".into(), "_INBOX.>".into()];
    template
}

struct Org {
    op_signing: NatsKeyPair,
    operator: Jwt<Operator>,
    sys: Jwt<Account>,
    eng: Jwt<Account>,
    ops: Jwt<Account>,
    /// Signed by the engineering account's plain signing key.
    alice: Jwt<User>,
    /// Signed by the engineering account's plain signing key.
    bob: Jwt<User>,
    /// Signed by the engineering account's scoped signing key.
    carol: Jwt<User>,
    /// Signed by the plain signing key; revoked later.
    dave: Jwt<User>,
    /// Signed by the engineering account's identity key, which strict signing key usage
    /// forbids: refused.
    ivan: Jwt<User>,
    /// In the ops account (JetStream unlimited), signed by its signing key.
    erin: Jwt<User>,
}

const ALICE: u8 = 21;
const BOB: u8 = 22;
const CAROL: u8 = 23;
const DAVE: u8 = 24;
const ERIN: u8 = 25;
const IVAN: u8 = 26;

fn org(iat: i64) -> Org {
    let op_id = key(NKeyKind::Operator, 1);
    let op_signing = key(NKeyKind::Operator, 2);
    let (sys_id, eng_id, ops_id) = (key(NKeyKind::Account, 3), key(NKeyKind::Account, 4), key(NKeyKind::Account, 5));
    let (eng_plain, eng_scoped) = (key(NKeyKind::Account, 6), key(NKeyKind::Account, 7));
    let ops_signing = key(NKeyKind::Account, 8);

    let operator = Operator {
        signing_keys: vec![op_signing.public_key().into()],
        system_account: sys_id.public_key().into(),
        strict_signing_key_usage: true,
        ..Operator::default()
    };
    let operator = encode(Claims::new("Acme", op_id.public_key(), operator), &op_id, iat).unwrap();
    let sys = Account::with_limits(OperatorLimits::unlimited());
    let sys = encode(Claims::new("SYS", sys_id.public_key(), sys), &op_signing, iat).unwrap();

    let mut eng = Account::with_limits(OperatorLimits::with_jetstream(JetStreamLimits {
        memory_storage: 64 << 20,
        disk_storage: 256 << 20,
        ..JetStreamLimits::UNLIMITED
    }));
    eng.signing_keys = vec![
        SigningKey::Plain(eng_plain.public_key().into()),
        SigningKey::Scoped(UserScope::new(eng_scoped.public_key(), "engineer", engineer_template())),
    ];
    let eng = encode(Claims::new("Engineering", eng_id.public_key(), eng), &op_signing, iat).unwrap();
    let mut ops = Account::with_limits(OperatorLimits::with_jetstream(JetStreamLimits::UNLIMITED));
    ops.signing_keys = vec![SigningKey::Plain(ops_signing.public_key().into())];
    let ops = encode(Claims::new("Operations", ops_id.public_key(), ops), &op_signing, iat).unwrap();

    let user = |n: u8, name: &str, nats: User, signer: &NatsKeyPair| {
        encode(Claims::new(name, key(NKeyKind::User, n).public_key(), nats), signer, iat).unwrap()
    };
    let by_signing_key = || User::issued_by_signing_key(UserPermissionLimits::unlimited(), eng_id.public_key());
    Org {
        alice: user(ALICE, "alice", by_signing_key(), &eng_plain),
        bob: user(BOB, "bob", by_signing_key(), &eng_plain),
        carol: user(CAROL, "carol", User::scoped(eng_id.public_key()), &eng_scoped),
        dave: user(DAVE, "dave", by_signing_key(), &eng_plain),
        ivan: user(IVAN, "ivan", User::new(UserPermissionLimits::unlimited()), &eng_id),
        erin: user(
            ERIN,
            "erin",
            User::issued_by_signing_key(UserPermissionLimits::unlimited(), ops_id.public_key()),
            &ops_signing,
        ),
        op_signing,
        operator,
        sys,
        eng,
        ops,
    }
}

/// The engineering account re-issued with `user` revoked as of `at`.
fn eng_revoking(org: &Org, user: &Jwt<User>, at: i64) -> Jwt<Account> {
    let (_, mut claims) = org.eng.clone().into_parts();
    claims.nats.revoke(user.subject(), at);
    encode(claims, &org.op_signing, at).unwrap()
}

fn config(org: &Org, eng: &Jwt<Account>, store_dir: &str) -> String {
    let js = JetStreamServerConfig { store_dir: store_dir.into(), ..Default::default() };
    server_config(org.operator.token(), &[org.sys.token(), eng.token(), org.ops.token()], Some(&js)).unwrap()
}

#[test]
fn generated_organization_verifies_offline() {
    let org = org(now());
    for account in [&org.sys, &org.eng, &org.ops] {
        assert!(org.operator.did_sign(account), "{}", account.claims().name);
        assert_eq!(decode::<Account>(account.token()).unwrap(), *account);
    }
    for (user, n) in [(&org.alice, ALICE), (&org.bob, BOB), (&org.carol, CAROL), (&org.dave, DAVE)] {
        assert!(org.operator.trusts(&org.eng, user), "{}", user.claims().name);
        assert!(user.jti_matches());
        let creds = creds_file(user.token(), &key(NKeyKind::User, n).seed().unwrap()).unwrap();
        assert!(creds.expose_secret().ends_with(b"\n"));
    }
    assert!(org.operator.trusts(&org.ops, &org.erin));
    // The account signed ivan itself, but the operator's strict signing key usage forbids it.
    assert!(org.eng.did_sign(&org.ivan));
    assert!(!org.operator.trusts(&org.eng, &org.ivan));
    let revoked = eng_revoking(&org, &org.dave, now());
    assert!(revoked.claims().nats.is_revoked(org.dave.subject(), org.dave.claims().issued_at));
    assert!(!revoked.claims().nats.is_revoked(org.alice.subject(), org.alice.claims().issued_at));
    let text = config(&org, &revoked, "/tmp/js");
    assert!(text.contains("resolver: MEMORY"));
    assert!(text.contains(&format!("system_account: {}", org.sys.subject())));
    for account in [&org.sys, &revoked, &org.ops] {
        assert!(text.contains(&format!("{}: {}", account.subject(), account.token())));
    }
}

#[cfg(feature = "sync")]
mod server {
    //! Against a real nats-server process.

    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::{Path, PathBuf};

    use tempfile::TempDir;

    use super::*;
    use crate::support::nats_server::{RawClient, Server, accepted, alter, refused};

    /// Writes a creds file the way the application will: owner read/write only.
    fn write_creds(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
        let path = dir.join(format!("{name}.creds"));
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).unwrap();
        file.write_all(contents).unwrap();
        path
    }

    fn creds_of(dir: &Path, user: &Jwt<User>, n: u8) -> PathBuf {
        let seed = key(NKeyKind::User, n).seed().unwrap();
        write_creds(dir, &user.claims().name, creds_file(user.token(), &seed).unwrap().expose_secret())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nats_server_accepts_what_we_generate_and_refuses_the_rest() {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path();
        let store = dir.join("jetstream");
        let org = org(now());
        let server = Server::start(dir, "first", &config(&org, &org.eng, store.to_str().unwrap()));

        // Publish/subscribe: alice publishes with async-nats and her creds file; a raw client
        // authenticated as bob (signed by the plain signing key) receives it.
        let alice = accepted(&server, &creds_of(dir, &org.alice, ALICE), "alice connects").await;
        let mut raw =
            RawClient::connect(&server, org.bob.token(), |nonce| key(NKeyKind::User, BOB).sign(nonce).unwrap());
        raw.subscribe("eng.greeting");
        alice.publish("eng.greeting", "hello from alice".into()).await.unwrap();
        alice.flush().await.unwrap();
        assert_eq!(raw.next_message(), ("eng.greeting".to_owned(), b"hello from alice".to_vec()));

        // JetStream in the account with JetStream limits: create a stream, publish, read back.
        let js = async_nats::jetstream::new(alice.clone());
        let stream = js
            .create_stream(async_nats::jetstream::stream::Config {
                name: "ENG".into(),
                subjects: vec!["eng.events.>".into()],
                ..Default::default()
            })
            .await
            .expect("JetStream is enabled for the engineering account");
        let ack = js.publish("eng.events.created", "event 1".into()).await.unwrap().await.unwrap();
        assert_eq!(ack.stream, "ENG");
        let message = stream.get_raw_message(ack.sequence).await.unwrap();
        assert_eq!(message.payload.as_ref(), b"event 1");

        // JetStream in the account whose JetStream limits are all -1.
        let erin = accepted(&server, &creds_of(dir, &org.erin, ERIN), "erin connects").await;
        let ops_js = async_nats::jetstream::new(erin);
        ops_js
            .create_stream(async_nats::jetstream::stream::Config {
                name: "OPS".into(),
                subjects: vec!["ops.>".into()],
                ..Default::default()
            })
            .await
            .expect("JetStream with unlimited limits");
        ops_js.publish("ops.x", "y".into()).await.unwrap().await.unwrap();

        // Users signed by the plain and by the scoped signing key connect (issuer_account).
        let bob = accepted(&server, &creds_of(dir, &org.bob, BOB), "bob (plain signing key) connects").await;
        bob.publish("anything.at.all", "ok".into()).await.unwrap();
        bob.flush().await.unwrap();
        let carol = accepted(&server, &creds_of(dir, &org.carol, CAROL), "carol (scoped key) connects").await;
        // The server gave carol the scope's template: ask it who she is.
        let info = carol.request("$SYS.REQ.USER.INFO", "".into()).await.expect("user info");
        let info: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
        assert_eq!(info["data"]["user"], org.carol.subject(), "{info}");
        assert_eq!(info["data"]["account"], org.eng.subject(), "{info}");
        let allowed = info["data"]["permissions"]["publish"]["allow"].to_string();
        assert!(allowed.contains("eng.>"), "the template's permissions apply: {info}");

        // One altered byte in the user JWT (claims or signature): refused.
        let seed = key(NKeyKind::User, ALICE).seed().unwrap();
        let good = String::from_utf8(creds_file(org.alice.token(), &seed).unwrap().expose_secret().to_vec()).unwrap();
        for part in [1, 2] {
            let tampered = good.replace(org.alice.token(), &alter(org.alice.token(), part));
            assert_ne!(tampered, good);
            let path = write_creds(dir, &format!("tampered-{part}"), tampered.as_bytes());
            refused(&server, &path, &format!("alice's JWT with part {part} altered")).await;
        }
        // A user JWT signed by a key the account does not list: refused.
        let stranger = encode(
            Claims::new("mallory", key(NKeyKind::User, 30).public_key(), User::new(UserPermissionLimits::unlimited())),
            &key(NKeyKind::Account, 31),
            now(),
        )
        .unwrap();
        refused(&server, &creds_of(dir, &stranger, 30), "a user of an unknown account").await;

        // Signed by the scoped key but carrying limits of its own: refused (the template rules).
        let mut greedy = User::scoped(org.eng.subject());
        greedy.permission_limits = UserPermissionLimits::unlimited();
        let greedy = encode(
            Claims::new("greedy", key(NKeyKind::User, 32).public_key(), greedy),
            &key(NKeyKind::Account, 7),
            now(),
        )
        .unwrap();
        assert!(!org.operator.trusts(&org.eng, &greedy));
        refused(&server, &creds_of(dir, &greedy, 32), "a scoped user with limits of its own").await;

        // Signed by the account's identity key under strict signing key usage: refused.
        refused(&server, &creds_of(dir, &org.ivan, IVAN), "ivan (signed by the account's identity key)").await;

        // dave connects before he is revoked.
        let dave_creds = creds_of(dir, &org.dave, DAVE);
        accepted(&server, &dave_creds, "dave connects before revocation").await;
        drop(server);

        // Revoke dave: re-sign the account with the revocation, restart with the new config.
        let revoked = eng_revoking(&org, &org.dave, now());
        let server = Server::start(dir, "second", &config(&org, &revoked, store.to_str().unwrap()));
        refused(&server, &dave_creds, "revoked dave").await;
        let alice = accepted(&server, &creds_of_again(dir, &org.alice, ALICE), "alice still connects").await;
        // The stream survived the restart in its store directory.
        let stream = async_nats::jetstream::new(alice).get_stream("ENG").await.unwrap();
        assert_eq!(stream.get_raw_message(ack.sequence).await.unwrap().payload.as_ref(), b"event 1");
    }

    fn creds_of_again(dir: &Path, user: &Jwt<User>, n: u8) -> PathBuf {
        let seed = key(NKeyKind::User, n).seed().unwrap();
        let name = format!("{}-again", user.claims().name);
        write_creds(dir, &name, creds_file(user.token(), &seed).unwrap().expose_secret())
    }
}
