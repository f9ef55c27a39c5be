//! Replay: a vault rebuilt from a NATS server alone — the stream `CIM_GRAPH_EVENTS` and the
//! object store `cim-graph-payloads` — with every CID recomputed, equal to the vault that
//! uploaded the history (the same head, the same `events` listings, the same read models).
//!
//! [`Vault::replay`] works in four steps, and writes nothing before the last:
//!
//! 1. **Read the stream** ([`crate::sync::read_events`]): every message, its payload hashed to
//!    the CID its subject and `Nats-Msg-Id` name. Each payload is decoded as a graph event
//!    block, and the subject's context and type tokens must be the block's.
//! 2. **Find the history.** The graph events link their predecessor on the recording device
//!    (`prev`); a history is the chain from an event with `prev = null` following those links.
//!    A stream may hold several (several devices, or vaults); with no `head` given there must
//!    be exactly one, else replay refuses and lists the heads to choose from. With a `head`,
//!    the history is the chain that ends there, walked back to its start. A `prev` naming an
//!    event the stream lacks, or two events following the same one, is an error.
//! 3. **Fetch the blocks** ([`crate::sync::get_blocks`]): the domain event block each run of
//!    graph events with the same `source` was lifted from, then the artifacts (JWTs,
//!    certificates) those domain events refer to; every CID recomputed.
//! 4. **Re-derive and apply**, exactly as import does: each domain event is re-derived by
//!    [`Entry::derive`] (decoded, encoded again to the same bytes, lifted with the
//!    `GraphProjector`, its graph events linked from the previous head, each required to be
//!    the graph event block the stream holds), and the entries are applied in ONE transaction
//!    by the same code as import (`bundle::apply_entries`). The outbox rows of the replayed
//!    events are recorded uploaded in that transaction (they came from the server), so
//!    `status` shows nothing pending.
//!
//! The data directory must not hold a vault with events (replay builds a history from
//! nothing; it never merges). Without a vault there, one is created as `init` creates one —
//! after the first three steps succeeded, so a server that is not there, a missing block or an
//! altered message leaves nothing behind. A failure in the last step (or a cancel) rolls the
//! transaction back and removes the vault it created (and the data directory, if replay
//! created it). An empty vault already there is used as it is, and left as it was on failure.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use cid::Cid;
use serde::Serialize;

use super::bundle::{Applied, Prepared, apply_entries, cancelled};
use super::{AppError, Vault, check_data_dir, now};
use crate::bundle::{BundleError, Entry};
use crate::crypto::keystore::Passphrase;
use crate::domain::DeviceId;
use crate::projection::{Block, Chain, GraphEvent, artifact_cid, decode_domain_event};
use crate::store::{DATABASE_FILE, remove_database};
use crate::sync::{FetchError, Fetcher, StreamEvent, SyncConfig, subject};

/// What a replay is doing, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayProgress {
    /// `reading` (stream messages), `fetching` (blocks), `replaying` (domain events) or `done`.
    pub phase: &'static str,
    /// Done so far.
    pub done: u64,
    /// In all.
    pub total: u64,
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// The server read from.
    pub server: String,
    /// The data directory of the replayed vault.
    pub data_dir: PathBuf,
    /// Whether the vault was created (not an empty one that was there).
    pub created: bool,
    /// Messages read from the stream.
    pub stream_messages: u64,
    /// Histories found in the stream.
    pub histories: usize,
    /// The head of the history replayed: the new vault's head.
    #[serde(serialize_with = "crate::projection::cid_text::serialize")]
    pub head: Cid,
    /// The device that recorded that history.
    pub device: String,
    /// Domain events replayed.
    pub domain_events: u64,
    /// Graph events replayed (all marked uploaded).
    pub graph_events: u64,
    /// Artifact blocks stored.
    pub artifacts: u64,
}

/// One graph event of the stream, decoded.
struct Node {
    prev: Option<Cid>,
    source: Cid,
    device: DeviceId,
    at: String,
    bytes: Vec<u8>,
}

/// A server's history is refused: what the message says, and nothing was replayed.
fn refused(what: impl std::fmt::Display) -> AppError {
    AppError::Network(format!("the history on the server cannot be replayed: {what}; nothing was replayed"))
}

fn fetch_error(e: FetchError) -> AppError {
    match e {
        FetchError::Sync(e) => AppError::Sync(e),
        FetchError::Cancelled => cancelled(),
        FetchError::NoStream { .. } => AppError::Network(format!("{e}; nothing was replayed")),
        other => refused(other),
    }
}

fn derive_error(e: BundleError) -> AppError {
    match e {
        BundleError::Malformed(what) => refused(what),
        other => refused(other),
    }
}

/// Decodes the stream's graph events, each on the subject its block says; keyed by CID.
fn decode(events: Vec<StreamEvent>) -> Result<HashMap<Cid, Node>, AppError> {
    let mut nodes = HashMap::with_capacity(events.len());
    for event in events {
        let linked = GraphEvent::from_block(&event.bytes).map_err(|e| {
            refused(format!("message #{} ({}) is not a graph event block: {e}", event.seq, event.subject))
        })?;
        let expected = subject(&linked.event.context.to_string(), linked.event.payload.name(), &event.cid.to_string())
            .map_err(|e| refused(format!("message #{}: {e}", event.seq)))?;
        if expected != event.subject {
            return Err(refused(format!(
                "message #{} is on {} but its block belongs on {expected}",
                event.seq, event.subject
            )));
        }
        // The same block twice (published without the uploader's guard) is the same event.
        nodes.entry(event.cid).or_insert(Node {
            prev: linked.prev,
            source: linked.event.source,
            device: linked.event.device,
            at: linked.event.at.to_string(),
            bytes: event.bytes,
        });
    }
    Ok(nodes)
}

/// The history ending at `head`, walked back to its start, in chain order.
fn walk_back(nodes: &HashMap<Cid, Node>, head: Cid) -> Result<Vec<Cid>, AppError> {
    if !nodes.contains_key(&head) {
        return Err(AppError::Invalid(format!("the stream holds no graph event {head} (given as --head)")));
    }
    let mut history = vec![head];
    let mut at = head;
    while let Some(prev) = nodes[&at].prev {
        if !nodes.contains_key(&prev) {
            return Err(refused(format!(
                "graph event {at} follows {prev}, which the stream does not hold (the chain is broken)"
            )));
        }
        if history.len() > nodes.len() {
            return Err(refused("the chain of graph events loops"));
        }
        history.push(prev);
        at = prev;
    }
    history.reverse();
    Ok(history)
}

/// The one history of the stream (see the module docs), or an error listing the heads.
fn only_history(nodes: &HashMap<Cid, Node>) -> Result<Vec<Cid>, AppError> {
    let mut next: HashMap<Cid, Cid> = HashMap::new();
    let mut starts = Vec::new();
    let mut sorted: Vec<&Cid> = nodes.keys().collect();
    sorted.sort();
    for cid in sorted {
        match nodes[cid].prev {
            None => starts.push(*cid),
            Some(prev) if !nodes.contains_key(&prev) => {
                return Err(refused(format!(
                    "graph event {cid} follows {prev}, which the stream does not hold (the chain is broken)"
                )));
            }
            Some(prev) => {
                if let Some(other) = next.insert(prev, *cid) {
                    return Err(refused(format!(
                        "graph events {other} and {cid} both follow {prev}: the history forks (give the head of \
                         one branch with --head)"
                    )));
                }
            }
        }
    }
    let chains: Vec<Vec<Cid>> = starts
        .iter()
        .map(|start| {
            let mut chain = vec![*start];
            while let Some(following) = next.get(chain.last().unwrap_or(start)) {
                chain.push(*following);
            }
            chain
        })
        .collect();
    if chains.iter().map(Vec::len).sum::<usize>() != nodes.len() {
        return Err(refused("some graph events do not descend from any first event (the chain loops)"));
    }
    match chains.len() {
        0 => Err(AppError::Network("the stream holds no graph events: there is nothing to replay".into())),
        1 => Ok(chains.into_iter().next().unwrap_or_default()),
        n => {
            let heads: Vec<String> = chains
                .iter()
                .filter_map(|chain| {
                    let head = chain.last()?;
                    let node = &nodes[head];
                    Some(format!("{head} ({} graph events, device {}, last at {})", chain.len(), node.device, node.at))
                })
                .collect();
            Err(AppError::Invalid(format!(
                "the stream holds {n} histories; choose one with --head CID: {}; nothing was replayed",
                heads.join(", ")
            )))
        }
    }
}

/// Runs of consecutive graph events with the same source, in chain order: (source, blocks).
fn runs(nodes: &mut HashMap<Cid, Node>, history: &[Cid]) -> Result<Vec<(Cid, Vec<Block>)>, AppError> {
    let mut runs: Vec<(Cid, Vec<Block>)> = Vec::new();
    let mut sources = HashSet::new();
    for cid in history {
        let node = nodes.remove(cid).ok_or_else(|| refused(format!("graph event {cid} appears twice")))?;
        let block = Block { cid: *cid, bytes: node.bytes };
        match runs.last_mut() {
            Some((source, blocks)) if *source == node.source => blocks.push(block),
            _ => {
                if !sources.insert(node.source) {
                    return Err(refused(format!(
                        "graph event {cid} returns to domain event {} after other events (each domain event's \
                         graph events follow one another)",
                        node.source
                    )));
                }
                runs.push((node.source, vec![block]));
            }
        }
    }
    Ok(runs)
}

/// The artifact CIDs the domain event blocks refer to, each once, in order. A block that
/// does not decode is left to [`Entry::derive`] to report.
fn artifact_cids(runs: &[(Cid, Vec<Block>)], blocks: &HashMap<Cid, Vec<u8>>) -> Vec<Cid> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (source, _) in runs {
        let Some(envelope) = blocks.get(source).and_then(|b| decode_domain_event(b).ok()) else { continue };
        for (_, text) in envelope.event.artifacts() {
            if let Some(cid) = artifact_cid(text)
                && seen.insert(cid)
            {
                out.push(cid);
            }
        }
    }
    out
}

/// Whether `data_dir` holds a vault; refuses one with events.
fn existing_empty_vault(data_dir: &Path) -> Result<Option<Vault>, AppError> {
    check_data_dir(data_dir)?;
    if !data_dir.join(DATABASE_FILE).exists() {
        return Ok(None);
    }
    let vault = Vault::open(data_dir)?;
    let status = vault.status()?;
    if status.domain_events > 0 || status.graph_events > 0 {
        return Err(AppError::Invalid(format!(
            "{} already holds a vault with {} domain events; replay builds a vault from nothing: give a new --data-dir \
             (the vault was not changed)",
            data_dir.display(),
            status.domain_events
        )));
    }
    Ok(Some(vault))
}

/// Removes what replay created: the vault's files, and the data directory if it was new.
fn remove_created(data_dir: &Path, dir_existed: bool) {
    if dir_existed {
        remove_database(&data_dir.join(DATABASE_FILE));
    } else {
        let _ = std::fs::remove_dir_all(data_dir);
    }
}

impl Vault {
    /// Rebuilds a vault in `data_dir` from the server `config` names (see the module
    /// documentation). `head` chooses the history when the stream holds several. `passphrase`
    /// is asked only when a vault has to be created (as `init` would), before any network
    /// work. `cancel` is looked at between steps and batches; a cancelled replay leaves
    /// nothing behind.
    pub fn replay(
        data_dir: &Path,
        config: &SyncConfig,
        head: Option<Cid>,
        passphrase: &mut dyn FnMut() -> Result<Passphrase, AppError>,
        progress: &mut dyn FnMut(ReplayProgress),
        cancel: &AtomicBool,
    ) -> Result<ReplayReport, AppError> {
        let target = match existing_empty_vault(data_dir)? {
            Some(vault) => Ok(vault),
            None => Err(passphrase()?),
        };
        let check = || if cancel.load(Ordering::Relaxed) { Err(cancelled()) } else { Ok(()) };

        // 1–3: read everything; nothing is written yet.
        let fetcher = Fetcher::connect(config)?;
        let server = config.servers.join(", ");
        let events = fetcher
            .events(&mut |done, total| progress(ReplayProgress { phase: "reading", done, total }), cancel)
            .map_err(fetch_error)?;
        let stream_messages = events.len() as u64;
        let mut nodes = decode(events)?;
        let history = match head {
            Some(head) => walk_back(&nodes, head)?,
            None => only_history(&nodes)?,
        };
        let Some(&head) = history.last() else {
            return Err(AppError::Network("the stream holds no graph events: there is nothing to replay".into()));
        };
        let device = nodes[&head].device.to_string();
        let histories = nodes.values().filter(|n| n.prev.is_none()).count();
        let runs = runs(&mut nodes, &history)?;
        drop(nodes);
        check()?;
        let sources: Vec<Cid> = runs.iter().map(|(source, _)| *source).collect();
        let fetching = |done, total| ReplayProgress { phase: "fetching", done, total };
        let mut blocks = fetcher.blocks(&sources, &mut |d, t| progress(fetching(d, t)), cancel).map_err(fetch_error)?;
        let artifacts = artifact_cids(&runs, &blocks);
        blocks.extend(fetcher.blocks(&artifacts, &mut |d, t| progress(fetching(d, t)), cancel).map_err(fetch_error)?);
        drop(fetcher);
        check()?;

        // 4: create the vault (if need be), re-derive and apply in one transaction.
        let dir_existed = data_dir.exists();
        let created = target.is_err();
        let mut vault = match target {
            Ok(vault) => vault,
            Err(passphrase) => {
                Vault::init(data_dir, &passphrase).inspect_err(|_| remove_created(data_dir, dir_existed))?
            }
        };
        let total = runs.len() as u64;
        let result = vault.apply_replayed(runs, blocks, head, progress, cancel);
        let applied = match result {
            Ok(done) => done,
            Err(e) => {
                drop(vault);
                if created {
                    remove_created(data_dir, dir_existed);
                }
                return Err(e);
            }
        };
        progress(ReplayProgress { phase: "done", done: total, total });
        Ok(ReplayReport {
            server,
            data_dir: data_dir.to_owned(),
            created,
            stream_messages,
            histories,
            head,
            device,
            domain_events: applied.added.0,
            graph_events: applied.added.1,
            artifacts: applied.added.2,
        })
    }

    /// Step 4 of [`Vault::replay`] in this (empty) vault, which must end at `head`: what was
    /// applied.
    fn apply_replayed(
        &mut self,
        runs: Vec<(Cid, Vec<Block>)>,
        mut blocks: HashMap<Cid, Vec<u8>>,
        head: Cid,
        progress: &mut dyn FnMut(ReplayProgress),
        cancel: &AtomicBool,
    ) -> Result<Applied, AppError> {
        let total = runs.len() as u64;
        let mut tx = self.store.begin()?;
        // The events came from the server: recorded uploaded, not pending.
        tx.record_as_uploaded(now());
        let mut chain = Chain::new(tx.head());
        let mut seen = HashSet::new();
        let (mut domain_seq, mut graph_seq) = (1u64, 1u64);
        let mut runs = runs.into_iter();
        let next = move || -> Result<Option<Entry>, AppError> {
            let Some((source, run)) = runs.next() else { return Ok(None) };
            let bytes = blocks.remove(&source).ok_or_else(|| refused(format!("block {source} was not fetched")))?;
            let mut run = run.into_iter();
            // Asked once per artifact (Entry::derive skips the ones seen before): taken.
            let mut artifact = |cid: Cid| {
                blocks.remove(&cid).ok_or_else(|| BundleError::Malformed(format!("artifact {cid} was not fetched")))
            };
            let mut graph = |seq: u64, expected: &Block| {
                run.next().ok_or_else(|| {
                    BundleError::Malformed(format!(
                        "graph event #{seq} ({}), derived from domain event {source}, is not in the stream after \
                         the ones before it (the history was cut or a message removed)",
                        expected.cid
                    ))
                })
            };
            let entry = Entry::derive(
                (source, bytes),
                (domain_seq, graph_seq),
                &mut chain,
                &mut seen,
                &mut artifact,
                &mut graph,
                "the history on the server",
            )
            .map_err(derive_error)?;
            if let Some(extra) = run.next() {
                return Err(refused(format!(
                    "graph event {} claims domain event {source} (#{domain_seq}), which projects to only {} graph \
                     events",
                    extra.cid,
                    entry.blocks.len()
                )));
            }
            domain_seq += 1;
            graph_seq += entry.blocks.len() as u64;
            Ok(Some(entry))
        };
        let applied = apply_entries(
            &mut tx,
            next,
            &mut |_: &Prepared| Ok(true),
            &mut |done| progress(ReplayProgress { phase: "replaying", done, total }),
            cancel,
        )?;
        if !applied.ended || applied.done != total {
            return Err(refused(format!("only {} of {total} domain events were replayed", applied.done)));
        }
        if tx.head() != Some(head) {
            // Cannot happen: every block was compared with the one derived. Checked before the
            // commit all the same, so that a replay that fails leaves nothing behind.
            return Err(refused(format!("the replayed head is not {head}")));
        }
        tx.commit()?;
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projection::cid_of;

    fn cid(n: u32) -> Cid {
        cid_of(&n.to_be_bytes())
    }

    /// Nodes `(cid, prev, source)`, all of one device.
    fn nodes(links: &[(u32, Option<u32>, u32)]) -> HashMap<Cid, Node> {
        links
            .iter()
            .map(|&(n, prev, source)| {
                let node = Node {
                    prev: prev.map(cid),
                    source: cid(1000 + source),
                    device: DeviceId::from_uuid(uuid::Uuid::from_u128(7)),
                    at: "t".into(),
                    bytes: vec![],
                };
                (cid(n), node)
            })
            .collect()
    }

    fn order(history: &[Cid]) -> Vec<u32> {
        history.iter().map(|c| (0..100).find(|&n| cid(n) == *c).unwrap()).collect()
    }

    #[test]
    fn the_history_follows_the_links_whatever_the_order_of_the_stream() {
        // Given in any order (a HashMap has none): 1 ← 2 ← 3 ← 4.
        let nodes = nodes(&[(3, Some(2), 2), (1, None, 1), (4, Some(3), 2), (2, Some(1), 1)]);
        let history = only_history(&nodes).unwrap();
        assert_eq!(order(&history), [1, 2, 3, 4]);
        assert_eq!(order(&walk_back(&nodes, cid(4)).unwrap()), [1, 2, 3, 4]);
        assert_eq!(order(&walk_back(&nodes, cid(2)).unwrap()), [1, 2]);
        let mut nodes = nodes;
        let runs = runs(&mut nodes, &history).unwrap();
        let sizes: Vec<(Cid, usize)> = runs.iter().map(|(s, b)| (*s, b.len())).collect();
        assert_eq!(sizes, [(cid(1001), 2), (cid(1002), 2)]);
    }

    #[test]
    fn several_histories_forks_and_broken_chains_are_refused() {
        let two = nodes(&[(1, None, 1), (2, Some(1), 1), (5, None, 5), (6, Some(5), 6)]);
        let e = only_history(&two).unwrap_err().to_string();
        assert!(e.contains("holds 2 histories") && e.contains(&cid(2).to_string()) && e.contains(&cid(6).to_string()));
        assert_eq!(order(&walk_back(&two, cid(6)).unwrap()), [5, 6]);
        let fork = nodes(&[(1, None, 1), (2, Some(1), 1), (3, Some(1), 1)]);
        assert!(only_history(&fork).unwrap_err().to_string().contains("the history forks"));
        assert_eq!(order(&walk_back(&fork, cid(3)).unwrap()), [1, 3]);
        let broken = nodes(&[(1, None, 1), (3, Some(2), 1)]);
        assert!(only_history(&broken).unwrap_err().to_string().contains("the chain is broken"));
        assert!(walk_back(&broken, cid(3)).unwrap_err().to_string().contains("the chain is broken"));
        assert!(walk_back(&broken, cid(9)).unwrap_err().to_string().contains("holds no graph event"));
        assert!(only_history(&HashMap::new()).unwrap_err().to_string().contains("nothing to replay"));
        // A domain event whose graph events do not follow one another.
        let mut split = nodes(&[(1, None, 1), (2, Some(1), 2), (3, Some(2), 1)]);
        let history = only_history(&split).unwrap();
        assert!(runs(&mut split, &history).unwrap_err().to_string().contains("returns to domain event"));
    }
}
