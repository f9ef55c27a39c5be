//! The PKI screen: the current organization's X.509 hierarchy — the offline root CA, the
//! intermediate it certifies, and the server and client certificates the intermediate issued
//! (a page of [`PAGE`] at a time) — with "Initialize PKI" for an organization without one, a
//! form to issue a certificate (kind, common name, comma-separated subject alternative names,
//! days; the domain's refusal shown next to the form), and "Export PEM…" for every entry.
//!
//! Everything goes through the jobs of [`crate::gui::jobs::pki`]; files are chosen by the
//! root's save dialog and written by the application.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use iced::widget::text::Wrapping;
use iced::widget::{button, column, container, pick_list, row, scrollable, space, text, text_input};
use iced::{Alignment, Element, Font, Length, Padding};

use crate::app::pki::LeafSpec;
use crate::crypto::x509::LeafKind;
use crate::domain::OrgId;
use crate::gui::jobs::pki::{Loaded, Reply, Request};
use crate::gui::{Effect, GuiError, theme};
use crate::store::PkiRow;

/// Certificates shown at once.
pub const PAGE: usize = 100;

/// The validity a new certificate gets unless changed (as the CLI's `--days`).
pub const DEFAULT_DAYS: u32 = 365;

/// The kind of certificate to issue, as the form's pick list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A TLS server.
    Server,
    /// A TLS client.
    Client,
}

impl Kind {
    /// Both, in the order of the pick list.
    pub const ALL: [Kind; 2] = [Kind::Server, Kind::Client];

    fn leaf(self) -> LeafKind {
        match self {
            Self::Server => LeafKind::Server,
            Self::Client => LeafKind::Client,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Server => "Server certificate",
            Self::Client => "Client certificate",
        })
    }
}

/// Which job the screen waits for (so an error lands next to what caused it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Load,
    Init,
    Issue,
    Pem,
}

/// The screen's state.
#[derive(Debug)]
pub struct State {
    org: Option<OrgId>,
    loaded: Option<Arc<Loaded>>,
    page: usize,
    kind: Kind,
    common_name: String,
    names: String,
    days: String,
    form_error: Option<String>,
    error: Option<String>,
    notice: Option<String>,
    pending: Option<Pending>,
}

/// What happens on the screen.
#[derive(Debug, Clone)]
pub enum Message {
    /// A job finished.
    Done(Result<Reply, GuiError>),
    /// A save dialog closed (no path if cancelled).
    Picked(SavePurpose, Option<PathBuf>),
    /// Create the root and intermediate CA.
    Init,
    /// The kind of certificate changed.
    Kind(Kind),
    /// The common name changed.
    CommonName(String),
    /// The subject alternative names changed.
    Names(String),
    /// The validity changed.
    Days(String),
    /// Issue the certificate of the form.
    Issue,
    /// Export this CA's or certificate's PEM (asks for a file).
    ExportPem(String),
    /// The previous page of certificates.
    PreviousPage,
    /// The next page of certificates.
    NextPage,
    /// Copy public text (a fingerprint) to the clipboard.
    Copy(String),
    /// Reload the list.
    Reload,
}

/// What this screen writes to files chosen in a save dialog.
#[derive(Debug, Clone)]
pub enum SavePurpose {
    /// The PEM of a CA's or certificate's certificate.
    Pem {
        /// Its id.
        id: String,
    },
}

/// What the root should do.
pub type Action = Effect<Request, SavePurpose>;

/// The common name of an RFC 4514 subject (`CN=…,O=…`, CN first), unescaped; the whole
/// subject if it has none.
pub fn common_name(subject: &str) -> String {
    let Some(rest) = subject.strip_prefix("CN=") else {
        return subject.to_owned();
    };
    let mut name = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => name.extend(chars.next()),
            ',' => break,
            c => name.push(c),
        }
    }
    name
}

/// A file name for a certificate's PEM.
fn pem_file_name(name: &str) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '-' }).collect();
    let stem = stem.trim_matches(['-', '.']);
    format!("{}.pem", if stem.is_empty() { "certificate" } else { stem })
}

/// The date of a stored timestamp (`2025-01-31T…` → `2025-01-31`).
fn date(timestamp: &str) -> &str {
    timestamp.get(..10).unwrap_or(timestamp)
}

impl State {
    /// The screen for the current organization, and what to load first.
    pub fn new(org: Option<OrgId>) -> (Self, Action) {
        let state = Self {
            org,
            loaded: None,
            page: 0,
            kind: Kind::Server,
            common_name: String::new(),
            names: String::new(),
            days: DEFAULT_DAYS.to_string(),
            form_error: None,
            error: None,
            notice: None,
            pending: Some(Pending::Load),
        };
        (state, Effect::Run(Request::Load { org }))
    }

    fn busy(&self) -> bool {
        self.pending.is_some()
    }

    fn start(&mut self, pending: Pending, request: Request) -> Action {
        self.pending = Some(pending);
        self.error = None;
        self.notice = None;
        if pending == Pending::Issue {
            self.form_error = None;
        }
        Effect::Run(request)
    }

    fn apply(&mut self, loaded: Arc<Loaded>) -> Action {
        let first = self.org.is_none();
        self.org = loaded.org;
        let pages = loaded.certificates.len().div_ceil(PAGE).max(1);
        self.page = self.page.min(pages - 1);
        self.loaded = Some(loaded);
        match self.org {
            Some(org) if first => Effect::Select(org),
            _ => Effect::None,
        }
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Done(result) => self.done(result),
            Message::Picked(_, None) => Effect::None,
            Message::Picked(SavePurpose::Pem { id }, Some(path)) => {
                self.start(Pending::Pem, Request::WritePem { id, path })
            }
            Message::Init => match self.org {
                Some(org) if !self.busy() => self.start(Pending::Init, Request::Init { org }),
                _ => Effect::None,
            },
            Message::Kind(kind) => {
                self.kind = kind;
                Effect::None
            }
            Message::CommonName(name) => {
                self.common_name = name;
                Effect::None
            }
            Message::Names(names) => {
                self.names = names;
                Effect::None
            }
            Message::Days(days) => {
                self.days = days;
                Effect::None
            }
            Message::Issue => {
                let Some(org) = self.org else { return Effect::None };
                if self.busy() {
                    return Effect::None;
                }
                let Ok(days) = self.days.trim().parse::<u32>() else {
                    self.form_error = Some(format!(
                        "'{}' is not a number of days; give the validity as a whole number, e.g. {DEFAULT_DAYS}",
                        crate::domain::excerpt(self.days.trim())
                    ));
                    return Effect::None;
                };
                let spec = LeafSpec {
                    kind: self.kind.leaf(),
                    common_name: self.common_name.trim().to_owned(),
                    names: self.names.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect(),
                    days,
                };
                self.start(Pending::Issue, Request::Issue { org, spec })
            }
            Message::ExportPem(id) => {
                if self.busy() {
                    return Effect::None;
                }
                let name = self
                    .loaded
                    .as_ref()
                    .and_then(|l| l.cas.iter().chain(&l.certificates).find(|e| e.id == id))
                    .map(|e| common_name(&e.subject))
                    .unwrap_or_default();
                Effect::Save { purpose: SavePurpose::Pem { id }, suggested: pem_file_name(&name) }
            }
            Message::PreviousPage => {
                self.page = self.page.saturating_sub(1);
                Effect::None
            }
            Message::NextPage => {
                let total = self.loaded.as_ref().map_or(0, |l| l.certificates.len());
                if (self.page + 1) * PAGE < total {
                    self.page += 1;
                }
                Effect::None
            }
            Message::Copy(value) => Effect::Copy(value),
            Message::Reload => {
                if self.busy() {
                    return Effect::None;
                }
                self.start(Pending::Load, Request::Load { org: self.org })
            }
        }
    }

    fn done(&mut self, result: Result<Reply, GuiError>) -> Action {
        let pending = self.pending.take();
        let reply = match result {
            Ok(reply) => reply,
            Err(error) => {
                if pending == Some(Pending::Issue) {
                    self.form_error = Some(error.message);
                } else {
                    self.error = Some(error.message);
                }
                return Effect::None;
            }
        };
        match reply {
            Reply::Loaded(loaded) => self.apply(loaded),
            Reply::Initialized(loaded) => {
                self.notice = Some("Created the root CA and the intermediate CA it certifies.".into());
                self.apply(loaded)
            }
            Reply::Issued { id, loaded } => {
                let name = loaded
                    .certificates
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| common_name(&c.subject))
                    .unwrap_or_else(|| id.clone());
                self.notice = Some(format!("Issued the certificate of {name}."));
                self.common_name.clear();
                self.names.clear();
                self.page = loaded.certificates.len().saturating_sub(1) / PAGE;
                self.apply(loaded)
            }
            Reply::PemWritten(path) => {
                self.notice = Some(format!("PEM written to {}.", path.display()));
                Effect::None
            }
        }
    }

    /// The screen.
    pub fn view(&self) -> Element<'_, Message> {
        let mut header = row![text("PKI").size(theme::TITLE)].spacing(theme::GAP * 2.0).align_y(Alignment::Center);
        if let Some(loaded) = self.loaded.as_ref().filter(|l| l.org.is_some()) {
            header = header.push(text(format!("Organization: {}", loaded.org_name)).style(theme::muted));
        }
        header = header.push(space::horizontal()).push(
            button(text("Reload")).style(theme::secondary).on_press_maybe((!self.busy()).then_some(Message::Reload)),
        );
        let mut page = column![header].spacing(theme::GAP * 1.5).height(Length::Fill);
        if let Some(error) = &self.error {
            page = page.push(text(error).style(theme::error));
        }
        if let Some(notice) = &self.notice {
            page = page.push(text(notice).style(theme::success));
        }
        let body: Element<'_, Message> = match &self.loaded {
            None => text(if self.error.is_some() { "" } else { "Loading…" }).style(theme::muted).into(),
            Some(loaded) if loaded.org.is_none() => text(
                "The vault has no organization yet: create one on the Organization screen, then come back to \
                 create its certificate authorities.",
            )
            .style(theme::muted)
            .into(),
            Some(loaded) if loaded.cas.is_empty() => self.init_view(&loaded.org_name),
            Some(loaded) => row![
                column![self.cas_view(loaded), self.certificates_view(loaded)]
                    .spacing(theme::SECTION)
                    .width(Length::FillPortion(3))
                    .height(Length::Fill),
                container(self.form_view()).padding(theme::GAP * 2.0).style(theme::card).width(Length::FillPortion(2)),
            ]
            .spacing(theme::SECTION)
            .height(Length::Fill)
            .into(),
        };
        page.push(body).into()
    }

    fn init_view<'a>(&'a self, org_name: &'a str) -> Element<'a, Message> {
        container(
            column![
                text(format!("{org_name} has no certificate authority yet")).size(theme::HEADING),
                text(
                    "Initializing creates an offline root CA (20 years) and an intermediate CA (10 years) that it \
                     certifies; the intermediate issues the server and client certificates. Their keys are sealed \
                     in this vault.",
                )
                .style(theme::muted),
                button(text(if self.busy() { "Working…" } else { "Initialize PKI" }))
                    .style(theme::primary)
                    .padding([8, 20])
                    .on_press_maybe((!self.busy()).then_some(Message::Init)),
            ]
            .spacing(theme::GAP * 1.5)
            .max_width(640),
        )
        .padding(theme::PAD)
        .style(theme::card)
        .into()
    }

    /// One CA or certificate: kind, common name, names, validity, fingerprint, export.
    fn entry<'a>(&'a self, entry: &'a PkiRow, kind: &'static str) -> Element<'a, Message> {
        let mut about = column![text(common_name(&entry.subject))].spacing(2);
        if !entry.names.is_empty() {
            about = about.push(text(entry.names.join(", ")).size(theme::SMALL).style(theme::muted));
        }
        about = about.push(
            text(format!("{} – {}", date(&entry.not_before), date(&entry.not_after)))
                .size(theme::SMALL)
                .style(theme::muted),
        );
        about = about.push(
            text(&entry.fingerprint)
                .size(theme::SMALL)
                .font(Font::MONOSPACE)
                .style(theme::muted)
                .width(Length::Fill)
                .wrapping(Wrapping::WordOrGlyph),
        );
        row![
            text(kind).size(theme::SMALL).style(theme::muted).width(110),
            about.width(Length::Fill),
            button(text("Copy fingerprint").size(theme::SMALL))
                .style(theme::secondary)
                .on_press(Message::Copy(entry.fingerprint.clone())),
            container(
                button(text("Export PEM…").size(theme::SMALL))
                    .style(theme::secondary)
                    .on_press_maybe((!self.busy()).then(|| Message::ExportPem(entry.id.clone()))),
            )
            .id(format!("pki-pem-{}", entry.id)),
        ]
        .spacing(theme::GAP)
        .align_y(Alignment::Center)
        .into()
    }

    fn cas_view<'a>(&'a self, loaded: &'a Loaded) -> Element<'a, Message> {
        let mut list = column![text("Certificate authorities").size(theme::HEADING)].spacing(theme::GAP);
        for ca in &loaded.cas {
            let (kind, indent) = match ca.kind.as_str() {
                "root" => ("Root CA", 0),
                "intermediate" => ("Intermediate CA", 20),
                _ => ("CA", 0),
            };
            list = list.push(container(self.entry(ca, kind)).padding(Padding::ZERO.left(indent)));
        }
        container(list).padding(theme::GAP * 1.5).style(theme::card).width(Length::Fill).into()
    }

    fn certificates_view<'a>(&'a self, loaded: &'a Loaded) -> Element<'a, Message> {
        let total = loaded.certificates.len();
        let mut list = column![].spacing(theme::GAP);
        let start = (self.page * PAGE).min(total);
        let end = (start + PAGE).min(total);
        for certificate in &loaded.certificates[start..end] {
            let kind = match certificate.kind.as_str() {
                "server" => "Server",
                "client" => "Client",
                _ => "Certificate",
            };
            list = list.push(self.entry(certificate, kind));
        }
        if total == 0 {
            list = list.push(text("No certificate issued yet: use the form to issue one.").style(theme::muted));
        }
        let mut card = column![
            text(format!("Certificates issued by the intermediate CA ({total})")).size(theme::HEADING),
            scrollable(list).spacing(4).height(Length::Fill),
        ]
        .spacing(theme::GAP)
        .height(Length::Fill);
        if total > PAGE {
            card = card.push(
                row![
                    button(text("Previous").size(theme::SMALL))
                        .style(theme::secondary)
                        .on_press_maybe((self.page > 0).then_some(Message::PreviousPage)),
                    text(format!("Certificates {}–{end} of {total}", start + 1)).size(theme::SMALL).style(theme::muted),
                    button(text("Next").size(theme::SMALL))
                        .style(theme::secondary)
                        .on_press_maybe((end < total).then_some(Message::NextPage)),
                ]
                .spacing(theme::GAP)
                .align_y(Alignment::Center),
            );
        }
        container(card).padding(theme::GAP * 1.5).style(theme::card).width(Length::Fill).height(Length::Fill).into()
    }

    fn form_view(&self) -> Element<'_, Message> {
        let hint = match self.kind {
            Kind::Server => "At least one DNS name or IP address; a DNS name may be a wildcard (*.example.org).",
            Kind::Client => "DNS names, e-mail addresses and URIs, or none (the subject alone identifies the client).",
        };
        let mut form = column![
            text("Issue a certificate").size(theme::HEADING),
            pick_list(Kind::ALL, Some(self.kind), Message::Kind).width(Length::Fill),
            text_input("Common name, e.g. nats.example.org", &self.common_name)
                .id("pki-common-name")
                .on_input(Message::CommonName)
                .on_submit(Message::Issue)
                .padding(8),
            text_input("Alternative names, comma-separated", &self.names)
                .id("pki-names")
                .on_input(Message::Names)
                .on_submit(Message::Issue)
                .padding(8),
            text(format!("{hint} Prefix with DNS:, IP:, email: or URI:, or give a bare name or address."))
                .size(theme::SMALL)
                .style(theme::muted),
            row![
                text("Valid for").width(80),
                text_input("days", &self.days)
                    .id("pki-days")
                    .on_input(Message::Days)
                    .on_submit(Message::Issue)
                    .padding(8)
                    .width(100),
                text("days"),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center),
        ]
        .spacing(theme::GAP * 1.5);
        if let Some(error) = &self.form_error {
            form = form.push(text(error).style(theme::error));
        }
        let issuing = self.pending == Some(Pending::Issue);
        form.push(
            button(text(if issuing { "Issuing…" } else { "Issue certificate" }))
                .style(theme::primary)
                .padding([8, 20])
                .on_press_maybe((!self.busy()).then_some(Message::Issue)),
        )
        .into()
    }
}
