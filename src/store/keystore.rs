//! Keystore rows: the wrapped master key with its KDF parameters (one row), and sealed
//! secrets. Only ciphertext is stored; sealing and opening happen in `crypto::keystore`.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};
use crate::crypto::keystore::{KEYSTORE_FORMAT, KdfParams, NONCE_LEN, SALT_LEN, Sealed};
use crate::domain::Timestamp;

/// The stored keystore header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreRecord {
    /// Argon2id parameters used to derive the KEK.
    pub params: KdfParams,
    /// The KDF salt.
    pub salt: [u8; SALT_LEN],
    /// The master key wrapped under the KEK.
    pub wrapped: Sealed,
}

/// format, memory, iterations, parallelism, salt, nonce, ciphertext.
type KeystoreRow = (i64, i64, i64, i64, Vec<u8>, Vec<u8>, Vec<u8>);

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("the keystore's {what} is malformed"))
}

pub(super) fn insert(conn: &rusqlite::Connection, record: &KeystoreRecord, at: Timestamp) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO keystore (singleton, format, kdf, kdf_memory_kib, kdf_iterations, kdf_parallelism, salt, \
         master_nonce, master_ciphertext, updated_at) VALUES (1, ?1, 'argon2id', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        (
            i64::from(KEYSTORE_FORMAT),
            i64::from(record.params.memory_kib),
            i64::from(record.params.iterations),
            i64::from(record.params.parallelism),
            record.salt.as_slice(),
            record.wrapped.nonce.as_slice(),
            &record.wrapped.ciphertext,
            at.to_string(),
        ),
    )?;
    Ok(())
}

impl Store {
    /// The keystore header; `None` for a vault created before keystores existed.
    pub fn keystore(&self) -> Result<Option<KeystoreRecord>, StoreError> {
        let row: Option<KeystoreRow> = self
            .conn()
            .query_row(
                "SELECT format, kdf_memory_kib, kdf_iterations, kdf_parallelism, salt, master_nonce, master_ciphertext \
                 FROM keystore WHERE singleton = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
            )
            .optional()?;
        let Some((format, memory, iterations, parallelism, salt, nonce, ciphertext)) = row else { return Ok(None) };
        if format != i64::from(KEYSTORE_FORMAT) {
            return Err(StoreError::Corrupt(format!(
                "the keystore has format {format}, which this cim-keys does not read; upgrade cim-keys"
            )));
        }
        let small = |v: i64, what| u32::try_from(v).map_err(|_| corrupt(what));
        Ok(Some(KeystoreRecord {
            params: KdfParams {
                memory_kib: small(memory, "KDF memory")?,
                iterations: small(iterations, "KDF iterations")?,
                parallelism: small(parallelism, "KDF parallelism")?,
            },
            salt: salt.as_slice().try_into().map_err(|_| corrupt("salt"))?,
            wrapped: Sealed {
                nonce: <[u8; NONCE_LEN]>::try_from(nonce.as_slice()).map_err(|_| corrupt("nonce"))?,
                ciphertext,
            },
        }))
    }

    /// Replaces the keystore header (a new passphrase), provided it still holds `current`: a
    /// concurrent change makes this fail rather than overwrite it.
    pub fn replace_keystore(
        &mut self,
        current: &KeystoreRecord,
        new: &KeystoreRecord,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE keystore SET kdf_memory_kib = ?1, kdf_iterations = ?2, kdf_parallelism = ?3, salt = ?4, \
             master_nonce = ?5, master_ciphertext = ?6, updated_at = ?7 \
             WHERE singleton = 1 AND master_nonce = ?8 AND master_ciphertext = ?9",
            (
                i64::from(new.params.memory_kib),
                i64::from(new.params.iterations),
                i64::from(new.params.parallelism),
                new.salt.as_slice(),
                new.wrapped.nonce.as_slice(),
                &new.wrapped.ciphertext,
                at.to_string(),
                current.wrapped.nonce.as_slice(),
                &current.wrapped.ciphertext,
            ),
        )?;
        if changed != 1 {
            return Err(StoreError::Conflict("the passphrase was changed meanwhile; try again".into()));
        }
        tx.commit()?;
        Ok(())
    }

    /// Creates the keystore of a vault that has none (one created before keystores existed).
    pub fn create_keystore(&mut self, record: &KeystoreRecord, at: Timestamp) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        insert(&tx, record, at).map_err(|e| match e {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Conflict("the vault already has a keystore".into())
            }
            other => other,
        })?;
        tx.commit()?;
        Ok(())
    }
}

impl Store {
    /// A sealed secret by id: its kind and ciphertext.
    pub fn secret(&self, id: &str) -> Result<Option<(String, Sealed)>, StoreError> {
        let row: Option<(String, Vec<u8>, Vec<u8>)> = self
            .conn()
            .query_row("SELECT kind, nonce, ciphertext FROM secrets WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        row.map(|(kind, nonce, ciphertext)| {
            let nonce = <[u8; NONCE_LEN]>::try_from(nonce.as_slice()).map_err(|_| corrupt("secret nonce"))?;
            Ok((kind, Sealed { nonce, ciphertext }))
        })
        .transpose()
    }
}

/// A sealed secret as stored: id, kind, ciphertext.
pub type SecretRow = (String, String, Sealed);

impl Store {
    /// Every sealed secret, by id (for a secrets backup, which opens them).
    pub fn secret_rows(&self) -> Result<Vec<SecretRow>, StoreError> {
        let mut stmt = self.conn().prepare("SELECT id, kind, nonce, ciphertext FROM secrets ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?, r.get::<_, Vec<u8>>(3)?))
        })?;
        rows.map(|row| {
            let (id, kind, nonce, ciphertext) = row?;
            let nonce = <[u8; NONCE_LEN]>::try_from(nonce.as_slice()).map_err(|_| corrupt("secret nonce"))?;
            Ok((id, kind, Sealed { nonce, ciphertext }))
        })
        .collect()
    }

    /// Inserts restored secrets in one IMMEDIATE transaction: all of them, or — if one's id is
    /// taken meanwhile, or anything fails — none.
    pub fn insert_secrets(&mut self, rows: &[SecretRow], at: Timestamp) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx
                .prepare("INSERT INTO secrets (id, kind, nonce, ciphertext, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?;
            let at = at.to_string();
            for (id, kind, sealed) in rows {
                stmt.execute((id, kind, sealed.nonce.as_slice(), &sealed.ciphertext, &at)).map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                        StoreError::Conflict(format!("secret {id} was stored meanwhile; try again"))
                    }
                    other => StoreError::Sqlite(other),
                })?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// What a NATS public key (`O…`, `A…`, `U…`) is in this vault's read models: `operator`,
    /// `account` or `user` for an identity key, and `operator` or `account` for a signing key
    /// (current or retired) of one; `None` if no read model knows it. Indexed lookups only, so
    /// checking every seed of a backup against the vault costs one lookup each.
    pub fn nats_key_owner_kind(&self, public_key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT 'operator' FROM nats_operators WHERE public_key = ?1 \
                 UNION ALL SELECT 'account' FROM nats_accounts WHERE public_key = ?1 \
                 UNION ALL SELECT 'user' FROM nats_users WHERE public_key = ?1 \
                 UNION ALL SELECT owner_kind FROM nats_signing_keys WHERE public_key = ?1 \
                 LIMIT 1",
            )?
            .query_row([public_key], |r| r.get(0))
            .optional()?)
    }
}
