#!/usr/bin/env python3
"""An independent reader of cim-keys bundle archives (CAR v1), for the interop tests.

It shares no code with cim-keys: it parses the CAR framing itself, recomputes every block's
CID with the PyPI package `multiformats`, decodes DAG-CBOR with `dag-cbor`, and checks the
bundle's structure as docs/formats/graph-events.md and the bundle format describe it:

* the header is `{roots: [one CID], version: 1}`;
* every block's CID is CIDv1, sha2-256, dag-cbor or raw, and equals the CID recomputed from
  the block's bytes; every DAG-CBOR block decodes and re-encodes to the same bytes (canonical);
* block 1 is the manifest block `{manifest: bytes, signature: bytes}`; the inner manifest
  decodes; its head is the header's root; its Ed25519 signature over
  b"cim-keys bundle manifest v1\\n" + manifest bytes is checked with `openssl` when it is on
  PATH (else reported as "unchecked");
* then, per domain event: its block, the raw artifact blocks, its graph event blocks, each
  graph event's `source` being that domain event and its `prev` the graph event before it
  (the first one's `prev` is the manifest's base);
* following `prev` from the head back to the base visits every graph event block once;
* the counts of domain events, graph events and artifacts are the manifest's.

Usage: read_car.py [FILE]   (stdin when FILE is absent or "-")

On success it prints one JSON document (a summary) on stdout and exits 0; on any mismatch it
prints "read_car.py: <what is wrong>" on stderr and exits 1.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import dag_cbor
from multiformats import CID, multihash, varint

SIGNING_CONTEXT = b"cim-keys bundle manifest v1\n"
DAG_CBOR = "dag-cbor"
RAW = "raw"
GRAPH_EVENT_KEYS = {"v", "at", "id", "data", "prev", "type", "device", "source", "context", "causation", "correlation"}
DOMAIN_EVENT_KEYS = {
    "v", "at", "id", "data", "type", "device", "schema", "version", "aggregate", "causation", "correlation",
    "aggregate_type",
}
MANIFEST_KEYS = {
    "format", "v", "vault", "device", "signer", "head", "base", "graph", "domain", "artifacts", "created_at",
}


class Invalid(Exception):
    """The archive is not what it should be."""


def read_varint(data, pos, what):
    """An unsigned LEB128 varint at data[pos:]; returns (value, next position)."""
    if pos >= len(data):
        raise Invalid(f"{what}: the archive ends where a length should be")
    try:
        value, length, _ = varint.decode_raw(data[pos:pos + 10])
    except ValueError as e:
        raise Invalid(f"{what}: malformed varint ({e})") from e
    return value, pos + length


def split_cid(section, what):
    """Splits a block section into (CID, data): the CID is version, codec and a multihash."""
    if len(section) >= 2 and section[0] == 0x12 and section[1] == 0x20:
        raise Invalid(f"{what}: a CIDv0, cim-keys writes only CIDv1")
    pos = 0
    version, pos = read_varint(section, pos, what)
    if version != 1:
        raise Invalid(f"{what}: CID version {version}, expected 1")
    _codec, pos = read_varint(section, pos, what)
    _hash_code, pos = read_varint(section, pos, what)
    digest_len, pos = read_varint(section, pos, what)
    end = pos + digest_len
    if end > len(section):
        raise Invalid(f"{what}: the CID's digest runs past the block")
    try:
        cid = CID.decode(bytes(section[:end]))
    except Exception as e:  # noqa: BLE001 (any decoding failure is a malformed CID)
        raise Invalid(f"{what}: malformed CID ({e})") from e
    return cid, bytes(section[end:])


def recomputed(cid, data):
    """The CID `data` has under `cid`'s codec and hash function, computed here."""
    digest = multihash.digest(data, cid.hashfun.name)
    return CID("base32", 1, cid.codec, digest)


def text(cid):
    """A CID in cim-keys' text form (base32 multibase)."""
    return None if cid is None else str(cid.set(base="base32"))


def decode_dag_cbor(data, what):
    try:
        value = dag_cbor.decode(data)
    except Exception as e:  # noqa: BLE001
        raise Invalid(f"{what}: not DAG-CBOR ({e})") from e
    if dag_cbor.encode(value) != data:
        raise Invalid(f"{what}: DAG-CBOR not in canonical form (re-encoding changes its bytes)")
    return value


def verify_signature(signer, message, signature):
    """Checks an Ed25519 signature with the openssl command-line tool; None without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    # SubjectPublicKeyInfo of an Ed25519 key (RFC 8410): a fixed prefix and the 32 key bytes.
    spki = bytes.fromhex("302a300506032b6570032100") + signer
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: os.path.join(tmp, name) for name in ("key.der", "message", "signature")}
        for name, content in (("key.der", spki), ("message", message), ("signature", signature)):
            with open(paths[name], "wb") as f:
                f.write(content)
        result = subprocess.run(
            [openssl, "pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", paths["key.der"], "-rawin",
             "-in", paths["message"], "-sigfile", paths["signature"]],
            capture_output=True, check=False,
        )
    return result.returncode == 0


def plain(value):
    """A decoded DAG-CBOR value as JSON: CIDs as text, bytes as hex."""
    if isinstance(value, CID):
        return text(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def read_blocks(data):
    """The CAR header and every block as (index, CID, bytes), each CID recomputed."""
    length, pos = read_varint(data, 0, "the header")
    if length == 0 or pos + length > len(data):
        raise Invalid(f"the header claims {length} bytes, the archive has {len(data) - pos} after its length")
    header = decode_dag_cbor(bytes(data[pos:pos + length]), "the header")
    pos += length
    if not isinstance(header, dict) or set(header) != {"roots", "version"}:
        raise Invalid(f"the header is not {{roots, version}}: {plain(header)}")
    if header["version"] != 1:
        raise Invalid(f"CAR version {header['version']}, expected 1")
    roots = header["roots"]
    if not isinstance(roots, list) or not all(isinstance(r, CID) for r in roots):
        raise Invalid("the header's roots are not a list of CIDs")
    blocks = []
    while pos < len(data):
        index = len(blocks) + 1
        what = f"block #{index}"
        length, pos = read_varint(data, pos, what)
        if length == 0 or pos + length > len(data):
            raise Invalid(f"{what} claims {length} bytes, {len(data) - pos} are left")
        cid, block = split_cid(data[pos:pos + length], what)
        pos += length
        if cid.version != 1 or cid.hashfun.name != "sha2-256" or cid.codec.name not in (DAG_CBOR, RAW):
            raise Invalid(f"{what}: {text(cid)} is not CIDv1 sha2-256 dag-cbor/raw")
        actual = recomputed(cid, block)
        if actual != cid:
            raise Invalid(f"{what}: stated CID {text(cid)} but its bytes hash to {text(actual)}")
        blocks.append((index, cid, block))
    return roots, blocks


def read_bundle(data):
    roots, blocks = read_blocks(data)
    if len(roots) != 1:
        raise Invalid(f"the header names {len(roots)} roots, a bundle has exactly one (its head)")
    if not blocks:
        raise Invalid("the archive holds no block (no manifest)")

    # Block 1: the signed manifest.
    _, manifest_cid, manifest_block = blocks[0]
    if manifest_cid.codec.name != DAG_CBOR:
        raise Invalid("block #1 (the manifest) is not DAG-CBOR")
    signed = decode_dag_cbor(manifest_block, "the manifest block")
    if not isinstance(signed, dict) or set(signed) != {"manifest", "signature"}:
        raise Invalid(f"the manifest block is not {{manifest, signature}}: keys {sorted(signed)}")
    if not isinstance(signed["manifest"], bytes) or not isinstance(signed["signature"], bytes):
        raise Invalid("the manifest block's fields are not byte strings")
    if len(signed["signature"]) != 64:
        raise Invalid(f"the signature has {len(signed['signature'])} bytes, not 64")
    manifest = decode_dag_cbor(signed["manifest"], "the manifest")
    if not isinstance(manifest, dict) or set(manifest) != MANIFEST_KEYS:
        raise Invalid(f"the manifest's fields are {sorted(manifest)}, expected {sorted(MANIFEST_KEYS)}")
    if manifest["format"] != "cim-keys-bundle" or manifest["v"] != 1:
        raise Invalid(f"the manifest is format {manifest['format']!r} v{manifest['v']}, not cim-keys-bundle v1")
    signer = manifest["signer"]
    if not isinstance(signer, bytes) or len(signer) != 32:
        raise Invalid("the manifest's signer is not 32 bytes")
    head, base = manifest["head"], manifest["base"]
    if not isinstance(head, CID) or not (base is None or isinstance(base, CID)):
        raise Invalid("the manifest's head or base is not a CID link")
    if roots[0] != head:
        raise Invalid(f"the header's root {text(roots[0])} is not the manifest's head {text(head)}")
    verified = verify_signature(signer, SIGNING_CONTEXT + signed["manifest"], signed["signature"])
    if verified is False:
        raise Invalid("the manifest's Ed25519 signature does not verify (openssl)")

    # Then: per domain event, its block, its artifacts, its graph events.
    by_cid = {}
    domain_events, graph_events, artifacts = [], [], []
    current_domain = None  # CID of the domain event whose artifacts and graph events follow
    previous_graph = base
    for index, cid, block in blocks[1:]:
        what = f"block #{index} ({text(cid)})"
        if cid in by_cid:
            raise Invalid(f"{what} appears twice")
        if cid.codec.name == RAW:
            if current_domain is None or graph_events and graph_events[-1][1] == current_domain:
                raise Invalid(f"{what}: an artifact block that does not follow its domain event")
            artifacts.append(cid)
            by_cid[cid] = block
            continue
        value = decode_dag_cbor(block, what)
        by_cid[cid] = value
        if not isinstance(value, dict):
            raise Invalid(f"{what}: not a map")
        keys = set(value)
        if keys == DOMAIN_EVENT_KEYS:
            if current_domain is not None and not (graph_events and graph_events[-1][1] == current_domain):
                raise Invalid(f"{what}: a domain event follows a domain event that has no graph event")
            current_domain = cid
            domain_events.append(cid)
        elif keys == GRAPH_EVENT_KEYS:
            if value["source"] != current_domain:
                raise Invalid(f"{what}: its source {text(value['source'])} is not the domain event before it")
            if value["prev"] != previous_graph:
                raise Invalid(f"{what}: its prev {text(value['prev'])} is not the graph event before it "
                              f"({text(previous_graph)})")
            previous_graph = cid
            graph_events.append((cid, current_domain))
        else:
            raise Invalid(f"{what}: neither a domain event nor a graph event (keys {sorted(keys)})")
    if current_domain is not None and not (graph_events and graph_events[-1][1] == current_domain):
        raise Invalid("the last domain event has no graph event")

    # The chain, walked backwards from the head as a reader holding only the head would.
    chain = []
    cursor = head
    while cursor != base:
        if cursor is None:
            raise Invalid(f"the chain from the head reaches the start without meeting the base {text(base)}")
        event = by_cid.get(cursor)
        if not isinstance(event, dict) or set(event) != GRAPH_EVENT_KEYS:
            raise Invalid(f"the chain from the head reaches {text(cursor)}, which is no graph event of the archive")
        if event["source"] not in domain_events:
            raise Invalid(f"graph event {text(cursor)} links source {text(event['source'])}, not in the archive")
        chain.append(cursor)
        if len(chain) > len(graph_events):
            raise Invalid("the chain from the head loops")
        cursor = event["prev"]
    chain.reverse()
    if chain != [g for g, _ in graph_events]:
        raise Invalid(f"the chain from the head visits {len(chain)} graph events, the archive holds "
                      f"{len(graph_events)} in another order or number")

    # Artifact CIDs the domain events refer to (as text), all carried by the archive.
    referenced = set()

    def collect(value):
        if isinstance(value, str) and value.startswith("bafkrei"):
            referenced.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    for cid in domain_events:
        collect(by_cid[cid]["data"])
    carried = {text(c) for c in artifacts}

    counts = {
        "domain": manifest["domain"]["last"] - manifest["domain"]["first"] + 1,
        "graph": manifest["graph"]["last"] - manifest["graph"]["first"] + 1,
        "artifacts": manifest["artifacts"],
    }
    found = {"domain": len(domain_events), "graph": len(graph_events), "artifacts": len(artifacts)}
    if counts != found:
        raise Invalid(f"the manifest announces {counts}, the archive holds {found}")

    codecs = {}
    for _, cid, _ in blocks:
        codecs[cid.codec.name] = codecs.get(cid.codec.name, 0) + 1
    return {
        "car_version": 1,
        "roots": [text(r) for r in roots],
        "blocks": len(blocks),
        "codecs": codecs,
        "cids_recomputed": len(blocks),
        "cids": [text(cid) for _, cid, _ in blocks],
        "manifest_cid": text(manifest_cid),
        "manifest": plain(manifest),
        "signature": {True: "verified", None: "unchecked"}[verified],
        "head": text(head),
        "base": text(base),
        "domain_events": len(domain_events),
        "graph_events": len(graph_events),
        "artifacts": len(artifacts),
        "artifacts_referenced": len(referenced),
        "artifacts_referenced_missing": sorted(referenced - carried),
        "chain": [text(c) for c in chain],
    }


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = argv[1] if len(argv) == 2 else "-"
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
        summary = read_bundle(data)
    except (Invalid, OSError) as e:
        print(f"read_car.py: {e}", file=sys.stderr)
        return 1
    json.dump(summary, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
