//! The upload: graph events to the stream, their blocks to the object store, exactly once
//! however often it is interrupted or repeated. Normative description:
//! `docs/formats/subjects.md` §2–§5.
//!
//! The caller hands [`upload`] a sequence of [`UploadEvent`]s (later: the vault's outbox). They
//! are taken in *windows* of [`UploadOptions::window`] events; for each window:
//!
//! 1. every block of the window (the graph event block, its domain event block, its artifacts)
//!    not handled earlier in this upload is put into the bucket [`BUCKET`] under its CID text,
//!    [`UploadOptions::block_concurrency`] blocks at a time. A block of one chunk (up to
//!    [`CHUNK_SIZE`], all of them in practice) is written the way async-nats writes an object,
//!    without reading first: its chunk on a subject named after the CID ([`object_nuid`]),
//!    then, once acknowledged, its meta message, each with
//!    `Nats-Expected-Last-Subject-Sequence: 0`, so that a block already there is answered
//!    *wrong last sequence* and written once, forever. Larger blocks, empty ones and names
//!    holding an object written otherwise go through async-nats (info, then put unless the
//!    object has the same size and SHA-256 digest);
//! 2. once all of them are acknowledged, every event is published on its own subject
//!    ([`subject`]) with `Nats-Msg-Id` = its CID and `Nats-Expected-Last-Subject-Sequence: 0`,
//!    the acknowledgements pipelined (all of the window's acks in flight at once, awaited
//!    together) — while the blocks of the next window are put, so that the server always has
//!    work queued. Blocks still go first: an event in the stream always has its blocks;
//! 3. an event the server stored, or answered *wrong last sequence* (10071: the subject already
//!    holds it) or *duplicate* for, is reported to `on_acked`, and only such an event: nothing
//!    is marked uploaded without the server's word.
//!
//! Failures are sorted in two: *transient* (a timeout, no responders while a server restarts, a
//! dropped connection, a cluster without a leader) retries the failed items of the window after
//! a backoff of [`UploadOptions::backoff_min`], doubling up to [`UploadOptions::backoff_max`],
//! and gives up after [`UploadOptions::max_retries`] rounds with [`SyncError::Timeout`];
//! *permanent* (permission denied, the stream missing, a message too large, any other JetStream
//! error) stops at once. Either way the events acknowledged so far have been reported.
//!
//! A publish whose acknowledgement was lost (the server stored it, then the connection
//! dropped) is retried and then answered *wrong last sequence*: it counts as already present,
//! so [`UploadReport::published`] can undercount across interruptions, never the total.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::context::{GetStreamErrorKind, PublishError, PublishErrorKind};
use async_nats::jetstream::object_store::{InfoErrorKind, ObjectInfo, ObjectOptions, ObjectStore};
use async_nats::jetstream::{self, ErrorCode, message::PublishMessage, stream::Stream};
use cid::Cid;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::connect::server_of;
use super::error::{error_chain, jetstream_error};
use super::provision::BUCKET_STREAM;
use super::{BUCKET, STREAM, SyncError, subject};

/// The most acknowledgements ever in flight: async-nats deadlocks past about 5000 un-awaited
/// acks, so larger windows are cut to this.
pub const MAX_WINDOW: usize = 4096;

/// Header: the graph event's id.
pub const HEADER_EVENT_ID: &str = "Cim-Event-Id";
/// Header: the graph event's correlation id.
pub const HEADER_CORRELATION_ID: &str = "Cim-Correlation-Id";
/// Header: the graph event's causation id.
pub const HEADER_CAUSATION_ID: &str = "Cim-Causation-Id";
/// Header: the graph event's type.
pub const HEADER_EVENT_TYPE: &str = "Cim-Event-Type";

/// One graph event to upload, with the blocks that must be in the object store before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadEvent {
    /// The graph event block's CID.
    pub cid: Cid,
    /// The graph event's `id`.
    pub event_id: Uuid,
    /// Its `correlation`.
    pub correlation_id: Uuid,
    /// Its `causation`.
    pub causation_id: Uuid,
    /// Its `context` (the subject's `{context}` token).
    pub context: String,
    /// Its `type` (the subject's `{event_type}` token).
    pub event_type: String,
    /// The graph event block: the message payload.
    pub bytes: Vec<u8>,
    /// The blocks to put into the object store, by CID: usually the graph event block itself,
    /// its domain event block and its artifacts. The caller decides; the CIDs are not checked.
    pub blocks: Vec<(Cid, Vec<u8>)>,
}

/// How [`upload`] paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadOptions {
    /// Events per window: acknowledgements in flight at once (1..=[`MAX_WINDOW`]; values
    /// outside are clamped). Default 256.
    pub window: usize,
    /// Blocks being put at once (at least 1), each with one acknowledgement in flight at a
    /// time. Default 512.
    pub block_concurrency: usize,
    /// Rounds of retries of a window's failed items before giving up. Default 10 (about 25 s
    /// of backoff, plus the 5 s acknowledgement timeouts).
    pub max_retries: u32,
    /// The first backoff. Default 100 ms.
    pub backoff_min: Duration,
    /// The longest backoff. Default 5 s.
    pub backoff_max: Duration,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            window: 256,
            block_concurrency: 512,
            max_retries: 10,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
        }
    }
}

impl UploadOptions {
    /// The backoff before retry round `attempt` (1 = the first retry): `backoff_min`
    /// doubling, capped at `backoff_max`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1).min(31)).unwrap_or(u32::MAX);
        self.backoff_min.saturating_mul(factor).min(self.backoff_max)
    }
}

/// What an [`upload`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UploadReport {
    /// Events the stream stored now.
    pub published: usize,
    /// Events the stream already held (wrong last sequence, or a duplicate within the window).
    pub already_present: usize,
    /// Blocks put into the object store.
    pub blocks_put: usize,
    /// Blocks already there with the same size and digest (or given twice in this upload).
    pub blocks_present: usize,
    /// Retry rounds that were needed (events and blocks).
    pub retries: usize,
    /// The upload stopped because `cancel` was set; the events before were all reported.
    pub cancelled: bool,
}

/// A failure, sorted.
enum Failure {
    /// Try again after a backoff.
    Transient(String),
    /// Stop now.
    Permanent(SyncError),
}

/// Uploads `events` (see the module docs). `on_acked` is called once for each event the
/// server acknowledged or already held, in windows, never for any other. `cancel` is looked
/// at between windows and during backoffs; when set, the upload stops with
/// [`UploadReport::cancelled`]. Dropping the future is also safe: nothing not acknowledged was
/// reported.
pub async fn upload<I, F>(
    client: &async_nats::Client,
    events: I,
    options: &UploadOptions,
    mut on_acked: F,
    cancel: &AtomicBool,
) -> Result<UploadReport, SyncError>
where
    I: IntoIterator<Item = UploadEvent>,
    F: FnMut(&Cid),
{
    let server = server_of(client);
    let js = jetstream::new(client.clone());
    let store = js
        .get_object_store(BUCKET)
        .await
        .map_err(|e| jetstream_error(format!("opening the object store {BUCKET} (run provisioning first)"), &e))?;
    let objects = js.get_stream(BUCKET_STREAM).await.map_err(|e| {
        permanent(
            &format!("opening the stream {BUCKET_STREAM} of the object store (run provisioning first)"),
            error_chain(&e),
        )
    })?;
    let bucket = Bucket { js: &js, store: &store, objects: &objects, server: &server };
    let window = options.window.clamp(1, MAX_WINDOW);
    let mut report = UploadReport::default();
    let mut blocks_done: HashSet<Cid> = HashSet::new();
    let mut events = events.into_iter().peekable();
    // The window whose blocks are all in: its events are published while the blocks of the
    // next window are put.
    let mut ready: Option<(Vec<UploadEvent>, Vec<String>)> = None;
    loop {
        if cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            return Ok(report);
        }
        let mut next = None;
        let mut invalid = None;
        let mut blocks = Vec::new();
        if events.peek().is_some() {
            let mut batch: Vec<UploadEvent> = events.by_ref().take(window).collect();
            match batch.iter().map(|e| subject(&e.context, &e.event_type, &e.cid.to_string())).collect() {
                Ok(subjects) => {
                    for event in &mut batch {
                        for (cid, bytes) in std::mem::take(&mut event.blocks) {
                            if blocks_done.insert(cid) {
                                blocks.push((cid, bytes));
                            } else {
                                report.blocks_present += 1;
                            }
                        }
                    }
                    next = Some((batch, subjects));
                }
                // Reported once the windows before it are published.
                Err(e) => invalid = Some(e),
            }
        }
        if ready.is_none() && next.is_none() {
            return match invalid {
                Some(e) => Err(e),
                None => Ok(report),
            };
        }
        // 1. The next window's blocks, and 2. the ready window's events, at the same time.
        let put_blocks = futures_util::stream::iter(blocks)
            .map(|(cid, bytes)| {
                let bucket = &bucket;
                async move { put_block(bucket, cid, &bytes, options, cancel).await }
            })
            .buffer_unordered(options.block_concurrency.clamp(1, MAX_WINDOW))
            .collect::<Vec<_>>();
        let publish = async {
            match &ready {
                Some((batch, subjects)) => {
                    publish_window(&js, &server, batch, subjects, options, &mut report, &mut on_acked, cancel).await
                }
                None => Ok(()),
            }
        };
        let (results, published) = futures_util::future::join(put_blocks, publish).await;
        published?;
        if report.cancelled {
            return Ok(report);
        }
        for result in results {
            let (put, retries) = result?;
            report.retries += retries;
            match put {
                Block::Put => report.blocks_put += 1,
                Block::Present => report.blocks_present += 1,
                Block::Cancelled => {}
            }
        }
        if let Some(e) = invalid {
            return Err(e);
        }
        ready = next;
    }
}

/// Publishes one window with retries; see the module docs.
#[allow(clippy::too_many_arguments)]
async fn publish_window<F: FnMut(&Cid)>(
    js: &jetstream::Context,
    server: &str,
    batch: &[UploadEvent],
    subjects: &[String],
    options: &UploadOptions,
    report: &mut UploadReport,
    on_acked: &mut F,
    cancel: &AtomicBool,
) -> Result<(), SyncError> {
    let mut pending: Vec<usize> = (0..batch.len()).collect();
    let mut attempt = 0u32;
    loop {
        let mut outcomes = Vec::with_capacity(pending.len());
        let mut acks = FuturesOrdered::new();
        for &i in &pending {
            match js.send_publish(subjects[i].clone(), message(&batch[i])).await {
                Ok(ack) => acks.push_back(async move { (i, ack.await) }),
                Err(e) => outcomes.push((i, Err(e))),
            }
        }
        outcomes.extend(acks.collect::<Vec<_>>().await);
        let mut failed = Vec::new();
        let mut permanent = None;
        let mut last = String::new();
        let mut stream_checked = None;
        for (i, outcome) in outcomes {
            let present = match outcome {
                Ok(ack) => ack.duplicate,
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => true,
                Err(e) => {
                    match classify_publish(js, &e, STREAM, &subjects[i], &mut stream_checked).await {
                        Failure::Transient(reason) => {
                            last = reason;
                            failed.push(i);
                        }
                        Failure::Permanent(error) => {
                            permanent.get_or_insert(error);
                        }
                    }
                    continue;
                }
            };
            if present {
                report.already_present += 1;
            } else {
                report.published += 1;
            }
            on_acked(&batch[i].cid);
        }
        if let Some(error) = permanent {
            return Err(error);
        }
        if failed.is_empty() {
            return Ok(());
        }
        attempt += 1;
        if attempt > options.max_retries {
            return Err(SyncError::Timeout {
                server: server.to_owned(),
                what: format!(
                    "publishing {} events (gave up after {} attempts; last error: {last})",
                    failed.len(),
                    attempt
                ),
            });
        }
        report.retries += 1;
        if !sleep_unless_cancelled(options.backoff(attempt), cancel).await {
            report.cancelled = true;
            return Ok(());
        }
        pending = failed;
    }
}

/// The message of one event: payload and headers of subjects.md §3.
fn message(event: &UploadEvent) -> PublishMessage {
    PublishMessage::build()
        .payload(event.bytes.clone().into())
        .message_id(event.cid.to_string())
        .expected_last_subject_sequence(0)
        .header(HEADER_EVENT_ID, event.event_id.to_string())
        .header(HEADER_CORRELATION_ID, event.correlation_id.to_string())
        .header(HEADER_CAUSATION_ID, event.causation_id.to_string())
        .header(HEADER_EVENT_TYPE, event.event_type.as_str())
}

/// JetStream error codes that mean "the cluster is busy electing or catching up": retry.
const TRANSIENT_CODES: [ErrorCode; 6] = [
    ErrorCode::CLUSTER_NOT_AVAILABLE,
    ErrorCode::CLUSTER_NOT_ACTIVE,
    ErrorCode::CLUSTER_NOT_LEADER,
    ErrorCode::CLUSTER_INCOMPLETE,
    ErrorCode::CLUSTER_NO_PEERS,
    ErrorCode::RAFT_GENERAL,
];

/// Sorts the failure of a publish to `subject` of `stream`. `stream_checked` remembers whether
/// the stream was found missing, so that a window of failures asks once.
async fn classify_publish(
    js: &jetstream::Context,
    e: &PublishError,
    stream: &str,
    subject: &str,
    stream_checked: &mut Option<bool>,
) -> Failure {
    let reason = error_chain(e);
    match e.kind() {
        PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe | PublishErrorKind::MaxAckPending => {
            Failure::Transient(reason)
        }
        // No responders: the stream is missing, or a restarting server has not loaded it yet.
        PublishErrorKind::StreamNotFound => {
            let missing = match stream_checked {
                Some(missing) => *missing,
                None => {
                    let missing = matches!(
                        js.get_stream(stream).await.map_err(|e| e.kind()),
                        Err(GetStreamErrorKind::JetStream(error)) if error.error_code() == ErrorCode::STREAM_NOT_FOUND
                    );
                    *stream_checked = Some(missing);
                    missing
                }
            };
            if missing {
                Failure::Permanent(SyncError::StreamMisconfigured {
                    stream: stream.to_owned(),
                    what: format!("it does not exist, so {subject} has no stream; run provisioning first"),
                })
            } else {
                Failure::Transient(format!("no responders for {subject}"))
            }
        }
        PublishErrorKind::MaxPayloadExceeded => Failure::Permanent(too_large(stream, subject, &reason)),
        PublishErrorKind::WrongLastMessageId | PublishErrorKind::WrongLastSequence | PublishErrorKind::Other => {
            let code = std::error::Error::source(e)
                .and_then(|s| s.downcast_ref::<jetstream::Error>())
                .map(jetstream::Error::error_code);
            match code {
                Some(code) if TRANSIENT_CODES.contains(&code) => Failure::Transient(reason),
                Some(ErrorCode::STREAM_MESSAGE_EXCEEDS_MAXIMUM) => {
                    Failure::Permanent(too_large(stream, subject, &reason))
                }
                Some(_) => Failure::Permanent(permanent(&format!("publishing {subject}"), reason)),
                // Not the server's answer: the request could not be sent (a dropped connection).
                None if !reason.to_lowercase().contains("permission") => Failure::Transient(reason),
                None => Failure::Permanent(permanent(&format!("publishing {subject}"), reason)),
            }
        }
    }
}

fn too_large(stream: &str, subject: &str, reason: &str) -> SyncError {
    SyncError::StreamMisconfigured {
        stream: stream.to_owned(),
        what: format!(
            "the message for {subject} is larger than the server or the stream accepts ({reason}); \
             raise max_payload or the stream's max message size"
        ),
    }
}

fn permanent(what: &str, reason: String) -> SyncError {
    if reason.to_lowercase().contains("permission") {
        SyncError::PermissionDenied(format!("{what}: {reason}"))
    } else {
        SyncError::JetStream { what: what.to_owned(), reason }
    }
}

/// The object store's digest text of `bytes`: `SHA-256=` and the padded URL-safe base64.
pub fn object_digest(bytes: &[u8]) -> String {
    format!("SHA-256={}", data_encoding::BASE64URL.encode(&Sha256::digest(bytes)))
}

/// What [`put_block`] did.
enum Block {
    Put,
    Present,
    Cancelled,
}

/// The object store's largest chunk, as async-nats writes it: a block up to this size is one
/// chunk, written by the upload itself; a larger (or empty) one goes through async-nats.
pub const CHUNK_SIZE: usize = 128 * 1024;

/// The bucket, as [`put_block`] writes to it.
struct Bucket<'a> {
    js: &'a jetstream::Context,
    store: &'a ObjectStore,
    /// The bucket's stream, [`BUCKET_STREAM`].
    objects: &'a Stream,
    server: &'a str,
}

/// The object id (async-nats's *nuid*: 22 characters of base 62) cim-keys gives the object of
/// the block `cid`: the first 128 bits of SHA-256 of the CID's binary form, so that every
/// upload of the block writes its chunk to the same subject.
pub fn object_nuid(cid: &Cid) -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let digest = Sha256::digest(cid.to_bytes());
    let mut n = u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"));
    let mut nuid = [b'0'; 22];
    for digit in nuid.iter_mut().rev() {
        *digit = DIGITS[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(nuid.to_vec()).expect("ASCII")
}

/// The subject of the chunk of the object `nuid`.
pub fn chunk_subject(nuid: &str) -> String {
    format!("$O.{BUCKET}.C.{nuid}")
}

/// The subject of the meta message of the object `name`: its name in padded URL-safe base64.
pub fn meta_subject(name: &str) -> String {
    format!("$O.{BUCKET}.M.{}", data_encoding::BASE64URL.encode(name.as_bytes()))
}

/// The meta message payload of a one-chunk object, as async-nats's `put` writes it: the
/// `ObjectInfo` JSON, modified now.
fn meta_payload(name: &str, nuid: &str, bytes: &[u8]) -> Vec<u8> {
    let info = ObjectInfo {
        name: name.to_owned(),
        description: None,
        metadata: Default::default(),
        headers: None,
        options: Some(ObjectOptions { link: None, max_chunk_size: Some(CHUNK_SIZE) }),
        bucket: BUCKET.to_owned(),
        nuid: nuid.to_owned(),
        size: bytes.len(),
        chunks: 1,
        modified: Some(async_nats::datetime::now()),
        digest: Some(object_digest(bytes)),
        deleted: false,
    };
    serde_json::to_vec(&info).expect("an ObjectInfo serializes")
}

/// How far [`put_one_chunk`] got with a block, across its retries.
#[derive(Default)]
struct Progress {
    /// The chunk is on its subject.
    chunk_there: bool,
    /// This upload stored the chunk (rather than finding it there).
    chunk_stored: bool,
    /// The name has an object cim-keys did not write this way (put by async-nats, or
    /// deleted): go through async-nats from now on.
    foreign: bool,
}

/// Puts one block unless it is there, retrying transient failures; with the retries it took.
async fn put_block(
    bucket: &Bucket<'_>,
    cid: Cid,
    bytes: &[u8],
    options: &UploadOptions,
    cancel: &AtomicBool,
) -> Result<(Block, usize), SyncError> {
    let name = cid.to_string();
    let mut progress = Progress::default();
    let mut attempt = 0u32;
    loop {
        let outcome = if bytes.is_empty() || bytes.len() > CHUNK_SIZE || progress.foreign {
            put_through_async_nats(bucket.store, &name, bytes).await
        } else {
            put_one_chunk(bucket, &cid, &name, bytes, &mut progress).await
        };
        let reason = match outcome {
            Ok(block) => return Ok((block, attempt as usize)),
            Err(Failure::Permanent(error)) => return Err(error),
            Err(Failure::Transient(reason)) => reason,
        };
        attempt += 1;
        if attempt > options.max_retries {
            return Err(SyncError::Timeout {
                server: bucket.server.to_owned(),
                what: format!("putting the block {name} (gave up after {attempt} attempts; last error: {reason})"),
            });
        }
        if !sleep_unless_cancelled(options.backoff(attempt), cancel).await {
            // The caller sees `cancel` and stops before publishing the window.
            return Ok((Block::Cancelled, attempt as usize));
        }
    }
}

/// Publishes and waits for the acknowledgement.
async fn publish(js: &jetstream::Context, subject: String, message: PublishMessage) -> Result<(), PublishError> {
    js.send_publish(subject, message).await?.await.map(drop)
}

/// One attempt at writing a one-chunk object the way async-nats does, without reading first
/// (`docs/formats/subjects.md` §5): the chunk on `$O.{bucket}.C.{nuid}` with the nuid derived
/// from the CID ([`object_nuid`]), then, once the server has acknowledged it, the meta message
/// on `$O.{bucket}.M.{name}` with `Nats-Rollup: sub`; each with
/// `Nats-Expected-Last-Subject-Sequence: 0`, so that a block already there is answered *wrong
/// last sequence* (10071) and nothing is written twice.
///
/// A meta subject that already holds a message we did not write (its object has another nuid:
/// put by async-nats, or deleted) leaves the chunk just stored an orphan: it is purged, and
/// the object is used if it has the same size and digest, or replaced through async-nats.
async fn put_one_chunk(
    bucket: &Bucket<'_>,
    cid: &Cid,
    name: &str,
    bytes: &[u8],
    progress: &mut Progress,
) -> Result<Block, Failure> {
    let nuid = object_nuid(cid);
    let chunk = chunk_subject(&nuid);
    if !progress.chunk_there {
        let message = PublishMessage::build().payload(bytes.to_vec().into()).expected_last_subject_sequence(0);
        match publish(bucket.js, chunk.clone(), message).await {
            Ok(()) => progress.chunk_stored = true,
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {}
            Err(e) => return Err(classify_publish(bucket.js, &e, BUCKET_STREAM, &chunk, &mut None).await),
        }
        progress.chunk_there = true;
    }
    let meta = meta_subject(name);
    let message = PublishMessage::build()
        .payload(meta_payload(name, &nuid, bytes).into())
        .header(async_nats::header::NATS_ROLLUP, "sub")
        .expected_last_subject_sequence(0);
    match publish(bucket.js, meta.clone(), message).await {
        Ok(()) => return Ok(Block::Put),
        // Both were there: an earlier upload wrote them, in this order.
        Err(e) if e.kind() == PublishErrorKind::WrongLastSequence && !progress.chunk_stored => {
            return Ok(Block::Present);
        }
        Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {}
        Err(e) => return Err(classify_publish(bucket.js, &e, BUCKET_STREAM, &meta, &mut None).await),
    }
    // The meta subject holds a message, the chunk subject did not: whose object is it?
    let info = bucket.store.info(name).await.map_err(|e| match e.kind() {
        InfoErrorKind::InvalidName => {
            Failure::Permanent(permanent(&format!("reading the object {name}"), error_chain(&e)))
        }
        _ => Failure::Transient(error_chain(&e)),
    })?;
    if info.nuid == nuid && !info.deleted {
        // Ours: the meta's acknowledgement was lost on an earlier attempt.
        return Ok(Block::Put);
    }
    bucket
        .objects
        .purge()
        .filter(chunk.as_str())
        .await
        .map_err(|e| Failure::Transient(format!("purging the orphan chunk {chunk}: {}", error_chain(&e))))?;
    progress.chunk_stored = false;
    progress.chunk_there = false;
    progress.foreign = true;
    if !info.deleted && info.size == bytes.len() && info.digest.as_deref() == Some(&object_digest(bytes)) {
        return Ok(Block::Present);
    }
    put_through_async_nats(bucket.store, name, bytes).await
}

/// One attempt through async-nats: the object's info, and a put unless it is there with the
/// same size and digest. For blocks of more than one chunk, empty ones and names that hold an
/// object cim-keys did not write itself.
async fn put_through_async_nats(store: &ObjectStore, name: &str, bytes: &[u8]) -> Result<Block, Failure> {
    let digest = object_digest(bytes);
    match store.info(name).await {
        Ok(info) if !info.deleted && info.size == bytes.len() && info.digest.as_deref() == Some(&digest) => {
            return Ok(Block::Present);
        }
        Ok(_) => {}
        Err(e) if e.kind() == InfoErrorKind::NotFound => {}
        Err(e) if e.kind() == InfoErrorKind::InvalidName => {
            return Err(Failure::Permanent(permanent(&format!("reading the object {name}"), error_chain(&e))));
        }
        Err(e) => return Err(Failure::Transient(error_chain(&e))),
    }
    match store.put(name, &mut &bytes[..]).await {
        Ok(_) => Ok(Block::Put),
        Err(e) => {
            let reason = error_chain(&e);
            let lower = reason.to_lowercase();
            if lower.contains("permission") || lower.contains("max payload") || lower.contains("exceeds") {
                Err(Failure::Permanent(permanent(&format!("putting the object {name}"), reason)))
            } else {
                Err(Failure::Transient(reason))
            }
        }
    }
}

/// Sleeps `delay` in steps of at most 50 ms; `false` when `cancel` was set meanwhile.
async fn sleep_unless_cancelled(delay: Duration, cancel: &AtomicBool) -> bool {
    let step = Duration::from_millis(50);
    let mut left = delay;
    while !left.is_zero() {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        let now = left.min(step);
        tokio::time::sleep(now).await;
        left -= now;
    }
    !cancel.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_minimum_to_the_maximum() {
        let options = UploadOptions::default();
        let delays: Vec<u64> = (1..=8).map(|a| options.backoff(a).as_millis() as u64).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(options.backoff(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn the_digest_is_the_object_stores_form() {
        // sha256("") in padded URL-safe base64, as async-nats writes it.
        assert_eq!(object_digest(b""), "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn the_object_nuid_is_22_base62_digits_derived_from_the_cid() {
        let a = crate::projection::cid_of(b"a");
        // subjects.md §5: SHA-256 of the CID's bytes, first 16 bytes, base 62 on 22 digits.
        assert_eq!(object_nuid(&a), "26Q7ssWIn1BNDTZvsuTc26");
        assert_ne!(object_nuid(&a), object_nuid(&crate::projection::cid_of(b"b")));
        assert_eq!(chunk_subject("N"), "$O.cim-graph-payloads.C.N");
    }

    #[test]
    fn the_meta_message_is_async_nats_object_info() {
        let cid = crate::projection::cid_of(b"block");
        let (name, nuid) = (cid.to_string(), object_nuid(&cid));
        let info: ObjectInfo = serde_json::from_slice(&meta_payload(&name, &nuid, b"block")).unwrap();
        assert_eq!(
            (info.name.as_str(), info.bucket.as_str(), info.nuid.as_str(), info.size, info.chunks, info.deleted),
            (name.as_str(), BUCKET, nuid.as_str(), 5, 1, false)
        );
        assert_eq!(info.digest, Some(object_digest(b"block")));
        assert_eq!(info.options.and_then(|o| o.max_chunk_size), Some(CHUNK_SIZE));
        assert!(info.modified.is_some() && info.description.is_none() && info.metadata.is_empty());
        let encoded = data_encoding::BASE64URL.encode(name.as_bytes());
        assert_eq!(meta_subject(&name), format!("$O.cim-graph-payloads.M.{encoded}"));
    }

    #[test]
    fn headers_follow_subjects_md() {
        let cid = crate::projection::cid_of(b"x");
        let event = UploadEvent {
            cid,
            event_id: Uuid::from_u128(1),
            correlation_id: Uuid::from_u128(2),
            causation_id: Uuid::from_u128(3),
            context: "org".into(),
            event_type: "EntityAdded".into(),
            bytes: b"x".to_vec(),
            blocks: vec![],
        };
        let message = message(&event).outbound_message("s");
        let headers = message.headers.unwrap();
        let get = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
        assert_eq!(get("Nats-Msg-Id"), Some(cid.to_string()));
        assert_eq!(get("Nats-Expected-Last-Subject-Sequence").as_deref(), Some("0"));
        assert_eq!(get(HEADER_EVENT_ID), Some(Uuid::from_u128(1).to_string()));
        assert_eq!(get(HEADER_CORRELATION_ID), Some(Uuid::from_u128(2).to_string()));
        assert_eq!(get(HEADER_CAUSATION_ID), Some(Uuid::from_u128(3).to_string()));
        assert_eq!(get(HEADER_EVENT_TYPE).as_deref(), Some("EntityAdded"));
        assert_eq!(&message.payload[..], b"x");
    }
}
