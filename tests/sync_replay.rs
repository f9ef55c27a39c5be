//! `cim-keys replay` through the real binary against a real nats-server with JetStream: a rich
//! vault uploaded with `cim-keys sync` and replayed into a new data directory from the stream
//! and the object store alone equals the original (status, `events` listings, every read-model
//! table row by row, `verify --deep`), with nothing pending. Every bad case is one clear error
//! and leaves no vault behind: a server that is not there, a block deleted from the object
//! store, a forged message, two histories without `--head` (with `--head` either one replays),
//! an unknown `--head`, a forged sibling event (a fork; with `--head` naming it, the vault is
//! created, the re-derivation refuses it and the vault is removed), a cancelled replay, a
//! message removed from the stream (a broken chain). A data directory holding a vault with
//! events is refused and left untouched; an empty vault is replayed into.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use async_nats::jetstream;
use cid::Cid;
use cim_keys::projection::cid_of;
use cim_keys::sync::{BUCKET, STREAM, SyncConfig};
use serde_json::Value;
use tempfile::TempDir;

use crate::support::nats_server::Server;
use crate::support::{self, Run, Vault, read_models, rich_vault};

fn jetstream_server(dir: &Path) -> Server {
    let store = dir.join("jetstream");
    Server::start(dir, "js", &format!("jetstream {{ store_dir: {:?} }}\n", store.display().to_string()))
}

/// `cim-keys --data-dir DIR [--json] replay --server URL [extra…]`.
fn replay(dir: &Path, url: &str, extra: &[&str], json: bool) -> Run {
    let mut args = vec!["replay", "--server", url];
    if json {
        args.insert(0, "--json");
    }
    args.extend(extra);
    Run::from(support::bin().arg("--data-dir").arg(dir).args(&args).output().unwrap())
}

fn assert_equal_vaults(a: &Vault, b: &Vault) {
    assert_eq!(a.counts(), b.counts(), "status counts and head CID");
    assert_eq!(a.run(&["events"]).ok(), b.run(&["events"]).ok(), "events listing");
    assert_eq!(a.run(&["events", "--domain"]).ok(), b.run(&["events", "--domain"]).ok(), "events --domain listing");
    assert_eq!(read_models(a), read_models(b), "read models");
    b.run(&["verify", "--deep"]).ok();
}

fn head(vault: &Vault) -> String {
    vault.counts().2.unwrap()
}

/// The graph events of a vault: (CID, block, context, type), in chain order.
fn graph_events(vault: &Vault) -> Vec<(Cid, Vec<u8>, String, String)> {
    let conn = vault.sql();
    let mut stmt = conn.prepare("SELECT cid, bytes, context_id, event_type FROM graph_events ORDER BY seq").unwrap();
    stmt.query_map([], |r| {
        Ok((Cid::try_from(r.get::<_, Vec<u8>>(0)?.as_slice()).unwrap(), r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// One CID and block of the vault's domain events or artifacts.
fn block(vault: &Vault, sql: &str) -> (Cid, Vec<u8>) {
    vault
        .sql()
        .query_row(sql, [], |r| Ok((Cid::try_from(r.get::<_, Vec<u8>>(0)?.as_slice()).unwrap(), r.get(1)?)))
        .unwrap()
}

/// Fails the test unless `run` is one clear error line containing `message`, with exit `code`.
#[track_caller]
fn refused(run: &Run, code: i32, message: &str, case: &str) {
    assert_eq!(run.code, code, "{case}: {run:?}");
    assert!(run.stderr.contains(message), "{case}: expected {message:?} in {:?}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{case}: one clear line: {:?}", run.stderr);
    assert!(run.stdout.is_empty(), "{case}: {:?}", run.stdout);
}

#[test]
fn a_replayed_vault_equals_the_vault_that_uploaded_it() {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    let url = server.url();
    let (a, org) = rich_vault();
    a.run(&["key", "generate", "--owner", &org.ann]).ok();
    a.run(&["role", "define", "--org", &org.org, "--name", "Auditor"]).ok();
    a.run(&["sync", "--server", &url]).ok();

    let b = Vault::uninitialized();
    let run = replay(b.dir(), &url, &[], true);
    assert_eq!(run.code, 0, "{run:?}");
    let report: Value = run.json();
    assert_eq!(report["head"].as_str(), Some(head(&a).as_str()));
    assert_eq!(report["domain_events"].as_u64(), Some(a.counts().0));
    assert_eq!(report["graph_events"].as_u64(), Some(a.counts().1));
    assert_eq!(report["created"], true);
    assert_eq!(report["histories"], 1);
    assert!(report["artifacts"].as_u64().unwrap() > 5, "{report}");
    assert_equal_vaults(&a, &b);
    // Everything came from the server: nothing is pending.
    let graph = a.counts().1;
    assert_eq!(support::upload_counts(&b), (graph, 0, graph));

    // The replayed vault is a vault like any other: it records, and only the new is pending.
    b.run(&["org", "create", "--name", "After Replay"]).ok();
    assert_eq!(support::upload_counts(&b).1, 1);

    // A data directory holding a vault with events is refused and left as it was.
    let before = std::fs::read(b.db()).unwrap();
    refused(&replay(b.dir(), &url, &[], false), 2, "already holds a vault", "a vault with events");
    assert_eq!(std::fs::read(b.db()).unwrap(), before);

    // An empty vault is used as it is (no passphrase needed); human output.
    let empty = Vault::new();
    let run = Run::from(
        support::bin()
            .env_remove("CIM_KEYS_PASSPHRASE")
            .arg("--data-dir")
            .arg(empty.dir())
            .args(["replay", "--server", &url])
            .output()
            .unwrap(),
    );
    let text = run.ok();
    assert!(text.starts_with(&format!("replayed {} domain events", a.counts().0)), "{text}");
    assert!(text.contains(&head(&a)), "{text}");
    assert_equal_vaults(&a, &empty);
}

/// A stream message: its subject and sequence number.
async fn message_of(js: &jetstream::Context, subject: &str) -> u64 {
    let stream = js.get_stream(STREAM).await.unwrap();
    stream.get_last_raw_message_by_subject(subject).await.unwrap().sequence
}

#[test]
fn bad_servers_and_histories_are_refused_and_leave_no_vault() {
    // One runtime for the whole test: the client's connection lives on it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _entered = rt.enter();
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    let url = server.url();
    // Each case replays into a data directory that does not exist, and must leave none.
    let attempt = |extra: &[&str], code: i32, message: &str, case: &str| {
        let target = Vault::uninitialized();
        refused(&replay(target.dir(), &url, extra, false), code, message, case);
        assert!(!target.dir().exists(), "{case}: a data directory was left behind");
    };
    // A server nothing was synced to.
    attempt(&[], 1, "holds no stream CIM_GRAPH_EVENTS: nothing was synced to it", "nothing synced");
    let (a, _) = rich_vault();
    a.run(&["sync", "--server", &url]).ok();

    // A server that is not there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let target = Vault::uninitialized();
    refused(&replay(target.dir(), &format!("nats://127.0.0.1:{port}"), &[], false), 1, "cannot connect", "no server");
    assert!(!target.dir().exists(), "no server: a data directory was left behind");

    let events = graph_events(&a);
    let client = rt.block_on(async_nats::connect(&url)).unwrap();
    let js = jetstream::new(client.clone());
    let objects = rt.block_on(js.get_object_store(BUCKET)).unwrap();

    // A block deleted from the object store: a domain event's, then an artifact's.
    for (case, sql) in [
        ("domain event block deleted", "SELECT cid, bytes FROM domain_events ORDER BY seq DESC LIMIT 1"),
        ("artifact deleted", "SELECT cid, bytes FROM artifacts ORDER BY cid LIMIT 1"),
    ] {
        let (cid, bytes) = block(&a, sql);
        rt.block_on(objects.delete(cid.to_string())).unwrap();
        attempt(&[], 1, &format!("block {cid} is missing from the object store"), case);
        rt.block_on(objects.put(cid.to_string().as_str(), &mut bytes.as_slice())).unwrap();
    }

    // A forged message on a new subject: its payload is not the block its subject names.
    let (_, bytes, context, event_type) = &events[events.len() / 2];
    let mut forged = bytes.clone();
    let middle = forged.len() / 2;
    forged[middle] ^= 1;
    let claimed = cid_of(b"the block this message claims to be");
    let subject = format!("cim.graph.{context}.events.{event_type}.{claimed}");
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", claimed.to_string().as_str());
    rt.block_on(async {
        js.publish_with_headers(subject.clone(), headers, forged.into()).await.unwrap().await.unwrap()
    });
    attempt(&[], 1, "altered", "forged message");
    let seq = rt.block_on(message_of(&js, &subject));
    rt.block_on(async { js.get_stream(STREAM).await.unwrap().delete_message(seq).await.unwrap() });

    // Two histories (a second vault synced to the same server): refused without --head,
    // naming both heads; with --head, either replays.
    let c = Vault::new();
    support::acme(&c);
    c.run(&["sync", "--server", &url]).ok();
    let two = Vault::uninitialized();
    let run_ = replay(two.dir(), &url, &[], false);
    refused(&run_, 2, "holds 2 histories; choose one with --head", "two histories");
    assert!(run_.stderr.contains(&head(&a)) && run_.stderr.contains(&head(&c)), "{}", run_.stderr);
    assert!(!two.dir().exists());
    for vault in [&a, &c] {
        let target = Vault::uninitialized();
        let run_ = replay(target.dir(), &url, &["--head", &head(vault)], true);
        assert_eq!(run_.code, 0, "{run_:?}");
        assert_eq!(run_.json()["histories"], 2);
        assert_equal_vaults(vault, &target);
    }
    // A head the stream does not hold, or no CID at all: usage errors.
    let unknown = cid_of(b"no such event").to_string();
    attempt(&["--head", &unknown], 2, "holds no graph event", "unknown head");
    attempt(&["--head", "nope"], 2, "--head", "bad head");

    // A forged sibling of a's last graph event (well-formed, hashing to its subject's CID):
    // the history forks, refused without --head; with --head naming it, the vault is created
    // and the event re-derived from its domain event differs: refused, the vault removed.
    let (_, bytes, context, event_type) = events.last().unwrap();
    let mut linked = cim_keys::projection::GraphEvent::from_block(bytes).unwrap();
    linked.event.id = uuid::Uuid::from_u128(42);
    let sibling = linked.event.to_block(linked.prev).unwrap();
    let subject = cim_keys::sync::subject(context, event_type, &sibling.cid.to_string()).unwrap();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", sibling.cid.to_string().as_str());
    rt.block_on(async {
        js.publish_with_headers(subject, headers, sibling.bytes.clone().into()).await.unwrap().await.unwrap()
    });
    attempt(&[], 1, "the history forks", "a fork");
    let original = Vault::uninitialized();
    assert_eq!(replay(original.dir(), &url, &["--head", &head(&a)], false).code, 0);
    assert_equal_vaults(&a, &original);
    attempt(&["--head", &sibling.cid.to_string()], 1, "was altered", "forged sibling");

    // Cancelled (while fetching blocks): nothing is left.
    let target = Vault::uninitialized();
    let cancel = AtomicBool::new(false);
    let mut config = SyncConfig::new(vec![url.clone()]);
    config.connect_timeout = std::time::Duration::from_secs(2);
    let result = cim_keys::app::Vault::replay(
        target.dir(),
        &config,
        cid::Cid::try_from(head(&a).as_str()).ok(),
        &mut || Ok(cim_keys::crypto::keystore::Passphrase::new(support::PASSPHRASE.to_owned())?),
        &mut |p| {
            if p.phase == "fetching" {
                cancel.store(true, Ordering::Relaxed);
            }
        },
        &cancel,
    );
    let error = result.unwrap_err().to_string();
    assert!(error.contains("cancelled"), "{error}");
    assert!(!target.dir().exists());

    // Last, as it cannot be undone within the stream's duplicate window (a message published
    // again with the same Nats-Msg-Id is dropped as a duplicate): a message removed from the
    // stream breaks the chain.
    let (cid, _, context, event_type) = &events[3];
    let subject = cim_keys::sync::subject(context, event_type, &cid.to_string()).unwrap();
    let seq = rt.block_on(message_of(&js, &subject));
    rt.block_on(async { js.get_stream(STREAM).await.unwrap().delete_message(seq).await.unwrap() });
    attempt(&["--head", &head(&a)], 1, "the chain is broken", "broken chain");
}
