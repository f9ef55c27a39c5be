//! The NATS screen, driven through the iced_test simulator against a real vault in a temp dir:
//! bootstrap, a user's decoded claims, creds export, revocation, signing key rotation, the
//! server configuration, and paging of a large account. Every step checks the text shown and
//! what the vault then holds.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cim_keys::app::{Vault, new_id};
use cim_keys::crypto::keystore::Passphrase;
use cim_keys::domain::{Command, OrgId, PersonId, UnitId};
use cim_keys::gui::screen::nats::{Action, Message, State};
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
    /// A vault with one organization, its people given as (e-mail, in the unit "Ops").
    fn new(people: &[(&str, bool)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut vault = library_vault(&dir.path().join("vault"));
        let org = OrgId::from_uuid(new_id());
        let unit = UnitId::from_uuid(new_id());
        let mut commands = vec![
            Command::CreateOrganization { id: org, name: "Acme Corp".into(), domain: None },
            Command::CreateUnit { id: unit, org, parent: None, name: "Ops".into() },
        ];
        for (email, in_unit) in people {
            commands.push(Command::AddPerson {
                id: PersonId::from_uuid(new_id()),
                org,
                name: email.split('@').next().unwrap().to_owned(),
                email: (*email).to_owned(),
                units: if *in_unit { vec![unit] } else { vec![] },
            });
        }
        vault.execute_all(commands).unwrap();
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
                    let message = Message::Done(reply);
                    assert!(!format!("{message:?}").contains("NKEY SEED"), "a seed travelled in a message");
                    Some(self.state.update(message))
                }
                Effect::Save { purpose, suggested } => {
                    assert!(!suggested.is_empty());
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

    fn click_id(&mut self, id: String) {
        self.interact(|ui| {
            ui.click(selector::id(id.clone())).unwrap_or_else(|e| panic!("cannot click #{id}: {e}"));
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
fn gui_nats_bootstrap_claims_creds_revoke_rotate() {
    let mut screen =
        Screen::new(&[("ann@acme.example", false), ("carol@acme.example", false), ("bob@acme.example", true)]);
    assert!(screen.shows("Acme Corp has no NATS hierarchy yet"));

    screen.click("Bootstrap");
    assert!(screen.shows("Bootstrapped: 3 accounts and 3 users created."));
    let tree = screen.vault().nats_list(screen.org).unwrap();
    assert_eq!(tree.accounts.len(), 3);
    assert_eq!(tree.users.len(), 3);
    assert!(screen.shows("Operator · Acme Corp"));
    assert!(screen.shows("Ops"));
    assert!(screen.shows("2 users"), "the organization account is expanded, with ann and carol");

    // A user's decoded claims.
    let org_account = tree.accounts.iter().find(|a| !a.system && a.unit_id.is_none()).unwrap().clone();
    let ann = tree.users.iter().find(|u| u.name == "ann@acme.example").unwrap().clone();
    screen.click("ann@acme.example");
    assert!(screen.shows("User ann@acme.example"));
    assert!(screen.shows(&ann.public_key));
    assert!(screen.shows_part("\"issuer_account\""));
    assert!(screen.shows_part(&format!("\"issuer_account\": \"{}\"", org_account.public_key)));
    assert!(screen.shows_part("\"name\": \"ann@acme.example\""));

    // Export creds.
    let creds = screen.dir.path().join("ann.creds");
    screen.save_to = Some(creds.clone());
    screen.click("Export creds…");
    assert!(screen.shows_part("Creds written to"));
    let written = std::fs::read_to_string(&creds).unwrap();
    assert!(written.contains("-----BEGIN NATS USER JWT-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Revoke, after confirming.
    screen.click("Revoke");
    assert!(screen.shows_part("Revoke user ann@acme.example?"));
    assert!(screen.vault().nats_list(screen.org).unwrap().users.iter().all(|u| u.revoked_at.is_none()));
    screen.click("Revoke user");
    assert!(screen.shows_part("Revoked ann@acme.example"));
    assert!(screen.shows("revoked"), "the tree marks the user");
    let tree = screen.vault().nats_list(screen.org).unwrap();
    assert!(tree.users.iter().find(|u| u.id == ann.id).unwrap().revoked_at.is_some());
    assert!(tree.users.iter().filter(|u| u.id != ann.id).all(|u| u.revoked_at.is_none()));

    // Rotate the organization account's member key: the account and carol are re-issued,
    // ann (revoked) is not.
    screen.click_id(format!("nats-account-{}", org_account.id));
    assert!(screen.shows("Account Acme Corp"));
    assert!(screen.shows_part("\"type\": \"account\""));
    let member = org_account.signing_keys.iter().find(|k| k.role.as_deref() == Some("member")).unwrap().clone();
    screen.click_id(format!("nats-rotate-{}", member.public_key));
    assert!(screen.shows_part("Rotate signing key"));
    screen.click("Rotate key");
    assert!(screen.shows("Signing key rotated"));
    assert!(screen.shows("Re-issued 2 JWTs:"));
    assert!(screen.shows("carol@acme.example"));
    assert!(screen.shows_part("not re-issued so they stay revoked): ann@acme.example"));
    let tree = screen.vault().nats_list(screen.org).unwrap();
    let account = tree.accounts.iter().find(|a| a.id == org_account.id).unwrap();
    let new_member = account.signing_keys.iter().find(|k| k.role.as_deref() == Some("member")).unwrap();
    assert_ne!(new_member.public_key, member.public_key);
    assert!(screen.shows(&new_member.public_key), "the report and the account show the new key");
    assert!(screen.shows_part(&new_member.public_key[..20]));
    let carol = tree.users.iter().find(|u| u.name == "carol@acme.example").unwrap();
    assert_eq!(carol.signer, new_member.public_key);
    assert_eq!(tree.users.iter().find(|u| u.id == ann.id).unwrap().signer, member.public_key);
    // The account's claims now name the new key.
    assert!(screen.shows_part(&format!("\"key\": \"{}\"", new_member.public_key)));

    // The server configuration.
    let config = screen.dir.path().join("nats-server.conf");
    screen.save_to = Some(config.clone());
    screen.click("Export server config…");
    assert!(screen.shows_part("Server configuration written to"));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("resolver"));
    assert!(text.contains("jetstream"));
}

#[test]
fn gui_nats_pages_a_large_account_and_filters_it() {
    let people: Vec<String> = (0..250).map(|i| format!("user-{i:04}@acme.example")).collect();
    let refs: Vec<(&str, bool)> = people.iter().map(|p| (p.as_str(), false)).collect();
    let mut screen = Screen::new(&refs);
    screen.click("Bootstrap");
    assert_eq!(screen.vault().nats_list(screen.org).unwrap().users.len(), 250);
    assert!(screen.shows("250 users"));
    assert!(screen.shows("Users 1–100 of 250"));
    assert!(screen.shows("user-0000@acme.example"));
    assert!(!screen.shows("user-0100@acme.example"), "only one page is built");

    screen.click("Next");
    assert!(screen.shows("Users 101–200 of 250"));
    assert!(screen.shows("user-0100@acme.example"));
    assert!(!screen.shows("user-0000@acme.example"));

    screen.interact(|ui| {
        ui.click(selector::id("nats-filter")).unwrap();
        ui.typewrite("user-0249");
    });
    assert!(screen.shows("1 of 250 users"));
    assert!(screen.shows("user-0249@acme.example"));
    assert!(!screen.shows("user-0100@acme.example"));
    screen.click("user-0249@acme.example");
    assert!(screen.shows_part("\"name\": \"user-0249@acme.example\""));
}
