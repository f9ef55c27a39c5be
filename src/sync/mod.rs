//! Talking to NATS on the secure network (feature `sync`).
//!
//! * [`config`]: [`SyncConfig`], where and how to connect (JSON, validated, no IO);
//! * [`connect()`]: the connection it describes (creds, TLS, timeout, reconnect backoff);
//! * [`provision()`]: the stream [`STREAM`] and the object store bucket [`BUCKET`], created if
//!   missing and checked, never changed, if present; [`subject()`], the per-event subject;
//! * [`upload()`]: events to the stream and their blocks to the bucket, idempotent forever
//!   (`Nats-Expected-Last-Subject-Sequence: 0` per event subject, and per chunk and meta
//!   subject of the objects it writes itself), acks awaited in windows, the next window's
//!   blocks put while a window's events are published, transient errors retried with
//!   backoff, permanent ones stopping at once;
//! * [`fetch`]: reading the history back for `replay` — every stream message checked against
//!   its subject and `Nats-Msg-Id`, every block fetched by direct get and its CID recomputed;
//! * [`probe()`]: the sync screen's connection test, which changes nothing;
//! * [`SyncError`]: the one error type, and the one mapping of async-nats connection errors;
//!   [`ServerErrors`]: permissions violations the server reports outside any request.
//!
//! The subjects, headers and object names are specified in `docs/formats/subjects.md`. This
//! layer knows nothing of the vault: `app::sync` feeds the upload from the outbox and marks what
//! was acknowledged, `app::replay` turns what `fetch` read into a vault.
//!
//! And [`check_connection`] (`nats test-connection`), which connects with a creds file the
//! vault generated and proves the credentials work end to end: the server accepts the user, a
//! message published to a fresh inbox subject comes back through a subscription, and the
//! account's JetStream limits are read. Its failures go through the same mapping.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;

pub mod config;
pub mod connect;
mod error;
pub mod fetch;
pub mod probe;
pub mod provision;
pub mod upload;

pub use config::{SyncConfig, TlsFiles};
pub use connect::{ServerErrors, connect, connect_watching};
pub use error::SyncError;
pub use fetch::{FetchError, Fetcher, StreamEvent, get_blocks, read_events};
pub use probe::{Probe, probe};
pub use provision::{BUCKET, Provisioned, STREAM, SUBJECTS, provision, subject};
pub use upload::{UploadEvent, UploadOptions, UploadReport, upload};

/// JetStream as the account sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JetStreamAccount {
    /// Memory storage limit in bytes (`-1`: unlimited).
    pub max_memory: i64,
    /// File storage limit in bytes (`-1`: unlimited).
    pub max_storage: i64,
    /// Streams in the account.
    pub streams: usize,
}

/// What a successful connection check saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionCheck {
    /// The server URL.
    pub server: String,
    /// The server's name.
    pub server_name: String,
    /// Round trip of one published message, in microseconds.
    pub round_trip_us: u64,
    /// JetStream for the account, if enabled.
    pub jetstream: Option<JetStreamAccount>,
}

/// Connects to `server` with the creds file, publishes a message to a fresh inbox subject and
/// receives it back, and reads the account's JetStream limits. Each network step is bounded
/// by `timeout`.
pub fn check_connection(server: &str, creds: &Path, timeout: Duration) -> Result<ConnectionCheck, SyncError> {
    runtime()?.block_on(check(server, creds, timeout))
}

/// The runtime the blocking entry points (the CLI's, the GUI's jobs) run the async work on:
/// one thread, with IO and timers.
pub fn runtime() -> Result<tokio::runtime::Runtime, SyncError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| SyncError::Runtime(e.to_string()))
}

async fn check(server: &str, creds: &Path, timeout: Duration) -> Result<ConnectionCheck, SyncError> {
    let options = async_nats::ConnectOptions::with_credentials_file(creds)
        .await
        .map_err(|e| SyncError::Creds { path: creds.display().to_string(), reason: e.to_string() })?;
    let client = tokio::time::timeout(
        timeout,
        options.name("cim-keys connection check").connection_timeout(timeout).connect(server),
    )
    .await
    .map_err(|_| SyncError::Timeout { server: server.to_owned(), what: "connecting".into() })?
    .map_err(|e| SyncError::from_connect(server, &e))?;
    let failed =
        |what: &'static str| move |reason: String| SyncError::Messaging { server: server.to_owned(), what, reason };
    let subject = client.new_inbox();
    let mut subscription = client.subscribe(subject.clone()).await.map_err(|e| failed("subscribing")(e.to_string()))?;
    let started = Instant::now();
    client
        .publish(subject, "cim-keys connection check".into())
        .await
        .map_err(|e| failed("publishing")(e.to_string()))?;
    client.flush().await.map_err(|e| failed("publishing")(e.to_string()))?;
    tokio::time::timeout(timeout, subscription.next())
        .await
        .map_err(|_| failed("receiving")("the message did not come back in time".into()))?
        .ok_or_else(|| failed("receiving")("the subscription closed".into()))?;
    let round_trip_us = started.elapsed().as_micros() as u64;
    let server_name = client.server_info().server_name;
    let jetstream =
        match tokio::time::timeout(timeout, async_nats::jetstream::new(client.clone()).query_account()).await {
            Ok(Ok(account)) => Some(JetStreamAccount {
                max_memory: account.limits.max_memory.unwrap_or(-1),
                max_storage: account.limits.max_storage.unwrap_or(-1),
                streams: account.streams,
            }),
            _ => None,
        };
    drop(client);
    Ok(ConnectionCheck { server: server.to_owned(), server_name, round_trip_us, jetstream })
}
