//! The keystore from the CLI: `init` takes a passphrase (environment, file or prompt, never an
//! argument), `passwd` re-wraps the master key, a wrong passphrase is a clear error that
//! changes nothing, and the passphrase never appears in any output or in the database.

use crate::support::{PASSPHRASE, Vault, bin};

fn keystore_row(vault: &Vault) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    vault
        .sql()
        .query_row("SELECT salt, master_nonce, master_ciphertext FROM keystore", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
}

fn passwd(vault: &Vault, old: Option<&str>, new: Option<&str>) -> crate::support::Run {
    let mut cmd = bin();
    cmd.arg("--data-dir").arg(vault.dir()).arg("passwd");
    match old {
        Some(old) => cmd.env("CIM_KEYS_PASSPHRASE", old),
        None => cmd.env_remove("CIM_KEYS_PASSPHRASE"),
    };
    if let Some(new) = new {
        cmd.env("CIM_KEYS_NEW_PASSPHRASE", new);
    }
    crate::support::Run::from(cmd.stdin(std::process::Stdio::null()).output().unwrap())
}

#[test]
fn init_needs_a_passphrase_and_records_the_kdf() {
    let vault = Vault::uninitialized();
    let run = crate::support::Run::from(
        bin()
            .env_remove("CIM_KEYS_PASSPHRASE")
            .arg("--data-dir")
            .arg(vault.dir())
            .arg("init")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no passphrase given: set CIM_KEYS_PASSPHRASE"), "{run:?}");
    assert!(!vault.dir().exists(), "nothing is created without a passphrase");

    // From a file, with the final newline an editor leaves.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("{PASSPHRASE}\n")).unwrap();
    let run = crate::support::Run::from(
        bin()
            .env_remove("CIM_KEYS_PASSPHRASE")
            .arg("--data-dir")
            .arg(vault.dir())
            .arg("--passphrase-file")
            .arg(file.path())
            .arg("init")
            .output()
            .unwrap(),
    );
    run.ok();
    assert!(vault.run(&["status"]).ok().contains("keystore       sealed; argon2id, 64 MiB, 3 passes, 1 lane(s)"));
    let status = vault.run(&["status", "--json"]).json();
    assert_eq!(status["keystore"]["memory_kib"], 65536);
    // The file's passphrase (without its newline) is the vault's passphrase.
    passwd(&vault, Some(PASSPHRASE), Some("a new and longer passphrase")).ok();
}

#[test]
fn a_short_passphrase_is_accepted_with_a_warning() {
    let vault = Vault::uninitialized();
    let run = crate::support::Run::from(
        bin().env("CIM_KEYS_PASSPHRASE", "short").arg("--data-dir").arg(vault.dir()).arg("init").output().unwrap(),
    );
    run.ok();
    assert!(run.stderr.starts_with("warning: the passphrase has only 5 characters"), "{run:?}");
}

#[test]
fn passwd_rewraps_the_master_key_and_a_wrong_passphrase_changes_nothing() {
    let vault = Vault::new();
    crate::support::acme(&vault);
    let before = keystore_row(&vault);
    let counts = vault.counts();

    let wrong = passwd(&vault, Some("not the passphrase"), Some("whatever new passphrase"));
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert_eq!(wrong.stderr.trim(), "error: the passphrase is wrong");
    assert_eq!(keystore_row(&vault), before);

    let missing_new = passwd(&vault, Some(PASSPHRASE), None);
    assert_eq!(missing_new.code, 2, "{missing_new:?}");
    assert!(missing_new.stderr.contains("CIM_KEYS_NEW_PASSPHRASE"));
    assert_eq!(keystore_row(&vault), before);

    let empty_new = passwd(&vault, Some(PASSPHRASE), Some("\n"));
    assert_eq!(empty_new.code, 2, "{empty_new:?}");
    assert_eq!(keystore_row(&vault), before);

    assert_eq!(passwd(&vault, Some(PASSPHRASE), Some("the second passphrase")).ok(), "passphrase changed");
    let after = keystore_row(&vault);
    assert_ne!(after.0, before.0, "a fresh salt");
    assert_ne!(after.2, before.2);
    assert_eq!(vault.counts(), counts, "changing the passphrase records no event");
    assert_eq!(passwd(&vault, Some(PASSPHRASE), Some("x y z w")).code, 1, "the old passphrase no longer works");
    passwd(&vault, Some("the second passphrase"), Some(PASSPHRASE)).ok();
}

#[test]
fn the_passphrase_appears_nowhere() {
    let vault = Vault::new();
    crate::support::acme(&vault);
    let mut outputs = String::new();
    for args in
        [&["status"][..], &["status", "--json"], &["events", "--json"], &["verify", "--deep"], &["--json", "init"]]
    {
        let run = vault.run(args);
        outputs.push_str(&run.stdout);
        outputs.push_str(&run.stderr);
    }
    let wrong = passwd(&vault, Some("wrong-but-secret-passphrase"), Some("another-secret-passphrase"));
    outputs.push_str(&wrong.stdout);
    outputs.push_str(&wrong.stderr);
    for secret in [PASSPHRASE, "wrong-but-secret-passphrase", "another-secret-passphrase"] {
        assert!(!outputs.contains(secret), "{secret:?} was printed");
    }
    drop(vault.sql());
    for file in std::fs::read_dir(vault.dir()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(!bytes.windows(PASSPHRASE.len()).any(|w| w == PASSPHRASE.as_bytes()));
    }
}

#[test]
fn a_vault_from_before_keystores_is_migrated_and_gets_one_from_passwd() {
    let vault = Vault::new();
    crate::support::acme(&vault);
    // Turn it back into a schema-1 vault, as the first release wrote it.
    vault
        .sql()
        .execute_batch("DROP TABLE nats_signing_keys; DROP TABLE nats_users; DROP TABLE nats_accounts; DROP TABLE nats_operators; DROP TABLE keystore; DROP TABLE secrets; DROP TABLE keys; DROP TABLE certificates; DROP TABLE cas; DROP TABLE artifacts; DROP TABLE exports; DROP TABLE imports; ALTER TABLE vault DROP COLUMN device_key; PRAGMA user_version = 1;")
        .unwrap();
    let head = vault.counts();
    assert!(vault.run(&["status"]).ok().contains("keystore       none (create one with `cim-keys passwd`)"));
    let version: i64 = vault.sql().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, cim_keys::store::schema::MIGRATIONS.len() as i64, "opening migrated it forward");
    assert_eq!(vault.counts(), head);
    assert!(vault.run(&["verify", "--deep"]).ok().starts_with("ok:"));
    passwd(&vault, None, Some("a brand new passphrase")).ok();
    assert!(vault.run(&["status"]).ok().contains("keystore       sealed; argon2id"));
    assert_eq!(passwd(&vault, Some(PASSPHRASE), Some("x y z w v")).code, 1);
    passwd(&vault, Some("a brand new passphrase"), Some(PASSPHRASE)).ok();
}
