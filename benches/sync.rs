//! The sync upload of 100,000 graph events (messages and object store blocks) vs a raw
//! async-nats loop publishing 100,000 messages of the same size with pipelined acks, to the
//! same nats-server in the same run (feature `sync`).
//!
//! The benchmark starts its own nats-server (JetStream, file storage in a temporary directory
//! under `target/tmp`, a free port on 127.0.0.1; killed at the end), found on `PATH` or in
//! `target/tools/venv/bin` (`scripts/test --prerequisites` installs it there).
//!
//! * **ours:** `cim_keys::sync::upload` with the default [`UploadOptions`] of 100,000
//!   synthetic events shaped like a vault's: each a graph event block of 200–400 bytes with a
//!   dag-cbor CID (the message payload, and a block); a domain event block of 300–600 bytes
//!   (raw CID) shared by 1, 2 or 3 consecutive graph events, as a domain event is lifted into
//!   1–3 graph events; and for every 10th domain event an artifact of about 1 KB (a JWT or a
//!   certificate) listed by each of its graph events. That is 100,000 messages on the stream
//!   and about 155,000 objects (one chunk message and one meta message each) in the bucket.
//!   Before each round, untimed: the stream and the bucket are deleted and provisioned again,
//!   so every round uploads everything (nothing is "already present"), and the events are
//!   cloned. Timed: the call, until every event is acknowledged.
//! * **raw:** on the same connection, 100,000 `jetstream::Context::publish` calls of payloads
//!   of the graph event blocks' sizes (no headers) to one subject of a plain stream (file
//!   storage, deleted and created again before each round, untimed), the acks awaited in
//!   windows of 256, as ours awaits its events.
//!
//! Target (issue 6): ratio raw/ours >= 0.25.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream::StorageType};
use cim_keys::projection::{cid_of, raw_cid_of};
use cim_keys::sync::provision::BUCKET_STREAM;
use cim_keys::sync::{STREAM, SyncConfig, UploadEvent, UploadOptions, connect, provision, upload};
use common::{Mode, black_box, fmt_secs, interleave, report, temp_dir};
use uuid::Uuid;

/// The raw side's stream and subject.
const RAW_STREAM: &str = "BENCH_RAW";
const RAW_SUBJECT: &str = "bench.raw";
/// Acks the raw side awaits at once (ours: `UploadOptions::default().window`).
const RAW_WINDOW: usize = 256;

fn main() {
    let mode = Mode::from_args();
    let n = mode.pick(100_000, 300);
    let rounds = mode.pick(5, 1);

    let dir = temp_dir();
    let server = BenchServer::start(dir.path());
    println!("sync: nats-server on 127.0.0.1:{}, store in {}", server.port, dir.path().display());
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let client = runtime
        .block_on(connect(&SyncConfig::new(vec![format!("nats://127.0.0.1:{}", server.port)])))
        .expect("connect");
    let js = runtime.block_on(async { jetstream::new(client.clone()) });

    let events = events(n);
    let blocks: std::collections::HashSet<_> = events.iter().flat_map(|e| e.blocks.iter().map(|b| b.0)).collect();
    let payload_bytes: usize = events.iter().map(|e| e.bytes.len()).sum();
    let block_bytes: usize = {
        let mut seen = std::collections::HashSet::new();
        events.iter().flat_map(|e| &e.blocks).filter(|b| seen.insert(b.0)).map(|b| b.1.len()).sum()
    };
    println!(
        "sync: {n} events ({payload_bytes} bytes of payload), {} distinct blocks ({block_bytes} bytes)",
        blocks.len()
    );
    let sizes: Vec<usize> = events.iter().map(|e| e.bytes.len()).collect();

    // For scale, not judged: the same events without their graph event blocks in the bucket
    // (each is the payload of its stream message already).
    let without_graph_blocks: Vec<UploadEvent> = events
        .iter()
        .map(|e| UploadEvent { blocks: e.blocks.iter().filter(|b| b.0 != e.cid).cloned().collect(), ..e.clone() })
        .collect();
    let ours = || runtime.block_on(ours_round(&js, &client, &events, blocks.len()));
    let raw = || {
        runtime.block_on(async {
            reset_raw(&js).await;
            let started = Instant::now();
            let mut acked = 0usize;
            for window in sizes.chunks(RAW_WINDOW) {
                let mut acks = Vec::with_capacity(window.len());
                for &size in window {
                    acks.push(js.publish(RAW_SUBJECT, vec![b'r'; size].into()).await.expect("raw publish"));
                }
                for ack in acks {
                    black_box(ack.await.expect("raw ack"));
                    acked += 1;
                }
            }
            let elapsed = started.elapsed();
            assert_eq!(acked, n);
            elapsed.as_secs_f64() / n as f64
        })
    };
    if std::env::var("CIM_KEYS_SYNC_BENCH_ONLY").is_ok_and(|v| v == "experiments") {
        runtime.block_on(experiments(&js, &client, &events, &server));
        return;
    }
    if let Ok(side) = std::env::var("CIM_KEYS_SYNC_BENCH_ONLY") {
        // Profiling aid (`ours` or `raw`): one side alone, with the CPU time of this process
        // and the server's.
        let mut run: Box<dyn FnMut() -> f64> = if side == "ours" { Box::new(ours) } else { Box::new(raw) };
        for _ in 0..rounds {
            let before = (cpu_seconds(std::process::id()), cpu_seconds(server.child.id()));
            let per = run();
            let after = (cpu_seconds(std::process::id()), cpu_seconds(server.child.id()));
            println!(
                "{side}: {}/event, wall {:.2} s, CPU client {:.2} s, server {:.2} s",
                fmt_secs(per),
                per * n as f64,
                after.0 - before.0,
                after.1 - before.1
            );
        }
        return;
    }
    let started = Instant::now();
    let samples = interleave(rounds, ours, raw);
    let verdict = report(mode, "sync upload", "event", &samples, 0.25);
    println!(
        "    ours {} per {n} events, raw {} per {n} messages (benchmark took {})",
        fmt_secs(samples.ours() * n as f64),
        fmt_secs(samples.raw() * n as f64),
        fmt_secs(started.elapsed().as_secs_f64())
    );
    let variant: Vec<f64> = (0..rounds.min(3))
        .map(|_| runtime.block_on(ours_round(&js, &client, &without_graph_blocks, blocks.len() - n)))
        .collect();
    println!(
        "    for scale, not judged: ours without the graph event blocks in the bucket {}/event ({} rounds after the \
         others; ratio raw/that {:.2})",
        fmt_secs(common::median(&variant)),
        variant.len(),
        samples.raw() / common::median(&variant)
    );
    vault_line(mode, &runtime, &js, &client, &server, dir.path(), rounds.min(3), samples.raw());
    drop(client);
    drop(runtime);
    drop(server);
    common::finish(mode, &[verdict]);
}

/// For scale, not judged: `Vault::sync_upload` of a real vault (50,001 domain events, 100,001
/// graph events; quick: 151 and 301) into a fresh stream and bucket, `rounds` times, each on a
/// fresh copy of the vault (copying untimed): reading the outbox, the upload, marking.
#[allow(clippy::too_many_arguments)]
fn vault_line(
    mode: Mode,
    runtime: &tokio::runtime::Runtime,
    js: &jetstream::Context,
    client: &async_nats::Client,
    server: &BenchServer,
    dir: &Path,
    rounds: usize,
    raw: f64,
) {
    let template = dir.join("vault");
    drop(common::build_vault(&template, mode.pick(50_001, 151)));
    let config = SyncConfig::new(vec![format!("nats://127.0.0.1:{}", server.port)]);
    let mut per_event = Vec::new();
    let mut last = None;
    for round in 0..rounds {
        let copy = dir.join(format!("vault-{round}"));
        common::copy_vault(&template, &copy);
        runtime.block_on(reset_ours(js, client));
        let mut vault = cim_keys::app::Vault::open(&copy).expect("open the copy");
        let started = Instant::now();
        let report = vault.sync_upload(&config, &mut |_| {}, &AtomicBool::new(false)).expect("sync_upload");
        per_event.push(started.elapsed().as_secs_f64() / report.acknowledged as f64);
        assert_eq!(report.pending, 0, "{report:?}");
        drop(vault);
        let _ = std::fs::remove_dir_all(&copy);
        last = Some(report);
    }
    let report = last.expect("at least one round");
    println!(
        "    for scale, not judged: Vault::sync_upload of {} graph events ({} blocks put): {}/event \
         (median of {rounds} rounds after the others; ratio raw/that {:.2})",
        report.acknowledged,
        report.blocks_put,
        fmt_secs(common::median(&per_event)),
        raw / common::median(&per_event)
    );
}

/// One round of ours: a fresh stream and bucket (untimed), then the upload of a copy of
/// `events` (the copy untimed), which must publish every event and put `blocks` blocks.
/// Seconds per event.
async fn ours_round(
    js: &jetstream::Context,
    client: &async_nats::Client,
    events: &[UploadEvent],
    blocks: usize,
) -> f64 {
    reset_ours(js, client).await;
    let batch = events.to_vec();
    let n = batch.len();
    let started = Instant::now();
    let mut acked = 0usize;
    let report = upload(client, batch, &UploadOptions::default(), |_| acked += 1, &AtomicBool::new(false))
        .await
        .expect("upload");
    let elapsed = started.elapsed();
    assert_eq!((report.published, acked, report.blocks_put), (n, n, blocks), "{report:?}");
    black_box(report);
    elapsed.as_secs_f64() / n as f64
}

/// User + system CPU seconds of process `pid` so far (Linux), 0 elsewhere.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 (utime, stime), counted from the state, field 3; clock ticks of 1/100 s.
    (ticks(11) + ticks(12)) / 100.0
}

/// A deterministic pseudo-random number in `0..bound` (xorshift of `seed`).
fn pick(seed: u64, bound: usize) -> usize {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x % bound as u64) as usize
}

/// `n` events shaped like a vault's (see the module docs).
fn events(n: usize) -> Vec<UploadEvent> {
    let context = "0190f3c4-7b1e-7c3a-9d2e-123456789abc";
    let mut events = Vec::with_capacity(n);
    let mut domain_index = 0u64;
    while events.len() < n {
        let shares = 1 + pick(domain_index, 3);
        let domain = filler(&format!("domain event {domain_index}"), 300 + pick(domain_index + 1, 301));
        let domain_cid = raw_cid_of(&domain);
        let artifact = (domain_index % 10 == 9)
            .then(|| filler(&format!("artifact {domain_index}"), 900 + pick(domain_index + 2, 250)));
        for k in 0..shares.min(n - events.len()) {
            let i = events.len() as u64;
            let bytes = filler(&format!("graph event {i} of {domain_index}"), 200 + pick(i + 3, 201));
            let cid = cid_of(&bytes);
            let mut blocks = vec![(cid, bytes.clone()), (domain_cid, domain.clone())];
            if let Some(artifact) = &artifact {
                blocks.push((raw_cid_of(artifact), artifact.clone()));
            }
            events.push(UploadEvent {
                cid,
                event_id: Uuid::from_u128(u128::from(i) * 3 + 1),
                correlation_id: Uuid::from_u128(u128::from(domain_index) + (1 << 64)),
                causation_id: Uuid::from_u128(u128::from(i) * 3 + 3),
                context: context.to_owned(),
                event_type: ["BoundedContextCreated", "AggregateAdded", "EntityAdded"][k % 3].to_owned(),
                bytes,
                blocks,
            });
        }
        domain_index += 1;
    }
    events
}

/// `len` bytes starting with `label`, the rest a repeated letter.
fn filler(label: &str, len: usize) -> Vec<u8> {
    let mut bytes = label.as_bytes().to_vec();
    bytes.resize(len.max(bytes.len()), b'x');
    bytes
}

/// Deletes our stream and bucket if they exist and provisions them again.
async fn reset_ours(js: &jetstream::Context, client: &async_nats::Client) {
    for name in [STREAM, BUCKET_STREAM] {
        let _ = js.delete_stream(name).await;
    }
    provision(client, 1).await.expect("provision");
}

/// Deletes the raw stream if it exists and creates it again.
async fn reset_raw(js: &jetstream::Context) {
    let _ = js.delete_stream(RAW_STREAM).await;
    js.create_stream(jetstream::stream::Config {
        name: RAW_STREAM.to_owned(),
        subjects: vec![RAW_SUBJECT.to_owned()],
        storage: StorageType::File,
        ..Default::default()
    })
    .await
    .expect("raw stream");
}

/// `nats-server` from `PATH`, or from `target/tools/venv/bin`.
fn nats_server_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/venv/bin");
    std::env::split_paths(&path).chain([tools]).map(|dir| dir.join("nats-server")).find(|p| p.is_file()).unwrap_or_else(
        || {
            panic!(
                "nats-server was not found on PATH or in target/tools/venv/bin: run `scripts/test --prerequisites` \
                 and `source scripts/env`"
            )
        },
    )
}

/// The benchmark's nats-server, killed when dropped.
struct BenchServer {
    child: Child,
    port: u16,
}

impl BenchServer {
    fn start(dir: &Path) -> BenchServer {
        let port = TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("address").port();
        let conf = dir.join("nats.conf");
        let store = dir.join("jetstream");
        std::fs::write(
            &conf,
            format!("port: {port}\nhost: 127.0.0.1\njetstream {{ store_dir: {:?} }}\n", store.display().to_string()),
        )
        .expect("write nats.conf");
        let log = dir.join("nats.log");
        let file = std::fs::File::create(&log).expect("nats.log");
        let child = Command::new(nats_server_binary())
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::from(file.try_clone().expect("log file")))
            .stderr(Stdio::from(file))
            .spawn()
            .expect("nats-server starts");
        let mut server = BenchServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(status) = server.child.try_wait().expect("nats-server status") {
                panic!("nats-server exited ({status}):\n{text}");
            }
            if text.contains("Server is ready") && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            assert!(Instant::now() < deadline, "nats-server was not ready in 20 s:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Profiling aid (`CIM_KEYS_SYNC_BENCH_ONLY=experiments`): each kind of message ours writes,
/// alone, published like raw (windows of 256 pipelined acks) into a fresh stream and bucket,
/// with the CPU time of this process and of the server: the events (their subjects and
/// headers), the chunks (one subject each, with and without
/// `Nats-Expected-Last-Subject-Sequence`, and all on one subject), the meta messages (with and
/// without `Nats-Rollup`). The meta payloads have the real shape, not the real digests.
async fn experiments(
    js: &jetstream::Context,
    client: &async_nats::Client,
    events: &[UploadEvent],
    server: &BenchServer,
) {
    use async_nats::jetstream::message::PublishMessage;
    let mut blocks = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in events {
        for (cid, b) in &e.blocks {
            if seen.insert(*cid) {
                blocks.push((*cid, b.clone()));
            }
        }
    }
    for variant in ["events", "chunks", "chunks-noelss", "metas-rollup", "metas-norollup", "chunks-1subject"] {
        reset_ours(js, client).await;
        let messages: Vec<(String, PublishMessage)> = match variant {
            "events" => events
                .iter()
                .map(|e| {
                    (
                        format!("cim.graph.{}.events.{}.{}", e.context, e.event_type, e.cid),
                        PublishMessage::build()
                            .payload(e.bytes.clone().into())
                            .message_id(e.cid.to_string())
                            .expected_last_subject_sequence(0)
                            .header("Cim-Event-Id", e.event_id.to_string())
                            .header("Cim-Correlation-Id", e.correlation_id.to_string())
                            .header("Cim-Causation-Id", e.causation_id.to_string())
                            .header("Cim-Event-Type", e.event_type.as_str()),
                    )
                })
                .collect(),
            "chunks" | "chunks-noelss" | "chunks-1subject" => blocks
                .iter()
                .map(|(cid, b)| {
                    let subject = if variant == "chunks-1subject" {
                        "$O.cim-graph-payloads.C.x".to_owned()
                    } else {
                        format!("$O.cim-graph-payloads.C.{}", cim_keys::sync::upload::object_nuid(cid))
                    };
                    let m = PublishMessage::build().payload(b.clone().into());
                    (subject, if variant == "chunks" { m.expected_last_subject_sequence(0) } else { m })
                })
                .collect(),
            _ => blocks
                .iter()
                .map(|(cid, b)| {
                    let name = cid.to_string();
                    let payload = serde_json::json!({
                        "name": name, "description": null, "metadata": {}, "headers": null,
                        "options": {"link": null, "max_chunk_size": 131072}, "bucket": "cim-graph-payloads",
                        "nuid": cim_keys::sync::upload::object_nuid(cid), "size": b.len(), "chunks": 1,
                        "mtime": "2026-11-23T02:50:00.123456789Z", "digest": cim_keys::sync::upload::object_digest(b),
                    })
                    .to_string();
                    let m =
                        PublishMessage::build().payload(payload.into_bytes().into()).expected_last_subject_sequence(0);
                    let m = if variant == "metas-rollup" { m.header("Nats-Rollup", "sub") } else { m };
                    (cim_keys::sync::upload::meta_subject(&name), m)
                })
                .collect(),
        };
        let count = messages.len();
        let before = (cpu_seconds(std::process::id()), cpu_seconds(server.child.id()));
        let started = Instant::now();
        let mut it = messages.into_iter();
        loop {
            let window: Vec<_> = it.by_ref().take(256).collect();
            if window.is_empty() {
                break;
            }
            let mut acks = Vec::new();
            for (subject, m) in window {
                acks.push(js.send_publish(subject, m).await.expect("publish"));
            }
            for ack in acks {
                ack.await.expect("ack");
            }
        }
        let wall = started.elapsed().as_secs_f64();
        let after = (cpu_seconds(std::process::id()), cpu_seconds(server.child.id()));
        println!(
            "{variant}: {count} messages in {wall:.2} s = {:.2} µs/message; CPU client {:.2} s, server {:.2} s",
            wall / count as f64 * 1e6,
            after.0 - before.0,
            after.1 - before.1
        );
    }
}
