//! GUI tests of the vault screen and the root (iced_test simulator, real vaults in temp dirs):
//! create a vault through the form, unlock with a wrong then the right passphrase, a database
//! of a newer cim-keys opens the error screen, and locking drops the session.

use cim_keys::gui::jobs::vault::{OpenRequest, open};
use cim_keys::gui::screen::vault::{Action, Message, Mode, State};
use cim_keys::gui::{App, Screen, SecretText};
use iced_test::simulator;

const PASSPHRASE: &str = "correct horse battery staple";

/// Types `text` into the input with id `id` and returns the messages it produced.
fn type_into(state: &State, id: &'static str, text: &str) -> Vec<Message> {
    let mut ui = simulator(state.view());
    ui.click(iced_test::selector::id(id)).expect("the input is on the screen");
    let _ = ui.typewrite(text);
    ui.into_messages().collect()
}

/// Clicks the button labelled `label`; returns the messages.
fn click(state: &State, label: &str) -> Vec<Message> {
    let mut ui = simulator(state.view());
    ui.click(label).unwrap_or_else(|e| panic!("no {label:?} on the screen: {e:?}"));
    ui.into_messages().collect()
}

/// Feeds messages; returns the last non-empty action.
fn feed(state: &mut State, messages: Vec<Message>) -> Option<OpenRequest> {
    let mut request = None;
    for message in messages {
        if let Action::Open(r) = state.update(message) {
            request = Some(r);
        }
    }
    request
}

fn shows(state: &State, text: &str) -> bool {
    simulator(state.view()).find(text).is_ok()
}

#[test]
fn a_vault_is_created_through_the_form_and_unlocked_after_a_wrong_passphrase() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("vault");

    // Create: the passphrase twice; a mismatch is refused on the screen.
    let mut state = State::new(&dir);
    assert_eq!(state.mode(), Mode::Create);
    assert!(shows(&state, "Create a vault"));
    let typed = type_into(&state, "passphrase", PASSPHRASE);
    assert!(typed.iter().all(|m| !format!("{m:?}").contains("horse")), "a secret leaked into Debug: {typed:?}");
    feed(&mut state, typed);
    assert!(shows(&state, "Strength: strong"));
    {
        let m = type_into(&state, "confirm", "something else");
        feed(&mut state, m)
    };
    assert!(
        {
            let m = click(&state, "Create vault");
            feed(&mut state, m)
        }
        .is_none()
    );
    assert!(shows(&state, "the two passphrases differ; type the same one twice"));
    assert!(!dir.join(cim_keys::store::DATABASE_FILE).exists(), "nothing is created on a mismatch");

    let mut state = State::new(&dir);
    {
        let m = type_into(&state, "passphrase", PASSPHRASE);
        feed(&mut state, m)
    };
    {
        let m = type_into(&state, "confirm", PASSPHRASE);
        feed(&mut state, m)
    };
    let request = {
        let m = click(&state, "Create vault");
        feed(&mut state, m)
    }
    .expect("the form submits");
    assert_eq!(format!("{request:?}"), "Create([redacted])");
    let session = open(&dir, request).expect("the vault is created");
    assert!(session.vault.lock().unwrap().status().unwrap().head.is_none());
    drop(session);

    // Unlock: a wrong passphrase is shown inline and can be retried.
    let mut state = State::new(&dir);
    assert_eq!(state.mode(), Mode::Unlock);
    assert!(shows(&state, "Unlock the vault"));
    {
        let m = type_into(&state, "passphrase", "not the passphrase");
        feed(&mut state, m)
    };
    let request = {
        let m = click(&state, "Unlock");
        feed(&mut state, m)
    }
    .expect("the form submits");
    let error = open(&dir, request).expect_err("a wrong passphrase is refused");
    assert!(state.can_retry(&error), "{error:?}");
    state.failed(error);
    assert!(shows(&state, "the passphrase is wrong"), "{:?}", state.error());

    {
        let m = type_into(&state, "passphrase", PASSPHRASE);
        feed(&mut state, m)
    };
    let request = {
        let m = click(&state, "Unlock");
        feed(&mut state, m)
    }
    .expect("the form submits");
    let session = open(&dir, request).expect("the right passphrase unlocks");
    assert!(session.vault.lock().unwrap().kdf_params().unwrap().is_some());
}

#[test]
fn enter_submits_the_unlock_form() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("vault");
    open(&dir, OpenRequest::Create(SecretText::new(PASSPHRASE.into()))).unwrap();
    let mut state = State::new(&dir);
    let mut ui = simulator(state.view());
    ui.click(iced_test::selector::id("passphrase")).unwrap();
    let _ = ui.typewrite(PASSPHRASE);
    let _ = ui.tap_key(iced::keyboard::Key::Named(iced::keyboard::key::Named::Enter));
    let messages: Vec<Message> = ui.into_messages().collect();
    let request = feed(&mut state, messages).expect("Enter submits");
    assert!(open(&dir, request).is_ok());
}

#[test]
fn a_database_of_a_newer_cim_keys_opens_the_error_screen_and_is_left_alone() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("vault");
    open(&dir, OpenRequest::Create(SecretText::new(PASSPHRASE.into()))).unwrap();
    let file = dir.join(cim_keys::store::DATABASE_FILE);
    {
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
    }
    let before = std::fs::read(&file).unwrap();

    let (mut app, _) = App::new(dir.clone());
    let error = open(&dir, OpenRequest::Unlock(SecretText::new(PASSPHRASE.into()))).expect_err("refused");
    assert!(!error.invalid_input, "{error:?}");
    let _ = app.update(cim_keys::gui::Message::Opened(Err(error.clone())));
    let Screen::Failed(reason) = app.screen() else { panic!("expected the error screen, got {:?}", app.screen()) };
    assert_eq!(reason, &error.message);
    assert!(reason.contains("newer"), "{reason}");
    assert!(simulator(app.view()).find("The vault cannot be opened").is_ok());
    assert_eq!(std::fs::read(&file).unwrap(), before, "the newer database is not touched");
}

#[test]
fn locking_drops_the_session_and_returns_to_the_unlock_screen() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("vault");
    let session = open(&dir, OpenRequest::Create(SecretText::new(PASSPHRASE.into()))).unwrap();
    let (mut app, _) = App::new(dir);
    let _ = app.update(cim_keys::gui::Message::Opened(Ok(session)));
    assert!(app.session().is_some());
    assert!(matches!(app.screen(), Screen::Organization(_)));
    let _ = app.update(cim_keys::gui::Message::Lock);
    assert!(app.session().is_none());
    let Screen::Vault(state) = app.screen() else { panic!("expected the vault screen") };
    assert_eq!(state.mode(), Mode::Unlock);
}

#[test]
fn escape_closes_the_revoke_form_of_the_keys_screen() {
    use cim_keys::domain::{Command, OrgId, PersonId};
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("vault");
    let session = open(&dir, OpenRequest::Create(SecretText::new(PASSPHRASE.into()))).unwrap();
    let (org, person) = (OrgId::from_uuid(cim_keys::app::new_id()), PersonId::from_uuid(cim_keys::app::new_id()));
    let key = {
        let mut vault = session.vault.lock().unwrap();
        vault
            .execute_all(vec![
                Command::CreateOrganization { id: org, name: "Acme".into(), domain: None },
                Command::AddPerson {
                    id: person,
                    org,
                    name: "Ann".into(),
                    email: "ann@acme.example".into(),
                    units: vec![],
                },
            ])
            .unwrap();
        let passphrase = session.passphrase.clone();
        vault.generate_key(person, &passphrase).unwrap().0
    };
    let (mut app, _) = App::new(dir);
    let _ = app.update(cim_keys::gui::Message::Opened(Ok(session.clone())));
    let _ = app.update(cim_keys::gui::Message::Navigate(cim_keys::gui::Section::Keys));
    // Load the keys as the root's task would.
    let Screen::Keys(_) = app.screen() else { panic!("expected the keys screen") };
    let reply = session.run(cim_keys::gui::jobs::keys::Request::Load { org });
    let _ = app.update(cim_keys::gui::Message::Keys(cim_keys::gui::screen::keys::Message::Done(reply)));
    let _ =
        app.update(cim_keys::gui::Message::Keys(cim_keys::gui::screen::keys::Message::StartRevoke(key.to_string())));
    assert!(simulator(app.view()).find("Revoke key").is_ok(), "the revoke form is open");
    let _ = app.update(cim_keys::gui::Message::Escape);
    assert!(simulator(app.view()).find("Revoke key").is_err(), "Escape closed the revoke form");
    assert_eq!(session.vault.lock().unwrap().key(key).unwrap().status, "active", "nothing was revoked");
}

#[test]
fn the_vault_locks_itself_after_the_configured_idle_time() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("vault");
    let session = open(&dir, OpenRequest::Create(SecretText::new(PASSPHRASE.into()))).unwrap();
    let (mut app, _) = App::with_idle_lock(dir, std::time::Duration::from_secs(2));
    let _ = app.update(cim_keys::gui::Message::Opened(Ok(session)));
    // Input keeps it open.
    let _ = app.update(cim_keys::gui::Message::Tick);
    assert!(app.session().is_some(), "not idle yet");
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let _ = app.update(cim_keys::gui::Message::Activity);
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let _ = app.update(cim_keys::gui::Message::Tick);
    assert!(app.session().is_some(), "the input reset the idle timer");
    // Idle long enough: the next tick locks.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let _ = app.update(cim_keys::gui::Message::Tick);
    assert!(app.session().is_none(), "locked after the idle time");
    assert!(matches!(app.screen(), Screen::Vault(_)));
}

#[test]
fn the_passphrase_is_hidden_until_revealed() {
    let tmp = tempfile::TempDir::new().unwrap();
    let mut state = State::new(&tmp.path().join("vault"));
    let typed = type_into(&state, "passphrase", PASSPHRASE);
    feed(&mut state, typed);
    assert!(!shows(&state, PASSPHRASE), "the passphrase is shown while hidden");
    let toggled = click(&state, "Show the passphrase");
    feed(&mut state, toggled);
    assert!(shows(&state, PASSPHRASE), "revealed, the passphrase is shown");
}
