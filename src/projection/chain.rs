//! The chain: each graph event block links the CID of the one before it on this device.
//!
//! The head CID therefore commits to every event ever recorded here: change one byte of any
//! block and every later CID changes. [`Chain::link`] is the only way graph events become
//! blocks, and [`check_link`] is what `verify` runs over every stored block.

use cid::Cid;

use super::codec::{Block, CodecError, cid_of};
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
    let actual = cid_of(bytes);
    if actual != *recorded {
        return Err(LinkError::CidMismatch { recorded: recorded.to_string(), actual: actual.to_string() });
    }
    let links = GraphEvent::links_of(bytes).map_err(LinkError::Undecodable)?;
    if links.prev.as_ref() != prev {
        return Err(LinkError::BrokenChain { expected: describe(prev), found: describe(links.prev.as_ref()) });
    }
    if links.source != *source {
        return Err(LinkError::WrongSource { expected: source.to_string(), found: links.source.to_string() });
    }
    Ok(())
}

fn describe(cid: Option<&Cid>) -> String {
    cid.map_or_else(|| "none".to_owned(), Cid::to_string)
}
