//! The outbox, as the upload reads and updates it: the pending graph events in chain order with
//! the domain event block each was lifted from, and the marking of events uploaded — only ever
//! after the server acknowledged them (the caller's promise) — or the recording of why an
//! attempt failed.
//!
//! Marking moves the `vault` row's running counts (`pending`, `uploaded`) in the same
//! transaction, so `status` stays a one-row read.

use cid::Cid;
use rusqlite::OptionalExtension;

use super::tx::cid_from_blob as cid;
use super::{Store, StoreError};
use crate::domain::Timestamp;

/// One pending graph event, with what its upload needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    /// Its sequence number (the outbox row's key).
    pub seq: u64,
    /// Its block's CID.
    pub cid: Cid,
    /// Its id.
    pub event_id: String,
    /// Its type (`AggregateAdded`, …).
    pub event_type: String,
    /// Its context (the organization's id).
    pub context: String,
    /// Its block.
    pub bytes: Vec<u8>,
    /// The domain event it was lifted from: sequence number.
    pub domain_seq: u64,
    /// … its block's CID.
    pub domain_cid: Cid,
    /// … its id (the graph event's causation).
    pub domain_event_id: String,
    /// … its correlation id (also the graph event's).
    pub correlation_id: String,
    /// … its block.
    pub domain_bytes: Vec<u8>,
}

impl Store {
    /// Up to `limit` pending graph events after sequence number `after`, in chain order.
    pub fn pending_events(&self, after: u64, limit: usize) -> Result<Vec<PendingEvent>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT g.seq, g.cid, g.event_id, g.event_type, g.context_id, g.bytes, \
                    d.seq, d.cid, d.event_id, d.correlation_id, d.bytes \
             FROM outbox o JOIN graph_events g ON g.seq = o.graph_seq JOIN domain_events d ON d.seq = g.domain_seq \
             WHERE o.state = 'pending' AND o.graph_seq > ?1 ORDER BY o.graph_seq LIMIT ?2",
        )?;
        let mut rows = stmt.query((after as i64, limit as i64))?;
        let mut events = Vec::new();
        while let Some(r) = rows.next()? {
            events.push(PendingEvent {
                seq: r.get::<_, i64>(0)? as u64,
                cid: cid(r.get(1)?)?,
                event_id: r.get(2)?,
                event_type: r.get(3)?,
                context: r.get(4)?,
                bytes: r.get(5)?,
                domain_seq: r.get::<_, i64>(6)? as u64,
                domain_cid: cid(r.get(7)?)?,
                domain_event_id: r.get(8)?,
                correlation_id: r.get(9)?,
                domain_bytes: r.get(10)?,
            });
        }
        Ok(events)
    }

    /// Marks the graph events `seqs` uploaded at `at`, in one transaction, and moves the
    /// vault's counts. Rows already uploaded are left as they are; returns how many changed.
    pub fn mark_uploaded(&mut self, seqs: &[u64], at: Timestamp) -> Result<u64, StoreError> {
        if seqs.is_empty() {
            return Ok(0);
        }
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut changed = 0u64;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE outbox SET state = 'uploaded', uploaded_at = ?2, attempts = attempts + 1, last_error = NULL \
                 WHERE graph_seq = ?1 AND state = 'pending'",
            )?;
            let at = at.to_string();
            for &seq in seqs {
                changed += stmt.execute((seq as i64, &at))? as u64;
            }
        }
        if changed > 0 {
            tx.execute(
                "UPDATE vault SET pending = pending - ?1, uploaded = uploaded + ?1 WHERE singleton = 1",
                [changed as i64],
            )?;
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Records a failed attempt on the pending graph events `first..=last`: their attempt
    /// count goes up and `error` becomes their last error.
    pub fn record_upload_failure(&mut self, first: u64, last: u64, error: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?3 \
             WHERE graph_seq BETWEEN ?1 AND ?2 AND state = 'pending'",
            (first as i64, last as i64, error),
        )?;
        Ok(())
    }

    /// The last error recorded on the first pending graph event that has one, with its
    /// sequence number and attempt count.
    pub fn last_upload_error(&self) -> Result<Option<(u64, u64, String)>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT graph_seq, attempts, last_error FROM outbox \
                 WHERE state = 'pending' AND last_error IS NOT NULL ORDER BY graph_seq LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, r.get(2)?)),
            )
            .optional()?)
    }
}
