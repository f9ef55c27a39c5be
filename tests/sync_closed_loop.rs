//! The closed loop: the organization's own `nats bootstrap` and `nats server-config` configure
//! a real nats-server (operator mode, JetStream for the accounts), its TLS certificate is issued
//! by the vault's own PKI, and `cim-keys sync` authenticates with a creds file the vault wrote,
//! trusting the vault's root CA. A user without permission to publish the events and a wrong
//! CA are clear errors, and nothing is marked uploaded.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cim_keys::crypto::keystore::{self, Passphrase};
use cim_keys::crypto::nats::{
    Claims, NKeyKind, NatsKeyPair, NatsSeed, Permission, Permissions, User, UserPermissionLimits, creds_file, encode,
};
use cim_keys::crypto::x509::CertificateKey;
use cim_keys::sync::{STREAM, SyncConfig, TlsFiles, connect};
use serde_json::Value;
use tempfile::TempDir;

use crate::support::nats_server::Server;
use crate::support::{self, Run, Vault, rich_vault};

/// The vault's server: its operator-mode configuration, TLS with a certificate for
/// 127.0.0.1 issued by the vault's intermediate CA (the chain in the cert file), and the root
/// CA's PEM for clients.
struct Loop {
    vault: Vault,
    org: support::Org,
    server: Server,
    root_ca: PathBuf,
    tmp: TempDir,
}

/// The seed the keystore holds under `id`, unsealed through the library as the vault would.
fn unsealed(vault: &Vault, id: &str) -> Vec<u8> {
    let library = cim_keys::app::Vault::open(vault.dir()).unwrap();
    let master = library.unlock(&Passphrase::new(support::PASSPHRASE.to_owned()).unwrap()).unwrap();
    let (kind, sealed) = library.store().secret(id).unwrap().expect("the key is sealed in the keystore");
    keystore::open(&master, id, &kind, &sealed).unwrap().expose_secret().to_vec()
}

fn start() -> Loop {
    let (vault, org) = rich_vault();
    let tmp = TempDir::new().unwrap();
    let path = |name: &str| tmp.path().join(name);
    let pki = vault.run(&["--json", "pki", "list", "--org", &org.org]).json();
    let ca_id = |kind: &str| -> String {
        let cas = pki["cas"].as_array().unwrap_or_else(|| panic!("{pki:#}"));
        cas.iter().find(|c| c["kind"] == kind).unwrap_or_else(|| panic!("{pki:#}"))["id"].as_str().unwrap().to_owned()
    };
    let (root, intermediate) = (ca_id("root"), ca_id("intermediate"));
    let issued = vault
        .run(&["--json", "pki", "issue", "--org", &org.org, "--kind", "server", "--name", "nats", "--san", "127.0.0.1"])
        .json();
    let leaf = issued["id"].as_str().unwrap().to_owned();
    let pem = |id: &str| vault.run(&["pki", "export", "--id", id]).ok() + "\n";
    std::fs::write(path("root-ca.pem"), pem(&root)).unwrap();
    std::fs::write(path("server.pem"), pem(&leaf) + &pem(&intermediate)).unwrap();
    let seed: [u8; 32] = unsealed(&vault, &leaf).try_into().unwrap();
    std::fs::write(path("server.key"), CertificateKey::from_seed(&seed).expose_secret_pkcs8_pem().as_bytes()).unwrap();

    let conf = path("server.conf");
    let js = path("jetstream");
    vault
        .run(&[
            "nats",
            "server-config",
            "--org",
            &org.org,
            "--out",
            conf.to_str().unwrap(),
            "--jetstream-dir",
            js.to_str().unwrap(),
        ])
        .ok();
    let config = format!(
        "{}\ntls {{ cert_file: {:?}, key_file: {:?} }}\n",
        std::fs::read_to_string(&conf).unwrap(),
        path("server.pem").display().to_string(),
        path("server.key").display().to_string()
    );
    let server = Server::start(tmp.path(), "vault", &config);
    Loop { vault, org, server, root_ca: path("root-ca.pem"), tmp }
}

impl Loop {
    fn url(&self) -> String {
        format!("tls://127.0.0.1:{}", self.server.port)
    }

    /// A creds file for Ann, as `nats creds` writes it.
    fn ann_creds(&self) -> PathBuf {
        let tree = self.vault.run(&["--json", "nats", "list", "--org", &self.org.org]).json();
        let ann = tree["users"].as_array().unwrap().iter().find(|u| u["person_id"] == self.org.ann.as_str()).unwrap();
        let file = self.tmp.path().join("ann.creds");
        self.vault.run(&["nats", "creds", "--user", ann["id"].as_str().unwrap(), "--out", file.to_str().unwrap()]).ok();
        file
    }

    /// A creds file for a new user of Ann's account that may publish anything but the event
    /// subjects: signed by the account's plain signing key (the scoped one admits no
    /// permissions of the user's own).
    fn creds_without_publish(&self) -> PathBuf {
        let tree = self.vault.run(&["--json", "nats", "list", "--org", &self.org.org]).json();
        let ann = tree["users"].as_array().unwrap().iter().find(|u| u["person_id"] == self.org.ann.as_str()).unwrap();
        let account: &Value =
            tree["accounts"].as_array().unwrap().iter().find(|a| a["id"] == ann["account_id"]).unwrap();
        let plain = account["signing_keys"].as_array().unwrap().iter().find(|k| k["role"].is_null()).unwrap();
        let plain = plain["public_key"].as_str().unwrap();
        let seed: [u8; 32] = unsealed(&self.vault, plain).try_into().unwrap();
        let signer = NatsKeyPair::from_raw_seed(NKeyKind::Account, &seed).unwrap();
        assert_eq!(signer.public_key(), plain);
        let user = NatsKeyPair::from_raw_seed(NKeyKind::User, &[7u8; 32]).unwrap();
        let mut limits = UserPermissionLimits::unlimited();
        limits.permissions = Permissions {
            publish: Permission { allow: Vec::new(), deny: vec!["cim.graph.>".to_owned()] },
            ..Permissions::default()
        };
        let claims = Claims::new(
            "no-publish",
            user.public_key(),
            User::issued_by_signing_key(limits, account["public_key"].as_str().unwrap()),
        );
        let jwt = encode(claims, &signer, chrono::Utc::now().timestamp()).unwrap();
        let seed: NatsSeed = user.seed().unwrap();
        let creds = creds_file(jwt.token(), &seed).unwrap();
        let file = self.tmp.path().join("no-publish.creds");
        std::fs::write(&file, creds.expose_secret()).unwrap();
        file
    }

    fn sync(&self, creds: &Path, ca: &Path) -> Run {
        let url = self.url();
        self.vault.run(&[
            "--json",
            "sync",
            "--server",
            &url,
            "--creds",
            creds.to_str().unwrap(),
            "--tls-ca",
            ca.to_str().unwrap(),
            "--connect-timeout",
            "3",
        ])
    }

    fn pending(&self) -> u64 {
        self.vault.run(&["--json", "status"]).json()["status"]["pending"].as_u64().unwrap()
    }
}

#[test]
fn the_vaults_own_server_creds_and_pki_carry_the_upload() {
    let lp = start();
    let graph = lp.pending();
    let creds = lp.ann_creds();
    let run = lp.sync(&creds, &lp.root_ca);
    assert_eq!(run.code, 0, "{run:?}\n{}", lp.server.log_text());
    let report = run.json();
    assert_eq!(report["published"].as_u64(), Some(graph), "{report}");
    assert_eq!(lp.pending(), 0);

    // Read back over the same loop: the account's stream holds every event.
    let mut config = SyncConfig::new(vec![lp.url()]);
    config.creds = Some(creds);
    config.tls = Some(TlsFiles { ca: Some(lp.root_ca.clone()), cert_and_key: None });
    let messages = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = connect(&config).await.unwrap();
        let js = async_nats::jetstream::new(client);
        js.get_stream(STREAM).await.unwrap().get_info().await.unwrap().state.messages
    });
    assert_eq!(messages, graph);
}

#[test]
fn a_user_who_may_not_publish_the_events_gets_a_permission_error_and_nothing_is_marked() {
    let lp = start();
    let graph = lp.pending();
    let creds = lp.creds_without_publish();
    let started = std::time::Instant::now();
    let run = lp.sync(&creds, &lp.root_ca);
    assert_eq!(run.code, 1, "{run:?}\n{}", lp.server.log_text());
    assert!(run.stderr.contains("permission denied"), "{}", run.stderr);
    assert!(run.stderr.contains("cim.graph."), "the refused subject is named: {}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(20), "it stopped instead of retrying: {:?}", started.elapsed());
    assert_eq!(lp.pending(), graph, "nothing was marked uploaded");
    let error: i64 = lp
        .vault
        .sql()
        .query_row("SELECT count(*) FROM outbox WHERE last_error LIKE '%permission denied%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(error as u64, graph, "the failed attempt is recorded on the pending events");
    let status = lp.vault.run(&["status"]).ok();
    assert!(status.contains("last upload    failed") && status.contains("permission denied"), "{status}");
}

#[test]
fn a_wrong_ca_is_a_tls_error_and_nothing_is_sent() {
    let lp = start();
    let graph = lp.pending();
    // Another organization's root CA.
    let other = Vault::new();
    let org = other.run(&["org", "create", "--name", "Other"]).ok();
    other.run(&["pki", "init", "--org", &org]).ok();
    let pki = other.run(&["--json", "pki", "list", "--org", &org]).json();
    let root = pki["cas"].as_array().unwrap().iter().find(|c| c["kind"] == "root").unwrap()["id"].as_str().unwrap();
    let wrong = lp.tmp.path().join("other-root.pem");
    std::fs::write(&wrong, other.run(&["pki", "export", "--id", root]).ok()).unwrap();

    let run = lp.sync(&lp.ann_creds(), &wrong);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("TLS failure"), "{}", run.stderr);
    assert_eq!(lp.pending(), graph);
}
