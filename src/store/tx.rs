//! The transaction of one command.

use std::cell::RefCell;
use std::collections::HashMap;

use cid::Cid;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::StoreError;
use super::read_model;
use crate::crypto::keystore::Sealed;
use crate::domain::{
    AccountId, CaId, DomainEvent, DomainView, EventEnvelope, Existing, ExistingCa, ExistingKey, ExistingNatsAccount,
    ExistingNatsOperator, ExistingNatsUser, ExistingUnit, KeyId, NatsSigningKey, NatsUserId, OrgId, PersonId, RoleId,
    Timestamp, UnitId,
};
use crate::projection::{Block, Chain, Lifted};

/// An open write transaction: answers `decide`'s questions and records what it decided.
/// Dropping it without [`Tx::commit`] rolls everything back.
#[derive(Debug)]
pub struct Tx<'c> {
    tx: Transaction<'c>,
    chain: Chain,
    /// Domain events applied to the read models, and appended; equal at commit.
    domain_applied: i64,
    domain_added: i64,
    graph_added: i64,
    /// The sequence number of the first graph event recorded in this transaction: its outbox
    /// rows, one per graph event from there on, are inserted together at [`Tx::commit`].
    first_graph_seq: Option<i64>,
    /// Set by [`Tx::record_as_uploaded`]: the graph events recorded came from the server, and
    /// their outbox rows are inserted uploaded at this time instead of pending.
    uploaded_at: Option<String>,
    /// The NATS accounts `decide` asked about in this transaction, as the read models gave them.
    /// A bootstrap asks about the same dozen accounts ten thousand times (once per user), so
    /// they are read once. Only accounts that exist are kept; [`Tx::apply`] drops them all
    /// whenever it applies an event that could change them (see [`keeps_nats_accounts`]).
    nats_accounts: RefCell<HashMap<AccountId, ExistingNatsAccount>>,
}

/// One domain event and its graph events as the rows [`Tx::append`] writes: every column
/// formatted, the graph event blocks linked. Built by [`EventRows::new`] on any thread, so that
/// the thread holding the transaction has nothing left to do but insert them.
#[derive(Debug)]
pub struct EventRows {
    event_id: String,
    cid: Vec<u8>,
    domain_cid: Cid,
    event_type: &'static str,
    aggregate_type: &'static str,
    aggregate_id: String,
    version: i64,
    correlation: String,
    causation: String,
    occurred_at: String,
    bytes: Vec<u8>,
    /// The head the first graph event links.
    prev: Option<Cid>,
    graph: Vec<GraphRow>,
}

/// A graph event's row (its `prev_cid` is the block before it).
#[derive(Debug)]
struct GraphRow {
    event_id: String,
    event_type: &'static str,
    context_id: String,
    block: Block,
}

impl EventRows {
    /// The rows of `envelope`, lifted as `lifted`, whose graph events `blocks` are, linked one
    /// after the other by [`Chain::link`] starting from the head `prev`.
    pub fn new(envelope: &EventEnvelope, lifted: Lifted, prev: Option<Cid>, blocks: Vec<Block>) -> Self {
        debug_assert_eq!(blocks.len(), lifted.graph.len(), "one block per graph event");
        let (aggregate_type, aggregate_id) = envelope.aggregate();
        let graph = lifted
            .graph
            .iter()
            .zip(blocks)
            .map(|(event, block)| GraphRow {
                event_id: event.id.to_string(),
                event_type: event.payload.name(),
                context_id: event.context.to_string(),
                block,
            })
            .collect();
        Self {
            event_id: envelope.id.to_string(),
            cid: lifted.domain.cid.to_bytes(),
            domain_cid: lifted.domain.cid,
            event_type: envelope.event.name(),
            aggregate_type: aggregate_type.name(),
            aggregate_id: aggregate_id.to_string(),
            version: envelope.version as i64,
            correlation: envelope.correlation.to_string(),
            causation: envelope.causation.to_string(),
            occurred_at: envelope.occurred_at.to_string(),
            bytes: lifted.domain.bytes,
            prev,
            graph,
        }
    }

    /// The domain event block's CID.
    pub fn cid(&self) -> Cid {
        self.domain_cid
    }

    /// The graph event blocks' CIDs, in order.
    pub fn graph_cids(&self) -> Vec<Cid> {
        self.graph.iter().map(|g| g.block.cid).collect()
    }
}

/// Whether recording `event` leaves every NATS account's `decide` facts (organization, system
/// flag, current signing keys, version) as they were. Only a new user is known to: it changes
/// no account row, no signing key and no account's version. Anything else (a new or rotated
/// account, a revocation, an operator rotation that re-issues accounts — and any event added
/// later) conservatively empties the cache.
fn keeps_nats_accounts(event: &DomainEvent) -> bool {
    matches!(event, DomainEvent::NatsUserCreated(_))
}

/// The current signing keys of an owner with their positions, in no particular order.
pub(super) const CURRENT_SIGNING_KEYS: &str =
    "SELECT position, public_key, role FROM nats_signing_keys WHERE owner_id = ?1 AND retired = 0";

/// A CID stored as its bytes, or `None` for NULL.
pub(super) fn cid_from_sql(bytes: Option<Vec<u8>>) -> Result<Option<Cid>, StoreError> {
    bytes.map(cid_from_blob).transpose()
}

/// A CID stored as its bytes.
pub(super) fn cid_from_blob(bytes: Vec<u8>) -> Result<Cid, StoreError> {
    Cid::try_from(bytes.as_slice()).map_err(|e| StoreError::Corrupt(format!("a stored CID is malformed: {e}")))
}

impl<'c> Tx<'c> {
    pub(super) fn begin(conn: &'c mut Connection) -> Result<Self, StoreError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let head: Option<Vec<u8>> = tx.query_row("SELECT head_cid FROM vault WHERE singleton = 1", [], |r| r.get(0))?;
        let chain = Chain::new(cid_from_sql(head)?);
        Ok(Self {
            tx,
            chain,
            domain_applied: 0,
            domain_added: 0,
            graph_added: 0,
            first_graph_seq: None,
            uploaded_at: None,
            nats_accounts: RefCell::default(),
        })
    }

    /// The graph events this transaction records came from the NATS server (`replay`): their
    /// outbox rows are recorded uploaded at `at`, and the vault's `uploaded` count grows
    /// instead of `pending`, at [`Tx::commit`].
    pub fn record_as_uploaded(&mut self, at: Timestamp) {
        self.uploaded_at = Some(at.to_string());
    }

    /// The head CID, including what this transaction recorded so far.
    pub fn head(&self) -> Option<Cid> {
        self.chain.head()
    }

    /// Records one domain event with its graph events: [`Tx::apply`], then [`Tx::append`] of
    /// the graph events linked here, from this transaction's head. Returns the rows appended.
    pub fn record(&mut self, envelope: &EventEnvelope, lifted: Lifted) -> Result<EventRows, StoreError> {
        self.apply(envelope)?;
        let prev = self.chain.head();
        let mut chain = self.chain.clone();
        let blocks = lifted.graph.iter().map(|event| chain.link(event)).collect::<Result<Vec<_>, _>>()?;
        let rows = EventRows::new(envelope, lifted, prev, blocks);
        self.append(&rows)?;
        Ok(rows)
    }

    /// Applies one domain event to the read models: what `decide` reads when it judges the
    /// next command. The event's blocks must follow with [`Tx::append`] before [`Tx::commit`],
    /// possibly after later events have been applied (nothing `decide` reads comes from them).
    pub fn apply(&mut self, envelope: &EventEnvelope) -> Result<(), StoreError> {
        read_model::apply(&self.tx, envelope)?;
        self.domain_applied += 1;
        if !keeps_nats_accounts(&envelope.event) {
            self.nats_accounts.get_mut().clear();
        }
        Ok(())
    }

    /// Appends one domain event's rows: its block and its graph event blocks (their outbox rows
    /// follow at [`Tx::commit`]); the last block becomes the chain's head. The rows' first graph event must
    /// link this transaction's head: events are appended in the order they were applied,
    /// whichever thread built their rows.
    pub fn append(&mut self, rows: &EventRows) -> Result<(), StoreError> {
        if rows.prev != self.chain.head() {
            return Err(StoreError::Corrupt(format!(
                "the graph events of event {} were not linked to the head of the chain",
                rows.event_id
            )));
        }
        let mut insert_domain = self.tx.prepare_cached(
            "INSERT INTO domain_events (event_id, cid, event_type, aggregate_type, aggregate_id, version, \
             correlation_id, causation_id, occurred_at, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        insert_domain
            .execute((
                &rows.event_id,
                &rows.cid,
                rows.event_type,
                rows.aggregate_type,
                &rows.aggregate_id,
                rows.version,
                &rows.correlation,
                &rows.causation,
                &rows.occurred_at,
                &rows.bytes,
            ))
            .map_err(|e| conflict_or(e, rows))?;
        let domain_seq = self.tx.last_insert_rowid();
        drop(insert_domain);
        let mut insert_graph = self.tx.prepare_cached(
            "INSERT INTO graph_events (event_id, cid, prev_cid, domain_seq, event_type, context_id, bytes) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut prev = rows.prev.map(|c| c.to_bytes());
        for event in &rows.graph {
            let cid = event.block.cid.to_bytes();
            insert_graph.execute((
                &event.event_id,
                &cid,
                &prev,
                domain_seq,
                event.event_type,
                &event.context_id,
                &event.block.bytes,
            ))?;
            self.first_graph_seq.get_or_insert(self.tx.last_insert_rowid());
            prev = Some(cid);
        }
        drop(insert_graph);
        if let Some(last) = rows.graph.last() {
            self.chain = Chain::new(Some(last.block.cid));
        }
        self.domain_added += 1;
        self.graph_added += rows.graph.len() as i64;
        Ok(())
    }

    /// Graph events in the vault, including those recorded in this transaction.
    pub fn graph_count(&self) -> Result<u64, StoreError> {
        let stored: i64 = self.tx.query_row("SELECT graph_events FROM vault WHERE singleton = 1", [], |r| r.get(0))?;
        Ok(stored as u64 + self.graph_added as u64)
    }

    /// The CID of the graph event with sequence number `seq`, if there is one.
    pub fn graph_cid(&self, seq: u64) -> Result<Option<Cid>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .tx
            .prepare_cached("SELECT cid FROM graph_events WHERE seq = ?1")?
            .query_row([seq as i64], |r| r.get(0))
            .optional()?;
        cid_from_sql(bytes)
    }

    /// Remembers an import, in the transaction that applies it.
    pub fn record_import(&mut self, record: &super::ImportRecord) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO imports (imported_at, manifest_cid, vault_id, device_id, signer, head_cid, graph_first, \
             graph_last, domain_added, graph_added, artifacts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            rusqlite::params![
                record.imported_at.to_string(),
                record.manifest.to_bytes(),
                record.vault_id,
                record.device_id,
                record.signer,
                record.head.to_bytes(),
                record.graph.0 as i64,
                record.graph.1 as i64,
                record.domain_added as i64,
                record.graph_added as i64,
                record.artifacts as i64,
            ],
        )?;
        Ok(())
    }

    /// Stores a sealed secret in this transaction, so it commits with the events that
    /// announce its public half, or not at all.
    pub fn put_secret(&mut self, id: &str, kind: &str, sealed: &Sealed, at: Timestamp) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO secrets (id, kind, nonce, ciphertext, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute((id, kind, sealed.nonce.as_slice(), &sealed.ciphertext, at.to_string()))?;
        Ok(())
    }

    /// Stores a public artifact block (a certificate's DER, later a JWT) under its CID. Storing
    /// the same block twice is a no-op: it is addressed by its content.
    pub fn put_artifact(&mut self, cid: &Cid, media_type: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO artifacts (cid, media_type, bytes) VALUES (?1, ?2, ?3)")?
            .execute((cid.to_bytes(), media_type, bytes))?;
        Ok(())
    }

    /// Makes everything recorded durable, atomically: first the outbox rows of the graph events
    /// recorded (one per graph event, all pending), in one statement, and the `vault` row.
    pub fn commit(self) -> Result<(), StoreError> {
        if self.domain_applied != self.domain_added {
            return Err(StoreError::Corrupt(format!(
                "{} events were applied to the read models but {} appended to the log",
                self.domain_applied, self.domain_added
            )));
        }
        if let Some(first) = self.first_graph_seq {
            // Every graph event from the first recorded here on is this transaction's: it holds
            // the write lock, and sequence numbers only grow.
            let added = match &self.uploaded_at {
                None => self
                    .tx
                    .execute("INSERT INTO outbox (graph_seq) SELECT seq FROM graph_events WHERE seq >= ?1", [first])?,
                Some(at) => self.tx.execute(
                    "INSERT INTO outbox (graph_seq, state, uploaded_at) \
                     SELECT seq, 'uploaded', ?2 FROM graph_events WHERE seq >= ?1",
                    (first, at),
                )?,
            };
            if added as i64 != self.graph_added {
                return Err(StoreError::Corrupt(format!(
                    "{} graph events were recorded but {added} follow the first of them",
                    self.graph_added
                )));
            }
        }
        if self.domain_added > 0 {
            let counted =
                if self.uploaded_at.is_some() { "uploaded = uploaded + ?3" } else { "pending = pending + ?3" };
            self.tx.execute(
                &format!(
                    "UPDATE vault SET head_cid = ?1, domain_events = domain_events + ?2, graph_events = graph_events \
                     + ?3, {counted} WHERE singleton = 1"
                ),
                (self.chain.head().map(|c| c.to_bytes()), self.domain_added, self.graph_added),
            )?;
        }
        self.tx.commit()?;
        Ok(())
    }

    fn exists(&self, sql: &str, params: impl rusqlite::Params) -> Result<bool, StoreError> {
        Ok(self.tx.prepare_cached(sql)?.query_row(params, |_| Ok(())).optional()?.is_some())
    }

    /// The current signing keys of a NATS operator or account, in position order.
    fn current_signing_keys(&self, owner: &str) -> Result<Vec<NatsSigningKey>, StoreError> {
        // Sorted here, not by `ORDER BY position`: with that clause SQLite's planner weighs the
        // partial index `nats_signing_keys_current` against the bound owner, which makes every
        // reuse of the cached statement re-prepare it (see `CURRENT_SIGNING_KEYS`).
        let mut stmt = self.tx.prepare_cached(CURRENT_SIGNING_KEYS)?;
        let rows = stmt.query_map([owner], |r| {
            Ok((r.get::<_, i64>(0)?, NatsSigningKey { public_key: r.get(1)?, role: r.get(2)? }))
        })?;
        let mut keys = rows.collect::<Result<Vec<_>, _>>()?;
        keys.sort_unstable_by_key(|(position, _)| *position);
        Ok(keys.into_iter().map(|(_, key)| key).collect())
    }

    fn aggregate(&self, id: uuid::Uuid, kind: &str) -> Result<Option<Existing>, StoreError> {
        let row: Option<(String, i64)> = self
            .tx
            .prepare_cached("SELECT org_id, version FROM aggregates WHERE id = ?1 AND kind = ?2")?
            .query_row((id.to_string(), kind), |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(org, version)| {
            Ok(Existing {
                org: org
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("aggregate {id} has a malformed organization id")))?,
                version: version as u64,
            })
        })
        .transpose()
    }
}

fn conflict_or(err: rusqlite::Error, rows: &EventRows) -> StoreError {
    match &err {
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Corrupt(format!(
                "{} {} already has an event at version {} or event {} exists",
                rows.aggregate_type, rows.aggregate_id, rows.version, rows.event_id
            ))
        }
        _ => StoreError::Sqlite(err),
    }
}

impl DomainView for Tx<'_> {
    type Error = StoreError;

    fn organization(&self, id: OrgId) -> Result<Option<Existing>, StoreError> {
        self.aggregate(id.uuid(), "organization")
    }

    fn organization_name_taken(&self, name_key: &str) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM organizations WHERE name_key = ?1", [name_key])
    }

    fn unit(&self, id: UnitId) -> Result<Option<ExistingUnit>, StoreError> {
        let Some(existing) = self.aggregate(id.uuid(), "unit")? else { return Ok(None) };
        let parent: Option<String> = self
            .tx
            .prepare_cached("SELECT parent_id FROM units WHERE id = ?1")?
            .query_row([id.to_string()], |r| r.get(0))?;
        let parent = parent
            .map(|p| p.parse().map_err(|_| StoreError::Corrupt(format!("unit {id} has a malformed parent id"))))
            .transpose()?;
        Ok(Some(ExistingUnit { org: existing.org, parent, version: existing.version }))
    }

    fn unit_name_taken(&self, org: OrgId, parent: Option<UnitId>, name_key: &str) -> Result<bool, StoreError> {
        self.exists(
            "SELECT 1 FROM units WHERE org_id = ?1 AND ifnull(parent_id, '') = ?2 AND name_key = ?3",
            (org.to_string(), parent.map(|p| p.to_string()).unwrap_or_default(), name_key),
        )
    }

    fn person(&self, id: PersonId) -> Result<Option<Existing>, StoreError> {
        self.aggregate(id.uuid(), "person")
    }

    fn email_taken(&self, org: OrgId, email_key: &str) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM people WHERE org_id = ?1 AND email_key = ?2", (org.to_string(), email_key))
    }

    fn role(&self, id: RoleId) -> Result<Option<Existing>, StoreError> {
        self.aggregate(id.uuid(), "role")
    }

    fn role_name_taken(&self, org: OrgId, name_key: &str) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM roles WHERE org_id = ?1 AND name_key = ?2", (org.to_string(), name_key))
    }

    fn has_role(&self, person: PersonId, role: RoleId) -> Result<bool, StoreError> {
        self.exists(
            "SELECT 1 FROM role_assignments WHERE person_id = ?1 AND role_id = ?2",
            (person.to_string(), role.to_string()),
        )
    }

    fn key(&self, id: KeyId) -> Result<Option<ExistingKey>, StoreError> {
        let Some(existing) = self.aggregate(id.uuid(), "key")? else { return Ok(None) };
        let (owner, revoked): (String, Option<String>) = self
            .tx
            .prepare_cached("SELECT owner_id, revoked FROM keys WHERE id = ?1")?
            .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(Some(ExistingKey {
            org: existing.org,
            owner: owner.parse().map_err(|_| StoreError::Corrupt(format!("key {id} has a malformed owner id")))?,
            revoked: revoked.is_some(),
            version: existing.version,
        }))
    }

    fn fingerprint_taken(&self, fingerprint: &str) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM keys WHERE fingerprint = ?1", [fingerprint])
    }

    fn ca(&self, id: CaId) -> Result<Option<ExistingCa>, StoreError> {
        let row: Option<(String, String, String, String)> = self
            .tx
            .prepare_cached("SELECT org_id, level, not_before, not_after FROM cas WHERE id = ?1")?
            .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        let bad = || StoreError::Corrupt(format!("CA {id} has a malformed row"));
        row.map(|(org, level, not_before, not_after)| {
            Ok(ExistingCa {
                org: org.parse().map_err(|_| bad())?,
                intermediate: level == "intermediate",
                not_before: Timestamp::parse(&not_before).ok_or_else(bad)?,
                not_after: Timestamp::parse(&not_after).ok_or_else(bad)?,
            })
        })
        .transpose()
    }

    fn org_has_root(&self, org: OrgId) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM cas WHERE org_id = ?1 AND level = 'root'", [org.to_string()])
    }

    fn serial_taken(&self, ca: CaId, serial: &str) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM certificates WHERE ca_id = ?1 AND serial = ?2", (ca.to_string(), serial))
    }

    fn id_in_use(&self, id: uuid::Uuid) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM aggregates WHERE id = ?1", [id.to_string()])
    }

    fn nats_operator(&self, org: OrgId) -> Result<Option<ExistingNatsOperator>, StoreError> {
        let row: Option<(String, String, i64)> = self
            .tx
            .prepare_cached(
                "SELECT o.id, o.system_account, a.version FROM nats_operators o JOIN aggregates a ON a.id = o.id \
                 WHERE o.org_id = ?1",
            )?
            .query_row([org.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((id, system_account, version)) = row else { return Ok(None) };
        let signing_keys = self.current_signing_keys(&id)?.into_iter().map(|k| k.public_key).collect();
        let has_system_account =
            self.exists("SELECT 1 FROM nats_accounts WHERE org_id = ?1 AND system = 1", [org.to_string()])?;
        Ok(Some(ExistingNatsOperator {
            id: id
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("the NATS operator of {org} has a malformed id")))?,
            signing_keys,
            system_account,
            has_system_account,
            version: version as u64,
        }))
    }

    fn nats_account(&self, id: AccountId) -> Result<Option<ExistingNatsAccount>, StoreError> {
        if let Some(account) = self.nats_accounts.borrow().get(&id) {
            return Ok(Some(account.clone()));
        }
        // The version through a scalar subquery, not a join: joined, SQLite's planner weighs
        // the partial indexes of `nats_accounts` against the bound id, and every reuse of the
        // cached statement re-prepares it.
        let row: Option<(String, i64, Option<i64>)> = self
            .tx
            .prepare_cached(
                "SELECT n.org_id, n.system, (SELECT a.version FROM aggregates a WHERE a.id = n.id) \
                 FROM nats_accounts n WHERE n.id = ?1",
            )?
            .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        // An account row without its aggregate row is no account (as the join read it).
        let Some((org, system, Some(version))) = row else { return Ok(None) };
        let bad = |what: &str| StoreError::Corrupt(format!("NATS account {id} has a malformed {what}"));
        let account = ExistingNatsAccount {
            org: org.parse().map_err(|_| bad("organization id"))?,
            system: flag(system).ok_or_else(|| bad("system flag"))?,
            signing_keys: self.current_signing_keys(&id.to_string())?,
            version: version as u64,
        };
        self.nats_accounts.borrow_mut().insert(id, account.clone());
        Ok(Some(account))
    }

    fn nats_account_of(&self, org: OrgId, unit: Option<UnitId>) -> Result<Option<AccountId>, StoreError> {
        let id: Option<String> = self
            .tx
            .prepare_cached(
                "SELECT id FROM nats_accounts WHERE org_id = ?1 AND ifnull(unit_id, '') = ?2 AND system = 0",
            )?
            .query_row((org.to_string(), unit.map(|u| u.to_string()).unwrap_or_default()), |r| r.get(0))
            .optional()?;
        id.map(|id| id.parse().map_err(|_| StoreError::Corrupt(format!("a NATS account of {org} has a malformed id"))))
            .transpose()
    }

    fn nats_user(&self, id: NatsUserId) -> Result<Option<ExistingNatsUser>, StoreError> {
        let row: Option<(String, String, Option<i64>, i64)> = self
            .tx
            .prepare_cached(
                "SELECT u.org_id, u.account_id, u.revoked_at, a.version FROM nats_users u \
                 JOIN aggregates a ON a.id = u.id WHERE u.id = ?1",
            )?
            .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        let Some((org, account, revoked_at, version)) = row else { return Ok(None) };
        let bad = |what: &str| StoreError::Corrupt(format!("NATS user {id} has a malformed {what}"));
        Ok(Some(ExistingNatsUser {
            org: org.parse().map_err(|_| bad("organization id"))?,
            account: account.parse().map_err(|_| bad("account id"))?,
            revoked: revoked_at.is_some(),
            version: version as u64,
        }))
    }

    fn nats_user_of(&self, person: PersonId) -> Result<Option<NatsUserId>, StoreError> {
        let id: Option<String> = self
            .tx
            .prepare_cached("SELECT id FROM nats_users WHERE person_id = ?1")?
            .query_row([person.to_string()], |r| r.get(0))
            .optional()?;
        id.map(|id| {
            id.parse().map_err(|_| StoreError::Corrupt(format!("the NATS user of {person} has a malformed id")))
        })
        .transpose()
    }

    fn nats_key_taken(&self, key: &str) -> Result<bool, StoreError> {
        // Each branch is a lookup in a unique index; signing keys include the retired ones.
        self.exists(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM nats_signing_keys WHERE public_key = ?1) \
             OR EXISTS (SELECT 1 FROM nats_operators WHERE public_key = ?1) \
             OR EXISTS (SELECT 1 FROM nats_operators WHERE system_account = ?1) \
             OR EXISTS (SELECT 1 FROM nats_accounts WHERE public_key = ?1) \
             OR EXISTS (SELECT 1 FROM nats_users WHERE public_key = ?1)",
            [key],
        )
    }

    fn nats_key_retired(&self, key: &str) -> Result<bool, StoreError> {
        self.exists("SELECT 1 FROM nats_signing_keys WHERE public_key = ?1 AND retired = 1", [key])
    }
}

/// An SQL boolean column: 0 or 1, anything else is malformed.
pub(super) fn flag(value: i64) -> Option<bool> {
    match value {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}
