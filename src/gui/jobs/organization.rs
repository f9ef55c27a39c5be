//! The Organization screen's jobs: load the organizations and the current one's tree, create
//! organizations, units, people and roles, assign roles, and load a person's keys and NATS user.
//!
//! Every change reloads the tree in the same job, so the screen shows what the vault holds
//! after the change. New ids are drawn here ([`new_id`]), as the CLI does. Adding a unit or a
//! person to an organization bootstrapped for NATS issues its account or user in the same
//! transaction, which needs the passphrase ([`crate::app::Vault::execute_unlocked`]).

use std::sync::Arc;

use crate::app::{AppError, Vault, new_id};
use crate::domain::{Command, DomainError, OrgId, PersonId, RoleId, UnitId};
use crate::gui::{Ctx, GuiError, Job};
use crate::store::{KeyRow, NatsUserRow, OrgSummary, OrgTree};

/// What the screen asks for.
#[derive(Debug)]
pub enum Request {
    /// The organizations, and the tree of `org` (or of the only organization, if there is
    /// exactly one and none is given).
    Load {
        /// The organization to show.
        org: Option<OrgId>,
    },
    /// Create an organization (and show it).
    CreateOrganization {
        /// Its name.
        name: String,
        /// Its DNS domain; empty for none.
        domain: String,
    },
    /// Create a unit.
    CreateUnit {
        /// The organization.
        org: OrgId,
        /// The unit it is nested in, if any.
        parent: Option<UnitId>,
        /// Its name.
        name: String,
    },
    /// Add a person.
    AddPerson {
        /// The organization.
        org: OrgId,
        /// Their name.
        name: String,
        /// Their e-mail address.
        email: String,
        /// Their unit, if any.
        unit: Option<UnitId>,
    },
    /// Define a role.
    DefineRole {
        /// The organization.
        org: OrgId,
        /// Its name.
        name: String,
    },
    /// Give a person a role.
    AssignRole {
        /// The organization (to reload).
        org: OrgId,
        /// The role.
        role: RoleId,
        /// The person.
        person: PersonId,
    },
    /// A person's keys and NATS user.
    Person {
        /// Their organization.
        org: OrgId,
        /// The person.
        person: PersonId,
    },
}

/// The organizations and the tree of the one shown.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// All organizations, by name.
    pub organizations: Arc<Vec<OrgSummary>>,
    /// The tree of the organization shown, if any.
    pub tree: Option<Arc<OrgTree>>,
}

/// What a change made, for the confirmation line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An organization was created.
    Organization(String),
    /// A unit was created.
    Unit(String),
    /// A person was added.
    Person(String),
    /// A role was defined.
    Role(String),
    /// A role was assigned: role name, person name.
    Assigned(String, String),
}

/// A person's keys and NATS user.
#[derive(Debug, Clone)]
pub struct PersonDetails {
    /// The person.
    pub person: PersonId,
    /// Their keys.
    pub keys: Vec<KeyRow>,
    /// Their NATS user; none if the organization is not bootstrapped for NATS.
    pub nats: Option<NatsUserRow>,
}

/// What comes back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Loaded.
    Loaded(Snapshot),
    /// A change was recorded; the snapshot is the vault after it.
    Changed(Change, Snapshot),
    /// A person's details.
    Person(Arc<PersonDetails>),
}

fn snapshot(vault: &Vault, org: Option<OrgId>) -> Result<Snapshot, AppError> {
    let organizations = vault.organizations()?;
    let org = match org {
        Some(org) => Some(org),
        None if organizations.len() == 1 => Some(organizations[0].id.parse()?),
        None => None,
    };
    let tree = org.map(|org| vault.organization_tree(org)).transpose()?;
    Ok(Snapshot { organizations: Arc::new(organizations), tree: tree.map(Arc::new) })
}

fn changed(vault: &Vault, change: Change, org: OrgId) -> Result<Reply, GuiError> {
    Ok(Reply::Changed(change, snapshot(vault, Some(org))?))
}

fn name_of<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>, id: &str) -> String {
    items.into_iter().find(|(i, _)| *i == id).map(|(_, name)| name.to_owned()).unwrap_or_else(|| id.to_owned())
}

impl Job for Request {
    type Reply = Reply;

    fn run(self, ctx: Ctx<'_>) -> Result<Reply, GuiError> {
        let vault = ctx.vault;
        match self {
            Self::Load { org } => Ok(Reply::Loaded(snapshot(vault, org)?)),
            Self::CreateOrganization { name, domain } => {
                let id = OrgId::from_uuid(new_id());
                let domain = Some(domain.trim().to_owned()).filter(|d| !d.is_empty());
                vault.execute(Command::CreateOrganization { id, name: name.clone(), domain })?;
                changed(vault, Change::Organization(name.trim().to_owned()), id)
            }
            Self::CreateUnit { org, parent, name } => {
                let command = Command::CreateUnit { id: UnitId::from_uuid(new_id()), org, parent, name: name.clone() };
                vault.execute_unlocked(command, Some(ctx.passphrase))?;
                changed(vault, Change::Unit(name.trim().to_owned()), org)
            }
            Self::AddPerson { org, name, email, unit } => {
                let command = Command::AddPerson {
                    id: PersonId::from_uuid(new_id()),
                    org,
                    name: name.clone(),
                    email,
                    units: unit.into_iter().collect(),
                };
                vault.execute_unlocked(command, Some(ctx.passphrase))?;
                changed(vault, Change::Person(name.trim().to_owned()), org)
            }
            Self::DefineRole { org, name } => {
                vault.execute(Command::DefineRole { id: RoleId::from_uuid(new_id()), org, name: name.clone() })?;
                changed(vault, Change::Role(name.trim().to_owned()), org)
            }
            Self::AssignRole { org, role, person } => {
                vault.execute(Command::AssignRole { role, person, expected_version: None })?;
                let snapshot = snapshot(vault, Some(org))?;
                let (role_name, person_name) = match &snapshot.tree {
                    Some(tree) => (
                        name_of(tree.roles.iter().map(|r| (r.id.as_str(), r.name.as_str())), &role.to_string()),
                        name_of(tree.people.iter().map(|p| (p.id.as_str(), p.name.as_str())), &person.to_string()),
                    ),
                    None => (role.to_string(), person.to_string()),
                };
                Ok(Reply::Changed(Change::Assigned(role_name, person_name), snapshot))
            }
            Self::Person { org, person } => {
                let keys = vault.keys(Some(person))?;
                let id = person.to_string();
                let nats = match vault.nats_list(org) {
                    Ok(tree) => tree.users.into_iter().find(|u| u.person_id == id),
                    // Not bootstrapped for NATS: no user, and nothing wrong.
                    Err(e) if matches!(e.domain(), Some(DomainError::NatsNotBootstrapped(_))) => None,
                    Err(e) => return Err(e.into()),
                };
                Ok(Reply::Person(Arc::new(PersonDetails { person, keys, nats })))
            }
        }
    }
}
