//! CIDs as base32 text in serde output (JSON for the CLI and reports), for
//! `#[serde(serialize_with = "…")]`. Blocks themselves carry CIDs as DAG-CBOR links, not text.

use cid::Cid;
use serde::Serializer;

/// A CID as its text form (`bafy…`).
pub fn serialize<S: Serializer>(cid: &Cid, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(cid)
}

/// An optional CID as text, or `null`.
pub fn serialize_opt<S: Serializer>(cid: &Option<Cid>, s: S) -> Result<S::Ok, S::Error> {
    match cid {
        Some(c) => s.collect_str(c),
        None => s.serialize_none(),
    }
}

/// CIDs as a sequence of text.
pub fn serialize_seq<S: Serializer>(cids: &[Cid], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(cids.iter().map(ToString::to_string))
}
