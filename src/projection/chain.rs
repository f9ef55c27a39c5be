//! The chain: each graph event block links the CID of the one before it on this device.
//!
//! The head CID therefore commits to every event ever recorded here: change one byte of any
//! block and every later CID changes. [`Chain::link`] is the only way graph events become
//! blocks, and [`check_link`] is what `verify` runs over every stored block.

use cid::Cid;

use super::codec::{Block, CodecError, cid_bytes_of, cid_of};
use super::graph_event::GraphEvent;

/// The running head of the chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    head: Option<Cid>,
}

impl Chain {
    /// Continues a chain whose last block has CID `head` (none for an empty history).
    pub fn new(head: Option<Cid>) -> Self {
        Self { head }
    }

    /// The CID of the last block linked.
    pub fn head(&self) -> Option<Cid> {
        self.head
    }

    /// Encodes `event` linked to the current head, and makes it the new head.
    pub fn link(&mut self, event: &GraphEvent) -> Result<Block, CodecError> {
        let block = event.to_block(self.head)?;
        self.head = Some(block.cid);
        Ok(block)
    }
}

/// What is wrong with a stored graph event block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The bytes do not hash to the stored CID.
    #[error("its bytes hash to {actual}, not to its recorded CID {recorded}")]
    CidMismatch {
        /// The CID recorded.
        recorded: String,
        /// The CID of the bytes.
        actual: String,
    },
    /// The block does not decode.
    #[error("it cannot be decoded: {0}")]
    Undecodable(CodecError),
    /// `prev` is not the previous block's CID.
    #[error("its prev link is {found} but the previous event is {expected}")]
    BrokenChain {
        /// The previous block's CID ("none" for the first event).
        expected: String,
        /// The link found ("none" if absent).
        found: String,
    },
    /// `source` is not the CID of its domain event.
    #[error("its source link is {found} but its domain event is {expected}")]
    WrongSource {
        /// The domain event block's CID.
        expected: String,
        /// The link found.
        found: String,
    },
}

/// Checks one stored graph event block: its CID, its `prev` link and its `source` link.
pub fn check_link(recorded: &Cid, bytes: &[u8], prev: Option<&Cid>, source: &Cid) -> Result<(), LinkError> {
    check_link_bytes(&recorded.to_bytes(), bytes, prev.map(Cid::to_bytes).as_deref(), &source.to_bytes())
}

/// [`check_link`] over CIDs in their binary form, as stored: compares bytes and parses a CID
/// only to describe a problem. This is what `verify` runs for every block.
pub fn check_link_bytes(recorded: &[u8], bytes: &[u8], prev: Option<&[u8]>, source: &[u8]) -> Result<(), LinkError> {
    let actual = cid_bytes_of(bytes);
    if actual.as_slice() != recorded {
        return Err(LinkError::CidMismatch { recorded: describe(Some(recorded)), actual: cid_of(bytes).to_string() });
    }
    let (found_prev, found_source) = GraphEvent::raw_links_of(bytes).map_err(LinkError::Undecodable)?;
    if found_prev != prev {
        return Err(LinkError::BrokenChain { expected: describe(prev), found: describe(found_prev) });
    }
    if found_source != source {
        return Err(LinkError::WrongSource { expected: describe(Some(source)), found: describe(Some(found_source)) });
    }
    Ok(())
}

fn describe(cid: Option<&[u8]>) -> String {
    match cid {
        None => "none".to_owned(),
        Some(raw) => Cid::try_from(raw).map_or_else(|_| "a malformed CID".to_owned(), |c| c.to_string()),
    }
}
