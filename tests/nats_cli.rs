//! `cim-keys nats …` through the real binary, on a real vault in a temp dir.
//!
//! With the `sync` feature, one acceptance test drives an organization through bootstrap,
//! creds, revocation, units and people added later, and both kinds of signing key rotation,
//! checking each step against a real `nats-server` (three server starts in all). Without a
//! server: every seed the vault sealed is nowhere else — not in the database file, its WAL,
//! the server configuration or any output, in any encoding; and bad input gets a one-line
//! error, the documented exit code, and changes nothing.
//!
//! The vaults are created through the library with the cheapest KDF parameters (the CLI then
//! uses what the vault records), so the many unlocks stay fast.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{PASSPHRASE, Run, Vault, bin, library_vault};

/// A vault used through the CLI that keeps every stdout and stderr, for the secrets scan.
struct Cli {
    vault: Vault,
    outputs: RefCell<Vec<u8>>,
}

impl Cli {
    /// A vault with [`cim_keys::crypto::keystore::KdfParams::MINIMUM`].
    fn new() -> Self {
        let vault = Vault::uninitialized();
        drop(library_vault(vault.dir()));
        Self { vault, outputs: RefCell::new(Vec::new()) }
    }

    fn dir(&self) -> &Path {
        self.vault.dir()
    }

    /// A path for an output file, next to (not inside) the data directory.
    fn file(&self, name: &str) -> PathBuf {
        self.dir().parent().unwrap().join(name)
    }

    fn keep(&self, run: Run) -> Run {
        let mut outputs = self.outputs.borrow_mut();
        outputs.extend_from_slice(run.stdout.as_bytes());
        outputs.extend_from_slice(run.stderr.as_bytes());
        run
    }

    fn run(&self, args: &[&str]) -> Run {
        self.keep(self.vault.run(args))
    }

    /// Runs with neither `CIM_KEYS_PASSPHRASE` nor a terminal on stdin.
    fn run_without_passphrase(&self, args: &[&str]) -> Run {
        let output = bin()
            .env_remove("CIM_KEYS_PASSPHRASE")
            .stdin(std::process::Stdio::null())
            .arg("--data-dir")
            .arg(self.dir())
            .args(args)
            .output()
            .unwrap();
        self.keep(Run::from(output))
    }

    fn run_with_passphrase(&self, passphrase: &str, args: &[&str]) -> Run {
        let output =
            bin().env("CIM_KEYS_PASSPHRASE", passphrase).arg("--data-dir").arg(self.dir()).args(args).output().unwrap();
        self.keep(Run::from(output))
    }

    /// (domain events, graph events, head).
    fn counts(&self) -> (u64, u64, Option<String>) {
        self.vault.counts()
    }

    /// `nats list --json`.
    fn tree(&self, org: &str) -> Tree {
        Tree(self.run(&["nats", "list", "--org", org, "--json"]).json())
    }

    /// Writes a user's creds file and checks its mode and last byte.
    fn creds(&self, user: &str, name: &str) -> PathBuf {
        let path = self.file(&format!("{name}.creds"));
        let run = self.run(&["nats", "creds", "--user", user, "--out", path.to_str().unwrap()]);
        run.ok();
        check_creds_file(&path);
        path
    }

    /// Writes the organization's server configuration with JetStream in `jetstream_dir`.
    fn server_config(&self, org: &str, name: &str, jetstream_dir: &Path) -> String {
        let path = self.file(&format!("{name}.nats.conf"));
        self.run(&[
            "nats",
            "server-config",
            "--org",
            org,
            "--out",
            path.to_str().unwrap(),
            "--jetstream-dir",
            jetstream_dir.to_str().unwrap(),
        ])
        .ok();
        std::fs::read_to_string(path).unwrap()
    }

    fn rotate(&self, key: &str) -> Value {
        self.run(&["nats", "rotate-signing-key", "--key", key, "--json"]).json()
    }
}

#[track_caller]
fn check_creds_file(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{} is mode {mode:o}", path.display());
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "a creds file ends with a newline: {text:?}");
    assert!(text.starts_with("-----BEGIN NATS USER JWT-----\n"), "{}", path.display());
}

/// The seed (`SU…`) inside a creds file.
fn creds_seed(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let seed = text.lines().find(|l| l.starts_with("SU")).expect("a user seed line").to_owned();
    assert_eq!(seed.len(), 58, "{seed}");
    seed
}

/// `nats list --json`: {operator, accounts[], users[]}.
#[derive(Debug)]
struct Tree(Value);

impl Tree {
    fn accounts(&self) -> &Vec<Value> {
        self.0["accounts"].as_array().unwrap()
    }

    fn users(&self) -> &Vec<Value> {
        self.0["users"].as_array().unwrap()
    }

    fn operator_signing_keys(&self) -> Vec<String> {
        self.0["operator"]["signing_keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_owned()).collect()
    }

    /// The account of a unit, or with `None` the organization account.
    #[track_caller]
    fn account(&self, unit: Option<&str>) -> &Value {
        let found = self.accounts().iter().find(|a| a["system"] == false && a["unit_id"].as_str() == unit);
        found.unwrap_or_else(|| panic!("no account for unit {unit:?}: {:#}", self.0))
    }

    #[track_caller]
    fn system_account(&self) -> &Value {
        self.accounts().iter().find(|a| a["system"] == true).unwrap()
    }

    /// A person's user.
    #[track_caller]
    fn user(&self, person: &str) -> &Value {
        let found = self.users().iter().find(|u| u["person_id"] == person);
        found.unwrap_or_else(|| panic!("no user for person {person}: {:#}", self.0))
    }

    fn user_id(&self, person: &str) -> String {
        self.user(person)["id"].as_str().unwrap().to_owned()
    }

    /// The scoped `member` key of an account.
    #[track_caller]
    fn member_key(account: &Value) -> String {
        let keys = account["signing_keys"].as_array().unwrap();
        let member = keys.iter().find(|k| k["role"] == "member").unwrap_or_else(|| panic!("{account:#}"));
        member["public_key"].as_str().unwrap().to_owned()
    }

    /// Every public key listed (operator, its signing keys, accounts, their signing keys, users).
    fn public_keys(&self) -> BTreeSet<String> {
        let mut keys: BTreeSet<String> = self.operator_signing_keys().into_iter().collect();
        keys.insert(self.0["operator"]["public_key"].as_str().unwrap().to_owned());
        for account in self.accounts() {
            keys.insert(account["public_key"].as_str().unwrap().to_owned());
            for key in account["signing_keys"].as_array().unwrap() {
                keys.insert(key["public_key"].as_str().unwrap().to_owned());
            }
        }
        for user in self.users() {
            keys.insert(user["public_key"].as_str().unwrap().to_owned());
        }
        keys
    }
}

/// An organization: Engineering with Platform nested in it; ann and bob in Engineering, carol
/// in Platform and Engineering (so Engineering's account, the unit created first), erin in
/// Platform, dave in no unit; ann is Security Officer.
#[derive(Debug)]
struct Org {
    org: String,
    eng: String,
    plat: String,
    ann: String,
    bob: String,
    carol: String,
    dave: String,
    erin: String,
}

fn organization(cli: &Cli) -> Org {
    let org = cli.run(&["org", "create", "--name", "Acme Corp", "--domain", "acme.example"]).ok();
    let eng = cli.run(&["unit", "create", "--org", &org, "--name", "Engineering"]).ok();
    let plat = cli.run(&["unit", "create", "--org", &org, "--name", "Platform", "--parent", &eng]).ok();
    let person = |name: &str, units: &[&str]| {
        let email = format!("{}@acme.example", name.to_lowercase());
        let mut args = vec!["person", "add", "--org", &org, "--name", name, "--email", &email];
        for unit in units {
            args.extend(["--unit", *unit]);
        }
        cli.run(&args).ok()
    };
    let ann = person("Ann", &[&eng]);
    let bob = person("Bob", &[&eng]);
    let carol = person("Carol", &[&plat, &eng]);
    let dave = person("Dave", &[]);
    let erin = person("Erin", &[&plat]);
    let officer = cli.run(&["role", "define", "--org", &org, "--name", "Security Officer"]).ok();
    cli.run(&["role", "assign", "--role", &officer, "--person", &ann]).ok();
    Org { org, eng, plat, ann, bob, carol, dave, erin }
}

/// Bootstraps and checks the hierarchy `nats list` shows.
fn bootstrap(cli: &Cli, o: &Org) -> Tree {
    let report = cli.run(&["nats", "bootstrap", "--org", &o.org, "--json"]).json();
    assert_eq!(report["accounts"], 4, "system, organization, two units: {report:#}");
    assert_eq!(report["users"], 5, "{report:#}");
    let tree = cli.tree(&o.org);
    assert_eq!(tree.0["operator"]["public_key"], report["operator_key"]);
    assert_eq!(tree.operator_signing_keys().len(), 1);
    assert_eq!(tree.accounts().len(), 4);
    let system = tree.system_account();
    assert_eq!(system["name"], "SYS");
    assert_eq!(system["public_key"], tree.0["operator"]["system_account"]);
    let org_account = tree.account(None);
    assert_eq!(org_account["name"], "Acme Corp");
    for account in [org_account, tree.account(Some(&o.eng)), tree.account(Some(&o.plat))] {
        assert_eq!(account["jetstream"], true, "{account:#}");
        let roles: Vec<&Value> = account["signing_keys"].as_array().unwrap().iter().map(|k| &k["role"]).collect();
        assert_eq!(roles, [&Value::from("member"), &Value::Null], "a scoped member key and a plain one: {account:#}");
    }
    assert_eq!(tree.account(Some(&o.eng))["name"], "Engineering");
    assert_eq!(tree.users().len(), 5);
    for (person, unit) in [
        (&o.ann, Some(&o.eng)),
        (&o.bob, Some(&o.eng)),
        (&o.carol, Some(&o.eng)),
        (&o.dave, None),
        (&o.erin, Some(&o.plat)),
    ] {
        let account = tree.account(unit.map(String::as_str));
        let user = tree.user(person);
        assert_eq!(user["account_id"], account["id"], "{user:#}");
        assert_eq!(user["signer"].as_str().unwrap(), Tree::member_key(account), "{user:#}");
        assert_eq!(user["role"], "member");
        assert!(user["revoked_at"].is_null());
    }
    assert_eq!(tree.user(&o.ann)["name"], "ann@acme.example");
    tree
}

/// Adds a unit (Security) and a person in it, and a person in Engineering, after bootstrap:
/// they get an account and users in the same command. Returns (security unit, frank, gina).
fn grow(cli: &Cli, o: &Org) -> (String, String, String) {
    let before = cli.tree(&o.org);
    let security = cli.run(&["unit", "create", "--org", &o.org, "--name", "Security"]).ok();
    let frank = cli
        .run(&[
            "person",
            "add",
            "--org",
            &o.org,
            "--name",
            "Frank",
            "--email",
            "frank@acme.example",
            "--unit",
            &security,
        ])
        .ok();
    let gina = cli
        .run(&["person", "add", "--org", &o.org, "--name", "Gina", "--email", "gina@acme.example", "--unit", &o.eng])
        .ok();
    let tree = cli.tree(&o.org);
    assert_eq!(tree.accounts().len(), before.accounts().len() + 1);
    let account = tree.account(Some(&security));
    assert_eq!(account["name"], "Security");
    assert_eq!(account["jetstream"], true);
    assert_eq!(tree.user(&frank)["account_id"], account["id"]);
    assert_eq!(tree.user(&frank)["signer"].as_str().unwrap(), Tree::member_key(account));
    let eng = tree.account(Some(&o.eng));
    assert_eq!(tree.user(&gina)["account_id"], eng["id"]);
    assert_eq!(tree.user(&gina)["signer"].as_str().unwrap(), Tree::member_key(eng));
    // The existing accounts were not touched.
    for old in before.accounts() {
        assert!(tree.accounts().contains(old), "{old:#}");
    }
    (security, frank, gina)
}

/// The ids in a rotation report's `reissued` of one kind.
fn reissued(report: &Value, kind: &str) -> BTreeSet<String> {
    let all = report["reissued"].as_array().unwrap();
    all.iter().filter(|r| r["kind"] == kind).map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

/// Each id's entry in `nats list` carries the JWT the report names.
#[track_caller]
fn report_matches(report: &Value, tree: &Tree) {
    for r in report["reissued"].as_array().unwrap() {
        let row = match r["kind"].as_str().unwrap() {
            "operator" => &tree.0["operator"],
            "account" => tree.accounts().iter().find(|a| a["id"] == r["id"]).unwrap(),
            _ => tree.users().iter().find(|u| u["id"] == r["id"]).unwrap(),
        };
        assert_eq!(row["jwt"], r["jwt"], "{r:#}");
        assert_eq!(row["public_key"], r["public_key"], "{r:#}");
    }
}

/// Unit account member key rotation: the account first, then its live users; the revoked one
/// skipped.
fn rotate_member_key(cli: &Cli, o: &Org, users: &[&str], revoked: &str) -> Value {
    let tree = cli.tree(&o.org);
    let eng = tree.account(Some(&o.eng));
    let old = Tree::member_key(eng);
    let report = cli.rotate(&old);
    assert_eq!(report["old_key"], old.as_str());
    let new = report["new_key"].as_str().unwrap().to_owned();
    assert!(new.starts_with('A') && new != old, "{report:#}");
    assert_eq!(report["reissued"][0]["kind"], "account", "the owner's JWT first: {report:#}");
    assert_eq!(report["reissued"][0]["id"], eng["id"]);
    assert_eq!(reissued(&report, "account").len(), 1);
    let expected: BTreeSet<String> = users.iter().map(|p| tree.user_id(p)).collect();
    assert_eq!(reissued(&report, "user"), expected, "{report:#}");
    assert_eq!(report["skipped_revoked"], serde_json::json!([tree.user_id(revoked)]));

    let after = cli.tree(&o.org);
    report_matches(&report, &after);
    let eng_after = after.account(Some(&o.eng));
    assert_eq!(Tree::member_key(eng_after), new, "the new key takes the old one's place and role");
    assert_eq!(eng_after["signing_keys"][1], eng["signing_keys"][1], "the plain key is unchanged");
    for person in users {
        assert_eq!(after.user(person)["signer"].as_str().unwrap(), new);
        let claims = cli.run(&["nats", "show", "--id", &after.user_id(person), "--json"]).json();
        assert_eq!(claims["claims"]["iss"].as_str().unwrap(), new);
        assert_eq!(claims["claims"]["nats"]["issuer_account"], eng["public_key"]);
    }
    assert_eq!(after.user(revoked)["signer"].as_str().unwrap(), old, "the revoked user is left as it was");
    report
}

/// Operator signing key rotation: the operator, then every account.
fn rotate_operator_key(cli: &Cli, o: &Org) -> Value {
    let tree = cli.tree(&o.org);
    let old = tree.operator_signing_keys()[0].clone();
    let report = cli.rotate(&old);
    let new = report["new_key"].as_str().unwrap().to_owned();
    assert!(new.starts_with('O') && new != old, "{report:#}");
    assert_eq!(report["reissued"][0]["kind"], "operator", "{report:#}");
    let accounts: BTreeSet<String> = tree.accounts().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(reissued(&report, "account"), accounts, "every account is re-issued: {report:#}");
    assert!(reissued(&report, "user").is_empty());
    assert_eq!(report["skipped_revoked"], serde_json::json!([]));
    let after = cli.tree(&o.org);
    report_matches(&report, &after);
    assert_eq!(after.operator_signing_keys(), std::slice::from_ref(&new));
    for account in after.accounts() {
        let claims = cli.run(&["nats", "show", "--id", account["id"].as_str().unwrap(), "--json"]).json();
        assert_eq!(claims["claims"]["iss"].as_str().unwrap(), new, "{account:#}");
    }
    report
}

#[cfg(feature = "sync")]
mod server {
    //! Against a real nats-server process.

    use std::path::Path;

    use super::*;
    use crate::support::nats_server::{RawClient, Server, accepted, alter, refused};

    /// Writes `text` as a creds file (mode 0600).
    fn write_creds(path: &Path, text: &str) {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    /// The user JWT inside a creds file.
    fn creds_jwt(path: &Path) -> String {
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let at = lines.iter().position(|l| *l == "-----BEGIN NATS USER JWT-----").unwrap();
        lines[at + 1].to_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_real_nats_server_accepts_bootstrap_creds_and_follows_revocation_and_rotation() {
        let cli = Cli::new();
        let o = organization(&cli);
        let tree = bootstrap(&cli, &o);
        let work = cli.file("server");
        std::fs::create_dir(&work).unwrap();
        let js_dir = work.join("jetstream");

        // First server: the configuration straight after bootstrap.
        let config = cli.server_config(&o.org, "first", &js_dir);
        assert!(config.contains("resolver: MEMORY") && config.contains("jetstream"), "{config}");
        let server = Server::start(&work, "first", &config);
        let ann_creds = cli.creds(&tree.user_id(&o.ann), "ann");
        let bob_creds = cli.creds(&tree.user_id(&o.bob), "bob");
        let dave_creds = cli.creds(&tree.user_id(&o.dave), "dave");

        // Publish/subscribe round trip: ann (async-nats) asks, bob (a raw client with his
        // creds file) answers.
        let ann = accepted(&server, &ann_creds, "ann connects").await;
        let mut bob = RawClient::connect_creds(&server, &bob_creds);
        bob.subscribe("eng.ping");
        let responder = tokio::task::spawn_blocking(move || {
            let request = bob.next();
            let mut answer = b"pong: ".to_vec();
            answer.extend_from_slice(&request.payload);
            bob.publish(request.reply.as_deref().expect("a request has a reply subject"), &answer);
            request.subject
        });
        let answer = ann.request("eng.ping", "ping".into()).await.expect("bob answers ann");
        assert_eq!(answer.payload.as_ref(), b"pong: ping");
        assert_eq!(responder.await.unwrap(), "eng.ping");

        // JetStream in the Engineering account: create a stream, publish, read it back.
        let js = async_nats::jetstream::new(ann.clone());
        let stream = js
            .create_stream(async_nats::jetstream::stream::Config {
                name: "ENG".into(),
                subjects: vec!["eng.events.>".into()],
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("JetStream is enabled for the unit account: {e}\n{}", server.log_text()));
        let ack = js.publish("eng.events.created", "event 1".into()).await.unwrap().await.unwrap();
        assert_eq!(ack.stream, "ENG");
        assert_eq!(stream.get_raw_message(ack.sequence).await.unwrap().payload.as_ref(), b"event 1");

        // dave, in no unit, is in the organization account.
        let dave = accepted(&server, &dave_creds, "dave connects").await;
        dave.publish("org.hello", "hi".into()).await.unwrap();
        dave.flush().await.unwrap();

        // One altered byte in the payload of ann's JWT: refused.
        let text = std::fs::read_to_string(&ann_creds).unwrap();
        let token = creds_jwt(&ann_creds);
        let tampered = text.replace(&token, &alter(&token, 1));
        assert_ne!(tampered, text);
        let tampered_path = cli.file("ann-tampered.creds");
        write_creds(&tampered_path, &tampered);
        refused(&server, &tampered_path, "ann's JWT with one payload byte altered").await;
        drop((ann, dave));
        drop(server);

        // Revoke bob; add a unit and people after bootstrap.
        cli.run(&["nats", "revoke-user", "--user", &tree.user_id(&o.bob)]).ok();
        let revoked = cli.tree(&o.org);
        assert!(revoked.user(&o.bob)["revoked_at"].as_i64().is_some());
        assert!(revoked.user(&o.ann)["revoked_at"].is_null());
        let (_, frank, gina) = grow(&cli, &o);
        let tree = cli.tree(&o.org);

        // Second server: bob is refused, ann is not; the newcomers connect.
        let config = cli.server_config(&o.org, "second", &js_dir);
        let server = Server::start(&work, "second", &config);
        refused(&server, &bob_creds, "revoked bob").await;
        let ann = accepted(&server, &ann_creds, "ann still connects").await;
        let stream = async_nats::jetstream::new(ann).get_stream("ENG").await.unwrap();
        assert_eq!(stream.get_raw_message(ack.sequence).await.unwrap().payload.as_ref(), b"event 1");
        let frank_creds = cli.creds(&tree.user_id(&frank), "frank");
        let frank_client = accepted(&server, &frank_creds, "frank (unit added after bootstrap) connects").await;
        let frank_js = async_nats::jetstream::new(frank_client);
        frank_js
            .create_stream(async_nats::jetstream::stream::Config {
                name: "SEC".into(),
                subjects: vec!["sec.>".into()],
                ..Default::default()
            })
            .await
            .expect("JetStream is enabled for a unit account added after bootstrap");
        let gina_creds = cli.creds(&tree.user_id(&gina), "gina");
        accepted(&server, &gina_creds, "gina (person added after bootstrap) connects").await;
        let erin_creds = cli.creds(&tree.user_id(&o.erin), "erin");
        accepted(&server, &erin_creds, "erin connects").await;
        drop(server);

        // Revoke erin (Platform); rotate Engineering's member key, then the operator's
        // signing key, which re-issues every account: erin's revocation must survive it.
        cli.run(&["nats", "revoke-user", "--user", &tree.user_id(&o.erin)]).ok();
        let ann_before_rotation = ann_creds;
        rotate_member_key(&cli, &o, &[o.ann.as_str(), o.carol.as_str(), gina.as_str()], &o.bob);
        rotate_operator_key(&cli, &o);
        // Units and people added after the rotations are issued by the new keys.
        let research = cli.run(&["unit", "create", "--org", &o.org, "--name", "Research"]).ok();
        let hank = cli
            .run(&[
                "person",
                "add",
                "--org",
                &o.org,
                "--name",
                "Hank",
                "--email",
                "hank@acme.example",
                "--unit",
                &research,
            ])
            .ok();
        let ivy = cli
            .run(&["person", "add", "--org", &o.org, "--name", "Ivy", "--email", "ivy@acme.example", "--unit", &o.eng])
            .ok();
        let tree = cli.tree(&o.org);
        assert_eq!(tree.user(&ivy)["signer"].as_str().unwrap(), Tree::member_key(tree.account(Some(&o.eng))));

        // Third server: creds made before the rotation are refused (old signer); fresh ones
        // connect; users of accounts whose keys did not change still connect.
        let config = cli.server_config(&o.org, "third", &js_dir);
        let server = Server::start(&work, "third", &config);
        refused(&server, &ann_before_rotation, "ann's creds signed by the retired key").await;
        refused(&server, &gina_creds, "gina's creds signed by the retired key").await;
        let ann = accepted(&server, &cli.creds(&tree.user_id(&o.ann), "ann-rotated"), "ann's fresh creds").await;
        accepted(&server, &cli.creds(&tree.user_id(&o.carol), "carol"), "carol's fresh creds").await;
        accepted(&server, &cli.creds(&tree.user_id(&gina), "gina-rotated"), "gina's fresh creds").await;
        accepted(&server, &dave_creds, "dave (organization account) after the operator rotation").await;
        accepted(&server, &frank_creds, "frank (Security account) after the operator rotation").await;
        refused(&server, &erin_creds, "erin, revoked before the operator rotation").await;
        accepted(&server, &cli.creds(&tree.user_id(&hank), "hank"), "hank (unit added after the rotations)").await;
        accepted(&server, &cli.creds(&tree.user_id(&ivy), "ivy"), "ivy (added after the rotations)").await;
        let stream = async_nats::jetstream::new(ann).get_stream("ENG").await.unwrap();
        assert_eq!(stream.get_raw_message(ack.sequence).await.unwrap().payload.as_ref(), b"event 1");
        drop(server);

        assert!(cli.run(&["verify", "--deep"]).ok().starts_with("ok:"));
    }
}

/// Every encoding of a secret we look for.
fn encodings(raw: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    use data_encoding::{BASE32_NOPAD, BASE64_NOPAD, BASE64URL_NOPAD, HEXLOWER, HEXUPPER};
    vec![
        ("raw", raw.to_vec()),
        ("hex", HEXLOWER.encode(raw).into_bytes()),
        ("HEX", HEXUPPER.encode(raw).into_bytes()),
        // Unpadded text is a prefix of the padded one: finding it finds both.
        ("base64", BASE64_NOPAD.encode(raw).into_bytes()),
        ("base64url", BASE64URL_NOPAD.encode(raw).into_bytes()),
        ("base32", BASE32_NOPAD.encode(raw).into_bytes()),
    ]
}

/// Secrets to look for: (whose, which encoding, bytes), all at least 8 bytes long.
#[derive(Debug, Default)]
struct Needles {
    all: Vec<(String, &'static str, Vec<u8>)>,
}

impl Needles {
    fn add(&mut self, whose: &str, encoding: &'static str, bytes: Vec<u8>) {
        assert!(bytes.len() >= 8);
        self.all.push((whose.to_owned(), encoding, bytes));
    }

    /// The first needle (other than `except`'s) found in `haystack`, in one pass over it
    /// (needles indexed by their first 8 bytes, so a debug build scans megabytes quickly).
    fn find(&self, haystack: &[u8], except: Option<&str>) -> Option<(&str, &'static str)> {
        let mut index: std::collections::HashMap<&[u8], Vec<usize>> = std::collections::HashMap::new();
        for (i, (whose, _, bytes)) in self.all.iter().enumerate() {
            if Some(whose.as_str()) != except {
                index.entry(&bytes[..8]).or_default().push(i);
            }
        }
        for at in 0..haystack.len().saturating_sub(7) {
            let Some(candidates) = index.get(&haystack[at..at + 8]) else { continue };
            for &i in candidates {
                let (whose, encoding, bytes) = &self.all[i];
                if haystack[at..].starts_with(bytes) {
                    return Some((whose, encoding));
                }
            }
        }
        None
    }
}

#[test]
fn no_seed_and_no_passphrase_outside_the_sealed_rows() {
    use cim_keys::app::nats::{ACCOUNT_SEED_KIND, OPERATOR_SEED_KIND, USER_SEED_KIND};
    use cim_keys::crypto::keystore::Passphrase;
    use cim_keys::crypto::nats::{NKeyKind, NatsKeyPair};

    let cli = Cli::new();
    let o = organization(&cli);
    cli.run(&["key", "generate", "--owner", &o.ann]).ok();
    let tree = bootstrap(&cli, &o);
    let first_operator_key = tree.operator_signing_keys()[0].clone();
    let first_member_key = Tree::member_key(tree.account(Some(&o.eng)));
    let mut creds = vec![
        (tree.user(&o.ann)["public_key"].as_str().unwrap().to_owned(), cli.creds(&tree.user_id(&o.ann), "ann")),
        (tree.user(&o.dave)["public_key"].as_str().unwrap().to_owned(), cli.creds(&tree.user_id(&o.dave), "dave")),
    ];
    let (_, frank, gina) = grow(&cli, &o);
    cli.run(&["nats", "revoke-user", "--user", &tree.user_id(&o.bob)]).ok();
    rotate_member_key(&cli, &o, &[o.ann.as_str(), o.carol.as_str(), gina.as_str()], &o.bob);
    rotate_operator_key(&cli, &o);
    let tree = cli.tree(&o.org);
    for (person, name) in [(&o.ann, "ann-rotated"), (&frank, "frank")] {
        let public = tree.user(person)["public_key"].as_str().unwrap().to_owned();
        creds.push((public, cli.creds(&tree.user_id(person), name)));
    }
    let config = cli.server_config(&o.org, "scan", Path::new("/var/lib/nats/jetstream"));

    // Every sealed secret, opened through the library.
    let vault = cim_keys::app::Vault::open(cli.dir()).unwrap();
    let master = vault.unlock(&Passphrase::new(PASSPHRASE.to_owned()).unwrap()).unwrap();
    let ids: Vec<String> = {
        let conn = cli.vault.sql();
        let mut stmt = conn.prepare("SELECT id FROM secrets ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    let current = tree.public_keys();
    let sealed: BTreeSet<String> = ids.iter().cloned().collect();
    assert!(sealed.is_superset(&current), "missing seeds: {:?}", current.difference(&sealed).collect::<Vec<_>>());
    // Besides the current keys: ann's identity key, and the retired signing keys if kept.
    let identity_key = cli.run(&["key", "list", "--json"]).json()["keys"][0]["id"].as_str().unwrap().to_owned();
    let others: BTreeSet<String> = sealed.difference(&current).cloned().collect();
    assert!(others.contains(&identity_key), "{others:?}");
    // And the vault's device key, sealed under the device id (it signs export manifests).
    let device = cli.run(&["status", "--json"]).json()["status"]["device_id"].as_str().unwrap().to_owned();
    let allowed: BTreeSet<String> = [identity_key, first_operator_key, first_member_key, device].into();
    assert!(others.is_subset(&allowed), "unexpected secrets: {others:?}");

    let mut needles = Needles::default();
    needles.add("the passphrase", "text", PASSPHRASE.as_bytes().to_vec());
    let mut seed_texts = std::collections::BTreeMap::new();
    for id in &ids {
        let (kind, sealed) = vault.store().secret(id).unwrap().unwrap();
        let raw = cim_keys::crypto::keystore::open(&master, id, &kind, &sealed).unwrap();
        let raw = raw.expose_secret();
        for (encoding, bytes) in encodings(raw) {
            needles.add(id, encoding, bytes);
        }
        let nkind = match kind.as_str() {
            OPERATOR_SEED_KIND => Some(NKeyKind::Operator),
            ACCOUNT_SEED_KIND => Some(NKeyKind::Account),
            USER_SEED_KIND => Some(NKeyKind::User),
            _ => None,
        };
        if let Some(nkind) = nkind {
            let pair = NatsKeyPair::from_raw_seed(nkind, raw.try_into().unwrap()).unwrap();
            assert_eq!(pair.public_key(), id, "the sealed seed belongs to its key");
            let text = pair.seed().unwrap().expose_secret().to_owned();
            needles.add(id, "nkey seed", text.clone().into_bytes());
            seed_texts.insert(id.clone(), text);
        } else {
            assert!([cim_keys::app::SEED_KIND, cim_keys::app::DEVICE_SEED_KIND].contains(&kind.as_str()), "{kind}");
        }
    }
    assert_eq!(needles.all.len(), 1 + 6 * ids.len() + seed_texts.len());

    // The creds files hold their own seed, and no other secret.
    for (public, path) in &creds {
        let seed = creds_seed(path);
        assert_eq!(&seed, &seed_texts[public], "{}", path.display());
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(needles.find(&bytes, None), Some((public.as_str(), "nkey seed")), "{}", path.display());
        let found = needles.find(&bytes, Some(public));
        assert_eq!(found, None, "{} holds a secret other than its own seed", path.display());
    }

    // Nothing else holds any of them, nor the passphrase.
    let db = cli.vault.db();
    let mut places: Vec<(String, Vec<u8>)> = vec![
        ("the CLI's outputs".into(), cli.outputs.borrow().clone()),
        ("the server configuration".into(), config.into_bytes()),
    ];
    assert!(!places[0].1.is_empty());
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        if let Ok(bytes) = std::fs::read(&path) {
            places.push((PathBuf::from(path).display().to_string(), bytes));
        }
    }
    assert!(places.len() >= 3, "the database file was scanned");
    for (place, bytes) in &places {
        assert_eq!(needles.find(bytes, None), None, "{place} holds a secret (whose, encoding)");
    }
}

/// A one-line error with this exit code, saying `says`, and nothing on stdout.
#[track_caller]
fn assert_refused(run: &Run, code: i32, says: &str) {
    assert_eq!(run.code, code, "{run:?}");
    let stderr = run.stderr.trim_end();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("error: ") && stderr.contains(says), "expected {says:?}: {stderr:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[test]
fn bad_nats_requests_say_why_and_change_nothing() {
    let cli = Cli::new();
    let org = cli.run(&["org", "create", "--name", "Acme"]).ok();
    let eng = cli.run(&["unit", "create", "--org", &org, "--name", "Engineering"]).ok();
    let ann =
        cli.run(&["person", "add", "--org", &org, "--name", "Ann", "--email", "ann@acme.example", "--unit", &eng]).ok();
    let bob = cli.run(&["person", "add", "--org", &org, "--name", "Bob", "--email", "bob@acme.example"]).ok();
    let other = cli.run(&["org", "create", "--name", "Other"]).ok();
    cli.run(&["nats", "bootstrap", "--org", &org]).ok();
    let tree = cli.tree(&org);
    let ann_user = tree.user_id(&ann);
    let bob_user = tree.user_id(&bob);
    let unknown = "0192f0c1-7d3e-7a10-8b2c-5d9e4f6a7b8c";
    let out = cli.file("out.creds");
    let out_text = out.to_str().unwrap();
    let a_dir = cli.file("a-directory");
    std::fs::create_dir(&a_dir).unwrap();

    let before = cli.counts();
    let cases: [(&[&str], i32, &str); 11] = [
        (&["nats", "creds", "--user", unknown, "--out", out_text], 2, "does not exist"),
        (&["nats", "creds", "--user", "ann", "--out", out_text], 2, "not a valid"),
        (&["nats", "creds", "--user", &ann_user, "--out", a_dir.to_str().unwrap()], 2, "is a directory"),
        (&["nats", "server-config", "--org", &other, "--out", out_text], 2, "not bootstrapped"),
        (&["nats", "server-config", "--org", unknown, "--out", out_text], 2, "does not exist"),
        (&["nats", "bootstrap", "--org", &org], 2, "already bootstrapped"),
        (&["nats", "bootstrap", "--org", unknown], 2, "does not exist"),
        (&["nats", "list", "--org", &other], 2, "not bootstrapped"),
        (&["nats", "show", "--id", unknown], 2, "has the id"),
        (&["nats", "revoke-user", "--user", unknown], 2, "does not exist"),
        (&["nats", "rotate-signing-key", "--key", "ABCDEF"], 2, "not a signing key"),
    ];
    for (args, code, says) in cases {
        assert_refused(&cli.run(args), code, says);
        assert_eq!(cli.counts(), before, "{args:?}");
        assert!(!out.exists(), "{args:?} wrote a file");
    }
    assert_eq!(std::fs::read_dir(&a_dir).unwrap().count(), 0, "nothing left in the directory");

    // A wrong passphrase: exit 1, nothing recorded, nothing sealed.
    let sealed = || -> i64 { cli.vault.sql().query_row("SELECT count(*) FROM secrets", [], |r| r.get(0)).unwrap() };
    let sealed_before = sealed();
    let run = cli.run_with_passphrase("not the passphrase", &["nats", "bootstrap", "--org", &other]);
    assert_refused(&run, 1, "the passphrase is wrong");
    assert_eq!(cli.counts(), before);
    assert_eq!(sealed(), sealed_before);
    assert_refused(&cli.run(&["nats", "list", "--org", &other]), 2, "not bootstrapped");
    let run = cli.run_with_passphrase("not the passphrase", &["nats", "creds", "--user", &ann_user, "--out", out_text]);
    assert_refused(&run, 1, "the passphrase is wrong");
    assert!(!out.exists());

    let run = cli.run_with_passphrase("not the passphrase", &["unit", "create", "--org", &org, "--name", "Security"]);
    assert_refused(&run, 1, "the passphrase is wrong");
    assert_eq!(cli.counts(), before);
    assert_eq!(sealed(), sealed_before);

    // No passphrase at all (no environment variable, no terminal): a unit or person added to a
    // bootstrapped organization would need one for its account or user.
    let adds: [&[&str]; 3] = [
        &["person", "add", "--org", &org, "--name", "Cy", "--email", "cy@acme.example"],
        &["person", "add", "--org", &org, "--name", "Cy", "--email", "cy@acme.example", "--unit", &eng],
        &["unit", "create", "--org", &org, "--name", "Security"],
    ];
    for args in adds {
        assert_refused(&cli.run_without_passphrase(args), 2, "passphrase");
        assert_eq!(cli.counts(), before, "{args:?}");
        assert_eq!(sealed(), sealed_before, "{args:?}");
    }
    let users = cli.tree(&org).users().len();
    assert_eq!(users, 2);
    // An organization that is not bootstrapped needs none.
    cli.run_without_passphrase(&["person", "add", "--org", &other, "--name", "Cy", "--email", "cy@other.example"]).ok();

    // Revoked twice; creds for a revoked user.
    cli.run(&["nats", "revoke-user", "--user", &bob_user]).ok();
    let before = cli.counts();
    assert_refused(&cli.run(&["nats", "revoke-user", "--user", &bob_user]), 2, "revoked");
    assert_refused(&cli.run(&["nats", "creds", "--user", &bob_user, "--out", out_text]), 2, "revoked");
    assert!(!out.exists());
    assert_eq!(cli.counts(), before);

    // A retired key.
    let member = Tree::member_key(cli.tree(&org).account(Some(&eng)));
    let operator_key = cli.tree(&org).operator_signing_keys()[0].clone();
    cli.rotate(&member);
    cli.rotate(&operator_key);
    let before = cli.counts();
    for key in [&member, &operator_key] {
        assert_refused(&cli.run(&["nats", "rotate-signing-key", "--key", key]), 2, "retired");
        assert_eq!(cli.counts(), before);
    }
    // An identity key is not a signing key.
    let identity = cli.tree(&org).0["operator"]["public_key"].as_str().unwrap().to_owned();
    assert_refused(&cli.run(&["nats", "rotate-signing-key", "--key", &identity]), 2, "not a signing key");
    assert_eq!(cli.counts(), before);
    assert!(cli.run(&["verify", "--deep"]).ok().starts_with("ok:"));
}
