//! Project + encode + CID per graph event, vs encoding and hashing the same bytes raw.
//!
//! * ours: for each pre-built domain event envelope (with its domain block's CID, computed once
//!   before timing), `GraphProjector::project` and then `Chain::link` of every graph event it
//!   yields — building the graph event, its canonical DAG-CBOR block linked to the previous one,
//!   and its CIDv1.
//! * raw: every block ours produces, decoded once (before timing) into a plain struct with the
//!   same fields, every id and time already a `String`, the links already `Cid`s; timed:
//!   `serde_ipld_dagcbor::to_vec` of that struct and SHA2-256 of the bytes. The bytes are
//!   checked to be identical to ours, so raw does exactly the encoding and hashing, and none of
//!   the projecting, id derivation, formatting or linking.
//! * also printed, for scale: the same with a generic `ipld_core::ipld::Ipld` value instead of
//!   the struct (a slower, weaker baseline), and SHA2-256 alone.
//!
//! History: `large_history(1000)` (an organization, 10 units, 1,000 people, each in one unit),
//! a realistic mix of `AggregateAdded`, `RelationshipEstablished` and `BoundedContextCreated`.

mod common;

use cim_keys::domain::fixtures::large_history;
use cim_keys::projection::{Chain, GraphProjector};
use common::{Mode, black_box, interleave, report, time};
use std::collections::BTreeMap;

use cim_keys::projection::Cid;
use ipld_core::ipld::Ipld;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A graph event block as plain data: the raw baseline's input.
#[derive(Serialize, Deserialize)]
struct RawBlock {
    v: u64,
    id: String,
    #[serde(rename = "type")]
    kind: String,
    context: String,
    at: String,
    device: String,
    causation: String,
    correlation: String,
    source: Cid,
    prev: Option<Cid>,
    data: RawData,
}

/// The payloads, as plain data.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum RawData {
    Aggregate { aggregate: String, aggregate_type: String, properties: BTreeMap<String, String> },
    Relationship { from: String, relation: String, to: String },
    Context { context_type: String, properties: BTreeMap<String, String> },
    Concept { concept: String, concept_type: String, properties: BTreeMap<String, String> },
}

fn main() {
    let mode = Mode::from_args();
    let people = mode.pick(1000, 20);
    let rounds = mode.pick(31, 3);

    let history = large_history(people);
    // The domain blocks' CIDs are inputs of the projection, computed once.
    let sources: Vec<_> =
        history.iter().map(|e| GraphProjector.lift(e).expect("fixture events encode").domain.cid).collect();

    // What ours produces, once, to build the raw baseline's input from.
    let mut chain = Chain::default();
    let blocks: Vec<_> = history
        .iter()
        .zip(&sources)
        .flat_map(|(e, s)| GraphProjector.project(e, *s))
        .map(|g| chain.link(&g).expect("graph events encode"))
        .collect();
    let values: Vec<RawBlock> =
        blocks.iter().map(|b| serde_ipld_dagcbor::from_slice(&b.bytes).expect("our blocks decode")).collect();
    let generic: Vec<Ipld> =
        blocks.iter().map(|b| serde_ipld_dagcbor::from_slice(&b.bytes).expect("our blocks decode")).collect();
    for ((block, value), generic) in blocks.iter().zip(&values).zip(&generic) {
        let bytes = serde_ipld_dagcbor::to_vec(value).expect("raw block encodes");
        assert_eq!(bytes, block.bytes, "raw re-encoding gives the same bytes");
        let bytes = serde_ipld_dagcbor::to_vec(generic).expect("ipld encodes");
        assert_eq!(bytes, block.bytes, "generic re-encoding gives the same bytes");
    }
    let events = blocks.len();
    let total_bytes: usize = blocks.iter().map(|b| b.bytes.len()).sum();
    println!(
        "projection: {} domain events -> {events} graph events, {} bytes per block on average",
        history.len(),
        total_bytes / events
    );

    let ours = || {
        let (elapsed, head) = time(|| {
            let mut chain = Chain::default();
            for (envelope, source) in history.iter().zip(&sources) {
                for event in GraphProjector.project(black_box(envelope), *source) {
                    black_box(chain.link(&event).expect("graph events encode"));
                }
            }
            chain.head()
        });
        black_box(head);
        elapsed.as_secs_f64() / events as f64
    };
    fn encode_hash<T: Serialize>(values: &[T]) -> f64 {
        let (elapsed, ()) = time(|| {
            for value in values {
                let bytes = serde_ipld_dagcbor::to_vec(black_box(value)).expect("raw block encodes");
                black_box(Sha256::digest(&bytes));
            }
        });
        elapsed.as_secs_f64() / values.len() as f64
    }
    let samples = interleave(rounds, ours, || encode_hash(&values));
    let verdict = report(mode, "projection", "event", &samples, 0.5);
    println!("    raw = serde_ipld_dagcbor::to_vec(pre-built struct, ids and times as strings) + SHA2-256, same bytes");

    // For scale only: a generic IPLD value instead of the struct, and SHA2-256 alone.
    let generic_times: Vec<f64> = (0..rounds).map(|_| encode_hash(&generic)).collect();
    println!(
        "    for scale: encoding a generic Ipld value + SHA2-256 {}/event",
        common::fmt_secs(common::median(&generic_times))
    );
    let hash_only: Vec<f64> = (0..rounds)
        .map(|_| {
            let (elapsed, ()) = time(|| {
                for block in &blocks {
                    black_box(Sha256::digest(black_box(&block.bytes)));
                }
            });
            elapsed.as_secs_f64() / events as f64
        })
        .collect();
    println!("    for scale: SHA2-256 alone of the same bytes {}/event", common::fmt_secs(common::median(&hash_only)));
    common::finish(mode, &[verdict]);
}
