//! GUI tests (iced_test simulator, real vault in a temp dir): the Organization screen. Each
//! test drives the screen through its view (clicks, typing, pick lists), runs the jobs it asks
//! for against a real vault, and checks both the text shown and what the vault then holds.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use cim_keys::app::Vault;
use cim_keys::crypto::keystore::{KdfParams, Passphrase};
use cim_keys::domain::{Command, OrgId};
use cim_keys::gui::jobs::organization::Request;
use cim_keys::gui::screen::organization::{Action, Form, Message, State};
use cim_keys::gui::{Effect, Session};
use iced_test::core::{Event, Point, Settings, Size, mouse};
use iced_test::{Simulator, selector};
use tempfile::TempDir;

/// A screen on a real vault: messages go to the screen, the jobs it asks for run against the
/// vault, and their replies come back, as the root does.
pub struct Harness {
    pub state: State,
    pub session: Session,
    /// The organization the screen made current (`Effect::Select`).
    pub selected: Option<OrgId>,
    _dir: TempDir,
}

/// A fresh vault (cheapest KDF) and its session.
pub fn session() -> (TempDir, Session) {
    let dir = tempfile::tempdir().unwrap();
    let passphrase = Passphrase::new(crate::support::PASSPHRASE.to_owned()).unwrap();
    let vault = Vault::init_with_kdf(&dir.path().join("vault"), &passphrase, KdfParams::MINIMUM).unwrap();
    (dir, Session { vault: Arc::new(Mutex::new(vault)), passphrase: Arc::new(passphrase) })
}

/// The simulated window: large enough to show every form without scrolling.
pub const WINDOW: Size = Size::new(1600.0, 2400.0);

/// The screen's view in a simulated window.
pub fn window<'a, M>(element: impl Into<iced::Element<'a, M>>) -> Simulator<'a, M> {
    Simulator::with_size(Settings::default(), WINDOW, element)
}

/// Opens the pick list in the container `id` and chooses its `index`th option (the menu opens
/// below the list, one option per list height, when there is more room below than above).
pub fn pick<M>(ui: &mut Simulator<'_, M>, id: &'static str, index: usize) {
    let target = ui.click(selector::id(id)).unwrap_or_else(|e| panic!("no pick list {id}: {e:?}"));
    let bounds = target.bounds();
    assert!(bounds.y + bounds.height < WINDOW.height / 2.0, "pick list {id} is too low for its menu to open below");
    let position = Point::new(bounds.x + bounds.width / 2.0, bounds.y + bounds.height * (1.5 + index as f32));
    ui.point_at(position);
    let _ = ui.simulate([Event::Mouse(mouse::Event::CursorMoved { position })]);
    let _ = ui.simulate(iced_test::simulator::click());
}

/// Types `text` into the input `id`.
pub fn type_into<M>(ui: &mut Simulator<'_, M>, id: &'static str, text: &str) {
    ui.click(selector::id(id)).unwrap_or_else(|e| panic!("no input {id}: {e:?}"));
    let _ = ui.typewrite(text);
}

impl Harness {
    pub fn new(org: Option<OrgId>) -> Self {
        let (dir, session) = session();
        Self::on(dir, session, org)
    }

    pub fn on(dir: TempDir, session: Session, org: Option<OrgId>) -> Self {
        let (state, action) = State::new(org);
        let mut harness = Self { state, session, selected: None, _dir: dir };
        harness.drive(action);
        harness
    }

    fn drive(&mut self, action: Action) {
        let mut queue = VecDeque::from([action]);
        while let Some(action) = queue.pop_front() {
            match action {
                Effect::None | Effect::Copy(_) => {}
                Effect::Run(job) => {
                    let reply = self.session.run(job);
                    queue.push_back(self.state.update(Message::Done(reply)));
                }
                Effect::Save { purpose, .. } => match purpose {},
                Effect::Select(org) => self.selected = Some(org),
            }
        }
    }

    pub fn send(&mut self, message: Message) {
        let action = self.state.update(message);
        self.drive(action);
    }

    /// Interacts with the view, then feeds the messages it produced to the screen.
    pub fn ui(&mut self, interact: impl FnOnce(&mut Simulator<'_, Message>)) {
        let messages: Vec<Message> = {
            let mut ui = window(self.state.view());
            interact(&mut ui);
            ui.into_messages().collect()
        };
        for message in messages {
            self.send(message);
        }
    }

    /// Whether the view shows exactly this text somewhere.
    pub fn shows(&self, text: &str) -> bool {
        window(self.state.view()).find(text).is_ok()
    }

    pub fn vault<T>(&self, f: impl FnOnce(&Vault) -> T) -> T {
        f(&self.session.vault.lock().unwrap())
    }
}

#[test]
fn gui_organization_create_org_unit_person_role_and_assign() {
    let mut h = Harness::new(None);
    assert!(h.shows("No organization yet: create one."));

    h.ui(|ui| {
        type_into(ui, "org-name", "Acme");
        type_into(ui, "org-domain", "acme.example");
        ui.click("Create organization").unwrap();
    });
    let orgs = h.vault(|v| v.organizations().unwrap());
    assert_eq!(orgs.len(), 1);
    assert_eq!((orgs[0].name.as_str(), orgs[0].domain.as_deref()), ("Acme", Some("acme.example")));
    let org: OrgId = orgs[0].id.parse().unwrap();
    assert_eq!(h.selected, Some(org), "the new organization becomes the current one");
    assert!(h.shows("Organization 'Acme' created."));

    // A top-level unit (Enter submits), then one nested in it (parent chosen in the pick list).
    h.ui(|ui| {
        type_into(ui, "unit-name", "Engineering");
        let _ = ui.tap_key(iced::keyboard::Key::Named(iced::keyboard::key::Named::Enter));
    });
    assert!(h.shows("Unit 'Engineering' created."), "{:?}", h.state.error(Form::Unit));
    h.ui(|ui| {
        type_into(ui, "unit-name", "Backend");
        pick(ui, "unit-parent", 1);
        ui.click("Add unit").unwrap();
    });
    assert_eq!(h.state.error(Form::Unit), None);

    // A person in the nested unit ("(no unit)", "Engineering", "Engineering / Backend").
    h.ui(|ui| {
        type_into(ui, "person-name", "Alice Example");
        type_into(ui, "person-email", "alice@acme.example");
        pick(ui, "person-unit", 2);
        ui.click("Add person").unwrap();
    });
    assert_eq!(h.state.error(Form::Person), None);
    h.ui(|ui| {
        type_into(ui, "role-name", "Operator");
        ui.click("Define role").unwrap();
    });
    assert_eq!(h.state.error(Form::Role), None);
    h.ui(|ui| {
        pick(ui, "assign-person", 0);
        pick(ui, "assign-role", 0);
        ui.click("Assign role").unwrap();
    });
    assert_eq!(h.state.error(Form::Assign), None);
    assert!(h.shows("Role 'Operator' assigned to Alice Example."));

    // The vault holds what the screen made.
    let tree = h.vault(|v| v.organization_tree(org).unwrap());
    let unit = |name: &str| tree.units.iter().find(|u| u.name == name).unwrap_or_else(|| panic!("no unit {name}"));
    let (engineering, backend) = (unit("Engineering"), unit("Backend"));
    assert_eq!(engineering.parent, None);
    assert_eq!(backend.parent.as_deref(), Some(engineering.id.as_str()));
    assert_eq!(tree.people.len(), 1);
    let alice = &tree.people[0];
    assert_eq!((alice.name.as_str(), alice.email.as_str()), ("Alice Example", "alice@acme.example"));
    assert_eq!(alice.units, vec![backend.id.clone()]);
    assert_eq!(tree.roles.len(), 1);
    assert_eq!(alice.roles, vec![tree.roles[0].id.clone()]);

    // The view shows the tree.
    for name in ["Acme", "Engineering", "Backend", "Alice Example", "alice@acme.example", "Operator"] {
        assert!(h.shows(name), "the view does not show {name}");
    }

    // Choosing the person shows their units, roles, keys and NATS user.
    h.ui(|ui| {
        ui.click("Alice Example").unwrap();
    });
    assert!(h.shows("Units: Backend"));
    assert!(h.shows("Roles: Operator"));
    assert!(h.shows("no keys"));
    assert!(h.shows("none: the organization is not bootstrapped for NATS"));

    // Choosing a unit shows its details, its head count loaded for the selection.
    h.ui(|ui| {
        ui.click("Engineering").unwrap();
    });
    assert!(h.shows("Unit Engineering"));
    assert!(h.shows("Sub-units: Backend"));
    assert!(h.shows("Members: 0"), "Alice is in Backend, not in Engineering");
    h.ui(|ui| {
        ui.click("Backend").unwrap();
    });
    assert!(h.shows("Parent: Engineering"));
    assert!(h.shows("Members: 1"));
    // So does choosing a role.
    h.ui(|ui| {
        ui.click("Operator").unwrap();
    });
    assert!(h.shows("Role Operator"));
    assert!(h.shows("Held by: 1 people"));
}

fn with_org() -> (Harness, OrgId) {
    let (dir, session) = session();
    let org = OrgId::from_uuid(cim_keys::app::new_id());
    session
        .vault
        .lock()
        .unwrap()
        .execute(Command::CreateOrganization { id: org, name: "Acme".into(), domain: None })
        .unwrap();
    (Harness::on(dir, session, Some(org)), org)
}

#[test]
fn gui_organization_bad_email_is_refused_inline_and_adds_nothing() {
    let (mut h, org) = with_org();
    assert_eq!(h.selected, None, "the organization given is already the current one");
    h.ui(|ui| {
        type_into(ui, "person-name", "Bob");
        type_into(ui, "person-email", "not-an-email");
        ui.click("Add person").unwrap();
    });
    let error = h.state.error(Form::Person).expect("an inline error").to_owned();
    assert!(error.starts_with("'not-an-email' is not a valid e-mail address"), "{error}");
    assert!(h.shows(&error), "the error is shown");
    assert!(h.vault(|v| v.organization_tree(org).unwrap()).people.is_empty());

    // The same message as the CLI: the application's error text.
    let cli = h
        .vault(|v| {
            let mut probe = Vault::open(v.data_dir()).unwrap();
            probe.execute(Command::AddPerson {
                id: cim_keys::domain::PersonId::from_uuid(cim_keys::app::new_id()),
                org,
                name: "Bob".into(),
                email: "not-an-email".into(),
                units: vec![],
            })
        })
        .unwrap_err()
        .to_string();
    assert_eq!(error, cli);

    // Fixing the input clears the error and adds the person.
    h.ui(|ui| {
        type_into(ui, "person-email", "@example.com");
        ui.click("Add person").unwrap();
    });
    assert_eq!(h.state.error(Form::Person), None);
    assert_eq!(h.vault(|v| v.organization_tree(org).unwrap()).people[0].email, "not-an-email@example.com");
}

#[test]
fn gui_organization_duplicate_unit_is_refused_inline() {
    let (mut h, org) = with_org();
    for _ in 0..2 {
        h.ui(|ui| {
            type_into(ui, "unit-name", "Sales");
            ui.click("Add unit").unwrap();
        });
    }
    let error = h.state.error(Form::Unit).expect("an inline error");
    assert!(error.starts_with("a unit named 'Sales' already exists"), "{error}");
    assert!(h.shows(error));
    assert_eq!(h.vault(|v| v.organization_tree(org).unwrap()).units.len(), 1);
    // The name stays in the field to be corrected.
    assert!(h.shows("Sales"));
}

#[test]
fn gui_organization_people_are_paged() {
    let (mut h, org) = with_org();
    let commands = (0..250)
        .map(|i| Command::AddPerson {
            id: cim_keys::domain::PersonId::from_uuid(cim_keys::app::new_id()),
            org,
            name: format!("Person {i:03}"),
            email: format!("p{i:03}@acme.example"),
            units: vec![],
        })
        .collect();
    h.session.vault.lock().unwrap().execute_all(commands).unwrap();
    h.send(Message::Open(org));
    assert!(h.shows("1–100 of 250"));
    assert!(h.shows("Person 000"));
    assert!(!h.shows("Person 100"));
    h.ui(|ui| {
        ui.click("Next page").unwrap();
    });
    assert!(h.shows("101–200 of 250"));
    assert!(h.shows("Person 100"));
    assert!(!h.shows("Person 000"));

    // A page is loaded by a job of its own: the screen never holds more than one page.
    let Effect::Run(job) = h.state.update(Message::Page(2)) else { panic!("paging runs a job") };
    assert!(matches!(job, Request::Page { org: o, page: 2 } if o == org), "{job:?}");
    let reply = h.session.run(job);
    h.send(Message::Done(reply));
    assert!(h.shows("201–250 of 250"));
    assert!(h.shows("Person 249"));
    assert!(!h.shows("Person 199"));

    // A person chosen on the last page stays chosen on another page, and can be given a role
    // from there; defining a role or adding a person keeps the page shown.
    h.ui(|ui| {
        type_into(ui, "role-name", "Auditor");
        ui.click("Define role").unwrap();
    });
    assert!(h.shows("201–250 of 250"), "defining a role keeps the page");
    h.ui(|ui| pick(ui, "assign-role", 0));
    h.ui(|ui| {
        ui.click("Person 230").unwrap();
    });
    assert!(h.shows("p230@acme.example"));
    assert!(h.shows("no keys"));
    h.ui(|ui| {
        ui.click("Previous page").unwrap();
    });
    assert!(h.shows("101–200 of 250"));
    assert!(h.shows("Person 230"), "the chosen person's details stay");
    h.ui(|ui| {
        ui.click("Assign role").unwrap();
    });
    assert_eq!(h.state.error(Form::Assign), None);
    assert!(h.shows("Role 'Auditor' assigned to Person 230."));
    assert!(h.shows("Roles: Auditor"), "the details are loaded again after the change");
    let tree = h.vault(|v| v.organization_tree(org).unwrap());
    let p230 = tree.people.iter().find(|p| p.name == "Person 230").unwrap();
    assert_eq!(p230.roles, vec![tree.roles[0].id.clone()]);
    h.ui(|ui| {
        type_into(ui, "person-name", "Person 250");
        type_into(ui, "person-email", "p250@acme.example");
        ui.click("Add person").unwrap();
    });
    assert_eq!(h.state.error(Form::Person), None);
    assert!(h.shows("101–200 of 251"), "adding a person keeps the page");
    h.ui(|ui| {
        ui.click("Previous page").unwrap();
    });
    assert!(h.shows("1–100 of 251"));
    assert!(h.shows("Person 000"));
}

#[test]
fn gui_organization_units_and_people_of_a_bootstrapped_org_get_nats_accounts_and_users() {
    let (mut h, org) = with_org();
    {
        let mut vault = h.session.vault.lock().unwrap();
        vault.nats_bootstrap(org, &h.session.passphrase).unwrap();
    }
    h.ui(|ui| {
        type_into(ui, "unit-name", "Ops");
        ui.click("Add unit").unwrap();
    });
    assert_eq!(h.state.error(Form::Unit), None);
    h.ui(|ui| {
        type_into(ui, "person-name", "Carol");
        type_into(ui, "person-email", "carol@acme.example");
        pick(ui, "person-unit", 1);
        ui.click("Add person").unwrap();
    });
    assert_eq!(h.state.error(Form::Person), None);
    let nats = h.vault(|v| v.nats_list(org).unwrap());
    let ops = h.vault(|v| v.organization_tree(org).unwrap()).units[0].id.clone();
    assert!(nats.accounts.iter().any(|a| a.unit_id.as_deref() == Some(ops.as_str())), "the unit got its account");
    let user = nats.users.iter().find(|u| u.name.contains("carol")).expect("the person got a NATS user").clone();
    h.ui(|ui| {
        ui.click("Carol").unwrap();
    });
    assert!(h.shows(&user.public_key), "the person's details show their NATS user");
}
