//! The Sync screen: the vault's history to NATS on the secure network (feature `sync`).
//!
//! At the top, where the vault stands: the graph events pending upload and those uploaded, and
//! the last failed attempt still standing (or the error of the run that just failed). Below,
//! the settings, prefilled from the data directory's `sync.json` when the screen opens:
//!
//! * the server URLs (`nats://` or `tls://`; several, separated by commas or new lines, for a
//!   cluster);
//! * the creds file (a user JWT and seed), typed or chosen in a file dialog;
//! * TLS: the CA that signed the server's certificate, and a client certificate with its key;
//! * the replicas of the stream and the bucket (1 to 5; empty means 1).
//!
//! **Save settings** writes them to `sync.json`. **Test connection** connects and looks,
//! changing nothing: the server's name and version, whether JetStream answers, the stream's
//! message count (or that the upload will create it) and the bucket. **Upload** sends
//! everything pending, with a progress bar (phase, events done of the total) and **Cancel**,
//! which stops between windows: what the server acknowledged is marked uploaded, the rest stays
//! pending (leaving the screen or locking the vault cancels too). Then a summary: events
//! acknowledged (stored now or already on the server), blocks, stream and bucket created,
//! pending afterwards.
//!
//! The screen does no IO: it asks the root for dialogs ([`Action::Pick`]), quick jobs
//! ([`Action::Run`]) and the connection test ([`Action::Test`]); a running upload is
//! [`State::upload`], which the root turns into a subscription (see
//! [`crate::gui::jobs::sync`]) whose events come back as [`Message::Report`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use iced::widget::{button, column, container, row, scrollable, space, text, text_input};
use iced::{Alignment, Element, Length};

use crate::app::sync::{SyncPhase, SyncProgress, SyncReport};
use crate::gui::jobs::sync::{Event, Loaded, Reply, Request, Standing, Upload};
use crate::gui::{GuiError, theme};
use crate::sync::{BUCKET, Probe, STREAM, SyncConfig, TlsFiles};

/// Width of the labels in front of values.
const LABEL: f32 = 170.0;

/// Tells uploads apart across screens (a late event of an earlier one is ignored); also the
/// identity of the subscription that runs one.
static NEXT_UPLOAD: AtomicU64 = AtomicU64::new(1);

/// What a file dialog picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The creds file.
    Creds,
    /// The TLS CA file.
    Ca,
    /// The client certificate.
    Cert,
    /// The client certificate's key.
    Key,
}

/// An upload under way.
#[derive(Debug)]
struct Running {
    upload: Upload,
    progress: Option<SyncProgress>,
}

/// The connection test: under way, or what it found.
#[derive(Debug, Clone)]
enum Tested {
    Testing,
    Found(Box<Probe>),
    Failed(String),
}

/// The screen's state.
#[derive(Debug)]
pub struct State {
    servers: String,
    creds: String,
    ca: String,
    cert: String,
    key: String,
    replicas: String,
    /// The saved settings, whose timeout and name the form keeps.
    saved: Option<Box<SyncConfig>>,
    loaded: bool,
    standing: Option<Standing>,
    tested: Option<Tested>,
    running: Option<Box<Running>>,
    report: Option<Arc<SyncReport>>,
    /// The settings are invalid, or saving them failed.
    form_error: Option<String>,
    /// Where the settings were saved.
    saved_to: Option<PathBuf>,
    /// The last upload failed.
    upload_error: Option<String>,
    /// Loading the settings or the counts failed.
    load_error: Option<String>,
}

/// What happens on the screen.
#[derive(Debug, Clone)]
pub enum Message {
    /// A quick job's reply came back.
    Done(Result<Reply, GuiError>),
    /// The connection test came back.
    Tested(Result<Probe, GuiError>),
    /// A dialog closed (no path if cancelled).
    Picked(Pick, Option<PathBuf>),
    /// The server URLs changed.
    Servers(String),
    /// The creds file changed.
    Creds(String),
    /// The TLS CA file changed.
    Ca(String),
    /// The client certificate file changed.
    Cert(String),
    /// The client key file changed.
    Key(String),
    /// The replicas changed.
    Replicas(String),
    /// Open a file dialog.
    Browse(Pick),
    /// Write the settings to `sync.json`.
    Save,
    /// Test the connection.
    Test,
    /// Upload everything pending.
    Upload,
    /// Stop the running upload.
    Cancel,
    /// The running upload (by id) reported.
    Report(u64, Event),
    /// Hide the summary.
    Dismiss,
}

/// What the root should do.
#[derive(Debug)]
pub enum Action {
    /// Nothing.
    None,
    /// Run a quick job; its reply comes back as [`Message::Done`].
    Run(Request),
    /// Test a connection off the UI thread (no vault needed); the result comes back as
    /// [`Message::Tested`].
    Test(SyncConfig),
    /// Open a file dialog; the path comes back as [`Message::Picked`].
    Pick(Pick),
}

/// The server URLs typed: separated by commas, white space or new lines.
pub fn servers(text: &str) -> Vec<String> {
    text.split([',', '\n', ' ', '\t', '\r']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn optional_path(text: &str) -> Option<PathBuf> {
    let text = text.trim();
    (!text.is_empty()).then(|| PathBuf::from(text))
}

fn phase_text(phase: SyncPhase) -> &'static str {
    match phase {
        SyncPhase::Connecting => "Connecting to the server",
        SyncPhase::Provisioning => "Ensuring the stream and the bucket",
        SyncPhase::Uploading => "Uploading events",
        SyncPhase::Done => "Finishing",
    }
}

/// A label and a value (see [`theme::field`]).
fn field<'a>(label: &'a str, value: impl text::IntoFragment<'a>) -> Element<'a, Message> {
    theme::field(label, LABEL, value)
}

fn card<'a>(content: impl Into<Element<'a, Message>>) -> Element<'a, Message> {
    container(content).padding(theme::PAD / 2.0).width(Length::Fill).style(theme::card).into()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl State {
    /// The screen, and what to load first (the saved settings and the counts).
    pub fn new() -> (Self, Action) {
        let state = Self {
            servers: String::new(),
            creds: String::new(),
            ca: String::new(),
            cert: String::new(),
            key: String::new(),
            replicas: String::new(),
            saved: None,
            loaded: false,
            standing: None,
            tested: None,
            running: None,
            report: None,
            form_error: None,
            saved_to: None,
            upload_error: None,
            load_error: None,
        };
        (state, Action::Run(Request::Load))
    }

    /// The running upload, if any: the root runs it as a subscription keyed on its id.
    pub fn upload(&self) -> Option<&Upload> {
        self.running.as_ref().map(|r| &r.upload)
    }

    /// Whether an upload is under way.
    pub fn running(&self) -> bool {
        self.running.is_some()
    }

    /// The counts and last error, once loaded.
    pub fn standing(&self) -> Option<&Standing> {
        self.standing.as_ref()
    }

    /// What the last upload did, if it succeeded.
    pub fn report(&self) -> Option<&SyncReport> {
        self.report.as_deref()
    }

    /// The error shown: the settings', the failed upload's, or loading's.
    pub fn error(&self) -> Option<&str> {
        self.form_error.as_deref().or(self.upload_error.as_deref()).or(self.load_error.as_deref())
    }

    /// The screen is being left (another screen, or the vault locks): a running upload is
    /// cancelled, as the screen says.
    pub fn leave(&self) {
        if let Some(running) = &self.running {
            running.upload.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// The settings in the form, checked.
    pub fn config(&self) -> Result<SyncConfig, String> {
        let servers = servers(&self.servers);
        if servers.is_empty() {
            return Err("type the server URL, e.g. nats://nats.example:4222 (several, separated by commas, for a \
                        cluster)"
                .to_owned());
        }
        let mut config = match &self.saved {
            Some(saved) => SyncConfig { servers, ..(**saved).clone() },
            None => SyncConfig::new(servers),
        };
        config.creds = optional_path(&self.creds);
        let cert_and_key = match (optional_path(&self.cert), optional_path(&self.key)) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => return Err("choose the client certificate's key file too, or neither".to_owned()),
            (None, Some(_)) => return Err("choose the client certificate file too, or neither".to_owned()),
        };
        let ca = optional_path(&self.ca);
        config.tls = (ca.is_some() || cert_and_key.is_some()).then_some(TlsFiles { ca, cert_and_key });
        let replicas = self.replicas.trim();
        config.replicas = if replicas.is_empty() {
            None
        } else {
            Some(replicas.parse().map_err(|_| format!("replicas must be a number from 1 to 5, not {replicas:?}"))?)
        };
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    fn fill(&mut self, config: &SyncConfig) {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        self.servers = config.servers.join(", ");
        self.creds = path(&config.creds);
        let tls = config.tls.clone().unwrap_or_default();
        self.ca = path(&tls.ca);
        let (cert, key) = tls.cert_and_key.map_or((None, None), |(c, k)| (Some(c), Some(k)));
        self.cert = path(&cert);
        self.key = path(&key);
        self.replicas = config.replicas.map(|r| r.to_string()).unwrap_or_default();
        self.saved = Some(Box::new(config.clone()));
    }

    /// The form's settings, or the reason they are refused (shown).
    fn checked(&mut self) -> Option<SyncConfig> {
        self.saved_to = None;
        match self.config() {
            Ok(config) => {
                self.form_error = None;
                Some(config)
            }
            Err(error) => {
                self.form_error = Some(error);
                None
            }
        }
    }

    fn can_upload(&self) -> bool {
        self.running.is_none() && self.standing.as_ref().is_some_and(|s| s.pending > 0)
    }

    fn start(&mut self) -> Action {
        if !self.can_upload() {
            return Action::None;
        }
        let Some(config) = self.checked() else { return Action::None };
        let id = NEXT_UPLOAD.fetch_add(1, Ordering::Relaxed);
        let upload = Upload { id, config, cancel: Arc::new(AtomicBool::new(false)) };
        self.running = Some(Box::new(Running { upload, progress: None }));
        self.report = None;
        self.upload_error = None;
        Action::None
    }

    fn reported(&mut self, id: u64, event: Event) {
        let Some(running) = self.running.as_mut().filter(|r| r.upload.id == id) else { return };
        match event {
            Event::Progress(progress) => running.progress = Some(progress),
            Event::Finished(outcome) => {
                self.running = None;
                match outcome.result {
                    Ok(report) => {
                        self.report = Some(report);
                        self.upload_error = None;
                    }
                    Err(error) => self.upload_error = Some(error.message),
                }
                match outcome.standing {
                    Ok(standing) => {
                        self.standing = Some(standing);
                        self.load_error = None;
                    }
                    Err(error) => self.load_error = Some(error.message),
                }
            }
        }
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Action {
        let idle = self.running.is_none();
        match message {
            Message::Done(Ok(Reply::Loaded(loaded))) => {
                let Loaded { config, standing } = *loaded;
                self.standing = Some(standing);
                self.load_error = None;
                match config {
                    Ok(Some(config)) if !self.loaded => self.fill(&config),
                    Ok(_) => {}
                    Err(error) => self.load_error = Some(format!("the saved settings: {error}")),
                }
                self.loaded = true;
            }
            Message::Done(Ok(Reply::Saved(path))) => {
                self.saved_to = Some(path);
                self.form_error = None;
            }
            Message::Done(Err(error)) => self.form_error = Some(error.message),
            Message::Tested(result) => {
                self.tested = Some(match result {
                    Ok(probe) => Tested::Found(Box::new(probe)),
                    Err(error) => Tested::Failed(error.message),
                });
            }
            Message::Picked(_, None) => {}
            Message::Picked(pick, Some(path)) if idle => {
                let path = path.display().to_string();
                match pick {
                    Pick::Creds => self.creds = path,
                    Pick::Ca => self.ca = path,
                    Pick::Cert => self.cert = path,
                    Pick::Key => self.key = path,
                }
            }
            Message::Picked(..) => {}
            Message::Servers(text) if idle => self.servers = text,
            Message::Creds(text) if idle => self.creds = text,
            Message::Ca(text) if idle => self.ca = text,
            Message::Cert(text) if idle => self.cert = text,
            Message::Key(text) if idle => self.key = text,
            Message::Replicas(text) if idle => self.replicas = text,
            Message::Servers(_)
            | Message::Creds(_)
            | Message::Ca(_)
            | Message::Cert(_)
            | Message::Key(_)
            | Message::Replicas(_) => {}
            Message::Browse(pick) if idle => return Action::Pick(pick),
            Message::Browse(_) => {}
            Message::Save if idle => {
                if let Some(config) = self.checked() {
                    self.saved = Some(Box::new(config.clone()));
                    return Action::Run(Request::Save(config));
                }
            }
            Message::Save => {}
            Message::Test if !matches!(self.tested, Some(Tested::Testing)) => {
                if let Some(config) = self.checked() {
                    self.tested = Some(Tested::Testing);
                    return Action::Test(config);
                }
            }
            Message::Test => {}
            Message::Upload => return self.start(),
            Message::Cancel => self.leave(),
            Message::Report(id, event) => self.reported(id, event),
            Message::Dismiss => self.report = None,
        }
        Action::None
    }

    /// The screen.
    pub fn view(&self) -> Element<'_, Message> {
        let mut content = column![text("Sync").size(theme::TITLE), self.standing_card()].spacing(theme::SECTION);
        if let Some(running) = &self.running {
            content = content.push(progress(running));
        } else if let Some(report) = &self.report {
            content = content.push(summary(report));
        }
        content = content.push(row![self.settings(), self.test_card()].spacing(theme::SECTION));
        scrollable(content.padding(iced::Padding::ZERO.right(theme::GAP * 1.5)))
            .height(Length::Fill)
            .spacing(theme::GAP)
            .into()
    }

    fn standing_card(&self) -> Element<'_, Message> {
        let mut body = column![].spacing(theme::GAP);
        match &self.standing {
            Some(standing) => {
                body = body.push(
                    row![
                        text(format!("Pending: {}", standing.pending)).size(theme::HEADING),
                        text(format!("Uploaded: {}", standing.uploaded)).size(theme::HEADING),
                    ]
                    .spacing(theme::SECTION),
                );
                body = body.push(
                    text(if standing.pending == 0 {
                        "Every graph event of this vault is on the server."
                    } else {
                        "Graph events not yet on the server; Upload sends them, in chain order, with their blocks."
                    })
                    .size(theme::SMALL)
                    .style(theme::muted),
                );
                if self.upload_error.is_none()
                    && let Some(last) = &standing.last_error
                {
                    body = body.push(
                        text(format!(
                            "The last upload failed (event #{}, attempt {}): {}",
                            last.seq, last.attempts, last.message
                        ))
                        .style(theme::error),
                    );
                }
            }
            None => body = body.push(text("Loading…").size(theme::SMALL).style(theme::muted)),
        }
        if let Some(error) = &self.upload_error {
            body = body.push(text(format!("Upload failed: {error}")).style(theme::error));
        }
        if let Some(error) = &self.load_error {
            body = body.push(text(error).style(theme::error));
        }
        card(body)
    }

    fn settings(&self) -> Element<'_, Message> {
        let idle = self.running.is_none();
        let mut form = column![
            text("Settings").size(theme::HEADING),
            labelled(
                "Servers",
                text_input("nats://host:4222 or tls://…; commas between a cluster's", &self.servers)
                    .id("sync-servers")
                    .on_input_maybe(idle.then_some(Message::Servers))
                    .padding(6),
            ),
            labelled(
                "Creds file",
                file_row(
                    "user JWT and seed (optional)",
                    "sync-creds",
                    &self.creds,
                    Message::Creds,
                    Pick::Creds,
                    "Choose creds…",
                    idle
                ),
            ),
            labelled(
                "TLS CA",
                file_row(
                    "PEM, if the server's CA is not a system root",
                    "sync-ca",
                    &self.ca,
                    Message::Ca,
                    Pick::Ca,
                    "Choose CA…",
                    idle
                ),
            ),
            labelled(
                "Client certificate",
                file_row(
                    "PEM (optional)",
                    "sync-cert",
                    &self.cert,
                    Message::Cert,
                    Pick::Cert,
                    "Choose certificate…",
                    idle
                ),
            ),
            labelled(
                "Client key",
                file_row(
                    "PEM, with the certificate",
                    "sync-key",
                    &self.key,
                    Message::Key,
                    Pick::Key,
                    "Choose key…",
                    idle
                ),
            ),
            labelled(
                "Replicas",
                text_input("1 to 5 (empty: 1)", &self.replicas)
                    .id("sync-replicas")
                    .on_input_maybe(idle.then_some(Message::Replicas))
                    .padding(6)
                    .width(160),
            ),
        ]
        .spacing(theme::GAP);
        if let Some(error) = &self.form_error {
            form = form.push(text(error).style(theme::error));
        }
        if let Some(path) = &self.saved_to {
            form = form.push(text(format!("Saved to {}", path.display())).size(theme::SMALL).style(theme::success));
        }
        let testing = matches!(self.tested, Some(Tested::Testing));
        form = form.push(
            row![
                button(text("Save settings"))
                    .style(theme::secondary)
                    .padding([8, 16])
                    .on_press_maybe(idle.then_some(Message::Save)),
                button(text("Test connection"))
                    .style(theme::secondary)
                    .padding([8, 16])
                    .on_press_maybe((!testing).then_some(Message::Test)),
                space::horizontal(),
                button(text("Upload"))
                    .style(theme::primary)
                    .padding([8, 20])
                    .on_press_maybe(self.can_upload().then_some(Message::Upload)),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center),
        );
        if idle && self.standing.as_ref().is_some_and(|s| s.pending == 0) {
            form = form.push(text("Nothing to upload.").size(theme::SMALL).style(theme::muted));
        }
        container(form).padding(theme::PAD / 2.0).width(Length::FillPortion(3)).style(theme::card).into()
    }

    fn test_card(&self) -> Element<'_, Message> {
        let mut card = column![text("Connection").size(theme::HEADING)].spacing(theme::GAP);
        card = match &self.tested {
            None => card.push(
                text("Test connection connects with these settings and looks at the server, changing nothing.")
                    .size(theme::SMALL)
                    .style(theme::muted),
            ),
            Some(Tested::Testing) => card.push(text("Testing…")),
            Some(Tested::Failed(error)) => card.push(text(format!("Cannot connect: {error}")).style(theme::error)),
            Some(Tested::Found(probe)) => card
                .push(text("Connected").style(theme::success))
                .push(field("Server", probe.server_name.as_str()))
                .push(field("Version", probe.version.as_str()))
                .push(field("JetStream", if probe.jetstream { "yes" } else { "no: enable it for this account" }))
                .push(field(
                    "Stream",
                    match (probe.jetstream, probe.stream_messages) {
                        (false, _) => format!("{STREAM}: unknown without JetStream"),
                        (true, Some(n)) => format!("{STREAM}: {}", plural(n, "message", "messages")),
                        (true, None) => format!("{STREAM}: will be created by the upload"),
                    },
                ))
                .push(field(
                    "Bucket",
                    match (probe.jetstream, probe.bucket) {
                        (false, _) => format!("{BUCKET}: unknown without JetStream"),
                        (true, true) => format!("{BUCKET}: exists"),
                        (true, false) => format!("{BUCKET}: will be created by the upload"),
                    },
                )),
        };
        container(card).padding(theme::PAD / 2.0).width(Length::FillPortion(2)).style(theme::card).into()
    }
}

/// A form field with its label in front.
fn labelled<'a>(label: &'a str, input: impl Into<Element<'a, Message>>) -> Element<'a, Message> {
    row![text(label).size(theme::SMALL).width(130), input.into()].spacing(theme::GAP).align_y(Alignment::Center).into()
}

/// A file field: typed, or chosen in a dialog.
fn file_row<'a>(
    placeholder: &'a str,
    id: &'static str,
    value: &'a str,
    message: fn(String) -> Message,
    pick: Pick,
    label: &'a str,
    idle: bool,
) -> Element<'a, Message> {
    row![
        text_input(placeholder, value).id(id).on_input_maybe(idle.then_some(message)).padding(6),
        button(text(label).size(theme::SMALL))
            .style(theme::secondary)
            .on_press_maybe(idle.then_some(Message::Browse(pick))),
    ]
    .spacing(theme::GAP)
    .align_y(Alignment::Center)
    .into()
}

/// The running upload: what it does, how far it is, and Cancel.
fn progress(running: &Running) -> Element<'_, Message> {
    let (label, done, total) = match running.progress {
        Some(p) => (phase_text(p.phase), p.done, p.total),
        None => ("Starting", 0, 0),
    };
    theme::progress(
        label,
        (done, total),
        running.upload.cancel.load(Ordering::Relaxed),
        "Cancel stops after the events in flight: what the server acknowledged is marked uploaded, the rest \
         stays pending. Leaving this screen or locking the vault cancels too.",
        Message::Cancel,
    )
}

/// What an upload did.
fn summary(report: &SyncReport) -> Element<'_, Message> {
    let heading = if report.cancelled {
        "Upload cancelled"
    } else if report.published == 0 {
        "Nothing new for the server"
    } else {
        "Upload complete"
    };
    let mut body = column![
        row![
            text(heading).size(theme::HEADING).style(theme::success),
            space::horizontal(),
            button(text("Dismiss").size(theme::SMALL)).style(theme::secondary).on_press(Message::Dismiss),
        ]
        .align_y(Alignment::Center),
        text(format!(
            "{} acknowledged: {} stored now, {} already on the server.",
            plural(report.acknowledged, "event", "events"),
            report.published,
            report.already_present
        )),
        field("Blocks", format!("{} put, {} already in the object store", report.blocks_put, report.blocks_present)),
        field("Server", format!("{} ({})", report.server_name, report.servers.join(", "))),
        field(
            "Created",
            match (report.stream_created, report.bucket_created) {
                (true, true) => format!("the stream {STREAM} and the bucket {BUCKET}"),
                (true, false) => format!("the stream {STREAM}"),
                (false, true) => format!("the bucket {BUCKET}"),
                (false, false) => "nothing (the stream and the bucket were there)".to_owned(),
            }
        ),
        field("Afterwards", format!("{} pending, {} uploaded", report.pending, report.uploaded)),
    ]
    .spacing(theme::GAP);
    if report.retries > 0 {
        body = body.push(field("Retries", report.retries.to_string()));
    }
    if report.cancelled {
        body = body.push(
            text("The events acknowledged before the stop are marked uploaded; Upload sends the rest.")
                .size(theme::SMALL)
                .style(theme::muted),
        );
    }
    card(body)
}
