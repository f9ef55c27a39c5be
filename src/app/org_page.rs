//! An organization a page of people at a time, and the lookups a selection needs: the calls
//! the GUI's Organization screen makes so that what it loads does not grow with the
//! organization (see `store::org_page`).
//!
//! [`Vault::organization_list`] is [`Vault::organizations`] with counts the store keeps instead
//! of counting; [`Vault::organization_page`] is [`Vault::organization_tree`] with the people cut
//! to one page; the others answer one question about one unit, role or person through an index.

use crate::domain::{DomainError, OrgId, PersonId, RoleId, UnitId};
use crate::store::{NatsUserRow, OrgPage, OrgSummary, PeopleWindow, PersonRow};

use super::{AppError, Vault};

fn rejected(error: DomainError) -> AppError {
    AppError::Rejected { index: None, error }
}

impl Vault {
    /// All organizations, by name, with their counts: [`Vault::organizations`] without
    /// counting rows (the store keeps the counts).
    pub fn organization_list(&self) -> Result<Vec<OrgSummary>, AppError> {
        Ok(self.store.organization_list()?)
    }

    /// One organization's units and roles and `window` of its people (ordered by name, then
    /// id: the order of [`Vault::organization_tree`]).
    pub fn organization_page(&self, org: OrgId, window: PeopleWindow) -> Result<OrgPage, AppError> {
        self.store.organization_page(&org.to_string(), window)?.ok_or(rejected(DomainError::UnknownOrganization(org)))
    }

    /// One person, with their units and roles.
    pub fn person(&self, person: PersonId) -> Result<PersonRow, AppError> {
        self.store.person(&person.to_string())?.ok_or(rejected(DomainError::UnknownPerson(person)))
    }

    /// How many people are members of a unit.
    pub fn unit_members(&self, unit: UnitId) -> Result<u64, AppError> {
        Ok(self.store.unit_members(&unit.to_string())?)
    }

    /// How many people hold a role.
    pub fn role_holders(&self, role: RoleId) -> Result<u64, AppError> {
        Ok(self.store.role_holders(&role.to_string())?)
    }

    /// A person's NATS user; none if their organization is not bootstrapped for NATS.
    pub fn person_nats_user(&self, person: PersonId) -> Result<Option<NatsUserRow>, AppError> {
        Ok(self.store.nats_user_by_person(&person.to_string())?)
    }
}

#[cfg(test)]
mod tests {
    use crate::app::{Vault, new_id};
    use crate::crypto::keystore::{KdfParams, Passphrase};
    use crate::domain::{Command, OrgId, PersonId, RoleId, UnitId};
    use crate::store::PeopleWindow;

    /// A vault with one organization, two units, two roles and `people` people (names in
    /// reverse order of their creation, so the page order is not the insertion order), the
    /// first of them in both units and holding both roles (the ones returned, and the others).
    fn vault(people: usize) -> (tempfile::TempDir, Vault, OrgId, UnitId, RoleId, Vec<PersonId>) {
        let dir = tempfile::tempdir().unwrap();
        let passphrase = Passphrase::new("org page test passphrase".into()).unwrap();
        let mut vault = Vault::init_with_kdf(&dir.path().join("vault"), &passphrase, KdfParams::MINIMUM).unwrap();
        let org = OrgId::from_uuid(new_id());
        let unit = UnitId::from_uuid(new_id());
        let role = RoleId::from_uuid(new_id());
        let ids: Vec<PersonId> = (0..people).map(|_| PersonId::from_uuid(new_id())).collect();
        let (unit2, role2) = (UnitId::from_uuid(new_id()), RoleId::from_uuid(new_id()));
        let mut commands = vec![
            Command::CreateOrganization { id: org, name: "Acme".into(), domain: None },
            Command::CreateUnit { id: unit, org, parent: None, name: "Ops".into() },
            Command::CreateUnit { id: unit2, org, parent: None, name: "Dev".into() },
            Command::DefineRole { id: role, org, name: "Operator".into() },
            Command::DefineRole { id: role2, org, name: "Auditor".into() },
        ];
        commands.extend(ids.iter().enumerate().map(|(i, &id)| Command::AddPerson {
            id,
            org,
            name: format!("Person {:03}", people - i),
            email: format!("p{i}@acme.example"),
            units: if i == 0 { vec![unit2, unit] } else { vec![] },
        }));
        commands.push(Command::AssignRole { role: role2, person: ids[0], expected_version: None });
        commands.push(Command::AssignRole { role, person: ids[0], expected_version: None });
        vault.execute_all(commands).unwrap();
        (dir, vault, org, unit, role, ids)
    }

    #[test]
    fn pages_cut_the_tree_s_people_into_windows_in_the_same_order() {
        let (_dir, vault, org, ..) = vault(25);
        let tree = vault.organization_tree(org).unwrap();
        assert_eq!(vault.organization_list().unwrap(), vault.organizations().unwrap(), "kept counts = counted rows");
        let mut paged = Vec::new();
        for offset in (0..30).step_by(10) {
            let page = vault.organization_page(org, PeopleWindow { offset, limit: 10 }).unwrap();
            assert_eq!(page.total(), 25);
            assert_eq!(page.offset, offset);
            assert_eq!((&page.organization, &page.units, &page.roles), (&tree.organization, &tree.units, &tree.roles));
            assert!(page.people.len() <= 10);
            paged.extend(page.people);
        }
        assert_eq!(paged, tree.people, "the pages, one after the other, are the tree's people with their memberships");
        assert_eq!(paged[0].name, "Person 001");
        let past = vault.organization_page(org, PeopleWindow { offset: 100, limit: 10 }).unwrap();
        assert!(past.people.is_empty());
        assert_eq!(past.total(), 25);
    }

    #[test]
    fn lookups_by_id_answer_what_a_selection_shows() {
        let (_dir, vault, org, unit, role, ids) = vault(3);
        let tree = vault.organization_tree(org).unwrap();
        let first = vault.person(ids[0]).unwrap();
        assert_eq!(Some(&first), tree.people.iter().find(|p| p.id == ids[0].to_string()));
        assert_eq!((first.units.len(), first.roles.len()), (2, 2));
        assert_eq!(vault.unit_members(unit).unwrap(), 1);
        assert_eq!(vault.role_holders(role).unwrap(), 1);
        assert_eq!(vault.person_nats_user(ids[0]).unwrap(), None, "not bootstrapped for NATS");
        let unknown = PersonId::from_uuid(new_id());
        assert_eq!(vault.person_nats_user(unknown).unwrap(), None);
        assert!(vault.person(unknown).unwrap_err().to_string().contains(&unknown.to_string()));
        assert!(vault.organization_page(OrgId::from_uuid(new_id()), PeopleWindow { offset: 0, limit: 1 }).is_err());
    }

    #[test]
    fn verify_deep_checks_the_kept_counts() {
        let (_dir, vault, org, ..) = vault(3);
        assert!(vault.verify(true).unwrap().ok());
        let conn = rusqlite::Connection::open(vault.store().path()).unwrap();
        conn.execute("UPDATE org_counts SET people = 7 WHERE org_id = ?1", [org.to_string()]).unwrap();
        let report = vault.verify(true).unwrap();
        let problem = report.problem.expect("a problem");
        assert!(problem.reason.contains("kept count of people is 7, but it has 3"), "{problem}");
        assert!(vault.verify(false).unwrap().ok(), "a plain verify checks the chain only");
    }

    #[test]
    fn a_person_of_a_bootstrapped_organization_has_their_nats_user() {
        let (_dir, mut vault, org, _, _, ids) = vault(2);
        vault.nats_bootstrap(org, &Passphrase::new("org page test passphrase".into()).unwrap()).unwrap();
        let users = vault.nats_list(org).unwrap().users;
        for id in ids {
            let user = vault.person_nats_user(id).unwrap().expect("a NATS user");
            assert_eq!(Some(&user), users.iter().find(|u| u.person_id == id.to_string()));
        }
    }
}
