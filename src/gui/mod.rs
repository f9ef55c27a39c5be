//! The desktop application (feature `gui`): iced 0.14, Elm style.
//!
//! [`App`] is the root. It owns the open vault (a [`Session`]), the current [`Screen`] and the
//! window-wide state (theme, idle lock); its `update` only dispatches: a screen's `update`
//! returns an `Action`, and the root turns an action that needs the vault into a [`Task`] that
//! runs the [`Job`] on a blocking thread (`spawn_blocking`) and hands the reply back to the
//! screen as a message. Screens never touch the vault, the disk or the network themselves.
//!
//! Screens (`screen::*`): vault (create or unlock), organization, keys, NATS, PKI, events
//! (with a graph view), export / import and, with the feature `sync`, sync. Each has `State`,
//! `Message`, `Action`, `update` and `view`. Export and import report progress while they run:
//! the root runs them as a stream ([`jobs::bundle::start`]) whose events come back to the
//! screen as messages. An upload to NATS is a [`Subscription`] instead
//! (`jobs::sync::subscription`): the root subscribes while the sync screen says an upload is
//! running, keyed on the upload's id, and drops it when the screen no longer does.
//!
//! Below every screen of an open vault, a status bar shows the graph events pending upload and
//! those uploaded. The root reads them ([`Counts`]) when the vault opens and again after every
//! job that can change them: any screen's job (a command, a load), an export or import, an
//! upload.
//!
//! Safety habits: the vault locks on Ctrl+L and after an idle time without input ([`IDLE_LOCK`]
//! unless configured: `CIM_KEYS_IDLE_LOCK` in seconds, or `cim-keys gui --idle-lock SECONDS`; the
//! passphrase and the vault handle are dropped); secret fields use [`SecretText`], whose
//! `Debug` is redacted; no message, log line or error carries a secret.

pub mod graph;
pub mod jobs;
pub mod screen;
mod secret;
pub mod theme;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iced::widget::{button, column, container, row, text};
use iced::{Element, Length, Subscription, Task, Theme, keyboard};

pub use secret::SecretText;

use crate::app::{AppError, ErrorKind, Vault};
use crate::crypto::keystore::Passphrase;
use crate::domain::OrgId;
#[cfg(feature = "sync")]
use screen::sync;
use screen::{bundle, events, keys, nats, organization, pki, vault};

/// The vault locks after this long without keyboard or mouse input, unless configured.
pub const IDLE_LOCK: Duration = Duration::from_secs(5 * 60);

/// Starts the window on the vault in `data_dir`; it locks after `idle_lock` without input.
pub fn run(data_dir: PathBuf, idle_lock: Duration) -> iced::Result {
    iced::application(move || App::with_idle_lock(data_dir.clone(), idle_lock), App::update, App::view)
        .title(App::title)
        .theme(App::theme)
        .subscription(App::subscription)
        .window(iced::window::Settings {
            size: iced::Size::new(1200.0, 800.0),
            min_size: Some(iced::Size::new(800.0, 560.0)),
            icon: icon(),
            ..iced::window::Settings::default()
        })
        .run()
}

/// The application icon: `assets/icon.png` as raw 128×128 RGBA (`assets/icon-128.rgba`),
/// compiled in.
fn icon() -> Option<iced::window::Icon> {
    iced::window::icon::from_rgba(include_bytes!("../../assets/icon-128.rgba").to_vec(), 128, 128).ok()
}

/// An error shown to the operator: the application's message, and whether the input was at
/// fault (shown inline) or the operation failed. `Clone`, so it can travel in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuiError {
    /// The message, one sentence, as the CLI prints it.
    pub message: String,
    /// Whether fixing the input helps.
    pub invalid_input: bool,
}

impl fmt::Display for GuiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<AppError> for GuiError {
    fn from(e: AppError) -> Self {
        Self { message: e.to_string(), invalid_input: e.kind() == ErrorKind::InvalidInput }
    }
}

impl GuiError {
    /// An error with a message of ours.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), invalid_input: true }
    }
}

/// The open vault and the passphrase that unlocked it, shared with the jobs.
#[derive(Clone)]
pub struct Session {
    /// The vault.
    pub vault: Arc<Mutex<Vault>>,
    /// The passphrase (redacted in `Debug`, zeroized on drop).
    pub passphrase: Arc<Passphrase>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Session([vault and passphrase])")
    }
}

/// What a job gets: the vault and the passphrase.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The vault.
    pub vault: &'a mut Vault,
    /// The passphrase, for operations that unseal or seal secrets.
    pub passphrase: &'a Passphrase,
}

/// A call into the application service that a screen asks for, run by the root off the UI
/// thread (tests run it directly).
pub trait Job: Send + 'static {
    /// What it gives back.
    type Reply: Send + 'static;
    /// Runs it.
    fn run(self, ctx: Ctx<'_>) -> Result<Self::Reply, GuiError>;
}

impl Session {
    /// Runs a job now, on this thread (what the root's task does off the UI thread; tests
    /// call it directly).
    pub fn run<J: Job>(&self, job: J) -> Result<J::Reply, GuiError> {
        let mut vault = self.vault.lock().map_err(|_| GuiError::new("the vault is unusable after a failed job"))?;
        job.run(Ctx { vault: &mut vault, passphrase: &self.passphrase })
    }
}

/// What a screen's `update` asks the root to do. Every screen's `Action` is an `Effect` of its
/// own job type `R` and its own save-purpose type `P`.
#[derive(Debug)]
pub enum Effect<R, P> {
    /// Nothing.
    None,
    /// Run a job against the vault; its reply comes back as the screen's `Done` message.
    Run(R),
    /// Ask for a file to write (a save dialog); the chosen path (or none, if cancelled) comes
    /// back as the screen's `Picked(purpose, path)` message.
    Save {
        /// What the file is for (the screen's own type).
        purpose: P,
        /// A suggested file name.
        suggested: String,
    },
    /// Put public text (an id, a fingerprint, a public key) on the clipboard; it is cleared
    /// after [`CLIPBOARD_CLEAR`].
    Copy(String),
    /// Make this organization the current one (the other screens show it).
    Select(OrgId),
}

/// Anything copied to the clipboard is cleared after this long.
pub const CLIPBOARD_CLEAR: Duration = Duration::from_secs(30);

/// The sections of the sidebar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Organizations, units, people, roles.
    Organization,
    /// Identity keys.
    Keys,
    /// The NATS hierarchy.
    Nats,
    /// The X.509 hierarchy.
    Pki,
    /// The event log and the graph.
    Events,
    /// Export and import of bundles.
    Bundle,
    /// Upload to NATS.
    #[cfg(feature = "sync")]
    Sync,
}

impl Section {
    const ALL: &[Section] = &[
        Self::Organization,
        Self::Keys,
        Self::Nats,
        Self::Pki,
        Self::Events,
        Self::Bundle,
        #[cfg(feature = "sync")]
        Self::Sync,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Organization => "Organization",
            Self::Keys => "Keys",
            Self::Nats => "NATS",
            Self::Pki => "PKI",
            Self::Events => "Events",
            Self::Bundle => "Export / import",
            #[cfg(feature = "sync")]
            Self::Sync => "Sync",
        }
    }
}

/// The screen shown.
#[derive(Debug)]
pub enum Screen {
    /// Create or unlock the vault.
    Vault(vault::State),
    /// The vault cannot be opened (a bad or newer database): what happened, and no way on.
    Failed(String),
    /// See [`organization`].
    Organization(organization::State),
    /// See [`keys`].
    Keys(keys::State),
    /// See [`nats`].
    Nats(nats::State),
    /// See [`pki`].
    Pki(pki::State),
    /// See [`events`].
    Events(events::State),
    /// See [`bundle`].
    Bundle(bundle::State),
    /// See [`sync`].
    #[cfg(feature = "sync")]
    Sync(sync::State),
}

/// Everything that can happen.
#[derive(Debug, Clone)]
pub enum Message {
    /// See [`vault::Message`].
    Vault(vault::Message),
    /// The vault was created or unlocked (or not).
    Opened(Result<Session, GuiError>),
    /// See [`organization::Message`].
    Organization(organization::Message),
    /// See [`keys::Message`].
    Keys(keys::Message),
    /// See [`nats::Message`].
    Nats(nats::Message),
    /// See [`pki::Message`].
    Pki(pki::Message),
    /// See [`events::Message`].
    Events(events::Message),
    /// See [`bundle::Message`].
    Bundle(bundle::Message),
    /// See [`sync::Message`].
    #[cfg(feature = "sync")]
    Sync(sync::Message),
    /// The status bar's counts were read (or not).
    Counts(Result<Counts, GuiError>),
    /// A sidebar entry was chosen.
    Navigate(Section),
    /// Lock now (Ctrl+L or the button).
    Lock,
    /// Light or dark.
    ToggleTheme,
    /// Input happened (resets the idle timer).
    Activity,
    /// Escape: cancel the confirmation or dialog the screen shows, if any.
    Escape,
    /// Tab or Shift+Tab: move the focus to the next or previous field.
    Focus {
        /// Shift+Tab.
        back: bool,
    },
    /// Once a second: checks the idle timer.
    Tick,
    /// Clears the clipboard if it still holds this copied text.
    ClearClipboard(String),
}

/// What the status bar shows of the open vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Graph events not yet uploaded.
    pub pending: u64,
    /// Graph events uploaded.
    pub uploaded: u64,
}

/// Reads the [`Counts`].
#[derive(Debug)]
struct ReadCounts;

impl Job for ReadCounts {
    type Reply = Counts;

    fn run(self, ctx: Ctx<'_>) -> Result<Counts, GuiError> {
        let status = ctx.vault.status()?;
        Ok(Counts { pending: status.pending, uploaded: status.uploaded })
    }
}

/// The root.
#[derive(Debug)]
pub struct App {
    data_dir: PathBuf,
    session: Option<Session>,
    screen: Screen,
    section: Section,
    org: Option<OrgId>,
    dark: bool,
    last_input: Instant,
    idle_lock: Duration,
    /// The status bar's counts, once read.
    counts: Option<Counts>,
}

impl App {
    /// The start: the vault screen (create if the data directory holds no vault, else unlock),
    /// locking after [`IDLE_LOCK`] without input.
    pub fn new(data_dir: PathBuf) -> (Self, Task<Message>) {
        Self::with_idle_lock(data_dir, IDLE_LOCK)
    }

    /// [`App::new`], locking after `idle_lock` without input.
    pub fn with_idle_lock(data_dir: PathBuf, idle_lock: Duration) -> (Self, Task<Message>) {
        let screen = Screen::Vault(vault::State::new(&data_dir));
        let app = Self {
            data_dir,
            session: None,
            screen,
            section: Section::Organization,
            org: None,
            dark: false,
            last_input: Instant::now(),
            idle_lock,
            counts: None,
        };
        (app, iced::widget::operation::focus("passphrase"))
    }

    /// The open session, if unlocked.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The screen shown.
    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// What the status bar shows, once read.
    pub fn counts(&self) -> Option<Counts> {
        self.counts
    }

    fn title(&self) -> String {
        match &self.session {
            Some(_) => format!("cim-keys — {}", self.section.label()),
            None => "cim-keys".to_owned(),
        }
    }

    fn theme(&self) -> Theme {
        if self.dark { theme::dark() } else { theme::light() }
    }

    /// What the window listens to: the keyboard; with a vault open, the idle timer; and a
    /// running upload (see `jobs::sync::subscription`).
    pub fn subscription(&self) -> Subscription<Message> {
        let keys = keyboard::listen().filter_map(|event| match event {
            keyboard::Event::KeyPressed { key: keyboard::Key::Character(c), modifiers, .. }
                if modifiers.command() && c.as_str() == "l" =>
            {
                Some(Message::Lock)
            }
            keyboard::Event::KeyPressed { key: keyboard::Key::Named(keyboard::key::Named::Escape), .. } => {
                Some(Message::Escape)
            }
            keyboard::Event::KeyPressed { key: keyboard::Key::Named(keyboard::key::Named::Tab), modifiers, .. } => {
                Some(Message::Focus { back: modifiers.shift() })
            }
            keyboard::Event::KeyPressed { .. } => Some(Message::Activity),
            _ => None,
        });
        let mut subscriptions = vec![keys];
        if self.session.is_some() {
            subscriptions.push(iced::time::every(Duration::from_secs(1)).map(|_| Message::Tick));
        }
        #[cfg(feature = "sync")]
        if let (Some(session), Screen::Sync(state)) = (&self.session, &self.screen)
            && let Some(upload) = state.upload()
        {
            subscriptions.push(
                jobs::sync::subscription(session.clone(), upload.clone())
                    .map(|(id, event)| Message::Sync(sync::Message::Report(id, event))),
            );
        }
        Subscription::batch(subscriptions)
    }

    /// Runs a job for a screen off the UI thread; `wrap` turns the reply into the screen's
    /// message.
    fn job<J: Job>(
        &self,
        job: J,
        wrap: impl Fn(Result<J::Reply, GuiError>) -> Message + Send + 'static,
    ) -> Task<Message> {
        let Some(session) = self.session.clone() else { return Task::none() };
        Task::perform(
            async move {
                tokio::task::spawn_blocking(move || session.run(job))
                    .await
                    .unwrap_or_else(|_| Err(GuiError::new("the operation stopped unexpectedly")))
            },
            wrap,
        )
    }

    /// The root's update: dispatch, and turn actions into tasks; after a job that can change
    /// the status bar's counts, read them again.
    pub fn update(&mut self, message: Message) -> Task<Message> {
        let refresh = changes_counts(&message);
        let task = self.dispatch(message);
        if refresh { Task::batch([task, self.job(ReadCounts, Message::Counts)]) } else { task }
    }

    fn dispatch(&mut self, message: Message) -> Task<Message> {
        if !matches!(message, Message::Tick) {
            self.last_input = Instant::now();
        }
        match message {
            Message::Vault(m) => {
                let Screen::Vault(state) = &mut self.screen else { return Task::none() };
                match state.update(m) {
                    vault::Action::None => Task::none(),
                    vault::Action::Open(request) => {
                        let dir = self.data_dir.clone();
                        Task::perform(
                            async move {
                                tokio::task::spawn_blocking(move || jobs::vault::open(&dir, request))
                                    .await
                                    .unwrap_or_else(|_| Err(GuiError::new("opening the vault stopped unexpectedly")))
                            },
                            Message::Opened,
                        )
                    }
                }
            }
            Message::Opened(Ok(session)) => {
                self.session = Some(session);
                self.navigate(Section::Organization)
            }
            Message::Opened(Err(error)) => {
                if let Screen::Vault(state) = &mut self.screen {
                    if state.can_retry(&error) {
                        state.failed(error);
                    } else {
                        self.screen = Screen::Failed(error.message);
                    }
                }
                Task::none()
            }
            Message::Navigate(section) => self.navigate(section),
            Message::Lock => {
                self.lock();
                iced::widget::operation::focus("passphrase")
            }
            Message::ToggleTheme => {
                self.dark = !self.dark;
                Task::none()
            }
            Message::Activity => Task::none(),
            Message::Escape => match &self.screen {
                Screen::Keys(_) => self.update(Message::Keys(keys::Message::CancelRevoke)),
                Screen::Nats(_) => self.update(Message::Nats(nats::Message::Cancel)),
                _ => Task::none(),
            },
            Message::Focus { back: false } => iced::widget::operation::focus_next(),
            Message::Focus { back: true } => iced::widget::operation::focus_previous(),
            Message::Tick => {
                if self.session.is_some() && self.last_input.elapsed() >= self.idle_lock {
                    self.lock();
                }
                Task::none()
            }
            Message::Organization(m) => {
                let Screen::Organization(state) = &mut self.screen else { return Task::none() };
                let effect = state.update(m);
                self.effect(
                    effect,
                    |r| Message::Organization(organization::Message::Done(r)),
                    |p, path| Message::Organization(organization::Message::Picked(p, path)),
                )
            }
            Message::Keys(m) => {
                let Screen::Keys(state) = &mut self.screen else { return Task::none() };
                let effect = state.update(m);
                self.effect(
                    effect,
                    |r| Message::Keys(keys::Message::Done(r)),
                    |p, path| Message::Keys(keys::Message::Picked(p, path)),
                )
            }
            Message::Nats(m) => {
                let Screen::Nats(state) = &mut self.screen else { return Task::none() };
                let effect = state.update(m);
                self.effect(
                    effect,
                    |r| Message::Nats(nats::Message::Done(r)),
                    |p, path| Message::Nats(nats::Message::Picked(p, path)),
                )
            }
            Message::Pki(m) => {
                let Screen::Pki(state) = &mut self.screen else { return Task::none() };
                let effect = state.update(m);
                self.effect(
                    effect,
                    |r| Message::Pki(pki::Message::Done(r)),
                    |p, path| Message::Pki(pki::Message::Picked(p, path)),
                )
            }
            Message::Events(m) => {
                let Screen::Events(state) = &mut self.screen else { return Task::none() };
                let effect = state.update(m);
                self.effect(
                    effect,
                    |r| Message::Events(events::Message::Done(r)),
                    |p, path| Message::Events(events::Message::Picked(p, path)),
                )
            }
            Message::Bundle(m) => {
                let Screen::Bundle(state) = &mut self.screen else { return Task::none() };
                let action = state.update(m);
                self.bundle(action)
            }
            #[cfg(feature = "sync")]
            Message::Sync(m) => {
                let Screen::Sync(state) = &mut self.screen else { return Task::none() };
                let action = state.update(m);
                self.sync(action)
            }
            Message::Counts(Ok(counts)) => {
                if self.session.is_some() {
                    self.counts = Some(counts);
                }
                Task::none()
            }
            // The bar keeps what it showed; the screens show the error of the job itself.
            Message::Counts(Err(_)) => Task::none(),
            Message::ClearClipboard(copied) => iced::clipboard::read().then(move |current| {
                if current.as_deref() == Some(copied.as_str()) {
                    iced::clipboard::write(String::new())
                } else {
                    Task::none()
                }
            }),
        }
    }

    /// Turns a screen's effect into a task.
    fn effect<R: Job, P: Send + 'static>(
        &mut self,
        effect: Effect<R, P>,
        done: fn(Result<R::Reply, GuiError>) -> Message,
        picked: fn(P, Option<PathBuf>) -> Message,
    ) -> Task<Message> {
        match effect {
            Effect::None => Task::none(),
            Effect::Run(job) => self.job(job, done),
            Effect::Save { purpose, suggested } => Task::perform(
                async move {
                    rfd::AsyncFileDialog::new()
                        .set_file_name(suggested)
                        .save_file()
                        .await
                        .map(|handle| handle.path().to_owned())
                },
                move |path| picked(purpose, path),
            ),
            Effect::Copy(text) => {
                let clear = text.clone();
                iced::clipboard::write(text).chain(Task::perform(
                    async move {
                        tokio::time::sleep(CLIPBOARD_CLEAR).await;
                        clear
                    },
                    Message::ClearClipboard,
                ))
            }
            Effect::Select(org) => {
                self.org = Some(org);
                Task::none()
            }
        }
    }

    /// Turns the Export / import screen's action into a task.
    fn bundle(&mut self, action: bundle::Action) -> Task<Message> {
        let done = |r| Message::Bundle(bundle::Message::Done(r));
        let picked = |_: std::convert::Infallible, _| unreachable!("the Export / import screen has no save dialog");
        match action {
            bundle::Action::None => Task::none(),
            bundle::Action::Run(job) => self.effect(Effect::Run(job), done, picked),
            bundle::Action::Copy(text) => self.effect(Effect::<jobs::bundle::Request, _>::Copy(text), done, picked),
            bundle::Action::Pick(pick) => Task::perform(
                async move {
                    let dialog = rfd::AsyncFileDialog::new();
                    let handle = if pick.folder() { dialog.pick_folder().await } else { dialog.pick_file().await };
                    handle.map(|h| h.path().to_owned())
                },
                move |path| Message::Bundle(bundle::Message::Picked(pick, path)),
            ),
            bundle::Action::Start(start) => {
                let Some(session) = self.session.clone() else { return Task::none() };
                let id = start.id;
                Task::run(jobs::bundle::start(session, start), move |event| {
                    Message::Bundle(bundle::Message::Transfer(id, event))
                })
            }
        }
    }

    /// Turns the Sync screen's action into a task. (The upload is not an action: it is the
    /// subscription the screen's state asks for.)
    #[cfg(feature = "sync")]
    fn sync(&mut self, action: sync::Action) -> Task<Message> {
        match action {
            sync::Action::None => Task::none(),
            sync::Action::Run(job) => self.job(job, |r| Message::Sync(sync::Message::Done(r))),
            sync::Action::Test(config) => Task::perform(
                async move {
                    tokio::task::spawn_blocking(move || jobs::sync::test_connection(&config))
                        .await
                        .unwrap_or_else(|_| Err(GuiError::new("the connection test stopped unexpectedly")))
                },
                |r| Message::Sync(sync::Message::Tested(r)),
            ),
            sync::Action::Pick(pick) => Task::perform(
                async move { rfd::AsyncFileDialog::new().pick_file().await.map(|h| h.path().to_owned()) },
                move |path| Message::Sync(sync::Message::Picked(pick, path)),
            ),
        }
    }

    /// A running transfer or upload is cancelled when its screen is left.
    fn leave(&self) {
        match &self.screen {
            Screen::Bundle(state) => state.leave(),
            #[cfg(feature = "sync")]
            Screen::Sync(state) => state.leave(),
            _ => {}
        }
    }

    fn lock(&mut self) {
        self.leave();
        self.session = None;
        self.counts = None;
        self.screen = Screen::Vault(vault::State::new(&self.data_dir));
    }

    fn navigate(&mut self, section: Section) -> Task<Message> {
        if self.session.is_none() {
            return Task::none();
        }
        self.leave();
        self.section = section;
        let org = self.org;
        match section {
            Section::Organization => {
                let (state, effect) = organization::State::new(org);
                self.screen = Screen::Organization(state);
                self.effect(
                    effect,
                    |r| Message::Organization(organization::Message::Done(r)),
                    |p, path| Message::Organization(organization::Message::Picked(p, path)),
                )
            }
            Section::Keys => {
                let (state, effect) = keys::State::new(org);
                self.screen = Screen::Keys(state);
                self.effect(
                    effect,
                    |r| Message::Keys(keys::Message::Done(r)),
                    |p, path| Message::Keys(keys::Message::Picked(p, path)),
                )
            }
            Section::Nats => {
                let (state, effect) = nats::State::new(org);
                self.screen = Screen::Nats(state);
                self.effect(
                    effect,
                    |r| Message::Nats(nats::Message::Done(r)),
                    |p, path| Message::Nats(nats::Message::Picked(p, path)),
                )
            }
            Section::Pki => {
                let (state, effect) = pki::State::new(org);
                self.screen = Screen::Pki(state);
                self.effect(
                    effect,
                    |r| Message::Pki(pki::Message::Done(r)),
                    |p, path| Message::Pki(pki::Message::Picked(p, path)),
                )
            }
            Section::Events => {
                let (state, effect) = events::State::new(org);
                self.screen = Screen::Events(state);
                self.effect(
                    effect,
                    |r| Message::Events(events::Message::Done(r)),
                    |p, path| Message::Events(events::Message::Picked(p, path)),
                )
            }
            Section::Bundle => {
                let (state, action) = bundle::State::new();
                self.screen = Screen::Bundle(state);
                self.bundle(action)
            }
            #[cfg(feature = "sync")]
            Section::Sync => {
                let (state, action) = sync::State::new();
                self.screen = Screen::Sync(state);
                self.sync(action)
            }
        }
    }

    /// The window's content.
    pub fn view(&self) -> Element<'_, Message> {
        let content: Element<'_, Message> = match &self.screen {
            Screen::Vault(state) => return state.view().map(Message::Vault),
            Screen::Failed(reason) => return failed(reason),
            Screen::Organization(state) => state.view().map(Message::Organization),
            Screen::Keys(state) => state.view().map(Message::Keys),
            Screen::Nats(state) => state.view().map(Message::Nats),
            Screen::Pki(state) => state.view().map(Message::Pki),
            Screen::Events(state) => state.view().map(Message::Events),
            Screen::Bundle(state) => state.view().map(Message::Bundle),
            #[cfg(feature = "sync")]
            Screen::Sync(state) => state.view().map(Message::Sync),
        };
        row![
            self.sidebar(),
            column![container(content).padding(theme::PAD).width(Length::Fill).height(Length::Fill), self.status_bar()]
        ]
        .into()
    }

    /// The line under every screen of an open vault: what is pending upload.
    fn status_bar(&self) -> Element<'_, Message> {
        let line = match self.counts {
            Some(counts) => row![
                text(format!("Pending upload: {}", counts.pending)).size(theme::SMALL),
                text(format!("Uploaded: {}", counts.uploaded)).size(theme::SMALL).style(theme::muted),
            ],
            None => row![text("Pending upload: …").size(theme::SMALL).style(theme::muted)],
        };
        container(line.spacing(theme::SECTION))
            .padding([theme::GAP / 2.0, theme::PAD])
            .width(Length::Fill)
            .style(theme::sidebar)
            .into()
    }

    fn sidebar(&self) -> Element<'_, Message> {
        let mut entries = column![text("cim-keys").size(theme::HEADING)].spacing(theme::GAP);
        for &section in Section::ALL {
            entries = entries.push(
                button(text(section.label()))
                    .width(Length::Fill)
                    .style(theme::nav(section == self.section))
                    .on_press(Message::Navigate(section)),
            );
        }
        let bottom = column![
            button(text(if self.dark { "Light theme" } else { "Dark theme" }))
                .width(Length::Fill)
                .style(theme::secondary)
                .on_press(Message::ToggleTheme),
            button(text("Lock (Ctrl+L)")).width(Length::Fill).style(theme::danger).on_press(Message::Lock),
        ]
        .spacing(theme::GAP);
        container(column![entries, iced::widget::space::vertical(), bottom].height(Length::Fill))
            .padding(theme::GAP * 2.0)
            .width(180)
            .height(Length::Fill)
            .style(theme::sidebar)
            .into()
    }
}

/// Whether the message ends a job that can change the status bar's counts: the vault opened,
/// any screen's job (commands among them), an export or import, an upload.
fn changes_counts(message: &Message) -> bool {
    match message {
        Message::Opened(Ok(_)) => true,
        Message::Organization(organization::Message::Done(_))
        | Message::Keys(keys::Message::Done(_))
        | Message::Nats(nats::Message::Done(_))
        | Message::Pki(pki::Message::Done(_))
        | Message::Events(events::Message::Done(_)) => true,
        Message::Bundle(bundle::Message::Transfer(_, jobs::bundle::Event::Finished(_))) => true,
        #[cfg(feature = "sync")]
        Message::Sync(sync::Message::Done(_) | sync::Message::Report(_, jobs::sync::Event::Finished(_))) => true,
        _ => false,
    }
}

/// The error screen: the vault could not be opened; nothing more can be done here.
fn failed(reason: &str) -> Element<'_, Message> {
    container(
        column![
            text("The vault cannot be opened").size(theme::TITLE),
            text(reason).style(theme::error),
            text("Nothing was changed. Fix the data directory (or use a newer cim-keys) and start again.")
                .style(theme::muted),
        ]
        .spacing(theme::SECTION)
        .max_width(640),
    )
    .center(Length::Fill)
    .into()
}
