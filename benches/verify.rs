//! `verify` of 100,000 events vs a raw hash loop over the same bytes.
//!
//! The vault is built once per run: an organization, 10 units and people in one unit each,
//! 100,000 domain events in all (about 200,000 graph events). "Events" counts domain events;
//! every block of both tables is hashed by ours and by both baselines.
//!
//! * ours: `Vault::verify` on the open vault — reads every domain and graph event row in
//!   sequence order, recomputes each block's CIDv1 (SHA2-256), decodes each graph block's
//!   `prev` and `source` links and checks them, then checks the `vault` row.
//! * raw, from SQLite (the primary baseline): on a second connection to the same file,
//!   `SELECT bytes FROM domain_events ORDER BY seq` and the same for `graph_events`, SHA2-256
//!   of each blob as it is stepped over (no copy, no CID parsing, no decoding, no checks).
//! * raw, in memory (the strictest baseline): SHA2-256 of each of the same blobs, loaded into
//!   memory before timing — no SQLite at all.

mod common;

use cim_keys::store::DATABASE_FILE;
use common::{Mode, black_box, build_vault, interleave, report_labelled, temp_dir, time};
use sha2::{Digest, Sha256};

fn main() {
    let mode = Mode::from_args();
    let size = mode.pick(100_000, 200);
    let rounds = mode.pick(9, 3);

    let dir = temp_dir();
    println!("verify: vault in {}", dir.path().display());
    let vault = build_vault(&dir.path().join("vault"), size);
    let conn = rusqlite::Connection::open(dir.path().join("vault").join(DATABASE_FILE)).expect("raw connection");

    let blobs: Vec<Vec<u8>> = ["domain_events", "graph_events"]
        .iter()
        .flat_map(|table| {
            let mut stmt = conn.prepare(&format!("SELECT bytes FROM {table} ORDER BY seq")).expect("select");
            stmt.query_map([], |r| r.get::<_, Vec<u8>>(0)).expect("query").collect::<Result<Vec<_>, _>>().expect("rows")
        })
        .collect();
    let blocks = blobs.len();
    let bytes: usize = blobs.iter().map(Vec::len).sum();
    println!("verify: {blocks} blocks, {bytes} bytes");

    let ours = || {
        let (elapsed, report) = time(|| vault.verify(false).expect("verify runs"));
        assert!(report.ok(), "the vault verifies: {:?}", report.problem);
        assert_eq!((report.domain_events + report.graph_events) as usize, blocks);
        elapsed.as_secs_f64() / size as f64
    };
    let raw_sqlite = || {
        let (elapsed, hashed) = time(|| {
            let mut hashed = 0usize;
            for table in ["domain_events", "graph_events"] {
                let mut stmt = conn.prepare_cached(&format!("SELECT bytes FROM {table} ORDER BY seq")).expect("select");
                let mut rows = stmt.query([]).expect("query");
                while let Some(row) = rows.next().expect("row") {
                    black_box(Sha256::digest(row.get_ref(0).and_then(|v| Ok(v.as_blob()?)).expect("blob")));
                    hashed += 1;
                }
            }
            hashed
        });
        assert_eq!(hashed, blocks);
        elapsed.as_secs_f64() / size as f64
    };
    let samples = interleave(rounds, ours, raw_sqlite);
    let v1 = report_labelled(mode, "verify (vs SQLite read + hash)", "event", &samples, 0.5, "ours", "raw", "raw/ours");
    println!("    raw = SELECT bytes ... ORDER BY seq on both tables + SHA2-256 of each blob; {blocks} blocks");

    let raw_memory = || {
        let (elapsed, ()) = time(|| {
            for blob in &blobs {
                black_box(Sha256::digest(black_box(blob)));
            }
        });
        elapsed.as_secs_f64() / size as f64
    };
    let ours = || {
        let (elapsed, report) = time(|| vault.verify(false).expect("verify runs"));
        assert!(report.ok());
        elapsed.as_secs_f64() / size as f64
    };
    let samples = interleave(rounds, ours, raw_memory);
    let v2 = report_labelled(mode, "verify (vs in-memory hash)", "event", &samples, 0.5, "ours", "raw", "raw/ours");
    println!("    raw = SHA2-256 of the same {blocks} blobs already in memory ({bytes} bytes)");
    common::finish(mode, &[v1, v2]);
}
