//! `verify`: recompute every CID and every chain link from the stored bytes.
//!
//! Two passes in sequence order. Domain events: each block's bytes must hash to its recorded
//! CID. Graph events: each block's bytes must hash to its recorded CID, its `prev` link must be
//! the CID of the graph event before it, and its `source` link the CID of the domain event it
//! was lifted from. Finally the head and the counts of the `vault` row must match the rows.
//! The first problem found is reported with the event's sequence number, id and CID.

use std::fmt;

use cid::Cid;
use rusqlite::types::ValueRef;
use serde::Serialize;

use super::tx::cid_from_sql;
use super::{Store, StoreError};
use crate::projection::{CID_LEN, check_link_bytes, cid_bytes_of, cid_of};

/// What is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// "domain event", "graph event" or "vault".
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
        if self.kind == "vault" {
            return write!(f, "the vault record is wrong: {}", self.reason);
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
    #[serde(serialize_with = "serialize_opt_cid")]
    pub head: Option<Cid>,
    /// The first problem, if any.
    pub problem: Option<Problem>,
}

fn serialize_opt_cid<S: serde::Serializer>(cid: &Option<Cid>, s: S) -> Result<S::Ok, S::Error> {
    match cid {
        Some(c) => s.collect_str(c),
        None => s.serialize_none(),
    }
}

/// The bytes of a stored value, whatever SQL type a tampering hand gave it.
fn raw(value: ValueRef<'_>) -> Option<&[u8]> {
    match value {
        ValueRef::Blob(b) | ValueRef::Text(b) => Some(b),
        ValueRef::Null | ValueRef::Integer(_) | ValueRef::Real(_) => None,
    }
}

/// A stored id as text, for a report (read only when there is something to report, so the
/// common case allocates nothing).
fn text(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(r) => r.to_string(),
        ValueRef::Null => "?".into(),
    }
}

impl VerifyReport {
    /// Whether everything checked out.
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}

impl Store {
    /// Recomputes every CID and chain link. Storage faults are errors; what the checks find
    /// is in the report.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let conn = self.conn();
        let mut report = VerifyReport { domain_events: 0, graph_events: 0, head: None, problem: None };
        let problem = |kind, seq: i64, id: String, cid: Option<String>, reason: String| Problem {
            kind,
            seq: seq as u64,
            id,
            cid,
            reason,
        };

        // Domain events: CIDs. The hot path compares binary CIDs and parses one only to describe
        // a problem.
        let shown = |raw: Option<&[u8]>| raw.and_then(|r| Cid::try_from(r).ok()).map(|c| c.to_string());
        let mut domain_cids: Vec<[u8; CID_LEN]> = Vec::new();
        let mut stmt = conn.prepare("SELECT seq, event_id, cid, bytes FROM domain_events ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let id = row.get_ref(1)?;
            let recorded = raw(row.get_ref(2)?);
            let bytes = raw(row.get_ref(3)?);
            let expected_seq = domain_cids.len() as i64 + 1;
            if seq != expected_seq {
                report.problem = Some(problem("domain event", expected_seq, "?".into(), None, "it is missing".into()));
                return Ok(report);
            }
            let Some(bytes) = bytes else {
                report.problem =
                    Some(problem("domain event", seq, text(id), shown(recorded), "its block is missing".into()));
                return Ok(report);
            };
            let actual = cid_bytes_of(bytes);
            if recorded != Some(actual.as_slice()) {
                let reason = match shown(recorded) {
                    Some(_) => format!("its bytes hash to {}, not to its recorded CID", cid_of(bytes)),
                    None => "its recorded CID is malformed".to_owned(),
                };
                report.problem = Some(problem("domain event", seq, text(id), shown(recorded), reason));
                return Ok(report);
            }
            domain_cids.push(actual);
        }
        report.domain_events = domain_cids.len() as u64;
        drop(rows);
        drop(stmt);

        // Graph events: CIDs and both links, all compared in binary form.
        let mut stmt =
            conn.prepare("SELECT seq, event_id, cid, prev_cid, domain_seq, bytes FROM graph_events ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        let mut head: Option<[u8; CID_LEN]> = None;
        let mut count: i64 = 0;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let id = row.get_ref(1)?;
            let recorded = raw(row.get_ref(2)?);
            let prev_column = raw(row.get_ref(3)?);
            let domain_seq: i64 = row.get(4)?;
            let bytes = raw(row.get_ref(5)?);
            count += 1;
            let bad = |reason: String| Some(problem("graph event", seq, text(id), shown(recorded), reason));
            if seq != count {
                report.problem = Some(problem("graph event", count, "?".into(), None, "it is missing".into()));
                return Ok(report);
            }
            let (Some(recorded), Some(bytes)) = (recorded, bytes) else {
                report.problem = bad("its CID or its block is missing".into());
                return Ok(report);
            };
            let Some(source) = usize::try_from(domain_seq - 1).ok().and_then(|i| domain_cids.get(i)) else {
                report.problem = bad(format!("it refers to domain event #{domain_seq}, which does not exist"));
                return Ok(report);
            };
            let prev = head.as_ref().map(<[u8; CID_LEN]>::as_slice);
            if let Err(e) = check_link_bytes(recorded, bytes, prev, source) {
                report.problem = bad(e.to_string());
                return Ok(report);
            }
            if prev_column != prev {
                report.problem = bad("its recorded prev_cid column disagrees with the chain".into());
                return Ok(report);
            }
            // check_link_bytes showed that `recorded` is our 36-byte binary CID.
            head = recorded.try_into().ok();
        }
        report.graph_events = count as u64;
        report.head = head.and_then(|h| Cid::try_from(h.as_slice()).ok());
        drop(rows);
        drop(stmt);

        // The vault row.
        let (stored_head, domain, graph): (Option<Vec<u8>>, i64, i64) =
            conn.query_row("SELECT head_cid, domain_events, graph_events FROM vault WHERE singleton = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let vault = |reason: String| Some(problem("vault", 0, String::new(), None, reason));
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
