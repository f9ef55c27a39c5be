//! `nats bootstrap` of an organization with 10 units and 10,000 people, vs a raw loop of
//! ed25519 key generation plus one signature per key.
//!
//! * ours: `Vault::nats_bootstrap(org, &passphrase)` on a fresh copy of a seeded vault (a real
//!   file in `target/tmp`, WAL, `synchronous = FULL`) whose keystore uses the product's KDF
//!   parameters, `KdfParams::DEFAULT` (Argon2id, 64 MiB, 3 passes): the vault holds one
//!   organization, 10 units and 10,000 people, each in one unit, spread evenly. One call does
//!   everything `cim-keys nats bootstrap` does: one unlock (the KDF runs **once**, not per
//!   secret), then the operator (identity key + 1 signing key, JWT self-signed), 12 accounts
//!   (the system account: identity + 1 signing key; the organization account and one account
//!   per unit: identity + 2 signing keys each; JWTs signed by the operator's signing key) and
//!   10,000 users (1 key each, JWT signed by its account's scoped signing key). Every seed comes
//!   from the OS CSPRNG and is sealed (XChaCha20-Poly1305 under the master key), every JWT is
//!   stored as an artifact block (CIDv1, SHA2-256), and the 10,013 commands are decided, lifted
//!   and recorded (domain and graph events, outbox, read models) with the sealed seeds and the
//!   JWTs in one IMMEDIATE transaction, committed durably.
//! * raw: for as many keys as ours generates (10,037: 2 + 2 + 11 × 3 + 10,000, checked against
//!   the `secrets` rows of a bootstrapped vault before timing): 32 bytes from `getrandom`,
//!   `ed25519_dalek::SigningKey::from_bytes`, and one signature of a message as long as the
//!   average signing input (`header.payload`) of ours's JWTs. Raw seals nothing, encodes no
//!   claims and writes nothing.
//!
//! Each round starts from a fresh copy of the same seeded database file (copying and opening
//! are not timed). Printed for scale, not judged: one `Vault::unlock` of the seeded vault (the
//! one KDF run ours pays) and its share of ours.

mod common;

use std::path::Path;

use cim_keys::app::{Vault, new_id};
use cim_keys::crypto::keystore::KdfParams;
use cim_keys::domain::{Command, OrgId, PersonId, UnitId};
use cim_keys::store::DATABASE_FILE;
use common::{Mode, black_box, copy_vault, fmt_secs, interleave, median, report, temp_dir, time};
use ed25519_dalek::Signer;

/// Builds the seeded vault in `dir`: one organization, `units` units, `people` people each in
/// one unit (round robin). Returns the organization.
fn seed(dir: &Path, units: usize, people: usize) -> OrgId {
    let mut vault = Vault::init_with_kdf(dir, &common::passphrase(), KdfParams::DEFAULT).expect("vault init");
    let org = OrgId::from_uuid(new_id());
    let unit_ids: Vec<UnitId> = (0..units).map(|_| UnitId::from_uuid(new_id())).collect();
    let mut commands = vec![Command::CreateOrganization { id: org, name: "Bench Org".into(), domain: None }];
    commands.extend(unit_ids.iter().enumerate().map(|(i, &id)| Command::CreateUnit {
        id,
        org,
        parent: None,
        name: format!("Unit {i}"),
    }));
    vault.execute_all(commands).expect("seed");
    let mut n = 0;
    while n < people {
        let chunk = (people - n).min(5_000);
        let commands = (n..n + chunk)
            .map(|i| Command::AddPerson {
                id: PersonId::from_uuid(new_id()),
                org,
                name: format!("Person {i}"),
                email: format!("person{i}@bench.example"),
                units: vec![unit_ids[i % units]],
            })
            .collect();
        vault.execute_all(commands).expect("chunk commits");
        n += chunk;
    }
    org
}

/// The vault database in `dir`: its size in bytes (pages in use, WAL included), and its
/// domain and graph event counts.
fn database_facts(dir: &Path) -> (i64, i64, i64) {
    let conn = rusqlite::Connection::open(dir.join(DATABASE_FILE)).expect("open database");
    let bytes: i64 = conn
        .query_row("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", [], |r| r.get(0))
        .expect("database size");
    let (domain, graph) = conn
        .query_row("SELECT domain_events, graph_events FROM vault", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("event counts");
    (bytes, domain, graph)
}

fn main() {
    let mode = Mode::from_args();
    let units = mode.pick(10, 2);
    let people = mode.pick(10_000, 20);
    let rounds = mode.pick(11, 3);
    // Operator: identity + signing key; system account: identity + 1 signing key; organization
    // and unit accounts: identity + 2 signing keys; users: 1 key.
    let expected_keys = 2 + 2 + 3 * (units + 1) + people;
    let accounts = units + 2;

    let dir = temp_dir();
    println!("nats: vaults in {}", dir.path().display());
    let template = dir.path().join("template");
    let (built, org) = time(|| seed(&template, units, people));
    println!(
        "    seeded a vault of 1 organization, {units} units, {people} people in {}",
        fmt_secs(built.as_secs_f64())
    );

    // One untimed bootstrap to count what ours makes and size raw's message like its JWTs.
    let calibration = dir.path().join("calibration");
    copy_vault(&template, &calibration);
    let bootstrap = Vault::open(&calibration).expect("open copy").nats_bootstrap(org, &common::passphrase());
    let bootstrap = bootstrap.expect("calibration bootstrap");
    assert_eq!((bootstrap.accounts, bootstrap.users), (accounts, people));
    let (keys, jwts, signing_input): (usize, usize, f64) = {
        let conn = rusqlite::Connection::open(calibration.join(DATABASE_FILE)).expect("open calibration");
        let keys: i64 = conn
            .query_row("SELECT count(*) FROM secrets WHERE kind <> 'device-ed25519-seed'", [], |r| r.get(0))
            .expect("count secrets");
        let mut stmt = conn.prepare("SELECT bytes FROM artifacts WHERE media_type = 'application/jwt'").expect("jwts");
        let lengths: Vec<usize> = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .expect("query jwts")
            .map(|token| {
                let token = token.expect("jwt row");
                token.iter().rposition(|&b| b == b'.').expect("a JWT has a signature part")
            })
            .collect();
        let mean = lengths.iter().sum::<usize>() as f64 / lengths.len() as f64;
        (usize::try_from(keys).expect("count"), lengths.len(), mean)
    };
    assert_eq!(keys, expected_keys, "keys generated by the bootstrap");
    let (before, after) = (database_facts(&template), database_facts(&calibration));
    let (growth, domain_events, graph_events) = (after.0 - before.0, after.1 - before.1, after.2 - before.2);
    assert_eq!(domain_events as usize, bootstrap.receipt.events.len());
    assert_eq!(jwts, 1 + accounts + people, "JWTs signed by the bootstrap");
    println!(
        "nats: bootstrap of 1 operator, {accounts} accounts, {people} users -> {keys} keys generated and sealed, \
         {jwts} JWTs signed (signing input {signing_input:.0} bytes on average), {domain_events} domain / {graph_events} graph events; \
         the vault grows by {:.1} MB",
        growth as f64 / 1e6
    );
    let message = vec![0x5au8; signing_input.round() as usize];

    // The one KDF run ours pays, for scale.
    let kdf: Vec<f64> = {
        let vault = Vault::open(&template).expect("open template");
        (0..mode.pick(5, 1))
            .map(|_| time(|| black_box(vault.unlock(&common::passphrase()).expect("unlock"))).0.as_secs_f64())
            .collect()
    };

    let ours = || {
        let path = dir.path().join("ours");
        copy_vault(&template, &path);
        let mut vault = Vault::open(&path).expect("open copy");
        let passphrase = common::passphrase();
        let (elapsed, report) = time(|| vault.nats_bootstrap(org, &passphrase).expect("bootstrap commits"));
        assert_eq!((report.accounts, report.users), (accounts, people));
        black_box(report);
        elapsed.as_secs_f64()
    };
    let raw = || {
        let (elapsed, ()) = time(|| {
            for _ in 0..keys {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).expect("random seed");
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                black_box(key.sign(black_box(&message)));
            }
        });
        elapsed.as_secs_f64()
    };
    let samples = interleave(rounds, ours, raw);
    let verdict = report(mode, "nats", &format!("bootstrap ({keys} keys)"), &samples, 0.3);
    println!(
        "    per key: ours {}, raw {}; raw = getrandom 32 bytes + SigningKey::from_bytes + sign {} bytes",
        fmt_secs(samples.ours() / keys as f64),
        fmt_secs(samples.raw() / keys as f64),
        message.len(),
    );
    let kdf = median(&kdf);
    println!(
        "    one unlock (Argon2id {} KiB, {} passes; once per bootstrap): {} = {:.1} % of ours",
        KdfParams::DEFAULT.memory_kib,
        KdfParams::DEFAULT.iterations,
        fmt_secs(kdf),
        100.0 * kdf / samples.ours(),
    );
    common::finish(mode, &[verdict]);
}
