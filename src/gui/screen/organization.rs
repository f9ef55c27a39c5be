//! The Organization screen: the organizations of the vault, and the current one's tree.
//!
//! On the left, the organizations (choosing one makes it the current organization of every
//! screen) and a form to create one. In the middle, the current organization's units (nested,
//! indented by depth), its people (paged, [`PAGE`] to a page) and its roles; choosing one shows
//! its details on the right: for a person, their units, roles, keys and NATS user; for a unit,
//! its parent, sub-units and head count; for a role, its head count. On the right too, the
//! forms to add a unit, a person and a role, and to assign a role. A refusal (a duplicate name,
//! a malformed e-mail address) is shown under its form, in the words the CLI uses.
//!
//! The screen never holds more than one page of people: a job loads the organization's units
//! and roles and one page of its people (the next and previous buttons run a job for their
//! page), and a job loads what a selection shows. So neither what is loaded nor what the view
//! does per frame grows with the organization beyond its units, its roles and one page; the
//! page is indexed once when it arrives.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use iced::widget::{Column, button, column, container, pick_list, row, scrollable, text, text_input};
use iced::{Element, Length};

use crate::domain::{OrgId, PersonId, RoleId, UnitId};
use crate::gui::jobs::organization::{self as jobs, Change, Count, PersonDetails, Reply, Request, Snapshot};
use crate::gui::{Effect, GuiError, theme};
use crate::store::{OrgPage, OrgSummary, PersonRow};

/// People shown on one page.
pub const PAGE: usize = jobs::PAGE;

/// A unit in a pick list (or none: the top level, or no unit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitChoice {
    /// The unit; none for "top level" or "no unit".
    pub id: Option<UnitId>,
    label: String,
}

impl std::fmt::Display for UnitChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

/// A person in a pick list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonChoice {
    /// The person.
    pub id: PersonId,
    label: String,
}

impl std::fmt::Display for PersonChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

/// A role in a pick list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChoice {
    /// The role.
    pub id: RoleId,
    label: String,
}

impl std::fmt::Display for RoleChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

/// A node of the tree: an index into the loaded page's units, people (of the page) or roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// A unit.
    Unit(usize),
    /// A person.
    Person(usize),
    /// A role.
    Role(usize),
}

/// The forms of the screen, each with its own inline error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// New organization.
    Organization,
    /// New unit.
    Unit,
    /// New person.
    Person,
    /// New role.
    Role,
    /// Assign a role.
    Assign,
}

/// What the running job is for, so its error lands in the right place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Load,
    Form(Form),
    Detail,
}

/// What happens on the screen.
#[derive(Debug, Clone)]
pub enum Message {
    /// A job finished.
    Done(Result<Reply, GuiError>),
    /// A save dialog closed (no path if cancelled).
    Picked(SavePurpose, Option<PathBuf>),
    /// Show this organization (and make it the current one).
    Open(OrgId),
    /// New organization: name.
    OrgName(String),
    /// New organization: domain.
    OrgDomain(String),
    /// Create the organization.
    CreateOrganization,
    /// New unit: name.
    UnitName(String),
    /// New unit: parent.
    UnitParent(UnitChoice),
    /// Create the unit.
    CreateUnit,
    /// New person: name.
    PersonName(String),
    /// New person: e-mail address.
    PersonEmail(String),
    /// New person: unit.
    PersonUnit(UnitChoice),
    /// Add the person.
    AddPerson,
    /// New role: name.
    RoleName(String),
    /// Define the role.
    DefineRole,
    /// Assign a role: the person.
    AssignPerson(PersonChoice),
    /// Assign a role: the role.
    AssignRoleChoice(RoleChoice),
    /// Assign the role.
    Assign,
    /// Show a node's details.
    Select(Node),
    /// Show this page of people (0-based): runs a job that loads it.
    Page(usize),
    /// Copy an id.
    Copy(String),
}

/// What this screen writes to files chosen in a save dialog: nothing.
#[derive(Debug, Clone)]
pub enum SavePurpose {}

/// What the root should do.
pub type Action = Effect<Request, SavePurpose>;

/// The loaded page, indexed once when it arrives.
#[derive(Debug, Default)]
struct Index {
    /// Units in tree order: (index into the page's units, depth).
    units: Vec<(usize, usize)>,
    /// "(top level)" and every unit, by path.
    parents: Vec<UnitChoice>,
    /// "(no unit)" and every unit, by path.
    memberships: Vec<UnitChoice>,
    /// Every role.
    roles: Vec<RoleChoice>,
    /// The people of the page.
    page_people: Vec<PersonChoice>,
    /// Unit names by id.
    unit_names: HashMap<String, String>,
    /// Role names by id.
    role_names: HashMap<String, String>,
}

/// The selected node.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selected {
    /// A unit: an index into the page's units.
    Unit(usize),
    /// A role: an index into the page's roles.
    Role(usize),
    /// A person (who may be on another page than the one shown): their row as last loaded.
    Person(Box<PersonRow>),
}

/// What is known about the selected node beyond its row, computed or loaded when it is
/// selected.
#[derive(Debug, Default)]
struct Detail {
    /// Members of a unit or holders of a role, once loaded.
    count: Option<(Count, u64)>,
    /// Sub-units of a unit.
    children: Vec<String>,
}

#[derive(Debug, Default)]
struct OrgForm {
    name: String,
    domain: String,
}

#[derive(Debug, Default)]
struct UnitForm {
    name: String,
    parent: Option<UnitChoice>,
}

#[derive(Debug, Default)]
struct PersonForm {
    name: String,
    email: String,
    unit: Option<UnitChoice>,
}

#[derive(Debug, Default)]
struct AssignForm {
    person: Option<PersonChoice>,
    role: Option<RoleChoice>,
}

/// The forms' fields and their inline errors.
#[derive(Debug, Default)]
struct Forms {
    org: OrgForm,
    unit: UnitForm,
    person: PersonForm,
    role: String,
    assign: AssignForm,
    errors: HashMap<Form, String>,
}

/// The screen's state.
#[derive(Debug)]
pub struct State {
    org: Option<OrgId>,
    organizations: Arc<Vec<OrgSummary>>,
    page: Option<Arc<OrgPage>>,
    index: Box<Index>,
    selected: Option<Selected>,
    detail: Detail,
    person: Option<Arc<PersonDetails>>,
    forms: Box<Forms>,
    notice: Option<String>,
    error: Option<String>,
    busy: Option<Pending>,
}

fn page_org(page: &OrgPage) -> Option<OrgId> {
    page.organization.id.parse().ok()
}

impl Index {
    fn build(page: &OrgPage) -> Self {
        let mut children: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
        let ids: HashMap<&str, usize> = page.units.iter().enumerate().map(|(i, u)| (u.id.as_str(), i)).collect();
        for (i, unit) in page.units.iter().enumerate() {
            // A parent that is not in the tree (impossible through the domain) shows at the top.
            let parent = unit.parent.as_deref().filter(|p| ids.contains_key(p));
            children.entry(parent).or_default().push(i);
        }
        let mut index = Self {
            unit_names: page.units.iter().map(|u| (u.id.clone(), u.name.clone())).collect(),
            role_names: page.roles.iter().map(|r| (r.id.clone(), r.name.clone())).collect(),
            roles: page
                .roles
                .iter()
                .filter_map(|r| Some(RoleChoice { id: r.id.parse().ok()?, label: r.name.clone() }))
                .collect(),
            page_people: page.people.iter().filter_map(person_choice).collect(),
            ..Self::default()
        };
        let mut paths = Vec::with_capacity(page.units.len());
        let mut visited = vec![false; page.units.len()];
        let mut stack: Vec<(usize, usize, String)> = children
            .get(&None)
            .map(|roots| roots.iter().rev().map(|&i| (i, 0, page.units[i].name.clone())).collect())
            .unwrap_or_default();
        while let Some((i, depth, path)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            index.units.push((i, depth));
            if let Some(kids) = children.get(&Some(page.units[i].id.as_str())) {
                for &k in kids.iter().rev() {
                    stack.push((k, depth + 1, format!("{path} / {}", page.units[k].name)));
                }
            }
            paths.push((i, path));
        }
        let choices: Vec<UnitChoice> = paths
            .into_iter()
            .filter_map(|(i, label)| {
                Some(UnitChoice { id: page.units[i].id.parse().ok(), label }).filter(|c| c.id.is_some())
            })
            .collect();
        index.parents = std::iter::once(UnitChoice { id: None, label: "(top level)".into() })
            .chain(choices.iter().cloned())
            .collect();
        index.memberships =
            std::iter::once(UnitChoice { id: None, label: "(no unit)".into() }).chain(choices).collect();
        index
    }
}

fn person_choice(p: &PersonRow) -> Option<PersonChoice> {
    Some(PersonChoice { id: p.id.parse().ok()?, label: format!("{} <{}>", p.name, p.email) })
}

/// The 0-based number of the page that starts at `offset`.
fn page_number(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX) / PAGE
}

impl State {
    /// The screen for the current organization, and what to load first.
    pub fn new(org: Option<OrgId>) -> (Self, Action) {
        let state = Self {
            org,
            organizations: Arc::default(),
            page: None,
            index: Box::default(),
            selected: None,
            detail: Detail::default(),
            person: None,
            forms: Box::default(),
            notice: None,
            error: None,
            busy: Some(Pending::Load),
        };
        (state, Effect::Run(Request::Load { org, page: 0 }))
    }

    /// The organization shown.
    pub fn org(&self) -> Option<OrgId> {
        self.org
    }

    /// The inline error of a form, if any.
    pub fn error(&self, form: Form) -> Option<&str> {
        self.forms.errors.get(&form).map(String::as_str)
    }

    fn run(&mut self, pending: Pending, request: Request) -> Action {
        self.busy = Some(pending);
        if let Pending::Form(form) = pending {
            self.forms.errors.remove(&form);
        }
        self.notice = None;
        Effect::Run(request)
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Done(result) => {
                let pending = self.busy.take();
                match result {
                    Ok(reply) => match self.replied(reply) {
                        Effect::None => self.load_detail(),
                        other => other,
                    },
                    // No retry of a failed detail here: choosing the node again does it.
                    Err(error) => {
                        match pending {
                            Some(Pending::Form(form)) => {
                                self.forms.errors.insert(form, error.message);
                            }
                            _ => self.error = Some(error.message),
                        }
                        Effect::None
                    }
                }
            }
            Message::Picked(purpose, _) => match purpose {},
            Message::Open(org) => {
                if self.busy.is_some() {
                    return Effect::None;
                }
                let page = if Some(org) == self.org { self.page_number() } else { 0 };
                self.run(Pending::Load, Request::Load { org: Some(org), page })
            }
            Message::OrgName(name) => {
                self.forms.org.name = name;
                Effect::None
            }
            Message::OrgDomain(domain) => {
                self.forms.org.domain = domain;
                Effect::None
            }
            Message::CreateOrganization => {
                if self.busy.is_some() {
                    return Effect::None;
                }
                let request = Request::CreateOrganization {
                    name: self.forms.org.name.clone(),
                    domain: self.forms.org.domain.clone(),
                };
                self.run(Pending::Form(Form::Organization), request)
            }
            Message::UnitName(name) => {
                self.forms.unit.name = name;
                Effect::None
            }
            Message::UnitParent(parent) => {
                self.forms.unit.parent = Some(parent);
                Effect::None
            }
            Message::CreateUnit => {
                let Some(org) = self.org.filter(|_| self.busy.is_none()) else { return Effect::None };
                let request = Request::CreateUnit {
                    org,
                    parent: self.forms.unit.parent.as_ref().and_then(|p| p.id),
                    name: self.forms.unit.name.clone(),
                    page: self.page_number(),
                };
                self.run(Pending::Form(Form::Unit), request)
            }
            Message::PersonName(name) => {
                self.forms.person.name = name;
                Effect::None
            }
            Message::PersonEmail(email) => {
                self.forms.person.email = email;
                Effect::None
            }
            Message::PersonUnit(unit) => {
                self.forms.person.unit = Some(unit);
                Effect::None
            }
            Message::AddPerson => {
                let Some(org) = self.org.filter(|_| self.busy.is_none()) else { return Effect::None };
                let request = Request::AddPerson {
                    org,
                    name: self.forms.person.name.clone(),
                    email: self.forms.person.email.clone(),
                    unit: self.forms.person.unit.as_ref().and_then(|u| u.id),
                    page: self.page_number(),
                };
                self.run(Pending::Form(Form::Person), request)
            }
            Message::RoleName(name) => {
                self.forms.role = name;
                Effect::None
            }
            Message::DefineRole => {
                let Some(org) = self.org.filter(|_| self.busy.is_none()) else { return Effect::None };
                let request = Request::DefineRole { org, name: self.forms.role.clone(), page: self.page_number() };
                self.run(Pending::Form(Form::Role), request)
            }
            Message::AssignPerson(person) => {
                self.forms.assign.person = Some(person);
                Effect::None
            }
            Message::AssignRoleChoice(role) => {
                self.forms.assign.role = Some(role);
                Effect::None
            }
            Message::Assign => {
                let Some(org) = self.org.filter(|_| self.busy.is_none()) else { return Effect::None };
                let (Some(person), Some(role)) = (&self.forms.assign.person, &self.forms.assign.role) else {
                    self.forms.errors.insert(Form::Assign, "choose a person and a role".into());
                    return Effect::None;
                };
                let request = Request::AssignRole { org, role: role.id, person: person.id, page: self.page_number() };
                self.run(Pending::Form(Form::Assign), request)
            }
            Message::Select(node) => {
                self.select(node);
                self.load_detail()
            }
            Message::Page(page) => {
                let Some(org) = self.org.filter(|_| self.busy.is_none()) else { return Effect::None };
                // Not `run`: paging keeps the confirmation line.
                self.busy = Some(Pending::Load);
                Effect::Run(Request::Page { org, page })
            }
            Message::Copy(id) => Effect::Copy(id),
        }
    }

    /// The page of people shown (0-based).
    fn page_number(&self) -> usize {
        self.page.as_ref().map_or(0, |p| page_number(p.offset))
    }

    /// Applies a job's reply.
    fn replied(&mut self, reply: Reply) -> Action {
        match reply {
            Reply::Loaded(snapshot) => {
                self.error = None;
                self.apply(snapshot, false)
            }
            Reply::Page(page) => {
                self.error = None;
                self.show(Some(page), false)
            }
            Reply::Changed(change, snapshot) => {
                self.error = None;
                self.notice = Some(match &change {
                    Change::Organization(name) => {
                        self.forms.org = OrgForm::default();
                        format!("Organization '{name}' created.")
                    }
                    Change::Unit(name) => {
                        self.forms.unit.name.clear();
                        format!("Unit '{name}' created.")
                    }
                    Change::Person(name) => {
                        self.forms.person.name.clear();
                        self.forms.person.email.clear();
                        format!("Person '{name}' added.")
                    }
                    Change::Role(name) => {
                        self.forms.role.clear();
                        format!("Role '{name}' defined.")
                    }
                    Change::Assigned(role, person) => format!("Role '{role}' assigned to {person}."),
                });
                self.apply(snapshot, true)
            }
            Reply::Person(details) => {
                if let Some(Selected::Person(row)) = &mut self.selected
                    && row.id == details.row.id
                {
                    **row = details.row.clone();
                }
                self.person = Some(details);
                Effect::None
            }
            Reply::Counted(count, n) => {
                self.detail.count = Some((count, n));
                Effect::None
            }
        }
    }

    /// Shows a loaded snapshot; asks the root to make its organization the current one if it
    /// changed.
    fn apply(&mut self, snapshot: Snapshot, changed: bool) -> Action {
        self.organizations = snapshot.organizations;
        self.show(snapshot.page, changed)
    }

    /// Shows a loaded page (`changed`: the vault changed since the selection's details were
    /// loaded, so they are loaded again); asks the root to make its organization the current
    /// one if it changed.
    fn show(&mut self, page: Option<Arc<OrgPage>>, changed: bool) -> Action {
        let new_org = page.as_deref().and_then(page_org);
        let org_changed = new_org != self.org;
        let previous = self.selected_id();
        self.page = page;
        self.org = new_org;
        self.selected = None;
        if changed {
            self.person = None;
            self.detail.count = None;
        }
        let Some(page) = self.page.clone() else {
            *self.index = Index::default();
            self.detail = Detail::default();
            return Effect::None;
        };
        if org_changed {
            self.forms.unit = UnitForm::default();
            self.forms.person = PersonForm::default();
            self.forms.assign = AssignForm::default();
            self.forms.errors.clear();
            self.person = None;
            self.detail = Detail::default();
        }
        *self.index = Index::build(&page);
        if let Some(previous) = previous.filter(|_| !org_changed) {
            self.reselect(&page, previous);
        }
        // Keep the chosen pick-list entries if they still exist (labels may have changed).
        let parents = &self.index.parents;
        self.forms.unit.parent =
            self.forms.unit.parent.take().and_then(|p| parents.iter().find(|c| c.id == p.id).cloned());
        let memberships = &self.index.memberships;
        self.forms.person.unit =
            self.forms.person.unit.take().and_then(|p| memberships.iter().find(|c| c.id == p.id).cloned());
        let roles = &self.index.roles;
        self.forms.assign.role =
            self.forms.assign.role.take().and_then(|r| roles.iter().find(|c| c.id == r.id).cloned());
        match new_org {
            Some(org) if org_changed => Effect::Select(org),
            _ => Effect::None,
        }
    }

    fn selected_id(&self) -> Option<SelectedId> {
        let page = self.page.as_ref()?;
        Some(match self.selected.as_ref()? {
            Selected::Unit(i) => SelectedId::Unit(page.units.get(*i)?.id.clone()),
            Selected::Role(i) => SelectedId::Role(page.roles.get(*i)?.id.clone()),
            Selected::Person(row) => SelectedId::Person(row.clone()),
        })
    }

    /// Selects again, in a newly loaded page, what was selected before.
    fn reselect(&mut self, page: &OrgPage, previous: SelectedId) {
        match previous {
            SelectedId::Unit(id) => {
                if let Some(i) = page.units.iter().position(|u| u.id == id) {
                    self.select(Node::Unit(i));
                }
            }
            SelectedId::Role(id) => {
                if let Some(i) = page.roles.iter().position(|r| r.id == id) {
                    self.select(Node::Role(i));
                }
            }
            // A person on another page stays selected: their details are loaded by id.
            SelectedId::Person(row) => match page.people.iter().position(|p| p.id == row.id) {
                Some(i) => self.select(Node::Person(i)),
                None => self.selected = Some(Selected::Person(row)),
            },
        }
    }

    fn select(&mut self, node: Node) {
        let Some(page) = self.page.clone() else { return };
        self.detail.children.clear();
        match node {
            Node::Unit(i) => {
                let Some(unit) = page.units.get(i) else { return };
                self.detail.children = page
                    .units
                    .iter()
                    .filter(|u| u.parent.as_deref() == Some(unit.id.as_str()))
                    .map(|u| u.name.clone())
                    .collect();
                self.selected = Some(Selected::Unit(i));
            }
            Node::Person(i) => {
                let Some(person) = page.people.get(i) else { return };
                // Preselect the person in the assign form.
                if let Some(choice) = person_choice(person) {
                    self.forms.assign.person = Some(choice);
                }
                if self.person.as_ref().is_some_and(|d| d.row.id != person.id) {
                    self.person = None;
                }
                self.selected = Some(Selected::Person(Box::new(person.clone())));
            }
            Node::Role(i) => {
                if page.roles.get(i).is_none() {
                    return;
                }
                self.selected = Some(Selected::Role(i));
            }
        }
    }

    /// The head count the selected unit or role shows.
    fn count_of_selection(&self) -> Option<Count> {
        let page = self.page.as_ref()?;
        match self.selected.as_ref()? {
            Selected::Unit(i) => Some(Count::Members(page.units.get(*i)?.id.parse().ok()?)),
            Selected::Role(i) => Some(Count::Holders(page.roles.get(*i)?.id.parse().ok()?)),
            Selected::Person(_) => None,
        }
    }

    /// The selected unit's or role's head count, if loaded.
    fn count(&self) -> Option<u64> {
        let (count, n) = self.detail.count?;
        (Some(count) == self.count_of_selection()).then_some(n)
    }

    /// Loads what the selection shows (a person's details, a unit's or role's head count), if
    /// not loaded and no job is running.
    fn load_detail(&mut self) -> Action {
        if self.busy.is_some() {
            return Effect::None;
        }
        let request = match &self.selected {
            None => return Effect::None,
            Some(Selected::Person(row)) => {
                let Ok(person) = row.id.parse::<PersonId>() else { return Effect::None };
                if self.person.as_ref().is_some_and(|d| d.person == person) {
                    return Effect::None;
                }
                Request::Person { person }
            }
            Some(_) => {
                let Some(count) = self.count_of_selection() else { return Effect::None };
                if self.count().is_some() {
                    return Effect::None;
                }
                Request::Count(count)
            }
        };
        self.busy = Some(Pending::Detail);
        Effect::Run(request)
    }

    /// The screen.
    pub fn view(&self) -> Element<'_, Message> {
        let mut header = column![text("Organization").size(theme::TITLE)].spacing(theme::GAP);
        if let Some(notice) = &self.notice {
            header = header.push(text(notice).style(theme::success));
        }
        if let Some(error) = &self.error {
            header = header.push(text(error).style(theme::error));
        }
        let left = scrollable(column![self.organizations_view(), self.new_organization_view()].spacing(theme::SECTION))
            .spacing(theme::GAP)
            .width(300);
        let body: Element<'_, Message> = match &self.page {
            Some(page) => row![
                left,
                scrollable(self.tree_view(page)).spacing(theme::GAP).width(Length::Fill),
                scrollable(column![self.details_view(page), self.forms_view()].spacing(theme::SECTION))
                    .spacing(theme::GAP)
                    .width(380),
            ]
            .spacing(theme::SECTION)
            .into(),
            None => row![
                left,
                container(
                    text(if self.organizations.is_empty() {
                        "No organization yet: create one."
                    } else {
                        "Choose an organization."
                    })
                    .style(theme::muted)
                )
                .padding(theme::PAD)
            ]
            .spacing(theme::SECTION)
            .into(),
        };
        column![header, body].spacing(theme::SECTION).into()
    }

    fn organizations_view(&self) -> Element<'_, Message> {
        let mut list = column![text("Organizations").size(theme::HEADING)].spacing(theme::GAP);
        for org in self.organizations.iter() {
            let id = org.id.parse::<OrgId>().ok();
            let current = id.is_some() && id == self.org;
            let counts = format!("{} units · {} people · {} roles", org.units, org.people, org.roles);
            let label = column![
                text(&org.name),
                text(org.domain.as_deref().unwrap_or("no domain")).size(theme::SMALL),
                text(counts).size(theme::SMALL),
            ];
            list = list.push(
                button(label)
                    .width(Length::Fill)
                    .style(theme::nav(current))
                    .on_press_maybe(id.filter(|_| self.busy.is_none()).map(Message::Open)),
            );
        }
        if self.organizations.is_empty() {
            list = list.push(text("none yet").style(theme::muted));
        }
        card(list)
    }

    fn new_organization_view(&self) -> Element<'_, Message> {
        let fields = column![
            input("Name", &self.forms.org.name, "org-name", Message::OrgName, Message::CreateOrganization),
            input(
                "Domain (optional)",
                &self.forms.org.domain,
                "org-domain",
                Message::OrgDomain,
                Message::CreateOrganization
            ),
        ];
        form(
            "New organization",
            fields,
            self.error(Form::Organization),
            "Create organization",
            self.submit(Message::CreateOrganization),
        )
    }

    fn submit(&self, message: Message) -> Option<Message> {
        self.busy.is_none().then_some(message)
    }

    fn tree_view<'a>(&'a self, page: &'a OrgPage) -> Element<'a, Message> {
        let org = &page.organization;
        let mut title = column![text(&org.name).size(theme::TITLE)];
        if let Some(domain) = &org.domain {
            title = title.push(text(domain).style(theme::muted));
        }
        title = title.push(text(&org.id).size(theme::SMALL).style(theme::muted));

        let mut units = column![text("Units").size(theme::HEADING)].spacing(4);
        for &(i, depth) in &self.index.units {
            let unit = &page.units[i];
            let entry = button(text(&unit.name))
                .style(theme::nav(self.selected == Some(Selected::Unit(i))))
                .on_press(Message::Select(Node::Unit(i)));
            units = units
                .push(container(entry).padding(iced::Padding { left: 20.0 * depth as f32, ..iced::Padding::ZERO }));
        }
        if page.units.is_empty() {
            units = units.push(text("none yet").style(theme::muted));
        }

        let total = page.total();
        let mut people = column![text("People").size(theme::HEADING)].spacing(4);
        if total > PAGE as u64 {
            people = people.push(self.pager(page));
        }
        let selected = match &self.selected {
            Some(Selected::Person(row)) => Some(row.id.as_str()),
            _ => None,
        };
        for (i, person) in page.people.iter().enumerate() {
            let entry = button(column![text(&person.name), text(&person.email).size(theme::SMALL).style(theme::muted)])
                .width(Length::Fill)
                .style(theme::nav(selected == Some(person.id.as_str())))
                .on_press(Message::Select(Node::Person(i)));
            people = people.push(entry);
        }
        if total == 0 {
            people = people.push(text("none yet").style(theme::muted));
        }

        let mut roles = column![text("Roles").size(theme::HEADING)].spacing(4);
        for (i, role) in page.roles.iter().enumerate() {
            roles = roles.push(
                button(text(&role.name))
                    .style(theme::nav(self.selected == Some(Selected::Role(i))))
                    .on_press(Message::Select(Node::Role(i))),
            );
        }
        if page.roles.is_empty() {
            roles = roles.push(text("none yet").style(theme::muted));
        }
        column![title, card(units), card(people), card(roles)].spacing(theme::SECTION).into()
    }

    /// Previous and next buttons around "first–last of total" (disabled while a job runs).
    fn pager<'a>(&self, page: &OrgPage) -> Element<'a, Message> {
        let number = page_number(page.offset);
        let last = page_number(page.total().saturating_sub(1));
        let idle = self.busy.is_none();
        let shown = if page.people.is_empty() {
            format!("none of {}", page.total())
        } else {
            format!("{}–{} of {}", page.offset + 1, page.offset + page.people.len() as u64, page.total())
        };
        row![
            button(text("Previous page"))
                .style(theme::secondary)
                .on_press_maybe((idle && number > 0).then(|| Message::Page(number - 1))),
            text(shown).style(theme::muted),
            button(text("Next page"))
                .style(theme::secondary)
                .on_press_maybe((idle && number < last).then(|| Message::Page(number + 1))),
        ]
        .spacing(theme::GAP)
        .align_y(iced::Alignment::Center)
        .into()
    }

    fn details_view<'a>(&'a self, page: &'a OrgPage) -> Element<'a, Message> {
        let copy = |id: &str| {
            button(text("Copy id").size(theme::SMALL)).style(theme::secondary).on_press(Message::Copy(id.to_owned()))
        };
        let id_line = |id: &'a str| {
            row![text(id).size(theme::SMALL).style(theme::muted), copy(id)]
                .spacing(theme::GAP)
                .align_y(iced::Alignment::Center)
        };
        let count = || self.count().map_or_else(|| "…".to_owned(), |n| n.to_string());
        let content: Column<'a, Message> = match &self.selected {
            None => column![
                text("Details").size(theme::HEADING),
                text("Choose a unit, a person or a role to see its details.").style(theme::muted)
            ],
            Some(Selected::Unit(i)) => {
                let unit = &page.units[*i];
                let parent = unit
                    .parent
                    .as_ref()
                    .map(|p| self.index.unit_names.get(p).cloned().unwrap_or_else(|| p.clone()))
                    .unwrap_or_else(|| "top level".into());
                let children =
                    if self.detail.children.is_empty() { "none".into() } else { self.detail.children.join(", ") };
                column![
                    text(format!("Unit {}", unit.name)).size(theme::HEADING),
                    id_line(&unit.id),
                    text(format!("Parent: {parent}")),
                    text(format!("Sub-units: {children}")),
                    text(format!("Members: {}", count())),
                ]
            }
            Some(Selected::Role(i)) => {
                let role = &page.roles[*i];
                column![
                    text(format!("Role {}", role.name)).size(theme::HEADING),
                    id_line(&role.id),
                    text(format!("Held by: {} people", count())),
                ]
            }
            Some(Selected::Person(person)) => {
                let mut details = column![
                    text(&person.name).size(theme::HEADING),
                    text(&person.email),
                    id_line(&person.id),
                    text(format!("Units: {}", names(&person.units, &self.index.unit_names))),
                    text(format!("Roles: {}", names(&person.roles, &self.index.role_names))),
                    text("Keys").size(theme::BODY),
                ];
                match self.person.as_deref().filter(|d| d.row.id == person.id) {
                    None => details = details.push(text("Loading…").style(theme::muted)),
                    Some(loaded) => {
                        if loaded.keys.is_empty() {
                            details = details.push(text("no keys").style(theme::muted));
                        }
                        for key in &loaded.keys {
                            let status = text(key.status).size(theme::SMALL).style(if key.status == "active" {
                                theme::success
                            } else {
                                theme::error
                            });
                            details = details.push(
                                row![
                                    text(&key.fingerprint).size(theme::SMALL),
                                    text(&key.algorithm).size(theme::SMALL),
                                    status
                                ]
                                .spacing(theme::GAP),
                            );
                        }
                        details = details.push(text("NATS user").size(theme::BODY));
                        details = details.push(match &loaded.nats {
                            None => Element::from(
                                text("none: the organization is not bootstrapped for NATS").style(theme::muted),
                            ),
                            Some(user) => column![
                                text(format!(
                                    "{}{}",
                                    user.name,
                                    if user.revoked_at.is_some() { " (revoked)" } else { "" }
                                )),
                                text(&user.public_key).size(theme::SMALL).style(theme::muted),
                            ]
                            .into(),
                        });
                    }
                }
                details
            }
        };
        card(content.spacing(theme::GAP))
    }

    fn forms_view(&self) -> Element<'_, Message> {
        let unit = form(
            "New unit",
            column![
                input("Name", &self.forms.unit.name, "unit-name", Message::UnitName, Message::CreateUnit),
                labelled(
                    "Parent",
                    container(
                        pick_list(&self.index.parents[..], self.forms.unit.parent.as_ref(), Message::UnitParent)
                            .placeholder("(top level)")
                            .width(Length::Fill),
                    )
                    .id("unit-parent"),
                ),
            ],
            self.error(Form::Unit),
            "Add unit",
            self.submit(Message::CreateUnit),
        );
        let person = form(
            "New person",
            column![
                input("Name", &self.forms.person.name, "person-name", Message::PersonName, Message::AddPerson),
                input("E-mail", &self.forms.person.email, "person-email", Message::PersonEmail, Message::AddPerson),
                labelled(
                    "Unit",
                    container(
                        pick_list(&self.index.memberships[..], self.forms.person.unit.as_ref(), Message::PersonUnit)
                            .placeholder("(no unit)")
                            .width(Length::Fill),
                    )
                    .id("person-unit"),
                ),
            ],
            self.error(Form::Person),
            "Add person",
            self.submit(Message::AddPerson),
        );
        let role = form(
            "New role",
            column![input("Name", &self.forms.role, "role-name", Message::RoleName, Message::DefineRole)],
            self.error(Form::Role),
            "Define role",
            self.submit(Message::DefineRole),
        );
        let assign = form(
            "Assign a role",
            column![
                labelled(
                    "Person (this page)",
                    container(
                        pick_list(
                            &self.index.page_people[..],
                            self.forms.assign.person.as_ref(),
                            Message::AssignPerson
                        )
                        .placeholder("choose a person")
                        .width(Length::Fill),
                    )
                    .id("assign-person"),
                ),
                labelled(
                    "Role",
                    container(
                        pick_list(&self.index.roles[..], self.forms.assign.role.as_ref(), Message::AssignRoleChoice)
                            .placeholder("choose a role")
                            .width(Length::Fill),
                    )
                    .id("assign-role"),
                ),
            ],
            self.error(Form::Assign),
            "Assign role",
            self.submit(Message::Assign),
        );
        column![unit, person, role, assign].spacing(theme::SECTION).into()
    }
}

/// What was selected, to find it again after a reload: a unit's or role's id, or a person's
/// row.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SelectedId {
    Unit(String),
    Role(String),
    Person(Box<PersonRow>),
}

/// The names of these ids, comma-separated ("none" if there are none).
fn names(ids: &[String], names: &HashMap<String, String>) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    ids.iter().map(|id| names.get(id).map(String::as_str).unwrap_or(id)).collect::<Vec<_>>().join(", ")
}

fn card<'a>(content: impl Into<Element<'a, Message>>) -> Element<'a, Message> {
    container(content).padding(theme::GAP * 2.0).width(Length::Fill).style(theme::card).into()
}

fn input<'a>(
    placeholder: &'a str,
    value: &'a str,
    id: &'static str,
    on_input: fn(String) -> Message,
    on_submit: Message,
) -> Element<'a, Message> {
    text_input(placeholder, value).id(id).on_input(on_input).on_submit(on_submit).padding(8).into()
}

fn labelled<'a>(label: &'a str, field: impl Into<Element<'a, Message>>) -> Element<'a, Message> {
    column![text(label).size(theme::SMALL).style(theme::muted), field.into()].spacing(4).into()
}

/// A form: title, fields, its inline error, and the submit button (disabled while a job runs).
fn form<'a>(
    title: &'a str,
    fields: Column<'a, Message>,
    error: Option<&'a str>,
    submit: &'a str,
    on_submit: Option<Message>,
) -> Element<'a, Message> {
    let mut content = column![text(title).size(theme::HEADING), fields.spacing(theme::GAP)].spacing(theme::GAP);
    if let Some(error) = error {
        content = content.push(text(error).style(theme::error));
    }
    content = content.push(button(text(submit)).style(theme::primary).padding([6, 16]).on_press_maybe(on_submit));
    card(content)
}
