//! `verify --deep`: beyond the CIDs and links that `verify` checks, prove that the three
//! records of the vault agree with each other.
//!
//! * Every domain event block decodes, and the columns stored beside it (id, type, aggregate,
//!   version, correlation, causation, time) say what the block says.
//! * The graph events are exactly the projection of the domain events: the projector is run
//!   again over the decoded domain events and chained from the start; every block it produces
//!   must have the CID stored at that position, and the graph rows' columns must match.
//! * The read models equal the fold (`evolve`) of the decoded domain events, and the counts
//!   kept per organization (`org_counts`) equal its rows.
//!
//! This decodes and re-encodes everything, so it costs several times a plain `verify`.

use cid::Cid;

use super::verify::Problem;
use super::{Store, StoreError};
use crate::domain::State;
use crate::projection::{Chain, GraphProjector, decode_domain_event};

fn row_problem(kind: &'static str, seq: i64, id: &str, cid: &[u8], reason: String) -> Problem {
    Problem { kind, seq: seq as u64, id: id.to_owned(), cid: Cid::try_from(cid).ok().map(|c| c.to_string()), reason }
}

/// Names the first aggregate on which two states differ.
fn first_difference(stored: &State, folded: &State) -> Option<String> {
    fn diff<K: Ord + std::fmt::Display, V: PartialEq>(
        what: &str,
        stored: &std::collections::BTreeMap<K, V>,
        folded: &std::collections::BTreeMap<K, V>,
    ) -> Option<String> {
        for (id, value) in folded {
            match stored.get(id) {
                None => return Some(format!("{what} {id} is in the event log but not in the read models")),
                Some(v) if v != value => return Some(format!("{what} {id} differs from the event log")),
                Some(_) => {}
            }
        }
        stored
            .keys()
            .find(|id| !folded.contains_key(id))
            .map(|id| format!("{what} {id} is in the read models but not in the event log"))
    }
    diff("organization", &stored.organizations, &folded.organizations)
        .or_else(|| diff("unit", &stored.units, &folded.units))
        .or_else(|| diff("person", &stored.people, &folded.people))
        .or_else(|| diff("role", &stored.roles, &folded.roles))
        .or_else(|| diff("key", &stored.keys, &folded.keys))
        .or_else(|| diff("CA", &stored.cas, &folded.cas))
        .or_else(|| diff("certificate", &stored.certificates, &folded.certificates))
        .or_else(|| diff("NATS operator", &stored.nats_operators, &folded.nats_operators))
        .or_else(|| diff("NATS account", &stored.nats_accounts, &folded.nats_accounts))
        .or_else(|| diff("NATS user", &stored.nats_users, &folded.nats_users))
        .or_else(|| diff("retired NATS signing key", &stored.retired_nats_keys, &folded.retired_nats_keys))
}

impl Store {
    /// The deep checks described in this module's documentation; `None` if all agree.
    pub fn audit(&self) -> Result<Option<Problem>, StoreError> {
        let tx = self.conn().unchecked_transaction()?;
        let mut domain_stmt = tx.prepare(
            "SELECT seq, event_id, event_type, aggregate_type, aggregate_id, version, correlation_id, causation_id, \
             occurred_at, cid, bytes FROM domain_events ORDER BY seq",
        )?;
        let mut graph_stmt =
            tx.prepare("SELECT seq, event_id, cid, event_type, context_id, domain_seq FROM graph_events ORDER BY seq")?;
        let mut domain_rows = domain_stmt.query([])?;
        let mut graph_rows = graph_stmt.query([])?;
        let mut chain = Chain::default();
        let mut state = State::default();
        while let Some(row) = domain_rows.next()? {
            let seq: i64 = row.get(0)?;
            let id: String = row.get(1)?;
            let cid_bytes: Vec<u8> = row.get(9)?;
            let bad = |reason: String| Ok(Some(row_problem("domain event", seq, &id, &cid_bytes, reason)));
            let envelope = match decode_domain_event(&row.get::<_, Vec<u8>>(10)?) {
                Ok(envelope) => envelope,
                Err(e) => return bad(format!("its block cannot be decoded: {e}")),
            };
            let (aggregate_type, aggregate_id) = envelope.aggregate();
            let columns: [(&str, String, String); 8] = [
                ("event_id", id.clone(), envelope.id.to_string()),
                ("event_type", row.get(2)?, envelope.event.name().to_owned()),
                ("aggregate_type", row.get(3)?, aggregate_type.name().to_owned()),
                ("aggregate_id", row.get(4)?, aggregate_id.to_string()),
                ("version", row.get::<_, i64>(5)?.to_string(), envelope.version.to_string()),
                ("correlation_id", row.get(6)?, envelope.correlation.to_string()),
                ("causation_id", row.get(7)?, envelope.causation.to_string()),
                ("occurred_at", row.get(8)?, envelope.occurred_at.to_string()),
            ];
            if let Some((column, stored, block)) = columns.iter().find(|(_, stored, block)| stored != block) {
                return bad(format!("its {column} column says '{stored}' but its block says '{block}'"));
            }
            let Ok(source) = Cid::try_from(cid_bytes.as_slice()) else {
                return bad("its recorded CID is malformed".into());
            };
            for event in GraphProjector.project(&envelope, source) {
                let expected = chain.link(&event)?;
                let Some(graph) = graph_rows.next()? else {
                    return bad("the graph events projected from it are missing".into());
                };
                let graph_seq: i64 = graph.get(0)?;
                let graph_id: String = graph.get(1)?;
                let graph_cid: Vec<u8> = graph.get(2)?;
                let graph_bad =
                    |reason: String| Ok(Some(row_problem("graph event", graph_seq, &graph_id, &graph_cid, reason)));
                if graph_cid != expected.cid.to_bytes() {
                    return graph_bad(format!(
                        "it is not the projection of domain event #{seq}, which projects to {}",
                        expected.cid
                    ));
                }
                let columns: [(&str, String, String); 4] = [
                    ("event_id", graph_id.clone(), event.id.to_string()),
                    ("event_type", graph.get(3)?, event.payload.name().to_owned()),
                    ("context_id", graph.get(4)?, event.context.to_string()),
                    ("domain_seq", graph.get::<_, i64>(5)?.to_string(), seq.to_string()),
                ];
                if let Some((column, stored, block)) = columns.iter().find(|(_, stored, block)| stored != block) {
                    return graph_bad(format!("its {column} column says '{stored}' but its block says '{block}'"));
                }
            }
            state.evolve(&envelope);
        }
        if let Some(extra) = graph_rows.next()? {
            let seq: i64 = extra.get(0)?;
            let id: String = extra.get(1)?;
            let cid: Vec<u8> = extra.get(2)?;
            return Ok(Some(row_problem("graph event", seq, &id, &cid, "no domain event projects to it".into())));
        }
        drop((domain_rows, graph_rows));
        let stored = self.read_state()?;
        let difference = match first_difference(&stored, &state) {
            Some(difference) => Some(difference),
            None => self.count_difference()?,
        };
        Ok(difference.map(|reason| Problem { kind: "read model", seq: 0, id: String::new(), cid: None, reason }))
    }
}
