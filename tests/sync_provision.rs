//! Connecting and provisioning against real nats-server processes (feature `sync`): the stream
//! and the bucket are created once and then left alone, a misconfigured stream is reported and
//! never changed, and each way a connection fails has its own clear error.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use async_nats::jetstream::{self, stream::StorageType};
use cim_keys::sync::{BUCKET, STREAM, SUBJECTS, SyncConfig, SyncError, TlsFiles, connect, provision};
use tempfile::TempDir;

use crate::support::nats_server::Server;

fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(future)
}

/// A single server with JetStream storing under `dir`.
fn jetstream_server(dir: &Path) -> Server {
    let store = dir.join("jetstream");
    Server::start(dir, "js", &format!("jetstream {{ store_dir: {:?} }}\n", store.display().to_string()))
}

fn config(server: &Server) -> SyncConfig {
    let mut config = SyncConfig::new(vec![server.url()]);
    config.connect_timeout = Duration::from_secs(2);
    config
}

async fn stream_config(client: &async_nats::Client, name: &str) -> jetstream::stream::Config {
    jetstream::new(client.clone()).get_stream(name).await.unwrap().cached_info().config.clone()
}

#[test]
fn provision_creates_the_stream_and_the_bucket_once() {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    run(async {
        let client = connect(&config(&server)).await.unwrap();
        let first = provision(&client, 1).await.unwrap();
        assert!(first.stream_created && first.bucket_created, "{first:?}");

        let stream = stream_config(&client, STREAM).await;
        assert_eq!(stream.subjects, [SUBJECTS]);
        assert_eq!(stream.storage, StorageType::File);
        assert_eq!(stream.num_replicas, 1);
        assert!(stream.allow_direct);
        assert_eq!(stream.max_age, Duration::ZERO);
        assert_eq!(stream.duplicate_window, Duration::from_secs(120));
        let js = jetstream::new(client.clone());
        js.get_object_store(BUCKET).await.expect("the bucket exists");
        let bucket = stream_config(&client, "OBJ_cim-graph-payloads").await;
        assert_eq!(bucket.storage, StorageType::File);
        assert_eq!(bucket.num_replicas, 1);

        // A second run finds both and changes nothing.
        let second = provision(&client, 1).await.unwrap();
        assert!(!second.stream_created && !second.bucket_created, "{second:?}");
        assert_eq!(stream_config(&client, STREAM).await, stream);
        assert_eq!(stream_config(&client, "OBJ_cim-graph-payloads").await, bucket);
    });
}

/// Creates `CIM_GRAPH_EVENTS` as someone else might have, provisions, and checks the error
/// names `expected` and the stream is exactly as it was.
fn misconfigured(config: jetstream::stream::Config, expected: &[&str]) {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    run(async {
        let client = connect(&self::config(&server)).await.unwrap();
        let js = jetstream::new(client.clone());
        js.create_stream(config).await.unwrap();
        let before = stream_config(&client, STREAM).await;
        let error = provision(&client, 1).await.unwrap_err();
        assert!(matches!(error, SyncError::StreamMisconfigured { .. }), "{error:?}");
        let message = error.to_string();
        for text in expected.iter().chain(&[STREAM, "was NOT changed"]) {
            assert!(message.contains(text), "{text:?} missing from: {message}");
        }
        assert_eq!(stream_config(&client, STREAM).await, before, "the stream was changed");
        assert!(js.get_object_store(BUCKET).await.is_err(), "nothing is provisioned after the refusal");
    });
}

#[test]
fn an_existing_stream_with_memory_storage_is_reported_and_left_unchanged() {
    misconfigured(
        jetstream::stream::Config {
            name: STREAM.into(),
            subjects: vec![SUBJECTS.into()],
            storage: StorageType::Memory,
            ..Default::default()
        },
        &["storage is memory but must be file"],
    );
}

#[test]
fn an_existing_stream_with_other_subjects_is_reported_and_left_unchanged() {
    misconfigured(
        jetstream::stream::Config {
            name: STREAM.into(),
            subjects: vec!["other.events.>".into()],
            storage: StorageType::File,
            ..Default::default()
        },
        &["subjects are [other.events.>] but must include [cim.graph.*.events.>]"],
    );
}

#[test]
fn a_stream_with_other_replicas_is_reported() {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    run(async {
        let client = connect(&config(&server)).await.unwrap();
        provision(&client, 1).await.unwrap();
        // A single server cannot hold 3 replicas; asking for them must not touch the stream.
        let error = provision(&client, 3).await.unwrap_err();
        let message = error.to_string();
        assert!(message.contains("replicas are 1 but the configuration asks for 3"), "{message}");
        assert_eq!(stream_config(&client, STREAM).await.num_replicas, 1);
    });
}

#[test]
fn a_server_without_jetstream_is_reported_clearly() {
    let tmp = TempDir::new().unwrap();
    let server = Server::start(tmp.path(), "plain", "");
    run(async {
        let client = connect(&config(&server)).await.unwrap();
        let error = provision(&client, 1).await.unwrap_err();
        assert!(matches!(error, SyncError::JetStreamNotEnabled { .. }), "{error:?}");
        assert!(error.to_string().contains("JetStream not enabled"), "{error}");
    });
}

#[test]
fn a_closed_port_is_cannot_connect() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = SyncConfig::new(vec![format!("nats://127.0.0.1:{port}")]);
    let started = std::time::Instant::now();
    let error = run(connect(&config)).unwrap_err();
    assert!(matches!(error, SyncError::Connect { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.starts_with(&format!("cannot connect to nats://127.0.0.1:{port}")), "{message}");
    assert!(error.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(5), "the first failure is reported, not retried");
}

/// A creds file for a fresh user nkey that no operator signed.
fn stranger_creds(path: &Path) {
    let user = nkeys::KeyPair::new_user();
    let text = format!(
        "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln\n------END NATS USER JWT------\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
        user.seed().unwrap()
    );
    std::fs::write(path, text).unwrap();
}

/// The closed loop: the vault's own `nats bootstrap` and `nats server-config` configure the
/// server (operator mode, JetStream for the accounts); the vault's creds connect and
/// provision; creds no operator signed are an authorization error.
#[test]
fn vault_creds_provision_and_unknown_creds_are_an_authorization_error() {
    let vault = crate::support::Vault::new();
    let org = crate::support::acme(&vault);
    vault.run(&["nats", "bootstrap", "--org", &org.org, "--json"]).ok();
    let tree = vault.run(&["nats", "list", "--org", &org.org, "--json"]).json();
    let users = tree["users"].as_array().unwrap();
    let ann = users.iter().find(|u| u["person_id"] == org.ann.as_str()).unwrap_or_else(|| panic!("{tree:#}"));
    let tmp = TempDir::new().unwrap();
    let conf = tmp.path().join("server.conf");
    let js_dir = tmp.path().join("jetstream");
    let args = ["nats", "server-config", "--org", &org.org, "--out", conf.to_str().unwrap()];
    vault.run(&[&args[..], &["--jetstream-dir", js_dir.to_str().unwrap()]].concat()).ok();
    let server = Server::start(tmp.path(), "operator", &std::fs::read_to_string(&conf).unwrap());
    let creds = tmp.path().join("ann.creds");
    vault.run(&["nats", "creds", "--user", ann["id"].as_str().unwrap(), "--out", creds.to_str().unwrap()]).ok();

    let mut config = config(&server);
    config.creds = Some(creds);
    run(async {
        let client = connect(&config).await.unwrap_or_else(|e| panic!("{e}\n{}", server.log_text()));
        let done = provision(&client, 1).await.unwrap();
        assert!(done.stream_created && done.bucket_created, "{done:?}");
    });

    let stranger = tmp.path().join("stranger.creds");
    stranger_creds(&stranger);
    config.creds = Some(stranger);
    let error = run(connect(&config)).unwrap_err();
    assert!(matches!(error, SyncError::Authorization { .. }), "{error:?}");
    assert!(error.to_string().contains("authorization violation"), "{error}");
    assert!(!error.is_retryable());

    // A creds file that cannot be read is its own error.
    config.creds = Some(tmp.path().join("missing.creds"));
    let error = run(connect(&config)).unwrap_err();
    assert!(matches!(error, SyncError::Creds { .. }), "{error:?}");
}

/// A CA and a server certificate for 127.0.0.1 it signed, as PEM files in `dir` named
/// `{name}-ca.pem`, `{name}-server.pem`, `{name}-server.key`.
fn tls_files(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, format!("{name} test CA"));
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = server_params.signed_by(&server_key, &issuer).unwrap();
    let paths = (
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}-server.pem")),
        dir.join(format!("{name}-server.key")),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, server.pem()).unwrap();
    std::fs::write(&paths.2, server_key.serialize_pem()).unwrap();
    paths
}

#[test]
fn tls_with_the_right_ca_connects_and_an_unknown_ca_is_a_tls_error() {
    let tmp = TempDir::new().unwrap();
    let (ca, cert, key) = tls_files(tmp.path(), "right");
    let (other_ca, _, _) = tls_files(tmp.path(), "other");
    let tls =
        format!("tls {{ cert_file: {:?}, key_file: {:?} }}\n", cert.display().to_string(), key.display().to_string());
    let server = Server::start(tmp.path(), "tls", &tls);
    let mut config = SyncConfig::new(vec![format!("tls://127.0.0.1:{}", server.port)]);
    config.connect_timeout = Duration::from_secs(2);

    config.tls = Some(TlsFiles { ca: Some(ca), cert_and_key: None });
    run(async { connect(&config).await.unwrap_or_else(|e| panic!("{e}\n{}", server.log_text())) });

    config.tls = Some(TlsFiles { ca: Some(other_ca), cert_and_key: None });
    let error = run(connect(&config)).unwrap_err();
    assert!(matches!(error, SyncError::Tls { .. }), "{error:?}");
    assert!(error.to_string().starts_with("TLS failure with tls://127.0.0.1:"), "{error}");
    assert!(!error.is_retryable());
}
