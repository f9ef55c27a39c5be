//! The CLI contract of BRIEF §6: the walk-through, exit codes, one-line errors, `--json`, and
//! bad input that changes nothing.

use std::io::Write;

use crate::support::{Vault, acme, bin};

#[test]
fn walk_through_creates_an_organization_and_verifies_its_chain() {
    let vault = Vault::new();
    let acme = acme(&vault);
    for id in [&acme.org, &acme.eng, &acme.ops, &acme.ann, &acme.officer] {
        assert_eq!(id.len(), 36, "ids are printed alone on stdout: {id:?}");
    }

    // events: one line per graph event with its CID.
    let events = vault.run(&["events"]).ok();
    let lines: Vec<&str> = events.lines().skip(1).collect();
    assert_eq!(lines.len(), 9, "{events}");
    assert!(lines.iter().all(|l| l.split_whitespace().last().unwrap().starts_with("bafyrei")));
    assert!(lines[0].contains("BoundedContextCreated") && lines[0].contains("OrganizationCreated"));
    assert!(lines[8].contains("RelationshipEstablished") && lines[8].contains("RoleAssigned"));

    let domain = vault.run(&["events", "--domain", "--json"]).json();
    let types: Vec<&str> = domain["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["OrganizationCreated", "UnitCreated", "UnitCreated", "PersonAdded", "RoleDefined", "RoleAssigned"]
    );

    // status: counts and head, the head being the last event's CID.
    let (domain_count, graph_count, head) = vault.counts();
    assert_eq!((domain_count, graph_count), (6, 9));
    let listed = vault.run(&["events", "--json"]).json();
    let last = listed["events"].as_array().unwrap().last().unwrap()["cid"].as_str().unwrap().to_owned();
    assert_eq!(head.as_deref(), Some(last.as_str()));
    let status = vault.run(&["status"]).ok();
    assert!(status.contains("pending        9") && status.contains(&last), "{status}");

    // verify
    let verify = vault.run(&["verify"]);
    assert!(verify.ok().starts_with("ok: 6 domain events and 9 graph events verified"));
    assert_eq!(vault.run(&["verify", "--json"]).json()["ok"], true);

    // org show / list read the read models.
    let tree = vault.run(&["org", "show", &acme.org, "--json"]).json();
    assert_eq!(tree["units"].as_array().unwrap().len(), 2);
    assert_eq!(tree["people"][0]["units"][0], acme.ops.as_str());
    assert_eq!(tree["people"][0]["roles"][0], acme.officer.as_str());
    let ops = tree["units"].as_array().unwrap().iter().find(|u| u["name"] == "Operations").unwrap().clone();
    assert_eq!(ops["parent"], acme.eng.as_str());
    let list = vault.run(&["org", "list"]).ok();
    assert!(list.contains("Acme Corp <acme.example>  (2 units, 1 person, 1 role)"), "{list}");

    // Paging.
    let page = vault.run(&["events", "--after", "3", "--limit", "2", "--json"]).json();
    let seqs: Vec<u64> = page["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [4, 5]);
}

#[test]
fn the_data_dir_comes_from_the_environment_too() {
    let vault = Vault::uninitialized();
    vault.run_env(&["init"]).ok();
    let org = vault.run_env(&["org", "create", "--name", "Env Org"]).ok();
    assert_eq!(vault.counts().0, 1);
    assert!(vault.run(&["org", "list"]).ok().contains(&org));
}

#[test]
fn every_json_output_is_one_document() {
    let vault = Vault::uninitialized();
    let init = vault.run(&["--json", "init"]).json();
    assert!(init["vault_id"].is_string());
    let created = vault.run(&["--json", "org", "create", "--name", "Json Org"]).json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["receipt"]["events"][0]["type"], "OrganizationCreated");
    assert!(created["receipt"]["events"][0]["graph"][0].as_str().unwrap().starts_with("bafyrei"));
    assert_eq!(vault.run(&["org", "list", "--json"]).json()["organizations"][0]["id"], id.as_str());
    let failed = vault.run(&["--json", "org", "create", "--name", ""]);
    assert_eq!(failed.code, 2);
    assert!(failed.json()["error"].as_str().unwrap().contains("is empty"));
}

#[test]
fn people_import_in_one_transaction() {
    let vault = Vault::new();
    let acme = acme(&vault);
    let csv = vault.dir().join("people.csv");
    let mut file = std::fs::File::create(&csv).unwrap();
    writeln!(file, "name,email,units").unwrap();
    writeln!(file, "Bob,bob@acme.example,{}", acme.eng).unwrap();
    writeln!(file, "\"Doe, Carol\",carol@acme.example,{};{}", acme.eng, acme.ops).unwrap();
    writeln!(file, "Dan,dan@acme.example").unwrap();
    drop(file);
    let before = vault.counts();
    let out = vault.run(&["person", "import", "--org", &acme.org, "--file", csv.to_str().unwrap()]).ok();
    assert_eq!(out.lines().count(), 3);
    let after = vault.counts();
    assert_eq!(after.0, before.0 + 3);
    assert_eq!(after.1, before.1 + 3 + 3, "one AggregateAdded per person and one member_of per unit");
    let tree = vault.run(&["org", "show", &acme.org, "--json"]).json();
    let carol = tree["people"].as_array().unwrap().iter().find(|p| p["name"] == "Doe, Carol").unwrap().clone();
    assert_eq!(carol["units"].as_array().unwrap().len(), 2);
    // All the imported events share one correlation id.
    let events = vault.run(&["events", "--domain", "--json", "--after", &before.0.to_string()]).json();
    let correlations: std::collections::BTreeSet<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["correlation"].as_str().unwrap()).collect();
    assert_eq!(correlations.len(), 1);
    assert!(vault.run(&["verify"]).ok().starts_with("ok:"));
}

/// A case of bad input: the arguments, the exit code, and a phrase the message must contain.
#[derive(Debug)]
struct Case {
    name: &'static str,
    args: Vec<String>,
    code: i32,
    says: &'static str,
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let vault = Vault::new();
    let acme = acme(&vault);
    let other = vault.run(&["org", "create", "--name", "Globex"]).ok();
    let sales = vault.run(&["unit", "create", "--org", &other, "--name", "Sales"]).ok();
    let unknown = "0192f0c1-7d3e-7a10-8b2c-5d9e4f6a7b8c".to_owned();
    let s = |v: &[&str]| v.iter().map(|a| (*a).to_owned()).collect::<Vec<String>>();
    let long = "x".repeat(100_000);
    let bad_csv = vault.dir().join("bad.csv");
    std::fs::write(&bad_csv, "Eve,eve@acme.example\nMallory,not-an-email\nTrent,trent@acme.example\n").unwrap();
    let cases = vec![
        Case {
            name: "empty name",
            args: s(&["org", "create", "--name", ""]),
            code: 2,
            says: "organization name is empty",
        },
        Case {
            name: "whitespace name",
            args: s(&["unit", "create", "--org", &acme.org, "--name", " \t "]),
            code: 2,
            says: "unit name is empty",
        },
        Case {
            name: "100 kB name",
            args: s(&["role", "define", "--org", &acme.org, "--name", &long]),
            code: 2,
            says: "has 100000 characters; the limit is 200",
        },
        Case {
            name: "control characters",
            args: s(&["person", "add", "--org", &acme.org, "--name", "Eve\u{1b}[2J", "--email", "eve@acme.example"]),
            code: 2,
            says: "control character",
        },
        Case {
            name: "newline in name",
            args: s(&["org", "create", "--name", "Two\nLines"]),
            code: 2,
            says: "control character",
        },
        Case {
            name: "invalid e-mail",
            args: s(&["person", "add", "--org", &acme.org, "--name", "Eve", "--email", "eve@"]),
            code: 2,
            says: "not a valid e-mail address",
        },
        Case {
            name: "invalid domain",
            args: s(&["org", "create", "--name", "Initech", "--domain", "not a domain"]),
            code: 2,
            says: "not a valid domain name",
        },
        Case {
            name: "unknown organization",
            args: s(&["unit", "create", "--org", &unknown, "--name", "X"]),
            code: 2,
            says: "does not exist",
        },
        Case {
            name: "unknown parent",
            args: s(&["unit", "create", "--org", &acme.org, "--name", "X", "--parent", &unknown]),
            code: 2,
            says: "unit 0192f0c1-7d3e-7a10-8b2c-5d9e4f6a7b8c does not exist",
        },
        Case {
            name: "unknown person",
            args: s(&["role", "assign", "--role", &acme.officer, "--person", &unknown]),
            code: 2,
            says: "person 0192f0c1-7d3e-7a10-8b2c-5d9e4f6a7b8c does not exist",
        },
        Case {
            name: "unknown role",
            args: s(&["role", "assign", "--role", &unknown, "--person", &acme.ann]),
            code: 2,
            says: "role 0192f0c1-7d3e-7a10-8b2c-5d9e4f6a7b8c does not exist",
        },
        Case {
            name: "an organization id that is a unit's",
            args: s(&["unit", "create", "--org", &acme.eng, "--name", "X"]),
            code: 2,
            says: "does not exist",
        },
        Case {
            name: "malformed id",
            args: s(&["unit", "create", "--org", "acme", "--name", "X"]),
            code: 2,
            says: "'acme' is not a valid organization id",
        },
        Case {
            name: "malformed unit id",
            args: s(&["person", "add", "--org", &acme.org, "--name", "E", "--email", "e@acme.example", "--unit", "12"]),
            code: 2,
            says: "not a valid unit id",
        },
        Case {
            name: "unit under a unit of another organization",
            args: s(&["unit", "create", "--org", &acme.org, "--name", "X", "--parent", &sales]),
            code: 2,
            says: "belongs to another organization",
        },
        Case {
            name: "person in a unit of another organization",
            args: s(&[
                "person",
                "add",
                "--org",
                &acme.org,
                "--name",
                "E",
                "--email",
                "e@acme.example",
                "--unit",
                &sales,
            ]),
            code: 2,
            says: "belongs to another organization",
        },
        Case {
            name: "duplicate unit under one parent",
            args: s(&["unit", "create", "--org", &acme.org, "--name", "OPERATIONS", "--parent", &acme.eng]),
            code: 2,
            says: "already exists",
        },
        Case {
            name: "duplicate top-level unit",
            args: s(&["unit", "create", "--org", &acme.org, "--name", "engineering"]),
            code: 2,
            says: "already exists",
        },
        Case {
            name: "duplicate e-mail",
            args: s(&["person", "add", "--org", &acme.org, "--name", "Ann 2", "--email", "ANN@acme.example"]),
            code: 2,
            says: "already exists",
        },
        Case {
            name: "duplicate organization",
            args: s(&["org", "create", "--name", "acme corp"]),
            code: 2,
            says: "already exists",
        },
        Case {
            name: "role assigned twice",
            args: s(&["role", "assign", "--role", &acme.officer, "--person", &acme.ann]),
            code: 2,
            says: "already has role",
        },
        Case {
            name: "stale expected version",
            args: s(&["role", "assign", "--role", &acme.officer, "--person", &acme.ann, "--expected-version", "1"]),
            code: 1,
            says: "changed meanwhile",
        },
        Case {
            name: "import with one bad row",
            args: s(&["person", "import", "--org", &acme.org, "--file", bad_csv.to_str().unwrap()]),
            code: 2,
            says: "line 2: 'not-an-email' is not a valid e-mail address",
        },
        Case {
            name: "import of a missing file",
            args: s(&["person", "import", "--org", &acme.org, "--file", "/nonexistent/people.csv"]),
            code: 2,
            says: "cannot read /nonexistent/people.csv",
        },
        Case { name: "missing argument", args: s(&["org", "create"]), code: 2, says: "--name" },
        Case { name: "unknown subcommand", args: s(&["frobnicate"]), code: 2, says: "unrecognized subcommand" },
        Case { name: "init over an existing vault", args: s(&["init"]), code: 1, says: "a vault already exists" },
    ];
    let before = vault.counts();
    let db_before = std::fs::read(vault.db()).unwrap().len();
    for case in &cases {
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let run = vault.run(&args);
        assert_eq!(run.code, case.code, "{}: wrong exit code: {run:?}", case.name);
        assert!(run.stdout.is_empty(), "{}: printed on stdout: {run:?}", case.name);
        assert_eq!(run.stderr.lines().count(), 1, "{}: error is not one line: {run:?}", case.name);
        assert!(run.stderr.starts_with("error: "), "{}: {run:?}", case.name);
        assert!(run.stderr.contains(case.says), "{}: message lacks {:?}: {}", case.name, case.says, run.stderr);
        assert!(run.stderr.len() < 400, "{}: message too long: {}", case.name, run.stderr.len());
        assert_eq!(vault.counts(), before, "{}: the vault changed", case.name);
    }
    assert!(vault.run(&["verify"]).ok().starts_with("ok:"));
    assert!(std::fs::read(vault.db()).unwrap().len() >= db_before);
}

#[test]
fn environment_faults_exit_1_and_touch_nothing() {
    // --data-dir that is a file.
    let tmp = tempfile::TempDir::new().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"hello").unwrap();
    for args in [&["init"][..], &["status"][..], &["org", "create", "--name", "X"][..]] {
        let run = bin().arg("--data-dir").arg(&file).args(args).output().unwrap();
        assert_eq!(run.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("is a file, not a directory"), "{stderr}");
        assert_eq!(std::fs::read(&file).unwrap(), b"hello");
    }

    // No vault yet.
    let empty = Vault::uninitialized();
    let run = empty.run(&["status"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no vault in") && run.stderr.contains("cim-keys init"), "{run:?}");
    assert!(!empty.dir().exists(), "reading must not create the data directory");

    // A file that is not a database.
    std::fs::create_dir_all(empty.dir()).unwrap();
    std::fs::write(empty.db(), vec![0x42; 8192]).unwrap();
    let run = empty.run(&["status"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("is not a cim-keys vault"), "{run:?}");
    assert_eq!(std::fs::read(empty.db()).unwrap(), vec![0x42; 8192]);

    // An SQLite database of another application.
    let foreign = Vault::uninitialized();
    std::fs::create_dir_all(foreign.dir()).unwrap();
    rusqlite::Connection::open(foreign.db())
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let run = foreign.run(&["verify"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("another application"), "{run:?}");
}

#[test]
fn a_database_from_a_newer_schema_is_refused_untouched() {
    let vault = Vault::new();
    acme(&vault);
    vault.sql().pragma_update(None, "user_version", 99).unwrap();
    // Checkpoint so the main file holds everything, then fingerprint it.
    vault.sql().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    let before = std::fs::read(vault.db()).unwrap();
    for args in [&["status"][..], &["verify"][..], &["org", "create", "--name", "New"][..]] {
        let run = vault.run(args);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.stderr.contains("schema version 99, newer than this cim-keys supports"), "{run:?}");
    }
    assert_eq!(std::fs::read(vault.db()).unwrap(), before, "the newer database was modified");
    vault.sql().pragma_update(None, "user_version", cim_keys::store::schema::MIGRATIONS.len() as i64).unwrap();
    assert_eq!(vault.counts().0, 6);
}

/// A directory nobody may write to, even root: chmod for ordinary users, the immutable
/// attribute where we run as root.
#[derive(Debug)]
struct ReadOnlyDir {
    _tmp: tempfile::TempDir,
    path: std::path::PathBuf,
    immutable: bool,
}

impl ReadOnlyDir {
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::TempDir::new().unwrap();
        let path = tmp.path().join("locked");
        std::fs::create_dir(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o500)).unwrap();
        let writable = std::fs::write(path.join("probe"), b"").is_ok();
        let _ = std::fs::remove_file(path.join("probe"));
        let mut immutable = false;
        if writable {
            let status = std::process::Command::new("chattr").arg("+i").arg(&path).status();
            immutable = status.is_ok_and(|s| s.success());
            assert!(immutable, "cannot make a read-only directory here (need chattr as root)");
        }
        Self { _tmp: tmp, path, immutable }
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = std::process::Command::new("chattr").arg("-i").arg(&self.path).status();
        }
        let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o700));
    }
}

#[test]
fn an_unwritable_directory_is_an_environment_fault() {
    let locked = ReadOnlyDir::new();
    for dir in [locked.path.clone(), locked.path.join("sub")] {
        let run = bin().arg("--data-dir").arg(&dir).arg("init").output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("is not writable"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1);
    }
    assert_eq!(std::fs::read_dir(&locked.path).unwrap().count(), 0);
}

#[test]
fn verify_names_the_first_corrupt_event() {
    let vault = Vault::new();
    acme(&vault);
    assert!(vault.run(&["verify"]).ok().starts_with("ok:"));

    // Flip one byte of graph event 3's block with plain SQL.
    let sql = vault.sql();
    let mut bytes: Vec<u8> = sql.query_row("SELECT bytes FROM graph_events WHERE seq = 3", [], |r| r.get(0)).unwrap();
    let cid: Vec<u8> = sql.query_row("SELECT cid FROM graph_events WHERE seq = 3", [], |r| r.get(0)).unwrap();
    let cid = cid::Cid::try_from(cid.as_slice()).unwrap().to_string();
    let original = bytes.clone();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    sql.execute("UPDATE graph_events SET bytes = ?1 WHERE seq = 3", [&bytes]).unwrap();
    let run = vault.run(&["verify"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("graph event #3") && run.stderr.contains(&cid), "{}", run.stderr);
    assert!(run.stderr.contains("hash to"), "{}", run.stderr);
    let json = vault.run(&["verify", "--json"]);
    assert_eq!(json.code, 1);
    assert_eq!(json.json()["report"]["problem"]["seq"], 3);

    // Re-address the tampered block consistently: the next event's prev link catches it.
    let tampered_cid = cim_keys::projection::cid_of(&bytes);
    sql.execute("UPDATE graph_events SET cid = ?1 WHERE seq = 3", [tampered_cid.to_bytes()]).unwrap();
    let run = vault.run(&["verify"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("graph event #3") || run.stderr.contains("graph event #4"), "{}", run.stderr);
    sql.execute(
        "UPDATE graph_events SET bytes = ?1, cid = ?2 WHERE seq = 3",
        (&original, cid::Cid::try_from(cid.as_str()).unwrap().to_bytes()),
    )
    .unwrap();
    assert!(vault.run(&["verify"]).ok().starts_with("ok:"));

    // A domain event's payload.
    sql.execute("UPDATE domain_events SET bytes = substr(bytes, 1, length(bytes) - 1) || x'00' WHERE seq = 2", [])
        .unwrap();
    let run = vault.run(&["verify"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("domain event #2"), "{}", run.stderr);
}

#[test]
fn verify_catches_deleted_and_reordered_events() {
    let vault = Vault::new();
    acme(&vault);
    let sql = vault.sql();
    sql.execute_batch(
        "PRAGMA foreign_keys = OFF; DELETE FROM outbox WHERE graph_seq = 9; DELETE FROM graph_events WHERE seq = 9;",
    )
    .unwrap();
    let run = vault.run(&["verify"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("head CID"), "{}", run.stderr);

    let vault = Vault::new();
    acme(&vault);
    let sql = vault.sql();
    sql.execute_batch(
        "PRAGMA foreign_keys = OFF; DELETE FROM outbox WHERE graph_seq = 4; DELETE FROM graph_events WHERE seq = 4;",
    )
    .unwrap();
    let run = vault.run(&["verify"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("graph event #4"), "{}", run.stderr);
}

#[test]
fn no_subcommand_and_help_exit_0() {
    let run = bin().arg("--help").output().unwrap();
    assert_eq!(run.status.code(), Some(0));
    let help = String::from_utf8_lossy(&run.stdout);
    for cmd in ["init", "org", "unit", "person", "role", "events", "verify", "status"] {
        assert!(help.contains(cmd), "help lacks {cmd}");
    }
}

#[test]
fn deep_verify_checks_columns_projection_and_read_models() {
    let vault = Vault::new();
    let acme = acme(&vault);
    assert!(vault.run(&["verify", "--deep"]).ok().contains("columns, projection and read models agree"));
    let deep_fails = |says: &str| {
        let run = vault.run(&["verify", "--deep"]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains(says), "expected {says:?}: {}", run.stderr);
        assert!(vault.run(&["verify"]).ok().starts_with("ok:"), "plain verify checks only CIDs and links");
    };
    let sql = vault.sql();

    // A column beside a block that lies about it.
    sql.execute("UPDATE domain_events SET event_type = 'PersonRemoved' WHERE seq = 4", []).unwrap();
    deep_fails("domain event #4");
    deep_fails("its event_type column says 'PersonRemoved' but its block says 'PersonAdded'");
    sql.execute("UPDATE domain_events SET event_type = 'PersonAdded' WHERE seq = 4", []).unwrap();
    sql.execute("UPDATE graph_events SET context_id = ?1 WHERE seq = 2", [&acme.eng]).unwrap();
    deep_fails("graph event #2");
    sql.execute("UPDATE graph_events SET context_id = ?1 WHERE seq = 2", [&acme.org]).unwrap();
    assert!(vault.run(&["verify", "--deep"]).ok().starts_with("ok:"));

    // A read model edited behind the log's back.
    sql.execute("UPDATE people SET name = 'Mallory' WHERE id = ?1", [&acme.ann]).unwrap();
    deep_fails(&format!("the read models are wrong: person {} differs from the event log", acme.ann));
    sql.execute("UPDATE people SET name = 'Ann' WHERE id = ?1", [&acme.ann]).unwrap();
    sql.execute("DELETE FROM role_assignments", []).unwrap();
    deep_fails(&format!("person {} differs", acme.ann));
}
