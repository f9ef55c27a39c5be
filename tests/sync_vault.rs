//! `cim-keys sync` through the real binary against a real nats-server with JetStream: a vault's
//! whole history reaches the stream and the object store once, checked by an independent
//! consumer against the vault's own tables; events are marked uploaded; a second vault that
//! imported the same bundle, after the duplicate window, adds nothing; `sync --bundle` works
//! without a vault; a process killed mid-upload loses nothing; bad settings are clear errors.

use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull::OrderedConfig};
use cid::Cid;
use cim_keys::projection::{cid_of, raw_cid_of};
use cim_keys::sync::provision::stream_config;
use cim_keys::sync::{BUCKET, STREAM, SUBJECTS};
use futures_util::StreamExt;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::nats_server::Server;
use crate::support::{self, Run, Vault, rich_vault, upload_counts};

const BUNDLE_PASSPHRASE: &str = "the card's own passphrase";

fn jetstream_server(dir: &Path) -> Server {
    let store = dir.join("jetstream");
    Server::start(dir, "js", &format!("jetstream {{ store_dir: {:?} }}\n", store.display().to_string()))
}

fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(future)
}

async fn client(server: &Server) -> async_nats::Client {
    async_nats::connect(server.url()).await.unwrap()
}

/// `sync --json --server URL` (plus `extra`), as JSON; fails the test on a non-zero exit.
fn sync(vault: &Vault, server: &Server, extra: &[&str]) -> Value {
    let url = server.url();
    let mut args = vec!["--json", "sync", "--server", &url];
    args.extend(extra);
    let run = vault.run(&args);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()
}

/// Blocks with their CIDs.
type Blocks = Vec<(Cid, Vec<u8>)>;

/// Every block the vault holds, by CID: graph events, and domain events with artifacts.
fn vault_blocks(vault: &Vault) -> (Blocks, Blocks) {
    let conn = vault.sql();
    let read = |sql: &str| -> Blocks {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| Ok((Cid::try_from(r.get::<_, Vec<u8>>(0)?.as_slice()).unwrap(), r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let graph = read("SELECT cid, bytes FROM graph_events ORDER BY seq");
    let mut others = read("SELECT cid, bytes FROM domain_events ORDER BY seq");
    others.extend(read("SELECT cid, bytes FROM artifacts"));
    (graph, others)
}

async fn stream_state(client: &async_nats::Client) -> (u64, u64) {
    let info = jetstream::new(client.clone()).get_stream(STREAM).await.unwrap().get_info().await.unwrap();
    (info.state.messages, info.state.subjects_count)
}

/// The independent check: the stream holds exactly the vault's graph events, each once, on
/// its subject with its block as payload; the object store holds every block of the vault
/// (graph, domain, artifacts), each hashing to its CID.
async fn check_server_holds(client: &async_nats::Client, vault: &Vault) {
    let (graph, others) = vault_blocks(vault);
    let js = jetstream::new(client.clone());
    let stream = js.get_stream(STREAM).await.unwrap();
    assert_eq!(stream_state(client).await, (graph.len() as u64, graph.len() as u64), "messages, subjects");
    let consumer = stream
        .create_consumer(OrderedConfig { filter_subject: SUBJECTS.to_owned(), ..Default::default() })
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let expected: HashSet<String> = graph.iter().map(|(cid, _)| cid.to_string()).collect();
    let mut seen = HashSet::new();
    while seen.len() < graph.len() {
        let message = tokio::time::timeout(Duration::from_secs(10), messages.next()).await.unwrap().unwrap().unwrap();
        let cid = message.subject.rsplit('.').next().unwrap().to_owned();
        assert!(expected.contains(&cid), "{} is not one of the vault's events", message.subject);
        assert!(seen.insert(cid.clone()), "{} twice", message.subject);
        assert_eq!(cid_of(&message.payload).to_string(), cid, "the payload hashes to the subject's CID");
        let id = message.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.as_str().to_owned());
        assert_eq!(id.as_deref(), Some(cid.as_str()));
    }
    let store = js.get_object_store(BUCKET).await.unwrap();
    let chunks = js.get_stream(format!("OBJ_{BUCKET}")).await.unwrap();
    let all: Blocks = graph.into_iter().chain(others).collect();
    let checked: Vec<()> = futures_util::stream::iter(all)
        .map(|(cid, bytes)| {
            let (store, chunks) = (store.clone(), chunks.clone());
            async move {
                let info = store.info(cid.to_string()).await.unwrap_or_else(|e| panic!("block {cid}: {e}"));
                let chunk = chunks.direct_get_last_for_subject(format!("$O.{BUCKET}.C.{}", info.nuid)).await.unwrap();
                assert_eq!(&chunk.payload[..], &bytes[..], "block {cid}");
                let again = if cid.codec() == 0x55 { raw_cid_of(&chunk.payload) } else { cid_of(&chunk.payload) };
                assert_eq!(again, cid, "the block's CID");
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(!checked.is_empty());
}

#[test]
fn a_vault_uploads_its_whole_history_once_and_marks_it_uploaded() {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    let (vault, _) = rich_vault();
    let (graph, pending, uploaded) = upload_counts(&vault);
    assert_eq!((pending, uploaded), (graph, 0));

    let report = sync(&vault, &server, &[]);
    assert_eq!(report["acknowledged"].as_u64(), Some(graph), "{report}");
    assert_eq!(report["published"].as_u64(), Some(graph));
    assert_eq!(report["stream_created"], true);
    assert_eq!((report["pending"].as_u64(), report["uploaded"].as_u64()), (Some(0), Some(graph)));
    assert_eq!(upload_counts(&vault), (graph, 0, graph));
    let conn = vault.sql();
    let unmarked: i64 = conn
        .query_row("SELECT count(*) FROM outbox WHERE state != 'uploaded' OR uploaded_at IS NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(unmarked, 0);
    run(async { check_server_holds(&client(&server).await, &vault).await });

    // Nothing pending: nothing sent. New events: only they are.
    let again = sync(&vault, &server, &[]);
    assert_eq!((again["acknowledged"].as_u64(), again["blocks_put"].as_u64()), (Some(0), Some(0)), "{again}");
    vault.run(&["org", "create", "--name", "Globex"]).ok();
    let (graph_now, pending, _) = upload_counts(&vault);
    assert_eq!(pending, graph_now - graph);
    let more = sync(&vault, &server, &[]);
    assert_eq!(more["published"].as_u64(), Some(graph_now - graph), "{more}");
    assert_eq!(upload_counts(&vault), (graph_now, 0, graph_now));
    run(async { check_server_holds(&client(&server).await, &vault).await });
}

fn export(vault: &Vault, card: &Path) -> std::path::PathBuf {
    let run = Run::from(
        support::bin()
            .arg("--data-dir")
            .arg(vault.dir())
            .env("CIM_KEYS_BUNDLE_PASSPHRASE", BUNDLE_PASSPHRASE)
            .args(["--json", "export", "--out", card.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    run.json()["file"].as_str().unwrap().into()
}

fn with_bundle_passphrase(data_dir: &Path, args: &[&str]) -> Run {
    Run::from(
        support::bin()
            .arg("--data-dir")
            .arg(data_dir)
            .env("CIM_KEYS_BUNDLE_PASSPHRASE", BUNDLE_PASSPHRASE)
            .args(args)
            .output()
            .unwrap(),
    )
}

#[test]
fn a_second_vault_with_the_same_history_adds_nothing_even_after_the_duplicate_window() {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    // The stream as provisioning makes it, but with a 1 s duplicate window.
    run(async {
        jetstream::new(client(&server).await)
            .create_stream(jetstream::stream::Config { duplicate_window: Duration::from_secs(1), ..stream_config(1) })
            .await
            .unwrap();
    });
    let (a, _) = rich_vault();
    let file = export(&a, &tmp.path().join("card"));
    let b = Vault::new();
    let import = with_bundle_passphrase(b.dir(), &["import", file.to_str().unwrap()]);
    assert_eq!(import.code, 0, "{import:?}");
    let (graph, pending, _) = upload_counts(&b);
    assert_eq!(pending, graph, "imported events are pending in the importing vault");

    let first = sync(&a, &server, &[]);
    assert_eq!(first["published"].as_u64(), Some(graph));
    let before = run(async { stream_state(&client(&server).await).await });
    std::thread::sleep(Duration::from_millis(1500));

    let second = sync(&b, &server, &[]);
    assert_eq!(
        (second["acknowledged"].as_u64(), second["published"].as_u64(), second["already_present"].as_u64()),
        (Some(graph), Some(0), Some(graph)),
        "{second}"
    );
    assert_eq!(second["blocks_put"].as_u64(), Some(0));
    assert_eq!(upload_counts(&b), (graph, 0, graph), "the server's word that it holds them marks them");
    run(async {
        let client = client(&server).await;
        assert_eq!(stream_state(&client).await, before, "the stream did not change");
        check_server_holds(&client, &a).await;
    });
}

#[test]
fn a_bundle_uploads_on_a_machine_without_a_vault() {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    let (a, _) = rich_vault();
    let (graph, ..) = upload_counts(&a);
    let file = export(&a, &tmp.path().join("card"));
    let online = tmp.path().join("online");
    let url = server.url();
    let run_sync = |json: bool| {
        let mut args = vec!["sync", "--server", &url, "--bundle", file.to_str().unwrap()];
        if json {
            args.insert(0, "--json");
        }
        with_bundle_passphrase(&online, &args)
    };
    let uploaded = run_sync(true);
    assert_eq!(uploaded.code, 0, "{uploaded:?}");
    let report = uploaded.json();
    assert_eq!((report["published"].as_u64(), report["already_present"].as_u64()), (Some(graph), Some(0)));
    assert!(!online.join("vault.sqlite").exists(), "no vault was created");
    run(async { check_server_holds(&client(&server).await, &a).await });

    // Again: nothing new; and the exporting vault's own sync finds everything there.
    let again = run_sync(false);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains(&format!("uploaded {graph} graph events")), "{}", again.stdout);
    assert!(again.stdout.contains(&format!("0 stored now, {graph} already there")), "{}", again.stdout);
    let own = sync(&a, &server, &[]);
    assert_eq!((own["published"].as_u64(), own["already_present"].as_u64()), (Some(0), Some(graph)), "{own}");
    assert_eq!(upload_counts(&a), (graph, 0, graph));

    // A wrong bundle passphrase: a clear error, nothing sent.
    let wrong = Run::from(
        support::bin()
            .arg("--data-dir")
            .arg(&online)
            .env("CIM_KEYS_BUNDLE_PASSPHRASE", "not the passphrase")
            .args(["sync", "--server", &url, "--bundle", file.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stderr.contains("passphrase"), "{}", wrong.stderr);
}

/// A vault with many events: a CSV of `people` people in one transaction.
fn big_vault(people: usize) -> Vault {
    let vault = Vault::new();
    let org = support::acme(&vault);
    let csv = vault.dir().join("people.csv");
    let rows: String = (0..people).map(|i| format!("Person {i},p{i}@acme.example,{}\n", org.eng)).collect();
    std::fs::write(&csv, rows).unwrap();
    vault.run(&["person", "import", "--org", &org.org, "--file", csv.to_str().unwrap()]).ok();
    vault
}

#[test]
fn a_sync_process_killed_mid_upload_loses_nothing_and_the_next_run_finishes() {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    let vault = big_vault(4000);
    let (graph, ..) = upload_counts(&vault);
    let mut child = support::bin()
        .arg("--data-dir")
        .arg(vault.dir())
        .args(["sync", "--server", &server.url()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once part of the history is on the server.
    let at_kill = run(async {
        let client = client(&server).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let js = jetstream::new(client.clone());
            let messages = match js.get_stream(STREAM).await {
                Ok(mut stream) => stream.info().await.map(|i| i.state.messages).unwrap_or(0),
                Err(_) => 0,
            };
            if messages >= graph / 4 {
                child.kill().unwrap();
                child.wait().unwrap();
                return messages;
            }
            assert!(child.try_wait().unwrap().is_none(), "sync finished before it could be killed");
            assert!(Instant::now() < deadline, "the upload did not start");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    assert!(at_kill < graph, "killed after the upload finished ({at_kill} of {graph})");
    let (_, pending, uploaded) = upload_counts(&vault);
    assert_eq!(pending + uploaded, graph);
    assert!(pending > 0, "the kill left events pending");
    let stored = run(async { stream_state(&client(&server).await).await.0 });
    assert!(uploaded <= stored, "marked {uploaded} uploaded but the server holds only {stored}");

    let report = sync(&vault, &server, &[]);
    assert_eq!(report["acknowledged"].as_u64(), Some(pending), "{report}");
    assert_eq!(upload_counts(&vault), (graph, 0, graph));
    run(async { check_server_holds(&client(&server).await, &vault).await });
}

#[test]
fn settings_come_from_flags_or_sync_json_and_bad_ones_are_clear_errors() {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    let vault = Vault::new();
    vault.run(&["org", "create", "--name", "Initech"]).ok();

    let none = vault.run(&["sync"]);
    assert_eq!(none.code, 2, "{none:?}");
    assert!(none.stderr.contains("--server") && none.stderr.contains("sync.json"), "{}", none.stderr);

    let missing = vault.run(&["sync", "--server", &server.url(), "--creds", "/nonexistent/user.creds"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(missing.stderr.contains("/nonexistent/user.creds"), "{}", missing.stderr);

    let bad_url = vault.run(&["sync", "--server", "http://127.0.0.1:4222"]);
    assert_eq!(bad_url.code, 2, "{bad_url:?}");

    // Nothing listening: a clear failure, nothing marked.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = vault.run(&["sync", "--server", &format!("nats://127.0.0.1:{port}"), "--connect-timeout", "1"]);
    assert_eq!(down.code, 1, "{down:?}");
    assert!(down.stderr.contains("cannot connect") || down.stderr.contains("did not answer"), "{}", down.stderr);
    let (graph, pending, _) = upload_counts(&vault);
    assert_eq!(pending, graph);

    // --save writes sync.json; a later run needs no flags.
    let saved = vault.run(&["sync", "--server", &server.url(), "--save"]);
    assert_eq!(saved.code, 0, "{saved:?}");
    assert!(vault.dir().join("sync.json").is_file());
    vault.run(&["org", "create", "--name", "Hooli"]).ok();
    let later = vault.run(&["--json", "sync"]);
    assert_eq!(later.code, 0, "{later:?}");
    assert_eq!(upload_counts(&vault).1, 0);
    std::fs::write(vault.dir().join("sync.json"), "{\"servers\": [], \"typo\": 1}").unwrap();
    let broken = vault.run(&["sync"]);
    assert_eq!(broken.code, 2, "{broken:?}");
    assert!(broken.stderr.contains("sync.json"), "{}", broken.stderr);
}
