//! The Sync screen and the status bar, driven through the whole [`App`] with the iced_test
//! simulator, against real vaults in temp dirs and a real nats-server with JetStream.
//!
//! Everything the root would do is done for real: the tasks the app returns run on a Tokio
//! runtime and their messages go back into `App::update`; the upload runs through the app's own
//! [`App::subscription`] — its recipes are turned into streams exactly as iced's runtime does
//! (with no window events), and the messages they give go back into the app until the upload's
//! outcome arrives. The stream on the server is then checked with an independent client.

use std::path::Path;
use std::time::Duration;

use async_nats::jetstream;
use cim_keys::gui::jobs::sync::{Event, LastError, Loaded, Reply, Standing};
use cim_keys::gui::jobs::vault::{OpenRequest, open};
use cim_keys::gui::screen::sync::{Message as SyncMessage, Pick};
use cim_keys::gui::{App, Message, Screen, SecretText, Section};
use cim_keys::sync::STREAM;
use iced::futures::StreamExt;
use iced::futures::stream::{self, BoxStream};
use iced_test::futures::subscription::into_recipes;
use iced_test::runtime::Action;
use tempfile::TempDir;

use crate::gui_driver::{Driver, vault_with};
use crate::support::PASSPHRASE;
use crate::support::nats_server::Server;

fn jetstream_server(dir: &Path) -> Server {
    let store = dir.join("jetstream");
    Server::start(dir, "js", &format!("jetstream {{ store_dir: {:?} }}\n", store.display().to_string()))
}

/// Messages in the stream, asked by a client of our own.
fn stream_messages(runtime: &tokio::runtime::Runtime, url: &str) -> u64 {
    runtime.block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let mut stream = jetstream::new(client).get_stream(STREAM).await.unwrap();
        stream.info().await.unwrap().state.messages
    })
}

/// The whole app on an unlocked vault, with a runtime for its tasks and subscriptions.
struct Gui {
    app: App,
    runtime: tokio::runtime::Runtime,
}

impl Gui {
    fn open(dir: &Path) -> Self {
        let (app, _focus) = App::new(dir.to_owned());
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut gui = Self { app, runtime };
        let session = open(dir, OpenRequest::Unlock(SecretText::new(PASSPHRASE.to_owned()))).unwrap();
        gui.update(Message::Opened(Ok(session)));
        gui
    }

    /// Updates the app and runs the task it returns, feeding its messages back, until none is
    /// left.
    fn update(&mut self, message: Message) {
        let task = self.app.update(message);
        let Some(stream) = iced_test::runtime::task::into_stream(task) else { return };
        let actions: Vec<Action<Message>> = self.runtime.block_on(stream.collect());
        for action in actions {
            if let Action::Output(message) = action {
                self.update(message);
            }
        }
    }

    fn navigate(&mut self, section: Section) {
        self.update(Message::Navigate(section));
    }

    fn pending(&self) -> u64 {
        self.app.session().expect("unlocked").vault.lock().unwrap().status().unwrap().pending
    }

    /// Runs the app's subscriptions as iced's runtime would, feeding every message they give
    /// back into the app, until the running upload's outcome has arrived; returns the progress
    /// messages seen.
    fn drive_upload(&mut self) -> Vec<cim_keys::app::sync::SyncProgress> {
        let subscription = self.app.subscription();
        let recipes = into_recipes(subscription);
        let streams: Vec<BoxStream<'static, Message>> = {
            let _inside = self.runtime.enter();
            recipes.into_iter().map(|recipe| recipe.stream(stream::empty().boxed())).collect()
        };
        let mut messages = stream::select_all(streams);
        let mut progress = Vec::new();
        loop {
            let next =
                self.runtime.block_on(async { tokio::time::timeout(Duration::from_secs(60), messages.next()).await });
            let message = next.expect("the upload's outcome within a minute").expect("the subscription ended");
            match message {
                Message::Tick => continue,
                Message::Sync(SyncMessage::Report(id, event)) => {
                    let finished = matches!(event, Event::Finished(_));
                    if let Event::Progress(p) = &event {
                        progress.push(*p);
                    }
                    self.update(Message::Sync(SyncMessage::Report(id, event)));
                    if finished {
                        return progress;
                    }
                }
                other => panic!("an unexpected message from a subscription: {other:?}"),
            }
        }
    }

    fn sync_state(&self) -> &cim_keys::gui::screen::sync::State {
        let Screen::Sync(state) = self.app.screen() else { panic!("not on the Sync screen") };
        state
    }
}

impl Driver for Gui {
    type Message = Message;

    fn view(&self) -> iced::Element<'_, Message> {
        self.app.view()
    }

    fn handle(&mut self, message: Message) {
        self.update(message);
    }
}

#[test]
fn gui_sync_test_upload_through_the_subscription_and_the_status_bar_follows() {
    let tmp = TempDir::new().unwrap();
    let server = jetstream_server(tmp.path());
    let dir = tmp.path().join("vault");
    vault_with(&dir, 3);
    let mut gui = Gui::open(&dir);
    let pending = gui.pending();
    assert!(pending >= 4, "a few graph events are pending: {pending}");

    // The status bar shows the pending count on the first screen already.
    assert!(gui.shows_exactly(&format!("Pending upload: {pending}")), "{:#?}", gui.texts());
    assert!(gui.shows_exactly("Uploaded: 0"));
    assert_eq!(gui.app.subscription().units(), 2, "keyboard and idle timer only");

    gui.click("Sync");
    gui.assert_shows("Settings");
    gui.assert_shows(&format!("Pending: {pending}"));
    gui.assert_shows("Test connection connects with these settings");

    // Nothing typed: refused inline, nothing started.
    gui.click("Upload");
    gui.assert_shows("type the server URL");
    assert!(!gui.sync_state().running());

    // Test: the server as it is, with JetStream, the stream to be created.
    gui.type_into("sync-servers", &server.url());
    gui.click("Test connection");
    gui.assert_shows("Connected");
    assert!(gui.shows_exactly("yes"), "JetStream: yes; {:#?}", gui.texts());
    gui.assert_shows(&format!("{STREAM}: will be created by the upload"));
    let server_name = {
        let texts = gui.texts();
        let at = texts.iter().position(|t| t == "Server").expect("the server's name is shown");
        texts[at + 1].clone()
    };
    assert!(!server_name.is_empty());
    gui.assert_shows("2.15.");

    // Save: sync.json holds the URL, and the screen opens prefilled from it.
    gui.click("Save settings");
    gui.assert_shows("Saved to");
    let saved = std::fs::read_to_string(dir.join("sync.json")).unwrap();
    assert!(saved.contains(&server.url()), "{saved}");

    // Upload, cancelled before the subscription runs: it connects, then stops before the first
    // window; everything stays pending, and the summary says so.
    gui.click("Upload");
    assert!(gui.sync_state().running());
    assert_eq!(gui.app.subscription().units(), 3, "the upload is a subscription while it runs");
    gui.assert_shows("Starting");
    gui.click("Cancel");
    gui.assert_shows("Cancelling…");
    gui.drive_upload();
    assert!(!gui.sync_state().running());
    assert_eq!(gui.app.subscription().units(), 2, "the upload's subscription is gone");
    gui.assert_shows("Upload cancelled");
    let report = gui.sync_state().report().unwrap().clone();
    assert!(report.cancelled);
    // The flag is looked at before each window, so nothing was sent.
    assert_eq!((report.acknowledged, report.pending), (0, pending));
    assert!(gui.shows_exactly(&format!("Pending upload: {}", report.pending)), "{:#?}", gui.texts());

    // The upload proper, through the app's subscription: progress, then the summary.
    gui.click("Dismiss");
    gui.click("Upload");
    let progress = gui.drive_upload();
    let phases: Vec<_> = progress.iter().map(|p| p.phase).collect();
    use cim_keys::app::sync::SyncPhase;
    assert_eq!(phases.first(), Some(&SyncPhase::Connecting), "{phases:?}");
    assert!(phases.contains(&SyncPhase::Provisioning), "{phases:?}");
    assert_eq!(phases.last(), Some(&SyncPhase::Done), "{phases:?}");
    let uploading = progress.iter().rfind(|p| p.phase == SyncPhase::Uploading).expect("an upload report");
    assert_eq!((uploading.done, uploading.total), (pending, pending));
    assert_eq!(gui.sync_state().error(), None);
    gui.assert_shows("Upload complete");
    gui.assert_shows("0 pending,");
    gui.assert_shows(&server_name);
    assert_eq!(gui.pending(), 0);
    assert!(gui.shows_exactly("Pending upload: 0"), "{:#?}", gui.texts());
    assert!(gui.shows_exactly(&format!("Uploaded: {pending}")), "{:#?}", gui.texts());
    gui.assert_shows("Pending: 0");
    gui.assert_shows("Nothing to upload.");
    assert_eq!(stream_messages(&gui.runtime, &server.url()), pending, "the stream holds every event once");

    // Nothing pending: Upload does nothing.
    gui.update(Message::Sync(SyncMessage::Upload));
    assert!(!gui.sync_state().running());

    // The test now sees the stream and the bucket.
    gui.click("Test connection");
    gui.assert_shows(&format!("{STREAM}: {pending} messages"));
    gui.assert_shows("exists");

    // Another screen: a person added through the organization form raises the pending count.
    gui.click("Organization");
    assert!(gui.shows_exactly("Pending upload: 0"));
    gui.type_into("person-name", "Dana Added");
    gui.type_into("person-email", "dana@acme.example");
    gui.click("Add person");
    let now = gui.pending();
    assert!(now > 0, "adding a person leaves graph events pending");
    assert!(gui.shows_exactly(&format!("Pending upload: {now}")), "{:#?}", gui.texts());

    // The Sync screen opens with the saved settings.
    gui.click("Sync");
    assert_eq!(gui.sync_state().config().unwrap().servers, vec![server.url()]);
    gui.assert_shows(&format!("Pending: {now}"));

    // Leaving the screen cancels a running upload and drops its subscription.
    gui.click("Upload");
    let cancel = gui.sync_state().upload().expect("an upload runs").cancel.clone();
    gui.click("Events");
    assert!(cancel.load(std::sync::atomic::Ordering::Relaxed), "the upload was told to stop");
    assert_eq!(gui.app.subscription().units(), 2);
}

#[test]
fn gui_sync_a_wrong_server_is_shown_clearly_and_changes_nothing() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("vault");
    vault_with(&dir, 1);
    let mut gui = Gui::open(&dir);
    let pending = gui.pending();
    gui.navigate(Section::Sync);

    // Not a NATS URL: refused before anything connects.
    gui.type_into("sync-servers", "http://nats.example:4222");
    gui.click("Test connection");
    gui.assert_shows("is not a nats://HOST:PORT or tls://HOST:PORT URL");
    gui.type_into("sync-replicas", "9");
    gui.type_into("sync-servers", "nats://127.0.0.1:4222");
    gui.click("Save settings");
    gui.assert_shows("replicas must be 1 to 5");
    assert!(!dir.join("sync.json").exists());
    gui.type_into("sync-replicas", "");
    gui.type_into("sync-cert", "/nowhere/client.pem");
    gui.click("Upload");
    gui.assert_shows("choose the client certificate's key file too");
    assert!(!gui.sync_state().running());
    gui.type_into("sync-cert", "");

    // The file dialogs' picks fill the fields (the dialog itself is the root's, not run here).
    let tls = |name: &str| tmp.path().join(name);
    gui.update(Message::Sync(SyncMessage::Picked(Pick::Ca, Some(tls("ca.pem")))));
    gui.update(Message::Sync(SyncMessage::Picked(Pick::Cert, Some(tls("client.pem")))));
    gui.update(Message::Sync(SyncMessage::Picked(Pick::Key, Some(tls("client.key")))));
    gui.update(Message::Sync(SyncMessage::Picked(Pick::Creds, None)));
    let config = gui.sync_state().config().unwrap();
    assert_eq!(config.creds, None, "a cancelled dialog changes nothing");
    let files = config.tls.unwrap();
    assert_eq!(files.ca, Some(tls("ca.pem")));
    assert_eq!(files.cert_and_key, Some((tls("client.pem"), tls("client.key"))));
    for field in ["sync-ca", "sync-cert", "sync-key"] {
        gui.type_into(field, "");
    }
    assert_eq!(gui.sync_state().config().unwrap().tls, None);

    // A port where nothing listens: the test and the upload say they cannot connect.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    gui.type_into("sync-servers", &format!("nats://127.0.0.1:{closed}"));
    gui.click("Test connection");
    gui.assert_shows("Cannot connect: ");
    gui.click("Upload");
    gui.drive_upload();
    let error = gui.sync_state().error().expect("the failed upload's error").to_owned();
    assert!(gui.shows_exactly(&format!("Upload failed: {error}")), "{:#?}", gui.texts());
    assert!(error.starts_with(&format!("cannot connect to nats://127.0.0.1:{closed}")), "{error}");
    gui.assert_shows(&format!("Cannot connect: cannot connect to nats://127.0.0.1:{closed}"));
    assert!(gui.sync_state().report().is_none());
    assert_eq!(gui.pending(), pending, "nothing was marked");
    assert!(gui.shows_exactly(&format!("Pending upload: {pending}")));

    // A connection that never came up records nothing in the outbox; a failure mid-upload
    // does, and the screen shows it when it loads (here the load's reply is made by hand).
    gui.navigate(Section::Sync);
    assert_eq!(gui.sync_state().error(), None);
    assert!(!gui.shows("The last upload failed"));
    let recorded = || {
        let last_error = Some(LastError { seq: 3, attempts: 2, message: "the server went away".into() });
        let standing = Standing { pending, uploaded: 0, last_error };
        Message::Sync(SyncMessage::Done(Ok(Reply::Loaded(Box::new(Loaded { config: Ok(None), standing })))))
    };
    gui.update(recorded());
    gui.assert_shows("The last upload failed (event #3, attempt 2): the server went away");
}
