//! `cim-keys backup` and `cim-keys restore` through the real binary, on real vaults in temp
//! dirs: the secrets come back (into the vault that wrote them, or one that imported its
//! bundle, which can then issue the same creds), restoring twice changes nothing, and a wrong
//! passphrase or identity, a damaged or crafted file, or a vault that does not know the keys is
//! refused with a one-line error, the documented exit code, and the secrets table unchanged.
//! The file never holds a seed in clear, nor ever the device key.
//!
//! The vaults are created through the library with the cheapest KDF parameters; age's scrypt
//! (about a second per backup passphrase use) is the slow part, so most crafted files are
//! encrypted to an X25519 recipient instead.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use age::secrecy::{ExposeSecret, SecretString};
use cim_keys::app::DEVICE_SEED_KIND;
use cim_keys::app::backup::{BackupSecret, SecretsBackup};
use cim_keys::app::nats::{ACCOUNT_SEED_KIND, OPERATOR_SEED_KIND, USER_SEED_KIND};
use cim_keys::crypto::keystore::{Passphrase, SecretBytes};
use cim_keys::crypto::nats::{NKeyKind, NatsKeyPair};
use serde_json::Value;

use crate::support::{PASSPHRASE, Run, Vault, bin, library_vault};

const BACKUP_PASSPHRASE: &str = "a separate passphrase for the secrets backup";
const BACKUP_ENV: &str = "CIM_KEYS_BACKUP_PASSPHRASE";
const BUNDLE_ENV: &str = "CIM_KEYS_BUNDLE_PASSPHRASE";
const BUNDLE_PASSPHRASE: &str = "the passphrase of the export bundle";

/// A vault with the cheapest KDF parameters.
fn new_vault() -> Vault {
    let vault = Vault::uninitialized();
    drop(library_vault(vault.dir()));
    vault
}

/// A path next to (not inside) the vault's data directory.
fn file(vault: &Vault, name: &str) -> PathBuf {
    vault.dir().parent().unwrap().join(name)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs the binary on `vault` with extra environment, stdin closed (no prompt).
fn run_env(vault: &Vault, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = bin();
    for (key, value) in env {
        cmd.env(key, value);
    }
    Run::from(cmd.stdin(Stdio::null()).arg("--data-dir").arg(vault.dir()).args(args).output().unwrap())
}

/// `backup --out FILE --json` with the backup passphrase.
fn backup(vault: &Vault, out: &Path) -> Value {
    let run = run_env(vault, &[(BACKUP_ENV, BACKUP_PASSPHRASE)], &["backup", "--out", path(out), "--json"]);
    run.ok();
    run.json()
}

/// `restore FILE --json` with the backup passphrase.
fn restore(vault: &Vault, backup: &Path) -> Run {
    run_env(vault, &[(BACKUP_ENV, BACKUP_PASSPHRASE)], &["restore", path(backup), "--json"])
}

/// What a vault holds: an organization with a unit, Ann (in the unit) and Bob (in none), an
/// identity key of Ann's, the NATS hierarchy, and a CA hierarchy with a server certificate.
#[derive(Debug)]
struct World {
    org: String,
    ann: String,
}

fn populate(vault: &Vault) -> World {
    let org = vault.run(&["org", "create", "--name", "Acme Corp", "--domain", "acme.example"]).ok();
    let eng = vault.run(&["unit", "create", "--org", &org, "--name", "Engineering"]).ok();
    let ann = vault
        .run(&["person", "add", "--org", &org, "--name", "Ann", "--email", "ann@acme.example", "--unit", &eng])
        .ok();
    vault.run(&["person", "add", "--org", &org, "--name", "Bob", "--email", "bob@acme.example"]).ok();
    vault.run(&["key", "generate", "--owner", &ann]).ok();
    vault.run(&["nats", "bootstrap", "--org", &org]).ok();
    vault.run(&["pki", "init", "--org", &org]).ok();
    vault
        .run(&["pki", "issue", "--org", &org, "--kind", "server", "--name", "nats", "--san", "nats.acme.example"])
        .ok();
    World { org, ann }
}

/// Every row of the secrets table, every column.
type SecretsTable = Vec<(String, String, Vec<u8>, Vec<u8>, String)>;

fn secrets_table(vault: &Vault) -> SecretsTable {
    let conn = vault.sql();
    let mut stmt = conn.prepare("SELECT id, kind, nonce, ciphertext, created_at FROM secrets ORDER BY id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn passphrase(text: &str) -> Passphrase {
    Passphrase::new(text.to_owned()).unwrap()
}

/// Every secret's plaintext, opened through the library: id → (kind, bytes).
fn all_plaintexts(vault: &Vault) -> BTreeMap<String, (String, Vec<u8>)> {
    let library = cim_keys::app::Vault::open(vault.dir()).unwrap();
    let master = library.unlock(&passphrase(PASSPHRASE)).unwrap();
    secrets_table(vault)
        .into_iter()
        .map(|(id, _, _, _, _)| {
            let (kind, sealed) = library.store().secret(&id).unwrap().unwrap();
            let plain = cim_keys::crypto::keystore::open(&master, &id, &kind, &sealed).unwrap();
            (id, (kind, plain.expose_secret().to_vec()))
        })
        .collect()
}

/// The plaintexts a backup holds: all but the device key's.
fn plaintexts(vault: &Vault) -> BTreeMap<String, (String, Vec<u8>)> {
    let mut all = all_plaintexts(vault);
    all.retain(|_, (kind, _)| kind != DEVICE_SEED_KIND);
    all
}

/// The seed section of a creds file (from its BEGIN to its END line), as bytes.
fn seed_section(creds: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(creds).unwrap();
    let start = text.find("-----BEGIN USER NKEY SEED-----").expect("a seed section");
    let end = text[start..].find("------END USER NKEY SEED------").expect("its end") + start;
    let section = text.as_bytes()[start..end].to_vec();
    assert!(text[start..end].lines().any(|l| l.starts_with("SU") && l.len() == 58), "{text}");
    section
}

/// A one-line error with this exit code, saying `says`.
#[track_caller]
fn assert_refused(run: &Run, code: i32, says: &str) {
    assert_eq!(run.code, code, "{run:?}");
    let stderr = run.stderr.trim_end();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("error: ") && stderr.contains(says), "expected {says:?}: {stderr:?}");
}

/// An age X25519 identity file (as age-keygen writes it) and its recipient.
fn identity(dir: &Path, name: &str) -> (PathBuf, String) {
    let identity = age::x25519::Identity::generate();
    let path = dir.join(name);
    let text = format!(
        "# created: by the test\n# public key: {}\n{}\n",
        identity.to_public(),
        identity.to_string().expose_secret()
    );
    std::fs::write(&path, text).unwrap();
    (path, identity.to_public().to_string())
}

/// Encrypts `plain` to an X25519 recipient, as `age -r` does.
fn encrypt_to(recipient: &str, plain: &[u8]) -> Vec<u8> {
    let recipient: age::x25519::Recipient = recipient.parse().unwrap();
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out).unwrap();
    writer.write_all(plain).unwrap();
    writer.finish().unwrap();
    out
}

/// Decrypts a passphrase-encrypted file, as `age -d` does.
fn decrypt_with_passphrase(bytes: &[u8], passphrase: &str) -> Vec<u8> {
    let decryptor = age::Decryptor::new(bytes).unwrap();
    let identity = age::scrypt::Identity::new(SecretString::from(passphrase.to_owned()));
    let mut reader = decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut plain).unwrap();
    plain
}

/// The backup document of a vault's current secrets, for crafting files.
fn document(vault: &Vault, secrets: impl IntoIterator<Item = (String, String, Vec<u8>)>) -> Vec<u8> {
    let library = cim_keys::app::Vault::open(vault.dir()).unwrap();
    let mut secrets: Vec<BackupSecret> = secrets
        .into_iter()
        .map(|(id, kind, bytes)| BackupSecret { id, kind, secret: SecretBytes::new(bytes) })
        .collect();
    secrets.sort_by(|a, b| a.id.cmp(&b.id));
    let backup = SecretsBackup {
        vault: library.identity().vault_id,
        created_at: cim_keys::domain::Timestamp::parse("2026-01-02T03:04:05.000000Z").unwrap(),
        secrets,
    };
    backup.encode().to_vec()
}

/// The issue's test: vault A issues a creds file, backs up its secrets and exports its
/// history; vault B imports the bundle (and so knows every key, but holds no secret: it cannot
/// issue creds), restores the backup, and writes a creds file with the same seed.
#[test]
fn a_vault_that_imported_the_bundle_issues_the_same_creds_after_restoring_the_backup() {
    let a = new_vault();
    let world = populate(&a);
    let a_creds = file(&a, "a.creds");
    a.run(&["nats", "creds", "--person", &world.ann, "--out", path(&a_creds)]).ok();
    let secrets = file(&a, "s.age");
    backup(&a, &secrets);
    let card = file(&a, "card");
    std::fs::create_dir(&card).unwrap();
    let export = run_env(&a, &[(BUNDLE_ENV, BUNDLE_PASSPHRASE)], &["export", "--out", path(&card), "--json"]);
    export.ok();
    let bundle = PathBuf::from(export.json()["file"].as_str().expect("the bundle's path"));
    let bundles: Vec<_> = std::fs::read_dir(&card)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "age"))
        .collect();
    assert_eq!(bundles, std::slice::from_ref(&bundle), "one bundle file");

    let b = new_vault();
    run_env(&b, &[(BUNDLE_ENV, BUNDLE_PASSPHRASE)], &["import", path(&bundle)]).ok();
    let b_creds = file(&b, "b.creds");
    let before = b.run(&["nats", "creds", "--person", &world.ann, "--out", path(&b_creds)]);
    assert_ne!(before.code, 0, "a vault without the secrets cannot issue creds: {before:?}");
    let report = restore(&b, &secrets);
    report.ok();
    let report = report.json();
    assert_eq!(report["already_present"], 0, "{report:#}");
    assert_eq!(report["restored"], report["secrets"], "{report:#}");
    b.run(&["nats", "creds", "--person", &world.ann, "--out", path(&b_creds)]).ok();
    assert_eq!(seed_section(&b_creds), seed_section(&a_creds));
    // Every secret but the device keys (each vault keeps its own), with the same bytes.
    assert_eq!(plaintexts(&b), plaintexts(&a));
    let device = |v: &Vault| all_plaintexts(v).into_iter().find(|(_, (kind, _))| kind == DEVICE_SEED_KIND);
    assert_ne!(device(&b), device(&a));
    // B can issue certificates from A's intermediate CA too.
    b.run(&["pki", "issue", "--org", &world.org, "--kind", "client", "--name", "ci"]).ok();
}

/// Restoring into the vault that wrote the backup finds every secret present: nothing changes,
/// however often.
#[test]
fn restoring_into_the_vault_that_wrote_it_changes_nothing_however_often() {
    let vault = new_vault();
    populate(&vault);
    let out = file(&vault, "secrets.age");
    let report = backup(&vault, &out);
    let table = secrets_table(&vault);
    let backed_up = plaintexts(&vault).len();
    assert_eq!(report["secrets"].as_u64().unwrap() as usize, backed_up, "{report:#}");
    assert_eq!(report["encrypted_to"], "passphrase");
    let kinds = report["kinds"].as_object().unwrap();
    for kind in
        ["ed25519-seed", OPERATOR_SEED_KIND, ACCOUNT_SEED_KIND, USER_SEED_KIND, "x509-ca-seed", "x509-leaf-seed"]
    {
        assert!(kinds.get(kind).and_then(Value::as_u64).is_some_and(|n| n > 0), "{kind}: {report:#}");
    }
    let counts = vault.counts();
    for _ in 0..2 {
        let run = restore(&vault, &out);
        run.ok();
        let report = run.json();
        assert_eq!(report["restored"], 0, "{report:#}");
        assert_eq!(report["already_present"].as_u64().unwrap() as usize, backed_up);
        assert_eq!(secrets_table(&vault), table);
        assert_eq!(vault.counts(), counts, "a restore records no event");
    }
}

/// Secrets a vault lost (rows deleted, their keys still in the read models) come back with
/// their bytes, in one go, and the vault issues the same creds again; the human output names
/// counts, never a secret.
#[test]
fn a_restore_brings_back_the_secrets_a_vault_lost() {
    let vault = new_vault();
    let world = populate(&vault);
    let before = file(&vault, "before.creds");
    vault.run(&["nats", "creds", "--person", &world.ann, "--out", path(&before)]).ok();
    let plain = plaintexts(&vault);
    let out = file(&vault, "secrets.age");
    backup(&vault, &out);
    vault.sql().execute("DELETE FROM secrets WHERE kind NOT IN ('ed25519-seed', 'device-ed25519-seed')", []).unwrap();
    let left = plaintexts(&vault).len();
    assert!(vault.run(&["nats", "creds", "--person", &world.ann, "--out", path(&file(&vault, "x"))]).code != 0);

    let run = run_env(&vault, &[(BACKUP_ENV, BACKUP_PASSPHRASE)], &["restore", path(&out)]);
    let text = run.ok();
    assert!(text.starts_with(&format!("restored {} of {} secrets", plain.len() - left, plain.len())), "{text}");
    assert!(text.contains(&format!("{left} already present")), "{text}");
    assert_eq!(plaintexts(&vault), plain);
    let after = file(&vault, "after.creds");
    vault.run(&["nats", "creds", "--person", &world.ann, "--out", path(&after)]).ok();
    assert_eq!(seed_section(&after), seed_section(&before));
    assert!(vault.run(&["verify", "--deep"]).ok().starts_with("ok:"));
}

/// A wrong backup passphrase, a wrong vault passphrase, or none at all: refused, and the
/// secrets table keeps its bytes (a lost secret stays lost rather than half come back).
#[test]
fn a_wrong_passphrase_is_refused_and_changes_nothing() {
    let vault = new_vault();
    populate(&vault);
    let out = file(&vault, "secrets.age");
    backup(&vault, &out);
    vault.sql().execute("DELETE FROM secrets WHERE kind = 'nats-user-seed'", []).unwrap();
    let table = secrets_table(&vault);

    let run = run_env(&vault, &[(BACKUP_ENV, "not the backup passphrase")], &["restore", path(&out)]);
    assert_refused(&run, 1, "the passphrase does not open this file");
    assert_eq!(secrets_table(&vault), table);

    let run = bin()
        .env("CIM_KEYS_PASSPHRASE", "not the vault passphrase")
        .env(BACKUP_ENV, BACKUP_PASSPHRASE)
        .stdin(Stdio::null())
        .arg("--data-dir")
        .arg(vault.dir())
        .args(["restore", path(&out)])
        .output()
        .unwrap();
    assert_refused(&Run::from(run), 1, "passphrase is wrong");
    assert_eq!(secrets_table(&vault), table);

    let run = run_env(&vault, &[], &["restore", path(&out)]);
    assert_refused(&run, 2, "CIM_KEYS_BACKUP_PASSPHRASE");
    assert_eq!(secrets_table(&vault), table);

    // The vault's passphrase does not open a backup made with another one.
    let run = run_env(&vault, &[(BACKUP_ENV, PASSPHRASE)], &["restore", path(&out)]);
    assert_refused(&run, 1, "does not open");
    assert_eq!(secrets_table(&vault), table);
}

/// A changed byte (in the payload, its last tag, or the header), a truncated or empty file,
/// or no age file at all: exit 1, and nothing changes.
#[test]
fn a_damaged_backup_is_refused_and_changes_nothing() {
    let vault = new_vault();
    populate(&vault);
    let out = file(&vault, "secrets.age");
    backup(&vault, &out);
    vault.sql().execute("DELETE FROM secrets WHERE kind = 'x509-ca-seed'", []).unwrap();
    let table = secrets_table(&vault);
    let good = std::fs::read(&out).unwrap();
    let header_end = good.windows(4).position(|w| w == b"\n---").unwrap();
    let payload = good.iter().skip(header_end).position(|&b| b == b'\n').unwrap() + header_end + 1;
    let flip = |at: usize| {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        bad
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("a payload byte", flip(payload + 16 + (good.len() - payload - 16) / 2), "altered"),
        ("the last byte", flip(good.len() - 1), "altered"),
        ("a header byte", flip(4), "not an age-encrypted file"),
        ("truncated", good[..good.len() - 20].to_vec(), ""),
        ("empty", Vec::new(), ""),
        ("text", b"hello, this is not a backup\n".to_vec(), "not an age-encrypted file"),
    ];
    for (what, bytes, says) in cases {
        let bad = file(&vault, "bad.age");
        std::fs::write(&bad, &bytes).unwrap();
        let run = restore(&vault, &bad);
        assert_refused(&run, 1, says);
        assert!(!run.stderr.contains("panicked"), "{what}: {run:?}");
        assert_eq!(secrets_table(&vault), table, "{what}");
    }
    restore(&vault, &out).ok();
    assert_eq!(secrets_table(&vault).len(), table.len() + 2, "the good file still restores the two CA keys");
}

/// With `--recipient`, the file opens with the identity (and `age` reads it: a DAG-CBOR map
/// with the format, version 1, and the secrets); a passphrase or another identity does not;
/// a malformed recipient is refused before anything is written.
#[test]
fn a_backup_to_a_recipient_opens_with_its_identity_file() {
    let vault = new_vault();
    populate(&vault);
    let dir = vault.dir().parent().unwrap().to_owned();
    let (identity_file, recipient) = identity(&dir, "key.txt");
    let (other_identity, _) = identity(&dir, "other.txt");
    let out = file(&vault, "secrets.age");

    let bad = vault.run(&["backup", "--out", path(&out), "--recipient", "age1notarecipient"]);
    assert_refused(&bad, 2, "is not an age X25519 recipient");
    assert!(!out.exists());

    let report = vault.run(&["backup", "--out", path(&out), "--recipient", &recipient, "--json"]).json();
    assert_eq!(report["encrypted_to"], "recipients", "{report:#}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);

    // A standard age reader opens it.
    let bytes = std::fs::read(&out).unwrap();
    let identities = age::IdentityFile::from_file(path(&identity_file).to_owned()).unwrap().into_identities().unwrap();
    let decryptor = age::Decryptor::new(bytes.as_slice()).unwrap();
    let mut reader = decryptor.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity)).unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut plain).unwrap();
    let doc: ipld_core::ipld::Ipld = serde_ipld_dagcbor::from_slice(&plain).unwrap();
    let ipld_core::ipld::Ipld::Map(map) = &doc else { panic!("{doc:?}") };
    assert_eq!(map["format"], ipld_core::ipld::Ipld::String("cim-keys-secrets".into()));
    assert_eq!(map["v"], ipld_core::ipld::Ipld::Integer(1));
    let ipld_core::ipld::Ipld::List(secrets) = &map["secrets"] else { panic!("{doc:?}") };
    assert_eq!(secrets.len(), plaintexts(&vault).len());
    assert_eq!(serde_ipld_dagcbor::to_vec(&doc).unwrap(), plain, "canonical DAG-CBOR");

    vault.sql().execute("DELETE FROM secrets WHERE kind = 'x509-leaf-seed'", []).unwrap();
    let table = secrets_table(&vault);
    let run = restore(&vault, &out);
    assert_refused(&run, 2, "encrypted to age recipients");
    let run = vault.run(&["restore", path(&out), "--identity", path(&other_identity)]);
    assert_refused(&run, 1, "none of the identities");
    let run = vault.run(&["restore", path(&out), "--identity", path(&out)]);
    assert_refused(&run, 2, "holds no age identity");
    assert_eq!(secrets_table(&vault), table);
    let report = vault.run(&["restore", path(&out), "--identity", path(&identity_file), "--json"]).json();
    assert_eq!(report["restored"], 1, "{report:#}");
    assert_eq!(report["kinds"]["x509-leaf-seed"], 1, "{report:#}");

    // And a passphrase backup wants a passphrase, not an identity.
    let with_passphrase = file(&vault, "passphrase.age");
    backup(&vault, &with_passphrase);
    let run = vault.run(&["restore", path(&with_passphrase), "--identity", path(&identity_file)]);
    assert_refused(&run, 2, "encrypted to a passphrase");
}

/// Every encoding of a secret looked for.
fn encodings(raw: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    use data_encoding::{BASE32_NOPAD, BASE64_NOPAD, BASE64URL_NOPAD, HEXLOWER, HEXUPPER};
    vec![
        ("raw", raw.to_vec()),
        ("hex", HEXLOWER.encode(raw).into_bytes()),
        ("HEX", HEXUPPER.encode(raw).into_bytes()),
        ("base64", BASE64_NOPAD.encode(raw).into_bytes()),
        ("base64url", BASE64URL_NOPAD.encode(raw).into_bytes()),
        ("base32", BASE32_NOPAD.encode(raw).into_bytes()),
    ]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The file holds no seed in any encoding, nor the passphrases; the outputs name none; the
/// device key (present in the vault) is not in the decrypted document.
#[test]
fn the_backup_holds_no_secret_in_clear_and_never_the_device_key() {
    let vault = new_vault();
    populate(&vault);
    // The device key (which signs export manifests), sealed under the master key with its
    // own kind: made with the vault, or if not yet, as `export` would make it.
    if !all_plaintexts(&vault).values().any(|(kind, _)| kind == DEVICE_SEED_KIND) {
        let library = cim_keys::app::Vault::open(vault.dir()).unwrap();
        let master = library.unlock(&passphrase(PASSPHRASE)).unwrap();
        let id = library.identity().device_id.to_string();
        let sealed = cim_keys::crypto::keystore::seal(
            &master,
            &id,
            DEVICE_SEED_KIND,
            &SecretBytes::new(vec![0x5A; 32]),
            [7; 24],
        );
        vault
            .sql()
            .execute(
                "INSERT INTO secrets (id, kind, nonce, ciphertext, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                (&id, DEVICE_SEED_KIND, sealed.nonce.as_slice(), &sealed.ciphertext, "2026-01-01T00:00:00.000000Z"),
            )
            .unwrap();
    }
    let plain = all_plaintexts(&vault);
    let device_rows: Vec<_> = plain.iter().filter(|(_, (kind, _))| kind == DEVICE_SEED_KIND).collect();
    assert_eq!(device_rows.len(), 1);
    let device_seed = device_rows[0].1.1.clone();

    let out = file(&vault, "secrets.age");
    let run = run_env(&vault, &[(BACKUP_ENV, BACKUP_PASSPHRASE)], &["backup", "--out", path(&out), "--json"]);
    let report = run.json();
    assert_eq!(report["secrets"].as_u64().unwrap() as usize, plain.len() - device_rows.len(), "{report:#}");
    assert!(report["kinds"].get(DEVICE_SEED_KIND).is_none(), "{report:#}");
    let bytes = std::fs::read(&out).unwrap();
    let mut outputs = run.stdout.clone() + &run.stderr;

    let mut needles: Vec<(String, &'static str, Vec<u8>)> = vec![
        ("vault passphrase".into(), "text", PASSPHRASE.as_bytes().to_vec()),
        ("backup passphrase".into(), "text", BACKUP_PASSPHRASE.as_bytes().to_vec()),
    ];
    for (id, (kind, raw)) in &plain {
        for (encoding, bytes) in encodings(raw) {
            needles.push((id.clone(), encoding, bytes));
        }
        let nkind = match kind.as_str() {
            OPERATOR_SEED_KIND => Some(NKeyKind::Operator),
            ACCOUNT_SEED_KIND => Some(NKeyKind::Account),
            USER_SEED_KIND => Some(NKeyKind::User),
            _ => None,
        };
        if let Some(nkind) = nkind {
            let pair = NatsKeyPair::from_raw_seed(nkind, raw.as_slice().try_into().unwrap()).unwrap();
            needles.push((id.clone(), "nkey seed", pair.seed().unwrap().expose_secret().as_bytes().to_vec()));
        }
    }
    for (whose, encoding, needle) in &needles {
        assert!(!contains(&bytes, needle), "the backup file holds {whose}'s secret ({encoding})");
    }

    // Decrypted: every secret but the device key.
    let document = decrypt_with_passphrase(&bytes, BACKUP_PASSPHRASE);
    assert!(!contains(&document, &device_seed), "the device key is in the backup");
    for (id, (kind, raw)) in &plain {
        let inside = contains(&document, raw);
        assert_eq!(inside, kind != DEVICE_SEED_KIND, "{id} ({kind})");
    }

    // The restore's outputs name no secret either.
    vault.sql().execute("DELETE FROM secrets WHERE kind = 'nats-account-seed'", []).unwrap();
    let run = restore(&vault, &out);
    run.ok();
    outputs += &run.stdout;
    outputs += &run.stderr;
    let text = run_env(&vault, &[(BACKUP_ENV, BACKUP_PASSPHRASE)], &["restore", path(&out)]).ok();
    outputs += &text;
    for (whose, encoding, needle) in &needles {
        assert!(!contains(outputs.as_bytes(), needle), "an output holds {whose}'s secret ({encoding})");
    }
}

/// A vault that does not know a secret's public half refuses the whole restore, naming it:
/// a vault without that history, a seed swapped between two users, a device key, a kind or
/// version from the future. Nothing is stored.
#[test]
fn a_backup_of_keys_the_vault_does_not_know_is_refused_whole() {
    let a = new_vault();
    populate(&a);
    let out = file(&a, "secrets.age");
    backup(&a, &out);

    // Another vault, with an organization of its own: it knows none of A's keys.
    let other = new_vault();
    populate(&other);
    let table = secrets_table(&other);
    let run = restore(&other, &out);
    assert_refused(&run, 2, "matches no key of this vault");
    assert!(run.stderr.contains("nothing was restored"), "{run:?}");
    assert_eq!(secrets_table(&other), table);
    let empty = new_vault();
    let table = secrets_table(&empty);
    assert_refused(&restore(&empty, &out), 2, "matches no key of this vault");
    assert_eq!(secrets_table(&empty), table);

    // Crafted files, encrypted to a recipient, restored into A after it lost its user seeds.
    let dir = a.dir().parent().unwrap().to_owned();
    let (identity_file, recipient) = identity(&dir, "key.txt");
    let plain = plaintexts(&a);
    a.sql().execute("DELETE FROM secrets WHERE kind = 'nats-user-seed'", []).unwrap();
    let table = secrets_table(&a);
    let all = || plain.iter().map(|(id, (kind, raw))| (id.clone(), kind.clone(), raw.clone()));
    let users: Vec<String> = plain.iter().filter(|(_, (k, _))| k == USER_SEED_KIND).map(|(id, _)| id.clone()).collect();
    assert_eq!(users.len(), 2);
    let swapped = all().map(|(id, kind, raw)| {
        let raw = if id == users[0] {
            plain[&users[1]].1.clone()
        } else if id == users[1] {
            plain[&users[0]].1.clone()
        } else {
            raw
        };
        (id, kind, raw)
    });
    let device = all().chain([("device".to_owned(), DEVICE_SEED_KIND.to_owned(), vec![1; 32])]);
    let future_kind = all().chain([("zzz".to_owned(), "quantum-seed".to_owned(), vec![1; 32])]);
    let short = all().map(|(id, kind, raw)| (id, kind, raw[..16].to_vec()));
    let v2 = serde_json::json!({ "format": "cim-keys-secrets", "v": 2, "secrets": [] });
    let cases: Vec<(&str, Vec<u8>, i32, String)> = vec![
        ("swapped", document(&a, swapped), 2, format!("secret {} (nats-user-seed) matches no key", users[0])),
        ("device", document(&a, device), 2, "device key".into()),
        ("future kind", document(&a, future_kind), 2, "'quantum-seed', which this cim-keys does not know".into()),
        ("short", document(&a, short), 2, "is not 32 bytes long".into()),
        ("v2", serde_ipld_dagcbor::to_vec(&v2).unwrap(), 2, "format version 2".into()),
        ("json", br#"{"format":"cim-keys-secrets","v":1}"#.to_vec(), 2, "not a cim-keys secrets backup".into()),
    ];
    for (what, document, code, says) in cases {
        let crafted = file(&a, "crafted.age");
        std::fs::write(&crafted, encrypt_to(&recipient, &document)).unwrap();
        let run = a.run(&["restore", path(&crafted), "--identity", path(&identity_file)]);
        assert_refused(&run, code, &says);
        assert_eq!(secrets_table(&a), table, "{what}");
    }
    // The honest document restores.
    let honest = file(&a, "honest.age");
    std::fs::write(&honest, encrypt_to(&recipient, &document(&a, all()))).unwrap();
    let report = a.run(&["restore", path(&honest), "--identity", path(&identity_file), "--json"]).json();
    assert_eq!(report["restored"], 2, "{report:#}");
    assert_eq!(plaintexts(&a), plain);
}

/// A secret present with other bytes than the backup's refuses the restore: a restore never
/// replaces a secret, and stores nothing else either.
#[test]
fn a_present_secret_with_other_bytes_refuses_the_restore() {
    let vault = new_vault();
    populate(&vault);
    let out = file(&vault, "secrets.age");
    backup(&vault, &out);
    let plain = plaintexts(&vault);
    let (id, (kind, _)) = plain.iter().find(|(_, (k, _))| k == "ed25519-seed").unwrap();
    {
        let library = cim_keys::app::Vault::open(vault.dir()).unwrap();
        let master = library.unlock(&passphrase(PASSPHRASE)).unwrap();
        let sealed = cim_keys::crypto::keystore::seal(&master, id, kind, &SecretBytes::new(vec![9; 32]), [3; 24]);
        vault
            .sql()
            .execute(
                "UPDATE secrets SET nonce = ?1, ciphertext = ?2 WHERE id = ?3",
                (sealed.nonce.as_slice(), &sealed.ciphertext, id),
            )
            .unwrap();
    }
    vault.sql().execute("DELETE FROM secrets WHERE kind = 'nats-operator-seed'", []).unwrap();
    let table = secrets_table(&vault);
    let run = restore(&vault, &out);
    assert_refused(&run, 2, &format!("secret {id} (ed25519-seed) is already in this vault with other contents"));
    assert_eq!(secrets_table(&vault), table);
}

/// `--out` never replaces a file, not even an old backup.
#[test]
fn a_backup_never_replaces_a_file() {
    let vault = new_vault();
    let out = file(&vault, "secrets.age");
    std::fs::write(&out, b"precious").unwrap();
    let run = run_env(&vault, &[(BACKUP_ENV, BACKUP_PASSPHRASE)], &["backup", "--out", path(&out)]);
    assert_refused(&run, 2, "already exists");
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    // An empty vault backs up nothing, readably.
    let empty = file(&vault, "empty.age");
    let report = backup(&vault, &empty);
    assert_eq!(report["secrets"], 0, "{report:#}");
    assert_eq!(restore(&vault, &empty).json()["restored"], 0);
}
