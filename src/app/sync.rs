//! Sync: the vault's history to NATS on the secure network (feature `sync`).
//!
//! [`Vault::sync_upload`] connects as the [`SyncConfig`] says, provisions the stream and the
//! bucket ([`crate::sync::provision()`]), and uploads everything the outbox holds as pending, in
//! chain order, in chunks of [`CHUNK`] graph events read from the database. Each graph event
//! goes with its blocks: its own block, the domain event block it was lifted from and the
//! artifacts (JWTs, certificates) that domain event refers to. The upload itself
//! ([`crate::sync::upload()`]) is idempotent forever; here an event is marked uploaded only when
//! the upload reports the server's acknowledgement (or the server's word that it already holds
//! it), never before. Marking runs on a second thread with its own connection to the database,
//! in transactions of up to [`MARK_BATCH`] events, so the network never waits for a disk sync.
//!
//! A failed upload records the error and an attempt on the events still pending (`status` and
//! the GUI show them); the events acknowledged before the failure stay marked. A process killed
//! mid-upload loses at most the marks not yet committed: the next run uploads those events
//! again, the server answers that it holds them, and they are marked then.
//!
//! [`upload_bundle`] uploads straight from a bundle file on a machine that holds no vault: each
//! entry is re-derived and checked by the bundle reader before it is uploaded, so only events
//! whose every CID and chain link was recomputed reach the server. Nothing is marked (there is
//! no outbox); uploading the same bundle again adds nothing.
//!
//! The configuration comes from the command line or from [`SYNC_CONFIG_FILE`] in the data
//! directory ([`read_config`], [`save_config`]).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use cid::Cid;
use serde::Serialize;
use uuid::Uuid;

use super::files::{PUBLIC_MODE, write_atomically};
use super::{AppError, Vault, now};
use crate::bundle::{BundleReader, Unseal};
use crate::projection::{artifact_cid, decode_domain_event};
use crate::store::{PendingEvent, Store, StoreError};
use crate::sync::{
    Probe, ServerErrors, SyncConfig, SyncError, UploadEvent, UploadOptions, UploadReport, connect_watching, probe,
    provision, upload,
};

/// The sync configuration's file name in the data directory.
pub const SYNC_CONFIG_FILE: &str = "sync.json";
/// Pending graph events read from the database and handed to one upload call.
pub const CHUNK: usize = 4096;
/// Acknowledged events marked uploaded in one transaction, at most.
pub const MARK_BATCH: usize = 1024;

/// What an upload is doing, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPhase {
    /// Connecting to the servers.
    Connecting,
    /// Ensuring the stream and the bucket.
    Provisioning,
    /// Uploading events and blocks.
    Uploading,
    /// Finished.
    Done,
}

/// Progress of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncProgress {
    /// The phase.
    pub phase: SyncPhase,
    /// Graph events acknowledged so far in this run.
    pub done: u64,
    /// Graph events to upload in this run (for a bundle: its graph events).
    pub total: u64,
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SyncReport {
    /// The configured servers.
    pub servers: Vec<String>,
    /// The name of the server the client was connected to at the end.
    pub server_name: String,
    /// The replicas the stream and the bucket are provisioned with (as configured, else 3 on a
    /// cluster, else 1).
    pub replicas: usize,
    /// The stream did not exist and was created.
    pub stream_created: bool,
    /// The bucket did not exist and was created.
    pub bucket_created: bool,
    /// Graph events acknowledged in this run (stored now, or already held by the server).
    pub acknowledged: u64,
    /// … of which the stream stored now.
    pub published: u64,
    /// … of which the stream already held.
    pub already_present: u64,
    /// Blocks put into the object store.
    pub blocks_put: u64,
    /// Blocks the object store already held.
    pub blocks_present: u64,
    /// Retry rounds needed.
    pub retries: u64,
    /// The run was cancelled; what was acknowledged before is marked.
    pub cancelled: bool,
    /// Graph events still pending in the vault afterwards (none for a bundle).
    pub pending: u64,
    /// Graph events marked uploaded in the vault, in all (none for a bundle).
    pub uploaded: u64,
}

impl SyncReport {
    fn add(&mut self, run: &UploadReport) {
        self.published += run.published as u64;
        self.already_present += run.already_present as u64;
        self.acknowledged = self.published + self.already_present;
        self.blocks_put += run.blocks_put as u64;
        self.blocks_present += run.blocks_present as u64;
        self.retries += run.retries as u64;
        self.cancelled |= run.cancelled;
    }
}

/// Reads [`SYNC_CONFIG_FILE`] from `data_dir`; `None` if there is none.
pub fn read_config(data_dir: &Path) -> Result<Option<SyncConfig>, AppError> {
    let path = data_dir.join(SYNC_CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AppError::Invalid(format!("cannot read {}: {e}", path.display()))),
    };
    SyncConfig::from_json(&text).map(Some).map_err(|e| AppError::Invalid(format!("{}: {e}", path.display())))
}

/// Validates `config` and writes it to [`SYNC_CONFIG_FILE`] in `data_dir`, atomically; returns
/// the file's path. It names files, and holds no secret.
pub fn save_config(data_dir: &Path, config: &SyncConfig) -> Result<PathBuf, AppError> {
    config.validate()?;
    let path = data_dir.join(SYNC_CONFIG_FILE);
    let mut text = serde_json::to_string_pretty(config)
        .map_err(|e| AppError::Invalid(format!("cannot encode the sync configuration: {e}")))?;
    text.push('\n');
    write_atomically(&path, text.as_bytes(), PUBLIC_MODE)?;
    Ok(path)
}

/// Connects as `config` says and looks at the server without changing anything (the sync
/// screen's "Test"): see [`crate::sync::probe()`].
pub fn test_connection(config: &SyncConfig) -> Result<Probe, AppError> {
    Ok(runtime()?.block_on(probe(config))?)
}

fn runtime() -> Result<tokio::runtime::Runtime, AppError> {
    Ok(crate::sync::runtime()?)
}

/// Connects and provisions; the start of every upload.
async fn start(
    config: &SyncConfig,
    progress: &mut dyn FnMut(SyncProgress),
    total: u64,
) -> Result<(async_nats::Client, ServerErrors, SyncReport), AppError> {
    progress(SyncProgress { phase: SyncPhase::Connecting, done: 0, total });
    let (client, errors) = connect_watching(config).await?;
    progress(SyncProgress { phase: SyncPhase::Provisioning, done: 0, total });
    let replicas = replicas(config, &client.server_info());
    let provisioned = watched(&errors, provision(&client, replicas)).await?;
    let report = SyncReport {
        replicas,
        stream_created: provisioned.stream_created,
        bucket_created: provisioned.bucket_created,
        ..SyncReport::default()
    };
    Ok((client, errors, report))
}

/// The replicas of the stream and the bucket: as configured, else 3 when the server says it is
/// part of a cluster, else 1.
fn replicas(config: &SyncConfig, server: &async_nats::ServerInfo) -> usize {
    config.replicas.unwrap_or(if server.cluster.is_some() { 3 } else { 1 })
}

/// Runs `work` until it ends or the server reports a permissions violation, whichever comes
/// first: the request or publish that was refused would only time out, and be retried.
/// Dropping an upload midway is safe (nothing unacknowledged was reported).
async fn watched<T>(
    errors: &ServerErrors,
    work: impl std::future::Future<Output = Result<T, SyncError>>,
) -> Result<T, SyncError> {
    tokio::select! {
        result = work => result,
        text = errors.violated() => Err(SyncError::PermissionDenied(format!("the server said: {text}"))),
    }
}

/// Which server the client is connected to at the end.
fn connected_to(client: &async_nats::Client, config: &SyncConfig, report: &mut SyncReport) {
    report.servers = config.servers.clone();
    report.server_name = client.server_info().server_name;
}

fn uuid(text: &str, what: &str) -> Result<Uuid, AppError> {
    Uuid::try_parse(text).map_err(|_| StoreError::Corrupt(format!("a stored {what} is not a UUID")).into())
}

/// The upload of one pending graph event; `domain` is whether its domain event block (and
/// artifacts) go with it (the first of its domain event's graph events in a chunk).
fn pending_upload(store: &Store, event: PendingEvent, with_domain: bool) -> Result<UploadEvent, AppError> {
    let mut blocks = vec![(event.cid, event.bytes.clone())];
    if with_domain {
        let envelope = decode_domain_event(&event.domain_bytes)
            .map_err(|e| StoreError::Corrupt(format!("domain event #{} cannot be decoded: {e}", event.domain_seq)))?;
        let mut artifacts = Vec::new();
        for (_, text) in envelope.event.artifacts() {
            let cid = artifact_cid(text).ok_or_else(|| {
                StoreError::Corrupt(format!("domain event #{} refers to a malformed artifact CID", event.domain_seq))
            })?;
            let bytes = store.artifact(&cid)?.ok_or_else(|| {
                StoreError::Corrupt(format!("artifact {cid} of domain event #{} is not in the vault", event.domain_seq))
            })?;
            artifacts.push((cid, bytes));
        }
        blocks.push((event.domain_cid, event.domain_bytes));
        blocks.extend(artifacts);
    }
    Ok(UploadEvent {
        cid: event.cid,
        event_id: uuid(&event.event_id, "graph event id")?,
        correlation_id: uuid(&event.correlation_id, "correlation id")?,
        causation_id: uuid(&event.domain_event_id, "domain event id")?,
        context: event.context,
        event_type: event.event_type,
        bytes: event.bytes,
        blocks,
    })
}

/// Marks what the upload acknowledged, on its own connection, in batches.
fn marker(path: &Path, batches: mpsc::Receiver<Vec<u64>>) -> Result<u64, AppError> {
    let mut store = Store::open(path)?;
    let mut marked = 0;
    for batch in batches {
        marked += store.mark_uploaded(&batch, now())?;
    }
    Ok(marked)
}

impl Vault {
    /// The sync configuration saved in the data directory, if any.
    pub fn sync_config(&self) -> Result<Option<SyncConfig>, AppError> {
        read_config(self.data_dir())
    }

    /// Saves `config` as the data directory's sync configuration.
    pub fn save_sync_config(&self, config: &SyncConfig) -> Result<PathBuf, AppError> {
        save_config(self.data_dir(), config)
    }

    /// The error of the last failed upload attempt still standing (on the first pending event
    /// that has one), with that event's sequence number and attempt count.
    pub fn last_sync_error(&self) -> Result<Option<(u64, u64, String)>, AppError> {
        Ok(self.store.last_upload_error()?)
    }

    /// Uploads every pending graph event with its blocks and marks each uploaded once the
    /// server has acknowledged it (see the module documentation). `cancel` stops the upload
    /// between windows; what was acknowledged before is marked.
    pub fn sync_upload(
        &mut self,
        config: &SyncConfig,
        progress: &mut dyn FnMut(SyncProgress),
        cancel: &AtomicBool,
    ) -> Result<SyncReport, AppError> {
        let total = self.store.status()?.pending;
        let path = self.store.path().to_owned();
        let (to_marker, batches) = mpsc::channel::<Vec<u64>>();
        let store = &self.store;
        let (result, marked) = std::thread::scope(|scope| {
            let marking = scope.spawn(move || marker(&path, batches));
            let result = runtime().and_then(|rt| {
                rt.block_on(async {
                    let (client, errors, mut report) = start(config, progress, total).await?;
                    let mut done = 0u64;
                    let mut after = 0u64;
                    let mut acked: Vec<u64> = Vec::with_capacity(MARK_BATCH);
                    let outcome = loop {
                        let pending = store.pending_events(after, CHUNK)?;
                        let Some(last) = pending.last().map(|e| e.seq) else { break Ok(()) };
                        let first = pending[0].seq;
                        after = last;
                        let mut seq_of: HashMap<Cid, u64> = HashMap::with_capacity(pending.len());
                        let mut domains = HashSet::new();
                        let mut events = Vec::with_capacity(pending.len());
                        for event in pending {
                            seq_of.insert(event.cid, event.seq);
                            let with_domain = domains.insert(event.domain_seq);
                            events.push(pending_upload(store, event, with_domain)?);
                        }
                        let run = watched(
                            &errors,
                            upload(
                                &client,
                                events,
                                &UploadOptions::default(),
                                |cid| {
                                    if let Some(&seq) = seq_of.get(cid) {
                                        acked.push(seq);
                                        done += 1;
                                    }
                                    if acked.len() >= MARK_BATCH {
                                        let _ = to_marker.send(std::mem::take(&mut acked));
                                        progress(SyncProgress { phase: SyncPhase::Uploading, done, total });
                                    }
                                },
                                cancel,
                            ),
                        )
                        .await;
                        if !acked.is_empty() {
                            let _ = to_marker.send(std::mem::take(&mut acked));
                        }
                        progress(SyncProgress { phase: SyncPhase::Uploading, done, total });
                        match run {
                            Ok(run) => {
                                report.add(&run);
                                if run.cancelled {
                                    break Ok(());
                                }
                            }
                            Err(e) => break Err((first, last, e)),
                        }
                    };
                    connected_to(&client, config, &mut report);
                    Ok::<_, AppError>((report, outcome))
                })
            });
            drop(to_marker);
            let marked = marking.join().unwrap_or_else(|_| Err(AppError::Invalid("the marking thread failed".into())));
            (result, marked)
        });
        let marked = marked.map_err(|e| {
            AppError::Invalid(format!(
                "the server acknowledged the events, but marking them uploaded failed: {e}; the next sync finds them \
                 on the server and marks them"
            ))
        })?;
        let (mut report, outcome) = result?;
        if let Err((first, last, e)) = outcome {
            self.store.record_upload_failure(first, last, &e.to_string())?;
            return Err(e.into());
        }
        let status = self.store.status()?;
        report.pending = status.pending;
        report.uploaded = status.uploaded;
        debug_assert!(marked <= report.acknowledged);
        progress(SyncProgress { phase: SyncPhase::Done, done: report.acknowledged, total });
        Ok(report)
    }
}

/// Uploads a bundle file's history, on a machine without a vault (see the module
/// documentation): the bundle is read and every entry re-derived on a second thread while this
/// one uploads.
pub fn upload_bundle(
    file: &Path,
    unseal: &Unseal,
    config: &SyncConfig,
    progress: &mut dyn FnMut(SyncProgress),
    cancel: &AtomicBool,
) -> Result<SyncReport, AppError> {
    let input =
        File::open(file).map_err(|e| AppError::Invalid(format!("cannot open the bundle {}: {e}", file.display())))?;
    if input.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(AppError::Invalid(format!("{} is a directory, not a bundle file", file.display())));
    }
    let mut reader = BundleReader::open(io::BufReader::with_capacity(1 << 16, input), unseal)?;
    let total = reader.manifest().graph.len();
    let (to_uploader, entries) = mpsc::sync_channel::<Result<Vec<UploadEvent>, AppError>>(4);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut batch = Vec::new();
            loop {
                match reader.next_entry() {
                    Ok(Some(entry)) => {
                        let mut blocks = vec![(entry.lifted.domain.cid, entry.lifted.domain.bytes.clone())];
                        blocks.extend(entry.artifacts.into_iter().map(|a| (a.cid, a.bytes)));
                        for (event, block) in entry.lifted.graph.iter().zip(entry.blocks) {
                            let mut with = vec![(block.cid, block.bytes.clone())];
                            with.append(&mut blocks);
                            batch.push(UploadEvent {
                                cid: block.cid,
                                event_id: event.id,
                                correlation_id: event.correlation.uuid(),
                                causation_id: event.causation.uuid(),
                                context: event.context.to_string(),
                                event_type: event.payload.name().to_owned(),
                                bytes: block.bytes,
                                blocks: with,
                            });
                        }
                        if batch.len() >= 256 && to_uploader.send(Ok(std::mem::take(&mut batch))).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        let _ = to_uploader.send(Ok(batch));
                        return;
                    }
                    Err(e) => {
                        let _ = to_uploader.send(Ok(std::mem::take(&mut batch)));
                        let _ = to_uploader.send(Err(e.into()));
                        return;
                    }
                }
            }
        });
        let rt = runtime()?;
        rt.block_on(async move {
            let (client, errors, mut report) = start(config, progress, total).await?;
            let failure: std::cell::Cell<Option<AppError>> = std::cell::Cell::new(None);
            let events = entries.iter().map_while(|batch| match batch {
                Ok(batch) => Some(batch),
                Err(e) => {
                    failure.set(Some(e));
                    None
                }
            });
            let mut done = 0u64;
            let run = watched(
                &errors,
                upload(
                    &client,
                    events.flatten(),
                    &UploadOptions::default(),
                    |_| {
                        done += 1;
                        if done.is_multiple_of(256) {
                            progress(SyncProgress { phase: SyncPhase::Uploading, done, total });
                        }
                    },
                    cancel,
                ),
            )
            .await?;
            drop(entries);
            if let Some(e) = failure.take() {
                return Err(e);
            }
            report.add(&run);
            connected_to(&client, config, &mut report);
            progress(SyncProgress { phase: SyncPhase::Done, done, total });
            Ok(report)
        })
    })
}
