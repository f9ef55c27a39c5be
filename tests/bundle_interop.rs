//! Our bundles opened by other tools, and theirs by us (`docs/formats/bundle.md`: "`age` and
//! standard CAR readers must be able to open our files").
//!
//! A vault built through the real binary (organization, unit, person, role, `nats bootstrap`,
//! `pki init`) is exported to an X25519 recipient made by `age-keygen`; Debian's `age -d`
//! decrypts it and an independent CAR reader in Python (`tests/interop/read_car.py`, on the
//! PyPI packages `dag-cbor` and `multiformats`) recomputes every CID, checks the manifest's
//! signature with `openssl` and walks the chain. The other way, a CAR encrypted by `age -e`
//! imports, and random bytes encrypted by `age -e` are refused with a clear error. A bundle
//! encrypted to a passphrase is decrypted by `age -d`, which reads passphrases only from a
//! terminal: `script` gives it one. The public files beside a bundle are accepted by
//! `openssl x509` and `nats-server -t`.
//!
//! The tools come from `scripts/test --prerequisites` (Debian's `age`, `openssl`, `bsdutils`;
//! nats-server and the Python packages in `target/tools/venv`). A missing tool fails the test
//! with that instruction; nothing is skipped.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Run, Vault, acme, bin, library_vault};

const PREREQUISITES: &str = "run `scripts/test --prerequisites` (it installs Debian's age, openssl and bsdutils, \
     and nats-server, dag-cbor and multiformats into target/tools/venv)";

/// The passphrase of the passphrase-encrypted bundle.
const BUNDLE_PASSPHRASE: &str = "interop bundle passphrase 7";

/// The virtualenv `scripts/test --prerequisites` installs into (as `scripts/env` finds it).
fn venv_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/venv/bin")
}

/// A tool from `PATH` or the virtualenv, or a failure that says how to get it.
fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(std::iter::once(venv_bin()))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` was not found on PATH nor in {}: {PREREQUISITES}", venv_bin().display()))
}

/// The virtualenv's python, which has `dag-cbor` and `multiformats`.
fn python() -> PathBuf {
    let python = venv_bin().join("python");
    let ok = Command::new(&python)
        .args(["-c", "import dag_cbor, multiformats"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{} cannot import dag_cbor and multiformats: {PREREQUISITES}", python.display());
    python
}

/// Runs a tool to completion, without a terminal.
fn run(program: &Path, args: &[&str]) -> Run {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{} does not run ({e}): {PREREQUISITES}", program.display()));
    Run::from(output)
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A vault with an organization, its NATS tree and its CA hierarchy, built through the CLI,
/// with the cheapest KDF (the CLI uses what the vault records).
struct Fixture {
    vault: Vault,
    org: String,
}

impl Fixture {
    fn new() -> Self {
        let vault = Vault::uninitialized();
        drop(library_vault(vault.dir()));
        let org = acme(&vault).org;
        vault.run(&["nats", "bootstrap", "--org", &org]).ok();
        vault.run(&["pki", "init", "--org", &org]).ok();
        Self { vault, org }
    }

    /// A path next to (not inside) the data directory.
    fn file(&self, name: &str) -> PathBuf {
        self.vault.dir().parent().unwrap().join(name)
    }

    /// `export --json` with extra arguments into `out`; the report.
    fn export(&self, out: &Path, extra: &[&str], bundle_passphrase: Option<&str>) -> Value {
        let mut cmd = bin();
        if let Some(passphrase) = bundle_passphrase {
            cmd.env("CIM_KEYS_BUNDLE_PASSPHRASE", passphrase);
        }
        cmd.arg("--data-dir").arg(self.vault.dir()).args(["export", "--json", "--out", s(out)]).args(extra);
        let run = Run::from(cmd.stdin(Stdio::null()).output().unwrap());
        run.ok();
        let report = run.json();
        assert_eq!(report["written"], true, "{report}");
        report
    }

    fn head(&self) -> String {
        self.vault.counts().2.expect("the vault has a head")
    }
}

/// An X25519 identity made by `age-keygen -o`, and its recipient (`age-keygen -y`).
fn age_identity(path: &Path) -> String {
    let keygen = tool("age-keygen");
    run(&keygen, &["-o", s(path)]).ok();
    let recipient = run(&keygen, &["-y", s(path)]).ok();
    assert!(recipient.starts_with("age1"), "age-keygen -y printed {recipient:?}");
    recipient
}

/// Runs `tests/interop/read_car.py` on a plaintext CAR; its JSON summary.
fn read_car(car: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/read_car.py");
    let run = run(&python(), &[s(&script), s(car)]);
    assert_eq!(run.code, 0, "the independent reader refused {}: {}", car.display(), run.stderr);
    run.json()
}

/// What the independent reader must have found in a bundle the vault exported (`report`).
#[track_caller]
fn check_summary(summary: &Value, report: &Value, head: &str) {
    let m = &summary["manifest"];
    let n = |v: &Value| v.as_u64().unwrap();
    let graph = n(&m["graph"]["last"]) - n(&m["graph"]["first"]) + 1;
    let domain = n(&m["domain"]["last"]) - n(&m["domain"]["first"]) + 1;
    let artifacts = n(&m["artifacts"]);
    // Every block's CID recomputed by multiformats, and equal (else the reader exits 1).
    let blocks = n(&summary["blocks"]);
    assert_eq!(n(&summary["cids_recomputed"]), blocks);
    assert_eq!(summary["cids"].as_array().unwrap().len() as u64, blocks);
    assert_eq!(blocks, 1 + graph + domain + artifacts, "manifest block + graph + domain + artifacts");
    assert_eq!(n(&summary["codecs"]["dag-cbor"]), 1 + graph + domain);
    assert_eq!(summary["codecs"]["raw"].as_u64().unwrap_or(0), artifacts);
    assert_eq!(n(&summary["graph_events"]), graph);
    assert_eq!(n(&summary["domain_events"]), domain);
    assert_eq!(n(&summary["artifacts"]), artifacts);
    assert_eq!(summary["chain"].as_array().unwrap().len() as u64, graph, "the chain from the head to the base");
    assert_eq!(summary["signature"], "verified", "openssl verifies the manifest's Ed25519 signature");
    // The head: the CAR root, the manifest's, the export report's and `status --json`'s.
    assert_eq!(summary["head"], head);
    assert_eq!(summary["roots"], serde_json::json!([head]));
    assert_eq!(m["head"], head);
    assert_eq!(report["head"], head);
    assert_eq!(summary["manifest_cid"], report["manifest"]);
    assert_eq!(
        (graph, domain, artifacts),
        (
            n(&report["graph"][1]) - n(&report["graph"][0]) + 1,
            n(&report["domain"][1]) - n(&report["domain"][0]) + 1,
            n(&report["artifacts"])
        )
    );
    assert_eq!(m["format"], "cim-keys-bundle");
    assert_eq!(m["v"], 1);
}

#[test]
fn age_and_an_independent_car_reader_open_a_bundle_encrypted_to_a_recipient() {
    let age = tool("age");
    let fx = Fixture::new();
    let identity = fx.file("id.txt");
    let recipient = age_identity(&identity);

    // The whole history.
    let out = fx.file("card");
    let report = fx.export(&out, &["--recipient", &recipient], None);
    let bundle = PathBuf::from(report["file"].as_str().unwrap());
    let plain = fx.file("plain.car");
    run(&age, &["-d", "-i", s(&identity), "-o", s(&plain), s(&bundle)]).ok();
    let summary = read_car(&plain);
    let head = fx.head();
    check_summary(&summary, &report, &head);
    assert_eq!(summary["base"], Value::Null, "the first bundle starts the history");
    assert_eq!(summary["artifacts_referenced_missing"], serde_json::json!([]), "a full export carries every JWT");
    assert!(summary["artifacts"].as_u64().unwrap() >= 5, "operator, account and user JWTs, CA certificates");
    let public: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(report["public_dir"].as_str().unwrap()).join("manifest.json")).unwrap(),
    )
    .unwrap();
    for field in ["vault", "device", "created_at", "head", "base"] {
        assert_eq!(public[field], summary["manifest"][field], "manifest.json and the signed manifest: {field}");
    }

    // What came after: an incremental bundle whose chain ends at the first one's head.
    fx.vault.run(&["person", "add", "--org", &fx.org, "--name", "Bob", "--email", "bob@acme.example"]).ok();
    let report2 = fx.export(&out, &["--recipient", &recipient, "--since-last"], None);
    assert_eq!(report2["incremental"], true, "{report2}");
    let plain2 = fx.file("plain2.car");
    run(&age, &["-d", "-i", s(&identity), "-o", s(&plain2), report2["file"].as_str().unwrap()]).ok();
    let summary2 = read_car(&plain2);
    check_summary(&summary2, &report2, &fx.head());
    assert_eq!(summary2["base"], head.as_str(), "the second bundle continues the first");

    // The other way: a CAR that Go's age encrypted imports into a fresh vault...
    let fresh = Vault::uninitialized();
    drop(library_vault(fresh.dir()));
    let reencrypted = fx.file("by-age.age");
    run(&age, &["-e", "-r", &recipient, "-o", s(&reencrypted), s(&plain)]).ok();
    fresh.run(&["import", s(&reencrypted), "--identity", s(&identity)]).ok();
    assert_eq!(fresh.counts().2.as_deref(), Some(head.as_str()));

    // ... and random bytes that it encrypted to our recipient are refused, changing nothing.
    let junk = fx.file("junk.bin");
    let mut bytes = Vec::with_capacity(64 * 1024);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while bytes.len() < 64 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&junk, &bytes).unwrap();
    let junk_age = fx.file("junk.age");
    run(&age, &["-e", "-r", &recipient, "-o", s(&junk_age), s(&junk)]).ok();
    let before = fresh.counts();
    let refused = fresh.run(&["import", s(&junk_age), "--identity", s(&identity)]);
    assert_ne!(refused.code, 0, "random bytes imported: {refused:?}");
    let message = refused.stderr.trim();
    assert!(
        message.starts_with("error: ") && message.contains("malformed") && message.lines().count() == 1,
        "not a clear one-line error: {message:?}"
    );
    assert_eq!(fresh.counts(), before, "a refused import changed the vault");
    // The independent reader refuses the same bytes.
    let read = run(&python(), &[&format!("{}/tests/interop/read_car.py", env!("CARGO_MANIFEST_DIR")), s(&junk)]);
    assert_eq!(read.code, 1, "{read:?}");
}

/// `age -d` of a passphrase bundle under `script`, which gives it the terminal it reads the
/// passphrase from; the passphrase is typed once age has asked for it.
fn age_decrypt_with_passphrase(input: &Path, output: &Path, passphrase: &str) -> Run {
    let age = tool("age");
    let script = tool("script");
    let quote = |p: &Path| format!("'{}'", s(p).replace('\'', r"'\''"));
    let command = format!("{} -d -o {} {}", quote(&age), quote(output), quote(input));
    let mut child = Command::new(script)
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("script (Debian package bsdutils) does not run ({e}): {PREREQUISITES}"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut stdin = child.stdin.take().unwrap();
    let mut typed = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if !typed && String::from_utf8_lossy(&seen.lock().unwrap()).contains("passphrase") {
            stdin.write_all(format!("{passphrase}\n").as_bytes()).unwrap();
            stdin.flush().unwrap();
            typed = true;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "age -d under script did not finish in 60 s; it printed {:?}",
                String::from_utf8_lossy(&seen.lock().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    reader.join().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let stdout = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    Run { code: status.code().unwrap_or(-1), stdout, stderr }
}

#[test]
fn age_decrypts_a_bundle_encrypted_to_a_passphrase() {
    let fx = Fixture::new();
    let out = fx.file("card");
    let report = fx.export(&out, &[], Some(BUNDLE_PASSPHRASE));
    assert_eq!(report["encrypted_to"], serde_json::json!(["passphrase"]), "{report}");
    let bundle = PathBuf::from(report["file"].as_str().unwrap());

    let plain = fx.file("plain.car");
    let decrypted = age_decrypt_with_passphrase(&bundle, &plain, BUNDLE_PASSPHRASE);
    assert_eq!(decrypted.code, 0, "age -d refused the passphrase: {decrypted:?}");
    check_summary(&read_car(&plain), &report, &fx.head());

    let wrong = fx.file("wrong.car");
    let refused = age_decrypt_with_passphrase(&bundle, &wrong, "not the passphrase");
    assert_ne!(refused.code, 0, "age -d accepted a wrong passphrase: {refused:?}");
}

#[test]
fn the_public_files_beside_a_bundle_are_accepted_by_openssl_and_nats_server() {
    let openssl = tool("openssl");
    let nats_server = tool("nats-server");
    let fx = Fixture::new();
    let identity = fx.file("id.txt");
    let recipient = age_identity(&identity);
    let report = fx.export(&fx.file("card"), &["--recipient", &recipient], None);
    let files: Vec<PathBuf> =
        report["public_files"].as_array().unwrap().iter().map(|f| PathBuf::from(f.as_str().unwrap())).collect();
    let named = |prefix: &str, ext: &str| -> Vec<&PathBuf> {
        files
            .iter()
            .filter(|f| {
                let name = f.file_name().unwrap().to_str().unwrap();
                name.starts_with(prefix) && name.ends_with(ext)
            })
            .collect()
    };

    let certificates = [named("root-ca", ".pem"), named("intermediate-ca", ".pem")];
    for (kind, found) in ["root", "intermediate"].iter().zip(&certificates) {
        assert_eq!(found.len(), 1, "one {kind} CA certificate in {files:?}");
        let text = run(&openssl, &["x509", "-in", s(found[0]), "-noout", "-text"]).ok();
        assert!(text.contains("CA:TRUE"), "{kind}: {text}");
    }
    let chain = run(&openssl, &["verify", "-CAfile", s(certificates[0][0]), s(certificates[1][0])]);
    assert!(chain.ok().ends_with(": OK"), "{chain:?}");

    // `nats-server -t`: test the configuration and exit (nats-server 2.15 has the flag).
    let configs = named("nats-server", ".conf");
    assert_eq!(configs.len(), 1, "one nats-server.conf in {files:?}");
    let tested = run(&nats_server, &["-t", "-c", s(configs[0])]);
    assert_eq!(tested.code, 0, "nats-server -t refused {}: {tested:?}", configs[0].display());
    assert!(format!("{}{}", tested.stdout, tested.stderr).contains("is valid"), "{tested:?}");
    let jwts = named("", ".jwt");
    assert!(jwts.len() >= 3, "operator and account JWTs: {files:?}");
}
