//! Export and import of 100,000 graph events vs the raw cost of the same bytes in the same run.
//!
//! The source vault is built once per run (an organization, 10 units and 49,990 people in one
//! unit each: 50,001 domain events, 100,001 graph events — "events" here counts graph events,
//! what `status` counts and sync uploads). Bundles are encrypted to an X25519 recipient, so the
//! passphrase KDF (scrypt) is not measured; the vaults use `KdfParams::MINIMUM`.
//!
//! * **export, ours:** `Vault::export_bundle` of the whole history into a fresh directory:
//!   unlock (minimum KDF) and the device key, a snapshot of the vault, the CAR archive written
//!   through age into a temporary file (with its plaintext re-derived and checked on a second
//!   thread), `fsync`, rename, directory `fsync`, the file read back and hashed, the export
//!   recorded, the public manifest written beside it.
//! * **export, raw:** the same blocks — the manifest block of an earlier export, then every
//!   domain event block, the artifact blocks it introduces and its graph event blocks, in
//!   history order, read from the vault once before timing — written with
//!   `cim_keys::bundle::car::CarWriter` through a 256 KiB `BufWriter` into
//!   `age::Encryptor::with_recipients(..).wrap_output(File)` for the same recipient, then
//!   `finish` and `sync_all`. So raw is CAR writing + age encryption + writing the same bytes to
//!   a file with `fsync`. Before timing, the raw archive is checked to be byte for byte the
//!   plaintext of our bundle.
//! * **import, ours:** `Vault::import_bundle` of one bundle made by ours into a fresh copy of an
//!   empty initialized vault (copied before timing): decrypt, check the manifest's signature,
//!   re-derive every block on a reading thread, apply the read models and append the blocks on
//!   this one, commit (one transaction, WAL `fsync`, automatic checkpoint).
//! * **import, raw:** age decryption of the same file (64 KiB `BufReader` under
//!   `age::Decryptor::new`, 256 KiB `BufReader` over its plaintext, as ours) and reading the
//!   CAR with `CarReader::next_block`: every block's varint, CID and bytes, each block hashed
//!   (SHA2-256) and compared with its CID. Printed for scale in the same rounds: the same with
//!   `next_raw` (no hashing).
//! * **for scale, not judged:** inserting the rows the import wrote (captured once from an
//!   imported vault) into a fresh copy of the empty vault, table by table with prepared
//!   statements in one IMMEDIATE transaction (foreign keys deferred to the commit), same
//!   pragmas as a vault, then commit — about the least SQLite work an import can do.
//!
//! Target (issue 5): ratio raw/ours >= 0.3 each way.

mod common;

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use cim_keys::app::Vault;
use cim_keys::bundle::car::{CarReader, CarWriter};
use cim_keys::bundle::{Seal, Unseal};
use cim_keys::projection::{Cid, decode_domain_event, parse_cid};
use cim_keys::store::DATABASE_FILE;
use common::{Mode, black_box, build_vault, copy_vault, fmt_secs, interleave, median, report, temp_dir, time};
use rusqlite::types::Value;

/// Buffer sizes ours uses: under the decryptor, and between the CAR and age layers.
const FILE_BUFFER: usize = 64 * 1024;
const CAR_BUFFER: usize = 256 * 1024;

fn main() {
    let mode = Mode::from_args();
    // 50,001 domain events -> 100,001 graph events (quick: 151 -> 301).
    let domain_events = mode.pick(50_001, 151);
    let rounds = mode.pick(9, 3);

    let dir = temp_dir();
    println!("bundle: vaults and bundles in {}", dir.path().display());
    let source_dir = dir.path().join("source");
    let mut source = build_vault(&source_dir, domain_events);
    let graph_events = source.status().expect("status").graph_events;
    println!("bundle: source vault holds {domain_events} domain events, {graph_events} graph events");

    // The empty vault that imports start from.
    let empty_dir = dir.path().join("empty");
    drop(
        Vault::init_with_kdf(&empty_dir, &common::passphrase(), cim_keys::crypto::keystore::KdfParams::MINIMUM)
            .expect("empty vault init"),
    );

    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public();
    let seal = Seal::Recipients(vec![recipient.clone()]);
    let unseal = Unseal::Identities(vec![Box::new(identity.clone())]);
    let passphrase = common::passphrase();
    let no_cancel = AtomicBool::new(false);

    // One bundle made by ours, untimed: the file every import reads, and the manifest block
    // raw writes first.
    let bundle_dir = dir.path().join("bundle");
    let first =
        source.export_bundle(&passphrase, &bundle_dir, &seal, false, &mut |_| {}, &no_cancel).expect("first export");
    let bundle = first.file.clone().expect("a bundle was written");
    assert_eq!(first.graph, Some((1, graph_events)));
    let ours_plain = decrypt_all(&bundle, &identity);

    // The same blocks, read from the vault once (untimed), in the bundle's order.
    let (head, blocks) = vault_blocks(&source, &ours_plain);
    let block_bytes: usize = blocks.iter().map(|(_, b)| b.len()).sum();
    let raw_plain = car_bytes(&head, &blocks);
    assert!(raw_plain == ours_plain, "raw's CAR archive is byte for byte the plaintext of our bundle");
    println!(
        "bundle: {} blocks (manifest, {} domain, {} artifact, {graph_events} graph), {block_bytes} bytes of blocks, \
         CAR {} bytes, our bundle file {} bytes",
        blocks.len(),
        first.domain.map_or(0, |(a, b)| b + 1 - a),
        first.artifacts,
        raw_plain.len(),
        first.bytes,
    );

    // Export.
    let export_root = dir.path().join("export");
    fs::create_dir_all(&export_root).expect("export dir");
    let mut n = 0usize;
    let mut ours_bytes = 0u64;
    let mut raw_bytes = 0u64;
    let export_ours = || {
        n += 1;
        let out = export_root.join(format!("ours-{n}"));
        let (elapsed, exported) =
            time(|| source.export_bundle(&passphrase, &out, &seal, false, &mut |_| {}, &no_cancel).expect("export"));
        assert_eq!(exported.graph, Some((1, graph_events)));
        ours_bytes = exported.bytes;
        black_box(exported);
        fs::remove_dir_all(&out).expect("remove export");
        elapsed.as_secs_f64()
    };
    let mut m = 0usize;
    let export_raw = || {
        m += 1;
        let out = export_root.join(format!("raw-{m}"));
        fs::create_dir_all(&out).expect("raw export dir");
        let path = out.join("bundle.age");
        let (elapsed, ()) = time(|| raw_export(&path, &recipient, &head, &blocks));
        raw_bytes = fs::metadata(&path).expect("raw file").len();
        fs::remove_dir_all(&out).expect("remove raw export");
        elapsed.as_secs_f64()
    };
    let samples = interleave(rounds, export_ours, export_raw);
    let export = report(mode, "bundle export", &format!("{graph_events}-event export"), &samples, 0.3);
    println!(
        "    files: ours {ours_bytes} bytes, raw {raw_bytes} bytes; raw = CarWriter + age (X25519) + write + fsync \
         of the same {} blocks",
        blocks.len()
    );

    // Import: one untimed import first, checked, whose rows the SQLite figure below re-inserts.
    let imported_dir = dir.path().join("imported");
    copy_vault(&empty_dir, &imported_dir);
    {
        let mut vault = Vault::open(&imported_dir).expect("open copy");
        let done = vault.import_bundle(&bundle, &unseal, None, &mut |_| {}, &no_cancel).expect("first import");
        assert_eq!((done.graph_added, done.domain_added), (graph_events, domain_events as u64));
        let report = vault.verify(true).expect("verify");
        assert!(report.ok(), "the imported vault verifies: {:?}", report.problem);
    }
    let import_dir = dir.path().join("import");
    let import_ours = || {
        copy_vault(&empty_dir, &import_dir);
        let mut vault = Vault::open(&import_dir).expect("open copy");
        let (elapsed, done) =
            time(|| vault.import_bundle(&bundle, &unseal, None, &mut |_| {}, &no_cancel).expect("import"));
        assert_eq!(done.graph_added, graph_events);
        black_box(done);
        elapsed.as_secs_f64()
    };
    let mut unhashed = Vec::new();
    let import_raw = || {
        let (elapsed, count) = time(|| raw_import(&bundle, &identity, true));
        assert_eq!(count, blocks.len());
        let (plain, count) = time(|| raw_import(&bundle, &identity, false));
        assert_eq!(count, blocks.len());
        unhashed.push(plain.as_secs_f64());
        elapsed.as_secs_f64()
    };
    let samples = interleave(rounds, import_ours, import_raw);
    unhashed.remove(0); // the warm-up
    let import = report(mode, "bundle import", &format!("{graph_events}-event import"), &samples, 0.3);
    println!(
        "    raw = age decryption (X25519) of the {}-byte file + CarReader::next_block of all {} blocks, each \
         hashed (SHA2-256) against its CID",
        first.bytes,
        blocks.len()
    );
    println!(
        "    for scale: the same without hashing (CarReader::next_raw): {} (median of {} rounds)",
        fmt_secs(median(&unhashed)),
        unhashed.len()
    );
    fs::remove_dir_all(&import_dir).ok();

    // For scale: the rows the import wrote, inserted raw.
    let tables = capture_rows(&empty_dir, &imported_dir);
    let rows: usize = tables.iter().map(|t| t.rows.len()).sum();
    let sql_dir = dir.path().join("sql");
    let mut sql = Vec::new();
    for round in 0..mode.pick(3, 1) {
        copy_vault(&empty_dir, &sql_dir);
        let mut conn = common::raw_connection(&sql_dir.join(DATABASE_FILE));
        // The vault's page cache (`Store` sets 64 MiB; SQLite's default is 2 MiB).
        conn.execute_batch("PRAGMA cache_size = -65536").expect("cache size");
        let (elapsed, ()) = time(|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).expect("raw begin");
            tx.execute_batch("PRAGMA defer_foreign_keys = ON").expect("defer foreign keys");
            for table in &tables {
                let mut stmt = tx.prepare(&table.insert).expect("raw prepare");
                for row in &table.rows {
                    stmt.execute(rusqlite::params_from_iter(row.iter())).expect("raw insert");
                }
            }
            tx.commit().expect("raw commit");
        });
        drop(conn);
        if round == 0 {
            let report = Vault::open(&sql_dir).and_then(|v| v.verify(true)).expect("raw vault opens");
            assert!(report.ok(), "the raw rows make a vault that verifies: {:?}", report.problem);
            assert_eq!(report.graph_events, graph_events);
        }
        sql.push(elapsed.as_secs_f64());
    }
    println!(
        "bundle import, for scale: inserting the {rows} rows it wrote ({} tables) raw into an empty vault, one \
         transaction: {} (median of {} runs, not interleaved)",
        tables.len(),
        fmt_secs(median(&sql)),
        sql.len()
    );
    common::finish(mode, &[export, import]);
}

/// The whole plaintext (CAR archive) of an age file.
fn decrypt_all(path: &Path, identity: &age::x25519::Identity) -> Vec<u8> {
    let decryptor = age::Decryptor::new(BufReader::new(File::open(path).expect("bundle opens"))).expect("age file");
    let mut reader = decryptor.decrypt(std::iter::once(identity as &dyn age::Identity)).expect("decrypts");
    let mut plain = Vec::new();
    reader.read_to_end(&mut plain).expect("reads");
    plain
}

/// The CAR root and the blocks of a bundle of the whole history: the manifest block (taken from
/// `ours_plain`, the plaintext of a bundle ours wrote: it is signed and dated), then what the
/// vault holds, read through a snapshot — each domain event block, the artifact blocks it
/// introduces, its graph event blocks.
fn vault_blocks(vault: &Vault, ours_plain: &[u8]) -> (Cid, Vec<(Cid, Vec<u8>)>) {
    let mut car = CarReader::new(ours_plain).expect("our CAR archive");
    let manifest = car.next_block().expect("manifest block").expect("a manifest");
    let snapshot = vault.store().snapshot().expect("snapshot");
    let range = snapshot.range_after(0).expect("range").expect("a history");
    assert_eq!(car.roots(), [range.head]);
    let mut blocks = vec![manifest];
    let mut seen = std::collections::HashSet::new();
    snapshot
        .each_event(&range, |event| -> Result<(), cim_keys::store::StoreError> {
            let envelope = decode_domain_event(&event.bytes).expect("domain event decodes");
            blocks.push((event.cid, event.bytes));
            for (_, text) in envelope.event.artifacts() {
                let cid = parse_cid(text).expect("artifact CID");
                if seen.insert(cid) {
                    blocks.push((cid, snapshot.artifact(&cid)?.expect("artifact stored")));
                }
            }
            blocks.extend(event.graph);
            Ok(())
        })
        .expect("read the history");
    (range.head, blocks)
}

/// A CAR v1 archive of `blocks` in memory.
fn car_bytes(root: &Cid, blocks: &[(Cid, Vec<u8>)]) -> Vec<u8> {
    let mut car = CarWriter::new(Vec::new(), std::slice::from_ref(root)).expect("CAR header");
    for (cid, bytes) in blocks {
        car.block(cid, bytes).expect("CAR block");
    }
    car.into_inner()
}

/// Raw export: CAR through age into a new file, finished and synced.
fn raw_export(path: &Path, recipient: &age::x25519::Recipient, root: &Cid, blocks: &[(Cid, Vec<u8>)]) {
    let file = File::create_new(path).expect("raw file");
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient)).expect("encryptor");
    let encrypted = encryptor.wrap_output(file).expect("age header");
    let mut car = CarWriter::new(BufWriter::with_capacity(CAR_BUFFER, encrypted), std::slice::from_ref(root))
        .expect("CAR header");
    for (cid, bytes) in blocks {
        car.block(cid, bytes).expect("CAR block");
    }
    let encrypted = car.into_inner().into_inner().map_err(|e| e.into_error()).expect("flush");
    let file = encrypted.finish().expect("age finish");
    file.sync_all().expect("fsync");
}

/// Raw import: decrypt and read every block (hashed against its CID if `check`); the count.
fn raw_import(path: &PathBuf, identity: &age::x25519::Identity, check: bool) -> usize {
    let file = BufReader::with_capacity(FILE_BUFFER, File::open(path).expect("bundle opens"));
    let decryptor = age::Decryptor::new(file).expect("age file");
    let plain = decryptor.decrypt(std::iter::once(identity as &dyn age::Identity)).expect("decrypts");
    let mut car = CarReader::new(BufReader::with_capacity(CAR_BUFFER, plain)).expect("CAR header");
    let mut count = 0;
    loop {
        let block = if check { car.next_block() } else { car.next_raw() };
        match block.expect("block") {
            Some(block) => {
                black_box(block);
                count += 1;
            }
            None => return count,
        }
    }
}

/// One table's rows to insert.
struct TableRows {
    insert: String,
    rows: Vec<Vec<Value>>,
}

/// The rows an import added: every table empty in the empty vault and not in the imported one,
/// in schema order, plus the `vault` row's update. Any other difference is refused.
fn capture_rows(empty: &Path, imported: &Path) -> Vec<TableRows> {
    let before = rusqlite::Connection::open(empty.join(DATABASE_FILE)).expect("open empty");
    let after = rusqlite::Connection::open(imported.join(DATABASE_FILE)).expect("open imported");
    let names: Vec<String> = after
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
        .expect("tables")
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("tables");
    let all = |conn: &rusqlite::Connection, select: &str| -> Vec<Vec<Value>> {
        let mut stmt = conn.prepare(select).expect("select");
        let columns = stmt.column_count();
        stmt.query_map([], |r| (0..columns).map(|i| r.get::<_, Value>(i)).collect::<Result<Vec<_>, _>>())
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    let mut tables = Vec::new();
    for name in names {
        let select = format!("SELECT * FROM \"{name}\"");
        let (old, new) = (all(&before, &select), all(&after, &select));
        if old == new {
            continue;
        }
        if name == "vault" {
            let select = "SELECT head_cid, domain_events, graph_events, pending FROM vault";
            tables.push(TableRows {
                insert: "UPDATE vault SET head_cid = ?1, domain_events = ?2, graph_events = ?3, pending = ?4 \
                         WHERE singleton = 1"
                    .into(),
                rows: all(&after, select),
            });
            continue;
        }
        assert!(old.is_empty(), "the import changed rows of {name}, which held rows before");
        let columns = new[0].len();
        let params = (1..=columns).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        tables.push(TableRows { insert: format!("INSERT INTO \"{name}\" VALUES ({params})"), rows: new });
    }
    // The vault row last, as the import's commit does.
    tables.sort_by_key(|t| t.insert.starts_with("UPDATE vault"));
    tables
}
