//! CAR v1 (Content Addressable aRchive), the container IPLD tools read: a varint-prefixed
//! DAG-CBOR header `{ roots: [CID…], version: 1 }`, then blocks, each
//! `varint(len(cid) + len(data)) ‖ cid ‖ data`. See <https://ipld.io/specs/transport/car/carv1/>.
//!
//! The reader is meant for untrusted input: lengths are bounded, every CID is parsed strictly
//! and every block's bytes are hashed and compared with its CID before they are returned.

use std::io::{self, Read, Write};

use cid::Cid;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BundleError;
use crate::projection;

/// The largest header we read (a header with one root is 59 bytes).
pub const MAX_HEADER: usize = 4 * 1024;
/// The largest block we read: a JWT or certificate is a few kilobytes, an event below one.
pub const MAX_BLOCK: usize = 4 * 1024 * 1024;
/// Multicodec of DAG-CBOR blocks.
pub const DAG_CBOR: u64 = 0x71;
/// Multicodec of raw blocks.
pub const RAW: u64 = 0x55;
const SHA2_256: u64 = 0x12;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    roots: Vec<Cid>,
    version: u64,
}

#[derive(Deserialize)]
struct VersionOnly {
    version: u64,
}

/// Writes an unsigned LEB128 varint.
fn write_varint(out: &mut impl Write, mut value: u64) -> io::Result<()> {
    let mut buf = [0u8; 10];
    let mut n = 0;
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            buf[n] = byte;
            n += 1;
            break;
        }
        buf[n] = byte | 0x80;
        n += 1;
    }
    out.write_all(&buf[..n])
}

/// Reads an unsigned LEB128 varint of at most 9 bytes (63 bits); `None` at a clean end of input.
fn read_varint(input: &mut impl Read) -> Result<Option<u64>, BundleError> {
    let mut value = 0u64;
    for i in 0..9 {
        let mut byte = [0u8];
        match input.read(&mut byte) {
            Ok(0) if i == 0 => return Ok(None),
            Ok(0) => return Err(BundleError::Truncated),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(super::seal::payload_error(e)),
        }
        value |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            if i > 0 && byte[0] == 0 {
                return Err(BundleError::Malformed("a length is not minimally encoded".into()));
            }
            return Ok(Some(value));
        }
    }
    Err(BundleError::Malformed("a length prefix is longer than 9 bytes".into()))
}

fn read_exact(input: &mut impl Read, buf: &mut [u8]) -> Result<(), BundleError> {
    input.read_exact(buf).map_err(super::seal::payload_error)
}

/// Checks that `cid` is what we write (CIDv1, sha2-256, DAG-CBOR or raw) and that `data`
/// hashes to it.
pub fn check_block(cid: &Cid, data: &[u8]) -> Result<(), BundleError> {
    let hash = cid.hash();
    if cid.version() != cid::Version::V1
        || hash.code() != SHA2_256
        || hash.size() != 32
        || !(cid.codec() == DAG_CBOR || cid.codec() == RAW)
    {
        return Err(BundleError::Malformed(format!(
            "block {cid} is not addressed by a CIDv1 with sha2-256 and the dag-cbor or raw codec"
        )));
    }
    let digest = Sha256::digest(data);
    if hash.digest() != digest.as_slice() {
        let actual = cid_of(cid.codec(), data);
        return Err(BundleError::CidMismatch { cid: cid.to_string(), actual: actual.to_string() });
    }
    Ok(())
}

/// The CIDv1 (sha2-256) of `data` under `codec` (DAG-CBOR or raw).
pub fn cid_of(codec: u64, data: &[u8]) -> Cid {
    if codec == RAW { projection::raw_cid_of(data) } else { projection::cid_of(data) }
}

/// Writes a CAR v1 archive.
#[derive(Debug)]
pub struct CarWriter<W: Write> {
    out: W,
}

impl<W: Write> CarWriter<W> {
    /// Writes the header naming `roots`.
    pub fn new(mut out: W, roots: &[Cid]) -> Result<Self, BundleError> {
        let header = serde_ipld_dagcbor::to_vec(&Header { roots: roots.to_vec(), version: 1 })
            .map_err(|e| BundleError::Malformed(format!("the CAR header cannot be encoded: {e}")))?;
        write_varint(&mut out, header.len() as u64)?;
        out.write_all(&header)?;
        Ok(Self { out })
    }

    /// Appends one block.
    pub fn block(&mut self, cid: &Cid, data: &[u8]) -> Result<(), BundleError> {
        let cid_bytes = cid.to_bytes();
        write_varint(&mut self.out, (cid_bytes.len() + data.len()) as u64)?;
        self.out.write_all(&cid_bytes)?;
        self.out.write_all(data)?;
        Ok(())
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads a CAR v1 archive, checking every block against its CID.
#[derive(Debug)]
pub struct CarReader<R: Read> {
    input: R,
    roots: Vec<Cid>,
    blocks: u64,
}

impl<R: Read> CarReader<R> {
    /// Reads and checks the header.
    pub fn new(mut input: R) -> Result<Self, BundleError> {
        let len = read_varint(&mut input)?.ok_or(BundleError::Truncated)?;
        let len = usize::try_from(len).ok().filter(|l| (1..=MAX_HEADER).contains(l)).ok_or_else(|| {
            BundleError::Malformed(format!("its CAR header claims {len} bytes (at most {MAX_HEADER})"))
        })?;
        let mut header = vec![0u8; len];
        read_exact(&mut input, &mut header)?;
        let version: VersionOnly = serde_ipld_dagcbor::from_slice(&header).map_err(|_| {
            BundleError::Malformed(
                "its content does not start with a CAR header (a DAG-CBOR map with a version)".into(),
            )
        })?;
        if version.version != 1 {
            return Err(BundleError::UnsupportedVersion {
                what: "its CAR archive",
                found: version.version,
                supported: 1,
            });
        }
        let parsed: Header = serde_ipld_dagcbor::from_slice(&header)
            .map_err(|_| BundleError::Malformed("its CAR header is not `{roots, version}` with CID roots".into()))?;
        // One encoding per header: the decoder alone lets a CID link carry trailing bytes
        // (the `cid` crate reads a CID from the front of a byte string) and would take other
        // non-canonical forms; the header must be exactly what the writer writes for it.
        if serde_ipld_dagcbor::to_vec(&parsed).ok().as_deref() != Some(header.as_slice()) {
            return Err(BundleError::Malformed("its CAR header is not in canonical DAG-CBOR form".into()));
        }
        Ok(Self { input, roots: parsed.roots, blocks: 0 })
    }

    /// The roots the header names.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Blocks read so far.
    pub fn blocks_read(&self) -> u64 {
        self.blocks
    }

    /// The next block, its CID checked; `None` at the end of the archive.
    pub fn next_block(&mut self) -> Result<Option<(Cid, Vec<u8>)>, BundleError> {
        let block = self.next_raw()?;
        if let Some((cid, data)) = &block {
            check_block(cid, data)?;
        }
        Ok(block)
    }

    /// The next block, its CID parsed but **not** checked against its bytes: for a caller
    /// that compares the bytes with a block it derived itself (whose CID it computed).
    pub fn next_raw(&mut self) -> Result<Option<(Cid, Vec<u8>)>, BundleError> {
        let Some(len) = read_varint(&mut self.input)? else { return Ok(None) };
        let len = usize::try_from(len).ok().filter(|l| (1..=MAX_BLOCK).contains(l)).ok_or_else(|| {
            BundleError::Malformed(format!("block #{} claims {len} bytes (at most {MAX_BLOCK})", self.blocks + 1))
        })?;
        let mut section = vec![0u8; len];
        read_exact(&mut self.input, &mut section)?;
        let mut cursor = io::Cursor::new(section.as_slice());
        let cid = Cid::read_bytes(&mut cursor)
            .map_err(|e| BundleError::Malformed(format!("block #{} has no valid CID: {e}", self.blocks + 1)))?;
        let start = cursor.position() as usize;
        section.drain(..start);
        self.blocks += 1;
        Ok(Some((cid, section)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(blocks: &[(Cid, Vec<u8>)], root: &Cid) -> Vec<u8> {
        let mut car = CarWriter::new(Vec::new(), std::slice::from_ref(root)).unwrap();
        for (cid, data) in blocks {
            car.block(cid, data).unwrap();
        }
        car.into_inner()
    }

    fn sample() -> Vec<(Cid, Vec<u8>)> {
        let cbor = serde_ipld_dagcbor::to_vec(&serde_json::json!({"a": 1})).unwrap();
        vec![(cid_of(DAG_CBOR, &cbor), cbor), (cid_of(RAW, b"hello"), b"hello".to_vec())]
    }

    #[test]
    fn varints_round_trip_and_are_minimal() {
        for value in [0u64, 1, 127, 128, 300, 16_383, 16_384, u32::MAX as u64, (1 << 63) - 1] {
            let mut buf = Vec::new();
            write_varint(&mut buf, value).unwrap();
            assert_eq!(read_varint(&mut buf.as_slice()).unwrap(), Some(value));
        }
        assert!(read_varint(&mut [0x80u8, 0x00].as_slice()).is_err(), "non-minimal");
        assert!(matches!(read_varint(&mut [0x80u8].as_slice()), Err(BundleError::Truncated)));
        assert_eq!(read_varint(&mut [].as_slice()).unwrap(), None);
    }

    #[test]
    fn blocks_round_trip_with_their_roots() {
        let blocks = sample();
        let bytes = archive(&blocks, &blocks[0].0);
        let mut reader = CarReader::new(bytes.as_slice()).unwrap();
        assert_eq!(reader.roots(), &[blocks[0].0]);
        for (cid, data) in &blocks {
            assert_eq!(reader.next_block().unwrap(), Some((*cid, data.clone())));
        }
        assert_eq!(reader.next_block().unwrap(), None);
        assert_eq!(reader.blocks_read(), 2);
    }

    #[test]
    fn a_changed_byte_in_a_block_is_caught_by_its_cid() {
        let blocks = sample();
        let mut bytes = archive(&blocks, &blocks[0].0);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let mut reader = CarReader::new(bytes.as_slice()).unwrap();
        reader.next_block().unwrap();
        assert!(matches!(reader.next_block(), Err(BundleError::CidMismatch { .. })));
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_short_archive() {
        let blocks = sample();
        let bytes = archive(&blocks, &blocks[0].0);
        let header_end = 1 + bytes[0] as usize;
        for cut in 1..bytes.len() {
            let result = CarReader::new(&bytes[..cut]).and_then(|mut r| {
                while r.next_block()?.is_some() {}
                Ok(r.blocks_read())
            });
            // Cutting exactly at a block boundary leaves a shorter, valid archive: the
            // manifest's counts catch that one (see the bundle reader).
            let boundary = cut == header_end || result.as_ref().is_ok_and(|n| *n == 1);
            assert!(result.is_err() || boundary, "cut at {cut} gave {result:?}");
        }
    }

    #[test]
    fn other_versions_and_hashes_are_refused() {
        let header = serde_ipld_dagcbor::to_vec(&serde_json::json!({"roots": [], "version": 2})).unwrap();
        let mut bytes = vec![header.len() as u8];
        bytes.extend(header);
        assert!(matches!(CarReader::new(bytes.as_slice()), Err(BundleError::UnsupportedVersion { found: 2, .. })));
        let data = b"x";
        let identity = Cid::new_v1(RAW, cid::multihash::Multihash::<64>::wrap(0x00, data).unwrap());
        assert!(matches!(check_block(&identity, data), Err(BundleError::Malformed(_))));
        let huge = [0xffu8, 0xff, 0xff, 0xff, 0x0f];
        assert!(CarReader::new(huge.as_slice()).is_err());
    }

    /// Found by the `car_reader` fuzz target (docs/fuzzing.md): a header whose root link
    /// holds a CID followed by other bytes was read as that CID, so two archives with
    /// different bytes read the same.
    #[test]
    fn a_header_is_read_only_in_its_canonical_form() {
        let root = cid_of(DAG_CBOR, b"root");
        let canonical = archive(&[], &root);
        assert_eq!(CarReader::new(canonical.as_slice()).unwrap().roots(), &[root]);
        let header = |link: &[u8]| {
            let mut h = vec![0xa2, 0x65];
            h.extend_from_slice(b"roots");
            h.extend_from_slice(&[0x81, 0xd8, 0x2a, 0x58, link.len() as u8 + 1, 0x00]);
            h.extend_from_slice(link);
            h.push(0x67);
            h.extend_from_slice(b"version");
            h.push(0x01);
            let mut car = vec![h.len() as u8];
            car.extend(h);
            car
        };
        assert_eq!(header(&root.to_bytes()), canonical, "the hand-made header is the writer's");
        let mut trailing = root.to_bytes();
        trailing.extend_from_slice(b"xyz");
        let bytes = header(&trailing);
        let result = CarReader::new(bytes.as_slice());
        assert!(matches!(result, Err(BundleError::Malformed(ref m)) if m.contains("canonical")), "{result:?}");
        // Keys out of canonical order (version before roots).
        let mut reordered = vec![0xa2, 0x67];
        reordered.extend_from_slice(b"version");
        reordered.extend_from_slice(&[0x01, 0x65]);
        reordered.extend_from_slice(b"roots");
        reordered.extend_from_slice(&[0x81, 0xd8, 0x2a, 0x58, 37, 0x00]);
        reordered.extend_from_slice(&root.to_bytes());
        let mut car = vec![reordered.len() as u8];
        car.extend(reordered);
        assert!(CarReader::new(car.as_slice()).is_err(), "a header with its keys out of order");
    }
}
