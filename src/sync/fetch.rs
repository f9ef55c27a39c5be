//! Reading the history back from NATS, for `replay`: every message of the stream [`STREAM`],
//! and blocks from the bucket [`BUCKET`] by CID. Normative description:
//! `docs/formats/subjects.md`, section "Replay".
//!
//! Nothing read is trusted:
//!
//! * [`read_events`] reads the whole stream with an ordered pull consumer, up to the last
//!   message it held when the read began. Each message must be on a subject of the form
//!   `cim.graph.{context}.events.{event_type}.{cid}`, its payload must hash to that CID
//!   (recomputed with [`cid_of`]), and its `Nats-Msg-Id` header must name the same CID. A
//!   message that does not is an error naming its sequence number and subject: whatever put it
//!   there, it is not a graph event cim-keys uploaded. (The headers `Cim-*` are not read: the
//!   block is the truth; the caller decodes it and checks the subject's other tokens.)
//! * [`get_blocks`] fetches blocks by CID text. Each `ObjectStore::get` creates a consumer,
//!   and a few dozen at once reach the server's consumer limit (JetStream error 10026), so a
//!   block is read without one: its meta (`ObjectStore::info`, a direct get of the last
//!   message on the meta subject), then, for the usual single-chunk object, its chunk by a
//!   direct get of the last message on `$O.{bucket}.C.{nuid}`. Only an object of several
//!   chunks (never written by cim-keys today) goes through `ObjectStore::get`, a few at a
//!   time. Every block's CID is recomputed from the bytes (raw codec: [`raw_cid_of`]) and must
//!   be the name it was asked by; a missing or deleted object is [`FetchError::MissingBlock`].
//!
//! [`Fetcher`] wraps both for blocking callers (the application layer), with a runtime of its
//! own, as [`super::check_connection`] does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::context::GetStreamErrorKind;
use async_nats::jetstream::object_store::{InfoErrorKind, ObjectStore};
use async_nats::jetstream::stream::{DirectGetErrorKind, LastRawMessageErrorKind, Stream};
use async_nats::jetstream::{self, ErrorCode};
use cid::Cid;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use super::connect::server_of;
use super::error::jetstream_error;
use super::provision::BUCKET_STREAM;
use super::{BUCKET, STREAM, SUBJECTS, SyncConfig, SyncError};
use crate::projection::codec::{DAG_CBOR, RAW};
use crate::projection::{cid_of, parse_cid, raw_cid_of};

/// How long to wait for the next message of the stream, or one block, before giving up.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Blocks fetched at once (meta and chunk by direct get: no consumer is created).
pub const BLOCK_CONCURRENCY: usize = 32;
/// Objects of several chunks read through `ObjectStore::get` (one consumer each) at once.
const MULTI_CHUNK_CONCURRENCY: usize = 4;

/// One message of the stream, checked: its payload hashes to the CID its subject ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEvent {
    /// Its sequence number in the stream.
    pub seq: u64,
    /// Its subject, `cim.graph.{context}.events.{event_type}.{cid}`.
    pub subject: String,
    /// The CID its subject and `Nats-Msg-Id` name, and its payload hashes to.
    pub cid: Cid,
    /// The payload: a graph event block.
    pub bytes: Vec<u8>,
}

/// Why reading the history back failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connecting or a JetStream request failed.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The server holds no stream of graph events.
    #[error(
        "{server} holds no stream {STREAM}: nothing was synced to it; check the server address and the \
         account of the creds"
    )]
    NoStream {
        /// The server.
        server: String,
    },
    /// A message of the stream is not a graph event as cim-keys uploads them.
    #[error("message #{seq} of the stream {STREAM} (subject {subject}) is not a valid graph event: {reason}")]
    BadMessage {
        /// Its sequence number.
        seq: u64,
        /// Its subject.
        subject: String,
        /// What is wrong.
        reason: String,
    },
    /// A block is not in the object store.
    #[error("block {cid} is missing from the object store {BUCKET} (it was deleted, or never uploaded)")]
    MissingBlock {
        /// The block's CID.
        cid: String,
    },
    /// An object does not hold the block its name says.
    #[error("the object {cid} in the object store {BUCKET} does not hold that block: {reason}")]
    BadBlock {
        /// The object's name, a CID.
        cid: String,
        /// What is wrong.
        reason: String,
    },
    /// The caller's cancel flag was set.
    #[error("cancelled")]
    Cancelled,
}

/// The server a client talks to, for messages.
/// Checks one message: subject `cim.graph.{context}.events.{event_type}.{cid}`, a payload
/// hashing to `{cid}`, and `Nats-Msg-Id` naming it.
fn check_message(seq: u64, subject: &str, msg_id: Option<&str>, payload: &[u8]) -> Result<StreamEvent, FetchError> {
    let bad = |reason: String| FetchError::BadMessage { seq, subject: subject.to_owned(), reason };
    let tokens: Vec<&str> = subject.split('.').collect();
    if tokens.len() != 6 || tokens[0] != "cim" || tokens[1] != "graph" || tokens[3] != "events" {
        return Err(bad("its subject is not cim.graph.{context}.events.{event_type}.{cid}".into()));
    }
    let cid = parse_cid(tokens[5])
        .filter(|c| c.codec() == DAG_CBOR && c.to_string() == tokens[5])
        .ok_or_else(|| bad(format!("its subject's last token {:?} is not a DAG-CBOR CID", tokens[5])))?;
    let actual = cid_of(payload);
    if actual != cid {
        return Err(bad(format!("its payload hashes to {actual}, not to the CID its subject names (it was altered)")));
    }
    if msg_id != Some(tokens[5]) {
        return Err(bad(format!("its Nats-Msg-Id header is {msg_id:?}, not its CID")));
    }
    Ok(StreamEvent { seq, subject: subject.to_owned(), cid, bytes: payload.to_vec() })
}

/// The stream, or [`FetchError::NoStream`].
async fn stream(js: &jetstream::Context, server: &str) -> Result<Stream, FetchError> {
    js.get_stream(STREAM).await.map_err(|e| match e.kind() {
        GetStreamErrorKind::JetStream(error) if error.error_code() == ErrorCode::STREAM_NOT_FOUND => {
            FetchError::NoStream { server: server.to_owned() }
        }
        GetStreamErrorKind::JetStream(error) if error.error_code() == ErrorCode::JETSTREAM_NOT_ENABLED_FOR_ACCOUNT => {
            SyncError::JetStreamNotEnabled { server: server.to_owned() }.into()
        }
        // No answer: JetStream is off, or a user without rights on `$JS.API.>`.
        GetStreamErrorKind::Request => SyncError::Timeout {
            server: server.to_owned(),
            what: format!(
                "reading the stream {STREAM} (if the server is up, check that JetStream is enabled and the user may \
                 publish to $JS.API.>)"
            ),
        }
        .into(),
        _ => jetstream_error(format!("reading the stream {STREAM}"), &e).into(),
    })
}

/// Reads every message the stream holds when the read begins (up to its last sequence number
/// then, and no more than its count then), in stream order, each checked (see the module
/// docs). `progress(done, total)` is told the messages read every few hundred and at the end;
/// `cancel` is looked at before each message.
pub async fn read_events(
    client: &async_nats::Client,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<Vec<StreamEvent>, FetchError> {
    let server = server_of(client);
    let js = jetstream::new(client.clone());
    let mut stream = stream(&js, &server).await?;
    let state = stream
        .info()
        .await
        .map_err(|e| jetstream_error(format!("reading the state of the stream {STREAM}"), &e))?
        .state
        .clone();
    let total = state.messages;
    if total == 0 {
        return Ok(Vec::new());
    }
    let consumer = stream
        .create_consumer(OrderedConfig { filter_subject: SUBJECTS.to_owned(), ..Default::default() })
        .await
        .map_err(|e| jetstream_error(format!("creating a consumer of the stream {STREAM}"), &e))?;
    let mut messages =
        consumer.messages().await.map_err(|e| jetstream_error(format!("reading the stream {STREAM}"), &e))?;
    let mut events = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(FetchError::Cancelled);
        }
        let next = tokio::time::timeout(READ_TIMEOUT, messages.next()).await.map_err(|_| SyncError::Timeout {
            server: server.clone(),
            what: format!("reading the stream {STREAM} (after {} of {total} messages)", events.len()),
        })?;
        let message = next
            .ok_or_else(|| SyncError::JetStream {
                what: format!("reading the stream {STREAM}"),
                reason: format!("the consumer ended after {} of {total} messages", events.len()),
            })?
            .map_err(|e| jetstream_error(format!("reading the stream {STREAM}"), &e))?;
        let seq = message
            .info()
            .map_err(|e| SyncError::JetStream {
                what: format!("reading the stream {STREAM}"),
                reason: format!("a message without JetStream metadata: {e}"),
            })?
            .stream_sequence;
        if seq > state.last_sequence {
            // Published after the read began: not part of this read.
            progress(events.len() as u64, total);
            return Ok(events);
        }
        let msg_id = message.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.as_str().to_owned());
        events.push(check_message(seq, message.subject.as_str(), msg_id.as_deref(), &message.payload)?);
        let done = events.len() as u64;
        // The last message, or as many as the stream held (its last may have been deleted).
        let last = seq == state.last_sequence || done >= total;
        if done.is_multiple_of(500) || last {
            progress(done, total);
        }
        if last {
            return Ok(events);
        }
    }
}

/// The CID of `bytes` under `cid`'s codec (raw or DAG-CBOR).
fn recompute(cid: &Cid, bytes: &[u8]) -> Option<Cid> {
    match cid.codec() {
        RAW => Some(raw_cid_of(bytes)),
        DAG_CBOR => Some(cid_of(bytes)),
        _ => None,
    }
}

/// Reads one block without a consumer if it is one chunk; `Err(None)` for "several chunks".
async fn get_block(
    store: &ObjectStore,
    chunks: &Stream,
    server: &str,
    cid: Cid,
) -> Result<Result<Vec<u8>, usize>, FetchError> {
    let name = cid.to_string();
    let info = match store.info(&name).await {
        Ok(info) if info.deleted => return Err(FetchError::MissingBlock { cid: name }),
        Ok(info) => info,
        Err(e) if e.kind() == InfoErrorKind::NotFound => return Err(FetchError::MissingBlock { cid: name }),
        Err(e) if e.kind() == InfoErrorKind::TimedOut => {
            return Err(
                SyncError::Timeout { server: server.to_owned(), what: format!("reading the block {name}") }.into()
            );
        }
        Err(e) => return Err(jetstream_error(format!("reading the object {name}"), &e).into()),
    };
    if info.chunks > 1 {
        return Ok(Err(info.chunks));
    }
    if info.chunks == 0 {
        return Ok(Ok(Vec::new()));
    }
    let subject = format!("$O.{BUCKET}.C.{}", info.nuid);
    let payload = if chunks.cached_info().config.allow_direct {
        chunks.direct_get_last_for_subject(subject).await.map(|m| m.payload).map_err(|e| match e.kind() {
            DirectGetErrorKind::NotFound => FetchError::MissingBlock { cid: name.clone() },
            DirectGetErrorKind::TimedOut => {
                SyncError::Timeout { server: server.to_owned(), what: format!("reading the block {name}") }.into()
            }
            _ => jetstream_error(format!("reading the block {name}"), &e).into(),
        })?
    } else {
        chunks.get_last_raw_message_by_subject(&subject).await.map(|m| m.payload).map_err(|e| match e.kind() {
            LastRawMessageErrorKind::NoMessageFound => FetchError::MissingBlock { cid: name.clone() },
            _ => jetstream_error(format!("reading the block {name}"), &e).into(),
        })?
    };
    if payload.len() != info.size {
        return Err(FetchError::BadBlock {
            cid: name,
            reason: format!("its chunk holds {} bytes but its meta says {}", payload.len(), info.size),
        });
    }
    Ok(Ok(payload.to_vec()))
}

/// Reads an object of several chunks through `ObjectStore::get`.
async fn get_object(store: &ObjectStore, cid: Cid) -> Result<Vec<u8>, FetchError> {
    let name = cid.to_string();
    let mut object = store.get(&name).await.map_err(|e| jetstream_error(format!("reading the object {name}"), &e))?;
    let mut bytes = Vec::new();
    object
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| SyncError::JetStream { what: format!("reading the object {name}"), reason: e.to_string() })?;
    Ok(bytes)
}

/// Fetches the blocks `cids` from the bucket (see the module docs), each CID recomputed from
/// its bytes. `progress(done, total)` is told the blocks fetched every few hundred and at the
/// end; `cancel` is looked at as often.
pub async fn get_blocks(
    client: &async_nats::Client,
    cids: &[Cid],
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<HashMap<Cid, Vec<u8>>, FetchError> {
    let server = server_of(client);
    let js = jetstream::new(client.clone());
    let store = js.get_object_store(BUCKET).await.map_err(|e| {
        jetstream_error(format!("opening the object store {BUCKET} (was anything synced to this server?)"), &e)
    })?;
    let chunks = js.get_stream(BUCKET_STREAM).await.map_err(|e| {
        jetstream_error(format!("opening the stream {BUCKET_STREAM} behind the object store {BUCKET}"), &e)
    })?;
    let total = cids.len() as u64;
    let mut blocks = HashMap::with_capacity(cids.len());
    let mut several = Vec::new();
    let mut fetched = futures_util::stream::iter(cids.iter().copied())
        .map(|cid| {
            let (store, chunks, server) = (&store, &chunks, server.as_str());
            async move { (cid, tokio::time::timeout(READ_TIMEOUT, get_block(store, chunks, server, cid)).await) }
        })
        .buffer_unordered(BLOCK_CONCURRENCY);
    while let Some((cid, result)) = fetched.next().await {
        if cancel.load(Ordering::Relaxed) {
            return Err(FetchError::Cancelled);
        }
        let result = result
            .map_err(|_| SyncError::Timeout { server: server.clone(), what: format!("reading the block {cid}") })?;
        match result? {
            Ok(bytes) => {
                blocks.insert(cid, bytes);
            }
            Err(_) => several.push(cid),
        }
        let done = (blocks.len() + several.len()) as u64;
        if done.is_multiple_of(500) || done == total {
            progress(blocks.len() as u64, total);
        }
    }
    drop(fetched);
    let mut fetched = futures_util::stream::iter(several)
        .map(|cid| {
            let store = &store;
            async move { (cid, tokio::time::timeout(READ_TIMEOUT, get_object(store, cid)).await) }
        })
        .buffer_unordered(MULTI_CHUNK_CONCURRENCY);
    while let Some((cid, result)) = fetched.next().await {
        if cancel.load(Ordering::Relaxed) {
            return Err(FetchError::Cancelled);
        }
        let bytes = result
            .map_err(|_| SyncError::Timeout { server: server.clone(), what: format!("reading the block {cid}") })??;
        blocks.insert(cid, bytes);
        progress(blocks.len() as u64, total);
    }
    for cid in cids {
        let bytes = &blocks[cid];
        match recompute(cid, bytes) {
            Some(actual) if actual == *cid => {}
            Some(actual) => {
                return Err(FetchError::BadBlock {
                    cid: cid.to_string(),
                    reason: format!("its content hashes to {actual} (it was altered)"),
                });
            }
            None => {
                return Err(FetchError::BadBlock {
                    cid: cid.to_string(),
                    reason: "it is not a raw or DAG-CBOR CID".into(),
                });
            }
        }
    }
    Ok(blocks)
}

/// A connection for reading the history back, with its own runtime, for blocking callers.
#[derive(Debug)]
pub struct Fetcher {
    runtime: tokio::runtime::Runtime,
    client: async_nats::Client,
}

impl Fetcher {
    /// Connects as `config` says ([`super::connect()`]).
    pub fn connect(config: &SyncConfig) -> Result<Fetcher, SyncError> {
        let runtime = super::runtime()?;
        let client = runtime.block_on(super::connect(config))?;
        Ok(Fetcher { runtime, client })
    }

    /// [`read_events`].
    pub fn events(
        &self,
        progress: &mut dyn FnMut(u64, u64),
        cancel: &AtomicBool,
    ) -> Result<Vec<StreamEvent>, FetchError> {
        self.runtime.block_on(read_events(&self.client, progress, cancel))
    }

    /// [`get_blocks`].
    pub fn blocks(
        &self,
        cids: &[Cid],
        progress: &mut dyn FnMut(u64, u64),
        cancel: &AtomicBool,
    ) -> Result<HashMap<Cid, Vec<u8>>, FetchError> {
        self.runtime.block_on(get_blocks(&self.client, cids, progress, cancel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject_of(cid: &Cid) -> String {
        format!("cim.graph.0190f3c4-7b1e-7c3a-9d2e-123456789abc.events.EntityAdded.{cid}")
    }

    #[test]
    fn a_message_must_hash_to_the_cid_its_subject_and_msg_id_name() {
        let payload = b"a graph event block".to_vec();
        let cid = cid_of(&payload);
        let text = cid.to_string();
        let event = check_message(7, &subject_of(&cid), Some(&text), &payload).unwrap();
        assert_eq!((event.seq, event.cid, &event.bytes), (7, cid, &payload));

        let mut altered = payload.clone();
        altered[0] ^= 1;
        let e = check_message(7, &subject_of(&cid), Some(&text), &altered).unwrap_err();
        assert!(e.to_string().contains("message #7") && e.to_string().contains("altered"), "{e}");
        let e = check_message(7, &subject_of(&cid), Some("other"), &payload).unwrap_err();
        assert!(e.to_string().contains("Nats-Msg-Id"), "{e}");
        let e = check_message(7, &subject_of(&cid), None, &payload).unwrap_err();
        assert!(e.to_string().contains("Nats-Msg-Id"), "{e}");
        for subject in [
            format!("cim.graph.org.events.{text}"),
            format!("cim.graph.org.other.EntityAdded.{text}"),
            "cim.graph.org.events.EntityAdded.notacid".to_owned(),
            format!("cim.graph.org.events.EntityAdded.{}", raw_cid_of(&payload)),
        ] {
            assert!(check_message(1, &subject, Some(&text), &payload).is_err(), "{subject}");
        }
    }

    #[test]
    fn blocks_are_rehashed_under_their_codec() {
        assert_eq!(recompute(&raw_cid_of(b"jwt"), b"jwt"), Some(raw_cid_of(b"jwt")));
        assert_eq!(recompute(&cid_of(b"block"), b"block"), Some(cid_of(b"block")));
        assert_ne!(recompute(&cid_of(b"block"), b"other"), Some(cid_of(b"block")));
    }
}
