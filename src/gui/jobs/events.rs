//! The Events screen's jobs: a page of the log (graph or domain events) with the vault's counts
//! and head CID, verification (plain or deep), and the laid-out graph.
//!
//! The graph is read from the read models (`Vault::graph`: the read models, then [`Graph::of_state`](crate::projection::Graph::of_state)): the
//! application service has no call that hands out decoded graph event blocks, and the
//! projection's faithfulness law (checked by a property test and by `verify --deep`) makes that
//! graph equal to [`Graph::fold`](crate::projection::Graph::fold) over the graph events. Its layout is computed here too, so the
//! UI thread only draws.

use std::sync::Arc;

use crate::domain::OrgId;
use crate::gui::graph::GraphModel;
use crate::gui::{Ctx, GuiError, Job};
use crate::store::{DomainEventRow, EventQuery, GraphEventRow, VerifyReport};

/// Events per page of the log.
pub const PAGE: u64 = 100;

/// Which page of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAt {
    /// The page of the events after this sequence number (0: the first page).
    After(u64),
    /// The last page (the newest events).
    Last,
}

/// What the screen asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A page of the log, and the counts and head.
    Log {
        /// Domain events rather than graph events.
        domain: bool,
        /// Which page.
        at: PageAt,
    },
    /// Check every CID and link (and, if `deep`, the read models and the projection too).
    Verify {
        /// Run the deep checks too.
        deep: bool,
    },
    /// The graph of one organization (or of all), laid out.
    Graph {
        /// Only this organization's nodes; none: every organization's.
        org: Option<OrgId>,
    },
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    /// Position in its log (1-based).
    pub seq: u64,
    /// When, to the second (UTC).
    pub time: String,
    /// The event type.
    pub event_type: String,
    /// For a graph event, the domain event it was lifted from; for a domain event, the aggregate
    /// kind and version.
    pub detail: String,
    /// The aggregate id.
    pub aggregate: String,
    /// The CID of its block.
    pub cid: String,
}

/// `2025-01-02T03:04:05.123456Z` → `2025-01-02 03:04:05Z`.
fn short_time(at: &str) -> String {
    match at.get(..19) {
        Some(seconds) if at.len() > 19 => format!("{}Z", seconds.replacen('T', " ", 1)),
        _ => at.to_owned(),
    }
}

impl From<GraphEventRow> for LogRow {
    fn from(row: GraphEventRow) -> Self {
        Self {
            seq: row.seq,
            time: short_time(&row.occurred_at),
            event_type: row.event_type,
            detail: format!("from {}", row.domain_type),
            aggregate: row.aggregate,
            cid: row.cid.to_string(),
        }
    }
}

impl From<DomainEventRow> for LogRow {
    fn from(row: DomainEventRow) -> Self {
        Self {
            seq: row.seq,
            time: short_time(&row.occurred_at),
            event_type: row.event_type,
            detail: format!("{} v{}", row.aggregate_type, row.version),
            aggregate: row.aggregate,
            cid: row.cid.to_string(),
        }
    }
}

/// A page of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    /// Domain events rather than graph events.
    pub domain: bool,
    /// The page holds the events after this sequence number.
    pub after: u64,
    /// The events, in order.
    pub rows: Arc<[LogRow]>,
    /// How many events that log holds.
    pub total: u64,
    /// Domain events recorded.
    pub domain_events: u64,
    /// Graph events recorded.
    pub graph_events: u64,
    /// The head CID (none for an empty vault).
    pub head: Option<String>,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Whether the deep checks ran.
    pub deep: bool,
    /// Domain events checked.
    pub domain_events: u64,
    /// Graph events checked.
    pub graph_events: u64,
    /// The head CID recomputed.
    pub head: Option<String>,
    /// The first problem found, as a sentence.
    pub problem: Option<String>,
}

impl Verification {
    /// Whether everything checked out.
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}

impl From<VerifyReport> for Verification {
    fn from(report: VerifyReport) -> Self {
        Self {
            deep: report.deep,
            domain_events: report.domain_events,
            graph_events: report.graph_events,
            head: report.head.map(|c| c.to_string()),
            problem: report.problem.map(|p| p.to_string()),
        }
    }
}

/// What comes back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A page of the log.
    Log(LogPage),
    /// A verification finished (it may have found a problem).
    Verified(Verification),
    /// The graph, laid out.
    Graph {
        /// The organization it was limited to (none: every organization).
        org: Option<OrgId>,
        /// Its nodes with their places, and its edges.
        model: Arc<GraphModel>,
    },
}

/// The first event of the last page of a log of `total` events.
pub fn last_page(total: u64) -> u64 {
    total.saturating_sub(1) / PAGE * PAGE
}

impl Job for Request {
    type Reply = Reply;

    fn run(self, ctx: Ctx<'_>) -> Result<Reply, GuiError> {
        let vault = &*ctx.vault;
        match self {
            Self::Log { domain, at } => {
                let status = vault.status()?;
                let total = if domain { status.domain_events } else { status.graph_events };
                let after = match at {
                    PageAt::After(after) => after.min(last_page(total)),
                    PageAt::Last => last_page(total),
                };
                let query = EventQuery { after: Some(after), limit: Some(PAGE) };
                let rows: Arc<[LogRow]> = if domain {
                    vault.domain_events(query)?.into_iter().map(LogRow::from).collect()
                } else {
                    vault.graph_events(query)?.into_iter().map(LogRow::from).collect()
                };
                Ok(Reply::Log(LogPage {
                    domain,
                    after,
                    rows,
                    total,
                    domain_events: status.domain_events,
                    graph_events: status.graph_events,
                    head: status.head.map(|c| c.to_string()),
                }))
            }
            Self::Verify { deep } => Ok(Reply::Verified(vault.verify(deep)?.into())),
            Self::Graph { org } => {
                let graph = vault.graph().map_err(GuiError::from)?;
                Ok(Reply::Graph { org, model: Arc::new(GraphModel::build(&graph, org)) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_to_the_second() {
        assert_eq!(short_time("2025-01-02T03:04:05.123456Z"), "2025-01-02 03:04:05Z");
        assert_eq!(short_time("odd"), "odd");
    }

    #[test]
    fn the_last_page_starts_on_a_page_boundary() {
        assert_eq!(last_page(0), 0);
        assert_eq!(last_page(1), 0);
        assert_eq!(last_page(100), 0);
        assert_eq!(last_page(101), 100);
        assert_eq!(last_page(250), 200);
    }
}
