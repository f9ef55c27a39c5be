//! The graph view of the Events screen: the organizations, units, people, roles, keys, CAs,
//! certificates and the NATS hierarchy, and the relations between them (`part_of`,
//! `member_of`, `has_role`, `owns_key`, `signed_by`, `issued_by`), drawn on an iced canvas.
//!
//! Two halves, split so the UI thread never does the heavy part:
//!
//! * [`GraphModel::build`] turns a [`Graph`] (the graph the graph events describe) into nodes
//!   and edges and **lays them out**: a seed placement on a sunflower spiral in breadth-first
//!   order (so related nodes start near each other), then a few hundred iterations of a
//!   Fruchterman–Reingold force layout whose repulsion only looks at neighbouring grid cells
//!   (linear in the node count per iteration). No randomness: the same graph always gets the
//!   same picture. It runs inside a job, off the UI thread.
//! * [`GraphView`] is the canvas program. It only draws the precomputed positions, through a
//!   [`canvas::Cache`] that is cleared when the view pans or zooms, so other redraws are free.
//!   Dragging pans, the mouse wheel zooms around the cursor, a click selects a node.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use iced::mouse;
use iced::theme::Palette;
use iced::widget::canvas::{self, Frame, Geometry, LineDash, Path, Stroke};
use iced::widget::text::Alignment;
use iced::{Color, Element, Length, Point, Rectangle, Renderer, Size, Theme, Vector, alignment};
use uuid::Uuid;

use crate::domain::OrgId;
use crate::projection::{Graph, REVOKED, relation};

/// The ideal distance between two connected nodes, in layout units.
pub const IDEAL: f32 = 60.0;
/// A node's radius, in layout units.
const RADIUS: f32 = 9.0;
/// At most this many labels are drawn at once.
const MAX_LABELS: usize = 400;
/// Labels are drawn when connected nodes are at least this far apart on screen.
const LABEL_SPACING: f32 = 34.0;
/// The zoom range, relative to "fit the whole graph".
const ZOOM: (f32, f32) = (0.2, 40.0);

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An organization (a bounded context).
    Organization,
    /// An organizational unit.
    Unit,
    /// A person.
    Person,
    /// A role.
    Role,
    /// A person's identity key.
    IdentityKey,
    /// A root CA.
    RootCa,
    /// An intermediate CA.
    IntermediateCa,
    /// A leaf certificate.
    Certificate,
    /// A NATS operator.
    NatsOperator,
    /// A NATS account.
    NatsAccount,
    /// A NATS user.
    NatsUser,
    /// A NATS signing key.
    NatsSigningKey,
    /// Anything else a newer vault may record.
    Other,
}

/// How a node is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Circle,
    Square,
    Diamond,
    Triangle,
}

impl Kind {
    /// Every kind, in legend order.
    pub const ALL: [Kind; 13] = [
        Self::Organization,
        Self::Unit,
        Self::Person,
        Self::Role,
        Self::IdentityKey,
        Self::RootCa,
        Self::IntermediateCa,
        Self::Certificate,
        Self::NatsOperator,
        Self::NatsAccount,
        Self::NatsUser,
        Self::NatsSigningKey,
        Self::Other,
    ];

    /// The kind of a graph node type (`person`, `root_ca`, ...).
    pub fn of(kind: &str) -> Self {
        match kind {
            "organizational_unit" => Self::Unit,
            "person" => Self::Person,
            "role" => Self::Role,
            "identity_key" => Self::IdentityKey,
            "root_ca" => Self::RootCa,
            "intermediate_ca" => Self::IntermediateCa,
            "certificate" => Self::Certificate,
            "nats_operator" => Self::NatsOperator,
            "nats_account" => Self::NatsAccount,
            "nats_user" => Self::NatsUser,
            "nats_signing_key" => Self::NatsSigningKey,
            _ => Self::Other,
        }
    }

    /// Its name in the legend.
    pub fn label(self) -> &'static str {
        match self {
            Self::Organization => "Organization",
            Self::Unit => "Unit",
            Self::Person => "Person",
            Self::Role => "Role",
            Self::IdentityKey => "Identity key",
            Self::RootCa => "Root CA",
            Self::IntermediateCa => "Intermediate CA",
            Self::Certificate => "Certificate",
            Self::NatsOperator => "NATS operator",
            Self::NatsAccount => "NATS account",
            Self::NatsUser => "NATS user",
            Self::NatsSigningKey => "NATS signing key",
            Self::Other => "Other",
        }
    }

    fn shape(self) -> Shape {
        match self {
            Self::Organization | Self::Unit | Self::Person | Self::Role | Self::Other => Shape::Circle,
            Self::IdentityKey | Self::NatsSigningKey => Shape::Square,
            Self::RootCa | Self::IntermediateCa | Self::Certificate => Shape::Diamond,
            Self::NatsOperator | Self::NatsAccount | Self::NatsUser => Shape::Triangle,
        }
    }

    /// How large it is drawn, relative to a person.
    fn size(self) -> f32 {
        match self {
            Self::Organization => 1.6,
            Self::Unit | Self::RootCa | Self::NatsOperator => 1.25,
            Self::IdentityKey | Self::NatsSigningKey | Self::Certificate => 0.8,
            _ => 1.0,
        }
    }

    /// Its color, from the theme's palette (blends of it where the palette has too few).
    pub fn color(self, theme: &Theme) -> Color {
        let p = theme.extended_palette();
        let purple = mix(p.primary.base.color, p.danger.base.color, 0.5);
        let orange = mix(p.warning.base.color, p.danger.base.color, 0.45);
        match self {
            Self::Organization => p.primary.strong.color,
            Self::Unit => p.primary.base.color,
            Self::Person => p.success.base.color,
            Self::Role => p.warning.base.color,
            Self::IdentityKey => mix(p.success.base.color, p.primary.base.color, 0.5),
            Self::RootCa => mix(purple, p.background.base.text, 0.25),
            Self::IntermediateCa => purple,
            Self::Certificate => mix(purple, p.background.base.color, 0.4),
            Self::NatsOperator => mix(orange, p.background.base.text, 0.25),
            Self::NatsAccount => orange,
            Self::NatsUser => mix(orange, p.background.base.color, 0.4),
            Self::NatsSigningKey => p.secondary.strong.color,
            Self::Other => p.background.strong.color,
        }
    }
}

/// `a` blended towards `b` by `t`.
fn mix(a: Color, b: Color, t: f32) -> Color {
    Color { r: a.r + (b.r - a.r) * t, g: a.g + (b.g - a.g) * t, b: a.b + (b.b - a.b) * t, a: a.a + (b.a - a.a) * t }
}

/// How an edge is drawn, by what its relation means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeClass {
    /// `part_of`, `member_of`: where something belongs.
    Structure,
    /// `has_role`.
    Role,
    /// `owns_key`.
    Ownership,
    /// `signed_by`, `issued_by`: who vouches for it.
    Signature,
}

impl EdgeClass {
    /// Every class, in legend order.
    pub const ALL: [EdgeClass; 4] = [Self::Structure, Self::Role, Self::Ownership, Self::Signature];

    /// The class of a relation.
    pub fn of(relation: &str) -> Self {
        match relation {
            relation::HAS_ROLE => Self::Role,
            relation::OWNS_KEY => Self::Ownership,
            relation::SIGNED_BY | relation::ISSUED_BY => Self::Signature,
            _ => Self::Structure,
        }
    }

    /// Its name in the legend.
    pub fn label(self) -> &'static str {
        match self {
            Self::Structure => "part of / member of",
            Self::Role => "has role",
            Self::Ownership => "owns key",
            Self::Signature => "signed by / issued by",
        }
    }

    fn dash(self) -> &'static [f32] {
        match self {
            Self::Structure | Self::Ownership => &[],
            Self::Role => &[2.0, 3.0],
            Self::Signature => &[6.0, 4.0],
        }
    }

    fn color(self, theme: &Theme) -> Color {
        let p = theme.extended_palette();
        let text = p.background.base.text;
        match self {
            Self::Structure => text.scale_alpha(0.35),
            Self::Role => p.warning.base.color.scale_alpha(0.7),
            Self::Ownership => p.success.base.color.scale_alpha(0.6),
            Self::Signature => mix(p.primary.base.color, p.danger.base.color, 0.5).scale_alpha(0.7),
        }
    }
}

/// A node with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    /// Its id (the organization's id for an organization).
    pub id: Uuid,
    /// What it is.
    pub kind: Kind,
    /// The graph's type name (`person`, `root_ca`, ... ; `organization` for a context).
    pub type_name: String,
    /// A short label: its name, subject or fingerprint.
    pub label: String,
    /// Why it was revoked, if it was.
    pub revoked: Option<String>,
    /// Its properties (all public).
    pub properties: Vec<(String, String)>,
    /// Where the layout put it, in layout units.
    pub position: Point,
}

/// A directed edge between two nodes (indices into [`GraphModel::nodes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEdge {
    /// From.
    pub source: usize,
    /// To.
    pub target: usize,
    /// The relation (`part_of`, `owns_key`, ...).
    pub relation: String,
    /// How it is drawn.
    pub class: EdgeClass,
}

/// The graph ready to draw: nodes with positions, edges, and each node's edges.
#[derive(Clone, Default, PartialEq)]
pub struct GraphModel {
    /// The nodes: organizations first.
    pub nodes: Vec<GraphNode>,
    /// The edges whose two ends are both shown.
    pub edges: Vec<GraphEdge>,
    /// For each node, the indices of its edges (either direction).
    pub adjacent: Vec<Vec<usize>>,
    /// The area the layout covers (node extents included).
    pub extent: Rectangle,
    /// The nodes of each kind present, in legend order.
    pub by_kind: Vec<(Kind, Vec<usize>)>,
    /// The edges of each class present, in legend order.
    pub by_class: Vec<(EdgeClass, Vec<usize>)>,
}

impl fmt::Debug for GraphModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphModel").field("nodes", &self.nodes.len()).field("edges", &self.edges.len()).finish()
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

fn label_of(properties: &BTreeMap<String, String>, kind: Kind) -> String {
    let pick = |key: &str| properties.get(key).filter(|v| !v.is_empty());
    if let Some(name) = pick("name") {
        return truncate(name, 28);
    }
    if let Some(subject) = pick("subject") {
        // The common name of a distinguished name such as `CN=Acme Root CA,O=Acme`.
        let cn = subject.split(',').find_map(|part| part.trim().strip_prefix("CN=")).unwrap_or(subject);
        return truncate(cn, 28);
    }
    match pick("fingerprint").or_else(|| pick("public_key")) {
        Some(key) => truncate(key, 16),
        None => kind.label().to_owned(),
    }
}

impl GraphModel {
    /// The nodes and edges of `graph` (only those of `org`, if given), laid out.
    pub fn build(graph: &Graph, org: Option<OrgId>) -> Self {
        let wanted = |context: &OrgId| org.is_none_or(|o| o == *context);
        let mut nodes = Vec::new();
        for (id, properties) in graph.contexts.iter().filter(|(id, _)| wanted(id)) {
            nodes.push(GraphNode {
                id: id.uuid(),
                kind: Kind::Organization,
                type_name: "organization".into(),
                label: label_of(properties, Kind::Organization),
                revoked: None,
                properties: properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                position: Point::ORIGIN,
            });
        }
        let mut others: Vec<GraphNode> = graph
            .nodes
            .iter()
            .filter(|(_, node)| wanted(&node.context))
            .map(|(id, node)| {
                let kind = Kind::of(&node.kind);
                GraphNode {
                    id: *id,
                    kind,
                    type_name: node.kind.clone(),
                    label: label_of(&node.properties, kind),
                    revoked: node.properties.get(REVOKED).cloned(),
                    properties: node.properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    position: Point::ORIGIN,
                }
            })
            .collect();
        others.sort_by(|a, b| (a.kind, &a.label, a.id).cmp(&(b.kind, &b.label, b.id)));
        nodes.append(&mut others);
        let index: HashMap<Uuid, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
        let edges: Vec<GraphEdge> = graph
            .edges
            .iter()
            .filter_map(|e| {
                let (source, target) = (*index.get(&e.source)?, *index.get(&e.target)?);
                let class = EdgeClass::of(&e.relation);
                (source != target).then(|| GraphEdge { source, target, relation: e.relation.clone(), class })
            })
            .collect();
        let pairs: Vec<(usize, usize)> = edges.iter().map(|e| (e.source, e.target)).collect();
        let positions = layout(nodes.len(), &pairs);
        for (node, position) in nodes.iter_mut().zip(positions) {
            node.position = position;
        }
        Self::with_nodes(nodes, edges)
    }

    /// A model of nodes already placed, and edges between them.
    pub fn with_nodes(nodes: Vec<GraphNode>, edges: Vec<GraphEdge>) -> Self {
        let mut adjacent = vec![Vec::new(); nodes.len()];
        for (i, edge) in edges.iter().enumerate() {
            adjacent[edge.source].push(i);
            adjacent[edge.target].push(i);
        }
        let extent = extent(nodes.iter().map(|n| n.position));
        let mut by_kind: BTreeMap<Kind, Vec<usize>> = BTreeMap::new();
        for (i, node) in nodes.iter().enumerate() {
            by_kind.entry(node.kind).or_default().push(i);
        }
        let mut by_class: BTreeMap<EdgeClass, Vec<usize>> = BTreeMap::new();
        for (i, edge) in edges.iter().enumerate() {
            by_class.entry(edge.class).or_default().push(i);
        }
        Self {
            nodes,
            edges,
            adjacent,
            extent,
            by_kind: by_kind.into_iter().collect(),
            by_class: by_class.into_iter().collect(),
        }
    }

    /// How many nodes of each kind, in legend order (kinds with none left out).
    pub fn counts(&self) -> impl Iterator<Item = (Kind, usize)> + '_ {
        self.by_kind.iter().map(|(kind, nodes)| (*kind, nodes.len()))
    }

    /// The edge classes present, in legend order.
    pub fn edge_classes(&self) -> impl Iterator<Item = EdgeClass> + '_ {
        self.by_class.iter().map(|(class, _)| *class)
    }
}

fn extent(points: impl Iterator<Item = Point>) -> Rectangle {
    let (mut min, mut max) = (Point::new(f32::MAX, f32::MAX), Point::new(f32::MIN, f32::MIN));
    let mut any = false;
    for p in points {
        any = true;
        min = Point::new(min.x.min(p.x), min.y.min(p.y));
        max = Point::new(max.x.max(p.x), max.y.max(p.y));
    }
    if !any {
        return Rectangle::new(Point::new(-IDEAL, -IDEAL), Size::new(2.0 * IDEAL, 2.0 * IDEAL));
    }
    let pad = RADIUS * 2.0 + 20.0;
    Rectangle::new(
        Point::new(min.x - pad, min.y - pad),
        Size::new(max.x - min.x + 2.0 * pad, max.y - min.y + 2.0 * pad),
    )
}

/// Places `count` nodes joined by `edges` (pairs of node indices; others are ignored):
/// deterministic, finite, centred on the origin. Cost per iteration is linear in the nodes and
/// edges; the number of iterations shrinks for very large graphs.
pub fn layout(count: usize, edges: &[(usize, usize)]) -> Vec<Point> {
    if count == 0 {
        return Vec::new();
    }
    let edges: Vec<(usize, usize)> = edges.iter().copied().filter(|&(a, b)| a < count && b < count && a != b).collect();
    let mut pos = seed(count, &edges);
    let k = IDEAL;
    let reach = 2.0 * k;
    let iterations = (250 * 1500 / count.max(1500)).max(60);
    let start = (k * (count as f32).sqrt()).max(k) / 4.0;
    let gravity = 0.6 / (count as f32).sqrt().max(1.0);
    let mut disp = vec![Vector::new(0.0, 0.0); count];
    let mut grid = Grid::default();
    for step in 0..iterations {
        let temperature = start * (1.0 - step as f32 / iterations as f32) + 0.5;
        grid.fill(&pos, reach);
        for (i, d) in disp.iter_mut().enumerate() {
            let p = pos[i];
            let mut force = Vector::new(-p.x * gravity, -p.y * gravity);
            grid.near(p, |j| {
                if j == i {
                    return;
                }
                let mut delta = p - pos[j];
                let mut d2 = delta.x * delta.x + delta.y * delta.y;
                if d2 < 1e-4 {
                    // Two nodes on one spot: push them apart along a fixed direction.
                    let angle = (i.wrapping_mul(31) ^ j.wrapping_mul(17)) as f32;
                    delta = Vector::new(angle.cos(), angle.sin()) * if i < j { 0.01 } else { -0.01 };
                    d2 = 1e-4;
                }
                if d2 < reach * reach {
                    // k² / d along the unit vector: k² / d² times delta.
                    force += delta * (k * k / d2);
                }
            });
            *d = force;
        }
        for &(a, b) in &edges {
            let delta = pos[a] - pos[b];
            let d = (delta.x * delta.x + delta.y * delta.y).sqrt().max(0.01);
            // d² / k along the unit vector: d / k times delta.
            let pull = delta * (d / k);
            disp[a] -= pull;
            disp[b] += pull;
        }
        for (p, d) in pos.iter_mut().zip(&disp) {
            let length = (d.x * d.x + d.y * d.y).sqrt();
            if length > 0.0 && length.is_finite() {
                *p += *d * (length.min(temperature) / length);
            }
        }
    }
    let (sx, sy) = pos.iter().fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
    let centre = Vector::new(sx / count as f32, sy / count as f32);
    pos.into_iter().map(|p| p - centre).collect()
}

/// A uniform grid over the node positions, rebuilt each iteration (a counting sort: linear in
/// the nodes), so repulsion only compares nodes in neighbouring cells.
#[derive(Debug, Default)]
struct Grid {
    origin: Point,
    cell: f32,
    columns: usize,
    rows: usize,
    /// Where each cell's nodes start in `nodes` (one more entry than cells).
    starts: Vec<usize>,
    nodes: Vec<usize>,
}

impl Grid {
    /// Cells of at least `cell` units, and not many more cells than nodes.
    fn fill(&mut self, pos: &[Point], cell: f32) {
        let area = extent(pos.iter().copied());
        let mut cell = cell;
        let cells = |cell: f32| ((area.width / cell) as usize + 1) * ((area.height / cell) as usize + 1);
        while cells(cell) > 4 * pos.len() + 64 {
            cell *= 1.5;
        }
        self.origin = area.position();
        self.cell = cell;
        self.columns = (area.width / cell) as usize + 1;
        self.rows = (area.height / cell) as usize + 1;
        self.starts.clear();
        self.starts.resize(self.columns * self.rows + 1, 0);
        for p in pos {
            let c = self.index(*p);
            self.starts[c + 1] += 1;
        }
        for i in 1..self.starts.len() {
            self.starts[i] += self.starts[i - 1];
        }
        let mut next = self.starts.clone();
        self.nodes.clear();
        self.nodes.resize(pos.len(), 0);
        for (n, p) in pos.iter().enumerate() {
            let c = self.index(*p);
            self.nodes[next[c]] = n;
            next[c] += 1;
        }
    }

    fn coordinates(&self, p: Point) -> (usize, usize) {
        let x = (((p.x - self.origin.x) / self.cell).max(0.0) as usize).min(self.columns - 1);
        let y = (((p.y - self.origin.y) / self.cell).max(0.0) as usize).min(self.rows - 1);
        (x, y)
    }

    fn index(&self, p: Point) -> usize {
        let (x, y) = self.coordinates(p);
        y * self.columns + x
    }

    /// Calls `f` with every node in the cell of `p` and the eight around it.
    fn near(&self, p: Point, mut f: impl FnMut(usize)) {
        let (x, y) = self.coordinates(p);
        for row in y.saturating_sub(1)..=(y + 1).min(self.rows - 1) {
            let first = row * self.columns + x.saturating_sub(1);
            let last = row * self.columns + (x + 1).min(self.columns - 1);
            for &n in &self.nodes[self.starts[first]..self.starts[last + 1]] {
                f(n);
            }
        }
    }
}

/// The starting placement: a sunflower spiral, filled in breadth-first order from node 0 (the
/// organizations come first), so neighbours start close together.
fn seed(count: usize, edges: &[(usize, usize)]) -> Vec<Point> {
    let mut neighbours = vec![Vec::new(); count];
    for &(a, b) in edges {
        neighbours[a].push(b);
        neighbours[b].push(a);
    }
    let mut order = Vec::with_capacity(count);
    let mut seen = vec![false; count];
    let mut queue = VecDeque::new();
    for root in 0..count {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        queue.push_back(root);
        while let Some(n) = queue.pop_front() {
            order.push(n);
            for &m in &neighbours[n] {
                if !seen[m] {
                    seen[m] = true;
                    queue.push_back(m);
                }
            }
        }
    }
    let golden = std::f32::consts::PI * (3.0 - 5f32.sqrt());
    let mut pos = vec![Point::ORIGIN; count];
    for (rank, &n) in order.iter().enumerate() {
        let r = IDEAL * 0.8 * (rank as f32).sqrt();
        let theta = rank as f32 * golden;
        pos[n] = Point::new(r * theta.cos(), r * theta.sin());
    }
    pos
}

/// What the canvas reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Message {
    /// Move the picture by this many pixels.
    Pan(Vector),
    /// Zoom by `factor` keeping the point `focus` (relative to the canvas centre) in place.
    Zoom {
        /// Greater than 1 zooms in.
        factor: f32,
        /// The fixed point, in pixels from the centre.
        focus: Vector,
    },
    /// Show the whole graph.
    Fit,
    /// A node was clicked (or the background: none).
    Select(Option<usize>),
}

/// Where the layout goes on screen: `screen = world × scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Transform {
    scale: f32,
    offset: Vector,
}

impl Transform {
    fn apply(self, p: Point) -> Point {
        Point::new(p.x * self.scale + self.offset.x, p.y * self.scale + self.offset.y)
    }

    fn invert(self, q: Point) -> Point {
        Point::new((q.x - self.offset.x) / self.scale, (q.y - self.offset.y) / self.scale)
    }
}

/// The canvas program: a laid-out model, the pan and zoom, the selected node, and the cache of
/// the drawn picture.
pub struct GraphView {
    model: Arc<GraphModel>,
    zoom: f32,
    pan: Vector,
    selected: Option<usize>,
    cache: canvas::Cache,
    /// The palette the cached picture was drawn with (a theme switch redraws it).
    drawn_with: Cell<Option<Palette>>,
}

impl fmt::Debug for GraphView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphView")
            .field("model", &self.model)
            .field("zoom", &self.zoom)
            .field("pan", &self.pan)
            .field("selected", &self.selected)
            .finish_non_exhaustive()
    }
}

/// What the canvas remembers between events: a drag in progress.
#[derive(Debug, Default)]
pub struct Interaction {
    drag: Option<Point>,
    moved: bool,
}

impl GraphView {
    /// A view of `model`, fitted to the canvas.
    pub fn new(model: Arc<GraphModel>) -> Self {
        Self {
            model,
            zoom: 1.0,
            pan: Vector::new(0.0, 0.0),
            selected: None,
            cache: canvas::Cache::new(),
            drawn_with: Cell::new(None),
        }
    }

    /// The model drawn.
    pub fn model(&self) -> &GraphModel {
        &self.model
    }

    /// The zoom relative to "fit the whole graph".
    pub fn zoom(&self) -> f32 {
        self.zoom
    }

    /// The selected node.
    pub fn selected(&self) -> Option<&GraphNode> {
        self.selected.and_then(|i| self.model.nodes.get(i))
    }

    /// The selected node's edges: relation, whether it points away from the node, and the node
    /// at the other end.
    pub fn selected_edges(&self) -> impl ExactSizeIterator<Item = (&str, bool, &GraphNode)> + '_ {
        let i = self.selected.unwrap_or(usize::MAX);
        let edges = self.model.adjacent.get(i).map_or(&[][..], |e| e.as_slice());
        edges.iter().map(move |&e| {
            let edge = &self.model.edges[e];
            let outgoing = edge.source == i;
            let other = if outgoing { edge.target } else { edge.source };
            (edge.relation.as_str(), outgoing, &self.model.nodes[other])
        })
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) {
        match message {
            Message::Pan(delta) => {
                self.pan += delta;
                self.cache.clear();
            }
            Message::Zoom { factor, focus } => {
                let zoom = (self.zoom * factor).clamp(ZOOM.0, ZOOM.1);
                let f = zoom / self.zoom;
                self.pan = focus * (1.0 - f) + self.pan * f;
                self.zoom = zoom;
                self.cache.clear();
            }
            Message::Fit => {
                self.zoom = 1.0;
                self.pan = Vector::new(0.0, 0.0);
                self.cache.clear();
            }
            Message::Select(node) => {
                self.selected = node.filter(|&i| i < self.model.nodes.len());
            }
        }
    }

    /// The canvas.
    pub fn view(&self) -> Element<'_, Message> {
        canvas::Canvas::new(self).width(Length::Fill).height(Length::Fill).into()
    }

    fn transform(&self, size: Size) -> Transform {
        let extent = self.model.extent;
        let fit = ((size.width - 16.0).max(1.0) / extent.width).min((size.height - 16.0).max(1.0) / extent.height);
        let scale = fit.clamp(0.02, 2.0) * self.zoom;
        let centre = extent.center();
        let offset = Vector::new(size.width / 2.0 - centre.x * scale, size.height / 2.0 - centre.y * scale) + self.pan;
        Transform { scale, offset }
    }

    /// The node under `point` (relative to the canvas), if any.
    fn hit(&self, size: Size, point: Point) -> Option<usize> {
        let t = self.transform(size);
        let world = t.invert(point);
        let reach = (RADIUS * 1.6).max(6.0 / t.scale);
        self.model
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (i, n.position.distance(world)))
            .filter(|&(_, d)| d <= reach)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    }

    fn draw_picture(&self, frame: &mut Frame, theme: &Theme) {
        let size = frame.size();
        let t = self.transform(size);
        let visible = Rectangle::with_size(size).expand(40.0);
        let model = &*self.model;
        for (class, edges) in &model.by_class {
            let class = *class;
            let path = Path::new(|b| {
                for edge in edges.iter().map(|&e| &model.edges[e]) {
                    let (a, z) =
                        (t.apply(model.nodes[edge.source].position), t.apply(model.nodes[edge.target].position));
                    if visible.contains(a) || visible.contains(z) || crosses(visible, a, z) {
                        b.move_to(a);
                        b.line_to(z);
                    }
                }
            });
            let stroke = Stroke {
                line_dash: LineDash { segments: class.dash(), offset: 0 },
                ..Stroke::default().with_color(class.color(theme)).with_width(1.2)
            };
            frame.stroke(&path, stroke);
        }
        let radius = |kind: Kind| (RADIUS * kind.size() * t.scale).max(2.5 * kind.size());
        for (kind, nodes) in &model.by_kind {
            let kind = *kind;
            let path = Path::new(|b| {
                for node in nodes.iter().map(|&n| &model.nodes[n]) {
                    let c = t.apply(node.position);
                    if visible.contains(c) {
                        shape(b, kind.shape(), c, radius(kind));
                    }
                }
            });
            frame.fill(&path, kind.color(theme));
        }
        let danger = theme.extended_palette().danger.base.color;
        let revoked = Path::new(|b| {
            for node in model.nodes.iter().filter(|n| n.revoked.is_some()) {
                let c = t.apply(node.position);
                if visible.contains(c) {
                    let r = radius(node.kind) + 2.5;
                    b.circle(c, r);
                    b.move_to(c + Vector::new(-r, r) * 0.7);
                    b.line_to(c + Vector::new(r, -r) * 0.7);
                }
            }
        });
        frame.stroke(&revoked, Stroke::default().with_color(danger).with_width(1.5));
        if self.labels_shown(t) {
            let color = theme.extended_palette().background.base.text;
            let mut drawn = 0;
            for node in &model.nodes {
                let c = t.apply(node.position);
                if drawn >= MAX_LABELS || !Rectangle::with_size(size).contains(c) {
                    continue;
                }
                drawn += 1;
                frame.fill_text(canvas::Text {
                    content: node.label.clone(),
                    position: c + Vector::new(0.0, radius(node.kind) + 3.0),
                    color,
                    size: 12.0.into(),
                    align_x: Alignment::Center,
                    align_y: alignment::Vertical::Top,
                    ..canvas::Text::default()
                });
            }
        }
    }

    /// Whether the labels of all nodes are drawn (zoomed in far enough, or a small graph).
    fn labels_shown(&self, t: Transform) -> bool {
        IDEAL * t.scale >= LABEL_SPACING || self.model.nodes.len() <= 12
    }

    fn draw_selection(&self, frame: &mut Frame, theme: &Theme) {
        let Some(i) = self.selected else { return };
        let Some(node) = self.model.nodes.get(i) else { return };
        let t = self.transform(frame.size());
        let palette = theme.extended_palette();
        let c = t.apply(node.position);
        let edges = Path::new(|b| {
            for &e in &self.model.adjacent[i] {
                let edge = &self.model.edges[e];
                b.move_to(t.apply(self.model.nodes[edge.source].position));
                b.line_to(t.apply(self.model.nodes[edge.target].position));
            }
        });
        frame.stroke(&edges, Stroke::default().with_color(palette.primary.base.color).with_width(2.0));
        let r = (RADIUS * node.kind.size() * t.scale).max(2.5 * node.kind.size()) + 4.0;
        frame.stroke(&Path::circle(c, r), Stroke::default().with_color(palette.primary.strong.color).with_width(2.5));
        if self.labels_shown(t) {
            return;
        }
        frame.fill_text(canvas::Text {
            content: node.label.clone(),
            position: c - Vector::new(0.0, r + 2.0),
            color: palette.background.base.text,
            size: 13.0.into(),
            align_x: Alignment::Center,
            align_y: alignment::Vertical::Bottom,
            ..canvas::Text::default()
        });
    }
}

/// Whether the segment `a`–`z` may cross `r` (a cheap bounding-box test).
fn crosses(r: Rectangle, a: Point, z: Point) -> bool {
    let (x0, x1) = (a.x.min(z.x), a.x.max(z.x));
    let (y0, y1) = (a.y.min(z.y), a.y.max(z.y));
    x1 >= r.x && x0 <= r.x + r.width && y1 >= r.y && y0 <= r.y + r.height
}

fn shape(b: &mut canvas::path::Builder, shape: Shape, c: Point, r: f32) {
    match shape {
        Shape::Circle => b.circle(c, r),
        Shape::Square => b.rectangle(c - Vector::new(r * 0.85, r * 0.85), Size::new(r * 1.7, r * 1.7)),
        Shape::Diamond => {
            b.move_to(c - Vector::new(0.0, r * 1.15));
            b.line_to(c + Vector::new(r * 1.15, 0.0));
            b.line_to(c + Vector::new(0.0, r * 1.15));
            b.line_to(c - Vector::new(r * 1.15, 0.0));
            b.close();
        }
        Shape::Triangle => {
            b.move_to(c - Vector::new(0.0, r * 1.2));
            b.line_to(c + Vector::new(r * 1.1, r * 0.8));
            b.line_to(c + Vector::new(-r * 1.1, r * 0.8));
            b.close();
        }
    }
}

impl canvas::Program<Message> for GraphView {
    type State = Interaction;

    fn update(
        &self,
        state: &mut Interaction,
        event: &canvas::Event,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> Option<canvas::Action<Message>> {
        let canvas::Event::Mouse(event) = event else { return None };
        match *event {
            mouse::Event::ButtonPressed(mouse::Button::Left) => {
                let position = cursor.position_over(bounds)?;
                state.drag = Some(position);
                state.moved = false;
                Some(canvas::Action::capture())
            }
            mouse::Event::CursorMoved { position } => {
                let last = state.drag?;
                let delta = position - last;
                if !state.moved && delta.x.abs() + delta.y.abs() < 3.0 {
                    return None;
                }
                state.drag = Some(position);
                state.moved = true;
                Some(canvas::Action::publish(Message::Pan(delta)).and_capture())
            }
            mouse::Event::ButtonReleased(mouse::Button::Left) => {
                state.drag.take()?;
                if state.moved {
                    return Some(canvas::Action::capture());
                }
                let point = cursor.position_in(bounds)?;
                Some(canvas::Action::publish(Message::Select(self.hit(bounds.size(), point))).and_capture())
            }
            mouse::Event::WheelScrolled { delta } => {
                let point = cursor.position_in(bounds)?;
                let lines = match delta {
                    mouse::ScrollDelta::Lines { y, .. } => y,
                    mouse::ScrollDelta::Pixels { y, .. } => y / 60.0,
                };
                let factor = 1.2f32.powf(lines.clamp(-5.0, 5.0));
                let focus = point - Point::new(bounds.width / 2.0, bounds.height / 2.0);
                Some(canvas::Action::publish(Message::Zoom { factor, focus }).and_capture())
            }
            _ => None,
        }
    }

    fn draw(
        &self,
        _state: &Interaction,
        renderer: &Renderer,
        theme: &Theme,
        bounds: Rectangle,
        _cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        let area = Rectangle::with_size(bounds.size());
        if self.drawn_with.replace(Some(theme.palette())) != Some(theme.palette()) {
            self.cache.clear();
        }
        let picture = self.cache.draw(renderer, bounds.size(), |frame| {
            frame.with_clip(area, |frame| self.draw_picture(frame, theme));
        });
        if self.selected.is_none() {
            return vec![picture];
        }
        let mut overlay = Frame::new(renderer, bounds.size());
        overlay.with_clip(area, |frame| self.draw_selection(frame, theme));
        vec![picture, overlay.into_geometry()]
    }

    fn mouse_interaction(&self, state: &Interaction, bounds: Rectangle, cursor: mouse::Cursor) -> mouse::Interaction {
        match state.drag {
            Some(_) if state.moved => mouse::Interaction::Grabbing,
            _ if cursor.is_over(bounds) => mouse::Interaction::Grab,
            _ => mouse::Interaction::default(),
        }
    }
}

/// A legend entry's symbol: the node shape of `kind` in its color.
#[derive(Debug, Clone, Copy)]
pub struct Swatch(pub Kind);

impl<M> canvas::Program<M> for Swatch {
    type State = ();

    fn draw(&self, _: &(), renderer: &Renderer, theme: &Theme, bounds: Rectangle, _: mouse::Cursor) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        let c = frame.center();
        let r = bounds.width.min(bounds.height) / 2.0 - 2.0;
        let path = Path::new(|b| shape(b, self.0.shape(), c, r));
        frame.fill(&path, self.0.color(theme));
        vec![frame.into_geometry()]
    }
}

/// A legend entry's line: the stroke of an edge class.
#[derive(Debug, Clone, Copy)]
pub struct EdgeSwatch(pub EdgeClass);

impl<M> canvas::Program<M> for EdgeSwatch {
    type State = ();

    fn draw(&self, _: &(), renderer: &Renderer, theme: &Theme, bounds: Rectangle, _: mouse::Cursor) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        let y = bounds.height / 2.0;
        let path = Path::line(Point::new(1.0, y), Point::new(bounds.width - 1.0, y));
        let stroke = Stroke {
            line_dash: LineDash { segments: self.0.dash(), offset: 0 },
            ..Stroke::default().with_color(self.0.color(theme)).with_width(2.0)
        };
        frame.stroke(&path, stroke);
        vec![frame.into_geometry()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_and_tree(n: usize) -> Vec<(usize, usize)> {
        (1..n).map(|i| ((i - 1) / 3, i)).chain([(n - 1, 0)]).collect()
    }

    #[test]
    fn the_layout_is_deterministic_and_finite() {
        let edges = ring_and_tree(200);
        let first = layout(200, &edges);
        let second = layout(200, &edges);
        assert_eq!(first, second);
        assert_eq!(first.len(), 200);
        assert!(first.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
    }

    #[test]
    fn the_layout_spreads_nodes_out_and_keeps_neighbours_close() {
        let edges = ring_and_tree(120);
        let pos = layout(120, &edges);
        let mut closest = f32::MAX;
        for i in 0..pos.len() {
            for j in i + 1..pos.len() {
                closest = closest.min(pos[i].distance(pos[j]));
            }
        }
        assert!(closest > IDEAL / 10.0, "two nodes almost on top of each other: {closest}");
        let mean: f32 = edges.iter().map(|&(a, b)| pos[a].distance(pos[b])).sum::<f32>() / edges.len() as f32;
        assert!(mean < IDEAL * 4.0, "neighbours drift apart: {mean}");
    }

    #[test]
    fn an_empty_or_edgeless_graph_is_laid_out() {
        assert!(layout(0, &[]).is_empty());
        let lonely = layout(5, &[(0, 9), (3, 3)]);
        assert_eq!(lonely.len(), 5);
        assert!(lonely.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
    }

    #[test]
    fn zoom_keeps_the_focus_in_place() {
        let nodes = vec![GraphNode {
            id: Uuid::nil(),
            kind: Kind::Person,
            type_name: "person".into(),
            label: "Ada".into(),
            revoked: None,
            properties: Vec::new(),
            position: Point::new(10.0, -5.0),
        }];
        let mut view = GraphView::new(Arc::new(GraphModel::with_nodes(nodes, Vec::new())));
        let size = Size::new(800.0, 600.0);
        let focus = Vector::new(120.0, -40.0);
        let at = Point::new(400.0 + focus.x, 300.0 + focus.y);
        let before = view.transform(size).invert(at);
        view.update(Message::Zoom { factor: 2.0, focus });
        let after = view.transform(size).invert(at);
        assert!(before.distance(after) < 1e-3, "{before:?} moved to {after:?}");
        view.update(Message::Zoom { factor: 1e9, focus });
        assert_eq!(view.zoom(), ZOOM.1);
        view.update(Message::Fit);
        assert_eq!(view.zoom(), 1.0);
    }
}
