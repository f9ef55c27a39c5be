//! The upload against a 3-node JetStream cluster (feature `sync`): three nats-server processes
//! on loopback, routed to each other, the stream and the bucket provisioned with 3 replicas.
//! One node is killed mid-upload — the one the client is connected to (the client must
//! reconnect, and requests in flight on the dead connection fail), or another one (possibly
//! the stream's leader: the remaining two elect a new one) — and the upload must complete by
//! itself, the failures during reconnection and re-election being retried as transient, with
//! every event exactly once in the stream and every block in the bucket, as an independent
//! consumer reading from the surviving nodes checks.
//!
//! And, on one server, how the upload's own writing of objects (`docs/formats/subjects.md` §5)
//! meets objects async-nats wrote: kept or replaced, no orphan chunk left, every block read back
//! by async-nats's `ObjectStore::get`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use cid::Cid;
use cim_keys::projection::raw_cid_of;
use cim_keys::sync::provision::BUCKET_STREAM;
use cim_keys::sync::{BUCKET, STREAM, SyncConfig, UploadEvent, UploadOptions, connect, provision, upload};
use tempfile::TempDir;

use crate::support::nats_server::{PATIENCE, check_upload, free_port, retrying, spawn, synthetic_events, wait_ready};

fn events(n: usize) -> Vec<UploadEvent> {
    synthetic_events(n, 2)
}

/// One node of a [`Cluster`].
struct Node {
    name: String,
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl Node {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Three nats-server processes with JetStream, clustered on loopback; every one killed when
/// dropped.
struct Cluster {
    nodes: Vec<Node>,
}

impl Cluster {
    /// Starts the three nodes (each with its own store directory under `dir`) and waits until
    /// each is ready for clients.
    fn start(dir: &Path) -> Cluster {
        let cluster_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let routes = cluster_ports.iter().map(|p| format!("nats-route://127.0.0.1:{p}")).collect::<Vec<_>>().join(", ");
        let mut cluster = Cluster { nodes: Vec::new() };
        for (i, cluster_port) in cluster_ports.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let port = free_port();
            let store = dir.join(&name).join("jetstream");
            let conf = dir.join(format!("{name}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "server_name: {name}\nport: {port}\nhost: 127.0.0.1\n\
                     jetstream {{ store_dir: {:?} }}\n\
                     cluster {{\n  name: cim-test\n  listen: 127.0.0.1:{cluster_port}\n  routes: [{routes}]\n}}\n",
                    store.display().to_string()
                ),
            )
            .unwrap();
            let log = dir.join(format!("{name}.log"));
            let child = spawn(&[], &conf, &log);
            cluster.nodes.push(Node { name, child: Some(child), port, log });
        }
        let deadline = Instant::now() + PATIENCE;
        for node in &mut cluster.nodes {
            wait_ready(node.child.as_mut().unwrap(), node.port, &node.log, deadline);
        }
        cluster
    }

    fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| format!("nats://127.0.0.1:{}", n.port)).collect()
    }

    fn logs(&self) -> String {
        self.nodes.iter().map(|n| format!("--- {}:\n{}", n.name, n.log_text())).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }
}

fn config(cluster: &Cluster) -> SyncConfig {
    let mut config = SyncConfig::new(cluster.urls());
    config.connect_timeout = Duration::from_secs(2);
    config.replicas = Some(3);
    config
}

/// Waits until the cluster answers JetStream requests (it has a meta leader: a leaderless
/// cluster answers the account info request with an error) and provisioning with 3 replicas
/// succeeds (the meta leader knows all three peers).
async fn provision_when_ready(client: &async_nats::Client, cluster: &Cluster) {
    let js = jetstream::new(client.clone());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let last = match js.query_account().await {
            Ok(_) => match provision(client, 3).await {
                Ok(_) => return,
                Err(e) => format!("provisioning: {e}"),
            },
            Err(e) => format!("account info: {e}"),
        };
        assert!(Instant::now() < deadline, "the cluster did not become ready ({last}):\n{}", cluster.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Which node to kill.
#[derive(Debug, Clone, Copy)]
enum Victim {
    /// The one the client is connected to.
    Connected,
    /// Another one: the stream's leader if the client is not connected to it.
    Other,
}

/// Uploads `events` in a task, kills a node once `kill_after` events were acknowledged, and
/// expects the upload to complete with every event acknowledged exactly once, then checks the
/// stream and the bucket.
fn killed_mid_upload(victim: Victim, events: Vec<UploadEvent>, kill_after: usize) {
    let tmp = TempDir::new().unwrap();
    let mut cluster = Cluster::start(tmp.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = runtime.block_on(async {
        let client = connect(&config(&cluster)).await.unwrap();
        provision_when_ready(&client, &cluster).await;
        client
    });
    let connected = client.server_info().port;
    let leader = runtime.block_on(async {
        let mut stream = jetstream::new(client.clone()).get_stream(STREAM).await.unwrap();
        stream.info().await.unwrap().cluster.as_ref().and_then(|c| c.leader.clone()).unwrap_or_default()
    });
    let acked = Arc::new(Mutex::new(Vec::new()));
    let task = {
        let (client, events, acked) = (client.clone(), events.clone(), acked.clone());
        runtime.spawn(async move {
            let cancel = AtomicBool::new(false);
            let started = Instant::now();
            let report =
                upload(&client, events, &UploadOptions::default(), |cid| acked.lock().unwrap().push(*cid), &cancel)
                    .await;
            (report, started.elapsed())
        })
    };
    let deadline = Instant::now() + PATIENCE;
    while acked.lock().unwrap().len() < kill_after {
        assert!(!task.is_finished(), "the upload ended before the kill: {:?}", runtime.block_on(task));
        assert!(Instant::now() < deadline, "the upload did not get going:\n{}", cluster.logs());
        std::thread::sleep(Duration::from_millis(2));
    }
    let at_kill = acked.lock().unwrap().len();
    assert!(at_kill < events.len(), "the upload was over before the kill");
    let node = match victim {
        Victim::Connected => cluster.nodes.iter_mut().find(|n| n.port == connected).unwrap(),
        Victim::Other => {
            let others = || cluster.nodes.iter().filter(|n| n.port != connected);
            let name = others().find(|n| n.name == leader).or_else(|| others().next()).unwrap().name.clone();
            cluster.nodes.iter_mut().find(|n| n.name == name).unwrap()
        }
    };
    node.kill();
    eprintln!("killed {} ({victim:?}; the stream leader was {leader}) after {at_kill} acks", node.name);
    let (report, took) = runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(240), task).await })
        .expect("the upload did not end in 240 s")
        .unwrap();
    let report = report.unwrap_or_else(|e| panic!("the upload failed: {e}\n{}", cluster.logs()));
    eprintln!("the upload ended after {took:?}: {report:?}; the client is on port {}", client.server_info().port);
    assert_eq!(report.published + report.already_present, events.len(), "{report:?}");
    let acked = acked.lock().unwrap().clone();
    let mut counts: HashMap<Cid, usize> = HashMap::new();
    for cid in &acked {
        *counts.entry(*cid).or_default() += 1;
    }
    assert!(counts.values().all(|&n| n == 1), "on_acked called twice for an event");
    assert_eq!(counts.len(), events.len(), "on_acked not called for every event");
    assert!(events.iter().all(|e| counts.contains_key(&e.cid)));
    runtime.block_on(check_upload(&client, &events));
    drop(client);
    drop(runtime);
    drop(cluster);
}

#[test]
fn a_cluster_node_the_client_is_connected_to_killed_mid_upload_every_event_exactly_once() {
    killed_mid_upload(Victim::Connected, events(3000), 800);
}

#[test]
fn another_cluster_node_killed_mid_upload_every_event_exactly_once() {
    killed_mid_upload(Victim::Other, events(3000), 800);
}

/// On one server: objects the upload finds written otherwise — put by async-nats with a random
/// nuid (same content; or other content under the name), deleted — and a block of more than
/// one chunk. The upload keeps the first, replaces the others, leaves no orphan chunk, and
/// async-nats's own `ObjectStore::get` reads every block back.
#[test]
fn objects_written_otherwise_are_kept_or_replaced_without_orphans_and_async_nats_reads_all() {
    use cim_keys::sync::upload::{chunk_subject, object_nuid};
    use tokio::io::AsyncReadExt;

    let tmp = TempDir::new().unwrap();
    let store_dir = tmp.path().join("jetstream");
    let server = crate::support::nats_server::Server::start(
        tmp.path(),
        "js",
        &format!("jetstream {{ store_dir: {:?} }}\n", store_dir.display().to_string()),
    );
    let mut events = events(4);
    let big = vec![7u8; 300 * 1024];
    events[3].blocks.push((raw_cid_of(&big), big));
    let (same, other, deleted) =
        (events[0].blocks[0].clone(), events[1].blocks[0].clone(), events[2].blocks[0].clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut config = SyncConfig::new(vec![server.url()]);
        config.connect_timeout = Duration::from_secs(2);
        let client = connect(&config).await.unwrap();
        provision(&client, 1).await.unwrap();
        let js = jetstream::new(client.clone());
        let store = js.get_object_store(BUCKET).await.unwrap();
        store.put(same.0.to_string().as_str(), &mut &same.1[..]).await.unwrap();
        store.put(other.0.to_string().as_str(), &mut &b"not the block"[..]).await.unwrap();
        store.put(deleted.0.to_string().as_str(), &mut &deleted.1[..]).await.unwrap();
        store.delete(deleted.0.to_string()).await.unwrap();

        let report =
            upload(&client, events.clone(), &UploadOptions::default(), |_| {}, &AtomicBool::new(false)).await.unwrap();
        let distinct: HashSet<Cid> = events.iter().flat_map(|e| e.blocks.iter().map(|b| b.0)).collect();
        assert_eq!(report.published, 4, "{report:?}");
        assert_eq!(report.blocks_put, distinct.len() - 1, "all but the one already there: {report:?}");

        let objects = js.get_stream(BUCKET_STREAM).await.unwrap();
        for (cid, _) in [&same, &other, &deleted] {
            let info = store.info(cid.to_string()).await.unwrap();
            assert_ne!(info.nuid, object_nuid(cid), "{cid} was put by async-nats");
            assert!(
                objects.direct_get_last_for_subject(chunk_subject(&object_nuid(cid))).await.is_err(),
                "an orphan chunk for {cid}"
            );
        }
        for event in &events {
            for (cid, bytes) in &event.blocks {
                let mut object = store.get(cid.to_string()).await.unwrap_or_else(|e| panic!("get {cid}: {e}"));
                let mut read = Vec::new();
                object.read_to_end(&mut read).await.unwrap();
                assert!(read == *bytes, "the content of {cid}");
            }
        }
        // Again: nothing stays written (each chunk stored for an object put by async-nats is
        // purged again).
        let before = js.get_stream(BUCKET_STREAM).await.unwrap().cached_info().state.messages;
        let again =
            upload(&client, events.clone(), &UploadOptions::default(), |_| {}, &AtomicBool::new(false)).await.unwrap();
        assert_eq!((again.already_present, again.blocks_put), (4, 0), "{again:?}");
        assert_eq!(js.get_stream(BUCKET_STREAM).await.unwrap().cached_info().state.messages, before);
    });
}

/// `cim-keys sync` given a cluster's servers and no `--replicas` provisions with 3 replicas
/// (the server's INFO names its cluster), and uploads the vault's history once.
#[test]
fn sync_on_a_cluster_provisions_three_replicas_by_default() {
    let tmp = TempDir::new().unwrap();
    let cluster = Cluster::start(tmp.path());
    // Ready when a stream of 3 replicas can be created: the meta leader knows all three peers.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = connect(&config(&cluster)).await.unwrap();
        let js = jetstream::new(client);
        let probe = jetstream::stream::Config {
            name: "READY".into(),
            subjects: vec!["ready.>".into()],
            num_replicas: 3,
            ..Default::default()
        };
        retrying("a stream of 3 replicas", || js.create_stream(probe.clone())).await;
        retrying("deleting it", || js.delete_stream("READY")).await;
    });
    let vault = crate::support::Vault::new();
    crate::support::acme(&vault);
    let (graph, ..) = crate::support::upload_counts(&vault);
    let mut args = vec!["--json".to_owned(), "sync".to_owned()];
    for url in cluster.urls() {
        args.extend(["--server".to_owned(), url]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = vault.run(&args);
    assert_eq!(run.code, 0, "{run:?}\n{}", cluster.logs());
    let report = run.json();
    assert_eq!((report["replicas"].as_u64(), report["published"].as_u64()), (Some(3), Some(graph)), "{report}");
    runtime.block_on(async {
        let client = connect(&config(&cluster)).await.unwrap();
        let js = jetstream::new(client);
        for name in [STREAM, BUCKET_STREAM] {
            let info = retrying("stream info", || async {
                let mut stream = js.get_stream(name).await.map_err(|e| e.to_string())?;
                stream.info().await.cloned().map_err(|e| e.to_string())
            })
            .await;
            assert_eq!(info.config.num_replicas, 3, "{name}");
            if name == STREAM {
                assert_eq!(info.state.messages, graph);
            }
        }
    });
}
