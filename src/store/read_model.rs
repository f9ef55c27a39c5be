//! Read models: the current state as tables, updated in the same transaction as the events.

use rusqlite::{OptionalExtension, Transaction};

use super::StoreError;
use crate::domain::{DomainEvent, EventEnvelope, NatsEntity, NatsOwner, NatsSigningKeyRotated, OrgId, name_key};

fn aggregate(tx: &Transaction<'_>, envelope: &EventEnvelope) -> Result<(), StoreError> {
    let (kind, id) = envelope.aggregate();
    tx.prepare_cached(
        "INSERT INTO aggregates (id, kind, org_id, version) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (id) DO UPDATE SET version = excluded.version",
    )?
    .execute((id.to_string(), kind.name(), envelope.event.org().to_string(), envelope.version as i64))?;
    Ok(())
}

/// `org_counts` (see `store::org_page`): one more unit, person or role of an organization, so
/// that listing organizations with their counts counts no rows.
const ONE_MORE_UNIT: &str = "UPDATE org_counts SET units = units + 1 WHERE org_id = ?1";
const ONE_MORE_PERSON: &str = "UPDATE org_counts SET people = people + 1 WHERE org_id = ?1";
const ONE_MORE_ROLE: &str = "UPDATE org_counts SET roles = roles + 1 WHERE org_id = ?1";

fn count(tx: &Transaction<'_>, one_more: &'static str, org: OrgId) -> Result<(), StoreError> {
    tx.prepare_cached(one_more)?.execute([org.to_string()])?;
    Ok(())
}

/// Applies one event to the read models.
pub(super) fn apply(tx: &Transaction<'_>, envelope: &EventEnvelope) -> Result<(), StoreError> {
    aggregate(tx, envelope)?;
    let at = envelope.occurred_at.to_string();
    match &envelope.event {
        DomainEvent::OrganizationCreated(e) => {
            tx.prepare_cached(
                "INSERT INTO organizations (id, name, name_key, domain, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute((e.org.to_string(), &e.name, name_key(&e.name), &e.domain, at))?;
            tx.prepare_cached("INSERT INTO org_counts (org_id) VALUES (?1)")?.execute([e.org.to_string()])?;
        }
        DomainEvent::UnitCreated(e) => {
            tx.prepare_cached(
                "INSERT INTO units (id, org_id, parent_id, name, name_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute((
                e.unit.to_string(),
                e.org.to_string(),
                e.parent.map(|p| p.to_string()),
                &e.name,
                name_key(&e.name),
                at,
            ))?;
            count(tx, ONE_MORE_UNIT, e.org)?;
        }
        DomainEvent::PersonAdded(e) => {
            tx.prepare_cached(
                "INSERT INTO people (id, org_id, name, email, email_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute((
                e.person.to_string(),
                e.org.to_string(),
                &e.name,
                &e.email,
                e.email.to_ascii_lowercase(),
                at,
            ))?;
            let mut member = tx.prepare_cached("INSERT INTO person_units (person_id, unit_id) VALUES (?1, ?2)")?;
            for unit in &e.units {
                member.execute((e.person.to_string(), unit.to_string()))?;
            }
            count(tx, ONE_MORE_PERSON, e.org)?;
        }
        DomainEvent::RoleDefined(e) => {
            tx.prepare_cached(
                "INSERT INTO roles (id, org_id, name, name_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute((e.role.to_string(), e.org.to_string(), &e.name, name_key(&e.name), at))?;
            count(tx, ONE_MORE_ROLE, e.org)?;
        }
        DomainEvent::RoleAssigned(e) => {
            tx.prepare_cached("INSERT INTO role_assignments (person_id, role_id) VALUES (?1, ?2)")?
                .execute((e.person.to_string(), e.role.to_string()))?;
        }
        DomainEvent::KeyGenerated(e) => {
            tx.prepare_cached(
                "INSERT INTO keys (id, org_id, owner_id, algorithm, public_key, fingerprint, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute((
                e.key.to_string(),
                e.org.to_string(),
                e.owner.to_string(),
                &e.algorithm,
                &e.public_key,
                &e.fingerprint,
                at,
            ))?;
        }
        DomainEvent::CaCreated(e) => {
            let f = &e.facts;
            tx.prepare_cached(
                "INSERT INTO cas (id, org_id, level, issuer_id, subject, common_name, organization, serial, not_before, \
                 not_after, fingerprint, certificate, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(rusqlite::params![
                e.ca.to_string(),
                e.org.to_string(),
                &e.level,
                e.issuer.map(|i| i.to_string()),
                &f.subject,
                &f.common_name,
                &f.organization,
                &f.serial,
                f.not_before.to_string(),
                f.not_after.to_string(),
                &f.fingerprint,
                &f.certificate,
                at,
            ])?;
        }
        DomainEvent::CertificateIssued(e) => {
            let f = &e.facts;
            tx.prepare_cached(
                "INSERT INTO certificates (id, org_id, ca_id, profile, names, subject, common_name, organization, serial, \
                 not_before, not_after, fingerprint, certificate, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(rusqlite::params![
                e.certificate.to_string(),
                e.org.to_string(),
                e.ca.to_string(),
                &e.profile,
                serde_json::to_string(&e.names).unwrap_or_default(),
                &f.subject,
                &f.common_name,
                &f.organization,
                &f.serial,
                f.not_before.to_string(),
                f.not_after.to_string(),
                &f.fingerprint,
                &f.certificate,
                at,
            ])?;
        }
        DomainEvent::KeyRevoked(e) => {
            tx.prepare_cached("UPDATE keys SET revoked = ?2, revoked_at = ?3 WHERE id = ?1")?.execute((
                e.key.to_string(),
                &e.reason,
                at,
            ))?;
        }
        DomainEvent::NatsOperatorCreated(e) => {
            let id = e.operator.to_string();
            tx.prepare_cached(
                "INSERT INTO nats_operators (id, org_id, name, public_key, system_account, jwt, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute((&id, e.org.to_string(), &e.name, &e.public_key, &e.system_account, &e.jwt, at))?;
            let keys = e.signing_keys.iter().map(|k| (k.as_str(), None));
            insert_signing_keys(tx, e.org, "operator", &id, keys)?;
        }
        DomainEvent::NatsAccountCreated(e) => {
            let id = e.account.to_string();
            tx.prepare_cached(
                "INSERT INTO nats_accounts (id, org_id, operator_id, unit_id, system, name, public_key, jetstream, jwt, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(rusqlite::params![
                &id,
                e.org.to_string(),
                e.operator.to_string(),
                e.unit.map(|u| u.to_string()),
                e.system,
                &e.name,
                &e.public_key,
                e.jetstream,
                &e.jwt,
                at,
            ])?;
            let keys = e.signing_keys.iter().map(|k| (k.public_key.as_str(), k.role.as_deref()));
            insert_signing_keys(tx, e.org, "account", &id, keys)?;
        }
        DomainEvent::NatsUserCreated(e) => {
            tx.prepare_cached(
                "INSERT INTO nats_users (id, org_id, account_id, person_id, name, public_key, signer, role, jwt, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(rusqlite::params![
                e.user.to_string(),
                e.org.to_string(),
                e.account.to_string(),
                e.person.to_string(),
                &e.name,
                &e.public_key,
                &e.signer,
                &e.role,
                &e.jwt,
                at,
            ])?;
        }
        DomainEvent::NatsUserRevoked(e) => {
            tx.prepare_cached("UPDATE nats_users SET revoked_at = ?2 WHERE id = ?1")?
                .execute((e.user.to_string(), e.revoked_at))?;
            tx.prepare_cached("UPDATE nats_accounts SET jwt = ?2 WHERE id = ?1")?
                .execute((e.account.to_string(), &e.account_jwt))?;
        }
        DomainEvent::NatsSigningKeyRotated(e) => rotate(tx, e)?,
    }
    Ok(())
}

/// Records an owner's signing keys, numbering their positions in the order given.
fn insert_signing_keys<'k>(
    tx: &Transaction<'_>,
    org: OrgId,
    owner_kind: &str,
    owner_id: &str,
    keys: impl Iterator<Item = (&'k str, Option<&'k str>)>,
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO nats_signing_keys (public_key, org_id, owner_kind, owner_id, role, position, retired) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
    )?;
    let org = org.to_string();
    for (position, (key, role)) in keys.enumerate() {
        insert.execute((key, &org, owner_kind, owner_id, role, position as i64))?;
    }
    Ok(())
}

/// A rotation, as `State::evolve` folds it: the old key is retired (its row stays, so it is
/// never accepted again) and its successor takes its position; every re-issued JWT replaces
/// the entity's current one, and a re-issued user signed by the old key is now signed by the
/// new one.
fn rotate(tx: &Transaction<'_>, e: &NatsSigningKeyRotated) -> Result<(), StoreError> {
    let (owner_kind, owner_id) = match e.owner {
        NatsOwner::Operator(id) => ("operator", id.to_string()),
        NatsOwner::Account(id) => ("account", id.to_string()),
    };
    // `decide` only rotates a current key of the owner; the upsert keeps a retired row for the
    // old key whatever the read models held, as the fold keeps it in `retired_nats_keys`.
    let position: Option<i64> = tx
        .prepare_cached(
            "SELECT position FROM nats_signing_keys WHERE public_key = ?1 AND owner_id = ?2 AND retired = 0",
        )?
        .query_row((&e.old_key, &owner_id), |r| r.get(0))
        .optional()?;
    tx.prepare_cached(
        "INSERT INTO nats_signing_keys (public_key, org_id, owner_kind, owner_id, role, position, retired) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1) \
         ON CONFLICT (public_key) DO UPDATE SET org_id = excluded.org_id, owner_kind = excluded.owner_kind, \
         owner_id = excluded.owner_id, role = excluded.role, retired = 1",
    )?
    .execute((&e.old_key, e.org.to_string(), owner_kind, &owner_id, &e.new_key.role, position.unwrap_or(-1)))?;
    if let Some(position) = position {
        tx.prepare_cached(
            "INSERT INTO nats_signing_keys (public_key, org_id, owner_kind, owner_id, role, position, retired) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
        )?
        .execute((
            &e.new_key.public_key,
            e.org.to_string(),
            owner_kind,
            &owner_id,
            &e.new_key.role,
            position,
        ))?;
    }
    for entry in &e.reissued {
        let id = entry.entity.uuid().to_string();
        match entry.entity {
            NatsEntity::Operator(_) => {
                tx.prepare_cached("UPDATE nats_operators SET jwt = ?2 WHERE id = ?1")?.execute((id, &entry.jwt))?;
            }
            NatsEntity::Account(_) => {
                tx.prepare_cached("UPDATE nats_accounts SET jwt = ?2 WHERE id = ?1")?.execute((id, &entry.jwt))?;
            }
            NatsEntity::User(_) => {
                tx.prepare_cached(
                    "UPDATE nats_users SET jwt = ?2, signer = CASE WHEN signer = ?3 THEN ?4 ELSE signer END \
                     WHERE id = ?1",
                )?
                .execute((id, &entry.jwt, &e.old_key, &e.new_key.public_key))?;
            }
        }
    }
    Ok(())
}
