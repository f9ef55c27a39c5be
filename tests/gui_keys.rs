//! GUI tests (iced_test simulator, real vault in a temp dir): the Keys screen — generate,
//! revoke, export and copy through the view, checked against the vault.

use std::collections::VecDeque;
use std::path::PathBuf;

use cim_keys::app::{Vault, new_id};
use cim_keys::domain::{Command, OrgId, PersonId};
use cim_keys::gui::Effect;
use cim_keys::gui::Session;
use cim_keys::gui::screen::keys::{Action, Message, State};
use iced_test::Simulator;
use tempfile::TempDir;

use crate::gui_organization::{pick, session, type_into, window};

/// The Keys screen on a real vault with one organization and one person.
struct Harness {
    state: State,
    session: Session,
    person: PersonId,
    /// Where the next save dialog "chooses" to write.
    save_to: PathBuf,
    copied: Vec<String>,
    dir: TempDir,
}

impl Harness {
    fn new() -> Self {
        let (dir, session) = session();
        let org = OrgId::from_uuid(new_id());
        let person = PersonId::from_uuid(new_id());
        session
            .vault
            .lock()
            .unwrap()
            .execute_all(vec![
                Command::CreateOrganization { id: org, name: "Acme".into(), domain: None },
                Command::AddPerson {
                    id: person,
                    org,
                    name: "Alice Example".into(),
                    email: "alice@acme.example".into(),
                    units: vec![],
                },
            ])
            .unwrap();
        let (state, action) = State::new(Some(org));
        let save_to = dir.path().join("alice.pub");
        let mut harness = Self { state, session, person, save_to, copied: vec![], dir };
        harness.drive(action);
        harness
    }

    fn drive(&mut self, action: Action) {
        let mut queue = VecDeque::from([action]);
        while let Some(action) = queue.pop_front() {
            match action {
                Effect::None => {}
                Effect::Run(job) => {
                    let reply = self.session.run(job);
                    queue.push_back(self.state.update(Message::Done(reply)));
                }
                Effect::Save { purpose, suggested } => {
                    assert!(suggested.ends_with(".pub"), "{suggested}");
                    queue.push_back(self.state.update(Message::Picked(purpose, Some(self.save_to.clone()))));
                }
                Effect::Copy(text) => self.copied.push(text),
                Effect::Select(_) => panic!("the Keys screen does not change the current organization"),
            }
        }
    }

    fn ui(&mut self, interact: impl FnOnce(&mut Simulator<'_, Message>)) {
        let messages: Vec<Message> = {
            let mut ui = window(self.state.view());
            interact(&mut ui);
            ui.into_messages().collect()
        };
        for message in messages {
            let action = self.state.update(message);
            self.drive(action);
        }
    }

    fn shows(&self, text: &str) -> bool {
        window(self.state.view()).find(text).is_ok()
    }

    fn vault<T>(&self, f: impl FnOnce(&Vault) -> T) -> T {
        f(&self.session.vault.lock().unwrap())
    }
}

#[test]
fn gui_keys_generate_revoke_export_and_copy() {
    let mut h = Harness::new();
    assert!(h.shows("no keys"));
    assert!(h.shows("Choose a person to generate a key for."));

    // Choose the owner ("Everyone", "Alice Example <…>") and generate.
    h.ui(|ui| {
        pick(ui, "key-owner", 1);
    });
    h.ui(|ui| {
        ui.click("Generate key").unwrap();
    });
    let keys = h.vault(|v| v.keys(Some(h.person)).unwrap());
    assert_eq!(keys.len(), 1, "one key generated");
    let key = keys[0].clone();
    assert_eq!((key.status, key.algorithm.as_str()), ("active", "ed25519"));
    assert!(key.fingerprint.starts_with("SHA256:"));
    assert!(h.shows(&key.fingerprint), "the view shows the fingerprint");
    assert!(h.shows("active"));
    assert!(h.shows(&format!("Key generated: {}.", key.fingerprint)));

    // Revoking without a reason is refused inline, in the domain's words; nothing changes.
    h.ui(|ui| {
        ui.click("Revoke…").unwrap();
    });
    h.ui(|ui| {
        ui.click("Revoke key").unwrap();
    });
    assert!(h.shows("the revocation reason is empty; give at least one visible character"), "{:#?}", h.state);
    assert_eq!(h.vault(|v| v.keys(Some(h.person)).unwrap())[0].status, "active");

    // With a reason (Enter submits).
    h.ui(|ui| {
        type_into(ui, "revoke-reason", "laptop lost");
        let _ = ui.tap_key(iced::keyboard::Key::Named(iced::keyboard::key::Named::Enter));
    });
    let revoked = h.vault(|v| v.keys(Some(h.person)).unwrap()).remove(0);
    assert_eq!(revoked.status, "revoked");
    assert_eq!(revoked.revoked_reason.as_deref(), Some("laptop lost"));
    assert!(h.shows("revoked"));
    assert!(h.shows(&key.fingerprint));
    assert!(h.shows("laptop lost"));

    // Export the public key through the save dialog.
    h.ui(|ui| {
        ui.click("Export public key…").unwrap();
    });
    let written = std::fs::read_to_string(&h.save_to).unwrap();
    assert!(written.starts_with("ssh-ed25519 "), "{written}");
    assert_eq!(written, format!("{} alice@acme.example\n", key.public_key));
    assert!(h.shows(&format!("Public key written to {}.", h.save_to.display())));

    // Copy the fingerprint.
    h.ui(|ui| {
        ui.click("Copy fingerprint").unwrap();
    });
    assert_eq!(h.copied, vec![key.fingerprint.clone()]);
    assert!(h.dir.path().exists());
}
