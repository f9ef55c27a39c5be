//! What export and import need from the database: the device key, a consistent snapshot of a
//! range of the history with the artifacts it refers to, and the records of past exports and
//! imports.

use cid::Cid;
use rusqlite::OptionalExtension;

use super::tx::cid_from_blob as cid;
use super::{Store, StoreError};
use crate::crypto::keystore::Sealed;
use crate::domain::Timestamp;

/// The graph and domain events of a range of the history, with its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRange {
    /// Graph event sequence numbers, both included.
    pub graph: (u64, u64),
    /// Domain event sequence numbers, both included.
    pub domain: (u64, u64),
    /// The last graph event's CID.
    pub head: Cid,
    /// The CID of the graph event before the first; none if the range starts the history.
    pub base: Option<Cid>,
}

/// One domain event of a range with its graph event blocks, as stored.
#[derive(Debug)]
pub struct StoredEvent {
    /// Its sequence number.
    pub seq: u64,
    /// Its type.
    pub event_type: String,
    /// Its block.
    pub cid: Cid,
    /// Its block's bytes.
    pub bytes: Vec<u8>,
    /// Its graph event blocks, in order.
    pub graph: Vec<(Cid, Vec<u8>)>,
}

/// A past export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRecord {
    /// When.
    pub created_at: Timestamp,
    /// The bundle file written.
    pub file: String,
    /// The manifest block's CID.
    pub manifest: Cid,
    /// The head it ended at.
    pub head: Cid,
    /// Graph events held, both included.
    pub graph: (u64, u64),
    /// Domain events held, both included.
    pub domain: (u64, u64),
    /// Artifact blocks held.
    pub artifacts: u64,
    /// `passphrase` or the recipients, comma-separated.
    pub encrypted_to: String,
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: String,
}

/// A past import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// When.
    pub imported_at: Timestamp,
    /// The manifest block's CID.
    pub manifest: Cid,
    /// The exporting vault.
    pub vault_id: String,
    /// The exporting device.
    pub device_id: String,
    /// The signer's fingerprint.
    pub signer: String,
    /// The bundle's head.
    pub head: Cid,
    /// The bundle's graph events, both included.
    pub graph: (u64, u64),
    /// What this import added.
    pub domain_added: u64,
    /// What this import added.
    pub graph_added: u64,
    /// Artifact blocks stored.
    pub artifacts: u64,
}

/// The event types that refer to artifact blocks (see `DomainEvent::artifacts`).
const WITH_ARTIFACTS: &str = "'CaCreated', 'CertificateIssued', 'NatsOperatorCreated', 'NatsAccountCreated', \
     'NatsUserCreated', 'NatsUserRevoked', 'NatsSigningKeyRotated'";

/// A read transaction: everything read through it is one consistent state of the vault, even
/// if another process commits meanwhile.
#[derive(Debug)]
pub struct Snapshot<'c> {
    tx: rusqlite::Transaction<'c>,
}

impl Snapshot<'_> {
    /// The range of graph events after `after` up to the head, widened to whole domain events
    /// (a transaction's events are exported together); `None` if there is none.
    pub fn range_after(&self, after: u64) -> Result<Option<HistoryRange>, StoreError> {
        let last: i64 = self.tx.query_row("SELECT graph_events FROM vault WHERE singleton = 1", [], |r| r.get(0))?;
        let last = last as u64;
        if after >= last {
            return Ok(None);
        }
        let first = after + 1;
        let domain_of = |seq: u64| -> Result<(i64, Vec<u8>), StoreError> {
            Ok(self.tx.query_row("SELECT domain_seq, cid FROM graph_events WHERE seq = ?1", [seq as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?)
        };
        let (domain_first, _) = domain_of(first)?;
        let (domain_last, head) = domain_of(last)?;
        let starts: i64 =
            self.tx
                .query_row("SELECT min(seq) FROM graph_events WHERE domain_seq = ?1", [domain_first], |r| r.get(0))?;
        if starts as u64 != first {
            return Err(StoreError::Corrupt(format!(
                "graph event #{first} is not the first of its domain event; a bundle starts at a whole event"
            )));
        }
        let base = if first > 1 {
            let bytes: Vec<u8> =
                self.tx.query_row("SELECT cid FROM graph_events WHERE seq = ?1", [(first - 1) as i64], |r| r.get(0))?;
            Some(cid(bytes)?)
        } else {
            None
        };
        Ok(Some(HistoryRange {
            graph: (first, last),
            domain: (domain_first as u64, domain_last as u64),
            head: cid(head)?,
            base,
        }))
    }

    /// The domain events of `range` that may refer to artifacts: sequence number and block.
    pub fn events_with_artifacts(&self, range: &HistoryRange) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut stmt = self.tx.prepare(&format!(
            "SELECT seq, bytes FROM domain_events WHERE seq BETWEEN ?1 AND ?2 AND event_type IN ({WITH_ARTIFACTS}) \
             ORDER BY seq"
        ))?;
        let rows = stmt.query_map([range.domain.0 as i64, range.domain.1 as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An artifact block's bytes.
    pub fn artifact(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT bytes FROM artifacts WHERE cid = ?1")?
            .query_row([cid.to_bytes()], |r| r.get(0))
            .optional()?)
    }

    /// Calls `each` with every domain event of `range` and its graph events, in order; stops
    /// at the first error `each` returns.
    pub fn each_event<E: From<StoreError>>(
        &self,
        range: &HistoryRange,
        mut each: impl FnMut(StoredEvent) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut domain = self
            .tx
            .prepare("SELECT seq, event_type, cid, bytes FROM domain_events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")
            .map_err(StoreError::from)?;
        let mut graph = self
            .tx
            .prepare("SELECT seq, domain_seq, cid, bytes FROM graph_events WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")
            .map_err(StoreError::from)?;
        let mut domain_rows = domain.query([range.domain.0 as i64, range.domain.1 as i64]).map_err(StoreError::from)?;
        let mut graph_rows = graph.query([range.graph.0 as i64, range.graph.1 as i64]).map_err(StoreError::from)?;
        // A graph row read ahead: the first of the next domain event.
        let mut pending: Option<(u64, Cid, Vec<u8>)> = None;
        let mut next_graph =
            |pending: &mut Option<(u64, Cid, Vec<u8>)>| -> Result<Option<(u64, Cid, Vec<u8>)>, StoreError> {
                if let Some(row) = pending.take() {
                    return Ok(Some(row));
                }
                match graph_rows.next()? {
                    Some(row) => Ok(Some((row.get::<_, i64>(1)? as u64, cid(row.get(2)?)?, row.get(3)?))),
                    None => Ok(None),
                }
            };
        while let Some(row) = domain_rows.next().map_err(StoreError::from)? {
            let seq = row.get::<_, i64>(0).map_err(StoreError::from)? as u64;
            let event_type: String = row.get(1).map_err(StoreError::from)?;
            let event_cid = cid(row.get(2).map_err(StoreError::from)?)?;
            let bytes: Vec<u8> = row.get(3).map_err(StoreError::from)?;
            let mut blocks = Vec::new();
            while let Some((domain_seq, cid, bytes)) = next_graph(&mut pending)? {
                if domain_seq != seq {
                    pending = Some((domain_seq, cid, bytes));
                    break;
                }
                blocks.push((cid, bytes));
            }
            each(StoredEvent { seq, event_type, cid: event_cid, bytes, graph: blocks })?;
        }
        Ok(())
    }
}

impl Store {
    /// A consistent read of the vault (see [`Snapshot`]).
    pub fn snapshot(&self) -> Result<Snapshot<'_>, StoreError> {
        Ok(Snapshot { tx: self.conn().unchecked_transaction()? })
    }

    /// The device key's public half; `None` for a vault created before device keys existed
    /// (export creates it then).
    pub fn device_key(&self) -> Result<Option<[u8; 32]>, StoreError> {
        let key: Option<Vec<u8>> =
            self.conn().query_row("SELECT device_key FROM vault WHERE singleton = 1", [], |r| r.get(0))?;
        key.map(|k| k.try_into().map_err(|_| StoreError::Corrupt("the device key is not 32 bytes".into()))).transpose()
    }

    /// Records the device key: its public half in the vault row, its seed sealed in the
    /// keystore under the device id, in one transaction. Refused if the vault has one.
    pub fn set_device_key(
        &mut self,
        public: &[u8; 32],
        kind: &str,
        sealed: &Sealed,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let device = self.identity.device_id.to_string();
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE vault SET device_key = ?1 WHERE singleton = 1 AND device_key IS NULL",
            [public.as_slice()],
        )?;
        if changed != 1 {
            return Err(StoreError::Corrupt("the vault already has a device key".into()));
        }
        tx.execute(
            // Replacing: a seed left under the device id without its public half (a file rolled
            // back to an older schema) is an orphan.
            "INSERT OR REPLACE INTO secrets (id, kind, nonce, ciphertext, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            (&device, kind, sealed.nonce.as_slice(), &sealed.ciphertext, at.to_string()),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The most recent export.
    pub fn last_export(&self) -> Result<Option<ExportRecord>, StoreError> {
        let row = self
            .conn()
            .query_row(
                "SELECT created_at, file, manifest_cid, head_cid, graph_first, graph_last, domain_first, domain_last, \
                 artifacts, encrypted_to, sha256 FROM exports ORDER BY seq DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        [r.get::<_, i64>(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
                        r.get::<_, String>(9)?,
                        r.get::<_, String>(10)?,
                    ))
                },
            )
            .optional()?;
        let Some((at, file, manifest, head, n, encrypted_to, sha256)) = row else { return Ok(None) };
        Ok(Some(ExportRecord {
            created_at: Timestamp::parse(&at)
                .ok_or_else(|| StoreError::Corrupt("an export's time is malformed".into()))?,
            file,
            manifest: cid(manifest)?,
            head: cid(head)?,
            graph: (n[0] as u64, n[1] as u64),
            domain: (n[2] as u64, n[3] as u64),
            artifacts: n[4] as u64,
            encrypted_to,
            sha256,
        }))
    }

    /// Remembers an export (after it was written and read back).
    pub fn record_export(&mut self, record: &ExportRecord) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO exports (created_at, file, manifest_cid, head_cid, graph_first, graph_last, domain_first, \
             domain_last, artifacts, encrypted_to, sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            rusqlite::params![
                record.created_at.to_string(),
                record.file,
                record.manifest.to_bytes(),
                record.head.to_bytes(),
                record.graph.0 as i64,
                record.graph.1 as i64,
                record.domain.0 as i64,
                record.domain.1 as i64,
                record.artifacts as i64,
                record.encrypted_to,
                record.sha256,
            ],
        )?;
        Ok(())
    }

    /// How many imports added something.
    pub fn imports(&self) -> Result<u64, StoreError> {
        let n: i64 = self.conn().query_row("SELECT count(*) FROM imports", [], |r| r.get(0))?;
        Ok(n as u64)
    }
}
