//! Writing and reading a whole bundle: age around a CAR v1 archive whose first block is the
//! signed manifest, followed by every domain event block, the artifact blocks it introduces
//! and its graph event blocks, in history order (`docs/formats/bundle.md`).
//!
//! The reader trusts nothing: it verifies the manifest's signature, then re-derives every
//! block — it decodes each domain event, encodes it again (the bytes must be identical, so
//! canonical), projects it with the [`GraphProjector`] and links the graph events from the
//! manifest's base; each block read must be exactly the block derived. Artifact blocks are
//! hashed. At the end the counts and the head must be the manifest's. So a bundle that reads
//! to its end is a valid piece of history, whatever the file contained.

use std::collections::HashSet;
use std::io::{BufReader, BufWriter, Read, Write};

use cid::Cid;
use ed25519_dalek::SigningKey;

use super::car::{CarReader, CarWriter, DAG_CBOR, RAW, check_block};
use super::{BundleError, Manifest, Seal, Unseal};
use crate::domain::{ArtifactKind, EventEnvelope};
use crate::projection::{
    Block, Chain, GraphEvent, GraphProjector, Lifted, artifact_cid, check_link_bytes, decode_domain_event,
};

/// Buffer between the CAR and age layers: age seals 64 KiB chunks.
const BUFFER: usize = 256 * 1024;

/// Writes `a`, and a copy of everything written to `b` if there is one.
struct Tee<A, B> {
    a: A,
    b: Option<B>,
}

impl<A: Write, B: Write> Write for Tee<A, B> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.a.write(buf)?;
        if let Some(b) = &mut self.b {
            b.write_all(&buf[..n])?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.a.flush()?;
        if let Some(b) = &mut self.b {
            b.flush()?;
        }
        Ok(())
    }
}

/// Writes a bundle. The caller adds the blocks in the order the format prescribes; the
/// reader refuses anything else, and export reads every bundle back before reporting it.
pub struct BundleWriter<W: Write, C: Write = std::io::Sink> {
    car: CarWriter<BufWriter<Tee<age::stream::StreamWriter<W>, C>>>,
}

impl<W: Write, C: Write> std::fmt::Debug for BundleWriter<W, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BundleWriter")
    }
}

impl<W: Write> BundleWriter<W> {
    /// Starts a bundle: the age header, the CAR header (root: the manifest's head) and the
    /// manifest block signed with `key`. Returns the writer and the manifest block's CID.
    pub fn new(out: W, seal: &Seal, manifest: &Manifest, key: &SigningKey) -> Result<(Self, Cid), BundleError> {
        Self::start(out, None, seal, manifest, key)
    }
}

impl<W: Write, C: Write> BundleWriter<W, C> {
    /// [`BundleWriter::new`], also writing a copy of the plaintext (the CAR archive) to `copy`
    /// — for checking it on another thread while it is encrypted, when the bundle is
    /// encrypted to recipients and so cannot be decrypted here.
    pub fn with_copy(
        out: W,
        copy: C,
        seal: &Seal,
        manifest: &Manifest,
        key: &SigningKey,
    ) -> Result<(Self, Cid), BundleError> {
        Self::start(out, Some(copy), seal, manifest, key)
    }

    fn start(
        out: W,
        copy: Option<C>,
        seal: &Seal,
        manifest: &Manifest,
        key: &SigningKey,
    ) -> Result<(Self, Cid), BundleError> {
        let (cid, block) = manifest.sign(key)?;
        let encrypted = Tee { a: seal.encrypt(out)?, b: copy };
        let mut car = CarWriter::new(BufWriter::with_capacity(BUFFER, encrypted), &[manifest.head])?;
        car.block(&cid, &block)?;
        Ok((Self { car }, cid))
    }

    /// Appends a block.
    pub fn block(&mut self, cid: &Cid, bytes: &[u8]) -> Result<(), BundleError> {
        self.car.block(cid, bytes)
    }

    /// Ends the age stream (its last chunk and tag), closes the copy, and returns the
    /// underlying writer, which the caller still has to flush and sync.
    pub fn finish(self) -> Result<W, BundleError> {
        let mut tee = self.car.into_inner().into_inner().map_err(|e| BundleError::Io(e.into_error()))?;
        if let Some(mut copy) = tee.b.take() {
            copy.flush()?;
        }
        Ok(tee.a.finish()?)
    }
}

/// A public artifact block of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// What it is.
    pub kind: ArtifactKind,
    /// Its CID (raw codec).
    pub cid: Cid,
    /// Its bytes (a JWT's ASCII, a certificate's DER).
    pub bytes: Vec<u8>,
}

/// One domain event of a bundle with everything that came with it, all checked.
#[derive(Debug)]
pub struct Entry {
    /// The event.
    pub envelope: EventEnvelope,
    /// Its block and graph events, as our projector derives them.
    pub lifted: Lifted,
    /// The head its first graph event links.
    pub prev: Option<Cid>,
    /// Its graph event blocks, linked from `prev`.
    pub blocks: Vec<Block>,
    /// The artifact blocks it introduced into the bundle (those it refers to that no earlier
    /// event of the bundle did).
    pub artifacts: Vec<Artifact>,
    /// Its domain event's sequence number in the exporting vault.
    pub domain_seq: u64,
    /// The sequence number of its last graph event in the exporting vault.
    pub last_graph_seq: u64,
}

fn missing(what: String) -> BundleError {
    BundleError::Malformed(format!("{what} is missing (the bundle was cut or a block removed)"))
}

impl Entry {
    /// Re-derives one domain event and everything that came with it: the one check shared by
    /// [`BundleReader::next_entry`] and replay (`app::replay`, which reads the blocks from a
    /// NATS server), so that both record exactly what the recording vault recorded.
    ///
    /// * `(cid, bytes)`: the domain event block as read. It must decode, and encode again to
    ///   the same bytes and CID (so it is canonical and its CID is its hash).
    /// * `(domain_seq, graph_seq)`: the position of the domain event, and of its first graph
    ///   event, in the history (for messages and the entry's sequence numbers).
    /// * `chain`: the chain so far; the graph events derived are linked onto it.
    /// * `seen`: the artifacts introduced so far. For each artifact the event refers to that is
    ///   not in it, `artifact(cid)` gives the block read for it, which must hash to that CID.
    /// * `graph(seq, expected)`: the graph event block read where the derived block
    ///   `expected` (graph event `#seq`) should be, as its CID (as recorded, not checked) and
    ///   bytes; it must be exactly that block.
    /// * `whence`: what held the blocks ("the bundle"), for the messages.
    pub fn derive(
        (cid, bytes): (Cid, Vec<u8>),
        (domain_seq, graph_seq): (u64, u64),
        chain: &mut Chain,
        seen: &mut HashSet<Cid>,
        artifact: &mut dyn FnMut(Cid) -> Result<Vec<u8>, BundleError>,
        graph: &mut dyn FnMut(u64, &Block) -> Result<Block, BundleError>,
        whence: &str,
    ) -> Result<Entry, BundleError> {
        let envelope = decode_domain_event(&bytes).map_err(|e| {
            check_block(&cid, &bytes).err().unwrap_or_else(|| {
                BundleError::Malformed(format!("block {cid}, where domain event #{domain_seq} should be: {e}"))
            })
        })?;
        let lifted = GraphProjector
            .lift(&envelope)
            .map_err(|e| BundleError::Malformed(format!("domain event #{domain_seq} cannot be encoded again: {e}")))?;
        if lifted.domain.bytes != bytes || lifted.domain.cid != cid {
            return Err(check_block(&cid, &bytes).err().unwrap_or_else(|| {
                BundleError::Malformed(format!("domain event #{domain_seq} ({cid}) is not in canonical form"))
            }));
        }
        let mut artifacts = Vec::new();
        for (kind, text) in envelope.event.artifacts() {
            let expected = artifact_cid(text).ok_or_else(|| {
                BundleError::Malformed(format!("domain event #{domain_seq} refers to a malformed artifact CID"))
            })?;
            if !seen.insert(expected) {
                continue;
            }
            let bytes = artifact(expected)?;
            check_block(&expected, &bytes)?;
            artifacts.push(Artifact { kind, cid: expected, bytes });
        }
        let prev = chain.head();
        let mut blocks = Vec::with_capacity(lifted.graph.len());
        for event in &lifted.graph {
            let expected = chain
                .link(event)
                .map_err(|e| BundleError::Malformed(format!("a graph event cannot be encoded: {e}")))?;
            let seq = graph_seq + blocks.len() as u64;
            let Block { cid, bytes } = graph(seq, &expected)?;
            if cid != expected.cid || bytes != expected.bytes {
                return Err(if cid == expected.cid {
                    check_block(&cid, &bytes)
                        .err()
                        .unwrap_or_else(|| BundleError::Malformed(format!("graph event #{seq} differs")))
                } else {
                    BundleError::Malformed(format!(
                        "graph event #{seq} should be {} (derived from domain event #{domain_seq}) but block {cid} is there: {whence} was altered or a block is missing",
                        expected.cid
                    ))
                });
            }
            blocks.push(expected);
        }
        let last_graph_seq = (graph_seq + blocks.len() as u64).saturating_sub(1);
        Ok(Entry { envelope, lifted, prev, blocks, artifacts, domain_seq, last_graph_seq })
    }
}

/// Reads a bundle, checking everything (see the module documentation).
pub struct BundleReader<P: Read> {
    car: CarReader<BufReader<P>>,
    manifest: Manifest,
    manifest_cid: Cid,
    chain: Chain,
    seen: HashSet<Cid>,
    domain: u64,
    graph: u64,
    done: bool,
}

impl<P: Read> std::fmt::Debug for BundleReader<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleReader").field("manifest", &self.manifest).field("domain", &self.domain).finish()
    }
}

impl<R: Read> BundleReader<age::stream::StreamReader<R>> {
    /// Decrypts, reads the CAR header and the manifest, and verifies the manifest's signature.
    pub fn open(input: R, unseal: &Unseal) -> Result<Self, BundleError> {
        Self::from_plain(unseal.decrypt(input)?)
    }
}

impl<P: Read> BundleReader<P> {
    /// [`BundleReader::open`] of a bundle's decrypted content (the CAR archive).
    pub fn from_plain(plain: P) -> Result<Self, BundleError> {
        let mut car = CarReader::new(BufReader::with_capacity(BUFFER, plain))?;
        let (manifest_cid, block) =
            car.next_block()?.ok_or_else(|| BundleError::Malformed("it holds no manifest".into()))?;
        if manifest_cid.codec() != DAG_CBOR {
            return Err(BundleError::Malformed("its first block is not a signed cim-keys manifest".into()));
        }
        let manifest = Manifest::open(&block)?;
        if car.roots() != [manifest.head] {
            return Err(BundleError::Malformed("its CAR root is not the head its manifest names".into()));
        }
        let chain = Chain::new(manifest.base);
        Ok(Self { car, manifest, manifest_cid, chain, seen: HashSet::new(), domain: 0, graph: 0, done: false })
    }

    /// The verified manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest block's CID (which identifies the bundle).
    pub fn manifest_cid(&self) -> Cid {
        self.manifest_cid
    }

    /// Domain events read so far.
    pub fn entries_read(&self) -> u64 {
        self.domain
    }

    /// The next domain event with its artifacts and graph events, all checked; `None` after
    /// the last, once the counts and the head have been checked against the manifest.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, BundleError> {
        if self.done {
            return Ok(None);
        }
        let Some((cid, bytes)) = self.car.next_raw()? else {
            return self.finish().map(|()| None);
        };
        let domain_seq = self.manifest.domain.first + self.domain;
        if self.domain >= self.manifest.domain.len() {
            return Err(BundleError::Malformed(format!(
                "it holds more than the {} domain events its manifest announces",
                self.manifest.domain.len()
            )));
        }
        if cid.codec() != DAG_CBOR {
            return Err(BundleError::Malformed(format!(
                "block {cid} is where domain event #{domain_seq} should be, and is not DAG-CBOR"
            )));
        }
        let graph_seq = self.manifest.graph.first + self.graph;
        // Both closures read the archive, one at a time.
        let car = std::cell::RefCell::new(&mut self.car);
        let mut artifact = |expected: Cid| -> Result<Vec<u8>, BundleError> {
            let (cid, bytes) = car
                .borrow_mut()
                .next_block()?
                .ok_or_else(|| missing(format!("artifact {expected} of domain event #{domain_seq}")))?;
            if cid != expected {
                return Err(BundleError::Malformed(format!(
                    "block {cid} is where artifact {expected} of domain event #{domain_seq} should be (a block is missing or out of order)"
                )));
            }
            Ok(bytes)
        };
        let mut graph = |seq: u64, expected: &Block| -> Result<Block, BundleError> {
            let (cid, bytes) = car
                .borrow_mut()
                .next_raw()?
                .ok_or_else(|| missing(format!("graph event #{seq} ({})", expected.cid)))?;
            Ok(Block { cid, bytes })
        };
        let entry = Entry::derive(
            (cid, bytes),
            (domain_seq, graph_seq),
            &mut self.chain,
            &mut self.seen,
            &mut artifact,
            &mut graph,
            "the bundle",
        )?;
        self.graph += entry.blocks.len() as u64;
        self.domain += 1;
        Ok(Some(entry))
    }

    /// At the end of the archive: everything announced was there, and nothing else.
    fn finish(&mut self) -> Result<(), BundleError> {
        let m = &self.manifest;
        if self.domain != m.domain.len() || self.graph != m.graph.len() {
            return Err(BundleError::Malformed(format!(
                "it ends after {} of {} domain events and {} of {} graph events (the file was cut or blocks removed)",
                self.domain,
                m.domain.len(),
                self.graph,
                m.graph.len()
            )));
        }
        if self.seen.len() as u64 != m.artifacts {
            return Err(BundleError::Malformed(format!(
                "it holds {} artifact blocks but its manifest announces {}",
                self.seen.len(),
                m.artifacts
            )));
        }
        if self.chain.head() != Some(m.head) {
            return Err(BundleError::Malformed("its last graph event is not the head its manifest names".into()));
        }
        self.done = true;
        Ok(())
    }

    /// Reads the rest of the bundle with the checks `verify` makes of a vault, instead of
    /// re-deriving every block: each block hashes to its CID, each graph event links the one
    /// before it (from the manifest's base) and the domain event before it, every domain event
    /// has a graph event, and the counts and the head are the manifest's. About a third of the
    /// cost of [`BundleReader::next_entry`]; export uses it on what it writes (import always
    /// re-derives). `go_on` is told the number of domain events read after each one; when it
    /// answers false the check stops and `None` is returned. Else the number of domain events.
    pub fn check_links(&mut self, go_on: &mut dyn FnMut(u64) -> bool) -> Result<Option<u64>, BundleError> {
        let mut head: Option<Vec<u8>> = self.manifest.base.map(|c| c.to_bytes());
        // The current domain event's CID, and whether a graph event followed it yet.
        let mut source: Option<(Vec<u8>, bool)> = None;
        let mut artifacts = 0u64;
        while let Some((cid, bytes)) = self.car.next_raw()? {
            if cid.codec() == RAW {
                check_block(&cid, &bytes)?;
                if source.is_none() {
                    return Err(BundleError::Malformed(format!("artifact {cid} comes before any domain event")));
                }
                artifacts += 1;
                continue;
            }
            let recorded = cid.to_bytes();
            if let Some((domain, followed)) = &mut source
                && GraphEvent::raw_links_of(&bytes).is_ok_and(|(_, s)| s == domain.as_slice())
            {
                check_link_bytes(&recorded, &bytes, head.as_deref(), domain).map_err(|e| {
                    BundleError::Malformed(format!("graph event #{}: {e}", self.manifest.graph.first + self.graph))
                })?;
                head = Some(recorded);
                *followed = true;
                self.graph += 1;
                continue;
            }
            if let Some((domain, false)) = &source {
                let domain = Cid::try_from(domain.as_slice()).map_or_else(|_| "?".into(), |c| c.to_string());
                return Err(BundleError::Malformed(format!(
                    "domain event {domain} has no graph event after it (a block is missing or altered)"
                )));
            }
            check_block(&cid, &bytes)?;
            source = Some((recorded, false));
            self.domain += 1;
            if !go_on(self.domain) {
                return Ok(None);
            }
        }
        let m = &self.manifest;
        if self.domain != m.domain.len() || self.graph != m.graph.len() || artifacts != m.artifacts {
            return Err(BundleError::Malformed(format!(
                "it holds {} domain events, {} graph events and {artifacts} artifacts but its manifest announces {}, {} and {}",
                self.domain,
                self.graph,
                m.domain.len(),
                m.graph.len(),
                m.artifacts
            )));
        }
        if head != Some(m.head.to_bytes()) {
            return Err(BundleError::Malformed("its last graph event is not the head its manifest names".into()));
        }
        self.done = true;
        Ok(Some(self.domain))
    }

    /// Reads every entry to the end, checking all of it; returns how many there were.
    pub fn check_all(&mut self) -> Result<u64, BundleError> {
        while self.next_entry()?.is_some() {}
        Ok(self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::large_history;

    type Blocks = Vec<(Cid, Vec<u8>)>;

    /// A bundle of the first `people` people's history, encrypted to a fresh X25519 identity,
    /// as its blocks (manifest first) and the identity.
    fn blocks(people: usize) -> (Manifest, Blocks, SigningKey) {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let mut chain = Chain::new(None);
        let mut out = Vec::new();
        let (mut domain, mut graph) = (0, 0);
        for envelope in large_history(people) {
            let lifted = GraphProjector.lift(&envelope).unwrap();
            out.push((lifted.domain.cid, lifted.domain.bytes.clone()));
            domain += 1;
            for event in &lifted.graph {
                let block = chain.link(event).unwrap();
                out.push((block.cid, block.bytes));
                graph += 1;
            }
        }
        let manifest = Manifest {
            format: super::super::manifest::FORMAT_NAME.into(),
            v: super::super::BUNDLE_FORMAT,
            vault: "v".into(),
            device: "d".into(),
            signer: serde_bytes::ByteBuf::from(key.verifying_key().as_bytes().to_vec()),
            head: chain.head().unwrap(),
            base: None,
            graph: super::super::SeqRange { first: 1, last: graph },
            domain: super::super::SeqRange { first: 1, last: domain },
            artifacts: 0,
            created_at: "2026-11-22T00:00:00Z".into(),
        };
        (manifest, out, key)
    }

    /// The plaintext CAR of a manifest and blocks.
    fn car(manifest: &Manifest, key: &SigningKey, blocks: &[(Cid, Vec<u8>)]) -> Vec<u8> {
        let (cid, block) = manifest.sign(key).unwrap();
        let mut car = CarWriter::new(Vec::new(), &[manifest.head]).unwrap();
        car.block(&cid, &block).unwrap();
        for (cid, data) in blocks {
            car.block(cid, data).unwrap();
        }
        car.into_inner()
    }

    /// Both checks of a plaintext: (full re-derivation, links only).
    fn check(plain: &[u8]) -> (Result<u64, BundleError>, Result<Option<u64>, BundleError>) {
        let full = BundleReader::from_plain(plain).and_then(|mut r| r.check_all());
        let links = BundleReader::from_plain(plain).and_then(|mut r| r.check_links(&mut |_| true));
        (full, links)
    }

    #[test]
    fn a_bundle_round_trips_through_age_and_both_checks_pass() {
        let (manifest, blocks, key) = blocks(20);
        let identity = age::x25519::Identity::generate();
        let seal = Seal::Recipients(vec![identity.to_public()]);
        let (mut writer, manifest_cid) = BundleWriter::new(Vec::new(), &seal, &manifest, &key).unwrap();
        for (cid, data) in &blocks {
            writer.block(cid, data).unwrap();
        }
        let file = writer.finish().unwrap();
        let unseal = Unseal::Identities(vec![Box::new(identity)]);
        let mut reader = BundleReader::open(file.as_slice(), &unseal).unwrap();
        assert_eq!(reader.manifest(), &manifest);
        assert_eq!(reader.manifest_cid(), manifest_cid);
        let mut entries = 0;
        while let Some(entry) = reader.next_entry().unwrap() {
            entries += 1;
            assert_eq!(entry.domain_seq, entries);
            assert!(entry.artifacts.is_empty());
        }
        assert_eq!(entries, manifest.domain.len());
        let (full, links) = check(&car(&manifest, &key, &blocks));
        assert_eq!(full.unwrap(), manifest.domain.len());
        assert_eq!(links.unwrap(), Some(manifest.domain.len()));
    }

    #[test]
    fn every_kind_of_damage_fails_both_checks() {
        let (manifest, blocks, key) = blocks(6);
        let n = blocks.len();
        let mut cases: Vec<(&str, Blocks)> = Vec::new();
        let mut flipped = blocks.clone();
        flipped[n / 2].1[10] ^= 1;
        cases.push(("a flipped byte", flipped));
        let mut missing = blocks.clone();
        missing.remove(n / 2);
        cases.push(("a missing block", missing));
        let mut swapped = blocks.clone();
        swapped.swap(2, 3);
        cases.push(("two graph events swapped", swapped));
        let mut extra = blocks.clone();
        extra.push(blocks[1].clone());
        cases.push(("an extra block", extra));
        cases.push(("the last block cut off", blocks[..n - 1].to_vec()));
        let mut foreign = blocks.clone();
        let raw = b"not an artifact anyone refers to".to_vec();
        foreign.insert(1, (crate::projection::raw_cid_of(&raw), raw));
        cases.push(("an artifact nobody refers to", foreign));
        for (case, blocks) in cases {
            let (full, links) = check(&car(&manifest, &key, &blocks));
            assert!(full.is_err(), "{case}: the full check passed");
            assert!(links.is_err(), "{case}: the link check passed");
        }
    }

    #[test]
    fn the_link_check_stops_when_asked() {
        let (manifest, blocks, key) = blocks(6);
        let plain = car(&manifest, &key, &blocks);
        let mut reader = BundleReader::from_plain(plain.as_slice()).unwrap();
        assert_eq!(reader.check_links(&mut |done| done < 3).unwrap(), None);
    }
}
