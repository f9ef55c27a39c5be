//! The application service: the one entry point the CLI (and later the GUI) uses.
//!
//! [`Vault::execute`] runs a command the way the pipeline of `docs/ARCHITECTURE.md` says:
//! open one IMMEDIATE transaction, let the domain `decide` against the read models, wrap the
//! events with ids, time and device ([`crate::domain::seal`]), lift them with the
//! [`GraphProjector`], and record domain events, graph event blocks, outbox rows and read
//! models in that same transaction; commit, or leave everything as it was.
//! [`Vault::execute_all`] does the same for many commands in one transaction.
//!
//! This is the layer that reads the clock and draws UUIDv7s; the layers below get them passed
//! in.

pub mod backup;
pub mod bundle;
mod error;
pub mod files;
mod graph;
pub mod nats;
mod org_page;
pub mod pki;
#[cfg(feature = "sync")]
pub mod replay;
#[cfg(feature = "sync")]
pub mod sync;

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::Utc;
use cid::Cid;
use serde::Serialize;
use uuid::Uuid;

pub use error::{AppError, ErrorKind};

use crate::crypto::keystore::{self, KdfParams, MasterKey, NONCE_LEN, Passphrase, SALT_LEN, SecretBytes};
use crate::crypto::ssh;
use crate::domain::{
    Command, CommandId, CorrelationId, Ctx, DeviceId, EventEnvelope, EventId, KeyId, PersonId, Refusal, Timestamp,
    decide, seal,
};
use crate::projection::{Chain, CodecError, GraphProjector};
use crate::store::{
    DATABASE_FILE, DomainEventRow, EventQuery, EventRows, GraphEventRow, KeyRow, KeystoreRecord, OrgSummary, OrgTree,
    Status, Store, StoreError, Tx, VaultIdentity, VerifyReport,
};

/// Bytes from the OS CSPRNG.
fn random<const N: usize>() -> Result<[u8; N], AppError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Random(e.to_string()))?;
    Ok(bytes)
}

/// Wraps a master key under a passphrase with fresh salt and nonce.
fn wrap(passphrase: &Passphrase, master: &MasterKey, params: KdfParams) -> Result<KeystoreRecord, AppError> {
    let salt = random::<SALT_LEN>()?;
    let kek = keystore::derive_kek(passphrase, &salt, params)?;
    Ok(KeystoreRecord { params, salt, wrapped: keystore::wrap_master(&kek, master, random::<NONCE_LEN>()?) })
}

/// Unwraps the master key of a keystore with the passphrase (one KDF run). Touches no store,
/// so it can run on another thread while this one reads the vault.
fn unlock_keystore(record: &KeystoreRecord, passphrase: &Passphrase) -> Result<MasterKey, AppError> {
    let kek = keystore::derive_kek(passphrase, &record.salt, record.params)?;
    Ok(keystore::unwrap_master(&kek, &record.wrapped)?)
}

/// What a command stores besides its events, in the same transaction.
#[derive(Debug, Default)]
struct Extras {
    /// Sealed secrets: id, kind, ciphertext.
    secrets: Vec<(String, &'static str, keystore::Sealed)>,
    /// Public artifact blocks: CID, media type, bytes.
    artifacts: Vec<(Cid, &'static str, Vec<u8>)>,
}

/// The keystore kind of an Ed25519 identity key's 32-byte seed.
pub const SEED_KIND: &str = "ed25519-seed";

/// The keystore kind of the vault's device key seed (Ed25519; it signs export manifests). It
/// identifies this machine, so it is never part of a secrets backup.
pub const DEVICE_SEED_KIND: &str = "device-ed25519-seed";

/// A one-command batch reports its refusal without a position.
fn single(e: AppError) -> AppError {
    match e {
        AppError::Rejected { error, .. } => AppError::Rejected { index: None, error },
        other => other,
    }
}

/// Transactions of at least this many commands lift, encode and link their events on a second
/// thread while this one decides and records (see `Vault::run_batches`).
const LIFT_ON_A_THREAD: usize = 512;
/// Events sent to the lifting thread at a time.
const LIFT_BATCH: usize = 128;

/// An event lifted on the lifting thread: what the receipt says of it, and its rows.
type LiftedEvent = (Recorded, EventRows);

/// The lifting thread: lifts each batch of events, links their graph events (continuing the
/// chain from `head`) and makes their rows, and sends them back in order. Stops after an
/// error, or when the recording thread hangs up.
fn lift_and_link(
    head: Option<Cid>,
    envelopes: &mpsc::Receiver<Vec<EventEnvelope>>,
    lifted: &mpsc::Sender<Result<Vec<LiftedEvent>, CodecError>>,
) {
    let mut chain = Chain::new(head);
    for batch in envelopes {
        let batch = batch
            .into_iter()
            .map(|envelope| {
                let lifted = GraphProjector.lift(&envelope)?;
                let prev = chain.head();
                let blocks = lifted.graph.iter().map(|event| chain.link(event)).collect::<Result<Vec<_>, _>>()?;
                let rows = EventRows::new(&envelope, lifted, prev, blocks);
                Ok((Recorded::of(&envelope, &rows), rows))
            })
            .collect::<Result<Vec<_>, CodecError>>();
        let failed = batch.is_err();
        if lifted.send(batch).is_err() || failed {
            return;
        }
    }
}

/// The recording thread's end of the lifting thread.
struct Lifter {
    to: mpsc::Sender<Vec<EventEnvelope>>,
    from: mpsc::Receiver<Result<Vec<LiftedEvent>, CodecError>>,
    /// Applied events not sent yet.
    pending: Vec<EventEnvelope>,
    /// Batches sent and not back yet.
    outstanding: usize,
}

impl Lifter {
    /// Queues an applied event; sends a full batch, and appends the batches already back.
    fn push(&mut self, envelope: EventEnvelope, tx: &mut Tx<'_>, recorded: &mut Vec<Recorded>) -> Result<(), AppError> {
        self.pending.push(envelope);
        if self.pending.len() >= LIFT_BATCH {
            self.send()?;
            self.append(tx, recorded, false)?;
        }
        Ok(())
    }

    /// Sends the pending events and appends every batch as it comes back.
    fn finish(mut self, tx: &mut Tx<'_>, recorded: &mut Vec<Recorded>) -> Result<(), AppError> {
        self.send()?;
        self.append(tx, recorded, true)
    }

    fn send(&mut self) -> Result<(), AppError> {
        if !self.pending.is_empty() {
            self.to.send(std::mem::take(&mut self.pending)).map_err(|_| lifter_stopped())?;
            self.outstanding += 1;
        }
        Ok(())
    }

    /// Appends the batches that are back; with `wait`, all of them.
    fn append(&mut self, tx: &mut Tx<'_>, recorded: &mut Vec<Recorded>, wait: bool) -> Result<(), AppError> {
        while self.outstanding > 0 {
            let batch = if wait {
                self.from.recv().map_err(|_| lifter_stopped())?
            } else {
                match self.from.try_recv() {
                    Ok(batch) => batch,
                    Err(mpsc::TryRecvError::Empty) => return Ok(()),
                    Err(mpsc::TryRecvError::Disconnected) => return Err(lifter_stopped()),
                }
            };
            self.outstanding -= 1;
            for (event, rows) in batch.map_err(StoreError::from)? {
                tx.append(&rows)?;
                recorded.push(event);
            }
        }
        Ok(())
    }
}

fn lifter_stopped() -> AppError {
    AppError::Invalid("the thread lifting the events stopped; nothing was recorded".into())
}

/// A fresh UUIDv7 (time-ordered, random tail).
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

fn now() -> Timestamp {
    Timestamp::from_datetime(Utc::now())
}

/// One event recorded by a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// Domain event id.
    pub id: EventId,
    /// Domain event type.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// Its aggregate.
    pub aggregate: Uuid,
    /// CID of its block.
    #[serde(serialize_with = "crate::projection::cid_text::serialize")]
    pub cid: Cid,
    /// CIDs of the graph events lifted from it.
    #[serde(serialize_with = "crate::projection::cid_text::serialize_seq")]
    pub graph: Vec<Cid>,
}

impl Recorded {
    fn of(envelope: &EventEnvelope, rows: &EventRows) -> Self {
        Self {
            id: envelope.id,
            event_type: envelope.event.name(),
            aggregate: envelope.aggregate().1,
            cid: rows.cid(),
            graph: rows.graph_cids(),
        }
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The correlation id shared by everything recorded.
    pub correlation: CorrelationId,
    /// The domain events recorded, in order.
    pub events: Vec<Recorded>,
    /// The head CID after the command.
    #[serde(serialize_with = "crate::projection::cid_text::serialize_opt")]
    pub head: Option<Cid>,
}

/// An open vault: its database in the data directory.
#[derive(Debug)]
pub struct Vault {
    store: Store,
    data_dir: PathBuf,
}

fn check_data_dir(dir: &Path) -> Result<(), AppError> {
    let fault = |reason: String| AppError::Store(StoreError::DataDir { path: dir.to_owned(), reason });
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(fault("it is a file, not a directory".into())),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fault(e.to_string())),
    }
}

impl Vault {
    /// Creates a vault in `data_dir` (creating the directory if needed), with a keystore
    /// locked by `passphrase` (Argon2id with [`KdfParams::DEFAULT`]).
    pub fn init(data_dir: &Path, passphrase: &Passphrase) -> Result<Self, AppError> {
        Self::init_with_kdf(data_dir, passphrase, KdfParams::DEFAULT)
    }

    /// [`Vault::init`] with chosen KDF parameters (recorded in the vault). Tests and benchmarks
    /// that are not about the KDF use [`KdfParams::MINIMUM`].
    pub fn init_with_kdf(data_dir: &Path, passphrase: &Passphrase, params: KdfParams) -> Result<Self, AppError> {
        check_data_dir(data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        if path.exists() {
            return Err(StoreError::AlreadyExists(data_dir.to_owned()).into());
        }
        // The slow KDF runs before anything touches the disk.
        let master = MasterKey::from_bytes(random()?);
        let record = wrap(passphrase, &master, params)?;
        let fault = |reason: String| AppError::Store(StoreError::DataDir { path: data_dir.to_owned(), reason });
        std::fs::create_dir_all(data_dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                fault("it is not writable".into())
            }
            _ => fault(format!("it cannot be created ({e})")),
        })?;
        let identity =
            VaultIdentity { vault_id: new_id(), device_id: DeviceId::from_uuid(new_id()), created_at: now() };
        let store = Store::create(&path, identity, &record).map_err(|e| match e {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::CannotOpen => {
                fault("it is not writable".into())
            }
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::ReadOnly => {
                fault("it is not writable".into())
            }
            other => AppError::Store(other),
        })?;
        let mut vault = Self { store, data_dir: data_dir.to_owned() };
        vault.create_device_key(&master)?;
        Ok(vault)
    }

    /// Opens the vault in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, AppError> {
        check_data_dir(data_dir)?;
        let store = Store::open(&data_dir.join(DATABASE_FILE))?;
        Ok(Self { store, data_dir: data_dir.to_owned() })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The vault's identity.
    pub fn identity(&self) -> VaultIdentity {
        self.store.identity()
    }

    /// Runs one command in its own transaction.
    pub fn execute(&mut self, command: Command) -> Result<Receipt, AppError> {
        self.execute_all(vec![command]).map_err(single)
    }

    /// Runs commands in order, in one transaction under one correlation id: all are recorded,
    /// or — if any is refused or anything fails — none.
    pub fn execute_all(&mut self, commands: Vec<Command>) -> Result<Receipt, AppError> {
        self.execute_all_with_progress(commands, &mut |_, _| {})
    }

    /// [`Vault::execute_all`], reporting `(done, total)` commands as it goes (every few hundred
    /// commands and at the end, before the commit).
    pub fn execute_all_with_progress(
        &mut self,
        commands: Vec<Command>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Receipt, AppError> {
        self.run(commands, Extras::default(), progress)
    }

    /// Runs commands in one transaction and stores `secrets` (id, kind, sealed) in it too, so
    /// a secret commits with the events that announce its public half, or not at all.
    fn run(
        &mut self,
        commands: Vec<Command>,
        extras: Extras,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Receipt, AppError> {
        let total = commands.len();
        self.run_batches(std::iter::once(Ok((commands, extras))), total, progress)
    }

    /// Runs batches of commands, each with the secrets and artifacts it introduces, in one
    /// transaction under one correlation id; the batches may still be being produced (a
    /// bootstrap mints users on another thread while this one records), and the first error
    /// — from a batch or from recording — rolls everything back. `total` is the number of
    /// commands expected, for progress; a refusal's index counts across batches.
    ///
    /// Each event is applied to the read models as soon as it is decided, so the next command
    /// is judged against it. With [`LIFT_ON_A_THREAD`] commands or more, the events are lifted,
    /// encoded and linked into the chain on a second thread, and their blocks appended here as
    /// they come back, in order; the commit waits for the last of them.
    fn run_batches(
        &mut self,
        batches: impl Iterator<Item = Result<(Vec<Command>, Extras), AppError>>,
        total: usize,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Receipt, AppError> {
        const EVERY: usize = 500;
        let device = self.store.identity().device_id;
        let correlation = CorrelationId::from_uuid(new_id());
        let at = now();
        let mut tx = self.store.begin()?;
        let head = tx.head();
        std::thread::scope(|scope| {
            let mut lifter = (total >= LIFT_ON_A_THREAD).then(|| {
                let (to, envelopes) = mpsc::channel();
                let (lifted, from) = mpsc::channel();
                scope.spawn(move || lift_and_link(head, &envelopes, &lifted));
                Lifter { to, from, pending: Vec::new(), outstanding: 0 }
            });
            let mut recorded = Vec::new();
            let mut index = 0;
            for batch in batches {
                let (commands, extras) = batch?;
                for command in &commands {
                    let decided = decide(&tx, command).map_err(|r| match r {
                        Refusal::Rejected(error) => AppError::Rejected { index: Some(index), error },
                        Refusal::View(e) => AppError::Store(e),
                    })?;
                    let ctx = Ctx { now: at, device, correlation, command: CommandId::from_uuid(new_id()) };
                    for envelope in seal(decided, &ctx, || EventId::from_uuid(new_id())) {
                        match &mut lifter {
                            Some(lifter) => {
                                tx.apply(&envelope)?;
                                lifter.push(envelope, &mut tx, &mut recorded)?;
                            }
                            None => {
                                let lifted = GraphProjector.lift(&envelope).map_err(StoreError::from)?;
                                let rows = tx.record(&envelope, lifted)?;
                                recorded.push(Recorded::of(&envelope, &rows));
                            }
                        }
                    }
                    index += 1;
                    if index % EVERY == 0 || index == total {
                        progress(index, total);
                    }
                }
                for (id, kind, sealed) in &extras.secrets {
                    tx.put_secret(id, kind, sealed, at)?;
                }
                for (cid, media_type, bytes) in &extras.artifacts {
                    tx.put_artifact(cid, media_type, bytes)?;
                }
            }
            if index != total {
                // A producer stopped early (it cannot happen without an error, but a thread may
                // panic): never commit a part of what was asked.
                return Err(AppError::Invalid(format!(
                    "only {index} of {total} commands were produced; nothing was recorded"
                )));
            }
            if let Some(lifter) = lifter {
                lifter.finish(&mut tx, &mut recorded)?;
            }
            let head = tx.head();
            tx.commit()?;
            Ok(Receipt { correlation, events: recorded, head })
        })
    }

    /// Generates an Ed25519 identity key for `owner`: the seed comes from the OS CSPRNG and is
    /// sealed in the keystore (so the passphrase is needed), the public key and its fingerprint
    /// are recorded in a `KeyGenerated` event — all in one transaction.
    pub fn generate_key(&mut self, owner: PersonId, passphrase: &Passphrase) -> Result<(KeyId, Receipt), AppError> {
        let master = self.unlock(passphrase)?;
        let seed = SecretBytes::new(random::<32>()?.to_vec());
        let seed_array: zeroize::Zeroizing<[u8; 32]> = zeroize::Zeroizing::new(
            seed.expose_secret().try_into().map_err(|_| AppError::Random("short seed".into()))?,
        );
        let public = ed25519_dalek::SigningKey::from_bytes(&seed_array).verifying_key().to_bytes();
        let id = KeyId::from_uuid(new_id());
        let sealed = keystore::seal(&master, &id.to_string(), SEED_KIND, &seed, random()?);
        let command = Command::GenerateKey {
            id,
            owner,
            algorithm: "ed25519".into(),
            public_key: ssh::public_key_line(&public, "").map_err(|e| AppError::Invalid(e.to_string()))?,
            fingerprint: ssh::fingerprint(&public).to_string(),
        };
        let receipt = self
            .run(
                vec![command],
                Extras { secrets: vec![(id.to_string(), SEED_KIND, sealed)], artifacts: vec![] },
                &mut |_, _| {},
            )
            .map_err(single)?;
        Ok((id, receipt))
    }

    /// Revokes a key.
    pub fn revoke_key(&mut self, key: KeyId, reason: &str) -> Result<Receipt, AppError> {
        self.execute(Command::RevokeKey { key, reason: reason.to_owned() })
    }

    /// Keys, of one person or all.
    pub fn keys(&self, owner: Option<PersonId>) -> Result<Vec<KeyRow>, AppError> {
        Ok(self.store.keys(owner.map(|o| o.to_string()).as_deref())?)
    }

    /// One key.
    pub fn key(&self, key: KeyId) -> Result<KeyRow, AppError> {
        self.store
            .key(&key.to_string())?
            .ok_or(AppError::Rejected { index: None, error: crate::domain::DomainError::UnknownKey(key) })
    }

    /// The OpenSSH public key line of a key, with its owner's e-mail address as comment.
    pub fn export_public_key(&self, key: KeyId) -> Result<String, AppError> {
        let row = self.key(key)?;
        Ok(format!("{} {}", row.public_key, row.owner_email))
    }

    /// Checks the passphrase by unwrapping the master key (one KDF run).
    pub fn unlock(&self, passphrase: &Passphrase) -> Result<MasterKey, AppError> {
        unlock_keystore(&self.store.keystore()?.ok_or(AppError::NoKeystore)?, passphrase)
    }

    /// Changes the passphrase: unwraps the master key with the old one and wraps it under the
    /// new one (fresh salt and nonce, the vault's KDF parameters). No secret is re-encrypted.
    /// A vault without a keystore (created before keystores existed) gets one.
    pub fn change_passphrase(&mut self, old: Option<&Passphrase>, new: &Passphrase) -> Result<(), AppError> {
        match (self.store.keystore()?, old) {
            (Some(current), Some(old)) => {
                let kek = keystore::derive_kek(old, &current.salt, current.params)?;
                let master = keystore::unwrap_master(&kek, &current.wrapped)?;
                let record = wrap(new, &master, current.params)?;
                Ok(self.store.replace_keystore(&current, &record, now())?)
            }
            (Some(_), None) => Err(AppError::Invalid("the current passphrase is needed to change it".into())),
            (None, _) => {
                let master = MasterKey::from_bytes(random()?);
                let record = wrap(new, &master, KdfParams::DEFAULT)?;
                Ok(self.store.create_keystore(&record, now())?)
            }
        }
    }

    /// The keystore's KDF parameters, if the vault has a keystore.
    pub fn kdf_params(&self) -> Result<Option<KdfParams>, AppError> {
        Ok(self.store.keystore()?.map(|k| k.params))
    }

    /// Counts and head.
    pub fn status(&self) -> Result<Status, AppError> {
        Ok(self.store.status()?)
    }

    /// A page of graph events.
    pub fn graph_events(&self, query: EventQuery) -> Result<Vec<GraphEventRow>, AppError> {
        Ok(self.store.graph_events(query)?)
    }

    /// A page of domain events.
    pub fn domain_events(&self, query: EventQuery) -> Result<Vec<DomainEventRow>, AppError> {
        Ok(self.store.domain_events(query)?)
    }

    /// All organizations.
    pub fn organizations(&self) -> Result<Vec<OrgSummary>, AppError> {
        Ok(self.store.organizations()?)
    }

    /// One organization's units, people and roles.
    pub fn organization_tree(&self, org: crate::domain::OrgId) -> Result<OrgTree, AppError> {
        self.store
            .organization_tree(&org.to_string())?
            .ok_or(AppError::Rejected { index: None, error: crate::domain::DomainError::UnknownOrganization(org) })
    }

    /// Recomputes every CID and link; with `deep`, also checks that the stored columns, the
    /// graph events and the read models all agree with the domain event blocks (see
    /// `store::audit`).
    pub fn verify(&self, deep: bool) -> Result<VerifyReport, AppError> {
        let mut report = self.store.verify()?;
        if deep && report.ok() {
            report.problem = self.store.audit()?;
            report.deep = true;
        }
        Ok(report)
    }

    /// An artifact block by the CID text recorded in an event, its CID recomputed.
    pub(crate) fn checked_artifact(&self, cid_text: &str, what: &str) -> Result<Vec<u8>, AppError> {
        let cid = crate::projection::parse_cid(cid_text)
            .ok_or_else(|| StoreError::Corrupt(format!("a {what} has a malformed CID")))?;
        let bytes = self
            .store
            .artifact(&cid)?
            .ok_or_else(|| StoreError::Corrupt(format!("the {what} block {cid} is missing")))?;
        if crate::projection::raw_cid_of(&bytes) != cid {
            return Err(StoreError::Corrupt(format!("the {what} block {cid} does not hash to its CID")).into());
        }
        Ok(bytes)
    }

    /// The store, for checks that compare read models with the event log.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
