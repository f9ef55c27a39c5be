//! Read-only queries: status, event listings, organizations. All of them read indexed rows or
//! the one-row `vault` table; none replays the log.

use std::collections::{BTreeMap, BTreeSet};

use cid::Cid;
use rusqlite::OptionalExtension;
use serde::Serialize;

use super::tx::{cid_from_sql, flag};
use super::{Store, StoreError};
use crate::domain::{
    Ca, Certificate, CertificateFacts, Key, NatsAccount, NatsOperator, NatsOwner, NatsSigningKey, NatsUser,
    Organization, Person, RetiredNatsKey, Role, State, Timestamp, Unit,
};

/// Counts and the head of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Vault id.
    pub vault_id: uuid::Uuid,
    /// Device id.
    pub device_id: String,
    /// Domain events recorded.
    pub domain_events: u64,
    /// Graph events recorded.
    pub graph_events: u64,
    /// Graph events not yet uploaded.
    pub pending: u64,
    /// Graph events uploaded.
    pub uploaded: u64,
    /// CID of the last graph event (none for an empty vault).
    #[serde(serialize_with = "crate::projection::cid_text::serialize_opt")]
    pub head: Option<Cid>,
}

/// A page of the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events with a sequence number above this.
    pub after: Option<u64>,
    /// At most this many.
    pub limit: Option<u64>,
}

/// One graph event of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphEventRow {
    /// Position in the chain (1-based).
    pub seq: u64,
    /// Graph event id.
    pub id: String,
    /// Graph event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The domain event it was lifted from (its type).
    pub domain_type: String,
    /// The domain event's aggregate.
    pub aggregate: String,
    /// When.
    pub occurred_at: String,
    /// CID of the block.
    #[serde(serialize_with = "crate::projection::cid_text::serialize")]
    pub cid: Cid,
}

/// One domain event of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainEventRow {
    /// Position (1-based).
    pub seq: u64,
    /// Event id.
    pub id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Aggregate kind.
    pub aggregate_type: String,
    /// Aggregate id.
    pub aggregate: String,
    /// The aggregate's version after the event.
    pub version: u64,
    /// When.
    pub occurred_at: String,
    /// Correlation id.
    pub correlation: String,
    /// Causation (command) id.
    pub causation: String,
    /// CID of the block.
    #[serde(serialize_with = "crate::projection::cid_text::serialize")]
    pub cid: Cid,
}

/// An organization in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Domain.
    pub domain: Option<String>,
    /// Number of units.
    pub units: u64,
    /// Number of people.
    pub people: u64,
    /// Number of roles.
    pub roles: u64,
}

/// A unit in an organization's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitRow {
    /// Id.
    pub id: String,
    /// Parent unit id.
    pub parent: Option<String>,
    /// Name.
    pub name: String,
}

/// A person in an organization's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Unit ids.
    pub units: Vec<String>,
    /// Role ids.
    pub roles: Vec<String>,
}

/// A role in an organization's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A key in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRow {
    /// Id.
    pub id: String,
    /// Owner's id.
    pub owner: String,
    /// Owner's name.
    pub owner_name: String,
    /// Owner's e-mail.
    pub owner_email: String,
    /// Algorithm.
    pub algorithm: String,
    /// OpenSSH public key (without comment).
    pub public_key: String,
    /// `SHA256:` fingerprint.
    pub fingerprint: String,
    /// `active` or `revoked`.
    pub status: &'static str,
    /// Why it was revoked.
    pub revoked_reason: Option<String>,
    /// When it was generated.
    pub created_at: String,
}

/// A CA or certificate in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PkiRow {
    /// Id.
    pub id: String,
    /// `root`, `intermediate`, `server` or `client`.
    pub kind: String,
    /// Subject (RFC 4514).
    pub subject: String,
    /// Serial, upper-case hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
    /// SHA-256 fingerprint.
    pub fingerprint: String,
    /// CID of the certificate block.
    pub certificate: String,
    /// Subject alternative names (leaves).
    pub names: Vec<String>,
    /// The issuing CA (none for a root).
    pub issuer: Option<String>,
}

/// An intermediate CA's restore data: id, common name, organization, serial, not before, not
/// after.
pub type IntermediateRow = (String, String, Option<String>, String, String, String);

fn pki_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PkiRow> {
    let names: Option<String> = r.get(8)?;
    Ok(PkiRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        subject: r.get(2)?,
        serial: r.get(3)?,
        not_before: r.get(4)?,
        not_after: r.get(5)?,
        fingerprint: r.get(6)?,
        certificate: r.get(7)?,
        names: names.and_then(|n| serde_json::from_str(&n).ok()).unwrap_or_default(),
        issuer: r.get(9)?,
    })
}

/// An organization with its units, people and roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgTree {
    /// The organization.
    pub organization: OrgSummary,
    /// Units, ordered by name.
    pub units: Vec<UnitRow>,
    /// People, ordered by name.
    pub people: Vec<PersonRow>,
    /// Roles, ordered by name.
    pub roles: Vec<RoleRow>,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("a stored {what} is malformed"))
}

impl Store {
    /// Counts and head, from the one-row `vault` table.
    pub fn status(&self) -> Result<Status, StoreError> {
        let (head, domain, graph, pending, uploaded): (Option<Vec<u8>>, i64, i64, i64, i64) = self.conn().query_row(
            "SELECT head_cid, domain_events, graph_events, pending, uploaded FROM vault WHERE singleton = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        Ok(Status {
            vault_id: self.identity.vault_id,
            device_id: self.identity.device_id.to_string(),
            domain_events: domain as u64,
            graph_events: graph as u64,
            pending: pending as u64,
            uploaded: uploaded as u64,
            head: cid_from_sql(head)?,
        })
    }

    /// A page of graph events, in chain order.
    pub fn graph_events(&self, query: EventQuery) -> Result<Vec<GraphEventRow>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT g.seq, g.event_id, g.event_type, d.event_type, d.aggregate_id, d.occurred_at, g.cid \
             FROM graph_events g JOIN domain_events d ON d.seq = g.domain_seq \
             WHERE g.seq > ?1 ORDER BY g.seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(page(query), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get::<_, Vec<u8>>(6)?))
        })?;
        rows.map(|row| {
            let (seq, id, event_type, domain_type, aggregate, occurred_at, cid): (i64, _, _, _, _, _, _) = row?;
            Ok(GraphEventRow {
                seq: seq as u64,
                id,
                event_type,
                domain_type,
                aggregate,
                occurred_at,
                cid: Cid::try_from(cid.as_slice()).map_err(|_| corrupt("CID"))?,
            })
        })
        .collect()
    }

    /// A page of domain events, in order.
    pub fn domain_events(&self, query: EventQuery) -> Result<Vec<DomainEventRow>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq, event_id, event_type, aggregate_type, aggregate_id, version, occurred_at, correlation_id, \
             causation_id, cid FROM domain_events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(page(query), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, i64>(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get::<_, Vec<u8>>(9)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, id, event_type, aggregate_type, aggregate, version, occurred_at, correlation, causation, cid) =
                row?;
            Ok(DomainEventRow {
                seq: seq as u64,
                id,
                event_type,
                aggregate_type,
                aggregate,
                version: version as u64,
                occurred_at,
                correlation,
                causation,
                cid: Cid::try_from(cid.as_slice()).map_err(|_| corrupt("CID"))?,
            })
        })
        .collect()
    }

    /// All organizations, by name, with counts.
    pub fn organizations(&self) -> Result<Vec<OrgSummary>, StoreError> {
        self.org_summaries(None)
    }

    fn org_summaries(&self, only: Option<&str>) -> Result<Vec<OrgSummary>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT o.id, o.name, o.domain, \
             (SELECT count(*) FROM units u WHERE u.org_id = o.id), \
             (SELECT count(*) FROM people p WHERE p.org_id = o.id), \
             (SELECT count(*) FROM roles r WHERE r.org_id = o.id) \
             FROM organizations o WHERE ?1 IS NULL OR o.id = ?1 ORDER BY o.name_key, o.id",
        )?;
        let rows = stmt.query_map([only], |r| {
            Ok(OrgSummary {
                id: r.get(0)?,
                name: r.get(1)?,
                domain: r.get(2)?,
                units: r.get::<_, i64>(3)? as u64,
                people: r.get::<_, i64>(4)? as u64,
                roles: r.get::<_, i64>(5)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One organization with everything in it; `None` if there is no such organization.
    pub fn organization_tree(&self, org: &str) -> Result<Option<OrgTree>, StoreError> {
        let Some(organization) = self.org_summaries(Some(org))?.into_iter().next() else { return Ok(None) };
        let conn = self.conn();
        let units = conn
            .prepare_cached("SELECT id, parent_id, name FROM units WHERE org_id = ?1 ORDER BY name_key, id")?
            .query_map([org], |r| Ok(UnitRow { id: r.get(0)?, parent: r.get(1)?, name: r.get(2)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        let roles = conn
            .prepare_cached("SELECT id, name FROM roles WHERE org_id = ?1 ORDER BY name_key, id")?
            .query_map([org], |r| Ok(RoleRow { id: r.get(0)?, name: r.get(1)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut people = conn
            .prepare_cached("SELECT id, name, email FROM people WHERE org_id = ?1 ORDER BY name, id")?
            .query_map([org], |r| {
                Ok(PersonRow { id: r.get(0)?, name: r.get(1)?, email: r.get(2)?, units: vec![], roles: vec![] })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut member =
            conn.prepare_cached("SELECT unit_id FROM person_units WHERE person_id = ?1 ORDER BY unit_id")?;
        let mut holds =
            conn.prepare_cached("SELECT role_id FROM role_assignments WHERE person_id = ?1 ORDER BY role_id")?;
        for person in &mut people {
            person.units = member.query_map([&person.id], |r| r.get(0))?.collect::<Result<_, _>>()?;
            person.roles = holds.query_map([&person.id], |r| r.get(0))?.collect::<Result<_, _>>()?;
        }
        Ok(Some(OrgTree { organization, units, people, roles }))
    }

    /// Keys, of one owner or of everyone, ordered by owner name and creation.
    pub fn keys(&self, owner: Option<&str>) -> Result<Vec<KeyRow>, StoreError> {
        self.select_keys(owner, None)
    }

    /// One key by id.
    pub fn key(&self, id: &str) -> Result<Option<KeyRow>, StoreError> {
        Ok(self.select_keys(None, Some(id))?.into_iter().next())
    }

    fn select_keys(&self, owner: Option<&str>, id: Option<&str>) -> Result<Vec<KeyRow>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT k.id, k.owner_id, p.name, p.email, k.algorithm, k.public_key, k.fingerprint, k.revoked, k.created_at \
             FROM keys k JOIN people p ON p.id = k.owner_id \
             WHERE (?1 IS NULL OR k.owner_id = ?1) AND (?2 IS NULL OR k.id = ?2) \
             ORDER BY p.name, k.created_at, k.id",
        )?;
        let rows = stmt.query_map([owner, id], |r| {
            let revoked: Option<String> = r.get(7)?;
            Ok(KeyRow {
                id: r.get(0)?,
                owner: r.get(1)?,
                owner_name: r.get(2)?,
                owner_email: r.get(3)?,
                algorithm: r.get(4)?,
                public_key: r.get(5)?,
                fingerprint: r.get(6)?,
                status: if revoked.is_some() { "revoked" } else { "active" },
                revoked_reason: revoked,
                created_at: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The CAs and certificates of an organization: (CAs, root first; certificates, newest last).
    pub fn pki(&self, org: &str) -> Result<(Vec<PkiRow>, Vec<PkiRow>), StoreError> {
        let conn = self.conn();
        let cas = conn
            .prepare_cached(
                "SELECT id, level, subject, serial, not_before, not_after, fingerprint, certificate, NULL, issuer_id \
                 FROM cas WHERE org_id = ?1 ORDER BY level = 'intermediate', created_at, id",
            )?
            .query_map([org], pki_row)?
            .collect::<Result<Vec<_>, _>>()?;
        let certificates = conn
            .prepare_cached(
                "SELECT id, profile, subject, serial, not_before, not_after, fingerprint, certificate, names, ca_id \
                 FROM certificates WHERE org_id = ?1 ORDER BY created_at, id",
            )?
            .query_map([org], pki_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((cas, certificates))
    }

    /// A CA's or certificate's row by id.
    pub fn pki_entry(&self, id: &str) -> Result<Option<PkiRow>, StoreError> {
        let conn = self.conn();
        let ca = conn
            .prepare_cached(
                "SELECT id, level, subject, serial, not_before, not_after, fingerprint, certificate, NULL, issuer_id \
                 FROM cas WHERE id = ?1",
            )?
            .query_row([id], pki_row)
            .optional()?;
        if ca.is_some() {
            return Ok(ca);
        }
        Ok(conn
            .prepare_cached(
                "SELECT id, profile, subject, serial, not_before, not_after, fingerprint, certificate, names, ca_id \
                 FROM certificates WHERE id = ?1",
            )?
            .query_row([id], pki_row)
            .optional()?)
    }

    /// The restore data of an organization's intermediate CA: (id, common name, organization,
    /// serial, not before, not after).
    pub fn intermediate_ca(&self, org: &str) -> Result<Option<IntermediateRow>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT id, common_name, organization, serial, not_before, not_after FROM cas \
                 WHERE org_id = ?1 AND level = 'intermediate' ORDER BY created_at DESC LIMIT 1",
            )?
            .query_row([org], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .optional()?)
    }

    /// A public artifact block by CID.
    pub fn artifact(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT bytes FROM artifacts WHERE cid = ?1")?
            .query_row([cid.to_bytes()], |r| {
                // Whatever SQL type a tampering hand gave it: the CID check will tell.
                Ok(match r.get_ref(0)? {
                    rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => b.to_vec(),
                    _ => Vec::new(),
                })
            })
            .optional()?)
    }

    /// The whole domain state read from the read models (for checks and tests; the vault never
    /// needs it to run a command).
    pub fn read_state(&self) -> Result<State, StoreError> {
        let mut state = State::default();
        let conn = self.conn();
        let version = |id: &str| -> Result<u64, StoreError> {
            let v: Option<i64> =
                conn.query_row("SELECT version FROM aggregates WHERE id = ?1", [id], |r| r.get(0)).optional()?;
            v.map(|v| v as u64).ok_or_else(|| corrupt("aggregate version"))
        };
        for row in conn
            .prepare("SELECT id, name, domain FROM organizations")?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?
        {
            let (id, name, domain) = row?;
            state.organizations.insert(parse(&id)?, Organization { name, domain, version: version(&id)? });
        }
        for row in conn.prepare("SELECT id, org_id, parent_id, name FROM units")?.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get(3)?))
        })? {
            let (id, org, parent, name) = row?;
            let parent = parent.map(|p| parse(&p)).transpose()?;
            state.units.insert(parse(&id)?, Unit { org: parse(&org)?, parent, name, version: version(&id)? });
        }
        for row in conn
            .prepare("SELECT id, org_id, name, email FROM people")?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?)))?
        {
            let (id, org, name, email) = row?;
            state.people.insert(
                parse(&id)?,
                Person {
                    org: parse(&org)?,
                    name,
                    email,
                    units: BTreeSet::new(),
                    roles: BTreeSet::new(),
                    version: version(&id)?,
                },
            );
        }
        for row in conn
            .prepare("SELECT person_id, unit_id FROM person_units")?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        {
            let (person, unit) = row?;
            if let Some(p) = state.people.get_mut(&parse(&person)?) {
                p.units.insert(parse(&unit)?);
            }
        }
        for row in conn
            .prepare("SELECT person_id, role_id FROM role_assignments")?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        {
            let (person, role) = row?;
            if let Some(p) = state.people.get_mut(&parse(&person)?) {
                p.roles.insert(parse(&role)?);
            }
        }
        for row in conn
            .prepare("SELECT id, org_id, name FROM roles")?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?)))?
        {
            let (id, org, name) = row?;
            state.roles.insert(parse(&id)?, Role { org: parse(&org)?, name, version: version(&id)? });
        }
        for row in conn
            .prepare("SELECT id, org_id, owner_id, algorithm, public_key, fingerprint, revoked FROM keys")?
            .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })? {
            let (id, org, owner, algorithm, public_key, fingerprint, revoked) = row?;
            let key = Key {
                org: parse(&org)?,
                owner: parse(&owner)?,
                algorithm,
                public_key,
                fingerprint,
                revoked,
                version: version(&id)?,
            };
            state.keys.insert(parse(&id)?, key);
        }
        let facts = |r: &rusqlite::Row<'_>, at: usize| -> rusqlite::Result<(CertificateFactsRow, String)> {
            Ok((
                (
                    r.get(at)?,
                    r.get(at + 1)?,
                    r.get(at + 2)?,
                    r.get(at + 3)?,
                    r.get(at + 4)?,
                    r.get(at + 5)?,
                    r.get(at + 6)?,
                ),
                r.get(at + 7)?,
            ))
        };
        let to_facts = |(row, certificate): (CertificateFactsRow, String)| -> Result<CertificateFacts, StoreError> {
            let (subject, common_name, organization, serial, not_before, not_after, fingerprint) = row;
            Ok(CertificateFacts {
                subject,
                common_name,
                organization,
                serial,
                not_before: Timestamp::parse(&not_before).ok_or_else(|| corrupt("certificate validity"))?,
                not_after: Timestamp::parse(&not_after).ok_or_else(|| corrupt("certificate validity"))?,
                fingerprint,
                certificate,
            })
        };
        let mut stmt = conn.prepare(
            "SELECT id, org_id, level, issuer_id, subject, common_name, organization, serial, not_before, not_after, \
             fingerprint, certificate FROM cas",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                facts(r, 4)?,
            ))
        })?;
        for row in rows {
            let (id, org, level, issuer, f) = row?;
            let ca = Ca {
                org: parse(&org)?,
                level,
                issuer: issuer.map(|i| parse(&i)).transpose()?,
                facts: to_facts(f)?,
                version: version(&id)?,
            };
            state.cas.insert(parse(&id)?, ca);
        }
        let mut stmt = conn.prepare(
            "SELECT id, org_id, ca_id, profile, names, subject, common_name, organization, serial, not_before, \
             not_after, fingerprint, certificate FROM certificates",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                facts(r, 5)?,
            ))
        })?;
        for row in rows {
            let (id, org, ca, profile, names, f) = row?;
            let certificate = Certificate {
                org: parse(&org)?,
                ca: parse(&ca)?,
                profile,
                names: serde_json::from_str(&names).map_err(|_| corrupt("certificate names"))?,
                facts: to_facts(f)?,
                version: version(&id)?,
            };
            state.certificates.insert(parse(&id)?, certificate);
        }
        self.read_nats_state(&mut state, &version)?;
        Ok(state)
    }

    /// The NATS part of [`Store::read_state`].
    fn read_nats_state(
        &self,
        state: &mut State,
        version: &dyn Fn(&str) -> Result<u64, StoreError>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        // Every signing key, current and retired, by owner in position order.
        let mut current: BTreeMap<String, Vec<NatsSigningKey>> = BTreeMap::new();
        let mut stmt = conn.prepare(
            "SELECT public_key, org_id, owner_kind, owner_id, role, retired FROM nats_signing_keys \
             ORDER BY owner_id, position",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        for row in rows {
            let (public_key, org, owner_kind, owner_id, role, retired) = row?;
            if flag(retired).ok_or_else(|| corrupt("NATS signing key"))? {
                let owner = match owner_kind.as_str() {
                    "operator" => NatsOwner::Operator(parse(&owner_id)?),
                    "account" => NatsOwner::Account(parse(&owner_id)?),
                    _ => return Err(corrupt("NATS signing key owner")),
                };
                state.retired_nats_keys.insert(public_key, RetiredNatsKey { org: parse(&org)?, owner, role });
            } else {
                current.entry(owner_id).or_default().push(NatsSigningKey { public_key, role });
            }
        }
        let mut keys_of = |id: &str| current.remove(id).unwrap_or_default();
        let mut stmt = conn.prepare("SELECT id, org_id, name, public_key, system_account, jwt FROM nats_operators")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })?;
        for row in rows {
            let (id, org, name, public_key, system_account, jwt) = row?;
            let operator = NatsOperator {
                org: parse(&org)?,
                name,
                public_key,
                signing_keys: keys_of(&id).into_iter().map(|k| k.public_key).collect(),
                system_account,
                jwt,
                version: version(&id)?,
            };
            state.nats_operators.insert(parse(&id)?, operator);
        }
        let mut stmt = conn.prepare(
            "SELECT id, org_id, operator_id, unit_id, system, name, public_key, jetstream, jwt FROM nats_accounts",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get::<_, i64>(7)?,
                r.get(8)?,
            ))
        })?;
        for row in rows {
            let (id, org, operator, unit, system, name, public_key, jetstream, jwt) = row?;
            let account = NatsAccount {
                org: parse(&org)?,
                operator: parse(&operator)?,
                unit: unit.map(|u| parse(&u)).transpose()?,
                system: flag(system).ok_or_else(|| corrupt("NATS account"))?,
                name,
                public_key,
                signing_keys: keys_of(&id),
                jetstream: flag(jetstream).ok_or_else(|| corrupt("NATS account"))?,
                jwt,
                version: version(&id)?,
            };
            state.nats_accounts.insert(parse(&id)?, account);
        }
        if let Some(owner) = current.keys().next() {
            return Err(StoreError::Corrupt(format!(
                "NATS signing keys belong to {owner}, which is no operator or account"
            )));
        }
        let mut stmt = conn.prepare(
            "SELECT id, org_id, account_id, person_id, name, public_key, signer, role, jwt, revoked_at FROM nats_users",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })?;
        for row in rows {
            let (id, org, account, person, name, public_key, signer, role, jwt, revoked_at) = row?;
            let user = NatsUser {
                org: parse(&org)?,
                account: parse(&account)?,
                person: parse(&person)?,
                name,
                public_key,
                signer,
                role,
                jwt,
                revoked_at,
                version: version(&id)?,
            };
            state.nats_users.insert(parse(&id)?, user);
        }
        Ok(())
    }
}

/// subject, common name, organization, serial, not before, not after, fingerprint.
type CertificateFactsRow = (String, String, Option<String>, String, String, String, String);

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, StoreError> {
    s.parse().map_err(|_| corrupt("id"))
}

fn page(query: EventQuery) -> (i64, i64) {
    let after = query.after.map_or(0, |a| i64::try_from(a).unwrap_or(i64::MAX));
    let limit = query.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    (after, limit)
}
