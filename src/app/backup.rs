//! Secrets backup and restore: the keystore's secrets in a file of their own, encrypted with
//! age to a backup passphrase or to X25519 recipients, specified normatively in
//! `docs/formats/secrets-backup.md`.
//!
//! An export bundle carries the history and the public artifacts, never a secret: a vault that
//! imported one knows every key's public half but can sign with none of them. Restoring the
//! exporting vault's secrets backup into it makes it able to issue creds, JWTs and
//! certificates again.
//!
//! * [`Vault::backup_secrets`] opens every sealed secret with the master key (so the vault
//!   passphrase is needed) and writes them all — except the device key, which identifies the
//!   machine holding it and so never leaves it — as one DAG-CBOR document ([`SecretsBackup`]),
//!   encrypted with age, to a new file: mode 0600, written atomically, and never over an
//!   existing file.
//! * [`Vault::restore_secrets`] decrypts, checks the format and version, and checks every
//!   secret against the public half this vault's read models record: an identity key's seed
//!   must give the key's OpenSSH public key; an nkey seed its public key (its id), known as an
//!   operator, account, user or signing key of that role; a CA's or certificate's seed the
//!   public key in its certificate. One secret that matches nothing refuses the whole restore,
//!   naming it: a backup only goes into a vault that has the history it belongs to (its own, or
//!   one that imported its bundle). A secret already present with the same bytes is skipped, so
//!   restoring twice changes nothing; one present with other bytes refuses the restore. The rest
//!   are sealed under this vault's master key and inserted in one transaction, or none are.
//! * No event is recorded (secrets are not history), and no secret reaches an event, an output
//!   or a log: the reports count secrets by kind. Plaintext lives only in zeroizing buffers
//!   sized up front, so no reallocation leaves a copy behind; the encoder is written out by hand
//!   for that reason (a serde serializer sorts map entries through buffers of its own).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::nats::{ACCOUNT_SEED_KIND, OPERATOR_SEED_KIND, USER_SEED_KIND};
use super::pki::{CA_SEED_KIND, LEAF_SEED_KIND};
use super::{AppError, DEVICE_SEED_KIND, SEED_KIND, Vault, files, now, random};
use crate::bundle::{BundleError, Seal, Unseal};
use crate::crypto::keystore::{self, Passphrase, SecretBytes};
use crate::crypto::nats::{NKeyKind, NatsKeyPair};
use crate::crypto::ssh;
use crate::crypto::x509::CertificateKey;
use crate::domain::{Timestamp, excerpt};

/// The `format` field of a secrets backup.
pub const FORMAT: &str = "cim-keys-secrets";
/// The format version this build writes, and the only one it reads.
pub const VERSION: u64 = 1;
/// The largest backup file read (a vault of 100,000 keys makes about 12 MB).
pub const MAX_FILE_BYTES: u64 = 256 << 20;
/// The length of every secret kind this build knows: a 32-byte Ed25519 seed.
const SEED_LEN: usize = 32;

/// One secret of a backup: its keystore id and kind, and its plaintext.
pub struct BackupSecret {
    /// The keystore id (a key's, CA's or certificate's id; an nkey's public key).
    pub id: String,
    /// The keystore kind (`ed25519-seed`, `nats-user-seed`, …).
    pub kind: String,
    /// The plaintext.
    pub secret: SecretBytes,
}

impl std::fmt::Debug for BackupSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupSecret").field("id", &self.id).field("kind", &self.kind).finish_non_exhaustive()
    }
}

/// A secrets backup, decrypted: the format's one type, written by [`SecretsBackup::encode`] and
/// read by [`SecretsBackup::decode`] (which gives back the same bytes).
#[derive(Debug)]
pub struct SecretsBackup {
    /// The vault that wrote it.
    pub vault: Uuid,
    /// When.
    pub created_at: Timestamp,
    /// The secrets, in ascending byte order of their ids (each id once).
    pub secrets: Vec<BackupSecret>,
}

/// Where the encoder writes: a byte counter (to size the buffer) or the buffer.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for usize {
    fn put(&mut self, bytes: &[u8]) {
        *self += bytes.len();
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A CBOR head: major type and argument, in the shortest form (as DAG-CBOR requires).
fn head(out: &mut impl Sink, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.put(&[m | n as u8]),
        24..=0xff => out.put(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.put(&[m | 25]);
            out.put(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.put(&[m | 26]);
            out.put(&(n as u32).to_be_bytes());
        }
        _ => {
            out.put(&[m | 27]);
            out.put(&n.to_be_bytes());
        }
    }
}

const UNSIGNED: u8 = 0;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;

fn text(out: &mut impl Sink, s: &str) {
    head(out, TEXT, s.len() as u64);
    out.put(s.as_bytes());
}

fn bytes(out: &mut impl Sink, b: &[u8]) {
    head(out, BYTES, b.len() as u64);
    out.put(b);
}

/// What [`SecretsBackup::decode`] reads first, to name a wrong file or version.
#[derive(Deserialize)]
struct Probe {
    format: Option<String>,
    v: Option<u64>,
}

/// Version 1 as serde reads it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentV1 {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    v: u64,
    vault: String,
    created_at: String,
    secrets: Vec<EntryV1>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryV1 {
    id: String,
    kind: String,
    #[serde(deserialize_with = "secret_bytes")]
    secret: SecretBytes,
}

/// A CBOR byte string straight into a [`SecretBytes`] (one exact-size copy, then zeroized).
fn secret_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SecretBytes, D::Error> {
    serde_bytes::ByteBuf::deserialize(deserializer).map(|b| SecretBytes::new(b.into_vec()))
}

/// A secret's id as errors name it: whole (ids are UUIDs or 56-character nkeys), unless it is
/// too long or holds control characters (a crafted file), then cut short.
fn shown(id: &str) -> String {
    if id.len() <= 80 && !id.chars().any(char::is_control) { id.to_owned() } else { shown(id) }
}

fn malformed(reason: impl std::fmt::Display) -> AppError {
    AppError::Invalid(format!("the secrets backup is malformed: {reason}; nothing was restored"))
}

impl SecretsBackup {
    /// The canonical DAG-CBOR encoding (map keys sorted length-first, then bytewise; shortest
    /// heads), in a buffer allocated once at its final size.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut size = 0usize;
        self.write(&mut size);
        let mut out = Zeroizing::new(Vec::with_capacity(size));
        self.write(&mut *out);
        debug_assert_eq!(out.len(), size);
        out
    }

    fn write(&self, out: &mut impl Sink) {
        // Keys in DAG-CBOR order: v, vault, format, secrets, created_at.
        head(out, MAP, 5);
        text(out, "v");
        head(out, UNSIGNED, VERSION);
        text(out, "vault");
        text(out, &self.vault.hyphenated().to_string());
        text(out, "format");
        text(out, FORMAT);
        text(out, "secrets");
        head(out, ARRAY, self.secrets.len() as u64);
        for secret in &self.secrets {
            // id, kind, secret.
            head(out, MAP, 3);
            text(out, "id");
            text(out, &secret.id);
            text(out, "kind");
            text(out, &secret.kind);
            text(out, "secret");
            bytes(out, secret.secret.expose_secret());
        }
        text(out, "created_at");
        text(out, &self.created_at.to_string());
    }

    /// Reads a decrypted backup: refuses another format, another version (naming it), unknown
    /// or missing fields, a non-canonical vault id or time, and ids out of order or repeated.
    pub fn decode(plain: &[u8]) -> Result<Self, AppError> {
        let not_ours = || {
            AppError::Invalid(
                "this file is not a cim-keys secrets backup (an export bundle is read with `cim-keys import`); \
                 nothing was restored"
                    .into(),
            )
        };
        let probe: Probe = serde_ipld_dagcbor::from_slice(plain).map_err(|_| not_ours())?;
        if probe.format.as_deref() != Some(FORMAT) {
            return Err(not_ours());
        }
        match probe.v {
            Some(VERSION) => {}
            Some(found) => {
                return Err(
                    BundleError::UnsupportedVersion { what: "the secrets backup", found, supported: VERSION }.into()
                );
            }
            None => return Err(malformed("it has no version")),
        }
        let document: DocumentV1 = serde_ipld_dagcbor::from_slice(plain).map_err(malformed)?;
        let vault = Uuid::try_parse(&document.vault)
            .ok()
            .filter(|u| u.hyphenated().to_string() == document.vault)
            .ok_or_else(|| malformed(format!("its vault id '{}' is not a UUID", excerpt(&document.vault))))?;
        let created_at = Timestamp::parse(&document.created_at).ok_or_else(|| {
            malformed(format!("its time '{}' is not an RFC 3339 UTC time", excerpt(&document.created_at)))
        })?;
        let secrets: Vec<BackupSecret> =
            document.secrets.into_iter().map(|e| BackupSecret { id: e.id, kind: e.kind, secret: e.secret }).collect();
        if let Some(pair) = secrets.windows(2).find(|w| w[0].id >= w[1].id) {
            return Err(malformed(format!(
                "its secrets are not in ascending order of their ids, or one is there twice (at '{}')",
                shown(&pair[1].id)
            )));
        }
        Ok(Self { vault, created_at, secrets })
    }
}

/// What a backup wrote. Counts only: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    /// The file written.
    pub file: PathBuf,
    /// The vault backed up.
    pub vault: Uuid,
    /// The backup's time.
    pub created_at: String,
    /// `passphrase` or `recipients`.
    pub encrypted_to: &'static str,
    /// Secrets written.
    pub secrets: usize,
    /// Secrets written, by keystore kind.
    pub kinds: BTreeMap<String, usize>,
}

/// What a restore did. Counts only: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    /// The backup read.
    pub file: PathBuf,
    /// This vault.
    pub vault: Uuid,
    /// The vault that wrote the backup.
    pub backup_vault: Uuid,
    /// When it was written.
    pub backup_created_at: String,
    /// Secrets in the backup.
    pub secrets: usize,
    /// Secrets restored (stored now).
    pub restored: usize,
    /// Secrets this vault held already, with the same bytes.
    pub already_present: usize,
    /// Secrets restored, by keystore kind.
    pub kinds: BTreeMap<String, usize>,
}

/// Refuses an existing path: a backup never replaces a file. ([`Vault::backup_secrets`] checks
/// too; the CLI calls this first, before asking for any passphrase.)
pub fn refuse_existing(out: &Path) -> Result<(), AppError> {
    if std::fs::symlink_metadata(out).is_ok() {
        return Err(AppError::Invalid(format!(
            "{} already exists; a backup never replaces a file: choose another name or move it away first",
            out.display()
        )));
    }
    Ok(())
}

/// The public half a secret of `kind` must match.
enum PublicHalf {
    /// An identity key: `keys.public_key`.
    IdentityKey,
    /// An nkey of this role: its public key is its id, which the NATS read models must know
    /// as a key of an owner of `owner_kind`.
    Nats(NKeyKind, &'static str),
    /// A CA's key: the public key in its certificate.
    Ca,
    /// A leaf certificate's key: the public key in it.
    Leaf,
}

impl PublicHalf {
    fn of(kind: &str) -> Option<Self> {
        Some(match kind {
            SEED_KIND => Self::IdentityKey,
            OPERATOR_SEED_KIND => Self::Nats(NKeyKind::Operator, "operator"),
            ACCOUNT_SEED_KIND => Self::Nats(NKeyKind::Account, "account"),
            USER_SEED_KIND => Self::Nats(NKeyKind::User, "user"),
            CA_SEED_KIND => Self::Ca,
            LEAF_SEED_KIND => Self::Leaf,
            _ => return None,
        })
    }
}

impl Vault {
    /// Writes every secret of the keystore but the device key to `out` (which must not exist),
    /// encrypted by `seal`; needs the vault passphrase to open them.
    pub fn backup_secrets(
        &self,
        vault_passphrase: &Passphrase,
        seal: &Seal,
        out: &Path,
    ) -> Result<BackupReport, AppError> {
        refuse_existing(out)?;
        let master = self.unlock(vault_passphrase)?;
        let mut rows = self.store.secret_rows()?;
        rows.retain(|(_, kind, _)| kind != DEVICE_SEED_KIND);
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        let mut secrets = Vec::with_capacity(rows.len());
        for (id, kind, sealed) in rows {
            let secret = keystore::open(&master, &id, &kind, &sealed)?;
            *kinds.entry(kind.clone()).or_default() += 1;
            secrets.push(BackupSecret { id, kind, secret });
        }
        let created_at = now();
        let backup = SecretsBackup { vault: self.identity().vault_id, created_at, secrets };
        let plain = backup.encode();
        let mut ciphertext = Vec::with_capacity(plain.len() + 1024);
        let mut writer = seal.encrypt(&mut ciphertext)?;
        writer.write_all(&plain).map_err(BundleError::Io)?;
        writer.finish().map_err(BundleError::Io)?;
        drop(plain);
        // The encryption took a while (a passphrase's scrypt): look again.
        refuse_existing(out)?;
        files::write_atomically(out, &ciphertext, files::SECRET_MODE)?;
        Ok(BackupReport {
            file: out.to_owned(),
            vault: backup.vault,
            created_at: created_at.to_string(),
            encrypted_to: if seal.is_passphrase() { "passphrase" } else { "recipients" },
            secrets: backup.secrets.len(),
            kinds,
        })
    }

    /// Restores the secrets of the backup `file`, opened with `unseal`, into this vault (see
    /// the module documentation); needs the vault passphrase to seal them. All or nothing.
    pub fn restore_secrets(
        &mut self,
        file: &Path,
        unseal: &Unseal,
        vault_passphrase: &Passphrase,
    ) -> Result<RestoreReport, AppError> {
        let cannot_read = |e: std::io::Error| AppError::Invalid(format!("cannot read {}: {e}", file.display()));
        let size = std::fs::metadata(file).map_err(cannot_read)?.len();
        if size > MAX_FILE_BYTES {
            return Err(AppError::Invalid(format!(
                "{} has {size} bytes, more than a secrets backup ever has ({MAX_FILE_BYTES}); nothing was restored",
                file.display()
            )));
        }
        let ciphertext = std::fs::read(file).map_err(cannot_read)?;
        let mut reader = unseal.decrypt(ciphertext.as_slice())?;
        // The plaintext is shorter than the ciphertext: this buffer never grows.
        let mut plain = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
        reader.read_to_end(&mut plain).map_err(crate::bundle::seal::payload_error)?;
        let backup = SecretsBackup::decode(&plain)?;
        drop(plain);

        for secret in &backup.secrets {
            self.check_public_half(secret)?;
        }
        let master = self.unlock(vault_passphrase)?;
        let mut new = Vec::new();
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        let mut already_present = 0;
        for secret in &backup.secrets {
            let present = self.store.secret(&secret.id)?;
            if let Some((kind, sealed)) = present {
                let same = kind == secret.kind
                    && keystore::open(&master, &secret.id, &kind, &sealed)?.expose_secret()
                        == secret.secret.expose_secret();
                if !same {
                    return Err(AppError::Invalid(format!(
                        "secret {} ({}) is already in this vault with other contents; a restore never replaces a \
                         secret; nothing was restored",
                        secret.id, secret.kind
                    )));
                }
                already_present += 1;
                continue;
            }
            let sealed = keystore::seal(&master, &secret.id, &secret.kind, &secret.secret, random()?);
            new.push((secret.id.clone(), secret.kind.clone(), sealed));
            *kinds.entry(secret.kind.clone()).or_default() += 1;
        }
        if !new.is_empty() {
            self.store.insert_secrets(&new, now())?;
        }
        Ok(RestoreReport {
            file: file.to_owned(),
            vault: self.identity().vault_id,
            backup_vault: backup.vault,
            backup_created_at: backup.created_at.to_string(),
            secrets: backup.secrets.len(),
            restored: new.len(),
            already_present,
            kinds,
        })
    }

    /// Checks a secret of a backup against the public half this vault records for its id.
    fn check_public_half(&self, secret: &BackupSecret) -> Result<(), AppError> {
        let (id, kind) = (secret.id.as_str(), secret.kind.as_str());
        if kind == DEVICE_SEED_KIND {
            return Err(AppError::Invalid(format!(
                "the backup holds a device key ({}); cim-keys never backs one up, so the file was not written by \
                 it; nothing was restored",
                shown(id)
            )));
        }
        let Some(half) = PublicHalf::of(kind) else {
            return Err(AppError::Invalid(format!(
                "secret {} has the kind '{}', which this cim-keys does not know; update cim-keys; nothing was restored",
                shown(id),
                excerpt(kind)
            )));
        };
        let seed: Zeroizing<[u8; SEED_LEN]> = Zeroizing::new(
            secret
                .secret
                .expose_secret()
                .try_into()
                .map_err(|_| malformed(format!("secret {} ({kind}) is not {SEED_LEN} bytes long", shown(id))))?,
        );
        let mismatch = |why: &str| {
            AppError::Invalid(format!(
                "secret {} ({kind}) matches no key of this vault: {why}. Restore a backup into the vault that wrote \
                 it, or into one that imported its export bundle; nothing was restored",
                shown(id)
            ))
        };
        match half {
            PublicHalf::IdentityKey => {
                let row = self.store.key(id)?.ok_or_else(|| mismatch("no identity key has this id"))?;
                let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
                let line = ssh::public_key_line(&public, "").map_err(|e| AppError::Invalid(e.to_string()))?;
                if line.trim() != row.public_key.trim() {
                    return Err(mismatch("it is not the seed of the identity key with this id"));
                }
            }
            PublicHalf::Nats(role, owner_kind) => {
                let pair = NatsKeyPair::from_raw_seed(role, &seed).map_err(|e| AppError::Invalid(e.to_string()))?;
                if pair.public_key() != id {
                    return Err(mismatch("it is not the seed of the nkey with this public key"));
                }
                match self.store.nats_key_owner_kind(id)? {
                    Some(owner) if owner == owner_kind => {}
                    Some(_) => return Err(mismatch("the vault knows this nkey in another role")),
                    None => return Err(mismatch("no NATS operator, account, user or signing key has this public key")),
                }
            }
            PublicHalf::Ca | PublicHalf::Leaf => {
                let row = self.store.pki_entry(id)?.ok_or_else(|| mismatch("no CA or certificate has this id"))?;
                let is_ca = matches!(row.kind.as_str(), "root" | "intermediate");
                if is_ca != matches!(half, PublicHalf::Ca) {
                    return Err(mismatch(if is_ca { "this id is a CA's" } else { "this id is a leaf certificate's" }));
                }
                let der = self.checked_artifact(&row.certificate, "certificate")?;
                // An Ed25519 SubjectPublicKeyInfo occurs once in a certificate: the subject's
                // (the issuer's key is only named, by its identifier).
                let spki = CertificateKey::from_seed(&seed).public_key().to_spki_der();
                if !der.windows(spki.len()).any(|w| w == spki.as_slice()) {
                    return Err(mismatch("it is not the key its certificate certifies"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Serialize;

    use super::*;

    fn secret(id: &str, kind: &str, byte: u8) -> BackupSecret {
        BackupSecret { id: id.into(), kind: kind.into(), secret: SecretBytes::new(vec![byte; 32]) }
    }

    fn sample() -> SecretsBackup {
        SecretsBackup {
            vault: Uuid::parse_str("0192f0c1-0000-7000-8000-000000000001").unwrap(),
            created_at: Timestamp::parse("2026-01-02T03:04:05.123456Z").unwrap(),
            secrets: vec![
                secret("0192f0c1-0000-7000-8000-00000000000a", SEED_KIND, 1),
                secret("UABC", USER_SEED_KIND, 2),
            ],
        }
    }

    /// The same document as serde and `serde_ipld_dagcbor` write it.
    #[derive(Serialize)]
    struct Reference<'a> {
        format: &'a str,
        v: u64,
        vault: String,
        created_at: String,
        secrets: Vec<ReferenceEntry<'a>>,
    }

    #[derive(Serialize)]
    struct ReferenceEntry<'a> {
        id: &'a str,
        kind: &'a str,
        #[serde(with = "serde_bytes")]
        secret: &'a [u8],
    }

    fn reference(backup: &SecretsBackup) -> Vec<u8> {
        serde_ipld_dagcbor::to_vec(&Reference {
            format: FORMAT,
            v: VERSION,
            vault: backup.vault.to_string(),
            created_at: backup.created_at.to_string(),
            secrets: backup
                .secrets
                .iter()
                .map(|s| ReferenceEntry { id: &s.id, kind: &s.kind, secret: s.secret.expose_secret() })
                .collect(),
        })
        .unwrap()
    }

    fn error_text(bytes: &[u8]) -> String {
        SecretsBackup::decode(bytes).unwrap_err().to_string()
    }

    #[test]
    fn the_encoding_is_canonical_dag_cbor_and_reads_back() {
        let backup = sample();
        let bytes = backup.encode();
        assert_eq!(*bytes, reference(&backup), "the hand-written encoder writes what serde_ipld_dagcbor writes");
        assert_eq!(bytes.capacity(), bytes.len(), "sized once");
        let back = SecretsBackup::decode(&bytes).unwrap();
        assert_eq!(*back.encode(), *bytes);
        assert_eq!((back.vault, back.created_at), (backup.vault, backup.created_at));
        assert_eq!(back.secrets[1].secret.expose_secret(), &[2; 32]);
    }

    /// The example of `docs/formats/secrets-backup.md` §6, byte for byte.
    #[test]
    fn the_worked_example_of_the_specification() {
        let backup = SecretsBackup {
            vault: Uuid::parse_str("0192f0c1-0000-7000-8000-000000000001").unwrap(),
            created_at: Timestamp::parse("2026-01-02T03:04:05.123456Z").unwrap(),
            secrets: vec![secret("0192f0c1-0000-7000-8000-00000000000a", SEED_KIND, 1)],
        };
        let expected = concat!(
            "a5617601657661756c74782430313932663063312d303030302d373030302d38",
            "3030302d30303030303030303030303166666f726d61747063696d2d6b657973",
            "2d73656372657473677365637265747381a3626964782430313932663063312d",
            "303030302d373030302d383030302d303030303030303030303061646b696e64",
            "6c656432353531392d7365656466736563726574582001010101010101010101",
            "010101010101010101010101010101010101010101016a637265617465645f61",
            "74781b323032362d30312d30325430333a30343a30352e3132333435365a",
        );
        assert_eq!(data_encoding::HEXLOWER.encode(&backup.encode()), expected);
    }

    #[test]
    fn another_format_or_version_is_named() {
        let other = serde_ipld_dagcbor::to_vec(&serde_json::json!({ "format": "something-else", "v": 1 })).unwrap();
        assert!(error_text(&other).contains("not a cim-keys secrets backup"), "{}", error_text(&other));
        assert!(error_text(b"not cbor at all").contains("not a cim-keys secrets backup"));
        let v2 = serde_ipld_dagcbor::to_vec(&serde_json::json!({ "format": FORMAT, "v": 2, "new": true })).unwrap();
        let text = error_text(&v2);
        assert!(text.contains("format version 2") && text.contains("reads version 1"), "{text}");
        assert!(matches!(
            SecretsBackup::decode(&v2).unwrap_err(),
            AppError::Bundle(BundleError::UnsupportedVersion { found: 2, .. })
        ));
    }

    #[test]
    fn malformed_documents_are_refused_with_a_reason() {
        let mut value: serde_json::Value = serde_json::json!({
            "format": FORMAT, "v": 1, "vault": "0192f0c1-0000-7000-8000-000000000001",
            "created_at": "2026-01-02T03:04:05.123456Z", "secrets": [],
        });
        let encode = |v: &serde_json::Value| serde_ipld_dagcbor::to_vec(v).unwrap();
        assert!(SecretsBackup::decode(&encode(&value)).unwrap().secrets.is_empty());
        value["extra"] = true.into();
        assert!(error_text(&encode(&value)).contains("malformed"));
        value.as_object_mut().unwrap().remove("extra");
        value["vault"] = "0192F0C1-0000-7000-8000-000000000001".into();
        assert!(error_text(&encode(&value)).contains("vault id"));
        value["vault"] = "0192f0c1-0000-7000-8000-000000000001".into();
        value["created_at"] = "2026-01-02T03:04:05Z".into();
        assert!(error_text(&encode(&value)).contains("RFC 3339"));
        // Two secrets with one id; then out of order.
        let mut backup = sample();
        let first = backup.secrets[0].id.clone();
        backup.secrets[1].id = first;
        assert!(error_text(&backup.encode()).contains("twice"));
        backup.secrets[1].id = "0".into();
        assert!(error_text(&backup.encode()).contains("ascending order"));
    }

    #[test]
    fn a_backup_secret_prints_without_its_bytes() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("[1, 1") && !text.contains("0101"), "{text}");
        assert!(text.contains("UABC"));
    }

    proptest! {
        /// Any backup reads back to itself, and writing what was read gives the same bytes.
        #[test]
        fn any_backup_round_trips(
            vault in any::<u128>(),
            micros in 0i64..4_102_444_800_000_000,
            entries in proptest::collection::btree_map("[ -~]{1,60}", ("[a-z0-9-]{1,24}", proptest::collection::vec(any::<u8>(), 0..80)), 0..12),
        ) {
            let backup = SecretsBackup {
                vault: Uuid::from_u128(vault),
                created_at: Timestamp::from_micros(micros).unwrap(),
                secrets: entries
                    .into_iter()
                    .map(|(id, (kind, bytes))| BackupSecret { id, kind, secret: SecretBytes::new(bytes) })
                    .collect(),
            };
            let bytes = backup.encode();
            prop_assert_eq!(&*bytes, &reference(&backup));
            let back = SecretsBackup::decode(&bytes).unwrap();
            prop_assert_eq!(&*back.encode(), &*bytes);
        }
    }
}
