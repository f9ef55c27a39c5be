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
use crate::projection::{Block, Chain, GraphProjector, Lifted, decode_domain_event, parse_cid};

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

    fn missing(&self, what: String) -> BundleError {
        BundleError::Malformed(format!("{what} is missing (the bundle was cut or a block removed)"))
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
            let expected = parse_cid(text).filter(|c| c.codec() == RAW).ok_or_else(|| {
                BundleError::Malformed(format!("domain event #{domain_seq} refers to a malformed artifact CID"))
            })?;
            if !self.seen.insert(expected) {
                continue;
            }
            let (cid, bytes) = self
                .car
                .next_block()?
                .ok_or_else(|| self.missing(format!("artifact {expected} of domain event #{domain_seq}")))?;
            if cid != expected {
                return Err(BundleError::Malformed(format!(
                    "block {cid} is where artifact {expected} of domain event #{domain_seq} should be (a block is missing or out of order)"
                )));
            }
            artifacts.push(Artifact { kind, cid, bytes });
        }
        let prev = self.chain.head();
        let mut blocks = Vec::with_capacity(lifted.graph.len());
        for event in &lifted.graph {
            let expected = self
                .chain
                .link(event)
                .map_err(|e| BundleError::Malformed(format!("a graph event cannot be encoded: {e}")))?;
            let seq = self.manifest.graph.first + self.graph;
            let (cid, bytes) =
                self.car.next_raw()?.ok_or_else(|| self.missing(format!("graph event #{seq} ({})", expected.cid)))?;
            if cid != expected.cid || bytes != expected.bytes {
                return Err(if cid == expected.cid {
                    check_block(&cid, &bytes)
                        .err()
                        .unwrap_or_else(|| BundleError::Malformed(format!("graph event #{seq} differs")))
                } else {
                    BundleError::Malformed(format!(
                        "graph event #{seq} should be {} (derived from domain event #{domain_seq}) but block {cid} is there: the bundle was altered or a block is missing",
                        expected.cid
                    ))
                });
            }
            self.graph += 1;
            blocks.push(expected);
        }
        self.domain += 1;
        let last_graph_seq = self.manifest.graph.first + self.graph - 1;
        Ok(Some(Entry { envelope, lifted, prev, blocks, artifacts, domain_seq, last_graph_seq }))
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

    /// Reads every entry to the end, checking all of it; returns how many there were.
    pub fn check_all(&mut self) -> Result<u64, BundleError> {
        while self.next_entry()?.is_some() {}
        Ok(self.domain)
    }
}
