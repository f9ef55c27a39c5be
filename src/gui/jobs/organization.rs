//! The Organization screen's jobs: load the organizations and one page of the current one's
//! people (with its units and roles), load another page, create organizations, units, people
//! and roles, assign roles, and load what a selection shows (a person's units, roles, keys and
//! NATS user; a unit's or role's head count).
//!
//! Nothing here reads every person of an organization: a page is [`PAGE`] people read from an
//! index (`Vault::organization_page`), and a selection's details are lookups by id. Every
//! change reloads the page shown in the same job, so the screen shows what the vault holds
//! after the change. New ids are drawn here ([`new_id`]), as the CLI does. Adding a unit or a
//! person to an organization bootstrapped for NATS issues its account or user in the same
//! transaction, which needs the passphrase ([`crate::app::Vault::execute_unlocked`]).

use std::sync::Arc;

use crate::app::{AppError, Vault, new_id};
use crate::domain::{Command, OrgId, PersonId, RoleId, UnitId};
use crate::gui::{Ctx, GuiError, Job};
use crate::store::{KeyRow, NatsUserRow, OrgPage, OrgSummary, PeopleWindow, PersonRow};

/// People on one page.
pub const PAGE: usize = 100;

/// What the screen asks for.
#[derive(Debug)]
pub enum Request {
    /// The organizations, and page `page` of `org` (or of the only organization, if there is
    /// exactly one and none is given).
    Load {
        /// The organization to show.
        org: Option<OrgId>,
        /// Which page of its people (0-based; past the end: the last page).
        page: usize,
    },
    /// Another page of the organization shown (its units and roles too, as they are now).
    Page {
        /// The organization.
        org: OrgId,
        /// Which page (0-based; past the end: the last page).
        page: usize,
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
        /// The page to reload.
        page: usize,
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
        /// The page to reload.
        page: usize,
    },
    /// Define a role.
    DefineRole {
        /// The organization.
        org: OrgId,
        /// Its name.
        name: String,
        /// The page to reload.
        page: usize,
    },
    /// Give a person a role.
    AssignRole {
        /// The organization (to reload).
        org: OrgId,
        /// The role.
        role: RoleId,
        /// The person.
        person: PersonId,
        /// The page to reload.
        page: usize,
    },
    /// A person's units, roles, keys and NATS user.
    Person {
        /// The person.
        person: PersonId,
    },
    /// How many people a unit or a role has.
    Count(Count),
}

/// What a head count is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// The members of a unit.
    Members(UnitId),
    /// The holders of a role.
    Holders(RoleId),
}

/// The organizations and the page shown.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// All organizations, by name.
    pub organizations: Arc<Vec<OrgSummary>>,
    /// The organization shown with one page of its people, if any.
    pub page: Option<Arc<OrgPage>>,
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

/// A person as they are now: their row (units and roles), keys and NATS user.
#[derive(Debug, Clone)]
pub struct PersonDetails {
    /// The person.
    pub person: PersonId,
    /// Their name, e-mail address, units and roles.
    pub row: PersonRow,
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
    /// Another page.
    Page(Arc<OrgPage>),
    /// A change was recorded; the snapshot is the vault after it.
    Changed(Change, Snapshot),
    /// A person's details.
    Person(Arc<PersonDetails>),
    /// A head count.
    Counted(Count, u64),
}

/// Page `page` of `org`'s people, or the last page if there are fewer.
fn page(vault: &Vault, org: OrgId, page: usize) -> Result<OrgPage, AppError> {
    let window = |page: usize| PeopleWindow { offset: (page * PAGE) as u64, limit: PAGE as u64 };
    let loaded = vault.organization_page(org, window(page))?;
    let total = loaded.total() as usize;
    let last = total.saturating_sub(1) / PAGE;
    if page > last { vault.organization_page(org, window(last)) } else { Ok(loaded) }
}

fn snapshot(vault: &Vault, org: Option<OrgId>, at: usize) -> Result<Snapshot, AppError> {
    let organizations = vault.organization_list()?;
    let org = match org {
        Some(org) => Some(org),
        None if organizations.len() == 1 => Some(organizations[0].id.parse()?),
        None => None,
    };
    let page = org.map(|org| page(vault, org, at)).transpose()?;
    Ok(Snapshot { organizations: Arc::new(organizations), page: page.map(Arc::new) })
}

fn changed(vault: &Vault, change: Change, org: OrgId, page: usize) -> Result<Reply, GuiError> {
    Ok(Reply::Changed(change, snapshot(vault, Some(org), page)?))
}

impl Job for Request {
    type Reply = Reply;

    fn run(self, ctx: Ctx<'_>) -> Result<Reply, GuiError> {
        let vault = ctx.vault;
        match self {
            Self::Load { org, page } => Ok(Reply::Loaded(snapshot(vault, org, page)?)),
            Self::Page { org, page: at } => Ok(Reply::Page(Arc::new(page(vault, org, at)?))),
            Self::CreateOrganization { name, domain } => {
                let id = OrgId::from_uuid(new_id());
                let domain = Some(domain.trim().to_owned()).filter(|d| !d.is_empty());
                vault.execute(Command::CreateOrganization { id, name: name.clone(), domain })?;
                changed(vault, Change::Organization(name.trim().to_owned()), id, 0)
            }
            Self::CreateUnit { org, parent, name, page } => {
                let command = Command::CreateUnit { id: UnitId::from_uuid(new_id()), org, parent, name: name.clone() };
                vault.execute_unlocked(command, Some(ctx.passphrase))?;
                changed(vault, Change::Unit(name.trim().to_owned()), org, page)
            }
            Self::AddPerson { org, name, email, unit, page } => {
                let command = Command::AddPerson {
                    id: PersonId::from_uuid(new_id()),
                    org,
                    name: name.clone(),
                    email,
                    units: unit.into_iter().collect(),
                };
                vault.execute_unlocked(command, Some(ctx.passphrase))?;
                changed(vault, Change::Person(name.trim().to_owned()), org, page)
            }
            Self::DefineRole { org, name, page } => {
                vault.execute(Command::DefineRole { id: RoleId::from_uuid(new_id()), org, name: name.clone() })?;
                changed(vault, Change::Role(name.trim().to_owned()), org, page)
            }
            Self::AssignRole { org, role, person, page } => {
                vault.execute(Command::AssignRole { role, person, expected_version: None })?;
                let snapshot = snapshot(vault, Some(org), page)?;
                let role_id = role.to_string();
                let role_name = snapshot
                    .page
                    .as_ref()
                    .and_then(|p| p.roles.iter().find(|r| r.id == role_id))
                    .map_or(role_id.clone(), |r| r.name.clone());
                let person_name = vault.person(person)?.name;
                Ok(Reply::Changed(Change::Assigned(role_name, person_name), snapshot))
            }
            Self::Person { person } => {
                let row = vault.person(person)?;
                let keys = vault.keys(Some(person))?;
                let nats = vault.person_nats_user(person)?;
                Ok(Reply::Person(Arc::new(PersonDetails { person, row, keys, nats })))
            }
            Self::Count(count) => {
                let n = match count {
                    Count::Members(unit) => vault.unit_members(unit)?,
                    Count::Holders(role) => vault.role_holders(role)?,
                };
                Ok(Reply::Counted(count, n))
            }
        }
    }
}
