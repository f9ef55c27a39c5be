//! Read models: the current state as tables, updated in the same transaction as the events.

use rusqlite::Transaction;

use super::StoreError;
use crate::domain::{DomainEvent, EventEnvelope, name_key};

fn aggregate(tx: &Transaction<'_>, envelope: &EventEnvelope) -> Result<(), StoreError> {
    let (kind, id) = envelope.aggregate();
    tx.prepare_cached(
        "INSERT INTO aggregates (id, kind, org_id, version) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (id) DO UPDATE SET version = excluded.version",
    )?
    .execute((id.to_string(), kind.name(), envelope.event.org().to_string(), envelope.version as i64))?;
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
        }
        DomainEvent::RoleDefined(e) => {
            tx.prepare_cached(
                "INSERT INTO roles (id, org_id, name, name_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute((e.role.to_string(), e.org.to_string(), &e.name, name_key(&e.name), at))?;
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
    }
    Ok(())
}
