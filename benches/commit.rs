//! A single command committed durably, vs a raw single-row insert with the same pragmas.
//!
//! * ours: `Vault::execute(AddPerson)` on an open vault (a real file in `target/tmp`, WAL,
//!   `synchronous = FULL`) holding an organization and a unit: one IMMEDIATE transaction that
//!   decides, lifts (1 domain event, 2 graph events), records blocks, outbox rows and read
//!   models, and commits.
//! * raw: on a connection to another file in the same directory with the same pragmas
//!   (`journal_mode = WAL`, `synchronous = FULL`, `foreign_keys = ON`, same busy timeout),
//!   `BEGIN IMMEDIATE; INSERT INTO t (bytes) VALUES (?); COMMIT` of one row holding a blob as
//!   large as one of our domain event blocks, with a prepared statement.
//!
//! Both are dominated by the `fsync` of the WAL at commit; the ratio says how much our extra
//! rows and work cost on top of it.

mod common;

use cim_keys::app::{Vault, new_id};
use cim_keys::domain::{Command, OrgId, PersonId, UnitId};
use common::{Mode, black_box, interleave, raw_connection, report, temp_dir, time};

fn main() {
    let mode = Mode::from_args();
    let rounds = mode.pick(21, 3);
    let per_round = mode.pick(20, 2);

    let dir = temp_dir();
    println!("commit: vaults in {}", dir.path().display());
    let mut vault = Vault::init_with_kdf(
        &dir.path().join("vault"),
        &common::passphrase(),
        cim_keys::crypto::keystore::KdfParams::MINIMUM,
    )
    .expect("vault init");
    let org = OrgId::from_uuid(new_id());
    let unit = UnitId::from_uuid(new_id());
    vault
        .execute_all(vec![
            Command::CreateOrganization { id: org, name: "Bench Org".into(), domain: None },
            Command::CreateUnit { id: unit, org, parent: None, name: "Unit".into() },
        ])
        .expect("seed");
    let mut n = 0u64;
    let mut person = move || {
        n += 1;
        Command::AddPerson {
            id: PersonId::from_uuid(new_id()),
            org,
            name: format!("Person {n}"),
            email: format!("person{n}@bench.example"),
            units: vec![unit],
        }
    };
    // One command first, to size the raw row like one of our domain event blocks.
    vault.execute(person()).expect("first command");
    let block_len: i64 = {
        let conn = rusqlite::Connection::open(dir.path().join("vault").join("vault.sqlite")).expect("read vault");
        conn.query_row("SELECT length(bytes) FROM domain_events ORDER BY seq DESC LIMIT 1", [], |r| r.get(0))
            .expect("block length")
    };
    let payload = vec![0xa5u8; usize::try_from(block_len).unwrap_or(400)];

    let mut raw_conn = raw_connection(&dir.path().join("raw.sqlite"));
    raw_conn.execute_batch("CREATE TABLE t (seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL)").expect("raw table");

    let ours = || {
        let commands: Vec<Command> = (0..per_round).map(|_| person()).collect();
        let (elapsed, ()) = time(|| {
            for command in commands {
                black_box(vault.execute(command).expect("command commits"));
            }
        });
        elapsed.as_secs_f64() / per_round as f64
    };
    let raw = || {
        let (elapsed, ()) = time(|| {
            for _ in 0..per_round {
                let tx =
                    raw_conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).expect("raw begin");
                tx.prepare_cached("INSERT INTO t (bytes) VALUES (?1)")
                    .and_then(|mut s| s.execute([&payload]))
                    .expect("raw insert");
                tx.commit().expect("raw commit");
            }
        });
        elapsed.as_secs_f64() / per_round as f64
    };
    let samples = interleave(rounds, ours, raw);
    let verdict = report(mode, "commit", "commit", &samples, 0.5);
    println!("    raw = one {block_len}-byte row INSERT in its own IMMEDIATE transaction, same pragmas, same disk");
    common::finish(mode, &[verdict]);
}
