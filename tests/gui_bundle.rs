//! The Export / import screen, driven through the iced_test simulator against real vaults in
//! temp dirs: an export through the form imported into a second vault through its form (the
//! signer shown is the first vault's device key), a passphrase typed differently twice, a
//! wrong import passphrase, recipients and an identity file, progress reports while a long
//! export runs, and cancelling an export and an import. Transfers run through the same stream
//! the root runs ([`jobs::bundle::start`]), on a Tokio runtime, its events fed to the screen as
//! messages in order; a cancel is set before the stream runs, so the outcome never depends on
//! timing.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use cim_keys::app::Vault;
use cim_keys::app::bundle::{BundleProgress, ExportReport};
use cim_keys::bundle::Seal;
use cim_keys::crypto::keystore::Passphrase;
use cim_keys::gui::jobs::bundle::{self as jobs, Event, Outcome, Start};
use cim_keys::gui::screen::bundle::{Action, Message, Pick, Side, State};
use cim_keys::gui::{App, Screen as RootScreen, Section, Session};
use iced::futures::StreamExt;
use iced_test::simulator;
use tempfile::TempDir;

use crate::gui_driver::{Driver, vault_with};
use crate::support::{PASSPHRASE, library_vault};

/// The passphrase bundles are encrypted to.
const BUNDLE_PASSPHRASE: &str = "sd card crossing 42";

/// The screen on a vault, what it started and not yet ran, and what it reported.
struct Screen {
    session: Session,
    state: State,
    /// A transfer started by the screen, run by [`Screen::finish`].
    pending: Option<Start>,
    /// The progress reports of the last transfer, in order.
    progress: Vec<BundleProgress>,
    /// What the screen showed after each progress report.
    shown: Vec<Vec<String>>,
    /// What the next file dialog "picks".
    pick: Option<PathBuf>,
    runtime: tokio::runtime::Runtime,
}

impl Screen {
    fn new(vault: Vault) -> Self {
        let session = Session {
            vault: Arc::new(Mutex::new(vault)),
            passphrase: Arc::new(Passphrase::new(PASSPHRASE.to_owned()).unwrap()),
        };
        let (state, action) = State::new();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut screen = Self { session, state, pending: None, progress: vec![], shown: vec![], pick: None, runtime };
        screen.drive(action);
        assert!(screen.state.info().is_some(), "the screen loads the vault's fingerprint");
        screen
    }

    fn vault(&self) -> std::sync::MutexGuard<'_, Vault> {
        self.session.vault.lock().unwrap()
    }

    /// Carries out what the screen asked for, as the root would; a transfer waits for
    /// [`Screen::finish`].
    fn drive(&mut self, action: Action) {
        match action {
            Action::None | Action::Copy(_) => {}
            Action::Run(job) => {
                let reply = self.session.run(job);
                let action = self.state.update(Message::Done(reply));
                self.drive(action);
            }
            Action::Start(start) => {
                assert!(self.pending.is_none(), "two transfers at once");
                assert!(!format!("{start:?}").contains(BUNDLE_PASSPHRASE), "a secret leaked into Debug");
                self.pending = Some(start);
            }
            Action::Pick(pick) => {
                assert_eq!(pick, Pick::Identity, "only the identity dialog is expected");
                let path = self.pick.take().expect("a dialog was not expected");
                let action = self.state.update(Message::Picked(pick, Some(path)));
                self.drive(action);
            }
        }
    }

    /// Runs the pending transfer through the root's stream and feeds its events to the screen.
    fn finish(&mut self) {
        let start = self.pending.take().expect("a transfer was started");
        let id = start.id;
        let events: Vec<Event> = self.runtime.block_on(jobs::start(self.session.clone(), start).collect());
        assert!(matches!(events.last(), Some(Event::Finished(_))), "the stream ends with the outcome");
        self.progress.clear();
        self.shown.clear();
        for event in events {
            if let Event::Progress(p) = &event {
                self.progress.push(*p);
            }
            let is_progress = matches!(event, Event::Progress(_));
            let action = self.state.update(Message::Transfer(id, event));
            self.drive(action);
            if is_progress {
                self.shown.push(self.texts());
            }
        }
        assert!(!self.state.running());
    }

    /// Types a folder and the bundle passphrase (twice: `confirm`) and clicks Export.
    fn export(&mut self, folder: &Path, confirm: &str) {
        self.type_into("export-folder", &folder.display().to_string());
        self.type_into("bundle-passphrase", BUNDLE_PASSPHRASE);
        self.type_into("bundle-confirm", confirm);
        self.click("Export");
    }

    /// Types a bundle file and its passphrase and clicks Import.
    fn import(&mut self, file: &Path, passphrase: &str) {
        self.type_into("import-file", &file.display().to_string());
        self.type_into("import-passphrase", passphrase);
        self.click("Import");
    }
}

impl Driver for Screen {
    type Message = Message;

    fn view(&self) -> iced::Element<'_, Message> {
        self.state.view()
    }

    fn handle(&mut self, message: Message) {
        assert!(!format!("{message:?}").contains(BUNDLE_PASSPHRASE), "a secret leaked into Debug");
        let action = self.state.update(message);
        self.drive(action);
    }
}

/// The bundle files (`*.age`) in a folder.
fn bundles(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "age") || p.to_string_lossy().ends_with(".partial"))
        .collect()
}

/// A bundle written through the application, not the screen.
fn export_directly(vault: &mut Vault, dir: &Path) -> ExportReport {
    let passphrase = Passphrase::new(PASSPHRASE.to_owned()).unwrap();
    let seal = Seal::passphrase(&Passphrase::new(BUNDLE_PASSPHRASE.to_owned()).unwrap());
    vault.export_bundle(&passphrase, dir, &seal, false, &mut |_| {}, &AtomicBool::new(false)).unwrap()
}

#[test]
fn gui_bundle_export_through_the_screen_imports_into_a_second_vault_with_the_signer_shown() {
    let tmp = TempDir::new().unwrap();
    let mut first = Screen::new(vault_with(&tmp.path().join("first"), 3));
    let fingerprint = first.vault().device_fingerprint().unwrap().expect("a new vault has a device key");
    first.assert_shows("Export / import");
    first.assert_shows("Export to an SD card");
    first.assert_shows("Import from an SD card");
    first.assert_shows(&fingerprint);
    first.assert_shows("4 domain events");

    let card = tmp.path().join("sdcard");
    first.export(&card, BUNDLE_PASSPHRASE);
    assert!(first.state.running());
    first.assert_shows("Starting: unlocking the device key and encrypting");
    first.assert_shows("Cancel");
    first.finish();
    assert_eq!(first.state.error(Side::Export), None);
    let Some(Outcome::Exported(report)) = first.state.outcome() else { panic!("no export summary") };
    let file = report.file.clone().unwrap();
    assert!(file.is_file(), "the bundle is on the card");
    assert_eq!(bundles(&card), vec![file.clone()]);
    first.assert_shows("Bundle written");
    first.assert_shows(&file.file_name().unwrap().to_string_lossy());
    first.assert_shows(&format!("{} bytes", std::fs::metadata(&file).unwrap().len()));
    first.assert_shows(report.sha256.as_deref().unwrap());
    first.assert_shows("graph events #1–#");
    first.assert_shows("domain events #1–#4");
    first.assert_shows("(the whole history)");
    first.assert_shows(".public");
    assert!(first.texts().iter().any(|t| t == &fingerprint), "the signer is shown on its own");
    let phases: Vec<&str> = first.progress.iter().map(|p| p.phase).collect();
    assert_eq!(phases.first(), Some(&"verifying"), "{phases:?}");
    assert_eq!(phases.last(), Some(&"done"), "{phases:?}");
    assert!(first.shown[0].iter().any(|t| t == "Reading the bundle back and verifying it"));
    // The secrets typed are gone once used.
    assert!(first.texts().iter().all(|t| !t.contains(BUNDLE_PASSPHRASE)));

    // The second vault imports it through its screen, naming the signer it expects.
    let mut second = Screen::new(library_vault(&tmp.path().join("second")));
    let own = second.vault().device_fingerprint().unwrap().unwrap();
    assert_ne!(own, fingerprint);
    second.assert_shows("0 domain events");
    second.type_into("expect-signer", &fingerprint);
    second.import(&file, BUNDLE_PASSPHRASE);
    second.assert_shows("Starting: decrypting and checking the signature");
    second.finish();
    assert_eq!(second.state.error(Side::Import), None);
    let Some(Outcome::Imported(imported)) = second.state.outcome() else { panic!("no import summary") };
    assert_eq!(imported.signer, fingerprint, "the signer is the first vault's device key");
    second.assert_shows("Bundle imported");
    second.assert_shows("Added 4 domain events");
    assert!(second.texts().iter().any(|t| t == &fingerprint), "the signer is shown");
    assert!(second.texts().iter().any(|t| t == &own), "beside this vault's own key");
    second.assert_shows("4 domain events ·");
    assert_eq!(second.progress.last().map(|p| p.phase), Some("done"));
    assert_eq!(second.vault().status().unwrap().head, first.vault().status().unwrap().head);

    // Importing it again changes nothing, and says so.
    second.click("Dismiss");
    second.import(&file, BUNDLE_PASSPHRASE);
    second.finish();
    second.assert_shows("Nothing new");
    second.assert_shows("This vault already held everything in the bundle; nothing was changed.");

    // Only what is new since the last export: nothing.
    first.click("Dismiss");
    first.click("Only what is new since the last export");
    first.export(&card, BUNDLE_PASSPHRASE);
    first.finish();
    first.assert_shows("Nothing new");
    first.assert_shows("no bundle was written");
    assert_eq!(bundles(&card).len(), 1);
}

#[test]
fn gui_bundle_passphrases_that_differ_are_refused_inline_and_nothing_is_written() {
    let tmp = TempDir::new().unwrap();
    let mut screen = Screen::new(vault_with(&tmp.path().join("vault"), 1));
    let card = tmp.path().join("sdcard");
    screen.export(&card, "something else");
    assert!(screen.pending.is_none(), "no export started");
    assert!(!screen.state.running());
    screen.assert_shows("the two passphrases differ; type the same one twice");
    assert!(!card.exists(), "nothing was written");

    // Nothing typed at all, and no folder.
    let (mut state, _) = State::new();
    assert!(matches!(state.update(Message::Export), Action::None));
    assert!(state.error(Side::Export).unwrap().contains("choose the folder"));
    assert!(matches!(state.update(Message::OutDir(card.display().to_string())), Action::None));
    assert!(matches!(state.update(Message::Export), Action::None));
    assert!(state.error(Side::Export).unwrap().contains("type a passphrase"));
    assert!(matches!(state.update(Message::Import), Action::None));
    assert!(state.error(Side::Import).unwrap().contains("choose the bundle file"));
    assert!(!card.exists());
}

#[test]
fn gui_bundle_a_wrong_import_passphrase_is_shown_and_the_vault_is_unchanged() {
    let tmp = TempDir::new().unwrap();
    let mut source = vault_with(&tmp.path().join("first"), 2);
    let report = export_directly(&mut source, &tmp.path().join("sdcard"));
    let file = report.file.unwrap();

    let mut screen = Screen::new(library_vault(&tmp.path().join("second")));
    let before = screen.vault().status().unwrap();
    screen.import(&file, "not the bundle passphrase");
    screen.finish();
    screen.assert_shows("the passphrase does not open this file; nothing was changed");
    assert!(screen.state.outcome().is_none());
    let after = screen.vault().status().unwrap();
    assert_eq!(
        (after.domain_events, after.graph_events, after.head),
        (before.domain_events, before.graph_events, None)
    );

    // A signer other than the one expected is refused too.
    screen.type_into("expect-signer", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    screen.import(&file, BUNDLE_PASSPHRASE);
    screen.finish();
    assert!(screen.shows(&format!("the bundle was signed by device key {}", report.signer)), "{:?}", screen.texts());
    assert_eq!(screen.vault().status().unwrap().domain_events, 0);
}

#[test]
fn gui_bundle_recipients_and_an_identity_file() {
    use age::secrecy::ExposeSecret;

    let tmp = TempDir::new().unwrap();
    let identity = age::x25519::Identity::generate();
    let identity_file = tmp.path().join("key.txt");
    std::fs::write(&identity_file, format!("# a test key\n{}\n", identity.to_string().expose_secret())).unwrap();

    let mut first = Screen::new(vault_with(&tmp.path().join("first"), 2));
    let card = tmp.path().join("sdcard");
    first.type_into("export-folder", &card.display().to_string());
    first.click("Encrypt to recipients");
    first.click("Export");
    first.assert_shows("give at least one age recipient");
    first.type_into("recipients", &identity.to_public().to_string());
    first.click("Export");
    first.finish();
    first.assert_shows("Bundle written");
    let Some(Outcome::Exported(report)) = first.state.outcome() else { panic!("no export summary") };
    assert_eq!(report.encrypted_to, vec![identity.to_public().to_string()]);
    let file = report.file.clone().unwrap();

    // A passphrase does not open it: the screen says what does.
    let mut second = Screen::new(library_vault(&tmp.path().join("second")));
    second.import(&file, BUNDLE_PASSPHRASE);
    second.finish();
    second.assert_shows("encrypted to age recipients, not to a passphrase: open it with an identity file");

    // The identity file (chosen in a dialog) does.
    second.click("Open with an identity file");
    second.pick = Some(identity_file.clone());
    second.click("Choose identity file…");
    assert!(second.pick.is_none(), "the dialog was asked for");
    second.click("Import");
    second.finish();
    second.assert_shows("Bundle imported");
    second.assert_shows("Added 3 domain events");
    assert_eq!(second.vault().status().unwrap().head, first.vault().status().unwrap().head);
}

#[test]
fn gui_bundle_a_long_export_reports_progress_and_export_and_import_can_be_cancelled() {
    let tmp = TempDir::new().unwrap();
    let mut screen = Screen::new(vault_with(&tmp.path().join("first"), 1499));
    let card = tmp.path().join("sdcard");

    // Cancel before the first checkpoint (the application looks at the flag every 250
    // events): the export stops there and writes nothing.
    screen.export(&card, BUNDLE_PASSPHRASE);
    screen.click("Cancel");
    screen.assert_shows("Cancelling…");
    screen.finish();
    screen.assert_shows("cancelled; nothing was changed");
    assert!(screen.state.outcome().is_none());
    assert_eq!(bundles(&card), Vec::<PathBuf>::new(), "no bundle and no partial file");

    // Uncancelled, it reports its progress as it goes: the bar moves.
    screen.export(&card, BUNDLE_PASSPHRASE);
    screen.finish();
    screen.assert_shows("Bundle written");
    let writing = screen.progress.iter().position(|p| p.phase == "writing").expect("a writing report");
    assert_eq!(screen.progress[writing], BundleProgress { phase: "writing", done: 250, total: 1500 });
    assert!(screen.shown[writing].iter().any(|t| t == "Writing the bundle"), "{:?}", screen.shown[writing]);
    assert!(screen.shown[writing].iter().any(|t| t == "250 of 1500 events"), "{:?}", screen.shown[writing]);
    let verifying: Vec<u64> = screen.progress.iter().filter(|p| p.phase == "verifying").map(|p| p.done).collect();
    assert_eq!(verifying, vec![0, 250, 500, 750, 1000, 1250, 1500]);
    let Some(Outcome::Exported(report)) = screen.state.outcome() else { panic!("no export summary") };
    let file = report.file.clone().unwrap();

    // An import cancelled (here by leaving the screen) changes nothing.
    let mut second = Screen::new(library_vault(&tmp.path().join("second")));
    second.import(&file, BUNDLE_PASSPHRASE);
    second.state.leave();
    second.finish();
    second.assert_shows("cancelled; nothing was changed");
    let status = second.vault().status().unwrap();
    assert_eq!((status.domain_events, status.head), (0, None));
}

#[test]
fn gui_bundle_the_screen_is_in_the_sidebar_and_ignores_a_stale_transfer() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("vault");
    drop(vault_with(&dir, 1));
    let (mut app, _) = App::new(dir.clone());
    let session = cim_keys::gui::jobs::vault::open(
        &dir,
        cim_keys::gui::jobs::vault::OpenRequest::Unlock(cim_keys::gui::SecretText::new(PASSPHRASE.to_owned())),
    )
    .unwrap();
    let _ = app.update(cim_keys::gui::Message::Opened(Ok(session)));
    let _ = simulator(app.view()).find("Export / import").expect("the sidebar lists the screen");
    let _ = app.update(cim_keys::gui::Message::Navigate(Section::Bundle));
    assert!(matches!(app.screen(), RootScreen::Bundle(_)));
    let mut ui = simulator(app.view());
    ui.find("Export to an SD card").unwrap();
    ui.find("Import from an SD card").unwrap();

    // An event of a transfer this screen did not start (an earlier, cancelled one) is ignored.
    let (mut state, _) = State::new();
    let _ = state.update(Message::Transfer(u64::MAX, Event::Finished(Err(cim_keys::gui::GuiError::new("late")))));
    assert_eq!(state.error(Side::Export), None);
    assert_eq!(state.error(Side::Import), None);
}
