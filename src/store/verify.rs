//! `verify`: recompute every CID and every chain link from the stored bytes.
//!
//! Two passes in sequence order. Domain events: each block's bytes must hash to its recorded
//! CID. Graph events: each block's bytes must hash to its recorded CID, its `prev` link must be
//! the CID of the graph event before it, and its `source` link the CID of the domain event it
//! was lifted from. Finally the head and the counts of the `vault` row must match the rows.
//! The first problem found is reported with the event's sequence number, id and CID.
//!
//! Everything is read in one read transaction (one snapshot). Reading and checking overlap:
//! this thread reads rows from SQLite into batches, a second thread hashes and checks them in
//! order. Hashing is most of the work, so on two cores `verify` runs about as fast as SQLite
//! can hand out the rows.

use std::fmt;
use std::ops::Range;
use std::sync::mpsc;

use cid::Cid;
use rusqlite::types::ValueRef;
use serde::Serialize;

use super::tx::cid_from_sql;
use super::{Store, StoreError};
use crate::projection::{CID_LEN, check_link_bytes, cid_bytes_of, cid_of};

/// What is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// "domain event", "graph event", "vault" or (from `verify --deep`) "read model".
    pub kind: &'static str,
    /// Sequence number of the bad event (0 for the vault row).
    pub seq: u64,
    /// Its id.
    pub id: String,
    /// Its recorded CID.
    pub cid: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            "vault" => return write!(f, "the vault record is wrong: {}", self.reason),
            "read model" => return write!(f, "the read models are wrong: {}", self.reason),
            _ => {}
        }
        write!(f, "{} #{} (id {}", self.kind, self.seq, self.id)?;
        if let Some(cid) = &self.cid {
            write!(f, ", CID {cid}")?;
        }
        write!(f, ") is corrupt: {}", self.reason)
    }
}

/// The outcome of `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Domain events checked.
    pub domain_events: u64,
    /// Graph events checked.
    pub graph_events: u64,
    /// The head CID recomputed from the blocks.
    #[serde(serialize_with = "crate::projection::cid_text::serialize_opt")]
    pub head: Option<Cid>,
    /// The first problem, if any.
    pub problem: Option<Problem>,
    /// Whether the deep checks (`verify --deep`, [`Store::audit`]) ran too.
    pub deep: bool,
}

/// The bytes of a stored value, whatever SQL type a tampering hand gave it.
fn raw(value: ValueRef<'_>) -> Option<&[u8]> {
    match value {
        ValueRef::Blob(b) | ValueRef::Text(b) => Some(b),
        ValueRef::Null | ValueRef::Integer(_) | ValueRef::Real(_) => None,
    }
}

impl VerifyReport {
    /// Whether everything checked out.
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// Rows per batch handed from the reading thread to the checking thread.
const BATCH_ROWS: usize = 512;

/// One stored row; its byte fields are ranges into [`Batch::data`].
#[derive(Debug)]
struct Row {
    seq: i64,
    domain_seq: i64,
    id: Option<Range<usize>>,
    cid: Option<Range<usize>>,
    prev: Option<Range<usize>>,
    bytes: Option<Range<usize>>,
}

/// A run of rows of one table, copied out of SQLite.
#[derive(Debug, Default)]
struct Batch {
    graph: bool,
    data: Vec<u8>,
    rows: Vec<Row>,
}

impl Batch {
    fn new(graph: bool) -> Self {
        Self { graph, data: Vec::with_capacity(BATCH_ROWS * 700), rows: Vec::with_capacity(BATCH_ROWS) }
    }

    fn keep(&mut self, value: Option<&[u8]>) -> Option<Range<usize>> {
        value.map(|v| {
            let start = self.data.len();
            self.data.extend_from_slice(v);
            start..self.data.len()
        })
    }

    fn get(&self, range: &Option<Range<usize>>) -> Option<&[u8]> {
        range.as_ref().map(|r| &self.data[r.clone()])
    }
}

/// The checking half: consumes batches in order and keeps the first problem.
#[derive(Debug, Default)]
struct Checker {
    domain_cids: Vec<[u8; CID_LEN]>,
    graph_events: i64,
    head: Option<[u8; CID_LEN]>,
    problem: Option<Problem>,
}

fn shown(raw: Option<&[u8]>) -> Option<String> {
    raw.and_then(|r| Cid::try_from(r).ok()).map(|c| c.to_string())
}

impl Problem {
    /// A problem with a stored row.
    fn at(kind: &'static str, batch: &Batch, row: &Row, reason: String) -> Self {
        Self {
            kind,
            seq: row.seq as u64,
            id: batch.get(&row.id).map_or("?".into(), |t| String::from_utf8_lossy(t).into_owned()),
            cid: shown(batch.get(&row.cid)),
            reason,
        }
    }

    /// A row that should be there and is not.
    fn missing(kind: &'static str, seq: i64) -> Self {
        Self { kind, seq: seq as u64, id: "?".into(), cid: None, reason: "it is missing".into() }
    }
}

impl Checker {
    /// Checks a batch; false once a problem is found.
    fn check(&mut self, batch: &Batch) -> bool {
        for row in &batch.rows {
            let problem = if batch.graph { self.graph_row(batch, row) } else { self.domain_row(batch, row) };
            if let Some(problem) = problem {
                self.problem = Some(problem);
                return false;
            }
        }
        true
    }

    fn domain_row(&mut self, batch: &Batch, row: &Row) -> Option<Problem> {
        let (recorded, bytes) = (batch.get(&row.cid), batch.get(&row.bytes));
        let problem = |reason: String| Some(Problem::at("domain event", batch, row, reason));
        let expected = self.domain_cids.len() as i64 + 1;
        if row.seq != expected {
            return Some(Problem::missing("domain event", expected));
        }
        let Some(bytes) = bytes else { return problem("its block is missing".into()) };
        let actual = cid_bytes_of(bytes);
        if recorded != Some(actual.as_slice()) {
            return problem(match shown(recorded) {
                Some(_) => format!("its bytes hash to {}, not to its recorded CID", cid_of(bytes)),
                None => "its recorded CID is malformed".to_owned(),
            });
        }
        self.domain_cids.push(actual);
        None
    }

    fn graph_row(&mut self, batch: &Batch, row: &Row) -> Option<Problem> {
        let (recorded, bytes, prev_column) = (batch.get(&row.cid), batch.get(&row.bytes), batch.get(&row.prev));
        let problem = |reason: String| Some(Problem::at("graph event", batch, row, reason));
        self.graph_events += 1;
        if row.seq != self.graph_events {
            return Some(Problem::missing("graph event", self.graph_events));
        }
        let (Some(recorded), Some(bytes)) = (recorded, bytes) else {
            return problem("its CID or its block is missing".into());
        };
        let Some(source) = usize::try_from(row.domain_seq - 1).ok().and_then(|i| self.domain_cids.get(i)) else {
            return problem(format!("it refers to domain event #{}, which does not exist", row.domain_seq));
        };
        let prev = self.head.as_ref().map(<[u8; CID_LEN]>::as_slice);
        if let Err(e) = check_link_bytes(recorded, bytes, prev, source) {
            return problem(e.to_string());
        }
        if prev_column != prev {
            return problem("its recorded prev_cid column disagrees with the chain".into());
        }
        // check_link_bytes showed that `recorded` is our 36-byte binary CID.
        self.head = recorded.try_into().ok();
        None
    }
}

/// Reads one table in sequence order into batches and sends them; stops early when the
/// checker has hung up (it found a problem).
fn read_table(conn: &rusqlite::Connection, graph: bool, to: &mpsc::SyncSender<Batch>) -> Result<bool, StoreError> {
    let sql = if graph {
        "SELECT seq, event_id, cid, prev_cid, domain_seq, bytes FROM graph_events ORDER BY seq"
    } else {
        "SELECT seq, event_id, cid, NULL, 0, bytes FROM domain_events ORDER BY seq"
    };
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut batch = Batch::new(graph);
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let domain_seq: i64 = row.get(4)?;
        let id = batch.keep(raw(row.get_ref(1)?));
        let cid = batch.keep(raw(row.get_ref(2)?));
        let prev = batch.keep(raw(row.get_ref(3)?));
        let bytes = batch.keep(raw(row.get_ref(5)?));
        batch.rows.push(Row { seq, domain_seq, id, cid, prev, bytes });
        if batch.rows.len() == BATCH_ROWS && to.send(std::mem::replace(&mut batch, Batch::new(graph))).is_err() {
            return Ok(false);
        }
    }
    Ok(batch.rows.is_empty() || to.send(batch).is_ok())
}

impl Store {
    /// Recomputes every CID and chain link. Storage faults are errors; what the checks find
    /// is in the report.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        // One snapshot for everything, even if another process commits meanwhile.
        let tx = self.conn().unchecked_transaction()?;
        let (to_checker, from_reader) = mpsc::sync_channel::<Batch>(4);
        let checker = std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                let mut checker = Checker::default();
                for batch in from_reader {
                    if !checker.check(&batch) {
                        break;
                    }
                }
                checker
            });
            let read = read_table(&tx, false, &to_checker)
                .and_then(|go| if go { read_table(&tx, true, &to_checker).map(|_| ()) } else { Ok(()) });
            drop(to_checker);
            let checker = worker.join();
            read.map(|()| checker)
        })?;
        let checker = checker.map_err(|_| StoreError::Corrupt("the verification thread failed".into()))?;

        let mut report = VerifyReport {
            domain_events: checker.domain_cids.len() as u64,
            graph_events: checker.graph_events as u64,
            head: checker.head.and_then(|h| Cid::try_from(h.as_slice()).ok()),
            problem: checker.problem,
            deep: false,
        };
        if report.problem.is_some() {
            return Ok(report);
        }

        // The vault row.
        let (stored_head, domain, graph): (Option<Vec<u8>>, i64, i64) =
            tx.query_row("SELECT head_cid, domain_events, graph_events FROM vault WHERE singleton = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let vault = |reason: String| Some(Problem { kind: "vault", seq: 0, id: String::new(), cid: None, reason });
        match cid_from_sql(stored_head) {
            Ok(stored) if stored == report.head => {}
            Ok(stored) => {
                report.problem = vault(format!(
                    "its head CID is {} but the chain ends at {}",
                    stored.map_or("none".into(), |c| c.to_string()),
                    report.head.map_or("none".into(), |c| c.to_string())
                ));
            }
            Err(_) => report.problem = vault("its head CID is malformed".into()),
        }
        if report.problem.is_none() && (domain as u64 != report.domain_events || graph as u64 != report.graph_events) {
            report.problem = vault(format!(
                "it counts {domain} domain and {graph} graph events but {} and {} are stored",
                report.domain_events, report.graph_events
            ));
        }
        Ok(report)
    }
}
