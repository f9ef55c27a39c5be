//! The Export / import screen: the history crossing the air gap on an SD card.
//!
//! At the top, this vault's device key fingerprint — the key that signs its exports — and its
//! counts. Two forms side by side:
//!
//! * **Export**: the folder to write into (typed, or chosen in a folder dialog), who can open
//!   the bundle — a passphrase typed twice, or age recipients (`age1…`, one a line) — and
//!   whether to write only what is new since the last export. The vault's own passphrase,
//!   which unlocks the device key, is the session's: it is not asked again.
//! * **Import**: the bundle file (typed or chosen), what opens it — its passphrase or an age
//!   identity file — and, optionally, the device key fingerprint it must be signed by.
//!
//! A running transfer shows a progress bar fed by the application's progress reports and a
//! Cancel button, which sets the flag the application checks between batches: it then stops
//! with "cancelled; nothing was changed". Leaving the screen or locking the vault cancels it
//! too. When it ends, a summary: the file written, its size and SHA-256, the event ranges, the
//! artifacts and the public files beside it; or the events added ("nothing new" when the vault
//! had them all). The signer's fingerprint is shown large, to compare with what the other
//! machine shows as its device key. Errors are shown inline, in the form that caused them.
//!
//! The screen does no IO: it asks the root for dialogs ([`Action::Pick`]) and transfers
//! ([`Action::Start`], see [`crate::gui::jobs::bundle`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use iced::widget::text::Wrapping;
use iced::widget::{button, checkbox, column, container, row, scrollable, space, text, text_editor, text_input};
use iced::{Alignment, Element, Font, Length};

use crate::app::bundle::{BundleProgress, ExportReport, ImportReport};
use crate::gui::jobs::bundle::{Event, Info, Outcome, Request, SealWith, Start, Transfer, UnsealWith};
use crate::gui::screen::vault::strength;
use crate::gui::{GuiError, SecretText, theme};

/// Width of the labels in front of values.
const LABEL: f32 = 160.0;

/// Tells transfers apart across screens (a late event of a cancelled one is ignored).
static NEXT_TRANSFER: AtomicU64 = AtomicU64::new(1);

/// Who can open the bundle written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealKind {
    /// A passphrase.
    Passphrase,
    /// age recipients.
    Recipients,
}

/// What opens the bundle imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsealKind {
    /// Its passphrase.
    Passphrase,
    /// An age identity file.
    IdentityFile,
}

/// Which form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Export.
    Export,
    /// Import.
    Import,
}

/// What a dialog picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The folder to export into.
    Folder,
    /// The bundle file to import.
    Bundle,
    /// The identity file that opens it.
    Identity,
}

impl Pick {
    /// Whether the dialog picks a folder (else a file).
    pub fn folder(self) -> bool {
        self == Self::Folder
    }
}

/// A transfer under way.
#[derive(Debug)]
struct Running {
    id: u64,
    side: Side,
    cancel: Arc<AtomicBool>,
    progress: Option<BundleProgress>,
}

/// The screen's state.
#[derive(Debug)]
pub struct State {
    info: Option<Info>,
    out_dir: String,
    seal: SealKind,
    passphrase: SecretText,
    confirm: SecretText,
    recipients: text_editor::Content,
    since_last: bool,
    revealed: bool,
    file: String,
    unseal: UnsealKind,
    import_passphrase: SecretText,
    identity: String,
    expect_signer: String,
    running: Option<Running>,
    outcome: Option<Outcome>,
    export_error: Option<String>,
    import_error: Option<String>,
    info_error: Option<String>,
}

/// What happens on the screen.
#[derive(Debug, Clone)]
pub enum Message {
    /// This vault's fingerprint and counts came back.
    Done(Result<Info, GuiError>),
    /// A dialog closed (no path if cancelled).
    Picked(Pick, Option<PathBuf>),
    /// The export folder field changed.
    OutDir(String),
    /// Export to a passphrase or to recipients.
    Seal(SealKind),
    /// The bundle passphrase changed.
    Passphrase(SecretText),
    /// Its confirmation changed.
    Confirm(SecretText),
    /// The recipients field was edited.
    Recipients(text_editor::Action),
    /// Only what is new since the last export.
    SinceLast(bool),
    /// Show or hide the passphrases typed.
    Reveal(bool),
    /// Write the bundle.
    Export,
    /// The bundle file field changed.
    File(String),
    /// Open with a passphrase or an identity file.
    Unseal(UnsealKind),
    /// The import passphrase changed.
    ImportPassphrase(SecretText),
    /// The identity file field changed.
    Identity(String),
    /// The expected signer field changed.
    ExpectSigner(String),
    /// Import the bundle.
    Import,
    /// Open a dialog.
    Browse(Pick),
    /// Stop the running transfer.
    Cancel,
    /// The running transfer (by id) reported.
    Transfer(u64, Event),
    /// Copy a fingerprint (public) to the clipboard.
    Copy(String),
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
    /// Start a transfer off the UI thread (see [`crate::gui::jobs::bundle::start`]); its
    /// events come back as [`Message::Transfer`].
    Start(Start),
    /// Open a folder or file dialog; the path comes back as [`Message::Picked`].
    Pick(Pick),
    /// Put public text on the clipboard (cleared after a while).
    Copy(String),
}

/// The age recipients typed: one a line (spaces and commas separate too), `#` comments and
/// blank lines ignored.
pub fn recipients(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(|line| line.split([' ', '\t', ',']))
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

fn phase_text(phase: &str) -> &'static str {
    match phase {
        "writing" => "Writing the bundle",
        "verifying" => "Reading the bundle back and verifying it",
        "importing" => "Importing",
        "done" => "Finishing",
        _ => "Working",
    }
}

/// A label and a value (see [`theme::field`]).
fn field<'a>(label: &'a str, value: impl text::IntoFragment<'a>) -> Element<'a, Message> {
    theme::field(label, LABEL, value)
}

fn range(what: &str, range: Option<(u64, u64)>) -> String {
    match range {
        Some((first, last)) => format!("{what} #{first}–#{last}"),
        None => format!("no {what}"),
    }
}

/// A fingerprint, large, with a Copy button.
fn fingerprint<'a>(label: &'a str, value: &'a str) -> Element<'a, Message> {
    row![
        text(label).size(theme::SMALL).style(theme::muted).width(LABEL),
        text(value).size(theme::HEADING).font(Font::MONOSPACE).width(Length::Fill).wrapping(Wrapping::WordOrGlyph),
        button(text("Copy").size(theme::SMALL)).style(theme::secondary).on_press(Message::Copy(value.to_owned())),
    ]
    .spacing(theme::GAP)
    .align_y(Alignment::Center)
    .into()
}

/// Two or more mutually exclusive choices as a row of buttons, the chosen one highlighted.
fn choice<'a, T: Copy + PartialEq>(
    chosen: T,
    options: &[(&'a str, T)],
    message: fn(T) -> Message,
    enabled: bool,
) -> Element<'a, Message> {
    let mut choices = row![].spacing(theme::GAP / 2.0);
    for &(label, value) in options {
        choices = choices.push(
            button(text(label).size(theme::SMALL))
                .style(theme::nav(chosen == value))
                .padding([4, 10])
                .on_press_maybe(enabled.then_some(message(value))),
        );
    }
    choices.into()
}

impl State {
    /// The screen, and what to load first (this vault's fingerprint and counts).
    pub fn new() -> (Self, Action) {
        let state = Self {
            info: None,
            out_dir: String::new(),
            seal: SealKind::Passphrase,
            passphrase: SecretText::default(),
            confirm: SecretText::default(),
            recipients: text_editor::Content::new(),
            since_last: false,
            revealed: false,
            file: String::new(),
            unseal: UnsealKind::Passphrase,
            import_passphrase: SecretText::default(),
            identity: String::new(),
            expect_signer: String::new(),
            running: None,
            outcome: None,
            export_error: None,
            import_error: None,
            info_error: None,
        };
        (state, Action::Run(Request::Info))
    }

    /// This vault's fingerprint and counts, once loaded.
    pub fn info(&self) -> Option<&Info> {
        self.info.as_ref()
    }

    /// Whether a transfer is under way.
    pub fn running(&self) -> bool {
        self.running.is_some()
    }

    /// What the last transfer did, if it succeeded.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The error shown in a form, if any.
    pub fn error(&self, side: Side) -> Option<&str> {
        match side {
            Side::Export => self.export_error.as_deref(),
            Side::Import => self.import_error.as_deref(),
        }
    }

    /// The screen is being left (another screen, or the vault locks): a running transfer is
    /// cancelled, as the screen says.
    pub fn leave(&self) {
        if let Some(running) = &self.running {
            running.cancel.store(true, Ordering::Relaxed);
        }
    }

    fn start(&mut self, side: Side, transfer: Transfer) -> Action {
        let cancel = Arc::new(AtomicBool::new(false));
        let id = NEXT_TRANSFER.fetch_add(1, Ordering::Relaxed);
        self.running = Some(Running { id, side, cancel: cancel.clone(), progress: None });
        self.outcome = None;
        self.export_error = None;
        self.import_error = None;
        Action::Start(Start { id, transfer, cancel })
    }

    fn export(&mut self) -> Action {
        let out_dir = self.out_dir.trim();
        let refused = if out_dir.is_empty() {
            Some("choose the folder to write the bundle into (the SD card's)")
        } else {
            match self.seal {
                SealKind::Passphrase if self.passphrase.is_empty() => {
                    Some("type a passphrase for the bundle (twice); the importing machine needs it")
                }
                SealKind::Passphrase if self.passphrase != self.confirm => {
                    Some("the two passphrases differ; type the same one twice")
                }
                SealKind::Recipients if recipients(&self.recipients.text()).is_empty() => {
                    Some("give at least one age recipient (age1…, one a line)")
                }
                _ => None,
            }
        };
        if let Some(refused) = refused {
            self.export_error = Some(refused.to_owned());
            return Action::None;
        }
        let seal = match self.seal {
            SealKind::Passphrase => SealWith::Passphrase(self.passphrase.clone()),
            SealKind::Recipients => SealWith::Recipients(recipients(&self.recipients.text())),
        };
        let transfer = Transfer::Export { out_dir: PathBuf::from(out_dir), seal, since_last: self.since_last };
        self.start(Side::Export, transfer)
    }

    fn import(&mut self) -> Action {
        let file = self.file.trim();
        let identity = self.identity.trim();
        let refused = if file.is_empty() {
            Some("choose the bundle file to import (a cim-keys-….age file)")
        } else {
            match self.unseal {
                UnsealKind::Passphrase if self.import_passphrase.is_empty() => {
                    Some("type the passphrase the bundle was encrypted to")
                }
                UnsealKind::IdentityFile if identity.is_empty() => {
                    Some("choose the age identity file that opens the bundle")
                }
                _ => None,
            }
        };
        if let Some(refused) = refused {
            self.import_error = Some(refused.to_owned());
            return Action::None;
        }
        let unseal = match self.unseal {
            UnsealKind::Passphrase => UnsealWith::Passphrase(self.import_passphrase.clone()),
            UnsealKind::IdentityFile => UnsealWith::IdentityFile(PathBuf::from(identity)),
        };
        let expect = self.expect_signer.trim();
        let transfer = Transfer::Import {
            file: PathBuf::from(file),
            unseal,
            expect_signer: (!expect.is_empty()).then(|| expect.to_owned()),
        };
        self.start(Side::Import, transfer)
    }

    fn transfer(&mut self, id: u64, event: Event) {
        let Some(running) = self.running.as_mut().filter(|r| r.id == id) else { return };
        match event {
            Event::Progress(progress) => running.progress = Some(progress),
            Event::Finished(result) => {
                let side = running.side;
                self.running = None;
                match result {
                    Ok((outcome, info)) => {
                        self.outcome = Some(outcome);
                        self.info = Some(info);
                        self.info_error = None;
                        // The secrets have done their work.
                        match side {
                            Side::Export => {
                                self.passphrase = SecretText::default();
                                self.confirm = SecretText::default();
                            }
                            Side::Import => self.import_passphrase = SecretText::default(),
                        }
                    }
                    Err(error) => match side {
                        Side::Export => self.export_error = Some(error.message),
                        Side::Import => self.import_error = Some(error.message),
                    },
                }
            }
        }
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Done(Ok(info)) => {
                self.info = Some(info);
                self.info_error = None;
            }
            Message::Done(Err(error)) => self.info_error = Some(error.message),
            Message::Picked(_, None) => {}
            Message::Picked(pick, Some(path)) => {
                let path = path.display().to_string();
                match pick {
                    Pick::Folder => self.out_dir = path,
                    Pick::Bundle => self.file = path,
                    Pick::Identity => self.identity = path,
                }
            }
            Message::OutDir(dir) => self.out_dir = dir,
            Message::Seal(kind) => self.seal = kind,
            Message::Passphrase(text) => self.passphrase = text,
            Message::Confirm(text) => self.confirm = text,
            Message::Recipients(action) => self.recipients.perform(action),
            Message::SinceLast(since_last) => self.since_last = since_last,
            Message::Reveal(revealed) => self.revealed = revealed,
            Message::Export if self.running.is_none() => return self.export(),
            Message::File(file) => self.file = file,
            Message::Unseal(kind) => self.unseal = kind,
            Message::ImportPassphrase(text) => self.import_passphrase = text,
            Message::Identity(path) => self.identity = path,
            Message::ExpectSigner(signer) => self.expect_signer = signer,
            Message::Import if self.running.is_none() => return self.import(),
            Message::Export | Message::Import => {}
            Message::Browse(pick) => return Action::Pick(pick),
            Message::Cancel => self.leave(),
            Message::Transfer(id, event) => self.transfer(id, event),
            Message::Copy(text) => return Action::Copy(text),
            Message::Dismiss => self.outcome = None,
        }
        Action::None
    }

    /// The screen.
    pub fn view(&self) -> Element<'_, Message> {
        let mut content =
            column![text("Export / import").size(theme::TITLE), self.this_vault()].spacing(theme::SECTION);
        if let Some(running) = &self.running {
            content = content.push(progress(running));
        } else if let Some(outcome) = &self.outcome {
            content = content.push(match outcome {
                Outcome::Exported(report) => exported(report),
                Outcome::Imported(report) => self.imported(report),
            });
        }
        content = content.push(row![self.export_form(), self.import_form()].spacing(theme::SECTION));
        scrollable(content.padding(iced::Padding::ZERO.right(theme::GAP * 1.5)))
            .height(Length::Fill)
            .spacing(theme::GAP)
            .into()
    }

    fn this_vault(&self) -> Element<'_, Message> {
        let mut card = column![].spacing(theme::GAP);
        match &self.info {
            Some(info) => {
                card = card.push(match &info.fingerprint {
                    Some(fp) => fingerprint("This vault's device key", fp),
                    None => field("This vault's device key", "none yet (it is created by the first export)"),
                });
                card = card.push(
                    text(format!(
                        "{} domain events · {} graph events. The device key signs every bundle this vault \
                         exports: the importing machine shows it as the signer.",
                        info.domain_events, info.graph_events
                    ))
                    .size(theme::SMALL)
                    .style(theme::muted),
                );
            }
            None => card = card.push(text("Loading…").size(theme::SMALL).style(theme::muted)),
        }
        if let Some(error) = &self.info_error {
            card = card.push(text(error).style(theme::error));
        }
        container(card).padding(theme::PAD / 2.0).width(Length::Fill).style(theme::card).into()
    }

    fn export_form(&self) -> Element<'_, Message> {
        let idle = self.running.is_none();
        let mut form = column![
            text("Export to an SD card").size(theme::HEADING),
            row![
                text_input("Folder, e.g. /media/sdcard", &self.out_dir)
                    .id("export-folder")
                    .on_input_maybe(idle.then_some(Message::OutDir))
                    .padding(6),
                button(text("Choose folder…").size(theme::SMALL))
                    .style(theme::secondary)
                    .on_press_maybe(idle.then_some(Message::Browse(Pick::Folder))),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center),
            choice(
                self.seal,
                &[("Encrypt to a passphrase", SealKind::Passphrase), ("Encrypt to recipients", SealKind::Recipients)],
                Message::Seal,
                idle,
            ),
        ]
        .spacing(theme::GAP);
        match self.seal {
            SealKind::Passphrase => {
                let secret = |placeholder, id, value: &SecretText, message: fn(SecretText) -> Message| {
                    text_input(placeholder, value.expose_secret())
                        .id(id)
                        .secure(!self.revealed)
                        .on_input_maybe(idle.then_some(move |s| message(SecretText::new(s))))
                        .padding(6)
                };
                form = form
                    .push(secret("Bundle passphrase", "bundle-passphrase", &self.passphrase, Message::Passphrase))
                    .push(secret("Bundle passphrase again", "bundle-confirm", &self.confirm, Message::Confirm));
                let hint = strength(self.passphrase.expose_secret());
                if !hint.is_empty() {
                    form = form.push(text(format!("Strength: {hint}")).size(theme::SMALL).style(theme::muted));
                }
                form = form
                    .push(checkbox(self.revealed).label("Show the passphrases").on_toggle(Message::Reveal).size(16));
            }
            SealKind::Recipients => {
                let mut editor = text_editor(&self.recipients)
                    .id("recipients")
                    .placeholder("age1… (one recipient a line)")
                    .font(Font::MONOSPACE)
                    .size(theme::SMALL)
                    .height(90);
                if idle {
                    editor = editor.on_action(Message::Recipients);
                }
                form = form.push(editor).push(
                    text(
                        "Only the holders of these recipients' identity files can open the bundle; this machine \
                         checks its contents as they are written.",
                    )
                    .size(theme::SMALL)
                    .style(theme::muted),
                );
            }
        }
        form = form.push(
            checkbox(self.since_last)
                .label("Only what is new since the last export")
                .on_toggle_maybe(idle.then_some(Message::SinceLast))
                .size(16),
        );
        if let Some(error) = &self.export_error {
            form = form.push(text(error).style(theme::error));
        }
        form = form.push(
            button(text("Export"))
                .style(theme::primary)
                .padding([8, 20])
                .on_press_maybe(idle.then_some(Message::Export)),
        );
        container(form).padding(theme::PAD / 2.0).width(Length::Fill).style(theme::card).into()
    }

    fn import_form(&self) -> Element<'_, Message> {
        let idle = self.running.is_none();
        let mut form = column![
            text("Import from an SD card").size(theme::HEADING),
            row![
                text_input("Bundle file (cim-keys-….age)", &self.file)
                    .id("import-file")
                    .on_input_maybe(idle.then_some(Message::File))
                    .padding(6),
                button(text("Choose file…").size(theme::SMALL))
                    .style(theme::secondary)
                    .on_press_maybe(idle.then_some(Message::Browse(Pick::Bundle))),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center),
            choice(
                self.unseal,
                &[
                    ("Open with a passphrase", UnsealKind::Passphrase),
                    ("Open with an identity file", UnsealKind::IdentityFile)
                ],
                Message::Unseal,
                idle,
            ),
        ]
        .spacing(theme::GAP);
        form = form.push(match self.unseal {
            UnsealKind::Passphrase => Element::from(
                text_input("The bundle's passphrase", self.import_passphrase.expose_secret())
                    .id("import-passphrase")
                    .secure(!self.revealed)
                    .on_input_maybe(idle.then_some(|s| Message::ImportPassphrase(SecretText::new(s))))
                    .on_submit_maybe(idle.then_some(Message::Import))
                    .padding(6),
            ),
            UnsealKind::IdentityFile => row![
                text_input("Identity file (AGE-SECRET-KEY-1…)", &self.identity)
                    .id("identity-file")
                    .on_input_maybe(idle.then_some(Message::Identity))
                    .padding(6),
                button(text("Choose identity file…").size(theme::SMALL))
                    .style(theme::secondary)
                    .on_press_maybe(idle.then_some(Message::Browse(Pick::Identity))),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center)
            .into(),
        });
        form = form
            .push(
                text_input("Expected signer (optional): SHA256:…", &self.expect_signer)
                    .id("expect-signer")
                    .on_input_maybe(idle.then_some(Message::ExpectSigner))
                    .padding(6),
            )
            .push(
                text(
                    "The exporting machine's device key, as it shows it: a bundle signed by another key is \
                     refused.",
                )
                .size(theme::SMALL)
                .style(theme::muted),
            );
        if let Some(error) = &self.import_error {
            form = form.push(text(error).style(theme::error));
        }
        form = form.push(
            button(text("Import"))
                .style(theme::primary)
                .padding([8, 20])
                .on_press_maybe(idle.then_some(Message::Import)),
        );
        container(form).padding(theme::PAD / 2.0).width(Length::Fill).style(theme::card).into()
    }

    fn imported<'a>(&'a self, report: &'a ImportReport) -> Element<'a, Message> {
        let nothing_new = report.domain_added == 0 && report.graph_added == 0;
        let mut card = column![
            row![
                text(if nothing_new { "Nothing new" } else { "Bundle imported" })
                    .size(theme::HEADING)
                    .style(theme::success),
                space::horizontal(),
                button(text("Dismiss").size(theme::SMALL)).style(theme::secondary).on_press(Message::Dismiss),
            ]
            .align_y(Alignment::Center),
            fingerprint("Signed by", &report.signer),
        ]
        .spacing(theme::GAP);
        if let Some(own) = self.info.as_ref().and_then(|i| i.fingerprint.as_deref()) {
            card = card.push(field("This vault's key", own));
        }
        card = card
            .push(
                text(
                    "Compare the signer with the device key the exporting machine shows on its Export / import \
                     screen: they must be the same.",
                )
                .size(theme::SMALL)
                .style(theme::muted),
            )
            .push(text(if nothing_new {
                "This vault already held everything in the bundle; nothing was changed.".to_owned()
            } else {
                format!(
                    "Added {} domain events, {} graph events and {} artifacts.",
                    report.domain_added, report.graph_added, report.artifacts_added
                )
            }))
            .push(field("File", report.file.display().to_string()))
            .push(field(
                "Bundle holds",
                format!(
                    "{}, {}",
                    range("graph events", Some(report.graph)),
                    range("domain events", Some(report.domain))
                ),
            ))
            .push(field("From vault", format!("{} (device {})", report.vault, report.device)))
            .push(field("Head now", report.vault_head.map_or_else(|| "none".to_owned(), |head| head.to_string())));
        container(card).padding(theme::PAD / 2.0).width(Length::Fill).style(theme::card).into()
    }
}

/// The running transfer: what it does, how far it is, and Cancel.
fn progress(running: &Running) -> Element<'_, Message> {
    let (label, done, total) = match running.progress {
        Some(p) => (phase_text(p.phase), p.done, p.total),
        None if running.side == Side::Export => ("Starting: unlocking the device key and encrypting", 0, 0),
        None => ("Starting: decrypting and checking the signature", 0, 0),
    };
    theme::progress(
        label,
        (done, total),
        running.cancel.load(Ordering::Relaxed),
        "Cancelling, leaving this screen or locking the vault stops it; nothing is changed.",
        Message::Cancel,
    )
}

/// What an export wrote.
fn exported(report: &ExportReport) -> Element<'_, Message> {
    let heading = row![
        text(if report.written { "Bundle written" } else { "Nothing new" }).size(theme::HEADING).style(theme::success),
        space::horizontal(),
        button(text("Dismiss").size(theme::SMALL)).style(theme::secondary).on_press(Message::Dismiss),
    ]
    .align_y(Alignment::Center);
    let mut card = column![heading].spacing(theme::GAP);
    if !report.written {
        card = card.push(text(
            "Nothing happened since the last export: no bundle was written. Untick \"Only what is new\" to \
             write the whole history again.",
        ));
        return container(card).padding(theme::PAD / 2.0).width(Length::Fill).style(theme::card).into();
    }
    if let Some(file) = &report.file {
        card = card.push(field("File", file.display().to_string()));
    }
    card = card
        .push(fingerprint("Signed by", &report.signer))
        .push(
            text("The importing machine shows this fingerprint as the signer: compare them.")
                .size(theme::SMALL)
                .style(theme::muted),
        )
        .push(field("Size", format!("{} bytes", report.bytes)))
        .push(field("SHA-256", report.sha256.clone().unwrap_or_default()))
        .push(field(
            "Holds",
            format!(
                "{}, {}, {} artifacts{}",
                range("graph events", report.graph),
                range("domain events", report.domain),
                report.artifacts,
                if report.incremental { " (continues an earlier export)" } else { " (the whole history)" }
            ),
        ))
        .push(field("Encrypted to", report.encrypted_to.join(", ")));
    if let Some(dir) = &report.public_dir {
        let files = report.public_files.len();
        card = card
            .push(field(
                "Public files",
                format!("{} ({files} file{})", dir.display(), if files == 1 { "" } else { "s" }),
            ))
            .push(
                text(
                    "Beside the bundle, unencrypted: the manifest, and the NATS JWTs, nats-server configurations and \
                     CA certificates an online machine needs.",
                )
                .size(theme::SMALL)
                .style(theme::muted),
            );
    }
    container(card).padding(theme::PAD / 2.0).width(Length::Fill).style(theme::card).into()
}
