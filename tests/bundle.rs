//! Export and import through the real binary: equal vaults, incremental bundles, and every
//! kind of bad bundle refused with a clear error and the vault left exactly as it was.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use cim_keys::bundle::car::{CarReader, CarWriter};
use serde_json::Value;

use crate::support::{self, Run, Vault, read_models, rich_vault};

const BUNDLE_PASSPHRASE: &str = "a different passphrase for the card";

/// An age X25519 identity written to `dir/id.txt`; returns the file and the recipient.
fn identity(dir: &Path) -> (PathBuf, String, age::x25519::Identity) {
    let identity = age::x25519::Identity::generate();
    let file = dir.join("id.txt");
    std::fs::write(&file, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    (file, identity.to_public().to_string(), identity)
}

fn with_bundle_passphrase(vault: &Vault, args: &[&str]) -> Run {
    Run::from(
        support::bin()
            .arg("--data-dir")
            .arg(vault.dir())
            .env("CIM_KEYS_BUNDLE_PASSPHRASE", BUNDLE_PASSPHRASE)
            .args(args)
            .output()
            .unwrap(),
    )
}

/// Exports to `card` (to a recipient if given, else the bundle passphrase); returns the report.
fn export(vault: &Vault, card: &Path, recipient: Option<&str>, since_last: bool) -> Value {
    let mut args = vec!["--json", "export", "--out", card.to_str().unwrap()];
    if let Some(r) = recipient {
        args.extend(["--recipient", r]);
    }
    if since_last {
        args.push("--since-last");
    }
    let run = with_bundle_passphrase(vault, &args);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()
}

/// `import --json FILE [--identity ID]`.
fn import(vault: &Vault, file: &Path, identity: Option<&Path>) -> Run {
    import_as(vault, file, identity, true)
}

fn import_as(vault: &Vault, file: &Path, identity: Option<&Path>, json: bool) -> Run {
    let mut args = vec!["import".to_owned(), file.display().to_string()];
    if json {
        args.insert(0, "--json".to_owned());
    }
    if let Some(id) = identity {
        args.extend(["--identity".to_owned(), id.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    with_bundle_passphrase(vault, &args)
}

/// The `events` listings, graph and domain.
fn listings(vault: &Vault) -> (String, String) {
    (vault.run(&["events"]).ok(), vault.run(&["events", "--domain"]).ok())
}

fn assert_equal_vaults(a: &Vault, b: &Vault) {
    assert_eq!(a.counts(), b.counts(), "status counts and head CID");
    assert_eq!(listings(a), listings(b), "events listings");
    assert_eq!(read_models(a), read_models(b), "read models");
    b.run(&["verify", "--deep"]).ok();
}

/// The file of an export report.
fn file_of(report: &Value) -> PathBuf {
    PathBuf::from(report["file"].as_str().expect("a bundle file"))
}

#[test]
fn a_vault_built_only_by_importing_equals_the_exporting_vault() {
    let (a, _) = rich_vault();
    let card = tempfile::tempdir().unwrap();
    let report = export(&a, card.path(), None, false);
    assert_eq!(report["written"], true);
    let fingerprint = a.run(&["--json", "status"]).json()["device_key"].as_str().unwrap().to_owned();
    assert_eq!(report["signer"], fingerprint.as_str());
    let file = file_of(&report);
    assert!(file.starts_with(card.path()) && file.extension().unwrap() == "age");
    // Nothing but the bundle and its public directory; no temporary file left.
    let mut names: Vec<String> = std::fs::read_dir(card.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[1].ends_with(".public"), "{names:?}");

    let b = Vault::new();
    let run = import(&b, &file, None);
    assert_eq!(run.code, 0, "{run:?}");
    let imported = run.json();
    assert_eq!(imported["signer"], fingerprint.as_str());
    assert_eq!(imported["domain_added"].as_u64(), Some(a.counts().0));
    assert_equal_vaults(&a, &b);

    // Importing the same bundle again changes nothing, not a byte of the database.
    let before = std::fs::read(b.db()).unwrap();
    let again = import(&b, &file, None);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(again.json()["domain_added"], 0);
    assert_eq!(std::fs::read(b.db()).unwrap(), before);
    assert_equal_vaults(&a, &b);

    // The importing vault is a vault like any other: its events are pending upload.
    let status = b.run(&["--json", "status"]).json();
    assert_eq!(status["status"]["pending"], status["status"]["graph_events"]);
}

#[test]
fn public_artifacts_are_written_in_clear_beside_the_bundle() {
    let (a, _) = rich_vault();
    let card = tempfile::tempdir().unwrap();
    let report = export(&a, card.path(), None, false);
    let public = PathBuf::from(report["public_dir"].as_str().unwrap());
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(public.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["head"], report["head"]);
    assert_eq!(manifest["signer"], report["signer"]);
    assert_eq!(manifest["bundle_sha256"], report["sha256"]);
    let org = public.join("acme-corp");
    let operator = std::fs::read_to_string(org.join("nats/operator.jwt")).unwrap();
    assert_eq!(operator.matches('.').count(), 2, "a JWT: {operator}");
    let accounts = std::fs::read_dir(org.join("nats/accounts")).unwrap().count();
    assert_eq!(accounts, 4, "system, organization and one per unit");
    let config = std::fs::read_to_string(org.join("nats/nats-server.conf")).unwrap();
    assert!(config.contains("resolver") && config.contains(operator.trim()), "{config}");
    for ca in ["root-ca.pem", "intermediate-ca.pem"] {
        let pem = std::fs::read_to_string(org.join("pki").join(ca)).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    }
    // No secret anywhere in clear: no nkeys seed, no private key.
    for entry in walk(&public) {
        let text = std::fs::read_to_string(&entry).unwrap();
        assert!(!holds_nkeys_seed(text.as_bytes()), "{}", entry.display());
        assert!(!text.contains("PRIVATE KEY"), "{}", entry.display());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

#[test]
fn incremental_bundles_continue_the_history_in_order() {
    let (a, org) = rich_vault();
    let tmp = tempfile::tempdir().unwrap();
    let (id, recipient, _) = identity(tmp.path());
    let card = tmp.path().join("card");
    let full = file_of(&export(&a, &card, Some(&recipient), true));
    // Nothing new: nothing written, success.
    let none = export(&a, &card, Some(&recipient), true);
    assert_eq!(none["written"], false);

    a.run(&["person", "add", "--org", &org.org, "--name", "Cy", "--email", "cy@acme.example"]).ok();
    let full_last = a.counts().1 - 4; // Cy: PersonAdded (2 graph events) and NatsUserCreated (2).
    let second = export(&a, &card, Some(&recipient), true);
    assert_eq!(second["incremental"], true);
    assert_eq!(second["graph"], serde_json::json!([full_last + 1, full_last + 4]), "{second}");
    let second = file_of(&second);
    a.run(&["unit", "create", "--org", &org.org, "--name", "Sales"]).ok();
    let third = file_of(&export(&a, &card, Some(&recipient), true));

    // A vault that never saw the second bundle cannot take the third: the error names the gap.
    let b = Vault::new();
    assert_eq!(import(&b, &full, Some(&id)).code, 0);
    let before = std::fs::read(b.db()).unwrap();
    let gap = import(&b, &third, Some(&id));
    assert_eq!(gap.code, 2, "{gap:?}");
    assert!(gap.stderr.contains("import the bundle(s) holding graph events"), "{}", gap.stderr);
    assert_eq!(std::fs::read(b.db()).unwrap(), before, "a refused import changes nothing");

    assert_eq!(import(&b, &second, Some(&id)).code, 0);
    assert_eq!(import(&b, &third, Some(&id)).code, 0);
    assert_equal_vaults(&a, &b);

    // A full export imported over it adds nothing; older bundles add nothing either.
    let everything = file_of(&export(&a, &tmp.path().join("card2"), Some(&recipient), false));
    for file in [&everything, &full, &second] {
        let run = import(&b, file, Some(&id));
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(run.json()["domain_added"], 0);
    }
    assert_equal_vaults(&a, &b);

    // A vault holding part of a full bundle takes the rest.
    let c = Vault::new();
    assert_eq!(import(&c, &full, Some(&id)).code, 0);
    let rest = import(&c, &everything, Some(&id));
    assert_eq!(rest.code, 0, "{rest:?}");
    assert_eq!(rest.json()["domain_added"], 4, "Cy and their NATS user, Sales and its account");
    assert_equal_vaults(&a, &c);
}

#[test]
fn a_vault_with_its_own_history_refuses_another_one() {
    let (a, _) = rich_vault();
    let card = tempfile::tempdir().unwrap();
    let file = file_of(&export(&a, card.path(), None, false));
    let b = Vault::new();
    b.run(&["org", "create", "--name", "Other Org"]).ok();
    let before = std::fs::read(b.db()).unwrap();
    let run = import(&b, &file, None);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("differs from the bundle's"), "{}", run.stderr);
    assert_eq!(std::fs::read(b.db()).unwrap(), before);
}

/// Decrypts a bundle encrypted to `identity` into its CAR blocks.
fn blocks_of(file: &Path, identity: &age::x25519::Identity) -> (Vec<cid::Cid>, Vec<(cid::Cid, Vec<u8>)>) {
    let bytes = std::fs::read(file).unwrap();
    let decryptor = age::Decryptor::new(bytes.as_slice()).unwrap();
    let mut plain = Vec::new();
    decryptor.decrypt(std::iter::once(identity as &dyn age::Identity)).unwrap().read_to_end(&mut plain).unwrap();
    let mut car = CarReader::new(plain.as_slice()).unwrap();
    let roots = car.roots().to_vec();
    let mut blocks = Vec::new();
    while let Some(block) = car.next_raw().unwrap() {
        blocks.push(block);
    }
    (roots, blocks)
}

/// Writes blocks as a CAR encrypted to `recipient`.
fn seal_blocks(file: &Path, roots: &[cid::Cid], blocks: &[(cid::Cid, Vec<u8>)], recipient: &str) {
    let mut car = CarWriter::new(Vec::new(), roots).unwrap();
    for (cid, data) in blocks {
        car.block(cid, data).unwrap();
    }
    let plain = car.into_inner();
    let recipient: age::x25519::Recipient = recipient.parse().unwrap();
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out).unwrap();
    writer.write_all(&plain).unwrap();
    writer.finish().unwrap();
    std::fs::write(file, out).unwrap();
}

/// The manifest block's inner manifest map, changed by `change`, re-wrapped with the old
/// signature (so only checks before the signature's can name the problem).
fn with_manifest(
    block: &[u8],
    change: impl FnOnce(&mut std::collections::BTreeMap<String, ipld_core::ipld::Ipld>),
) -> Vec<u8> {
    use ipld_core::ipld::Ipld;
    let Ipld::Map(mut outer) = serde_ipld_dagcbor::from_slice::<Ipld>(block).unwrap() else { panic!("a map") };
    let Some(Ipld::Bytes(inner)) = outer.get("manifest") else { panic!("manifest bytes") };
    let Ipld::Map(mut manifest) = serde_ipld_dagcbor::from_slice::<Ipld>(inner).unwrap() else { panic!("a map") };
    change(&mut manifest);
    outer.insert("manifest".into(), Ipld::Bytes(serde_ipld_dagcbor::to_vec(&Ipld::Map(manifest)).unwrap()));
    serde_ipld_dagcbor::to_vec(&Ipld::Map(outer)).unwrap()
}

/// What must not change when an import is refused.
struct Untouched {
    counts: (u64, u64, Option<String>),
    models: Vec<String>,
    bytes: Vec<u8>,
}

impl Untouched {
    fn of(vault: &Vault) -> Self {
        Self { counts: vault.counts(), models: read_models(vault), bytes: std::fs::read(vault.db()).unwrap() }
    }

    #[track_caller]
    fn check(&self, vault: &Vault, case: &str) {
        assert_eq!(std::fs::read(vault.db()).unwrap(), self.bytes, "{case}: the database file changed");
        assert_eq!(vault.counts(), self.counts, "{case}: counts or head changed");
        assert_eq!(read_models(vault), self.models, "{case}: read models changed");
    }
}

#[test]
fn bad_bundles_are_refused_with_a_clear_error_and_the_vault_untouched() {
    let (a, org) = rich_vault();
    let tmp = tempfile::tempdir().unwrap();
    let (id, recipient, key) = identity(tmp.path());
    let card = tmp.path().join("card");
    let good = file_of(&export(&a, &card, Some(&recipient), false));
    let by_passphrase = file_of(&export(&a, &tmp.path().join("card-pass"), None, false));
    a.run(&["person", "add", "--org", &org.org, "--name", "Dee", "--email", "dee@acme.example"]).ok();
    let next = file_of(&export(&a, &tmp.path().join("card-inc"), Some(&recipient), true));

    // The importing vault already holds a little of its own, so "unchanged" means something.
    let b = Vault::new();
    let other_id = {
        let dir = tmp.path().join("other-id");
        std::fs::create_dir(&dir).unwrap();
        identity(&dir).0
    };
    let untouched = Untouched::of(&b);
    let (roots, blocks) = blocks_of(&good, &key);
    let bad = |name: &str| tmp.path().join(name);
    let mut cases: Vec<(&str, PathBuf, Option<PathBuf>, i32, &str)> = Vec::new();

    // Wrong passphrase; wrong identity; the other kind of key.
    let wrong_pass = Run::from(
        support::bin()
            .arg("--data-dir")
            .arg(b.dir())
            .env("CIM_KEYS_BUNDLE_PASSPHRASE", "not the passphrase")
            .args(["import", by_passphrase.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(wrong_pass.code, 1, "{wrong_pass:?}");
    assert!(wrong_pass.stderr.contains("passphrase does not open"), "{}", wrong_pass.stderr);
    untouched.check(&b, "wrong passphrase");
    cases.push(("wrong identity", good.clone(), Some(other_id), 1, "none of the identities"));
    cases.push((
        "passphrase file given an identity",
        by_passphrase.clone(),
        Some(id.clone()),
        2,
        "encrypted to a passphrase",
    ));
    cases.push(("recipients file given a passphrase", good.clone(), None, 2, "encrypted to age recipients"));

    // A flipped byte in the ciphertext (in the payload, past the header).
    let mut bytes = std::fs::read(&good).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(bad("flipped-cipher.age"), &bytes).unwrap();
    cases.push(("flipped ciphertext byte", bad("flipped-cipher.age"), Some(id.clone()), 1, "altered"));

    // A flipped byte inside the CAR, re-encrypted: only the CID check can catch it.
    let mut changed = blocks.clone();
    let last = changed.len() - 1;
    let data = &mut changed[last].1;
    let middle = data.len() / 2;
    data[middle] ^= 0x01;
    seal_blocks(&bad("flipped-car.age"), &roots, &changed, &recipient);
    cases.push(("flipped CAR byte", bad("flipped-car.age"), Some(id.clone()), 1, "altered"));

    // A truncated file.
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(bad("truncated.age"), &bytes[..bytes.len() * 2 / 3]).unwrap();
    cases.push(("truncated", bad("truncated.age"), Some(id.clone()), 1, "truncated"));

    // An unknown format version.
    let mut versioned = blocks.clone();
    versioned[0].1 = with_manifest(&blocks[0].1, |m| {
        m.insert("v".into(), ipld_core::ipld::Ipld::Integer(2));
    });
    versioned[0].0 = cim_keys::bundle::car::cid_of(cim_keys::bundle::car::DAG_CBOR, &versioned[0].1);
    seal_blocks(&bad("version.age"), &roots, &versioned, &recipient);
    cases.push(("unknown version", bad("version.age"), Some(id.clone()), 2, "format version 2"));

    // A changed manifest (the head moved) keeps its old signature: refused.
    let mut forged = blocks.clone();
    forged[0].1 = with_manifest(&blocks[0].1, |m| {
        m.insert("artifacts".into(), ipld_core::ipld::Ipld::Integer(0));
    });
    forged[0].0 = cim_keys::bundle::car::cid_of(cim_keys::bundle::car::DAG_CBOR, &forged[0].1);
    seal_blocks(&bad("forged.age"), &roots, &forged, &recipient);
    cases.push(("forged manifest", bad("forged.age"), Some(id.clone()), 1, "signature does not verify"));

    // A block missing from the CAR.
    let mut missing = blocks.clone();
    missing.remove(missing.len() / 2);
    seal_blocks(&bad("missing.age"), &roots, &missing, &recipient);
    cases.push(("missing block", bad("missing.age"), Some(id.clone()), 1, "missing"));

    // An incremental bundle whose predecessor was never imported.
    cases.push(("no predecessor", next.clone(), Some(id.clone()), 2, "import the bundle(s) holding graph events"));

    // 100 MB of random bytes.
    let mut random = vec![0u8; 100 * 1024 * 1024];
    getrandom::fill(&mut random).unwrap();
    std::fs::write(bad("random.age"), &random).unwrap();
    drop(random);
    cases.push(("100 MB of random bytes", bad("random.age"), Some(id.clone()), 1, "not an age-encrypted file"));

    for (case, file, identity, code, message) in cases {
        let run = import_as(&b, &file, identity.as_deref(), false);
        assert_eq!(run.code, code, "{case}: {run:?}");
        assert!(run.stderr.contains(message), "{case}: expected {message:?} in {:?}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{case}: one clear line: {:?}", run.stderr);
        assert!(run.stdout.is_empty(), "{case}: {:?}", run.stdout);
        untouched.check(&b, case);
    }

    // After all that, the good bundle imports.
    assert_eq!(import(&b, &good, Some(&id)).code, 0);
}

#[test]
fn a_bundle_signed_by_another_device_is_refused_when_a_signer_is_expected() {
    let (a, _) = rich_vault();
    let (other, _) = rich_vault();
    let card = tempfile::tempdir().unwrap();
    let expected = a.run(&["--json", "status"]).json()["device_key"].as_str().unwrap().to_owned();
    let theirs = file_of(&export(&other, card.path(), None, false));
    let b = Vault::new();
    let untouched = Untouched::of(&b);
    let run = with_bundle_passphrase(&b, &["import", theirs.to_str().unwrap(), "--expect-signer", &expected]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains(&format!("not by {expected}")), "{}", run.stderr);
    untouched.check(&b, "another signer");
    // The right signer passes.
    let mine = file_of(&export(&a, &card.path().join("mine"), None, false));
    let run = with_bundle_passphrase(&b, &["import", mine.to_str().unwrap(), "--expect-signer", &expected]);
    assert_eq!(run.code, 0, "{run:?}");
    // A malformed fingerprint is a usage error, before any passphrase.
    let run = b.run(&["import", mine.to_str().unwrap(), "--expect-signer", "SHA256:nope"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn the_bundle_holds_no_secret() {
    let (a, org) = rich_vault();
    let tmp = tempfile::tempdir().unwrap();
    let (_, recipient, identity) = identity(tmp.path());
    let file = file_of(&export(&a, &tmp.path().join("card"), Some(&recipient), false));
    let (_, blocks) = blocks_of(&file, &identity);
    let plain: Vec<u8> = blocks.iter().flat_map(|(_, d)| d.iter().copied()).collect();
    // A user's creds file holds its seed: it must not be in the bundle.
    let creds = tmp.path().join("ann.creds");
    a.run(&["nats", "creds", "--person", &org.ann, "--out", creds.to_str().unwrap()]).ok();
    let text = std::fs::read_to_string(&creds).unwrap();
    let seed = text.lines().find(|l| l.starts_with("SU")).expect("a user seed line");
    assert!(!plain.windows(seed.len()).any(|w| w == seed.as_bytes()), "a user seed is in the bundle");
    assert!(holds_nkeys_seed(seed.as_bytes()), "the check finds a real seed");
    assert!(!holds_nkeys_seed(&plain), "an nkeys seed is in the bundle");
}

/// Whether `bytes` hold an nkeys seed: 58 base32 characters starting `SOA`, `SAA` or `SUA`.
/// A three-character prefix alone turns up by chance, in binary blocks and in the base64 of
/// JWTs, about once in a hundred runs; a whole seed never does.
fn holds_nkeys_seed(bytes: &[u8]) -> bool {
    let base32 = |b: &u8| b.is_ascii_uppercase() || (b'2'..=b'7').contains(b);
    let is_seed = |w: &[u8]| w[0] == b'S' && b"OAU".contains(&w[1]) && w[2] == b'A' && w.iter().all(base32);
    bytes.windows(58).any(is_seed)
}

#[test]
fn status_shows_the_device_key_and_export_needs_the_vault_passphrase() {
    let (a, _) = rich_vault();
    let status = a.run(&["status"]).ok();
    assert!(status.contains("device key     SHA256:"), "{status}");
    let card = tempfile::tempdir().unwrap();
    let run = Run::from(
        support::bin()
            .arg("--data-dir")
            .arg(a.dir())
            .env("CIM_KEYS_PASSPHRASE", "wrong passphrase here")
            .env("CIM_KEYS_BUNDLE_PASSPHRASE", BUNDLE_PASSPHRASE)
            .args(["export", "--out", card.path().to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(std::fs::read_dir(card.path()).unwrap().count(), 0, "nothing written");
    // A malformed recipient is a usage error.
    let run = a.run(&["export", "--out", card.path().to_str().unwrap(), "--recipient", "age1nope"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("not an age X25519 recipient"), "{}", run.stderr);
}
