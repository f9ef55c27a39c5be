//! The upload against a real nats-server with JetStream (feature `sync`): a few thousand
//! synthetic events reach the stream exactly once with their blocks in the object store, an
//! independent consumer checks every message, header and block; uploading again — within the
//! duplicate window and after it — adds nothing; a server killed and restarted mid-upload
//! (while blocks are put, or with publish acks in flight) ends with every event exactly once;
//! permanent errors stop at once and cancelling stops cleanly.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use cid::Cid;
use cim_keys::sync::provision::stream_config;
use cim_keys::sync::{STREAM, SyncConfig, UploadEvent, UploadOptions, UploadReport, connect, provision, upload};
use tempfile::TempDir;

use crate::support::nats_server::{Server, check_upload, spawn, synthetic_events, wait_ready};

fn events(n: usize) -> Vec<UploadEvent> {
    synthetic_events(n, 1)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn run<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

fn jetstream_server(dir: &Path) -> Server {
    let store = dir.join("jetstream");
    Server::start(dir, "js", &format!("jetstream {{ store_dir: {:?} }}\n", store.display().to_string()))
}

/// The same server again, on the same port and store directory (`js.conf`, written by
/// [`Server::start`]), after the first was killed.
struct Restarted(Child);

impl Restarted {
    fn start(dir: &Path, port: u16) -> Restarted {
        let log: PathBuf = dir.join("js-restarted.log");
        let mut child = spawn(&[], &dir.join("js.conf"), &log);
        wait_ready(&mut child, port, &log, Instant::now() + Duration::from_secs(20));
        Restarted(child)
    }
}

impl Drop for Restarted {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(port: u16) -> SyncConfig {
    let mut config = SyncConfig::new(vec![format!("nats://127.0.0.1:{port}")]);
    config.connect_timeout = Duration::from_secs(2);
    config
}

fn unique_blocks(events: &[UploadEvent]) -> usize {
    events.iter().flat_map(|e| e.blocks.iter().map(|b| b.0)).collect::<HashSet<_>>().len()
}

/// Uploads, collecting the CIDs `on_acked` saw.
async fn upload_all(
    client: &async_nats::Client,
    events: &[UploadEvent],
) -> (Result<UploadReport, cim_keys::sync::SyncError>, Vec<Cid>) {
    let mut acked = Vec::new();
    let result =
        upload(client, events.to_vec(), &UploadOptions::default(), |cid| acked.push(*cid), &AtomicBool::new(false))
            .await;
    (result, acked)
}

fn assert_once_each(acked: &[Cid], events: &[UploadEvent]) {
    let mut counts: HashMap<Cid, usize> = HashMap::new();
    for cid in acked {
        *counts.entry(*cid).or_default() += 1;
    }
    assert!(counts.values().all(|&n| n == 1), "on_acked called twice for an event");
    assert_eq!(counts.len(), events.len(), "on_acked not called for every event");
    assert!(events.iter().all(|e| counts.contains_key(&e.cid)));
}

async fn stream_messages(client: &async_nats::Client) -> u64 {
    jetstream::new(client.clone()).get_stream(STREAM).await.unwrap().get_info().await.unwrap().state.messages
}

#[test]
fn upload_is_complete_and_idempotent_within_and_after_the_duplicate_window() {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    let events = events(2000);
    run(async {
        let client = connect(&config(server.port)).await.unwrap();
        // The stream as provisioning makes it, but with a 1 s duplicate window.
        let js = jetstream::new(client.clone());
        js.create_stream(jetstream::stream::Config { duplicate_window: Duration::from_secs(1), ..stream_config(1) })
            .await
            .unwrap();
        provision(&client, 1).await.unwrap();

        let started = Instant::now();
        let (report, acked) = upload_all(&client, &events).await;
        let report = report.unwrap();
        eprintln!("first upload of {} events: {report:?} in {:?}", events.len(), started.elapsed());
        assert_eq!((report.published, report.already_present), (2000, 0));
        assert_eq!(report.blocks_put, unique_blocks(&events));
        assert_eq!(report.blocks_put + report.blocks_present, 3 * 2000);
        assert_once_each(&acked, &events);
        let started = Instant::now();
        check_upload(&client, &events).await;
        eprintln!("verified in {:?}", started.elapsed());

        // Again at once: within the duplicate window, or already on the subject.
        let started = Instant::now();
        let (report, acked) = upload_all(&client, &events).await;
        let report = report.unwrap();
        eprintln!("second upload: {report:?} in {:?}", started.elapsed());
        assert_eq!((report.published, report.already_present, report.blocks_put), (0, 2000, 0));
        assert_once_each(&acked, &events);
        assert_eq!(stream_messages(&client).await, 2000);

        // After the duplicate window: only Expected-Last-Subject-Sequence stands in the way.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (report, acked) = upload_all(&client, &events).await;
        let report = report.unwrap();
        eprintln!("third upload, after the duplicate window: {report:?}");
        assert_eq!((report.published, report.already_present, report.blocks_put), (0, 2000, 0));
        assert_once_each(&acked, &events);
        assert_eq!(stream_messages(&client).await, 2000);
    });
}

/// Uploads `events` in a task, kills the server once `kill_after` events were acknowledged,
/// restarts it on the same port and store after 11 s, lets the upload finish or fail, runs it
/// again, and checks that the stream holds every event exactly once with all its blocks.
fn killed_mid_upload(events: Vec<UploadEvent>, kill_after: usize) {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    let port = server.port;
    let runtime = runtime();
    let client = runtime.block_on(async {
        let client = connect(&config(port)).await.unwrap();
        provision(&client, 1).await.unwrap();
        client
    });
    let acked = Arc::new(Mutex::new(Vec::new()));
    let task = {
        let (client, events, acked) = (client.clone(), events.clone(), acked.clone());
        runtime.spawn(async move {
            let cancel = AtomicBool::new(false);
            upload(&client, events, &UploadOptions::default(), |cid| acked.lock().unwrap().push(*cid), &cancel).await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < kill_after {
        if task.is_finished() {
            break;
        }
        assert!(Instant::now() < deadline, "the upload did not get going");
        std::thread::sleep(Duration::from_millis(5));
    }
    let at_kill = acked.lock().unwrap().len();
    drop(server);
    // Down for longer than the 5 s acknowledgement timeout and the 10 s request timeout, so
    // that requests surely fail and are retried (a short outage is bridged by async-nats
    // itself: it queues the requests and sends them after reconnecting).
    std::thread::sleep(Duration::from_secs(11));
    let _restarted = Restarted::start(tmp.path(), port);
    let started = Instant::now();
    let first =
        runtime.block_on(async { tokio::time::timeout(Duration::from_secs(180), task).await.unwrap().unwrap() });
    eprintln!("killed after {at_kill} acks; the interrupted upload ended after {:?}: {first:?}", started.elapsed());
    let first_acked = acked.lock().unwrap().clone();
    assert_eq!(first_acked.iter().collect::<HashSet<_>>().len(), first_acked.len(), "on_acked twice in one run");
    if let Ok(report) = first {
        assert_eq!(report.published + report.already_present, events.len());
        assert_once_each(&first_acked, &events);
    }
    runtime.block_on(async {
        let (report, acked) = upload_all(&client, &events).await;
        let report = report.unwrap();
        eprintln!("the upload run again: {report:?}");
        assert_eq!(report.published + report.already_present, events.len());
        assert_once_each(&acked, &events);
        check_upload(&client, &events).await;
    });
}

/// Killed right after a window was acknowledged: the next window's block puts (info requests)
/// time out and are retried.
#[test]
fn a_server_killed_while_blocks_are_put_ends_with_every_event_exactly_once() {
    killed_mid_upload(events(3000), 700);
}

/// Events without blocks, so the kill hits a window of publishes in flight: their acks are
/// lost, the retries are answered "wrong last sequence" and count as already present.
#[test]
fn a_server_killed_while_acks_are_in_flight_ends_with_every_event_exactly_once() {
    let mut events = events(3000);
    for event in &mut events {
        event.blocks.clear();
    }
    killed_mid_upload(events, 1000);
}

#[test]
fn permanent_errors_stop_at_once_and_cancel_stops_cleanly() {
    let tmp = TempDir::new().unwrap();
    let store = tmp.path().join("jetstream");
    let conf = format!("max_payload: 4096\njetstream {{ store_dir: {:?} }}\n", store.display().to_string());
    let server = Server::start(tmp.path(), "small", &conf);
    run(async {
        let client = connect(&config(server.port)).await.unwrap();
        provision(&client, 1).await.unwrap();
        let mut acked = 0;
        let cancel = AtomicBool::new(false);

        // Larger than the server's max_payload: not retried.
        let mut big = events(1).remove(0);
        big.bytes = vec![7; 10_000];
        big.blocks.clear();
        let started = Instant::now();
        let error = upload(&client, vec![big], &UploadOptions::default(), |_| acked += 1, &cancel).await.unwrap_err();
        assert!(error.to_string().contains("larger than the server or the stream accepts"), "{error}");
        assert!(!error.is_retryable() && started.elapsed() < Duration::from_secs(3), "{error}");

        // Cancelled before the start: nothing happens.
        cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        let report = upload(&client, events(3), &UploadOptions::default(), |_| acked += 1, &cancel).await.unwrap();
        assert!(report.cancelled && report.published == 0 && report.blocks_put == 0, "{report:?}");
        cancel.store(false, std::sync::atomic::Ordering::Relaxed);

        // The stream is gone: not retried either.
        jetstream::new(client.clone()).delete_stream(STREAM).await.unwrap();
        let started = Instant::now();
        let error = upload(&client, events(3), &UploadOptions::default(), |_| acked += 1, &cancel).await.unwrap_err();
        assert!(error.to_string().contains("does not exist") && !error.is_retryable(), "{error}");
        assert!(started.elapsed() < Duration::from_secs(3), "{error}");
        assert_eq!(acked, 0, "on_acked for an event that is not in the stream");
    });
}
