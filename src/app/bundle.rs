//! Export and import: the history crossing the air gap on an SD card.
//!
//! **Export** ([`Vault::export_bundle`]) reads a consistent snapshot of the vault (the whole
//! history, or with `since_last` what came after the last export), signs a manifest with the
//! device key, and writes an age-encrypted CAR archive to a temporary file in the target
//! directory, which is synced, renamed to its final name and its directory synced. The file is
//! then **read back** from the card: its SHA-256 must be what was written, and a bundle
//! encrypted to a passphrase is decrypted and checked as `verify` checks a vault (every block
//! hashed against its CID, every chain and source link, the counts and the head:
//! `BundleReader::check_links`); a bundle encrypted to recipients, which cannot be decrypted
//! here, had its plaintext checked the same way on a second thread while it was written. (Import
//! goes further and re-derives every block.) Only then is the export recorded
//! and reported. Beside it, in clear, a directory of the public artifacts an online operator
//! needs (operator and account JWTs, the nats-server configuration, CA certificates) and the
//! manifest as JSON.
//!
//! **Import** ([`Vault::import_bundle`]) decrypts, verifies the manifest's signature (and the
//! signer, if the operator names the one expected), and reads the bundle entry by entry on a
//! second thread — each block re-derived, as [`crate::bundle`] describes — while this one
//! applies each event to the read models and appends its blocks, all in one transaction that
//! commits only after the last block and the manifest's counts have been checked. The bundle
//! must continue the vault's history: a vault whose head is the bundle's base (or any event
//! inside the bundle) takes the events it lacks; one that already holds the bundle's head
//! takes nothing (importing twice changes nothing); any other is refused, naming the range it
//! misses or the point where the histories part.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use cid::Cid;
use ed25519_dalek::SigningKey;
use serde::Serialize;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

use super::{AppError, DEVICE_SEED_KIND, Vault, now, random};
use crate::bundle::manifest::FORMAT_NAME;
use crate::bundle::{BUNDLE_FORMAT, BundleError, BundleReader, BundleWriter, Entry, Manifest, Seal, SeqRange, Unseal};
use crate::crypto::keystore::{self, MasterKey, NONCE_LEN, Passphrase, SecretBytes};
use crate::crypto::ssh;
use crate::domain::ArtifactKind;
use crate::projection::{artifact_cid, decode_domain_event};
use crate::store::{EventRows, ExportRecord, HistoryRange, ImportRecord, StoreError, Tx};

/// File name extension of bundles.
pub const BUNDLE_EXTENSION: &str = "age";
/// An entry of a bundle made ready for the transaction on the reading thread: its rows built
/// there, so that the applying thread only inserts them.
pub(super) struct Prepared {
    envelope: crate::domain::EventEnvelope,
    rows: EventRows,
    artifacts: Vec<crate::bundle::Artifact>,
    graph: u64,
    last_graph_seq: u64,
    last_cid: Option<Cid>,
}

impl From<Entry> for Prepared {
    fn from(entry: Entry) -> Self {
        let last_cid = entry.blocks.last().map(|b| b.cid);
        let graph = entry.blocks.len() as u64;
        let rows = EventRows::new(&entry.envelope, entry.lifted, entry.prev, entry.blocks);
        Self {
            envelope: entry.envelope,
            rows,
            artifacts: entry.artifacts,
            graph,
            last_graph_seq: entry.last_graph_seq,
            last_cid,
        }
    }
}

/// Domain events between two progress reports and cancel checks of export.
const CHECK_EVERY: u64 = 250;
/// Entries sent between the reading and the applying thread at a time.
const BATCH: usize = 256;

/// What a long export or import is doing, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleProgress {
    /// `writing`, `verifying` or `importing`.
    pub phase: &'static str,
    /// Domain events done.
    pub done: u64,
    /// Domain events in all.
    pub total: u64,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Whether a bundle was written (not when `since_last` found nothing new).
    pub written: bool,
    /// The bundle file.
    pub file: Option<PathBuf>,
    /// The directory of public artifacts beside it.
    pub public_dir: Option<PathBuf>,
    /// The public files written there.
    pub public_files: Vec<PathBuf>,
    /// The manifest block's CID.
    #[serde(serialize_with = "crate::projection::cid_text::serialize_opt")]
    pub manifest: Option<Cid>,
    /// The head the bundle ends at (the vault's head).
    #[serde(serialize_with = "crate::projection::cid_text::serialize_opt")]
    pub head: Option<Cid>,
    /// Whether it continues an earlier export.
    pub incremental: bool,
    /// Graph events held, first and last sequence numbers.
    pub graph: Option<(u64, u64)>,
    /// Domain events held, first and last sequence numbers.
    pub domain: Option<(u64, u64)>,
    /// Artifact blocks held.
    pub artifacts: u64,
    /// Size of the file.
    pub bytes: u64,
    /// SHA-256 (hex) of the file.
    pub sha256: Option<String>,
    /// `passphrase`, or the recipients.
    pub encrypted_to: Vec<String>,
    /// The device key's fingerprint, which signed the manifest.
    pub signer: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The bundle file.
    pub file: PathBuf,
    /// The manifest block's CID.
    #[serde(serialize_with = "crate::projection::cid_text::serialize")]
    pub manifest: Cid,
    /// The exporting vault.
    pub vault: String,
    /// The exporting device.
    pub device: String,
    /// The signer's fingerprint (compare it with `status` on the exporting machine).
    pub signer: String,
    /// The bundle's head.
    #[serde(serialize_with = "crate::projection::cid_text::serialize")]
    pub head: Cid,
    /// The bundle's graph events, first and last.
    pub graph: (u64, u64),
    /// The bundle's domain events, first and last.
    pub domain: (u64, u64),
    /// Domain events added to this vault.
    pub domain_added: u64,
    /// Graph events added.
    pub graph_added: u64,
    /// Artifact blocks stored.
    pub artifacts_added: u64,
    /// The vault's head afterwards.
    #[serde(serialize_with = "crate::projection::cid_text::serialize_opt")]
    pub vault_head: Option<Cid>,
}

pub(super) fn cancelled() -> AppError {
    AppError::Invalid("cancelled; nothing was changed".into())
}

/// What [`apply_entries`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Applied {
    /// Domain events, graph events and artifact blocks added.
    pub added: (u64, u64, u64),
    /// Entries read.
    pub done: u64,
    /// Whether the reader reached its end (answered `None`).
    pub ended: bool,
}

/// Applies checked entries in one transaction — the part import and replay share. `next`
/// reads and checks the entries (each re-derived by [`Entry::derive`]) on a second thread,
/// until it answers `None` or fails; here, each entry `keep` accepts is applied in `tx`: its
/// artifact blocks, its read-model changes ([`Tx::apply`]), its rows ([`Tx::append`]). After
/// each batch `cancel` is looked at and `progress` told the number of entries read. The caller
/// commits, or drops `tx` on an error.
pub(super) fn apply_entries(
    tx: &mut Tx<'_>,
    mut next: impl FnMut() -> Result<Option<Entry>, AppError> + Send,
    keep: &mut dyn FnMut(&Prepared) -> Result<bool, AppError>,
    progress: &mut dyn FnMut(u64),
    cancel: &AtomicBool,
) -> Result<Applied, AppError> {
    let (to_applier, from_reader) = mpsc::sync_channel::<Result<Vec<Prepared>, AppError>>(4);
    std::thread::scope(|scope| {
        let reading = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                match next() {
                    Ok(Some(entry)) => {
                        batch.push(Prepared::from(entry));
                        if batch.len() == BATCH && to_applier.send(Ok(std::mem::take(&mut batch))).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        let _ = to_applier.send(Ok(batch));
                        return;
                    }
                    Err(e) => {
                        let _ = to_applier.send(Err(e));
                        return;
                    }
                }
            }
        });
        let mut applied = Applied { added: (0, 0, 0), done: 0, ended: false };
        for batch in &from_reader {
            let batch = batch?;
            if batch.len() < BATCH {
                applied.ended = true;
            }
            for entry in batch {
                applied.done += 1;
                if !keep(&entry)? {
                    continue;
                }
                applied.added.2 += entry.artifacts.len() as u64;
                for artifact in &entry.artifacts {
                    let media = match artifact.kind {
                        ArtifactKind::Jwt => super::nats::JWT_MEDIA_TYPE,
                        ArtifactKind::Certificate => super::pki::CERTIFICATE_MEDIA_TYPE,
                    };
                    tx.put_artifact(&artifact.cid, media, &artifact.bytes)?;
                }
                tx.apply(&entry.envelope)?;
                tx.append(&entry.rows)?;
                applied.added.1 += entry.graph;
                applied.added.0 += 1;
            }
            if cancel.load(Ordering::Relaxed) {
                return Err(cancelled());
            }
            progress(applied.done);
            if applied.ended {
                break;
            }
        }
        drop(from_reader);
        reading.join().map_err(|_| AppError::Invalid("the thread reading the entries failed".into()))?;
        Ok(applied)
    })
}

/// A writer that hashes what passes through it and counts it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 and length of a file, read back from the disk.
fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        total += n as u64;
    }
    Ok((data_encoding::HEXLOWER.encode(&hash.finalize()), total))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A file name part from a name: lower-case letters, digits and dashes.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').chars().take(48).collect::<String>();
    if out.is_empty() { "unnamed".into() } else { out }
}

/// Which artifact blocks each domain event of `range` introduces (those it refers to that no
/// earlier event of the range did), in the order the bundle carries them.
fn artifact_plan(events: Vec<(u64, Vec<u8>)>) -> Result<(std::collections::HashMap<u64, Vec<Cid>>, u64), AppError> {
    let mut seen = HashSet::new();
    let mut plan = std::collections::HashMap::new();
    for (seq, bytes) in events {
        let envelope = decode_domain_event(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("domain event #{seq} cannot be decoded: {e}")))?;
        let mut new = Vec::new();
        for (_, text) in envelope.event.artifacts() {
            let cid = artifact_cid(text).ok_or_else(|| {
                StoreError::Corrupt(format!("domain event #{seq} refers to a malformed artifact CID"))
            })?;
            if seen.insert(cid) {
                new.push(cid);
            }
        }
        if !new.is_empty() {
            plan.insert(seq, new);
        }
    }
    let count = seen.len() as u64;
    Ok((plan, count))
}

impl Vault {
    /// The device key's fingerprint (`SHA256:…`); `None` before the first export of a vault
    /// created by an older cim-keys.
    pub fn device_fingerprint(&self) -> Result<Option<String>, AppError> {
        Ok(self.store.device_key()?.map(|k| ssh::fingerprint(&k).to_string()))
    }

    /// Creates the device key: a fresh Ed25519 seed sealed in the keystore, its public half in
    /// the vault row.
    pub(super) fn create_device_key(&mut self, master: &MasterKey) -> Result<SigningKey, AppError> {
        let seed = SecretBytes::new(random::<32>()?.to_vec());
        let key = SigningKey::from_bytes(
            &seed.expose_secret().try_into().map_err(|_| AppError::Random("short seed".into()))?,
        );
        let device = self.store.identity().device_id.to_string();
        let sealed = keystore::seal(master, &device, DEVICE_SEED_KIND, &seed, random::<NONCE_LEN>()?);
        self.store.set_device_key(key.verifying_key().as_bytes(), DEVICE_SEED_KIND, &sealed, now())?;
        Ok(key)
    }

    /// The device key, unsealed (created first if this vault has none yet).
    fn device_signing_key(&mut self, master: &MasterKey) -> Result<SigningKey, AppError> {
        let Some(public) = self.store.device_key()? else { return self.create_device_key(master) };
        let device = self.store.identity().device_id.to_string();
        let (kind, sealed) = self
            .store
            .secret(&device)?
            .ok_or_else(|| StoreError::Corrupt("the device key's seed is missing from the keystore".into()))?;
        if kind != DEVICE_SEED_KIND {
            return Err(StoreError::Corrupt("the device key's seed has the wrong kind".into()).into());
        }
        let seed = keystore::open(master, &device, &kind, &sealed)?;
        let bytes: [u8; 32] = seed
            .expose_secret()
            .try_into()
            .map_err(|_| StoreError::Corrupt("the device key's seed is not 32 bytes".into()))?;
        let key = SigningKey::from_bytes(&bytes);
        if key.verifying_key().as_bytes() != &public {
            return Err(StoreError::Corrupt("the device key's seed does not match its public key".into()).into());
        }
        Ok(key)
    }

    /// Writes a bundle into `out_dir` (see the module documentation). `passphrase` is the
    /// vault's (it unlocks the device key); `seal` says who can open the bundle.
    pub fn export_bundle(
        &mut self,
        passphrase: &Passphrase,
        out_dir: &Path,
        seal: &Seal,
        since_last: bool,
        progress: &mut dyn FnMut(BundleProgress),
        cancel: &AtomicBool,
    ) -> Result<ExportReport, AppError> {
        let master = self.unlock(passphrase)?;
        let key = self.device_signing_key(&master)?;
        drop(master);
        let signer = ssh::fingerprint(key.verifying_key().as_bytes()).to_string();
        let encrypted_to = match seal {
            Seal::Passphrase { .. } => vec!["passphrase".to_owned()],
            Seal::Recipients(r) => r.iter().map(ToString::to_string).collect(),
        };
        let last = if since_last { self.store.last_export()? } else { None };
        let after = last.as_ref().map_or(0, |e| e.graph.1);

        let snapshot = self.store.snapshot()?;
        let Some(range) = snapshot.range_after(after)? else {
            if since_last && after > 0 {
                return Ok(ExportReport {
                    written: false,
                    file: None,
                    public_dir: None,
                    public_files: vec![],
                    manifest: None,
                    head: last.map(|e| e.head),
                    incremental: true,
                    graph: None,
                    domain: None,
                    artifacts: 0,
                    bytes: 0,
                    sha256: None,
                    encrypted_to,
                    signer,
                });
            }
            return Err(AppError::Invalid("the vault holds no events yet; there is nothing to export".into()));
        };
        let (plan, artifacts) = artifact_plan(snapshot.events_with_artifacts(&range)?)?;
        let identity = self.store.identity();
        let created = now();
        let manifest = Manifest {
            format: FORMAT_NAME.into(),
            v: BUNDLE_FORMAT,
            vault: identity.vault_id.to_string(),
            device: identity.device_id.to_string(),
            signer: ByteBuf::from(key.verifying_key().as_bytes().to_vec()),
            head: range.head,
            base: range.base,
            graph: SeqRange { first: range.graph.0, last: range.graph.1 },
            domain: SeqRange { first: range.domain.0, last: range.domain.1 },
            artifacts,
            created_at: created.to_string(),
        };

        let fault = |e: io::Error| AppError::Invalid(format!("cannot write into {}: {e}", out_dir.display()));
        fs::create_dir_all(out_dir).map_err(fault)?;
        let stamp = created.to_string().replace(['-', ':'], "");
        let stamp = stamp.split('.').next().unwrap_or(&stamp).trim_end_matches('Z').to_owned() + "Z";
        let base_name = format!("cim-keys-{stamp}-{}-{}", range.graph.0, range.graph.1);
        let file = out_dir.join(format!("{base_name}.{BUNDLE_EXTENSION}"));
        if file.exists() {
            return Err(AppError::Invalid(format!(
                "{} exists already; wait a second and export again, or choose another directory",
                file.display()
            )));
        }
        let tmp = out_dir.join(format!(".{base_name}.{BUNDLE_EXTENSION}.{}.partial", std::process::id()));
        let total = range.domain.1 + 1 - range.domain.0;
        let written = write_bundle(&tmp, &snapshot, &range, &plan, seal, &manifest, &key, total, progress, cancel);
        drop(snapshot);
        let (manifest_cid, sha256, bytes) = match written {
            Ok(done) => done,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let finish = || -> io::Result<()> {
            fs::rename(&tmp, &file)?;
            sync_dir(out_dir)
        };
        if let Err(e) = finish() {
            let _ = fs::remove_file(&tmp);
            return Err(fault(e));
        }

        // Read back from the card, then write the public artifacts and record the export; if
        // any of it fails (or is cancelled), the bundle goes: no export half-reported.
        let public_dir = out_dir.join(format!("{base_name}.public"));
        let finished = read_back(&file, seal, &manifest, manifest_cid, (&sha256, bytes), total, progress, cancel)
            .and_then(|()| self.write_public_artifacts(&public_dir, &manifest, manifest_cid, &file, &sha256))
            .and_then(|public_files| {
                self.store.record_export(&ExportRecord {
                    created_at: created,
                    file: file.display().to_string(),
                    manifest: manifest_cid,
                    head: range.head,
                    graph: range.graph,
                    domain: range.domain,
                    artifacts,
                    encrypted_to: encrypted_to.join(","),
                    sha256: sha256.clone(),
                })?;
                Ok(public_files)
            });
        let public_files = match finished {
            Ok(files) => files,
            Err(e) => {
                let _ = fs::remove_file(&file);
                let _ = fs::remove_dir_all(&public_dir);
                let _ = sync_dir(out_dir);
                return Err(e);
            }
        };
        progress(BundleProgress { phase: "done", done: total, total });
        Ok(ExportReport {
            written: true,
            file: Some(file),
            public_dir: Some(public_dir),
            public_files,
            manifest: Some(manifest_cid),
            head: Some(range.head),
            incremental: range.base.is_some(),
            graph: Some(range.graph),
            domain: Some(range.domain),
            artifacts,
            bytes,
            sha256: Some(sha256),
            encrypted_to,
            signer,
        })
    }

    /// Writes the public artifacts beside a bundle: per bootstrapped organization its
    /// operator and account JWTs and nats-server configuration, per organization with a PKI its
    /// CA certificates, and the manifest as JSON.
    fn write_public_artifacts(
        &self,
        dir: &Path,
        manifest: &Manifest,
        manifest_cid: Cid,
        file: &Path,
        sha256: &str,
    ) -> Result<Vec<PathBuf>, AppError> {
        use super::files::{PUBLIC_MODE, write_atomically};
        let mut written = Vec::new();
        let mut put = |path: PathBuf, bytes: &[u8]| -> Result<(), AppError> {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .map_err(|e| AppError::Invalid(format!("cannot create {}: {e}", parent.display())))?;
            }
            write_atomically(&path, bytes, PUBLIC_MODE)?;
            written.push(path);
            Ok(())
        };
        let json = serde_json::json!({
            "format": manifest.format,
            "v": manifest.v,
            "bundle": file.file_name().map(|n| n.to_string_lossy().into_owned()),
            "bundle_sha256": sha256,
            "manifest_cid": manifest_cid.to_string(),
            "vault": manifest.vault,
            "device": manifest.device,
            "signer": manifest.signer_fingerprint(),
            "head": manifest.head.to_string(),
            "base": manifest.base.map(|c| c.to_string()),
            "graph_events": { "first": manifest.graph.first, "last": manifest.graph.last },
            "domain_events": { "first": manifest.domain.first, "last": manifest.domain.last },
            "artifacts": manifest.artifacts,
            "created_at": manifest.created_at,
        });
        let mut text = serde_json::to_string_pretty(&json).map_err(|e| AppError::Invalid(e.to_string()))?;
        text.push('\n');
        put(dir.join("manifest.json"), text.as_bytes())?;
        for org in self.organizations()? {
            let org_id: crate::domain::OrgId = org.id.parse()?;
            let org_dir = dir.join(slug(&org.name));
            if self.store.nats_operator(&org.id)?.is_some() {
                let tree = self.nats_list(org_id)?;
                let operator = self.stored_jwt(&tree.operator.jwt)?;
                put(org_dir.join("nats").join("operator.jwt"), format!("{operator}\n").as_bytes())?;
                for account in &tree.accounts {
                    let token = self.stored_jwt(&account.jwt)?;
                    let name = format!(
                        "{}-{}.jwt",
                        slug(&account.name),
                        &account.public_key[..8.min(account.public_key.len())]
                    );
                    put(org_dir.join("nats").join("accounts").join(name), format!("{token}\n").as_bytes())?;
                }
                let config = self.nats_server_config(org_id, None)?;
                put(org_dir.join("nats").join("nats-server.conf"), config.as_bytes())?;
            }
            let (cas, _) = self.pki_list(org_id)?;
            for ca in cas {
                let pem = self.pki_pem(&ca.id)?;
                put(org_dir.join("pki").join(format!("{}-ca.pem", ca.kind)), pem.as_bytes())?;
            }
        }
        Ok(written)
    }

    /// Imports a bundle (see the module documentation). `expect_signer`, if given, is the
    /// device key fingerprint the manifest must be signed by.
    pub fn import_bundle(
        &mut self,
        file: &Path,
        unseal: &Unseal,
        expect_signer: Option<&str>,
        progress: &mut dyn FnMut(BundleProgress),
        cancel: &AtomicBool,
    ) -> Result<ImportReport, AppError> {
        let input = File::open(file)
            .map_err(|e| AppError::Invalid(format!("cannot open the bundle {}: {e}", file.display())))?;
        if input.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(AppError::Invalid(format!("{} is a directory, not a bundle file", file.display())));
        }
        let mut reader = BundleReader::open(io::BufReader::with_capacity(1 << 16, input), unseal)?;
        let manifest = reader.manifest().clone();
        let manifest_cid = reader.manifest_cid();
        let signer = manifest.signer_fingerprint();
        if let Some(expected) = expect_signer {
            let expected = expected.trim();
            expected
                .parse::<ssh::SshFingerprint>()
                .map_err(|e| AppError::Invalid(format!("the expected signer is not a device key fingerprint: {e}")))?;
            if expected != signer {
                return Err(BundleError::UnexpectedSigner { expected: expected.to_owned(), found: signer }.into());
            }
        }
        let total = manifest.domain.len();
        let mut tx = self.store.begin()?;
        let have = tx.graph_count()?;
        let (first, last) = (manifest.graph.first, manifest.graph.last);
        let report = |added: (u64, u64, u64), head: Option<Cid>| ImportReport {
            file: file.to_owned(),
            manifest: manifest_cid,
            vault: manifest.vault.clone(),
            device: manifest.device.clone(),
            signer: signer.clone(),
            head: manifest.head,
            graph: (first, last),
            domain: (manifest.domain.first, manifest.domain.last),
            domain_added: added.0,
            graph_added: added.1,
            artifacts_added: added.2,
            vault_head: head,
        };
        if have >= last {
            // Already imported, or another history.
            if tx.graph_cid(last)? == Some(manifest.head) {
                // Read to the end anyway: "already there" is only said of a bundle that is valid.
                reader.check_all()?;
                let head = tx.head();
                drop(tx);
                return Ok(report((0, 0, 0), head));
            }
            return Err(AppError::Invalid(format!(
                "this vault's history differs from the bundle's at graph event #{last}: it was not made from the \
                 same history (import into a new vault, or check which vault exported it)"
            )));
        }
        if have + 1 < first {
            return Err(AppError::Invalid(format!(
                "this bundle continues the history after graph event #{} (base {}), but this vault holds only {have} \
                 graph events: import the bundle(s) holding graph events #{}–#{} first",
                first - 1,
                manifest.base.map_or_else(|| "none".into(), |c| c.to_string()),
                have + 1,
                first - 1
            )));
        }
        if have + 1 == first && tx.head() != manifest.base {
            return Err(AppError::Invalid(format!(
                "this vault's history differs from the bundle's: its head after graph event #{have} is not the \
                 bundle's base {}",
                manifest.base.map_or_else(|| "none".into(), |c| c.to_string())
            )));
        }
        let vault_head = tx.head();

        // Read and check on a second thread; apply here.
        let mut matched = have + 1 == first;
        let mut keep = |entry: &Prepared| -> Result<bool, AppError> {
            if entry.last_graph_seq <= have {
                // Already in this vault: it must be the same event.
                if entry.last_graph_seq == have {
                    matched = entry.last_cid == vault_head;
                    if !matched {
                        return Err(AppError::Invalid(format!(
                            "this vault's history differs from the bundle's at graph event #{have}"
                        )));
                    }
                }
                return Ok(false);
            }
            if !matched {
                return Err(AppError::Invalid(format!(
                    "this vault's history does not end at an event boundary of the bundle (graph event #{have})"
                )));
            }
            Ok(true)
        };
        let applied = apply_entries(
            &mut tx,
            || reader.next_entry().map_err(AppError::from),
            &mut keep,
            &mut |done| progress(BundleProgress { phase: "importing", done, total }),
            cancel,
        )
        .and_then(|applied| {
            if !applied.ended || applied.done != total {
                return Err(AppError::Invalid("the bundle ended before its last event".into()));
            }
            Ok(applied.added)
        });
        let added = applied?;
        tx.record_import(&ImportRecord {
            imported_at: now(),
            manifest: manifest_cid,
            vault_id: manifest.vault.clone(),
            device_id: manifest.device.clone(),
            signer: signer.clone(),
            head: manifest.head,
            graph: (first, last),
            domain_added: added.0,
            graph_added: added.1,
            artifacts: added.2,
        })?;
        let head = tx.head();
        tx.commit()?;
        progress(BundleProgress { phase: "done", done: total, total });
        Ok(report(added, head))
    }
}

/// Reads a bundle just written back from the card: its SHA-256 and size must be what was
/// written; a bundle encrypted to a passphrase is decrypted and its links checked (one
/// encrypted to recipients had its plaintext checked while it was written).
#[allow(clippy::too_many_arguments)]
fn read_back(
    file: &Path,
    seal: &Seal,
    manifest: &Manifest,
    manifest_cid: Cid,
    (sha256, bytes): (&str, u64),
    total: u64,
    progress: &mut dyn FnMut(BundleProgress),
    cancel: &AtomicBool,
) -> Result<(), AppError> {
    let fault = |e: io::Error| AppError::Invalid(format!("cannot read back {}: {e}", file.display()));
    let (read_sha, read_bytes) = hash_file(file).map_err(fault)?;
    if read_sha != sha256 || read_bytes != bytes {
        return Err(AppError::Invalid(format!(
            "{} does not read back as written (the card may be failing); nothing was exported",
            file.display()
        )));
    }
    let Seal::Passphrase { passphrase, .. } = seal else { return Ok(()) };
    progress(BundleProgress { phase: "verifying", done: 0, total });
    let unseal = Unseal::Passphrase(passphrase.clone());
    let mut reader = BundleReader::open(io::BufReader::new(File::open(file).map_err(fault)?), &unseal)?;
    if reader.manifest() != manifest || reader.manifest_cid() != manifest_cid {
        return Err(AppError::Invalid("the bundle read back holds another manifest; nothing was exported".into()));
    }
    let checked = reader.check_links(&mut |done| {
        if done.is_multiple_of(CHECK_EVERY) {
            progress(BundleProgress { phase: "verifying", done, total });
            return !cancel.load(Ordering::Relaxed);
        }
        true
    })?;
    checked.map(|_| ()).ok_or_else(cancelled)
}

/// Where the export's blocks go: a bundle writer's `block`.
type BlockSink<'a> = dyn FnMut(&Cid, &[u8]) -> Result<(), BundleError> + 'a;

/// Writes the bundle into `tmp` (created new, synced); returns the manifest's CID, the file's
/// SHA-256 and its size.
#[allow(clippy::too_many_arguments)]
fn write_bundle(
    tmp: &Path,
    snapshot: &crate::store::Snapshot<'_>,
    range: &HistoryRange,
    plan: &std::collections::HashMap<u64, Vec<Cid>>,
    seal: &Seal,
    manifest: &Manifest,
    key: &SigningKey,
    total: u64,
    progress: &mut dyn FnMut(BundleProgress),
    cancel: &AtomicBool,
) -> Result<(Cid, String, u64), AppError> {
    let fault = |e: io::Error| AppError::Invalid(format!("cannot write {}: {e}", tmp.display()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    let out = Hashing { inner: options.open(tmp).map_err(fault)?, hash: Sha256::new(), bytes: 0 };
    let mut done = 0u64;
    let mut write_blocks = |writer: &mut BlockSink<'_>| -> Result<(), AppError> {
        snapshot.each_event(range, |event| -> Result<(), AppError> {
            writer(&event.cid, &event.bytes)?;
            for cid in plan.get(&event.seq).into_iter().flatten() {
                let bytes = snapshot.artifact(cid)?.ok_or_else(|| {
                    StoreError::Corrupt(format!("artifact {cid} of domain event #{} is missing", event.seq))
                })?;
                writer(cid, &bytes)?;
            }
            for (cid, bytes) in &event.graph {
                writer(cid, bytes)?;
            }
            done += 1;
            if done.is_multiple_of(CHECK_EVERY) {
                if cancel.load(Ordering::Relaxed) {
                    return Err(cancelled());
                }
                progress(BundleProgress { phase: "writing", done, total });
            }
            Ok(())
        })
    };
    let (manifest_cid, out) = if seal.is_passphrase() {
        let (mut writer, cid) = BundleWriter::new(out, seal, manifest, key)?;
        write_blocks(&mut |c, b| writer.block(c, b))?;
        (cid, writer.finish()?)
    } else {
        // Encrypted to recipients: check the plaintext on a second thread as it is written.
        let (pipe_in, pipe_out) = io::pipe().map_err(fault)?;
        std::thread::scope(|scope| {
            let checking = scope.spawn(move || -> Result<(Manifest, Cid, u64), BundleError> {
                let mut reader = BundleReader::from_plain(pipe_in)?;
                let n = reader.check_links(&mut |_| true)?.unwrap_or_default();
                Ok((reader.manifest().clone(), reader.manifest_cid(), n))
            });
            let written = (|| {
                let (mut writer, cid) = BundleWriter::with_copy(out, pipe_out, seal, manifest, key)?;
                write_blocks(&mut |c, b| writer.block(c, b))?;
                Ok::<_, AppError>((cid, writer.finish()?))
            })();
            let checked = checking.join().map_err(|_| AppError::Invalid("the checking thread failed".into()))?;
            let (cid, out) = written.map_err(|e| match (&e, &checked) {
                // The checker stopped reading because it found a problem: that is the error.
                (_, Err(problem)) => AppError::Invalid(format!("the bundle being written failed its check: {problem}")),
                _ => e,
            })?;
            let (read_manifest, read_cid, n) = checked?;
            if &read_manifest != manifest || read_cid != cid || n != total {
                return Err(AppError::Invalid("the bundle written does not read back as the one meant".into()));
            }
            Ok((cid, out))
        })?
    };
    let Hashing { inner: mut file, hash, bytes } = out;
    file.flush().map_err(fault)?;
    file.sync_all().map_err(fault)?;
    Ok((manifest_cid, data_encoding::HEXLOWER.encode(&hash.finalize()), bytes))
}
