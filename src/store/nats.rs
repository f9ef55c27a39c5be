//! The NATS read models, as the application layer reads them: an organization's operator, its
//! accounts and users, and who owns a signing key.
//!
//! Every method is an indexed lookup (or a scan of one organization's rows through an index),
//! so issuing credentials for ten thousand users costs ten thousand cheap reads, not ten
//! thousand scans. Signing keys are listed as they stand now: a rotation retires a key and puts
//! its successor in its position, so the order of an owner's keys survives rotations; the
//! retired keys are only visible through [`Store::nats_signing_key`].

use rusqlite::{OptionalExtension, Row};
use serde::Serialize;

use super::tx::{CURRENT_SIGNING_KEYS, flag};
use super::{Store, StoreError, UnitRow};

/// A current signing key of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatsSigningKeyRow {
    /// Public nkey (`A…`).
    pub public_key: String,
    /// The role of a scoped key's user template; none for a plain key.
    pub role: Option<String>,
}

/// An organization's NATS operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatsOperatorRow {
    /// Id.
    pub id: String,
    /// Organization id.
    pub org_id: String,
    /// Name.
    pub name: String,
    /// Identity public key (`O…`).
    pub public_key: String,
    /// Current signing keys (`O…`), in order.
    pub signing_keys: Vec<String>,
    /// Public key (`A…`) of the system account.
    pub system_account: String,
    /// CID of the current JWT.
    pub jwt: String,
}

/// A NATS account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatsAccountRow {
    /// Id.
    pub id: String,
    /// Organization id.
    pub org_id: String,
    /// Operator id.
    pub operator_id: String,
    /// The unit it serves; none for the system and the organization account.
    pub unit_id: Option<String>,
    /// Whether it is the system account.
    pub system: bool,
    /// Name.
    pub name: String,
    /// Identity public key (`A…`).
    pub public_key: String,
    /// Current signing keys, in order.
    pub signing_keys: Vec<NatsSigningKeyRow>,
    /// Whether JetStream is enabled.
    pub jetstream: bool,
    /// CID of the current JWT.
    pub jwt: String,
}

/// A person's NATS user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatsUserRow {
    /// Id.
    pub id: String,
    /// Organization id.
    pub org_id: String,
    /// Account id.
    pub account_id: String,
    /// Person id.
    pub person_id: String,
    /// Name.
    pub name: String,
    /// Public key (`U…`).
    pub public_key: String,
    /// The account signing key that signed the current JWT.
    pub signer: String,
    /// The role of that key, if it is scoped.
    pub role: Option<String>,
    /// CID of the current JWT.
    pub jwt: String,
    /// When it was revoked (unix seconds).
    pub revoked_at: Option<i64>,
}

/// Who owns a signing key, current or retired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatsSigningKeyOwner {
    /// Organization id.
    pub org_id: String,
    /// `operator` or `account`.
    pub owner_kind: String,
    /// The operator's or account's id.
    pub owner_id: String,
    /// The role of a scoped key.
    pub role: Option<String>,
    /// Whether a rotation retired it.
    pub retired: bool,
}

/// `SELECT` of an account row's columns (as [`account_parts`] reads them), then `$rest`.
macro_rules! select_accounts {
    ($rest:literal) => {
        concat!(
            "SELECT id, org_id, operator_id, unit_id, system, name, public_key, jetstream, jwt FROM nats_accounts ",
            $rest
        )
    };
}

/// `SELECT` of a user row's columns (as [`user_row`] reads them), then `$rest`.
macro_rules! select_users {
    ($rest:literal) => {
        concat!(
            "SELECT id, org_id, account_id, person_id, name, public_key, signer, role, jwt, revoked_at \
             FROM nats_users ",
            $rest
        )
    };
}

/// A person as `nats bootstrap` reads them: id, e-mail address (the user's name) and earliest
/// unit (units are UUIDv7, so the smallest id is the unit created first), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsMemberRow {
    /// Person id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// The smallest of the person's unit ids.
    pub first_unit: Option<String>,
}

/// An account row without its signing keys, and its raw flags (checked by `Store::nats_account_from`).
type AccountParts = (NatsAccountRow, i64, i64);

fn account_parts(r: &Row<'_>) -> rusqlite::Result<AccountParts> {
    let row = NatsAccountRow {
        id: r.get(0)?,
        org_id: r.get(1)?,
        operator_id: r.get(2)?,
        unit_id: r.get(3)?,
        system: false,
        name: r.get(5)?,
        public_key: r.get(6)?,
        signing_keys: Vec::new(),
        jetstream: false,
        jwt: r.get(8)?,
    };
    Ok((row, r.get(4)?, r.get(7)?))
}

fn user_row(r: &Row<'_>) -> rusqlite::Result<NatsUserRow> {
    Ok(NatsUserRow {
        id: r.get(0)?,
        org_id: r.get(1)?,
        account_id: r.get(2)?,
        person_id: r.get(3)?,
        name: r.get(4)?,
        public_key: r.get(5)?,
        signer: r.get(6)?,
        role: r.get(7)?,
        jwt: r.get(8)?,
        revoked_at: r.get(9)?,
    })
}

fn malformed(what: &str, id: &str, column: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {id} has a malformed {column} (expected 0 or 1)"))
}

impl Store {
    /// The organization's operator, with its current signing keys in order.
    pub fn nats_operator(&self, org: &str) -> Result<Option<NatsOperatorRow>, StoreError> {
        let row = self
            .conn()
            .prepare_cached(
                "SELECT id, org_id, name, public_key, system_account, jwt FROM nats_operators WHERE org_id = ?1",
            )?
            .query_row([org], |r| {
                Ok(NatsOperatorRow {
                    id: r.get(0)?,
                    org_id: r.get(1)?,
                    name: r.get(2)?,
                    public_key: r.get(3)?,
                    signing_keys: Vec::new(),
                    system_account: r.get(4)?,
                    jwt: r.get(5)?,
                })
            })
            .optional()?;
        let Some(mut operator) = row else { return Ok(None) };
        operator.signing_keys = self.nats_signing_keys_of(&operator.id)?.into_iter().map(|k| k.public_key).collect();
        Ok(Some(operator))
    }

    /// What `nats bootstrap` needs of an organization, in the order of
    /// [`Store::organization_tree`] but without the rest of the tree: its units, and its people
    /// with their earliest unit.
    pub fn nats_members(&self, org: &str) -> Result<(Vec<UnitRow>, Vec<NatsMemberRow>), StoreError> {
        let conn = self.conn();
        let units = conn
            .prepare_cached("SELECT id, parent_id, name FROM units WHERE org_id = ?1 ORDER BY name_key, id")?
            .query_map([org], |r| Ok(UnitRow { id: r.get(0)?, parent: r.get(1)?, name: r.get(2)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        let people = conn
            .prepare_cached(
                "SELECT p.id, p.email, (SELECT min(m.unit_id) FROM person_units m WHERE m.person_id = p.id) \
                 FROM people p WHERE p.org_id = ?1 ORDER BY p.name, p.id",
            )?
            .query_map([org], |r| Ok(NatsMemberRow { id: r.get(0)?, email: r.get(1)?, first_unit: r.get(2)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((units, people))
    }

    /// The organization's accounts: the system account, the organization account, then the
    /// unit accounts by name.
    pub fn nats_accounts(&self, org: &str) -> Result<Vec<NatsAccountRow>, StoreError> {
        let parts = self
            .conn()
            .prepare_cached(select_accounts!("WHERE org_id = ?1 ORDER BY system DESC, unit_id IS NOT NULL, name, id"))?
            .query_map([org], account_parts)?
            .collect::<Result<Vec<_>, _>>()?;
        parts.into_iter().map(|p| self.nats_account_from(p)).collect()
    }

    /// One account by id.
    pub fn nats_account(&self, id: &str) -> Result<Option<NatsAccountRow>, StoreError> {
        let parts =
            self.conn().prepare_cached(select_accounts!("WHERE id = ?1"))?.query_row([id], account_parts).optional()?;
        parts.map(|p| self.nats_account_from(p)).transpose()
    }

    /// The organization's users, by name, then id.
    pub fn nats_users(&self, org: &str) -> Result<Vec<NatsUserRow>, StoreError> {
        let mut stmt = self.conn().prepare_cached(select_users!("WHERE org_id = ?1 ORDER BY name, id"))?;
        Ok(stmt.query_map([org], user_row)?.collect::<Result<_, _>>()?)
    }

    /// One user by id.
    pub fn nats_user(&self, id: &str) -> Result<Option<NatsUserRow>, StoreError> {
        Ok(self.conn().prepare_cached(select_users!("WHERE id = ?1"))?.query_row([id], user_row).optional()?)
    }

    /// The users whose current JWT this signing key signed (revoked ones included), by name,
    /// then id.
    pub fn nats_users_signed_by(&self, signer: &str) -> Result<Vec<NatsUserRow>, StoreError> {
        let mut stmt = self.conn().prepare_cached(select_users!("WHERE signer = ?1 ORDER BY name, id"))?;
        Ok(stmt.query_map([signer], user_row)?.collect::<Result<_, _>>()?)
    }

    /// Who owns a signing key, current or retired; `None` if it is no recorded signing key.
    pub fn nats_signing_key(&self, public_key: &str) -> Result<Option<NatsSigningKeyOwner>, StoreError> {
        let row: Option<(NatsSigningKeyOwner, i64)> = self
            .conn()
            .prepare_cached(
                "SELECT org_id, owner_kind, owner_id, role, retired FROM nats_signing_keys WHERE public_key = ?1",
            )?
            .query_row([public_key], |r| {
                let owner = NatsSigningKeyOwner {
                    org_id: r.get(0)?,
                    owner_kind: r.get(1)?,
                    owner_id: r.get(2)?,
                    role: r.get(3)?,
                    retired: false,
                };
                Ok((owner, r.get(4)?))
            })
            .optional()?;
        let Some((mut owner, retired)) = row else { return Ok(None) };
        if owner.owner_kind != "operator" && owner.owner_kind != "account" {
            return Err(StoreError::Corrupt(format!(
                "NATS signing key {public_key} has a malformed owner kind '{}'",
                owner.owner_kind
            )));
        }
        owner.retired = flag(retired).ok_or_else(|| malformed("NATS signing key", public_key, "retired flag"))?;
        Ok(Some(owner))
    }

    /// Completes an account row: checks its flags and reads its current signing keys.
    fn nats_account_from(&self, (mut row, system, jetstream): AccountParts) -> Result<NatsAccountRow, StoreError> {
        row.system = flag(system).ok_or_else(|| malformed("NATS account", &row.id, "system flag"))?;
        row.jetstream = flag(jetstream).ok_or_else(|| malformed("NATS account", &row.id, "jetstream flag"))?;
        row.signing_keys = self.nats_signing_keys_of(&row.id)?;
        Ok(row)
    }

    /// The current signing keys of an operator or account, in position order.
    fn nats_signing_keys_of(&self, owner: &str) -> Result<Vec<NatsSigningKeyRow>, StoreError> {
        // Sorted here rather than in SQL, for the reason given at `Tx::current_signing_keys`.
        let mut stmt = self.conn().prepare_cached(CURRENT_SIGNING_KEYS)?;
        let rows = stmt.query_map([owner], |r| {
            Ok((r.get::<_, i64>(0)?, NatsSigningKeyRow { public_key: r.get(1)?, role: r.get(2)? }))
        })?;
        let mut keys = rows.collect::<Result<Vec<_>, _>>()?;
        keys.sort_unstable_by_key(|(position, _)| *position);
        Ok(keys.into_iter().map(|(_, key)| key).collect())
    }
}
