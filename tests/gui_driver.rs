//! What the screen tests driven through the whole form share: a vault with people, and a
//! [`Driver`] — clicking, typing into a field and reading what is shown, with the iced_test
//! simulator, each message the view gives handed to the driver in order.

use std::path::Path;

use cim_keys::app::{Vault, new_id};
use cim_keys::domain::{Command, OrgId, PersonId};
use iced_test::selector::{self, Candidate};
use iced_test::{Simulator, simulator};

use crate::support::library_vault;

/// A vault with one organization and `people` people (a domain event each).
pub fn vault_with(dir: &Path, people: usize) -> Vault {
    let mut vault = library_vault(dir);
    let org = OrgId::from_uuid(new_id());
    let mut commands = vec![Command::CreateOrganization { id: org, name: "Acme Corp".into(), domain: None }];
    for i in 0..people {
        commands.push(Command::AddPerson {
            id: PersonId::from_uuid(new_id()),
            org,
            name: format!("Person {i}"),
            email: format!("person{i}@acme.example"),
            units: vec![],
        });
    }
    vault.execute_all(commands).unwrap();
    vault
}

/// A screen (or the whole app) under test: what it shows, and what it does with a message.
pub trait Driver {
    /// Its message type.
    type Message;

    /// What it shows now.
    fn view(&self) -> iced::Element<'_, Self::Message>;

    /// Updates it with one message, doing what the root would do with the result.
    fn handle(&mut self, message: Self::Message);

    /// Does what the simulator records after `interact`, message by message.
    fn interact(&mut self, interact: impl FnOnce(&mut Simulator<'_, Self::Message>)) {
        let messages: Vec<Self::Message> = {
            let mut ui = simulator(self.view());
            interact(&mut ui);
            ui.into_messages().collect()
        };
        assert!(!messages.is_empty(), "the interaction produced no message");
        for message in messages {
            self.handle(message);
        }
    }

    /// Clicks the button with this label.
    fn click(&mut self, label: &'static str) {
        self.interact(|ui| {
            ui.click(label).unwrap_or_else(|e| panic!("cannot click {label:?}: {e}"));
        });
    }

    /// Replaces what a field holds with `text`, as typed.
    fn type_into(&mut self, id: &'static str, text: &str) {
        use iced::keyboard::{Key, key::Named};
        self.interact(|ui| {
            ui.click(selector::id(id)).unwrap_or_else(|e| panic!("no field #{id}: {e}"));
            let _ = ui.tap_key(Key::Named(Named::End));
            for _ in 0..120 {
                let _ = ui.tap_key(Key::Named(Named::Backspace));
            }
            let _ = ui.typewrite(text);
        });
    }

    /// Every text shown.
    fn texts(&self) -> Vec<String> {
        let mut ui = simulator(self.view());
        let mut texts = Vec::new();
        let _ = ui.find(|candidate: Candidate<'_>| -> Option<()> {
            if let Candidate::Text { content, .. } = candidate {
                texts.push(content.to_owned());
            }
            None
        });
        texts
    }

    /// Whether some text contains this.
    fn shows(&self, part: &str) -> bool {
        self.texts().iter().any(|t| t.contains(part))
    }

    /// Whether some text is exactly this.
    fn shows_exactly(&self, whole: &str) -> bool {
        self.texts().iter().any(|t| t == whole)
    }

    /// Fails unless some text contains this.
    #[track_caller]
    fn assert_shows(&self, part: &str) {
        assert!(self.shows(part), "{part:?} is not shown; the screen shows {:#?}", self.texts());
    }
}
