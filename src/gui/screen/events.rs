//! The Events screen: the log and the graph.
//!
//! *Log*: the graph events (or, with the toggle, the domain events) a page of
//! [`PAGE`] at a time — sequence, time, type, aggregate and CID — with a filter by type over the
//! page shown, the vault's head CID, and Verify / Deep verify with the outcome. The screen opens
//! on the last page (the newest events).
//!
//! *Graph*: the organization (or every organization) drawn from the graph events by
//! [`crate::gui::graph`]; the layout comes from a job, the canvas pans (drag), zooms (wheel,
//! `+`/`−`) and selects a node (click) to show its details and relations.

use iced::widget::{button, canvas, checkbox, column, container, row, rule, scrollable, space, text, text_input};
use iced::{Alignment, Element, Length};

use crate::domain::OrgId;
use crate::gui::graph::{self, EdgeSwatch, GraphView, Swatch};
use crate::gui::jobs::events::{LogPage, LogRow, PAGE, PageAt, Reply, Request, Verification};
use crate::gui::{Effect, GuiError, theme};
use crate::projection::REVOKED;

/// The two views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// The event log.
    Log,
    /// The graph view.
    Graph,
}

/// The screen's state.
#[derive(Debug)]
pub struct State {
    org: Option<OrgId>,
    tab: Tab,
    domain: bool,
    page: Option<LogPage>,
    filter: String,
    loading: bool,
    verifying: Option<bool>,
    verification: Option<Verification>,
    graph: Option<GraphView>,
    graph_loading: bool,
    all_organizations: bool,
    error: Option<String>,
}

/// What happens on the screen.
#[derive(Debug, Clone)]
pub enum Message {
    /// Show the log or the graph.
    Show(Tab),
    /// Show domain events (true) or graph events.
    Domain(bool),
    /// The first page.
    First,
    /// The page before.
    Previous,
    /// The page after.
    Next,
    /// The last page.
    Last,
    /// Load the page (or the graph) again.
    Refresh,
    /// The type filter changed.
    Filter(String),
    /// Verify (deep: also the read models and the projection).
    Verify {
        /// Run the deep checks too.
        deep: bool,
    },
    /// Copy a CID (public) to the clipboard.
    Copy(String),
    /// Graph of every organization rather than the current one.
    AllOrganizations(bool),
    /// Zoom in one step.
    ZoomIn,
    /// Zoom out one step.
    ZoomOut,
    /// The graph canvas.
    Graph(graph::Message),
    /// A job finished.
    Done(Result<Reply, GuiError>),
    /// A save dialog closed (no path if cancelled).
    Picked(SavePurpose, Option<std::path::PathBuf>),
}

/// What this screen writes to files chosen in a save dialog (nothing yet).
#[derive(Debug, Clone)]
pub enum SavePurpose {}

/// What the root should do.
pub type Action = Effect<Request, SavePurpose>;

/// The details panel lists at most this many of a node's relations.
const MAX_RELATIONS: usize = 50;

/// One zoom step of the buttons.
const ZOOM_STEP: f32 = 1.25;

impl State {
    /// The screen for the current organization, and what to load first.
    pub fn new(org: Option<OrgId>) -> (Self, Action) {
        let state = Self {
            org,
            tab: Tab::Log,
            domain: false,
            page: None,
            filter: String::new(),
            loading: true,
            verifying: None,
            verification: None,
            graph: None,
            graph_loading: false,
            all_organizations: org.is_none(),
            error: None,
        };
        (state, Effect::Run(Request::Log { domain: false, at: PageAt::Last }))
    }

    /// The page of the log shown, if loaded.
    pub fn page(&self) -> Option<&LogPage> {
        self.page.as_ref()
    }

    /// The last verification, if any.
    pub fn verification(&self) -> Option<&Verification> {
        self.verification.as_ref()
    }

    /// The graph view, once loaded.
    pub fn graph(&self) -> Option<&GraphView> {
        self.graph.as_ref()
    }

    /// The error shown, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    fn load(&mut self, domain: bool, at: PageAt) -> Action {
        if self.loading {
            return Effect::None;
        }
        self.loading = true;
        self.error = None;
        Effect::Run(Request::Log { domain, at })
    }

    /// The organization the graph is limited to (none: every one).
    fn graph_scope(&self) -> Option<OrgId> {
        if self.all_organizations { None } else { self.org }
    }

    fn load_graph(&mut self) -> Action {
        if self.graph_loading {
            return Effect::None;
        }
        self.graph_loading = true;
        self.error = None;
        Effect::Run(Request::Graph { org: self.graph_scope() })
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> Action {
        let after = self.page.as_ref().map_or(0, |p| p.after);
        match message {
            Message::Show(tab) => {
                self.tab = tab;
                if tab == Tab::Graph && self.graph.is_none() {
                    return self.load_graph();
                }
                Effect::None
            }
            Message::Domain(domain) => {
                self.domain = domain;
                self.loading = false;
                self.load(domain, PageAt::Last)
            }
            Message::First => self.load(self.domain, PageAt::After(0)),
            Message::Previous => self.load(self.domain, PageAt::After(after.saturating_sub(PAGE))),
            Message::Next => self.load(self.domain, PageAt::After(after + PAGE)),
            Message::Last => self.load(self.domain, PageAt::Last),
            Message::Refresh => match self.tab {
                Tab::Log => self.load(self.domain, PageAt::After(after)),
                Tab::Graph => self.load_graph(),
            },
            Message::Filter(filter) => {
                self.filter = filter;
                Effect::None
            }
            Message::Verify { deep } => {
                if self.verifying.is_some() {
                    return Effect::None;
                }
                self.verifying = Some(deep);
                self.verification = None;
                self.error = None;
                Effect::Run(Request::Verify { deep })
            }
            Message::Copy(cid) => Effect::Copy(cid),
            Message::AllOrganizations(all) => {
                self.all_organizations = all;
                self.graph_loading = false;
                self.load_graph()
            }
            Message::ZoomIn => {
                self.graph_message(graph::Message::Zoom { factor: ZOOM_STEP, focus: Default::default() })
            }
            Message::ZoomOut => {
                self.graph_message(graph::Message::Zoom { factor: 1.0 / ZOOM_STEP, focus: Default::default() })
            }
            Message::Graph(m) => self.graph_message(m),
            Message::Done(result) => {
                self.done(result);
                Effect::None
            }
            Message::Picked(purpose, _) => match purpose {},
        }
    }

    fn graph_message(&mut self, message: graph::Message) -> Action {
        if let Some(graph) = &mut self.graph {
            graph.update(message);
        }
        Effect::None
    }

    fn done(&mut self, result: Result<Reply, GuiError>) {
        match result {
            Ok(Reply::Log(page)) => {
                self.loading = false;
                // A reply for the other log (the toggle moved meanwhile) is stale.
                if page.domain == self.domain {
                    self.page = Some(page);
                }
            }
            Ok(Reply::Verified(verification)) => {
                self.verifying = None;
                self.verification = Some(verification);
            }
            Ok(Reply::Graph { org, model }) => {
                // A reply for the other scope (the toggle moved meanwhile) is stale.
                if org == self.graph_scope() {
                    self.graph_loading = false;
                    self.graph = Some(GraphView::new(model));
                }
            }
            Err(error) => {
                self.loading = false;
                self.verifying = None;
                self.graph_loading = false;
                self.error = Some(error.message);
            }
        }
    }

    /// The screen.
    pub fn view(&self) -> Element<'_, Message> {
        let tab = |label, tab| {
            button(text(label)).style(theme::nav(self.tab == tab)).padding([6, 16]).on_press(Message::Show(tab))
        };
        let header = row![
            text("Events").size(theme::TITLE),
            space::horizontal(),
            tab("Log", Tab::Log),
            tab("Graph", Tab::Graph),
        ]
        .spacing(theme::GAP)
        .align_y(Alignment::Center);
        let mut content = column![header, self.summary()].spacing(theme::SECTION);
        if let Some(error) = &self.error {
            content = content.push(text(error).style(theme::error));
        }
        content = content.push(match self.tab {
            Tab::Log => self.log(),
            Tab::Graph => self.graph_tab(),
        });
        content.height(Length::Fill).into()
    }

    /// The head CID, the counts, and verification.
    fn summary(&self) -> Element<'_, Message> {
        let head: Element<'_, Message> = match self.page.as_ref().and_then(|p| p.head.as_deref()) {
            Some(head) => row![
                text("Head").size(theme::SMALL).style(theme::muted),
                text(head).size(theme::SMALL),
                button(text("Copy").size(theme::SMALL))
                    .style(theme::secondary)
                    .padding([2, 8])
                    .on_press(Message::Copy(head.to_owned())),
            ]
            .spacing(theme::GAP)
            .align_y(Alignment::Center)
            .into(),
            None if self.page.is_some() => text("No events yet: the vault is empty.").style(theme::muted).into(),
            None => text("Loading…").style(theme::muted).into(),
        };
        let counts = self.page.as_ref().map(|p| {
            text(format!("{} domain events · {} graph events", p.domain_events, p.graph_events))
                .size(theme::SMALL)
                .style(theme::muted)
        });
        let busy = self.verifying.is_some();
        let verify = row![
            button(text(if self.verifying == Some(false) { "Verifying…" } else { "Verify" }))
                .style(theme::primary)
                .on_press_maybe((!busy).then_some(Message::Verify { deep: false })),
            button(text(if self.verifying == Some(true) { "Verifying…" } else { "Deep verify" }))
                .style(theme::secondary)
                .on_press_maybe((!busy).then_some(Message::Verify { deep: true })),
        ]
        .spacing(theme::GAP);
        let mut card = column![head].spacing(theme::GAP);
        if let Some(counts) = counts {
            card = card.push(counts);
        }
        card = card.push(verify);
        if let Some(v) = &self.verification {
            card = card.push(verification_text(v));
        }
        container(card).padding(theme::PAD / 2.0).width(Length::Fill).style(theme::card).into()
    }

    fn log(&self) -> Element<'_, Message> {
        let (first, shown, total) = match &self.page {
            Some(p) => (p.after, p.rows.len() as u64, p.total),
            None => (0, 0, 0),
        };
        let can_back = !self.loading && first > 0;
        let can_forward = !self.loading && first + shown < total;
        let position =
            if shown == 0 { "No events".to_owned() } else { format!("{}–{} of {}", first + 1, first + shown, total) };
        let nav = |label, message, enabled: bool| {
            button(text(label).size(theme::SMALL))
                .style(theme::secondary)
                .padding([4, 10])
                .on_press_maybe(enabled.then_some(message))
        };
        let controls = row![
            checkbox(self.domain).label("Domain events").on_toggle(Message::Domain),
            text_input("Filter by type", &self.filter).on_input(Message::Filter).padding(6).width(240),
            space::horizontal(),
            nav("First", Message::First, can_back),
            nav("Previous", Message::Previous, can_back),
            text(position).size(theme::SMALL),
            nav("Next", Message::Next, can_forward),
            nav("Last", Message::Last, can_forward),
            nav("Refresh", Message::Refresh, !self.loading),
        ]
        .spacing(theme::GAP)
        .align_y(Alignment::Center);
        let filter = self.filter.trim().to_lowercase();
        let rows: Vec<&LogRow> = self
            .page
            .iter()
            .flat_map(|p| p.rows.iter())
            .filter(|r| {
                filter.is_empty()
                    || r.event_type.to_lowercase().contains(&filter)
                    || r.detail.to_lowercase().contains(&filter)
            })
            .collect();
        let mut list = column![].spacing(theme::GAP / 2.0).padding(iced::Padding::ZERO.right(theme::GAP * 1.5));
        if self.page.is_some() && rows.is_empty() {
            list = list.push(
                text(if shown == 0 { "No events on this page." } else { "No event on this page matches the filter." })
                    .style(theme::muted),
            );
        }
        for r in rows {
            list = list.push(log_row(r)).push(rule::horizontal(1));
        }
        let header = row![
            text("Seq").size(theme::SMALL).style(theme::muted).width(56),
            text("Time (UTC)").size(theme::SMALL).style(theme::muted).width(170),
            text("Type, aggregate and CID").size(theme::SMALL).style(theme::muted),
        ]
        .spacing(theme::GAP);
        column![controls, header, scrollable(list).height(Length::Fill).spacing(theme::GAP)]
            .spacing(theme::GAP)
            .height(Length::Fill)
            .into()
    }

    fn graph_tab(&self) -> Element<'_, Message> {
        let mut controls = row![].spacing(theme::GAP).align_y(Alignment::Center);
        if self.org.is_some() {
            controls = controls
                .push(checkbox(self.all_organizations).label("All organizations").on_toggle(Message::AllOrganizations));
        }
        let loaded = self.graph.is_some();
        let small = |label| button(text(label).size(theme::SMALL)).style(theme::secondary).padding([4, 10]);
        controls = controls
            .push(space::horizontal())
            .push(small("−").on_press_maybe(loaded.then_some(Message::ZoomOut)))
            .push(small("+").on_press_maybe(loaded.then_some(Message::ZoomIn)))
            .push(small("Fit").on_press_maybe(loaded.then_some(Message::Graph(graph::Message::Fit))))
            .push(small("Reload").on_press_maybe((!self.graph_loading).then_some(Message::Refresh)));
        let Some(view) = &self.graph else {
            let note = if self.graph_loading { "Laying out the graph…" } else { "The graph is not loaded." };
            return column![controls, text(note).style(theme::muted)].spacing(theme::GAP).into();
        };
        let model = view.model();
        if model.nodes.is_empty() {
            return column![controls, text("Nothing to draw yet: create an organization first.").style(theme::muted)]
                .spacing(theme::GAP)
                .into();
        }
        let stats = text(format!(
            "{} nodes · {} edges{}",
            model.nodes.len(),
            model.edges.len(),
            if self.graph_loading { " · reloading…" } else { "" }
        ))
        .size(theme::SMALL)
        .style(theme::muted);
        let picture =
            container(view.view().map(Message::Graph)).style(theme::card).width(Length::Fill).height(Length::Fill);
        let body = row![picture, self.details(view)].spacing(theme::GAP).height(Length::Fill);
        column![controls.push(stats), body, legend(view)].spacing(theme::GAP).height(Length::Fill).into()
    }

    /// The side panel: the selected node, or how to use the view.
    fn details<'a>(&self, view: &'a GraphView) -> Element<'a, Message> {
        let Some(node) = view.selected() else {
            return container(
                text("Drag to pan, scroll or use + and − to zoom, click a node to see its details.")
                    .size(theme::SMALL)
                    .style(theme::muted),
            )
            .padding(theme::GAP * 1.5)
            .width(260)
            .style(theme::card)
            .into();
        };
        let mut panel = column![
            text(&node.label).size(theme::HEADING),
            text(node.kind.label()).size(theme::SMALL).style(theme::muted),
            text(node.id.to_string()).size(theme::SMALL),
        ]
        .spacing(theme::GAP / 2.0);
        if let Some(reason) = &node.revoked {
            panel = panel.push(text(format!("Revoked: {reason}")).size(theme::SMALL).style(theme::error));
        }
        for (key, value) in &node.properties {
            if key != REVOKED && key != "name" {
                panel = panel.push(
                    column![text(key).size(theme::SMALL).style(theme::muted), text(value).size(theme::SMALL)]
                        .spacing(2),
                );
            }
        }
        let edges = view.selected_edges();
        if edges.len() > 0 {
            panel = panel.push(rule::horizontal(1)).push(text("Relations").size(theme::SMALL).style(theme::muted));
            let more = edges.len().saturating_sub(MAX_RELATIONS);
            for (relation, outgoing, other) in edges.take(MAX_RELATIONS) {
                let line = if outgoing {
                    format!("{relation} → {}", other.label)
                } else {
                    format!("← {relation} from {}", other.label)
                };
                panel = panel.push(text(line).size(theme::SMALL));
            }
            if more > 0 {
                panel = panel.push(text(format!("… and {more} more")).size(theme::SMALL).style(theme::muted));
            }
        }
        container(scrollable(panel).height(Length::Fill))
            .padding(theme::GAP * 1.5)
            .width(260)
            .height(Length::Fill)
            .style(theme::card)
            .into()
    }
}

/// What a verification found, in the success or error style.
fn verification_text(v: &Verification) -> Element<'_, Message> {
    let scope = if v.deep { "Deep verification" } else { "Verification" };
    match &v.problem {
        None => {
            let mut message = format!(
                "{scope} succeeded: {} domain events and {} graph events, every CID and link checks out",
                v.domain_events, v.graph_events
            );
            if v.deep {
                message.push_str("; the graph events and read models agree with the domain events");
            }
            text(message).style(theme::success).into()
        }
        Some(problem) => text(format!("{scope} failed: {problem}")).style(theme::error).into(),
    }
}

/// One event of the log: sequence, time, type (and what it came from), aggregate and CID.
fn log_row(r: &LogRow) -> Element<'_, Message> {
    let first = row![
        text(format!("#{}", r.seq)).size(theme::SMALL).width(56),
        text(&r.time).size(theme::SMALL).width(170),
        text(&r.event_type).width(Length::Fill),
        button(text("Copy CID").size(theme::SMALL))
            .style(theme::secondary)
            .padding([2, 8])
            .on_press(Message::Copy(r.cid.clone())),
    ]
    .spacing(theme::GAP)
    .align_y(Alignment::Center);
    let second = row![
        space::horizontal().width(56),
        text(&r.detail).size(theme::SMALL).style(theme::muted).width(170),
        text(format!("aggregate {}", r.aggregate)).size(theme::SMALL).style(theme::muted),
        text(&r.cid).size(theme::SMALL).style(theme::muted),
    ]
    .spacing(theme::GAP);
    column![first, second].spacing(2).into()
}

/// The legend: each kind drawn (with its count) and each kind of edge.
fn legend(view: &GraphView) -> Element<'_, Message> {
    let mut entries = row![].spacing(theme::SECTION).align_y(Alignment::Center);
    for (kind, count) in view.model().counts() {
        entries = entries.push(
            row![
                canvas(Swatch(kind)).width(14).height(14),
                text(format!("{} ({count})", kind.label())).size(theme::SMALL)
            ]
            .spacing(theme::GAP / 2.0)
            .align_y(Alignment::Center),
        );
    }
    for class in view.model().edge_classes() {
        entries = entries.push(
            row![canvas(EdgeSwatch(class)).width(24).height(10), text(class.label()).size(theme::SMALL)]
                .spacing(theme::GAP / 2.0)
                .align_y(Alignment::Center),
        );
    }
    entries.wrap().vertical_spacing(theme::GAP).into()
}
