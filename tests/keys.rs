//! Identity keys from the CLI: generate (needs the passphrase), list, export in OpenSSH format
//! with the fingerprint `ssh-keygen -l` prints, revoke; bad input changes nothing; the seed is
//! only ever in the keystore, sealed.

use crate::support::{PASSPHRASE, Vault, acme, bin};

fn ssh_keygen_fingerprint(pub_file: &std::path::Path) -> String {
    let out = std::process::Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(pub_file)
        .output()
        .expect("ssh-keygen must be installed (Debian package openssh-client) for this test");
    assert!(out.status.success(), "ssh-keygen refused our key: {}", String::from_utf8_lossy(&out.stderr));
    // "256 SHA256:… comment (ED25519)"
    String::from_utf8_lossy(&out.stdout).split_whitespace().nth(1).unwrap().to_owned()
}

#[test]
fn key_lifecycle_with_ssh_keygen_agreeing_on_the_fingerprint() {
    let vault = Vault::new();
    let acme = acme(&vault);
    let generated = vault.run(&["key", "generate", "--owner", &acme.ann]).ok();
    let (key, fingerprint) = generated.split_once("  ").unwrap();
    assert!(fingerprint.starts_with("SHA256:") && fingerprint.len() == 50, "{generated}");

    let list = vault.run(&["key", "list", "--owner", &acme.ann, "--json"]).json();
    assert_eq!(list["keys"][0]["id"], key);
    assert_eq!(list["keys"][0]["fingerprint"], fingerprint);
    assert_eq!(list["keys"][0]["status"], "active");

    let pub_file = vault.dir().join("ann.pub");
    vault.run(&["key", "export-public", "--key", key, "--out", pub_file.to_str().unwrap()]).ok();
    let line = std::fs::read_to_string(&pub_file).unwrap();
    assert!(line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5") && line.ends_with(" ann@acme.example\n"), "{line}");
    assert_eq!(vault.run(&["key", "export-public", "--key", key]).ok(), line.trim());
    assert_eq!(ssh_keygen_fingerprint(&pub_file), fingerprint);

    // The events carry the public half and the fingerprint; the graph has the key and owns_key.
    let events = vault.run(&["events", "--domain", "--json"]).json();
    let generated_event =
        events["events"].as_array().unwrap().iter().find(|e| e["type"] == "KeyGenerated").unwrap().clone();
    assert_eq!(generated_event["aggregate"], key);
    let graph = vault.run(&["events"]).ok();
    assert!(graph.contains("EntityAdded") && graph.contains("KeyGenerated"));

    vault.run(&["key", "revoke", "--key", key, "--reason", "laptop lost"]).ok();
    let list = vault.run(&["key", "list", "--json"]).json();
    assert_eq!(list["keys"][0]["status"], "revoked");
    assert_eq!(list["keys"][0]["revoked_reason"], "laptop lost");
    let again = vault.run(&["key", "revoke", "--key", key]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already revoked"), "{again:?}");
    assert!(vault.run(&["verify", "--deep"]).ok().starts_with("ok:"));
}

#[test]
fn bad_key_requests_change_nothing() {
    let vault = Vault::new();
    let acme = acme(&vault);
    let unknown = "0192f0c1-7d3e-7a10-8b2c-5d9e4f6a7b8c";
    let before = vault.counts();
    let cases: [(&[&str], i32, &str); 6] = [
        (&["key", "generate", "--owner", unknown], 2, "does not exist"),
        (&["key", "generate", "--owner", &acme.org], 2, "does not exist"),
        (&["key", "generate", "--owner", &acme.ann, "--algorithm", "rsa"], 2, "not a supported key algorithm"),
        (&["key", "generate", "--owner", "ann"], 2, "not a valid person id"),
        (&["key", "revoke", "--key", unknown], 2, "does not exist"),
        (&["key", "export-public", "--key", unknown], 2, "does not exist"),
    ];
    for (args, code, says) in cases {
        let run = vault.run(args);
        assert_eq!(run.code, code, "{args:?}: {run:?}");
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert_eq!(vault.counts(), before);
    }
    // A wrong passphrase: exit 1, nothing recorded, nothing sealed.
    let run = bin()
        .env("CIM_KEYS_PASSPHRASE", "not the passphrase")
        .arg("--data-dir")
        .arg(vault.dir())
        .args(["key", "generate", "--owner", &acme.ann])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&run.stderr).trim(), "error: the passphrase is wrong");
    assert_eq!(vault.counts(), before);
    let secrets: i64 = vault
        .sql()
        .query_row("SELECT count(*) FROM secrets WHERE kind <> 'device-ed25519-seed'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(secrets, 0);
}

#[test]
fn the_seed_exists_only_sealed() {
    use cim_keys::crypto::keystore::{self, Passphrase, Sealed};
    use data_encoding::{BASE64, BASE64_NOPAD, HEXLOWER};
    let tmp = tempfile::TempDir::new().unwrap();
    let mut vault = crate::support::library_vault(&tmp.path().join("v"));
    let org = cim_keys::domain::OrgId::from_uuid(cim_keys::app::new_id());
    let person = cim_keys::domain::PersonId::from_uuid(cim_keys::app::new_id());
    vault
        .execute(cim_keys::domain::Command::CreateOrganization { id: org, name: "Acme".into(), domain: None })
        .unwrap();
    vault
        .execute(cim_keys::domain::Command::AddPerson {
            id: person,
            org,
            name: "Ann".into(),
            email: "ann@acme.example".into(),
            units: vec![],
        })
        .unwrap();
    let passphrase = Passphrase::new(PASSPHRASE.to_owned()).unwrap();
    let (key, _) = vault.generate_key(person, &passphrase).unwrap();

    // Recover the seed the way the vault will: unlock, then open the sealed row.
    let conn = rusqlite::Connection::open(vault.store().path()).unwrap();
    let (kind, nonce, ciphertext): (String, Vec<u8>, Vec<u8>) = conn
        .query_row("SELECT kind, nonce, ciphertext FROM secrets WHERE id = ?1", [key.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(kind, cim_keys::app::SEED_KIND);
    let master = vault.unlock(&passphrase).unwrap();
    let sealed = Sealed { nonce: nonce.try_into().unwrap(), ciphertext };
    let seed = keystore::open(&master, &key.to_string(), &kind, &sealed).unwrap();
    assert_eq!(seed.expose_secret().len(), 32);
    // The seed matches the recorded public key.
    let signing = ed25519_dalek::SigningKey::from_bytes(seed.expose_secret().try_into().unwrap());
    let line = vault.export_public_key(key).unwrap();
    let expected =
        cim_keys::crypto::ssh::public_key_line(&signing.verifying_key().to_bytes(), "ann@acme.example").unwrap();
    assert_eq!(line, expected);

    // Nowhere else, in any encoding: not in the database file, its WAL, or any output.
    drop(conn);
    let raw = seed.expose_secret().to_vec();
    let encodings: Vec<Vec<u8>> = vec![
        raw.clone(),
        HEXLOWER.encode(&raw).into_bytes(),
        BASE64.encode(&raw).into_bytes(),
        BASE64_NOPAD.encode(&raw).into_bytes(),
    ];
    let path = vault.store().path().to_owned();
    let mut files = vec![path.clone()];
    for suffix in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        files.push(p.into());
    }
    let receipt_json = serde_json::to_string(&vault.keys(None).unwrap()).unwrap();
    for file in files.iter().filter(|f| f.exists()) {
        let bytes = std::fs::read(file).unwrap();
        for needle in &encodings {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_slice()), "the seed is in {}", file.display());
        }
    }
    for needle in &encodings {
        assert!(!receipt_json.as_bytes().windows(needle.len()).any(|w| w == needle.as_slice()));
    }
}
