//! The NATS screen: the current organization's operator → accounts → users hierarchy.
//!
//! An organization without a hierarchy offers "Bootstrap". Otherwise the left panel is the
//! tree — the operator, its accounts, and the users of the one expanded account, a page at a
//! time ([`PAGE`] rows, so ten thousand users never render at once), narrowed by a filter —
//! and the right panel shows the selected node: its keys, its actions (export a user's creds,
//! revoke a user, rotate a signing key) and its current JWT's claims, decoded. A rotation shows
//! what it re-issued. Destructive actions ask for confirmation first; errors are shown inline.
//!
//! Everything goes through the jobs of [`crate::gui::jobs::nats`]; files are chosen by the
//! root's save dialog and written by the application (creds with mode 0600).

use std::path::PathBuf;
use std::sync::Arc;

use iced::widget::text::Wrapping;
use iced::widget::{button, column, container, row, scrollable, space, text, text_input};
use iced::{Element, Font, Length, Padding};

use crate::domain::{NatsUserId, OrgId};
use crate::gui::jobs::nats::{Claims, Hierarchy, Loaded, Reply, Request, Rotation};
use crate::gui::{Effect, GuiError, theme};

/// Rows of a list shown at once.
pub const PAGE: usize = 100;

/// A node of the hierarchy, by position in the loaded [`Hierarchy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// The operator.
    Operator,
    /// An account (index into the accounts).
    Account(usize),
    /// A user: account index, user index within the account.
    User(usize, usize),
}

/// A destructive action waiting for the operator's confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Revoke this user.
    Revoke {
        /// The user.
        user: NatsUserId,
        /// Its name.
        name: String,
    },
    /// Rotate this signing key.
    Rotate {
        /// Its public key.
        key: String,
    },
}

/// The screen's state.
#[derive(Debug)]
pub struct State {
    org: Option<OrgId>,
    loaded: Option<Arc<Loaded>>,
    /// Per account, the indices of the users that match the filter.
    matches: Vec<Vec<usize>>,
    filter: String,
    expanded: Option<usize>,
    page: usize,
    selected: Option<Node>,
    claims: Option<Arc<Claims>>,
    rotation: Option<Arc<Rotation>>,
    rotation_page: usize,
    confirm: Option<Confirm>,
    notice: Option<String>,
    error: Option<String>,
    busy: bool,
}

/// What happens on the screen.
#[derive(Debug, Clone)]
pub enum Message {
    /// A job finished.
    Done(Result<Reply, GuiError>),
    /// A save dialog closed (no path if cancelled).
    Picked(SavePurpose, Option<PathBuf>),
    /// A node of the tree was chosen (an account is also expanded).
    Select(Node),
    /// The user filter changed.
    Filter(String),
    /// The previous page of the expanded account's users.
    PreviousPage,
    /// The next page of the expanded account's users.
    NextPage,
    /// Create the organization's hierarchy.
    Bootstrap,
    /// Reload the hierarchy.
    Reload,
    /// Export the selected user's creds (asks for a file).
    ExportCreds,
    /// Export the server configuration (asks for a file).
    ExportServerConfig,
    /// Revoke the selected user (asks for confirmation).
    Revoke,
    /// Rotate this signing key (asks for confirmation).
    Rotate(String),
    /// Go ahead with the action waiting for confirmation.
    Confirmed,
    /// Drop the action waiting for confirmation.
    Cancel,
    /// Copy public text (a public key) to the clipboard.
    Copy(String),
    /// The previous page of the rotation report.
    ReportPrevious,
    /// The next page of the rotation report.
    ReportNext,
    /// Hide the rotation report.
    DismissReport,
}

/// What this screen writes to files chosen in a save dialog.
#[derive(Debug, Clone)]
pub enum SavePurpose {
    /// A user's creds file (JWT and seed, mode 0600).
    Creds {
        /// The user.
        user: NatsUserId,
    },
    /// The organization's nats-server configuration.
    ServerConfig {
        /// The organization.
        org: OrgId,
    },
}

/// What the root should do.
pub type Action = Effect<Request, SavePurpose>;

/// A file name from a node name: letters, digits and `.-_@` kept, the rest replaced by `-`.
fn file_name(name: &str, extension: &str) -> String {
    let stem: String =
        name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@') { c } else { '-' }).collect();
    let stem = stem.trim_matches(['-', '.']);
    format!("{}.{extension}", if stem.is_empty() { "nats" } else { stem })
}

fn revoked_text(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|d| format!("revoked {}", d.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_else(|| "revoked".to_owned())
}

/// "Previous · rows a–b of n · Next", or nothing for a list that fits one page.
fn pager<'a>(page: usize, total: usize, what: &str, previous: Message, next: Message) -> Option<Element<'a, Message>> {
    if total <= PAGE {
        return None;
    }
    let start = page * PAGE;
    let end = (start + PAGE).min(total);
    Some(
        row![
            button(text("Previous").size(theme::SMALL))
                .style(theme::secondary)
                .on_press_maybe((page > 0).then_some(previous)),
            text(format!("{what} {}–{end} of {total}", start + 1)).size(theme::SMALL).style(theme::muted),
            button(text("Next").size(theme::SMALL))
                .style(theme::secondary)
                .on_press_maybe((end < total).then_some(next)),
        ]
        .spacing(theme::GAP)
        .align_y(iced::Alignment::Center)
        .into(),
    )
}

/// A label and a public value, the value in monospace.
/// A public value (a key, an id) in monospace, broken anywhere to fit.
fn mono(value: &str) -> iced::widget::Text<'_> {
    text(value).size(theme::SMALL).font(Font::MONOSPACE).width(Length::Fill).wrapping(Wrapping::WordOrGlyph)
}

/// A label and a public value.
fn field<'a>(label: &'a str, value: &'a str) -> Element<'a, Message> {
    row![text(label).size(theme::SMALL).style(theme::muted).width(120), mono(value)].spacing(theme::GAP).into()
}

impl State {
    /// The screen for the current organization, and what to load first.
    pub fn new(org: Option<OrgId>) -> (Self, Action) {
        let state = Self {
            org,
            loaded: None,
            matches: Vec::new(),
            filter: String::new(),
            expanded: None,
            page: 0,
            selected: None,
            claims: None,
            rotation: None,
            rotation_page: 0,
            confirm: None,
            notice: None,
            error: None,
            busy: true,
        };
        (state, Effect::Run(Request::Load { org }))
    }

    fn hierarchy(&self) -> Option<&Hierarchy> {
        self.loaded.as_ref().and_then(|l| l.hierarchy.as_ref())
    }

    /// The id of a node of the loaded hierarchy.
    fn node_id(&self, node: Node) -> Option<&str> {
        let h = self.hierarchy()?;
        match node {
            Node::Operator => Some(&h.operator.id),
            Node::Account(a) => h.accounts.get(a).map(|a| a.account.id.as_str()),
            Node::User(a, u) => h.accounts.get(a).and_then(|a| a.users.get(u)).map(|u| u.id.as_str()),
        }
    }

    /// The node with this id in the loaded hierarchy (a scan: on reload only, never per frame).
    fn find(&self, id: &str) -> Option<Node> {
        let h = self.hierarchy()?;
        if h.operator.id == id {
            return Some(Node::Operator);
        }
        for (a, node) in h.accounts.iter().enumerate() {
            if node.account.id == id {
                return Some(Node::Account(a));
            }
            if let Some(u) = node.users.iter().position(|u| u.id == id) {
                return Some(Node::User(a, u));
            }
        }
        None
    }

    fn refilter(&mut self) {
        let needle = self.filter.trim().to_lowercase();
        self.matches = match self.hierarchy() {
            Some(h) => h
                .accounts
                .iter()
                .map(|a| {
                    a.users
                        .iter()
                        .enumerate()
                        .filter(|(_, u)| {
                            needle.is_empty()
                                || u.name.to_lowercase().contains(&needle)
                                || u.public_key.to_lowercase().contains(&needle)
                        })
                        .map(|(i, _)| i)
                        .collect()
                })
                .collect(),
            None => Vec::new(),
        };
        let shown = self.expanded.and_then(|a| self.matches.get(a)).map_or(0, Vec::len);
        if self.page * PAGE >= shown {
            self.page = shown.saturating_sub(1) / PAGE;
        }
    }

    /// Shows a freshly loaded hierarchy, keeping the selection and the expanded account.
    fn apply(&mut self, loaded: Arc<Loaded>) -> Action {
        let selected = self.selected.and_then(|n| self.node_id(n)).map(str::to_owned);
        let expanded = self.expanded.and_then(|a| self.node_id(Node::Account(a))).map(str::to_owned);
        let first = self.org.is_none();
        self.org = loaded.org;
        self.loaded = Some(loaded);
        self.expanded = match expanded.and_then(|id| self.find(&id)) {
            Some(Node::Account(a)) => Some(a),
            _ => {
                self.hierarchy().and_then(|h| h.accounts.iter().position(|a| !a.account.system && !a.users.is_empty()))
            }
        };
        self.selected = selected.and_then(|id| self.find(&id));
        if self.selected.is_none() {
            self.claims = None;
        }
        self.refilter();
        match self.org {
            Some(org) if first => Effect::Select(org),
            _ => Effect::None,
        }
    }

    /// Asks for the claims of the selected node again (they change with revocations and
    /// rotations).
    fn reload_claims(&self) -> Action {
        match self.selected.and_then(|n| self.node_id(n)) {
            Some(id) => Effect::Run(Request::Claims { id: id.to_owned() }),
            None => Effect::None,
        }
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Done(result) => self.done(result),
            Message::Picked(_, None) => Effect::None,
            Message::Picked(purpose, Some(path)) => {
                self.busy = true;
                self.error = None;
                self.notice = None;
                Effect::Run(match purpose {
                    SavePurpose::Creds { user } => Request::WriteCreds { user, path },
                    SavePurpose::ServerConfig { org } => Request::WriteServerConfig { org, path },
                })
            }
            Message::Select(node) => {
                if let Node::Account(a) = node
                    && self.expanded != Some(a)
                {
                    self.expanded = Some(a);
                    self.page = 0;
                }
                if self.selected == Some(node) {
                    return Effect::None;
                }
                self.selected = Some(node);
                self.claims = None;
                self.confirm = None;
                self.reload_claims()
            }
            Message::Filter(filter) => {
                self.filter = filter;
                self.page = 0;
                self.refilter();
                Effect::None
            }
            Message::PreviousPage => {
                self.page = self.page.saturating_sub(1);
                Effect::None
            }
            Message::NextPage => {
                let shown = self.expanded.and_then(|a| self.matches.get(a)).map_or(0, Vec::len);
                if (self.page + 1) * PAGE < shown {
                    self.page += 1;
                }
                Effect::None
            }
            Message::Bootstrap => match self.org {
                Some(org) if !self.busy => {
                    self.busy = true;
                    self.error = None;
                    self.notice = None;
                    Effect::Run(Request::Bootstrap { org })
                }
                _ => Effect::None,
            },
            Message::Reload => {
                self.busy = true;
                self.error = None;
                Effect::Run(Request::Load { org: self.org })
            }
            Message::ExportCreds => match (self.selected, self.hierarchy()) {
                (Some(Node::User(a, u)), Some(h)) if !self.busy => {
                    let row = &h.accounts[a].users[u];
                    match row.id.parse() {
                        Ok(user) => Effect::Save {
                            purpose: SavePurpose::Creds { user },
                            suggested: file_name(&row.name, "creds"),
                        },
                        Err(e) => {
                            self.error = Some(e.to_string());
                            Effect::None
                        }
                    }
                }
                _ => Effect::None,
            },
            Message::ExportServerConfig => match self.org {
                Some(org) if !self.busy && self.hierarchy().is_some() => {
                    Effect::Save { purpose: SavePurpose::ServerConfig { org }, suggested: "nats-server.conf".into() }
                }
                _ => Effect::None,
            },
            Message::Revoke => {
                if let (Some(Node::User(a, u)), Some(h)) = (self.selected, self.hierarchy()) {
                    let row = &h.accounts[a].users[u];
                    match row.id.parse() {
                        Ok(user) => self.confirm = Some(Confirm::Revoke { user, name: row.name.clone() }),
                        Err(e) => self.error = Some(e.to_string()),
                    }
                }
                Effect::None
            }
            Message::Rotate(key) => {
                self.confirm = Some(Confirm::Rotate { key });
                Effect::None
            }
            Message::Cancel => {
                self.confirm = None;
                Effect::None
            }
            Message::Confirmed => {
                let (Some(confirm), Some(org)) = (self.confirm.take(), self.org) else { return Effect::None };
                if self.busy {
                    self.confirm = Some(confirm);
                    return Effect::None;
                }
                self.busy = true;
                self.error = None;
                self.notice = None;
                Effect::Run(match confirm {
                    Confirm::Revoke { user, .. } => Request::Revoke { org, user },
                    Confirm::Rotate { key } => Request::Rotate { org, key },
                })
            }
            Message::Copy(value) => Effect::Copy(value),
            Message::ReportPrevious => {
                self.rotation_page = self.rotation_page.saturating_sub(1);
                Effect::None
            }
            Message::ReportNext => {
                let total = self.rotation.as_ref().map_or(0, |r| r.reissued.len());
                if (self.rotation_page + 1) * PAGE < total {
                    self.rotation_page += 1;
                }
                Effect::None
            }
            Message::DismissReport => {
                self.rotation = None;
                self.rotation_page = 0;
                Effect::None
            }
        }
    }

    fn done(&mut self, result: Result<Reply, GuiError>) -> Action {
        let reply = match result {
            Ok(reply) => reply,
            Err(error) => {
                self.busy = false;
                self.error = Some(error.message);
                return Effect::None;
            }
        };
        match reply {
            Reply::Loaded(loaded) => {
                self.busy = false;
                self.apply(loaded)
            }
            Reply::Claims(claims) => {
                if self.selected.and_then(|n| self.node_id(n)) == Some(claims.id.as_str()) {
                    self.claims = Some(claims);
                }
                Effect::None
            }
            Reply::Bootstrapped { accounts, users, loaded } => {
                self.busy = false;
                self.notice = Some(format!("Bootstrapped: {accounts} accounts and {users} users created."));
                self.apply(loaded)
            }
            Reply::Revoked { user, loaded } => {
                self.busy = false;
                let name = match self.find(&user) {
                    Some(Node::User(a, u)) => self.hierarchy().map(|h| h.accounts[a].users[u].name.clone()),
                    _ => None,
                };
                self.notice = Some(format!(
                    "Revoked {}: its account JWT was re-issued with the user's key revoked.",
                    name.as_deref().unwrap_or("the user")
                ));
                self.apply(loaded);
                self.reload_claims()
            }
            Reply::Rotated { rotation, loaded } => {
                self.busy = false;
                self.notice = Some(format!(
                    "Rotated the signing key: {} JWTs re-issued with the new key.",
                    rotation.reissued.len()
                ));
                self.rotation = Some(rotation);
                self.rotation_page = 0;
                self.apply(loaded);
                self.reload_claims()
            }
            Reply::CredsWritten(path) => {
                self.busy = false;
                self.notice = Some(format!("Creds written to {} (readable only by you).", path.display()));
                Effect::None
            }
            Reply::ServerConfigWritten(path) => {
                self.busy = false;
                self.notice = Some(format!("Server configuration written to {}.", path.display()));
                Effect::None
            }
        }
    }

    /// The screen.
    pub fn view(&self) -> Element<'_, Message> {
        let org_name = self.loaded.as_ref().map(|l| l.org_name.as_str()).unwrap_or_default();
        let mut header =
            row![text("NATS").size(theme::TITLE)].spacing(theme::GAP * 2.0).align_y(iced::Alignment::Center);
        if !org_name.is_empty() {
            header = header.push(text(format!("Organization: {org_name}")).style(theme::muted));
        }
        header = header.push(space::horizontal());
        if self.hierarchy().is_some() {
            header = header.push(
                button(text("Export server config…"))
                    .style(theme::secondary)
                    .on_press_maybe((!self.busy).then_some(Message::ExportServerConfig)),
            );
        }
        header = header.push(
            button(text("Reload")).style(theme::secondary).on_press_maybe((!self.busy).then_some(Message::Reload)),
        );

        let mut page = column![header].spacing(theme::GAP * 1.5).height(Length::Fill);
        if let Some(error) = &self.error {
            page = page.push(text(error).style(theme::error));
        }
        if let Some(notice) = &self.notice {
            page = page.push(text(notice).style(theme::success));
        }
        if let Some(confirm) = &self.confirm {
            page = page.push(self.confirm_view(confirm));
        }
        if let Some(rotation) = &self.rotation {
            page = page.push(self.rotation_view(rotation));
        }
        let body: Element<'_, Message> = match &self.loaded {
            None => text(if self.error.is_some() { "" } else { "Loading…" }).style(theme::muted).into(),
            Some(loaded) if loaded.org.is_none() => text(
                "The vault has no organization yet: create one on the Organization screen, then come back to \
                 bootstrap its NATS hierarchy.",
            )
            .style(theme::muted)
            .into(),
            Some(loaded) => match &loaded.hierarchy {
                None => self.bootstrap_view(&loaded.org_name),
                Some(h) => row![
                    container(self.tree_view(h))
                        .padding(theme::GAP * 1.5)
                        .style(theme::card)
                        .width(Length::FillPortion(2))
                        .height(Length::Fill),
                    container(self.details_view(h))
                        .padding(theme::GAP * 1.5)
                        .style(theme::card)
                        .width(Length::FillPortion(3))
                        .height(Length::Fill),
                ]
                .spacing(theme::SECTION)
                .height(Length::Fill)
                .into(),
            },
        };
        page.push(body).into()
    }

    fn bootstrap_view<'a>(&'a self, org_name: &'a str) -> Element<'a, Message> {
        container(
            column![
                text(format!("{org_name} has no NATS hierarchy yet")).size(theme::HEADING),
                text(
                    "Bootstrapping creates the operator (with a signing key), the system account, an account for \
                     the organization and one per unit, and a user for every person — keys sealed in this vault.",
                )
                .style(theme::muted),
                button(text(if self.busy { "Working…" } else { "Bootstrap" }))
                    .style(theme::primary)
                    .padding([8, 20])
                    .on_press_maybe((!self.busy).then_some(Message::Bootstrap)),
            ]
            .spacing(theme::GAP * 1.5)
            .max_width(640),
        )
        .padding(theme::PAD)
        .style(theme::card)
        .into()
    }

    fn tree_view<'a>(&'a self, h: &'a Hierarchy) -> Element<'a, Message> {
        let mut rows = column![
            container(
                button(text(format!("Operator · {}", h.operator.name)))
                    .width(Length::Fill)
                    .style(theme::nav(self.selected == Some(Node::Operator)))
                    .on_press(Message::Select(Node::Operator)),
            )
            .id("nats-operator")
        ]
        .spacing(2);
        let filtering = !self.filter.trim().is_empty();
        let mut footer = None;
        for (a, node) in h.accounts.iter().enumerate() {
            let name =
                if node.account.system { format!("{} (system)", node.account.name) } else { node.account.name.clone() };
            let matched = self.matches.get(a).map_or(0, Vec::len);
            let count = match (filtering, node.users.len()) {
                (true, n) => format!("{matched} of {n} users"),
                (false, 1) => "1 user".to_owned(),
                (false, n) => format!("{n} users"),
            };
            rows = rows.push(
                container(
                    button(
                        row![text(name), space::horizontal(), text(count).size(theme::SMALL).style(theme::muted)]
                            .align_y(iced::Alignment::Center),
                    )
                    .width(Length::Fill)
                    .style(theme::nav(self.selected == Some(Node::Account(a))))
                    .on_press(Message::Select(Node::Account(a))),
                )
                .id(format!("nats-account-{}", node.account.id))
                .padding(Padding::ZERO.left(16)),
            );
            if self.expanded != Some(a) {
                continue;
            }
            let shown = self.matches.get(a).map(Vec::as_slice).unwrap_or_default();
            let start = (self.page * PAGE).min(shown.len());
            let end = (start + PAGE).min(shown.len());
            for &u in &shown[start..end] {
                let user = &node.users[u];
                let mut label = row![text(&user.name)].spacing(theme::GAP).align_y(iced::Alignment::Center);
                if user.revoked_at.is_some() {
                    label = label.push(text("revoked").size(theme::SMALL).style(theme::error));
                }
                rows = rows.push(
                    container(
                        button(label)
                            .width(Length::Fill)
                            .style(theme::nav(self.selected == Some(Node::User(a, u))))
                            .on_press(Message::Select(Node::User(a, u))),
                    )
                    .id(format!("nats-user-{}", user.id))
                    .padding(Padding::ZERO.left(32)),
                );
            }
            if shown.is_empty() && !node.users.is_empty() {
                rows = rows.push(
                    container(text("No user matches the filter.").size(theme::SMALL).style(theme::muted))
                        .padding(Padding::ZERO.left(32)),
                );
            }
            footer = pager(self.page, shown.len(), "Users", Message::PreviousPage, Message::NextPage);
        }
        let panel = column![
            text(format!("{} accounts, {} users", h.accounts.len(), h.user_count()))
                .size(theme::SMALL)
                .style(theme::muted),
            text_input("Filter users by name or public key", &self.filter)
                .id("nats-filter")
                .on_input(Message::Filter)
                .padding(6),
            scrollable(rows).spacing(4).height(Length::Fill),
        ]
        .spacing(theme::GAP);
        // The pager stays below the list, visible however far it is scrolled.
        match footer {
            Some(footer) => panel.push(footer).into(),
            None => panel.into(),
        }
    }

    fn signing_keys<'a>(&'a self, keys: impl Iterator<Item = (&'a str, Option<&'a str>)>) -> Element<'a, Message> {
        let mut list = column![text("Signing keys").size(theme::BODY)].spacing(4);
        for (key, role) in keys {
            let role = match role {
                Some(role) => format!("scoped: {role}"),
                None => "plain".to_owned(),
            };
            list = list.push(
                row![
                    mono(key),
                    text(role).size(theme::SMALL).style(theme::muted),
                    container(
                        button(text("Rotate").size(theme::SMALL))
                            .style(theme::secondary)
                            .on_press_maybe((!self.busy).then(|| Message::Rotate(key.to_owned()))),
                    )
                    .id(format!("nats-rotate-{key}")),
                ]
                .spacing(theme::GAP)
                .align_y(iced::Alignment::Center),
            );
        }
        list.into()
    }

    fn details_view<'a>(&'a self, h: &'a Hierarchy) -> Element<'a, Message> {
        let Some(node) = self.selected else {
            return text("Select the operator, an account or a user to see its keys and its JWT's claims.")
                .style(theme::muted)
                .into();
        };
        let mut details = column![].spacing(theme::GAP);
        match node {
            Node::Operator => {
                let op = &h.operator;
                details = details.push(text(format!("Operator {}", op.name)).size(theme::HEADING));
                details = details.push(self.public_key(&op.public_key));
                details = details.push(field("System account", &op.system_account));
                details = details.push(self.signing_keys(op.signing_keys.iter().map(|k| (k.as_str(), None))));
            }
            Node::Account(a) => {
                let account = &h.accounts[a].account;
                let mut title = row![text(format!("Account {}", account.name)).size(theme::HEADING)]
                    .spacing(theme::GAP)
                    .align_y(iced::Alignment::Center);
                if account.system {
                    title = title.push(text("system").size(theme::SMALL).style(theme::muted));
                }
                if account.jetstream {
                    title = title.push(text("JetStream").size(theme::SMALL).style(theme::muted));
                }
                details = details.push(title);
                details = details.push(self.public_key(&account.public_key));
                details = details.push(field("Id", &account.id));
                details = details.push(
                    self.signing_keys(account.signing_keys.iter().map(|k| (k.public_key.as_str(), k.role.as_deref()))),
                );
            }
            Node::User(a, u) => {
                let account = &h.accounts[a].account;
                let user = &h.accounts[a].users[u];
                let mut title = row![text(format!("User {}", user.name)).size(theme::HEADING)]
                    .spacing(theme::GAP)
                    .align_y(iced::Alignment::Center);
                if let Some(at) = user.revoked_at {
                    title = title.push(text(revoked_text(at)).style(theme::error));
                }
                details = details.push(title);
                details = details.push(self.public_key(&user.public_key));
                details = details.push(field("Account", &account.name));
                details = details.push(field("Signed by", &user.signer));
                details = details.push(field("Id", &user.id));
                let active = user.revoked_at.is_none() && !self.busy;
                details = details.push(
                    row![
                        button(text("Export creds…"))
                            .style(theme::primary)
                            .on_press_maybe(active.then_some(Message::ExportCreds)),
                        button(text("Revoke")).style(theme::danger).on_press_maybe(active.then_some(Message::Revoke)),
                    ]
                    .spacing(theme::GAP),
                );
            }
        }
        details = details.push(text("Claims").size(theme::BODY));
        match &self.claims {
            Some(claims) => {
                details = details.push(
                    text(format!("{} JWT, block {}", claims.kind, claims.cid)).size(theme::SMALL).style(theme::muted),
                );
                details = details.push(
                    container(
                        scrollable(text(&claims.json).size(theme::SMALL).font(Font::MONOSPACE))
                            .width(Length::Fill)
                            .height(Length::Fill),
                    )
                    .padding(theme::GAP)
                    .height(Length::Fill),
                );
            }
            None => details = details.push(text("Loading the claims…").size(theme::SMALL).style(theme::muted)),
        }
        details.height(Length::Fill).into()
    }

    fn public_key<'a>(&'a self, key: &'a str) -> Element<'a, Message> {
        row![
            text("Public key").size(theme::SMALL).style(theme::muted).width(120),
            mono(key),
            button(text("Copy").size(theme::SMALL)).style(theme::secondary).on_press(Message::Copy(key.to_owned())),
        ]
        .spacing(theme::GAP)
        .align_y(iced::Alignment::Center)
        .into()
    }

    fn confirm_view<'a>(&'a self, confirm: &'a Confirm) -> Element<'a, Message> {
        let (question, label) = match confirm {
            Confirm::Revoke { name, .. } => (
                format!(
                    "Revoke user {name}? Its account JWT is re-issued with the user's key revoked; servers refuse \
                     the user once they load it. This cannot be undone."
                ),
                "Revoke user",
            ),
            Confirm::Rotate { key } => (
                format!(
                    "Rotate signing key {key}? A new key takes its place and every JWT it signed is re-issued; \
                     creds exported before must be exported again."
                ),
                "Rotate key",
            ),
        };
        container(
            column![
                text(question),
                row![
                    button(text(label)).style(theme::danger).on_press_maybe((!self.busy).then_some(Message::Confirmed)),
                    button(text("Cancel")).style(theme::secondary).on_press(Message::Cancel),
                ]
                .spacing(theme::GAP),
            ]
            .spacing(theme::GAP),
        )
        .padding(theme::GAP * 1.5)
        .style(theme::card)
        .width(Length::Fill)
        .into()
    }

    fn rotation_view<'a>(&'a self, rotation: &'a Rotation) -> Element<'a, Message> {
        let start = (self.rotation_page * PAGE).min(rotation.reissued.len());
        let end = (start + PAGE).min(rotation.reissued.len());
        let mut list = column![].spacing(2);
        for jwt in &rotation.reissued[start..end] {
            list = list.push(
                row![
                    text(jwt.kind).size(theme::SMALL).style(theme::muted).width(70),
                    text(&jwt.name).size(theme::SMALL).width(Length::FillPortion(2)),
                    text(&jwt.public_key).size(theme::SMALL).font(Font::MONOSPACE).width(Length::FillPortion(3)),
                ]
                .spacing(theme::GAP),
            );
        }
        let mut report = column![
            row![
                text("Signing key rotated").size(theme::HEADING),
                space::horizontal(),
                button(text("Dismiss").size(theme::SMALL)).style(theme::secondary).on_press(Message::DismissReport),
            ]
            .align_y(iced::Alignment::Center),
            field("Retired", &rotation.old_key),
            field("New", &rotation.new_key),
            text(format!("Re-issued {} JWTs:", rotation.reissued.len())).size(theme::SMALL),
            scrollable(list).height(Length::Fixed(((end - start) as f32 * 20.0).min(180.0))).width(Length::Fill),
        ]
        .spacing(theme::GAP);
        if let Some(pager) =
            pager(self.rotation_page, rotation.reissued.len(), "JWTs", Message::ReportPrevious, Message::ReportNext)
        {
            report = report.push(pager);
        }
        if !rotation.skipped_revoked.is_empty() {
            let shown = rotation.skipped_revoked.len().min(PAGE);
            let mut skipped = rotation.skipped_revoked[..shown].join(", ");
            if rotation.skipped_revoked.len() > shown {
                skipped.push_str(&format!(" and {} more", rotation.skipped_revoked.len() - shown));
            }
            report = report.push(
                text(format!("Left as they were (revoked users, not re-issued so they stay revoked): {skipped}"))
                    .size(theme::SMALL)
                    .style(theme::muted),
            );
        }
        container(report).padding(theme::GAP * 1.5).style(theme::card).width(Length::Fill).into()
    }
}
