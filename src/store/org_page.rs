//! An organization one page of people at a time: what a screen shows of an organization that
//! may hold ten thousand people.
//!
//! [`Store::organization_tree`] reads every person of an organization, with their units and
//! roles; that is what `org show` prints, and what a view must not do per page. Here:
//!
//! * [`Store::organization_list`]: every organization with its counts of units, people and
//!   roles, read from `org_counts` (migration 4; the read models add one in the transaction
//!   that adds a unit, person or role, and `verify --deep` checks them) rather than counted, so
//!   the list costs the same for a hundred people or a hundred thousand. It equals
//!   [`Store::organizations`], which counts rows.
//! * [`Store::organization_page`]: one organization's summary (its `people` count is the
//!   page's total), its units and roles whole (an organization has a handful), and one window
//!   of its people ordered by name then id — the order of `organization_tree` — each with
//!   their units and roles, in one query: the window is read from the covering
//!   `people_org_name` index (migration 4) and the memberships are looked up for the people of
//!   the window only. A first page costs the same whatever the size of the organization; a
//!   page further down also steps over `offset` index entries (never a person's row).
//! * Lookups by id for what a selection shows: [`Store::person`], [`Store::unit_members`],
//!   [`Store::role_holders`] and [`Store::nats_user_by_person`], each through an index.

use rusqlite::{OptionalExtension, Row};
use serde::Serialize;

use super::{NatsUserRow, OrgSummary, PersonRow, RoleRow, Store, StoreError, UnitRow};

/// Which people of an organization: `limit` of them from position `offset` (0-based) in name
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeopleWindow {
    /// Position of the first person.
    pub offset: u64,
    /// At most this many people.
    pub limit: u64,
}

/// An organization with its units and roles, and one window of its people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgPage {
    /// The organization, with its counts (`people` is the total the window is taken from).
    pub organization: OrgSummary,
    /// Every unit, ordered by name.
    pub units: Vec<UnitRow>,
    /// Every role, ordered by name.
    pub roles: Vec<RoleRow>,
    /// Position of `people[0]` among all the organization's people.
    pub offset: u64,
    /// The people of the window, ordered by name then id, each with their units and roles.
    pub people: Vec<PersonRow>,
}

impl OrgPage {
    /// How many people the organization has in all.
    pub fn total(&self) -> u64 {
        self.organization.people
    }
}

/// The people of one organization in name order, a window of them, each with their units and
/// roles (ids separated by spaces). The window is read from the covering
/// `people_org_name` index (no sort, no table row read for the people skipped), and the
/// memberships are looked up for the people of the window only.
const PEOPLE_SQL: &str = "SELECT p.id, p.name, p.email, \
     (SELECT group_concat(unit_id, ' ') FROM person_units WHERE person_id = p.id), \
     (SELECT group_concat(role_id, ' ') FROM role_assignments WHERE person_id = p.id) \
     FROM people p WHERE p.org_id = ?1 ORDER BY p.name, p.id LIMIT ?2 OFFSET ?3";

/// Ids separated by spaces (none for NULL), in id order (byte order, as SQLite's `ORDER BY`
/// sorts text).
fn ids(list: Option<String>) -> Vec<String> {
    let mut ids: Vec<String> = list.map(|l| l.split(' ').map(str::to_owned).collect()).unwrap_or_default();
    ids.sort_unstable();
    ids
}

/// Organizations with their kept counts, `WHERE` clause appended. (A missing counts row, which
/// only a hand editing the file could cause, reads as NULL and fails the read: the
/// organization is not silently left out.)
const SUMMARY_SQL: &str = "SELECT o.id, o.name, o.domain, c.units, c.people, c.roles \
     FROM organizations o LEFT JOIN org_counts c ON c.org_id = o.id ";

fn summary(r: &Row<'_>) -> rusqlite::Result<OrgSummary> {
    Ok(OrgSummary {
        id: r.get(0)?,
        name: r.get(1)?,
        domain: r.get(2)?,
        units: r.get::<_, i64>(3)? as u64,
        people: r.get::<_, i64>(4)? as u64,
        roles: r.get::<_, i64>(5)? as u64,
    })
}

/// `u64` → SQLite integer, saturating (SQLite's integers are signed).
fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Every organization, by name, with its counts (kept, not counted).
    pub fn organization_list(&self) -> Result<Vec<OrgSummary>, StoreError> {
        let mut stmt = self.conn().prepare_cached(&format!("{SUMMARY_SQL} ORDER BY o.name_key, o.id"))?;
        Ok(stmt.query_map([], summary)?.collect::<Result<_, _>>()?)
    }

    /// One organization with its units and roles and the `window` of its people; `None` if
    /// there is no such organization. A window past the end gives no people (the counts say
    /// how many there are).
    pub fn organization_page(&self, org: &str, window: PeopleWindow) -> Result<Option<OrgPage>, StoreError> {
        let conn = self.conn();
        let organization =
            conn.prepare_cached(&format!("{SUMMARY_SQL} WHERE o.id = ?1"))?.query_row([org], summary).optional()?;
        let Some(organization) = organization else { return Ok(None) };
        let units = conn
            .prepare_cached("SELECT id, parent_id, name FROM units WHERE org_id = ?1 ORDER BY name_key, id")?
            .query_map([org], |r| Ok(UnitRow { id: r.get(0)?, parent: r.get(1)?, name: r.get(2)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        let roles = conn
            .prepare_cached("SELECT id, name FROM roles WHERE org_id = ?1 ORDER BY name_key, id")?
            .query_map([org], |r| Ok(RoleRow { id: r.get(0)?, name: r.get(1)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        let people = conn
            .prepare_cached(PEOPLE_SQL)?
            .query_map((org, sql_int(window.limit), sql_int(window.offset)), |r| {
                Ok(PersonRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    email: r.get(2)?,
                    units: ids(r.get(3)?),
                    roles: ids(r.get(4)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(OrgPage { organization, units, roles, offset: window.offset, people }))
    }

    /// For `verify --deep`: the first organization whose kept counts differ from its rows.
    pub(super) fn count_difference(&self) -> Result<Option<String>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT o.id, c.units, c.people, c.roles, \
             (SELECT count(*) FROM units u WHERE u.org_id = o.id), \
             (SELECT count(*) FROM people p WHERE p.org_id = o.id), \
             (SELECT count(*) FROM roles r WHERE r.org_id = o.id) \
             FROM organizations o LEFT JOIN org_counts c ON c.org_id = o.id ORDER BY o.id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let org: String = row.get(0)?;
            for (i, what) in [(1, "units"), (2, "people"), (3, "roles")] {
                let kept: Option<i64> = row.get(i)?;
                let counted: i64 = row.get(i + 3)?;
                match kept {
                    None => return Ok(Some(format!("organization {org} has no kept counts"))),
                    Some(kept) if kept != counted => {
                        return Ok(Some(format!(
                            "organization {org}'s kept count of {what} is {kept}, but it has {counted}"
                        )));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(None)
    }

    /// Fills in a person's units and roles (ordered by id, as `organization_tree` does).
    fn memberships(&self, person: &mut PersonRow) -> Result<(), StoreError> {
        let conn = self.conn();
        person.units = conn
            .prepare_cached("SELECT unit_id FROM person_units WHERE person_id = ?1 ORDER BY unit_id")?
            .query_map([&person.id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        person.roles = conn
            .prepare_cached("SELECT role_id FROM role_assignments WHERE person_id = ?1 ORDER BY role_id")?
            .query_map([&person.id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(())
    }

    /// One person by id, with their units and roles.
    pub fn person(&self, id: &str) -> Result<Option<PersonRow>, StoreError> {
        let row = self
            .conn()
            .prepare_cached("SELECT id, name, email FROM people WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(PersonRow { id: r.get(0)?, name: r.get(1)?, email: r.get(2)?, units: vec![], roles: vec![] })
            })
            .optional()?;
        let Some(mut person) = row else { return Ok(None) };
        self.memberships(&mut person)?;
        Ok(Some(person))
    }

    /// How many people are members of a unit (through the `person_units_unit` index).
    pub fn unit_members(&self, unit: &str) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM person_units WHERE unit_id = ?1")?
            .query_row([unit], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// How many people hold a role (through the `role_assignments_role` index).
    pub fn role_holders(&self, role: &str) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM role_assignments WHERE role_id = ?1")?
            .query_row([role], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// A person's NATS user, if their organization is bootstrapped for NATS.
    pub fn nats_user_by_person(&self, person: &str) -> Result<Option<NatsUserRow>, StoreError> {
        let id: Option<String> = self
            .conn()
            .prepare_cached("SELECT id FROM nats_users WHERE person_id = ?1")?
            .query_row([person], |r| r.get(0))
            .optional()?;
        match id {
            Some(id) => self.nats_user(&id),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::PEOPLE_SQL;
    use crate::store::schema::MIGRATIONS;

    /// The query plan of `sql` on an empty database with every migration applied.
    fn plan(sql: &str) -> String {
        let conn = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS {
            conn.execute_batch(migration).unwrap();
        }
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map(("org", 100, 0), |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    }

    #[test]
    fn a_page_of_people_is_read_from_the_name_index_without_sorting() {
        let plan = plan(PEOPLE_SQL);
        assert!(plan.contains("COVERING INDEX people_org_name"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "a page sorts the whole organization: {plan}");
        assert!(!plan.contains("SCAN person_units") && !plan.contains("SCAN role_assignments"), "{plan}");
    }

    #[test]
    fn the_migration_counts_what_is_there_and_counts_again_when_run_again() {
        let conn = Connection::open_in_memory().unwrap();
        for migration in &MIGRATIONS[..3] {
            conn.execute_batch(migration).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO aggregates (id, kind, org_id, version) VALUES ('o', 'organization', 'o', 1), \
                 ('u', 'unit', 'o', 1), ('p', 'person', 'o', 1), ('q', 'person', 'o', 1), ('r', 'role', 'o', 1); \
             INSERT INTO organizations (id, name, name_key, created_at) VALUES ('o', 'O', 'o', 't'); \
             INSERT INTO units (id, org_id, name, name_key, created_at) VALUES ('u', 'o', 'U', 'u', 't'); \
             INSERT INTO people (id, org_id, name, email, email_key, created_at) VALUES \
                 ('p', 'o', 'P', 'p@x', 'p@x', 't'), ('q', 'o', 'Q', 'q@x', 'q@x', 't'); \
             INSERT INTO roles (id, org_id, name, name_key, created_at) VALUES ('r', 'o', 'R', 'r', 't');",
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[3]).unwrap();
        let counts = || -> (i64, i64, i64) {
            conn.query_row("SELECT units, people, roles FROM org_counts WHERE org_id = 'o'", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap()
        };
        assert_eq!(counts(), (1, 2, 1));
        // Run again on a file rolled back to an older version: counted again, not added to.
        conn.execute_batch("DELETE FROM people WHERE id = 'q'; DELETE FROM roles;").unwrap();
        conn.execute_batch(MIGRATIONS[3]).unwrap();
        assert_eq!(counts(), (1, 1, 0));
    }
}
