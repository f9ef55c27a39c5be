//! The store: one SQLite file per vault.
//!
//! * Settings: WAL journal, `synchronous = FULL` (a committed command survives power loss),
//!   foreign keys on, a busy timeout, `application_id` "CIMK"; versioned migrations
//!   ([`schema`]).
//! * Tables: `domain_events` and `graph_events` (the blocks, with their CIDs and the chain's
//!   `prev_cid`), `outbox` (one row per graph event: pending or uploaded, attempts), read
//!   models (`aggregates`, `organizations`, `units`, `people`, `person_units`, `roles`,
//!   `role_assignments`, `keys`, `cas`, `certificates`, and for NATS `nats_operators`,
//!   `nats_accounts`, `nats_users`, `nats_signing_keys`) and the one-row `vault` table holding
//!   the device id, the head CID and running counts.
//! * One command, one transaction: [`Store::begin`] opens an IMMEDIATE transaction; the
//!   [`Tx`] answers `decide`'s questions ([`crate::domain::DomainView`]) from the read models
//!   and records events, blocks, outbox rows and read-model changes; [`Tx::commit`] makes them
//!   durable together or not at all.
//! * Opening a vault reads the `vault` row; nothing replays the log, so `status` and the
//!   listings cost the same for ten events or ten million.

mod audit;
mod bundle;
mod error;
mod keystore;
mod nats;
mod org_page;
mod outbox;
mod queries;
mod read_model;
pub mod schema;
mod tx;
mod verify;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

pub use bundle::{ExportRecord, HistoryRange, ImportRecord, Snapshot, StoredEvent};
pub use error::StoreError;
pub use keystore::KeystoreRecord;
pub use nats::{NatsAccountRow, NatsMemberRow, NatsOperatorRow, NatsSigningKeyOwner, NatsSigningKeyRow, NatsUserRow};
pub use org_page::{OrgPage, PeopleWindow};
pub use outbox::PendingEvent;
pub use queries::{
    DomainEventRow, EventQuery, GraphEventRow, IntermediateRow, KeyRow, OrgSummary, OrgTree, PersonRow, PkiRow,
    RoleRow, Status, UnitRow,
};
pub use tx::{EventRows, Tx};
pub use verify::{Problem, VerifyReport};

use crate::domain::{DeviceId, Timestamp};

/// File name of the vault database inside the data directory.
pub const DATABASE_FILE: &str = "vault.sqlite";

/// Who the vault is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VaultIdentity {
    /// The vault's id.
    pub vault_id: uuid::Uuid,
    /// This device's id (stamped on every event recorded here).
    pub device_id: DeviceId,
    /// When it was created.
    pub created_at: Timestamp,
}

/// An open vault database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    identity: VaultIdentity,
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // One command runs a few dozen distinct statements (decide's questions, the inserts, the
    // read models); rusqlite's default cache of 16 would re-prepare them over and over.
    conn.set_prepared_statement_cache_capacity(128);
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt(format!("could not switch to WAL journal mode (got {mode})")));
    }
    // A 64 MiB page cache (the default is 2 MiB): a large transaction (a 10,000-user NATS
    // bootstrap writes ~70 MB) otherwise spills dirty pages to the WAL and reads them back.
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;")?;
    Ok(())
}

fn not_a_vault(path: &Path, err: rusqlite::Error) -> StoreError {
    match &err {
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::NotADatabase => {
            StoreError::NotAVault { path: path.to_owned(), reason: "it is not an SQLite database".into() }
        }
        _ => StoreError::Sqlite(err),
    }
}

/// Applies the migrations this database has not seen yet. Usually there are none, and then
/// nothing is written: opening a vault to read it does not cost a commit.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let target = schema::MIGRATIONS.len() as i64;
    if version >= target {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (index, sql) in schema::MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
    }
    tx.pragma_update(None, "application_id", schema::APPLICATION_ID)?;
    tx.commit()?;
    Ok(())
}

fn read_identity(conn: &Connection) -> Result<VaultIdentity, StoreError> {
    let row: Option<(String, String, String)> = conn
        .query_row("SELECT vault_id, device_id, created_at FROM vault WHERE singleton = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let (vault, device, created) = row.ok_or_else(|| StoreError::Corrupt("the vault row is missing".into()))?;
    let bad = |what: &str| StoreError::Corrupt(format!("the vault row has a malformed {what}"));
    Ok(VaultIdentity {
        vault_id: uuid::Uuid::try_parse(&vault).map_err(|_| bad("vault id"))?,
        device_id: device.parse().map_err(|_| bad("device id"))?,
        created_at: Timestamp::parse(&created).ok_or_else(|| bad("creation time"))?,
    })
}

impl Store {
    /// Creates a new vault database at `path` (which must not exist).
    pub fn create(path: &Path, identity: VaultIdentity, keystore: &KeystoreRecord) -> Result<Self, StoreError> {
        if path.exists() {
            return Err(StoreError::AlreadyExists(path.parent().unwrap_or(path).to_owned()));
        }
        let build = || -> Result<Self, StoreError> {
            let mut conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            configure(&conn)?;
            migrate(&mut conn)?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO vault (singleton, vault_id, device_id, created_at) VALUES (1, ?1, ?2, ?3)",
                (identity.vault_id.to_string(), identity.device_id.to_string(), identity.created_at.to_string()),
            )?;
            keystore::insert(&tx, keystore, identity.created_at)?;
            tx.commit()?;
            Ok(Self { conn, path: path.to_owned(), identity })
        };
        // A half-created vault would block the next `init`: remove what was written.
        build().inspect_err(|_| remove_database(path))
    }

    /// Opens an existing vault database, migrating it forward if it is older.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::NoVault(path.parent().unwrap_or(path).to_owned()));
        }
        let mut conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        // Reading the header first tells a non-database apart before we change anything.
        let app_id: i64 =
            conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(|e| not_a_vault(path, e))?;
        if app_id != schema::APPLICATION_ID {
            return Err(StoreError::NotAVault {
                path: path.to_owned(),
                reason: "it is an SQLite database of another application".into(),
            });
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let supported = schema::MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::NewerSchema { found: version, supported });
        }
        configure(&conn)?;
        migrate(&mut conn)?;
        let identity = read_identity(&conn)?;
        Ok(Self { conn, path: path.to_owned(), identity })
    }

    /// The vault's identity.
    pub fn identity(&self) -> VaultIdentity {
        self.identity
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts the transaction of one command.
    pub fn begin(&mut self) -> Result<Tx<'_>, StoreError> {
        Tx::begin(&mut self.conn)
    }

    /// The underlying connection, for read-only queries in this module's submodules.
    fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Removes the database file at `path` with SQLite's companions (`-wal`, `-shm`, `-journal`),
/// ignoring any that is not there: what a failed creation leaves behind.
pub fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

#[cfg(test)]
mod tests;
