//! The PKI screen, driven through the iced_test simulator against a real vault in a temp dir:
//! initialize the CA hierarchy, issue a server certificate through the form, export its PEM,
//! and see a bad subject alternative name refused next to the form with nothing recorded.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cim_keys::app::{Vault, new_id};
use cim_keys::crypto::keystore::Passphrase;
use cim_keys::domain::{Command, OrgId};
use cim_keys::gui::screen::pki::{Action, Message, State};
use cim_keys::gui::{Effect, Session};
use iced_test::selector::{self, Candidate};
use iced_test::simulator;
use tempfile::TempDir;

use crate::support::{PASSPHRASE, library_vault};

/// The screen, its session, and where the next save dialog "saves".
struct Screen {
    dir: TempDir,
    session: Session,
    state: State,
    org: OrgId,
    save_to: Option<PathBuf>,
}

impl Screen {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut vault = library_vault(&dir.path().join("vault"));
        let org = OrgId::from_uuid(new_id());
        vault.execute(Command::CreateOrganization { id: org, name: "Acme Corp".into(), domain: None }).unwrap();
        let session = Session {
            vault: Arc::new(Mutex::new(vault)),
            passphrase: Arc::new(Passphrase::new(PASSPHRASE.to_owned()).unwrap()),
        };
        let (state, action) = State::new(None);
        let mut screen = Self { dir, session, state, org, save_to: None };
        screen.drive(action);
        screen
    }

    fn vault(&self) -> std::sync::MutexGuard<'_, Vault> {
        self.session.vault.lock().unwrap()
    }

    /// Carries out what the screen asked for, as the root would, until it asks for nothing.
    fn drive(&mut self, action: Action) {
        let mut next = Some(action);
        while let Some(action) = next.take() {
            next = match action {
                Effect::None | Effect::Copy(_) => None,
                Effect::Select(org) => {
                    assert_eq!(org, self.org, "the screen picks the vault's only organization");
                    None
                }
                Effect::Run(job) => {
                    let reply = self.session.run(job);
                    Some(self.state.update(Message::Done(reply)))
                }
                Effect::Save { purpose, suggested } => {
                    assert!(suggested.ends_with(".pem"));
                    let path = self.save_to.take().expect("a save dialog was not expected");
                    Some(self.state.update(Message::Picked(purpose, Some(path))))
                }
            };
        }
    }

    /// Does what the simulator records after `interact`, message by message.
    fn interact(&mut self, interact: impl FnOnce(&mut iced_test::Simulator<'_, Message>)) {
        let messages: Vec<Message> = {
            let mut ui = simulator(self.state.view());
            interact(&mut ui);
            ui.into_messages().collect()
        };
        assert!(!messages.is_empty(), "the interaction produced no message");
        for message in messages {
            let action = self.state.update(message);
            self.drive(action);
        }
    }

    fn click(&mut self, label: &'static str) {
        self.interact(|ui| {
            ui.click(label).unwrap_or_else(|e| panic!("cannot click {label:?}: {e}"));
        });
    }

    /// Fills the issue form (kind left at "server") and submits it with Enter.
    fn issue(&mut self, common_name: &str, names: &str) {
        self.interact(|ui| {
            ui.click(selector::id("pki-common-name")).unwrap();
            ui.typewrite(common_name);
            ui.click(selector::id("pki-names")).unwrap();
            ui.typewrite(names);
            ui.tap_key(iced::keyboard::key::Named::Enter);
        });
    }

    /// Whether a text shows exactly this.
    fn shows(&self, text: &str) -> bool {
        simulator(self.state.view()).find(text).is_ok()
    }

    /// Whether some text contains this.
    fn shows_part(&self, part: &str) -> bool {
        simulator(self.state.view())
            .find(|candidate: Candidate<'_>| match candidate {
                Candidate::Text { content, .. } if content.contains(part) => Some(()),
                _ => None,
            })
            .is_ok()
    }
}

#[test]
fn gui_pki_init_issue_export_and_refuse_a_bad_name() {
    let mut screen = Screen::new();
    assert!(screen.shows("Acme Corp has no certificate authority yet"));
    assert!(screen.vault().pki_list(screen.org).unwrap().0.is_empty());

    screen.click("Initialize PKI");
    let (cas, certificates) = screen.vault().pki_list(screen.org).unwrap();
    assert_eq!(cas.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(), ["root", "intermediate"]);
    assert!(certificates.is_empty());
    assert!(screen.shows("Acme Corp Root CA"));
    assert!(screen.shows("Acme Corp Intermediate CA"));
    assert!(screen.shows("Certificates issued by the intermediate CA (0)"));

    // Issue a server certificate through the form.
    screen.issue("nats.acme.example", "nats.acme.example, 127.0.0.1");
    assert!(screen.shows("Issued the certificate of nats.acme.example."));
    let (_, certificates) = screen.vault().pki_list(screen.org).unwrap();
    assert_eq!(certificates.len(), 1);
    let certificate = &certificates[0];
    assert_eq!(certificate.kind, "server");
    assert!(certificate.subject.starts_with("CN=nats.acme.example"));
    assert!(certificate.names.iter().any(|n| n == "DNS:nats.acme.example"), "{:?}", certificate.names);
    assert!(certificate.names.iter().any(|n| n.contains("127.0.0.1")), "{:?}", certificate.names);
    assert_eq!(certificate.issuer.as_deref(), Some(cas[1].id.as_str()));
    assert!(screen.shows("nats.acme.example"), "the list shows the common name");
    assert!(screen.shows(&certificate.fingerprint));
    assert!(screen.shows("Certificates issued by the intermediate CA (1)"));

    // Export its PEM.
    let pem = screen.dir.path().join("nats.pem");
    screen.save_to = Some(pem.clone());
    let id = format!("pki-pem-{}", certificate.id);
    screen.interact(|ui| {
        ui.click(selector::id(id)).unwrap();
    });
    assert!(screen.shows_part("PEM written to"));
    let text = std::fs::read_to_string(&pem).unwrap();
    assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{text}");
    assert_eq!(text, screen.vault().pki_pem(&certificate.id).unwrap());

    // A bad subject alternative name: the domain's message next to the form, nothing recorded.
    let events = screen.vault().status().unwrap();
    screen.issue("bad.acme.example", "bogus:thing");
    assert!(screen.shows("'bogus:thing' is not a subject alternative name; use DNS:…, IP:…, email:… or URI:…"));
    assert_eq!(screen.vault().pki_list(screen.org).unwrap().1.len(), 1);
    assert_eq!(format!("{:?}", screen.vault().status().unwrap()), format!("{events:?}"));
}
