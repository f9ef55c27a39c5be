//! The vault screen: create a vault (passphrase twice, with a strength hint) or unlock the one
//! in the data directory. A wrong passphrase is shown here, inline; a vault that cannot be
//! opened at all (a bad or newer database) goes to the root's error screen.

use std::path::Path;

use iced::widget::{button, column, container, text, text_input};
use iced::{Element, Length};

use crate::gui::jobs::vault::OpenRequest;
use crate::gui::{GuiError, SecretText, theme};
use crate::store::DATABASE_FILE;

/// Create a new vault, or unlock the existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No vault in the data directory yet.
    Create,
    /// A vault exists.
    Unlock,
}

/// The screen's state.
#[derive(Debug)]
pub struct State {
    mode: Mode,
    location: String,
    passphrase: SecretText,
    confirm: SecretText,
    error: Option<String>,
    busy: bool,
    revealed: bool,
}

/// What the operator does.
#[derive(Debug, Clone)]
pub enum Message {
    /// The passphrase field changed.
    Passphrase(SecretText),
    /// The confirmation field changed.
    Confirm(SecretText),
    /// Create or unlock.
    Submit,
    /// Show or hide what was typed (hidden until revealed).
    Reveal(bool),
}

/// What the root should do.
#[derive(Debug)]
pub enum Action {
    /// Nothing.
    None,
    /// Create or open the vault.
    Open(OpenRequest),
}

/// How strong a new passphrase looks (a hint, not a rule: the keystore refuses only an empty
/// one and warns below 12 characters).
pub fn strength(passphrase: &str) -> &'static str {
    let chars = passphrase.chars().count();
    let words = passphrase.split_whitespace().count();
    match chars {
        0 => "",
        _ if chars < 12 => "weak: use at least 12 characters, better four or more random words",
        _ if chars >= 20 || words >= 4 => "strong",
        _ => "fair: longer is better (four or more random words)",
    }
}

impl State {
    /// The screen for the vault in `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        let mode = if data_dir.join(DATABASE_FILE).exists() { Mode::Unlock } else { Mode::Create };
        Self {
            mode,
            location: data_dir.display().to_string(),
            passphrase: SecretText::default(),
            confirm: SecretText::default(),
            error: None,
            busy: false,
            revealed: false,
        }
    }

    /// Create or unlock.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The error shown inline, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether the operator can fix `error` here (a wrong or weak passphrase) rather than it
    /// being a vault that cannot be opened at all.
    pub fn can_retry(&self, error: &GuiError) -> bool {
        error.invalid_input
    }

    /// Shows an error from the last attempt.
    pub fn failed(&mut self, error: GuiError) {
        self.busy = false;
        self.error = Some(error.message);
        self.passphrase = SecretText::default();
        self.confirm = SecretText::default();
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Passphrase(p) => {
                self.passphrase = p;
                Action::None
            }
            Message::Confirm(p) => {
                self.confirm = p;
                Action::None
            }
            Message::Reveal(revealed) => {
                self.revealed = revealed;
                Action::None
            }
            Message::Submit => {
                if self.busy {
                    return Action::None;
                }
                if self.passphrase.is_empty() {
                    self.error = Some("type the passphrase".into());
                    return Action::None;
                }
                let request = match self.mode {
                    Mode::Create if self.passphrase != self.confirm => {
                        self.error = Some("the two passphrases differ; type the same one twice".into());
                        return Action::None;
                    }
                    Mode::Create => OpenRequest::Create(self.passphrase.clone()),
                    Mode::Unlock => OpenRequest::Unlock(self.passphrase.clone()),
                };
                self.busy = true;
                self.error = None;
                Action::Open(request)
            }
        }
    }

    /// The screen.
    pub fn view(&self) -> Element<'_, Message> {
        let (title, button_label) = match self.mode {
            Mode::Create => ("Create a vault", "Create vault"),
            Mode::Unlock => ("Unlock the vault", "Unlock"),
        };
        let passphrase = text_input("Passphrase", self.passphrase.expose_secret())
            .secure(!self.revealed)
            .id("passphrase")
            .on_input(|s| Message::Passphrase(SecretText::new(s)))
            .on_submit(Message::Submit)
            .padding(10);
        let mut form = column![
            text(title).size(theme::TITLE),
            text(format!("Data directory: {}", self.location)).size(theme::SMALL).style(theme::muted),
            passphrase,
        ]
        .spacing(theme::GAP * 1.5)
        .max_width(480);
        if self.mode == Mode::Create {
            form = form.push(
                text_input("Passphrase again", self.confirm.expose_secret())
                    .secure(!self.revealed)
                    .id("confirm")
                    .on_input(|s| Message::Confirm(SecretText::new(s)))
                    .on_submit(Message::Submit)
                    .padding(10),
            );
            let hint = strength(self.passphrase.expose_secret());
            if !hint.is_empty() {
                form = form.push(text(format!("Strength: {hint}")).size(theme::SMALL).style(theme::muted));
            }
        }
        form = form.push(
            iced::widget::checkbox(self.revealed).label("Show the passphrase").on_toggle(Message::Reveal).size(16),
        );
        if let Some(error) = &self.error {
            form = form.push(text(error).style(theme::error));
        }
        let submit = button(text(if self.busy { "Working…" } else { button_label }))
            .style(theme::primary)
            .padding([8, 20])
            .on_press_maybe((!self.busy).then_some(Message::Submit));
        form = form.push(submit);
        container(container(form).padding(theme::PAD).max_width(560).style(theme::card)).center(Length::Fill).into()
    }
}
