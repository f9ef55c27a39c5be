//! A command producing 10,000 events in one transaction, vs raw batched inserts of the same rows.
//!
//! * ours: `Vault::execute_all` of 10,000 `AddPerson` commands (each in one unit) on a vault
//!   holding an organization and a unit: one IMMEDIATE transaction; 10,000 domain events,
//!   20,000 graph events with their blocks and chain links, 20,000 outbox rows and the read
//!   models (`aggregates`, `people`, `person_units`, the organization's kept counts), decided and validated one by one.
//! * raw: the very rows ours wrote (captured once, before timing, from a vault that ran the same
//!   commands), held in memory as SQLite values, inserted into a copy of the same seeded
//!   database (same schema, indexes, foreign keys and pragmas) table by table with prepared
//!   statements in one IMMEDIATE transaction, plus the same `vault` row update, then committed.
//!   Raw does no deciding, projecting, encoding or hashing.
//!
//! Each round starts from a fresh copy of the same seeded database file (copying is not timed).

mod common;

use cim_keys::app::{Vault, new_id};
use cim_keys::domain::{Command, OrgId, PersonId, UnitId};
use cim_keys::store::DATABASE_FILE;
use common::{Mode, black_box, copy_vault, interleave, raw_connection, report, temp_dir, time};
use rusqlite::types::Value;

/// One table's rows to insert.
struct TableRows {
    insert: &'static str,
    rows: Vec<Vec<Value>>,
}

fn capture(conn: &rusqlite::Connection, select: &str, insert: &'static str) -> TableRows {
    let mut stmt = conn.prepare(select).expect("capture select");
    let columns = stmt.column_count();
    let rows = stmt
        .query_map([], |r| (0..columns).map(|i| r.get::<_, Value>(i)).collect::<Result<Vec<_>, _>>())
        .expect("capture query")
        .collect::<Result<Vec<_>, _>>()
        .expect("capture rows");
    TableRows { insert, rows }
}

fn main() {
    let mode = Mode::from_args();
    let size = mode.pick(10_000, 100);
    let rounds = mode.pick(11, 3);

    let dir = temp_dir();
    println!("batch: vaults in {}", dir.path().display());

    // The seeded template: an organization and a unit.
    let template = dir.path().join("template");
    let org = OrgId::from_uuid(new_id());
    let unit = UnitId::from_uuid(new_id());
    {
        let mut vault =
            Vault::init_with_kdf(&template, &common::passphrase(), cim_keys::crypto::keystore::KdfParams::MINIMUM)
                .expect("vault init");
        vault
            .execute_all(vec![
                Command::CreateOrganization { id: org, name: "Bench Org".into(), domain: None },
                Command::CreateUnit { id: unit, org, parent: None, name: "Unit".into() },
            ])
            .expect("seed");
    }
    let (seed_domain, seed_graph): (i64, i64) = rusqlite::Connection::open(template.join(DATABASE_FILE))
        .and_then(|c| c.query_row("SELECT domain_events, graph_events FROM vault", [], |r| Ok((r.get(0)?, r.get(1)?))))
        .expect("seed counts");

    let commands: Vec<Command> = (0..size)
        .map(|n| Command::AddPerson {
            id: PersonId::from_uuid(new_id()),
            org,
            name: format!("Person {n}"),
            email: format!("person{n}@bench.example"),
            units: vec![unit],
        })
        .collect();

    // Capture the rows ours writes for these commands.
    let captured = dir.path().join("captured");
    copy_vault(&template, &captured);
    Vault::open(&captured).expect("open copy").execute_all(commands.clone()).expect("capture run");
    let (tables, vault_row) = {
        let conn = rusqlite::Connection::open(captured.join(DATABASE_FILE)).expect("open capture");
        let tables = vec![
            capture(
                &conn,
                &format!(
                    "SELECT event_id, cid, event_type, aggregate_type, aggregate_id, version, correlation_id, \
                     causation_id, occurred_at, bytes FROM domain_events WHERE seq > {seed_domain} ORDER BY seq"
                ),
                "INSERT INTO domain_events (event_id, cid, event_type, aggregate_type, aggregate_id, version, \
                 correlation_id, causation_id, occurred_at, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            ),
            capture(
                &conn,
                &format!(
                    "SELECT event_id, cid, prev_cid, domain_seq, event_type, context_id, bytes FROM graph_events \
                     WHERE seq > {seed_graph} ORDER BY seq"
                ),
                "INSERT INTO graph_events (event_id, cid, prev_cid, domain_seq, event_type, context_id, bytes) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            ),
            capture(
                &conn,
                &format!("SELECT graph_seq FROM outbox WHERE graph_seq > {seed_graph} ORDER BY graph_seq"),
                "INSERT INTO outbox (graph_seq) VALUES (?1)",
            ),
            capture(
                &conn,
                "SELECT id, kind, org_id, version FROM aggregates WHERE kind = 'person'",
                "INSERT INTO aggregates (id, kind, org_id, version) VALUES (?1, ?2, ?3, ?4)",
            ),
            capture(
                &conn,
                "SELECT id, org_id, name, email, email_key, created_at FROM people",
                "INSERT INTO people (id, org_id, name, email, email_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            ),
            capture(
                &conn,
                "SELECT person_id, unit_id FROM person_units",
                "INSERT INTO person_units (person_id, unit_id) VALUES (?1, ?2)",
            ),
            capture(
                &conn,
                "SELECT org_id, units, people, roles FROM org_counts",
                "INSERT OR REPLACE INTO org_counts (org_id, units, people, roles) VALUES (?1, ?2, ?3, ?4)",
            ),
        ];
        let vault_row = capture(
            &conn,
            "SELECT head_cid, domain_events, graph_events, pending FROM vault",
            "UPDATE vault SET head_cid = ?1, domain_events = ?2, graph_events = ?3, pending = ?4 WHERE singleton = 1",
        );
        (tables, vault_row)
    };
    let domain_events = tables[0].rows.len();
    let graph_events = tables[1].rows.len();
    let total_rows: usize = tables.iter().map(|t| t.rows.len()).sum();
    println!("batch: {size} commands -> {domain_events} domain events, {graph_events} graph events, {total_rows} rows");
    assert_eq!(domain_events, size, "one domain event per command");

    let ours = || {
        let path = dir.path().join("ours");
        copy_vault(&template, &path);
        let mut vault = Vault::open(&path).expect("open copy");
        let batch = commands.clone();
        let (elapsed, receipt) = time(|| vault.execute_all(batch).expect("batch commits"));
        assert_eq!(receipt.events.len(), size);
        black_box(receipt);
        elapsed.as_secs_f64()
    };
    let mut checked = false;
    let raw = || {
        let path = dir.path().join("raw");
        copy_vault(&template, &path);
        let mut conn = raw_connection(&path.join(DATABASE_FILE));
        let (elapsed, ()) = time(|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).expect("raw begin");
            for table in tables.iter().chain([&vault_row]) {
                let mut stmt = tx.prepare(table.insert).expect("raw prepare");
                for row in &table.rows {
                    stmt.execute(rusqlite::params_from_iter(row.iter())).expect("raw insert");
                }
            }
            tx.commit().expect("raw commit");
        });
        drop(conn);
        if !checked {
            // The raw rows make a vault that verifies: they really are the same rows.
            let report = Vault::open(&path).and_then(|v| v.verify(true)).expect("raw vault opens");
            assert!(report.ok(), "raw copy verifies: {:?}", report.problem);
            assert_eq!(report.graph_events as usize, graph_events + seed_graph as usize);
            checked = true;
        }
        elapsed.as_secs_f64()
    };
    let samples = interleave(rounds, ours, raw);
    let verdict = report(mode, "batch", &format!("{size}-command transaction"), &samples, 0.3);
    println!(
        "    per domain event: ours {}, raw {}; raw = the same {total_rows} rows, prepared inserts, one transaction",
        common::fmt_secs(samples.ours() / size as f64),
        common::fmt_secs(samples.raw() / size as f64),
    );
    common::finish(mode, &[verdict]);
}
