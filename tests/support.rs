//! Running the real binary against a temp data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

/// The passphrase the test vaults are created with.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// A test vault created through the library, with the cheapest KDF parameters.
pub fn library_vault(dir: &Path) -> cim_keys::app::Vault {
    let passphrase = cim_keys::crypto::keystore::Passphrase::new(PASSPHRASE.to_owned()).unwrap();
    cim_keys::app::Vault::init_with_kdf(dir, &passphrase, cim_keys::crypto::keystore::KdfParams::MINIMUM).unwrap()
}

/// The binary under test.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cim-keys"));
    cmd.env_remove("CIM_KEYS_DATA_DIR").env_remove("CIM_KEYS_NEW_PASSPHRASE").env("CIM_KEYS_PASSPHRASE", PASSPHRASE);
    cmd
}

/// What a run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The stdout, trimmed, of a successful run.
    #[track_caller]
    pub fn ok(&self) -> String {
        assert_eq!(self.code, 0, "expected success, got {self:?}");
        self.stdout.trim().to_owned()
    }

    /// The stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {self:?}"))
    }
}

/// A data directory with an initialized vault.
#[derive(Debug)]
pub struct Vault {
    _tmp: TempDir,
    dir: PathBuf,
}

impl Vault {
    /// A fresh vault.
    pub fn new() -> Self {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("vault");
        let vault = Self { _tmp: tmp, dir };
        vault.run(&["init"]).ok();
        vault
    }

    /// A data directory with nothing in it yet.
    pub fn uninitialized() -> Self {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("vault");
        Self { _tmp: tmp, dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn db(&self) -> PathBuf {
        self.dir.join("vault.sqlite")
    }

    /// Runs the binary with `--data-dir` set to this vault.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(bin().arg("--data-dir").arg(&self.dir).args(args).output().unwrap())
    }

    /// Runs the binary with the data directory given through the environment.
    pub fn run_env(&self, args: &[&str]) -> Run {
        Run::from(bin().env("CIM_KEYS_DATA_DIR", &self.dir).args(args).output().unwrap())
    }

    /// (domain events, graph events, head) from `status --json`.
    pub fn counts(&self) -> (u64, u64, Option<String>) {
        let status = self.run(&["status", "--json"]).json();
        let s = &status["status"];
        (
            s["domain_events"].as_u64().unwrap(),
            s["graph_events"].as_u64().unwrap(),
            s["head"].as_str().map(str::to_owned),
        )
    }

    /// Opens the database directly, as an attacker or a disk fault would.
    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db()).unwrap()
    }
}

/// An organization with a nested unit, a person and a role, built through the CLI.
#[derive(Debug)]
pub struct Org {
    pub org: String,
    pub eng: String,
    pub ops: String,
    pub ann: String,
    pub officer: String,
}

pub fn acme(vault: &Vault) -> Org {
    let org = vault.run(&["org", "create", "--name", "Acme Corp", "--domain", "acme.example"]).ok();
    let eng = vault.run(&["unit", "create", "--org", &org, "--name", "Engineering"]).ok();
    let ops = vault.run(&["unit", "create", "--org", &org, "--name", "Operations", "--parent", &eng]).ok();
    let ann = vault
        .run(&["person", "add", "--org", &org, "--name", "Ann", "--email", "ann@acme.example", "--unit", &ops])
        .ok();
    let officer = vault.run(&["role", "define", "--org", &org, "--name", "Security Officer"]).ok();
    vault.run(&["role", "assign", "--role", &officer, "--person", &ann]).ok();
    Org { org, eng, ops, ann, officer }
}
