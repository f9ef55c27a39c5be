//! The Keys screen: the identity keys of the current organization's people — owner,
//! fingerprint, algorithm, status — paged ([`PAGE`] to a page), for everyone or one owner.
//!
//! Choosing an owner (a search field narrows the pick list to at most [`CHOICES`] people, so
//! the list never grows with the organization) shows only their keys and lets the operator
//! generate one. Each key can have its fingerprint copied, its public key exported to a file
//! (a save dialog, then the OpenSSH line with the owner's e-mail as comment), and be revoked
//! with a reason; a refusal is shown under the revoke form, in the words the CLI uses.

use std::path::PathBuf;

use iced::widget::{Column, button, column, container, pick_list, row, scrollable, text, text_input};
use iced::{Alignment, Element, Length};

use crate::domain::{KeyId, OrgId, PersonId};
use crate::gui::jobs::keys::{Keys, Reply, Request};
use crate::gui::{CLIPBOARD_CLEAR, Effect, GuiError, theme};
use crate::store::KeyRow;

/// Keys shown on one page.
pub const PAGE: usize = 100;
/// At most this many people in the owner pick list; the search field narrows it.
pub const CHOICES: usize = 100;

/// Whose keys are shown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OwnerChoice {
    /// Everyone's.
    #[default]
    Everyone,
    /// One person's.
    Person {
        /// The person.
        id: PersonId,
        /// Name and e-mail address.
        label: String,
    },
}

impl std::fmt::Display for OwnerChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Everyone => f.write_str("Everyone"),
            Self::Person { label, .. } => f.write_str(label),
        }
    }
}

/// What happens on the screen.
#[derive(Debug, Clone)]
pub enum Message {
    /// A job finished.
    Done(Result<Reply, GuiError>),
    /// A save dialog closed (no path if cancelled).
    Picked(SavePurpose, Option<PathBuf>),
    /// The people search field changed.
    Filter(String),
    /// Whose keys to show.
    Owner(OwnerChoice),
    /// Generate a key for the chosen owner.
    Generate,
    /// Open the revoke form for this key (by id).
    StartRevoke(String),
    /// The revoke reason changed.
    Reason(String),
    /// Revoke the key of the revoke form.
    Revoke,
    /// Close the revoke form.
    CancelRevoke,
    /// Export this key's public key (by id).
    Export(String),
    /// Copy this fingerprint.
    CopyFingerprint(String),
    /// Show this page (0-based).
    Page(usize),
}

/// What this screen writes to files chosen in a save dialog.
#[derive(Debug, Clone)]
pub enum SavePurpose {
    /// A key's OpenSSH public key line.
    PublicKey(KeyId),
}

/// What the root should do.
pub type Action = Effect<Request, SavePurpose>;

/// What the running job is for, so its error lands in the right place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Load,
    Generate,
    Revoke,
    Export,
}

/// The key being revoked.
#[derive(Debug)]
struct Revoking {
    key: KeyId,
    fingerprint: String,
    reason: String,
    error: Option<String>,
}

/// The screen's state.
#[derive(Debug)]
pub struct State {
    org: Option<OrgId>,
    data: Option<Keys>,
    filter: String,
    choices: Vec<OwnerChoice>,
    more: bool,
    owner: OwnerChoice,
    shown: Vec<usize>,
    page: usize,
    revoking: Option<Revoking>,
    notice: Option<String>,
    error: Option<String>,
    busy: Option<Pending>,
}

fn pages(total: usize) -> usize {
    total.div_ceil(PAGE).max(1)
}

/// A file name for a public key: the owner's e-mail address with anything unusual replaced.
fn file_name(key: &KeyRow) -> String {
    let stem: String = key
        .owner_email
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    format!("{stem}_{}.pub", key.algorithm)
}

impl State {
    /// The screen for the current organization, and what to load first.
    pub fn new(org: Option<OrgId>) -> (Self, Action) {
        let state = Self {
            org,
            data: None,
            filter: String::new(),
            choices: vec![OwnerChoice::Everyone],
            more: false,
            owner: OwnerChoice::Everyone,
            shown: Vec::new(),
            page: 0,
            revoking: None,
            notice: None,
            error: None,
            busy: org.map(|_| Pending::Load),
        };
        let action = match org {
            Some(org) => Effect::Run(Request::Load { org }),
            None => Effect::None,
        };
        (state, action)
    }

    fn run(&mut self, pending: Pending, request: Request) -> Action {
        self.busy = Some(pending);
        self.notice = None;
        self.error = None;
        Effect::Run(request)
    }

    fn key(&self, id: &str) -> Option<&KeyRow> {
        self.data.as_ref()?.keys.iter().find(|k| k.id == id)
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Done(result) => {
                let pending = self.busy.take();
                match result {
                    Ok(reply) => self.replied(reply),
                    Err(error) => match (pending, &mut self.revoking) {
                        (Some(Pending::Revoke), Some(revoking)) => revoking.error = Some(error.message),
                        _ => self.error = Some(error.message),
                    },
                }
                Effect::None
            }
            Message::Picked(SavePurpose::PublicKey(key), path) => match path {
                Some(path) if self.busy.is_none() => self.run(Pending::Export, Request::Export { key, path }),
                _ => Effect::None,
            },
            Message::Filter(filter) => {
                self.filter = filter;
                self.refresh_choices();
                Effect::None
            }
            Message::Owner(owner) => {
                self.owner = owner;
                self.page = 0;
                self.refresh_shown();
                Effect::None
            }
            Message::Generate => match (&self.owner, self.org) {
                (OwnerChoice::Person { id, .. }, Some(org)) if self.busy.is_none() => {
                    let owner = *id;
                    self.run(Pending::Generate, Request::Generate { org, owner })
                }
                _ => Effect::None,
            },
            Message::StartRevoke(id) => {
                let Some(key) = self.key(&id) else { return Effect::None };
                match id.parse() {
                    Ok(key_id) => {
                        self.revoking = Some(Revoking {
                            key: key_id,
                            fingerprint: key.fingerprint.clone(),
                            reason: String::new(),
                            error: None,
                        })
                    }
                    Err(e) => self.error = Some(e.to_string()),
                }
                Effect::None
            }
            Message::Reason(reason) => {
                if let Some(revoking) = &mut self.revoking {
                    revoking.reason = reason;
                }
                Effect::None
            }
            Message::Revoke => {
                let (Some(org), Some(revoking)) = (self.org, &mut self.revoking) else { return Effect::None };
                if self.busy.is_some() {
                    return Effect::None;
                }
                revoking.error = None;
                let request = Request::Revoke { org, key: revoking.key, reason: revoking.reason.clone() };
                self.run(Pending::Revoke, request)
            }
            Message::CancelRevoke => {
                self.revoking = None;
                Effect::None
            }
            Message::Export(id) => {
                let Some(key) = self.key(&id) else { return Effect::None };
                match id.parse() {
                    Ok(key_id) => Effect::Save { purpose: SavePurpose::PublicKey(key_id), suggested: file_name(key) },
                    Err(e) => {
                        self.error = Some(e.to_string());
                        Effect::None
                    }
                }
            }
            Message::CopyFingerprint(fingerprint) => {
                self.notice = Some(format!(
                    "Fingerprint copied; the clipboard is cleared in {} seconds.",
                    CLIPBOARD_CLEAR.as_secs()
                ));
                Effect::Copy(fingerprint)
            }
            Message::Page(page) => {
                self.page = page.min(pages(self.shown.len()) - 1);
                Effect::None
            }
        }
    }

    fn replied(&mut self, reply: Reply) {
        match reply {
            Reply::Loaded(data) => self.loaded(data),
            Reply::Generated(fingerprint, data) => {
                self.notice = Some(format!("Key generated: {fingerprint}."));
                self.loaded(data);
            }
            Reply::Revoked(fingerprint, data) => {
                self.notice = Some(format!("Key {fingerprint} revoked."));
                self.revoking = None;
                self.loaded(data);
            }
            Reply::Exported(path) => self.notice = Some(format!("Public key written to {}.", path.display())),
        }
    }

    fn loaded(&mut self, data: Keys) {
        self.data = Some(data);
        // The chosen owner may have left the organization (not through this application).
        if let OwnerChoice::Person { id, .. } = &self.owner {
            let id = id.to_string();
            if !self.data.as_ref().is_some_and(|d| d.people.iter().any(|p| p.id == id)) {
                self.owner = OwnerChoice::Everyone;
            }
        }
        self.refresh_choices();
        self.refresh_shown();
    }

    /// The owner pick list: everyone, the chosen owner, and the first [`CHOICES`] people
    /// matching the search field.
    fn refresh_choices(&mut self) {
        let Some(data) = &self.data else { return };
        let needle = self.filter.trim().to_lowercase();
        let mut matches = data.people.iter().filter(|p| {
            needle.is_empty() || p.name.to_lowercase().contains(&needle) || p.email.to_lowercase().contains(&needle)
        });
        self.choices = vec![OwnerChoice::Everyone];
        for person in matches.by_ref().take(CHOICES) {
            let Ok(id) = person.id.parse() else { continue };
            self.choices.push(OwnerChoice::Person { id, label: format!("{} <{}>", person.name, person.email) });
        }
        self.more = matches.next().is_some();
        if !self.choices.contains(&self.owner) {
            self.choices.insert(1, self.owner.clone());
        }
    }

    /// The keys shown: everyone's or the chosen owner's.
    fn refresh_shown(&mut self) {
        let Some(data) = &self.data else { return };
        self.shown = match &self.owner {
            OwnerChoice::Everyone => (0..data.keys.len()).collect(),
            OwnerChoice::Person { id, .. } => {
                let id = id.to_string();
                data.keys.iter().enumerate().filter(|(_, k)| k.owner == id).map(|(i, _)| i).collect()
            }
        };
        self.page = self.page.min(pages(self.shown.len()) - 1);
    }

    /// The screen.
    pub fn view(&self) -> Element<'_, Message> {
        let mut content = column![text("Keys").size(theme::TITLE)].spacing(theme::SECTION);
        let Some(data) = &self.data else {
            let hint = match (self.org, &self.error) {
                (_, Some(error)) => text(error).style(theme::error),
                (None, None) => text("Choose an organization on the Organization screen first.").style(theme::muted),
                (Some(_), None) => text("Loading…").style(theme::muted),
            };
            return content.push(hint).into();
        };
        content = content.push(text(format!("Identity keys of the people of {}", data.org_name)).style(theme::muted));
        if let Some(notice) = &self.notice {
            content = content.push(text(notice).style(theme::success));
        }
        if let Some(error) = &self.error {
            content = content.push(text(error).style(theme::error));
        }
        content = content.push(self.owner_view());
        if let Some(revoking) = &self.revoking {
            content = content.push(self.revoke_view(revoking));
        }
        content = content.push(self.list_view(data));
        scrollable(content).spacing(theme::GAP).into()
    }

    fn owner_view(&self) -> Element<'_, Message> {
        let search = text_input("Find a person by name or e-mail", &self.filter)
            .id("key-owner-filter")
            .on_input(Message::Filter)
            .padding(8)
            .width(320);
        let owner =
            container(pick_list(&self.choices[..], Some(&self.owner), Message::Owner).width(320)).id("key-owner");
        let generate = button(text("Generate key")).style(theme::primary).padding([6, 16]).on_press_maybe(
            (matches!(self.owner, OwnerChoice::Person { .. }) && self.busy.is_none()).then_some(Message::Generate),
        );
        let mut form = column![
            text("Owner").size(theme::HEADING),
            row![search, owner, generate].spacing(theme::GAP).align_y(Alignment::Center),
        ]
        .spacing(theme::GAP);
        if self.more {
            form = form.push(
                text(format!("Only the first {CHOICES} matching people are listed; type to narrow."))
                    .size(theme::SMALL)
                    .style(theme::muted),
            );
        }
        if self.owner == OwnerChoice::Everyone {
            form = form.push(text("Choose a person to generate a key for.").size(theme::SMALL).style(theme::muted));
        }
        card(form)
    }

    fn revoke_view<'a>(&'a self, revoking: &'a Revoking) -> Element<'a, Message> {
        let reason = text_input("Reason (for example: laptop lost)", &revoking.reason)
            .id("revoke-reason")
            .on_input(Message::Reason)
            .on_submit(Message::Revoke)
            .padding(8);
        let mut form = column![
            text(format!("Revoke key {}", revoking.fingerprint)).size(theme::HEADING),
            text("A revoked key stays in the log; it cannot be used again.").size(theme::SMALL).style(theme::muted),
            reason,
        ]
        .spacing(theme::GAP);
        if let Some(error) = &revoking.error {
            form = form.push(text(error).style(theme::error));
        }
        form = form.push(
            row![
                button(text("Revoke key"))
                    .style(theme::danger)
                    .padding([6, 16])
                    .on_press_maybe(self.busy.is_none().then_some(Message::Revoke)),
                button(text("Cancel")).style(theme::secondary).padding([6, 16]).on_press(Message::CancelRevoke),
            ]
            .spacing(theme::GAP),
        );
        card(form)
    }

    fn list_view<'a>(&'a self, data: &'a Keys) -> Element<'a, Message> {
        let total = self.shown.len();
        let start = (self.page * PAGE).min(total);
        let end = (start + PAGE).min(total);
        let mut list: Column<'a, Message> = column![text("Keys").size(theme::HEADING)].spacing(theme::GAP);
        if total > PAGE {
            list = list.push(pager(self.page, start..end, total));
        }
        if total == 0 {
            list = list.push(text("no keys").style(theme::muted));
        }
        for &i in &self.shown[start..end] {
            list = list.push(key_row(&data.keys[i], self.busy.is_none()));
        }
        card(list)
    }
}

fn key_row(key: &KeyRow, idle: bool) -> Element<'_, Message> {
    let active = key.status == "active";
    let mut status = column![text(key.status).style(if active { theme::success } else { theme::error })];
    if let Some(reason) = &key.revoked_reason {
        status = status.push(text(reason).size(theme::SMALL).style(theme::muted));
    }
    let actions = row![
        button(text("Copy fingerprint").size(theme::SMALL))
            .style(theme::secondary)
            .on_press(Message::CopyFingerprint(key.fingerprint.clone())),
        button(text("Export public key…").size(theme::SMALL))
            .style(theme::secondary)
            .on_press_maybe(idle.then(|| Message::Export(key.id.clone()))),
        button(text("Revoke…").size(theme::SMALL))
            .style(theme::danger)
            .on_press_maybe((active && idle).then(|| Message::StartRevoke(key.id.clone()))),
    ]
    .spacing(theme::GAP);
    let row = row![
        column![text(&key.owner_name), text(&key.owner_email).size(theme::SMALL).style(theme::muted)].width(220),
        column![text(&key.fingerprint).size(theme::SMALL), text(&key.algorithm).size(theme::SMALL).style(theme::muted)]
            .width(Length::Fill),
        status.width(120),
        actions,
    ]
    .spacing(theme::GAP)
    .align_y(Alignment::Center);
    container(row).padding([6, 0]).into()
}

/// Previous and next buttons around "first–last of total".
fn pager<'a>(page: usize, range: std::ops::Range<usize>, total: usize) -> Element<'a, Message> {
    let last = pages(total) - 1;
    row![
        button(text("Previous page"))
            .style(theme::secondary)
            .on_press_maybe((page > 0).then(|| Message::Page(page - 1))),
        text(format!("{}–{} of {}", range.start + 1, range.end, total)).style(theme::muted),
        button(text("Next page"))
            .style(theme::secondary)
            .on_press_maybe((page < last).then(|| Message::Page(page + 1))),
    ]
    .spacing(theme::GAP)
    .align_y(Alignment::Center)
    .into()
}

fn card<'a>(content: impl Into<Element<'a, Message>>) -> Element<'a, Message> {
    container(content).padding(theme::GAP * 2.0).width(Length::Fill).style(theme::card).into()
}
